//! A rendered object (kustomize) traced back to the files users edit: the document that
//! declared it, the patches that changed it, and the kustomization entry that brought it in.
//!
//! Rules see the rendered object; reporters need the place a user would change. [`Trace::place`]
//! answers, for one field path of the rendered object, which of those files sets it and where.

use std::sync::Arc;

use serde_json::Value;

use super::resource::{locate_index, PathSeg, SourceFile, Span, SpanNode};

/// One file's contribution to a rendered object: a source document or a patch.
#[derive(Clone, Debug)]
pub struct Layer {
    /// The file findings point into when this layer sets the field.
    pub file: Arc<SourceFile>,
    /// Node spans of `body`, in pre-order (the subtree of a JSON 6902 operation's `value`).
    pub nodes: Arc<[SpanNode]>,
    /// The layer's content as written, aligned with `nodes`.
    pub body: Arc<Value>,
    /// Where `body` sits in the rendered object: empty for a document or a strategic-merge
    /// patch, the operation's path for a JSON 6902 `add`/`replace`.
    pub at: Vec<PathSeg>,
}

/// Where every field of one rendered object comes from.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The document that declared the object; `None` for a generator's object.
    pub source: Option<Layer>,
    /// Patches that may have changed the object, in the order kustomize applies them.
    pub patches: Vec<Layer>,
    /// The kustomization entry that brought the object in (a generator entry, a resource
    /// entry): where an untraceable field points, never line 1 by default.
    pub entry: (Arc<SourceFile>, Span),
    /// The kustomize roots that render this object (display paths of their directories).
    pub roots: Vec<String>,
    /// The object's name where it is declared, before prefixes, suffixes and hashes: its
    /// identity across roots.
    pub source_name: String,
}

/// Fields every patch repeats to name its target: never attributed to the patch.
const IDENTITY: &[&[&str]] = &[
    &["apiVersion"],
    &["kind"],
    &["metadata", "name"],
    &["metadata", "namespace"],
];

impl Layer {
    /// Finds `path` (of the rendered object) in this layer: the deepest node, how many steps
    /// of `path` exist here (counting `at`), and whether the layer's value equals the
    /// rendered one. `None` when the path does not lead into this layer.
    fn find(&self, rendered: &Value, path: &[PathSeg]) -> Option<(SpanNode, usize, bool)> {
        let rest = path.strip_prefix(self.at.as_slice())?;
        let mut here = rendered;
        for seg in &self.at {
            here = step(here, seg)?;
        }
        // Translate list indices: kustomize merges lists of named items by name, so the
        // rendered index of a container need not be its index in this file.
        let mut translated = Vec::with_capacity(rest.len());
        let mut mine: &Value = &self.body;
        let mut equal = true;
        for seg in rest {
            let Some(next_rendered) = step(here, seg) else {
                equal = false;
                break;
            };
            let seg = match (seg, mine) {
                (PathSeg::Index(i), Value::Array(items)) => {
                    match next_rendered.get("name").and_then(Value::as_str) {
                        Some(name) => {
                            let Some(j) = items
                                .iter()
                                .position(|v| v.get("name").and_then(Value::as_str) == Some(name))
                            else {
                                equal = false;
                                break;
                            };
                            PathSeg::Index(j)
                        }
                        None => PathSeg::Index(*i),
                    }
                }
                _ => seg.clone(),
            };
            let Some(next_mine) = step(mine, &seg) else {
                equal = false;
                break;
            };
            translated.push(seg);
            here = next_rendered;
            mine = next_mine;
        }
        let equal = equal && translated.len() == rest.len() && mine == here;
        let (idx, found) = locate_index(&self.nodes, &self.body, &translated)?;
        Some((*self.nodes.get(idx)?, self.at.len() + found, equal))
    }
}

fn step<'a>(v: &'a Value, seg: &PathSeg) -> Option<&'a Value> {
    match (v, seg) {
        (Value::Object(m), PathSeg::Key(k)) => m.get(k),
        (Value::Array(a), PathSeg::Index(i)) => a.get(*i),
        _ => None,
    }
}

impl Trace {
    /// The file and node of the field at `path` of the `rendered` object, and how many of its
    /// steps exist there.
    ///
    /// The last patch that sets the field to its rendered value wins; otherwise the file
    /// that holds the deepest part of the path (the source document on a tie); without a
    /// source document, the kustomization entry.
    #[must_use]
    pub fn place(&self, rendered: &Value, path: &[PathSeg]) -> (&Arc<SourceFile>, SpanNode, usize) {
        let entry = SpanNode {
            key: self.entry.1.start,
            start: self.entry.1.start,
            end: self.entry.1.end,
            size: 1,
        };
        let mut best: (&Arc<SourceFile>, SpanNode, usize) = (&self.entry.0, entry, 0);
        if let Some(src) = &self.source {
            if let Some((node, found, _)) = src.find(rendered, path) {
                best = (&src.file, node, found);
            }
        }
        let identity = IDENTITY.iter().any(|id| {
            id.len() == path.len()
                && id
                    .iter()
                    .zip(path)
                    .all(|(k, s)| matches!(s, PathSeg::Key(x) if x == k))
        });
        let mut set_by: Option<(&Arc<SourceFile>, SpanNode, usize)> = None;
        for patch in &self.patches {
            let Some((node, found, equal)) = patch.find(rendered, path) else {
                continue;
            };
            if equal && found == path.len() && !identity {
                set_by = Some((&patch.file, node, found));
            } else if found > best.2 {
                best = (&patch.file, node, found);
            }
        }
        set_by.unwrap_or(best)
    }
}
