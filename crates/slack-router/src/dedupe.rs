//! Event deduplication: Slack redelivers events (up to 3 retries) and has been seen sending
//! the same message under two `event_id`s.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// What claiming a dedupe key found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// First claim, or a stale claim taken over (its worker died or gave up): do the work.
    Claimed,
    /// The work was done (or handed on): a duplicate, acknowledged and dropped.
    Done,
    /// Another delivery claimed the work recently and has not finished: it may be at it now,
    /// or it may have died. Slack is asked to retry later.
    Held,
}

/// A store of markers with conditional writes, each `claimed` (with a lease and its owner's
/// token) or `done`.
///
/// `owner` is a token unique to one delivery's handling (the router makes one per request):
/// `complete` and `release` act only on a claim that `owner` still holds, so a delivery whose
/// claim was taken over after its lease ran out cannot mark the new owner's work done or delete
/// its claim.
///
/// `claim` must be atomic (a conditional put): of two concurrent claims of one key exactly one
/// gets [`Claim::Claimed`]. A claim neither completed nor released goes stale when its lease
/// runs out (a crash), and the next claim takes it over: a crash never turns a redelivery into
/// a "duplicate". Markers should expire (hours to a day) so the store does not grow forever.
pub trait Deduplicator: Send + Sync {
    /// Claims `key` for `owner`.
    fn claim<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Claim, DedupeError>>;

    /// Marks `key` done if `owner` still holds its claim: later claims are duplicates.
    /// `false`: the claim is not `owner`'s any more; nothing changed.
    fn complete<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<bool, DedupeError>>;

    /// Forgets `key` if `owner` still holds its claim, so that a redelivery is processed again
    /// after a failure. `false`: the claim is not `owner`'s (or is done); nothing changed.
    fn release<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<bool, DedupeError>>;
}

/// How long a claim holds before a redelivery may take it over, by default: Slack stops
/// waiting for an answer after 3 seconds, so a delivery claimed longer ago than that and not
/// finished was given up on by Slack (its handler died, or is stuck).
pub const DEFAULT_CLAIM_LEASE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
enum Marker {
    Claimed(Instant, String),
    Done,
}

/// Markers in memory (one process): for tests and local runs.
#[derive(Debug)]
pub struct MemoryDeduplicator {
    lease: Duration,
    markers: Mutex<HashMap<(DedupeScope, String), Marker>>,
}

impl Default for MemoryDeduplicator {
    fn default() -> Self {
        Self::with_lease(DEFAULT_CLAIM_LEASE)
    }
}

impl MemoryDeduplicator {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose claims hold for `lease`.
    pub fn with_lease(lease: Duration) -> Self {
        Self {
            lease,
            markers: Mutex::new(HashMap::new()),
        }
    }

    /// How many markers are held.
    pub fn len(&self) -> usize {
        self.markers.lock().map_or(0, |markers| markers.len())
    }

    /// Whether no marker is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn with_markers<T>(
        &self,
        change: impl FnOnce(&mut HashMap<(DedupeScope, String), Marker>) -> T,
    ) -> Result<T, DedupeError> {
        let mut markers = self
            .markers
            .lock()
            .map_err(|_| DedupeError("marker set poisoned".into()))?;
        Ok(change(&mut markers))
    }
}

impl Deduplicator for MemoryDeduplicator {
    fn claim<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Claim, DedupeError>> {
        let lease = self.lease;
        let claimed = self.with_markers(|markers| {
            let now = Instant::now();
            match markers.get(&(scope, key.to_owned())) {
                Some(Marker::Done) => Claim::Done,
                Some(Marker::Claimed(at, _)) if now.duration_since(*at) < lease => Claim::Held,
                _ => {
                    markers.insert(
                        (scope, key.to_owned()),
                        Marker::Claimed(now, owner.to_owned()),
                    );
                    Claim::Claimed
                }
            }
        });
        Box::pin(async move { claimed })
    }

    fn complete<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<bool, DedupeError>> {
        let completed = self.with_markers(|markers| {
            let entry = (scope, key.to_owned());
            match markers.get(&entry) {
                Some(Marker::Claimed(_, holder)) if holder == owner => {
                    markers.insert(entry, Marker::Done);
                    true
                }
                _ => false,
            }
        });
        Box::pin(async move { completed })
    }

    fn release<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<bool, DedupeError>> {
        let released = self.with_markers(|markers| {
            let entry = (scope, key.to_owned());
            match markers.get(&entry) {
                Some(Marker::Claimed(_, holder)) if holder == owner => {
                    markers.remove(&entry);
                    true
                }
                _ => false,
            }
        });
        Box::pin(async move { released })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_claim_is_held_until_done_released_or_stale() {
        let dedupe = MemoryDeduplicator::with_lease(Duration::from_millis(40));
        let scope = DedupeScope::EventId;
        assert_eq!(dedupe.claim(scope, "Ev1", "a").await, Ok(Claim::Claimed));
        assert_eq!(dedupe.claim(scope, "Ev1", "b").await, Ok(Claim::Held));
        assert_eq!(dedupe.complete(scope, "Ev1", "a").await, Ok(true));
        assert_eq!(dedupe.claim(scope, "Ev1", "c").await, Ok(Claim::Done));

        assert_eq!(dedupe.claim(scope, "Ev2", "a").await, Ok(Claim::Claimed));
        assert_eq!(dedupe.release(scope, "Ev2", "a").await, Ok(true));
        assert_eq!(dedupe.claim(scope, "Ev2", "b").await, Ok(Claim::Claimed));

        // A claim nobody finished (its process died) is taken over once its lease ran out.
        let deadline = Instant::now() + Duration::from_secs(5);
        let taken_over = loop {
            match dedupe.claim(scope, "Ev2", "c").await {
                Ok(Claim::Held) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(5)).await
                }
                other => break other,
            }
        };
        assert_eq!(taken_over, Ok(Claim::Claimed));
        // The old owner can neither complete nor release the new owner's claim.
        assert_eq!(dedupe.complete(scope, "Ev2", "b").await, Ok(false));
        assert_eq!(dedupe.release(scope, "Ev2", "b").await, Ok(false));
        assert_eq!(dedupe.claim(scope, "Ev2", "d").await, Ok(Claim::Held));
        assert_eq!(
            dedupe.claim(DedupeScope::Content, "Ev2", "a").await,
            Ok(Claim::Claimed)
        );
    }
}
