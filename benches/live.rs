//! Live benchmark: a cluster of about 10,000 objects served by the in-process test API server
//! (`tests/common/kube_api.rs`, as a cluster returns them: status, managedFields, the
//! last-applied annotation), audited end to end by the release binary: discovery, paged
//! lists, rules, SARIF. `blogaudit scan` of the same manifests is timed beside it.
//!
//! `cargo bench --bench live` — env: `BENCH_OBJECTS` (default 10000), `BENCH_RUNS`
//! (default 3). The objects come from the project's `tools/gentree.py` when it is there;
//! otherwise from `samples/blog-broken/k8s` copied into as many namespaces as needed (said
//! on standard error).

mod common;

#[path = "../tests/common/kube_api.rs"]
mod kube_api;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{measure, median};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes about `n` Kubernetes objects under `out` as manifests.
fn tree(out: &Path, n: usize) {
    let gen = root().join("tools/gentree.py");
    if gen.exists() {
        let status = Command::new("python3")
            .arg(&gen)
            .args([
                "--out",
                &out.display().to_string(),
                "--k8s-resources",
                &n.to_string(),
            ])
            .stdout(Stdio::null())
            .status()
            .expect("python3 runs tools/gentree.py");
        assert!(status.success());
        return;
    }
    eprintln!("note: tools/gentree.py is absent; copying samples/blog-broken/k8s");
    let objects = kube_api::manifest_objects(&root().join("samples/blog-broken/k8s"));
    let k8s = out.join("k8s");
    std::fs::create_dir_all(&k8s).expect("create the tree");
    let mut written = 0;
    let mut copy = 0;
    while written < n {
        let mut docs = Vec::new();
        for o in &objects {
            let mut o = o.clone();
            if let Some(ns) = o.pointer("/metadata/namespace").and_then(|v| v.as_str()) {
                o["metadata"]["namespace"] = format!("c{copy}-{ns}").into();
            } else if let Some(name) = o.pointer("/metadata/name").and_then(|v| v.as_str()) {
                let renamed = if o["kind"] == "Namespace" {
                    format!("c{copy}-{name}")
                } else {
                    format!("{name}-c{copy}")
                };
                o["metadata"]["name"] = renamed.into();
            }
            docs.push(serde_json::to_string(&o).expect("JSON"));
            written += 1;
        }
        std::fs::write(k8s.join(format!("copy-{copy}.yaml")), docs.join("\n---\n"))
            .expect("write a copy");
        copy += 1;
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_blogaudit");
    let n: usize = std::env::var("BENCH_OBJECTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("tree");
    tree(&dir, n);
    let k8s = dir.join("k8s");
    let api = kube_api::KubeApi::with_manifests(&k8s);
    let served = api.len();
    let kubeconfig = api.kubeconfig(tmp.path(), "bench", None);
    let out = tmp.path().join("out.sarif");
    println!("| objects | what | median wall (s) | peak RSS (MB) | exit |");
    println!("|---|---|---|---|---|");
    let cases: [(&str, Vec<String>); 2] = [
        (
            "blogaudit live (test API server, SARIF)",
            vec![
                "live".into(),
                "--kubeconfig".into(),
                kubeconfig.display().to_string(),
                "--context".into(),
                "bench".into(),
                "--only".into(),
                "kubernetes".into(),
            ],
        ),
        (
            "blogaudit scan of the same manifests (SARIF)",
            vec![
                "scan".into(),
                "--no-cache".into(),
                k8s.display().to_string(),
            ],
        ),
    ];
    for (label, args) in cases {
        let mut walls = Vec::new();
        let mut rss = 0f64;
        let mut code = 0;
        for _ in 0..runs {
            let (w, r, c) = measure(
                Command::new(bin)
                    .args(&args)
                    .args(["--format", "sarif", "--output"])
                    .arg(&out)
                    .env("HOME", tmp.path()),
            );
            walls.push(w);
            rss = rss.max(r);
            code = c;
        }
        println!(
            "| {served} | {label} | {:.3} | {rss:.0} | {code} |",
            median(walls)
        );
    }
}
