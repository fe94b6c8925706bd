//! Rules: folders of Rego policy plus METADATA, compiled once per run and shared by threads.

mod loader;
mod meta;

pub use loader::{CompiledRule, RuleSet, BUILTIN_RULES};
pub use meta::{FixMeta, FixSafety, RuleMeta};
