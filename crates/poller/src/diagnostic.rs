//! The `errorType` Lambda records when an invocation of the poller fails.

use sirslack_lambda::ErrorType;

use crate::PollerError;

impl ErrorType for PollerError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::List(error) => error.error_type(),
            Self::Store(error) => error.error_type(),
            Self::PartialFailure { .. } => "CasesFailedToSync",
        }
    }
}

sirslack_lambda::into_diagnostic!(PollerError);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SirError;
    use lambda_runtime::Diagnostic;
    use sirslack_store::StoreError;

    fn sir(code: Option<&str>) -> PollerError {
        PollerError::List(match code {
            Some(code) => {
                SirError::from_service("ListCases", None, Some(code), Some("refused"), 400)
            }
            // No answer at all (the SDK's retries spent on timeouts).
            None => SirError {
                operation: "ListCases",
                case_id: None,
                code: "Timeout".to_owned(),
                message: String::new(),
                from_service: false,
                http_status: None,
                retryable: true,
                kind: sirslack_sir::SirErrorKind::Unavailable,
                detail: String::new(),
            },
        })
    }

    #[test]
    fn failures_reach_lambda_by_class() {
        let throttled: Diagnostic = sir(Some("ThrottlingException")).into();
        assert_eq!(throttled.error_type, "SirThrottled");
        assert!(throttled.error_message.contains("ListCases"));
        let unreachable: Diagnostic = sir(None).into();
        assert_eq!(unreachable.error_type, "SirUnreachable");
        let conflict: Diagnostic = PollerError::Store(StoreError::Conflict {
            item: "CASE#1".to_owned(),
        })
        .into();
        assert_eq!(conflict.error_type, "StoreConflict");
    }
}
