# METADATA
# title: EKS control plane logs api, audit and authenticator
# description: |
#   ## What it checks
#   Every EKS cluster must send at least the `api`, `audit` and `authenticator` control
#   plane logs to CloudWatch Logs: `enabledLogTypes` (`enabled_cluster_log_types` in
#   Terraform, `cluster_enabled_log_types` in the `terraform-aws-modules/eks/aws` module,
#   `logging.clusterLogging` in the EKS API) must contain all three. `controllerManager`
#   and `scheduler` are welcome but not required. One finding per cluster names the missing
#   types; it points at `enabled_cluster_log_types`, or at the cluster when the attribute is
#   not set (EKS enables no log type by default). A value that cannot be known is never
#   decided on.
#
#   ## Why it matters
#   Control plane logs are the only record of what happened to the cluster: `audit` records
#   who did what through the Kubernetes API (the trail of an intrusion or a mistaken
#   `kubectl delete`), `authenticator` records which IAM identity mapped to which Kubernetes
#   user, and `api` records the API server's own errors and flags. EKS keeps none of them
#   unless they are turned on, and they cannot be recovered afterwards.
#
#   ## How to fix
#   ```hcl
#   resource "aws_eks_cluster" "blog" {
#     # ...
#     enabled_cluster_log_types = ["api", "audit", "authenticator"]
#   }
#   ```
#
#   Also create the `/aws/eks/<cluster>/cluster` log group with a retention period, so the
#   logs do not pile up forever.
#
#   ## References
#   - https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html
#   - https://docs.aws.amazon.com/prescriptive-guidance/latest/amazon-eks-observability-best-practices/logging-considerations.html
#   - https://docs.aws.amazon.com/eks/latest/APIReference/API_LogSetup.html
#   - https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/eks_cluster
# custom:
#   id: BA221
#   name: eks-control-plane-logging
#   severity: medium
#   category: security
#   sources: [T, A]
#   kinds: ["aws:EksCluster"]
#   remediation: Set `enabled_cluster_log_types` to include `api`, `audit` and `authenticator`.
#   cwe: CWE-778
#   fix:
#     safety: safe
package blogaudit.BA221

import rego.v1

import data.blogaudit.lib.aws

describe := sprintf("EKS cluster %s", [input.name])

required := ["api", "audit", "authenticator"]

enabled := {t | some t in aws.get(input, "enabledLogTypes", [])}

missing := [t | some t in required; not t in enabled]

# The fixed list: what is enabled now (in its order) followed by what is missing.
fixed := array.concat([t | some t in aws.get(input, "enabledLogTypes", [])], missing)

violation contains v if {
	not aws.unknown(input, "enabledLogTypes")
	count(missing) > 0
	v = {
		"path": ["enabledLogTypes"],
		"message": sprintf("%s does not log %s to CloudWatch Logs; enable the api, audit and authenticator control plane logs", [describe, concat(", ", missing)]),
		"fix": {"value": fixed},
	}
}
