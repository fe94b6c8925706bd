# An API edge that only speaks TLS 1.2+: API Gateway custom domains and an internal ALB whose
# HTTP listener only redirects.

variable "certificate_arn" {
  type    = string
  default = "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
}

variable "ssl_policy" {
  type    = string
  default = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

resource "aws_apigatewayv2_domain_name" "api" {
  domain_name = "api.example.com"

  domain_name_configuration {
    certificate_arn = var.certificate_arn
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }
}

resource "aws_api_gateway_domain_name" "legacy" {
  domain_name              = "legacy-api.example.com"
  regional_certificate_arn = var.certificate_arn
  security_policy          = "TLS_1_2"

  endpoint_configuration {
    types = ["REGIONAL"]
  }
}

resource "aws_lb" "api" {
  name                       = "blog-api"
  internal                   = true
  load_balancer_type         = "application"
  subnets                    = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
  drop_invalid_header_fields = true
}

resource "aws_lb_target_group" "traefik" {
  name        = "blog-traefik"
  port        = 8443
  protocol    = "HTTPS"
  target_type = "ip"
  vpc_id      = "vpc-0123456789abcdef0"
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.api.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.traefik.arn
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.api.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

# A network load balancer: TLS terminated with a TLS 1.3 policy, and plain TCP passed through.
resource "aws_lb" "nlb" {
  name               = "blog-nlb"
  internal           = true
  load_balancer_type = "network"
  subnets            = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
}

resource "aws_lb_target_group" "tcp" {
  name        = "blog-tcp"
  port        = 8443
  protocol    = "TCP"
  target_type = "ip"
  vpc_id      = "vpc-0123456789abcdef0"
}

resource "aws_lb_listener" "tls" {
  load_balancer_arn = aws_lb.nlb.arn
  port              = 443
  protocol          = "TLS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-3-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.tcp.arn
  }
}

resource "aws_lb_listener" "tcp" {
  load_balancer_arn = aws_lb.nlb.arn
  port              = 8443
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.tcp.arn
  }
}

# The policy comes from a variable with no value: unknown, never a finding.
variable "legacy_ssl_policy" {
  type = string
}

resource "aws_lb_listener" "legacy" {
  load_balancer_arn = aws_lb.api.arn
  port              = 8443
  protocol          = "HTTPS"
  ssl_policy        = var.legacy_ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.traefik.arn
  }
}
