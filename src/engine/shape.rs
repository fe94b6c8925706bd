//! Types of the Kubernetes fields the rules read, checked before the rules run.
//!
//! The API server refuses an object whose `containers` is a string; a rule that iterates it
//! would fail inside the shared Rego library with an error that points at the library, not at
//! the manifest. So each resource read from a file is first checked against this table: a field
//! of the wrong type is an error at that field of the manifest (file, line, what was expected),
//! and the rules skip the resource, which the cluster would never accept as written.

use serde_json::Value;

use crate::model::{Diagnostic, Origin, PathSeg, Resource};

/// The JSON type a field must have (`null` always passes: an unset field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Object,
    Array,
    String,
    Bool,
    Integer,
}

impl Ty {
    fn fits(self, v: &Value) -> bool {
        match self {
            Self::Object => v.is_object(),
            Self::Array => v.is_array(),
            Self::String => v.is_string(),
            Self::Bool => v.is_boolean(),
            Self::Integer => v.is_i64() || v.is_u64(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Object => "a mapping",
            Self::Array => "a list",
            Self::String => "a string",
            Self::Bool => "a boolean",
            Self::Integer => "an integer",
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Fields of every object.
const OBJECT: &[(&str, Ty)] = &[
    ("metadata", Ty::Object),
    ("metadata.name", Ty::String),
    ("metadata.namespace", Ty::String),
    ("metadata.labels", Ty::Object),
    ("metadata.labels.*", Ty::String),
    ("metadata.annotations", Ty::Object),
    ("metadata.annotations.*", Ty::String),
];

/// Fields of a pod spec, relative to it.
const POD_SPEC: &[(&str, Ty)] = &[
    ("", Ty::Object),
    ("containers", Ty::Array),
    ("containers.[]", Ty::Object),
    ("initContainers", Ty::Array),
    ("initContainers.[]", Ty::Object),
    ("ephemeralContainers", Ty::Array),
    ("ephemeralContainers.[]", Ty::Object),
    ("volumes", Ty::Array),
    ("volumes.[]", Ty::Object),
    ("hostNetwork", Ty::Bool),
    ("hostPID", Ty::Bool),
    ("hostIPC", Ty::Bool),
    ("serviceAccountName", Ty::String),
    ("automountServiceAccountToken", Ty::Bool),
    ("securityContext", Ty::Object),
    ("securityContext.runAsNonRoot", Ty::Bool),
    ("securityContext.runAsUser", Ty::Integer),
];

/// Fields of each container of a pod spec, relative to it.
const CONTAINER: &[(&str, Ty)] = &[
    ("name", Ty::String),
    ("image", Ty::String),
    ("securityContext", Ty::Object),
    ("securityContext.privileged", Ty::Bool),
    ("securityContext.allowPrivilegeEscalation", Ty::Bool),
    ("securityContext.readOnlyRootFilesystem", Ty::Bool),
    ("securityContext.runAsNonRoot", Ty::Bool),
    ("securityContext.runAsUser", Ty::Integer),
    ("securityContext.capabilities", Ty::Object),
    ("securityContext.capabilities.add", Ty::Array),
    ("securityContext.capabilities.add.[]", Ty::String),
    ("securityContext.capabilities.drop", Ty::Array),
    ("securityContext.capabilities.drop.[]", Ty::String),
    ("resources", Ty::Object),
    ("resources.limits", Ty::Object),
    ("resources.requests", Ty::Object),
    ("ports", Ty::Array),
    ("ports.[]", Ty::Object),
    ("env", Ty::Array),
    ("env.[]", Ty::Object),
    ("volumeMounts", Ty::Array),
    ("volumeMounts.[]", Ty::Object),
];

/// Fields of particular kinds.
const KINDS: &[(&str, &[(&str, Ty)])] = &[
    (
        "Service",
        &[
            ("spec", Ty::Object),
            ("spec.type", Ty::String),
            ("spec.ports", Ty::Array),
            ("spec.ports.[]", Ty::Object),
            ("spec.selector", Ty::Object),
        ],
    ),
    (
        "Secret",
        &[
            ("data", Ty::Object),
            ("data.*", Ty::String),
            ("stringData", Ty::Object),
            ("stringData.*", Ty::String),
            ("type", Ty::String),
        ],
    ),
    ("ConfigMap", &[("data", Ty::Object), ("data.*", Ty::String)]),
    ("Role", &[("rules", Ty::Array), ("rules.[]", Ty::Object)]),
    (
        "ClusterRole",
        &[("rules", Ty::Array), ("rules.[]", Ty::Object)],
    ),
    (
        "RoleBinding",
        &[
            ("subjects", Ty::Array),
            ("subjects.[]", Ty::Object),
            ("roleRef", Ty::Object),
        ],
    ),
    (
        "ClusterRoleBinding",
        &[
            ("subjects", Ty::Array),
            ("subjects.[]", Ty::Object),
            ("roleRef", Ty::Object),
        ],
    ),
    (
        "Ingress",
        &[
            ("spec", Ty::Object),
            ("spec.rules", Ty::Array),
            ("spec.rules.[]", Ty::Object),
            ("spec.tls", Ty::Array),
            ("spec.tls.[]", Ty::Object),
        ],
    ),
    (
        "NetworkPolicy",
        &[
            ("spec", Ty::Object),
            ("spec.podSelector", Ty::Object),
            ("spec.ingress", Ty::Array),
            ("spec.egress", Ty::Array),
            ("spec.policyTypes", Ty::Array),
        ],
    ),
];

/// Where a kind keeps its pod spec.
fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Pod" => Some(&["spec"]),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => Some(&["spec", "template", "spec"]),
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => None,
    }
}

/// The first field of `r` (a Kubernetes object read from a file) whose type is wrong, as an
/// error at that field; `None` when every known field fits.
#[must_use]
pub fn check(r: &Resource) -> Option<Diagnostic> {
    let Origin::File { file, .. } = &r.origin else {
        return None;
    };
    if r.kind.starts_with("aws:") {
        return None;
    }
    let (path, ty, v) = first_misfit(&r.kind, &r.body)?;
    let shown: Vec<String> = path
        .iter()
        .map(|s| match s {
            PathSeg::Key(k) => k.clone(),
            PathSeg::Index(i) => i.to_string(),
        })
        .collect();
    let mut d = Diagnostic::error(
        "invalid-field",
        format!(
            "{} {}/{}: `{}` must be {}, not {}; the API server would refuse this object, so its rules are not run",
            r.kind,
            if r.namespace.is_empty() { "-" } else { &r.namespace },
            r.name,
            shown.join("."),
            ty.name(),
            type_name(v)
        ),
    )
    .in_file(&file.path)
    .help("fix the field's type (see `kubectl explain` for the field)");
    if let Some((span, _)) = r.locate(&path) {
        d = d.at(span.start);
    }
    Some(d)
}

/// The first misfit of `body`, in this order: the fields of every object, those of `kind`,
/// each level of the path to the pod spec, the pod spec's fields, then each container field
/// over the containers of each list (`containers`, `initContainers`, `ephemeralContainers`).
fn first_misfit<'v>(kind: &str, body: &'v Value) -> Option<(Vec<PathSeg>, Ty, &'v Value)> {
    let kind_fields = KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[][..], |(_, f)| *f);
    for (pattern, ty) in OBJECT.iter().chain(kind_fields) {
        if let Some((path, v)) = misfit_at(body, &[], pattern, *ty) {
            return Some((path, *ty, v));
        }
    }
    let base = pod_spec_path(kind)?;
    for depth in 1..=base.len() {
        if let Some((path, v)) = misfit_at(body, &base[..depth], "", Ty::Object) {
            return Some((path, Ty::Object, v));
        }
    }
    // Past this point every field is under the pod spec: none when it is absent or not a
    // mapping (its own entries above report the latter).
    let spec = base
        .iter()
        .try_fold(body, |v, key| v.as_object()?.get(*key))?;
    for (pattern, ty) in POD_SPEC {
        if let Some((rel, v)) = misfit_at(spec, &[], pattern, *ty) {
            return Some((prefixed(base, &[], rel), *ty, v));
        }
    }
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(Value::Array(items)) = spec.as_object().and_then(|m| m.get(list)) else {
            continue;
        };
        for (pattern, ty) in CONTAINER {
            for (i, item) in items.iter().enumerate() {
                if let Some((rel, v)) = misfit_at(item, &[], pattern, *ty) {
                    let at = [PathSeg::Key(list.to_string()), PathSeg::Index(i)];
                    return Some((prefixed(base, &at, rel), *ty, v));
                }
            }
        }
    }
    None
}

/// `base`, then `mid`, then `rest`.
fn prefixed(base: &[&str], mid: &[PathSeg], rest: Vec<PathSeg>) -> Vec<PathSeg> {
    base.iter()
        .map(|k| PathSeg::Key((*k).to_string()))
        .chain(mid.iter().cloned())
        .chain(rest)
        .collect()
}

/// The first misfit under `v` at the keys `base`, then the segments of `pattern` (dotted:
/// keys, `*` any key, `[]` any item; empty for `v` itself), with its path from `v`.
fn misfit_at<'v>(
    v: &'v Value,
    base: &[&str],
    pattern: &str,
    ty: Ty,
) -> Option<(Vec<PathSeg>, &'v Value)> {
    let rest = pattern.split('.').filter(|s| !s.is_empty());
    let (mut path, found) = find_misfit(v, base.iter().copied().chain(rest), ty)?;
    path.reverse();
    Some((path, found))
}

/// The first value under `segs` (keys, `*` any key, `[]` any item) that is neither null nor of
/// type `ty`, with its path, innermost first.
fn find_misfit<'s, 'v>(
    v: &'v Value,
    mut segs: impl Iterator<Item = &'s str> + Clone,
    ty: Ty,
) -> Option<(Vec<PathSeg>, &'v Value)> {
    let Some(first) = segs.next() else {
        return (!v.is_null() && !ty.fits(v)).then(|| (Vec::new(), v));
    };
    let (mut path, found, seg) = match (first, v) {
        ("[]", Value::Array(items)) => items.iter().enumerate().find_map(|(i, x)| {
            let (path, found) = find_misfit(x, segs.clone(), ty)?;
            Some((path, found, PathSeg::Index(i)))
        })?,
        ("*", Value::Object(m)) => m.iter().find_map(|(k, x)| {
            let (path, found) = find_misfit(x, segs.clone(), ty)?;
            Some((path, found, PathSeg::Key(k.clone())))
        })?,
        (key, Value::Object(m)) if key != "[]" && key != "*" => {
            let (path, found) = find_misfit(m.get(key)?, segs, ty)?;
            (path, found, PathSeg::Key(key.to_string()))
        }
        // A parent of the wrong type is reported by its own entry.
        _ => return None,
    };
    path.push(seg);
    Some((path, found))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::{find_misfit, first_misfit, pod_spec_path, Ty, CONTAINER, KINDS, OBJECT, POD_SPEC};
    use crate::model::PathSeg;

    /// The table read entry by entry, each from the root: the definition `first_misfit`
    /// must agree with.
    fn reference(kind: &str, body: &Value) -> Option<(Vec<PathSeg>, Ty, Value)> {
        let mut fields: Vec<(String, Ty)> =
            OBJECT.iter().map(|(p, t)| ((*p).to_string(), *t)).collect();
        if let Some((_, kf)) = KINDS.iter().find(|(k, _)| *k == kind) {
            fields.extend(kf.iter().map(|(p, t)| ((*p).to_string(), *t)));
        }
        if let Some(base) = pod_spec_path(kind) {
            for depth in 1..=base.len() {
                fields.push((base[..depth].join("."), Ty::Object));
            }
            let base = base.join(".");
            let join = |a: &str, b: &str| {
                if b.is_empty() {
                    a.to_string()
                } else {
                    format!("{a}.{b}")
                }
            };
            fields.extend(POD_SPEC.iter().map(|(p, t)| (join(&base, p), *t)));
            for list in ["containers", "initContainers", "ephemeralContainers"] {
                let each = format!("{base}.{list}.[]");
                fields.extend(CONTAINER.iter().map(|(p, t)| (join(&each, p), *t)));
            }
        }
        fields.iter().find_map(|(pattern, ty)| {
            let (mut path, v) = find_misfit(body, pattern.split('.'), *ty)?;
            path.reverse();
            Some((path, *ty, v.clone()))
        })
    }

    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(self.0 >> 33).unwrap_or(0) % n.max(1)
        }
    }

    fn odd_value(rng: &mut Lcg) -> Value {
        match rng.below(7) {
            0 => Value::Null,
            1 => json!(true),
            2 => json!(3),
            3 => json!(1.5),
            4 => json!("text"),
            5 => json!([1, "a", {"name": 2}]),
            _ => json!({"name": [], "image": 1, "privileged": "yes"}),
        }
    }

    /// Replaces one node of `v`, chosen at random along a random descent, by an odd value.
    fn mutate(v: &mut Value, rng: &mut Lcg) {
        let children = match v {
            Value::Object(m) => m.len(),
            Value::Array(a) => a.len(),
            _ => 0,
        };
        if children == 0 || rng.below(4) == 0 {
            *v = odd_value(rng);
            return;
        }
        let i = rng.below(children);
        match v {
            Value::Object(m) => {
                if let Some((_, child)) = m.iter_mut().nth(i) {
                    mutate(child, rng);
                }
            }
            Value::Array(a) => mutate(&mut a[i], rng),
            _ => {}
        }
    }

    fn pod_spec() -> Value {
        let container = json!({
            "name": "c", "image": "i:1",
            "securityContext": {
                "privileged": false, "allowPrivilegeEscalation": false,
                "readOnlyRootFilesystem": true, "runAsNonRoot": true, "runAsUser": 1000,
                "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}
            },
            "resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": "1"}},
            "ports": [{"containerPort": 80}], "env": [{"name": "A"}],
            "volumeMounts": [{"name": "v"}]
        });
        json!({
            "containers": [container.clone(), container.clone()],
            "initContainers": [container.clone()],
            "ephemeralContainers": [container],
            "volumes": [{"name": "v"}],
            "hostNetwork": false, "hostPID": false, "hostIPC": false,
            "serviceAccountName": "sa", "automountServiceAccountToken": false,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000}
        })
    }

    fn body(kind: &str) -> Value {
        let metadata = json!({
            "name": "n", "namespace": "ns",
            "labels": {"app": "a", "tier": "t"}, "annotations": {"x": "y"}
        });
        let spec = pod_spec();
        let mut body = match kind {
            "Pod" => json!({"spec": spec}),
            "CronJob" => json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}),
            "Service" => {
                json!({"spec": {"type": "ClusterIP", "ports": [{"port": 80}], "selector": {"app": "a"}}})
            }
            "Secret" => json!({"data": {"a": "b"}, "stringData": {"c": "d"}, "type": "Opaque"}),
            "ClusterRoleBinding" => {
                json!({"subjects": [{"kind": "User"}], "roleRef": {"name": "r"}})
            }
            "NetworkPolicy" => {
                json!({"spec": {"podSelector": {}, "ingress": [], "egress": [], "policyTypes": ["Ingress"]}})
            }
            _ => json!({"spec": {"replicas": 2, "template": {"metadata": {}, "spec": spec}}}),
        };
        body["kind"] = json!(kind);
        body["metadata"] = metadata;
        body
    }

    #[test]
    fn the_first_misfit_is_the_first_entry_of_the_table_that_misfits() {
        let mut rng = Lcg(7);
        let kinds = [
            "Deployment",
            "Pod",
            "CronJob",
            "Job",
            "Service",
            "Secret",
            "ClusterRoleBinding",
            "NetworkPolicy",
            "ConfigMap",
        ];
        let mut misfits = 0;
        for round in 0..6000 {
            let kind = kinds[round % kinds.len()];
            let mut v = body(kind);
            for _ in 0..=rng.below(3) {
                mutate(&mut v, &mut rng);
            }
            let got = first_misfit(kind, &v).map(|(p, t, x)| (p, t, x.clone()));
            let want = reference(kind, &v);
            assert_eq!(got, want, "{kind}: {v}");
            misfits += usize::from(want.is_some());
        }
        assert!(misfits > 1500, "only {misfits} misfits");
    }
}
