# Repositories whose tags cannot be overwritten.

variable "tag_mutability" {
  type    = string
  default = "IMMUTABLE"
}

resource "aws_ecr_repository" "user" {
  name                 = "blog/user"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }
}

resource "aws_ecr_repository" "services" {
  for_each             = toset(["posts", "media"])
  name                 = "blog/${each.key}"
  image_tag_mutability = var.tag_mutability

  image_scanning_configuration {
    scan_on_push = true
  }
}

# No default and no value: unknown, never a finding.
variable "legacy_tag_mutability" {
  type = string
}

resource "aws_ecr_repository" "legacy" {
  name                 = "legacy/app"
  image_tag_mutability = var.legacy_tag_mutability

  image_scanning_configuration {
    scan_on_push = true
  }
}
