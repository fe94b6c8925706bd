//! Which findings a run reports: all of them, or only those not in a baseline, and only those
//! in the files of a pull request (`--changed-since`) or a commit (`--report-only-paths`).
//!
//! Selection happens after the engine, so cross-resource rules still see the whole tree.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::model::{Diagnostic, Finding};

/// Why a selection cannot be made; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("cannot read the baseline {path}: {source}")]
    ReadBaseline {
        path: String,
        source: std::io::Error,
    },
    #[error("the baseline {path} is not JSON (line {line}, column {column}): {source}")]
    BaselineNotJson {
        path: String,
        line: usize,
        column: usize,
        source: serde_json::Error,
    },
    #[error(
        "{path} is not a blogaudit baseline: expected a SARIF log (`runs`) or a \
         `--format json` report (`findings`); write one with `--write-baseline {path}`"
    )]
    NotABaseline { path: String },
    #[error(
        "`{git_ref}` is not a commit of this repository; fetch it first (for example \
         `git fetch origin {git_ref}`, with `fetch-depth: 0` in actions/checkout)"
    )]
    UnknownRef { git_ref: String },
    #[error("cannot run git: {0}; --changed-since needs git on PATH")]
    NoGit(std::io::Error),
    #[error("git {args}: {stderr}")]
    Git { args: String, stderr: String },
    #[error("--report-only-paths and --changed-since do not go together")]
    TwoScopes,
}

/// Fingerprints of findings already known and accepted.
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    fingerprints: HashSet<String>,
}

impl Baseline {
    /// Reads a baseline: a SARIF log or a `--format json` report of blogaudit.
    ///
    /// # Errors
    /// The file cannot be read, is not JSON, or is neither a SARIF log nor a JSON report.
    pub fn load(path: &Path) -> Result<Self, SelectError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SelectError::ReadBaseline {
            path: shown.clone(),
            source,
        })?;
        let doc: Value =
            serde_json::from_str(&text).map_err(|source| SelectError::BaselineNotJson {
                path: shown.clone(),
                line: source.line(),
                column: source.column(),
                source,
            })?;
        Self::from_json(&doc).ok_or(SelectError::NotABaseline { path: shown })
    }

    fn from_json(doc: &Value) -> Option<Self> {
        let fingerprints = if let Some(runs) = doc.get("runs").and_then(Value::as_array) {
            runs.iter()
                .filter_map(|r| r.get("results").and_then(Value::as_array))
                .flatten()
                .filter_map(|r| {
                    r.get("partialFingerprints")?
                        .get(crate::model::fingerprint::FINGERPRINT_KEY)?
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
    /// Git is missing, `base` is not in a work tree, or the ref is unknown.
    pub fn changed_since(git_ref: &str, base: &Path) -> Result<Self, SelectError> {
        let top = git(base, &["rev-parse", "--show-toplevel"])?;
        let top = PathBuf::from(top.trim_end_matches(['\n', '\r']));
        let commit = format!("{git_ref}^{{commit}}");
        git(base, &["rev-parse", "--verify", "--quiet", &commit]).map_err(|_| {
            SelectError::UnknownRef {
                git_ref: git_ref.to_string(),
            }
        })?;
        let diff = git(base, &["diff", "--name-only", "-z", git_ref, "--"])?;
        // Both lists relative to the top of the work tree.
        let untracked = git(&top, &["ls-files", "-z", "--others", "--exclude-standard"])?;
        let mut roots: Vec<PathBuf> = diff
            .split('\0')
            .chain(untracked.split('\0'))
            .filter(|s| !s.is_empty())
            .map(|s| without_dots(&top.join(s)))
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

fn git(dir: &Path, args: &[&str]) -> Result<String, SelectError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(SelectError::NoGit)?;
    if !out.status.success() {
        return Err(SelectError::Git {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `base`-relative or absolute `path`, absolute and without `.`/`..`; symlinks in the
/// existing part resolved, so that Git's real paths compare equal.
fn absolute(base: &Path, path: &Path) -> PathBuf {
    let joined = without_dots(&base.join(path));
    joined.canonicalize().unwrap_or(joined)
}

fn without_dots(path: &Path) -> PathBuf {
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
        findings.retain(|f| !b.fingerprints.contains(&f.fingerprint.to_string()));
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
    fn without_dots_removes_dots() {
        assert_eq!(
            without_dots(Path::new("/a/b/./c/../d")),
            PathBuf::from("/a/b/d")
        );
    }
}
