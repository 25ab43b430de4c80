//! [`TtlCache`]: small per-container caches of facts read from Slack or SSM (channel
//! memberships, user groups, a person's channels), kept briefly so that a revoked permission or
//! a left channel takes effect soon. One type for every such cache in sirslack's functions.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Entries kept at most; the cache is emptied when full (a Lambda container serves one
/// workspace, so this is never reached in practice).
const MAX_ENTRIES: usize = 10_000;

/// Values remembered for a fixed time.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    /// A cache keeping values for `ttl` (zero: nothing is kept).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How long values are kept.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The value of `key`, while it is fresh.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(value, _)| value.clone())
    }

    /// Remembers `value` for `key`.
    pub fn insert(&self, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (value, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expire_and_zero_ttl_keeps_nothing() {
        let cache = TtlCache::new(Duration::from_secs(60));
        cache.insert("a", 1);
        assert_eq!(cache.get(&"a"), Some(1));
        assert_eq!(cache.get(&"b"), None);
        assert_eq!(cache.ttl(), Duration::from_secs(60));
        let none = TtlCache::new(Duration::ZERO);
        none.insert("a", 1);
        assert_eq!(none.get(&"a"), None);
    }
}
