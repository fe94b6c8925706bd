# A node group with one node per AZ at least, room to grow, and Cluster Autoscaler tags.

variable "cluster_name" {
  type    = string
  default = "blog"
}

variable "node_min" {
  type    = number
  default = 3
}

locals {
  autoscaler_tags = {
    "k8s.io/cluster-autoscaler/enabled"             = "true"
    "k8s.io/cluster-autoscaler/${var.cluster_name}" = "owned"
  }
}

resource "aws_eks_node_group" "default" {
  cluster_name    = var.cluster_name
  node_group_name = "default"
  node_role_arn   = "arn:aws:iam::123456789012:role/blog-node"
  subnet_ids      = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]

  scaling_config {
    min_size     = var.node_min
    desired_size = var.node_min
    max_size     = var.node_min * 3
  }

  tags = merge({ Project = "blog" }, local.autoscaler_tags)

  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }
}

# The minimum comes from a variable with no value: unknown, never a finding.
variable "spare_min" {
  type = number
}

resource "aws_eks_node_group" "spare" {
  cluster_name    = var.cluster_name
  node_group_name = "spare"
  node_role_arn   = "arn:aws:iam::123456789012:role/blog-node"
  subnet_ids      = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]

  scaling_config {
    min_size     = var.spare_min
    desired_size = 3
    max_size     = 12
  }

  tags = local.autoscaler_tags
}
