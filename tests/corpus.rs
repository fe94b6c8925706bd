//! Ground truth from `../shared/tools/gen_corpus.py`: every seeded violation is found by its
//! rule, and those rules find nothing else.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use blogaudit::config::Config;

/// Seeded violation type → the rule that must find it.
const SEEDS: &[(&str, &str)] = &[
    ("K8S_ROOT_CONTAINER", "BA101"),
    ("K8S_SERVICE_EXPOSED", "BA110"),
    ("K8S_NETPOL_MISSING", "BA120"),
    ("K8S_CLUSTER_ADMIN", "BA130"),
    ("GATEWAY_HTTP_ONLY", "BA140"),
    ("TF_ECR_SCAN_ON_PUSH", "BA210"),
    ("TF_NODEGROUP_SINGLE_AZ", "BA201"),
];

fn generate(copies: u32) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("corpus");
    let script = common::root().join("../shared/tools/gen_corpus.py");
    let status = Command::new("python3")
        .arg(&script)
        .arg("--out")
        .arg(&out)
        .arg("--copies")
        .arg(copies.to_string())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs gen_corpus.py");
    assert!(status.success(), "gen_corpus.py failed");
    (dir, out)
}

/// `(rule, file, kind, name)` of each seeded violation of the given seed types.
fn expected(corpus: &Path, seeds: &[&str]) -> BTreeSet<(String, String, String, String)> {
    let text =
        std::fs::read_to_string(corpus.join("expected_violations.json")).expect("ground truth");
    let truth: serde_json::Value = serde_json::from_str(&text).expect("ground truth JSON");
    truth["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .filter(|v| seeds.contains(&v["rule"].as_str().unwrap_or_default()))
        .map(|v| {
            let seed = v["rule"].as_str().unwrap_or_default();
            let rule = SEEDS
                .iter()
                .find(|(s, _)| *s == seed)
                .map(|(_, r)| *r)
                .unwrap_or_default();
            let kind = v["kind"].as_str().unwrap_or_default().to_string();
            let name = v["name"].as_str().unwrap_or_default().to_string();
            // Terraform resources are named by address.
            let name = if kind.starts_with("aws_") {
                format!("{kind}.{name}")
            } else {
                name
            };
            (
                rule.to_string(),
                v["file"].as_str().unwrap_or_default().to_string(),
                kind,
                name,
            )
        })
        .collect()
}

fn actual(
    corpus: &Path,
    sub: &str,
    rules: &[&str],
    config: Config,
) -> BTreeSet<(String, String, String, String)> {
    let outcome = common::scan_paths(&[corpus.join(sub)], common::builtin_rules(), config);
    let errors = common::error_lines(&outcome);
    assert!(
        errors.is_empty(),
        "input errors on the corpus:\n{}",
        errors.join("\n")
    );
    let prefix = blogaudit::source::display(corpus, &common::root()) + "/";
    outcome
        .findings
        .iter()
        .filter(|f| rules.contains(&f.rule_id.as_str()))
        .map(|f| {
            let file = f.file().unwrap_or_default();
            let file = file.strip_prefix(&prefix).unwrap_or(file).to_string();
            // Canonical AWS kinds are compared by the Terraform type in the address.
            let kind = if f.resource.kind.starts_with("aws:") {
                f.resource
                    .name
                    .split('.')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            } else {
                f.resource.kind.clone()
            };
            (f.rule_id.clone(), file, kind, f.resource.name.clone())
        })
        .collect()
}

fn check(seeds: &[&str], sub: &str, config: Config) {
    let (_dir, corpus) = generate(20);
    check_in(&corpus, seeds, sub, config);
}

fn check_in(corpus: &Path, seeds: &[&str], sub: &str, config: Config) {
    let rules: Vec<&str> = SEEDS
        .iter()
        .filter(|(s, _)| seeds.contains(s))
        .map(|(_, r)| *r)
        .collect();
    let want = expected(corpus, seeds);
    let got = actual(corpus, sub, &rules, config);
    assert!(
        !want.is_empty(),
        "the corpus seeds no violation of {seeds:?}"
    );
    let missed: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "seeded but not found: {missed:#?}\nfound but not seeded: {extra:#?}"
    );
}

#[test]
fn kubernetes_seeds_are_found_exactly() {
    check(
        &[
            "K8S_ROOT_CONTAINER",
            "K8S_SERVICE_EXPOSED",
            "K8S_NETPOL_MISSING",
            "K8S_CLUSTER_ADMIN",
            "GATEWAY_HTTP_ONLY",
        ],
        "k8s",
        Config::default(),
    );
}

/// gen_corpus.py builds clusters over 2 or 3 AZs and seeds only single-AZ node groups, so its
/// ground truth is "at least 2 AZs": checked with `min_node_group_azs = 2`.
#[test]
fn terraform_seeds_are_found_exactly() {
    let config = Config::parse("min_node_group_azs = 2\n", "test").expect("config");
    check(
        &["TF_ECR_SCAN_ON_PUSH", "TF_NODEGROUP_SINGLE_AZ"],
        "terraform",
        config,
    );
}

/// With the design's default of 3 AZs, the corpus's unseeded 2-AZ node groups are reported
/// too, and nothing else.
#[test]
fn default_three_azs_also_reports_two_az_node_groups() {
    let (_dir, corpus) = generate(20);
    let mut want = expected(&corpus, &["TF_NODEGROUP_SINGLE_AZ"]);
    for entry in std::fs::read_dir(corpus.join("terraform"))
        .expect("terraform dir")
        .flatten()
    {
        let locals = std::fs::read_to_string(entry.path().join("locals.tf")).unwrap_or_default();
        let azs = locals
            .lines()
            .find(|l| l.trim_start().starts_with("azs"))
            .map_or(0, |l| l.matches("\"eu-west-1").count());
        if azs == 2 {
            let env = entry.file_name().to_string_lossy().into_owned();
            want.insert((
                "BA201".into(),
                format!("terraform/{env}/eks.tf"),
                "aws_eks_node_group".into(),
                "aws_eks_node_group.default".into(),
            ));
        }
    }
    let got = actual(&corpus, "terraform", &["BA201"], Config::default());
    assert_eq!(got, want);
}
