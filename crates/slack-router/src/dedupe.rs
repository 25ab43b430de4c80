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

/// A store of markers with conditional writes, each `claimed` (with a lease) or `done`.
///
/// `claim` must be atomic (a conditional put): of two concurrent claims of one key exactly one
/// gets [`Claim::Claimed`]. A claim neither completed nor released goes stale when its lease
/// runs out (a crash), and the next claim takes it over: a crash never turns a redelivery into
/// a "duplicate". Markers should expire (hours to a day) so the store does not grow forever.
pub trait Deduplicator: Send + Sync {
    /// Claims `key`.
    fn claim<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Claim, DedupeError>>;

    /// Marks a claimed `key` done: later claims are duplicates.
    fn complete<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), DedupeError>>;

    /// Forgets `key`, so that a redelivery is processed again after a failure.
    fn release<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), DedupeError>>;
}

/// How long a claim holds before a redelivery may take it over, by default: Slack stops
/// waiting for an answer after 3 seconds, so a delivery claimed longer ago than that and not
/// finished was given up on by Slack (its handler died, or is stuck).
pub const DEFAULT_CLAIM_LEASE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy)]
enum Marker {
    Claimed(Instant),
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
    ) -> BoxFuture<'a, Result<Claim, DedupeError>> {
        let lease = self.lease;
        let claimed = self.with_markers(|markers| {
            let now = Instant::now();
            match markers.get(&(scope, key.to_owned())) {
                Some(Marker::Done) => Claim::Done,
                Some(Marker::Claimed(at)) if now.duration_since(*at) < lease => Claim::Held,
                _ => {
                    markers.insert((scope, key.to_owned()), Marker::Claimed(now));
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
    ) -> BoxFuture<'a, Result<(), DedupeError>> {
        let completed = self.with_markers(|markers| {
            markers.insert((scope, key.to_owned()), Marker::Done);
        });
        Box::pin(async move { completed })
    }

    fn release<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), DedupeError>> {
        let released = self.with_markers(|markers| {
            markers.remove(&(scope, key.to_owned()));
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
        assert_eq!(dedupe.claim(scope, "Ev1").await, Ok(Claim::Claimed));
        assert_eq!(dedupe.claim(scope, "Ev1").await, Ok(Claim::Held));
        dedupe.complete(scope, "Ev1").await.unwrap();
        assert_eq!(dedupe.claim(scope, "Ev1").await, Ok(Claim::Done));

        assert_eq!(dedupe.claim(scope, "Ev2").await, Ok(Claim::Claimed));
        dedupe.release(scope, "Ev2").await.unwrap();
        assert_eq!(dedupe.claim(scope, "Ev2").await, Ok(Claim::Claimed));

        // A claim nobody finished (its process died) is taken over once its lease ran out.
        let deadline = Instant::now() + Duration::from_secs(5);
        let taken_over = loop {
            match dedupe.claim(scope, "Ev2").await {
                Ok(Claim::Held) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(5)).await
                }
                other => break other,
            }
        };
        assert_eq!(taken_over, Ok(Claim::Claimed));
        assert_eq!(
            dedupe.claim(DedupeScope::Content, "Ev2").await,
            Ok(Claim::Claimed)
        );
    }
}
