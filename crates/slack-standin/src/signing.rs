//! Signed requests as Slack sends them to an app: Events API callbacks, slash commands and
//! interactivity payloads.
//!
//! Slack signs `v0:{timestamp}:{raw body}` with HMAC-SHA256 under the app's signing secret and
//! sends `X-Slack-Signature: v0=<hex>` and `X-Slack-Request-Timestamp: <unix seconds>`.
//!
//! ```
//! use slack_standin::signing::{SlackSigner, events, EventCallback};
//! let signer = SlackSigner::new("signing-secret");
//! let event = events::message("C0123", "U0123", "hello", "1700000000.000100");
//! let request = signer.sign(EventCallback::new("T0123", event).into_body());
//! assert!(request.signature.starts_with("v0="));
//! ```

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::ids::{random_token, unix_now};

mod interactive;

pub use interactive::{
    BlockSuggestion, INPUT_ELEMENT_TYPES, InputValue, MessageAction, SelectedOption, Shortcut,
    ViewClosed, ViewSubmission, empty_state,
};

/// `X-Slack-Signature`: `v0=` + hex HMAC-SHA256.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// `X-Slack-Request-Timestamp`: Unix seconds of the signature.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// `X-Slack-Retry-Num` on Slack's retries of an event.
pub const RETRY_NUM_HEADER: &str = "x-slack-retry-num";
/// `X-Slack-Retry-Reason` (`http_timeout`, `http_error`...).
pub const RETRY_REASON_HEADER: &str = "x-slack-retry-reason";

/// Content type of Events API requests.
pub const JSON_CONTENT_TYPE: &str = "application/json";
/// Content type of slash command and interactivity requests.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// The `token` field Slack still puts in payloads (the deprecated verification token).
const VERIFICATION_TOKEN: &str = "standinVerificationToken";

/// A request body before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundBody {
    /// The `Content-Type` header.
    pub content_type: String,
    /// The raw body, exactly as signed.
    pub body: String,
}

impl InboundBody {
    /// A JSON body (Events API).
    pub fn json(value: &Value) -> Self {
        Self {
            content_type: JSON_CONTENT_TYPE.to_string(),
            body: value.to_string(),
        }
    }

    /// A form-encoded body with the fields in the given order.
    pub fn form(fields: &[(&str, &str)]) -> Self {
        Self {
            content_type: FORM_CONTENT_TYPE.to_string(),
            body: serde_urlencoded::to_string(fields).unwrap_or_default(),
        }
    }

    /// Any body with any content type (malformed requests).
    pub fn raw(content_type: &str, body: &str) -> Self {
        Self {
            content_type: content_type.to_string(),
            body: body.to_string(),
        }
    }
}

/// Signs bodies with a signing secret.
#[derive(Clone)]
pub struct SlackSigner {
    signing_secret: String,
}

impl std::fmt::Debug for SlackSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackSigner").finish_non_exhaustive()
    }
}

impl SlackSigner {
    /// A signer for the app's signing secret.
    pub fn new(signing_secret: impl Into<String>) -> Self {
        Self {
            signing_secret: signing_secret.into(),
        }
    }

    /// `v0=` + hex(HMAC-SHA256(secret, `v0:{timestamp}:{body}`)).
    pub fn signature(&self, timestamp: &str, body: &[u8]) -> String {
        compute_signature(&self.signing_secret, timestamp, body)
    }

    /// Signs with the current time.
    pub fn sign(&self, body: InboundBody) -> SignedRequest {
        self.sign_at(body, unix_now())
    }

    /// Signs with a given timestamp (stale or future ones test the replay window).
    pub fn sign_at(&self, body: InboundBody, timestamp: i64) -> SignedRequest {
        self.sign_with_raw_timestamp(body, &timestamp.to_string())
    }

    /// Signs with a timestamp header that need not be a number.
    pub fn sign_with_raw_timestamp(&self, body: InboundBody, timestamp: &str) -> SignedRequest {
        SignedRequest {
            signature: self.signature(timestamp, body.body.as_bytes()),
            timestamp: timestamp.to_string(),
            content_type: body.content_type,
            body: body.body,
            extra_headers: Vec::new(),
        }
    }

    /// Signs with a different secret: a correctly formed signature the app must reject.
    pub fn sign_with_wrong_secret(&self, body: InboundBody) -> SignedRequest {
        Self::new(format!("{}-wrong", self.signing_secret)).sign(body)
    }
}

fn compute_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// A signed request: the headers Slack sends and the raw body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// `X-Slack-Request-Timestamp`
    pub timestamp: String,
    /// `X-Slack-Signature`
    pub signature: String,
    /// The `Content-Type` header.
    pub content_type: String,
    /// The raw body, exactly as signed.
    pub body: String,
    /// Further headers (retries).
    pub extra_headers: Vec<(String, String)>,
}

impl SignedRequest {
    /// All headers, lower-case names.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![
            ("content-type".to_string(), self.content_type.clone()),
            (TIMESTAMP_HEADER.to_string(), self.timestamp.clone()),
            (SIGNATURE_HEADER.to_string(), self.signature.clone()),
        ];
        headers.extend(self.extra_headers.iter().cloned());
        headers
    }

    /// Marks the request as Slack's retry number `num` (`http_timeout`, `http_error`...).
    pub fn with_retry(mut self, num: u32, reason: &str) -> Self {
        self.extra_headers
            .push((RETRY_NUM_HEADER.to_string(), num.to_string()));
        self.extra_headers
            .push((RETRY_REASON_HEADER.to_string(), reason.to_string()));
        self
    }

    /// Replaces the body but keeps the signature, as a tampering proxy would.
    pub fn with_tampered_body(mut self, body: &str) -> Self {
        self.body = body.to_string();
        self
    }

    /// A `POST uri` request carrying this body and these headers.
    pub fn to_http_request(&self, uri: &str) -> axum::http::Request<String> {
        let mut builder = axum::http::Request::builder()
            .method(axum::http::Method::POST)
            .uri(uri);
        for (name, value) in self.headers() {
            builder = builder.header(name, value);
        }
        builder.body(self.body.clone()).unwrap_or_else(|_| {
            let mut request = axum::http::Request::new(self.body.clone());
            *request.method_mut() = axum::http::Method::POST;
            request
        })
    }
}

/// `{"type":"url_verification","challenge":...}`
pub fn url_verification(challenge: &str) -> InboundBody {
    InboundBody::json(&json!({
        "token": VERIFICATION_TOKEN,
        "challenge": challenge,
        "type": "url_verification",
    }))
}

/// An Events API `event_callback` envelope around one event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventCallback {
    /// Workspace ID (`T...`).
    pub team_id: String,
    /// The app's ID (`A...`).
    pub api_app_id: String,
    /// `Ev...`; random unless set.
    pub event_id: String,
    /// Unix seconds when the event happened.
    pub event_time: i64,
    /// The inner `event` object.
    pub event: Value,
    /// The bot user the event is delivered to (`authorizations[0].user_id`).
    pub authorized_user_id: Option<String>,
}

impl EventCallback {
    /// An envelope for `event` in workspace `team_id`, with a random `event_id` and the current time.
    pub fn new(team_id: &str, event: Value) -> Self {
        Self {
            team_id: team_id.to_string(),
            api_app_id: "A0STANDAPP".to_string(),
            event_id: format!("Ev{}", random_token()[..10].to_uppercase()),
            event_time: unix_now(),
            event,
            authorized_user_id: None,
        }
    }

    /// Sets `event_id` (to replay one event as Slack's retries do).
    pub fn with_event_id(mut self, event_id: &str) -> Self {
        self.event_id = event_id.to_string();
        self
    }

    /// Sets `api_app_id` (another app's event).
    pub fn with_api_app_id(mut self, api_app_id: &str) -> Self {
        self.api_app_id = api_app_id.to_string();
        self
    }

    /// Adds `authorizations[0]` for the bot user the event is delivered to.
    pub fn with_authorized_user(mut self, bot_user_id: &str) -> Self {
        self.authorized_user_id = Some(bot_user_id.to_string());
        self
    }

    /// The envelope JSON.
    pub fn to_json(&self) -> Value {
        let mut envelope = json!({
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": self.event,
            "type": "event_callback",
            "event_id": self.event_id,
            "event_time": self.event_time,
            "is_ext_shared_channel": false,
            "event_context": format!("4-{}", random_token()),
        });
        if let Some(user_id) = &self.authorized_user_id {
            envelope["authorizations"] = json!([{
                "enterprise_id": null,
                "team_id": self.team_id,
                "user_id": user_id,
                "is_bot": true,
                "is_enterprise_install": false,
            }]);
        }
        envelope
    }

    /// The JSON body.
    pub fn into_body(self) -> InboundBody {
        InboundBody::json(&self.to_json())
    }
}

/// Inner `event` objects. They are plain JSON so a test can add or change any field
/// (`event["channel_type"] = "group".into()`).
pub mod events {
    use serde_json::{Value, json};

    /// A user's message in a channel (`message.channels`). `text` is what the person typed,
    /// mentions and links written as Slack's markup; it is sent escaped as Slack sends it
    /// ([`crate::text::escape_typed`]).
    pub fn message(channel: &str, user: &str, text: &str, ts: &str) -> Value {
        json!({
            "type": "message",
            "channel": channel,
            "user": user,
            "text": crate::text::escape_typed(text),
            "ts": ts,
            "event_ts": ts,
            "channel_type": "channel",
            "client_msg_id": uuid::Uuid::new_v4().to_string(),
        })
    }

    /// A user's reply in a thread.
    pub fn thread_reply(channel: &str, user: &str, text: &str, ts: &str, thread_ts: &str) -> Value {
        let mut event = message(channel, user, text, ts);
        event["thread_ts"] = json!(thread_ts);
        event["parent_user_id"] = json!(user);
        event
    }

    /// A message posted by a bot (for example this app's own post echoed back).
    pub fn bot_message(channel: &str, bot_id: &str, text: &str, ts: &str) -> Value {
        json!({
            "type": "message",
            "subtype": "bot_message",
            "channel": channel,
            "bot_id": bot_id,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "channel",
        })
    }

    /// A user's message that shares a file (`subtype: file_share`).
    pub fn file_share_message(
        channel: &str,
        user: &str,
        text: &str,
        ts: &str,
        file_id: &str,
        file_name: &str,
    ) -> Value {
        let mut event = message(channel, user, text, ts);
        event["subtype"] = json!("file_share");
        event["upload"] = json!(true);
        event["files"] = json!([{ "id": file_id, "name": file_name, "mode": "hosted" }]);
        event
    }

    /// `file_shared`
    pub fn file_shared(channel: &str, file_id: &str, user: &str, event_ts: &str) -> Value {
        json!({
            "type": "file_shared",
            "channel_id": channel,
            "file_id": file_id,
            "user_id": user,
            "file": { "id": file_id },
            "event_ts": event_ts,
        })
    }

    /// `member_joined_channel`; `channel_type` is `C` (public) or `G` (private).
    pub fn member_joined_channel(
        channel: &str,
        user: &str,
        team: &str,
        inviter: Option<&str>,
    ) -> Value {
        let mut event = json!({
            "type": "member_joined_channel",
            "user": user,
            "channel": channel,
            "channel_type": "C",
            "team": team,
            "event_ts": event_ts_now(),
        });
        if let Some(inviter) = inviter {
            event["inviter"] = json!(inviter);
        }
        event
    }

    /// `member_left_channel`
    pub fn member_left_channel(channel: &str, user: &str, team: &str) -> Value {
        json!({
            "type": "member_left_channel",
            "user": user,
            "channel": channel,
            "channel_type": "C",
            "team": team,
            "event_ts": event_ts_now(),
        })
    }

    /// `app_home_opened`: `user` opened the app's Home tab (`tab: "home"`) or its Messages tab
    /// (`tab: "messages"`). `channel` is the app's direct-message channel with the person. The
    /// `view` Slack adds once a Home view was published is left out: the app must not rely on
    /// it (it is absent on the first open).
    pub fn app_home_opened(user: &str, channel: &str, tab: &str) -> Value {
        json!({
            "type": "app_home_opened",
            "user": user,
            "channel": channel,
            "tab": tab,
            "event_ts": event_ts_now(),
        })
    }

    fn event_ts_now() -> String {
        crate::ids::format_ts(chrono::Utc::now().timestamp_micros())
    }
}

/// A slash command invocation (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashCommand {
    /// The command (`/security-ir`).
    pub command: String,
    /// What the person typed after the command (escaped when the body is built).
    pub text: String,
    /// Who acted (`U...`).
    pub user_id: String,
    /// Their handle.
    pub user_name: String,
    /// The channel it happened in.
    pub channel_id: String,
    /// That channel's name.
    pub channel_name: String,
    /// Workspace ID (`T...`).
    pub team_id: String,
    /// Workspace subdomain.
    pub team_domain: String,
    /// The app's ID (`A...`).
    pub api_app_id: String,
    /// Where the app may answer (5 posts, 30 minutes).
    pub response_url: String,
    /// For `views.open` (3 s, once; random unless the stand-in issued it).
    pub trigger_id: String,
}

impl SlashCommand {
    /// A command from `user_id` in `channel_id`; other fields get plausible values.
    pub fn new(command: &str, text: &str, user_id: &str, channel_id: &str, team_id: &str) -> Self {
        Self {
            command: command.to_string(),
            text: text.to_string(),
            user_id: user_id.to_string(),
            user_name: "standin.user".to_string(),
            channel_id: channel_id.to_string(),
            channel_name: "general".to_string(),
            team_id: team_id.to_string(),
            team_domain: "standin".to_string(),
            api_app_id: "A0STANDAPP".to_string(),
            response_url: format!("https://hooks.slack.com/commands/{team_id}/1/standin"),
            trigger_id: trigger_id(),
        }
    }

    /// Carries `response_url` (one served by the stand-in, to see the answers).
    pub fn with_response_url(mut self, response_url: &str) -> Self {
        self.response_url = response_url.to_string();
        self
    }

    /// Sets the person's handle.
    pub fn with_user_name(mut self, user_name: &str) -> Self {
        self.user_name = user_name.to_string();
        self
    }

    /// Sets the channel's name.
    pub fn with_channel_name(mut self, channel_name: &str) -> Self {
        self.channel_name = channel_name.to_string();
        self
    }

    /// Carries `trigger_id` (one the stand-in issued with
    /// [`crate::SlackStandin::issue_trigger_id`], so `views.open` accepts it) instead of a
    /// random one that `views.open` refuses (`invalid_trigger_id`).
    pub fn with_trigger_id(mut self, trigger_id: &str) -> Self {
        self.trigger_id = trigger_id.to_string();
        self
    }

    /// The form body, fields in Slack's order. `text` (what the person typed) is sent escaped
    /// as Slack sends it ([`crate::text::escape_typed`]).
    pub fn into_body(self) -> InboundBody {
        let text = crate::text::escape_typed(&self.text);
        InboundBody::form(&[
            ("token", VERIFICATION_TOKEN),
            ("team_id", &self.team_id),
            ("team_domain", &self.team_domain),
            ("channel_id", &self.channel_id),
            ("channel_name", &self.channel_name),
            ("user_id", &self.user_id),
            ("user_name", &self.user_name),
            ("command", &self.command),
            ("text", &text),
            ("api_app_id", &self.api_app_id),
            ("is_enterprise_install", "false"),
            ("response_url", &self.response_url),
            ("trigger_id", &self.trigger_id),
        ])
    }
}

/// A `block_actions` interaction (a button click), sent as the form field `payload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockAction {
    /// Workspace ID (`T...`).
    pub team_id: String,
    /// Workspace subdomain.
    pub team_domain: String,
    /// Who acted (`U...`).
    pub user_id: String,
    /// Their handle.
    pub user_name: String,
    /// The channel it happened in.
    pub channel_id: String,
    /// That channel's name.
    pub channel_name: String,
    /// `ts` of the message holding the button.
    pub message_ts: String,
    /// The button's `action_id`.
    pub action_id: String,
    /// Its block's `block_id`.
    pub block_id: String,
    /// The button's `value`.
    pub value: String,
    /// The app's ID (`A...`).
    pub api_app_id: String,
    /// Where the app may answer (5 posts, 30 minutes).
    pub response_url: String,
    /// For `views.open` (3 s, once; random unless the stand-in issued it).
    pub trigger_id: String,
}

impl BlockAction {
    /// A click on button `action_id` carrying `value`.
    pub fn button(
        team_id: &str,
        user_id: &str,
        channel_id: &str,
        message_ts: &str,
        action_id: &str,
        value: &str,
    ) -> Self {
        Self {
            team_id: team_id.to_string(),
            team_domain: "standin".to_string(),
            user_id: user_id.to_string(),
            user_name: "standin.user".to_string(),
            channel_id: channel_id.to_string(),
            channel_name: "general".to_string(),
            message_ts: message_ts.to_string(),
            action_id: action_id.to_string(),
            block_id: "actions".to_string(),
            value: value.to_string(),
            api_app_id: "A0STANDAPP".to_string(),
            response_url: format!("https://hooks.slack.com/actions/{team_id}/1/standin"),
            trigger_id: trigger_id(),
        }
    }

    /// Carries `response_url` (one served by the stand-in, to see the answers).
    pub fn with_response_url(mut self, response_url: &str) -> Self {
        self.response_url = response_url.to_string();
        self
    }

    /// Carries `trigger_id` (see [`SlashCommand::with_trigger_id`]).
    pub fn with_trigger_id(mut self, trigger_id: &str) -> Self {
        self.trigger_id = trigger_id.to_string();
        self
    }

    /// The `payload` JSON.
    pub fn to_payload(&self) -> Value {
        json!({
            "type": "block_actions",
            "user": {
                "id": self.user_id,
                "username": self.user_name,
                "name": self.user_name,
                "team_id": self.team_id,
            },
            "api_app_id": self.api_app_id,
            "token": VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": self.message_ts,
                "channel_id": self.channel_id,
                "is_ephemeral": false,
            },
            "trigger_id": self.trigger_id,
            "team": { "id": self.team_id, "domain": self.team_domain },
            "enterprise": null,
            "is_enterprise_install": false,
            "channel": { "id": self.channel_id, "name": self.channel_name },
            "message": {
                "type": "message",
                "ts": self.message_ts,
                "text": "",
            },
            "state": { "values": {} },
            "response_url": self.response_url,
            "actions": [{
                "type": "button",
                "action_id": self.action_id,
                "block_id": self.block_id,
                "text": { "type": "plain_text", "text": "Button", "emoji": true },
                "value": self.value,
                "action_ts": crate::ids::format_ts(chrono::Utc::now().timestamp_micros()),
            }],
        })
    }

    /// The form body `payload=<json>`.
    pub fn into_body(self) -> InboundBody {
        InboundBody::form(&[("payload", &self.to_payload().to_string())])
    }
}

/// Trigger IDs look like `1700000000123.1234567890.0123456789abcdef...`. Random ones are
/// unknown to the stand-in's Web API; [`crate::SlackStandin::issue_trigger_id`] issues ones it
/// knows (in this same format).
pub(crate) fn trigger_id() -> String {
    format!(
        "{}.{}.{}",
        chrono::Utc::now().timestamp_millis(),
        1_234_567_890,
        random_token()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_slacks_documented_example() {
        // Example from Slack's "Verifying requests from Slack" guide.
        let signer = SlackSigner::new("8f742231b10e8888abcd99yyyzzz85a5");
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        assert_eq!(
            signer.signature("1531420618", body.as_bytes()),
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
    }

    #[test]
    fn wrong_secret_gives_a_different_signature() {
        let signer = SlackSigner::new("secret");
        let body = url_verification("abc");
        let good = signer.sign_at(body.clone(), 1_700_000_000);
        let bad = signer.sign_with_wrong_secret(body);
        assert_ne!(good.signature, bad.signature);
        assert!(bad.signature.starts_with("v0="));
    }

    #[test]
    fn slash_command_body_is_form_encoded() {
        let body = SlashCommand::new("/sir", "link 123", "U1", "C1", "T1").into_body();
        assert_eq!(body.content_type, FORM_CONTENT_TYPE);
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_str(&body.body).expect("form body");
        let field = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        assert_eq!(field("command").as_deref(), Some("/sir"));
        assert_eq!(field("text").as_deref(), Some("link 123"));
        assert_eq!(field("team_id").as_deref(), Some("T1"));
        assert!(field("trigger_id").is_some());
    }
}
