//! Kubernetes manifests: one YAML/JSON stream to resources, `kind: List` unpacked, Secret values
//! redacted, and every field's span kept.

use std::sync::Arc;

use serde_json::Value;

use crate::model::{
    locate_tree, Diagnostic, Origin, PathSeg, Pos, Resource, SourceFile, Span, SpanIndex, SpanNode,
};
use crate::syntax::yaml::{self, Document};

/// What replaces a Secret value before any rule or reporter sees it.
pub const REDACTED: &str = "<redacted>";

/// What one manifest file holds.
#[derive(Debug, Default)]
pub struct Parsed {
    pub resources: Vec<Resource>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses a manifest file's text. `path` is the display path.
#[must_use]
pub fn parse(path: &str, text: &str) -> (Parsed, Arc<SourceFile>) {
    parse_owned(path, text.to_string())
}

/// [`parse`] of a text the caller gives up: it becomes the file's shown text when nothing in
/// it is masked, instead of being copied.
///
/// Each document is turned into its resources as soon as it is parsed, so the parse trees of
/// the whole file are never held at once.
#[must_use]
pub fn parse_owned(path: &str, text: String) -> (Parsed, Arc<SourceFile>) {
    let mut out = Parsed::default();
    let mut masks = Masks::default();
    let mut pending = Vec::new();
    let mut index = 0;
    let error = yaml::parse_each(&text, |doc| {
        unpack(
            doc,
            index,
            path,
            &mut pending,
            &mut out.diagnostics,
            &mut masks,
        );
        index += 1;
    });
    if let Some(e) = error {
        out.diagnostics
            .insert(0, syntax_diagnostic(path, &text, &e));
    }
    let mut shown = if masks.ranges.is_empty() {
        text
    } else {
        mask(&text, &masks.ranges)
    };
    if !masks.comment_lines.is_empty() {
        shown = mask_comments(&shown, &masks.comment_lines);
    }
    if let Some(e) = &out.diagnostics.iter().find(|d| d.code != "not-kubernetes") {
        if let Some(pos) = e.pos {
            shown = mask_values_of_broken_document(shown, pos.line);
        }
    }
    let file = Arc::new(SourceFile {
        path: path.to_string(),
        text: shown,
    });
    let mut resources = Vec::with_capacity(pending.len());
    for (body, span, nodes) in pending {
        let origin = Origin::File {
            file: file.clone(),
            span,
            spans: SpanIndex::Tree(nodes),
        };
        resources.extend(Resource::from_k8s(body, origin));
    }
    out.resources = resources;
    (out, file)
}

fn syntax_diagnostic(path: &str, text: &str, e: &yaml::YamlError) -> Diagnostic {
    let helm = text.contains("{{") && text.contains("}}");
    if helm {
        let line = text
            .lines()
            .position(|l| l.contains("{{"))
            .map_or(e.pos.line, |i| u32::try_from(i + 1).unwrap_or(u32::MAX));
        return helm_diagnostic(path, line);
    }
    Diagnostic::error("yaml-syntax", format!("invalid YAML: {}", e.message))
        .in_file(path)
        .at(e.pos)
        .help("fix the syntax; the other documents of this file before the error were checked")
}

/// The diagnostic for a Helm template outside a chart, which is not a manifest until
/// rendered: a warning, since it is knowingly not checked rather than broken.
#[must_use]
pub fn helm_diagnostic(path: &str, line: u32) -> Diagnostic {
    Diagnostic::warning(
        "helm-template",
        "Helm template outside a chart, not checked: render it with `helm template` first",
    )
    .in_file(path)
    .at(Pos { line, column: 1 })
    .help("run `helm template RELEASE CHART > rendered.yaml` and scan the rendered manifests")
}

type Pending = (Value, Span, Arc<[SpanNode]>);

/// What of a file's text must not be shown: Secret values, and the lines of Secret fields
/// whose comments are masked too.
#[derive(Default)]
struct Masks {
    ranges: Vec<(Pos, Pos)>,
    /// First and last line of each Secret `data`/`stringData` field.
    comment_lines: Vec<(u32, u32)>,
}

fn unpack(
    doc: Document,
    index: usize,
    path: &str,
    out: &mut Vec<Pending>,
    diags: &mut Vec<Diagnostic>,
    masks: &mut Masks,
) {
    let Document {
        mut value,
        nodes,
        span,
    } = doc;
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .map(str::to_string);
    // Before the apiVersion check: a Secret skipped with a note is still shown with --verbose.
    if kind.as_deref() == Some("Secret") {
        redact_secret(&mut value, &nodes, masks);
    }
    let has_api = value.get("apiVersion").and_then(Value::as_str).is_some();
    let Some(kind) = kind.filter(|_| has_api) else {
        if !value.is_null() {
            diags.push(
                Diagnostic::note(
                    "not-kubernetes",
                    format!("document {} has no apiVersion/kind; skipped", index + 1),
                )
                .in_file(path)
                .at(span.start),
            );
        }
        return;
    };
    if kind.ends_with("List") {
        if let Some(items) = value.get("items").and_then(Value::as_array) {
            let Some(offset) = child_offset(&nodes, &value, "items") else {
                return;
            };
            let mut at = offset + 1;
            for item in items {
                let Some(size) = nodes.get(at).map(|n| n.size as usize) else {
                    break;
                };
                let sub = nodes[at..at + size].to_vec();
                let item_span = Span {
                    start: sub[0].start,
                    end: sub[0].end,
                };
                unpack(
                    Document {
                        value: item.clone(),
                        nodes: sub,
                        span: item_span,
                    },
                    index,
                    path,
                    out,
                    diags,
                    masks,
                );
                at += size;
            }
            return;
        }
    }
    out.push((value, span, nodes.into()));
}

/// Position in `nodes` of the root object's member `key`.
fn child_offset(nodes: &[SpanNode], root: &Value, key: &str) -> Option<usize> {
    let mut at = 1;
    for (k, _) in root.as_object()? {
        if k == key {
            return Some(at);
        }
        at += nodes.get(at)?.size as usize;
    }
    None
}

/// Replaces Secret values (and the last-applied annotation, which repeats them) and records
/// their source ranges so the shown text is masked too.
///
/// Any shape is masked: a mapping value by value (its keys stay visible), anything else (a
/// list, a scalar where a mapping belongs) whole; comments on the field's lines too.
fn redact_secret(value: &mut Value, nodes: &[SpanNode], masks: &mut Masks) {
    for field in ["data", "stringData"] {
        if let Some(at) = child_offset(nodes, value, field) {
            let Some(node) = nodes.get(at) else { continue };
            masks.comment_lines.push((node.key.line, node.end.line));
            let mut child = at + 1;
            match value.get_mut(field) {
                Some(Value::Object(map)) => {
                    for (_, v) in map.iter_mut() {
                        let Some(n) = nodes.get(child) else { break };
                        masks.ranges.push((n.start, n.end));
                        child += n.size as usize;
                        *v = Value::String(REDACTED.to_string());
                    }
                }
                Some(Value::Null) | None => {}
                Some(v) => {
                    // Masked, but of the same type, so a type error still names it rightly.
                    masks.ranges.push((node.start, node.end));
                    *v = match v {
                        Value::Array(_) => Value::Array(vec![Value::String(REDACTED.into())]),
                        Value::Number(_) => Value::from(0),
                        Value::Bool(_) => Value::Bool(false),
                        _ => Value::String(REDACTED.to_string()),
                    };
                }
            }
        }
    }
    let annotation = [
        PathSeg::Key("metadata".into()),
        PathSeg::Key("annotations".into()),
        PathSeg::Key("kubectl.kubernetes.io/last-applied-configuration".into()),
    ];
    if let Some(v) =
        value.pointer_mut("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration")
    {
        *v = Value::String(REDACTED.to_string());
        if let Some((node, 3)) = locate_tree(nodes, value, &annotation) {
            masks.ranges.push((node.start, node.end));
        }
    }
}

/// Masks the comments on lines `first..=last` of each range (values there are masked already,
/// so a `#` left on those lines starts a comment).
fn mask_comments(text: &str, lines: &[(u32, u32)]) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let body = line.trim_end_matches(['\n', '\r']);
        let comment = lines
            .iter()
            .any(|(a, b)| (*a..=*b).contains(&n))
            .then(|| {
                body.char_indices()
                    .find(|&(j, c)| c == '#' && (j == 0 || body[..j].ends_with([' ', '\t'])))
                    .map(|(j, _)| j)
            })
            .flatten();
        match comment {
            Some(j) => {
                out.push_str(&body[..j]);
                out.extend(body[j..].chars().map(|_| '*'));
                out.push_str(&line[body.len()..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// A document that does not parse cannot be redacted field by field. When it may be a
/// Secret, every value from its start to the end of the file is masked (keys stay, so the
/// snippet still shows where the syntax error is).
fn mask_values_of_broken_document(text: String, error_line: u32) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let error_idx = (error_line as usize).saturating_sub(1).min(lines.len());
    let start = lines[..error_idx]
        .iter()
        .rposition(|l| l.trim_end() == "---" || l.starts_with("--- "))
        .map_or(0, |i| i + 1);
    if !lines[start..].iter().any(|l| l.contains("Secret")) {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    for (i, line) in lines.iter().enumerate() {
        if i < start {
            out.push_str(line);
            continue;
        }
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        let cut = body.find(": ").map(|c| c + 2).or_else(|| {
            body.trim_start()
                .starts_with("- ")
                .then(|| body.find("- ").map_or(0, |d| d + 2))
        });
        match cut {
            Some(c) => {
                out.push_str(&body[..c]);
                out.extend(body[c..].chars().map(|_| '*'));
            }
            None => out.push_str(body),
        }
        out.push_str(ending);
    }
    out
}

/// Masks the given ranges with `*`, keeping line breaks so every position stays valid.
pub(crate) fn mask(text: &str, ranges: &[(Pos, Pos)]) -> String {
    if ranges.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let (mut line, mut col) = (1u32, 1u32);
    for ch in text.chars() {
        let here = Pos { line, column: col };
        let inside = ranges.iter().any(|(s, e)| *s <= here && here < *e);
        if inside && ch != '\n' && ch != '\r' {
            out.push('*');
        } else {
            out.push(ch);
        }
        if ch == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_items_keep_their_spans() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: a\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: b\n    namespace: x\n";
        let (parsed, _) = parse("f.yaml", text);
        assert_eq!(parsed.resources.len(), 2);
        let b = &parsed.resources[1];
        assert_eq!(b.namespace, "x");
        let path = [
            PathSeg::Key("metadata".into()),
            PathSeg::Key("namespace".into()),
        ];
        assert_eq!(b.locate(&path).unwrap().0.start.line, 12);
    }

    #[test]
    fn secret_values_are_redacted_everywhere() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  password: aHVudGVyMg==\nstringData:\n  token: hunter2\n";
        let (parsed, file) = parse("s.yaml", text);
        let body = parsed.resources[0].body.to_string();
        assert!(!body.contains("hunter2") && !body.contains("aHVudGVyMg"));
        assert!(!file.text.contains("hunter2") && !file.text.contains("aHVudGVyMg"));
        assert_eq!(file.text.lines().count(), text.lines().count());
    }

    #[test]
    fn non_kubernetes_documents_are_noted() {
        let (parsed, _) = parse("values.yaml", "replicas: 3\n");
        assert!(parsed.resources.is_empty());
        assert_eq!(parsed.diagnostics[0].code, "not-kubernetes");
    }
}
