//! Every resource of a run, indexed by kind, namespace and name.

use std::collections::{BTreeMap, BTreeSet};

use super::{Resource, ResourceRef};

/// The resources of one run and their index. Rules see the index as `data.inventory`.
#[derive(Debug, Default)]
pub struct Inventory {
    pub resources: Vec<Resource>,
    /// kind → namespace → positions in `resources`, ordered by name, one per name (the first
    /// loaded). Namespace `""` holds cluster-scoped and AWS resources. Positions rather than
    /// a map by name: the names are the resources' own, not copied.
    pub index: BTreeMap<String, BTreeMap<String, Vec<usize>>>,
    /// Declared `Namespace` objects and every namespace a resource lives in.
    pub namespaces: BTreeSet<String>,
    /// Gateway API parent index: parent namespace → parent name → the routes (kind, namespace,
    /// name) whose `spec.parentRefs` name it. Lets a Gateway find its routes without a scan
    /// over every namespace.
    pub route_parents: BTreeMap<String, BTreeMap<String, Vec<ResourceRef>>>,
}

impl Inventory {
    #[must_use]
    pub fn new(resources: Vec<Resource>) -> Self {
        let mut index: BTreeMap<String, BTreeMap<String, Vec<usize>>> = BTreeMap::new();
        let mut namespaces = BTreeSet::new();
        let mut route_parents: BTreeMap<String, BTreeMap<String, Vec<ResourceRef>>> =
            BTreeMap::new();
        for (i, r) in resources.iter().enumerate() {
            index
                .entry(r.kind.clone())
                .or_default()
                .entry(r.namespace.clone())
                .or_default()
                .push(i);
            let hydrated = r.hydrated_if("parentRefs");
            let parents = hydrated
                .as_deref()
                .and_then(|h| h.body.get("spec"))
                .and_then(|s| s.get("parentRefs"))
                .and_then(serde_json::Value::as_array);
            for parent in parents.into_iter().flatten() {
                let Some(name) = parent.get("name").and_then(serde_json::Value::as_str) else {
                    continue;
                };
                let ns = parent
                    .get("namespace")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or(&r.namespace);
                let routes = route_parents
                    .entry(ns.to_string())
                    .or_default()
                    .entry(name.to_string())
                    .or_default();
                let me = ResourceRef::of(r);
                if !routes.contains(&me) {
                    routes.push(me);
                }
            }
            if r.kind == "Namespace" {
                namespaces.insert(r.name.clone());
            } else if !r.namespace.is_empty() {
                namespaces.insert(r.namespace.clone());
            }
        }
        let name = |i: &usize| resources[*i].name.as_str();
        for positions in index.values_mut().flat_map(BTreeMap::values_mut) {
            // By name, then load order, so that the first loaded of a name stays.
            positions.sort_by(|a, b| name(a).cmp(name(b)).then(a.cmp(b)));
            positions.dedup_by(|later, first| name(later) == name(first));
        }
        Self {
            resources,
            index,
            namespaces,
            route_parents,
        }
    }
}

/// Every trailing part of the repository path of each container image of a resource's pod
/// template (or a Pod's spec), without registry host, tag or digest:
/// `registry.k8s.io/autoscaling/cluster-autoscaler:v1.30` gives `cluster-autoscaler` and
/// `autoscaling/cluster-autoscaler`. Gathered over the inventory, they let a rule ask "is
/// this component deployed anywhere?" in one lookup.
pub fn image_suffixes(kind: &str, body: &serde_json::Value, out: &mut BTreeSet<String>) {
    let spec = body.pointer("/spec/template/spec").or_else(|| {
        body.pointer("/spec/jobTemplate/spec/template/spec")
            .or_else(|| (kind == "Pod").then(|| body.get("spec")).flatten())
    });
    let Some(spec) = spec else { return };
    for field in ["initContainers", "containers"] {
        let containers = spec.get(field).and_then(serde_json::Value::as_array);
        for c in containers.into_iter().flatten() {
            let Some(image) = c.get("image").and_then(serde_json::Value::as_str) else {
                continue;
            };
            let repo = image.split('@').next().unwrap_or(image);
            let mut parts: Vec<&str> = repo.split('/').collect();
            if let Some(last) = parts.last_mut() {
                *last = last.split(':').next().unwrap_or(last);
            }
            let first_is_host = parts.len() > 1
                && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost");
            let path = if first_is_host {
                &parts[1..]
            } else {
                &parts[..]
            };
            for i in 0..path.len() {
                out.insert(path[i..].join("/"));
            }
        }
    }
}
