# Clusters whose API endpoint is private, or public only to known networks.

variable "admin_cidrs" {
  type    = list(string)
  default = ["203.0.113.0/24", "198.51.100.7/32"]
}

resource "aws_eks_cluster" "private" {
  name     = "blog"
  role_arn = "arn:aws:iam::123456789012:role/blog-cluster"

  vpc_config {
    subnet_ids              = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
    endpoint_private_access = true
    endpoint_public_access  = false
  }
}

resource "aws_eks_cluster" "limited" {
  name     = "blog-staging"
  role_arn = "arn:aws:iam::123456789012:role/blog-cluster"

  vpc_config {
    subnet_ids              = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
    endpoint_private_access = true
    endpoint_public_access  = true
    public_access_cidrs     = var.admin_cidrs
  }
}

# Whether the endpoint is public is not known (no default, no value): never a finding.
variable "public_endpoint" {
  type = bool
}

resource "aws_eks_cluster" "unknown" {
  name     = "blog-sandbox"
  role_arn = "arn:aws:iam::123456789012:role/blog-cluster"

  vpc_config {
    subnet_ids              = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
    endpoint_private_access = true
    endpoint_public_access  = var.public_endpoint
  }
}
