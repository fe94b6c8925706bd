//! Typed reads of a configured value: what a field holds, whether it is unset, or which input
//! keeps it unknown.

use serde_json::{Map, Value as Json};

use crate::source::terraform::value::{num_json, Value, ValueKind};

/// A value that is set (`null` counts as unset).
pub(super) fn plain(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// What a typed read of a value gave.
pub(super) enum Reading {
    Known(Json),
    Unset,
    Unknown(String),
}

/// A primitive read with `convert`; `what` names the type in the reason when it does not
/// convert.
fn primitive(v: Option<&Value>, what: &str, convert: impl Fn(&Value) -> Option<Json>) -> Reading {
    match plain(v) {
        None => Reading::Unset,
        Some(v) => match (v.opaque(), convert(v)) {
            (Some(o), _) => Reading::Unknown(o.to_string()),
            (None, Some(j)) => Reading::Known(j),
            (None, None) => Reading::Unknown(format!("a {} where a {what} belongs", v.type_name())),
        },
    }
}

pub(super) fn bool_of(v: Option<&Value>) -> Reading {
    primitive(v, "bool", |v| v.to_bool().map(Json::Bool))
}

pub(super) fn num_of(v: Option<&Value>) -> Reading {
    primitive(v, "number", |v| v.to_number().map(num_json))
}

/// A string setting (an enum-like value): a reference is unknown.
pub(super) fn str_of(v: Option<&Value>) -> Reading {
    primitive(v, "string", |v| v.to_plain_string().map(Json::String))
}

/// An identity string (a name, an id, an ARN): a reference stays as its text.
pub(super) fn ident_of(v: Option<&Value>) -> Reading {
    match plain(v).map(|v| &v.kind) {
        Some(ValueKind::Ref(r)) => Reading::Known(Json::String(r.clone())),
        _ => str_of(v),
    }
}

/// A list of strings; `ident` keeps references as their text.
pub(super) fn list_of(v: Option<&Value>, ident: bool) -> Reading {
    let Some(v) = plain(v) else {
        return Reading::Unset;
    };
    if let Some(o) = v.opaque() {
        return Reading::Unknown(o.to_string());
    }
    let Some(items) = v.as_list() else {
        return Reading::Unknown(format!("a {} where a list belongs", v.type_name()));
    };
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        match if ident {
            ident_of(Some(i))
        } else {
            str_of(Some(i))
        } {
            Reading::Known(s) => out.push(s),
            Reading::Unset => {}
            Reading::Unknown(u) => return Reading::Unknown(u),
        }
    }
    Reading::Known(Json::Array(out))
}

/// A map of strings (tags).
pub(super) fn map_of(v: Option<&Value>) -> Reading {
    let Some(v) = plain(v) else {
        return Reading::Unset;
    };
    if let Some(o) = v.opaque() {
        return Reading::Unknown(o.to_string());
    }
    let Some(m) = v.entries() else {
        return Reading::Unknown(format!("a {} where a map belongs", v.type_name()));
    };
    let mut out = Map::new();
    for (k, i) in m {
        match ident_of(Some(i)) {
            Reading::Known(s) => {
                out.insert(k.clone(), s);
            }
            Reading::Unset => {
                out.insert(k.clone(), Json::Null);
            }
            Reading::Unknown(u) => return Reading::Unknown(u),
        }
    }
    Reading::Known(Json::Object(out))
}
