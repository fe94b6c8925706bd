# METADATA
# title: EKS envelope-encrypts Kubernetes Secrets with a KMS key
# description: |
#   ## What it checks
#   Every EKS cluster must have envelope encryption of Kubernetes Secrets turned on: one
#   entry of `encryption` (`encryption_config` in Terraform, `cluster_encryption_config` in
#   the `terraform-aws-modules/eks/aws` module, `encryptionConfig` in the EKS API) must list
#   `secrets` in its `resources` and name a KMS key (`provider.key_arn`). The finding points
#   at `encryption_config`, or at the cluster when it has none. A value that cannot be known
#   is never decided on.
#
#   ## Why it matters
#   Kubernetes stores Secrets (database passwords, API tokens, TLS keys) in etcd. EKS
#   encrypts the etcd volumes at rest, and from Kubernetes 1.28 it also envelope-encrypts
#   API data with an AWS-owned key, but neither is under your control. With a
#   customer-managed KMS key as the key-encryption key, reading Secrets out of etcd needs
#   `kms:Decrypt` on a key whose policy you write, every use of it is logged in CloudTrail,
#   you choose its rotation, and disabling the key revokes access to the data.
#
#   ## How to fix
#   ```hcl
#   resource "aws_kms_key" "eks" {
#     description         = "EKS secrets envelope encryption"
#     enable_key_rotation = true
#   }
#
#   resource "aws_eks_cluster" "blog" {
#     # ...
#     encryption_config {
#       resources = ["secrets"]
#       provider {
#         key_arn = aws_kms_key.eks.arn
#       }
#     }
#   }
#   ```
#
#   ## References
#   - https://docs.aws.amazon.com/eks/latest/userguide/enable-kms.html
#   - https://docs.aws.amazon.com/eks/latest/userguide/envelope-encryption.html
#   - https://docs.aws.amazon.com/prescriptive-guidance/latest/encryption-best-practices/eks.html
#   - https://docs.aws.amazon.com/eks/latest/APIReference/API_EncryptionConfig.html
#   - https://kubernetes.io/docs/tasks/administer-cluster/kms-provider/
#   - https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/eks_cluster
# custom:
#   id: BA222
#   name: eks-secrets-encryption
#   severity: high
#   category: security
#   sources: [T, A]
#   kinds: ["aws:EksCluster"]
#   remediation: Add `encryption_config { resources = ["secrets"] provider { key_arn = aws_kms_key.eks.arn } }` to the cluster.
#   cwe: CWE-311
package blogaudit.BA222

import rego.v1

import data.blogaudit.lib.aws

describe := sprintf("EKS cluster %s", [input.name])

encrypts_secrets(entry) if {
	"secrets" in aws.get(entry, "resources", [])
	aws.get(entry, "keyArn", null) != ""
}

violation contains v if {
	not aws.unknown(input, "encryption")
	not any_encrypts
	v = {
		"path": ["encryption"],
		"message": sprintf("%s does not envelope-encrypt Kubernetes Secrets: no encryption_config lists \"secrets\" with a KMS key", [describe]),
	}
}

any_encrypts if {
	some entry in aws.get(input, "encryption", [])
	encrypts_secrets(entry)
}
