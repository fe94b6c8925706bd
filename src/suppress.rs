//! Suppressions: the `blogaudit.io/ignore` annotation and `[[ignore]]` config entries.
//! A reason is always required, and an expired suppression no longer hides its finding.

use std::collections::HashMap;

use serde_json::Value;

use crate::config::Config;
use crate::finding::{Finding, Suppression};
use crate::model::{Diagnostic, Inventory, Resource};

/// The annotation that suppresses findings on one resource.
pub const ANNOTATION: &str = "blogaudit.io/ignore";

/// A parsed `ID: reason until=YYYY-MM-DD` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub rule: String,
    pub reason: String,
    pub until: Option<String>,
}

/// Parses an annotation value: entries separated by newlines or `;`.
pub fn parse_entries(value: &str) -> Vec<Result<Entry, String>> {
    value
        .split(['\n', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (rule, rest) = s
                .split_once(':')
                .ok_or_else(|| format!("`{s}` is not `RULE: reason`"))?;
            let mut until = None;
            let mut words = Vec::new();
            for w in rest.split_whitespace() {
                if let Some(d) = w.strip_prefix("until=") {
                    if parse_date(d).is_none() {
                        return Err(format!("`until={d}` is not a YYYY-MM-DD date"));
                    }
                    until = Some(d.to_string());
                } else {
                    words.push(w);
                }
            }
            if words.is_empty() {
                return Err(format!("suppression of {} has no reason", rule.trim()));
            }
            Ok(Entry {
                rule: rule.trim().to_ascii_uppercase(),
                reason: words.join(" "),
                until,
            })
        })
        .collect()
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
#[must_use]
pub fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Today, in days since 1970-01-01 (UTC).
#[must_use]
pub fn today() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs / 86_400).unwrap_or(0)
}

fn annotation_of(r: &Resource) -> Option<&str> {
    r.body
        .get("metadata")?
        .get("annotations")?
        .get(ANNOTATION)
        .and_then(Value::as_str)
}

/// Marks suppressed findings. Invalid or expired suppressions become diagnostics.
pub fn apply(
    findings: &mut [Finding],
    inventory: &Inventory,
    config: &Config,
    today: i64,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    // Entries by resource (kind, namespace, name, file), with where the annotation is (file
    // and position) for diagnostics.
    type Place = (Option<String>, Option<crate::model::Pos>);
    type Key = (String, String, String, Option<String>);
    let mut by_resource: HashMap<Key, (Vec<Entry>, Place)> = HashMap::new();
    for r in &inventory.resources {
        let Some(text) = annotation_of(r) else {
            continue;
        };
        let file = r.file().map(|f| f.path.clone());
        let pos = r
            .locate(&[
                crate::model::PathSeg::Key("metadata".into()),
                crate::model::PathSeg::Key("annotations".into()),
                crate::model::PathSeg::Key(ANNOTATION.into()),
            ])
            .map(|(span, _)| span.start);
        let mut entries = Vec::new();
        for e in parse_entries(text) {
            match e {
                Ok(e) => entries.push(e),
                Err(msg) => {
                    let mut d =
                        Diagnostic::warning("suppression", format!("{}: {msg}", r.display_name()))
                            .help(format!(
                                "write `{ANNOTATION}: \"BA110: <reason> until=YYYY-MM-DD\"`"
                            ));
                    if let Some(f) = &file {
                        d = d.in_file(f);
                    }
                    if let Some(p) = pos {
                        d = d.at(p);
                    }
                    diags.push(d);
                }
            }
        }
        by_resource.insert(
            (
                r.kind.clone(),
                r.namespace.clone(),
                r.name.clone(),
                file.clone(),
            ),
            (entries, (file, pos)),
        );
    }
    for f in findings.iter_mut() {
        let key = (
            f.resource.kind.clone(),
            f.resource.namespace.clone(),
            f.resource.name.clone(),
            f.file().map(str::to_string),
        );
        let from_annotation = by_resource.get(&key).and_then(|(entries, place)| {
            entries.iter().find(|e| e.rule == f.rule_id).map(|e| {
                (
                    "annotation",
                    e.reason.clone(),
                    e.until.clone(),
                    place.clone(),
                )
            })
        });
        let from_config = || {
            config
                .ignore
                .iter()
                .find(|ig| {
                    ig.rule.eq_ignore_ascii_case(&f.rule_id)
                        && ig.kind.as_ref().is_none_or(|k| *k == f.resource.kind)
                        && ig
                            .namespace
                            .as_ref()
                            .is_none_or(|n| *n == f.resource.namespace)
                        && ig.name.as_ref().is_none_or(|n| *n == f.resource.name)
                        && ig.path.as_ref().is_none_or(|p| {
                            f.file().is_some_and(|file| file.starts_with(p.as_str()))
                        })
                })
                .map(|ig| {
                    let file = config.path.as_ref().map(|p| p.display().to_string());
                    ("config", ig.reason.clone(), ig.until.clone(), (file, None))
                })
        };
        let Some((source, reason, until, (file, pos))) = from_annotation.or_else(from_config)
        else {
            continue;
        };
        let expired = until
            .as_deref()
            .and_then(parse_date)
            .is_some_and(|d| d < today);
        if expired {
            let mut d = Diagnostic::warning(
                "suppression",
                format!(
                    "suppression of {} on {} expired on {}; the finding is reported again",
                    f.rule_id,
                    f.place(),
                    until.unwrap_or_default()
                ),
            )
            .help("fix the finding, or renew the suppression with a new date and reason");
            if let Some(file) = &file {
                d = d.in_file(file);
            }
            if let Some(p) = pos {
                d = d.at(p);
            }
            diags.push(d);
            continue;
        }
        f.suppression = Some(Suppression {
            source,
            reason,
            until,
        });
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_need_a_reason() {
        let e = parse_entries("BA110: the entry point until=2030-01-01; BA121:");
        assert_eq!(
            e[0],
            Ok(Entry {
                rule: "BA110".into(),
                reason: "the entry point".into(),
                until: Some("2030-01-01".into())
            })
        );
        assert!(e[1].is_err());
    }

    #[test]
    fn dates_count_days() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01"), Some(11_017));
        assert_eq!(parse_date("2026-13-01"), None);
    }
}
