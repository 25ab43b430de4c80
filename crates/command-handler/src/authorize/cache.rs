//! Small per-container caches for authorization facts (channel memberships, user groups, the
//! policy, per-user OTP settings), kept briefly so that a revoked permission takes effect soon.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_ssm::error::ProvideErrorMetadata;
use sirslack_slack_api::ParameterError;

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

/// SSM parameters that may not exist (the policy, per-user OTP secrets), cached with a TTL,
/// absence included: without that, every command by a person without a secret would read SSM.
/// Values are never logged; `Debug` shows none.
pub struct OptionalParameters {
    client: aws_sdk_ssm::Client,
    cache: TtlCache<String, Option<Arc<str>>>,
}

impl std::fmt::Debug for OptionalParameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OptionalParameters")
            .field("ttl", &self.cache.ttl)
            .finish_non_exhaustive()
    }
}

impl OptionalParameters {
    /// Reads with `client` (SecureStrings decrypted), remembering answers for `ttl`.
    pub fn new(client: aws_sdk_ssm::Client, ttl: Duration) -> Self {
        Self {
            client,
            cache: TtlCache::new(ttl),
        }
    }

    /// The value of `name`, or `None` when the parameter does not exist or is blank.
    pub async fn get(&self, name: &str) -> Result<Option<Arc<str>>, ParameterError> {
        if let Some(value) = self.cache.get(&name.to_owned()) {
            return Ok(value);
        }
        let answer = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await;
        let value = match answer {
            Ok(output) => output
                .parameter()
                .and_then(|parameter| parameter.value())
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(Arc::from),
            Err(error) if error.code() == Some("ParameterNotFound") => None,
            Err(error) => {
                return Err(ParameterError::Read {
                    name: name.to_owned(),
                    code: error.code().unwrap_or("request failed").to_owned(),
                });
            }
        };
        self.cache.insert(name.to_owned(), value.clone());
        Ok(value)
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
        let none = TtlCache::new(Duration::ZERO);
        none.insert("a", 1);
        assert_eq!(none.get(&"a"), None);
    }
}
