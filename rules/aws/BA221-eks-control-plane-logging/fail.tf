# Clusters that miss some of the required control plane logs.

resource "aws_eks_cluster" "blog" {
  name     = "blog"
  role_arn = "arn:aws:iam::123456789012:role/blog-cluster"

  vpc_config {
    subnet_ids             = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
    endpoint_public_access = false
  }

  enabled_cluster_log_types = ["api", "scheduler"] # expect: BA221
}

# No log type is enabled by default.
resource "aws_eks_cluster" "staging" { # expect: BA221
  name     = "blog-staging"
  role_arn = "arn:aws:iam::123456789012:role/blog-cluster"

  vpc_config {
    subnet_ids             = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
    endpoint_public_access = false
  }
}
