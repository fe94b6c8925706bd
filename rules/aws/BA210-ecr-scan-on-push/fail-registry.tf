# Registry-level rules exist, but none covers these repositories: the filters do not match
# their names, or the matching rule only scans manually.

resource "aws_ecr_registry_scanning_configuration" "this" {
  scan_type = "BASIC"

  rule {
    scan_frequency = "SCAN_ON_PUSH"
    repository_filter {
      filter      = "blog-*"
      filter_type = "WILDCARD"
    }
  }

  rule {
    scan_frequency = "MANUAL"
    repository_filter {
      filter      = "*"
      filter_type = "WILDCARD"
    }
  }
}

# "blog-*" does not match "blog/user": the filter wants a dash.
resource "aws_ecr_repository" "user" {
  name                 = "blog/user"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = false # expect: BA210
  }
}

# Matched only by the MANUAL rule.
resource "aws_ecr_repository" "tools" { # expect: BA210
  name                 = "tools/ci-runner"
  image_tag_mutability = "IMMUTABLE"
}

# Covered by "blog-*": no finding.
resource "aws_ecr_repository" "legacy" {
  name                 = "blog-legacy"
  image_tag_mutability = "IMMUTABLE"
}
