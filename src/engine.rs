//! The engine: every rule over every resource of its kinds, in parallel. Pure: no I/O.

pub mod shape;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde_json::Value;

use crate::model::fingerprint;
use crate::model::{Diagnostic, Inventory, Origin, PathSeg, Resource, Span};
use crate::model::{Finding, Fix, Location, ResourceRef};
use crate::rules::{CompiledRule, RuleSet};

/// Resources evaluated per engine clone.
const CHUNK: usize = 256;

/// Longest one rule may run on one resource: a rule that loops over it fails with a rule
/// error, and the other rules go on. (regorus checks the time between steps of evaluation; a
/// single built-in call that builds a huge value, such as `numbers.range(1, 2e8)`, runs to its
/// end before the check.)
const RULE_TIME_LIMIT: Duration = Duration::from_secs(2);

/// What an evaluation produced.
pub struct Evaluation {
    pub findings: Vec<Finding>,
    pub diagnostics: Vec<Diagnostic>,
    /// CPU time spent in each rule, summed over threads, slowest first (for `--timings`).
    pub rule_time: Vec<(String, Duration)>,
}

/// Evaluates `rules` over `inventory`. `config` becomes `data.config`.
#[must_use]
pub fn evaluate(rules: &RuleSet, inventory: &Inventory, config: &Value) -> Evaluation {
    let inputs: Vec<regorus::Value> = inventory
        .resources
        .par_iter()
        .map(|r| regorus::Value::from(r.body.clone()))
        .collect();
    let data = data_document(inventory, &inputs, config);

    let mut prepared: Vec<CompiledRule> = Vec::with_capacity(rules.rules.len());
    let mut diagnostics = Vec::new();
    for rule in &rules.rules {
        let mut rule = rule.clone();
        rule.engine
            .set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
                limit: RULE_TIME_LIMIT,
                check_interval: std::num::NonZeroU32::MIN.saturating_add(63),
            });
        // Prepare once here (analysis, scheduling, hoisting) so the per-chunk clones start
        // ready instead of each preparing again.
        let ready = rule.engine.add_data(data.clone()).and_then(|()| {
            rule.engine.set_input(regorus::Value::new_object());
            rule.engine.eval_rule(rule.query.clone()).map(|_| ())
        });
        match ready {
            Ok(()) => prepared.push(rule),
            Err(e) => diagnostics.push(
                Diagnostic::error(
                    "rule-error",
                    format!("{}: cannot load data: {e}", rule.meta.id),
                )
                .in_file(&rule.meta.folder),
            ),
        }
    }
    let mut by_kind: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, rule) in prepared.iter().enumerate() {
        for kind in &rule.meta.kinds {
            by_kind.entry(kind.as_str()).or_default().push(i);
        }
    }

    // A resource with a field of the wrong type is reported at that field, not run.
    let mut indices: Vec<usize> = Vec::with_capacity(inventory.resources.len());
    for (i, r) in inventory.resources.iter().enumerate() {
        match shape::check(r) {
            Some(d) => diagnostics.push(d),
            None => indices.push(i),
        }
    }
    let results: Vec<(Vec<Finding>, Vec<Diagnostic>, Vec<Duration>)> = indices
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut engines = prepared.clone();
            let mut findings = Vec::new();
            let mut errors = Vec::new();
            let mut spent = vec![Duration::ZERO; engines.len()];
            for &i in chunk {
                let resource = &inventory.resources[i];
                let Some(applicable) = by_kind.get(resource.kind.as_str()) else {
                    continue;
                };
                for &r in applicable {
                    let rule = &mut engines[r];
                    let started = Instant::now();
                    rule.engine.set_input(inputs[i].clone());
                    let result = rule
                        .engine
                        .eval_rule(rule.query.clone())
                        .map_err(|e| e.to_string());
                    spent[r] += started.elapsed();
                    match result {
                        Ok(v) => collect(&rule.meta, resource, &v, &mut findings),
                        Err(e) => errors.push(
                            Diagnostic::error(
                                "rule-error",
                                format!(
                                    "{} failed on {}: {}",
                                    rule.meta.id,
                                    ResourceRef::of(resource),
                                    e.trim()
                                ),
                            )
                            .in_file(&rule.meta.folder),
                        ),
                    }
                }
            }
            (findings, errors, spent)
        })
        .collect();

    let mut findings = Vec::new();
    let mut total = vec![Duration::ZERO; prepared.len()];
    for (f, d, spent) in results {
        findings.extend(f);
        diagnostics.extend(d);
        for (t, s) in total.iter_mut().zip(spent) {
            *t += s;
        }
    }
    let mut rule_time: Vec<(String, Duration)> = prepared
        .iter()
        .zip(total)
        .map(|(r, t)| (r.meta.id.clone(), t))
        .collect();
    rule_time.sort_by_key(|r| std::cmp::Reverse(r.1));
    findings.sort_by(|a, b| {
        (a.file(), a.span().map(|s| s.start), &a.rule_id).cmp(&(
            b.file(),
            b.span().map(|s| s.start),
            &b.rule_id,
        ))
    });
    fingerprint::disambiguate(&mut findings);
    Evaluation {
        findings,
        diagnostics,
        rule_time,
    }
}

/// `data.inventory` and `data.config` for the rules.
fn data_document(
    inventory: &Inventory,
    inputs: &[regorus::Value],
    config: &Value,
) -> regorus::Value {
    let mut objects = regorus::Value::new_object();
    if let Ok(map) = objects.as_object_mut() {
        for (kind, namespaces) in &inventory.index {
            let mut by_ns = regorus::Value::new_object();
            if let Ok(ns_map) = by_ns.as_object_mut() {
                for (ns, names) in namespaces {
                    let mut by_name = regorus::Value::new_object();
                    if let Ok(name_map) = by_name.as_object_mut() {
                        for (name, idx) in names {
                            name_map
                                .insert(regorus::Value::from(name.as_str()), inputs[*idx].clone());
                        }
                    }
                    ns_map.insert(regorus::Value::from(ns.as_str()), by_name);
                }
            }
            map.insert(regorus::Value::from(kind.as_str()), by_ns);
        }
    }
    let namespaces: std::collections::BTreeSet<regorus::Value> = inventory
        .namespaces
        .iter()
        .map(|n| regorus::Value::from(n.as_str()))
        .collect();
    let parents = serde_json::json!(inventory
        .route_parents
        .iter()
        .map(|(ns, names)| {
            let names: serde_json::Map<String, Value> = names
                .iter()
                .map(|(name, routes)| {
                    let list = routes
                        .iter()
                        .map(|r| serde_json::json!({"kind": r.kind, "namespace": r.namespace, "name": r.name}))
                        .collect();
                    (name.clone(), Value::Array(list))
                })
                .collect();
            (ns.clone(), Value::Object(names))
        })
        .collect::<serde_json::Map<String, Value>>());
    let mut names: serde_json::Map<String, Value> = serde_json::Map::new();
    for (kind, namespaces) in &inventory.index {
        let set: serde_json::Map<String, Value> = namespaces
            .values()
            .flat_map(|n| n.keys())
            .map(|n| (n.clone(), Value::Bool(true)))
            .collect();
        names.insert(kind.clone(), Value::Object(set));
    }
    let images: serde_json::Map<String, Value> = inventory
        .image_suffixes()
        .into_iter()
        .map(|s| (s, Value::Bool(true)))
        .collect();
    let mut inv = regorus::Value::new_object();
    if let Ok(map) = inv.as_object_mut() {
        map.insert(
            regorus::Value::from("names"),
            regorus::Value::from(Value::Object(names)),
        );
        map.insert(
            regorus::Value::from("image_suffixes"),
            regorus::Value::from(Value::Object(images)),
        );
        map.insert(
            regorus::Value::from("route_parents"),
            regorus::Value::from(parents),
        );
        map.insert(regorus::Value::from("objects"), objects);
        map.insert(
            regorus::Value::from("cluster_scoped_kinds"),
            regorus::Value::from(Value::Object(
                crate::model::CLUSTER_SCOPED
                    .iter()
                    .map(|k| ((*k).to_string(), Value::Bool(true)))
                    .collect(),
            )),
        );
        map.insert(
            regorus::Value::from("namespaces"),
            regorus::Value::from(namespaces),
        );
    }
    let mut data = regorus::Value::new_object();
    if let Ok(map) = data.as_object_mut() {
        map.insert(regorus::Value::from("inventory"), inv);
        map.insert(
            regorus::Value::from("config"),
            regorus::Value::from(config.clone()),
        );
    }
    data
}

/// Turns the rule's `violation` set into findings located in the resource's source.
fn collect(
    meta: &crate::rules::RuleMeta,
    resource: &Resource,
    result: &regorus::Value,
    out: &mut Vec<Finding>,
) {
    let Ok(json) = serde_json::to_value(result) else {
        return;
    };
    let Some(items) = json.as_array() else {
        return;
    };
    for v in items {
        let path: Vec<PathSeg> = v
            .get("path")
            .and_then(Value::as_array)
            .map(|p| p.iter().filter_map(PathSeg::from_json).collect())
            .unwrap_or_default();
        let message = v.get("message").and_then(Value::as_str).map_or_else(
            || format!("{} violates {}", ResourceRef::of(resource), meta.id),
            str::to_string,
        );
        let location = match &resource.origin {
            Origin::File { file, .. } => Location::File {
                path: file.path.clone(),
                span: resource.locate(&path).map(|(s, _)| s).unwrap_or_default(),
            },
            Origin::Object { reference } => Location::Object {
                reference: reference.clone(),
            },
        };
        let fix = v.get("fix").and_then(|f| {
            let value = f.get("value")?.clone();
            let fix_path: Vec<PathSeg> = f.get("path").and_then(Value::as_array).map_or_else(
                || path.clone(),
                |p| p.iter().filter_map(PathSeg::from_json).collect(),
            );
            let (node, found) = resource.locate_node(&fix_path)?;
            let exists = found == fix_path.len();
            Some(Fix {
                replace: exists.then_some(Span {
                    start: node.start,
                    end: node.end,
                }),
                insert_under: (!exists).then_some((node.key, found)),
                path: fix_path,
                value,
            })
        });
        let resource_ref = ResourceRef::of(resource);
        let fingerprint = fingerprint::of(&meta.id, &location, &resource_ref, &path);
        out.push(Finding {
            rule_id: meta.id.clone(),
            rule_name: meta.name.clone(),
            severity: meta.severity,
            resource: resource_ref,
            path,
            location,
            message,
            fix,
            fingerprint,
            suppression: None,
        });
    }
}
