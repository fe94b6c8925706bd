//! Reporters: one module per output format, all over the same findings.

pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod policyreport;
pub mod sarif;

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::{Checked, Finding};
use crate::model::{Diagnostic, SourceFile};
use crate::rules::{RuleMeta, RuleSet};

/// Everything a reporter may show about one run.
pub struct Report<'a> {
    pub findings: &'a [Finding],
    pub diagnostics: &'a [Diagnostic],
    pub rules: &'a RuleSet,
    /// Source text by display path (Secret values already masked).
    pub files: &'a HashMap<String, Arc<SourceFile>>,
    /// Every resource the rules saw (JUnit test cases).
    pub checked: &'a [Checked],
    /// SARIF `automationDetails.id` category, e.g. `blogaudit/scan`.
    pub category: &'a str,
    /// Show notes (skipped files) and suppressed findings in human output.
    pub verbose: bool,
    /// Colours and Unicode art in human output.
    pub color: bool,
}

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Terminal output with source snippets.
    Human,
    /// Findings and diagnostics as JSON, for scripts.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// JUnit XML, for Jenkins, GitLab and Azure DevOps test reports.
    Junit,
    /// GitLab Code Quality JSON (`artifacts:reports:codequality`).
    Gitlab,
    /// GitHub Actions workflow commands: pull-request annotations.
    Github,
    /// A Markdown summary for `$GITHUB_STEP_SUMMARY` or a pull-request comment.
    Markdown,
    /// `wgpolicyk8s.io/v1alpha2` PolicyReports (one per namespace) and a ClusterPolicyReport.
    Policyreport,
}

impl Report<'_> {
    /// Renders the report in `format`.
    #[must_use]
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Human => human::render(self),
            Format::Json => json::render(self),
            Format::Sarif => sarif::render(self),
            Format::Junit => junit::render(self),
            Format::Gitlab => gitlab::render(self),
            Format::Github => github::render(self),
            Format::Markdown => markdown::render(self),
            Format::Policyreport => policyreport::render(self),
        }
    }
}

/// The base URL of the rule docs (`helpUri`).
pub const DOCS_BASE: &str = "https://github.com/blogaudit/blogaudit/blob/main/";

/// The URL of a rule's documentation (its `rule.rego`): SARIF `helpUri`, Markdown links.
#[must_use]
pub fn docs_url(meta: &RuleMeta) -> String {
    format!("{DOCS_BASE}{}/rule.rego", meta.folder)
}
