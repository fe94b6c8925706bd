# METADATA
# title: API Gateway domains and load balancer listeners use TLS 1.2+; HTTP only redirects
# description: |
#   ## What it checks
#   The edge of the blog's API (API Gateway → ALB → Traefik) must only speak TLS 1.2 or
#   later to clients:
#
#   - an API Gateway custom domain (`aws_apigatewayv2_domain_name`,
#     `aws_api_gateway_domain_name`) has `securityPolicy` `TLS_1_2`, or one of the enhanced
#     `SecurityPolicy_TLS12_*`/`SecurityPolicy_TLS13_*` policies. `TLS_1_0` (the default of
#     REST API domains) is reported at `security_policy`;
#   - a load balancer listener (`aws_lb_listener`) with protocol `HTTPS` or `TLS` has an
#     `sslPolicy` that requires TLS 1.2 or later: `ELBSecurityPolicy-TLS13-1-2-*`,
#     `ELBSecurityPolicy-TLS13-1-3-*`, `ELBSecurityPolicy-TLS-1-2-*` or
#     `ELBSecurityPolicy-FS-1-2-*`. A missing `ssl_policy` means `ELBSecurityPolicy-2016-08`,
#     which accepts TLS 1.0, and is reported at the listener;
#   - a listener with protocol `HTTP` only redirects to HTTPS: each of its default actions is
#     a `redirect` whose `protocol` is `HTTPS`. A `forward` (or any other) action is
#     reported at its `type`; a redirect that keeps the protocol (`#{protocol}`, the
#     default) or goes to `HTTP` is reported at its `protocol`.
#
#   Internal load balancers are checked too: in the design the ALB is internal and carries
#   the clients' requests from API Gateway. `TCP`, `UDP` and `GENEVE` listeners pass traffic
#   through without terminating it and are not checked. A value that cannot be known is
#   never decided on.
#
#   ## Why it matters
#   TLS 1.0 and 1.1 have known weaknesses and are deprecated (RFC 8996); clients that can be
#   downgraded to them, or that talk plain HTTP, expose bearer tokens and user data to
#   anyone on the path. An HTTP listener that forwards requests makes it easy to call the
#   API without TLS by mistake; one that only redirects keeps port 80 useful without ever
#   carrying data in clear text.
#
#   ## How to fix
#   ```hcl
#   resource "aws_apigatewayv2_domain_name" "api" {
#     domain_name = "api.example.com"
#     domain_name_configuration {
#       certificate_arn = var.api_certificate_arn
#       endpoint_type   = "REGIONAL"
#       security_policy = "TLS_1_2"
#     }
#   }
#
#   resource "aws_lb_listener" "https" {
#     load_balancer_arn = aws_lb.api.arn
#     port              = 443
#     protocol          = "HTTPS"
#     ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
#     certificate_arn   = var.alb_certificate_arn
#     default_action {
#       type             = "forward"
#       target_group_arn = aws_lb_target_group.traefik.arn
#     }
#   }
#
#   resource "aws_lb_listener" "http" {
#     load_balancer_arn = aws_lb.api.arn
#     port              = 80
#     protocol          = "HTTP"
#     default_action {
#       type = "redirect"
#       redirect {
#         port        = "443"
#         protocol    = "HTTPS"
#         status_code = "HTTP_301"
#       }
#     }
#   }
#   ```
#
#   ## References
#   - https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-custom-domain-tls-version.html
#   - https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
#   - https://docs.aws.amazon.com/elasticloadbalancing/latest/network/describe-ssl-policies.html
#   - https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html
#   - https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/lb_listener
#   - https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/apigatewayv2_domain_name
#   - https://datatracker.ietf.org/doc/html/rfc8996
# custom:
#   id: BA231
#   name: edge-tls
#   severity: high
#   category: security
#   sources: [T]
#   kinds: ["aws:ApiGatewayDomain", "aws:LbListener"]
#   remediation: Use `security_policy = "TLS_1_2"` on API Gateway domains, `ssl_policy = "ELBSecurityPolicy-TLS13-1-2-2021-06"` on HTTPS/TLS listeners, and only a `redirect` to `HTTPS` on HTTP listeners.
#   cwe: CWE-326
#   fix:
#     safety: unsafe
#     risk: clients without TLS 1.2 or plain-HTTP callers are cut off
package blogaudit.BA231

import rego.v1

import data.blogaudit.lib.aws

# -- API Gateway custom domains ----------------------------------------------------------------

apigw_tls12_pattern := `^(TLS_1_2|SecurityPolicy_TLS1[23]_.+)$`

violation contains v if {
	input.kind == "aws:ApiGatewayDomain"
	not aws.unknown(input, "securityPolicy")
	policy = aws.get(input, "securityPolicy", "TLS_1_0")
	not regex.match(apigw_tls12_pattern, policy)
	v = {
		"path": ["securityPolicy"],
		"message": sprintf("API Gateway domain %s accepts TLS below 1.2: security_policy is %q", [aws.get(input, "domainName", input.name), policy]),
		"fix": {"value": "TLS_1_2"},
	}
}

# -- Load balancer listeners -------------------------------------------------------------------

elb_tls12_pattern := `^ELBSecurityPolicy-(TLS13-1-[23]-|TLS-1-2-|FS-1-2-)`

listener := sprintf("load balancer listener %s (%s:%v)", [input.name, aws.get(input, "protocol", "?"), aws.get(input, "port", "?")])

protocol := input.protocol if {
	input.kind == "aws:LbListener"
	not aws.unknown(input, "protocol")
}

violation contains v if {
	protocol in {"HTTPS", "TLS"}
	not aws.unknown(input, "sslPolicy")
	policy = aws.get(input, "sslPolicy", "ELBSecurityPolicy-2016-08")
	not regex.match(elb_tls12_pattern, policy)
	v = {
		"path": ["sslPolicy"],
		"message": sprintf("%s accepts TLS below 1.2: ssl_policy is %q", [listener, policy]),
		"fix": {"value": "ELBSecurityPolicy-TLS13-1-2-2021-06"},
	}
}

actions := aws.get(input, "defaultActions", []) if not aws.unknown(input, "defaultActions")

violation contains v if {
	protocol == "HTTP"
	some i, action in actions
	aws.get(action, "type", "") != "redirect"
	v = {
		"path": ["defaultActions", i, "type"],
		"message": sprintf("%s serves plain HTTP: its default action is %q instead of a redirect to HTTPS", [listener, aws.get(action, "type", "")]),
	}
}

violation contains v if {
	protocol == "HTTP"
	some i, action in actions
	action.type == "redirect"
	target = aws.get(action, ["redirect", "protocol"], "#{protocol}")
	target != "HTTPS"
	v = {
		"path": ["defaultActions", i, "redirect", "protocol"],
		"message": sprintf("%s redirects to %q instead of HTTPS", [listener, target]),
		"fix": {"value": "HTTPS"},
	}
}

violation contains v if {
	protocol == "HTTP"
	count(aws.get(input, "defaultActions", [])) == 0
	not aws.unknown(input, "defaultActions")
	v = {
		"path": ["protocol"],
		"message": sprintf("%s serves plain HTTP and has no default action that redirects to HTTPS", [listener]),
	}
}
