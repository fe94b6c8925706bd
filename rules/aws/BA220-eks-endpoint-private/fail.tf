# Clusters whose API endpoint is open to the Internet.

resource "aws_eks_cluster" "open" {
  name     = "blog"
  role_arn = "arn:aws:iam::123456789012:role/blog-cluster"

  vpc_config {
    subnet_ids              = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
    endpoint_private_access = true
    endpoint_public_access  = true # expect: BA220
    public_access_cidrs     = ["203.0.113.0/24", "0.0.0.0/0"]
  }
}

# endpoint_public_access defaults to true and public_access_cidrs to 0.0.0.0/0.
resource "aws_eks_cluster" "defaults" { # expect: BA220
  name     = "blog-dev"
  role_arn = "arn:aws:iam::123456789012:role/blog-cluster"

  vpc_config {
    subnet_ids = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
  }
}
