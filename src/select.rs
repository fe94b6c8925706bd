//! Which findings a run reports: all of them, or only those not in a baseline, and only those
//! in the files of a pull request (`--changed-since`) or a commit (`--report-only-paths`).
//!
//! Selection happens after the engine, so cross-resource rules still see the whole tree.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::finding::Finding;
use crate::model::Diagnostic;

/// Fingerprints of findings already known and accepted.
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    fingerprints: HashSet<String>,
}

impl Baseline {
    /// Reads a baseline: a SARIF log or a `--format json` report of blogaudit.
    ///
    /// # Errors
    /// A message naming the file and what is wrong with it.
    pub fn load(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the baseline {shown}: {e}"))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| {
            format!(
                "the baseline {shown} is not JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            )
        })?;
        Self::from_json(&doc).ok_or_else(|| {
            format!(
                "{shown} is not a blogaudit baseline: expected a SARIF log (`runs`) or a \
                 `--format json` report (`findings`); write one with `--write-baseline {shown}`"
            )
        })
    }

    fn from_json(doc: &Value) -> Option<Self> {
        let fingerprints = if let Some(runs) = doc.get("runs").and_then(Value::as_array) {
            runs.iter()
                .filter_map(|r| r.get("results").and_then(Value::as_array))
                .flatten()
                .filter_map(|r| {
                    r.get("partialFingerprints")?
                        .get(crate::report::sarif::FINGERPRINT_KEY)?
                        .as_str()
                })
                .map(str::to_string)
                .collect()
        } else {
            doc.get("findings")?
                .as_array()?
                .iter()
                .filter_map(|f| f.get("fingerprint").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        };
        Some(Self { fingerprints })
    }
}

/// The files (or directories) whose findings are reported, as absolute, normalized paths.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    roots: Vec<PathBuf>,
    /// How the scope was chosen, for the note (`changed since main`).
    what: String,
}

impl Scope {
    /// The given paths (relative to `base`).
    #[must_use]
    pub fn paths(paths: &[PathBuf], base: &Path) -> Self {
        Self {
            roots: paths.iter().map(|p| absolute(base, p)).collect(),
            what: "given on the command line".into(),
        }
    }

    /// The files changed since `git_ref` in the Git work tree of `base`: committed, staged,
    /// unstaged and untracked (not ignored) changes.
    ///
    /// # Errors
    /// A message when Git is missing, `base` is not in a work tree, or the ref is unknown.
    pub fn changed_since(git_ref: &str, base: &Path) -> Result<Self, String> {
        let top = git(base, &["rev-parse", "--show-toplevel"])?;
        let top = PathBuf::from(top.trim_end_matches(['\n', '\r']));
        let commit = format!("{git_ref}^{{commit}}");
        git(base, &["rev-parse", "--verify", "--quiet", &commit]).map_err(|_| {
            format!(
                "`{git_ref}` is not a commit of this repository; fetch it first (for example \
                 `git fetch origin {git_ref}`, with `fetch-depth: 0` in actions/checkout)"
            )
        })?;
        let diff = git(base, &["diff", "--name-only", "-z", git_ref, "--"])?;
        // Both lists relative to the top of the work tree.
        let untracked = git(&top, &["ls-files", "-z", "--others", "--exclude-standard"])?;
        let mut roots: Vec<PathBuf> = diff
            .split('\0')
            .chain(untracked.split('\0'))
            .filter(|s| !s.is_empty())
            .map(|s| normalize(&top.join(s)))
            .collect();
        roots.sort();
        roots.dedup();
        Ok(Self {
            roots,
            what: format!("changed since {git_ref}"),
        })
    }

    fn contains(&self, base: &Path, file: &str) -> bool {
        let path = absolute(base, Path::new(file));
        self.roots.iter().any(|r| path.starts_with(r))
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}; --changed-since needs git on PATH"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("git {}: {}", args.join(" "), err.trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `base`-relative or absolute `path`, absolute and without `.`/`..`; symlinks in the
/// existing part resolved, so that Git's real paths compare equal.
fn absolute(base: &Path, path: &Path) -> PathBuf {
    let joined = normalize(&base.join(path));
    joined.canonicalize().unwrap_or(joined)
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Drops the findings in `baseline` and those outside `scope`; returns notes saying how many
/// were left out and why.
pub fn apply(
    findings: &mut Vec<Finding>,
    baseline: Option<&Baseline>,
    scope: Option<&Scope>,
    base: &Path,
) -> Vec<Diagnostic> {
    let mut notes = Vec::new();
    if let Some(b) = baseline {
        let before = findings.len();
        findings.retain(|f| !b.fingerprints.contains(&f.fingerprint));
        let dropped = before - findings.len();
        if dropped > 0 {
            notes.push(Diagnostic::note(
                "baseline",
                format!("{dropped} finding(s) are in the baseline and not reported"),
            ));
        }
    }
    if let Some(s) = scope {
        let base = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
        let before = findings.len();
        // Many findings share a file: resolve each file's path once.
        let mut inside: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
        findings.retain(|f| {
            f.file().is_some_and(|file| {
                *inside
                    .entry(file.to_string())
                    .or_insert_with(|| s.contains(&base, file))
            })
        });
        let dropped = before - findings.len();
        if dropped > 0 {
            notes.push(Diagnostic::note(
                "scope",
                format!(
                    "{dropped} finding(s) in files not {} are not reported",
                    s.what
                ),
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn baseline_reads_sarif_and_json() {
        let sarif = json!({"runs": [{"results": [
            {"partialFingerprints": {"blogauditFingerprint/v1": "a"}},
            {"partialFingerprints": {"other/v1": "b"}}
        ]}]});
        let b = Baseline::from_json(&sarif).expect("sarif");
        assert_eq!(b.fingerprints.len(), 1);
        assert!(b.fingerprints.contains("a"));
        let report = json!({"findings": [{"fingerprint": "c"}, {"fingerprint": "d"}]});
        assert_eq!(
            Baseline::from_json(&report)
                .expect("json")
                .fingerprints
                .len(),
            2
        );
        assert!(Baseline::from_json(&json!({"x": 1})).is_none());
    }

    #[test]
    fn normalize_removes_dots() {
        assert_eq!(
            normalize(Path::new("/a/b/./c/../d")),
            PathBuf::from("/a/b/d")
        );
    }
}
