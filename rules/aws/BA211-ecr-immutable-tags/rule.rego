# METADATA
# title: ECR repositories have immutable tags
# description: |
#   ## What it checks
#   Every ECR repository must set `tagMutability` to `IMMUTABLE`
#   (`image_tag_mutability = "IMMUTABLE"` in Terraform). The Terraform and AWS default is
#   `MUTABLE`, so a repository that does not set it is reported at the repository itself.
#   `IMMUTABLE_WITH_EXCLUSION` and `MUTABLE_WITH_EXCLUSION` are reported too: the tags that
#   match their exclusion filters can still be moved. A value that cannot be known (a
#   variable with no value) is never decided on.
#
#   ## Why it matters
#   The Kubernetes manifests of the reference design reference images by version tag
#   (BA160). With mutable tags, anyone who can push can replace the image behind `user:1.4.2`
#   without changing a manifest: nodes that pull later run other code than the nodes that
#   pulled before, a rollback to the old tag does not restore the old code, and the image
#   that ECR scanned on push (BA210) is no longer the image that runs. Immutable tags make a
#   tag name exactly one image, as a digest does.
#
#   ## How to fix
#   ```hcl
#   resource "aws_ecr_repository" "posts" {
#     name                 = "blog/posts"
#     image_tag_mutability = "IMMUTABLE"
#     # ...
#   }
#   ```
#
#   and have CI push a new, unique tag (for example the Git commit SHA) for every build.
#
#   ## References
#   - https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html
#   - https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImageTagMutability.html
#   - https://docs.aws.amazon.com/securityhub/latest/userguide/ecr-controls.html
#   - https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/ecr_repository
# custom:
#   id: BA211
#   name: ecr-immutable-tags
#   severity: medium
#   category: security
#   sources: [T, A]
#   kinds: ["aws:EcrRepository"]
#   remediation: Set `image_tag_mutability = "IMMUTABLE"` on the repository.
#   cwe: CWE-494
#   fix:
#     safety: unsafe
#     risk: a pipeline that pushes the same tag twice (latest) is refused
package blogaudit.BA211

import rego.v1

import data.blogaudit.lib.aws

describe := sprintf("ECR repository %s", [aws.get(input, "repositoryName", input.name)])

mutability := aws.get(input, "tagMutability", "MUTABLE")

violation contains v if {
	not aws.unknown(input, "tagMutability")
	mutability != "IMMUTABLE"
	v = {
		"path": ["tagMutability"],
		"message": sprintf("%s has image tag mutability %s: pushed tags can be overwritten; set it to IMMUTABLE", [describe, mutability]),
		"fix": {"value": "IMMUTABLE"},
	}
}
