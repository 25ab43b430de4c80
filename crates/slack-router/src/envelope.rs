//! Lenient parsing of what Slack posts to the endpoint.
//!
//! Only the fields the router needs are decoded; the inner `event` stays raw JSON for the
//! listener to decode the fields it uses. Unknown envelope types, event types, message
//! subtypes, block and action types are all accepted: Slack adds new ones without notice, and
//! a strict enum that fails on them would turn a harmless new event into a `400` that Slack
//! retries and counts against the app.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A `response_url`: a bearer capability to post into the conversation for 30 minutes.
///
/// `Debug` never shows it, so a struct holding one can be logged with `{:?}`; read it with
/// [`ResponseUrl::expose`] only to post to it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResponseUrl(String);

impl ResponseUrl {
    /// Wraps a URL received from Slack.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL itself, to post to. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseUrl(<redacted>)")
    }
}

/// The body is not a Slack payload the router can read. The message names what is wrong, never
/// the content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed body: {0}")]
pub struct MalformedBody(pub &'static str);

/// A parsed request.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// Slack checking the endpoint when the request URL is saved.
    UrlVerification {
        /// Echoed back.
        challenge: String,
    },
    /// An Events API `event_callback`.
    Event(EventCallback),
    /// Slack stopped delivering events for a minute (over 30,000 events an hour).
    AppRateLimited {
        /// The workspace.
        team_id: Option<String>,
    },
    /// A slash command.
    SlashCommand(SlashCommand),
    /// A `block_actions` interaction (a button click, a select).
    BlockActions(BlockAction),
    /// Another interaction type (`view_submission`, `shortcut`...).
    OtherInteraction {
        /// The payload's `type`.
        kind: String,
        /// The workspace.
        team_id: Option<String>,
    },
    /// Another Events API envelope type.
    OtherEnvelope {
        /// The envelope's `type`.
        kind: String,
        /// The workspace, when given.
        team_id: Option<String>,
    },
}

impl Inbound {
    /// The workspace the request comes from, when it names one (`url_verification` does not).
    pub fn team_id(&self) -> Option<&str> {
        match self {
            Self::UrlVerification { .. } => None,
            Self::Event(event) => Some(&event.team_id),
            Self::SlashCommand(command) => Some(&command.team_id),
            Self::BlockActions(actions) => Some(&actions.team_id),
            Self::AppRateLimited { team_id }
            | Self::OtherInteraction { team_id, .. }
            | Self::OtherEnvelope { team_id, .. } => team_id.as_deref(),
        }
    }

    /// The app a request the router acts on (an event, a slash command, a block action) is
    /// for (`api_app_id`); `None` for the others, and when Slack did not say.
    pub fn api_app_id(&self) -> Option<&str> {
        match self {
            Self::Event(event) => event.api_app_id.as_deref(),
            Self::SlashCommand(command) => command.api_app_id.as_deref(),
            Self::BlockActions(actions) => actions.api_app_id.as_deref(),
            _ => None,
        }
    }

    /// Whether the router acts on this request (hands it to a listener), rather than only
    /// acknowledging it.
    pub fn is_actionable(&self) -> bool {
        matches!(
            self,
            Self::Event(_) | Self::SlashCommand(_) | Self::BlockActions(_)
        )
    }

    /// A fixed word for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UrlVerification { .. } => "url_verification",
            Self::Event(_) => "event_callback",
            Self::AppRateLimited { .. } => "app_rate_limited",
            Self::SlashCommand(_) => "slash_command",
            Self::BlockActions(_) => "block_actions",
            Self::OtherInteraction { .. } => "other_interaction",
            Self::OtherEnvelope { .. } => "other_envelope",
        }
    }
}

/// An Events API callback. `event` is the raw inner event. It serialises (as itself) for the
/// router's deferred run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventCallback {
    /// The workspace.
    pub team_id: String,
    /// This app's ID (the app the event is delivered to).
    pub api_app_id: Option<String>,
    /// Unique per event (but see [`EventCallback::content_key`]).
    pub event_id: String,
    /// When the event happened, epoch seconds.
    pub event_time: Option<i64>,
    /// `event.type`.
    pub event_type: String,
    /// The inner event, as sent.
    pub event: Value,
    /// User IDs the event is delivered for (`authorizations[].user_id`): this app's bot user.
    pub authorized_user_ids: Vec<String>,
}

impl EventCallback {
    /// A string field of the inner event.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.event.get(name).and_then(Value::as_str)
    }

    /// Decodes the inner event into a listener's own (lenient) type.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.event)
    }

    /// The channel the event happened in (`channel`, `channel_id` or `item.channel`).
    pub fn channel(&self) -> Option<&str> {
        self.field("channel")
            .or_else(|| self.field("channel_id"))
            .or_else(|| {
                self.event
                    .get("item")
                    .and_then(|item| item.get("channel"))
                    .and_then(Value::as_str)
            })
    }

    /// A key that is the same for the same content delivered under two `event_id`s: the
    /// channel and `ts` of a message, the channel and ID of a shared file, and otherwise the
    /// type, channel, user and `event_ts`. `None` when the event carries nothing to key on.
    pub fn content_key(&self) -> Option<String> {
        let channel = self.channel().unwrap_or("-");
        let kind = self.event_type.as_str();
        match kind {
            "message" => {
                let ts = self.field("ts")?;
                Some(format!("message:{channel}:{ts}"))
            }
            "file_shared" => {
                let file_id = self.field("file_id").or_else(|| {
                    self.event
                        .get("file")
                        .and_then(|file| file.get("id"))
                        .and_then(Value::as_str)
                })?;
                Some(format!("file_shared:{channel}:{file_id}"))
            }
            _ => {
                let event_ts = self.field("event_ts").or_else(|| self.field("ts"))?;
                let user = self
                    .field("user")
                    .or_else(|| self.field("user_id"))
                    .unwrap_or("-");
                Some(format!("{kind}:{channel}:{user}:{event_ts}"))
            }
        }
    }
}

/// A slash command (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, PartialEq)]
pub struct SlashCommand {
    /// `/security-ir`.
    pub command: String,
    /// What was typed after the command.
    pub text: String,
    /// The workspace.
    pub team_id: String,
    /// Who ran it.
    pub user_id: String,
    /// Their (legacy) user name.
    pub user_name: Option<String>,
    /// Where it was run.
    pub channel_id: String,
    /// The channel's name, when Slack knows it.
    pub channel_name: Option<String>,
    /// Where to answer later (5 times within 30 minutes).
    pub response_url: ResponseUrl,
    /// Opens a modal within 3 seconds.
    pub trigger_id: Option<String>,
    /// This app's ID.
    pub api_app_id: Option<String>,
}

/// One action of a `block_actions` interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionItem {
    /// The element's `action_id`.
    pub action_id: String,
    /// The block it sits in.
    pub block_id: Option<String>,
    /// A button's `value`, or a select's selected option value.
    pub value: Option<String>,
    /// `button`, `static_select`...
    pub kind: Option<String>,
}

/// A `block_actions` interaction (form field `payload`).
#[derive(Debug, Clone, PartialEq)]
pub struct BlockAction {
    /// The workspace.
    pub team_id: String,
    /// Who clicked.
    pub user_id: String,
    /// Their user name.
    pub user_name: Option<String>,
    /// The channel of the message holding the element, if any.
    pub channel_id: Option<String>,
    /// `ts` of the message holding the element.
    pub message_ts: Option<String>,
    /// Where to answer (absent for actions in modals).
    pub response_url: Option<ResponseUrl>,
    /// Opens a modal within 3 seconds.
    pub trigger_id: Option<String>,
    /// This app's ID.
    pub api_app_id: Option<String>,
    /// The actions (Slack sends one per click).
    pub actions: Vec<ActionItem>,
}

/// Parses a request body by its content type (sniffed when absent).
pub fn parse_inbound(content_type: Option<&str>, body: &[u8]) -> Result<Inbound, MalformedBody> {
    let media_type = content_type
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase());
    let is_json = match media_type.as_deref() {
        Some("application/json") => true,
        Some("application/x-www-form-urlencoded") => false,
        _ => body.trim_ascii_start().first() == Some(&b'{'),
    };
    if is_json {
        parse_envelope(body)
    } else {
        parse_form(body)
    }
}

#[derive(Deserialize)]
struct RawEnvelope {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    api_app_id: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    event_time: Option<i64>,
    #[serde(default)]
    event: Option<Value>,
    #[serde(default)]
    authorizations: Option<Vec<Value>>,
}

fn parse_envelope(body: &[u8]) -> Result<Inbound, MalformedBody> {
    let raw: RawEnvelope =
        serde_json::from_slice(body).map_err(|_| MalformedBody("not a JSON object"))?;
    let kind = raw.kind.ok_or(MalformedBody("no type"))?;
    match kind.as_str() {
        "url_verification" => Ok(Inbound::UrlVerification {
            challenge: raw.challenge.ok_or(MalformedBody("no challenge"))?,
        }),
        "event_callback" => {
            let team_id = raw.team_id.ok_or(MalformedBody("no team_id"))?;
            let event_id = raw.event_id.ok_or(MalformedBody("no event_id"))?;
            let event = raw
                .event
                .filter(Value::is_object)
                .ok_or(MalformedBody("no event object"))?;
            let event_type = event
                .get("type")
                .and_then(Value::as_str)
                .ok_or(MalformedBody("event without type"))?
                .to_owned();
            let authorized_user_ids = raw
                .authorizations
                .unwrap_or_default()
                .iter()
                .filter_map(|authorization| authorization.get("user_id")?.as_str())
                .map(str::to_owned)
                .collect();
            Ok(Inbound::Event(EventCallback {
                team_id,
                api_app_id: raw.api_app_id,
                event_id,
                event_time: raw.event_time,
                event_type,
                event,
                authorized_user_ids,
            }))
        }
        "app_rate_limited" => Ok(Inbound::AppRateLimited {
            team_id: raw.team_id,
        }),
        _ => Ok(Inbound::OtherEnvelope {
            kind,
            team_id: raw.team_id,
        }),
    }
}

fn parse_form(body: &[u8]) -> Result<Inbound, MalformedBody> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|_| MalformedBody("not a form"))?;
    let mut fields: HashMap<String, String> = pairs.into_iter().collect();
    if let Some(payload) = fields.remove("payload") {
        return parse_interaction(&payload);
    }
    if !fields.contains_key("command") {
        return Err(MalformedBody("form without command or payload"));
    }
    let mut required = |name: &'static str| {
        fields
            .remove(name)
            .filter(|value| !value.is_empty())
            .ok_or(MalformedBody(name))
    };
    let command = required("command")?;
    let team_id = required("team_id")?;
    let user_id = required("user_id")?;
    let channel_id = required("channel_id")?;
    let response_url = ResponseUrl::new(required("response_url")?);
    let mut optional = |name: &str| fields.remove(name).filter(|value| !value.is_empty());
    Ok(Inbound::SlashCommand(SlashCommand {
        command,
        text: optional("text").unwrap_or_default(),
        team_id,
        user_id,
        user_name: optional("user_name"),
        channel_id,
        channel_name: optional("channel_name"),
        response_url,
        trigger_id: optional("trigger_id"),
        api_app_id: optional("api_app_id"),
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawInteraction {
    #[serde(rename = "type")]
    kind: Option<String>,
    team: Option<RawIdName>,
    user: Option<RawUser>,
    channel: Option<RawIdName>,
    container: Option<RawContainer>,
    message: Option<RawMessage>,
    response_url: Option<String>,
    trigger_id: Option<String>,
    api_app_id: Option<String>,
    actions: Vec<RawAction>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawIdName {
    id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawUser {
    id: Option<String>,
    username: Option<String>,
    name: Option<String>,
    team_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawContainer {
    channel_id: Option<String>,
    message_ts: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawMessage {
    ts: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawAction {
    action_id: Option<String>,
    block_id: Option<String>,
    value: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    selected_option: Option<RawOption>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawOption {
    value: Option<String>,
}

fn parse_interaction(payload: &str) -> Result<Inbound, MalformedBody> {
    let raw: RawInteraction =
        serde_json::from_str(payload).map_err(|_| MalformedBody("payload is not JSON"))?;
    let kind = raw.kind.ok_or(MalformedBody("payload without type"))?;
    let user = raw.user.unwrap_or_default();
    let team_id = raw
        .team
        .and_then(|team| team.id)
        .or_else(|| user.team_id.clone());
    if kind != "block_actions" {
        return Ok(Inbound::OtherInteraction { kind, team_id });
    }
    let team_id = team_id.ok_or(MalformedBody("payload without team"))?;
    let user_id = user.id.ok_or(MalformedBody("payload without user"))?;
    let container = raw.container.unwrap_or_default();
    let actions = raw
        .actions
        .into_iter()
        .filter_map(|action| {
            Some(ActionItem {
                action_id: action.action_id?,
                block_id: action.block_id,
                value: action
                    .value
                    .or_else(|| action.selected_option.and_then(|option| option.value)),
                kind: action.kind,
            })
        })
        .collect();
    Ok(Inbound::BlockActions(BlockAction {
        team_id,
        user_id,
        user_name: user.username.or(user.name),
        channel_id: raw
            .channel
            .and_then(|channel| channel.id)
            .or(container.channel_id),
        message_ts: container
            .message_ts
            .or_else(|| raw.message.and_then(|message| message.ts)),
        response_url: raw.response_url.map(ResponseUrl::new),
        trigger_id: raw.trigger_id,
        api_app_id: raw.api_app_id,
        actions,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(inner: Value) -> EventCallback {
        let body = json!({
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event_id": "Ev1",
            "event_time": 1,
            "event": inner,
            "authorizations": [{ "user_id": "UBOT", "is_bot": true }],
            "some_new_field": { "nested": [1, 2, 3] },
        });
        match parse_inbound(Some("application/json"), body.to_string().as_bytes()) {
            Ok(Inbound::Event(event)) => event,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_event_types_subtypes_and_blocks_parse() {
        let parsed = event(json!({
            "type": "message",
            "subtype": "a_subtype_from_2031",
            "channel": "C1",
            "ts": "1.2",
            "blocks": [{ "type": "hologram", "elements": [{ "type": "telepathy" }] }],
        }));
        assert_eq!(parsed.event_type, "message");
        assert_eq!(parsed.field("subtype"), Some("a_subtype_from_2031"));
        assert_eq!(parsed.authorized_user_ids, ["UBOT"]);
        assert_eq!(parsed.content_key().as_deref(), Some("message:C1:1.2"));

        let unknown = event(json!({ "type": "reaction_added_v9", "event_ts": "5.6" }));
        assert_eq!(unknown.event_type, "reaction_added_v9");
        assert_eq!(
            unknown.content_key().as_deref(),
            Some("reaction_added_v9:-:-:5.6")
        );
    }

    #[test]
    fn content_keys_identify_the_content() {
        let file = event(json!({
            "type": "file_shared", "channel_id": "C1", "file_id": "F1",
            "user_id": "U1", "event_ts": "9.9",
        }));
        assert_eq!(file.channel(), Some("C1"));
        assert_eq!(file.content_key().as_deref(), Some("file_shared:C1:F1"));
        let joined = event(json!({
            "type": "member_joined_channel", "channel": "C1", "user": "U1", "event_ts": "3.4",
        }));
        assert_eq!(
            joined.content_key().as_deref(),
            Some("member_joined_channel:C1:U1:3.4")
        );
        assert_eq!(event(json!({ "type": "message" })).content_key(), None);
    }

    #[test]
    fn envelopes() {
        let verification = parse_inbound(
            None,
            br#"{"type":"url_verification","challenge":"abc","token":"x"}"#,
        );
        assert_eq!(
            verification,
            Ok(Inbound::UrlVerification {
                challenge: "abc".into()
            })
        );
        assert_eq!(
            parse_inbound(None, br#"{"type":"app_rate_limited","team_id":"T1"}"#)
                .map(|inbound| inbound.team_id().map(str::to_owned)),
            Ok(Some("T1".into()))
        );
        assert!(matches!(
            parse_inbound(None, br#"{"type":"something_new","team_id":"T1"}"#),
            Ok(Inbound::OtherEnvelope { .. })
        ));
        for bad in [
            &b"{not json"[..],
            br#"{"type":"event_callback","team_id":"T1","event_id":"E"}"#,
            br#"{"type":"event_callback","team_id":"T1","event":{"type":"message"}}"#,
            br#"{"type":"url_verification"}"#,
            br#"[1,2]"#,
            br#"{"no_type":1}"#,
        ] {
            assert!(
                parse_inbound(Some("application/json"), bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn slash_commands() {
        let body = "token=x&team_id=T1&channel_id=C1&channel_name=case&user_id=U1&user_name=jane\
                    &command=%2Fsecurity-ir&text=update-title+New+%26+better\
                    &response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1&trigger_id=1.2.3";
        let parsed = parse_inbound(Some("application/x-www-form-urlencoded"), body.as_bytes());
        let Ok(Inbound::SlashCommand(command)) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(command.command, "/security-ir");
        assert_eq!(command.text, "update-title New & better");
        assert_eq!(command.user_name.as_deref(), Some("jane"));
        assert_eq!(
            command.response_url.expose(),
            "https://hooks.slack.com/commands/1"
        );
        assert!(!format!("{command:?}").contains("hooks.slack.com"));

        let missing_channel = "team_id=T1&user_id=U1&command=%2Fx&response_url=https%3A%2F%2Fh";
        assert!(parse_inbound(None, missing_channel.as_bytes()).is_err());
        assert!(parse_inbound(None, b"just=a&form=1").is_err());
    }

    #[test]
    fn block_actions_and_other_interactions() {
        let payload = json!({
            "type": "block_actions",
            "team": { "id": "T1" },
            "user": { "id": "U1", "username": "jane" },
            "container": { "type": "message", "channel_id": "C1", "message_ts": "1.1" },
            "channel": { "id": "C1" },
            "response_url": "https://hooks.slack.com/actions/1",
            "trigger_id": "1.2",
            "actions": [
                { "type": "button", "action_id": "sirslack_close", "value": "close confirm" },
                { "type": "static_select", "action_id": "sirslack_status",
                  "selected_option": { "value": "containment" } },
                { "type": "mystery_element" }
            ],
        });
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        let parsed = parse_inbound(Some("application/x-www-form-urlencoded"), body.as_bytes());
        let Ok(Inbound::BlockActions(actions)) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(actions.team_id, "T1");
        assert_eq!(actions.channel_id.as_deref(), Some("C1"));
        assert_eq!(actions.message_ts.as_deref(), Some("1.1"));
        assert_eq!(actions.actions.len(), 2);
        assert_eq!(actions.actions[1].value.as_deref(), Some("containment"));

        let view = serde_urlencoded::to_string([(
            "payload",
            json!({ "type": "view_submission", "team": { "id": "T1" } }).to_string(),
        )])
        .unwrap();
        assert_eq!(
            parse_inbound(None, view.as_bytes()),
            Ok(Inbound::OtherInteraction {
                kind: "view_submission".into(),
                team_id: Some("T1".into())
            })
        );
    }
}
