//! [`SirError`]: a failed SIR call, read once into what every function needs to know about it
//! (retry or not, which family of failure, the words for a person).

use aws_sdk_securityir::config::http::HttpResponse;
use aws_sdk_securityir::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use sirslack_domain::CaseId;

/// SIR error codes that say "try again later".
const RETRYABLE_SIR_CODES: &[&str] = &["ThrottlingException", "InternalServerException"];

/// The service's name as people read it.
const SERVICE: &str = "AWS Security Incident Response";

/// The family of a SIR error, which decides what a person is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SirErrorKind {
    /// `ValidationException`: the service refused the values.
    Validation,
    /// `ResourceNotFoundException`.
    NotFound,
    /// `AccessDeniedException`.
    AccessDenied,
    /// `ConflictException`.
    Conflict,
    /// `ThrottlingException`, `InternalServerException`, timeouts and network failures (the SDK
    /// has already retried them).
    Unavailable,
    /// `SecurityIncidentResponseNotActiveException`.
    NotActive,
    /// Anything else.
    Other,
}

/// A SIR call failed (after the SDK's retries, see the crate documentation).
///
/// Shown (`Display`) for operators' logs: `SIR <Operation> for case <id> failed (<code>):
/// <what the SDK said>`. The SDK's words can name the caller's role and account: never show
/// them to a person; [`SirError::for_people`] and [`SirError::short_for_people`] are the
/// wordings for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SIR {operation}{} failed ({code}): {}",
    .case_id.as_ref().map(|id| format!(" for case {id}")).unwrap_or_default(),
    if .detail.is_empty() { .message.as_str() } else { .detail.as_str() })]
pub struct SirError {
    /// The operation, e.g. `GetCase`.
    pub operation: &'static str,
    /// The case it was about, if any.
    pub case_id: Option<CaseId>,
    /// The service's error code (`ValidationException`, ...; `UnknownError` when it sent
    /// none), or the kind of failure when the service did not answer: `Timeout`,
    /// `DispatchFailure` (network), `ResponseError` (an unreadable answer),
    /// `ConstructionFailure` (a request that could not be built).
    pub code: String,
    /// The service's message, trimmed; empty when there is none.
    pub message: String,
    /// Whether the service answered with an error (rather than not at all).
    pub from_service: bool,
    /// The HTTP status of the service's answer, when it answered.
    pub http_status: Option<u16>,
    /// Whether the same call may succeed later: throttling, internal errors, HTTP 429 and
    /// 5xx, timeouts, network failures and unreadable answers.
    pub retryable: bool,
    /// What kind of failure it is.
    pub kind: SirErrorKind,
    /// Everything the SDK said (the error and its sources), for logs only; empty for errors
    /// not from the SDK.
    pub detail: String,
}

impl SirError {
    /// Reads a failed SDK call of `operation` (about `case_id`, if any).
    pub fn from_sdk<E>(
        operation: &'static str,
        case_id: Option<&CaseId>,
        error: &SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let read = match error {
            SdkError::ServiceError(service) => Self::from_service(
                operation,
                case_id,
                service.err().code(),
                service.err().message(),
                service.raw().status().as_u16(),
            ),
            SdkError::TimeoutError(_) => Self::not_answered(operation, case_id, "Timeout", true),
            SdkError::DispatchFailure(_) => {
                Self::not_answered(operation, case_id, "DispatchFailure", true)
            }
            SdkError::ResponseError(_) => {
                Self::not_answered(operation, case_id, "ResponseError", true)
            }
            _ => Self::not_answered(operation, case_id, "ConstructionFailure", false),
        };
        Self {
            detail: DisplayErrorContext(error).to_string(),
            ..read
        }
    }

    /// An error answer of the service: its code, message and HTTP status.
    pub fn from_service(
        operation: &'static str,
        case_id: Option<&CaseId>,
        code: Option<&str>,
        message: Option<&str>,
        http_status: u16,
    ) -> Self {
        let code = code.unwrap_or("UnknownError");
        let kind = match code {
            "ValidationException" => SirErrorKind::Validation,
            "ResourceNotFoundException" => SirErrorKind::NotFound,
            "AccessDeniedException" => SirErrorKind::AccessDenied,
            "ConflictException" => SirErrorKind::Conflict,
            "ThrottlingException" | "InternalServerException" => SirErrorKind::Unavailable,
            "SecurityIncidentResponseNotActiveException" => SirErrorKind::NotActive,
            _ => SirErrorKind::Other,
        };
        Self {
            operation,
            case_id: case_id.cloned(),
            retryable: RETRYABLE_SIR_CODES.contains(&code)
                || http_status == 429
                || http_status >= 500,
            code: code.to_owned(),
            message: message.unwrap_or_default().trim().to_owned(),
            from_service: true,
            http_status: Some(http_status),
            kind,
            detail: String::new(),
        }
    }

    /// The service did not answer (timeout, network, unreadable answer, unbuildable request).
    fn not_answered(
        operation: &'static str,
        case_id: Option<&CaseId>,
        code: &str,
        retryable: bool,
    ) -> Self {
        Self {
            operation,
            case_id: case_id.cloned(),
            code: code.to_owned(),
            message: String::new(),
            from_service: false,
            http_status: None,
            retryable,
            // Timeouts and network failures, after the SDK's own retries.
            kind: SirErrorKind::Unavailable,
            detail: String::new(),
        }
    }

    /// A call refused before or after SIR for a reason of ours (a value that does not fit the
    /// request, an answer that is not what the model promises): never retryable.
    pub(crate) fn invalid(
        operation: &'static str,
        case_id: Option<&CaseId>,
        code: &str,
        message: String,
    ) -> Self {
        Self {
            operation,
            case_id: case_id.cloned(),
            code: code.to_owned(),
            message,
            from_service: false,
            http_status: None,
            retryable: false,
            kind: SirErrorKind::Other,
            detail: String::new(),
        }
    }

    /// The failure's class as Lambda's `errorType` names it when a SIR failure ends an
    /// invocation: `SirThrottled`, `SirAccessDenied`, `SirNotFound`, `SirRefused`,
    /// `SirUnavailable` (an internal error or another 5xx), `SirUnreachable` (no answer) or
    /// `SirFailed`.
    pub fn error_type(&self) -> &'static str {
        if !self.from_service {
            return if self.retryable {
                "SirUnreachable"
            } else {
                "SirFailed"
            };
        }
        // From the classification `from_service` already made, not from the code a second time.
        if self.is_throttled() {
            return "SirThrottled";
        }
        match self.kind {
            SirErrorKind::AccessDenied => "SirAccessDenied",
            SirErrorKind::NotFound => "SirNotFound",
            SirErrorKind::Validation => "SirRefused",
            _ if self.retryable => "SirUnavailable",
            _ => "SirFailed",
        }
    }

    /// Whether the same call may succeed later (see [`SirError::retryable`]).
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// Whether SIR throttled the call (`ThrottlingException` or HTTP 429).
    pub fn is_throttled(&self) -> bool {
        self.code == "ThrottlingException" || self.http_status == Some(429)
    }

    /// Whether the case (or other resource) does not exist (any more).
    pub fn is_not_found(&self) -> bool {
        self.kind == SirErrorKind::NotFound
    }

    /// Whether SIR refused the caller's credentials (its role lacks the action, or the account
    /// has no SIR membership it may use): an operator must fix it; retrying in-process does not
    /// help.
    pub fn is_access_denied(&self) -> bool {
        self.kind == SirErrorKind::AccessDenied
    }

    /// What to tell the person who ran a command: the service's own reason in plain words,
    /// never a stack of SDK details.
    pub fn for_people(&self) -> String {
        // SIR's own words only where they help the person (what it refused and why), and
        // never an ARN or account ID (see `error_text_for_people`).
        let reason = if self.message.is_empty() {
            String::new()
        } else {
            format!(
                ": {}",
                sirslack_mapper::sir::error_text_for_people(&self.message).trim_end_matches('.')
            )
        };
        match self.kind {
            SirErrorKind::Validation => format!("{SERVICE} refused the change{reason}."),
            SirErrorKind::NotFound => format!("{SERVICE} does not know this case{reason}."),
            SirErrorKind::AccessDenied => format!(
                "The integration is not allowed to do this in {SERVICE} (access denied). Ask \
                 your AWS administrator."
            ),
            SirErrorKind::Conflict => format!(
                "{SERVICE} refused the change because the case changed at the same time{reason}. \
                 Please try again."
            ),
            SirErrorKind::Unavailable => format!(
                "{SERVICE} did not answer in time ({}). Please try again in a minute.",
                self.code
            ),
            SirErrorKind::NotActive => {
                format!("{SERVICE} is not active in this AWS account.")
            }
            SirErrorKind::Other => format!("{SERVICE} answered {}.", self.code),
        }
    }

    /// A short reason a person can read inside a sentence of ours: `SIR answered <code>`, and
    /// SIR's message made safe to show (no ARN, no account ID; the operator's log line has the
    /// full answer).
    pub fn short_for_people(&self) -> String {
        if self.message.is_empty() {
            format!("SIR answered {}", self.code)
        } else {
            format!(
                "SIR answered {}: {}",
                self.code,
                sirslack_mapper::sir::error_text_for_people(&self.message)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_has_its_error_type() {
        let answered =
            |code, status| SirError::from_service("GetCase", None, Some(code), None, status);
        assert_eq!(
            answered("ThrottlingException", 400).error_type(),
            "SirThrottled"
        );
        assert_eq!(
            answered("AccessDeniedException", 403).error_type(),
            "SirAccessDenied"
        );
        assert_eq!(
            answered("ResourceNotFoundException", 404).error_type(),
            "SirNotFound"
        );
        assert_eq!(
            answered("ValidationException", 400).error_type(),
            "SirRefused"
        );
        assert_eq!(
            answered("InternalServerException", 500).error_type(),
            "SirUnavailable"
        );
        assert_eq!(
            answered("ServiceUnavailableException", 503).error_type(),
            "SirUnavailable"
        );
        assert_eq!(answered("ConflictException", 409).error_type(), "SirFailed");
        let invalid = SirError::invalid("CreateCase", None, "InvalidValue", "too long".into());
        assert_eq!(invalid.error_type(), "SirFailed");
    }

    fn error(kind: SirErrorKind, code: &str, message: &str) -> SirError {
        SirError {
            kind,
            ..SirError::from_service("UpdateCaseStatus", None, Some(code), Some(message), 400)
        }
    }

    #[test]
    fn failed_calls_are_read_into_a_retry_decision() {
        let read =
            |code, message, status| SirError::from_service("GetCase", None, code, message, status);
        let throttled = read(Some("ThrottlingException"), Some(" Rate exceeded "), 400);
        assert!(throttled.retryable && throttled.from_service);
        assert!(throttled.is_throttled());
        assert_eq!(throttled.message, "Rate exceeded");
        let refused = read(Some("ValidationException"), None, 400);
        assert!(!refused.retryable);
        assert_eq!(refused.message, "");
        assert!(read(None, None, 503).retryable);
        assert!(read(Some("Anything"), None, 429).retryable);
        assert_eq!(read(None, None, 404).code, "UnknownError");
        let timeout = SirError::not_answered("GetCase", None, "Timeout", true);
        assert!(timeout.retryable && !timeout.from_service);
        assert_eq!(timeout.kind, SirErrorKind::Unavailable);
    }

    #[test]
    fn codes_are_read_into_kinds() {
        let kind = |code| SirError::from_service("GetCase", None, Some(code), None, 400).kind;
        assert_eq!(kind("ValidationException"), SirErrorKind::Validation);
        assert_eq!(kind("ResourceNotFoundException"), SirErrorKind::NotFound);
        assert_eq!(kind("AccessDeniedException"), SirErrorKind::AccessDenied);
        assert_eq!(kind("ConflictException"), SirErrorKind::Conflict);
        assert_eq!(kind("InternalServerException"), SirErrorKind::Unavailable);
        assert_eq!(
            kind("SecurityIncidentResponseNotActiveException"),
            SirErrorKind::NotActive
        );
        assert_eq!(kind("InvalidTokenException"), SirErrorKind::Other);
        let case_id = CaseId::new("1234567890").unwrap();
        let gone = SirError::from_service(
            "GetCase",
            Some(&case_id),
            Some("ResourceNotFoundException"),
            Some("no such case"),
            404,
        );
        assert!(gone.is_not_found() && !gone.is_access_denied());
        assert_eq!(
            gone.to_string(),
            "SIR GetCase for case 1234567890 failed (ResourceNotFoundException): no such case"
        );
    }

    #[test]
    fn errors_read_as_plain_words() {
        let validation = error(
            SirErrorKind::Validation,
            "ValidationException",
            "Invalid status transition from Acknowledged to Detection and Analysis.",
        );
        assert_eq!(
            validation.for_people(),
            "AWS Security Incident Response refused the change: Invalid status transition from \
             Acknowledged to Detection and Analysis."
        );
        let busy = error(
            SirErrorKind::Unavailable,
            "ThrottlingException",
            "Rate exceeded",
        );
        assert!(
            busy.for_people().contains("try again"),
            "{}",
            busy.for_people()
        );
        let denied = error(SirErrorKind::AccessDenied, "AccessDeniedException", "");
        assert!(denied.for_people().contains("access denied"));
        let other = error(SirErrorKind::Other, "InvalidTokenException", "");
        assert_eq!(
            other.for_people(),
            "AWS Security Incident Response answered InvalidTokenException."
        );
        for kind in [
            SirErrorKind::Validation,
            SirErrorKind::NotFound,
            SirErrorKind::Conflict,
            SirErrorKind::NotActive,
        ] {
            let text = error(kind, "X", "").for_people();
            assert!(!text.contains("::"), "{text}");
            assert!(text.ends_with('.'), "{text}");
        }
    }

    #[test]
    fn the_short_wording_hides_roles_and_accounts() {
        let bare = error(SirErrorKind::Other, "InternalServerException", "");
        assert_eq!(
            bare.short_for_people(),
            "SIR answered InternalServerException"
        );
        let denied = error(
            SirErrorKind::AccessDenied,
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/x is not authorized",
        );
        let text = denied.short_for_people();
        assert!(
            text.starts_with("SIR answered AccessDeniedException: "),
            "{text}"
        );
        assert!(
            !text.contains("arn:") && !text.contains("123456789012"),
            "{text}"
        );
    }
}
