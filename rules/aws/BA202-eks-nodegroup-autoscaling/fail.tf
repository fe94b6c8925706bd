# Node groups that cannot scale, or start below one node per AZ.

resource "aws_eks_node_group" "fixed" {
  cluster_name    = "blog"
  node_group_name = "fixed"
  node_role_arn   = "arn:aws:iam::123456789012:role/blog-node"
  subnet_ids      = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]

  scaling_config {
    min_size     = 3
    desired_size = 3
    max_size     = 3 # expect: BA202
  }

  tags = { # expect: BA202
    Project = "blog"
  }
}

resource "aws_eks_node_group" "small" {
  cluster_name    = "blog"
  node_group_name = "small"
  node_role_arn   = "arn:aws:iam::123456789012:role/blog-node"
  subnet_ids      = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]

  scaling_config {
    min_size     = 1 # expect: BA202
    desired_size = 2
    max_size     = 6
  }

  tags = {
    "k8s.io/cluster-autoscaler/enabled" = "true"
  }
}

# No tags at all: the missing autoscaler tag points at the node group.
resource "aws_eks_node_group" "untagged" { # expect: BA202
  cluster_name    = "blog"
  node_group_name = "untagged"
  node_role_arn   = "arn:aws:iam::123456789012:role/blog-node"
  subnet_ids      = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]

  scaling_config {
    min_size     = 3
    desired_size = 3
    max_size     = 9
  }
}
