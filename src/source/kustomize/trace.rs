//! Tracing rendered objects back to the files users edit, from kustomize's origin annotations:
//! the source document, the patches that may have changed it, or the generator entry.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::graph::{normalise, Kustomization};
use crate::model::{locate_index, Layer, PathSeg, Pos, SourceFile, Span, SpanNode};
use crate::syntax::yaml;

/// The annotation kustomize writes with `buildMetadata: [originAnnotations]`.
pub const ORIGIN: &str = "config.kubernetes.io/origin";

/// One document of a source file: what a rendered object may come from.
#[derive(Debug)]
pub struct SourceDoc {
    /// Kind and name as declared: what a rendered object is matched on.
    pub kind: String,
    pub name: String,
    /// Spans and content of the document, shared by every object rendered from it.
    pub nodes: Arc<[SpanNode]>,
    pub body: Arc<Value>,
}

/// A manifest file that kustomizations list, parsed once for every root.
#[derive(Debug)]
pub struct SourceManifest {
    pub file: Arc<SourceFile>,
    pub docs: Vec<SourceDoc>,
}

/// A patch of a kustomization and the objects it targets.
#[derive(Debug)]
pub struct Patch {
    kind: Option<String>,
    name: Option<String>,
    /// The patch's content and where it is.
    pub layer: Layer,
}

impl Patch {
    /// Whether the patch may apply to a rendered object of `kind` named `name` (kustomize
    /// adds prefixes and suffixes, so the target name is looked for inside the name).
    #[must_use]
    pub fn targets(&self, kind: &str, name: &str) -> bool {
        self.kind.as_deref().is_none_or(|k| k == kind)
            && self.name.as_deref().is_none_or(|n| name.contains(n))
    }
}

/// What one kustomization contributes to tracing, shared by every root that includes it.
#[derive(Debug)]
pub struct Facts {
    /// Its file as reporters show it (secretGenerator literals masked).
    pub file: Arc<SourceFile>,
    pub patches: Vec<Patch>,
}

/// Where an object came from, as kustomize says.
#[derive(Debug, Default)]
pub struct Origin {
    pub path: Option<PathBuf>,
    pub repo: Option<String>,
    pub configured_in: Option<PathBuf>,
    pub configured_by: Option<String>,
}

/// Removes the origin annotation from a rendered object and reads it; paths are resolved
/// against the wrapper directory they are relative to.
pub fn take_origin(body: &mut Value, wrapper: &Path) -> Origin {
    let Some(annotations) = body
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    else {
        return Origin::default();
    };
    let text = annotations
        .remove(ORIGIN)
        .and_then(|v| v.as_str().map(str::to_string));
    if annotations.is_empty() {
        if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("annotations");
        }
    }
    let Some(text) = text else {
        return Origin::default();
    };
    let (docs, _) = yaml::parse_stream(&text);
    let Some(v) = docs.first().map(|d| &d.value) else {
        return Origin::default();
    };
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    Origin {
        path: s("path").map(|p| normalise(&wrapper.join(p))),
        repo: s("repo"),
        configured_in: s("configuredIn").map(|p| normalise(&wrapper.join(p))),
        configured_by: v
            .get("configuredBy")
            .and_then(|b| b.get("kind"))
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

/// The span of a node.
fn span(n: &SpanNode) -> Span {
    Span {
        start: n.key,
        end: n.end,
    }
}

/// The span of the field at `path` of a kustomization, if it exists.
#[must_use]
pub fn field(k: &Kustomization, path: &[PathSeg]) -> Option<Span> {
    let doc = k.doc.as_ref()?;
    let (idx, found) = locate_index(&doc.nodes, &doc.value, path)?;
    (found == path.len()).then(|| span(&doc.nodes[idx]))
}

/// The `resources` (or `bases`) entry of `k` that names `file` or, for a remote object,
/// `repo`.
#[must_use]
pub fn resource_entry(k: &Kustomization, file: Option<&Path>, repo: Option<&str>) -> Option<Span> {
    if let Some(f) = file {
        let (field_name, i, _) = k.entries.iter().find(|(_, _, p)| p == f)?;
        return field(k, &[PathSeg::Key((*field_name).into()), PathSeg::Index(*i)]);
    }
    let repo = repo?.trim_end_matches(".git");
    let doc = k.doc.as_ref()?;
    for field_name in ["resources", "bases"] {
        let list = doc.value.get(field_name).and_then(Value::as_array);
        for (i, e) in list.into_iter().flatten().enumerate() {
            if e.as_str().is_some_and(|e| e.contains(repo)) {
                return field(k, &[PathSeg::Key(field_name.into()), PathSeg::Index(i)]);
            }
        }
    }
    None
}

/// The generator entry of `k` (`configMapGenerator`, `secretGenerator`, …) that made an
/// object named `rendered`: the entry with the longest name inside it. Returns its span and
/// its name.
#[must_use]
pub fn generator_entry(k: &Kustomization, by: &str, rendered: &str) -> Option<(Span, String)> {
    let doc = k.doc.as_ref()?;
    let mut field_name = by.to_string();
    if let Some(first) = field_name.get(..1) {
        field_name = first.to_lowercase() + &field_name[1..];
    }
    let Some(list) = doc.value.get(&field_name).and_then(Value::as_array) else {
        return field(k, &[PathSeg::Key(field_name)]).map(|s| (s, String::new()));
    };
    let (i, name) = list
        .iter()
        .enumerate()
        .filter_map(|(i, g)| Some((i, g.get("name")?.as_str()?)))
        .filter(|(_, n)| !n.is_empty() && rendered.contains(n))
        .max_by_key(|(_, n)| n.len())?;
    let s = field(k, &[PathSeg::Key(field_name), PathSeg::Index(i)])?;
    Some((s, name.to_string()))
}

/// Reads the patches of a kustomization, each as a layer with spans in its own file (an
/// inline patch: in the kustomization, at the lines of the patch text).
pub fn patches(
    k: &Kustomization,
    own: &Arc<SourceFile>,
    files: &HashMap<PathBuf, Arc<SourceManifest>>,
) -> Vec<Patch> {
    let Some(doc) = &k.doc else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut add =
        |text: &str, file: &Arc<SourceFile>, shift: &dyn Fn(Pos) -> Pos, target: Option<&Value>| {
            let (docs, _) = yaml::parse_stream(text);
            let target_kind = target
                .and_then(|t| t.get("kind"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let target_name = target
                .and_then(|t| t.get("name"))
                .and_then(Value::as_str)
                .map(str::to_string);
            for d in docs {
                let nodes: Vec<SpanNode> = d
                    .nodes
                    .iter()
                    .map(|n| SpanNode {
                        key: shift(n.key),
                        start: shift(n.start),
                        end: shift(n.end),
                        size: n.size,
                    })
                    .collect();
                if let Some(ops) = d.value.as_array() {
                    for (i, op) in ops.iter().enumerate() {
                        let kind = op.get("op").and_then(Value::as_str);
                        let (Some("add" | "replace"), Some(value), Some(at)) = (
                            kind,
                            op.get("value"),
                            op.get("path").and_then(Value::as_str),
                        ) else {
                            continue;
                        };
                        let Some(at) = parse_pointer(at) else {
                            continue;
                        };
                        let path = [PathSeg::Index(i), PathSeg::Key("value".into())];
                        let Some((idx, 2)) = locate_index(&nodes, &d.value, &path) else {
                            continue;
                        };
                        let size = nodes[idx].size as usize;
                        out.push(Patch {
                            kind: target_kind.clone(),
                            name: target_name.clone(),
                            layer: Layer {
                                file: file.clone(),
                                nodes: nodes[idx..idx + size].into(),
                                body: Arc::new(value.clone()),
                                at,
                            },
                        });
                    }
                } else if d.value.is_object() {
                    let own_kind = d
                        .value
                        .get("kind")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    let own_name = d
                        .value
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    out.push(Patch {
                        kind: target_kind.clone().or(own_kind),
                        name: if target.is_some() {
                            target_name.clone()
                        } else {
                            own_name
                        },
                        layer: Layer {
                            file: file.clone(),
                            nodes: nodes.into(),
                            body: Arc::new(d.value),
                            at: Vec::new(),
                        },
                    });
                }
            }
        };
    let id = |p: Pos| p;
    for field_name in ["patches", "patchesJson6902", "patchesStrategicMerge"] {
        let list = doc.value.get(field_name).and_then(Value::as_array);
        for (i, item) in list.into_iter().flatten().enumerate() {
            let (path, inline, target) = match item {
                Value::String(s) if s.contains('\n') => (None, Some((s.as_str(), vec![])), None),
                Value::String(s) => (Some(s.as_str()), None, None),
                Value::Object(_) => (
                    item.get("path").and_then(Value::as_str),
                    item.get("patch")
                        .and_then(Value::as_str)
                        .map(|s| (s, vec![PathSeg::Key("patch".into())])),
                    item.get("target"),
                ),
                _ => continue,
            };
            if let Some(p) = path {
                let abs = normalise(&k.dir.join(p));
                if let Some(m) = files.get(&abs) {
                    if let Ok(text) = std::fs::read_to_string(&abs) {
                        add(&text, &m.file, &id, target);
                    }
                }
            }
            if let Some((text, sub)) = inline {
                let mut at = vec![PathSeg::Key(field_name.into()), PathSeg::Index(i)];
                at.extend(sub);
                let Some((idx, found)) = locate_index(&doc.nodes, &doc.value, &at) else {
                    continue;
                };
                if found != at.len() {
                    continue;
                }
                let node = doc.nodes[idx];
                let shift = block_shift(&k.text, node);
                add(text, own, &*shift, target);
            }
        }
    }
    out
}

/// Maps positions in a scalar's text to positions in the file: a literal block scalar's
/// lines start on the next line at its indentation; any other scalar maps to itself.
fn block_shift(text: &str, node: SpanNode) -> Box<dyn Fn(Pos) -> Pos> {
    let line_of = |n: u32| text.lines().nth(n.saturating_sub(1) as usize).unwrap_or("");
    let is_literal = |l: &str| {
        let t = l.trim_end();
        t.ends_with('|') || t.ends_with("|-") || t.ends_with("|+")
    };
    // The parser may place a block scalar at its indicator or at its first content line.
    let first = if is_literal(line_of(node.start.line)) {
        node.start.line + 1
    } else if is_literal(line_of(node.start.line.saturating_sub(1))) {
        node.start.line
    } else {
        return Box::new(move |_| node.start);
    };
    let indent = line_of(first).chars().take_while(|c| *c == ' ').count();
    let indent = u32::try_from(indent).unwrap_or(0);
    Box::new(move |p: Pos| Pos {
        line: p.line + first - 1,
        column: p.column + indent,
    })
}

/// A JSON pointer as path steps (`/spec/containers/0` → spec, containers, 0). `None` for
/// the append step `-`, whose index is not known here.
fn parse_pointer(p: &str) -> Option<Vec<PathSeg>> {
    let mut out = Vec::new();
    for part in p.split('/').skip(1) {
        if part == "-" {
            return None;
        }
        let part = part.replace("~1", "/").replace("~0", "~");
        out.push(match part.parse::<usize>() {
            Ok(i) => PathSeg::Index(i),
            Err(_) => PathSeg::Key(part),
        });
    }
    Some(out)
}
