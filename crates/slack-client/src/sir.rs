//! The SIR calls the Slack client makes: read a case (to heal a missing channel), write a
//! `[Slack Update]` comment, and get an attachment's presigned download URL.

use aws_sdk_securityir::Client;
use aws_sdk_securityir::config::http::HttpResponse;
use aws_sdk_securityir::error::{ProvideErrorMetadata, SdkError};
use sirslack_domain::{Case, CaseId};
use sirslack_mapper::sir::{SirCallFailure, case_from_get_case};

use crate::failure::Failure;

fn classify<E: ProvideErrorMetadata>(
    operation: &str,
    case_id: &CaseId,
    error: &SdkError<E, HttpResponse>,
) -> Failure {
    let failure = SirCallFailure::from_sdk(error);
    let what = format!(
        "SIR {operation} for case {case_id} failed: {}",
        failure.code
    );
    if failure.retryable {
        Failure::Retry(what)
    } else {
        Failure::Unrecoverable(what)
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
