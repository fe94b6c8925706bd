resource "aws_ecr_repository" "service" {
  for_each = var.services

  name                 = each.key
  image_tag_mutability = "MUTABLE" # expect: BA211, BA211

  image_scanning_configuration {
    scan_on_push = var.ecr_scan_on_push # expect: BA210, BA210
  }

  encryption_configuration {
    encryption_type = "KMS"
  }
}

resource "aws_ecr_lifecycle_policy" "service" {
  for_each = aws_ecr_repository.service

  repository = each.value.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the last 50 images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = 50
      }
      action = { type = "expire" }
    }]
  })
}

# The nodes pull through their instance role; CI pushes through its OIDC role.
resource "aws_ecr_repository_policy" "service" {
  for_each = aws_ecr_repository.service

  repository = each.value.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "NodesPull"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${var.account_id}:role/${local.name}-node" }
        Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      },
      {
        Sid       = "PublicPull"
        Effect    = "Allow"
        Principal = "*" # expect: BA212, BA212
        Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      },
      {
        Sid       = "CiPush"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${var.account_id}:role/github-actions-blog" }
        Action = [
          "ecr:BatchCheckLayerAvailability",
          "ecr:CompleteLayerUpload",
          "ecr:InitiateLayerUpload",
          "ecr:PutImage",
          "ecr:UploadLayerPart",
        ]
      },
    ]
  })
}

# Basic scanning on push, meant for the blog's images; but the filter wants a "blog-" prefix,
# and the repositories are "user" and "posts".
resource "aws_ecr_registry_scanning_configuration" "this" {
  scan_type = "BASIC"

  rule {
    scan_frequency = "SCAN_ON_PUSH"
    repository_filter {
      filter      = "blog-*"
      filter_type = "WILDCARD"
    }
  }
}
