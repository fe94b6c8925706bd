//! `blogaudit upload`: send a SARIF file to GitHub code scanning and wait until GitHub has
//! processed it.
//!
//! This follows GitHub's REST API "Upload an analysis as SARIF data": the SARIF is
//! gzip-compressed, base64-encoded and POSTed to `/repos/{owner}/{repo}/code-scanning/sarifs`
//! (202 Accepted, with an upload id), then `/code-scanning/sarifs/{id}` is polled until its
//! `processing_status` is `complete` or `failed`.
//!
//! Everything that can be checked locally (arguments, token, SARIF shape, the 10 MB gzip limit)
//! is checked before anything is sent. The token comes from `GITHUB_TOKEN` only, goes nowhere
//! but the `Authorization` header, and is masked in every message this module prints.
//!
//! Exit codes: `0` processed (or accepted, with `--no-wait` or when the wait runs out);
//! `1` GitHub could not process the SARIF (its errors are printed); `2` nothing or not all was
//! done: bad arguments or file, missing token, an HTTP or network error.
//!
//! One file per step: `destination` resolves where to upload (flags, GitHub Actions
//! variables, the token) and checks it; `payload` reads, checks and compresses the SARIF;
//! `client` makes the HTTP calls and polls; `explain` turns GitHub's error answers into
//! advice. This file holds the arguments, runs the steps in order and prints what happened.

mod client;
mod destination;
mod explain;
mod payload;

use std::path::PathBuf;
use std::time::Duration;

use client::{request_body, secs, Client, PostError, Processing, WaitError};
use destination::Destination;
pub use destination::DEFAULT_API_URL;
pub use payload::MAX_GZIP_BYTES;
use payload::{human_size, Payload, PayloadError};

/// `blogaudit upload` arguments.
///
/// `--repo`, `--ref`, `--sha` and `--api-url` default to the variables GitHub Actions sets
/// (`GITHUB_REPOSITORY`, `GITHUB_REF`, `GITHUB_SHA`, `GITHUB_API_URL`); a flag wins over the
/// variable. The token is read from `GITHUB_TOKEN` only: there is deliberately no flag for it.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
The token is read from the GITHUB_TOKEN environment variable; it needs the \
`security-events: write` permission (in a workflow: `permissions: security-events: write`).

Exit codes: 0 processed by GitHub (or accepted, with --no-wait or when --wait-timeout runs \
out); 1 GitHub could not process the SARIF; 2 nothing was uploaded or the outcome is unknown \
(bad arguments or file, missing token, HTTP or network error).")]
pub struct UploadArgs {
    /// The SARIF file to upload (from `blogaudit scan --format sarif`).
    #[arg(value_name = "FILE")]
    pub sarif: PathBuf,
    /// The repository, OWNER/NAME [default: $GITHUB_REPOSITORY].
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// The full Git ref analysed, e.g. refs/heads/main or refs/pull/42/merge [default: $GITHUB_REF].
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,
    /// The commit analysed, 40 hex digits [default: $GITHUB_SHA].
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// The API base URL; for GitHub Enterprise Server https://HOST/api/v3 [default: $GITHUB_API_URL, else https://api.github.com].
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// Set the code scanning category before uploading: every run's automationDetails.id,
    /// with a trailing `/` added as github/codeql-action does.
    #[arg(long, value_name = "CATEGORY")]
    pub category: Option<String>,
    /// The file:// URI of the checkout the SARIF's paths are relative to (GitHub's checkout_uri).
    #[arg(long, value_name = "URI")]
    pub checkout_uri: Option<String>,
    /// When the analysis started, ISO 8601, e.g. 2024-05-01T12:00:00Z (GitHub's started_at).
    #[arg(long, value_name = "TIME")]
    pub started_at: Option<String>,
    /// Wait at most SECS for GitHub to process the upload (0: do not wait).
    #[arg(long, value_name = "SECS", default_value = "120", value_parser = parse_secs)]
    pub wait_timeout: Duration,
    /// Seconds between two status checks while waiting (fractions allowed).
    #[arg(long, value_name = "SECS", default_value = "2", value_parser = parse_secs)]
    pub poll_interval: Duration,
    /// Exit once GitHub has accepted the upload, without waiting for it to be processed.
    #[arg(long)]
    pub no_wait: bool,
}

/// Why a number of seconds is refused.
#[derive(Debug, thiserror::Error)]
enum SecondsError {
    #[error("`{0}` is not a number of seconds")]
    NotANumber(String),
    #[error("`{0}` must be between 0 and 86400 seconds")]
    OutOfRange(String),
}

/// Parses a number of seconds (fractions allowed) into a duration.
fn parse_secs(s: &str) -> Result<Duration, SecondsError> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| SecondsError::NotANumber(s.to_string()))?;
    if !secs.is_finite() || !(0.0..=86_400.0).contains(&secs) {
        return Err(SecondsError::OutOfRange(s.to_string()));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// How an upload ends, as its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// Processed, or accepted and left to GitHub to process.
    Success = 0,
    /// GitHub could not process the SARIF.
    NotProcessed = 1,
    /// Nothing was uploaded, or the outcome is unknown.
    Incomplete = 2,
}

/// An upload that ended well: what to print on standard output.
enum Done {
    /// Accepted; not waited for.
    NotWaited { status_url: String },
    /// Processed into this analysis.
    Processed { analyses_url: String },
    /// Accepted and still processing when the wait ran out.
    StillProcessing { status_url: String },
}

/// An upload that did not end well, once the destination was resolved.
#[derive(Debug, thiserror::Error)]
enum UploadError {
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error(transparent)]
    Post(#[from] PostError),
    /// Accepted, but the outcome of processing is unknown.
    #[error("{error}")]
    Wait {
        status_url: String,
        error: WaitError,
    },
    /// Processed, and GitHub could not make an analysis of it.
    #[error(
        "GitHub code scanning could not process the SARIF:{}",
        reasons(.errors)
    )]
    NotProcessed { errors: Vec<String> },
}

impl UploadError {
    fn exit(&self) -> Exit {
        match self {
            Self::NotProcessed { .. } => Exit::NotProcessed,
            Self::Payload(_) | Self::Post(_) | Self::Wait { .. } => Exit::Incomplete,
        }
    }

    /// The line after the error that says what state GitHub is left in, when that is known.
    fn aftermath(&self) -> Option<String> {
        match self {
            Self::Post(error) if error.nothing_uploaded() => Some(NOTHING_UPLOADED.to_string()),
            Self::Wait { status_url, .. } => Some(format!(
                "the upload was accepted; GitHub processes it in the background: {status_url}"
            )),
            _ => None,
        }
    }
}

const NOTHING_UPLOADED: &str = "nothing was uploaded";

/// GitHub's reasons for a failed processing, one indented line each.
fn reasons(errors: &[String]) -> String {
    if errors.is_empty() {
        return "\n  (GitHub gave no reason)".to_string();
    }
    errors.iter().map(|e| format!("\n  - {e}")).collect()
}

/// Prints progress and results, with the token masked in every line.
struct Console<'a> {
    destination: &'a Destination,
}

impl Console<'_> {
    /// A message for the person watching, on standard error.
    fn note(&self, text: &str) {
        eprintln!("{}", self.destination.mask(text));
    }

    /// The URL a script reads, on standard output.
    fn answer(&self, url: &str) {
        println!("{}", self.destination.mask(url));
    }
}

/// Runs the upload; returns the process exit code.
#[must_use]
pub fn run(args: &UploadArgs) -> i32 {
    let destination = match Destination::resolve(args) {
        Ok(destination) => destination,
        Err(problems) => {
            // Every value these quote is masked already.
            for problem in problems {
                eprintln!("error: {problem}");
            }
            eprintln!("{NOTHING_UPLOADED}");
            return Exit::Incomplete as i32;
        }
    };
    let console = Console {
        destination: &destination,
    };
    let exit = match upload(args, &console) {
        Ok(Done::NotWaited { status_url }) => {
            console.note(&format!(
                "not waiting for processing; its status: {status_url}"
            ));
            console.answer(&status_url);
            Exit::Success
        }
        Ok(Done::Processed { analyses_url }) => {
            console.note("GitHub processed the upload; the analysis:");
            console.answer(&analyses_url);
            Exit::Success
        }
        Ok(Done::StillProcessing { status_url }) => {
            console.note(&format!(
                "warning: GitHub is still processing the upload after {}; it goes on in the \
                 background (raise --wait-timeout to wait longer). Its status: {status_url}",
                secs(args.wait_timeout)
            ));
            console.answer(&status_url);
            Exit::Success
        }
        Err(error) => {
            console.note(&format!("error: {error}"));
            if let Some(aftermath) = error.aftermath() {
                console.note(&aftermath);
            }
            error.exit()
        }
    };
    exit as i32
}

/// Prepares, posts and (unless told not to) waits; says what it does as it goes.
fn upload(args: &UploadArgs, console: &Console<'_>) -> Result<Done, UploadError> {
    let destination = console.destination;
    let payload = Payload::prepare(&args.sarif, args.category.as_deref())?;
    console.note(&format!(
        "uploading {} ({} run(s), {} results; {} gzip-compressed from {}) to {} for {} at {}",
        args.sarif.display(),
        payload.runs,
        payload.results,
        human_size(payload.gzip_bytes()),
        human_size(payload.raw_bytes),
        destination.owner_repo(),
        destination.git_ref,
        destination.short_sha(),
    ));
    let client = Client::new(destination);
    let accepted = client.upload(&request_body(
        destination,
        &payload,
        args.checkout_uri.as_deref(),
        args.started_at.as_deref(),
    ))?;
    console.note(&format!("GitHub accepted the upload: id {}", accepted.id));
    let status_url = accepted.status_url;
    if args.no_wait || args.wait_timeout.is_zero() {
        return Ok(Done::NotWaited { status_url });
    }
    console.note(&format!(
        "waiting for GitHub to process it (at most {})",
        secs(args.wait_timeout)
    ));
    match client.wait(&status_url, args.wait_timeout, args.poll_interval) {
        Ok(Processing::Complete { analyses_url }) => Ok(Done::Processed { analyses_url }),
        Ok(Processing::Pending) => Ok(Done::StillProcessing { status_url }),
        Ok(Processing::Failed { errors }) => Err(UploadError::NotProcessed { errors }),
        Err(error) => Err(UploadError::Wait { status_url, error }),
    }
}
