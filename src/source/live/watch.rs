//! A watch cache of the cluster: one kube-rs reflector per kind that a rule looks up, kept
//! current by list + watch, for the admission webhook.
//!
//! Only the kinds the rules read from the inventory are cached (network policies, service
//! accounts, HPAs …), never the workloads under review, so memory follows the cluster's
//! policy objects, not its pods. Every change bumps a generation and wakes whoever waits on
//! [`Cache::changed`]; the webhook then prepares the rules' view of the cache once, instead
//! of on every review.
//!
//! The view holds the objects without their `status`, `resourceVersion` and managed fields,
//! and an update that changes only those is no change: controllers write status all the
//! time (an HPA's every 15 seconds), and each would otherwise prepare a new view and empty
//! the webhook's recent answers.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::reflector::{self, store::Writer, Store};
use kube::runtime::{watcher, WatchStreamExt};

use serde_json::Value;

use super::kubernetes::{resource, trim, Served};
use crate::model::Resource;

/// How one kind's watch is doing.
#[derive(Clone, Debug)]
pub struct KindState {
    pub kind: String,
    /// The first full list has arrived.
    pub synced: bool,
    /// The last error of the watch, and since when it has been failing; `None` while it
    /// works.
    pub failing: Option<(Instant, String)>,
    /// When the last event (or the initial list) arrived.
    pub last_event: Option<Instant>,
}

struct Kind {
    served: Served,
    store: Store<DynamicObject>,
    state: Arc<Mutex<KindState>>,
}

/// The cache: one reflector per served kind.
pub struct Cache {
    kinds: Vec<Kind>,
    generation: Arc<AtomicU64>,
    changed: Arc<tokio::sync::Notify>,
}

impl Cache {
    /// Starts a watch of each kind in `served` on the current tokio runtime. The watches
    /// reconnect with backoff on their own; their state is in [`Cache::kinds`].
    #[must_use]
    pub fn start(client: &kube::Client, served: Vec<Served>, page_size: u32) -> Self {
        let generation = Arc::new(AtomicU64::new(0));
        let changed = Arc::new(tokio::sync::Notify::new());
        let mut kinds = Vec::with_capacity(served.len());
        for s in served {
            let ar = ApiResource {
                group: s.group.clone(),
                version: s.version.clone(),
                api_version: s.api_version(),
                kind: s.kind.clone(),
                plural: s.plural.clone(),
            };
            let writer: Writer<DynamicObject> = Writer::new(ar.clone());
            let store = writer.as_reader();
            let state = Arc::new(Mutex::new(KindState {
                kind: s.kind.clone(),
                synced: false,
                failing: None,
                last_event: None,
            }));
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
            let config = watcher::Config::default().page_size(page_size);
            let stream = reflector::reflector(writer, watcher(api, config)).default_backoff();
            tokio::spawn(follow(
                stream,
                Arc::clone(&state),
                Arc::clone(&generation),
                Arc::clone(&changed),
            ));
            kinds.push(Kind {
                served: s,
                store,
                state,
            });
        }
        Self {
            kinds,
            generation,
            changed,
        }
    }

    /// Bumped on every change of any kind (and when a kind first syncs).
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Woken after each change.
    #[must_use]
    pub fn changed(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.changed)
    }

    /// Whether every kind has had its first full list.
    #[must_use]
    pub fn synced(&self) -> bool {
        self.kinds.iter().all(|k| lock(&k.state).synced)
    }

    /// The state of each kind's watch, in kind order.
    #[must_use]
    pub fn kinds(&self) -> Vec<KindState> {
        self.kinds.iter().map(|k| lock(&k.state).clone()).collect()
    }

    /// The kinds whose view cannot be trusted: not yet synced, or failing for longer than
    /// `grace`.
    #[must_use]
    pub fn unsure(&self, grace: Duration) -> Vec<String> {
        self.kinds()
            .into_iter()
            .filter(|k| !k.synced || k.failing.as_ref().is_some_and(|(t, _)| t.elapsed() > grace))
            .map(|k| k.kind)
            .collect()
    }

    /// Objects held, by kind.
    #[must_use]
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.kinds
            .iter()
            .map(|k| (k.served.kind.clone(), k.store.len()))
            .collect()
    }

    /// Every cached object as a resource, trimmed like a live read (no managed fields, no
    /// last-applied copy, no Secret values), and without its `status` and `resourceVersion`.
    #[must_use]
    pub fn resources(&self) -> Vec<Resource> {
        let mut out = Vec::new();
        for k in &self.kinds {
            for obj in k.store.state() {
                let Ok(mut item) = serde_json::to_value(obj.as_ref()) else {
                    continue;
                };
                unwatched(&mut item);
                if let Some(r) = resource(&k.served, item) {
                    out.push(r);
                }
            }
        }
        out
    }
}

fn lock(state: &Mutex<KindState>) -> std::sync::MutexGuard<'_, KindState> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Drives one kind's reflector for as long as the process runs, recording its state.
async fn follow<S>(
    stream: S,
    state: Arc<Mutex<KindState>>,
    generation: Arc<AtomicU64>,
    changed: Arc<tokio::sync::Notify>,
) where
    S: futures_util::Stream<Item = watcher::Result<watcher::Event<DynamicObject>>> + Send,
{
    let mut stream = std::pin::pin!(stream);
    let kind = lock(&state).kind.clone();
    // What the view holds of each object (see `digest`), and of each object of a list under
    // way.
    let mut seen: HashMap<String, [u8; 32]> = HashMap::new();
    let mut listing: HashMap<String, [u8; 32]> = HashMap::new();
    while let Some(event) = stream.next().await {
        let bump = match event {
            Ok(watcher::Event::Init) => {
                listing.clear();
                lock(&state).failing = None;
                false
            }
            Ok(watcher::Event::InitApply(obj)) => {
                listing.insert(key(&obj), digest(&obj, &kind));
                lock(&state).failing = None;
                false
            }
            Ok(watcher::Event::InitDone) => {
                seen = std::mem::take(&mut listing);
                let mut s = lock(&state);
                s.synced = true;
                s.failing = None;
                s.last_event = Some(Instant::now());
                true
            }
            Ok(watcher::Event::Apply(obj)) => {
                let d = digest(&obj, &kind);
                let changed = seen.insert(key(&obj), d) != Some(d);
                let mut s = lock(&state);
                s.failing = None;
                s.last_event = Some(Instant::now());
                changed
            }
            Ok(watcher::Event::Delete(obj)) => {
                seen.remove(&key(&obj));
                let mut s = lock(&state);
                s.failing = None;
                s.last_event = Some(Instant::now());
                true
            }
            Err(e) => {
                let mut s = lock(&state);
                let text = super::error_chain(&e);
                tracing::warn!(kind = %s.kind, error = %text, "cache watch failed; retrying");
                let since = s.failing.as_ref().map_or_else(Instant::now, |(t, _)| *t);
                s.failing = Some((since, text));
                false
            }
        };
        if bump {
            generation.fetch_add(1, Ordering::SeqCst);
            changed.notify_waiters();
            changed.notify_one();
        }
    }
}

/// What of an object the view does not hold: its `status`, `resourceVersion` and managed
/// fields, which change without any change the rules could see.
fn unwatched(item: &mut Value) {
    if let Some(obj) = item.as_object_mut() {
        obj.remove("status");
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("resourceVersion");
            meta.remove("managedFields");
        }
    }
}

/// An object's namespace and name.
fn key(obj: &DynamicObject) -> String {
    format!(
        "{}/{}",
        obj.metadata.namespace.as_deref().unwrap_or(""),
        obj.metadata.name.as_deref().unwrap_or("")
    )
}

/// The SHA-256 of what the view holds of an object (trimmed as every live read is, without
/// what [`unwatched`] drops): two versions with the same digest look the same to the rules.
fn digest(obj: &DynamicObject, kind: &str) -> [u8; 32] {
    use sha2::Digest as _;
    let mut item = serde_json::to_value(obj).unwrap_or(Value::Null);
    trim(&mut item, kind);
    unwatched(&mut item);
    // A list's items carry no apiVersion and kind, a watch event's objects do, and their
    // fields may come in another order.
    if let Some(o) = item.as_object_mut() {
        o.remove("apiVersion");
        o.remove("kind");
    }
    sort_keys(&mut item);
    sha2::Sha256::digest(item.to_string().as_bytes()).into()
}

/// Puts the fields of every object in `v` in key order.
fn sort_keys(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.sort_keys();
            map.values_mut().for_each(sort_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}
