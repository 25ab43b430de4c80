//! `app_home_opened` (`tab: home`): the person's Home tab, published with `views.publish`.
//!
//! The ack path only checks the event and hands the work to a lazy run (building the view
//! takes one `users.conversations` page per 200 channels, a GetItem per channel the link cache
//! does not know and a GetItem per case: more than fits in Slack's 3 seconds for a person in
//! many channels). The lazy run answers from Slack and the table, never from SIR:
//!
//! 1. `users.conversations` for the person (unarchived public and private channels; private
//!    ones only when the bot is in them, as in every case channel): Slack's own answer to
//!    "which channels is this person in", so a case whose channel they are not in is never
//!    looked at;
//! 2. per channel, the `CHANNEL#<id>` link (a GetItem by key, cached like every event's);
//! 3. per linked case, its snapshot (`CASE#<id>` / `SNAPSHOT`, a GetItem): title, status and
//!    last update as the poller last synced them; closed cases are left out;
//! 4. `views.publish` of [`sirslack_mapper::home::home_view`].
//!
//! A lazy job names its user; anyone who could forge one could only refresh that user's own
//! tab from that user's own memberships.

use serde::{Deserialize, Serialize};
use sirslack_mapper::home::{HomeCase, home_view, newest_first};
use sirslack_mapper::slack::ConsoleLinks;
use sirslack_slack_router::{
    Ack, EventCallback, EventRequest, HandOff, LazyError, LazyRequest, ListenerError, Outcome,
};
use tracing::{error, info, warn};

use crate::app::{App, SyncError};
use crate::listeners::LAZY_APP_HOME;

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct AppHomeOpened {
    user: Option<String>,
    tab: Option<String>,
}

/// The lazy work: refresh one person's Home tab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeJob {
    /// The person who opened the tab.
    pub user: String,
}

/// Why an `app_home_opened` is not answered, from the event alone: the Messages tab, or this
/// app's own bot user.
pub fn skip_reason(callback: &EventCallback) -> Option<&'static str> {
    if callback.field("tab") != Some("home") {
        return Some("not_home_tab");
    }
    let user = callback.field("user")?;
    callback
        .authorized_user_ids
        .iter()
        .any(|own| own == user)
        .then_some("own_home")
}

/// The ack path: an empty 200 and the hand-off.
pub async fn on_app_home_opened(request: EventRequest) -> Result<Outcome, ListenerError> {
    if let Some(why) = skip_reason(&request.callback) {
        return Ok(Outcome::ignored(why));
    }
    let Ok(event) = request.callback.decode::<AppHomeOpened>() else {
        return Ok(Outcome::ignored("undecodable"));
    };
    let (Some(user), Some(_)) = (event.user, event.tab) else {
        return Ok(Outcome::ignored("incomplete"));
    };
    let hand_off = HandOff::lazy(LAZY_APP_HOME, &HomeJob { user })
        .map_err(|error| ListenerError::Permanent(format!("job not serialisable: {error}")))?;
    Ok(Outcome::ack(Ack::Empty).with_hand_off(hand_off))
}

/// The lazy listener: gathers the cases and publishes the view. A transient failure fails the
/// run (Lambda retries it, then the DLQ); a permanent one is logged and dropped (the person
/// sees the tab as it was and can open it again).
pub async fn run_lazy(app: &App, request: LazyRequest) -> Result<(), LazyError> {
    let job: HomeJob = serde_json::from_value(request.payload).map_err(|error| {
        error!(%error, "lazy App Home work that is not a Home job; dropped");
        LazyError::permanent(format!("not a Home job: {error}"))
    })?;
    match publish(app, &job.user).await {
        Ok(shown) => {
            info!(user = job.user, shown, "App Home published");
            Ok(())
        }
        Err(error) if error.is_transient() => {
            warn!(user = job.user, %error, "App Home not published yet; the run fails so that it is retried");
            Err(LazyError::retryable(error.to_string()))
        }
        Err(error) => {
            error!(user = job.user, %error, "App Home could not be published");
            Err(LazyError::permanent(error.to_string()))
        }
    }
}

/// Builds and publishes `user`'s Home tab; returns how many cases it lists.
async fn publish(app: &App, user: &str) -> Result<usize, SyncError> {
    let cases = open_cases_of(app, user).await?;
    let (shown, rest) = newest_first(cases);
    let links = app
        .config
        .console_region
        .as_deref()
        .and_then(|region| ConsoleLinks::new(region).ok());
    let view = home_view(&shown, rest, links.as_ref());
    app.slack.publish_home(user, &view).await?;
    Ok(shown.len())
}

/// The open cases whose channel `user` is in: Slack's list of the person's channels, each
/// looked up in the table.
async fn open_cases_of(app: &App, user: &str) -> Result<Vec<HomeCase>, SyncError> {
    let channels = app.slack.user_channels(user).await?;
    let mut cases = Vec::new();
    for channel_id in channels {
        let Some(case_id) = app.case_for_channel(&channel_id).await? else {
            continue;
        };
        let snapshot = app.table.snapshot(&case_id).await?;
        let (title, status, updated_at) = match snapshot {
            Some(snapshot) => (
                snapshot.case.map(|case| case.title),
                snapshot.status,
                snapshot.updated_at,
            ),
            None => (None, None, None),
        };
        if status.as_ref().is_some_and(|status| status.is_closed()) {
            continue;
        }
        cases.push(HomeCase {
            case_id,
            channel_id,
            title,
            status,
            updated_at,
        });
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn opened(user: &str, tab: &str) -> EventCallback {
        EventCallback {
            team_id: "T1".into(),
            api_app_id: None,
            event_id: "Ev1".into(),
            event_time: None,
            event_type: "app_home_opened".into(),
            event: json!({"type": "app_home_opened", "user": user, "channel": "D1", "tab": tab}),
            authorized_user_ids: vec!["U0BOT".into()],
        }
    }

    #[test]
    fn only_a_person_opening_the_home_tab_is_answered() {
        assert_eq!(skip_reason(&opened("U0ALICE", "home")), None);
        assert_eq!(
            skip_reason(&opened("U0ALICE", "messages")),
            Some("not_home_tab")
        );
        assert_eq!(skip_reason(&opened("U0BOT", "home")), Some("own_home"));
        let mut no_tab = opened("U0ALICE", "home");
        no_tab.event = json!({"type": "app_home_opened", "user": "U0ALICE"});
        assert_eq!(skip_reason(&no_tab), Some("not_home_tab"));
    }

    #[test]
    fn a_home_job_round_trips_and_names_only_the_user() {
        let job = HomeJob {
            user: "U0ALICE".into(),
        };
        let value = serde_json::to_value(&job).expect("serialises");
        assert_eq!(value, json!({"user": "U0ALICE"}));
        assert_eq!(
            serde_json::from_value::<HomeJob>(value).expect("parses"),
            job
        );
    }
}
