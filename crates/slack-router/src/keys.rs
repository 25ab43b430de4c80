//! Where the router gets the signing secret and the workspace ID from.

use std::sync::Arc;

use crate::BoxFuture;
use crate::signature::SigningSecret;

/// What the router needs to verify a request: the signing secret and the one workspace
/// (`T...`) the app serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKeys {
    /// The app's signing secret.
    pub signing_secret: SigningSecret,
    /// The workspace ID every event, command and action must carry.
    pub workspace_id: String,
}

impl VerifierKeys {
    /// Keys from a secret and a workspace ID.
    pub fn new(signing_secret: SigningSecret, workspace_id: impl Into<String>) -> Self {
        Self {
            signing_secret,
            workspace_id: workspace_id.into(),
        }
    }
}

/// The keys could not be read (the parameter store is unreachable, a parameter is missing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("verifier keys unavailable: {0}")]
pub struct KeySourceError(pub String);

/// A cache of [`VerifierKeys`].
///
/// [`keys`](Self::keys) is on every request's path, so it should answer from memory.
/// [`reload_after_mismatch`](Self::reload_after_mismatch) is called when a signature does not
/// match under `rejected`: it re-reads the keys once (the secret may just have been rotated)
/// and returns them when they differ from `rejected`, or `None` when there is nothing new to
/// try (nothing changed, or a reload happened moments ago and another would only let unsigned
/// traffic hammer the store).
pub trait KeySource: Send + Sync {
    /// The current keys.
    fn keys(&self) -> BoxFuture<'_, Result<Arc<VerifierKeys>, KeySourceError>>;

    /// Newer keys than `rejected`, if a re-read finds any.
    fn reload_after_mismatch<'a>(
        &'a self,
        rejected: &'a Arc<VerifierKeys>,
    ) -> BoxFuture<'a, Result<Option<Arc<VerifierKeys>>, KeySourceError>>;
}

/// Fixed keys, for tests and local runs.
#[derive(Debug, Clone)]
pub struct StaticKeys(Arc<VerifierKeys>);

impl StaticKeys {
    /// Serves `keys` forever.
    pub fn new(keys: VerifierKeys) -> Self {
        Self(Arc::new(keys))
    }
}

impl KeySource for StaticKeys {
    fn keys(&self) -> BoxFuture<'_, Result<Arc<VerifierKeys>, KeySourceError>> {
        let keys = Arc::clone(&self.0);
        Box::pin(async move { Ok(keys) })
    }

    fn reload_after_mismatch<'a>(
        &'a self,
        _rejected: &'a Arc<VerifierKeys>,
    ) -> BoxFuture<'a, Result<Option<Arc<VerifierKeys>>, KeySourceError>> {
        Box::pin(async { Ok(None) })
    }
}
