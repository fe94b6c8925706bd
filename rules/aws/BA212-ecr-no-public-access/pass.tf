# Repository policies that name their principals, or limit "*" with a condition.

resource "aws_ecr_repository" "user" {
  name                 = "blog/user"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }
}

resource "aws_ecr_repository_policy" "user" {
  repository = aws_ecr_repository.user.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "NodesPull"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::123456789012:role/blog-node" }
        Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      },
      {
        Sid       = "OrgPull"
        Effect    = "Allow"
        Principal = "*"
        Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        Condition = {
          StringEquals = { "aws:PrincipalOrgID" = "o-a1b2c3d4e5" }
        }
      },
      {
        Sid       = "NoDeleteFromOutside"
        Effect    = "Deny"
        Principal = "*"
        Action    = "ecr:BatchDeleteImage"
        Condition = {
          StringNotEquals = { "aws:PrincipalAccount" = "123456789012" }
        }
      },
    ]
  })
}

# A repository without a policy.
resource "aws_ecr_repository" "posts" {
  name                 = "blog/posts"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }
}

# A policy document built from the account's data: it cannot be known offline, so it is never
# decided on (the loader reports what it depends on).
data "aws_ecr_repository" "shared" {
  name = "shared/base-images"
}

resource "aws_ecr_repository" "media" {
  name                 = "blog/media"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }
}

resource "aws_ecr_repository_policy" "media" {
  repository = aws_ecr_repository.media.name
  policy     = data.aws_ecr_repository.shared.id
}

# A document with named principals and a conditional "*".
data "aws_iam_policy_document" "org_pull" {
  statement {
    sid     = "OrgPull"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalOrgID"
      values   = ["o-a1b2c3d4e5"]
    }
  }
}

resource "aws_ecr_repository" "cache" {
  name                 = "blog/cache"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }
}

resource "aws_ecr_repository_policy" "cache" {
  repository = aws_ecr_repository.cache.name
  policy     = data.aws_iam_policy_document.org_pull.json
}
