//! Finding the cluster, the way `aws eks update-kubeconfig` followed by kubectl does:
//!
//! 1. `--in-cluster`: the pod's service account.
//! 2. `--context` or `--kubeconfig`: that kubeconfig (the flag wins over `KUBECONFIG`), with
//!    exec plugins and every auth kubeconfig supports.
//! 3. `--cluster NAME`: EKS `DescribeCluster` in the region for the endpoint and CA, and a
//!    token from [`super::token`]; when NAME is no EKS cluster there (or AWS is not
//!    configured), the kubeconfig context NAME.
//! 4. Nothing: the kubeconfig's current context.

use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

use super::aws::{self, Context};
use super::{LiveError, Options, Target};

/// A client and what it points at.
pub struct Connection {
    pub client: kube::Client,
    pub target: Target,
}

/// Whether `--cluster` should be looked up in EKS first.
#[must_use]
pub fn eks_wanted(opts: &Options) -> bool {
    opts.cluster.is_some()
        && opts.context.is_none()
        && opts.kubeconfig.is_none()
        && !opts.in_cluster
}

/// Connects to the cluster `opts` names.
///
/// # Errors
/// When no cluster can be found or the configuration cannot be used.
pub async fn kubernetes(
    opts: &Options,
    aws_cx: Option<&Result<Context, LiveError>>,
) -> Result<Connection, LiveError> {
    if opts.in_cluster {
        let mut config = kube::Config::incluster().map_err(|e| {
            LiveError::Kubeconfig(format!(
                "--in-cluster: not running in a pod with a service account ({e})"
            ))
        })?;
        let server = config.cluster_url.to_string();
        set_timeouts(&mut config, opts);
        let client = client(config)?;
        return Ok(Connection {
            client,
            target: Target {
                cluster: opts.cluster.clone().unwrap_or_else(|| "in-cluster".into()),
                via: "in-cluster".into(),
                server: Some(server),
                ..Target::default()
            },
        });
    }
    if eks_wanted(opts) {
        let name = opts.cluster.clone().unwrap_or_default();
        let aws_reason = match aws_cx {
            Some(Ok(cx)) => match aws::describe_endpoint(cx, &name).await? {
                Some((endpoint, ca)) => return eks(opts, cx, &name, &endpoint, &ca).await,
                None => format!("the EKS API in {} has no such cluster", cx.region),
            },
            Some(Err(e)) => format!("EKS not asked: {e}"),
            None => "EKS not asked".into(),
        };
        // Not an EKS cluster: a kubeconfig context of that name?
        let kube_reason = match read_kubeconfig(opts) {
            Ok((kc, file)) if kc.contexts.iter().any(|c| c.name == name) => {
                return from_kubeconfig(opts, kc, file, Some(name)).await;
            }
            Ok((_, file)) => format!("the kubeconfig {file} has no such context"),
            Err(e) => e.to_string(),
        };
        let region = match aws_cx {
            Some(Ok(cx)) => cx.region.clone(),
            _ => opts.region.clone().unwrap_or_else(|| "the region".into()),
        };
        return Err(LiveError::ClusterNotFound(
            name,
            region,
            format!("{aws_reason}; {kube_reason}"),
        ));
    }
    let (kc, file) = read_kubeconfig(opts)?;
    let context = opts.context.clone().or_else(|| opts.cluster.clone());
    if let Some(c) = &context {
        if !kc.contexts.iter().any(|x| &x.name == c) {
            let known: Vec<&str> = kc.contexts.iter().map(|x| x.name.as_str()).collect();
            return Err(LiveError::Kubeconfig(format!(
                "no context `{c}` in {file} (it has: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    from_kubeconfig(opts, kc, file, context).await
}

/// The kubeconfig: `--kubeconfig`, else `KUBECONFIG` (its files merged), else
/// `~/.kube/config`; with the name of what was read.
fn read_kubeconfig(opts: &Options) -> Result<(Kubeconfig, String), LiveError> {
    if let Some(path) = &opts.kubeconfig {
        let shown = path.display().to_string();
        return Kubeconfig::read_from(path)
            .map(|k| (k, shown.clone()))
            .map_err(|e| {
                LiveError::Kubeconfig(format!("cannot read the kubeconfig {shown}: {e}"))
            });
    }
    let shown = std::env::var_os("KUBECONFIG")
        .map(|k| PathBuf::from(k).display().to_string())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".kube/config").display().to_string())
        })
        .unwrap_or_else(|| "~/.kube/config".into());
    Kubeconfig::read()
        .map(|k| (k, shown.clone()))
        .map_err(|e| LiveError::Kubeconfig(format!("cannot read the kubeconfig {shown}: {e}")))
}

async fn from_kubeconfig(
    opts: &Options,
    kc: Kubeconfig,
    file: String,
    context: Option<String>,
) -> Result<Connection, LiveError> {
    let used = context
        .clone()
        .or_else(|| kc.current_context.clone())
        .unwrap_or_default();
    let options = KubeConfigOptions {
        context,
        ..KubeConfigOptions::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(|e| {
            LiveError::Kubeconfig(format!("the kubeconfig {file}, context `{used}`: {e}"))
        })?;
    set_timeouts(&mut config, opts);
    let server = config.cluster_url.to_string();
    let client = client(config)?;
    Ok(Connection {
        client,
        target: Target {
            cluster: opts.cluster.clone().unwrap_or_else(|| used.clone()),
            via: "kubeconfig".into(),
            context: Some(used),
            kubeconfig: Some(file),
            server: Some(server.trim_end_matches('/').to_string()),
            region: None,
        },
    })
}

/// A client for an EKS cluster: its endpoint and CA, and a fresh token.
async fn eks(
    opts: &Options,
    cx: &Context,
    name: &str,
    endpoint: &str,
    ca: &str,
) -> Result<Connection, LiveError> {
    let token = aws::token(cx, name).await?;
    // The same structure `aws eks update-kubeconfig` writes, kept in memory.
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": name,
        "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": "blogaudit-eks"}}],
        "users": [{"name": "blogaudit-eks", "user": {"token": token}}],
    });
    let kc = Kubeconfig::from_yaml(&doc.to_string())
        .map_err(|e| LiveError::Kubeconfig(format!("the EKS endpoint of {name}: {e}")))?;
    let mut config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| LiveError::Kubeconfig(format!("the EKS endpoint of {name}: {e}")))?;
    set_timeouts(&mut config, opts);
    let client = client(config)?;
    Ok(Connection {
        client,
        target: Target {
            cluster: name.to_string(),
            via: "eks".into(),
            server: Some(endpoint.to_string()),
            region: Some(cx.region.clone()),
            ..Target::default()
        },
    })
}

fn set_timeouts(config: &mut kube::Config, opts: &Options) {
    config.connect_timeout = Some(opts.timeout);
    config.read_timeout = Some(opts.timeout);
    config.write_timeout = Some(opts.timeout);
}

fn client(config: kube::Config) -> Result<kube::Client, LiveError> {
    let server = config.cluster_url.to_string();
    kube::Client::try_from(config).map_err(|e| LiveError::Unreachable(server, e.to_string()))
}
