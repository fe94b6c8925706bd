//! Every resource of a run, indexed by kind, namespace and name.

use std::collections::{BTreeMap, BTreeSet};

use super::Resource;

/// The resources of one run and their index. Rules see the index as `data.inventory`.
#[derive(Debug, Default)]
pub struct Inventory {
    pub resources: Vec<Resource>,
    /// kind → namespace → name → position in `resources`. Namespace `""` holds cluster-scoped
    /// and AWS resources.
    pub index: BTreeMap<String, BTreeMap<String, BTreeMap<String, usize>>>,
    /// Declared `Namespace` objects and every namespace a resource lives in.
    pub namespaces: BTreeSet<String>,
}

impl Inventory {
    #[must_use]
    pub fn new(resources: Vec<Resource>) -> Self {
        let mut index: BTreeMap<String, BTreeMap<String, BTreeMap<String, usize>>> =
            BTreeMap::new();
        let mut namespaces = BTreeSet::new();
        for (i, r) in resources.iter().enumerate() {
            index
                .entry(r.kind.clone())
                .or_default()
                .entry(r.namespace.clone())
                .or_default()
                .entry(r.name.clone())
                .or_insert(i);
            if r.kind == "Namespace" {
                namespaces.insert(r.name.clone());
            } else if !r.namespace.is_empty() {
                namespaces.insert(r.namespace.clone());
            }
        }
        Self {
            resources,
            index,
            namespaces,
        }
    }
}
