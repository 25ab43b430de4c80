//! Slack's side of the app: the Events API delivering what happens in the workspace (signed,
//! with Slack's retries), and the signed requests a person's slash command or button click
//! makes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use slack_standin::WorkspaceEvent;
use slack_standin::signing::{EventCallback, SignedRequest, SlackSigner};
use tokio::sync::mpsc;

use crate::activity::{Activity, ActivityGuard};
use crate::config::SlackEventDelivery;
use crate::error::WorldError;

/// The bot events the app subscribes to (its manifest's `bot_events`).
pub const SUBSCRIBED_EVENTS: [&str; 5] = [
    "message",
    "member_joined_channel",
    "member_left_channel",
    "file_shared",
    "app_home_opened",
];

/// An HTTP answer from the app's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8).
    pub body: String,
    /// How long the answer took.
    pub elapsed: Duration,
}

impl HttpReply {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON, when it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// One attempt to deliver an Events API callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackDelivery {
    /// The callback's `event_id` (the same on every attempt).
    pub event_id: String,
    /// The inner event's `type`.
    pub event_type: String,
    /// The channel it happened in.
    pub channel_id: String,
    /// The event's `ts` / `event_ts`, when it has one.
    pub event_ts: Option<String>,
    /// The sender of a message, or the member of a membership event.
    pub user: Option<String>,
    /// Whether it is the app's own post or upload, sent back to it.
    pub from_app: bool,
    /// 0 for the first delivery; 1 to 3 for Slack's retries (`X-Slack-Retry-Num`).
    pub attempt: u32,
    /// The status the app answered; `None` when it did not answer in time or at all.
    pub status: Option<u16>,
    /// When the attempt started, since the world started.
    pub started: Duration,
    /// How long the app took (or the ack timeout).
    pub elapsed: Duration,
}

impl SlackDelivery {
    /// Whether Slack counts this attempt as delivered (a 2xx within the ack timeout).
    pub fn acknowledged(&self) -> bool {
        self.status
            .is_some_and(|status| (200..300).contains(&status))
    }
}

/// Why an HTTP request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NoAnswer {
    TimedOut,
    Failed(String),
}

/// Slack's side: who it is, the signing secret it signs with, and where it sends requests.
pub(crate) struct SlackSide {
    endpoint: String,
    signing_secret: RwLock<String>,
    team_id: String,
    app_id: String,
    bot_user_id: String,
    bot_id: String,
    settings: SlackEventDelivery,
    http: Client<HttpConnector, Full<Bytes>>,
    deliveries: Mutex<Vec<SlackDelivery>>,
    activity: Activity,
    started: Instant,
}

/// Who the app is in the workspace.
pub(crate) struct AppIdentity {
    pub team_id: String,
    pub app_id: String,
    pub bot_user_id: String,
    pub bot_id: String,
}

impl SlackSide {
    pub(crate) fn new(
        endpoint: String,
        signing_secret: String,
        app: AppIdentity,
        settings: SlackEventDelivery,
        activity: Activity,
        started: Instant,
    ) -> Self {
        Self {
            endpoint,
            signing_secret: RwLock::new(signing_secret),
            team_id: app.team_id,
            app_id: app.app_id,
            bot_user_id: app.bot_user_id,
            bot_id: app.bot_id,
            settings,
            http: Client::builder(TokioExecutor::new()).build_http(),
            deliveries: Mutex::new(Vec::new()),
            activity,
            started,
        }
    }

    /// A signer with the secret Slack currently signs with.
    pub(crate) fn signer(&self) -> SlackSigner {
        SlackSigner::new(
            self.signing_secret
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }

    /// The app's signing secret as Slack knows it (what the app's settings page shows).
    pub(crate) fn signing_secret(&self) -> String {
        self.signing_secret
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Slack signs with `secret` from now on (a regenerated signing secret).
    pub(crate) fn set_signing_secret(&self, secret: String) {
        *self
            .signing_secret
            .write()
            .unwrap_or_else(PoisonError::into_inner) = secret;
    }

    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub(crate) fn deliveries(&self) -> Vec<SlackDelivery> {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// POSTs a signed request to the app's endpoint, waiting at most `timeout`.
    pub(crate) async fn post(
        &self,
        request: &SignedRequest,
        timeout: Duration,
    ) -> Result<HttpReply, NoAnswer> {
        post_to(&self.http, &self.endpoint, request, timeout).await
    }

    /// Delivers the feed's events until the feed ends: one ordered lane per channel, retries
    /// off the lane (Slack keeps sending other events while one waits for its retry).
    pub(crate) async fn run_event_feed(
        self: Arc<Self>,
        mut feed: mpsc::UnboundedReceiver<WorkspaceEvent>,
    ) {
        let mut lanes: HashMap<String, mpsc::UnboundedSender<(Value, ActivityGuard)>> =
            HashMap::new();
        // Dropped with this future (the world stopping): every lane stops with it.
        let mut lane_tasks = tokio::task::JoinSet::new();
        while let Some(event) = feed.recv().await {
            if !self.wants(&event) {
                continue;
            }
            let envelope = EventCallback::new(&self.team_id, event.event.clone())
                .with_api_app_id(&self.app_id)
                .with_authorized_user(&self.bot_user_id)
                .to_json();
            let busy = self.activity.begin();
            let lane = lanes.entry(event.channel_id.clone()).or_insert_with(|| {
                let (sender, mut receiver) = mpsc::unbounded_channel::<(Value, ActivityGuard)>();
                let side = Arc::clone(&self);
                lane_tasks.spawn(async move {
                    while let Some((envelope, busy)) = receiver.recv().await {
                        Arc::clone(&side).deliver(envelope, busy).await;
                    }
                });
                sender
            });
            // A closed lane means the world is stopping.
            let _ = lane.send((envelope, busy));
        }
    }

    /// Delivers one event that happened outside any channel (`app_home_opened`) as Slack does:
    /// signed, with its retries; returns the callback's `event_id`.
    pub(crate) fn deliver_event(self: &Arc<Self>, event: Value) -> String {
        let envelope = EventCallback::new(&self.team_id, event)
            .with_api_app_id(&self.app_id)
            .with_authorized_user(&self.bot_user_id)
            .to_json();
        let event_id = envelope["event_id"].as_str().unwrap_or_default().to_owned();
        let busy = self.activity.begin();
        let side = Arc::clone(self);
        tokio::spawn(async move { side.deliver(envelope, busy).await });
        event_id
    }

    /// Whether Slack sends this event to the app: a subscribed type, in a channel the app is
    /// in; the app's own posts only when configured (Slack does send them).
    fn wants(&self, event: &WorkspaceEvent) -> bool {
        SUBSCRIBED_EVENTS.contains(&event.event_type.as_str())
            && event.app_is_member
            && (self.settings.deliver_app_messages || !self.is_from_app(&event.event))
    }

    fn is_from_app(&self, event: &Value) -> bool {
        let field = |name: &str| event.get(name).and_then(Value::as_str);
        field("bot_id") == Some(self.bot_id.as_str())
            || field("user_id") == Some(self.bot_user_id.as_str())
            || (field("type") == Some("message")
                && field("user") == Some(self.bot_user_id.as_str()))
    }

    /// The first delivery of one callback; a failed one schedules Slack's retries.
    async fn deliver(self: Arc<Self>, envelope: Value, busy: ActivityGuard) {
        let delivered = self.attempt(&envelope, 0, None).await;
        if !delivered.0 && !delivered.1 {
            let side = Arc::clone(&self);
            tokio::spawn(async move { side.retry(envelope, delivered.2, busy).await });
        }
    }

    async fn retry(
        self: Arc<Self>,
        envelope: Value,
        mut reason: &'static str,
        _busy: ActivityGuard,
    ) {
        for (index, delay) in self.settings.retry_delays.clone().into_iter().enumerate() {
            tokio::time::sleep(delay).await;
            let attempt = u32::try_from(index + 1).unwrap_or(u32::MAX);
            let (delivered, no_retry, next_reason) =
                self.attempt(&envelope, attempt, Some(reason)).await;
            if delivered || no_retry {
                return;
            }
            reason = next_reason;
        }
    }

    /// One attempt: (acknowledged, the app asked for no retry, the retry reason otherwise).
    async fn attempt(
        &self,
        envelope: &Value,
        attempt: u32,
        retry_reason: Option<&str>,
    ) -> (bool, bool, &'static str) {
        let mut request = self
            .signer()
            .sign(slack_standin::signing::InboundBody::json(envelope));
        if let Some(reason) = retry_reason {
            request = request.with_retry(attempt, reason);
        }
        let started = Instant::now();
        let answer = self.post(&request, self.settings.ack_timeout).await;
        let event = &envelope["event"];
        let text = |value: &Value| value.as_str().map(str::to_owned);
        let record = SlackDelivery {
            event_id: text(&envelope["event_id"]).unwrap_or_default(),
            event_type: text(&event["type"]).unwrap_or_default(),
            channel_id: text(&event["channel"])
                .or_else(|| text(&event["channel_id"]))
                .unwrap_or_default(),
            event_ts: text(&event["ts"]).or_else(|| text(&event["event_ts"])),
            user: text(&event["user"]).or_else(|| text(&event["user_id"])),
            from_app: self.is_from_app(event),
            attempt,
            status: answer.as_ref().ok().map(|reply| reply.status),
            started: started.duration_since(self.started),
            elapsed: started.elapsed(),
        };
        let acknowledged = record.acknowledged();
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
        match answer {
            Ok(reply) => (
                acknowledged,
                reply.header("x-slack-no-retry") == Some("1"),
                "http_error",
            ),
            Err(NoAnswer::TimedOut) => (false, false, "http_timeout"),
            Err(NoAnswer::Failed(_)) => (false, false, "connection_failed"),
        }
    }
}

/// POSTs `request` to `url`.
pub(crate) async fn post_to(
    http: &Client<HttpConnector, Full<Bytes>>,
    url: &str,
    request: &SignedRequest,
    timeout: Duration,
) -> Result<HttpReply, NoAnswer> {
    let mut builder = hyper::Request::builder().method("POST").uri(url);
    for (name, value) in request.headers() {
        builder = builder.header(name, value);
    }
    builder = builder.header("user-agent", "Slackbot 1.0 (+https://api.slack.com/robots)");
    let http_request = builder
        .body(Full::new(Bytes::from(request.body.clone())))
        .map_err(|error| NoAnswer::Failed(error.to_string()))?;
    let started = Instant::now();
    let exchange = async {
        let response = http
            .request(http_request)
            .await
            .map_err(|error| NoAnswer::Failed(error.to_string()))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|error| NoAnswer::Failed(error.to_string()))?
            .to_bytes();
        Ok(HttpReply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            elapsed: started.elapsed(),
        })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| NoAnswer::TimedOut)?
}

/// Turns a missing answer into an error naming the URL.
pub(crate) fn no_answer(url: &str, error: NoAnswer) -> WorldError {
    WorldError::Http {
        url: url.to_owned(),
        reason: match error {
            NoAnswer::TimedOut => "no answer in time".to_owned(),
            NoAnswer::Failed(reason) => reason,
        },
    }
}
