//! The names of everything the world creates, as the deployed stacks name them
//! (`infra/lib/contract.js`), or with a unique suffix when worlds share one moto.

use crate::config::MotoChoice;

/// The common stack's name; the integration bus is `<this>-integration`.
pub const COMMON_STACK_NAME: &str = "AwsSecurityIncidentResponseSampleIntegrationsCommonStack";
/// The Slack stack's `parameterPrefix` default.
pub const DEFAULT_PARAMETER_PREFIX: &str = "/SecurityIncidentResponse";
/// The Slack stack's `channelPrefix` default.
pub const DEFAULT_CHANNEL_PREFIX: &str = sirslack_domain::channel::DEFAULT_CHANNEL_PREFIX;

/// One function of the integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    /// `sir-poller`: schedule and SIR native events -> integration events.
    Poller,
    /// `slack-client`: integration events (SQS) -> Slack.
    SlackClient,
    /// `slack-events-handler`: `POST /slack/events` and its own lazy work.
    EventsHandler,
    /// `command-handler`: `/security-ir` commands, invoked asynchronously.
    CommandHandler,
}

impl Function {
    /// All four, in pipeline order.
    pub const ALL: [Function; 4] = [
        Function::Poller,
        Function::SlackClient,
        Function::EventsHandler,
        Function::CommandHandler,
    ];

    /// The Lambda binary's name, which is also the function name the local Lambda endpoint
    /// answers to.
    pub fn binary_name(self) -> &'static str {
        match self {
            Function::Poller => "sir-poller",
            Function::SlackClient => "slack-client",
            Function::EventsHandler => "slack-events-handler",
            Function::CommandHandler => "command-handler",
        }
    }

    /// The function named by a Lambda `FunctionName` (a name, or an ARN ending in it).
    pub fn from_function_name(name: &str) -> Option<Self> {
        let name = name
            .rsplit_once(":function:")
            .map_or(name, |(_, rest)| rest)
            .split(':')
            .next()
            .unwrap_or(name);
        Self::ALL
            .into_iter()
            .find(|function| function.binary_name() == name)
    }
}

impl std::fmt::Display for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.binary_name())
    }
}

/// Every name the world uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceNames {
    /// The DynamoDB table.
    pub table: String,
    /// The integration bus.
    pub integration_bus: String,
    /// The bus SIR's native events arrive on: `default`, or a per-world stand-in for it.
    pub sir_event_bus: String,
    /// The integration bus -> Slack client queue, and its DLQ.
    pub slack_client_queue: String,
    /// The Slack client queue's DLQ.
    pub slack_client_dlq: String,
    /// Where the poller's rules deliver (standing in for Lambda's async event queue).
    pub poller_queue: String,
    /// The poller's DLQ (failed async invocations).
    pub poller_dlq: String,
    /// Where the lazy-work rule delivers (standing in for Lambda's async event queue).
    pub lazy_work_queue: String,
    /// The events handler's DLQ (lazy work that failed every retry).
    pub events_handler_dlq: String,
    /// The command handler's DLQ (commands that failed every retry).
    pub command_handler_dlq: String,
    /// The rule on the SIR event bus -> poller queue.
    pub sir_events_rule: String,
    /// The rule on the integration bus -> Slack client queue.
    pub slack_client_rule: String,
    /// The rule on the integration bus -> lazy-work queue.
    pub lazy_work_rule: String,
    /// The SSM prefix (`parameterPrefix`).
    pub parameter_prefix: String,
}

impl ResourceNames {
    /// The names for a world on `moto`.
    pub fn for_moto(moto: MotoChoice) -> Self {
        let unique = |name: &str| match moto {
            MotoChoice::Private => name.to_owned(),
            MotoChoice::Shared => aws_local::unique_name(name),
        };
        let parameter_prefix = match moto {
            MotoChoice::Private => DEFAULT_PARAMETER_PREFIX.to_owned(),
            MotoChoice::Shared => {
                format!(
                    "{DEFAULT_PARAMETER_PREFIX}/{}",
                    aws_local::unique_name("world")
                )
            }
        };
        Self {
            table: unique("sirslack-table"),
            integration_bus: unique(&format!("{COMMON_STACK_NAME}-integration")),
            sir_event_bus: match moto {
                MotoChoice::Private => aws_local::DEFAULT_EVENT_BUS.to_owned(),
                MotoChoice::Shared => aws_local::unique_name("account-default-bus"),
            },
            slack_client_queue: unique("sirslack-slack-client"),
            slack_client_dlq: unique("sirslack-slack-client-dlq"),
            poller_queue: unique("sirslack-poller-async"),
            poller_dlq: unique("sirslack-poller-dlq"),
            lazy_work_queue: unique("sirslack-events-handler-async"),
            events_handler_dlq: unique("sirslack-events-handler-dlq"),
            command_handler_dlq: unique("sirslack-command-handler-dlq"),
            sir_events_rule: unique("sirslack-sir-native-events"),
            slack_client_rule: unique("sirslack-slack-client"),
            lazy_work_rule: unique("sirslack-events-handler-lazy-work"),
            parameter_prefix,
        }
    }

    /// `<prefix>/slackBotToken` (SecureString).
    pub fn bot_token_parameter(&self) -> String {
        format!("{}/slackBotToken", self.parameter_prefix)
    }

    /// `<prefix>/slackSigningSecret` (SecureString).
    pub fn signing_secret_parameter(&self) -> String {
        format!("{}/slackSigningSecret", self.parameter_prefix)
    }

    /// `<prefix>/slackWorkspaceId` (String).
    pub fn workspace_id_parameter(&self) -> String {
        format!("{}/slackWorkspaceId", self.parameter_prefix)
    }

    /// `<prefix>/slackChannelPrefix` (String).
    pub fn channel_prefix_parameter(&self) -> String {
        format!("{}/slackChannelPrefix", self.parameter_prefix)
    }

    /// `<prefix>/slackCommandPolicy` (String).
    pub fn command_policy_parameter(&self) -> String {
        format!("{}/slackCommandPolicy", self.parameter_prefix)
    }

    /// `<prefix>/slackUsers/` (per-user TOTP SecureStrings below it).
    pub fn otp_secrets_path(&self) -> String {
        format!("{}/slackUsers/", self.parameter_prefix)
    }

    /// The SSM name of `user_id`'s TOTP secret.
    pub fn otp_secret_parameter(&self, user_id: &str) -> String {
        format!("{}{user_id}/otpSecret", self.otp_secrets_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_resolve_from_names_and_arns() {
        assert_eq!(
            Function::from_function_name("command-handler"),
            Some(Function::CommandHandler)
        );
        assert_eq!(
            Function::from_function_name(
                "arn:aws:lambda:us-east-1:123456789012:function:slack-events-handler:$LATEST"
            ),
            Some(Function::EventsHandler)
        );
        assert_eq!(Function::from_function_name("other"), None);
    }

    #[test]
    fn a_private_world_uses_the_deployed_names() {
        let names = ResourceNames::for_moto(MotoChoice::Private);
        assert_eq!(
            names.integration_bus,
            "AwsSecurityIncidentResponseSampleIntegrationsCommonStack-integration"
        );
        assert_eq!(names.sir_event_bus, "default");
        assert_eq!(
            names.bot_token_parameter(),
            "/SecurityIncidentResponse/slackBotToken"
        );
        assert_eq!(
            names.otp_secret_parameter("U0123ABCD"),
            "/SecurityIncidentResponse/slackUsers/U0123ABCD/otpSecret"
        );
    }

    #[test]
    fn shared_worlds_never_share_a_name() {
        let one = ResourceNames::for_moto(MotoChoice::Shared);
        let two = ResourceNames::for_moto(MotoChoice::Shared);
        assert_ne!(one.table, two.table);
        assert_ne!(one.sir_event_bus, two.sir_event_bus);
        assert_ne!(one.parameter_prefix, two.parameter_prefix);
        assert!(
            one.parameter_prefix
                .starts_with("/SecurityIncidentResponse/")
        );
    }
}
