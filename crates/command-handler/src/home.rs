//! The App Home tab (`app_home_opened` -> a [`HomeInvocation`] from the events handler ->
//! `views.publish`).
//!
//! For the person who opened it, from Slack and the table only (never SIR):
//!
//! 1. `users.conversations` for the person (unarchived public and private channels; private
//!    ones only when the bot is in them, as in every case channel): Slack's own answer to
//!    "which channels is this person in", so a case whose channel they are not in is never
//!    looked at;
//! 2. per channel, the `CHANNEL#<id>` link (a GetItem by key);
//! 3. per linked case, its snapshot (`CASE#<id>` / `SNAPSHOT`, a GetItem): title, status and
//!    last update as the poller last synced them; closed cases are left out;
//! 4. what the command policy lets the person run and whether they are enrolled for one-time
//!    codes ([`Authorizer::home_access`]);
//! 5. `views.publish` of [`home_view`].
//!
//! A failure fails the invocation (Lambda retries it twice, then the DLQ, whose alarm tells
//! the operator); the person still sees their previous tab and can open it again.

use sirslack_domain::CaseInChannel;
use sirslack_mapper::home::{home_view, newest_first};
use sirslack_mapper::slack::ConsoleLinks;
use sirslack_slack_router::HomeInvocation;
use sirslack_store::{StoreError, Table};
use tracing::info;

use crate::authorize::Authorizer;
use crate::slack::{Slack, SlackError};

/// The tab could not be built or published.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// Slack refused or did not answer (`users.conversations`, `views.publish`).
    #[error("Slack: {0}")]
    Slack(#[from] SlackError),
    /// The table could not be read.
    #[error("the table: {0}")]
    Store(#[from] StoreError),
}

/// Builds and publishes the Home tab of the invocation's person; returns how many cases it
/// lists.
pub async fn publish(
    slack: &Slack,
    table: &Table,
    authorizer: &Authorizer,
    links: &ConsoleLinks,
    invocation: &HomeInvocation,
) -> Result<usize, HomeError> {
    let user = invocation.user_id.as_str();
    let cases = open_cases_of(slack, table, user).await?;
    let (shown, rest) = newest_first(cases);
    let access = authorizer.home_access(user).await;
    let view = home_view(&shown, rest, Some(links), &access);
    slack.publish_home(user, &view).await?;
    info!(user, shown = shown.len(), rest, "App Home published");
    Ok(shown.len())
}

/// The open cases whose channel `user` is in: Slack's list of the person's channels, each
/// looked up in the table.
async fn open_cases_of(
    slack: &Slack,
    table: &Table,
    user: &str,
) -> Result<Vec<CaseInChannel>, HomeError> {
    let channels = slack.user_channels(user).await?;
    Ok(table.open_cases_in_channels(&channels).await?)
}
