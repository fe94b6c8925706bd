//! Checks of the rule catalogue itself: unique IDs, the catalogue in `docs/rules.md`, docs
//! headings, fixtures for every rule, and unique diagnostic codes.

mod common;

use std::collections::BTreeSet;

use blogaudit::model::CODES;
use blogaudit::rules::RuleMeta;

fn metas() -> Vec<RuleMeta> {
    common::builtin_rules()
        .rules
        .into_iter()
        .map(|r| r.meta)
        .collect()
}

#[test]
fn rule_ids_are_unique_and_match_their_folders() {
    let metas = metas();
    let ids: BTreeSet<&str> = metas.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids.len(), metas.len(), "duplicate rule IDs");
    for m in &metas {
        let folder = m.folder.rsplit('/').next().unwrap_or_default();
        assert_eq!(
            folder,
            format!("{}-{}", m.id, m.name),
            "folder of {} is {folder}",
            m.id
        );
        assert!(m.id.starts_with("BA") && m.id.len() == 5, "bad ID {}", m.id);
    }
}

/// `docs/rules.md` is the catalogue users read: one row per shipped rule, with the ID, name,
/// title, severity, category and sources of its METADATA, in ID order, and nothing else.
#[test]
fn catalogue_matches_the_rules_metadata() {
    let mut metas = metas();
    metas.sort_by(|a, b| a.id.cmp(&b.id));
    let want: Vec<String> = metas
        .iter()
        .map(|m| {
            format!(
                "| {} | {} | {} | {} | {} | {} |",
                m.id,
                m.name,
                m.title,
                m.severity.as_str(),
                m.category,
                m.sources.join(" ")
            )
        })
        .collect();
    let catalogue = std::fs::read_to_string(common::root().join("docs/rules.md"))
        .expect("docs/rules.md is the rule catalogue");
    let got: Vec<&str> = catalogue
        .lines()
        .filter(|l| l.starts_with("| BA"))
        .collect();
    assert!(
        got == want,
        "docs/rules.md disagrees with the rules' METADATA; its rows should be:\n{}",
        want.join("\n")
    );
}

#[test]
fn every_rule_has_docs_headings_and_metadata() {
    for m in metas() {
        for heading in [
            "## What it checks",
            "## Why it matters",
            "## How to fix",
            "## References",
        ] {
            assert!(
                m.description.contains(heading),
                "{} lacks `{heading}`",
                m.id
            );
        }
        assert!(
            !m.title.is_empty() && !m.remediation.is_empty(),
            "{} lacks a title or remediation",
            m.id
        );
        assert!(!m.kinds.is_empty(), "{} matches no kind", m.id);
        assert!(
            matches!(m.category.as_str(), "security" | "availability"),
            "{}: category {}",
            m.id,
            m.category
        );
        assert!(
            m.description.contains("https://"),
            "{} cites no reference",
            m.id
        );
    }
}

#[test]
fn every_rule_has_pass_and_fail_fixtures() {
    for m in metas() {
        let folder = common::root().join(&m.folder);
        let names: Vec<String> = std::fs::read_dir(&folder)
            .expect("rule folder")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().any(|n| n.starts_with("pass")),
            "{} has no pass fixture",
            m.id
        );
        assert!(
            names.iter().any(|n| n.starts_with("fail")),
            "{} has no fail fixture",
            m.id
        );
    }
}

#[test]
fn diagnostic_codes_are_unique() {
    let codes: BTreeSet<&str> = CODES.iter().map(|(c, _)| *c).collect();
    assert_eq!(codes.len(), CODES.len());
}

#[test]
fn emitted_diagnostic_codes_are_documented() {
    let codes: BTreeSet<&str> = CODES.iter().map(|(c, _)| *c).collect();
    let mut stack = vec![common::root().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).expect("src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for ctor in [
                "Diagnostic::error(",
                "Diagnostic::warning(",
                "Diagnostic::note(",
            ] {
                for (i, _) in text.match_indices(ctor) {
                    let rest = text[i + ctor.len()..].trim_start();
                    if let Some(code) = rest.strip_prefix('"').and_then(|r| r.split('"').next()) {
                        assert!(
                            codes.contains(code),
                            "{}: code `{code}` is not in CODES",
                            path.display()
                        );
                    }
                }
            }
        }
    }
}
