# A cluster that envelope-encrypts Secrets with its own KMS key.

resource "aws_kms_key" "eks" {
  description             = "EKS secrets envelope encryption for blog"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

resource "aws_eks_cluster" "blog" {
  name     = "blog"
  role_arn = "arn:aws:iam::123456789012:role/blog-cluster"

  vpc_config {
    subnet_ids             = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
    endpoint_public_access = false
  }

  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = aws_kms_key.eks.arn
    }
  }
}

resource "aws_eks_cluster" "staging" {
  name     = "blog-staging"
  role_arn = "arn:aws:iam::123456789012:role/blog-cluster"

  vpc_config {
    subnet_ids             = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
    endpoint_public_access = false
  }

  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
  }
}

# The encrypted resources come from a variable with no value: unknown, never a finding.
variable "encrypted_resources" {
  type = list(string)
}

resource "aws_eks_cluster" "sandbox" {
  name     = "blog-sandbox"
  role_arn = "arn:aws:iam::123456789012:role/blog-cluster"

  vpc_config {
    subnet_ids             = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
    endpoint_public_access = false
  }

  encryption_config {
    resources = var.encrypted_resources
    provider {
      key_arn = aws_kms_key.eks.arn
    }
  }
}
