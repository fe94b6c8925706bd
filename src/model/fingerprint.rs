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
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for f in findings.iter_mut() {
        let n = seen.entry(f.fingerprint.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            f.fingerprint = format!("{}:{}", f.fingerprint, n);
        }
    }
}
