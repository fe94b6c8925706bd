//! `blogaudit live --apply-reports`: the audit's `wgpolicyk8s.io/v1alpha2` reports written
//! into the cluster it audited, so that the in-cluster CronJob keeps them current the way the
//! Trivy and Kubescape operators do.
//!
//! Each report is server-side applied (field manager [`FIELD_MANAGER`]); then the reports of
//! the same selector (blogaudit's label and the run's category) that this run did not produce
//! are deleted: a namespace with nothing left to check loses its report. The calls are
//! [`WRITES`] and nothing else, which `deploy/live/cronjob.yaml` grants (checked by
//! `tests/live_reports.rs`).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use super::{connect, LiveError, Options};

/// The field manager of every apply: `kubectl get … --show-managed-fields` names blogaudit.
pub const FIELD_MANAGER: &str = "blogaudit";

/// The report API: `wgpolicyk8s.io/v1alpha2`.
pub const GROUP: &str = "wgpolicyk8s.io";
const VERSION: &str = "v1alpha2";

/// The verbs and resources of group [`GROUP`] an apply uses (server-side apply is `patch`,
/// and `create` when the report is new).
pub const WRITES: &[(&str, &str)] = &[
    ("create", "policyreports"),
    ("patch", "policyreports"),
    ("list", "policyreports"),
    ("delete", "policyreports"),
    ("create", "clusterpolicyreports"),
    ("patch", "clusterpolicyreports"),
    ("list", "clusterpolicyreports"),
    ("delete", "clusterpolicyreports"),
];

/// What an apply did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// `Kind/namespace/name` (or `Kind/name`) of each report applied.
    pub applied: Vec<String>,
    /// The same for each stale report deleted.
    pub deleted: Vec<String>,
}

/// Why the reports could not be written (exit code 2; the audit's own report is written).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The cluster could not be reached again.
    #[error(transparent)]
    Connect(#[from] LiveError),
    /// One call was refused or failed.
    #[error("cannot {verb} {what}: {reason}")]
    Call {
        verb: &'static str,
        what: String,
        reason: String,
        forbidden: bool,
    },
}

impl ApplyError {
    /// What the user can do about it.
    #[must_use]
    pub fn help(&self) -> &'static str {
        match self {
            Self::Connect(e) => e.help(),
            Self::Call {
                forbidden: true, ..
            } => "grant create, patch, list and delete on policyreports and clusterpolicyreports of wgpolicyk8s.io (deploy/live/cronjob.yaml), or drop --apply-reports",
            Self::Call { .. } => "install the PolicyReport CRDs (wgpolicyk8s.io/v1alpha2) and check that the API server accepts them, or drop --apply-reports",
        }
    }
}

/// Server-side applies `reports` (as [`crate::report::policyreport::reports`] builds them)
/// into the cluster `opts` names, then deletes the reports matching `selector` that are not
/// among them.
///
/// # Errors
/// The cluster cannot be reached, or a call is refused (403) or fails.
pub fn apply(opts: &Options, reports: &[Value], selector: &str) -> Result<Applied, ApplyError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LiveError::Runtime(e.to_string()))?;
    rt.block_on(async {
        let aws_cx = if connect::eks_wanted(opts) {
            Some(super::aws::context(opts).await)
        } else {
            None
        };
        let conn = connect::kubernetes(opts, aws_cx.as_ref()).await?;
        apply_with(&conn.client, opts.timeout, reports, selector).await
    })
}

/// A report's identity: (plural, namespace, name).
type Id = (String, String, String);

fn id_of(report: &Value) -> Id {
    let text = |p: &str| {
        report
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let plural = if report["kind"] == "ClusterPolicyReport" {
        "clusterpolicyreports"
    } else {
        "policyreports"
    };
    (
        plural.to_string(),
        text("/metadata/namespace"),
        text("/metadata/name"),
    )
}

fn path_of((plural, ns, name): &Id) -> String {
    if ns.is_empty() {
        format!("/apis/{GROUP}/{VERSION}/{plural}/{name}")
    } else {
        format!("/apis/{GROUP}/{VERSION}/namespaces/{ns}/{plural}/{name}")
    }
}

fn shown((plural, ns, name): &Id) -> String {
    let kind = if plural == "clusterpolicyreports" {
        "ClusterPolicyReport"
    } else {
        "PolicyReport"
    };
    if ns.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}/{ns}/{name}")
    }
}

/// Reports listed per page when looking for the ones to delete.
const PAGE: u32 = 500;

async fn apply_with(
    client: &kube::Client,
    timeout: Duration,
    reports: &[Value],
    selector: &str,
) -> Result<Applied, ApplyError> {
    let mut done = Applied::default();
    let mut produced = BTreeSet::new();
    for report in reports {
        let id = id_of(report);
        let body = serde_json::to_vec(report).map_err(|e| ApplyError::Call {
            verb: "apply",
            what: shown(&id),
            reason: e.to_string(),
            forbidden: false,
        })?;
        let uri = format!("{}?fieldManager={FIELD_MANAGER}&force=true", path_of(&id));
        // JSON is YAML: the apply patch content type takes it as is.
        let req = http::Request::patch(uri)
            .header(http::header::CONTENT_TYPE, "application/apply-patch+yaml")
            .body(body);
        call(client, timeout, req, "apply", &shown(&id)).await?;
        done.applied.push(shown(&id));
        produced.insert(id);
    }
    for plural in ["policyreports", "clusterpolicyreports"] {
        let what = format!("{plural}.{GROUP} labelled {selector}");
        let mut stale = Vec::new();
        let mut next = String::new();
        // Paged like every other list, so a cluster with many namespaces stays bounded.
        loop {
            let mut uri = format!(
                "/apis/{GROUP}/{VERSION}/{plural}?labelSelector={}&limit={PAGE}",
                super::percent_encode(selector)
            );
            if !next.is_empty() {
                uri.push_str(&format!("&continue={}", super::percent_encode(&next)));
            }
            let list = call(
                client,
                timeout,
                http::Request::get(uri).body(Vec::new()),
                "list",
                &what,
            )
            .await?;
            for item in list["items"].as_array().into_iter().flatten() {
                let mut id = id_of(item);
                plural.clone_into(&mut id.0);
                if !produced.contains(&id) {
                    stale.push(id);
                }
            }
            next = list["metadata"]["continue"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if next.is_empty() {
                break;
            }
        }
        for id in stale {
            let req = http::Request::delete(path_of(&id)).body(Vec::new());
            call(client, timeout, req, "delete", &shown(&id)).await?;
            done.deleted.push(shown(&id));
        }
    }
    Ok(done)
}

async fn call(
    client: &kube::Client,
    timeout: Duration,
    req: Result<http::Request<Vec<u8>>, http::Error>,
    verb: &'static str,
    what: &str,
) -> Result<Value, ApplyError> {
    let fail = |reason: String, forbidden: bool| ApplyError::Call {
        verb,
        what: what.to_string(),
        reason,
        forbidden,
    };
    let req = req.map_err(|e| fail(e.to_string(), false))?;
    match tokio::time::timeout(timeout, client.request::<Value>(req)).await {
        Err(_) => Err(fail(format!("no answer within {timeout:?}"), false)),
        Ok(Ok(v)) => Ok(v),
        Ok(Err(kube::Error::Api(e))) => Err(fail(
            format!("{} {} ({})", e.code, e.reason, e.message),
            e.code == 403,
        )),
        Ok(Err(e)) => Err(fail(e.to_string(), false)),
    }
}
