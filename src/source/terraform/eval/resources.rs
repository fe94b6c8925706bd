//! Resources and data sources: a resource block evaluated into its instances (attributes,
//! nested blocks as lists of objects, `dynamic` blocks), and the data sources whose result the
//! configuration itself decides (`aws_iam_policy_document`).

use std::collections::BTreeMap;
use std::ops::Range;
use std::rc::Rc;
use std::sync::Arc;

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, Body, Structure};
use hcl_edit::Span as _;

use super::expand::Group;
use super::expr::iterate;
use super::{memoized, Ctx, EvalError, EvalResult, Evaluator, ModInst, Scope, Usage, META_ATTRS};
use crate::model::PathSeg;
use crate::source::terraform::value::{ResourceBody, StackSpan, Value, ValueKind};
use crate::source::terraform::{funcs, hcl, modules, Instance};

impl Evaluator<'_> {
    pub(super) fn resource_ref(&self, inst: &Rc<ModInst>, ty: &str, name: &str) -> EvalResult {
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
        Ok(g.value(|i| i.body.clone()))
    }

    /// The instances of the resource block `idx` of `inst`, evaluated once.
    pub(super) fn resource_group(
        &self,
        inst: &Rc<ModInst>,
        idx: usize,
    ) -> Result<Rc<Group<Instance>>, EvalError> {
        let at = inst.def.resources[idx];
        let (f, b) = inst.def.block(at).ok_or(Usage("missing resource block"))?;
        let label = |i: usize| {
            b.labels
                .get(i)
                .map(|l| l.as_str().to_string())
                .unwrap_or_default()
        };
        let (ty, name) = (label(0), label(1));
        let base = format!("{}{ty}.{name}", inst.prefix);
        let cycle = || {
            self.note_cycle(
                &base,
                format!(
                    "reference cycle: {base} depends on itself; the values involved are unknown"
                ),
                "break the cycle between these resources",
                f,
                b.span(),
            );
            EvalError::Cycle(base.clone())
        };
        memoized(&inst.resources, &idx, cycle, || {
            let c = self.ctx(inst, at.file);
            let (block_src, ignores) = self.block_site(inst, c, f, b);
            Rc::new(self.expand_block(c, &b.body, &base, |suffix, c2| {
                let addr = format!("{base}{suffix}");
                let mut spans = Vec::new();
                let attrs = self.eval_body(c2, &b.body, &addr, &mut Vec::new(), &mut spans, true);
                Instance {
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
                }
            }))
        })
    }

    pub(super) fn eval_attr(&self, c: Ctx, e: &Expression) -> Value {
        self.eval(e, c).unwrap_or_else(|err| {
            self.unknown_because(c.text(e), &err)
                .with_at(c.src(e.span()))
        })
    }

    /// Evaluates a resource body: attributes, nested blocks (as lists of objects) and dynamic
    /// blocks. Records the span of each attribute and block under its path.
    pub(super) fn eval_body(
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
    pub(super) fn push_block(
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

    pub(super) fn dynamic_block(
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
    pub(super) fn data_ref(&self, c: Ctx, ty: &str, name: &str) -> EvalResult {
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
    /// `data "aws_iam_policy_document"`: its `json` built from the statements, so repository
    /// policies written this way can be checked.
    fn policy_document(&self, inst: &Rc<ModInst>, at: hcl::ItemRef, base: &str) -> Option<Value> {
        let (_, b) = inst.def.block(at)?;
        if b.body.has_attribute("count") || b.body.has_attribute("for_each") {
            return None;
        }
        memoized(
            &inst.policies,
            base,
            || (),
            || {
                let c = self.ctx(inst, at.file);
                let attrs =
                    self.eval_body(c, &b.body, base, &mut Vec::new(), &mut Vec::new(), true);
                let doc = modules::policy_document(&attrs, c.src(b.span()));
                let json = funcs::call("jsonencode", vec![doc], c.src(b.span()))
                    .unwrap_or_else(|_| Value::unknown(format!("{base}.json")));
                Value::at(
                    ValueKind::Resource(Arc::new(ResourceBody {
                        addr: base.to_string(),
                        attrs: BTreeMap::from([
                            ("json".to_string(), json.clone()),
                            ("minified_json".to_string(), json),
                        ]),
                    })),
                    c.src(b.span()),
                )
            },
        )
        .ok()
    }
}
