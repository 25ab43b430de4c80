//! Writing SIR comments for Slack activity: inline on the ack path when it fits the time
//! budget, else in a lazy invocation.
//!
//! Every comment is created with a client token derived from what it copies (channel and
//! `ts` of a message, plus the part number), so running the same job twice (a timeout on the
//! ack path, then the lazy run; a Lambda retry) creates each comment once. Every comment ID is
//! recorded as Slack-originated so the poller never copies it back to Slack.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sirslack_domain::CaseId;
use sirslack_domain::marker::{member_joined_comment, member_left_comment, slack_message_comment};
use sirslack_mapper::markup::{slack_to_plain, user_ids_mentioned};
use sirslack_mapper::split::split_sir_comment;
use sirslack_slack_router::{Ack, HandOff, LazyError, LazyRequest, ListenerError, Outcome};
use sirslack_store::SyncOrigin;
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
            let prefix = slack_message_comment(
                author.real_name.as_deref(),
                author.handle.as_deref(),
                "",
                *is_reply,
            );
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
            let (real_name, handle) = (person.real_name.as_deref(), person.handle.as_deref());
            let body = if *joined {
                member_joined_comment(real_name, handle)
            } else {
                member_left_comment(real_name, handle)
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

/// The ack path: writes the comments if that finishes within the inline budget (counted from
/// when the request arrived); otherwise, or on a transient failure, hands the job to a lazy
/// invocation. A permanent failure is told to the author and the operator.
pub async fn inline_or_hand_off(
    app: &App,
    job: CommentJob,
    received: Instant,
) -> Result<Outcome, ListenerError> {
    let remaining = app.config.inline_budget.saturating_sub(received.elapsed());
    let result = tokio::time::timeout(remaining, write(app, &job)).await;
    let reason = match result {
        Ok(Ok(parts)) => {
            info!(job = job.kind(), case_id = %job.case_id(), parts, "copied to SIR inline");
            return Ok(Outcome::ack(Ack::Empty).with_note("synced"));
        }
        Ok(Err(error)) if !error.is_transient() => {
            error!(job = job.kind(), case_id = %job.case_id(), %error, "SIR refused a comment");
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
    let hand_off = HandOff::lazy(LAZY_COMMENT, &job)
        .map_err(|error| ListenerError::Permanent(format!("job not serialisable: {error}")))?;
    Ok(Outcome::ack(Ack::Empty)
        .with_hand_off(hand_off)
        .with_note(reason))
}

/// The lazy listener: retries transient failures, then tells the author and the operator.
pub async fn run_lazy(app: &App, request: LazyRequest) -> Result<(), LazyError> {
    let job: CommentJob = serde_json::from_value(request.payload)
        .map_err(|error| LazyError(format!("not a comment job: {error}")))?;
    let mut pause = LAZY_BACKOFF;
    let mut attempt = 1;
    loop {
        match write(app, &job).await {
            Ok(parts) => {
                info!(job = job.kind(), case_id = %job.case_id(), parts, attempt, "copied to SIR");
                return Ok(());
            }
            Err(error) if error.is_transient() && attempt < LAZY_ATTEMPTS => {
                warn!(job = job.kind(), %error, attempt, "copy to SIR failed; retrying");
                tokio::time::sleep(error.retry_after().unwrap_or(pause).max(pause)).await;
                pause *= 2;
                attempt += 1;
            }
            Err(error) => {
                error!(
                    job = job.kind(),
                    case_id = %job.case_id(),
                    %error,
                    attempt,
                    "copy to SIR failed for good"
                );
                if let Some((channel, user)) = job.person_to_notify() {
                    notify_user(app, channel, user, &refused_notice(job.case_id(), &error)).await;
                }
                return Err(LazyError(error.to_string()));
            }
        }
    }
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
