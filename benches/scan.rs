//! Scan benchmark: generates deploy trees with the project's `tools/gentree.py`, then times
//! `blogaudit scan` (the release binary, as users run it) against a bare parallel YAML parse
//! of the same files, the floor any scanner pays. Prints a table of wall time and peak RSS.
//!
//! `cargo bench --bench scan` — env: `BENCH_SIZES` (default `1000,10000`), `BENCH_RUNS`
//! (default 3), `BENCH_PEERS=1` to also time Trivy and Checkov on the same trees in the same
//! run (`BENCH_PEER_RUNS`, default 1). The peers are run by `bench_trivy.py` and
//! `bench_checkov.py` of the design's shared tools, `../shared/tools` beside the clone; the
//! project does not carry them, so without that folder the bench says so and skips them.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{measure, median};
use std::time::Instant;

use rayon::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generate(out: &Path, k8s: u32) {
    let status = Command::new("python3")
        .arg(root().join("tools/gentree.py"))
        .args([
            "--out",
            &out.display().to_string(),
            "--k8s-resources",
            &k8s.to_string(),
        ])
        .stdout(Stdio::null())
        .status()
        .expect("python3 runs tools/gentree.py");
    assert!(status.success());
}

/// The folder of the peer benchmark scripts, when it is beside the clone.
fn peer_tools() -> Option<PathBuf> {
    let dir = root().join("../shared/tools");
    dir.join("bench_trivy.py").is_file().then_some(dir)
}

/// Reads and parses every manifest with spans, in parallel: the floor.
fn bare_parse(dir: &Path) -> usize {
    let files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| {
            matches!(
                e.path().extension().and_then(|x| x.to_str()),
                Some("yaml" | "yml")
            )
        })
        .map(walkdir::DirEntry::into_path)
        .collect();
    files
        .par_iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            blogaudit::syntax::yaml::parse_stream(&text).0.len()
        })
        .sum()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_blogaudit");
    let sizes: Vec<u32> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let peers = std::env::var("BENCH_PEERS").is_ok_and(|v| v == "1");
    let peer_dir = peer_tools();
    match (&peer_dir, peers) {
        (None, _) => println!(
            "Trivy and Checkov: skipped, ../shared/tools (bench_trivy.py, bench_checkov.py) is \
             not beside the clone.\n"
        ),
        (Some(dir), false) => println!(
            "Trivy and Checkov: not run; BENCH_PEERS=1 runs them with {}.\n",
            dir.display()
        ),
        (Some(dir), true) => println!("Trivy and Checkov: run with {}.\n", dir.display()),
    }
    // Not a hidden directory (`tempdir()` makes `/tmp/.tmpXXXX`): Checkov's Kubernetes
    // framework skips every file under a directory whose name starts with a dot.
    let tmp = tempfile::Builder::new()
        .prefix("blogaudit-bench-")
        .tempdir()
        .expect("temp dir");
    println!("| tree | what | median wall (s) | peak RSS (MB) | exit |");
    println!("|---|---|---|---|---|");
    let mut times = Vec::new();
    for &k in &sizes {
        let dir = tmp.path().join(format!("corpus-{k}"));
        generate(&dir, k);
        let k8s = dir.join("k8s");
        let parse: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(bare_parse(&k8s));
                t.elapsed().as_secs_f64()
            })
            .collect();
        println!(
            "| {k} k8s | bare YAML parse with spans (in-process) | {:.3} | - | - |",
            median(parse)
        );
        for (label, target) in [
            ("scan k8s", k8s.clone()),
            ("scan k8s + terraform", dir.clone()),
        ] {
            let mut walls = Vec::new();
            let mut rss = 0f64;
            let mut code = 0;
            for _ in 0..runs {
                let (w, r, c) = measure(
                    // Every run a whole scan: the scan cache would answer the runs after the first.
                    Command::new(bin)
                        .arg("scan")
                        .arg("--no-cache")
                        .arg(&target)
                        .args(["--format", "sarif", "--output"])
                        .arg(tmp.path().join("out.sarif")),
                );
                walls.push(w);
                rss = rss.max(r);
                code = c;
            }
            let m = median(walls);
            if label == "scan k8s" {
                times.push((k, m));
            }
            println!("| {k} k8s | blogaudit {label} (SARIF) | {m:.3} | {rss:.0} | {code} |");
        }
        if let (Some(peer_dir), true) = (&peer_dir, peers) {
            for script in ["bench_trivy.py", "bench_checkov.py"] {
                println!("\n{script} on the {k} tree:\n");
                let out = Command::new("python3")
                    .arg(peer_dir.join(script))
                    .arg(&dir)
                    .arg(format!("{k}"))
                    .env(
                        "RUNS",
                        std::env::var("BENCH_PEER_RUNS").unwrap_or_else(|_| "1".into()),
                    )
                    .output();
                if let Ok(o) = out {
                    println!("{}", String::from_utf8_lossy(&o.stdout));
                }
            }
        }
    }
    if let [(a, ta), .., (b, tb)] = times.as_slice() {
        println!("\nscaling: time({b})/time({a}) = {:.2}", tb / ta);
    }
}
