//! `--format github`: GitHub Actions workflow commands (`::error file=…::message`), which the
//! runner turns into annotations on the pull request. One command per input problem (errors
//! and warnings) and per unsuppressed finding, most severe first; nothing else on stdout.
//!
//! Escaping follows `@actions/core` (`command.ts`): the message escapes `%`, CR and LF;
//! property values also escape `:` and `,`.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{visible, Report};
use crate::model::Severity;
use crate::model::{Diagnostic, Level};
use crate::model::{Finding, Location};

/// Writes the workflow commands, one line each.
///
/// # Errors
/// The error of `out`.
pub fn write(r: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    for d in r.diagnostics {
        if let Some(line) = diagnostic(d) {
            writeln!(out, "{line}")?;
        }
    }
    let mut active: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.suppression.is_none())
        .collect();
    // GitHub shows a limited number of annotations per step: the worst go first.
    active.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in active {
        writeln!(out, "{}", finding(f))?;
    }
    Ok(())
}

/// The command for a severity.
#[must_use]
pub fn command(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "notice",
    }
}

fn finding(f: &Finding) -> String {
    let title = format!("{} {}", f.rule_id, f.rule_name);
    let message = f.text();
    match &f.location {
        Location::File { path, span } => {
            let span = span.visible();
            let line_s = span.start.line.to_string();
            let col_s = span.start.column.to_string();
            let end_line_s = span.end.line.to_string();
            let end_col_s = span.end.column.to_string();
            cmd(
                command(f.severity),
                &[
                    ("file", path),
                    ("line", &line_s),
                    ("col", &col_s),
                    ("endLine", &end_line_s),
                    ("endColumn", &end_col_s),
                    ("title", &title),
                ],
                &message,
            )
        }
        Location::Object { reference } => cmd(
            command(f.severity),
            &[("title", &title)],
            &format!("{reference}: {message}"),
        ),
    }
}

fn diagnostic(d: &Diagnostic) -> Option<String> {
    let name = match d.level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => return None,
    };
    // The file and position go in properties; the message is the rest of `one_line`.
    let message = Diagnostic {
        file: None,
        ..d.clone()
    }
    .one_line();
    let line = d.pos.map(|p| p.line.max(1).to_string());
    let col = d.pos.map(|p| p.column.max(1).to_string());
    let mut props: Vec<(&str, &str)> = Vec::new();
    if let Some(file) = &d.file {
        props.push(("file", file));
        if let (Some(line), Some(col)) = (&line, &col) {
            props.push(("line", line));
            props.push(("col", col));
        }
    }
    props.push(("title", "blogaudit input"));
    Some(cmd(name, &props, &message))
}

/// `::name k=v,k=v::message`, escaped.
#[must_use]
pub fn cmd(name: &str, properties: &[(&str, &str)], message: &str) -> String {
    let mut out = format!("::{name}");
    for (i, (k, v)) in properties.iter().enumerate() {
        out.push(if i == 0 { ' ' } else { ',' });
        let _ = write!(out, "{k}={}", escape_property(&visible(v, false)));
    }
    let _ = write!(out, "::{}", escape_data(&visible(message, true)));
    out
}

/// `escapeData` of `command.ts`.
#[must_use]
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `escapeProperty` of `command.ts`.
#[must_use]
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_toolkit() {
        let message = "100% bad:\r\nkey: a, b";
        assert_eq!(escape_data(message), "100%25 bad:%0D%0Akey: a, b");
        assert_eq!(escape_property(message), "100%25 bad%3A%0D%0Akey%3A a%2C b");
        assert_eq!(
            cmd(
                "warning",
                &[("file", "a,b:c%.yaml"), ("line", "3"), ("title", "BA1 x")],
                message
            ),
            "::warning file=a%2Cb%3Ac%25.yaml,line=3,title=BA1 x::100%25 bad:%0D%0Akey: a, b"
        );
        assert_eq!(cmd("error", &[], "m"), "::error::m");
    }
}
