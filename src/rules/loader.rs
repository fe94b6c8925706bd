//! Loads rule folders (built in, and the user's `--rules DIR`) and compiles each into its own
//! regorus engine, so one broken rule never takes the others down.

use std::path::Path;

use include_dir::{include_dir, Dir};

use super::meta::{self, RuleMeta};
use crate::model::{Diagnostic, Pos};

/// The rule folders shipped inside the binary.
pub static BUILTIN_RULES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/rules");

/// A rule ready to evaluate.
#[derive(Clone)]
pub struct CompiledRule {
    pub meta: RuleMeta,
    /// The engine holding the shared library and this rule's policy (no data yet).
    pub engine: regorus::Engine,
    /// `data.blogaudit.<ID>.violation`
    pub query: String,
}

/// Every rule of a run.
#[derive(Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<CompiledRule>,
}

/// One `rule.rego` as found, before compiling.
struct RuleSource {
    /// Shown in diagnostics: `rules/k8s/BA101-x/rule.rego` or the user's path.
    path: String,
    folder: String,
    text: String,
}

impl RuleSet {
    /// The built-in rules plus those under `extra`. Problems come back as diagnostics; the
    /// rules that load are kept.
    #[must_use]
    pub fn load(extra: Option<&Path>) -> (Self, Vec<Diagnostic>) {
        let mut libs = Vec::new();
        let mut sources = Vec::new();
        collect_builtin(&BUILTIN_RULES, &mut libs, &mut sources);
        let mut diags = Vec::new();
        if let Some(dir) = extra {
            collect_dir(dir, &mut libs, &mut sources, &mut diags);
        }
        let (set, more) = Self::compile(&libs, sources);
        diags.extend(more);
        (set, diags)
    }

    fn compile(libs: &[(String, String)], sources: Vec<RuleSource>) -> (Self, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let mut base = regorus::Engine::new();
        base.set_rego_v0(false);
        for (path, text) in libs {
            if let Err(e) = base.add_policy(path.clone(), text.clone()) {
                diags.push(rego_error(path, &e.to_string()));
            }
        }
        let mut rules: Vec<CompiledRule> = Vec::new();
        for src in sources {
            let meta = match meta::parse(&src.text, &src.folder) {
                Ok(m) => m,
                Err((pos, msg)) => {
                    diags.push(
                        Diagnostic::error("rule-error", msg)
                            .in_file(&src.path)
                            .at(pos)
                            .help("see rules/README.md for the METADATA format"),
                    );
                    continue;
                }
            };
            if rules.iter().any(|r| r.meta.id == meta.id) {
                diags.push(
                    Diagnostic::error(
                        "rule-error",
                        format!("rule ID {} is defined twice", meta.id),
                    )
                    .in_file(&src.path)
                    .help("give the rule its own ID"),
                );
                continue;
            }
            let mut engine = base.clone();
            let package = match engine.add_policy(src.path.clone(), src.text.clone()) {
                Ok(p) => p,
                Err(e) => {
                    diags.push(rego_error(&src.path, &e.to_string()));
                    continue;
                }
            };
            let expected = format!("data.blogaudit.{}", meta.id);
            if package != expected {
                diags.push(
                    Diagnostic::error(
                        "rule-error",
                        format!(
                            "package is `{package}`, expected `package blogaudit.{}`",
                            meta.id
                        ),
                    )
                    .in_file(&src.path)
                    .help("the package names the rule: `package blogaudit.<ID>`"),
                );
                continue;
            }
            let query = format!("{expected}.violation");
            // Evaluate once on an empty input so that compile errors surface now, not per resource.
            engine.set_input(regorus::Value::new_object());
            if let Err(e) = engine.eval_rule(query.clone()) {
                diags.push(rego_error(&src.path, &e.to_string()));
                continue;
            }
            rules.push(CompiledRule {
                meta,
                engine,
                query,
            });
        }
        rules.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
        (Self { rules }, diags)
    }

    /// The rule with this ID.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&CompiledRule> {
        self.rules
            .iter()
            .find(|r| r.meta.id.eq_ignore_ascii_case(id))
    }
}

/// Turns a regorus error (which names `file:line:col`) into a diagnostic at that line.
fn rego_error(path: &str, message: &str) -> Diagnostic {
    let mut d = Diagnostic::error("rule-error", format!("Rego error: {}", message.trim()))
        .in_file(path)
        .help("fix the policy; `blogaudit rules` lists the rules that loaded");
    let needle = format!("{path}:");
    if let Some(rest) = message.find(&needle).map(|i| &message[i + needle.len()..]) {
        let mut parts = rest.split(|c: char| !c.is_ascii_digit());
        let line = parts.next().and_then(|l| l.parse().ok());
        let column = parts.next().and_then(|c| c.parse().ok()).unwrap_or(1);
        if let Some(line) = line {
            d = d.at(Pos { line, column });
        }
    }
    d
}

fn collect_builtin(dir: &Dir<'_>, libs: &mut Vec<(String, String)>, out: &mut Vec<RuleSource>) {
    for file in dir.files() {
        let path = file.path();
        if path.extension().and_then(|e| e.to_str()) != Some("rego") {
            continue;
        }
        let text = file.contents_utf8().unwrap_or_default().to_string();
        let shown = format!("rules/{}", path.display());
        if path.starts_with("lib") {
            libs.push((shown, text));
        } else if path.file_name().and_then(|n| n.to_str()) == Some("rule.rego") {
            let folder = path
                .parent()
                .map(|p| format!("rules/{}", p.display()))
                .unwrap_or_default();
            out.push(RuleSource {
                path: shown,
                folder,
                text,
            });
        }
    }
    for sub in dir.dirs() {
        collect_builtin(sub, libs, out);
    }
}

fn collect_dir(
    dir: &Path,
    libs: &mut Vec<(String, String)>,
    out: &mut Vec<RuleSource>,
    diags: &mut Vec<Diagnostic>,
) {
    if !dir.is_dir() {
        diags.push(
            Diagnostic::error("rule-error", "--rules directory does not exist")
                .in_file(dir.display().to_string())
                .help("pass a directory of rule folders"),
        );
        return;
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                diags.push(Diagnostic::error(
                    "rule-error",
                    format!("cannot read rules: {e}"),
                ));
                continue;
            }
        };
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("rego") {
            continue;
        }
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                diags.push(
                    Diagnostic::error("rule-error", format!("cannot read rule: {e}"))
                        .in_file(&shown),
                );
                continue;
            }
        };
        if path.file_name().and_then(|n| n.to_str()) == Some("rule.rego") {
            let folder = path
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            out.push(RuleSource {
                path: shown,
                folder,
                text,
            });
        } else {
            libs.push((shown, text));
        }
    }
}
