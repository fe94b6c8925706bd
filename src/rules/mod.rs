//! Rules: folders of Rego policy plus METADATA, compiled once per run and shared by threads.

pub mod lint;
mod loader;
mod meta;

pub use loader::{Compilation, CompiledRule, Program, RuleSet, BUILTIN_RULES};
pub use meta::{FixMeta, FixSafety, RuleMeta};
