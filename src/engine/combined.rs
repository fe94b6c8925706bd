//! All the compiled rules of one kind as one RVM program, run once per resource.
//!
//! Run one by one, every rule pays for its own execution (the VM's reset, the entry call)
//! and computes again what the shared library computes for every rule: the containers of
//! the input (`lib.k8s.input_containers`), its pod spec, its namespace. One program whose
//! entry rule gathers the `violation` set of every compiled rule of a kind computes each
//! library rule once per resource, since the VM caches a rule's value for an execution.
//!
//! The entry rule of kind number `k` is, for its rules `0..n`:
//!
//! ```rego
//! kind_k contains [0, v] if { some v in data.blogaudit.BA101.violation }
//! kind_k contains [1, v] if { some v in data.blogaudit.BA102.violation }
//! ```
//!
//! so its value holds each rule's findings tagged with the rule, in the rule's own order. An
//! execution that fails (a rule error, the instruction budget) is answered by running the
//! rules one by one, so errors are reported per rule exactly as before.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::rules::Program;

/// The package of the generated entry rules; not a rule package (`blogaudit.<ID>`).
const PACKAGE: &str = "blogaudit_engine.combined";

/// The program of one kind and the rules it runs.
pub(super) struct KindProgram {
    pub program: Program,
    /// Positions in the prepared rules, in the order of the tags in the program's value.
    pub rules: Vec<usize>,
}

/// The combined programs by kind; a kind is absent when it has fewer than two compiled
/// rules or its program did not compile.
#[derive(Default)]
pub(super) struct Combined {
    pub programs: Vec<KindProgram>,
    pub by_kind: HashMap<String, usize>,
}

impl Combined {
    /// Compiles one program per kind from `policies` (every policy file of the compiled rules,
    /// by path) for the compiled rules of `by_kind` (`queries[i]` is rule `i`'s query, `None`
    /// when it runs in the interpreter).
    pub fn build(
        policies: &BTreeMap<String, String>,
        queries: &[Option<&str>],
        by_kind: &HashMap<String, Vec<usize>>,
    ) -> Self {
        let mut kinds: Vec<(&String, Vec<usize>)> = by_kind
            .iter()
            .map(|(kind, rules)| {
                let compiled: Vec<usize> = rules
                    .iter()
                    .copied()
                    .filter(|&r| queries[r].is_some())
                    .collect();
                (kind, compiled)
            })
            .filter(|(_, rules)| rules.len() > 1)
            .collect();
        kinds.sort();
        let mut empty = Self::default();
        if kinds.is_empty() {
            return empty;
        }
        let mut text = format!("package {PACKAGE}\n\nimport rego.v1\n");
        for (k, (_, rules)) in kinds.iter().enumerate() {
            for (tag, &r) in rules.iter().enumerate() {
                let query = queries[r].unwrap_or_default();
                let _ = write!(
                    text,
                    "\nkind_{k} contains [{tag}, v] if {{\n\tsome v in {query}\n}}\n"
                );
            }
        }
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(false);
        for (path, contents) in policies {
            if engine.add_policy(path.clone(), contents.clone()).is_err() {
                return empty;
            }
        }
        if engine.add_policy("<combined>".to_string(), text).is_err() {
            return empty;
        }
        // One analysis of every policy serves the programs of every kind.
        let first: std::sync::Arc<str> = format!("data.{PACKAGE}.kind_0").into();
        let Ok(policy) = engine.compile_with_entrypoint(&first) else {
            return empty;
        };
        for (k, (kind, rules)) in kinds.into_iter().enumerate() {
            let entry = format!("data.{PACKAGE}.kind_{k}");
            let Ok(program) = regorus::languages::rego::compiler::Compiler::compile_from_policy(
                &policy,
                &[entry.as_str()],
            ) else {
                continue;
            };
            empty.by_kind.insert(kind.clone(), empty.programs.len());
            empty.programs.push(KindProgram {
                program: Program {
                    program,
                    policy: policy.clone(),
                },
                rules,
            });
        }
        empty
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::Prepared;
    use crate::model::Inventory;
    use crate::rules::RuleSet;

    #[test]
    fn every_kind_with_several_built_in_rules_has_its_program() {
        let (rules, diags) = RuleSet::load(None);
        assert!(diags.is_empty());
        let prepared = Prepared::new(&rules, &Inventory::new(Vec::new()), &serde_json::json!({}));
        let mut kinds: Vec<&String> = prepared
            .by_kind
            .iter()
            .filter(|(_, r)| r.len() > 1)
            .map(|(k, _)| k)
            .collect();
        kinds.sort();
        for kind in kinds {
            let k = prepared.combined.by_kind.get(kind);
            let k = k.unwrap_or_else(|| panic!("{kind} has no combined program"));
            assert_eq!(prepared.combined.programs[*k].rules, prepared.by_kind[kind]);
        }
        assert!(prepared.combined.by_kind.contains_key("Deployment"));
    }
}
