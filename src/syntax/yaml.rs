//! YAML (and JSON, which YAML contains) to JSON values with a span for every node.
//!
//! The parser is driven event by event with an explicit stack, so deep nesting cannot overflow
//! the call stack, and alias expansion is budgeted, so an alias bomb fails fast.

use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span as YSpan};
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
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_event() {
            None => break,
            Some(Ok((Event::StreamEnd, _))) => break,
            Some(Ok((event, span))) => {
                if let Err(e) = builder.on_event(event, span) {
                    return (builder.docs, Some(e));
                }
            }
            Some(Err(e)) => {
                let error = YamlError {
                    pos: pos(*e.marker()),
                    message: e.info().to_string(),
                };
                return (builder.docs, Some(error));
            }
        }
    }
    (builder.docs, None)
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
    docs: Vec<Document>,
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
                    self.docs.push(Document {
                        value,
                        nodes: std::mem::take(&mut self.nodes),
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
                        *key = Some((text.into_owned(), pos(span.start)));
                    }
                    return Ok(());
                }
                let bytes = text.len().max(1);
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style == ScalarStyle::Plain && !is_str_tag {
                    resolve_plain(&text)
                } else {
                    Value::String(text.into_owned())
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
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
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
                        items,
                        node,
                        anchor,
                    }) => (Value::Array(items), node, anchor),
                    Some(Frame::Map {
                        map, node, anchor, ..
                    }) => (Value::Object(map), node, anchor),
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
