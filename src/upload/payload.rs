//! The SARIF to send: read, checked to be SARIF 2.1.0, given its category, gzip-compressed
//! within GitHub's 10 MB limit and base64-encoded for the request.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{json, Value};

/// GitHub's limit on one SARIF upload: 10 MB of gzip-compressed SARIF.
pub const MAX_GZIP_BYTES: usize = 10 * 1024 * 1024;

/// A SARIF file that cannot be sent; nothing was sent.
#[derive(Debug, thiserror::Error)]
pub(super) enum PayloadError {
    #[error("cannot read {}: {error}", .path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{} is not JSON ({error}); write SARIF with `blogaudit scan --format sarif --output FILE`",
        .path.display()
    )]
    NotJson {
        path: PathBuf,
        error: serde_json::Error,
    },
    #[error(
        "{} is not SARIF 2.1.0 ({}); GitHub code scanning accepts SARIF 2.1.0 only",
        .path.display(),
        describe_version(.version.as_ref())
    )]
    NotSarif210 {
        path: PathBuf,
        /// The `version` the file has, if any.
        version: Option<Value>,
    },
    #[error("{} has no `runs` array: it is not a SARIF log", .path.display())]
    NoRuns { path: PathBuf },
    #[error("cannot re-encode {}: {error}", .path.display())]
    Reencode {
        path: PathBuf,
        error: serde_json::Error,
    },
    #[error("cannot compress {}: {error}", .path.display())]
    Compress {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{} is {} gzip-compressed ({gzip_bytes} bytes; {} uncompressed, {results} results), over \
         GitHub's limit of 10 MB ({MAX_GZIP_BYTES} bytes) of gzip per SARIF upload; nothing \
         was sent. Make the report smaller: split the scan into several runs over fewer \
         paths and upload each with its own --category, or disable or suppress noisy rules \
         in blogaudit.toml (`--fail-on` only changes the exit code, not the report)",
        .path.display(),
        human_size(*.gzip_bytes),
        human_size(*.raw_bytes)
    )]
    TooLarge {
        path: PathBuf,
        gzip_bytes: usize,
        raw_bytes: usize,
        results: usize,
    },
}

fn describe_version(version: Option<&Value>) -> String {
    match version {
        None => "no `version`".to_string(),
        Some(v) => format!("version {v}"),
    }
}

/// The SARIF to send: its compressed bytes and what it holds.
pub(super) struct Payload {
    gzip: Vec<u8>,
    /// The size of the SARIF before compression.
    pub(super) raw_bytes: usize,
    /// How many results all runs hold.
    pub(super) results: usize,
    /// How many runs the log holds.
    pub(super) runs: usize,
}

impl Payload {
    /// Reads, checks and compresses the SARIF at `path`; with a `category`, every run's
    /// `automationDetails.id` is set to it first.
    pub(super) fn prepare(path: &Path, category: Option<&str>) -> Result<Self, PayloadError> {
        let bytes = std::fs::read(path).map_err(|error| PayloadError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let mut sarif: Value =
            serde_json::from_slice(&bytes).map_err(|error| PayloadError::NotJson {
                path: path.to_path_buf(),
                error,
            })?;
        if sarif.get("version").and_then(Value::as_str) != Some("2.1.0") {
            return Err(PayloadError::NotSarif210 {
                path: path.to_path_buf(),
                version: sarif.get("version").cloned(),
            });
        }
        let Some(runs) = sarif.get_mut("runs").and_then(Value::as_array_mut) else {
            return Err(PayloadError::NoRuns {
                path: path.to_path_buf(),
            });
        };
        let results = runs
            .iter()
            .filter_map(|r| r.get("results").and_then(Value::as_array))
            .map(Vec::len)
            .sum();
        let run_count = runs.len();
        let body = match category {
            None => bytes,
            Some(category) => {
                set_category(runs, category);
                serde_json::to_vec(&sarif).map_err(|error| PayloadError::Reencode {
                    path: path.to_path_buf(),
                    error,
                })?
            }
        };
        let compress = |level| {
            gzip(&body, level).map_err(|error| PayloadError::Compress {
                path: path.to_path_buf(),
                error,
            })
        };
        let mut gzip = compress(flate2::Compression::default())?;
        if gzip.len() > MAX_GZIP_BYTES {
            // One more try at the highest level before giving up.
            gzip = compress(flate2::Compression::best())?;
        }
        if gzip.len() > MAX_GZIP_BYTES {
            return Err(PayloadError::TooLarge {
                path: path.to_path_buf(),
                gzip_bytes: gzip.len(),
                raw_bytes: body.len(),
                results,
            });
        }
        Ok(Self {
            gzip,
            raw_bytes: body.len(),
            results,
            runs: run_count,
        })
    }

    /// The size of the compressed SARIF, as sent (before base64).
    pub(super) fn gzip_bytes(&self) -> usize {
        self.gzip.len()
    }

    /// The request's `sarif` field: base64 of the gzip-compressed SARIF.
    pub(super) fn base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.gzip)
    }
}

/// Sets every run's `automationDetails.id` to the category, as code scanning reads it.
// The category → id rule is the SARIF reporter's, so that a category given to `scan` and one
// given here name the same analysis.
fn set_category(runs: &mut [Value], category: &str) {
    let id = crate::report::sarif::automation_id(category);
    for run in runs.iter_mut().filter_map(Value::as_object_mut) {
        let details = run.entry("automationDetails").or_insert_with(|| json!({}));
        if let Some(details) = details.as_object_mut() {
            details.insert("id".into(), Value::String(id.clone()));
        }
    }
}

fn gzip(data: &[u8], level: flate2::Compression) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 4), level);
    encoder.write_all(data)?;
    encoder.finish()
}

/// `512 bytes`, `3.4 KB`, `10.25 MB`.
pub(super) fn human_size(n: usize) -> String {
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
