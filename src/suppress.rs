//! Suppressions: the `blogaudit.io/ignore` annotation and `[[ignore]]` config entries.
//! A reason is always required, and an expired suppression no longer hides its finding.

use std::collections::HashMap;

use serde_json::Value;

use crate::config::Config;
use crate::model::date::parse_date;
use crate::model::{
    Diagnostic, Finding, Inventory, PathSeg, Pos, Resource, ResourceRef, Suppression,
};

/// The annotation that suppresses findings on one resource.
pub const ANNOTATION: &str = "blogaudit.io/ignore";

/// A parsed `ID: reason until=YYYY-MM-DD` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub rule: String,
    pub reason: String,
    pub until: Option<String>,
}

/// Why an entry of a suppression is not used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("`{0}` is not `RULE: reason`")]
    NotRuleAndReason(String),
    #[error("`until={0}` is not a YYYY-MM-DD date")]
    BadDate(String),
    #[error("suppression of {0} has no reason")]
    NoReason(String),
}

/// Parses an annotation value: entries separated by newlines or `;`.
pub fn parse_entries(value: &str) -> Vec<Result<Entry, EntryError>> {
    value
        .split(['\n', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (rule, rest) = s
                .split_once(':')
                .ok_or_else(|| EntryError::NotRuleAndReason(s.to_string()))?;
            let mut until = None;
            let mut words = Vec::new();
            for w in rest.split_whitespace() {
                if let Some(d) = w.strip_prefix("until=") {
                    if parse_date(d).is_none() {
                        return Err(EntryError::BadDate(d.to_string()));
                    }
                    until = Some(d.to_string());
                } else {
                    words.push(w);
                }
            }
            if words.is_empty() {
                return Err(EntryError::NoReason(rule.trim().to_string()));
            }
            Ok(Entry {
                rule: rule.trim().to_ascii_uppercase(),
                reason: words.join(" "),
                until,
            })
        })
        .collect()
}

fn annotation_of(body: &Value) -> Option<&str> {
    body.get("metadata")?
        .get("annotations")?
        .get(ANNOTATION)
        .and_then(Value::as_str)
}

/// Where suppression entries are written on a resource.
#[derive(Clone)]
struct Place {
    /// `annotation` or `comment`.
    source: &'static str,
    file: Option<String>,
    pos: Option<Pos>,
}

/// A suppression entry declared on a resource, and where.
struct Declared {
    entry: Entry,
    place: Place,
}

/// The entries of a resource's annotation and of its inline ignore comments; malformed ones
/// become warnings at the place they are written.
fn declared_on(r: &Resource, diags: &mut Vec<Diagnostic>) -> Vec<Declared> {
    let mut declared = Vec::new();
    let own_file = r.file().map(|f| f.path.clone());
    // A stashed resource is read again only when its text names the annotation.
    let hydrated = r.hydrated_if(ANNOTATION);
    let annotated = hydrated
        .as_deref()
        .and_then(|h| Some((h, annotation_of(&h.body)?)));
    if let Some((r, text)) = annotated {
        let pos = r
            .locate(&[
                PathSeg::Key("metadata".into()),
                PathSeg::Key("annotations".into()),
                PathSeg::Key(ANNOTATION.into()),
            ])
            .map(|(span, _)| span.start);
        let place = Place {
            source: "annotation",
            file: own_file,
            pos,
        };
        let help = format!("write `{ANNOTATION}: \"BA110: <reason> until=YYYY-MM-DD\"`");
        place.parse(text, r, &help, &mut declared, diags);
    }
    for ignore in &r.ignores {
        let place = Place {
            source: "comment",
            file: Some(ignore.file.clone()),
            pos: Some(ignore.span.start),
        };
        let help = "write `# blogaudit:ignore BA210 <reason> until=YYYY-MM-DD`";
        place.parse(&ignore.entry, r, help, &mut declared, diags);
    }
    declared
}

impl Place {
    /// Parses `text` written at this place into entries; malformed ones become warnings.
    fn parse(
        &self,
        text: &str,
        r: &Resource,
        help: &str,
        out: &mut Vec<Declared>,
        diags: &mut Vec<Diagnostic>,
    ) {
        for e in parse_entries(text) {
            match e {
                Ok(entry) => out.push(Declared {
                    entry,
                    place: self.clone(),
                }),
                Err(msg) => {
                    let mut d = Diagnostic::warning(
                        "suppression",
                        format!("{}: {msg}", ResourceRef::of(r)),
                    )
                    .help(help);
                    if let Some(f) = &self.file {
                        d = d.in_file(f);
                    }
                    if let Some(p) = self.pos {
                        d = d.at(p);
                    }
                    diags.push(d);
                }
            }
        }
    }
}

/// Marks suppressed findings. Invalid or expired suppressions become diagnostics.
pub fn apply(
    findings: &mut [Finding],
    inventory: &Inventory,
    config: &Config,
    today: i64,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    // The entries declared on each resource (by identity and file), with where each is.
    let mut by_resource: HashMap<(ResourceRef, Option<String>), Vec<Declared>> = HashMap::new();
    for r in &inventory.resources {
        let declared = declared_on(r, &mut diags);
        if !declared.is_empty() {
            by_resource.insert(
                (ResourceRef::of(r), r.file().map(|f| f.path.clone())),
                declared,
            );
        }
    }
    for f in findings.iter_mut() {
        let key = (
            ResourceRef::clone(&f.resource),
            f.file().map(str::to_string),
        );
        let from_resource = by_resource.get(&key).and_then(|declared| {
            declared
                .iter()
                .find(|d| d.entry.rule == *f.rule_id)
                .map(|d| {
                    (
                        d.place.source,
                        d.entry.reason.clone(),
                        d.entry.until.clone(),
                        (d.place.file.clone(), d.place.pos),
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
        let Some((source, reason, until, (file, pos))) = from_resource.or_else(from_config) else {
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
        f.suppression = Some(Box::new(Suppression {
            source,
            reason,
            until,
        }));
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
}
