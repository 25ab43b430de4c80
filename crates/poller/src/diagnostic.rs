//! The `errorType` Lambda records when an invocation of the poller fails.

use sirslack_lambda::ErrorType;

use crate::{PollerError, SirError};

impl ErrorType for PollerError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::List(error) => sir_error_type(error),
            Self::Store(error) => error.error_type(),
            Self::PartialFailure { .. } => "CasesFailedToSync",
        }
    }
}

/// The class of a failed SIR call, from SIR's error code.
pub(crate) fn sir_error_type(error: &SirError) -> &'static str {
    match error.code.as_deref() {
        Some("ThrottlingException") => "SirThrottled",
        Some("AccessDeniedException") => "SirAccessDenied",
        Some("ResourceNotFoundException") => "SirNotFound",
        Some("ValidationException") => "SirRefused",
        Some("InternalServerException" | "ServiceUnavailableException") => "SirUnavailable",
        Some(_) => "SirFailed",
        None => "SirUnreachable",
    }
}

sirslack_lambda::into_diagnostic!(PollerError);

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::Diagnostic;
    use sirslack_store::StoreError;

    fn sir(code: Option<&str>) -> PollerError {
        PollerError::List(SirError {
            operation: "ListCases",
            case_id: None,
            code: code.map(str::to_owned),
            message: "refused".to_owned(),
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
