//! Publishes sirslack's integration events to the EventBridge bus.
//!
//! Each [`IntegrationEvent`] becomes one PutEvents entry: `Source` [`EVENT_SOURCE`],
//! `DetailType` the event kind (`CaseCreated`, ...), `Detail` the event JSON. Entries go out in
//! requests of at most [`MAX_ENTRIES_PER_REQUEST`] entries and [`MAX_REQUEST_BYTES`] bytes.
//!
//! PutEvents succeeds as a call even when some entries fail: the response's `FailedEntryCount`
//! and each entry's `ErrorCode` say which. [`EventPublisher`] resends only the failed entries,
//! with bounded exponential backoff and full jitter, and returns an error if any entry still
//! fails (or failed permanently, e.g. `InvalidArgument`), so the caller can keep its state where
//! it was and publish again later. Publishing is therefore at-least-once: an entry that
//! succeeded in a failed call may be published again, and consumers deduplicate on the event's
//! `idempotencyKey`.
//!
//! The [`Publish`] trait lets code that publishes be tested without a network.

#![forbid(unsafe_code)]

#[cfg(feature = "test-support")]
pub mod faults;
pub mod lazy_work;

use std::future::Future;
use std::time::Duration;

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use rand::Rng;
use sirslack_domain::events::{EVENT_SOURCE, EventError, IntegrationEvent};
use sirslack_domain::limits::EVENT_DETAIL_MAX_BYTES;

/// Most entries EventBridge accepts in one PutEvents call.
pub const MAX_ENTRIES_PER_REQUEST: usize = 10;

/// Most bytes of entries (source + detail-type + detail, summed) in one PutEvents call.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// Entry error codes that will fail the same way however often the entry is sent.
const PERMANENT_ERROR_CODES: &[&str] = &[
    "InvalidArgument",
    "MalformedDetail",
    "AccessDeniedException",
    "NotAuthorizedForSourceException",
    "NotAuthorizedForDetailTypeException",
    "ValidationException",
];

/// Something that publishes integration events, all or nothing from the caller's view: `Ok`
/// means every event was accepted; `Err` means at least one was not (others may have been).
pub trait Publish: Send + Sync {
    /// Publishes `events`.
    fn publish(
        &self,
        events: &[IntegrationEvent],
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}

impl<T: Publish + ?Sized> Publish for &T {
    fn publish(
        &self,
        events: &[IntegrationEvent],
    ) -> impl Future<Output = Result<(), PublishError>> + Send {
        (**self).publish(events)
    }
}

impl<T: Publish + ?Sized> Publish for std::sync::Arc<T> {
    fn publish(
        &self,
        events: &[IntegrationEvent],
    ) -> impl Future<Output = Result<(), PublishError>> + Send {
        (**self).publish(events)
    }
}

/// An entry EventBridge would not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedEntry {
    /// The event's idempotency key, which names the case and the fact.
    pub idempotency_key: String,
    /// EventBridge's `ErrorCode`, e.g. `InternalFailure` or `InvalidArgument`.
    pub error_code: String,
    /// EventBridge's `ErrorMessage`.
    pub error_message: String,
}

/// Why events were not all published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// An event cannot be encoded as an entry (for instance it is over EventBridge's size
    /// limit). Nothing was sent.
    #[error("event {idempotency_key} cannot be published: {source}")]
    Encode {
        /// The event's idempotency key.
        idempotency_key: String,
        /// What is wrong with it.
        source: EventError,
    },
    /// EventBridge refused some entries, permanently or after every retry.
    #[error("EventBridge rejected {} entr{} after {attempts} attempt(s): {}",
        .rejected.len(),
        if .rejected.len() == 1 { "y" } else { "ies" },
        describe(.rejected))]
    Rejected {
        /// The entries still failing.
        rejected: Vec<RejectedEntry>,
        /// How often the last batch was sent.
        attempts: u32,
    },
    /// The PutEvents call itself failed (after the SDK's own retries).
    #[error("PutEvents failed: {message}")]
    Request {
        /// The SDK's description of the failure.
        message: String,
    },
}

fn describe(rejected: &[RejectedEntry]) -> String {
    rejected
        .iter()
        .map(|entry| format!("{} ({})", entry.idempotency_key, entry.error_code))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How failed entries are resent: up to `max_attempts` sends in all, waiting a random time in
/// `0..=min(max_delay, base_delay * 2^(attempt-1))` before each resend ("full jitter").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Sends per batch, the first one included. At least 1.
    pub max_attempts: u32,
    /// The backoff cap before the first resend.
    pub base_delay: Duration,
    /// The largest backoff cap.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Five sends, backoff caps 100 ms, 200 ms, 400 ms, 800 ms: under two seconds in the worst case.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The random wait before resend number `resend` (1 for the first resend).
    fn backoff(&self, resend: u32) -> Duration {
        let factor = 1u32
            .checked_shl(resend.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let cap = self.base_delay.saturating_mul(factor).min(self.max_delay);
        let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=cap_ms))
    }
}

/// Publishes integration events to one EventBridge bus.
#[derive(Debug, Clone)]
pub struct EventPublisher {
    client: Client,
    bus_name: String,
    retry: RetryPolicy,
}

/// One encoded event.
#[derive(Debug, Clone)]
struct Entry {
    idempotency_key: String,
    request: PutEventsRequestEntry,
    size: usize,
}

impl EventPublisher {
    /// Publishes to `bus_name` (a name or ARN) with the default [`RetryPolicy`].
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
            retry: RetryPolicy::default(),
        }
    }

    /// Uses `retry` to resend failed entries.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The bus events go to.
    pub fn bus_name(&self) -> &str {
        &self.bus_name
    }

    fn encode(&self, event: &IntegrationEvent) -> Result<Entry, PublishError> {
        let detail = event
            .to_detail_json()
            .map_err(|source| PublishError::Encode {
                idempotency_key: event.idempotency_key.clone(),
                source,
            })?;
        let detail_type = event.detail_type();
        let size = EVENT_SOURCE.len() + detail_type.len() + detail.len();
        debug_assert!(size <= EVENT_DETAIL_MAX_BYTES);
        let request = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(EVENT_SOURCE)
            .detail_type(detail_type)
            .detail(detail)
            .build();
        Ok(Entry {
            idempotency_key: event.idempotency_key.clone(),
            request,
            size,
        })
    }

    /// Sends one batch, resending its failed entries until they pass or the policy gives up.
    async fn put_batch(&self, mut pending: Vec<Entry>) -> Result<(), PublishError> {
        let max_attempts = self.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let output = self
                .client
                .put_events()
                .set_entries(Some(pending.iter().map(|e| e.request.clone()).collect()))
                .send()
                .await
                .map_err(|e| PublishError::Request {
                    message: DisplayErrorContext(&e).to_string(),
                })?;
            let failed_count = output.failed_entry_count();
            let results = output.entries();
            let mut rejected = Vec::new();
            let mut retry = Vec::new();
            for (index, entry) in pending.into_iter().enumerate() {
                // Results come back in request order, one per entry; a missing result or one
                // without an event ID is a failure, whatever FailedEntryCount says.
                let result = results.get(index);
                let error_code = result.and_then(|r| r.error_code());
                let event_id = result.and_then(|r| r.event_id());
                if error_code.is_none() && event_id.is_some() {
                    continue;
                }
                let error_code = error_code.unwrap_or("NoEventId").to_string();
                let error_message = result
                    .and_then(|r| r.error_message())
                    .unwrap_or_default()
                    .to_string();
                tracing::warn!(
                    idempotency_key = %entry.idempotency_key,
                    error_code = %error_code,
                    error_message = %error_message,
                    attempt,
                    "EventBridge rejected an entry"
                );
                let permanent = PERMANENT_ERROR_CODES.contains(&error_code.as_str());
                rejected.push(RejectedEntry {
                    idempotency_key: entry.idempotency_key.clone(),
                    error_code,
                    error_message,
                });
                if !permanent {
                    retry.push(entry);
                }
            }
            if rejected.is_empty() {
                if failed_count > 0 {
                    tracing::warn!(
                        failed_count,
                        "FailedEntryCount is set but every entry has an event ID"
                    );
                }
                return Ok(());
            }
            let any_permanent = retry.len() < rejected.len();
            if any_permanent || attempt >= max_attempts {
                return Err(PublishError::Rejected {
                    rejected,
                    attempts: attempt,
                });
            }
            tokio::time::sleep(self.retry.backoff(attempt)).await;
            attempt += 1;
            pending = retry;
        }
    }
}

/// Groups entries into PutEvents requests, keeping their order.
fn batches(entries: Vec<Entry>) -> Vec<Vec<Entry>> {
    let mut batches: Vec<Vec<Entry>> = Vec::new();
    let mut current: Vec<Entry> = Vec::new();
    let mut current_bytes = 0;
    for entry in entries {
        let full = current.len() == MAX_ENTRIES_PER_REQUEST
            || current_bytes + entry.size > MAX_REQUEST_BYTES;
        if full && !current.is_empty() {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current_bytes += entry.size;
        current.push(entry);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

impl Publish for EventPublisher {
    async fn publish(&self, events: &[IntegrationEvent]) -> Result<(), PublishError> {
        // Encode everything first: an event that can never be sent fails the call before any
        // of its siblings goes out.
        let entries = events
            .iter()
            .map(|event| self.encode(event))
            .collect::<Result<Vec<_>, _>>()?;
        for batch in batches(entries) {
            self.put_batch(batch).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, size: usize) -> Entry {
        Entry {
            idempotency_key: key.to_string(),
            request: PutEventsRequestEntry::builder().build(),
            size,
        }
    }

    #[test]
    fn batches_hold_at_most_ten_entries_in_order() {
        let entries = (0..23).map(|i| entry(&i.to_string(), 100)).collect();
        let sizes: Vec<usize> = batches(entries).iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 3]);
    }

    #[test]
    fn batches_respect_the_request_size() {
        let big = MAX_REQUEST_BYTES / 2;
        let entries = vec![
            entry("a", big),
            entry("b", big),
            entry("c", 10),
            entry("d", MAX_REQUEST_BYTES),
        ];
        let keys: Vec<Vec<String>> = batches(entries)
            .into_iter()
            .map(|b| b.into_iter().map(|e| e.idempotency_key).collect())
            .collect();
        assert_eq!(keys, [vec!["a", "b"], vec!["c"], vec!["d"]]);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        for _ in 0..50 {
            assert!(policy.backoff(1) <= Duration::from_millis(100));
            assert!(policy.backoff(2) <= Duration::from_millis(200));
            assert!(policy.backoff(40) <= Duration::from_millis(300));
        }
    }

    #[test]
    fn rejected_error_names_the_entries() {
        let error = PublishError::Rejected {
            rejected: vec![RejectedEntry {
                idempotency_key: "comment:1234567890:000001".into(),
                error_code: "InternalFailure".into(),
                error_message: "boom".into(),
            }],
            attempts: 5,
        };
        assert_eq!(
            error.to_string(),
            "EventBridge rejected 1 entry after 5 attempt(s): comment:1234567890:000001 (InternalFailure)"
        );
    }
}
