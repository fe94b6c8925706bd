//! Stable fingerprints: a hash of what a finding is about, never of where its lines are.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{pointer, PathSeg};
use crate::model::{Finding, Location, ResourceRef};

/// The `partialFingerprints` key of a result's stable fingerprint (baselines read it back).
pub const FINGERPRINT_KEY: &str = "blogauditFingerprint/v1";

/// A finding's fingerprint: the first 16 bytes of a hash, written as 32 lowercase hex digits,
/// and for the second and later findings of one identity in a run, `:n` after them. Held as
/// bytes (20, against 56 for the text) and written out only in reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    hash: [u8; 16],
    /// 0 for the first finding of its identity, `n` (2 or more) for the n-th.
    occurrence: u32,
}

impl Fingerprint {
    /// The fingerprint of the first finding of its identity.
    #[must_use]
    pub fn first(self) -> Self {
        Self {
            occurrence: 0,
            ..self
        }
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.hash {
            write!(f, "{b:02x}")?;
        }
        if self.occurrence > 1 {
            write!(f, ":{}", self.occurrence)?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Fingerprint {
    type Err = String;

    /// Reads what [`Fingerprint`]'s `Display` writes, and nothing else.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("not a fingerprint: `{s}`");
        let (hex, occurrence) = match s.split_once(':') {
            Some((hex, n)) => {
                let occurrence = n.parse::<u32>().map_err(|_| bad())?;
                if occurrence < 2 || occurrence.to_string() != n {
                    return Err(bad());
                }
                (hex, occurrence)
            }
            None => (s, 0),
        };
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let mut hash = [0u8; 16];
        if hex.len() != 2 * hash.len() {
            return Err(bad());
        }
        for (b, pair) in hash.iter_mut().zip(hex.as_bytes().chunks(2)) {
            *b = digit(pair[0])
                .zip(digit(pair[1]))
                .map(|(high, low)| high << 4 | low)
                .ok_or_else(bad)?;
        }
        Ok(Self { hash, occurrence })
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <std::borrow::Cow<'de, str>>::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Hash of rule ID, file (or object reference), resource identity and field path.
#[must_use]
pub fn of(
    rule: &str,
    location: &Location,
    resource: &ResourceRef,
    path: &[PathSeg],
) -> Fingerprint {
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
    let mut hash = [0u8; 16];
    hash.copy_from_slice(&h.finalize()[..16]);
    Fingerprint {
        hash,
        occurrence: 0,
    }
}

/// Two findings with the same identity (the same field reported twice) get an occurrence
/// suffix, so every fingerprint of a run is distinct.
pub fn disambiguate(findings: &mut [Finding]) {
    // The fingerprints that repeat, found first: repeats are rare.
    let mut count = std::collections::HashMap::<Fingerprint, u32>::new();
    for f in findings.iter() {
        *count.entry(f.fingerprint).or_insert(0) += 1;
    }
    count.retain(|_, n| *n > 1);
    if count.is_empty() {
        return;
    }
    count.values_mut().for_each(|n| *n = 0);
    for f in findings.iter_mut() {
        let Some(n) = count.get_mut(&f.fingerprint) else {
            continue;
        };
        *n += 1;
        if *n > 1 {
            f.fingerprint.occurrence = *n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_reads_back_what_it_writes_and_nothing_else() {
        let hex = "0123456789abcdef0011223344556677";
        for text in [hex.to_string(), format!("{hex}:2"), format!("{hex}:17")] {
            let fp: Fingerprint = text.parse().unwrap();
            assert_eq!(fp.to_string(), text);
            assert_eq!(fp.first().to_string(), hex);
        }
        for bad in [
            "",
            "0123456789ABCDEF0011223344556677",
            "0123456789abcdef001122334455667",
            "0123456789abcdef0011223344556677:1",
            "0123456789abcdef0011223344556677:02",
            "0123456789abcdef0011223344556677:+3",
            "0123456789abcdef001122334455667g",
        ] {
            assert!(bad.parse::<Fingerprint>().is_err(), "{bad}");
        }
    }
}
