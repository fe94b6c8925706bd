//! Budgets on hostile input: each case is a small file that would take gigabytes or minutes if
//! evaluated naively. Each must end quickly, within a memory bound, with an error diagnostic at
//! the expression (file and line) that went over, exit code 2, and the good manifest beside it
//! still checked.
//!
//! The binary runs under `prlimit --as` (address space), so a blow-up fails the test as a crash
//! instead of swapping the machine.

#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Address space the binary may use in these tests.
const MEMORY_BOUND: u64 = 2 * 1024 * 1024 * 1024;
/// Wall time a case may take.
const TIME_BOUND: Duration = Duration::from_secs(30);

const GOOD: &str = "\
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

fn tree(files: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
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
fn scan(dir: &Path) -> (i32, Value, Duration) {
    let start = Instant::now();
    let mut child = Command::new("prlimit")
        .arg(format!("--as={MEMORY_BOUND}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_blogaudit"))
        .args(["scan", ".", "--format", "json"])
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
fn assert_stopped(files: &[(&str, Vec<u8>)], code: &str, file: &str, line: u64, says: &str) {
    assert_stopped_in(files, code, file, line..=line, says);
}

/// [`assert_stopped`] with the diagnostic on any line of `lines`.
fn assert_stopped_in(
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

#[test]
fn nested_for_over_a_thousand_cubed_is_stopped() {
    let tf = "\
locals {
  a = [for i in range(1000) : i]
  b = length(flatten([for i in local.a : [for j in local.a : [for k in local.a : \"x\"]]]))
}
resource \"aws_s3_bucket\" \"b\" {
  bucket = \"b-${local.b}\"
}
";
    assert_stopped(
        &[("main.tf", tf.into())],
        "terraform-budget",
        "main.tf",
        3,
        "evaluation budget",
    );
}

#[test]
fn module_count_times_resource_count_is_stopped() {
    let root = "\
module \"m\" {
  source = \"./m\"
  count  = 300
}
";
    let child = "\
resource \"aws_s3_bucket\" \"b\" {
  count  = 4000
  bucket = \"b-${count.index}\"
}
";
    assert_stopped(
        &[("main.tf", root.into()), ("m/main.tf", child.into())],
        "terraform-budget",
        "m/main.tf",
        2,
        "evaluation budget",
    );
}

#[test]
fn a_string_doubled_to_half_a_gigabyte_is_stopped() {
    let mut tf = String::from("locals {\n  s0 = \"xxxxxxxxxxxxxxxx\"\n");
    for i in 1..=25 {
        tf.push_str(&format!(
            "  s{i} = \"${{local.s{p}}}${{local.s{p}}}\"\n",
            p = i - 1
        ));
    }
    tf.push_str("}\nresource \"aws_s3_bucket\" \"b\" {\n  bucket = local.s25\n}\n");
    // s22 (line 24) is the first local over 64 MiB (16 B × 2^22); the copies made by the
    // references to the locals before it count too, so the budget may run out a little earlier.
    assert_stopped_in(
        &[("main.tf", tf.into_bytes())],
        "terraform-budget",
        "main.tf",
        18..=24,
        "evaluation budget",
    );
}

#[test]
fn a_twenty_megabyte_tf_file_is_refused() {
    let mut tf = String::with_capacity(21 << 20);
    let mut i = 0;
    while tf.len() < 20 << 20 {
        tf.push_str(&format!(
            "resource \"aws_s3_bucket\" \"b{i}\" {{\n  bucket = \"bucket-number-{i}\"\n}}\n"
        ));
        i += 1;
    }
    assert_stopped(
        &[("big.tf", tf.into_bytes())],
        "too-large",
        "big.tf",
        1,
        "MiB",
    );
}

#[test]
fn count_above_the_limit_is_reported() {
    let tf = "\
resource \"aws_s3_bucket\" \"b\" {
  count  = 5000
  bucket = \"b-${count.index}\"
}
";
    assert_stopped(
        &[("main.tf", tf.into())],
        "terraform-budget",
        "main.tf",
        2,
        "5000",
    );
}

#[test]
fn for_each_above_the_limit_is_reported() {
    let tf = "\
resource \"aws_s3_bucket\" \"b\" {
  for_each = toset(flatten([for i in range(5) : [for j in range(1000) : \"${i}-${j}\"]]))
  bucket   = each.key
}
";
    assert_stopped(
        &[("main.tf", tf.into())],
        "terraform-budget",
        "main.tf",
        2,
        "5000",
    );
}

#[test]
fn missing_local_module_is_an_error() {
    let tf = "\
module \"net\" {
  source = \"./modules/net\"
}
";
    let dir = tree(&[("main.tf", tf.into())]);
    let (exit, report, _) = scan(dir.path());
    let hit = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .any(|d| d["file"] == "main.tf" && d["level"] == "error" && d["pos"]["line"] == 2);
    assert!(hit, "{:#}", report["diagnostics"]);
    assert_eq!(exit, 2);
}

#[test]
fn yaml_aliases_to_a_large_scalar_are_stopped() {
    let mut y = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  k0: &big \"",
    );
    y.push_str(&"x".repeat(1 << 20));
    y.push_str("\"\n");
    for i in 1..2000 {
        y.push_str(&format!("  k{i}: *big\n"));
    }
    // The ninth alias (line 15) takes the copies over 8 MiB.
    assert_stopped(
        &[("big.yaml", y.into_bytes())],
        "yaml-syntax",
        "big.yaml",
        15,
        "bytes",
    );
}
