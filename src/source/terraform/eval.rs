//! Evaluation of one root module: variables (defaults, tfvars, `--var-file`, `--var`), locals,
//! references between resources, `count`/`for_each`, dynamic blocks, functions and module calls.
//!
//! Evaluation is lazy and memoized: a local, a resource or a module output is evaluated the first
//! time something refers to it, and a reference back to something still being evaluated is a
//! cycle (a note, and an unknown value), never a stack overflow. Every resource instance of the
//! root and of its modules is then collected as an [`Instance`].

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use hcl_edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator, UnaryOperator};
use hcl_edit::structure::{Block, Body, Structure};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::{Decorated, Span as _};

use super::funcs::{self, FuncError};
use super::hcl::{clean_path, dir_key, literal_str, ModuleDef, ParsedFile, VarFile};
use super::modules::{self, ModuleSource, RegInst};
use super::value::{quote, ResourceBody, StackSpan, Value, ValueError, ValueKind};
use super::{CliVars, Defs, Instance, Stack};
use crate::model::{Diagnostic, PathSeg, SourceFile};
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

/// How a resource or module call expands.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expand {
    Single,
    Count,
    ForEach(Vec<String>),
    /// `count`/`for_each` cannot be known: one representative instance.
    Unknown,
}

struct Group {
    expand: Expand,
    base: String,
    items: Vec<Instance>,
}

enum Target {
    Local(Rc<ModInst>),
    Registry(Rc<RegInst>),
    Remote,
    Missing,
}

struct ModGroup {
    expand: Expand,
    base: String,
    items: Vec<Target>,
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
    resources: RefCell<HashMap<usize, Slot<Rc<Group>>>>,
    modules: RefCell<HashMap<usize, Slot<Rc<ModGroup>>>>,
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

/// One expanded instance: its address suffix and the name it binds (`count`, `each`).
type Expansion = (String, Option<(&'static str, Value)>);

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
    /// Current expression nesting, references included (bounded, so a long chain of
    /// references cannot overflow the stack).
    depth: std::cell::Cell<usize>,
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
            depth: std::cell::Cell::new(0),
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
        for (_, def) in extra {
            extra_files.extend(def.sources.iter().cloned());
            diags.extend(def.diags.iter().cloned());
        }
        let mut used: Vec<PathBuf> = ev.used.into_inner().into_iter().collect();
        used.sort();
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
        match inst.vars.borrow().get(name) {
            Some(Slot::Done(v)) => return Ok(v.clone()),
            Some(Slot::Busy) => return Err(EvalError::SelfReference(format!("var.{name}"))),
            None => {}
        }
        let Some(at) = inst.def.variables.get(name).copied() else {
            return Err(EvalError::Undeclared {
                what: "variable",
                name: name.to_string(),
            });
        };
        inst.vars.borrow_mut().insert(name.to_string(), Slot::Busy);
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
        let v = match decl
            .and_then(|(_, b)| b.body.get_attribute("type"))
            .and_then(|t| t.value.as_variable().map(|i| i.as_str().to_string()))
        {
            Some(t) => convert(v, &t),
            None => v,
        };
        inst.vars
            .borrow_mut()
            .insert(name.to_string(), Slot::Done(v.clone()));
        Ok(v)
    }

    fn local(&self, inst: &Rc<ModInst>, name: &str) -> EvalResult {
        match inst.locals.borrow().get(name) {
            Some(Slot::Done(v)) => return Ok(v.clone()),
            Some(Slot::Busy) => {
                if let Some((f, a)) = inst.def.locals.get(name).and_then(|at| inst.def.local(*at)) {
                    let d = Diagnostic::note(
                        "terraform-unknown",
                        format!(
                            "reference cycle: local.{name} depends on itself; its value is unknown"
                        ),
                    )
                    .in_file(&f.source.path)
                    .help("break the cycle between these locals");
                    let d = match a.span() {
                        Some(r) => d.at(f.pos(r.start)),
                        None => d,
                    };
                    self.note(format!("cycle:{}local.{name}", inst.prefix), d);
                }
                return Err(EvalError::Cycle(format!("local.{name}")));
            }
            None => {}
        }
        let Some(at) = inst.def.locals.get(name).copied() else {
            return Err(EvalError::Undeclared {
                what: "local value",
                name: name.to_string(),
            });
        };
        inst.locals
            .borrow_mut()
            .insert(name.to_string(), Slot::Busy);
        let v = match inst.def.local(at) {
            Some((_, a)) => {
                let c = self.ctx(inst, at.file);
                self.eval(&a.value, c).unwrap_or_else(|e| {
                    let n = format!("{}local.{name}", inst.prefix);
                    self.reasons
                        .borrow_mut()
                        .entry(n.clone())
                        .or_insert_with(|| e.to_string());
                    Value::unknown(n)
                })
            }
            None => Value::unknown(format!("local.{name}")),
        };
        inst.locals
            .borrow_mut()
            .insert(name.to_string(), Slot::Done(v.clone()));
        Ok(v)
    }

    // ------------------------------------------------------------------ expressions

    fn eval(&self, e: &Expression, c: Ctx) -> EvalResult {
        let depth = self.depth.get();
        if depth >= MAX_DEPTH {
            return Err(Usage("references nest too deeply"));
        }
        self.depth.set(depth + 1);
        let r = self.eval_inner(e, c);
        self.depth.set(depth);
        r
    }

    fn eval_inner(&self, e: &Expression, c: Ctx) -> EvalResult {
        // Each kind of expression is its own function, so the frame on a chain of references
        // stays small.
        let at = || c.src(e.span());
        match e {
            Expression::Null(_) => Ok(Value::at(ValueKind::Null, at())),
            Expression::Bool(b) => Ok(Value::at(ValueKind::Bool(*b.value()), at())),
            Expression::Number(n) => Ok(Value::at(
                ValueKind::Num(n.value().as_f64().unwrap_or(0.0)),
                at(),
            )),
            Expression::String(s) => Ok(Value::at(ValueKind::Str(s.value().clone()), at())),
            Expression::Array(a) => self.array(a, c, at()),
            Expression::Object(o) => self.object(o, c, at()),
            Expression::StringTemplate(t) => self.template(t, c, at()),
            Expression::HeredocTemplate(h) => self.template(&h.template, c, at()),
            Expression::Parenthesis(p) => self.eval(p.inner(), c),
            Expression::Variable(v) => c
                .lookup(v.as_str())
                .cloned()
                .ok_or_else(|| EvalError::UnknownName(v.as_str().to_string())),
            Expression::Conditional(cd) => self.conditional(cd, c, at()),
            Expression::FuncCall(f) => self.call(f, c, at()),
            Expression::Traversal(t) => self.traversal(&t.expr, &t.operators, c),
            Expression::UnaryOp(u) => self.unary(u, c, at()),
            Expression::BinaryOp(b) => self.binary(b, c, at()),
            Expression::ForExpr(f) => self.for_expr(f, c, at()),
        }
    }

    #[inline(never)]
    fn array(&self, a: &hcl_edit::expr::Array, c: Ctx, at: Option<StackSpan>) -> EvalResult {
        let mut items = Vec::with_capacity(a.len());
        for x in a.iter() {
            let mut v = self.eval(x, c)?;
            if let Some(s) = c.src(x.span()) {
                v.at = Some(s);
            }
            items.push(v);
        }
        Ok(Value::at(ValueKind::List(items), at))
    }

    #[inline(never)]
    fn object(&self, o: &hcl_edit::expr::Object, c: Ctx, at: Option<StackSpan>) -> EvalResult {
        let mut m = BTreeMap::new();
        for (k, v) in o.iter() {
            let key = match k {
                ObjectKey::Ident(i) => i.as_str().to_string(),
                ObjectKey::Expression(ke) => {
                    let kv = match ke {
                        // `{ (name) = … }` and bare names are keys, not references.
                        Expression::Variable(i) if c.lookup(i.as_str()).is_none() => {
                            Value::str(i.as_str())
                        }
                        _ => self.eval(ke, c)?,
                    };
                    if let Some(o) = kv.opaque() {
                        return Ok(Value::at(ValueKind::Unknown(o.to_string()), at));
                    }
                    kv.to_plain_string()
                        .ok_or(Usage("object keys must be strings"))?
                }
            };
            let mut val = self.eval(v.expr(), c)?;
            if let (Some(ks), Some(vs)) = (k.span(), v.expr().span()) {
                val.at = c.src(Some(ks.start..vs.end));
            }
            m.insert(key, val);
        }
        Ok(Value::at(ValueKind::Map(m), at))
    }

    #[inline(never)]
    fn conditional(
        &self,
        cd: &hcl_edit::expr::Conditional,
        c: Ctx,
        at: Option<StackSpan>,
    ) -> EvalResult {
        let cond = self.eval(&cd.cond_expr, c)?;
        if let Some(o) = cond.opaque() {
            return Ok(Value::at(ValueKind::Unknown(o.to_string()), at));
        }
        match cond.to_bool() {
            Some(true) => self.eval(&cd.true_expr, c),
            Some(false) => self.eval(&cd.false_expr, c),
            None => Err(Usage("a condition must be a bool")),
        }
    }

    #[inline(never)]
    fn unary(&self, u: &hcl_edit::expr::UnaryOp, c: Ctx, at: Option<StackSpan>) -> EvalResult {
        let v = self.eval(&u.expr, c)?;
        if let Some(o) = v.opaque() {
            return Ok(Value::at(ValueKind::Unknown(o.to_string()), at));
        }
        Ok(match u.operator.value() {
            UnaryOperator::Neg => Value::at(
                ValueKind::Num(-v.to_number().ok_or(Usage("`-` needs a number"))?),
                at,
            ),
            UnaryOperator::Not => Value::at(
                ValueKind::Bool(!v.to_bool().ok_or(Usage("`!` needs a bool"))?),
                at,
            ),
        })
    }

    #[inline(never)]
    fn binary(&self, b: &hcl_edit::expr::BinaryOp, c: Ctx, at: Option<StackSpan>) -> EvalResult {
        let op = *b.operator.value();
        let l = self.eval(&b.lhs_expr, c)?;
        // `&&` and `||` decide on a known left side alone.
        match (op, l.to_bool()) {
            (BinaryOperator::And, Some(false)) => return Ok(Value::at(ValueKind::Bool(false), at)),
            (BinaryOperator::Or, Some(true)) => return Ok(Value::at(ValueKind::Bool(true), at)),
            _ => {}
        }
        let r = self.eval(&b.rhs_expr, c)?;
        let v = match op {
            BinaryOperator::Eq | BinaryOperator::NotEq => match l.equals(&r) {
                Some(eq) => ValueKind::Bool(eq == (op == BinaryOperator::Eq)),
                None => ValueKind::Unknown(
                    l.first_opaque()
                        .or(r.first_opaque())
                        .unwrap_or("?")
                        .to_string(),
                ),
            },
            _ => {
                if let Some(o) = l.opaque().or(r.opaque()) {
                    return Ok(Value::at(ValueKind::Unknown(o.to_string()), at));
                }
                match op {
                    BinaryOperator::And | BinaryOperator::Or => {
                        let (x, y) = (
                            l.to_bool().ok_or(Usage("`&&`/`||` need bools"))?,
                            r.to_bool().ok_or(Usage("`&&`/`||` need bools"))?,
                        );
                        ValueKind::Bool(if op == BinaryOperator::And {
                            x && y
                        } else {
                            x || y
                        })
                    }
                    _ => {
                        let x = l.to_number().ok_or(Usage("arithmetic needs numbers"))?;
                        let y = r.to_number().ok_or(Usage("arithmetic needs numbers"))?;
                        match op {
                            BinaryOperator::Plus => ValueKind::Num(x + y),
                            BinaryOperator::Minus => ValueKind::Num(x - y),
                            BinaryOperator::Mul => ValueKind::Num(x * y),
                            BinaryOperator::Div => {
                                if y == 0.0 {
                                    return Err(Usage("division by zero"));
                                }
                                ValueKind::Num(x / y)
                            }
                            BinaryOperator::Mod => {
                                if y == 0.0 {
                                    return Err(Usage("modulo by zero"));
                                }
                                ValueKind::Num(x % y)
                            }
                            BinaryOperator::Less => ValueKind::Bool(x < y),
                            BinaryOperator::LessEq => ValueKind::Bool(x <= y),
                            BinaryOperator::Greater => ValueKind::Bool(x > y),
                            BinaryOperator::GreaterEq => ValueKind::Bool(x >= y),
                            _ => return Err(Usage("unsupported operator")),
                        }
                    }
                }
            }
        };
        Ok(Value::at(v, at))
    }

    #[inline(never)]
    fn for_expr(&self, f: &hcl_edit::expr::ForExpr, c: Ctx, at: Option<StackSpan>) -> EvalResult {
        let coll = self.eval(&f.intro.collection_expr, c)?;
        if let Some(o) = coll.opaque() {
            return Ok(Value::at(ValueKind::Unknown(o.to_string()), at));
        }
        let pairs = iterate(&coll)?;
        let key_var = f.intro.key_var.as_ref().map(|k| k.as_str().to_string());
        let value_var = f.intro.value_var.as_str().to_string();
        let mut list = Vec::new();
        let mut map: BTreeMap<String, Value> = BTreeMap::new();
        for (k, v) in pairs {
            let ks = Scope {
                name: key_var.clone().unwrap_or_default(),
                val: k,
                parent: c.scope,
            };
            let vs = Scope {
                name: value_var.clone(),
                val: v,
                parent: Some(&ks),
            };
            let c2 = Ctx {
                scope: Some(&vs),
                ..c
            };
            if let Some(cond) = &f.cond {
                let keep = self.eval(&cond.expr, c2)?;
                if let Some(o) = keep.opaque() {
                    return Ok(Value::at(ValueKind::Unknown(o.to_string()), at));
                }
                if !keep
                    .to_bool()
                    .ok_or(Usage("a for condition must be a bool"))?
                {
                    continue;
                }
            }
            let value = self.eval(&f.value_expr, c2)?;
            match &f.key_expr {
                Some(ke) => {
                    let key = self.eval(ke, c2)?;
                    if let Some(o) = key.opaque() {
                        return Ok(Value::at(ValueKind::Unknown(o.to_string()), at));
                    }
                    let key = key
                        .to_plain_string()
                        .ok_or(Usage("for keys must be strings"))?;
                    if f.grouping {
                        let entry = map.entry(key).or_insert_with(|| Value::list(Vec::new()));
                        if let ValueKind::List(l) = &mut entry.kind {
                            l.push(value);
                        }
                    } else {
                        map.insert(key, value);
                    }
                }
                None => list.push(value),
            }
        }
        Ok(Value::at(
            if f.key_expr.is_some() {
                ValueKind::Map(map)
            } else {
                ValueKind::List(list)
            },
            at,
        ))
    }

    #[inline(never)]
    fn template(&self, t: &Template, c: Ctx, at: Option<StackSpan>) -> EvalResult {
        let elements: Vec<&Element> = t.iter().collect();
        if let [Element::Interpolation(i)] = elements.as_slice() {
            // "${x}" is x itself, whatever its type.
            return self.eval(&i.expr, c);
        }
        let mut out = String::new();
        if let Some(o) = self.render(&elements, c, &mut out)? {
            return Ok(Value::at(ValueKind::Unknown(o), at));
        }
        Ok(Value::at(ValueKind::Str(out), at))
    }

    /// Renders template elements; `Some(name)` when an unknown part stops it.
    fn render(
        &self,
        elements: &[&Element],
        c: Ctx,
        out: &mut String,
    ) -> Result<Option<String>, EvalError> {
        for el in elements {
            match el {
                Element::Literal(l) => out.push_str(l.value()),
                Element::Interpolation(i) => {
                    let v = self.eval(&i.expr, c)?;
                    if let Some(o) = v.opaque() {
                        return Ok(Some(o.to_string()));
                    }
                    out.push_str(
                        &v.to_plain_string()
                            .ok_or_else(|| EvalError::NotAString(v.type_name()))?,
                    );
                }
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(i) => {
                        let cond = self.eval(&i.if_expr.cond_expr, c)?;
                        if let Some(o) = cond.opaque() {
                            return Ok(Some(o.to_string()));
                        }
                        let branch = if cond.to_bool().ok_or(Usage("if needs a bool"))? {
                            Some(&i.if_expr.template)
                        } else {
                            i.else_expr.as_ref().map(|e| &e.template)
                        };
                        if let Some(t) = branch {
                            let els: Vec<&Element> = t.iter().collect();
                            if let Some(o) = self.render(&els, c, out)? {
                                return Ok(Some(o));
                            }
                        }
                    }
                    Directive::For(f) => {
                        let fe = &f.for_expr;
                        let coll = self.eval(&fe.collection_expr, c)?;
                        if let Some(o) = coll.opaque() {
                            return Ok(Some(o.to_string()));
                        }
                        let els: Vec<&Element> = fe.template.iter().collect();
                        for (k, v) in iterate(&coll)? {
                            let ks = Scope {
                                name: fe
                                    .key_var
                                    .as_ref()
                                    .map(|k| k.as_str().to_string())
                                    .unwrap_or_default(),
                                val: k,
                                parent: c.scope,
                            };
                            let vs = Scope {
                                name: fe.value_var.as_str().to_string(),
                                val: v,
                                parent: Some(&ks),
                            };
                            let c2 = Ctx {
                                scope: Some(&vs),
                                ..c
                            };
                            if let Some(o) = self.render(&els, c2, out)? {
                                return Ok(Some(o));
                            }
                        }
                    }
                },
            }
        }
        Ok(None)
    }

    #[inline(never)]
    fn call(&self, f: &hcl_edit::expr::FuncCall, c: Ctx, at: Option<StackSpan>) -> EvalResult {
        let name = f.name.name.as_str();
        if f.name.is_namespaced() {
            return Ok(Value::at(ValueKind::Unknown(format!("{name}()")), at));
        }
        let exprs: Vec<&Expression> = f.args.iter().collect();
        match name {
            "try" => {
                let mut last = Usage("try: no argument");
                for e in &exprs {
                    match self.eval(e, c) {
                        Ok(v) => return Ok(v),
                        Err(err) => last = err,
                    }
                }
                return Err(last);
            }
            "can" => {
                let ok = exprs.first().is_some_and(|e| self.eval(e, c).is_ok());
                return Ok(Value::at(ValueKind::Bool(ok), at));
            }
            _ => {}
        }
        let mut args = Vec::with_capacity(exprs.len());
        for e in &exprs {
            args.push(self.eval(e, c)?);
        }
        if f.args.expand_final() {
            if let Some(last) = args.pop() {
                match last.kind {
                    ValueKind::List(items) => args.extend(items),
                    ValueKind::Ref(r) | ValueKind::Unknown(r) => {
                        return Ok(Value::at(ValueKind::Unknown(r), at))
                    }
                    _ => return Err(Usage("`...` needs a list")),
                }
            }
        }
        match name {
            "file" => self.read_file(&args, c, at),
            "templatefile" => self.templatefile(&args, c, at),
            _ => Ok(funcs::call(name, args, at)?),
        }
    }

    fn module_path(&self, c: Ctx, rel: &str) -> PathBuf {
        let p = Path::new(rel);
        if p.is_absolute() || p.exists() {
            p.to_path_buf()
        } else {
            c.inst.def.dir.join(p)
        }
    }

    fn read_file(&self, args: &[Value], c: Ctx, at: Option<StackSpan>) -> EvalResult {
        let Some(path) = args.first() else {
            return Err(Usage("file needs a path"));
        };
        if let Some(o) = path.opaque() {
            return Ok(Value::at(ValueKind::Unknown(o.to_string()), at));
        }
        let rel = path.to_plain_string().ok_or(Usage("file needs a path"))?;
        let p = self.module_path(c, &rel);
        match std::fs::metadata(&p) {
            Ok(m) if m.len() <= 1024 * 1024 => std::fs::read_to_string(&p)
                .map(|s| Value::at(ValueKind::Str(s), at))
                .map_err(|source| EvalError::File { path: rel, source }),
            _ => Ok(Value::at(
                ValueKind::Unknown(format!("file(\"{rel}\")")),
                at,
            )),
        }
    }

    fn templatefile(&self, args: &[Value], c: Ctx, at: Option<StackSpan>) -> EvalResult {
        let text = self.read_file(args, c, at)?;
        let Some(text) = text.as_str() else {
            return Ok(text);
        };
        let vars = args
            .get(1)
            .cloned()
            .unwrap_or_else(|| Value::map(BTreeMap::new()));
        if let Some(o) = vars.opaque() {
            return Ok(Value::at(ValueKind::Unknown(o.to_string()), at));
        }
        let tpl = hcl_edit::parser::parse_template(text).map_err(EvalError::Template)?;
        let entries: Vec<(String, Value)> = vars
            .entries()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        // Bind every template variable as a local name, innermost last.
        fn with_scope<'s>(
            ev: &Evaluator,
            entries: &'s [(String, Value)],
            parent: Option<&'s Scope<'s>>,
            c: Ctx<'s>,
            tpl: &Template,
            at: Option<StackSpan>,
        ) -> EvalResult {
            match entries.split_first() {
                None => ev.template(
                    tpl,
                    Ctx {
                        scope: parent,
                        file: None,
                        ..c
                    },
                    at,
                ),
                Some(((k, v), rest)) => {
                    let s = Scope {
                        name: k.clone(),
                        val: v.clone(),
                        parent,
                    };
                    with_scope(ev, rest, Some(&s), c, tpl, at)
                }
            }
        }
        with_scope(self, &entries, None, c, &tpl, at)
    }

    // ------------------------------------------------------------------ references

    fn traversal(&self, root: &Expression, ops: &[Op], c: Ctx) -> EvalResult {
        let Expression::Variable(var) = root else {
            let v = self.eval(root, c)?;
            return self.apply_ops(v, ops, c);
        };
        let name = var.as_str();
        if let Some(v) = c.lookup(name) {
            return self.apply_ops(v.clone(), ops, c);
        }
        let attr = |i: usize| match ops.get(i).map(Decorated::value) {
            Some(TraversalOperator::GetAttr(a)) => Some(a.as_str()),
            _ => None,
        };
        match name {
            "var" => {
                let n = attr(0).ok_or(Usage("`var` needs a name"))?;
                let v = self.var(c.inst, n)?;
                self.apply_ops(v, &ops[1..], c)
            }
            "local" => {
                let n = attr(0).ok_or(Usage("`local` needs a name"))?;
                let v = self.local(c.inst, n)?;
                self.apply_ops(v, &ops[1..], c)
            }
            "module" => {
                let n = attr(0).ok_or(Usage("`module` needs a name"))?;
                self.module_ref(c, n, &ops[1..])
            }
            "data" => {
                let (t, n) = (
                    attr(0).ok_or(Usage("`data` needs a type"))?,
                    attr(1).ok_or(Usage("`data` needs a name"))?,
                );
                let v = self.data_ref(c, t, n)?;
                self.apply_ops(v, &ops[2..], c)
            }
            "path" => {
                let which = attr(0).unwrap_or("module");
                let dir = match which {
                    "cwd" => ".".to_string(),
                    "root" => self.root_dir(c),
                    _ => c.inst.def.dir.to_string_lossy().into_owned(),
                };
                self.apply_ops(Value::str(dir), &ops[1..], c)
            }
            "terraform" => self.apply_ops(Value::str("default"), &ops[1..], c),
            "count" | "each" | "self" => Err(EvalError::NotAvailable(name.to_string())),
            _ => {
                let n = attr(0).ok_or_else(|| EvalError::UnknownName(name.to_string()))?;
                let v = self.resource_ref(c.inst, name, n)?;
                self.apply_ops(v, &ops[1..], c)
            }
        }
    }

    fn root_dir(&self, c: Ctx) -> String {
        c.inst
            .dirs
            .first()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn apply_ops(&self, mut v: Value, ops: &[Op], c: Ctx) -> EvalResult {
        let mut i = 0;
        while i < ops.len() {
            match ops[i].value() {
                TraversalOperator::GetAttr(a) => v = v.get_attr(a.as_str())?,
                TraversalOperator::Index(e) => {
                    let k = self.eval(e, c)?;
                    v = v.index(&k)?;
                }
                TraversalOperator::LegacyIndex(n) => {
                    #[allow(clippy::cast_precision_loss)]
                    let k = Value::num(*n.value() as f64);
                    v = v.index(&k)?;
                }
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    let full = matches!(ops[i].value(), TraversalOperator::FullSplat(_));
                    let mut j = i + 1;
                    while j < ops.len()
                        && (full || matches!(ops[j].value(), TraversalOperator::GetAttr(_)))
                    {
                        j += 1;
                    }
                    let sub = &ops[i + 1..j];
                    let at = v.at;
                    v = match v.kind {
                        ValueKind::List(items) => {
                            let mut out = Vec::with_capacity(items.len());
                            for it in items {
                                out.push(self.apply_ops(it, sub, c)?);
                            }
                            Value::at(ValueKind::List(out), at)
                        }
                        ValueKind::Null => Value::at(ValueKind::List(Vec::new()), at),
                        ValueKind::Ref(r) => {
                            self.apply_ops(Value::reference(format!("{r}[*]")), sub, c)?
                        }
                        ValueKind::Unknown(u) => Value::at(ValueKind::Unknown(u), at),
                        other => Value::at(
                            ValueKind::List(vec![self.apply_ops(Value::at(other, at), sub, c)?]),
                            at,
                        ),
                    };
                    i = j;
                    continue;
                }
            }
            i += 1;
        }
        Ok(v)
    }

    // ------------------------------------------------------------------ resources

    fn resource_ref(&self, inst: &Rc<ModInst>, ty: &str, name: &str) -> EvalResult {
        let Some(idx) = inst
            .def
            .resource_idx
            .get(&(ty.to_string(), name.to_string()))
            .copied()
        else {
            return Err(EvalError::Undeclared {
                what: "resource",
                name: format!("{ty}.{name}"),
            });
        };
        let g = self.resource_group(inst, idx)?;
        Ok(match &g.expand {
            Expand::Single => g.items.first().map_or_else(Value::null, |i| i.body.clone()),
            Expand::Count => Value::list(g.items.iter().map(|i| i.body.clone()).collect()),
            Expand::ForEach(keys) => Value::map(
                keys.iter()
                    .cloned()
                    .zip(g.items.iter().map(|i| i.body.clone()))
                    .collect(),
            ),
            Expand::Unknown => Value::reference(g.base.clone()),
        })
    }

    fn resource_group(&self, inst: &Rc<ModInst>, idx: usize) -> Result<Rc<Group>, EvalError> {
        let at = inst.def.resources[idx];
        let (f, b) = inst.def.block(at).ok_or(Usage("missing resource block"))?;
        let ty = b
            .labels
            .first()
            .map(|l| l.as_str().to_string())
            .unwrap_or_default();
        let name = b
            .labels
            .get(1)
            .map(|l| l.as_str().to_string())
            .unwrap_or_default();
        let base = format!("{}{ty}.{name}", inst.prefix);
        match inst.resources.borrow().get(&idx) {
            Some(Slot::Done(g)) => return Ok(g.clone()),
            Some(Slot::Busy) => {
                let d = Diagnostic::note(
                    "terraform-unknown",
                    format!("reference cycle: {base} depends on itself; the values involved are unknown"),
                )
                .in_file(&f.source.path)
                .help("break the cycle between these resources");
                let d = match b.span() {
                    Some(r) => d.at(f.pos(r.start)),
                    None => d,
                };
                self.note(format!("cycle:{base}"), d);
                return Err(EvalError::Cycle(base));
            }
            None => {}
        }
        inst.resources.borrow_mut().insert(idx, Slot::Busy);
        let c = self.ctx(inst, at.file);
        let block_src = c.src(b.span()).unwrap_or(StackSpan {
            file: c.file.map_or(0, |f| f.0),
            span: crate::model::Span::default(),
        });
        let mut ignores = inst.ignores.clone();
        if let Some(r) = b.span() {
            ignores.extend(f.ignores_above(r.start).into_iter().map(|(e, span)| {
                (
                    e,
                    StackSpan {
                        file: block_src.file,
                        span,
                    },
                )
            }));
        }
        let (expand, items) = self.expansion(c, &b.body, &base);
        let mut out = Vec::with_capacity(items.len());
        for (suffix, binding) in items {
            let scope = binding.map(|(n, v)| Scope {
                name: n.to_string(),
                val: v,
                parent: None,
            });
            let c2 = Ctx {
                scope: scope.as_ref(),
                ..c
            };
            let addr = format!("{base}{suffix}");
            let mut spans = Vec::new();
            let attrs = self.eval_body(c2, &b.body, &addr, &mut Vec::new(), &mut spans, true);
            out.push(Instance {
                typ: ty.clone(),
                body: Value::at(
                    ValueKind::Resource(Arc::new(ResourceBody {
                        addr: addr.clone(),
                        attrs,
                    })),
                    Some(block_src),
                ),
                addr,
                spans,
                block: block_src,
                chain: inst.chain.clone(),
                ignores: ignores.clone(),
            });
        }
        let g = Rc::new(Group {
            expand,
            base,
            items: out,
        });
        inst.resources
            .borrow_mut()
            .insert(idx, Slot::Done(g.clone()));
        Ok(g)
    }

    /// How a block with `count`/`for_each` expands: address suffix and the name it binds.
    fn expansion(&self, c: Ctx, body: &Body, what: &str) -> (Expand, Vec<Expansion>) {
        let unknown_note = |attr: &hcl_edit::structure::Attribute, why: &str| {
            let d = self.diag_at(
                c,
                attr.span(),
                Diagnostic::note(
                    "terraform-unknown",
                    format!(
                        "{what}: {} cannot be known ({why}); checked as one instance",
                        attr.key.as_str()
                    ),
                )
                .help("set the variables it depends on (tfvars or --var), or scan a plan JSON"),
            );
            self.note(format!("expand:{what}"), d);
        };
        if let Some(a) = body.get_attribute("count") {
            match self.eval(&a.value, c) {
                Ok(v) if v.opaque().is_none() => {
                    if let Some(n) = v.to_number() {
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        let n = (n.max(0.0) as usize).min(MAX_INSTANCES);
                        let items = (0..n)
                            .map(|i| {
                                #[allow(clippy::cast_precision_loss)]
                                let idx = Value::num(i as f64);
                                (
                                    format!("[{i}]"),
                                    Some((
                                        "count",
                                        Value::map(BTreeMap::from([("index".to_string(), idx)])),
                                    )),
                                )
                            })
                            .collect();
                        return (Expand::Count, items);
                    }
                    unknown_note(a, "it is not a number");
                }
                Ok(v) => unknown_note(a, &format!("it depends on {}", v.opaque().unwrap_or("?"))),
                Err(e) => unknown_note(a, &e.to_string()),
            }
            let idx = Value::unknown(format!("{what}: count.index"));
            return (
                Expand::Unknown,
                vec![(
                    String::new(),
                    Some((
                        "count",
                        Value::map(BTreeMap::from([("index".to_string(), idx)])),
                    )),
                )],
            );
        }
        if let Some(a) = body.get_attribute("for_each") {
            match self.eval(&a.value, c) {
                Ok(v) if v.opaque().is_none() => {
                    let pairs: Option<Vec<(String, Value)>> = match &v.kind {
                        ValueKind::Map(_) | ValueKind::Resource(_) => v
                            .entries()
                            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
                        ValueKind::List(items) => items
                            .iter()
                            .map(|i| i.to_plain_string().map(|s| (s, i.clone())))
                            .collect(),
                        ValueKind::Null => Some(Vec::new()),
                        _ => None,
                    };
                    if let Some(mut pairs) = pairs {
                        pairs.truncate(MAX_INSTANCES);
                        let keys = pairs.iter().map(|(k, _)| k.clone()).collect();
                        let items = pairs
                            .into_iter()
                            .map(|(k, v)| {
                                let each = Value::map(BTreeMap::from([
                                    ("key".to_string(), Value::str(k.clone())),
                                    ("value".to_string(), v),
                                ]));
                                (format!("[{}]", quote(&k)), Some(("each", each)))
                            })
                            .collect();
                        return (Expand::ForEach(keys), items);
                    }
                    unknown_note(a, "it is neither a map nor a set of strings");
                }
                Ok(v) => unknown_note(a, &format!("it depends on {}", v.opaque().unwrap_or("?"))),
                Err(e) => unknown_note(a, &e.to_string()),
            }
            let each = Value::map(BTreeMap::from([
                (
                    "key".to_string(),
                    Value::unknown(format!("{what}: each.key")),
                ),
                (
                    "value".to_string(),
                    Value::unknown(format!("{what}: each.value")),
                ),
            ]));
            return (Expand::Unknown, vec![(String::new(), Some(("each", each)))]);
        }
        (Expand::Single, vec![(String::new(), None)])
    }

    fn eval_attr(&self, c: Ctx, e: &Expression) -> Value {
        self.eval(e, c).unwrap_or_else(|err| {
            let name = c.text(e);
            self.reasons
                .borrow_mut()
                .entry(name.clone())
                .or_insert_with(|| err.to_string());
            Value::at(ValueKind::Unknown(name), c.src(e.span()))
        })
    }

    /// Evaluates a resource body: attributes, nested blocks (as lists of objects) and dynamic
    /// blocks. Records the span of each attribute and block under its path.
    fn eval_body(
        &self,
        c: Ctx,
        body: &Body,
        addr: &str,
        path: &mut Vec<PathSeg>,
        spans: &mut Vec<(Vec<PathSeg>, StackSpan)>,
        top: bool,
    ) -> BTreeMap<String, Value> {
        let mut attrs = BTreeMap::new();
        let mut blocks: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => {
                    let name = a.key.as_str();
                    if top && META_ATTRS.contains(&name) {
                        continue;
                    }
                    let v = self.eval_attr(c, &a.value);
                    if let Some(src) = c.src(a.span()) {
                        path.push(PathSeg::Key(name.to_string()));
                        spans.push((path.clone(), src));
                        path.pop();
                    }
                    attrs.insert(name.to_string(), v);
                }
                Structure::Block(b) => {
                    let ident = b.ident.as_str();
                    if top && matches!(ident, "lifecycle" | "provisioner" | "connection") {
                        continue;
                    }
                    if ident == "dynamic" {
                        self.dynamic_block(c, b, addr, path, spans, &mut blocks);
                    } else {
                        self.push_block(
                            c,
                            ident,
                            &b.body,
                            b.span(),
                            addr,
                            path,
                            spans,
                            &mut blocks,
                        );
                    }
                }
            }
        }
        for (ident, list) in blocks {
            attrs.insert(ident, Value::list(list));
        }
        attrs
    }

    #[allow(clippy::too_many_arguments)]
    fn push_block(
        &self,
        c: Ctx,
        ident: &str,
        body: &Body,
        span: Option<Range<usize>>,
        addr: &str,
        path: &mut Vec<PathSeg>,
        spans: &mut Vec<(Vec<PathSeg>, StackSpan)>,
        blocks: &mut BTreeMap<String, Vec<Value>>,
    ) {
        let i = blocks.get(ident).map_or(0, Vec::len);
        let baddr = format!("{addr}.{ident}[{i}]");
        let src = c.src(span);
        path.push(PathSeg::Key(ident.to_string()));
        if let Some(src) = src {
            if i == 0 {
                spans.push((path.clone(), src));
            }
            path.push(PathSeg::Index(i));
            spans.push((path.clone(), src));
        } else {
            path.push(PathSeg::Index(i));
        }
        let inner = self.eval_body(c, body, &baddr, path, spans, false);
        path.pop();
        path.pop();
        blocks.entry(ident.to_string()).or_default().push(Value::at(
            ValueKind::Resource(Arc::new(ResourceBody {
                addr: baddr,
                attrs: inner,
            })),
            src,
        ));
    }

    fn dynamic_block(
        &self,
        c: Ctx,
        b: &Block,
        addr: &str,
        path: &mut Vec<PathSeg>,
        spans: &mut Vec<(Vec<PathSeg>, StackSpan)>,
        blocks: &mut BTreeMap<String, Vec<Value>>,
    ) {
        let Some(ty) = b.labels.first().map(|l| l.as_str().to_string()) else {
            return;
        };
        let Some(content) = b.body.get_blocks("content").next() else {
            return;
        };
        let iter_name = b
            .body
            .get_attribute("iterator")
            .and_then(|a| a.value.as_variable().map(|i| i.as_str().to_string()))
            .unwrap_or_else(|| ty.clone());
        let coll = b
            .body
            .get_attribute("for_each")
            .map(|a| self.eval_attr(c, &a.value))
            .unwrap_or_else(|| Value::list(Vec::new()));
        let pairs = if let Some(o) = coll.opaque() {
            vec![(Value::unknown(o.to_string()), Value::unknown(o.to_string()))]
        } else {
            iterate(&coll).unwrap_or_default()
        };
        for (k, v) in pairs {
            let s = Scope {
                name: iter_name.clone(),
                val: Value::map(BTreeMap::from([
                    ("key".to_string(), k),
                    ("value".to_string(), v),
                ])),
                parent: c.scope,
            };
            let c2 = Ctx {
                scope: Some(&s),
                ..c
            };
            self.push_block(
                c2,
                &ty,
                &content.body,
                content.span(),
                addr,
                path,
                spans,
                blocks,
            );
        }
    }

    // ------------------------------------------------------------------ data sources

    #[inline(never)]
    fn data_ref(&self, c: Ctx, ty: &str, name: &str) -> EvalResult {
        let base = format!("{}data.{ty}.{name}", c.inst.prefix);
        if ty == "aws_iam_policy_document" {
            if let Some(at) = c
                .inst
                .def
                .data
                .get(&(ty.to_string(), name.to_string()))
                .copied()
            {
                if let Some(v) = self.policy_document(c.inst, at, &base) {
                    return Ok(v);
                }
            }
        }
        Ok(Value::reference(base))
    }

    /// `data "aws_iam_policy_document"`: its `json` built from the statements, so repository
    /// policies written this way can be checked.
    fn policy_document(
        &self,
        inst: &Rc<ModInst>,
        at: super::hcl::ItemRef,
        base: &str,
    ) -> Option<Value> {
        match inst.policies.borrow().get(base) {
            Some(Slot::Done(v)) => return Some(v.clone()),
            Some(Slot::Busy) => return None,
            None => {}
        }
        let (_, b) = inst.def.block(at)?;
        if b.body.has_attribute("count") || b.body.has_attribute("for_each") {
            return None;
        }
        inst.policies
            .borrow_mut()
            .insert(base.to_string(), Slot::Busy);
        let c = self.ctx(inst, at.file);
        let attrs = self.eval_body(c, &b.body, base, &mut Vec::new(), &mut Vec::new(), true);
        let doc = modules::policy_document(&attrs, c.src(b.span()));
        let json = funcs::call("jsonencode", vec![doc], c.src(b.span()))
            .unwrap_or_else(|_| Value::unknown(format!("{base}.json")));
        let v = Value::at(
            ValueKind::Resource(Arc::new(ResourceBody {
                addr: base.to_string(),
                attrs: BTreeMap::from([
                    ("json".to_string(), json.clone()),
                    ("minified_json".to_string(), json),
                ]),
            })),
            c.src(b.span()),
        );
        inst.policies
            .borrow_mut()
            .insert(base.to_string(), Slot::Done(v.clone()));
        Some(v)
    }

    // ------------------------------------------------------------------ modules

    #[inline(never)]
    fn module_ref(&self, c: Ctx, name: &str, ops: &[Op]) -> EvalResult {
        let Some(idx) = c.inst.def.module_idx.get(name).copied() else {
            return Err(EvalError::Undeclared {
                what: "module",
                name: name.to_string(),
            });
        };
        let g = self.module_group(c.inst, idx)?;
        match &g.expand {
            Expand::Single => {
                let Some(t) = g.items.first() else {
                    return Ok(Value::unknown(g.base.clone()));
                };
                if let Some(TraversalOperator::GetAttr(out)) = ops.first().map(Decorated::value) {
                    let v = self.target_output(t, out.as_str(), &g.base)?;
                    self.apply_ops(v, &ops[1..], c)
                } else {
                    let v = self.all_outputs(t, &g.base);
                    self.apply_ops(v, ops, c)
                }
            }
            Expand::Count => {
                let v = Value::list(
                    g.items
                        .iter()
                        .map(|t| self.all_outputs(t, &g.base))
                        .collect(),
                );
                self.apply_ops(v, ops, c)
            }
            Expand::ForEach(keys) => {
                let v = Value::map(
                    keys.iter()
                        .cloned()
                        .zip(g.items.iter().map(|t| self.all_outputs(t, &g.base)))
                        .collect(),
                );
                self.apply_ops(v, ops, c)
            }
            Expand::Unknown => self.apply_ops(Value::reference(g.base.clone()), ops, c),
        }
    }

    fn target_output(&self, t: &Target, out: &str, base: &str) -> EvalResult {
        match t {
            Target::Local(child) => self.output(child, out),
            Target::Registry(r) => Ok(modules::output(r, out)),
            Target::Remote => Ok(Value::reference(format!("{base}.{out}"))),
            Target::Missing => Ok(Value::unknown(format!("{base}.{out}"))),
        }
    }

    fn all_outputs(&self, t: &Target, base: &str) -> Value {
        match t {
            Target::Local(child) => {
                let names: Vec<String> = child.def.outputs.keys().cloned().collect();
                Value::map(
                    names
                        .into_iter()
                        .map(|n| {
                            let v = self
                                .output(child, &n)
                                .unwrap_or_else(|_| Value::unknown(format!("{base}.{n}")));
                            (n, v)
                        })
                        .collect(),
                )
            }
            Target::Registry(r) => modules::outputs(r),
            Target::Remote => Value::reference(base.to_string()),
            Target::Missing => Value::unknown(base.to_string()),
        }
    }

    fn output(&self, child: &Rc<ModInst>, name: &str) -> EvalResult {
        match child.outputs.borrow().get(name) {
            Some(Slot::Done(v)) => return Ok(v.clone()),
            Some(Slot::Busy) => return Err(EvalError::SelfReference(format!("output {name}"))),
            None => {}
        }
        let Some(at) = child.def.outputs.get(name).copied() else {
            return Err(EvalError::NoOutput(name.to_string()));
        };
        child
            .outputs
            .borrow_mut()
            .insert(name.to_string(), Slot::Busy);
        let v = match child
            .def
            .block(at)
            .and_then(|(_, b)| b.body.get_attribute("value"))
        {
            Some(a) => {
                let c = self.ctx(child, at.file);
                self.eval(&a.value, c).unwrap_or_else(|e| {
                    let n = format!("{}{name}", child.prefix);
                    self.reasons
                        .borrow_mut()
                        .entry(n.clone())
                        .or_insert_with(|| e.to_string());
                    Value::unknown(n)
                })
            }
            None => Value::null(),
        };
        child
            .outputs
            .borrow_mut()
            .insert(name.to_string(), Slot::Done(v.clone()));
        Ok(v)
    }

    fn module_group(&self, inst: &Rc<ModInst>, idx: usize) -> Result<Rc<ModGroup>, EvalError> {
        let at = inst.def.modules[idx];
        let (f, b) = inst.def.block(at).ok_or(Usage("missing module block"))?;
        let name = b
            .labels
            .first()
            .map(|l| l.as_str().to_string())
            .unwrap_or_default();
        let base = format!("{}module.{name}", inst.prefix);
        match inst.modules.borrow().get(&idx) {
            Some(Slot::Done(g)) => return Ok(g.clone()),
            Some(Slot::Busy) => return Err(EvalError::Cycle(base)),
            None => {}
        }
        inst.modules.borrow_mut().insert(idx, Slot::Busy);
        let c = self.ctx(inst, at.file);
        let call = c.src(b.span()).unwrap_or(StackSpan {
            file: c.file.map_or(0, |f| f.0),
            span: crate::model::Span::default(),
        });
        let source_attr = b.body.get_attribute("source");
        let source = source_attr
            .and_then(|a| literal_str(&a.value))
            .unwrap_or("");
        let kind = modules::classify(source);
        let mut ignores = inst.ignores.clone();
        if let Some(r) = b.span() {
            ignores.extend(f.ignores_above(r.start).into_iter().map(|(e, span)| {
                (
                    e,
                    StackSpan {
                        file: call.file,
                        span,
                    },
                )
            }));
        }
        let mut chain = inst.chain.clone();
        chain.push(call);
        let source_diag =
            |d: Diagnostic| self.diag_at(c, source_attr.and_then(|a| a.span()).or(b.span()), d);
        let (expand, items) = self.expansion(c, &b.body, &base);
        let mut targets = Vec::with_capacity(items.len());
        for (suffix, binding) in items {
            let scope = binding.map(|(n, v)| Scope {
                name: n.to_string(),
                val: v,
                parent: None,
            });
            let c2 = Ctx {
                scope: scope.as_ref(),
                ..c
            };
            let mut inputs = HashMap::new();
            for s in b.body.iter() {
                if let Structure::Attribute(a) = s {
                    if MODULE_META.contains(&a.key.as_str()) {
                        continue;
                    }
                    let mut v = self.eval_attr(c2, &a.value);
                    // The input points at its attribute in the call (key to value), what
                    // it holds at where it was written inside that attribute.
                    if let Some(src) = c2.src(a.span()) {
                        v.retag(src);
                        v.at = Some(src);
                    }
                    inputs.insert(a.key.as_str().to_string(), v);
                }
            }
            let prefix = format!("{base}{suffix}.");
            let target = match &kind {
                ModuleSource::Local => {
                    let dir = clean_path(&inst.def.dir.join(source));
                    let key = dir_key(&dir);
                    match self.module_def(&key, &dir) {
                        _ if inst.dirs.contains(&key) || chain.len() > MAX_MODULE_DEPTH => {
                            self.note(
                                format!("recursion:{base}"),
                                source_diag(Diagnostic::note(
                                    "terraform-module",
                                    format!("module {name} calls itself (through `{source}`); not followed"),
                                )),
                            );
                            Target::Missing
                        }
                        Some(def) => {
                            self.used.borrow_mut().insert(key.clone());
                            let child = self.new_inst(
                                def,
                                prefix,
                                chain.clone(),
                                ignores.clone(),
                                inst.dirs.clone(),
                                false,
                            );
                            *child.inputs.borrow_mut() = inputs;
                            Target::Local(child)
                        }
                        None => {
                            self.note(
                                format!("missing:{base}"),
                                source_diag(
                                    Diagnostic::warning(
                                        "terraform-module",
                                        format!(
                                            "module {name}: directory `{}` not found; its resources are not checked",
                                            display(&dir, self.base)
                                        ),
                                    )
                                    .help("fix the module's `source` path"),
                                ),
                            );
                            Target::Missing
                        }
                    }
                }
                ModuleSource::Registry(k) => {
                    let r = Rc::new(RegInst {
                        kind: *k,
                        name: format!("{base}{suffix}"),
                        prefix,
                        inputs: inputs.into_iter().collect(),
                        call,
                        chain: chain.clone(),
                        ignores: ignores.clone(),
                    });
                    if let Some(s) = modules::autoscaler_signal(&r) {
                        self.signals.borrow_mut().push(s);
                    }
                    Target::Registry(r)
                }
                ModuleSource::Remote => {
                    self.note(
                        format!("remote:{base}"),
                        source_diag(
                            Diagnostic::note(
                                "terraform-module",
                                format!(
                                    "module {name}: source `{source}` is not read (only local modules and the terraform-aws-modules eks and vpc modules are); its resources are not checked"
                                ),
                            )
                            .help("scan a plan JSON (`terraform show -json`) to check the resources it creates"),
                        ),
                    );
                    Target::Remote
                }
            };
            targets.push(target);
        }
        let g = Rc::new(ModGroup {
            expand,
            base,
            items: targets,
        });
        inst.modules.borrow_mut().insert(idx, Slot::Done(g.clone()));
        Ok(g)
    }

    /// A module directory: parsed before evaluation, or read now when only the evaluation
    /// found it.
    fn module_def(&self, key: &PathBuf, dir: &Path) -> Option<Arc<ModuleDef>> {
        if let Some(d) = self.defs.get(key) {
            return Some(d.clone());
        }
        if let Some(d) = self.extra.borrow().get(key) {
            return Some(d.clone());
        }
        if !dir.is_dir() {
            return None;
        }
        let def = Arc::new(ModuleDef::load_dir(dir, self.base));
        self.extra.borrow_mut().insert(key.clone(), def.clone());
        Some(def)
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
        let mut groups: Vec<(usize, Rc<Group>)> = inst
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
                    Target::Local(child) => self.collect(child, out),
                    Target::Registry(r) => {
                        let comments = |src: StackSpan| self.comments_at(src);
                        let files = self.files.borrow().clone();
                        let (items, diags) = modules::instances(r, &files, &comments);
                        out.extend(items);
                        self.diags.borrow_mut().extend(diags);
                    }
                    Target::Remote | Target::Missing => {}
                }
            }
        }
    }
}

/// Key/value pairs of a collection, as `for` and `dynamic` iterate it.
fn iterate(v: &Value) -> Result<Vec<(Value, Value)>, EvalError> {
    match &v.kind {
        ValueKind::List(items) => Ok(items
            .iter()
            .enumerate()
            .map(|(i, x)| {
                #[allow(clippy::cast_precision_loss)]
                let k = Value::num(i as f64);
                (k, x.clone())
            })
            .collect()),
        ValueKind::Map(_) | ValueKind::Resource(_) => Ok(v
            .entries()
            .map(|m| {
                m.iter()
                    .map(|(k, x)| (Value::str(k.clone()), x.clone()))
                    .collect()
            })
            .unwrap_or_default()),
        ValueKind::Null => Ok(Vec::new()),
        _ => Err(EvalError::NotIterable(v.type_name())),
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
