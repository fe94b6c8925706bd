//! Baselines, `--changed-since`, `--report-only-paths`, `--output-format`, and the stability of
//! fingerprints that baselines and code scanning rely on.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{root, run_blogaudit, Run};
use serde_json::Value;

/// A copy of `samples/blog-broken/k8s` in a fresh directory.
fn broken_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_tree(
        &root().join("samples/blog-broken/k8s"),
        &dir.path().join("k8s"),
    );
    dir
}

/// `(rule, kind/namespace/name, field path) → (fingerprint, line)` of a JSON report.
fn by_identity(report: &Value) -> BTreeMap<(String, String, String), (String, u64)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let r = &f["resource"];
            (
                (
                    f["rule_id"].as_str().unwrap_or_default().to_string(),
                    format!("{}/{}/{}", r["kind"], r["namespace"], r["name"]),
                    f["path"].as_str().unwrap_or_default().to_string(),
                ),
                (
                    f["fingerprint"].as_str().unwrap_or_default().to_string(),
                    f["start_line"].as_u64().unwrap_or_default(),
                ),
            )
        })
        .collect()
}

fn fingerprints(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn fingerprints_survive_unrelated_edits() {
    let dir = broken_copy();
    let before = run_blogaudit(dir.path(), &["scan", "k8s", "--format", "json"]);
    assert_eq!(before.code, 1, "{}", before.stderr);
    let before = by_identity(&before.json());

    // Five lines above every finding of the file, and an unrelated resource renamed.
    let file = dir.path().join("k8s/monitoring/grafana.yaml");
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(text.contains("name: grafana-datasources"));
    let edited = format!(
        "# one\n# two\n# three\n# four\n# five\n{}",
        text.replace("name: grafana-datasources", "name: grafana-sources")
    );
    std::fs::write(&file, edited).expect("write");

    let after = run_blogaudit(dir.path(), &["scan", "k8s", "--format", "json"]);
    assert_eq!(after.code, 1, "{}", after.stderr);
    let after = by_identity(&after.json());
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "the same findings"
    );
    let mut moved = 0;
    for (id, (fp, line)) in &before {
        let (fp2, line2) = &after[id];
        assert_eq!(fp, fp2, "fingerprint of {id:?} changed");
        if id.1.contains("monitoring") && *line2 == line + 5 {
            moved += 1;
        }
    }
    assert!(moved >= 3, "the grafana findings moved down five lines");
}

#[test]
fn fingerprints_are_distinct_within_a_file() {
    let run = run_blogaudit(
        &root(),
        &["scan", "samples/blog-broken", "--format", "json"],
    );
    let all = fingerprints(&run.json());
    let unique: std::collections::BTreeSet<_> = all.iter().collect();
    assert_eq!(all.len(), unique.len());
}

#[test]
fn baseline_hides_known_findings_and_reports_new_ones() {
    let dir = broken_copy();
    let first = run_blogaudit(
        dir.path(),
        &["scan", "k8s", "--write-baseline", "baseline.sarif"],
    );
    assert_eq!(first.code, 1, "{}", first.stderr);
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("baseline.sarif")).unwrap())
            .expect("the baseline is SARIF");
    assert_eq!(sarif["version"], "2.1.0");

    for baseline in ["baseline.sarif", "baseline.json"] {
        if baseline.ends_with("json") {
            let w = run_blogaudit(dir.path(), &["scan", "k8s", "--write-baseline", baseline]);
            assert_eq!(w.code, 1);
        }
        let again = run_blogaudit(
            dir.path(),
            &["scan", "k8s", "--baseline", baseline, "--format", "json"],
        );
        assert_eq!(again.code, 0, "{baseline}: {}", again.stderr);
        let report = again.json();
        assert_eq!(report["findings"].as_array().map(Vec::len), Some(0));
        assert!(report["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .any(|d| d["code"] == "baseline"));
    }

    let human = run_blogaudit(dir.path(), &["scan", "k8s", "--baseline", "baseline.sarif"]);
    assert!(
        human
            .stdout
            .contains("are in the baseline and not reported"),
        "the human report says findings were left out:\n{}",
        human.stdout
    );

    // A new violation: a second NodePort Service.
    std::fs::write(dir.path().join("k8s/extra.yaml"), common::NODEPORT_SERVICE).expect("write");
    let new = run_blogaudit(
        dir.path(),
        &[
            "scan",
            "k8s",
            "--baseline",
            "baseline.sarif",
            "--format",
            "json",
        ],
    );
    assert_eq!(new.code, 1, "{}", new.stderr);
    let report = new.json();
    let files: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["file"].as_str())
        .collect();
    assert!(!files.is_empty());
    assert!(files.iter().all(|f| *f == "k8s/extra.yaml"), "{files:?}");
}

#[test]
fn a_bad_baseline_is_an_error_before_scanning() {
    let dir = broken_copy();
    std::fs::write(dir.path().join("bad.json"), "{\"runs\": [").unwrap();
    std::fs::write(dir.path().join("other.json"), "{\"x\": 1}").unwrap();
    for (file, says) in [
        ("bad.json", "is not JSON (line 1"),
        ("other.json", "is not a blogaudit baseline"),
        ("missing.json", "cannot read the baseline"),
    ] {
        let run = run_blogaudit(dir.path(), &["scan", "k8s", "--baseline", file]);
        assert_eq!(run.code, 2, "{file}");
        assert!(run.stderr.contains(says), "{file}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "no scan ran: {}", run.stdout);
    }
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs")
        .status
        .success();
    assert!(ok, "git {args:?}");
}

fn report_files(run: &Run) -> std::collections::BTreeSet<String> {
    run.json()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["file"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn changed_since_reports_only_changed_files_with_the_whole_tree_in_view() {
    let dir = broken_copy();
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-qm", "base"]);

    let none = run_blogaudit(
        dir.path(),
        &["scan", "k8s", "--changed-since", "HEAD", "--format", "json"],
    );
    assert_eq!(none.code, 0, "{}", none.stderr);
    assert!(report_files(&none).is_empty());

    // One edited file, one new untracked file.
    let role = dir.path().join("k8s/debug-role.yaml");
    let text = std::fs::read_to_string(&role).unwrap();
    std::fs::write(&role, format!("# reviewed\n{text}")).unwrap();
    std::fs::write(dir.path().join("k8s/extra.yaml"), common::NODEPORT_SERVICE).unwrap();
    let some = run_blogaudit(
        dir.path(),
        &["scan", "k8s", "--changed-since", "HEAD", "--format", "json"],
    );
    assert_eq!(some.code, 1, "{}", some.stderr);
    let files = report_files(&some);
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        ["k8s/debug-role.yaml", "k8s/extra.yaml"]
    );

    // From a subdirectory too: Git paths are from the top, findings from the working directory.
    let sub = run_blogaudit(
        &dir.path().join("k8s"),
        &["scan", ".", "--changed-since", "HEAD", "--format", "json"],
    );
    assert_eq!(
        report_files(&sub).into_iter().collect::<Vec<_>>(),
        ["debug-role.yaml", "extra.yaml"]
    );

    let bad = run_blogaudit(
        dir.path(),
        &["scan", "k8s", "--changed-since", "no-such-ref"],
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("`no-such-ref` is not a commit"),
        "{}",
        bad.stderr
    );
}

#[test]
fn changed_since_outside_git_is_an_error() {
    let dir = broken_copy();
    let run = run_blogaudit(dir.path(), &["scan", "k8s", "--changed-since", "HEAD"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("git"), "{}", run.stderr);
}

#[test]
fn report_only_paths_keeps_cross_resource_rules_whole() {
    let dir = broken_copy();
    // BA120 (NetworkPolicy per namespace) and selector rules need the rest of the tree: the
    // one-file scan and the whole-tree scan restricted to that file must differ where they do.
    let file = "k8s/posts/deployment.yaml";
    let whole = run_blogaudit(dir.path(), &["scan", "k8s", "--format", "json"]);
    let expected: Vec<Value> = whole.json()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["file"] == file)
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    let only = run_blogaudit(
        dir.path(),
        &["scan", "--report-only-paths", file, "--format", "json"],
    );
    assert_eq!(only.code, 1, "{}", only.stderr);
    assert_eq!(only.json()["findings"].as_array(), Some(&expected));
}

#[test]
fn several_formats_from_one_scan() {
    let dir = broken_copy();
    let run = run_blogaudit(
        dir.path(),
        &[
            "scan",
            "k8s",
            "--format",
            "json",
            "--output-format",
            "sarif=out.sarif",
            "--output-format",
            "human=out.txt",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let json = run.json();
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.sarif")).unwrap())
            .unwrap();
    let from_sarif: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["partialFingerprints"]["blogauditFingerprint/v1"].as_str())
        .collect();
    let from_json: Vec<String> = fingerprints(&json);
    assert_eq!(from_sarif, from_json);
    let human = std::fs::read_to_string(dir.path().join("out.txt")).unwrap();
    assert!(human.contains("BA101"), "{human}");
    assert!(!human.contains('\u{1b}'), "no colour codes in a file");
}

#[test]
fn bad_output_plans_fail_before_scanning() {
    let dir = broken_copy();
    for (args, says) in [
        (
            vec!["--output-format", "xml=out.xml"],
            "unknown format `xml`",
        ),
        (vec!["--output-format", "sarif"], "expected FORMAT=FILE"),
        (
            vec!["--output-format", "sarif=no/such/dir/out.sarif"],
            "cannot write no/such/dir/out.sarif",
        ),
        (
            vec!["-o", "a.sarif", "--output-format", "junit=./a.sarif"],
            "is named twice",
        ),
        (
            vec!["--output-format", "sarif=b", "--write-baseline", "b"],
            "is named twice",
        ),
    ] {
        let mut all = vec!["scan", "k8s", "--timings"];
        all.extend(args.iter().copied());
        let run = run_blogaudit(dir.path(), &all);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(
            !run.stderr.contains("evaluate"),
            "{args:?}: no scan ran: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{args:?}");
    }
}
