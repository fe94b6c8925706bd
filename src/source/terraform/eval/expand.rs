//! `count` and `for_each`: how a resource or module call expands into instances, each with its
//! address suffix and the name it binds, shared by resources and module calls.

use std::collections::BTreeMap;

use hcl_edit::structure::{Block, Body};
use hcl_edit::Span as _;

use super::{Ctx, Evaluator, ModInst, Scope, MAX_INSTANCES};
use crate::model::Diagnostic;
use crate::source::terraform::hcl::ParsedFile;
use crate::source::terraform::value::{quote, StackSpan, Value, ValueKind};

/// How a resource or module call expands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Expand {
    Single,
    Count,
    ForEach(Vec<String>),
    /// `count`/`for_each` cannot be known: one representative instance.
    Unknown,
}

/// The instances of one resource or module call, as they expanded.
pub(super) struct Group<T> {
    pub(super) expand: Expand,
    /// The address without an instance key: `module.net.aws_subnet.a`.
    pub(super) base: String,
    pub(super) items: Vec<T>,
}

impl<T> Group<T> {
    /// What a reference to the whole block gives: its one instance, a list by `count`, a map
    /// by `for_each`, or a reference when the expansion cannot be known.
    pub(super) fn value(&self, each: impl Fn(&T) -> Value) -> Value {
        match &self.expand {
            Expand::Single => self.items.first().map_or_else(Value::null, each),
            Expand::Count => Value::list(self.items.iter().map(each).collect()),
            Expand::ForEach(keys) => Value::map(
                keys.iter()
                    .cloned()
                    .zip(self.items.iter().map(each))
                    .collect(),
            ),
            Expand::Unknown => Value::reference(self.base.clone()),
        }
    }
}

/// One expanded instance: its address suffix and the name it binds (`count`, `each`).
type Expansion = (String, Option<(&'static str, Value)>);

impl Evaluator<'_> {
    /// Where a resource or module block is written, and the suppression comments that apply to
    /// it: those above the calls of its module, then those above the block.
    pub(super) fn block_site(
        &self,
        inst: &ModInst,
        c: Ctx,
        f: &ParsedFile,
        b: &Block,
    ) -> (StackSpan, Vec<(String, StackSpan)>) {
        let site = c.src(b.span()).unwrap_or(StackSpan {
            file: c.file.map_or(0, |f| f.0),
            span: crate::model::Span::default(),
        });
        let mut ignores = inst.ignores.clone();
        if let Some(r) = b.span() {
            ignores.extend(f.ignores_above(r.start).into_iter().map(|(e, span)| {
                (
                    e,
                    StackSpan {
                        file: site.file,
                        span,
                    },
                )
            }));
        }
        (site, ignores)
    }

    /// Expands a block by its `count`/`for_each` and builds each instance with `item`, given
    /// the instance's address suffix and a context that binds `count` or `each`.
    pub(super) fn expand_block<T>(
        &self,
        c: Ctx,
        body: &Body,
        base: &str,
        mut item: impl FnMut(&str, Ctx) -> T,
    ) -> Group<T> {
        if self.budget.is_spent() {
            return Group {
                expand: Expand::Unknown,
                base: base.to_string(),
                items: Vec::new(),
            };
        }
        let (expand, expansions) = self.expansion(c, body, base);
        let mut items = Vec::with_capacity(expansions.len());
        let site = body
            .get_attribute("count")
            .or_else(|| body.get_attribute("for_each"))
            .and_then(|a| a.span());
        for (suffix, binding) in expansions {
            if !self.take_instance(c, site.clone(), base) {
                break;
            }
            let scope = binding.map(|(n, v)| Scope {
                name: n.to_string(),
                val: v,
                parent: None,
            });
            let c2 = Ctx {
                scope: scope.as_ref(),
                ..c
            };
            items.push(item(&suffix, c2));
        }
        Group {
            expand,
            base: base.to_string(),
            items,
        }
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
                        let asked = n.max(0.0) as usize;
                        if asked > MAX_INSTANCES {
                            self.over_limit(c, a, what, &asked.to_string());
                        }
                        let n = asked.min(MAX_INSTANCES);
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
                        if pairs.len() > MAX_INSTANCES {
                            self.over_limit(c, a, what, &pairs.len().to_string());
                        }
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
}

impl Evaluator<'_> {
    /// Notes, as an error, a `count`/`for_each` (`a`) that asks for more than
    /// [`MAX_INSTANCES`] instances: only the first ones are checked, never silently.
    fn over_limit(&self, c: Ctx, a: &hcl_edit::structure::Attribute, what: &str, asked: &str) {
        let d = self.diag_at(
            c,
            a.span(),
            Diagnostic::error(
                "terraform-budget",
                format!(
                    "{what}: {} asks for {asked} instances, over the limit of {MAX_INSTANCES} per block; only the first {MAX_INSTANCES} are checked, so the stack cannot be checked whole",
                    a.key.as_str()
                ),
            )
            .help("split the block, or scan a plan JSON of this stack instead"),
        );
        self.note(format!("limit:{what}"), d);
    }
}
