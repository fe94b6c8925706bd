//! The bundled samples: the reference design scans clean, its broken copy gives exactly the
//! findings marked `# expect:` in its files, and a plan JSON gives the same AWS findings as
//! the Terraform source it was planned from.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use blogaudit::model::Level;
use blogaudit::pipeline::{Options, Outcome, Selection};

fn scan_sample(rel: &str) -> Outcome {
    blogaudit::pipeline::run(
        &Options {
            paths: vec![common::root().join(rel)],
            base: common::root(),
            today: blogaudit::model::date::today(),
            ..Options::default()
        },
        &Selection::default(),
    )
}

fn errors(outcome: &Outcome) -> Vec<String> {
    outcome
        .diagnostics
        .iter()
        .filter(|d| d.level != Level::Note)
        .map(|d| d.one_line())
        .collect()
}

#[test]
fn the_reference_design_scans_clean() {
    let outcome = scan_sample("samples/blog");
    assert!(errors(&outcome).is_empty(), "{:#?}", errors(&outcome));
    let found: Vec<String> = outcome
        .findings
        .iter()
        .map(|f| format!("{} {} {}", f.place(), f.rule_id, f.message))
        .collect();
    assert!(
        found.is_empty(),
        "samples/blog must scan clean:\n{}",
        found.join("\n")
    );
    assert!(
        outcome.checked.len() > 100,
        "only {} resources",
        outcome.checked.len()
    );
}

#[test]
fn the_broken_design_gives_exactly_the_marked_findings() {
    let outcome = scan_sample("samples/blog-broken");
    assert!(errors(&outcome).is_empty(), "{:#?}", errors(&outcome));
    let mut expected = common::expected_markers(&common::root().join("samples/blog-broken"));
    for ids in expected.values_mut() {
        ids.sort();
    }
    let actual = common::actual_markers(&outcome);
    let missing: BTreeMap<_, _> = expected
        .iter()
        .filter(|(k, v)| actual.get(*k) != Some(v))
        .collect();
    let extra: BTreeMap<_, _> = actual
        .iter()
        .filter(|(k, v)| expected.get(*k) != Some(v))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "marked but not found (or different): {missing:#?}\nfound but not marked: {extra:#?}"
    );
    // Both halves of the design are covered.
    let rules: std::collections::BTreeSet<&str> =
        outcome.findings.iter().map(|f| &*f.rule_id).collect();
    for id in [
        "BA101", "BA110", "BA120", "BA140", "BA201", "BA210", "BA230", "BA231",
    ] {
        assert!(rules.contains(id), "samples/blog-broken seeds no {id}");
    }
}

/// `samples/plan/*.plan.json` lists its findings in a sibling `.expect` file (`BA201 <line>`).
#[test]
fn plan_json_gives_the_same_aws_findings_as_its_source() {
    let plan = PathBuf::from("samples/plan/blog-broken.plan.json");
    let outcome = scan_sample(plan.to_str().unwrap_or_default());
    assert!(errors(&outcome).is_empty(), "{:#?}", errors(&outcome));
    let expect_text =
        std::fs::read_to_string(common::root().join("samples/plan/blog-broken.plan.expect"))
            .expect(".expect file");
    let mut expected: Vec<(String, u32)> = expect_text
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            Some((parts.next()?.to_string(), parts.next()?.parse().ok()?))
        })
        .collect();
    expected.sort();
    let mut actual: Vec<(String, u32)> = outcome
        .findings
        .iter()
        .map(|f| (f.rule_id.to_string(), f.span().map_or(0, |s| s.start.line)))
        .collect();
    actual.sort();
    assert_eq!(actual, expected);

    // The same rule, resource and field as a scan of the Terraform source.
    let source = scan_sample("samples/blog-broken/terraform");
    let key = |o: &Outcome| {
        let mut v: Vec<(String, String, String)> = o
            .findings
            .iter()
            .filter(|f| f.resource.kind.starts_with("aws:"))
            .map(|f| {
                (
                    f.rule_id.to_string(),
                    f.resource.name.clone(),
                    blogaudit::model::pointer(&f.path),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(key(&outcome), key(&source));
}

/// Every report format of a scan whose manifests are stashed (read again from their text
/// when needed) and of the same scan holding them whole.
fn reports(dir: &std::path::Path, stash_above: Option<u64>) -> Vec<Vec<u8>> {
    let outcome = blogaudit::pipeline::run(
        &Options {
            paths: vec![dir.to_path_buf()],
            base: dir.to_path_buf(),
            today: blogaudit::model::date::today(),
            no_cache: true,
            stash_above,
            ..Options::default()
        },
        &Selection::default(),
    );
    use blogaudit::report::Format;
    [
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Human,
        Format::Github,
    ]
    .into_iter()
    .map(|format| {
        let mut out = Vec::new();
        outcome
            .report("", true)
            .write(format, &mut out)
            .expect("written");
        out
    })
    .collect()
}

#[test]
fn stashed_manifests_give_the_same_reports() {
    let edge = tempfile::tempdir().expect("tempdir");
    let deployment = |name: &str, extra: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: blog\n{extra}spec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:latest\n          securityContext:\n            privileged: true\n"
        )
    };
    let files = [
        (
            "workloads.yaml",
            format!(
                "{}---\n{}---\n{}",
                deployment("plain", ""),
                deployment(
                    "ignored",
                    "  annotations:\n    blogaudit.io/ignore: \"BA101: reviewed\"\n"
                ),
                deployment("kept", "")
                    .replace("privileged: true", "privileged: true\n  data: |+\n    kept\n\n")
            ),
        ),
        (
            "lookups.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: blog\nspec:\n  ports: {a: b}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: n\n  namespace: blog\nspec:\n  podSelector: [a]\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: r\n  namespace: blog\nspec:\n  parentRefs:\n    - name: gw\n      namespace: edge\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: open\n  namespace: blog\nspec:\n  type: NodePort\n".to_string(),
        ),
        (
            "secret.yaml",
            format!(
                "{}---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: blog\nstringData:\n  token: canary-value\n",
                deployment("beside-a-secret", "")
            ),
        ),
    ];
    for (name, text) in &files {
        std::fs::write(edge.path().join(name), text).expect("write");
    }
    let dirs = [
        common::root().join("samples/blog"),
        common::root().join("samples/blog-broken"),
        edge.path().to_path_buf(),
    ];
    for dir in &dirs {
        assert!(
            reports(dir, None) == reports(dir, Some(0)),
            "{}: the reports differ",
            dir.display()
        );
    }
    let json = String::from_utf8(reports(edge.path(), Some(0)).swap_remove(0)).expect("utf-8");
    for what in [
        "invalid-field",
        "\"suppression\"",
        "BA101",
        "kept",
        "beside-a-secret",
    ] {
        assert!(json.contains(what), "{what}: {json}");
    }
    assert!(!json.contains("canary-value"));
    // They were stashed, and they are not under the default threshold.
    let stashed = |above| {
        let render = blogaudit::source::RenderOptions {
            stash_above: above,
            ..Default::default()
        };
        let loaded =
            blogaudit::source::load_all(&[dirs[1].clone()], &dirs[1], &Default::default(), &render);
        loaded.resources.iter().filter(|r| r.is_stashed()).count()
    };
    assert!(stashed(Some(0)) > 20);
    assert_eq!(stashed(None), 0);
}
