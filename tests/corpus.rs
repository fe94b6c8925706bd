//! Ground truth from `tools/gentree.py`: a generated deploy tree (Kubernetes and Terraform,
//! compliant but for the violations the generator plants) gives exactly the planted findings,
//! by rule, file and line: none missed, none extra.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `(rule, file, line)` of a finding.
type Spot = (String, String, u64);

/// Writes a tree with `tools/gentree.py` into a new temp dir; returns the dir and the tree.
fn generate(args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("tree");
    let status = Command::new("python3")
        .arg(common::root().join("tools/gentree.py"))
        .arg("--out")
        .arg(&out)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .expect("python3 runs tools/gentree.py");
    assert!(status.success(), "tools/gentree.py {args:?} failed");
    (dir, out)
}

fn truth(tree: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(tree.join("ground-truth.json")).expect("ground truth");
    serde_json::from_str(&text).expect("ground truth is JSON")
}

/// The planted violations of the ground truth.
fn planted(truth: &serde_json::Value) -> BTreeSet<Spot> {
    let violations = truth["violations"].as_array().expect("violations");
    let spots: BTreeSet<Spot> = violations
        .iter()
        .map(|v| {
            (
                v["rule"].as_str().expect("rule").to_string(),
                v["file"].as_str().expect("file").to_string(),
                v["line"].as_u64().expect("line"),
            )
        })
        .collect();
    assert_eq!(
        spots.len(),
        violations.len(),
        "two violations planted on one line"
    );
    spots
}

/// Scans the tree as a user would (from its root, which finds its `blogaudit.toml`) and
/// returns every active finding; the scan must exit 1 with no input error.
fn found(tree: &Path) -> BTreeSet<Spot> {
    let run = common::run_blogaudit(tree, &["scan", ".", "--format", "json"]);
    assert_eq!(run.code, 1, "scan of the tree: {}", run.stderr);
    let report = run.json();
    assert_eq!(report["summary"]["errors"], 0, "{}", run.stderr);
    let findings = report["findings"].as_array().expect("findings");
    let spots: BTreeSet<Spot> = findings
        .iter()
        .filter(|f| f["suppression"].is_null())
        .map(|f| {
            (
                f["rule_id"].as_str().expect("rule_id").to_string(),
                f["file"].as_str().unwrap_or("<no file>").to_string(),
                f["start_line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(spots.len(), findings.len(), "two findings on one line");
    spots
}

fn assert_exact(tree: &Path) -> BTreeSet<Spot> {
    let want = planted(&truth(tree));
    let got = found(tree);
    let missed: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "planted but not found: {missed:#?}\nfound but not planted: {extra:#?}"
    );
    want
}

/// The default rate over 12 copies plants every violation type the generator knows, each at
/// least once, among hundreds of compliant resources.
#[test]
fn generated_tree_gives_exactly_the_planted_findings() {
    let (_dir, tree) = generate(&["--copies", "12", "--seed", "7"]);
    let truth = truth(&tree);
    let types: BTreeSet<&str> = truth["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| t["rule"].as_str().expect("rule"))
        .collect();
    let spots = assert_exact(&tree);
    let rules: BTreeSet<&str> = spots.iter().map(|(r, _, _)| r.as_str()).collect();
    assert_eq!(rules, types, "some violation type was not planted");
    assert!(rules.len() >= 30, "only {} rules planted", rules.len());
}

/// Every violation type at every site at once: each still gives its one finding, and none
/// hides or adds another.
#[test]
fn every_violation_at_every_site_is_found_exactly() {
    let (_dir, tree) = generate(&["--copies", "3", "--rate", "1", "--seed", "3"]);
    let spots = assert_exact(&tree);
    assert!(spots.len() > 100, "{} findings", spots.len());
}

/// The same arguments give the same bytes; another seed gives another tree.
#[test]
fn generation_is_deterministic() {
    let files = |tree: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        walkdir::WalkDir::new(tree)
            .sort_by_file_name()
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e
                    .path()
                    .strip_prefix(tree)
                    .expect("under tree")
                    .to_path_buf();
                (rel, std::fs::read(e.path()).expect("read"))
            })
            .collect()
    };
    let (_a, first) = generate(&["--copies", "4", "--seed", "11", "--rate", "0.3"]);
    let (_b, second) = generate(&["--copies", "4", "--seed", "11", "--rate", "0.3"]);
    let (_c, other) = generate(&["--copies", "4", "--seed", "12", "--rate", "0.3"]);
    assert!(
        files(&first) == files(&second),
        "same seed, different trees"
    );
    assert!(files(&first) != files(&other), "another seed, same tree");
}
