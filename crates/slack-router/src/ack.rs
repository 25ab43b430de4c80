//! What a listener answers: the acknowledgement Slack gets, and the work handed off.

use std::fmt;

use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};

use crate::BoxFuture;
use crate::handoff::HandOff;

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
}
