//! `blogaudit webhook`: reviews answered in process (axum `oneshot`), over real TLS on
//! loopback with rcgen certificates, and with a cluster cache fed by the in-process
//! Kubernetes API test server.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use blogaudit::pipeline::admission::{Judged, Mode, Settings, Unsure};
use blogaudit::pipeline::Options as PipelineOptions;
use blogaudit::webhook::{self, Failure, Options, Server, Shared};
use common::https::{get_plain, trusting, Cert, Conn};
use common::kube_api::{manifest_objects, KubeApi};
use futures_util::StreamExt as _;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample(name: &str) -> PathBuf {
    root().join("samples").join(name)
}

/// Webhook options with the certificate in `dir`, free ports, and no cluster.
fn options(dir: &Path, cert: &Cert) -> Options {
    let (c, k) = (dir.join("tls.crt"), dir.join("tls.key"));
    cert.write(&c, &k);
    Options {
        tls_cert: c,
        tls_key: k,
        addr: "127.0.0.1:0".parse().expect("addr"),
        metrics_addr: Some("127.0.0.1:0".parse().expect("addr")),
        settings: Settings::default(),
        failure: Failure::Allow,
        deadline: Duration::from_secs(3),
        stale_after: Duration::from_secs(60),
        tls_poll: Duration::from_millis(100),
        verdict_cache: 4096,
        cluster: None,
        pipeline: PipelineOptions {
            base: root(),
            today: blogaudit::model::date::today(),
            ..PipelineOptions::default()
        },
    }
}

fn review_of(object: &Value, operation: &str, uid: &str) -> Value {
    let api_version = object["apiVersion"].as_str().unwrap_or("v1");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": version, "kind": object["kind"]},
            "operation": operation,
            "namespace": object["metadata"]["namespace"].as_str().unwrap_or(""),
            "name": object["metadata"]["name"],
            "object": object,
        }
    })
}

fn review(object: &Value) -> Value {
    review_of(object, "CREATE", "0c2ff6f4-6a0a-4a0e-9d1e-000000000001")
}

/// A Deployment of the compliant sample, and one of the broken sample.
fn deployment(sample_name: &str) -> Value {
    manifest_objects(&sample(sample_name))
        .into_iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["namespace"] == "posts")
        .expect("a Deployment in namespace posts")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The in-process router of a webhook with `opts`.
fn app(opts: &Options) -> axum::Router {
    webhook::router(Arc::new(Shared::new(opts).expect("the webhook starts")))
}

async fn call(app: &axum::Router, body: Body, length: Option<usize>) -> (u16, Value) {
    let mut req = axum::http::Request::post("/validate").header("content-type", "application/json");
    if let Some(n) = length {
        req = req.header("content-length", n);
    }
    let resp = app
        .clone()
        .oneshot(req.body(body).expect("request"))
        .await
        .expect("a response");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn post(app: &axum::Router, v: &Value) -> (u16, Value) {
    let bytes = serde_json::to_vec(v).expect("json");
    let n = bytes.len();
    call(app, Body::from(bytes), Some(n)).await
}

fn warnings(answer: &Value) -> Vec<String> {
    answer["response"]["warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Options whose cross-resource rules are out of the way (no cluster, unsure findings
/// dropped), so that a test sees the rules that judge the object alone.
fn alone(dir: &Path) -> Options {
    let mut o = options(dir, &Cert::new("alone"));
    o.settings.unsure = Unsure::Allow;
    o
}

#[test]
fn a_compliant_object_is_allowed_and_a_broken_one_denied_with_rule_field_and_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app(&alone(dir.path()));
    runtime().block_on(async {
        let (status, answer) = post(&app, &review(&deployment("blog"))).await;
        assert_eq!(status, 200);
        assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(answer["kind"], "AdmissionReview");
        assert_eq!(
            answer["response"]["uid"],
            "0c2ff6f4-6a0a-4a0e-9d1e-000000000001"
        );
        assert_eq!(answer["response"]["allowed"], true, "{answer:#}");
        assert!(warnings(&answer).is_empty(), "{answer:#}");

        let (status, answer) = post(&app, &review(&deployment("blog-broken"))).await;
        assert_eq!(status, 200);
        let response = &answer["response"];
        assert_eq!(response["allowed"], false, "{answer:#}");
        assert_eq!(response["status"]["code"], 403);
        let message = response["status"]["message"].as_str().expect("message");
        // Each finding: rule ID and name, the field path, the message and the remediation.
        let line = message
            .lines()
            .find(|l| {
                l.starts_with("BA102 no-privilege-escalation at /spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation: ")
            })
            .unwrap_or_else(|| panic!("{message}"));
        assert!(line.ends_with(" Fix: Set `securityContext.allowPrivilegeEscalation: false` on every container."), "{line}");
    });
}

#[test]
fn a_review_sent_again_gets_the_same_answer_without_being_judged_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = alone(dir.path());
    let rt = runtime();
    for entries in [1024, 0] {
        opts.verdict_cache = entries;
        let shared = Arc::new(Shared::new(&opts).expect("the webhook starts"));
        let app = webhook::router(Arc::clone(&shared));
        rt.block_on(async {
            for object in [deployment("blog"), deployment("blog-broken")] {
                let (_, first) = post(&app, &review_of(&object, "CREATE", "uid-1")).await;
                let (_, again) = post(&app, &review_of(&object, "CREATE", "uid-2")).await;
                // The same answer but for its uid.
                let mut expected = first["response"].clone();
                expected["uid"] = json!("uid-2");
                assert_eq!(again["response"], expected);
            }
            // A changed object is judged again: BA102 is gone from its answer.
            let mut fixed = deployment("blog-broken");
            fixed["spec"]["template"]["spec"]["containers"][0]["securityContext"]
                ["allowPrivilegeEscalation"] = json!(false);
            let (_, answer) = post(&app, &review_of(&fixed, "CREATE", "uid-3")).await;
            assert!(!answer.to_string().contains("BA102"), "{answer:#}");
            // So is every review once the rules' view of the cluster changes.
            shared.admission.refresh(Vec::new(), 7);
            let (_, again) = post(&app, &review_of(&fixed, "CREATE", "uid-3")).await;
            assert_eq!(again, answer);
        });
        let (hits, misses) = shared.verdicts.counts();
        if entries == 0 {
            assert_eq!((hits, misses), (0, 0), "nothing is kept with 0 entries");
        } else {
            assert_eq!((hits, misses), (2, 4));
        }
    }
}

#[test]
fn a_warn_action_admits_with_a_warning_and_audit_mode_admits_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("blogaudit.toml");
    std::fs::write(&config, "[rules.action]\nBA151 = \"warn\"\n").expect("config");
    let mut opts = alone(dir.path());
    opts.pipeline.config = Some(config);
    let app = app(&opts);
    let mut object = deployment("blog");
    for c in object["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .expect("containers")
    {
        c.as_object_mut().expect("container").remove("resources");
    }
    runtime().block_on(async {
        let (_, answer) = post(&app, &review(&object)).await;
        assert_eq!(answer["response"]["allowed"], true, "{answer:#}");
        let w = warnings(&answer);
        assert!(
            !w.is_empty()
                && w.iter()
                    .all(|w| w.starts_with("BA151 resources-requested at ")),
            "{w:#?}"
        );
    });

    let mut audit = alone(dir.path());
    audit.settings.mode = Mode::Audit;
    let app = self::app(&audit);
    runtime().block_on(async {
        let (_, answer) = post(&app, &review(&deployment("blog-broken"))).await;
        assert_eq!(answer["response"]["allowed"], true, "{answer:#}");
        assert!(answer["response"].get("status").is_none());
        let w = warnings(&answer);
        assert!(
            w.iter().any(|w| w.starts_with("would deny: BA102 ")),
            "{w:#?}"
        );
    });
}

#[test]
fn a_suppressed_finding_is_admitted_and_shown_as_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app(&alone(dir.path()));
    let mut object = deployment("blog");
    object["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] =
        json!(true);
    runtime().block_on(async {
        let (_, answer) = post(&app, &review(&object)).await;
        assert_eq!(answer["response"]["allowed"], false, "{answer:#}");
        object["metadata"]["annotations"] =
            json!({"blogaudit.io/ignore": "BA104: the node agent needs the host's devices"});
        let (_, answer) = post(&app, &review(&object)).await;
        assert_eq!(answer["response"]["allowed"], true, "{answer:#}");
        let w = warnings(&answer);
        assert!(
            w.iter()
                .any(|w| w.starts_with("BA104 suppressed on Deployment/posts/")
                    && w.ends_with("the node agent needs the host's devices")),
            "{w:#?}"
        );
    });
}

#[test]
fn delete_connect_and_subresources_are_admitted_and_dry_runs_judged_alike() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app(&alone(dir.path()));
    let broken = deployment("blog-broken");
    runtime().block_on(async {
        for op in ["DELETE", "CONNECT"] {
            let mut r = review_of(&broken, op, "u-1");
            r["request"]["oldObject"] = broken.clone();
            r["request"]["object"] = Value::Null;
            let (status, answer) = post(&app, &r).await;
            assert_eq!(
                (status, &answer["response"]["allowed"]),
                (200, &json!(true))
            );
        }
        let mut r = review_of(&broken, "UPDATE", "u-2");
        r["request"]["subResource"] = json!("status");
        let (_, answer) = post(&app, &r).await;
        assert_eq!(answer["response"]["allowed"], true, "{answer:#}");

        let (_, plain) = post(&app, &review(&broken)).await;
        let mut dry = review(&broken);
        dry["request"]["dryRun"] = json!(true);
        let (_, dry) = post(&app, &dry).await;
        assert_eq!(dry["response"]["allowed"], false);
        assert_eq!(dry["response"]["status"], plain["response"]["status"]);
    });
}

#[test]
fn bad_requests_get_a_4xx_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = alone(dir.path());
    opts.deadline = Duration::from_millis(400);
    let app = app(&opts);
    runtime().block_on(async {
        let (status, answer) = call(&app, Body::from("{not json"), None).await;
        assert_eq!(status, 400);
        assert!(
            answer["message"]
                .as_str()
                .unwrap_or("")
                .contains("not JSON"),
            "{answer}"
        );

        let mut old = review(&deployment("blog"));
        old["apiVersion"] = json!("admission.k8s.io/v1beta1");
        let (status, answer) = post(&app, &old).await;
        assert_eq!(status, 400);
        assert!(
            answer["message"]
                .as_str()
                .unwrap_or("")
                .contains("admissionReviewVersions"),
            "{answer}"
        );

        let mut no_uid = review(&deployment("blog"));
        no_uid["request"]
            .as_object_mut()
            .expect("request")
            .remove("uid");
        let (status, answer) = post(&app, &no_uid).await;
        assert_eq!(status, 400);
        assert!(
            answer["message"].as_str().unwrap_or("").contains("no uid"),
            "{answer}"
        );

        // Over 3 MiB: refused by its declared length, and by what arrives when it declares
        // none.
        let mut big = review(&deployment("blog"));
        big["request"]["object"]["metadata"]["annotations"] =
            json!({"filler": "x".repeat(webhook::BODY_LIMIT)});
        let (status, answer) = post(&app, &big).await;
        assert_eq!(status, 413);
        assert!(
            answer["message"].as_str().unwrap_or("").contains("3 MiB"),
            "{answer}"
        );
        let bytes = serde_json::to_vec(&big).expect("json");
        let (status, _) = call(&app, Body::from(bytes), None).await;
        assert_eq!(status, 413);

        // A client that sends half a body and stops: answered at the deadline, not held.
        let half = serde_json::to_vec(&review(&deployment("blog"))).expect("json");
        let first = half[..half.len() / 2].to_vec();
        let stream = futures_util::stream::once(async move {
            Ok::<_, std::io::Error>(axum::body::Bytes::from(first))
        })
        .chain(futures_util::stream::pending());
        let started = Instant::now();
        let (status, answer) = call(&app, Body::from_stream(stream), None).await;
        assert_eq!(status, 408, "{answer}");
        assert!(started.elapsed() < Duration::from_secs(3));
    });
}

const SLOW_RULE: &str = r#"# METADATA
# title: A rule that takes seconds on a ConfigMap
# description: |
#   ## What it checks
#   Nothing useful: it counts nine million products.
#   ## Why it matters
#   A test of the review deadline.
#   ## How to fix
#   Nothing.
#   ## References
#   - https://example.com
# custom:
#   id: BA903
#   name: slow-rule
#   severity: low
#   category: security
#   sources: [W]
#   kinds: [ConfigMap]
#   remediation: Nothing.
package blogaudit.BA903

import rego.v1

violation contains v if {
	input.kind == "ConfigMap"
	n := count([x | some i in numbers.range(1, 3000); some j in numbers.range(1, 3000); x := i * j])
	n < 0
	v := {"path": ["metadata", "name"], "message": "never"}
}
"#;

#[test]
fn a_review_past_its_deadline_answers_by_the_failure_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules/BA903-slow-rule");
    std::fs::create_dir_all(&rules).expect("mkdir");
    std::fs::write(rules.join("rule.rego"), SLOW_RULE).expect("rule");
    let config_map = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "posts"},
        "data": {"a": "b"},
    });
    for (failure, allowed) in [(Failure::Allow, true), (Failure::Deny, false)] {
        let mut opts = alone(dir.path());
        opts.pipeline.rules = Some(dir.path().join("rules"));
        opts.deadline = Duration::from_millis(300);
        opts.failure = failure;
        let app = app(&opts);
        runtime().block_on(async {
            let started = Instant::now();
            let (status, answer) = post(&app, &review(&config_map)).await;
            let took = started.elapsed();
            assert_eq!(status, 200);
            assert!(took < Duration::from_millis(1500), "{took:?}");
            let response = &answer["response"];
            assert_eq!(response["allowed"], allowed, "{answer:#}");
            let text = if allowed {
                warnings(&answer).join("\n")
            } else {
                response["status"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            };
            assert!(text.contains("passed its deadline of 300 ms"), "{text}");
        });
    }
}

#[test]
fn an_answer_with_a_rule_error_is_judged_again_each_time() {
    // A user rule (interpreted) that runs past its time limit on every Deployment: a rule
    // error, beside the findings that refuse the broken sample's Deployment.
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules/BA903-slow-rule");
    std::fs::create_dir_all(&rules).expect("mkdir");
    let slow = SLOW_RULE
        .replace("kinds: [ConfigMap]", "kinds: [Deployment]")
        .replace(
            "input.kind == \"ConfigMap\"",
            "input.kind == \"Deployment\"",
        )
        .replace("numbers.range(1, 3000)", "numbers.range(1, 30000)");
    std::fs::write(rules.join("rule.rego"), slow).expect("rule");
    let mut opts = alone(dir.path());
    opts.pipeline.rules = Some(dir.path().join("rules"));
    opts.deadline = Duration::from_secs(20);
    let shared = Arc::new(Shared::new(&opts).expect("the webhook starts"));
    let app = webhook::router(Arc::clone(&shared));
    let object = deployment("blog-broken");
    runtime().block_on(async {
        for uid in ["uid-1", "uid-2"] {
            let (status, answer) = post(&app, &review_of(&object, "CREATE", uid)).await;
            assert_eq!(status, 200);
            assert_eq!(answer["response"]["allowed"], false, "{answer:#}");
        }
    });
    assert_eq!(shared.verdicts.counts(), (0, 2), "judged twice, kept never");
}

/// A webhook serving on loopback, on its own runtime thread, until dropped.
struct Running {
    addr: SocketAddr,
    metrics: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    fn start(opts: Options) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            runtime().block_on(async move {
                let server = Server::bind(opts).await.expect("bind");
                tx.send((
                    server.addr().expect("addr"),
                    server.metrics_addr().expect("metrics addr"),
                    server.shared(),
                ))
                .expect("send");
                server
                    .run(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        let (addr, metrics, shared) = rx.recv().expect("the server starts");
        Self {
            addr,
            metrics,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Waits until /readyz answers 200 on the metrics port.
    fn wait_ready(&self, rt: &tokio::runtime::Runtime) {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = rt.block_on(get_plain(self.metrics, "/readyz"));
            if status == 200 {
                return;
            }
            assert!(Instant::now() < until, "never ready: {body}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The lines a denial lists and the warnings, as the webhook words them.
fn answered(answer: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let denials = answer["response"]["status"]["message"]
        .as_str()
        .map(|m| m.lines().skip(1).map(str::to_string).collect())
        .unwrap_or_default();
    (denials, warnings(answer).into_iter().collect())
}

#[test]
fn over_tls_the_samples_get_the_findings_scan_gives() {
    let rt = runtime();
    for (name, clean) in [("blog", true), ("blog-broken", false)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let api = KubeApi::with_manifests(&sample(name));
        let cert = Cert::new("samples");
        let mut opts = options(dir.path(), &cert);
        opts.pipeline.config = Some(sample(name).join("blogaudit.toml"));
        opts.cluster = Some(cluster(&api, dir.path()));
        let running = Running::start(opts.clone());
        running.wait_ready(&rt);

        // What scan says about each object, through the webhook's own wording.
        let outcome = blogaudit::pipeline::run(
            &PipelineOptions {
                paths: vec![sample(name).join("k8s")],
                ..opts.pipeline.clone()
            },
            &blogaudit::pipeline::Selection::default(),
        );
        let rules = running.shared.admission.rules();
        let mut denied = 0;
        let objects = manifest_objects(&sample(name).join("k8s"));
        assert!(objects.len() > 20, "{}", objects.len());
        let mut conn = rt.block_on(Conn::open(running.addr, trusting(&[&cert])));
        for (i, object) in objects.iter().enumerate() {
            let kind = object["kind"].as_str().unwrap_or("");
            let ns = object["metadata"]["namespace"].as_str().unwrap_or("");
            let obj_name = object["metadata"]["name"].as_str().unwrap_or("");
            let mut want_deny = BTreeSet::new();
            let mut want_warn = BTreeSet::new();
            for f in &outcome.findings {
                if f.resource.kind != kind || f.resource.name != obj_name {
                    continue;
                }
                if !f.resource.namespace.is_empty() && f.resource.namespace != ns {
                    continue;
                }
                let Some(rule) = rules.get(&f.rule_id) else {
                    continue; // not a webhook rule
                };
                let judged = Judged {
                    finding: f.clone(),
                    remediation: rule.meta.remediation.clone(),
                };
                match (&f.suppression, rule.meta.action) {
                    (Some(_), _) => {}
                    (None, blogaudit::model::Action::Deny) => {
                        want_deny.insert(judged.line());
                    }
                    (None, blogaudit::model::Action::Warn) => {
                        want_warn.insert(judged.line().chars().take(200).collect::<String>());
                    }
                }
            }
            let body = serde_json::to_vec(&review_of(object, "CREATE", &format!("uid-{i}")))
                .expect("json");
            let (status, bytes) = rt.block_on(conn.send("POST", "/validate", body));
            assert_eq!(status, 200);
            let answer: Value = serde_json::from_slice(&bytes).expect("json answer");
            assert_eq!(answer["response"]["uid"], format!("uid-{i}"));
            let (denials, warns) = answered(&answer);
            let what = format!("{kind} {ns}/{obj_name}");
            assert_eq!(denials, want_deny, "{what}: {answer:#}");
            for w in &want_warn {
                assert!(
                    warns.iter().any(|x| x.starts_with(w.as_str())),
                    "{what}: {w} in {warns:#?}"
                );
            }
            assert_eq!(
                answer["response"]["allowed"],
                want_deny.is_empty(),
                "{what}"
            );
            if clean {
                assert!(want_deny.is_empty() && want_warn.is_empty(), "{what}");
            }
            denied += usize::from(!want_deny.is_empty());
        }
        if !clean {
            assert!(denied >= 5, "only {denied} objects denied");
        }
    }
}

/// The live-mode options that point the cache at `api`.
fn cluster(api: &KubeApi, dir: &Path) -> blogaudit::source::live::Options {
    blogaudit::source::live::Options {
        cluster: None,
        context: None,
        kubeconfig: Some(api.kubeconfig(dir, "test", None)),
        in_cluster: false,
        region: None,
        profile: None,
        only: Some(blogaudit::source::live::Only::Kubernetes),
        timeout: Duration::from_secs(5),
        page_size: 50,
        kinds: BTreeSet::new(),
        progress: None,
    }
}

#[test]
fn the_cache_flips_a_decision_when_a_network_policy_comes_and_goes() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let api = KubeApi::with_manifests(&sample("blog"));
    let cert = Cert::new("cache");
    let mut opts = options(dir.path(), &cert);
    opts.pipeline.config = Some(sample("blog").join("blogaudit.toml"));
    opts.cluster = Some(cluster(&api, dir.path()));
    let running = Running::start(opts);
    running.wait_ready(&rt);
    let object = deployment("blog");
    let mut conn = rt.block_on(Conn::open(running.addr, trusting(&[&cert])));
    let ask = |conn: &mut Conn| -> Value {
        let body = serde_json::to_vec(&review(&object)).expect("json");
        let (_, bytes) = rt.block_on(conn.send("POST", "/validate", body));
        serde_json::from_slice(&bytes).expect("json")
    };
    let first = ask(&mut conn);
    assert_eq!(first["response"]["allowed"], true, "{first:#}");

    // The NetworkPolicies of namespace posts, removed through the API: a watch event each.
    let policies: Vec<Value> = manifest_objects(&sample("blog"))
        .into_iter()
        .filter(|o| o["kind"] == "NetworkPolicy" && o["metadata"]["namespace"] == "posts")
        .collect();
    assert!(!policies.is_empty());
    for p in &policies {
        assert!(api.delete(
            "NetworkPolicy",
            "posts",
            p["metadata"]["name"].as_str().expect("name")
        ));
    }
    let until = Instant::now() + Duration::from_secs(20);
    let denied = loop {
        let a = ask(&mut conn);
        if a["response"]["allowed"] == false {
            break a;
        }
        assert!(Instant::now() < until, "never denied: {a:#}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let message = denied["response"]["status"]["message"]
        .as_str()
        .unwrap_or("");
    assert!(
        message
            .lines()
            .skip(1)
            .all(|l| l.starts_with("BA120 network-policy-coverage at ")),
        "{message}"
    );

    for p in policies {
        api.apply(p);
    }
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let a = ask(&mut conn);
        if a["response"]["allowed"] == true {
            break;
        }
        assert!(Instant::now() < until, "never admitted again: {a:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The view was prepared per change, and the cache is counted in the metrics.
    let (status, text) = rt.block_on(get_plain(running.metrics, "/metrics"));
    assert_eq!(status, 200);
    assert!(
        text.contains("blogaudit_webhook_cache_objects{kind=\"NetworkPolicy\"}"),
        "{text}"
    );
    assert!(text.contains("blogaudit_webhook_cache_synced 1"), "{text}");
}

#[test]
fn a_status_update_alone_prepares_no_new_view() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let api = KubeApi::with_manifests(&sample("blog"));
    let cert = Cert::new("status");
    let mut opts = options(dir.path(), &cert);
    opts.cluster = Some(cluster(&api, dir.path()));
    let running = Running::start(opts);
    running.wait_ready(&rt);
    let cache_generation = || running.shared.cache.get().expect("cache").generation();
    let policy = manifest_objects(&sample("blog"))
        .into_iter()
        .find(|o| o["kind"] == "NetworkPolicy")
        .expect("a NetworkPolicy");
    let before = (cache_generation(), running.shared.admission.generation());

    // A controller writes the status (a new resourceVersion): nothing the rules see changed.
    let mut with_status = policy.clone();
    with_status["status"] = json!({"conditions": [{"type": "Accepted", "status": "True"}]});
    api.apply(with_status.clone());
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        (cache_generation(), running.shared.admission.generation()),
        before
    );

    // A change of its spec is a change.
    let mut changed = with_status;
    changed["spec"]["podSelector"] = json!({"matchLabels": {"app": "nothing"}});
    api.apply(changed);
    let until = Instant::now() + Duration::from_secs(20);
    while running.shared.admission.generation() == before.1 {
        assert!(Instant::now() < until, "the change never reached the view");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(cache_generation() > before.0);
}

#[test]
fn not_ready_until_the_cluster_answers_and_the_cache_syncs() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let api = KubeApi::with_manifests(&sample("blog"));
    api.fault(
        "/apis/networking.k8s.io",
        common::kube_api::Fault::Status(500),
    );
    let cert = Cert::new("ready");
    let mut opts = options(dir.path(), &cert);
    opts.cluster = Some(cluster(&api, dir.path()));
    let running = Running::start(opts);
    std::thread::sleep(Duration::from_millis(1500));
    let (status, body) = rt.block_on(get_plain(running.metrics, "/readyz"));
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not ready"), "{body}");
    // Liveness holds while readiness waits.
    let (status, _) = rt.block_on(get_plain(running.metrics, "/healthz"));
    assert_eq!(status, 200);
    api.clear_faults();
    running.wait_ready(&rt);
}

#[test]
fn a_rotated_certificate_is_served_to_new_connections_while_old_ones_go_on() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let old = Cert::new("before rotation");
    let opts = alone(dir.path());
    old.write(&opts.tls_cert, &opts.tls_key);
    let running = Running::start(opts.clone());
    let new = Cert::new("after rotation");
    let both = trusting(&[&old, &new]);
    let mut before = rt.block_on(Conn::open(running.addr, Arc::clone(&both)));
    assert_eq!(before.peer, old.der());
    let body = serde_json::to_vec(&review(&deployment("blog"))).expect("json");
    assert_eq!(
        rt.block_on(before.send("POST", "/validate", body.clone()))
            .0,
        200
    );

    new.write(&opts.tls_cert, &opts.tls_key);
    let until = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let c = rt.block_on(Conn::open(running.addr, Arc::clone(&both)));
        if c.peer == new.der() {
            break c;
        }
        assert!(
            Instant::now() < until,
            "the new certificate was never served"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(after);
    // The connection opened before the rotation still answers, with its own session.
    let (status, bytes) = rt.block_on(before.send("POST", "/validate", body));
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(answer["response"]["allowed"], true);

    // A broken file is not taken: the new certificate stays, and the error is counted.
    std::fs::write(&opts.tls_cert, "not a certificate").expect("write");
    std::thread::sleep(Duration::from_millis(400));
    let c = rt.block_on(Conn::open(running.addr, both));
    assert_eq!(c.peer, new.der());
    let (_, text) = rt.block_on(get_plain(running.metrics, "/metrics"));
    assert!(
        text.contains("blogaudit_webhook_tls_reloads_total 1"),
        "{text}"
    );
    assert!(
        text.contains("blogaudit_webhook_tls_reload_errors_total 1"),
        "{text}"
    );
}

#[test]
fn the_metrics_scrape_cleanly() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = Cert::new("metrics");
    let running = Running::start(options(dir.path(), &cert));
    let mut conn = rt.block_on(Conn::open(running.addr, trusting(&[&cert])));
    for object in [deployment("blog"), deployment("blog-broken")] {
        let body = serde_json::to_vec(&review(&object)).expect("json");
        assert_eq!(rt.block_on(conn.send("POST", "/validate", body)).0, 200);
    }
    assert_eq!(
        rt.block_on(conn.send("POST", "/validate", b"[]".to_vec()))
            .0,
        400
    );
    let (status, text) = rt.block_on(get_plain(running.metrics, "/metrics"));
    assert_eq!(status, 200);
    // Every sample line is `name{labels} value` with a number, and every family has a TYPE.
    let mut typed = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            typed.insert(rest.split(' ').next().expect("name").to_string());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample line");
        assert!(value.parse::<f64>().is_ok(), "{line}");
        let name = series.split('{').next().expect("name");
        let family = name
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count");
        assert!(typed.contains(family) || typed.contains(name), "{line}");
    }
    assert!(
        text.contains("blogaudit_webhook_reviews_total{result=\"denied\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("blogaudit_webhook_reviews_total{result=\"rejected\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("blogaudit_webhook_review_duration_seconds_count 3"),
        "{text}"
    );
    assert!(
        text.contains("blogaudit_webhook_findings_total{rule=\"BA102\",action=\"deny\"} 1"),
        "{text}"
    );
}

/// Hostile or broken AdmissionReviews: each is answered within a bound, with a 4xx and a
/// reason, or with a 200 answer for its uid; nothing panics, and the Secret's value in one of
/// them appears in no answer.
#[test]
fn hostile_admission_reviews_are_answered_within_bounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app(&alone(dir.path()));
    let good = deployment("blog");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut r = review(&good);
        f(&mut r);
        serde_json::to_vec(&r).expect("json")
    };
    let secret_value = "aHVudGVyMi1zM2NyZXQ="; // base64 of a password
    let mut many_containers = good.clone();
    let container = good["spec"]["template"]["spec"]["containers"][0].clone();
    many_containers["spec"]["template"]["spec"]["containers"] = json!(vec![container; 2_000]);
    let cases: Vec<(&str, Vec<u8>, &[u16])> = vec![
        ("empty body", Vec::new(), &[400]),
        ("null", b"null".to_vec(), &[400]),
        ("an array", b"[]".to_vec(), &[400]),
        ("a string", b"\"review\"".to_vec(), &[400]),
        ("not UTF-8", vec![0xff, 0xfe, b'{', 0x80], &[400]),
        ("nesting 100k deep", "[".repeat(100_000).into_bytes(), &[400]),
        ("a number out of range", br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":{"x":1e400}}}"#.to_vec(), &[400]),
        ("kind missing", with(&|r| { r.as_object_mut().expect("o").remove("kind"); }), &[400]),
        ("kind wrong", with(&|r| r["kind"] = json!("ConversionReview")), &[400]),
        ("request not an object", with(&|r| r["request"] = json!(5)), &[400]),
        ("request missing", with(&|r| { r.as_object_mut().expect("o").remove("request"); }), &[400]),
        ("uid a number", with(&|r| r["request"]["uid"] = json!(7)), &[400]),
        ("uid empty", with(&|r| r["request"]["uid"] = json!("")), &[400]),
        ("object a string", with(&|r| r["request"]["object"] = json!("x")), &[200]),
        ("object an array", with(&|r| r["request"]["object"] = json!([1, 2])), &[200]),
        ("object without kind", with(&|r| {
            r["request"]["object"].as_object_mut().expect("o").remove("kind");
            r["request"]["kind"] = json!({});
        }), &[200]),
        ("metadata a string", with(&|r| r["request"]["object"]["metadata"] = json!("m")), &[200]),
        ("containers a string", with(&|r| r["request"]["object"]["spec"]["template"]["spec"]["containers"] = json!("x")), &[200]),
        ("containers of numbers", with(&|r| r["request"]["object"]["spec"]["template"]["spec"]["containers"] = json!([1, 2])), &[200]),
        ("a 1 MiB label value", with(&|r| r["request"]["object"]["metadata"]["labels"] = json!({"big": "v".repeat(1 << 20)})), &[200]),
        ("control characters in the name", with(&|r| r["request"]["object"]["metadata"]["name"] = json!("a\u{1b}[31mred\u{0}")), &[200]),
        ("a 1 MiB uid", with(&|r| r["request"]["uid"] = json!("u".repeat(1 << 20))), &[200]),
        ("2,000 containers", serde_json::to_vec(&review(&many_containers)).expect("json"), &[200]),
        ("an unknown operation", with(&|r| r["request"]["operation"] = json!("PATCH")), &[200]),
        ("a List", with(&|r| r["request"]["object"] = json!({"apiVersion": "v1", "kind": "List", "items": [good.clone()]})), &[200]),
        ("a Secret with values", with(&|r| r["request"]["object"] = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": "default", "annotations": {"note": secret_value}},
            "data": {"password": secret_value}, "stringData": {"token": secret_value},
        })), &[200]),
        ("just over 3 MiB", with(&|r| r["request"]["object"]["metadata"]["annotations"] = json!({"f": "x".repeat(webhook::BODY_LIMIT)})), &[413]),
    ];
    let count = cases.len();
    runtime().block_on(async {
        for (name, body, statuses) in cases {
            let uid = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["request"]["uid"].as_str().map(str::to_string));
            let started = Instant::now();
            let n = body.len();
            let (status, answer) = call(&app, Body::from(body), Some(n)).await;
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{name}: too slow"
            );
            assert!(statuses.contains(&status), "{name}: {status} {answer:.300}");
            if status == 200 {
                assert_eq!(answer["response"]["uid"].as_str(), uid.as_deref(), "{name}");
                assert!(answer["response"]["allowed"].is_boolean(), "{name}");
            } else {
                assert!(
                    answer["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{name}: no reason"
                );
            }
            assert!(
                !answer.to_string().contains(secret_value),
                "{name}: a Secret value leaked"
            );
        }
    });
    println!("{count} hostile AdmissionReviews answered");
}
