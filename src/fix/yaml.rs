//! YAML and JSON fix edits that a reviewer accepts: one value replaced in its own quoting
//! style, or the missing keys inserted after their siblings, in their indentation and their
//! block or flow style. Nothing else of the file moves: comments, key order, document
//! separators and the other documents stay byte for byte.
//!
//! The file is parsed again here (it may have changed since the scan, or earlier fixes of the
//! same pass moved its lines), and the resource is found by its identity, so a fix never
//! depends on stale line numbers.

use std::collections::HashMap;

use serde_json::Value;

use super::{shown, skip, FileText, Skip};
use crate::model::{Finding, Fix};
use crate::model::{PathSeg, Pos, SpanNode};
use crate::syntax::yaml::{parse_stream, Document, YamlError};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Seq,
    Scalar,
}

/// A document with the kind of each node, pre-order like its span table.
struct Tree<'a> {
    doc: &'a Document,
    kinds: Vec<Kind>,
}

fn kinds(v: &Value, out: &mut Vec<Kind>) {
    match v {
        Value::Object(m) => {
            out.push(Kind::Map);
            for v in m.values() {
                kinds(v, out);
            }
        }
        Value::Array(items) => {
            out.push(Kind::Seq);
            for v in items {
                kinds(v, out);
            }
        }
        _ => out.push(Kind::Scalar),
    }
}

impl<'a> Tree<'a> {
    fn new(doc: &'a Document) -> Self {
        let mut k = Vec::with_capacity(doc.nodes.len());
        kinds(&doc.value, &mut k);
        Self { doc, kinds: k }
    }

    fn node(&self, i: usize) -> Result<SpanNode, Skip> {
        self.doc
            .nodes
            .get(i)
            .copied()
            .ok_or_else(|| skip("the file's structure changed while it was read"))
    }
}

/// The node of `seg` under node `idx` (whose value is `value`).
fn step<'v>(
    nodes: &[SpanNode],
    idx: usize,
    value: &'v Value,
    seg: &PathSeg,
) -> Option<(usize, &'v Value)> {
    let mut child = idx + 1;
    match (value, seg) {
        (Value::Object(map), PathSeg::Key(k)) => {
            for (key, v) in map {
                if key == k {
                    return Some((child, v));
                }
                child += nodes.get(child)?.size as usize;
            }
            None
        }
        (Value::Array(items), PathSeg::Index(i)) => {
            let v = items.get(*i)?;
            for _ in 0..*i {
                child += nodes.get(child)?.size as usize;
            }
            Some((child, v))
        }
        _ => None,
    }
}

/// Walks `path` from node `root`: the node indices passed (root first) and the value of the
/// deepest one.
fn walk<'v>(
    nodes: &[SpanNode],
    root: usize,
    value: &'v Value,
    path: &[PathSeg],
) -> (Vec<usize>, &'v Value) {
    let mut trail = vec![root];
    let mut value = value;
    for seg in path {
        let Some((i, v)) = step(nodes, trail[trail.len() - 1], value, seg) else {
            break;
        };
        trail.push(i);
        value = v;
    }
    (trail, value)
}

/// Whether a Kubernetes object is the finding's resource.
fn is_resource(v: &Value, f: &Finding) -> bool {
    let r = &f.resource;
    let meta = v.get("metadata");
    let field = |k: &str| meta.and_then(|m| m.get(k)).and_then(Value::as_str);
    v.get("kind").and_then(Value::as_str) == Some(r.kind.as_str())
        && field("name").unwrap_or("") == r.name
        && field("namespace").is_none_or(|ns| ns == r.namespace)
}

/// Where an object is declared: (document, node index, item index in a `List`).
type Place = (usize, usize, Option<usize>);

/// A file's documents, parsed once for all the edits of the file, with every object they
/// declare (documents, and the items of `List` documents) listed by kind and name.
pub(super) struct Parsed {
    docs: Vec<Document>,
    error: Option<YamlError>,
    /// (kind, name) → where each such object is, in file order.
    objects: HashMap<(String, String), Vec<Place>>,
}

impl Parsed {
    pub(super) fn new(text: &str) -> Self {
        let (docs, error) = parse_stream(text);
        let mut objects: HashMap<(String, String), Vec<Place>> = HashMap::new();
        let mut add = |v: &Value, at| {
            if let Some(kind) = v.get("kind").and_then(Value::as_str) {
                let name = v
                    .get("metadata")
                    .and_then(|m| m.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                objects
                    .entry((kind.to_string(), name.to_string()))
                    .or_default()
                    .push(at);
            }
        };
        for (d, doc) in docs.iter().enumerate() {
            add(&doc.value, (d, 0, None));
            if doc.value.get("kind").and_then(Value::as_str) == Some("List") {
                let items_key = PathSeg::Key("items".into());
                if let Some((items, Value::Array(list))) =
                    step(&doc.nodes, 0, &doc.value, &items_key)
                {
                    for (i, item) in list.iter().enumerate() {
                        if let Some((at, _)) =
                            step(&doc.nodes, items, &doc.value["items"], &PathSeg::Index(i))
                        {
                            add(item, (d, at, Some(i)));
                        }
                    }
                }
            }
        }
        Self {
            docs,
            error,
            objects,
        }
    }

    /// The resource's root nodes in the file: (document, node index, value). A `List`
    /// document holds its objects under `items`.
    fn roots(&self, f: &Finding) -> Vec<(usize, usize, &Value)> {
        let key = (f.resource.kind.clone(), f.resource.name.clone());
        let Some(places) = self.objects.get(&key) else {
            return Vec::new();
        };
        places
            .iter()
            .map(|&(d, at, item)| {
                let doc = &self.docs[d].value;
                (d, at, item.map_or(doc, |i| &doc["items"][i]))
            })
            .filter(|(_, _, v)| is_resource(v, f))
            .collect()
    }
}

/// The edit for one finding: `(start, end, text)` in bytes of `text`.
pub(super) fn edit(
    f: &Finding,
    fix: &Fix,
    file: &FileText<'_>,
    json: bool,
) -> Result<(usize, usize, String), Skip> {
    let parsed = file.yaml();
    if let Some(e) = &parsed.error {
        return Err(skip(format!(
            "the file does not parse at {}:{} ({}); fix it first",
            e.pos.line, e.pos.column, e.message
        )));
    }
    let docs = &parsed.docs;
    let candidates = parsed.roots(f);
    if candidates.is_empty() {
        return Err(skip(format!(
            "{} is not declared in this file as it was rendered (a kustomize or Helm \
             output?): change the document that declares it",
            f.resource
        )));
    }
    // Where the scan saw the field: it tells two same-named objects apart.
    let hint = fix
        .replace
        .map(|s| s.start)
        .or(fix.insert_under.map(|(p, _)| p));
    let walked: Vec<_> = candidates
        .iter()
        .map(|&(d, root, value)| {
            let (trail, deepest) = walk(&docs[d].nodes, root, value, &fix.path);
            (d, trail, deepest)
        })
        .collect();
    let chosen = walked
        .iter()
        .find(|(d, trail, _)| {
            let n = docs[*d].nodes.get(trail[trail.len() - 1]);
            n.map(|n| {
                if fix.replace.is_some() {
                    n.start
                } else {
                    n.key
                }
            }) == hint
        })
        .unwrap_or(&walked[0]);
    let (d, trail, _) = chosen;
    let tree = Tree::new(&docs[*d]);
    let nodes = &tree.doc.nodes;
    if tree.kinds.len() != nodes.len() {
        return Err(skip(
            "the file's span table does not match its values; set the field by hand",
        ));
    }
    for &i in trail {
        let n = tree.node(i)?;
        if n.start < n.key {
            return Err(skip(format!(
                "{} goes through a YAML alias (*): an edit there would change the anchor \
                 and every alias of it; set the field by hand",
                shown(&fix.path)
            )));
        }
    }
    let last = trail[trail.len() - 1];
    let target = tree.node(last)?;
    if nodes
        .iter()
        .filter(|n| n.start == target.start && n.end == target.end)
        .count()
        > 1
    {
        return Err(skip(format!(
            "{} is shared through a YAML anchor (&) and alias (*): an edit would change \
             every alias of it; set the field by hand",
            shown(&fix.path[..trail.len() - 1])
        )));
    }
    let found = trail.len() - 1;
    if found == fix.path.len() {
        replace(&tree, last, &fix.value, file, json)
    } else {
        insert(&tree, last, &fix.path[found..], &fix.value, file, json)
    }
}

fn at(file: &FileText<'_>, p: Pos) -> usize {
    file.offset(p)
}

/// Whether node `i` is a block mapping or sequence: its end event sits where the next token
/// starts, possibly lines further down.
fn is_block(tree: &Tree<'_>, i: usize, file: &FileText<'_>) -> bool {
    tree.kinds.get(i).is_some_and(|k| *k != Kind::Scalar)
        && tree
            .doc
            .nodes
            .get(i)
            .is_some_and(|n| !file.text[at(file, n.start)..].starts_with(['{', '[']))
}

/// Where the text of the children of node `idx` ends: their last scalar or flow collection
/// (aliases included: their copied nodes sit earlier, their keys on the alias's line).
fn content_end(tree: &Tree<'_>, idx: usize, file: &FileText<'_>) -> Pos {
    let nodes = &tree.doc.nodes;
    let Some(node) = nodes.get(idx) else {
        return Pos::default();
    };
    let mut end = node.start;
    let size = node.size as usize;
    for (i, n) in nodes.iter().enumerate().take(idx + size).skip(idx + 1) {
        end = end.max(n.key);
        if !is_block(tree, i, file) {
            end = end.max(n.end);
        }
    }
    end
}

fn line_start(file: &FileText<'_>, line: u32) -> usize {
    file.offset(Pos { line, column: 1 })
}

/// The leading spaces of a line.
fn line_indent(file: &FileText<'_>, line: u32) -> usize {
    let s = line_start(file, line);
    file.text[s..].bytes().take_while(|b| *b == b' ').count()
}

fn replace(
    tree: &Tree<'_>,
    idx: usize,
    value: &Value,
    file: &FileText<'_>,
    json: bool,
) -> Result<(usize, usize, String), Skip> {
    let text = file.text;
    let n = tree.node(idx)?;
    let (s, e) = (at(file, n.start), at(file, n.end));
    let first = text[s..].chars().next();
    match (tree.kinds[idx], value) {
        (_, Value::Object(_)) => Err(skip("a fix that sets a whole mapping is not mechanical")),
        (Kind::Map, _) => Err(skip(
            "the field holds a mapping; the fix sets a single value",
        )),
        (Kind::Scalar, v) if !v.is_array() => {
            let e = quoted_end(text, s).unwrap_or(e);
            Ok((s, e, scalar(v, Some(&text[s..e]), json)))
        }
        (Kind::Seq, Value::Array(_)) if first != Some('[') => {
            // A block sequence: one `- item` line per item, at the first item's column.
            let ls = line_start(file, n.start.line);
            let s = dash(text, s).ok_or_else(|| skip("cannot find the list's first item"))?;
            if !text[ls..s].bytes().all(|b| b == b' ') {
                return Err(skip("the list shares its line with another item"));
            }
            let end = content_end(tree, idx, file);
            let pad = " ".repeat(s - ls);
            let Value::Array(items) = value else {
                return Err(skip("unreachable"));
            };
            let lines: Vec<String> = items
                .iter()
                .map(|v| format!("{pad}- {}", scalar(v, None, json)))
                .collect();
            Ok((ls, at(file, end), lines.join("\n")))
        }
        (Kind::Seq | Kind::Scalar, v) => Ok((s, e, flow(v, json))),
    }
}

/// The `-` of a block sequence whose node starts at `s`: there, or before its first item's
/// content on the same line (an indentless sequence starts at the content).
fn dash(text: &str, s: usize) -> Option<usize> {
    if text[s..].starts_with('-') {
        return Some(s);
    }
    let ls = text[..s].rfind('\n').map_or(0, |i| i + 1);
    let d = text[ls..s].rfind('-')? + ls;
    text[d + 1..s].bytes().all(|b| b == b' ').then_some(d)
}

/// The end of a quoted scalar starting at `s` (the parser's span runs on over the spaces and
/// comment that follow it).
fn quoted_end(text: &str, s: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let quote = *bytes.get(s)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let mut i = s + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Indentation habits of a document: spaces per nesting level, and how far a block sequence
/// sits under its key (0 for `key:\n- item`).
fn style(tree: &Tree<'_>, file: &FileText<'_>) -> (usize, usize) {
    let text = file.text;
    let mut step = None;
    let mut seq = None;
    for (i, n) in tree.doc.nodes.iter().enumerate() {
        if n.key.line >= n.start.line || n.start.column < n.key.column {
            continue;
        }
        let width = (n.start.column - n.key.column) as usize;
        let s = at(file, n.start);
        let first = text[s..].chars().next();
        match tree.kinds[i] {
            Kind::Map if first != Some('{') && step.is_none() && width > 0 => step = Some(width),
            Kind::Seq if first != Some('[') && seq.is_none() => {
                if let Some(d) = dash(text, s) {
                    seq = Some(width.saturating_sub(s - d));
                }
            }
            _ => {}
        }
        if step.is_some() && seq.is_some() {
            break;
        }
    }
    let step = step.unwrap_or(2);
    (step, seq.unwrap_or(step))
}

fn insert(
    tree: &Tree<'_>,
    idx: usize,
    missing: &[PathSeg],
    value: &Value,
    file: &FileText<'_>,
    json: bool,
) -> Result<(usize, usize, String), Skip> {
    let text = file.text;
    let keys: Vec<&str> = missing
        .iter()
        .map(|s| match s {
            PathSeg::Key(k) => Ok(k.as_str()),
            PathSeg::Index(_) => Err(skip("the fix would create a list item; add it by hand")),
        })
        .collect::<Result<_, _>>()?;
    if value.is_object() {
        return Err(skip("a fix that sets a whole mapping is not mechanical"));
    }
    let n = tree.node(idx)?;
    let (step, seq_indent) = style(tree, file);
    if tree.kinds[idx] == Kind::Scalar
        && n.key != n.start
        && text[at(file, n.start)..at(file, n.end)].trim().is_empty()
    {
        // `securityContext:` with nothing after it: the keys go on the lines below.
        let pad = n.key.column.saturating_sub(1) as usize + step;
        let out = block(&keys, value, pad, step, seq_indent, json);
        let ls = line_start(file, n.key.line + 1);
        if ls == text.len() && !text.ends_with('\n') {
            return Ok((ls, ls, format!("\n{}", out.trim_end_matches('\n'))));
        }
        return Ok((ls, ls, out));
    }
    if tree.kinds[idx] != Kind::Map {
        return Err(skip(format!(
            "the parent of `{}` is not a mapping; set it by hand",
            keys[0]
        )));
    }
    let size = n.size as usize;
    let sub = tree.doc.nodes.get(idx + 1..idx + size).unwrap_or(&[]);
    let s = at(file, n.start);
    let flow_style = text[s..].starts_with('{');
    let quote_keys = sub
        .first()
        .is_some_and(|c| text[at(file, c.key)..].starts_with('"'))
        || json;
    let last_end = (!sub.is_empty()).then(|| content_end(tree, idx, file));
    if flow_style {
        let Some(first) = sub.first() else {
            // `{}`: the entry goes inside the braces.
            let close = at(file, n.end).saturating_sub(1);
            if !text[close..].starts_with('}') {
                return Err(skip("cannot find the end of the flow mapping"));
            }
            return Ok((close, close, flow_entry(&keys, value, quote_keys, json)));
        };
        let end = at(file, last_end.unwrap_or(n.end));
        if first.key.line > n.start.line {
            // One entry per line (pretty JSON): a new line in the siblings' indentation.
            let pad = line_indent(file, first.key.line);
            let step = pad.saturating_sub(line_indent(file, n.start.line)).max(1);
            let entry = pretty_entry(&keys, value, quote_keys, json, pad, step);
            return Ok((end, end, format!(",\n{}{entry}", " ".repeat(pad))));
        }
        return Ok((
            end,
            end,
            format!(", {}", flow_entry(&keys, value, quote_keys, json)),
        ));
    }
    let Some(first) = sub.first() else {
        return Err(skip("the mapping is empty"));
    };
    let pad = (first.key.column.saturating_sub(1)) as usize;
    let mut out = block(&keys, value, pad, step, seq_indent, quote_keys);
    let last_end = last_end.unwrap_or(n.end);
    if last_end.column == 1 && last_end.line > first.key.line {
        // A block scalar ends at the start of the next line.
        let ls = line_start(file, last_end.line);
        return Ok((ls, ls, out));
    }
    let after = at(file, last_end);
    match text[after..].find('\n') {
        Some(nl) => Ok((after + nl + 1, after + nl + 1, out)),
        None => {
            out.pop();
            Ok((text.len(), text.len(), format!("\n{out}")))
        }
    }
}

/// Block lines for the missing `keys` (the last one set to `value`) at `pad` spaces.
fn block(
    keys: &[&str],
    value: &Value,
    pad: usize,
    step: usize,
    seq_indent: usize,
    quote_keys: bool,
) -> String {
    let mut out = String::new();
    for (i, k) in keys.iter().enumerate() {
        let p = " ".repeat(pad + step * i);
        let k = key(k, quote_keys);
        if i + 1 < keys.len() {
            out.push_str(&format!("{p}{k}:\n"));
        } else if let Value::Array(items) = value {
            if items.is_empty() {
                out.push_str(&format!("{p}{k}: []\n"));
            } else {
                out.push_str(&format!("{p}{k}:\n"));
                let ip = " ".repeat(pad + step * i + seq_indent);
                for v in items {
                    out.push_str(&format!("{ip}- {}\n", scalar(v, None, quote_keys)));
                }
            }
        } else {
            out.push_str(&format!("{p}{k}: {}\n", scalar(value, None, quote_keys)));
        }
    }
    out
}

fn key(k: &str, quoted: bool) -> String {
    if quoted || !plain_ok(k) {
        json_str(k)
    } else {
        k.to_string()
    }
}

fn flow_entry(keys: &[&str], value: &Value, quote: bool, json: bool) -> String {
    let mut out = format!(
        "{}: {}",
        key(keys[keys.len() - 1], quote),
        flow(value, json)
    );
    for k in keys[..keys.len() - 1].iter().rev() {
        out = format!("{}: {{{out}}}", key(k, quote));
    }
    out
}

/// A flow entry over several lines, for pretty-printed JSON: `"a": {\n  "b": true\n}`.
fn pretty_entry(
    keys: &[&str],
    value: &Value,
    quote: bool,
    json: bool,
    pad: usize,
    step: usize,
) -> String {
    let mut out = format!(
        "{}: {}",
        key(keys[keys.len() - 1], quote),
        flow(value, json)
    );
    let depth = keys.len() - 1;
    for (level, k) in keys[..depth].iter().enumerate().rev() {
        let inner = " ".repeat(pad + step * (level + 1));
        let outer = " ".repeat(pad + step * level);
        out = format!("{}: {{\n{inner}{out}\n{outer}}}", key(k, quote));
    }
    out
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Whether `s` reads back as the same string when written plain.
fn plain_ok(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && parse_stream(&format!("k: {s}\n"))
            .0
            .first()
            .is_some_and(|d| d.value["k"] == Value::String(s.to_string()))
}

/// A scalar in YAML (or JSON): a string keeps the quoting of the value it replaces.
fn scalar(v: &Value, existing: Option<&str>, json: bool) -> String {
    match v {
        Value::String(s) if json => json_str(s),
        Value::String(s) => match existing.and_then(|e| e.chars().next()) {
            Some('"') => json_str(s),
            Some('\'') => format!("'{}'", s.replace('\'', "''")),
            _ if plain_ok(s) => s.clone(),
            _ => json_str(s),
        },
        Value::Array(_) | Value::Object(_) => flow(v, json),
        other => other.to_string(),
    }
}

/// A value in flow style: `[ALL]` in YAML, `["ALL"]` in JSON.
fn flow(v: &Value, json: bool) -> String {
    match v {
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(|i| flow(i, json)).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(m) => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", key(k, json), flow(v, json)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        other => scalar(other, None, json),
    }
}

/// A value as the fix description shows it.
#[must_use]
pub fn plain_or_json(v: &Value) -> String {
    scalar(v, None, false)
}
