//! `member_joined_channel` / `member_left_channel`: SIR system comments
//! `[Slack Update] Jane Doe joined the Slack channel` (and left).

use serde::Deserialize;
use sirslack_slack_router::{EventCallback, EventRequest, ListenerError, Outcome};

use crate::app::App;
use crate::listeners::comment::{CommentJob, inline_or_hand_off};
use crate::listeners::linked_case;

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct MembershipEvent {
    user: Option<String>,
    channel: Option<String>,
    event_ts: Option<String>,
}

/// Why a join/leave is not copied, decided from the event alone: this app's own bot user.
pub fn skip_reason(callback: &EventCallback) -> Option<&'static str> {
    let user = callback.field("user")?;
    callback
        .authorized_user_ids
        .iter()
        .any(|own| own == user)
        .then_some("own_membership")
}

/// The listener for both events; `joined` tells which.
pub async fn on_membership(
    app: &App,
    request: EventRequest,
    joined: bool,
) -> Result<Outcome, ListenerError> {
    let Ok(event) = request.callback.decode::<MembershipEvent>() else {
        return Ok(Outcome::ignored("undecodable"));
    };
    let (Some(user), Some(channel)) = (event.user, event.channel) else {
        return Ok(Outcome::ignored("incomplete"));
    };
    if request.callback.authorized_user_ids.contains(&user) {
        return Ok(Outcome::ignored("own_membership"));
    }
    let case_id = linked_case(app, &channel).await?;
    let Some(case_id) = case_id else {
        return Ok(Outcome::ignored("unlinked_channel"));
    };
    let event_ts = event
        .event_ts
        .unwrap_or_else(|| request.callback.event_id.clone());
    let job = CommentJob::Membership {
        case_id,
        channel,
        user,
        joined,
        event_ts,
    };
    inline_or_hand_off(app, job, request.received).await
}
