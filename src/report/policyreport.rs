//! `--format policyreport`: the Kubernetes Policy WG's `wgpolicyk8s.io/v1alpha2` reports, the
//! shape Kyverno, Trivy Operator and Kubescape write and dashboards (Policy Reporter) read.
//!
//! One `PolicyReport` per namespace and one `ClusterPolicyReport` for cluster-scoped and AWS
//! objects, as a `v1` `List` that `kubectl apply -f` takes. Each result is one rule on one
//! resource: `fail` for an active finding, `skip` for a suppressed one, `pass` for a resource
//! of a kind the rule checks with no finding. `summary` counts them.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::Report;
use crate::model::{Finding, ResourceRef};

/// The label every report carries, so a later run can find (and replace) its own reports.
pub const MANAGED_BY: &str = "blogaudit";

/// Counters of one report.
#[derive(Default)]
struct Summary {
    pass: u64,
    fail: u64,
    skip: u64,
}

/// Writes the report as a `v1` `List` of the reports, for `kubectl apply -f`. (The reports
/// are built whole first: `live --apply-reports` sends each as one object.)
///
/// # Errors
/// The error of `out`.
pub fn write(r: &Report<'_>, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": reports(r)});
    super::write_pretty(out, &list)
}

/// The reports themselves: one `PolicyReport` per namespace and one `ClusterPolicyReport`,
/// each labelled [`MANAGED_BY`], for `--format policyreport` and `live --apply-reports`.
#[must_use]
pub fn reports(r: &Report<'_>) -> Vec<Value> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let timestamp = json!({"seconds": now.as_secs(), "nanos": 0});
    // namespace ("" = cluster) → results and summary
    let mut reports: BTreeMap<String, (Vec<Value>, Summary)> = BTreeMap::new();
    let mut by_resource: BTreeMap<(&str, &str, &str, &str), Vec<&Finding>> = BTreeMap::new();
    for f in r.findings {
        by_resource
            .entry(key(&f.rule_id, &f.resource))
            .or_default()
            .push(f);
    }
    for f in r.findings {
        let (results, summary) = reports.entry(f.resource.namespace.clone()).or_default();
        let outcome = if f.suppression.is_some() {
            summary.skip += 1;
            "skip"
        } else {
            summary.fail += 1;
            "fail"
        };
        let mut properties = serde_json::Map::new();
        properties.insert("path".into(), json!(crate::model::pointer(&f.path)));
        properties.insert("fingerprint".into(), json!(f.fingerprint));
        properties.insert("location".into(), json!(f.place()));
        if let Some(s) = &f.suppression {
            properties.insert("suppressed".into(), json!(s.reason));
        }
        results.push(json!({
            "policy": f.rule_id,
            "rule": f.rule_name,
            "category": r.rules.get(&f.rule_id).map(|m| m.meta.category.clone()).unwrap_or_default(),
            "result": outcome,
            "severity": f.severity.as_str(),
            "scored": true,
            "source": "blogaudit",
            "timestamp": timestamp,
            "message": f.message,
            "resources": [object_ref(&f.resource)],
            "properties": properties,
        }));
    }
    // Passes: each resource of a kind a rule checks, with no finding of that rule.
    for c in r.checked {
        for rule in &r.rules.rules {
            let m = &rule.meta;
            if !m.kinds.iter().any(|k| k == &c.resource.kind)
                || by_resource.contains_key(&key(&m.id, &c.resource))
            {
                continue;
            }
            let (results, summary) = reports.entry(c.resource.namespace.clone()).or_default();
            summary.pass += 1;
            results.push(json!({
                "policy": m.id,
                "rule": m.name,
                "category": m.category,
                "result": "pass",
                "severity": m.severity.as_str(),
                "scored": true,
                "source": "blogaudit",
                "timestamp": timestamp,
                "message": m.title,
                "resources": [object_ref(&c.resource)],
            }));
        }
    }
    let labels = json!({
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "blogaudit.io/category": label_value(r.category),
    });
    reports
        .into_iter()
        .map(|(ns, (results, s))| {
            let summary =
                json!({"pass": s.pass, "fail": s.fail, "warn": 0, "error": 0, "skip": s.skip});
            if ns.is_empty() {
                json!({
                    "apiVersion": "wgpolicyk8s.io/v1alpha2",
                    "kind": "ClusterPolicyReport",
                    "metadata": {"name": "blogaudit-cluster", "labels": labels},
                    "summary": summary,
                    "results": results,
                })
            } else {
                json!({
                    "apiVersion": "wgpolicyk8s.io/v1alpha2",
                    "kind": "PolicyReport",
                    "metadata": {"name": "blogaudit", "namespace": ns, "labels": labels},
                    "summary": summary,
                    "results": results,
                })
            }
        })
        .collect()
}

/// (rule, kind, namespace, name): one result's identity.
fn key<'a>(rule: &'a str, r: &'a ResourceRef) -> (&'a str, &'a str, &'a str, &'a str) {
    (rule, &r.kind, &r.namespace, &r.name)
}

/// The `ObjectReference` of a result's resource. AWS objects are named by their canonical kind.
fn object_ref(r: &ResourceRef) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("kind".into(), json!(r.kind));
    o.insert("name".into(), json!(r.name));
    if !r.namespace.is_empty() {
        o.insert("namespace".into(), json!(r.namespace));
    }
    Value::Object(o)
}

/// A category as a label value (`blogaudit.io/category`): at most 63 characters of `[A-Za-z0-9._-]`, alphanumeric at
/// both ends.
pub fn label_value(s: &str) -> String {
    let v: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '.'
            }
        })
        .take(63)
        .collect();
    v.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}
