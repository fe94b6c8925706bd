//! `blogaudit live` against moto's server (the AWS side) and the in-process Kubernetes API
//! server: the real aws-sdk clients and the SigV4-signed EC2 call talk HTTP to moto through
//! `AWS_ENDPOINT_URL`. moto is seeded through boto3 (`tests/fixtures/live/seed_moto.py`).
//!
//! moto comes from `.ci/run`, which installs `moto[server]` into its venv and sets
//! `BLOGAUDIT_MOTO_PYTHON` and `BLOGAUDIT_REQUIRE_MOTO=1`. Elsewhere the tests look for a
//! Python with moto (`~/.cache/blogaudit-venv/bin/python`, then `python3`) and skip, saying
//! so, when there is none.

mod common;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::kube_api::KubeApi;
use common::{root, run_blogaudit_in_env, Run};
use serde_json::Value;

/// A moto server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    url: String,
    python: PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn has_moto(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import moto.server, boto3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts moto, or returns `None` (after saying why) when no Python here has it.
fn moto() -> Option<Moto> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("BLOGAUDIT_MOTO_PYTHON") {
        candidates.push(p.into());
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cache/blogaudit-venv/bin/python"));
    }
    candidates.push("python3".into());
    let Some(python) = candidates.into_iter().find(|p| has_moto(p)) else {
        assert!(
            std::env::var_os("BLOGAUDIT_REQUIRE_MOTO").is_none(),
            "BLOGAUDIT_REQUIRE_MOTO is set but no Python with moto[server] was found"
        );
        eprintln!(
            "skipped: moto[server] is not installed (pip install 'moto[server]', or run .ci/run)"
        );
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(&python)
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto starts");
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
        python,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not start within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(moto)
}

impl Moto {
    fn seed(&self, state: &str) {
        let out = Command::new(&self.python)
            .arg(root().join("tests/fixtures/live/seed_moto.py"))
            .args([&self.url, state])
            .output()
            .expect("the seed script runs");
        assert!(
            out.status.success(),
            "seeding moto failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// An environment with AWS pointed at `moto` and nothing of the machine's.
fn env(home: &Path, moto: Option<&Moto>) -> Vec<(String, String)> {
    let mut env = vec![
        ("HOME".to_string(), home.display().to_string()),
        ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ("AWS_REGION".into(), "eu-west-1".into()),
        (
            "AWS_CONFIG_FILE".into(),
            home.join("no-aws-config").display().to_string(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            home.join("no-aws-credentials").display().to_string(),
        ),
    ];
    if let Some(m) = moto {
        env.extend([
            ("AWS_ENDPOINT_URL".into(), m.url.clone()),
            ("AWS_ACCESS_KEY_ID".into(), "AKIDBLOGAUDITTEST".into()),
            (
                "AWS_SECRET_ACCESS_KEY".into(),
                "blogaudit-test-secret".into(),
            ),
        ]);
    }
    env
}

fn run(home: &Path, env: &[(String, String)], args: &[&str]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let _ = home;
    run_blogaudit_in_env(&root(), args, Some(&env))
}

/// (rule, kind, name, field) of the active findings of a JSON report.
fn findings(report: &Value) -> BTreeSet<(String, String, String, String)> {
    common::active_findings(report)
        .map(|f| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (
                s(&f["rule_id"]),
                s(&f["resource"]["kind"]),
                s(&f["resource"]["name"]),
                s(&f["path"]),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str, &str, &str)]) -> BTreeSet<(String, String, String, String)> {
    items
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect()
}

/// The findings of the broken account: those of samples/blog-broken/terraform on the EKS
/// and ECR kinds (S3, CloudFront and load balancers are not read live).
fn broken_aws() -> BTreeSet<(String, String, String, String)> {
    set(&[
        ("BA201", "aws:EksNodeGroup", "default", "/availabilityZones"),
        ("BA202", "aws:EksNodeGroup", "default", "/scaling/min"),
        (
            "BA202",
            "aws:EksNodeGroup",
            "default",
            "/tags/k8s.io~1cluster-autoscaler~1enabled",
        ),
        ("BA210", "aws:EcrRepository", "posts", "/scanOnPush"),
        ("BA210", "aws:EcrRepository", "user", "/scanOnPush"),
        ("BA211", "aws:EcrRepository", "posts", "/tagMutability"),
        ("BA211", "aws:EcrRepository", "user", "/tagMutability"),
        (
            "BA212",
            "aws:EcrRepository",
            "posts",
            "/policy/Statement/1/Principal",
        ),
        (
            "BA212",
            "aws:EcrRepository",
            "user",
            "/policy/Statement/1/Principal",
        ),
        ("BA220", "aws:EksCluster", "blog", "/endpointPublicAccess"),
        ("BA221", "aws:EksCluster", "blog", "/enabledLogTypes"),
        ("BA222", "aws:EksCluster", "blog", "/encryption"),
    ])
}

#[test]
fn the_broken_account_gives_exactly_the_terraform_findings_with_no_kubernetes_api() {
    let Some(moto) = moto() else { return };
    moto.seed("broken");
    let home = tempfile::tempdir().expect("tempdir");
    let env = env(home.path(), Some(&moto));
    let r = run(
        home.path(),
        &env,
        &[
            "live",
            "--cluster",
            "blog",
            "--only",
            "aws",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report = r.json();
    assert_eq!(findings(&report), broken_aws());
    // The same rules on the Terraform of the same design give the same (rule, kind, field).
    let tf = run(
        home.path(),
        &env,
        &["scan", "samples/blog-broken/terraform", "--format", "json"],
    );
    let from_tf: BTreeSet<(String, String, String)> = findings(&tf.json())
        .into_iter()
        .filter(|(_, kind, _, _)| kind.starts_with("aws:Eks") || kind.starts_with("aws:Ecr"))
        .map(|(rule, kind, _, path)| (rule, kind, path))
        .collect();
    let live: BTreeSet<(String, String, String)> = broken_aws()
        .into_iter()
        .map(|(rule, kind, _, path)| (rule, kind, path))
        .collect();
    assert_eq!(live, from_tf);
    for f in report["findings"].as_array().unwrap() {
        assert!(f["object"].as_str().unwrap().contains("--region eu-west-1"));
    }
    assert!(
        !r.stdout.contains("blogaudit-test-secret") && !r.stderr.contains("blogaudit-test-secret")
    );
}

#[test]
fn the_compliant_account_is_clean() {
    let Some(moto) = moto() else { return };
    moto.seed("compliant");
    let home = tempfile::tempdir().expect("tempdir");
    let env = env(home.path(), Some(&moto));
    let r = run(
        home.path(),
        &env,
        &[
            "live",
            "--cluster",
            "blog",
            "--only",
            "aws",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(findings(&r.json()), BTreeSet::new());
    let kinds: BTreeSet<String> = r.json()["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["level"] == "error")
        .map(|d| d["message"].to_string())
        .collect();
    assert!(kinds.is_empty(), "{kinds:?}");
}

#[test]
fn cluster_and_account_together_in_every_format() {
    let Some(moto) = moto() else { return };
    moto.seed("broken");
    let api = KubeApi::with_manifests(&root().join("samples/blog-broken/k8s"));
    let home = tempfile::tempdir().expect("tempdir");
    let kubeconfig = api.kubeconfig(home.path(), "blog", None);
    let k = kubeconfig.display().to_string();
    let env = env(home.path(), Some(&moto));
    let config = root()
        .join("samples/blog-broken/blogaudit.toml")
        .display()
        .to_string();
    let base = [
        "live",
        "--cluster",
        "blog",
        "--kubeconfig",
        &k,
        "--context",
        "blog",
        "--config",
        &config,
    ];
    let mut args = base.to_vec();
    let sarif_path = home.path().join("live.sarif");
    let s = sarif_path.display().to_string();
    let mut outputs = Vec::new();
    for f in [
        "junit",
        "gitlab",
        "github",
        "markdown",
        "policyreport",
        "human",
    ] {
        outputs.push(format!(
            "{f}={}",
            home.path().join(format!("out.{f}")).display()
        ));
    }
    args.extend(["--format", "json", "--output-format"]);
    args.push(&s);
    let sarif_arg = format!("sarif={s}");
    args.pop();
    args.push(&sarif_arg);
    for o in &outputs {
        args.push("--output-format");
        args.push(o);
    }
    let r = run(home.path(), &env, &args);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report = r.json();
    let got = findings(&report);
    // Kubernetes: what scan finds in the manifests; AWS: the broken account.
    let scan = run(
        home.path(),
        &env,
        &[
            "scan",
            "samples/blog-broken/k8s",
            "--config",
            &config,
            "--format",
            "json",
        ],
    );
    let mut want = findings(&scan.json());
    want.extend(broken_aws());
    assert_eq!(got, want);
    assert!(
        r.stderr
            .contains("auditing cluster blog (kubeconfig, context blog"),
        "{}",
        r.stderr
    );
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif_path).unwrap()).unwrap();
    assert_eq!(
        sarif["runs"][0]["automationDetails"]["id"],
        "blogaudit/live/blog/"
    );
    // .ci/run gives this SARIF to the SARIF Multitool (GitHub's ingestion rules).
    if let Some(out) = std::env::var_os("BLOGAUDIT_LIVE_SARIF_OUT") {
        std::fs::copy(&sarif_path, out).expect("copy the live SARIF");
    }
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        got.len()
    );
    for o in &outputs {
        let file = o.split_once('=').unwrap().1;
        let text = std::fs::read_to_string(file).unwrap();
        assert!(!text.is_empty(), "{o} is empty");
        assert!(!text.contains("blogaudit-test-secret"));
    }
}

#[test]
fn a_failing_ec2_endpoint_leaves_the_zones_unknown_and_says_so() {
    let Some(moto) = moto() else { return };
    moto.seed("broken");
    let home = tempfile::tempdir().expect("tempdir");
    let closed = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut env = env(home.path(), Some(&moto));
    env.push((
        "AWS_ENDPOINT_URL_EC2".into(),
        format!("http://127.0.0.1:{closed}"),
    ));
    let r = run(
        home.path(),
        &env,
        &[
            "live",
            "--cluster",
            "blog",
            "--only",
            "aws",
            "--format",
            "json",
            "--timeout",
            "5",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    let report = r.json();
    let d = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "live-aws-error")
        .expect("the EC2 failure is reported");
    assert!(d["message"]
        .as_str()
        .unwrap()
        .starts_with("ec2:DescribeSubnets on 4 subnets failed"));
    let mut want = broken_aws();
    want.retain(|(rule, _, _, _)| rule != "BA201");
    assert_eq!(
        findings(&report),
        want,
        "BA201 does not decide on unknown zones"
    );
}

#[test]
fn an_unknown_cluster_and_missing_credentials_exit_2() {
    let home = tempfile::tempdir().expect("tempdir");
    let env_none = env(home.path(), None);
    let r = run(
        home.path(),
        &env_none,
        &["live", "--cluster", "blog", "--only", "aws"],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("error: no AWS credentials"),
        "{}",
        r.stderr
    );
    let Some(moto) = moto() else { return };
    moto.seed("compliant");
    let env = env(home.path(), Some(&moto));
    let r = run(
        home.path(),
        &env,
        &["live", "--cluster", "nope", "--only", "aws"],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no cluster named `nope` in eu-west-1"),
        "{}",
        r.stderr
    );
    // Not an EKS cluster but a kubeconfig context: that context is audited, and ECR too.
    let api = KubeApi::with_manifests(&root().join("samples/blog/k8s"));
    let kubeconfig = api.kubeconfig(home.path(), "kind-local", None);
    let mut env = env;
    env.push(("KUBECONFIG".into(), kubeconfig.display().to_string()));
    let config = root()
        .join("samples/blog/blogaudit.toml")
        .display()
        .to_string();
    let r = run(
        home.path(),
        &env,
        &[
            "live",
            "--cluster",
            "kind-local",
            "--config",
            &config,
            "--format",
            "json",
            "--verbose",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("auditing cluster kind-local (kubeconfig, context kind-local"),
        "{}",
        r.stderr
    );
    let report = r.json();
    assert!(report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["message"]
            .as_str()
            .unwrap()
            .starts_with("no EKS cluster named `kind-local` in eu-west-1")));
}

#[test]
fn nodes_zone_labels_feed_the_live_part_of_ba201() {
    let Some(moto) = moto() else { return };
    moto.seed("compliant");
    let api = KubeApi::with_manifests(&root().join("samples/blog/k8s"));
    // The subnets span three AZs, but every Ready node of the group runs in one.
    for i in 0..3 {
        api.apply(serde_json::json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": format!("ip-10-0-0-{i}.eu-west-1.compute.internal"), "labels": {
                "eks.amazonaws.com/nodegroup": "default",
                "topology.kubernetes.io/zone": "eu-west-1a",
            }},
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "images": [{"names": ["registry.k8s.io/pause:3.9"], "sizeBytes": 1}],
            }
        }));
    }
    let home = tempfile::tempdir().expect("tempdir");
    let kubeconfig = api.kubeconfig(home.path(), "blog", None);
    let k = kubeconfig.display().to_string();
    let env = env(home.path(), Some(&moto));
    let config = root()
        .join("samples/blog/blogaudit.toml")
        .display()
        .to_string();
    let r = run(
        home.path(),
        &env,
        &[
            "live",
            "--cluster",
            "blog",
            "--kubeconfig",
            &k,
            "--context",
            "blog",
            "--config",
            &config,
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report = r.json();
    assert_eq!(
        findings(&report),
        set(&[("BA201", "aws:EksNodeGroup", "default", "/availabilityZones")])
    );
    let message = report["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("has Ready nodes in 1 zone(s): eu-west-1a"),
        "{message}"
    );
}
