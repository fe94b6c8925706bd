//! One finding per place: an object that several kustomize roots render from the same source
//! gives one finding per distinct (rule, source location, message, suppression), naming every
//! root that produces it.
//!
//! Runs after the engine and suppressions: the engine checks each rendered object (an overlay
//! may change the outcome), and this step folds the identical results back together.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::fingerprint;
use crate::model::{Finding, Location};

/// Merges the findings of rendered objects that point at the same place with the same
/// message; the merged finding lists the roots of all of them. Findings of plain files pass
/// through unchanged.
pub fn rendered(findings: &mut Vec<Finding>) {
    if findings.iter().all(|f| f.roots.is_empty()) {
        return;
    }
    let mut first: HashMap<Key, usize> = HashMap::new();
    let mut kept: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings.drain(..) {
        if f.roots.is_empty() {
            kept.push(f);
            continue;
        }
        let key = key(&f);
        match first.get(&key) {
            Some(&i) => {
                let into = &mut kept[i];
                let mut roots = into.roots.to_vec();
                for r in f.roots.iter() {
                    if !roots.contains(r) {
                        roots.push(r.clone());
                    }
                }
                into.roots = roots.into();
            }
            None => {
                first.insert(key, kept.len());
                kept.push(f);
            }
        }
    }
    for f in kept.iter_mut().filter(|f| !f.roots.is_empty()) {
        // Still shared with the other findings of its object when already in order.
        if !f.roots.is_sorted() {
            let mut roots = f.roots.to_vec();
            roots.sort();
            f.roots = roots.into();
        }
        // The engine numbered repeats of one identity; number them again after the merge.
        f.fingerprint = f.fingerprint.first();
    }
    fingerprint::disambiguate(&mut kept);
    *findings = kept;
}

#[derive(Hash, PartialEq, Eq)]
struct Key {
    rule: Arc<str>,
    place: Option<(Arc<str>, u32, u32, u32, u32)>,
    message: String,
    suppressed: bool,
}

fn key(f: &Finding) -> Key {
    let place = match &f.location {
        Location::File { path, span } => Some((
            path.clone(),
            span.start.line,
            span.start.column,
            span.end.line,
            span.end.column,
        )),
        Location::Object { .. } => None,
    };
    Key {
        rule: f.rule_id.clone(),
        place,
        message: normalised(f),
        suppressed: f.suppression.is_some(),
    }
}

/// The message with the rendered object's own name and namespace left out: overlays name the
/// same object differently (`prod/prod-web`, `staging/web`), and that alone is no new outcome.
fn normalised(f: &Finding) -> String {
    let r = &f.resource;
    let mut m = f.message.to_string();
    if r.name.is_empty() {
        return m;
    }
    if !r.namespace.is_empty() {
        m = m.replace(&format!("{}/{}", r.namespace, r.name), "\u{0}");
        m = m.replace(&format!("\"{}\"", r.namespace), "\u{1}");
        // Other objects of the same namespace: `ServiceAccount b/default`.
        m = replace_word(&m, &format!("{}/", r.namespace), "\u{1}/");
    }
    m.replace(&format!("{} {}", r.kind, r.name), "\u{0}")
}

/// Replaces `from` where it starts a word (not inside a longer name such as `data/`).
fn replace_word(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(from) {
        let starts_word = rest[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || "-_.".contains(c)));
        out.push_str(&rest[..i]);
        out.push_str(if starts_word { to } else { from });
        rest = &rest[i + from.len()..];
    }
    out.push_str(rest);
    out
}
