//! YAML (and JSON, which YAML contains) to JSON values with a span for every node.
//!
//! The parser is driven event by event with an explicit stack, so deep nesting cannot overflow
//! the call stack, and alias expansion is budgeted, so an alias bomb fails fast.

use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span as YSpan, Tag};
use serde_json::{Map, Number, Value};

use crate::model::{Pos, Span, SpanNode};

/// Deepest nesting accepted; Kubernetes objects stay far below it.
pub const MAX_DEPTH: usize = 256;
/// Most nodes that aliases may copy in one file.
pub const ALIAS_BUDGET: usize = 100_000;
/// Most bytes of text (scalars and keys) that aliases may copy in one file: a few aliases to
/// one large scalar copy as much as many aliases to small nodes.
pub const ALIAS_BYTE_BUDGET: usize = 8 * 1024 * 1024;

/// One parsed YAML document.
#[derive(Debug)]
pub struct Document {
    pub value: Value,
    /// Pre-order node spans, aligned with `value`.
    pub nodes: Vec<SpanNode>,
    pub span: Span,
}

/// A problem that stopped parsing, at a position of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
}

/// Parses every document of a stream. Documents before an error are kept.
#[must_use]
pub fn parse_stream(text: &str) -> (Vec<Document>, Option<YamlError>) {
    let mut docs = Vec::new();
    let error = parse_each(text, |doc| docs.push(doc));
    (docs, error)
}

/// Parses every document of a stream, handing each to `each` as soon as it ends, so that a
/// caller keeping only what it needs of each document never holds the trees of the whole
/// stream at once. Returns the problem that stopped parsing; the documents before it were
/// handed over.
pub fn parse_each(text: &str, mut each: impl FnMut(Document)) -> Option<YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_event() {
            None => break,
            Some(Ok((Event::StreamEnd, _))) => break,
            Some(Ok((event, span))) => {
                let result = builder.on_event(event, span);
                if let Some(doc) = builder.done.take() {
                    each(doc);
                }
                if let Err(e) = result {
                    return Some(e);
                }
            }
            Some(Err(e)) => {
                return Some(YamlError {
                    pos: pos(*e.marker()),
                    message: e.info().to_string(),
                });
            }
        }
    }
    None
}

fn pos(m: Marker) -> Pos {
    Pos {
        line: u32::try_from(m.line()).unwrap_or(u32::MAX),
        column: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
    }
}

enum Frame {
    Seq {
        items: Vec<Value>,
        node: usize,
        anchor: usize,
    },
    Map {
        map: Map<String, Value>,
        node: usize,
        anchor: usize,
        key: Option<(String, Pos)>,
    },
}

#[derive(Default)]
struct Builder {
    /// The document that the last event ended.
    done: Option<Document>,
    stack: Vec<Frame>,
    nodes: Vec<SpanNode>,
    /// Anchored nodes: value, node spans, bytes of text (aliases inside expanded).
    anchors: HashMap<usize, (Value, Vec<SpanNode>, usize)>,
    alias_nodes: usize,
    alias_bytes: usize,
    /// Bytes of text in each open collection of `stack` so far (aliases expanded).
    frame_bytes: Vec<usize>,
    root: Option<Value>,
    doc_start: Pos,
}

impl Builder {
    fn err(span: YSpan, message: impl Into<String>) -> YamlError {
        YamlError {
            pos: pos(span.start),
            message: message.into(),
        }
    }

    /// The key position the next node will carry, and whether a key is expected instead.
    fn slot(&mut self) -> Slot {
        match self.stack.last_mut() {
            Some(Frame::Map { key: None, .. }) => Slot::Key,
            Some(Frame::Map {
                key: Some((_, p)), ..
            }) => Slot::Value(Some(*p)),
            _ => Slot::Value(None),
        }
    }

    fn on_event(&mut self, event: Event<'_>, span: YSpan) -> Result<(), YamlError> {
        match event {
            Event::DocumentStart(_) => {
                self.nodes.clear();
                self.anchors.clear();
                self.root = None;
                self.doc_start = pos(span.start);
            }
            Event::DocumentEnd => {
                if let Some(value) = self.root.take() {
                    let end = self.nodes.first().map_or(self.doc_start, |n| n.end);
                    self.done = Some(Document {
                        value,
                        // Exactly as long as it is (the buffer is reused for the next
                        // document).
                        nodes: self.nodes.clone(),
                        span: Span {
                            start: self.doc_start,
                            end,
                        },
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if let Slot::Key = self.slot() {
                    if let Some(b) = self.frame_bytes.last_mut() {
                        *b += text.len();
                    }
                    if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                        *key = Some((exact(text.into_owned()), pos(span.start)));
                    }
                    return Ok(());
                }
                let bytes = text.len().max(1);
                let value = match tag.as_deref() {
                    Some(t) => tagged(t, &text).map_err(|m| Self::err(span, m))?,
                    None if style == ScalarStyle::Plain => resolve_plain(&text),
                    None => Value::String(exact(text.into_owned())),
                };
                let start = pos(span.start);
                let key = self.key_pos(start);
                self.nodes.push(SpanNode {
                    key,
                    start,
                    end: pos(span.end),
                    size: 1,
                });
                if anchor > 0 {
                    let at = self.nodes.len() - 1;
                    self.anchors
                        .insert(anchor, (value.clone(), self.nodes[at..].to_vec(), bytes));
                }
                self.attach(value, bytes, span)?;
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                if let Some(t) = tag.as_deref() {
                    let plain =
                        t.is_yaml_core_schema() && matches!(t.suffix.as_str(), "map" | "seq");
                    if !plain {
                        return Err(Self::err(
                            span,
                            format!(
                                "the tag `{}` on a collection is not read the way the Kubernetes API server reads it; remove it",
                                show_tag(t)
                            ),
                        ));
                    }
                }
                if let Slot::Key = self.slot() {
                    return Err(Self::err(
                        span,
                        "a mapping or sequence used as a key is not supported in Kubernetes manifests",
                    ));
                }
                if self.stack.len() >= MAX_DEPTH {
                    return Err(Self::err(
                        span,
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                    ));
                }
                let start = pos(span.start);
                let key = self.key_pos(start);
                self.nodes.push(SpanNode {
                    key,
                    start,
                    end: start,
                    size: 1,
                });
                let node = self.nodes.len() - 1;
                self.frame_bytes.push(0);
                self.stack
                    .push(if matches!(event, Event::SequenceStart(..)) {
                        Frame::Seq {
                            items: Vec::new(),
                            node,
                            anchor,
                        }
                    } else {
                        Frame::Map {
                            map: Map::new(),
                            node,
                            anchor,
                            key: None,
                        }
                    });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq {
                        mut items,
                        node,
                        anchor,
                    }) => {
                        // Most lists hold one or two items: no room for four.
                        items.shrink_to_fit();
                        (Value::Array(items), node, anchor)
                    }
                    Some(Frame::Map {
                        map, node, anchor, ..
                    }) if map.contains_key(MERGE_KEY) => (
                        Value::Object(merge_keys(map, &mut self.nodes, node)?),
                        node,
                        anchor,
                    ),
                    Some(Frame::Map {
                        map, node, anchor, ..
                    }) => (Value::Object(tight(map)), node, anchor),
                    None => return Err(Self::err(span, "unbalanced collection end")),
                };
                let bytes = self.frame_bytes.pop().unwrap_or(0).max(1);
                let size = self.nodes.len() - node;
                if let Some(n) = self.nodes.get_mut(node) {
                    n.end = pos(span.end);
                    n.size = u32::try_from(size).unwrap_or(u32::MAX);
                }
                if anchor > 0 {
                    self.anchors
                        .insert(anchor, (value.clone(), self.nodes[node..].to_vec(), bytes));
                }
                self.attach(value, bytes, span)?;
            }
            Event::Alias(id) => {
                let Some((_, nodes, bytes)) = self.anchors.get(&id) else {
                    return Err(Self::err(span, "alias to an unknown anchor"));
                };
                let bytes = *bytes;
                self.alias_nodes += nodes.len();
                self.alias_bytes += bytes;
                if self.alias_nodes > ALIAS_BUDGET {
                    return Err(Self::err(
                        span,
                        format!(
                            "aliases expand to more than {ALIAS_BUDGET} nodes (a YAML alias bomb?)"
                        ),
                    ));
                }
                if self.alias_bytes > ALIAS_BYTE_BUDGET {
                    return Err(Self::err(
                        span,
                        format!(
                            "aliases expand to more than {} MiB of text bytes (a YAML alias bomb?)",
                            ALIAS_BYTE_BUDGET >> 20
                        ),
                    ));
                }
                let Some((value, nodes, _)) = self.anchors.get(&id).cloned() else {
                    return Err(Self::err(span, "alias to an unknown anchor"));
                };
                if let Slot::Key = self.slot() {
                    let Value::String(k) = value else {
                        return Err(Self::err(span, "an alias used as a key must be a string"));
                    };
                    if let Some(b) = self.frame_bytes.last_mut() {
                        *b += k.len();
                    }
                    if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                        *key = Some((k, pos(span.start)));
                    }
                    return Ok(());
                }
                let start = pos(span.start);
                let key = self.key_pos(start);
                let first = self.nodes.len();
                self.nodes.extend(nodes);
                if let Some(n) = self.nodes.get_mut(first) {
                    n.key = key;
                }
                self.attach(value, bytes, span)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn key_pos(&mut self, start: Pos) -> Pos {
        match self.slot() {
            Slot::Value(Some(p)) => p,
            _ => start,
        }
    }

    /// Places a finished value into its parent (or as the document root).
    fn attach(&mut self, value: Value, bytes: usize, span: YSpan) -> Result<(), YamlError> {
        if let Some(b) = self.frame_bytes.last_mut() {
            *b = b.saturating_add(bytes);
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, key, .. }) => {
                let Some((k, at)) = key.take() else {
                    return Err(Self::err(span, "value without a key"));
                };
                if map.contains_key(&k) {
                    return Err(YamlError {
                        pos: at,
                        message: format!("duplicate key `{k}` in a mapping"),
                    });
                }
                map.insert(k, value);
            }
        }
        Ok(())
    }
}

/// A scanned string without the spare capacity the scanner gives each one (32 bytes): keys
/// and strings stay in the resource bodies for the whole run.
fn exact(mut s: String) -> String {
    s.shrink_to_fit();
    s
}

/// A mapping without spare entries (a map that grew to 5 entries has room for 7).
fn tight(map: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::with_capacity(map.len());
    out.extend(map);
    out
}

/// The YAML 1.1 merge key.
const MERGE_KEY: &str = "<<";

/// The node subtrees of the children of the collection at `nodes[node]` (which ends the list):
/// one slice per child, in order.
fn child_chunks(nodes: &[SpanNode], node: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut i = node + 1;
    while i < nodes.len() {
        let n = (nodes[i].size as usize).max(1);
        let end = (i + n).min(nodes.len());
        out.push(i..end);
        i = end;
    }
    out
}

/// Resolves the merge key of a finished mapping (`<<: *base`, `<<: {type: NodePort}`,
/// `<<: [*a, *b]`) as YAML 1.1, kubectl and the API server do: the merged mappings' keys are
/// added unless the mapping sets them itself, and an earlier merged mapping wins over a later
/// one. Merged entries keep their spans, which point at where they are written (the anchor).
/// `nodes[node..]` are the mapping's nodes, rewritten to match.
fn merge_keys(
    map: Map<String, Value>,
    nodes: &mut Vec<SpanNode>,
    node: usize,
) -> Result<Map<String, Value>, YamlError> {
    let chunks = child_chunks(nodes, node);
    let mut own: Vec<(String, Value, std::ops::Range<usize>)> = Vec::new();
    let mut merged = None;
    for ((k, v), r) in map
        .into_iter()
        .zip(chunks.into_iter().chain(std::iter::repeat(0..0)))
    {
        if k == MERGE_KEY {
            merged = Some((v, r));
        } else {
            own.push((k, v, r));
        }
    }
    let mut out = Map::new();
    let mut out_nodes: Vec<SpanNode> = Vec::with_capacity(nodes.len() - node);
    for (k, v, r) in own {
        out.insert(k, v);
        out_nodes.extend_from_slice(&nodes[r]);
    }
    if let Some((v, r)) = merged {
        let at = nodes.get(r.start).map_or(Pos::default(), |n| n.key);
        let sub = nodes[r].to_vec();
        let not_a_map = || YamlError {
            pos: at,
            message: "a merge key `<<` takes a mapping or a sequence of mappings".to_string(),
        };
        // Each source: its mapping and its nodes (the mapping node first).
        let sources: Vec<(Map<String, Value>, Vec<SpanNode>)> = match v {
            Value::Object(m) => vec![(m, sub)],
            Value::Array(items) => {
                let mut out = Vec::new();
                for (item, r) in items.into_iter().zip(child_chunks(&sub, 0)) {
                    match item {
                        Value::Object(m) => out.push((m, sub[r].to_vec())),
                        _ => return Err(not_a_map()),
                    }
                }
                out
            }
            _ => return Err(not_a_map()),
        };
        for (m, ns) in sources {
            for ((k, v), r) in m.into_iter().zip(
                child_chunks(&ns, 0)
                    .into_iter()
                    .chain(std::iter::repeat(0..0)),
            ) {
                if !out.contains_key(&k) {
                    out.insert(k, v);
                    out_nodes.extend_from_slice(&ns[r]);
                }
            }
        }
    }
    nodes.truncate(node + 1);
    nodes.extend(out_nodes);
    Ok(out)
}

/// How a tag is written: `!!binary`, `!local`.
fn show_tag(t: &Tag) -> String {
    if t.is_yaml_core_schema() {
        format!("!!{}", t.suffix)
    } else {
        format!("{}{}", t.handle, t.suffix)
    }
}

/// A scalar with an explicit tag, read as the Kubernetes API server (sigs.k8s.io/yaml over
/// YAML 1.1) reads it; an `Err` (the reason) when it would read it differently or not at all.
fn tagged(t: &Tag, text: &str) -> Result<Value, String> {
    let wrong = |what: &str| format!("`{} {text:.40}` is not {what}", show_tag(t));
    if !t.is_yaml_core_schema() {
        // `! text` (the non-specific tag) is a string; named local tags mean nothing to the
        // API server.
        if format!("{}{}", t.handle, t.suffix) == "!" {
            return Ok(Value::String(text.to_string()));
        }
        return Err(format!(
            "the tag `{}` is not one the Kubernetes API server reads; remove it",
            show_tag(t)
        ));
    }
    match t.suffix.as_str() {
        "str" => Ok(Value::String(text.to_string())),
        "binary" => {
            use base64::Engine as _;
            let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(clean)
                .map_err(|_| wrong("valid base64"))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| wrong("UTF-8 text once decoded"))
        }
        "int" => match resolve_plain(text) {
            v @ Value::Number(_) if v.is_i64() || v.is_u64() => Ok(v),
            _ => Err(wrong("an integer")),
        },
        "float" => match resolve_plain(text) {
            Value::Number(n) => Ok(n
                .as_f64()
                .and_then(Number::from_f64)
                .map_or(Value::Number(n), Value::Number)),
            _ => Err(wrong("a number")),
        },
        "bool" => match resolve_plain(text) {
            v @ Value::Bool(_) => Ok(v),
            _ => Err(wrong("a boolean")),
        },
        "null" => match resolve_plain(text) {
            Value::Null => Ok(Value::Null),
            _ => Err(wrong("null")),
        },
        _ => Err(format!(
            "the tag `{}` is not read the way the Kubernetes API server reads it; write the value without a tag",
            show_tag(t)
        )),
    }
}

enum Slot {
    Key,
    Value(Option<Pos>),
}

/// Resolves a plain scalar with the YAML 1.2 core schema (plus YAML 1.1 `yes`/`no`/`on`/`off`,
/// which the Kubernetes YAML decoder also reads as booleans).
fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Value::Bool(true)
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        _ => {}
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Value::String(s.to_string());
    }
    if let Some(hex) = s.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Value::Number(i.into());
        }
    }
    if let Some(oct) = s.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Value::Number(i.into());
        }
    }
    if let Ok(i) = s.parse::<i64>() {
        return Value::Number(i.into());
    }
    let looks_float = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if looks_float && s.bytes().any(|b| b.is_ascii_digit()) {
        if let Some(n) = s.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_follow_keys_and_values() {
        let text = "a: 1\nb:\n  c: [x, y]\n";
        let (docs, err) = parse_stream(text);
        assert!(err.is_none());
        let doc = &docs[0];
        assert_eq!(doc.value["b"]["c"][1], "y");
        // root, a, b, c, x, y
        assert_eq!(doc.nodes.len(), 6);
        assert_eq!(doc.nodes[2].key, Pos { line: 2, column: 1 });
        assert_eq!(doc.nodes[3].key, Pos { line: 3, column: 3 });
        assert_eq!(
            doc.nodes[5].start,
            Pos {
                line: 3,
                column: 10
            }
        );
    }

    #[test]
    fn scalars_resolve_like_kubernetes() {
        let (docs, _) = parse_stream("a: 0\nb: '0'\nc: false\nd: 1.5\ne: 1.2.3\nf: ~\n");
        let v = &docs[0].value;
        assert_eq!(v["a"], 0);
        assert_eq!(v["b"], "0");
        assert_eq!(v["c"], false);
        assert_eq!(v["d"], 1.5);
        assert_eq!(v["e"], "1.2.3");
        assert!(v["f"].is_null());
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let (_, err) = parse_stream(&text);
        assert!(err.unwrap().message.contains("alias bomb"));
    }

    #[test]
    fn aliases_to_a_large_scalar_count_their_bytes() {
        let mut text = format!("a: &big \"{}\"\n", "x".repeat(1 << 20));
        for i in 0..20 {
            text.push_str(&format!("k{i}: *big\n"));
        }
        let (_, err) = parse_stream(&text);
        let err = err.expect("the copies go over the byte budget");
        assert!(err.message.contains("bytes"), "{}", err.message);
        assert_eq!(err.pos.line, 10, "at the alias that went over 8 MiB");
    }

    /// The node of `path` (object keys) in a document, by walking the value in pre-order.
    fn node_at<'d>(doc: &'d Document, path: &[&str]) -> &'d SpanNode {
        fn count(v: &Value) -> usize {
            1 + match v {
                Value::Array(a) => a.iter().map(count).sum(),
                Value::Object(m) => m.values().map(count).sum(),
                _ => 0,
            }
        }
        let mut v = &doc.value;
        let mut i = 0;
        for key in path {
            let Value::Object(m) = v else {
                panic!("not a map at {key}")
            };
            i += 1;
            let mut found = None;
            for (k, x) in m {
                if k == key {
                    found = Some(x);
                    break;
                }
                i += count(x);
            }
            v = found.unwrap_or_else(|| panic!("no {key}"));
        }
        assert_eq!(
            doc.nodes.len(),
            count(&doc.value),
            "spans align with the value"
        );
        &doc.nodes[i]
    }

    #[test]
    fn merge_keys_resolve_with_the_merged_values_spans() {
        let text = "\
base: &base
  type: NodePort
  port: 80
svc:
  <<: *base
  port: 8080
inline:
  <<: {type: LoadBalancer}
  name: x
list:
  <<: [{a: 1}, {a: 2, b: 2}]
";
        let (docs, err) = parse_stream(text);
        assert!(err.is_none(), "{err:?}");
        let d = &docs[0];
        assert_eq!(
            d.value["svc"],
            serde_json::json!({"port": 8080, "type": "NodePort"})
        );
        assert!(d.value["svc"].get("<<").is_none());
        assert_eq!(d.value["inline"]["type"], "LoadBalancer");
        assert_eq!(d.value["list"], serde_json::json!({"a": 1, "b": 2}));
        // The merged `type` points at where it is written: line 2, in the anchor.
        assert_eq!(node_at(d, &["svc", "type"]).start.line, 2);
        assert_eq!(node_at(d, &["svc", "port"]).start.line, 6);
        assert_eq!(node_at(d, &["inline", "type"]).start.line, 8);
        assert_eq!(node_at(d, &["list", "b"]).start.line, 11);
        assert_eq!(node_at(d, &["list"]).start.line, 11);
    }

    #[test]
    fn a_merge_of_a_scalar_is_an_error_at_the_merge_key() {
        let (_, err) = parse_stream("a:\n  x: 1\n  <<: 3\n");
        let err = err.expect("error");
        assert!(err.message.contains("merge key"), "{}", err.message);
        assert_eq!(err.pos.line, 3);
    }

    #[test]
    fn tagged_values_read_as_the_api_server_reads_them() {
        let (docs, err) = parse_stream(
            "a: !!binary Tm9kZVBvcnQ=\nb: !!str 80\nc: !!int \"8\"\nd: !!bool yes\ne: ! 12\n",
        );
        assert!(err.is_none(), "{err:?}");
        let v = &docs[0].value;
        assert_eq!(v["a"], "NodePort");
        assert_eq!(v["b"], "80");
        assert_eq!(v["c"], 8);
        assert_eq!(v["d"], true);
        assert_eq!(v["e"], "12");
        for (text, line) in [
            ("a: 1\nb: !!int x\n", 2),
            ("a: !!binary '***'\n", 1),
            ("a: 1\nb: !custom x\n", 2),
            ("a: !!timestamp 2001-12-14\n", 1),
            ("a: !!set {x: null}\n", 1),
        ] {
            let (_, err) = parse_stream(text);
            let err = err.unwrap_or_else(|| panic!("{text:?} is an error"));
            assert_eq!(err.pos.line, line, "{text:?}: {}", err.message);
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let (_, err) = parse_stream(&text);
        let message = err.expect("deep nesting is an error").message;
        assert!(
            message.contains("nest") || message.contains("depth") || message.contains("recursion"),
            "{message}"
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let (_, err) = parse_stream("a: 1\nb:\n  c: 1\n  c: 2\n");
        let pos = err.unwrap().pos;
        assert_eq!(
            (pos.line, pos.column),
            (4, 3),
            "at the second key, not its value"
        );
    }

    #[test]
    fn documents_before_an_error_are_kept() {
        let (docs, err) = parse_stream("a: 1\n---\nb: [\n");
        assert_eq!(docs.len(), 1);
        assert!(err.is_some());
    }
}
