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
use std::io::{self, Write};
use std::sync::Arc;

use serde::{Serialize, Serializer};

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
    /// SARIF keeps every result (a baseline), not only the 25,000 GitHub takes.
    pub whole: bool,
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
    /// Writes the report in `format` to `out` as it is made: no reporter holds the whole
    /// output, so memory does not grow with it. `out` should be buffered.
    ///
    /// # Errors
    /// The error of `out`.
    pub fn write(&self, format: Format, out: &mut dyn Write) -> io::Result<()> {
        match format {
            Format::Human => human::write(self, out),
            Format::Json => json::write(self, out),
            Format::Sarif => sarif::write(self, out),
            Format::Junit => junit::write(self, out),
            Format::Gitlab => gitlab::write(self, out),
            Format::Github => github::write(self, out),
            Format::Markdown => markdown::write(self, out),
            Format::Policyreport => policyreport::write(self, out),
        }
    }

    /// The report in `format` as one string (tests and small uses; [`Report::write`] streams).
    #[must_use]
    pub fn render(&self, format: Format) -> String {
        let mut out = Vec::new();
        // Writing into memory does not fail.
        let _ = self.write(format, &mut out);
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// A sequence serialized item by item as the iterator makes them, never held whole: the
/// findings of a JSON or SARIF report.
pub(crate) struct Lazy<F>(pub F);

impl<F, I> Serialize for Lazy<F>
where
    F: Fn() -> I,
    I: IntoIterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

/// Writes `value` as pretty JSON with a final line break, as `serde_json::to_string_pretty`
/// and a `\n` would, without the string.
pub(crate) fn write_pretty(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    // A buffer of a known type: the serializer's many small writes are copies into it, not
    // calls through `dyn Write`.
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    serde_json::to_writer_pretty(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The base URL of the rule docs (`helpUri`).
pub const DOCS_BASE: &str = "https://github.com/blogaudit/blogaudit/blob/main/";

/// Text from the input (a resource name, a source line) made safe for a terminal or a CI log:
/// each control character becomes one visible character (`ESC` → `␛`, a lone `CR` → `␍`, C1
/// controls → `�`), so a name cannot move the cursor, recolour the output or forge a line, and
/// line/column positions still count the same characters. Line feeds and tabs stay when
/// `keep_lines`, and so does the CR of a CRLF.
#[must_use]
pub fn visible(s: &str, keep_lines: bool) -> std::borrow::Cow<'_, str> {
    let is_control = |c: char| c.is_control() && !(keep_lines && matches!(c, '\n' | '\t' | '\r'));
    if !s.chars().any(is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let crlf = c == '\r' && chars.peek() == Some(&'\n');
        let keep = keep_lines && (c == '\n' || c == '\t' || crlf);
        out.push(match c {
            _ if keep => c,
            '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{fffd}'),
            '\u{7f}' => '\u{2421}',
            _ if c.is_control() => '\u{fffd}',
            _ => c,
        });
    }
    std::borrow::Cow::Owned(out)
}

/// The URL of a rule's documentation (its `rule.rego`): SARIF `helpUri`, Markdown links.
#[must_use]
pub fn docs_url(meta: &RuleMeta) -> String {
    format!("{DOCS_BASE}{}/rule.rego", meta.folder)
}

#[cfg(test)]
mod visible_tests {
    use super::visible;

    #[test]
    fn control_characters_become_visible_one_for_one() {
        assert_eq!(
            visible("web\u{1b}[31m\r\nx", false),
            "web\u{241b}[31m\u{240d}\u{240a}x"
        );
        assert_eq!(
            visible("a\r\nb\rc\td\u{9b}", true),
            "a\r\nb\u{240d}c\td\u{fffd}"
        );
        assert!(matches!(
            visible("plain", false),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
