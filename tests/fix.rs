//! `blogaudit scan --fix`: every fixture pair under `tests/fixtures/fix/<ID>[-case]/`
//! (`before.*` → `after.*`), the broken sample fixed on a copy, and what `--fix` must never do.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use blogaudit::fix;
use blogaudit::model::fingerprint::Fingerprint;
use blogaudit::model::PathSeg;
use blogaudit::pipeline::fix::{Mode, Settings, Summary};
use blogaudit::pipeline::{Options, Outcome, Selection};
use serde_json::Value;

fn fixtures() -> PathBuf {
    common::root().join("tests/fixtures/fix")
}

fn options(dir: &Path, paths: &[&str]) -> Options {
    Options {
        paths: paths.iter().map(|p| dir.join(p)).collect(),
        base: dir.to_path_buf(),
        today: blogaudit::model::date::today(),
        ..Options::default()
    }
}

fn settings(mode: Mode, only: &[&str], dry_run: bool) -> Settings {
    Settings {
        mode,
        only: only.iter().map(|s| (*s).to_string()).collect(),
        dry_run,
    }
}

fn fix_dir(dir: &Path, paths: &[&str], s: &Settings) -> (Outcome, Summary) {
    blogaudit::pipeline::fix::run(&options(dir, paths), &Selection::default(), s)
}

/// Every file under `dir`, relative path → text.
fn texts(dir: &Path) -> BTreeMap<String, String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).unwrap().display().to_string(),
                std::fs::read_to_string(e.path()).unwrap_or_default(),
            )
        })
        .collect()
}

/// The fixture pairs: (folder, rule ID, before file, after file).
fn pairs() -> Vec<(String, String, PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(fixtures())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for d in dirs {
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("BA") {
            continue;
        }
        let file = |stem: &str| {
            std::fs::read_dir(&d)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .find(|p| p.file_stem().is_some_and(|s| s == stem))
                .unwrap_or_else(|| panic!("{name} has no {stem}.*"))
        };
        let id = name.split('-').next().unwrap().to_string();
        out.push((name.clone(), id, file("before"), file("after")));
    }
    out
}

#[test]
fn every_rule_with_a_fix_declares_its_safety_and_has_a_fixture_pair() {
    let rules = common::builtin_rules();
    let pairs = pairs();
    for r in &rules.rules {
        let rego =
            std::fs::read_to_string(common::root().join(&r.meta.folder).join("rule.rego")).unwrap();
        let emits_fix = rego.contains("\"fix\":");
        assert_eq!(
            emits_fix,
            r.meta.fix.is_some(),
            "{}: a rule that emits fixes declares `custom.fix` (safe or unsafe), and only then",
            r.meta.id
        );
        if emits_fix {
            assert!(
                pairs.iter().any(|(_, id, _, _)| *id == r.meta.id),
                "{} has no fixture pair under tests/fixtures/fix/",
                r.meta.id
            );
        }
    }
    for (name, id, _, _) in &pairs {
        assert!(
            rules.get(id).is_some_and(|r| r.meta.fix.is_some()),
            "fixture {name} names no rule with a fix"
        );
    }
}

/// Sets `path` in `v` to `value`, creating the missing mappings.
fn set(v: &mut Value, path: &[PathSeg], value: &Value) {
    let mut at = v;
    for seg in path {
        at = match seg {
            PathSeg::Key(k) => {
                if !at.is_object() {
                    *at = Value::Object(serde_json::Map::new());
                }
                at.as_object_mut()
                    .unwrap()
                    .entry(k.clone())
                    .or_insert(Value::Null)
            }
            PathSeg::Index(i) => &mut at[*i],
        };
    }
    *at = value.clone();
}

/// The documents of a YAML or JSON file, as values.
fn documents(text: &str) -> Vec<Value> {
    let (docs, err) = blogaudit::syntax::yaml::parse_stream(text);
    assert!(err.is_none(), "does not parse: {err:?}");
    docs.into_iter().map(|d| d.value).collect()
}

/// The object of a finding's resource among the documents (also inside a `List`).
fn object_of<'a>(docs: &'a mut [Value], kind: &str, name: &str) -> &'a mut Value {
    let is = |v: &Value| v["kind"] == kind && v["metadata"]["name"] == name;
    for d in docs.iter_mut() {
        if is(d) {
            return d;
        }
        if d["kind"] == "List" {
            if let Some(items) = d["items"].as_array_mut() {
                if let Some(item) = items.iter_mut().find(|i| is(i)) {
                    return item;
                }
            }
        }
    }
    panic!("no {kind} {name}");
}

fn terraform() -> bool {
    std::process::Command::new("terraform")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn each_fixture_pair_fixes_exactly_its_lines_and_the_rule_stops_firing() {
    let tf = terraform();
    if !tf {
        eprintln!(
            "terraform is not installed: `terraform fmt -check` of the fixed files is skipped"
        );
    }
    for (name, id, before, after) in pairs() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(before.file_name().unwrap());
        std::fs::copy(&before, &file).unwrap();
        let before_text = std::fs::read_to_string(&before).unwrap();
        let expected = std::fs::read_to_string(&after).unwrap();
        let paths = [file.file_name().unwrap().to_str().unwrap()];

        // --dry-run writes nothing and shows the diff of the real run.
        let (first, dry) = fix_dir(dir.path(), &paths, &settings(Mode::All, &[&id], true));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            before_text,
            "{name}: dry run wrote"
        );
        let shown = file.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            dry.diff,
            fix::diff::unified(shown, &before_text, &expected),
            "{name}: the dry-run diff"
        );

        let (outcome, summary) = fix_dir(dir.path(), &paths, &settings(Mode::All, &[&id], false));
        assert!(summary.skipped.is_empty(), "{name}: {}", summary.render());
        let got = std::fs::read_to_string(&file).unwrap();
        assert_eq!(got, expected, "{name}: the fixed file");
        assert!(
            !outcome.findings.iter().any(|f| *f.rule_id == id),
            "{name}: {id} still fires after --fix"
        );

        // A YAML or JSON file parses to the same objects plus the fix.
        let is_tf = file.extension().is_some_and(|e| e == "tf");
        if !is_tf {
            let mut want = documents(&before_text);
            for f in first.findings.iter().filter(|f| *f.rule_id == id) {
                let fx = f.fix.as_ref().unwrap();
                set(
                    object_of(&mut want, &f.resource.kind, &f.resource.name),
                    &fx.path,
                    &fx.value,
                );
            }
            assert_eq!(documents(&got), want, "{name}: the objects after the fix");
        } else if tf {
            let fmt = std::process::Command::new("terraform")
                .args(["fmt", "-check", "-diff"])
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                fmt.status.success(),
                "{name}: terraform fmt -check fails after the fix:\n{}",
                String::from_utf8_lossy(&fmt.stdout)
            );
        }

        // The second run changes nothing.
        let (_, again) = fix_dir(dir.path(), &paths, &settings(Mode::All, &[&id], false));
        assert!(
            again.files.is_empty(),
            "{name}: second run {}",
            again.render()
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), expected);
    }
}

#[test]
fn fix_alone_applies_only_safe_fixes_and_says_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let before = fixtures().join("BA110/before.yaml");
    std::fs::copy(&before, dir.path().join("svc.yaml")).unwrap();
    let (outcome, summary) = fix_dir(dir.path(), &["svc.yaml"], &settings(Mode::Safe, &[], false));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("svc.yaml")).unwrap(),
        std::fs::read_to_string(&before).unwrap()
    );
    assert!(summary.files.is_empty());
    let (rule, n, risk) = &summary.unsafe_left[0];
    assert_eq!((rule.as_str(), *n), ("BA110", 1));
    assert!(risk.contains("cut off"), "{risk}");
    let text = summary.render();
    assert!(text.contains("1 unsafe fix left"), "{text}");
    assert!(text.contains("--fix=all"), "{text}");
    assert!(outcome.findings.iter().any(|f| &*f.rule_id == "BA110"));
}

#[test]
fn an_edit_through_an_alias_is_skipped_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let before = std::fs::read_to_string(fixtures().join("alias/before.yaml")).unwrap();
    std::fs::write(dir.path().join("d.yaml"), &before).unwrap();
    let (_, summary) = fix_dir(
        dir.path(),
        &["d.yaml"],
        &settings(Mode::All, &["BA101"], false),
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("d.yaml")).unwrap(),
        before
    );
    assert!(!summary.skipped.is_empty());
    for s in &summary.skipped {
        assert_eq!(s.rule, "BA101");
        assert!(s.reason.contains("alias"), "{}", s.reason);
    }
}

#[test]
fn plan_json_and_kustomize_inputs_are_never_edited() {
    let dir = tempfile::tempdir().unwrap();
    let plan = common::root().join("samples/plan/blog-broken.plan.json");
    std::fs::copy(&plan, dir.path().join("plan.json")).unwrap();
    let before = texts(dir.path());
    let (_, summary) = fix_dir(dir.path(), &["plan.json"], &settings(Mode::All, &[], false));
    assert_eq!(texts(dir.path()), before);
    assert!(
        !summary.skipped.is_empty(),
        "the plan has findings with fixes"
    );
    assert!(summary
        .skipped
        .iter()
        .all(|s| s.reason.contains("Terraform plan") && s.reason.contains("Terraform source")));

    let kubectl = std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !kubectl {
        eprintln!("kubectl is not installed: the kustomize case is skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&fixtures().join("kustomize"), dir.path());
    let before = texts(dir.path());
    let (_, summary) = fix_dir(dir.path(), &["base"], &settings(Mode::All, &[], false));
    assert_eq!(texts(dir.path()), before);
    let s = summary
        .skipped
        .iter()
        .find(|s| s.rule == "BA110")
        .expect("the BA110 fix is refused");
    assert!(s.place.starts_with("base/service.yaml:"), "{}", s.place);
    assert!(
        s.reason.contains("kustomize") && s.reason.contains("base/kustomization.yaml"),
        "{}",
        s.reason
    );
}

#[cfg(unix)]
#[test]
fn writes_are_atomic_keep_permissions_and_stay_inside_the_scanned_paths() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let scanned = dir.path().join("scanned");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&scanned).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let before = std::fs::read_to_string(fixtures().join("BA110/before.yaml")).unwrap();
    let inside = scanned.join("svc.yaml");
    std::fs::write(&inside, &before).unwrap();
    std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o640)).unwrap();
    // A link in the scanned tree to a file outside it: scanned, never written.
    let target = outside.join("other.yaml");
    std::fs::write(&target, before.replace("grafana", "other")).unwrap();
    std::os::unix::fs::symlink(&target, scanned.join("link.yaml")).unwrap();

    let (_, summary) = fix_dir(
        dir.path(),
        &["scanned"],
        &settings(Mode::All, &["BA110"], false),
    );
    assert_eq!(summary.files, ["scanned/svc.yaml"]);
    assert_ne!(std::fs::read_to_string(&inside).unwrap(), before);
    let mode = std::fs::metadata(&inside).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "permissions kept");
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        before.replace("grafana", "other"),
        "the file outside the scanned paths is untouched"
    );
    assert!(summary
        .skipped
        .iter()
        .any(|s| s.place.starts_with("scanned/link.yaml") && s.reason.contains("outside")));
    let leftovers: Vec<_> = std::fs::read_dir(&scanned)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("blogaudit-fix"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left behind");
}

/// The comments of a file, in order (the text from ` #` on, or whole comment lines).
fn comments(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let t = l.trim_start();
            if t.starts_with('#') {
                Some(t.to_string())
            } else {
                l.find(" #").map(|i| l[i + 1..].to_string())
            }
        })
        .collect()
}

/// Old line numbers of the lines a unified diff removes.
fn removed_lines(diff: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let mut old = 0u32;
    for l in diff.lines() {
        if let Some(h) = l.strip_prefix("@@ -") {
            old = h
                .split([',', ' '])
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        } else if l.starts_with("---") || l.starts_with("+++") {
        } else if l.starts_with('-') {
            out.push(old);
            old += 1;
        } else if l.starts_with(' ') {
            old += 1;
        }
    }
    out
}

#[test]
fn fixing_the_broken_sample_removes_every_fixable_finding_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&common::root().join("samples/blog-broken"), dir.path());
    let before = texts(dir.path());

    // --dry-run: a diff, nothing written.
    let (first, dry) = fix_dir(dir.path(), &["."], &settings(Mode::All, &[], true));
    assert_eq!(texts(dir.path()), before, "--dry-run writes nothing");
    assert!(!dry.diff.is_empty());
    let fixable: Vec<_> = first.findings.iter().filter(|f| f.fix.is_some()).collect();
    assert!(fixable.len() > 20, "the sample has fixable findings");

    let (after_outcome, summary) = fix_dir(dir.path(), &["."], &settings(Mode::All, &[], false));
    assert!(summary.skipped.is_empty(), "{}", summary.render());
    let left: Vec<String> = after_outcome
        .findings
        .iter()
        .filter(|f| f.fix.is_some())
        .map(|f| format!("{} {}", f.rule_id, f.place()))
        .collect();
    assert!(left.is_empty(), "fixable findings left: {left:?}");
    assert!(!after_outcome.has_errors());
    // Every finding without a fix is still there.
    let kept = |o: &Outcome| {
        let mut v: Vec<(String, String)> = o
            .findings
            .iter()
            .filter(|f| f.fix.is_none())
            .map(|f| (f.rule_id.to_string(), f.resource.to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(kept(&after_outcome), kept(&first));

    let after = texts(dir.path());
    let mut diff = String::new();
    for (file, old) in &before {
        let new = &after[file];
        assert_eq!(comments(old), comments(new), "{file}: every comment stays");
        if file.ends_with(".yaml") {
            // The same objects plus the fixes.
            let mut want = documents(old);
            for f in fixable.iter().filter(|f| f.file() == Some(file.as_str())) {
                let fx = f.fix.as_ref().unwrap();
                set(
                    object_of(&mut want, &f.resource.kind, &f.resource.name),
                    &fx.path,
                    &fx.value,
                );
            }
            assert_eq!(documents(new), want, "{file}: the objects after the fixes");
        }
        let d = fix::diff::unified(file, old, new);
        // A removed line is a line whose value a fix replaced.
        let fixed_lines: Vec<u32> = fixable
            .iter()
            .filter(|f| f.file() == Some(file.as_str()))
            .filter_map(|f| f.fix.as_ref().and_then(|x| x.replace).map(|s| s.start.line))
            .collect();
        for line in removed_lines(&d) {
            assert!(
                fixed_lines.contains(&line),
                "{file}:{line} changed by no fix:\n{d}"
            );
        }
        diff.push_str(&d);
    }
    assert_eq!(dry.diff, diff, "--dry-run prints the diff --fix writes");

    // The second run is a no-op.
    let (_, again) = fix_dir(dir.path(), &["."], &settings(Mode::All, &[], false));
    assert!(again.files.is_empty(), "{}", again.render());
    assert_eq!(texts(dir.path()), after);
}

#[test]
fn fix_alone_on_the_broken_sample_leaves_every_unsafe_fix() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&common::root().join("samples/blog-broken"), dir.path());
    let (outcome, summary) = fix_dir(dir.path(), &["."], &settings(Mode::Safe, &[], false));
    assert!(!summary.files.is_empty());
    let rules = common::builtin_rules();
    for f in outcome.findings.iter().filter(|f| f.fix.is_some()) {
        assert!(
            !rules.get(&f.rule_id).unwrap().meta.fix_is_safe(),
            "a safe fix was left: {} {}",
            f.rule_id,
            f.place()
        );
    }
    let unsafe_left: usize = summary.unsafe_left.iter().map(|(_, n, _)| n).sum();
    assert_eq!(
        unsafe_left,
        outcome.findings.iter().filter(|f| f.fix.is_some()).count()
    );
}

#[test]
fn the_cli_fix_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("BA110/before.yaml"),
        dir.path().join("svc.yaml"),
    )
    .unwrap();
    let before = std::fs::read_to_string(dir.path().join("svc.yaml")).unwrap();
    let r = common::run_blogaudit(
        dir.path(),
        &[
            "scan",
            "svc.yaml",
            "--fix=all",
            "--dry-run",
            "--fix-only",
            "BA110",
        ],
    );
    assert!(
        r.stdout.starts_with("--- a/svc.yaml\n+++ b/svc.yaml\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("would fix 1 finding in 1 file"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("svc.yaml")).unwrap(),
        before
    );
    assert_eq!(r.code, 1, "exit codes follow the findings as they are");

    let r = common::run_blogaudit(dir.path(), &["scan", "svc.yaml", "--fix"]);
    assert!(r.stderr.contains("1 unsafe fix left"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("svc.yaml")).unwrap(),
        before
    );

    let r = common::run_blogaudit(
        dir.path(),
        &["scan", "svc.yaml", "--fix=all", "--fail-on", "never"],
    );
    assert!(
        r.stderr.contains("fixed 1 finding in 1 file"),
        "{}",
        r.stderr
    );
    assert_eq!(r.code, 0);

    let r = common::run_blogaudit(dir.path(), &["scan", "svc.yaml", "--dry-run"]);
    assert_eq!(r.code, 2, "--dry-run alone is a usage error");
}

/// Every place `--fix` inserts a missing Terraform attribute reads back, through the
/// Terraform loader, as the canonical field it stands for.
#[test]
fn terraform_insertion_places_agree_with_the_loader() {
    use blogaudit::model::{Finding, Fix, Location, ResourceRef};
    use blogaudit::model::{Pos, Span};
    for (kind, field, tf_type, tf_path) in fix::hcl::PLACES {
        let value = match *field {
            "/tagMutability" => serde_json::json!("IMMUTABLE"),
            "/enabledLogTypes" => serde_json::json!(["api", "audit"]),
            "/scaling/min" => serde_json::json!(4),
            "/endpointPublicAccess" => serde_json::json!(false),
            _ => serde_json::json!(true),
        };
        // The blocks a resource of the type always has stay out of the way of the insertion.
        let text = format!("resource \"{tf_type}\" \"t\" {{\n  name = \"t\"\n}}\n");
        let path: Vec<PathSeg> = field[1..]
            .split('/')
            .map(|k| PathSeg::Key(k.to_string()))
            .collect();
        let f = Finding {
            rule_id: "BA000".into(),
            rule_name: "t".into(),
            severity: blogaudit::model::Severity::Low,
            resource: ResourceRef {
                kind: (*kind).to_string(),
                namespace: String::new(),
                name: format!("{tf_type}.t"),
            }
            .into(),
            path: path.clone().into(),
            location: Location::File {
                path: "main.tf".into(),
                span: Span::default(),
            },
            message: "".into(),
            fix: Some(Box::new(Fix {
                path: path.clone().into(),
                value: value.clone(),
                replace: None,
                insert_under: Some((Pos { line: 1, column: 1 }, 0)),
            })),
            fingerprint: Fingerprint::default(),
            suppression: None,
            roots: Vec::new().into(),
        };
        let e = fix::edit(&f, &text).unwrap_or_else(|s| panic!("{field}: {s}"));
        let fixed = fix::apply(&text, &[e]).unwrap();
        assert!(fixed.contains(tf_path[tf_path.len() - 1]), "{fixed}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.tf"), &fixed).unwrap();
        let loaded = blogaudit::source::load_with(
            &[dir.path().to_path_buf()],
            dir.path(),
            &blogaudit::source::terraform::TerraformOptions::default(),
        );
        let r = loaded
            .resources
            .iter()
            .find(|r| r.kind == *kind)
            .unwrap_or_else(|| panic!("no {kind} loaded from\n{fixed}"));
        let mut got = &r.body;
        for seg in &path {
            let PathSeg::Key(k) = seg else { unreachable!() };
            got = &got[k.as_str()];
        }
        assert_eq!(
            got, &value,
            "{kind} {field} after inserting {tf_path:?}:\n{fixed}"
        );
    }
}
