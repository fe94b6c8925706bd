//! `--format junit`: JUnit XML for the test-report views of Jenkins, GitLab and Azure DevOps.
//!
//! One `testsuite` per rule and one `testcase` per (rule, checked resource the rule applies
//! to). A resource with unsuppressed findings of the rule fails (one `failure` listing them
//! all); one whose findings are all suppressed is `skipped`; the rest pass. Input errors are
//! `error` test cases of an extra suite, `blogaudit inputs`, so that the run shows red.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use super::Report;
use crate::model::{pointer, Diagnostic, Level};
use crate::model::{Checked, Finding, Location, ResourceRef};
use crate::rules::RuleMeta;

/// The name of the suite that holds input errors.
pub const INPUTS_SUITE: &str = "blogaudit inputs";

#[must_use]
pub fn render(r: &Report<'_>) -> String {
    let suites = suites(r);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = suites
        .iter()
        .fold(Counts::default(), |acc, s| acc + s.counts());
    let _ = writeln!(
        out,
        "<testsuites name=\"blogaudit\" {}>",
        total.attributes()
    );
    for suite in &suites {
        suite.write(&mut out);
    }
    out.push_str("</testsuites>\n");
    out
}

/// What identifies a resource in a report: its identity and its file (or object reference).
/// The file matters: two Terraform root modules may each hold `aws_ecr_repository.x`.
type Key<'a> = (&'a ResourceRef, &'a str);

fn key<'a>(resource: &'a ResourceRef, location: &'a Location) -> Key<'a> {
    (resource, location.file_or_reference())
}

#[derive(Clone, Copy, Default)]
struct Counts {
    tests: usize,
    failures: usize,
    skipped: usize,
    errors: usize,
}

impl std::ops::Add for Counts {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            tests: self.tests + o.tests,
            failures: self.failures + o.failures,
            skipped: self.skipped + o.skipped,
            errors: self.errors + o.errors,
        }
    }
}

impl Counts {
    fn attributes(self) -> String {
        format!(
            "tests=\"{}\" failures=\"{}\" skipped=\"{}\" errors=\"{}\"",
            self.tests, self.failures, self.skipped, self.errors
        )
    }
}

enum Outcome {
    Pass,
    Failure {
        message: String,
        kind: String,
        body: String,
    },
    Skipped {
        message: String,
    },
    Error {
        message: String,
        kind: String,
        body: String,
    },
}

struct Case {
    classname: String,
    name: String,
    outcome: Outcome,
}

struct Suite {
    name: String,
    cases: Vec<Case>,
}

impl Suite {
    fn counts(&self) -> Counts {
        let mut c = Counts {
            tests: self.cases.len(),
            ..Counts::default()
        };
        for case in &self.cases {
            match case.outcome {
                Outcome::Pass => {}
                Outcome::Failure { .. } => c.failures += 1,
                Outcome::Skipped { .. } => c.skipped += 1,
                Outcome::Error { .. } => c.errors += 1,
            }
        }
        c
    }

    fn write(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" {}>",
            attr(&self.name),
            self.counts().attributes()
        );
        for case in &self.cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\"",
                attr(&case.classname),
                attr(&case.name)
            );
            match &case.outcome {
                Outcome::Pass => out.push_str("/>\n"),
                Outcome::Skipped { message } => {
                    let _ = write!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                        attr(message)
                    );
                }
                Outcome::Failure {
                    message,
                    kind,
                    body,
                }
                | Outcome::Error {
                    message,
                    kind,
                    body,
                } => {
                    let tag = if matches!(case.outcome, Outcome::Failure { .. }) {
                        "failure"
                    } else {
                        "error"
                    };
                    let _ = write!(
                        out,
                        ">\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>\n",
                        attr(message),
                        attr(kind),
                        text(body)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
}

fn suites(r: &Report<'_>) -> Vec<Suite> {
    // Findings by rule, then by resource, in report order.
    let mut by_rule: HashMap<&str, Vec<(Key<'_>, Vec<&Finding>)>> = HashMap::new();
    let mut rule_order: Vec<(&str, &str)> = Vec::new();
    for f in r.findings {
        let groups = by_rule.entry(&f.rule_id).or_insert_with(|| {
            rule_order.push((&f.rule_id, &f.rule_name));
            Vec::new()
        });
        let k = key(&f.resource, &f.location);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, list)) => list.push(f),
            None => groups.push((k, vec![f])),
        }
    }
    // Every checked resource once (a resource listed twice is one test case).
    let mut seen = HashSet::new();
    let checked: Vec<&Checked> = r
        .checked
        .iter()
        .filter(|c| seen.insert(key(&c.resource, &c.location)))
        .collect();

    let mut suites = Vec::new();
    let known: HashSet<&str> = r.rules.rules.iter().map(|c| c.meta.id.as_str()).collect();
    for rule in &r.rules.rules {
        let meta = &rule.meta;
        let groups = by_rule.get(meta.id.as_str()).map_or(&[][..], Vec::as_slice);
        suites.push(rule_suite(
            &format!("{} {}", meta.id, meta.name),
            Some(meta),
            &checked,
            groups,
        ));
    }
    // Findings of a rule the rule set does not list (should not happen): still reported.
    for (id, name) in rule_order {
        if !known.contains(id) {
            suites.push(rule_suite(&format!("{id} {name}"), None, &[], &by_rule[id]));
        }
    }
    let errors: Vec<&Diagnostic> = r
        .diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .collect();
    // Inputs knowingly not checked (a Helm chart without helm) are skipped cases.
    let skipped = r.diagnostics.iter().filter(|d| d.level == Level::Warning);
    let cases: Vec<Case> = errors
        .into_iter()
        .map(input_case)
        .chain(skipped.map(skipped_case))
        .collect();
    if !cases.is_empty() {
        suites.push(Suite {
            name: INPUTS_SUITE.to_string(),
            cases,
        });
    }
    suites
}

fn rule_suite(
    name: &str,
    meta: Option<&RuleMeta>,
    checked: &[&Checked],
    groups: &[(Key<'_>, Vec<&Finding>)],
) -> Suite {
    let mut cases = Vec::new();
    let mut covered = HashSet::new();
    if let Some(meta) = meta {
        for c in checked {
            if !meta.applies_to(&c.resource.kind) {
                continue;
            }
            let k = key(&c.resource, &c.location);
            covered.insert(k);
            let findings = groups
                .iter()
                .find(|(g, _)| *g == k)
                .map_or(&[][..], |(_, list)| list.as_slice());
            cases.push(Case {
                classname: c.location.file_or_reference().to_string(),
                name: c.resource.to_string(),
                outcome: outcome(Some(&meta.remediation), findings),
            });
        }
    }
    // Findings on a resource that is not among the checked ones (or of a kind the rule does
    // not list): a test case of their own, so that no finding is lost.
    for (k, list) in groups {
        if covered.contains(k) {
            continue;
        }
        let f = list[0];
        cases.push(Case {
            classname: f.location.file_or_reference().to_string(),
            name: f.resource.to_string(),
            outcome: outcome(meta.map(|m| m.remediation.as_str()), list),
        });
    }
    Suite {
        name: name.to_string(),
        cases,
    }
}

fn outcome(remediation: Option<&str>, findings: &[&Finding]) -> Outcome {
    if findings.is_empty() {
        return Outcome::Pass;
    }
    let active: Vec<&Finding> = findings
        .iter()
        .copied()
        .filter(|f| f.suppression.is_none())
        .collect();
    if active.is_empty() {
        let mut reasons: Vec<&str> = Vec::new();
        for f in findings {
            if let Some(s) = &f.suppression {
                if !reasons.contains(&s.reason.as_str()) {
                    reasons.push(&s.reason);
                }
            }
        }
        return Outcome::Skipped {
            message: reasons.join("; "),
        };
    }
    let first = active[0];
    let message = if active.len() == 1 {
        first.message.clone()
    } else {
        format!("{} (and {} more)", first.message, active.len() - 1)
    };
    let severity = active
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(first.severity);
    let mut body = String::new();
    for f in &active {
        let _ = writeln!(body, "{} {}\n  {}", f.place(), pointer(&f.path), f.message);
    }
    for f in findings.iter().filter(|f| f.suppression.is_some()) {
        if let Some(s) = &f.suppression {
            let _ = writeln!(
                body,
                "{} {} (suppressed by {}: {})",
                f.place(),
                pointer(&f.path),
                s.source,
                s.reason
            );
        }
    }
    if let Some(rem) = remediation {
        let _ = writeln!(body, "Remediation: {rem}");
    }
    Outcome::Failure {
        message,
        kind: format!("{} {}", first.rule_id, severity.as_str()),
        body,
    }
}

fn input_case(d: &Diagnostic) -> Case {
    let name = match d.pos {
        Some(p) => format!("{} {}:{}", d.code, p.line, p.column),
        None => d.code.to_string(),
    };
    let mut body = d.one_line();
    body.push('\n');
    Case {
        classname: d.file.clone().unwrap_or_else(|| "blogaudit".to_string()),
        name,
        outcome: Outcome::Error {
            message: d.message.clone(),
            kind: d.code.to_string(),
            body,
        },
    }
}

fn skipped_case(d: &Diagnostic) -> Case {
    Case {
        classname: d.file.clone().unwrap_or_else(|| "blogaudit".to_string()),
        name: d.code.to_string(),
        outcome: Outcome::Skipped {
            message: d.one_line(),
        },
    }
}

/// Whether XML 1.0 allows `c` at all.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
        || ('\u{20}'..='\u{D7FF}').contains(&c)
        || ('\u{E000}'..='\u{FFFD}').contains(&c)
        || c >= '\u{10000}'
}

fn escape(s: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            // Attribute values are normalised by parsers: keep line breaks and tabs as such.
            '\n' if in_attribute => out.push_str("&#10;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            c if allowed(c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// An attribute value, escaped.
#[must_use]
pub fn attr(s: &str) -> String {
    escape(s, true)
}

/// Element text, escaped.
#[must_use]
pub fn text(s: &str) -> String {
    escape(s, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_strips() {
        assert_eq!(
            attr("a&b<c>d\"e'f\ng\u{1}h\u{FFFE}"),
            "a&amp;b&lt;c&gt;d&quot;e&apos;f&#10;gh"
        );
        assert_eq!(text("x\ny\u{0}\u{1b}z\u{10000}"), "x\nyz\u{10000}");
    }
}
