//! Helm charts: rendered with `helm template` when `helm` is on `PATH`, each object traced
//! back to its template through the `# Source:` comments helm writes. Without `helm`, a chart
//! gives one warning: it is knowingly not checked, which is not a broken input.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use serde_json::Value;

use crate::model::{Diagnostic, Origin, PathSeg, Pos, SourceFile, Span, SpanIndex};
use crate::source::{display, k8s, Loaded};

/// `--helm-values` and `--helm-set`, given to every chart.
#[derive(Clone, Debug, Default)]
pub struct HelmOptions {
    /// Values files (`helm template -f FILE`), after the chart's own values.yaml.
    pub values: Vec<PathBuf>,
    /// `KEY=VALUE` settings (`helm template --set KEY=VALUE`).
    pub set: Vec<String>,
}

/// Renders the chart in `dir` with `helm` when it is on `PATH`; otherwise one warning.
#[must_use]
pub fn load(dir: &Path, base: &Path, opts: &HelmOptions) -> Loaded {
    let chart_file = dir.join("Chart.yaml");
    let chart_shown = display(&chart_file, base);
    let name = chart_name(&chart_file).unwrap_or_else(|| display(dir, base));
    let Some(helm) = crate::source::kustomize::which("helm") else {
        return Loaded {
            diagnostics: vec![Diagnostic::warning(
                "helm-missing",
                format!(
                    "Helm chart `{name}` ({}) not checked: `helm` is not on PATH",
                    display(dir, base)
                ),
            )
            .in_file(chart_shown)
            .help(
                "install Helm 3 (https://helm.sh/docs/intro/install/) and scan again, \
                 or run `helm template RELEASE CHART > rendered.yaml` and scan that file",
            )],
            ..Loaded::default()
        };
    };
    let release = dir.file_name().map_or_else(
        || "release".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut cmd = Command::new(helm);
    cmd.arg("template").arg(&release).arg(dir);
    for v in &opts.values {
        cmd.arg("--values").arg(base.join(v));
    }
    for s in &opts.set {
        cmd.arg("--set").arg(s);
    }
    let output = match cmd.output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => {
            return failed(
                &chart_shown,
                format!(
                    "`helm template` failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
            )
        }
        Err(e) => return failed(&chart_shown, format!("cannot run `helm`: {e}")),
    };
    trace(dir, base, &chart_shown, &output)
}

fn failed(chart: &str, message: String) -> Loaded {
    Loaded {
        diagnostics: vec![Diagnostic::error("helm", message)
            .in_file(chart)
            .at(Pos { line: 1, column: 1 })
            .help(
                "fix the chart or its values; `helm template RELEASE CHART` shows the same error",
            )],
        ..Loaded::default()
    }
}

/// `name:` of Chart.yaml.
fn chart_name(chart: &Path) -> Option<String> {
    let text = std::fs::read_to_string(chart).ok()?;
    let (docs, _) = crate::syntax::yaml::parse_stream(&text);
    Some(docs.first()?.value.get("name")?.as_str()?.to_string())
}

/// One rendered object and where its template is.
struct Placed {
    resource: crate::model::Resource,
    template: Option<PathBuf>,
    /// Its index among the objects rendered from the same template.
    nth: usize,
}

/// Maps helm's output back to the chart's templates.
fn trace(dir: &Path, base: &Path, chart_shown: &str, output: &str) -> Loaded {
    let (parsed, _) = k8s::parse(chart_shown, output);
    // `# Source: CHART/templates/x.yaml` lines, by output line.
    let sources: Vec<(u32, &str)> = output
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let s = l.strip_prefix("# Source: ")?;
            Some((u32::try_from(i + 1).ok()?, s.trim()))
        })
        .collect();
    let mut counts: HashMap<PathBuf, usize> = HashMap::new();
    let placed: Vec<Placed> = parsed
        .resources
        .into_iter()
        .map(|resource| {
            // The object's first line (a document's span may start at its `---`).
            let line = match &resource.origin {
                Origin::File {
                    spans: SpanIndex::Tree(nodes),
                    span,
                    ..
                } => nodes.first().map_or(span.start.line, |n| n.start.line),
                _ => 0,
            };
            let template = sources
                .iter()
                .rev()
                .find(|(l, _)| *l <= line)
                .and_then(|(_, s)| {
                    // The first step is the chart's name; the rest is the path in the chart.
                    let (_, rest) = s.split_once('/')?;
                    let p = dir.join(rest);
                    p.is_file().then_some(p)
                });
            let nth = template.as_ref().map_or(0, |t| {
                let n = counts.entry(t.clone()).or_insert(0);
                *n += 1;
                *n - 1
            });
            Placed {
                resource,
                template,
                nth,
            }
        })
        .collect();
    let chart_file = Arc::new(SourceFile {
        path: chart_shown.to_string(),
        text: std::fs::read_to_string(dir.join("Chart.yaml")).unwrap_or_default(),
    });
    let mut templates: HashMap<PathBuf, (String, Vec<(Pos, Pos)>)> = HashMap::new();
    let mut located = Vec::with_capacity(placed.len());
    for p in placed {
        let Some(t) = p.template else {
            located.push((p.resource, None, Vec::new(), first_line(1)));
            continue;
        };
        let entry = templates
            .entry(t.clone())
            .or_insert_with(|| (std::fs::read_to_string(&t).unwrap_or_default(), Vec::new()));
        let lines: Vec<&str> = entry.0.lines().collect();
        let (from, to) = chunk(&lines, &p.resource.kind, p.nth);
        let mut spans = Vec::new();
        let top = first_object_line(&lines, from, to);
        let secret = p.resource.kind == "Secret";
        let mut masks = Vec::new();
        walk(
            &lines,
            &p.resource.body,
            &mut Vec::new(),
            (from, to),
            None,
            &mut spans,
            secret.then_some(&mut masks),
        );
        entry.1.extend(masks);
        located.push((p.resource, Some(t), spans, top));
    }
    let files: HashMap<PathBuf, Arc<SourceFile>> = templates
        .into_iter()
        .map(|(p, (text, masks))| {
            let file = Arc::new(SourceFile {
                path: display(&p, base),
                text: k8s::mask(&text, &masks),
            });
            (p, file)
        })
        .collect();
    let resources = located
        .into_iter()
        .map(|(mut r, t, spans, top)| {
            let file = t
                .and_then(|t| files.get(&t).cloned())
                .unwrap_or_else(|| chart_file.clone());
            r.origin = Origin::File {
                file,
                span: top,
                spans: SpanIndex::Map(spans),
            };
            r
        })
        .collect();
    let mut all: Vec<Arc<SourceFile>> = files.into_values().collect();
    all.push(chart_file);
    Loaded {
        resources,
        files: all,
        diagnostics: parsed
            .diagnostics
            .into_iter()
            .filter(|d| d.code != "not-kubernetes")
            .collect(),
        ..Loaded::default()
    }
}

fn first_line(line: u32) -> Span {
    Span {
        start: Pos { line, column: 1 },
        end: Pos { line, column: 1 },
    }
}

/// The line range of the template document that rendered the `nth` object of `kind` from
/// this template (documents are separated by `---`).
fn chunk(lines: &[&str], kind: &str, nth: usize) -> (usize, usize) {
    let mut chunks = Vec::new();
    let mut start = 0;
    for (i, l) in lines.iter().enumerate() {
        if l.trim_end() == "---" || l.starts_with("--- ") {
            chunks.push((start, i));
            start = i + 1;
        }
    }
    chunks.push((start, lines.len()));
    let kind_line = format!("kind: {kind}");
    let of_kind: Vec<(usize, usize)> = chunks
        .iter()
        .copied()
        .filter(|(a, b)| lines[*a..*b].iter().any(|l| l.trim() == kind_line))
        .collect();
    of_kind
        .get(nth)
        .or_else(|| of_kind.first())
        .or_else(|| chunks.get(nth))
        .copied()
        .unwrap_or((0, lines.len()))
}

/// The object's first line in the template: the first line that is YAML, not a comment or
/// a template action.
fn first_object_line(lines: &[&str], from: usize, to: usize) -> Span {
    for (i, l) in lines.iter().enumerate().take(to).skip(from) {
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') || t.starts_with("{{") {
            continue;
        }
        let indent = l.len() - t.len();
        return line_span(lines, i, indent);
    }
    first_line(u32::try_from(from + 1).unwrap_or(1))
}

fn line_span(lines: &[&str], i: usize, col0: usize) -> Span {
    let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
    let width = lines.get(i).map_or(0, |l| l.chars().count());
    let column = u32::try_from(col0 + 1).unwrap_or(1);
    Span {
        start: Pos { line, column },
        end: Pos {
            line,
            column: u32::try_from(width + 1).unwrap_or(column).max(column + 1),
        },
    }
}

/// A template line `KEY: …` (or `- KEY: …`) in `from..to` inside the block of a key at
/// `parent` indentation: its line, the key's 0-based column, and where its value starts.
fn find_key(
    lines: &[&str],
    (from, to): (usize, usize),
    key: &str,
    parent: Option<usize>,
) -> Option<(usize, usize, usize)> {
    for (i, l) in lines.iter().enumerate().take(to).skip(from) {
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') || t.starts_with("{{") {
            continue;
        }
        let indent = l.len() - t.len();
        let dash = t.starts_with("- ");
        if let Some(p) = parent {
            if indent < p || (indent == p && !dash) {
                return None; // left the parent's block
            }
        }
        let rest = t.strip_prefix("- ").unwrap_or(t);
        let col = indent + if dash { 2 } else { 0 };
        for quoted in [key.to_string(), format!("\"{key}\""), format!("'{key}'")] {
            if let Some(after) = rest
                .strip_prefix(quoted.as_str())
                .and_then(|a| a.strip_prefix(':'))
            {
                let spaces = after.len() - after.trim_start().len();
                return Some((i, col, col + quoted.len() + 1 + spaces));
            }
        }
    }
    None
}

/// Records the template line of every field of `value` that the template writes literally;
/// a Secret's literal values are masked.
fn walk(
    lines: &[&str],
    value: &Value,
    path: &mut Vec<PathSeg>,
    range: (usize, usize),
    parent: Option<usize>,
    out: &mut Vec<(Vec<PathSeg>, Span)>,
    mut masks: Option<&mut Vec<(Pos, Pos)>>,
) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let Some((line, col, value_col)) = find_key(lines, range, k, parent) else {
                    continue;
                };
                path.push(PathSeg::Key(k.clone()));
                out.push((path.clone(), line_span(lines, line, col)));
                let secret_value = path.len() == 2
                    && matches!(&path[0], PathSeg::Key(f) if f == "data" || f == "stringData");
                if let (true, Some(m)) = (secret_value, masks.as_deref_mut()) {
                    let span = line_span(lines, line, value_col);
                    m.push((span.start, span.end));
                }
                walk(
                    lines,
                    v,
                    path,
                    (line + 1, range.1),
                    Some(col),
                    out,
                    masks.as_deref_mut(),
                );
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let Some(name) = item.get("name").and_then(Value::as_str) else {
                    continue;
                };
                // The item whose `name:` line names it.
                let mut from = range.0;
                let hit = loop {
                    let Some((line, col, value_col)) =
                        find_key(lines, (from, range.1), "name", parent)
                    else {
                        break None;
                    };
                    let written = lines[line].chars().skip(value_col).collect::<String>();
                    let written = written.trim().trim_matches(['"', '\'']);
                    if written == name {
                        break Some((line, col));
                    }
                    from = line + 1;
                };
                let Some((line, col)) = hit else { continue };
                path.push(PathSeg::Index(i));
                out.push((path.clone(), line_span(lines, line, col.saturating_sub(2))));
                walk(
                    lines,
                    item,
                    path,
                    (line, range.1),
                    Some(col.saturating_sub(2)),
                    out,
                    masks.as_deref_mut(),
                );
                path.pop();
            }
        }
        _ => {}
    }
}
