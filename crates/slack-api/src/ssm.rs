//! SSM parameters (the bot token above all) read once per container and cached with a TTL.
//!
//! The first read happens on first use; later reads are served from memory until the TTL
//! passes, then one caller re-reads while the others wait for it. So a rotated token takes
//! effect within one TTL without a redeploy, and a warm container does not call SSM for
//! every event (the existing integration read SSM twice per invocation). A re-read that
//! fails keeps serving the last value (with a warning) rather than stopping all work.
//! [`ParameterCache::invalidate`] forces the next use to re-read (after `invalid_auth`).
//! Values are never logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_ssm::error::ProvideErrorMetadata;

use crate::token::BotToken;

/// A parameter could not be read. Names the parameter, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParameterError {
    /// SSM answered with an error or could not be reached.
    #[error("reading SSM parameter {name} failed: {code}")]
    Read {
        /// The parameter.
        name: String,
        /// The SSM error code, or a transport failure.
        code: String,
    },
    /// The parameter does not exist.
    #[error("SSM parameter {name} does not exist")]
    Missing {
        /// The parameter.
        name: String,
    },
    /// The parameter is empty.
    #[error("SSM parameter {name} is empty")]
    Empty {
        /// The parameter.
        name: String,
    },
}

struct Entry {
    value: Arc<str>,
    fetched_at: Instant,
    stale: bool,
}

/// SSM parameters cached per container with a TTL. Cheap to clone (shared cache).
#[derive(Clone)]
pub struct ParameterCache {
    inner: Arc<CacheInner>,
}

struct CacheInner {
    client: aws_sdk_ssm::Client,
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
    /// One re-read at a time, so a TTL expiry under load is one SSM call, not one per task.
    refresh: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for ParameterCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParameterCache")
            .field("ttl", &self.inner.ttl)
            .finish_non_exhaustive()
    }
}

impl ParameterCache {
    /// A cache reading with `client`, keeping values for `ttl` (zero: re-read on every use).
    pub fn new(client: aws_sdk_ssm::Client, ttl: Duration) -> Self {
        Self {
            inner: Arc::new(CacheInner {
                client,
                ttl,
                entries: Mutex::new(HashMap::new()),
                refresh: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The TTL.
    pub fn ttl(&self) -> Duration {
        self.inner.ttl
    }

    /// The value of `name` (SecureStrings decrypted), from the cache while it is fresh.
    pub async fn get(&self, name: &str) -> Result<Arc<str>, ParameterError> {
        if let Some(value) = self.fresh(name) {
            return Ok(value);
        }
        let _one_reader = self.inner.refresh.lock().await;
        // Someone else may have re-read it while this task waited.
        if let Some(value) = self.fresh(name) {
            return Ok(value);
        }
        match read_parameter(&self.inner.client, name).await {
            Ok(value) => {
                let value: Arc<str> = Arc::from(value);
                self.lock().insert(
                    name.to_owned(),
                    Entry {
                        value: Arc::clone(&value),
                        fetched_at: Instant::now(),
                        stale: false,
                    },
                );
                Ok(value)
            }
            Err(error) => {
                let last = self.lock().get(name).map(|entry| Arc::clone(&entry.value));
                match last {
                    // A forced re-read (invalidate) must not fall back to the rejected value.
                    Some(value) if !self.is_stale(name) => {
                        tracing::warn!(
                            parameter = name,
                            %error,
                            "re-reading the SSM parameter failed; using the cached value"
                        );
                        Ok(value)
                    }
                    _ => Err(error),
                }
            }
        }
    }

    /// The next [`ParameterCache::get`] of `name` reads SSM again.
    pub fn invalidate(&self, name: &str) {
        if let Some(entry) = self.lock().get_mut(name) {
            entry.stale = true;
        }
    }

    /// The value of `name`, or `None` when the parameter does not exist.
    pub async fn get_optional(&self, name: &str) -> Result<Option<Arc<str>>, ParameterError> {
        match self.get(name).await {
            Ok(value) => Ok(Some(value)),
            Err(ParameterError::Missing { .. } | ParameterError::Empty { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn fresh(&self, name: &str) -> Option<Arc<str>> {
        let entries = self.lock();
        let entry = entries.get(name)?;
        (!entry.stale && entry.fetched_at.elapsed() < self.inner.ttl)
            .then(|| Arc::clone(&entry.value))
    }

    fn is_stale(&self, name: &str) -> bool {
        self.lock().get(name).is_some_and(|entry| entry.stale)
    }
}

/// Reads the SSM parameter `name` once, uncached (SecureStrings decrypted, surrounding
/// whitespace removed). For callers that cache values their own way; others use
/// [`ParameterCache`].
pub async fn read_parameter(
    client: &aws_sdk_ssm::Client,
    name: &str,
) -> Result<String, ParameterError> {
    let output = client
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|error| {
            if error.code() == Some("ParameterNotFound") {
                ParameterError::Missing {
                    name: name.to_owned(),
                }
            } else {
                ParameterError::Read {
                    name: name.to_owned(),
                    code: error.code().unwrap_or("request failed").to_owned(),
                }
            }
        })?;
    let value = output
        .parameter()
        .and_then(|parameter| parameter.value())
        .map(str::trim)
        .unwrap_or_default();
    if value.is_empty() {
        Err(ParameterError::Empty {
            name: name.to_owned(),
        })
    } else {
        Ok(value.to_owned())
    }
}

/// Where the bot token comes from.
#[derive(Debug, Clone)]
pub enum BotTokenSource {
    /// An SSM parameter (a SecureString), read through a [`ParameterCache`].
    Ssm {
        /// The cache.
        cache: ParameterCache,
        /// The parameter name, e.g. `/SecurityIncidentResponse/slackBotToken`.
        name: String,
    },
    /// A fixed token (local runs and tests).
    Fixed(BotToken),
}

impl BotTokenSource {
    /// The token read from the SSM parameter `name` through `cache`.
    pub fn ssm(cache: ParameterCache, name: impl Into<String>) -> Self {
        Self::Ssm {
            cache,
            name: name.into(),
        }
    }

    /// The current token.
    pub async fn token(&self) -> Result<BotToken, ParameterError> {
        match self {
            Self::Ssm { cache, name } => Ok(BotToken::new(cache.get(name).await?.as_ref())),
            Self::Fixed(token) => Ok(token.clone()),
        }
    }

    /// Slack rejected the token: the next use re-reads it, so a rotation takes effect at once.
    pub fn invalidate(&self) {
        if let Self::Ssm { cache, name } = self {
            cache.invalidate(name);
        }
    }
}
