# CloudFront distributions that serve plain HTTP or old TLS, and S3 origins that are not private.

resource "aws_s3_bucket" "frontend" {
  bucket = "blog-frontend-123456789012"
}

resource "aws_s3_bucket_public_access_block" "frontend" {
  bucket                  = aws_s3_bucket.frontend.id
  block_public_acls       = true
  block_public_policy     = false # expect: BA230
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# An origin bucket with no public access block at all.
resource "aws_s3_bucket" "downloads" { # expect: BA230
  bucket = "blog-downloads-123456789012"
}

# A bucket no distribution uses: not this rule's business.
resource "aws_s3_bucket" "logs" {
  bucket = "blog-logs-123456789012"
}

resource "aws_cloudfront_origin_access_control" "frontend" {
  name                              = "blog-frontend"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_distribution" "frontend" {
  enabled             = true
  default_root_object = "index.html"
  aliases             = ["www.example.com"]

  origin {
    origin_id                = "frontend-s3"
    domain_name              = aws_s3_bucket.frontend.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.frontend.id
  }

  # Reached without OAC or OAI.
  origin { # expect: BA230
    origin_id   = "downloads-s3"
    domain_name = aws_s3_bucket.downloads.bucket_regional_domain_name
  }

  default_cache_behavior {
    target_origin_id       = "frontend-s3"
    viewer_protocol_policy = "allow-all" # expect: BA230
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    cache_policy_id        = "658327ea-f89d-4fab-a63d-7e88639e58f6"
  }

  ordered_cache_behavior {
    path_pattern           = "/downloads/*"
    target_origin_id       = "downloads-s3"
    viewer_protocol_policy = "allow-all" # expect: BA230
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    cache_policy_id        = "658327ea-f89d-4fab-a63d-7e88639e58f6"
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    acm_certificate_arn      = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8899-aabbccddeeff"
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.1_2016" # expect: BA230
  }
}

# The default *.cloudfront.net certificate accepts TLS 1.0 whatever the minimum says.
resource "aws_cloudfront_distribution" "preview" {
  enabled = true

  origin {
    origin_id                = "frontend-s3"
    domain_name              = aws_s3_bucket.frontend.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.frontend.id
  }

  default_cache_behavior {
    target_origin_id       = "frontend-s3"
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    cache_policy_id        = "658327ea-f89d-4fab-a63d-7e88639e58f6"
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true # expect: BA230
  }
}
