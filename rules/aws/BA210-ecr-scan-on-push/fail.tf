# Repositories that are not scanned on push.

variable "ecr_scan_on_push" {
  description = "Scan images when they are pushed"
  type        = bool
  default     = false
}

locals {
  scanning = {
    enabled = false
  }
}

resource "aws_ecr_repository" "user" {
  name                 = "blog/user"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = false # expect: BA210
  }
}

# Off through a variable default.
resource "aws_ecr_repository" "posts" {
  name                 = "blog/posts"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = var.ecr_scan_on_push # expect: BA210
  }
}

# Off through a local.
resource "aws_ecr_repository" "media" {
  name                 = "blog/media"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = local.scanning.enabled # expect: BA210
  }
}

# No scanning configuration at all: scan_on_push defaults to false.
resource "aws_ecr_repository" "web" { # expect: BA210
  name                 = "blog/web"
  image_tag_mutability = "IMMUTABLE"
}
