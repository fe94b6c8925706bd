//! `--format gitlab`: a GitLab Code Quality report (`artifacts:reports:codequality`), one
//! issue per unsuppressed finding.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::{write_pretty, Lazy, Report};
use crate::model::Severity;
use crate::model::{Finding, Location};

/// Writes the Code Quality report, issue by issue.
///
/// # Errors
/// The error of `out`.
pub fn write(r: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let issues = Lazy(|| {
        r.findings
            .iter()
            .filter(|f| f.suppression.is_none())
            .map(issue)
            .chain(r.diagnostics.iter().filter_map(warning))
    });
    write_pretty(out, &issues)
}

/// An input knowingly not checked (a Helm chart without helm), as an `info` issue so that
/// the merge request shows it.
fn warning(d: &crate::model::Diagnostic) -> Option<Value> {
    if d.level != crate::model::Level::Warning {
        return None;
    }
    let path = d.file.as_deref()?;
    let line = d.pos.map_or(1, |p| p.line.max(1));
    // Stable per problem and file, like a finding's.
    let place = Location::File {
        path: path.into(),
        span: crate::model::Span::default(),
    };
    let subject = crate::model::ResourceRef {
        kind: "diagnostic".into(),
        namespace: String::new(),
        name: String::new(),
    };
    Some(json!({
        "type": "issue",
        "engine_name": "blogaudit",
        "check_name": d.code,
        "description": d.one_line(),
        "categories": ["Compatibility"],
        "severity": "info",
        "fingerprint": crate::model::fingerprint::of(d.code, &place, &subject, &[]),
        "location": {
            "path": path,
            "lines": { "begin": line, "end": line },
        },
    }))
}

/// Code Quality severity (`blocker` is not used).
#[must_use]
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "major",
        Severity::Medium => "minor",
        Severity::Low => "info",
    }
}

fn issue(f: &Finding) -> Value {
    let (path, begin, end) = match &f.location {
        Location::File { path, span } => {
            let begin = span.start.line.max(1);
            (&**path, begin, span.end.line.max(begin))
        }
        Location::Object { reference } => (&**reference, 1, 1),
    };
    json!({
        "type": "issue",
        "engine_name": "blogaudit",
        "check_name": f.rule_id,
        "description": f.text(),
        "categories": ["Security"],
        "severity": severity(f.severity),
        "fingerprint": f.fingerprint,
        "location": {
            "path": path,
            "lines": { "begin": begin, "end": end },
        },
    })
}
