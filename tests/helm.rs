//! Helm charts: rendered with `helm template` when `helm` is on PATH, each finding at the
//! template's field; without `helm`, one warning per chart that does not make the run fail.
//!
//! `helm` is a stand-in written by each test: a script that logs its arguments and prints
//! what `helm template` prints for the chart below, `# Source:` lines included.

#![cfg(unix)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

const DEPLOYMENT_TEMPLATE: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: sidecar
        image: {{ .Values.sidecar }}
      - name: web
        image: nginx:1.27
        securityContext:
          {{- toYaml .Values.securityContext | nindent 10 }}
";

const SERVICE_TEMPLATE: &str = "\
{{- if .Values.service.enabled }}
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-web
spec:
  type: {{ .Values.service.type }}
  selector:
    app: web
  ports:
  - port: 80
{{- end }}
";

/// What `helm template chart CHART` prints for the chart (values.yaml plus the test's
/// `--set`): the Service first, as helm sorts by kind.
const RENDERED: &str = "\
---
# Source: web/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: chart-web
spec:
  type: NodePort
  selector:
    app: web
  ports:
  - port: 80
---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: chart-web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: sidecar
        image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/proxy@sha256:0000000000000000000000000000000000000000000000000000000000000000
      - name: web
        image: nginx:1.27
        securityContext:
          privileged: true
";

fn tree(with_helm: Option<&str>) -> (TempDir, TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in [
        ("chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n"),
        (
            "chart/values.yaml",
            "replicas: 2\nsidecar: proxy\nservice:\n  enabled: true\n  type: NodePort\nsecurityContext:\n  privileged: true\n",
        ),
        ("chart/templates/deployment.yaml", DEPLOYMENT_TEMPLATE),
        ("chart/templates/service.yaml", SERVICE_TEMPLATE),
        ("chart/templates/_helpers.tpl", "{{- define \"web.name\" -}}web{{- end }}\n"),
        ("prod-values.yaml", "replicas: 3\n"),
        ("blogaudit.toml", ""),
    ] {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }
    let bin = tempfile::tempdir().expect("tempdir");
    if let Some(body) = with_helm {
        let helm = bin.path().join("helm");
        let script = format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\n{body}\n",
            bin.path().join("log").display()
        );
        fs::write(&helm, script).expect("write helm");
        fs::set_permissions(&helm, fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    (dir, bin)
}

fn stand_in() -> String {
    // `printf` is a shell builtin: the stand-in needs nothing else on PATH.
    format!("while IFS= read -r l; do printf '%s\\n' \"$l\"; done <<'EOF'\n{RENDERED}EOF")
}

fn scan(dir: &Path, bin: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_blogaudit"))
        .arg("scan")
        .arg(".")
        .args(args)
        .current_dir(dir)
        .env("PATH", bin)
        .env("XDG_CACHE_HOME", bin)
        .env("NO_COLOR", "1")
        .output()
        .expect("blogaudit runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn placed(report: &Value, rule: &str) -> Vec<(String, u64, u64, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .map(|f| {
            (
                f["file"].as_str().unwrap_or_default().to_string(),
                f["start_line"].as_u64().unwrap_or(0),
                f["start_column"].as_u64().unwrap_or(0),
                f["path"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_chart_is_rendered_and_findings_point_at_its_templates() {
    let (dir, bin) = tree(Some(&stand_in()));
    let (code, out) = scan(
        dir.path(),
        bin.path(),
        &[
            "--format",
            "json",
            "--helm-values",
            "prod-values.yaml",
            "--helm-set",
            "replicas=3",
        ],
    );
    let report: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["summary"]["errors"], 0, "{report:#}");
    // helm got the release, the chart, the values file and the setting.
    let log = fs::read_to_string(bin.path().join("log")).expect("helm ran");
    assert_eq!(log.lines().count(), 1, "{log}");
    let values = dir.path().join("prod-values.yaml");
    assert_eq!(
        log.trim(),
        format!(
            "template chart ./chart --values {} --set replicas=3",
            values.display()
        )
    );
    let s = |x: &str| x.to_string();
    // A field the template writes literally: its key's line and column.
    assert_eq!(
        placed(&report, "BA110"),
        [(s("chart/templates/service.yaml"), 7, 3, s("/spec/type"))]
    );
    // The second container, found by its name in the template.
    assert_eq!(
        placed(&report, "BA160"),
        [(
            s("chart/templates/deployment.yaml"),
            19,
            9,
            s("/spec/template/spec/containers/1/image")
        )]
    );
    // A field that comes from `toYaml`: the nearest key the template writes.
    assert_eq!(
        placed(&report, "BA104"),
        [(
            s("chart/templates/deployment.yaml"),
            20,
            9,
            s("/spec/template/spec/containers/1/securityContext/privileged")
        )]
    );
    // Nothing is reported about the chart's own files or the helper template.
    for d in report["diagnostics"].as_array().expect("diagnostics") {
        assert_ne!(d["level"], "error", "{d:#}");
        assert_ne!(d["level"], "warning", "{d:#}");
    }
}

#[test]
fn without_helm_a_chart_gives_one_warning_in_every_format() {
    let (dir, bin) = tree(None);
    let (code, out) = scan(dir.path(), bin.path(), &["--format", "json"]);
    let report: Value = serde_json::from_str(&out).expect("JSON");
    // No findings elsewhere, and the warning does not make the run fail.
    assert_eq!(code, 0, "{report:#}");
    let diags: Vec<&Value> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["level"] != "note")
        .collect();
    assert_eq!(diags.len(), 1, "{report:#}");
    let d = diags[0];
    assert_eq!(d["code"], "helm-missing");
    assert_eq!(d["level"], "warning");
    assert_eq!(d["file"], "chart/Chart.yaml");
    let message = d["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`web`") && message.contains("helm"),
        "{d:#}"
    );
    assert!(
        d["help"]
            .as_str()
            .unwrap_or_default()
            .contains("install Helm"),
        "{d:#}"
    );

    let (code, out) = scan(dir.path(), bin.path(), &["--format", "sarif"]);
    assert_eq!(code, 0);
    let sarif: Value = serde_json::from_str(&out).expect("SARIF");
    let inv = &sarif["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], true);
    let notes: Vec<&Value> = inv["toolExecutionNotifications"]
        .as_array()
        .expect("notifications")
        .iter()
        .filter(|n| n["level"] == "warning")
        .collect();
    assert_eq!(notes.len(), 1, "{inv:#}");
    assert_eq!(notes[0]["descriptor"]["id"], "helm-missing");

    for format in ["human", "junit", "gitlab", "github", "markdown"] {
        let (code, out) = scan(dir.path(), bin.path(), &["--format", format]);
        assert_eq!(code, 0, "{format}: {out}");
        assert_eq!(out.matches("is not on PATH").count(), 1, "{format}:\n{out}");
    }
}

#[test]
fn a_chart_helm_cannot_render_is_an_error() {
    let (dir, bin) = tree(Some(
        "echo 'Error: parse error in deployment.yaml' >&2\nexit 1",
    ));
    let (code, out) = scan(dir.path(), bin.path(), &["--format", "json"]);
    let report: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(code, 2, "{report:#}");
    let d = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["code"] == "helm")
        .expect("a helm diagnostic");
    assert_eq!(d["level"], "error");
    assert_eq!(d["file"], "chart/Chart.yaml");
    assert!(
        d["message"]
            .as_str()
            .unwrap_or_default()
            .contains("parse error in deployment.yaml"),
        "{d:#}"
    );
}
