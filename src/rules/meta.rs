//! A rule's identity and docs, read from the OPA `# METADATA` block of its `rule.rego`.

use serde::{Deserialize, Serialize};

use crate::model::{Action, Pos, Severity};
use crate::syntax::yaml;

/// The `custom` block of a rule's METADATA.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Custom {
    pub id: String,
    pub name: String,
    pub severity: Severity,
    pub category: String,
    pub sources: Vec<String>,
    pub kinds: Vec<String>,
    pub remediation: String,
    #[serde(default)]
    pub cwe: Option<String>,
    /// Whether the rule's mechanical fix may be applied without review (`fix:` block).
    #[serde(default)]
    pub fix: Option<FixMeta>,
    /// What a finding does at admission (default `deny`).
    #[serde(default)]
    pub action: Action,
    /// The kinds the rule reads from `data.inventory.objects` besides its input: what the
    /// admission webhook keeps in its cluster cache for it, and what the engine puts into the
    /// data document. A built-in rule without it reads none; a user rule without it may read
    /// any.
    #[serde(default)]
    pub lookups: Option<Vec<String>>,
}

/// Whether applying a fix can hurt a running system: `--fix` applies only safe ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FixSafety {
    /// Cannot stop a workload from starting or cut its traffic.
    Safe,
    /// Can: applied only with `--fix=all`, after a review.
    Unsafe,
}

/// The `custom.fix` block of a rule that emits mechanical fixes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixMeta {
    pub safety: FixSafety,
    /// What can go wrong when the fix is applied blindly (required for unsafe fixes).
    #[serde(default)]
    pub risk: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Block {
    title: String,
    description: String,
    custom: Custom,
    #[serde(default)]
    #[allow(dead_code)]
    scope: Option<String>,
}

/// Everything known about a rule except its compiled policy.
#[derive(Clone, Debug, Serialize)]
pub struct RuleMeta {
    pub id: String,
    pub name: String,
    pub title: String,
    /// Markdown with the headings What it checks / Why it matters / How to fix / References.
    pub description: String,
    pub severity: Severity,
    pub category: String,
    pub sources: Vec<String>,
    pub kinds: Vec<String>,
    pub remediation: String,
    pub cwe: Option<String>,
    /// The safety of the rule's mechanical fix; `None` when the rule declares none (its
    /// fixes, if any, count as unsafe).
    pub fix: Option<FixMeta>,
    /// What a finding does at admission.
    pub action: Action,
    /// The kinds the rule reads from `data.inventory.objects` besides its input (empty: it
    /// judges its input alone; `None`: undeclared, so any kind).
    pub lookups: Option<Vec<String>>,
    /// `rules/k8s/BA101-run-as-non-root`, relative to the rules root.
    pub folder: String,
}

impl RuleMeta {
    /// Whether `--fix` (without `=all`) may apply this rule's fixes.
    #[must_use]
    pub fn fix_is_safe(&self) -> bool {
        self.fix
            .as_ref()
            .is_some_and(|f| f.safety == FixSafety::Safe)
    }

    /// Why this rule's fix is not applied by `--fix` alone.
    #[must_use]
    pub fn fix_risk(&self) -> String {
        match &self.fix {
            Some(FixMeta {
                safety: FixSafety::Safe,
                ..
            }) => String::new(),
            Some(FixMeta { risk: Some(r), .. }) => r.clone(),
            _ => "the rule does not declare its fix safe".to_string(),
        }
    }

    /// Whether the rule checks resources of `kind`.
    #[must_use]
    pub fn applies_to(&self, kind: &str) -> bool {
        self.kinds.iter().any(|k| k == kind)
    }
}

/// Headings every rule description must carry.
pub const DOC_HEADINGS: &[&str] = &[
    "## What it checks",
    "## Why it matters",
    "## How to fix",
    "## References",
];

/// Reads the METADATA block at the top of a Rego file. Errors carry the line they refer to.
pub fn parse(rego: &str, folder: &str) -> Result<RuleMeta, (Pos, String)> {
    let mut yaml_text = String::new();
    let mut start_line = None;
    for (i, line) in rego.lines().enumerate() {
        let trimmed = line.trim_start();
        if start_line.is_none() {
            if trimmed.starts_with("# METADATA") {
                start_line = Some(i + 2);
            }
            continue;
        }
        let Some(rest) = trimmed.strip_prefix('#') else {
            break;
        };
        yaml_text.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        yaml_text.push('\n');
    }
    let at = |line: usize| Pos {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: 1,
    };
    let Some(first) = start_line else {
        return Err((at(1), "no `# METADATA` block".to_string()));
    };
    let (docs, err) = yaml::parse_stream(&yaml_text);
    if let Some(e) = err {
        return Err((
            at(first + e.pos.line as usize - 1),
            format!("METADATA is not valid YAML: {}", e.message),
        ));
    }
    let value = docs.into_iter().next().map(|d| d.value).unwrap_or_default();
    let block: Block =
        serde_json::from_value(value).map_err(|e| (at(first), format!("METADATA: {e}")))?;
    for heading in DOC_HEADINGS {
        if !block.description.contains(heading) {
            return Err((
                at(first),
                format!("METADATA description lacks the heading `{heading}`"),
            ));
        }
    }
    let c = block.custom;
    if let Some(FixMeta {
        safety: FixSafety::Unsafe,
        risk: None,
    }) = &c.fix
    {
        return Err((
            at(first),
            "METADATA `custom.fix`: an unsafe fix needs a `risk` saying what it can break"
                .to_string(),
        ));
    }
    Ok(RuleMeta {
        id: c.id,
        name: c.name,
        title: block.title,
        description: block.description,
        severity: c.severity,
        category: c.category,
        sources: c.sources,
        kinds: c.kinds,
        remediation: c.remediation,
        cwe: c.cwe,
        fix: c.fix,
        action: c.action,
        lookups: c.lookups,
        folder: folder.to_string(),
    })
}
