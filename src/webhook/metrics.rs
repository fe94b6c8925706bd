//! Prometheus metrics of the webhook, in the text exposition format: reviews by result,
//! findings by rule and action, a latency histogram, and the cache's size, age and state.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// What a finding did, as `blogaudit_webhook_findings_total` labels it.
const ACTIONS: [&str; 3] = ["deny", "warn", "suppressed"];

/// How a review ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Allowed,
    /// Admitted with warnings.
    Warned,
    Denied,
    /// Admitted without evaluation (DELETE, a subresource, a kind no rule checks).
    Skipped,
    /// Answered by `--failure-mode`: the deadline passed or the evaluation failed.
    Failed,
    /// Not an AdmissionReview, too large or too slow to arrive (HTTP 4xx).
    Rejected,
}

impl Outcome {
    const ALL: [Self; 6] = [
        Self::Allowed,
        Self::Warned,
        Self::Denied,
        Self::Skipped,
        Self::Failed,
        Self::Rejected,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Warned => "warned",
            Self::Denied => "denied",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
        }
    }
}

/// The cache's state at scrape time.
#[derive(Clone, Debug, Default)]
pub struct CacheGauges {
    /// Objects by kind.
    pub objects: BTreeMap<String, usize>,
    /// Seconds since the rules' view of the cache was prepared.
    pub age_seconds: f64,
    pub synced: bool,
    pub generation: u64,
    /// Reviews answered from a kept answer, and reviews whose answer was not kept.
    pub verdict_hits: u64,
    pub verdict_misses: u64,
    /// Answers kept now.
    pub verdicts_kept: usize,
}

/// Counters shared by every connection.
#[derive(Default)]
pub struct Metrics {
    reviews: [AtomicU64; 6],
    /// Findings by rule: denied, warned, suppressed.
    findings: Mutex<BTreeMap<String, [u64; 3]>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum of latencies, in microseconds.
    sum_us: AtomicU64,
    pub tls_reloads: AtomicU64,
    pub tls_reload_errors: AtomicU64,
}

impl Metrics {
    /// Records one review that took `took`.
    pub fn review(&self, outcome: Outcome, took: Duration) {
        self.reviews[outcome as usize].fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Records findings, each by its rule and what it did: `deny`, `warn` or `suppressed`.
    pub fn findings(&self, findings: &[(String, &'static str)]) {
        if findings.is_empty() {
            return;
        }
        let Ok(mut counts) = self.findings.lock() else {
            return;
        };
        for (rule, action) in findings {
            let Some(i) = ACTIONS.iter().position(|a| a == action) else {
                continue;
            };
            match counts.get_mut(rule.as_str()) {
                Some(n) => n[i] += 1,
                None => {
                    let mut n = [0; 3];
                    n[i] = 1;
                    counts.insert(rule.clone(), n);
                }
            }
        }
    }

    /// Reviews that ended in `outcome` so far.
    #[must_use]
    pub fn reviews(&self, outcome: Outcome) -> u64 {
        self.reviews[outcome as usize].load(Ordering::Relaxed)
    }

    /// The exposition text.
    #[must_use]
    pub fn render(&self, cache: &CacheGauges) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP blogaudit_webhook_reviews_total Admission reviews answered, by result.\n# TYPE blogaudit_webhook_reviews_total counter"
        );
        for o in Outcome::ALL {
            let _ = writeln!(
                out,
                "blogaudit_webhook_reviews_total{{result=\"{}\"}} {}",
                o.label(),
                self.reviews(o)
            );
        }
        let _ = writeln!(
            out,
            "# HELP blogaudit_webhook_findings_total Findings in reviews, by rule and what they did.\n# TYPE blogaudit_webhook_findings_total counter"
        );
        if let Ok(f) = self.findings.lock() {
            for (rule, counts) in f.iter() {
                for (action, n) in ACTIONS.iter().zip(counts) {
                    if *n > 0 {
                        let _ = writeln!(
                            out,
                            "blogaudit_webhook_findings_total{{rule=\"{rule}\",action=\"{action}\"}} {n}"
                        );
                    }
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP blogaudit_webhook_review_duration_seconds Time from request to answer.\n# TYPE blogaudit_webhook_review_duration_seconds histogram"
        );
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "blogaudit_webhook_review_duration_seconds_bucket{{le=\"{b}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "blogaudit_webhook_review_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        #[allow(clippy::cast_precision_loss)]
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "blogaudit_webhook_review_duration_seconds_sum {sum}");
        let _ = writeln!(
            out,
            "blogaudit_webhook_review_duration_seconds_count {count}"
        );
        let _ = writeln!(
            out,
            "# HELP blogaudit_webhook_cache_objects Objects in the cluster cache, by kind.\n# TYPE blogaudit_webhook_cache_objects gauge"
        );
        for (kind, n) in &cache.objects {
            let _ = writeln!(
                out,
                "blogaudit_webhook_cache_objects{{kind=\"{kind}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP blogaudit_webhook_cache_age_seconds Seconds since the rules' view of the cache was prepared.\n# TYPE blogaudit_webhook_cache_age_seconds gauge\nblogaudit_webhook_cache_age_seconds {}",
            cache.age_seconds
        );
        let _ = writeln!(
            out,
            "# HELP blogaudit_webhook_cache_synced Whether every cached kind has been listed.\n# TYPE blogaudit_webhook_cache_synced gauge\nblogaudit_webhook_cache_synced {}",
            u8::from(cache.synced)
        );
        let _ = writeln!(
            out,
            "# HELP blogaudit_webhook_cache_generation Changes seen by the cache.\n# TYPE blogaudit_webhook_cache_generation counter\nblogaudit_webhook_cache_generation {}",
            cache.generation
        );
        let _ = writeln!(
            out,
            "# HELP blogaudit_webhook_verdict_cache_total Reviews of up to 32 KiB looked up among the recent answers, by result.\n# TYPE blogaudit_webhook_verdict_cache_total counter\nblogaudit_webhook_verdict_cache_total{{result=\"hit\"}} {}\nblogaudit_webhook_verdict_cache_total{{result=\"miss\"}} {}",
            cache.verdict_hits, cache.verdict_misses
        );
        let _ = writeln!(
            out,
            "# HELP blogaudit_webhook_verdict_cache_entries Recent answers kept.\n# TYPE blogaudit_webhook_verdict_cache_entries gauge\nblogaudit_webhook_verdict_cache_entries {}",
            cache.verdicts_kept
        );
        let _ = writeln!(
            out,
            "# HELP blogaudit_webhook_tls_reloads_total Serving certificates loaded after a change of the files.\n# TYPE blogaudit_webhook_tls_reloads_total counter\nblogaudit_webhook_tls_reloads_total {}",
            self.tls_reloads.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP blogaudit_webhook_tls_reload_errors_total Changed certificate files that could not be loaded (the previous certificate stays).\n# TYPE blogaudit_webhook_tls_reload_errors_total counter\nblogaudit_webhook_tls_reload_errors_total {}",
            self.tls_reload_errors.load(Ordering::Relaxed)
        );
        out
    }
}
