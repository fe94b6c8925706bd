//! Terraform: `.tf` source (with `.tfvars`, local modules and the known registry modules) and
//! plan JSON, mapped to the canonical `aws:*` shapes the AWS rules read.
//!
//! Stages, one module each:
//!
//! | module | does |
//! |---|---|
//! | [`hcl`] | parse files with hcl-edit, line:column spans, index a module directory |
//! | [`value`] | values as evaluation sees them: plain data, references, unknowns, with spans |
//! | [`eval`] | evaluate a root: variables, locals, references, `count`/`for_each`, module calls |
//! | [`funcs`] | Terraform's built-in functions |
//! | [`modules`] | module sources; the registry eks/vpc modules read by what their inputs mean |
//! | [`canonical`] | evaluated resources to `aws:EcrRepository`, `aws:EksNodeGroup`, … |
//! | [`plan`] | `terraform show -json` plans to the same shapes |
//!
//! A directory holding `.tf` files is a root module, unless another directory of the scan calls
//! it as a local module: then it is evaluated through that call, with its inputs.
//!
//! `tests/terraform.rs` tests the whole source through [`load`], text in and canonical
//! resources out.

pub mod canonical;
pub mod eval;
pub mod funcs;
pub mod hcl;
pub mod modules;
pub mod plan;
pub mod value;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use self::hcl::{dir_key, ModuleDef, RawDir, VarFile};
use self::value::{StackSpan, Value};
use crate::model::{Diagnostic, Level, PathSeg, SourceFile};
use crate::source::Loaded;

/// Inputs that Terraform itself takes on its command line.
#[derive(Clone, Debug, Default)]
pub struct TerraformOptions {
    /// `--var-file FILE`: read after `terraform.tfvars` and `*.auto.tfvars`, in order, for
    /// every root module of the scan.
    pub var_files: Vec<PathBuf>,
    /// `--var NAME=VALUE`: applied last. The value is read as an HCL expression when it is
    /// one (`true`, `3`, `["a", "b"]`), else as a plain string, as Terraform does.
    pub vars: Vec<(String, String)>,
}

/// Why a `--var` argument is refused.
#[derive(Debug, thiserror::Error)]
pub enum VarArgError {
    /// No `=` in the argument.
    #[error("`{0}` is not NAME=VALUE")]
    NotAssignment(String),
    /// The part before `=` is not a variable name.
    #[error("`{0}` is not a variable name")]
    BadName(String),
}

/// Splits a `--var NAME=VALUE` argument.
pub fn parse_var(arg: &str) -> Result<(String, String), VarArgError> {
    let (name, value) = arg
        .split_once('=')
        .ok_or_else(|| VarArgError::NotAssignment(arg.to_string()))?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(VarArgError::BadName(name.to_string()));
    }
    Ok((name.to_string(), value.to_string()))
}

/// What discovery found for Terraform.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Directories holding `.tf` files.
    pub dirs: Vec<PathBuf>,
    /// `.tf` files given on their own (each a one-file root module).
    pub files: Vec<PathBuf>,
    /// Plan JSON files.
    pub plans: Vec<PathBuf>,
}

impl Inputs {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty() && self.files.is_empty() && self.plans.is_empty()
    }
}

/// `--var-file` and `--var` values, read once for all roots.
#[derive(Debug, Default)]
pub struct CliVars {
    pub files: Vec<VarFile>,
    pub vars: Vec<(String, String)>,
}

/// Parsed module directories by [`dir_key`].
pub type Defs = HashMap<PathBuf, Arc<ModuleDef>>;

/// One resource instance, evaluated: the interface between evaluation (or a plan) and the
/// canonical mapping.
#[derive(Clone, Debug)]
pub struct Instance {
    /// Full address: `module.net.aws_subnet.a[0]`.
    pub addr: String,
    /// Resource type: `aws_subnet`.
    pub typ: String,
    /// The configured attributes (nested blocks as lists of objects).
    pub body: Value,
    /// Span of each attribute and block, by its path in the body.
    pub spans: Vec<(Vec<PathSeg>, StackSpan)>,
    /// The resource block (or, for a registry module's resources, the module call or the
    /// entry of its input that creates it).
    pub block: StackSpan,
    /// Module call blocks from the root down to the module holding the resource.
    pub chain: Vec<StackSpan>,
    /// `# blogaudit:ignore` entries above the resource and above the calls of its modules.
    pub ignores: Vec<(String, StackSpan)>,
}

/// Every instance of one root module (or one plan).
#[derive(Debug, Default)]
pub struct Stack {
    /// Display path of the root directory (or of the plan).
    pub name: String,
    /// The files [`StackSpan::file`] indexes.
    pub files: Vec<Arc<SourceFile>>,
    pub instances: Vec<Instance>,
    /// Why the stack has a node autoscaler, when a module call says so.
    pub autoscaler: Option<String>,
    /// Why an unknown value is unknown, by its name, when evaluation failed.
    pub reasons: HashMap<String, String>,
    pub diags: Vec<Diagnostic>,
    /// Module directories the evaluation instantiated (by [`dir_key`]).
    pub used_dirs: Vec<PathBuf>,
    /// Files of module directories read during evaluation.
    pub extra_files: Vec<Arc<SourceFile>>,
    /// Files read by `file()` and `templatefile()`.
    pub read_files: Vec<PathBuf>,
    /// Module directories read during evaluation.
    pub read_dirs: Vec<PathBuf>,
}

/// A root to evaluate: where it comes from and whether a plan next to it supersedes it.
struct RootJob {
    key: Option<PathBuf>,
    src: RootSrc,
}

enum RootSrc {
    Raw(RawDir),
    Def(Arc<ModuleDef>),
    File(PathBuf),
}

/// What one root gave.
struct RootOut {
    key: Option<PathBuf>,
    source: plan::SourceStack,
    files: Vec<Arc<SourceFile>>,
    diags: Vec<Diagnostic>,
    /// Module directories it instantiated.
    used: Vec<PathBuf>,
    /// Files its expressions read, and module directories read during evaluation.
    read: Vec<PathBuf>,
    read_dirs: Vec<PathBuf>,
}

/// Loads every Terraform input.
///
/// 1. Every scanned directory is read, and the local module directories its text names are
///    noted, so roots are told from modules before anything is parsed.
/// 2. Module directories are parsed once and shared by the roots that call them.
/// 3. Each root is parsed, evaluated and mapped in parallel, and its syntax tree dropped.
/// 4. Plans are mapped, with the source next to them for their lines.
#[must_use]
pub fn load(inputs: &Inputs, base: &Path, opts: &TerraformOptions) -> Loaded {
    let mut out = Loaded::default();
    if inputs.is_empty() {
        return out;
    }
    let mut cli = CliVars {
        files: Vec::new(),
        vars: opts.vars.clone(),
    };
    for f in &opts.var_files {
        if let Some(v) = hcl::read_var_file(f, base, &mut out.diagnostics, &mut out.files) {
            cli.files.push(v);
        }
    }

    // 1. Read.
    let scanned = dedup_dirs(&inputs.dirs);
    let scanned_keys: HashSet<PathBuf> = scanned.iter().map(|(k, _)| k.clone()).collect();
    let mut raws: HashMap<PathBuf, RawDir> = scanned
        .par_iter()
        .map(|(k, d)| (k.clone(), RawDir::read(d, base)))
        .collect();
    let plan_dir = |p: &PathBuf| hcl::clean_path(p.parent().unwrap_or(Path::new(".")));
    let mut plan_keys: HashSet<PathBuf> = HashSet::new();
    for p in &inputs.plans {
        let d = plan_dir(p);
        let k = dir_key(&d);
        if !raws.contains_key(&k) {
            let raw = RawDir::read(&d, base);
            if !raw.has_tf() {
                continue;
            }
            raws.insert(k.clone(), raw);
        }
        plan_keys.insert(k);
    }
    // Module directories, also outside the scanned tree.
    let mut module_keys: HashSet<PathBuf> = HashSet::new();
    let mut frontier: Vec<PathBuf> = raws.values().flat_map(|r| r.targets.clone()).collect();
    while !frontier.is_empty() {
        let mut next = Vec::new();
        let fresh: Vec<(PathBuf, PathBuf)> = frontier
            .drain(..)
            .map(|d| (dir_key(&d), d))
            .filter(|(k, _)| module_keys.insert(k.clone()))
            .collect();
        let read: Vec<(PathBuf, RawDir)> = fresh
            .par_iter()
            .filter(|(k, d)| !raws.contains_key(k) && d.is_dir())
            .map(|(k, d)| (k.clone(), RawDir::read(d, base)))
            .collect();
        for (k, r) in read {
            next.extend(r.targets.iter().cloned());
            raws.insert(k, r);
        }
        frontier = next;
    }
    out.reads.dirs.extend(raws.keys().cloned());

    // Roots: scanned directories that no other directory names as a module, and directories
    // that only name each other.
    let mut called: HashSet<PathBuf> = HashSet::new();
    for (k, r) in &raws {
        for t in &r.targets {
            let tk = dir_key(t);
            if &tk != k {
                called.insert(tk);
            }
        }
    }
    let mut root_keys: Vec<PathBuf> = scanned
        .iter()
        .map(|(k, _)| k.clone())
        .filter(|k| !called.contains(k))
        .collect();
    let reached = reachable(&raws, &root_keys);
    for (k, _) in &scanned {
        if !reached.contains(k) && !root_keys.contains(k) {
            root_keys.push(k.clone());
        }
    }
    for k in &plan_keys {
        if !scanned_keys.contains(k) && !root_keys.contains(k) {
            root_keys.push(k.clone());
        }
    }

    // 2. Parse the module directories.
    let module_raws: Vec<(PathBuf, RawDir)> = module_keys
        .iter()
        .filter_map(|k| raws.remove(k).map(|r| (k.clone(), r)))
        .filter(|(_, r)| r.has_tf() || !r.targets.is_empty())
        .collect();
    let defs: Defs = module_raws
        .into_par_iter()
        .map(|(k, r)| (k, Arc::new(r.parse(base))))
        .collect();

    // 3. Evaluate the roots.
    let mut jobs: Vec<RootJob> = root_keys
        .iter()
        .filter_map(|k| {
            let src = match (defs.get(k), raws.remove(k)) {
                (Some(d), _) => RootSrc::Def(d.clone()),
                (None, Some(r)) => RootSrc::Raw(r),
                (None, None) => return None,
            };
            Some(RootJob {
                key: Some(k.clone()),
                src,
            })
        })
        .collect();
    // A lone file whose directory is scanned as well is read with its directory.
    jobs.extend(
        inputs
            .files
            .iter()
            .filter(|f| !scanned_keys.contains(&dir_key(&plan_dir(f))))
            .map(|f| RootJob {
                key: None,
                src: RootSrc::File(f.clone()),
            }),
    );
    let mut results: Vec<RootOut> = jobs
        .into_par_iter()
        .map(|job| run_root(job, &defs, &cli, base, &plan_keys))
        .collect();
    // A scanned module directory that no root instantiated after all is a root too.
    let used: HashSet<&PathBuf> = results.iter().flat_map(|r| &r.used).collect();
    let late: Vec<RootJob> = scanned
        .iter()
        .filter(|(k, _)| defs.contains_key(k) && !used.contains(k) && !root_keys.contains(k))
        .map(|(k, _)| RootJob {
            key: Some(k.clone()),
            src: RootSrc::Def(defs[k].clone()),
        })
        .collect();
    results.extend(
        late.into_par_iter()
            .map(|job| run_root(job, &defs, &cli, base, &plan_keys))
            .collect::<Vec<_>>(),
    );

    let mut sources: HashMap<PathBuf, plan::SourceStack> = HashMap::new();
    for mut r in results {
        out.files.append(&mut r.files);
        out.reads.dirs.append(&mut r.used);
        out.reads.dirs.append(&mut r.read_dirs);
        out.reads.files.append(&mut r.read);
        match r.key {
            // A plan next to this source is the evidence; the source gives its lines.
            Some(k) if plan_keys.contains(&k) => {
                let demote = !scanned_keys.contains(&k);
                out.diagnostics.extend(
                    r.diags
                        .into_iter()
                        .filter(|d| d.code != "terraform-unknown")
                        .map(|mut d| {
                            if demote && d.level == Level::Error {
                                d.level = Level::Warning;
                            }
                            d
                        }),
                );
                sources.insert(k, r.source);
            }
            _ => {
                out.resources.append(&mut r.source.resources);
                out.diagnostics.append(&mut r.diags);
            }
        }
    }

    // 4. Plans.
    let plans: Vec<Loaded> = inputs
        .plans
        .par_iter()
        .map(|p| plan::load(p, base, sources.get(&dir_key(&plan_dir(p)))))
        .collect();
    for l in plans {
        out.resources.extend(l.resources);
        out.files.extend(l.files);
        out.diagnostics.extend(l.diagnostics);
    }
    let mut keys: Vec<&PathBuf> = defs.keys().collect();
    keys.sort();
    for k in keys {
        out.files.extend(defs[k].sources.iter().cloned());
        out.diagnostics.extend(defs[k].diags.iter().cloned());
    }
    out
}

fn run_root(
    job: RootJob,
    defs: &Defs,
    cli: &CliVars,
    base: &Path,
    plan_keys: &HashSet<PathBuf>,
) -> RootOut {
    let (def, owned) = match job.src {
        RootSrc::Def(d) => (d, false),
        RootSrc::Raw(r) => (Arc::new(r.parse(base)), true),
        RootSrc::File(f) => (Arc::new(ModuleDef::load_file(&f, base)), true),
    };
    let mut stack = eval::Evaluator::run(defs, cli, base, &def);
    let (resources, diags) = canonical::map(&stack);
    let mut all = std::mem::take(&mut stack.diags);
    all.extend(diags);
    let mut files = std::mem::take(&mut stack.extra_files);
    if owned {
        // Module directories report their own files and problems once.
        files.extend(def.sources.iter().cloned());
        all.extend(def.diags.iter().cloned());
    }
    let used = std::mem::take(&mut stack.used_dirs);
    let read = std::mem::take(&mut stack.read_files);
    let read_dirs = std::mem::take(&mut stack.read_dirs);
    // Keep the evaluated instances only when a plan needs them; drop them here otherwise, on
    // the thread that made them.
    if !job.key.as_ref().is_some_and(|k| plan_keys.contains(k)) {
        stack = Stack::default();
    }
    RootOut {
        key: job.key,
        source: plan::SourceStack { stack, resources },
        files,
        diags: all,
        used,
        read,
        read_dirs,
    }
}

fn dedup_dirs(dirs: &[PathBuf]) -> Vec<(PathBuf, PathBuf)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for d in dirs {
        let d = hcl::clean_path(d);
        let k = dir_key(&d);
        if seen.insert(k.clone()) {
            out.push((k, d));
        }
    }
    out
}

fn reachable(raws: &HashMap<PathBuf, RawDir>, roots: &[PathBuf]) -> HashSet<PathBuf> {
    let mut seen: HashSet<PathBuf> = roots.iter().cloned().collect();
    let mut stack: Vec<PathBuf> = roots.to_vec();
    while let Some(k) = stack.pop() {
        let Some(r) = raws.get(&k) else { continue };
        for t in &r.targets {
            let tk = dir_key(t);
            if seen.insert(tk.clone()) {
                stack.push(tk);
            }
        }
    }
    seen
}

/// Whether a file is a Terraform plan in JSON: a `.json` file whose start names
/// `format_version` (Terraform writes it first) and that has `planned_values`.
#[must_use]
pub fn is_plan(path: &Path) -> bool {
    use std::io::Read;
    if !path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        return false;
    }
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() || meta.len() > crate::source::MAX_FILE_BYTES {
        return false;
    }
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = vec![0u8; 4096];
    let n = f.read(&mut head).unwrap_or(0);
    if !String::from_utf8_lossy(&head[..n]).contains("\"format_version\"") {
        return false;
    }
    std::fs::read_to_string(path).is_ok_and(|t| plan::looks_like_plan(&t))
}

/// Whether a file name belongs to Terraform (and is not a manifest).
#[must_use]
pub fn is_terraform_name(name: &str) -> bool {
    name.ends_with(".tf")
        || name.ends_with(".tfvars")
        || name.ends_with(".tfvars.json")
        || name.ends_with(".tf.json")
}
