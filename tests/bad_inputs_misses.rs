//! No silent misses: input that YAML or Kubernetes reads in a way that is easy to get wrong is
//! either read as the API server reads it (so its violations are found, at the right line) or
//! reported as an error at the field.

#![cfg(target_os = "linux")]

#[path = "bad_inputs/harness.rs"]
mod harness;

use harness::{scan, tree};
use serde_json::Value;

/// The findings of `rule` on `file`, as lines.
fn lines_of(report: &Value, rule: &str, file: &str) -> Vec<u64> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule_id"] == rule && f["file"] == file)
        .filter_map(|f| f["start_line"].as_u64())
        .collect()
}

#[test]
fn a_violation_set_through_a_merge_key_is_found_at_the_merged_value() {
    let y = "\
apiVersion: v1
kind: Service
metadata:
  name: merged
  namespace: x
spec:
  <<: &exposed
    type: NodePort
  selector:
    app: web
  ports:
  - port: 80
---
apiVersion: v1
kind: Service
metadata:
  name: inline
  namespace: x
spec:
  <<: {type: NodePort, selector: {app: web}}
  ports:
  - port: 80
---
apiVersion: v1
kind: Service
metadata:
  name: overridden
  namespace: x
spec:
  <<: {type: NodePort}
  type: ClusterIP
  ports:
  - port: 80
";
    let dir = tree(&[("merge.yaml", y.into())]);
    let (exit, report, _) = scan(dir.path());
    assert_eq!(exit, 1, "{:#}", report["diagnostics"]);
    let mut lines = lines_of(&report, "BA110", "merge.yaml");
    lines.sort_unstable();
    // The first at the anchor (line 8), the second at the inline merge (line 20); the third
    // sets `type` itself, which wins over the merge.
    assert_eq!(lines, vec![8, 20], "{:#}", report["findings"]);
}

#[test]
fn a_binary_tagged_value_is_read_as_the_api_server_reads_it() {
    let y = "\
apiVersion: v1
kind: Service
metadata:
  name: tagged
  namespace: x
spec:
  type: !!binary Tm9kZVBvcnQ=
  ports:
  - port: 80
";
    let dir = tree(&[("tagged.yaml", y.into())]);
    let (_, report, _) = scan(dir.path());
    assert_eq!(lines_of(&report, "BA110", "tagged.yaml"), vec![7]);
}

#[test]
fn an_unknown_tag_is_an_error_at_the_value() {
    let y = "\
apiVersion: v1
kind: Service
metadata:
  name: tagged
  namespace: x
spec:
  type: !custom NodePort
";
    let dir = tree(&[("tagged.yaml", y.into())]);
    let (exit, report, _) = scan(dir.path());
    assert_eq!(exit, 2);
    let hit = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .any(|d| d["code"] == "yaml-syntax" && d["file"] == "tagged.yaml" && d["pos"]["line"] == 7);
    assert!(hit, "{:#}", report["diagnostics"]);
}

#[test]
fn a_wrong_type_at_a_known_field_is_reported_at_the_field() {
    let y = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: x
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: \"x\"
";
    let dir = tree(&[("deploy.yaml", y.into())]);
    let (exit, report, _) = scan(dir.path());
    assert_eq!(exit, 2);
    let diags = report["diagnostics"].as_array().expect("diagnostics");
    assert!(
        diags.iter().any(|d| d["code"] == "invalid-field"
            && d["file"] == "deploy.yaml"
            && d["pos"]["line"] == 11
            && d["message"]
                .as_str()
                .is_some_and(|m| m.contains("containers"))),
        "{diags:#?}"
    );
    assert!(
        diags.iter().all(|d| !d.to_string().contains("k8s.rego")),
        "no diagnostic points into the rule library: {diags:#?}"
    );
}

#[test]
fn secret_values_of_any_shape_and_their_comments_are_never_shown() {
    let y = "\
apiVersion: v1
kind: Secret
metadata:
  name: s
  namespace: x
stringData: [canary-one] # canary-two
---
apiVersion: v1
kind: Secret
metadata:
  name: t
  namespace: x
data: # canary-three
  a: Y2FuYXJ5 # canary-four
  b: {nested: canary-five}
";
    let dir = tree(&[("secret.yaml", y.into())]);
    for format in ["human", "json", "github", "sarif"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_blogaudit"))
            .args(["scan", ".", "--format", format])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("runs");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("canary"), "{format} shows a secret:\n{all}");
        assert!(!all.contains("Y2FuYXJ5"), "{format} shows a secret:\n{all}");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{format}: the wrong type is an error"
        );
    }
}
