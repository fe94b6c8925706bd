//! The scan cache: a scan whose inputs have not changed since an earlier scan reuses that
//! scan's results. It parses no file, renders nothing and runs no rule.
//!
//! A scan's results depend on:
//! - blogaudit itself (the running executable);
//! - the options that change results;
//! - the config file and the user's rules;
//! - `kubectl` and `helm`;
//! - every file under the scanned paths;
//! - what the loaders read elsewhere: kustomize bases and Terraform modules outside the
//!   scanned paths, and the files that Terraform's `file()` reads.
//!
//! The key hashes all but the last. An entry lists the last, each with its hash, and the
//! entry is used only when every one of them is unchanged.
//!
//! Reports rendered from an entry's results can be kept with it ([`Memo::keeper`]), each
//! under what decides its bytes besides the results (its format and the like), so that the
//! same command over unchanged inputs copies them ([`Memo::report`]) instead of rendering
//! them again. The face decides when a copy may stand for a report.
//!
//! A scan is not stored when it gave an error, because what fixes a broken input may be
//! outside the key (a permission, a network). Nor is it stored when it read something
//! remote. Selection (`--baseline`, `--changed-since`) and the baseline written by
//! `--write-baseline` are applied after the cache, on every run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Options, Outcome};
use crate::config::Config;
use crate::model::{Checked, Diagnostic, Finding, Level, Severity, SourceFile};
use crate::source::{self, cache, Reads, SKIPPED_DIRS};

/// The format of an entry; a change of it makes every older entry a miss.
const FORMAT: &str = "blogaudit-scan-1";

/// Where a scan's results are kept: the entry of its key in the cache directory.
pub struct Memo {
    dir: PathBuf,
    key: String,
    /// What display paths are relative to.
    base: PathBuf,
    /// The hash of the reads file of the entry this run used or stored: a report kept with
    /// the entry names it, so a later entry of the same key (what the scan read outside
    /// the tree changed) never serves an earlier entry's reports.
    reads: std::sync::OnceLock<String>,
    /// How long opening took (the key hashes every input file): part of the `cache` stage.
    pub opened_in: std::time::Duration,
}

/// The results of an earlier scan, before selection.
pub struct Hit {
    /// The IDs of the rules the scan ran.
    pub rules: Vec<String>,
    pub findings: Vec<Finding>,
    pub diagnostics: Vec<Diagnostic>,
    pub checked: Vec<Checked>,
    pub files: Vec<SourceFile>,
}

/// An entry as read: [`Hit`], with what the scan read outside the scanned paths.
#[derive(Deserialize)]
struct Entry {
    format: String,
    rules: Vec<String>,
    findings: Vec<Finding>,
    diagnostics: Vec<Diagnostic>,
    checked: Vec<Checked>,
    files: Vec<Kept<String>>,
}

/// An entry as written, borrowing from the outcome.
#[derive(Serialize)]
struct Stored<'a> {
    format: &'static str,
    rules: Vec<&'a str>,
    findings: &'a [Finding],
    diagnostics: &'a [Diagnostic],
    checked: &'a [Checked],
    files: Vec<Kept<&'a str>>,
}

/// What a scan read outside the key's tree, kept beside its entry (`KEY.reads`): the entry
/// and every report kept with it stand only while all of it is unchanged.
#[derive(Serialize, Deserialize)]
struct Outside<P> {
    format: String,
    /// Files, each with its hash.
    files: Vec<(P, String)>,
    /// Directories, each with the hash of its files.
    dirs: Vec<(P, String)>,
}

/// A source file of the reports. Its text is kept only when it is not the file's content on
/// disk (Secret values masked, or text not read from a file); otherwise the hash of the text
/// is kept, and a hit reads the file again.
#[derive(Serialize, Deserialize)]
struct Kept<T> {
    path: String,
    text: Option<T>,
    digest: String,
}

impl Memo {
    /// The entry of `opts`'s scan; `None` with `--no-cache` or without a cache directory.
    #[must_use]
    pub fn open(opts: &Options) -> Option<Self> {
        if opts.no_cache {
            return None;
        }
        let started = std::time::Instant::now();
        let dir = cache::user_dir("scan")?;
        Some(Self {
            dir,
            key: key(opts),
            base: opts.base.clone(),
            reads: std::sync::OnceLock::new(),
            opened_in: started.elapsed(),
        })
    }

    /// The entry, when there is one and what it read outside the tree is unchanged.
    #[must_use]
    pub fn lookup(&self) -> Option<Hit> {
        let reads = self.outside_unchanged()?;
        let text = String::from_utf8(cache::read(&self.dir.join(&self.key))?).ok()?;
        let entry: Entry = serde_json::from_str(&text).ok()?;
        drop(text);
        if entry.format != FORMAT {
            return None;
        }
        let _ = self.reads.set(reads);
        let files = entry
            .files
            .into_par_iter()
            .map(|kept| {
                let text = match kept.text {
                    Some(text) => text,
                    None => std::fs::read_to_string(self.base.join(&kept.path))
                        .ok()
                        .filter(|t| cache::hex(&Sha256::digest(t)) == kept.digest)?,
                };
                Some(SourceFile {
                    path: kept.path,
                    text,
                })
            })
            .collect::<Option<Vec<SourceFile>>>()?;
        Some(Hit {
            rules: entry.rules,
            findings: entry.findings,
            diagnostics: entry.diagnostics,
            checked: entry.checked,
            files,
        })
    }

    /// A report kept with this entry by [`Memo::keeper`], while what the scan read outside
    /// the tree is unchanged: the worst severity of an unsuppressed finding, and the
    /// report's bytes to copy from.
    #[must_use]
    pub fn report(&self, signature: &str) -> Option<(Option<Severity>, impl std::io::Read)> {
        use std::io::BufRead;
        let reads = self.outside_unchanged()?;
        let path = self.report_path(signature);
        let file = std::fs::File::open(&path).ok()?;
        let mut reader = std::io::BufReader::new(file);
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let (of, worst) = header.trim_end().split_once(' ')?;
        if of != reads {
            return None;
        }
        let worst: Option<Severity> = serde_json::from_str(worst).ok()?;
        if let Ok(f) = std::fs::File::options().append(true).open(&path) {
            let _ = f.set_modified(std::time::SystemTime::now());
        }
        Some((worst, reader))
    }

    /// A copy of a report as it is written, kept with this entry under `signature` (what
    /// decides the report's bytes besides the results) when [`Keeper::finish`] is called.
    /// `worst` is the worst severity of an unsuppressed finding, which decides the exit code.
    #[must_use]
    pub fn keeper(&self, signature: &str, worst: Option<Severity>) -> Option<Keeper> {
        use std::io::Write;
        let reads = self.reads.get()?;
        cache::create_private_dir(&self.dir).ok()?;
        let path = self.report_path(signature);
        let name = path.file_name()?.to_string_lossy();
        let tmp = self.dir.join(format!(".{name}.{}", std::process::id()));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp).ok()?);
        let worst = serde_json::to_string(&worst).ok()?;
        writeln!(out, "{reads} {worst}").ok()?;
        Some(Keeper {
            out,
            tmp,
            path,
            failed: false,
        })
    }

    /// The hash of the entry's reads file, when what the scan read outside the key's tree
    /// is unchanged.
    fn outside_unchanged(&self) -> Option<String> {
        let bytes = cache::read(&self.dir.join(format!("{}.reads", self.key)))?;
        let outside = serde_json::from_slice::<Outside<PathBuf>>(&bytes).ok()?;
        let unchanged = outside.format == FORMAT
            && outside
                .files
                .par_iter()
                .all(|(path, digest)| *digest == cache::hex(&file_digest(path)))
            && outside
                .dirs
                .par_iter()
                .all(|(path, digest)| *digest == cache::hex(&dir_digest(path)));
        unchanged.then(|| cache::hex(&Sha256::digest(&bytes)))
    }

    fn report_path(&self, signature: &str) -> PathBuf {
        let id = cache::hex(&Sha256::digest(signature.as_bytes()));
        self.dir.join(format!("{}.{}", self.key, &id[..16]))
    }

    /// Keeps `outcome` (before selection) under this key, unless it may not be reused, or
    /// an input changed while `opts`'s scan ran (its results may then be of either state).
    /// Returns whether it was kept.
    pub fn store(&self, opts: &Options, outcome: &Outcome, reads: &Reads) -> bool {
        if reads.remote || outcome.diagnostics.iter().any(|d| d.level == Level::Error) {
            return false;
        }
        if key(opts) != self.key {
            return false;
        }
        let mut files: Vec<&SourceFile> = outcome.files.values().map(Arc::as_ref).collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut read_files: Vec<&Path> = reads.files.iter().map(PathBuf::as_path).collect();
        read_files.sort();
        read_files.dedup();
        let mut read_dirs: Vec<&Path> = reads.dirs.iter().map(PathBuf::as_path).collect();
        read_dirs.sort();
        read_dirs.dedup();
        let outside = Outside {
            format: FORMAT.to_string(),
            files: read_files
                .into_par_iter()
                .map(|p| (p, cache::hex(&file_digest(p))))
                .collect(),
            dirs: read_dirs
                .into_par_iter()
                .map(|p| (p, cache::hex(&dir_digest(p))))
                .collect(),
        };
        let stored = Stored {
            format: FORMAT,
            rules: outcome
                .rules
                .rules
                .iter()
                .map(|r| r.meta.id.as_str())
                .collect(),
            findings: &outcome.findings,
            diagnostics: &outcome.diagnostics,
            checked: &outcome.checked,
            files: files
                .into_par_iter()
                .map(|f| {
                    let on_disk = std::fs::read(self.base.join(&f.path))
                        .is_ok_and(|bytes| bytes == f.text.as_bytes());
                    Kept {
                        path: f.path.clone(),
                        text: (!on_disk).then_some(f.text.as_str()),
                        digest: cache::hex(&Sha256::digest(&f.text)),
                    }
                })
                .collect(),
        };
        // The entry stands only with its reads beside it: written first, it is never used
        // alone.
        match (serde_json::to_vec(&stored), serde_json::to_vec(&outside)) {
            (Ok(entry), Ok(reads)) => {
                let kept = cache::write(&self.dir, &self.key, &[&entry])
                    && cache::write(&self.dir, &format!("{}.reads", self.key), &[&reads]);
                if kept {
                    let _ = self.reads.set(cache::hex(&Sha256::digest(&reads)));
                }
                kept
            }
            _ => false,
        }
    }
}

/// A report being kept: written beside the real output, then renamed into place, so that a
/// concurrent run never reads half a report. A failed write only loses the copy.
pub struct Keeper {
    out: std::io::BufWriter<std::fs::File>,
    tmp: PathBuf,
    path: PathBuf,
    failed: bool,
}

impl Keeper {
    /// Copies `bytes` of the report.
    pub fn copy(&mut self, bytes: &[u8]) {
        use std::io::Write;
        if !self.failed && self.out.write_all(bytes).is_err() {
            self.failed = true;
        }
    }

    /// Keeps the copy, when the whole report was written.
    pub fn finish(mut self, written: bool) {
        use std::io::Write;
        let kept = written && !self.failed && self.out.flush().is_ok();
        if !(kept && std::fs::rename(&self.tmp, &self.path).is_ok()) {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// The hash of everything but the reads outside the tree (see the module's documentation).
fn key(opts: &Options) -> String {
    let mut h = Sha256::new();
    let mut put = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    put(FORMAT.as_bytes());
    put(env!("CARGO_PKG_VERSION").as_bytes());
    put(&identity(std::env::current_exe().ok().as_deref()));
    for tool in ["kubectl", "helm"] {
        put(&identity(source::kustomize::which(tool).as_deref()));
    }
    // The options that change results (not selection, output or the baseline's path).
    put(opts.base.as_os_str().as_encoded_bytes());
    put(&opts.today.to_le_bytes());
    put(&[u8::from(opts.compiled_user_rules)]);
    for (name, value) in &opts.vars {
        put(name.as_bytes());
        put(value.as_bytes());
    }
    for set in &opts.helm_set {
        put(set.as_bytes());
    }
    let config = opts
        .config
        .clone()
        .or_else(|| opts.paths.first().and_then(|p| Config::discover(p)));
    let mut files: Vec<PathBuf> = config.into_iter().collect();
    files.extend(opts.var_files.iter().cloned());
    files.extend(opts.helm_values.iter().cloned());
    for f in &files {
        put(f.as_os_str().as_encoded_bytes());
        put(&file_digest(f));
    }
    // The user's rules, then every file under the scanned paths.
    for root in opts.rules.iter().chain(&opts.paths) {
        put(root.as_os_str().as_encoded_bytes());
        put(&tree_digest(root));
    }
    cache::hex(&h.finalize())
}

/// Where an executable is, its size and time: changes when it is rebuilt or replaced.
fn identity(exe: Option<&Path>) -> Vec<u8> {
    let Some(exe) = exe else {
        return b"absent".to_vec();
    };
    let meta = std::fs::metadata(exe).ok();
    let modified = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}\0{}\0{modified}",
        exe.display(),
        meta.map_or(0, |m| m.len())
    )
    .into_bytes()
}

/// The hash of a file's content. A file over the size limit, which no loader reads, is
/// hashed by its size and time; one that cannot be read, by the reason; anything but a
/// regular file (a FIFO, a device), which is never read, by its kind.
fn file_digest(path: &Path) -> [u8; 32] {
    let mut h = Sha256::new();
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            h.update(b"special\0");
            h.update(format!("{:?}", m.file_type()));
        }
        Ok(m) if m.len() > source::MAX_FILE_BYTES => {
            h.update(b"large\0");
            h.update(identity(Some(path)));
        }
        Ok(_) => match std::fs::read(path) {
            Ok(bytes) => {
                h.update(b"file\0");
                h.update(&bytes);
            }
            Err(e) => {
                h.update(b"unreadable\0");
                h.update(e.kind().to_string());
            }
        },
        Err(e) => {
            h.update(b"missing\0");
            h.update(e.kind().to_string());
        }
    }
    h.finalize().into()
}

/// The hash of the files directly in `dir`: their names and contents.
fn dir_digest(dir: &Path) -> [u8; 32] {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    files_hash(&names).finalize().into()
}

/// A hash of `files`, in order: each path with the hash of its content (the files read in
/// parallel).
fn files_hash(files: &[PathBuf]) -> Sha256 {
    let digests: Vec<[u8; 32]> = files.par_iter().map(|p| file_digest(p)).collect();
    let mut h = Sha256::new();
    for (path, digest) in files.iter().zip(digests) {
        h.update(path.as_os_str().as_encoded_bytes());
        h.update([0]);
        h.update(digest);
    }
    h
}

/// The hash of every file under `root` (a file or a directory), walked as discovery walks
/// it: links followed, [`SKIPPED_DIRS`] skipped. Problems of the walk (a link loop, an
/// unreadable directory) are hashed too.
fn tree_digest(root: &Path) -> [u8; 32] {
    let mut walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    while let Some(entry) = walker.next() {
        match entry {
            Ok(e) if e.file_type().is_dir() => {
                let skipped = e.depth() > 0
                    && SKIPPED_DIRS.contains(&e.file_name().to_string_lossy().as_ref());
                if skipped {
                    walker.skip_current_dir();
                }
            }
            Ok(e) => files.push(e.into_path()),
            Err(e) => problems.push(e.to_string()),
        }
    }
    let mut h = files_hash(&files);
    for p in problems {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}
