# METADATA
# title: EKS managed node groups span at least three Availability Zones
# description: |
#   ## What it checks
#   Every EKS managed node group must place its nodes in at least **three distinct**
#   Availability Zones. The check reads the node group's `availabilityZones`: the distinct
#   AZs of its subnets, resolved from `subnet_ids` to each `aws_subnet`'s
#   `availability_zone` (or the `azs` of the `terraform-aws-modules/vpc/aws` module) in
#   Terraform, or from `DescribeSubnets` in a live account. The number of subnets does not
#   count: two subnets in the same AZ are one AZ. The finding points at the node group's
#   subnets.
#
#   When the run also sees the cluster's nodes (live mode), the nodes of the group that are
#   `Ready` (label `eks.amazonaws.com/nodegroup` equal to the node group's name) must carry
#   at least three distinct `topology.kubernetes.io/zone` labels: subnets in three AZs do
#   not help while every running node sits in one of them.
#
#   The minimum is 3, as the design requires; `min_node_group_azs` in `blogaudit.toml`
#   changes it for a region with fewer AZs.
#
#   When the subnets' AZs cannot be known (a subnet ID that comes from a variable without a
#   value or a data source), the rule does not decide and the loader reports the unknown
#   input instead.
#
#   ## Why it matters
#   An Availability Zone is a failure domain: a power, network or control-plane outage can
#   take a whole AZ down. With nodes in one or two AZs, losing one AZ removes half or all of
#   the capacity; pods that were spread with `topologySpreadConstraints` over
#   `topology.kubernetes.io/zone` cannot be rescheduled, and the blog goes down. Three AZs
#   keep a majority of capacity through the loss of any one of them, which is what the
#   reference design promises.
#
#   ## How to fix
#   Give the node group one private subnet in each of three AZs:
#
#   ```hcl
#   resource "aws_eks_node_group" "default" {
#     cluster_name    = aws_eks_cluster.blog.name
#     node_group_name = "default"
#     node_role_arn   = aws_iam_role.node.arn
#     subnet_ids      = [for s in aws_subnet.private : s.id] # eu-west-1a, 1b and 1c
#     # ...
#   }
#   ```
#
#   and keep `scaling_config.min_size` at 3 or more (BA202) so that every AZ holds a node.
#
#   ## References
#   - https://docs.aws.amazon.com/eks/latest/best-practices/data-plane.html
#   - https://docs.aws.amazon.com/eks/latest/userguide/managed-node-groups.html
#   - https://docs.aws.amazon.com/eks/latest/userguide/network-reqs.html
#   - https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-regions-availability-zones.html
#   - https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/eks_node_group
#   - https://kubernetes.io/docs/reference/labels-annotations-taints/#topologykubernetesiozone
# custom:
#   id: BA201
#   name: eks-nodegroup-three-azs
#   severity: high
#   category: availability
#   sources: [T, A, L]
#   kinds: ["aws:EksNodeGroup"]
#   lookups: [Node]
#   remediation: Put the node group's `subnet_ids` in at least three distinct Availability Zones (one private subnet per AZ).
package blogaudit.BA201

import rego.v1

import data.blogaudit.lib.aws

# The design asks for three; `min_node_group_azs` in blogaudit.toml can change it.
min_azs := object.get(data.config, "min_node_group_azs", 3)

describe := sprintf("EKS node group %s", [input.name])

azs := {az | some az in aws.get(input, "availabilityZones", [])}

zone_label := "topology.kubernetes.io/zone"

nodegroup_label := "eks.amazonaws.com/nodegroup"

subnet_count := count(aws.get(input, "subnetIds", []))

subnet_note := sprintf(" (%d subnets)", [subnet_count]) if {
	not aws.unknown(input, "subnetIds")
	subnet_count > count(azs)
} else := ""

violation contains v if {
	not aws.unknown(input, "availabilityZones")
	count(azs) < min_azs
	v = {
		"path": ["availabilityZones"],
		"message": sprintf(
			"%s places its nodes in %d Availability Zone(s)%s: %s; it needs at least %d distinct AZs",
			[describe, count(azs), subnet_note, az_list(azs), min_azs],
		),
	}
}

az_list(zones) := concat(", ", sort(zones)) if count(zones) > 0

az_list(zones) := "none" if count(zones) == 0

# -- Live: the zones of the group's Ready nodes -------------------------------------------------

ready(node) if {
	some cond in aws.get(node, ["status", "conditions"], [])
	cond.type == "Ready"
	cond.status == "True"
}

group_nodes := [node |
	some node in object.get(data.inventory.objects, ["Node", ""], {})
	aws.get(node, ["metadata", "labels", nodegroup_label], null) == input.name
]

node_zones := {zone |
	some node in group_nodes
	ready(node)
	zone = node.metadata.labels[zone_label]
}

violation contains v if {
	count(group_nodes) > 0
	# Report the subnets first: with fewer than three subnet AZs the finding above says it all.
	not too_few_subnet_azs
	count(node_zones) < min_azs
	v = {
		"path": ["availabilityZones"],
		"message": sprintf(
			"%s has Ready nodes in %d zone(s): %s; the running nodes need at least %d distinct %s labels, whatever AZs the subnets span",
			[describe, count(node_zones), az_list(node_zones), min_azs, zone_label],
		),
	}
}

too_few_subnet_azs if {
	not aws.unknown(input, "availabilityZones")
	count(azs) < min_azs
}
