//! Repository benchmark: a deploy tree shaped like the ones platform teams keep, generated
//! here (kustomize bases shared by 20 overlays and 3 components, a Helm chart, plain
//! manifests and Terraform). Times `blogaudit scan` cold (empty render cache) and warm
//! against a bare parse of the same files, with peak RSS, the number of `kubectl kustomize`
//! runs and the number of results.
//!
//! `cargo bench --bench repo` — env: `BENCH_RUNS` (default 3), `BENCH_BIN` (another
//! blogaudit binary to measure on the same tree, e.g. a build of main), `BENCH_KEEP=DIR`
//! (write the tree to DIR and keep it).
//!
//! `kubectl` is reached through a logging wrapper placed first on PATH, so renders are
//! counted, not guessed. `helm` is used when it is on PATH (the chart is otherwise one
//! warning, and the table says so).

mod common;

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{measure, median};
use std::time::Instant;

use rayon::prelude::*;

const SERVICES: &[&str] = &["api", "web", "worker", "auth", "search", "billing"];
const ENVS: &[&str] = &["dev", "qa", "staging", "prod"];
const REGIONS: &[&str] = &[
    "eu-west-1",
    "eu-central-1",
    "us-east-1",
    "us-west-2",
    "ap-south-1",
];
const PLAIN_FILES: usize = 150;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, text).expect("write");
}

fn deployment(name: &str, hardened: bool) -> String {
    let security = if hardened {
        "        securityContext:\n          runAsNonRoot: true\n          allowPrivilegeEscalation: false\n          readOnlyRootFilesystem: true\n          capabilities:\n            drop: [ALL]\n"
    } else {
        "        securityContext:\n          privileged: false\n"
    };
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app: {name}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      serviceAccountName: {name}
      containers:
      - name: {name}
        image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/{name}:1.4.2
        ports:
        - containerPort: 8080
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
          limits:
            memory: 256Mi
{security}"
    )
}

fn service(name: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector:
    app: {name}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
automountServiceAccountToken: false
"
    )
}

/// Writes the tree; returns how many kustomize roots it has.
fn generate(root: &Path) -> usize {
    // Bases: one per service, each with a generator.
    for (i, s) in SERVICES.iter().enumerate() {
        let d = format!("apps/base/{s}");
        write(
            root,
            &format!("{d}/deployment.yaml"),
            &deployment(s, i % 2 == 0),
        );
        write(root, &format!("{d}/service.yaml"), &service(s));
        write(
            root,
            &format!("{d}/kustomization.yaml"),
            &format!(
                "resources:\n- deployment.yaml\n- service.yaml\nconfigMapGenerator:\n- name: {s}-config\n  literals:\n  - LOG_LEVEL=info\n"
            ),
        );
    }
    // Components: hardening (strategic merge), sidecar (a container), monitoring (JSON 6902).
    write(
        root,
        "apps/components/hardening/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- path: pod-security.yaml\n  target:\n    kind: Deployment\n",
    );
    write(
        root,
        "apps/components/hardening/pod-security.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: any\nspec:\n  template:\n    spec:\n      securityContext:\n        runAsNonRoot: true\n        seccompProfile:\n          type: RuntimeDefault\n",
    );
    write(
        root,
        "apps/components/sidecar/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- path: proxy.yaml\n  target:\n    kind: Deployment\n    name: api\n",
    );
    write(
        root,
        "apps/components/sidecar/proxy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n      - name: proxy\n        image: envoyproxy/envoy:v1.31.0\n",
    );
    write(
        root,
        "apps/components/monitoring/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- target:\n    kind: Deployment\n  patch: |-\n    - op: add\n      path: /spec/template/metadata/annotations\n      value:\n        prometheus.io/scrape: \"true\"\n",
    );
    // Overlays: every environment in every region.
    let mut roots = 0;
    for (e, env) in ENVS.iter().enumerate() {
        for (r, region) in REGIONS.iter().enumerate() {
            let mut k = format!("namespace: {env}\nnamePrefix: {env}-\nresources:\n");
            for s in SERVICES {
                let _ = writeln!(k, "- ../../../base/{s}");
            }
            k.push_str("components:\n- ../../../components/monitoring\n");
            if *env == "prod" || *env == "staging" {
                k.push_str("- ../../../components/hardening\n");
            }
            if (e + r) % 3 == 0 {
                k.push_str("- ../../../components/sidecar\n");
            }
            let _ = write!(
                k,
                "patches:\n- target:\n    kind: Deployment\n    name: web\n  patch: |-\n    - op: replace\n      path: /spec/replicas\n      value: {}\ncommonLabels:\n  region: {region}\n",
                if *env == "prod" { 4 } else { 2 }
            );
            write(
                root,
                &format!("apps/overlays/{env}/{region}/kustomization.yaml"),
                &k,
            );
            roots += 1;
        }
    }
    // A Helm chart.
    write(
        root,
        "charts/frontend/Chart.yaml",
        "apiVersion: v2\nname: frontend\nversion: 0.3.0\n",
    );
    write(
        root,
        "charts/frontend/values.yaml",
        "replicas: 2\nimage: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/frontend:2.0.1\nservice:\n  type: ClusterIP\n",
    );
    write(
        root,
        "charts/frontend/templates/_helpers.tpl",
        "{{- define \"frontend.name\" -}}{{ .Chart.Name }}{{- end }}\n",
    );
    write(
        root,
        "charts/frontend/templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"frontend.name\" . }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels:\n      app: {{ include \"frontend.name\" . }}\n  template:\n    metadata:\n      labels:\n        app: {{ include \"frontend.name\" . }}\n    spec:\n      containers:\n      - name: frontend\n        image: {{ .Values.image }}\n",
    );
    write(
        root,
        "charts/frontend/templates/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ include \"frontend.name\" . }}\nspec:\n  type: {{ .Values.service.type }}\n  selector:\n    app: {{ include \"frontend.name\" . }}\n  ports:\n  - port: 80\n",
    );
    // Plain manifests.
    for i in 0..PLAIN_FILES {
        let name = format!("tool-{i}");
        let mut text = deployment(&name, i % 3 != 0);
        text.push_str("---\n");
        text.push_str(&service(&name));
        write(root, &format!("platform/manifests/{name}.yaml"), &text);
    }
    // Terraform: a root and a module.
    write(
        root,
        "infra/eks/main.tf",
        "module \"cluster\" {\n  source = \"../modules/cluster\"\n  name   = var.name\n}\n\nvariable \"name\" {\n  default = \"blog\"\n}\n",
    );
    write(
        root,
        "infra/modules/cluster/main.tf",
        "variable \"name\" {}\n\nresource \"aws_eks_cluster\" \"this\" {\n  name     = var.name\n  role_arn = \"arn:aws:iam::123456789012:role/eks\"\n  vpc_config {\n    subnet_ids              = [\"subnet-a\", \"subnet-b\", \"subnet-c\"]\n    endpoint_public_access  = false\n    endpoint_private_access = true\n  }\n  enabled_cluster_log_types = [\"api\", \"audit\", \"authenticator\"]\n}\n\nresource \"aws_ecr_repository\" \"app\" {\n  name                 = \"${var.name}-app\"\n  image_tag_mutability = \"IMMUTABLE\"\n  image_scanning_configuration {\n    scan_on_push = true\n  }\n}\n",
    );
    write(root, "blogaudit.toml", "");
    roots
}

/// Reads and parses every YAML and Terraform file of the tree, in parallel: the floor.
fn bare_parse(dir: &Path) -> usize {
    let files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect();
    files
        .par_iter()
        .map(|f| {
            let text = fs::read_to_string(f).unwrap_or_default();
            match f.extension().and_then(|x| x.to_str()) {
                Some("yaml" | "yml") => blogaudit::syntax::yaml::parse_stream(&text).0.len(),
                Some("tf") => usize::from(hcl_edit::parser::parse_body(&text).is_ok()),
                _ => 0,
            }
        })
        .sum()
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

struct Row {
    wall: f64,
    rss: f64,
    renders: usize,
    results: usize,
    code: i32,
}

/// One scan of `tree` with `bin`, the render cache in `cache`; kubectl runs are logged to
/// `log` by the wrapper in `wrap`.
fn scan(bin: &Path, tree: &Path, cache: &Path, wrap: &Path, out: &Path) -> Row {
    let log = wrap.join("log");
    let _ = fs::remove_file(&log);
    let path = std::env::join_paths(std::iter::once(wrap.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let (wall, rss, code) = measure(
        Command::new(bin)
            .args(["scan", ".", "--format", "sarif", "--output"])
            .arg(out)
            .current_dir(tree)
            .env("XDG_CACHE_HOME", cache)
            .env("PATH", path),
    );
    let renders = fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("kustomize"))
        .count();
    let results = fs::read_to_string(out)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["runs"][0]["results"].as_array().map(Vec::len))
        .unwrap_or(0);
    Row {
        wall,
        rss,
        renders,
        results,
        code,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let tmp = tempfile::tempdir().expect("temp dir");
    let tree =
        std::env::var_os("BENCH_KEEP").map_or_else(|| tmp.path().join("repo"), PathBuf::from);
    let roots = generate(&tree);
    let files = walkdir::WalkDir::new(&tree)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .count();
    let real = which("kubectl").expect("kubectl on PATH (it renders the kustomizations)");
    let wrap = tmp.path().join("wrap");
    fs::create_dir_all(&wrap).expect("mkdir");
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
        wrap.join("log").display(),
        real.display()
    );
    fs::write(wrap.join("kubectl"), script).expect("write wrapper");
    fs::set_permissions(wrap.join("kubectl"), fs::Permissions::from_mode(0o755)).expect("chmod");

    println!(
        "repository tree: {files} files, {} kustomizations ({roots} overlays are roots), 1 Helm chart{}, {PLAIN_FILES} plain manifest files, Terraform\n",
        SERVICES.len() + 3 + roots,
        if which("helm").is_some() {
            " (rendered: helm is on PATH)"
        } else {
            " (not rendered: no helm on PATH, one warning)"
        }
    );
    let parse: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(bare_parse(&tree));
            t.elapsed().as_secs_f64()
        })
        .collect();
    let floor = median(parse);
    println!("| binary | scan | median wall (s) | × bare parse | peak RSS (MB) | kubectl renders | results | exit |");
    println!("|---|---|---|---|---|---|---|---|");
    println!("| - | bare parse of every YAML and .tf file (in-process) | {floor:.3} | 1.0 | - | - | - | - |");
    let mut bins = vec![(
        "this build".to_string(),
        PathBuf::from(env!("CARGO_BIN_EXE_blogaudit")),
    )];
    if let Some(other) = std::env::var_os("BENCH_BIN") {
        bins.push((
            format!("BENCH_BIN ({})", Path::new(&other).display()),
            PathBuf::from(other),
        ));
    }
    for (label, bin) in bins {
        let out = tmp.path().join("out.sarif");
        let mut cold = Vec::new();
        let mut warm = Vec::new();
        for i in 0..runs {
            let cache = tmp
                .path()
                .join(format!("cache-{label}-{i}").replace(['/', ' ', '(', ')'], "_"));
            cold.push(scan(&bin, &tree, &cache, &wrap, &out));
            warm.push(scan(&bin, &tree, &cache, &wrap, &out));
        }
        for (what, rows) in [
            ("cold (empty cache)", cold),
            ("warm (same tree again)", warm),
        ] {
            let wall = median(rows.iter().map(|r| r.wall).collect());
            let rss = rows.iter().map(|r| r.rss).fold(0.0, f64::max);
            let last = rows.last().expect("a run");
            println!(
                "| {label} | {what} | {wall:.3} | {:.1} | {rss:.0} | {} | {} | {} |",
                wall / floor,
                last.renders,
                last.results,
                last.code
            );
        }
    }
}
