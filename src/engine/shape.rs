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
fn pod_spec_path(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some("spec"),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => Some("spec.template.spec"),
        "CronJob" => Some("spec.jobTemplate.spec.template.spec"),
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
    let mut fields: Vec<(String, Ty)> =
        OBJECT.iter().map(|(p, t)| ((*p).to_string(), *t)).collect();
    if let Some((_, kf)) = KINDS.iter().find(|(k, _)| *k == r.kind) {
        fields.extend(kf.iter().map(|(p, t)| ((*p).to_string(), *t)));
    }
    if let Some(base) = pod_spec_path(&r.kind) {
        // Each level of the path to the pod spec is a mapping.
        let mut at = String::new();
        for seg in base.split('.') {
            at = join(&at, seg);
            fields.push((at.clone(), Ty::Object));
        }
        fields.extend(POD_SPEC.iter().map(|(p, t)| (join(base, p), *t)));
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            let each = join(base, &format!("{list}.[]"));
            fields.extend(CONTAINER.iter().map(|(p, t)| (join(&each, p), *t)));
        }
    }
    for (pattern, ty) in &fields {
        let segs: Vec<&str> = pattern.split('.').collect();
        if let Some((path, v)) = find_misfit(&r.body, &segs, *ty, &mut Vec::new()) {
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
            return Some(d);
        }
    }
    None
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}.{b}"),
    }
}

/// The first value under `segs` (keys, `*` any key, `[]` any item) that is neither null nor of
/// type `ty`, with its path.
fn find_misfit<'v>(
    v: &'v Value,
    segs: &[&str],
    ty: Ty,
    path: &mut Vec<PathSeg>,
) -> Option<(Vec<PathSeg>, &'v Value)> {
    let Some((first, rest)) = segs.split_first() else {
        return (!v.is_null() && !ty.fits(v)).then(|| (path.clone(), v));
    };
    match (*first, v) {
        ("[]", Value::Array(items)) => items.iter().enumerate().find_map(|(i, x)| {
            path.push(PathSeg::Index(i));
            let r = find_misfit(x, rest, ty, path);
            path.pop();
            r
        }),
        ("*", Value::Object(m)) => m.iter().find_map(|(k, x)| {
            path.push(PathSeg::Key(k.clone()));
            let r = find_misfit(x, rest, ty, path);
            path.pop();
            r
        }),
        (key, Value::Object(m)) if key != "[]" && key != "*" => {
            let x = m.get(key)?;
            path.push(PathSeg::Key(key.to_string()));
            let r = find_misfit(x, rest, ty, path);
            path.pop();
            r
        }
        // A parent of the wrong type is reported by its own entry.
        _ => None,
    }
}
