//! Kubernetes state through kube-rs: discovery of the kinds to read, then lists paged with
//! `limit`/`continue`, each object trimmed as it is read.
//!
//! Only `get` (discovery) and `list` are called; [`READS`] and the kinds passed in say on
//! which resources, and `deploy/live/rbac-readonly.yaml` grants exactly that (checked by
//! `tests/live.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use serde_json::Value;

use super::{k8s_reference, LiveError, Options};
use crate::model::{Diagnostic, Origin, Resource};

/// The API group each kind the rules name belongs to. A kind of the same name in another
/// group (Istio's `Gateway`, say) is not what the rules mean. Kinds not listed here (from the
/// user's own rules) are taken from whichever group serves them.
pub const GROUPS: &[(&str, &str)] = &[
    ("Namespace", ""),
    ("Node", ""),
    ("Pod", ""),
    ("Service", ""),
    ("ServiceAccount", ""),
    ("ConfigMap", ""),
    ("Secret", ""),
    ("PersistentVolumeClaim", ""),
    ("ReplicationController", ""),
    ("Deployment", "apps"),
    ("StatefulSet", "apps"),
    ("DaemonSet", "apps"),
    ("ReplicaSet", "apps"),
    ("Job", "batch"),
    ("CronJob", "batch"),
    ("NetworkPolicy", "networking.k8s.io"),
    ("Ingress", "networking.k8s.io"),
    ("PodDisruptionBudget", "policy"),
    ("Role", "rbac.authorization.k8s.io"),
    ("RoleBinding", "rbac.authorization.k8s.io"),
    ("ClusterRole", "rbac.authorization.k8s.io"),
    ("ClusterRoleBinding", "rbac.authorization.k8s.io"),
    ("HorizontalPodAutoscaler", "autoscaling"),
    ("GatewayClass", "gateway.networking.k8s.io"),
    ("Gateway", "gateway.networking.k8s.io"),
    ("HTTPRoute", "gateway.networking.k8s.io"),
    ("GRPCRoute", "gateway.networking.k8s.io"),
    ("TCPRoute", "gateway.networking.k8s.io"),
    ("TLSRoute", "gateway.networking.k8s.io"),
    ("ReferenceGrant", "gateway.networking.k8s.io"),
    ("Certificate", "cert-manager.io"),
    ("Issuer", "cert-manager.io"),
    ("ClusterIssuer", "cert-manager.io"),
];

/// Versions the rules are written against, when a group serves several: the first served one
/// wins (HPA `autoscaling/v2` has the `metrics` the rules read; `autoscaling/v1` does not).
const PREFERRED: &[(&str, &[&str])] = &[("autoscaling", &["v2"])];

/// The non-resource reads: discovery. Resource reads are `list` on the discovered kinds.
pub const READS: &[&str] = &["/api", "/api/*", "/apis", "/apis/*"];

/// One kind as served: where to list it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    pub kind: String,
    pub group: String,
    pub version: String,
    pub plural: String,
    pub namespaced: bool,
}

impl Served {
    #[must_use]
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    fn list_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}/{}", self.version, self.plural)
        } else {
            format!("/apis/{}/{}/{}", self.group, self.version, self.plural)
        }
    }
}

/// What the Kubernetes side produced.
#[derive(Debug, Default)]
pub struct State {
    pub resources: Vec<Resource>,
    /// A node autoscaler (Cluster Autoscaler, Karpenter) runs in the cluster.
    pub autoscaler: bool,
    /// The kinds read, for `--save` and the RBAC check.
    pub served: Vec<Served>,
}

/// A failed API call, classified.
/// Pages in a row with no new object after which a list is abandoned.
const MAX_IDLE_PAGES: usize = 20;

/// Objects of one kind beyond which a list is abandoned: more than any cluster holds, and a
/// bound on the memory a misbehaving server can make the audit use.
const MAX_OBJECTS_PER_KIND: usize = 1_000_000;

#[derive(Debug)]
enum CallError {
    Status(u16, String),
    Timeout,
    Transport(String),
    /// A list whose paging does not end.
    Paging(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status(code, msg) => write!(f, "{code} {msg}"),
            Self::Timeout => write!(f, "no answer in time"),
            Self::Transport(msg) => write!(f, "{msg}"),
            Self::Paging(msg) => write!(f, "paging does not end: {msg}"),
        }
    }
}

async fn get_json(
    client: &kube::Client,
    path: &str,
    accept: Option<&str>,
    timeout: Duration,
) -> Result<Value, CallError> {
    let mut req = http::Request::get(path);
    if let Some(a) = accept {
        req = req.header(http::header::ACCEPT, a);
    }
    let req = req
        .body(Vec::new())
        .map_err(|e| CallError::Transport(e.to_string()))?;
    match tokio::time::timeout(timeout, client.request::<Value>(req)).await {
        Err(_) => Err(CallError::Timeout),
        Ok(Ok(v)) => Ok(v),
        Ok(Err(kube::Error::Api(e))) => Err(CallError::Status(e.code, e.message)),
        Ok(Err(e)) => {
            let text = super::error_chain(&e);
            if text.contains("timed out") || text.contains("deadline") {
                Err(CallError::Timeout)
            } else {
                Err(CallError::Transport(text))
            }
        }
    }
}

/// The first call decides whether the run can go on at all.
fn fatal(e: CallError, server: &str, timeout: Duration) -> LiveError {
    match e {
        CallError::Status(401, _) => LiveError::Unauthorized(format!(" at {server}")),
        CallError::Status(403, m) => LiveError::Kubeconfig(format!(
            "the API server {server} refused discovery (403 Forbidden: {m}); grant `get` on the non-resource URLs /api and /apis (deploy/live/rbac-readonly.yaml)"
        )),
        CallError::Status(code, m) => {
            LiveError::Unreachable(server.to_string(), format!("{code} {m}"))
        }
        CallError::Timeout => LiveError::Timeout(timeout, format!("GET {server}/api")),
        CallError::Transport(m) => LiveError::Unreachable(server.to_string(), m),
        CallError::Paging(m) => LiveError::Unreachable(server.to_string(), m),
    }
}

/// Reads every wanted kind the cluster serves.
///
/// # Errors
/// When discovery itself fails (401, unreachable, timeout): nothing could be audited.
pub async fn read(
    client: &kube::Client,
    server: &str,
    opts: &Options,
    diags: &mut Vec<Diagnostic>,
) -> Result<State, LiveError> {
    let served = served(client, server, opts, diags).await?;
    let mut state = State::default();
    let lists = stream::iter(served.clone())
        .map(|s| async move {
            let got = list_all(client, &s, opts).await;
            (s, got)
        })
        .buffered(4);
    let mut lists = std::pin::pin!(lists);
    let mut done = 0;
    while let Some((s, got)) = lists.next().await {
        done += 1;
        if let Some(p) = &opts.progress {
            p.say(&format!(
                "Kubernetes: {done}/{} kinds listed ({})",
                served.len(),
                s.kind
            ));
        }
        match got {
            Ok(items) => state.resources.extend(items),
            Err(e) => diags.push(skipped(&s, &e)),
        }
    }
    state.autoscaler = state.resources.iter().any(runs_node_autoscaler);
    state.served = served;
    Ok(state)
}

/// The kinds of `opts.kinds` that the cluster serves, found through discovery. A kind it does
/// not serve is a note; a group whose discovery failed is an error diagnostic.
///
/// # Errors
/// The API server cannot be reached or refuses discovery.
pub async fn served(
    client: &kube::Client,
    server: &str,
    opts: &Options,
    diags: &mut Vec<Diagnostic>,
) -> Result<Vec<Served>, LiveError> {
    let core = get_json(client, "/api", None, opts.timeout)
        .await
        .map_err(|e| fatal(e, server, opts.timeout))?;
    let groups = get_json(client, "/apis", None, opts.timeout)
        .await
        .map_err(|e| fatal(e, server, opts.timeout))?;
    Ok(discover(client, opts, &core, &groups, diags).await)
}

/// The diagnostic for a kind that could not be read: the rest of the run goes on, but its
/// results are incomplete (exit 2).
fn skipped(s: &Served, e: &CallError) -> Diagnostic {
    let what = format!("{} ({}) not audited", s.kind, s.api_version());
    match e {
        CallError::Status(403, m) => Diagnostic::error(
            "live-forbidden",
            format!("{what}: 403 Forbidden: {m}"),
        )
        .help(format!(
            "grant `list` on `{}` in API group `{}` to the auditing identity (deploy/live/rbac-readonly.yaml)",
            s.plural, s.group
        )),
        CallError::Status(401, m) => Diagnostic::error(
            "live-forbidden",
            format!("{what}: 401 Unauthorized: {m}"),
        )
        .help("the token expired during the run; refresh the credentials and run again"),
        CallError::Status(404, _) => Diagnostic::note(
            "live-missing-kind",
            format!("{what}: the API server no longer serves it"),
        ),
        CallError::Timeout => Diagnostic::error("live-timeout", format!("{what}: no answer in time"))
            .help("raise --timeout, or check the API server's load"),
        CallError::Status(code, m) => {
            Diagnostic::error("live-api-error", format!("{what}: {code} {m}"))
                .help("the API server failed this list; run again, or check its health")
        }
        CallError::Transport(m) => Diagnostic::error("live-api-error", format!("{what}: {m}"))
            .help("check the network path to the API server"),
        CallError::Paging(m) => Diagnostic::error(
            "live-api-error",
            format!("{what}: the list's paging does not end ({m})"),
        )
        .help("the API server, or a proxy in front of it, mishandles `continue`; check it and run again"),
    }
}

/// The wanted kinds as served: for each group that may hold one, its versions' resource lists.
async fn discover(
    client: &kube::Client,
    opts: &Options,
    core: &Value,
    groups: &Value,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Served> {
    let wanted: BTreeSet<&str> = opts.kinds.iter().map(String::as_str).collect();
    let wanted_group = |kind: &str| GROUPS.iter().find(|(k, _)| *k == kind).map(|(_, g)| *g);
    // (group, [versions in preference order])
    let mut group_versions: Vec<(String, Vec<String>)> = Vec::new();
    if core
        .get("versions")
        .and_then(Value::as_array)
        .is_some_and(|v| v.iter().any(|x| x == "v1"))
    {
        group_versions.push((String::new(), vec!["v1".into()]));
    }
    let needed_groups: BTreeSet<&str> = wanted.iter().filter_map(|k| wanted_group(k)).collect();
    let any_group = wanted.iter().any(|k| wanted_group(k).is_none());
    for g in groups
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = g.get("name").and_then(Value::as_str) else {
            continue;
        };
        if !any_group && !needed_groups.contains(name) {
            continue;
        }
        let preferred = g
            .pointer("/preferredVersion/version")
            .and_then(Value::as_str)
            .unwrap_or("");
        let mut versions: Vec<String> = g
            .get("versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.get("version").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        let rank = |v: &str| {
            let pinned = PREFERRED
                .iter()
                .find(|(g, _)| *g == name)
                .and_then(|(_, vs)| vs.iter().position(|x| *x == v));
            (pinned.unwrap_or(usize::MAX), v != preferred)
        };
        versions.sort_by_key(|v| rank(v));
        group_versions.push((name.to_string(), versions));
    }
    // Collected first, so that the future holds no borrowing iterator and can be sent.
    let pairs: Vec<(String, String)> = group_versions
        .iter()
        .flat_map(|(g, vs)| vs.iter().map(move |v| (g.clone(), v.clone())))
        .collect();
    let fetched: Vec<_> = stream::iter(pairs)
        .map(|(g, v)| async move {
            let path = if g.is_empty() {
                format!("/api/{v}")
            } else {
                format!("/apis/{g}/{v}")
            };
            let got = get_json(client, &path, None, opts.timeout).await;
            (g, v, got)
        })
        .buffered(4)
        .collect()
        .await;
    let mut found: BTreeMap<String, Served> = BTreeMap::new();
    let mut failed_groups: BTreeMap<String, String> = BTreeMap::new();
    // `fetched` follows group order and, within a group, preference order.
    for (g, v, got) in fetched {
        let list = match got {
            Ok(list) => list,
            Err(e) => {
                failed_groups
                    .entry(g.clone())
                    .or_insert(format!("{g}/{v}: {e}"));
                continue;
            }
        };
        for r in list
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(kind), Some(plural)) = (
                r.get("kind").and_then(Value::as_str),
                r.get("name").and_then(Value::as_str),
            ) else {
                continue;
            };
            if plural.contains('/') || !wanted.contains(kind) {
                continue;
            }
            if wanted_group(kind).is_some_and(|wg| wg != g) {
                continue;
            }
            let listable = r
                .get("verbs")
                .and_then(Value::as_array)
                .is_some_and(|vs| vs.iter().any(|x| x == "list"));
            if !listable {
                continue;
            }
            found.entry(kind.to_string()).or_insert_with(|| Served {
                kind: kind.to_string(),
                group: g.clone(),
                version: v.clone(),
                plural: plural.to_string(),
                namespaced: r.get("namespaced").and_then(Value::as_bool).unwrap_or(true),
            });
        }
    }
    for (g, why) in &failed_groups {
        let kinds: Vec<&str> = wanted
            .iter()
            .filter(|k| wanted_group(k) == Some(g.as_str()) && !found.contains_key(**k))
            .copied()
            .collect();
        if kinds.is_empty() {
            continue;
        }
        diags.push(
            Diagnostic::error(
                "live-forbidden",
                format!(
                    "{} not audited: discovery of API group `{}` failed ({why})",
                    kinds.join(", "),
                    if g.is_empty() { "core" } else { g }
                ),
            )
            .help("grant `get` on the non-resource URLs /api/* and /apis/* (deploy/live/rbac-readonly.yaml)"),
        );
    }
    let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for kind in &wanted {
        if found.contains_key(*kind) {
            continue;
        }
        let group = wanted_group(kind).unwrap_or("");
        if failed_groups.contains_key(group) {
            continue;
        }
        missing.entry(group).or_default().push(kind);
    }
    for (group, kinds) in missing {
        let what = if group.is_empty() {
            "the core API".to_string()
        } else {
            format!("API group `{group}` (its CRDs are not installed)")
        };
        diags.push(Diagnostic::note(
            "live-missing-kind",
            format!(
                "{} not served by this cluster: {what}; the rules on them have nothing to check",
                kinds.join(", ")
            ),
        ));
    }
    found.into_values().collect()
}

/// Every object of one kind, page by page.
async fn list_all(
    client: &kube::Client,
    s: &Served,
    opts: &Options,
) -> Result<Vec<Resource>, CallError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    // Secrets are read as metadata only: their data never leaves the API server.
    let accept = (s.kind == "Secret" && s.group.is_empty()).then_some(
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
    );
    // A server whose paging never ends (the same token again, pages of objects already
    // seen, or more objects than any cluster holds) is stopped, not followed forever.
    let mut tokens = std::collections::HashSet::new();
    let mut seen = std::collections::HashSet::new();
    let mut idle_pages = 0;
    loop {
        let mut path = format!("{}?limit={}", s.list_path(), opts.page_size);
        if let Some(t) = &token {
            path.push_str("&continue=");
            path.push_str(&super::percent_encode(t));
        }
        let page = get_json(client, &path, accept, opts.timeout).await?;
        let items = match page {
            Value::Object(mut m) => {
                token = m
                    .get("metadata")
                    .and_then(|md| md.get("continue"))
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string);
                match m.remove("items") {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        };
        let before = out.len();
        for item in items {
            if let Some(r) = resource(s, item) {
                if seen.insert((r.namespace.clone(), r.name.clone())) {
                    out.push(r);
                }
            }
        }
        let Some(t) = &token else {
            return Ok(out);
        };
        idle_pages = if out.len() == before {
            idle_pages + 1
        } else {
            0
        };
        if !tokens.insert(t.clone()) {
            return Err(CallError::Paging(
                "the same continue token came back".into(),
            ));
        }
        if idle_pages >= MAX_IDLE_PAGES {
            return Err(CallError::Paging(format!(
                "{MAX_IDLE_PAGES} pages in a row brought no new object"
            )));
        }
        if out.len() > MAX_OBJECTS_PER_KIND {
            return Err(CallError::Paging(format!(
                "more than {MAX_OBJECTS_PER_KIND} objects"
            )));
        }
    }
}

/// One list item as a resource: `kind`/`apiVersion` restored (lists omit them), and
/// `managedFields`, the last-applied annotation and Secret values dropped.
pub fn resource(s: &Served, mut item: Value) -> Option<Resource> {
    let obj = item.as_object_mut()?;
    obj.insert("apiVersion".into(), Value::String(s.api_version()));
    obj.insert("kind".into(), Value::String(s.kind.clone()));
    trim(&mut item, &s.kind);
    let name = item
        .pointer("/metadata/name")
        .and_then(Value::as_str)?
        .to_string();
    let namespace = if s.namespaced {
        item.pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_string()
    } else {
        String::new()
    };
    let reference = k8s_reference(&s.kind, &s.plural, &s.group, &namespace, &name);
    let mut r = Resource::from_k8s(item, Origin::Object { reference })?;
    r.namespace = namespace;
    Some(r)
}

/// The last-applied annotation of `kubectl apply`.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops what no rule needs and what must not be kept: `managedFields`, the last-applied
/// annotation (a copy of the object, with Secret values in it), Secret values, and the bulk
/// of a Node's status.
pub fn trim(item: &mut Value, kind: &str) {
    if let Some(meta) = item.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        let empty = meta
            .get_mut("annotations")
            .and_then(Value::as_object_mut)
            .map(|a| {
                a.remove(LAST_APPLIED);
                a.is_empty()
            });
        if empty == Some(true) {
            meta.remove("annotations");
        }
    }
    let Some(obj) = item.as_object_mut() else {
        return;
    };
    match kind {
        "Secret" => {
            obj.remove("data");
            obj.remove("stringData");
        }
        "Node" => {
            let conditions = obj.get("status").and_then(|s| s.get("conditions")).cloned();
            obj.remove("spec");
            let mut status = serde_json::Map::new();
            if let Some(c) = conditions {
                status.insert("conditions".into(), c);
            }
            obj.insert("status".into(), Value::Object(status));
        }
        _ => {}
    }
}

/// Whether `r` runs a node autoscaler (Cluster Autoscaler or Karpenter).
fn runs_node_autoscaler(r: &Resource) -> bool {
    let Some(spec) = r.body.pointer("/spec/template/spec") else {
        return false;
    };
    spec.get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("image").and_then(Value::as_str))
        .any(|i| i.contains("cluster-autoscaler") || i.contains("karpenter"))
}
