//! Writing SIR comments for Slack activity: inline on the ack path when it fits the time
//! budget, else in a lazy invocation; in the order it happened in each channel (the channel's
//! lane, see `sirslack_store`'s lanes).
//!
//! Every comment is created with a client token derived from what it copies (channel and
//! `ts` of a message, plus the part number), so running the same job twice (a timeout on the
//! ack path, then the lazy run; a Lambda retry) creates each comment once. Every comment ID is
//! recorded as Slack-originated so the poller never copies it back to Slack.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sirslack_domain::CaseId;
use sirslack_domain::duration::to_chrono;
use sirslack_domain::marker::{member_joined_comment, member_left_comment, slack_message_comment};
use sirslack_mapper::markup::{slack_to_plain, user_ids_mentioned};
use sirslack_mapper::split::split_sir_comment;
use sirslack_slack_router::{Ack, HandOff, LazyError, LazyRequest, ListenerError, Outcome};
use sirslack_store::{LaneTake, SyncOrigin};
use tracing::{error, info, warn};

use crate::app::{App, SyncError};
use crate::listeners::{LAZY_COMMENT, notify_user};

/// Most distinct mentions resolved to names in one message (each may cost a `users.info`).
const MENTIONS_RESOLVED_MAX: usize = 10;
/// Attempts in a lazy run.
const LAZY_ATTEMPTS: u32 = 3;
/// First pause between lazy attempts (doubles each time).
const LAZY_BACKOFF: Duration = Duration::from_millis(500);
/// Longest time the ack path spends telling a person their message was refused.
const INLINE_NOTICE_BUDGET: Duration = Duration::from_millis(500);

/// One piece of Slack activity to write to SIR as comments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum CommentJob {
    /// A message (or thread reply) in a case channel.
    Message {
        /// The case.
        case_id: CaseId,
        /// The channel.
        channel: String,
        /// The message's `ts`.
        ts: String,
        /// Its author.
        user: String,
        /// Its text, with Slack markup.
        text: String,
        /// Whether it is a reply in a thread.
        is_reply: bool,
    },
    /// Someone joined or left a case channel.
    Membership {
        /// The case.
        case_id: CaseId,
        /// The channel.
        channel: String,
        /// Who.
        user: String,
        /// Joined (else left).
        joined: bool,
        /// The event's `event_ts`.
        event_ts: String,
    },
}

impl CommentJob {
    fn kind(&self) -> &'static str {
        match self {
            Self::Message { .. } => "message",
            Self::Membership { joined: true, .. } => "member_joined",
            Self::Membership { joined: false, .. } => "member_left",
        }
    }

    fn case_id(&self) -> &CaseId {
        match self {
            Self::Message { case_id, .. } | Self::Membership { case_id, .. } => case_id,
        }
    }

    /// The channel: the job's ordering lane.
    fn channel(&self) -> &str {
        match self {
            Self::Message { channel, .. } | Self::Membership { channel, .. } => channel,
        }
    }

    /// The job's place in its lane: Slack's timestamps sort as text (fixed-width seconds),
    /// and the rest makes the key unique.
    fn order_key(&self) -> String {
        match self {
            Self::Message { ts, .. } => format!("{ts}#message"),
            Self::Membership {
                event_ts,
                user,
                joined,
                ..
            } => {
                let verb = if *joined { "joined" } else { "left" };
                format!("{event_ts}#{verb}#{user}")
            }
        }
    }

    /// Who to tell when the job fails for good: the author of a message. Joins and leaves
    /// were not asked for by anyone, so only the operator hears of those.
    fn person_to_notify(&self) -> Option<(&str, &str)> {
        match self {
            Self::Message { channel, user, .. } => Some((channel, user)),
            Self::Membership { .. } => None,
        }
    }
}

/// Writes the job's comments. Safe to run more than once.
pub async fn write(app: &App, job: &CommentJob) -> Result<usize, SyncError> {
    let (parts, token_base) = match job {
        CommentJob::Message {
            channel,
            ts,
            user,
            text,
            is_reply,
            ..
        } => {
            let author = app.slack.person_or_unknown(user).await;
            let names = mention_names(app, text).await;
            let plain = slack_to_plain(text, &|id: &str| names.get(id).cloned());
            let prefix = slack_message_comment(&author.author(user), "", *is_reply);
            (
                split_sir_comment(&prefix, &plain),
                format!("slack-message-{channel}-{ts}"),
            )
        }
        CommentJob::Membership {
            channel,
            user,
            joined,
            event_ts,
            ..
        } => {
            let person = app.slack.person_or_unknown(user).await;
            if person.is_bot {
                // Bots (this app's own included) joining a channel is noise in a case.
                return Ok(0);
            }
            let author = person.author(user);
            let body = if *joined {
                member_joined_comment(&author)
            } else {
                member_left_comment(&author)
            };
            let verb = if *joined { "joined" } else { "left" };
            (
                vec![body],
                format!("slack-{verb}-{channel}-{user}-{event_ts}"),
            )
        }
    };
    write_parts(app, job.case_id(), &parts, &token_base).await
}

/// Creates `parts` in order, each with its own client token, and records them.
pub async fn write_parts(
    app: &App,
    case_id: &CaseId,
    parts: &[String],
    token_base: &str,
) -> Result<usize, SyncError> {
    for (index, part) in parts.iter().enumerate() {
        let token = client_token(token_base, index);
        let comment_id = app.sir.create_comment(case_id, part, &token).await?;
        app.table
            .record_comment(case_id, &comment_id, SyncOrigin::Slack)
            .await?;
    }
    Ok(parts.len())
}

/// SIR accepts client tokens of 1 to 255 characters.
fn client_token(base: &str, part: usize) -> String {
    let suffix = format!("-{part}");
    let room = 255 - suffix.len();
    let base: String = base.chars().take(room).collect();
    format!("{base}{suffix}")
}

async fn mention_names(app: &App, text: &str) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for id in user_ids_mentioned(text)
        .into_iter()
        .take(MENTIONS_RESOLVED_MAX)
    {
        if let Ok(person) = app.slack.person(id).await
            && let Some(name) = person.mention_name()
        {
            names.insert(id.to_owned(), name);
        }
    }
    names
}

/// Work handed to the lazy comment listener: drain a channel's ordering lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneDrain {
    /// The lane: the channel whose jobs are written in order.
    pub lane: String,
    /// The ack path that handed the job off still holds the lane under this owner: the
    /// drainer carries on with it instead of waiting for the lease to run out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

fn new_owner() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn lease(duration: Duration) -> chrono::Duration {
    to_chrono(duration)
}

/// Queued jobs live this long at most; a drain always comes well before.
fn queued_job_ttl() -> chrono::Duration {
    chrono::Duration::days(1)
}

/// The ack path. Comments of one channel reach SIR in the order they were said, so the
/// channel's lane is taken first: when it is idle the comments are written inline if that
/// finishes within the inline budget (counted from when the request arrived); otherwise (the
/// lane is busy, the budget ran out, a transient failure) the job is queued in the lane and
/// a lazy invocation drains it, in order. A permanent failure is told to the author and the
/// operator.
pub async fn inline_or_hand_off(
    app: &App,
    job: CommentJob,
    received: Instant,
) -> Result<Outcome, ListenerError> {
    let lane = job.channel().to_owned();
    let owner = new_owner();
    let transient = |error: sirslack_store::StoreError| ListenerError::Transient(error.to_string());
    let idle = app
        .table
        .take_lane(
            &lane,
            &owner,
            LaneTake::IfIdle,
            lease(app.config.inline_lane_lease),
        )
        .await
        .map_err(transient)?;
    if !idle {
        info!(job = job.kind(), "channel lane busy; queued behind it");
        queue(app, &job).await.map_err(transient)?;
        return drain_hand_off(lane, None, "queued_behind");
    }
    let remaining = app.config.inline_budget.saturating_sub(received.elapsed());
    let result = tokio::time::timeout(remaining, write(app, &job)).await;
    let reason = match result {
        Ok(Ok(parts)) => {
            info!(job = job.kind(), case_id = %job.case_id(), parts, "copied to SIR inline");
            give_back(app, &lane, &owner).await;
            return Ok(Outcome::ack(Ack::Empty).with_note("synced"));
        }
        Ok(Err(error)) if !error.is_transient() => {
            error!(job = job.kind(), case_id = %job.case_id(), %error, "SIR refused a comment");
            give_back(app, &lane, &owner).await;
            if let Some((channel, user)) = job.person_to_notify() {
                let notice = refused_notice(job.case_id(), &error);
                let _ = tokio::time::timeout(
                    INLINE_NOTICE_BUDGET,
                    notify_user(app, channel, user, &notice),
                )
                .await;
            }
            return Ok(Outcome::ignored("sir_refused"));
        }
        Ok(Err(error)) => {
            warn!(job = job.kind(), %error, "inline copy failed; handing off");
            "transient_failure"
        }
        Err(_) => {
            info!(job = job.kind(), "inline budget used up; handing off");
            "over_budget"
        }
    };
    if let Err(error) = queue(app, &job).await {
        give_back(app, &lane, &owner).await;
        return Err(transient(error));
    }
    // The lane stays taken: the drainer carries on as its owner, so nothing said after this
    // job can be written before it.
    drain_hand_off(lane, Some(owner), reason)
}

async fn queue(app: &App, job: &CommentJob) -> Result<(), sirslack_store::StoreError> {
    let body =
        serde_json::to_string(job).map_err(|error| sirslack_store::StoreError::Malformed {
            item: format!("lane job {}", job.order_key()),
            reason: error.to_string(),
        })?;
    app.table
        .queue_lane_job(job.channel(), &job.order_key(), &body, queued_job_ttl())
        .await
}

async fn give_back(app: &App, lane: &str, owner: &str) {
    if let Err(error) = app.table.give_back_lane(lane, owner).await {
        // The lease runs out on its own; until then later messages are queued, not lost.
        warn!(%error, "could not give a channel lane back");
    }
}

fn drain_hand_off(
    lane: String,
    owner: Option<String>,
    note: &'static str,
) -> Result<Outcome, ListenerError> {
    let hand_off = HandOff::lazy(LAZY_COMMENT, &LaneDrain { lane, owner })
        .map_err(|error| ListenerError::Permanent(format!("drain not serialisable: {error}")))?;
    Ok(Outcome::ack(Ack::Empty)
        .with_hand_off(hand_off)
        .with_note(note))
}

/// Most jobs read from a lane at once.
const DRAIN_PAGE: i32 = 25;
/// Pause between looks at a lane someone else holds (or at a count with no job behind it).
const LANE_POLL: Duration = Duration::from_millis(250);
/// How long a count may stand with no job behind it before a drainer takes it for a crashed
/// writer's: a live one writes the job right after counting it.
const LANE_COUNT_SETTLE: Duration = Duration::from_secs(2);

/// The lazy listener: drains a channel's lane (and still runs a bare job, as handed off by an
/// earlier release). A job that cannot be written yet stays queued, the lane is given back and
/// the failure is retryable, so Lambda runs the drain again (then the DLQ and its alarm), and
/// the lane sweep picks it up after that.
pub async fn run_lazy(app: &App, request: LazyRequest) -> Result<(), LazyError> {
    if let Ok(job) = serde_json::from_value::<CommentJob>(request.payload.clone()) {
        let age = chrono::Utc::now() - request.handed_off_at;
        return match run_job(app, &job, age).await {
            JobEnd::Written | JobEnd::GaveUp => Ok(()),
            JobEnd::Retry(error) => Err(LazyError::retryable(error.to_string())),
        };
    }
    let drain: LaneDrain = serde_json::from_value(request.payload).map_err(|error| {
        error!(%error, "lazy comment work that is neither a job nor a lane drain; dropped");
        LazyError::permanent(format!("not a comment job or lane drain: {error}"))
    })?;
    drain_lane(app, drain).await.map(|_| ())
}

/// What a lane sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Lanes registered as having had waiting jobs.
    pub lanes_seen: usize,
    /// Lanes with waiting jobs and nobody holding them, drained.
    pub lanes_drained: usize,
    /// Lanes found idle and empty, forgotten.
    pub lanes_forgotten: usize,
    /// Lanes whose drain failed (their jobs stay queued for the next sweep).
    pub lanes_failed: usize,
}

/// The scheduled lane sweep: drains every lane that has waiting jobs and nobody holding it (a
/// drainer that failed or died, a hand-off that never arrived), and forgets lanes found idle.
/// Every lane is tried; if any drain failed, the sweep fails (retryable), so Lambda retries it
/// and the Errors alarm sees it.
pub async fn sweep_lanes(app: &App) -> Result<SweepReport, LazyError> {
    let registered = app
        .table
        .registered_lanes()
        .await
        .map_err(|error| LazyError::retryable(error.to_string()))?;
    let mut report = SweepReport {
        lanes_seen: registered.len(),
        ..SweepReport::default()
    };
    let mut last_failure = None;
    for registration in registered {
        let lane = registration.lane.clone();
        let state = match app.table.lane_state(&lane).await {
            Ok(state) => state,
            Err(error) => {
                warn!(lane, %error, "lane sweep could not read a lane");
                report.lanes_failed += 1;
                last_failure = Some(error.to_string());
                continue;
            }
        };
        if state.held {
            // Its holder writes what waits, or its lease runs out and the next sweep does.
            continue;
        }
        if state.waiting <= 0 {
            match app.table.forget_lane(&registration).await {
                Ok(true) => report.lanes_forgotten += 1,
                Ok(false) => {}
                Err(error) => warn!(lane, %error, "lane sweep could not forget an idle lane"),
            }
            continue;
        }
        info!(
            lane,
            waiting = state.waiting,
            "lane sweep: jobs wait with nobody draining"
        );
        match drain_lane(
            app,
            LaneDrain {
                lane: lane.clone(),
                owner: None,
            },
        )
        .await
        {
            Ok(_) => report.lanes_drained += 1,
            Err(error) => {
                report.lanes_failed += 1;
                last_failure = Some(error.message);
            }
        }
    }
    match last_failure {
        None => Ok(report),
        Some(message) => Err(LazyError::retryable(format!(
            "{} of {} channel lanes could not be drained (last: {message})",
            report.lanes_failed, report.lanes_seen
        ))),
    }
}

/// Takes the lane (waiting while another holds it, unless the lane empties meanwhile), then
/// writes its jobs in order until none is left. Whatever goes wrong after the lane is taken,
/// it is given back before the (retryable) error is returned, so the next drain, a Lambda
/// retry or the sweep need not wait for the lease to run out. `Ok(false)`: someone else
/// drains it.
async fn drain_lane(app: &App, drain: LaneDrain) -> Result<bool, LazyError> {
    let lane = drain.lane;
    let owner = drain.owner.unwrap_or_else(new_owner);
    if !take_to_drain(app, &lane, &owner).await? {
        return Ok(false);
    }
    match drain_taken(app, &lane, &owner).await {
        Ok(()) => Ok(true),
        Err(error) => {
            give_back(app, &lane, &owner).await;
            error!(lane, %error, "channel lane drain failed; its jobs stay queued and the lane was given back");
            Err(error)
        }
    }
}

fn store_failure(error: sirslack_store::StoreError) -> LazyError {
    LazyError::retryable(error.to_string())
}

/// `false`: nothing to do (another drainer holds the lane, or nothing waits).
async fn take_to_drain(app: &App, lane: &str, owner: &str) -> Result<bool, LazyError> {
    let lease = lease(app.config.drain_lane_lease);
    let give_up_at = Instant::now() + app.config.drain_lane_lease + Duration::from_secs(10);
    loop {
        if app
            .table
            .take_lane(lane, owner, LaneTake::ToDrain, lease)
            .await
            .map_err(store_failure)?
        {
            return Ok(true);
        }
        // A live drainer writes everything queued before it gives the lane back; an ack path
        // holding the lane for an inline copy does not, so this drain waits for it.
        let state = app.table.lane_state(lane).await.map_err(store_failure)?;
        if state.draining || state.waiting <= 0 {
            return Ok(false);
        }
        if Instant::now() > give_up_at {
            error!(
                lane,
                "channel lane held too long; its jobs wait for the next drain or sweep"
            );
            return Err(LazyError::retryable("channel lane held too long"));
        }
        tokio::time::sleep(LANE_POLL).await;
    }
}

/// Drains a lane `owner` holds. Returns when the lane was given back empty, or lost to
/// another drainer.
async fn drain_taken(app: &App, lane: &str, owner: &str) -> Result<(), LazyError> {
    let lease = lease(app.config.drain_lane_lease);
    let mut written = 0usize;
    // A count with nothing behind it: since when, at what value.
    let mut counted_missing: Option<(i64, Instant)> = None;
    loop {
        let jobs = app
            .table
            .lane_jobs(lane, DRAIN_PAGE)
            .await
            .map_err(store_failure)?;
        if jobs.is_empty() {
            if app
                .table
                .finish_draining_lane(lane, owner)
                .await
                .map_err(store_failure)?
            {
                info!(lane, written, "channel lane drained");
                return Ok(());
            }
            // Counted but not there: a job being queued this instant (it shows in a moment),
            // or one whose writer crashed between counting and writing it (it never will).
            let counted = app
                .table
                .lane_state(lane)
                .await
                .map_err(store_failure)?
                .waiting;
            match counted_missing {
                Some((seen, since)) if seen == counted && since.elapsed() >= LANE_COUNT_SETTLE => {
                    if app
                        .table
                        .uncount_lost_lane_jobs(lane, owner, counted)
                        .await
                        .map_err(store_failure)?
                    {
                        warn!(
                            lane,
                            counted, "uncounted channel lane jobs that never arrived"
                        );
                    }
                    counted_missing = None;
                }
                Some((seen, _)) if seen == counted => {}
                _ => counted_missing = Some((counted, Instant::now())),
            }
            tokio::time::sleep(LANE_POLL).await;
            continue;
        }
        counted_missing = None;
        for queued in jobs {
            if !app
                .table
                .take_lane(lane, owner, LaneTake::ToDrain, lease)
                .await
                .map_err(store_failure)?
            {
                // Our lease ran out and another drainer took over: it carries on.
                warn!(lane, "lost a channel lane to another drainer");
                return Ok(());
            }
            match serde_json::from_str::<CommentJob>(&queued.body) {
                Ok(job) => {
                    // A job queued by an older release has no time: counted as old, so a
                    // failure is told to its author rather than kept.
                    let age = queued
                        .queued_at
                        .map_or(chrono::Duration::MAX, |at| chrono::Utc::now() - at);
                    match run_job(app, &job, age).await {
                        // Failed for good: told to the author and the operator; the lane
                        // moves on.
                        JobEnd::Written | JobEnd::GaveUp => {}
                        // Not yet: the job stays first in its lane, in order.
                        JobEnd::Retry(error) => {
                            return Err(LazyError::retryable(format!(
                                "a queued comment could not be written yet: {error}"
                            )));
                        }
                    }
                }
                Err(error) => {
                    error!(lane, order = queued.order, %error, "unreadable job in a channel lane; removed");
                }
            }
            app.table
                .finish_lane_job(lane, &queued.order)
                .await
                .map_err(store_failure)?;
            written += 1;
        }
    }
}

/// How a job run ended.
#[derive(Debug)]
enum JobEnd {
    /// Its comments are in SIR.
    Written,
    /// Failed for good: its author (if any) and the operator were told.
    GaveUp,
    /// Failed for now, and young enough to be tried again later: nobody was told yet.
    Retry(SyncError),
}

/// Writes one job: retries transient failures a few times; then, if the job is younger than
/// the give-up age, leaves it for a later run ([`JobEnd::Retry`]); otherwise (or on a
/// permanent failure) tells the author and the operator.
async fn run_job(app: &App, job: &CommentJob, age: chrono::Duration) -> JobEnd {
    match app.link_holds(job.channel(), job.case_id()).await {
        Ok(true) => {}
        Ok(false) => {
            // Nobody is told: the job may be forged, and its author is whoever it names.
            error!(job = job.kind(), case_id = %job.case_id(), channel = job.channel(), "lazy job names a channel not linked to its case; dropped");
            return JobEnd::GaveUp;
        }
        Err(error) => return JobEnd::Retry(SyncError::Store(error)),
    }
    let mut pause = LAZY_BACKOFF;
    let mut attempt = 1;
    loop {
        match write(app, job).await {
            Ok(parts) => {
                info!(job = job.kind(), case_id = %job.case_id(), parts, attempt, "copied to SIR");
                return JobEnd::Written;
            }
            Err(error) if error.is_transient() && attempt < LAZY_ATTEMPTS => {
                warn!(job = job.kind(), %error, attempt, "copy to SIR failed; retrying");
                tokio::time::sleep(error.retry_after().unwrap_or(pause).max(pause)).await;
                pause *= 2;
                attempt += 1;
            }
            Err(error) if error.is_transient() && !too_old(app, age) => {
                warn!(
                    job = job.kind(),
                    case_id = %job.case_id(),
                    %error,
                    attempt,
                    age_s = age.num_seconds(),
                    "copy to SIR failed; kept for a later run"
                );
                return JobEnd::Retry(error);
            }
            Err(error) => {
                error!(
                    job = job.kind(),
                    case_id = %job.case_id(),
                    %error,
                    attempt,
                    age_s = age.num_seconds(),
                    "copy to SIR failed for good"
                );
                if let Some((channel, user)) = job.person_to_notify() {
                    notify_user(app, channel, user, &refused_notice(job.case_id(), &error)).await;
                }
                return JobEnd::GaveUp;
            }
        }
    }
}

fn too_old(app: &App, age: chrono::Duration) -> bool {
    age >= to_chrono(app.config.lane_job_give_up)
}

fn refused_notice(case_id: &CaseId, error: &SyncError) -> String {
    format!(
        "Your message could not be copied to SIR case {case_id}: {}. Please post it again, or \
         add it in the SIR console.",
        error.for_people()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tokens_fit_sir() {
        assert_eq!(
            client_token("slack-message-C1-1.2", 0),
            "slack-message-C1-1.2-0"
        );
        let long = client_token(&"x".repeat(400), 12);
        assert_eq!(long.chars().count(), 255);
        assert!(long.ends_with("-12"));
    }

    #[test]
    fn jobs_round_trip() {
        let job = CommentJob::Membership {
            case_id: "1234567890".parse().unwrap(),
            channel: "C1".into(),
            user: "U1".into(),
            joined: true,
            event_ts: "1.2".into(),
        };
        let value = serde_json::to_value(&job).unwrap();
        assert_eq!(value["job"], "membership");
        assert_eq!(serde_json::from_value::<CommentJob>(value).unwrap(), job);
    }
}
