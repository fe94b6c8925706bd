//! Expressions: literals, operators, templates, `for`, function calls (with the ones that need
//! the evaluator: `try`, `can`, `file`, `templatefile`) and traversals into references.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl_edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator, UnaryOperator};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::{Decorated, Span as _};

use super::{Ctx, EvalError, EvalResult, Evaluator, Op, Scope, Usage, MAX_DEPTH};
use crate::source::terraform::funcs;
use crate::source::terraform::value::{StackSpan, Value, ValueKind};

impl Evaluator<'_> {
    pub(super) fn eval(&self, e: &Expression, c: Ctx) -> EvalResult {
        let depth = self.depth.get();
        if depth >= MAX_DEPTH {
            return Err(Usage("references nest too deeply"));
        }
        self.budget_left()?;
        self.depth.set(depth + 1);
        let r = self.eval_inner(e, c);
        self.depth.set(depth);
        let v = r?;
        // What builds or copies values is charged to the root's budget.
        if matches!(
            e,
            Expression::ForExpr(_)
                | Expression::FuncCall(_)
                | Expression::StringTemplate(_)
                | Expression::HeredocTemplate(_)
                | Expression::Traversal(_)
                | Expression::BinaryOp(_)
        ) {
            self.charge(&v, c, e.span(), || c.text(e))?;
        }
        Ok(v)
    }

    pub(super) fn eval_inner(&self, e: &Expression, c: Ctx) -> EvalResult {
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
    pub(super) fn array(
        &self,
        a: &hcl_edit::expr::Array,
        c: Ctx,
        at: Option<StackSpan>,
    ) -> EvalResult {
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
    pub(super) fn object(
        &self,
        o: &hcl_edit::expr::Object,
        c: Ctx,
        at: Option<StackSpan>,
    ) -> EvalResult {
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
    pub(super) fn conditional(
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
    pub(super) fn unary(
        &self,
        u: &hcl_edit::expr::UnaryOp,
        c: Ctx,
        at: Option<StackSpan>,
    ) -> EvalResult {
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
    pub(super) fn binary(
        &self,
        b: &hcl_edit::expr::BinaryOp,
        c: Ctx,
        at: Option<StackSpan>,
    ) -> EvalResult {
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
    pub(super) fn for_expr(
        &self,
        f: &hcl_edit::expr::ForExpr,
        c: Ctx,
        at: Option<StackSpan>,
    ) -> EvalResult {
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
    pub(super) fn template(&self, t: &Template, c: Ctx, at: Option<StackSpan>) -> EvalResult {
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
    pub(super) fn render(
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
    pub(super) fn call(
        &self,
        f: &hcl_edit::expr::FuncCall,
        c: Ctx,
        at: Option<StackSpan>,
    ) -> EvalResult {
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

    pub(super) fn module_path(&self, c: Ctx, rel: &str) -> PathBuf {
        let p = Path::new(rel);
        if p.is_absolute() || p.exists() {
            p.to_path_buf()
        } else {
            c.inst.def.dir.join(p)
        }
    }

    pub(super) fn read_file(&self, args: &[Value], c: Ctx, at: Option<StackSpan>) -> EvalResult {
        let Some(path) = args.first() else {
            return Err(Usage("file needs a path"));
        };
        if let Some(o) = path.opaque() {
            return Ok(Value::at(ValueKind::Unknown(o.to_string()), at));
        }
        let rel = path.to_plain_string().ok_or(Usage("file needs a path"))?;
        let p = self.module_path(c, &rel);
        self.read.borrow_mut().push(p.clone());
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

    pub(super) fn templatefile(&self, args: &[Value], c: Ctx, at: Option<StackSpan>) -> EvalResult {
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

    pub(super) fn traversal(&self, root: &Expression, ops: &[Op], c: Ctx) -> EvalResult {
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

    pub(super) fn root_dir(&self, c: Ctx) -> String {
        c.inst
            .dirs
            .first()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub(super) fn apply_ops(&self, mut v: Value, ops: &[Op], c: Ctx) -> EvalResult {
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
}

/// Key/value pairs of a collection, as `for` and `dynamic` iterate it.
pub(super) fn iterate(v: &Value) -> Result<Vec<(Value, Value)>, EvalError> {
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
