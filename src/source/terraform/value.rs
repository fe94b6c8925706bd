//! Terraform values as the evaluator sees them: plain data, plus two kinds of values that are
//! not plain data yet.
//!
//! - [`ValueKind::Ref`] is a *symbolic* value: an attribute that only exists after apply (`aws_subnet.a.id`)
//!   or the result of a data source. It keeps its reference text, so a node group's `subnet_ids`
//!   still lead to the `aws_subnet` resources they name.
//! - [`ValueKind::Unknown`] is a value that cannot be known from the configuration (a variable with no
//!   value, a function blogaudit does not run); it names the input that would make it known.
//!
//! Every value may carry [`StackSpan`]: where it was literally written, so a field can point at the
//! module call input it came from.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{Map, Number, Value as Json};

use crate::model::Span;

/// A span in one of the files of a stack (`file` indexes the stack's file table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackSpan {
    pub file: u32,
    pub span: Span,
}

impl StackSpan {
    /// Whether `other` lies inside this span, in the same file.
    #[must_use]
    pub fn contains(&self, other: &StackSpan) -> bool {
        self.file == other.file
            && self.span.start <= other.span.start
            && other.span.end <= self.span.end
    }
}

/// Why a traversal (`value.name`, `value[key]`) gives no value.
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    #[error("object has no attribute `{0}`")]
    NoAttribute(String),
    #[error("attribute `{0}` of a null value")]
    AttributeOfNull(String),
    #[error("cannot read attribute `{name}` of a {of}")]
    AttributeOf { name: String, of: &'static str },
    #[error("a list index must be a number")]
    IndexNotNumber,
    #[error("invalid index {0}")]
    InvalidIndex(String),
    #[error("index {0} is out of range")]
    IndexOutOfRange(String),
    #[error("a map key must be a string")]
    KeyNotString,
    #[error("cannot index a {0}")]
    NotIndexable(&'static str),
}

/// A value and where it was written.
#[derive(Clone, Debug)]
pub struct Value {
    pub kind: ValueKind,
    pub at: Option<StackSpan>,
}

/// A resource (or one of its nested blocks) as configured: the attributes that the
/// configuration sets. Any other attribute is only known after apply: a [`ValueKind::Ref`].
#[derive(Clone, Debug)]
pub struct ResourceBody {
    pub addr: String,
    pub attrs: BTreeMap<String, Value>,
}

/// The value itself.
#[derive(Clone, Debug)]
pub enum ValueKind {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    /// Lists, tuples and sets (sets are kept sorted and free of duplicates by `toset`).
    List(Vec<Value>),
    /// Maps and objects (keys sorted, as Terraform sorts them).
    Map(BTreeMap<String, Value>),
    Resource(Arc<ResourceBody>),
    /// Known only after apply, or read from a data source: the reference text.
    Ref(String),
    /// Cannot be known without more input: the input's name.
    Unknown(String),
    /// A string made by `jsonencode`, with the value it encodes (for spans inside policies).
    Json(Arc<(String, Value)>),
}

impl Value {
    #[must_use]
    pub fn new(kind: ValueKind) -> Self {
        Self { kind, at: None }
    }

    #[must_use]
    pub fn at(kind: ValueKind, at: Option<StackSpan>) -> Self {
        Self { kind, at }
    }

    #[must_use]
    pub fn null() -> Self {
        Self::new(ValueKind::Null)
    }

    #[must_use]
    pub fn str(s: impl Into<String>) -> Self {
        Self::new(ValueKind::Str(s.into()))
    }

    #[must_use]
    pub fn num(n: f64) -> Self {
        Self::new(ValueKind::Num(n))
    }

    #[must_use]
    pub fn unknown(name: impl Into<String>) -> Self {
        Self::new(ValueKind::Unknown(name.into()))
    }

    #[must_use]
    pub fn reference(r: impl Into<String>) -> Self {
        Self::new(ValueKind::Ref(r.into()))
    }

    #[must_use]
    pub fn list(items: Vec<Value>) -> Self {
        Self::new(ValueKind::List(items))
    }

    #[must_use]
    pub fn map(m: BTreeMap<String, Value>) -> Self {
        Self::new(ValueKind::Map(m))
    }

    #[must_use]
    pub fn with_at(mut self, at: Option<StackSpan>) -> Self {
        self.at = at;
        self
    }

    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self.kind, ValueKind::Null)
    }

    /// The name of the reference or unknown input that keeps this value from being plain data
    /// (only the value itself, not its elements).
    #[must_use]
    pub fn opaque(&self) -> Option<&str> {
        match &self.kind {
            ValueKind::Ref(r) | ValueKind::Unknown(r) => Some(r),
            _ => None,
        }
    }

    /// The first reference or unknown anywhere inside the value.
    #[must_use]
    pub fn first_opaque(&self) -> Option<&str> {
        match &self.kind {
            ValueKind::Ref(r) | ValueKind::Unknown(r) => Some(r),
            ValueKind::List(items) => items.iter().find_map(Value::first_opaque),
            ValueKind::Map(m) => m.values().find_map(Value::first_opaque),
            ValueKind::Resource(o) => o.attrs.values().find_map(Value::first_opaque),
            _ => None,
        }
    }

    /// The string, for strings and `jsonencode` results.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ValueKind::Str(s) => Some(s),
            ValueKind::Json(j) => Some(&j.0),
            _ => None,
        }
    }

    /// The items of a list.
    #[must_use]
    pub fn as_list(&self) -> Option<&[Value]> {
        match &self.kind {
            ValueKind::List(items) => Some(items),
            _ => None,
        }
    }

    /// An attribute of an object, map or resource, without making references: `None` when it
    /// is not set.
    #[must_use]
    pub fn field(&self, key: &str) -> Option<&Value> {
        match &self.kind {
            ValueKind::Map(m) => m.get(key),
            ValueKind::Resource(o) => o.attrs.get(key),
            _ => None,
        }
    }

    /// The entries of a map, object or resource.
    #[must_use]
    pub fn entries(&self) -> Option<&BTreeMap<String, Value>> {
        match &self.kind {
            ValueKind::Map(m) => Some(m),
            ValueKind::Resource(o) => Some(&o.attrs),
            _ => None,
        }
    }

    /// `value.name`, as a traversal reads it.
    pub fn get_attr(&self, name: &str) -> Result<Value, ValueError> {
        match &self.kind {
            ValueKind::Map(m) => m
                .get(name)
                .cloned()
                .ok_or_else(|| ValueError::NoAttribute(name.to_string())),
            ValueKind::Resource(o) => Ok(o
                .attrs
                .get(name)
                .cloned()
                .unwrap_or_else(|| Value::reference(format!("{}.{name}", o.addr)))),
            ValueKind::Ref(r) => Ok(Value::reference(format!("{r}.{name}"))),
            ValueKind::Unknown(_) => Ok(self.clone()),
            ValueKind::Null => Err(ValueError::AttributeOfNull(name.to_string())),
            _ => Err(ValueError::AttributeOf {
                name: name.to_string(),
                of: self.type_name(),
            }),
        }
    }

    /// `value[key]`, as a traversal reads it.
    pub fn index(&self, key: &Value) -> Result<Value, ValueError> {
        if let Some(name) = key.opaque() {
            return Ok(match &self.kind {
                ValueKind::Ref(r) => Value::reference(format!("{r}[{name}]")),
                _ => Value::unknown(name.to_string()),
            });
        }
        match &self.kind {
            ValueKind::List(items) => {
                let i = key.to_number().ok_or(ValueError::IndexNotNumber)?;
                if i < 0.0 || i.fract() != 0.0 {
                    return Err(ValueError::InvalidIndex(fmt_num(i)));
                }
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                items
                    .get(i as usize)
                    .cloned()
                    .ok_or_else(|| ValueError::IndexOutOfRange(fmt_num(i)))
            }
            ValueKind::Map(_) | ValueKind::Resource(_) => {
                let k = key.to_plain_string().ok_or(ValueError::KeyNotString)?;
                match &self.kind {
                    ValueKind::Resource(o) => {
                        Ok(o.attrs.get(&k).cloned().unwrap_or_else(|| {
                            Value::reference(format!("{}[{}]", o.addr, quote(&k)))
                        }))
                    }
                    _ => self.get_attr(&k),
                }
            }
            ValueKind::Ref(r) => Ok(Value::reference(format!("{r}[{}]", key_text(key)))),
            ValueKind::Unknown(_) => Ok(self.clone()),
            _ => Err(ValueError::NotIndexable(self.type_name())),
        }
    }

    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            ValueKind::Null => "null",
            ValueKind::Bool(_) => "bool",
            ValueKind::Num(_) => "number",
            ValueKind::Str(_) | ValueKind::Json(_) => "string",
            ValueKind::List(_) => "list",
            ValueKind::Map(_) | ValueKind::Resource(_) => "object",
            ValueKind::Ref(_) => "reference",
            ValueKind::Unknown(_) => "unknown value",
        }
    }

    /// A number, converting numeric strings as Terraform does.
    #[must_use]
    pub fn to_number(&self) -> Option<f64> {
        match &self.kind {
            ValueKind::Num(n) => Some(*n),
            ValueKind::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A bool, converting `"true"`/`"false"` as Terraform does.
    #[must_use]
    pub fn to_bool(&self) -> Option<bool> {
        match &self.kind {
            ValueKind::Bool(b) => Some(*b),
            ValueKind::Str(s) if s == "true" => Some(true),
            ValueKind::Str(s) if s == "false" => Some(false),
            _ => None,
        }
    }

    /// A primitive as a string (numbers and bools convert), as in a template.
    #[must_use]
    pub fn to_plain_string(&self) -> Option<String> {
        match &self.kind {
            ValueKind::Str(s) => Some(s.clone()),
            ValueKind::Json(j) => Some(j.0.clone()),
            ValueKind::Num(n) => Some(fmt_num(*n)),
            ValueKind::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Equality of plain values; `None` when either side is not known.
    #[must_use]
    pub fn equals(&self, other: &Value) -> Option<bool> {
        if self.first_opaque().is_some() || other.first_opaque().is_some() {
            return None;
        }
        Some(self.same(other))
    }

    /// Structural equality, references compared by their text.
    #[must_use]
    pub fn same(&self, other: &Value) -> bool {
        match (&self.kind, &other.kind) {
            (ValueKind::Null, ValueKind::Null) => true,
            (ValueKind::Bool(a), ValueKind::Bool(b)) => a == b,
            (ValueKind::Num(a), ValueKind::Num(b)) => (a - b).abs() < f64::EPSILON,
            (ValueKind::List(a), ValueKind::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
            }
            (ValueKind::Ref(a), ValueKind::Ref(b))
            | (ValueKind::Unknown(a), ValueKind::Unknown(b)) => a == b,
            _ => match (self.as_str(), other.as_str()) {
                (Some(a), Some(b)) => a == b,
                _ => match (self.entries(), other.entries()) {
                    (Some(a), Some(b)) => {
                        a.len() == b.len()
                            && a.iter()
                                .zip(b)
                                .all(|((ka, va), (kb, vb))| ka == kb && va.same(vb))
                    }
                    _ => false,
                },
            },
        }
    }

    /// The value as JSON: references become their text, unknowns become null.
    #[must_use]
    pub fn to_json(&self) -> Json {
        match &self.kind {
            ValueKind::Null | ValueKind::Unknown(_) => Json::Null,
            ValueKind::Bool(b) => Json::Bool(*b),
            ValueKind::Num(n) => num_json(*n),
            ValueKind::Str(s) => Json::String(s.clone()),
            ValueKind::Json(j) => Json::String(j.0.clone()),
            ValueKind::Ref(r) => Json::String(r.clone()),
            ValueKind::List(items) => Json::Array(items.iter().map(Value::to_json).collect()),
            ValueKind::Map(m) => {
                Json::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            ValueKind::Resource(o) => Json::Object(
                o.attrs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Builds a value from JSON (no spans).
    #[must_use]
    pub fn from_json(v: &Json) -> Value {
        Value::new(match v {
            Json::Null => ValueKind::Null,
            Json::Bool(b) => ValueKind::Bool(*b),
            Json::Number(n) => ValueKind::Num(n.as_f64().unwrap_or(0.0)),
            Json::String(s) => ValueKind::Str(s.clone()),
            Json::Array(items) => ValueKind::List(items.iter().map(Value::from_json).collect()),
            Json::Object(m) => ValueKind::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        })
    }

    /// Sets `at` on this value and every value inside it that was not written inside `within`.
    /// Used when a value crosses a module call: what the caller wrote inside the input
    /// attribute keeps its place, everything else points at the input attribute.
    pub fn retag(&mut self, within: StackSpan) {
        if !self.at.is_some_and(|a| within.contains(&a)) {
            self.at = Some(within);
        }
        match &mut self.kind {
            ValueKind::List(items) => items.iter_mut().for_each(|i| i.retag(within)),
            ValueKind::Map(m) => m.values_mut().for_each(|i| i.retag(within)),
            _ => {}
        }
    }
}

/// A number as Terraform prints it: integers without a fraction.
#[must_use]
pub fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        #[allow(clippy::cast_possible_truncation)]
        let i = n as i64;
        i.to_string()
    } else {
        n.to_string()
    }
}

/// A number as JSON: integers stay integers.
#[must_use]
pub fn num_json(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        #[allow(clippy::cast_possible_truncation)]
        let i = n as i64;
        Json::Number(i.into())
    } else {
        Number::from_f64(n).map_or(Json::Null, Json::Number)
    }
}

/// `"key"` with Terraform's quoting, for instance addresses.
#[must_use]
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

fn key_text(key: &Value) -> String {
    match &key.kind {
        ValueKind::Num(n) => fmt_num(*n),
        _ => key
            .to_plain_string()
            .map_or_else(|| "?".to_string(), |s| quote(&s)),
    }
}

/// Renders a value as `jsonencode` does (keys sorted, compact). `None` when a part is unknown.
#[must_use]
pub fn json_encode(v: &Value) -> Option<String> {
    if v.first_opaque().is_some() {
        return None;
    }
    let mut out = String::new();
    encode_into(v, &mut out);
    Some(out)
}

fn encode_into(v: &Value, out: &mut String) {
    match &v.kind {
        ValueKind::Null | ValueKind::Unknown(_) | ValueKind::Ref(_) => out.push_str("null"),
        ValueKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ValueKind::Num(n) => {
            let _ = write!(out, "{}", num_json(*n));
        }
        ValueKind::Str(s) => out.push_str(&Json::String(s.clone()).to_string()),
        ValueKind::Json(j) => out.push_str(&Json::String(j.0.clone()).to_string()),
        ValueKind::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode_into(item, out);
            }
            out.push(']');
        }
        ValueKind::Map(_) | ValueKind::Resource(_) => {
            out.push('{');
            if let Some(m) = v.entries() {
                for (i, (k, item)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Json::String(k.clone()).to_string());
                    out.push(':');
                    encode_into(item, out);
                }
            }
            out.push('}');
        }
    }
}

/// A JSON object from string keys (helper for the canonical shapes).
#[must_use]
pub fn object(pairs: Vec<(&str, Json)>) -> Json {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v);
    }
    Json::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_grow_with_traversal() {
        let r = Value::reference("data.aws_availability_zones.available.names");
        let i = r.index(&Value::num(1.0)).unwrap();
        assert_eq!(
            i.opaque(),
            Some("data.aws_availability_zones.available.names[1]")
        );
        let o = Value::new(ValueKind::Resource(Arc::new(ResourceBody {
            addr: "aws_subnet.a".into(),
            attrs: BTreeMap::from([("availability_zone".to_string(), Value::str("eu-west-1a"))]),
        })));
        assert_eq!(o.get_attr("id").unwrap().opaque(), Some("aws_subnet.a.id"));
        assert_eq!(
            o.get_attr("availability_zone").unwrap().as_str(),
            Some("eu-west-1a")
        );
    }

    #[test]
    fn json_encoding_sorts_keys_and_keeps_integers() {
        let v = Value::map(BTreeMap::from([
            ("b".to_string(), Value::num(2.0)),
            (
                "a".to_string(),
                Value::list(vec![Value::str("x"), Value::new(ValueKind::Bool(true))]),
            ),
        ]));
        assert_eq!(json_encode(&v).unwrap(), r#"{"a":["x",true],"b":2}"#);
        assert!(json_encode(&Value::list(vec![Value::unknown("var.x")])).is_none());
    }
}
