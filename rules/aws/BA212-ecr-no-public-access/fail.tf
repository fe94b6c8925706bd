# Repository policies that grant everyone access.

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
        Sid       = "PublicPull"
        Effect    = "Allow"
        Principal = "*" # expect: BA212
        Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      },
    ]
  })
}

resource "aws_ecr_repository" "posts" {
  name                 = "blog/posts"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }
}

# "*" inside a list of AWS principals, in a single-statement policy.
resource "aws_ecr_repository_policy" "posts" {
  repository = aws_ecr_repository.posts.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = {
      Effect = "Allow"
      Principal = { # expect: BA212
        AWS = ["arn:aws:iam::123456789012:root", "*"]
      }
      Action = ["ecr:BatchGetImage", "ecr:PutImage"]
    }
  })
}

resource "aws_ecr_repository" "media" {
  name                 = "blog/media"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }
}

# The same grant written with an aws_iam_policy_document: principals type "*" is Principal "*".
# The statement has no Principal attribute, so the finding points at the statement.
data "aws_iam_policy_document" "media" {
  statement { # expect: BA212
    sid     = "AnyonePull"
    effect  = "Allow"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }
}

resource "aws_ecr_repository_policy" "media" {
  repository = aws_ecr_repository.media.name
  policy     = data.aws_iam_policy_document.media.json
}
