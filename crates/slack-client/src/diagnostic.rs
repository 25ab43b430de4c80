//! The `errorType` Lambda records when the Slack client cannot start. (An invocation itself
//! never fails: each message that failed is reported back to SQS as a batch item failure.)

use sirslack_lambda::ErrorType;

use crate::SetupError;

impl ErrorType for SetupError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Config(error) => error.error_type(),
            Self::Slack(_) => "SlackClientSetup",
            Self::Region(_) => "ConfigInvalid",
        }
    }
}

sirslack_lambda::into_diagnostic!(SetupError);

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::Diagnostic;
    use sirslack_lambda::ConfigError;

    #[test]
    fn a_start_failure_names_its_class() {
        let missing: Diagnostic = SetupError::Config(ConfigError::Missing("TABLE_NAME")).into();
        assert_eq!(missing.error_type, "ConfigMissing");
        assert_eq!(
            missing.error_message,
            "environment variable TABLE_NAME is required"
        );
    }
}
