//! `slack redrive`: move the messages of the dead-letter queues back to where they failed.
//!
//! - The Slack client's DLQ holds messages of its SQS queue (and events the rule could not
//!   enqueue): they are sent to that queue again.
//! - The poller's, the command handler's and the events handler's DLQs hold failed asynchronous
//!   invocations (and events their rules could not deliver: the poller's schedule and SIR events,
//!   the events handler's lazy work); the body is the original event, so the function is invoked
//!   again, asynchronously, with it.
//!
//! A message is deleted from the DLQ only after it was delivered. Messages that arrive while the
//! redrive runs are left for the next run, so a message failing in a loop cannot keep it going.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::anyhow;
use aws_sdk_lambda::error::DisplayErrorContext;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_sdk_sqs::types::{
    Message, MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
};

use super::{Failure, ResolvedTarget};
use crate::aws::{Aws, Stack};
use crate::cli::RedriveArgs;
use crate::deployment::outputs;

/// How long a received message stays hidden while it is being delivered.
const VISIBILITY_TIMEOUT_SECONDS: i32 = 60;

/// Long-poll time of each receive: short, because the DLQ is read until it is empty.
const RECEIVE_WAIT: Duration = Duration::from_secs(1);

/// Where the messages of one DLQ go back to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Destination {
    Queue(String),
    Function(String),
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Queue(url) => write!(f, "queue {}", url.rsplit('/').next().unwrap_or(url)),
            Self::Function(name) => write!(f, "function {name}"),
        }
    }
}

/// One DLQ and where its messages go back to, as stack outputs.
struct Route<'a> {
    label: &'static str,
    stack: &'a Stack,
    dlq_output: &'static str,
    destination_output: &'static str,
    destination_is_queue: bool,
}

pub async fn run(args: RedriveArgs) -> Result<(), Failure> {
    let target = ResolvedTarget::from_args(&args.target).map_err(Failure::Usage)?;
    let aws = Aws::connect(&target.aws).await?;
    let deployment = &target.deployment;
    let mut stacks = Vec::new();
    for name in [deployment.common_stack(), deployment.slack_stack()] {
        let stack = aws.stack(&name).await?.ok_or_else(|| {
            anyhow!(
                "stack {name} not found in {}: nothing to redrive (check --region and --deployment)",
                aws.region
            )
        })?;
        stacks.push(stack);
    }
    let (common, slack) = (&stacks[0], &stacks[1]);
    let routes = [
        Route {
            label: "dead-letter queue of the SIR poller",
            stack: common,
            dlq_output: outputs::POLLER_DLQ,
            destination_output: outputs::POLLER_FUNCTION,
            destination_is_queue: false,
        },
        Route {
            label: "dead-letter queue of the Slack client",
            stack: slack,
            dlq_output: outputs::SLACK_CLIENT_DLQ,
            destination_output: outputs::SLACK_CLIENT_QUEUE,
            destination_is_queue: true,
        },
        Route {
            label: "dead-letter queue of the command handler",
            stack: slack,
            dlq_output: outputs::COMMAND_HANDLER_DLQ,
            destination_output: outputs::COMMAND_HANDLER_FUNCTION,
            destination_is_queue: false,
        },
        Route {
            label: "dead-letter queue of the events handler",
            stack: slack,
            dlq_output: outputs::EVENTS_HANDLER_DLQ,
            destination_output: outputs::EVENTS_HANDLER_FUNCTION,
            destination_is_queue: false,
        },
    ];
    let (mut moved, mut failed) = (0, 0);
    for route in routes {
        let label = route.label;
        let (Some(dlq), Some(to)) = (
            route.stack.output(route.dlq_output),
            route.stack.output(route.destination_output),
        ) else {
            println!(
                "skip  {label}: stack {} needs the outputs {} and {} (deploy again)",
                route.stack.name, route.dlq_output, route.destination_output
            );
            continue;
        };
        let destination = if route.destination_is_queue {
            Destination::Queue(to.to_string())
        } else {
            Destination::Function(to.to_string())
        };
        let result = redrive_queue(&aws, dlq, &destination).await?;
        moved += result.moved;
        failed += result.failed;
        let failures = match (&result.failed, &result.last_error) {
            (0, _) => String::new(),
            (count, Some(error)) => {
                format!("; {count} could not be delivered and stay in the queue ({error})")
            }
            (count, None) => format!("; {count} could not be delivered and stay in the queue"),
        };
        println!(
            "{}  {label}: moved {} to {destination}{failures}",
            if result.failed == 0 { "ok  " } else { "FAIL" },
            messages(result.moved)
        );
    }
    println!("redrive: moved {} in total", messages(moved));
    if failed == 0 {
        Ok(())
    } else {
        Err(Failure::Reported)
    }
}

fn messages(count: usize) -> String {
    format!("{count} message{}", if count == 1 { "" } else { "s" })
}

struct Redriven {
    moved: usize,
    failed: usize,
    last_error: Option<String>,
}

async fn redrive_queue(
    aws: &Aws,
    dlq_url: &str,
    destination: &Destination,
) -> anyhow::Result<Redriven> {
    let waiting = visible_messages(aws, dlq_url).await?;
    let mut redriven = Redriven {
        moved: 0,
        failed: 0,
        last_error: None,
    };
    // Enough for every message that was waiting, and not for ones that fail again meanwhile.
    let limit = waiting + 10;
    // Messages that could not be delivered: hidden while the loop runs (so it does not see them
    // again), visible again in the DLQ when it ends.
    let mut undelivered = Vec::new();
    while redriven.moved + redriven.failed < limit {
        let received = aws
            .sqs
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages(10)
            .wait_time_seconds(RECEIVE_WAIT.as_secs() as i32)
            .visibility_timeout(VISIBILITY_TIMEOUT_SECONDS)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|err| anyhow!("receiving from {dlq_url}: {}", DisplayErrorContext(&err)))?;
        let batch = received.messages.unwrap_or_default();
        if batch.is_empty() {
            break;
        }
        for message in batch {
            match deliver(aws, &message, destination).await {
                Ok(()) => {
                    if let Some(receipt) = message.receipt_handle() {
                        aws.sqs
                            .delete_message()
                            .queue_url(dlq_url)
                            .receipt_handle(receipt)
                            .send()
                            .await
                            .map_err(|err| {
                                anyhow!(
                                    "a message was delivered but could not be deleted from {dlq_url} (it will be delivered twice): {}",
                                    DisplayErrorContext(&err)
                                )
                            })?;
                    }
                    redriven.moved += 1;
                }
                Err(error) => {
                    redriven.failed += 1;
                    redriven.last_error = Some(format!("{error:#}"));
                    undelivered.extend(message.receipt_handle().map(str::to_string));
                }
            }
        }
    }
    for receipt in undelivered {
        // Best effort: if this fails the message reappears after the visibility timeout anyway.
        let _ = aws
            .sqs
            .change_message_visibility()
            .queue_url(dlq_url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await;
    }
    Ok(redriven)
}

async fn visible_messages(aws: &Aws, queue_url: &str) -> anyhow::Result<usize> {
    let attributes = aws
        .sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(|err| anyhow!("reading {queue_url}: {}", DisplayErrorContext(&err)))?;
    Ok(attributes
        .attributes()
        .and_then(|attributes| attributes.get(&QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|count| count.parse().ok())
        .unwrap_or(0))
}

async fn deliver(aws: &Aws, message: &Message, destination: &Destination) -> anyhow::Result<()> {
    let body = message.body().unwrap_or_default();
    match destination {
        Destination::Queue(queue_url) => {
            let attributes: HashMap<String, MessageAttributeValue> =
                message.message_attributes().cloned().unwrap_or_default();
            let mut send = aws
                .sqs
                .send_message()
                .queue_url(queue_url)
                .message_body(body)
                .set_message_attributes((!attributes.is_empty()).then_some(attributes));
            if queue_url.ends_with(".fifo") {
                let group = message
                    .attributes()
                    .and_then(|attributes| {
                        attributes.get(&MessageSystemAttributeName::MessageGroupId)
                    })
                    .cloned()
                    .unwrap_or_else(|| "redrive".to_string());
                send = send
                    .message_group_id(group)
                    .message_deduplication_id(message.message_id().unwrap_or_default());
            }
            send.send()
                .await
                .map_err(|err| anyhow!("sending to {queue_url}: {}", DisplayErrorContext(&err)))?;
        }
        Destination::Function(name) => {
            if serde_json::from_str::<serde_json::Value>(body).is_err() {
                return Err(anyhow!(
                    "a message body is not JSON, so it cannot be a Lambda event"
                ));
            }
            aws.lambda
                .invoke()
                .function_name(name)
                .invocation_type(InvocationType::Event)
                .payload(Blob::new(body.as_bytes()))
                .send()
                .await
                .map_err(|err| anyhow!("invoking {name}: {}", DisplayErrorContext(&err)))?;
        }
    }
    Ok(())
}
