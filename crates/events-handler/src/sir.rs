//! The SIR calls the events handler makes, with errors sorted into "try again" and "give up".

use aws_sdk_securityir::Client;
use aws_sdk_securityir::config::http::HttpResponse;
use aws_sdk_securityir::error::{ProvideErrorMetadata, SdkError};
use sirslack_domain::CaseId;
use sirslack_mapper::sir::SirCallFailure;

/// A SIR call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SIR {operation} failed ({code}): {message}")]
pub struct SirError {
    /// The operation.
    pub operation: &'static str,
    /// The error code (`ThrottlingException`...), or the kind of transport failure.
    pub code: String,
    /// The service's message, if any.
    pub message: String,
    /// Whether the same call may succeed later (throttling, 5xx, timeouts, network).
    pub transient: bool,
}

impl SirError {
    fn from_sdk<E: ProvideErrorMetadata>(
        operation: &'static str,
        error: &SdkError<E, HttpResponse>,
    ) -> Self {
        let failure = SirCallFailure::from_sdk(error);
        Self {
            operation,
            code: failure.code,
            message: failure.message,
            transient: failure.retryable,
        }
    }
}

/// SIR, through the real SDK client (pointed at the stand-in in tests).
#[derive(Debug, Clone)]
pub struct Sir {
    client: Client,
}

impl Sir {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Creates a comment; a retry with the same `client_token` returns the same comment.
    pub async fn create_comment(
        &self,
        case_id: &CaseId,
        body: &str,
        client_token: &str,
    ) -> Result<String, SirError> {
        let output = self
            .client
            .create_case_comment()
            .case_id(case_id.as_str())
            .body(body)
            .client_token(client_token)
            .send()
            .await
            .map_err(|error| SirError::from_sdk("CreateCaseComment", &error))?;
        Ok(output.comment_id().to_owned())
    }

    /// A presigned URL to PUT exactly `content_length` bytes of `file_name` to.
    pub async fn attachment_upload_url(
        &self,
        case_id: &CaseId,
        file_name: &str,
        content_length: u64,
        client_token: &str,
    ) -> Result<String, SirError> {
        let length = i64::try_from(content_length).map_err(|_| SirError {
            operation: "GetCaseAttachmentUploadUrl",
            code: "TooLarge".into(),
            message: String::new(),
            transient: false,
        })?;
        let output = self
            .client
            .get_case_attachment_upload_url()
            .case_id(case_id.as_str())
            .file_name(file_name)
            .content_length(length)
            .client_token(client_token)
            .send()
            .await
            .map_err(|error| SirError::from_sdk("GetCaseAttachmentUploadUrl", &error))?;
        Ok(output.attachment_presigned_url().to_owned())
    }
}
