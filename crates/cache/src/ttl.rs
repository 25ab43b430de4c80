//! [`TtlCache`]: values remembered for a fixed time, so that a revoked permission or a left
//! channel takes effect soon while a warm container does not ask Slack, SSM or the table for
//! every event.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::clock::{Clock, SystemClock};

/// Entries kept at most unless [`TtlCache::with_capacity`] says otherwise (a Lambda container
/// serves one workspace, so this is never reached in practice).
pub const DEFAULT_CAPACITY: usize = 10_000;

/// What the cache holds for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<V> {
    /// Stored less than the TTL ago.
    Fresh(V),
    /// Stored longer ago: kept for callers that may serve it while they re-read.
    Expired(V),
}

impl<V> Lookup<V> {
    /// The value, fresh or not.
    pub fn into_value(self) -> V {
        match self {
            Self::Fresh(value) | Self::Expired(value) => value,
        }
    }
}

/// What a loader of [`TtlCache::get_or_try_load_with`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded<V> {
    /// Remember it for the TTL.
    Keep(V),
    /// Give it to this caller only (for instance an expired value served because a re-read
    /// failed): the next caller loads again.
    Once(V),
}

struct Entry<V> {
    value: V,
    stored_at: Instant,
}

/// Values remembered for a fixed time. Bounded: inserting into a full cache first drops the
/// expired entries, then everything. Expired entries stay until then, for [`TtlCache::lookup`].
pub struct TtlCache<K, V> {
    ttl: Duration,
    capacity: usize,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<K, Entry<V>>>,
    /// One loader per key at a time; a gate is dropped once nobody holds or awaits it.
    loading: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

impl<K, V> fmt::Debug for TtlCache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys and values are left out: some caches hold secrets.
        f.debug_struct("TtlCache")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// A cache keeping values for `ttl` (zero: nothing is ever fresh), at most
    /// [`DEFAULT_CAPACITY`] entries, on the system clock.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            capacity: DEFAULT_CAPACITY,
            clock: Arc::new(SystemClock),
            entries: Mutex::new(HashMap::new()),
            loading: Mutex::new(HashMap::new()),
        }
    }

    /// The same cache holding at most `capacity` entries (at least one).
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// The same cache reading the time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How long values are kept.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The value of `key`, while it is fresh.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        match self.lookup(key)? {
            Lookup::Fresh(value) => Some(value),
            Lookup::Expired(_) => None,
        }
    }

    /// The value of `key`, fresh or expired.
    pub fn lookup<Q>(&self, key: &Q) -> Option<Lookup<V>>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let now = self.clock.now();
        let entries = locked(&self.entries);
        let entry = entries.get(key)?;
        let value = entry.value.clone();
        Some(if self.is_fresh(entry, now) {
            Lookup::Fresh(value)
        } else {
            Lookup::Expired(value)
        })
    }

    /// Remembers `value` for `key`, for the TTL from now.
    pub fn insert(&self, key: K, value: V) {
        let now = self.clock.now();
        let mut entries = locked(&self.entries);
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, entry| self.is_fresh(entry, now));
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                value,
                stored_at: now,
            },
        );
    }

    /// Forgets `key`: the next use loads it again, and nothing expired is left to serve.
    pub fn invalidate<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        locked(&self.entries).remove(key);
    }

    /// The fresh value of `key`, or the one `load` gives (remembered when it is `Ok`).
    /// Concurrent callers missing the same key share one load: the others wait for it and
    /// take what it stored. A failed load is not remembered.
    pub async fn get_or_try_load<F, Fut, E>(&self, key: K, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        self.get_or_try_load_with(
            key,
            |_| true,
            |_| async move { load().await.map(Loaded::Keep) },
        )
        .await
    }

    /// The general form of [`TtlCache::get_or_try_load`]: a fresh value is served only when
    /// `accept` takes it; otherwise `load` runs (one per key at a time) with what the cache
    /// holds, fresh or expired, and says whether its answer is remembered ([`Loaded`]).
    pub async fn get_or_try_load_with<A, F, Fut, E>(
        &self,
        key: K,
        accept: A,
        load: F,
    ) -> Result<V, E>
    where
        A: Fn(&V) -> bool,
        F: FnOnce(Option<Lookup<V>>) -> Fut,
        Fut: Future<Output = Result<Loaded<V>, E>>,
    {
        if let Some(value) = accepted(&accept, self.lookup(&key)) {
            return Ok(value);
        }
        // Boxed: callers nest these loads in deep futures (a Slack call's token read inside
        // a handler), and one level of indirection keeps their layouts within rustc's limits.
        Box::pin(self.load(key, accept, load)).await
    }

    async fn load<A, F, Fut, E>(&self, key: K, accept: A, load: F) -> Result<V, E>
    where
        A: Fn(&V) -> bool,
        F: FnOnce(Option<Lookup<V>>) -> Fut,
        Fut: Future<Output = Result<Loaded<V>, E>>,
    {
        let gate = LoadGate::enter(self, &key);
        let _one_loader = gate.lock.lock().await;
        // Someone may have loaded it while this caller waited.
        let cached = self.lookup(&key);
        if let Some(value) = accepted(&accept, cached.clone()) {
            return Ok(value);
        }
        match load(cached).await? {
            Loaded::Keep(value) => {
                self.insert(key, value.clone());
                Ok(value)
            }
            Loaded::Once(value) => Ok(value),
        }
    }

    fn is_fresh(&self, entry: &Entry<V>, now: Instant) -> bool {
        now.saturating_duration_since(entry.stored_at) < self.ttl
    }
}

/// The value of `cached` when it is fresh and `accept` takes it.
fn accepted<V>(accept: impl Fn(&V) -> bool, cached: Option<Lookup<V>>) -> Option<V> {
    match cached {
        Some(Lookup::Fresh(value)) if accept(&value) => Some(value),
        _ => None,
    }
}

/// A caller's hold on a key's load gate; the gate is removed when its last holder leaves
/// (also when a load is cancelled).
struct LoadGate<'a, K: Eq + Hash + Clone, V> {
    cache: &'a TtlCache<K, V>,
    key: K,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl<'a, K: Eq + Hash + Clone, V> LoadGate<'a, K, V> {
    fn enter(cache: &'a TtlCache<K, V>, key: &K) -> Self {
        let lock = Arc::clone(locked(&cache.loading).entry(key.clone()).or_default());
        Self {
            cache,
            key: key.clone(),
            lock,
        }
    }
}

impl<K: Eq + Hash + Clone, V> Drop for LoadGate<'_, K, V> {
    fn drop(&mut self) {
        let mut loading = locked(&self.cache.loading);
        // Counted under the map's lock, where every new holder clones it: two references
        // (the map's and this one) mean nobody else holds or awaits the gate.
        if Arc::strong_count(&self.lock) <= 2 {
            loading.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::ManualClock;

    fn cache(ttl: Duration) -> (TtlCache<String, u32>, ManualClock) {
        let clock = ManualClock::new();
        let cache = TtlCache::new(ttl).with_clock(Arc::new(clock.clone()));
        (cache, clock)
    }

    #[test]
    fn values_expire_after_the_ttl() {
        let (cache, clock) = cache(Duration::from_secs(60));
        cache.insert("a".into(), 1);
        assert_eq!(cache.get("a"), Some(1));
        assert_eq!(cache.get("b"), None);
        assert_eq!(cache.ttl(), Duration::from_secs(60));
        clock.advance(Duration::from_secs(59));
        assert_eq!(cache.get("a"), Some(1));
        clock.advance(Duration::from_secs(1));
        assert_eq!(cache.get("a"), None);
        assert_eq!(cache.lookup("a"), Some(Lookup::Expired(1)));
        cache.insert("a".into(), 2);
        assert_eq!(cache.lookup("a"), Some(Lookup::Fresh(2)));
    }

    #[test]
    fn zero_ttl_serves_nothing_fresh() {
        let (cache, _clock) = cache(Duration::ZERO);
        cache.insert("a".into(), 1);
        assert_eq!(cache.get("a"), None);
        assert_eq!(cache.lookup("a"), Some(Lookup::Expired(1)));
    }

    #[test]
    fn invalidate_forgets_even_the_expired_value() {
        let (cache, _clock) = cache(Duration::from_secs(60));
        cache.insert("a".into(), 1);
        cache.invalidate("a");
        assert_eq!(cache.lookup("a"), None);
    }

    #[test]
    fn a_full_cache_drops_expired_entries_first_then_everything() {
        let clock = ManualClock::new();
        let cache = TtlCache::new(Duration::from_secs(60))
            .with_capacity(2)
            .with_clock(Arc::new(clock.clone()));
        cache.insert("old", 1);
        clock.advance(Duration::from_secs(61));
        cache.insert("new", 2);
        cache.insert("newer", 3);
        assert_eq!(cache.lookup("old"), None, "the expired entry made room");
        assert_eq!(cache.get("new"), Some(2));
        cache.insert("newest", 4);
        assert_eq!(cache.get("new"), None, "no expired entry: emptied");
        assert_eq!(cache.get("newest"), Some(4));
        // Replacing a key of a full cache keeps the others.
        cache.insert("fourth", 5);
        cache.insert("fourth", 6);
        assert_eq!(cache.get("newest"), Some(4));
        assert_eq!(cache.get("fourth"), Some(6));
    }

    #[tokio::test]
    async fn loads_are_remembered_and_failures_are_not() {
        let (cache, clock) = cache(Duration::from_secs(60));
        let loads = AtomicUsize::new(0);
        let load = |answer: Result<u32, &'static str>| {
            loads.fetch_add(1, Ordering::SeqCst);
            async move { answer }
        };
        assert_eq!(
            cache
                .get_or_try_load("a".into(), || load(Err("down")))
                .await,
            Err("down")
        );
        assert_eq!(
            cache.get_or_try_load("a".into(), || load(Ok(7))).await,
            Ok(7)
        );
        assert_eq!(
            cache.get_or_try_load("a".into(), || load(Ok(8))).await,
            Ok(7)
        );
        assert_eq!(loads.load(Ordering::SeqCst), 2);
        clock.advance(Duration::from_secs(60));
        assert_eq!(
            cache.get_or_try_load("a".into(), || load(Ok(9))).await,
            Ok(9)
        );
        assert!(locked(&cache.loading).is_empty(), "no gate is left behind");
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_load() {
        let (cache, _clock) = cache(Duration::from_secs(60));
        let loads = AtomicUsize::new(0);
        let (release, released) = tokio::sync::watch::channel(false);
        let load = || {
            loads.fetch_add(1, Ordering::SeqCst);
            let mut released = released.clone();
            async move {
                let _ = released.wait_for(|go| *go).await;
                Ok::<_, ()>(5)
            }
        };
        let first = cache.get_or_try_load("a".into(), load);
        let second = cache.get_or_try_load("a".into(), load);
        let third = cache.get_or_try_load("b".into(), load);
        let go = async {
            tokio::task::yield_now().await;
            let _ = release.send(true);
        };
        let (first, second, third, ()) = tokio::join!(first, second, third, go);
        assert_eq!((first, second, third), (Ok(5), Ok(5), Ok(5)));
        assert_eq!(loads.load(Ordering::SeqCst), 2, "one load per key");
        assert!(locked(&cache.loading).is_empty());
    }

    #[tokio::test]
    async fn a_loader_sees_what_is_cached_and_may_serve_without_keeping() {
        let (cache, clock) = cache(Duration::from_secs(60));
        cache.insert("a".into(), 1);
        clock.advance(Duration::from_secs(60));
        let served = cache
            .get_or_try_load_with(
                "a".into(),
                |_| true,
                |cached| async move {
                    assert_eq!(cached, Some(Lookup::Expired(1)));
                    Ok::<_, ()>(Loaded::Once(cached.map_or(0, Lookup::into_value)))
                },
            )
            .await;
        assert_eq!(served, Ok(1));
        assert_eq!(cache.get("a"), None, "served once, not refreshed");
        // A fresh value the caller does not accept is loaded again.
        cache.insert("a".into(), 2);
        let loaded = cache
            .get_or_try_load_with(
                "a".into(),
                |value| *value > 2,
                |_| async { Ok::<_, ()>(Loaded::Keep(3)) },
            )
            .await;
        assert_eq!(loaded, Ok(3));
        assert_eq!(cache.get("a"), Some(3));
    }
}
