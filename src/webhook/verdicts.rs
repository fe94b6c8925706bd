//! Answers and the recent ones kept for reuse.
//!
//! An [`Answer`] is what a judged review sends and counts: admitted or refused, the denial
//! message, the warnings, and the findings by rule and action. It is made from a
//! [`Verdict`] once, and the same review sent again gets the same answer without being
//! judged: GitOps controllers send the same objects again on each sync (a server-side dry
//! run, then the apply), and `kubectl diff` then `kubectl apply` send each object twice.
//!
//! [`Verdicts`] keeps recent answers by everything they depend on: the request's content
//! ([`super::review::Request::content`]), the day (suppressions expire), the cached kinds
//! that cannot be trusted now, and the generation of the rules' view of the cluster. A new
//! generation empties it. It keeps at most `--verdict-cache` answers and 16 MiB of keys and
//! answers, the oldest going first.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::metrics::Outcome;
use crate::pipeline::admission::Verdict;

/// Most bytes of keys and answers kept.
const BYTE_LIMIT: usize = 16 * 1024 * 1024;

/// What a judged review answers and counts.
#[derive(Debug)]
pub struct Answer {
    pub outcome: Outcome,
    /// The denial message (`None`: admitted).
    pub denial: Option<String>,
    pub warnings: Vec<String>,
    /// Each finding's rule and what it did: `deny`, `warn` or `suppressed`.
    pub findings: Vec<(String, &'static str)>,
    /// The rules that refused the object.
    pub denied_by: BTreeSet<String>,
}

impl Answer {
    /// The answer to `verdict`, or why the object could not be judged whole (then it is
    /// answered by the failure mode, and nothing is kept).
    ///
    /// # Errors
    /// A rule error or a field of the wrong type, and nothing denied.
    pub fn of(verdict: &Verdict) -> Result<Self, String> {
        if !verdict.errors.is_empty() && verdict.denials.is_empty() {
            return Err(verdict.errors.join("; "));
        }
        let findings = verdict
            .findings
            .iter()
            .map(|f| {
                let action = if f.suppression.is_some() {
                    "suppressed"
                } else if verdict
                    .denials
                    .iter()
                    .any(|d| d.finding.fingerprint == f.fingerprint)
                {
                    "deny"
                } else {
                    "warn"
                };
                (f.rule_id.to_string(), action)
            })
            .collect();
        let outcome = if verdict.skipped.is_some() {
            Outcome::Skipped
        } else if !verdict.allowed {
            Outcome::Denied
        } else if verdict.warnings.is_empty() {
            Outcome::Allowed
        } else {
            Outcome::Warned
        };
        Ok(Self {
            outcome,
            denial: (!verdict.allowed).then(|| verdict.message()),
            warnings: verdict.warnings.clone(),
            findings,
            denied_by: verdict
                .denials
                .iter()
                .map(|d| d.finding.rule_id.to_string())
                .collect(),
        })
    }

    /// About how many bytes it holds.
    fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.denial.as_ref().map_or(0, String::len)
            + self.warnings.iter().map(|w| w.len() + 24).sum::<usize>()
            + self.findings.len() * 48
            + self.denied_by.iter().map(|r| r.len() + 48).sum::<usize>()
    }
}

/// Recent answers by what decides them.
pub struct Verdicts {
    /// Most answers kept; 0 keeps none.
    entries: usize,
    inner: Mutex<Kept>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Default)]
struct Kept {
    /// The generation of the view the answers were judged against.
    generation: u64,
    answers: HashMap<Arc<[u8]>, (Arc<Answer>, usize)>,
    /// Keys, oldest first.
    order: VecDeque<Arc<[u8]>>,
    bytes: usize,
}

impl Kept {
    fn clear(&mut self, generation: u64) {
        *self = Self {
            generation,
            ..Self::default()
        };
    }
}

impl Verdicts {
    /// Keeps at most `entries` answers.
    #[must_use]
    pub fn new(entries: usize) -> Self {
        Self {
            entries,
            inner: Mutex::new(Kept::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The answer kept for `key` judged at `generation`, if any.
    pub fn get(&self, generation: u64, key: &[u8]) -> Option<Arc<Answer>> {
        if self.entries == 0 {
            return None;
        }
        let found = self.inner.lock().ok().and_then(|kept| {
            (kept.generation == generation)
                .then(|| kept.answers.get(key).map(|(a, _)| Arc::clone(a)))
                .flatten()
        });
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `answer` for `key`, judged at `generation` (or a later one). Answers of an
    /// older generation are dropped when a newer one arrives.
    pub fn put(&self, generation: u64, key: Vec<u8>, answer: Arc<Answer>) {
        if self.entries == 0 {
            return;
        }
        let size = key.len() + answer.size() + 64;
        if size > BYTE_LIMIT / 16 {
            return;
        }
        let Ok(mut kept) = self.inner.lock() else {
            return;
        };
        if generation < kept.generation {
            return;
        }
        if generation > kept.generation {
            kept.clear(generation);
        }
        let key: Arc<[u8]> = key.into();
        if kept.answers.contains_key(&key) {
            return;
        }
        while !kept.order.is_empty()
            && (kept.answers.len() >= self.entries || kept.bytes + size > BYTE_LIMIT)
        {
            if let Some(old) = kept.order.pop_front() {
                if let Some((_, n)) = kept.answers.remove(&old) {
                    kept.bytes -= n;
                }
            }
        }
        kept.bytes += size;
        kept.order.push_back(Arc::clone(&key));
        kept.answers.insert(key, (answer, size));
    }

    /// Reviews answered from a kept answer, and reviews looked up and not found.
    #[must_use]
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Answers kept now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |k| k.answers.len())
    }

    /// Whether no answer is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(rule: &str) -> Arc<Answer> {
        Arc::new(Answer {
            outcome: Outcome::Denied,
            denial: Some(format!("{rule} refused")),
            warnings: Vec::new(),
            findings: vec![(rule.to_string(), "deny")],
            denied_by: BTreeSet::from([rule.to_string()]),
        })
    }

    #[test]
    fn kept_answers_are_found_by_key_and_generation() {
        let v = Verdicts::new(8);
        assert!(v.get(1, b"a").is_none());
        v.put(1, b"a".to_vec(), answer("BA101"));
        assert_eq!(
            v.get(1, b"a").and_then(|a| a.denial.clone()).as_deref(),
            Some("BA101 refused")
        );
        assert!(v.get(1, b"b").is_none());
        // Another generation of the view: not found, and a newer one empties the cache.
        assert!(v.get(2, b"a").is_none());
        v.put(2, b"b".to_vec(), answer("BA102"));
        assert!(v.get(1, b"a").is_none());
        assert_eq!(v.len(), 1);
        // An answer judged against an older view is not kept.
        v.put(1, b"c".to_vec(), answer("BA103"));
        assert!(v.get(2, b"c").is_none());
        assert_eq!(v.counts(), (1, 5));
    }

    #[test]
    fn the_oldest_answers_go_first() {
        let v = Verdicts::new(3);
        for i in 0..5u8 {
            v.put(7, vec![i], answer("BA101"));
        }
        assert_eq!(v.len(), 3);
        assert!(v.get(7, &[0]).is_none());
        assert!(v.get(7, &[1]).is_none());
        assert!(v.get(7, &[4]).is_some());
    }

    #[test]
    fn size_zero_keeps_nothing() {
        let v = Verdicts::new(0);
        v.put(1, b"a".to_vec(), answer("BA101"));
        assert!(v.get(1, b"a").is_none());
        assert!(v.is_empty());
        assert_eq!(v.counts(), (0, 0));
    }
}
