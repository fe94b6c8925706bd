//! Admission: one object judged by the rules, config and suppressions that `scan` uses,
//! against a prepared view of the cluster.
//!
//! ```text
//! cache objects ─► Inventory ─► engine::Prepared   (once per cache generation)
//! object ─► Resource ─► evaluate_one ─► suppress ─► action (deny / warn) ─► Verdict
//! ```
//!
//! Only the rules that declare the webhook as a source (`sources: [.., W]`) run. The cost of
//! one review does not depend on the cluster's size: the rules' view of the cache is built
//! when the cache changes ([`Admission::refresh`]), and a review only reads it.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use serde_json::Value;

use super::{prepare_rules, Options};
use crate::config::Config;
use crate::engine::Prepared;
use crate::model::{Action, Diagnostic, Finding, Inventory, Level, Origin, Resource, ResourceRef};
use crate::rules::{RuleMeta, RuleSet};
use crate::suppress;

/// The webhook's letter in a rule's `sources`.
pub const SOURCE: &str = "W";

/// Longest warning the API server passes on whole; longer ones are cut with an ellipsis.
const WARNING_LIMIT: usize = 256;

/// `--mode`: refuse what the rules deny, or only warn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Enforce,
    /// Admit everything; what enforce mode would deny becomes a warning.
    Audit,
}

/// `--cache-unsure`: what a rule that reads the cluster does while the cache cannot be
/// trusted (not yet synced, or its watch failing past the grace period).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unsure {
    /// Its findings are warnings: the object is admitted.
    #[default]
    Warn,
    /// Its findings count as they would with a current cache.
    Deny,
    /// Its findings are dropped.
    Allow,
}

/// How the webhook judges.
#[derive(Clone, Copy, Debug, Default)]
pub struct Settings {
    pub mode: Mode,
    pub unsure: Unsure,
}

/// What the review asks about: the operation and the object, as the AdmissionRequest gives
/// them.
#[derive(Clone, Debug)]
pub struct Subject {
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    pub operation: String,
    /// The request's namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// The request's name (empty for a create with `generateName`).
    pub name: String,
    /// The subresource (`status`, `scale` …), empty for the object itself.
    pub sub_resource: String,
    /// The object (`null` on DELETE).
    pub object: Value,
}

/// One finding as the review reports it.
#[derive(Clone, Debug)]
pub struct Judged {
    pub finding: Finding,
    /// The rule's remediation.
    pub remediation: String,
}

impl Judged {
    /// `BA101 run-as-non-root at /spec/…/runAsNonRoot: message. Fix: remediation`.
    #[must_use]
    pub fn line(&self) -> String {
        let f = &self.finding;
        format!(
            "{} {} at {}: {} Fix: {}",
            f.rule_id,
            f.rule_name,
            crate::model::pointer(&f.path),
            end_sentence(&f.message),
            self.remediation
        )
    }
}

/// The answer to one review.
#[derive(Clone, Debug, Default)]
pub struct Verdict {
    pub allowed: bool,
    /// The findings that refuse the object (none when allowed).
    pub denials: Vec<Judged>,
    /// Short texts for the response's `warnings`: findings whose action is warn, suppressed
    /// findings with their reason, unsure cross-resource findings, and audit mode's would-be
    /// denials.
    pub warnings: Vec<String>,
    /// Why the object could not be judged whole (a rule error, a field of the wrong type).
    pub errors: Vec<String>,
    /// Every finding the rules gave, suppressed or not (for metrics).
    pub findings: Vec<Finding>,
    /// Why the review was skipped without evaluation (DELETE, a subresource, a kind no rule
    /// checks).
    pub skipped: Option<&'static str>,
}

impl Verdict {
    /// The denial message: each finding on its own line.
    #[must_use]
    pub fn message(&self) -> String {
        let lines: Vec<String> = self.denials.iter().map(Judged::line).collect();
        format!(
            "blogaudit: {} finding{} refused:\n{}",
            lines.len(),
            if lines.len() == 1 { "" } else { "s" },
            lines.join("\n")
        )
    }
}

/// The rules bound to one generation of the cache.
struct View {
    prepared: Prepared,
    generation: u64,
    built: Instant,
}

/// The rules, config and current view of the cluster; shared by every review.
pub struct Admission {
    rules: RuleSet,
    config: Config,
    config_data: Value,
    settings: Settings,
    today: i64,
    /// Rule and config problems found at start.
    diagnostics: Vec<Diagnostic>,
    view: RwLock<Arc<View>>,
}

impl Admission {
    /// Loads the config and rules as `scan` would (`opts.config`, `opts.rules`), keeps the
    /// webhook's rules, and prepares them over an empty cluster.
    #[must_use]
    pub fn new(opts: &Options, settings: Settings) -> Self {
        let (config, mut rules, mut diagnostics) = prepare_rules(opts);
        rules
            .rules
            .retain(|r| r.meta.sources.iter().any(|s| s == SOURCE));
        let config_data = config.rego_data();
        let prepared = Prepared::new(&rules, &Inventory::new(Vec::new()), &config_data);
        diagnostics.extend(prepared.diagnostics().iter().cloned());
        Self {
            rules,
            config,
            config_data,
            settings,
            today: opts.today,
            diagnostics,
            view: RwLock::new(Arc::new(View {
                prepared,
                generation: 0,
                built: Instant::now(),
            })),
        }
    }

    /// Problems loading the config and rules: an error among them means the webhook should
    /// not start.
    #[must_use]
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The rules that run at admission.
    #[must_use]
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Whether every rule runs compiled, so that one evaluation is bounded by the VM's
    /// instruction budget (an interpreted user rule is bounded by time only).
    #[must_use]
    pub fn bounded(&self) -> bool {
        self.rules.rules.iter().all(|r| r.program.is_some())
    }

    /// The kinds the rules read from the cluster: what the cache must hold. (A user rule that
    /// declares no `lookups` sees only these at admission.)
    #[must_use]
    pub fn lookup_kinds(&self) -> BTreeSet<String> {
        self.rules
            .rules
            .iter()
            .flat_map(|r| r.meta.lookups.iter().flatten().cloned())
            .collect()
    }

    /// Prepares the rules over `objects` (the cache at `generation`) and makes that the view
    /// every later review reads. A generation older than the current one is ignored.
    pub fn refresh(&self, objects: Vec<Resource>, generation: u64) {
        if generation < self.generation() {
            return;
        }
        let inventory = Inventory::new(objects);
        let prepared = Prepared::new(&self.rules, &inventory, &self.config_data);
        let view = Arc::new(View {
            prepared,
            generation,
            built: Instant::now(),
        });
        let mut current = self
            .view
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if generation >= current.generation {
            *current = view;
        }
    }

    /// The cache generation the current view was prepared from.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.current().generation
    }

    /// Seconds since the current view was prepared.
    #[must_use]
    pub fn view_age(&self) -> f64 {
        self.current().built.elapsed().as_secs_f64()
    }

    fn current(&self) -> Arc<View> {
        Arc::clone(
            &self
                .view
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Judges one review. `unsure` lists the cached kinds that cannot be trusted now.
    #[must_use]
    pub fn judge(&self, subject: Subject, unsure: &[String]) -> Verdict {
        if matches!(subject.operation.as_str(), "DELETE" | "CONNECT") {
            return skipped("operation");
        }
        if !subject.sub_resource.is_empty() {
            return skipped("subresource");
        }
        let Some(resource) = resource(subject) else {
            return skipped("not-kubernetes");
        };
        if !self
            .rules
            .rules
            .iter()
            .any(|r| r.meta.applies_to(&resource.kind))
        {
            return skipped("kind");
        }
        let view = self.current();
        let (mut findings, diagnostics) = view.prepared.evaluate_one(&resource);
        let inventory = Inventory::new(vec![resource]);
        // A long-running webhook lets suppressions expire as the days pass.
        let today = self.today.max(crate::model::date::today());
        let notes = suppress::apply(&mut findings, &inventory, &self.config, today);
        let mut verdict = Verdict {
            allowed: true,
            ..Verdict::default()
        };
        for d in diagnostics.iter().chain(&notes) {
            if d.level == Level::Error {
                verdict.errors.push(d.message.clone());
            } else if d.level == Level::Warning {
                verdict
                    .warnings
                    .push(clip(&format!("blogaudit: {}", d.message)));
            }
        }
        for f in &findings {
            let Some(meta) = self.rules.get(&f.rule_id).map(|r| &r.meta) else {
                continue;
            };
            self.place(&mut verdict, f, meta, unsure);
        }
        verdict.findings = findings;
        verdict.allowed = verdict.denials.is_empty();
        if self.settings.mode == Mode::Audit && !verdict.allowed {
            for d in std::mem::take(&mut verdict.denials) {
                verdict
                    .warnings
                    .push(clip(&format!("would deny: {}", d.line())));
            }
            verdict.allowed = true;
        }
        verdict
    }

    /// Puts one finding where its suppression, the cache's state and its action say.
    fn place(&self, verdict: &mut Verdict, f: &Finding, meta: &RuleMeta, unsure: &[String]) {
        let judged = Judged {
            finding: f.clone(),
            remediation: meta.remediation.clone(),
        };
        if let Some(s) = &f.suppression {
            verdict.warnings.push(clip(&format!(
                "{} suppressed on {} ({}): {}",
                f.rule_id, f.resource, s.source, s.reason
            )));
            return;
        }
        let doubtful: Vec<&str> = meta
            .lookups
            .iter()
            .flatten()
            .filter(|k| unsure.contains(k))
            .map(String::as_str)
            .collect();
        if !doubtful.is_empty() {
            match self.settings.unsure {
                Unsure::Allow => return,
                Unsure::Warn => {
                    verdict.warnings.push(clip(&format!(
                        "not enforced, the cache of {} is not current: {}",
                        doubtful.join(", "),
                        judged.line()
                    )));
                    return;
                }
                Unsure::Deny => {}
            }
        }
        match meta.action {
            Action::Deny => verdict.denials.push(judged),
            Action::Warn => verdict.warnings.push(clip(&judged.line())),
        }
    }
}

fn skipped(why: &'static str) -> Verdict {
    Verdict {
        allowed: true,
        skipped: Some(why),
        ..Verdict::default()
    }
}

/// The object under review as a resource, trimmed as a live read is: its namespace and name
/// from the request when the object lacks them (a create with `generateName`).
fn resource(subject: Subject) -> Option<Resource> {
    let Subject {
        namespace,
        name,
        mut object,
        ..
    } = subject;
    let meta = object
        .as_object_mut()?
        .entry("metadata")
        .or_insert_with(|| Value::Object(serde_json::Map::new()))
        .as_object_mut()?;
    if !namespace.is_empty() && !meta.contains_key("namespace") {
        meta.insert("namespace".into(), Value::String(namespace));
    }
    if meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        let shown = if name.is_empty() {
            let prefix = meta
                .get("generateName")
                .and_then(Value::as_str)
                .unwrap_or("");
            format!("{prefix}<generated>")
        } else {
            name
        };
        meta.insert("name".into(), Value::String(shown));
    }
    // What no rule needs and no answer may echo: Secret values, the last-applied copy of the
    // object (which holds them too), managed fields.
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    crate::source::live::kubernetes::trim(&mut object, &kind);
    let mut r = Resource::from_k8s(
        object,
        Origin::Object {
            reference: String::new(),
        },
    )?;
    r.origin = Origin::Object {
        reference: ResourceRef::of(&r).to_string(),
    };
    Some(r)
}

/// `text` ending with a full stop.
fn end_sentence(text: &str) -> String {
    let t = text.trim_end();
    if t.ends_with(['.', '!', '?']) {
        t.to_string()
    } else {
        format!("{t}.")
    }
}

/// A warning cut to what the API server passes on.
fn clip(text: &str) -> String {
    if text.chars().count() <= WARNING_LIMIT {
        return text.to_string();
    }
    let mut out: String = text.chars().take(WARNING_LIMIT - 1).collect();
    out.push('…');
    out
}
