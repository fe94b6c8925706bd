# API edges that accept TLS below 1.2 or serve plain HTTP.

variable "certificate_arn" {
  type    = string
  default = "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
}

resource "aws_api_gateway_domain_name" "legacy" {
  domain_name              = "legacy-api.example.com"
  regional_certificate_arn = var.certificate_arn
  security_policy          = "TLS_1_0" # expect: BA231

  endpoint_configuration {
    types = ["REGIONAL"]
  }
}

resource "aws_lb" "api" {
  name               = "blog-api"
  internal           = true
  load_balancer_type = "application"
  subnets            = ["subnet-0a1", "subnet-0b1", "subnet-0c1"]
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
  ssl_policy        = "ELBSecurityPolicy-2016-08" # expect: BA231
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.traefik.arn
  }
}

# No ssl_policy: ELBSecurityPolicy-2016-08, which accepts TLS 1.0.
resource "aws_lb_listener" "https_alt" { # expect: BA231
  load_balancer_arn = aws_lb.api.arn
  port              = 8443
  protocol          = "HTTPS"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.traefik.arn
  }
}

# Plain HTTP that forwards requests.
resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.api.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = "forward" # expect: BA231
    target_group_arn = aws_lb_target_group.traefik.arn
  }
}

# A redirect that keeps the request's protocol (the default "#{protocol}"): still HTTP.
resource "aws_lb_listener" "http_alt" {
  load_balancer_arn = aws_lb.api.arn
  port              = 8080
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect { # expect: BA231
      port        = "443"
      status_code = "HTTP_301"
    }
  }
}
