//! `blogaudit scan --fix`: scan, apply the fixes of the findings the scan reports, write each
//! file once and atomically, then scan again so the report and the exit code say what is left.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{run as scan, Options, Outcome, Selection};
use crate::fix::{apply, diff, edit_in, Edit, FileText};
use crate::model::Finding;

/// Which fixes `--fix` applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Fixes that cannot stop a workload or cut its traffic.
    Safe,
    /// Safe and unsafe fixes: review the diff.
    All,
}

/// What `--fix` was asked to do.
#[derive(Clone, Debug)]
pub struct Settings {
    pub mode: Mode,
    /// Only these rule IDs (case-insensitive); empty: every rule.
    pub only: Vec<String>,
    /// Print the diff instead of writing.
    pub dry_run: bool,
}

/// A fix that was not applied, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// `path:line:col` of the finding.
    pub place: String,
    pub rule: String,
    pub reason: String,
}

/// What `--fix` did.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Findings fixed (or that would be, with `--dry-run`).
    pub fixed: usize,
    /// Files written (or that would be), in order.
    pub files: Vec<String>,
    /// The unified diff of every file (`--dry-run` only).
    pub diff: String,
    pub skipped: Vec<Skipped>,
    /// Unsafe fixes left for `--fix=all`: rule, how many, what they can break.
    pub unsafe_left: Vec<(String, usize, String)>,
    pub dry_run: bool,
}

impl Summary {
    /// The lines a user reads on standard error after a `--fix` run.
    #[must_use]
    pub fn render(&self) -> String {
        let verb = if self.dry_run { "would fix" } else { "fixed" };
        let plural = |n: usize, one: &str, many: &str| {
            if n == 1 {
                format!("{n} {one}")
            } else {
                format!("{n} {many}")
            }
        };
        let mut out = format!(
            "{verb} {} in {}\n",
            plural(self.fixed, "finding", "findings"),
            plural(self.files.len(), "file", "files")
        );
        let unsafe_total: usize = self.unsafe_left.iter().map(|(_, n, _)| n).sum();
        if unsafe_total > 0 {
            out.push_str(&format!(
                "{} left: review them and run with --fix=all to apply them\n",
                plural(unsafe_total, "unsafe fix", "unsafe fixes")
            ));
            for (rule, n, risk) in &self.unsafe_left {
                out.push_str(&format!("  {rule} ×{n}: {risk}\n"));
            }
        }
        if !self.skipped.is_empty() {
            out.push_str(&format!(
                "{} not applied:\n",
                plural(self.skipped.len(), "fix", "fixes")
            ));
            for s in &self.skipped {
                out.push_str(&format!("  {} {}: {}\n", s.place, s.rule, s.reason));
            }
        }
        out
    }
}

/// Most passes over one file: a fix that overlaps another is computed again on the text the
/// earlier pass wrote (two keys inserted under one new `securityContext`).
const MAX_PASSES: usize = 8;

/// Runs `--fix`: scans with `opts`, narrows the findings with `select` (baseline, changed
/// files), applies the fixes `settings` allow, and returns the outcome of a second scan (the
/// first one with `--dry-run`, which writes nothing) and what was done.
#[must_use]
pub fn run(opts: &Options, selection: &Selection, settings: &Settings) -> (Outcome, Summary) {
    let outcome = scan(opts, selection);
    let mut summary = Summary {
        dry_run: settings.dry_run,
        ..Summary::default()
    };
    let mut by_file: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    let mut unsafe_left: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for f in &outcome.findings {
        let (Some(_), None, Some(file)) = (&f.fix, &f.suppression, f.file()) else {
            continue;
        };
        if !settings.only.is_empty()
            && !settings
                .only
                .iter()
                .any(|id| id.eq_ignore_ascii_case(&f.rule_id))
        {
            continue;
        }
        let meta = outcome.rules.get(&f.rule_id).map(|r| &r.meta);
        let safe = meta.is_some_and(crate::rules::RuleMeta::fix_is_safe);
        if settings.mode == Mode::Safe && !safe {
            let risk = meta.map_or_else(|| "unknown rule".to_string(), |m| m.fix_risk());
            unsafe_left
                .entry(f.rule_id.to_string())
                .or_insert((0, risk))
                .0 += 1;
            continue;
        }
        by_file.entry(file).or_default().push(f);
    }
    summary.unsafe_left = unsafe_left
        .into_iter()
        .map(|(rule, (n, risk))| (rule, n, risk))
        .collect();
    let roots: Vec<PathBuf> = opts
        .paths
        .iter()
        .filter_map(|p| opts.base.join(p).canonicalize().ok())
        .collect();
    for (file, findings) in by_file {
        let skip_all = |summary: &mut Summary, reason: &str| {
            for f in &findings {
                summary.skipped.push(skipped(f, reason));
            }
        };
        let target = match checked_target(&opts.base, file, &roots) {
            Ok(t) => t,
            Err(reason) => {
                skip_all(&mut summary, &reason);
                continue;
            }
        };
        let before = match std::fs::read_to_string(&target) {
            Ok(t) => t,
            Err(e) => {
                skip_all(&mut summary, &format!("cannot read the file: {e}"));
                continue;
            }
        };
        let (after, fixed, skips) = fix_text(file, &before, &findings);
        summary.skipped.extend(skips);
        if after == before {
            continue;
        }
        if settings.dry_run {
            summary.diff.push_str(&diff::unified(file, &before, &after));
        } else if let Err(e) = write_atomic(&target, &after) {
            skip_all(&mut summary, &format!("cannot write the file: {e}"));
            continue;
        }
        summary.fixed += fixed;
        summary.files.push(file.to_string());
    }
    if settings.dry_run || summary.files.is_empty() {
        return (outcome, summary);
    }
    (scan(opts, selection), summary)
}

fn skipped(f: &Finding, reason: &str) -> Skipped {
    Skipped {
        place: f.place(),
        rule: f.rule_id.to_string(),
        reason: reason.to_string(),
    }
}

/// The file a finding's path names, if `--fix` may write it: inside a scanned path, and not
/// an input of kustomize (whose objects are rendered).
fn checked_target(base: &Path, file: &str, roots: &[PathBuf]) -> Result<PathBuf, String> {
    let real = base
        .join(file)
        .canonicalize()
        .map_err(|e| format!("cannot find the file: {e}"))?;
    let Some(root) = roots
        .iter()
        .filter(|r| real.starts_with(r))
        .max_by_key(|r| r.as_os_str().len())
    else {
        return Err("the file is outside the scanned paths; --fix never writes there".into());
    };
    let mut dir = real.parent();
    while let Some(d) = dir {
        if let Some(k) = crate::source::kustomize::kustomization_file(d) {
            return Err(format!(
                "the object is rendered by kustomize ({}): set the field in a patch of that \
                 kustomization, or in this file when every overlay should get it",
                crate::source::display(&k, base)
            ));
        }
        if d == root.as_path() || !d.starts_with(root) {
            break;
        }
        dir = d.parent();
    }
    Ok(real)
}

/// Applies the fixes of one file's findings: each pass computes the edits on the current
/// text, applies those that do not overlap, and leaves the others for the next pass.
/// Returns the new text, how many findings it fixes, and the fixes refused.
fn fix_text(file: &str, text: &str, findings: &[&Finding]) -> (String, usize, Vec<Skipped>) {
    let parsed_before = parses(file, text);
    let mut text = text.to_string();
    let mut pending: Vec<&Finding> = findings.to_vec();
    let mut fixed = 0;
    let mut skips = Vec::new();
    for pass in 0..MAX_PASSES {
        let mut accepted: Vec<(Edit, &Finding)> = Vec::new();
        let mut deferred = Vec::new();
        // (resource, field) → value, to refuse two fixes that want different values.
        let mut wants: BTreeMap<(String, String), (&str, &serde_json::Value)> = BTreeMap::new();
        // The text does not change within a pass: it is parsed once for all its edits.
        let prepared = FileText::new(&text);
        for f in pending {
            let Some(fix) = &f.fix else { continue };
            let field = (f.resource.to_string(), crate::model::pointer(&fix.path));
            if let Some((rule, value)) = wants.get(&field) {
                if *value != &fix.value {
                    skips.push(skipped(
                        f,
                        &format!("conflicts with the fix of {rule}, which sets another value"),
                    ));
                } else {
                    fixed += 1;
                }
                continue;
            }
            let e = match edit_in(f, &prepared) {
                Ok(e) => e,
                Err(reason) => {
                    skips.push(skipped(f, &reason.0));
                    continue;
                }
            };
            wants.insert(field, (&f.rule_id, &fix.value));
            if text.get(e.start..e.end) == Some(e.text.as_str()) {
                fixed += 1;
                continue;
            }
            if accepted.iter().any(|(a, _)| *a == e) {
                fixed += 1;
                continue;
            }
            let overlaps = accepted.iter().any(|(a, _)| {
                (a.start < e.end && e.start < a.end) || (a.start == e.start && a.end == e.end)
            });
            if overlaps {
                deferred.push(f);
            } else {
                accepted.push((e, f));
                fixed += 1;
            }
        }
        if !accepted.is_empty() {
            let edits: Vec<Edit> = accepted.iter().map(|(e, _)| e.clone()).collect();
            match apply(&text, &edits) {
                Ok(t) if !parsed_before || parses(file, &t) => text = t,
                _ => {
                    // A safety net: an edit that breaks the file is never written.
                    for (_, f) in accepted.iter() {
                        skips.push(skipped(
                            f,
                            "the edit would leave the file unparsable; set the field by hand",
                        ));
                    }
                    fixed -= accepted.len();
                    accepted.clear();
                }
            }
        }
        if deferred.is_empty() {
            break;
        }
        if accepted.is_empty() || pass + 1 == MAX_PASSES {
            for f in &deferred {
                skips.push(skipped(
                    f,
                    "overlaps another fix of this file; run --fix again after reviewing it",
                ));
            }
            break;
        }
        pending = deferred;
    }
    (text, fixed, skips)
}

/// Whether `text` parses in the syntax of `file`.
fn parses(file: &str, text: &str) -> bool {
    match crate::fix::Syntax::of(file) {
        crate::fix::Syntax::Hcl => hcl_edit::parser::parse_body(text).is_ok(),
        _ => crate::syntax::yaml::parse_stream(text).1.is_none(),
    }
}

/// Writes `text` to `path` through a temporary file in the same directory and a rename, so a
/// reader never sees half a file; the file keeps its permissions.
fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let permissions = std::fs::metadata(path)?.permissions();
    for attempt in 0..100u32 {
        let tmp = dir.join(format!(
            ".{name}.blogaudit-fix-{}-{attempt}",
            std::process::id()
        ));
        let mut file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::set_permissions(&tmp, permissions.clone()))
            .and_then(|()| std::fs::rename(&tmp, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        return written;
    }
    Err(std::io::Error::other("no free temporary file name"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fingerprint::Fingerprint;
    use crate::model::{Fix, Location, ResourceRef};
    use crate::model::{PathSeg, Span};
    use serde_json::json;

    fn finding(rule: &str, path: &[&str], value: serde_json::Value) -> Finding {
        Finding {
            rule_id: rule.into(),
            rule_name: "t".into(),
            severity: crate::model::Severity::High,
            resource: ResourceRef {
                kind: "Pod".into(),
                namespace: "blog".into(),
                name: "web".into(),
            }
            .into(),
            path: Vec::new().into(),
            location: Location::File {
                path: "p.yaml".into(),
                span: Span::default(),
            },
            message: "".into(),
            fix: Some(Box::new(Fix {
                path: path.iter().map(|k| PathSeg::Key((*k).into())).collect(),
                value,
                replace: None,
                insert_under: None,
            })),
            fingerprint: Fingerprint::default(),
            suppression: None,
            roots: Vec::new().into(),
        }
    }

    const POD: &str = "kind: Pod\nmetadata:\n  name: web\nspec:\n  hostNetwork: true\n";

    #[test]
    fn two_keys_under_one_missing_parent_create_it_once() {
        let a = finding(
            "BA1",
            &["spec", "securityContext", "runAsNonRoot"],
            json!(true),
        );
        let b = finding(
            "BA2",
            &["spec", "securityContext", "runAsUser"],
            json!(1000),
        );
        let (text, fixed, skips) = fix_text("p.yaml", POD, &[&a, &b]);
        assert!(skips.is_empty(), "{skips:?}");
        assert_eq!(fixed, 2);
        assert_eq!(
            text,
            format!("{POD}  securityContext:\n    runAsNonRoot: true\n    runAsUser: 1000\n")
        );
    }

    #[test]
    fn two_fixes_that_want_different_values_are_refused() {
        let a = finding("BA1", &["spec", "hostNetwork"], json!(false));
        let b = finding("BA2", &["spec", "hostNetwork"], json!("no"));
        let (text, fixed, skips) = fix_text("p.yaml", POD, &[&a, &b]);
        assert_eq!(fixed, 1);
        assert_eq!(text, POD.replace("true", "false"));
        assert_eq!(skips.len(), 1);
        assert!(skips[0].reason.contains("conflicts with the fix of BA1"));
    }
}
