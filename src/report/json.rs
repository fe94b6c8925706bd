//! `--format json`: findings and diagnostics as plain JSON, for scripts.

use serde_json::json;

use super::Report;

#[must_use]
pub fn render(r: &Report<'_>) -> String {
    let active = r
        .findings
        .iter()
        .filter(|f| f.suppression.is_none())
        .count();
    let out = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "summary": {
            "findings": active,
            "suppressed": r.findings.len() - active,
            "errors": r.diagnostics.iter().filter(|d| d.level == crate::model::Level::Error).count(),
        },
        "findings": r.findings.iter().map(|f| {
            let span = f.span();
            let mut o = json!({
                "rule_id": f.rule_id,
                "rule_name": f.rule_name,
                "severity": f.severity,
                "message": f.message,
                "file": f.file(),
                "object": match &f.location { crate::model::Location::Object { reference } => Some(reference), _ => None },
                "start_line": span.map(|s| s.start.line),
                "start_column": span.map(|s| s.start.column),
                "end_line": span.map(|s| s.end.line),
                "end_column": span.map(|s| s.end.column),
                "path": crate::model::pointer(&f.path),
                "resource": f.resource,
                "fingerprint": f.fingerprint,
                "fix": f.fix.as_ref().map(|x| json!({"path": crate::model::pointer(&x.path), "value": x.value})),
                "suppression": f.suppression,
            });
            if !f.roots.is_empty() {
                // The kustomize roots that render this place (absent for plain files).
                o["roots"] = json!(f.roots);
            }
            o
        }).collect::<Vec<_>>(),
        "diagnostics": r.diagnostics,
    });
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_default();
    s.push('\n');
    s
}
