# Repositories whose tags can be moved to another image.

variable "tag_mutability" {
  type    = string
  default = "MUTABLE"
}

resource "aws_ecr_repository" "user" {
  name                 = "blog/user"
  image_tag_mutability = "MUTABLE" # expect: BA211

  image_scanning_configuration {
    scan_on_push = true
  }
}

# Through a variable default.
resource "aws_ecr_repository" "posts" {
  name                 = "blog/posts"
  image_tag_mutability = var.tag_mutability # expect: BA211

  image_scanning_configuration {
    scan_on_push = true
  }
}

# Not set: MUTABLE is the default.
resource "aws_ecr_repository" "web" { # expect: BA211
  name = "blog/web"

  image_scanning_configuration {
    scan_on_push = true
  }
}
