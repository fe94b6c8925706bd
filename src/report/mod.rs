//! Reporters: one module per output format, all over the same findings.

pub mod fingerprint;
pub mod human;
pub mod json;
pub mod sarif;

use std::collections::HashMap;
use std::sync::Arc;

use crate::finding::Finding;
use crate::model::{Diagnostic, SourceFile};
use crate::rules::RuleSet;

/// Everything a reporter may show about one run.
pub struct Report<'a> {
    pub findings: &'a [Finding],
    pub diagnostics: &'a [Diagnostic],
    pub rules: &'a RuleSet,
    /// Source text by display path (Secret values already masked).
    pub files: &'a HashMap<String, Arc<SourceFile>>,
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
    Human,
    Json,
    Sarif,
}

impl Report<'_> {
    /// Renders the report in `format`.
    #[must_use]
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Human => human::render(self),
            Format::Json => json::render(self),
            Format::Sarif => sarif::render(self),
        }
    }
}

/// Byte offset of a 1-based line and code-point column in `text` (clamped to the text).
#[must_use]
pub fn offset(text: &str, line: u32, column: u32) -> usize {
    let mut start = 0usize;
    for _ in 1..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let rest = &text[start..];
    let line_end = rest.find('\n').unwrap_or(rest.len());
    rest[..line_end]
        .char_indices()
        .nth(column.saturating_sub(1) as usize)
        .map_or(start + line_end, |(i, _)| start + i)
}

/// The base URL of the rule docs (`helpUri`).
pub const DOCS_BASE: &str = "https://github.com/blogaudit/blogaudit/blob/main/";
