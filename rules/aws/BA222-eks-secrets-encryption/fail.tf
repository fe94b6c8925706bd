# A cluster that does not envelope-encrypt Secrets with a KMS key.

resource "aws_eks_cluster" "blog" { # expect: BA222
  name     = "blog"
  role_arn = "arn:aws:iam::123456789012:role/blog-cluster"

  vpc_config {
    subnet_ids             = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
    endpoint_public_access = false
  }

  enabled_cluster_log_types = ["api", "audit", "authenticator"]
}
