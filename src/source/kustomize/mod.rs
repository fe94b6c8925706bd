//! Kustomizations: the roots are rendered with `kubectl kustomize` (in parallel, from the
//! render cache when nothing changed), and each rendered object is traced back to the file
//! that declares it, the patch that sets a field, or the generator entry that made it, so
//! that findings point at files users edit.
//!
//! A kustomization is a root when no other kustomization of the scan includes it and it is
//! not a `Component`; bases and components are checked through the roots that use them.

mod graph;
mod render;
mod trace;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

pub use graph::{absolute, kustomization_file, Graph};
pub use render::{which, Cache};

use crate::model::{Diagnostic, Layer, Origin, PathSeg, Pos, SourceFile, Span, SpanIndex, Trace};
use crate::source::{display, k8s, read_text, Loaded};
use trace::{Facts, SourceDoc, SourceManifest};

/// The kustomizations found by discovery, read once.
#[derive(Debug)]
pub struct Plan {
    graph: Graph,
    roots: Vec<PathBuf>,
}

impl Plan {
    /// Reads the kustomizations in `dirs` (and what they include) and picks the roots.
    #[must_use]
    pub fn new(dirs: &[PathBuf]) -> Self {
        let graph = Graph::read(dirs);
        let roots = graph.roots(dirs);
        Self { graph, roots }
    }

    /// Manifest files that a root renders: not to be checked a second time on their own.
    #[must_use]
    pub fn rendered_files(&self) -> HashSet<PathBuf> {
        self.roots
            .iter()
            .flat_map(|r| self.graph.closure(r))
            .flat_map(|k| k.resources.iter().cloned())
            .collect()
    }
}

/// Renders every root of `plan`, in parallel, and traces the objects back to their sources.
#[must_use]
pub fn load(plan: &Plan, base: &Path, cache: &Cache) -> Loaded {
    if plan.roots.is_empty() {
        return Loaded::default();
    }
    // Paths of the graph are canonical: so is the base they are shown relative to.
    let base = &graph::absolute(base);
    let graph = &plan.graph;
    let (rendered, (manifests, kfiles)) = rayon::join(
        || {
            plan.roots
                .par_iter()
                .map(|root| render::render(root, graph, cache))
                .collect::<Vec<_>>()
        },
        || {
            rayon::join(
                || source_manifests(plan, base),
                || kustomization_files(graph, base),
            )
        },
    );
    let facts: HashMap<&Path, Facts> = graph
        .nodes
        .par_iter()
        .filter_map(|(dir, k)| {
            let file = kfiles.get(dir.as_path())?.clone();
            let patches = trace::patches(k, &file, &manifests);
            Some((dir.as_path(), Facts { file, patches }))
        })
        .collect();
    let from_cache = rendered
        .iter()
        .filter(|r| matches!(r, Ok(x) if x.cached))
        .count();
    let mut out = plan
        .roots
        .par_iter()
        .zip(rendered)
        .map(|(root, r)| match r {
            Ok(r) => trace_root(root, &r, graph, &facts, &manifests, base),
            Err(e) => failed(root, base, e),
        })
        .reduce(Loaded::default, |mut a, b| {
            a.resources.extend(b.resources);
            a.diagnostics.extend(b.diagnostics);
            a
        });
    for root in &plan.roots {
        let (inputs, remote) = graph.inputs(root);
        out.reads.files.extend(inputs);
        out.reads.remote |= remote;
    }
    out.files.extend(facts.values().map(|f| f.file.clone()));
    out.files.extend(manifests.values().map(|m| m.file.clone()));
    out.diagnostics.push(Diagnostic::note(
        "kustomize-roots",
        format!(
            "kustomize: {} root(s) rendered, {from_cache} from the render cache ({})",
            plan.roots.len(),
            cache
                .dir
                .as_ref()
                .map_or_else(|| "cache off".to_string(), |d| d.display().to_string()),
        ),
    ));
    out
}

/// Parses every manifest and patch file the roots read, once for all roots.
fn source_manifests(plan: &Plan, base: &Path) -> HashMap<PathBuf, Arc<SourceManifest>> {
    let mut paths: Vec<PathBuf> = plan
        .graph
        .nodes
        .values()
        .flat_map(|k| k.resources.iter().chain(&k.patches).cloned())
        .collect();
    paths.sort();
    paths.dedup();
    paths
        .into_par_iter()
        .filter_map(|p| {
            let shown = display(&p, base);
            let text = read_text(&p, &shown).ok()?;
            let (parsed, file) = k8s::parse_owned(&shown, text);
            let docs = parsed
                .resources
                .into_iter()
                .filter_map(|r| match r.origin {
                    Origin::File {
                        spans: SpanIndex::Tree(nodes),
                        ..
                    } => Some(SourceDoc {
                        kind: r.kind,
                        name: r.name,
                        nodes,
                        body: Arc::new(r.body),
                    }),
                    _ => None,
                })
                .collect();
            Some((p, Arc::new(SourceManifest { file, docs })))
        })
        .collect()
}

/// Each kustomization file as reporters may show it: `secretGenerator` literals masked.
fn kustomization_files<'g>(graph: &'g Graph, base: &Path) -> HashMap<&'g Path, Arc<SourceFile>> {
    graph
        .nodes
        .iter()
        .map(|(dir, k)| {
            let file = Arc::new(SourceFile {
                path: display(&k.file, base),
                text: mask_generator_literals(&k.text),
            });
            (dir.as_path(), file)
        })
        .collect()
}

fn trace_root(
    root: &Path,
    rendered: &render::Rendered,
    graph: &Graph,
    facts: &HashMap<&Path, Facts>,
    manifests: &HashMap<PathBuf, Arc<SourceManifest>>,
    base: &Path,
) -> Loaded {
    let closure = graph.closure(root);
    let Some(root_k) = closure.first() else {
        return Loaded::default();
    };
    let root_shown = display(&graph::absolute(root), base);
    let root_file = facts
        .get(root_k.dir.as_path())
        .map(|f| f.file.clone())
        .unwrap_or_else(|| {
            Arc::new(SourceFile {
                path: display(&root_k.file, base),
                text: String::new(),
            })
        });
    // What cannot be traced points at the root's `resources`, else at its first line.
    let root_entry = trace::field(root_k, &[PathSeg::Key("resources".into())]).unwrap_or(Span {
        start: Pos { line: 1, column: 1 },
        end: Pos { line: 1, column: 1 },
    });
    let patches: Vec<&trace::Patch> = closure
        .iter()
        .filter_map(|k| facts.get(k.dir.as_path()))
        .flat_map(|f| &f.patches)
        .collect();
    let mut resources = Vec::with_capacity(rendered.objects.len());
    for body in &rendered.objects {
        let mut body = body.clone();
        let origin = trace::take_origin(&mut body, &rendered.wrapper);
        let placeholder = Origin::Object {
            reference: String::new(),
        };
        let Some(mut r) = crate::model::Resource::from_k8s(body, placeholder) else {
            continue;
        };
        let mut entry = (root_file.clone(), root_entry);
        let mut source: Option<(Layer, String)> = None;
        if let (Some(path), None) = (&origin.path, &origin.repo) {
            if let Some(m) = manifests.get(path) {
                source = best_doc(&m.docs, &r.kind, &r.name).map(|d| {
                    (
                        Layer {
                            file: m.file.clone(),
                            nodes: d.nodes.clone(),
                            body: d.body.clone(),
                            at: Vec::new(),
                        },
                        d.name.clone(),
                    )
                });
            }
            if let Some((k, s)) = closure
                .iter()
                .find_map(|k| Some((*k, trace::resource_entry(k, Some(path), None)?)))
            {
                entry = (kfile(facts, k, &root_file), s);
            }
        } else if let (Some(k_file), Some(by)) = (&origin.configured_in, &origin.configured_by) {
            if let Some(k) = closure.iter().find(|k| &k.file == k_file) {
                if let Some((s, _)) = trace::generator_entry(k, by, &r.name) {
                    entry = (kfile(facts, k, &root_file), s);
                }
            }
        } else if let Some((k, s)) = closure
            .iter()
            .find_map(|k| Some((*k, trace::resource_entry(k, None, origin.repo.as_deref())?)))
        {
            entry = (kfile(facts, k, &root_file), s);
        }
        let name = r.name.clone();
        let kind = r.kind.clone();
        let (source, source_name) = match source {
            Some((layer, n)) => (Some(layer), n),
            None => (None, String::new()),
        };
        let trace = Trace {
            patches: patches
                .iter()
                .filter(|p| p.targets(&kind, &name))
                .map(|p| p.layer.clone())
                .collect(),
            source,
            entry,
            roots: vec![root_shown.clone()],
            source_name,
        };
        let (file, span) = match &trace.source {
            Some(l) => (
                l.file.clone(),
                l.nodes.first().map_or(trace.entry.1, |n| Span {
                    start: n.start,
                    end: n.end,
                }),
            ),
            None => (trace.entry.0.clone(), trace.entry.1),
        };
        r.origin = Origin::File {
            file,
            span,
            spans: SpanIndex::Rendered(Arc::new(trace)),
        };
        resources.push(r);
    }
    Loaded {
        resources,
        ..Loaded::default()
    }
}

fn kfile(
    facts: &HashMap<&Path, Facts>,
    k: &graph::Kustomization,
    fallback: &Arc<SourceFile>,
) -> Arc<SourceFile> {
    facts
        .get(k.dir.as_path())
        .map_or_else(|| fallback.clone(), |f| f.file.clone())
}

/// The document a rendered object comes from: same kind, and the longest name that the
/// rendered name contains (kustomize only adds prefixes and suffixes).
fn best_doc<'a>(docs: &'a [SourceDoc], kind: &str, name: &str) -> Option<&'a SourceDoc> {
    let same_kind = docs.iter().filter(|d| d.kind == kind);
    same_kind
        .clone()
        .filter(|d| !d.name.is_empty() && name.contains(&d.name))
        .max_by_key(|d| d.name.len())
        .or_else(|| {
            // A name set by a patch or a replacement: the only document of the kind.
            let mut it = same_kind;
            let first = it.next()?;
            it.next().is_none().then_some(first)
        })
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
                if let Some((node, 4)) = crate::model::locate_tree(&doc.nodes, &doc.value, &path) {
                    ranges.push((node.start, node.end));
                }
            }
        }
    }
    k8s::mask(text, &ranges)
}

fn failed(root: &Path, base: &Path, e: render::Failure) -> Loaded {
    let kfile = kustomization_file(root).unwrap_or_else(|| root.join(graph::FILES[0]));
    let shown = display(&kfile, base);
    let (message, help) = match e {
        render::Failure::Kustomize(err) => (
            format!("`kubectl kustomize` failed: {err}"),
            "fix the kustomization; `kubectl kustomize DIR` shows the same error",
        ),
        render::Failure::NoKubectl(err) => (
            format!("cannot run `kubectl kustomize`: {err}"),
            "install kubectl (it bundles kustomize), or render with `kustomize build` and scan the output",
        ),
    };
    Loaded {
        diagnostics: vec![Diagnostic::error("kustomize", message)
            .in_file(shown)
            .at(Pos { line: 1, column: 1 })
            .help(help)],
        ..Loaded::default()
    }
}
