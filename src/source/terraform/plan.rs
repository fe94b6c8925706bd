//! Terraform plan JSON (`terraform show -json plan.out`): `planned_values` to the same canonical
//! shapes as the source.
//!
//! A value the plan marks as known only after apply (`resource_changes[].change.after_unknown`)
//! is taken from the configuration: from the `.tf` source next to the plan when there is one
//! (a reference such as `aws_subnet.a.id` keeps leading to the subnet), else from the plan's own
//! `configuration` references. When the source sits next to the plan, resources point at their
//! source lines (matched by address); otherwise they point into the plan JSON.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use serde_json::Value as Json;

use super::canonical;
use super::value::{ResourceBody, StackSpan, Value, ValueKind};
use super::{Instance, Stack};
use crate::model::{locate_tree, Diagnostic, PathSeg, Resource, SourceFile, Span, SpanNode};
use crate::source::{display, read_text, Loaded};
use crate::syntax::yaml;

/// Whether a JSON file is a Terraform plan (`format_version` and `planned_values`).
#[must_use]
pub fn looks_like_plan(text: &str) -> bool {
    text.contains("\"planned_values\"") && text.contains("\"format_version\"")
}

/// The source evaluation of the plan's directory, for spans and after-apply references.
pub struct SourceStack {
    pub stack: Stack,
    pub resources: Vec<Resource>,
}

/// Loads one plan file.
#[must_use]
pub fn load(path: &Path, base: &Path, source: Option<&SourceStack>) -> Loaded {
    let shown = display(path, base);
    let mut out = Loaded::default();
    let text = match read_text(path, &shown) {
        Ok(t) => t,
        Err(d) => {
            out.diagnostics.push(d);
            return out;
        }
    };
    let (docs, err) = yaml::parse_stream(&text);
    let file = Arc::new(SourceFile {
        path: shown.clone(),
        text,
    });
    out.files.push(file.clone());
    if let Some(e) = err {
        out.diagnostics.push(
            Diagnostic::error(
                "terraform-plan",
                format!("invalid plan JSON: {}", e.message),
            )
            .in_file(&shown)
            .at(e.pos)
            .help("write the plan with `terraform show -json plan.out > plan.json`"),
        );
        return out;
    }
    let Some(doc) = docs.into_iter().next() else {
        out.diagnostics
            .push(Diagnostic::error("terraform-plan", "empty plan file").in_file(&shown));
        return out;
    };
    if !doc.value.get("planned_values").is_some_and(Json::is_object) {
        out.diagnostics.push(
            Diagnostic::error(
                "terraform-plan",
                "not a Terraform plan: no `planned_values` object",
            )
            .in_file(&shown)
            .at(doc.span.start)
            .help("write the plan with `terraform show -json plan.out > plan.json`"),
        );
        return out;
    }
    let (resources, diags) = map_plan(&doc.value, &doc.nodes, doc.span, file, source);
    out.resources = resources;
    out.diagnostics.extend(diags);
    out
}

struct Planned<'a> {
    addr: String,
    typ: String,
    module: String,
    values: &'a Json,
    json_path: Vec<PathSeg>,
}

fn seg(k: &str) -> PathSeg {
    PathSeg::Key(k.to_string())
}

/// A part of the plan that is not what `terraform show -json` writes: where, and what.
type Misshapen = (Vec<PathSeg>, String);

fn collect_planned<'a>(
    module: &'a Json,
    json_path: &mut Vec<PathSeg>,
    out: &mut Vec<Planned<'a>>,
    bad: &mut Vec<Misshapen>,
) {
    if !module.is_object() {
        bad.push((json_path.clone(), "a module is not an object".into()));
        return;
    }
    let module_addr = module.get("address").and_then(Json::as_str).unwrap_or("");
    let list = |key: &str, bad: &mut Vec<Misshapen>| match module.get(key) {
        None | Some(Json::Null) => None,
        Some(Json::Array(items)) => Some(items),
        Some(_) => {
            let mut p = json_path.clone();
            p.push(seg(key));
            bad.push((p, format!("`{key}` is not a list")));
            None
        }
    };
    if let Some(resources) = list("resources", bad) {
        for (i, r) in resources.iter().enumerate() {
            let mut p = json_path.clone();
            p.extend([seg("resources"), PathSeg::Index(i)]);
            if r.get("mode").and_then(Json::as_str).unwrap_or("managed") != "managed" {
                continue;
            }
            let (Some(addr), Some(typ)) = (
                r.get("address").and_then(Json::as_str),
                r.get("type").and_then(Json::as_str),
            ) else {
                bad.push((p, "a resource without a string `address` and `type`".into()));
                continue;
            };
            out.push(Planned {
                addr: addr.to_string(),
                typ: typ.to_string(),
                module: module_addr.to_string(),
                values: r.get("values").unwrap_or(&Json::Null),
                json_path: p,
            });
        }
    }
    if let Some(children) = list("child_modules", bad) {
        for (j, c) in children.iter().enumerate() {
            json_path.extend([seg("child_modules"), PathSeg::Index(j)]);
            collect_planned(c, json_path, out, bad);
            json_path.truncate(json_path.len() - 2);
        }
    }
}

fn map_plan(
    doc: &Json,
    nodes: &[SpanNode],
    whole: Span,
    file: Arc<SourceFile>,
    source: Option<&SourceStack>,
) -> (Vec<Resource>, Vec<Diagnostic>) {
    let mut planned = Vec::new();
    let mut bad = Vec::new();
    if let Some(root) = doc.pointer("/planned_values/root_module") {
        collect_planned(
            root,
            &mut vec![seg("planned_values"), seg("root_module")],
            &mut planned,
            &mut bad,
        );
    }
    // Not what terraform writes: the plan cannot be checked whole.
    let mut diags: Vec<Diagnostic> = bad
        .into_iter()
        .map(|(path, what)| {
            let at = locate_tree(nodes, doc, &path).map_or(whole.start, |(n, _)| n.key);
            Diagnostic::error(
                "terraform-plan",
                format!(
                    "not a Terraform plan as terraform writes it: {what} at {}",
                    crate::model::pointer(&path)
                ),
            )
            .in_file(&file.path)
            .at(at)
            .help("write the plan with `terraform show -json plan.out > plan.json`")
        })
        .collect();
    let unknown_by_addr: HashMap<&str, &Json> = doc
        .get("resource_changes")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some((
                c.get("address")?.as_str()?,
                c.pointer("/change/after_unknown")?,
            ))
        })
        .collect();
    let all_addrs: Vec<&str> = planned.iter().map(|p| p.addr.as_str()).collect();
    let src_insts: HashMap<&str, &Instance> = source
        .map(|s| {
            s.stack
                .instances
                .iter()
                .map(|i| (i.addr.as_str(), i))
                .collect()
        })
        .unwrap_or_default();
    let locate = |p: &[PathSeg]| -> Option<Span> {
        let (node, found) = locate_tree(nodes, doc, p)?;
        (found == p.len()).then_some(Span {
            start: node.key,
            end: node.end,
        })
    };
    let mut instances = Vec::with_capacity(planned.len());
    for p in &planned {
        let mut attrs: BTreeMap<String, Value> = match p.values {
            Json::Object(m) => m
                .iter()
                .map(|(k, v)| (k.clone(), to_val(v, &format!("{}.{k}", p.addr))))
                .collect(),
            _ => BTreeMap::new(),
        };
        if let Some(unknown) = unknown_by_addr.get(p.addr.as_str()) {
            let mut marks = Vec::new();
            unknown_paths(unknown, &mut Vec::new(), &mut marks);
            // `"subnet_ids": [true, true]`: the list is unknown as a whole.
            for m in &mut marks {
                while matches!(m.last(), Some(PathSeg::Index(_)))
                    && json_at(p.values, &m[..m.len() - 1]).is_none_or(|v| !v.is_array())
                {
                    m.pop();
                }
            }
            marks.dedup();
            for path in marks {
                // The configuration that sets it: the source next to the plan, else the plan's
                // own `configuration`. Set by neither: a provider default, as if unset.
                let v = match src_insts.get(p.addr.as_str()) {
                    Some(i) => canonical::get_path(&i.body, &path).cloned(),
                    None => config_value(doc, p, &path, &all_addrs).unwrap_or_else(|| {
                        Some(Value::reference(format!("{}{}", p.addr, dotted(&path))))
                    }),
                };
                match v {
                    Some(v) => set_path(&mut attrs, &path, v),
                    None => {
                        if let [PathSeg::Key(k)] = path.as_slice() {
                            attrs.remove(k);
                        }
                    }
                }
            }
        }
        let mut spans = Vec::new();
        let mut tf_path = Vec::new();
        let mut values_path = p.json_path.clone();
        values_path.push(seg("values"));
        walk_spans(p.values, &mut tf_path, &values_path, &locate, &mut spans);
        let block = StackSpan {
            file: 0,
            span: locate(&p.json_path).unwrap_or(whole),
        };
        instances.push(Instance {
            body: Value::new(ValueKind::Resource(Arc::new(ResourceBody {
                addr: p.addr.clone(),
                attrs,
            }))),
            addr: p.addr.clone(),
            typ: p.typ.clone(),
            spans,
            block,
            chain: Vec::new(),
            ignores: Vec::new(),
        });
        let _ = &p.module;
    }
    let stack = Stack {
        name: file.path.clone(),
        files: vec![file],
        instances,
        autoscaler: None,
        ..Stack::default()
    };
    let (mut resources, _) = canonical::map(&stack);
    // The same resource in the source next to the plan: point at its source lines.
    if let Some(src) = source {
        let by_name: HashMap<(&str, &str), &Resource> = src
            .resources
            .iter()
            .map(|r| ((r.kind.as_str(), r.name.as_str()), r))
            .collect();
        for r in &mut resources {
            let Some(s) = by_name.get(&(r.kind.as_str(), r.name.as_str())) else {
                continue;
            };
            r.origin = s.origin.clone();
            if let (Some(meta), Json::Object(body)) = (s.body.get("metadata"), &mut r.body) {
                body.insert("metadata".into(), meta.clone());
            }
        }
    }
    for r in &resources {
        if let Some(Json::Object(u)) = r.body.get("unknown") {
            diags.extend(canonical::unknown_notes(r, u, &stack.reasons));
        }
    }
    (resources, diags)
}

/// JSON to a value; nested blocks (arrays of objects) become block objects whose missing
/// attributes are references.
fn to_val(v: &Json, addr: &str) -> Value {
    match v {
        Json::Array(items) if items.iter().all(Json::is_object) && !items.is_empty() => {
            Value::list(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| to_val(x, &format!("{addr}[{i}]")))
                    .collect(),
            )
        }
        Json::Object(m) => Value::new(ValueKind::Resource(Arc::new(ResourceBody {
            addr: addr.to_string(),
            attrs: m
                .iter()
                .map(|(k, x)| (k.clone(), to_val(x, &format!("{addr}.{k}"))))
                .collect(),
        }))),
        _ => Value::from_json(v),
    }
}

fn unknown_paths(v: &Json, p: &mut Vec<PathSeg>, out: &mut Vec<Vec<PathSeg>>) {
    match v {
        Json::Bool(true) => out.push(p.clone()),
        Json::Object(m) => {
            for (k, x) in m {
                p.push(seg(k));
                unknown_paths(x, p, out);
                p.pop();
            }
        }
        Json::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                p.push(PathSeg::Index(i));
                unknown_paths(x, p, out);
                p.pop();
            }
        }
        _ => {}
    }
}

fn dotted(p: &[PathSeg]) -> String {
    let mut s = String::new();
    for seg in p {
        match seg {
            PathSeg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            PathSeg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Sets a value at a path of an attribute map, making room in lists and objects.
fn set_path(attrs: &mut BTreeMap<String, Value>, p: &[PathSeg], v: Value) {
    let Some((PathSeg::Key(first), rest)) = p.split_first() else {
        return;
    };
    if rest.is_empty() {
        attrs.insert(first.clone(), v);
        return;
    }
    let Some(cur) = attrs.get_mut(first) else {
        return;
    };
    set_in(cur, rest, v);
}

fn set_in(cur: &mut Value, p: &[PathSeg], v: Value) {
    let Some((head, rest)) = p.split_first() else {
        *cur = v;
        return;
    };
    match (head, &mut cur.kind) {
        (PathSeg::Index(i), ValueKind::List(items)) => {
            if let Some(x) = items.get_mut(*i) {
                set_in(x, rest, v);
            }
        }
        (PathSeg::Key(k), ValueKind::Resource(o)) => {
            let o = Arc::make_mut(o);
            match o.attrs.get_mut(k) {
                Some(x) if !rest.is_empty() => set_in(x, rest, v),
                _ if rest.is_empty() => {
                    o.attrs.insert(k.clone(), v);
                }
                _ => {}
            }
        }
        (PathSeg::Key(k), ValueKind::Map(m)) => match m.get_mut(k) {
            Some(x) if !rest.is_empty() => set_in(x, rest, v),
            _ if rest.is_empty() => {
                m.insert(k.clone(), v);
            }
            _ => {}
        },
        _ => {}
    }
}

/// Spans of every attribute path of a planned resource's values, up to a few levels deep.
fn walk_spans(
    v: &Json,
    tf_path: &mut Vec<PathSeg>,
    json_path: &[PathSeg],
    locate: &dyn Fn(&[PathSeg]) -> Option<Span>,
    out: &mut Vec<(Vec<PathSeg>, StackSpan)>,
) {
    if tf_path.len() > 6 {
        return;
    }
    let children: Vec<(PathSeg, &Json)> = match v {
        Json::Object(m) => m.iter().map(|(k, x)| (seg(k), x)).collect(),
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| (PathSeg::Index(i), x))
            .collect(),
        _ => return,
    };
    for (s, x) in children {
        tf_path.push(s.clone());
        let mut jp = json_path.to_vec();
        jp.push(s);
        if let Some(span) = locate(&jp) {
            out.push((tf_path.clone(), StackSpan { file: 0, span }));
        }
        walk_spans(x, tf_path, &jp, locate, out);
        tf_path.pop();
    }
}

// ---------------------------------------------------------------------- configuration references

/// The JSON value at a path.
fn json_at<'v>(v: &'v Json, p: &[PathSeg]) -> Option<&'v Json> {
    let mut cur = v;
    for s in p {
        cur = match s {
            PathSeg::Key(k) => cur.get(k)?,
            PathSeg::Index(i) => cur.get(i)?,
        };
    }
    Some(cur)
}

/// An after-apply value rebuilt from the plan's `configuration`: the references of the
/// expression that sets it, followed through module inputs and outputs. `None` when the plan
/// has no configuration for the resource; `Some(None)` when the configuration does not set it.
fn config_value(doc: &Json, p: &Planned, path: &[PathSeg], all: &[&str]) -> Option<Option<Value>> {
    let modules = module_names(&p.module);
    let module_cfg = module_config(doc, &modules)?;
    let local = format!("{}.{}", p.typ, name_of(&p.addr, &p.module)?);
    let res = module_cfg
        .get("resources")?
        .as_array()?
        .iter()
        .find(|r| r.get("address").and_then(Json::as_str) == Some(local.as_str()))?;
    let mut expr = res.get("expressions");
    for s in path {
        expr = expr.and_then(|e| match s {
            PathSeg::Key(k) => e.get(k),
            PathSeg::Index(i) => e.get(i).or_else(|| e.get(0)),
        });
    }
    let Some(expr) = expr else {
        return Some(None);
    };
    let refs = resolve_refs(doc, &modules, &p.module, expr, all, 0);
    let list_attr =
        matches!(path.last(), Some(PathSeg::Key(k)) if k.ends_with("_ids") || k.ends_with("_arns"));
    Some(Some(if refs.is_empty() {
        Value::reference(format!("{}{}", p.addr, dotted(path)))
    } else if list_attr || refs.len() > 1 {
        Value::list(refs.into_iter().map(Value::reference).collect())
    } else {
        refs.into_iter()
            .next()
            .map_or_else(Value::null, Value::reference)
    }))
}

/// `module.a[0].module.b` → `["a", "b"]`.
fn module_names(module: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = module;
    while let Some(r) = rest.strip_prefix("module.") {
        let end = r.find(['.', '[']).unwrap_or(r.len());
        out.push(r[..end].to_string());
        let after = &r[end..];
        let after = if after.starts_with('[') {
            after.find("].").map_or("", |i| &after[i + 1..])
        } else {
            after
        };
        rest = after.strip_prefix('.').unwrap_or(after);
    }
    out
}

fn module_config<'a>(doc: &'a Json, names: &[String]) -> Option<&'a Json> {
    let mut m = doc.pointer("/configuration/root_module")?;
    for n in names {
        m = m.get("module_calls")?.get(n)?.get("module")?;
    }
    Some(m)
}

/// `module.net.aws_subnet.a["x"]` in module `module.net` → `a`.
fn name_of<'a>(addr: &'a str, module: &str) -> Option<&'a str> {
    let local = if module.is_empty() {
        addr
    } else {
        addr.strip_prefix(module)?.strip_prefix('.')?
    };
    let (_, rest) = local.split_once('.')?;
    Some(rest.split('[').next().unwrap_or(rest))
}

fn resolve_refs(
    doc: &Json,
    modules: &[String],
    module_addr: &str,
    expr: &Json,
    all: &[&str],
    depth: usize,
) -> Vec<String> {
    if depth > 8 {
        return Vec::new();
    }
    let Some(refs) = expr.get("references").and_then(Json::as_array) else {
        return Vec::new();
    };
    let refs: Vec<&str> = refs.iter().filter_map(Json::as_str).collect();
    // Terraform lists `aws_subnet.a.id` and `aws_subnet.a`: keep the most precise.
    let refs: Vec<&str> = refs
        .iter()
        .copied()
        .filter(|r| {
            !refs.iter().any(|o| {
                o.len() > r.len() && o.starts_with(r) && o[r.len()..].starts_with(['.', '['])
            })
        })
        .collect();
    let prefix = if module_addr.is_empty() {
        String::new()
    } else {
        format!("{module_addr}.")
    };
    let mut out = Vec::new();
    for r in refs {
        if let Some(var) = r.strip_prefix("var.") {
            // The module call's input expression, in the parent module.
            let Some((last, parent)) = modules.split_last() else {
                continue;
            };
            let parent_addr = module_addr
                .rsplit_once(".module.")
                .map_or(String::new(), |(a, _)| a.to_string());
            let var = var.split(['.', '[']).next().unwrap_or(var);
            if let Some(e) = module_config(doc, parent).and_then(|m| {
                m.get("module_calls")?
                    .get(last)?
                    .get("expressions")?
                    .get(var)
            }) {
                out.extend(resolve_refs(doc, parent, &parent_addr, e, all, depth + 1));
            }
        } else if let Some(rest) = r.strip_prefix("module.") {
            let mut parts = rest.splitn(2, '.');
            let (Some(m), Some(o)) = (parts.next(), parts.next()) else {
                continue;
            };
            let m = m.split('[').next().unwrap_or(m);
            let o = o.split(['.', '[']).next().unwrap_or(o);
            let mut child = modules.to_vec();
            child.push(m.to_string());
            if let Some(e) =
                module_config(doc, &child).and_then(|c| c.get("outputs")?.get(o)?.get("expression"))
            {
                out.extend(resolve_refs(
                    doc,
                    &child,
                    &format!("{prefix}module.{m}"),
                    e,
                    all,
                    depth + 1,
                ));
            }
        } else if r.starts_with("local.")
            || r.starts_with("each.")
            || r.starts_with("count.")
            || r.starts_with("path.")
        {
        } else {
            let full = format!("{prefix}{r}");
            // A whole resource (from a splat): each of its instances' ids.
            let is_whole = r.starts_with("data.") && r.matches('.').count() == 2
                || !r.starts_with("data.") && r.matches('.').count() == 1 && !r.contains('[');
            if is_whole {
                let inst: Vec<&&str> = all
                    .iter()
                    .filter(|a| {
                        **a == full
                            || a.strip_prefix(full.as_str())
                                .is_some_and(|s| s.starts_with('['))
                    })
                    .collect();
                if inst.is_empty() {
                    out.push(full);
                } else {
                    out.extend(inst.into_iter().map(|a| format!("{a}.id")));
                }
            } else {
                out.push(full);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_addresses_split_into_call_names() {
        assert_eq!(module_names("module.a[0].module.b"), vec!["a", "b"]);
        assert_eq!(module_names("module.eks"), vec!["eks"]);
        assert!(module_names("").is_empty());
        assert_eq!(
            name_of("module.net.aws_subnet.a[\"x\"]", "module.net"),
            Some("a")
        );
        assert_eq!(name_of("aws_subnet.b[0]", ""), Some("b"));
    }

    #[test]
    fn plans_are_recognized() {
        assert!(looks_like_plan(
            r#"{"format_version":"1.2","planned_values":{}}"#
        ));
        assert!(!looks_like_plan(r#"{"apiVersion":"v1","kind":"List"}"#));
    }
}
