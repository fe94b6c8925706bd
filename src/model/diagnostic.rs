//! Problems with the inputs of a run (not findings): a file that could not be read or parsed,
//! a rule that does not compile, a value that cannot be known.

use serde::{Deserialize, Serialize};

use super::Pos;

/// How much a diagnostic matters. Any `Error` makes the run untrustworthy (exit code 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    /// Shown with `--verbose` only (skipped files and the like).
    Note,
}

/// One input problem, with where it is, what is wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub level: Level,
    /// Stable code, unique per kind of problem (see `tests/meta.rs`); one of [`CODES`].
    pub code: &'static str,
    pub file: Option<String>,
    pub pos: Option<Pos>,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    /// The error of a stashed resource (see `SpanIndex::Stashed`) whose document did not read
    /// again as it first did, at the resource's place.
    #[must_use]
    pub fn not_read_again(r: &super::Resource) -> Self {
        let d = Self::error(
            "internal",
            format!(
                "{}: its document could not be read again, so it was not checked",
                super::ResourceRef::of(r)
            ),
        )
        .help("this is a fault of blogaudit: please report it with the document");
        match &r.origin {
            super::Origin::File { file, span, .. } => d.in_file(&file.path).at(span.start),
            super::Origin::Object { .. } => d,
        }
    }

    #[must_use]
    pub fn new(level: Level, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            level,
            code,
            file: None,
            pos: None,
            message: message.into(),
            help: None,
        }
    }

    #[must_use]
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Level::Error, code, message)
    }

    #[must_use]
    pub fn note(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Level::Note, code, message)
    }

    #[must_use]
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Level::Warning, code, message)
    }

    #[must_use]
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    #[must_use]
    pub fn at(mut self, pos: Pos) -> Self {
        self.pos = Some(pos);
        self
    }

    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col: level[code]: message`, the one-line form used in logs and SARIF.
    #[must_use]
    pub fn one_line(&self) -> String {
        let mut out = String::new();
        if let Some(f) = &self.file {
            out.push_str(f);
            if let Some(p) = self.pos {
                out.push_str(&format!(":{}:{}", p.line, p.column));
            }
            out.push_str(": ");
        }
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
        };
        out.push_str(&format!("{level}[{}]: {}", self.code, self.message));
        if let Some(h) = &self.help {
            out.push_str(&format!(" (help: {h})"));
        }
        out
    }
}

/// Every diagnostic code blogaudit emits, with what it means. `tests/meta.rs` checks they are
/// unique and documented.
pub const CODES: &[(&str, &str)] = &[
    ("yaml-syntax", "a YAML or JSON file could not be parsed"),
    (
        "helm-template",
        "a Helm template outside a chart, not checked (a warning)",
    ),
    (
        "helm-missing",
        "a Helm chart not checked because `helm` is not on PATH (a warning)",
    ),
    ("helm", "a Helm chart that `helm template` could not render"),
    (
        "kustomize-roots",
        "how many kustomize roots were rendered and how many came from the render cache",
    ),
    ("binary-file", "a binary file with a manifest extension"),
    ("not-utf8", "a file that is not UTF-8"),
    ("too-large", "a file larger than the size limit"),
    ("unreadable", "a file or directory that could not be read"),
    (
        "symlink-loop",
        "a symbolic link that loops back to its ancestor",
    ),
    (
        "not-kubernetes",
        "a document without apiVersion/kind, skipped",
    ),
    ("kustomize", "a kustomization that could not be rendered"),
    ("rule-error", "a rule that failed to load or evaluate"),
    (
        "internal",
        "a fault of blogaudit itself (a document of a large manifest that could not be read again)",
    ),
    ("config", "an invalid configuration file"),
    (
        "suppression",
        "an invalid suppression annotation or comment",
    ),
    (
        "terraform-syntax",
        "a Terraform file that could not be parsed",
    ),
    (
        "terraform-unknown",
        "a value that cannot be known without more input",
    ),
    ("terraform-module", "a module that could not be read"),
    (
        "terraform-budget",
        "a Terraform stack over the evaluation budget or the instance limit",
    ),
    (
        "invalid-field",
        "a Kubernetes field of the wrong type, which the API server would refuse",
    ),
    (
        "terraform-plan",
        "a Terraform plan JSON that could not be read",
    ),
    ("truncated", "results cut to the limit of the output format"),
    (
        "baseline",
        "findings left out because the baseline holds them",
    ),
    (
        "scope",
        "findings left out because their files are outside --changed-since or --report-only-paths",
    ),
    (
        "live-forbidden",
        "a kind the live run was not allowed to read (403), so it was not audited",
    ),
    (
        "live-missing-kind",
        "a kind the rules check that the cluster does not serve (a CRD not installed)",
    ),
    (
        "live-timeout",
        "a live API call that did not answer within --timeout",
    ),
    (
        "live-api-error",
        "a live API call that failed (5xx or transport)",
    ),
    (
        "live-aws-denied",
        "an AWS call the credentials may not make",
    ),
    ("live-aws-error", "an AWS call that failed"),
    (
        "live-target",
        "which cluster, context and kubeconfig a live run audited",
    ),
];

/// A [`Diagnostic`] as the scan cache keeps it; read back, its code must be one of [`CODES`].
#[derive(Deserialize)]
struct Stored {
    level: Level,
    code: String,
    file: Option<String>,
    pos: Option<Pos>,
    message: String,
    help: Option<String>,
}

impl<'de> Deserialize<'de> for Diagnostic {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Stored::deserialize(d)?
            .try_into()
            .map_err(serde::de::Error::custom)
    }
}

impl TryFrom<Stored> for Diagnostic {
    type Error = String;

    fn try_from(d: Stored) -> Result<Self, String> {
        let code = CODES
            .iter()
            .map(|(c, _)| *c)
            .find(|c| *c == d.code)
            .ok_or_else(|| format!("unknown diagnostic code `{}`", d.code))?;
        Ok(Self {
            level: d.level,
            code,
            file: d.file,
            pos: d.pos,
            message: d.message,
            help: d.help,
        })
    }
}
