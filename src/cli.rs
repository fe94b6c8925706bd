//! Command-line interface: argument definitions and the commands that print.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

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
}

/// Runs the parsed command; returns the process exit code.
#[must_use]
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Scan(args) => run_scan(&args),
        Command::Rules { rules, json } => list_rules(rules.as_deref(), json),
        Command::Explain { id, rules } => explain(&id, rules.as_deref()),
        Command::Init { path } => init(&path),
    }
}

fn run_scan(args: &ScanArgs) -> i32 {
    let opts = ScanOptions {
        paths: args.paths.clone(),
        config: args.config.clone(),
        rules: args.rules.clone(),
        base: crate::cwd(),
        today: crate::suppress::today(),
        terraform: crate::source::terraform::TerraformOptions {
            var_files: args.var_files.clone(),
            vars: args.vars.clone(),
        },
    };
    let outcome = scan(&opts);
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let report = Report {
        findings: &outcome.findings,
        diagnostics: &outcome.diagnostics,
        rules: &outcome.rules,
        files: &outcome.files,
        category: "blogaudit/scan",
        verbose: args.verbose,
        color,
    };
    let started = std::time::Instant::now();
    let text = report.render(args.format);
    if args.timings {
        for (stage, d) in &outcome.timings {
            eprintln!("{stage:>10}: {:>8.1} ms", d.as_secs_f64() * 1000.0);
        }
        eprintln!(
            "{:>10}: {:>8.1} ms",
            "report",
            started.elapsed().as_secs_f64() * 1000.0
        );
        eprintln!("{:>10}: {}", "resources", outcome.resources);
        eprintln!("slowest rules (CPU time over all threads):");
        for (id, d) in outcome.rule_time.iter().take(10) {
            eprintln!("{id:>10}: {:>8.1} ms", d.as_secs_f64() * 1000.0);
        }
    }
    let code = exit_code(&outcome, args.fail_on.severity());
    if let Err(e) = emit(args.output.as_ref(), &text) {
        eprintln!("error: cannot write the report: {e}");
        return 2;
    }
    code
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
