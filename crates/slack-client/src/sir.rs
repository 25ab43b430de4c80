//! The SIR calls the Slack client makes: read a case (to heal a missing channel), write a
//! `[Slack Update]` comment, and get an attachment's presigned download URL.

use aws_sdk_securityir::Client;
use aws_sdk_securityir::error::{ProvideErrorMetadata, SdkError};
use sirslack_domain::{Case, CaseId};
use sirslack_mapper::sir::case_from_get_case;

use crate::failure::Failure;

/// SIR error codes worth retrying.
const RETRYABLE: &[&str] = &["ThrottlingException", "InternalServerException"];

fn classify<E, R>(operation: &str, case_id: &CaseId, error: &SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error.as_service_error() {
        Some(service) => {
            let code = service.code().unwrap_or("UnknownError");
            let what = format!("SIR {operation} for case {case_id} failed: {code}");
            if RETRYABLE.contains(&code) {
                Failure::Retry(what)
            } else {
                Failure::Unrecoverable(what)
            }
        }
        // Timeouts, connection failures, unreadable answers.
        None => Failure::Retry(format!(
            "SIR {operation} for case {case_id} failed: {error}"
        )),
    }
}

/// The SIR API, as the Slack client uses it.
#[derive(Debug, Clone)]
pub struct Sir {
    client: Client,
}

impl Sir {
    /// Wraps a client (pointed at the SIR stand-in in tests).
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The case as SIR has it now.
    pub async fn case(&self, case_id: &CaseId) -> Result<Case, Failure> {
        let out = self
            .client
            .get_case()
            .case_id(case_id.as_str())
            .send()
            .await
            .map_err(|e| classify("GetCase", case_id, &e))?;
        Ok(case_from_get_case(case_id, &out))
    }

    /// Writes a comment; `client_token` makes a retried call idempotent on SIR's side.
    /// Returns the new comment's ID.
    pub async fn create_comment(
        &self,
        case_id: &CaseId,
        body: &str,
        client_token: &str,
    ) -> Result<String, Failure> {
        let out = self
            .client
            .create_case_comment()
            .case_id(case_id.as_str())
            .body(body)
            .client_token(client_token)
            .send()
            .await
            .map_err(|e| classify("CreateCaseComment", case_id, &e))?;
        Ok(out.comment_id)
    }

    /// A presigned URL to download an attachment (a capability: never log it).
    pub async fn attachment_download_url(
        &self,
        case_id: &CaseId,
        attachment_id: &str,
    ) -> Result<String, Failure> {
        let out = self
            .client
            .get_case_attachment_download_url()
            .case_id(case_id.as_str())
            .attachment_id(attachment_id)
            .send()
            .await
            .map_err(|e| classify("GetCaseAttachmentDownloadUrl", case_id, &e))?;
        Ok(out.attachment_presigned_url)
    }
}
