//! Module calls: a local module evaluated as a child instance with its inputs, a known registry
//! module read by what its inputs mean, any other source noted and left out; and the outputs
//! that references to a module read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use hcl_edit::expr::TraversalOperator;
use hcl_edit::structure::Structure;
use hcl_edit::{Decorated, Span as _};

use super::expand::{Expand, Group};
use super::{
    memoized, Ctx, EvalError, EvalResult, Evaluator, ModInst, Op, Usage, MAX_MODULE_DEPTH,
    MODULE_META,
};
use crate::model::Diagnostic;
use crate::source::display;
use crate::source::terraform::hcl::{clean_path, dir_key, literal_str, ModuleDef};
use crate::source::terraform::modules::{self, ModuleSource, RegInst};
use crate::source::terraform::value::Value;

/// What one instance of a module call leads to.
pub(super) enum CallTarget {
    /// A local module directory, evaluated as a child instance.
    Local(Rc<ModInst>),
    /// A registry module read by what its inputs mean.
    Registry(Rc<RegInst>),
    /// Another source, not read: its outputs are references.
    Remote,
    /// A local source that is missing or calls itself: its outputs are unknown.
    Missing,
}

impl Evaluator<'_> {
    #[inline(never)]
    pub(super) fn module_ref(&self, c: Ctx, name: &str, ops: &[Op]) -> EvalResult {
        let Some(idx) = c.inst.def.module_idx.get(name).copied() else {
            return Err(EvalError::Undeclared {
                what: "module",
                name: name.to_string(),
            });
        };
        let g = self.module_group(c.inst, idx)?;
        if g.expand == Expand::Single {
            if let (Some(t), Some(TraversalOperator::GetAttr(out))) =
                (g.items.first(), ops.first().map(Decorated::value))
            {
                let v = self.target_output(t, out.as_str(), &g.base)?;
                return self.apply_ops(v, &ops[1..], c);
            }
        }
        let v = g.value(|t| self.all_outputs(t, &g.base));
        self.apply_ops(v, ops, c)
    }

    fn target_output(&self, t: &CallTarget, out: &str, base: &str) -> EvalResult {
        match t {
            CallTarget::Local(child) => self.output(child, out),
            CallTarget::Registry(r) => Ok(modules::output(r, out)),
            CallTarget::Remote => Ok(Value::reference(format!("{base}.{out}"))),
            CallTarget::Missing => Ok(Value::unknown(format!("{base}.{out}"))),
        }
    }

    fn all_outputs(&self, t: &CallTarget, base: &str) -> Value {
        match t {
            CallTarget::Local(child) => {
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
            CallTarget::Registry(r) => modules::outputs(r),
            CallTarget::Remote => Value::reference(base.to_string()),
            CallTarget::Missing => Value::unknown(base.to_string()),
        }
    }
    fn output(&self, child: &Rc<ModInst>, name: &str) -> EvalResult {
        let Some(at) = child.def.outputs.get(name).copied() else {
            return Err(EvalError::NoOutput(name.to_string()));
        };
        let self_reference = || EvalError::SelfReference(format!("output {name}"));
        memoized(&child.outputs, name, self_reference, || {
            match child
                .def
                .block(at)
                .and_then(|(_, b)| b.body.get_attribute("value"))
            {
                Some(a) => {
                    let c = self.ctx(child, at.file);
                    self.eval(&a.value, c).unwrap_or_else(|e| {
                        self.unknown_because(format!("{}{name}", child.prefix), &e)
                    })
                }
                None => Value::null(),
            }
        })
    }

    /// The instances of the module call `idx` of `inst`, evaluated once.
    pub(super) fn module_group(
        &self,
        inst: &Rc<ModInst>,
        idx: usize,
    ) -> Result<Rc<Group<CallTarget>>, EvalError> {
        let at = inst.def.modules[idx];
        let (f, b) = inst.def.block(at).ok_or(Usage("missing module block"))?;
        let name = b
            .labels
            .first()
            .map(|l| l.as_str().to_string())
            .unwrap_or_default();
        let base = format!("{}module.{name}", inst.prefix);
        memoized(
            &inst.modules,
            &idx,
            || EvalError::Cycle(base.clone()),
            || {
                let c = self.ctx(inst, at.file);
                let (call, ignores) = self.block_site(inst, c, f, b);
                let source_attr = b.body.get_attribute("source");
                let source = source_attr
                    .and_then(|a| literal_str(&a.value))
                    .unwrap_or("");
                let kind = modules::classify(source);
                let mut chain = inst.chain.clone();
                chain.push(call);
                let source_diag = |d: Diagnostic| {
                    self.diag_at(c, source_attr.and_then(|a| a.span()).or(b.span()), d)
                };
                Rc::new(self.expand_block(c, &b.body, &base, |suffix, c2| {
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
                            CallTarget::Missing
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
                            CallTarget::Local(child)
                        }
                        None => {
                            self.note(
                                format!("missing:{base}"),
                                source_diag(
                                    Diagnostic::error(
                                        "terraform-module",
                                        format!(
                                            "module {name}: directory `{}` not found; its resources are not checked, so the stack cannot be checked whole",
                                            display(&dir, self.base)
                                        ),
                                    )
                                    .help("fix the module's `source` path"),
                                ),
                            );
                            CallTarget::Missing
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
                    CallTarget::Registry(r)
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
                    CallTarget::Remote
                }
            };
                target
            }))
            },
        )
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
}
