//! Kubernetes manifests: one YAML/JSON stream to resources, `kind: List` unpacked, Secret values
//! redacted, and every field's span kept.

use std::sync::Arc;

use serde_json::Value;

use crate::model::{
    locate_tree, Diagnostic, Origin, PathSeg, Pos, Resource, SourceFile, Span, SpanIndex, SpanNode,
    Stash,
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
    parse_manifest(path, text, false)
}

/// [`parse_owned`] keeping the resources of whole documents stashed (see
/// [`SpanIndex::Stashed`]) when the file's text is shown as read: a resource then holds its
/// identity and where its document is, and its body and span tree are read again when
/// needed. For the manifests of a scan, whose resources are held from loading to the end of
/// evaluation.
#[must_use]
pub fn parse_stashed(path: &str, text: String) -> (Parsed, Arc<SourceFile>) {
    parse_manifest(path, text, true)
}

fn parse_manifest(path: &str, text: String, stash: bool) -> (Parsed, Arc<SourceFile>) {
    let mut out = Parsed::default();
    let mut masks = Masks::default();
    // The resources point at this until the shown text is known, then at the file.
    let unshown = Arc::new(SourceFile {
        path: path.to_string(),
        text: String::new(),
    });
    let mut index = 0;
    // A directive before a document changes how it reads: such a file is held whole.
    let stash = stash && !text.starts_with('%') && !text.contains("\n%");
    let mut lines = LineStarts::new(&text);
    let error = yaml::parse_each(&text, |doc| {
        let masked = masks.ranges.len() + masks.comment_lines.len();
        let whole = unpack(
            doc,
            index,
            &unshown,
            &mut out.resources,
            &mut out.diagnostics,
            &mut masks,
        );
        index += 1;
        // Stashed as soon as it is read, so that the trees of the whole file are never held
        // at once; not a document with masked values (its body is not its text).
        if stash && whole && masked == masks.ranges.len() + masks.comment_lines.len() {
            if let Some(r) = out.resources.last_mut() {
                stash_resource(r, &mut lines);
            }
        }
    });
    if let Some(e) = error {
        out.diagnostics
            .insert(0, syntax_diagnostic(path, &text, &e));
    }
    // Documents are read back from the shown text, so only from a text shown as read: when
    // anything is masked, the stashed documents are read again now, from the text as read.
    let broken = out
        .diagnostics
        .iter()
        .find(|d| d.code != "not-kubernetes")
        .and_then(|d| d.pos);
    if !masks.ranges.is_empty() || !masks.comment_lines.is_empty() || broken.is_some() {
        out.resources
            .retain_mut(|r| unstash(r, &text, &mut out.diagnostics));
    }
    let mut shown = if masks.ranges.is_empty() {
        text
    } else {
        mask(&text, &masks.ranges)
    };
    if !masks.comment_lines.is_empty() {
        shown = mask_comments(&shown, &masks.comment_lines);
    }
    if let Some(line) = broken.map(|p| p.line) {
        shown = mask_values_of_broken_document(shown, line);
    }
    let file = Arc::new(SourceFile {
        path: path.to_string(),
        text: shown,
    });
    // In place: a second list of every resource would double the peak of a large file.
    for r in &mut out.resources {
        if let Origin::File { file: f, .. } = &mut r.origin {
            *f = file.clone();
        }
    }
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

/// Stashes a resource read from a whole document, when it can be read back alone.
fn stash_resource(r: &mut Resource, lines: &mut LineStarts) {
    let Origin::File { span, spans, .. } = &mut r.origin else {
        return;
    };
    let SpanIndex::Tree(nodes) = spans else {
        return;
    };
    if let Some(at) = stash_of(lines, *span, nodes) {
        *spans = SpanIndex::Stashed(at);
        r.body = Value::Null;
    }
}

/// Reads a stashed resource back from `text`; `false` (with an error) when it cannot be.
fn unstash(r: &mut Resource, text: &str, diags: &mut Vec<Diagnostic>) -> bool {
    let Origin::File {
        spans: SpanIndex::Stashed(at),
        ..
    } = &r.origin
    else {
        return true;
    };
    let Some((body, nodes)) = at.read_from(text) else {
        diags.push(Diagnostic::not_read_again(r));
        return false;
    };
    if let Origin::File { spans, .. } = &mut r.origin {
        *spans = SpanIndex::Tree(nodes);
    }
    r.body = body;
    true
}

/// Byte offsets of line starts, found walking forward (documents come in order).
struct LineStarts<'a> {
    text: &'a str,
    line: u32,
    offset: usize,
}

impl<'a> LineStarts<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            line: 1,
            offset: 0,
        }
    }

    /// Where 1-based `line` starts (the end of the text past the last line); `None` for a
    /// line before the last one asked.
    fn of(&mut self, line: u32) -> Option<usize> {
        if line < self.line {
            return None;
        }
        while self.line < line {
            match self.text[self.offset..].find('\n') {
                Some(i) => self.offset += i + 1,
                None => {
                    self.offset = self.text.len();
                    break;
                }
            }
            self.line += 1;
        }
        Some(self.offset)
    }
}

/// Where a whole document's lines are, for a stash; `None` when it cannot be read back
/// alone: it shares a line with another, or a block scalar keeps trailing line breaks that
/// a cut after its last line would lose.
fn stash_of(lines: &mut LineStarts, span: Span, nodes: &[SpanNode]) -> Option<Stash> {
    let root = nodes.first()?;
    let start = lines.of(span.start.line)?;
    // A node that ends at column 1 ends with the line before.
    let last = if root.end.column <= 1 {
        root.end.line.saturating_sub(1)
    } else {
        root.end.line
    };
    let end = lines.of(last.max(span.start.line) + 1)?;
    let text = lines.text.get(start..end)?;
    let keeps_breaks = text.match_indices('+').any(|(i, _)| {
        text[..i]
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .ends_with(['|', '>'])
    });
    if keeps_breaks || !text.ends_with('\n') && end != lines.text.len() {
        return None;
    }
    Some(Stash {
        start,
        end,
        first_line: span.start.line,
        nodes: u32::try_from(nodes.len()).ok()?,
        read: read_back,
    })
}

/// Reads a stashed document again: its body and span tree, its lines numbered from
/// `first_line`.
fn read_back(text: &str, first_line: u32) -> Option<(Value, Arc<[SpanNode]>)> {
    let (mut docs, error) = yaml::parse_stream(text);
    if error.is_some() || docs.len() != 1 {
        return None;
    }
    let Document { value, nodes, .. } = docs.pop()?;
    let shift = first_line.checked_sub(1)?;
    let nodes: Arc<[SpanNode]> = nodes
        .into_iter()
        .map(|mut n| {
            n.key.line += shift;
            n.start.line += shift;
            n.end.line += shift;
            n
        })
        .collect();
    Some((value, nodes))
}

/// What of a file's text must not be shown: Secret values, and the lines of Secret fields
/// whose comments are masked too.
#[derive(Default)]
struct Masks {
    ranges: Vec<(Pos, Pos)>,
    /// First and last line of each Secret `data`/`stringData` field.
    comment_lines: Vec<(u32, u32)>,
}

/// Turns a document into its resources (the items of a `kind: List`), pointing at `file`.
/// Returns whether it became one resource of its own, the last of `out`.
fn unpack(
    doc: Document,
    index: usize,
    file: &Arc<SourceFile>,
    out: &mut Vec<Resource>,
    diags: &mut Vec<Diagnostic>,
    masks: &mut Masks,
) -> bool {
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
                .in_file(&file.path)
                .at(span.start),
            );
        }
        return false;
    };
    if kind.ends_with("List") {
        if let Some(items) = value.get("items").and_then(Value::as_array) {
            let Some(offset) = child_offset(&nodes, &value, "items") else {
                return false;
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
                    file,
                    out,
                    diags,
                    masks,
                );
                at += size;
            }
            return false;
        }
    }
    let origin = Origin::File {
        file: file.clone(),
        span,
        spans: SpanIndex::Tree(nodes.into()),
    };
    Resource::from_k8s(value, origin)
        .map(|r| out.push(r))
        .is_some()
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

    /// Every resource of `text` read stashed then hydrated equals the resource read whole:
    /// identity, body and span tree. Returns how many were stashed.
    fn round_trip(text: &str) -> usize {
        let (whole, _) = parse("f.yaml", text);
        let (stashed, _) = parse_stashed("f.yaml", text.to_string());
        assert_eq!(whole.resources.len(), stashed.resources.len(), "{text}");
        assert_eq!(whole.diagnostics.len(), stashed.diagnostics.len());
        let mut count = 0;
        for (a, b) in whole.resources.iter().zip(&stashed.resources) {
            count += usize::from(b.is_stashed());
            let b = b.hydrated().expect("reads back");
            assert_eq!(
                (&a.kind, &a.namespace, &a.name),
                (&b.kind, &b.namespace, &b.name)
            );
            assert_eq!(a.body, b.body, "{text}");
            let (
                Origin::File {
                    spans: sa,
                    span: pa,
                    ..
                },
                Origin::File {
                    spans: sb,
                    span: pb,
                    ..
                },
            ) = (&a.origin, &b.origin)
            else {
                panic!("file origins");
            };
            assert_eq!(pa, pb);
            assert_eq!(format!("{sa:?}"), format!("{sb:?}"), "{text}");
        }
        count
    }

    #[test]
    fn stashed_documents_read_back_as_first_read() {
        let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: blog\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n";
        let cases = [
            (deployment.to_string(), 1),
            (format!("---\n{deployment}---\n{deployment}"), 2),
            (format!("# head\n\n{deployment}\n# between\n---\n\n{deployment}\n\n"), 2),
            (format!("{deployment}...\n---\n{deployment}"), 2),
            (deployment.replace('\n', "\r\n"), 1),
            (deployment.trim_end().to_string(), 1),
            ("--- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n--- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}".to_string(), 2),
            ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\ndata:\n  a: |\n    one\n    two\n\n  b: >-\n    folded\n    text\n  c: |\n    last\n".to_string(), 1),
            ("{\"apiVersion\": \"v1\", \"kind\": \"Service\",\n \"metadata\": {\"name\": \"j\"}}\n".to_string(), 1),
            ("apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: x\ndata:\n  <<: {k: v}\n  other: *m\n".to_string(), 1),
            // Kept trailing line breaks are not cut: such a document stays whole.
            ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: k\ndata:\n  a: |+\n    kept\n\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: l\n".to_string(), 1),
            // List items are not stashed.
            ("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: a\n".to_string(), 0),
            // A Secret's file is shown masked: nothing of it is read back.
            (format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  p: aHVudGVyMg==\n---\n{deployment}"), 0),
            // ... also when the Secret comes after a stashed document, which is read again.
            (format!("{deployment}---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  p: hunter2\n"), 0),
            // A broken document may be a Secret: the text is shown masked.
            (format!("{deployment}---\nkind: Secret\ndata: [unclosed\n"), 0),
            // A directive changes how the documents after it read.
            (format!("%YAML 1.2\n---\n{deployment}"), 0),
        ];
        for (text, stashed) in cases {
            assert_eq!(round_trip(&text), stashed, "{text}");
        }
    }

    #[test]
    fn every_sample_manifest_reads_back_as_first_read() {
        let mut stashed = 0;
        let mut dirs = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path
                    .extension()
                    .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
                {
                    stashed += round_trip(&std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        assert!(stashed > 20, "{stashed}");
    }

    #[test]
    fn non_kubernetes_documents_are_noted() {
        let (parsed, _) = parse("values.yaml", "replicas: 3\n");
        assert!(parsed.resources.is_empty());
        assert_eq!(parsed.diagnostics[0].code, "not-kubernetes");
    }
}
