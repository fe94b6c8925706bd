//! Runs every fixture of every rule folder: `pass*` fixtures give no finding of the rule, and
//! `fail*` fixtures give exactly the findings marked `# expect: ID` on their lines.
//!
//! `RULE=BA101 cargo test --test rules` checks one rule.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use blogaudit::config::Config;
use blogaudit::rules::RuleSet;

fn fixtures(folder: &Path) -> Vec<(PathBuf, bool)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return out;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let is_fixture = p.is_dir()
            || matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json" | "tf")
            );
        if !is_fixture {
            continue;
        }
        if name.starts_with("pass") {
            out.push((p, true));
        } else if name.starts_with("fail") {
            out.push((p, false));
        }
    }
    out
}

fn only(rules: &RuleSet, id: &str) -> RuleSet {
    let mut set = rules.clone();
    set.rules.retain(|r| r.meta.id == id);
    set
}

#[test]
fn every_rule_fixture_gives_exactly_its_marked_findings() {
    let filter = std::env::var("RULE").ok();
    // With a RULE filter, another rule's load error must not block checking this one.
    let all = if filter.is_some() {
        RuleSet::load(None).0
    } else {
        common::builtin_rules()
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for rule in &all.rules {
        let id = rule.meta.id.clone();
        if filter.as_ref().is_some_and(|f| !id.eq_ignore_ascii_case(f)) {
            continue;
        }
        let folder = common::root().join(&rule.meta.folder);
        let config = match folder.join("blogaudit.toml") {
            p if p.is_file() => Config::load(&p, "blogaudit.toml").expect("fixture config"),
            _ => Config::default(),
        };
        for (fixture, passing) in fixtures(&folder) {
            checked += 1;
            let outcome = common::scan_paths(
                std::slice::from_ref(&fixture),
                only(&all, &id),
                config.clone(),
            );
            let errors = common::error_lines(&outcome);
            if !errors.is_empty() {
                failures.push(format!(
                    "{}: input errors:\n  {}",
                    fixture.display(),
                    errors.join("\n  ")
                ));
            }
            let actual = common::actual_markers(&outcome);
            let mut expected: BTreeMap<(String, u32), Vec<String>> =
                common::expected_markers(&fixture);
            for ids in expected.values_mut() {
                ids.retain(|x| *x == id);
                ids.sort();
            }
            expected.retain(|_, ids| !ids.is_empty());
            if passing && !actual.is_empty() {
                failures.push(format!(
                    "{}: expected no {id} finding, got:\n  {}",
                    fixture.display(),
                    describe(&outcome)
                ));
            }
            if !passing && actual != expected {
                failures.push(format!(
                    "{}: findings differ from the `# expect:` markers\n  expected: {expected:?}\n  actual:   {actual:?}\n  {}",
                    fixture.display(),
                    describe(&outcome)
                ));
            }
            if !passing && expected.is_empty() {
                failures.push(format!(
                    "{}: a fail fixture with no `# expect: {id}` marker",
                    fixture.display()
                ));
            }
        }
    }
    assert!(checked > 0, "no fixtures checked");
    assert!(
        failures.is_empty(),
        "{} fixture problems:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn describe(outcome: &blogaudit::pipeline::Outcome) -> String {
    outcome
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} [{}]",
                f.place(),
                f.rule_id,
                f.message,
                blogaudit::model::pointer(&f.path)
            )
        })
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// The built-in rules run in regorus's compiled evaluator, which mis-evaluates two forms
/// (`src/rules/lint.rs`); none of the shipped `.rego` files may use them.
#[test]
fn no_builtin_rule_uses_a_form_the_compiled_evaluator_gets_wrong() {
    let mut problems = Vec::new();
    for entry in walkdir::WalkDir::new(common::root().join("rules"))
        .sort_by_file_name()
        .into_iter()
        .flatten()
    {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("rego") {
            continue;
        }
        let text = std::fs::read_to_string(path).expect("readable rule");
        let shown = blogaudit::source::display(path, &common::root());
        for pos in blogaudit::rules::lint::body_assignments(&text) {
            problems.push(format!(
                "{shown}:{}:{}: `:=` in a rule body; write `=`",
                pos.line, pos.column
            ));
        }
        for pos in blogaudit::rules::lint::loops_before_else(&text) {
            problems.push(format!(
                "{shown}:{}:{}: a loop in a body that `else` follows; move it into a rule of its own",
                pos.line, pos.column
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A container without `name` still gets its findings, named by its place in the pod spec:
/// every container rule has a `fail-nameless.yaml` fixture, and each of its findings says
/// `(no name)`.
#[test]
fn nameless_containers_are_named_by_their_place() {
    let all = common::builtin_rules();
    let mut checked = 0;
    for rule in &all.rules {
        let fixture = common::root()
            .join(&rule.meta.folder)
            .join("fail-nameless.yaml");
        let text =
            std::fs::read_to_string(common::root().join(&rule.meta.folder).join("rule.rego"))
                .expect("rule.rego");
        let container_rule = text.contains("input_containers");
        assert_eq!(
            container_rule,
            fixture.is_file(),
            "{}: a container rule has a fail-nameless.yaml fixture, and only a container rule",
            rule.meta.id
        );
        if !container_rule {
            continue;
        }
        let outcome = common::scan_paths(
            std::slice::from_ref(&fixture),
            only(&all, &rule.meta.id),
            Config::default(),
        );
        assert!(!outcome.findings.is_empty(), "{}: no finding", rule.meta.id);
        for f in &outcome.findings {
            assert!(
                f.message.contains("ontainers[") && f.message.contains("] (no name)"),
                "{}: {}",
                rule.meta.id,
                f.message
            );
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} container rules checked");
}

/// A user's rules run in the interpreter unless asked; when asked, a rule with a form the
/// compiled evaluator gets wrong stays interpreted, with a warning at its line.
#[test]
fn user_rules_are_compiled_only_on_request_and_only_when_safe() {
    use blogaudit::rules::Compilation;
    let rule = |id: &str, body: &str| {
        format!(
            "# METADATA\n# title: No ConfigMaps\n# description: |\n#   ## What it checks\n#   A test rule.\n#   ## Why it matters\n#   A test.\n#   ## How to fix\n#   Remove it.\n#   ## References\n#   - https://example.com\n# custom:\n#   id: {id}\n#   name: no-configmaps-{id}\n#   severity: low\n#   category: security\n#   sources: [M]\n#   kinds: [ConfigMap]\n#   remediation: Remove it.\npackage blogaudit.{id}\n\nimport rego.v1\n\nviolation contains v if {{\n\tinput.kind == \"ConfigMap\"\n{body}\n}}\n"
        )
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for (id, body) in [
        (
            "BA901",
            "\tv = {\"path\": [\"kind\"], \"message\": \"a ConfigMap\"}",
        ),
        (
            "BA902",
            "\tv := {\"path\": [\"kind\"], \"message\": \"a ConfigMap\"}",
        ),
    ] {
        let folder = dir.path().join(format!("{id}-x"));
        std::fs::create_dir_all(&folder).expect("rule folder");
        std::fs::write(folder.join("rule.rego"), rule(id, body)).expect("rule");
    }
    let compiled = |set: &RuleSet, id: &str| set.get(id).expect(id).program.is_some();

    let (default, diags) = RuleSet::load(Some(dir.path()));
    assert!(diags.is_empty(), "{diags:?}");
    assert!(compiled(&default, "BA101"));
    assert!(!compiled(&default, "BA901") && !compiled(&default, "BA902"));

    let asked = Compilation {
        user: true,
        ..Compilation::DEFAULT
    };
    let (set, diags) = RuleSet::load_with(Some(dir.path()), asked);
    assert!(compiled(&set, "BA901"));
    assert!(!compiled(&set, "BA902"));
    assert_eq!(diags.len(), 1, "{diags:?}");
    let warning = diags[0].one_line();
    assert!(
        warning.contains("BA902") && warning.contains(":26:") && warning.contains("interpreter"),
        "{warning}"
    );
}
