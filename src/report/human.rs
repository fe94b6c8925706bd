//! Human output: miette diagnostics with the source snippet, then a summary.

use std::fmt::Write as _;
use std::io::{self, Write};

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Severity,
};

use super::{visible, Report};
use crate::model::Finding;
use crate::model::{Diagnostic, Level};
use crate::syntax::position::offset_of;

/// Writes the diagnostics and findings one at a time, then the summary.
///
/// # Errors
/// The error of `out`.
pub fn write(r: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let theme = if r.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_context_lines(2)
        .with_width(100);
    // miette renders into a `fmt::Write`: one item at a time goes through this buffer.
    let mut buf = String::new();
    for d in r.diagnostics {
        // Notes are for --verbose, except those that say findings were left out.
        if d.level == Level::Note && !r.verbose && !matches!(d.code, "baseline" | "scope") {
            continue;
        }
        render_diagnostic(&handler, r, d, &mut buf);
        out.write_all(buf.as_bytes())?;
        buf.clear();
    }
    for f in r.findings {
        if f.suppression.is_some() && !r.verbose {
            continue;
        }
        render_finding(&handler, r, f, &mut buf);
        out.write_all(buf.as_bytes())?;
        buf.clear();
    }
    summary(r, &mut buf);
    out.write_all(buf.as_bytes())
}

fn render_finding(h: &GraphicalReportHandler, r: &Report<'_>, f: &Finding, out: &mut String) {
    let severity = match f.severity {
        crate::model::Severity::Critical | crate::model::Severity::High => Severity::Error,
        crate::model::Severity::Medium => Severity::Warning,
        crate::model::Severity::Low => Severity::Advice,
    };
    let mut diag = MietteDiagnostic::new(visible(&f.message, false))
        .with_code(format!(
            "{} {} ({})",
            f.rule_id,
            f.rule_name,
            f.severity.as_str()
        ))
        .with_severity(severity);
    if let Some(rule) = r.rules.get(&f.rule_id) {
        diag = diag.with_help(rule.meta.remediation.clone());
    }
    if let Some(s) = &f.suppression {
        diag = diag.with_help(visible(
            &format!("suppressed ({}): {}", s.source, s.reason),
            false,
        ));
    }
    let file = f.file().and_then(|p| r.files.get(p));
    match (file, f.span()) {
        (Some(file), Some(span)) => {
            let start = offset_of(&file.text, span.start.line, span.start.column);
            let line_end = file.text[start..]
                .find('\n')
                .map_or(file.text.len(), |i| start + i);
            let label = crate::model::pointer(&f.path);
            diag = diag.with_label(LabeledSpan::new(Some(label), start, line_end - start));
            let report = miette::Report::new(diag).with_source_code(NamedSource::new(
                visible(&file.path, false),
                visible(&file.text, true).into_owned(),
            ));
            let _ = h.render_report(out, report.as_ref());
        }
        _ => {
            diag.message = format!("{} ({})", diag.message, visible(&f.place(), false));
            let _ = h.render_report(out, &diag);
        }
    }
    out.push('\n');
}

fn render_diagnostic(h: &GraphicalReportHandler, r: &Report<'_>, d: &Diagnostic, out: &mut String) {
    let severity = match d.level {
        Level::Error => Severity::Error,
        Level::Warning => Severity::Warning,
        Level::Note => Severity::Advice,
    };
    let mut diag = MietteDiagnostic::new(visible(&d.message, true))
        .with_code(d.code)
        .with_severity(severity);
    if let Some(help) = &d.help {
        diag = diag.with_help(help.clone());
    }
    let file = d.file.as_ref().and_then(|p| r.files.get(p));
    match (file, d.pos) {
        (Some(file), Some(pos)) => {
            let start = offset_of(&file.text, pos.line, pos.column);
            diag = diag.with_label(LabeledSpan::new(
                Some(format!(
                    "{}:{}:{}",
                    visible(&file.path, false),
                    pos.line,
                    pos.column
                )),
                start,
                0,
            ));
            let report = miette::Report::new(diag).with_source_code(NamedSource::new(
                visible(&file.path, false),
                visible(&file.text, true).into_owned(),
            ));
            let _ = h.render_report(out, report.as_ref());
        }
        _ => {
            if let Some(f) = &d.file {
                let at = d
                    .pos
                    .map(|p| format!(":{}:{}", p.line, p.column))
                    .unwrap_or_default();
                diag.message = format!("{}{at}: {}", visible(f, false), diag.message);
            }
            let _ = h.render_report(out, &diag);
        }
    }
    out.push('\n');
}

fn summary(r: &Report<'_>, out: &mut String) {
    let active: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.suppression.is_none())
        .collect();
    let suppressed = r.findings.len() - active.len();
    let errors = r
        .diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .count();
    let mut counts = Vec::new();
    for sev in [
        crate::model::Severity::Critical,
        crate::model::Severity::High,
        crate::model::Severity::Medium,
        crate::model::Severity::Low,
    ] {
        let n = active.iter().filter(|f| f.severity == sev).count();
        if n > 0 {
            counts.push(format!("{n} {}", sev.as_str()));
        }
    }
    let files: std::collections::BTreeSet<_> = active.iter().filter_map(|f| f.file()).collect();
    if active.is_empty() {
        out.push_str("No findings.");
    } else {
        let _ = write!(
            out,
            "{} finding{} ({}) in {} file{}.",
            active.len(),
            if active.len() == 1 { "" } else { "s" },
            counts.join(", "),
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        );
    }
    if suppressed > 0 {
        let _ = write!(out, " {suppressed} suppressed.");
    }
    if errors > 0 {
        let _ = write!(
            out,
            " {errors} input error{}: the results are incomplete.",
            if errors == 1 { "" } else { "s" }
        );
    }
    out.push('\n');
}
