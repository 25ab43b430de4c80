//! The workspace's event feed: what Slack's Events API would send an app subscribed to
//! `message.channels`, `message.groups`, `member_joined_channel`, `member_left_channel` and
//! `file_shared`.
//!
//! The stand-in does not call any app by itself. A subscriber
//! ([`crate::SlackStandin::subscribe_events`]) receives one [`WorkspaceEvent`] per change, with
//! the inner `event` object Slack would wrap in an `event_callback`, and decides how to deliver
//! it (the local run signs it and posts it to the app's request URL, retrying as Slack does).
//!
//! Everything that lands in a channel is announced, whoever wrote it: users' messages and file
//! shares, and the app's own posts and uploads too, which Slack also sends back to the app (an
//! app must recognise and drop its own messages).

use serde_json::{Value, json};

use crate::ids::format_ts;
use crate::world::{Channel, Message, World};

/// One change Slack would announce to an app.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceEvent {
    /// The channel it happened in.
    pub channel_id: String,
    /// Whether the app's bot user was a member of the channel when it happened. Slack sends
    /// channel events only to apps in the channel.
    pub app_is_member: bool,
    /// The event's `type`: `message`, `file_shared`, `member_joined_channel` or
    /// `member_left_channel`.
    pub event_type: String,
    /// The inner `event` object of the `event_callback`.
    pub event: Value,
}

impl World {
    /// Hands an event to every subscriber (an unbounded send never blocks under the lock);
    /// subscribers that went away are dropped.
    pub(crate) fn announce(&mut self, channel_id: &str, event: Value) {
        if self.event_subscribers.is_empty() {
            return;
        }
        let app_is_member = self
            .channels
            .get(channel_id)
            .is_some_and(|channel| channel.has_member(self.bot_user_id()));
        let announced = WorkspaceEvent {
            channel_id: channel_id.to_string(),
            app_is_member,
            event_type: event
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            event,
        };
        self.event_subscribers
            .retain(|subscriber| subscriber.send(announced.clone()).is_ok());
    }

    /// Announces a message just added to `channel_id` (the last one with `ts`).
    pub(crate) fn announce_message(&mut self, channel_id: &str, ts: &str) {
        if self.event_subscribers.is_empty() {
            return;
        }
        let Some(channel) = self.channels.get(channel_id) else {
            return;
        };
        let Some(message) = channel.messages.iter().rev().find(|m| m.ts == ts) else {
            return;
        };
        let event = self.message_event(channel, message);
        self.announce(channel_id, event);
    }

    /// A `message` event: the message as `conversations.history` shows it, plus the fields the
    /// Events API adds (`channel`, `event_ts`, `channel_type`, and `client_msg_id` for what a
    /// person typed).
    fn message_event(&self, channel: &Channel, message: &Message) -> Value {
        let mut event = self.message_json(message);
        event["channel"] = json!(channel.id);
        event["event_ts"] = json!(message.ts);
        event["channel_type"] = json!(if channel.is_private {
            "group"
        } else {
            "channel"
        });
        if message.bot_id.is_none() && message.subtype.is_none() {
            event["client_msg_id"] = json!(uuid::Uuid::new_v4().to_string());
        }
        event
    }

    /// Announces `file_shared` for a file just shared into `channel_id` by `user_id`.
    pub(crate) fn announce_file_shared(
        &mut self,
        channel_id: &str,
        file_id: &str,
        user_id: &str,
        event_ts: &str,
    ) {
        let event = json!({
            "type": "file_shared",
            "channel_id": channel_id,
            "file_id": file_id,
            "user_id": user_id,
            "file": { "id": file_id },
            "event_ts": event_ts,
        });
        self.announce(channel_id, event);
    }

    /// Announces `member_joined_channel` (`inviter` when someone added them) or
    /// `member_left_channel`.
    pub(crate) fn announce_membership(
        &mut self,
        channel_id: &str,
        user_id: &str,
        joined: bool,
        inviter: Option<&str>,
    ) {
        if self.event_subscribers.is_empty() {
            return;
        }
        let Some(channel) = self.channels.get(channel_id) else {
            return;
        };
        let event_ts = format_ts(chrono::Utc::now().timestamp_micros());
        let mut event = json!({
            "type": if joined { "member_joined_channel" } else { "member_left_channel" },
            "user": user_id,
            "channel": channel_id,
            "channel_type": if channel.is_private { "G" } else { "C" },
            "team": self.config.team_id,
            "event_ts": event_ts,
        });
        if let (true, Some(inviter)) = (joined, inviter) {
            event["inviter"] = json!(inviter);
        }
        self.announce(channel_id, event);
    }
}
