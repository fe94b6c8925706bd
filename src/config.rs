//! `blogaudit.toml`: rules to disable, severity overrides, allowed exceptions and suppressions.
//! Errors point at the line of the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::json;

use crate::model::Diagnostic;
use crate::model::{Action, Severity};

/// File names looked for, in order, in the scanned directory and its ancestors.
pub const FILE_NAMES: &[&str] = &["blogaudit.toml", ".blogaudit.toml"];

/// Namespaces that hold the platform itself, not applications.
pub const DEFAULT_SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

/// The whole configuration. Every field has a default, so an empty file is valid.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The ECR registry host images must come from (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`).
    /// Unset: any ECR registry.
    #[serde(default)]
    pub registry: Option<String>,
    /// Namespaces exempt from the application rules (network policy, HPA, spread).
    #[serde(default)]
    pub system_namespaces: Option<Vec<String>>,
    /// Fewest distinct AZs an EKS node group must span (BA201). Default 3.
    #[serde(default)]
    pub min_node_group_azs: Option<u32>,
    #[serde(default)]
    pub rules: RulesConfig,
    #[serde(default)]
    pub allow: Allow,
    /// Suppressions by rule and resource. Each needs a reason.
    #[serde(default)]
    pub ignore: Vec<Ignore>,
    /// Where the configuration was read from.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// `[rules]`: turn rules off or change their severity.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    #[serde(default)]
    pub disable: Vec<String>,
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    /// What a rule's findings do at admission: `"deny"` or `"warn"` (the webhook).
    #[serde(default)]
    pub action: BTreeMap<String, Action>,
}

/// `[allow]`: exceptions the design needs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    #[serde(default)]
    pub services: Vec<AllowedService>,
}

/// A Service that may be `LoadBalancer`/`NodePort` or have `externalIPs`.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedService {
    pub namespace: String,
    pub name: String,
    pub types: Vec<String>,
    pub reason: String,
}

/// `[[ignore]]`: hides a rule's findings on matching resources.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ignore {
    pub rule: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// A file path prefix, relative to the directory of the config file.
    #[serde(default)]
    pub path: Option<String>,
    pub reason: String,
    /// `YYYY-MM-DD`; after this day the suppression no longer applies.
    #[serde(default)]
    pub until: Option<String>,
}

impl Config {
    /// Finds the config for a scan of `start`: the first of [`FILE_NAMES`] in `start` (or its
    /// directory) and its ancestors.
    #[must_use]
    pub fn discover(start: &Path) -> Option<PathBuf> {
        let start = start.canonicalize().ok()?;
        let mut dir = if start.is_dir() {
            Some(start.as_path())
        } else {
            start.parent()
        };
        while let Some(d) = dir {
            for name in FILE_NAMES {
                let p = d.join(name);
                if p.is_file() {
                    return Some(p);
                }
            }
            dir = d.parent();
        }
        None
    }

    /// Reads and checks a config file. On error the diagnostics say where and why.
    pub fn load(path: &Path, shown: &str) -> Result<Self, Vec<Diagnostic>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![Diagnostic::error("config", format!("cannot read config: {e}")).in_file(shown)]
        })?;
        let mut config = Self::parse(&text, shown)?;
        config.path = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses config text; `shown` names the file in diagnostics.
    pub fn parse(text: &str, shown: &str) -> Result<Self, Vec<Diagnostic>> {
        let config: Self = toml::from_str(text).map_err(|e| {
            let mut d = Diagnostic::error("config", e.message().to_string())
                .in_file(shown)
                .help("see `blogaudit init` for every setting with its default");
            if let Some(span) = e.span() {
                d = d.at(crate::syntax::position::pos_at(text, span.start));
            }
            vec![d]
        })?;
        let mut problems = Vec::new();
        for (i, ig) in config.ignore.iter().enumerate() {
            if ig.reason.trim().is_empty() {
                problems.push(
                    Diagnostic::error(
                        "config",
                        format!("ignore entry {} has an empty reason", i + 1),
                    )
                    .in_file(shown)
                    .help("say why the finding is accepted"),
                );
            }
            if let Some(u) = &ig.until {
                if crate::model::date::parse_date(u).is_none() {
                    problems.push(
                        Diagnostic::error(
                            "config",
                            format!(
                                "ignore entry {}: `until = \"{u}\"` is not a YYYY-MM-DD date",
                                i + 1
                            ),
                        )
                        .in_file(shown),
                    );
                }
            }
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// The namespaces exempt from application rules.
    #[must_use]
    pub fn system_namespaces(&self) -> Vec<String> {
        self.system_namespaces.clone().unwrap_or_else(|| {
            DEFAULT_SYSTEM_NAMESPACES
                .iter()
                .map(|s| (*s).to_string())
                .collect()
        })
    }

    /// What rules see as `data.config`.
    #[must_use]
    pub fn rego_data(&self) -> serde_json::Value {
        json!({
            "registry": self.registry.clone().unwrap_or_default(),
            "allowed_services": self.allow.services,
            "system_namespaces": self.system_namespaces(),
            "min_node_group_azs": self.min_node_group_azs.unwrap_or(3),
        })
    }
}

/// The starter file `blogaudit init` writes: every setting, commented, with its default.
pub const STARTER: &str = r#"# blogaudit configuration. Every setting is shown with its default.
# Docs: https://github.com/blogaudit/blogaudit#configuration

# The ECR registry host that images must come from (BA160). Empty: any ECR registry.
# registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

# Fewest distinct Availability Zones an EKS managed node group must span (BA201).
# min_node_group_azs = 3

# Namespaces that hold the platform, exempt from application rules (BA120, BA121, BA152, BA153).
# system_namespaces = ["kube-system", "kube-public", "kube-node-lease"]

[rules]
# Rules to turn off.
disable = []

# Severity overrides: low, medium, high or critical.
[rules.severity]
# BA170 = "medium"

# What a finding does at admission (blogaudit webhook): "deny" or "warn".
[rules.action]
# BA151 = "warn"

# Services allowed to be LoadBalancer/NodePort or to have externalIPs (BA110).
# [[allow.services]]
# namespace = "traefik"
# name = "traefik"
# types = ["LoadBalancer"]
# reason = "The single entry point behind the ALB."

# Accepted findings. A reason is required; after `until` the finding shows again.
# [[ignore]]
# rule = "BA121"
# namespace = "monitoring"    # optional: kind, namespace, name, path (a file path prefix)
# reason = "Monitoring scrapes every namespace; tracked in OPS-123."
# until = "2027-01-31"
"#;
