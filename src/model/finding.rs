//! A finding: one rule violated by one resource at one field. Plain data for the reporters.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::fingerprint::Fingerprint;
use crate::model::{Origin, PathSeg, Pos, Resource, Severity, Span};

/// Where a finding points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", try_from = "LocationFields")]
pub enum Location {
    /// A span of a file in the scanned tree. The path is shared by the findings of a resource.
    File { path: Arc<str>, span: Span },
    /// An object with no file (a cluster object or an ARN).
    Object { reference: Arc<str> },
}

/// [`Location`]'s fields as serialized, read as a plain struct: an internally tagged enum
/// buffers every value before it reads the tag, and the scan cache reads millions.
#[derive(Deserialize)]
struct LocationFields {
    #[serde(rename = "type")]
    kind: String,
    path: Option<String>,
    span: Option<Span>,
    reference: Option<String>,
}

impl TryFrom<LocationFields> for Location {
    type Error = String;

    fn try_from(l: LocationFields) -> Result<Self, String> {
        match (l.kind.as_str(), l.path, l.span, l.reference) {
            ("file", Some(path), Some(span), None) => Ok(Self::File {
                path: path.into(),
                span,
            }),
            ("object", None, None, Some(reference)) => Ok(Self::Object {
                reference: reference.into(),
            }),
            (kind, ..) => Err(format!("not a location of type `{kind}`")),
        }
    }
}

impl Location {
    /// Where the whole of `resource` is: its first line in its file, or its reference.
    #[must_use]
    pub fn of(resource: &Resource) -> Self {
        match &resource.origin {
            Origin::File { file, span, .. } => Self::File {
                path: file.path.as_str().into(),
                span: *span,
            },
            Origin::Object { reference } => Self::Object {
                reference: reference.as_str().into(),
            },
        }
    }

    /// The file path, or the object reference: what tells apart two resources of the same
    /// identity (two Terraform roots may each hold `aws_ecr_repository.x`).
    #[must_use]
    pub fn file_or_reference(&self) -> &str {
        match self {
            Self::File { path, .. } => path,
            Self::Object { reference } => reference,
        }
    }
}

/// A mechanical change that fixes the finding: set the field at `path` to `value`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// Shared with the finding's own path when it is the same.
    pub path: Arc<[PathSeg]>,
    pub value: Value,
    /// The field's value when it exists (replace it); otherwise `None`.
    pub replace: Option<Span>,
    /// When the field is missing: the key position of its nearest existing ancestor, and how
    /// many steps of `path` exist. The missing keys go on new lines under that ancestor.
    pub insert_under: Option<(Pos, usize)>,
}

/// Why a finding is hidden.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// `annotation`, `comment` or `config`.
    pub source: &'static str,
    pub reason: String,
    pub until: Option<String>,
}

/// The identity of a resource: what a finding is about, what a suppression names, what an
/// HTTPRoute's parent is. Displayed as `Kind/namespace/name` (`Kind/name` without one).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// A resource some rule checked, and where it is: the unit of a JUnit test case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checked {
    pub resource: ResourceRef,
    /// The whole resource (its first line in a file), or its object reference.
    pub location: Location,
}

impl ResourceRef {
    /// The identity of a loaded resource.
    #[must_use]
    pub fn of(r: &Resource) -> Self {
        Self {
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
        }
    }

    /// What a finding's fingerprint names: for an object rendered by kustomize, its kind and
    /// its name where it is declared, so the fingerprint is the same whichever roots render
    /// it; for anything else, [`ResourceRef::of`].
    #[must_use]
    pub fn identity(r: &Resource) -> Self {
        if r.rendered_by().is_empty() {
            return Self::of(r);
        }
        Self {
            kind: r.kind.clone(),
            namespace: String::new(),
            name: r.source_name().to_string(),
        }
    }
}

impl std::fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// One violation.
///
/// Millions of findings may be held at once, so what they repeat is shared rather than
/// copied: the rule's ID and name by every finding of the rule, the resource's identity,
/// file path and roots by every finding of the resource, and a field path by the findings
/// that name the same field. A finding is 160 bytes before its message and fix (it was 280,
/// plus about 520 bytes of strings of its own).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: Arc<str>,
    pub rule_name: Arc<str>,
    pub severity: Severity,
    pub resource: Arc<ResourceRef>,
    /// The offending field, from the resource root (it may not exist).
    pub path: Arc<[PathSeg]>,
    pub location: Location,
    pub message: Box<str>,
    /// Boxed, as is `suppression`: most findings have neither.
    pub fix: Option<Box<Fix>>,
    /// Hash of rule, file, resource identity and field path: stable when unrelated lines move.
    pub fingerprint: Fingerprint,
    pub suppression: Option<Box<Suppression>>,
    /// The kustomize roots whose rendering gives this finding (display paths); empty for
    /// files checked as they are.
    #[serde(default, skip_serializing_if = "<[String]>::is_empty")]
    pub roots: Arc<[String]>,
}

impl Finding {
    /// `path:line:col`, or the object reference.
    #[must_use]
    pub fn place(&self) -> String {
        match &self.location {
            Location::File { path, span } => {
                format!("{path}:{}:{}", span.start.line, span.start.column)
            }
            Location::Object { reference } => reference.to_string(),
        }
    }

    /// The message with the offending field: `… is privileged (/spec/…/privileged)`.
    #[must_use]
    pub fn text(&self) -> String {
        format!("{} ({})", self.message, super::pointer(&self.path))
    }

    /// The file path, when the finding has one.
    #[must_use]
    pub fn file(&self) -> Option<&str> {
        match &self.location {
            Location::File { path, .. } => Some(path),
            Location::Object { .. } => None,
        }
    }

    /// The span, when the finding has one.
    #[must_use]
    pub fn span(&self) -> Option<Span> {
        match &self.location {
            Location::File { span, .. } => Some(*span),
            Location::Object { .. } => None,
        }
    }
}

/// A [`Suppression`] as the scan cache keeps it.
#[derive(Deserialize)]
struct StoredSuppression {
    source: String,
    reason: String,
    until: Option<String>,
}

impl<'de> Deserialize<'de> for Suppression {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        StoredSuppression::deserialize(d)?
            .try_into()
            .map_err(serde::de::Error::custom)
    }
}

impl TryFrom<StoredSuppression> for Suppression {
    type Error = String;

    fn try_from(s: StoredSuppression) -> Result<Self, String> {
        let source = ["annotation", "comment", "config"]
            .into_iter()
            .find(|known| *known == s.source)
            .ok_or_else(|| format!("unknown suppression source `{}`", s.source))?;
        Ok(Self {
            source,
            reason: s.reason,
            until: s.until,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_stays_small() {
        // Millions of findings may be held at once.
        let size = std::mem::size_of::<Finding>();
        assert!(size <= 160, "a finding is {size} bytes");
    }
}
