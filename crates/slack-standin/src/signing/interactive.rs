//! Interactivity payloads besides `block_actions`: shortcuts, message shortcuts, modal
//! submissions and closes, and options requests for external selects. Each is sent as Slack
//! sends it, form-encoded as `payload=<json>` on the app's interactivity (or options-load) URL.
//!
//! The builders are plain data and know nothing of the stand-in's world; the
//! [`crate::SlackStandin`] helpers (`shortcut`, `message_action`, `view_submission`,
//! `close_view`, `block_suggestion`) fill them from it, with a trigger ID the world issued and
//! the view a person really has open.

use serde_json::{Map, Value, json};

use super::{InboundBody, VERIFICATION_TOKEN, trigger_id};

/// The `user` object of interactivity payloads.
fn user_json(user_id: &str, user_name: &str, team_id: &str) -> Value {
    json!({
        "id": user_id,
        "username": user_name,
        "name": user_name,
        "team_id": team_id,
    })
}

fn team_json(team_id: &str, team_domain: &str) -> Value {
    json!({ "id": team_id, "domain": team_domain })
}

fn action_ts_now() -> String {
    crate::ids::format_ts(chrono::Utc::now().timestamp_micros())
}

fn payload_body(payload: &Value) -> InboundBody {
    InboundBody::form(&[("payload", &payload.to_string())])
}

/// A global shortcut (`type: shortcut`): a person picked the app's shortcut `callback_id` from
/// the shortcuts menu. Carries no channel and no `response_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortcut {
    /// The shortcut's `callback_id` from the app manifest.
    pub callback_id: String,
    /// Workspace ID.
    pub team_id: String,
    /// Workspace subdomain.
    pub team_domain: String,
    /// Who used the shortcut.
    pub user_id: String,
    /// Their handle.
    pub user_name: String,
    /// The app's ID.
    pub api_app_id: String,
    /// Valid 3 s, once, when the stand-in issued it.
    pub trigger_id: String,
    /// When the shortcut was used (`"1700000000.000100"`).
    pub action_ts: String,
}

impl Shortcut {
    /// `user_id` used shortcut `callback_id`; the trigger ID is random (unknown to the stand-in's
    /// `views.open`) unless replaced with [`Shortcut::with_trigger_id`].
    pub fn new(team_id: &str, user_id: &str, callback_id: &str) -> Self {
        Self {
            callback_id: callback_id.to_string(),
            team_id: team_id.to_string(),
            team_domain: "standin".to_string(),
            user_id: user_id.to_string(),
            user_name: "standin.user".to_string(),
            api_app_id: "A0STANDAPP".to_string(),
            trigger_id: trigger_id(),
            action_ts: action_ts_now(),
        }
    }

    /// Carries `trigger_id` (one the stand-in issued).
    pub fn with_trigger_id(mut self, trigger_id: &str) -> Self {
        self.trigger_id = trigger_id.to_string();
        self
    }

    /// The `payload` JSON.
    pub fn to_payload(&self) -> Value {
        json!({
            "type": "shortcut",
            "token": VERIFICATION_TOKEN,
            "action_ts": self.action_ts,
            "team": team_json(&self.team_id, &self.team_domain),
            "user": user_json(&self.user_id, &self.user_name, &self.team_id),
            "api_app_id": self.api_app_id,
            "is_enterprise_install": false,
            "enterprise": null,
            "callback_id": self.callback_id,
            "trigger_id": self.trigger_id,
        })
    }

    /// The form body `payload=<json>`.
    pub fn into_body(self) -> InboundBody {
        payload_body(&self.to_payload())
    }
}

/// A message shortcut (`type: message_action`): a person picked the app's shortcut
/// `callback_id` from a message's menu. Carries the message as Slack stores it (`text` escaped,
/// mentions as markup, `files` when it shares files), its channel and a `response_url`.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageAction {
    /// The shortcut's `callback_id` from the app manifest.
    pub callback_id: String,
    /// Workspace ID.
    pub team_id: String,
    /// Workspace subdomain.
    pub team_domain: String,
    /// Who used the shortcut.
    pub user_id: String,
    /// Their handle.
    pub user_name: String,
    /// The message's channel.
    pub channel_id: String,
    /// The channel's name.
    pub channel_name: String,
    /// The message object (`type`, `user`, `ts`, `text`, `files`...).
    pub message: Value,
    /// The app's ID.
    pub api_app_id: String,
    /// Where the app may answer (5 posts, 30 minutes).
    pub response_url: String,
    /// Valid 3 s, once, when the stand-in issued it.
    pub trigger_id: String,
    /// When the shortcut was used.
    pub action_ts: String,
}

impl MessageAction {
    /// `user_id` used shortcut `callback_id` on `message` (a message object with at least
    /// `ts`) in `channel_id`. [`crate::SlackStandin::message_action`] builds one from a stored
    /// message.
    pub fn new(
        team_id: &str,
        user_id: &str,
        channel_id: &str,
        callback_id: &str,
        message: Value,
    ) -> Self {
        Self {
            callback_id: callback_id.to_string(),
            team_id: team_id.to_string(),
            team_domain: "standin".to_string(),
            user_id: user_id.to_string(),
            user_name: "standin.user".to_string(),
            channel_id: channel_id.to_string(),
            channel_name: "general".to_string(),
            message,
            api_app_id: "A0STANDAPP".to_string(),
            response_url: format!("https://hooks.slack.com/app/{team_id}/1/standin"),
            trigger_id: trigger_id(),
            action_ts: action_ts_now(),
        }
    }

    /// Carries `trigger_id` (one the stand-in issued).
    pub fn with_trigger_id(mut self, trigger_id: &str) -> Self {
        self.trigger_id = trigger_id.to_string();
        self
    }

    /// Carries `response_url`.
    pub fn with_response_url(mut self, response_url: &str) -> Self {
        self.response_url = response_url.to_string();
        self
    }

    /// The `ts` of the message (`message_ts`).
    pub fn message_ts(&self) -> &str {
        self.message.get("ts").and_then(Value::as_str).unwrap_or("")
    }

    /// The `payload` JSON.
    pub fn to_payload(&self) -> Value {
        json!({
            "type": "message_action",
            "token": VERIFICATION_TOKEN,
            "action_ts": self.action_ts,
            "team": team_json(&self.team_id, &self.team_domain),
            "user": user_json(&self.user_id, &self.user_name, &self.team_id),
            "channel": { "id": self.channel_id, "name": self.channel_name },
            "api_app_id": self.api_app_id,
            "is_enterprise_install": false,
            "enterprise": null,
            "callback_id": self.callback_id,
            "trigger_id": self.trigger_id,
            "response_url": self.response_url,
            "message_ts": self.message_ts(),
            "message": self.message,
        })
    }

    /// The form body `payload=<json>`.
    pub fn into_body(self) -> InboundBody {
        payload_body(&self.to_payload())
    }
}

/// One option of a select, checkbox group or radio group as Slack reports it chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedOption {
    /// The option's shown text (`text.text`).
    pub text: String,
    /// The option's `value`.
    pub value: String,
}

impl SelectedOption {
    /// An option by shown text and value.
    pub fn new(text: &str, value: &str) -> Self {
        Self {
            text: text.to_string(),
            value: value.to_string(),
        }
    }

    /// An option known by its value only: when the stand-in builds a submission from an open
    /// view, it takes the text from the view's option with this value.
    pub fn value(value: &str) -> Self {
        Self::new(value, value)
    }

    fn to_json(&self) -> Value {
        json!({
            "text": { "type": "plain_text", "text": self.text, "emoji": true },
            "value": self.value,
        })
    }
}

/// What a person entered in one input element, typed as Slack reports it in
/// `view.state.values[block_id][action_id]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputValue {
    /// `plain_text_input`: `value`.
    PlainText(String),
    /// `static_select`: `selected_option`.
    StaticSelect(SelectedOption),
    /// `external_select`: `selected_option` (an option the app's options load offered).
    ExternalSelect(SelectedOption),
    /// `multi_static_select`: `selected_options`.
    MultiStaticSelect(Vec<SelectedOption>),
    /// `datepicker`: `selected_date`, `YYYY-MM-DD`.
    Datepicker(String),
    /// `checkboxes`: `selected_options`.
    Checkboxes(Vec<SelectedOption>),
    /// `radio_buttons`: `selected_option`.
    RadioButtons(SelectedOption),
    /// `users_select`: `selected_user`.
    UsersSelect(String),
    /// `multi_users_select`: `selected_users`.
    MultiUsersSelect(Vec<String>),
}

/// The input element types [`InputValue`] covers.
pub const INPUT_ELEMENT_TYPES: &[&str] = &[
    "plain_text_input",
    "static_select",
    "external_select",
    "multi_static_select",
    "datepicker",
    "checkboxes",
    "radio_buttons",
    "users_select",
    "multi_users_select",
];

impl InputValue {
    /// The element `type` this value belongs to.
    pub fn element_type(&self) -> &'static str {
        match self {
            Self::PlainText(_) => "plain_text_input",
            Self::StaticSelect(_) => "static_select",
            Self::ExternalSelect(_) => "external_select",
            Self::MultiStaticSelect(_) => "multi_static_select",
            Self::Datepicker(_) => "datepicker",
            Self::Checkboxes(_) => "checkboxes",
            Self::RadioButtons(_) => "radio_buttons",
            Self::UsersSelect(_) => "users_select",
            Self::MultiUsersSelect(_) => "multi_users_select",
        }
    }

    /// Whether nothing was entered (an empty text, no option, no user).
    pub fn is_empty(&self) -> bool {
        match self {
            Self::PlainText(text) | Self::Datepicker(text) | Self::UsersSelect(text) => {
                text.is_empty()
            }
            Self::StaticSelect(_) | Self::ExternalSelect(_) | Self::RadioButtons(_) => false,
            Self::MultiStaticSelect(options) | Self::Checkboxes(options) => options.is_empty(),
            Self::MultiUsersSelect(users) => users.is_empty(),
        }
    }

    /// The options chosen (selects, checkboxes, radio buttons), for checking them against the
    /// view; mutable so the stand-in can put in the view's texts.
    pub(crate) fn options_mut(&mut self) -> Vec<&mut SelectedOption> {
        match self {
            Self::StaticSelect(option)
            | Self::ExternalSelect(option)
            | Self::RadioButtons(option) => vec![option],
            Self::MultiStaticSelect(options) | Self::Checkboxes(options) => {
                options.iter_mut().collect()
            }
            _ => Vec::new(),
        }
    }

    /// The state entry Slack sends (`{"type":"plain_text_input","value":"..."}`...).
    pub fn to_state(&self) -> Value {
        let options = |options: &[SelectedOption]| -> Value {
            Value::Array(options.iter().map(SelectedOption::to_json).collect())
        };
        let kind = self.element_type();
        match self {
            Self::PlainText(text) => json!({ "type": kind, "value": text }),
            Self::StaticSelect(option)
            | Self::ExternalSelect(option)
            | Self::RadioButtons(option) => {
                json!({ "type": kind, "selected_option": option.to_json() })
            }
            Self::MultiStaticSelect(chosen) | Self::Checkboxes(chosen) => {
                json!({ "type": kind, "selected_options": options(chosen) })
            }
            Self::Datepicker(date) => json!({ "type": kind, "selected_date": date }),
            Self::UsersSelect(user) => json!({ "type": kind, "selected_user": user }),
            Self::MultiUsersSelect(users) => json!({ "type": kind, "selected_users": users }),
        }
    }
}

/// The state entry Slack sends for an element of type `element_type` nobody filled in (`value:
/// null`, `selected_options: []`...); `None` for a type that is not an input element.
pub fn empty_state(element_type: &str) -> Option<Value> {
    let field = match element_type {
        "plain_text_input" => ("value", Value::Null),
        "static_select" | "external_select" | "radio_buttons" => ("selected_option", Value::Null),
        "multi_static_select" | "checkboxes" => ("selected_options", json!([])),
        "datepicker" => ("selected_date", Value::Null),
        "users_select" => ("selected_user", Value::Null),
        "multi_users_select" => ("selected_users", json!([])),
        _ => return None,
    };
    let mut state = Map::new();
    state.insert("type".to_string(), json!(element_type));
    state.insert(field.0.to_string(), field.1);
    Some(Value::Object(state))
}

/// A modal submitted (`type: view_submission`). `view` is the view as Slack sends it back (the
/// one `views.open` answered, with `id`, `hash`, `callback_id`, `private_metadata`...);
/// [`ViewSubmission::with_value`] sets what the person entered in its `state.values`.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewSubmission {
    /// Workspace ID.
    pub team_id: String,
    /// Workspace subdomain.
    pub team_domain: String,
    /// Who submitted.
    pub user_id: String,
    /// Their handle.
    pub user_name: String,
    /// The app's ID.
    pub api_app_id: String,
    /// The view, its `state.values` included.
    pub view: Value,
    /// A trigger for a follow-up modal (valid 3 s, once, when the stand-in issued it).
    pub trigger_id: String,
    /// `response_urls` (one per `response_url_enabled` conversation select; usually empty).
    pub response_urls: Vec<Value>,
}

impl ViewSubmission {
    /// `user_id` submitted `view` as it is.
    pub fn new(team_id: &str, user_id: &str, view: Value) -> Self {
        Self {
            team_id: team_id.to_string(),
            team_domain: "standin".to_string(),
            user_id: user_id.to_string(),
            user_name: "standin.user".to_string(),
            api_app_id: "A0STANDAPP".to_string(),
            view,
            trigger_id: trigger_id(),
            response_urls: Vec::new(),
        }
    }

    /// Sets `view.state.values[block_id][action_id]` to `value`.
    pub fn with_value(mut self, block_id: &str, action_id: &str, value: &InputValue) -> Self {
        self.set_state(block_id, action_id, value.to_state());
        self
    }

    /// Sets one raw state entry (a shape [`InputValue`] does not cover).
    pub fn set_state(&mut self, block_id: &str, action_id: &str, state: Value) {
        if !self.view.is_object() {
            self.view = json!({});
        }
        let values = &mut self.view["state"]["values"];
        if !values.is_object() {
            *values = json!({});
        }
        let block = &mut values[block_id];
        if !block.is_object() {
            *block = json!({});
        }
        block[action_id] = state;
    }

    /// Carries `trigger_id`.
    pub fn with_trigger_id(mut self, trigger_id: &str) -> Self {
        self.trigger_id = trigger_id.to_string();
        self
    }

    /// The `payload` JSON.
    pub fn to_payload(&self) -> Value {
        json!({
            "type": "view_submission",
            "token": VERIFICATION_TOKEN,
            "team": team_json(&self.team_id, &self.team_domain),
            "user": user_json(&self.user_id, &self.user_name, &self.team_id),
            "api_app_id": self.api_app_id,
            "trigger_id": self.trigger_id,
            "view": self.view,
            "response_urls": self.response_urls,
            "is_enterprise_install": false,
            "enterprise": null,
        })
    }

    /// The form body `payload=<json>`.
    pub fn into_body(self) -> InboundBody {
        payload_body(&self.to_payload())
    }
}

/// A modal closed with its Cancel button or its X (`type: view_closed`). Slack sends it only
/// for views opened with `notify_on_close: true`. `is_cleared` is true when the whole stack
/// closed (the X), false when one pushed view was cancelled.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewClosed {
    /// Workspace ID.
    pub team_id: String,
    /// Workspace subdomain.
    pub team_domain: String,
    /// Who closed it.
    pub user_id: String,
    /// Their handle.
    pub user_name: String,
    /// The app's ID.
    pub api_app_id: String,
    /// The view as it was when closed.
    pub view: Value,
    /// Whether every view of the stack closed.
    pub is_cleared: bool,
}

impl ViewClosed {
    /// `user_id` closed `view`.
    pub fn new(team_id: &str, user_id: &str, view: Value, is_cleared: bool) -> Self {
        Self {
            team_id: team_id.to_string(),
            team_domain: "standin".to_string(),
            user_id: user_id.to_string(),
            user_name: "standin.user".to_string(),
            api_app_id: "A0STANDAPP".to_string(),
            view,
            is_cleared,
        }
    }

    /// The `payload` JSON.
    pub fn to_payload(&self) -> Value {
        json!({
            "type": "view_closed",
            "token": VERIFICATION_TOKEN,
            "team": team_json(&self.team_id, &self.team_domain),
            "user": user_json(&self.user_id, &self.user_name, &self.team_id),
            "api_app_id": self.api_app_id,
            "view": self.view,
            "is_cleared": self.is_cleared,
            "is_enterprise_install": false,
            "enterprise": null,
        })
    }

    /// The form body `payload=<json>`.
    pub fn into_body(self) -> InboundBody {
        payload_body(&self.to_payload())
    }
}

/// An options request for an `external_select` (`type: block_suggestion`), sent to the
/// options-load URL while a person types; the app has 3 s to answer `{"options":[...]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockSuggestion {
    /// Workspace ID.
    pub team_id: String,
    /// Workspace subdomain.
    pub team_domain: String,
    /// Who is typing.
    pub user_id: String,
    /// Their handle.
    pub user_name: String,
    /// The app's ID.
    pub api_app_id: String,
    /// The select's `action_id`.
    pub action_id: String,
    /// Its block's `block_id`.
    pub block_id: String,
    /// What was typed so far.
    pub value: String,
    /// The view holding the select.
    pub view: Value,
}

impl BlockSuggestion {
    /// `user_id` typed `value` into select `action_id` of block `block_id` in `view`.
    pub fn new(
        team_id: &str,
        user_id: &str,
        view: Value,
        block_id: &str,
        action_id: &str,
        value: &str,
    ) -> Self {
        Self {
            team_id: team_id.to_string(),
            team_domain: "standin".to_string(),
            user_id: user_id.to_string(),
            user_name: "standin.user".to_string(),
            api_app_id: "A0STANDAPP".to_string(),
            action_id: action_id.to_string(),
            block_id: block_id.to_string(),
            value: value.to_string(),
            view,
        }
    }

    /// The `payload` JSON.
    pub fn to_payload(&self) -> Value {
        let view_id = self.view.get("id").cloned().unwrap_or(Value::Null);
        json!({
            "type": "block_suggestion",
            "token": VERIFICATION_TOKEN,
            "user": user_json(&self.user_id, &self.user_name, &self.team_id),
            "container": { "type": "view", "view_id": view_id },
            "api_app_id": self.api_app_id,
            "action_id": self.action_id,
            "block_id": self.block_id,
            "value": self.value,
            "team": team_json(&self.team_id, &self.team_domain),
            "view": self.view,
            "is_enterprise_install": false,
            "enterprise": null,
        })
    }

    /// The form body `payload=<json>`.
    pub fn into_body(self) -> InboundBody {
        payload_body(&self.to_payload())
    }
}
