//! The Lambda handler: an SQS batch in, batch item failures out.
//!
//! A batch is grouped by case. Each case's events are sorted by sequence and applied one after
//! the other by one worker holding the case's lease; different cases proceed in parallel
//! (bounded by `MAX_CONCURRENT_CASES`). What happens to each message:
//!
//! - applied (or a duplicate of an applied event): acknowledged (deleted by Lambda);
//! - its predecessor is not applied yet, or it failed in a way that may work later: reported
//!   as a batch item failure, together with every later event of its case in the batch, so
//!   they come back together and in the same order;
//! - Slack refused it for good: reported (log, `[Slack Update]` comment in SIR) and
//!   acknowledged, so one impossible event cannot hold its case back;
//! - unreadable: reported as a failure with a structured log, so it ends in the DLQ.
//!
//! Before answering, every message reported as failed gets a visibility from the
//! [`RedeliverySchedule`](crate::RedeliverySchedule) (by its receive count, at least a rate
//! limit's `Retry-After`), so it comes back after seconds or minutes instead of the queue's
//! whole visibility timeout; a case's events share one visibility. See [`crate::redelivery`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use futures::StreamExt;
use sirslack_domain::duration::to_chrono;
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
use crate::redelivery::{
    QueueVisibility, VisibilityChange, observing_retry_after, visibility_seconds,
};
use crate::sir::Sir;

/// How long a case lease lasts when the invocation has no deadline (local runs, tests).
const DEFAULT_LEASE: Duration = Duration::from_secs(15 * 60);
/// Added to the invocation's remaining time: a lease outlives its holder, never the reverse.
const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// First pause before a case is tried again within an invocation; it doubles up to
/// [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// Longest pause between tries of a case within an invocation.
const MAX_PAUSE: Duration = Duration::from_secs(2);
/// Longest time spent shortening the visibility of failed messages: past it they simply come
/// back after the queue's visibility timeout.
const VISIBILITY_CHANGE_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything the handler talks to.
#[derive(Debug, Clone)]
pub struct Services {
    /// The table, through the store.
    pub table: Table,
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
    /// Shortens the visibility of failed messages; `None` leaves them to the queue's
    /// visibility timeout (see [`Handler::with_sqs`]).
    queue_visibility: Option<QueueVisibility>,
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
            queue_visibility: None,
        })
    }

    /// The same handler, shortening the visibility of the messages it reports as failed
    /// through `sqs` (`GetQueueUrl` and `ChangeMessageVisibilityBatch` on the queue named by
    /// each record's `eventSourceARN`), so they come back after the configured
    /// [`RedeliverySchedule`](crate::RedeliverySchedule) rather than the queue's visibility
    /// timeout. [`Handler::from_aws`] does this itself.
    #[must_use]
    pub fn with_sqs(mut self, sqs: aws_sdk_sqs::Client) -> Self {
        self.queue_visibility = Some(QueueVisibility::new(sqs));
        self
    }

    /// A handler for AWS: clients from `sdk_config`, Slack at `SLACK_API_URL` or slack.com.
    pub fn from_aws(
        config: Config,
        sdk_config: &aws_config::SdkConfig,
    ) -> Result<Self, SetupError> {
        let parameters = ParameterCache::new(
            aws_sdk_ssm::Client::new(sdk_config),
            config.secrets_cache_ttl,
        );
        let services = Services {
            table: Table::new(
                aws_sdk_dynamodb::Client::new(sdk_config),
                config.table_name.clone(),
            ),
            sir: Sir::from_sdk_config(sdk_config),
            slack: SlackApi::new(config.slack_api_url.as_deref())?,
            token: BotTokenSource::ssm(parameters.clone(), config.bot_token_parameter.clone()),
            parameters: Some(parameters),
        };
        Ok(Self::new(config, services)?.with_sqs(aws_sdk_sqs::Client::new(sdk_config)))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Applies one SQS batch. Never fails as a whole: every message that was not handled is
    /// named in the response's `batchItemFailures`.
    pub async fn handle(&self, event: SqsEvent, deadline: Deadline) -> SqsBatchResponse {
        let mut given_back: Vec<GivenBack> = Vec::new();
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
                        given_back.push(GivenBack {
                            case_id: None,
                            receive_count: receive_count(record),
                            message_ids: vec![message_id],
                            retry_after: None,
                        });
                    }
                }
            }
        }

        if !cases.is_empty() {
            match Invocation::start(self, deadline).await {
                Ok(invocation) => {
                    let outcomes: Vec<GivenBack> = futures::stream::iter(cases)
                        .map(|(case_id, events)| invocation.run_case(case_id, events))
                        .buffer_unordered(self.config.max_concurrent_cases)
                        .collect()
                        .await;
                    given_back.extend(outcomes);
                }
                Err(failure) => {
                    tracing::error!(error = %failure, "cannot start applying the batch; every event is retried");
                    given_back.extend(cases.into_iter().map(|(case_id, mut events)| {
                        events.sort_by_key(|queued| queued.event.sequence);
                        GivenBack::all(case_id, &events, None)
                    }));
                }
            }
        }
        given_back.retain(|group| !group.message_ids.is_empty());
        if !given_back.is_empty() {
            self.shorten_visibility(&event, &given_back, deadline).await;
        }

        let mut response = SqsBatchResponse::default();
        for message_id in given_back.into_iter().flat_map(|group| group.message_ids) {
            response.add_failure(message_id);
        }
        response
    }

    /// Gives each failed message the visibility its group's receive count (and `Retry-After`)
    /// calls for. Never fails: a message whose visibility cannot be changed comes back after
    /// the queue's visibility timeout instead, so it is late, never lost.
    async fn shorten_visibility(&self, event: &SqsEvent, groups: &[GivenBack], deadline: Deadline) {
        let schedule = &self.config.redelivery;
        let mut changes = Vec::new();
        let mut unaddressable = Vec::new();
        for group in groups {
            // One visibility for the whole group, so a case's events come back together, in
            // order, paced by its oldest pending event.
            let visibility = schedule.visibility(group.receive_count, group.retry_after);
            let at_least = group.retry_after.map_or(Duration::ZERO, visibility_seconds);
            tracing::info!(
                case_id = group.case_id.as_ref().map(|id| id.as_str()),
                events = group.message_ids.len(),
                receive_count = group.receive_count,
                retry_after_seconds = group.retry_after.map(|wait| wait.as_secs_f64()),
                visibility_seconds = visibility.as_secs(),
                shortened = self.queue_visibility.is_some(),
                "events given back to the queue"
            );
            for message_id in &group.message_ids {
                let record = event
                    .records
                    .iter()
                    .find(|record| record.message_id.as_deref() == Some(message_id.as_str()));
                let non_empty =
                    |value: Option<&String>| value.filter(|value| !value.is_empty()).cloned();
                let receipt_handle =
                    record.and_then(|record| non_empty(record.receipt_handle.as_ref()));
                let queue_arn =
                    record.and_then(|record| non_empty(record.event_source_arn.as_ref()));
                match (receipt_handle, queue_arn) {
                    (Some(receipt_handle), Some(queue_arn)) => changes.push(VisibilityChange {
                        message_id: message_id.clone(),
                        receipt_handle,
                        queue_arn,
                        visibility,
                        at_least,
                    }),
                    _ => unaddressable.push(message_id),
                }
            }
        }
        let Some(queue_visibility) = &self.queue_visibility else {
            return;
        };
        for message_id in unaddressable {
            tracing::warn!(
                message_id = %message_id,
                "the SQS record has no receipt handle or source queue; it comes back after the queue's visibility timeout"
            );
        }
        if changes.is_empty() {
            return;
        }
        // Leave part of the deadline margin for answering Lambda.
        let budget = deadline
            .remaining()
            .map_or(VISIBILITY_CHANGE_TIMEOUT, |left| {
                left + self.config.deadline_margin / 2
            })
            .min(VISIBILITY_CHANGE_TIMEOUT);
        match tokio::time::timeout(budget, queue_visibility.change(&changes)).await {
            Ok(failed) => {
                for (message, error) in failed {
                    tracing::warn!(
                        message_id = %message.message_id,
                        queue_arn = %message.queue_arn,
                        visibility_seconds = message.visibility.as_secs(),
                        error = %error,
                        "cannot shorten the visibility of a failed message; it comes back after the queue's visibility timeout"
                    );
                }
            }
            Err(_) => tracing::warn!(
                messages = changes.len(),
                timeout_ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX),
                "shortening the visibility of failed messages took too long; they come back after the queue's visibility timeout"
            ),
        }
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

    /// Applies one case's events under the case's lease; returns the events to give back to
    /// the queue (none when all were handled), with the longest `Retry-After` Slack asked for.
    async fn run_case(&self, case_id: CaseId, events: Vec<QueuedEvent>) -> GivenBack {
        let ((case_id, pending), retry_after) =
            observing_retry_after(self.run_case_until_stuck(case_id, events)).await;
        GivenBack::all(case_id, &pending, retry_after)
    }

    /// Applies one case's events under the case's lease; returns the events not handled.
    ///
    /// When another worker holds the lease, or the next event's predecessor is not applied
    /// yet, the case is tried again for up to `CASE_WAIT_SECONDS` (the other worker is usually
    /// applying that very predecessor) before its events are given back to the queue.
    async fn run_case_until_stuck(
        &self,
        case_id: CaseId,
        mut events: Vec<QueuedEvent>,
    ) -> (CaseId, Vec<QueuedEvent>) {
        events.sort_by_key(|queued| queued.event.sequence);
        let wait = self.handler.config.case_wait;
        let wait_until = Instant::now() + wait;
        let mut handled = 0;
        let mut pause = FIRST_PAUSE;
        loop {
            let (applied, stop) = self.run_case_once(&case_id, &events[handled..]).await;
            handled += applied;
            let may_wait = matches!(stop, Some(Stop::LeaseHeld | Stop::Waiting))
                && Instant::now() + pause < wait_until
                && self.deadline.allows(pause);
            if handled == events.len() || !may_wait {
                return (case_id, events.split_off(handled));
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
        let lease_for = to_chrono(lease_for);
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

/// Messages reported as failed that come back together.
#[derive(Debug)]
struct GivenBack {
    /// Their case, when the records could be read.
    case_id: Option<CaseId>,
    /// Receive count of the group's first (oldest pending) message: it sets the group's delay.
    receive_count: u32,
    /// In sequence order.
    message_ids: Vec<String>,
    /// The longest `Retry-After` Slack asked for while the case was applied.
    retry_after: Option<Duration>,
}

impl GivenBack {
    /// Every one of `pending` (sorted by sequence) of `case_id`.
    fn all(case_id: CaseId, pending: &[QueuedEvent], retry_after: Option<Duration>) -> Self {
        Self {
            case_id: Some(case_id),
            receive_count: pending.first().map_or(1, |queued| queued.receive_count),
            message_ids: pending
                .iter()
                .map(|queued| queued.message_id.clone())
                .collect(),
            retry_after,
        }
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
