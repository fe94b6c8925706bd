//! The canonical resource: one Kubernetes object or one AWS object, with where it came from.
//!
//! A rule sees only [`Resource::body`]. Reporters use [`Origin`] to turn a rule's field path
//! into an exact file span, so rules never count lines.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A 1-based line and column (columns count Unicode code points).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

/// A region of a source file, from the start of a field (its key, when it has one) to the end
/// of its value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    /// The span as viewers want it: 1-based, the end not before the start, and at least one
    /// column wide on a single line (an empty region is not shown).
    #[must_use]
    pub fn visible(self) -> Self {
        let start = Pos {
            line: self.start.line.max(1),
            column: self.start.column.max(1),
        };
        let end_line = self.end.line.max(start.line);
        let end_column = if end_line > start.line {
            self.end.column.max(1)
        } else {
            self.end.column.max(start.column + 1)
        };
        Self {
            start,
            end: Pos {
                line: end_line,
                column: end_column,
            },
        }
    }
}

/// One step of a field path: an object key or an array index.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

/// A string is a key, a number an index (as serialized). Written out rather than derived:
/// an untagged enum buffers every value before it tries the variants, and the scan cache
/// reads millions of steps.
impl<'de> Deserialize<'de> for PathSeg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Step;
        impl serde::de::Visitor<'_> for Step {
            type Value = PathSeg;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key (string) or an index (number)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PathSeg, E> {
                Ok(PathSeg::Key(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<PathSeg, E> {
                Ok(PathSeg::Key(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PathSeg, E> {
                usize::try_from(v)
                    .map(PathSeg::Index)
                    .map_err(|_| E::custom("index out of range"))
            }
        }
        d.deserialize_any(Step)
    }
}

impl PathSeg {
    /// Parses a path step as Rego returns it: strings are keys, numbers are indices.
    #[must_use]
    pub fn from_json(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) => Some(Self::Key(s.clone())),
            Value::Number(n) => n
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .map(Self::Index),
            _ => None,
        }
    }
}

/// Renders a field path as a JSON pointer (`/spec/containers/0/image`).
#[must_use]
pub fn pointer(path: &[PathSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        out.push('/');
        match seg {
            PathSeg::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
            PathSeg::Index(i) => out.push_str(&i.to_string()),
        }
    }
    out
}

/// A source file as read, shared by every resource parsed from it.
///
/// `text` is what reporters may show: Secret values are already masked in it.
#[derive(Debug, Serialize, Deserialize)]
pub struct SourceFile {
    /// Path relative to the scan root, with `/` separators (what SARIF and humans see).
    pub path: String,
    pub text: String,
}

/// Where the fields of a resource sit in its source.
#[derive(Clone, Debug)]
pub enum SpanIndex {
    /// A YAML/JSON document: node spans in pre-order, aligned with the body's structure.
    Tree(Arc<[SpanNode]>),
    /// A rendered resource (kustomize) traced back to its source document, patches and
    /// kustomization entry: each field resolves in the file that sets it.
    Rendered(Arc<super::rendered::Trace>),
    /// A resource assembled from other syntax (Terraform): explicit field path → span pairs.
    /// Lookup takes the longest recorded prefix of the requested path.
    Map(Vec<(Vec<PathSeg>, Span)>),
    /// Neither the body nor its span tree is held: both are read again from the file's text
    /// when a stage needs them ([`Resource::hydrated`]). A large manifest's resources are
    /// kept this way between loading and evaluation.
    Stashed(Stash),
}

/// Where a stashed resource's document sits in its file, and how to read it again.
#[derive(Clone, Copy, Debug)]
pub struct Stash {
    /// Byte range of the document's lines in the file's text.
    pub start: usize,
    pub end: usize,
    /// The line of the file where that range starts.
    pub first_line: u32,
    /// How many nodes the document had when it was first read: the read-back must match.
    pub nodes: u32,
    /// Reads a document's text again (its lines numbered from `first_line`): its body and
    /// span tree, or `None`.
    pub read: ReadBack,
}

/// How a stashed document is read again: from its text, its lines numbered from the given
/// one, to its body and span tree.
pub type ReadBack = fn(&str, u32) -> Option<(Value, Arc<[SpanNode]>)>;

impl Stash {
    /// Reads the document again from its file's `text`: its body and span tree, or `None`
    /// when it no longer reads as it did.
    #[must_use]
    pub fn read_from(&self, text: &str) -> Option<(Value, Arc<[SpanNode]>)> {
        let (body, nodes) = (self.read)(text.get(self.start..self.end)?, self.first_line)?;
        (nodes.len() == self.nodes as usize).then_some((body, nodes))
    }
}

/// One node of a [`SpanIndex::Tree`].
#[derive(Clone, Copy, Debug)]
pub struct SpanNode {
    /// Where the node's key starts, for a mapping value; the node start otherwise.
    pub key: Pos,
    pub start: Pos,
    pub end: Pos,
    /// Number of nodes in this subtree, itself included.
    pub size: u32,
}

/// Where a resource came from.
#[derive(Clone, Debug)]
pub enum Origin {
    /// A file in the scanned tree.
    File {
        file: Arc<SourceFile>,
        /// Span of the whole resource (the fallback for any missing field).
        span: Span,
        spans: SpanIndex,
    },
    /// An object known only by reference (a cluster object or an ARN).
    Object { reference: String },
}

/// One resource of any kind, as the rules see it.
#[derive(Clone, Debug)]
pub struct Resource {
    /// `Deployment`, `Service`, … or a canonical AWS kind such as `aws:EcrRepository`.
    pub kind: String,
    /// Empty for cluster-scoped objects and AWS resources.
    pub namespace: String,
    pub name: String,
    pub body: Value,
    pub origin: Origin,
    /// Suppressions written beside the resource in its own syntax (a `# blogaudit:ignore`
    /// comment above a Terraform resource). A Kubernetes object's annotation stays in its
    /// body, where the cluster keeps it too.
    pub ignores: Vec<InlineIgnore>,
}

/// A suppression written in the source next to a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlineIgnore {
    /// `ID: reason [until=YYYY-MM-DD]`: the same form as one entry of the annotation.
    pub entry: String,
    /// Where it is written: the display path of its file (the resource's own, or the file of
    /// a module call above it) and its span.
    pub file: String,
    pub span: Span,
}

/// Kubernetes kinds that are not namespaced (the rest default to `default`).
pub const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "ClusterIssuer",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "CustomResourceDefinition",
    "GatewayClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
    "APIService",
];

impl Resource {
    /// Builds a resource from a Kubernetes object; `None` when it has no `apiVersion`/`kind`.
    #[must_use]
    pub fn from_k8s(body: Value, origin: Origin) -> Option<Self> {
        let kind = body.get("kind")?.as_str()?.to_string();
        body.get("apiVersion")?.as_str()?;
        let meta = body.get("metadata");
        let name = meta
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let namespace = if kind.starts_with("aws:") || CLUSTER_SCOPED.contains(&kind.as_str()) {
            String::new()
        } else {
            meta.and_then(|m| m.get("namespace"))
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string()
        };
        Some(Self {
            kind,
            namespace,
            name,
            body,
            origin,
            ignores: Vec::new(),
        })
    }

    /// Whether the body and span tree are stashed in the file's text (see
    /// [`SpanIndex::Stashed`]).
    #[must_use]
    pub fn is_stashed(&self) -> bool {
        matches!(
            self.origin,
            Origin::File {
                spans: SpanIndex::Stashed(_),
                ..
            }
        )
    }

    /// The text of a stashed resource's document (`None` when it is not stashed): stages
    /// look into it before they pay for [`Resource::hydrated`].
    #[must_use]
    pub fn stashed_text(&self) -> Option<&str> {
        match &self.origin {
            Origin::File {
                file,
                spans: SpanIndex::Stashed(s),
                ..
            } => file.text.get(s.start..s.end),
            _ => None,
        }
    }

    /// The resource with its body and span tree: itself, or for a stashed resource a copy
    /// read again from its file. `None` when the document no longer reads as it did (the
    /// file's text is held unchanged, so this means a reader fault, reported as such).
    #[must_use]
    pub fn hydrated(&self) -> Option<Cow<'_, Self>> {
        let Origin::File {
            file,
            span,
            spans: SpanIndex::Stashed(stash),
        } = &self.origin
        else {
            return Some(Cow::Borrowed(self));
        };
        let (body, nodes) = stash.read_from(&file.text)?;
        Some(Cow::Owned(Self {
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            body,
            origin: Origin::File {
                file: file.clone(),
                span: *span,
                spans: SpanIndex::Tree(nodes),
            },
            ignores: self.ignores.clone(),
        }))
    }

    /// [`Resource::hydrated`], when the resource may hold `needle`: a stashed resource is
    /// read again only when its document's text contains it. For stages that look for one
    /// rare field in every resource.
    #[must_use]
    pub fn hydrated_if(&self, needle: &str) -> Option<Cow<'_, Self>> {
        match self.stashed_text() {
            Some(text) if !text.contains(needle) => None,
            _ => self.hydrated(),
        }
    }

    /// The file this resource was read from, if any.
    #[must_use]
    pub fn file(&self) -> Option<&Arc<SourceFile>> {
        match &self.origin {
            Origin::File { file, .. } => Some(file),
            Origin::Object { .. } => None,
        }
    }

    /// Resolves a field path to the span of that field, or of its nearest existing ancestor.
    /// Returns the span and how many path steps were found.
    #[must_use]
    pub fn locate(&self, path: &[PathSeg]) -> Option<(Span, usize)> {
        self.locate_node(path).map(|(n, found)| {
            (
                Span {
                    start: n.key,
                    end: n.end,
                },
                found,
            )
        })
    }

    /// Like [`Resource::locate`], with the node's key and value positions apart (for fixes).
    #[must_use]
    pub fn locate_node(&self, path: &[PathSeg]) -> Option<(SpanNode, usize)> {
        self.place(path).map(|(_, n, found)| (n, found))
    }

    /// The file that holds the field at `path` (for a rendered object, the source document or
    /// the patch that sets it), its node, and how many steps of `path` exist there.
    #[must_use]
    pub fn place(&self, path: &[PathSeg]) -> Option<(&Arc<SourceFile>, SpanNode, usize)> {
        let Origin::File { file, span, spans } = &self.origin else {
            return None;
        };
        let whole = SpanNode {
            key: span.start,
            start: span.start,
            end: span.end,
            size: 1,
        };
        let (node, found) = match spans {
            SpanIndex::Tree(nodes) => locate_tree(nodes, &self.body, path).unwrap_or((whole, 0)),
            SpanIndex::Rendered(trace) => return Some(trace.place(&self.body, path)),
            // Not held: the whole resource, as for a field that is not there.
            SpanIndex::Stashed(_) => (whole, 0),
            SpanIndex::Map(entries) => entries
                .iter()
                .filter(|(p, _)| path.starts_with(p))
                .max_by_key(|(p, _)| p.len())
                .map_or((whole, 0), |(p, s)| {
                    (
                        SpanNode {
                            key: s.start,
                            start: s.start,
                            end: s.end,
                            size: 1,
                        },
                        p.len(),
                    )
                }),
        };
        Some((file, node, found))
    }

    /// The kustomize roots that rendered this resource; empty for anything else.
    #[must_use]
    pub fn rendered_by(&self) -> &[String] {
        match &self.origin {
            Origin::File {
                spans: SpanIndex::Rendered(t),
                ..
            } => &t.roots,
            _ => &[],
        }
    }

    /// The name the resource has where it is declared (before kustomize's prefixes and
    /// suffixes): the same object rendered by several roots has one identity.
    #[must_use]
    pub fn source_name(&self) -> &str {
        match &self.origin {
            Origin::File {
                spans: SpanIndex::Rendered(t),
                ..
            } if !t.source_name.is_empty() => &t.source_name,
            _ => &self.name,
        }
    }
}

/// Walks the pre-order span tree along `path`, in step with the JSON value it was built from.
/// Returns the deepest node found and how many steps were found.
#[must_use]
pub fn locate_tree(
    nodes: &[SpanNode],
    body: &Value,
    path: &[PathSeg],
) -> Option<(SpanNode, usize)> {
    let (idx, found) = locate_index(nodes, body, path)?;
    Some((*nodes.get(idx)?, found))
}

/// [`locate_tree`] giving the node's index in `nodes` (its subtree follows it).
#[must_use]
pub fn locate_index(nodes: &[SpanNode], body: &Value, path: &[PathSeg]) -> Option<(usize, usize)> {
    let mut idx = 0usize;
    let mut value = body;
    let mut found = 0usize;
    for seg in path {
        let mut child = idx + 1;
        let next = match (value, seg) {
            (Value::Object(map), PathSeg::Key(k)) => {
                let mut hit = None;
                for (key, v) in map {
                    if key == k {
                        hit = Some(v);
                        break;
                    }
                    child += nodes.get(child)?.size as usize;
                }
                hit
            }
            (Value::Array(items), PathSeg::Index(i)) if *i < items.len() => {
                for _ in 0..*i {
                    child += nodes.get(child)?.size as usize;
                }
                items.get(*i)
            }
            _ => None,
        };
        let Some(next) = next else { break };
        value = next;
        idx = child;
        found += 1;
    }
    nodes.get(idx)?;
    Some((idx, found))
}
