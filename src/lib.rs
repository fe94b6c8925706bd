//! blogaudit: policy-as-code checks of an EKS deployment (Kubernetes manifests, Terraform)
//! against the security and availability goals of its reference design.
//!
//! The pipeline is a chain of plain functions: [`source::load`] → [`model::Inventory`] →
//! [`engine::evaluate`] → [`suppress::apply`] → [`report`]. [`scan`] runs it end to end.

pub mod cli;
pub mod config;
pub mod engine;
pub mod finding;
pub mod model;
pub mod report;
pub mod rules;
pub mod select;
pub mod source;
pub mod suppress;
pub mod upload;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use config::Config;
use finding::Finding;
use model::{Diagnostic, Inventory, Level, SourceFile};
use rules::RuleSet;

/// What a scan needs to know.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
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
    /// `--var-file` and `--var` for Terraform roots.
    pub terraform: source::terraform::TerraformOptions,
}

/// Everything a scan produced.
pub struct ScanOutcome {
    pub findings: Vec<Finding>,
    pub diagnostics: Vec<Diagnostic>,
    pub rules: RuleSet,
    pub files: HashMap<String, Arc<SourceFile>>,
    pub config: Config,
    /// Every resource the rules saw, in load order.
    pub checked: Vec<finding::Checked>,
    /// Wall time of each stage, for `--timings`.
    pub timings: Vec<(&'static str, std::time::Duration)>,
    /// CPU time of each rule, slowest first, for `--timings`.
    pub rule_time: Vec<(String, std::time::Duration)>,
}

impl ScanOutcome {
    /// Whether an input or rule problem makes the results incomplete.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }
}

/// Loads the configuration for `opts`: explicit, discovered, or the defaults.
fn load_config(opts: &ScanOptions, diags: &mut Vec<Diagnostic>) -> Config {
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

/// Applies `[rules]` of the config: disabled rules go, severities change.
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
        if let Some(sev) = config
            .rules
            .severity
            .iter()
            .find(|(id, _)| id.eq_ignore_ascii_case(&r.meta.id))
            .map(|(_, s)| *s)
        {
            r.meta.severity = sev;
        }
    }
}

/// Runs a whole scan: config, rules, sources, engine, suppressions.
#[must_use]
pub fn scan(opts: &ScanOptions) -> ScanOutcome {
    let mut diagnostics = Vec::new();
    let config = load_config(opts, &mut diagnostics);
    let compilation = rules::Compilation {
        user: opts.compiled_user_rules,
        ..rules::Compilation::DEFAULT
    };
    let (mut rules, rule_diags) = RuleSet::load_with(opts.rules.as_deref(), compilation);
    diagnostics.extend(rule_diags);
    configure_rules(&mut rules, &config, &mut diagnostics);
    scan_with(opts, config, rules, diagnostics)
}

/// [`scan`] with config and rules already loaded (tests and benchmarks reuse them).
#[must_use]
pub fn scan_with(
    opts: &ScanOptions,
    config: Config,
    rules: RuleSet,
    mut diagnostics: Vec<Diagnostic>,
) -> ScanOutcome {
    let mut timings = Vec::new();
    let mut clock = std::time::Instant::now();
    let mut lap = |name: &'static str| {
        timings.push((name, clock.elapsed()));
        clock = std::time::Instant::now();
    };
    let loaded = source::load_with(&opts.paths, &opts.base, &opts.terraform);
    lap("load");
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
    diagnostics.sort_by(|a, b| (&a.file, a.pos, a.code).cmp(&(&b.file, b.pos, b.code)));
    lap("suppress");
    ScanOutcome {
        timings,
        rule_time,
        findings,
        diagnostics,
        rules,
        files,
        config,
        checked: inventory.resources.iter().map(checked).collect(),
    }
}

fn checked(r: &model::Resource) -> finding::Checked {
    finding::Checked {
        resource: finding::ResourceRef::of(r),
        location: match &r.origin {
            model::Origin::File { file, span, .. } => finding::Location::File {
                path: file.path.clone(),
                span: *span,
            },
            model::Origin::Object { reference } => finding::Location::Object {
                reference: reference.clone(),
            },
        },
    }
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

/// The exit code of a scan: 2 when the run cannot be trusted, 1 when a finding at or above
/// `fail_on` is not suppressed, 0 otherwise.
#[must_use]
pub fn exit_code(outcome: &ScanOutcome, fail_on: Option<rules::Severity>) -> i32 {
    if outcome.has_errors() {
        return 2;
    }
    let failing = fail_on.is_some_and(|min| {
        outcome
            .findings
            .iter()
            .any(|f| f.suppression.is_none() && f.severity >= min)
    });
    i32::from(failing)
}

/// The working directory, or `.` when it cannot be read.
#[must_use]
pub fn cwd() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| Path::new(".").to_path_buf())
}
