//! Answering the person: through the interaction's `response_url`, falling back to the Web API
//! (`chat.postEphemeral`, or `chat.postMessage` for announcements) when the URL fails.
//!
//! A `response_url` is a bearer capability: it is never logged, not even in error messages
//! (errors here name the HTTP status only).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Request;
use hyper::header::CONTENT_TYPE;
use serde_json::{Value, json};
use sirslack_slack_api::http::full_body;
use sirslack_slack_router::ResponseUrl;
use slack_morphism::prelude::SlackMessageContent;
use tracing::{error, warn};

use crate::slack::Slack;

/// How long one post to a `response_url` may take.
const RESPONSE_URL_TIMEOUT: Duration = Duration::from_secs(5);

/// Who sees a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Only the person who ran the command (lookups, refusals, errors).
    Ephemeral,
    /// Everyone in the channel (changes).
    InChannel,
}

impl Visibility {
    fn response_type(self) -> &'static str {
        match self {
            Self::Ephemeral => "ephemeral",
            Self::InChannel => "in_channel",
        }
    }
}

/// A message for the person or the channel.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Who sees it.
    pub visibility: Visibility,
    /// What it says.
    pub content: SlackMessageContent,
    /// Removes the message holding the clicked button instead of posting (`delete_original`).
    pub delete_original: bool,
}

impl Reply {
    /// A message only the person sees.
    pub fn ephemeral(content: SlackMessageContent) -> Self {
        Self {
            visibility: Visibility::Ephemeral,
            content,
            delete_original: false,
        }
    }

    /// A plain-text (`mrkdwn`) message only the person sees.
    pub fn ephemeral_text(text: impl Into<String>) -> Self {
        Self::ephemeral(SlackMessageContent::new().with_text(text.into()))
    }

    /// A message the whole channel sees.
    pub fn in_channel(content: SlackMessageContent) -> Self {
        Self {
            visibility: Visibility::InChannel,
            content,
            delete_original: false,
        }
    }

    /// Removes the (ephemeral) message whose button was clicked.
    pub fn delete_original() -> Self {
        Self {
            visibility: Visibility::Ephemeral,
            content: SlackMessageContent::new(),
            delete_original: true,
        }
    }

    /// The JSON body for a `response_url`. Nothing replaces the original message: a command's
    /// answer is a new message, so the case message keeps its buttons.
    pub fn response_url_body(&self) -> Value {
        if self.delete_original {
            return json!({ "delete_original": true });
        }
        let mut body = serde_json::to_value(&self.content).unwrap_or_else(|_| json!({}));
        if let Value::Object(fields) = &mut body {
            fields.insert(
                "response_type".into(),
                json!(self.visibility.response_type()),
            );
            fields.insert("replace_original".into(), json!(false));
        }
        body
    }

    /// The message's fallback text (for tests and logs of refusals, never of secrets).
    pub fn text(&self) -> &str {
        self.content.text.as_deref().unwrap_or_default()
    }
}

/// Where replies to one interaction go.
#[derive(Debug, Clone)]
pub struct ReplyTarget {
    /// The interaction's `response_url`.
    pub response_url: ResponseUrl,
    /// The channel, for the fallback.
    pub channel_id: String,
    /// The person, for an ephemeral fallback.
    pub user_id: String,
}

/// How a reply reached Slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Through the `response_url`.
    ResponseUrl,
    /// Through the Web API after the `response_url` failed.
    Fallback,
    /// Not at all (logged).
    Failed,
}

/// Posts replies. Never fails: a reply that cannot be delivered is logged.
#[derive(Debug, Clone)]
pub struct Responder {
    slack: Slack,
}

/// Why a `response_url` post failed (no URL in it).
#[derive(Debug, thiserror::Error)]
enum PostError {
    #[error("the response_url is not a valid URI")]
    InvalidUrl,
    #[error("the response_url request could not be built")]
    Request,
    #[error("the response_url did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the response_url could not be reached")]
    Network,
    #[error("the response_url answered HTTP {status}: {reason}")]
    Status { status: u16, reason: String },
}

impl Responder {
    /// Posts with `slack`'s HTTP client, and falls back to its Web API calls.
    pub fn new(slack: Slack) -> Self {
        Self { slack }
    }

    /// Delivers `reply` to `target`.
    pub async fn send(&self, target: &ReplyTarget, reply: &Reply) -> Delivery {
        let error = match self.post(&target.response_url, reply).await {
            Ok(()) => return Delivery::ResponseUrl,
            Err(error) => error,
        };
        warn!(
            %error,
            channel = %target.channel_id,
            user = %target.user_id,
            "response_url post failed; falling back to the Web API"
        );
        if reply.delete_original {
            // An ephemeral message cannot be deleted through the Web API; it fades on its own.
            return Delivery::Failed;
        }
        let fallback = match reply.visibility {
            Visibility::Ephemeral => {
                self.slack
                    .post_ephemeral(&target.channel_id, &target.user_id, &reply.content)
                    .await
            }
            Visibility::InChannel => {
                self.slack
                    .post_message(&target.channel_id, &reply.content)
                    .await
            }
        };
        match fallback {
            Ok(()) => Delivery::Fallback,
            Err(error) => {
                error!(
                    %error,
                    channel = %target.channel_id,
                    user = %target.user_id,
                    "reply could not be delivered"
                );
                Delivery::Failed
            }
        }
    }

    async fn post(&self, url: &ResponseUrl, reply: &Reply) -> Result<(), PostError> {
        let uri: hyper::Uri = url.expose().parse().map_err(|_| PostError::InvalidUrl)?;
        let body =
            serde_json::to_vec(&reply.response_url_body()).map_err(|_| PostError::Request)?;
        let request = Request::post(uri)
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .body(full_body(Bytes::from(body)))
            .map_err(|_| PostError::Request)?;
        let call = self.slack.api().http_client().request(request);
        let response = tokio::time::timeout(RESPONSE_URL_TIMEOUT, call)
            .await
            .map_err(|_| PostError::Timeout(RESPONSE_URL_TIMEOUT))?
            .map_err(|_| PostError::Network)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // Slack answers a used or expired URL with a short reason such as `expired_url`.
        let reason = match tokio::time::timeout(
            RESPONSE_URL_TIMEOUT,
            response.into_body().collect(),
        )
        .await
        {
            Ok(Ok(body)) => {
                let text = String::from_utf8_lossy(&body.to_bytes()).into_owned();
                text.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(40)
                    .collect()
            }
            _ => String::new(),
        };
        Err(PostError::Status {
            status: status.as_u16(),
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_the_response_type_and_never_replace() {
        let reply =
            Reply::in_channel(SlackMessageContent::new().with_text("Jane set status".into()));
        let body = reply.response_url_body();
        assert_eq!(body["response_type"], "in_channel");
        assert_eq!(body["replace_original"], false);
        assert_eq!(body["text"], "Jane set status");
        assert_eq!(reply.text(), "Jane set status");

        let refusal = Reply::ephemeral_text("no");
        assert_eq!(refusal.response_url_body()["response_type"], "ephemeral");

        assert_eq!(
            Reply::delete_original().response_url_body(),
            json!({ "delete_original": true })
        );
    }
}
