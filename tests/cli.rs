//! The command line, run as the real binary: exit codes, `--output`, `rules`, `explain`,
//! `init`, config discovery and errors, rule settings, suppressions, user rules and
//! fingerprints.

mod common;

use std::fs;
use std::path::Path;

use common::{root, run_blogaudit, Run};
use serde_json::Value;
use tempfile::TempDir;

/// Service x/web: BA110 at `spec.type`, line 7.
const SERVICE: &str = common::NODEPORT_SERVICE;

/// A temporary tree of `files`. Unless one is given, an empty `blogaudit.toml` sits at its
/// root, so config discovery never reaches outside it.
fn tree(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    if !files.iter().any(|(n, _)| n.ends_with("blogaudit.toml")) {
        fs::write(dir.path().join("blogaudit.toml"), "").expect("write config");
    }
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write file");
    }
    dir
}

/// `blogaudit ARGS` in `dir`.
fn run(dir: &Path, args: &[&str]) -> Run {
    run_blogaudit(dir, args)
}

/// `blogaudit scan ARGS --format json` in `dir`: exit code and report.
fn scan_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let r = run(dir, &all);
    (r.code, r.json())
}

fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .collect()
}

fn diagnostics<'a>(report: &'a Value, code: &str) -> Vec<&'a Value> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["code"] == code)
        .collect()
}

/// The one finding of `rule` on the resource named `name`.
fn finding<'a>(report: &'a Value, rule: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> = findings(report, rule)
        .into_iter()
        .filter(|f| f["resource"]["name"] == name)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {rule} finding on {name}: {:#}",
        report["findings"]
    );
    found[0]
}

// ---------------------------------------------------------------- exit codes and output

#[test]
fn samples_exit_0_clean_and_1_broken() {
    let root = root();
    let clean = run(&root, &["scan", "samples/blog", "--format", "json"]);
    let report = clean.json();
    assert_eq!(clean.code, 0, "{report:#}");
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["summary"]["errors"], 0, "{report:#}");
    let human = run(&root, &["scan", "samples/blog", "--color", "never"]);
    assert_eq!(human.code, 0, "{}", human.stdout);

    let broken = run(&root, &["scan", "samples/blog-broken", "--format", "json"]);
    let report = broken.json();
    assert_eq!(broken.code, 1, "{:#}", report["diagnostics"]);
    assert_eq!(
        report["summary"]["errors"], 0,
        "{:#}",
        report["diagnostics"]
    );
    assert!(report["summary"]["findings"].as_u64().unwrap_or(0) > 0);

    let never = run(
        &root,
        &["scan", "samples/blog-broken", "--fail-on", "never"],
    );
    assert_eq!(never.code, 0, "--fail-on never: {}", never.stdout);
}

#[test]
fn fail_on_sets_the_threshold() {
    // A namespace with no default-deny NetworkPolicy: one medium finding (BA121) only.
    let dir = tree(&[(
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
    )]);
    let (code, report) = scan_json(dir.path(), &["."]);
    assert_eq!(code, 1, "default --fail-on low: {report:#}");
    let severities: Vec<&Value> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| &f["severity"])
        .collect();
    assert!(
        !severities.is_empty() && severities.iter().all(|s| *s == "medium"),
        "the tree has medium findings only: {report:#}"
    );
    for (level, expected) in [
        ("low", 1),
        ("medium", 1),
        ("high", 0),
        ("critical", 0),
        ("never", 0),
    ] {
        let r = run(dir.path(), &["scan", ".", "--fail-on", level]);
        assert_eq!(r.code, expected, "--fail-on {level}:\n{}", r.stdout);
    }
    // Input errors still exit 2, whatever --fail-on says.
    fs::write(dir.path().join("bad.yaml"), "a: b: c\n").expect("write");
    let r = run(dir.path(), &["scan", ".", "--fail-on", "never"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
}

#[test]
fn output_writes_the_report_to_a_file() {
    let dir = tree(&[("svc.yaml", SERVICE)]);
    for format in ["json", "sarif", "human"] {
        let out = format!("report.{format}");
        let r = run(
            dir.path(),
            &["scan", ".", "--format", format, "--output", &out],
        );
        assert_eq!(r.code, 1, "{format}: {}", r.stderr);
        assert!(
            r.stdout.is_empty(),
            "{format}: the report goes to the file only:\n{}",
            r.stdout
        );
        let text = fs::read_to_string(dir.path().join(&out)).expect("report written");
        assert!(text.contains("BA110"), "{format}:\n{text}");
        if format != "human" {
            let _: Value = serde_json::from_str(&text).expect("the report file is JSON");
        }
    }
    let written = fs::read_to_string(dir.path().join("report.json")).expect("json report");
    let report: Value = serde_json::from_str(&written).expect("JSON");
    assert_eq!(finding(&report, "BA110", "web")["start_line"], 7);
    // A file that cannot be written: exit 2 with the reason.
    let r = run(
        dir.path(),
        &["scan", ".", "--output", "no/such/dir/report.txt"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cannot write"), "{}", r.stderr);
}

// ---------------------------------------------------------------- rules, explain, init

/// Every rule of the catalogue.
const RULE_IDS: &[&str] = &[
    "BA101", "BA102", "BA103", "BA104", "BA105", "BA110", "BA120", "BA121", "BA130", "BA131",
    "BA132", "BA140", "BA141", "BA142", "BA150", "BA151", "BA152", "BA153", "BA160", "BA170",
    "BA201", "BA202", "BA210", "BA211", "BA212", "BA220", "BA221", "BA222", "BA230", "BA231",
];

#[test]
fn rules_lists_every_rule() {
    let r = run(&root(), &["rules"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let listed: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    // Every catalogue rule, and every rule folder of the repository, once each.
    let mut folders = Vec::new();
    for group in ["k8s", "aws"] {
        for e in fs::read_dir(root().join("rules").join(group)).expect("rules dir") {
            let name = e.expect("entry").file_name().to_string_lossy().into_owned();
            folders.push(name.split('-').next().unwrap_or_default().to_string());
        }
    }
    for id in RULE_IDS
        .iter()
        .map(ToString::to_string)
        .chain(folders.clone())
    {
        assert_eq!(
            listed.iter().filter(|l| **l == id).count(),
            1,
            "{id} listed once:\n{}",
            r.stdout
        );
    }
    assert_eq!(listed.len(), folders.len(), "{}", r.stdout);

    let j = run(&root(), &["rules", "--json"]);
    assert_eq!(j.code, 0, "{}", j.stderr);
    let ids: Vec<String> = j
        .json()
        .as_array()
        .expect("array of rules")
        .iter()
        .map(|m| m["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(ids.len(), folders.len());
    for id in RULE_IDS {
        assert!(ids.iter().any(|i| i == id), "{id} in rules --json");
    }
}

#[test]
fn explain_prints_the_docs() {
    let r = run(&root(), &["explain", "BA101"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for heading in [
        "BA101",
        "## What it checks",
        "## Why it matters",
        "## How to fix",
        "## References",
        "Remediation:",
    ] {
        assert!(r.stdout.contains(heading), "`{heading}` in:\n{}", r.stdout);
    }
    let missing = run(&root(), &["explain", "BA999"]);
    assert_eq!(missing.code, 2, "{}", missing.stdout);
    assert!(missing.stderr.contains("BA999"), "{}", missing.stderr);
}

#[test]
fn init_writes_a_config_that_scan_reads_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("svc.yaml"), SERVICE).expect("write");
    let r = run(dir.path(), &["init"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let path = dir.path().join("blogaudit.toml");
    let written = fs::read_to_string(&path).expect("init wrote blogaudit.toml");
    assert!(written.contains("[rules]"), "{written}");

    // Read back, explicitly and by discovery: no config problem, and the findings are there.
    for args in [&["--config", "blogaudit.toml", "."][..], &["."][..]] {
        let (code, report) = scan_json(dir.path(), args);
        assert_eq!(code, 1, "{args:?}: {report:#}");
        assert!(
            diagnostics(&report, "config").is_empty(),
            "{args:?}: {report:#}"
        );
        finding(&report, "BA110", "web");
    }

    // A second init refuses, and leaves the file alone.
    fs::write(&path, "# mine\n").expect("write");
    let again = run(dir.path(), &["init"]);
    assert_eq!(again.code, 2, "{}", again.stdout);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(fs::read_to_string(&path).expect("read"), "# mine\n");

    // Another path.
    let other = run(dir.path(), &["init", "conf/other.toml"]);
    assert_ne!(other.code, 0, "no such directory: {}", other.stderr);
    fs::create_dir(dir.path().join("conf")).expect("mkdir");
    let other = run(dir.path(), &["init", "conf/other.toml"]);
    assert_eq!(other.code, 0, "{}", other.stderr);
    assert!(dir.path().join("conf/other.toml").is_file());
}

// ---------------------------------------------------------------- config

#[test]
fn config_is_found_by_walking_up_from_the_scanned_path() {
    let dir = tree(&[
        ("proj/blogaudit.toml", "[rules]\ndisable = [\"BA110\"]\n"),
        ("proj/deploy/k8s/svc.yaml", SERVICE),
        ("other/svc.yaml", SERVICE),
    ]);
    // From a directory, and from a file, two levels below the config.
    for path in ["proj/deploy/k8s", "proj/deploy/k8s/svc.yaml"] {
        let (code, report) = scan_json(dir.path(), &[path]);
        assert!(findings(&report, "BA110").is_empty(), "{path}: {report:#}");
        assert_eq!(code, 0, "{path}: {report:#}");
    }
    // From inside the directory, with a relative path.
    let (_, report) = scan_json(&dir.path().join("proj/deploy"), &["k8s"]);
    assert!(findings(&report, "BA110").is_empty(), "{report:#}");
    // A tree beside it does not see that config.
    let (code, report) = scan_json(dir.path(), &["other"]);
    assert_eq!(code, 1, "{report:#}");
    finding(&report, "BA110", "web");
    // `--config` wins over discovery.
    fs::write(dir.path().join("empty.toml"), "").expect("write");
    let (_, report) = scan_json(dir.path(), &["--config", "empty.toml", "proj/deploy/k8s"]);
    finding(&report, "BA110", "web");
    // The hidden name is found too.
    fs::rename(
        dir.path().join("proj/blogaudit.toml"),
        dir.path().join("proj/.blogaudit.toml"),
    )
    .expect("rename");
    let (_, report) = scan_json(dir.path(), &["proj/deploy/k8s"]);
    assert!(findings(&report, "BA110").is_empty(), "{report:#}");
}

#[test]
fn bad_config_is_a_config_diagnostic_with_its_line() {
    let cases = [
        // An unknown key on line 4.
        (
            "registry = \"123456789012.dkr.ecr.eu-west-1.amazonaws.com\"\n\n[rules]\ndisabled = [\"BA110\"]\n",
            4,
        ),
        // A wrong type on line 2.
        ("# azs\nmin_node_group_azs = \"three\"\n", 2),
        // A wrong severity on line 3.
        ("[rules.severity]\nBA170 = \"high\"\nBA110 = \"urgent\"\n", 3),
    ];
    for (text, line) in cases {
        let dir = tree(&[("blogaudit.toml", text), ("svc.yaml", SERVICE)]);
        let (code, report) = scan_json(dir.path(), &["."]);
        assert_eq!(code, 2, "{text}: {report:#}");
        let d = diagnostics(&report, "config");
        assert_eq!(d.len(), 1, "{text}: {report:#}");
        assert_eq!(d[0]["level"], "error");
        assert_eq!(d[0]["file"], "blogaudit.toml", "{:#}", d[0]);
        assert_eq!(d[0]["pos"]["line"], line, "{text}: {:#}", d[0]);
        // The run goes on with the defaults.
        finding(&report, "BA110", "web");
    }
    // The same through --config.
    let dir = tree(&[
        ("conf/bad.toml", "[rules]\nnope = 1\n"),
        ("svc.yaml", SERVICE),
    ]);
    let (code, report) = scan_json(dir.path(), &["--config", "conf/bad.toml", "."]);
    assert_eq!(code, 2, "{report:#}");
    let d = diagnostics(&report, "config");
    assert_eq!(d.len(), 1, "{report:#}");
    assert_eq!(d[0]["file"], "conf/bad.toml");
    assert_eq!(d[0]["pos"]["line"], 2);
}

/// A Service (BA110, high) and a ConfigMap in `default` (BA170, low).
const TWO_RULES: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: x
spec:
  type: NodePort
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: default
";

#[test]
fn rules_disable_and_severity_overrides() {
    let dir = tree(&[("m.yaml", TWO_RULES)]);
    let (_, report) = scan_json(dir.path(), &["."]);
    assert_eq!(finding(&report, "BA110", "web")["severity"], "high");
    assert_eq!(finding(&report, "BA170", "settings")["severity"], "low");

    fs::write(
        dir.path().join("blogaudit.toml"),
        "[rules]\ndisable = [\"BA170\"]\n",
    )
    .expect("write");
    let (code, report) = scan_json(dir.path(), &["."]);
    assert_eq!(code, 1);
    assert!(findings(&report, "BA170").is_empty(), "{report:#}");
    finding(&report, "BA110", "web");

    fs::write(
        dir.path().join("blogaudit.toml"),
        "[rules.severity]\nBA110 = \"low\"\nBA170 = \"critical\"\n",
    )
    .expect("write");
    let (_, report) = scan_json(dir.path(), &["."]);
    assert_eq!(finding(&report, "BA110", "web")["severity"], "low");
    assert_eq!(
        finding(&report, "BA170", "settings")["severity"],
        "critical"
    );
    // The override decides --fail-on as well, and reaches SARIF.
    let r = run(dir.path(), &["scan", ".", "--fail-on", "critical"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let sarif = run(dir.path(), &["scan", ".", "--format", "sarif"]).json();
    let level_of = |rule: &str| {
        sarif["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .find(|x| x["ruleId"] == rule)
            .map(|x| x["level"].clone())
    };
    assert_eq!(level_of("BA110"), Some(Value::from("note")), "{sarif:#}");
    assert_eq!(level_of("BA170"), Some(Value::from("error")), "{sarif:#}");

    // Disabling all the rules that fire: exit 0. An unknown rule ID is a warning.
    fs::write(
        dir.path().join("blogaudit.toml"),
        "[rules]\ndisable = [\"BA110\", \"ba170\", \"BA999\"]\n",
    )
    .expect("write");
    let (code, report) = scan_json(dir.path(), &["."]);
    assert_eq!(code, 0, "{report:#}");
    let d = diagnostics(&report, "config");
    assert_eq!(d.len(), 1, "{report:#}");
    assert_eq!(d[0]["level"], "warning");
    assert!(d[0]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("BA999"));
}

// ---------------------------------------------------------------- suppressions

/// Services with every kind of suppression annotation.
const ANNOTATED: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: accepted
  namespace: x
  annotations:
    blogaudit.io/ignore: \"BA110: the test entry point\"
spec:
  type: NodePort
---
apiVersion: v1
kind: Service
metadata:
  name: expired
  namespace: x
  annotations:
    blogaudit.io/ignore: \"BA110: an old exception until=2000-01-01\"
spec:
  type: NodePort
---
apiVersion: v1
kind: Service
metadata:
  name: unexplained
  namespace: x
  annotations:
    blogaudit.io/ignore: \"BA110:\"
spec:
  type: NodePort
---
apiVersion: v1
kind: Service
metadata:
  name: future
  namespace: x
  annotations:
    blogaudit.io/ignore: \"BA110: until the migration until=2999-12-31\"
spec:
  type: NodePort
---
apiVersion: v1
kind: Service
metadata:
  name: other-rule
  namespace: x
  annotations:
    blogaudit.io/ignore: \"BA170: wrong rule\"
spec:
  type: NodePort
";

#[test]
fn annotation_suppresses_with_a_reason_until_it_expires() {
    let dir = tree(&[("svc.yaml", ANNOTATED)]);
    let (code, report) = scan_json(dir.path(), &["."]);
    assert_eq!(code, 1, "{report:#}");

    let accepted = finding(&report, "BA110", "accepted");
    assert_eq!(accepted["suppression"]["source"], "annotation");
    assert_eq!(accepted["suppression"]["reason"], "the test entry point");
    let future = finding(&report, "BA110", "future");
    assert_eq!(future["suppression"]["until"], "2999-12-31", "{future:#}");
    // Expired, without a reason, or for another rule: the finding is reported.
    for name in ["expired", "unexplained", "other-rule"] {
        assert!(
            finding(&report, "BA110", name)["suppression"].is_null(),
            "{name}: {report:#}"
        );
    }
    assert_eq!(report["summary"]["suppressed"], 2, "{report:#}");
    assert_eq!(report["summary"]["findings"], 3, "{report:#}");

    // Each bad suppression is a warning (never an error: exit 1, not 2).
    let warnings = diagnostics(&report, "suppression");
    assert!(
        warnings.iter().all(|d| d["level"] == "warning"),
        "{warnings:#?}"
    );
    let expired: Vec<_> = warnings
        .iter()
        .filter(|d| {
            let m = d["message"].as_str().unwrap_or_default();
            m.contains("expired") && m.contains("2000-01-01")
        })
        .collect();
    assert_eq!(expired.len(), 1, "an expiry warning: {warnings:#?}");
    assert!(
        expired[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("svc.yaml:19"),
        "the expiry names the finding's place: {:#}",
        expired[0]
    );
    // …and sits on the annotation that expired.
    assert_eq!(expired[0]["file"], "svc.yaml", "{:#}", expired[0]);
    assert_eq!(expired[0]["pos"]["line"], 17, "{:#}", expired[0]);
    let unexplained: Vec<_> = warnings
        .iter()
        .filter(|d| d["message"].as_str().unwrap_or_default().contains("reason"))
        .collect();
    assert_eq!(unexplained.len(), 1, "{warnings:#?}");
    assert_eq!(unexplained[0]["file"], "svc.yaml");
    assert_eq!(unexplained[0]["pos"]["line"], 27, "{:#}", unexplained[0]);

    // SARIF keeps the suppressed findings, with their justification.
    let sarif = run(dir.path(), &["scan", ".", "--format", "sarif"]).json();
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let at_line = |line: u64| {
        results
            .iter()
            .find(|x| {
                x["ruleId"] == "BA110"
                    && x["locations"][0]["physicalLocation"]["region"]["startLine"] == line
            })
            .unwrap_or_else(|| panic!("a BA110 result at line {line}: {sarif:#}"))
    };
    let s = &at_line(9)["suppressions"];
    assert_eq!(s[0]["kind"], "inSource", "{s:#}");
    assert_eq!(s[0]["justification"], "the test entry point", "{s:#}");
    assert_eq!(at_line(39)["suppressions"][0]["kind"], "inSource");
    for line in [19, 29, 49] {
        let s = &at_line(line)["suppressions"];
        assert!(
            s.is_null() || s.as_array().is_some_and(Vec::is_empty),
            "line {line}: {s:#}"
        );
    }
}

#[test]
fn config_ignore_suppresses() {
    let config = "\
[[ignore]]
rule = \"BA110\"
namespace = \"x\"
name = \"web\"
reason = \"accepted in OPS-1\"

[[ignore]]
rule = \"BA110\"
name = \"old\"
reason = \"was accepted\"
until = \"2000-01-01\"
";
    let old = SERVICE.replace("name: web", "name: old");
    let dir = tree(&[
        ("blogaudit.toml", config),
        ("svc.yaml", SERVICE),
        ("old.yaml", &old),
    ]);
    let (code, report) = scan_json(dir.path(), &["."]);
    assert_eq!(code, 1, "the expired entry hides nothing: {report:#}");
    let web = finding(&report, "BA110", "web");
    assert_eq!(web["suppression"]["source"], "config", "{web:#}");
    assert_eq!(web["suppression"]["reason"], "accepted in OPS-1", "{web:#}");
    assert!(finding(&report, "BA110", "old")["suppression"].is_null());
    let expiry = diagnostics(&report, "suppression");
    assert_eq!(expiry.len(), 1, "expiry warning: {report:#}");
    assert!(
        expiry[0]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("blogaudit.toml")),
        "the expiry names the config file: {:#}",
        expiry[0]
    );
    let sarif = run(dir.path(), &["scan", ".", "--format", "sarif"]).json();
    let suppressed: Vec<&Value> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|x| x["suppressions"].as_array().is_some_and(|s| !s.is_empty()))
        .collect();
    assert_eq!(suppressed.len(), 1, "{sarif:#}");
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "external");

    // Without the old file, every finding is suppressed: exit 0.
    fs::remove_file(dir.path().join("old.yaml")).expect("rm");
    let (code, report) = scan_json(dir.path(), &["."]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["summary"]["suppressed"], 1);

    // An entry without a reason is a config error, and suppresses nothing.
    fs::write(
        dir.path().join("blogaudit.toml"),
        "[[ignore]]\nrule = \"BA110\"\nreason = \" \"\n",
    )
    .expect("write");
    let (code, report) = scan_json(dir.path(), &["."]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(diagnostics(&report, "config").len(), 1, "{report:#}");
    assert!(finding(&report, "BA110", "web")["suppression"].is_null());
    fs::write(
        dir.path().join("blogaudit.toml"),
        "[[ignore]]\nrule = \"BA110\"\n",
    )
    .expect("write");
    let (code, report) = scan_json(dir.path(), &["."]);
    assert_eq!(code, 2, "a missing reason: {report:#}");
    assert!(finding(&report, "BA110", "web")["suppression"].is_null());
}

#[test]
fn config_ignore_path_does_not_depend_on_the_working_directory() {
    // The config is found from the scanned path, so it applies from any working directory;
    // its `path` prefix must then match the same files from any working directory too.
    let dir = tree(&[
        (
            "proj/blogaudit.toml",
            "[[ignore]]\nrule = \"BA110\"\npath = \"k8s/legacy\"\nreason = \"legacy, OPS-2\"\n",
        ),
        ("proj/k8s/legacy/svc.yaml", SERVICE),
    ]);
    for (cwd, path) in [
        ("proj", "."),
        ("proj", "k8s"),
        (".", "proj"),
        ("proj/k8s", "."),
    ] {
        let (code, report) = scan_json(&dir.path().join(cwd), &[path]);
        let web = finding(&report, "BA110", "web");
        assert_eq!(
            web["suppression"]["source"], "config",
            "scan {path} from {cwd}: {web:#}"
        );
        assert_eq!(code, 0, "scan {path} from {cwd}: {report:#}");
    }
}

// ---------------------------------------------------------------- user rules

const USER_RULE: &str = r#"# METADATA
# title: No ConfigMaps
# description: |
#   ## What it checks
#   Every ConfigMap.
#   ## Why it matters
#   A test rule.
#   ## How to fix
#   Remove the ConfigMap.
#   ## References
#   - https://example.com
# custom:
#   id: BA901
#   name: no-configmaps
#   severity: low
#   category: security
#   sources: [M]
#   kinds: [ConfigMap]
#   remediation: Remove the ConfigMap.
package blogaudit.BA901

import rego.v1

violation contains v if {
	input.kind == "ConfigMap"
	v := {"path": ["metadata", "name"], "message": sprintf("ConfigMap %s", [input.metadata.name])}
}
"#;

const CONFIGMAP: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  namespace: x
data:
  a: b
";

#[test]
fn user_rules_add_findings() {
    let dir = tree(&[
        ("my-rules/BA901-no-configmaps/rule.rego", USER_RULE),
        ("k8s/cm.yaml", CONFIGMAP),
        ("k8s/svc.yaml", SERVICE),
    ]);
    let (code, report) = scan_json(dir.path(), &["--rules", "my-rules", "k8s"]);
    assert_eq!(code, 1, "{report:#}");
    assert!(report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .is_empty());
    let f = finding(&report, "BA901", "cfg");
    assert_eq!(f["file"], "k8s/cm.yaml");
    assert_eq!(f["start_line"], 4);
    assert_eq!(f["severity"], "low");
    finding(&report, "BA110", "web");
    // Without --rules, no BA901.
    let (_, report) = scan_json(dir.path(), &["k8s"]);
    assert!(findings(&report, "BA901").is_empty());
    // `rules` and `explain` know it.
    let r = run(dir.path(), &["rules", "--rules", "my-rules"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("BA901"), "{}", r.stdout);
    let r = run(dir.path(), &["explain", "BA901", "--rules", "my-rules"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("No ConfigMaps"), "{}", r.stdout);
}

#[test]
fn bad_user_rules_are_rule_errors_with_file_and_line() {
    // A Rego syntax error on line 25, and a METADATA YAML error on line 16.
    let syntax = USER_RULE.replace("BA901", "BA902").replace(
        "input.kind == \"ConfigMap\"",
        "input.kind == = \"ConfigMap\"",
    );
    let meta = USER_RULE
        .replace("BA901", "BA903")
        .replace("#   category: security", "#   category: security: high");
    let dir = tree(&[
        ("my-rules/BA901-no-configmaps/rule.rego", USER_RULE),
        ("my-rules/BA902-syntax/rule.rego", &syntax),
        ("my-rules/BA903-meta/rule.rego", &meta),
        ("k8s/cm.yaml", CONFIGMAP),
        ("k8s/svc.yaml", SERVICE),
    ]);
    let (code, report) = scan_json(dir.path(), &["--rules", "my-rules", "k8s"]);
    assert_eq!(code, 2, "{report:#}");
    let errors = diagnostics(&report, "rule-error");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    for (file, line, says) in [
        ("my-rules/BA902-syntax/rule.rego", 25, "Rego"),
        ("my-rules/BA903-meta/rule.rego", 16, "METADATA"),
    ] {
        let d = errors
            .iter()
            .find(|d| d["file"] == file)
            .unwrap_or_else(|| panic!("a rule-error on {file}: {errors:#?}"));
        assert_eq!(d["level"], "error");
        assert_eq!(d["pos"]["line"], line, "{d:#}");
        assert!(
            d["message"].as_str().unwrap_or_default().contains(says),
            "{d:#}"
        );
    }
    // The built-in rules and the good user rule still run; the broken ones give nothing.
    finding(&report, "BA110", "web");
    finding(&report, "BA901", "cfg");
    assert!(findings(&report, "BA902").is_empty() && findings(&report, "BA903").is_empty());
    // `rules` refuses to list a broken set, naming the file.
    let r = run(dir.path(), &["rules", "--rules", "my-rules"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("BA902-syntax/rule.rego"), "{}", r.stderr);
    // A --rules directory that does not exist.
    let (code, report) = scan_json(dir.path(), &["--rules", "nowhere", "k8s"]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(diagnostics(&report, "rule-error").len(), 1, "{report:#}");
    finding(&report, "BA110", "web");
}

// ---------------------------------------------------------------- fingerprints

/// A ConfigMap, then a Service with two BA110 findings (`spec.type`, line 13, and
/// `spec.externalIPs`, line 14).
const FINGERPRINTED: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: unrelated
  namespace: x
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: x
spec:
  type: NodePort
  externalIPs: [203.0.113.7]
";

/// `(path, fingerprint, line)` of the BA110 findings, from JSON and from SARIF (which must
/// agree).
fn ba110_fingerprints(dir: &Path) -> Vec<(String, String, u64)> {
    let (_, report) = scan_json(dir, &["."]);
    let mut out: Vec<(String, String, u64)> = findings(&report, "BA110")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_string(),
                f["fingerprint"].as_str().unwrap_or_default().to_string(),
                f["start_line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    out.sort();
    let sarif = run(dir, &["scan", ".", "--format", "sarif"]).json();
    let mut from_sarif: Vec<(String, u64)> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|x| x["ruleId"] == "BA110")
        .map(|x| {
            let fp = x["partialFingerprints"]
                .as_object()
                .and_then(|m| m.values().next())
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let line = x["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap_or(0);
            (fp, line)
        })
        .collect();
    from_sarif.sort();
    let mut from_json: Vec<(String, u64)> = out.iter().map(|(_, fp, l)| (fp.clone(), *l)).collect();
    from_json.sort();
    assert_eq!(from_json, from_sarif, "JSON and SARIF fingerprints agree");
    out
}

#[test]
fn fingerprints_survive_unrelated_edits() {
    let dir = tree(&[("svc.yaml", FINGERPRINTED)]);
    let before = ba110_fingerprints(dir.path());
    assert_eq!(
        before
            .iter()
            .map(|(p, _, l)| (p.as_str(), *l))
            .collect::<Vec<_>>(),
        [("/spec/externalIPs", 14), ("/spec/type", 13)],
        "{before:?}"
    );
    assert_ne!(
        before[0].1, before[1].1,
        "two findings in one file have distinct fingerprints"
    );
    assert!(before.iter().all(|(_, fp, _)| !fp.is_empty()));

    // Five comment lines on top, and the unrelated ConfigMap renamed.
    let edited = format!(
        "# one\n# two\n# three\n# four\n# five\n{}",
        FINGERPRINTED.replace("name: unrelated", "name: renamed-configmap")
    );
    fs::write(dir.path().join("svc.yaml"), edited).expect("write");
    let after = ba110_fingerprints(dir.path());
    assert_eq!(after.len(), before.len(), "{after:?}");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a.0, b.0);
        assert_eq!(a.1, b.1, "the fingerprint of {} is unchanged", b.0);
        assert_eq!(a.2, b.2 + 5, "the finding of {} moved by 5 lines", b.0);
    }

    // Every fingerprint of a larger run is distinct.
    let (_, report) = scan_json(&root(), &["samples/blog-broken"]);
    let mut all: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap_or_default())
        .collect();
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(
        all.len(),
        n,
        "duplicate fingerprints in samples/blog-broken"
    );
}
