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
    /// A global shortcut (`shortcut`).
    Shortcut(Shortcut),
    /// A message shortcut (`message_action`).
    MessageShortcut(Box<MessageShortcut>),
    /// A modal submitted (`view_submission`).
    ViewSubmission(Box<ViewSubmission>),
    /// A modal closed with its close button (`view_closed`, only when the modal asked for it
    /// with `notify_on_close`).
    ViewClosed(Box<ViewClosed>),
    /// An `external_select` asking for its options (`block_suggestion`).
    BlockSuggestion(Box<BlockSuggestion>),
    /// Another interaction type (`interactive_message`, `dialog_submission`...).
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
            Self::Shortcut(shortcut) => Some(&shortcut.team_id),
            Self::MessageShortcut(shortcut) => Some(&shortcut.team_id),
            Self::ViewSubmission(submission) => Some(&submission.team_id),
            Self::ViewClosed(closed) => Some(&closed.team_id),
            Self::BlockSuggestion(suggestion) => Some(&suggestion.team_id),
            Self::AppRateLimited { team_id }
            | Self::OtherInteraction { team_id, .. }
            | Self::OtherEnvelope { team_id, .. } => team_id.as_deref(),
        }
    }

    /// The app a request the router acts on (an event, a slash command, an interaction) is
    /// for (`api_app_id`); `None` for the others, and when Slack did not say.
    pub fn api_app_id(&self) -> Option<&str> {
        match self {
            Self::Event(event) => event.api_app_id.as_deref(),
            Self::SlashCommand(command) => command.api_app_id.as_deref(),
            Self::BlockActions(actions) => actions.api_app_id.as_deref(),
            Self::Shortcut(shortcut) => shortcut.api_app_id.as_deref(),
            Self::MessageShortcut(shortcut) => shortcut.api_app_id.as_deref(),
            Self::ViewSubmission(submission) => submission.api_app_id.as_deref(),
            Self::ViewClosed(closed) => closed.api_app_id.as_deref(),
            Self::BlockSuggestion(suggestion) => suggestion.api_app_id.as_deref(),
            _ => None,
        }
    }

    /// Whether the router acts on this request (hands it to a listener), rather than only
    /// acknowledging it.
    pub fn is_actionable(&self) -> bool {
        matches!(
            self,
            Self::Event(_)
                | Self::SlashCommand(_)
                | Self::BlockActions(_)
                | Self::Shortcut(_)
                | Self::MessageShortcut(_)
                | Self::ViewSubmission(_)
                | Self::ViewClosed(_)
                | Self::BlockSuggestion(_)
        )
    }

    /// Whether this request is for a Slack app other than `app_id`: an actionable request
    /// naming another `api_app_id`, or naming none. Shortcuts are the exception to "none":
    /// Slack's `shortcut` and `message_action` payloads are documented without `api_app_id`,
    /// so a shortcut that names no app is taken as this app's (Slack only sends an app its own
    /// shortcuts' callback IDs, and the signature is this app's); one naming another app is not.
    pub fn is_for_another_app(&self, app_id: &str) -> bool {
        if !self.is_actionable() {
            return false;
        }
        match self.api_app_id() {
            Some(id) => id != app_id,
            None => !matches!(self, Self::Shortcut(_) | Self::MessageShortcut(_)),
        }
    }

    /// A fixed word for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UrlVerification { .. } => "url_verification",
            Self::Event(_) => "event_callback",
            Self::AppRateLimited { .. } => "app_rate_limited",
            Self::SlashCommand(_) => "slash_command",
            Self::BlockActions(_) => "block_actions",
            Self::Shortcut(_) => "shortcut",
            Self::MessageShortcut(_) => "message_action",
            Self::ViewSubmission(_) => "view_submission",
            Self::ViewClosed(_) => "view_closed",
            Self::BlockSuggestion(_) => "block_suggestion",
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

/// A global shortcut (`shortcut`): someone chose one of this app's shortcuts from the
/// shortcuts menu or the search bar. The answer is an empty ack; open a modal with
/// `trigger_id` (valid once, for 3 seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortcut {
    /// The shortcut's `callback_id`, as set in the app's configuration.
    pub callback_id: String,
    /// Opens a modal within 3 seconds.
    pub trigger_id: String,
    /// The workspace.
    pub team_id: String,
    /// Who chose it.
    pub user_id: String,
    /// Their user name.
    pub user_name: Option<String>,
    /// This app's ID, when Slack says (see [`Inbound::is_for_another_app`]).
    pub api_app_id: Option<String>,
}

/// A message shortcut (`message_action`): someone chose one of this app's shortcuts from a
/// message's menu.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageShortcut {
    /// The shortcut's `callback_id`.
    pub callback_id: String,
    /// Opens a modal within 3 seconds.
    pub trigger_id: String,
    /// Where to answer in the message's conversation (ephemerally by default). Never log it.
    pub response_url: ResponseUrl,
    /// The channel (or DM) the message is in.
    pub channel_id: String,
    /// The workspace.
    pub team_id: String,
    /// Who chose it.
    pub user_id: String,
    /// Their user name.
    pub user_name: Option<String>,
    /// This app's ID, when Slack says (see [`Inbound::is_for_another_app`]).
    pub api_app_id: Option<String>,
    /// The message the shortcut was used on.
    pub message: ShortcutMessage,
}

/// The message a [`MessageShortcut`] was used on.
#[derive(Debug, Clone, PartialEq)]
pub struct ShortcutMessage {
    /// Its `ts` (its ID within the channel).
    pub ts: String,
    /// Its `text` (Slack markup, escaped), when it has one.
    pub text: Option<String>,
    /// Its author, when a person wrote it.
    pub user: Option<String>,
    /// The bot that posted it, when a bot did.
    pub bot_id: Option<String>,
    /// The thread it is in, when it is in one.
    pub thread_ts: Option<String>,
    /// Its files.
    pub files: Vec<MessageFile>,
    /// The whole message, as sent (blocks, attachments, subtype...).
    pub raw: Value,
}

/// A file of a [`ShortcutMessage`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MessageFile {
    /// The file's ID (`F...`).
    pub id: String,
    /// Its file name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its title.
    #[serde(default)]
    pub title: Option<String>,
    /// Its MIME type.
    #[serde(default)]
    pub mimetype: Option<String>,
    /// Its size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// `hosted`, `external`, `tombstone` (deleted), `hidden_by_limit`...
    #[serde(default)]
    pub mode: Option<String>,
}

/// A modal, as an interaction payload carries it (`view`).
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// The view's ID (`V...`), for `views.update`.
    pub id: String,
    /// The `callback_id` the app gave the view (empty when it gave none).
    pub callback_id: String,
    /// The `private_metadata` the app gave the view (empty when it gave none; at most 3,000
    /// characters).
    pub private_metadata: String,
    /// The view's `hash`, for a `views.update` that must not overwrite a newer version.
    pub hash: Option<String>,
    /// The first view of the stack this view is in.
    pub root_view_id: Option<String>,
    /// The view under this one in the stack, when it was pushed.
    pub previous_view_id: Option<String>,
    /// The `external_id` the app gave the view.
    pub external_id: Option<String>,
    /// What the person entered.
    pub state: ViewState,
    /// The `block_id`s of the view's `input` blocks, top to bottom: the blocks a
    /// `response_action: errors` can name.
    pub input_block_ids: Vec<String>,
}

/// A view's `state.values`: `{block_id: {action_id: element state}}`, kept as sent, with
/// readers for the usual element types.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ViewState {
    /// `state.values`, as sent (`{}` when absent).
    pub values: Value,
}

impl ViewState {
    /// The state of the element `action_id` in block `block_id`.
    pub fn element(&self, block_id: &str, action_id: &str) -> Option<&Value> {
        self.values.get(block_id)?.get(action_id)
    }

    /// A string field of an element's state (`value`, `selected_date`, `selected_user`...);
    /// `None` when absent or `null` (Slack sends `null` for an empty input).
    pub fn string(&self, block_id: &str, action_id: &str, field: &str) -> Option<&str> {
        self.element(block_id, action_id)?.get(field)?.as_str()
    }

    /// A plain-text input's `value` (`None` when left empty).
    pub fn value(&self, block_id: &str, action_id: &str) -> Option<&str> {
        self.string(block_id, action_id, "value")
    }

    /// The value of a single select's or radio group's `selected_option`.
    pub fn selected_option(&self, block_id: &str, action_id: &str) -> Option<&str> {
        self.element(block_id, action_id)?
            .get("selected_option")?
            .get("value")?
            .as_str()
    }

    /// The values of a multi-select's or checkboxes' `selected_options` (empty when none).
    pub fn selected_options(&self, block_id: &str, action_id: &str) -> Vec<&str> {
        self.element(block_id, action_id)
            .and_then(|element| element.get("selected_options"))
            .and_then(Value::as_array)
            .map(|options| {
                options
                    .iter()
                    .filter_map(|option| option.get("value")?.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A date picker's `selected_date` (`YYYY-MM-DD`).
    pub fn selected_date(&self, block_id: &str, action_id: &str) -> Option<&str> {
        self.string(block_id, action_id, "selected_date")
    }

    /// A multi-users select's `selected_users` (empty when none).
    pub fn selected_users(&self, block_id: &str, action_id: &str) -> Vec<&str> {
        self.element(block_id, action_id)
            .and_then(|element| element.get("selected_users"))
            .and_then(Value::as_array)
            .map(|users| users.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
}

/// A `response_url` a modal collected with a conversation select
/// (`response_url_enabled`): where to post in the conversation the person chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewResponseUrl {
    /// The block of the conversation select.
    pub block_id: String,
    /// The conversation select.
    pub action_id: String,
    /// The conversation chosen.
    pub channel_id: String,
    /// Where to post. Never log it.
    pub response_url: ResponseUrl,
}

/// A modal submitted (`view_submission`). The ack decides what the modal does next
/// ([`crate::Ack::view_errors`], [`crate::Ack::view_update`]...; empty: it closes).
#[derive(Debug, Clone, PartialEq)]
pub struct ViewSubmission {
    /// The workspace.
    pub team_id: String,
    /// Who submitted.
    pub user_id: String,
    /// Their user name.
    pub user_name: Option<String>,
    /// This app's ID (`api_app_id`, or the view's `app_id`).
    pub api_app_id: Option<String>,
    /// Opens another modal within 3 seconds.
    pub trigger_id: Option<String>,
    /// The modal, with what was entered.
    pub view: View,
    /// The `response_url`s of the modal's conversation selects, if any.
    pub response_urls: Vec<ViewResponseUrl>,
}

/// A modal closed by the person (`view_closed`).
#[derive(Debug, Clone, PartialEq)]
pub struct ViewClosed {
    /// The workspace.
    pub team_id: String,
    /// Who closed it.
    pub user_id: String,
    /// Their user name.
    pub user_name: Option<String>,
    /// This app's ID (`api_app_id`, or the view's `app_id`).
    pub api_app_id: Option<String>,
    /// The modal closed (the one on top when the whole stack was closed).
    pub view: View,
    /// Whether the whole stack was closed, not only this view.
    pub is_cleared: bool,
}

/// An `external_select` asking for the options matching what was typed
/// (`block_suggestion`). Answer with [`crate::Ack::options`] or [`crate::Ack::option_groups`].
#[derive(Debug, Clone, PartialEq)]
pub struct BlockSuggestion {
    /// The select's `action_id`.
    pub action_id: String,
    /// The block it sits in.
    pub block_id: Option<String>,
    /// What was typed so far (may be empty).
    pub value: String,
    /// The workspace.
    pub team_id: String,
    /// Who is typing.
    pub user_id: String,
    /// Their user name.
    pub user_name: Option<String>,
    /// This app's ID (`api_app_id`, or the view's `app_id`).
    pub api_app_id: Option<String>,
    /// The modal the select is in (`None` for a select in a message).
    pub view: Option<View>,
    /// The channel of the message the select is in, for a select in a message.
    pub channel_id: Option<String>,
}

impl BlockSuggestion {
    /// The modal's `callback_id`, when the select is in a modal.
    pub fn view_callback_id(&self) -> Option<&str> {
        self.view.as_ref().map(|view| view.callback_id.as_str())
    }

    /// The modal's `private_metadata`, when the select is in a modal.
    pub fn private_metadata(&self) -> Option<&str> {
        self.view
            .as_ref()
            .map(|view| view.private_metadata.as_str())
    }
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
    /// Raw: a message shortcut hands it on whole; block actions read only its `ts`.
    message: Option<Value>,
    response_url: Option<String>,
    trigger_id: Option<String>,
    api_app_id: Option<String>,
    actions: Vec<RawAction>,
    callback_id: Option<String>,
    /// Raw, decoded only for the view payloads (block actions in a modal carry one too).
    view: Option<Value>,
    is_cleared: Option<bool>,
    response_urls: Option<Vec<RawViewResponseUrl>>,
    action_id: Option<String>,
    block_id: Option<String>,
    value: Option<String>,
    message_ts: Option<String>,
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

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawView {
    id: Option<String>,
    callback_id: Option<String>,
    private_metadata: Option<String>,
    hash: Option<String>,
    root_view_id: Option<String>,
    previous_view_id: Option<String>,
    external_id: Option<String>,
    app_id: Option<String>,
    state: Option<RawState>,
    blocks: Option<Vec<RawBlock>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawState {
    values: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawBlock {
    #[serde(rename = "type")]
    kind: Option<String>,
    block_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawViewResponseUrl {
    block_id: Option<String>,
    action_id: Option<String>,
    channel_id: Option<String>,
    response_url: Option<String>,
}

/// Who interacted, from where: required by every interaction the router routes.
struct Actor {
    team_id: String,
    user_id: String,
    user_name: Option<String>,
}

const ROUTED_INTERACTIONS: [&str; 6] = [
    "block_actions",
    "shortcut",
    "message_action",
    "view_submission",
    "view_closed",
    "block_suggestion",
];

fn parse_interaction(payload: &str) -> Result<Inbound, MalformedBody> {
    let mut raw: RawInteraction =
        serde_json::from_str(payload).map_err(|_| MalformedBody("payload is not JSON"))?;
    let kind = raw
        .kind
        .take()
        .ok_or(MalformedBody("payload without type"))?;
    let user = raw.user.take().unwrap_or_default();
    let team_id = raw
        .team
        .take()
        .and_then(|team| team.id)
        .or_else(|| user.team_id.clone());
    if !ROUTED_INTERACTIONS.contains(&kind.as_str()) {
        return Ok(Inbound::OtherInteraction { kind, team_id });
    }
    let actor = Actor {
        team_id: team_id.ok_or(MalformedBody("payload without team"))?,
        user_id: user.id.ok_or(MalformedBody("payload without user"))?,
        user_name: user.username.or(user.name),
    };
    match kind.as_str() {
        "shortcut" => parse_shortcut(raw, actor),
        "message_action" => parse_message_shortcut(raw, actor),
        "view_submission" => parse_view_submission(raw, actor),
        "view_closed" => parse_view_closed(raw, actor),
        "block_suggestion" => parse_block_suggestion(raw, actor),
        _ => Ok(parse_block_actions(raw, actor)),
    }
}

fn parse_block_actions(raw: RawInteraction, actor: Actor) -> Inbound {
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
    Inbound::BlockActions(BlockAction {
        team_id: actor.team_id,
        user_id: actor.user_id,
        user_name: actor.user_name,
        channel_id: raw
            .channel
            .and_then(|channel| channel.id)
            .or(container.channel_id),
        message_ts: container.message_ts.or_else(|| {
            raw.message
                .as_ref()
                .and_then(|message| message.get("ts"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        }),
        response_url: raw.response_url.map(ResponseUrl::new),
        trigger_id: raw.trigger_id,
        api_app_id: raw.api_app_id,
        actions,
    })
}

/// A required, non-empty string field.
fn required(value: Option<String>, missing: &'static str) -> Result<String, MalformedBody> {
    value
        .filter(|value| !value.is_empty())
        .ok_or(MalformedBody(missing))
}

fn parse_shortcut(raw: RawInteraction, actor: Actor) -> Result<Inbound, MalformedBody> {
    Ok(Inbound::Shortcut(Shortcut {
        callback_id: required(raw.callback_id, "shortcut without callback_id")?,
        trigger_id: required(raw.trigger_id, "shortcut without trigger_id")?,
        team_id: actor.team_id,
        user_id: actor.user_id,
        user_name: actor.user_name,
        api_app_id: raw.api_app_id,
    }))
}

fn parse_message_shortcut(raw: RawInteraction, actor: Actor) -> Result<Inbound, MalformedBody> {
    let callback_id = required(raw.callback_id, "message_action without callback_id")?;
    let trigger_id = required(raw.trigger_id, "message_action without trigger_id")?;
    let response_url = required(raw.response_url, "message_action without response_url")?;
    let channel_id = required(
        raw.channel.and_then(|channel| channel.id),
        "message_action without channel",
    )?;
    let message = raw
        .message
        .filter(Value::is_object)
        .ok_or(MalformedBody("message_action without message"))?;
    let field = |name: &str| message.get(name).and_then(Value::as_str).map(str::to_owned);
    let ts = required(
        field("ts").or(raw.message_ts),
        "message_action message without ts",
    )?;
    let files = message
        .get("files")
        .and_then(Value::as_array)
        .map(|files| {
            files
                .iter()
                .filter_map(|file| MessageFile::deserialize(file).ok())
                .collect()
        })
        .unwrap_or_default();
    let message = ShortcutMessage {
        ts,
        text: field("text"),
        user: field("user"),
        bot_id: field("bot_id"),
        thread_ts: field("thread_ts"),
        files,
        raw: message,
    };
    Ok(Inbound::MessageShortcut(Box::new(MessageShortcut {
        callback_id,
        trigger_id,
        response_url: ResponseUrl::new(response_url),
        channel_id,
        team_id: actor.team_id,
        user_id: actor.user_id,
        user_name: actor.user_name,
        api_app_id: raw.api_app_id,
        message,
    })))
}

/// The payload's view, and the view's `app_id`.
fn parse_view(view: Option<Value>) -> Result<(View, Option<String>), MalformedBody> {
    let view = view
        .filter(Value::is_object)
        .ok_or(MalformedBody("payload without view"))?;
    let raw: RawView =
        serde_json::from_value(view).map_err(|_| MalformedBody("view is not a view"))?;
    let input_block_ids = raw
        .blocks
        .unwrap_or_default()
        .into_iter()
        .filter(|block| block.kind.as_deref() == Some("input"))
        .filter_map(|block| block.block_id)
        .collect();
    let values = raw
        .state
        .and_then(|state| state.values)
        .filter(Value::is_object)
        .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
    let view = View {
        id: required(raw.id, "view without id")?,
        callback_id: raw.callback_id.unwrap_or_default(),
        private_metadata: raw.private_metadata.unwrap_or_default(),
        hash: raw.hash,
        root_view_id: raw.root_view_id,
        previous_view_id: raw.previous_view_id,
        external_id: raw.external_id,
        state: ViewState { values },
        input_block_ids,
    };
    Ok((view, raw.app_id))
}

fn parse_view_submission(raw: RawInteraction, actor: Actor) -> Result<Inbound, MalformedBody> {
    let (view, view_app_id) = parse_view(raw.view)?;
    let response_urls = raw
        .response_urls
        .unwrap_or_default()
        .into_iter()
        .filter_map(|entry| {
            Some(ViewResponseUrl {
                block_id: entry.block_id?,
                action_id: entry.action_id?,
                channel_id: entry.channel_id?,
                response_url: ResponseUrl::new(entry.response_url?),
            })
        })
        .collect();
    Ok(Inbound::ViewSubmission(Box::new(ViewSubmission {
        team_id: actor.team_id,
        user_id: actor.user_id,
        user_name: actor.user_name,
        api_app_id: raw.api_app_id.or(view_app_id),
        trigger_id: raw.trigger_id,
        view,
        response_urls,
    })))
}

fn parse_view_closed(raw: RawInteraction, actor: Actor) -> Result<Inbound, MalformedBody> {
    let (view, view_app_id) = parse_view(raw.view)?;
    Ok(Inbound::ViewClosed(Box::new(ViewClosed {
        team_id: actor.team_id,
        user_id: actor.user_id,
        user_name: actor.user_name,
        api_app_id: raw.api_app_id.or(view_app_id),
        view,
        is_cleared: raw.is_cleared.unwrap_or(false),
    })))
}

fn parse_block_suggestion(raw: RawInteraction, actor: Actor) -> Result<Inbound, MalformedBody> {
    let action_id = required(raw.action_id, "block_suggestion without action_id")?;
    let (view, view_app_id) = match raw.view {
        Some(view) => {
            let (view, app_id) = parse_view(Some(view))?;
            (Some(view), app_id)
        }
        None => (None, None),
    };
    let container = raw.container.unwrap_or_default();
    Ok(Inbound::BlockSuggestion(Box::new(BlockSuggestion {
        action_id,
        block_id: raw.block_id,
        value: raw.value.unwrap_or_default(),
        team_id: actor.team_id,
        user_id: actor.user_id,
        user_name: actor.user_name,
        api_app_id: raw.api_app_id.or(view_app_id),
        view,
        channel_id: raw
            .channel
            .and_then(|channel| channel.id)
            .or(container.channel_id),
    })))
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

        let dialog = serde_urlencoded::to_string([(
            "payload",
            json!({ "type": "dialog_submission", "team": { "id": "T1" } }).to_string(),
        )])
        .unwrap();
        assert_eq!(
            parse_inbound(None, dialog.as_bytes()),
            Ok(Inbound::OtherInteraction {
                kind: "dialog_submission".into(),
                team_id: Some("T1".into())
            })
        );
    }

    fn interaction(payload: &Value) -> Result<Inbound, MalformedBody> {
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).expect("a form");
        parse_inbound(Some("application/x-www-form-urlencoded"), body.as_bytes())
    }

    /// `payload` with `path` (an object key, or `a.b` for a nested one) removed.
    fn without(payload: &Value, path: &str) -> Value {
        let mut payload = payload.clone();
        let mut target = &mut payload;
        let mut keys: Vec<&str> = path.split('.').collect();
        let last = keys.pop().expect("a key");
        for key in keys {
            target = target.get_mut(key).expect("the path exists");
        }
        target
            .as_object_mut()
            .expect("an object")
            .remove(last)
            .expect("the key exists");
        payload
    }

    fn assert_malformed(payload: &Value, removed: &str, reason: &'static str) {
        assert_eq!(
            interaction(&without(payload, removed)),
            Err(MalformedBody(reason)),
            "without {removed}"
        );
    }

    fn shortcut_payload() -> Value {
        json!({
            "type": "shortcut",
            "token": "legacy",
            "action_ts": "1.2",
            "team": { "id": "T1", "domain": "acme" },
            "user": { "id": "U1", "username": "jane", "team_id": "T1" },
            "callback_id": "declare_case",
            "trigger_id": "111.222.abc",
            "is_enterprise_install": false,
            "enterprise": null,
            "a_field_from_2031": { "nested": [1] },
        })
    }

    #[test]
    fn global_shortcuts() {
        let parsed = interaction(&shortcut_payload());
        let Ok(Inbound::Shortcut(shortcut)) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(
            shortcut,
            Shortcut {
                callback_id: "declare_case".into(),
                trigger_id: "111.222.abc".into(),
                team_id: "T1".into(),
                user_id: "U1".into(),
                user_name: Some("jane".into()),
                api_app_id: None,
            }
        );
        let inbound = Inbound::Shortcut(shortcut);
        assert_eq!(inbound.kind(), "shortcut");
        assert!(inbound.is_actionable());
        // Shortcut payloads are documented without api_app_id: none is not another app.
        assert!(!inbound.is_for_another_app("A1"));
        let mut other_app = shortcut_payload();
        other_app["api_app_id"] = json!("A2");
        let other = interaction(&other_app).expect("parses");
        assert!(other.is_for_another_app("A1"));
        assert!(!other.is_for_another_app("A2"));

        let payload = shortcut_payload();
        assert_malformed(&payload, "callback_id", "shortcut without callback_id");
        assert_malformed(&payload, "trigger_id", "shortcut without trigger_id");
        assert_malformed(&payload, "user", "payload without user");
        // The user's team_id stands in for a missing team, as for block actions.
        let team_from_user = interaction(&without(&payload, "team")).expect("parses");
        assert_eq!(team_from_user.team_id(), Some("T1"));
        let no_team = without(&without(&payload, "team"), "user.team_id");
        assert_eq!(
            interaction(&no_team),
            Err(MalformedBody("payload without team"))
        );
    }

    fn message_shortcut_payload() -> Value {
        json!({
            "type": "message_action",
            "token": "legacy",
            "action_ts": "1.3",
            "team": { "id": "T1", "domain": "acme" },
            "user": { "id": "U1", "name": "jane" },
            "channel": { "id": "C9", "name": "alerts" },
            "callback_id": "send_to_case",
            "trigger_id": "111.222.def",
            "response_url": "https://hooks.slack.com/app/T1/1/secret",
            "message_ts": "1700000000.000100",
            "message": {
                "type": "message",
                "user": "U2",
                "ts": "1700000000.000100",
                "thread_ts": "1699999999.000001",
                "text": "Suspicious login from <https://example.com|here> &amp; more",
                "blocks": [{ "type": "rich_text", "elements": [] }],
                "files": [
                    { "id": "F1", "name": "trace.pcap", "title": "trace", "mimetype":
                      "application/octet-stream", "size": 2048, "mode": "hosted",
                      "url_private": "https://files.slack.com/x" },
                    { "name": "a file without id" },
                    { "id": "F2", "mode": "tombstone" }
                ],
            },
        })
    }

    #[test]
    fn message_shortcuts() {
        let parsed = interaction(&message_shortcut_payload());
        let Ok(Inbound::MessageShortcut(shortcut)) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(shortcut.callback_id, "send_to_case");
        assert_eq!(shortcut.trigger_id, "111.222.def");
        assert_eq!(shortcut.channel_id, "C9");
        assert_eq!(shortcut.team_id, "T1");
        assert_eq!(shortcut.user_id, "U1");
        assert_eq!(shortcut.user_name.as_deref(), Some("jane"));
        assert_eq!(
            shortcut.response_url.expose(),
            "https://hooks.slack.com/app/T1/1/secret"
        );
        let message = &shortcut.message;
        assert_eq!(message.ts, "1700000000.000100");
        assert_eq!(message.thread_ts.as_deref(), Some("1699999999.000001"));
        assert_eq!(
            message.text.as_deref(),
            Some("Suspicious login from <https://example.com|here> &amp; more")
        );
        assert_eq!(message.user.as_deref(), Some("U2"));
        assert_eq!(message.bot_id, None);
        assert_eq!(
            message.files,
            [
                MessageFile {
                    id: "F1".into(),
                    name: Some("trace.pcap".into()),
                    title: Some("trace".into()),
                    mimetype: Some("application/octet-stream".into()),
                    size: Some(2048),
                    mode: Some("hosted".into()),
                },
                MessageFile {
                    id: "F2".into(),
                    name: None,
                    title: None,
                    mimetype: None,
                    size: None,
                    mode: Some("tombstone".into()),
                },
            ]
        );
        assert_eq!(message.raw["blocks"][0]["type"], "rich_text");
        assert!(!format!("{shortcut:?}").contains("hooks.slack.com"));

        // A bot's message: bot_id, no user; ts from message_ts when the message has none.
        let mut bot = without(&message_shortcut_payload(), "message.ts");
        bot["message"] = json!({ "type": "message", "subtype": "bot_message",
                                 "bot_id": "B1", "text": "alert" });
        let Ok(Inbound::MessageShortcut(bot)) = interaction(&bot) else {
            panic!("a bot message")
        };
        assert_eq!(bot.message.bot_id.as_deref(), Some("B1"));
        assert_eq!(bot.message.user, None);
        assert_eq!(bot.message.ts, "1700000000.000100");
        assert!(bot.message.files.is_empty());

        let payload = message_shortcut_payload();
        assert_malformed(
            &payload,
            "callback_id",
            "message_action without callback_id",
        );
        assert_malformed(&payload, "trigger_id", "message_action without trigger_id");
        assert_malformed(
            &payload,
            "response_url",
            "message_action without response_url",
        );
        assert_malformed(&payload, "channel", "message_action without channel");
        assert_malformed(&payload, "message", "message_action without message");
        let no_ts = without(&without(&payload, "message.ts"), "message_ts");
        assert_eq!(
            interaction(&no_ts),
            Err(MalformedBody("message_action message without ts"))
        );
    }

    fn view(callback_id: &str) -> Value {
        json!({
            "id": "V1",
            "team_id": "T1",
            "type": "modal",
            "app_id": "A1",
            "callback_id": callback_id,
            "private_metadata": "{\"case\":\"123\"}",
            "hash": "1700.abc",
            "root_view_id": "V0",
            "previous_view_id": null,
            "external_id": "",
            "title": { "type": "plain_text", "text": "Declare" },
            "blocks": [
                { "type": "section", "block_id": "intro", "text": { "type": "mrkdwn", "text": "x" } },
                { "type": "input", "block_id": "title", "element": { "type": "plain_text_input" } },
                { "type": "input", "block_id": "accounts", "element": { "type": "plain_text_input" } },
                { "type": "input", "block_id": "engagement", "element": { "type": "static_select" } },
                { "type": "input", "block_id": "regions", "element": { "type": "multi_static_select" } },
                { "type": "input", "block_id": "started", "element": { "type": "datepicker" } },
                { "type": "input", "block_id": "watchers", "element": { "type": "multi_users_select" } },
                { "type": "input", "element": { "type": "plain_text_input" } }
            ],
            "state": { "values": {
                "title": { "title": { "type": "plain_text_input", "value": "Phishing wave" } },
                "accounts": { "accounts": { "type": "plain_text_input", "value": null } },
                "engagement": { "engagement": { "type": "static_select",
                    "selected_option": { "text": { "type": "plain_text", "text": "Security incident" },
                                         "value": "security_incident" } } },
                "regions": { "regions": { "type": "multi_static_select", "selected_options": [
                    { "text": { "type": "plain_text", "text": "a" }, "value": "eu-west-1" },
                    { "text": { "type": "plain_text", "text": "b" }, "value": "us-east-1" } ] } },
                "started": { "started": { "type": "datepicker", "selected_date": "2026-12-01" } },
                "watchers": { "watchers": { "type": "multi_users_select",
                                            "selected_users": ["U2", "U3"] } }
            } },
        })
    }

    fn view_submission_payload() -> Value {
        json!({
            "type": "view_submission",
            "team": { "id": "T1", "domain": "acme" },
            "user": { "id": "U1", "username": "jane", "team_id": "T1" },
            "api_app_id": "A1",
            "token": "legacy",
            "trigger_id": "111.222.ghi",
            "view": view("declare_case"),
            "response_urls": [
                { "block_id": "where", "action_id": "channel", "channel_id": "C5",
                  "response_url": "https://hooks.slack.com/app/T1/2/secret" },
                { "block_id": "incomplete" }
            ],
            "is_enterprise_install": false,
        })
    }

    #[test]
    fn view_submissions_and_their_state() {
        let parsed = interaction(&view_submission_payload());
        let Ok(Inbound::ViewSubmission(submission)) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(submission.team_id, "T1");
        assert_eq!(submission.user_id, "U1");
        assert_eq!(submission.api_app_id.as_deref(), Some("A1"));
        assert_eq!(submission.trigger_id.as_deref(), Some("111.222.ghi"));
        let view = &submission.view;
        assert_eq!(view.id, "V1");
        assert_eq!(view.callback_id, "declare_case");
        assert_eq!(view.private_metadata, r#"{"case":"123"}"#);
        assert_eq!(view.hash.as_deref(), Some("1700.abc"));
        assert_eq!(view.root_view_id.as_deref(), Some("V0"));
        assert_eq!(view.previous_view_id, None);
        assert_eq!(
            view.input_block_ids,
            [
                "title",
                "accounts",
                "engagement",
                "regions",
                "started",
                "watchers"
            ],
            "input blocks in the view's order, not the state's"
        );
        let state = &view.state;
        assert_eq!(state.value("title", "title"), Some("Phishing wave"));
        assert_eq!(
            state.value("accounts", "accounts"),
            None,
            "null: left empty"
        );
        assert_eq!(state.value("title", "other"), None);
        assert_eq!(
            state.selected_option("engagement", "engagement"),
            Some("security_incident")
        );
        assert_eq!(
            state.selected_options("regions", "regions"),
            ["eu-west-1", "us-east-1"]
        );
        assert!(state.selected_options("title", "title").is_empty());
        assert_eq!(
            state.selected_date("started", "started"),
            Some("2026-12-01")
        );
        assert_eq!(state.selected_users("watchers", "watchers"), ["U2", "U3"]);
        assert_eq!(
            state
                .element("started", "started")
                .and_then(|e| e.get("type")),
            Some(&json!("datepicker"))
        );
        assert_eq!(
            submission.response_urls.len(),
            1,
            "the incomplete one is skipped"
        );
        assert_eq!(submission.response_urls[0].channel_id, "C5");
        assert!(!format!("{submission:?}").contains("hooks.slack.com"));

        // The view's app_id stands in for a missing api_app_id; no state is an empty one.
        let mut bare = without(&view_submission_payload(), "api_app_id");
        bare["view"] = json!({ "id": "V2", "app_id": "A1" });
        let Ok(Inbound::ViewSubmission(bare)) = interaction(&bare) else {
            panic!("a bare view")
        };
        assert_eq!(bare.api_app_id.as_deref(), Some("A1"));
        assert_eq!(bare.view.callback_id, "");
        assert_eq!(bare.view.state.values, json!({}));
        assert!(bare.view.input_block_ids.is_empty());

        let payload = view_submission_payload();
        assert_malformed(&payload, "view", "payload without view");
        assert_malformed(&payload, "view.id", "view without id");
        let mut not_a_view = payload.clone();
        not_a_view["view"]["blocks"] = json!("blocks?");
        assert_eq!(
            interaction(&not_a_view),
            Err(MalformedBody("view is not a view"))
        );
    }

    #[test]
    fn view_closed_and_block_suggestions() {
        let closed = json!({
            "type": "view_closed",
            "team": { "id": "T1" },
            "user": { "id": "U1" },
            "api_app_id": "A1",
            "view": view("declare_case"),
            "is_cleared": true,
        });
        let Ok(Inbound::ViewClosed(parsed)) = interaction(&closed) else {
            panic!("view_closed")
        };
        assert!(parsed.is_cleared);
        assert_eq!(parsed.view.callback_id, "declare_case");
        let Ok(Inbound::ViewClosed(not_cleared)) = interaction(&without(&closed, "is_cleared"))
        else {
            panic!("view_closed")
        };
        assert!(!not_cleared.is_cleared);
        assert_malformed(&closed, "view", "payload without view");

        let in_modal = json!({
            "type": "block_suggestion",
            "team": { "id": "T1" },
            "user": { "id": "U1", "username": "jane" },
            "api_app_id": "A1",
            "action_id": "case_picker",
            "block_id": "case",
            "value": "phish",
            "view": view("send_to_case"),
            "container": { "type": "view", "view_id": "V1" },
        });
        let Ok(Inbound::BlockSuggestion(suggestion)) = interaction(&in_modal) else {
            panic!("block_suggestion")
        };
        assert_eq!(suggestion.action_id, "case_picker");
        assert_eq!(suggestion.block_id.as_deref(), Some("case"));
        assert_eq!(suggestion.value, "phish");
        assert_eq!(suggestion.view_callback_id(), Some("send_to_case"));
        assert_eq!(suggestion.private_metadata(), Some(r#"{"case":"123"}"#));
        assert_eq!(suggestion.channel_id, None);

        let in_message = json!({
            "type": "block_suggestion",
            "team": { "id": "T1" },
            "user": { "id": "U1" },
            "action_id": "case_picker",
            "container": { "type": "message", "channel_id": "C1", "message_ts": "1.1" },
        });
        let Ok(Inbound::BlockSuggestion(suggestion)) = interaction(&in_message) else {
            panic!("block_suggestion in a message")
        };
        assert_eq!(suggestion.value, "", "nothing typed yet");
        assert_eq!(suggestion.view_callback_id(), None);
        assert_eq!(suggestion.channel_id.as_deref(), Some("C1"));
        let inbound = Inbound::BlockSuggestion(suggestion);
        assert!(
            inbound.is_for_another_app("A1"),
            "names no app: not this one"
        );
        assert_malformed(&in_modal, "action_id", "block_suggestion without action_id");
        assert_malformed(&in_modal, "view.id", "view without id");
    }
}
