//! Kustomizations: rendered with `kubectl kustomize`, and each rendered object mapped back to
//! the source document that declared it, so findings point at files users edit.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crate::model::{
    locate_tree, Diagnostic, Origin, PathSeg, Pos, Resource, SourceFile, Span, SpanIndex,
};
use crate::source::{display, k8s, read_text, Loaded};

const FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The kustomization file of `dir`, if it is a kustomize root.
#[must_use]
pub fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    FILES.iter().map(|f| dir.join(f)).find(|p| p.is_file())
}

/// Renders the kustomization in `dir` and maps its objects back to their sources.
#[must_use]
pub fn load(dir: &Path, base: &Path) -> Loaded {
    let kfile = kustomization_file(dir).unwrap_or_else(|| dir.join(FILES[0]));
    let kshown = display(&kfile, base);
    let output = Command::new("kubectl").arg("kustomize").arg(dir).output();
    let rendered = match output {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            return failed(
                &kshown,
                format!("`kubectl kustomize` failed: {}", err.trim()),
                "fix the kustomization; `kubectl kustomize DIR` shows the same error",
            );
        }
        Err(e) => {
            return failed(
                &kshown,
                format!("cannot run `kubectl kustomize`: {e}"),
                "install kubectl (it bundles kustomize), or render with `kustomize build` and scan the output",
            )
        }
    };
    let (parsed, _) = k8s::parse(&kshown, &rendered);
    let kfile_source = Arc::new(SourceFile {
        path: kshown.clone(),
        text: mask_generator_literals(&read_text(&kfile, &kshown).unwrap_or_default()),
    });
    let sources = source_documents(dir, base);
    let mut files: Vec<Arc<SourceFile>> = vec![kfile_source.clone()];
    let mut resources = Vec::with_capacity(parsed.resources.len());
    for mut r in parsed.resources {
        let from = sources
            .get(&r.kind)
            .and_then(|list| list.iter().find(|s| names_match(&r.name, &s.name)));
        r.origin = match from {
            Some(src) => match &src.origin {
                Origin::File { file, span, spans } => {
                    if !files.iter().any(|f| Arc::ptr_eq(f, file)) {
                        files.push(file.clone());
                    }
                    let spans = match spans {
                        SpanIndex::Tree(nodes) => SpanIndex::Source {
                            nodes: nodes.clone(),
                            body: Arc::new(src.body.clone()),
                        },
                        other => other.clone(),
                    };
                    Origin::File {
                        file: file.clone(),
                        span: *span,
                        spans,
                    }
                }
                Origin::Object { .. } => src.origin.clone(),
            },
            None => Origin::File {
                file: kfile_source.clone(),
                span: Span {
                    start: Pos { line: 1, column: 1 },
                    end: Pos { line: 1, column: 1 },
                },
                spans: SpanIndex::Map(Vec::new()),
            },
        };
        resources.push(r);
    }
    Loaded {
        resources,
        files,
        diagnostics: parsed.diagnostics,
    }
}

/// A rendered name matches its source when kustomize only added a prefix or suffix.
fn names_match(rendered: &str, source: &str) -> bool {
    !source.is_empty() && rendered.contains(source)
}

/// Every object declared in the YAML files under `dir`, by kind.
fn source_documents(dir: &Path, base: &Path) -> HashMap<String, Vec<Resource>> {
    let mut by_kind: HashMap<String, Vec<Resource>> = HashMap::new();
    for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
        let path = entry.path();
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        let is_kfile = FILES.iter().any(|f| path.file_name() == Some(f.as_ref()));
        if !entry.file_type().is_file() || !is_yaml || is_kfile {
            continue;
        }
        let shown = display(path, base);
        if let Ok(text) = read_text(path, &shown) {
            let (parsed, _) = k8s::parse(&shown, &text);
            for r in parsed.resources {
                by_kind.entry(r.kind.clone()).or_default().push(r);
            }
        }
    }
    // Longer names first, so `api` does not claim the rendered `blog-api-v2` of `api-v2`.
    for list in by_kind.values_mut() {
        list.sort_by_key(|r| std::cmp::Reverse(r.name.len()));
    }
    by_kind
}

/// `secretGenerator` literals are Secret values: mask them in the text reporters may show.
fn mask_generator_literals(text: &str) -> String {
    let (docs, _) = crate::syntax::yaml::parse_stream(text);
    let mut ranges = Vec::new();
    for doc in &docs {
        let generators = doc
            .value
            .get("secretGenerator")
            .and_then(serde_json::Value::as_array);
        for (i, g) in generators.into_iter().flatten().enumerate() {
            let literals = g.get("literals").and_then(serde_json::Value::as_array);
            for j in 0..literals.map_or(0, Vec::len) {
                let path = [
                    PathSeg::Key("secretGenerator".into()),
                    PathSeg::Index(i),
                    PathSeg::Key("literals".into()),
                    PathSeg::Index(j),
                ];
                if let Some((node, 4)) = locate_tree(&doc.nodes, &doc.value, &path) {
                    ranges.push((node.start, node.end));
                }
            }
        }
    }
    k8s::mask(text, &ranges)
}

fn failed(shown: &str, message: String, help: &str) -> Loaded {
    Loaded {
        diagnostics: vec![Diagnostic::error("kustomize", message)
            .in_file(shown)
            .at(Pos { line: 1, column: 1 })
            .help(help)],
        ..Loaded::default()
    }
}
