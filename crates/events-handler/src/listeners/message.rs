//! `message` events: people's messages in case channels become SIR comments.

use serde::Deserialize;
use sirslack_slack_router::{EventCallback, EventRequest, ListenerError, Outcome};

use crate::app::App;
use crate::listeners::comment::{CommentJob, inline_or_hand_off};
use crate::listeners::linked_case;

/// Subtypes that are a person saying something. Everything else (edits, deletions, joins,
/// topic changes, bot posts, file shares (handled by `file_shared`), and subtypes Slack adds
/// later) is acknowledged and left alone.
const SYNCED_SUBTYPES: [&str; 2] = ["thread_broadcast", "me_message"];

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct MessageEvent {
    channel: Option<String>,
    channel_type: Option<String>,
    user: Option<String>,
    text: Option<String>,
    ts: Option<String>,
    thread_ts: Option<String>,
    subtype: Option<String>,
    bot_id: Option<String>,
    app_id: Option<String>,
    hidden: Option<bool>,
}

/// A message worth copying.
struct Copyable {
    channel: String,
    user: String,
    text: String,
    ts: String,
    is_reply: bool,
}

impl MessageEvent {
    /// The message, or the fixed word saying why it is skipped (for the request log).
    fn copyable(self, own_user_ids: &[String]) -> Result<Copyable, &'static str> {
        if let Some(subtype) = self.subtype.as_deref()
            && !SYNCED_SUBTYPES.contains(&subtype)
        {
            return Err(match subtype {
                "bot_message" => "bot_message",
                "file_share" => "file_share",
                _ => "subtype",
            });
        }
        // Every bot is skipped, this app's own posts first of all: syncing another
        // integration's bot could ping-pong with it.
        if self.bot_id.is_some() || self.app_id.is_some() {
            return Err("bot_message");
        }
        if self.hidden == Some(true) {
            return Err("hidden");
        }
        if matches!(self.channel_type.as_deref(), Some("im" | "mpim")) {
            return Err("direct_message");
        }
        let user = self.user.ok_or("no_user")?;
        if own_user_ids.contains(&user) {
            return Err("own_message");
        }
        let text = self
            .text
            .filter(|text| !text.trim().is_empty())
            .ok_or("empty")?;
        let channel = self.channel.ok_or("no_channel")?;
        let ts = self.ts.ok_or("no_ts")?;
        let is_reply = self
            .thread_ts
            .as_deref()
            .is_some_and(|thread_ts| thread_ts != ts);
        Ok(Copyable {
            channel,
            user,
            text,
            ts,
            is_reply,
        })
    }
}

/// Why a `message` event is not copied, decided from the event alone (no I/O).
pub fn skip_reason(callback: &EventCallback) -> Option<&'static str> {
    match callback.decode::<MessageEvent>() {
        Ok(event) => event.copyable(&callback.authorized_user_ids).err(),
        Err(_) => Some("undecodable"),
    }
}

/// The `message` listener.
pub async fn on_message(app: &App, request: EventRequest) -> Result<Outcome, ListenerError> {
    let Ok(event) = request.callback.decode::<MessageEvent>() else {
        return Ok(Outcome::ignored("undecodable"));
    };
    let message = match event.copyable(&request.callback.authorized_user_ids) {
        Ok(message) => message,
        Err(why) => return Ok(Outcome::ignored(why)),
    };
    let case_id = linked_case(app, &message.channel).await?;
    let Some(case_id) = case_id else {
        return Ok(Outcome::ignored("unlinked_channel"));
    };
    let job = CommentJob::Message {
        case_id,
        channel: message.channel,
        ts: message.ts,
        user: message.user,
        text: message.text,
        is_reply: message.is_reply,
    };
    inline_or_hand_off(app, job, request.received).await
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn verdict(event: Value) -> Result<bool, &'static str> {
        let event: MessageEvent = serde_json::from_value(event).unwrap();
        event
            .copyable(&["UBOT".to_owned()])
            .map(|message| message.is_reply)
    }

    fn message() -> Value {
        json!({ "type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.1" })
    }

    #[test]
    fn people_s_messages_and_replies_are_copied() {
        assert_eq!(verdict(message()), Ok(false));
        let mut reply = message();
        reply["thread_ts"] = json!("0.9");
        assert_eq!(verdict(reply), Ok(true));
        let mut parent = message();
        parent["thread_ts"] = json!("1.1");
        assert_eq!(verdict(parent), Ok(false));
        let mut broadcast = message();
        broadcast["subtype"] = json!("thread_broadcast");
        broadcast["thread_ts"] = json!("0.9");
        assert_eq!(verdict(broadcast), Ok(true));
    }

    #[test]
    fn everything_else_is_skipped() {
        let with = |field: &str, value: Value| {
            let mut event = message();
            event[field] = value;
            verdict(event)
        };
        assert_eq!(with("subtype", json!("message_changed")), Err("subtype"));
        assert_eq!(with("subtype", json!("message_deleted")), Err("subtype"));
        assert_eq!(with("subtype", json!("channel_join")), Err("subtype"));
        assert_eq!(with("subtype", json!("brand_new_2031")), Err("subtype"));
        assert_eq!(with("subtype", json!("bot_message")), Err("bot_message"));
        assert_eq!(with("subtype", json!("file_share")), Err("file_share"));
        assert_eq!(with("bot_id", json!("B1")), Err("bot_message"));
        assert_eq!(with("app_id", json!("A1")), Err("bot_message"));
        assert_eq!(with("user", json!("UBOT")), Err("own_message"));
        assert_eq!(with("text", json!("   ")), Err("empty"));
        assert_eq!(with("hidden", json!(true)), Err("hidden"));
        assert_eq!(with("channel_type", json!("im")), Err("direct_message"));
    }
}
