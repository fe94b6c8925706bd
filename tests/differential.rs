//! The built-in rules run in regorus's compiled evaluator (RVM); its interpreter is the
//! reference. Every rule fixture (under every rule, not only its own), both samples and a
//! generated tree are evaluated by both, and the findings must be identical: rule, resource,
//! field path, message, location and fix. A rule that brings back a form the RVM gets wrong
//! (`src/rules/lint.rs`) fails here even when the lint cannot see it.
//!
//! `BLOGAUDIT_DIFF_TREE=DIR cargo test --test differential` compares on DIR as well (for
//! example a 10k tree from a corpus generator).

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use blogaudit::config::Config;
use blogaudit::pipeline::Outcome;
use blogaudit::rules::RuleSet;

/// One line per finding and per rule error, in report order.
fn summary(outcome: &Outcome) -> Vec<String> {
    let mut out: Vec<String> = outcome
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {}/{}/{} {} at {} : {} fix={}",
                f.rule_id,
                f.resource.kind,
                f.resource.namespace,
                f.resource.name,
                blogaudit::model::pointer(&f.path),
                f.place(),
                f.message,
                f.fix
                    .as_ref()
                    .map(|x| format!("{}={}", blogaudit::model::pointer(&x.path), x.value))
                    .unwrap_or_default()
            )
        })
        .collect();
    out.extend(
        outcome
            .diagnostics
            .iter()
            .filter(|d| d.code == "rule-error")
            .map(|d| format!("diagnostic {}", d.one_line())),
    );
    out
}

/// Scans `paths` with both evaluators and returns a description of every difference.
fn compare(
    what: &str,
    paths: &[PathBuf],
    config: &Config,
    compiled: &RuleSet,
    interpreted: &RuleSet,
) -> Option<String> {
    let a = summary(&common::scan_paths(paths, compiled.clone(), config.clone()));
    let b = summary(&common::scan_paths(
        paths,
        interpreted.clone(),
        config.clone(),
    ));
    if a == b {
        return None;
    }
    let mut text = format!("{what}: the compiled evaluator differs from the interpreter\n");
    for line in a.iter().filter(|l| !b.contains(l)).take(10) {
        let _ = writeln!(text, "  only compiled:    {line}");
    }
    for line in b.iter().filter(|l| !a.contains(l)).take(10) {
        let _ = writeln!(text, "  only interpreted: {line}");
    }
    if a.len() == b.len() && text.lines().count() == 1 {
        let _ = writeln!(text, "  same findings, in another order");
    }
    Some(text)
}

fn config_of(dir: &Path) -> Config {
    let file = dir.join("blogaudit.toml");
    if file.is_file() {
        Config::load(&file, "blogaudit.toml").expect("config")
    } else {
        Config::default()
    }
}

fn rule_sets() -> (RuleSet, RuleSet) {
    let compiled = common::builtin_rules();
    assert!(
        compiled.rules.iter().all(|r| r.program.is_some()),
        "every built-in rule compiles for the RVM"
    );
    let interpreted = compiled.interpreted();
    (compiled, interpreted)
}

#[test]
fn every_fixture_gives_the_same_findings_compiled_and_interpreted() {
    let (compiled, interpreted) = rule_sets();
    let mut failures = Vec::new();
    let mut checked = 0;
    for rule in &compiled.rules {
        let folder = common::root().join(&rule.meta.folder);
        let config = config_of(&folder);
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut fixtures: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                (name.starts_with("pass") || name.starts_with("fail"))
                    && (p.is_dir()
                        || matches!(
                            p.extension().and_then(|e| e.to_str()),
                            Some("yaml" | "yml" | "json" | "tf")
                        ))
            })
            .collect();
        fixtures.sort();
        for fixture in fixtures {
            checked += 1;
            let what = fixture.display().to_string();
            failures.extend(compare(&what, &[fixture], &config, &compiled, &interpreted));
        }
    }
    assert!(checked > 40, "only {checked} fixtures");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn both_samples_give_the_same_findings_compiled_and_interpreted() {
    let (compiled, interpreted) = rule_sets();
    let mut failures = Vec::new();
    for sample in ["blog", "blog-broken", "plan"] {
        let dir = common::root().join("samples").join(sample);
        failures.extend(compare(
            sample,
            std::slice::from_ref(&dir),
            &config_of(&dir),
            &compiled,
            &interpreted,
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_generated_tree_gives_the_same_findings_compiled_and_interpreted() {
    let (compiled, interpreted) = rule_sets();
    let dir = tempfile::tempdir().expect("temp dir");
    generate(dir.path(), 60);
    let outcome = common::scan_paths(
        &[dir.path().to_path_buf()],
        compiled.clone(),
        Config::default(),
    );
    let rules_hit: std::collections::BTreeSet<&str> =
        outcome.findings.iter().map(|f| &*f.rule_id).collect();
    // The tree must exercise the Kubernetes rules, or the comparison proves little.
    assert!(rules_hit.len() >= 15, "rules with findings: {rules_hit:?}");
    let failure = compare(
        "generated tree",
        &[dir.path().to_path_buf()],
        &Config::default(),
        &compiled,
        &interpreted,
    );
    assert!(failure.is_none(), "{}", failure.unwrap_or_default());
    if let Ok(tree) = std::env::var("BLOGAUDIT_DIFF_TREE") {
        let tree = PathBuf::from(tree);
        let failure = compare(
            &tree.display().to_string(),
            std::slice::from_ref(&tree),
            &config_of(&tree),
            &compiled,
            &interpreted,
        );
        assert!(failure.is_none(), "{}", failure.unwrap_or_default());
    }
}

/// A small deterministic pseudo-random generator (no crate needed for a test tree).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    /// True with probability 1/n.
    fn one_in(&mut self, n: u64) -> bool {
        self.next() % n == 0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let len = u64::try_from(items.len()).unwrap_or(1);
        items[usize::try_from(self.next() % len).unwrap_or(0)]
    }
}

/// Writes `namespaces` namespaces of varied workloads and their neighbours under `dir`: each
/// field that a rule reads is set, unset, or set the wrong way at random, so that every
/// branch of the rules (else chains, lookups that fail, absent names) is taken somewhere.
fn generate(dir: &Path, namespaces: u32) {
    let mut rng = Lcg(0x5eed);
    for n in 0..namespaces {
        let ns = if rng.one_in(12) {
            "default".to_string()
        } else {
            format!("team-{n}")
        };
        let app = format!("app{n}");
        let mut docs = Vec::new();
        docs.push(format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"
        ));
        // The workload.
        let kind = rng.pick(&[
            "Deployment",
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "Pod",
            "CronJob",
            "Job",
        ]);
        let mut pod = String::new();
        if !rng.one_in(3) {
            pod.push_str("  securityContext:\n");
            pod.push_str(rng.pick(&[
                "    runAsNonRoot: true\n",
                "    runAsNonRoot: false\n",
                "    runAsUser: 0\n",
                "    runAsUser: 1000\n",
                "    runAsNonRoot: false\n    runAsUser: 1000\n",
                "    fsGroup: 2000\n",
            ]));
        }
        if rng.one_in(4) {
            pod.push_str(rng.pick(&[
                "  hostNetwork: true\n",
                "  hostPID: true\n",
                "  hostIPC: false\n",
            ]));
        }
        if rng.one_in(3) {
            pod.push_str(&format!(
                "  topologySpreadConstraints:\n    - maxSkew: 1\n      topologyKey: {}\n      whenUnsatisfiable: DoNotSchedule\n      labelSelector:\n        matchLabels:\n          app: {}\n",
                rng.pick(&["topology.kubernetes.io/zone", "kubernetes.io/hostname"]),
                if rng.one_in(4) { "other" } else { &app }
            ));
        } else if rng.one_in(2) {
            pod.push_str(&format!(
                "  affinity:\n    podAntiAffinity:\n      preferredDuringSchedulingIgnoredDuringExecution:\n        - weight: 100\n          podAffinityTerm:\n            topologyKey: topology.kubernetes.io/zone\n            labelSelector:\n              matchExpressions:\n                - key: app\n                  operator: {}\n                  values: [{app}]\n",
                rng.pick(&["In", "NotIn"])
            ));
        }
        if rng.one_in(3) {
            pod.push_str("  serviceAccountName: ");
            pod.push_str(rng.pick(&["default", "runner", "missing"]));
            pod.push('\n');
        }
        if rng.one_in(4) {
            pod.push_str("  volumes:\n    - name: host\n      hostPath:\n        path: /var/run\n");
        }
        for field in ["initContainers", "containers"] {
            if field == "initContainers" && !rng.one_in(3) {
                continue;
            }
            pod.push_str(&format!("  {field}:\n"));
            let count = 1 + rng.next() % 2;
            for c in 0..count {
                let image = rng.pick(&[
                    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.2.3",
                    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                    "nginx:latest",
                    "nginx",
                    "ghcr.io/acme/web:2.0",
                    "localhost:5000/web",
                    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@md5:abc",
                ]);
                if rng.one_in(4) {
                    pod.push_str(&format!("    - image: {image}\n"));
                } else {
                    pod.push_str(&format!("    - name: c{c}\n      image: {image}\n"));
                }
                if rng.one_in(2) {
                    pod.push_str("      ports:\n        - containerPort: 8080\n");
                }
                if rng.one_in(2) {
                    pod.push_str("      readinessProbe:\n        httpGet:\n          path: /readyz\n          port: 8080\n");
                }
                if rng.one_in(2) {
                    pod.push_str("      livenessProbe:\n        httpGet:\n          path: /healthz\n          port: 8080\n");
                }
                if rng.one_in(2) {
                    pod.push_str("      resources:\n");
                    pod.push_str(rng.pick(&[
                        "        requests:\n          cpu: 100m\n          memory: 64Mi\n        limits:\n          memory: 128Mi\n",
                        "        limits:\n          cpu: 200m\n          memory: 128Mi\n",
                        "        requests:\n          cpu: 100m\n",
                    ]));
                }
                if !rng.one_in(3) {
                    pod.push_str("      securityContext:\n");
                    for line in [
                        rng.pick(&["", "        allowPrivilegeEscalation: false\n", "        allowPrivilegeEscalation: true\n"]),
                        rng.pick(&["", "        readOnlyRootFilesystem: true\n", "        readOnlyRootFilesystem: false\n"]),
                        rng.pick(&["", "        privileged: true\n", "        privileged: false\n"]),
                        rng.pick(&["", "        runAsNonRoot: true\n", "        runAsUser: 0\n", "        runAsNonRoot: false\n", "        runAsUser: 1001\n"]),
                        rng.pick(&[
                            "",
                            "        capabilities:\n          drop: [ALL]\n",
                            "        capabilities:\n          drop: [ALL]\n          add: [NET_BIND_SERVICE, SYS_ADMIN]\n",
                            "        capabilities:\n          drop: [NET_RAW]\n",
                            "        capabilities:\n          drop: ALL\n",
                        ]),
                    ] {
                        pod.push_str(line);
                    }
                    if pod.ends_with("securityContext:\n") {
                        pod.push_str("        seccompProfile:\n          type: RuntimeDefault\n");
                    }
                }
            }
        }
        let indent = |text: &str, by: usize| -> String {
            text.lines()
                .map(|l| format!("{}{l}\n", " ".repeat(by)))
                .collect()
        };
        let labels = format!("app: {app}");
        let workload = match kind {
            "Pod" => format!(
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {app}\n  namespace: {ns}\n  labels:\n    {labels}\nspec:\n{}",
                indent(&pod, 0).trim_start_matches('\n')
            ),
            "CronJob" => format!(
                "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: {app}\n  namespace: {ns}\nspec:\n  schedule: \"0 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        metadata:\n          labels:\n            {labels}\n        spec:\n{}",
                indent(&pod, 8)
            ),
            _ => format!(
                "apiVersion: {}\nkind: {kind}\nmetadata:\n  name: {app}\n{}spec:\n{}  selector:\n    matchLabels:\n      {labels}\n  template:\n    metadata:\n      labels:\n        {labels}\n    spec:\n{}",
                if kind == "Job" { "batch/v1" } else { "apps/v1" },
                if rng.one_in(10) { String::new() } else { format!("  namespace: {ns}\n") },
                if kind == "Deployment" || kind == "StatefulSet" {
                    rng.pick(&["", "  replicas: 1\n", "  replicas: 3\n"]).to_string()
                } else {
                    String::new()
                },
                indent(&pod, 4)
            ),
        };
        docs.push(workload);
        if rng.one_in(2) {
            docs.push(format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {app}\n  namespace: {ns}\nspec:\n  type: {}\n  selector:\n    app: {}\n  ports:\n    - name: http\n      port: 80\n      targetPort: 8080\n",
                rng.pick(&["ClusterIP", "ClusterIP", "NodePort", "LoadBalancer"]),
                if rng.one_in(5) { "nothing" } else { &app }
            ));
        }
        if rng.one_in(2) {
            docs.push(format!(
                "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: {app}\n  namespace: {ns}\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      app: {}\n",
                if rng.one_in(4) { "nothing" } else { &app }
            ));
        }
        if rng.one_in(2) {
            docs.push(format!(
                "apiVersion: {}\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: {app}\n  namespace: {ns}\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: {kind}\n    name: {app}\n  minReplicas: {}\n  maxReplicas: 5\n",
                rng.pick(&["autoscaling/v2", "autoscaling/v1"]),
                rng.pick(&["1", "2"])
            ));
        }
        if rng.one_in(2) {
            docs.push(format!(
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {}\n  namespace: {ns}\nspec:\n  podSelector: {}\n  policyTypes: [{}]\n",
                if rng.one_in(2) { "default-deny" } else { "allow" },
                rng.pick(&["{}", "{matchLabels: {app: other}}"]),
                rng.pick(&["Ingress", "Ingress, Egress", "Egress"])
            ));
        }
        if rng.one_in(2) {
            docs.push(format!(
                "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: runner\n  namespace: {ns}\n{}",
                rng.pick(&["", "automountServiceAccountToken: false\n"])
            ));
        }
        if rng.one_in(3) {
            docs.push(format!(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: all\n  namespace: {ns}\nrules:\n  - apiGroups: [\"\"]\n    resources: [{}]\n    verbs: [{}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: all\n  namespace: {ns}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {}\n  name: {}\nsubjects:\n  - kind: ServiceAccount\n    name: runner\n  - kind: {}\n",
                rng.pick(&["\"*\"", "pods"]),
                rng.pick(&["\"*\"", "get"]),
                rng.pick(&["Role", "ClusterRole"]),
                rng.pick(&["all", "cluster-admin", "missing"]),
                rng.pick(&["User\n    name: alice", "Group\n    name: system:masters", "User"])
            ));
        }
        if rng.one_in(3) {
            let https = rng.one_in(2);
            docs.push(format!(
                "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: gw\n  namespace: {ns}\n  annotations:\n    {}: issuer\nspec:\n  gatewayClassName: eg\n  listeners:\n    - name: {}\n      port: {}\n      protocol: {}\n      hostname: \"{}\"\n{}      allowedRoutes:\n        namespaces:\n          from: {}\n{}",
                rng.pick(&["cert-manager.io/issuer", "cert-manager.io/cluster-issuer"]),
                if https { "https" } else { "http" },
                if https { 443 } else { 80 },
                if https { "HTTPS" } else { "HTTP" },
                rng.pick(&["*.example.com", "app.example.com", "other.org"]),
                if https {
                    format!("      tls:\n        mode: Terminate\n        certificateRefs:\n          - name: {}\n", rng.pick(&["gw-tls", "missing-tls"]))
                } else {
                    String::new()
                },
                rng.pick(&["Same", "All", "Selector"]),
                rng.pick(&["", "        kinds:\n          - kind: GRPCRoute\n", "        kinds:\n          - kind: HTTPRoute\n"])
            ));
            docs.push(format!(
                "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: {app}\n  namespace: {ns}\nspec:\n  hostnames: [\"{}\"]\n  parentRefs:\n    - name: {}\n{}  rules:\n    - backendRefs:\n        - name: {}\n          port: {}\n{}",
                rng.pick(&["app.example.com", "x.other.org"]),
                rng.pick(&["gw", "missing"]),
                rng.pick(&["", "      sectionName: https\n", "      sectionName: nope\n", "      port: 8443\n"]),
                rng.pick(&[app.as_str(), "missing"]),
                rng.pick(&["80", "81"]),
                if rng.one_in(3) {
                    "      filters:\n        - type: RequestRedirect\n          requestRedirect:\n            scheme: https\n"
                } else {
                    ""
                }
            ));
            if rng.one_in(2) {
                docs.push(format!(
                    "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: gw\n  namespace: {ns}\nspec:\n  secretName: gw-tls\n  dnsNames: [app.example.com]\n  issuerRef:\n    name: {}\n    kind: {}\n",
                    rng.pick(&["issuer", "missing"]),
                    rng.pick(&["Issuer", "ClusterIssuer"])
                ));
            }
            if rng.one_in(2) {
                docs.push(format!(
                    "apiVersion: cert-manager.io/v1\nkind: Issuer\nmetadata:\n  name: issuer\n  namespace: {ns}\nspec:\n  selfSigned: {{}}\n"
                ));
            }
        }
        let text = docs.join("---\n");
        std::fs::write(dir.join(format!("ns{n}.yaml")), text).expect("write tree");
    }
    // Cluster-scoped neighbours.
    std::fs::write(
        dir.join("cluster.yaml"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: admins\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n  - kind: Group\n    name: devs\n  - kind: User\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: everything\nrules:\n  - apiGroups: [\"*\"]\n    resources: [\"*\"]\n    verbs: [\"*\"]\n---\napiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: issuer\nspec:\n  selfSigned: {}\n",
    )
    .expect("write tree");
}

/// Every resource of `paths`, judged alone against the rest (as the admission webhook does):
/// the compiled rules of its kind run as one program (`evaluate_one`) must give exactly what
/// they give run one by one (`evaluate_one_timed`). Returns the differences.
fn compare_one(what: &str, paths: &[PathBuf], config: &Config, rules: &RuleSet) -> Vec<String> {
    let base = tempfile::tempdir().expect("temp dir");
    let loaded = blogaudit::source::load_with(
        paths,
        base.path(),
        &blogaudit::source::terraform::TerraformOptions::default(),
    );
    let inventory = blogaudit::model::Inventory::new(loaded.resources);
    let prepared = blogaudit::engine::Prepared::new(rules, &inventory, &config.rego_data());
    let mut spent = vec![std::time::Duration::ZERO; prepared.rule_ids().len()];
    let mut failures = Vec::new();
    for resource in &inventory.resources {
        let together = prepared.evaluate_one(resource);
        let alone = prepared.evaluate_one_timed(resource, &mut spent);
        if together != alone {
            failures.push(format!(
                "{what}: {} {}/{}: rules together {together:?}\n  rules alone {alone:?}",
                resource.kind, resource.namespace, resource.name
            ));
        }
    }
    failures
}

#[test]
fn rules_run_together_give_what_they_give_one_by_one() {
    let (compiled, _) = rule_sets();
    let mut failures = Vec::new();
    let mut roots: Vec<(String, PathBuf)> = Vec::new();
    for rule in &compiled.rules {
        let folder = common::root().join(&rule.meta.folder);
        roots.push((rule.meta.folder.clone(), folder));
    }
    for sample in ["blog", "blog-broken", "plan"] {
        roots.push((
            sample.to_string(),
            common::root().join("samples").join(sample),
        ));
    }
    let tree = tempfile::tempdir().expect("temp dir");
    generate(tree.path(), 60);
    roots.push(("generated tree".to_string(), tree.path().to_path_buf()));
    for (what, dir) in roots {
        let config = config_of(&dir);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        // Each fixture on its own (a rule's fixtures may repeat names), and the whole folder.
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        paths.push(dir.clone());
        for path in paths {
            failures.extend(compare_one(
                &what,
                std::slice::from_ref(&path),
                &config,
                &compiled,
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
