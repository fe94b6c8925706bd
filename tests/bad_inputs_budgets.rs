//! Budgets on hostile input: each case is a small file that would take gigabytes or minutes if
//! evaluated naively. Each must end quickly, within a memory bound, with an error diagnostic at
//! the expression (file and line) that went over, exit code 2, and the good manifest beside it
//! still checked.
//!
//! The binary runs under `prlimit --as` (address space), so a blow-up fails the test as a crash
//! instead of swapping the machine.

#![cfg(target_os = "linux")]

#[path = "bad_inputs/harness.rs"]
mod harness;

use harness::{assert_stopped, assert_stopped_in, scan, scan_with, tree};

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

const SLOW_RULE: &str = r#"# METADATA
# title: A rule that loops for a long time
# description: |
#   ## What it checks
#   Nothing useful: it counts nine million products.
#   ## Why it matters
#   A test of the rule time limit.
#   ## How to fix
#   Nothing.
#   ## References
#   - https://example.com
# custom:
#   id: BA902
#   name: slow-rule
#   severity: low
#   category: security
#   sources: [M]
#   kinds: [Service]
#   remediation: Nothing.
package blogaudit.BA902

import rego.v1

violation contains v if {
	n := count([x | some i in numbers.range(1, 3000); some j in numbers.range(1, 3000); x := i * j])
	n < 0
	v := {"path": ["metadata", "name"], "message": "never"}
}
"#;

#[test]
fn a_user_rule_that_runs_too_long_is_a_rule_error_and_the_others_go_on() {
    let dir = tree(&[("my-rules/BA902-slow-rule/rule.rego", SLOW_RULE.into())]);
    let (exit, report, took) = scan_with(dir.path(), &["--rules", "my-rules"]);
    let diags = report["diagnostics"].as_array().expect("diagnostics");
    assert!(
        diags.iter().any(|d| d["code"] == "rule-error"
            && d["message"].as_str().is_some_and(|m| m.contains("BA902"))),
        "{diags:#?}"
    );
    assert_eq!(exit, 2);
    let good = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .any(|f| f["rule_id"] == "BA110" && f["file"] == "good.yaml");
    assert!(good, "the other rules still ran: {report:#}");
    eprintln!("slow rule stopped; the scan took {took:?}");
}
