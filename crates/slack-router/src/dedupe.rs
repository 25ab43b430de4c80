//! Event deduplication: Slack redelivers events (up to 3 retries) and has been seen sending
//! the same message under two `event_id`s.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::BoxFuture;

/// What a dedupe key identifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DedupeScope {
    /// Slack's `event_id`: a redelivery of the same callback.
    EventId,
    /// The content (channel + `ts`, file ID...): the same thing under another `event_id`.
    Content,
}

impl DedupeScope {
    /// A short stable name, usable in storage keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventId => "slack-event",
            Self::Content => "slack-content",
        }
    }
}

/// The dedupe store failed (not: "this is a duplicate").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dedupe store failed: {0}")]
pub struct DedupeError(pub String);

/// A store of "seen" markers with conditional writes.
///
/// `claim` must be atomic (a conditional put): of two concurrent claims of one key exactly one
/// gets `true`. Markers should expire (hours to a day) so the store does not grow forever.
pub trait Deduplicator: Send + Sync {
    /// Marks `key` as seen; `true` for the first claim, `false` when it was already seen.
    fn claim<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool, DedupeError>>;

    /// Forgets `key`, so that a redelivery is processed again after a failure.
    fn release<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), DedupeError>>;
}

/// Markers in memory (one process): for tests and local runs.
#[derive(Debug, Default)]
pub struct MemoryDeduplicator {
    seen: Mutex<HashSet<(DedupeScope, String)>>,
}

impl MemoryDeduplicator {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many markers are held.
    pub fn len(&self) -> usize {
        self.seen.lock().map_or(0, |seen| seen.len())
    }

    /// Whether no marker is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn with_seen<T>(
        &self,
        change: impl FnOnce(&mut HashSet<(DedupeScope, String)>) -> T,
    ) -> Result<T, DedupeError> {
        let mut seen = self
            .seen
            .lock()
            .map_err(|_| DedupeError("marker set poisoned".into()))?;
        Ok(change(&mut seen))
    }
}

impl Deduplicator for MemoryDeduplicator {
    fn claim<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool, DedupeError>> {
        let claimed = self.with_seen(|seen| seen.insert((scope, key.to_owned())));
        Box::pin(async move { claimed })
    }

    fn release<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), DedupeError>> {
        let released = self.with_seen(|seen| {
            seen.remove(&(scope, key.to_owned()));
        });
        Box::pin(async move { released })
    }
}
