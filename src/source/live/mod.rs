//! The live source: a running cluster and its AWS account, read into the same [`Resource`]s
//! the file sources produce, so that every rule runs unchanged on what actually runs.
//!
//! - [`connect`] finds the cluster: EKS `DescribeCluster` plus a bearer token made like
//!   `aws eks get-token` ([`token`]), a kubeconfig context, or the pod's service account.
//! - [`kubernetes`] discovers the served kinds and lists them page by page (read verbs only).
//! - [`reports`] writes the audit's PolicyReports back (`--apply-reports`).
//! - [`aws`] reads EKS, ECR and EC2 subnets into the canonical `aws:*` kinds of
//!   `rules/README.md` (the shapes the Terraform loader produces).
//!
//! Objects carry `Origin::Object` with a reference `Kind/namespace/name` and a command that
//! shows the object. Input problems are diagnostics; only a run that cannot start (no cluster,
//! no credentials) is an error.

pub mod aws;
pub mod connect;
pub mod kubernetes;
pub mod reports;
pub mod token;
pub mod watch;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::{Diagnostic, Resource};

/// Which side of the deployment a live run audits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Only {
    Kubernetes,
    Aws,
}

/// What a live run reads, and how it reaches it.
#[derive(Clone, Debug)]
pub struct Options {
    /// `--cluster NAME`: an EKS cluster in the region, else a kubeconfig context.
    pub cluster: Option<String>,
    /// `--context`: force this kubeconfig context.
    pub context: Option<String>,
    /// `--kubeconfig`: force this kubeconfig file (it wins over `KUBECONFIG`).
    pub kubeconfig: Option<PathBuf>,
    /// `--in-cluster`: the pod's service account.
    pub in_cluster: bool,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub only: Option<Only>,
    /// Each API call's time limit.
    pub timeout: Duration,
    /// `limit` of each list page.
    pub page_size: u32,
    /// The Kubernetes kinds to read: those the rules match or look up.
    pub kinds: BTreeSet<String>,
    /// Told how the run goes (for a progress display).
    pub progress: Option<Progress>,
}

/// A callback told a short status line as the run goes: the CLI shows it on a terminal.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(&str) + Send + Sync>);

impl Progress {
    /// Reports `status`.
    pub fn say(&self, status: &str) {
        (self.0)(status);
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            cluster: None,
            context: None,
            kubeconfig: None,
            in_cluster: false,
            region: None,
            profile: None,
            only: None,
            timeout: Duration::from_secs(30),
            page_size: 500,
            kinds: BTreeSet::new(),
            progress: None,
        }
    }
}

/// Kinds the rules read through `data.inventory` without matching them: a live run reads
/// them too (`tests/live.rs` checks every lookup in `rules/` is covered).
pub const LOOKUP_KINDS: &[&str] = &[
    "Namespace",
    "Node",
    "ClusterIssuer",
    "ReferenceGrant",
    "GatewayClass",
];

/// What was audited, for labels in every report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// The cluster name the report is labelled with (SARIF category `blogaudit/live/<it>`).
    pub cluster: String,
    /// How the cluster was reached: `eks`, `kubeconfig` or `in-cluster`; empty with
    /// `--only aws`.
    pub via: String,
    /// The kubeconfig context used, if any.
    pub context: Option<String>,
    /// The kubeconfig file used, if any.
    pub kubeconfig: Option<String>,
    /// The API server URL.
    pub server: Option<String>,
    /// The AWS region read, if any.
    pub region: Option<String>,
}

impl Target {
    /// One line for humans: `cluster prod (kubeconfig context prod in /x/config, https://…)`.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.via.is_empty() {
            parts.push(self.via.clone());
        }
        if let Some(c) = &self.context {
            parts.push(format!("context {c}"));
        }
        if let Some(k) = &self.kubeconfig {
            parts.push(format!("kubeconfig {k}"));
        }
        if let Some(s) = &self.server {
            parts.push(s.clone());
        }
        if let Some(r) = &self.region {
            parts.push(format!("region {r}"));
        }
        format!("cluster {} ({})", self.cluster, parts.join(", "))
    }
}

/// A live run's snapshot: resources and diagnostics, like [`crate::source::Loaded`] with no
/// files.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub target: Target,
    pub resources: Vec<Resource>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Why a live run could not start at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("no cluster named `{0}` in {1}: {2}")]
    ClusterNotFound(String, String, String),
    #[error("no AWS credentials: {0}")]
    NoCredentials(String),
    #[error("the AWS region is not set; pass --region or set AWS_REGION")]
    NoRegion,
    #[error("the API server rejected the credentials (401 Unauthorized){0}")]
    Unauthorized(String),
    #[error("{0}")]
    Kubeconfig(String),
    #[error("cannot reach the API server {0}: {1}")]
    Unreachable(String, String),
    #[error("the API server did not answer within {0:?} ({1})")]
    Timeout(Duration, String),
    #[error("AWS: {0}")]
    Aws(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
    #[error("nothing to audit: {0}")]
    Nothing(String),
}

impl LiveError {
    /// What the user can do about it.
    #[must_use]
    pub fn help(&self) -> &'static str {
        match self {
            Self::ClusterNotFound(..) => "check the name and --region (`aws eks list-clusters`), or `kubectl config get-contexts`",
            Self::NoCredentials(_) => "configure AWS credentials (AWS_PROFILE, `aws sso login`, environment variables or an instance role)",
            Self::NoRegion => "pass --region or set AWS_REGION",
            Self::Unauthorized(_) => "the token is missing or expired: refresh the credentials (`aws sso login`, a new kubeconfig) and run again",
            Self::Kubeconfig(_) => "pass --kubeconfig FILE and --context NAME, or --cluster NAME for an EKS cluster",
            Self::Unreachable(..) => "check the endpoint, the network path (VPN, private endpoint) and the cluster's CA",
            Self::Timeout(..) => "raise --timeout, or check the network path to the API server",
            Self::Aws(_) => "check the AWS credentials, region and permissions",
            Self::Runtime(_) => "this is a bug in blogaudit; please report it",
            Self::Nothing(_) => "drop --only, or give a cluster",
        }
    }
}

/// Reads the cluster and its AWS account.
///
/// # Errors
/// [`LiveError`] when the run cannot start: the cluster is not found, there are no
/// credentials, or the API server rejects or does not answer the first call.
pub fn load(opts: &Options) -> Result<Snapshot, LiveError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LiveError::Runtime(e.to_string()))?;
    rt.block_on(load_async(opts))
}

async fn load_async(opts: &Options) -> Result<Snapshot, LiveError> {
    let mut snap = Snapshot::default();
    let want_k8s = opts.only != Some(Only::Aws);
    let want_aws = opts.only != Some(Only::Kubernetes);
    let aws_cx = if want_aws || connect::eks_wanted(opts) {
        Some(aws::context(opts).await)
    } else {
        None
    };
    let mut kube_state = None;
    if want_k8s {
        let conn = connect::kubernetes(opts, aws_cx.as_ref()).await?;
        snap.target = conn.target.clone();
        let server = conn.target.server.clone().unwrap_or_default();
        let state = kubernetes::read(&conn.client, &server, opts, &mut snap.diagnostics).await?;
        kube_state = Some(state);
    } else {
        snap.target.cluster = opts
            .cluster
            .clone()
            .ok_or_else(|| LiveError::Nothing("--only aws needs --cluster NAME".into()))?;
    }
    if want_aws {
        let got = match aws_cx {
            Some(Ok(cx)) => audit_aws(opts, &cx, &mut snap, kube_state.as_ref()).await,
            Some(Err(e)) => Err(e),
            None => Err(LiveError::Nothing("no AWS context".into())),
        };
        match got {
            Ok(()) => {}
            // The cluster was audited: say the account was not, and keep the results.
            Err(e) if want_k8s => snap.diagnostics.push(
                Diagnostic::error(
                    "live-aws-error",
                    format!("the AWS side was not audited: {e}"),
                )
                .help(format!("{}; or pass --only kubernetes", e.help())),
            ),
            Err(e) => return Err(e),
        }
    }
    if let Some(state) = kube_state {
        snap.resources.splice(0..0, state.resources);
    }
    Ok(snap)
}

/// Reads the AWS side into `snap`: EKS (when the cluster is an EKS cluster of the region) and
/// ECR. `kube_state`: what the Kubernetes side found (a node autoscaler counts for BA202).
async fn audit_aws(
    opts: &Options,
    cx: &aws::Context,
    snap: &mut Snapshot,
    kube_state: Option<&kubernetes::State>,
) -> Result<(), LiveError> {
    snap.target.region = Some(cx.region.clone());
    let cluster = if snap.target.via == "eks" || opts.only == Some(Only::Aws) {
        snap.target.cluster.clone()
    } else {
        opts.cluster
            .clone()
            .unwrap_or_else(|| snap.target.cluster.clone())
    };
    let autoscaler = kube_state.is_some_and(|s| s.autoscaler);
    // The cluster reached through kubeconfig may not be an EKS cluster of this region.
    let is_eks = snap.target.via == "eks" || aws::describe_endpoint(cx, &cluster).await?.is_some();
    let eks_cluster = if is_eks {
        Some(cluster.as_str())
    } else if opts.only == Some(Only::Aws) {
        return Err(LiveError::ClusterNotFound(
            cluster.clone(),
            cx.region.clone(),
            format!("the EKS API in {} has no such cluster", cx.region),
        ));
    } else {
        snap.diagnostics.push(Diagnostic::note(
            "live-missing-kind",
            format!(
                "no EKS cluster named `{cluster}` in {}: the EKS rules have nothing to check; ECR is audited",
                cx.region
            ),
        ).help("pass --cluster with the EKS cluster's name and --context for the kubeconfig context"));
        None
    };
    if let Some(p) = &opts.progress {
        p.say(&format!(
            "AWS: reading EKS, EC2 subnets and ECR in {}",
            cx.region
        ));
    }
    let (resources, diags) = aws::read(cx, eks_cluster, autoscaler, opts).await;
    snap.resources.extend(resources);
    snap.diagnostics.extend(diags);
    Ok(())
}

/// The `Origin::Object` reference of a Kubernetes object: `Kind/namespace/name` and the
/// command that shows it.
#[must_use]
pub fn k8s_reference(kind: &str, plural: &str, group: &str, namespace: &str, name: &str) -> String {
    let resource = if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    };
    if namespace.is_empty() {
        format!("{kind}/{name} (kubectl get {resource} {name} -o yaml)")
    } else {
        format!("{kind}/{namespace}/{name} (kubectl get {resource} {name} -n {namespace} -o yaml)")
    }
}

/// The `apiVersion` of a saved AWS object: the snapshot format of `--save`, which
/// `blogaudit scan` reads back as the canonical `aws:*` kind it names.
pub const SNAPSHOT_API_VERSION: &str = "snapshot.blogaudit.io/v1";

/// Writes the snapshot into `dir`, one JSON file per object
/// (`<namespace or _cluster>/<Kind>.<name>.json`, `_aws/<kind>.<name>.json`), so that
/// `blogaudit scan DIR` reads it back with the same findings. Secret values were never kept.
///
/// # Errors
/// When a directory or file cannot be written.
pub fn save(snapshot: &Snapshot, dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for r in &snapshot.resources {
        let (sub, body) = if let Some(kind) = r.kind.strip_prefix("aws:") {
            // A canonical AWS object has no apiVersion or metadata: add both so the manifest
            // loader takes it as a resource of kind `aws:…` named `name`.
            let mut body = serde_json::Map::new();
            body.insert(
                "apiVersion".into(),
                serde_json::Value::String(SNAPSHOT_API_VERSION.into()),
            );
            body.insert("metadata".into(), serde_json::json!({ "name": r.name }));
            if let Some(o) = r.body.as_object() {
                for (k, v) in o {
                    body.insert(k.clone(), v.clone());
                }
            }
            (
                ("_aws".to_string(), format!("{kind}.{}", r.name)),
                serde_json::Value::Object(body),
            )
        } else {
            let ns = if r.namespace.is_empty() {
                "_cluster".to_string()
            } else {
                r.namespace.clone()
            };
            ((ns, format!("{}.{}", r.kind, r.name)), r.body.clone())
        };
        let folder = dir.join(file_safe(&sub.0));
        std::fs::create_dir_all(&folder)?;
        let mut text = serde_json::to_string_pretty(&body).map_err(std::io::Error::other)?;
        text.push('\n');
        std::fs::write(folder.join(format!("{}.json", file_safe(&sub.1))), text)?;
    }
    Ok(())
}

/// A name safe as one path component.
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// An error and its sources on one line: the SDKs' and kube's top-level messages are terse.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        source = s.source();
    }
    out
}

/// Percent-encoding of a query or form value: unreserved characters stay, every other byte
/// becomes `%XX`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
