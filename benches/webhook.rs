//! Webhook benchmark: the release binary serving `blogaudit webhook` on loopback, loaded by a
//! Rust client (tokio, rustls, hyper HTTP/1.1 over keep-alive connections) with
//! AdmissionReview v1 CREATE requests made from every Deployment and Service of
//! `samples/blog` (admitted) and `samples/blog-broken` (refused when the rules find something
//! to deny). Every answer is checked: HTTP 200, the request's uid, and the decision the same
//! object got when it was sent alone before the run (which must be what the crate's own
//! `Admission` decides in process, and admit every `samples/blog` object). Prints requests,
//! failures, throughput, client-side latency per request (p50, p99, p99.9, max), the CPU time
//! of the webhook and of the client, the webhook's RSS (`/proc/PID/status` VmRSS, VmHWM), the
//! load average, and checks the webhook's `/metrics` review counters against the answers.
//!
//! The webhook's cache is `samples/blog/k8s` served by the in-process test API server
//! (`tests/common/kube_api.rs`), so the rules that look up other objects see the sample's
//! NetworkPolicies, ServiceAccounts, HPAs and the rest, as in a cluster running the blog.
//! `BENCH_WEBHOOK_CLUSTER=none` runs it with `--no-cluster` instead: with
//! `--cache-unsure deny` those rules then find nothing to look up and refuse the sample's
//! Deployments as well.
//!
//! `cargo bench --bench webhook` — env:
//! - `BENCH_WEBHOOK_CONNS` (default 500) connections, each sending reviews back to back
//!   (closed loop) for `BENCH_WEBHOOK_SECS` (default 30; 0 skips the load runs) after
//!   `BENCH_WEBHOOK_WARMUP_SECS` (default 3) of the same load; then the same connections at
//!   a steady `BENCH_WEBHOOK_RATE` (default 5000) reviews/s in all (open loop: latency counts
//!   from when each request was due), as long;
//! - both first with the samples' objects as they are (sent again and again, so the webhook
//!   answers most from its recent answers, `--verdict-cache`), then with every object unique
//!   (an annotation holds the request's uid, so every review is judged);
//!   `BENCH_WEBHOOK_UNIQUE=0` or `=1` runs only the first or only the second;
//! - `BENCH_WEBHOOK_HEALTHZ=1`: the same closed loop against `GET /healthz` (TLS and HTTP,
//!   no rules) on the same webhook, for comparison;
//! - `BENCH_WEBHOOK_SOAK_SECS` (default 0: off): a fresh webhook under a steady
//!   `BENCH_WEBHOOK_SOAK_RATE` (default 1000) reviews/s over `BENCH_WEBHOOK_SOAK_CONNS`
//!   (default 50) connections, open loop, every object unique, its RSS sampled every 10 s;
//!   start is after a warm-up of at least 10 s;
//! - `BENCH_BIN`: run this webhook binary instead of this build's (to compare two builds).
//!
//! Loopback only; the client and the webhook share the machine's cores.

mod common;

#[path = "../tests/common/kube_api.rs"]
mod kube_api;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use blogaudit::pipeline::admission::{Admission, Mode, Settings, Subject, Unsure};
use common::{env_or, percentile};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Where the uid goes in a prepared review body.
const UID_MARK: &str = "@@UID@@";
/// Where the object's `bench.blogaudit.io/seq` annotation value goes: `0`, or the uid when
/// every object is to be unique.
const SEQ_MARK: &str = "@@SEQ@@";
/// Which load run this is, in uids.
static RUN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// How many failure messages are kept to print.
const EXAMPLES: usize = 5;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One object under review: its AdmissionReview with the uid left out, and what the webhook
/// answers when it is sent alone.
struct Review {
    label: String,
    /// From `samples/blog` (must be admitted).
    blog: bool,
    head: Vec<u8>,
    middle: Vec<u8>,
    tail: Vec<u8>,
    allowed: bool,
}

impl Review {
    fn new(object: &Value, blog: bool) -> Self {
        let kind = object["kind"].as_str().unwrap_or_default();
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut object = object.clone();
        if let Some(meta) = object["metadata"].as_object_mut() {
            let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
            annotations["bench.blogaudit.io/seq"] = json!(SEQ_MARK);
        }
        let review = json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": UID_MARK,
                "kind": {"group": group, "version": version, "kind": kind},
                "resource": {"group": group, "version": version, "resource": format!("{}s", kind.to_lowercase())},
                "requestKind": {"group": group, "version": version, "kind": kind},
                "namespace": namespace,
                "name": name,
                "operation": "CREATE",
                "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
                "object": object,
                "oldObject": null,
                "dryRun": false,
                "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
            }
        })
        .to_string();
        let (head, rest) = review
            .split_once(&format!("\"{UID_MARK}\""))
            .expect("the uid mark is in the review");
        let (middle, tail) = rest
            .split_once(&format!("\"{SEQ_MARK}\""))
            .expect("the seq mark is in the object");
        let sample = if blog { "blog" } else { "blog-broken" };
        Self {
            label: format!("{sample} {kind} {namespace}/{name}"),
            blog,
            head: format!("{head}\"").into_bytes(),
            middle: format!("\"{middle}\"").into_bytes(),
            tail: format!("\"{tail}").into_bytes(),
            allowed: true,
        }
    }

    /// The review sent as `uid`; `unique`: its object differs from every other one sent
    /// (an annotation holds the uid), so that no answer can be reused.
    fn body(&self, uid: &str, unique: bool) -> Bytes {
        let seq = if unique { uid } else { "0" };
        let mut b = Vec::with_capacity(
            self.head.len() + self.middle.len() + self.tail.len() + uid.len() + seq.len(),
        );
        b.extend_from_slice(&self.head);
        b.extend_from_slice(uid.as_bytes());
        b.extend_from_slice(&self.middle);
        b.extend_from_slice(seq.as_bytes());
        b.extend_from_slice(&self.tail);
        Bytes::from(b)
    }
}

/// Every Deployment and Service of the two samples.
fn reviews() -> Vec<Review> {
    let mut out = Vec::new();
    for (dir, blog) in [
        ("samples/blog/k8s", true),
        ("samples/blog-broken/k8s", false),
    ] {
        for object in kube_api::manifest_objects(&root().join(dir)) {
            if matches!(object["kind"].as_str(), Some("Deployment" | "Service")) {
                out.push(Review::new(&object, blog));
            }
        }
    }
    out
}

/// A CA, and a serving certificate for `localhost` and 127.0.0.1 signed by it, written to
/// `dir`. Returns the CA certificate (for the client) and the paths of the serving
/// certificate and key.
fn certificates(dir: &Path) -> (rustls::pki_types::CertificateDer<'static>, PathBuf, PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "blogaudit bench CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key")).expect("CA");
    let key = KeyPair::generate().expect("serving key");
    let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("serving certificate parameters");
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = leaf.signed_by(&key, &ca).expect("serving certificate");
    let (cert_path, key_path) = (dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::write(&cert_path, cert.pem()).expect("write tls.crt");
    std::fs::write(&key_path, key.serialize_pem()).expect("write tls.key");
    (ca.der().clone(), cert_path, key_path)
}

fn tls_connector(ca: rustls::pki_types::CertificateDer<'static>) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).expect("the CA is a usable trust anchor");
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

/// What every webhook of this run is started with.
struct Setup {
    bin: PathBuf,
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    /// The test API server's kubeconfig; `None`: `--no-cluster`.
    kubeconfig: Option<PathBuf>,
}

/// A running `blogaudit webhook`.
struct Webhook {
    child: Child,
    pid: u32,
    addr: SocketAddr,
    metrics: u16,
    log: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .build()
        .into()
}

impl Webhook {
    /// Starts the webhook on free ports and waits until `/readyz` answers 200 (a port taken
    /// in between: tried again on others).
    fn start(setup: &Setup) -> Self {
        for attempt in 1..=3 {
            let (port, metrics) = (free_port(), free_port());
            let log = setup.dir.join(format!("webhook-{port}.log"));
            let mut cmd = Command::new(&setup.bin);
            cmd.arg("webhook")
                .arg("--tls-cert")
                .arg(&setup.cert)
                .arg("--tls-key")
                .arg(&setup.key)
                .args(["--port", &port.to_string()])
                .args(["--metrics-port", &metrics.to_string()])
                .args(["--listen", "127.0.0.1"])
                .args(["--cache-unsure", "deny", "--log", "warn"])
                .arg("--config")
                .arg(root().join("samples/blog/blogaudit.toml"));
            match &setup.kubeconfig {
                Some(kubeconfig) => {
                    cmd.arg("--kubeconfig")
                        .arg(kubeconfig)
                        .args(["--context", "bench"]);
                }
                None => {
                    cmd.arg("--no-cluster");
                }
            }
            let child = cmd
                .current_dir(&setup.dir)
                .env("HOME", &setup.dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("webhook log"))
                .spawn()
                .expect("start blogaudit webhook");
            let mut hook = Self {
                pid: child.id(),
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                metrics,
                log,
            };
            let until = Instant::now() + Duration::from_secs(60);
            while Instant::now() < until {
                if let Ok(Some(status)) = hook.child.try_wait() {
                    eprintln!(
                        "webhook exited ({status}) on attempt {attempt}:\n{}",
                        hook.log_tail()
                    );
                    break;
                }
                if hook.get("/readyz").is_some_and(|(code, _)| code == 200) {
                    return hook;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = hook.child.kill();
            let _ = hook.child.wait();
        }
        panic!("the webhook did not become ready");
    }

    /// `GET` on the metrics port: status and body.
    fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut r = agent()
            .get(format!("http://127.0.0.1:{}{path}", self.metrics))
            .call()
            .ok()?;
        let code = r.status().as_u16();
        Some((code, r.body_mut().read_to_string().ok()?))
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// `VmRSS` and `VmHWM` in MB.
    fn rss(&self) -> (f64, f64) {
        proc_rss(&format!("/proc/{}/status", self.pid))
    }

    /// Threads of the webhook process.
    fn threads(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// SIGTERM, then up to 10 s to stop.
    fn stop(mut self) {
        if let Ok(pid) = i32::try_from(self.pid) {
            // SAFETY: signals our own child, which has not been reaped yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Webhook {
    /// A bench that stops half-way leaves no webhook running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[allow(clippy::cast_precision_loss)]
fn proc_rss(status: &str) -> (f64, f64) {
    let text = std::fs::read_to_string(status).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0.0, |kb| kb as f64 / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[allow(clippy::cast_precision_loss)]
fn proc_cpu(stat: &str) -> f64 {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // SAFETY: sysconf reads a constant of the system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
    (fields.get(10).unwrap_or(&0) + fields.get(11).unwrap_or(&0)) as f64 / ticks as f64
}

fn loadavg() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The answers of `/validate`, as the webhook's metrics count them.
#[derive(Default, Clone, Copy)]
struct Answers {
    /// 200, judged, admitted.
    allowed: u64,
    /// 200, judged, refused.
    denied: u64,
    /// 200, answered by `--failure-mode` (deadline passed or evaluation failed).
    fallback: u64,
    /// Not 200.
    rejected: u64,
}

impl Answers {
    fn add(&mut self, o: &Self) {
        self.allowed += o.allowed;
        self.denied += o.denied;
        self.fallback += o.fallback;
        self.rejected += o.rejected;
    }
}

/// What the connections saw.
#[derive(Default)]
struct Tally {
    /// Requests started in the measured window that got an answer.
    measured: u64,
    /// Their latencies, in microseconds.
    latencies: Vec<u64>,
    /// Every answer of the run (warm-up included).
    answers: Answers,
    /// Failures of the whole run (warm-up included), by kind.
    failures: BTreeMap<&'static str, u64>,
    examples: Vec<String>,
}

impl Tally {
    fn fail(&mut self, kind: &'static str, message: String) {
        *self.failures.entry(kind).or_default() += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(format!("{kind}: {message}"));
        }
    }

    fn merge(&mut self, other: Self) {
        self.measured += other.measured;
        self.latencies.extend(other.latencies);
        self.answers.add(&other.answers);
        for (k, n) in other.failures {
            *self.failures.entry(k).or_default() += n;
        }
        for e in other.examples {
            if self.examples.len() < EXAMPLES {
                self.examples.push(e);
            }
        }
    }

    fn failed(&self) -> u64 {
        self.failures.values().sum()
    }
}

/// What a connection asks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Reviews; `unique`: every object differs (see [`Review::body`]).
    Validate {
        unique: bool,
    },
    Healthz,
}

type Sender = SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr, tls: &TlsConnector) -> Result<Sender, String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let name = ServerName::try_from("localhost").expect("a DNS name");
    let stream = tls
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

#[derive(Deserialize)]
struct WireReview {
    response: WireResponse,
}

#[derive(Deserialize)]
struct WireResponse {
    uid: String,
    allowed: bool,
    #[serde(default)]
    warnings: Vec<String>,
}

/// One request and its check. `Err`: the connection is unusable.
async fn ask(
    sender: &mut Sender,
    target: Target,
    review: &Review,
    uid: &str,
    tally: &mut Tally,
) -> Result<(), String> {
    sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
    let request = match target {
        Target::Validate { unique } => http::Request::post("/validate")
            .header(http::header::HOST, "localhost")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(review.body(uid, unique))),
        Target::Healthz => http::Request::get("/healthz")
            .header(http::header::HOST, "localhost")
            .body(Full::new(Bytes::new())),
    }
    .expect("a request");
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("response body: {e}"))?
        .to_bytes();
    if target == Target::Healthz {
        if status != 200 || body.as_ref() != b"ok\n" {
            tally.fail("status", format!("/healthz answered {status}"));
        }
        return Ok(());
    }
    if status != 200 {
        tally.answers.rejected += 1;
        let text = String::from_utf8_lossy(&body);
        tally.fail(
            "status",
            format!("{} answered {status}: {text:.200}", review.label),
        );
        return Ok(());
    }
    let answer = match serde_json::from_slice::<WireReview>(&body) {
        Ok(a) => a.response,
        Err(e) => {
            tally.fail("unreadable", format!("{}: {e}", review.label));
            return Ok(());
        }
    };
    if answer.warnings.iter().any(|w| w.contains("--failure-mode")) {
        tally.answers.fallback += 1;
        tally.fail(
            "failure-mode",
            format!("{}: {}", review.label, answer.warnings.join("; ")),
        );
        return Ok(());
    }
    if answer.allowed {
        tally.answers.allowed += 1;
    } else {
        tally.answers.denied += 1;
    }
    if answer.uid != uid {
        tally.fail("uid", format!("sent {uid}, the answer has {}", answer.uid));
    } else if answer.allowed != review.allowed {
        tally.fail(
            "decision",
            format!(
                "{} {}, expected {}",
                review.label,
                verb(answer.allowed),
                verb(review.allowed)
            ),
        );
    }
    Ok(())
}

fn verb(allowed: bool) -> &'static str {
    if allowed {
        "admitted"
    } else {
        "refused"
    }
}

/// When a connection sends its requests.
#[derive(Clone, Copy)]
enum Pace {
    /// Back to back.
    Closed,
    /// One every `Duration`, from the connection's own start offset; latency counts from
    /// when each was due.
    Open(Duration),
}

/// One connection's loop until `until`; requests started from `measure_from` are measured.
#[allow(clippy::too_many_arguments)]
async fn connection(
    id: usize,
    addr: SocketAddr,
    tls: TlsConnector,
    reviews: Arc<Vec<Review>>,
    target: Target,
    pace: Pace,
    (first, measure_from, until): (Instant, Instant, Instant),
    connecting: Arc<tokio::sync::Semaphore>,
) -> Tally {
    let mut tally = Tally::default();
    let mut sender: Option<Sender> = None;
    let mut seq = 0u64;
    // Uids (and unique objects) differ from every earlier run's.
    let run = RUN.load(std::sync::atomic::Ordering::SeqCst);
    let mut due = tokio::time::Instant::from_std(first);
    loop {
        if let Pace::Open(_) = pace {
            tokio::time::sleep_until(due).await;
        }
        if Instant::now() >= until {
            break;
        }
        let s = if let Some(s) = sender.as_mut() {
            s
        } else {
            let permit = connecting.acquire().await.expect("semaphore");
            let made = connect(addr, &tls).await;
            drop(permit);
            match made {
                Ok(s) => sender.insert(s),
                Err(e) => {
                    tally.fail("connection", e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
        };
        let review = &reviews[(id + usize::try_from(seq).unwrap_or(0)) % reviews.len()];
        let uid = format!("bench-{run}-{id}-{seq}");
        seq += 1;
        let started = match pace {
            Pace::Closed => Instant::now(),
            Pace::Open(_) => due.into_std(),
        };
        let result = ask(s, target, review, &uid, &mut tally).await;
        let took = started.elapsed();
        if let Err(e) = result {
            tally.fail("connection", e);
            sender = None;
        } else if started >= measure_from {
            tally.measured += 1;
            tally
                .latencies
                .push(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
        }
        if let Pace::Open(every) = pace {
            due += every;
        }
    }
    tally
}

/// The webhook's RSS and CPU and the client's CPU at one moment.
#[derive(Clone, Copy, Default)]
struct Mark {
    rss: f64,
    hook_cpu: f64,
    own_cpu: f64,
}

impl Mark {
    fn now(pid: u32) -> Self {
        Self {
            rss: proc_rss(&format!("/proc/{pid}/status")).0,
            hook_cpu: proc_cpu(&format!("/proc/{pid}/stat")),
            own_cpu: proc_cpu("/proc/self/stat"),
        }
    }

    /// CPU seconds of the webhook and of the client since this mark.
    fn cpu_since(&self, pid: u32) -> (f64, f64) {
        let now = Self::now(pid);
        (now.hook_cpu - self.hook_cpu, now.own_cpu - self.own_cpu)
    }
}

/// `conns` connections until `warmup + secs` from now against the webhook `hook`; returns
/// what they saw and a mark taken when the measured window began.
fn drive(
    rt: &tokio::runtime::Runtime,
    hook: &Webhook,
    tls: &TlsConnector,
    reviews: &Arc<Vec<Review>>,
    target: Target,
    (conns, pace): (usize, Pace),
    (warmup, secs): (Duration, Duration),
) -> (Tally, Mark) {
    RUN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let start = Instant::now();
    let measure_from = start + warmup;
    let until = measure_from + secs;
    let connecting = Arc::new(tokio::sync::Semaphore::new(64));
    let (addr, pid) = (hook.addr, hook.pid);
    rt.block_on(async {
        let mut tasks = Vec::with_capacity(conns);
        for id in 0..conns {
            // Open loop: the connections' requests are spread evenly over each interval.
            let first = match pace {
                Pace::Closed => start,
                Pace::Open(every) => {
                    start
                        + every.mul_f64(
                            f64::from(u32::try_from(id).unwrap_or(0))
                                / f64::from(u32::try_from(conns).unwrap_or(1)),
                        )
                }
            };
            tasks.push(tokio::spawn(connection(
                id,
                addr,
                tls.clone(),
                Arc::clone(reviews),
                target,
                pace,
                (first, measure_from, until),
                Arc::clone(&connecting),
            )));
        }
        tokio::time::sleep_until(tokio::time::Instant::from_std(measure_from)).await;
        let mark = Mark::now(pid);
        let mut tally = Tally::default();
        for t in tasks {
            if let Ok(t) = t.await {
                tally.merge(t);
            }
        }
        (tally, mark)
    })
}

/// Sends each review alone on one connection and takes the webhook's answer as the one to
/// expect under load. Returns the answers and the mismatches: with what the crate's
/// `Admission` decides in process, and a `samples/blog` object refused.
fn expect(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    tls: &TlsConnector,
    reviews: &mut [Review],
    in_process: &[bool],
) -> (Answers, Vec<String>) {
    let mut answers = Answers::default();
    let mut mismatches = Vec::new();
    rt.block_on(async {
        let mut sender = connect(addr, tls).await.expect("connect to the webhook");
        for (i, review) in reviews.iter_mut().enumerate() {
            // A wrong decision is then one that differs from the crate's.
            review.allowed = in_process[i];
            let mut alone = Tally::default();
            ask(
                &mut sender,
                Target::Validate { unique: false },
                review,
                &format!("alone-{i}"),
                &mut alone,
            )
            .await
            .expect("the webhook answers");
            mismatches.extend(alone.examples);
            review.allowed = alone.answers.allowed > 0;
            if review.blog && !review.allowed {
                mismatches.push(format!("{}: a samples/blog object refused", review.label));
            }
            answers.add(&alone.answers);
        }
    });
    (answers, mismatches)
}

/// What `Admission` decides in process for each review, with the webhook's settings and
/// the same view of the cluster.
fn in_process(reviews: &[Review], cluster: bool) -> Vec<bool> {
    let opts = blogaudit::pipeline::Options {
        config: Some(root().join("samples/blog/blogaudit.toml")),
        base: root(),
        today: blogaudit::model::date::today(),
        ..blogaudit::pipeline::Options::default()
    };
    let admission = Admission::new(
        &opts,
        Settings {
            mode: Mode::Enforce,
            unsure: Unsure::Deny,
        },
    );
    let lookups = admission.lookup_kinds();
    let unsure: Vec<String> = if cluster {
        let cached = blogaudit::source::load(&[root().join("samples/blog/k8s")], &root())
            .resources
            .into_iter()
            .filter(|r| lookups.contains(&r.kind))
            .collect();
        admission.refresh(cached, 1);
        Vec::new()
    } else {
        lookups.into_iter().collect()
    };
    reviews
        .iter()
        .map(|r| {
            let review: Value = serde_json::from_slice(&r.body("x", false)).expect("a review");
            let req = &review["request"];
            let subject = Subject {
                operation: "CREATE".into(),
                namespace: req["namespace"].as_str().unwrap_or_default().into(),
                name: req["name"].as_str().unwrap_or_default().into(),
                sub_resource: String::new(),
                object: req["object"].clone(),
            };
            admission.judge(subject, &unsure).allowed
        })
        .collect()
}

/// The webhook's review counters, and the mean of its own review time.
fn scrape(hook: &Webhook) -> Option<(BTreeMap<String, u64>, f64)> {
    let (code, text) = hook.get("/metrics")?;
    if code != 200 {
        return None;
    }
    let mut counts = BTreeMap::new();
    let (mut sum, mut count) = (0.0, 0.0);
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("blogaudit_webhook_reviews_total{result=\"") {
            if let Some((result, n)) = rest.split_once("\"} ") {
                counts.insert(result.to_string(), n.trim().parse().unwrap_or(0));
            }
        } else if let Some(v) = line.strip_prefix("blogaudit_webhook_review_duration_seconds_sum ")
        {
            sum = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) =
            line.strip_prefix("blogaudit_webhook_review_duration_seconds_count ")
        {
            count = v.trim().parse().unwrap_or(0.0);
        }
    }
    let mean = if count > 0.0 { sum / count } else { 0.0 };
    Some((counts, mean))
}

/// Scrapes `/metrics` and compares its review counters with the answers the client got.
fn check_metrics(hook: &Webhook, answers: &Answers, lost: u64) -> bool {
    let Some((counts, mean)) = scrape(hook) else {
        println!("- /metrics: no answer");
        return false;
    };
    let n = |k: &str| counts.get(k).copied().unwrap_or(0);
    let judged_allowed = n("allowed") + n("warned") + n("skipped");
    let ok = judged_allowed == answers.allowed
        && n("denied") == answers.denied
        && n("failed") == answers.fallback
        && n("rejected") == answers.rejected;
    println!(
        "- /metrics reviews_total: allowed {} + warned {} + skipped {}, denied {}, failed {}, \
         rejected {}; the client got {} admitted, {} refused, {} failure-mode, {} not 200 \
         ({} requests lost with their connection): {}",
        n("allowed"),
        n("warned"),
        n("skipped"),
        n("denied"),
        n("failed"),
        n("rejected"),
        answers.allowed,
        answers.denied,
        answers.fallback,
        answers.rejected,
        lost,
        if ok { "they add up" } else { "MISMATCH" }
    );
    println!(
        "- the webhook's own mean review time (request read to answer, /metrics): {:.3} ms",
        mean * 1e3
    );
    ok
}

fn ms(us: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let v = us as f64 / 1e3;
    if v < 10.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.1} ms")
    }
}

/// One table row.
fn row(what: &str, conns: usize, secs: Duration, tally: &mut Tally, cpu: (f64, f64)) {
    tally.latencies.sort_unstable();
    let l = &tally.latencies;
    let at = |p: f64| if l.is_empty() { 0 } else { percentile(l, p) };
    #[allow(clippy::cast_precision_loss)]
    let rate = tally.measured as f64 / secs.as_secs_f64();
    println!(
        "| {what} | {conns} | {} | {} | {rate:.0} | {} | {} | {} | {} | {:.2} | {:.2} |",
        tally.measured,
        tally.failed(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(at(0.999)),
        ms(l.last().copied().unwrap_or(0)),
        cpu.0 / secs.as_secs_f64(),
        cpu.1 / secs.as_secs_f64(),
    );
}

fn header() {
    println!(
        "| run | connections | requests | failures | requests/s | p50 | p99 | p99.9 | max | webhook CPU (cores) | client CPU (cores) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
}

fn failures(tally: &Tally) {
    if tally.failed() == 0 {
        return;
    }
    let kinds: Vec<String> = tally
        .failures
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    println!("- failures: {}", kinds.join(", "));
    for e in &tally.examples {
        println!("  - {e}");
    }
}

#[allow(clippy::too_many_lines)]
fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let conns: usize = env_or("BENCH_WEBHOOK_CONNS", 500);
    let secs = Duration::from_secs(env_or("BENCH_WEBHOOK_SECS", 30));
    let warmup = Duration::from_secs(env_or("BENCH_WEBHOOK_WARMUP_SECS", 3));
    let healthz = std::env::var("BENCH_WEBHOOK_HEALTHZ").is_ok_and(|v| v == "1");
    let rate: f64 = env_or("BENCH_WEBHOOK_RATE", 5000.0);
    let soak_secs = Duration::from_secs(env_or("BENCH_WEBHOOK_SOAK_SECS", 0));
    let soak_rate: f64 = env_or("BENCH_WEBHOOK_SOAK_RATE", 1000.0);
    let soak_conns: usize = env_or("BENCH_WEBHOOK_SOAK_CONNS", 50);
    let uniques: Vec<bool> = match std::env::var("BENCH_WEBHOOK_UNIQUE").as_deref() {
        Ok("0") => vec![false],
        Ok("1") => vec![true],
        _ => vec![false, true],
    };
    let with_cluster = !matches!(
        std::env::var("BENCH_WEBHOOK_CLUSTER").as_deref(),
        Ok("none")
    );

    let tmp = tempfile::Builder::new()
        .prefix("blogaudit-bench-")
        .tempdir()
        .expect("temp dir");
    let (ca, cert, key) = certificates(tmp.path());
    let tls = tls_connector(ca);
    // Serves the cache's objects until the end of main.
    let api =
        with_cluster.then(|| kube_api::KubeApi::with_manifests(&root().join("samples/blog/k8s")));
    let setup = Setup {
        bin: std::env::var_os("BENCH_BIN").map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_blogaudit")),
            PathBuf::from,
        ),
        dir: tmp.path().to_path_buf(),
        cert,
        key,
        kubeconfig: api
            .as_ref()
            .map(|a| a.kubeconfig(tmp.path(), "bench", None)),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let mut reviews = reviews();
    let decided = in_process(&reviews, with_cluster);

    println!(
        "webhook: {}\ncores: {}; load average at start: {}; cache: {}",
        setup.bin.display(),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        loadavg(),
        if with_cluster {
            "samples/blog/k8s from the test API server"
        } else {
            "none (--no-cluster)"
        }
    );
    let hook = Webhook::start(&setup);
    let (idle, _) = hook.rss();
    let (alone, mismatches) = expect(&rt, hook.addr, &tls, &mut reviews, &decided);
    let refused_broken = reviews.iter().filter(|r| !r.blog && !r.allowed).count();
    let sizes: usize = reviews.iter().map(|r| r.head.len() + r.tail.len()).sum();
    println!(
        "reviews: {} objects ({} from samples/blog, all to be admitted; {} from \
         samples/blog-broken, {} of them refused alone), {} bytes per review on average; \
         mismatches: {}",
        reviews.len(),
        reviews.iter().filter(|r| r.blog).count(),
        reviews.iter().filter(|r| !r.blog).count(),
        refused_broken,
        sizes / reviews.len().max(1),
        mismatches.len()
    );
    for m in &mismatches {
        println!("  - MISMATCH {m}");
    }
    let reviews = Arc::new(reviews);
    let mut ok = mismatches.is_empty();
    println!();
    if !secs.is_zero() {
        header();
        let every = Duration::from_secs_f64(f64::from(u32::try_from(conns).unwrap_or(1)) / rate);
        let mut runs = Vec::new();
        for unique in uniques {
            let objects = if unique {
                "every object unique"
            } else {
                "the samples' objects"
            };
            runs.push((
                format!("/validate, {objects}, closed loop"),
                Target::Validate { unique },
                Pace::Closed,
            ));
            runs.push((
                format!("/validate, {objects}, open loop at {rate:.0}/s"),
                Target::Validate { unique },
                Pace::Open(every),
            ));
        }
        if healthz {
            runs.push((
                "comparison: GET /healthz, closed loop".to_string(),
                Target::Healthz,
                Pace::Closed,
            ));
        }
        let mut answers = alone;
        let mut seen = Vec::new();
        let mut warm_rss = None;
        for (what, target, pace) in runs {
            let (mut tally, warm) = drive(
                &rt,
                &hook,
                &tls,
                &reviews,
                target,
                (conns, pace),
                (warmup, secs),
            );
            let cpu = warm.cpu_since(hook.pid);
            row(&what, conns, secs, &mut tally, cpu);
            warm_rss.get_or_insert(warm.rss);
            answers.add(&tally.answers);
            seen.push(tally);
        }
        let (end, hwm) = hook.rss();
        println!();
        for tally in &seen {
            failures(tally);
        }
        println!(
            "- webhook RSS: {idle:.1} MB ready and idle, {:.1} MB after the first warm-up, \
             {end:.1} MB at the end; peak (VmHWM) {hwm:.1} MB; {} threads",
            warm_rss.unwrap_or_default(),
            hook.threads()
        );
        let lost = seen
            .iter()
            .map(|t| t.failures.get("connection").copied().unwrap_or(0))
            .sum();
        ok &= check_metrics(&hook, &answers, lost);
        ok &= seen.iter().all(|t| t.failed() == 0);
        println!(
            "- client-side latency per request: from sending it (open loop: from when it was \
             due) to its whole answer; {} s of warm-up before each run, not measured; load \
             average at the end: {}",
            warmup.as_secs(),
            loadavg()
        );
    }
    hook.stop();

    if !soak_secs.is_zero() {
        ok &= soak(
            &setup,
            &rt,
            &tls,
            &reviews,
            (soak_conns, soak_rate),
            (warmup.max(Duration::from_secs(10)), soak_secs),
        );
    }
    drop(api);
    if !ok {
        eprintln!("the webhook bench found failures or mismatches (above)");
        std::process::exit(1);
    }
}

/// A fresh webhook under a steady open-loop rate; RSS sampled every 10 s.
fn soak(
    setup: &Setup,
    rt: &tokio::runtime::Runtime,
    tls: &TlsConnector,
    reviews: &Arc<Vec<Review>>,
    (conns, rate): (usize, f64),
    (warmup, secs): (Duration, Duration),
) -> bool {
    let hook = Webhook::start(setup);
    println!(
        "\nsoak: {rate:.0} reviews/s over {conns} connections for {} s (open loop, a fresh \
         webhook, {} s warm-up); load average at start: {}\n",
        secs.as_secs(),
        warmup.as_secs(),
        loadavg()
    );
    let samples = Arc::new(std::sync::Mutex::new(Vec::<(f64, f64)>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (samples, stop, pid) = (Arc::clone(&samples), Arc::clone(&stop), hook.pid);
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut next = started + warmup;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                if Instant::now() >= next {
                    let (rss, _) = proc_rss(&format!("/proc/{pid}/status"));
                    samples
                        .lock()
                        .expect("lock")
                        .push(((Instant::now() - started).as_secs_f64(), rss));
                    next += Duration::from_secs(10);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let every = Duration::from_secs_f64(f64::from(u32::try_from(conns).unwrap_or(1)) / rate);
    let (mut tally, warm) = drive(
        rt,
        &hook,
        tls,
        reviews,
        Target::Validate { unique: true },
        (conns, Pace::Open(every)),
        (warmup, secs),
    );
    let cpu = warm.cpu_since(hook.pid);
    let (end, hwm) = hook.rss();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = sampler.join();
    header();
    row(
        "soak: /validate, every object unique, open loop",
        conns,
        secs,
        &mut tally,
        cpu,
    );
    println!();
    failures(&tally);
    let samples = samples.lock().expect("lock").clone();
    let start = warm.rss;
    let trace: Vec<String> = samples
        .iter()
        .map(|(t, rss)| format!("{t:.0} s {rss:.1}"))
        .collect();
    println!("- webhook RSS every 10 s (MB): {}", trace.join(", "));
    let ratio = if start > 0.0 { end / start } else { 0.0 };
    println!(
        "- webhook RSS: {start:.1} MB after the warm-up, {end:.1} MB at the end, end/start \
         {ratio:.3} (target within 10 %: {}); peak (VmHWM) {hwm:.1} MB",
        if (ratio - 1.0).abs() <= 0.10 {
            "met"
        } else {
            "not met"
        }
    );
    let lost = tally.failures.get("connection").copied().unwrap_or(0);
    let mut ok = check_metrics(&hook, &tally.answers, lost);
    println!(
        "- failed reviews: {} (must be 0); load average at the end: {}",
        tally.failed(),
        loadavg()
    );
    ok &= tally.failed() == 0;
    hook.stop();
    ok
}
