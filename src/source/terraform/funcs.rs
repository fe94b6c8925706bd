//! Terraform's built-in functions that configurations use to compute the values rules check.
//!
//! A function over an unknown or symbolic argument gives an unknown result that names that
//! argument; a function blogaudit does not implement gives an unknown named after the call.
//! `try`, `can`, `file` and `templatefile` need the evaluator and live in `eval.rs`.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::value::{fmt_num, json_encode, Src, Val, V};

type R = Result<Val, String>;

/// Calls `name` with evaluated arguments. `at` is where the call is written.
pub fn call(name: &str, args: Vec<Val>, at: Option<Src>) -> R {
    // A function that fails on a value holding a reference or an unknown is not wrong: its
    // result is unknown.
    let opaque = args
        .iter()
        .find_map(|a| a.first_opaque().map(str::to_string));
    match apply(name, args, at) {
        Err(_) if opaque.is_some() => Ok(Val::at(V::Unknown(opaque.unwrap_or_default()), at)),
        r => r,
    }
}

fn apply(name: &str, args: Vec<Val>, at: Option<Src>) -> R {
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
        if let Some(o) = args.iter().find_map(Val::opaque) {
            return Ok(Val::unknown(o.to_string()));
        }
    }
    let v = match name {
        "length" => length(&args)?,
        "element" => return element(&args),
        "slice" => slice(&args)?,
        "concat" => concat(args)?,
        "toset" => to_set(arg(&args, 0)?)?,
        "tolist" => match &arg(&args, 0)?.v {
            V::List(_) | V::Ref(_) | V::Unknown(_) => {
                return Ok(args.into_iter().next().unwrap_or_else(Val::null))
            }
            _ => return Err("tolist needs a list or set".into()),
        },
        "tomap" => match &arg(&args, 0)?.v {
            V::Map(_) | V::Obj(_) | V::Ref(_) | V::Unknown(_) => {
                return Ok(args.into_iter().next().unwrap_or_else(Val::null))
            }
            _ => return Err("tomap needs a map".into()),
        },
        "tostring" => {
            let a = arg(&args, 0)?;
            if a.opaque().is_some() || a.is_null() {
                return Ok(a.clone());
            }
            V::Str(
                a.to_plain_string()
                    .ok_or("tostring needs a primitive value")?,
            )
        }
        "tonumber" => {
            let a = arg(&args, 0)?;
            if a.is_null() {
                V::Null
            } else {
                V::Num(a.to_number().ok_or("tonumber needs a number")?)
            }
        }
        "tobool" => {
            let a = arg(&args, 0)?;
            if a.is_null() {
                V::Null
            } else {
                V::Bool(a.to_bool().ok_or("tobool needs a bool")?)
            }
        }
        "format" => V::Str(format(&args)?),
        "formatlist" => formatlist(&args)?,
        "join" => {
            let sep = string(arg(&args, 0)?)?;
            let mut parts = Vec::new();
            for l in &args[1..] {
                for item in list(l)? {
                    if let Some(o) = item.opaque() {
                        return Ok(Val::unknown(o.to_string()));
                    }
                    parts.push(item.to_plain_string().ok_or("join needs strings")?);
                }
            }
            V::Str(parts.join(&sep))
        }
        "split" => {
            let sep = string(arg(&args, 0)?)?;
            let s = string(arg(&args, 1)?)?;
            if s.is_empty() {
                V::List(Vec::new())
            } else {
                V::List(s.split(sep.as_str()).map(Val::str).collect())
            }
        }
        "lower" => V::Str(string(arg(&args, 0)?)?.to_lowercase()),
        "upper" => V::Str(string(arg(&args, 0)?)?.to_uppercase()),
        "title" => V::Str(title(&string(arg(&args, 0)?)?)),
        "trimspace" => V::Str(string(arg(&args, 0)?)?.trim().to_string()),
        "trim" => {
            let chars: Vec<char> = string(arg(&args, 1)?)?.chars().collect();
            V::Str(
                string(arg(&args, 0)?)?
                    .trim_matches(chars.as_slice())
                    .to_string(),
            )
        }
        "trimprefix" => {
            let s = string(arg(&args, 0)?)?;
            let p = string(arg(&args, 1)?)?;
            V::Str(s.strip_prefix(p.as_str()).unwrap_or(&s).to_string())
        }
        "trimsuffix" => {
            let s = string(arg(&args, 0)?)?;
            let p = string(arg(&args, 1)?)?;
            V::Str(s.strip_suffix(p.as_str()).unwrap_or(&s).to_string())
        }
        "startswith" => V::Bool(string(arg(&args, 0)?)?.starts_with(&string(arg(&args, 1)?)?)),
        "endswith" => V::Bool(string(arg(&args, 0)?)?.ends_with(&string(arg(&args, 1)?)?)),
        "strcontains" => V::Bool(string(arg(&args, 0)?)?.contains(&string(arg(&args, 1)?)?)),
        "replace" => {
            let s = string(arg(&args, 0)?)?;
            let from = string(arg(&args, 1)?)?;
            let to = string(arg(&args, 2)?)?;
            if from.len() > 1 && from.starts_with('/') && from.ends_with('/') {
                return Ok(Val::unknown("replace() with a regular expression"));
            }
            V::Str(s.replace(&from, &to))
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
            V::Str(chars[start..end.max(start)].iter().collect())
        }
        "lookup" => return lookup(&args),
        "merge" => merge(&args)?,
        "keys" => match &arg(&args, 0)?.v {
            V::Ref(r) | V::Unknown(r) => V::Unknown(r.clone()),
            _ => V::List(
                entries(arg(&args, 0)?)?
                    .keys()
                    .map(|k| Val::str(k.clone()))
                    .collect(),
            ),
        },
        "values" => match &arg(&args, 0)?.v {
            V::Ref(r) | V::Unknown(r) => V::Unknown(r.clone()),
            _ => V::List(entries(arg(&args, 0)?)?.values().cloned().collect()),
        },
        "flatten" => {
            let mut out = Vec::new();
            flatten_into(arg(&args, 0)?, &mut out)?;
            V::List(out)
        }
        "distinct" => {
            let mut out: Vec<Val> = Vec::new();
            for v in list(arg(&args, 0)?)? {
                if !out.iter().any(|o| o.same(v)) {
                    out.push(v.clone());
                }
            }
            V::List(out)
        }
        "setunion" => {
            let mut all = Vec::new();
            for a in &args {
                all.extend(list(a)?.iter().cloned());
            }
            return to_set(&Val::list(all)).map(|v| Val::at(v, at));
        }
        "contains" => {
            let l = list(arg(&args, 0)?)?;
            let needle = arg(&args, 1)?;
            let mut undecided = None;
            for v in l {
                match v.equals(needle) {
                    Some(true) => return Ok(Val::at(V::Bool(true), at)),
                    Some(false) => {}
                    None => undecided = v.first_opaque().map(str::to_string),
                }
            }
            match undecided {
                Some(o) => V::Unknown(o),
                None => V::Bool(false),
            }
        }
        "index" => {
            let l = list(arg(&args, 0)?)?;
            let needle = arg(&args, 1)?;
            let i = l
                .iter()
                .position(|v| v.same(needle))
                .ok_or("index: value not in list")?;
            V::Num(f64::from(u32::try_from(i).unwrap_or(u32::MAX)))
        }
        "coalesce" => {
            for a in &args {
                if let Some(o) = a.opaque() {
                    return Ok(Val::unknown(o.to_string()));
                }
                if !a.is_null() && a.as_str() != Some("") {
                    return Ok(a.clone());
                }
            }
            return Err("coalesce: no non-null, non-empty argument".into());
        }
        "coalescelist" => {
            for a in &args {
                if let Some(o) = a.opaque() {
                    return Ok(Val::unknown(o.to_string()));
                }
                if !list(a)?.is_empty() {
                    return Ok(a.clone());
                }
            }
            V::List(Vec::new())
        }
        "compact" => {
            let mut out = Vec::new();
            for v in list(arg(&args, 0)?)? {
                if let Some(o) = v.opaque() {
                    return Ok(Val::unknown(o.to_string()));
                }
                if !v.is_null() && v.as_str() != Some("") {
                    out.push(v.clone());
                }
            }
            V::List(out)
        }
        "one" => {
            let l = list(arg(&args, 0)?)?;
            match l.len() {
                0 => V::Null,
                1 => return Ok(l[0].clone()),
                _ => return Err("one: list has more than one element".into()),
            }
        }
        "reverse" => V::List(list(arg(&args, 0)?)?.iter().rev().cloned().collect()),
        "sort" => {
            let mut items = Vec::new();
            for v in list(arg(&args, 0)?)? {
                items.push(v.to_plain_string().ok_or("sort needs strings")?);
            }
            items.sort();
            V::List(items.into_iter().map(Val::str).collect())
        }
        "zipmap" => {
            let ks = list(arg(&args, 0)?)?;
            let vs = list(arg(&args, 1)?)?;
            if ks.len() != vs.len() {
                return Err("zipmap: lists differ in length".into());
            }
            let mut m = BTreeMap::new();
            for (k, v) in ks.iter().zip(vs) {
                if let Some(o) = k.opaque() {
                    return Ok(Val::unknown(o.to_string()));
                }
                m.insert(
                    k.to_plain_string().ok_or("zipmap keys must be strings")?,
                    v.clone(),
                );
            }
            V::Map(m)
        }
        "range" => range(&args)?,
        "min" | "max" => {
            let mut nums = Vec::new();
            for a in &args {
                nums.push(a.to_number().ok_or("min/max need numbers")?);
            }
            let pick = if name == "min" { f64::min } else { f64::max };
            V::Num(
                nums.into_iter()
                    .reduce(pick)
                    .ok_or("min/max need an argument")?,
            )
        }
        "sum" => {
            let mut total = 0.0;
            for v in list(arg(&args, 0)?)? {
                if let Some(o) = v.opaque() {
                    return Ok(Val::unknown(o.to_string()));
                }
                total += v.to_number().ok_or("sum needs numbers")?;
            }
            V::Num(total)
        }
        "abs" => V::Num(number(arg(&args, 0)?)?.abs()),
        "ceil" => V::Num(number(arg(&args, 0)?)?.ceil()),
        "floor" => V::Num(number(arg(&args, 0)?)?.floor()),
        "alltrue" | "anytrue" => {
            let want = name == "anytrue";
            let mut out = !want;
            for v in list(arg(&args, 0)?)? {
                if let Some(o) = v.opaque() {
                    return Ok(Val::unknown(o.to_string()));
                }
                if v.to_bool().ok_or("alltrue/anytrue need bools")? == want {
                    out = want;
                }
            }
            V::Bool(out)
        }
        "jsonencode" => {
            let a = arg(&args, 0)?;
            match json_encode(a) {
                Some(s) => V::Json(Arc::new((s, a.clone()))),
                None => V::Unknown(a.first_opaque().unwrap_or("jsonencode()").to_string()),
            }
        }
        "jsondecode" => {
            let s = string(arg(&args, 0)?)?;
            let v: serde_json::Value =
                serde_json::from_str(&s).map_err(|e| format!("jsondecode: {e}"))?;
            return Ok(Val::from_json(&v).with_at(at));
        }
        "cidrsubnet" => V::Str(cidrsubnet(
            &string(arg(&args, 0)?)?,
            int(arg(&args, 1)?)?,
            int(arg(&args, 2)?)?,
        )?),
        "cidrhost" => V::Str(cidrhost(&string(arg(&args, 0)?)?, int(arg(&args, 1)?)?)?),
        "base64encode" => V::Str(base64(string(arg(&args, 0)?)?.as_bytes())),
        _ => V::Unknown(format!("{name}()")),
    };
    Ok(Val::at(v, at))
}

fn arg(args: &[Val], i: usize) -> Result<&Val, String> {
    args.get(i)
        .ok_or_else(|| format!("missing argument {}", i + 1))
}

fn string(v: &Val) -> Result<String, String> {
    v.to_plain_string()
        .ok_or_else(|| format!("expected a string, got a {}", v.type_name()))
}

fn number(v: &Val) -> Result<f64, String> {
    v.to_number()
        .ok_or_else(|| format!("expected a number, got a {}", v.type_name()))
}

fn int(v: &Val) -> Result<i64, String> {
    let n = number(v)?;
    if n.fract() != 0.0 {
        return Err(format!("expected a whole number, got {}", fmt_num(n)));
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(n as i64)
}

fn list(v: &Val) -> Result<&[Val], String> {
    v.as_list()
        .ok_or_else(|| format!("expected a list, got a {}", v.type_name()))
}

fn entries(v: &Val) -> Result<&BTreeMap<String, Val>, String> {
    v.entries()
        .ok_or_else(|| format!("expected a map, got a {}", v.type_name()))
}

fn length(args: &[Val]) -> Result<V, String> {
    let a = arg(args, 0)?;
    let n = match &a.v {
        V::List(l) => l.len(),
        V::Map(m) => m.len(),
        V::Obj(o) => o.attrs.len(),
        V::Str(s) => s.chars().count(),
        V::Json(j) => j.0.chars().count(),
        _ => return Err(format!("length of a {}", a.type_name())),
    };
    Ok(V::Num(f64::from(u32::try_from(n).unwrap_or(u32::MAX))))
}

fn element(args: &[Val]) -> R {
    let l = arg(args, 0)?;
    let i = arg(args, 1)?;
    if let Some(o) = l.opaque().or_else(|| i.opaque()) {
        return Ok(Val::unknown(o.to_string()));
    }
    let items = list(l)?;
    if items.is_empty() {
        return Err("element of an empty list".into());
    }
    let i = int(i)?;
    if i < 0 {
        return Err("element index must not be negative".into());
    }
    let i = usize::try_from(i).unwrap_or(0) % items.len();
    Ok(items[i].clone())
}

fn slice(args: &[Val]) -> Result<V, String> {
    let l = arg(args, 0)?;
    let (s, e) = (arg(args, 1)?, arg(args, 2)?);
    if let Some(o) = s.opaque().or_else(|| e.opaque()) {
        return Ok(V::Unknown(o.to_string()));
    }
    let (s, e) = (int(s)?, int(e)?);
    if s < 0 || e < s {
        return Err("slice: invalid range".into());
    }
    let (s, e) = (
        usize::try_from(s).unwrap_or(0),
        usize::try_from(e).unwrap_or(0),
    );
    match &l.v {
        // slice() fails when the list is too short, so a list that slices is long enough:
        // its elements are known to exist, and distinct indices stay distinct.
        V::Ref(r) => Ok(V::List(
            (s..e)
                .map(|i| Val::reference(format!("{r}[{i}]")))
                .collect(),
        )),
        V::Unknown(u) => Ok(V::Unknown(u.clone())),
        _ => {
            let items = list(l)?;
            if e > items.len() {
                return Err("slice: end index out of range".into());
            }
            Ok(V::List(items[s..e].to_vec()))
        }
    }
}

fn concat(args: Vec<Val>) -> Result<V, String> {
    let mut out = Vec::new();
    for a in args {
        match a.v {
            V::List(items) => out.extend(items),
            V::Ref(r) | V::Unknown(r) => return Ok(V::Unknown(r)),
            _ => return Err(format!("concat needs lists, got a {}", a.type_name())),
        }
    }
    Ok(V::List(out))
}

/// A set: duplicates dropped, strings sorted as Terraform orders them.
pub fn to_set(v: &Val) -> Result<V, String> {
    match &v.v {
        V::Ref(r) | V::Unknown(r) => Ok(V::Unknown(r.clone())),
        V::Null => Ok(V::Null),
        _ => {
            let mut out: Vec<Val> = Vec::new();
            for item in list(v)? {
                if !out.iter().any(|o| o.same(item)) {
                    out.push(item.clone());
                }
            }
            if out.iter().all(|i| matches!(i.v, V::Str(_))) {
                out.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
            Ok(V::List(out))
        }
    }
}

fn lookup(args: &[Val]) -> R {
    let m = arg(args, 0)?;
    let k = arg(args, 1)?;
    if let Some(o) = m.opaque().or_else(|| k.opaque()) {
        return Ok(Val::unknown(o.to_string()));
    }
    let key = string(k)?;
    match entries(m)?.get(&key) {
        Some(v) => Ok(v.clone()),
        None => args
            .get(2)
            .cloned()
            .ok_or_else(|| format!("lookup: no key `{key}` and no default")),
    }
}

fn merge(args: &[Val]) -> Result<V, String> {
    let mut out = BTreeMap::new();
    for a in args {
        match &a.v {
            V::Null => {}
            V::Ref(r) | V::Unknown(r) => return Ok(V::Unknown(r.clone())),
            _ => {
                for (k, v) in entries(a)? {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Ok(V::Map(out))
}

fn flatten_into(v: &Val, out: &mut Vec<Val>) -> Result<(), String> {
    match &v.v {
        V::List(items) => {
            for i in items {
                if matches!(i.v, V::List(_)) {
                    flatten_into(i, out)?;
                } else {
                    out.push(i.clone());
                }
            }
            Ok(())
        }
        V::Ref(r) | V::Unknown(r) => Err(format!("flatten of unknown {r}")),
        _ => Err("flatten needs a list".into()),
    }
}

fn range(args: &[Val]) -> Result<V, String> {
    let nums: Vec<f64> = args.iter().map(number).collect::<Result<_, _>>()?;
    let (start, end, step) = match nums.as_slice() {
        [e] => (0.0, *e, 1.0),
        [s, e] => (*s, *e, if e >= s { 1.0 } else { -1.0 }),
        [s, e, st] => (*s, *e, *st),
        _ => return Err("range takes one to three numbers".into()),
    };
    if step == 0.0 {
        return Err("range step must not be zero".into());
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0.0 && x < end) || (step < 0.0 && x > end) {
        out.push(Val::num(x));
        x += step;
        if out.len() > 1024 {
            return Err("range too long".into());
        }
    }
    Ok(V::List(out))
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
fn format(args: &[Val]) -> Result<String, String> {
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
        let verb = chars.next().ok_or("format: trailing %")?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let v = args.get(next).ok_or("format: not enough arguments")?;
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
            't' => v.to_bool().ok_or("format %t needs a bool")?.to_string(),
            other => return Err(format!("format: unsupported verb %{other}")),
        };
        let pad = width.unwrap_or(0).saturating_sub(text.chars().count());
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

fn formatlist(args: &[Val]) -> Result<V, String> {
    if args.is_empty() {
        return Err("formatlist needs a format".into());
    }
    let n = args[1..]
        .iter()
        .filter_map(Val::as_list)
        .map(<[Val]>::len)
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
                    .ok_or("formatlist: lists differ in length")?,
                None => a.clone(),
            });
        }
        out.push(Val::str(format(&row)?));
    }
    Ok(V::List(out))
}

fn parse_cidr(prefix: &str) -> Result<(u128, u32, bool), String> {
    let (ip, len) = prefix
        .split_once('/')
        .ok_or_else(|| format!("`{prefix}` is not a CIDR prefix"))?;
    let len: u32 = len
        .parse()
        .map_err(|_| format!("`{prefix}` has a bad length"))?;
    if let Ok(v4) = ip.parse::<Ipv4Addr>() {
        if len > 32 {
            return Err(format!("`{prefix}` has a bad length"));
        }
        Ok((u128::from(u32::from(v4)), len, false))
    } else {
        let v6: Ipv6Addr = ip
            .parse()
            .map_err(|_| format!("`{prefix}` is not an IP prefix"))?;
        if len > 128 {
            return Err(format!("`{prefix}` has a bad length"));
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
pub fn cidrsubnet(prefix: &str, newbits: i64, netnum: i64) -> Result<String, String> {
    let (addr, len, v6) = parse_cidr(prefix)?;
    let bits = if v6 { 128 } else { 32 };
    let newbits = u32::try_from(newbits).map_err(|_| "cidrsubnet: bad newbits")?;
    let netnum = u128::try_from(netnum).map_err(|_| "cidrsubnet: bad netnum")?;
    let new_len = len + newbits;
    if new_len > bits {
        return Err(format!(
            "cidrsubnet: {prefix} has no room for {newbits} more bits"
        ));
    }
    if newbits < 128 && netnum >= (1u128 << newbits) {
        return Err(format!(
            "cidrsubnet: netnum {netnum} does not fit in {newbits} bits"
        ));
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
pub fn cidrhost(prefix: &str, hostnum: i64) -> Result<String, String> {
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
            .ok_or("cidrhost: hostnum out of range")?
    } else {
        u128::try_from(hostnum).unwrap_or(0)
    };
    if host >= size {
        return Err("cidrhost: hostnum out of range".into());
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

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Val {
        Val::list(v.iter().map(|s| Val::str(*s)).collect())
    }

    fn s(v: &Val) -> String {
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
            s(&call("element", vec![l.clone(), Val::num(4.0)], None).unwrap()),
            r#""a""#
        );
        assert_eq!(
            s(&call("slice", vec![l.clone(), Val::num(1.0), Val::num(3.0)], None).unwrap()),
            r#"["a","b"]"#
        );
        assert_eq!(
            s(&call("concat", vec![strs(&["x"]), strs(&["y", "z"])], None).unwrap()),
            r#"["x","y","z"]"#
        );
        let m1 = Val::map(BTreeMap::from([("a".to_string(), Val::num(1.0))]));
        let m2 = Val::map(BTreeMap::from([
            ("b".to_string(), Val::num(2.0)),
            ("a".to_string(), Val::num(3.0)),
        ]));
        let merged = call("merge", vec![m1.clone(), m2], None).unwrap();
        assert_eq!(s(&merged), r#"{"a":3,"b":2}"#);
        assert_eq!(
            s(&call("lookup", vec![m1.clone(), Val::str("a")], None).unwrap()),
            "1"
        );
        assert_eq!(
            s(&call("lookup", vec![m1, Val::str("z"), Val::str("d")], None).unwrap()),
            r#""d""#
        );
        assert_eq!(
            s(&call(
                "format",
                vec![Val::str("%s-%03d"), Val::str("x"), Val::num(7.0)],
                None
            )
            .unwrap()),
            r#""x-007""#
        );
    }

    #[test]
    fn unknown_arguments_name_their_input() {
        let r = call("length", vec![Val::unknown("var.azs")], None).unwrap();
        assert_eq!(r.opaque(), Some("var.azs"));
        let r = call("upper", vec![Val::reference("aws_s3_bucket.a.id")], None).unwrap();
        assert_eq!(r.opaque(), Some("aws_s3_bucket.a.id"));
        // References inside lists move through list functions.
        let r = call(
            "concat",
            vec![Val::list(vec![Val::reference("aws_subnet.a.id")])],
            None,
        )
        .unwrap();
        assert_eq!(r.as_list().unwrap()[0].opaque(), Some("aws_subnet.a.id"));
        // Slicing a data source's list keeps distinct symbolic elements.
        let r = call(
            "slice",
            vec![
                Val::reference("data.aws_availability_zones.a.names"),
                Val::num(0.0),
                Val::num(2.0),
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
        let v = Val::map(BTreeMap::from([(
            "Version".to_string(),
            Val::str("2012-10-17"),
        )]));
        let r = call("jsonencode", vec![v], None).unwrap();
        assert_eq!(r.as_str(), Some(r#"{"Version":"2012-10-17"}"#));
        assert!(matches!(r.v, V::Json(_)));
        assert_eq!(base64(b"hello"), "aGVsbG8=");
    }
}
