# METADATA
# title: The CloudFront frontend serves HTTPS only, from a private S3 origin
# description: |
#   ## What it checks
#   For every CloudFront distribution:
#
#   - the default cache behavior and every ordered cache behavior have
#     `viewerProtocolPolicy` `redirect-to-https` or `https-only` (`allow-all` serves plain
#     HTTP). Reported at each behavior's `viewer_protocol_policy`;
#   - viewers must use TLS 1.2 or later: the viewer certificate is a custom (ACM)
#     certificate whose `minimumProtocolVersion` is a `TLSv1.2_*` or `TLSv1.3_*` policy.
#     With `cloudfront_default_certificate = true` CloudFront ignores the minimum version
#     and accepts TLS 1.0, so the default certificate is reported (at that attribute);
#     a missing `minimum_protocol_version` means `TLSv1` and is reported too;
#   - every S3 origin (an origin whose `s3Bucket` names a bucket, or whose domain is an S3
#     REST endpoint) is reached through Origin Access Control or an Origin Access Identity
#     (`origin_access_control_id`, or `s3_origin_config.origin_access_identity`). An S3
#     *website* endpoint cannot be, since it needs a public bucket, and is reported at its
#     `domain_name`;
#   - the S3 bucket behind each such origin blocks public access: its
#     `aws_s3_bucket_public_access_block` exists and sets `block_public_acls`,
#     `block_public_policy`, `ignore_public_acls` and `restrict_public_buckets` to true.
#     This finding is reported on the bucket (at the flag that is not true, or at the bucket
#     when it has no public access block), and names the distribution.
#
#   A value that cannot be known (a variable with no value, an origin list built from a
#   data source) is never decided on.
#
#   ## Why it matters
#   The blog's static frontend is the page where users sign in. Over plain HTTP, or over
#   TLS 1.0/1.1, an attacker on the network can read session cookies or inject script into
#   the page, which then runs with the user's session against the API. A bucket that is
#   public, or reachable without OAC/OAI, lets anyone bypass CloudFront (its TLS policy, WAF
#   and logging) and read, or with a public write policy replace, the site's files.
#
#   ## How to fix
#   ```hcl
#   resource "aws_cloudfront_distribution" "frontend" {
#     origin {
#       origin_id                = "frontend-s3"
#       domain_name              = aws_s3_bucket.frontend.bucket_regional_domain_name
#       origin_access_control_id = aws_cloudfront_origin_access_control.frontend.id
#     }
#     default_cache_behavior {
#       viewer_protocol_policy = "redirect-to-https"
#       # ...
#     }
#     viewer_certificate {
#       acm_certificate_arn      = var.frontend_certificate_arn
#       ssl_support_method       = "sni-only"
#       minimum_protocol_version = "TLSv1.2_2021"
#     }
#     # ...
#   }
#
#   resource "aws_s3_bucket_public_access_block" "frontend" {
#     bucket                  = aws_s3_bucket.frontend.id
#     block_public_acls       = true
#     block_public_policy     = true
#     ignore_public_acls      = true
#     restrict_public_buckets = true
#   }
#   ```
#
#   ## References
#   - https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-https-viewers-to-cloudfront.html
#   - https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-supported-viewer-protocols-ciphers.html
#   - https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
#   - https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
#   - https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/cloudfront_distribution
#   - https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/s3_bucket_public_access_block
# custom:
#   id: BA230
#   name: frontend-https-only
#   severity: high
#   category: security
#   sources: [T]
#   kinds: ["aws:CloudFrontDistribution", "aws:S3Bucket"]
#   lookups: ["aws:CloudFrontDistribution"]
#   remediation: Use `viewer_protocol_policy = "redirect-to-https"`, an ACM certificate with `minimum_protocol_version = "TLSv1.2_2021"`, Origin Access Control for the S3 origin, and a public access block with all four flags true on the bucket.
#   cwe: CWE-319
#   fix:
#     safety: unsafe
#     risk: browsers and clients without TLS 1.2, or reading the bucket directly, are cut off
package blogaudit.BA230

import rego.v1

import data.blogaudit.lib.aws

secure_viewer_policies := {"redirect-to-https", "https-only"}

tls12_pattern := `^TLSv1\.[23]_`

s3_rest_pattern := `\.s3([.-][a-z0-9-]+)*\.amazonaws\.com(\.cn)?$`

s3_website_pattern := `\.s3-website[.-]`

public_access_flags := ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]

is_distribution if input.kind == "aws:CloudFrontDistribution"

is_bucket if input.kind == "aws:S3Bucket"

describe := sprintf("CloudFront distribution %s", [input.name]) if is_distribution

describe := sprintf("S3 bucket %s", [aws.get(input, "bucket", input.name)]) if is_bucket

# -- Viewer protocol ---------------------------------------------------------------------------

violation contains v if {
	is_distribution
	not aws.unknown(input, "defaultCacheBehavior")
	policy = aws.get(input, ["defaultCacheBehavior", "viewerProtocolPolicy"], "allow-all")
	not policy in secure_viewer_policies
	v = {
		"path": ["defaultCacheBehavior", "viewerProtocolPolicy"],
		"message": sprintf("%s serves plain HTTP: its default cache behavior has viewer_protocol_policy %q", [describe, policy]),
		"fix": {"value": "redirect-to-https"},
	}
}

violation contains v if {
	is_distribution
	not aws.unknown(input, "orderedCacheBehaviors")
	some i, behavior in aws.get(input, "orderedCacheBehaviors", [])
	policy = aws.get(behavior, "viewerProtocolPolicy", "allow-all")
	not policy in secure_viewer_policies
	v = {
		"path": ["orderedCacheBehaviors", i, "viewerProtocolPolicy"],
		"message": sprintf("%s serves plain HTTP: the cache behavior for %q has viewer_protocol_policy %q", [describe, aws.get(behavior, "pathPattern", "?"), policy]),
		"fix": {"value": "redirect-to-https"},
	}
}

# -- Viewer TLS version ------------------------------------------------------------------------

default_certificate if aws.get(input, ["viewerCertificate", "cloudfrontDefaultCertificate"], false) == true

violation contains v if {
	is_distribution
	not aws.unknown(input, "viewerCertificate")
	default_certificate
	v = {
		"path": ["viewerCertificate", "cloudfrontDefaultCertificate"],
		"message": sprintf("%s uses the default *.cloudfront.net certificate, with which CloudFront accepts TLS 1.0; use an ACM certificate with minimum_protocol_version TLSv1.2_2021", [describe]),
	}
}

violation contains v if {
	is_distribution
	not aws.unknown(input, "viewerCertificate")
	not default_certificate
	version = aws.get(input, ["viewerCertificate", "minimumProtocolVersion"], "TLSv1")
	not regex.match(tls12_pattern, version)
	v = {
		"path": ["viewerCertificate", "minimumProtocolVersion"],
		"message": sprintf("%s accepts viewers below TLS 1.2: minimum_protocol_version is %q", [describe, version]),
		"fix": {"value": "TLSv1.2_2021"},
	}
}

# -- S3 origins --------------------------------------------------------------------------------

origins := aws.get(input, "origins", []) if {
	is_distribution
	not aws.unknown(input, "origins")
}

has_value(o, field) if {
	value = aws.get(o, field, null)
	is_string(value)
	value != ""
}

website_origin(o) if regex.match(s3_website_pattern, aws.get(o, "domainName", ""))

s3_origin(o) if {
	is_string(o.s3Bucket)
	not website_origin(o)
}

s3_origin(o) if {
	regex.match(s3_rest_pattern, aws.get(o, "domainName", ""))
	not website_origin(o)
}

violation contains v if {
	some i, o in origins
	s3_origin(o)
	not has_value(o, "originAccessControlId")
	not has_value(o, "originAccessIdentity")
	v = {
		"path": ["origins", i, "originAccessControlId"],
		"message": sprintf("%s reaches its S3 origin %q without Origin Access Control or an Origin Access Identity, so the bucket must be readable by others", [describe, aws.get(o, "originId", "?")]),
	}
}

violation contains v if {
	some i, o in origins
	website_origin(o)
	v = {
		"path": ["origins", i, "domainName"],
		"message": sprintf("%s uses the S3 website endpoint %q as origin %q: a website endpoint needs a public bucket and speaks only HTTP; use the bucket's REST endpoint with Origin Access Control", [describe, o.domainName, aws.get(o, "originId", "?")]),
	}
}

# -- The buckets behind S3 origins (evaluated on the bucket) ------------------------------------

fronting := sort({name |
	is_bucket
	some name, d in aws.objects("aws:CloudFrontDistribution")
	some o in aws.get(d, "origins", [])
	aws.get(o, "s3Bucket", null) == input.name
})

violation contains v if {
	is_bucket
	count(fronting) > 0
	not aws.unknown(input, "publicAccessBlock")
	aws.get(input, "publicAccessBlock", null) == null
	v = {
		"path": ["publicAccessBlock"],
		"message": sprintf("%s, the origin of CloudFront distribution %s, has no public access block; add an aws_s3_bucket_public_access_block with all four settings true", [describe, concat(", ", fronting)]),
	}
}

violation contains v if {
	is_bucket
	count(fronting) > 0
	not aws.unknown(input, "publicAccessBlock")
	block = input.publicAccessBlock
	is_object(block)
	some flag in public_access_flags
	aws.get(block, flag, false) != true
	v = {
		"path": ["publicAccessBlock", flag],
		"message": sprintf("%s, the origin of CloudFront distribution %s, does not block public access: %s is not true", [describe, concat(", ", fronting), flag]),
		"fix": {"value": true},
	}
}
