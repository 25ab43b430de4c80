//! Everything that moves events between the world's parts in the background, as AWS does:
//!
//! - the Slack client's event source mapping: batches from its queue, `batchItemFailures`
//!   honoured (failed records stay for the visibility timeout; moto's redrive moves them to the
//!   DLQ after `maxReceiveCount`);
//! - Lambda's async event queues of the poller (its rule on SIR's bus) and of the events handler
//!   (the lazy-work rule): each event one invocation, retried after a failure, then the DLQ;
//! - the reconcile schedule, and the events handler's lane sweep schedule;
//! - SIR's native events, put on the account's default bus as SIR would.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::Value;
use sir_standin::NativeEvent;
use tokio::sync::{Semaphore, mpsc};

use crate::functions::{InvocationOutcome, Trigger};
use crate::lambda_events::{queue_arn, scheduled_event, sqs_event};
use crate::names::Function;
use crate::world::Shared;

/// Long-poll wait of every receive (short enough that a stopped world's polls end soon).
const RECEIVE_WAIT_SECONDS: i32 = 5;
/// Pause after a failed receive before trying again.
const RECEIVE_ERROR_PAUSE: Duration = Duration::from_millis(500);
/// The schedule rule's name, in the Scheduled Event's `resources`.
pub const SCHEDULE_RULE_NAME: &str = "sirslack-poll-schedule";
/// The lane sweep rule's name (the Slack stack's `EventsHandlerLaneSweepRule`).
pub const LANE_SWEEP_RULE_NAME: &str = "sirslack-lane-sweep";

/// One worker of the Slack client's event source mapping (the mapping runs
/// `max_concurrency` of them).
pub(crate) async fn slack_client_mapping(shared: Arc<Shared>) {
    let queue = shared.queues.slack_client.clone();
    let arn = queue_arn(&queue.url);
    let sqs = shared.aws.sqs();
    loop {
        let messages = match receive(&sqs, &queue.url, shared.config.slack_client.batch_size).await
        {
            Ok(messages) if messages.is_empty() => continue,
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(%error, "Slack client queue: receive failed");
                tokio::time::sleep(RECEIVE_ERROR_PAUSE).await;
                continue;
            }
        };
        let event = sqs_event(&messages, &arn);
        let trigger = Trigger::SqsBatch {
            records: messages.len(),
        };
        let outcome = shared
            .runner
            .invoke(Function::SlackClient, trigger, event)
            .await;
        let failed = failed_message_ids(&outcome, &messages);
        let done: Vec<&Message> = messages
            .iter()
            .filter(|message| message.message_id().is_some_and(|id| !failed.contains(id)))
            .collect();
        if let Err(error) = delete_batch(&sqs, &queue.url, &done).await {
            tracing::warn!(%error, "Slack client queue: delete failed; the messages come back");
        }
    }
}

/// The records a batch response names as failed, or all of them when the invocation failed or
/// named a record that was not in the batch (what Lambda does).
fn failed_message_ids(outcome: &InvocationOutcome, messages: &[Message]) -> HashSet<String> {
    let all = || {
        messages
            .iter()
            .filter_map(|message| message.message_id().map(str::to_owned))
            .collect::<HashSet<_>>()
    };
    let InvocationOutcome::Succeeded(response) = outcome else {
        return all();
    };
    let Some(failures) = response.get("batchItemFailures") else {
        return HashSet::new();
    };
    let Some(failures) = failures.as_array() else {
        return all();
    };
    let batch = all();
    let mut failed = HashSet::new();
    for failure in failures {
        match failure.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if batch.contains(id) => {
                failed.insert(id.to_owned());
            }
            _ => return batch,
        }
    }
    failed
}

/// Lambda's async event queue of `function`, fed by EventBridge rules: each event is one
/// invocation; a failed one is retried after `retry_delay` (the message's visibility is set to
/// it) until moto's redrive moves it to the function's DLQ.
pub(crate) async fn async_event_queue(shared: Arc<Shared>, function: Function, queue_url: String) {
    let sqs = shared.aws.sqs();
    let permits = Arc::new(Semaphore::new(
        shared.config.async_invocation.max_concurrency.max(1),
    ));
    loop {
        let messages = match receive(&sqs, &queue_url, 10).await {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(%error, %function, "async event queue: receive failed");
                tokio::time::sleep(RECEIVE_ERROR_PAUSE).await;
                continue;
            }
        };
        for message in messages {
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return;
            };
            let shared = Arc::clone(&shared);
            let sqs = sqs.clone();
            let queue_url = queue_url.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let attempt = receive_count(&message);
                let payload: Value = message
                    .body()
                    .and_then(|body| serde_json::from_str(body).ok())
                    .unwrap_or(Value::Null);
                let text = |name: &str| {
                    payload
                        .get(name)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                let trigger = Trigger::RuleEvent {
                    source: text("source"),
                    detail_type: text("detail-type"),
                    attempt,
                };
                let outcome = shared.runner.invoke(function, trigger, payload).await;
                let Some(receipt) = message.receipt_handle() else {
                    return;
                };
                let settled = if outcome.is_success() {
                    sqs.delete_message()
                        .queue_url(&queue_url)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|error| format!("{error:?}"))
                } else {
                    let delay = shared.config.async_invocation.retry_delay;
                    sqs.change_message_visibility()
                        .queue_url(&queue_url)
                        .receipt_handle(receipt)
                        .visibility_timeout(i32::try_from(delay.as_secs()).unwrap_or(i32::MAX))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|error| format!("{error:?}"))
                };
                if let Err(error) = settled {
                    tracing::warn!(%error, %function, "async event queue: could not settle a message");
                }
            });
        }
    }
}

/// The reconcile schedule: a Scheduled Event for the poller every `interval` (each in its own
/// task, as EventBridge does not wait for the previous run; the reconcile lease keeps runs
/// from overlapping).
pub(crate) async fn schedule(shared: Arc<Shared>, interval: Duration) {
    every(shared, interval, |shared| async move {
        run_schedule(&shared).await;
    })
    .await;
}

/// Runs `run` every `interval` after the first, each in its own task (an EventBridge schedule
/// does not wait for the previous run).
async fn every<F, Fut>(shared: Arc<Shared>, interval: Duration, run: F)
where
    F: Fn(Arc<Shared>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        tokio::spawn(run(Arc::clone(&shared)));
    }
}

/// One scheduled invocation, retried as an async invocation is.
pub(crate) async fn run_schedule(shared: &Shared) -> InvocationOutcome {
    let event = scheduled_event(SCHEDULE_RULE_NAME);
    let outcome = shared
        .runner
        .invoke(Function::Poller, Trigger::Schedule, event)
        .await;
    if !outcome.is_success() {
        tracing::warn!(outcome = ?outcome, "scheduled reconcile failed; the next tick retries");
    }
    outcome
}

/// The events handler's lane sweep: a Scheduled Event every `interval`, each in its own task
/// (the lanes' leases keep sweeps and drains from writing a job twice).
pub(crate) async fn lane_sweep_schedule(shared: Arc<Shared>, interval: Duration) {
    every(shared, interval, |shared| async move {
        run_lane_sweep(&shared).await;
    })
    .await;
}

/// One lane sweep. A failed one is not retried here: the next tick sweeps again (in AWS,
/// Lambda retries it twice, then parks it in the events handler's DLQ).
pub(crate) async fn run_lane_sweep(shared: &Shared) -> InvocationOutcome {
    let event = scheduled_event(LANE_SWEEP_RULE_NAME);
    let outcome = shared
        .runner
        .invoke(Function::EventsHandler, Trigger::Schedule, event)
        .await;
    if !outcome.is_success() {
        tracing::warn!(outcome = ?outcome, "lane sweep failed; the next tick sweeps again");
    }
    outcome
}

/// SIR's side of its native events: each change goes to the account's default bus, where the
/// poller's rule picks it up.
pub(crate) async fn sir_native_events(
    shared: Arc<Shared>,
    mut events: mpsc::UnboundedReceiver<NativeEvent>,
) {
    let eventbridge = shared.aws.eventbridge();
    while let Some(event) = events.recv().await {
        let _busy = shared.activity.begin();
        let time = aws_smithy_types::DateTime::from_millis(event.time.timestamp_millis());
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&shared.names.sir_event_bus)
            .source(sir_standin::NATIVE_EVENT_SOURCE)
            .detail_type(event.detail_type())
            .detail(event.detail().to_string())
            .resources(&event.case_arn)
            .time(time)
            .build();
        match eventbridge.put_events().entries(entry).send().await {
            Ok(output) if output.failed_entry_count() == 0 => {}
            Ok(output) => tracing::warn!(
                failed = output.failed_entry_count(),
                "SIR native event not accepted by EventBridge"
            ),
            Err(error) => tracing::warn!(error = ?error, "SIR native event could not be put"),
        }
    }
}

async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    max_messages: i32,
) -> Result<Vec<Message>, String> {
    let output = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(max_messages.clamp(1, 10))
        .wait_time_seconds(RECEIVE_WAIT_SECONDS)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(|error| format!("{error:?}"))?;
    Ok(output.messages.unwrap_or_default())
}

fn receive_count(message: &Message) -> u32 {
    message
        .attributes()
        .and_then(|attributes| attributes.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|count| count.parse().ok())
        .unwrap_or(1)
}

async fn delete_batch(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    messages: &[&Message],
) -> Result<(), String> {
    for chunk in messages.chunks(10) {
        let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .filter_map(|(index, message)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .receipt_handle(message.receipt_handle()?)
                    .build()
                    .ok()
            })
            .collect();
        if entries.is_empty() {
            continue;
        }
        let output = sqs
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|error| format!("{error:?}"))?;
        if !output.failed().is_empty() {
            return Err(format!("{} deletes failed", output.failed().len()));
        }
    }
    Ok(())
}

/// A queue's messages, read without consuming them (each becomes visible again at once).
pub(crate) async fn peek(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Result<Vec<String>, String> {
    let mut bodies = Vec::new();
    let mut seen = HashSet::new();
    // Several receives: SQS returns a sample per call; stop when one brings nothing new.
    for _ in 0..10 {
        let output = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|error| format!("{error:?}"))?;
        let mut new = false;
        for message in output.messages.unwrap_or_default() {
            if let Some(id) = message.message_id()
                && seen.insert(id.to_owned())
            {
                new = true;
                bodies.push(message.body().unwrap_or_default().to_owned());
            }
        }
        if !new {
            break;
        }
    }
    Ok(bodies)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message(id: &str) -> Message {
        Message::builder().message_id(id).receipt_handle(id).build()
    }

    #[test]
    fn batch_item_failures_are_read_as_lambda_reads_them() {
        let batch = [message("a"), message("b"), message("c")];
        let answered =
            |response| failed_message_ids(&InvocationOutcome::Succeeded(response), &batch);
        assert!(answered(json!({"batchItemFailures": []})).is_empty());
        assert!(answered(json!({})).is_empty());
        assert_eq!(
            answered(json!({"batchItemFailures": [{"itemIdentifier": "b"}]})),
            HashSet::from(["b".to_owned()])
        );
        assert_eq!(
            answered(json!({"batchItemFailures": [{"itemIdentifier": "zzz"}]})).len(),
            3,
            "an unknown identifier fails the whole batch"
        );
        assert_eq!(
            failed_message_ids(&InvocationOutcome::Crashed, &batch).len(),
            3
        );
    }
}
