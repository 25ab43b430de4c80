//! The command handler: one [`CommandInvocation`] in (an async `lambda:Invoke` by the events
//! handler), answers through the `response_url`.
//!
//! For every invocation:
//!
//! 1. **interpret**: the command line (slash command, or a button carrying one), the status
//!    menu and the Close button of the case message, the Confirm/Cancel buttons of the close
//!    prompt; a line that does not parse gets the reason and, when useful, the usage;
//! 2. **check the link**: the channel must still be linked to the case;
//! 3. **authorize** ([`crate::authorize`]): channel membership, then the policy;
//! 4. read-only commands answer ephemerally; `close` without confirmation asks for it;
//! 5. changes: **claim** the invocation (a conditional write keyed by the payload, so an async
//!    retry or duplicate delivery changes nothing twice), read the case, **plan** the change
//!    (refusing invalid transitions before any code is used), **step up** (one-time code),
//!    **apply** it in SIR, write the **audit comment** (`[Slack Update] Jane Doe (@jane, Slack ID
//!    U0123ABCD) ran /security-ir <sub>: <what changed>`, recorded so the poller never announces it), and
//!    **announce** it in the channel.
//!
//! Refusals are ephemeral, say why, and are logged with user, channel, case and subcommand.
//! No failure makes the invocation fail (the person has been told; a Lambda retry would only
//! repeat the answer) except a payload that cannot be read, which goes to the DLQ.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sirslack_domain::announced::ANNOUNCED_CHANGE_SCOPE;
use sirslack_domain::duration::to_chrono;
use sirslack_domain::marker::command_audit_comment;
use sirslack_domain::{CaseId, Command, Otp, SelfManagedStatus};
use sirslack_mapper::markup::parse_slash_command;
use sirslack_mapper::slack::{
    CLOSE_BUTTON_ACTION_ID, ConsoleLinks, InvalidRegion, SNOOZE_BUTTON_ACTION_ID, SNOOZE_HOURS,
    STATUS_SELECT_ACTION_ID, case_id_from_block_id, snoozed_message, status_from_option_value,
};
use sirslack_mapper::split::split_sir_comment;
use sirslack_slack_api::{BotTokenSource, ParameterCache, SlackApi};
use sirslack_slack_router::{
    COMMAND_INVOCATION_VERSION, CommandInvocation, DECLARATION_KIND, DeclarationInvocation,
    FORWARD_INVOCATION_KIND, ForwardInvocation, HOME_INVOCATION_KIND, HomeInvocation,
    InvocationKind, invocation_kind,
};
use sirslack_store::{Resumable, SyncOrigin, Table};
use slack_morphism::prelude::SlackMessageContent;
use tracing::{error, info, warn};

use crate::authorize::{Access, Authorizer, Refusal};
use crate::commands::close::{CLOSE_CANCEL_ACTION_ID, confirmation_prompt};
use crate::commands::{Change, help, status, summarize};
use crate::config::Config;
use crate::respond::{Delivery, Reply, ReplyTarget, Responder};
use crate::sir::Sir;
use crate::slack::{Person, Slack};

mod declare;
mod forward;

pub use declare::client_token as declaration_client_token;
pub use forward::client_token as forward_client_token;

/// Marker scope of handled invocations (`command#<sha256 of the payload>`; declarations
/// `command#declare#<team>#<view>`).
pub const COMMAND_SCOPE: &str = "command";
/// How long a handled invocation is remembered: past Lambda's async retries (the stack allows
/// 2 within 15 minutes) and any late duplicate delivery.
const COMMAND_MARKER_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// How long the marker of an announced change waits for the Slack client: the poller reports a
/// change within minutes (a native event, else the schedule), and a marker that outlives that
/// could only hide a later change to the same value.
const ANNOUNCED_CHANGE_TTL: Duration = Duration::from_secs(60 * 60);
/// The deployed timeout (`infra/lib/contract.js`), the deadline when none is given.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Work stops this long before the deadline; a claim's lease outlives the deadline by as much.
const DEADLINE_MARGIN: Duration = Duration::from_secs(1);
/// What a person reads when the integration's table could not be read.
const TABLE_UNAVAILABLE: &str =
    "The integration's table is unavailable right now. Please try again in a moment.";

/// The handler could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The environment is incomplete or malformed.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The console region is not a region name.
    #[error(transparent)]
    Region(#[from] InvalidRegion),
    /// The Slack client could not be built.
    #[error(transparent)]
    Slack(#[from] sirslack_slack_api::SetupError),
}

/// An invocation payload the handler cannot read. Returned to Lambda, so the payload ends in
/// the function's dead-letter queue.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    /// Not a [`CommandInvocation`] (or, with `"kind": "declaration"`, not a
    /// [`DeclarationInvocation`]).
    #[error("the payload is not a command invocation: {0}")]
    Malformed(String),
    /// A version this handler does not know.
    #[error("command invocation version {0} is not supported (this handler reads version 1)")]
    Version(u32),
    /// A change was not finished (time ran out, the table failed, or another attempt holds
    /// it): what was done is recorded, and Lambda's retry resumes it.
    #[error("the command was not finished; a retry resumes it from the recorded progress")]
    Unfinished,
    /// A Home tab could not be published; Lambda's retry builds it again.
    #[error("the Home tab was not published: {0}")]
    HomeNotPublished(#[from] crate::home::HomeError),
}

/// What happened to an invocation (the function's result, and for tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A lookup or help was answered.
    Answered,
    /// The close prompt was shown.
    ConfirmationRequested,
    /// The close prompt was dismissed.
    Cancelled,
    /// The case was changed.
    Changed,
    /// A case was declared (created in SIR).
    Created,
    /// The command was refused (not allowed, invalid, nothing to change).
    Refused,
    /// The same invocation was handled before: nothing was done again.
    Duplicate,
    /// A service failed; the person was told.
    Failed,
    /// A change was not finished; the invocation fails so that Lambda's retry resumes it.
    Unfinished,
    /// A person's Home tab was published.
    Published,
    /// A Slack message was sent to a case ("Send to SIR case"): its comment is in SIR.
    Sent,
}

/// The clients the handler uses.
#[derive(Debug, Clone)]
pub struct Services {
    /// sirslack's table.
    pub table: Table,
    /// SIR.
    pub sir: Sir,
    /// Slack.
    pub slack: Slack,
    /// SSM, for the policy and the per-user OTP secrets.
    pub ssm: aws_sdk_ssm::Client,
}

/// The command handler. Build it once per container.
#[derive(Debug)]
pub struct CommandHandler {
    table: Table,
    sir: Sir,
    slack: Slack,
    authorizer: Authorizer,
    responder: Responder,
    links: ConsoleLinks,
    /// Where the events handler's lazy work goes (`EVENT_BUS_NAME`); `None`: a forwarded
    /// message's files cannot be attached.
    lazy_work: Option<crate::lazy::LazyWorkBus>,
}

/// What the person asked for.
enum Request {
    Run(Command),
    CancelClose,
    /// The Snooze button of a quiet-case nudge.
    Snooze,
    Unreadable(SlackMessageContent),
}

/// One invocation in progress: who, where, and where answers go.
struct Run<'a> {
    invocation: &'a CommandInvocation,
    target: ReplyTarget,
    /// When Lambda stops the function.
    deadline: SystemTime,
}

impl Run<'_> {
    fn case_id(&self) -> &CaseId {
        &self.invocation.case_id
    }

    fn user(&self) -> &str {
        &self.invocation.user_id
    }

    fn channel(&self) -> &str {
        &self.invocation.channel_id
    }

    fn time_left(&self) -> Duration {
        time_left_until(self.deadline)
    }

    fn lease(&self) -> chrono::Duration {
        lease_until(self.deadline)
    }
}

/// How long an attempt stopped at `deadline` may still work: up to a second before Lambda
/// stops it.
fn time_left_until(deadline: SystemTime) -> Duration {
    deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(DEADLINE_MARGIN)
}

/// How long an attempt stopped at `deadline` owns what it claims: until just after its
/// deadline (at least [`DEADLINE_MARGIN`]), so a retry (Lambda's first comes about a minute
/// later) takes over only a dead attempt.
fn lease_until(deadline: SystemTime) -> chrono::Duration {
    let until = deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        + DEADLINE_MARGIN;
    to_chrono(until)
}

/// Which part of a change a command's claim has recorded as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum Stage {
    /// The change is decided (and the one-time code used); SIR not called yet.
    Planned,
    /// SIR has the change.
    Applied,
    /// The audit comment is written.
    Audited,
    /// The announcement is being posted (it may be in the channel).
    Announcing,
}

/// What a command's claim records, so that a retry of a dead attempt resumes it: each of the
/// SIR change, the audit comment and the announcement happens once.
#[derive(Debug, Clone, serde::Deserialize, Serialize)]
struct Progress {
    stage: Stage,
    subcommand: String,
    change: Change,
    /// The announcement marker this command wrote, to remove if it cannot announce.
    announcement_marker: Option<String>,
    /// The announcement's text, once its posting started.
    announcement: Option<String>,
}

/// The claim on one command invocation.
struct Claimed<'a> {
    key: &'a str,
    owner: &'a str,
}

/// How long a finished command is remembered as done.
fn claim_ttl() -> chrono::Duration {
    to_chrono(COMMAND_MARKER_TTL)
}

impl CommandHandler {
    /// A handler over `services`.
    pub fn new(config: &Config, services: Services) -> Result<Self, SetupError> {
        let links = ConsoleLinks::new(&config.console_region)?;
        let authorizer = Authorizer::new(
            config,
            services.slack.clone(),
            services.table.clone(),
            services.ssm,
        );
        Ok(Self {
            table: services.table,
            sir: services.sir,
            responder: Responder::new(services.slack.clone()),
            slack: services.slack,
            authorizer,
            links,
            lazy_work: None,
        })
    }

    /// This handler, handing the events handler its lazy work through `bus` (attaching a
    /// forwarded message's files).
    #[must_use]
    pub fn with_lazy_work(mut self, bus: crate::lazy::LazyWorkBus) -> Self {
        self.lazy_work = Some(bus);
        self
    }

    /// A handler for AWS: clients from `sdk_config`, Slack at `SLACK_API_URL` or slack.com.
    pub fn from_aws(config: &Config, sdk_config: &SdkConfig) -> Result<Self, SetupError> {
        let ssm = aws_sdk_ssm::Client::new(sdk_config);
        let token = BotTokenSource::ssm(
            ParameterCache::new(ssm.clone(), config.secrets_cache_ttl),
            config.bot_token_parameter.clone(),
        );
        let services = Services {
            table: Table::new(
                aws_sdk_dynamodb::Client::new(sdk_config),
                config.table_name.clone(),
            ),
            sir: Sir::from_sdk_config(sdk_config),
            slack: Slack::new(SlackApi::new(config.slack_api_url.as_deref())?, token),
            ssm,
        };
        let handler = Self::new(config, services)?;
        Ok(match &config.event_bus_name {
            Some(bus_name) => handler.with_lazy_work(crate::lazy::LazyWorkBus::new(
                aws_sdk_eventbridge::Client::new(sdk_config),
                bus_name,
            )),
            None => handler,
        })
    }

    /// The Lambda entry point: the events handler's JSON payload in, `{"outcome": ...}` out,
    /// with the deployed timeout as the deadline.
    pub async fn handle_invocation(&self, payload: Value) -> Result<Value, InvocationError> {
        self.handle_invocation_until(payload, SystemTime::now() + DEFAULT_TIMEOUT)
            .await
    }

    /// The Lambda entry point for an invocation Lambda stops at `deadline` (the context's).
    /// A change not finished by then fails the invocation, and Lambda's retry resumes it.
    ///
    /// The payload's `kind` decides what it is: `home` is a [`HomeInvocation`], `declaration`
    /// a [`DeclarationInvocation`] ([`CommandHandler::handle_declaration`]), `forward` a
    /// [`ForwardInvocation`] ([`CommandHandler::handle_forward`]); anything else is read as a
    /// [`CommandInvocation`].
    pub async fn handle_invocation_until(
        &self,
        payload: Value,
        deadline: SystemTime,
    ) -> Result<Value, InvocationError> {
        let malformed = |error: serde_json::Error| InvocationError::Malformed(error.to_string());
        // Boxed: the whole flow is one deep future, too deep to lay out inline in `main`.
        let outcome = match invocation_kind(&payload) {
            Some(HOME_INVOCATION_KIND) => {
                let invocation: HomeInvocation =
                    serde_json::from_value(payload).map_err(malformed)?;
                validate_home(&invocation)?;
                Box::pin(crate::home::publish(
                    &self.slack,
                    &self.table,
                    &self.authorizer,
                    &self.links,
                    &invocation,
                ))
                .await?;
                Outcome::Published
            }
            Some(DECLARATION_KIND) => {
                let invocation: DeclarationInvocation =
                    serde_json::from_value(payload).map_err(malformed)?;
                declare::validate(&invocation)?;
                Box::pin(self.handle_declaration(&invocation, deadline)).await
            }
            Some(FORWARD_INVOCATION_KIND) => {
                let invocation: ForwardInvocation =
                    serde_json::from_value(payload).map_err(malformed)?;
                forward::validate(&invocation)?;
                Box::pin(self.handle_forward(&invocation, deadline)).await
            }
            _ => {
                let invocation: CommandInvocation =
                    serde_json::from_value(payload).map_err(malformed)?;
                validate(&invocation)?;
                Box::pin(self.handle_until(&invocation, deadline)).await
            }
        };
        if outcome == Outcome::Unfinished {
            return Err(InvocationError::Unfinished);
        }
        Ok(json!({ "outcome": outcome }))
    }

    /// Tells `user` something that has no `response_url` to answer through (a declaration, a
    /// message sent to a case): a direct message from the app (`chat.postMessage` to the user
    /// ID, the bot's `chat:write`), else an ephemeral message in `fallback_channel`. Whether it
    /// was delivered; a failure is logged for the operator.
    async fn tell_person(
        &self,
        user: &str,
        fallback_channel: Option<&str>,
        content: &SlackMessageContent,
    ) -> bool {
        let direct = match self.slack.post_message(user, content).await {
            Ok(()) => return true,
            Err(slack_error) => slack_error,
        };
        if let Some(channel) = fallback_channel {
            match self.slack.post_ephemeral(channel, user, content).await {
                Ok(()) => return true,
                Err(slack_error) => {
                    error!(user, channel, dm_error = %direct, error = %slack_error, "the person could not be told");
                    return false;
                }
            }
        }
        error!(user, error = %direct, "the person could not be told (no channel to fall back to)");
        false
    }

    /// Handles one invocation; never fails (every failure is answered and logged). An
    /// invocation [`CommandHandler::handle_invocation`] would reject is logged and dropped.
    pub async fn handle(&self, invocation: &CommandInvocation) -> Outcome {
        self.handle_until(invocation, SystemTime::now() + DEFAULT_TIMEOUT)
            .await
    }

    /// [`CommandHandler::handle`], for an invocation Lambda stops at `deadline`.
    pub async fn handle_until(
        &self,
        invocation: &CommandInvocation,
        deadline: SystemTime,
    ) -> Outcome {
        if let Err(invalid) = validate(invocation) {
            error!(error = %invalid, "command invocation rejected");
            return Outcome::Failed;
        }
        let run = Run {
            invocation,
            target: ReplyTarget {
                response_url: invocation.response_url.clone(),
                channel_id: invocation.channel_id.clone(),
                user_id: invocation.user_id.clone(),
            },
            deadline,
        };
        let command = match interpret(invocation) {
            Request::Run(command) => command,
            Request::CancelClose => {
                self.reply(&run, Reply::delete_original()).await;
                return Outcome::Cancelled;
            }
            Request::Snooze => return self.snooze(&run).await,
            Request::Unreadable(content) => {
                self.reply(&run, Reply::ephemeral(content)).await;
                return Outcome::Answered;
            }
        };
        if command == Command::Help {
            self.reply(&run, Reply::ephemeral(help::reply())).await;
            return Outcome::Answered;
        }
        if let Some(outcome) = self.check_link(&run, &command).await {
            return outcome;
        }
        let access = match self
            .authorizer
            .check_access(run.channel(), run.user(), &command)
            .await
        {
            Ok(access) => access,
            Err(refusal) => return self.refuse(&run, &command, &refusal).await,
        };
        match &command {
            Command::Status => self.show_status(&run).await,
            Command::Summarize => self.summarize(&run).await,
            Command::Close {
                confirmed: false, ..
            } => self.ask_to_confirm_close(&run, &command, &access).await,
            _ => self.change(&run, &command, &access).await,
        }
    }

    /// The Snooze button of a quiet-case nudge: no nudge for this case before a day from now
    /// (`nudge_after` on the case's snapshot; the poller's reconcile reads it). Changes nothing
    /// in SIR, so it needs no authorization beyond being in the case channel, and writes no
    /// audit comment (which would itself count as activity). Told in the channel.
    async fn snooze(&self, run: &Run<'_>) -> Outcome {
        match self.table.case_for_channel(run.channel()).await {
            Ok(Some(linked)) if &linked == run.case_id() => {}
            Ok(_) => {
                self.reply(
                    run,
                    Reply::ephemeral_text(format!(
                        "This channel is not linked to case {} any more; nothing was snoozed.",
                        run.case_id()
                    )),
                )
                .await;
                return Outcome::Refused;
            }
            Err(store_error) => {
                error!(case = %run.case_id(), error = %store_error, "the channel link could not be read");
                return self.table_unavailable(run, TABLE_UNAVAILABLE).await;
            }
        }
        let until = chrono::Utc::now() + chrono::Duration::hours(SNOOZE_HOURS);
        match self.table.snooze_nudges(run.case_id(), until).await {
            Ok(moved) => {
                info!(case = %run.case_id(), user = run.user(), %until, moved, "quiet-case nudges snoozed");
                self.reply(run, Reply::in_channel(snoozed_message(run.user(), until)))
                    .await;
                Outcome::Changed
            }
            Err(store_error) => {
                error!(case = %run.case_id(), error = %store_error, "the snooze could not be stored");
                self.table_unavailable(
                    run,
                    "The integration's table is unavailable right now, so the reminder was not \
                     snoozed. Please try again in a moment.",
                )
                .await
            }
        }
    }

    /// `None` when the channel is still linked to the case; otherwise the answer given.
    async fn check_link(&self, run: &Run<'_>, command: &Command) -> Option<Outcome> {
        match self.table.case_for_channel(run.channel()).await {
            Ok(Some(linked)) if &linked == run.case_id() => None,
            Ok(_) => {
                let text = format!(
                    "This channel is not linked to case {} any more, so `/security-ir {}` cannot \
                     run here.",
                    run.case_id(),
                    command.name()
                );
                Some(
                    self.refuse_with(run, command, "channel_not_linked", text)
                        .await,
                )
            }
            Err(store_error) => {
                error!(
                    case = %run.case_id(),
                    channel = run.channel(),
                    error = %store_error,
                    "the channel link could not be read"
                );
                Some(self.table_unavailable(run, TABLE_UNAVAILABLE).await)
            }
        }
    }

    async fn show_status(&self, run: &Run<'_>) -> Outcome {
        match self.sir.case(run.case_id()).await {
            Ok(case) => {
                self.reply(run, Reply::ephemeral(status::reply(&case, &self.links)))
                    .await;
                Outcome::Answered
            }
            Err(sir_error) => self.sir_failed(run, "status", &sir_error).await,
        }
    }

    async fn summarize(&self, run: &Run<'_>) -> Outcome {
        let case_id = run.case_id();
        let (case, comments, edits) = tokio::join!(
            self.sir.case(case_id),
            self.sir.comments(case_id),
            self.sir.case_edits(case_id)
        );
        match (case, comments, edits) {
            (Ok(case), Ok(comments), Ok(edits)) => {
                let content = summarize::reply(&case, &comments, &edits, &self.links);
                self.reply(run, Reply::ephemeral(content)).await;
                Outcome::Answered
            }
            (Err(sir_error), _, _) | (_, Err(sir_error), _) | (_, _, Err(sir_error)) => {
                self.sir_failed(run, "summarize", &sir_error).await
            }
        }
    }

    async fn ask_to_confirm_close(
        &self,
        run: &Run<'_>,
        command: &Command,
        access: &Access,
    ) -> Outcome {
        let case = match self.sir.case(run.case_id()).await {
            Ok(case) => case,
            Err(sir_error) => return self.sir_failed(run, "close", &sir_error).await,
        };
        if let Some(Err(reason)) = Change::plan(command, &case) {
            return self
                .refuse_with(run, command, "invalid_change", reason)
                .await;
        }
        let code_needed = match self
            .authorizer
            .step_up_configured(run.user(), command, access)
            .await
        {
            Ok(needed) => needed,
            Err(refusal) => return self.refuse(run, command, &refusal).await,
        };
        self.reply(
            run,
            Reply::ephemeral(confirmation_prompt(&case, code_needed)),
        )
        .await;
        Outcome::ConfirmationRequested
    }

    /// The command as it runs and the one-time code typed with it. A title or description
    /// ends in the code only when this person must give one for it; otherwise its last word
    /// stays text.
    async fn with_code(
        &self,
        run: &Run<'_>,
        command: &Command,
        access: &Access,
    ) -> Result<(Command, Option<Otp>), Refusal> {
        // A submitted edit modal has a field of its own for the code: its text is all text.
        if run.invocation.kind == InvocationKind::ViewSubmission {
            return Ok((command.clone(), run.invocation.one_time_code.clone()));
        }
        if matches!(
            command,
            Command::UpdateTitle { .. } | Command::UpdateDescription { .. }
        ) && self
            .authorizer
            .step_up_configured(run.user(), command, access)
            .await?
        {
            return Ok(match command.split_trailing_code() {
                Some((command, code)) => (command, Some(code)),
                // The step-up then asks for the code.
                None => (command.clone(), None),
            });
        }
        Ok((command.clone(), command.otp().cloned()))
    }

    async fn change(&self, run: &Run<'_>, typed: &Command, access: &Access) -> Outcome {
        let (command, code) = match self.with_code(run, typed, access).await {
            Ok(with_code) => with_code,
            Err(refusal) => return self.refuse(run, typed, &refusal).await,
        };
        let command = &command;
        let subcommand = command.name();
        let key = idempotency_key(run.invocation);
        let owner = uuid::Uuid::new_v4().simple().to_string();
        let progress = match self
            .table
            .claim_resumable(COMMAND_SCOPE, &key, &owner, run.lease(), claim_ttl())
            .await
        {
            Ok(Resumable::Claimed { progress }) => progress.and_then(|progress| {
                serde_json::from_str::<Progress>(&progress)
                    .map_err(|error| {
                        error!(case = %run.case_id(), %error, "the recorded progress of an earlier attempt is unreadable; starting again");
                    })
                    .ok()
            }),
            Ok(Resumable::Done) => {
                info!(
                    user = run.user(),
                    channel = run.channel(),
                    case = %run.case_id(),
                    subcommand,
                    "the same command invocation was handled before; nothing is done again"
                );
                let text = format!(
                    "This `/security-ir {subcommand}` was already received and handled; nothing \
                     was done a second time."
                );
                self.reply(run, Reply::ephemeral_text(text)).await;
                return Outcome::Duplicate;
            }
            Ok(Resumable::Held) => {
                // Another attempt is at it (or died less than its lease ago): fail, so that
                // Lambda's retry finds it done, or takes over and resumes.
                warn!(case = %run.case_id(), subcommand, "the command is held by another attempt; a retry resumes or finds it done");
                return Outcome::Unfinished;
            }
            Err(store_error) => {
                error!(case = %run.case_id(), error = %store_error, "the command could not be claimed");
                let text = "The integration's table is unavailable right now, so nothing was \
                            changed. Please try again in a moment.";
                return self.table_unavailable(run, text).await;
            }
        };
        let claim = Claimed {
            key: &key,
            owner: &owner,
        };
        let progress = match progress {
            Some(progress) => {
                info!(case = %run.case_id(), subcommand, stage = ?progress.stage, "resuming a command an earlier attempt did not finish");
                progress
            }
            None => match self.plan(run, command, code.as_ref(), access, &claim).await {
                Ok(progress) => progress,
                Err(outcome) => return outcome,
            },
        };
        // The rest must end before Lambda stops the function: what is not done by then is
        // resumed by Lambda's retry from the progress recorded.
        match tokio::time::timeout(run.time_left(), self.carry_out(run, progress, &claim)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                error!(case = %run.case_id(), subcommand, "the command ran out of time; Lambda's retry resumes it");
                Outcome::Unfinished
            }
        }
    }

    /// A new command: reads the case, plans the change, checks the one-time code, and records
    /// the plan (after the code check: a code is used once, so a retry must not need it).
    async fn plan(
        &self,
        run: &Run<'_>,
        command: &Command,
        code: Option<&Otp>,
        access: &Access,
        claim: &Claimed<'_>,
    ) -> Result<Progress, Outcome> {
        let subcommand = command.name();
        let case = match self.sir.case(run.case_id()).await {
            Ok(case) => case,
            Err(sir_error) => {
                self.release_claim(run, claim).await;
                return Err(self.sir_failed(run, subcommand, &sir_error).await);
            }
        };
        let change = match Change::plan(command, &case) {
            Some(Ok(change)) => change,
            Some(Err(reason)) => {
                return Err(self
                    .refuse_with(run, command, "invalid_change", reason)
                    .await);
            }
            None => return Err(Outcome::Failed),
        };
        if let Err(refusal) = self
            .authorizer
            .step_up(run.user(), command, code, access)
            .await
        {
            return Err(self.refuse(run, command, &refusal).await);
        }
        let progress = Progress {
            stage: Stage::Planned,
            subcommand: subcommand.to_owned(),
            change,
            announcement_marker: None,
            announcement: None,
        };
        self.record(run, claim, &progress).await?;
        Ok(progress)
    }

    /// Applies the change, writes the audit comment and announces it, each once: every step is
    /// recorded when done, and a resumed attempt skips what was done.
    async fn carry_out(
        &self,
        run: &Run<'_>,
        mut progress: Progress,
        claim: &Claimed<'_>,
    ) -> Outcome {
        let subcommand = progress.subcommand.clone();
        if progress.stage == Stage::Planned {
            if progress.announcement_marker.is_none() {
                progress.announcement_marker = self.claim_announcement(run, &progress.change).await;
            }
            if let Err(sir_error) = self.apply_once(run, &progress.change).await {
                self.release_announcement(run, progress.announcement_marker.as_deref())
                    .await;
                self.release_claim(run, claim).await;
                return self.sir_failed(run, &subcommand, &sir_error).await;
            }
            info!(
                user = run.user(),
                channel = run.channel(),
                case = %run.case_id(),
                subcommand,
                "case changed from Slack"
            );
            progress.stage = Stage::Applied;
            if let Err(outcome) = self.record(run, claim, &progress).await {
                return outcome;
            }
        }

        let profile = self.profile(run).await;
        if progress.stage == Stage::Applied {
            // The client tokens derive from the invocation: a repeated write is the same
            // comment.
            let audit = self
                .write_audit(run, &subcommand, &progress.change, &profile, claim.key)
                .await;
            if let Err(reason) = audit {
                let text = format!(
                    "The change was made, but its audit comment could not be written to the \
                     case: {reason}"
                );
                self.reply(run, Reply::ephemeral_text(text)).await;
            }
            progress.stage = Stage::Audited;
            if let Err(outcome) = self.record(run, claim, &progress).await {
                return outcome;
            }
        }

        let announcement = progress.change.announcement(&profile.display_name());
        if progress.stage == Stage::Announcing
            && let Some(text) = &progress.announcement
            && self.was_announced(run, text).await
        {
            info!(case = %run.case_id(), subcommand, "the announcement was posted by an earlier attempt");
        } else {
            progress.stage = Stage::Announcing;
            progress.announcement = announcement.text.clone();
            if let Err(outcome) = self.record(run, claim, &progress).await {
                return outcome;
            }
            let delivery = self.reply(run, Reply::in_channel(announcement)).await;
            if delivery == Delivery::Failed {
                // Nobody read it in the channel: the Slack client announces the change instead.
                self.release_announcement(run, progress.announcement_marker.as_deref())
                    .await;
            }
        }
        match self
            .table
            .complete_claim(COMMAND_SCOPE, claim.key, claim.owner, claim_ttl())
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                warn!(case = %run.case_id(), "the command claim was taken over before it was marked done")
            }
            Err(store_error) => {
                warn!(case = %run.case_id(), error = %store_error, "the command could not be marked done; a retry finds every step recorded");
            }
        }
        Outcome::Changed
    }

    /// Gives back a command's claim after a failure before SIR changed anything, so that the
    /// same invocation can run again.
    async fn release_claim(&self, run: &Run<'_>, claim: &Claimed<'_>) {
        if let Err(store_error) = self
            .table
            .release_claim(COMMAND_SCOPE, claim.key, claim.owner)
            .await
        {
            warn!(case = %run.case_id(), error = %store_error, "the command claim could not be released; it expires on its own");
        }
    }

    /// Makes the change in SIR unless the case already shows it (an earlier attempt made it
    /// and died before recording so).
    async fn apply_once(&self, run: &Run<'_>, change: &Change) -> Result<(), crate::sir::SirError> {
        let case = self.sir.case(run.case_id()).await?;
        if change.is_in_effect(&case) {
            info!(case = %run.case_id(), "the change is already in effect in SIR; not made again");
            return Ok(());
        }
        change.apply(&self.sir, run.case_id()).await
    }

    /// Whether the channel already shows the app's message `text` (an earlier attempt posted
    /// the announcement and died before recording so). Unknown counts as not posted.
    async fn was_announced(&self, run: &Run<'_>, text: &str) -> bool {
        match self.slack.recent_app_messages(run.channel()).await {
            Ok(texts) => texts.iter().any(|posted| posted == text),
            Err(slack_error) => {
                warn!(channel = run.channel(), error = %slack_error, "the channel could not be read to find an earlier announcement; posting it");
                false
            }
        }
    }

    /// Records `progress` for the claim. `Err`: the claim is not ours any more (a retry took
    /// it over: it carries on, this attempt stops), or the table failed (this attempt stops
    /// and fails, and Lambda's retry resumes from the last recorded step).
    async fn record(
        &self,
        run: &Run<'_>,
        claim: &Claimed<'_>,
        progress: &Progress,
    ) -> Result<(), Outcome> {
        let text = serde_json::to_string(progress).map_err(|error| {
            error!(case = %run.case_id(), %error, "the command's progress could not be written down");
            Outcome::Unfinished
        })?;
        match self
            .table
            .record_claim_progress(COMMAND_SCOPE, claim.key, claim.owner, &text, run.lease())
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => {
                warn!(case = %run.case_id(), "another attempt took the command over; this one stops");
                Err(Outcome::Unfinished)
            }
            Err(store_error) => {
                error!(case = %run.case_id(), error = %store_error, "the command's progress could not be recorded; Lambda's retry resumes it");
                Err(Outcome::Unfinished)
            }
        }
    }

    /// Tells the Slack client that this command announces `change` in the channel itself, so
    /// that it leaves the change out when the poller reports it (one message per change, the
    /// one naming who made it). Written before SIR is called, so that the marker exists before
    /// the poller can see the change. Returns the marker's key when this call wrote it; without
    /// a marker (the table failed) the change may be announced twice, which beats refusing it.
    async fn claim_announcement(&self, run: &Run<'_>, change: &Change) -> Option<String> {
        let key = change.announced().marker_key(run.case_id());
        let ttl = to_chrono(ANNOUNCED_CHANGE_TTL);
        match self.table.put_once(ANNOUNCED_CHANGE_SCOPE, &key, ttl).await {
            Ok(true) => Some(key),
            // Another command set the same value a moment ago: its marker covers this change.
            Ok(false) => None,
            Err(store_error) => {
                warn!(case = %run.case_id(), error = %store_error, "the announcement marker could not be written; the change may be announced twice");
                None
            }
        }
    }

    /// Removes the marker of a change that was not made or not announced, so that the Slack
    /// client announces whatever the poller reports.
    async fn release_announcement(&self, run: &Run<'_>, marker: Option<&str>) {
        let Some(key) = marker else {
            return;
        };
        if let Err(store_error) = self.table.forget_once(ANNOUNCED_CHANGE_SCOPE, key).await {
            warn!(case = %run.case_id(), error = %store_error, "the announcement marker could not be removed; it expires on its own");
        }
    }

    /// Who ran the command, as Slack names them; the handle from the payload when Slack cannot
    /// say.
    async fn profile(&self, run: &Run<'_>) -> Person {
        match self.slack.person(run.user()).await {
            Ok(profile) => profile,
            Err(slack_error) => {
                warn!(user = run.user(), error = %slack_error, "users.info failed; naming the person by handle");
                // Only naming uses this; the guest check was made (and failed closed) before.
                Person::with_handle(run.invocation.user_name.as_deref())
            }
        }
    }

    /// Writes `[Slack Update] <Real Name> (@handle, Slack ID <user ID>) ran /security-ir <sub>:
    /// <what changed>` and
    /// records its ID as written from Slack, so the poller never announces it. The client
    /// token derives from the invocation, so a repeated write is the same comment.
    async fn write_audit(
        &self,
        run: &Run<'_>,
        subcommand: &str,
        change: &Change,
        profile: &Person,
        key: &str,
    ) -> Result<(), String> {
        // Every part of a record too long for one comment names the person and the command.
        let prefix = command_audit_comment(&profile.author(run.user()), subcommand, "");
        let parts = split_sir_comment(&prefix, &change.audit_text());
        for (index, part) in parts.iter().enumerate() {
            let client_token = format!("sirslack-command-{key}-{index}");
            let comment_id = self
                .sir
                .create_comment(run.case_id(), part, &client_token)
                .await
                .map_err(|sir_error| {
                    error!(case = %run.case_id(), error = %sir_error, "the audit comment could not be written");
                    sir_error.for_people()
                })?;
            if let Err(store_error) = self
                .table
                .record_comment(run.case_id(), &comment_id, SyncOrigin::Slack)
                .await
            {
                // The `[Slack Update]` marker still keeps the poller from announcing it.
                warn!(case = %run.case_id(), comment = %comment_id, error = %store_error, "the audit comment could not be recorded");
            }
        }
        Ok(())
    }

    async fn refuse(&self, run: &Run<'_>, command: &Command, refusal: &Refusal) -> Outcome {
        if refusal.is_security() {
            log_security_refusal(
                refusal,
                run.user(),
                Asked::InChannel {
                    channel: run.channel(),
                    case: run.case_id(),
                },
                command.name(),
            );
            self.reply(run, Reply::ephemeral_text(refusal.message(command)))
                .await;
            return Outcome::Refused;
        }
        self.refuse_with(run, command, refusal.reason(), refusal.message(command))
            .await
    }

    async fn refuse_with(
        &self,
        run: &Run<'_>,
        command: &Command,
        reason: &str,
        message: String,
    ) -> Outcome {
        warn!(
            user = run.user(),
            channel = run.channel(),
            case = %run.case_id(),
            subcommand = command.name(),
            reason,
            "command refused"
        );
        self.reply(run, Reply::ephemeral_text(message)).await;
        Outcome::Refused
    }

    async fn sir_failed(
        &self,
        run: &Run<'_>,
        subcommand: &str,
        sir_error: &crate::sir::SirError,
    ) -> Outcome {
        // The person gets a short reference; the log line with the same reference has SIR's
        // full answer (which can name roles and the account).
        let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        warn!(
            user = run.user(),
            channel = run.channel(),
            case = %run.case_id(),
            subcommand,
            error = %sir_error,
            reference,
            "SIR call failed"
        );
        let told = format!(
            "{} (Reference for your administrator: {reference}.)",
            sir_error.for_people()
        );
        self.reply(run, Reply::ephemeral_text(told)).await;
        Outcome::Failed
    }

    /// Tells the person the integration's table is unavailable (`text` says what that
    /// stopped); the command failed.
    async fn table_unavailable(&self, run: &Run<'_>, text: &'static str) -> Outcome {
        self.reply(run, Reply::ephemeral_text(text)).await;
        Outcome::Failed
    }

    async fn reply(&self, run: &Run<'_>, reply: Reply) -> Delivery {
        self.responder.send(&run.target, &reply).await
    }
}

/// What the invocation asks for.
fn interpret(invocation: &CommandInvocation) -> Request {
    if invocation.kind == InvocationKind::BlockAction {
        let value = invocation
            .action_value
            .as_deref()
            .unwrap_or(&invocation.command_text)
            .trim();
        match invocation.action_id.as_deref() {
            // The menu sits in a block whose ID names the case of the message it is on: a
            // message copied or forwarded into another case's channel must not change this
            // channel's case.
            Some(STATUS_SELECT_ACTION_ID) => {
                let names_this_case = invocation.block_id.as_deref().is_none_or(|block_id| {
                    case_id_from_block_id(block_id).as_ref() == Some(&invocation.case_id)
                });
                if !names_this_case {
                    return Request::Unreadable(SlackMessageContent::new().with_text(
                        "This menu belongs to another case's message; nothing was done.".to_owned(),
                    ));
                }
                let status = status_from_option_value(value)
                    .map_or_else(|| SelfManagedStatus::parse_friendly(value), Ok);
                return match status {
                    Ok(status) => Request::Run(Command::UpdateStatus { status, otp: None }),
                    Err(error) => {
                        Request::Unreadable(SlackMessageContent::new().with_text(error.to_string()))
                    }
                };
            }
            // The case message's button asks Slack for confirmation before it is sent, and its
            // value is the case ID.
            Some(CLOSE_BUTTON_ACTION_ID) => {
                if !value.is_empty() && value != invocation.case_id.as_str() {
                    return Request::Unreadable(
                        SlackMessageContent::new().with_text(
                            "This button belongs to another case's message; nothing was done."
                                .to_owned(),
                        ),
                    );
                }
                return Request::Run(Command::Close {
                    confirmed: true,
                    otp: None,
                });
            }
            Some(CLOSE_CANCEL_ACTION_ID) => return Request::CancelClose,
            // The nudge's Snooze button carries the case ID as its value.
            Some(SNOOZE_BUTTON_ACTION_ID) => {
                if value != invocation.case_id.as_str() {
                    return Request::Unreadable(
                        SlackMessageContent::new().with_text(
                            "This button belongs to another case's message; nothing was done."
                                .to_owned(),
                        ),
                    );
                }
                return Request::Snooze;
            }
            // Other buttons (the close prompt's Confirm) carry a command line.
            _ => {}
        }
    }
    match parse_slash_command(&invocation.command_text) {
        Ok(command) => Request::Run(command),
        Err(error) => Request::Unreadable(help::parse_error_reply(&error)),
    }
}

/// A key identifying this exact invocation: the same for Lambda's retries and duplicate
/// deliveries of one payload, different for every new command or click (Slack gives each a
/// new `trigger_id`, and the events handler stamps `received_at`). The `response_url` is
/// left out: it is a capability, and never stored even hashed.
///
/// A submitted edit modal is keyed by its view instead: every submission of one modal (a
/// double click on Save, Lambda's retries) is the same command, run once.
pub fn idempotency_key(invocation: &CommandInvocation) -> String {
    let kind = match invocation.kind {
        InvocationKind::SlashCommand => "slash_command",
        InvocationKind::BlockAction => "block_action",
        InvocationKind::ViewSubmission => "view_submission",
    };
    if let (InvocationKind::ViewSubmission, Some(view_id)) =
        (invocation.kind, invocation.view_id.as_deref())
    {
        return hash_fields(&[
            kind,
            &invocation.team_id,
            &invocation.user_id,
            &invocation.channel_id,
            invocation.case_id.as_str(),
            view_id,
        ]);
    }
    let fields: [&str; 12] = [
        kind,
        &invocation.team_id,
        &invocation.user_id,
        &invocation.channel_id,
        invocation.case_id.as_str(),
        &invocation.command_text,
        invocation.trigger_id.as_deref().unwrap_or_default(),
        invocation.action_id.as_deref().unwrap_or_default(),
        invocation.action_value.as_deref().unwrap_or_default(),
        invocation.block_id.as_deref().unwrap_or_default(),
        invocation.message_ts.as_deref().unwrap_or_default(),
        &invocation.received_at.to_rfc3339(),
    ];
    hash_fields(&fields)
}

fn hash_fields(fields: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for field in fields {
        // Length-prefixed, so that no two different field lists hash the same bytes.
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Checks what later becomes part of SSM parameter names and table keys.
fn validate(invocation: &CommandInvocation) -> Result<(), InvocationError> {
    if invocation.version != COMMAND_INVOCATION_VERSION {
        return Err(InvocationError::Version(invocation.version));
    }
    for (field, value) in [
        ("user_id", &invocation.user_id),
        ("channel_id", &invocation.channel_id),
    ] {
        if !is_slack_id(value) {
            return Err(InvocationError::Malformed(format!(
                "{field} is not a Slack ID"
            )));
        }
    }
    Ok(())
}

/// Checks a Home invocation's version and person (later part of an SSM parameter name).
fn validate_home(invocation: &HomeInvocation) -> Result<(), InvocationError> {
    if invocation.version != COMMAND_INVOCATION_VERSION {
        return Err(InvocationError::Version(invocation.version));
    }
    if !is_slack_id(&invocation.user_id) {
        return Err(InvocationError::Malformed(
            "user_id is not a Slack ID".to_owned(),
        ));
    }
    Ok(())
}

/// `U0123ABCD`-like.
fn is_slack_id(id: &str) -> bool {
    (2..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Where a refused action was asked for, as a security refusal's log line names it.
enum Asked<'a> {
    /// In a form (a modal view).
    InView(&'a str),
    /// In a case's channel.
    InChannel { channel: &'a str, case: &'a CaseId },
}

/// Logs a security refusal at ERROR (seen at every log level; the deployed level is `error`)
/// and prints its metric line: wrong codes, rate-limit hits and policy denials are what an
/// operator must be able to find.
fn log_security_refusal(
    refusal: &Refusal,
    user: impl tracing::Value,
    asked: Asked<'_>,
    subcommand: &str,
) {
    let (view, channel, case) = match asked {
        Asked::InView(view) => (Some(view), None, None),
        Asked::InChannel { channel, case } => (None, Some(channel), Some(case)),
    };
    error!(
        user,
        view = view.map(tracing::field::display),
        channel,
        case = case.map(tracing::field::display),
        subcommand,
        reason = refusal.reason(),
        security = refusal.reason(),
        "security refusal"
    );
    sirslack_lambda::print_metric(&refusal.metric_line(chrono::Utc::now().timestamp_millis()));
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use sirslack_slack_router::ResponseUrl;

    use super::*;
    use sirslack_mapper::slack::case_block_id;

    fn invocation(kind: InvocationKind, text: &str) -> CommandInvocation {
        CommandInvocation {
            version: 1,
            kind,
            command: Some("/security-ir".into()),
            command_text: text.into(),
            subcommand: None,
            team_id: "T0TEAM".into(),
            user_id: "U0JANE".into(),
            user_name: Some("jane".into()),
            channel_id: "C0CASE".into(),
            case_id: CaseId::new("1234567890").unwrap(),
            response_url: ResponseUrl::new("https://hooks.slack.com/commands/secret"),
            trigger_id: Some("1.2.3".into()),
            action_id: None,
            action_value: None,
            block_id: None,
            message_ts: None,
            received_at: Utc::now(),
            view_id: None,
            one_time_code: None,
        }
    }

    fn click(action_id: &str, value: &str) -> CommandInvocation {
        let mut click = invocation(InvocationKind::BlockAction, value);
        click.command = None;
        click.action_id = Some(action_id.into());
        click.action_value = Some(value.into());
        click
    }

    fn command_of(request: Request) -> Command {
        match request {
            Request::Run(command) => command,
            _ => panic!("not a command"),
        }
    }

    #[test]
    fn slash_commands_parse_their_text() {
        assert_eq!(
            command_of(interpret(&invocation(
                InvocationKind::SlashCommand,
                "close confirm"
            ))),
            Command::Close {
                confirmed: true,
                otp: None
            }
        );
        assert!(matches!(
            interpret(&invocation(InvocationKind::SlashCommand, "resolve")),
            Request::Unreadable(_)
        ));
    }

    #[test]
    fn case_message_controls_run_the_same_commands() {
        assert_eq!(
            command_of(interpret(&click(
                STATUS_SELECT_ACTION_ID,
                "Containment, Eradication and Recovery"
            ))),
            Command::UpdateStatus {
                status: SelfManagedStatus::ContainmentEradicationAndRecovery,
                otp: None
            }
        );
        assert!(matches!(
            interpret(&click(STATUS_SELECT_ACTION_ID, "Closed")),
            Request::Unreadable(_)
        ));
        // The menu's block names its case: this channel's case runs, another case's does not.
        let mut own = click(STATUS_SELECT_ACTION_ID, "Detection and Analysis");
        own.block_id = Some(case_block_id(&own.case_id));
        assert!(matches!(interpret(&own), Request::Run(_)));
        let mut foreign = own.clone();
        foreign.block_id = Some(case_block_id(&CaseId::new("9999999999").unwrap()));
        assert!(matches!(interpret(&foreign), Request::Unreadable(_)));
        foreign.block_id = Some("not-ours".into());
        assert!(matches!(interpret(&foreign), Request::Unreadable(_)));
        assert_eq!(
            command_of(interpret(&click(CLOSE_BUTTON_ACTION_ID, "1234567890"))),
            Command::Close {
                confirmed: true,
                otp: None
            }
        );
        assert!(matches!(
            interpret(&click(CLOSE_BUTTON_ACTION_ID, "9999999999")),
            Request::Unreadable(_)
        ));
        assert!(matches!(
            interpret(&click(CLOSE_CANCEL_ACTION_ID, "cancel")),
            Request::CancelClose
        ));
        assert!(matches!(
            interpret(&click(SNOOZE_BUTTON_ACTION_ID, "1234567890")),
            Request::Snooze
        ));
        assert!(matches!(
            interpret(&click(SNOOZE_BUTTON_ACTION_ID, "9999999999")),
            Request::Unreadable(_)
        ));
        assert_eq!(
            command_of(interpret(&click("command_close_confirm", "close confirm"))),
            Command::Close {
                confirmed: true,
                otp: None
            }
        );
    }

    #[test]
    fn idempotency_keys_follow_the_payload() {
        let first = invocation(InvocationKind::SlashCommand, "update-title x");
        let retry = first.clone();
        assert_eq!(idempotency_key(&first), idempotency_key(&retry));
        assert_eq!(idempotency_key(&first).len(), 64);
        let mut again = first.clone();
        again.trigger_id = Some("4.5.6".into());
        assert_ne!(idempotency_key(&first), idempotency_key(&again));
        let mut other_url = first.clone();
        other_url.response_url = ResponseUrl::new("https://hooks.slack.com/commands/other");
        assert_eq!(idempotency_key(&first), idempotency_key(&other_url));
    }

    #[test]
    fn a_submitted_modal_is_keyed_by_its_view() {
        let mut first = invocation(InvocationKind::ViewSubmission, "update-title New title");
        first.command = None;
        first.trigger_id = None;
        first.view_id = Some("V0EDIT0001".into());
        let mut again = first.clone();
        again.received_at = Utc::now() + chrono::Duration::seconds(1);
        assert_eq!(idempotency_key(&first), idempotency_key(&again));
        let mut other_view = first.clone();
        other_view.view_id = Some("V0EDIT0002".into());
        assert_ne!(idempotency_key(&first), idempotency_key(&other_view));
        assert_eq!(
            command_of(interpret(&first)),
            Command::UpdateTitle {
                title: "New title".into()
            }
        );
    }

    #[test]
    fn slack_ids() {
        assert!(is_slack_id("U0123ABCD"));
        assert!(!is_slack_id("u0123"));
        assert!(!is_slack_id("U01/../x"));
        assert!(!is_slack_id(""));
    }
}
