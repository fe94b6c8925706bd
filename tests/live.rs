//! `blogaudit live` against the in-process Kubernetes API server of `common::kube_api`: the
//! production kube client talks HTTP to it, nothing is mocked in `src/`.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::kube_api::{Fault, KubeApi};
use common::{root, run_blogaudit_in_env, Run};
use serde_json::Value;

/// (rule, kind, namespace, name, field) of every active finding of a JSON report.
type Key = (String, String, String, String, String);

fn findings(report: &Value) -> BTreeSet<Key> {
    common::active_findings(report)
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap_or_default().to_string(),
                f["resource"]["kind"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                f["resource"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                f["resource"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                f["path"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Runs `blogaudit live` against `api` through a kubeconfig context `test`.
fn live(api: &KubeApi, home: &Path, args: &[&str]) -> Run {
    live_with(api, home, args, None)
}

fn live_with(api: &KubeApi, home: &Path, args: &[&str], token: Option<&str>) -> Run {
    let kubeconfig = api.kubeconfig(home, "test", token);
    let kubeconfig = kubeconfig.display().to_string();
    let mut all = vec![
        "live",
        "--kubeconfig",
        &kubeconfig,
        "--context",
        "test",
        "--only",
        "kubernetes",
    ];
    all.extend_from_slice(args);
    common::run_blogaudit_isolated(&root(), home, &all)
}

fn scan(dir: &Path, config: &Path) -> Value {
    let home = tempfile::tempdir().expect("tempdir");
    let env = common::isolated_env(home.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let dir = dir.display().to_string();
    let config = config.display().to_string();
    let run = run_blogaudit_in_env(
        &root(),
        &["scan", &dir, "--config", &config, "--format", "json"],
        Some(&env),
    );
    assert!(run.code <= 1, "scan failed: {}", run.stderr);
    run.json()
}

fn sample(name: &str) -> PathBuf {
    root().join("samples").join(name)
}

#[test]
fn live_findings_equal_scan_findings_on_the_broken_sample() {
    let api = KubeApi::with_manifests(&sample("blog-broken/k8s"));
    let home = tempfile::tempdir().expect("tempdir");
    let config = sample("blog-broken/blogaudit.toml").display().to_string();
    let run = live(
        &api,
        home.path(),
        &["--config", &config, "--format", "json", "--page-size", "7"],
    );
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let got = findings(&run.json());
    let want = findings(&scan(
        &sample("blog-broken/k8s"),
        &sample("blog-broken/blogaudit.toml"),
    ));
    assert!(!want.is_empty());
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "live and scan differ:\nonly in scan: {missing:#?}\nonly in live: {extra:#?}"
    );
    // Every finding points at the object, with the command that shows it.
    for f in run.json()["findings"].as_array().unwrap() {
        let object = f["object"].as_str().unwrap();
        assert!(object.contains("(kubectl get "), "{object}");
        assert!(f["file"].is_null());
    }
    assert!(run
        .stderr
        .contains("auditing cluster test (kubeconfig, context test"));
    // Lists were paged: limit on every list, continue tokens followed.
    let reqs = api.requests();
    let lists: Vec<_> = reqs
        .iter()
        .filter(|r| r.rbac().is_some_and(|(v, _, _)| v == "list"))
        .collect();
    assert!(lists.iter().all(|r| r.param("limit") == Some("7")));
    assert!(lists.iter().any(|r| r.param("continue").is_some()));
}

#[test]
fn the_compliant_sample_is_clean_live() {
    let api = KubeApi::with_manifests(&sample("blog/k8s"));
    let home = tempfile::tempdir().expect("tempdir");
    let config = sample("blog/blogaudit.toml").display().to_string();
    let run = live(
        &api,
        home.path(),
        &["--config", &config, "--format", "json"],
    );
    let report = run.json();
    assert_eq!(findings(&report), BTreeSet::new(), "stderr: {}", run.stderr);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(
        findings(&report),
        findings(&scan(&sample("blog/k8s"), &sample("blog/blogaudit.toml")))
    );
}

#[test]
fn only_read_verbs_are_used_and_the_readonly_role_allows_every_call() {
    let api = KubeApi::with_manifests(&sample("blog-broken/k8s"));
    let home = tempfile::tempdir().expect("tempdir");
    let run = live(&api, home.path(), &["--format", "json"]);
    assert!(run.code <= 1, "{}", run.stderr);
    let role: Value = {
        let text = std::fs::read_to_string(root().join("deploy/live/rbac-readonly.yaml"))
            .expect("deploy/live/rbac-readonly.yaml");
        let docs = blogaudit::source::k8s::parse("rbac-readonly.yaml", &text).0;
        docs.resources
            .into_iter()
            .find(|r| r.kind == "ClusterRole")
            .expect("a ClusterRole")
            .body
    };
    let rules = role["rules"].as_array().expect("rules");
    let allows = |verb: &str, group: &str, resource: &str| {
        rules.iter().any(|r| {
            let has = |field: &str, v: &str| {
                r[field]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == v))
            };
            has("verbs", verb) && has("apiGroups", group) && has("resources", resource)
        })
    };
    let allows_url = |path: &str| {
        rules.iter().any(|r| {
            r["nonResourceURLs"].as_array().is_some_and(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .any(|u| u == path || u.strip_suffix('*').is_some_and(|p| path.starts_with(p)))
            }) && r["verbs"]
                .as_array()
                .is_some_and(|v| v.iter().any(|x| x == "get"))
        })
    };
    let mut used = BTreeSet::new();
    for req in api.requests() {
        assert_eq!(req.method, "GET", "a write call: {req:?}");
        match req.rbac() {
            Some((verb, group, resource)) => {
                assert!(
                    allows(&verb, &group, &resource),
                    "the role does not allow {verb} {resource} in group `{group}`"
                );
                used.insert((group, resource));
            }
            None => assert!(
                allows_url(&req.path),
                "the role does not allow GET {}",
                req.path
            ),
        }
    }
    // The role grants read verbs only, and nothing the code does not read.
    for r in rules {
        for v in r["verbs"].as_array().unwrap() {
            assert!(
                ["get", "list", "watch"].contains(&v.as_str().unwrap()),
                "a write verb in the role: {v}"
            );
        }
        for g in r["apiGroups"].as_array().into_iter().flatten() {
            for res in r["resources"].as_array().unwrap() {
                let key = (
                    g.as_str().unwrap().to_string(),
                    res.as_str().unwrap().to_string(),
                );
                assert!(
                    used.contains(&key),
                    "the role grants {key:?}, which a live run never reads"
                );
            }
        }
    }
}

#[test]
fn a_forbidden_group_is_reported_and_the_rest_is_audited() {
    let api = KubeApi::with_manifests(&sample("blog-broken/k8s"));
    api.fault("/apis/apps/v1/deployments", Fault::Status(403));
    let home = tempfile::tempdir().expect("tempdir");
    let run = live(&api, home.path(), &["--format", "sarif"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let sarif = run.json();
    let run0 = &sarif["runs"][0];
    assert_eq!(
        run0["automationDetails"]["id"], "blogaudit/live/test/",
        "the category names the cluster"
    );
    let notes = run0["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    let forbidden = notes
        .iter()
        .find(|n| n["descriptor"]["id"] == "live-forbidden")
        .expect("a live-forbidden notification");
    let text = forbidden["message"]["text"].as_str().unwrap();
    assert!(text.contains("Deployment (apps/v1) not audited"), "{text}");
    assert!(
        text.contains("cannot list resource \"deployments\""),
        "{text}"
    );
    assert!(
        text.contains("grant `list` on `deployments` in API group `apps`"),
        "{text}"
    );
    // Other kinds were audited: StatefulSets, Services and the rest have results.
    let kinds: BTreeSet<&str> = run0["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].as_str())
        .filter_map(|n| n.split('/').next())
        .collect();
    assert!(!kinds.contains("Deployment"));
    assert!(kinds.contains("Service"), "{kinds:?}");
}

#[test]
fn a_missing_crd_is_a_note_not_an_error() {
    let api = KubeApi::with_manifests(&sample("blog/k8s"));
    api.remove_group("cert-manager.io");
    let home = tempfile::tempdir().expect("tempdir");
    let config = sample("blog/blogaudit.toml").display().to_string();
    let run = live(
        &api,
        home.path(),
        &["--config", &config, "--format", "json", "--verbose"],
    );
    let report = run.json();
    let diags = report["diagnostics"].as_array().unwrap();
    let note = diags
        .iter()
        .find(|d| d["code"] == "live-missing-kind")
        .expect("a note on the missing kinds");
    assert_eq!(note["level"], "note");
    let message = note["message"].as_str().unwrap();
    assert!(
        message.starts_with("Certificate, ClusterIssuer, Issuer not served")
            && message.contains("cert-manager.io"),
        "{message}"
    );
    assert!(diags.iter().all(|d| d["level"] != "error"), "{diags:#?}");
}

#[test]
fn a_rejected_token_stops_the_run_without_printing_it() {
    let api = KubeApi::with_manifests(&sample("blog/k8s"));
    api.require_token("the-right-token");
    let home = tempfile::tempdir().expect("tempdir");
    let run = live_with(&api, home.path(), &[], Some("an-expired-token-value"));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("401 Unauthorized") && run.stderr.contains("expired"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("an-expired-token-value")
            && !run.stdout.contains("an-expired-token-value")
    );
    // With the right token the same server is audited.
    let ok = live_with(&api, home.path(), &[], Some("the-right-token"));
    assert!(ok.code <= 1, "{}", ok.stderr);
}

#[test]
fn a_slow_api_group_times_out_and_the_rest_is_audited() {
    let api = KubeApi::with_manifests(&sample("blog-broken/k8s"));
    api.fault(
        "/apis/networking.k8s.io/v1/networkpolicies",
        Fault::Delay(Duration::from_secs(5)),
    );
    let home = tempfile::tempdir().expect("tempdir");
    let run = live(&api, home.path(), &["--timeout", "1", "--format", "json"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    let d = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "live-timeout")
        .expect("a timeout diagnostic");
    assert!(d["message"]
        .as_str()
        .unwrap()
        .starts_with("NetworkPolicy (networking.k8s.io/v1) not audited"));
    assert!(!findings(&report).is_empty());
}

#[test]
fn a_server_error_on_one_kind_is_reported() {
    let api = KubeApi::with_manifests(&sample("blog-broken/k8s"));
    api.fault("/apis/policy/v1/poddisruptionbudgets", Fault::Status(500));
    let home = tempfile::tempdir().expect("tempdir");
    let run = live(&api, home.path(), &["--format", "json"]);
    assert_eq!(run.code, 2);
    let report = run.json();
    assert!(report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["code"] == "live-api-error"
            && d["message"]
                .as_str()
                .unwrap()
                .starts_with("PodDisruptionBudget (policy/v1) not audited: 500")));
}

#[test]
fn an_unreachable_server_and_an_unknown_context_exit_2_with_help() {
    let home = tempfile::tempdir().expect("tempdir");
    let api = KubeApi::start();
    let kubeconfig = api.kubeconfig(home.path(), "test", None);
    drop(api);
    let env = common::isolated_env(home.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let k = kubeconfig.display().to_string();
    let run = run_blogaudit_in_env(
        &root(),
        &[
            "live",
            "--kubeconfig",
            &k,
            "--only",
            "kubernetes",
            "--timeout",
            "2",
        ],
        Some(&env),
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("error: cannot reach the API server"),
        "{}",
        run.stderr
    );
    let run = run_blogaudit_in_env(
        &root(),
        &[
            "live",
            "--kubeconfig",
            &k,
            "--context",
            "prod",
            "--only",
            "kubernetes",
        ],
        Some(&env),
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no context `prod`") && run.stderr.contains("it has: test"),
        "{}",
        run.stderr
    );
    // --cluster with no AWS configured and no such context: not found, both places named.
    let run = run_blogaudit_in_env(&root(), &["live", "--cluster", "prod"], Some(&env));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no cluster named `prod`"),
        "{}",
        run.stderr
    );
}

#[test]
fn secrets_and_server_bookkeeping_never_reach_the_output_or_the_snapshot() {
    let api = KubeApi::with_manifests(&sample("blog-broken/k8s"));
    api.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "posts"},
        "data": {"password": "c3VwZXItc2VjcmV0LXZhbHVl"},
        "stringData": {"token": "plain-secret-value"}
    }));
    let home = tempfile::tempdir().expect("tempdir");
    let save = home.path().join("snapshot");
    let s = save.display().to_string();
    let run = live(
        &api,
        home.path(),
        &["--format", "json", "--save", &s, "--verbose"],
    );
    assert!(run.code <= 1, "{}", run.stderr);
    let mut texts = vec![run.stdout.clone(), run.stderr.clone()];
    for e in walk(&save) {
        texts.push(std::fs::read_to_string(e).unwrap());
    }
    let saved_secret = save.join("posts/Secret.db.json");
    assert!(saved_secret.exists(), "the Secret's metadata is saved");
    for t in &texts {
        assert!(!t.contains("c3VwZXItc2VjcmV0LXZhbHVl") && !t.contains("plain-secret-value"));
        assert!(!t.contains("managedFields"));
        assert!(!t.contains("last-applied-configuration"));
    }
}

#[test]
fn a_saved_snapshot_scans_back_to_the_same_findings() {
    let api = KubeApi::with_manifests(&sample("blog-broken/k8s"));
    let home = tempfile::tempdir().expect("tempdir");
    let save = home.path().join("snapshot");
    let s = save.display().to_string();
    let config = sample("blog-broken/blogaudit.toml");
    let c = config.display().to_string();
    let run = live(
        &api,
        home.path(),
        &["--config", &c, "--format", "json", "--save", &s],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let again = scan(&save, &config);
    assert_eq!(findings(&run.json()), findings(&again));
}

#[test]
fn policy_reports_validate_against_the_crd_schema() {
    let api = KubeApi::with_manifests(&sample("blog-broken/k8s"));
    let home = tempfile::tempdir().expect("tempdir");
    let config = sample("blog-broken/blogaudit.toml").display().to_string();
    let run = live(
        &api,
        home.path(),
        &["--config", &config, "--format", "policyreport"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let list = run.json();
    let items = list["items"].as_array().unwrap();
    let schemas: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/policyreport-v1alpha2-schema.json"))
            .expect("schema fixture"),
    )
    .unwrap();
    let mut fails = 0;
    let mut namespaces = BTreeSet::new();
    for item in items {
        let kind = item["kind"].as_str().unwrap();
        let schema = &schemas[kind];
        assert!(schema.is_object(), "no schema for {kind}");
        let mut errors = Vec::new();
        common_openapi::validate(schema, item, "", &mut errors);
        assert!(errors.is_empty(), "{kind}: {errors:#?}");
        fails += item["summary"]["fail"].as_u64().unwrap();
        if kind == "PolicyReport" {
            namespaces.insert(item["metadata"]["namespace"].as_str().unwrap().to_string());
        }
    }
    let json_run = live(
        &api,
        home.path(),
        &["--config", &config, "--format", "json"],
    );
    assert_eq!(fails as usize, findings(&json_run.json()).len());
    assert!(namespaces.contains("posts"), "{namespaces:?}");
    assert!(items.iter().any(|i| i["kind"] == "ClusterPolicyReport"));
}

#[test]
fn every_kind_the_rules_look_up_is_read() {
    let mut looked_up = BTreeSet::new();
    for file in walk(&root().join("rules")) {
        if file.extension().is_none_or(|e| e != "rego") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for pat in ["objects(\"", "objects.", "objects, [\"", "objects[\""] {
            for (i, _) in text.match_indices(pat) {
                let rest = &text[i + pat.len()..];
                let kind: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == ':')
                    .collect();
                if !kind.is_empty() && !kind.starts_with("aws:") && kind != "kind" {
                    looked_up.insert(kind);
                }
            }
        }
    }
    let (rules, _) = blogaudit::rules::RuleSet::load(None);
    let mut read: BTreeSet<String> = rules
        .rules
        .iter()
        .flat_map(|r| r.meta.kinds.iter().cloned())
        .collect();
    read.extend(
        blogaudit::source::live::LOOKUP_KINDS
            .iter()
            .map(|k| (*k).to_string()),
    );
    let missing: Vec<_> = looked_up.difference(&read).collect();
    assert!(!looked_up.is_empty());
    assert!(
        missing.is_empty(),
        "rules look up kinds a live run does not read: {missing:?}"
    );
}

#[test]
fn the_test_server_serves_watch_events_in_order() {
    use std::io::{BufRead, BufReader, Write};
    let api = KubeApi::start();
    api.apply(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "x"}}));
    let rv: u64 = api.get("ConfigMap", "x", "a").unwrap()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let addr = api.url().trim_start_matches("http://").to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "GET /api/v1/namespaces/x/configmaps?watch=true&resourceVersion={}&timeoutSeconds=2 HTTP/1.1\r\nHost: x\r\n\r\n",
        rv - 1
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    api.apply(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "x"}}));
    assert!(api.delete("ConfigMap", "x", "a"));
    let events: Vec<Value> = BufReader::new(s)
        .lines()
        .map_while(Result::ok)
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("ADDED".into(), "a".into()),
            ("ADDED".into(), "b".into()),
            ("DELETED".into(), "a".into())
        ]
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect()
}

/// A structural OpenAPI v3 validator, enough for CRD schemas: `type`, `properties` (an
/// unknown field is an error: the API server would prune it), `additionalProperties`,
/// `required`, `enum`, `items`.
mod common_openapi {
    use serde_json::Value;

    pub fn validate(schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
        let ty = schema["type"].as_str().unwrap_or("");
        let ok = match ty {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "boolean" => v.is_boolean(),
            "number" => v.is_number(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: expected {ty}, got {v}"));
            return;
        }
        if let Some(allowed) = schema["enum"].as_array() {
            if !allowed.contains(v) {
                errors.push(format!("{at}: {v} is not one of {allowed:?}"));
            }
        }
        if let Some(req) = schema["required"].as_array() {
            for r in req.iter().filter_map(Value::as_str) {
                if v.get(r).is_none() {
                    errors.push(format!("{at}: `{r}` is required"));
                }
            }
        }
        if let (Some(obj), "object") = (v.as_object(), ty) {
            let props = schema["properties"].as_object();
            for (k, child) in obj {
                let path = format!("{at}/{k}");
                match (
                    props.and_then(|p| p.get(k)),
                    schema.get("additionalProperties"),
                ) {
                    (Some(s), _) | (None, Some(s)) => validate(s, child, &path, errors),
                    (None, None) if props.is_some() => {
                        errors.push(format!("{path}: unknown field"));
                    }
                    (None, None) => {}
                }
            }
        }
        if let (Some(items), Some(s)) = (v.as_array(), schema.get("items")) {
            for (i, item) in items.iter().enumerate() {
                validate(s, item, &format!("{at}/{i}"), errors);
            }
        }
    }
}

#[test]
fn the_kubeconfig_flag_wins_over_kubeconfig_and_the_report_names_it() {
    let api = KubeApi::with_manifests(&sample("blog/k8s"));
    let home = tempfile::tempdir().expect("tempdir");
    let kubeconfig = api.kubeconfig(home.path(), "test", None);
    let k = kubeconfig.display().to_string();
    let mut env = common::isolated_env(home.path());
    env.push((
        "KUBECONFIG".into(),
        home.path().join("elsewhere").display().to_string(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = run_blogaudit_in_env(
        &root(),
        &["live", "--kubeconfig", &k, "--only", "kubernetes"],
        Some(&env),
    );
    assert!(run.code <= 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "auditing cluster test (kubeconfig, context test, kubeconfig {k}, http://"
        )),
        "{}",
        run.stderr
    );
    // Outside a pod, --in-cluster says so.
    let run = run_blogaudit_in_env(&root(), &["live", "--in-cluster"], Some(&env));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--in-cluster: not running in a pod"),
        "{}",
        run.stderr
    );
}

#[test]
fn without_aws_credentials_the_cluster_is_audited_and_the_account_is_named_as_skipped() {
    let api = KubeApi::with_manifests(&sample("blog-broken/k8s"));
    let home = tempfile::tempdir().expect("tempdir");
    let kubeconfig = api.kubeconfig(home.path(), "test", None);
    let k = kubeconfig.display().to_string();
    let mut env = common::isolated_env(home.path());
    env.push(("AWS_REGION".into(), "eu-west-1".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = run_blogaudit_in_env(
        &root(),
        &["live", "--kubeconfig", &k, "--format", "json"],
        Some(&env),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    assert!(!findings(&report).is_empty());
    let d = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "live-aws-error")
        .expect("the AWS side is named as not audited");
    assert!(d["message"]
        .as_str()
        .unwrap()
        .starts_with("the AWS side was not audited: no AWS credentials"));
    assert!(d["help"]
        .as_str()
        .unwrap()
        .ends_with("or pass --only kubernetes"));
}

/// The PolicyReports and the ClusterPolicyReport stored in `api`, by `Kind/namespace/name`.
fn stored_reports(api: &KubeApi) -> std::collections::BTreeMap<String, Value> {
    let mut out = std::collections::BTreeMap::new();
    for kind in ["PolicyReport", "ClusterPolicyReport"] {
        for r in api.all(kind) {
            let ns = r["metadata"]["namespace"].as_str().unwrap_or_default();
            let name = r["metadata"]["name"].as_str().unwrap_or_default();
            let id = if ns.is_empty() {
                format!("{kind}/{name}")
            } else {
                format!("{kind}/{ns}/{name}")
            };
            out.insert(id, r);
        }
    }
    out
}

/// A report's results without their timestamps (two renderings of one run may differ there).
fn results_of(report: &Value) -> Vec<Value> {
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("timestamp");
            r
        })
        .collect()
}

#[test]
fn apply_reports_writes_the_reports_and_removes_the_ones_no_longer_produced() {
    let api = KubeApi::with_manifests(&sample("blog-broken/k8s"));
    // Another tool's report in a namespace blogaudit also reports on: never touched.
    api.apply(serde_json::json!({
        "apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
        "metadata": {"name": "kyverno-pod-security", "namespace": "posts",
                     "labels": {"app.kubernetes.io/managed-by": "kyverno"}},
        "summary": {"pass": 1, "fail": 0, "warn": 0, "error": 0, "skip": 0},
        "results": []
    }));
    let home = tempfile::tempdir().expect("tempdir");
    let config = sample("blog-broken/blogaudit.toml").display().to_string();
    let args = [
        "--config",
        &config,
        "--format",
        "policyreport",
        "--apply-reports",
    ];
    let run = live(&api, home.path(), &args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let printed = run.json();
    let printed = printed["items"].as_array().expect("items");
    let stored = stored_reports(&api);
    assert!(stored.contains_key("PolicyReport/posts/kyverno-pod-security"));
    let ours: Vec<&Value> = stored
        .values()
        .filter(|r| r["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "blogaudit")
        .collect();
    assert_eq!(ours.len(), printed.len(), "{:?}", stored.keys());
    assert!(run.stderr.contains(&format!(
        "applied {} report(s), deleted 0 stale report(s)",
        printed.len()
    )));
    // What was applied is what `--format policyreport` prints, applied by blogaudit.
    for want in printed {
        let kind = want["kind"].as_str().unwrap();
        let ns = want["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = want["metadata"]["name"].as_str().unwrap();
        let got = api
            .get(kind, ns, name)
            .unwrap_or_else(|| panic!("{kind} {ns}/{name} was not applied"));
        assert_eq!(got["summary"], want["summary"], "{kind} {ns}");
        assert_eq!(results_of(&got), results_of(want), "{kind} {ns}");
        assert_eq!(got["metadata"]["labels"], want["metadata"]["labels"]);
        assert_eq!(
            got["metadata"]["labels"]["blogaudit.io/category"],
            "blogaudit.live.test"
        );
        let managers = got["metadata"]["managedFields"].as_array().unwrap();
        assert!(managers
            .iter()
            .any(|m| m["manager"] == "blogaudit" && m["operation"] == "Apply"));
    }
    // One report per namespace with findings or checked objects, and the cluster's.
    let namespaces: BTreeSet<&str> = ours
        .iter()
        .filter_map(|r| r["metadata"]["namespace"].as_str())
        .collect();
    for ns in [
        "argocd",
        "cert-manager",
        "default",
        "monitoring",
        "posts",
        "traefik",
        "user",
    ] {
        assert!(
            namespaces.contains(ns),
            "no report for {ns}: {namespaces:?}"
        );
    }
    let posts = api.get("PolicyReport", "posts", "blogaudit").unwrap();
    let fails: BTreeSet<&str> = posts["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] == "fail")
        .map(|r| r["policy"].as_str().unwrap())
        .collect();
    assert_eq!(
        fails,
        BTreeSet::from(["BA102", "BA110", "BA131", "BA132", "BA150"])
    );
    assert_eq!(posts["summary"]["fail"], 5);
    let cluster = api
        .get("ClusterPolicyReport", "", "blogaudit-cluster")
        .unwrap();
    assert_eq!(cluster["summary"]["fail"], 2, "BA130 and BA121");
    let uid = posts["metadata"]["uid"].clone();

    // The debug Role, the only object of `default`, is removed: its report goes; the others
    // are updated in place; the other tool's report stays.
    assert!(api.delete("Role", "default", "pod-reader"));
    let run = live(&api, home.path(), &args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("report(s), deleted 1 stale report(s)"),
        "{}",
        run.stderr
    );
    let stored = stored_reports(&api);
    assert!(!stored.contains_key("PolicyReport/default/blogaudit"));
    assert!(stored.contains_key("PolicyReport/posts/kyverno-pod-security"));
    assert_eq!(
        stored["PolicyReport/posts/blogaudit"]["metadata"]["uid"],
        uid
    );
    assert_eq!(
        stored.len(),
        run.json()["items"].as_array().unwrap().len() + 1
    );
    let deletes: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path)
        .collect();
    assert_eq!(
        deletes,
        ["/apis/wgpolicyk8s.io/v1alpha2/namespaces/default/policyreports/blogaudit"]
    );
}

#[test]
fn a_refused_report_write_exits_2_and_the_audit_is_still_reported() {
    let api = KubeApi::with_manifests(&sample("blog-broken/k8s"));
    api.fault(
        "/apis/wgpolicyk8s.io/v1alpha2/namespaces",
        Fault::Status(403),
    );
    let home = tempfile::tempdir().expect("tempdir");
    let run = live(&api, home.path(), &["--format", "json", "--apply-reports"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!findings(&run.json()).is_empty(), "the audit's report");
    assert!(
        run.stderr
            .contains("error: the PolicyReports were not written: cannot apply PolicyReport/"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("403 Forbidden"), "{}", run.stderr);
    assert!(run
        .stderr
        .contains("cannot patch resource \"policyreports\""));
    assert!(run
        .stderr
        .contains("help: grant create, patch, list and delete on policyreports"));
    assert!(api.all("PolicyReport").is_empty());
}

/// The rules of the ClusterRoles bound to the CronJob's ServiceAccount in `deploy/live/`.
fn cronjob_roles() -> Vec<(String, Value)> {
    let mut docs = Vec::new();
    for file in ["rbac-readonly.yaml", "cronjob.yaml"] {
        let text = std::fs::read_to_string(root().join("deploy/live").join(file)).expect(file);
        docs.extend(
            blogaudit::source::k8s::parse(file, &text)
                .0
                .resources
                .into_iter()
                .map(|r| r.body),
        );
    }
    let bound: BTreeSet<String> = docs
        .iter()
        .filter(|d| d["kind"] == "ClusterRoleBinding")
        .filter(|d| {
            d["subjects"].as_array().is_some_and(|s| {
                s.iter().any(|s| {
                    s["kind"] == "ServiceAccount"
                        && s["name"] == "blogaudit"
                        && s["namespace"] == "blogaudit"
                })
            })
        })
        .map(|d| d["roleRef"]["name"].as_str().unwrap().to_string())
        .collect();
    docs.iter()
        .filter(|d| d["kind"] == "ClusterRole")
        .filter(|d| bound.contains(d["metadata"]["name"].as_str().unwrap()))
        .map(|d| {
            (
                d["metadata"]["name"].as_str().unwrap().to_string(),
                d["rules"].clone(),
            )
        })
        .collect()
}

#[test]
fn the_cronjob_roles_allow_every_call_of_an_applying_run_and_write_reports_only() {
    let roles = cronjob_roles();
    let names: BTreeSet<&str> = roles.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from(["blogaudit-readonly", "blogaudit-reports"])
    );
    let rules: Vec<&Value> = roles
        .iter()
        .flat_map(|(_, r)| r.as_array().unwrap())
        .collect();
    let allows = |verb: &str, group: &str, resource: &str| {
        rules.iter().any(|r| {
            let has = |field: &str, v: &str| {
                r[field]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == v))
            };
            has("verbs", verb) && has("apiGroups", group) && has("resources", resource)
        })
    };
    // Two runs: the second deletes a report the first wrote.
    let api = KubeApi::with_manifests(&sample("blog-broken/k8s"));
    let home = tempfile::tempdir().expect("tempdir");
    let run = live(&api, home.path(), &["--format", "json", "--apply-reports"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(api.delete("Role", "default", "pod-reader"));
    // A cluster report of an older blogaudit under another name: stale too.
    api.apply(serde_json::json!({
        "apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "ClusterPolicyReport",
        "metadata": {"name": "blogaudit-old", "labels": {
            "app.kubernetes.io/managed-by": "blogaudit",
            "blogaudit.io/category": "blogaudit.live.test"}},
        "results": []
    }));
    let run = live(&api, home.path(), &["--format", "json", "--apply-reports"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("deleted 2 stale report(s)"),
        "{}",
        run.stderr
    );
    assert!(api
        .get("ClusterPolicyReport", "", "blogaudit-old")
        .is_none());
    assert!(api
        .get("ClusterPolicyReport", "", "blogaudit-cluster")
        .is_some());
    let mut writes = BTreeSet::new();
    for req in api.requests() {
        let Some((verb, group, resource)) = req.rbac() else {
            continue;
        };
        // Server-side apply of a new object needs `create` besides `patch`.
        let needed: &[&str] = if verb == "patch" {
            &["patch", "create"]
        } else {
            &[verb.as_str()]
        };
        for v in needed {
            assert!(
                allows(v, &group, &resource),
                "the CronJob's roles do not allow {v} {resource} in group `{group}`"
            );
            if group == "wgpolicyk8s.io" {
                writes.insert(((*v).to_string(), resource.clone()));
            }
        }
    }
    // The writing role grants exactly what the report writer uses, on the reports only.
    let (_, reports) = roles
        .iter()
        .find(|(n, _)| n == "blogaudit-reports")
        .unwrap();
    let mut granted = BTreeSet::new();
    for r in reports.as_array().unwrap() {
        assert_eq!(r["apiGroups"], serde_json::json!(["wgpolicyk8s.io"]));
        for v in r["verbs"].as_array().unwrap() {
            for res in r["resources"].as_array().unwrap() {
                granted.insert((
                    v.as_str().unwrap().to_string(),
                    res.as_str().unwrap().to_string(),
                ));
            }
        }
    }
    let code: BTreeSet<(String, String)> = blogaudit::source::live::reports::WRITES
        .iter()
        .map(|(v, r)| ((*v).to_string(), (*r).to_string()))
        .collect();
    assert_eq!(granted, code);
    assert_eq!(writes, code, "every granted write is used by the two runs");
}

#[test]
fn the_deploy_manifests_scan_clean() {
    let home = tempfile::tempdir().expect("tempdir");
    let env = common::isolated_env(home.path());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = run_blogaudit_in_env(
        &root(),
        &["scan", "deploy/", "--format", "json"],
        Some(&env),
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(findings(&report), BTreeSet::new());
    assert_eq!(report["summary"]["errors"], 0);
    // The CronJob is checked: the same manifests with a writable root filesystem fail BA103.
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(root().join("deploy/live/cronjob.yaml")).unwrap();
    assert!(text.contains("readOnlyRootFilesystem: true"));
    std::fs::write(
        dir.path().join("cronjob.yaml"),
        text.replace(
            "readOnlyRootFilesystem: true",
            "readOnlyRootFilesystem: false",
        ),
    )
    .unwrap();
    let d = dir.path().display().to_string();
    let run = run_blogaudit_in_env(&root(), &["scan", &d, "--format", "json"], Some(&env));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let got: Vec<_> = findings(&run.json())
        .into_iter()
        .map(|k| (k.0, k.1, k.3))
        .collect();
    assert_eq!(
        got,
        [(
            "BA103".to_string(),
            "CronJob".to_string(),
            "blogaudit".to_string()
        )]
    );
}

/// Hostile or broken answers of the API server, one kind at a time: each run ends within a
/// bound with exit 2, an error naming the kind and the problem, no panic, and every other
/// kind still audited (the broken sample's findings on the other kinds are all there).
#[test]
fn hostile_api_answers_are_bounded_and_named() {
    let healthy = {
        let api = KubeApi::with_manifests(&sample("blog-broken/k8s"));
        let home = tempfile::tempdir().expect("tempdir");
        findings(&live(&api, home.path(), &["--format", "json"]).json())
    };
    let deployments = "/apis/apps/v1/deployments";
    let cases: Vec<(&str, &str, Fault, &str)> = vec![
        ("a truncated JSON list", deployments, Fault::Truncated, "Deployment (apps/v1) not audited: "),
        ("an HTML page with status 200", deployments, Fault::NotJson, "Deployment (apps/v1) not audited: "),
        ("the same continue token forever", deployments, Fault::SameToken, "Deployment (apps/v1) not audited: the list's paging does not end (the same continue token came back)"),
        ("new continue tokens over the same page forever", deployments, Fault::EndlessPages, "Deployment (apps/v1) not audited: the list's paging does not end (20 pages in a row brought no new object)"),
        ("a 500 on every Service list", "/api/v1/services", Fault::Status(500), "Service (v1) not audited: 500"),
        ("a 429 on every NetworkPolicy list", "/apis/networking.k8s.io/v1/networkpolicies", Fault::Status(429), "NetworkPolicy (networking.k8s.io/v1) not audited: 429"),
    ];
    let count = cases.len();
    for (name, prefix, fault, wanted) in cases {
        let api = KubeApi::with_manifests(&sample("blog-broken/k8s"));
        api.fault(prefix, fault);
        let home = tempfile::tempdir().expect("tempdir");
        let started = std::time::Instant::now();
        let run = live(&api, home.path(), &["--format", "json", "--page-size", "5"]);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{name}: too slow"
        );
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        let report = run.json();
        let diags = report["diagnostics"].as_array().expect("diagnostics");
        assert!(
            diags.iter().any(|d| d["level"] == "error"
                && d["message"].as_str().is_some_and(|m| m.contains(wanted))),
            "{name}: {diags:#?}"
        );
        // The kinds that answered are all audited: every finding of a rule that judges an
        // object alone (no lookups) on another kind is still there.
        let kind = wanted.split(' ').next().expect("kind");
        let got = findings(&report);
        let alone = [
            "BA101", "BA102", "BA103", "BA104", "BA105", "BA110", "BA151", "BA160",
        ];
        let expected: Vec<&Key> = healthy
            .iter()
            .filter(|f| alone.contains(&f.0.as_str()) && f.1 != kind)
            .collect();
        assert!(!expected.is_empty(), "{name}");
        for f in expected {
            assert!(got.contains(f), "{name}: {f:?} missing");
        }
    }
    println!("{count} hostile API answers checked");
}
