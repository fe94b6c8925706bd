//! The GitHub Action (`action.yml`) and the example workflow (`examples/github-workflow.yml`):
//! read with blogaudit's own YAML parser and checked for what GitHub needs and for script
//! injection; the flags the action passes must exist in the binary; and the action's scan,
//! report and gate scripts are run with bash, as a runner would, on `samples/blog-broken`.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The text of `path` (relative to the crate root) and its single YAML document.
fn load(path: &str) -> (String, Value) {
    let text = std::fs::read_to_string(root().join(path)).expect("read");
    let (docs, err) = blogaudit::syntax::yaml::parse_stream(&text);
    assert!(err.is_none(), "{path} does not parse: {err:?}");
    assert_eq!(docs.len(), 1, "{path} must hold one YAML document");
    (text, docs.into_iter().next().expect("one document").value)
}

fn action() -> (String, Value) {
    load("action.yml")
}

fn workflow() -> (String, Value) {
    load("examples/github-workflow.yml")
}

fn steps(action: &Value) -> &Vec<Value> {
    action["runs"]["steps"].as_array().expect("runs.steps")
}

fn step<'a>(action: &'a Value, id: &str) -> &'a Value {
    steps(action)
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step with id `{id}`"))
}

fn str_of<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v}"))
}

/// The inside of every `${{ … }}` in `text`, trimmed.
fn expressions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        let after = &rest[start + 3..];
        let end = after.find("}}").expect("`${{` without `}}`");
        out.push(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
    out
}

/// `NAME` of every `CONTEXT.NAME` in an expression (`inputs`, or `steps` → the step id).
fn context_refs(expr: &str, context: &str) -> Vec<String> {
    let pat = format!("{context}.");
    let mut out = Vec::new();
    let bytes = expr.as_bytes();
    let mut from = 0;
    while let Some(i) = expr[from..].find(&pat) {
        let at = from + i;
        from = at + pat.len();
        let standalone = at == 0
            || !(matches!(bytes[at - 1], b'.' | b'_' | b'-')
                || bytes[at - 1].is_ascii_alphanumeric());
        if !standalone {
            continue; // e.g. `github.event.inputs.x`
        }
        let name: String = expr[from..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
            .collect();
        out.push(name);
    }
    out
}

/// Every string value under `v` whose key is `key`, anywhere.
fn strings_under_key<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == key {
                    if let Some(s) = child.as_str() {
                        out.push(s);
                    }
                }
                strings_under_key(child, key, out);
            }
        }
        Value::Array(items) => {
            for child in items {
                strings_under_key(child, key, out);
            }
        }
        _ => {}
    }
}

/// Every `--flag` in a script.
fn long_flags(script: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for word in script.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '"' | '\'')) {
        if let Some(name) = word.strip_prefix("--") {
            let name: String = name
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if !name.is_empty() {
                out.insert(format!("--{name}"));
            }
        }
    }
    out
}

fn help(subcommand: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_blogaudit"))
        .args([subcommand, "--help"])
        .output()
        .expect("blogaudit runs");
    assert!(out.status.success(), "blogaudit {subcommand} --help failed");
    String::from_utf8(out.stdout).expect("utf-8 help")
}

// ---------------------------------------------------------------------------------------------
// action.yml

const INPUTS: &[(&str, &str)] = &[
    ("path", "."),
    ("fail-on", "high"),
    ("sarif-file", "blogaudit.sarif"),
    ("category", "blogaudit/scan"),
    ("upload", "codeql-action"),
    ("annotations", "true"),
    ("version", "source"),
    ("args", ""),
    ("token", "${{ github.token }}"),
];

#[test]
fn action_is_a_composite_action() {
    let (_, a) = action();
    assert_eq!(a["name"], "blogaudit");
    assert!(!str_of(&a["description"], "description").trim().is_empty());
    assert!(a["branding"]["icon"].is_string() && a["branding"]["color"].is_string());
    assert_eq!(a["runs"]["using"], "composite");
    let steps = steps(&a);
    assert!(!steps.is_empty());
    let mut ids = BTreeSet::new();
    for s in steps {
        let name = str_of(&s["name"], "step name");
        assert!(
            s.get("run").is_some() != s.get("uses").is_some(),
            "step `{name}` needs exactly one of run and uses"
        );
        if s.get("run").is_some() {
            assert_eq!(
                s["shell"], "bash",
                "step `{name}` runs a script without `shell`"
            );
        }
        if let Some(id) = s["id"].as_str() {
            assert!(ids.insert(id), "two steps with id `{id}`");
        }
    }
}

#[test]
fn action_documents_its_inputs_and_outputs() {
    let (_, a) = action();
    let inputs = a["inputs"].as_object().expect("inputs");
    for (name, default) in INPUTS {
        let input = inputs
            .get(*name)
            .unwrap_or_else(|| panic!("input `{name}` is missing"));
        assert!(
            input["description"]
                .as_str()
                .is_some_and(|d| d.trim().len() > 10),
            "input `{name}` needs a description"
        );
        assert_eq!(input["default"], *default, "default of input `{name}`");
    }
    assert_eq!(inputs.len(), INPUTS.len(), "an input is not in INPUTS");
    for name in ["sarif-file", "findings"] {
        let output = &a["outputs"][name];
        assert!(
            output["description"].is_string(),
            "output `{name}` needs a description"
        );
        assert!(
            str_of(&output["value"], "output value").contains("steps."),
            "output `{name}` comes from a step"
        );
    }
}

#[test]
fn action_expressions_are_declared_and_stay_out_of_scripts() {
    let (text, a) = action();
    let declared: BTreeSet<String> = a["inputs"]
        .as_object()
        .expect("inputs")
        .keys()
        .cloned()
        .collect();
    let exprs = expressions(&text);
    assert!(!exprs.is_empty());
    for e in &exprs {
        for name in context_refs(e, "inputs") {
            assert!(
                declared.contains(&name),
                "`${{{{ {e} }}}}` uses undeclared input `{name}`"
            );
        }
    }

    // `steps.ID` is a step declared before the one that uses it (or, in outputs, any step).
    let steps = steps(&a);
    let mut earlier: BTreeSet<String> = BTreeSet::new();
    for s in steps {
        let own = serde_json::to_string(s).expect("json");
        for e in expressions(&own) {
            for id in context_refs(&e, "steps") {
                assert!(
                    earlier.contains(&id),
                    "`{e}` refers to a later or unknown step"
                );
            }
        }
        if let Some(id) = s["id"].as_str() {
            earlier.insert(id.to_string());
        }
    }
    let outputs = serde_json::to_string(&a["outputs"]).expect("json");
    for e in expressions(&outputs) {
        for id in context_refs(&e, "steps") {
            assert!(earlier.contains(&id), "output `{e}`: no step `{id}`");
        }
    }

    // No expression at all inside a script: values reach scripts through `env:` only.
    let mut scripts = Vec::new();
    strings_under_key(&a, "run", &mut scripts);
    assert!(!scripts.is_empty());
    for script in &scripts {
        assert!(
            !script.contains("${{"),
            "an expression inside a run script (script injection):\n{script}"
        );
    }

    // Every variable of ours that a script reads is set in that step's `env`.
    for s in steps {
        let Some(script) = s["run"].as_str() else {
            continue;
        };
        let env: BTreeSet<&str> = s["env"]
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for var in shell_vars(script) {
            if var.starts_with("BA_") || var == "BLOGAUDIT" || var == "GITHUB_TOKEN" {
                assert!(
                    env.contains(var.as_str()),
                    "step `{}` reads ${var} but does not set it in env",
                    s["name"]
                );
            }
        }
    }
}

/// `NAME` of every `$NAME` and `${NAME…}` in a script.
fn shell_vars(script: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = script;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        let body = rest.strip_prefix('{').unwrap_or(rest);
        let name: String = body
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

#[test]
fn action_installs_from_source_or_a_release() {
    let (_, a) = action();
    let install = str_of(&step(&a, "install")["run"], "install script");
    assert!(install.contains("cargo install --locked"), "{install}");
    assert!(
        install.contains("--path \"$GITHUB_ACTION_PATH\""),
        "{install}"
    );
    assert!(install.contains(
        "https://github.com/blogaudit/blogaudit/releases/download/v$version/blogaudit-x86_64-unknown-linux-gnu.tar.gz"
    ));
    let cache = steps(&a)
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/cache@"))
        })
        .expect("an actions/cache step");
    assert_eq!(cache["if"], "inputs.version == 'source'");
    assert!(str_of(&cache["with"]["path"], "cache path").contains("~/.cargo/registry"));
    assert!(str_of(&cache["with"]["key"], "cache key").contains("steps.prep.outputs.lock-hash"));
    let prep = str_of(&step(&a, "prep")["run"], "prep script");
    assert!(prep.contains("$GITHUB_ACTION_PATH/Cargo.lock"));
}

#[test]
fn action_uploads_with_either_uploader_and_then_gates() {
    let (_, a) = action();
    let steps = steps(&a);
    let codeql = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("an upload-sarif step");
    let cond = str_of(&codeql["if"], "if");
    assert!(cond.contains("always()") && cond.contains("inputs.upload == 'codeql-action'"));
    assert!(cond.contains("steps.scan.outputs.complete == 'true'"));
    assert_eq!(codeql["with"]["sarif_file"], "${{ inputs.sarif-file }}");
    assert_eq!(codeql["with"]["category"], "${{ inputs.category }}");

    let own = step(&a, "upload-blogaudit");
    let cond = str_of(&own["if"], "if");
    assert!(cond.contains("always()") && cond.contains("inputs.upload == 'blogaudit'"));
    assert_eq!(own["env"]["GITHUB_TOKEN"], "${{ inputs.token }}");
    assert!(str_of(&own["run"], "run").contains("\"$BLOGAUDIT\" upload \"$BA_SARIF\""));

    // The gate comes last, after both uploads.
    let gate = steps.last().expect("steps");
    assert!(str_of(&gate["if"], "if").contains("steps.scan.outputs.failed == 'true'"));
    assert!(str_of(&gate["run"], "run").contains("exit 1"));
}

#[test]
fn flags_the_action_passes_exist() {
    let (_, a) = action();
    // Everything in the scan step's script that looks like `--flag` is a `blogaudit scan` flag
    // (`--output-format` included: it must exist now that the action depends on it).
    let scan_help = help("scan");
    let scan = str_of(&step(&a, "scan")["run"], "scan script");
    let flags = long_flags(scan);
    for f in ["--fail-on", "--format", "--output-format", "--category"] {
        assert!(flags.contains(f), "the scan step no longer passes {f}?");
    }
    for f in &flags {
        assert!(
            scan_help.contains(&format!("{f} ")),
            "the action passes `{f}`, which `blogaudit scan --help` does not list"
        );
    }
    for format in ["github", "markdown", "sarif", "human"] {
        assert!(
            scan_help.contains(&format!("- {format}:")),
            "`--format {format}` is not a format of blogaudit scan"
        );
    }
    let upload_help = help("upload");
    let upload = str_of(&step(&a, "upload-blogaudit")["run"], "upload script");
    for f in long_flags(upload) {
        assert!(
            upload_help.contains(&format!("{f} ")),
            "the action passes `{f}`, which `blogaudit upload --help` does not list"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Running the action's scripts as a runner would

/// Runs action steps' scripts with bash, the way a runner runs `shell: bash` steps, with the
/// step's `env` evaluated from the inputs and earlier steps' outputs.
struct Runner {
    action: Value,
    inputs: HashMap<String, String>,
    outputs: HashMap<String, HashMap<String, String>>,
    dir: tempfile::TempDir,
    /// Directories for PATH (default: the inherited PATH).
    path: Option<String>,
}

struct StepRun {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Runner {
    fn new(inputs: &[(&str, &str)]) -> Self {
        let (_, action) = action();
        let mut all: HashMap<String, String> = INPUTS
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        let dir = tempfile::tempdir().expect("tempdir");
        all.insert(
            "sarif-file".into(),
            dir.path().join("out.sarif").display().to_string(),
        );
        all.insert("token".into(), "not-used".into());
        for (k, v) in inputs {
            all.insert((*k).to_string(), (*v).to_string());
        }
        let mut outputs = HashMap::new();
        // The install step is not run: the binary under test stands in for it.
        outputs.insert(
            "install".to_string(),
            HashMap::from([(
                "bin".to_string(),
                env!("CARGO_BIN_EXE_blogaudit").to_string(),
            )]),
        );
        Self {
            action,
            inputs: all,
            outputs,
            dir,
            path: None,
        }
    }

    fn summary(&self) -> PathBuf {
        self.dir.path().join("step-summary.md")
    }

    fn sarif(&self) -> PathBuf {
        PathBuf::from(&self.inputs["sarif-file"])
    }

    fn output(&self, step: &str, name: &str) -> Option<&str> {
        self.outputs.get(step)?.get(name).map(String::as_str)
    }

    /// `${{ inputs.X }}` and `${{ steps.S.outputs.O }}`: all the action's env values use.
    fn eval(&self, value: &str) -> String {
        let mut out = String::new();
        let mut rest = value;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 3..];
            let end = after.find("}}").expect("closing }}");
            let expr = after[..end].trim();
            let v = if let Some(name) = expr.strip_prefix("inputs.") {
                self.inputs[name].clone()
            } else if let Some(path) = expr.strip_prefix("steps.") {
                let (id, name) = path.split_once(".outputs.").expect("steps.ID.outputs.NAME");
                self.output(id, name).unwrap_or_default().to_string()
            } else {
                panic!("the test runner cannot evaluate `{expr}`")
            };
            out.push_str(&v);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    }

    fn run(&mut self, id: &str) -> StepRun {
        let step = step(&self.action, id).clone();
        let script = str_of(&step["run"], "run").to_string();
        let dir = self.dir.path();
        let file = dir.join(format!("{id}.sh"));
        std::fs::write(&file, &script).expect("write script");
        let output_file = dir.join(format!("{id}.output"));
        std::fs::write(&output_file, "").expect("output file");
        let mut cmd = Command::new(bash());
        // What a runner runs for `shell: bash`.
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&file)
            .current_dir(root())
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", self.summary())
            .env("GITHUB_PATH", dir.join("path"))
            .env("GITHUB_ACTION_PATH", root())
            .env("GITHUB_WORKSPACE", root())
            .env("RUNNER_TEMP", dir)
            .env("NO_COLOR", "1");
        if let Some(path) = &self.path {
            cmd.env("PATH", path);
        }
        if let Some(env) = step["env"].as_object() {
            for (k, v) in env {
                cmd.env(k, self.eval(str_of(v, "env value")));
            }
        }
        let out = cmd.output().expect("bash runs");
        let written = std::fs::read_to_string(&output_file).expect("read outputs");
        let outputs = self.outputs.entry(id.to_string()).or_default();
        for line in written.lines() {
            let (k, v) = line.split_once('=').expect("NAME=VALUE output lines");
            outputs.insert(k.to_string(), v.to_string());
        }
        StepRun {
            code: out.status.code().expect("exit code"),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// bash, found on the test's own PATH (a step may run with another PATH).
fn bash() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("bash"))
                .find(|b| b.is_file())
        })
        .unwrap_or_else(|| PathBuf::from("/bin/bash"))
}

/// Active (unsuppressed) results of a SARIF log, and the automation ids of its runs.
fn sarif_facts(path: &Path) -> (usize, Vec<String>) {
    let log: Value =
        serde_json::from_slice(&std::fs::read(path).expect("read SARIF")).expect("SARIF JSON");
    let runs = log["runs"].as_array().expect("runs");
    let active = runs
        .iter()
        .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        .filter(|r| r["suppressions"].as_array().is_none_or(Vec::is_empty))
        .count();
    let ids = runs
        .iter()
        .map(|r| {
            r["automationDetails"]["id"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    (active, ids)
}

#[cfg(unix)]
#[test]
fn action_scripts_scan_report_and_gate() {
    let mut r = Runner::new(&[("path", "samples/blog-broken")]);
    let scan = r.run("scan");
    assert_eq!(
        scan.code, 0,
        "findings do not fail the scan step:\n{}",
        scan.stderr
    );
    assert_eq!(r.output("scan", "exit-code"), Some("1"));
    assert_eq!(r.output("scan", "complete"), Some("true"));
    assert_eq!(r.output("scan", "failed"), Some("true"));
    assert_eq!(r.output("scan", "sarif-written"), Some("true"));
    assert_eq!(
        r.output("scan", "sarif-file"),
        Some(r.inputs["sarif-file"].as_str())
    );
    assert!(
        scan.stdout
            .lines()
            .any(|l| l.starts_with("::error ") || l.starts_with("::warning ")),
        "annotations on stdout:\n{}",
        scan.stdout
    );
    let summary = std::fs::read_to_string(r.summary()).expect("step summary written");
    assert!(!summary.trim().is_empty());

    let report = r.run("report");
    assert_eq!(report.code, 0, "{}", report.stderr);
    let (active, ids) = sarif_facts(&r.sarif());
    assert!(active > 0);
    assert_eq!(
        r.output("report", "findings"),
        Some(active.to_string().as_str())
    );
    assert!(ids.iter().all(|id| id == "blogaudit/scan/"), "{ids:?}");

    // The gate step has no id; run it by giving it one in the runner's copy.
    let last = r.action["runs"]["steps"]
        .as_array_mut()
        .expect("steps")
        .last_mut()
        .expect("a last step");
    last["id"] = Value::String("gate".into());
    let gate = r.run("gate");
    assert_eq!(gate.code, 1);
    assert!(gate
        .stdout
        .starts_with("::error title=blogaudit::findings at or above severity high"));
}

#[cfg(unix)]
#[test]
fn action_scripts_without_annotations_and_with_extra_args() {
    let mut r = Runner::new(&[
        ("path", "samples/blog-broken"),
        ("annotations", "false"),
        ("fail-on", "never"),
        ("category", "blogaudit/infra"),
        ("args", "--verbose  --color never"),
    ]);
    let scan = r.run("scan");
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    assert_eq!(r.output("scan", "exit-code"), Some("0"));
    assert_eq!(r.output("scan", "complete"), Some("true"));
    assert_eq!(r.output("scan", "failed"), None);
    assert!(
        !scan.stdout.contains("::error"),
        "human output, not annotations"
    );
    assert!(!r.summary().exists(), "no step summary without annotations");
    let report = r.run("report");
    assert_eq!(report.code, 0, "{}", report.stderr);
    let (_, ids) = sarif_facts(&r.sarif());
    assert!(ids.iter().all(|id| id == "blogaudit/infra/"), "{ids:?}");
}

#[cfg(unix)]
#[test]
fn action_scan_step_fails_when_the_scan_cannot_be_trusted() {
    let mut r = Runner::new(&[("path", "samples/no-such-directory")]);
    let scan = r.run("scan");
    assert_eq!(scan.code, 2, "{}\n{}", scan.stdout, scan.stderr);
    assert_eq!(r.output("scan", "exit-code"), Some("2"));
    assert_eq!(
        r.output("scan", "complete"),
        None,
        "no upload of an incomplete scan"
    );
    assert!(scan
        .stdout
        .contains("::error title=blogaudit::the scan could not be completed"));
}

#[cfg(unix)]
#[test]
fn action_report_step_works_without_jq() {
    // PATH with python3 alone: the report step counts with python3 instead of jq.
    let Ok(out) = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
    else {
        eprintln!("no python3: skipped");
        return;
    };
    let python = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let mut with_jq = Runner::new(&[("path", "samples/blog-broken")]);
    assert_eq!(with_jq.run("scan").code, 0);
    assert_eq!(with_jq.run("report").code, 0);

    let mut r = Runner::new(&[("path", "samples/blog-broken")]);
    assert_eq!(r.run("scan").code, 0);
    let bin = r.dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    std::os::unix::fs::symlink(&python, bin.join("python3")).expect("symlink python3");
    r.path = Some(bin.display().to_string());
    let report = r.run("report");
    assert_eq!(report.code, 0, "{}", report.stderr);
    let (active, _) = sarif_facts(&r.sarif());
    assert_eq!(
        r.output("report", "findings"),
        Some(active.to_string().as_str())
    );
    assert_eq!(
        r.output("report", "findings"),
        with_jq.output("report", "findings")
    );
}

// ---------------------------------------------------------------------------------------------
// examples/github-workflow.yml

#[test]
fn example_workflow_scans_pull_requests_and_uploads() {
    let (text, w) = workflow();
    let on = w["on"].as_object().expect("`on` is a mapping");
    assert!(on.contains_key("pull_request"), "runs on pull requests");
    assert_eq!(w["on"]["push"]["branches"][0], "main");
    assert_eq!(w["permissions"]["security-events"], "write");
    assert_eq!(w["permissions"]["contents"], "read");

    let jobs = w["jobs"].as_object().expect("jobs");
    let job_steps: Vec<&Vec<Value>> = jobs
        .values()
        .filter_map(|j| j["steps"].as_array())
        .collect();
    let uses = |steps: &Vec<Value>, prefix: &str| -> Option<Value> {
        steps
            .iter()
            .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(prefix)))
            .cloned()
    };
    let steps = job_steps
        .iter()
        .find(|s| {
            uses(s, "actions/checkout@").is_some() && uses(s, "blogaudit/blogaudit@").is_some()
        })
        .expect("a job with actions/checkout and blogaudit/blogaudit");
    let ba = uses(steps, "blogaudit/blogaudit@").expect("the blogaudit step");
    assert_eq!(ba["with"]["fail-on"], "high");
    assert!(str_of(&ba["with"]["upload"], "upload").contains("codeql-action"));

    // Whatever the action is given must be one of its inputs.
    let (_, a) = action();
    for key in ba["with"].as_object().expect("with").keys() {
        assert!(
            a["inputs"].get(key).is_some(),
            "the workflow passes `{key}`, which the action does not declare"
        );
    }

    let mut scripts = Vec::new();
    strings_under_key(&w, "run", &mut scripts);
    for s in scripts {
        assert!(
            !s.contains("${{"),
            "an expression inside a run script:\n{s}"
        );
    }
    assert!(!expressions(&text).is_empty());
}
