//! Terraform values as the evaluator sees them: plain data, plus two kinds of values that are
//! not plain data yet.
//!
//! - [`V::Ref`] is a *symbolic* value: an attribute that only exists after apply (`aws_subnet.a.id`)
//!   or the result of a data source. It keeps its reference text, so a node group's `subnet_ids`
//!   still lead to the `aws_subnet` resources they name.
//! - [`V::Unknown`] is a value that cannot be known from the configuration (a variable with no
//!   value, a function blogaudit does not run); it names the input that would make it known.
//!
//! Every value may carry [`Src`]: where it was literally written, so a field can point at the
//! module call input it came from.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{Map, Number, Value};

use crate::model::Span;

/// A span in one of the files of a stack (`file` indexes the stack's file table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Src {
    pub file: u32,
    pub span: Span,
}

impl Src {
    /// Whether `other` lies inside this span, in the same file.
    #[must_use]
    pub fn contains(&self, other: &Src) -> bool {
        self.file == other.file
            && self.span.start <= other.span.start
            && other.span.end <= self.span.end
    }
}

/// A value and where it was written.
#[derive(Clone, Debug)]
pub struct Val {
    pub v: V,
    pub at: Option<Src>,
}

/// A resource (or one of its nested blocks) as configured: the attributes that the
/// configuration sets. Any other attribute is only known after apply: a [`V::Ref`].
#[derive(Clone, Debug)]
pub struct Obj {
    pub addr: String,
    pub attrs: BTreeMap<String, Val>,
}

/// The value itself.
#[derive(Clone, Debug)]
pub enum V {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    /// Lists, tuples and sets (sets are kept sorted and free of duplicates by `toset`).
    List(Vec<Val>),
    /// Maps and objects (keys sorted, as Terraform sorts them).
    Map(BTreeMap<String, Val>),
    Obj(Arc<Obj>),
    /// Known only after apply, or read from a data source: the reference text.
    Ref(String),
    /// Cannot be known without more input: the input's name.
    Unknown(String),
    /// A string made by `jsonencode`, with the value it encodes (for spans inside policies).
    Json(Arc<(String, Val)>),
}

impl Val {
    #[must_use]
    pub fn new(v: V) -> Self {
        Self { v, at: None }
    }

    #[must_use]
    pub fn at(v: V, at: Option<Src>) -> Self {
        Self { v, at }
    }

    #[must_use]
    pub fn null() -> Self {
        Self::new(V::Null)
    }

    #[must_use]
    pub fn str(s: impl Into<String>) -> Self {
        Self::new(V::Str(s.into()))
    }

    #[must_use]
    pub fn num(n: f64) -> Self {
        Self::new(V::Num(n))
    }

    #[must_use]
    pub fn unknown(name: impl Into<String>) -> Self {
        Self::new(V::Unknown(name.into()))
    }

    #[must_use]
    pub fn reference(r: impl Into<String>) -> Self {
        Self::new(V::Ref(r.into()))
    }

    #[must_use]
    pub fn list(items: Vec<Val>) -> Self {
        Self::new(V::List(items))
    }

    #[must_use]
    pub fn map(m: BTreeMap<String, Val>) -> Self {
        Self::new(V::Map(m))
    }

    #[must_use]
    pub fn with_at(mut self, at: Option<Src>) -> Self {
        self.at = at;
        self
    }

    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self.v, V::Null)
    }

    /// The name of the reference or unknown input that keeps this value from being plain data
    /// (only the value itself, not its elements).
    #[must_use]
    pub fn opaque(&self) -> Option<&str> {
        match &self.v {
            V::Ref(r) | V::Unknown(r) => Some(r),
            _ => None,
        }
    }

    /// The first reference or unknown anywhere inside the value.
    #[must_use]
    pub fn first_opaque(&self) -> Option<&str> {
        match &self.v {
            V::Ref(r) | V::Unknown(r) => Some(r),
            V::List(items) => items.iter().find_map(Val::first_opaque),
            V::Map(m) => m.values().find_map(Val::first_opaque),
            V::Obj(o) => o.attrs.values().find_map(Val::first_opaque),
            _ => None,
        }
    }

    /// The string, for strings and `jsonencode` results.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.v {
            V::Str(s) => Some(s),
            V::Json(j) => Some(&j.0),
            _ => None,
        }
    }

    /// The items of a list.
    #[must_use]
    pub fn as_list(&self) -> Option<&[Val]> {
        match &self.v {
            V::List(items) => Some(items),
            _ => None,
        }
    }

    /// An attribute of an object, map or resource, without making references: `None` when it
    /// is not set.
    #[must_use]
    pub fn field(&self, key: &str) -> Option<&Val> {
        match &self.v {
            V::Map(m) => m.get(key),
            V::Obj(o) => o.attrs.get(key),
            _ => None,
        }
    }

    /// The entries of a map, object or resource.
    #[must_use]
    pub fn entries(&self) -> Option<&BTreeMap<String, Val>> {
        match &self.v {
            V::Map(m) => Some(m),
            V::Obj(o) => Some(&o.attrs),
            _ => None,
        }
    }

    /// `value.name`, as a traversal reads it.
    pub fn get_attr(&self, name: &str) -> Result<Val, String> {
        match &self.v {
            V::Map(m) => m
                .get(name)
                .cloned()
                .ok_or_else(|| format!("object has no attribute `{name}`")),
            V::Obj(o) => Ok(o
                .attrs
                .get(name)
                .cloned()
                .unwrap_or_else(|| Val::reference(format!("{}.{name}", o.addr)))),
            V::Ref(r) => Ok(Val::reference(format!("{r}.{name}"))),
            V::Unknown(_) => Ok(self.clone()),
            V::Null => Err(format!("attribute `{name}` of a null value")),
            _ => Err(format!(
                "cannot read attribute `{name}` of a {}",
                self.type_name()
            )),
        }
    }

    /// `value[key]`, as a traversal reads it.
    pub fn index(&self, key: &Val) -> Result<Val, String> {
        if let Some(name) = key.opaque() {
            return Ok(match &self.v {
                V::Ref(r) => Val::reference(format!("{r}[{name}]")),
                _ => Val::unknown(name.to_string()),
            });
        }
        match &self.v {
            V::List(items) => {
                let i = key
                    .to_number()
                    .ok_or_else(|| "a list index must be a number".to_string())?;
                if i < 0.0 || i.fract() != 0.0 {
                    return Err(format!("invalid index {}", fmt_num(i)));
                }
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                items
                    .get(i as usize)
                    .cloned()
                    .ok_or_else(|| format!("index {} is out of range", fmt_num(i)))
            }
            V::Map(_) | V::Obj(_) => {
                let k = key
                    .to_plain_string()
                    .ok_or_else(|| "a map key must be a string".to_string())?;
                match &self.v {
                    V::Obj(o) => {
                        Ok(o.attrs.get(&k).cloned().unwrap_or_else(|| {
                            Val::reference(format!("{}[{}]", o.addr, quote(&k)))
                        }))
                    }
                    _ => self.get_attr(&k),
                }
            }
            V::Ref(r) => Ok(Val::reference(format!("{r}[{}]", key_text(key)))),
            V::Unknown(_) => Ok(self.clone()),
            _ => Err(format!("cannot index a {}", self.type_name())),
        }
    }

    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match &self.v {
            V::Null => "null",
            V::Bool(_) => "bool",
            V::Num(_) => "number",
            V::Str(_) | V::Json(_) => "string",
            V::List(_) => "list",
            V::Map(_) | V::Obj(_) => "object",
            V::Ref(_) => "reference",
            V::Unknown(_) => "unknown value",
        }
    }

    /// A number, converting numeric strings as Terraform does.
    #[must_use]
    pub fn to_number(&self) -> Option<f64> {
        match &self.v {
            V::Num(n) => Some(*n),
            V::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A bool, converting `"true"`/`"false"` as Terraform does.
    #[must_use]
    pub fn to_bool(&self) -> Option<bool> {
        match &self.v {
            V::Bool(b) => Some(*b),
            V::Str(s) if s == "true" => Some(true),
            V::Str(s) if s == "false" => Some(false),
            _ => None,
        }
    }

    /// A primitive as a string (numbers and bools convert), as in a template.
    #[must_use]
    pub fn to_plain_string(&self) -> Option<String> {
        match &self.v {
            V::Str(s) => Some(s.clone()),
            V::Json(j) => Some(j.0.clone()),
            V::Num(n) => Some(fmt_num(*n)),
            V::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Equality of plain values; `None` when either side is not known.
    #[must_use]
    pub fn equals(&self, other: &Val) -> Option<bool> {
        if self.first_opaque().is_some() || other.first_opaque().is_some() {
            return None;
        }
        Some(self.same(other))
    }

    /// Structural equality, references compared by their text.
    #[must_use]
    pub fn same(&self, other: &Val) -> bool {
        match (&self.v, &other.v) {
            (V::Null, V::Null) => true,
            (V::Bool(a), V::Bool(b)) => a == b,
            (V::Num(a), V::Num(b)) => (a - b).abs() < f64::EPSILON,
            (V::List(a), V::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
            }
            (V::Ref(a), V::Ref(b)) | (V::Unknown(a), V::Unknown(b)) => a == b,
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
    pub fn to_json(&self) -> Value {
        match &self.v {
            V::Null | V::Unknown(_) => Value::Null,
            V::Bool(b) => Value::Bool(*b),
            V::Num(n) => num_json(*n),
            V::Str(s) => Value::String(s.clone()),
            V::Json(j) => Value::String(j.0.clone()),
            V::Ref(r) => Value::String(r.clone()),
            V::List(items) => Value::Array(items.iter().map(Val::to_json).collect()),
            V::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            V::Obj(o) => Value::Object(
                o.attrs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Builds a value from JSON (no spans).
    #[must_use]
    pub fn from_json(v: &Value) -> Val {
        Val::new(match v {
            Value::Null => V::Null,
            Value::Bool(b) => V::Bool(*b),
            Value::Number(n) => V::Num(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => V::Str(s.clone()),
            Value::Array(items) => V::List(items.iter().map(Val::from_json).collect()),
            Value::Object(m) => V::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Val::from_json(v)))
                    .collect(),
            ),
        })
    }

    /// Sets `at` on this value and every value inside it that was not written inside `within`.
    /// Used when a value crosses a module call: what the caller wrote inside the input
    /// attribute keeps its place, everything else points at the input attribute.
    pub fn retag(&mut self, within: Src) {
        if !self.at.is_some_and(|a| within.contains(&a)) {
            self.at = Some(within);
        }
        match &mut self.v {
            V::List(items) => items.iter_mut().for_each(|i| i.retag(within)),
            V::Map(m) => m.values_mut().for_each(|i| i.retag(within)),
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
pub fn num_json(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        #[allow(clippy::cast_possible_truncation)]
        let i = n as i64;
        Value::Number(i.into())
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
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

fn key_text(key: &Val) -> String {
    match &key.v {
        V::Num(n) => fmt_num(*n),
        _ => key
            .to_plain_string()
            .map_or_else(|| "?".to_string(), |s| quote(&s)),
    }
}

/// Renders a value as `jsonencode` does (keys sorted, compact). `None` when a part is unknown.
#[must_use]
pub fn json_encode(v: &Val) -> Option<String> {
    if v.first_opaque().is_some() {
        return None;
    }
    let mut out = String::new();
    encode_into(v, &mut out);
    Some(out)
}

fn encode_into(v: &Val, out: &mut String) {
    match &v.v {
        V::Null | V::Unknown(_) | V::Ref(_) => out.push_str("null"),
        V::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        V::Num(n) => {
            let _ = write!(out, "{}", num_json(*n));
        }
        V::Str(s) => out.push_str(&Value::String(s.clone()).to_string()),
        V::Json(j) => out.push_str(&Value::String(j.0.clone()).to_string()),
        V::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode_into(item, out);
            }
            out.push(']');
        }
        V::Map(_) | V::Obj(_) => {
            out.push('{');
            if let Some(m) = v.entries() {
                for (i, (k, item)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
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
pub fn object(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_grow_with_traversal() {
        let r = Val::reference("data.aws_availability_zones.available.names");
        let i = r.index(&Val::num(1.0)).unwrap();
        assert_eq!(
            i.opaque(),
            Some("data.aws_availability_zones.available.names[1]")
        );
        let o = Val::new(V::Obj(Arc::new(Obj {
            addr: "aws_subnet.a".into(),
            attrs: BTreeMap::from([("availability_zone".to_string(), Val::str("eu-west-1a"))]),
        })));
        assert_eq!(o.get_attr("id").unwrap().opaque(), Some("aws_subnet.a.id"));
        assert_eq!(
            o.get_attr("availability_zone").unwrap().as_str(),
            Some("eu-west-1a")
        );
    }

    #[test]
    fn json_encoding_sorts_keys_and_keeps_integers() {
        let v = Val::map(BTreeMap::from([
            ("b".to_string(), Val::num(2.0)),
            (
                "a".to_string(),
                Val::list(vec![Val::str("x"), Val::new(V::Bool(true))]),
            ),
        ]));
        assert_eq!(json_encode(&v).unwrap(), r#"{"a":["x",true],"b":2}"#);
        assert!(json_encode(&Val::list(vec![Val::unknown("var.x")])).is_none());
    }
}
