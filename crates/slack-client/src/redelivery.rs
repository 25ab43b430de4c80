//! When an event given back to the queue is delivered again.
//!
//! A batch item failure alone leaves the message invisible for the rest of the queue's
//! visibility timeout: 90 minutes in AWS (six times the function timeout, which 100 MiB
//! transfers need). Before answering, the handler therefore sets the visibility of every message
//! it gives back (`ChangeMessageVisibilityBatch`) to a backoff that grows with the message's
//! `ApproximateReceiveCount`: [`RedeliverySchedule`]. A rate limit whose `Retry-After` is longer
//! than that backoff wins.
//!
//! The queue URL comes from the record's `eventSourceARN` through `GetQueueUrl` (queue name and
//! owner account from the ARN), remembered per container. That works unchanged in AWS and
//! against moto: the SDK's endpoint configuration decides where the call goes, and each endpoint
//! answers with its own form of URL, where a URL built from the ARN (or one baked into an
//! environment variable) is right for only one of them. It also follows whichever queue really
//! delivered the record, and needs no setting in the stacks or the local runner. Permissions:
//! `sqs:GetQueueUrl`, `sqs:GetQueueAttributes` and `sqs:ChangeMessageVisibility` on that queue
//! (the event source mapping's grant has them; `infra` names them again for this code).
//!
//! The change only ever shortens: a backoff longer than the queue's own visibility timeout (read
//! once per container with `GetQueueAttributes`) is cut to it, unless Slack's `Retry-After` asks
//! for more. A queue with a short visibility (the local runner's) keeps its pace.
//!
//! Shortening is best effort: when it fails the handler logs a warning and still reports the
//! failures, so the message comes back after the queue's own visibility timeout. Nothing is lost,
//! it is only late.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{ChangeMessageVisibilityBatchRequestEntry, QueueAttributeName};

/// Default of `REDELIVERY_FIRST_DELAY_SECONDS`.
pub const DEFAULT_FIRST_DELAY: Duration = Duration::from_secs(60);
/// Default of `REDELIVERY_MAX_DELAY_SECONDS`.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(600);
/// SQS's longest visibility timeout (12 hours).
pub const MAX_VISIBILITY: Duration = Duration::from_secs(43_200);
/// Entries per `ChangeMessageVisibilityBatch` call (SQS's limit).
const BATCH_LIMIT: usize = 10;
/// At most this share of a delay is added at random, so messages that failed together (a Slack
/// outage fails a whole batch) do not all come back in the same second.
const JITTER_SHARE: f64 = 0.25;

/// How long a message given back to the queue stays invisible, by how often it was received.
///
/// The `n`-th receive's delay is `first_delay * 2^(n - 1)`, at most `max_delay`, plus up to a
/// quarter of it at random. With the defaults (60 s, 600 s) and the queue's `maxReceiveCount` of
/// 5, a message that keeps failing is tried at about 0, 1, 3, 7 and 15 minutes (plus each
/// try's own work and `CASE_WAIT_SECONDS`) and moves to the dead-letter queue about 10 minutes
/// after its last try. The delays are lower bounds: jitter only adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedeliverySchedule {
    /// `REDELIVERY_FIRST_DELAY_SECONDS`: the delay after the first receive.
    pub first_delay: Duration,
    /// `REDELIVERY_MAX_DELAY_SECONDS`: the longest delay the schedule gives (a rate limit's
    /// `Retry-After` may still be longer).
    pub max_delay: Duration,
}

impl Default for RedeliverySchedule {
    fn default() -> Self {
        Self {
            first_delay: DEFAULT_FIRST_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
        }
    }
}

impl RedeliverySchedule {
    /// The delay after the `receive_count`-th receive (1 for the first), without jitter.
    pub fn nominal_delay(&self, receive_count: u32) -> Duration {
        let doublings = receive_count.saturating_sub(1).min(31);
        self.first_delay
            .saturating_mul(1_u32 << doublings)
            .min(self.max_delay)
    }

    /// The visibility to give a message after its `receive_count`-th receive: the nominal delay
    /// plus random jitter, at least `retry_after`, in whole seconds (rounded up) and at most
    /// SQS's 12 hours.
    pub fn visibility(&self, receive_count: u32, retry_after: Option<Duration>) -> Duration {
        self.visibility_with_jitter(receive_count, retry_after, rand::random::<f64>())
    }

    /// [`Self::visibility`] with the random draw given (`0.0..1.0`), for tests.
    fn visibility_with_jitter(
        &self,
        receive_count: u32,
        retry_after: Option<Duration>,
        draw: f64,
    ) -> Duration {
        let nominal = self.nominal_delay(receive_count);
        let jitter = nominal.mul_f64(JITTER_SHARE * draw.clamp(0.0, 1.0));
        visibility_seconds((nominal + jitter).max(retry_after.unwrap_or_default()))
    }
}

/// `wait` as an SQS visibility: whole seconds, rounded up, at most 12 hours.
pub(crate) fn visibility_seconds(wait: Duration) -> Duration {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Duration::from_secs(seconds).min(MAX_VISIBILITY)
}

/// The visibility actually set: `wanted`, but never longer than the queue's own visibility
/// timeout (when known) unless `at_least` (a `Retry-After`) asks for it.
fn capped_visibility(
    wanted: Duration,
    at_least: Duration,
    queue_visibility: Option<Duration>,
) -> Duration {
    match queue_visibility {
        Some(queue_visibility) => wanted.min(queue_visibility).max(at_least),
        None => wanted,
    }
}

// ---- the largest Retry-After seen while a case is applied ------------------------------------

tokio::task_local! {
    static RETRY_AFTER: Arc<RetryAfterNote>;
}

/// The longest `Retry-After` of the rate limits that ended a Slack call, in milliseconds.
#[derive(Debug, Default)]
struct RetryAfterNote(AtomicU64);

/// Notes that Slack asked for `wait` before the next call. Only has an effect inside
/// [`observing_retry_after`]; elsewhere (a spawned task, a unit test) it does nothing.
pub(crate) fn note_retry_after(wait: Duration) {
    let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    // Outside a scope there is no one to tell: the failure is then handled with the schedule.
    let _ = RETRY_AFTER.try_with(|note| note.0.fetch_max(millis, Ordering::Relaxed));
}

/// Runs `work` and returns its output with the longest `Retry-After` noted while it ran.
///
/// A task-local value rather than a field of the failure: the rate limit is known where the
/// Slack error becomes a [`crate::Failure`], the delay is decided by the handler, and the steps
/// in between only say whether an event is done.
pub(crate) async fn observing_retry_after<F: Future>(work: F) -> (F::Output, Option<Duration>) {
    let note = Arc::new(RetryAfterNote::default());
    let output = RETRY_AFTER.scope(Arc::clone(&note), work).await;
    let millis = note.0.load(Ordering::Relaxed);
    (output, (millis > 0).then(|| Duration::from_millis(millis)))
}

// ---- changing visibilities --------------------------------------------------------------------

/// One message to make visible again after `visibility`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VisibilityChange {
    /// The SQS message ID (for logs).
    pub(crate) message_id: String,
    /// The receipt handle of this delivery.
    pub(crate) receipt_handle: String,
    /// The ARN of the queue that delivered it.
    pub(crate) queue_arn: String,
    /// When it should be visible again, from now (the backoff).
    pub(crate) visibility: Duration,
    /// What it must stay invisible for even when the queue's own visibility timeout is shorter
    /// than the backoff (Slack's `Retry-After`; zero when none).
    pub(crate) at_least: Duration,
}

/// Why the visibility of some messages could not be changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum VisibilityError {
    /// The record's `eventSourceARN` is not an SQS queue ARN.
    #[error("`{0}` is not an SQS queue ARN")]
    NotAQueueArn(String),
    /// `GetQueueUrl` failed.
    #[error("GetQueueUrl failed: {0}")]
    QueueUrl(String),
    /// `ChangeMessageVisibilityBatch` failed as a whole.
    #[error("ChangeMessageVisibilityBatch failed: {0}")]
    Batch(String),
    /// SQS refused one entry (an expired receipt handle, a visibility beyond 12 hours...).
    #[error("SQS refused the change: {code}: {message}")]
    Entry {
        /// SQS's error code (`ReceiptHandleIsInvalid`, `InvalidParameterValue`...).
        code: String,
        /// SQS's message.
        message: String,
    },
}

/// The queue's name and owner account, from `arn:<partition>:sqs:<region>:<account>:<name>`.
pub(crate) fn parse_queue_arn(arn: &str) -> Result<(&str, &str), VisibilityError> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _partition, "sqs", _region, account, name]
            if !account.is_empty() && !name.is_empty() =>
        {
            Ok((name, account))
        }
        _ => Err(VisibilityError::NotAQueueArn(arn.to_owned())),
    }
}

/// What the handler knows of a queue that delivered records.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KnownQueue {
    url: String,
    /// The queue's own visibility timeout; `None` when it could not be read (then backoffs are
    /// not cut to it).
    visibility_timeout: Option<Duration>,
}

/// Changes the visibility of messages given back to their queue.
#[derive(Debug)]
pub(crate) struct QueueVisibility {
    sqs: aws_sdk_sqs::Client,
    /// By queue ARN, for this container's lifetime (a queue's URL never changes; a changed
    /// visibility timeout is picked up by the next container).
    queues: Mutex<HashMap<String, KnownQueue>>,
}

impl QueueVisibility {
    pub(crate) fn new(sqs: aws_sdk_sqs::Client) -> Self {
        Self {
            sqs,
            queues: Mutex::new(HashMap::new()),
        }
    }

    /// Sets the visibility of each message; returns the messages whose change failed, with why.
    pub(crate) async fn change<'m>(
        &self,
        messages: &'m [VisibilityChange],
    ) -> Vec<(&'m VisibilityChange, VisibilityError)> {
        let mut by_queue: Vec<(&str, Vec<&'m VisibilityChange>)> = Vec::new();
        for message in messages {
            match by_queue
                .iter_mut()
                .find(|(arn, _)| *arn == message.queue_arn)
            {
                Some((_, group)) => group.push(message),
                None => by_queue.push((&message.queue_arn, vec![message])),
            }
        }
        let mut failed = Vec::new();
        for (queue_arn, group) in by_queue {
            let queue = match self.queue(queue_arn).await {
                Ok(queue) => queue,
                Err(error) => {
                    failed.extend(group.into_iter().map(|message| (message, error.clone())));
                    continue;
                }
            };
            for chunk in group.chunks(BATCH_LIMIT) {
                failed.extend(self.change_batch(&queue, chunk).await);
            }
        }
        failed
    }

    /// The queue `queue_arn`: from this container's memory, else `GetQueueUrl` and
    /// `GetQueueAttributes`.
    async fn queue(&self, queue_arn: &str) -> Result<KnownQueue, VisibilityError> {
        if let Some(known) = self
            .queues
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(queue_arn)
        {
            return Ok(known.clone());
        }
        let url = self.queue_url(queue_arn).await?;
        let visibility_timeout = match self.queue_visibility_timeout(&url).await {
            Ok(visibility_timeout) => visibility_timeout,
            Err(error) => {
                // Not worth failing for: the backoff is then simply not cut to the queue's.
                tracing::warn!(queue_arn, %error, "cannot read the queue's visibility timeout; failed messages get the plain backoff");
                None
            }
        };
        let known = KnownQueue {
            url,
            visibility_timeout,
        };
        if known.visibility_timeout.is_some() {
            self.queues
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(queue_arn.to_owned(), known.clone());
        }
        Ok(known)
    }

    async fn queue_visibility_timeout(&self, url: &str) -> Result<Option<Duration>, String> {
        let answer = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::VisibilityTimeout)
            .send()
            .await
            .map_err(|error| DisplayErrorContext(&error).to_string())?;
        Ok(answer
            .attributes
            .as_ref()
            .and_then(|attributes| attributes.get(&QueueAttributeName::VisibilityTimeout))
            .and_then(|seconds| seconds.trim().parse().ok())
            .map(Duration::from_secs))
    }

    async fn queue_url(&self, queue_arn: &str) -> Result<String, VisibilityError> {
        let (name, account) = parse_queue_arn(queue_arn)?;
        let answer = self
            .sqs
            .get_queue_url()
            .queue_name(name)
            .queue_owner_aws_account_id(account)
            .send()
            .await
            .map_err(|error| VisibilityError::QueueUrl(DisplayErrorContext(&error).to_string()))?;
        answer
            .queue_url
            .ok_or_else(|| VisibilityError::QueueUrl("the answer has no QueueUrl".into()))
    }

    async fn change_batch<'m>(
        &self,
        queue: &KnownQueue,
        chunk: &[&'m VisibilityChange],
    ) -> Vec<(&'m VisibilityChange, VisibilityError)> {
        let mut entries = Vec::with_capacity(chunk.len());
        for (index, message) in chunk.iter().enumerate() {
            let visibility = capped_visibility(
                message.visibility,
                message.at_least,
                queue.visibility_timeout,
            );
            let seconds = i32::try_from(visibility.as_secs()).unwrap_or(i32::MAX);
            let entry = ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(entry_id(index))
                .receipt_handle(&message.receipt_handle)
                .visibility_timeout(seconds)
                .build();
            match entry {
                Ok(entry) => entries.push(entry),
                // Only a missing required field fails the build, and all are set.
                Err(error) => {
                    return chunk
                        .iter()
                        .map(|message| (*message, VisibilityError::Batch(error.to_string())))
                        .collect();
                }
            }
        }
        let answer = match self
            .sqs
            .change_message_visibility_batch()
            .queue_url(&queue.url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(answer) => answer,
            Err(error) => {
                let error = VisibilityError::Batch(DisplayErrorContext(&error).to_string());
                return chunk
                    .iter()
                    .map(|message| (*message, error.clone()))
                    .collect();
            }
        };
        answer
            .failed
            .iter()
            .filter_map(|refused| {
                let message = chunk
                    .iter()
                    .enumerate()
                    .find(|(index, _)| entry_id(*index) == refused.id)?
                    .1;
                Some((
                    *message,
                    VisibilityError::Entry {
                        code: refused.code.clone(),
                        message: refused.message.clone().unwrap_or_default(),
                    },
                ))
            })
            .collect()
    }
}

/// A batch entry's ID: unique within the call, which is all SQS asks.
fn entry_id(index: usize) -> String {
    format!("m{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(first: u64, max: u64) -> RedeliverySchedule {
        RedeliverySchedule {
            first_delay: Duration::from_secs(first),
            max_delay: Duration::from_secs(max),
        }
    }

    #[test]
    fn delays_double_per_receive_up_to_the_cap() {
        let defaults = RedeliverySchedule::default();
        let delays: Vec<u64> = (1..=6)
            .map(|receive| defaults.nominal_delay(receive).as_secs())
            .collect();
        assert_eq!(delays, [60, 120, 240, 480, 600, 600]);
        // A missing count is read as 1 by the envelope; 0 is treated the same here.
        assert_eq!(defaults.nominal_delay(0), Duration::from_secs(60));
        assert_eq!(defaults.nominal_delay(u32::MAX), Duration::from_secs(600));
        assert_eq!(schedule(10, 300).nominal_delay(3), Duration::from_secs(40));
    }

    #[test]
    fn jitter_only_adds_up_to_a_quarter_and_rounds_up_to_seconds() {
        let schedule = schedule(10, 300);
        assert_eq!(
            schedule.visibility_with_jitter(1, None, 0.0),
            Duration::from_secs(10)
        );
        assert_eq!(
            schedule.visibility_with_jitter(1, None, 0.999),
            Duration::from_secs(13),
            "10 s + 2.4975 s, rounded up"
        );
        assert_eq!(
            schedule.visibility_with_jitter(2, None, 1.0),
            Duration::from_secs(25)
        );
        for _ in 0..100 {
            let visibility = schedule.visibility(3, None);
            assert!(
                (Duration::from_secs(40)..=Duration::from_secs(50)).contains(&visibility),
                "{visibility:?}"
            );
        }
    }

    #[test]
    fn a_longer_retry_after_wins_and_sqs_caps_everything() {
        let schedule = schedule(10, 300);
        let longer = Some(Duration::from_millis(95_200));
        assert_eq!(
            schedule.visibility_with_jitter(1, longer, 0.5),
            Duration::from_secs(96)
        );
        let shorter = Some(Duration::from_secs(2));
        assert_eq!(
            schedule.visibility_with_jitter(1, shorter, 0.0),
            Duration::from_secs(10)
        );
        let absurd = Some(Duration::from_secs(100_000));
        assert_eq!(
            schedule.visibility_with_jitter(1, absurd, 0.0),
            MAX_VISIBILITY
        );
    }

    #[test]
    fn the_queue_s_own_visibility_caps_the_backoff_but_not_a_retry_after() {
        let secs = Duration::from_secs;
        assert_eq!(
            capped_visibility(secs(600), secs(0), Some(secs(40))),
            secs(40)
        );
        assert_eq!(
            capped_visibility(secs(30), secs(0), Some(secs(40))),
            secs(30)
        );
        assert_eq!(
            capped_visibility(secs(90), secs(90), Some(secs(40))),
            secs(90)
        );
        assert_eq!(capped_visibility(secs(600), secs(0), None), secs(600));
        assert_eq!(visibility_seconds(Duration::from_millis(1_001)), secs(2));
        assert_eq!(visibility_seconds(secs(50_000)), MAX_VISIBILITY);
    }

    #[test]
    fn queue_arns_give_name_and_owner() {
        assert_eq!(
            parse_queue_arn("arn:aws:sqs:us-east-1:123456789012:sirslack-slack-client"),
            Ok(("sirslack-slack-client", "123456789012"))
        );
        assert_eq!(
            parse_queue_arn("arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo"),
            Ok(("q.fifo", "123456789012"))
        );
        for bad in [
            "",
            "sirslack-slack-client",
            "arn:aws:sns:us-east-1:123456789012:topic",
            "arn:aws:sqs:us-east-1::q",
            "arn:aws:sqs:us-east-1:123456789012:",
            "arn:aws:sqs:us-east-1:123456789012:q:extra",
        ] {
            assert!(parse_queue_arn(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn the_longest_retry_after_is_noted_inside_the_scope_only() {
        note_retry_after(Duration::from_secs(99));
        let ((), noted) = observing_retry_after(async {
            note_retry_after(Duration::from_secs(3));
            note_retry_after(Duration::from_secs(7));
            note_retry_after(Duration::from_secs(5));
        })
        .await;
        assert_eq!(noted, Some(Duration::from_secs(7)));
        let ((), nothing) = observing_retry_after(async {}).await;
        assert_eq!(nothing, None, "the note outside the scope went nowhere");
    }

    #[tokio::test]
    async fn a_rate_limited_slack_error_becoming_a_failure_notes_its_retry_after() {
        use sirslack_slack_api::SlackApiError;
        let ((), noted) = observing_retry_after(async {
            let _ = crate::Failure::from(SlackApiError::rate_limited(
                "chat.postMessage",
                Some(Duration::from_secs(120)),
            ));
            let _ = crate::Failure::from(SlackApiError::rate_limited("chat.postMessage", None));
            let _ = crate::Failure::from(SlackApiError::from_http_status("chat.postMessage", 503));
        })
        .await;
        assert_eq!(noted, Some(Duration::from_secs(120)));
    }

    #[tokio::test]
    async fn concurrent_scopes_keep_their_own_notes() {
        let (first, second) = futures::join!(
            observing_retry_after(async {
                tokio::task::yield_now().await;
                note_retry_after(Duration::from_secs(2));
            }),
            observing_retry_after(async {
                note_retry_after(Duration::from_secs(30));
                tokio::task::yield_now().await;
            }),
        );
        assert_eq!(first.1, Some(Duration::from_secs(2)));
        assert_eq!(second.1, Some(Duration::from_secs(30)));
    }
}
