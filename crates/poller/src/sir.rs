//! The few SIR reads the poller makes, over `aws-sdk-securityir`, every List operation paged
//! through to the end at the largest page size the API allows (25).
//!
//! Transient errors (throttling, 5xx, timeouts) are retried by the SDK's standard retry
//! strategy with exponential backoff and jitter; [`sdk_config_for_poller`] sets how hard it tries.

use std::time::Duration;

use aws_sdk_securityir::Client;
use aws_sdk_securityir::config::retry::RetryConfig;
use aws_sdk_securityir::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_securityir::types::MembershipStatus;
use sirslack_domain::{Case, CaseId, Comment, Watcher};
use sirslack_mapper::sir::{
    CaseListEntry, case_from_get_case, case_list_entry, comment_from_item, ir_team_watchers,
};

/// The largest `maxResults` of every SIR List operation.
const PAGE_SIZE: i32 = 25;

/// A failed SIR read.
#[derive(Debug, thiserror::Error)]
#[error("SIR {operation}{} failed ({}): {message}",
    .case_id.as_ref().map(|id| format!(" for case {id}")).unwrap_or_default(),
    .code.as_deref().unwrap_or("no error code"))]
pub struct SirError {
    /// The operation, e.g. `GetCase`.
    pub operation: &'static str,
    /// The case it was about, if any.
    pub case_id: Option<CaseId>,
    /// The service's error code (`ThrottlingException`, `ResourceNotFoundException`, ...),
    /// absent for transport failures.
    pub code: Option<String>,
    /// What the SDK said.
    pub message: String,
}

impl SirError {
    fn from_sdk<E, R>(
        operation: &'static str,
        case_id: Option<&CaseId>,
        err: SdkError<E, R>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Self {
            operation,
            case_id: case_id.cloned(),
            code: err.code().map(str::to_owned),
            message: DisplayErrorContext(&err).to_string(),
        }
    }

    /// Whether the case does not exist (any more).
    pub fn is_not_found(&self) -> bool {
        self.code.as_deref() == Some("ResourceNotFoundException")
    }

    /// Whether SIR refused the poller's credentials (its role lacks the action, or the account
    /// has no SIR membership it may use): an operator must fix it; retrying in-process does not
    /// help.
    pub fn is_access_denied(&self) -> bool {
        self.code.as_deref() == Some("AccessDeniedException")
    }
}

/// How the SDK retries SIR calls: standard mode (exponential backoff with full jitter and a
/// retry quota), five attempts, backoff from 200 ms up to 5 s.
pub fn sir_retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(5))
}

/// A SIR client configured for the poller from a shared SDK configuration.
pub fn sdk_config_for_poller(shared: &aws_config::SdkConfig) -> aws_sdk_securityir::Config {
    aws_sdk_securityir::config::Builder::from(shared)
        .retry_config(sir_retry_config())
        .build()
}

/// The SIR reads the poller makes.
#[derive(Debug, Clone)]
pub struct SirReader {
    client: Client,
}

impl SirReader {
    /// Wraps a SIR client (see [`sdk_config_for_poller`]).
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Every case, from all pages of ListCases (`ceil(cases / 25)` calls).
    pub async fn list_cases(&self) -> Result<Vec<CaseListEntry>, SirError> {
        let mut pages = self
            .client
            .list_cases()
            .max_results(PAGE_SIZE)
            .into_paginator()
            .items()
            .send();
        let mut entries = Vec::new();
        while let Some(item) = pages.next().await {
            let item = item.map_err(|e| SirError::from_sdk("ListCases", None, e))?;
            match case_list_entry(&item) {
                Ok(entry) => entries.push(entry),
                // One malformed entry must not hide every other case.
                Err(error) => tracing::warn!(%error, "skipping a ListCases item"),
            }
        }
        Ok(entries)
    }

    /// One case (GetCase), with its attachments.
    pub async fn get_case(&self, case_id: &CaseId) -> Result<Case, SirError> {
        let out = self
            .client
            .get_case()
            .case_id(case_id.as_str())
            .send()
            .await
            .map_err(|e| SirError::from_sdk("GetCase", Some(case_id), e))?;
        Ok(case_from_get_case(case_id, &out))
    }

    /// Every comment of a case, from all pages of ListComments. SIR has no "newer than" filter
    /// and documents no order, so the caller deduplicates by comment ID.
    pub async fn list_comments(&self, case_id: &CaseId) -> Result<Vec<Comment>, SirError> {
        let mut pages = self
            .client
            .list_comments()
            .case_id(case_id.as_str())
            .max_results(PAGE_SIZE)
            .into_paginator()
            .items()
            .send();
        let mut comments = Vec::new();
        while let Some(item) = pages.next().await {
            let item = item.map_err(|e| SirError::from_sdk("ListComments", Some(case_id), e))?;
            match comment_from_item(&item) {
                Ok(comment) => comments.push(comment),
                Err(error) => tracing::warn!(case_id = %case_id, %error, "skipping a comment"),
            }
        }
        Ok(comments)
    }

    /// The ID of the account's active SIR membership, if there is one.
    pub async fn active_membership_id(&self) -> Result<Option<String>, SirError> {
        let mut pages = self
            .client
            .list_memberships()
            .max_results(PAGE_SIZE)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(|e| SirError::from_sdk("ListMemberships", None, e))?;
            if item.membership_status() == Some(&MembershipStatus::Active) {
                return Ok(Some(item.membership_id().to_owned()));
            }
        }
        Ok(None)
    }

    /// The incident response team of a membership, as watchers.
    pub async fn ir_team(&self, membership_id: &str) -> Result<Vec<Watcher>, SirError> {
        let out = self
            .client
            .get_membership()
            .membership_id(membership_id)
            .send()
            .await
            .map_err(|e| SirError::from_sdk("GetMembership", None, e))?;
        Ok(ir_team_watchers(&out))
    }
}
