//! The user's cache directory and its entries, shared by the render cache of kustomize and
//! the scan cache: private to the user, written atomically, and pruned when unused.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Entries unused for this long are removed (once per run and directory, when something is
/// written), so a cache does not grow with every edit of a tree.
pub const MAX_AGE: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// `$XDG_CACHE_HOME/blogaudit/NAME`, else `~/.cache/blogaudit/NAME`; `None` when neither
/// is known.
#[must_use]
pub fn user_dir(name: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("blogaudit").join(name))
}

/// A cache directory, readable by its owner only (entries hold the user's configuration).
///
/// # Errors
/// When the directory cannot be made.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Reads the entry at `path`, and makes it young again: pruning removes only what no run
/// reads.
#[must_use]
pub fn read(path: &Path) -> Option<Vec<u8>> {
    let bytes = std::fs::read(path).ok()?;
    if let Ok(f) = std::fs::File::options().append(true).open(path) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
    Some(bytes)
}

/// Writes the entry `key` of `dir` from `parts` atomically (a temporary file renamed), so
/// that concurrent runs never read half an entry. A cache that cannot be written only costs
/// the next run some work, so failures are quiet; returns whether it was written.
pub fn write(dir: &Path, key: &str, parts: &[&[u8]]) -> bool {
    use std::io::Write;
    static TEMPORARIES: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{key}.{}.{}",
        std::process::id(),
        TEMPORARIES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = create_private_dir(dir)
        .and_then(|()| std::fs::File::create(&tmp))
        .and_then(|mut f| parts.iter().try_for_each(|p| f.write_all(p)))
        .and_then(|()| std::fs::rename(&tmp, dir.join(key)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    prune(dir);
    written.is_ok()
}

fn prune(dir: &Path) {
    static DONE: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let first = DONE.lock().is_ok_and(|mut done| {
        done.get_or_insert_with(HashSet::new)
            .insert(dir.to_path_buf())
    });
    if first {
        prune_now(dir);
    }
}

/// Removes the entries of `dir` unused for [`MAX_AGE`].
pub fn prune_now(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > MAX_AGE);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Lower-case hexadecimal of `bytes` (cache keys and file names).
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
