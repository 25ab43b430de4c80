//! What a listener answers: the acknowledgement Slack gets, and the work handed off.

use std::fmt;

use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};

use sirslack_domain::limits::truncate_chars;

use crate::BoxFuture;
use crate::handoff::HandOff;

/// Most options (and most option groups, and most options in one group) Slack takes in one
/// answer to a `block_suggestion`.
pub const MAX_OPTIONS: usize = 100;
/// Most characters in an option's text or an option group's label (longer ones are cut by
/// [`Ack::options`] and [`Ack::option_groups`], ending in `…`).
pub const OPTION_TEXT_MAX: usize = 75;
/// Most characters in an option's value. Slack refuses the whole answer over it, and a value
/// cannot be cut without changing what it names: keep values short (a case ID).
pub const OPTION_VALUE_MAX: usize = 150;

/// One option of an `external_select`: what the person sees, and the value the app gets back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectOption {
    /// Shown (plain text, at most [`OPTION_TEXT_MAX`] characters).
    pub text: String,
    /// Sent back in `selected_option.value` (at most [`OPTION_VALUE_MAX`] characters).
    pub value: String,
}

impl SelectOption {
    /// An option.
    pub fn new(text: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            value: value.into(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "text": plain_text(&self.text),
            "value": self.value,
        })
    }
}

/// A labelled group of options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionGroup {
    /// The group's label (plain text, at most [`OPTION_TEXT_MAX`] characters).
    pub label: String,
    /// Its options (at most [`MAX_OPTIONS`]).
    pub options: Vec<SelectOption>,
}

impl OptionGroup {
    /// A group.
    pub fn new(label: impl Into<String>, options: Vec<SelectOption>) -> Self {
        Self {
            label: label.into(),
            options,
        }
    }
}

fn plain_text(text: &str) -> Value {
    json!({ "type": "plain_text", "text": truncate_chars(text, OPTION_TEXT_MAX) })
}

fn options_json(options: impl IntoIterator<Item = SelectOption>) -> Vec<Value> {
    options
        .into_iter()
        .take(MAX_OPTIONS)
        .map(|option| option.to_json())
        .collect()
}

/// The body of the `200` Slack gets.
#[derive(Debug, Clone, PartialEq)]
pub enum Ack {
    /// An empty `200`: what events and most interactions want.
    Empty,
    /// A JSON body, such as a slash command's message.
    Json(Value),
    /// A plain-text body.
    Text(String),
}

impl Ack {
    /// A message only the person who ran the command sees.
    pub fn ephemeral(text: impl Into<String>) -> Self {
        Self::Json(json!({ "response_type": "ephemeral", "text": text.into() }))
    }

    /// A `view_submission` answer keeping the modal open with an error under each named input
    /// block: `{"response_action":"errors","errors":{block_id: text}}`. Name only `input`
    /// blocks of the submitted view ([`crate::View::input_block_ids`]); Slack refuses others.
    pub fn view_errors<B, T>(errors: impl IntoIterator<Item = (B, T)>) -> Self
    where
        B: Into<String>,
        T: Into<String>,
    {
        let errors: serde_json::Map<String, Value> = errors
            .into_iter()
            .map(|(block_id, text)| (block_id.into(), Value::String(text.into())))
            .collect();
        Self::Json(json!({ "response_action": "errors", "errors": errors }))
    }

    /// A `view_submission` answer closing the whole stack of modals:
    /// `{"response_action":"clear"}`. ([`Ack::Empty`] closes only the submitted view.)
    pub fn view_clear() -> Self {
        Self::Json(json!({ "response_action": "clear" }))
    }

    /// A `view_submission` answer replacing the submitted view with `view` (a `modal` view
    /// object): `{"response_action":"update","view":view}`.
    pub fn view_update(view: Value) -> Self {
        Self::Json(json!({ "response_action": "update", "view": view }))
    }

    /// A `view_submission` answer pushing `view` (a `modal` view object) on top of the
    /// submitted one (a stack holds at most 3): `{"response_action":"push","view":view}`.
    pub fn view_push(view: Value) -> Self {
        Self::Json(json!({ "response_action": "push", "view": view }))
    }

    /// A `block_suggestion` answer: `{"options":[{"text":{"type":"plain_text","text":..},
    /// "value":..}]}`, the first [`MAX_OPTIONS`], texts cut to [`OPTION_TEXT_MAX`].
    pub fn options(options: impl IntoIterator<Item = SelectOption>) -> Self {
        Self::Json(json!({ "options": options_json(options) }))
    }

    /// A `block_suggestion` answer in groups: `{"option_groups":[{"label":{"type":
    /// "plain_text","text":..},"options":[..]}]}`, the first [`MAX_OPTIONS`] groups and the
    /// first [`MAX_OPTIONS`] options of each, labels and texts cut to [`OPTION_TEXT_MAX`].
    pub fn option_groups(groups: impl IntoIterator<Item = OptionGroup>) -> Self {
        let groups: Vec<Value> = groups
            .into_iter()
            .take(MAX_OPTIONS)
            .map(|group| {
                json!({
                    "label": plain_text(&group.label),
                    "options": options_json(group.options),
                })
            })
            .collect();
        Self::Json(json!({ "option_groups": groups }))
    }

    /// The text of an ephemeral or in-channel message ack, if this is one.
    pub fn message_text(&self) -> Option<&str> {
        match self {
            Self::Json(body) => body.get("text").and_then(Value::as_str),
            Self::Text(text) => Some(text),
            Self::Empty => None,
        }
    }

    pub(crate) fn into_response(self) -> Response<String> {
        let (content_type, body) = match self {
            Self::Empty => (None, String::new()),
            Self::Json(value) => (Some("application/json"), value.to_string()),
            Self::Text(text) => (Some("text/plain; charset=utf-8"), text),
        };
        let mut response = Response::new(body);
        *response.status_mut() = StatusCode::OK;
        if let Some(content_type) = content_type {
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        response
    }
}

/// A listener's answer: the [`Ack`], and work to continue in another invocation.
///
/// The router sends every [`HandOff`] before it returns the ack. If a hand-off cannot be sent,
/// the request is answered with [`Outcome::if_hand_off_fails`] when the listener gave one (the
/// right thing for slash commands, which Slack never retries: tell the person), and otherwise
/// with `500` after releasing the event's dedupe markers, so that Slack's retry can succeed.
/// [`Outcome::on_hand_off_failure`] adds work to run in that case, such as posting to a
/// `response_url` (Slack shows nothing of a `block_actions` ack body).
pub struct Outcome {
    pub(crate) ack: Ack,
    pub(crate) hand_offs: Vec<HandOff>,
    pub(crate) if_hand_off_fails: Option<Ack>,
    pub(crate) on_hand_off_failure: Option<BoxFuture<'static, ()>>,
    pub(crate) note: &'static str,
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outcome")
            .field("ack", &self.ack)
            .field("hand_offs", &self.hand_offs)
            .field("if_hand_off_fails", &self.if_hand_off_fails)
            .field("on_hand_off_failure", &self.on_hand_off_failure.is_some())
            .field("note", &self.note)
            .finish()
    }
}

impl Outcome {
    /// Acknowledge with `ack`, nothing handed off.
    pub fn ack(ack: Ack) -> Self {
        Self {
            ack,
            hand_offs: Vec::new(),
            if_hand_off_fails: None,
            on_hand_off_failure: None,
            note: "handled",
        }
    }

    /// An empty `200` for a request deliberately left alone; `why` goes to the request log
    /// (`bot_message`, `unlinked_channel`...). Keep it a fixed word, never user data.
    pub fn ignored(why: &'static str) -> Self {
        Self {
            note: why,
            ..Self::ack(Ack::Empty)
        }
    }

    /// Also hand `hand_off` to another invocation before acknowledging.
    pub fn with_hand_off(mut self, hand_off: HandOff) -> Self {
        self.hand_offs.push(hand_off);
        if self.note == "handled" {
            self.note = "handed_off";
        }
        self
    }

    /// The ack to send instead when a hand-off cannot be sent.
    pub fn if_hand_off_fails(mut self, ack: Ack) -> Self {
        self.if_hand_off_fails = Some(ack);
        self
    }

    /// Work to run (before answering) when a hand-off cannot be sent.
    pub fn on_hand_off_failure(
        mut self,
        work: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.on_hand_off_failure = Some(Box::pin(work));
        self
    }

    /// A fixed word for the request log.
    pub fn with_note(mut self, note: &'static str) -> Self {
        self.note = note;
        self
    }

    /// The acknowledgement.
    pub fn ack_body(&self) -> &Ack {
        &self.ack
    }

    /// The work handed off.
    pub fn hand_offs(&self) -> &[HandOff] {
        &self.hand_offs
    }

    /// The word for the request log.
    pub fn note(&self) -> &'static str {
        self.note
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_render_as_slack_expects() {
        let response = Ack::ephemeral("Working on it...").into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body: Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(body["response_type"], "ephemeral");
        assert_eq!(body["text"], "Working on it...");

        let empty = Ack::Empty.into_response();
        assert!(empty.body().is_empty());
        assert!(empty.headers().get(header::CONTENT_TYPE).is_none());
        assert_eq!(Ack::Text("x".into()).message_text(), Some("x"));
    }

    fn wire(ack: Ack) -> Value {
        let response = ack.into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        serde_json::from_str(response.body()).expect("JSON")
    }

    #[test]
    fn view_submission_acks_are_slacks_response_actions() {
        assert_eq!(
            wire(Ack::view_errors([
                ("accounts", "Enter 12-digit account IDs"),
                ("title", "Enter a title"),
            ])),
            json!({ "response_action": "errors", "errors": {
                "accounts": "Enter 12-digit account IDs", "title": "Enter a title" } })
        );
        assert_eq!(
            wire(Ack::view_clear()),
            json!({ "response_action": "clear" })
        );
        let view = json!({ "type": "modal", "title": { "type": "plain_text", "text": "Done" },
                           "blocks": [] });
        assert_eq!(
            wire(Ack::view_update(view.clone())),
            json!({ "response_action": "update", "view": view })
        );
        assert_eq!(
            wire(Ack::view_push(view.clone())),
            json!({ "response_action": "push", "view": view })
        );
        assert_eq!(Ack::view_clear().message_text(), None);
    }

    #[test]
    fn options_acks_keep_to_slacks_limits() {
        assert_eq!(
            wire(Ack::options([
                SelectOption::new("Case 123: Phishing", "123"),
                SelectOption::new("Case 456: Ransomware", "456"),
            ])),
            json!({ "options": [
                { "text": { "type": "plain_text", "text": "Case 123: Phishing" }, "value": "123" },
                { "text": { "type": "plain_text", "text": "Case 456: Ransomware" }, "value": "456" },
            ] })
        );
        assert_eq!(wire(Ack::options([])), json!({ "options": [] }));

        let many = (0..150).map(|n| SelectOption::new("x".repeat(100), n.to_string()));
        let body = wire(Ack::options(many));
        let options = body["options"].as_array().expect("options");
        assert_eq!(options.len(), MAX_OPTIONS);
        assert_eq!(options[99]["value"], "99");
        let text = options[0]["text"]["text"].as_str().expect("text");
        assert_eq!(text.chars().count(), OPTION_TEXT_MAX);
        assert!(text.ends_with('…'));

        assert_eq!(
            wire(Ack::option_groups([
                OptionGroup::new("Open", vec![SelectOption::new("Case 1", "1")]),
                OptionGroup::new("Closed", vec![]),
            ])),
            json!({ "option_groups": [
                { "label": { "type": "plain_text", "text": "Open" },
                  "options": [{ "text": { "type": "plain_text", "text": "Case 1" }, "value": "1" }] },
                { "label": { "type": "plain_text", "text": "Closed" }, "options": [] },
            ] })
        );
        let groups = (0..120).map(|n| {
            OptionGroup::new(
                format!("group {n}"),
                (0..120)
                    .map(|m| SelectOption::new("o", m.to_string()))
                    .collect(),
            )
        });
        let body = wire(Ack::option_groups(groups));
        let groups = body["option_groups"].as_array().expect("groups");
        assert_eq!(groups.len(), MAX_OPTIONS);
        assert_eq!(
            groups[0]["options"].as_array().map(Vec::len),
            Some(MAX_OPTIONS)
        );
    }
}
