//! The two HTTP calls of GitHub's "Upload an analysis as SARIF data": the POST of the SARIF
//! (202 Accepted, with an upload id) and the GET of the upload's status, polled until it is
//! `complete` or `failed` or the wait runs out. This module prints nothing; it returns what
//! happened.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::destination::Destination;
use super::explain::{error_list, snippet, transport_hint, HttpFailure, Request};
use super::payload::Payload;

/// The REST API version this client is written against.
const API_VERSION: &str = "2022-11-28";

/// The largest response body read (GitHub's answers here are a few hundred bytes).
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// Why the SARIF was not accepted, or its acceptance is in doubt.
#[derive(Debug, thiserror::Error)]
pub(super) enum PostError {
    /// No answer at all. (The error is part of the message, so it is not also a `source`.)
    #[error("cannot POST {url}: {error}{}", transport_hint(.error))]
    Transport { url: String, error: ureq::Error },
    #[error("{0}")]
    Refused(Box<HttpFailure>),
    #[error("GitHub accepted the upload (HTTP {status}) but its answer has no upload id: {body}")]
    NoUploadId {
        status: u16,
        /// The start of the answer.
        body: String,
    },
    #[error("GitHub returned an unexpected upload id `{0}`")]
    OddUploadId(String),
}

impl PostError {
    /// Whether GitHub certainly has nothing: the request failed or was refused.
    pub(super) fn nothing_uploaded(&self) -> bool {
        matches!(self, Self::Transport { .. } | Self::Refused(_))
    }
}

/// One status check that gave no usable status; the wait goes on after it.
#[derive(Debug, thiserror::Error)]
pub(super) enum StatusCheckError {
    #[error("GET {url}: {error}")]
    Transport { url: String, error: ureq::Error },
    #[error("{0}")]
    Http(HttpFailure),
}

/// Why the wait for processing ended without knowing the outcome.
#[derive(Debug, thiserror::Error)]
pub(super) enum WaitError {
    /// A status check got an answer that waiting longer would not change.
    #[error("{0}")]
    Refused(Box<HttpFailure>),
    #[error(
        "could not get the upload's status within {}: {}",
        secs(*.waited),
        .last.as_ref().map_or_else(|| "no answer".to_string(), ToString::to_string)
    )]
    NoStatus {
        waited: Duration,
        /// The last status check's problem, if any got far enough to have one.
        last: Option<Box<StatusCheckError>>,
    },
}

/// An upload GitHub has accepted.
pub(super) struct Accepted {
    /// GitHub's upload id.
    pub(super) id: String,
    /// Where its processing status is read.
    pub(super) status_url: String,
}

/// How the wait for processing ended, when a status was read.
pub(super) enum Processing {
    /// Processed; the analysis is at `analyses_url` (else at the status URL).
    Complete { analyses_url: String },
    /// GitHub could not process the SARIF, for these reasons.
    Failed { errors: Vec<String> },
    /// Still being processed when the wait ran out.
    Pending,
}

/// The request's JSON body: where, what, and the optional fields GitHub records.
pub(super) fn request_body(
    destination: &Destination,
    payload: &Payload,
    checkout_uri: Option<&str>,
    started_at: Option<&str>,
) -> String {
    let mut body = serde_json::Map::new();
    body.insert("commit_sha".into(), json!(destination.sha));
    body.insert("ref".into(), json!(destination.git_ref));
    body.insert("sarif".into(), json!(payload.base64()));
    body.insert("tool_name".into(), json!("blogaudit"));
    if let Some(uri) = checkout_uri {
        body.insert("checkout_uri".into(), json!(uri));
    }
    if let Some(at) = started_at {
        body.insert("started_at".into(), json!(at));
    }
    Value::Object(body).to_string()
}

/// A client for one destination: an HTTP agent and the token.
pub(super) struct Client<'a> {
    destination: &'a Destination,
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

    fn failure(self, request: Request, destination: &Destination) -> HttpFailure {
        HttpFailure::new(
            request,
            self.status,
            &self.body,
            self.request_id,
            destination,
        )
    }
}

impl<'a> Client<'a> {
    pub(super) fn new(destination: &'a Destination) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .https_only(false)
            .user_agent(format!("blogaudit/{}", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(Duration::from_secs(20)))
            .timeout_global(Some(Duration::from_secs(300)))
            .max_redirects(5)
            .build()
            .into();
        Self { destination, agent }
    }

    /// POSTs the request body (from [`request_body`]); returns the accepted upload.
    pub(super) fn upload(&self, body: &str) -> Result<Accepted, PostError> {
        let url = self.destination.sarifs_url();
        let reply = self
            .send(
                self.authorized(self.agent.post(&url))
                    .content_type("application/json")
                    .send(body.as_bytes()),
            )
            .map_err(|error| PostError::Transport {
                url: url.clone(),
                error,
            })?;
        if !(200..300).contains(&reply.status) {
            return Err(PostError::Refused(Box::new(
                reply.failure(Request::Upload, self.destination),
            )));
        }
        let answer = reply.json().unwrap_or(Value::Null);
        let Some(id) = answer.get("id").and_then(Value::as_str).map(str::to_string) else {
            return Err(PostError::NoUploadId {
                status: reply.status,
                body: snippet(&reply.body),
            });
        };
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        {
            return Err(PostError::OddUploadId(id));
        }
        let status_url = format!("{url}/{id}");
        Ok(Accepted { id, status_url })
    }

    /// Polls the upload's status every `interval` until it is processed, failed, or `limit`
    /// has passed. Not-yet-visible (404), rate-limited and server-error answers are retried.
    pub(super) fn wait(
        &self,
        status_url: &str,
        limit: Duration,
        interval: Duration,
    ) -> Result<Processing, WaitError> {
        let deadline = Instant::now() + limit;
        let mut last_problem: Option<Box<StatusCheckError>> = None;
        let mut seen_status = false;
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            std::thread::sleep(interval.min(deadline - now));
            let left = deadline.saturating_duration_since(Instant::now());
            let timeout = left.clamp(Duration::from_secs(5), Duration::from_secs(30));
            let reply = match self.get(status_url, timeout) {
                Ok(reply) => reply,
                Err(error) => {
                    last_problem = Some(Box::new(StatusCheckError::Transport {
                        url: status_url.to_string(),
                        error,
                    }));
                    continue;
                }
            };
            match reply.status {
                200 => {}
                // Not visible yet, rate limited or a GitHub hiccup: try again until the deadline.
                404 | 429 | 500..=599 => {
                    last_problem = Some(Box::new(StatusCheckError::Http(
                        reply.failure(Request::StatusCheck, self.destination),
                    )));
                    continue;
                }
                _ => {
                    return Err(WaitError::Refused(Box::new(
                        reply.failure(Request::StatusCheck, self.destination),
                    )))
                }
            }
            let status = reply.json().unwrap_or(Value::Null);
            seen_status = true;
            last_problem = None;
            match status.get("processing_status").and_then(Value::as_str) {
                Some("complete") => {
                    let analyses_url = status
                        .get("analyses_url")
                        .and_then(Value::as_str)
                        .map_or_else(|| status_url.to_string(), str::to_string);
                    return Ok(Processing::Complete { analyses_url });
                }
                Some("failed") => {
                    return Ok(Processing::Failed {
                        errors: error_list(status.get("errors")),
                    })
                }
                _ => {}
            }
        }
        if seen_status {
            Ok(Processing::Pending)
        } else {
            Err(WaitError::NoStatus {
                waited: limit,
                last: last_problem,
            })
        }
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
        req.header("Authorization", self.destination.authorization())
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
    }
}

/// `120 s`, `0.5 s`.
pub(super) fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
