locals {
  name         = "blog-${var.environment}"
  cluster_name = local.name

  # One /20 private and one /24 public subnet per AZ.
  private_subnets = { for i, az in var.azs : az => cidrsubnet(var.vpc_cidr, 4, i) }
  public_subnets  = { for i, az in var.azs : az => cidrsubnet(var.vpc_cidr, 8, 200 + i) }

  tags = {
    Project     = "blog"
    Environment = var.environment
    ManagedBy   = "terraform"
  }

  # Cluster Autoscaler auto-discovery.
  autoscaler_tags = {
    "k8s.io/cluster-autoscaler/enabled"               = "true"
    "k8s.io/cluster-autoscaler/${local.cluster_name}" = "owned"
  }
}
