//! What the two stacks create, created in moto: the table, the integration bus, the rules and
//! their queues (with DLQs), and the SSM parameters (those the deploy CLI writes too).

use std::time::Duration;

use aws_local::{
    DeadLetterTarget, LocalAws, OnExisting, ParameterKind, Queue, QueueKind, create_bus,
    create_queue, create_rule_to_queue, create_table, put_parameter,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::config::WorldConfig;
use crate::error::WorldError;
use crate::names::ResourceNames;

/// The rule patterns, as `infra/lib/contract.js` defines them.
pub mod patterns {
    use serde_json::{Value, json};

    /// SIR's native events on the default bus -> poller (`SIR_NATIVE_EVENT_PATTERN`).
    pub fn sir_native_events() -> Value {
        json!({
            "source": [sirslack_poller::trigger::SIR_EVENT_SOURCE],
            "detail-type": [{"anything-but": ["AWS API Call via CloudTrail"]}],
        })
    }

    /// Integration events -> Slack client queue (`SLACK_CLIENT_EVENT_PATTERN`).
    pub fn slack_client() -> Value {
        json!({
            "source": [sirslack_domain::events::EVENT_SOURCE],
            "detail-type": [
                "CaseCreated",
                "CaseUpdated",
                "CommentAdded",
                "CommentEdited",
                "AttachmentAdded",
                "WatchersChanged",
                "CaseClosed",
                "CaseQuiet"
            ],
        })
    }

    /// The events handler's lazy work -> the events handler (`LAZY_WORK_EVENT_PATTERN`).
    pub fn lazy_work() -> Value {
        json!({
            "source": [sirslack_events_handler::invoke::LAZY_EVENT_SOURCE],
            "detail-type": [sirslack_events_handler::invoke::LAZY_EVENT_DETAIL_TYPE],
        })
    }
}

/// The secrets the deploy CLI writes.
#[derive(Clone)]
pub(crate) struct Secrets {
    pub bot_token: String,
    pub signing_secret: String,
    pub workspace_id: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("workspace_id", &self.workspace_id)
            .finish_non_exhaustive()
    }
}

/// The queues the world reads and inspects.
#[derive(Debug, Clone)]
pub struct Queues {
    /// Integration bus -> Slack client.
    pub slack_client: Queue,
    /// The Slack client's DLQ.
    pub slack_client_dlq: Queue,
    /// The poller's rules -> poller (Lambda's async event queue, made visible).
    pub poller: Queue,
    /// The poller's DLQ.
    pub poller_dlq: Queue,
    /// The lazy-work rule -> events handler (Lambda's async event queue, made visible).
    pub lazy_work: Queue,
    /// The events handler's DLQ.
    pub events_handler_dlq: Queue,
    /// The command handler's DLQ.
    pub command_handler_dlq: Queue,
}

impl Queues {
    /// The DLQ a function's failed asynchronous invocations (or, for the Slack client, its
    /// queue's poison messages) end in.
    pub fn dead_letter_queue_of(&self, function: crate::Function) -> Option<&Queue> {
        Some(match function {
            crate::Function::Poller => &self.poller_dlq,
            crate::Function::SlackClient => &self.slack_client_dlq,
            crate::Function::EventsHandler => &self.events_handler_dlq,
            crate::Function::CommandHandler => &self.command_handler_dlq,
        })
    }
}

pub(crate) async fn provision(
    aws: &LocalAws,
    names: &ResourceNames,
    config: &WorldConfig,
    secrets: &Secrets,
) -> Result<Queues, WorldError> {
    create_table(&aws.dynamodb(), &names.table).await?;
    let eventbridge = aws.eventbridge();
    create_bus(&eventbridge, &names.integration_bus).await?;
    if names.sir_event_bus != aws_local::DEFAULT_EVENT_BUS {
        create_bus(&eventbridge, &names.sir_event_bus).await?;
    }

    let sqs = aws.sqs();
    let slack_client_dlq =
        create_queue(&sqs, &names.slack_client_dlq, QueueKind::Standard, None).await?;
    let poller_dlq = create_queue(&sqs, &names.poller_dlq, QueueKind::Standard, None).await?;
    let events_handler_dlq =
        create_queue(&sqs, &names.events_handler_dlq, QueueKind::Standard, None).await?;
    let command_handler_dlq =
        create_queue(&sqs, &names.command_handler_dlq, QueueKind::Standard, None).await?;

    let with_dlq = |name: &str, dlq: &Queue, max_receive_count: u32| {
        let target = DeadLetterTarget {
            queue_arn: dlq.arn.clone(),
            max_receive_count,
        };
        let sqs = sqs.clone();
        let name = name.to_owned();
        async move { create_queue(&sqs, &name, QueueKind::Standard, Some(&target)).await }
    };
    let slack_client = with_dlq(
        &names.slack_client_queue,
        &slack_client_dlq,
        config.slack_client.max_receive_count,
    )
    .await?;
    set_visibility_timeout(aws, &slack_client, config.slack_client.visibility_timeout).await?;
    // Lambda's async event queue: one receive per attempt, so the first try plus the retries.
    let attempts = 1 + config.async_invocation.retry_attempts;
    let poller = with_dlq(&names.poller_queue, &poller_dlq, attempts).await?;
    set_visibility_timeout(aws, &poller, config.poller_timeout + Duration::from_secs(5)).await?;
    let lazy_work = with_dlq(&names.lazy_work_queue, &events_handler_dlq, attempts).await?;
    set_visibility_timeout(
        aws,
        &lazy_work,
        config.events_handler_timeout + Duration::from_secs(5),
    )
    .await?;

    create_rule_to_queue(
        &eventbridge,
        &names.sir_event_bus,
        &names.sir_events_rule,
        &patterns::sir_native_events(),
        &poller.arn,
        None,
    )
    .await?;
    create_rule_to_queue(
        &eventbridge,
        &names.integration_bus,
        &names.slack_client_rule,
        &patterns::slack_client(),
        &slack_client.arn,
        None,
    )
    .await?;
    create_rule_to_queue(
        &eventbridge,
        &names.integration_bus,
        &names.lazy_work_rule,
        &patterns::lazy_work(),
        &lazy_work.arn,
        None,
    )
    .await?;

    let ssm = aws.ssm();
    let mut parameters: Vec<(String, String, ParameterKind)> = vec![
        (
            names.bot_token_parameter(),
            secrets.bot_token.clone(),
            ParameterKind::Secure,
        ),
        (
            names.signing_secret_parameter(),
            secrets.signing_secret.clone(),
            ParameterKind::Secure,
        ),
        (
            names.workspace_id_parameter(),
            secrets.workspace_id.clone(),
            ParameterKind::Plain,
        ),
        (
            names.channel_prefix_parameter(),
            crate::environment::channel_prefix().to_owned(),
            ParameterKind::Plain,
        ),
    ];
    // As the Slack stack: the parameter always exists (the open policy by default); a missing
    // one refuses every command but help.
    parameters.push((
        names.command_policy_parameter(),
        config
            .command_policy
            .clone()
            .unwrap_or_else(|| sirslack_command_handler::authorize::policy::OPEN_POLICY.to_owned()),
        ParameterKind::Plain,
    ));
    for (name, value, kind) in parameters {
        put_parameter(&ssm, &name, &value, kind, OnExisting::Overwrite).await?;
    }

    Ok(Queues {
        slack_client,
        slack_client_dlq,
        poller,
        poller_dlq,
        lazy_work,
        events_handler_dlq,
        command_handler_dlq,
    })
}

async fn set_visibility_timeout(
    aws: &LocalAws,
    queue: &Queue,
    timeout: Duration,
) -> Result<(), WorldError> {
    aws.sqs()
        .set_queue_attributes()
        .queue_url(&queue.url)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            timeout.as_secs().max(1).to_string(),
        )
        .send()
        .await
        .map_err(|error| WorldError::aws("SetQueueAttributes")(format!("{error:?}")))?;
    Ok(())
}

/// A random signing secret shaped like Slack's: 32 hexadecimal characters.
pub(crate) fn random_signing_secret() -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// A bot token shaped like Slack's (`xoxb-<digits>-<digits>-<alphanumerics>`), which the deploy
/// CLI's validation accepts.
pub(crate) fn random_bot_token() -> String {
    use rand::Rng as _;
    use rand::distr::Alphanumeric;
    let mut rng = rand::rng();
    let tail: String = (0..24).map(|_| rng.sample(Alphanumeric) as char).collect();
    format!(
        "xoxb-{}-{}-{tail}",
        rng.random_range(1_000_000_000u64..10_000_000_000),
        rng.random_range(1_000_000_000u64..10_000_000_000)
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secrets_have_slacks_shapes() {
        let secret = random_signing_secret();
        assert_eq!(secret.len(), 32);
        assert!(secret.chars().all(|c| c.is_ascii_hexdigit()));
        let token = random_bot_token();
        let parts: Vec<&str> = token.split('-').collect();
        assert_eq!(parts[0], "xoxb");
        assert!(parts[1].chars().all(|c| c.is_ascii_digit()));
        assert!(parts[2].chars().all(|c| c.is_ascii_digit()));
        assert!(parts[3].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(random_signing_secret(), secret);
    }

    #[test]
    fn patterns_match_the_contract() {
        assert_eq!(
            patterns::lazy_work(),
            json!({"source": ["sirslack.slack-events-handler"], "detail-type": ["Slack Lazy Work"]})
        );
        assert_eq!(
            patterns::sir_native_events()["source"],
            json!(["aws.security-ir"])
        );
        assert_eq!(
            patterns::slack_client()["source"],
            json!(["sirslack.poller"])
        );
    }

    /// The Slack client's detail-types are the CDK app's `INTEGRATION_DETAIL_TYPES`, in order:
    /// an event kind missing here would reach the deployed Slack client but not the local one.
    #[test]
    fn slack_client_detail_types_are_the_cdk_app_s() {
        let contract = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../infra/lib/contract.js"
        ))
        .expect("infra/lib/contract.js");
        let start = contract
            .find("const INTEGRATION_DETAIL_TYPES = Object.freeze([")
            .expect("INTEGRATION_DETAIL_TYPES in contract.js");
        let list = &contract[start..];
        let list = &list[..list.find("]);").expect("the list ends")];
        let declared: Vec<&str> = list.split('\'').skip(1).step_by(2).collect();
        assert!(declared.contains(&"CommentEdited"), "{declared:?}");
        assert_eq!(patterns::slack_client()["detail-type"], json!(declared));
    }
}
