//! CLI snapshots (insta) of every output format on `samples/blog-broken`.

use std::process::Command;

fn run(args: &[&str]) -> (String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_blogaudit"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("blogaudit runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r#""uri": "file://[^"]*""#, r#""uri": "file://[ROOT]/""#);
    s.add_filter(
        r#""(semanticVersion|version)": "\d+\.\d+\.\d+""#,
        r#""$1": "[VERSION]""#,
    );
    s
}

#[test]
fn human_output() {
    let (out, code) = run(&["scan", "samples/blog-broken", "--color", "never"]);
    assert_eq!(code, 1);
    settings().bind(|| insta::assert_snapshot!(out));
}

#[test]
fn json_output() {
    let (out, code) = run(&["scan", "samples/blog-broken", "--format", "json"]);
    assert_eq!(code, 1);
    settings().bind(|| insta::assert_snapshot!(out));
}

#[test]
fn sarif_output() {
    let (out, code) = run(&["scan", "samples/blog-broken/k8s", "--format", "sarif"]);
    assert_eq!(code, 1);
    settings().bind(|| insta::assert_snapshot!(out));
}

#[test]
fn clean_scan_output() {
    let (out, code) = run(&["scan", "samples/blog", "--color", "never"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}
