//! Evaluation of one root module: variables (defaults, tfvars, `--var-file`, `--var`), locals,
//! references between resources, `count`/`for_each`, dynamic blocks, functions and module calls.
//!
//! Evaluation is lazy and memoized: a local, a resource or a module output is evaluated the first
//! time something refers to it, and a reference back to something still being evaluated is a
//! cycle (a note, and an unknown value), never a stack overflow. Every resource instance of the
//! root and of its modules is then collected as an [`Instance`].
//!
//! | module | does |
//! |---|---|
//! | [`expr`] | expressions, function calls and traversals |
//! | [`expand`] | `count`/`for_each`: the instances of a resource or module call |
//! | [`resources`] | resource bodies, nested and dynamic blocks, data sources |
//! | [`calls`] | module calls: local, registry and remote sources, outputs |
//! | [`budget`] | the values, bytes and instances one root may build |
//!
//! This module holds the state of one evaluation, the variables and locals, and the final
//! collection of instances.

mod budget;
mod calls;
mod expand;
mod expr;
mod resources;

use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use hcl_edit::expr::TraversalOperator;
use hcl_edit::structure::Structure;
use hcl_edit::{Decorated, Span as _};

use self::calls::CallTarget;
use self::expand::Group;
use super::funcs::FuncError;
use super::hcl::{dir_key, ModuleDef, ParsedFile, VarFile};
use super::modules;
use super::value::{StackSpan, Value, ValueError, ValueKind};
use super::{CliVars, Defs, Instance, Stack};
use crate::model::{Diagnostic, SourceFile};
use crate::source::display;

/// Why an expression has no value. Evaluation keeps the message as the reason the value is
/// unknown (shown in `terraform-unknown` notes), and `try`/`can` catch it.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A built-in function refused its arguments.
    #[error(transparent)]
    Function(#[from] FuncError),
    /// A traversal (`.name`, `[key]`) found nothing to read.
    #[error(transparent)]
    Traversal(#[from] ValueError),
    /// An expression whose operands do not fit it; the message says what it needs.
    #[error("{0}")]
    Usage(&'static str),
    /// A variable or an output whose value depends on itself.
    #[error("{0} refers to itself")]
    SelfReference(String),
    /// A local, resource or module call whose value depends on itself.
    #[error("reference cycle through {0}")]
    Cycle(String),
    /// A reference to something the module does not declare.
    #[error("no {what} `{name}` is declared")]
    Undeclared { what: &'static str, name: String },
    /// A module output the module does not declare.
    #[error("module has no output `{0}`")]
    NoOutput(String),
    /// A name that is neither a reference nor bound here.
    #[error("unknown name `{0}`")]
    UnknownName(String),
    /// `count`, `each` or `self` outside the block that binds it.
    #[error("`{0}` is not available here")]
    NotAvailable(String),
    /// A template interpolation of a value that has no string form.
    #[error("cannot put a {0} in a string")]
    NotAString(&'static str),
    /// `for` or `dynamic` over a value that is not a collection.
    #[error("cannot iterate over a {0}")]
    NotIterable(&'static str),
    /// `file()` of a file that cannot be read.
    #[error("file({path}): {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    /// `templatefile()` of a file that is not a template.
    #[error("templatefile: {0}")]
    Template(#[source] hcl_edit::parser::Error),
    /// The root's evaluation budget ran out (noted once, as an error, where it did).
    #[error("the Terraform evaluation budget ran out")]
    Budget,
}

use EvalError::Usage;

type EvalResult = Result<Value, EvalError>;
type Op = Decorated<TraversalOperator>;

/// Deepest module nesting followed.
const MAX_MODULE_DEPTH: usize = 16;
/// Deepest expression nesting followed, references included.
const MAX_DEPTH: usize = 128;
/// Most instances one `count`/`for_each` expands to.
const MAX_INSTANCES: usize = 4096;
/// Resource arguments that are not attributes of the resource.
const META_ATTRS: &[&str] = &["count", "for_each", "provider", "depends_on"];
/// Module call arguments that are not inputs.
const MODULE_META: &[&str] = &[
    "source",
    "version",
    "count",
    "for_each",
    "providers",
    "depends_on",
];

/// A memo slot: being evaluated, or done.
enum Slot<T> {
    Busy,
    Done(T),
}

/// Looks `key` up in a memo; on a miss, marks it busy, builds its value and keeps it. A key
/// found busy is a reference back into something still being evaluated: `on_cycle` gives the
/// error for it.
fn memoized<K, Q, T, E>(
    memo: &RefCell<HashMap<K, Slot<T>>>,
    key: &Q,
    on_cycle: impl FnOnce() -> E,
    build: impl FnOnce() -> T,
) -> Result<T, E>
where
    K: Borrow<Q> + Eq + Hash,
    Q: ToOwned<Owned = K> + Eq + Hash + ?Sized,
    T: Clone,
{
    match memo.borrow().get(key) {
        Some(Slot::Done(v)) => return Ok(v.clone()),
        Some(Slot::Busy) => return Err(on_cycle()),
        None => {}
    }
    memo.borrow_mut().insert(key.to_owned(), Slot::Busy);
    let v = build();
    memo.borrow_mut()
        .insert(key.to_owned(), Slot::Done(v.clone()));
    Ok(v)
}

/// One instance of a module (the root, or one instance of a module call).
pub struct ModInst {
    def: Arc<ModuleDef>,
    /// Stack file id of each of `def.files`.
    file_ids: Vec<u32>,
    /// Address prefix of everything inside: `""`, `module.net.`, `module.net["a"].`.
    prefix: String,
    /// Module call blocks from the root down to this instance.
    chain: Vec<StackSpan>,
    /// Suppression comments above those calls.
    ignores: Vec<(String, StackSpan)>,
    inputs: RefCell<HashMap<String, Value>>,
    dirs: Vec<PathBuf>,
    is_root: bool,
    vars: RefCell<HashMap<String, Slot<Value>>>,
    locals: RefCell<HashMap<String, Slot<Value>>>,
    resources: RefCell<HashMap<usize, Slot<Rc<Group<Instance>>>>>,
    modules: RefCell<HashMap<usize, Slot<Rc<Group<CallTarget>>>>>,
    outputs: RefCell<HashMap<String, Slot<Value>>>,
    policies: RefCell<HashMap<String, Slot<Value>>>,
}

/// Local names bound while evaluating (`count`, `each`, for-expression and iterator names).
struct Scope<'s> {
    name: String,
    val: Value,
    parent: Option<&'s Scope<'s>>,
}

/// Where an expression is evaluated.
#[derive(Clone, Copy)]
struct Ctx<'s> {
    inst: &'s Rc<ModInst>,
    /// The file the expression is in (its stack id), for spans.
    file: Option<(u32, &'s ParsedFile)>,
    scope: Option<&'s Scope<'s>>,
}

impl<'s> Ctx<'s> {
    fn lookup(&self, name: &str) -> Option<&'s Value> {
        let mut s = self.scope;
        while let Some(sc) = s {
            if sc.name == name {
                return Some(&sc.val);
            }
            s = sc.parent;
        }
        None
    }

    fn src(&self, range: Option<Range<usize>>) -> Option<StackSpan> {
        let (id, f) = self.file?;
        Some(StackSpan {
            file: id,
            span: f.span(&range?),
        })
    }

    fn text(&self, e: &impl hcl_edit::Span) -> String {
        match (self.file, e.span()) {
            (Some((_, f)), Some(r)) => {
                let t = f.text(&r).trim();
                let t: String = t.chars().take(80).collect();
                t.split_whitespace().collect::<Vec<_>>().join(" ")
            }
            _ => "expression".to_string(),
        }
    }
}

/// A parsed file: its module and its index there.
type ParsedAt = (Arc<ModuleDef>, usize);

/// Evaluates one root module.
pub struct Evaluator<'a> {
    defs: &'a Defs,
    cli: &'a CliVars,
    base: &'a Path,
    files: RefCell<Vec<Arc<SourceFile>>>,
    ids_by_source: RefCell<HashMap<usize, u32>>,
    /// The parsed `.tf` file behind each stack file id.
    parsed: RefCell<Vec<Option<ParsedAt>>>,
    diags: RefCell<Vec<Diagnostic>>,
    noted: RefCell<HashSet<String>>,
    reasons: RefCell<HashMap<String, String>>,
    signals: RefCell<Vec<String>>,
    /// Module directories this root instantiated.
    used: RefCell<HashSet<PathBuf>>,
    /// Module directories read on demand (not known before evaluation).
    extra: RefCell<HashMap<PathBuf, Arc<ModuleDef>>>,
    /// Files read by `file()` and `templatefile()`.
    read: RefCell<Vec<PathBuf>>,
    /// Current expression nesting, references included (bounded, so a long chain of
    /// references cannot overflow the stack).
    depth: std::cell::Cell<usize>,
    /// What this root's expressions have built so far.
    budget: budget::Budget,
}

impl<'a> Evaluator<'a> {
    /// Evaluates the root module `root` and collects every resource instance.
    #[must_use]
    pub fn run(defs: &'a Defs, cli: &'a CliVars, base: &'a Path, root: &Arc<ModuleDef>) -> Stack {
        let ev = Evaluator {
            defs,
            cli,
            base,
            files: RefCell::default(),
            ids_by_source: RefCell::default(),
            parsed: RefCell::default(),
            diags: RefCell::default(),
            noted: RefCell::default(),
            reasons: RefCell::default(),
            signals: RefCell::default(),
            used: RefCell::default(),
            extra: RefCell::default(),
            read: RefCell::default(),
            depth: std::cell::Cell::new(0),
            budget: budget::Budget::default(),
        };
        let inst = ev.new_inst(
            root.clone(),
            String::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            true,
        );
        ev.root_inputs(&inst);
        let mut instances = Vec::new();
        ev.collect(&inst, &mut instances);
        drop(inst);
        let mut diags = ev.diags.into_inner();
        let mut extra_files = Vec::new();
        let mut extra: Vec<(PathBuf, Arc<ModuleDef>)> = ev.extra.into_inner().into_iter().collect();
        extra.sort_by(|a, b| a.0.cmp(&b.0));
        let mut used: Vec<PathBuf> = ev.used.into_inner().into_iter().collect();
        used.sort();
        let read_dirs = extra.iter().map(|(dir, _)| dir.clone()).collect();
        for (_, def) in extra {
            extra_files.extend(def.sources.iter().cloned());
            diags.extend(def.diags.iter().cloned());
        }
        Stack {
            name: match display(&root.dir, base) {
                s if s.is_empty() => ".".to_string(),
                s => s,
            },
            files: ev.files.into_inner(),
            instances,
            autoscaler: ev.signals.into_inner().into_iter().next(),
            reasons: ev.reasons.into_inner(),
            diags,
            used_dirs: used,
            extra_files,
            read_files: ev.read.into_inner(),
            read_dirs,
        }
    }

    /// Suppression comments directly above `src` (a span of a parsed `.tf` file).
    fn comments_at(&self, src: StackSpan) -> Vec<(String, StackSpan)> {
        let parsed = self.parsed.borrow();
        let Some(Some((def, i))) = parsed.get(src.file as usize) else {
            return Vec::new();
        };
        def.files[*i]
            .ignores_above_line(src.span.start.line)
            .into_iter()
            .map(|(e, span)| {
                (
                    e,
                    StackSpan {
                        file: src.file,
                        span,
                    },
                )
            })
            .collect()
    }

    fn file_id(&self, source: &Arc<SourceFile>) -> u32 {
        let key = Arc::as_ptr(source) as usize;
        if let Some(id) = self.ids_by_source.borrow().get(&key) {
            return *id;
        }
        let mut files = self.files.borrow_mut();
        let id = u32::try_from(files.len()).unwrap_or(u32::MAX);
        files.push(source.clone());
        self.ids_by_source.borrow_mut().insert(key, id);
        id
    }

    fn new_inst(
        &self,
        def: Arc<ModuleDef>,
        prefix: String,
        chain: Vec<StackSpan>,
        ignores: Vec<(String, StackSpan)>,
        dirs: Vec<PathBuf>,
        is_root: bool,
    ) -> Rc<ModInst> {
        let file_ids: Vec<u32> = def.files.iter().map(|f| self.file_id(&f.source)).collect();
        {
            let mut parsed = self.parsed.borrow_mut();
            for (i, id) in file_ids.iter().enumerate() {
                let id = *id as usize;
                if parsed.len() <= id {
                    parsed.resize(id + 1, None);
                }
                parsed[id] = Some((def.clone(), i));
            }
        }
        let mut dirs = dirs;
        dirs.push(dir_key(&def.dir));
        Rc::new(ModInst {
            def,
            file_ids,
            prefix,
            chain,
            ignores,
            inputs: RefCell::default(),
            dirs,
            is_root,
            vars: RefCell::default(),
            locals: RefCell::default(),
            resources: RefCell::default(),
            modules: RefCell::default(),
            outputs: RefCell::default(),
            policies: RefCell::default(),
        })
    }

    fn ctx<'s>(&self, inst: &'s Rc<ModInst>, file: u32) -> Ctx<'s> {
        Ctx {
            inst,
            file: inst
                .def
                .files
                .get(file as usize)
                .map(|f| (inst.file_ids[file as usize], f)),
            scope: None,
        }
    }

    fn note(&self, key: String, d: Diagnostic) {
        if self.noted.borrow_mut().insert(key) {
            self.diags.borrow_mut().push(d);
        }
    }

    fn diag_at(&self, c: Ctx, range: Option<Range<usize>>, d: Diagnostic) -> Diagnostic {
        match (c.file, range) {
            (Some((_, f)), Some(r)) => d.in_file(&f.source.path).at(f.pos(r.start)),
            (Some((_, f)), None) => d.in_file(&f.source.path),
            _ => d,
        }
    }

    /// Notes, once, a reference cycle through `what`, at the item where it starts.
    fn note_cycle(
        &self,
        what: &str,
        message: String,
        help: &str,
        f: &ParsedFile,
        span: Option<Range<usize>>,
    ) {
        let d = Diagnostic::note("terraform-unknown", message)
            .in_file(&f.source.path)
            .help(help);
        let d = match span {
            Some(r) => d.at(f.pos(r.start)),
            None => d,
        };
        self.note(format!("cycle:{what}"), d);
    }

    /// The unknown value `name` stands for when evaluating it failed; the failure is kept as
    /// the reason it is unknown.
    fn unknown_because(&self, name: String, err: &EvalError) -> Value {
        self.reasons
            .borrow_mut()
            .entry(name.clone())
            .or_insert_with(|| err.to_string());
        Value::unknown(name)
    }

    // ------------------------------------------------------------------ variables

    /// Values of the root's variables: tfvars files, then `--var-file`, then `--var`.
    fn root_inputs(&self, inst: &Rc<ModInst>) {
        let mut inputs = HashMap::new();
        for vf in inst.def.tfvars.iter().chain(self.cli.files.iter()) {
            match vf {
                VarFile::Hcl(f) => {
                    let c = Ctx {
                        inst,
                        file: Some((self.file_id(&f.source), f)),
                        scope: None,
                    };
                    for s in f.body.iter() {
                        if let Structure::Attribute(a) = s {
                            let v = self.eval(&a.value, c).unwrap_or_else(|e| {
                                self.diags.borrow_mut().push(self.diag_at(
                                    c,
                                    a.span(),
                                    Diagnostic::warning(
                                        "terraform-unknown",
                                        format!(
                                            "cannot read the value of `{}`: {e}",
                                            a.key.as_str()
                                        ),
                                    ),
                                ));
                                Value::unknown(format!("var.{}", a.key.as_str()))
                            });
                            inputs.insert(a.key.as_str().to_string(), v);
                        }
                    }
                }
                VarFile::Json(_, v) => {
                    if let Some(m) = v.as_object() {
                        for (k, v) in m {
                            inputs.insert(k.clone(), Value::from_json(v));
                        }
                    }
                }
            }
        }
        let c = Ctx {
            inst,
            file: None,
            scope: None,
        };
        for (k, raw) in &self.cli.vars {
            let v = hcl_edit::parser::parse_expr(raw)
                .ok()
                .and_then(|e| self.eval(&e, c).ok())
                .filter(|v| v.first_opaque().is_none())
                .unwrap_or_else(|| Value::str(raw.clone()));
            inputs.insert(k.clone(), v);
        }
        *inst.inputs.borrow_mut() = inputs;
    }

    fn var(&self, inst: &Rc<ModInst>, name: &str) -> EvalResult {
        let Some(at) = inst.def.variables.get(name).copied() else {
            return Err(EvalError::Undeclared {
                what: "variable",
                name: name.to_string(),
            });
        };
        let self_reference = || EvalError::SelfReference(format!("var.{name}"));
        memoized(&inst.vars, name, self_reference, || {
            let given = inst.inputs.borrow().get(name).cloned();
            let decl = inst.def.block(at);
            let v = match given {
                Some(v) => v,
                None => match decl.and_then(|(_, b)| b.body.get_attribute("default")) {
                    Some(d) => {
                        let c = self.ctx(inst, at.file);
                        self.eval(&d.value, c)
                            .unwrap_or_else(|_| Value::unknown(format!("var.{name}")))
                    }
                    None if inst.is_root => Value::unknown(format!("var.{name}")),
                    None => Value::unknown(format!("{}var.{name}", inst.prefix)),
                },
            };
            match decl
                .and_then(|(_, b)| b.body.get_attribute("type"))
                .and_then(|t| t.value.as_variable().map(|i| i.as_str().to_string()))
            {
                Some(t) => convert(v, &t),
                None => v,
            }
        })
    }

    fn local(&self, inst: &Rc<ModInst>, name: &str) -> EvalResult {
        let Some(at) = inst.def.locals.get(name).copied() else {
            return Err(EvalError::Undeclared {
                what: "local value",
                name: name.to_string(),
            });
        };
        let cycle = || {
            if let Some((f, a)) = inst.def.local(at) {
                self.note_cycle(
                    &format!("{}local.{name}", inst.prefix),
                    format!(
                        "reference cycle: local.{name} depends on itself; its value is unknown"
                    ),
                    "break the cycle between these locals",
                    f,
                    a.span(),
                );
            }
            EvalError::Cycle(format!("local.{name}"))
        };
        memoized(&inst.locals, name, cycle, || match inst.def.local(at) {
            Some((_, a)) => {
                let c = self.ctx(inst, at.file);
                self.eval(&a.value, c).unwrap_or_else(|e| {
                    self.unknown_because(format!("{}local.{name}", inst.prefix), &e)
                })
            }
            None => Value::unknown(format!("local.{name}")),
        })
    }

    // ------------------------------------------------------------------ collection

    fn collect(&self, inst: &Rc<ModInst>, out: &mut Vec<Instance>) {
        // Evaluate everything first (module inputs may refer to resources), then move the
        // instances out.
        for idx in 0..inst.def.modules.len() {
            let _ = self.module_group(inst, idx);
        }
        for idx in 0..inst.def.resources.len() {
            let _ = self.resource_group(inst, idx);
        }
        let mut groups: Vec<(usize, Rc<Group<Instance>>)> = inst
            .resources
            .borrow_mut()
            .drain()
            .filter_map(|(i, s)| match s {
                Slot::Done(g) => Some((i, g)),
                Slot::Busy => None,
            })
            .collect();
        groups.sort_by_key(|(i, _)| *i);
        for (_, g) in groups {
            match Rc::try_unwrap(g) {
                Ok(g) => out.extend(g.items),
                Err(g) => out.extend(g.items.iter().cloned()),
            }
        }
        for idx in 0..inst.def.modules.len() {
            let Ok(g) = self.module_group(inst, idx) else {
                continue;
            };
            for t in &g.items {
                match t {
                    CallTarget::Local(child) => self.collect(child, out),
                    CallTarget::Registry(r) => {
                        let comments = |src: StackSpan| self.comments_at(src);
                        let files = self.files.borrow().clone();
                        let (items, diags) = modules::instances(r, &files, &comments);
                        out.extend(items);
                        self.diags.borrow_mut().extend(diags);
                    }
                    CallTarget::Remote | CallTarget::Missing => {}
                }
            }
        }
    }
}

/// Converts a variable's value to its declared primitive type, as Terraform does.
fn convert(v: Value, ty: &str) -> Value {
    let at = v.at;
    let conv = match ty {
        "bool" => v.to_bool().map(ValueKind::Bool),
        "number" => v.to_number().map(ValueKind::Num),
        "string" => match v.kind {
            ValueKind::Str(_) | ValueKind::Json(_) => None,
            _ => v.to_plain_string().map(ValueKind::Str),
        },
        _ => None,
    };
    match conv {
        Some(c) if v.opaque().is_none() && !v.is_null() => Value::at(c, at),
        _ => v,
    }
}
