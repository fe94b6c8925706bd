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

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// GitHub's limit on one SARIF upload: 10 MB of gzip-compressed SARIF.
pub const MAX_GZIP_BYTES: usize = 10 * 1024 * 1024;

/// The public GitHub API; GitHub Enterprise Server uses `https://HOST/api/v3`.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// The REST API version this client is written against.
const API_VERSION: &str = "2022-11-28";

/// The largest response body read (GitHub's answers here are a few hundred bytes).
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

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

/// Parses a number of seconds (fractions allowed) into a duration.
fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !secs.is_finite() || !(0.0..=86_400.0).contains(&secs) {
        return Err(format!("`{s}` must be between 0 and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Where and what to upload, after flags, environment and validation. (No `Debug`: it holds
/// the token.)
struct Target {
    api: String,
    owner: String,
    repo: String,
    git_ref: String,
    sha: String,
    token: String,
}

impl Target {
    fn sarifs_url(&self) -> String {
        format!(
            "{}/repos/{}/{}/code-scanning/sarifs",
            self.api, self.owner, self.repo
        )
    }

    fn nwo(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    /// Replaces every occurrence of the token in `text` (a server could echo it back).
    fn redact(&self, text: &str) -> String {
        redact(text, &self.token)
    }
}

fn redact(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_string()
    } else {
        text.replace(token, "***")
    }
}

/// A flag, else the environment variable (an empty one counts as unset).
fn flag_or_env(flag: Option<&String>, var: &str) -> Option<(String, String)> {
    if let Some(v) = flag {
        return Some((v.trim().to_string(), format!("--{}", flag_name(var))));
    }
    std::env::var(var)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .map(|v| (v, format!("${var}")))
}

fn flag_name(var: &str) -> &'static str {
    match var {
        "GITHUB_REPOSITORY" => "repo",
        "GITHUB_REF" => "ref",
        "GITHUB_SHA" => "sha",
        _ => "api-url",
    }
}

/// Resolves and checks the destination and the token; every problem found is returned.
fn resolve(args: &UploadArgs) -> Result<Target, Vec<String>> {
    let mut problems = Vec::new();
    let token = std::env::var("GITHUB_TOKEN")
        .ok()
        .map(|t| t.trim().to_string())
        .unwrap_or_default();

    let (owner, repo) = match flag_or_env(args.repo.as_ref(), "GITHUB_REPOSITORY") {
        None => {
            problems.push(
                "no repository: pass --repo OWNER/NAME (GitHub Actions sets GITHUB_REPOSITORY)"
                    .to_string(),
            );
            (String::new(), String::new())
        }
        Some((v, from)) => match split_repo(&v) {
            Some((o, r)) => (o.to_string(), r.to_string()),
            None => {
                problems.push(format!(
                    "{from} `{}` is not a repository: expected OWNER/NAME, e.g. octo-org/blog",
                    redact(&v, &token)
                ));
                (String::new(), String::new())
            }
        },
    };

    let git_ref = match flag_or_env(args.git_ref.as_ref(), "GITHUB_REF") {
        None => {
            problems.push(
                "no Git ref: pass --ref, e.g. refs/heads/main or refs/pull/42/merge \
                 (GitHub Actions sets GITHUB_REF)"
                    .to_string(),
            );
            String::new()
        }
        Some((v, from)) => {
            if valid_ref(&v) {
                v
            } else {
                let hint = if v.is_empty() || v.contains(char::is_whitespace) {
                    String::new()
                } else {
                    format!(" (did you mean refs/heads/{v}?)")
                };
                problems.push(format!(
                    "{from} `{}` is not a full Git ref: it must start with refs/, e.g. \
                     refs/heads/main, refs/tags/v1.0 or refs/pull/42/merge{hint}",
                    redact(&v, &token)
                ));
                String::new()
            }
        }
    };

    let sha = match flag_or_env(args.sha.as_ref(), "GITHUB_SHA") {
        None => {
            problems.push(
                "no commit: pass --sha with the full 40-hex commit SHA (GitHub Actions sets \
                 GITHUB_SHA; elsewhere `git rev-parse HEAD`)"
                    .to_string(),
            );
            String::new()
        }
        Some((v, from)) => {
            if v.len() == 40 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
                v.to_ascii_lowercase()
            } else {
                problems.push(format!(
                    "{from} `{}` is not a commit SHA: expected 40 hexadecimal digits \
                     (`git rev-parse HEAD`), not a short SHA or a branch name",
                    redact(&v, &token)
                ));
                String::new()
            }
        }
    };

    let api = match flag_or_env(args.api_url.as_ref(), "GITHUB_API_URL") {
        None => DEFAULT_API_URL.to_string(),
        Some((v, from)) => match check_api_url(&v) {
            Ok(api) => api,
            Err(why) => {
                problems.push(format!("{from} `{}` {why}", redact(&v, &token)));
                String::new()
            }
        },
    };

    if token.is_empty() {
        problems.push(
            "no token: set the GITHUB_TOKEN environment variable to a token with the \
             `security-events: write` permission (in a workflow: `env: GITHUB_TOKEN: \
             ${{ github.token }}` and `permissions: security-events: write`)"
                .to_string(),
        );
    } else if token.chars().any(|c| c.is_control() || c.is_whitespace()) {
        problems.push(
            "GITHUB_TOKEN contains whitespace or control characters; set it to the token alone"
                .to_string(),
        );
    }

    if problems.is_empty() {
        Ok(Target {
            api,
            owner,
            repo,
            git_ref,
            sha,
            token,
        })
    } else {
        Err(problems)
    }
}

/// `owner/name` with GitHub's characters for each part.
fn split_repo(s: &str) -> Option<(&str, &str)> {
    let (owner, name) = s.split_once('/')?;
    let ok = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    (ok(owner) && ok(name)).then_some((owner, name))
}

fn valid_ref(s: &str) -> bool {
    s.len() > "refs/".len()
        && s.starts_with("refs/")
        && !s.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// Normalises the API base URL, refusing to send the token in clear text off this machine.
fn check_api_url(s: &str) -> Result<String, String> {
    let url = s.trim_end_matches('/');
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("is not a URL: expected e.g. https://api.github.com")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains('@') || url.contains(['?', '#']) {
        return Err("is not a plain API base URL: expected e.g. https://HOST/api/v3".into());
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("contains whitespace".into());
    }
    match scheme {
        "https" => Ok(url.to_string()),
        "http" if is_loopback(host) => Ok(url.to_string()),
        "http" => {
            Err("uses plain http: the token would cross the network unencrypted; use https".into())
        }
        _ => Err("must start with https://".into()),
    }
}

fn is_loopback(host_port: &str) -> bool {
    let host = if let Some(rest) = host_port.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The SARIF to send: its bytes and what it holds.
struct Prepared {
    gzip: Vec<u8>,
    raw_len: usize,
    results: usize,
    runs: usize,
}

/// Reads, checks and compresses the SARIF. Errors are complete messages.
fn prepare(path: &Path, category: Option<&str>) -> Result<Prepared, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut sarif: Value = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "{shown} is not JSON ({e}); write SARIF with `blogaudit scan --format sarif --output FILE`"
        )
    })?;
    let version = sarif.get("version").and_then(Value::as_str);
    if version != Some("2.1.0") {
        let found = match sarif.get("version") {
            None => "no `version`".to_string(),
            Some(v) => format!("version {v}"),
        };
        return Err(format!(
            "{shown} is not SARIF 2.1.0 ({found}); GitHub code scanning accepts SARIF 2.1.0 only"
        ));
    }
    let Some(runs) = sarif.get_mut("runs").and_then(Value::as_array_mut) else {
        return Err(format!(
            "{shown} has no `runs` array: it is not a SARIF log"
        ));
    };
    let results = runs
        .iter()
        .filter_map(|r| r.get("results").and_then(Value::as_array))
        .map(Vec::len)
        .sum();
    let run_count = runs.len();
    let body = match category {
        None => bytes,
        Some(cat) => {
            for run in runs.iter_mut() {
                if let Some(run) = run.as_object_mut() {
                    let details = run.entry("automationDetails").or_insert_with(|| json!({}));
                    if let Some(d) = details.as_object_mut() {
                        d.insert(
                            "id".into(),
                            Value::String(crate::report::sarif::automation_id(cat)),
                        );
                    }
                }
            }
            serde_json::to_vec(&sarif).map_err(|e| format!("cannot re-encode {shown}: {e}"))?
        }
    };
    let mut gzip = gzip(&body, flate2::Compression::default())
        .map_err(|e| format!("cannot compress {shown}: {e}"))?;
    if gzip.len() > MAX_GZIP_BYTES {
        // One more try at the highest level before giving up.
        gzip = gzip_best(&body).map_err(|e| format!("cannot compress {shown}: {e}"))?;
    }
    if gzip.len() > MAX_GZIP_BYTES {
        return Err(format!(
            "{shown} is {} gzip-compressed ({} bytes; {} uncompressed, {results} results), over \
             GitHub's limit of 10 MB ({MAX_GZIP_BYTES} bytes) of gzip per SARIF upload; nothing \
             was sent. Make the report smaller: split the scan into several runs over fewer \
             paths and upload each with its own --category, or disable or suppress noisy rules \
             in blogaudit.toml (`--fail-on` only changes the exit code, not the report)",
            human_size(gzip.len()),
            gzip.len(),
            human_size(body.len()),
        ));
    }
    Ok(Prepared {
        gzip,
        raw_len: body.len(),
        results,
        runs: run_count,
    })
}

fn gzip(data: &[u8], level: flate2::Compression) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 4), level);
    enc.write_all(data)?;
    enc.finish()
}

fn gzip_best(data: &[u8]) -> std::io::Result<Vec<u8>> {
    gzip(data, flate2::Compression::best())
}

/// `120 s`, `0.5 s`.
fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn human_size(n: usize) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    if n >= 1024 * 1024 {
        format!("{:.2} MB", f / (1024.0 * 1024.0))
    } else if n >= 1024 {
        format!("{:.1} KB", f / 1024.0)
    } else {
        format!("{n} bytes")
    }
}

/// Runs the upload; returns the process exit code.
#[must_use]
pub fn run(args: &UploadArgs) -> i32 {
    let target = match resolve(args) {
        Ok(t) => t,
        Err(problems) => {
            for p in problems {
                eprintln!("error: {p}");
            }
            eprintln!("nothing was uploaded");
            return 2;
        }
    };
    let prepared = match prepare(&args.sarif, args.category.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {}", target.redact(&e));
            return 2;
        }
    };
    Uploader::new(&target).run(args, &prepared)
}

/// One upload session: the agent and the target.
struct Uploader<'a> {
    target: &'a Target,
    agent: ureq::Agent,
}

/// A response: status, `X-GitHub-Request-Id` and the body as text.
struct Reply {
    status: u16,
    request_id: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

impl<'a> Uploader<'a> {
    fn new(target: &'a Target) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .https_only(false)
            .user_agent(format!("blogaudit/{}", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(Duration::from_secs(20)))
            .timeout_global(Some(Duration::from_secs(300)))
            .max_redirects(5)
            .build()
            .into();
        Self { target, agent }
    }

    fn run(&self, args: &UploadArgs, prepared: &Prepared) -> i32 {
        let t = self.target;
        eprintln!(
            "uploading {} ({} run(s), {} results; {} gzip-compressed from {}) to {} for {} at {}",
            args.sarif.display(),
            prepared.runs,
            prepared.results,
            human_size(prepared.gzip.len()),
            human_size(prepared.raw_len),
            t.nwo(),
            t.git_ref,
            &t.sha[..12],
        );
        let mut body = serde_json::Map::new();
        body.insert("commit_sha".into(), json!(t.sha));
        body.insert("ref".into(), json!(t.git_ref));
        body.insert(
            "sarif".into(),
            json!(base64::engine::general_purpose::STANDARD.encode(&prepared.gzip)),
        );
        body.insert("tool_name".into(), json!("blogaudit"));
        if let Some(uri) = &args.checkout_uri {
            body.insert("checkout_uri".into(), json!(uri));
        }
        if let Some(at) = &args.started_at {
            body.insert("started_at".into(), json!(at));
        }
        let body = Value::Object(body).to_string();

        let url = t.sarifs_url();
        let reply = match self.send(
            self.authorized(self.agent.post(&url))
                .content_type("application/json")
                .send(body.as_bytes()),
        ) {
            Ok(r) => r,
            Err(e) => return self.transport_error("POST", &url, &e),
        };
        if !(200..300).contains(&reply.status) {
            eprintln!("error: {}", t.redact(&self.explain("upload", &reply)));
            eprintln!("nothing was uploaded");
            return 2;
        }
        let answer = reply.json().unwrap_or(Value::Null);
        let Some(id) = answer.get("id").and_then(Value::as_str).map(str::to_string) else {
            eprintln!(
                "error: GitHub accepted the upload (HTTP {}) but its answer has no upload id: {}",
                reply.status,
                t.redact(&snippet(&reply.body)),
            );
            return 2;
        };
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        {
            eprintln!("error: GitHub returned an unexpected upload id `{id}`");
            return 2;
        }
        let status_url = format!("{url}/{id}");
        eprintln!("GitHub accepted the upload: id {id}");
        if args.no_wait || args.wait_timeout.is_zero() {
            eprintln!("not waiting for processing; its status: {status_url}");
            println!("{status_url}");
            return 0;
        }
        self.wait(&status_url, args)
    }

    /// Sends a built request and reads the reply.
    fn send(
        &self,
        sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Reply, ureq::Error> {
        let mut resp = sent?;
        let status = resp.status().as_u16();
        let request_id = resp
            .headers()
            .get("x-github-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .lossy_utf8(true)
            .read_to_string()
            .unwrap_or_default();
        Ok(Reply {
            status,
            request_id,
            body,
        })
    }

    fn get(&self, url: &str, timeout: Duration) -> Result<Reply, ureq::Error> {
        self.send(
            self.authorized(self.agent.get(url))
                .config()
                .timeout_global(Some(timeout))
                .build()
                .call(),
        )
    }

    fn authorized<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        req.header("Authorization", format!("Bearer {}", self.target.token))
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
    }

    /// Polls the upload's status until it is processed, failed, or the wait runs out.
    fn wait(&self, status_url: &str, args: &UploadArgs) -> i32 {
        let t = self.target;
        eprintln!(
            "waiting for GitHub to process it (at most {})",
            secs(args.wait_timeout)
        );
        let deadline = Instant::now() + args.wait_timeout;
        let mut last_problem: Option<String> = None;
        let mut seen_status = false;
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            std::thread::sleep(args.poll_interval.min(deadline - now));
            let left = deadline.saturating_duration_since(Instant::now());
            let timeout = left.clamp(Duration::from_secs(5), Duration::from_secs(30));
            let reply = match self.get(status_url, timeout) {
                Ok(r) => r,
                Err(e) => {
                    last_problem = Some(format!("GET {status_url}: {e}"));
                    continue;
                }
            };
            match reply.status {
                200 => {}
                // Not visible yet, rate limited or a GitHub hiccup: try again until the deadline.
                404 | 429 | 500..=599 => {
                    last_problem = Some(self.explain("status check", &reply));
                    continue;
                }
                _ => {
                    eprintln!("error: {}", t.redact(&self.explain("status check", &reply)));
                    eprintln!(
                        "the upload was accepted; GitHub processes it in the background: {status_url}"
                    );
                    return 2;
                }
            }
            let status = reply.json().unwrap_or(Value::Null);
            seen_status = true;
            last_problem = None;
            match status.get("processing_status").and_then(Value::as_str) {
                Some("complete") => {
                    let analyses = status
                        .get("analyses_url")
                        .and_then(Value::as_str)
                        .map_or_else(|| status_url.to_string(), str::to_string);
                    eprintln!("GitHub processed the upload; the analysis:");
                    println!("{}", t.redact(&analyses));
                    return 0;
                }
                Some("failed") => {
                    eprintln!("error: GitHub code scanning could not process the SARIF:");
                    let errors = error_list(status.get("errors"));
                    if errors.is_empty() {
                        eprintln!("  (GitHub gave no reason)");
                    }
                    for e in errors {
                        eprintln!("  - {}", t.redact(&e));
                    }
                    return 1;
                }
                _ => {}
            }
        }
        if seen_status {
            eprintln!(
                "warning: GitHub is still processing the upload after {}; it goes on in the \
                 background (raise --wait-timeout to wait longer). Its status: {status_url}",
                secs(args.wait_timeout)
            );
            println!("{status_url}");
            0
        } else {
            eprintln!(
                "error: could not get the upload's status within {}: {}",
                secs(args.wait_timeout),
                t.redact(last_problem.as_deref().unwrap_or("no answer"))
            );
            eprintln!(
                "the upload was accepted; GitHub processes it in the background: {status_url}"
            );
            2
        }
    }

    fn transport_error(&self, method: &str, url: &str, e: &ureq::Error) -> i32 {
        let hint = match e {
            ureq::Error::HostNotFound => " (the host name does not resolve: check --api-url)",
            ureq::Error::Tls(_) | ureq::Error::Rustls(_) => {
                " (TLS failed: check --api-url and the server's certificate)"
            }
            ureq::Error::Timeout(_) => " (timed out)",
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                " (connection refused: check --api-url)"
            }
            _ => "",
        };
        eprintln!(
            "error: cannot {method} {url}: {}{hint}",
            self.target.redact(&e.to_string())
        );
        eprintln!("nothing was uploaded");
        2
    }

    /// What an HTTP error status means here, with GitHub's own message.
    fn explain(&self, what: &str, reply: &Reply) -> String {
        let t = self.target;
        let json = reply.json();
        let message = json
            .as_ref()
            .and_then(|j| j.get("message"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut details = json
            .as_ref()
            .map(|j| error_list(j.get("errors")))
            .unwrap_or_default();
        if let Some(doc) = json
            .as_ref()
            .and_then(|j| j.get("documentation_url"))
            .and_then(Value::as_str)
        {
            details.push(format!("see {doc}"));
        }
        let meaning = match reply.status {
            400 => "GitHub could not read the request".to_string(),
            401 => "GitHub did not accept the token (GITHUB_TOKEN is wrong or expired)".to_string(),
            403 => "forbidden: the token needs the `security-events: write` permission (in a \
                    workflow, `permissions: security-events: write`; pull requests from forks \
                    get a read-only token), and code scanning must be enabled for the \
                    repository (GitHub Advanced Security / Code Security on private \
                    repositories)"
                .to_string(),
            404 => format!(
                "repository {} not found, or the token has no access to it (check --repo, the \
                 token's repository access and, for GitHub Enterprise Server, --api-url \
                 https://HOST/api/v3)",
                t.nwo()
            ),
            413 => format!(
                "the SARIF is too large for GitHub (the limit is 10 MB of gzip, {MAX_GZIP_BYTES} \
                 bytes): split the scan into smaller uploads with their own --category"
            ),
            422 => format!(
                "GitHub's validation failed: check that --sha {} is a commit of {} that GitHub \
                 has (pushed), that --ref {} is right, and that the SARIF is valid",
                t.sha,
                t.nwo(),
                t.git_ref
            ),
            429 => "rate limited by GitHub: try again later".to_string(),
            500..=599 => "GitHub had a server error: try again later".to_string(),
            _ => "unexpected answer".to_string(),
        };
        let mut out = format!("{what} failed: HTTP {}: {meaning}", reply.status);
        match message {
            Some(m) => {
                out.push_str(&format!("\n  GitHub says: {m}"));
            }
            None if !reply.body.trim().is_empty() => {
                out.push_str(&format!("\n  GitHub says: {}", snippet(&reply.body)));
            }
            None => {}
        }
        for d in details {
            out.push_str(&format!("\n  - {d}"));
        }
        if let Some(id) = &reply.request_id {
            out.push_str(&format!("\n  (X-GitHub-Request-Id: {id})"));
        }
        out
    }
}

/// GitHub's `errors`: strings, or objects with a `message` (or anything else, as JSON).
fn error_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .map(|e| match e {
                Value::String(s) => s.clone(),
                Value::Object(o) => o
                    .get("message")
                    .and_then(Value::as_str)
                    .map_or_else(|| e.to_string(), str::to_string),
                other => other.to_string(),
            })
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The start of a response body, on one line.
fn snippet(body: &str) -> String {
    let one_line: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    one_line.trim().to_string()
}
