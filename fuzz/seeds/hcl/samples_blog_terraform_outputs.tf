output "cluster_name" {
  value = aws_eks_cluster.blog.name
}

output "repository_urls" {
  value = { for name, repo in aws_ecr_repository.service : name => repo.repository_url }
}

output "frontend_distribution_domain" {
  value = aws_cloudfront_distribution.frontend.domain_name
}

output "api_domain_target" {
  value = aws_apigatewayv2_domain_name.api.domain_name_configuration[0].target_domain_name
}
