//! The local world both Slack client test files run on: moto with a fresh table, the Slack and
//! SIR stand-ins, and the bot token parameter. Each file builds its own handler on it.

use std::sync::Arc;

use aws_local::LocalAws;
use sir_standin::SirStandin;
use sirslack_test_world::LocalWorld;
use slack_standin::SlackStandin;

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
