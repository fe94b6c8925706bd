//! Stable fingerprints: a hash of what a finding is about, never of where its lines are.

use sha2::{Digest, Sha256};

use crate::model::{pointer, PathSeg};
use crate::model::{Finding, Location, ResourceRef};

/// The `partialFingerprints` key of a result's stable fingerprint (baselines read it back).
pub const FINGERPRINT_KEY: &str = "blogauditFingerprint/v1";

/// Hash of rule ID, file (or object reference), resource identity and field path.
#[must_use]
pub fn of(rule: &str, location: &Location, resource: &ResourceRef, path: &[PathSeg]) -> String {
    let place = location.file_or_reference();
    let mut h = Sha256::new();
    for part in [
        rule,
        place,
        &resource.kind,
        &resource.namespace,
        &resource.name,
        &pointer(path),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex(&h.finalize()[..16])
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Two findings with the same identity (the same field reported twice) get an occurrence
/// suffix, so every fingerprint of a run is distinct.
pub fn disambiguate(findings: &mut [Finding]) {
    // The fingerprints that repeat, found first over borrowed strings: a copy of every
    // fingerprint would cost more than a hundred bytes a finding, and repeats are rare.
    let mut count = std::collections::HashMap::<&str, usize>::new();
    for f in findings.iter() {
        *count.entry(f.fingerprint.as_str()).or_insert(0) += 1;
    }
    let mut seen: std::collections::HashMap<String, usize> = count
        .into_iter()
        .filter(|&(_, n)| n > 1)
        .map(|(fp, _)| (fp.to_string(), 0))
        .collect();
    if seen.is_empty() {
        return;
    }
    for f in findings.iter_mut() {
        let Some(n) = seen.get_mut(&f.fingerprint) else {
            continue;
        };
        *n += 1;
        if *n > 1 {
            f.fingerprint = format!("{}:{}", f.fingerprint, n);
        }
    }
}
