//! Slack's signing secret, bot token and workspace ID from SSM, cached per container.
//!
//! - The first read happens at start ([`SecretCache::prefetch`]), in the init phase, so the
//!   first request does not wait for SSM either.
//! - After the TTL the cached values are still served while one background task re-reads them:
//!   the SSM read never sits on a request's path once the container is warm.
//! - On a signature mismatch the router asks for a re-read ([`KeySource::reload_after_mismatch`]):
//!   a rotated signing secret works on the very first request signed with it. A re-read that
//!   found nothing new, or that failed, blocks further mismatch re-reads for a second, so forged
//!   requests cannot turn into an SSM request each (at most one re-read per pause).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sirslack_cache::{Lookup, ParameterCache, TtlCache};
use sirslack_slack_router::{BoxFuture, KeySource, KeySourceError, SigningSecret, VerifierKeys};
use tracing::{info, warn};

use crate::config::ParameterNames;

/// After a mismatch re-read that found no new secret (or failed), further ones wait this long.
pub const DEFAULT_FRUITLESS_RELOAD_PAUSE: Duration = Duration::from_secs(1);

/// The bot token type every sirslack function shares (`Debug` hides it).
pub use sirslack_slack_api::BotToken;

/// The three values read from SSM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSecrets {
    /// Verifies inbound requests.
    pub signing_secret: SigningSecret,
    /// Authenticates Web API calls and file downloads.
    pub bot_token: BotToken,
    /// The workspace the app serves.
    pub workspace_id: String,
}

/// Reading the parameters failed. Names parameters, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reading Slack parameters failed: {0}")]
pub struct SecretsError(pub String);

/// Where the values come from: SSM in AWS, anything in unit tests.
pub trait ParameterStore: Send + Sync {
    /// Reads all three values.
    fn read(&self) -> BoxFuture<'_, Result<AppSecrets, SecretsError>>;
}

/// SSM Parameter Store (SecureStrings decrypted), read through the shared
/// [`ParameterCache`] without its TTL: [`SecretCache`] decides when to read.
#[derive(Debug, Clone)]
pub struct SsmParameterStore {
    parameters: ParameterCache,
    names: ParameterNames,
}

impl SsmParameterStore {
    /// Reads `names` with `client`.
    pub fn new(client: aws_sdk_ssm::Client, names: ParameterNames) -> Self {
        Self {
            parameters: ParameterCache::uncached(client),
            names,
        }
    }
}

impl SsmParameterStore {
    async fn parameter(&self, name: &str) -> Result<String, SecretsError> {
        self.parameters
            .get(name)
            .await
            .map(|value| value.as_ref().to_owned())
            .map_err(|error| SecretsError(error.to_string()))
    }
}

impl ParameterStore for SsmParameterStore {
    fn read(&self) -> BoxFuture<'_, Result<AppSecrets, SecretsError>> {
        Box::pin(async move {
            let names = &self.names;
            // Three GetParameter calls at once: one round trip, and the same IAM action
            // (`ssm:GetParameter`) every function of the integration is granted.
            let (signing_secret, bot_token, workspace_id) = futures::join!(
                self.parameter(&names.signing_secret),
                self.parameter(&names.bot_token),
                self.parameter(&names.workspace_id),
            );
            Ok(AppSecrets {
                signing_secret: SigningSecret::new(signing_secret?),
                bot_token: BotToken::new(bot_token?),
                workspace_id: workspace_id?,
            })
        })
    }
}

struct Cached {
    secrets: Arc<AppSecrets>,
    keys: Arc<VerifierKeys>,
}

impl Cached {
    fn new(secrets: AppSecrets) -> Self {
        let keys = Arc::new(VerifierKeys::new(
            secrets.signing_secret.clone(),
            secrets.workspace_id.clone(),
        ));
        Self {
            secrets: Arc::new(secrets),
            keys,
        }
    }
}

struct Inner {
    store: Arc<dyn ParameterStore>,
    fruitless_reload_pause: Duration,
    /// One slot: expired, it is still served while a background task re-reads.
    cached: TtlCache<(), Arc<Cached>>,
    /// One read at a time (first load, mismatch reloads).
    loading: tokio::sync::Mutex<Option<Instant>>,
    refreshing: AtomicBool,
}

/// The per-container cache. Cheap to clone.
#[derive(Clone)]
pub struct SecretCache {
    inner: Arc<Inner>,
}

impl fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretCache")
            .field("ttl", &self.inner.cached.ttl())
            .finish_non_exhaustive()
    }
}

impl SecretCache {
    /// A cache over `store` whose values live `ttl`.
    pub fn new(store: Arc<dyn ParameterStore>, ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                fruitless_reload_pause: DEFAULT_FRUITLESS_RELOAD_PAUSE,
                cached: TtlCache::new(ttl).with_capacity(1),
                loading: tokio::sync::Mutex::new(None),
                refreshing: AtomicBool::new(false),
            }),
        }
    }

    /// Changes the pause after a fruitless mismatch re-read (tests use zero).
    pub fn with_fruitless_reload_pause(self, pause: Duration) -> Self {
        let cached = TtlCache::new(self.inner.cached.ttl()).with_capacity(1);
        if let Some(current) = self.current() {
            cached.insert((), current);
        }
        let inner = Inner {
            store: Arc::clone(&self.inner.store),
            fruitless_reload_pause: pause,
            cached,
            loading: tokio::sync::Mutex::new(None),
            refreshing: AtomicBool::new(false),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Reads the values now (at start, so that the first request finds them cached).
    pub async fn prefetch(&self) -> Result<(), SecretsError> {
        self.load().await.map(|_| ())
    }

    /// The current values: from memory when cached (a stale value is served while a
    /// background task refreshes it), from SSM only when nothing was ever read.
    pub async fn secrets(&self) -> Result<Arc<AppSecrets>, SecretsError> {
        Ok(Arc::clone(&self.cached().await?.secrets))
    }

    async fn cached(&self) -> Result<Arc<Cached>, SecretsError> {
        match self.inner.cached.lookup(&()) {
            Some(Lookup::Fresh(cached)) => Ok(cached),
            Some(Lookup::Expired(cached)) => {
                self.refresh_in_background();
                Ok(cached)
            }
            None => self.load().await,
        }
    }

    fn current(&self) -> Option<Arc<Cached>> {
        self.inner.cached.lookup(&()).map(Lookup::into_value)
    }

    fn store(&self, cached: Arc<Cached>) {
        self.inner.cached.insert((), cached);
    }

    /// The first read, shared by concurrent first requests.
    async fn load(&self) -> Result<Arc<Cached>, SecretsError> {
        let _loading = self.inner.loading.lock().await;
        if let Some(cached) = self.current() {
            return Ok(cached);
        }
        let cached = Arc::new(Cached::new(self.inner.store.read().await?));
        self.store(Arc::clone(&cached));
        Ok(cached)
    }

    fn refresh_in_background(&self) {
        if self.inner.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let cache = self.clone();
        tokio::spawn(async move {
            match cache.inner.store.read().await {
                Ok(secrets) => cache.store(Arc::new(Cached::new(secrets))),
                Err(error) => {
                    warn!(%error, "refreshing Slack parameters failed; serving cached values")
                }
            }
            cache.inner.refreshing.store(false, Ordering::Release);
        });
    }

    async fn reload_keys(
        &self,
        rejected: &Arc<VerifierKeys>,
    ) -> Result<Option<Arc<VerifierKeys>>, SecretsError> {
        let mut last_fruitless = self.inner.loading.lock().await;
        if let Some(current) = self.current()
            && !Arc::ptr_eq(&current.keys, rejected)
        {
            // Someone reloaded while this request waited: try what they found.
            return Ok(Some(Arc::clone(&current.keys)));
        }
        if last_fruitless.is_some_and(|at| at.elapsed() < self.inner.fruitless_reload_pause) {
            return Ok(None);
        }
        let fresh = match self.inner.store.read().await {
            Ok(secrets) => Arc::new(Cached::new(secrets)),
            Err(error) => {
                // A failed re-read pauses re-reads too: otherwise every forged request during
                // an SSM outage (or throttling) would be one more GetParameter call.
                *last_fruitless = Some(Instant::now());
                return Err(error);
            }
        };
        let changed = fresh.keys.signing_secret != rejected.signing_secret
            || fresh.keys.workspace_id != rejected.workspace_id;
        let keys = Arc::clone(&fresh.keys);
        self.store(fresh);
        if changed {
            *last_fruitless = None;
            info!("Slack signing secret re-read after a mismatch: it changed");
            Ok(Some(keys))
        } else {
            *last_fruitless = Some(Instant::now());
            Ok(None)
        }
    }
}

impl KeySource for SecretCache {
    fn keys(&self) -> BoxFuture<'_, Result<Arc<VerifierKeys>, KeySourceError>> {
        Box::pin(async move {
            self.cached()
                .await
                .map(|cached| Arc::clone(&cached.keys))
                .map_err(|error| KeySourceError(error.to_string()))
        })
    }

    fn reload_after_mismatch<'a>(
        &'a self,
        rejected: &'a Arc<VerifierKeys>,
    ) -> BoxFuture<'a, Result<Option<Arc<VerifierKeys>>, KeySourceError>> {
        Box::pin(async move {
            self.reload_keys(rejected)
                .await
                .map_err(|error| KeySourceError(error.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    struct FakeStore {
        secret: Mutex<String>,
        reads: AtomicUsize,
        failing: AtomicBool,
    }

    impl FakeStore {
        fn new(secret: &str) -> Arc<Self> {
            Arc::new(Self {
                secret: Mutex::new(secret.to_owned()),
                reads: AtomicUsize::new(0),
                failing: AtomicBool::new(false),
            })
        }

        fn reads(&self) -> usize {
            self.reads.load(Ordering::SeqCst)
        }
    }

    impl ParameterStore for FakeStore {
        fn read(&self) -> BoxFuture<'_, Result<AppSecrets, SecretsError>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let secret = self.secret.lock().unwrap().clone();
            let failing = self.failing.load(Ordering::SeqCst);
            Box::pin(async move {
                if failing {
                    return Err(SecretsError("ThrottlingException".into()));
                }
                Ok(AppSecrets {
                    signing_secret: SigningSecret::new(secret),
                    bot_token: BotToken::new("xoxb-1-2-abc"),
                    workspace_id: "T0TEAM".into(),
                })
            })
        }
    }

    #[tokio::test]
    async fn warm_reads_never_touch_the_store() {
        let store = FakeStore::new("one");
        let cache = SecretCache::new(store.clone(), Duration::from_secs(300));
        cache.prefetch().await.unwrap();
        for _ in 0..100 {
            cache.keys().await.unwrap();
            cache.secrets().await.unwrap();
        }
        assert_eq!(store.reads(), 1);
    }

    #[tokio::test]
    async fn a_stale_value_is_served_while_refreshing_in_the_background() {
        let store = FakeStore::new("one");
        let cache = SecretCache::new(store.clone(), Duration::ZERO);
        cache.prefetch().await.unwrap();
        *store.secret.lock().unwrap() = "two".into();
        let served = cache.keys().await.unwrap();
        assert_eq!(served.signing_secret, SigningSecret::new("one"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while cache.current().unwrap().keys.signing_secret != SigningSecret::new("two") {
            assert!(Instant::now() < deadline, "background refresh never landed");
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_mismatch_re_reads_once_and_finds_a_rotated_secret() {
        let store = FakeStore::new("one");
        let cache = SecretCache::new(store.clone(), Duration::from_secs(300));
        let old = cache.keys().await.unwrap();
        *store.secret.lock().unwrap() = "two".into();
        let newer = cache.reload_after_mismatch(&old).await.unwrap().unwrap();
        assert_eq!(newer.signing_secret, SigningSecret::new("two"));
        assert_eq!(store.reads(), 2);
        // A request that was rejected under the old keys tries the new ones without a read.
        let again = cache.reload_after_mismatch(&old).await.unwrap().unwrap();
        assert!(Arc::ptr_eq(&again, &newer));
        assert_eq!(store.reads(), 2);
    }

    #[tokio::test]
    async fn forged_requests_cannot_hammer_the_store() {
        let store = FakeStore::new("one");
        let cache = SecretCache::new(store.clone(), Duration::from_secs(300));
        let keys = cache.keys().await.unwrap();
        for _ in 0..50 {
            let current = cache.keys().await.unwrap();
            assert!(
                cache
                    .reload_after_mismatch(&current)
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        assert_eq!(store.reads(), 2, "one load, one fruitless re-read");
        assert_eq!(
            cache.keys().await.unwrap().signing_secret,
            keys.signing_secret
        );
    }

    #[tokio::test]
    async fn a_failed_re_read_pauses_re_reads_too() {
        let store = FakeStore::new("one");
        let cache = SecretCache::new(store.clone(), Duration::from_secs(300));
        let keys = cache.keys().await.unwrap();
        store.failing.store(true, Ordering::SeqCst);
        assert!(cache.reload_after_mismatch(&keys).await.is_err());
        for _ in 0..50 {
            let current = cache.keys().await.unwrap();
            assert!(
                cache
                    .reload_after_mismatch(&current)
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        assert_eq!(store.reads(), 2, "one load, one failed re-read");
        // The cached keys still serve genuine requests.
        assert_eq!(
            cache.keys().await.unwrap().signing_secret,
            keys.signing_secret
        );
    }
}
