//! The kustomizations of a scan and what each one reads: which are roots (included by no
//! other), and every local file a root's rendering depends on (the render cache's key).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::syntax::yaml::{self, Document};

/// The file names kustomize looks for, in its order.
pub const FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The kustomization file of `dir`, if it has one.
#[must_use]
pub fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    FILES.iter().map(|f| dir.join(f)).find(|p| p.is_file())
}

/// One kustomization file, read and parsed.
#[derive(Debug)]
pub struct Kustomization {
    /// Its directory (absolute, normalised).
    pub dir: PathBuf,
    pub file: PathBuf,
    pub text: String,
    /// The parsed document, with spans; `None` when it does not parse (kubectl will say why).
    pub doc: Option<Document>,
    /// `kind: Component`: applied by the kustomizations that list it, never rendered alone.
    pub component: bool,
    /// Directories of other kustomizations it includes (`resources`, `bases`, `components`,
    /// and generator or transformer directories).
    pub includes: Vec<PathBuf>,
    /// Local files it reads besides its own file.
    pub reads: Vec<PathBuf>,
    /// Files it lists under `resources` (manifests it renders).
    pub resources: Vec<PathBuf>,
    /// Patch files it applies.
    pub patches: Vec<PathBuf>,
    /// Each local `resources`/`bases` entry resolved: field, index, path (file or directory).
    pub entries: Vec<(&'static str, usize, PathBuf)>,
    /// It reads something remote (a URL resource, a Helm chart): never cached.
    pub remote: bool,
}

/// Fields holding paths of files a kustomization reads (besides resources and patches).
const FILE_LISTS: &[&str] = &[
    "patchesStrategicMerge",
    "crds",
    "configurations",
    "generators",
    "transformers",
    "validators",
];

impl Kustomization {
    /// Reads the kustomization of `dir`; `None` when `dir` has none or it cannot be read.
    #[must_use]
    pub fn read(dir: &Path) -> Option<Self> {
        let dir = absolute(dir);
        let file = kustomization_file(&dir)?;
        let text = std::fs::read_to_string(&file).ok()?;
        let (docs, _) = yaml::parse_stream(&text);
        let doc = docs.into_iter().next();
        let mut k = Self {
            component: doc
                .as_ref()
                .and_then(|d| d.value.get("kind"))
                .and_then(Value::as_str)
                == Some("Component"),
            dir,
            file,
            text,
            doc: None,
            includes: Vec::new(),
            reads: Vec::new(),
            resources: Vec::new(),
            patches: Vec::new(),
            entries: Vec::new(),
            remote: false,
        };
        if let Some(d) = &doc {
            k.collect(&d.value);
        }
        k.doc = doc;
        Some(k)
    }

    fn collect(&mut self, v: &Value) {
        for field in ["resources", "bases", "components"] {
            for (i, entry) in strings(v.get(field)).enumerate() {
                if is_remote(entry) {
                    self.remote = true;
                    continue;
                }
                let p = normalise(&self.dir.join(entry));
                if field != "components" {
                    self.entries.push((field, i, p.clone()));
                }
                if p.is_dir() {
                    self.includes.push(p);
                } else if field == "resources" {
                    self.resources.push(p.clone());
                    self.reads.push(p);
                } else {
                    self.reads.push(p);
                }
            }
        }
        for field in FILE_LISTS {
            for entry in strings(v.get(*field)) {
                if entry.contains('\n') || is_remote(entry) {
                    continue; // an inline patch, or a remote one (`remote` is set elsewhere)
                }
                let p = normalise(&self.dir.join(entry));
                if p.is_dir() {
                    self.includes.push(p);
                } else {
                    if *field == "patchesStrategicMerge" {
                        self.patches.push(p.clone());
                    }
                    self.reads.push(p);
                }
            }
        }
        for field in ["patches", "patchesJson6902", "replacements"] {
            for item in v.get(field).and_then(Value::as_array).into_iter().flatten() {
                if let Some(p) = item.get("path").and_then(Value::as_str) {
                    let p = normalise(&self.dir.join(p));
                    if field != "replacements" {
                        self.patches.push(p.clone());
                    }
                    self.reads.push(p);
                }
            }
        }
        for field in ["configMapGenerator", "secretGenerator"] {
            for g in v.get(field).and_then(Value::as_array).into_iter().flatten() {
                let files = strings(g.get("files"))
                    .chain(strings(g.get("envs")))
                    .chain(g.get("env").and_then(Value::as_str));
                for f in files {
                    // `files` entries may be `key=path`.
                    let path = f.split_once('=').map_or(f, |(_, p)| p);
                    self.reads.push(normalise(&self.dir.join(path)));
                }
            }
        }
        if let Some(p) = v
            .get("openapi")
            .and_then(|o| o.get("path"))
            .and_then(Value::as_str)
        {
            self.reads.push(normalise(&self.dir.join(p)));
        }
        if v.get("helmCharts").is_some() || v.get("helmChartInflationGenerator").is_some() {
            self.remote = true;
        }
    }
}

fn strings(v: Option<&Value>) -> impl Iterator<Item = &str> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// A resource kustomize fetches: a URL or a Git address.
#[must_use]
pub fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("git@")
        || entry.starts_with("github.com/")
        || entry.starts_with("gitlab.com/")
        || entry.contains("?ref=")
}

/// An absolute form of `p` without `.` and `..` steps (symbolic links resolved when it
/// exists, so the same directory named two ways is one).
#[must_use]
pub fn absolute(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| normalise(p))
}

/// `p` made absolute and `..` steps resolved lexically, then canonical when it exists.
#[must_use]
pub fn normalise(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.canonicalize().unwrap_or(out)
}

/// The kustomizations of a scan, by directory.
#[derive(Debug, Default)]
pub struct Graph {
    pub nodes: HashMap<PathBuf, Kustomization>,
}

impl Graph {
    /// Reads the kustomizations in `dirs` and every kustomization they include, wherever it
    /// is (a base outside the scanned paths is still part of its roots' rendering).
    #[must_use]
    pub fn read(dirs: &[PathBuf]) -> Self {
        let mut nodes = HashMap::new();
        let mut todo: Vec<PathBuf> = dirs.iter().map(|d| absolute(d)).collect();
        while let Some(dir) = todo.pop() {
            if nodes.contains_key(&dir) {
                continue;
            }
            if let Some(k) = Kustomization::read(&dir) {
                todo.extend(k.includes.iter().cloned());
                nodes.insert(dir, k);
            }
        }
        Self { nodes }
    }

    /// The roots among `dirs`: kustomizations that no other kustomization of the scan includes,
    /// and that are not components. A directory whose kustomization cannot be read stays a
    /// root, so that rendering reports its problem.
    #[must_use]
    pub fn roots(&self, dirs: &[PathBuf]) -> Vec<PathBuf> {
        let scanned: HashSet<PathBuf> = dirs.iter().map(|d| absolute(d)).collect();
        let included: HashSet<&PathBuf> = self
            .nodes
            .iter()
            .filter(|(dir, _)| scanned.contains(*dir))
            .flat_map(|(_, k)| &k.includes)
            .collect();
        dirs.iter()
            .filter(|d| {
                let abs = absolute(d);
                !included.contains(&abs) && !self.nodes.get(&abs).is_some_and(|k| k.component)
            })
            .cloned()
            .collect()
    }

    /// The kustomizations a root's rendering reads, itself first, each once.
    #[must_use]
    pub fn closure(&self, root: &Path) -> Vec<&Kustomization> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut todo = vec![absolute(root)];
        while let Some(dir) = todo.pop() {
            if !seen.insert(dir.clone()) {
                continue;
            }
            if let Some(k) = self.nodes.get(&dir) {
                todo.extend(k.includes.iter().rev().cloned());
                out.push(k);
            }
        }
        out
    }

    /// Every local file a root's rendering reads, sorted; and whether it reads anything remote.
    #[must_use]
    pub fn inputs(&self, root: &Path) -> (BTreeSet<PathBuf>, bool) {
        let mut files = BTreeSet::new();
        let mut remote = false;
        for k in self.closure(root) {
            files.insert(k.file.clone());
            files.extend(k.reads.iter().cloned());
            remote |= k.remote;
        }
        (files, remote)
    }
}
