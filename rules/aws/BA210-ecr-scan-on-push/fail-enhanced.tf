# With enhanced scanning (Amazon Inspector), the registry rules alone decide: a repository that
# no enhanced rule matches is not scanned, even with scan_on_push = true.

resource "aws_ecr_registry_scanning_configuration" "this" {
  scan_type = "ENHANCED"

  rule {
    scan_frequency = "CONTINUOUS_SCAN"
    repository_filter {
      filter      = "blog/*"
      filter_type = "WILDCARD"
    }
  }
}

resource "aws_ecr_repository" "user" {
  name                 = "blog/user"
  image_tag_mutability = "IMMUTABLE"
}

resource "aws_ecr_repository" "tools" {
  name                 = "tools/ci-runner" # expect: BA210
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }
}
