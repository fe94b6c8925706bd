# Node groups whose subnets lie in three distinct Availability Zones.

variable "azs" {
  type    = list(string)
  default = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
}

resource "aws_vpc" "main" {
  cidr_block = "10.20.0.0/16"
}

resource "aws_subnet" "private" {
  count             = length(var.azs)
  vpc_id            = aws_vpc.main.id
  cidr_block        = cidrsubnet(aws_vpc.main.cidr_block, 4, count.index)
  availability_zone = var.azs[count.index]
}

# A fourth subnet in eu-west-1a: four subnets, still three AZs.
resource "aws_subnet" "private_extra" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.20.128.0/20"
  availability_zone = "eu-west-1a"
}

resource "aws_eks_node_group" "default" {
  cluster_name    = "blog"
  node_group_name = "default"
  node_role_arn   = "arn:aws:iam::123456789012:role/blog-node"
  subnet_ids      = aws_subnet.private[*].id

  scaling_config {
    min_size     = 3
    desired_size = 3
    max_size     = 9
  }

  tags = {
    "k8s.io/cluster-autoscaler/enabled" = "true"
  }
}

resource "aws_eks_node_group" "with_extra" {
  cluster_name    = "blog"
  node_group_name = "with-extra"
  node_role_arn   = "arn:aws:iam::123456789012:role/blog-node"
  subnet_ids      = concat(aws_subnet.private[*].id, [aws_subnet.private_extra.id])

  scaling_config {
    min_size     = 3
    desired_size = 3
    max_size     = 9
  }

  tags = {
    "k8s.io/cluster-autoscaler/enabled" = "true"
  }
}
