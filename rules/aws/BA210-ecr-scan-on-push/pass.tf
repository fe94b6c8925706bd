# Repositories that scan images on push through their own setting.

variable "scan_on_push" {
  description = "Scan images when they are pushed"
  type        = bool
  default     = true
}

# No default and no value: unknown, so never a finding (the loader notes the input instead).
variable "legacy_scan_on_push" {
  type = bool
}

resource "aws_ecr_repository" "user" {
  name                 = "blog/user"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }
}

resource "aws_ecr_repository" "posts" {
  name                 = "blog/posts"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = var.scan_on_push
  }
}

resource "aws_ecr_repository" "legacy" {
  name                 = "legacy/app"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = var.legacy_scan_on_push
  }
}
