//! The engine: every rule over every resource of its kinds, in parallel. Pure: no I/O.
//!
//! Built-in rules run in regorus's compiled evaluator (RVM), the rest in its interpreter
//! (see [`crate::rules::Compilation`]); `tests/differential.rs` holds the two to the same
//! findings.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde_json::Value;

use crate::model::fingerprint;
use crate::model::{Diagnostic, Inventory, Origin, PathSeg, Resource, Span};
use crate::model::{Finding, Fix, Location, ResourceRef};
use crate::rules::{CompiledRule, Program, RuleMeta, RuleSet};

mod combined;
mod data;
pub mod shape;

/// Resources evaluated per set of evaluators taken from the pool.
const CHUNK: usize = 256;

/// Instructions one RVM evaluation may run before it is stopped with an error, so that a
/// rule that loops without end reports instead of hanging the scan. The slowest built-in rule
/// on a 10k-object inventory runs a few thousand.
const MAX_INSTRUCTIONS: usize = 50_000_000;

/// Longest one interpreted rule may run on one resource: a rule that loops over it fails
/// with a rule error, and the other rules go on. (regorus checks the time between steps of
/// evaluation; a single built-in call that builds a huge value, such as
/// `numbers.range(1, 2e8)`, runs to its end before the check.) Compiled rules have an
/// instruction budget instead.
const RULE_TIME_LIMIT: Duration = Duration::from_secs(2);

/// What an evaluation produced.
pub struct Evaluation {
    pub findings: Vec<Finding>,
    pub diagnostics: Vec<Diagnostic>,
    /// CPU time spent in each rule, summed over threads, slowest first (for `--timings`).
    pub rule_time: Vec<(String, Duration)>,
}

/// Evaluates `rules` over `inventory`. `config` becomes `data.config`.
#[must_use]
pub fn evaluate(rules: &RuleSet, inventory: &Inventory, config: &Value) -> Evaluation {
    // A scan evaluates each rule on its own (for its time), so it needs no combined programs.
    let prepared = Prepared::with(rules, inventory, config, false);
    prepared.evaluate_all(inventory)
}

/// A rule's evaluator for one thread: regorus's compiled VM, or its interpreter.
enum Evaluator {
    Vm(Box<regorus::rvm::RegoVM>),
    Interpreter(Box<regorus::Engine>),
}

/// A rule made ready for one data document.
struct Ready {
    meta: RuleMeta,
    /// The rule's ID and name as its findings hold them: one copy for all of them.
    id: Arc<str>,
    name: Arc<str>,
    query: String,
    /// The VM program, or `None` for the interpreter.
    program: Option<Program>,
    /// The interpreter engine with the data added and the policy prepared, so that clones
    /// start ready (unused for a compiled rule).
    engine: regorus::Engine,
}

impl Ready {
    fn evaluator(&self, data: &regorus::Value) -> Evaluator {
        match &self.program {
            Some(p) => {
                // The same data was accepted when the rule was prepared.
                let (vm, _) = vm(p, data);
                Evaluator::Vm(vm)
            }
            None => Evaluator::Interpreter(Box::new(self.engine.clone())),
        }
    }
}

impl Evaluator {
    fn eval(&mut self, query: &str, input: regorus::Value) -> Result<regorus::Value, String> {
        match self {
            Self::Vm(vm) => {
                vm.set_input(input);
                vm.execute_entry_point_by_index(0)
                    .map_err(|e| e.to_string())
            }
            Self::Interpreter(engine) => {
                engine.set_input(input);
                engine
                    .eval_rule(query.to_string())
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// Rules bound to one inventory's data document, ready to evaluate any number of times.
///
/// The data document (`data.inventory`, `data.config`) is built once, in parallel, and shared
/// read-only by every thread; evaluators are pooled and reused. A scan prepares once and calls
/// [`Prepared::evaluate_all`]; the admission webhook keeps one per cache generation and calls
/// [`Prepared::evaluate_one`] for each review, preparing again only when the cache changes.
pub struct Prepared {
    rules: Vec<Ready>,
    by_kind: HashMap<String, Vec<usize>>,
    data: regorus::Value,
    /// The inventory's resources of looked-up kinds as rule inputs, shared with `data`'s
    /// `objects`; `None` for the others, converted when evaluated.
    inputs: Vec<Option<regorus::Value>>,
    /// The shape errors of the resources of `inputs`, by position (see [`shape`]).
    malformed: HashMap<usize, Diagnostic>,
    /// Rules that could not take the data document.
    diagnostics: Vec<Diagnostic>,
    /// The compiled rules of each kind as one program (see [`combined`]).
    combined: combined::Combined,
    /// Sets of evaluators not in use.
    pool: Mutex<Vec<Evaluators>>,
}

/// The evaluators of one thread: one per rule, and one VM per combined program, made when
/// first needed.
struct Evaluators {
    each: Vec<Evaluator>,
    combined: Vec<Option<Box<regorus::rvm::RegoVM>>>,
    paths: Paths,
}

impl Prepared {
    /// Builds the data document of `inventory` and `config` and readies every rule on it,
    /// and the combined program of each kind for [`Prepared::evaluate_one`].
    #[must_use]
    pub fn new(rules: &RuleSet, inventory: &Inventory, config: &Value) -> Self {
        Self::with(rules, inventory, config, true)
    }

    /// [`Prepared::new`], with the combined programs only when `together`.
    fn with(rules: &RuleSet, inventory: &Inventory, config: &Value, together: bool) -> Self {
        // The kinds any rule reads from `data.inventory.objects`; all of them when a rule
        // does not say.
        let looked_up: Option<std::collections::BTreeSet<String>> = rules
            .rules
            .iter()
            .map(|r| r.meta.lookups.clone())
            .try_fold(std::collections::BTreeSet::new(), |mut all, l| {
                all.extend(l?);
                Some(all)
            });
        let data::Built {
            inputs,
            data,
            malformed,
        } = data::build(inventory, config, looked_up.as_ref());
        let mut ready: Vec<Ready> = Vec::with_capacity(rules.rules.len());
        let mut diagnostics = Vec::new();
        for rule in &rules.rules {
            match ready_rule(rule, &data) {
                Ok(r) => ready.push(r),
                Err(e) => diagnostics.push(
                    Diagnostic::error(
                        "rule-error",
                        format!("{}: cannot load data: {e}", rule.meta.id),
                    )
                    .in_file(&rule.meta.folder),
                ),
            }
        }
        let mut by_kind: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, rule) in ready.iter().enumerate() {
            for kind in &rule.meta.kinds {
                by_kind.entry(kind.clone()).or_default().push(i);
            }
        }
        let combined = if together {
            combine(&ready, &by_kind)
        } else {
            combined::Combined::default()
        };
        Self {
            rules: ready,
            by_kind,
            data,
            inputs,
            malformed,
            diagnostics,
            combined,
            pool: Mutex::new(Vec::new()),
        }
    }

    /// Every rule over every resource of `inventory`, which must be the inventory this was
    /// prepared from (its resources are looked up by position).
    #[must_use]
    pub fn evaluate_all(&self, inventory: &Inventory) -> Evaluation {
        let same = self.inputs.len() == inventory.resources.len();
        let indices: Vec<usize> = (0..inventory.resources.len()).collect();
        let results: Vec<(Vec<Finding>, Vec<Diagnostic>, Vec<Duration>)> = indices
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut evaluators = self.take();
                let mut findings = Vec::new();
                let mut errors = Vec::new();
                let mut spent = vec![Duration::ZERO; self.rules.len()];
                for &i in chunk {
                    let resource = &inventory.resources[i];
                    let (subject, input) = match self.inputs.get(i) {
                        // A looked-up object: its shape was checked and its input made with
                        // the data document; a stashed one is read again only to place
                        // what its rules find.
                        Some(Some(shared)) if same => {
                            if let Some(d) = self.malformed.get(&i) {
                                errors.push(d.clone());
                                continue;
                            }
                            (Subject::new(resource), shared.clone())
                        }
                        // Read again here when stashed, and dropped after its rules.
                        _ => {
                            let Some(hydrated) = resource.hydrated() else {
                                errors.push(Diagnostic::not_read_again(resource));
                                continue;
                            };
                            // A resource with a field of the wrong type is reported at that
                            // field, not run.
                            if let Some(d) = shape::check(&hydrated) {
                                errors.push(d);
                                continue;
                            }
                            let input = data::to_rego(&hydrated.body);
                            (Subject::with(resource, hydrated), input)
                        }
                    };
                    self.run(
                        &mut evaluators,
                        &subject,
                        &input,
                        false,
                        &mut findings,
                        &mut errors,
                        &mut spent,
                    );
                    if subject.unreadable() {
                        errors.push(Diagnostic::not_read_again(resource));
                    }
                }
                self.give_back(evaluators);
                // Without the spare room of its growth: every chunk's findings are held
                // until they are gathered.
                findings.shrink_to_fit();
                (findings, errors, spent)
            })
            .collect();

        let mut findings = Vec::with_capacity(results.iter().map(|r| r.0.len()).sum());
        let mut diagnostics = self.diagnostics.clone();
        let mut total = vec![Duration::ZERO; self.rules.len()];
        for (f, d, spent) in results {
            findings.extend(f);
            diagnostics.extend(d);
            for (t, s) in total.iter_mut().zip(spent) {
                *t += s;
            }
        }
        let mut rule_time: Vec<(String, Duration)> = self
            .rules
            .iter()
            .zip(total)
            .map(|(r, t)| (r.meta.id.clone(), t))
            .collect();
        rule_time.sort_by_key(|r| std::cmp::Reverse(r.1));
        sort(&mut findings);
        Evaluation {
            findings,
            diagnostics,
            rule_time,
        }
    }

    /// Every rule of its kind over one resource, which need not be in the inventory (an
    /// object under admission review): it is judged against the prepared inventory. The
    /// compiled rules of the kind run as one program.
    #[must_use]
    pub fn evaluate_one(&self, resource: &Resource) -> (Vec<Finding>, Vec<Diagnostic>) {
        let mut spent = vec![Duration::ZERO; self.rules.len()];
        self.evaluate_one_with(resource, true, &mut spent)
    }

    /// [`Prepared::evaluate_one`] running each rule on its own, adding the time each rule
    /// took to `spent` (indexed as [`Prepared::rule_ids`]). Same findings, more time.
    #[must_use]
    pub fn evaluate_one_timed(
        &self,
        resource: &Resource,
        spent: &mut [Duration],
    ) -> (Vec<Finding>, Vec<Diagnostic>) {
        self.evaluate_one_with(resource, false, spent)
    }

    fn evaluate_one_with(
        &self,
        resource: &Resource,
        together: bool,
        spent: &mut [Duration],
    ) -> (Vec<Finding>, Vec<Diagnostic>) {
        if let Some(d) = shape::check(resource) {
            return (Vec::new(), vec![d]);
        }
        let mut evaluators = self.take();
        let mut findings = Vec::new();
        let mut errors = Vec::new();
        let input = data::to_rego(&resource.body);
        self.run(
            &mut evaluators,
            &Subject::new(resource),
            &input,
            together,
            &mut findings,
            &mut errors,
            spent,
        );
        self.give_back(evaluators);
        sort(&mut findings);
        (findings, errors)
    }

    /// The IDs of the prepared rules, in the order of [`Prepared::evaluate_one_timed`]'s times.
    #[must_use]
    pub fn rule_ids(&self) -> Vec<&str> {
        self.rules.iter().map(|r| r.meta.id.as_str()).collect()
    }

    /// Problems preparing the rules (a rule that could not take the data document).
    #[must_use]
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    fn take(&self) -> Evaluators {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        pooled.unwrap_or_else(|| Evaluators {
            each: self.rules.iter().map(|r| r.evaluator(&self.data)).collect(),
            combined: self.combined.programs.iter().map(|_| None).collect(),
            paths: Paths::default(),
        })
    }

    fn give_back(&self, evaluators: Evaluators) {
        if let Ok(mut pool) = self.pool.lock() {
            pool.push(evaluators);
        }
    }

    /// Runs the rules of `resource`'s kind on `input`. With `together`, the compiled rules of
    /// the kind run as one program when there is one (the time goes to no rule); otherwise,
    /// or when that program fails, each rule runs on its own and its time goes to `spent`.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        evaluators: &mut Evaluators,
        subject: &Subject,
        input: &regorus::Value,
        together: bool,
        findings: &mut Vec<Finding>,
        errors: &mut Vec<Diagnostic>,
        spent: &mut [Duration],
    ) {
        let resource = subject.resource;
        let Some(applicable) = self.by_kind.get(resource.kind.as_str()) else {
            return;
        };
        let joint = if together {
            self.run_combined(evaluators, resource, input)
        } else {
            None
        };
        for &r in applicable {
            let rule = &self.rules[r];
            if let Some(found) = joint.as_ref().and_then(|j| j.get(&r)) {
                let items = found.iter().cloned();
                collect(rule, subject, items, &mut evaluators.paths, findings);
                continue;
            }
            let started = Instant::now();
            let result = evaluators.each[r].eval(&rule.query, input.clone());
            spent[r] += started.elapsed();
            match result {
                Ok(v) => {
                    let items = match serde_json::to_value(&v) {
                        Ok(Value::Array(items)) => items,
                        _ => Vec::new(),
                    };
                    let items = items.into_iter();
                    collect(rule, subject, items, &mut evaluators.paths, findings);
                }
                Err(e) => errors.push(
                    Diagnostic::error(
                        "rule-error",
                        format!(
                            "{} failed on {}: {}",
                            rule.meta.id,
                            ResourceRef::of(resource),
                            e.trim()
                        ),
                    )
                    .in_file(&rule.meta.folder),
                ),
            }
        }
    }

    /// The violations of each compiled rule of `resource`'s kind, by rule, from one
    /// execution of the kind's combined program; `None` when the kind has none or it failed.
    fn run_combined(
        &self,
        evaluators: &mut Evaluators,
        resource: &Resource,
        input: &regorus::Value,
    ) -> Option<HashMap<usize, Vec<Value>>> {
        let k = *self.combined.by_kind.get(resource.kind.as_str())?;
        let kind = &self.combined.programs[k];
        // A VM that does not take the data fails every execution, and the rules run one by
        // one.
        let vm = evaluators.combined[k].get_or_insert_with(|| vm(&kind.program, &self.data).0);
        vm.set_input(input.clone());
        let value = vm.execute_entry_point_by_index(0).ok()?;
        let mut found: HashMap<usize, Vec<Value>> =
            kind.rules.iter().map(|&r| (r, Vec::new())).collect();
        if let Ok(set) = value.as_set() {
            for item in set.iter_sorted() {
                let (Ok(tag), Ok(v)) = (item[0].as_u64(), serde_json::to_value(&item[1])) else {
                    return None;
                };
                let rule = usize::try_from(tag).ok().and_then(|t| kind.rules.get(t))?;
                found.get_mut(rule)?.push(v);
            }
        }
        Some(found)
    }
}

/// A VM running `p` on `data`, with strict built-in errors and the instruction budget, and
/// whether it took the data (a VM that did not fails every execution).
fn vm(p: &Program, data: &regorus::Value) -> (Box<regorus::rvm::RegoVM>, Result<(), String>) {
    let mut vm = regorus::rvm::RegoVM::new_with_policy(p.policy.clone());
    vm.load_program(p.program.clone());
    let took = vm.set_data(data.clone()).map_err(|e| e.to_string());
    vm.set_strict_builtin_errors(true);
    vm.set_max_instructions(MAX_INSTRUCTIONS);
    (Box::new(vm), took)
}

/// The combined programs of the compiled rules in `ready` (see [`combined`]).
fn combine(ready: &[Ready], by_kind: &HashMap<String, Vec<usize>>) -> combined::Combined {
    let mut policies = std::collections::BTreeMap::new();
    for rule in ready.iter().filter(|r| r.program.is_some()) {
        for source in rule.engine.get_policies().unwrap_or_default() {
            policies
                .entry(source.get_path().clone())
                .or_insert_with(|| source.get_contents().clone());
        }
    }
    let queries: Vec<Option<&str>> = ready
        .iter()
        .map(|r| r.program.as_ref().map(|_| r.query.as_str()))
        .collect();
    combined::Combined::build(&policies, &queries, by_kind)
}

/// Readies one rule on `data`: the interpreter engine gets the data and is prepared once
/// (analysis, scheduling, hoisting) so its clones start ready; a compiled rule checks that
/// the VM accepts the data.
fn ready_rule(rule: &CompiledRule, data: &regorus::Value) -> Result<Ready, String> {
    let mut engine = rule.engine.clone();
    engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
        limit: RULE_TIME_LIMIT,
        check_interval: std::num::NonZeroU32::MIN.saturating_add(63),
    });
    if let Some(p) = &rule.program {
        vm(p, data).1?;
    } else {
        engine.add_data(data.clone()).map_err(|e| e.to_string())?;
        engine.set_input(regorus::Value::new_object());
        engine
            .eval_rule(rule.query.clone())
            .map_err(|e| e.to_string())?;
    }
    Ok(Ready {
        meta: rule.meta.clone(),
        id: rule.meta.id.as_str().into(),
        name: rule.meta.name.as_str().into(),
        query: rule.query.clone(),
        program: rule.program.clone(),
        engine,
    })
}

/// Findings in report order, with fingerprints made unique.
fn sort(findings: &mut [Finding]) {
    // Their positions are sorted (stably, as the findings were), then the findings moved into
    // that order in place: a stable sort of the findings themselves takes a scratch copy of
    // half of them, hundreds of megabytes on a large manifest.
    fn key(f: &Finding) -> (Option<&str>, Option<crate::model::Pos>, &str) {
        (f.file(), f.span().map(|s| s.start), &f.rule_id)
    }
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&a, &b| key(&findings[a]).cmp(&key(&findings[b])));
    // `order[i]` is where the finding that belongs at `i` is now; each cycle of the
    // permutation is followed once, and a place done points to itself.
    for start in 0..order.len() {
        let mut here = start;
        loop {
            let next = order[here];
            order[here] = here;
            if next == start || next == here {
                break;
            }
            findings.swap(here, next);
            here = next;
        }
    }
    fingerprint::disambiguate(findings);
}

/// What the findings on one resource share, made with the first of them.
struct Subject<'r> {
    /// The resource as the inventory holds it (its body may be stashed).
    resource: &'r Resource,
    /// The resource with its body and span tree, to place findings: read again on first
    /// need when stashed; `None` when it could not be.
    located: OnceCell<Option<Cow<'r, Resource>>>,
    shared: OnceCell<Shared>,
    /// The file paths (or the object reference) the findings point at, each made once: a
    /// rendered object's fields may sit in several files.
    places: RefCell<Vec<Arc<str>>>,
}

struct Shared {
    resource: Arc<ResourceRef>,
    /// What the fingerprints name (see [`ResourceRef::identity`]).
    identity: ResourceRef,
    roots: Arc<[String]>,
}

impl<'r> Subject<'r> {
    fn new(resource: &'r Resource) -> Self {
        Self {
            resource,
            located: OnceCell::new(),
            shared: OnceCell::new(),
            places: RefCell::new(Vec::new()),
        }
    }

    /// A subject whose resource was read again already.
    fn with(resource: &'r Resource, hydrated: Cow<'r, Resource>) -> Self {
        let subject = Self::new(resource);
        let _ = subject.located.set(Some(hydrated));
        subject
    }

    /// The resource with its body and span tree (the inventory's when it cannot be read
    /// again, which [`Subject::unreadable`] tells).
    fn located(&self) -> &Resource {
        self.located
            .get_or_init(|| self.resource.hydrated())
            .as_deref()
            .unwrap_or(self.resource)
    }

    /// Whether the stashed resource was needed and could not be read again.
    fn unreadable(&self) -> bool {
        matches!(self.located.get(), Some(None))
    }

    fn shared(&self) -> &Shared {
        self.shared.get_or_init(|| Shared {
            resource: Arc::new(ResourceRef::of(self.resource)),
            identity: ResourceRef::identity(self.resource),
            roots: self.resource.rendered_by().into(),
        })
    }

    /// `place` (a file path or an object reference) as the findings hold it.
    fn place(&self, place: &str) -> Arc<str> {
        let mut places = self.places.borrow_mut();
        if let Some(known) = places.iter().find(|known| ***known == *place) {
            return known.clone();
        }
        let new: Arc<str> = place.into();
        places.push(new.clone());
        new
    }
}

/// Field paths as findings hold them: one copy of each path for all the findings that name
/// it (every Deployment's `/spec/template/spec/containers/0/image`), per evaluating thread.
#[derive(Default)]
struct Paths(HashSet<Arc<[PathSeg]>>);

impl Paths {
    /// Beyond this many paths the set starts again: paths with names of their own (a
    /// label's key) share little, and a webhook's evaluators live as long as its view of
    /// the cluster.
    const MOST: usize = 1 << 14;

    fn shared(&mut self, path: Vec<PathSeg>) -> Arc<[PathSeg]> {
        if let Some(p) = self.0.get(path.as_slice()) {
            return p.clone();
        }
        if self.0.len() >= Self::MOST {
            self.0.clear();
        }
        let p: Arc<[PathSeg]> = path.into();
        self.0.insert(p.clone());
        p
    }
}

/// Turns the rule's `violation` set into findings located in the resource's source.
fn collect(
    rule: &Ready,
    subject: &Subject,
    items: impl Iterator<Item = Value>,
    paths: &mut Paths,
    out: &mut Vec<Finding>,
) {
    let steps = |p: &Vec<Value>| p.iter().filter_map(PathSeg::from_json).collect::<Vec<_>>();
    for v in items {
        // Read again, when stashed, only for a resource with findings.
        let resource = subject.located();
        let path = paths.shared(
            v.get("path")
                .and_then(Value::as_array)
                .map(steps)
                .unwrap_or_default(),
        );
        let message = v.get("message").and_then(Value::as_str).map_or_else(
            || format!("{} violates {}", ResourceRef::of(resource), rule.id).into(),
            Box::from,
        );
        let location = match (&resource.origin, resource.place(&path)) {
            (Origin::File { .. }, Some((file, node, _))) => Location::File {
                path: subject.place(&file.path),
                span: Span {
                    start: node.key,
                    end: node.end,
                },
            },
            (Origin::File { file, .. }, None) => Location::File {
                path: subject.place(&file.path),
                span: Span::default(),
            },
            (Origin::Object { reference }, _) => Location::Object {
                reference: subject.place(reference),
            },
        };
        let fix = v.get("fix").and_then(|f| {
            let value = f.get("value")?.clone();
            let fix_path = f
                .get("path")
                .and_then(Value::as_array)
                .map_or_else(|| path.clone(), |p| paths.shared(steps(p)));
            let (file, node, found) = resource.place(&fix_path)?;
            // A fix edits the finding's file: a field set elsewhere (a patch) gets none.
            if !matches!(&location, Location::File { path, .. } if **path == file.path) {
                return None;
            }
            let exists = found == fix_path.len();
            Some(Fix {
                replace: exists.then_some(Span {
                    start: node.start,
                    end: node.end,
                }),
                insert_under: (!exists).then_some((node.key, found)),
                path: fix_path,
                value,
            })
        });
        let shared = subject.shared();
        let fingerprint = fingerprint::of(&rule.id, &location, &shared.identity, &path);
        out.push(Finding {
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            severity: rule.meta.severity,
            resource: shared.resource.clone(),
            path,
            location,
            message,
            fix: fix.map(Box::new),
            fingerprint,
            suppression: None,
            roots: shared.roots.clone(),
        });
    }
}
