//! GitHub's error answers turned into advice: what an HTTP status means for this upload and
//! what to change, with GitHub's own message, its error list and the request id that its
//! support asks for; and the same for a request that never got an answer.

use std::fmt;

use serde_json::Value;

use super::destination::Destination;
use super::payload::MAX_GZIP_BYTES;

/// The request that failed, as messages name it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Request {
    /// The POST of the SARIF.
    Upload,
    /// A GET of the upload's processing status.
    StatusCheck,
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Upload => "upload",
            Self::StatusCheck => "status check",
        })
    }
}

/// What an HTTP error status means for an upload, and what to do about it.
#[derive(Debug, thiserror::Error)]
pub(super) enum Meaning {
    #[error("GitHub could not read the request")]
    BadRequest,
    #[error("GitHub did not accept the token (GITHUB_TOKEN is wrong or expired)")]
    BadToken,
    #[error(
        "forbidden: the token needs the `security-events: write` permission (in a \
         workflow, `permissions: security-events: write`; pull requests from forks \
         get a read-only token), and code scanning must be enabled for the \
         repository (GitHub Advanced Security / Code Security on private \
         repositories)"
    )]
    Forbidden,
    #[error(
        "repository {owner_repo} not found, or the token has no access to it (check --repo, the \
         token's repository access and, for GitHub Enterprise Server, --api-url \
         https://HOST/api/v3)"
    )]
    RepositoryNotFound { owner_repo: String },
    #[error(
        "the SARIF is too large for GitHub (the limit is 10 MB of gzip, {MAX_GZIP_BYTES} \
         bytes): split the scan into smaller uploads with their own --category"
    )]
    TooLarge,
    #[error(
        "GitHub's validation failed: check that --sha {sha} is a commit of {owner_repo} that \
         GitHub has (pushed), that --ref {git_ref} is right, and that the SARIF is valid"
    )]
    ValidationFailed {
        sha: String,
        owner_repo: String,
        git_ref: String,
    },
    #[error("rate limited by GitHub: try again later")]
    RateLimited,
    #[error("GitHub had a server error: try again later")]
    ServerError,
    #[error("unexpected answer")]
    Unexpected,
}

impl Meaning {
    fn of(status: u16, destination: &Destination) -> Self {
        match status {
            400 => Self::BadRequest,
            401 => Self::BadToken,
            403 => Self::Forbidden,
            404 => Self::RepositoryNotFound {
                owner_repo: destination.owner_repo(),
            },
            413 => Self::TooLarge,
            422 => Self::ValidationFailed {
                sha: destination.sha.clone(),
                owner_repo: destination.owner_repo(),
                git_ref: destination.git_ref.clone(),
            },
            429 => Self::RateLimited,
            500..=599 => Self::ServerError,
            _ => Self::Unexpected,
        }
    }
}

/// An HTTP error answer from GitHub, explained. Its message spans several lines: the
/// meaning, then what GitHub said, its error list and the request id.
#[derive(Debug)]
pub(super) struct HttpFailure {
    request: Request,
    status: u16,
    meaning: Meaning,
    /// GitHub's `message`, else the start of the body, if any.
    github_says: Option<String>,
    /// GitHub's `errors` and `documentation_url`.
    details: Vec<String>,
    /// `X-GitHub-Request-Id`.
    request_id: Option<String>,
}

impl HttpFailure {
    /// Explains an answer with an error `status` and its `body`.
    pub(super) fn new(
        request: Request,
        status: u16,
        body: &str,
        request_id: Option<String>,
        destination: &Destination,
    ) -> Self {
        let json: Option<Value> = serde_json::from_str(body).ok();
        let message = json
            .as_ref()
            .and_then(|j| j.get("message"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let github_says = message.or_else(|| (!body.trim().is_empty()).then(|| snippet(body)));
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
        Self {
            request,
            status,
            meaning: Meaning::of(status, destination),
            github_says,
            details,
            request_id,
        }
    }
}

impl fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed: HTTP {}: {}",
            self.request, self.status, self.meaning
        )?;
        if let Some(says) = &self.github_says {
            write!(f, "\n  GitHub says: {says}")?;
        }
        for detail in &self.details {
            write!(f, "\n  - {detail}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, "\n  (X-GitHub-Request-Id: {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for HttpFailure {}

/// What to check when a request got no answer at all (empty when there is no advice).
pub(super) fn transport_hint(error: &ureq::Error) -> &'static str {
    match error {
        ureq::Error::HostNotFound => " (the host name does not resolve: check --api-url)",
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => {
            " (TLS failed: check --api-url and the server's certificate)"
        }
        ureq::Error::Timeout(_) => " (timed out)",
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            " (connection refused: check --api-url)"
        }
        _ => "",
    }
}

/// GitHub's `errors`: strings, or objects with a `message` (or anything else, as JSON).
pub(super) fn error_list(v: Option<&Value>) -> Vec<String> {
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
pub(super) fn snippet(body: &str) -> String {
    let one_line: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    one_line.trim().to_string()
}
