//! What the admission webhook does with a rule's finding: deny the object, or admit it with a
//! warning. A rule declares it (`custom.action`), the config may change it (`[rules.action]`).

use serde::{Deserialize, Serialize};

/// What a finding does at admission.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The object is refused (HTTP 200, `allowed: false`, status 403).
    #[default]
    Deny,
    /// The object is admitted, and the finding is one of the response's `warnings`.
    Warn,
}

impl Action {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deny => "deny",
            Self::Warn => "warn",
        }
    }
}
