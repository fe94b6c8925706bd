//! Secrets never leave blogaudit: canary values planted in every place a secret can sit in
//! the inputs (Secret `data` and `stringData` of any shape, comments on those lines, a
//! Secret that does not parse, kustomize generator literals, Terraform provider keys and
//! variables) must appear in no output format, and in nothing printed on standard error; nor
//! in the webhook's answers and logs.

mod common;

use std::path::Path;

use base64::Engine as _;

/// Distinct canaries, so a leak names the place it came from.
const CANARIES: &[(&str, &str)] = &[
    ("data", "CanaryDataValue7f3a"),
    ("stringData", "CanaryStringData9b1c"),
    ("stringData comment", "CanaryCommentOnSecretLine2d4e"),
    ("stringData block scalar", "CanaryBlockScalar5a6b"),
    ("stringData flow", "CanaryFlowMapping8c9d"),
    ("stringData list", "CanaryWrongTypeList1e2f"),
    ("last-applied", "CanaryLastApplied3g4h"),
    ("json data", "CanaryJsonSecret6i7j"),
    ("List item", "CanaryListItem0k1l"),
    ("broken Secret", "CanaryBrokenSecret2m3n"),
    ("kustomize literal", "CanaryKustomizeLiteral4o5p"),
    ("terraform access key", "AKIACANARYACCESSKEY01"),
    ("terraform secret key", "CanaryTerraformSecretKey6q7r"),
    ("tfvars", "CanaryTfvarsPassword8s9t"),
];

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn canary(place: &str) -> &'static str {
    CANARIES
        .iter()
        .find(|(p, _)| *p == place)
        .map(|(_, c)| *c)
        .expect("a canary for every place")
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A tree with a canary in every place, next to objects that do give findings (so that
/// snippets, annotations and messages are written around them).
fn plant(dir: &Path) {
    let last_applied = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"stringData\":{{\"k\":\"{}\"}}}}",
        canary("last-applied")
    );
    write(
        dir,
        "k8s/secrets.yaml",
        &format!(
            r#"apiVersion: v1
kind: Secret
data:
  password: {data}
stringData:
  cert: |
    -----BEGIN-----
    {block}
    -----END-----
  flow: {{inner: {flow}}}
  token: {string} # {comment}
metadata:
  annotations: {{blogaudit.io/ignore: "BA110"}}
  name: app
  namespace: default
---
apiVersion: v1
kind: Secret
metadata:
  name: applied
  namespace: default
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{last_applied}'
    blogaudit.io/ignore: "BA110"
---
apiVersion: v1
kind: Secret
metadata:
  name: wrong-type
  namespace: default
stringData: [{list}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  type: NodePort
  ports: [{{port: 80}}]
"#,
            data = b64(canary("data")),
            string = canary("stringData"),
            comment = canary("stringData comment"),
            block = canary("stringData block scalar"),
            flow = canary("stringData flow"),
            list = canary("stringData list"),
            last_applied = last_applied,
        ),
    );
    write(
        dir,
        "k8s/secret.json",
        &format!(
            r#"{{"apiVersion": "v1", "kind": "Secret", "metadata": {{"name": "j", "namespace": "default"}},
 "data": {{"key": "{}"}}}}
"#,
            b64(canary("json data"))
        ),
    );
    write(
        dir,
        "k8s/list.yaml",
        &format!(
            "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata: {{name: l, namespace: default}}\n    stringData:\n      key: {}\n",
            canary("List item")
        ),
    );
    write(
        dir,
        "k8s/broken.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: broken\nstringData:\n  key: {}\n  bad: [unclosed\n",
            canary("broken Secret")
        ),
    );
    write(
        dir,
        "overlay/kustomization.yaml",
        &format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: default\nresources:\n  - svc.yaml\nsecretGenerator:\n  - name: generated\n    literals:\n      - password={}\n",
            canary("kustomize literal")
        ),
    );
    write(
        dir,
        "overlay/svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: overlay-web\nspec:\n  type: NodePort\n  ports: [{port: 80}]\n",
    );
    write(
        dir,
        "tf/main.tf",
        &format!(
            r#"provider "aws" {{
  region     = "eu-west-1"
  access_key = "{access}"
  secret_key = "{secret}"
}}

variable "db_password" {{
  type = string
}}

resource "aws_ecr_repository" "app" {{
  name                 = "app"
  image_tag_mutability = "MUTABLE"
  image_scanning_configuration {{
    scan_on_push = false
  }}
}}
"#,
            access = canary("terraform access key"),
            secret = canary("terraform secret key"),
        ),
    );
    write(
        dir,
        "tf/terraform.tfvars",
        &format!("db_password = \"{}\"\n", canary("tfvars")),
    );
}

#[test]
fn no_output_format_shows_a_planted_secret() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    plant(dir);
    let formats = [
        "human", "json", "sarif", "junit", "gitlab", "github", "markdown",
    ];
    let mut outputs = Vec::new();
    for format in formats {
        let run = common::run_blogaudit(
            dir,
            &[
                "scan",
                ".",
                "--format",
                format,
                "--verbose",
                "--timings",
                "--color",
                "always",
                "--fail-on",
                "never",
            ],
        );
        // The scan did run: the NodePort Service and the ECR repository are reported.
        assert!(
            run.stdout.contains("BA110") && run.stdout.contains("BA210"),
            "{format}: expected findings around the secrets\n{}",
            run.stdout
        );
        outputs.push((format!("{format} stdout"), run.stdout));
        outputs.push((format!("{format} stderr"), run.stderr));
    }
    let baseline = dir.join("baseline.json");
    let run = common::run_blogaudit(
        dir,
        &[
            "scan",
            ".",
            "--write-baseline",
            baseline.to_str().expect("utf-8"),
        ],
    );
    outputs.push(("--write-baseline".into(), run.stdout + &run.stderr));
    outputs.push((
        "the baseline file".into(),
        std::fs::read_to_string(&baseline).expect("the baseline is written"),
    ));
    let run = common::run_blogaudit(dir, &["scan", ".", "--fix=all", "--dry-run"]);
    outputs.push(("--fix --dry-run".into(), run.stdout + &run.stderr));
    let mut leaks = Vec::new();
    for (what, text) in &outputs {
        for (place, value) in CANARIES {
            for shown in [value.to_string(), b64(value)] {
                if text.contains(&shown) {
                    leaks.push(format!("{place} ({shown}) in {what}"));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "secrets in the output:\n{}",
        leaks.join("\n")
    );
}

/// The webhook, run as a process with every log level on, is sent objects with canaries in
/// Secret values, a last-applied copy, managed fields and the old object, while its cache
/// reads the cluster with a canary bearer token: no answer and no log line holds one.
#[test]
fn the_webhook_shows_no_planted_secret() {
    use common::https::{get_plain, trusting, Cert, Conn};
    use serde_json::json;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let token = "CanaryBearerToken5u6v";
    let value = "CanaryAdmissionSecret7w8x";
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let api = common::kube_api::KubeApi::start();
    api.require_token(token);
    let kubeconfig = api.kubeconfig(dir, "test", Some(token));
    let cert = Cert::new("canaries");
    let (c, k) = (dir.join("tls.crt"), dir.join("tls.key"));
    cert.write(&c, &k);
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port()
    };
    let (port, metrics) = (free(), free());
    let log = dir.join("webhook.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_blogaudit"))
        .args(["webhook", "--tls-cert"])
        .arg(&c)
        .arg("--tls-key")
        .arg(&k)
        .args([
            "--port",
            &port.to_string(),
            "--metrics-port",
            &metrics.to_string(),
        ])
        .args(["--listen", "127.0.0.1", "--log", "trace", "--kubeconfig"])
        .arg(&kubeconfig)
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("the webhook starts");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let metrics_addr: std::net::SocketAddr = format!("127.0.0.1:{metrics}").parse().expect("addr");
    let until = Instant::now() + Duration::from_secs(60);
    rt.block_on(async {
        loop {
            let up = tokio::net::TcpStream::connect(metrics_addr).await.is_ok();
            if up && get_plain(metrics_addr, "/readyz").await.0 == 200 {
                break;
            }
            assert!(Instant::now() < until, "the webhook never became ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {
            "name": "db", "namespace": "default",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                format!("{{\"stringData\":{{\"password\":\"{value}\"}}}}")},
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {format!("f:{value}"): {}}}}],
        },
        "data": {"password": b64(value)},
        "stringData": {"password": value, "list": [value], "nested": {"k": value}},
    });
    let review = |op: &str, uid: &str| {
        json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": uid, "kind": {"group": "", "version": "v1", "kind": "Secret"},
                "operation": op, "namespace": "default", "name": "db",
                "object": secret, "oldObject": secret,
            }
        })
    };
    let mut answers = Vec::new();
    rt.block_on(async {
        let mut conn = Conn::open(addr, trusting(&[&cert])).await;
        for (op, uid) in [("CREATE", "u-1"), ("UPDATE", "u-2")] {
            let body = serde_json::to_vec(&review(op, uid)).expect("json");
            let (status, bytes) = conn.send("POST", "/validate", body).await;
            assert_eq!(status, 200);
            answers.push(String::from_utf8_lossy(&bytes).into_owned());
        }
        // A broken review that holds the value: the 400 names the problem, not the content.
        let mut broken = serde_json::to_vec(&review("CREATE", "u-3")).expect("json");
        broken.truncate(broken.len() - 5);
        let (status, bytes) = conn.send("POST", "/validate", broken).await;
        assert_eq!(status, 400);
        answers.push(String::from_utf8_lossy(&bytes).into_owned());
        answers.push(get_plain(metrics_addr, "/metrics").await.1);
    });
    // SIGTERM: it stops as in a pod, and its log is complete.
    let pid = i32::try_from(child.id()).expect("pid");
    let _ = terminate(pid);
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    let logs = std::fs::read_to_string(&log).expect("log");
    assert!(logs.contains("webhook serving"), "{logs}");
    let mut leaks = Vec::new();
    for (what, text) in answers
        .iter()
        .map(|a| ("an answer", a))
        .chain([("the log", &logs)])
    {
        for shown in [value.to_string(), b64(value), token.to_string()] {
            if text.contains(&shown) {
                leaks.push(format!("{shown} in {what}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "secrets in the webhook's output:\n{}",
        leaks.join("\n")
    );
}

/// Sends SIGTERM through the `kill` command.
fn terminate(pid: i32) -> std::io::Result<std::process::ExitStatus> {
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
}
