//! Memory benchmark (issue 19): peak RSS of `blogaudit scan` (the release binary) on the two
//! inputs where memory grew with the findings, with SARIF and JSON out:
//!
//! - one large manifest: N copies of a Deployment that breaks 18 rules (default 128,000
//!   copies, about 59 MB, under the 64 MiB file limit; about 2.3 million findings);
//! - many small files: M files of one such Deployment each (default 100,000 files, 1,000 per
//!   directory; about 1.8 million findings).
//!
//! Prints a table of input size, peak RSS, its ratio to the input, wall time and exit code,
//! against the aims (peak ≤ 5× the input for the large file, ≤ 300 MB for the small files).
//!
//! `cargo bench --bench memory` — env: `BENCH_DEPLOYMENTS` (default 128000), `BENCH_FILES`
//! (default 100000), `BENCH_FORMATS` (default `sarif,json`), `BENCH_RUNS` (default 1: the
//! median wall and the highest peak of the runs), `BENCH_BIN` (another build to measure, e.g.
//! main's, on the same inputs). At the defaults one run takes about a minute on the 2-core
//! machine, four minutes in all.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{measure, median};

/// A Deployment that breaks 18 rules (root, privileged, escalation, no probes, limits,
/// `latest` from docker.io, no ServiceAccount, no HPA, PDB or NetworkPolicy …), named `NAME`.
const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: NAME
  namespace: blog
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:latest
          securityContext:
            privileged: true
            allowPrivilegeEscalation: true
            runAsUser: 0
          ports:
            - containerPort: 80
";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// One file of `n` Deployments; returns its size in bytes.
fn one_large_file(path: &Path, n: usize) -> u64 {
    let mut text = String::with_capacity(n * (DEPLOYMENT.len() + 16));
    for i in 0..n {
        text.push_str("---\n");
        text.push_str(&DEPLOYMENT.replace("NAME", &format!("web-{i}")));
    }
    std::fs::write(path, &text).expect("write the large manifest");
    text.len() as u64
}

/// `n` files of one Deployment each, 1,000 per directory; returns their size in bytes.
fn many_small_files(dir: &Path, n: usize) -> u64 {
    let mut total = 0;
    for i in 0..n {
        let sub = dir.join(format!("d{:03}", i / 1000));
        if i % 1000 == 0 {
            std::fs::create_dir_all(&sub).expect("create a directory");
        }
        let text = DEPLOYMENT.replace("NAME", &format!("web-{i}"));
        std::fs::write(sub.join(format!("w{i}.yaml")), &text).expect("write a small file");
        total += text.len() as u64;
    }
    total
}

/// Bytes in MB as `measure` counts RSS (2^20 bytes).
#[allow(clippy::cast_precision_loss)]
fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let bin = std::env::var("BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_blogaudit").into());
    let deployments = env_or("BENCH_DEPLOYMENTS", 128_000);
    let files = env_or("BENCH_FILES", 100_000);
    let runs = env_or("BENCH_RUNS", 1).max(1);
    let formats: Vec<String> = std::env::var("BENCH_FORMATS")
        .unwrap_or_else(|_| "sarif,json".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let tmp = tempfile::Builder::new()
        .prefix("blogaudit-bench-memory-")
        .tempdir()
        .expect("temp dir");
    let large = tmp.path().join("large.yaml");
    let small = tmp.path().join("small");
    let inputs: [(String, PathBuf, u64, f64); 2] = [
        (
            format!("1 file, {deployments} Deployments"),
            large.clone(),
            one_large_file(&large, deployments),
            // Aim: ≤ 5× the input.
            5.0,
        ),
        (
            format!("{files} files, 1 Deployment each"),
            small.clone(),
            many_small_files(&small, files),
            // Aim: ≤ 300 MB, whatever the input.
            0.0,
        ),
    ];
    println!("binary: {bin}\n");
    println!("| input | input size (MB) | format | peak RSS (MB) | RSS / input | wall (s) | exit | aim |");
    println!("|---|---|---|---|---|---|---|---|");
    for (label, path, size, ratio_aim) in &inputs {
        for format in &formats {
            let out = tmp.path().join(format!("out.{format}"));
            let mut walls = Vec::new();
            let mut rss = 0f64;
            let mut code = 0;
            for _ in 0..runs {
                let (w, r, c) = measure(
                    // A whole scan each run: the scan cache would answer the runs after the
                    // first.
                    Command::new(&bin)
                        .arg("scan")
                        .arg("--no-cache")
                        .arg(path)
                        .args(["--format", format, "--output"])
                        .arg(&out),
                );
                walls.push(w);
                rss = rss.max(r);
                code = c;
            }
            let wall = median(walls);
            let input = mb(*size);
            let aim_mb = if *ratio_aim > 0.0 {
                ratio_aim * input
            } else {
                300.0
            };
            let met = if rss <= aim_mb { "met" } else { "not met" };
            println!(
                "| {label} | {input:.1} | {format} | {rss:.0} | {:.1}× | {wall:.1} | {code} | ≤ {aim_mb:.0} MB: {met} |",
                rss / input
            );
        }
    }
}
