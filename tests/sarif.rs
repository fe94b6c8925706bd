//! SARIF that GitHub code scanning accepts: every SARIF the tests produce passes the SARIF
//! Multitool with the GitHub ingestion rules (`tools/validate_sarif.sh`: no error, no
//! warning), and its regions and fingerprints are what the findings say.

mod common;

use std::path::Path;
use std::process::Command;

fn sarif_of(paths: &[&str], out: &Path) -> serde_json::Value {
    let status = Command::new(env!("CARGO_BIN_EXE_blogaudit"))
        .arg("scan")
        .args(paths)
        .args(["--format", "sarif", "--output"])
        .arg(out)
        .current_dir(common::root())
        .status()
        .expect("blogaudit runs");
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "scan failed: {status}"
    );
    serde_json::from_str(&std::fs::read_to_string(out).expect("sarif written"))
        .expect("SARIF is JSON")
}

fn validate(files: &[&Path]) {
    let script = common::root().join("tools/validate_sarif.sh");
    let out = Command::new("bash")
        .arg(script)
        .args(files)
        .output()
        .expect("validate_sarif.sh runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "SARIF Multitool reported problems:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in files {
        assert!(
            text.contains(&format!("{}: 0 errors or warnings", f.display())),
            "{text}"
        );
    }
}

#[test]
fn sarif_of_samples_and_fixtures_passes_the_multitool() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = dir.path().join("broken.sarif");
    let fixtures = dir.path().join("fixtures.sarif");
    let clean = dir.path().join("clean.sarif");
    let log = sarif_of(&["samples/blog-broken"], &broken);
    sarif_of(&["rules/k8s"], &fixtures);
    sarif_of(&["samples/blog"], &clean);
    // A tree outside the working directory: absolute file:// URIs.
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).expect("dir");
    std::fs::write(outside.join("svc.yaml"), common::NODEPORT_SERVICE).expect("write");
    let outside_sarif = dir.path().join("outside.sarif");
    let out_log = sarif_of(&[outside.to_str().expect("utf-8 path")], &outside_sarif);
    let uri = out_log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
        ["artifactLocation"]["uri"]
        .as_str()
        .expect("uri");
    assert!(uri.starts_with("file:///"), "{uri}");
    // A generated tree with every violation type the generator plants.
    let tree = dir.path().join("tree");
    let generated = Command::new("python3")
        .arg(common::root().join("tools/gentree.py"))
        .args(["--copies", "2", "--rate", "1", "--out"])
        .arg(&tree)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs tools/gentree.py");
    assert!(generated.success());
    let tree_sarif = dir.path().join("tree.sarif");
    sarif_of(&[tree.to_str().expect("utf-8 path")], &tree_sarif);
    validate(&[&broken, &fixtures, &clean, &outside_sarif, &tree_sarif]);

    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert!(rules.len() >= 30);
    for r in rules {
        for key in ["shortDescription", "fullDescription", "help", "helpUri"] {
            assert!(!r[key].is_null(), "rule {} lacks {key}", r["id"]);
        }
        assert!(r["properties"]["security-severity"].is_string());
        assert!(r["help"]["markdown"]
            .as_str()
            .is_some_and(|m| m.contains("## How to fix")));
    }
    assert!(run["originalUriBaseIds"]["SRCROOT"]["uri"]
        .as_str()
        .is_some_and(|u| u.starts_with("file://") && u.ends_with('/')));
    assert_eq!(run["automationDetails"]["id"], "blogaudit/scan/");
    let results = run["results"].as_array().expect("results");
    let mut fingerprints = std::collections::BTreeSet::new();
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().expect("uri");
        assert!(
            uri.starts_with("samples/blog-broken/"),
            "relative URI: {uri}"
        );
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "SRCROOT");
        assert!(loc["region"]["startLine"].as_u64().is_some_and(|l| l > 0));
        assert!(loc["region"]["startColumn"].as_u64().is_some_and(|c| c > 0));
        let fp = r["partialFingerprints"]["blogauditFingerprint/v1"]
            .as_str()
            .expect("fingerprint");
        assert!(
            fingerprints.insert(fp.to_string()),
            "duplicate fingerprint {fp}"
        );
    }
    // Every marked line of the broken sample is a result's startLine.
    let marked = common::expected_markers(&common::root().join("samples/blog-broken"));
    for ((file, line), ids) in marked {
        for id in ids {
            assert!(
                results.iter().any(|r| r["ruleId"] == id.as_str()
                    && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                        == file.as_str()
                    && r["locations"][0]["physicalLocation"]["region"]["startLine"] == line),
                "no SARIF result {id} at {file}:{line}"
            );
        }
    }
    // Mechanical fixes are offered, e.g. `type: ClusterIP` for BA110.
    assert!(results.iter().any(|r| r["ruleId"] == "BA110"
        && r["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"]
            == "ClusterIP"));
    // In Terraform, the fix replaces the attribute's value in HCL syntax (name and alignment
    // stay, so `terraform fmt` still agrees).
    let fix_text = |rule: &str, file: &str| {
        results
            .iter()
            .filter(|r| {
                r["ruleId"] == rule
                    && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == file
            })
            .find_map(|r| {
                r["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"]
                    .as_str()
            })
            .unwrap_or_default()
            .to_string()
    };
    let ecr = "samples/blog-broken/terraform/ecr.tf";
    assert_eq!(fix_text("BA210", ecr), "true");
    assert_eq!(fix_text("BA211", ecr), "\"IMMUTABLE\"");
    // Every fix says whether `--fix` alone applies it; unsafe ones say what they can break.
    let safety = |rule: &str| {
        let r = results
            .iter()
            .find(|r| r["ruleId"] == rule && r["fixes"].is_array())
            .unwrap_or_else(|| panic!("no {rule} result with a fix"));
        r["fixes"][0]["properties"].clone()
    };
    assert_eq!(safety("BA210")["safety"], "safe");
    assert_eq!(safety("BA110")["safety"], "unsafe");
    assert!(safety("BA110")["risk"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
}

/// Results with no file (the shape of cluster and AWS-account findings: an object reference
/// and a logical location) in a run of their own category still pass GitHub's rules.
#[test]
fn sarif_of_findings_without_files_passes_the_multitool() {
    let mut outcome = common::scan_paths(
        &[common::root().join("samples/blog-broken")],
        common::builtin_rules(),
        blogaudit::config::Config::default(),
    );
    for f in &mut outcome.findings {
        let r = &f.resource;
        f.location = blogaudit::model::Location::Object {
            reference: format!("prod/{}/{}/{}", r.kind, r.namespace, r.name).into(),
        };
    }
    let report = blogaudit::report::Report {
        findings: &outcome.findings,
        diagnostics: &outcome.diagnostics,
        rules: &outcome.rules,
        files: &outcome.files,
        checked: &outcome.checked,
        category: "blogaudit/live/prod",
        verbose: false,
        color: false,
        whole: false,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("objects.sarif");
    std::fs::write(&path, report.render(blogaudit::report::Format::Sarif)).expect("write");
    validate(&[&path]);
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
    let run = &log["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "blogaudit/live/prod/");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), outcome.findings.len());
    for r in results {
        let loc = &r["locations"][0];
        assert!(loc["physicalLocation"].is_null());
        assert!(loc["logicalLocations"][0]["fullyQualifiedName"]
            .as_str()
            .is_some_and(|n| !n.is_empty()));
        assert!(r["partialFingerprints"]["blogauditFingerprint/v1"].is_string());
    }
}
