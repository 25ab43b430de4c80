use std::time::Instant;

use serde_json::Value;

/// One request the stand-in answered.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCall {
    /// The Web API method from the URL (`chat.postMessage`), or one of
    /// [`crate::UPLOAD_CALL`], [`crate::DOWNLOAD_CALL`], [`crate::RESPONSE_URL_CALL`].
    pub method: String,
    /// `GET` or `POST`.
    pub http_method: String,
    /// The arguments as received (query and body merged, body winning), without `token`.
    /// Form values stay strings; JSON bodies keep their types.
    pub params: Value,
    /// The request's content type, if any.
    pub content_type: Option<String>,
    /// The token presented (Authorization header or `token` argument). Kept in memory for
    /// token-rotation tests; never logged.
    pub token: Option<String>,
    /// HTTP status answered.
    pub status: u16,
    /// The envelope's `ok` (false for HTTP errors too).
    pub ok: bool,
    /// The envelope's `error`, or `ratelimited` / `http_<status>` for injected faults.
    pub error: Option<String>,
    /// When the request arrived.
    pub received_at: Instant,
}

/// One message posted to a `response_url`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponsePost {
    /// `ephemeral` or `in_channel` when given (Slack defaults to `ephemeral`).
    pub response_type: Option<String>,
    /// The `text`, if any.
    pub text: Option<String>,
    /// The `blocks` array, if any.
    pub blocks: Option<Value>,
    /// `replace_original`: the post replaces the message that carried the command or button.
    pub replace_original: bool,
    /// `delete_original`: the post deletes that message.
    pub delete_original: bool,
    /// The whole JSON body.
    pub body: Value,
}
