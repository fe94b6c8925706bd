//! `blogaudit upload` against a stand-in for GitHub's code scanning API.
//!
//! The stand-in is an HTTP/1.1 server on 127.0.0.1 (std only, one thread per connection,
//! `Connection: close`) with the two endpoints of "Upload an analysis as SARIF data" and their
//! documented checks: the bearer token, the repository path, `commit_sha` (40 hex), `ref`,
//! `sarif` (base64 of gzip of SARIF 2.1.0), the gzip size limit (413), and a 403 mode for a
//! repository without code scanning. The status endpoint answers `pending` a few times, then
//! `complete` (or `failed`). The real binary is run against it; nothing reaches GitHub.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{root, Run};
use serde_json::{json, Value};

const TOKEN: &str = "ghs_TestToken0123456789abcdefABCDEF";
const OWNER: &str = "octo-org";
const REPO: &str = "blog";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const REF: &str = "refs/heads/main";
const SARIF_ID: &str = "47177e22-5596-11eb-80a1-c1e54ef945c6";
/// GitHub's limit on the gzip-compressed SARIF.
const GITHUB_GZIP_LIMIT: usize = 10 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// The stand-in GitHub

/// How the stand-in behaves.
#[derive(Clone, Debug)]
struct Behaviour {
    /// Upload requests with a larger gzip get 413.
    gzip_limit: usize,
    /// Every upload gets 403 (code scanning not enabled).
    forbidden: bool,
    /// Every upload gets a 422 whose message quotes the Authorization header back.
    echo_token: bool,
    /// The status endpoint answers `pending` this many times first.
    pending_polls: usize,
    /// Processing ends `failed` instead of `complete`.
    fail_processing: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            gzip_limit: GITHUB_GZIP_LIMIT,
            forbidden: false,
            echo_token: false,
            pending_polls: 2,
            fail_processing: false,
        }
    }
}

/// One request as the stand-in received it.
#[derive(Clone, Debug)]
struct Request {
    method: String,
    path: String,
    /// Lower-cased header names.
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

#[derive(Default)]
struct Seen {
    requests: Vec<Request>,
    /// The JSON body of each accepted upload, and the SARIF it carried (decoded).
    uploads: Vec<(Value, Value)>,
    polls: usize,
}

struct FakeGitHub {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
}

impl FakeGitHub {
    fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (Arc::clone(&seen), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (seen, behaviour) = (Arc::clone(&seen2), behaviour.clone());
                std::thread::spawn(move || serve(stream, addr, &behaviour, &seen));
            }
        });
        Self { addr, seen, stop }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<Request> {
        self.seen.lock().expect("lock").requests.clone()
    }

    fn uploads(&self) -> Vec<(Value, Value)> {
        self.seen.lock().expect("lock").uploads.clone()
    }

    fn polls(&self) -> usize {
        self.seen.lock().expect("lock").polls
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees `stop`.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Reads one request (Content-Length bodies only) and answers it.
fn serve(stream: TcpStream, addr: SocketAddr, behaviour: &Behaviour, seen: &Mutex<Seen>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return; // the wake-up connection of Drop, or a client that went away
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let (status, body) = if headers.contains_key("transfer-encoding") {
        (411, json!({"message": "Length Required"}))
    } else {
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = Request {
            method,
            path,
            headers,
            body,
        };
        seen.lock().expect("lock").requests.push(request.clone());
        route(&request, addr, behaviour, seen)
    };
    let body = body.to_string();
    let reason = match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        411 => "Length Required",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        _ => "Other",
    };
    let mut out = stream;
    let _ = write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nX-GitHub-Request-Id: C0DE:5CAN:1\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = out.flush();
}

fn message(text: &str) -> Value {
    json!({
        "message": text,
        "documentation_url": "https://docs.github.com/rest/code-scanning/code-scanning#upload-an-analysis-as-sarif-data",
    })
}

/// GitHub's behaviour for the two endpoints.
fn route(req: &Request, addr: SocketAddr, b: &Behaviour, seen: &Mutex<Seen>) -> (u16, Value) {
    let auth = req
        .headers
        .get("authorization")
        .cloned()
        .unwrap_or_default();
    if auth != format!("Bearer {TOKEN}") {
        return (401, message("Bad credentials"));
    }
    let base = format!("/repos/{OWNER}/{REPO}/code-scanning/sarifs");
    if req.method == "POST" && req.path == base {
        return accept_upload(req, addr, b, seen, &auth);
    }
    if req.method == "GET" {
        if let Some(id) = req.path.strip_prefix(&format!("{base}/")) {
            if id != SARIF_ID {
                return (404, message("Not Found"));
            }
            let mut s = seen.lock().expect("lock");
            s.polls += 1;
            if s.polls <= b.pending_polls {
                return (
                    200,
                    json!({"processing_status": "pending", "analyses_url": null, "errors": null}),
                );
            }
            if b.fail_processing {
                return (
                    200,
                    json!({
                        "processing_status": "failed",
                        "analyses_url": null,
                        "errors": ["locationFromSarifResult: expected artifact location",
                                   "run[0] is missing tool.driver.name"],
                    }),
                );
            }
            return (
                200,
                json!({
                    "processing_status": "complete",
                    "analyses_url": format!("http://{addr}/repos/{OWNER}/{REPO}/code-scanning/analyses?sarif_id={SARIF_ID}"),
                    "errors": [],
                }),
            );
        }
    }
    (404, message("Not Found"))
}

fn accept_upload(
    req: &Request,
    addr: SocketAddr,
    b: &Behaviour,
    seen: &Mutex<Seen>,
    auth: &str,
) -> (u16, Value) {
    if b.forbidden {
        return (
            403,
            message("Advanced Security must be enabled for this repository to use code scanning."),
        );
    }
    if b.echo_token {
        return (
            422,
            message(&format!("Invalid request: credentials `{auth}` rejected")),
        );
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return (400, message("Problems parsing JSON"));
    };
    let sha = body["commit_sha"].as_str().unwrap_or_default();
    if sha.len() != 40 || !sha.bytes().all(|c| c.is_ascii_hexdigit()) {
        return (
            422,
            message(&format!(
                "Invalid request.\n\n`{sha}` is not a valid commit_sha"
            )),
        );
    }
    let git_ref = body["ref"].as_str().unwrap_or_default();
    let ref_ok = ["refs/heads/", "refs/tags/", "refs/pull/"]
        .iter()
        .any(|p| git_ref.len() > p.len() && git_ref.starts_with(p));
    if !ref_ok {
        return (422, message("Invalid request.\n\n`ref` is not valid"));
    }
    let Some(encoded) = body["sarif"].as_str() else {
        return (
            422,
            message("Invalid request.\n\n\"sarif\" wasn't supplied."),
        );
    };
    let Ok(gz) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
        return (422, message("Invalid request.\n\n`sarif` is not base64"));
    };
    if gz.len() > b.gzip_limit {
        return (413, message("Payload Too Large"));
    }
    let mut raw = Vec::new();
    if flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .is_err()
    {
        return (400, message("the sarif is not gzip-compressed"));
    }
    let Ok(sarif) = serde_json::from_slice::<Value>(&raw) else {
        return (400, message("the sarif is not JSON"));
    };
    if sarif["version"] != "2.1.0" || !sarif["runs"].is_array() {
        return (
            422,
            message("Invalid request.\n\nSARIF must be version 2.1.0"),
        );
    }
    seen.lock().expect("lock").uploads.push((body, sarif));
    (
        202,
        json!({
            "id": SARIF_ID,
            "url": format!("http://{addr}/repos/{OWNER}/{REPO}/code-scanning/sarifs/{SARIF_ID}"),
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Running the binary

fn assert_token_hidden(r: &Run) {
    assert!(
        !r.stdout.contains(TOKEN) && !r.stderr.contains(TOKEN),
        "the token was printed:\n{r:#?}"
    );
}

/// Runs the binary in the crate root with exactly `env` as its environment.
fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    common::run_blogaudit_in_env(&root(), args, Some(env))
}

/// `blogaudit upload FILE --repo --ref --sha --api-url --poll-interval 0.02 EXTRA` with the token.
fn upload(gh: &FakeGitHub, file: &Path, extra: &[&str]) -> Run {
    upload_with(file, "octo-org/blog", &gh.url(), TOKEN, extra)
}

/// `blogaudit upload FILE --repo REPO --ref --sha --api-url API --poll-interval 0.02 EXTRA`
/// with `token` as GITHUB_TOKEN.
fn upload_with(file: &Path, repo: &str, api: &str, token: &str, extra: &[&str]) -> Run {
    let file = file.to_str().expect("utf-8 path");
    let mut args = vec![
        "upload",
        file,
        "--repo",
        repo,
        "--ref",
        REF,
        "--sha",
        SHA,
        "--api-url",
        api,
        "--poll-interval",
        "0.02",
    ];
    args.extend_from_slice(extra);
    run_with_env(&args, &[("GITHUB_TOKEN", token)])
}

/// The SARIF of `blogaudit scan samples/blog-broken`, written once per test run.
fn broken_sarif() -> &'static Path {
    static SARIF: OnceLock<PathBuf> = OnceLock::new();
    SARIF.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("upload-tests");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("blog-broken.sarif");
        let out = path.to_str().expect("utf-8 path");
        let r = run_with_env(
            &[
                "scan",
                "samples/blog-broken",
                "--format",
                "sarif",
                "-o",
                out,
            ],
            // PATH only, for kubectl (kustomize).
            &[("PATH", &std::env::var("PATH").unwrap_or_default())],
        );
        assert_eq!(r.code, 1, "scan of samples/blog-broken: {r:#?}");
        path
    })
}

fn file_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read SARIF")).expect("SARIF is JSON")
}

fn write_temp(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path
}

// ---------------------------------------------------------------------------------------------
// The cases

#[test]
fn uploads_waits_and_prints_the_analysis_url() {
    let gh = FakeGitHub::start(Behaviour::default());
    let file = broken_sarif();
    let r = upload(&gh, file, &[]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert_token_hidden(&r);
    assert_eq!(
        r.stdout.trim(),
        format!(
            "{}/repos/octo-org/blog/code-scanning/analyses?sarif_id={SARIF_ID}",
            gh.url()
        ),
        "stdout is the analyses URL alone"
    );

    // The server decoded base64 → gzip → the very SARIF of the file.
    let uploads = gh.uploads();
    assert_eq!(uploads.len(), 1);
    let (body, sarif) = &uploads[0];
    assert_eq!(sarif, &file_json(file));
    assert_eq!(body["commit_sha"], SHA);
    assert_eq!(body["ref"], REF);
    assert_eq!(body["tool_name"], "blogaudit");
    assert!(body.get("checkout_uri").is_none() && body.get("started_at").is_none());

    // Headers GitHub asks for, on every request.
    let requests = gh.requests();
    let post = requests
        .iter()
        .find(|r| r.method == "POST")
        .expect("a POST");
    for req in &requests {
        assert_eq!(req.headers["authorization"], format!("Bearer {TOKEN}"));
        assert_eq!(req.headers["accept"], "application/vnd.github+json");
        assert_eq!(req.headers["x-github-api-version"], "2022-11-28");
        assert_eq!(
            req.headers["user-agent"],
            format!("blogaudit/{}", env!("CARGO_PKG_VERSION"))
        );
    }
    assert!(post.headers["content-type"].starts_with("application/json"));

    // Two `pending` answers, then `complete`: polled three times, GETs on the status URL.
    assert_eq!(gh.polls(), 3, "{requests:#?}");
    let gets: Vec<_> = requests.iter().filter(|r| r.method == "GET").collect();
    assert_eq!(gets.len(), 3);
    assert!(gets
        .iter()
        .all(|g| g.path == format!("/repos/octo-org/blog/code-scanning/sarifs/{SARIF_ID}")));
}

#[test]
fn optional_fields_and_category_are_sent() {
    let gh = FakeGitHub::start(Behaviour::default());
    let r = upload(
        &gh,
        broken_sarif(),
        &[
            "--category",
            "blogaudit/infra",
            "--checkout-uri",
            "file:///home/runner/work/blog/blog",
            "--started-at",
            "2024-05-01T12:00:00Z",
        ],
    );
    assert_eq!(r.code, 0, "{r:#?}");
    let uploads = gh.uploads();
    let (body, sarif) = &uploads[0];
    assert_eq!(body["checkout_uri"], "file:///home/runner/work/blog/blog");
    assert_eq!(body["started_at"], "2024-05-01T12:00:00Z");
    for run in sarif["runs"].as_array().expect("runs") {
        assert_eq!(run["automationDetails"]["id"], "blogaudit/infra/");
    }
    // Only the category differs from the file.
    let mut expected = file_json(broken_sarif());
    for run in expected["runs"].as_array_mut().expect("runs") {
        run["automationDetails"]["id"] = json!("blogaudit/infra/");
    }
    assert_eq!(sarif, &expected);
}

#[test]
fn forbidden_explains_permissions_and_hides_the_token() {
    let gh = FakeGitHub::start(Behaviour {
        forbidden: true,
        ..Behaviour::default()
    });
    let r = upload(&gh, broken_sarif(), &[]);
    assert_eq!(r.code, 2, "{r:#?}");
    assert_token_hidden(&r);
    assert!(r.stderr.contains("HTTP 403"), "{}", r.stderr);
    assert!(r.stderr.contains("security-events: write"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Advanced Security must be enabled for this repository"),
        "GitHub's own message is shown: {}",
        r.stderr
    );
    assert!(r.stderr.contains("C0DE:5CAN:1"), "request id: {}", r.stderr);
    assert!(r.stdout.is_empty());
    assert_eq!(gh.polls(), 0);
}

#[test]
fn a_token_echoed_by_the_server_is_masked() {
    let gh = FakeGitHub::start(Behaviour {
        echo_token: true,
        ..Behaviour::default()
    });
    let r = upload(&gh, broken_sarif(), &[]);
    assert_eq!(r.code, 2, "{r:#?}");
    assert_token_hidden(&r);
    assert!(r.stderr.contains("HTTP 422"), "{}", r.stderr);
    assert!(r.stderr.contains("Bearer ***"), "{}", r.stderr);
}

#[test]
fn a_wrong_token_is_a_401() {
    let gh = FakeGitHub::start(Behaviour::default());
    let r = upload_with(
        broken_sarif(),
        "octo-org/blog",
        &gh.url(),
        "ghs_not_the_right_one",
        &[],
    );
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("HTTP 401"), "{}", r.stderr);
    assert!(r.stderr.contains("Bad credentials"), "{}", r.stderr);
    assert!(!r.stderr.contains("ghs_not_the_right_one"));
}

#[test]
fn an_unknown_repository_is_a_404() {
    let gh = FakeGitHub::start(Behaviour::default());
    let r = upload_with(broken_sarif(), "octo-org/other", &gh.url(), TOKEN, &[]);
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("HTTP 404"), "{}", r.stderr);
    assert!(
        r.stderr.contains("octo-org/other not found"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_413_from_github_is_explained() {
    // A stand-in with a 1 KB limit: the real SARIF passes the local 10 MB check and GitHub says
    // 413.
    let gh = FakeGitHub::start(Behaviour {
        gzip_limit: 1024,
        ..Behaviour::default()
    });
    let r = upload(&gh, broken_sarif(), &[]);
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("HTTP 413"), "{}", r.stderr);
    assert!(r.stderr.contains("too large"), "{}", r.stderr);
    assert!(r.stderr.contains("Payload Too Large"), "{}", r.stderr);
    assert!(gh.uploads().is_empty());
}

/// xorshift64*: deterministic, incompressible enough.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn a_sarif_over_10_mb_of_gzip_is_refused_before_sending() {
    // 15 MB of random characters from a 64-letter alphabet: about 6 bits each, so gzip cannot
    // bring them under ~11 MB.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let blobs: Vec<Value> = (0..15_000)
        .map(|_| {
            let s: String = (0..1000)
                .map(|_| char::from(ALPHABET[(rng.next() % 64) as usize]))
                .collect();
            Value::String(s)
        })
        .collect();
    let sarif = json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": {"driver": {"name": "blogaudit", "rules": []}},
            "results": [],
            "properties": {"blobs": blobs},
        }],
    });
    let text = sarif.to_string();
    // The test's own premise: the gzip really is over GitHub's limit.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(text.as_bytes()).expect("gzip");
    let gz = enc.finish().expect("gzip");
    assert!(gz.len() > GITHUB_GZIP_LIMIT, "only {} bytes", gz.len());

    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_temp(&dir, "big.sarif", &text);
    let gh = FakeGitHub::start(Behaviour::default());
    let r = upload(&gh, &file, &[]);
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("10485760 bytes"), "{}", r.stderr);
    assert!(r.stderr.contains("--category"), "{}", r.stderr);
    assert!(r.stderr.contains("nothing was sent"), "{}", r.stderr);
    assert!(gh.requests().is_empty(), "a request was sent");
}

#[test]
fn failed_processing_exits_1_with_githubs_errors() {
    let gh = FakeGitHub::start(Behaviour {
        fail_processing: true,
        pending_polls: 1,
        ..Behaviour::default()
    });
    let r = upload(&gh, broken_sarif(), &[]);
    assert_eq!(r.code, 1, "{r:#?}");
    assert!(
        r.stderr
            .contains("locationFromSarifResult: expected artifact location"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("missing tool.driver.name"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
    assert_eq!(gh.polls(), 2);
}

#[test]
fn no_wait_returns_after_the_upload() {
    let gh = FakeGitHub::start(Behaviour::default());
    let r = upload(&gh, broken_sarif(), &["--no-wait"]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(
        r.stdout.trim(),
        format!(
            "{}/repos/octo-org/blog/code-scanning/sarifs/{SARIF_ID}",
            gh.url()
        )
    );
    assert_eq!(gh.uploads().len(), 1);
    assert_eq!(gh.polls(), 0);
}

#[test]
fn the_wait_is_bounded() {
    let gh = FakeGitHub::start(Behaviour {
        pending_polls: usize::MAX,
        ..Behaviour::default()
    });
    let started = Instant::now();
    let r = upload(&gh, broken_sarif(), &["--wait-timeout", "0.5"]);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(r.stderr.contains("still processing"), "{}", r.stderr);
    assert!(r.stdout.contains(SARIF_ID));
    assert!(gh.polls() >= 2, "polled {} times", gh.polls());
}

/// What is wrong, the arguments, the environment, and what stderr must say.
type Case<'a> = (
    &'a str,
    Vec<String>,
    &'a [(&'a str, &'a str)],
    &'a [&'a str],
);

#[test]
fn local_problems_exit_2_before_any_request() {
    let gh = FakeGitHub::start(Behaviour::default());
    let api = gh.url();
    let file = broken_sarif().to_str().expect("utf-8").to_string();
    let base = |repo: &'static str, git_ref: &'static str, sha: &'static str| {
        vec![
            "upload".to_string(),
            file.clone(),
            "--repo".into(),
            repo.into(),
            "--ref".into(),
            git_ref.into(),
            "--sha".into(),
            sha.into(),
            "--api-url".into(),
            api.clone(),
        ]
    };
    let token = [("GITHUB_TOKEN", TOKEN)];
    let cases: Vec<Case> = vec![
        (
            "missing token",
            base("octo-org/blog", REF, SHA),
            &[],
            &["GITHUB_TOKEN", "security-events: write"],
        ),
        (
            "empty token",
            base("octo-org/blog", REF, SHA),
            &[("GITHUB_TOKEN", "  ")],
            &["GITHUB_TOKEN"],
        ),
        (
            "short sha",
            base("octo-org/blog", REF, "0123456"),
            &token,
            &["--sha `0123456`", "40 hexadecimal"],
        ),
        (
            "non-hex sha",
            base(
                "octo-org/blog",
                REF,
                "z123456789abcdef0123456789abcdef01234567",
            ),
            &token,
            &["40 hexadecimal"],
        ),
        (
            "repo without owner",
            base("blog", REF, SHA),
            &token,
            &["--repo `blog`", "OWNER/NAME"],
        ),
        (
            "repo with a path",
            base("octo-org/blog/extra", REF, SHA),
            &token,
            &["OWNER/NAME"],
        ),
        (
            "short ref",
            base("octo-org/blog", "main", SHA),
            &token,
            &["refs/", "refs/heads/main?"],
        ),
    ];
    for (what, args, env, needles) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run_with_env(&args, env);
        assert_eq!(r.code, 2, "{what}: {r:#?}");
        assert!(r.stderr.contains("nothing was uploaded"), "{what}: {r:#?}");
        for n in needles {
            assert!(r.stderr.contains(n), "{what}: `{n}` missing:\n{}", r.stderr);
        }
        assert_token_hidden(&r);
    }
    // Several problems at once are all reported.
    let r = run_with_env(
        &[
            "upload", &file, "--repo", "x", "--ref", "main", "--sha", "abc",
        ],
        &[],
    );
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.matches("error:").count(), 4, "{}", r.stderr);
    assert!(gh.requests().is_empty(), "{:#?}", gh.requests());
}

#[test]
fn files_that_are_not_sarif_2_1_0_are_refused() {
    let gh = FakeGitHub::start(Behaviour::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("not-json.sarif", "findings: 3\n", "is not JSON"),
        (
            "old.sarif",
            r#"{"version":"2.0.0","runs":[]}"#,
            "not SARIF 2.1.0 (version \"2.0.0\")",
        ),
        ("noversion.sarif", r#"{"runs":[]}"#, "no `version`"),
        (
            "noruns.sarif",
            r#"{"version":"2.1.0"}"#,
            "has no `runs` array",
        ),
    ];
    for (name, text, needle) in cases {
        let file = write_temp(&dir, name, text);
        let r = upload(&gh, &file, &[]);
        assert_eq!(r.code, 2, "{name}: {r:#?}");
        assert!(r.stderr.contains(needle), "{name}: {}", r.stderr);
    }
    let r = upload(&gh, &dir.path().join("missing.sarif"), &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot read"), "{}", r.stderr);
    assert!(gh.requests().is_empty());
}

#[test]
fn github_actions_variables_are_the_defaults() {
    let gh = FakeGitHub::start(Behaviour::default());
    let api = gh.url();
    let file = broken_sarif().to_str().expect("utf-8");
    let pr_ref = "refs/pull/42/merge";
    let env = [
        ("GITHUB_TOKEN", TOKEN),
        ("GITHUB_REPOSITORY", "octo-org/blog"),
        ("GITHUB_SHA", SHA),
        ("GITHUB_REF", pr_ref),
        ("GITHUB_API_URL", api.as_str()),
    ];
    let r = run_with_env(&["upload", file, "--poll-interval", "0.01"], &env);
    assert_eq!(r.code, 0, "{r:#?}");
    let uploads = gh.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].0["commit_sha"], SHA);
    assert_eq!(uploads[0].0["ref"], pr_ref);
    assert!(r.stdout.contains("/code-scanning/analyses?sarif_id="));

    // Flags win over the variables.
    let other_sha = "fedcba9876543210fedcba9876543210fedcba98";
    let env = [
        ("GITHUB_TOKEN", TOKEN),
        ("GITHUB_REPOSITORY", "someone/else"),
        ("GITHUB_SHA", SHA),
        ("GITHUB_REF", pr_ref),
        ("GITHUB_API_URL", "https://github.invalid/api/v3"),
    ];
    let r = run_with_env(
        &[
            "upload",
            file,
            "--repo",
            "octo-org/blog",
            "--sha",
            other_sha,
            "--ref",
            "refs/heads/main",
            "--api-url",
            &api,
            "--no-wait",
        ],
        &env,
    );
    assert_eq!(r.code, 0, "{r:#?}");
    let uploads = gh.uploads();
    assert_eq!(uploads.len(), 2);
    assert_eq!(uploads[1].0["commit_sha"], other_sha);
    assert_eq!(uploads[1].0["ref"], "refs/heads/main");

    // A bad value from the environment is named as such.
    let env = [
        ("GITHUB_TOKEN", TOKEN),
        ("GITHUB_REPOSITORY", "octo-org/blog"),
        ("GITHUB_SHA", "HEAD"),
        ("GITHUB_REF", pr_ref),
        ("GITHUB_API_URL", api.as_str()),
    ];
    let r = run_with_env(&["upload", file], &env);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("$GITHUB_SHA `HEAD`"), "{}", r.stderr);
    assert_eq!(gh.uploads().len(), 2);
}

#[test]
fn transport_errors_exit_2_with_the_url() {
    // A port that was just free: connection refused.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let api = format!("http://127.0.0.1:{port}");
    let r = upload_with(broken_sarif(), "octo-org/blog", &api, TOKEN, &[]);
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(
        r.stderr
            .contains(&format!("{api}/repos/octo-org/blog/code-scanning/sarifs")),
        "{}",
        r.stderr
    );
    assert_token_hidden(&r);

    // Plain http to another host would send the token in clear: refused before connecting.
    let r = upload_with(
        broken_sarif(),
        "octo-org/blog",
        "http://github.example.com/api/v3",
        TOKEN,
        &[],
    );
    assert_eq!(r.code, 2, "{r:#?}");
    assert!(r.stderr.contains("plain http"), "{}", r.stderr);
}
