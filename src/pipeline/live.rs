//! `blogaudit live`: read the running cluster and its AWS account, then every stage of a
//! scan over what was read: the same rules, suppressions, selection and outcome.

use std::collections::BTreeSet;
use std::path::Path;

pub use crate::source::live::reports::{Applied, ApplyError};
pub use crate::source::live::{LiveError, Only, Options as Source, Progress, Target};

use super::{prepare_rules, run_loaded, Options, Outcome, Selection};
use crate::model::Diagnostic;
use crate::report::{policyreport, Report};
use crate::source::{live, Loaded};

/// Why a live audit gives no outcome.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The run could not start (no credentials, no cluster, no answer).
    #[error(transparent)]
    Start(#[from] LiveError),
    /// `--save DIR` could not be written.
    #[error("cannot save the snapshot into {dir}: {source}")]
    Save { dir: String, source: std::io::Error },
}

impl AuditError {
    /// What the user can do about it.
    #[must_use]
    pub fn help(&self) -> &'static str {
        match self {
            Self::Start(e) => e.help(),
            Self::Save { .. } => "choose a writable directory for --save",
        }
    }
}

/// A live audit's outcome and what it audited.
pub struct Audit {
    pub outcome: Outcome,
    pub target: Target,
}

/// Reads the cluster and account that `source` names (the Kubernetes kinds the rules match
/// or look up are added to `source.kinds`), saves the snapshot into `save` when given, and
/// runs every stage after loading.
///
/// # Errors
/// The run could not start, or the snapshot could not be saved.
pub fn run(
    opts: &Options,
    selection: &Selection,
    mut source: Source,
    save: Option<&Path>,
) -> Result<Audit, AuditError> {
    let (config, rules, diagnostics) = prepare_rules(opts);
    let kinds: BTreeSet<String> = rules
        .rules
        .iter()
        .flat_map(|r| r.meta.kinds.iter())
        .filter(|k| !k.starts_with("aws:"))
        .cloned()
        .chain(live::LOOKUP_KINDS.iter().map(|k| (*k).to_string()))
        .collect();
    source.kinds.extend(kinds);
    let snapshot = live::load(&source)?;
    if let Some(dir) = save {
        live::save(&snapshot, dir).map_err(|e| AuditError::Save {
            dir: dir.display().to_string(),
            source: e,
        })?;
    }
    let mut diags = snapshot.diagnostics;
    diags.push(Diagnostic::note(
        "live-target",
        format!("audited {}", snapshot.target.describe()),
    ));
    let loaded = Loaded {
        resources: snapshot.resources,
        files: Vec::new(),
        diagnostics: diags,
        ..Loaded::default()
    };
    let outcome = run_loaded(opts, selection, config, rules, diagnostics, loaded);
    Ok(Audit {
        outcome,
        target: snapshot.target,
    })
}

/// `--apply-reports`: server-side applies the PolicyReports of `report` (as
/// `--format policyreport` renders them) into the cluster `source` names, and deletes the
/// ones of the same category that blogaudit wrote before and this run no longer produces.
///
/// # Errors
/// The cluster cannot be reached again, or a write is refused or fails.
pub fn apply_reports(source: &Source, report: &Report<'_>) -> Result<Applied, ApplyError> {
    let reports = policyreport::reports(report);
    let selector = format!(
        "app.kubernetes.io/managed-by={},blogaudit.io/category={}",
        policyreport::MANAGED_BY,
        policyreport::label_value(report.category)
    );
    live::reports::apply(source, &reports, &selector)
}
