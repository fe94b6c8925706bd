//! The JUnit, GitLab Code Quality, GitHub annotation and Markdown formats: snapshots on
//! `samples/blog-broken`, and checks that each says the same as `--format json`.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use blogaudit::model::{fingerprint, Severity};
use blogaudit::model::{Checked, Finding, Location, ResourceRef, Suppression};
use blogaudit::model::{Diagnostic, Level, PathSeg, Pos, Span};
use blogaudit::report::markdown::MARKDOWN_LIMIT;
use blogaudit::report::{Format, Report};
use serde_json::Value;

use common::{root, run_blogaudit};

const BROKEN: &str = "samples/blog-broken";

fn scan(format: &str) -> String {
    let run = run_blogaudit(&root(), &["scan", BROKEN, "--format", format]);
    assert_eq!(run.code, 1, "stderr:\n{}", run.stderr);
    run.stdout
}

fn json_findings() -> Vec<Value> {
    let out: Value = serde_json::from_str(&scan("json")).expect("json output");
    out["findings"].as_array().expect("findings").clone()
}

fn active(findings: &[Value]) -> impl Iterator<Item = &Value> {
    findings.iter().filter(|f| f["suppression"].is_null())
}

/// `(rule, kind, namespace, name, file or object)`: one JUnit test case.
fn pair(f: &Value) -> (String, String, String, String, String) {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let place = if f["file"].is_null() {
        s(&f["object"])
    } else {
        s(&f["file"])
    };
    (
        s(&f["rule_id"]),
        s(&f["resource"]["kind"]),
        s(&f["resource"]["namespace"]),
        s(&f["resource"]["name"]),
        place,
    )
}

// ---------------------------------------------------------------------------------------
// Snapshots

#[test]
fn junit_output() {
    insta::assert_snapshot!(scan("junit"));
}

#[test]
fn gitlab_output() {
    insta::assert_snapshot!(scan("gitlab"));
}

#[test]
fn github_output() {
    insta::assert_snapshot!(scan("github"));
}

#[test]
fn markdown_output() {
    insta::assert_snapshot!(scan("markdown"));
}

// ---------------------------------------------------------------------------------------
// JUnit

/// The value of `name="…"` in a start tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

fn count(tag: &str, name: &str) -> usize {
    attr(tag, name)
        .unwrap_or_else(|| panic!("{name} missing in {tag}"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is no number in {tag}"))
}

#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct Counts {
    tests: usize,
    failures: usize,
    skipped: usize,
    errors: usize,
}

impl Counts {
    fn declared(tag: &str) -> Self {
        Self {
            tests: count(tag, "tests"),
            failures: count(tag, "failures"),
            skipped: count(tag, "skipped"),
            errors: count(tag, "errors"),
        }
    }

    fn add(&mut self, o: Self) {
        self.tests += o.tests;
        self.failures += o.failures;
        self.skipped += o.skipped;
        self.errors += o.errors;
    }
}

/// Checks every count of a JUnit report against its elements; returns the totals and the
/// declared counts per suite name.
fn junit_counts(xml: &str) -> (Counts, BTreeMap<String, Counts>) {
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    let top_start = xml.find("<testsuites ").expect("<testsuites>");
    let top_tag = &xml[top_start..top_start + xml[top_start..].find('>').unwrap()];
    assert_eq!(attr(top_tag, "name"), Some("blogaudit"));
    let mut total = Counts::default();
    let mut suites = BTreeMap::new();
    for chunk in xml.split("<testsuite ").skip(1) {
        let tag = &chunk[..chunk.find('>').unwrap()];
        let body = &chunk[..chunk.find("</testsuite>").expect("suite closed")];
        let found = Counts {
            tests: body.matches("<testcase ").count(),
            failures: body.matches("<failure ").count(),
            skipped: body.matches("<skipped ").count(),
            errors: body.matches("<error ").count(),
        };
        let declared = Counts::declared(&format!(" {tag}"));
        let name = attr(&format!(" {tag}"), "name").unwrap().to_string();
        assert_eq!(declared, found, "counts of suite {name}");
        total.add(found);
        suites.insert(name, declared);
    }
    assert_eq!(Counts::declared(top_tag), total, "counts of <testsuites>");
    (total, suites)
}

#[test]
fn junit_counts_match_the_findings() {
    let xml = scan("junit");
    let (total, suites) = junit_counts(&xml);
    let findings = json_findings();
    let failing: BTreeSet<_> = active(&findings).map(pair).collect();
    assert_eq!(total.failures, failing.len());
    assert_eq!(total.skipped, 0);
    assert_eq!(total.errors, 0);

    // One suite per rule; tests = checked resources the rule applies to.
    let outcome = blogaudit::pipeline::run(
        &blogaudit::pipeline::Options {
            paths: vec![PathBuf::from(BROKEN)],
            base: root(),
            today: blogaudit::model::date::today(),
            ..Default::default()
        },
        &blogaudit::pipeline::Selection::default(),
    );
    assert_eq!(suites.len(), outcome.rules.rules.len());
    let resources: HashSet<(&str, &str, &str, String)> = outcome
        .checked
        .iter()
        .map(|c| {
            let r = &c.resource;
            (&*r.kind, &*r.namespace, &*r.name, place(&c.location))
        })
        .collect();
    for rule in &outcome.rules.rules {
        let m = &rule.meta;
        let suite = &suites[&format!("{} {}", m.id, m.name)];
        let applies = resources.iter().filter(|r| m.applies_to(r.0)).count();
        assert_eq!(suite.tests, applies, "tests of {}", m.id);
        let fails = failing.iter().filter(|p| p.0 == m.id).count();
        assert_eq!(suite.failures, fails, "failures of {}", m.id);
    }
    // Several findings of one rule on one resource are one failure that lists them all.
    assert!(xml.contains("(and 1 more)\" type=\"BA202 medium\""));
    assert!(xml.contains(
        "samples/blog-broken/terraform/eks.tf:111:3 /tags/k8s.io~1cluster-autoscaler~1enabled"
    ));
}

fn place(l: &Location) -> String {
    match l {
        Location::File { path, .. } => path.to_string(),
        Location::Object { reference } => reference.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// GitLab

#[test]
fn gitlab_fingerprints_are_those_of_the_unsuppressed_findings() {
    let issues: Vec<Value> = serde_json::from_str(&scan("gitlab")).expect("a JSON array");
    let findings = json_findings();
    let fingerprints: Vec<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().expect("fingerprint"))
        .collect();
    let unique: BTreeSet<&str> = fingerprints.iter().copied().collect();
    assert_eq!(unique.len(), fingerprints.len(), "fingerprints are unique");
    let expected: BTreeSet<&str> = active(&findings)
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(unique, expected);
    let by_fp: HashMap<&str, &Value> = findings
        .iter()
        .map(|f| (f["fingerprint"].as_str().unwrap(), f))
        .collect();
    for i in &issues {
        let f = by_fp[i["fingerprint"].as_str().unwrap()];
        assert_eq!(i["check_name"], f["rule_id"]);
        assert_eq!(i["location"]["path"], f["file"]);
        assert_eq!(i["location"]["lines"]["begin"], f["start_line"]);
        assert_eq!(
            i["description"].as_str().unwrap(),
            format!(
                "{} ({})",
                f["message"].as_str().unwrap(),
                f["path"].as_str().unwrap()
            )
        );
        let sev = match f["severity"].as_str().unwrap() {
            "critical" => "critical",
            "high" => "major",
            "medium" => "minor",
            _ => "info",
        };
        assert_eq!(i["severity"], sev);
        assert_eq!(i["categories"], serde_json::json!(["Security"]));
        assert_eq!(i["type"], "issue");
        assert_eq!(i["engine_name"], "blogaudit");
    }
}

// ---------------------------------------------------------------------------------------
// GitHub

/// `(command, properties, message)` of a workflow command line, unescaped.
fn parse_command(line: &str) -> (String, BTreeMap<String, String>, String) {
    let rest = line.strip_prefix("::").expect("starts with ::");
    let end = rest.find("::").expect("a second ::");
    let (head, data) = (&rest[..end], &rest[end + 2..]);
    let (name, props) = head.split_once(' ').unwrap_or((head, ""));
    let unescape = |s: &str| {
        s.replace("%3A", ":")
            .replace("%2C", ",")
            .replace("%0D", "\r")
            .replace("%0A", "\n")
            .replace("%25", "%")
    };
    let props = props
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').expect("key=value");
            (k.to_string(), unescape(v))
        })
        .collect();
    (name.to_string(), props, unescape(data))
}

#[test]
fn github_annotations_match_the_findings() {
    let out = scan("github");
    let findings = json_findings();
    let mut seen: Vec<(String, String, String, String, String)> = Vec::new();
    for line in out.lines() {
        let (name, p, message) = parse_command(line);
        assert!(
            ["error", "warning", "notice"].contains(&name.as_str()),
            "{line}"
        );
        seen.push((
            name,
            p["title"].split(' ').next().unwrap().to_string(),
            p["file"].clone(),
            format!("{}:{}", p["line"], p["col"]),
            message,
        ));
    }
    let mut expected: Vec<_> = active(&findings)
        .map(|f| {
            let command = match f["severity"].as_str().unwrap() {
                "critical" | "high" => "error",
                "medium" => "warning",
                _ => "notice",
            };
            (
                command.to_string(),
                f["rule_id"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                format!("{}:{}", f["start_line"], f["start_column"]),
                format!(
                    "{} ({})",
                    f["message"].as_str().unwrap(),
                    f["path"].as_str().unwrap()
                ),
            )
        })
        .collect();
    expected.sort();
    seen.sort();
    assert_eq!(seen, expected);
    // The most severe come first.
    let first = out.lines().next().unwrap();
    assert!(first.starts_with("::error "), "{first}");
    assert!(out.lines().last().unwrap().starts_with("::notice "));
}

// ---------------------------------------------------------------------------------------
// Markdown

#[test]
fn markdown_counts_and_links() {
    let md = scan("markdown");
    let findings = json_findings();
    let n = active(&findings).count();
    assert!(md.starts_with("# blogaudit\n"));
    assert!(md.contains(&format!("**{n} findings**")));
    assert!(md.contains(
        "| [BA101](https://github.com/blogaudit/blogaudit/blob/main/rules/k8s/BA101-run-as-non-root/rule.rego) | run-as-non-root | high | 2 |"
    ));
    let rows = md
        .split("## Findings")
        .nth(1)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Severity"))
        .count();
    assert_eq!(rows, n.min(MARKDOWN_LIMIT));
    // Severity first.
    let order: Vec<usize> = md
        .split("## Findings")
        .nth(1)
        .unwrap()
        .lines()
        .filter_map(|l| {
            ["| critical", "| high", "| medium", "| low"]
                .iter()
                .position(|s| l.starts_with(s))
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
}

#[test]
fn a_clean_run_is_one_line() {
    let run = run_blogaudit(&root(), &["scan", "samples/blog", "--format", "markdown"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(run.stdout.starts_with("**blogaudit**: no findings"));
    for format in ["github", "gitlab", "junit"] {
        let run = run_blogaudit(&root(), &["scan", "samples/blog", "--format", format]);
        assert_eq!(run.code, 0);
        match format {
            "github" => assert_eq!(run.stdout, ""),
            "gitlab" => assert_eq!(run.stdout.trim(), "[]"),
            _ => {
                let (total, _) = junit_counts(&run.stdout);
                assert_eq!((total.failures, total.errors), (0, 0));
                assert!(total.tests > 0);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Suppressions, input errors, awkward file names, many findings

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: NAME
  namespace: default
spec:
  containers:
    - name: a
      image: nginx
";

/// A tree with a suppressed finding, an input error, a file name that needs escaping
/// everywhere, and more than `MARKDOWN_LIMIT` findings.
fn edge_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let k8s = dir.path().join("k8s");
    std::fs::create_dir(&k8s).unwrap();
    std::fs::write(
        k8s.join("we,ird: 100%.yaml"),
        "apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  annotations:
    blogaudit.io/ignore: \"BA110: needed for <the> 'legacy' LB & co\"
spec:
  type: NodePort
  selector:
    app: web
  ports:
    - port: 80
---
apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: shop
spec:
  type: LoadBalancer
  selector:
    app: api
  ports:
    - port: 80
",
    )
    .unwrap();
    std::fs::write(
        k8s.join("broken.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  bad: [unclosed\n",
    )
    .unwrap();
    let pods: String = (0..12)
        .map(|i| POD.replace("NAME", &format!("p{i}")))
        .collect::<Vec<_>>()
        .join("---\n");
    std::fs::write(k8s.join("pods.yaml"), pods).unwrap();
    dir
}

fn scan_in(dir: &Path, format: &str) -> String {
    let run = run_blogaudit(dir, &["scan", "k8s", "--format", format]);
    assert_eq!(run.code, 2, "an input error: exit 2\n{}", run.stderr);
    run.stdout
}

#[test]
fn suppressions_input_errors_and_escaping() {
    let dir = edge_tree();
    let json: Value = serde_json::from_str(&scan_in(dir.path(), "json")).unwrap();
    let findings = json["findings"].as_array().unwrap();
    let suppressed: Vec<&Value> = findings
        .iter()
        .filter(|f| !f["suppression"].is_null())
        .collect();
    assert_eq!(suppressed.len(), 1);
    let n = active(findings).count();
    assert!(n > MARKDOWN_LIMIT, "{n} findings");

    // JUnit: the suppressed finding is skipped with its reason, the input error an error.
    let xml = scan_in(dir.path(), "junit");
    let (total, suites) = junit_counts(&xml);
    assert_eq!(total.skipped, 1);
    assert_eq!(total.errors, 1);
    assert_eq!(suites["blogaudit inputs"].errors, 1);
    assert_eq!(
        total.failures,
        active(findings).map(pair).collect::<BTreeSet<_>>().len()
    );
    assert!(xml
        .contains("<skipped message=\"needed for &lt;the&gt; &apos;legacy&apos; LB &amp; co\"/>"));
    assert!(xml.contains("classname=\"k8s/we,ird: 100%.yaml\" name=\"Service/shop/web\""));
    assert!(xml.contains("<testcase classname=\"k8s/broken.yaml\" name=\"yaml-syntax "));

    // GitLab: no suppressed finding.
    let issues: Vec<Value> = serde_json::from_str(&scan_in(dir.path(), "gitlab")).unwrap();
    assert_eq!(issues.len(), n);
    assert!(issues
        .iter()
        .all(|i| i["fingerprint"] != suppressed[0]["fingerprint"]));

    // GitHub: the input error first, property values escaped, no suppressed finding.
    let gh = scan_in(dir.path(), "github");
    assert_eq!(gh.lines().count(), n + 1);
    let first = gh.lines().next().unwrap();
    assert!(
        first.starts_with(
            "::error file=k8s/broken.yaml,line=6,col=1,title=blogaudit input::error[yaml-syntax]: "
        ),
        "{first}"
    );
    assert!(gh.contains(
        "::error file=k8s/we%2Cird%3A 100%25.yaml,line=21,col=3,endLine=21,endColumn=21,title=BA110 service-cluster-ip-only::Service shop/api is of type LoadBalancer"
    ));
    let (_, props, _) = parse_command(
        gh.lines()
            .find(|l| l.contains("we%2Cird"))
            .expect("the escaped file"),
    );
    assert_eq!(props["file"], "k8s/we,ird: 100%.yaml");

    // Markdown: suppressed count, input error, the limit.
    let md = scan_in(dir.path(), "markdown");
    assert!(md.contains(" 1 suppressed."), "{md}");
    assert!(md.contains("**1 input error: the results are incomplete.**"));
    assert!(md.contains("## Input errors\n\n- k8s/broken.yaml:6:1: error\\[yaml-syntax\\]"));
    let more = n - MARKDOWN_LIMIT;
    assert!(
        md.contains(&format!(
            "…and {more} more finding{} (only the first {MARKDOWN_LIMIT} are listed",
            if more == 1 { "" } else { "s" }
        )),
        "{md}"
    );
    assert!(md.contains("`k8s/we,ird: 100%.yaml:21`"));
}

// ---------------------------------------------------------------------------------------
// Findings with no file, and findings outside `checked` (through the library)

fn finding(rule: &str, name: &str, location: Location, message: &str) -> Finding {
    let resource = ResourceRef {
        kind: "Service".into(),
        namespace: "shop".into(),
        name: "web".into(),
    };
    let path = [PathSeg::Key("spec".into()), PathSeg::Key("type".into())];
    Finding {
        rule_id: rule.into(),
        rule_name: name.into(),
        severity: Severity::High,
        fingerprint: fingerprint::of(rule, &location, &resource, &path),
        resource: resource.into(),
        path: path.into(),
        location,
        message: message.into(),
        fix: None,
        suppression: None,
        roots: Vec::new().into(),
    }
}

#[test]
fn object_findings_and_unchecked_resources() {
    let rules = common::builtin_rules();
    let object = Location::Object {
        reference: "cluster:prod/Service/shop/web".into(),
    };
    let file = Location::File {
        path: "a|b.yaml".into(),
        span: Span {
            start: Pos { line: 3, column: 2 },
            end: Pos { line: 3, column: 9 },
        },
    };
    let mut suppressed = finding("BA110", "service-cluster-ip-only", file.clone(), "hidden");
    suppressed.suppression = Some(Box::new(Suppression {
        source: "config",
        reason: "r1".into(),
        until: None,
    }));
    let findings = vec![
        finding(
            "BA110",
            "service-cluster-ip-only",
            object.clone(),
            "is 100%\nbad, really: yes",
        ),
        finding("BA999", "made-up", file.clone(), "x <y> & 'z'\u{1}"),
        suppressed,
    ];
    let checked = vec![Checked {
        resource: ResourceRef::clone(&findings[0].resource),
        location: file.clone(),
    }];
    let diagnostics = vec![
        Diagnostic {
            level: Level::Warning,
            code: "w-code",
            file: None,
            pos: None,
            message: "a warning".into(),
            help: None,
        },
        Diagnostic::error("e-code", "no file"),
    ];
    let files = HashMap::new();
    let report = Report {
        findings: &findings,
        diagnostics: &diagnostics,
        rules: &rules,
        files: &files,
        checked: &checked,
        category: "blogaudit/scan",
        verbose: false,
        color: false,
        whole: false,
    };

    let xml = report.render(Format::Junit);
    let (total, suites) = junit_counts(&xml);
    // BA110: the checked Service in a|b.yaml (skipped: its only finding is suppressed) and
    // the object, which is not among the checked resources.
    assert_eq!(
        suites["BA110 service-cluster-ip-only"],
        Counts {
            tests: 2,
            failures: 1,
            skipped: 1,
            errors: 0
        }
    );
    assert_eq!(
        suites["BA999 made-up"],
        Counts {
            tests: 1,
            failures: 1,
            skipped: 0,
            errors: 0
        }
    );
    assert_eq!(suites["blogaudit inputs"].errors, 1);
    // The input warning (something knowingly not checked) is a skipped case.
    assert_eq!(suites["blogaudit inputs"].skipped, 1);
    assert_eq!((total.failures, total.skipped, total.errors), (2, 2, 1));
    assert!(xml.contains("<skipped message=\"warning[w-code]: a warning\"/>"));
    assert!(xml.contains(
        "<testcase classname=\"cluster:prod/Service/shop/web\" name=\"Service/shop/web\">"
    ));
    assert!(xml.contains("<skipped message=\"r1\"/>"));
    assert!(xml.contains("message=\"x &lt;y&gt; &amp; &apos;z&apos;\""));
    assert!(xml.contains("message=\"is 100%&#10;bad, really: yes\""));
    assert!(!xml.contains('\u{1}'));
    assert!(xml.contains("<testcase classname=\"blogaudit\" name=\"e-code\">"));

    let issues: Vec<Value> = serde_json::from_str(&report.render(Format::Gitlab)).unwrap();
    assert_eq!(issues.len(), 2);
    assert_eq!(
        issues[0]["location"],
        serde_json::json!({"path": "cluster:prod/Service/shop/web", "lines": {"begin": 1, "end": 1}})
    );

    let gh = report.render(Format::Github);
    let lines: Vec<&str> = gh.lines().collect();
    assert_eq!(
        lines,
        [
            "::warning title=blogaudit input::warning[w-code]: a warning",
            "::error title=blogaudit input::error[e-code]: no file",
            "::error title=BA110 service-cluster-ip-only::cluster:prod/Service/shop/web: is 100%25%0Abad, really: yes (/spec/type)",
            // A control character is shown as its picture (U+2401), never raw in the log.
            "::error file=a|b.yaml,line=3,col=2,endLine=3,endColumn=9,title=BA999 made-up::x <y> & 'z'\u{2401} (/spec/type)",
        ]
    );

    let md = report.render(Format::Markdown);
    assert!(md.contains("| high | [BA110](https://github.com/blogaudit/blogaudit/blob/main/rules/k8s/BA110-service-cluster-ip-only/rule.rego) | `cluster:prod/Service/shop/web` | `Service/shop/web` | is 100%<br>bad, really: yes |"), "{md}");
    assert!(
        md.contains(
            "| high | BA999 | `a\\|b.yaml:3` | `Service/shop/web` | x &lt;y&gt; &amp; 'z'  |"
        ),
        "{md}"
    );
    assert!(md.contains(" 1 suppressed."));
    assert!(md.contains("- error\\[e-code\\]: no file"));
}
