//! Shared by the bad-input tests: a temporary tree with a good manifest beside the bad input,
//! and a scan of it by the real binary under a memory bound (`prlimit --as`) and a time bound,
//! so a blow-up fails the test as a crash instead of swapping the machine.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const MEMORY_BOUND: u64 = 2 * 1024 * 1024 * 1024;
/// Wall time a case may take.
pub const TIME_BOUND: Duration = Duration::from_secs(30);

pub const GOOD: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: x
spec:
  type: NodePort
  selector:
    app: web
  ports:
  - port: 80
";

pub fn tree(files: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("good.yaml"), GOOD).expect("write");
    std::fs::write(dir.path().join("blogaudit.toml"), "").expect("write");
    for (name, bytes) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write");
    }
    dir
}

/// Runs `scan . --format json` under the memory bound; exit code, report, wall time.
pub fn scan(dir: &Path) -> (i32, Value, Duration) {
    scan_with(dir, &[])
}

/// [`scan`] with more arguments after `scan . --format json`.
pub fn scan_with(dir: &Path, more: &[&str]) -> (i32, Value, Duration) {
    let start = Instant::now();
    let mut child = Command::new("prlimit")
        .arg(format!("--as={MEMORY_BOUND}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_blogaudit"))
        .args(["scan", ".", "--format", "json"])
        .args(more)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit starts");
    let out = child.stdout.take().expect("stdout");
    let err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || std::io::read_to_string(out).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(err).unwrap_or_default());
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > TIME_BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the scan of {} ran for over {TIME_BOUND:?}", dir.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = start.elapsed();
    let stdout = out.join().expect("stdout");
    let stderr = err.join().expect("stderr");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let code = status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal ({status}); stderr: {stderr}"));
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr: {stderr}"));
    (code, report, took)
}

/// Exit 2, an error diagnostic with `code` on `file` at `line` whose message contains `says`,
/// and the good manifest's finding.
pub fn assert_stopped(files: &[(&str, Vec<u8>)], code: &str, file: &str, line: u64, says: &str) {
    assert_stopped_in(files, code, file, line..=line, says);
}

/// [`assert_stopped`] with the diagnostic on any line of `lines`.
pub fn assert_stopped_in(
    files: &[(&str, Vec<u8>)],
    code: &str,
    file: &str,
    lines: std::ops::RangeInclusive<u64>,
    says: &str,
) {
    let dir = tree(files);
    let (exit, report, took) = scan(dir.path());
    let diags = report["diagnostics"].as_array().expect("diagnostics");
    let hit = diags.iter().find(|d| {
        d["code"] == code
            && d["file"] == file
            && d["level"] == "error"
            && d["pos"]["line"]
                .as_u64()
                .is_some_and(|l| lines.contains(&l))
            && d["message"].as_str().is_some_and(|m| m.contains(says))
    });
    assert!(
        hit.is_some(),
        "no `{code}` error on {file}:{lines:?} saying {says:?}; diagnostics: {:#}",
        report["diagnostics"]
    );
    assert_eq!(
        exit, 2,
        "exit code; diagnostics: {:#}",
        report["diagnostics"]
    );
    let good = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .any(|f| f["rule_id"] == "BA110" && f["file"] == "good.yaml" && f["start_line"] == 7);
    assert!(good, "the good manifest was not checked: {report:#}");
    eprintln!("{file}: stopped in {took:?}");
}
