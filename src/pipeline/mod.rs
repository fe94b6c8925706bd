//! The pipeline: every stage of a run, in one place, for every mode.
//!
//! ```text
//! config + rules ─► load ─► Inventory ─► evaluate ─► suppress ─► merge ─► (write baseline) ─► select ─► Outcome
//! ```
//!
//! `scan` loads files ([`run`]); a mode with another source (the cluster, an admission review)
//! hands its own [`Loaded`] to [`run_loaded`] and gets the same evaluation, suppressions,
//! selection and notes. The face (the CLI) only parses arguments, calls this module, renders
//! the [`Outcome`] and turns it into an [`ExitStatus`].

pub mod admission;
pub mod fix;
pub mod live;
pub mod memo;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::engine;
use crate::merge;
use crate::model::{
    Checked, Diagnostic, Finding, Inventory, Level, Location, Resource, ResourceRef, Severity,
    SourceFile,
};
use crate::report::{Format, Report};
use crate::rules::{Compilation, RuleSet};
use crate::select::{self, Baseline, Scope, SelectError};
use crate::source::{self, helm::HelmOptions, terraform::TerraformOptions, Loaded, RenderOptions};
use crate::suppress;

/// Splits a Terraform `--var NAME=VALUE` argument (checked as the command line is parsed).
pub use crate::source::terraform::parse_var as parse_terraform_var;

/// What a run needs to know.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    /// An explicit config file; otherwise one is looked for from the first path upwards.
    pub config: Option<PathBuf>,
    /// A directory of the user's own rule folders.
    pub rules: Option<PathBuf>,
    /// Run the user's rules in the compiled evaluator too (`--compiled-user-rules`).
    pub compiled_user_rules: bool,
    /// Display paths are relative to this directory (normally the working directory).
    pub base: PathBuf,
    /// Days since 1970-01-01 used to expire suppressions (normally today).
    pub today: i64,
    /// Terraform `--var-file` files, for every root module.
    pub var_files: Vec<PathBuf>,
    /// Terraform `--var NAME=VALUE` values, for every root module.
    pub vars: Vec<(String, String)>,
    /// `--no-cache`: render every kustomize root again, and keep nothing.
    pub no_cache: bool,
    /// Stash manifests totalling more than this many bytes (`None`: `source::STASH_ABOVE`);
    /// no result depends on it.
    pub stash_above: Option<u64>,
    /// Helm `--values` files, for every chart.
    pub helm_values: Vec<PathBuf>,
    /// Helm `--set KEY=VALUE` settings, for every chart.
    pub helm_set: Vec<String>,
    /// Write every finding (before selection) here as a baseline: SARIF when the file ends in
    /// `.sarif`, a JSON report otherwise.
    pub write_baseline: Option<PathBuf>,
    /// The SARIF `automationDetails.id` category of a SARIF baseline.
    pub category: String,
}

/// Which findings a run reports: all, or those not in a baseline, or those in some files.
#[derive(Clone, Debug, Default)]
pub struct SelectOptions {
    /// Report only findings whose fingerprints are not in this SARIF log or JSON report.
    pub baseline: Option<PathBuf>,
    /// Report only findings in files changed since this Git ref.
    pub changed_since: Option<String>,
    /// Report only findings in these paths (the pre-commit hook's staged files).
    pub only_paths: Option<Vec<PathBuf>>,
}

/// A resolved [`SelectOptions`]: the baseline read and the changed files listed, before any
/// scanning, so that a mistake costs no scan.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    baseline: Option<Baseline>,
    scope: Option<Scope>,
}

impl Selection {
    /// Reads the baseline and asks Git for the changed files.
    ///
    /// # Errors
    /// An unreadable or foreign baseline, a Git failure, or two scopes at once.
    pub fn prepare(opts: &SelectOptions, base: &Path) -> Result<Self, SelectError> {
        let baseline = opts.baseline.as_deref().map(Baseline::load).transpose()?;
        let scope = match (&opts.changed_since, &opts.only_paths) {
            (Some(_), Some(_)) => return Err(SelectError::TwoScopes),
            (Some(git_ref), None) => Some(Scope::changed_since(git_ref, base)?),
            (None, Some(paths)) => Some(Scope::paths(paths, base)),
            (None, None) => None,
        };
        Ok(Self { baseline, scope })
    }
}

/// Everything a run produced, ready to render.
pub struct Outcome {
    /// The selected findings, suppressed ones included (reporters show them apart).
    pub findings: Vec<Finding>,
    /// Input, rule and config problems, and notes (skipped files, selection).
    pub diagnostics: Vec<Diagnostic>,
    pub rules: RuleSet,
    /// Source text by display path (Secret values already masked).
    pub files: HashMap<String, Arc<SourceFile>>,
    pub config: Config,
    /// Every resource the rules saw, in load order.
    pub checked: Vec<Checked>,
    /// Wall time of each stage, for `--timings`.
    pub timings: Vec<(&'static str, Duration)>,
    /// CPU time of each rule, slowest first, for `--timings`.
    pub rule_time: Vec<(String, Duration)>,
    /// The results are an earlier scan's, from the scan cache: no input changed since.
    pub reused: bool,
    /// The scan cache's entry of these results, when they are in it (reports may be kept
    /// with it, see [`memo::Memo::keeper`]).
    pub memo: Option<memo::Memo>,
}

impl Outcome {
    /// Whether an input, rule or config problem makes the results incomplete.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }

    /// How the run ends: untrusted when an input could not be read, findings when one at or
    /// above `fail_on` is not suppressed (`None`: findings never fail), clean otherwise.
    #[must_use]
    pub fn status(&self, fail_on: Option<Severity>) -> ExitStatus {
        if self.has_errors() {
            return ExitStatus::Untrusted;
        }
        ExitStatus::of(self.worst(), fail_on)
    }

    /// The highest severity of a finding that no suppression hides.
    #[must_use]
    pub fn worst(&self) -> Option<Severity> {
        self.findings
            .iter()
            .filter(|f| f.suppression.is_none())
            .map(|f| f.severity)
            .max()
    }

    /// The report of this outcome in the given SARIF category, for any format.
    #[must_use]
    pub fn report<'a>(&'a self, category: &'a str, verbose: bool) -> Report<'a> {
        Report {
            findings: &self.findings,
            diagnostics: &self.diagnostics,
            rules: &self.rules,
            files: &self.files,
            checked: &self.checked,
            category: category.trim_end_matches('/'),
            verbose,
            color: false,
            whole: false,
        }
    }
}

/// How a run ends; the process exit code is its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Nothing at or above `--fail-on` (exit 0).
    Clean = 0,
    /// A finding at or above `--fail-on` is not suppressed (exit 1).
    Findings = 1,
    /// The run cannot be trusted: an input, rule, config or output could not be read or
    /// written, or the command line is wrong (exit 2).
    Untrusted = 2,
}

impl ExitStatus {
    /// How a run whose inputs could all be read ends: findings when the worst unsuppressed
    /// one is at or above `fail_on` (`None`: findings never fail), clean otherwise.
    #[must_use]
    pub fn of(worst: Option<Severity>, fail_on: Option<Severity>) -> Self {
        match (worst, fail_on) {
            (Some(worst), Some(min)) if worst >= min => Self::Findings,
            _ => Self::Clean,
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        Self::from(status as u8)
    }
}

/// Loads the config (explicit or discovered) and the rules, with the config's `[rules]`.
#[must_use]
pub fn prepare_rules(opts: &Options) -> (Config, RuleSet, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let config = load_config(opts, &mut diagnostics);
    let compilation = Compilation {
        user: opts.compiled_user_rules,
        ..Compilation::DEFAULT
    };
    let (mut rules, rule_diags) = RuleSet::load_with(opts.rules.as_deref(), compilation);
    diagnostics.extend(rule_diags);
    configure_rules(&mut rules, &config, &mut diagnostics);
    (config, rules, diagnostics)
}

/// A whole run over files: config, rules, load, evaluate, suppress, select. When every input
/// is unchanged since an earlier scan, that scan's results are reused ([`memo`]).
#[must_use]
pub fn run(opts: &Options, selection: &Selection) -> Outcome {
    run_opened(opts, selection, memo::Memo::open(opts))
}

/// [`run`] with the scan cache already opened (`None`: not used), so that a caller that
/// looked in it first does not hash every input again.
#[must_use]
pub fn run_opened(opts: &Options, selection: &Selection, memo: Option<memo::Memo>) -> Outcome {
    let started = Instant::now();
    if let Some((entry, opened_in)) = memo.as_ref().and_then(|m| Some((m.lookup()?, m.opened_in))) {
        let mut outcome = reused(opts, entry, opened_in + started.elapsed());
        outcome.memo = memo;
        return finish(opts, selection, outcome);
    }
    let (config, rules, diagnostics) = prepare_rules(opts);
    let prepared = started.elapsed();
    let (mut outcome, reads) = evaluate_files(opts, config, rules, diagnostics);
    outcome.timings.insert(0, ("rules", prepared));
    if let Some(memo) = memo {
        let started = Instant::now();
        if memo.store(opts, &outcome, &reads) {
            outcome.memo = Some(memo);
        }
        outcome.timings.push(("cache", started.elapsed()));
    }
    finish(opts, selection, outcome)
}

/// [`run`] with config and rules already loaded (tests and benchmarks reuse them), and
/// without the scan cache.
#[must_use]
pub fn run_with(
    opts: &Options,
    selection: &Selection,
    config: Config,
    rules: RuleSet,
    diagnostics: Vec<Diagnostic>,
) -> Outcome {
    let (outcome, _) = evaluate_files(opts, config, rules, diagnostics);
    finish(opts, selection, outcome)
}

/// Loads the files of `opts` and evaluates them: the outcome before selection, and what the
/// load read outside the scanned paths.
fn evaluate_files(
    opts: &Options,
    config: Config,
    rules: RuleSet,
    diagnostics: Vec<Diagnostic>,
) -> (Outcome, source::Reads) {
    let started = Instant::now();
    let terraform = TerraformOptions {
        var_files: opts.var_files.clone(),
        vars: opts.vars.clone(),
    };
    let render = RenderOptions {
        no_cache: opts.no_cache,
        stash_above: opts.stash_above,
        helm: HelmOptions {
            values: opts.helm_values.clone(),
            set: opts.helm_set.clone(),
        },
    };
    let mut loaded = source::load_all(&opts.paths, &opts.base, &terraform, &render);
    let reads = std::mem::take(&mut loaded.reads);
    let load = started.elapsed();
    let mut outcome = evaluate(opts, config, rules, diagnostics, loaded);
    outcome.timings.insert(0, ("load", load));
    (outcome, reads)
}

/// The outcome of an earlier scan, from the scan cache: its findings, diagnostics, checked
/// resources and masked files, with this run's config and the rules that scan ran.
fn reused(opts: &Options, entry: memo::Hit, lookup: Duration) -> Outcome {
    // The entry holds the diagnostics of loading the config and rules: these are the same.
    let mut ignored = Vec::new();
    let config = load_config(opts, &mut ignored);
    let mut rules = RuleSet::catalog(opts.rules.as_deref(), &entry.rules);
    configure_rules(&mut rules, &config, &mut ignored);
    // The same diagnostics as the scan that made them, so that the reports are the same.
    let diagnostics = entry.diagnostics;
    Outcome {
        findings: entry.findings,
        diagnostics,
        rules,
        files: entry
            .files
            .into_iter()
            .map(|f| (f.path.clone(), Arc::new(f)))
            .collect(),
        config,
        checked: entry.checked,
        timings: vec![("cache", lookup)],
        rule_time: Vec::new(),
        reused: true,
        memo: None,
    }
}

/// Every stage after loading, over resources from any source.
#[must_use]
pub fn run_loaded(
    opts: &Options,
    selection: &Selection,
    config: Config,
    rules: RuleSet,
    diagnostics: Vec<Diagnostic>,
    loaded: Loaded,
) -> Outcome {
    let outcome = evaluate(opts, config, rules, diagnostics, loaded);
    finish(opts, selection, outcome)
}

/// Evaluates, suppresses and merges: the outcome before the baseline and selection.
fn evaluate(
    opts: &Options,
    config: Config,
    rules: RuleSet,
    mut diagnostics: Vec<Diagnostic>,
    loaded: Loaded,
) -> Outcome {
    let mut timings = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |name: &'static str| {
        timings.push((name, clock.elapsed()));
        clock = Instant::now();
    };
    diagnostics.extend(loaded.diagnostics);
    let files: HashMap<String, Arc<SourceFile>> = loaded
        .files
        .into_iter()
        .map(|f| (f.path.clone(), f))
        .collect();
    let inventory = Inventory::new(loaded.resources);
    lap("inventory");
    let engine::Evaluation {
        mut findings,
        diagnostics: engine_diags,
        rule_time,
    } = engine::evaluate(&rules, &inventory, &config.rego_data());
    lap("evaluate");
    diagnostics.extend(dedupe_rule_errors(engine_diags));
    diagnostics.extend(suppress::apply(
        &mut findings,
        &inventory,
        &config,
        opts.today,
    ));
    merge::rendered(&mut findings);
    diagnostics.sort_by(|a, b| (&a.file, a.pos, a.code).cmp(&(&b.file, b.pos, b.code)));
    lap("suppress");
    Outcome {
        findings,
        diagnostics,
        rules,
        files,
        config,
        checked: checked_all(inventory),
        timings,
        rule_time,
        reused: false,
        memo: None,
    }
}

/// Writes the baseline, if asked, and selects the findings to report.
fn finish(opts: &Options, selection: &Selection, mut outcome: Outcome) -> Outcome {
    let started = Instant::now();
    if let Some(path) = &opts.write_baseline {
        write_baseline(&mut outcome, path, &opts.category);
    }
    let notes = select::apply(
        &mut outcome.findings,
        selection.baseline.as_ref(),
        selection.scope.as_ref(),
        &opts.base,
    );
    outcome.diagnostics.extend(notes);
    outcome.timings.push(("select", started.elapsed()));
    outcome
}

/// Writes every finding of `outcome` as a baseline; a write failure is an error diagnostic.
fn write_baseline(outcome: &mut Outcome, path: &Path, category: &str) {
    let format = if path.extension().is_some_and(|e| e == "sarif") {
        Format::Sarif
    } else {
        Format::Json
    };
    let written = std::fs::File::create(path).and_then(|file| {
        let mut out = std::io::BufWriter::new(file);
        // A baseline holds every finding, past GitHub's limit on an upload too.
        let mut report = outcome.report(category, false);
        report.whole = true;
        report.write(format, &mut out)?;
        std::io::Write::flush(&mut out)
    });
    if let Err(e) = written {
        outcome.diagnostics.push(
            Diagnostic::error(
                "baseline",
                format!("cannot write the baseline {}: {e}", path.display()),
            )
            .help("choose a writable path for --write-baseline"),
        );
    }
}

/// Loads the configuration for `opts`: explicit, discovered, or the defaults.
fn load_config(opts: &Options, diags: &mut Vec<Diagnostic>) -> Config {
    let path = opts
        .config
        .clone()
        .or_else(|| opts.paths.first().and_then(|p| Config::discover(p)));
    let Some(path) = path else {
        return Config::default();
    };
    let shown = source::display(&path, &opts.base);
    match Config::load(&path, &shown) {
        Ok(mut c) => {
            // `[[ignore]] path` is relative to the config file; findings are relative to base.
            let dir = path.parent().unwrap_or(Path::new("."));
            for ig in &mut c.ignore {
                if let Some(p) = &ig.path {
                    ig.path = Some(source::display(&dir.join(p), &opts.base));
                }
            }
            c
        }
        Err(d) => {
            diags.extend(d);
            Config::default()
        }
    }
}

/// Applies `[rules]` of the config: disabled rules go, severities and admission actions change.
fn configure_rules(rules: &mut RuleSet, config: &Config, diags: &mut Vec<Diagnostic>) {
    let shown = config
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    for id in config
        .rules
        .disable
        .iter()
        .chain(config.rules.severity.keys())
        .chain(config.rules.action.keys())
    {
        if rules.get(id).is_none() {
            diags.push(
                Diagnostic::warning("config", format!("unknown rule `{id}`"))
                    .in_file(&shown)
                    .help("`blogaudit rules` lists the rule IDs"),
            );
        }
    }
    rules.rules.retain(|r| {
        !config
            .rules
            .disable
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&r.meta.id))
    });
    for r in &mut rules.rules {
        if let Some(sev) = for_rule(&config.rules.severity, &r.meta.id) {
            r.meta.severity = sev;
        }
        if let Some(action) = for_rule(&config.rules.action, &r.meta.id) {
            r.meta.action = action;
        }
    }
}

/// The setting a config table gives rule `id` (IDs match in any case).
fn for_rule<T: Copy>(table: &std::collections::BTreeMap<String, T>, id: &str) -> Option<T> {
    table
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(id))
        .map(|(_, v)| *v)
}

/// The JUnit test case of each resource: its identity and its first line (or reference).
///
/// The inventory is consumed: its indexes go first, then each resource gives up its identity
/// and the rest of it is freed, so no second copy of every identity is made.
fn checked_all(mut inventory: Inventory) -> Vec<Checked> {
    let resources = std::mem::take(&mut inventory.resources);
    drop(inventory);
    let mut checked = Vec::with_capacity(resources.len());
    for r in resources {
        let location = Location::of(&r);
        let Resource {
            kind,
            namespace,
            name,
            ..
        } = r;
        checked.push(Checked {
            resource: ResourceRef {
                kind,
                namespace,
                name,
            },
            location,
        });
    }
    checked
}

/// A rule that fails on every resource would repeat its error thousands of times: keep the
/// first per rule, with a count.
fn dedupe_rule_errors(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut by_file: HashMap<Option<String>, (Diagnostic, usize)> = HashMap::new();
    let mut order = Vec::new();
    for d in diags {
        match by_file.get_mut(&d.file) {
            Some((_, n)) => *n += 1,
            None => {
                order.push(d.file.clone());
                by_file.insert(d.file.clone(), (d, 1));
            }
        }
    }
    order
        .into_iter()
        .filter_map(|k| by_file.remove(&k))
        .map(|(mut d, n)| {
            if n > 1 {
                d.message = format!("{} (and {} more like it)", d.message, n - 1);
            }
            d
        })
        .collect()
}
