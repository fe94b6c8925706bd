//! The evaluation budget of one root: how many values and bytes its expressions may build, and
//! how many resource and module instances it may expand to.
//!
//! Terraform expressions compose: a `for` over a `for` over `range(1000)` builds a billion
//! values from a 200-byte file, a string doubled 25 times is 512 MB, and a module with
//! `count = 300` around a resource with `count = 4000` is 1.2 million instances. Every place
//! that builds a value from others (a `for`, a function call, a template, a reference that
//! copies a value) is charged its size here. The first charge over the budget is an error
//! diagnostic at that expression; from then on every evaluation of this root fails at once, so
//! the run ends quickly and goes on with the other roots and files, and exit code 2 says the
//! stack could not be checked whole.

use std::cell::Cell;
use std::ops::Range;

use super::{Ctx, EvalError, Evaluator};
use crate::model::Diagnostic;
use crate::source::terraform::value::{Value, ValueKind};

/// Most values (scalars, list items, map entries) one root's expressions may build, copies
/// included. Real stacks build thousands.
pub(super) const VALUE_BUDGET: u64 = 4_000_000;
/// Most bytes of strings (map keys included) one root's expressions may build.
pub(super) const BYTE_BUDGET: u64 = 64 * 1024 * 1024;
/// Most resource and module instances one root may expand to, its modules included.
pub(super) const INSTANCE_BUDGET: usize = 50_000;

/// What one root has spent so far.
#[derive(Default)]
pub(super) struct Budget {
    values: Cell<u64>,
    bytes: Cell<u64>,
    instances: Cell<usize>,
    spent: Cell<bool>,
}

impl Budget {
    /// Whether the budget ran out (everything after fails at once).
    pub(super) fn is_spent(&self) -> bool {
        self.spent.get()
    }
}

/// Values and bytes in `v`, counted until either goes over what is left (`max_values`,
/// `max_bytes`); then the walk stops early, so a huge value costs no more than the budget.
fn size(v: &Value, max_values: u64, max_bytes: u64) -> (u64, u64) {
    let mut values = 0u64;
    let mut bytes = 0u64;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        values += 1;
        match &v.kind {
            ValueKind::Null | ValueKind::Bool(_) | ValueKind::Num(_) | ValueKind::Resource(_) => {}
            ValueKind::Str(s) | ValueKind::Ref(s) | ValueKind::Unknown(s) => {
                bytes += s.len() as u64;
            }
            ValueKind::Json(j) => bytes += j.0.len() as u64,
            ValueKind::List(items) => stack.extend(items.iter()),
            ValueKind::Map(m) => {
                for (k, x) in m {
                    bytes += k.len() as u64;
                    stack.push(x);
                }
            }
        }
        if values > max_values || bytes > max_bytes {
            break;
        }
    }
    (values, bytes)
}

impl Evaluator<'_> {
    /// Fails once the budget has run out.
    pub(super) fn budget_left(&self) -> Result<(), EvalError> {
        if self.budget.is_spent() {
            Err(EvalError::Budget)
        } else {
            Ok(())
        }
    }

    /// Charges the value an expression built; over the budget, notes it at the expression
    /// (`span` in `c`'s file) and fails.
    pub(super) fn charge(
        &self,
        v: &Value,
        c: Ctx,
        span: Option<Range<usize>>,
        text: impl FnOnce() -> String,
    ) -> Result<(), EvalError> {
        let b = &self.budget;
        let left_values = VALUE_BUDGET.saturating_sub(b.values.get());
        let left_bytes = BYTE_BUDGET.saturating_sub(b.bytes.get());
        let (values, bytes) = size(v, left_values, left_bytes);
        b.values.set(b.values.get() + values);
        b.bytes.set(b.bytes.get() + bytes);
        if values <= left_values && bytes <= left_bytes {
            return Ok(());
        }
        self.spend(
            c,
            span,
            format!(
                "Terraform evaluation budget exceeded at `{}`: this root's expressions build more than {} values or {} MiB; the rest of the stack is not evaluated, so it cannot be checked whole",
                text(),
                VALUE_BUDGET,
                BYTE_BUDGET >> 20
            ),
        );
        Err(EvalError::Budget)
    }

    /// Takes one resource or module instance from the budget; `false` (after noting it at
    /// `span`, the block's `count`/`for_each` or the block itself) when none is left.
    pub(super) fn take_instance(&self, c: Ctx, span: Option<Range<usize>>, what: &str) -> bool {
        if self.budget.is_spent() {
            return false;
        }
        let b = &self.budget;
        if b.instances.get() < INSTANCE_BUDGET {
            b.instances.set(b.instances.get() + 1);
            return true;
        }
        self.spend(
            c,
            span,
            format!(
                "Terraform evaluation budget exceeded at {what}: this root expands to more than {INSTANCE_BUDGET} resource and module instances; the rest of the stack is not evaluated, so it cannot be checked whole"
            ),
        );
        false
    }

    fn spend(&self, c: Ctx, span: Option<Range<usize>>, message: String) {
        self.budget.spent.set(true);
        let d = self.diag_at(
            c,
            span,
            Diagnostic::error("terraform-budget", message).help(
                "blogaudit bounds Terraform evaluation so that no input can exhaust memory; \
                 simplify the expression, or scan a plan JSON of this stack instead",
            ),
        );
        self.note("budget".to_string(), d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_counts_nested_values_and_bytes_and_stops_early() {
        let v = Value::list(vec![Value::str("abc"), Value::list(vec![Value::str("de")])]);
        assert_eq!(size(&v, u64::MAX, u64::MAX), (4, 5));
        let big = Value::list((0..1000).map(|_| Value::str("x")).collect());
        let (values, _) = size(&big, 10, u64::MAX);
        assert_eq!(values, 11, "the walk stops right after the limit");
    }
}
