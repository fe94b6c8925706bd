//! The YAML loader and its span map: any bytes parse to documents (or an error) without a
//! panic, each document's spans align with its value node for node, and every field of every
//! resource can be located.
#![no_main]

use blogaudit::model::PathSeg;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(m) => m.values().map(count).sum(),
        _ => 0,
    }
}

/// Locates every path of `v` (bounded) in the resource.
fn walk(r: &blogaudit::model::Resource, v: &Value, path: &mut Vec<PathSeg>, budget: &mut usize) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    let _ = r.locate(path);
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(PathSeg::Index(i));
                walk(r, x, path, budget);
                path.pop();
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                path.push(PathSeg::Key(k.clone()));
                walk(r, x, path, budget);
                path.pop();
            }
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (docs, _) = blogaudit::syntax::yaml::parse_stream(text);
    for d in &docs {
        assert_eq!(d.nodes.len(), count(&d.value), "spans align with the value");
    }
    let (parsed, _) = blogaudit::source::k8s::parse("f.yaml", text);
    for r in &parsed.resources {
        let mut budget = 10_000;
        walk(r, &r.body.clone(), &mut Vec::new(), &mut budget);
        let _ = blogaudit::engine::shape::check(r);
    }
});
