//! EventBridge buses and rules, and the SQS queues they deliver to.

use std::time::{Duration, Instant};

use aws_sdk_eventbridge::types::{PutEventsRequestEntry, RuleState, SqsParameters, Target};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

use crate::error::{LocalAwsError, aws, build};

/// The name of the account's default event bus, where AWS services (SIR included) publish.
pub const DEFAULT_EVENT_BUS: &str = "default";

/// The longest long poll SQS allows per ReceiveMessage call.
const MAX_WAIT_TIME: Duration = Duration::from_secs(20);

/// Creates a custom event bus and returns its ARN.
pub async fn create_bus(
    eventbridge: &aws_sdk_eventbridge::Client,
    name: &str,
) -> Result<String, LocalAwsError> {
    let created = eventbridge
        .create_event_bus()
        .name(name)
        .send()
        .await
        .map_err(aws("CreateEventBus"))?;
    created
        .event_bus_arn()
        .map(str::to_owned)
        .ok_or(LocalAwsError::MissingField {
            operation: "CreateEventBus",
            missing: "EventBusArn",
        })
}

/// Creates (or replaces) rule `rule_name` on `bus` (a name, or [`DEFAULT_EVENT_BUS`]) matching
/// `event_pattern`, with the queue `queue_arn` as its one target, and returns the rule ARN.
///
/// A FIFO queue target needs `fifo_message_group_id` (EventBridge rejects the target without one)
/// and content-based deduplication on the queue (see [`QueueKind::Fifo`]).
///
/// No queue policy is set: moto delivers without one, AWS needs one that lets
/// `events.amazonaws.com` call `sqs:SendMessage` (the CDK stack adds it).
pub async fn create_rule_to_queue(
    eventbridge: &aws_sdk_eventbridge::Client,
    bus: &str,
    rule_name: &str,
    event_pattern: &serde_json::Value,
    queue_arn: &str,
    fifo_message_group_id: Option<&str>,
) -> Result<String, LocalAwsError> {
    let rule = eventbridge
        .put_rule()
        .name(rule_name)
        .event_bus_name(bus)
        .event_pattern(event_pattern.to_string())
        .state(RuleState::Enabled)
        .send()
        .await
        .map_err(aws("PutRule"))?;
    let rule_arn = rule
        .rule_arn()
        .map(str::to_owned)
        .ok_or(LocalAwsError::MissingField {
            operation: "PutRule",
            missing: "RuleArn",
        })?;

    let target = Target::builder()
        .id("queue")
        .arn(queue_arn)
        .set_sqs_parameters(
            fifo_message_group_id
                .map(|group| SqsParameters::builder().message_group_id(group).build()),
        )
        .build()
        .map_err(build("rule target"))?;
    let targets = eventbridge
        .put_targets()
        .rule(rule_name)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .map_err(aws("PutTargets"))?;
    if targets.failed_entry_count() > 0 {
        let details = targets
            .failed_entries()
            .iter()
            .map(|entry| {
                format!(
                    "{}: {}",
                    entry.error_code().unwrap_or("?"),
                    entry.error_message().unwrap_or("?")
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Err(LocalAwsError::FailedEntries {
            operation: "PutTargets",
            failed: targets.failed_entry_count(),
            details,
        });
    }
    Ok(rule_arn)
}

/// Puts one event on `bus` and returns its event ID; a per-entry failure is an error.
pub async fn put_event(
    eventbridge: &aws_sdk_eventbridge::Client,
    bus: &str,
    source: &str,
    detail_type: &str,
    detail: &serde_json::Value,
) -> Result<String, LocalAwsError> {
    let entry = PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(source)
        .detail_type(detail_type)
        .detail(detail.to_string())
        .build();
    let put = eventbridge
        .put_events()
        .entries(entry)
        .send()
        .await
        .map_err(aws("PutEvents"))?;
    let result = put.entries().first();
    match result.and_then(|entry| entry.event_id()) {
        Some(event_id) if put.failed_entry_count() == 0 => Ok(event_id.to_owned()),
        _ => Err(LocalAwsError::FailedEntries {
            operation: "PutEvents",
            failed: put.failed_entry_count(),
            details: format!(
                "{}: {}",
                result.and_then(|entry| entry.error_code()).unwrap_or("?"),
                result
                    .and_then(|entry| entry.error_message())
                    .unwrap_or("?")
            ),
        }),
    }
}

/// Which kind of SQS queue to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueKind {
    Standard,
    /// The name must end in `.fifo`. An EventBridge rule can only target a FIFO queue that has
    /// content-based deduplication (moto silently drops the events otherwise).
    Fifo {
        content_based_deduplication: bool,
    },
}

/// Where a queue sends messages that were received too often without being deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterTarget {
    pub queue_arn: String,
    /// Receives after which the next receive attempt moves the message to the dead-letter queue.
    pub max_receive_count: u32,
}

/// A created queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub url: String,
    pub arn: String,
}

/// Creates queue `name` (with a redrive policy when `dead_letter` is given) and returns its URL and ARN.
pub async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    kind: QueueKind,
    dead_letter: Option<&DeadLetterTarget>,
) -> Result<Queue, LocalAwsError> {
    let fifo_name = name.ends_with(".fifo");
    let mut request = sqs.create_queue().queue_name(name);
    match kind {
        QueueKind::Standard if fifo_name => {
            return Err(LocalAwsError::InvalidInput(format!(
                "standard queue {name} must not end in .fifo"
            )));
        }
        QueueKind::Standard => {}
        QueueKind::Fifo { .. } if !fifo_name => {
            return Err(LocalAwsError::InvalidInput(format!(
                "FIFO queue {name} must end in .fifo"
            )));
        }
        QueueKind::Fifo {
            content_based_deduplication,
        } => {
            request = request
                .attributes(QueueAttributeName::FifoQueue, "true")
                .attributes(
                    QueueAttributeName::ContentBasedDeduplication,
                    content_based_deduplication.to_string(),
                );
        }
    }
    if let Some(dead_letter) = dead_letter {
        let policy = serde_json::json!({
            "deadLetterTargetArn": dead_letter.queue_arn,
            "maxReceiveCount": dead_letter.max_receive_count,
        });
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    let created = request.send().await.map_err(aws("CreateQueue"))?;
    let url = created
        .queue_url()
        .map(str::to_owned)
        .ok_or(LocalAwsError::MissingField {
            operation: "CreateQueue",
            missing: "QueueUrl",
        })?;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(aws("GetQueueAttributes"))?;
    let arn = attributes
        .attributes()
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or(LocalAwsError::MissingField {
            operation: "GetQueueAttributes",
            missing: "QueueArn",
        })?;
    Ok(Queue { url, arn })
}

/// One received SQS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub body: String,
    pub receipt_handle: String,
    /// How often the message has been received, this time included.
    pub receive_count: Option<u32>,
    /// Set on FIFO queues.
    pub message_group_id: Option<String>,
}

impl ReceivedMessage {
    fn from_sdk(message: aws_sdk_sqs::types::Message) -> Option<Self> {
        let system_attribute = |name: MessageSystemAttributeName| {
            message
                .attributes()
                .and_then(|attributes| attributes.get(&name))
                .cloned()
        };
        let receive_count = system_attribute(MessageSystemAttributeName::ApproximateReceiveCount)
            .and_then(|count| count.parse().ok());
        let message_group_id = system_attribute(MessageSystemAttributeName::MessageGroupId);
        Some(Self {
            message_id: message.message_id?,
            body: message.body?,
            receipt_handle: message.receipt_handle?,
            receive_count,
            message_group_id,
        })
    }
}

/// Long-polls `queue_url` until `done(&received_so_far)` holds or `timeout` passes, and returns
/// everything received. Messages are not deleted; they stay invisible for the queue's visibility
/// timeout. Reaching the timeout is not an error: check what came back.
pub async fn receive_until<F>(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    timeout: Duration,
    mut done: F,
) -> Result<Vec<ReceivedMessage>, LocalAwsError>
where
    F: FnMut(&[ReceivedMessage]) -> bool,
{
    let deadline = Instant::now() + timeout;
    let mut received = Vec::new();
    loop {
        if done(&received) {
            return Ok(received);
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(received);
        }
        // Round up: a zero wait would turn the loop into a busy short-poll for the last second.
        let wait = remaining.min(MAX_WAIT_TIME).as_secs_f64().ceil();
        received.extend(receive_batch(sqs, queue_url, Duration::from_secs_f64(wait), None).await?);
    }
}

/// Long-polls `queue_url` until at least `count` messages arrived or `timeout` passes.
pub async fn receive_count(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    count: usize,
    timeout: Duration,
) -> Result<Vec<ReceivedMessage>, LocalAwsError> {
    receive_until(sqs, queue_url, timeout, |received| received.len() >= count).await
}

/// Receives once (long-polling up to `wait`) with a visibility timeout of zero, as a consumer that
/// fails would: the messages are visible again at once and their receive count has gone up.
pub async fn receive_and_release(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    wait: Duration,
) -> Result<Vec<ReceivedMessage>, LocalAwsError> {
    receive_batch(sqs, queue_url, wait.min(MAX_WAIT_TIME), Some(0)).await
}

async fn receive_batch(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    wait: Duration,
    visibility_timeout_seconds: Option<i32>,
) -> Result<Vec<ReceivedMessage>, LocalAwsError> {
    // `wait` is capped at 20 s, so the conversion cannot overflow.
    let wait_seconds = i32::try_from(wait.as_secs()).unwrap_or(20);
    let output = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait_seconds)
        .set_visibility_timeout(visibility_timeout_seconds)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .map_err(aws("ReceiveMessage"))?;
    Ok(output
        .messages
        .unwrap_or_default()
        .into_iter()
        .filter_map(ReceivedMessage::from_sdk)
        .collect())
}

/// Deletes a received message (acknowledges it).
pub async fn delete_message(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    receipt_handle: &str,
) -> Result<(), LocalAwsError> {
    sqs.delete_message()
        .queue_url(queue_url)
        .receipt_handle(receipt_handle)
        .send()
        .await
        .map_err(aws("DeleteMessage"))?;
    Ok(())
}

/// The queue's `ApproximateNumberOfMessages` (visible messages). Exact on moto, whose deliveries
/// from EventBridge happen inside PutEvents: right after PutEvents returns, this tells whether a
/// rule delivered, without waiting.
pub async fn visible_message_count(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Result<u64, LocalAwsError> {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(aws("GetQueueAttributes"))?;
    attributes
        .attributes()
        .and_then(|attributes| attributes.get(&QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|count| count.parse().ok())
        .ok_or(LocalAwsError::MissingField {
            operation: "GetQueueAttributes",
            missing: "ApproximateNumberOfMessages",
        })
}
