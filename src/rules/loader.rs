//! Loads rule folders (built in, and the user's `--rules DIR`) and compiles each into its own
//! regorus engine, so one broken rule never takes the others down.

use std::path::Path;

use include_dir::{include_dir, Dir};
use rayon::prelude::*;

use super::meta::{self, RuleMeta};
use crate::model::{Diagnostic, Pos};

/// The rule folders shipped inside the binary.
pub static BUILTIN_RULES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/rules");

/// A rule ready to evaluate.
#[derive(Clone)]
pub struct CompiledRule {
    pub meta: RuleMeta,
    /// The engine holding the shared library and this rule's policy (no data yet).
    pub engine: regorus::Engine,
    /// `data.blogaudit.<ID>.violation`
    pub query: String,
    /// The rule compiled for regorus's virtual machine (RVM), when it runs there; `None`
    /// runs it in the interpreter (`engine`). See [`Program`].
    pub program: Option<Program>,
}

/// A rule compiled for regorus's RVM: the VM program of `violation` and the compiled policy
/// the VM consults for default rules. Both are shared, read-only, by every thread.
#[derive(Clone)]
pub struct Program {
    pub program: std::sync::Arc<regorus::rvm::Program>,
    pub policy: regorus::CompiledPolicy,
}

/// Which rules run compiled (in the RVM) rather than in the interpreter.
///
/// The built-in rules run compiled: they are written so that no `:=` can bind an undefined
/// value (see [`super::lint`]), which regorus 0.14's compiler gets wrong, and the
/// differential test holds them to the interpreter's findings. A user's rules are compiled
/// only on request (`--compiled-user-rules`), since nothing checks them for that form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compilation {
    /// Compile the built-in rules (normally true; false runs everything interpreted).
    pub builtin: bool,
    /// Compile the rules of `--rules DIR` too.
    pub user: bool,
}

impl Compilation {
    /// Built-in rules compiled, user rules interpreted: the default of a scan.
    pub const DEFAULT: Self = Self {
        builtin: true,
        user: false,
    };
    /// Every rule in the interpreter (the reference the differential test compares with).
    pub const INTERPRETED: Self = Self {
        builtin: false,
        user: false,
    };
}

/// Every rule of a run.
#[derive(Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<CompiledRule>,
}

/// One `rule.rego` as found, before compiling.
struct RuleSource {
    /// Shown in diagnostics: `rules/k8s/BA101-x/rule.rego` or the user's path.
    path: String,
    folder: String,
    text: String,
    /// Shipped in the binary (not from `--rules DIR`).
    builtin: bool,
}

impl RuleSet {
    /// The built-in rules plus those under `extra`, with the default [`Compilation`].
    /// Problems come back as diagnostics; the rules that load are kept.
    #[must_use]
    pub fn load(extra: Option<&Path>) -> (Self, Vec<Diagnostic>) {
        Self::load_with(extra, Compilation::DEFAULT)
    }

    /// [`RuleSet::load`] choosing which rules run compiled.
    #[must_use]
    pub fn load_with(extra: Option<&Path>, compilation: Compilation) -> (Self, Vec<Diagnostic>) {
        let mut libs = Vec::new();
        let mut sources = Vec::new();
        collect_builtin(&BUILTIN_RULES, &mut libs, &mut sources);
        let mut diags = Vec::new();
        if let Some(dir) = extra {
            collect_dir(dir, &mut libs, &mut sources, &mut diags);
        }
        let (set, more) = Self::compile(&libs, sources, compilation);
        diags.extend(more);
        (set, diags)
    }

    /// The user's rule folders under `dir` alone, with the built-in libraries they may import:
    /// what `--rules DIR` adds to the built-in rules, without compiling those (the fuzzer of
    /// the rule-file loader, tools that check a rule directory).
    #[must_use]
    pub fn load_user(dir: &Path, compilation: Compilation) -> (Self, Vec<Diagnostic>) {
        let mut libs = Vec::new();
        let mut builtin = Vec::new();
        collect_builtin(&BUILTIN_RULES, &mut libs, &mut builtin);
        let mut sources = Vec::new();
        let mut diags = Vec::new();
        collect_dir(dir, &mut libs, &mut sources, &mut diags);
        let (set, more) = Self::compile(&libs, sources, compilation);
        diags.extend(more);
        (set, diags)
    }

    /// The rules with these IDs, from the built-in ones and those under `extra`, with their
    /// METADATA only: what the reports of a scan need when its results come from the scan
    /// cache. Nothing is compiled, so these rules evaluate nothing.
    #[must_use]
    pub fn catalog(extra: Option<&Path>, ids: &[String]) -> Self {
        let mut libs = Vec::new();
        let mut sources = Vec::new();
        collect_builtin(&BUILTIN_RULES, &mut libs, &mut sources);
        if let Some(dir) = extra {
            collect_dir(dir, &mut libs, &mut sources, &mut Vec::new());
        }
        let mut rules: Vec<CompiledRule> = Vec::new();
        for src in sources {
            let Ok(meta) = meta::parse(&src.text, &src.folder) else {
                continue;
            };
            if ids.contains(&meta.id) && !rules.iter().any(|r| r.meta.id == meta.id) {
                rules.push(CompiledRule {
                    query: format!("data.blogaudit.{}.violation", meta.id),
                    meta,
                    engine: regorus::Engine::new(),
                    program: None,
                });
            }
        }
        rules.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
        Self { rules }
    }

    /// The same rules, every one in the interpreter.
    #[must_use]
    pub fn interpreted(&self) -> Self {
        let mut set = self.clone();
        for rule in &mut set.rules {
            rule.program = None;
        }
        set
    }

    fn compile(
        libs: &[(String, String)],
        sources: Vec<RuleSource>,
        compilation: Compilation,
    ) -> (Self, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let mut base = regorus::Engine::new();
        base.set_rego_v0(false);
        for (path, text) in libs {
            if let Some(d) = too_deep(path, text) {
                diags.push(d);
                continue;
            }
            if let Err(e) = base.add_policy(path.clone(), text.clone()) {
                diags.push(rego_error(path, &e.to_string()));
            }
        }
        // METADATA first, in order (a duplicate ID is the later one), then each rule compiled
        // on its own, in parallel: a rule's engine is the shared libraries plus its policy.
        let mut ready: Vec<(RuleSource, RuleMeta)> = Vec::new();
        for src in sources {
            let meta = match meta::parse(&src.text, &src.folder) {
                Ok(m) => m,
                Err((pos, msg)) => {
                    diags.push(
                        Diagnostic::error("rule-error", msg)
                            .in_file(&src.path)
                            .at(pos)
                            .help("see rules/README.md for the METADATA format"),
                    );
                    continue;
                }
            };
            if ready.iter().any(|(_, m)| m.id == meta.id) {
                diags.push(
                    Diagnostic::error(
                        "rule-error",
                        format!("rule ID {} is defined twice", meta.id),
                    )
                    .in_file(&src.path)
                    .help("give the rule its own ID"),
                );
                continue;
            }
            if let Some(d) = too_deep(&src.path, &src.text) {
                diags.push(d);
                continue;
            }
            ready.push((src, meta));
        }
        let compiled: Vec<(Option<CompiledRule>, Vec<Diagnostic>)> = ready
            .into_par_iter()
            .map(|(src, meta)| compile_rule(&base, &src, meta, compilation))
            .collect();
        let mut rules: Vec<CompiledRule> = Vec::new();
        for (rule, more) in compiled {
            rules.extend(rule);
            diags.extend(more);
        }
        rules.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
        (Self { rules }, diags)
    }

    /// The rule with this ID.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&CompiledRule> {
        self.rules
            .iter()
            .find(|r| r.meta.id.eq_ignore_ascii_case(id))
    }
}

/// Compiles one rule on the shared libraries of `base`: its engine, its query, and its RVM
/// program when it runs compiled. Problems come back as diagnostics.
fn compile_rule(
    base: &regorus::Engine,
    src: &RuleSource,
    meta: RuleMeta,
    compilation: Compilation,
) -> (Option<CompiledRule>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut meta = meta;
    // The built-in rules are held to their declaration by their fixtures and the
    // differential test: none declared means none read.
    if src.builtin && meta.lookups.is_none() {
        meta.lookups = Some(Vec::new());
    }
    let mut engine = base.clone();
    let package = match engine.add_policy(src.path.clone(), src.text.clone()) {
        Ok(p) => p,
        Err(e) => {
            diags.push(rego_error(&src.path, &e.to_string()));
            return (None, diags);
        }
    };
    let expected = format!("data.blogaudit.{}", meta.id);
    if package != expected {
        diags.push(
            Diagnostic::error(
                "rule-error",
                format!(
                    "package is `{package}`, expected `package blogaudit.{}`",
                    meta.id
                ),
            )
            .in_file(&src.path)
            .help("the package names the rule: `package blogaudit.<ID>`"),
        );
        return (None, diags);
    }
    let query = format!("{expected}.violation");
    // Evaluate once on an empty input so that compile errors surface now, not per resource.
    engine.set_input(regorus::Value::new_object());
    if let Err(e) = engine.eval_rule(query.clone()) {
        diags.push(rego_error(&src.path, &e.to_string()));
        return (None, diags);
    }
    let wanted = if src.builtin {
        compilation.builtin
    } else {
        compilation.user
    };
    // A user rule with a form the RVM mis-evaluates stays in the interpreter, and the
    // warning says where and what to write instead.
    let risky = if wanted && !src.builtin {
        risky_forms(&src.text)
    } else {
        Vec::new()
    };
    if let Some((pos, what)) = risky.first() {
        diags.push(
                Diagnostic::warning(
                    "rule-error",
                    format!(
                        "{}: {what} ({} such place(s)) can be mis-evaluated by the compiled evaluator, so this rule runs in the interpreter",
                        meta.id,
                        risky.len()
                    ),
                )
                .in_file(&src.path)
                .at(*pos)
                .help("write `x = expr` in rule bodies, and move a loop that `else` follows into a rule of its own (rules/README.md)"),
            );
    }
    let program = if wanted && risky.is_empty() {
        match compile_program(&mut engine, &query) {
            Ok(p) => Some(p),
            Err(e) => {
                // The interpreter still runs it; say why it is not compiled.
                diags.push(
                    Diagnostic::warning(
                        "rule-error",
                        format!(
                            "{}: cannot compile for the RVM, it runs in the interpreter: {}",
                            meta.id,
                            e.trim()
                        ),
                    )
                    .in_file(&src.path),
                );
                None
            }
        }
    } else {
        None
    };
    let rule = CompiledRule {
        meta,
        engine,
        query,
        program,
    };
    (Some(rule), diags)
}

/// Where `text` uses a form that regorus's compiler mis-evaluates, and which.
/// The error for a file whose brackets nest too deep for the Rego parser.
fn too_deep(path: &str, text: &str) -> Option<Diagnostic> {
    let pos = super::lint::too_deep(text)?;
    Some(
        Diagnostic::error(
            "rule-error",
            format!(
                "brackets nest more than {} deep here; the Rego parser would take exponential time",
                super::lint::MAX_NESTING
            ),
        )
        .in_file(path)
        .at(pos)
        .help("close the brackets, or split the expression into helper rules or functions"),
    )
}

fn risky_forms(text: &str) -> Vec<(Pos, &'static str)> {
    let mut out: Vec<(Pos, &'static str)> = super::lint::body_assignments(text)
        .into_iter()
        .map(|p| (p, "`:=` in a rule body"))
        .chain(
            super::lint::loops_before_else(text)
                .into_iter()
                .map(|p| (p, "a loop in a body that `else` follows")),
        )
        .collect();
    out.sort_by_key(|(p, _)| (p.line, p.column));
    out
}

/// Compiles `query` (a rule's `violation`) of `engine`'s policies into an RVM program.
fn compile_program(engine: &mut regorus::Engine, query: &str) -> Result<Program, String> {
    let entry: std::sync::Arc<str> = query.into();
    let policy = engine
        .compile_with_entrypoint(&entry)
        .map_err(|e| e.to_string())?;
    let program =
        regorus::languages::rego::compiler::Compiler::compile_from_policy(&policy, &[query])
            .map_err(|e| e.to_string())?;
    Ok(Program { program, policy })
}

/// Turns a regorus error (which names `file:line:col`) into a diagnostic at that line.
fn rego_error(path: &str, message: &str) -> Diagnostic {
    let mut d = Diagnostic::error("rule-error", format!("Rego error: {}", message.trim()))
        .in_file(path)
        .help("fix the policy; `blogaudit rules` lists the rules that loaded");
    let needle = format!("{path}:");
    if let Some(rest) = message.find(&needle).map(|i| &message[i + needle.len()..]) {
        let mut parts = rest.split(|c: char| !c.is_ascii_digit());
        let line = parts.next().and_then(|l| l.parse().ok());
        let column = parts.next().and_then(|c| c.parse().ok()).unwrap_or(1);
        if let Some(line) = line {
            d = d.at(Pos { line, column });
        }
    }
    d
}

fn collect_builtin(dir: &Dir<'_>, libs: &mut Vec<(String, String)>, out: &mut Vec<RuleSource>) {
    for file in dir.files() {
        let path = file.path();
        if path.extension().and_then(|e| e.to_str()) != Some("rego") {
            continue;
        }
        let text = file.contents_utf8().unwrap_or_default().to_string();
        let shown = format!("rules/{}", path.display());
        if path.starts_with("lib") {
            libs.push((shown, text));
        } else if path.file_name().and_then(|n| n.to_str()) == Some("rule.rego") {
            let folder = path
                .parent()
                .map(|p| format!("rules/{}", p.display()))
                .unwrap_or_default();
            out.push(RuleSource {
                path: shown,
                folder,
                text,
                builtin: true,
            });
        }
    }
    for sub in dir.dirs() {
        collect_builtin(sub, libs, out);
    }
}

fn collect_dir(
    dir: &Path,
    libs: &mut Vec<(String, String)>,
    out: &mut Vec<RuleSource>,
    diags: &mut Vec<Diagnostic>,
) {
    if !dir.is_dir() {
        diags.push(
            Diagnostic::error("rule-error", "--rules directory does not exist")
                .in_file(dir.display().to_string())
                .help("pass a directory of rule folders"),
        );
        return;
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                diags.push(Diagnostic::error(
                    "rule-error",
                    format!("cannot read rules: {e}"),
                ));
                continue;
            }
        };
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("rego") {
            continue;
        }
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                diags.push(
                    Diagnostic::error("rule-error", format!("cannot read rule: {e}"))
                        .in_file(&shown),
                );
                continue;
            }
        };
        if path.file_name().and_then(|n| n.to_str()) == Some("rule.rego") {
            let folder = path
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            out.push(RuleSource {
                path: shown,
                folder,
                text,
                builtin: false,
            });
        } else {
            libs.push((shown, text));
        }
    }
}
