//! Helpers shared by the integration tests: `# expect:` markers and scans of fixtures.

#![allow(dead_code)]

pub mod https;
pub mod kube_api;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use blogaudit::config::Config;
use blogaudit::pipeline::{run_with, Options, Outcome, Selection};
use blogaudit::rules::RuleSet;

/// The findings of a JSON report that no suppression hides.
pub fn active_findings(report: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["suppression"].is_null())
}

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `(file, line) → rule IDs` of every `# expect: BA101, BA102` marker under `path`.
pub fn expected_markers(path: &Path) -> BTreeMap<(String, u32), Vec<String>> {
    let mut out = BTreeMap::new();
    let files: Vec<PathBuf> = if path.is_file() {
        vec![path.to_path_buf()]
    } else {
        walkdir::WalkDir::new(path)
            .sort_by_file_name()
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .collect()
    };
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let shown = blogaudit::source::display(&file, &root());
        for (i, line) in text.lines().enumerate() {
            if let Some(idx) = line.find("expect:") {
                let before = &line[..idx];
                if !(before.trim_end().ends_with('#') || before.trim_end().ends_with("//")) {
                    continue;
                }
                let ids: Vec<String> = line[idx + "expect:".len()..]
                    .split([',', ' '])
                    .map(str::trim)
                    .filter(|s| s.starts_with("BA"))
                    .map(str::to_string)
                    .collect();
                let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
                out.entry((shown.clone(), line_no))
                    .or_insert_with(Vec::new)
                    .extend(ids);
            }
        }
    }
    out
}

/// `(file, line) → rule IDs` of the active findings of a scan.
pub fn actual_markers(outcome: &Outcome) -> BTreeMap<(String, u32), Vec<String>> {
    let mut out: BTreeMap<(String, u32), Vec<String>> = BTreeMap::new();
    for f in outcome.findings.iter().filter(|f| f.suppression.is_none()) {
        let file = f.file().unwrap_or("<object>").to_string();
        let line = f.span().map_or(0, |s| s.start.line);
        out.entry((file, line))
            .or_default()
            .push(f.rule_id.to_string());
    }
    for ids in out.values_mut() {
        ids.sort();
    }
    out
}

/// Scans `paths` with `rules` and `config`, display paths relative to the crate root.
pub fn scan_paths(paths: &[PathBuf], rules: RuleSet, config: Config) -> Outcome {
    let opts = Options {
        paths: paths.to_vec(),
        config: None,
        rules: None,
        base: root(),
        today: blogaudit::model::date::today(),
        ..Options::default()
    };
    run_with(&opts, &Selection::default(), config, rules, Vec::new())
}

/// The built-in rules; panics when one does not load.
pub fn builtin_rules() -> RuleSet {
    let (rules, diags) = RuleSet::load(None);
    assert!(
        diags.is_empty(),
        "built-in rules must load cleanly:\n{}",
        diags
            .iter()
            .map(|d| d.one_line())
            .collect::<Vec<_>>()
            .join("\n")
    );
    rules
}

/// What one run of the `blogaudit` binary gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Standard output as JSON (for `--format json|sarif`); fails the test when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "output is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs the `blogaudit` binary in `cwd` with `args`. A run that takes longer than 60 s is
/// killed and fails the test (instead of hanging it); so does one killed by a signal (a stack
/// overflow or abort) or one that panics.
pub fn run_blogaudit(cwd: &Path, args: &[&str]) -> Run {
    run_blogaudit_in_env(cwd, args, None)
}

/// [`run_blogaudit`] with exactly `env` as the environment when it is given (nothing
/// inherited, so a CI runner's own variables such as `GITHUB_*` cannot leak in).
pub fn run_blogaudit_in_env(cwd: &Path, args: &[&str], env: Option<&[(&str, &str)]>) -> Run {
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_blogaudit"));
    if let Some(env) = env {
        cmd.env_clear().envs(env.iter().copied());
    }
    let mut child = cmd
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("blogaudit starts");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout piped")));
    let err = drain(Box::new(child.stderr.take().expect("stderr piped")));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for blogaudit") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("blogaudit {args:?} in {} ran for over 60 s", cwd.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let run = Run {
        code: status
            .code()
            .unwrap_or_else(|| panic!("blogaudit {args:?} was killed by a signal: {status}")),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "blogaudit {args:?} panicked:\n{}",
        run.stderr
    );
    run
}

/// The error-level diagnostics of a scan, one line each.
pub fn error_lines(outcome: &Outcome) -> Vec<String> {
    outcome
        .diagnostics
        .iter()
        .filter(|d| d.level == blogaudit::model::Level::Error)
        .map(|d| d.one_line())
        .collect()
}

/// A Service of type NodePort: BA110 at `spec.type` (line 7) of Service x/web.
pub const NODEPORT_SERVICE: &str = "\
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

/// Copies the tree under `from` into `to` (directories made as needed).
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).into_iter().flatten() {
        let rel = entry.path().strip_prefix(from).expect("under from");
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}

/// An environment with nothing of the machine's but PATH: HOME is `home` (so no render cache
/// or kubeconfig is reused), and no AWS configuration, credentials or instance metadata.
pub fn isolated_env(home: &Path) -> Vec<(String, String)> {
    vec![
        ("HOME".into(), home.display().to_string()),
        ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
        (
            "AWS_CONFIG_FILE".into(),
            home.join("no-aws-config").display().to_string(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            home.join("no-aws-credentials").display().to_string(),
        ),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ]
}

/// [`run_blogaudit_in_env`] with [`isolated_env`].
pub fn run_blogaudit_isolated(cwd: &Path, home: &Path, args: &[&str]) -> Run {
    let env = isolated_env(home);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    run_blogaudit_in_env(cwd, args, Some(&env))
}
