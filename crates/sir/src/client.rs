//! [`Sir`]: every SIR operation the four functions call, each written once.
//!
//! Every SDK call here is spelled `self.client.<operation>()`: the infrastructure tests read
//! this file to know which IAM action each method needs, and each function's sources to know
//! which methods it calls (`sir.<method>(`), and compare that with the function's role.

use aws_sdk_securityir::Client;
use aws_sdk_securityir::config::http::HttpResponse;
use aws_sdk_securityir::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_securityir::types::MembershipStatus;
use aws_smithy_async::future::pagination_stream::PaginationStream;
use chrono::{DateTime, Utc};
use sirslack_domain::{Case, CaseId, Comment, SelfManagedStatus, Watcher};
use sirslack_mapper::sir::{
    CaseListEntry, CreateCaseRequest, case_from_get_case, case_list_entry, comment_from_item,
    ir_team_watchers, self_managed_status_to_sdk, to_chrono,
};

use crate::SirError;

/// The `maxResults` of every SIR List operation: the largest the API allows
/// ([`sirslack_domain::limits::PAGE_SIZE_MAX`]).
const PAGE_SIZE: i32 = 25;

/// Most pages of comments or case edits read for one digest (25 items each): enough for a
/// digest of any real case, bounded for a function's 30 seconds.
pub const MAX_DIGEST_PAGES: usize = 20;

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

/// SIR, through the SDK client (pointed at the stand-in in tests).
#[derive(Debug, Clone)]
pub struct Sir {
    client: Client,
}

/// The next item (or page) of a paginator, its error read into a [`SirError`]: the one way
/// every List operation here is paged (the SDK's `into_paginator()`, which stops at the first
/// page without a next token).
async fn next_of<T, E>(
    stream: &mut PaginationStream<Result<T, SdkError<E, HttpResponse>>>,
    operation: &'static str,
    case_id: Option<&CaseId>,
) -> Result<Option<T>, SirError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    stream
        .next()
        .await
        .transpose()
        .map_err(|error| SirError::from_sdk(operation, case_id, &error))
}

impl Sir {
    /// Wraps a client as it is (tests build theirs; functions use [`Sir::from_sdk_config`]).
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// A client from a shared SDK configuration, with the one retry setting of the crate
    /// ([`crate::sdk_config`]).
    pub fn from_sdk_config(shared: &aws_config::SdkConfig) -> Self {
        Self::new(Client::from_conf(crate::sdk_config(shared)))
    }

    // ---- cases ----------------------------------------------------------------------------

    /// Every case, from all pages of ListCases (`ceil(cases / 25)` calls). An entry that does
    /// not map is logged and left out: one malformed entry must not hide every other case.
    pub async fn list_cases(&self) -> Result<Vec<CaseListEntry>, SirError> {
        let mut items = self
            .client
            .list_cases()
            .max_results(PAGE_SIZE)
            .into_paginator()
            .items()
            .send();
        let mut entries = Vec::new();
        while let Some(item) = next_of(&mut items, "ListCases", None).await? {
            match case_list_entry(&item) {
                Ok(entry) => entries.push(entry),
                Err(error) => tracing::warn!(%error, "skipping a ListCases item"),
            }
        }
        Ok(entries)
    }

    /// The case as SIR has it now (GetCase), with its attachments.
    pub async fn case(&self, case_id: &CaseId) -> Result<Case, SirError> {
        let out = self
            .client
            .get_case()
            .case_id(case_id.as_str())
            .send()
            .await
            .map_err(|error| SirError::from_sdk("GetCase", Some(case_id), &error))?;
        Ok(case_from_get_case(case_id, &out))
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
            .map_err(|error| SirError::from_sdk("CreateCase", None, &error))?;
        CaseId::new(out.case_id()).map_err(|invalid| {
            SirError::invalid("CreateCase", None, "InvalidCaseId", invalid.to_string())
        })
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
            .map_err(|error| SirError::from_sdk("UpdateCaseStatus", Some(case_id), &error))?;
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
            .map_err(|error| SirError::from_sdk("UpdateCase", Some(case_id), &error))?;
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
            .map_err(|error| SirError::from_sdk("UpdateCase", Some(case_id), &error))?;
        Ok(())
    }

    /// CloseCase. The API takes no closure reason.
    pub async fn close(&self, case_id: &CaseId) -> Result<(), SirError> {
        self.client
            .close_case()
            .case_id(case_id.as_str())
            .send()
            .await
            .map_err(|error| SirError::from_sdk("CloseCase", Some(case_id), &error))?;
        Ok(())
    }

    /// Up to [`MAX_DIGEST_PAGES`] pages of the case's edit log (ListCaseEdits), oldest first.
    pub async fn case_edits(&self, case_id: &CaseId) -> Result<Vec<CaseEdit>, SirError> {
        let mut pages = self
            .client
            .list_case_edits()
            .case_id(case_id.as_str())
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        let mut edits = Vec::new();
        for _ in 0..MAX_DIGEST_PAGES {
            let Some(out) = next_of(&mut pages, "ListCaseEdits", Some(case_id)).await? else {
                break;
            };
            edits.extend(out.items().iter().map(|item| CaseEdit {
                at: item.event_timestamp().and_then(to_chrono),
                principal: item.principal().unwrap_or_default().trim().to_owned(),
                action: item.action().unwrap_or_default().trim().to_owned(),
                message: item.message().unwrap_or_default().trim().to_owned(),
            }));
        }
        edits.sort_by_key(|edit| edit.at);
        Ok(edits)
    }

    // ---- comments -------------------------------------------------------------------------

    /// Every comment of a case, from all pages of ListComments. SIR has no "newer than" filter
    /// and documents no order, so the caller deduplicates by comment ID. A comment that does
    /// not map is logged and left out.
    pub async fn list_comments(&self, case_id: &CaseId) -> Result<Vec<Comment>, SirError> {
        let mut items = self
            .client
            .list_comments()
            .case_id(case_id.as_str())
            .max_results(PAGE_SIZE)
            .into_paginator()
            .items()
            .send();
        let mut comments = Vec::new();
        while let Some(item) = next_of(&mut items, "ListComments", Some(case_id)).await? {
            match comment_from_item(&item) {
                Ok(comment) => comments.push(comment),
                Err(error) => tracing::warn!(case_id = %case_id, %error, "skipping a comment"),
            }
        }
        Ok(comments)
    }

    /// Up to [`MAX_DIGEST_PAGES`] pages of comments (ListComments), oldest first, for a
    /// digest; comments that do not map (no ID, no date) are left out.
    pub async fn comments(&self, case_id: &CaseId) -> Result<CommentDigest, SirError> {
        let mut pages = self
            .client
            .list_comments()
            .case_id(case_id.as_str())
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        let mut digest = CommentDigest::default();
        let mut total = None;
        for _ in 0..MAX_DIGEST_PAGES {
            let Some(out) = next_of(&mut pages, "ListComments", Some(case_id)).await? else {
                break;
            };
            total = total.or(out.total());
            digest.comments.extend(
                out.items()
                    .iter()
                    .filter_map(|item| comment_from_item(item).ok()),
            );
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

    /// Writes a comment (CreateCaseComment); `client_token` makes a repeated call idempotent
    /// on SIR's side (a retry with the same token returns the same comment). Returns the new
    /// comment's ID.
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
            .map_err(|error| SirError::from_sdk("CreateCaseComment", Some(case_id), &error))?;
        Ok(out.comment_id().to_owned())
    }

    // ---- attachments ----------------------------------------------------------------------

    /// A presigned URL to download an attachment (GetCaseAttachmentDownloadUrl; a capability:
    /// never log it).
    pub async fn attachment_download_url(
        &self,
        case_id: &CaseId,
        attachment_id: &str,
    ) -> Result<String, SirError> {
        let out = self
            .client
            .get_case_attachment_download_url()
            .case_id(case_id.as_str())
            .attachment_id(attachment_id)
            .send()
            .await
            .map_err(|error| {
                SirError::from_sdk("GetCaseAttachmentDownloadUrl", Some(case_id), &error)
            })?;
        Ok(out.attachment_presigned_url().to_owned())
    }

    /// A presigned URL to PUT exactly `content_length` bytes of `file_name` to
    /// (GetCaseAttachmentUploadUrl; a capability: never log it).
    pub async fn attachment_upload_url(
        &self,
        case_id: &CaseId,
        file_name: &str,
        content_length: u64,
        client_token: &str,
    ) -> Result<String, SirError> {
        const OPERATION: &str = "GetCaseAttachmentUploadUrl";
        let length = i64::try_from(content_length)
            .map_err(|_| SirError::invalid(OPERATION, Some(case_id), "TooLarge", String::new()))?;
        let out = self
            .client
            .get_case_attachment_upload_url()
            .case_id(case_id.as_str())
            .file_name(file_name)
            .content_length(length)
            .client_token(client_token)
            .send()
            .await
            .map_err(|error| SirError::from_sdk(OPERATION, Some(case_id), &error))?;
        Ok(out.attachment_presigned_url().to_owned())
    }

    // ---- membership -----------------------------------------------------------------------

    /// The ID of the account's active SIR membership, if there is one (ListMemberships, paged
    /// until the first active one).
    pub async fn active_membership_id(&self) -> Result<Option<String>, SirError> {
        let mut items = self
            .client
            .list_memberships()
            .max_results(PAGE_SIZE)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = next_of(&mut items, "ListMemberships", None).await? {
            if item.membership_status() == Some(&MembershipStatus::Active) {
                return Ok(Some(item.membership_id().to_owned()));
            }
        }
        Ok(None)
    }

    /// The incident response team of a membership, as watchers (GetMembership).
    pub async fn ir_team(&self, membership_id: &str) -> Result<Vec<Watcher>, SirError> {
        let out = self
            .client
            .get_membership()
            .membership_id(membership_id)
            .send()
            .await
            .map_err(|error| SirError::from_sdk("GetMembership", None, &error))?;
        Ok(ir_team_watchers(&out))
    }
}

/// `None` for an empty list: optional list members are left out of the request.
fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_as_large_as_the_api_allows() {
        assert_eq!(
            usize::try_from(PAGE_SIZE).ok(),
            Some(sirslack_domain::limits::PAGE_SIZE_MAX)
        );
    }
}
