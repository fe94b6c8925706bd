//! Human output: miette diagnostics with the source snippet, then a summary.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, MietteError,
    MietteSpanContents, Severity, SourceCode, SourceSpan, SpanContents,
};

use super::{visible, Report};
use crate::model::{Diagnostic, Level};
use crate::model::{Finding, SourceFile};
use crate::syntax::position::LineIndex;

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
    // The file of the last snippet: diagnostics and findings come file by file.
    let mut last: Option<Snippets<'_>> = None;
    for d in r.diagnostics {
        // Notes are for --verbose, except those that say findings were left out.
        if d.level == Level::Note && !r.verbose && !matches!(d.code, "baseline" | "scope") {
            continue;
        }
        render_diagnostic(&handler, r, d, &mut last, &mut buf);
        out.write_all(buf.as_bytes())?;
        buf.clear();
    }
    for f in r.findings {
        if f.suppression.is_some() && !r.verbose {
            continue;
        }
        render_finding(&handler, r, f, &mut last, &mut buf);
        out.write_all(buf.as_bytes())?;
        buf.clear();
    }
    summary(r, &mut buf);
    out.write_all(buf.as_bytes())
}

fn render_finding<'a>(
    h: &GraphicalReportHandler,
    r: &Report<'a>,
    f: &Finding,
    last: &mut Option<Snippets<'a>>,
    out: &mut String,
) {
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
            let file = Snippets::of(last, file);
            let text = &file.file.text;
            let start = file.offset(span.start.line, span.start.column);
            let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
            let label = crate::model::pointer(&f.path);
            diag = diag.with_label(LabeledSpan::new(Some(label), start, line_end - start));
            let shown = WithSource {
                source: file.excerpt(start, line_end),
                diag,
            };
            let _ = h.render_report(out, &shown);
        }
        _ => {
            diag.message = format!("{} ({})", diag.message, visible(&f.place(), false));
            let _ = h.render_report(out, &diag);
        }
    }
    out.push('\n');
}

fn render_diagnostic<'a>(
    h: &GraphicalReportHandler,
    r: &Report<'a>,
    d: &Diagnostic,
    last: &mut Option<Snippets<'a>>,
    out: &mut String,
) {
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
            let file = Snippets::of(last, file);
            let start = file.offset(pos.line, pos.column);
            diag = diag.with_label(LabeledSpan::new(
                Some(format!("{}:{}:{}", file.name, pos.line, pos.column)),
                start,
                0,
            ));
            let shown = WithSource {
                source: file.excerpt(start, start),
                diag,
            };
            let _ = h.render_report(out, &shown);
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

/// A source file made ready for many snippets: positions are found through line indexes, and
/// miette is given only the lines around each label. Given the whole file, miette scans it
/// from its start for each snippet, and the file was copied for each one: on a file of 10,000
/// objects the human report took minutes.
struct Snippets<'a> {
    file: &'a SourceFile,
    /// The file's display name, made visible.
    name: String,
    lines: LineIndex,
    /// The text as shown (control characters made visible: one character each, line breaks
    /// kept), and its lines.
    shown: Cow<'a, str>,
    shown_lines: LineIndex,
}

/// Lines shown around a label beyond the two lines of context asked for (a margin: miette
/// must find in the excerpt every line it would find in the whole text).
const EXCERPT_MARGIN: u32 = 4;

impl<'a> Snippets<'a> {
    /// The snippets of `file`: the last ones when they are of the same file.
    fn of<'s>(last: &'s mut Option<Self>, file: &'a SourceFile) -> &'s Self {
        if !last.as_ref().is_some_and(|s| std::ptr::eq(s.file, file)) {
            let shown = visible(&file.text, true);
            *last = Some(Self {
                file,
                name: visible(&file.path, false).into_owned(),
                lines: LineIndex::new(&file.text),
                shown_lines: LineIndex::new(&shown),
                shown,
            });
        }
        last.as_ref().unwrap_or_else(|| unreachable!("set above"))
    }

    /// The byte offset of a position of the file.
    fn offset(&self, line: u32, column: u32) -> usize {
        self.lines.offset(&self.file.text, line, column)
    }

    /// The lines of the shown text around the bytes `start..end`.
    fn excerpt(&self, start: usize, end: usize) -> Excerpt<'_> {
        let shown: &str = &self.shown;
        let first = self
            .shown_lines
            .pos(shown, start)
            .line
            .saturating_sub(2 + EXCERPT_MARGIN)
            .max(1);
        let last = self.shown_lines.pos(shown, end).line + 2 + EXCERPT_MARGIN;
        let from = self
            .shown_lines
            .line(shown, first as usize)
            .map_or(0, |(s, _)| s);
        let to = self
            .shown_lines
            .line(shown, last as usize + 1)
            .map_or(shown.len(), |(s, _)| s);
        Excerpt {
            name: &self.name,
            text: &shown[from..to],
            base: from,
            base_line: first as usize - 1,
        }
    }
}

/// Some whole lines of a text, from byte `base` (after `base_line` line breaks): a
/// [`SourceCode`] that answers as the whole text would for spans inside it.
struct Excerpt<'a> {
    name: &'a str,
    text: &'a str,
    base: usize,
    base_line: usize,
}

impl SourceCode for Excerpt<'_> {
    fn read_span<'s>(
        &'s self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'s> + 's>, MietteError> {
        let offset = span
            .offset()
            .checked_sub(self.base)
            .ok_or(MietteError::OutOfBounds)?;
        let inner = self.text.read_span(
            &SourceSpan::new(offset.into(), span.len()),
            context_lines_before,
            context_lines_after,
        )?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            inner.data(),
            SourceSpan::new(
                (inner.span().offset() + self.base).into(),
                inner.span().len(),
            ),
            inner.line() + self.base_line,
            inner.column(),
            inner.line_count() + self.base_line,
        )))
    }
}

/// A diagnostic with its source excerpt, as `miette::Report::with_source_code` would make it
/// but borrowing the excerpt.
struct WithSource<'a> {
    diag: MietteDiagnostic,
    source: Excerpt<'a>,
}

impl std::fmt::Debug for WithSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.diag, f)
    }
}

impl std::fmt::Display for WithSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.diag, f)
    }
}

impl std::error::Error for WithSource<'_> {}

impl miette::Diagnostic for WithSource<'_> {
    fn code<'s>(&'s self) -> Option<Box<dyn std::fmt::Display + 's>> {
        self.diag.code()
    }

    fn severity(&self) -> Option<Severity> {
        self.diag.severity()
    }

    fn help<'s>(&'s self) -> Option<Box<dyn std::fmt::Display + 's>> {
        self.diag.help()
    }

    fn url<'s>(&'s self) -> Option<Box<dyn std::fmt::Display + 's>> {
        self.diag.url()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.diag.labels()
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }
}
