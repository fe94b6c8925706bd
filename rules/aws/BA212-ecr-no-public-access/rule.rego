# METADATA
# title: ECR repository policies do not grant access to everyone
# description: |
#   ## What it checks
#   The repository policy of every ECR repository (`aws_ecr_repository_policy`, or
#   `GetRepositoryPolicy` in a live account) must not hold an `Allow` statement for everyone
#   without a `Condition`. A statement grants everyone when its `Principal` is `"*"`, or an
#   object whose `AWS` entry is `"*"` or a list that contains `"*"`; an `Allow` statement
#   with `NotPrincipal` grants everyone except the listed principals and counts too. A
#   statement with a `Condition` (for example `aws:PrincipalOrgID` or `aws:SourceAccount`)
#   passes. Each such statement is reported at its `Principal` (or `NotPrincipal`). A
#   policy that cannot be known (a policy document built from a data source) is never
#   decided on.
#
#   ## Why it matters
#   A repository policy that allows `"*"` lets any AWS account, and for some actions anyone
#   at all, pull the blog's images, and with push actions replace them. Images carry the
#   application's code and often configuration or credentials baked in by mistake; a
#   writable public repository lets an attacker plant code that ArgoCD then deploys.
#
#   ## How to fix
#   Name the principals that need access, or keep `"*"` only behind a condition that limits
#   it to your organization:
#
#   ```hcl
#   resource "aws_ecr_repository_policy" "user" {
#     repository = aws_ecr_repository.user.name
#     policy = jsonencode({
#       Version = "2012-10-17"
#       Statement = [{
#         Sid       = "OrgPull"
#         Effect    = "Allow"
#         Principal = "*"
#         Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
#         Condition = { StringEquals = { "aws:PrincipalOrgID" = "o-exampleorgid" } }
#       }]
#     })
#   }
#   ```
#
#   ## References
#   - https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html
#   - https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html
#   - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
#   - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
#   - https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/ecr_repository_policy
# custom:
#   id: BA212
#   name: ecr-no-public-access
#   severity: critical
#   category: security
#   sources: [T, A]
#   kinds: ["aws:EcrRepository"]
#   remediation: Replace `Principal = "*"` with the account or role ARNs that need access, or add a `Condition` (such as `aws:PrincipalOrgID`) that limits it.
#   cwe: CWE-732
package blogaudit.BA212

import rego.v1

import data.blogaudit.lib.aws

describe := sprintf("ECR repository %s", [aws.get(input, "repositoryName", input.name)])

policy := input.policy if {
	not aws.unknown(input, "policy")
	is_object(input.policy)
}

# Each statement with its path under the policy: `Statement` is a list or a single object.
statements contains [["Statement", i], s] if {
	is_array(policy.Statement)
	some i, s in policy.Statement
}

statements contains [["Statement"], policy.Statement] if is_object(policy.Statement)

everyone(p) if p == "*"

everyone(p) if {
	is_object(p)
	everyone_aws(p.AWS)
}

everyone_aws(a) if a == "*"

everyone_aws(a) if {
	is_array(a)
	"*" in a
}

unconditioned(s) if count(aws.get(s, "Condition", {})) == 0

allow(s) if aws.get(s, "Effect", "") == "Allow"

violation contains v if {
	some [path, s] in statements
	allow(s)
	everyone(s.Principal)
	unconditioned(s)
	v = {
		"path": array.concat(["policy"], array.concat(path, ["Principal"])),
		"message": sprintf("%s has a repository policy statement%s that allows everyone (Principal \"*\") with no Condition", [describe, sid(s)]),
	}
}

violation contains v if {
	some [path, s] in statements
	allow(s)
	_ = s.NotPrincipal
	unconditioned(s)
	v = {
		"path": array.concat(["policy"], array.concat(path, ["NotPrincipal"])),
		"message": sprintf("%s has a repository policy statement%s that allows everyone except its NotPrincipal, with no Condition", [describe, sid(s)]),
	}
}

sid(s) := sprintf(" %q", [s.Sid]) if {
	is_string(s.Sid)
} else := ""
