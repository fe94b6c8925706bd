//! The AdmissionReview `admission.k8s.io/v1` wire format: the request read, the response
//! written, and the errors a request can have.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::pipeline::admission::Subject;

pub const API_VERSION: &str = "admission.k8s.io/v1";

/// Why an AdmissionReview cannot be answered (HTTP 400).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReviewError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the body is not an AdmissionReview: {0}")]
    Shape(String),
    #[error("apiVersion `{0}` is not supported: only admission.k8s.io/v1 is; set admissionReviewVersions: [\"v1\"] in the ValidatingWebhookConfiguration")]
    Version(String),
    #[error("kind `{0}` is not AdmissionReview")]
    Kind(String),
    #[error("the AdmissionReview has no request")]
    NoRequest,
    #[error("the AdmissionReview request has no uid")]
    NoUid,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    request: Option<WireRequest>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRequest {
    #[serde(default)]
    uid: Option<String>,
    #[serde(default)]
    kind: Option<GroupVersionKind>,
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    sub_resource: Option<String>,
    #[serde(default)]
    object: Option<Box<RawValue>>,
    #[serde(default)]
    dry_run: Option<bool>,
}

#[derive(Deserialize, Default, Clone, Debug)]
pub struct GroupVersionKind {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
}

/// One review request, read. The object is kept as its JSON text until it is judged: a
/// review whose verdict is remembered ([`Request::content`]) never builds it.
#[derive(Debug)]
pub struct Request {
    pub uid: String,
    /// The kind the request is about (from `request.kind`).
    pub kind: GroupVersionKind,
    pub dry_run: bool,
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
    pub operation: String,
    pub namespace: String,
    pub name: String,
    pub sub_resource: String,
    /// The object's JSON text (`None` when absent or `null`).
    object: Option<Box<RawValue>>,
}

impl Request {
    /// Everything of the request that the verdict depends on, as bytes: the kind, operation,
    /// namespace, name, subresource and the object's text, each with its length. Not the
    /// uid, `dryRun` (judged the same) or the fields no rule reads (`userInfo`,
    /// `oldObject`, `options`).
    #[must_use]
    pub fn content(&self) -> Vec<u8> {
        let object = self.object.as_ref().map_or("null", |o| o.get());
        let parts: [&str; 8] = [
            &self.kind.group,
            &self.kind.version,
            &self.kind.kind,
            &self.operation,
            &self.namespace,
            &self.name,
            &self.sub_resource,
            object,
        ];
        let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 8).sum());
        for p in parts {
            out.extend_from_slice(&(p.len() as u64).to_le_bytes());
            out.extend_from_slice(p.as_bytes());
        }
        out
    }

    /// What the review asks about, with the object read.
    ///
    /// # Errors
    /// The object is nested deeper than a JSON value may be.
    pub fn subject(&self) -> Result<Subject, ReviewError> {
        let mut object = match &self.object {
            Some(raw) => serde_json::from_str(raw.get())
                .map_err(|e| ReviewError::Shape(format!("request.object: {e}")))?,
            None => Value::Null,
        };
        let kind = &self.kind;
        // The object normally carries its kind; fill it from the request when it does not.
        if let Some(obj) = object.as_object_mut() {
            if !obj.contains_key("kind") && !kind.kind.is_empty() {
                obj.insert("kind".into(), Value::String(kind.kind.clone()));
            }
            if !obj.contains_key("apiVersion") && !kind.version.is_empty() {
                let v = if kind.group.is_empty() {
                    kind.version.clone()
                } else {
                    format!("{}/{}", kind.group, kind.version)
                };
                obj.insert("apiVersion".into(), Value::String(v));
            }
        }
        Ok(Subject {
            operation: self.operation.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            sub_resource: self.sub_resource.clone(),
            object,
        })
    }
}

/// Reads an AdmissionReview body.
///
/// # Errors
/// The body is not JSON, not an AdmissionReview v1, or has no request or uid.
pub fn parse(body: &[u8]) -> Result<Request, ReviewError> {
    let wire: Wire = serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            ReviewError::Shape(e.to_string())
        } else {
            ReviewError::NotJson(e.to_string())
        }
    })?;
    match wire.api_version.as_deref() {
        Some(API_VERSION) => {}
        other => return Err(ReviewError::Version(other.unwrap_or("").to_string())),
    }
    match wire.kind.as_deref() {
        Some("AdmissionReview") => {}
        other => return Err(ReviewError::Kind(other.unwrap_or("").to_string())),
    }
    let req = wire.request.ok_or(ReviewError::NoRequest)?;
    let uid = req
        .uid
        .filter(|u| !u.is_empty())
        .ok_or(ReviewError::NoUid)?;
    Ok(Request {
        uid,
        kind: req.kind.unwrap_or_default(),
        dry_run: req.dry_run.unwrap_or(false),
        operation: req.operation.unwrap_or_default(),
        namespace: req.namespace.unwrap_or_default(),
        name: req.name.unwrap_or_default(),
        sub_resource: req.sub_resource.unwrap_or_default(),
        object: req.object.filter(|o| o.get() != "null"),
    })
}

/// The AdmissionReview answering `uid`: admitted, or refused with `denial` (HTTP 403 in
/// the status), with `warnings` either way.
#[must_use]
pub fn response(uid: &str, denial: Option<&str>, warnings: &[String]) -> Value {
    let mut response = json!({"uid": uid, "allowed": denial.is_none()});
    if let Some(message) = denial {
        response["status"] = json!({
            "code": 403,
            "reason": "Forbidden",
            "message": message,
        });
    }
    if !warnings.is_empty() {
        response["warnings"] = json!(warnings);
    }
    envelope(response)
}

/// An answer made without judging: admitted with a warning, or refused with `message`
/// (`--failure-mode` after a passed deadline or a failed evaluation).
#[must_use]
pub fn fallback(uid: &str, allowed: bool, code: u16, message: &str) -> Value {
    let response = if allowed {
        json!({"uid": uid, "allowed": true, "warnings": [message]})
    } else {
        json!({
            "uid": uid,
            "allowed": false,
            "status": {"code": code, "reason": "InternalError", "message": message},
        })
    };
    envelope(response)
}

fn envelope(response: Value) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "AdmissionReview",
        "response": response,
    })
}
