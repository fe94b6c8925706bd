//! AWS state of the cluster's account, in the canonical kinds of `rules/README.md` (the shapes
//! the Terraform loader produces), so BA201–BA222 run unchanged:
//!
//! | kind | calls |
//! |---|---|
//! | `aws:EksCluster` | `eks:DescribeCluster` |
//! | `aws:EksNodeGroup` | `eks:ListNodegroups`, `eks:DescribeNodegroup` |
//! | `aws:Subnet` | `ec2:DescribeSubnets` (one SigV4-signed EC2 Query call) |
//! | `aws:EcrRepository` | `ecr:DescribeRepositories`, `ecr:GetRepositoryPolicy` |
//! | `aws:EcrRegistryScanning` | `ecr:DescribeRegistry`, `ecr:GetRegistryScanningConfiguration` |
//!
//! The SDK calls are paginated and retried by the SDK's standard retry policy; the EC2 call
//! retries by itself. EKS and ECR are read concurrently. A denied or failing call is a
//! diagnostic naming the IAM permission; the rest goes on.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sdk_eks::error::ProvideErrorMetadata;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Map, Value};

use super::{LiveError, Options};
use crate::model::{Diagnostic, Origin, Resource};

/// The AWS side's configuration, loaded once.
pub struct Context {
    pub sdk: SdkConfig,
    pub region: String,
    pub eks: aws_sdk_eks::Client,
    pub ecr: aws_sdk_ecr::Client,
}

/// Loads the standard AWS configuration chain (environment, profile, SSO cache, web
/// identity, instance role) with `--region`/`--profile`, and checks that credentials exist.
///
/// # Errors
/// No region, or no credentials.
pub async fn context(opts: &Options) -> Result<Context, LiveError> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    if let Some(r) = &opts.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(opts.timeout)
        .connect_timeout(opts.timeout)
        .build();
    loader = loader.timeout_config(timeouts);
    let sdk = loader.load().await;
    let region = sdk
        .region()
        .map(ToString::to_string)
        .ok_or(LiveError::NoRegion)?;
    credentials(&sdk).await?;
    Ok(Context {
        eks: aws_sdk_eks::Client::new(&sdk),
        ecr: aws_sdk_ecr::Client::new(&sdk),
        sdk,
        region,
    })
}

async fn credentials(sdk: &SdkConfig) -> Result<Credentials, LiveError> {
    let Some(provider) = sdk.credentials_provider() else {
        return Err(LiveError::NoCredentials(
            "no credentials provider is configured".into(),
        ));
    };
    provider
        .provide_credentials()
        .await
        .map_err(|e| LiveError::NoCredentials(super::error_chain(&e)))
}

/// An SDK error: (code, message) when AWS answered, else the transport error.
fn sdk_error<E, R>(e: &aws_sdk_eks::error::SdkError<E, R>) -> (Option<String>, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = e.code().map(str::to_string);
    let message = e
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| super::error_chain(e));
    (code, message)
}

/// The endpoint and CA of EKS cluster `name`; `None` when the region has no such cluster.
///
/// # Errors
/// Any other failure (denied, unreachable): the run cannot go on.
pub async fn describe_endpoint(
    cx: &Context,
    name: &str,
) -> Result<Option<(String, String)>, LiveError> {
    match cx.eks.describe_cluster().name(name).send().await {
        Ok(out) => {
            let c = out.cluster();
            let endpoint = c.and_then(|c| c.endpoint()).unwrap_or_default();
            let ca = c
                .and_then(|c| c.certificate_authority())
                .and_then(|a| a.data())
                .unwrap_or_default();
            if endpoint.is_empty() {
                return Err(LiveError::Aws(format!(
                    "EKS cluster {name} has no endpoint yet (is it still being created?)"
                )));
            }
            Ok(Some((endpoint.to_string(), ca.to_string())))
        }
        Err(e) => {
            let (code, message) = sdk_error(&e);
            match code.as_deref() {
                Some("ResourceNotFoundException") => Ok(None),
                Some(c) => Err(LiveError::Aws(format!(
                    "eks:DescribeCluster {name}: {c}: {message}"
                ))),
                None => Err(LiveError::Aws(format!(
                    "eks:DescribeCluster {name}: {message}"
                ))),
            }
        }
    }
}

/// The bearer token for EKS cluster `name` (see [`super::token`]).
///
/// # Errors
/// No credentials, or a signing failure.
pub async fn token(cx: &Context, name: &str) -> Result<String, LiveError> {
    let creds = credentials(&cx.sdk).await?;
    super::token::eks_token(&creds, &cx.region, name, SystemTime::now())
        .map_err(|e| LiveError::Aws(format!("cannot sign the EKS token: {e}")))
}

fn aws_resource(
    kind: &str,
    name: &str,
    reference: String,
    mut body: Map<String, Value>,
) -> Resource {
    body.insert("kind".into(), Value::String(kind.into()));
    body.insert("name".into(), Value::String(name.into()));
    Resource {
        kind: kind.into(),
        namespace: String::new(),
        name: name.into(),
        body: Value::Object(body),
        origin: Origin::Object { reference },
        ignores: Vec::new(),
    }
}

/// A denied or failed call: which permission, what AWS said.
fn denied(permission: &str, target: &str, code: Option<&str>, message: &str) -> Diagnostic {
    let what = format!("{permission} on {target} failed");
    match code {
        Some(c) if c.contains("AccessDenied") || c.contains("UnauthorizedOperation") => {
            Diagnostic::error("live-aws-denied", format!("{what}: {c}: {message}")).help(format!(
                "allow `{permission}` to the auditing identity (README: live audit, IAM policy)"
            ))
        }
        Some(c) => Diagnostic::error("live-aws-error", format!("{what}: {c}: {message}"))
            .help("run again; if it persists, check the AWS service health"),
        None => Diagnostic::error("live-aws-error", format!("{what}: {message}"))
            .help("check the network path to AWS and --timeout"),
    }
}

/// Reads the AWS side: EKS cluster `cluster` (when there is one) and the account's ECR.
/// `autoscaler`: the cluster runs a node autoscaler.
pub async fn read(
    cx: &Context,
    cluster: Option<&str>,
    autoscaler: bool,
    opts: &Options,
) -> (Vec<Resource>, Vec<Diagnostic>) {
    let eks = async {
        match cluster {
            Some(c) => read_eks(cx, c, autoscaler, opts).await,
            None => (Vec::new(), Vec::new()),
        }
    };
    let (eks, ecr) = futures_util::future::join(eks, read_ecr(cx)).await;
    let mut resources = eks.0;
    resources.extend(ecr.0);
    let mut diags = eks.1;
    diags.extend(ecr.1);
    (resources, diags)
}

async fn read_eks(
    cx: &Context,
    cluster: &str,
    autoscaler: bool,
    opts: &Options,
) -> (Vec<Resource>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    let (described, groups) = futures_util::future::join(
        cx.eks.describe_cluster().name(cluster).send(),
        node_groups(cx, cluster),
    )
    .await;
    let mut subnet_ids: BTreeSet<String> = BTreeSet::new();
    match described {
        Ok(o) => {
            if let Some(c) = o.cluster() {
                let vpc = c.resources_vpc_config();
                let mut body = Map::new();
                body.insert(
                    "endpointPrivateAccess".into(),
                    json!(vpc.is_some_and(|v| v.endpoint_private_access())),
                );
                body.insert(
                    "endpointPublicAccess".into(),
                    json!(vpc.is_none_or(|v| v.endpoint_public_access())),
                );
                body.insert(
                    "publicAccessCidrs".into(),
                    json!(vpc
                        .map(|v| v.public_access_cidrs().to_vec())
                        .unwrap_or_default()),
                );
                let logs: Vec<String> = c
                    .logging()
                    .map(|l| l.cluster_logging())
                    .unwrap_or_default()
                    .iter()
                    .filter(|s| s.enabled() == Some(true))
                    .flat_map(|s| s.types().iter().map(|t| t.as_str().to_string()))
                    .collect();
                body.insert("enabledLogTypes".into(), json!(logs));
                // EKS also envelope-encrypts with its own key now; `resources` still says
                // whether a customer KMS key covers Secrets, which is what BA222 checks.
                #[allow(deprecated)]
                let encryption: Vec<Value> = c
                    .encryption_config()
                    .iter()
                    .map(|e| {
                        let mut m = Map::new();
                        m.insert("resources".into(), json!(e.resources()));
                        if let Some(k) = e.provider().and_then(|p| p.key_arn()) {
                            m.insert("keyArn".into(), json!(k));
                        }
                        Value::Object(m)
                    })
                    .collect();
                body.insert("encryption".into(), Value::Array(encryption));
                let subnets = vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default();
                subnet_ids.extend(subnets.iter().cloned());
                body.insert("subnetIds".into(), json!(subnets));
                let reference = format!(
                    "aws:EksCluster/{cluster} (aws eks describe-cluster --name {cluster} --region {})",
                    cx.region
                );
                out.push(aws_resource("aws:EksCluster", cluster, reference, body));
            }
        }
        Err(e) => {
            let (code, message) = sdk_error(&e);
            diags.push(denied(
                "eks:DescribeCluster",
                cluster,
                code.as_deref(),
                &message,
            ));
        }
    }
    let (groups, group_diags) = groups;
    diags.extend(group_diags);
    for g in &groups {
        subnet_ids.extend(g.subnets.iter().cloned());
    }
    let zones = if subnet_ids.is_empty() {
        Ok(BTreeMap::new())
    } else {
        describe_subnets(cx, &subnet_ids, opts).await
    };
    let zones = match zones {
        Ok(z) => {
            for (id, az) in &z {
                let mut body = Map::new();
                body.insert("id".into(), json!(id));
                body.insert("availabilityZone".into(), json!(az));
                let reference = format!(
                    "aws:Subnet/{id} (aws ec2 describe-subnets --subnet-ids {id} --region {})",
                    cx.region
                );
                out.push(aws_resource("aws:Subnet", id, reference, body));
            }
            Some(z)
        }
        Err(d) => {
            diags.push(d);
            None
        }
    };
    for g in groups {
        let mut body = Map::new();
        body.insert("cluster".into(), json!(cluster));
        body.insert("subnetIds".into(), json!(g.subnets));
        match &zones {
            Some(z) => {
                let azs: BTreeSet<&String> = g.subnets.iter().filter_map(|s| z.get(s)).collect();
                body.insert("availabilityZones".into(), json!(azs));
            }
            None => {
                body.insert(
                    "unknown".into(),
                    json!({"availabilityZones": "ec2:DescribeSubnets (failed)"}),
                );
            }
        }
        let mut scaling = Map::new();
        for (k, v) in [("min", g.min), ("max", g.max), ("desired", g.desired)] {
            if let Some(n) = v {
                scaling.insert(k.into(), json!(n));
            }
        }
        body.insert("scaling".into(), Value::Object(scaling));
        let tagged = g
            .tags
            .get(super::super::terraform::canonical::AUTOSCALER_TAG)
            .is_some_and(|v| v != "false");
        body.insert("tags".into(), json!(g.tags));
        body.insert("autoscaler".into(), json!(tagged || autoscaler));
        let reference = format!(
            "aws:EksNodeGroup/{} (aws eks describe-nodegroup --cluster-name {cluster} --nodegroup-name {} --region {})",
            g.name, g.name, cx.region
        );
        out.push(aws_resource("aws:EksNodeGroup", &g.name, reference, body));
    }
    (out, diags)
}

/// One node group as DescribeNodegroup gives it.
struct Group {
    name: String,
    subnets: Vec<String>,
    min: Option<i32>,
    max: Option<i32>,
    desired: Option<i32>,
    tags: BTreeMap<String, String>,
}

async fn node_groups(cx: &Context, cluster: &str) -> (Vec<Group>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let names: Vec<_> = cx
        .eks
        .list_nodegroups()
        .cluster_name(cluster)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    let mut ok = Vec::new();
    for n in names {
        match n {
            Ok(n) => ok.push(n),
            Err(e) => {
                let (code, message) = sdk_error(&e);
                diags.push(denied(
                    "eks:ListNodegroups",
                    cluster,
                    code.as_deref(),
                    &message,
                ));
                return (Vec::new(), diags);
            }
        }
    }
    let described: Vec<_> = stream::iter(ok)
        .map(|n| async move {
            let got = cx
                .eks
                .describe_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(&n)
                .send()
                .await;
            (n, got)
        })
        .buffered(4)
        .collect()
        .await;
    let mut out = Vec::new();
    for (n, got) in described {
        match got {
            Ok(o) => {
                let Some(g) = o.nodegroup() else { continue };
                let sc = g.scaling_config();
                out.push(Group {
                    name: n,
                    subnets: g.subnets().to_vec(),
                    min: sc.and_then(|s| s.min_size()),
                    max: sc.and_then(|s| s.max_size()),
                    desired: sc.and_then(|s| s.desired_size()),
                    tags: g
                        .tags()
                        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default(),
                });
            }
            Err(e) => {
                let (code, message) = sdk_error(&e);
                diags.push(denied(
                    "eks:DescribeNodegroup",
                    &format!("{cluster}/{n}"),
                    code.as_deref(),
                    &message,
                ));
            }
        }
    }
    (out, diags)
}

async fn read_ecr(cx: &Context) -> (Vec<Resource>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    let pages: Vec<_> = cx
        .ecr
        .describe_repositories()
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    let mut repos = Vec::new();
    for p in pages {
        match p {
            Ok(r) => repos.push(r),
            Err(e) => {
                let (code, message) = sdk_error(&e);
                diags.push(denied(
                    "ecr:DescribeRepositories",
                    "the registry",
                    code.as_deref(),
                    &message,
                ));
                break;
            }
        }
    }
    let policies: Vec<_> = stream::iter(repos)
        .map(|r| async move {
            let name = r.repository_name().unwrap_or_default().to_string();
            let got = cx
                .ecr
                .get_repository_policy()
                .repository_name(&name)
                .send()
                .await;
            (r, name, got)
        })
        .buffered(4)
        .collect()
        .await;
    for (r, name, got) in policies {
        let mut body = Map::new();
        body.insert("repositoryName".into(), json!(name));
        body.insert(
            "scanOnPush".into(),
            json!(r
                .image_scanning_configuration()
                .is_some_and(|s| s.scan_on_push())),
        );
        body.insert(
            "tagMutability".into(),
            json!(r.image_tag_mutability().map_or("MUTABLE", |m| m.as_str())),
        );
        match got {
            Ok(p) => {
                let doc = p.policy_text().map(serde_json::from_str::<Value>);
                match doc {
                    Some(Ok(doc)) => {
                        body.insert("policy".into(), doc);
                    }
                    Some(Err(e)) => {
                        body.insert(
                            "unknown".into(),
                            json!({"policy": format!("the repository policy is not JSON ({e})")}),
                        );
                    }
                    None => {
                        body.insert("policy".into(), Value::Null);
                    }
                }
            }
            Err(e) => {
                let (code, message) = sdk_error(&e);
                if code.as_deref() == Some("RepositoryPolicyNotFoundException") {
                    body.insert("policy".into(), Value::Null);
                } else {
                    body.insert(
                        "unknown".into(),
                        json!({"policy": "ecr:GetRepositoryPolicy (failed)"}),
                    );
                    diags.push(denied(
                        "ecr:GetRepositoryPolicy",
                        &name,
                        code.as_deref(),
                        &message,
                    ));
                }
            }
        }
        let reference = format!(
            "aws:EcrRepository/{name} (aws ecr describe-repositories --repository-names {name} --region {})",
            cx.region
        );
        out.push(aws_resource("aws:EcrRepository", &name, reference, body));
    }
    let (registry, scanning) = futures_util::future::join(
        cx.ecr.describe_registry().send(),
        cx.ecr.get_registry_scanning_configuration().send(),
    )
    .await;
    let registry_id = match registry {
        Ok(r) => r.registry_id().map(str::to_string),
        Err(e) => {
            let (code, message) = sdk_error(&e);
            diags.push(denied(
                "ecr:DescribeRegistry",
                "the registry",
                code.as_deref(),
                &message,
            ));
            None
        }
    };
    match scanning {
        Ok(s) => {
            let id = registry_id
                .or_else(|| s.registry_id().map(str::to_string))
                .unwrap_or_else(|| "registry".into());
            let conf = s.scanning_configuration();
            let mut body = Map::new();
            body.insert(
                "scanType".into(),
                json!(conf
                    .and_then(|c| c.scan_type())
                    .map_or("BASIC", |t| t.as_str())),
            );
            let rules: Vec<Value> = conf
                .map(|c| c.rules())
                .unwrap_or_default()
                .iter()
                .map(|r| {
                    let filters: Vec<Value> = r
                        .repository_filters()
                        .iter()
                        .map(|f| json!({"filter": f.filter(), "filterType": f.filter_type().as_str()}))
                        .collect();
                    json!({"scanFrequency": r.scan_frequency().as_str(), "filters": filters})
                })
                .collect();
            body.insert("rules".into(), Value::Array(rules));
            let reference = format!(
                "aws:EcrRegistryScanning/{id} (aws ecr get-registry-scanning-configuration --region {})",
                cx.region
            );
            out.push(aws_resource(
                "aws:EcrRegistryScanning",
                &id,
                reference,
                body,
            ));
        }
        Err(e) => {
            let (code, message) = sdk_error(&e);
            diags.push(denied(
                "ecr:GetRegistryScanningConfiguration",
                "the registry",
                code.as_deref(),
                &message,
            ));
        }
    }
    (out, diags)
}

/// The EC2 endpoint: `AWS_ENDPOINT_URL_EC2`, the configured endpoint URL, or the regional one.
fn ec2_endpoint(cx: &Context) -> String {
    std::env::var("AWS_ENDPOINT_URL_EC2")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| cx.sdk.endpoint_url().map(str::to_string))
        .unwrap_or_else(|| format!("https://ec2.{}.amazonaws.com", cx.region))
}

/// `ec2:DescribeSubnets` for `ids`: subnet → AZ. One signed EC2 Query call (no EC2 SDK: it
/// adds minutes to the build for one call), retried with backoff on throttling and 5xx.
async fn describe_subnets(
    cx: &Context,
    ids: &BTreeSet<String>,
    opts: &Options,
) -> Result<BTreeMap<String, String>, Diagnostic> {
    let fail = |code: Option<&str>, m: &str| {
        denied(
            "ec2:DescribeSubnets",
            &format!("{} subnets", ids.len()),
            code,
            m,
        )
    };
    let creds = credentials(&cx.sdk)
        .await
        .map_err(|e| fail(None, &e.to_string()))?;
    let mut body = String::from("Action=DescribeSubnets&Version=2016-11-15");
    for (i, id) in ids.iter().enumerate() {
        body.push_str(&format!(
            "&SubnetId.{}={}",
            i + 1,
            super::percent_encode(id)
        ));
    }
    let url = format!("{}/", ec2_endpoint(cx).trim_end_matches('/'));
    let mut delay = Duration::from_millis(200);
    for attempt in 1..=3 {
        let req =
            signed_post(&creds, &cx.region, "ec2", &url, &body).map_err(|e| fail(None, &e))?;
        let timeout = opts.timeout;
        let got = tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .http_status_as_error(false)
                .build()
                .into();
            let mut resp = agent.run(req).map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let text = resp
                .body_mut()
                .read_to_string()
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((status, text))
        })
        .await
        .map_err(|e| fail(None, &e.to_string()))?;
        match got {
            Ok((200, text)) => return Ok(parse_subnets(&text)),
            Ok((status, text)) => {
                let code = xml_text(&text, "Code");
                let retry = status >= 500
                    || code
                        .as_deref()
                        .is_some_and(|c| c.contains("Throttl") || c == "RequestLimitExceeded");
                if !retry || attempt == 3 {
                    let message =
                        xml_text(&text, "Message").unwrap_or_else(|| format!("HTTP {status}"));
                    return Err(fail(code.as_deref(), &message));
                }
            }
            Err(e) if attempt == 3 => return Err(fail(None, &e)),
            Err(_) => {}
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
    Err(fail(None, "no answer"))
}

/// A SigV4-signed form POST.
fn signed_post(
    creds: &Credentials,
    region: &str,
    service: &str,
    url: &str,
    body: &str,
) -> Result<http::Request<String>, String> {
    let identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let signable = SignableRequest::new(
        "POST",
        url,
        std::iter::once(("content-type", content_type)),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let mut req = http::Request::post(url)
        .header("content-type", content_type)
        .body(body.to_string())
        .map_err(|e| e.to_string())?;
    instructions.apply_to_request_http1x(&mut req);
    Ok(req)
}

/// The text of the first `<tag>` element.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].trim().to_string())
}

/// subnet id → AZ from a `DescribeSubnetsResponse`: each `<item>` directly under
/// `<subnetSet>` is one subnet (nested `<item>`s, in `tagSet` and the like, are skipped).
#[must_use]
pub fn parse_subnets(xml: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack: Vec<&str> = Vec::new();
    let mut current: (Option<String>, Option<String>) = (None, None);
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        let Some(gt) = rest[lt..].find('>') else {
            break;
        };
        let tag = &rest[lt + 1..lt + gt];
        rest = &rest[lt + gt + 1..];
        if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            // Closing: the text before it belongs to `name`.
            let depth = stack.len();
            let in_subnet =
                depth >= 3 && stack[depth - 2] == "item" && stack[depth - 3] == "subnetSet";
            if in_subnet && name == "subnetId" {
                current.0 = Some(text.trim().to_string());
            } else if in_subnet && name == "availabilityZone" {
                current.1 = Some(text.trim().to_string());
            }
            if name == "item" && depth >= 2 && stack[depth - 2] == "subnetSet" {
                if let (Some(id), Some(az)) = current.clone() {
                    out.insert(id, az);
                }
                current = (None, None);
            }
            stack.pop();
        } else {
            let name = tag.split_whitespace().next().unwrap_or(tag);
            stack.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_from_the_ec2_query_response_skipping_nested_items() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeSubnetsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>7a62c49f</requestId>
  <subnetSet>
    <item>
      <subnetId>subnet-a</subnetId>
      <availabilityZone>eu-west-1a</availabilityZone>
      <tagSet><item><key>availabilityZone</key><value>x</value></item></tagSet>
    </item>
    <item>
      <tagSet><item><key>Name</key><value>b</value></item></tagSet>
      <availabilityZone>eu-west-1b</availabilityZone>
      <subnetId>subnet-b</subnetId>
    </item>
  </subnetSet>
</DescribeSubnetsResponse>"#;
        let got = parse_subnets(xml);
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            vec![
                ("subnet-a".to_string(), "eu-west-1a".to_string()),
                ("subnet-b".to_string(), "eu-west-1b".to_string())
            ]
        );
    }
}
