//! The Slack client's SIR calls (GetCase to heal a missing channel, CreateCaseComment for
//! `[Slack Update]` comments, GetCaseAttachmentDownloadUrl) go through the shared SIR adapter
//! (`sirslack-sir`); here only what a failed one means for the event's SQS message.

pub use sirslack_sir::{Sir, SirError};

use crate::failure::Failure;

impl From<SirError> for Failure {
    fn from(error: SirError) -> Self {
        let case = error
            .case_id
            .as_ref()
            .map(|id| format!(" for case {id}"))
            .unwrap_or_default();
        let what = format!("SIR {}{case} failed: {}", error.operation, error.code);
        if error.is_retryable() {
            Self::Retry(what)
        } else {
            Self::Unrecoverable(what)
        }
    }
}
