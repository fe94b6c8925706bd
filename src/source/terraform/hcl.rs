//! Parsing: `.tf` and `.tfvars` files with hcl-edit, byte spans turned into line:column, and one
//! module directory indexed by what its top-level blocks declare.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Attribute, Block, Body, Structure};

use crate::model::{Diagnostic, Pos, SourceFile, Span};
use crate::source::{display, read_text};
use crate::syntax::position::LineIndex;

/// One parsed HCL file.
#[derive(Debug)]
pub struct ParsedFile {
    pub source: Arc<SourceFile>,
    /// The file on disk (for `file()` and module paths).
    pub path: PathBuf,
    pub body: Body,
    /// Where each line starts.
    lines: LineIndex,
}

impl ParsedFile {
    /// Parses `text`; a syntax error gives a `terraform-syntax` diagnostic at its line.
    pub fn parse(
        path: &Path,
        shown: &str,
        text: String,
    ) -> Result<Self, (Arc<SourceFile>, Diagnostic)> {
        let parsed = hcl_edit::parser::parse_body(&text);
        let source = Arc::new(SourceFile {
            path: shown.to_string(),
            text,
        });
        match parsed {
            Ok(body) => Ok(Self {
                lines: LineIndex::new(&source.text),
                source,
                path: path.to_path_buf(),
                body,
            }),
            Err(e) => {
                let loc = e.location();
                let d =
                    Diagnostic::error("terraform-syntax", format!("invalid HCL: {}", e.message()))
                        .in_file(shown)
                        .at(Pos {
                            line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
                            column: u32::try_from(loc.column()).unwrap_or(u32::MAX),
                        })
                        .help("fix the syntax; the other files of this module were still checked");
                Err((source, d))
            }
        }
    }

    /// The 1-based position of a byte offset (columns count code points).
    #[must_use]
    pub fn pos(&self, byte: usize) -> Pos {
        self.lines.pos(&self.source.text, byte)
    }

    #[must_use]
    pub fn span(&self, range: &Range<usize>) -> Span {
        Span {
            start: self.pos(range.start),
            end: self.pos(range.end),
        }
    }

    /// The source text of a byte range.
    #[must_use]
    pub fn text(&self, range: &Range<usize>) -> &str {
        self.source.text.get(range.clone()).unwrap_or("")
    }

    /// The text of a 1-based line, without its line break.
    fn line(&self, line: usize) -> Option<(usize, &str)> {
        self.lines.line(&self.source.text, line)
    }

    /// `# blogaudit:ignore ID reason [until=YYYY-MM-DD]` comments on the lines directly above
    /// the structure that starts at `byte`, as `ID: reason until=…` suppression entries.
    #[must_use]
    pub fn ignores_above(&self, byte: usize) -> Vec<(String, Span)> {
        self.ignores_above_line(self.pos(byte).line)
    }

    /// [`ParsedFile::ignores_above`] for the structure that starts on 1-based line `first`.
    #[must_use]
    pub fn ignores_above_line(&self, first: u32) -> Vec<(String, Span)> {
        let mut out = Vec::new();
        let mut line = first as usize;
        while line > 1 {
            line -= 1;
            let Some((start, text)) = self.line(line) else {
                break;
            };
            let trimmed = text.trim_start();
            let comment = trimmed
                .strip_prefix('#')
                .or_else(|| trimmed.strip_prefix("//"));
            let Some(comment) = comment else { break };
            let Some(idx) = comment.find("blogaudit:ignore") else {
                continue;
            };
            let rest = comment[idx + "blogaudit:ignore".len()..].trim();
            let indent = text.len() - trimmed.len();
            let span = Span {
                start: self.pos(start + indent),
                end: self.pos(start + text.len()),
            };
            let (ids, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let reason = reason.trim();
            let mut entries: Vec<(String, Span)> = ids
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|id| (format!("{id}: {reason}"), span))
                .collect();
            if entries.is_empty() {
                entries.push((": ".to_string(), span));
            }
            out.push(entries);
        }
        out.into_iter().rev().flatten().collect()
    }
}

/// Where a top-level item sits: file, structure index in its body, and (for `locals`) the
/// attribute index inside the block.
#[derive(Clone, Copy, Debug)]
pub struct ItemRef {
    pub file: u32,
    pub idx: u32,
    pub sub: u32,
}

/// A variable definitions file (`terraform.tfvars`, `*.auto.tfvars`, `--var-file`).
#[derive(Debug)]
pub enum VarFile {
    Hcl(ParsedFile),
    Json(Arc<SourceFile>, serde_json::Value),
}

/// One module directory (or one lone `.tf` file), parsed and indexed.
#[derive(Debug, Default)]
pub struct ModuleDef {
    /// The directory as found (lexically normalized).
    pub dir: PathBuf,
    pub files: Vec<ParsedFile>,
    /// `terraform.tfvars`, then `*.auto.tfvars` in name order (read only for roots).
    pub tfvars: Vec<VarFile>,
    /// Every file read, parsed or not (for reporters).
    pub sources: Vec<Arc<SourceFile>>,
    pub diags: Vec<Diagnostic>,
    pub variables: HashMap<String, ItemRef>,
    pub locals: HashMap<String, ItemRef>,
    pub resources: Vec<ItemRef>,
    pub resource_idx: HashMap<(String, String), usize>,
    pub data: HashMap<(String, String), ItemRef>,
    pub modules: Vec<ItemRef>,
    pub module_idx: HashMap<String, usize>,
    pub outputs: HashMap<String, ItemRef>,
}

impl ModuleDef {
    /// Reads and parses every `.tf` file of `dir` (and its tfvars files).
    #[must_use]
    pub fn load_dir(dir: &Path, base: &Path) -> Self {
        RawDir::read(dir, base).parse(base)
    }

    /// A module of one file (a `.tf` file given on its own).
    #[must_use]
    pub fn load_file(path: &Path, base: &Path) -> Self {
        let mut def = Self {
            dir: path
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            ..Self::default()
        };
        def.add_file(path, base);
        def
    }

    fn add_file(&mut self, path: &Path, base: &Path) {
        let shown = display(path, base);
        match read_text(path, &shown) {
            Ok(text) => self.add_text(path, &shown, text),
            Err(d) => self.diags.push(d),
        }
    }

    fn add_text(&mut self, path: &Path, shown: &str, text: String) {
        match ParsedFile::parse(path, shown, text) {
            Ok(f) => {
                self.sources.push(f.source.clone());
                self.index(&f, u32::try_from(self.files.len()).unwrap_or(u32::MAX));
                self.files.push(f);
            }
            Err((source, d)) => {
                self.sources.push(source);
                self.diags.push(d);
            }
        }
    }

    fn index(&mut self, f: &ParsedFile, file: u32) {
        for (i, s) in f.body.iter().enumerate() {
            let Structure::Block(b) = s else { continue };
            let idx = u32::try_from(i).unwrap_or(u32::MAX);
            let at = ItemRef { file, idx, sub: 0 };
            let label = |n: usize| b.labels.get(n).map(|l| l.as_str().to_string());
            match b.ident.as_str() {
                "variable" => {
                    if let Some(n) = label(0) {
                        self.variables.entry(n).or_insert(at);
                    }
                }
                "locals" => {
                    for (j, s) in b.body.iter().enumerate() {
                        if let Structure::Attribute(a) = s {
                            self.locals
                                .entry(a.key.as_str().to_string())
                                .or_insert(ItemRef {
                                    sub: u32::try_from(j).unwrap_or(u32::MAX),
                                    ..at
                                });
                        }
                    }
                }
                "resource" => {
                    if let (Some(t), Some(n)) = (label(0), label(1)) {
                        if !self.resource_idx.contains_key(&(t.clone(), n.clone())) {
                            self.resource_idx.insert((t, n), self.resources.len());
                            self.resources.push(at);
                        }
                    }
                }
                "data" => {
                    if let (Some(t), Some(n)) = (label(0), label(1)) {
                        self.data.entry((t, n)).or_insert(at);
                    }
                }
                "module" => {
                    if let Some(n) = label(0) {
                        if !self.module_idx.contains_key(&n) {
                            self.module_idx.insert(n, self.modules.len());
                            self.modules.push(at);
                        }
                    }
                }
                "output" => {
                    if let Some(n) = label(0) {
                        self.outputs.entry(n).or_insert(at);
                    }
                }
                _ => {}
            }
        }
    }

    /// The block an item names.
    #[must_use]
    pub fn block(&self, at: ItemRef) -> Option<(&ParsedFile, &Block)> {
        let f = self.files.get(at.file as usize)?;
        match f.body.get(at.idx as usize)? {
            Structure::Block(b) => Some((f, b)),
            Structure::Attribute(_) => None,
        }
    }

    /// The attribute a `locals` item names.
    #[must_use]
    pub fn local(&self, at: ItemRef) -> Option<(&ParsedFile, &Attribute)> {
        let (f, b) = self.block(at)?;
        match b.body.get(at.sub as usize)? {
            Structure::Attribute(a) => Some((f, a)),
            Structure::Block(_) => None,
        }
    }

    /// The directories that this module's local module calls (`source = "./…"`) point at.
    #[must_use]
    pub fn local_module_dirs(&self) -> Vec<PathBuf> {
        self.modules
            .iter()
            .filter_map(|m| {
                let (_, b) = self.block(*m)?;
                let src = literal_str(&b.body.get_attribute("source")?.value)?;
                is_local_source(src).then(|| clean_path(&self.dir.join(src)))
            })
            .collect()
    }
}

/// Largest `.tf` file parsed. Hand-written Terraform is kilobytes; a larger file is generated
/// or hostile, and parsing it costs about 70× its size in memory.
pub const MAX_TF_BYTES: usize = 4 * 1024 * 1024;

/// `text` when it is within [`MAX_TF_BYTES`], else a diagnostic saying so.
fn within_tf_limit(text: String, shown: &str) -> Result<String, Diagnostic> {
    if text.len() <= MAX_TF_BYTES {
        return Ok(text);
    }
    Err(Diagnostic::error(
        "too-large",
        format!(
            "Terraform file is {} MiB, over the {} MiB limit for .tf files; not read, so the stack cannot be checked whole",
            text.len() >> 20,
            MAX_TF_BYTES >> 20
        ),
    )
    .in_file(shown)
    .at(Pos { line: 1, column: 1 })
    .help("split the file, or exclude it from the scanned tree"))
}

/// A module directory read but not parsed yet, with the local module directories its text
/// names (so roots can be told from modules before anything is parsed).
#[derive(Debug, Default)]
pub struct RawDir {
    pub dir: PathBuf,
    /// `.tf` files: path, display path, text.
    files: Vec<(PathBuf, String, String)>,
    tfvars: Vec<PathBuf>,
    diags: Vec<Diagnostic>,
    /// Local module directories named by `source = "./…"` lines (a textual prescan; the
    /// evaluation follows the real module calls).
    pub targets: Vec<PathBuf>,
}

impl RawDir {
    /// Reads the `.tf` files of `dir` and notes its tfvars files.
    #[must_use]
    pub fn read(dir: &Path, base: &Path) -> Self {
        let mut raw = Self {
            dir: dir.to_path_buf(),
            ..Self::default()
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                raw.diags.push(
                    Diagnostic::error("unreadable", format!("cannot read directory: {e}"))
                        .in_file(display(dir, base)),
                );
                return raw;
            }
        };
        let mut names: Vec<(String, PathBuf)> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .collect();
        names.sort();
        let mut auto = Vec::new();
        for (name, path) in names {
            if Path::new(&name)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("tf"))
            {
                let shown = display(&path, base);
                if name == "override.tf" || name.ends_with("_override.tf") {
                    raw.diags.push(
                        Diagnostic::note(
                            "terraform-module",
                            "override files are not merged; this file is not read",
                        )
                        .in_file(shown),
                    );
                    continue;
                }
                match read_text(&path, &shown).and_then(|t| within_tf_limit(t, &shown)) {
                    Ok(text) => {
                        prescan_sources(&text, dir, &mut raw.targets);
                        raw.files.push((path, shown, text));
                    }
                    Err(d) => raw.diags.push(d),
                }
            } else if name.ends_with(".tf.json") {
                raw.diags.push(
                    Diagnostic::note(
                        "terraform-syntax",
                        "Terraform JSON configuration (.tf.json) is not read",
                    )
                    .in_file(display(&path, base))
                    .help("write the configuration in HCL, or scan a plan JSON"),
                );
            } else if name == "terraform.tfvars" || name == "terraform.tfvars.json" {
                raw.tfvars.insert(0, path);
            } else if name.ends_with(".auto.tfvars") || name.ends_with(".auto.tfvars.json") {
                auto.push(path);
            }
        }
        raw.tfvars.extend(auto);
        raw.targets.sort();
        raw.targets.dedup();
        raw
    }

    /// Whether the directory has any `.tf` file.
    #[must_use]
    pub fn has_tf(&self) -> bool {
        !self.files.is_empty()
    }

    /// Parses the files read (and the tfvars files).
    #[must_use]
    pub fn parse(self, base: &Path) -> ModuleDef {
        let mut def = ModuleDef {
            dir: self.dir,
            diags: self.diags,
            ..ModuleDef::default()
        };
        for (path, shown, text) in self.files {
            def.add_text(&path, &shown, text);
        }
        for path in &self.tfvars {
            if let Some(v) = read_var_file(path, base, &mut def.diags, &mut def.sources) {
                def.tfvars.push(v);
            }
        }
        def
    }
}

/// Finds `source = "./…"` lines: the local module directories a module calls.
fn prescan_sources(text: &str, dir: &Path, out: &mut Vec<PathBuf>) {
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix("source") else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        if let Some((src, _)) = rest.split_once('"') {
            if is_local_source(src) {
                out.push(clean_path(&dir.join(src)));
            }
        }
    }
}

/// Reads one variable definitions file (`.tfvars` or `.tfvars.json`).
pub fn read_var_file(
    path: &Path,
    base: &Path,
    diags: &mut Vec<Diagnostic>,
    sources: &mut Vec<Arc<SourceFile>>,
) -> Option<VarFile> {
    let shown = display(path, base);
    let text = match read_text(path, &shown) {
        Ok(t) => t,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    if shown.ends_with(".json") {
        return match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => {
                let source = Arc::new(SourceFile { path: shown, text });
                sources.push(source.clone());
                Some(VarFile::Json(source, v))
            }
            Err(e) => {
                diags.push(
                    Diagnostic::error("terraform-syntax", format!("invalid JSON: {e}"))
                        .in_file(&shown)
                        .at(Pos {
                            line: u32::try_from(e.line()).unwrap_or(u32::MAX),
                            column: u32::try_from(e.column()).unwrap_or(u32::MAX),
                        }),
                );
                None
            }
        };
    }
    match ParsedFile::parse(path, &shown, text) {
        Ok(f) => {
            sources.push(f.source.clone());
            Some(VarFile::Hcl(f))
        }
        Err((source, d)) => {
            sources.push(source);
            diags.push(d);
            None
        }
    }
}

/// A string literal (a quoted string without interpolation).
#[must_use]
pub fn literal_str(e: &Expression) -> Option<&str> {
    match e {
        Expression::String(s) => Some(s.value().as_str()),
        Expression::StringTemplate(t) => match t.iter().collect::<Vec<_>>().as_slice() {
            [hcl_edit::template::Element::Literal(l)] => Some(l.value().as_str()),
            [] => Some(""),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a module source is a local path (Terraform requires `./` or `../`).
#[must_use]
pub fn is_local_source(src: &str) -> bool {
    src.starts_with("./")
        || src.starts_with("../")
        || src.starts_with(".\\")
        || src.starts_with("..\\")
}

/// Removes `.` and `..` steps without touching the file system.
#[must_use]
pub fn clean_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// The identity of a directory: its canonical path when it exists.
#[must_use]
pub fn dir_key(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| clean_path(p))
}

/// The span of any spanned node, as a byte range.
pub fn range_of(node: &impl hcl_edit::Span) -> Option<Range<usize>> {
    node.span()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ParsedFile {
        ParsedFile::parse(Path::new("main.tf"), "main.tf", text.to_string()).expect("parses")
    }

    #[test]
    fn positions_are_one_based_and_count_code_points() {
        let f = parse("a = \"é\"\nbb = 2\n");
        assert_eq!(f.pos(0), Pos { line: 1, column: 1 });
        let second = f.source.text.find("bb").unwrap();
        assert_eq!(f.pos(second), Pos { line: 2, column: 1 });
        assert_eq!(f.pos(second + 5), Pos { line: 2, column: 6 });
        // é is two bytes: the closing quote is column 7, not 8.
        assert_eq!(f.pos(6), Pos { line: 1, column: 7 });
    }

    #[test]
    fn attribute_spans_run_from_key_to_value_end() {
        let f = parse("resource \"a\" \"b\" {\n  x = [1,\n    2]\n}\n");
        let Structure::Block(b) = f.body.get(0).unwrap() else {
            panic!()
        };
        let attr = b.body.get_attribute("x").unwrap();
        let span = f.span(&range_of(attr).unwrap());
        assert_eq!((span.start.line, span.start.column), (2, 3));
        assert_eq!((span.end.line, span.end.column), (3, 7));
        let block = f.span(&range_of(b).unwrap());
        assert_eq!((block.start.line, block.end.line), (1, 4));
    }

    #[test]
    fn syntax_error_reports_its_line() {
        let err = ParsedFile::parse(
            Path::new("bad.tf"),
            "bad.tf",
            "resource \"a\" \"b\" {\n  x = \n}\n".into(),
        )
        .unwrap_err();
        assert_eq!(err.1.code, "terraform-syntax");
        assert_eq!(err.1.pos.map(|p| p.line), Some(2));
    }

    #[test]
    fn ignore_comments_directly_above_become_entries() {
        let f = parse(
            "# unrelated\n\n# blogaudit:ignore BA210,BA211 scanned by CI until=2030-01-01\n// blogaudit:ignore BA212\nresource \"a\" \"b\" {}\n",
        );
        let start = f.source.text.find("resource").unwrap();
        let got: Vec<String> = f.ignores_above(start).into_iter().map(|e| e.0).collect();
        assert_eq!(
            got,
            vec![
                "BA210: scanned by CI until=2030-01-01",
                "BA211: scanned by CI until=2030-01-01",
                "BA212: "
            ]
        );
    }

    #[test]
    fn clean_path_resolves_parent_steps() {
        assert_eq!(
            clean_path(Path::new("a/b/../c/./d")),
            PathBuf::from("a/c/d")
        );
        assert_eq!(clean_path(Path::new("../x")), PathBuf::from("../x"));
    }
}
