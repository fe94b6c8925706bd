//! Terraform's built-in functions that configurations use to compute the values rules check.
//!
//! A function over an unknown or symbolic argument gives an unknown result that names that
//! argument; a function blogaudit does not implement gives an unknown named after the call.
//! `try`, `can`, `file` and `templatefile` need the evaluator and live in `eval::expr`.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use base64::Engine as _;

use super::value::{fmt_num, json_encode, StackSpan, Value, ValueKind};

/// Why a built-in function gives no value for its arguments. Evaluation records the message as
/// the reason a value is unknown, and `try`/`can` catch it.
#[derive(Debug, thiserror::Error)]
pub enum FuncError {
    /// Fewer arguments than the function reads (the position is 1-based).
    #[error("missing argument {0}")]
    MissingArgument(usize),
    /// An argument of the wrong type.
    #[error("expected a {expected}, got a {got}")]
    Expected {
        expected: &'static str,
        got: &'static str,
    },
    /// A number with a fraction where a whole number belongs.
    #[error("expected a whole number, got {0}")]
    NotWhole(String),
    /// Arguments the function cannot take; the message names the function and what it needs.
    #[error("{0}")]
    Usage(&'static str),
    /// `length` of a value that has none.
    #[error("length of a {0}")]
    NoLength(&'static str),
    /// `concat` of something other than lists.
    #[error("concat needs lists, got a {0}")]
    ConcatNeedsLists(&'static str),
    /// `lookup` of a missing key with no default.
    #[error("lookup: no key `{0}` and no default")]
    NoKey(String),
    /// `flatten` of a list that holds an unknown value.
    #[error("flatten of unknown {0}")]
    FlattenUnknown(String),
    /// A `format` verb Terraform does not have.
    #[error("format: unsupported verb %{0}")]
    FormatVerb(char),
    /// `jsondecode` of text that is not JSON.
    #[error("jsondecode: {0}")]
    JsonDecode(#[source] serde_json::Error),
    /// `cidrsubnet`/`cidrhost` arguments that give no address.
    #[error(transparent)]
    Cidr(#[from] CidrError),
}

/// Why `cidrsubnet` or `cidrhost` gives no address.
#[derive(Debug, thiserror::Error)]
pub enum CidrError {
    #[error("`{0}` is not a CIDR prefix")]
    NotCidr(String),
    #[error("`{0}` has a bad length")]
    BadLength(String),
    #[error("`{0}` is not an IP prefix")]
    NotIp(String),
    #[error("cidrsubnet: bad newbits")]
    BadNewbits,
    #[error("cidrsubnet: bad netnum")]
    BadNetnum,
    #[error("cidrsubnet: {prefix} has no room for {newbits} more bits")]
    NoRoom { prefix: String, newbits: u32 },
    #[error("cidrsubnet: netnum {netnum} does not fit in {newbits} bits")]
    NetnumTooBig { netnum: u128, newbits: u32 },
    #[error("cidrhost: hostnum out of range")]
    HostnumOutOfRange,
}

use FuncError::Usage;

type FuncResult<T> = Result<T, FuncError>;

/// Calls `name` with evaluated arguments. `at` is where the call is written.
pub fn call(name: &str, args: Vec<Value>, at: Option<StackSpan>) -> FuncResult<Value> {
    // A function that fails on a value holding a reference or an unknown is not wrong: its
    // result is unknown.
    let opaque = args
        .iter()
        .find_map(|a| a.first_opaque().map(str::to_string));
    match apply(name, args, at) {
        Err(_) if opaque.is_some() => Ok(Value::at(
            ValueKind::Unknown(opaque.unwrap_or_default()),
            at,
        )),
        r => r,
    }
}

fn apply(name: &str, args: Vec<Value>, at: Option<StackSpan>) -> FuncResult<Value> {
    // Functions that move values around may carry references inside lists; the others need
    // plain arguments.
    let moves = matches!(
        name,
        "concat"
            | "element"
            | "slice"
            | "merge"
            | "lookup"
            | "values"
            | "keys"
            | "flatten"
            | "tolist"
            | "toset"
            | "tomap"
            | "tostring"
            | "length"
            | "coalesce"
            | "compact"
            | "distinct"
            | "one"
            | "reverse"
            | "zipmap"
            | "coalescelist"
            | "jsonencode"
            | "setunion"
    );
    if !moves || name == "length" {
        if let Some(o) = args.iter().find_map(Value::opaque) {
            return Ok(Value::unknown(o.to_string()));
        }
    }
    let v = match name {
        "length" => length(&args)?,
        "element" => return element(&args),
        "slice" => slice(&args)?,
        "concat" => concat(args)?,
        "toset" => to_set(arg(&args, 0)?)?,
        "tolist" => match &arg(&args, 0)?.kind {
            ValueKind::List(_) | ValueKind::Ref(_) | ValueKind::Unknown(_) => {
                return Ok(args.into_iter().next().unwrap_or_else(Value::null))
            }
            _ => return Err(Usage("tolist needs a list or set")),
        },
        "tomap" => match &arg(&args, 0)?.kind {
            ValueKind::Map(_)
            | ValueKind::Resource(_)
            | ValueKind::Ref(_)
            | ValueKind::Unknown(_) => {
                return Ok(args.into_iter().next().unwrap_or_else(Value::null))
            }
            _ => return Err(Usage("tomap needs a map")),
        },
        "tostring" => {
            let a = arg(&args, 0)?;
            if a.opaque().is_some() || a.is_null() {
                return Ok(a.clone());
            }
            ValueKind::Str(
                a.to_plain_string()
                    .ok_or(Usage("tostring needs a primitive value"))?,
            )
        }
        "tonumber" => {
            let a = arg(&args, 0)?;
            if a.is_null() {
                ValueKind::Null
            } else {
                ValueKind::Num(a.to_number().ok_or(Usage("tonumber needs a number"))?)
            }
        }
        "tobool" => {
            let a = arg(&args, 0)?;
            if a.is_null() {
                ValueKind::Null
            } else {
                ValueKind::Bool(a.to_bool().ok_or(Usage("tobool needs a bool"))?)
            }
        }
        "format" => ValueKind::Str(format(&args)?),
        "formatlist" => formatlist(&args)?,
        "join" => {
            let sep = string(arg(&args, 0)?)?;
            let mut parts = Vec::new();
            for l in &args[1..] {
                for item in list(l)? {
                    if let Some(o) = item.opaque() {
                        return Ok(Value::unknown(o.to_string()));
                    }
                    parts.push(item.to_plain_string().ok_or(Usage("join needs strings"))?);
                }
            }
            ValueKind::Str(parts.join(&sep))
        }
        "split" => {
            let sep = string(arg(&args, 0)?)?;
            let s = string(arg(&args, 1)?)?;
            if s.is_empty() {
                ValueKind::List(Vec::new())
            } else {
                ValueKind::List(s.split(sep.as_str()).map(Value::str).collect())
            }
        }
        "lower" => ValueKind::Str(string(arg(&args, 0)?)?.to_lowercase()),
        "upper" => ValueKind::Str(string(arg(&args, 0)?)?.to_uppercase()),
        "title" => ValueKind::Str(title(&string(arg(&args, 0)?)?)),
        "trimspace" => ValueKind::Str(string(arg(&args, 0)?)?.trim().to_string()),
        "trim" => {
            let chars: Vec<char> = string(arg(&args, 1)?)?.chars().collect();
            ValueKind::Str(
                string(arg(&args, 0)?)?
                    .trim_matches(chars.as_slice())
                    .to_string(),
            )
        }
        "trimprefix" => {
            let s = string(arg(&args, 0)?)?;
            let p = string(arg(&args, 1)?)?;
            ValueKind::Str(s.strip_prefix(p.as_str()).unwrap_or(&s).to_string())
        }
        "trimsuffix" => {
            let s = string(arg(&args, 0)?)?;
            let p = string(arg(&args, 1)?)?;
            ValueKind::Str(s.strip_suffix(p.as_str()).unwrap_or(&s).to_string())
        }
        "startswith" => {
            ValueKind::Bool(string(arg(&args, 0)?)?.starts_with(&string(arg(&args, 1)?)?))
        }
        "endswith" => ValueKind::Bool(string(arg(&args, 0)?)?.ends_with(&string(arg(&args, 1)?)?)),
        "strcontains" => {
            ValueKind::Bool(string(arg(&args, 0)?)?.contains(&string(arg(&args, 1)?)?))
        }
        "replace" => {
            let s = string(arg(&args, 0)?)?;
            let from = string(arg(&args, 1)?)?;
            let to = string(arg(&args, 2)?)?;
            if from.len() > 1 && from.starts_with('/') && from.ends_with('/') {
                return Ok(Value::unknown("replace() with a regular expression"));
            }
            let grows = to.len().saturating_sub(from.len().max(1));
            if grows.saturating_mul(s.len() + 1) > MAX_BUILT_BYTES {
                return Err(Usage("replace: the result would be over 16 MiB"));
            }
            ValueKind::Str(s.replace(&from, &to))
        }
        "substr" => {
            let s = string(arg(&args, 0)?)?;
            let chars: Vec<char> = s.chars().collect();
            let off = int(arg(&args, 1)?)?;
            let len = int(arg(&args, 2)?)?;
            let n = i64::try_from(chars.len()).unwrap_or(i64::MAX);
            let start = if off < 0 {
                (n + off).max(0)
            } else {
                off.min(n)
            };
            let end = if len < 0 { n } else { (start + len).min(n) };
            let (start, end) = (
                usize::try_from(start).unwrap_or(0),
                usize::try_from(end).unwrap_or(0),
            );
            ValueKind::Str(chars[start..end.max(start)].iter().collect())
        }
        "lookup" => return lookup(&args),
        "merge" => merge(&args)?,
        "keys" => match &arg(&args, 0)?.kind {
            ValueKind::Ref(r) | ValueKind::Unknown(r) => ValueKind::Unknown(r.clone()),
            _ => ValueKind::List(
                entries(arg(&args, 0)?)?
                    .keys()
                    .map(|k| Value::str(k.clone()))
                    .collect(),
            ),
        },
        "values" => match &arg(&args, 0)?.kind {
            ValueKind::Ref(r) | ValueKind::Unknown(r) => ValueKind::Unknown(r.clone()),
            _ => ValueKind::List(entries(arg(&args, 0)?)?.values().cloned().collect()),
        },
        "flatten" => {
            let mut out = Vec::new();
            flatten_into(arg(&args, 0)?, &mut out)?;
            ValueKind::List(out)
        }
        "distinct" => {
            let mut out: Vec<Value> = Vec::new();
            for v in list(arg(&args, 0)?)? {
                if !out.iter().any(|o| o.same(v)) {
                    out.push(v.clone());
                }
            }
            ValueKind::List(out)
        }
        "setunion" => {
            let mut all = Vec::new();
            for a in &args {
                all.extend(list(a)?.iter().cloned());
            }
            return to_set(&Value::list(all)).map(|v| Value::at(v, at));
        }
        "contains" => {
            let l = list(arg(&args, 0)?)?;
            let needle = arg(&args, 1)?;
            let mut undecided = None;
            for v in l {
                match v.equals(needle) {
                    Some(true) => return Ok(Value::at(ValueKind::Bool(true), at)),
                    Some(false) => {}
                    None => undecided = v.first_opaque().map(str::to_string),
                }
            }
            match undecided {
                Some(o) => ValueKind::Unknown(o),
                None => ValueKind::Bool(false),
            }
        }
        "index" => {
            let l = list(arg(&args, 0)?)?;
            let needle = arg(&args, 1)?;
            let i = l
                .iter()
                .position(|v| v.same(needle))
                .ok_or(Usage("index: value not in list"))?;
            ValueKind::Num(f64::from(u32::try_from(i).unwrap_or(u32::MAX)))
        }
        "coalesce" => {
            for a in &args {
                if let Some(o) = a.opaque() {
                    return Ok(Value::unknown(o.to_string()));
                }
                if !a.is_null() && a.as_str() != Some("") {
                    return Ok(a.clone());
                }
            }
            return Err(Usage("coalesce: no non-null, non-empty argument"));
        }
        "coalescelist" => {
            for a in &args {
                if let Some(o) = a.opaque() {
                    return Ok(Value::unknown(o.to_string()));
                }
                if !list(a)?.is_empty() {
                    return Ok(a.clone());
                }
            }
            ValueKind::List(Vec::new())
        }
        "compact" => {
            let mut out = Vec::new();
            for v in list(arg(&args, 0)?)? {
                if let Some(o) = v.opaque() {
                    return Ok(Value::unknown(o.to_string()));
                }
                if !v.is_null() && v.as_str() != Some("") {
                    out.push(v.clone());
                }
            }
            ValueKind::List(out)
        }
        "one" => {
            let l = list(arg(&args, 0)?)?;
            match l.len() {
                0 => ValueKind::Null,
                1 => return Ok(l[0].clone()),
                _ => return Err(Usage("one: list has more than one element")),
            }
        }
        "reverse" => ValueKind::List(list(arg(&args, 0)?)?.iter().rev().cloned().collect()),
        "sort" => {
            let mut items = Vec::new();
            for v in list(arg(&args, 0)?)? {
                items.push(v.to_plain_string().ok_or(Usage("sort needs strings"))?);
            }
            items.sort();
            ValueKind::List(items.into_iter().map(Value::str).collect())
        }
        "zipmap" => {
            let ks = list(arg(&args, 0)?)?;
            let vs = list(arg(&args, 1)?)?;
            if ks.len() != vs.len() {
                return Err(Usage("zipmap: lists differ in length"));
            }
            let mut m = BTreeMap::new();
            for (k, v) in ks.iter().zip(vs) {
                if let Some(o) = k.opaque() {
                    return Ok(Value::unknown(o.to_string()));
                }
                m.insert(
                    k.to_plain_string()
                        .ok_or(Usage("zipmap keys must be strings"))?,
                    v.clone(),
                );
            }
            ValueKind::Map(m)
        }
        "range" => range(&args)?,
        "min" | "max" => {
            let mut nums = Vec::new();
            for a in &args {
                nums.push(a.to_number().ok_or(Usage("min/max need numbers"))?);
            }
            let pick = if name == "min" { f64::min } else { f64::max };
            ValueKind::Num(
                nums.into_iter()
                    .reduce(pick)
                    .ok_or(Usage("min/max need an argument"))?,
            )
        }
        "sum" => {
            let mut total = 0.0;
            for v in list(arg(&args, 0)?)? {
                if let Some(o) = v.opaque() {
                    return Ok(Value::unknown(o.to_string()));
                }
                total += v.to_number().ok_or(Usage("sum needs numbers"))?;
            }
            ValueKind::Num(total)
        }
        "abs" => ValueKind::Num(number(arg(&args, 0)?)?.abs()),
        "ceil" => ValueKind::Num(number(arg(&args, 0)?)?.ceil()),
        "floor" => ValueKind::Num(number(arg(&args, 0)?)?.floor()),
        "alltrue" | "anytrue" => {
            let want = name == "anytrue";
            let mut out = !want;
            for v in list(arg(&args, 0)?)? {
                if let Some(o) = v.opaque() {
                    return Ok(Value::unknown(o.to_string()));
                }
                if v.to_bool().ok_or(Usage("alltrue/anytrue need bools"))? == want {
                    out = want;
                }
            }
            ValueKind::Bool(out)
        }
        "jsonencode" => {
            let a = arg(&args, 0)?;
            match json_encode(a) {
                Some(s) => ValueKind::Json(Arc::new((s, a.clone()))),
                None => ValueKind::Unknown(a.first_opaque().unwrap_or("jsonencode()").to_string()),
            }
        }
        "jsondecode" => {
            let s = string(arg(&args, 0)?)?;
            let v: serde_json::Value = serde_json::from_str(&s).map_err(FuncError::JsonDecode)?;
            return Ok(Value::from_json(&v).with_at(at));
        }
        "cidrsubnet" => ValueKind::Str(cidrsubnet(
            &string(arg(&args, 0)?)?,
            int(arg(&args, 1)?)?,
            int(arg(&args, 2)?)?,
        )?),
        "cidrhost" => ValueKind::Str(cidrhost(&string(arg(&args, 0)?)?, int(arg(&args, 1)?)?)?),
        "base64encode" => ValueKind::Str(
            base64::engine::general_purpose::STANDARD.encode(string(arg(&args, 0)?)?.as_bytes()),
        ),
        _ => ValueKind::Unknown(format!("{name}()")),
    };
    Ok(Value::at(v, at))
}

fn arg(args: &[Value], i: usize) -> FuncResult<&Value> {
    args.get(i).ok_or(FuncError::MissingArgument(i + 1))
}

/// An argument of the wrong type.
fn expected(expected: &'static str, v: &Value) -> FuncError {
    FuncError::Expected {
        expected,
        got: v.type_name(),
    }
}

fn string(v: &Value) -> FuncResult<String> {
    v.to_plain_string().ok_or_else(|| expected("string", v))
}

fn number(v: &Value) -> FuncResult<f64> {
    v.to_number().ok_or_else(|| expected("number", v))
}

fn int(v: &Value) -> FuncResult<i64> {
    let n = number(v)?;
    if n.fract() != 0.0 {
        return Err(FuncError::NotWhole(fmt_num(n)));
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(n as i64)
}

fn list(v: &Value) -> FuncResult<&[Value]> {
    v.as_list().ok_or_else(|| expected("list", v))
}

fn entries(v: &Value) -> FuncResult<&BTreeMap<String, Value>> {
    v.entries().ok_or_else(|| expected("map", v))
}

fn length(args: &[Value]) -> FuncResult<ValueKind> {
    let a = arg(args, 0)?;
    let n = match &a.kind {
        ValueKind::List(l) => l.len(),
        ValueKind::Map(m) => m.len(),
        ValueKind::Resource(o) => o.attrs.len(),
        ValueKind::Str(s) => s.chars().count(),
        ValueKind::Json(j) => j.0.chars().count(),
        _ => return Err(FuncError::NoLength(a.type_name())),
    };
    Ok(ValueKind::Num(f64::from(
        u32::try_from(n).unwrap_or(u32::MAX),
    )))
}

fn element(args: &[Value]) -> FuncResult<Value> {
    let l = arg(args, 0)?;
    let i = arg(args, 1)?;
    if let Some(o) = l.opaque().or_else(|| i.opaque()) {
        return Ok(Value::unknown(o.to_string()));
    }
    let items = list(l)?;
    if items.is_empty() {
        return Err(Usage("element of an empty list"));
    }
    let i = int(i)?;
    if i < 0 {
        return Err(Usage("element index must not be negative"));
    }
    let i = usize::try_from(i).unwrap_or(0) % items.len();
    Ok(items[i].clone())
}

fn slice(args: &[Value]) -> FuncResult<ValueKind> {
    let l = arg(args, 0)?;
    let (s, e) = (arg(args, 1)?, arg(args, 2)?);
    if let Some(o) = s.opaque().or_else(|| e.opaque()) {
        return Ok(ValueKind::Unknown(o.to_string()));
    }
    let (s, e) = (int(s)?, int(e)?);
    if s < 0 || e < s {
        return Err(Usage("slice: invalid range"));
    }
    let (s, e) = (
        usize::try_from(s).unwrap_or(0),
        usize::try_from(e).unwrap_or(0),
    );
    match &l.kind {
        // slice() fails when the list is too short, so a list that slices is long enough:
        // its elements are known to exist, and distinct indices stay distinct.
        ValueKind::Ref(r) => Ok(ValueKind::List(
            (s..e)
                .map(|i| Value::reference(format!("{r}[{i}]")))
                .collect(),
        )),
        ValueKind::Unknown(u) => Ok(ValueKind::Unknown(u.clone())),
        _ => {
            let items = list(l)?;
            if e > items.len() {
                return Err(Usage("slice: end index out of range"));
            }
            Ok(ValueKind::List(items[s..e].to_vec()))
        }
    }
}

fn concat(args: Vec<Value>) -> FuncResult<ValueKind> {
    let mut out = Vec::new();
    for a in args {
        match a.kind {
            ValueKind::List(items) => out.extend(items),
            ValueKind::Ref(r) | ValueKind::Unknown(r) => return Ok(ValueKind::Unknown(r)),
            _ => return Err(FuncError::ConcatNeedsLists(a.type_name())),
        }
    }
    Ok(ValueKind::List(out))
}

/// A set: duplicates dropped, strings sorted as Terraform orders them.
pub fn to_set(v: &Value) -> FuncResult<ValueKind> {
    match &v.kind {
        ValueKind::Ref(r) | ValueKind::Unknown(r) => Ok(ValueKind::Unknown(r.clone())),
        ValueKind::Null => Ok(ValueKind::Null),
        _ => {
            let mut out: Vec<Value> = Vec::new();
            for item in list(v)? {
                if !out.iter().any(|o| o.same(item)) {
                    out.push(item.clone());
                }
            }
            if out.iter().all(|i| matches!(i.kind, ValueKind::Str(_))) {
                out.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
            Ok(ValueKind::List(out))
        }
    }
}

fn lookup(args: &[Value]) -> FuncResult<Value> {
    let m = arg(args, 0)?;
    let k = arg(args, 1)?;
    if let Some(o) = m.opaque().or_else(|| k.opaque()) {
        return Ok(Value::unknown(o.to_string()));
    }
    let key = string(k)?;
    match entries(m)?.get(&key) {
        Some(v) => Ok(v.clone()),
        None => args.get(2).cloned().ok_or(FuncError::NoKey(key)),
    }
}

fn merge(args: &[Value]) -> FuncResult<ValueKind> {
    let mut out = BTreeMap::new();
    for a in args {
        match &a.kind {
            ValueKind::Null => {}
            ValueKind::Ref(r) | ValueKind::Unknown(r) => return Ok(ValueKind::Unknown(r.clone())),
            _ => {
                for (k, v) in entries(a)? {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Ok(ValueKind::Map(out))
}

fn flatten_into(v: &Value, out: &mut Vec<Value>) -> FuncResult<()> {
    match &v.kind {
        ValueKind::List(items) => {
            for i in items {
                if matches!(i.kind, ValueKind::List(_)) {
                    flatten_into(i, out)?;
                } else {
                    out.push(i.clone());
                }
            }
            Ok(())
        }
        ValueKind::Ref(r) | ValueKind::Unknown(r) => Err(FuncError::FlattenUnknown(r.clone())),
        _ => Err(Usage("flatten needs a list")),
    }
}

/// Most bytes one function call may add to a string beyond its arguments (a format width, a
/// replacement): larger results are refused before they are built.
const MAX_BUILT_BYTES: usize = 16 * 1024 * 1024;

fn range(args: &[Value]) -> FuncResult<ValueKind> {
    let nums: Vec<f64> = args.iter().map(number).collect::<Result<_, _>>()?;
    let (start, end, step) = match nums.as_slice() {
        [e] => (0.0, *e, 1.0),
        [s, e] => (*s, *e, if e >= s { 1.0 } else { -1.0 }),
        [s, e, st] => (*s, *e, *st),
        _ => return Err(Usage("range takes one to three numbers")),
    };
    if step == 0.0 {
        return Err(Usage("range step must not be zero"));
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0.0 && x < end) || (step < 0.0 && x > end) {
        out.push(Value::num(x));
        x += step;
        if out.len() > 1024 {
            return Err(Usage("range too long"));
        }
    }
    Ok(ValueKind::List(out))
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

/// `format` with the verbs configurations use: `%s %d %v %q %f %t %%`, widths and precision.
fn format(args: &[Value]) -> FuncResult<String> {
    let fmt = string(arg(args, 0)?)?;
    let mut out = String::new();
    let mut next = 1;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || matches!(d, '.' | '-' | '+' | '#' | ' ') {
                spec.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let verb = chars.next().ok_or(Usage("format: trailing %"))?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let v = args
            .get(next)
            .ok_or(Usage("format: not enough arguments"))?;
        next += 1;
        let (width, precision) = match spec
            .trim_start_matches(['-', '+', '#', ' '])
            .split_once('.')
        {
            Some((w, p)) => (w.parse::<usize>().ok(), p.parse::<usize>().ok()),
            None => (
                spec.trim_start_matches(['-', '+', '#', ' ']).parse().ok(),
                None,
            ),
        };
        let text = match verb {
            's' | 'v' => v
                .to_plain_string()
                .unwrap_or_else(|| v.to_json().to_string()),
            'q' => serde_json::Value::String(string(v)?).to_string(),
            'd' => {
                let n = number(v)?;
                fmt_num(n.trunc())
            }
            'f' => {
                let n = number(v)?;
                format!("{n:.*}", precision.unwrap_or(6))
            }
            't' => v
                .to_bool()
                .ok_or(Usage("format %t needs a bool"))?
                .to_string(),
            other => return Err(FuncError::FormatVerb(other)),
        };
        let pad = width.unwrap_or(0).saturating_sub(text.chars().count());
        if pad > MAX_BUILT_BYTES {
            return Err(Usage("format: a width over 16 MiB"));
        }
        if spec.starts_with('-') {
            out.push_str(&text);
            out.extend(std::iter::repeat_n(' ', pad));
        } else {
            let fill = if spec.starts_with('0') { '0' } else { ' ' };
            out.extend(std::iter::repeat_n(fill, pad));
            out.push_str(&text);
        }
    }
    Ok(out)
}

fn formatlist(args: &[Value]) -> FuncResult<ValueKind> {
    if args.is_empty() {
        return Err(Usage("formatlist needs a format"));
    }
    let n = args[1..]
        .iter()
        .filter_map(Value::as_list)
        .map(<[Value]>::len)
        .max()
        .unwrap_or(1);
    let mut out = Vec::new();
    for i in 0..n {
        let mut row = vec![args[0].clone()];
        for a in &args[1..] {
            row.push(match a.as_list() {
                Some(l) => l
                    .get(i)
                    .cloned()
                    .ok_or(Usage("formatlist: lists differ in length"))?,
                None => a.clone(),
            });
        }
        out.push(Value::str(format(&row)?));
    }
    Ok(ValueKind::List(out))
}

fn parse_cidr(prefix: &str) -> Result<(u128, u32, bool), CidrError> {
    let (ip, len) = prefix
        .split_once('/')
        .ok_or_else(|| CidrError::NotCidr(prefix.to_string()))?;
    let len: u32 = len
        .parse()
        .map_err(|_| CidrError::BadLength(prefix.to_string()))?;
    if let Ok(v4) = ip.parse::<Ipv4Addr>() {
        if len > 32 {
            return Err(CidrError::BadLength(prefix.to_string()));
        }
        Ok((u128::from(u32::from(v4)), len, false))
    } else {
        let v6: Ipv6Addr = ip
            .parse()
            .map_err(|_| CidrError::NotIp(prefix.to_string()))?;
        if len > 128 {
            return Err(CidrError::BadLength(prefix.to_string()));
        }
        Ok((u128::from(v6), len, true))
    }
}

fn render_ip(addr: u128, v6: bool) -> String {
    if v6 {
        Ipv6Addr::from(addr).to_string()
    } else {
        Ipv4Addr::from(u32::try_from(addr).unwrap_or(0)).to_string()
    }
}

/// `cidrsubnet(prefix, newbits, netnum)` for IPv4 and IPv6.
pub fn cidrsubnet(prefix: &str, newbits: i64, netnum: i64) -> Result<String, CidrError> {
    let (addr, len, v6) = parse_cidr(prefix)?;
    let bits = if v6 { 128 } else { 32 };
    let newbits = u32::try_from(newbits).map_err(|_| CidrError::BadNewbits)?;
    let netnum = u128::try_from(netnum).map_err(|_| CidrError::BadNetnum)?;
    let new_len = len + newbits;
    if new_len > bits {
        return Err(CidrError::NoRoom {
            prefix: prefix.to_string(),
            newbits,
        });
    }
    if newbits < 128 && netnum >= (1u128 << newbits) {
        return Err(CidrError::NetnumTooBig { netnum, newbits });
    }
    let host_bits = bits - new_len;
    let mask = if len == 0 {
        0
    } else {
        (!0u128) << (bits - len)
    } & full(bits);
    let base = addr & mask;
    let net = base | (netnum.checked_shl(host_bits).unwrap_or(0));
    Ok(format!("{}/{new_len}", render_ip(net, v6)))
}

/// `cidrhost(prefix, hostnum)`.
pub fn cidrhost(prefix: &str, hostnum: i64) -> Result<String, CidrError> {
    let (addr, len, v6) = parse_cidr(prefix)?;
    let bits = if v6 { 128 } else { 32 };
    let host_bits = bits - len;
    let size = if host_bits >= 128 {
        u128::MAX
    } else {
        1u128 << host_bits
    };
    let host = if hostnum < 0 {
        size.checked_sub(u128::try_from(-hostnum).unwrap_or(0))
            .ok_or(CidrError::HostnumOutOfRange)?
    } else {
        u128::try_from(hostnum).unwrap_or(0)
    };
    if host >= size {
        return Err(CidrError::HostnumOutOfRange);
    }
    let mask = if len == 0 {
        0
    } else {
        (!0u128) << (bits - len)
    } & full(bits);
    Ok(render_ip((addr & mask) | host, v6))
}

fn full(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Value {
        Value::list(v.iter().map(|s| Value::str(*s)).collect())
    }

    fn s(v: &Value) -> String {
        v.to_json().to_string()
    }

    #[test]
    fn cidrsubnet_matches_terraform() {
        assert_eq!(cidrsubnet("10.0.0.0/16", 4, 2).unwrap(), "10.0.32.0/20");
        assert_eq!(cidrsubnet("172.16.0.0/12", 4, 15).unwrap(), "172.31.0.0/16");
        assert_eq!(cidrsubnet("10.1.2.0/24", 0, 0).unwrap(), "10.1.2.0/24");
        assert_eq!(
            cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162).unwrap(),
            "fd00:fd12:3456:7800:a200::/72"
        );
        assert!(cidrsubnet("10.0.0.0/30", 4, 0).is_err());
        assert_eq!(cidrhost("10.12.112.0/20", 16).unwrap(), "10.12.112.16");
        assert_eq!(cidrhost("10.12.112.0/20", -2).unwrap(), "10.12.127.254");
    }

    #[test]
    fn collection_functions() {
        let l = strs(&["b", "a", "b"]);
        assert_eq!(
            s(&call("toset", vec![l.clone()], None).unwrap()),
            r#"["a","b"]"#
        );
        assert_eq!(s(&call("length", vec![l.clone()], None).unwrap()), "3");
        assert_eq!(
            s(&call("element", vec![l.clone(), Value::num(4.0)], None).unwrap()),
            r#""a""#
        );
        assert_eq!(
            s(&call(
                "slice",
                vec![l.clone(), Value::num(1.0), Value::num(3.0)],
                None
            )
            .unwrap()),
            r#"["a","b"]"#
        );
        assert_eq!(
            s(&call("concat", vec![strs(&["x"]), strs(&["y", "z"])], None).unwrap()),
            r#"["x","y","z"]"#
        );
        let m1 = Value::map(BTreeMap::from([("a".to_string(), Value::num(1.0))]));
        let m2 = Value::map(BTreeMap::from([
            ("b".to_string(), Value::num(2.0)),
            ("a".to_string(), Value::num(3.0)),
        ]));
        let merged = call("merge", vec![m1.clone(), m2], None).unwrap();
        assert_eq!(s(&merged), r#"{"a":3,"b":2}"#);
        assert_eq!(
            s(&call("lookup", vec![m1.clone(), Value::str("a")], None).unwrap()),
            "1"
        );
        assert_eq!(
            s(&call("lookup", vec![m1, Value::str("z"), Value::str("d")], None).unwrap()),
            r#""d""#
        );
        assert_eq!(
            s(&call(
                "format",
                vec![Value::str("%s-%03d"), Value::str("x"), Value::num(7.0)],
                None
            )
            .unwrap()),
            r#""x-007""#
        );
    }

    #[test]
    fn unknown_arguments_name_their_input() {
        let r = call("length", vec![Value::unknown("var.azs")], None).unwrap();
        assert_eq!(r.opaque(), Some("var.azs"));
        let r = call("upper", vec![Value::reference("aws_s3_bucket.a.id")], None).unwrap();
        assert_eq!(r.opaque(), Some("aws_s3_bucket.a.id"));
        // References inside lists move through list functions.
        let r = call(
            "concat",
            vec![Value::list(vec![Value::reference("aws_subnet.a.id")])],
            None,
        )
        .unwrap();
        assert_eq!(r.as_list().unwrap()[0].opaque(), Some("aws_subnet.a.id"));
        // Slicing a data source's list keeps distinct symbolic elements.
        let r = call(
            "slice",
            vec![
                Value::reference("data.aws_availability_zones.a.names"),
                Value::num(0.0),
                Value::num(2.0),
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            r.as_list().unwrap()[1].opaque(),
            Some("data.aws_availability_zones.a.names[1]")
        );
        assert_eq!(
            call("nosuchfn", vec![], None).unwrap().opaque(),
            Some("nosuchfn()")
        );
    }

    #[test]
    fn jsonencode_keeps_the_encoded_value() {
        let v = Value::map(BTreeMap::from([(
            "Version".to_string(),
            Value::str("2012-10-17"),
        )]));
        let r = call("jsonencode", vec![v], None).unwrap();
        assert_eq!(r.as_str(), Some(r#"{"Version":"2012-10-17"}"#));
        assert!(matches!(r.kind, ValueKind::Json(_)));
    }

    #[test]
    fn base64encode_pads_like_terraform() {
        for (text, encoded) in [
            ("hello", "aGVsbG8="),
            ("hi", "aGk="),
            ("abc", "YWJj"),
            ("", ""),
        ] {
            let r = call("base64encode", vec![Value::str(text)], None).unwrap();
            assert_eq!(r.as_str(), Some(encoded));
        }
    }

    #[test]
    fn errors_keep_their_messages() {
        let e = call(
            "cidrsubnet",
            vec![Value::str("10.0.0.0/30"), Value::num(4.0), Value::num(0.0)],
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cidrsubnet: 10.0.0.0/30 has no room for 4 more bits"
        );
        let e = call(
            "lookup",
            vec![Value::map(BTreeMap::new()), Value::str("k")],
            None,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "lookup: no key `k` and no default");
        let e = call("upper", vec![], None).unwrap_err();
        assert_eq!(e.to_string(), "missing argument 1");
    }
}
