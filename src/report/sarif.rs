//! SARIF 2.1.0 for GitHub code scanning: rules with help, exact regions, stable
//! `partialFingerprints`, mechanical `fixes`, suppressions and input notifications.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, Write};

use rayon::prelude::*;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{json, Value};
use serde_sarif::sarif::{
    ArtifactChange, ArtifactContent, ArtifactLocation, Fix, Invocation, Location, LogicalLocation,
    Message, MultiformatMessageString, Notification, PhysicalLocation, PropertyBag, Region,
    Replacement, ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel,
    Run, RunAutomationDetails, Sarif, Suppression, Tool, ToolComponent,
};

use super::{docs_url, write_pretty, Lazy, Report};
use crate::fix::FileText;
use crate::model::{Diagnostic, Finding, Level, Severity, Span};
use crate::rules::RuleMeta;

/// Results made at once, in parallel, between writes: enough to keep every core busy, few
/// enough that what is held at once stays small.
const BATCH: usize = 2048;

/// GitHub code scanning ingests at most this many results per run.
pub const MAX_RESULTS: usize = 25_000;

/// The `uriBaseId` every file URI is relative to.
pub const SRCROOT: &str = "SRCROOT";
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Writes the SARIF log. The log without its results is built as usual (rules, invocation,
/// notifications); the results, the one part that grows with the input, are made and
/// written one at a time in their place.
///
/// # Errors
/// The error of `out`.
pub fn write(r: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let kept = if r.whole {
        r.findings.iter().collect()
    } else {
        within_limit(r.findings, MAX_RESULTS)
    };
    let index: BTreeMap<&str, usize> = r
        .rules
        .rules
        .iter()
        .enumerate()
        .map(|(i, c)| (c.meta.id.as_str(), i))
        .collect();
    let log = serde_json::to_value(log(r, kept.len()))?;
    // Results are made a batch at a time, in parallel by file (a file is made ready once for
    // the fixes of all its results), and written in order before the next batch is made.
    let results = Lazy(|| {
        kept.chunks(BATCH).flat_map(|batch| {
            let made: Vec<Vec<SarifResult>> = batch
                .chunk_by(|a, b| a.file() == b.file())
                .collect::<Vec<_>>()
                .into_par_iter()
                .map(|same_file| {
                    let file = RefCell::new(None);
                    same_file
                        .iter()
                        .map(|f| result(f, index.get(&*f.rule_id).copied(), r, &file))
                        .collect()
                })
                .collect();
            made.into_iter().flatten()
        })
    });
    write_pretty(
        out,
        &Spliced {
            value: &log,
            at: &["runs", "0", "results"],
            with: &results,
        },
    )
}

/// `value` serialized with the node at the path `at` (keys and array indices) serialized
/// from `with` instead: the same text as the whole value, without holding that node.
struct Spliced<'a, T> {
    value: &'a Value,
    at: &'a [&'a str],
    with: &'a T,
}

impl<T: Serialize> Serialize for Spliced<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some((head, rest)) = self.at.split_first() else {
            return self.with.serialize(s);
        };
        let inner = |value| Spliced {
            value,
            at: rest,
            with: self.with,
        };
        match self.value {
            Value::Object(map) => {
                let mut m = s.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    if k == head {
                        m.serialize_entry(k, &inner(v))?;
                    } else {
                        m.serialize_entry(k, v)?;
                    }
                }
                m.end()
            }
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for (i, v) in items.iter().enumerate() {
                    if head.parse::<usize>() == Ok(i) {
                        seq.serialize_element(&inner(v))?;
                    } else {
                        seq.serialize_element(v)?;
                    }
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

/// The SARIF log of one run, with its results left empty (`[]`): [`write`] writes them in
/// their place. `kept` results of all the findings are written.
fn log(r: &Report<'_>, kept: usize) -> Sarif {
    let rules: Vec<&RuleMeta> = r.rules.rules.iter().map(|c| &c.meta).collect();
    let base = std::env::current_dir()
        .ok()
        .map(|d| format!("file://{}/", d.display().to_string().trim_end_matches('/')));
    let mut driver = ToolComponent::builder().name("blogaudit").build();
    driver.semantic_version = Some(env!("CARGO_PKG_VERSION").into());
    driver.version = Some(env!("CARGO_PKG_VERSION").into());
    driver.information_uri = Some("https://github.com/blogaudit/blogaudit".into());
    driver.rules = Some(rules.iter().map(|m| descriptor(m)).collect());
    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .build();
    run.automation_details = Some(RunAutomationDetails {
        id: Some(automation_id(r.category)),
        ..Default::default()
    });
    run.original_uri_base_ids = base.map(|uri| {
        BTreeMap::from([(
            SRCROOT.to_string(),
            ArtifactLocation {
                uri: Some(uri),
                ..Default::default()
            },
        )])
    });
    run.column_kind = Some(json!("unicodeCodePoints"));
    let mut inv = invocation(r.diagnostics);
    if kept < r.findings.len() {
        let n = notification(
            format!(
                "{} of {} results are left out: GitHub code scanning takes at most {MAX_RESULTS} \
                 per run. The lowest severities went first; scan fewer paths per category or \
                 raise --fail-on to see the rest",
                r.findings.len() - kept,
                r.findings.len()
            ),
            "warning",
            "truncated",
        );
        inv.tool_execution_notifications
            .get_or_insert_with(Vec::new)
            .push(n);
    }
    run.invocations = Some(vec![inv]);
    run.results = Some(Vec::new());
    let mut sarif = Sarif::builder()
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    sarif.schema = Some(SCHEMA.into());
    sarif
}

/// The `automationDetails.id` of a category: like `github/codeql-action`, it ends with `/`, so
/// that the whole of it is the category GitHub matches analyses by.
#[must_use]
pub fn automation_id(category: &str) -> String {
    if category.ends_with('/') {
        category.to_string()
    } else {
        format!("{category}/")
    }
}

/// At most `limit` findings, in their order: unsuppressed before suppressed, then the highest
/// severities.
fn within_limit(findings: &[Finding], limit: usize) -> Vec<&Finding> {
    if findings.len() <= limit {
        return findings.iter().collect();
    }
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by_key(|&i| {
        let f = &findings[i];
        (f.suppression.is_some(), std::cmp::Reverse(f.severity))
    });
    order.truncate(limit);
    order.sort_unstable();
    order.into_iter().map(|i| &findings[i]).collect()
}

fn message_string(text: impl Into<String>) -> MultiformatMessageString {
    MultiformatMessageString::builder()
        .text(text.into())
        .build()
}

fn text(s: impl Into<String>) -> Message {
    Message {
        text: Some(s.into()),
        ..Default::default()
    }
}

fn level(s: Severity) -> ResultLevel {
    match s {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low => ResultLevel::Note,
    }
}

fn descriptor(m: &RuleMeta) -> ReportingDescriptor {
    let mut tags = vec![m.category.clone(), "blogaudit".to_string()];
    if let Some(cwe) = &m.cwe {
        tags.push(format!("external/cwe/{}", cwe.to_ascii_lowercase()));
    }
    let first_paragraph = m
        .description
        .split("\n\n")
        .map(|p| {
            p.lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .find(|p| !p.trim().is_empty())
        .unwrap_or_else(|| m.title.clone());
    let mut help = message_string(format!(
        "{}\n\nRemediation: {}",
        m.description.trim(),
        m.remediation
    ));
    help.markdown = Some(format!(
        "# {} {}\n\n{}\n\n**Remediation:** {}",
        m.id,
        m.title,
        m.description.trim(),
        m.remediation
    ));
    let mut d = ReportingDescriptor::builder().id(m.id.clone()).build();
    d.name = Some(pascal(&m.name));
    d.short_description = Some(message_string(m.title.clone()));
    d.full_description = Some(message_string(first_paragraph.trim().to_string()));
    d.help = Some(help);
    d.help_uri = Some(docs_url(m));
    d.default_configuration = Some(ReportingConfiguration {
        level: Some(json!(level(m.severity).to_string())),
        ..Default::default()
    });
    d.properties = Some(PropertyBag {
        tags: Some(tags),
        additional_properties: BTreeMap::from([
            ("security-severity".to_string(), json!(m.severity.score())),
            (
                "problem.severity".to_string(),
                json!(level(m.severity).to_string()),
            ),
            ("precision".to_string(), json!("very-high")),
        ]),
    });
    d
}

/// `run-as-non-root` → `RunAsNonRoot` (SARIF rule names are identifiers).
fn pascal(name: &str) -> String {
    name.split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn region(span: Span) -> Region {
    let span = span.visible();
    Region {
        start_line: Some(span.start.line.into()),
        start_column: Some(span.start.column.into()),
        end_line: Some(span.end.line.into()),
        end_column: Some(span.end.column.into()),
        ..Default::default()
    }
}

/// A file outside the working directory has an absolute path: it gets an absolute `file://`
/// URI; every other file a URI relative to `SRCROOT`.
fn artifact(path: &str) -> ArtifactLocation {
    if path.starts_with('/') {
        return ArtifactLocation {
            uri: Some(format!("file://{}", uri_escape(path))),
            ..Default::default()
        };
    }
    ArtifactLocation {
        uri: Some(uri_escape(path)),
        uri_base_id: Some(SRCROOT.into()),
        ..Default::default()
    }
}

fn uri_escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn location(f: &Finding) -> Location {
    match &f.location {
        crate::model::Location::File { path, span } => Location {
            physical_location: Some(PhysicalLocation {
                artifact_location: Some(artifact(path)),
                region: Some(region(*span)),
                ..Default::default()
            }),
            logical_locations: Some(vec![logical(f)]),
            ..Default::default()
        },
        crate::model::Location::Object { .. } => Location {
            logical_locations: Some(vec![logical(f)]),
            ..Default::default()
        },
    }
}

fn logical(f: &Finding) -> LogicalLocation {
    LogicalLocation {
        name: Some(f.resource.name.clone()),
        fully_qualified_name: Some(f.resource.to_string()),
        kind: Some("resource".into()),
        ..Default::default()
    }
}

/// The last file a fix was made in: its path and its text made ready for edits.
type LastFile<'a> = RefCell<Option<(&'a str, FileText<'a>)>>;

fn result<'a>(
    f: &'a Finding,
    rule_index: Option<usize>,
    r: &Report<'a>,
    last: &LastFile<'a>,
) -> SarifResult {
    let mut out = SarifResult::builder().message(text(f.text())).build();
    out.rule_id = Some(f.rule_id.to_string());
    out.rule_index = rule_index.and_then(|i| i64::try_from(i).ok());
    out.level = Some(level(f.severity));
    out.locations = Some(vec![location(f)]);
    out.partial_fingerprints = Some(BTreeMap::from([(
        crate::model::fingerprint::FINGERPRINT_KEY.to_string(),
        f.fingerprint.to_string(),
    )]));
    let source = f
        .fix
        .as_ref()
        .and(f.file())
        .and_then(|p| Some((p, r.files.get(p)?)));
    out.fixes = source
        .and_then(|(path, source)| {
            let mut last = last.borrow_mut();
            if last.as_ref().is_none_or(|(p, _)| *p != path) {
                *last = Some((path, FileText::new(&source.text)));
            }
            fix(f, &last.as_ref()?.1, r)
        })
        .map(|x| vec![x]);
    out.suppressions = f.suppression.as_ref().map(|s| {
        let mut sup = Suppression::builder()
            .kind(json!(if s.source == "config" {
                "external"
            } else {
                "inSource"
            }))
            .build();
        sup.justification = Some(match &s.until {
            Some(u) => format!("{} (until {u})", s.reason),
            None => s.reason.clone(),
        });
        vec![sup]
    });
    if !f.roots.is_empty() {
        // The kustomize roots that render this place: one result, however many overlays.
        out.properties = Some(PropertyBag {
            tags: None,
            additional_properties: BTreeMap::from([("roots".to_string(), json!(f.roots))]),
        });
    }
    out
}

/// The SARIF fix of a finding: the edit [`crate::fix::edit`] computes (the one `--fix`
/// applies), with the rule's fix safety in its properties.
fn fix(f: &Finding, file: &FileText<'_>, r: &Report<'_>) -> Option<Fix> {
    let crate::model::Location::File { path, .. } = &f.location else {
        return None;
    };
    let edit = crate::fix::edit_in(f, file).ok()?;
    let deleted = Region {
        start_line: Some(edit.from.line.into()),
        start_column: Some(edit.from.column.into()),
        end_line: Some(edit.to.line.into()),
        end_column: Some(edit.to.column.into()),
        ..Default::default()
    };
    let mut replacement = Replacement::builder().deleted_region(deleted).build();
    replacement.inserted_content = Some(ArtifactContent {
        text: Some(edit.text),
        ..Default::default()
    });
    let change = ArtifactChange::builder()
        .artifact_location(artifact(path))
        .replacements(vec![replacement])
        .build();
    let mut out = Fix::builder().artifact_changes(vec![change]).build();
    out.description = Some(text(edit.description));
    let meta = r.rules.get(&f.rule_id).map(|c| &c.meta);
    let safe = meta.is_some_and(RuleMeta::fix_is_safe);
    let mut props = BTreeMap::from([(
        "safety".to_string(),
        json!(if safe { "safe" } else { "unsafe" }),
    )]);
    if !safe {
        props.insert(
            "risk".to_string(),
            json!(meta.map_or_else(String::new, RuleMeta::fix_risk)),
        );
    }
    out.properties = Some(PropertyBag {
        tags: None,
        additional_properties: props,
    });
    Some(out)
}

/// A tool notification with its level and the code that names its kind.
fn notification(message: String, level: &str, code: &str) -> Notification {
    let mut n = Notification::builder().message(text(message)).build();
    n.level = Some(json!(level));
    n.descriptor = Some(serde_sarif::sarif::ReportingDescriptorReference {
        id: Some(code.to_string()),
        ..Default::default()
    });
    n
}

fn invocation(diags: &[Diagnostic]) -> Invocation {
    let notifications: Vec<Notification> = diags
        .iter()
        .map(|d| {
            let level = match d.level {
                Level::Error => "error",
                Level::Warning => "warning",
                Level::Note => "note",
            };
            let mut n = notification(d.one_line(), level, d.code);
            n.locations = d.file.as_ref().map(|f| {
                vec![Location {
                    physical_location: Some(PhysicalLocation {
                        artifact_location: Some(artifact(f)),
                        region: d.pos.map(|p| Region {
                            start_line: Some(p.line.into()),
                            start_column: Some(p.column.into()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]
            });
            n
        })
        .collect();
    let mut inv = Invocation::builder()
        .execution_successful(!diags.iter().any(|d| d.level == Level::Error))
        .build();
    inv.tool_execution_notifications = (!notifications.is_empty()).then_some(notifications);
    inv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Pos;
    use crate::model::{Location, ResourceRef};

    fn finding(i: u32, severity: Severity, suppressed: bool) -> Finding {
        let pos = Pos {
            line: i + 1,
            column: 1,
        };
        Finding {
            rule_id: "BA101".into(),
            rule_name: "run-as-non-root".into(),
            severity,
            resource: ResourceRef {
                kind: "Deployment".into(),
                namespace: "blog".into(),
                name: format!("d{i}"),
            }
            .into(),
            path: Vec::new().into(),
            location: Location::File {
                path: "a.yaml".into(),
                span: Span {
                    start: pos,
                    end: pos,
                },
            },
            message: "m".into(),
            fix: None,
            fingerprint: crate::model::fingerprint::Fingerprint::default(),
            suppression: suppressed.then(|| {
                Box::new(crate::model::Suppression {
                    source: "config",
                    reason: "r".into(),
                    until: None,
                })
            }),
            roots: Vec::new().into(),
        }
    }

    #[test]
    fn over_the_limit_the_lowest_severities_go_first_and_order_stays() {
        let sev = [
            Severity::Low,
            Severity::Critical,
            Severity::Medium,
            Severity::High,
        ];
        let findings: Vec<Finding> = (0..8u32)
            .map(|i| finding(i, sev[i as usize % 4], i == 1))
            .collect();
        let kept: Vec<&str> = within_limit(&findings, 4)
            .iter()
            .map(|f| f.resource.name.as_str())
            .collect();
        // Unsuppressed first: critical d5, high d3 d7, then medium d2 (d6 is cut).
        assert_eq!(kept, ["d2", "d3", "d5", "d7"]);
        assert_eq!(within_limit(&findings, 8).len(), 8);
    }

    #[test]
    fn a_run_over_githubs_limit_says_what_was_left_out() {
        let findings: Vec<Finding> = (0..u32::try_from(MAX_RESULTS).unwrap() + 3)
            .map(|i| finding(i, if i < 3 { Severity::Low } else { Severity::High }, false))
            .collect();
        let (rules, _) = crate::rules::RuleSet::load(None);
        let files = std::collections::HashMap::new();
        let report = Report {
            findings: &findings,
            diagnostics: &[],
            rules: &rules,
            files: &files,
            checked: &[],
            category: "blogaudit/scan",
            verbose: false,
            color: false,
            whole: false,
        };
        let log: Value =
            serde_json::from_str(&report.render(crate::report::Format::Sarif)).unwrap();
        let run = &log["runs"][0];
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), MAX_RESULTS);
        assert!(
            results.iter().all(|r| r["level"] == "error"),
            "the low ones went"
        );
        let note = &run["invocations"][0]["toolExecutionNotifications"][0];
        assert_eq!(note["descriptor"]["id"], "truncated");
        assert!(note["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("3 of 25003 results are left out"));
        assert_eq!(run["invocations"][0]["executionSuccessful"], true);

        // A baseline keeps them all, so that none of them is new to the next run.
        let whole = Report {
            whole: true,
            ..report
        };
        let log: Value = serde_json::from_str(&whole.render(crate::report::Format::Sarif)).unwrap();
        assert_eq!(
            log["runs"][0]["results"].as_array().unwrap().len(),
            MAX_RESULTS + 3
        );
    }
}
