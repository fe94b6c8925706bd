//! `blogaudit webhook`: the rules at the cluster's door, as a validating admission webhook.
//!
//! - `POST /validate` (HTTPS): an AdmissionReview `admission.k8s.io/v1`, judged by
//!   [`crate::pipeline::admission`] and answered with the same `uid`.
//! - `GET /healthz` (liveness) and `GET /readyz` (ready once the cluster cache has synced and
//!   the rules' view of it is prepared), on both ports.
//! - `GET /metrics` (plain HTTP, its own port): Prometheus text.
//!
//! Nothing here can hang the API server: a body is read within the review's deadline and up
//! to 3 MiB, a review answers by `--failure-mode` when its deadline passes, and the serving
//! certificate is reloaded when its files change.

pub mod metrics;
pub mod review;
pub mod tls;
pub mod verdicts;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State as AxumState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::model::Level;
use crate::pipeline::admission::{Admission, Settings};
use crate::pipeline::Options as PipelineOptions;
use crate::source::live::{self, connect, kubernetes, watch::Cache};
use metrics::{CacheGauges, Metrics, Outcome};
use verdicts::{Answer, Verdicts};

/// The API server's own limit on a request body (3 MiB); a larger AdmissionReview is refused
/// with 413.
pub const BODY_LIMIT: usize = 3 * 1024 * 1024;

/// Largest review judged on the async worker that read it, when every rule runs compiled:
/// its evaluation is short and bounded, and handing it to another thread and back would cost
/// more than it does. Larger reviews, and any review under interpreted rules, are judged on
/// the blocking pool, where the deadline can answer in their place.
pub const INLINE_LIMIT: usize = 32 * 1024;

/// What a review answers when it cannot be judged in time or at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Failure {
    /// Admit, with a warning saying why (the default: the cluster keeps working).
    #[default]
    Allow,
    /// Refuse.
    Deny,
}

/// How the webhook runs.
#[derive(Clone, Debug)]
pub struct Options {
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    /// HTTPS listener (`--port`).
    pub addr: SocketAddr,
    /// Plain-HTTP metrics listener (`--metrics-port`); `None`: no metrics port.
    pub metrics_addr: Option<SocketAddr>,
    pub settings: Settings,
    pub failure: Failure,
    /// Each review's deadline, from the first byte of its request.
    pub deadline: Duration,
    /// How long a failing watch may go before its kind's cache counts as not current.
    pub stale_after: Duration,
    /// How often the certificate files are read for a change.
    pub tls_poll: Duration,
    /// The cluster to cache; `None`: no cache (`--no-cluster`), every rule that reads the
    /// cluster is unsure.
    pub cluster: Option<live::Options>,
    /// Config and rules, as `scan` takes them.
    pub pipeline: PipelineOptions,
    /// Most recent answers kept for reviews sent again (`--verdict-cache`; 0 keeps none).
    pub verdict_cache: usize,
}

/// Why the webhook cannot start.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("the serving certificate: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the rules or config cannot be used: {0}")]
    Rules(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl WebhookError {
    /// What the user can do about it.
    #[must_use]
    pub fn help(&self) -> &'static str {
        match self {
            Self::Tls(_) => "give --tls-cert and --tls-key PEM files of one certificate and its key (cert-manager's tls.crt and tls.key)",
            Self::Bind { .. } => "choose a free port with --port / --metrics-port",
            Self::Rules(_) => "fix the config or rule file named above; `blogaudit scan` reports the same problems",
            Self::Runtime(_) => "check the process limits (threads, open files)",
        }
    }
}

/// What every request handler shares.
pub struct Shared {
    pub admission: Admission,
    pub metrics: Metrics,
    /// The cluster cache, once discovery has answered.
    pub cache: OnceLock<Cache>,
    /// Whether a cluster is to be cached at all.
    pub cluster: bool,
    /// The view has been prepared from a synced cache.
    pub view_synced: AtomicBool,
    /// Set on shutdown: not ready, so that the Service stops sending reviews here.
    pub stopping: AtomicBool,
    pub failure: Failure,
    pub deadline: Duration,
    pub stale_after: Duration,
    /// One permit per core: how many reviews are evaluated at once on the blocking pool. The
    /// others wait (within their deadline) instead of each taking a blocking thread and a set
    /// of evaluators. (Reviews judged inline are bounded by the async workers, one per core.)
    pub evaluations: Arc<tokio::sync::Semaphore>,
    /// Every rule runs compiled: a small review may be judged inline ([`INLINE_LIMIT`]).
    pub inline: bool,
    /// Recent answers, for reviews of the same content (reviews up to [`INLINE_LIMIT`]).
    pub verdicts: Verdicts,
}

impl Shared {
    /// Loads the rules and config for a webhook.
    ///
    /// # Errors
    /// The rules or config have an error.
    pub fn new(opts: &Options) -> Result<Self, WebhookError> {
        let admission = Admission::new(&opts.pipeline, opts.settings);
        let errors: Vec<String> = admission
            .diagnostics()
            .iter()
            .filter(|d| d.level == Level::Error)
            .map(crate::model::Diagnostic::one_line)
            .collect();
        if !errors.is_empty() {
            return Err(WebhookError::Rules(errors.join("; ")));
        }
        Ok(Self {
            inline: admission.bounded(),
            admission,
            metrics: Metrics::default(),
            cache: OnceLock::new(),
            cluster: opts.cluster.is_some(),
            view_synced: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            failure: opts.failure,
            deadline: opts.deadline,
            stale_after: opts.stale_after,
            evaluations: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            )),
            verdicts: Verdicts::new(opts.verdict_cache),
        })
    }

    /// The cached kinds that cannot be trusted now.
    #[must_use]
    pub fn unsure(&self) -> Vec<String> {
        match self.cache.get() {
            Some(cache) => cache.unsure(self.stale_after),
            None => self.admission.lookup_kinds().into_iter().collect(),
        }
    }

    /// Why the webhook is not ready, if it is not.
    #[must_use]
    pub fn not_ready(&self) -> Option<String> {
        if self.stopping.load(Ordering::SeqCst) {
            return Some("shutting down".into());
        }
        if !self.cluster {
            return None;
        }
        let Some(cache) = self.cache.get() else {
            return Some("the cluster's API has not answered discovery yet".into());
        };
        let waiting: Vec<String> = cache
            .kinds()
            .into_iter()
            .filter(|k| !k.synced)
            .map(|k| k.kind)
            .collect();
        if !waiting.is_empty() {
            return Some(format!("cache not synced: {}", waiting.join(", ")));
        }
        if !self.view_synced.load(Ordering::SeqCst) {
            return Some("the rules' view of the cache is being prepared".into());
        }
        None
    }

    fn gauges(&self) -> CacheGauges {
        let age = self.admission.view_age();
        let (verdict_hits, verdict_misses) = self.verdicts.counts();
        let gauges = CacheGauges {
            age_seconds: age,
            verdict_hits,
            verdict_misses,
            verdicts_kept: self.verdicts.len(),
            ..CacheGauges::default()
        };
        match self.cache.get() {
            Some(c) => CacheGauges {
                objects: c.counts(),
                synced: self.not_ready().is_none(),
                generation: c.generation(),
                ..gauges
            },
            None => CacheGauges {
                synced: !self.cluster,
                ..gauges
            },
        }
    }
}

/// The HTTPS routes: `/validate`, `/healthz`, `/readyz`.
pub fn router(shared: Arc<Shared>) -> Router {
    health_routes()
        .route("/validate", post(validate))
        .with_state(shared)
}

/// The plain-HTTP routes: `/metrics`, `/healthz`, `/readyz`.
pub fn metrics_router(shared: Arc<Shared>) -> Router {
    health_routes()
        .route("/metrics", get(scrape))
        .with_state(shared)
}

/// `/healthz` and `/readyz`, which both ports serve.
fn health_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(AxumState(shared): AxumState<Arc<Shared>>) -> Response {
    match shared.not_ready() {
        None => (StatusCode::OK, "ready\n").into_response(),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

async fn scrape(AxumState(shared): AxumState<Arc<Shared>>) -> Response {
    let text = shared.metrics.render(&shared.gauges());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// A 4xx answer: the request is not a review the webhook can answer.
fn reject(shared: &Shared, started: Instant, code: StatusCode, message: &str) -> Response {
    shared.metrics.review(Outcome::Rejected, started.elapsed());
    tracing::warn!(status = code.as_u16(), reason = message, "review rejected");
    let body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code.as_u16(),
        "message": message,
    });
    (code, json_body(&body)).into_response()
}

fn json_body(v: &Value) -> ([(header::HeaderName, &'static str); 1], Vec<u8>) {
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(v).unwrap_or_default(),
    )
}

async fn validate(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response {
    let started = Instant::now();
    let deadline = tokio::time::Instant::from_std(started + shared.deadline);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT) {
        return reject(
            &shared,
            started,
            StatusCode::PAYLOAD_TOO_LARGE,
            &too_large(),
        );
    }
    let body = match tokio::time::timeout_at(
        deadline,
        axum::body::to_bytes(request.into_body(), BODY_LIMIT),
    )
    .await
    {
        Err(_) => {
            return reject(
                &shared,
                started,
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive before the review's deadline",
            )
        }
        Ok(Err(e)) => {
            let too_big = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            return if too_big {
                reject(
                    &shared,
                    started,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &too_large(),
                )
            } else {
                reject(
                    &shared,
                    started,
                    StatusCode::BAD_REQUEST,
                    &format!("cannot read the request body: {e}"),
                )
            };
        }
        Ok(Ok(b)) => b,
    };
    judge(&shared, started, deadline, &body).await
}

fn too_large() -> String {
    format!(
        "the AdmissionReview is larger than {} bytes (3 MiB), the API server's own limit",
        BODY_LIMIT
    )
}

async fn judge(
    shared: &Arc<Shared>,
    started: Instant,
    deadline: tokio::time::Instant,
    body: &Bytes,
) -> Response {
    let request = match review::parse(body) {
        Ok(r) => r,
        Err(e) => return reject(shared, started, StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let what = format!(
        "{} {}/{}",
        request.kind.kind, request.namespace, request.name
    );
    let unsure = shared.unsure();
    // What the answer depends on besides the view: the request, the day and the doubts.
    let generation = shared.admission.generation();
    let key = (body.len() <= INLINE_LIMIT).then(|| {
        let mut key = request.content();
        key.extend_from_slice(&crate::model::date::today().to_le_bytes());
        for kind in &unsure {
            key.extend_from_slice(kind.as_bytes());
            key.push(0);
        }
        key
    });
    if let Some(kept) = key
        .as_ref()
        .and_then(|k| shared.verdicts.get(generation, k))
    {
        return answer(shared, started, &request.uid, &what, &kept);
    }
    let subject = match request.subject() {
        Ok(s) => s,
        Err(e) => return reject(shared, started, StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let verdict = if shared.inline && body.len() <= INLINE_LIMIT {
        // A panic in judging answers by the failure mode, as it does on the blocking pool.
        let judged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            shared.admission.judge(subject, &unsure)
        }));
        match judged {
            Ok(verdict) => verdict,
            Err(_) => {
                return fail(
                    shared,
                    started,
                    &request.uid,
                    "the evaluation failed: it panicked",
                )
            }
        }
    } else {
        let worker = Arc::clone(shared);
        let task = async move {
            // Held until the evaluation ends, even when the deadline has answered first.
            let permit = Arc::clone(&worker.evaluations).acquire_owned().await.ok();
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                worker.admission.judge(subject, &unsure)
            })
            .await
        };
        match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                return fail(
                    shared,
                    started,
                    &request.uid,
                    &format!("the evaluation failed: {e}"),
                );
            }
            Err(_) => {
                return fail(
                    shared,
                    started,
                    &request.uid,
                    &format!(
                        "the review passed its deadline of {} ms",
                        shared.deadline.as_millis()
                    ),
                );
            }
        }
    };
    let judged = match Answer::of(&verdict) {
        Ok(a) => Arc::new(a),
        Err(errors) => {
            let why = format!("{what} could not be judged whole: {errors}");
            return fail(shared, started, &request.uid, &why);
        }
    };
    // A rule error may not recur (an interpreted rule's time limit): such an answer is not
    // kept, even when other findings deny the object.
    if let Some(key) = key.filter(|_| verdict.errors.is_empty()) {
        shared.verdicts.put(generation, key, Arc::clone(&judged));
    }
    answer(shared, started, &request.uid, &what, &judged)
}

/// The answer to a judged review, counted and logged.
fn answer(shared: &Shared, started: Instant, uid: &str, what: &str, answer: &Answer) -> Response {
    shared.metrics.findings(&answer.findings);
    shared.metrics.review(answer.outcome, started.elapsed());
    if answer.outcome == Outcome::Denied {
        tracing::info!(uid = %uid, object = %what, rules = ?answer.denied_by, "denied");
    } else {
        tracing::debug!(uid = %uid, object = %what, result = ?answer.outcome, "reviewed");
    }
    let body = review::response(uid, answer.denial.as_deref(), &answer.warnings);
    (StatusCode::OK, json_body(&body)).into_response()
}

/// The `--failure-mode` answer to a review that could not be judged.
fn fail(shared: &Shared, started: Instant, uid: &str, why: &str) -> Response {
    shared.metrics.review(Outcome::Failed, started.elapsed());
    tracing::warn!(uid = %uid, reason = why, failure_mode = ?shared.failure, "review not judged");
    let allowed = shared.failure == Failure::Allow;
    let message = if allowed {
        format!("blogaudit: {why}; admitted by --failure-mode allow")
    } else {
        format!("blogaudit: {why}; refused by --failure-mode deny")
    };
    let body = review::fallback(uid, allowed, 500, &message);
    (StatusCode::OK, json_body(&body)).into_response()
}

/// A bound webhook, ready to run.
pub struct Server {
    shared: Arc<Shared>,
    tls: Arc<tls::Reloading>,
    listener: TcpListener,
    metrics: Option<TcpListener>,
    opts: Options,
}

impl Server {
    /// Loads the rules and the certificate and binds the ports (port 0 picks a free one).
    ///
    /// # Errors
    /// The rules, config or certificate cannot be used, or a port cannot be bound.
    pub async fn bind(opts: Options) -> Result<Self, WebhookError> {
        let tls = Arc::new(tls::Reloading::load(&opts.tls_cert, &opts.tls_key)?);
        let shared = Arc::new(Shared::new(&opts)?);
        let listener = TcpListener::bind(opts.addr)
            .await
            .map_err(|e| WebhookError::Bind {
                addr: opts.addr,
                source: e,
            })?;
        let metrics = match opts.metrics_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|e| WebhookError::Bind { addr, source: e })?,
            ),
            None => None,
        };
        Ok(Self {
            shared,
            tls,
            listener,
            metrics,
            opts,
        })
    }

    /// The HTTPS address.
    #[must_use]
    pub fn addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// The metrics address.
    #[must_use]
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// What the handlers share (for tests and embedding).
    #[must_use]
    pub fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    /// Serves until `shutdown` completes, then stops accepting, reports not ready and lets
    /// open requests finish (up to the review deadline).
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send) {
        let Self {
            shared,
            tls,
            listener,
            metrics,
            opts,
        } = self;
        if let Some(cluster) = opts.cluster.clone() {
            tokio::spawn(follow_cluster(Arc::clone(&shared), cluster));
        }
        tokio::spawn(watch_certificate(
            Arc::clone(&tls),
            Arc::clone(&shared),
            opts.tls_poll,
        ));
        if let Some(m) = metrics {
            let app = metrics_router(Arc::clone(&shared));
            tokio::spawn(async move {
                let _ = axum::serve(m, app).await;
            });
        }
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls.server_config()));
        let app = router(Arc::clone(&shared));
        let open = Arc::new(AtomicUsize::new(0));
        tracing::info!(
            addr = ?listener.local_addr().ok(),
            rules = shared.admission.rules().rules.len(),
            mode = ?opts.settings.mode,
            failure_mode = ?opts.failure,
            "webhook serving"
        );
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                a = listener.accept() => a,
            };
            let (tcp, _) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let app = app.clone();
            let open = Arc::clone(&open);
            let handshake = opts.deadline;
            open.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if let Ok(Ok(stream)) = tokio::time::timeout(handshake, acceptor.accept(tcp)).await
                {
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(handshake)
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
        shared.stopping.store(true, Ordering::SeqCst);
        tracing::info!("shutting down: no new connections");
        let until = Instant::now() + opts.deadline;
        while open.load(Ordering::SeqCst) > 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Finds the served kinds (retrying until the API answers), starts the cache, and prepares
/// the rules' view again after each change.
async fn follow_cluster(shared: Arc<Shared>, mut cluster: live::Options) {
    cluster.kinds = shared.admission.lookup_kinds();
    let mut wait = Duration::from_millis(250);
    let cache = loop {
        match discover(&cluster).await {
            Ok((client, served)) => break Cache::start(&client, served, cluster.page_size),
            Err(e) => {
                tracing::warn!(error = %e, help = e.help(), "cannot reach the cluster; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    };
    let changed = cache.changed();
    let _ = shared.cache.set(cache);
    let Some(cache) = shared.cache.get() else {
        return;
    };
    tracing::info!(kinds = ?cache.counts().keys().collect::<Vec<_>>(), "cluster cache started");
    let mut prepared_gen = None;
    loop {
        let generation = cache.generation();
        let synced = cache.synced();
        if prepared_gen != Some(generation) {
            let objects = cache.resources();
            let worker = Arc::clone(&shared);
            let _ = tokio::task::spawn_blocking(move || {
                worker.admission.refresh(objects, generation);
            })
            .await;
            prepared_gen = Some(generation);
            if synced && !shared.view_synced.swap(true, Ordering::SeqCst) {
                tracing::info!(objects = ?cache.counts(), "cluster cache synced; ready");
            }
        }
        // Changes that come in a burst are prepared once.
        let _ = tokio::time::timeout(Duration::from_secs(1), changed.notified()).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn discover(
    cluster: &live::Options,
) -> Result<(kube::Client, Vec<kubernetes::Served>), live::LiveError> {
    let connection = connect::kubernetes(cluster, None).await?;
    let server = connection.target.server.clone().unwrap_or_default();
    let mut diags = Vec::new();
    let served = kubernetes::served(&connection.client, &server, cluster, &mut diags).await?;
    // A group whose discovery failed may hold a kind the rules read: caching without it
    // would judge as if it were empty. Try again instead.
    let failed: Vec<String> = diags
        .iter()
        .filter(|d| d.level == Level::Error)
        .map(|d| d.message.clone())
        .collect();
    if !failed.is_empty() {
        return Err(live::LiveError::Unreachable(server, failed.join("; ")));
    }
    for d in diags {
        tracing::info!(message = %d.message, "cluster discovery");
    }
    Ok((connection.client, served))
}

/// Reads the certificate files every `poll` and swaps in a changed certificate.
async fn watch_certificate(tls: Arc<tls::Reloading>, shared: Arc<Shared>, poll: Duration) {
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_error = String::new();
    loop {
        tick.tick().await;
        let t = Arc::clone(&tls);
        match tokio::task::spawn_blocking(move || t.reload()).await {
            Ok(Ok(true)) => {
                shared.metrics.tls_reloads.fetch_add(1, Ordering::Relaxed);
                last_error.clear();
                tracing::info!("serving certificate reloaded");
            }
            Ok(Ok(false)) => last_error.clear(),
            Ok(Err(e)) => {
                let text = e.to_string();
                if text != last_error {
                    shared
                        .metrics
                        .tls_reload_errors
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %text, "changed certificate files cannot be used; keeping the previous certificate");
                    last_error = text;
                }
            }
            Err(_) => {}
        }
    }
}

/// Runs the webhook until SIGTERM or Ctrl-C (the CLI's entry point).
///
/// # Errors
/// The webhook cannot start.
pub fn serve(opts: Options) -> Result<(), WebhookError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("blogaudit-webhook")
        .build()
        .map_err(WebhookError::Runtime)?;
    rt.block_on(async move {
        let server = Server::bind(opts).await?;
        server.run(stop_signal()).await;
        Ok(())
    })
}

async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
