//! The manifests that deploy blogaudit itself (`deploy/`): they pass blogaudit's own rules,
//! and the admission webhook's (`deploy/webhook/`) fails open, skips the namespaces it must
//! never block, registers for exactly the kinds its rules check, and holds a read-only role.
//! Needs `kubectl` on PATH (it renders the kustomization), as the scan itself does.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::root;
use serde_json::{json, Value};

/// The namespace the webhook runs in (shared with `deploy/live/`).
const NS: &str = "blogaudit";

/// `(rule, kind, namespace, name)` of every finding that is not suppressed.
fn active_findings(report: &Value) -> Vec<(String, String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    common::active_findings(report)
        .map(|f| {
            (
                s(&f["rule_id"]),
                s(&f["resource"]["kind"]),
                s(&f["resource"]["namespace"]),
                s(&f["resource"]["name"]),
            )
        })
        .collect()
}

/// Diagnostics above note level (`warning`, `error`), one line each.
fn problems(report: &Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["level"] != "note")
        .map(Value::to_string)
        .collect()
}

#[test]
fn the_deploy_manifests_scan_clean() {
    let home = tempfile::tempdir().expect("tempdir");
    let run = common::run_blogaudit_isolated(
        &root(),
        home.path(),
        &["scan", "deploy/", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(active_findings(&report), Vec::new(), "{report:#}");
    assert_eq!(report["summary"]["findings"], 0);
    assert_eq!(report["summary"]["errors"], 0);
    assert_eq!(problems(&report), Vec::<String>::new());

    // The webhook's manifests are part of that scan: the same tree with a writable root
    // filesystem for the webhook gives exactly that finding.
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_tree(&root().join("deploy"), &dir.path().join("deploy"));
    let file = dir.path().join("deploy/webhook/deployment.yaml");
    let text = std::fs::read_to_string(&file).expect("deployment.yaml");
    assert_eq!(text.matches("readOnlyRootFilesystem: true").count(), 1);
    std::fs::write(
        &file,
        text.replace(
            "readOnlyRootFilesystem: true",
            "readOnlyRootFilesystem: false",
        ),
    )
    .expect("write");
    let run = common::run_blogaudit_isolated(
        dir.path(),
        home.path(),
        &["scan", "deploy/", "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        active_findings(&run.json()),
        [(
            "BA103".to_string(),
            "Deployment".to_string(),
            NS.to_string(),
            "blogaudit-webhook".to_string()
        )]
    );
}

/// The objects `kubectl apply -k deploy/webhook` applies, read with blogaudit's own parser.
fn rendered() -> Vec<Value> {
    let out = std::process::Command::new("kubectl")
        .args(["kustomize", "deploy/webhook"])
        .current_dir(root())
        .output()
        .expect("kubectl is on PATH (it renders kustomizations)");
    assert!(
        out.status.success(),
        "kubectl kustomize deploy/webhook: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let parsed = blogaudit::source::k8s::parse("deploy/webhook", &text).0;
    assert!(
        parsed.diagnostics.is_empty(),
        "{:?}",
        parsed
            .diagnostics
            .iter()
            .map(|d| d.one_line())
            .collect::<Vec<_>>()
    );
    parsed.resources.into_iter().map(|r| r.body).collect()
}

fn one<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "one {kind} {name}");
    found[0]
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

/// The API group and resource of each kind the rules may name.
fn group_resource(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "Pod" => ("", "pods"),
        "ReplicationController" => ("", "replicationcontrollers"),
        "Service" => ("", "services"),
        "ServiceAccount" => ("", "serviceaccounts"),
        "ConfigMap" => ("", "configmaps"),
        "Secret" => ("", "secrets"),
        "PersistentVolumeClaim" => ("", "persistentvolumeclaims"),
        "Namespace" => ("", "namespaces"),
        "Deployment" => ("apps", "deployments"),
        "StatefulSet" => ("apps", "statefulsets"),
        "DaemonSet" => ("apps", "daemonsets"),
        "ReplicaSet" => ("apps", "replicasets"),
        "Job" => ("batch", "jobs"),
        "CronJob" => ("batch", "cronjobs"),
        "NetworkPolicy" => ("networking.k8s.io", "networkpolicies"),
        "Ingress" => ("networking.k8s.io", "ingresses"),
        "Role" => ("rbac.authorization.k8s.io", "roles"),
        "RoleBinding" => ("rbac.authorization.k8s.io", "rolebindings"),
        "ClusterRole" => ("rbac.authorization.k8s.io", "clusterroles"),
        "ClusterRoleBinding" => ("rbac.authorization.k8s.io", "clusterrolebindings"),
        "HorizontalPodAutoscaler" => ("autoscaling", "horizontalpodautoscalers"),
        "PodDisruptionBudget" => ("policy", "poddisruptionbudgets"),
        "Gateway" => ("gateway.networking.k8s.io", "gateways"),
        "GatewayClass" => ("gateway.networking.k8s.io", "gatewayclasses"),
        "HTTPRoute" => ("gateway.networking.k8s.io", "httproutes"),
        "GRPCRoute" => ("gateway.networking.k8s.io", "grpcroutes"),
        "TCPRoute" => ("gateway.networking.k8s.io", "tcproutes"),
        "TLSRoute" => ("gateway.networking.k8s.io", "tlsroutes"),
        "ReferenceGrant" => ("gateway.networking.k8s.io", "referencegrants"),
        "Certificate" => ("cert-manager.io", "certificates"),
        "Issuer" => ("cert-manager.io", "issuers"),
        "ClusterIssuer" => ("cert-manager.io", "clusterissuers"),
        other => panic!(
            "a rule checks {other}: add its group and resource here and, if the webhook runs \
             the rule, to deploy/webhook/webhook.yaml"
        ),
    }
}

/// `(group, resource)` of every kind that a rule the webhook runs (source W) checks.
fn webhook_rule_kinds() -> BTreeSet<(String, String)> {
    let home = tempfile::tempdir().expect("tempdir");
    let run = common::run_blogaudit_isolated(&root(), home.path(), &["rules", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut out = BTreeSet::new();
    for rule in run.json().as_array().expect("rules") {
        if !strings(&rule["sources"]).contains("W") {
            continue;
        }
        for kind in strings(&rule["kinds"]) {
            let (group, resource) = group_resource(&kind);
            out.insert((group.to_string(), resource.to_string()));
        }
    }
    assert!(out.len() > 10, "{out:?}");
    out
}

#[test]
fn the_webhook_fails_open_and_never_blocks_the_namespaces_it_needs() {
    let objects = rendered();
    let config = one(&objects, "ValidatingWebhookConfiguration", "blogaudit");
    let webhooks = config["webhooks"].as_array().expect("webhooks");
    assert_eq!(webhooks.len(), 1);
    let hook = &webhooks[0];

    assert_eq!(hook["sideEffects"], "None");
    let timeout = hook["timeoutSeconds"].as_u64().expect("timeoutSeconds set");
    assert!(timeout <= 5, "timeoutSeconds {timeout}");
    assert_eq!(hook["admissionReviewVersions"], json!(["v1"]));
    assert_eq!(hook["failurePolicy"], "Ignore");
    assert_eq!(hook["matchPolicy"], "Equivalent");
    assert_eq!(
        hook["clientConfig"],
        json!({"service": {"name": "blogaudit-webhook", "namespace": NS, "path": "/validate", "port": 443}})
    );

    // The namespaceSelector: nothing but exclusions.
    let selector = &hook["namespaceSelector"];
    assert!(selector.get("matchLabels").is_none(), "{selector}");
    let expressions = selector["matchExpressions"]
        .as_array()
        .expect("matchExpressions");
    let by_name = expressions
        .iter()
        .find(|e| e["key"] == "kubernetes.io/metadata.name")
        .expect("an expression on kubernetes.io/metadata.name");
    assert_eq!(by_name["operator"], "NotIn");
    let skipped = strings(&by_name["values"]);
    for ns in ["kube-system", "kube-node-lease", NS] {
        assert!(skipped.contains(ns), "{ns} is not skipped: {skipped:?}");
    }
    assert!(
        expressions.contains(&json!({"key": "blogaudit.io/ignore", "operator": "DoesNotExist"})),
        "{expressions:?}"
    );
    assert_eq!(expressions.len(), 2, "{expressions:?}");
    // Its own namespace is also labelled, so either exclusion alone keeps it out.
    let namespace = one(&objects, "Namespace", NS);
    assert_eq!(
        namespace["metadata"]["labels"]["blogaudit.io/ignore"],
        "true"
    );

    // CREATE and UPDATE of exactly the kinds of the rules the webhook runs.
    let mut registered = BTreeSet::new();
    for rule in hook["rules"].as_array().expect("rules") {
        assert_eq!(
            strings(&rule["operations"]),
            strings(&json!(["CREATE", "UPDATE"]))
        );
        assert!(rule.get("scope").is_none_or(|s| s == "*"), "{rule}");
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                assert!(
                    registered.insert((group.clone(), resource.clone())),
                    "{group}/{resource} registered twice"
                );
            }
        }
    }
    let checked = webhook_rule_kinds();
    assert_eq!(
        (
            checked.difference(&registered).collect::<Vec<_>>(),
            registered.difference(&checked).collect::<Vec<_>>()
        ),
        (Vec::new(), Vec::new()),
        "(checked by a webhook rule but not registered, registered but checked by none)"
    );

    // The CA comes from the serving Certificate, whose Secret the pods mount whole.
    let (cert_ns, cert_name) = config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
        .as_str()
        .expect("the cert-manager.io/inject-ca-from annotation")
        .split_once('/')
        .expect("namespace/name");
    assert_eq!(cert_ns, NS);
    let cert = one(&objects, "Certificate", cert_name);
    assert_eq!(cert["metadata"]["namespace"], NS);
    let names = strings(&cert["spec"]["dnsNames"]);
    for name in [
        format!("blogaudit-webhook.{NS}.svc"),
        format!("blogaudit-webhook.{NS}.svc.cluster.local"),
    ] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }
    let issuer = one(
        &objects,
        "Issuer",
        cert["spec"]["issuerRef"]["name"].as_str().unwrap(),
    );
    assert_eq!(issuer["metadata"]["namespace"], NS);

    let deployment = one(&objects, "Deployment", "blogaudit-webhook");
    let pod = &deployment["spec"]["template"]["spec"];
    let volume = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["secret"]["secretName"] == cert["spec"]["secretName"])
        .expect("the serving certificate's Secret is a volume");
    let container = &pod["containers"][0];
    let mount = container["volumeMounts"]
        .as_array()
        .expect("volumeMounts")
        .iter()
        .find(|m| m["name"] == volume["name"])
        .expect("mounted");
    assert_eq!(mount["readOnly"], true);
    assert!(
        mount.get("subPath").is_none(),
        "a subPath mount never sees a renewed certificate"
    );
    let dir = mount["mountPath"].as_str().unwrap();

    // The arguments agree: the certificate from that mount, an answer before the API server
    // gives up, and an object the webhook cannot evaluate is admitted, as failurePolicy says.
    let args: BTreeMap<&str, &str> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(|a| a.as_str()?.split_once('='))
        .collect();
    assert_eq!(container["args"][0], "webhook");
    assert_eq!(args["--tls-cert"], format!("{dir}/tls.crt"));
    assert_eq!(args["--tls-key"], format!("{dir}/tls.key"));
    assert_eq!(args["--port"], "8443");
    assert_eq!(args["--failure-mode"], "allow");
    let deadline: u64 = args["--deadline-ms"].parse().expect("--deadline-ms");
    assert!(deadline < timeout * 1000, "deadline {deadline} ms");
}

#[test]
fn the_webhook_role_only_reads_the_kinds_of_its_cache() {
    let objects = rendered();
    let role = one(&objects, "ClusterRole", "blogaudit-webhook");
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().expect("rules") {
        assert_eq!(
            strings(&rule["verbs"]),
            strings(&json!(["get", "list", "watch"]))
        );
        assert!(rule.get("nonResourceURLs").is_none() && rule.get("resourceNames").is_none());
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                granted.insert((group.clone(), resource));
            }
        }
    }
    // The webhook caches the kinds its rules look up (`lookups`), and nothing else.
    let home = tempfile::tempdir().expect("tempdir");
    let run = common::run_blogaudit_isolated(&root(), home.path(), &["rules", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let cache: BTreeSet<String> = run
        .json()
        .as_array()
        .expect("rules")
        .iter()
        .filter(|r| strings(&r["sources"]).contains("W"))
        .flat_map(|r| strings(&r["lookups"]))
        .collect();
    assert!(cache.contains("NetworkPolicy"), "{cache:?}");
    let want: BTreeSet<(String, String)> = cache
        .iter()
        .map(|k| group_resource(k))
        .map(|(g, r)| (g.to_string(), r.to_string()))
        .collect();
    assert_eq!(granted, want);

    // Bound to the webhook's ServiceAccount, and to nothing else.
    let bindings: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "ClusterRoleBinding" || o["kind"] == "RoleBinding")
        .collect();
    assert_eq!(bindings.len(), 1);
    assert_eq!(bindings[0]["roleRef"]["name"], "blogaudit-webhook");
    assert_eq!(
        bindings[0]["subjects"],
        json!([{"kind": "ServiceAccount", "name": "blogaudit-webhook", "namespace": NS}])
    );
    let deployment = one(&objects, "Deployment", "blogaudit-webhook");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["serviceAccountName"],
        "blogaudit-webhook"
    );
}
