//! `--format policyreport`: the Kubernetes Policy WG's `wgpolicyk8s.io/v1alpha2` reports, the
//! shape Kyverno, Trivy Operator and Kubescape write and dashboards (Policy Reporter) read.
//!
//! One `PolicyReport` per namespace and one `ClusterPolicyReport` for cluster-scoped and AWS
//! objects, as a `v1` `List` that `kubectl apply -f` takes. Each result is one rule on one
//! resource: `fail` for an active finding, `skip` for a suppressed one, `pass` for a resource
//! of a kind the rule checks with no finding. `summary` counts them.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use serde::Serialize;
use serde_json::{json, Value};

use super::{write_pretty, Lazy, Report};
use crate::model::{Checked, Finding, ResourceRef};
use crate::rules::RuleMeta;

/// The label every report carries, so a later run can find (and replace) its own reports.
pub const MANAGED_BY: &str = "blogaudit";

/// Counters of one report.
#[derive(Default, Serialize)]
struct Summary {
    pass: u64,
    fail: u64,
    warn: u64,
    error: u64,
    skip: u64,
}

/// Writes the reports as a `v1` `List`, for `kubectl apply -f`, result by result.
///
/// # Errors
/// The error of `out`.
pub fn write(r: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let plan = Plan::new(r);
    let list = List {
        api_version: "v1",
        kind: "List",
        items: Lazy(|| plan.namespaces.keys().map(|ns| plan.report(ns))),
    };
    write_pretty(out, &list)
}

/// The reports themselves: one `PolicyReport` per namespace and one `ClusterPolicyReport`,
/// each labelled [`MANAGED_BY`], for `--format policyreport` and `live --apply-reports`.
#[must_use]
pub fn reports(r: &Report<'_>) -> Vec<Value> {
    let plan = Plan::new(r);
    plan.namespaces
        .keys()
        .filter_map(|ns| serde_json::to_value(plan.report(ns)).ok())
        .collect()
}

#[derive(Serialize)]
struct List<T> {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    items: T,
}

/// One report; its results are made as they are written.
#[derive(Serialize)]
struct PolicyReport<'p, T> {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    metadata: Value,
    summary: &'p Summary,
    results: T,
}

/// What goes in each namespace's report ("" = the cluster's): the findings (by index), then
/// the checked resources (by index) whose passes follow, and the counts.
#[derive(Default)]
struct Namespace {
    findings: Vec<usize>,
    checked: Vec<usize>,
    summary: Summary,
}

struct Plan<'r, 'a> {
    report: &'r Report<'a>,
    timestamp: Value,
    labels: Value,
    /// (rule, kind, namespace, name) of every finding: those are not passes.
    failed: BTreeSet<(&'a str, &'a str, &'a str, &'a str)>,
    namespaces: BTreeMap<&'a str, Namespace>,
}

impl<'r, 'a> Plan<'r, 'a> {
    fn new(r: &'r Report<'a>) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let failed = r
            .findings
            .iter()
            .map(|f| key(&f.rule_id, &f.resource))
            .collect();
        let mut plan = Self {
            report: r,
            timestamp: json!({"seconds": now.as_secs(), "nanos": 0}),
            labels: json!({
                "app.kubernetes.io/managed-by": MANAGED_BY,
                "blogaudit.io/category": label_value(r.category),
            }),
            failed,
            namespaces: BTreeMap::new(),
        };
        for (i, f) in r.findings.iter().enumerate() {
            let ns = plan.namespaces.entry(&f.resource.namespace).or_default();
            ns.findings.push(i);
            if f.suppression.is_some() {
                ns.summary.skip += 1;
            } else {
                ns.summary.fail += 1;
            }
        }
        for (i, c) in r.checked.iter().enumerate() {
            let passes = plan.passes(c).count() as u64;
            if passes > 0 {
                let ns = plan.namespaces.entry(&c.resource.namespace).or_default();
                ns.checked.push(i);
                ns.summary.pass += passes;
            }
        }
        plan
    }

    /// The rules a checked resource passes: each rule of its kind with no finding on it.
    fn passes<'s>(&'s self, c: &'a Checked) -> impl Iterator<Item = &'a RuleMeta> + 's {
        self.report
            .rules
            .rules
            .iter()
            .map(|rule| &rule.meta)
            .filter(move |m| {
                m.kinds.iter().any(|k| k == &c.resource.kind)
                    && !self.failed.contains(&key(&m.id, &c.resource))
            })
    }

    fn report<'s>(&'s self, ns: &'s str) -> PolicyReport<'s, impl Serialize + 's> {
        let n = &self.namespaces[ns];
        let (kind, metadata) = if ns.is_empty() {
            (
                "ClusterPolicyReport",
                json!({"name": "blogaudit-cluster", "labels": self.labels}),
            )
        } else {
            (
                "PolicyReport",
                json!({"name": "blogaudit", "namespace": ns, "labels": self.labels}),
            )
        };
        let r = self.report;
        PolicyReport {
            api_version: "wgpolicyk8s.io/v1alpha2",
            kind,
            metadata,
            summary: &n.summary,
            results: Lazy(move || {
                let failures = n.findings.iter().map(|&i| self.failure(&r.findings[i]));
                let passes = n.checked.iter().flat_map(move |&i| {
                    let c = &r.checked[i];
                    self.passes(c).map(move |m| self.pass(m, &c.resource))
                });
                failures.chain(passes)
            }),
        }
    }

    fn failure(&self, f: &Finding) -> Value {
        let r = self.report;
        let mut properties = serde_json::Map::new();
        properties.insert("path".into(), json!(crate::model::pointer(&f.path)));
        properties.insert("fingerprint".into(), json!(f.fingerprint));
        properties.insert("location".into(), json!(f.place()));
        if let Some(s) = &f.suppression {
            properties.insert("suppressed".into(), json!(s.reason));
        }
        json!({
            "policy": f.rule_id,
            "rule": f.rule_name,
            "category": r.rules.get(&f.rule_id).map(|m| m.meta.category.clone()).unwrap_or_default(),
            "result": if f.suppression.is_some() { "skip" } else { "fail" },
            "severity": f.severity.as_str(),
            "scored": true,
            "source": "blogaudit",
            "timestamp": self.timestamp,
            "message": f.message,
            "resources": [object_ref(&f.resource)],
            "properties": properties,
        })
    }

    fn pass(&self, m: &RuleMeta, resource: &ResourceRef) -> Value {
        json!({
            "policy": m.id,
            "rule": m.name,
            "category": m.category,
            "result": "pass",
            "severity": m.severity.as_str(),
            "scored": true,
            "source": "blogaudit",
            "timestamp": self.timestamp,
            "message": m.title,
            "resources": [object_ref(resource)],
        })
    }
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
