//! End-to-end tests of the Terraform source through its public entry point
//! (`source::terraform::load`): HCL (or plan JSON) text in, canonical resources out.

use std::path::Path;

use serde_json::{json, Value};

use blogaudit::model::{Level, PathSeg, Resource};
use blogaudit::source::terraform::{load, parse_var, Inputs, TerraformOptions};
use blogaudit::source::Loaded;

/// Writes `files` under a fresh temp dir and returns it.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// Loads the given directories of `root` (relative paths) as the scan would.
fn scan_dirs(root: &Path, dirs: &[&str], opts: &TerraformOptions) -> Loaded {
    let inputs = Inputs {
        dirs: dirs.iter().map(|d| root.join(d)).collect(),
        ..Inputs::default()
    };
    load(&inputs, root, opts)
}

fn scan(files: &[(&str, &str)]) -> (tempfile::TempDir, Loaded) {
    let dir = tree(files);
    let loaded = scan_dirs(dir.path(), &["."], &TerraformOptions::default());
    (dir, loaded)
}

fn get<'a>(l: &'a Loaded, name: &str) -> &'a Resource {
    l.resources
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no resource {name}; have {:?}",
                l.resources.iter().map(|r| &r.name).collect::<Vec<_>>()
            )
        })
}

fn line_of(r: &Resource, path: &[&str]) -> u32 {
    let p: Vec<PathSeg> = path
        .iter()
        .map(|s| match s.parse::<usize>() {
            Ok(i) => PathSeg::Index(i),
            Err(_) => PathSeg::Key((*s).to_string()),
        })
        .collect();
    r.locate(&p).map_or(0, |(s, _)| s.start.line)
}

/// The 1-based line of the first line of `text` that contains `needle`.
fn line(text: &str, needle: &str) -> u32 {
    let i = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle}"));
    u32::try_from(i + 1).unwrap()
}

fn file_of(r: &Resource) -> String {
    r.file().map(|f| f.path.clone()).unwrap_or_default()
}

const SUBNETS: &str = r#"
locals {
  azs = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
}

resource "aws_subnet" "a" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = cidrsubnet("10.0.0.0/16", 4, 0)
  availability_zone = local.azs[0]
}

resource "aws_subnet" "a2" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = cidrsubnet("10.0.0.0/16", 4, 1)
  availability_zone = local.azs[0]
}

resource "aws_subnet" "private" {
  count             = length(local.azs)
  vpc_id            = aws_vpc.main.id
  cidr_block        = cidrsubnet("10.0.0.0/16", 4, count.index + 4)
  availability_zone = element(local.azs, count.index)
}

resource "aws_subnet" "by_az" {
  for_each          = toset(local.azs)
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.1.0.0/24"
  availability_zone = each.value
}

resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}
"#;

fn node_group(name: &str, subnets: &str) -> String {
    format!(
        r#"
resource "aws_eks_node_group" "{name}" {{
  cluster_name    = "blog"
  node_group_name = "{name}"
  node_role_arn   = "arn:aws:iam::1:role/n"
  subnet_ids      = {subnets}

  scaling_config {{
    desired_size = 3
    min_size     = 3
    max_size     = 6
  }}
}}
"#
    )
}

#[test]
fn node_group_azs_count_distinct_zones_through_references() {
    let mut eks = String::new();
    eks.push_str(&node_group("same", "[aws_subnet.a.id, aws_subnet.a2.id]"));
    eks.push_str(&node_group("splat", "aws_subnet.private[*].id"));
    eks.push_str(&node_group("values", "values(aws_subnet.by_az)[*].id"));
    eks.push_str(&node_group(
        "forexpr",
        "[for s in aws_subnet.private : s.id]",
    ));
    let (_d, l) = scan(&[("network.tf", SUBNETS), ("eks.tf", &eks)]);
    let same = get(&l, "aws_eks_node_group.same");
    assert_eq!(same.body["availabilityZones"], json!(["eu-west-1a"]));
    assert_eq!(
        same.body["subnetIds"],
        json!(["aws_subnet.a.id", "aws_subnet.a2.id"])
    );
    for n in ["splat", "values", "forexpr"] {
        let r = get(&l, &format!("aws_eks_node_group.{n}"));
        assert_eq!(
            r.body["availabilityZones"],
            json!(["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
            "{n}"
        );
    }
    assert_eq!(
        get(&l, "aws_eks_node_group.splat").body["subnetIds"],
        json!([
            "aws_subnet.private[0].id",
            "aws_subnet.private[1].id",
            "aws_subnet.private[2].id"
        ])
    );
    assert_eq!(
        get(&l, "aws_subnet.by_az[\"eu-west-1b\"]").body["availabilityZone"],
        json!("eu-west-1b")
    );
    assert_eq!(
        get(&l, "aws_subnet.private[2]").body["id"],
        json!("aws_subnet.private[2].id")
    );
    // The field points at the attribute that set it.
    assert_eq!(line_of(same, &["availabilityZones"]), 6);
    assert_eq!(line_of(same, &["scaling", "min"]), 10);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
}

#[test]
fn variables_resolve_through_defaults_tfvars_and_cli() {
    let files = [
        (
            "variables.tf",
            r#"
variable "ecr_scan_on_push" {
  type    = bool
  default = false
}
variable "mutability" {
  default = "MUTABLE"
}
variable "prefix" {
  type = string
}
variable "from_cli" {
  type    = bool
  default = false
}
"#,
        ),
        ("terraform.tfvars", "mutability = \"IMMUTABLE\"\n"),
        ("b.auto.tfvars", "prefix = \"blog\"\n"),
        (
            "ecr.tf",
            r#"
resource "aws_ecr_repository" "api" {
  name                 = "${var.prefix}/api"
  image_tag_mutability = var.mutability

  image_scanning_configuration {
    scan_on_push = var.ecr_scan_on_push
  }
}

resource "aws_ecr_repository" "cli" {
  name = format("%s-%s", var.prefix, "cli")
  image_scanning_configuration {
    scan_on_push = var.from_cli
  }
}
"#,
        ),
    ];
    let dir = tree(&files);
    let opts = TerraformOptions {
        var_files: Vec::new(),
        vars: vec![("from_cli".into(), "true".into())],
    };
    let l = scan_dirs(dir.path(), &["."], &opts);
    let api = get(&l, "aws_ecr_repository.api");
    assert_eq!(api.body["scanOnPush"], json!(false));
    assert_eq!(api.body["tagMutability"], json!("IMMUTABLE"));
    assert_eq!(api.body["repositoryName"], json!("blog/api"));
    assert_eq!(line_of(api, &["scanOnPush"]), 7);
    assert_eq!(file_of(api), "ecr.tf");
    let cli = get(&l, "aws_ecr_repository.cli");
    assert_eq!(cli.body["scanOnPush"], json!(true));
    assert_eq!(cli.body["repositoryName"], json!("blog-cli"));
}

#[test]
fn var_files_from_the_command_line_come_after_auto_tfvars() {
    let dir = tree(&[
        ("main.tf", "variable \"m\" {}\nresource \"aws_ecr_repository\" \"r\" {\n  name = \"r\"\n  image_tag_mutability = var.m\n}\n"),
        ("x.auto.tfvars", "m = \"MUTABLE\"\n"),
        ("prod.tfvars", "m = \"IMMUTABLE\"\n"),
    ]);
    let opts = TerraformOptions {
        var_files: vec![dir.path().join("prod.tfvars")],
        vars: Vec::new(),
    };
    let l = scan_dirs(dir.path(), &["."], &opts);
    assert_eq!(
        get(&l, "aws_ecr_repository.r").body["tagMutability"],
        json!("IMMUTABLE")
    );
}

#[test]
fn unknown_values_are_left_out_listed_and_noted() {
    let (_d, l) = scan(&[(
        "main.tf",
        r#"
variable "scan" {
  type = bool
}

data "aws_subnets" "private" {}

resource "aws_ecr_repository" "r" {
  name = "r"
  image_scanning_configuration {
    scan_on_push = var.scan
  }
}

resource "aws_eks_node_group" "ng" {
  cluster_name = "c"
  subnet_ids   = data.aws_subnets.private.ids
  scaling_config {
    min_size     = 3
    max_size     = 6
    desired_size = 3
  }
}
"#,
    )]);
    let r = get(&l, "aws_ecr_repository.r");
    assert!(r.body.get("scanOnPush").is_none());
    assert_eq!(r.body["unknown"], json!({"scanOnPush": "var.scan"}));
    let ng = get(&l, "aws_eks_node_group.ng");
    assert_eq!(
        ng.body["unknown"],
        json!({"subnetIds": "data.aws_subnets.private.ids", "availabilityZones": "data.aws_subnets.private.ids"})
    );
    let notes: Vec<_> = l
        .diagnostics
        .iter()
        .filter(|d| d.code == "terraform-unknown")
        .collect();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes.iter().all(|d| d.level == Level::Note));
    let scan_note = notes
        .iter()
        .find(|d| d.message.contains("scanOnPush"))
        .unwrap();
    assert!(scan_note.message.contains("var.scan"));
    assert_eq!(scan_note.pos.map(|p| p.line), Some(11));
}

#[test]
fn literal_subnet_ids_and_unset_zones_make_azs_unknown() {
    let (_d, l) = scan(&[(
        "main.tf",
        &(node_group("lit", "[\"subnet-0a\", \"subnet-0b\", \"subnet-0c\"]")
            + "resource \"aws_subnet\" \"noaz\" {\n  cidr_block = \"10.0.0.0/24\"\n}\n"
            + &node_group("noaz", "[aws_subnet.noaz.id]")),
    )]);
    let lit = get(&l, "aws_eks_node_group.lit");
    assert!(lit.body["unknown"]["availabilityZones"]
        .as_str()
        .unwrap()
        .contains("subnet-0a"));
    assert_eq!(
        lit.body["subnetIds"],
        json!(["subnet-0a", "subnet-0b", "subnet-0c"])
    );
    assert!(
        get(&l, "aws_eks_node_group.noaz").body["unknown"]["availabilityZones"]
            .as_str()
            .unwrap()
            .contains("aws_subnet.noaz")
    );
}

#[test]
fn data_source_zones_at_distinct_indices_are_distinct() {
    let (_d, l) = scan(&[(
        "main.tf",
        &(r#"
data "aws_availability_zones" "available" {}
locals {
  azs = slice(data.aws_availability_zones.available.names, 0, 3)
}
resource "aws_subnet" "p" {
  count             = 3
  cidr_block        = cidrsubnet("10.0.0.0/16", 4, count.index)
  availability_zone = local.azs[count.index]
}
"#
        .to_string()
            + &node_group("ng", "aws_subnet.p[*].id")),
    )]);
    let ng = get(&l, "aws_eks_node_group.ng");
    assert_eq!(
        ng.body["availabilityZones"].as_array().map(Vec::len),
        Some(3)
    );
}

#[test]
fn count_for_each_and_dynamic_blocks_expand() {
    let text = r#"
variable "repos" {
  default = {
    user  = { scan = true }
    posts = { scan = false }
  }
}

resource "aws_ecr_repository" "svc" {
  for_each = var.repos
  name     = each.key
  image_scanning_configuration {
    scan_on_push = each.value.scan
  }
}

resource "aws_ecr_repository" "n" {
  count = 2
  name  = "n-${count.index}"
}

resource "aws_ecr_repository" "none" {
  count = 0
  name  = "none"
}

resource "aws_cloudfront_distribution" "cdn" {
  dynamic "ordered_cache_behavior" {
    for_each = ["/api/*", "/static/*"]
    content {
      path_pattern           = ordered_cache_behavior.value
      viewer_protocol_policy = ordered_cache_behavior.key == 0 ? "https-only" : "allow-all"
    }
  }
  default_cache_behavior {
    viewer_protocol_policy = "redirect-to-https"
  }
}
"#;
    let (_d, l) = scan(&[("main.tf", text)]);
    assert_eq!(
        get(&l, "aws_ecr_repository.svc[\"user\"]").body["scanOnPush"],
        json!(true)
    );
    let posts = get(&l, "aws_ecr_repository.svc[\"posts\"]");
    assert_eq!(posts.body["scanOnPush"], json!(false));
    // each.value comes from the variable default, but the field points at the attribute.
    assert_eq!(
        line_of(posts, &["scanOnPush"]),
        line(text, "scan_on_push = each.value.scan")
    );
    assert_eq!(
        get(&l, "aws_ecr_repository.n[1]").body["repositoryName"],
        json!("n-1")
    );
    assert!(l
        .resources
        .iter()
        .all(|r| !r.name.starts_with("aws_ecr_repository.none")));
    let cdn = get(&l, "aws_cloudfront_distribution.cdn");
    assert_eq!(
        cdn.body["orderedCacheBehaviors"],
        json!([
            {"pathPattern": "/api/*", "viewerProtocolPolicy": "https-only"},
            {"pathPattern": "/static/*", "viewerProtocolPolicy": "allow-all"}
        ])
    );
    assert_eq!(
        line_of(cdn, &["orderedCacheBehaviors", "1", "viewerProtocolPolicy"]),
        line(text, "viewer_protocol_policy = ordered_cache_behavior.key")
    );
}

#[test]
fn local_modules_take_their_inputs_and_point_at_the_call() {
    let dir = tree(&[
        (
            "envs/prod/main.tf",
            r#"
module "ecr_user" {
  source       = "../../modules/ecr"
  name         = "user"
  scan_on_push = false
}

module "ecr_posts" {
  source = "../../modules/ecr"
  name   = "posts"
}

module "net" {
  source = "../../modules/net"
  azs    = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
}

resource "aws_eks_node_group" "ng" {
  cluster_name = "c"
  subnet_ids   = module.net.subnet_ids
  scaling_config {
    min_size     = 3
    max_size     = 6
    desired_size = 3
  }
}
"#,
        ),
        (
            "modules/ecr/main.tf",
            r#"
variable "name" {}
variable "scan_on_push" {
  default = true
}
resource "aws_ecr_repository" "this" {
  name                 = var.name
  image_tag_mutability = "MUTABLE"
  image_scanning_configuration {
    scan_on_push = var.scan_on_push
  }
}
"#,
        ),
        (
            "modules/net/main.tf",
            r#"
variable "azs" {}
resource "aws_subnet" "s" {
  for_each          = toset(var.azs)
  cidr_block        = "10.0.0.0/24"
  availability_zone = each.key
}
output "subnet_ids" {
  value = [for s in aws_subnet.s : s.id]
}
"#,
        ),
    ]);
    // Both directories are scanned; the modules are reached through the calls only.
    let l = scan_dirs(
        dir.path(),
        &["envs/prod", "modules/ecr", "modules/net"],
        &TerraformOptions::default(),
    );
    let user = get(&l, "module.ecr_user.aws_ecr_repository.this");
    assert_eq!(user.body["scanOnPush"], json!(false));
    assert_eq!(user.body["repositoryName"], json!("user"));
    assert_eq!(file_of(user), "envs/prod/main.tf");
    assert_eq!(line_of(user, &["scanOnPush"]), 5);
    // A field the module sets points at the module call in that file.
    assert_eq!(line_of(user, &["tagMutability"]), 2);
    let posts = get(&l, "module.ecr_posts.aws_ecr_repository.this");
    assert_eq!(posts.body["scanOnPush"], json!(true));
    assert_eq!(file_of(posts), "envs/prod/main.tf");
    assert_eq!(
        l.resources
            .iter()
            .filter(|r| r.kind == "aws:EcrRepository")
            .count(),
        2,
        "the module directory is not a root of its own"
    );
    let ng = get(&l, "aws_eks_node_group.ng");
    assert_eq!(
        ng.body["availabilityZones"],
        json!(["eu-west-1a", "eu-west-1b", "eu-west-1c"])
    );
    assert_eq!(
        ng.body["subnetIds"][0],
        json!("module.net.aws_subnet.s[\"eu-west-1a\"].id")
    );
    // A resource whose fields all come from the module points at the module's file.
    let sub = get(&l, "module.net.aws_subnet.s[\"eu-west-1a\"]");
    assert_eq!(file_of(sub), "modules/net/main.tf");
}

#[test]
fn registry_eks_and_vpc_modules_are_read_by_their_inputs() {
    let text = r#"
module "vpc" {
  source          = "terraform-aws-modules/vpc/aws"
  azs             = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  private_subnets = ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]
}

module "eks" {
  source     = "terraform-aws-modules/eks/aws"
  version    = "~> 20.0"
  cluster_name = "blog"
  subnet_ids = module.vpc.private_subnets

  eks_managed_node_group_defaults = {
    max_size = 9
  }

  eks_managed_node_groups = {
    default = {
      min_size = 3
    }
    # blogaudit:ignore BA201 batch nodes are fine in one zone until=2999-01-01
    single = {
      subnet_ids = [module.vpc.private_subnets[0]]
      tags = {
        "k8s.io/cluster-autoscaler/enabled" = "true"
      }
    }
  }
}
"#;
    let (_d, l) = scan(&[("main.tf", text)]);
    let cluster = get(&l, "module.eks.aws_eks_cluster.this[0]");
    assert_eq!(cluster.body["endpointPublicAccess"], json!(false));
    assert_eq!(
        cluster.body["enabledLogTypes"],
        json!(["audit", "api", "authenticator"])
    );
    assert_eq!(
        cluster.body["encryption"],
        json!([{"resources": ["secrets"], "keyArn": "module.eks.module.kms.aws_kms_key.this[0].arn"}])
    );
    let ng = get(
        &l,
        "module.eks.module.eks_managed_node_group[\"default\"].aws_eks_node_group.this[0]",
    );
    assert_eq!(
        ng.body["availabilityZones"],
        json!(["eu-west-1a", "eu-west-1b", "eu-west-1c"])
    );
    assert_eq!(
        ng.body["scaling"],
        json!({"min": 3, "max": 9, "desired": 1})
    );
    assert_eq!(ng.body["autoscaler"], json!(false));
    assert_eq!(line_of(ng, &["scaling", "min"]), line(text, "min_size = 3"));
    assert_eq!(line_of(ng, &["scaling", "max"]), line(text, "max_size = 9"));
    assert_eq!(
        line_of(ng, &["subnetIds"]),
        line(text, "subnet_ids = module.vpc")
    );
    let single = get(
        &l,
        "module.eks.module.eks_managed_node_group[\"single\"].aws_eks_node_group.this[0]",
    );
    assert_eq!(single.body["availabilityZones"], json!(["eu-west-1a"]));
    assert_eq!(single.body["autoscaler"], json!(true));
    assert_eq!(
        line_of(single, &["availabilityZones"]),
        line(text, "subnet_ids = [module")
    );
    assert_eq!(
        single
            .ignores
            .iter()
            .map(|i| i.entry.as_str())
            .collect::<Vec<_>>(),
        ["BA201: batch nodes are fine in one zone until=2999-01-01"]
    );
    assert_eq!(
        get(&l, "module.vpc.aws_subnet.private[1]").body["availabilityZone"],
        json!("eu-west-1b")
    );
}

#[test]
fn ecr_policies_registry_scanning_and_suppressions() {
    let (_d, l) = scan(&[(
        "ecr.tf",
        r#"
# blogaudit:ignore BA211 tags are rewritten by the release job until=2999-12-31
resource "aws_ecr_repository" "user" {
  name = "blog/user"
}

resource "aws_ecr_repository_policy" "user" {
  repository = aws_ecr_repository.user.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "Public"
      Effect    = "Allow"
      Principal = "*"
      Action    = ["ecr:BatchGetImage"]
    }]
  })
}

data "aws_iam_policy_document" "pull" {
  statement {
    actions = ["ecr:BatchGetImage"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::1:root"]
    }
  }
}

resource "aws_ecr_repository" "posts" {
  name = "blog/posts"
}

resource "aws_ecr_repository_policy" "posts" {
  repository = aws_ecr_repository.posts.id
  policy     = data.aws_iam_policy_document.pull.json
}

resource "aws_ecr_registry_scanning_configuration" "this" {
  scan_type = "ENHANCED"
  rule {
    scan_frequency = "CONTINUOUS_SCAN"
    repository_filter {
      filter      = "blog-*"
      filter_type = "WILDCARD"
    }
  }
}
"#,
    )]);
    let user = get(&l, "aws_ecr_repository.user");
    assert_eq!(user.body["policy"]["Statement"][0]["Principal"], json!("*"));
    assert_eq!(
        line_of(user, &["policy", "Statement", "0", "Principal"]),
        14
    );
    assert_eq!(
        user.ignores
            .iter()
            .map(|i| i.entry.as_str())
            .collect::<Vec<_>>(),
        ["BA211: tags are rewritten by the release job until=2999-12-31"]
    );
    assert_eq!(user.ignores[0].span.start.line, 2);
    let posts = get(&l, "aws_ecr_repository.posts");
    assert_eq!(
        posts.body["policy"]["Statement"][0]["Principal"],
        json!({"AWS": "arn:aws:iam::1:root"})
    );
    assert_eq!(
        posts.body["policy"]["Statement"][0]["Action"],
        json!("ecr:BatchGetImage")
    );
    let reg = get(&l, "aws_ecr_registry_scanning_configuration.this");
    assert_eq!(reg.kind, "aws:EcrRegistryScanning");
    assert_eq!(
        reg.body["rules"],
        json!([{"scanFrequency": "CONTINUOUS_SCAN", "filters": [{"filter": "blog-*", "filterType": "WILDCARD"}]}])
    );
    assert_eq!(reg.body["scanType"], json!("ENHANCED"));
}

#[test]
fn s3_cloudfront_and_edge_resources_join() {
    let (_d, l) = scan(&[(
        "edge.tf",
        r#"
resource "aws_s3_bucket" "site" {
  bucket = "blog-site"
}

resource "aws_s3_bucket_public_access_block" "site" {
  bucket                  = aws_s3_bucket.site.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = false
}

resource "aws_cloudfront_distribution" "cdn" {
  origin {
    origin_id                = "s3"
    domain_name              = aws_s3_bucket.site.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.oac.id
  }
  origin {
    origin_id   = "literal"
    domain_name = "blog-site.s3.eu-west-1.amazonaws.com"
  }
  default_cache_behavior {
    viewer_protocol_policy = "redirect-to-https"
  }
  viewer_certificate {
    cloudfront_default_certificate = true
  }
}

resource "aws_lb" "alb" {
  internal = true
}

resource "aws_cloudfront_origin_access_control" "oac" {
  name = "oac"
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.alb.arn
  port              = 80
  default_action {
    type = "redirect"
    redirect {
      protocol = "HTTPS"
    }
  }
}

resource "aws_apigatewayv2_domain_name" "api" {
  domain_name = "api.example.com"
  domain_name_configuration {
    security_policy = "TLS_1_2"
    endpoint_type   = "REGIONAL"
  }
}

resource "aws_api_gateway_domain_name" "legacy" {
  domain_name = "legacy.example.com"
}
"#,
    )]);
    let bucket = get(&l, "aws_s3_bucket.site");
    assert_eq!(
        bucket.body["publicAccessBlock"]["restrictPublicBuckets"],
        json!(false)
    );
    assert_eq!(
        line_of(bucket, &["publicAccessBlock", "restrictPublicBuckets"]),
        11
    );
    let cdn = get(&l, "aws_cloudfront_distribution.cdn");
    assert_eq!(
        cdn.body["origins"][0]["s3Bucket"],
        json!("aws_s3_bucket.site")
    );
    assert_eq!(
        cdn.body["origins"][1]["s3Bucket"],
        json!("aws_s3_bucket.site")
    );
    assert_eq!(
        cdn.body["origins"][0]["originAccessControlId"],
        json!("aws_cloudfront_origin_access_control.oac.id")
    );
    assert_eq!(cdn.body["origins"][1]["originAccessControlId"], Value::Null);
    assert_eq!(
        cdn.body["viewerCertificate"]["cloudfrontDefaultCertificate"],
        json!(true)
    );
    let http = get(&l, "aws_lb_listener.http");
    assert_eq!(http.body["protocol"], json!("HTTP"));
    assert_eq!(http.body["internal"], json!(true));
    assert_eq!(
        http.body["defaultActions"],
        json!([{"type": "redirect", "redirect": {"protocol": "HTTPS"}}])
    );
    assert_eq!(
        get(&l, "aws_apigatewayv2_domain_name.api").body["securityPolicy"],
        json!("TLS_1_2")
    );
    let legacy = get(&l, "aws_api_gateway_domain_name.legacy");
    assert!(legacy.body.get("securityPolicy").is_none());
    assert_eq!(legacy.body["endpointType"], json!("EDGE"));
}

#[test]
fn autoscaler_is_found_from_helm_releases() {
    let (_d, l) = scan(&[(
        "main.tf",
        &(node_group("ng", "[\"subnet-1\"]")
            + r#"
resource "helm_release" "ca" {
  name       = "autoscaler"
  repository = "https://kubernetes.github.io/autoscaler"
  chart      = "cluster-autoscaler"
}
"#),
    )]);
    assert_eq!(
        get(&l, "aws_eks_node_group.ng").body["autoscaler"],
        json!(true)
    );
}

#[test]
fn bad_input_gives_diagnostics_not_panics() {
    let dir = tree(&[
        (
            "good.tf",
            "resource \"aws_ecr_repository\" \"ok\" {\n  name = \"ok\"\n}\n",
        ),
        (
            "bad.tf",
            "resource \"aws_ecr_repository\" \"bad\" {\n  name = \n}\n",
        ),
        (
            "cycle.tf",
            r#"
locals {
  a = local.b
  b = local.a
}
resource "aws_ecr_repository" "cyc" {
  name = local.a
}
module "gone" {
  source = "./nowhere"
}
module "remote" {
  source = "cloudposse/ecr/aws"
}
module "self" {
  source = "./"
}
resource "aws_ecr_repository" "weird" {
  name  = lower(module.remote.repository_name)
  count = var.undeclared
  image_scanning_configuration {
    scan_on_push = 1 / 0
  }
}
"#,
        ),
    ]);
    let l = scan_dirs(dir.path(), &["."], &TerraformOptions::default());
    let syntax: Vec<_> = l
        .diagnostics
        .iter()
        .filter(|d| d.code == "terraform-syntax")
        .collect();
    assert_eq!(syntax.len(), 1);
    assert_eq!(syntax[0].file.as_deref(), Some("bad.tf"));
    assert_eq!(syntax[0].pos.map(|p| p.line), Some(2));
    assert_eq!(syntax[0].level, Level::Error);
    assert!(l
        .resources
        .iter()
        .any(|r| r.name == "aws_ecr_repository.ok"));
    let cyc = get(&l, "aws_ecr_repository.cyc");
    assert!(cyc.body["unknown"]["repositoryName"].is_string());
    let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.one_line()).collect();
    let has = |code: &str, text: &str| {
        l.diagnostics
            .iter()
            .any(|d| d.code == code && d.message.contains(text))
    };
    assert!(has("terraform-unknown", "reference cycle"), "{msgs:#?}");
    assert!(has("terraform-module", "not found"), "{msgs:#?}");
    assert!(has("terraform-module", "cloudposse/ecr/aws"), "{msgs:#?}");
    assert!(has("terraform-module", "calls itself"), "{msgs:#?}");
    let weird = get(&l, "aws_ecr_repository.weird");
    assert!(weird.body["unknown"]["scanOnPush"].is_string());
    assert!(weird.body["unknown"]["repositoryName"].is_string());
    // A missing local module means the stack cannot be checked whole: an error.
    assert!(l.diagnostics.iter().all(|d| d.level != Level::Error
        || d.code == "terraform-syntax"
        || (d.code == "terraform-module" && d.message.contains("not found"))));
}

#[test]
fn a_lone_file_is_its_own_root() {
    let dir = tree(&[
        (
            "fixtures/pass.tf",
            "resource \"aws_ecr_repository\" \"p\" {\n  name = \"p\"\n}\n",
        ),
        (
            "fixtures/fail.tf",
            "resource \"aws_ecr_repository\" \"f\" {\n  name = \"f\"\n}\n",
        ),
    ]);
    let inputs = Inputs {
        files: vec![dir.path().join("fixtures/fail.tf")],
        ..Inputs::default()
    };
    let l = load(&inputs, dir.path(), &TerraformOptions::default());
    assert_eq!(l.resources.len(), 1);
    assert_eq!(l.resources[0].name, "aws_ecr_repository.f");
}

const PLAN: &str = r#"{
  "format_version": "1.2",
  "terraform_version": "1.9.0",
  "planned_values": {
    "root_module": {
      "resources": [
        {
          "address": "aws_ecr_repository.api",
          "mode": "managed",
          "type": "aws_ecr_repository",
          "name": "api",
          "values": {
            "name": "blog/api",
            "image_tag_mutability": "MUTABLE",
            "image_scanning_configuration": [{"scan_on_push": false}]
          }
        },
        {
          "address": "aws_subnet.a",
          "mode": "managed",
          "type": "aws_subnet",
          "name": "a",
          "values": {"availability_zone": "eu-west-1a", "cidr_block": "10.0.0.0/24"}
        },
        {
          "address": "aws_subnet.b",
          "mode": "managed",
          "type": "aws_subnet",
          "name": "b",
          "values": {"availability_zone": "eu-west-1a", "cidr_block": "10.0.1.0/24"}
        },
        {
          "address": "aws_eks_node_group.ng",
          "mode": "managed",
          "type": "aws_eks_node_group",
          "name": "ng",
          "values": {
            "cluster_name": "blog",
            "scaling_config": [{"min_size": 3, "max_size": 6, "desired_size": 3}]
          }
        }
      ]
    }
  },
  "resource_changes": [
    {
      "address": "aws_eks_node_group.ng",
      "type": "aws_eks_node_group",
      "change": {"actions": ["create"], "after_unknown": {"id": true, "subnet_ids": true}}
    }
  ],
  "configuration": {
    "root_module": {
      "resources": [
        {
          "address": "aws_eks_node_group.ng",
          "type": "aws_eks_node_group",
          "name": "ng",
          "expressions": {
            "subnet_ids": {"references": ["aws_subnet.a.id", "aws_subnet.a", "aws_subnet.b.id", "aws_subnet.b"]}
          }
        }
      ]
    }
  }
}
"#;

#[test]
fn plan_json_maps_to_the_same_shapes_and_points_into_the_plan() {
    let dir = tree(&[("plans/plan.json", PLAN)]);
    let inputs = Inputs {
        plans: vec![dir.path().join("plans/plan.json")],
        ..Inputs::default()
    };
    let l = load(&inputs, dir.path(), &TerraformOptions::default());
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let api = get(&l, "aws_ecr_repository.api");
    assert_eq!(api.body["scanOnPush"], json!(false));
    assert_eq!(file_of(api), "plans/plan.json");
    assert_eq!(line_of(api, &["scanOnPush"]), 15);
    let ng = get(&l, "aws_eks_node_group.ng");
    assert_eq!(
        ng.body["subnetIds"],
        json!(["aws_subnet.a.id", "aws_subnet.b.id"])
    );
    assert_eq!(ng.body["availabilityZones"], json!(["eu-west-1a"]));
    assert_eq!(
        ng.body["scaling"],
        json!({"min": 3, "max": 6, "desired": 3})
    );
}

#[test]
fn plan_next_to_its_source_points_at_the_source() {
    let src = r#"
resource "aws_subnet" "a" {
  availability_zone = "eu-west-1a"
}
resource "aws_subnet" "b" {
  availability_zone = "eu-west-1a"
}
resource "aws_ecr_repository" "api" {
  name = "blog/api"
  image_scanning_configuration {
    scan_on_push = var.scan
  }
}
variable "scan" {}
resource "aws_eks_node_group" "ng" {
  cluster_name = "blog"
  subnet_ids   = [aws_subnet.a.id, aws_subnet.b.id]
  scaling_config {
    min_size     = 3
    max_size     = 6
    desired_size = 3
  }
}
"#;
    let dir = tree(&[("stack/main.tf", src), ("stack/plan.json", PLAN)]);
    // Scanning the directory finds both: the plan is the evidence, the source gives lines.
    let inputs = Inputs {
        dirs: vec![dir.path().join("stack")],
        plans: vec![dir.path().join("stack/plan.json")],
        ..Inputs::default()
    };
    let l = load(&inputs, dir.path(), &TerraformOptions::default());
    assert_eq!(
        l.resources
            .iter()
            .filter(|r| r.name == "aws_ecr_repository.api")
            .count(),
        1
    );
    let api = get(&l, "aws_ecr_repository.api");
    assert_eq!(
        api.body["scanOnPush"],
        json!(false),
        "the plan knows var.scan"
    );
    assert_eq!(file_of(api), "stack/main.tf");
    assert_eq!(line_of(api, &["scanOnPush"]), 11);
    let ng = get(&l, "aws_eks_node_group.ng");
    assert_eq!(ng.body["availabilityZones"], json!(["eu-west-1a"]));
    assert_eq!(line_of(ng, &["availabilityZones"]), 17);
    assert!(
        l.diagnostics.iter().all(|d| d.code != "terraform-unknown"),
        "{:?}",
        l.diagnostics
    );
}

#[test]
fn bad_plans_are_diagnosed() {
    let dir = tree(&[
        (
            "broken.json",
            "{\"format_version\": \"1.2\", \"planned_values\": {\n  \"root_module\": [\n",
        ),
        (
            "noplan.json",
            "{\"format_version\": \"1.2\", \"planned_values\": 3}\n",
        ),
    ]);
    let inputs = Inputs {
        plans: vec![
            dir.path().join("broken.json"),
            dir.path().join("noplan.json"),
        ],
        ..Inputs::default()
    };
    let l = load(&inputs, dir.path(), &TerraformOptions::default());
    assert!(l.resources.is_empty());
    let codes: Vec<_> = l
        .diagnostics
        .iter()
        .map(|d| (d.code, d.file.clone()))
        .collect();
    assert_eq!(codes.len(), 2, "{codes:?}");
    assert!(codes.iter().all(|(c, _)| *c == "terraform-plan"));
}

#[test]
fn var_arguments_are_split() {
    assert_eq!(parse_var("a=b=c").unwrap(), ("a".into(), "b=c".into()));
    assert!(parse_var("novalue").is_err());
    assert!(parse_var("=x").is_err());
}

#[test]
fn long_reference_chains_stop_without_overflowing() {
    let mut text = String::from("locals {\n");
    for i in 0..3000 {
        text.push_str(&format!("  l{i} = local.l{}\n", i + 1));
    }
    text.push_str(
        "  l3000 = \"x\"\n}\nresource \"aws_ecr_repository\" \"r\" {\n  name = local.l0\n}\n",
    );
    let (_d, l) = scan(&[("main.tf", &text)]);
    let r = get(&l, "aws_ecr_repository.r");
    assert!(r.body["unknown"]["repositoryName"].is_string());
    // A short chain still resolves.
    let (_d, l) = scan(&[("main.tf", "locals {\n  a = local.b\n  b = local.c\n  c = \"blog\"\n}\nresource \"aws_ecr_repository\" \"r\" {\n  name = local.a\n}\n")]);
    assert_eq!(
        get(&l, "aws_ecr_repository.r").body["repositoryName"],
        json!("blog")
    );
}

#[test]
fn a_scanned_directory_named_only_by_a_non_module_source_is_still_a_root() {
    let dir = tree(&[
        (
            "a/main.tf",
            "resource \"aws_s3_object\" \"o\" {\n  source = \"../b\"\n}\n",
        ),
        (
            "b/main.tf",
            "resource \"aws_ecr_repository\" \"b\" {\n  name = \"b\"\n}\n",
        ),
    ]);
    let l = scan_dirs(dir.path(), &["a", "b"], &TerraformOptions::default());
    assert_eq!(
        get(&l, "aws_ecr_repository.b").body["repositoryName"],
        json!("b")
    );
}

#[test]
fn module_directories_outside_the_scan_are_read_once() {
    let dir = tree(&[
        (
            "envs/dev/main.tf",
            "module \"ecr\" {\n  source = \"../../modules/ecr\"\n}\n",
        ),
        (
            "envs/prod/main.tf",
            "module \"ecr\" {\n  source = \"../../modules/ecr\"\n}\n",
        ),
        (
            "modules/ecr/main.tf",
            "resource \"aws_ecr_repository\" \"this\" {\n  name = \"x\"\n}\n",
        ),
    ]);
    let l = scan_dirs(
        dir.path(),
        &["envs/dev", "envs/prod"],
        &TerraformOptions::default(),
    );
    let repos: Vec<_> = l
        .resources
        .iter()
        .filter(|r| r.kind == "aws:EcrRepository")
        .collect();
    assert_eq!(repos.len(), 2);
    assert!(repos
        .iter()
        .all(|r| r.name == "module.ecr.aws_ecr_repository.this"));
    let module_files = l
        .files
        .iter()
        .filter(|f| f.path == "modules/ecr/main.tf")
        .count();
    assert_eq!(module_files, 1);
    assert_eq!(repos[0].body["stack"], json!("envs/dev"));
}

#[test]
fn unknown_count_checks_one_instance_and_module_instances_are_addressed() {
    let dir = tree(&[
        (
            "main.tf",
            r#"
variable "n" {
  type = number
}

resource "aws_ecr_repository" "many" {
  count = var.n
  name  = "many"
  image_tag_mutability = "MUTABLE"
}

# blogaudit:ignore BA211 module repos are rebuilt nightly
module "repo" {
  count  = 2
  source = "./mod"
  name   = "r${count.index}"
}

resource "aws_ecr_repository" "copy" {
  name = "${module.repo[1].name}-copy"
}
"#,
        ),
        (
            "mod/main.tf",
            "variable \"name\" {}\nresource \"aws_ecr_repository\" \"this\" {\n  name = var.name\n}\noutput \"name\" {\n  value = aws_ecr_repository.this.name\n}\n",
        ),
    ]);
    let l = scan_dirs(dir.path(), &["."], &TerraformOptions::default());
    let many = get(&l, "aws_ecr_repository.many");
    assert_eq!(many.body["tagMutability"], json!("MUTABLE"));
    assert!(l
        .diagnostics
        .iter()
        .any(|d| d.code == "terraform-unknown" && d.message.contains("count cannot be known")));
    let r1 = get(&l, "module.repo[1].aws_ecr_repository.this");
    assert_eq!(r1.body["repositoryName"], json!("r1"));
    assert_eq!(
        r1.ignores
            .iter()
            .map(|i| i.entry.as_str())
            .collect::<Vec<_>>(),
        ["BA211: module repos are rebuilt nightly"]
    );
    assert_eq!(
        get(&l, "aws_ecr_repository.copy").body["repositoryName"],
        json!("r1-copy")
    );
}

#[test]
fn functions_and_expressions_evaluate_like_terraform() {
    let (_d, l) = scan(&[(
        "main.tf",
        r#"
locals {
  cidrs   = [for i in range(3) : cidrsubnet("10.0.0.0/16", 8, i)]
  byname  = { for s in ["a", "b"] : s => upper(s) }
  grouped = { for s in ["x1", "x2", "y1"] : substr(s, 0, 1) => s... }
  picked  = lookup(merge({ a = "1" }, { b = "2" }), "b", "none")
  flags   = try(local.missing.attr, "fallback")
  tpl     = "%{ for c in local.cidrs }${c};%{ endfor }"
  cond    = length(local.cidrs) > 2 && contains(keys(local.byname), "a") ? "yes" : "no"
}

resource "aws_ecr_repository" "r" {
  name = join("|", [local.cidrs[2], local.byname["b"], length(local.grouped["x"]), local.picked, local.flags, local.cond])
}

resource "aws_ecr_repository" "t" {
  name = local.tpl
}
"#,
    )]);
    assert_eq!(
        get(&l, "aws_ecr_repository.r").body["repositoryName"],
        json!("10.0.2.0/24|B|2|2|fallback|yes")
    );
    assert_eq!(
        get(&l, "aws_ecr_repository.t").body["repositoryName"],
        json!("10.0.0.0/24;10.0.1.0/24;10.0.2.0/24;")
    );
}
