//! The SIR calls the command handler makes, and their errors in plain words.

use aws_sdk_securityir::Client;
use aws_sdk_securityir::config::http::HttpResponse;
use aws_sdk_securityir::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};
use sirslack_domain::limits::PAGE_SIZE_MAX;
use sirslack_domain::{Case, CaseId, Comment, SelfManagedStatus};
use sirslack_mapper::sir::{
    CreateCaseRequest, SirCallFailure, case_from_get_case, comment_from_item,
    self_managed_status_to_sdk, to_chrono,
};

/// Most pages of comments or case edits read for one summary (25 items each): enough for a
/// digest of any real case, bounded for the function's 30 seconds.
pub const MAX_DIGEST_PAGES: usize = 20;

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

/// A SIR call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SIR {operation} failed ({code}): {message}")]
pub struct SirError {
    /// The operation.
    pub operation: &'static str,
    /// The error code (`ValidationException`...), or the kind of transport failure.
    pub code: String,
    /// The service's message, if any.
    pub message: String,
    /// What kind of failure it is.
    pub kind: SirErrorKind,
}

impl SirError {
    fn from_sdk<E: ProvideErrorMetadata>(
        operation: &'static str,
        error: &SdkError<E, HttpResponse>,
    ) -> Self {
        let failure = SirCallFailure::from_sdk(error);
        let kind = if failure.from_service {
            match failure.code.as_str() {
                "ValidationException" => SirErrorKind::Validation,
                "ResourceNotFoundException" => SirErrorKind::NotFound,
                "AccessDeniedException" => SirErrorKind::AccessDenied,
                "ConflictException" => SirErrorKind::Conflict,
                "ThrottlingException" | "InternalServerException" => SirErrorKind::Unavailable,
                "SecurityIncidentResponseNotActiveException" => SirErrorKind::NotActive,
                _ => SirErrorKind::Other,
            }
        } else {
            // Timeouts and network failures, after the SDK's own retries.
            SirErrorKind::Unavailable
        };
        Self {
            operation,
            code: failure.code,
            message: failure.message,
            kind,
        }
    }

    /// What to tell the person who ran the command: the service's own reason in plain words,
    /// never a stack of SDK details.
    pub fn for_people(&self) -> String {
        const SERVICE: &str = "AWS Security Incident Response";
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
}

/// One entry of a case's edit log (ListCaseEdits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseEdit {
    /// When.
    pub at: Option<DateTime<Utc>>,
    /// Who (a principal).
    pub principal: String,
    /// The operation (`UpdateCaseStatus`...).
    pub action: String,
    /// What changed.
    pub message: String,
}

/// Comments of a case, for a digest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommentDigest {
    /// How many comments the case has (the service's `total`, else those read).
    pub total: usize,
    /// The comments read, oldest first.
    pub comments: Vec<Comment>,
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

    /// The case as SIR has it now.
    pub async fn case(&self, case_id: &CaseId) -> Result<Case, SirError> {
        let out = self
            .client
            .get_case()
            .case_id(case_id.as_str())
            .send()
            .await
            .map_err(|error| SirError::from_sdk("GetCase", &error))?;
        Ok(case_from_get_case(case_id, &out))
    }

    /// UpdateCaseStatus.
    pub async fn update_status(
        &self,
        case_id: &CaseId,
        status: SelfManagedStatus,
    ) -> Result<(), SirError> {
        self.client
            .update_case_status()
            .case_id(case_id.as_str())
            .case_status(self_managed_status_to_sdk(status))
            .send()
            .await
            .map_err(|error| SirError::from_sdk("UpdateCaseStatus", &error))?;
        Ok(())
    }

    /// UpdateCase with a new title.
    pub async fn update_title(&self, case_id: &CaseId, title: &str) -> Result<(), SirError> {
        self.client
            .update_case()
            .case_id(case_id.as_str())
            .title(title)
            .send()
            .await
            .map_err(|error| SirError::from_sdk("UpdateCase", &error))?;
        Ok(())
    }

    /// UpdateCase with a new description.
    pub async fn update_description(
        &self,
        case_id: &CaseId,
        description: &str,
    ) -> Result<(), SirError> {
        self.client
            .update_case()
            .case_id(case_id.as_str())
            .description(description)
            .send()
            .await
            .map_err(|error| SirError::from_sdk("UpdateCase", &error))?;
        Ok(())
    }

    /// CreateCase; `client_token` makes a repeated call (the same declaration submitted twice,
    /// or a retry) return the same case instead of creating another. Returns the new case's ID.
    pub async fn create_case(
        &self,
        request: CreateCaseRequest,
        client_token: &str,
    ) -> Result<CaseId, SirError> {
        let out = self
            .client
            .create_case()
            .client_token(client_token)
            .title(request.title)
            .description(request.description)
            .engagement_type(request.engagement_type)
            .resolver_type(request.resolver_type)
            .reported_incident_start_date(request.reported_incident_start_date)
            .set_impacted_accounts(Some(request.impacted_accounts))
            .set_watchers(Some(request.watchers))
            .set_threat_actor_ip_addresses(non_empty(request.threat_actor_ip_addresses))
            .set_impacted_services(non_empty(request.impacted_services))
            .set_impacted_aws_regions(non_empty(request.impacted_aws_regions))
            .send()
            .await
            .map_err(|error| SirError::from_sdk("CreateCase", &error))?;
        CaseId::new(out.case_id()).map_err(|invalid| SirError {
            operation: "CreateCase",
            code: "InvalidCaseId".to_owned(),
            message: invalid.to_string(),
            kind: SirErrorKind::Other,
        })
    }

    /// CloseCase. The API takes no closure reason.
    pub async fn close(&self, case_id: &CaseId) -> Result<(), SirError> {
        self.client
            .close_case()
            .case_id(case_id.as_str())
            .send()
            .await
            .map_err(|error| SirError::from_sdk("CloseCase", &error))?;
        Ok(())
    }

    /// Writes a comment; `client_token` makes a repeated call idempotent on SIR's side.
    /// Returns the new comment's ID.
    pub async fn create_comment(
        &self,
        case_id: &CaseId,
        body: &str,
        client_token: &str,
    ) -> Result<String, SirError> {
        let out = self
            .client
            .create_case_comment()
            .case_id(case_id.as_str())
            .body(body)
            .client_token(client_token)
            .send()
            .await
            .map_err(|error| SirError::from_sdk("CreateCaseComment", &error))?;
        Ok(out.comment_id().to_owned())
    }

    /// Up to [`MAX_DIGEST_PAGES`] pages of comments, oldest first; comments that do not map
    /// (no ID, no date) are left out.
    pub async fn comments(&self, case_id: &CaseId) -> Result<CommentDigest, SirError> {
        let mut digest = CommentDigest::default();
        let mut next_token: Option<String> = None;
        let mut total = None;
        for _ in 0..MAX_DIGEST_PAGES {
            let out = self
                .client
                .list_comments()
                .case_id(case_id.as_str())
                .max_results(page_size())
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| SirError::from_sdk("ListComments", &error))?;
            total = total.or(out.total());
            digest.comments.extend(
                out.items()
                    .iter()
                    .filter_map(|item| comment_from_item(item).ok()),
            );
            match out.next_token().filter(|token| !token.is_empty()) {
                Some(token) => next_token = Some(token.to_owned()),
                None => break,
            }
        }
        digest.comments.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.as_str().cmp(b.id.as_str()))
        });
        digest.total = total
            .and_then(|total| usize::try_from(total).ok())
            .unwrap_or(0)
            .max(digest.comments.len());
        Ok(digest)
    }

    /// Up to [`MAX_DIGEST_PAGES`] pages of the case's edit log, oldest first.
    pub async fn case_edits(&self, case_id: &CaseId) -> Result<Vec<CaseEdit>, SirError> {
        let mut edits = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..MAX_DIGEST_PAGES {
            let out = self
                .client
                .list_case_edits()
                .case_id(case_id.as_str())
                .max_results(page_size())
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| SirError::from_sdk("ListCaseEdits", &error))?;
            edits.extend(out.items().iter().map(|item| CaseEdit {
                at: item.event_timestamp().and_then(to_chrono),
                principal: item.principal().unwrap_or_default().trim().to_owned(),
                action: item.action().unwrap_or_default().trim().to_owned(),
                message: item.message().unwrap_or_default().trim().to_owned(),
            }));
            match out.next_token().filter(|token| !token.is_empty()) {
                Some(token) => next_token = Some(token.to_owned()),
                None => break,
            }
        }
        edits.sort_by_key(|edit| edit.at);
        Ok(edits)
    }
}

/// `None` for an empty list: optional list members are left out of the request.
fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn page_size() -> i32 {
    i32::try_from(PAGE_SIZE_MAX).unwrap_or(25)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(kind: SirErrorKind, code: &str, message: &str) -> SirError {
        SirError {
            operation: "UpdateCaseStatus",
            code: code.to_owned(),
            message: message.to_owned(),
            kind,
        }
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
}
