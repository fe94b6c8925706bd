//! `--format markdown`: a summary for `$GITHUB_STEP_SUMMARY` or a pull-request comment:
//! counts by severity and by rule, then the findings (most severe first, at most
//! [`MARKDOWN_LIMIT`]), suppressed findings and input problems.

use std::collections::BTreeSet;
use std::io::{self, Write};

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

/// Writes the summary.
///
/// # Errors
/// The error of `out`.
pub fn write(r: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut out = OneNewline::new(out);
    sections(r, &mut out)?;
    out.finish()
}

fn sections(r: &Report<'_>, out: &mut OneNewline<'_>) -> io::Result<()> {
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
    if active.is_empty() && errors.is_empty() {
        write!(
            out,
            "**blogaudit**: no findings ({} resource{} checked by {} rule{}",
            r.checked.len(),
            plural(r.checked.len()),
            r.rules.rules.len(),
            plural(r.rules.rules.len())
        )?;
        if suppressed > 0 {
            write!(out, "; {suppressed} suppressed")?;
        }
        out.write_all(b").\n")?;
        if warnings > 0 {
            out.write_all(b"\n")?;
            not_checked(r, out)?;
        }
        return Ok(());
    }

    out.write_all(b"# blogaudit\n\n")?;
    let files: BTreeSet<&str> = active.iter().filter_map(|f| f.file()).collect();
    write!(
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
    )?;
    if suppressed > 0 {
        write!(out, " {suppressed} suppressed.")?;
    }
    if !errors.is_empty() {
        write!(
            out,
            " **{} input error{}: the results are incomplete.**",
            errors.len(),
            plural(errors.len())
        )?;
    }
    if warnings > 0 {
        write!(out, " {warnings} input warning{}.", plural(warnings))?;
    }
    out.write_all(b"\n\n")?;

    if !active.is_empty() {
        out.write_all(b"| Severity | Findings |\n|---|---:|\n")?;
        for sev in SEVERITIES {
            let n = active.iter().filter(|f| f.severity == sev).count();
            writeln!(out, "| {} | {n} |", sev.as_str())?;
        }
        out.write_all(b"\n")?;

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
        out.write_all(
            b"## By rule\n\n| Rule | Name | Severity | Findings |\n|---|---|---|---:|\n",
        )?;
        for (f, n) in &rules {
            writeln!(
                out,
                "| {} | {} | {} | {n} |",
                rule_link(r, f),
                cell(&f.rule_name),
                f.severity.as_str()
            )?;
        }
        out.write_all(b"\n")?;

        active.sort_by(|a, b| {
            b.severity.cmp(&a.severity).then_with(|| {
                (a.file(), a.span().map(|s| s.start), &a.rule_id).cmp(&(
                    b.file(),
                    b.span().map(|s| s.start),
                    &b.rule_id,
                ))
            })
        });
        out.write_all(b"## Findings\n\n")?;
        out.write_all(
            b"| Severity | Rule | Location | Resource | Message |\n|---|---|---|---|---|\n",
        )?;
        for f in active.iter().take(MARKDOWN_LIMIT) {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                f.severity.as_str(),
                rule_link(r, f),
                code(&location(f)),
                code(&f.resource.to_string()),
                cell(&f.message)
            )?;
        }
        if active.len() > MARKDOWN_LIMIT {
            let more = active.len() - MARKDOWN_LIMIT;
            writeln!(out,
                "\n…and {more} more finding{} (only the first {MARKDOWN_LIMIT} are listed; see the full report).",
                plural(more)
            )?;
        }
        out.write_all(b"\n")?;
    }

    if !errors.is_empty() {
        out.write_all(b"## Input errors\n\n")?;
        for d in &errors {
            writeln!(out, "- {}", cell(&d.one_line()))?;
        }
        out.write_all(b"\n")?;
    }
    if warnings > 0 {
        not_checked(r, out)?;
    }
    Ok(())
}

/// Input warnings: what was knowingly not checked (a Helm chart without helm).
fn not_checked(r: &Report<'_>, out: &mut OneNewline<'_>) -> io::Result<()> {
    out.write_all(b"## Not checked\n\n")?;
    for d in r.diagnostics.iter().filter(|d| d.level == Level::Warning) {
        writeln!(out, "- {}", cell(&d.one_line()))?;
    }
    out.write_all(b"\n")
}

/// Holds back the line breaks at the end of what is written, so that the summary ends with
/// exactly one, however its last section ended.
struct OneNewline<'a> {
    out: &'a mut dyn Write,
    /// Line breaks written but not passed on yet.
    pending: usize,
}

impl<'a> OneNewline<'a> {
    fn new(out: &'a mut dyn Write) -> Self {
        Self { out, pending: 0 }
    }

    fn finish(self) -> io::Result<()> {
        if self.pending > 0 {
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl Write for OneNewline<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text_end = buf.iter().rposition(|b| *b != b'\n');
        if let Some(end) = text_end {
            for _ in 0..self.pending {
                self.out.write_all(b"\n")?;
            }
            self.out.write_all(&buf[..=end])?;
            self.pending = 0;
        }
        self.pending += buf.len() - text_end.map_or(0, |e| e + 1);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
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
        Location::Object { reference } => reference.to_string(),
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
