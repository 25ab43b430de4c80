//! `app_home_opened` (`tab: home`): the person's Home tab.
//!
//! The ack path only checks the event and hands it to the command handler (an async
//! `lambda:Invoke` with a [`HomeInvocation`]), which builds and publishes the tab: besides the
//! open cases whose channel the person is in (Slack's `users.conversations` and the table,
//! never SIR), the tab shows what the command policy lets the person run and whether they are
//! enrolled for one-time codes, which only the command handler may read.

use serde::Deserialize;
use sirslack_slack_router::{
    Ack, EventCallback, EventRequest, HandOff, HomeInvocation, ListenerError, Outcome,
};

use crate::app::App;

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct AppHomeOpened {
    user: Option<String>,
    tab: Option<String>,
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

/// The ack path: an empty 200 and the hand-off to the command handler.
pub async fn on_app_home_opened(
    app: &App,
    request: EventRequest,
) -> Result<Outcome, ListenerError> {
    if let Some(why) = skip_reason(&request.callback) {
        return Ok(Outcome::ignored(why));
    }
    let Ok(event) = request.callback.decode::<AppHomeOpened>() else {
        return Ok(Outcome::ignored("undecodable"));
    };
    let (Some(user), Some(_)) = (event.user, event.tab) else {
        return Ok(Outcome::ignored("incomplete"));
    };
    let invocation = HomeInvocation::new(&request.callback.team_id, &user, request.received_at);
    let hand_off =
        HandOff::function(&app.config.command_handler_function, &invocation).map_err(|error| {
            ListenerError::Permanent(format!("invocation not serialisable: {error}"))
        })?;
    Ok(Outcome::ack(Ack::Empty).with_hand_off(hand_off))
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
    fn a_home_invocation_names_only_the_person_and_the_workspace() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-01T12:00:00Z")
            .expect("date")
            .with_timezone(&chrono::Utc);
        let value = serde_json::to_value(HomeInvocation::new("T1", "U0ALICE", at)).expect("json");
        assert_eq!(
            value,
            json!({"version": 1, "kind": "home", "team_id": "T1", "user_id": "U0ALICE",
                   "received_at": "2026-01-01T12:00:00Z"})
        );
    }
}
