//! `data.inventory` and `data.config`: the document every rule reads, built once per
//! inventory (in parallel) and shared by every evaluation.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use crate::model::{image_suffixes, Diagnostic, Inventory};

/// One resource body as the rules see it. Deserialized straight from the borrowed JSON, so
/// no second JSON tree is made on the way.
pub(super) fn to_rego(body: &Value) -> regorus::Value {
    regorus::Value::deserialize(body).unwrap_or(regorus::Value::Undefined)
}

/// Converts bodies to rule values that share what repeats: every equal string, key and
/// sub-document of the bodies converted by one `Sharing` is one reference-counted value.
/// Rules never change a value in place (a change copies it), so sharing is unseen by them.
/// The looked-up objects are held for the whole evaluation, and their labels, selectors,
/// ports and keys repeat from object to object.
#[derive(Default)]
struct Sharing {
    /// Converted values by the hash of their content; equal ones are found by comparison.
    seen: HashMap<u64, Vec<regorus::Value>>,
}

impl Sharing {
    /// [`to_rego`] of `body`, sharing with what this converted before.
    fn convert(&mut self, body: &Value) -> regorus::Value {
        self.value(body).0
    }

    fn value(&mut self, v: &Value) -> (regorus::Value, u64) {
        let (value, hash) = match v {
            Value::Null => return (regorus::Value::Null, 1),
            Value::Bool(b) => return (regorus::Value::Bool(*b), 2 + u64::from(*b)),
            Value::Number(n) => {
                let value = if let Some(u) = n.as_u64() {
                    regorus::Value::from(u)
                } else if let Some(i) = n.as_i64() {
                    regorus::Value::from(i)
                } else {
                    regorus::Value::from(n.as_f64().unwrap_or_default())
                };
                return (value, hash_of(&(4u8, n.to_string())));
            }
            Value::String(s) => (string(s), hash_of(&(5u8, s))),
            Value::Array(items) => {
                let mut hash = 6;
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let (v, h) = self.value(item);
                    hash = mix(hash, h);
                    out.push(v);
                }
                (regorus::Value::from(out), hash)
            }
            Value::Object(map) => {
                let mut hash = 7;
                let mut out = BTreeMap::new();
                for (k, item) in map {
                    let (key, hk) = self.share(string(k), hash_of(&(5u8, k)));
                    let (v, hv) = self.value(item);
                    hash = mix(mix(hash, hk), hv);
                    out.insert(key, v);
                }
                (object(out), hash)
            }
        };
        self.share(value, hash)
    }

    /// The value equal to `value` converted before, or `value`, kept for the next.
    fn share(&mut self, value: regorus::Value, hash: u64) -> (regorus::Value, u64) {
        let same = self.seen.entry(hash).or_default();
        if let Some(earlier) = same.iter().find(|e| **e == value) {
            return (earlier.clone(), hash);
        }
        same.push(value.clone());
        (value, hash)
    }
}

fn hash_of(v: &impl std::hash::Hash) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(v)
}

fn mix(hash: u64, part: u64) -> u64 {
    (hash.rotate_left(5) ^ part).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// The data document, and what it was built from.
pub(super) struct Built {
    /// Each resource's rule input when its kind is looked up (shared with `data`).
    pub inputs: Vec<Option<regorus::Value>>,
    pub data: regorus::Value,
    /// The shape errors of the looked-up resources, by position: they are not run.
    pub malformed: HashMap<usize, Diagnostic>,
}

/// What one chunk of the inventory gives the data document.
#[derive(Default)]
struct Chunk {
    inputs: Vec<Option<regorus::Value>>,
    images: BTreeSet<String>,
    malformed: Vec<(usize, Diagnostic)>,
}

/// Resources per share table when the data document is built: large enough that what
/// repeats is mostly shared, small enough to spread over the threads.
const SHARING_CHUNK: usize = 8192;

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
) -> Built {
    let wanted = |kind: &str| looked_up.is_none_or(|k| k.contains(kind));
    // Each resource's input when its kind is looked up, and its images; a stashed resource
    // is read again only when it is looked up or may have images. The looked-up objects are
    // converted sharing what repeats (a share table per chunk), and their shape is checked
    // on the way, so that evaluation need not read a stashed one again to judge it.
    let chunks: Vec<Chunk> = inventory
        .resources
        .par_chunks(SHARING_CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let mut sharing = Sharing::default();
            let mut out = Chunk::default();
            for (j, r) in chunk.iter().enumerate() {
                let input = wanted(&r.kind);
                let hydrated = if input {
                    r.hydrated()
                } else {
                    r.hydrated_if("image")
                };
                let Some(r) = hydrated else {
                    out.inputs.push(None);
                    continue;
                };
                image_suffixes(&r.kind, &r.body, &mut out.images);
                if input {
                    if let Some(d) = super::shape::check(&r) {
                        out.malformed.push((c * SHARING_CHUNK + j, d));
                    }
                }
                out.inputs.push(input.then(|| sharing.convert(&r.body)));
            }
            out
        })
        .collect();
    let mut inputs = Vec::with_capacity(inventory.resources.len());
    let mut images = BTreeSet::new();
    let mut malformed = HashMap::new();
    for chunk in chunks {
        inputs.extend(chunk.inputs);
        images.extend(chunk.images);
        malformed.extend(chunk.malformed);
    }
    let kinds: Vec<_> = inventory.index.iter().collect();
    // Per kind, in parallel: kind → namespace → name → body, and the kind's set of names.
    let per_kind: Vec<(regorus::Value, Option<regorus::Value>, regorus::Value)> = kinds
        .par_iter()
        .map(|(kind, namespaces)| {
            let by_ns = wanted(kind).then(|| {
                object(
                    namespaces
                        .iter()
                        .map(|(ns, positions)| {
                            let by_name = object(
                                positions
                                    .iter()
                                    .filter_map(|&i| {
                                        let name = &inventory.resources[i].name;
                                        Some((string(name), inputs[i].clone()?))
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
                    .flatten()
                    .map(|&i| inventory.resources[i].name.as_str()),
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
    let namespaces: BTreeSet<regorus::Value> =
        inventory.namespaces.iter().map(|n| string(n)).collect();
    let inv = object(BTreeMap::from([
        (string("names"), object(names)),
        (
            string("image_suffixes"),
            set_of(images.iter().map(String::as_str)),
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
    Built {
        inputs,
        data,
        malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_values_equal_converted_ones_and_repeats_are_one() {
        let bodies: Vec<Value> = (0..3)
            .map(|i| {
                serde_json::json!({
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": format!("s{i}"), "labels": {"app": "web"}},
                    "spec": {
                        "ports": [{"port": 80, "targetPort": -1, "weight": 0.5}],
                        "selector": {"app": "web"},
                        "empty": {}, "none": null, "list": [], "flag": true,
                        "big": u64::MAX,
                    },
                })
            })
            .collect();
        let mut sharing = Sharing::default();
        let converted: Vec<regorus::Value> = bodies.iter().map(|b| sharing.convert(b)).collect();
        for (b, c) in bodies.iter().zip(&converted) {
            assert_eq!(&to_rego(b), c);
        }
        let labels = |v: &regorus::Value| v["metadata"]["labels"].clone();
        let (regorus::Value::Object(a), regorus::Value::Object(b)) =
            (labels(&converted[0]), labels(&converted[2]))
        else {
            panic!("objects");
        };
        assert!(std::sync::Arc::ptr_eq(&a, &b));
    }
}
