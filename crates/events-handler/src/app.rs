//! Shared state of the listeners, and the errors of the work they do.

use std::sync::Arc;
use std::time::Duration;

use sirslack_cache::TtlCache;
use sirslack_domain::CaseId;
use sirslack_slack_api::SlackApiError;
use sirslack_store::{CaseInChannel, StoreError, Table};

use crate::config::Config;
use crate::secrets::{SecretCache, SecretsError};
use crate::sir::{Sir, SirError};
use crate::slack::Slack;
use crate::transfer::{FileTransfer, TransferError};

/// How long a channel's case is remembered. A link never changes once made; only positive
/// answers are cached, because a channel that is not linked yet may be linked a second later.
const CHANNEL_CASE_TTL: Duration = Duration::from_secs(600);
/// How long a person's open cases (their channels, each looked up) are remembered for the
/// "Send to SIR case" picker: the picker asks again at every keystroke, and a person who left
/// a channel stops seeing its case within this time (the command handler checks membership
/// again before anything is written).
const PERSON_CASES_TTL: Duration = Duration::from_secs(60);

/// Why a piece of sync work failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A SIR call.
    #[error(transparent)]
    Sir(#[from] SirError),
    /// A Slack call.
    #[error(transparent)]
    Slack(#[from] SlackApiError),
    /// The table.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file transfer.
    #[error(transparent)]
    Transfer(#[from] TransferError),
    /// The bot token could not be read.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
}

impl SyncError {
    /// Whether trying again may work.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Sir(error) => error.transient,
            Self::Slack(error) => error.class.is_retryable(),
            Self::Store(StoreError::Dynamo { .. }) => true,
            Self::Store(_) => false,
            Self::Transfer(error) => error.transient,
            Self::Secrets(_) => true,
        }
    }

    /// Whether the upload URL of the failed attempt must not be asked for again (see
    /// [`TransferError::spoils_upload_url`]).
    pub fn spoils_upload_url(&self) -> bool {
        matches!(self, Self::Transfer(error) if error.spoils_upload_url())
    }

    /// How long to wait before trying again, when the service said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Slack(error) => error.retry_after,
            _ => None,
        }
    }

    /// A short reason a person can read (no URLs, no tokens).
    pub fn for_people(&self) -> String {
        match self {
            Self::Sir(error) if error.message.is_empty() => {
                format!("SIR answered {}", error.code)
            }
            // SIR's messages can name the role and account: never shown verbatim (the
            // operator's log line has the full answer).
            Self::Sir(error) => format!(
                "SIR answered {}: {}",
                error.code,
                sirslack_mapper::sir::error_text_for_people(&error.message)
            ),
            Self::Slack(error) => format!("Slack answered {}", error.code),
            Self::Store(_) => "the integration's table is unavailable".to_owned(),
            Self::Transfer(error) => error.reason.clone(),
            Self::Secrets(_) => "the integration's Slack token is unavailable".to_owned(),
        }
    }
}

/// What every listener shares. One per container.
pub struct App {
    /// The configuration.
    pub config: Config,
    /// sirslack's table.
    pub table: Table,
    /// SIR.
    pub sir: Sir,
    /// Slack's Web API.
    pub slack: Slack,
    /// The cached SSM values.
    pub secrets: SecretCache,
    /// File copies.
    pub transfer: FileTransfer,
    channel_cases: TtlCache<String, CaseId>,
    person_cases: TtlCache<String, Arc<Vec<CaseInChannel>>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("table", &self.table.name())
            .finish_non_exhaustive()
    }
}

impl App {
    /// Assembles the shared state.
    pub fn new(
        config: Config,
        table: Table,
        sir: Sir,
        slack: Slack,
        secrets: SecretCache,
        transfer: FileTransfer,
    ) -> Self {
        Self {
            config,
            table,
            sir,
            slack,
            secrets,
            transfer,
            channel_cases: TtlCache::new(CHANNEL_CASE_TTL),
            person_cases: TtlCache::new(PERSON_CASES_TTL),
        }
    }

    /// The case linked to `channel_id`: one GetItem by key (never a Scan), remembered for a
    /// while once found.
    pub async fn case_for_channel(&self, channel_id: &str) -> Result<Option<CaseId>, StoreError> {
        if let Some(case_id) = self.channel_cases.get(channel_id) {
            return Ok(Some(case_id));
        }
        let found = self.table.case_for_channel(channel_id).await?;
        if let Some(case_id) = &found {
            self.channel_cases
                .insert(channel_id.to_owned(), case_id.clone());
        }
        Ok(found)
    }

    /// The open cases whose channel `user_id` is in: Slack's list of the person's channels
    /// (`users.conversations`), each looked up in the table
    /// ([`Table::open_cases_in_channels`]); remembered per person for a minute.
    pub async fn open_cases_of(&self, user_id: &str) -> Result<Arc<Vec<CaseInChannel>>, SyncError> {
        self.person_cases
            .get_or_try_load(user_id.to_owned(), || async {
                let channels = self.slack.user_channels(user_id).await?;
                let cases = self.table.open_cases_in_channels(&channels).await?;
                Ok::<_, SyncError>(Arc::new(cases))
            })
            .await
    }

    /// Whether `channel_id` is linked to `case_id` (the same lookup as [`App::case_for_channel`]).
    /// Lazy work is re-checked with it before acting: a job arriving by the bus (or a
    /// self-invocation) names its channel and case, and anyone who can put an event on the bus
    /// could name any pair.
    pub async fn link_holds(&self, channel_id: &str, case_id: &CaseId) -> Result<bool, StoreError> {
        Ok(self.case_for_channel(channel_id).await?.as_ref() == Some(case_id))
    }
}

/// Shared handle on the state.
pub type SharedApp = Arc<App>;
