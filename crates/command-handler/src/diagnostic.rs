//! The `errorType` Lambda records when the command handler cannot start or an invocation
//! fails (the invocation then goes to Lambda's retries and the function's dead-letter queue).

use sirslack_lambda::ErrorType;

use crate::handler::{InvocationError, SetupError};
use crate::home::HomeError;
use crate::slack::SlackError;

impl ErrorType for SetupError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Config(error) => error.error_type(),
            Self::Region(_) => "ConfigInvalid",
            Self::Slack(_) => "SlackClientSetup",
        }
    }
}

impl ErrorType for InvocationError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "InvocationMalformed",
            Self::Version(_) => "InvocationVersionUnsupported",
            Self::Unfinished => "CommandUnfinished",
            Self::HomeNotPublished(HomeError::Store(error)) => error.error_type(),
            Self::HomeNotPublished(HomeError::Slack(SlackError::Api(error))) => {
                error.class.error_type()
            }
            Self::HomeNotPublished(HomeError::Slack(SlackError::Token(_))) => "BotTokenUnavailable",
        }
    }
}

sirslack_lambda::into_diagnostic!(SetupError, InvocationError);

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::Diagnostic;
    use sirslack_slack_api::SlackApiError;

    #[test]
    fn failures_reach_lambda_by_class() {
        let limited: Diagnostic = InvocationError::HomeNotPublished(HomeError::Slack(
            SlackError::Api(SlackApiError::rate_limited("views.publish", None)),
        ))
        .into();
        assert_eq!(limited.error_type, "SlackRateLimited");
        let unfinished: Diagnostic = InvocationError::Unfinished.into();
        assert_eq!(unfinished.error_type, "CommandUnfinished");
        let malformed: Diagnostic = InvocationError::Malformed(
            "invalid type: string \"https://hooks.slack.com/actions/T1/2/SECRET\"".to_owned(),
        )
        .into();
        assert_eq!(malformed.error_type, "InvocationMalformed");
        assert!(
            !malformed.error_message.contains("SECRET"),
            "{}",
            malformed.error_message
        );
    }
}
