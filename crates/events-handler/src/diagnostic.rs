//! The `errorType` Lambda records when the events handler cannot start or an invocation fails.

use sirslack_lambda::ErrorType;

use crate::handler::{InvocationError, StartError};

impl ErrorType for StartError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Config(error) => error.error_type(),
            Self::Slack(_) => "SlackClientSetup",
        }
    }
}

impl ErrorType for InvocationError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Unrecognised(_) => "PayloadUnrecognised",
            Self::MalformedLazy(_) => "LazyWorkMalformed",
            Self::Response(_) => "ResponseUnserialisable",
            Self::LazyRetryable(_) => "LazyWorkFailed",
        }
    }
}

sirslack_lambda::into_diagnostic!(StartError, InvocationError);

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::Diagnostic;
    use sirslack_slack_router::LazyError;

    #[test]
    fn failures_reach_lambda_by_class_without_capability_urls() {
        let lazy: Diagnostic =
            InvocationError::LazyRetryable(LazyError::retryable("SIR CreateCaseComment throttled"))
                .into();
        assert_eq!(lazy.error_type, "LazyWorkFailed");
        let malformed: Diagnostic = InvocationError::MalformedLazy(
            "invalid value: string \"https://hooks.slack.com/commands/T1/2/SECRET\"".to_owned(),
        )
        .into();
        assert_eq!(malformed.error_type, "LazyWorkMalformed");
        assert!(
            !malformed.error_message.contains("SECRET"),
            "{}",
            malformed.error_message
        );
    }
}
