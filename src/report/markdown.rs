//! `--format markdown`: a summary for `$GITHUB_STEP_SUMMARY` or a pull-request comment:
//! counts by severity and by rule, then the findings (most severe first, at most
//! [`MARKDOWN_LIMIT`]), suppressed findings and input problems.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::{docs_url, Report};
use crate::model::Severity;
use crate::model::{Diagnostic, Level};
use crate::model::{Finding, Location};

/// The most findings listed one by one; the rest are counted.
pub const MARKDOWN_LIMIT: usize = 100;

const SEVERITIES: [Severity; 4] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
];

#[must_use]
pub fn render(r: &Report<'_>) -> String {
    let mut active: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.suppression.is_none())
        .collect();
    let suppressed = r.findings.len() - active.len();
    let errors: Vec<&Diagnostic> = r
        .diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .collect();
    let warnings = r
        .diagnostics
        .iter()
        .filter(|d| d.level == Level::Warning)
        .count();
    let mut out = String::new();
    if active.is_empty() && errors.is_empty() {
        let _ = write!(
            out,
            "**blogaudit**: no findings ({} resource{} checked by {} rule{}",
            r.checked.len(),
            plural(r.checked.len()),
            r.rules.rules.len(),
            plural(r.rules.rules.len())
        );
        if suppressed > 0 {
            let _ = write!(out, "; {suppressed} suppressed");
        }
        out.push_str(").\n");
        if warnings > 0 {
            out.push('\n');
            not_checked(r, &mut out);
            while out.ends_with("\n\n") {
                out.pop();
            }
        }
        return out;
    }

    out.push_str("# blogaudit\n\n");
    let files: BTreeSet<&str> = active.iter().filter_map(|f| f.file()).collect();
    let _ = write!(
        out,
        "**{} finding{}** in {} file{} ({} resource{} checked by {} rule{}).",
        active.len(),
        plural(active.len()),
        files.len(),
        plural(files.len()),
        r.checked.len(),
        plural(r.checked.len()),
        r.rules.rules.len(),
        plural(r.rules.rules.len())
    );
    if suppressed > 0 {
        let _ = write!(out, " {suppressed} suppressed.");
    }
    if !errors.is_empty() {
        let _ = write!(
            out,
            " **{} input error{}: the results are incomplete.**",
            errors.len(),
            plural(errors.len())
        );
    }
    if warnings > 0 {
        let _ = write!(out, " {warnings} input warning{}.", plural(warnings));
    }
    out.push_str("\n\n");

    if !active.is_empty() {
        out.push_str("| Severity | Findings |\n|---|---:|\n");
        for sev in SEVERITIES {
            let n = active.iter().filter(|f| f.severity == sev).count();
            let _ = writeln!(out, "| {} | {n} |", sev.as_str());
        }
        out.push('\n');

        // By rule: most severe first, then the most frequent, then by ID.
        let mut rules: Vec<(&Finding, usize)> = Vec::new();
        for f in &active {
            match rules.iter_mut().find(|(g, _)| g.rule_id == f.rule_id) {
                Some((_, n)) => *n += 1,
                None => rules.push((f, 1)),
            }
        }
        rules.sort_by(|(a, n), (b, m)| {
            b.severity
                .cmp(&a.severity)
                .then(m.cmp(n))
                .then(a.rule_id.cmp(&b.rule_id))
        });
        out.push_str("## By rule\n\n| Rule | Name | Severity | Findings |\n|---|---|---|---:|\n");
        for (f, n) in &rules {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {n} |",
                rule_link(r, f),
                cell(&f.rule_name),
                f.severity.as_str()
            );
        }
        out.push('\n');

        active.sort_by(|a, b| {
            b.severity.cmp(&a.severity).then_with(|| {
                (a.file(), a.span().map(|s| s.start), &a.rule_id).cmp(&(
                    b.file(),
                    b.span().map(|s| s.start),
                    &b.rule_id,
                ))
            })
        });
        out.push_str("## Findings\n\n");
        out.push_str(
            "| Severity | Rule | Location | Resource | Message |\n|---|---|---|---|---|\n",
        );
        for f in active.iter().take(MARKDOWN_LIMIT) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                f.severity.as_str(),
                rule_link(r, f),
                code(&location(f)),
                code(&f.resource.to_string()),
                cell(&f.message)
            );
        }
        if active.len() > MARKDOWN_LIMIT {
            let more = active.len() - MARKDOWN_LIMIT;
            let _ = writeln!(
                out,
                "\n…and {more} more finding{} (only the first {MARKDOWN_LIMIT} are listed; see the full report).",
                plural(more)
            );
        }
        out.push('\n');
    }

    if !errors.is_empty() {
        out.push_str("## Input errors\n\n");
        for d in &errors {
            let _ = writeln!(out, "- {}", cell(&d.one_line()));
        }
        out.push('\n');
    }
    if warnings > 0 {
        not_checked(r, &mut out);
    }
    // One trailing newline.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Input warnings: what was knowingly not checked (a Helm chart without helm).
fn not_checked(r: &Report<'_>, out: &mut String) {
    out.push_str("## Not checked\n\n");
    for d in r.diagnostics.iter().filter(|d| d.level == Level::Warning) {
        let _ = writeln!(out, "- {}", cell(&d.one_line()));
    }
    out.push('\n');
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn rule_link(r: &Report<'_>, f: &Finding) -> String {
    match r.rules.get(&f.rule_id) {
        Some(rule) => format!("[{}]({})", cell(&f.rule_id), docs_url(&rule.meta)),
        None => cell(&f.rule_id),
    }
}

/// `file:line`, or the object reference.
fn location(f: &Finding) -> String {
    match &f.location {
        Location::File { path, span } => format!("{path}:{}", span.start.line),
        Location::Object { reference } => reference.clone(),
    }
}

/// Text for a table cell: no line breaks, `|` escaped, Markdown and HTML syntax neutralised.
#[must_use]
pub fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("<br>");
                }
            }
            '\n' => out.push_str("<br>"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span for a table cell (plain escaped text when the value holds a backtick or a
/// line break).
fn code(s: &str) -> String {
    if s.contains(['`', '\n', '\r']) || s.chars().any(char::is_control) {
        return cell(s);
    }
    format!("`{}`", s.replace('|', "\\|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape() {
        assert_eq!(cell("a|b\nc<d>*e*"), "a\\|b<br>c&lt;d&gt;\\*e\\*");
        assert_eq!(cell("x\r\ny"), "x<br>y");
        assert_eq!(code("f|g.yaml:3"), "`f\\|g.yaml:3`");
        assert_eq!(code("a`b"), "a\\`b");
    }
}
