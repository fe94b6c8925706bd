# No auto-discovery tags on the group, but the stack deploys Karpenter with Helm: the node
# autoscaler is there.

resource "aws_eks_node_group" "system" {
  cluster_name    = "blog"
  node_group_name = "system"
  node_role_arn   = "arn:aws:iam::123456789012:role/blog-node"
  subnet_ids      = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]

  scaling_config {
    min_size     = 3
    desired_size = 3
    max_size     = 6
  }
}

resource "helm_release" "karpenter" {
  name             = "karpenter"
  namespace        = "kube-system"
  repository       = "oci://public.ecr.aws/karpenter"
  chart            = "karpenter"
  version          = "1.1.1"
  create_namespace = false

  set {
    name  = "settings.clusterName"
    value = "blog"
  }
}
