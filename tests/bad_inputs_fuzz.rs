//! Replays the inputs the fuzzers once crashed on (`fuzz/regressions/TARGET/*`) through the
//! same entry points as `fuzz/fuzz_targets/`, so a fixed crash stays fixed in the ordinary test
//! run (which needs neither nightly nor cargo-fuzz).

use std::path::{Path, PathBuf};

use blogaudit::source::terraform::{load, plan, Inputs, TerraformOptions};

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn yaml_regressions_load() {
    for p in inputs("yaml") {
        let bytes = std::fs::read(&p).expect("read");
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = blogaudit::syntax::yaml::parse_stream(text);
            let (parsed, _) = blogaudit::source::k8s::parse("f.yaml", text);
            for r in &parsed.resources {
                let _ = blogaudit::engine::shape::check(r);
            }
        }
    }
}

#[test]
fn hcl_regressions_load() {
    for p in inputs("hcl") {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::copy(&p, dir.path().join("main.tf")).expect("copy");
        let inputs = Inputs {
            dirs: vec![dir.path().to_path_buf()],
            ..Inputs::default()
        };
        let _ = load(&inputs, dir.path(), &TerraformOptions::default());
    }
}

#[test]
fn plan_regressions_load() {
    for p in inputs("plan") {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("plan.json");
        std::fs::copy(&p, &path).expect("copy");
        let _ = plan::load(&path, dir.path(), None);
    }
}

#[test]
fn admission_regressions_are_answered() {
    let admission = blogaudit::pipeline::admission::Admission::new(
        &blogaudit::pipeline::Options::default(),
        blogaudit::pipeline::admission::Settings::default(),
    );
    for p in inputs("admission") {
        let bytes = std::fs::read(&p).expect("read");
        if let Ok(request) = blogaudit::webhook::review::parse(&bytes) {
            if let Ok(subject) = request.subject() {
                let verdict = admission.judge(subject, &[]);
                if let Ok(answer) = blogaudit::webhook::verdicts::Answer::of(&verdict) {
                    let _ = blogaudit::webhook::review::response(
                        &request.uid,
                        answer.denial.as_deref(),
                        &answer.warnings,
                    );
                }
            }
        }
    }
}

#[test]
fn rules_regressions_load_in_time() {
    for p in inputs("rules") {
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = dir.path().join("BA999-fuzz");
        std::fs::create_dir_all(&folder).expect("mkdir");
        std::fs::copy(&p, folder.join("rule.rego")).expect("copy");
        let started = std::time::Instant::now();
        let compilation = blogaudit::rules::Compilation {
            user: true,
            ..blogaudit::rules::Compilation::DEFAULT
        };
        let _ = blogaudit::rules::RuleSet::load_user(dir.path(), compilation);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{}: {:?}",
            p.display(),
            started.elapsed()
        );
    }
}
