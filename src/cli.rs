//! Command-line interface: argument definitions and the commands that print.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::config::{self, Config};
use crate::report::{Format, Report};
use crate::rules::{RuleSet, Severity};
use crate::{exit_code, scan, ScanOptions};

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
    /// Scan manifests, kustomizations and Terraform under PATHS.
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
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = crate::source::terraform::parse_var)]
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
    /// Scan the current directory, and report only findings in PATHS (for pre-commit, which
    /// passes the staged files); cross-resource rules still see the whole tree.
    #[arg(long)]
    pub report_only_paths: bool,
}

/// `FORMAT=FILE` of `--output-format`.
fn parse_output(s: &str) -> Result<(Format, PathBuf), String> {
    let (format, file) = s
        .split_once('=')
        .ok_or_else(|| format!("expected FORMAT=FILE, got `{s}`"))?;
    let format = Format::from_str(format, true).map_err(|_| {
        let names: Vec<String> = Format::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value().map(|v| v.get_name().to_string()))
            .collect();
        format!(
            "unknown format `{format}`; the formats are {}",
            names.join(", ")
        )
    })?;
    if file.is_empty() {
        return Err(format!("no file after `{format:?}=`").to_lowercase());
    }
    Ok((format, PathBuf::from(file)))
}

/// Runs the parsed command; returns the process exit code.
#[must_use]
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Scan(args) => run_scan(&args),
        Command::Rules { rules, json } => list_rules(rules.as_deref(), json),
        Command::Explain { id, rules } => explain(&id, rules.as_deref()),
        Command::Init { path } => init(&path),
        Command::Upload(args) => crate::upload::run(&args),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "blogaudit", &mut std::io::stdout());
            0
        }
        Command::Man { out_dir } => man(out_dir.as_deref()),
    }
}

/// What a scan writes and where, checked before any scanning starts.
struct Plan {
    /// Reports: format and file (`None`: standard output).
    outputs: Vec<(Format, Option<PathBuf>)>,
    baseline: Option<crate::select::Baseline>,
    scope: Option<crate::select::Scope>,
}

/// Checks the output files (writable, none named twice), reads the baseline and asks Git for
/// the changed files, so that a mistake costs no scan.
fn plan(args: &ScanArgs, base: &std::path::Path) -> Result<Plan, String> {
    let mut outputs = vec![(args.format, args.output.clone())];
    outputs.extend(args.outputs.iter().map(|(f, p)| (*f, Some(p.clone()))));
    let mut files: Vec<&PathBuf> = outputs.iter().filter_map(|(_, p)| p.as_ref()).collect();
    files.extend(&args.write_baseline);
    let mut seen = std::collections::HashSet::new();
    let baseline_key = args.baseline.as_deref().map(|b| same_file_key(base, b));
    for file in &files {
        let key = same_file_key(base, file);
        if !seen.insert(key.clone()) {
            return Err(format!(
                "{} is named twice as an output; give each report its own file",
                file.display()
            ));
        }
        if baseline_key.as_ref() == Some(&key) {
            return Err(format!(
                "{} is both the baseline and an output; write the new baseline elsewhere",
                file.display()
            ));
        }
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(file)
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    }
    let baseline = args
        .baseline
        .as_deref()
        .map(crate::select::Baseline::load)
        .transpose()?;
    let mut scope = args
        .changed_since
        .as_deref()
        .map(|r| crate::select::Scope::changed_since(r, base))
        .transpose()?;
    if args.report_only_paths {
        if scope.is_some() {
            return Err("--report-only-paths and --changed-since do not go together".into());
        }
        scope = Some(crate::select::Scope::paths(&args.paths, base));
    }
    Ok(Plan {
        outputs,
        baseline,
        scope,
    })
}

/// The same file named two ways (`a.sarif`, `./a.sarif`) gives the same key.
fn same_file_key(base: &std::path::Path, file: &std::path::Path) -> PathBuf {
    let abs = base.join(file);
    let dir = abs
        .parent()
        .map(|d| d.canonicalize().unwrap_or(d.to_path_buf()));
    match (dir, abs.file_name()) {
        (Some(d), Some(n)) => d.join(n),
        _ => abs,
    }
}

fn run_scan(args: &ScanArgs) -> i32 {
    let base = crate::cwd();
    let plan = match plan(args, &base) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let paths = if args.report_only_paths {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let opts = ScanOptions {
        paths,
        config: args.config.clone(),
        rules: args.rules.clone(),
        compiled_user_rules: args.compiled_user_rules,
        base: base.clone(),
        today: crate::suppress::today(),
        terraform: crate::source::terraform::TerraformOptions {
            var_files: args.var_files.clone(),
            vars: args.vars.clone(),
        },
    };
    let mut outcome = scan(&opts);
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    if let Some(path) = &args.write_baseline {
        let format = if path.extension().is_some_and(|e| e == "sarif") {
            Format::Sarif
        } else {
            Format::Json
        };
        let text = report(&outcome, args).render(format);
        if let Err(e) = emit(Some(path), &text) {
            eprintln!("error: cannot write the baseline {}: {e}", path.display());
            return 2;
        }
    }
    let notes = crate::select::apply(
        &mut outcome.findings,
        plan.baseline.as_ref(),
        plan.scope.as_ref(),
        &base,
    );
    outcome.diagnostics.extend(notes);
    let mut report = report(&outcome, args);
    let started = std::time::Instant::now();
    let mut failed = false;
    for (format, path) in &plan.outputs {
        report.color = color && path.is_none();
        if let Err(e) = emit(path.as_ref(), &report.render(*format)) {
            let to = path
                .as_ref()
                .map_or("standard output".into(), |p| p.display().to_string());
            eprintln!("error: cannot write the report to {to}: {e}");
            failed = true;
        }
    }
    if args.timings {
        for (stage, d) in &outcome.timings {
            eprintln!("{stage:>10}: {:>8.1} ms", d.as_secs_f64() * 1000.0);
        }
        eprintln!(
            "{:>10}: {:>8.1} ms",
            "report",
            started.elapsed().as_secs_f64() * 1000.0
        );
        eprintln!("{:>10}: {}", "resources", outcome.checked.len());
        eprintln!("slowest rules (CPU time over all threads):");
        for (id, d) in outcome.rule_time.iter().take(10) {
            eprintln!("{id:>10}: {:>8.1} ms", d.as_secs_f64() * 1000.0);
        }
    }
    if failed {
        return 2;
    }
    exit_code(&outcome, args.fail_on.severity())
}

fn report<'a>(outcome: &'a crate::ScanOutcome, args: &'a ScanArgs) -> Report<'a> {
    Report {
        findings: &outcome.findings,
        diagnostics: &outcome.diagnostics,
        rules: &outcome.rules,
        files: &outcome.files,
        checked: &outcome.checked,
        category: args.category.trim_end_matches('/'),
        verbose: args.verbose,
        color: false,
    }
}

fn emit(path: Option<&PathBuf>, text: &str) -> std::io::Result<()> {
    match path {
        Some(p) => std::fs::write(p, text),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()
        }
    }
}

fn load_rules(dir: Option<&std::path::Path>) -> Option<RuleSet> {
    let (rules, diags) = RuleSet::load(dir);
    for d in &diags {
        eprintln!("{}", d.one_line());
    }
    diags.is_empty().then_some(rules)
}

fn list_rules(dir: Option<&std::path::Path>, json: bool) -> i32 {
    let Some(rules) = load_rules(dir) else {
        return 2;
    };
    if json {
        let metas: Vec<_> = rules.rules.iter().map(|r| &r.meta).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&metas).unwrap_or_default()
        );
        return 0;
    }
    for r in &rules.rules {
        let m = &r.meta;
        println!(
            "{:<7} {:<30} {:<9} {:<13} {}",
            m.id,
            m.name,
            m.severity.as_str(),
            m.sources.join(","),
            m.title
        );
    }
    0
}

fn explain(id: &str, dir: Option<&std::path::Path>) -> i32 {
    let Some(rules) = load_rules(dir) else {
        return 2;
    };
    let Some(rule) = rules.get(id) else {
        eprintln!("error: no rule `{id}`; `blogaudit rules` lists them");
        return 2;
    };
    let m = &rule.meta;
    println!("# {} {}: {}\n", m.id, m.name, m.title);
    println!(
        "Severity: {}    Category: {}    Sources: {}    Kinds: {}\n",
        m.severity.as_str(),
        m.category,
        m.sources.join(", "),
        m.kinds.join(", ")
    );
    println!("{}\n", m.description.trim());
    println!("Remediation: {}", m.remediation);
    0
}

fn man(out_dir: Option<&std::path::Path>) -> i32 {
    let cmd = Cli::command();
    let result = match out_dir {
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(cmd, dir))
            .map(|()| println!("wrote the man pages into {}", dir.display())),
        None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout()),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: cannot write the man page: {e}");
            2
        }
    }
}

fn init(path: &std::path::Path) -> i32 {
    if path.exists() {
        eprintln!(
            "error: {} already exists; blogaudit init never overwrites a file",
            path.display()
        );
        return 2;
    }
    if let Err(e) = Config::parse(config::STARTER, "starter") {
        eprintln!("internal error: the starter config does not parse: {e:?}");
        return 2;
    }
    match std::fs::write(path, config::STARTER) {
        Ok(()) => {
            println!("wrote {}", path.display());
            0
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            2
        }
    }
}
