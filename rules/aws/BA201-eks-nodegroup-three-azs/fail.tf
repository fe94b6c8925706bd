# Node groups that do not reach three distinct Availability Zones.

locals {
  azs = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
}

resource "aws_vpc" "main" {
  cidr_block = "10.30.0.0/16"
}

resource "aws_subnet" "a" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.30.0.0/20"
  availability_zone = local.azs[0]
}

# A second subnet in the same AZ as "a".
resource "aws_subnet" "a2" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.30.16.0/20"
  availability_zone = local.azs[0]
}

resource "aws_subnet" "b" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.30.32.0/20"
  availability_zone = local.azs[1]
}

# Three subnets, but only two AZs: counting subnets is not enough.
resource "aws_eks_node_group" "three_subnets_two_azs" {
  cluster_name    = "blog"
  node_group_name = "three-subnets-two-azs"
  node_role_arn   = "arn:aws:iam::123456789012:role/blog-node"
  subnet_ids      = [aws_subnet.a.id, aws_subnet.a2.id, aws_subnet.b.id] # expect: BA201

  scaling_config {
    min_size     = 3
    desired_size = 3
    max_size     = 9
  }
}

# Two subnets in the same AZ.
resource "aws_eks_node_group" "same_az" {
  cluster_name    = "blog"
  node_group_name = "same-az"
  node_role_arn   = "arn:aws:iam::123456789012:role/blog-node"
  subnet_ids = [ # expect: BA201
    aws_subnet.a.id,
    aws_subnet.a2.id,
  ]

  scaling_config {
    min_size     = 3
    desired_size = 3
    max_size     = 9
  }
}

# A single subnet.
resource "aws_eks_node_group" "one_subnet" {
  cluster_name    = "blog"
  node_group_name = "one-subnet"
  node_role_arn   = "arn:aws:iam::123456789012:role/blog-node"
  subnet_ids      = [aws_subnet.b.id] # expect: BA201

  scaling_config {
    min_size     = 3
    desired_size = 3
    max_size     = 9
  }
}
