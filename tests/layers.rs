//! The module graph goes one way: every module imports only from the layers below it, so the
//! engine knows no reporter, the rule loader no source, and there is no cycle.
//!
//! face (cli → upload, webhook) → pipeline → stages (source, engine, suppress, select, report) →
//! rules, config and fix edits → syntax → model.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layer of each top-level module of `src/`; a module may use only lower layers.
const LAYERS: &[(&str, u8)] = &[
    ("model", 0),
    ("syntax", 1),
    ("config", 2),
    ("rules", 2),
    ("fix", 2),
    ("source", 3),
    ("engine", 3),
    ("suppress", 3),
    ("select", 3),
    ("merge", 3),
    ("report", 3),
    ("pipeline", 4),
    ("upload", 5),
    ("webhook", 5),
    ("cli", 6),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a source text names through `crate::`, including inside
/// `use crate::{a::B, c}` groups. Comments are skipped.
fn crate_modules(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group: the first identifier after `{` or a `,` at depth 0.
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphabetic() || c == '_') => {
                        let ident: String = group[j..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        found.insert(ident);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.insert(ident);
        }
    }
    found
}

#[test]
fn modules_import_only_downward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|s| s.trim_end_matches(".rs").to_string())
            .expect("a name");
        if top == "lib" || top == "main" {
            continue;
        }
        let Some(own) = layer(&top) else {
            unknown.push(rel.display().to_string());
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read");
        for used in crate_modules(&text) {
            if used == top {
                continue;
            }
            match layer(&used) {
                Some(l) if l < own => {}
                Some(_) => wrong.push(format!("{} uses crate::{used}", rel.display())),
                None => unknown.push(format!("{} uses crate::{used}", rel.display())),
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules with no layer (add them to LAYERS here and to the table in src/lib.rs):\n{}",
        unknown.join("\n")
    );
    assert!(
        wrong.is_empty(),
        "imports that go up or sideways:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_reader_sees_groups_and_paths() {
    let text = "use crate::{config::Config, model::{A, B}};\nlet x = crate::engine::run();\n// crate::cli\n";
    let got: Vec<String> = crate_modules(text).into_iter().collect();
    assert_eq!(got, ["config", "engine", "model"]);
}
