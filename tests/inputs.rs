//! Bad input never crashes or hangs the scan: each bad file gets a diagnostic with its file, line
//! (where one applies) and reason, the exit code is 2, and the rest of the run goes on (a good
//! manifest beside it is still checked). Secret values never reach any output.
//!
//! Every test runs the real binary on a temporary tree (`common::run_blogaudit`, which fails a
//! run that takes over 60 s, dies of a signal or panics).

#![cfg(unix)]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::run_blogaudit;
use serde_json::Value;
use tempfile::TempDir;

/// A manifest with a known finding: BA110 at `spec.type` (line 7) of Service x/web.
const GOOD: &str = common::NODEPORT_SERVICE;

/// A tree holding `good.yaml`, an empty `blogaudit.toml` (so that config discovery stops here
/// and nothing above the temporary directory changes the run), and `files`.
fn tree(files: &[(&str, &[u8])]) -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("good.yaml"), GOOD).expect("write good.yaml");
    fs::write(dir.path().join("blogaudit.toml"), "").expect("write blogaudit.toml");
    for (name, bytes) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, bytes).expect("write file");
    }
    dir
}

/// `blogaudit scan . --format json` in `dir`: exit code and report.
fn scan(dir: &Path) -> (i32, Value) {
    let run = run_blogaudit(dir, &["scan", ".", "--format", "json"]);
    (run.code, run.json())
}

fn diagnostics_of<'a>(report: &'a Value, file: &str) -> Vec<&'a Value> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .iter()
        .filter(|d| d["file"] == file)
        .collect()
}

/// The one error diagnostic with `code` on `file`, at `line` when given; its message (the
/// reason) is not empty.
fn assert_diag<'a>(report: &'a Value, code: &str, file: &str, line: Option<u64>) -> &'a Value {
    let found: Vec<&Value> = diagnostics_of(report, file)
        .into_iter()
        .filter(|d| d["code"] == code)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one `{code}` diagnostic on {file}; diagnostics: {:#}",
        report["diagnostics"]
    );
    let d = found[0];
    assert_eq!(d["level"], "error", "{d:#}");
    assert!(
        d["message"].as_str().is_some_and(|m| !m.trim().is_empty()),
        "diagnostic without a reason: {d:#}"
    );
    if let Some(line) = line {
        assert_eq!(d["pos"]["line"], line, "wrong line: {d:#}");
    }
    d
}

/// The good manifest was still checked: its BA110 finding is there, at its line.
fn assert_good_checked(report: &Value) {
    let hit = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .any(|f| {
            f["rule_id"] == "BA110"
                && f["file"] == "good.yaml"
                && f["start_line"] == 7
                && f["resource"]["name"] == "web"
        });
    assert!(
        hit,
        "the good manifest's BA110 finding is missing: {:#}",
        report["findings"]
    );
}

/// The findings of one rule on one file, as `(line, resource name)`.
fn findings_on(report: &Value, rule: &str, file: &str) -> Vec<(u64, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule_id"] == rule && f["file"] == file)
        .map(|f| {
            (
                f["start_line"].as_u64().unwrap_or(0),
                f["resource"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// Runs one bad file beside the good one: exit 2, the diagnostic, the good finding.
fn check_bad_file(name: &str, bytes: &[u8], code: &str, line: Option<u64>) -> Value {
    let dir = tree(&[(name, bytes)]);
    let (exit, report) = scan(dir.path());
    assert_eq!(exit, 2, "exit code: {report:#}");
    assert_diag(&report, code, name, line);
    assert_good_checked(&report);
    report
}

#[test]
fn malformed_yaml_reports_the_line_of_the_error() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  x: b: c\ndata:\n  k: v\n";
    check_bad_file("malformed.yaml", text.as_bytes(), "yaml-syntax", Some(5));
    // The same in a file with CRLF line ends.
    let crlf = text.replace('\n', "\r\n");
    check_bad_file("crlf.yaml", crlf.as_bytes(), "yaml-syntax", Some(5));
    // A duplicate key is an error too (a later value would silently win).
    let dup = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n";
    check_bad_file("dup.yaml", dup.as_bytes(), "yaml-syntax", Some(5));
}

#[test]
fn malformed_json_reports_the_line_of_the_error() {
    let text = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"ConfigMap\"\n  \"metadata\": {\"name\": \"a\"}\n}\n";
    check_bad_file("broken.json", text.as_bytes(), "yaml-syntax", Some(4));
}

#[test]
fn alias_bomb_is_cut_off() {
    // Billion laughs: 9 levels of 9 aliases each = 9^9 (387 million) nodes if expanded.
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for level in 1..10u8 {
        let (prev, cur) = ((b'a' + level - 1) as char, (b'a' + level) as char);
        let items = vec![format!("*{prev}"); 9].join(",");
        text.push_str(&format!("{cur}: &{cur} [{items}]\n"));
    }
    let report = check_bad_file("bomb.yaml", text.as_bytes(), "yaml-syntax", None);
    let d = assert_diag(&report, "yaml-syntax", "bomb.yaml", None);
    let line = d["pos"]["line"].as_u64().expect("the bomb has a line");
    assert!((1..=10).contains(&line), "{d:#}");
    assert!(
        d["message"].as_str().unwrap_or_default().contains("alias"),
        "the reason names the aliases: {d:#}"
    );
}

#[test]
fn deep_nesting_is_cut_off() {
    let flow_seq = "[".repeat(100_000);
    check_bad_file("deep-seq.yaml", flow_seq.as_bytes(), "yaml-syntax", Some(1));
    let flow_map = "{".repeat(100_000);
    check_bad_file("deep-map.yaml", flow_map.as_bytes(), "yaml-syntax", Some(1));
    let block_seq = format!("{}x\n", "- ".repeat(100_000));
    check_bad_file(
        "deep-block.yaml",
        block_seq.as_bytes(),
        "yaml-syntax",
        Some(1),
    );
    let json = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    check_bad_file("deep.json", json.as_bytes(), "yaml-syntax", Some(1));
}

#[test]
fn binary_file_with_a_manifest_extension() {
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 256) as u8).collect();
    check_bad_file("image.yaml", &bytes, "binary-file", None);
}

#[test]
fn non_utf8_file_reports_the_line_of_the_bad_byte() {
    let bytes = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n";
    let report = check_bad_file("latin1.yaml", bytes, "not-utf8", Some(4));
    let d = assert_diag(&report, "not-utf8", "latin1.yaml", Some(4));
    assert_eq!(d["pos"]["column"], 12, "column of the bad byte: {d:#}");
}

#[test]
fn empty_files_are_not_errors() {
    let dir = tree(&[
        ("empty.yaml", b""),
        ("blank.yml", b"\n  \n\n"),
        ("comments.yaml", b"# nothing here yet\n"),
        ("separators.yaml", b"---\n---\n"),
        ("empty.json", b""),
    ]);
    let (exit, report) = scan(dir.path());
    assert_eq!(exit, 1, "only the good file's finding decides: {report:#}");
    assert_eq!(report["summary"]["errors"], 0, "{report:#}");
    for name in [
        "empty.yaml",
        "blank.yml",
        "comments.yaml",
        "separators.yaml",
        "empty.json",
    ] {
        assert!(
            diagnostics_of(&report, name).is_empty(),
            "{name} gets no diagnostic: {:#}",
            report["diagnostics"]
        );
    }
    assert_good_checked(&report);
}

#[test]
fn unreadable_file_and_directory() {
    let dir = tree(&[
        ("locked.yaml", GOOD.as_bytes()),
        ("closed/inner.yaml", GOOD.as_bytes()),
    ]);
    let file = dir.path().join("locked.yaml");
    let sub = dir.path().join("closed");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o000)).expect("chmod file");
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o000)).expect("chmod dir");
    // Root (and CAP_DAC_OVERRIDE) reads them anyway: then there is nothing to report.
    let file_unreadable = fs::read(&file).is_err();
    let dir_unreadable = fs::read_dir(&sub).is_err();
    let (exit, report) = scan(dir.path());
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o755)).expect("chmod back");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).expect("chmod back");
    assert_good_checked(&report);
    if file_unreadable {
        assert_diag(&report, "unreadable", "locked.yaml", None);
    } else {
        eprintln!(
            "note: running with the rights to read a mode-000 file; unreadable-file check skipped"
        );
    }
    if dir_unreadable {
        assert_diag(&report, "unreadable", "closed", None);
    } else {
        eprintln!("note: running with the rights to read a mode-000 directory; unreadable-dir check skipped");
    }
    if file_unreadable || dir_unreadable {
        assert_eq!(exit, 2, "{report:#}");
    } else {
        assert_eq!(
            exit, 1,
            "the files were read, so only findings decide: {report:#}"
        );
    }
}

#[test]
fn symlink_loop_is_reported_not_followed() {
    let dir = tree(&[(
        "sub/svc.yaml",
        GOOD.replace("name: web", "name: inner").as_bytes(),
    )]);
    // sub/up -> .. : the link leads back to the scanned root, its own ancestor.
    std::os::unix::fs::symlink("..", dir.path().join("sub/up")).expect("symlink");
    let (exit, report) = scan(dir.path());
    assert_eq!(exit, 2, "{report:#}");
    assert_diag(&report, "symlink-loop", "sub/up", None);
    assert_good_checked(&report);
    // The rest of the directory is still read, once.
    assert_eq!(
        findings_on(&report, "BA110", "sub/svc.yaml"),
        [(7, "inner".to_string())]
    );
    assert_eq!(
        findings_on(&report, "BA110", "good.yaml").len(),
        1,
        "{report:#}"
    );
}

#[test]
fn loose_helm_template_is_a_warning_not_an_error() {
    // A template outside a chart is recognised by its `{{ }}` when it does not parse. It is
    // knowingly not checked: a warning that names `helm template`, and no exit code 2.
    // (Charts themselves are rendered or warned about once: tests/helm.rs.)
    let dir = tree(&[(
        "loose/service.yaml",
        b"apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n",
    )]);
    let (exit, report) = scan(dir.path());
    assert_eq!(exit, 1, "{report:#}");
    let found = diagnostics_of(&report, "loose/service.yaml");
    assert_eq!(found.len(), 1, "{report:#}");
    let d = found[0];
    assert_eq!(d["code"], "helm-template", "{d:#}");
    assert_eq!(d["level"], "warning", "{d:#}");
    assert_eq!(d["pos"]["line"], 4, "{d:#}");
    assert!(
        d["message"]
            .as_str()
            .unwrap_or_default()
            .contains("helm template"),
        "the reason names `helm template`: {d:#}"
    );
    assert_good_checked(&report);
}

#[test]
fn huge_file_is_not_read() {
    let dir = tree(&[]);
    let path = dir.path().join("huge.yaml");
    // Sparse: 65 MiB long, no blocks written, so the test stays fast.
    let f = fs::File::create(&path).expect("create");
    f.set_len(65 * 1024 * 1024).expect("set_len");
    drop(f);
    let (exit, report) = scan(dir.path());
    assert_eq!(exit, 2, "{report:#}");
    assert_diag(&report, "too-large", "huge.yaml", None);
    assert_good_checked(&report);
}

#[test]
fn multi_document_file_with_a_broken_second_document() {
    let text = "\
apiVersion: v1
kind: Service
metadata:
  name: first
  namespace: y
spec:
  type: NodePort
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: second
  x: b: c
";
    let report = check_bad_file("multi.yaml", text.as_bytes(), "yaml-syntax", Some(13));
    assert_eq!(
        findings_on(&report, "BA110", "multi.yaml"),
        [(7, "first".to_string())],
        "the first document is still checked"
    );
}

#[test]
fn kind_list_and_json_manifests_are_checked_at_their_lines() {
    let list = "\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: cfg
    namespace: z
- apiVersion: v1
  kind: Service
  metadata:
    name: listed
    namespace: z
  spec:
    type: NodePort
";
    let json = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Service\",\n  \"metadata\": {\"name\": \"js\", \"namespace\": \"j\"},\n  \"spec\": {\n    \"type\": \"LoadBalancer\"\n  }\n}\n";
    let dir = tree(&[
        ("list.yaml", list.as_bytes()),
        ("svc.json", json.as_bytes()),
    ]);
    let (exit, report) = scan(dir.path());
    assert_eq!(exit, 1, "{report:#}");
    assert_eq!(report["summary"]["errors"], 0, "{report:#}");
    assert_eq!(
        findings_on(&report, "BA110", "list.yaml"),
        [(15, "listed".to_string())]
    );
    assert_eq!(
        findings_on(&report, "BA110", "svc.json"),
        [(6, "js".to_string())]
    );
    assert_good_checked(&report);
}

#[test]
fn every_bad_input_at_once() {
    let dir = tree(&[
        (
            "a/malformed.yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  x: b: c\n",
        ),
        ("a/deep.yaml", "[".repeat(100_000).as_bytes()),
        ("a/binary.yml", b"\x7fELF\x00\x00\x00\x01"),
        ("a/latin1.yaml", b"kind: caf\xe9\n"),
        ("a/empty.yaml", b""),
    ]);
    std::os::unix::fs::symlink("..", dir.path().join("a/loop")).expect("symlink");
    let (exit, report) = scan(dir.path());
    assert_eq!(exit, 2, "{report:#}");
    assert_diag(&report, "yaml-syntax", "a/malformed.yaml", Some(4));
    assert_diag(&report, "yaml-syntax", "a/deep.yaml", Some(1));
    assert_diag(&report, "binary-file", "a/binary.yml", None);
    assert_diag(&report, "not-utf8", "a/latin1.yaml", Some(1));
    assert_diag(&report, "symlink-loop", "a/loop", None);
    assert!(diagnostics_of(&report, "a/empty.yaml").is_empty());
    assert_good_checked(&report);
}

/// Secret values (and their copy in the last-applied annotation) in every shape the loader
/// reads. They must not appear in any output format.
const SECRET_VALUES: &[&str] = &[
    "c3VwZXJzZWNyZXRwdw==",
    "tok-LEAKME-42",
    "multi-line-LEAKME",
    "applied-LEAKME",
    "Zmxvd0xFQUtNRQ==",
    "listed-LEAKME",
    "json-LEAKME",
];

#[test]
fn secret_values_never_appear_in_any_output() {
    // Metadata last in the second document, so the finding's snippet shows the lines above it.
    let yaml = r#"apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: default
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"v1","kind":"Secret","stringData":{"token":"applied-LEAKME"},"metadata":{"name":"creds","namespace":"default"}}
data:
  password: c3VwZXJzZWNyZXRwdw==
stringData:
  token: tok-LEAKME-42
  cert: |
    multi-line-LEAKME
    multi-line-LEAKME
---
apiVersion: v1
kind: Secret
data: {password: Zmxvd0xFQUtNRQ==}
metadata: {namespace: default, name: flowy}
"#;
    let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  stringData:\n    token: listed-LEAKME\n  metadata:\n    namespace: default\n    name: inlist\n";
    let json = "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"stringData\":{\"token\":\"json-LEAKME\"},\n \"metadata\":{\"namespace\":\"default\",\"name\":\"js\"}}\n";
    let dir = tree(&[
        ("secret.yaml", yaml.as_bytes()),
        ("list.yaml", list.as_bytes()),
        ("secret.json", json.as_bytes()),
    ]);
    for format in ["human", "json", "sarif"] {
        let run = run_blogaudit(
            dir.path(),
            &[
                "scan",
                ".",
                "--format",
                format,
                "--verbose",
                "--color",
                "never",
            ],
        );
        assert_eq!(run.code, 1, "{format}: {}{}", run.stdout, run.stderr);
        let hits = run.stdout.matches("BA170").count();
        assert!(
            hits >= 4,
            "{format}: BA170 reports every Secret:\n{}",
            run.stdout
        );
        for value in SECRET_VALUES {
            assert!(
                !run.stdout.contains(value) && !run.stderr.contains(value),
                "{format} output shows the secret value {value}:\n{}",
                run.stdout
            );
        }
    }
}

#[test]
fn secret_values_of_a_secret_without_api_version_never_appear() {
    // Not a valid object, so it is skipped with a note (`--verbose` shows it with its source).
    let text = "kind: Secret\nstringData: {token: noapi-LEAKME}\nmetadata: {name: s, namespace: default}\n";
    let dir = tree(&[("noapi.yaml", text.as_bytes())]);
    for format in ["human", "json", "sarif"] {
        let run = run_blogaudit(dir.path(), &["scan", ".", "--format", format, "--verbose"]);
        assert_ne!(run.code, 2, "{format}: {}", run.stdout);
        assert!(
            !run.stdout.contains("noapi-LEAKME"),
            "{format} output shows the secret value:\n{}",
            run.stdout
        );
    }
}

#[test]
fn secret_values_of_a_broken_secret_never_appear() {
    // A Secret whose document does not parse (a duplicate key, a stray colon): the diagnostic
    // must not show the values around the error.
    let dup = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: x\nstringData:\n  token: dup-LEAKME-1\n  token: dup-LEAKME-2\n";
    let colon = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: t\n  namespace: x\nstringData:\n  token: colon-LEAKME\n  bad: x: y\n";
    let dir = tree(&[
        ("dup.yaml", dup.as_bytes()),
        ("colon.yaml", colon.as_bytes()),
    ]);
    for format in ["human", "json", "sarif"] {
        let run = run_blogaudit(dir.path(), &["scan", ".", "--format", format]);
        assert_eq!(run.code, 2, "{format}: {}", run.stdout);
        for value in ["dup-LEAKME-1", "dup-LEAKME-2", "colon-LEAKME"] {
            assert!(
                !run.stdout.contains(value),
                "{format} output shows the secret value {value}:\n{}",
                run.stdout
            );
        }
    }
}

#[test]
fn secret_generator_literals_never_appear() {
    // A kustomize secretGenerator: the rendered Secret has no source document, so its finding
    // points at kustomization.yaml, which holds the literal value.
    let dir = tree(&[(
        "k/kustomization.yaml",
        b"secretGenerator:\n- name: gen\n  literals: [password=kustomize-LEAKME]\nnamespace: default\n",
    )]);
    for format in ["human", "json", "sarif"] {
        let run = run_blogaudit(dir.path(), &["scan", ".", "--format", format]);
        assert_eq!(run.code, 1, "{format}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("BA170"), "{format}:\n{}", run.stdout);
        assert!(
            !run.stdout.contains("kustomize-LEAKME"),
            "{format} output shows the secret value:\n{}",
            run.stdout
        );
    }
}

const KUSTOMIZATION: &str = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namePrefix: prod-
namespace: x
resources:
- deployment.yaml
";

const DEPLOYMENT: &str = "\
# the web front end
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
        securityContext:
          runAsUser: 0
          privileged: true
";

#[test]
fn kustomization_findings_point_back_at_the_source_file() {
    let dir = tree(&[
        ("k/kustomization.yaml", KUSTOMIZATION.as_bytes()),
        ("k/deployment.yaml", DEPLOYMENT.as_bytes()),
    ]);
    let (exit, report) = scan(dir.path());
    assert_eq!(exit, 1, "{report:#}");
    assert_eq!(report["summary"]["errors"], 0, "{report:#}");
    let findings = report["findings"].as_array().expect("findings");
    let of = |rule: &str| -> Vec<&Value> {
        findings
            .iter()
            .filter(|f| f["rule_id"] == rule && f["resource"]["kind"] == "Deployment")
            .collect()
    };
    for (rule, line, path) in [
        (
            "BA101",
            20,
            "/spec/template/spec/containers/0/securityContext/runAsUser",
        ),
        (
            "BA104",
            21,
            "/spec/template/spec/containers/0/securityContext/privileged",
        ),
    ] {
        let found = of(rule);
        assert_eq!(found.len(), 1, "{rule}: {found:#?}");
        let f = found[0];
        assert_eq!(f["file"], "k/deployment.yaml", "{f:#}");
        assert_eq!(f["start_line"], line, "{f:#}");
        assert_eq!(f["path"], path, "{f:#}");
        // The rendered object: prefixed name, namespace set by the kustomization.
        assert_eq!(f["resource"]["name"], "prod-web", "{f:#}");
        assert_eq!(f["resource"]["namespace"], "x", "{f:#}");
    }
    // Every finding on the rendered Deployment points into deployment.yaml, at a real line.
    let lines = DEPLOYMENT.lines().count() as u64;
    for f in findings
        .iter()
        .filter(|f| f["resource"]["kind"] == "Deployment")
    {
        assert_eq!(f["file"], "k/deployment.yaml", "{f:#}");
        let line = f["start_line"].as_u64().unwrap_or(0);
        assert!((2..=lines).contains(&line), "{f:#}");
    }
    assert_good_checked(&report);
}

#[test]
fn broken_kustomization_gives_a_kustomize_diagnostic() {
    let dir = tree(&[("k/kustomization.yaml", b"resources:\n- missing.yaml\n")]);
    let (exit, report) = scan(dir.path());
    assert_eq!(exit, 2, "{report:#}");
    let d = assert_diag(&report, "kustomize", "k/kustomization.yaml", None);
    assert!(
        d["message"]
            .as_str()
            .unwrap_or_default()
            .contains("missing.yaml"),
        "the reason is kustomize's error: {d:#}"
    );
    assert_good_checked(&report);
}

#[test]
fn fifo_with_a_manifest_name_does_not_hang_the_scan() {
    // Reading a named pipe blocks until a writer comes: the scan must not open it.
    for name in ["pipe.yaml", "pipe.json", "pipe.tf"] {
        let dir = tree(&[]);
        let status = std::process::Command::new("mkfifo")
            .arg(dir.path().join(name))
            .status()
            .expect("mkfifo runs");
        assert!(status.success(), "mkfifo {name}");
        let (exit, report) = scan(dir.path());
        assert_eq!(exit, 2, "{name}: {report:#}");
        assert_diag(&report, "unreadable", name, None);
        assert_good_checked(&report);
    }
}
