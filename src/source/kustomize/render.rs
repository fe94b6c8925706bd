//! Running `kubectl kustomize` on a root, with kustomize's origin annotations on, and keeping
//! the output in the user's cache directory.
//!
//! The root is rendered through a one-line wrapper kustomization (`resources: [ROOT]`,
//! `buildMetadata: [originAnnotations]`) so that kustomize itself says which file (or which
//! generator) each object comes from, without touching the user's files. The origin paths are
//! relative to the wrapper's directory, which is recorded with the output.

use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::graph::{absolute, Graph};
use crate::source::cache::{self, create_private_dir, hex};

/// Where the render cache lives and whether to use it.
#[derive(Clone, Debug, Default)]
pub struct Cache {
    /// `None`: no cache (`--no-cache`, or no cache directory known).
    pub dir: Option<PathBuf>,
}

impl Cache {
    /// The user's cache directory for rendered kustomizations: `$XDG_CACHE_HOME/blogaudit/
    /// kustomize`, else `~/.cache/blogaudit/kustomize`; none when `enabled` is false.
    #[must_use]
    pub fn user(enabled: bool) -> Self {
        Self {
            dir: crate::source::cache::user_dir("kustomize").filter(|_| enabled),
        }
    }
}

/// One root's rendered output.
#[derive(Debug)]
pub struct Rendered {
    /// The objects kubectl printed, Secret values already redacted (so the cache never holds
    /// them), origin annotations still on.
    pub objects: Vec<Value>,
    /// The wrapper directory the origin annotations are relative to.
    pub wrapper: PathBuf,
    /// Read from the cache (no kubectl run).
    pub cached: bool,
}

/// Why a root could not be rendered.
#[derive(Debug)]
pub enum Failure {
    /// kubectl ran and refused: its message.
    Kustomize(String),
    /// kubectl could not be started.
    NoKubectl(String),
}

/// Renders `root`, from the cache when its inputs have not changed.
pub fn render(root: &Path, graph: &Graph, cache: &Cache) -> Result<Rendered, Failure> {
    let key = cache.dir.as_ref().and_then(|dir| {
        let (inputs, remote) = graph.inputs(root);
        if remote {
            return None;
        }
        let version = kubectl_version(dir)?;
        Some(cache_key(root, &inputs, &version))
    });
    if let (Some(dir), Some(key)) = (&cache.dir, &key) {
        if let Some(hit) = read_entry(&dir.join(key)) {
            return Ok(hit);
        }
    }
    let rendered = run(root)?;
    if let (Some(dir), Some(key)) = (&cache.dir, &key) {
        write_entry(dir, key, &rendered);
    }
    Ok(rendered)
}

static WRAPPERS: AtomicU64 = AtomicU64::new(0);

fn run(root: &Path) -> Result<Rendered, Failure> {
    let root = absolute(root);
    let wrapper = absolute(&std::env::temp_dir()).join(format!(
        "blogaudit-kustomize-{}-{}",
        std::process::id(),
        WRAPPERS.fetch_add(1, Ordering::Relaxed)
    ));
    let text = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- {}\nbuildMetadata: [originAnnotations]\n",
        relative(&wrapper, &root).display()
    );
    let made = std::fs::create_dir_all(&wrapper)
        .and_then(|()| std::fs::write(wrapper.join("kustomization.yaml"), text));
    let output = match made {
        Ok(()) => kubectl_kustomize(&wrapper),
        Err(_) => kubectl_kustomize(&root),
    };
    let _ = std::fs::remove_dir_all(&wrapper);
    let output = output?;
    if output.status.success() {
        let yaml = String::from_utf8_lossy(&output.stdout);
        let (parsed, _) = crate::source::k8s::parse("", &yaml);
        return Ok(Rendered {
            objects: parsed.resources.into_iter().map(|r| r.body).collect(),
            wrapper,
            cached: false,
        });
    }
    // Through the wrapper, kustomize's message names the wrapper: ask again on the root
    // itself, so that the user sees what `kubectl kustomize DIR` says.
    let direct = kubectl_kustomize(&root)?;
    let err = if direct.status.success() {
        String::from_utf8_lossy(&output.stderr).into_owned()
    } else {
        String::from_utf8_lossy(&direct.stderr).into_owned()
    };
    Err(Failure::Kustomize(err.trim().to_string()))
}

fn kubectl_kustomize(dir: &Path) -> Result<std::process::Output, Failure> {
    Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .map_err(|e| Failure::NoKubectl(e.to_string()))
}

/// The path from directory `from` to `to`, both absolute.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let f: Vec<Component> = from.components().collect();
    let t: Vec<Component> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    out
}

/// `kubectl version --client`, remembered per kubectl binary (its path, size and time) so
/// that a warm scan starts no kubectl at all.
fn kubectl_version(cache: &Path) -> Option<String> {
    let exe = which("kubectl")?;
    let meta = std::fs::metadata(&exe).ok()?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let id = hex(&Sha256::digest(
        format!("{}\0{}\0{modified}", exe.display(), meta.len()).as_bytes(),
    ));
    let memo = cache.join(format!("kubectl-{}", &id[..16]));
    if let Ok(v) = std::fs::read_to_string(&memo) {
        return Some(v);
    }
    let out = Command::new(&exe)
        .args(["version", "--client"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let v = String::from_utf8_lossy(&out.stdout).into_owned();
    let _ = create_private_dir(cache).and_then(|()| std::fs::write(&memo, &v));
    Some(v)
}

/// The first executable named `name` on `PATH`.
#[must_use]
pub fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Hash of the kubectl version, the root's place and the content of every file it reads.
fn cache_key(root: &Path, inputs: &std::collections::BTreeSet<PathBuf>, version: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"blogaudit-kustomize-1\0");
    h.update(version.as_bytes());
    h.update([0]);
    h.update(absolute(root).as_os_str().as_encoded_bytes());
    h.update([0]);
    for f in inputs {
        h.update(f.as_os_str().as_encoded_bytes());
        h.update([0]);
        match std::fs::read(f) {
            Ok(bytes) => {
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(&bytes);
            }
            Err(_) => h.update(b"\xffmissing"),
        }
    }
    hex(&h.finalize())
}

/// An entry is the wrapper directory on its first line, then the objects as a JSON array.
fn read_entry(path: &Path) -> Option<Rendered> {
    let text = String::from_utf8(cache::read(path)?).ok()?;
    let (wrapper, json) = text.split_once('\n')?;
    Some(Rendered {
        objects: serde_json::from_str(json).ok()?,
        wrapper: PathBuf::from(wrapper),
        cached: true,
    })
}

/// Writes an entry: the wrapper directory, then the objects.
fn write_entry(dir: &Path, key: &str, r: &Rendered) {
    let Some(wrapper) = r.wrapper.to_str().filter(|w| !w.contains('\n')) else {
        return;
    };
    let Ok(json) = serde_json::to_vec(&r.objects) else {
        return;
    };
    let _ = cache::write(dir, key, &[wrapper.as_bytes(), b"\n", &json]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_stay_and_entries_unread_for_30_days_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let long_ago = std::time::SystemTime::now() - cache::MAX_AGE - cache::MAX_AGE;
        let age = |name: &str| {
            let f = std::fs::File::options()
                .append(true)
                .open(dir.path().join(name))
                .expect("open");
            f.set_modified(long_ago).expect("set mtime");
        };
        let object = Rendered {
            objects: vec![serde_json::json!({"kind": "ConfigMap"})],
            wrapper: PathBuf::from("/tmp/w"),
            cached: false,
        };
        write_entry(dir.path(), "old", &object);
        write_entry(dir.path(), "used", &object);
        age("old");
        age("used");
        let hit = read_entry(&dir.path().join("used")).expect("an entry");
        assert!(hit.cached);
        assert_eq!(hit.objects, object.objects);
        assert_eq!(hit.wrapper, object.wrapper);
        cache::prune_now(dir.path());
        assert!(!dir.path().join("old").exists());
        assert!(dir.path().join("used").exists());
    }
}
