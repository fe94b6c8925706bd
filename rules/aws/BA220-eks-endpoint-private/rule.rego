# METADATA
# title: The EKS API endpoint is private or limited to known networks
# description: |
#   ## What it checks
#   The Kubernetes API server endpoint of every EKS cluster must not be open to the whole
#   Internet. A cluster passes when `endpointPublicAccess` is false
#   (`vpc_config { endpoint_public_access = false }`), or when it is public but
#   `publicAccessCidrs` (`public_access_cidrs`) lists only specific networks, none of them
#   `0.0.0.0/0` (or `::/0`). A public endpoint whose CIDR list is empty or absent is open to
#   `0.0.0.0/0`, the AWS default. Note that Terraform's default for `endpoint_public_access`
#   is `true`, so a `vpc_config` that does not set it is public.
#
#   The finding points at `endpoint_public_access` (at `vpc_config`, or the cluster, when
#   the attribute is not set). A value that cannot be known is never decided on.
#
#   ## Why it matters
#   A public endpoint lets anyone on the Internet reach the cluster's API server: every
#   leaked kubeconfig, stolen CI token or API server vulnerability is then exploitable from
#   anywhere. With a private endpoint, the API is only reachable from the VPC (nodes,
#   bastions, VPN, the CI runners that run in it), which removes that whole attack surface.
#
#   ## How to fix
#   ```hcl
#   resource "aws_eks_cluster" "blog" {
#     # ...
#     vpc_config {
#       subnet_ids              = aws_subnet.private[*].id
#       endpoint_private_access = true
#       endpoint_public_access  = false
#     }
#   }
#   ```
#
#   If a public endpoint is unavoidable, keep `endpoint_private_access = true` and limit
#   `public_access_cidrs` to your offices' or CI's addresses.
#
#   ## References
#   - https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html
#   - https://docs.aws.amazon.com/controltower/latest/controlreference/eks-rules.html
#   - https://docs.aws.amazon.com/eks/latest/APIReference/API_VpcConfigRequest.html
#   - https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/eks_cluster
# custom:
#   id: BA220
#   name: eks-endpoint-private
#   severity: high
#   category: security
#   sources: [T, A]
#   kinds: ["aws:EksCluster"]
#   remediation: Set `vpc_config { endpoint_private_access = true, endpoint_public_access = false }`, or limit `public_access_cidrs` to known networks.
#   cwe: CWE-284
#   fix:
#     safety: unsafe
#     risk: kubectl and CI outside the VPC lose the API server
package blogaudit.BA220

import rego.v1

import data.blogaudit.lib.aws

describe := sprintf("EKS cluster %s", [input.name])

open_cidrs := {"0.0.0.0/0", "::/0"}

public if {
	not aws.unknown(input, "endpointPublicAccess")
	aws.get(input, "endpointPublicAccess", true) == true
}

# How the public endpoint is open to everyone (empty when it is not, or cannot be known).
open_to contains "0.0.0.0/0 (public_access_cidrs is empty, the AWS default)" if {
	not aws.unknown(input, "publicAccessCidrs")
	count(aws.get(input, "publicAccessCidrs", [])) == 0
}

open_to contains cidr if {
	not aws.unknown(input, "publicAccessCidrs")
	some cidr in aws.get(input, "publicAccessCidrs", [])
	cidr in open_cidrs
}

violation contains v if {
	public
	count(open_to) > 0
	reason = concat(" and ", sort(open_to))
	v = {
		"path": ["endpointPublicAccess"],
		"message": sprintf("%s exposes its Kubernetes API endpoint to the Internet: public access is on and open to %s", [describe, reason]),
		"fix": {"value": false},
	}
}
