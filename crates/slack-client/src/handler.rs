//! The Lambda handler: an SQS batch in, batch item failures out.
//!
//! A batch is grouped by case. Each case's events are sorted by sequence and applied one after
//! the other by one worker holding the case's lease; different cases proceed in parallel
//! (bounded by `MAX_CONCURRENT_CASES`). What happens to each message:
//!
//! - applied (or a duplicate of an applied event): acknowledged (deleted by Lambda);
//! - its predecessor is not applied yet, or it failed in a way that may work later: reported
//!   as a batch item failure, together with every later event of its case in the batch, so
//!   they come back after the visibility timeout in the same order;
//! - Slack refused it for good: reported (log, `[Slack Update]` comment in SIR) and
//!   acknowledged, so one impossible event cannot hold its case back;
//! - unreadable: reported as a failure with a structured log, so it ends in the DLQ.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use futures::StreamExt;
use sirslack_domain::{CaseId, ChannelNamer};
use sirslack_mapper::slack::{ConsoleLinks, InvalidRegion};
use sirslack_slack_api::{
    BotToken, BotTokenSource, Deadline, ParameterCache, SlackApi, SlackSession, SlackUser,
};
use sirslack_store::Table;
use tokio::sync::{Mutex, OnceCell};

use crate::apply::{Applied, CaseRun};
use crate::config::Config;
use crate::envelope::{QueuedEvent, parse_record, receive_count};
use crate::failure::{Failure, Step};
use crate::sir::Sir;
use crate::state::SlackState;

/// How long a case lease lasts when the invocation has no deadline (local runs, tests).
const DEFAULT_LEASE: Duration = Duration::from_secs(15 * 60);
/// Added to the invocation's remaining time: a lease outlives its holder, never the reverse.
const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// First pause before a case is tried again within an invocation; it doubles up to
/// [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// Longest pause between tries of a case within an invocation.
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// Everything the handler talks to.
#[derive(Debug, Clone)]
pub struct Services {
    /// The table, through the store.
    pub table: Table,
    /// The table, for the Slack client's own attributes and marker reads.
    pub state: SlackState,
    /// SIR.
    pub sir: Sir,
    /// Slack.
    pub slack: SlackApi,
    /// The bot token.
    pub token: BotTokenSource,
    /// SSM values other than the token (the channel prefix); `None` when none are configured.
    pub parameters: Option<ParameterCache>,
}

/// Building the handler failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The environment is incomplete or malformed.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The Slack client could not be built.
    #[error(transparent)]
    Slack(#[from] sirslack_slack_api::SetupError),
    /// The console region is not a region name.
    #[error(transparent)]
    Region(#[from] InvalidRegion),
}

/// The Slack client's handler. Build it once per container and call [`Handler::handle`] for
/// every batch.
#[derive(Debug)]
pub struct Handler {
    pub(crate) config: Config,
    pub(crate) services: Services,
    pub(crate) links: ConsoleLinks,
    /// The bot's own user ID, read with `auth.test` the first time a channel's ownership must
    /// be checked (not on every invocation).
    bot_user_id: OnceCell<String>,
}

impl Handler {
    /// A handler over `services`.
    pub fn new(config: Config, services: Services) -> Result<Self, SetupError> {
        let links = ConsoleLinks::new(&config.console_region)?;
        Ok(Self {
            config,
            services,
            links,
            bot_user_id: OnceCell::new(),
        })
    }

    /// A handler for AWS: clients from `sdk_config`, Slack at `SLACK_API_URL` or slack.com.
    pub fn from_aws(
        config: Config,
        sdk_config: &aws_config::SdkConfig,
    ) -> Result<Self, SetupError> {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk_config);
        let parameters = ParameterCache::new(
            aws_sdk_ssm::Client::new(sdk_config),
            config.secrets_cache_ttl,
        );
        let services = Services {
            table: Table::new(dynamodb.clone(), config.table_name.clone()),
            state: SlackState::new(dynamodb, config.table_name.clone()),
            sir: Sir::new(aws_sdk_securityir::Client::new(sdk_config)),
            slack: SlackApi::new(config.slack_api_url.as_deref())?,
            token: BotTokenSource::ssm(parameters.clone(), config.bot_token_parameter.clone()),
            parameters: Some(parameters),
        };
        Self::new(config, services)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Applies one SQS batch. Never fails as a whole: every message that was not handled is
    /// named in the response's `batchItemFailures`.
    pub async fn handle(&self, event: SqsEvent, deadline: Deadline) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        let mut cases: Vec<(CaseId, Vec<QueuedEvent>)> = Vec::new();
        let mut positions: HashMap<CaseId, usize> = HashMap::new();
        for record in &event.records {
            let message_id = record.message_id.clone().unwrap_or_default();
            match parse_record(record) {
                Ok(queued) => {
                    let case_id = queued.event.case_id.clone();
                    let position = *positions.entry(case_id.clone()).or_insert_with(|| {
                        cases.push((case_id, Vec::new()));
                        cases.len() - 1
                    });
                    cases[position].1.push(queued);
                }
                Err(error) => {
                    tracing::error!(
                        message_id = %message_id,
                        receive_count = receive_count(record),
                        error = %error,
                        "unreadable SQS record: reported as failed, so it ends in the dead-letter queue"
                    );
                    if !message_id.is_empty() {
                        response.add_failure(message_id);
                    }
                }
            }
        }
        if cases.is_empty() {
            return response;
        }

        let invocation = match Invocation::start(self, deadline).await {
            Ok(invocation) => invocation,
            Err(failure) => {
                tracing::error!(error = %failure, "cannot start applying the batch; every event is retried");
                for (_, events) in cases {
                    for queued in events {
                        response.add_failure(queued.message_id);
                    }
                }
                return response;
            }
        };
        let failed: Vec<Vec<String>> = futures::stream::iter(cases)
            .map(|(case_id, events)| invocation.run_case(case_id, events))
            .buffer_unordered(self.config.max_concurrent_cases)
            .collect()
            .await;
        for message_id in failed.into_iter().flatten() {
            response.add_failure(message_id);
        }
        response
    }

    /// The bot's user ID (`auth.test`, once per container).
    pub(crate) async fn bot_user_id(&self, session: &SlackSession<'_>) -> Step<String> {
        self.bot_user_id
            .get_or_try_init(|| async {
                session
                    .auth_test()
                    .await
                    .map(|identity| identity.user_id)
                    .map_err(Failure::from)
            })
            .await
            .cloned()
    }
}

/// What one invocation shares between its cases.
pub(crate) struct Invocation<'h> {
    pub(crate) handler: &'h Handler,
    pub(crate) token: BotToken,
    pub(crate) deadline: Deadline,
    pub(crate) namer: ChannelNamer,
    /// `users.lookupByEmail` answers, cached for this invocation (`None`: no such user).
    users: Mutex<HashMap<String, Option<SlackUser>>>,
    /// Names this invocation's leases.
    owner: String,
}

impl<'h> Invocation<'h> {
    async fn start(handler: &'h Handler, deadline: Deadline) -> Step<Invocation<'h>> {
        let token = handler.services.token.token().await.map_err(|error| {
            Failure::Retry(format!("the Slack bot token cannot be read: {error}"))
        })?;
        let namer = channel_namer(handler).await?;
        Ok(Self {
            handler,
            token,
            deadline,
            namer,
            users: Mutex::new(HashMap::new()),
            owner: format!(
                "slack-client-{}-{:016x}",
                std::process::id(),
                rand::random::<u64>()
            ),
        })
    }

    /// A Slack session with this invocation's token and deadline.
    pub(crate) fn session(&self) -> SlackSession<'h> {
        self.handler
            .services
            .slack
            .session(&self.token)
            .with_deadline(self.deadline)
    }

    /// The Slack user with `email`, from this invocation's cache or `users.lookupByEmail`.
    pub(crate) async fn user_by_email(&self, email: &str) -> Step<Option<SlackUser>> {
        let key = email.trim().to_lowercase();
        if let Some(known) = self.users.lock().await.get(&key) {
            return Ok(known.clone());
        }
        let found = self.session().lookup_user_by_email(email.trim()).await?;
        self.users.lock().await.insert(key, found.clone());
        Ok(found)
    }

    /// Applies one case's events under the case's lease; returns the message IDs to retry.
    ///
    /// When another worker holds the lease, or the next event's predecessor is not applied
    /// yet, the case is tried again for up to `CASE_WAIT_SECONDS` (the other worker is usually
    /// applying that very predecessor) before its events are given back to the queue, where
    /// they would wait a whole visibility timeout.
    async fn run_case(&self, case_id: CaseId, mut events: Vec<QueuedEvent>) -> Vec<String> {
        events.sort_by_key(|queued| queued.event.sequence);
        let wait = self.handler.config.case_wait;
        let wait_until = Instant::now() + wait;
        let mut pending: &[QueuedEvent] = &events;
        let mut pause = FIRST_PAUSE;
        loop {
            let (applied, stop) = self.run_case_once(&case_id, pending).await;
            pending = &pending[applied..];
            let may_wait = matches!(stop, Some(Stop::LeaseHeld | Stop::Waiting))
                && Instant::now() + pause < wait_until
                && self.deadline.allows(pause);
            if pending.is_empty() || !may_wait {
                return pending
                    .iter()
                    .map(|queued| queued.message_id.clone())
                    .collect();
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    /// One pass over the case's pending events under its lease: how many were handled, and
    /// why it stopped early, if it did.
    async fn run_case_once(
        &self,
        case_id: &CaseId,
        events: &[QueuedEvent],
    ) -> (usize, Option<Stop>) {
        let table = &self.handler.services.table;
        let lease = lease_name(case_id);
        let lease_for = self
            .deadline
            .remaining()
            .map_or(DEFAULT_LEASE, |left| left + LEASE_MARGIN);
        let lease_for =
            chrono::Duration::from_std(lease_for).unwrap_or(chrono::Duration::minutes(15));
        match table.acquire_lease(&lease, &self.owner, lease_for).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(
                    case_id = %case_id,
                    events = events.len(),
                    "another worker is applying this case's events"
                );
                return (0, Some(Stop::LeaseHeld));
            }
            Err(error) => {
                tracing::warn!(case_id = %case_id, %error, "cannot take the case lease; events will be retried");
                return (0, Some(Stop::Retry));
            }
        }

        let outcome = match CaseRun::load(self, case_id.clone()).await {
            Ok(mut run) => {
                let mut outcome = (events.len(), None);
                for (index, queued) in events.iter().enumerate() {
                    if self.deadline.is_past() {
                        tracing::warn!(case_id = %case_id, "invocation deadline near; the rest is retried");
                        outcome = (index, Some(Stop::Retry));
                        break;
                    }
                    match run.apply(queued).await {
                        Applied::Done => {}
                        Applied::Waiting => {
                            outcome = (index, Some(Stop::Waiting));
                            break;
                        }
                        Applied::Retry => {
                            outcome = (index, Some(Stop::Retry));
                            break;
                        }
                    }
                }
                outcome
            }
            Err(error) => {
                tracing::warn!(case_id = %case_id, error = %error, "cannot read the case's channel record; events will be retried");
                (0, Some(Stop::Retry))
            }
        };
        if let Err(error) = table.release_lease(&lease, &self.owner).await {
            tracing::warn!(case_id = %case_id, %error, "cannot release the case lease; it expires on its own");
        }
        outcome
    }
}

/// Why a pass over a case's events stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Another worker holds the case's lease.
    LeaseHeld,
    /// The next event's predecessor is not applied yet.
    Waiting,
    /// Something failed; the rest goes back to the queue.
    Retry,
}

/// The lease that gives one worker at a time a case's channel.
pub fn lease_name(case_id: &CaseId) -> String {
    format!("slack-client#{case_id}")
}

/// The channel namer with the configured prefix. A prefix that cannot be read right now fails
/// the invocation (channels must not get a different name because SSM hiccupped); a missing
/// or unusable one falls back to the default prefix.
async fn channel_namer(handler: &Handler) -> Step<ChannelNamer> {
    let (Some(parameters), Some(name)) = (
        &handler.services.parameters,
        &handler.config.channel_prefix_parameter,
    ) else {
        return Ok(ChannelNamer::default());
    };
    match parameters.get_optional(name).await {
        Ok(Some(prefix)) => Ok(ChannelNamer::new(&prefix).unwrap_or_else(|error| {
            tracing::warn!(parameter = %name, %error, "unusable channel prefix; using the default");
            ChannelNamer::default()
        })),
        Ok(None) => Ok(ChannelNamer::default()),
        Err(error) => Err(Failure::Retry(format!(
            "the channel prefix cannot be read: {error}"
        ))),
    }
}
