variable "region" {
  description = "AWS region of the stack"
  type        = string
  default     = "eu-west-1"
}

variable "account_id" {
  description = "AWS account that holds the stack"
  type        = string
  default     = "123456789012"
}

variable "environment" {
  description = "Environment name, used in resource names"
  type        = string
  default     = "prod"
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; the subnets are carved out of it"
  type        = string
  default     = "10.40.0.0/16"
}

variable "azs" {
  description = "The three Availability Zones the stack spans"
  type        = list(string)
  default     = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
}

variable "cluster_version" {
  description = "Kubernetes version of the EKS control plane"
  type        = string
  default     = "1.31"
}

variable "node_instance_types" {
  description = "Instance types of the managed node group"
  type        = list(string)
  default     = ["m6i.large", "m6a.large"]
}

variable "node_min_size" {
  description = "Minimum nodes: one per AZ"
  type        = number
  default     = 3
}

variable "node_max_size" {
  description = "Maximum nodes the Cluster Autoscaler may add"
  type        = number
  default     = 9
}

variable "services" {
  description = "The blog's microservices; each gets an ECR repository"
  type        = set(string)
  default     = ["user", "posts"]
}

variable "ecr_scan_on_push" {
  description = "Scan images when CI pushes them"
  type        = bool
  default     = true
}

variable "frontend_domain" {
  description = "Host name of the static frontend"
  type        = string
  default     = "www.blog.example.com"
}

variable "api_domain" {
  description = "Host name of the API"
  type        = string
  default     = "api.blog.example.com"
}

variable "frontend_certificate_arn" {
  description = "ACM certificate in us-east-1 for the frontend domain"
  type        = string
  default     = "arn:aws:acm:us-east-1:123456789012:certificate/6f0c2a4e-51d1-4c8e-9d0b-3a7e4c1f2b90"
}

variable "api_certificate_arn" {
  description = "ACM certificate in the stack's region for the API domain and the ALB"
  type        = string
  default     = "arn:aws:acm:eu-west-1:123456789012:certificate/0d9b3e27-8c4f-4a16-b5e2-7f18a9c6d341"
}

variable "alb_ssl_policy" {
  description = "TLS policy of the ALB's HTTPS listener"
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}
