//! Errors: the public one returned by seeding helpers, and the restJson1 errors the API answers with.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Why a seeding or inspection helper could not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StandinError {
    #[error("no case with id {0}")]
    UnknownCase(String),
    #[error("case {case_id} has no comment {comment_id}")]
    UnknownComment { case_id: String, comment_id: String },
    #[error("case {case_id} has no attachment {attachment_id}")]
    UnknownAttachment {
        case_id: String,
        attachment_id: String,
    },
    #[error("no membership with id {0}")]
    UnknownMembership(String),
    #[error("`{0}` is not a valid case id (10 to 32 digits)")]
    InvalidCaseId(String),
    #[error("a case with id {0} already exists")]
    DuplicateCaseId(String),
    #[error("`{0}` is not a valid attachment file name (1 to 255 of [a-zA-Z0-9._-])")]
    InvalidFileName(String),
}

/// `ValidationExceptionField`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub name: String,
    pub message: String,
}

/// `ValidationExceptionReason` values used by the stand-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValidationReason {
    CannotParse,
    FieldValidationFailed,
    Other,
}

impl ValidationReason {
    fn as_str(self) -> &'static str {
        match self {
            ValidationReason::CannotParse => "CANNOT_PARSE",
            ValidationReason::FieldValidationFailed => "FIELD_VALIDATION_FAILED",
            ValidationReason::Other => "OTHER",
        }
    }
}

/// A SIR error response, serialised the restJson1 way: `x-amzn-ErrorType` header plus a JSON
/// body with `message` and the exception's own members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ApiError {
    Validation {
        message: String,
        reason: ValidationReason,
        fields: Vec<FieldError>,
    },
    ResourceNotFound(String),
    Conflict {
        message: String,
        resource_id: String,
        resource_type: String,
    },
    AccessDenied(String),
    Throttling,
    Internal(String),
    Custom {
        status: u16,
        error_type: String,
        message: String,
    },
}

/// What the stand-in tells clients to wait before retrying a throttled or failed call.
pub(crate) const RETRY_AFTER_SECONDS: u32 = 1;

impl ApiError {
    /// A ValidationException for one field, with AWS's message shape.
    pub(crate) fn field(name: &str, constraint: impl Into<String>) -> Self {
        FieldErrors::single(name, constraint).into_error()
    }

    /// A ValidationException for a business rule (reason `OTHER`).
    pub(crate) fn rule(message: impl Into<String>, field: Option<&str>) -> Self {
        let message = message.into();
        let fields = field
            .map(|name| {
                vec![FieldError {
                    name: name.to_owned(),
                    message: message.clone(),
                }]
            })
            .unwrap_or_default();
        ApiError::Validation {
            message,
            reason: ValidationReason::Other,
            fields,
        }
    }

    pub(crate) fn cannot_parse(message: impl Into<String>) -> Self {
        ApiError::Validation {
            message: message.into(),
            reason: ValidationReason::CannotParse,
            fields: Vec::new(),
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation { .. } => StatusCode::BAD_REQUEST,
            ApiError::ResourceNotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::AccessDenied(_) => StatusCode::FORBIDDEN,
            ApiError::Throttling => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Custom { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    pub(crate) fn error_type(&self) -> &str {
        match self {
            ApiError::Validation { .. } => "ValidationException",
            ApiError::ResourceNotFound(_) => "ResourceNotFoundException",
            ApiError::Conflict { .. } => "ConflictException",
            ApiError::AccessDenied(_) => "AccessDeniedException",
            ApiError::Throttling => "ThrottlingException",
            ApiError::Internal(_) => "InternalServerException",
            ApiError::Custom { error_type, .. } => error_type,
        }
    }

    fn body(&self) -> Value {
        match self {
            ApiError::Validation {
                message,
                reason,
                fields,
            } => json!({
                "message": message,
                "reason": reason.as_str(),
                "fieldList": fields
                    .iter()
                    .map(|field| json!({ "name": field.name, "message": field.message }))
                    .collect::<Vec<_>>(),
            }),
            ApiError::ResourceNotFound(message)
            | ApiError::AccessDenied(message)
            | ApiError::Custom { message, .. } => json!({ "message": message }),
            ApiError::Conflict {
                message,
                resource_id,
                resource_type,
            } => json!({
                "message": message,
                "resourceId": resource_id,
                "resourceType": resource_type,
            }),
            ApiError::Throttling => json!({
                "message": "Rate exceeded",
                "serviceCode": "security-ir",
                "quotaCode": "api-request-rate",
                "retryAfterSeconds": RETRY_AFTER_SECONDS,
            }),
            ApiError::Internal(message) => json!({
                "message": message,
                "retryAfterSeconds": RETRY_AFTER_SECONDS,
            }),
        }
    }
}

impl From<StandinError> for ApiError {
    fn from(error: StandinError) -> Self {
        match error {
            StandinError::UnknownCase(_)
            | StandinError::UnknownComment { .. }
            | StandinError::UnknownAttachment { .. }
            | StandinError::UnknownMembership(_) => ApiError::ResourceNotFound(error.to_string()),
            StandinError::InvalidFileName(_) => ApiError::field(
                "fileName",
                format!(
                    "Member must satisfy regular expression pattern: {}",
                    crate::validate::FILE_NAME_PATTERN
                ),
            ),
            StandinError::InvalidCaseId(_) => ApiError::field(
                "caseId",
                "Member must satisfy regular expression pattern: \\d{10,32}",
            ),
            StandinError::DuplicateCaseId(id) => ApiError::Conflict {
                message: format!("case {id} already exists"),
                resource_id: id,
                resource_type: "Case".to_owned(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(self.error_type()) {
            headers.insert("x-amzn-ErrorType", value);
        }
        if matches!(self, ApiError::Throttling | ApiError::Internal(_)) {
            headers.insert("Retry-After", HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}

/// Collects field violations so one response can report all of them, as AWS does.
#[derive(Debug, Default)]
pub(crate) struct FieldErrors {
    fields: Vec<FieldError>,
}

impl FieldErrors {
    pub(crate) fn single(name: &str, constraint: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.push(name, constraint);
        errors
    }

    pub(crate) fn push(&mut self, name: &str, constraint: impl Into<String>) {
        self.fields.push(FieldError {
            name: name.to_owned(),
            message: constraint.into(),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub(crate) fn into_error(self) -> ApiError {
        let details = self
            .fields
            .iter()
            .map(|field| {
                format!(
                    "Value at '{}' failed to satisfy constraint: {}",
                    field.name, field.message
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let count = self.fields.len();
        let noun = if count == 1 { "error" } else { "errors" };
        ApiError::Validation {
            message: format!("{count} validation {noun} detected: {details}"),
            reason: ValidationReason::FieldValidationFailed,
            fields: self.fields,
        }
    }

    /// `Ok(())` when nothing was pushed, else the ValidationException listing every field.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.into_error())
        }
    }
}
