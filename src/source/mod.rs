//! Sources: find the input files of a scan and turn them into resources.
//!
//! Only this stage reads files. Every problem becomes a [`Diagnostic`] and the other files go on.

pub mod cache;
pub mod helm;
pub mod k8s;
pub mod kustomize;
pub mod live;
pub mod terraform;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::model::{Diagnostic, Pos, Resource, SourceFile};

/// Files larger than this are reported, not read.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Directories never descended into.
pub const SKIPPED_DIRS: &[&str] = &[".git", "target", "node_modules", ".terraform"];

/// Everything the sources produced.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The resources of manifest files may be stashed (see [`STASH_ABOVE`]): their body is
    /// `Resource::hydrated`'s.
    pub resources: Vec<Resource>,
    pub files: Vec<Arc<SourceFile>>,
    pub diagnostics: Vec<Diagnostic>,
    /// What the load read besides the scanned paths.
    pub reads: Reads,
}

impl Loaded {
    /// Appends `other`. What `self` lacks is taken over rather than copied: the resources of
    /// one large manifest would otherwise be held twice while they are moved.
    fn extend(&mut self, other: Loaded) {
        append(&mut self.resources, other.resources);
        append(&mut self.files, other.files);
        append(&mut self.diagnostics, other.diagnostics);
        self.reads.extend(other.reads);
    }
}

/// `to.extend(from)`, taking `from`'s buffer when `to` is empty.
fn append<T>(to: &mut Vec<T>, from: Vec<T>) {
    if to.is_empty() {
        *to = from;
    } else {
        to.extend(from);
    }
}

/// What a load depended on besides the files under the scanned paths: what the scan cache
/// finds unchanged before it reuses a scan's results (see `pipeline::memo`).
#[derive(Debug, Default)]
pub struct Reads {
    /// Files read wherever they are: every local input of a kustomize root, and the files
    /// that Terraform's `file()` and `templatefile()` read.
    pub files: Vec<PathBuf>,
    /// Directories whose files were read: Terraform root and module directories, also
    /// outside the scanned paths.
    pub dirs: Vec<PathBuf>,
    /// Something remote was read (a kustomize resource or chart at a URL): the results must
    /// not be reused.
    pub remote: bool,
}

impl Reads {
    fn extend(&mut self, other: Reads) {
        self.files.extend(other.files);
        self.dirs.extend(other.dirs);
        self.remote |= other.remote;
    }
}

/// What a discovered input is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Input {
    Manifest(PathBuf),
    Kustomization(PathBuf),
    /// A directory with Chart.yaml.
    Chart(PathBuf),
}

/// How kustomizations and Helm charts are rendered.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// `--no-cache`: render every kustomize root again, and keep nothing.
    pub no_cache: bool,
    /// Stash the documents of manifest files when they total more than this many bytes
    /// (`None`: [`STASH_ABOVE`]).
    pub stash_above: Option<u64>,
    /// `--helm-values` and `--helm-set`, for every chart.
    pub helm: helm::HelmOptions,
}

/// A scan's manifest files are stashed (see `SpanIndex::Stashed`) when they total more than
/// this: a resource then holds its identity and where its document is, and its body and span
/// tree are read again when needed. Held whole, resources take about 16 times their text, so
/// below this they take at most about 130 MB, and reading documents again would only cost
/// time (a scan of the 1k tree takes a fifth longer stashed).
pub const STASH_ABOVE: u64 = 8 * 1024 * 1024;

/// Reads every input under `paths`. Display paths are relative to `base`.
#[must_use]
pub fn load(paths: &[PathBuf], base: &Path) -> Loaded {
    load_with(paths, base, &terraform::TerraformOptions::default())
}

/// [`load`] with Terraform's own inputs (`--var-file`, `--var`).
#[must_use]
pub fn load_with(paths: &[PathBuf], base: &Path, tf: &terraform::TerraformOptions) -> Loaded {
    load_all(paths, base, tf, &RenderOptions::default())
}

/// [`load_with`] with the rendering options of kustomize and Helm.
#[must_use]
pub fn load_all(
    paths: &[PathBuf],
    base: &Path,
    tf: &terraform::TerraformOptions,
    render: &RenderOptions,
) -> Loaded {
    let mut diagnostics = Vec::new();
    let mut inputs = Vec::new();
    let mut tf_inputs = terraform::Inputs::default();
    let mut seen = HashSet::new();
    for p in paths {
        discover(
            p,
            base,
            &mut inputs,
            &mut tf_inputs,
            &mut seen,
            &mut diagnostics,
        );
    }
    let kdirs: Vec<PathBuf> = inputs
        .iter()
        .filter_map(|i| match i {
            Input::Kustomization(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    let plan = kustomize::Plan::new(&kdirs);
    // A manifest that a root renders is checked as rendered, not a second time as it is.
    let rendered = plan.rendered_files();
    if !rendered.is_empty() {
        inputs.retain(|i| match i {
            Input::Manifest(p) => !rendered.contains(&kustomize::absolute(p)),
            _ => true,
        });
    }
    let cache = kustomize::Cache::user(!render.no_cache);
    let ((mut loaded, kustomized), terraform) = rayon::join(
        || {
            rayon::join(
                || load_inputs(&inputs, base, render),
                || kustomize::load(&plan, base, &cache),
            )
        },
        || terraform::load(&tf_inputs, base, tf),
    );
    loaded.extend(kustomized);
    loaded.extend(terraform);
    loaded.diagnostics.extend(diagnostics);
    loaded
}

fn load_inputs(inputs: &[Input], base: &Path, render: &RenderOptions) -> Loaded {
    let manifests: u64 = inputs
        .par_iter()
        .filter_map(|input| match input {
            Input::Manifest(path) => fs::metadata(path).ok().map(|m| m.len()),
            _ => None,
        })
        .sum();
    let stash = manifests > render.stash_above.unwrap_or(STASH_ABOVE);
    inputs
        .par_iter()
        .map(|input| match input {
            Input::Manifest(path) => load_manifest(path, base, stash),
            // Rendered by `kustomize::load`, root by root.
            Input::Kustomization(_) => Loaded::default(),
            Input::Chart(dir) => helm::load(dir, base, &render.helm),
        })
        .reduce(Loaded::default, |mut a, b| {
            a.extend(b);
            a
        })
}

/// The path shown to users and written to SARIF: relative to `base`, `/`-separated.
#[must_use]
pub fn display(path: &Path, base: &Path) -> String {
    use std::path::Component;
    let rel = path.strip_prefix(base).unwrap_or(path);
    // Joined component by component: on Unix a `\` is part of a file name, not a separator.
    let mut out = String::new();
    for c in rel.components() {
        let part = match c {
            Component::CurDir => continue,
            Component::RootDir => {
                out.push('/');
                continue;
            }
            Component::Prefix(p) => p.as_os_str().to_string_lossy().replace('\\', "/"),
            Component::ParentDir => "..".into(),
            Component::Normal(n) => n.to_string_lossy().into_owned(),
        };
        if !out.is_empty() && !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(&part);
    }
    out
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

fn discover(
    root: &Path,
    base: &Path,
    inputs: &mut Vec<Input>,
    tf: &mut terraform::Inputs,
    seen: &mut HashSet<PathBuf>,
    diags: &mut Vec<Diagnostic>,
) {
    if root.is_file() {
        if seen.insert(root.canonicalize().unwrap_or_else(|_| root.to_path_buf())) {
            let name = root.file_name().unwrap_or_default().to_string_lossy();
            if name.ends_with(".tf") {
                tf.files.push(root.to_path_buf());
            } else if terraform::is_plan(root) {
                tf.plans.push(root.to_path_buf());
            } else if !terraform::is_terraform_name(&name) {
                inputs.push(Input::Manifest(root.to_path_buf()));
            }
        }
        return;
    }
    if !root.exists() {
        diags.push(
            Diagnostic::error("unreadable", "no such file or directory")
                .in_file(display(root, base))
                .help("check the path given to `blogaudit scan`"),
        );
        return;
    }
    let mut walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    let mut chart_roots: Vec<PathBuf> = Vec::new();
    while let Some(entry) = walker.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().map(|p| display(p, base)).unwrap_or_default();
                let d = if e.loop_ancestor().is_some() {
                    Diagnostic::error(
                        "symlink-loop",
                        "symbolic link loops back to its own ancestor; not followed",
                    )
                    .help("remove the link or point it outside the scanned tree")
                } else {
                    Diagnostic::error("unreadable", format!("cannot read: {e}"))
                        .help("check the file's permissions")
                };
                diags.push(d.in_file(path));
                continue;
            }
        };
        let path = entry.path();
        if entry.file_type().is_dir() {
            let name = entry.file_name().to_string_lossy();
            if entry.depth() > 0 && SKIPPED_DIRS.contains(&name.as_ref()) {
                walker.skip_current_dir();
                continue;
            }
            if let Some(k) = kustomize::kustomization_file(path) {
                if seen.insert(k.canonicalize().unwrap_or(k)) {
                    inputs.push(Input::Kustomization(path.to_path_buf()));
                }
                walker.skip_current_dir();
                continue;
            }
            if path.join("Chart.yaml").is_file() && !chart_roots.iter().any(|c| path.starts_with(c))
            {
                // The chart is one input; its templates are not manifests until rendered.
                inputs.push(Input::Chart(path.to_path_buf()));
                chart_roots.push(path.to_path_buf());
            }
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        if name.ends_with(".tf") {
            let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            if tf.dirs.last() != Some(&dir) {
                tf.dirs.push(dir);
            }
            continue;
        }
        if !is_manifest(path) || terraform::is_terraform_name(&name) {
            continue;
        }
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if !seen.insert(canonical) {
            continue;
        }
        // A FIFO or device is never opened here: `read_text` reports it.
        if entry.file_type().is_file() && terraform::is_plan(path) {
            tf.plans.push(path.to_path_buf());
            continue;
        }
        let in_chart = chart_roots.iter().any(|c| {
            path.parent() == Some(c.as_path())
                || path.starts_with(c.join("templates"))
                || path.starts_with(c.join("charts"))
        });
        // Chart.yaml, values.yaml, templates and subcharts are the chart's, not manifests.
        if !in_chart {
            inputs.push(Input::Manifest(path.to_path_buf()));
        }
    }
}

/// Reads a file's text, or says why it cannot be read as text.
pub fn read_text(path: &Path, shown: &str) -> Result<String, Diagnostic> {
    let meta = fs::metadata(path).map_err(|e| {
        Diagnostic::error("unreadable", format!("cannot read: {e}"))
            .in_file(shown)
            .help("check the file's permissions")
    })?;
    if !meta.is_file() {
        // Reading a FIFO blocks until a writer comes, a device may never end.
        return Err(Diagnostic::error(
            "unreadable",
            "not a regular file (a FIFO, socket or device); not read",
        )
        .in_file(shown)
        .help("remove it from the scanned tree"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::error(
            "too-large",
            format!(
                "file is {} MB, over the {} MB limit; not read",
                meta.len() / (1024 * 1024),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        )
        .in_file(shown)
        .help("split the file, or exclude it from the scanned tree"));
    }
    let bytes = fs::read(path).map_err(|e| {
        Diagnostic::error("unreadable", format!("cannot read: {e}"))
            .in_file(shown)
            .help("check the file's permissions")
    })?;
    if bytes.iter().take(8192).any(|b| *b == 0) {
        return Err(
            Diagnostic::error("binary-file", "binary file; not a manifest")
                .in_file(shown)
                .help("remove it from the scanned tree or rename it"),
        );
    }
    match String::from_utf8(bytes) {
        Ok(mut s) => {
            if s.starts_with('\u{feff}') {
                s.remove(0);
            }
            Ok(s)
        }
        Err(e) => {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let col = good.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            Err(Diagnostic::error("not-utf8", "file is not valid UTF-8")
                .in_file(shown)
                .at(Pos {
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                    column: u32::try_from(col).unwrap_or(u32::MAX),
                })
                .help("save the file as UTF-8"))
        }
    }
}

fn load_manifest(path: &Path, base: &Path, stash: bool) -> Loaded {
    let shown = display(path, base);
    let text = match read_text(path, &shown) {
        Ok(t) => t,
        Err(d) => {
            return Loaded {
                diagnostics: vec![d],
                ..Loaded::default()
            }
        }
    };
    let (parsed, file) = if stash {
        k8s::parse_stashed(&shown, text)
    } else {
        k8s::parse_owned(&shown, text)
    };
    Loaded {
        resources: parsed.resources,
        files: vec![file],
        diagnostics: parsed.diagnostics,
        ..Loaded::default()
    }
}
