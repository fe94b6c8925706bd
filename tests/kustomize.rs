//! Kustomize trees as repositories keep them: bases shared by overlays, components, patches
//! and generators. Only roots are rendered; every finding appears once, at the file and field
//! a user edits, naming the roots that produce it; the render cache makes a re-scan run no
//! kubectl.
//!
//! Every test runs the real binary on a temporary tree with its own cache directory, and
//! with `kubectl` reached through a logging wrapper so that renders can be counted.

#![cfg(unix)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
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
        image: nginx:1.27
        securityContext:
          privileged: true
";

/// A base used by four overlays and a component:
/// - `a` and `c` prefix names, `b` and `d` do not;
/// - `b` patches `privileged` to false (an inline JSON 6902 patch): a different outcome;
/// - `c` takes the component, whose patch file sets `hostNetwork`;
/// - `d` adds `hostPID` with an inline patch.
const TREE: &[(&str, &str)] = &[
    ("base/deployment.yaml", DEPLOYMENT),
    (
        "base/kustomization.yaml",
        "# the shared base\nresources:\n- deployment.yaml\n",
    ),
    (
        "overlays/a/kustomization.yaml",
        "namePrefix: a-\nnamespace: a\nresources:\n- ../../base\n",
    ),
    (
        "overlays/b/kustomization.yaml",
        "\
namespace: b
resources:
- ../../base
patches:
- target:
    kind: Deployment
    name: web
  patch: |-
    - op: replace
      path: /spec/template/spec/containers/0/securityContext/privileged
      value: false
",
    ),
    (
        "overlays/c/kustomization.yaml",
        "namePrefix: c-\nnamespace: c\nresources:\n- ../../base\ncomponents:\n- ../../components/host\n",
    ),
    (
        "overlays/d/kustomization.yaml",
        "\
namespace: d
resources:
- ../../base
patches:
- target:
    kind: Deployment
  patch: |-
    - op: add
      path: /spec/template/spec/hostPID
      value: true
",
    ),
    (
        "components/host/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- path: host.yaml\n",
    ),
    (
        "components/host/host.yaml",
        "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      hostNetwork: true
",
    ),
    ("blogaudit.toml", ""),
];

struct Env {
    tree: TempDir,
    cache: TempDir,
    bin: TempDir,
}

impl Env {
    fn new(files: &[(&str, &str)]) -> Self {
        let tree = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            write(tree.path(), name, text);
        }
        let bin = tempfile::tempdir().expect("tempdir");
        let real = which("kubectl").expect("kubectl is on PATH (it renders kustomizations)");
        let script = format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            bin.path().join("log").display(),
            real.display()
        );
        let wrapper = bin.path().join("kubectl");
        fs::write(&wrapper, script).expect("write kubectl wrapper");
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).expect("chmod");
        Self {
            tree,
            cache: tempfile::tempdir().expect("tempdir"),
            bin,
        }
    }

    /// `blogaudit scan . ARGS` in the tree: exit code, standard output.
    fn scan(&self, args: &[&str]) -> (i32, String) {
        self.scan_at(".", args)
    }

    /// A scan of `path` (relative to the tree), from the tree's root.
    fn scan_at(&self, path: &str, args: &[&str]) -> (i32, String) {
        let (code, stdout, _) = self.run_at(path, args);
        (code, stdout)
    }

    /// Whether a scan of `path` reuses an earlier scan's results (what `--verbose` says).
    fn reuses(&self, path: &str) -> bool {
        let (_, _, stderr) = self.run_at(path, &["--verbose", "--format", "json"]);
        stderr.contains("its results were reused")
    }

    /// A scan of `path`: exit code, standard output and standard error.
    fn run_at(&self, path: &str, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_blogaudit"))
            .arg("scan")
            .arg(path)
            .args(args)
            .current_dir(self.tree.path())
            .env("XDG_CACHE_HOME", self.cache.path())
            .env("PATH", self.bin.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("blogaudit runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn json(&self, extra: &[&str]) -> (i32, Value) {
        self.json_at(".", extra)
    }

    fn json_at(&self, path: &str, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["--format", "json"];
        args.extend(extra);
        let (code, out) = self.scan_at(path, &args);
        let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
        (code, v)
    }

    /// The entries of the scan cache.
    fn scan_entries(&self) -> usize {
        fs::read_dir(self.cache.path().join("blogaudit/scan")).map_or(0, Iterator::count)
    }

    /// The `kubectl kustomize` runs so far.
    fn renders(&self) -> usize {
        fs::read_to_string(self.bin.path().join("log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("kustomize"))
            .count()
    }

    fn kubectl_runs(&self) -> usize {
        fs::read_to_string(self.bin.path().join("log"))
            .unwrap_or_default()
            .lines()
            .count()
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `(rule, file, line, column, roots)` of every finding with `rule`.
fn placed(report: &Value, rule: &str) -> Vec<(String, u64, u64, Vec<String>)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .map(|f| {
            (
                f["file"].as_str().unwrap_or_default().to_string(),
                f["start_line"].as_u64().unwrap_or(0),
                f["start_column"].as_u64().unwrap_or(0),
                f["roots"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn roots(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_string()).collect()
}

fn note(report: &Value) -> String {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["code"] == "kustomize-roots")
        .and_then(|d| d["message"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn only_roots_are_rendered_and_each_place_is_reported_once() {
    let env = Env::new(TREE);
    let (code, report) = env.json(&[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["summary"]["errors"], 0, "{report:#}");
    // Four overlays are roots; the base and the component are not rendered alone.
    assert_eq!(env.renders(), 4);
    assert!(note(&report).starts_with("kustomize: 4 root(s) rendered, 0 from the render cache"));
    let s = |x: &str| x.to_string();
    assert_eq!(
        placed(&report, "BA104"),
        [
            // The base's field, once, for the three overlays that keep it (b patches it).
            (
                s("base/deployment.yaml"),
                19,
                11,
                roots(&["overlays/a", "overlays/c", "overlays/d"])
            ),
            // Set by the component's patch file: the patch's field.
            (s("components/host/host.yaml"), 8, 7, roots(&["overlays/c"])),
            // Set by an inline patch: its `value` line inside the kustomization.
            (
                s("overlays/d/kustomization.yaml"),
                10,
                7,
                roots(&["overlays/d"])
            ),
        ]
    );
    // A finding that every overlay gives is one finding with four roots.
    assert_eq!(
        placed(&report, "BA160"),
        [(
            s("base/deployment.yaml"),
            17,
            9,
            roots(&["overlays/a", "overlays/b", "overlays/c", "overlays/d"])
        )]
    );
    let findings = report["findings"].as_array().expect("findings");
    let mut seen = std::collections::HashSet::new();
    for f in findings {
        // Nothing at a kustomization's first line, and no (rule, place, path) twice.
        assert!(
            !(f["file"]
                .as_str()
                .unwrap_or_default()
                .ends_with("kustomization.yaml")
                && f["start_line"] == 1),
            "{f:#}"
        );
        let key = (
            f["rule_id"].clone(),
            f["file"].clone(),
            f["start_line"].clone(),
            f["start_column"].clone(),
            f["path"].clone(),
        );
        assert!(seen.insert(key), "reported twice: {f:#}");
        assert!(!f["roots"].as_array().expect("roots").is_empty(), "{f:#}");
    }
}

#[test]
fn the_fingerprint_does_not_depend_on_the_roots() {
    let env = Env::new(TREE);
    let fingerprint = |report: &Value| -> String {
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["rule_id"] == "BA160")
            .map(|f| f["fingerprint"].as_str().unwrap_or_default().to_string())
            .expect("BA160")
    };
    let (_, all) = env.json(&[]);
    fs::remove_dir_all(env.tree.path().join("overlays/a")).expect("rm");
    fs::remove_dir_all(env.tree.path().join("overlays/c")).expect("rm");
    let (_, fewer) = env.json(&[]);
    assert_eq!(
        placed(&fewer, "BA160")[0].3,
        roots(&["overlays/b", "overlays/d"])
    );
    assert_eq!(fingerprint(&all), fingerprint(&fewer));
}

#[test]
fn sarif_names_the_roots_of_a_result() {
    let env = Env::new(TREE);
    let (_, out) = env.scan(&["--format", "sarif"]);
    let sarif: Value = serde_json::from_str(&out).expect("SARIF is JSON");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "BA160")
        .expect("BA160 result");
    assert_eq!(
        r["properties"]["roots"],
        serde_json::json!(["overlays/a", "overlays/b", "overlays/c", "overlays/d"])
    );
    assert_eq!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "base/deployment.yaml"
    );
    assert_eq!(results.iter().filter(|r| r["ruleId"] == "BA160").count(), 1);
}

#[test]
fn generated_objects_point_at_their_generator_entry() {
    let env = Env::new(&[
        (
            "gen/kustomization.yaml",
            "\
# generated objects only
namespace: default
configMapGenerator:
- name: settings
  literals:
  - mode=fast
secretGenerator:
- name: creds
  literals:
  - password=gen-LEAKME
",
        ),
        ("blogaudit.toml", ""),
    ]);
    let (code, out) = env.scan(&["--format", "json"]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("gen-LEAKME"), "{out}");
    // The render cache holds the objects as the rules see them: Secret values redacted.
    let cache = env.cache.path().join("blogaudit/kustomize");
    let entries: Vec<_> = fs::read_dir(&cache)
        .expect("cache written")
        .flatten()
        .collect();
    assert!(entries.len() >= 2, "an entry and the kubectl version");
    for e in entries {
        let text = fs::read_to_string(e.path()).unwrap_or_default();
        assert!(
            !text.contains("gen-LEAKME"),
            "{}: {text}",
            e.path().display()
        );
    }
    let mode = fs::metadata(&cache)
        .expect("cache dir")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "the cache is private: {mode:o}");
    let report: Value = serde_json::from_str(&out).expect("JSON");
    let s = |x: &str| x.to_string();
    assert_eq!(
        placed(&report, "BA170"),
        [
            (s("gen/kustomization.yaml"), 4, 3, roots(&["gen"])),
            (s("gen/kustomization.yaml"), 8, 3, roots(&["gen"])),
        ]
    );
}

#[test]
fn a_warm_rescan_runs_no_kubectl() {
    let env = Env::new(TREE);
    let (_, cold) = env.json(&["--verbose"]);
    assert_eq!(env.renders(), 4);
    let runs = env.kubectl_runs();
    // Nothing changed: the scan cache gives the same report, and nothing is rendered.
    let (_, warm) = env.json(&["--verbose"]);
    assert_eq!(env.kubectl_runs(), runs, "a warm scan ran kubectl");
    assert_eq!(cold, warm);
    assert!(env.reuses("."));

    // A new file is a change: the tree is scanned again, its roots from the render cache.
    write(env.tree.path(), "README.md", "# deploy\n");
    let (_, _, stderr) = env.run_at(".", &["--verbose", "--format", "json"]);
    assert!(!stderr.contains("its results were reused"), "{stderr}");
    assert_eq!(env.kubectl_runs(), runs, "a render-cache scan ran kubectl");
    let (_, rescanned) = env.json(&["--verbose"]);
    assert!(
        note(&rescanned).starts_with("kustomize: 4 root(s) rendered, 4 from the render cache"),
        "{}",
        note(&rescanned)
    );
    assert_eq!(cold["findings"], rescanned["findings"]);

    // Changing a file the base reads renders the roots that read it again.
    let moved = format!("# moved down a line\n{DEPLOYMENT}");
    write(env.tree.path(), "base/deployment.yaml", &moved);
    let (_, changed) = env.json(&[]);
    assert_eq!(env.renders(), 8);
    assert_eq!(placed(&changed, "BA160")[0].1, 18);
    // Changing a patch only re-renders the root that uses it.
    write(
        env.tree.path(),
        "components/host/host.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      hostIPC: true\n",
    );
    let (_, patched) = env.json(&[]);
    assert_eq!(env.renders(), 9);
    assert!(
        note(&patched).contains("3 from the render cache"),
        "{}",
        note(&patched)
    );

    // --no-cache renders every root, reuses no results and keeps nothing new.
    let entries =
        || fs::read_dir(env.cache.path().join("blogaudit/kustomize")).map_or(0, Iterator::count);
    let before = (entries(), env.scan_entries());
    let (_, _, stderr) = env.run_at(".", &["--no-cache", "--verbose"]);
    assert_eq!(env.renders(), 13);
    assert_eq!((entries(), env.scan_entries()), before);
    assert!(!stderr.contains("its results were reused"), "{stderr}");
}

#[test]
fn an_unchanged_scan_writes_the_same_reports_and_exits_the_same() {
    let env = Env::new(TREE);
    for fail_on in ["low", "high", "critical", "never"] {
        // Only the render cache's note differs from a scan without caches.
        let (fresh_code, _) = env.scan(&["--format", "sarif", "--no-cache", "--fail-on", fail_on]);
        let first = env.scan(&["--format", "sarif", "--fail-on", fail_on]);
        let again = env.scan(&["--format", "sarif", "--fail-on", fail_on]);
        assert_eq!(first.0, fresh_code, "--fail-on {fail_on}");
        assert_eq!(again, first, "--fail-on {fail_on}");
    }
    // Two reports of one scan, one on standard output and one in a file, both kept.
    let file = env.cache.path().join("report.json");
    let file = file.to_str().expect("UTF-8 path");
    let (code, sarif) = env.scan(&[
        "--format",
        "sarif",
        "--output-format",
        &format!("json={file}"),
    ]);
    let json = fs::read_to_string(file).expect("JSON report");
    let (again_code, again_sarif) = env.scan(&[
        "--format",
        "sarif",
        "--output-format",
        &format!("json={file}"),
    ]);
    assert_eq!((again_code, again_sarif), (code, sarif));
    assert_eq!(fs::read_to_string(file).expect("JSON report"), json);
    let _ = fs::remove_file(file);
    // A changed input is scanned again, and the reports follow it.
    let moved = format!("# moved down a line\n{DEPLOYMENT}");
    write(env.tree.path(), "base/deployment.yaml", &moved);
    let (_, changed) = env.json(&[]);
    assert_eq!(placed(&changed, "BA160")[0].1, 18);
}

#[test]
fn the_scan_cache_sees_a_base_outside_the_scanned_path() {
    let env = Env::new(TREE);
    let (_, cold) = env.json_at("overlays/a", &[]);
    assert_eq!(placed(&cold, "BA160")[0].1, 17);
    assert!(env.reuses("overlays/a"));
    // The base is outside `overlays/a`, and a scan of it reads it: a change is seen.
    let moved = format!("# moved down a line\n{DEPLOYMENT}");
    write(env.tree.path(), "base/deployment.yaml", &moved);
    assert!(!env.reuses("overlays/a"));
    let (_, changed) = env.json_at("overlays/a", &[]);
    assert_eq!(placed(&changed, "BA160")[0].1, 18);
}

#[test]
fn the_scan_cache_sees_a_terraform_module_outside_the_scanned_path() {
    let repo = |scan_on_push: bool| {
        format!("resource \"aws_ecr_repository\" \"api\" {{\n  name = \"api\"\n  image_tag_mutability = \"IMMUTABLE\"\n  image_scanning_configuration {{\n    scan_on_push = {scan_on_push}\n  }}\n}}\n")
    };
    let env = Env::new(&[
        (
            "stack/main.tf",
            "module \"registry\" {\n  source = \"../modules/registry\"\n}\n",
        ),
        ("modules/registry/main.tf", &repo(false)),
        ("blogaudit.toml", ""),
    ]);
    let rules = |report: &Value| -> Vec<String> {
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["rule_id"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let (_, cold) = env.json_at("stack", &[]);
    assert!(rules(&cold).contains(&"BA210".to_string()), "{cold:#}");
    assert!(env.reuses("stack"));
    write(env.tree.path(), "modules/registry/main.tf", &repo(true));
    assert!(!env.reuses("stack"));
    let (_, fixed) = env.json_at("stack", &[]);
    assert!(!rules(&fixed).contains(&"BA210".to_string()), "{fixed:#}");
}

#[test]
fn a_scan_with_an_error_is_not_kept() {
    let env = Env::new(&[
        ("broken.yaml", "kind: Service\nmetadata: [unclosed\n"),
        ("blogaudit.toml", ""),
    ]);
    let (code, _) = env.json(&[]);
    assert_eq!(code, 2);
    assert_eq!(env.scan_entries(), 0);
    assert!(!env.reuses("."));
    assert_eq!(env.scan_entries(), 0);
}

#[test]
fn a_remote_resource_is_never_cached() {
    let env = Env::new(&[
        (
            "remote/kustomization.yaml",
            "resources:\n- https://blogaudit.invalid/deploy.yaml\n",
        ),
        ("blogaudit.toml", ""),
    ]);
    let (code, report) = env.json(&[]);
    // It cannot be fetched here: a broken input, exit 2, and rendered again each time.
    assert_eq!(code, 2, "{report:#}");
    let (_, _) = env.json(&[]);
    assert_eq!(
        env.renders(),
        4,
        "two scans, each a wrapped and a direct render"
    );
}
