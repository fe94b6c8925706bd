//! An in-process Kubernetes API server for tests: real API paths over plain HTTP/1.1.
//!
//! It exists so that the production kube client code (the `live` source, later the admission
//! webhook's cache) talks HTTP to something that behaves like an API server, with nothing
//! mocked inside `src/`. It serves:
//!
//! - discovery: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>`;
//! - lists, cluster-wide and per namespace, paged with `limit`/`continue` like the real
//!   server (items without `kind`/`apiVersion`, `metadata.continue`,
//!   `metadata.remainingItemCount`), and single objects;
//! - watches (`?watch=true&resourceVersion=N`): newline-delimited JSON events in a chunked
//!   response, from an event log that [`KubeApi::apply`] and [`KubeApi::delete`] append to;
//! - server-side apply (`PATCH`, `application/apply-patch+yaml`, `fieldManager` recorded in
//!   `managedFields`), `DELETE`, and lists filtered by an equality `labelSelector`;
//! - failures on demand ([`KubeApi::fault`]): any status (401, 403, 500 …) or a delay longer
//!   than the client's timeout, for every path under a prefix; a bearer token
//!   ([`KubeApi::require_token`]) checked like the real server (401 `Unauthorized`).
//!
//! Objects are stored as a cluster returns them: with `uid`, `resourceVersion`,
//! `creationTimestamp`, `generation`, `managedFields`, the last-applied annotation of
//! `kubectl apply`, server-side defaults and a `status`. Every request is recorded
//! ([`KubeApi::requests`]) so tests can check the verbs and resources a client used.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

/// One resource type the server knows: what discovery lists and lists serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiType {
    /// `""` for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

impl ApiType {
    fn new(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced,
        }
    }

    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `/api/v1` or `/apis/<group>/<version>`.
    fn base(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }
}

/// The built-in kinds of a current cluster plus the CRDs of the reference design (Gateway API,
/// cert-manager), each in the versions a cluster serves.
pub fn default_types() -> Vec<ApiType> {
    let t = ApiType::new;
    vec![
        t("", "v1", "Namespace", "namespaces", false),
        t("", "v1", "Node", "nodes", false),
        t("", "v1", "Pod", "pods", true),
        t("", "v1", "Service", "services", true),
        t("", "v1", "ServiceAccount", "serviceaccounts", true),
        t("", "v1", "ConfigMap", "configmaps", true),
        t("", "v1", "Secret", "secrets", true),
        t(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            true,
        ),
        t(
            "",
            "v1",
            "ReplicationController",
            "replicationcontrollers",
            true,
        ),
        t("apps", "v1", "Deployment", "deployments", true),
        t("apps", "v1", "StatefulSet", "statefulsets", true),
        t("apps", "v1", "DaemonSet", "daemonsets", true),
        t("apps", "v1", "ReplicaSet", "replicasets", true),
        t("batch", "v1", "Job", "jobs", true),
        t("batch", "v1", "CronJob", "cronjobs", true),
        t(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            true,
        ),
        t("networking.k8s.io", "v1", "Ingress", "ingresses", true),
        t(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            true,
        ),
        t("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
        t(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            true,
        ),
        t(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
        ),
        t(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
        ),
        t(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            true,
        ),
        t(
            "autoscaling",
            "v1",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            true,
        ),
        t(
            "gateway.networking.k8s.io",
            "v1",
            "GatewayClass",
            "gatewayclasses",
            false,
        ),
        t(
            "gateway.networking.k8s.io",
            "v1",
            "Gateway",
            "gateways",
            true,
        ),
        t(
            "gateway.networking.k8s.io",
            "v1",
            "HTTPRoute",
            "httproutes",
            true,
        ),
        t(
            "gateway.networking.k8s.io",
            "v1",
            "GRPCRoute",
            "grpcroutes",
            true,
        ),
        t(
            "gateway.networking.k8s.io",
            "v1beta1",
            "ReferenceGrant",
            "referencegrants",
            true,
        ),
        t(
            "gateway.networking.k8s.io",
            "v1alpha2",
            "TCPRoute",
            "tcproutes",
            true,
        ),
        t(
            "gateway.networking.k8s.io",
            "v1alpha2",
            "TLSRoute",
            "tlsroutes",
            true,
        ),
        t("cert-manager.io", "v1", "Certificate", "certificates", true),
        t("cert-manager.io", "v1", "Issuer", "issuers", true),
        t(
            "cert-manager.io",
            "v1",
            "ClusterIssuer",
            "clusterissuers",
            false,
        ),
        // The Policy WG's report CRDs, which `live --apply-reports` writes.
        t(
            "wgpolicyk8s.io",
            "v1alpha2",
            "PolicyReport",
            "policyreports",
            true,
        ),
        t(
            "wgpolicyk8s.io",
            "v1alpha2",
            "ClusterPolicyReport",
            "clusterpolicyreports",
            false,
        ),
    ]
}

/// A failure served for every request whose path starts with a prefix.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this HTTP status and a `Status` object (401, 403, 404, 500, …).
    Status(u16),
    /// Wait this long before answering normally (to trip a client timeout).
    Delay(Duration),
    /// Answer 200 with the JSON cut in half.
    Truncated,
    /// Answer 200 with an HTML page, as a misconfigured proxy does.
    NotJson,
    /// Lists: every page is the first page, with the same `continue` token.
    SameToken,
    /// Lists: every page is the first page again, with a new `continue` token each time.
    EndlessPages,
}

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// Query parameters in order.
    pub query: Vec<(String, String)>,
    /// The `Authorization` header was present.
    pub authorized: bool,
}

impl Seen {
    /// The value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The Kubernetes verb and the (group, resource) of this request, as RBAC sees it;
    /// `None` for discovery and other non-resource paths.
    pub fn rbac(&self) -> Option<(String, String, String)> {
        let parts: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        let (group, rest) = match parts.as_slice() {
            ["api", _version, rest @ ..] => (String::new(), rest),
            ["apis", group, _version, rest @ ..] => ((*group).to_string(), rest),
            _ => return None,
        };
        let (resource, named) = match rest {
            [] => return None,
            ["namespaces", _, resource] | [resource] => (*resource, false),
            ["namespaces", _, resource, _] | [resource, _] => (*resource, true),
            _ => return None,
        };
        let verb = match (self.method.as_str(), named, self.param("watch")) {
            ("GET", _, Some("true" | "1")) => "watch",
            ("GET", true, _) => "get",
            ("GET", false, _) => "list",
            (m, _, _) => return Some((m.to_lowercase(), group, resource.to_string())),
        };
        Some((verb.to_string(), group, resource.to_string()))
    }
}

/// (group, plural, namespace, name) of a stored object.
type Key = (String, String, String, String);

struct State {
    types: Vec<ApiType>,
    /// Groups that discovery and lists pretend are not installed.
    removed: BTreeSet<String>,
    objects: BTreeMap<Key, Value>,
    rv: u64,
    /// (resourceVersion, group, plural, event type, object) in order.
    events: Vec<(u64, String, String, &'static str, Value)>,
    faults: Vec<(String, Fault)>,
    token: Option<String>,
    requests: Vec<Seen>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The running server. Stops when dropped.
pub struct KubeApi {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
}

impl KubeApi {
    /// Starts an empty server on a free loopback port with [`default_types`].
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                types: default_types(),
                removed: BTreeSet::new(),
                objects: BTreeMap::new(),
                rv: 1000,
                events: Vec::new(),
                faults: Vec::new(),
                token: None,
                requests: Vec::new(),
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let accept = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let conn = Arc::clone(&accept);
                std::thread::spawn(move || serve(&conn, stream));
            }
        });
        Self { addr, shared }
    }

    /// Starts a server holding every Kubernetes object of the manifests under `dir` (read with
    /// blogaudit's own loader, so kustomizations and Lists count as they do for `scan`).
    pub fn with_manifests(dir: &Path) -> Self {
        let api = Self::start();
        for object in manifest_objects(dir) {
            api.apply(object);
        }
        api
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stores `object` as the API server would after `kubectl apply` (create or update) and
    /// records an `ADDED`/`MODIFIED` event for watchers. Unknown kinds get a type of their own
    /// (plural: lowercase kind + `s`, namespaced).
    pub fn apply(&self, object: Value) {
        let mut st = self.shared.lock();
        let Some(ty) = type_of(&mut st.types, &object) else {
            return;
        };
        st.rv += 1;
        let rv = st.rv;
        let ns = if ty.namespaced {
            object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string()
        } else {
            String::new()
        };
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let key = (ty.group.clone(), ty.plural.clone(), ns.clone(), name);
        let existed = st.objects.contains_key(&key);
        let stored = as_served(object, &ty, &ns, rv);
        st.objects.insert(key, stored.clone());
        let event = if existed { "MODIFIED" } else { "ADDED" };
        st.events.push((rv, ty.group, ty.plural, event, stored));
        drop(st);
        self.shared.changed.notify_all();
    }

    /// Deletes an object by kind, namespace (`""` for cluster-scoped) and name, recording a
    /// `DELETED` event. Returns whether it existed.
    pub fn delete(&self, kind: &str, namespace: &str, name: &str) -> bool {
        let mut st = self.shared.lock();
        let Some(key) = st
            .objects
            .keys()
            .find(|(g, p, ns, n)| {
                ns == namespace
                    && n == name
                    && st
                        .types
                        .iter()
                        .any(|t| &t.group == g && &t.plural == p && t.kind == kind)
            })
            .cloned()
        else {
            return false;
        };
        let Some(mut object) = st.objects.remove(&key) else {
            return false;
        };
        st.rv += 1;
        let rv = st.rv;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        st.events.push((rv, key.0, key.1, "DELETED", object));
        drop(st);
        self.shared.changed.notify_all();
        true
    }

    /// Serves `fault` for every request whose path starts with `prefix` (e.g.
    /// `/apis/apps/v1/deployments`, `/apis/gateway.networking.k8s.io`, or `/` for all).
    pub fn fault(&self, prefix: &str, fault: Fault) {
        self.shared.lock().faults.push((prefix.to_string(), fault));
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Answers 401 unless requests carry `Authorization: Bearer <token>`.
    pub fn require_token(&self, token: &str) {
        self.shared.lock().token = Some(token.to_string());
    }

    /// Pretends `group` is not installed (its CRDs absent): gone from discovery, 404 on lists.
    pub fn remove_group(&self, group: &str) {
        self.shared.lock().removed.insert(group.to_string());
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Seen> {
        self.shared.lock().requests.clone()
    }

    /// Every stored object of `kind`, as served, in (namespace, name) order.
    pub fn all(&self, kind: &str) -> Vec<Value> {
        let st = self.shared.lock();
        st.objects
            .iter()
            .filter(|((g, p, _, _), _)| {
                st.types
                    .iter()
                    .any(|t| &t.group == g && &t.plural == p && t.kind == kind)
            })
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Number of stored objects.
    pub fn len(&self) -> usize {
        self.shared.lock().objects.len()
    }

    /// The object stored for kind/namespace/name, as served.
    pub fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let st = self.shared.lock();
        st.objects
            .iter()
            .find(|((g, p, ns, n), _)| {
                ns == namespace
                    && n == name
                    && st
                        .types
                        .iter()
                        .any(|t| &t.group == g && &t.plural == p && t.kind == kind)
            })
            .map(|(_, v)| v.clone())
    }

    /// Writes a kubeconfig for this server into `dir` (context and cluster named `context`,
    /// user token `token` when given) and returns its path.
    pub fn kubeconfig(&self, dir: &Path, context: &str, token: Option<&str>) -> PathBuf {
        let user = match token {
            Some(t) => format!("  user:\n    token: {t}\n"),
            None => "  user: {}\n".to_string(),
        };
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {context}\nclusters:\n- name: {context}\n  cluster:\n    server: {url}\ncontexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}-user\nusers:\n- name: {context}-user\n{user}",
            url = self.url()
        );
        let path = dir.join(format!("kubeconfig-{context}"));
        std::fs::write(&path, text).expect("write the kubeconfig");
        path
    }
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Every Kubernetes object (not the `aws:` resources of Terraform) under `dir`, as read by
/// blogaudit's loader, in load order.
pub fn manifest_objects(dir: &Path) -> Vec<Value> {
    let loaded = blogaudit::source::load(&[dir.to_path_buf()], dir);
    loaded
        .resources
        .into_iter()
        .filter(|r| !r.kind.starts_with("aws:"))
        .map(|r| r.hydrated().expect("reads back").into_owned().body)
        .collect()
}

/// The type of `object`, registering one for a kind the server does not know.
fn type_of(types: &mut Vec<ApiType>, object: &Value) -> Option<ApiType> {
    let api_version = object.get("apiVersion")?.as_str()?;
    let kind = object.get("kind")?.as_str()?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    if let Some(t) = types
        .iter()
        .find(|t| t.group == group && t.version == version && t.kind == kind)
    {
        return Some(t.clone());
    }
    // Another version of a known kind is stored under the served one.
    if let Some(t) = types.iter().find(|t| t.group == group && t.kind == kind) {
        return Some(t.clone());
    }
    let t = ApiType::new(
        group,
        version,
        kind,
        &format!("{}s", kind.to_lowercase()),
        true,
    );
    types.push(t.clone());
    Some(t)
}

/// A stable fake UID from the object's identity.
fn uid(ty: &ApiType, ns: &str, name: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(format!("{}/{}/{ns}/{name}", ty.group, ty.kind));
    let hex: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The object as the API server returns it after `kubectl apply`: server metadata, the
/// last-applied annotation, `managedFields`, a few defaults and a `status`.
fn as_served(mut object: Value, ty: &ApiType, ns: &str, rv: u64) -> Value {
    let applied = serde_json::to_string(&object).unwrap_or_default();
    object["apiVersion"] = json!(ty.api_version());
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = json!({});
    }
    let meta = &mut object["metadata"];
    if ty.namespaced {
        meta["namespace"] = json!(ns);
    }
    meta["uid"] = json!(uid(ty, ns, &name));
    meta["resourceVersion"] = json!(rv.to_string());
    meta["creationTimestamp"] = json!("2026-01-05T10:00:00Z");
    meta["generation"] = json!(1);
    if !meta.get("annotations").is_some_and(Value::is_object) {
        meta["annotations"] = json!({});
    }
    meta["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
        json!(format!("{applied}\n"));
    meta["managedFields"] = json!([{
        "manager": "kubectl-client-side-apply",
        "operation": "Update",
        "apiVersion": ty.api_version(),
        "time": "2026-01-05T10:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}}}
    }]);
    if ty.kind == "Namespace" {
        if !meta.get("labels").is_some_and(Value::is_object) {
            meta["labels"] = json!({});
        }
        meta["labels"]["kubernetes.io/metadata.name"] = json!(name);
    }
    defaults(&mut object, ty);
    object
}

/// A few of the defaults and the status the API server and controllers add.
fn defaults(object: &mut Value, ty: &ApiType) {
    fn pod_spec(spec: &mut Value) {
        let Some(s) = spec.as_object_mut() else {
            return;
        };
        s.entry("restartPolicy").or_insert(json!("Always"));
        s.entry("dnsPolicy").or_insert(json!("ClusterFirst"));
        s.entry("schedulerName")
            .or_insert(json!("default-scheduler"));
        s.entry("terminationGracePeriodSeconds")
            .or_insert(json!(30));
        s.entry("securityContext").or_insert(json!({}));
        for field in ["initContainers", "containers"] {
            for c in s
                .get_mut(field)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(c) = c.as_object_mut() {
                    c.entry("terminationMessagePath")
                        .or_insert(json!("/dev/termination-log"));
                    c.entry("terminationMessagePolicy").or_insert(json!("File"));
                    c.entry("imagePullPolicy").or_insert(json!("IfNotPresent"));
                }
            }
        }
    }
    let status = match ty.kind.as_str() {
        "Deployment" | "StatefulSet" | "ReplicaSet" => {
            if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
                if ty.kind == "Deployment" {
                    spec.entry("revisionHistoryLimit").or_insert(json!(10));
                    spec.entry("progressDeadlineSeconds").or_insert(json!(600));
                }
            }
            if let Some(t) = object.pointer_mut("/spec/template/spec") {
                pod_spec(t);
            }
            let replicas = object
                .pointer("/spec/replicas")
                .cloned()
                .unwrap_or(json!(1));
            json!({"observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas})
        }
        "DaemonSet" => {
            if let Some(t) = object.pointer_mut("/spec/template/spec") {
                pod_spec(t);
            }
            json!({"observedGeneration": 1, "currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberReady": 3})
        }
        "Job" => {
            if let Some(t) = object.pointer_mut("/spec/template/spec") {
                pod_spec(t);
            }
            json!({"succeeded": 1})
        }
        "CronJob" => {
            if let Some(t) = object.pointer_mut("/spec/jobTemplate/spec/template/spec") {
                pod_spec(t);
            }
            json!({})
        }
        "Pod" => {
            if let Some(s) = object.get_mut("spec") {
                pod_spec(s);
            }
            json!({"phase": "Running"})
        }
        "Service" => {
            let headless =
                object.pointer("/spec/clusterIP").and_then(Value::as_str) == Some("None");
            let external =
                object.pointer("/spec/type").and_then(Value::as_str) == Some("ExternalName");
            if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
                spec.entry("type").or_insert(json!("ClusterIP"));
                spec.entry("sessionAffinity").or_insert(json!("None"));
                if !headless && !external {
                    spec.entry("clusterIP").or_insert(json!("10.100.7.21"));
                }
            }
            json!({"loadBalancer": {}})
        }
        "Namespace" => json!({"phase": "Active"}),
        "HorizontalPodAutoscaler" => json!({"currentReplicas": 2, "desiredReplicas": 2}),
        "Gateway" | "Certificate" | "ClusterIssuer" | "Issuer" => json!({"conditions": [{
            "type": "Ready", "status": "True", "reason": "Ready",
            "lastTransitionTime": "2026-01-05T10:01:00Z"
        }]}),
        _ => return,
    };
    if let Some(o) = object.as_object_mut() {
        o.insert("status".into(), status);
    }
}

/// One parsed request head.
#[derive(Clone)]
struct Head {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn read_head(reader: &mut BufReader<TcpStream>) -> Option<Head> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut authorization = None;
    let mut content_type = None;
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") {
                authorization = Some(v.trim().to_string());
            } else if k.eq_ignore_ascii_case("content-type") {
                content_type = Some(v.trim().to_string());
            } else if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    if length > 0 {
        std::io::Read::read_exact(reader, &mut body).ok()?;
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    Some(Head {
        method,
        path: decode(path),
        query,
        authorization,
        content_type,
        body,
    })
}

/// Percent-decoding of a URL component.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn status_object(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code
    })
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        415 => "Unsupported Media Type",
        405 => "Method Not Allowed",
        410 => "Gone",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

fn respond(stream: &mut TcpStream, code: u16, body: &Value) {
    let text = serde_json::to_vec(body).unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reason_phrase(code),
        text.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&text);
    let _ = stream.flush();
}

fn serve(shared: &Shared, stream: TcpStream) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut stream = stream;
    let Some(head) = read_head(&mut reader) else {
        return;
    };
    let (fault, token) = {
        let mut st = shared.lock();
        st.requests.push(Seen {
            method: head.method.clone(),
            path: head.path.clone(),
            query: head.query.clone(),
            authorized: head.authorization.is_some(),
        });
        let fault = st
            .faults
            .iter()
            .filter(|(p, _)| head.path.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, f)| f.clone());
        (fault, st.token.clone())
    };
    if let Some(expected) = token {
        if head.authorization.as_deref() != Some(&format!("Bearer {expected}")) {
            respond(
                &mut stream,
                401,
                &status_object(401, "Unauthorized", "Unauthorized"),
            );
            return;
        }
    }
    match fault {
        Some(Fault::Status(code)) => {
            let (reason, message) = match code {
                401 => ("Unauthorized", "Unauthorized".to_string()),
                403 => (
                    "Forbidden",
                    forbidden_message(&head).unwrap_or_else(|| "forbidden".into()),
                ),
                404 => ("NotFound", "the server could not find the requested resource".into()),
                _ => ("InternalError", "an error on the server (\"etcdserver: request timed out\") has prevented the request from succeeding".into()),
            };
            respond(&mut stream, code, &status_object(code, reason, &message));
            return;
        }
        Some(Fault::Delay(d)) => {
            let until = Instant::now() + d;
            while Instant::now() < until && !shared.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        _ => {}
    }
    if head.method == "PATCH" || head.method == "DELETE" {
        let (code, body) = write(shared, &head);
        respond(&mut stream, code, &body);
        return;
    }
    if head.method != "GET" {
        respond(
            &mut stream,
            405,
            &status_object(
                405,
                "MethodNotAllowed",
                "the server does not allow this method",
            ),
        );
        return;
    }
    let seen = Seen {
        method: head.method.clone(),
        path: head.path.clone(),
        query: head.query.clone(),
        authorized: true,
    };
    if seen.param("watch").is_some_and(|w| w == "true" || w == "1") {
        watch(shared, &mut stream, &head);
        return;
    }
    match fault {
        Some(Fault::Truncated) => {
            let (_, body) = route(shared, &head);
            let text = serde_json::to_vec(&body).unwrap_or_default();
            respond_raw(
                &mut stream,
                200,
                "application/json",
                &text[..text.len() / 2],
            );
        }
        Some(Fault::NotJson) => respond_raw(
            &mut stream,
            200,
            "text/html",
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        ),
        Some(Fault::SameToken | Fault::EndlessPages) => {
            // The first page, whatever `continue` asked for, and a token to go on.
            let mut first = head.clone();
            first.query.retain(|(k, _)| k != "continue");
            let (code, mut body) = route(shared, &first);
            let token = if matches!(fault, Some(Fault::SameToken)) {
                continue_token(1)
            } else {
                let n = shared.lock().requests.len();
                continue_token(n)
            };
            if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("continue".into(), json!(token));
            }
            respond(&mut stream, code, &body);
        }
        _ => {
            let (code, body) = route(shared, &head);
            respond(&mut stream, code, &body);
        }
    }
}

fn respond_raw(stream: &mut TcpStream, code: u16, content_type: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reason_phrase(code),
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

/// The message the real server gives a 403: `<resource>.<group> is forbidden: User "…" cannot
/// list resource "…" in API group "…" at the cluster scope`.
fn forbidden_message(head: &Head) -> Option<String> {
    let seen = Seen {
        method: head.method.clone(),
        path: head.path.clone(),
        query: head.query.clone(),
        authorized: true,
    };
    let (verb, group, resource) = seen.rbac()?;
    let qualified = if group.is_empty() {
        resource.clone()
    } else {
        format!("{resource}.{group}")
    };
    Some(format!(
        "{qualified} is forbidden: User \"system:serviceaccount:blogaudit:auditor\" cannot {verb} resource \"{resource}\" in API group \"{group}\" at the cluster scope"
    ))
}

/// Lists, objects and discovery.
fn route(shared: &Shared, head: &Head) -> (u16, Value) {
    let st = shared.lock();
    let parts: Vec<&str> = head.path.trim_matches('/').split('/').collect();
    let served = |t: &&ApiType| !st.removed.contains(&t.group);
    let not_found = (
        404,
        status_object(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    );
    match parts.as_slice() {
        ["version"] => (
            200,
            json!({"major": "1", "minor": "32", "gitVersion": "v1.32.3-eks-test", "platform": "linux/amd64"}),
        ),
        ["api"] => (
            200,
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}]}),
        ),
        ["apis"] => {
            let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for t in st
                .types
                .iter()
                .filter(served)
                .filter(|t| !t.group.is_empty())
            {
                let versions = groups.entry(&t.group).or_default();
                if !versions.contains(&t.version.as_str()) {
                    versions.push(&t.version);
                }
            }
            let groups: Vec<Value> = groups
                .into_iter()
                .map(|(g, vs)| {
                    let versions: Vec<Value> = vs
                        .iter()
                        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                        .collect();
                    json!({"name": g, "versions": versions, "preferredVersion": versions[0]})
                })
                .collect();
            (
                200,
                json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            )
        }
        ["api", version] | ["apis", _, version]
            if parts.len() == 2 || (parts[0] == "apis" && parts.len() == 3) =>
        {
            let group = if parts[0] == "api" { "" } else { parts[1] };
            let resources: Vec<Value> = st
                .types
                .iter()
                .filter(served)
                .filter(|t| t.group == group && t.version == *version)
                .map(|t| {
                    json!({
                        "name": t.plural, "singularName": t.kind.to_lowercase(),
                        "namespaced": t.namespaced, "kind": t.kind,
                        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
                    })
                })
                .collect();
            if resources.is_empty() {
                return not_found;
            }
            let gv = if group.is_empty() {
                (*version).to_string()
            } else {
                format!("{group}/{version}")
            };
            (
                200,
                json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
            )
        }
        _ => {
            let Some((ty, ns, name)) = resolve(&st, &parts) else {
                return not_found;
            };
            if st.removed.contains(&ty.group) {
                return not_found;
            }
            let in_scope = |k: &Key| {
                k.0 == ty.group && k.1 == ty.plural && ns.as_ref().is_none_or(|n| &k.2 == n)
            };
            if let Some(name) = name {
                return st
                    .objects
                    .iter()
                    .find(|(k, _)| in_scope(k) && k.3 == name)
                    .map_or_else(
                        || {
                            (
                                404,
                                status_object(
                                    404,
                                    "NotFound",
                                    &format!("{} \"{name}\" not found", ty.plural),
                                ),
                            )
                        },
                        |(_, v)| (200, v.clone()),
                    );
            }
            list(&st, &ty, head, in_scope)
        }
    }
}

/// (type, namespace, name) of a resource path.
fn resolve(st: &State, parts: &[&str]) -> Option<(ApiType, Option<String>, Option<String>)> {
    let (group, version, rest) = match parts {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let (ns, plural, name) = match rest {
        ["namespaces", ns, plural] => (Some(*ns), *plural, None),
        ["namespaces", ns, plural, name] => (Some(*ns), *plural, Some(*name)),
        [plural] => (None, *plural, None),
        [plural, name] => (None, *plural, Some(*name)),
        _ => return None,
    };
    let ty = st
        .types
        .iter()
        .find(|t| t.group == group && t.version == version && t.plural == plural)?;
    Some((ty.clone(), ns.map(str::to_string), name.map(str::to_string)))
}

/// A list page: `limit` items after the `continue` offset, items without `kind`/`apiVersion`.
fn list(st: &State, ty: &ApiType, head: &Head, in_scope: impl Fn(&Key) -> bool) -> (u16, Value) {
    let param = |n: &str| {
        head.query
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    let start = match param("continue") {
        Some(token) => match parse_continue(token) {
            Some(offset) => offset,
            None => {
                return (
                    400,
                    status_object(400, "BadRequest", "continue key is not valid"),
                )
            }
        },
        None => 0,
    };
    let limit = param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let selector = param("labelSelector").unwrap_or("");
    let all: Vec<&Value> = st
        .objects
        .iter()
        .filter(|(k, _)| in_scope(k))
        .map(|(_, v)| v)
        .filter(|v| matches_labels(v, selector))
        .collect();
    let end = limit.map_or(all.len(), |l| (start + l).min(all.len()));
    let items: Vec<Value> = all
        .get(start.min(all.len())..end)
        .unwrap_or_default()
        .iter()
        .map(|v| {
            let mut v = (*v).clone();
            if let Some(o) = v.as_object_mut() {
                o.remove("kind");
                o.remove("apiVersion");
            }
            v
        })
        .collect();
    let mut metadata = Map::new();
    metadata.insert("resourceVersion".into(), json!(st.rv.to_string()));
    if end < all.len() {
        metadata.insert("continue".into(), json!(continue_token(end)));
        metadata.insert("remainingItemCount".into(), json!(all.len() - end));
    }
    (
        200,
        json!({
            "kind": format!("{}List", ty.kind),
            "apiVersion": ty.api_version(),
            "metadata": metadata,
            "items": items,
        }),
    )
}

/// An opaque-looking continue token for an offset.
fn continue_token(offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{{\"v\":\"meta.k8s.io/v1\",\"start\":{offset}}}"))
}

fn parse_continue(token: &str) -> Option<usize> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    usize::try_from(v.get("start")?.as_u64()?).ok()
}

/// Streams watch events after `resourceVersion` until `timeoutSeconds` (default 5 s) or the
/// server stops: chunked newline-delimited `{"type", "object"}` like the real server.
fn watch(shared: &Shared, stream: &mut TcpStream, head: &Head) {
    let parts: Vec<&str> = head.path.trim_matches('/').split('/').collect();
    let param = |n: &str| {
        head.query
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    let (ty, ns) = {
        let st = shared.lock();
        match resolve(&st, &parts) {
            Some((ty, ns, None)) if !st.removed.contains(&ty.group) => (ty, ns),
            _ => {
                drop(st);
                respond(
                    stream,
                    404,
                    &status_object(
                        404,
                        "NotFound",
                        "the server could not find the requested resource",
                    ),
                );
                return;
            }
        }
    };
    let mut after: u64 = param("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let timeout = param("timeoutSeconds")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(5);
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let head_text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    if stream.write_all(head_text.as_bytes()).is_err() {
        return;
    }
    let _ = stream.flush();
    let mut st = shared.lock();
    loop {
        let pending: Vec<(u64, Value)> = st
            .events
            .iter()
            .filter(|(rv, g, p, _, obj)| {
                *rv > after
                    && g == &ty.group
                    && p == &ty.plural
                    && ns.as_ref().is_none_or(|n| {
                        obj.pointer("/metadata/namespace").and_then(Value::as_str) == Some(n)
                    })
            })
            .map(|(rv, _, _, kind, obj)| (*rv, json!({"type": kind, "object": obj})))
            .collect();
        drop(st);
        for (rv, event) in pending {
            let mut line = serde_json::to_vec(&event).unwrap_or_default();
            line.push(b'\n');
            let chunk = format!("{:x}\r\n", line.len());
            if stream.write_all(chunk.as_bytes()).is_err()
                || stream.write_all(&line).is_err()
                || stream.write_all(b"\r\n").is_err()
                || stream.flush().is_err()
            {
                return;
            }
            after = rv;
        }
        let now = Instant::now();
        if now >= deadline || shared.stop.load(Ordering::SeqCst) {
            let _ = stream.write_all(b"0\r\n\r\n");
            return;
        }
        st = shared.lock();
        let (guard, _) = shared
            .changed
            .wait_timeout(st, (deadline - now).min(Duration::from_millis(200)))
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st = guard;
    }
}

/// Whether `object`'s labels satisfy a selector of equality terms (`k=v,k2=v2`, also `==`),
/// the only form `live --apply-reports` uses; any other term matches nothing.
fn matches_labels(object: &Value, selector: &str) -> bool {
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) else {
            return false;
        };
        if k.ends_with('!') {
            return false;
        }
        object
            .pointer("/metadata/labels")
            .and_then(|l| l.get(k.trim()))
            .and_then(Value::as_str)
            == Some(v.trim())
    })
}

/// PATCH (server-side apply only) and DELETE of a named object.
///
/// Server-side apply (`application/apply-patch+yaml`, `?fieldManager=` required) creates the
/// object or replaces it with the applied configuration, and records the field manager in
/// `managedFields` with operation `Apply`. The body is read as JSON, which is YAML and what
/// kube clients send; a body that is not JSON is a 400 here (a real server would parse YAML).
fn write(shared: &Shared, head: &Head) -> (u16, Value) {
    let parts: Vec<&str> = head.path.trim_matches('/').split('/').collect();
    let mut st = shared.lock();
    let not_found = || {
        (
            404,
            status_object(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        )
    };
    let Some((ty, ns, Some(name))) = resolve(&st, &parts) else {
        return not_found();
    };
    if st.removed.contains(&ty.group) || ty.namespaced != ns.is_some() {
        return not_found();
    }
    let ns = ns.unwrap_or_default();
    let key = (
        ty.group.clone(),
        ty.plural.clone(),
        ns.clone(),
        name.clone(),
    );
    if head.method == "DELETE" {
        let Some(mut object) = st.objects.remove(&key) else {
            let message = format!("{}.{} \"{name}\" not found", ty.plural, ty.group);
            return (404, status_object(404, "NotFound", &message));
        };
        st.rv += 1;
        let rv = st.rv;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        st.events.push((rv, key.0, key.1, "DELETED", object));
        drop(st);
        shared.changed.notify_all();
        return (
            200,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                   "details": {"name": name, "group": ty.group, "kind": ty.plural}}),
        );
    }
    let bad = |code: u16, reason: &str, message: &str| (code, status_object(code, reason, message));
    if head.content_type.as_deref() != Some("application/apply-patch+yaml") {
        return bad(
            415,
            "UnsupportedMediaType",
            "this test server takes server-side apply patches only (application/apply-patch+yaml)",
        );
    }
    let Some(manager) = head
        .query
        .iter()
        .find(|(k, _)| k == "fieldManager")
        .map(|(_, v)| v.clone())
    else {
        return bad(
            400,
            "BadRequest",
            "PATCH, application/apply-patch+yaml: fieldManager is required for apply requests",
        );
    };
    let Ok(mut object) = serde_json::from_slice::<Value>(&head.body) else {
        return bad(400, "BadRequest", "the apply patch is not JSON");
    };
    let body_name = object.pointer("/metadata/name").and_then(Value::as_str);
    let body_ns = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    if body_name != Some(name.as_str()) || (ty.namespaced && !body_ns.is_empty() && body_ns != ns) {
        return bad(
            400,
            "BadRequest",
            "the name or namespace of the object does not match the request",
        );
    }
    if object["apiVersion"] != json!(ty.api_version()) || object["kind"] != json!(ty.kind) {
        return bad(
            400,
            "BadRequest",
            "the apiVersion or kind of the object does not match the request",
        );
    }
    st.rv += 1;
    let rv = st.rv;
    let existed = st.objects.get(&key).cloned();
    let meta = &mut object["metadata"];
    if ty.namespaced {
        meta["namespace"] = json!(ns);
    }
    meta["uid"] = existed
        .as_ref()
        .and_then(|o| o.pointer("/metadata/uid").cloned())
        .unwrap_or_else(|| json!(uid(&ty, &ns, &name)));
    meta["resourceVersion"] = json!(rv.to_string());
    meta["creationTimestamp"] = json!("2026-01-05T10:00:00Z");
    meta["generation"] = json!(1);
    meta["managedFields"] = json!([{
        "manager": manager,
        "operation": "Apply",
        "apiVersion": ty.api_version(),
        "time": "2026-01-05T11:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": {}
    }]);
    st.objects.insert(key.clone(), object.clone());
    let (code, event) = if existed.is_some() {
        (200, "MODIFIED")
    } else {
        (201, "ADDED")
    };
    st.events.push((rv, key.0, key.1, event, object.clone()));
    drop(st);
    shared.changed.notify_all();
    (code, object)
}
