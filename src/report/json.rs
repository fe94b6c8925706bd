//! `--format json`: findings and diagnostics as plain JSON, for scripts.
//!
//! Written finding by finding as it is serialized: the report is never held whole.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

use super::{write_pretty, Lazy, Report};
use crate::model::fingerprint::Fingerprint;
use crate::model::{Diagnostic, Finding, Level, Location, ResourceRef, Severity, Suppression};

/// The whole report; its fields in the order they are written.
#[derive(Serialize)]
struct Document<'a, T> {
    version: &'static str,
    summary: Summary,
    findings: T,
    diagnostics: &'a [Diagnostic],
}

#[derive(Serialize)]
struct Summary {
    findings: usize,
    suppressed: usize,
    errors: usize,
}

/// One finding as scripts read it.
#[derive(Serialize)]
struct Entry<'a> {
    rule_id: &'a str,
    rule_name: &'a str,
    severity: Severity,
    message: &'a str,
    file: Option<&'a str>,
    object: Option<&'a str>,
    start_line: Option<u32>,
    start_column: Option<u32>,
    end_line: Option<u32>,
    end_column: Option<u32>,
    path: String,
    resource: &'a ResourceRef,
    fingerprint: Fingerprint,
    fix: Option<FixEntry<'a>>,
    suppression: Option<&'a Suppression>,
    /// The kustomize roots that render this place (absent for plain files).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    roots: &'a [String],
}

#[derive(Serialize)]
struct FixEntry<'a> {
    path: String,
    value: &'a Value,
}

fn entry(f: &Finding) -> Entry<'_> {
    let span = f.span();
    Entry {
        rule_id: &f.rule_id,
        rule_name: &f.rule_name,
        severity: f.severity,
        message: &f.message,
        file: f.file(),
        object: match &f.location {
            Location::Object { reference } => Some(reference),
            Location::File { .. } => None,
        },
        start_line: span.map(|s| s.start.line),
        start_column: span.map(|s| s.start.column),
        end_line: span.map(|s| s.end.line),
        end_column: span.map(|s| s.end.column),
        path: crate::model::pointer(&f.path),
        resource: &f.resource,
        fingerprint: f.fingerprint,
        fix: f.fix.as_ref().map(|x| FixEntry {
            path: crate::model::pointer(&x.path),
            value: &x.value,
        }),
        suppression: f.suppression.as_deref(),
        roots: &f.roots,
    }
}

/// Writes the JSON report.
///
/// # Errors
/// The error of `out`.
pub fn write(r: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let active = r
        .findings
        .iter()
        .filter(|f| f.suppression.is_none())
        .count();
    let doc = Document {
        version: env!("CARGO_PKG_VERSION"),
        summary: Summary {
            findings: active,
            suppressed: r.findings.len() - active,
            errors: r
                .diagnostics
                .iter()
                .filter(|d| d.level == Level::Error)
                .count(),
        },
        findings: Lazy(|| r.findings.iter().map(entry)),
        diagnostics: r.diagnostics,
    };
    write_pretty(out, &doc)
}
