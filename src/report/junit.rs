//! `--format junit`: JUnit XML for the test-report views of Jenkins, GitLab and Azure DevOps.
//!
//! One `testsuite` per rule and one `testcase` per (rule, checked resource the rule applies
//! to). A resource with unsuppressed findings of the rule fails (one `failure` listing them
//! all); one whose findings are all suppressed is `skipped`; the rest pass. Input errors are
//! `error` test cases of an extra suite, `blogaudit inputs`, so that the run shows red.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{self, Write};

use super::Report;
use crate::model::{pointer, Diagnostic, Level};
use crate::model::{Checked, Finding, Location, ResourceRef};
use crate::rules::RuleMeta;

/// The name of the suite that holds input errors.
pub const INPUTS_SUITE: &str = "blogaudit inputs";

/// Writes the JUnit report. The totals of `<testsuites>` come first, so the suites are
/// counted in a first pass (no text is made) and each test case is written as it is made in
/// the second: no suite is held whole.
///
/// # Errors
/// The error of `out`.
pub fn write(r: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let plan = Plan::new(r);
    let suites = plan.suites();
    let total = suites
        .iter()
        .fold(Counts::default(), |acc, s| acc + plan.counts(s));
    out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
    writeln!(
        out,
        "<testsuites name=\"blogaudit\" {}>",
        total.attributes()
    )?;
    for suite in &suites {
        writeln!(
            out,
            "  <testsuite name=\"{}\" {}>",
            attr(&suite.name()),
            plan.counts(suite).attributes()
        )?;
        let mut failed = Ok(());
        plan.cases(suite, &mut |case| {
            if failed.is_ok() {
                failed = case.write(out);
            }
        });
        failed?;
        out.write_all(b"  </testsuite>\n")?;
    }
    out.write_all(b"</testsuites>\n")
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

    fn add_case(&mut self, outcome: &Outcome) {
        self.tests += 1;
        match outcome {
            Outcome::Pass => {}
            Outcome::Failure { .. } => self.failures += 1,
            Outcome::Skipped { .. } => self.skipped += 1,
            Outcome::Error { .. } => self.errors += 1,
        }
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

impl Case {
    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\"",
            attr(&self.classname),
            attr(&self.name)
        )?;
        match &self.outcome {
            Outcome::Pass => out.write_all(b"/>\n"),
            Outcome::Skipped { message } => write!(
                out,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                attr(message)
            ),
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
                let tag = if matches!(self.outcome, Outcome::Failure { .. }) {
                    "failure"
                } else {
                    "error"
                };
                write!(
                    out,
                    ">\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>\n",
                    attr(message),
                    attr(kind),
                    text(body)
                )
            }
        }
    }
}

/// The findings of one rule, grouped by resource in report order, with an index by resource.
#[derive(Default)]
struct Groups<'a> {
    list: Vec<(Key<'a>, Vec<&'a Finding>)>,
    index: HashMap<Key<'a>, usize>,
}

impl<'a> Groups<'a> {
    fn push(&mut self, k: Key<'a>, f: &'a Finding) {
        match self.index.get(&k) {
            Some(&i) => self.list[i].1.push(f),
            None => {
                self.index.insert(k, self.list.len());
                self.list.push((k, vec![f]));
            }
        }
    }

    fn get(&self, k: &Key<'a>) -> &[&'a Finding] {
        self.index
            .get(k)
            .map_or(&[][..], |&i| self.list[i].1.as_slice())
    }
}

/// One suite to write: a rule's (or the findings of a rule the rule set does not list), or
/// the input problems.
enum Suite<'p, 'a> {
    Rule {
        id: &'a str,
        name: &'a str,
        meta: Option<&'a RuleMeta>,
        groups: Option<&'p Groups<'a>>,
    },
    Inputs,
}

impl Suite<'_, '_> {
    fn name(&self) -> String {
        match self {
            Self::Rule { id, name, .. } => format!("{id} {name}"),
            Self::Inputs => INPUTS_SUITE.to_string(),
        }
    }
}

/// What the suites are made of: the findings by rule and resource, and the checked
/// resources, each once.
struct Plan<'r, 'a> {
    report: &'r Report<'a>,
    by_rule: HashMap<&'a str, Groups<'a>>,
    /// Rules with findings, in report order, with their names.
    rule_order: Vec<(&'a str, &'a str)>,
    /// Every checked resource once (a resource listed twice is one test case).
    checked: Vec<&'a Checked>,
    checked_keys: HashSet<Key<'a>>,
}

impl<'r, 'a> Plan<'r, 'a> {
    fn new(r: &'r Report<'a>) -> Self {
        let mut by_rule: HashMap<&str, Groups<'_>> = HashMap::new();
        let mut rule_order: Vec<(&str, &str)> = Vec::new();
        for f in r.findings {
            by_rule
                .entry(&f.rule_id)
                .or_insert_with(|| {
                    rule_order.push((&f.rule_id, &f.rule_name));
                    Groups::default()
                })
                .push(key(&f.resource, &f.location), f);
        }
        let mut checked_keys = HashSet::new();
        let checked: Vec<&Checked> = r
            .checked
            .iter()
            .filter(|c| checked_keys.insert(key(&c.resource, &c.location)))
            .collect();
        Self {
            report: r,
            by_rule,
            rule_order,
            checked,
            checked_keys,
        }
    }

    /// Every rule's suite, then those of findings of unknown rules (should not happen: still
    /// reported), then the inputs when there are problems.
    fn suites(&self) -> Vec<Suite<'_, 'a>> {
        let r = self.report;
        let mut suites: Vec<Suite<'_, 'a>> = r
            .rules
            .rules
            .iter()
            .map(|rule| Suite::Rule {
                id: &rule.meta.id,
                name: &rule.meta.name,
                meta: Some(&rule.meta),
                groups: self.by_rule.get(rule.meta.id.as_str()),
            })
            .collect();
        let known: HashSet<&str> = r.rules.rules.iter().map(|c| c.meta.id.as_str()).collect();
        for &(id, name) in &self.rule_order {
            if !known.contains(id) {
                suites.push(Suite::Rule {
                    id,
                    name,
                    meta: None,
                    groups: self.by_rule.get(id),
                });
            }
        }
        let inputs = r
            .diagnostics
            .iter()
            .any(|d| matches!(d.level, Level::Error | Level::Warning));
        if inputs {
            suites.push(Suite::Inputs);
        }
        suites
    }

    fn counts(&self, suite: &Suite<'_, 'a>) -> Counts {
        let mut c = Counts::default();
        match suite {
            Suite::Inputs => self.input_cases(&mut |case| c.add_case(&case.outcome)),
            Suite::Rule { .. } => self.outcomes(suite, false, &mut |_, _, o| c.add_case(&o)),
        }
        c
    }

    /// Each test case of `suite`, made as it is handed over.
    fn cases(&self, suite: &Suite<'_, 'a>, each: &mut dyn FnMut(Case)) {
        match suite {
            Suite::Inputs => self.input_cases(each),
            Suite::Rule { .. } => {
                self.outcomes(suite, true, &mut |classname, resource, outcome| {
                    each(Case {
                        classname: classname.to_string(),
                        name: resource.to_string(),
                        outcome,
                    });
                })
            }
        }
    }

    /// Input errors are error cases; inputs knowingly not checked (a Helm chart without
    /// helm) are skipped cases.
    fn input_cases(&self, each: &mut dyn FnMut(Case)) {
        let diags = self.report.diagnostics;
        let errors = diags.iter().filter(|d| d.level == Level::Error);
        let skipped = diags.iter().filter(|d| d.level == Level::Warning);
        errors.map(input_case).for_each(&mut *each);
        skipped.map(skipped_case).for_each(each);
    }

    /// The test cases of a rule's suite as (class name, resource, outcome), in order: each
    /// checked resource the rule applies to, then the findings on resources that are not among
    /// them (or of a kind the rule does not list), so that no finding is lost. Without `text`
    /// the outcomes carry no text (for counting).
    fn outcomes(
        &self,
        suite: &Suite<'_, 'a>,
        text: bool,
        each: &mut dyn FnMut(&'a str, &'a ResourceRef, Outcome),
    ) {
        let Suite::Rule { meta, groups, .. } = *suite else {
            return;
        };
        let no_groups = Groups::default();
        let groups = groups.unwrap_or(&no_groups);
        if let Some(meta) = meta {
            for c in &self.checked {
                if !meta.applies_to(&c.resource.kind) {
                    continue;
                }
                let findings = groups.get(&key(&c.resource, &c.location));
                each(
                    c.location.file_or_reference(),
                    &c.resource,
                    outcome(Some(&meta.remediation), findings, text),
                );
            }
        }
        for (k, list) in &groups.list {
            let covered =
                meta.is_some_and(|m| m.applies_to(&k.0.kind)) && self.checked_keys.contains(k);
            if covered {
                continue;
            }
            let f = list[0];
            each(
                f.location.file_or_reference(),
                &f.resource,
                outcome(meta.map(|m| m.remediation.as_str()), list, text),
            );
        }
    }
}

/// The outcome of a test case with these findings; without `text`, its kind only.
fn outcome(remediation: Option<&str>, findings: &[&Finding], text: bool) -> Outcome {
    if findings.is_empty() {
        return Outcome::Pass;
    }
    let active: Vec<&Finding> = findings
        .iter()
        .copied()
        .filter(|f| f.suppression.is_none())
        .collect();
    match (active.is_empty(), text) {
        (true, false) => {
            return Outcome::Skipped {
                message: String::new(),
            }
        }
        (false, false) => {
            return Outcome::Failure {
                message: String::new(),
                kind: String::new(),
                body: String::new(),
            }
        }
        _ => {}
    }
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
        first.message.to_string()
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
