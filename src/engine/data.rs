//! `data.inventory` and `data.config`: the document every rule reads, built once per
//! inventory (in parallel) and shared by every evaluation.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use crate::model::Inventory;

/// One resource body as the rules see it. Deserialized straight from the borrowed JSON, so
/// no second JSON tree is made on the way.
pub(super) fn to_rego(body: &Value) -> regorus::Value {
    regorus::Value::deserialize(body).unwrap_or(regorus::Value::Undefined)
}

fn string(s: &str) -> regorus::Value {
    regorus::Value::from(s)
}

fn object(map: BTreeMap<regorus::Value, regorus::Value>) -> regorus::Value {
    regorus::Value::from(map)
}

fn set_of<'a>(items: impl Iterator<Item = &'a str>) -> regorus::Value {
    object(
        items
            .map(|s| (string(s), regorus::Value::from(true)))
            .collect(),
    )
}

/// The data document of `inventory` and `config`, and the rule inputs it shares with it.
///
/// `objects` holds only the kinds in `looked_up` (every kind when `None`): the rules read no
/// others from it. Those resources are converted once here and shared as rule inputs
/// (`Some` at their position); the rest (most workloads) are converted when evaluated and
/// dropped after, so no resource is held twice for the whole run.
pub(super) fn build(
    inventory: &Inventory,
    config: &Value,
    looked_up: Option<&BTreeSet<String>>,
) -> (Vec<Option<regorus::Value>>, regorus::Value) {
    let wanted = |kind: &str| looked_up.is_none_or(|k| k.contains(kind));
    let inputs: Vec<Option<regorus::Value>> = inventory
        .resources
        .par_iter()
        .map(|r| wanted(&r.kind).then(|| to_rego(&r.body)))
        .collect();
    let kinds: Vec<_> = inventory.index.iter().collect();
    // Per kind, in parallel: kind → namespace → name → body, and the kind's set of names.
    let per_kind: Vec<(regorus::Value, Option<regorus::Value>, regorus::Value)> = kinds
        .par_iter()
        .map(|(kind, namespaces)| {
            let by_ns = wanted(kind).then(|| {
                object(
                    namespaces
                        .iter()
                        .map(|(ns, names)| {
                            let by_name = object(
                                names
                                    .iter()
                                    .filter_map(|(name, idx)| {
                                        Some((string(name), inputs[*idx].clone()?))
                                    })
                                    .collect(),
                            );
                            (string(ns), by_name)
                        })
                        .collect(),
                )
            });
            let names = set_of(
                namespaces
                    .values()
                    .flat_map(|n| n.keys())
                    .map(String::as_str),
            );
            (string(kind), by_ns, names)
        })
        .collect();
    let mut objects = BTreeMap::new();
    let mut names = BTreeMap::new();
    for (kind, by_ns, set) in per_kind {
        if let Some(by_ns) = by_ns {
            objects.insert(kind.clone(), by_ns);
        }
        names.insert(kind, set);
    }
    let parents = object(
        inventory
            .route_parents
            .iter()
            .map(|(ns, names)| {
                let names = names
                    .iter()
                    .map(|(name, routes)| {
                        let list: Vec<regorus::Value> = routes
                            .iter()
                            .map(|r| {
                                object(BTreeMap::from([
                                    (string("kind"), string(&r.kind)),
                                    (string("namespace"), string(&r.namespace)),
                                    (string("name"), string(&r.name)),
                                ]))
                            })
                            .collect();
                        (string(name), regorus::Value::from(list))
                    })
                    .collect();
                (string(ns), object(names))
            })
            .collect(),
    );
    let suffixes = inventory.image_suffixes();
    let namespaces: BTreeSet<regorus::Value> =
        inventory.namespaces.iter().map(|n| string(n)).collect();
    let inv = object(BTreeMap::from([
        (string("names"), object(names)),
        (
            string("image_suffixes"),
            set_of(suffixes.iter().map(String::as_str)),
        ),
        (string("route_parents"), parents),
        (string("objects"), object(objects)),
        (
            string("cluster_scoped_kinds"),
            set_of(crate::model::CLUSTER_SCOPED.iter().copied()),
        ),
        (string("namespaces"), regorus::Value::from(namespaces)),
    ]));
    let data = object(BTreeMap::from([
        (string("inventory"), inv),
        (string("config"), to_rego(config)),
    ]));
    (inputs, data)
}
