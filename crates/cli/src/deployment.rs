//! The names of one deployment: its two stacks, its SSM parameters and the stack outputs this CLI
//! reads. They mirror `infra/lib/contract.js` and `infra/lib/app.js` (`deploymentNames`).

/// The common stack's name for the default deployment.
pub const COMMON_STACK: &str = "AwsSecurityIncidentResponseSampleIntegrationsCommonStack";
/// The Slack stack's name for the default deployment.
pub const SLACK_STACK: &str = "AwsSecurityIncidentResponseSlackIntegrationStack";
/// The SSM prefix of the default deployment.
pub const DEFAULT_PARAMETER_PREFIX: &str = "/SecurityIncidentResponse";

/// The four Lambda binaries `cargo lambda build --release --arm64` must produce.
pub const FUNCTION_BINARIES: [&str; 4] = [
    "sir-poller",
    "slack-client",
    "slack-events-handler",
    "command-handler",
];

/// Stack outputs (`infra/lib/common-stack.js`, `infra/lib/slack-stack.js`).
pub mod outputs {
    pub const ENDPOINT: &str = "SlackEventsApiEndpoint";
    pub const TABLE_NAME: &str = "TableName";
    pub const POLLER_FUNCTION: &str = "PollerFunctionName";
    pub const POLLER_DLQ: &str = "PollerDeadLetterQueueUrl";
    pub const SLACK_CLIENT_FUNCTION: &str = "SlackClientFunctionName";
    pub const EVENTS_HANDLER_FUNCTION: &str = "EventsHandlerFunctionName";
    pub const COMMAND_HANDLER_FUNCTION: &str = "CommandHandlerFunctionName";
    pub const SLACK_CLIENT_QUEUE: &str = "SlackClientQueueUrl";
    pub const SLACK_CLIENT_DLQ: &str = "SlackClientDeadLetterQueueUrl";
    pub const COMMAND_HANDLER_DLQ: &str = "CommandHandlerDeadLetterQueueUrl";
    pub const EVENTS_HANDLER_DLQ: &str = "EventsHandlerDeadLetterQueueUrl";
}

/// One deployment of the two stacks: the default one, or a named one (`--deployment acme`) for
/// a second Slack workspace in the same account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    name: Option<String>,
}

impl Deployment {
    /// `name` must have passed [`crate::validate::deployment_name`].
    pub fn new(name: Option<String>) -> Self {
        Self { name }
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// How the deployment is called in messages.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("deployment {name:?}"),
            None => "the default deployment".to_string(),
        }
    }

    pub fn common_stack(&self) -> String {
        self.suffixed(COMMON_STACK)
    }

    pub fn slack_stack(&self) -> String {
        self.suffixed(SLACK_STACK)
    }

    pub fn parameter_prefix(&self) -> String {
        match &self.name {
            Some(name) => format!("{DEFAULT_PARAMETER_PREFIX}/{name}"),
            None => DEFAULT_PARAMETER_PREFIX.to_string(),
        }
    }

    /// SecureString, written by this CLI.
    pub fn bot_token_parameter(&self) -> String {
        format!("{}/slackBotToken", self.parameter_prefix())
    }

    /// SecureString, written by this CLI.
    pub fn signing_secret_parameter(&self) -> String {
        format!("{}/slackSigningSecret", self.parameter_prefix())
    }

    /// String, written by the Slack stack from its `slackWorkspaceId` parameter.
    pub fn workspace_id_parameter(&self) -> String {
        format!("{}/slackWorkspaceId", self.parameter_prefix())
    }

    /// String, written by the Slack stack from its `channelPrefix` parameter.
    pub fn channel_prefix_parameter(&self) -> String {
        format!("{}/slackChannelPrefix", self.parameter_prefix())
    }

    /// String, written by the deploy when `--app-name` is given: the Slack app's name, so every
    /// manifest printed later keeps it.
    pub fn app_name_parameter(&self) -> String {
        format!("{}/slackAppName", self.parameter_prefix())
    }

    /// String, written by `destroy` (without `--delete-data`): the DynamoDB table the destroyed
    /// stack kept, which the next deploy adopts instead of creating an empty one.
    pub fn retained_table_parameter(&self) -> String {
        format!("{}/retainedTableName", self.parameter_prefix())
    }

    /// Path of the per-user TOTP SecureStrings (`<path><userId>/otpSecret`).
    pub fn user_secrets_path(&self) -> String {
        format!("{}/slackUsers/", self.parameter_prefix())
    }

    /// The `--deployment` flag that names this deployment again, for commands we suggest.
    pub fn flag(&self) -> Option<String> {
        self.name
            .as_ref()
            .map(|name| format!("--deployment {name}"))
    }

    fn suffixed(&self, stack: &str) -> String {
        match &self.name {
            Some(name) => format!("{stack}-{name}"),
            None => stack.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_deployment_keeps_the_names_users_know() {
        let deployment = Deployment::new(None);
        assert_eq!(
            deployment.common_stack(),
            "AwsSecurityIncidentResponseSampleIntegrationsCommonStack"
        );
        assert_eq!(
            deployment.slack_stack(),
            "AwsSecurityIncidentResponseSlackIntegrationStack"
        );
        assert_eq!(
            deployment.bot_token_parameter(),
            "/SecurityIncidentResponse/slackBotToken"
        );
        assert_eq!(
            deployment.signing_secret_parameter(),
            "/SecurityIncidentResponse/slackSigningSecret"
        );
        assert_eq!(
            deployment.workspace_id_parameter(),
            "/SecurityIncidentResponse/slackWorkspaceId"
        );
        assert_eq!(deployment.flag(), None);
    }

    #[test]
    fn a_named_deployment_suffixes_stacks_and_prefixes_parameters() {
        let deployment = Deployment::new(Some("acme".into()));
        assert_eq!(
            deployment.common_stack(),
            "AwsSecurityIncidentResponseSampleIntegrationsCommonStack-acme"
        );
        assert_eq!(
            deployment.slack_stack(),
            "AwsSecurityIncidentResponseSlackIntegrationStack-acme"
        );
        assert_eq!(
            deployment.bot_token_parameter(),
            "/SecurityIncidentResponse/acme/slackBotToken"
        );
        assert_eq!(
            deployment.user_secrets_path(),
            "/SecurityIncidentResponse/acme/slackUsers/"
        );
        assert_eq!(deployment.flag().as_deref(), Some("--deployment acme"));
    }
}
