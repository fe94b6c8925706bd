# Repositories without their own scan-on-push setting, covered by registry-level rules whose
# wildcard filters match their names. (Checkov's CKV_AWS_163 reports these; they are scanned.)

resource "aws_ecr_registry_scanning_configuration" "this" {
  scan_type = "ENHANCED"

  rule {
    scan_frequency = "SCAN_ON_PUSH"
    repository_filter {
      filter      = "blog/*"
      filter_type = "WILDCARD"
    }
  }

  rule {
    scan_frequency = "CONTINUOUS_SCAN"
    repository_filter {
      filter      = "tools-*"
      filter_type = "WILDCARD"
    }
    repository_filter {
      filter      = "mirror/docker.io/*"
      filter_type = "WILDCARD"
    }
    repository_filter {
      filter      = "posts-cache"
      filter_type = "WILDCARD"
    }
  }
}

resource "aws_ecr_repository" "user" {
  name                 = "blog/user"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = false
  }
}

resource "aws_ecr_repository" "posts" {
  name                 = "blog/posts"
  image_tag_mutability = "IMMUTABLE"
}

resource "aws_ecr_repository" "ci" {
  name                 = "tools-ci-runner"
  image_tag_mutability = "IMMUTABLE"
}

resource "aws_ecr_repository" "traefik" {
  name                 = "mirror/docker.io/library/traefik"
  image_tag_mutability = "IMMUTABLE"
}

# A filter without "*" matches every name that contains it.
resource "aws_ecr_repository" "posts_cache" {
  name                 = "mirror/blog/posts-cache"
  image_tag_mutability = "IMMUTABLE"
}
