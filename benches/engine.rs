//! Engine benchmark: the rule stage alone, in process, on a generated tree (10k Kubernetes
//! objects plus Terraform by default).
//!
//! - preparing: the data document built from the inventory (what the webhook rebuilds when
//!   its cache changes);
//! - every rule over every resource (`evaluate_all`), compiled (RVM) and interpreted;
//! - one object under review against the whole inventory (`evaluate_one`): each Deployment of
//!   the tree in turn, as the admission webhook would see it; p50 and p99 per review. The
//!   webhook's budget is 100 µs at p99. The same reviews with each rule run on its own and
//!   timed (`evaluate_one_timed`) give the slowest rules; and both once more on the
//!   Deployments as the webhook receives them (objects of no file, so no shape check).
//!
//! `cargo bench --bench engine` — env: `BENCH_SIZE` (default 10000), `BENCH_RUNS` (default
//! 3), `BENCH_REVIEW_ROUNDS` (default 20). The tree comes from the project's `tools/gentree.py`;
//! without it the bench says so and stops.

mod common;

/// The allocator the `blogaudit` binary runs with, so that this measures what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use blogaudit::engine::Prepared;
use blogaudit::model::{Inventory, Origin, Resource, ResourceRef};
use blogaudit::rules::RuleSet;
use common::{env_or, percentile};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn generate(out: &Path, k8s: u32) -> bool {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/gentree.py");
    if !script.is_file() {
        println!(
            "{} is absent: this bench needs the tree generator",
            script.display()
        );
        return false;
    }
    Command::new("python3")
        .arg(script)
        .args([
            "--out",
            &out.display().to_string(),
            "--k8s-resources",
            &k8s.to_string(),
        ])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let size: u32 = env_or("BENCH_SIZE", 10_000);
    let runs: u32 = env_or("BENCH_RUNS", 3);
    let rounds: u32 = env_or("BENCH_REVIEW_ROUNDS", 20);
    let tmp = tempfile::Builder::new()
        .prefix("blogaudit-bench-")
        .tempdir()
        .expect("temp dir");
    let dir = tmp.path().join("corpus");
    if !generate(&dir, size) {
        return;
    }
    let loaded = blogaudit::source::load_with(
        std::slice::from_ref(&dir),
        tmp.path(),
        &blogaudit::source::terraform::TerraformOptions::default(),
    );
    let inventory = Inventory::new(loaded.resources);
    let config = blogaudit::config::Config::default().rego_data();
    let (compiled, diags) = RuleSet::load(None);
    assert!(diags.is_empty(), "built-in rules load");
    let interpreted = compiled.interpreted();
    println!(
        "{} resources ({size} Kubernetes objects requested), {} rules\n",
        inventory.resources.len(),
        compiled.rules.len()
    );
    println!("| what | compiled (RVM) | interpreter |");
    println!("|---|---|---|");

    let prepare: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(Prepared::new(&compiled, &inventory, &config));
            t.elapsed()
        })
        .collect();
    println!(
        "| prepare (data document, parallel) | {:.1} ms | (same) |",
        median(prepare).as_secs_f64() * 1e3
    );

    let mut all = Vec::new();
    let mut reviews = Vec::new();
    let mut timed = Vec::new();
    let mut per_rule_lines = Vec::new();
    for rules in [&compiled, &interpreted] {
        let prepared = Prepared::new(rules, &inventory, &config);
        let times: Vec<Duration> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                let e = prepared.evaluate_all(&inventory);
                let spent = t.elapsed();
                std::hint::black_box(e.findings.len());
                spent
            })
            .collect();
        all.push(median(times));
        let deployments: Vec<_> = inventory
            .resources
            .iter()
            .filter(|r| r.kind == "Deployment")
            .collect();
        let mut latencies = Vec::with_capacity(deployments.len() * rounds as usize);
        let mut one_by_one = Vec::with_capacity(deployments.len() * rounds as usize);
        let mut spent = vec![Duration::ZERO; prepared.rule_ids().len()];
        for _ in 0..rounds {
            for d in &deployments {
                let t = Instant::now();
                std::hint::black_box(prepared.evaluate_one(d));
                latencies.push(t.elapsed());
                let t = Instant::now();
                std::hint::black_box(prepared.evaluate_one_timed(d, &mut spent));
                one_by_one.push(t.elapsed());
            }
        }
        latencies.sort();
        one_by_one.sort();
        let count = latencies.len().max(1) as f64;
        let mut per_rule: Vec<(&str, Duration)> =
            prepared.rule_ids().into_iter().zip(spent).collect();
        per_rule.sort_by_key(|r| std::cmp::Reverse(r.1));
        per_rule.truncate(8);
        per_rule_lines.push(
            per_rule
                .iter()
                .map(|(id, t)| format!("{id} {:.1} µs", t.as_secs_f64() * 1e6 / count))
                .collect::<Vec<_>>()
                .join(", "),
        );
        reviews.push(latencies);
        timed.push(one_by_one);
    }
    println!(
        "| evaluate_all ({} resources) | {:.1} ms | {:.1} ms |",
        inventory.resources.len(),
        all[0].as_secs_f64() * 1e3,
        all[1].as_secs_f64() * 1e3
    );
    for (label, p) in [("p50", 0.5), ("p99", 0.99)] {
        println!(
            "| evaluate_one (a Deployment under review), {label} | {:.0} µs | {:.0} µs |",
            percentile(&reviews[0], p).as_secs_f64() * 1e6,
            percentile(&reviews[1], p).as_secs_f64() * 1e6
        );
    }
    for (label, p) in [("p50", 0.5), ("p99", 0.99)] {
        println!(
            "| evaluate_one_timed (each rule on its own, timed), {label} | {:.0} µs | {:.0} µs |",
            percentile(&timed[0], p).as_secs_f64() * 1e6,
            percentile(&timed[1], p).as_secs_f64() * 1e6
        );
    }
    println!(
        "\n{} reviews per evaluator; webhook budget: 100 µs at p99",
        reviews[0].len()
    );
    // The same Deployments as the webhook receives them: objects of no file, whose field
    // types the API server has checked already (no shape check).
    let prepared = Prepared::new(&compiled, &inventory, &config);
    let objects: Vec<Resource> = inventory
        .resources
        .iter()
        .filter(|r| r.kind == "Deployment")
        .map(|r| {
            let mut r = r.clone();
            r.origin = Origin::Object {
                reference: ResourceRef::of(&r).to_string(),
            };
            r
        })
        .collect();
    let mut together = Vec::with_capacity(objects.len() * rounds as usize);
    let mut alone = Vec::with_capacity(objects.len() * rounds as usize);
    let mut spent = vec![Duration::ZERO; prepared.rule_ids().len()];
    for _ in 0..rounds {
        for o in &objects {
            let t = Instant::now();
            std::hint::black_box(prepared.evaluate_one(o));
            together.push(t.elapsed());
            let t = Instant::now();
            std::hint::black_box(prepared.evaluate_one_timed(o, &mut spent));
            alone.push(t.elapsed());
        }
    }
    together.sort();
    alone.sort();
    println!(
        "as the webhook receives them (compiled): evaluate_one p50 {:.0} µs, p99 {:.0} µs; each rule on its own p50 {:.0} µs, p99 {:.0} µs",
        percentile(&together, 0.5).as_secs_f64() * 1e6,
        percentile(&together, 0.99).as_secs_f64() * 1e6,
        percentile(&alone, 0.5).as_secs_f64() * 1e6,
        percentile(&alone, 0.99).as_secs_f64() * 1e6,
    );
    for (label, line) in ["compiled", "interpreter"].iter().zip(&per_rule_lines) {
        println!("slowest rules per review, run on their own ({label}): {line}");
    }
}
