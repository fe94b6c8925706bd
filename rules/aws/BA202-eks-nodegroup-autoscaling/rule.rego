# METADATA
# title: EKS managed node groups can scale, with one node per AZ at least
# description: |
#   ## What it checks
#   Every EKS managed node group:
#
#   - has `scaling.min` (Terraform `scaling_config.min_size`) of at least 3, one node for
#     each of the three Availability Zones (BA201);
#   - has `scaling.max` (`max_size`) greater than `scaling.min`, so there is room to grow;
#   - is driven by a node autoscaler: the canonical `autoscaler` flag is true when a Cluster
#     Autoscaler or Karpenter is deployed, or the node group carries the Cluster Autoscaler
#     auto-discovery tag `k8s.io/cluster-autoscaler/enabled`. When the run also sees the
#     cluster's workloads (manifests or live mode), a `cluster-autoscaler` or `karpenter`
#     Deployment counts as deployed too.
#
#   Each problem is its own finding at the field that causes it: `min_size`, `max_size`, or
#   the node group's `tags` (the node group itself when it has no tags). A value that cannot
#   be known (a variable without a value) is never decided on.
#
#   ## Why it matters
#   The Horizontal Pod Autoscaler adds pods when the blog gets busy, but pods only run when
#   there are nodes for them. Without a node autoscaler, or with `max_size` equal to
#   `min_size`, new pods stay `Pending` at the moment load peaks. With fewer than three
#   nodes at the minimum, at least one AZ has no node: losing another AZ leaves the cluster
#   with no capacity at all until new instances boot.
#
#   ## How to fix
#   ```hcl
#   resource "aws_eks_node_group" "default" {
#     # ...
#     scaling_config {
#       min_size     = 3
#       desired_size = 3
#       max_size     = 9
#     }
#     tags = {
#       "k8s.io/cluster-autoscaler/enabled"      = "true"
#       "k8s.io/cluster-autoscaler/${local.name}" = "owned"
#     }
#     lifecycle {
#       ignore_changes = [scaling_config[0].desired_size]
#     }
#   }
#   ```
#
#   and deploy the Cluster Autoscaler (with auto-discovery on those tags) or Karpenter.
#
#   ## References
#   - https://docs.aws.amazon.com/eks/latest/userguide/autoscaling.html
#   - https://docs.aws.amazon.com/eks/latest/best-practices/cas.html
#   - https://docs.aws.amazon.com/eks/latest/best-practices/data-plane.html
#   - https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/cloudprovider/aws/README.md
#   - https://karpenter.sh/docs/
#   - https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/eks_node_group
# custom:
#   id: BA202
#   name: eks-nodegroup-autoscaling
#   severity: medium
#   category: availability
#   sources: [T, A, L]
#   kinds: ["aws:EksNodeGroup"]
#   remediation: Set `scaling_config` with `min_size` >= 3 and `max_size` > `min_size`, and run a Cluster Autoscaler (tag the group `k8s.io/cluster-autoscaler/enabled`) or Karpenter.
#   fix:
#     safety: unsafe
#     risk: a desired size below the new minimum makes the node group update fail
package blogaudit.BA202

import rego.v1

import data.blogaudit.lib.aws

min_nodes := 3

autoscaler_tag := "k8s.io/cluster-autoscaler/enabled"

describe := sprintf("EKS node group %s", [input.name])

known_number(field) := n if {
	not aws.unknown(input, "scaling")
	n = input.scaling[field]
	is_number(n)
}

violation contains v if {
	n = known_number("min")
	n < min_nodes
	v = {
		"path": ["scaling", "min"],
		"message": sprintf("%s has scaling min_size %d; it needs at least %d nodes, one per Availability Zone", [describe, n, min_nodes]),
		"fix": {"value": min_nodes},
	}
}

violation contains v if {
	lo = known_number("min")
	hi = known_number("max")
	hi <= lo
	v = {
		"path": ["scaling", "max"],
		"message": sprintf("%s cannot scale out: max_size %d is not greater than min_size %d", [describe, hi, lo]),
	}
}

# -- Node autoscaler --------------------------------------------------------------------------

autoscaler_names := {"cluster-autoscaler", "aws-cluster-autoscaler", "karpenter"}

# A Cluster Autoscaler or Karpenter Deployment that the run sees (manifests or live cluster),
# by name or by image, through the inventory's indexes (one lookup, not a scan).
autoscaler_deployed if {
	some name in autoscaler_names
	data.inventory.names.Deployment[name]
}

autoscaler_deployed if {
	some image in {"cluster-autoscaler", "karpenter", "karpenter/controller"}
	data.inventory.image_suffixes[image]
}

violation contains v if {
	not aws.unknown(input, "autoscaler")
	aws.get(input, "autoscaler", false) != true
	not autoscaler_deployed
	v = {
		"path": ["tags", autoscaler_tag],
		"message": sprintf("%s has no node autoscaler: no Cluster Autoscaler or Karpenter is deployed, and the group lacks the %q tag", [describe, autoscaler_tag]),
	}
}
