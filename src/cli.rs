//! Command-line interface: argument definitions and the commands that print.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::config::{self, Config};
use crate::model::Severity;
use crate::pipeline::fix::{Mode as FixMode, Settings as FixSettings};
use crate::pipeline::live;
use crate::pipeline::memo::{Keeper, Memo};
use crate::pipeline::{self, ExitStatus, Options, Outcome, SelectOptions, Selection};
use crate::report::{Format, Report};
use crate::rules::RuleSet;

/// Policy-as-code checks for EKS stacks: Kubernetes manifests and Terraform against the
/// reference design's security and availability rules.
#[derive(Debug, Parser)]
#[command(name = "blogaudit", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan manifests, kustomizations, Helm charts and Terraform under PATHS.
    #[command(after_help = EXIT_CODES)]
    Scan(ScanArgs),
    /// List the rules.
    Rules {
        /// Also load the rule folders under DIR.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print one rule's documentation.
    Explain {
        /// The rule ID, e.g. BA101.
        id: String,
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Audit a running cluster and its AWS account with the same rules.
    Live(Box<LiveArgs>),
    /// Serve the rules as a validating admission webhook (HTTPS, AdmissionReview v1).
    #[command(after_help = WEBHOOK_EXIT)]
    Webhook(Box<WebhookArgs>),
    /// Upload a SARIF file to GitHub code scanning and wait for it to be processed.
    Upload(crate::upload::UploadArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into DIR.
    Man {
        /// Write blogaudit.1, blogaudit-scan.1, … into DIR instead.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Write a commented starter blogaudit.toml.
    Init {
        /// Where to write it.
        #[arg(default_value = "blogaudit.toml")]
        path: PathBuf,
    },
}

/// What `blogaudit scan --help` says about exit codes.
const EXIT_CODES: &str = "\
Exit codes:
  0  no finding at or above --fail-on
  1  a finding at or above --fail-on that is not suppressed
  2  broken input or setup: malformed YAML, JSON or HCL, a file that cannot be read, a
     kustomization that `kubectl kustomize` cannot render, a chart that `helm template`
     cannot render, a bad config file or rule, an output file that cannot be written
Not checked, reported as a note or warning, and not exit 2: YAML that is not Kubernetes,
and a Helm chart when `helm` is not on PATH.";

/// When a scan fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Low,
    Medium,
    High,
    Critical,
    /// Never fail because of findings (input errors still exit 2).
    Never,
}

impl FailOn {
    fn severity(self) -> Option<Severity> {
        match self {
            Self::Low => Some(Severity::Low),
            Self::Medium => Some(Severity::Medium),
            Self::High => Some(Severity::High),
            Self::Critical => Some(Severity::Critical),
            Self::Never => None,
        }
    }
}

/// Colour in human output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// `blogaudit scan` arguments.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files or directories to scan.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "human")]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding at or above this severity is not suppressed.
    #[arg(long, value_enum, default_value = "low")]
    pub fail_on: FailOn,
    /// Use this config file instead of looking for blogaudit.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also load the rule folders under DIR.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Run the rules of --rules in the compiled evaluator too (faster; see README: the
    /// compiled evaluator mis-evaluates two Rego forms, which the built-in rules avoid).
    #[arg(long, requires = "rules")]
    pub compiled_user_rules: bool,
    /// Show skipped files and suppressed findings.
    #[arg(long, short)]
    pub verbose: bool,
    /// Colour in human output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: Color,
    /// Print the time each stage took to standard error.
    #[arg(long)]
    pub timings: bool,
    /// A Terraform variables file for every root, read after terraform.tfvars and *.auto.tfvars.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    /// A Terraform variable for every root, NAME=VALUE (HCL when it parses, else a string).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = pipeline::parse_terraform_var)]
    pub vars: Vec<(String, String)>,
    /// Also write the report as FORMAT to FILE (repeatable): one scan, several formats.
    #[arg(long = "output-format", value_name = "FORMAT=FILE", value_parser = parse_output)]
    pub outputs: Vec<(Format, PathBuf)>,
    /// Report only findings whose fingerprints are not in FILE (a SARIF log or a JSON report).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write every finding of this scan to FILE as a baseline (SARIF when FILE ends in
    /// `.sarif`, JSON otherwise).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Report only findings in files changed since the Git REF (committed, staged, unstaged
    /// or untracked); cross-resource rules still see the whole tree.
    #[arg(long, value_name = "REF")]
    pub changed_since: Option<String>,
    /// The analysis category in SARIF (`automationDetails.id`): give each scan of one commit
    /// its own, e.g. `blogaudit/scan/terraform`, so code scanning keeps them apart.
    #[arg(long, value_name = "NAME", default_value = "blogaudit/scan")]
    pub category: String,
    /// Scan afresh: reuse no earlier scan's results and no rendered kustomize root from the
    /// cache ($XDG_CACHE_HOME/blogaudit or ~/.cache/blogaudit), and keep nothing there.
    #[arg(long)]
    pub no_cache: bool,
    /// A values file for every Helm chart, after the chart's values.yaml (repeatable).
    #[arg(long = "helm-values", value_name = "FILE")]
    pub helm_values: Vec<PathBuf>,
    /// A value for every Helm chart, KEY=VALUE as `helm --set` takes it (repeatable).
    #[arg(long = "helm-set", value_name = "KEY=VALUE")]
    pub helm_set: Vec<String>,
    /// Scan the current directory, and report only findings in PATHS (for pre-commit, which
    /// passes the staged files); cross-resource rules still see the whole tree.
    #[arg(long)]
    pub report_only_paths: bool,
    /// Apply the mechanical fixes of the reported findings in place, then scan again:
    /// `--fix` applies the safe ones, `--fix=all` the unsafe ones too.
    #[arg(long, value_enum, value_name = "WHICH", num_args = 0..=1, require_equals = true,
          default_missing_value = "safe", conflicts_with = "write_baseline")]
    pub fix: Option<FixMode>,
    /// With --fix: print the changes as a unified diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Fix only the findings of these rules (comma-separated IDs); implies --fix.
    #[arg(
        long,
        value_name = "IDS",
        value_delimiter = ',',
        conflicts_with = "write_baseline"
    )]
    pub fix_only: Vec<String>,
}

/// What is wrong with the command line's outputs, found before any scanning.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("expected FORMAT=FILE, got `{0}`")]
    NotFormatAndFile(String),
    #[error("unknown format `{format}`; the formats are {known}")]
    UnknownFormat { format: String, known: String },
    #[error("no file after `{0}=`")]
    NoFile(String),
    #[error("{0} is named twice as an output; give each report its own file")]
    NamedTwice(String),
    #[error("{0} is both the baseline and an output; write the new baseline elsewhere")]
    IsTheBaseline(String),
    #[error("cannot write {path}: {source}")]
    NotWritable {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Selection(#[from] crate::select::SelectError),
}

/// `FORMAT=FILE` of `--output-format`.
fn parse_output(s: &str) -> Result<(Format, PathBuf), OutputError> {
    let (format, file) = s
        .split_once('=')
        .ok_or_else(|| OutputError::NotFormatAndFile(s.to_string()))?;
    let format = Format::from_str(format, true).map_err(|_| {
        let names: Vec<String> = Format::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value().map(|v| v.get_name().to_string()))
            .collect();
        OutputError::UnknownFormat {
            format: format.to_string(),
            known: names.join(", "),
        }
    })?;
    if file.is_empty() {
        return Err(OutputError::NoFile(format!("{format:?}").to_lowercase()));
    }
    Ok((format, PathBuf::from(file)))
}

/// Runs the parsed command.
#[must_use]
pub fn run(cli: Cli) -> ExitStatus {
    match cli.command {
        Command::Scan(args) => run_scan(&args),
        Command::Rules { rules, json } => list_rules(rules.as_deref(), json),
        Command::Explain { id, rules } => explain(&id, rules.as_deref()),
        Command::Init { path } => init(&path),
        Command::Live(args) => run_live(&args),
        Command::Webhook(args) => run_webhook(&args),
        Command::Upload(args) => match crate::upload::run(&args) {
            0 => ExitStatus::Clean,
            1 => ExitStatus::Findings,
            _ => ExitStatus::Untrusted,
        },
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "blogaudit", &mut std::io::stdout());
            ExitStatus::Clean
        }
        Command::Man { out_dir } => man(out_dir.as_deref()),
    }
}

/// Where each report goes: format and file (`None`: standard output).
type Outputs = Vec<(Format, Option<PathBuf>)>;

/// Checks the output files (writable, none named twice, none the baseline), so that a
/// mistake costs no scan.
fn plan_outputs(args: &ScanArgs, base: &Path) -> Result<Outputs, OutputError> {
    let outputs = outputs_of(args.format, args.output.as_ref(), &args.outputs);
    let mut files: Vec<&PathBuf> = outputs.iter().filter_map(|(_, p)| p.as_ref()).collect();
    files.extend(&args.write_baseline);
    let mut seen = std::collections::HashSet::new();
    let baseline_key = args.baseline.as_deref().map(|b| same_file_key(base, b));
    for file in &files {
        let key = same_file_key(base, file);
        if !seen.insert(key.clone()) {
            return Err(OutputError::NamedTwice(file.display().to_string()));
        }
        if baseline_key.as_ref() == Some(&key) {
            return Err(OutputError::IsTheBaseline(file.display().to_string()));
        }
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(file)
            .map_err(|source| OutputError::NotWritable {
                path: file.display().to_string(),
                source,
            })?;
    }
    Ok(outputs)
}

/// The same file named two ways (`a.sarif`, `./a.sarif`) gives the same key.
fn same_file_key(base: &Path, file: &Path) -> PathBuf {
    let abs = base.join(file);
    let dir = abs
        .parent()
        .map(|d| d.canonicalize().unwrap_or(d.to_path_buf()));
    match (dir, abs.file_name()) {
        (Some(d), Some(n)) => d.join(n),
        _ => abs,
    }
}

fn run_scan(args: &ScanArgs) -> ExitStatus {
    let base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let select = SelectOptions {
        baseline: args.baseline.clone(),
        changed_since: args.changed_since.clone(),
        only_paths: args.report_only_paths.then(|| args.paths.clone()),
    };
    let prepared = plan_outputs(args, &base)
        .and_then(|outputs| Ok((outputs, Selection::prepare(&select, &base)?)));
    let (outputs, selection) = match prepared {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitStatus::Untrusted;
        }
    };
    let opts = Options {
        paths: if args.report_only_paths {
            vec![PathBuf::from(".")]
        } else {
            args.paths.clone()
        },
        config: args.config.clone(),
        rules: args.rules.clone(),
        compiled_user_rules: args.compiled_user_rules,
        base,
        today: crate::model::date::today(),
        var_files: args.var_files.clone(),
        vars: args.vars.clone(),
        write_baseline: args.write_baseline.clone(),
        category: args.category.clone(),
        no_cache: args.no_cache,
        stash_above: None,
        helm_values: args.helm_values.clone(),
        helm_set: args.helm_set.clone(),
    };
    let fixing = (args.fix.is_some() || !args.fix_only.is_empty()).then(|| FixSettings {
        mode: args.fix.unwrap_or(FixMode::Safe),
        only: args.fix_only.clone(),
        dry_run: args.dry_run,
    });
    if args.dry_run && fixing.is_none() {
        eprintln!("error: --dry-run goes with --fix or --fix-only");
        return ExitStatus::Untrusted;
    }
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    // The same command over unchanged inputs writes the same reports: they are copied from
    // the scan cache when each was kept, with nothing selected, fixed, timed or written
    // besides them.
    let replayable = fixing.is_none()
        && !args.timings
        && args.baseline.is_none()
        && args.changed_since.is_none()
        && !args.report_only_paths
        && args.write_baseline.is_none();
    // Opened once (its key hashes every input file), for the kept reports and the results.
    let memo = if fixing.is_none() {
        Memo::open(&opts)
    } else {
        None
    };
    if replayable {
        if let Some(status) = memo.as_ref().and_then(|m| replay(m, &outputs, args, color)) {
            return status;
        }
    }
    let outcome = if let Some(settings) = &fixing {
        let (outcome, summary) = pipeline::fix::run(&opts, &selection, settings);
        if settings.dry_run {
            if let Err(e) = emit(None, |out| out.write_all(summary.diff.as_bytes())) {
                eprintln!("error: cannot write the diff: {e}");
                return ExitStatus::Untrusted;
            }
        }
        eprint!("{}", summary.render());
        outcome
    } else {
        pipeline::run_opened(&opts, &selection, memo)
    };
    if outcome.reused && args.verbose {
        note_reused();
    }
    let mut report = outcome.report(&args.category, args.verbose);
    let started = std::time::Instant::now();
    let keep = outcome
        .memo
        .as_ref()
        .filter(|_| replayable)
        .map(|memo| (memo, outcome.worst()));
    // With --dry-run standard output carries the diff only.
    let failed = !write_reports(&mut report, &outputs, color, args.dry_run, keep);
    if args.timings {
        print_timings(&outcome, started.elapsed());
    }
    if failed {
        return ExitStatus::Untrusted;
    }
    outcome.status(args.fail_on.severity())
}

/// The report of `--format`/`--output`, then each `--output-format FORMAT=FILE`.
fn outputs_of(format: Format, output: Option<&PathBuf>, more: &[(Format, PathBuf)]) -> Outputs {
    let mut outputs = vec![(format, output.cloned())];
    outputs.extend(more.iter().map(|(f, p)| (*f, Some(p.clone()))));
    outputs
}

/// `--verbose`: the results are an earlier scan's.
fn note_reused() {
    eprintln!(
        "note: no input changed since an earlier scan, so its results were reused: no file \
         was parsed, rendered or checked again (`--no-cache` scans afresh)"
    );
}

/// What decides a report's bytes besides the results: its format, the SARIF category,
/// `--verbose` and colour.
fn signature(format: Format, category: &str, verbose: bool, color: bool) -> String {
    format!(
        "{format:?}\0{}\0{verbose}\0{color}",
        category.trim_end_matches('/')
    )
}

/// Whether a report of `format` is the same whenever it is made from the same results:
/// PolicyReports carry the time they were made.
fn timeless(format: Format) -> bool {
    format != Format::Policyreport
}

/// Writes each report of `outputs` again from the scan cache's copies, when every one was
/// kept; `None` (and nothing written) otherwise.
fn replay(memo: &Memo, outputs: &Outputs, args: &ScanArgs, color: bool) -> Option<ExitStatus> {
    let mut kept = Vec::new();
    let mut worst = None;
    for (format, path) in outputs {
        if !timeless(*format) {
            return None;
        }
        let sig = signature(
            *format,
            &args.category,
            args.verbose,
            color && path.is_none(),
        );
        let (w, copy) = memo.report(&sig)?;
        worst = w;
        kept.push((path, copy));
    }
    if args.verbose {
        note_reused();
    }
    for (path, mut copy) in kept {
        if let Err(e) = emit(path.as_ref(), |out| {
            std::io::copy(&mut copy, out).map(|_| ())
        }) {
            report_not_written(path.as_ref(), &e);
            return Some(ExitStatus::Untrusted);
        }
    }
    Some(ExitStatus::of(worst, args.fail_on.severity()))
}

/// Says that the report for `path` (standard output when `None`) could not be written.
fn report_not_written(path: Option<&PathBuf>, e: &std::io::Error) {
    let to = path.map_or("standard output".into(), |p| p.display().to_string());
    eprintln!("error: cannot write the report to {to}: {e}");
}

/// A writer that copies what it writes into a [`Keeper`].
struct Tee<'a> {
    out: &'a mut dyn Write,
    keeper: &'a mut Keeper,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.keeper.copy(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Renders `report` into each output; colour goes only to standard output. `skip_stdout`
/// leaves standard output to something else (the `--dry-run` diff). With `keep`, a copy of
/// each report is kept in the scan cache, with the worst severity of an unsuppressed
/// finding. Returns whether every output was written.
fn write_reports(
    report: &mut Report<'_>,
    outputs: &Outputs,
    color: bool,
    skip_stdout: bool,
    keep: Option<(&Memo, Option<Severity>)>,
) -> bool {
    let mut written = true;
    for (format, path) in outputs {
        if skip_stdout && path.is_none() {
            continue;
        }
        report.color = color && path.is_none();
        let mut keeper = keep
            .filter(|_| timeless(*format))
            .and_then(|(memo, worst)| {
                memo.keeper(
                    &signature(*format, report.category, report.verbose, report.color),
                    worst,
                )
            });
        let result = emit(path.as_ref(), |out| match keeper.as_mut() {
            Some(keeper) => report.write(*format, &mut Tee { out, keeper }),
            None => report.write(*format, out),
        });
        if let Some(keeper) = keeper {
            keeper.finish(result.is_ok());
        }
        if let Err(e) = result {
            report_not_written(path.as_ref(), &e);
            written = false;
        }
    }
    written
}

/// `--timings`: each stage, then the slowest rules, on standard error.
fn print_timings(outcome: &Outcome, report: std::time::Duration) {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    for (stage, d) in &outcome.timings {
        eprintln!("{stage:>10}: {:>8.1} ms", ms(*d));
    }
    eprintln!("{:>10}: {:>8.1} ms", "report", ms(report));
    eprintln!("{:>10}: {}", "resources", outcome.checked.len());
    eprintln!("slowest rules (CPU time over all threads):");
    for (id, d) in outcome.rule_time.iter().take(10) {
        eprintln!("{id:>10}: {:>8.1} ms", ms(*d));
    }
}

/// Writes with `body` into the file at `path` (created, or emptied) or onto standard output,
/// through a buffer: a report goes out as it is made, never whole in memory.
fn emit(
    path: Option<&PathBuf>,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    match path {
        Some(p) => {
            let mut out = std::io::BufWriter::new(std::fs::File::create(p)?);
            body(&mut out)?;
            out.flush()
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            body(&mut out)?;
            out.flush()
        }
    }
}

fn load_rules(dir: Option<&Path>) -> Option<RuleSet> {
    let (rules, diags) = RuleSet::load(dir);
    for d in &diags {
        eprintln!("{}", d.one_line());
    }
    diags.is_empty().then_some(rules)
}

fn list_rules(dir: Option<&Path>, json: bool) -> ExitStatus {
    let Some(rules) = load_rules(dir) else {
        return ExitStatus::Untrusted;
    };
    let mut text = String::new();
    if json {
        let metas: Vec<_> = rules.rules.iter().map(|r| &r.meta).collect();
        text = serde_json::to_string_pretty(&metas).unwrap_or_default();
        text.push('\n');
    } else {
        for r in &rules.rules {
            let m = &r.meta;
            text.push_str(&format!(
                "{:<7} {:<30} {:<9} {:<13} {}\n",
                m.id,
                m.name,
                m.severity.as_str(),
                m.sources.join(","),
                m.title
            ));
        }
    }
    print(&text)
}

fn explain(id: &str, dir: Option<&Path>) -> ExitStatus {
    let Some(rules) = load_rules(dir) else {
        return ExitStatus::Untrusted;
    };
    let Some(rule) = rules.get(id) else {
        eprintln!("error: no rule `{id}`; `blogaudit rules` lists them");
        return ExitStatus::Untrusted;
    };
    let m = &rule.meta;
    print(&format!(
        "# {} {}: {}\n\nSeverity: {}    Category: {}    Sources: {}    Kinds: {}\n\n{}\n\nRemediation: {}\n",
        m.id,
        m.name,
        m.title,
        m.severity.as_str(),
        m.category,
        m.sources.join(", "),
        m.kinds.join(", "),
        m.description.trim(),
        m.remediation
    ))
}

/// Prints `text` on standard output. A reader that stops early (`| head`) is no error.
fn print(text: &str) -> ExitStatus {
    match emit(None, |out| out.write_all(text.as_bytes())) {
        Ok(()) => ExitStatus::Clean,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitStatus::Clean,
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            ExitStatus::Untrusted
        }
    }
}

fn man(out_dir: Option<&Path>) -> ExitStatus {
    let cmd = Cli::command();
    let result = match out_dir {
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(cmd, dir))
            .map(|()| println!("wrote the man pages into {}", dir.display())),
        None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout()),
    };
    match result {
        Ok(()) => ExitStatus::Clean,
        Err(e) => {
            eprintln!("error: cannot write the man page: {e}");
            ExitStatus::Untrusted
        }
    }
}

fn init(path: &Path) -> ExitStatus {
    if path.exists() {
        eprintln!(
            "error: {} already exists; blogaudit init never overwrites a file",
            path.display()
        );
        return ExitStatus::Untrusted;
    }
    if let Err(e) = Config::parse(config::STARTER, "starter") {
        eprintln!("internal error: the starter config does not parse: {e:?}");
        return ExitStatus::Untrusted;
    }
    match std::fs::write(path, config::STARTER) {
        Ok(()) => {
            println!("wrote {}", path.display());
            ExitStatus::Clean
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            ExitStatus::Untrusted
        }
    }
}

/// `--only` of `blogaudit live`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LiveSide {
    Kubernetes,
    Aws,
}

/// `blogaudit live` arguments.
#[derive(Debug, clap::Args)]
pub struct LiveArgs {
    /// The EKS cluster NAME in the region; when there is none, the kubeconfig context NAME.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// The AWS region (default: the AWS configuration's).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The AWS profile (default: the AWS configuration's).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Audit one side only.
    #[arg(long, value_enum)]
    pub only: Option<LiveSide>,
    /// Time limit of each API call, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// `limit` of each list page (tests use small pages).
    #[arg(long, value_name = "N", default_value_t = 500, hide = true)]
    pub page_size: u32,
    /// Write what was read into DIR as JSON files; `blogaudit scan DIR` reads them back.
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "human")]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the report as FORMAT to FILE (repeatable).
    #[arg(long = "output-format", value_name = "FORMAT=FILE", value_parser = parse_output)]
    pub outputs: Vec<(Format, PathBuf)>,
    /// Exit 1 when a finding at or above this severity is not suppressed.
    #[arg(long, value_enum, default_value = "low")]
    pub fail_on: FailOn,
    /// A blogaudit.toml (suppressions, rule settings).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also load the rule folders under DIR.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// The SARIF category (default `blogaudit/live/<cluster>`).
    #[arg(long, value_name = "NAME")]
    pub category: Option<String>,
    /// Show notes and suppressed findings.
    #[arg(long, short)]
    pub verbose: bool,
    /// Server-side apply the PolicyReports into the cluster and delete the ones blogaudit
    /// wrote before and no longer produces (the in-cluster CronJob).
    #[arg(long)]
    pub apply_reports: bool,
}

fn run_live(args: &LiveArgs) -> ExitStatus {
    if args.apply_reports && args.only == Some(LiveSide::Aws) {
        eprintln!(
            "error: --apply-reports writes the reports into the cluster; it does not go with \
             --only aws"
        );
        return ExitStatus::Untrusted;
    }
    let opts = Options {
        config: args.config.clone(),
        rules: args.rules.clone(),
        base: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        today: crate::model::date::today(),
        ..Options::default()
    };
    let mut source = live::Source {
        cluster: args.cluster.clone(),
        context: args.kube.context.clone(),
        kubeconfig: args.kube.kubeconfig.clone(),
        in_cluster: args.kube.in_cluster,
        region: args.region.clone(),
        profile: args.profile.clone(),
        only: args.only.map(|o| match o {
            LiveSide::Kubernetes => live::Only::Kubernetes,
            LiveSide::Aws => live::Only::Aws,
        }),
        timeout: std::time::Duration::from_secs(args.timeout.max(1)),
        page_size: args.page_size.max(1),
        kinds: std::collections::BTreeSet::new(),
        progress: None,
    };
    // A spinner on a terminal only: never in CI logs.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message("reading the cluster and its AWS account");
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    if let Some(b) = &bar {
        let b = b.clone();
        source.progress = Some(live::Progress(std::sync::Arc::new(move |s: &str| {
            b.set_message(s.to_string());
        })));
    }
    let target = source.clone();
    let audit = live::run(&opts, &Selection::default(), source, args.save.as_deref());
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let audit = match audit {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}\n  help: {}", e.help());
            return ExitStatus::Untrusted;
        }
    };
    eprintln!("auditing {}", audit.target.describe());
    let category = args
        .category
        .clone()
        .unwrap_or_else(|| format!("blogaudit/live/{}", audit.target.cluster));
    let outcome = audit.outcome;
    let mut report = outcome.report(&category, args.verbose);
    let outputs = outputs_of(args.format, args.output.as_ref(), &args.outputs);
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut failed = !write_reports(&mut report, &outputs, color, false, None);
    if args.apply_reports {
        match live::apply_reports(&target, &report) {
            Ok(done) => eprintln!(
                "applied {} report(s), deleted {} stale report(s)",
                done.applied.len(),
                done.deleted.len()
            ),
            Err(e) => {
                eprintln!(
                    "error: the PolicyReports were not written: {e}\n  help: {}",
                    e.help()
                );
                failed = true;
            }
        }
    }
    if failed {
        return ExitStatus::Untrusted;
    }
    outcome.status(args.fail_on.severity())
}

const WEBHOOK_EXIT: &str =
    "Exit codes: 0 stopped by SIGTERM or Ctrl-C; 2 cannot start (certificate, \
port, rules or config). The cluster's API need not answer at start: the webhook serves, is not \
ready (/readyz) until its cache has synced, and retries.";

/// How `live` and `webhook` reach the cluster through a kubeconfig or the pod's account.
#[derive(clap::Args, Debug)]
pub struct KubeArgs {
    /// Use this kubeconfig context (for live: no EKS lookup).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Use this kubeconfig file (for live: no EKS lookup); it wins over KUBECONFIG.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Use the pod's service account (the live CronJob; the webhook's default inside a pod).
    #[arg(long, conflicts_with_all = ["context", "kubeconfig"])]
    pub in_cluster: bool,
}

/// `blogaudit webhook`.
#[derive(clap::Args, Debug)]
pub struct WebhookArgs {
    /// The serving certificate chain (PEM), reloaded when the file changes.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,
    /// The certificate's private key (PEM), reloaded when the file changes.
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,
    /// The HTTPS port of /validate, /healthz and /readyz.
    #[arg(long, value_name = "PORT", default_value_t = 8443)]
    pub port: u16,
    /// The plain-HTTP port of /metrics (and /healthz, /readyz); 0 turns it off.
    #[arg(long, value_name = "PORT", default_value_t = 9090)]
    pub metrics_port: u16,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0")]
    pub listen: std::net::IpAddr,
    /// enforce: refuse what a deny rule finds; audit: admit everything, warn instead.
    #[arg(long, value_enum, default_value = "enforce")]
    pub mode: WebhookMode,
    /// The answer when a review cannot be judged in time or at all.
    #[arg(long, value_enum, default_value = "allow")]
    pub failure_mode: FailureMode,
    /// Each review's deadline in milliseconds; keep it below the webhook's timeoutSeconds.
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub deadline_ms: u64,
    /// What a rule that reads the cluster does while its cache is not current.
    #[arg(long, value_enum, default_value = "warn")]
    pub cache_unsure: CacheUnsure,
    /// Seconds a cache watch may fail before its kinds count as not current.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub cache_grace: u64,
    /// Keep no cluster cache: every rule that reads the cluster is unsure (--cache-unsure).
    #[arg(long, conflicts_with_all = ["context", "kubeconfig", "in_cluster"])]
    pub no_cluster: bool,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// A blogaudit.toml (suppressions, rule settings, `[rules.action]`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also load the rule folders under DIR.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Seconds between reads of the certificate files.
    #[arg(long, value_name = "SECONDS", default_value_t = 5, hide = true)]
    pub tls_poll: u64,
    /// Recent answers kept for reviews sent again with the same content (a GitOps sync's
    /// dry run, then its apply); 0 judges every review.
    #[arg(long, value_name = "ENTRIES", default_value_t = 1024)]
    pub verdict_cache: usize,
    /// Log level or filter (RUST_LOG syntax); logs are JSON lines on stderr.
    #[arg(long, value_name = "FILTER", default_value = "info")]
    pub log: String,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum WebhookMode {
    Enforce,
    Audit,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum FailureMode {
    Allow,
    Deny,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum CacheUnsure {
    Warn,
    Deny,
    Allow,
}

fn run_webhook(args: &WebhookArgs) -> ExitStatus {
    use crate::pipeline::admission::{Mode, Settings, Unsure};
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let in_pod = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    let cluster = (!args.no_cluster).then(|| live::Source {
        cluster: None,
        context: args.kube.context.clone(),
        kubeconfig: args.kube.kubeconfig.clone(),
        in_cluster: args.kube.in_cluster
            || (in_pod && args.kube.context.is_none() && args.kube.kubeconfig.is_none()),
        region: None,
        profile: None,
        only: Some(live::Only::Kubernetes),
        timeout: std::time::Duration::from_secs(30),
        page_size: 500,
        kinds: std::collections::BTreeSet::new(),
        progress: None,
    });
    let opts = crate::webhook::Options {
        tls_cert: args.tls_cert.clone(),
        tls_key: args.tls_key.clone(),
        addr: std::net::SocketAddr::new(args.listen, args.port),
        metrics_addr: (args.metrics_port != 0)
            .then(|| std::net::SocketAddr::new(args.listen, args.metrics_port)),
        settings: Settings {
            mode: match args.mode {
                WebhookMode::Enforce => Mode::Enforce,
                WebhookMode::Audit => Mode::Audit,
            },
            unsure: match args.cache_unsure {
                CacheUnsure::Warn => Unsure::Warn,
                CacheUnsure::Deny => Unsure::Deny,
                CacheUnsure::Allow => Unsure::Allow,
            },
        },
        failure: match args.failure_mode {
            FailureMode::Allow => crate::webhook::Failure::Allow,
            FailureMode::Deny => crate::webhook::Failure::Deny,
        },
        deadline: std::time::Duration::from_millis(args.deadline_ms.max(1)),
        stale_after: std::time::Duration::from_secs(args.cache_grace),
        tls_poll: std::time::Duration::from_secs(args.tls_poll.max(1)),
        verdict_cache: args.verdict_cache,
        cluster,
        pipeline: Options {
            config: args.config.clone(),
            rules: args.rules.clone(),
            base: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            today: crate::model::date::today(),
            ..Options::default()
        },
    };
    match crate::webhook::serve(opts) {
        Ok(()) => ExitStatus::Clean,
        Err(e) => {
            eprintln!("error: {e}\n  help: {}", e.help());
            ExitStatus::Untrusted
        }
    }
}
