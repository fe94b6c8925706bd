//! Shell completions and the man page: generated from the CLI definition, and accepted by the
//! programs that read them.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{root, run_blogaudit};

#[test]
fn completions_load_in_bash_and_cover_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = run_blogaudit(&root(), &["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.contains("blogaudit"), "{shell}");
        assert!(
            run.stdout.contains("changed-since"),
            "{shell}: knows scan's flags"
        );
    }
    let bin = env!("CARGO_BIN_EXE_blogaudit");
    let script = format!(
        "set -e; source <('{bin}' completions bash); complete -p blogaudit; \
         COMP_WORDS=(blogaudit scan --for); COMP_CWORD=2; COMP_LINE='blogaudit scan --for'; \
         COMP_POINT=${{#COMP_LINE}}; _blogaudit blogaudit --for scan; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("--format"), "completes --for: {stdout}");
}

#[test]
fn the_man_page_renders() {
    let run = run_blogaudit(&root(), &["man"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with(".ie") || run.stdout.contains(".TH blogaudit"));
    let mut man = Command::new("man")
        .args(["-l", "-"])
        .env("MANWIDTH", "80")
        .env("MAN_KEEP_FORMATTING", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("man runs (install man-db)");
    man.stdin
        .take()
        .expect("stdin")
        .write_all(run.stdout.as_bytes())
        .expect("write the page");
    let out = man.wait_with_output().expect("man finishes");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("SUBCOMMANDS") || text.contains("blogaudit-scan"),
        "{text}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let pages = run_blogaudit(
        &root(),
        &["man", "--out-dir", dir.path().to_str().expect("utf-8")],
    );
    assert_eq!(pages.code, 0, "{}", pages.stderr);
    for page in ["blogaudit.1", "blogaudit-scan.1", "blogaudit-upload.1"] {
        assert!(dir.path().join(page).is_file(), "{page}");
    }
}
