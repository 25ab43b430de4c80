//! The Slack client: from integration events to a living incident channel per case.
//!
//! The poller publishes [`sirslack_domain::IntegrationEvent`]s on the integration bus; an
//! EventBridge rule sends them to a standard SQS queue, and this function receives them in
//! batches ([`Handler::handle`]) and applies each case's events, in sequence order, to the
//! case's Slack channel:
//!
//! - `CaseCreated`: claim the case, create the channel (private unless configured public;
//!   adopt it on `name_taken` when it is ours and not archived, else try the next bounded
//!   name), set topic and purpose, link channel and case both ways, invite the watchers, post
//!   the initial message, and note the channel in SIR;
//! - `CaseUpdated`: one message listing every change; topic and purpose refreshed; a
//!   re-opened case whose channel is archived gets a new channel (a bot cannot unarchive);
//! - `WatchersChanged`: invite the new watchers, say who left (removing them is optional);
//! - `CommentAdded`: the comment, with author and time, split to Slack's limits in order;
//! - `AttachmentAdded`: the file streamed from SIR to Slack, or a notice when over the cap;
//! - `CaseClosed`: the closing message, the topic, and the channel archived (optional);
//! - `CaseQuiet`: one nudge in the channel (how long quiet, status menu, Snooze button); never
//!   a channel of its own.
//!
//! A case without a channel gets one on its next event. Slack errors are classified
//! (`sirslack_slack_api::ErrorClass`): rate limits and outages are retried, refusals are
//! reported in the log and in SIR, an invalid token tells the operator to rotate it. See
//! `docs/slack-client.md` for ordering, idempotency and their limits.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod apply;
mod channel;
pub mod config;
pub mod envelope;
mod failure;
mod handler;
pub mod messages;
pub mod redelivery;
pub mod sir;
mod transfer;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use apply::{POST_MARKER_TTL_DAYS, POST_SCOPE};
pub use config::{ChannelVisibility, Config, ConfigError};
pub use failure::Failure;
pub use handler::{Handler, Services, SetupError, lease_name};
pub use redelivery::RedeliverySchedule;
pub use sirslack_slack_api::Deadline;

/// The deadline to work to, from the Lambda context's deadline (epoch milliseconds), less
/// `margin` for answering.
pub fn deadline_from_epoch_millis(deadline_ms: u64, margin: Duration) -> Deadline {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    Deadline::after(left.saturating_sub(margin))
}
