# Clusters that send the api, audit and authenticator logs to CloudWatch Logs.

variable "log_types" {
  type    = list(string)
  default = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
}

resource "aws_eks_cluster" "blog" {
  name     = "blog"
  role_arn = "arn:aws:iam::123456789012:role/blog-cluster"

  vpc_config {
    subnet_ids             = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
    endpoint_public_access = false
  }

  enabled_cluster_log_types = ["authenticator", "audit", "api"]
}

resource "aws_eks_cluster" "staging" {
  name     = "blog-staging"
  role_arn = "arn:aws:iam::123456789012:role/blog-cluster"

  vpc_config {
    subnet_ids             = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
    endpoint_public_access = false
  }

  enabled_cluster_log_types = var.log_types
}

# Log types from a variable with no default and no value: unknown, never a finding.
variable "sandbox_log_types" {
  type = list(string)
}

resource "aws_eks_cluster" "sandbox" {
  name     = "blog-sandbox"
  role_arn = "arn:aws:iam::123456789012:role/blog-cluster"

  vpc_config {
    subnet_ids             = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
    endpoint_public_access = false
  }

  enabled_cluster_log_types = var.sandbox_log_types
}
