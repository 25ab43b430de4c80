//! The local world both Slack client test files run on: moto with a fresh table, the Slack and
//! SIR stand-ins, and the bot token parameter. Each file builds its own handler on it.

use std::collections::HashMap;
use std::sync::Arc;

use aws_local::LocalAws;
use serde_json::{Value, json};
use sir_standin::SirStandin;
use sirslack_test_world::LocalWorld;
use slack_standin::SlackStandin;

/// The region the tests' AWS events and configurations name.
pub const REGION: &str = "us-east-1";

pub struct World {
    pub aws: LocalAws,
    pub slack: SlackStandin,
    pub sir: Arc<SirStandin>,
    pub table_name: String,
    pub token_parameter: String,
}

impl World {
    pub async fn start() -> World {
        let local = LocalWorld::builder("slack-client")
            .table()
            .sir()
            .slack()
            .bot_token()
            .start()
            .await;
        World {
            aws: local.aws().clone(),
            slack: local.slack().clone(),
            sir: local.sir().clone(),
            table_name: local.table_name().to_owned(),
            token_parameter: local.parameters().bot_token.clone(),
        }
    }

    pub fn sir_client(&self) -> aws_sdk_securityir::Client {
        let config = aws_sdk_securityir::config::Builder::from(self.aws.sdk_config())
            .endpoint_url(self.sir.endpoint_url())
            .build();
        aws_sdk_securityir::Client::from_conf(config)
    }
}

/// The SQS records Lambda's event source mapping would deliver for `messages`, received from
/// the queue `queue_arn` (with their system attributes).
pub fn lambda_records(messages: &[aws_sdk_sqs::types::Message], queue_arn: &str) -> Vec<Value> {
    messages
        .iter()
        .map(|message| {
            let attributes: HashMap<String, String> = message
                .attributes()
                .map(|attributes| {
                    attributes
                        .iter()
                        .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": message.message_id(),
                "receiptHandle": message.receipt_handle(),
                "body": message.body(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": message.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            })
        })
        .collect()
}
