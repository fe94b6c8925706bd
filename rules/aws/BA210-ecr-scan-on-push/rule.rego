# METADATA
# title: ECR repositories scan images on push
# description: |
#   ## What it checks
#   Every ECR repository must have its images scanned for vulnerabilities when they are
#   pushed. A repository passes when either:
#
#   - its own setting scans on push: `scanOnPush` is true
#     (`image_scanning_configuration { scan_on_push = true }`), or
#   - the registry's scanning configuration covers it: an `aws:EcrRegistryScanning`
#     object (`aws_ecr_registry_scanning_configuration`, or
#     `GetRegistryScanningConfiguration` in a live account) has a rule with
#     `scanFrequency` `SCAN_ON_PUSH` or `CONTINUOUS_SCAN` and a `WILDCARD` repository filter
#     that matches the repository's name.
#
#   Filters match as ECR matches them: a filter with a `*` must match the whole name, each
#   `*` standing for any run of characters (including none, and including `/`), so `blog-*`
#   matches `blog-user` and `blog-posts/api` but not `blog/user`, and `*` matches every
#   repository; a filter without `*` matches every name that *contains* it.
#
#   One exception to the first case: when the registry uses **enhanced** scanning
#   (`scan_type = "ENHANCED"`, Amazon Inspector), ECR disables scanning for every repository
#   that no enhanced rule matches, whatever the repository's own `scan_on_push` says. Such a
#   repository is reported at its `name`, even when `scan_on_push` is true.
#
#   Otherwise a repository that is not covered is reported at its `scan_on_push` setting
#   (the repository itself when the setting is missing). The value may come through a
#   variable: `scan_on_push = var.ecr_scan_on_push` with a `false` default is reported like
#   a literal `false`. A value that cannot be known (a variable with no default and no
#   value, a repository name from a data source, registry rules that cannot be read) is
#   never decided on; the loader reports the input to set instead.
#
#   ## Why it matters
#   In the reference design, GitHub Actions pushes the `user` and `posts` images to ECR and
#   ArgoCD deploys them. Scanning on push is the gate that tells the team, before the
#   rollout, that an image carries a known-vulnerable package. Without it, images are only
#   scanned when someone starts a scan by hand, which in practice means never. Some checkers
#   only look at the repository setting and ignore registry-level rules; this rule reads
#   both, so a registry-wide enhanced (Amazon Inspector) configuration counts.
#
#   ## How to fix
#   Turn scanning on for the repository:
#
#   ```hcl
#   resource "aws_ecr_repository" "user" {
#     name                 = "blog/user"
#     image_tag_mutability = "IMMUTABLE"
#     image_scanning_configuration {
#       scan_on_push = true
#     }
#   }
#   ```
#
#   or once for the whole registry, which AWS now recommends over the repository setting:
#
#   ```hcl
#   resource "aws_ecr_registry_scanning_configuration" "this" {
#     scan_type = "ENHANCED"
#     rule {
#       scan_frequency = "CONTINUOUS_SCAN"
#       repository_filter {
#         filter      = "blog/*"
#         filter_type = "WILDCARD"
#       }
#     }
#   }
#   ```
#
#   ## References
#   - https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning.html
#   - https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-basic.html
#   - https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-enhanced.html
#   - https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-filters.html
#   - https://docs.aws.amazon.com/securityhub/latest/userguide/ecr-controls.html
#   - https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutRegistryScanningConfiguration.html
#   - https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ScanningRepositoryFilter.html
#   - https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/ecr_repository
#   - https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/ecr_registry_scanning_configuration
# custom:
#   id: BA210
#   name: ecr-scan-on-push
#   severity: high
#   category: security
#   sources: [T, A]
#   kinds: ["aws:EcrRepository"]
#   lookups: ["aws:EcrRegistryScanning"]
#   remediation: Set `image_scanning_configuration { scan_on_push = true }`, or add an `aws_ecr_registry_scanning_configuration` rule (`SCAN_ON_PUSH` or `CONTINUOUS_SCAN`) whose `WILDCARD` filter matches the repository.
#   cwe: CWE-1104
#   fix:
#     safety: safe
package blogaudit.BA210

import rego.v1

import data.blogaudit.lib.aws

describe := sprintf("ECR repository %s", [aws.get(input, "repositoryName", input.name)])

scanning_frequencies := {"SCAN_ON_PUSH", "CONTINUOUS_SCAN"}

registry_configs := aws.objects("aws:EcrRegistryScanning")

# A `WILDCARD` filter as a regular expression. With a `*` it must match the whole name, each
# `*` being any run of characters; without one it matches any name that contains it. Every
# other character is literal (ECR filters hold only `a-z0-9._/-` and `*`).
wildcard_regex(filter) := concat("", ["^", concat(".*", [literal |
	some part in split(filter, "*")
	literal = escape(part)
]), "$"]) if contains(filter, "*")

wildcard_regex(filter) := escape(filter) if not contains(filter, "*")

escape(s) := regex.replace(s, `[.+?^${}()|\[\]\\]`, `\$0`)

filter_matches(f, name) if {
	aws.get(f, "filterType", "WILDCARD") == "WILDCARD"
	regex.match(wildcard_regex(f.filter), name)
}

# The registry configuration `config` has a scanning rule that covers the repository `name`.
covers(config, name) if {
	some rule in aws.get(config, "rules", [])
	rule.scanFrequency in scanning_frequencies
	some f in aws.get(rule, "filters", [])
	filter_matches(f, name)
}

covered_by_registry if {
	not aws.unknown(input, "repositoryName")
	some config in registry_configs
	not aws.unknown(config, "rules")
	covers(config, input.repositoryName)
}

# An enhanced-scanning registry configuration: it alone decides which repositories are scanned.
enhanced_registry if {
	some config in registry_configs
	not aws.unknown(config, "scanType")
	config.scanType == "ENHANCED"
}

# A registry rule that may cover the repository but cannot be read: do not decide.
registry_undecided if {
	some config in registry_configs
	aws.unknown(config, "rules")
}

registry_undecided if {
	aws.unknown(input, "repositoryName")
	some config in registry_configs
	some rule in aws.get(config, "rules", [])
	rule.scanFrequency in scanning_frequencies
}

violation contains v if {
	not aws.unknown(input, "scanOnPush")
	aws.get(input, "scanOnPush", false) != true
	not covered_by_registry
	not registry_undecided
	not enhanced_registry
	v = {
		"path": ["scanOnPush"],
		"message": sprintf("%s does not scan images on push: scan_on_push is not true and no registry scanning rule (SCAN_ON_PUSH or CONTINUOUS_SCAN) has a filter that matches it", [describe]),
		"fix": {"value": true},
	}
}

violation contains v if {
	enhanced_registry
	not covered_by_registry
	not registry_undecided
	v = {
		"path": ["repositoryName"],
		"message": sprintf("%s is not scanned: the registry uses enhanced scanning and no enhanced rule (SCAN_ON_PUSH or CONTINUOUS_SCAN) has a filter that matches it, so ECR disables its scanning whatever its scan_on_push says", [describe]),
	}
}
