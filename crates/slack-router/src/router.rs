//! The router: checks, dedupe, dispatch to listeners, hand-offs, lazy listeners.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use http::{Method, Response, StatusCode, header};
use serde_json::{Value, json};
use tracing::{error, info, warn};

use crate::ack::{Ack, Outcome};
use crate::dedupe::{Claim, DedupeScope, Deduplicator};
use crate::envelope::{
    ActionItem, BlockAction, BlockSuggestion, EventCallback, Inbound, MessageShortcut, Shortcut,
    SlashCommand, ViewClosed, ViewSubmission, parse_inbound,
};
use crate::handoff::{HandOff, HandOffError, HandOffSink, LazyInvocation};
use crate::keys::{KeySource, VerifierKeys};
use crate::signature::{SignatureError, verify_signature};
use crate::{BoxFuture, RETRY_NUM_HEADER, RETRY_REASON_HEADER};

/// Default body size limit: 1 MiB. Slack's payloads are far smaller (a 40,000-character message
/// with blocks is a few hundred KB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

const DEFAULT_COMMAND_FAILURE_TEXT: &str =
    "Sorry, that did not work. Please try again in a moment.";
const DEFAULT_WRONG_WORKSPACE_TEXT: &str = "This app is not set up for this workspace.";
/// The title of the view pushed when a listener fails on a modal without input blocks (at
/// most 24 characters).
const FAILURE_VIEW_TITLE: &str = "Something went wrong";

/// Slack's redelivery headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryInfo {
    /// `X-Slack-Retry-Num` (1 to 3).
    pub attempt: u32,
    /// `X-Slack-Retry-Reason`.
    pub reason: Option<String>,
}

/// An event for a listener.
#[derive(Debug, Clone)]
pub struct EventRequest {
    /// The callback, with the raw inner event.
    pub callback: EventCallback,
    /// Set when Slack redelivers; a retry is processed like the first delivery.
    pub retry: Option<RetryInfo>,
    /// When the router got the request (for time budgets).
    pub received: Instant,
    /// The same moment, as a timestamp.
    pub received_at: DateTime<Utc>,
}

/// A slash command for a listener.
#[derive(Debug, Clone)]
pub struct CommandRequest {
    /// The command.
    pub command: SlashCommand,
    /// When the router got the request.
    pub received: Instant,
    /// The same moment, as a timestamp.
    pub received_at: DateTime<Utc>,
}

/// A block action for a listener: the interaction and the action that matched.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    /// The whole interaction.
    pub interaction: BlockAction,
    /// The action that matched the listener.
    pub action: ActionItem,
    /// When the router got the request.
    pub received: Instant,
    /// The same moment, as a timestamp.
    pub received_at: DateTime<Utc>,
}

/// A global shortcut for a listener.
#[derive(Debug, Clone)]
pub struct ShortcutRequest {
    /// The shortcut.
    pub shortcut: Shortcut,
    /// When the router got the request (the `trigger_id` expires 3 s after Slack sent it).
    pub received: Instant,
    /// The same moment, as a timestamp.
    pub received_at: DateTime<Utc>,
}

/// A message shortcut for a listener.
#[derive(Debug, Clone)]
pub struct MessageShortcutRequest {
    /// The shortcut, with the message it was used on.
    pub shortcut: MessageShortcut,
    /// When the router got the request (the `trigger_id` expires 3 s after Slack sent it).
    pub received: Instant,
    /// The same moment, as a timestamp.
    pub received_at: DateTime<Utc>,
}

/// A modal submission for a listener.
#[derive(Debug, Clone)]
pub struct ViewSubmissionRequest {
    /// The submission, with the view and what was entered.
    pub submission: ViewSubmission,
    /// When the router got the request.
    pub received: Instant,
    /// The same moment, as a timestamp.
    pub received_at: DateTime<Utc>,
}

/// A modal closed, for a listener.
#[derive(Debug, Clone)]
pub struct ViewClosedRequest {
    /// The view closed.
    pub closed: ViewClosed,
    /// When the router got the request.
    pub received: Instant,
    /// The same moment, as a timestamp.
    pub received_at: DateTime<Utc>,
}

/// An options request (`block_suggestion`) for a listener.
#[derive(Debug, Clone)]
pub struct OptionsRequest {
    /// What was typed, in which select.
    pub suggestion: BlockSuggestion,
    /// When the router got the request.
    pub received: Instant,
    /// The same moment, as a timestamp.
    pub received_at: DateTime<Utc>,
}

/// A lazy listener's input.
#[derive(Debug, Clone, PartialEq)]
pub struct LazyRequest {
    /// The lazy listener's name.
    pub name: String,
    /// What the ack path handed off.
    pub payload: Value,
    /// When it was handed off.
    pub handed_off_at: DateTime<Utc>,
}

/// A listener could not produce an [`Outcome`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenerError {
    /// Might work on a redelivery: for events, the dedupe markers are released and Slack gets
    /// `500` (it retries up to 3 times).
    #[error("transient: {0}")]
    Transient(String),
    /// Will not work again: logged, and Slack gets `200` (events) or a short apology
    /// (commands).
    #[error("permanent: {0}")]
    Permanent(String),
}

/// A lazy listener failed.
///
/// A retryable failure left its work undone and intact (a later run may finish it): the
/// invocation must fail, so that Lambda retries it, then parks it in the DLQ (whose alarm
/// tells the operator). A permanent one will not work again: the listener has told the person
/// and logged it, and the invocation succeeds (a retry would only repeat the notice).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lazy listener failed ({}): {message}", if *.retryable { "retryable" } else { "permanent" })]
pub struct LazyError {
    /// What went wrong (no secrets, no URLs).
    pub message: String,
    /// Whether a later run may succeed.
    pub retryable: bool,
}

impl LazyError {
    /// A failure a later run may not repeat: the work is still to be done.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure no retry can fix: the person and the operator have been told.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }
}

/// Handles one event type.
pub trait EventListener: Send + Sync {
    /// Produces the ack (and hand-offs) for an event.
    fn on_event(&self, request: EventRequest)
    -> BoxFuture<'static, Result<Outcome, ListenerError>>;
}

/// Handles one slash command.
pub trait CommandListener: Send + Sync {
    /// Produces the ack (and hand-offs) for a command.
    fn on_command(
        &self,
        request: CommandRequest,
    ) -> BoxFuture<'static, Result<Outcome, ListenerError>>;
}

/// Handles block actions with matching action IDs.
pub trait ActionListener: Send + Sync {
    /// Produces the ack (and hand-offs) for an action.
    fn on_action(
        &self,
        request: ActionRequest,
    ) -> BoxFuture<'static, Result<Outcome, ListenerError>>;
}

/// Handles one kind of interaction (`R`: [`ShortcutRequest`], [`MessageShortcutRequest`],
/// [`ViewSubmissionRequest`], [`ViewClosedRequest`] or [`OptionsRequest`]) for one callback or
/// action ID. Any `Fn(R) -> impl Future<Output = Result<Outcome, ListenerError>>` is one.
pub trait InteractionListener<R>: Send + Sync {
    /// Produces the ack (and hand-offs) for the interaction.
    fn on_interaction(&self, request: R) -> BoxFuture<'static, Result<Outcome, ListenerError>>;
}

/// A cheap check run *before* an event is deduplicated: events it turns away (a bot's
/// message, a channel no case is linked to) are acknowledged without writing dedupe markers,
/// since nothing would happen twice anyway.
pub trait EventFilter: Send + Sync {
    /// `Some(reason)` (a fixed word for the request log) to acknowledge and drop the event.
    fn skip<'a>(
        &'a self,
        event: &'a EventCallback,
    ) -> BoxFuture<'a, Result<Option<&'static str>, ListenerError>>;
}

/// Runs work handed off by the ack path, in its own invocation.
pub trait LazyListener: Send + Sync {
    /// Does the work.
    fn run(&self, request: LazyRequest) -> BoxFuture<'static, Result<(), LazyError>>;
}

impl<F, Fut> EventListener for F
where
    F: Fn(EventRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Outcome, ListenerError>> + Send + 'static,
{
    fn on_event(
        &self,
        request: EventRequest,
    ) -> BoxFuture<'static, Result<Outcome, ListenerError>> {
        Box::pin(self(request))
    }
}

impl<F, Fut> CommandListener for F
where
    F: Fn(CommandRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Outcome, ListenerError>> + Send + 'static,
{
    fn on_command(
        &self,
        request: CommandRequest,
    ) -> BoxFuture<'static, Result<Outcome, ListenerError>> {
        Box::pin(self(request))
    }
}

impl<F, Fut> ActionListener for F
where
    F: Fn(ActionRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Outcome, ListenerError>> + Send + 'static,
{
    fn on_action(
        &self,
        request: ActionRequest,
    ) -> BoxFuture<'static, Result<Outcome, ListenerError>> {
        Box::pin(self(request))
    }
}

impl<R, F, Fut> InteractionListener<R> for F
where
    F: Fn(R) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Outcome, ListenerError>> + Send + 'static,
{
    fn on_interaction(&self, request: R) -> BoxFuture<'static, Result<Outcome, ListenerError>> {
        Box::pin(self(request))
    }
}

impl<F, Fut> LazyListener for F
where
    F: Fn(LazyRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), LazyError>> + Send + 'static,
{
    fn run(&self, request: LazyRequest) -> BoxFuture<'static, Result<(), LazyError>> {
        Box::pin(self(request))
    }
}

#[derive(Clone)]
struct EventRoute {
    filter: Option<Arc<dyn EventFilter>>,
    listener: Arc<dyn EventListener>,
}

enum ActionMatcher {
    Exact(String),
    Prefix(String),
}

impl ActionMatcher {
    fn matches(&self, action_id: &str) -> bool {
        match self {
            Self::Exact(id) => id == action_id,
            Self::Prefix(prefix) => action_id.starts_with(prefix.as_str()),
        }
    }
}

/// The interaction listeners, by callback ID (shortcuts, views) or action ID (options).
#[derive(Default)]
struct InteractionRoutes {
    shortcuts: HashMap<String, Arc<dyn InteractionListener<ShortcutRequest>>>,
    message_shortcuts: HashMap<String, Arc<dyn InteractionListener<MessageShortcutRequest>>>,
    view_submissions: HashMap<String, Arc<dyn InteractionListener<ViewSubmissionRequest>>>,
    view_closes: HashMap<String, Arc<dyn InteractionListener<ViewClosedRequest>>>,
    options: HashMap<String, Arc<dyn InteractionListener<OptionsRequest>>>,
}

/// Builds a [`Router`]: the router being put together, handed over by
/// [`RouterBuilder::build`].
pub struct RouterBuilder {
    router: Router,
}

impl RouterBuilder {
    /// The largest body accepted (bigger: `413` before anything else).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.router.max_body_bytes = limit;
        self
    }

    /// The listener for events of `event_type` (`message`, `file_shared`...). A later
    /// registration for the same type replaces an earlier one.
    pub fn event(
        mut self,
        event_type: impl Into<String>,
        listener: impl EventListener + 'static,
    ) -> Self {
        let route = EventRoute {
            filter: None,
            listener: Arc::new(listener),
        };
        self.router.events.insert(event_type.into(), route);
        self
    }

    /// Like [`RouterBuilder::event`], with an [`EventFilter`] run before dedupe.
    pub fn event_with_filter(
        mut self,
        event_type: impl Into<String>,
        filter: impl EventFilter + 'static,
        listener: impl EventListener + 'static,
    ) -> Self {
        let route = EventRoute {
            filter: Some(Arc::new(filter)),
            listener: Arc::new(listener),
        };
        self.router.events.insert(event_type.into(), route);
        self
    }

    /// The listener for slash command `command` (with its `/`).
    pub fn command(
        mut self,
        command: impl Into<String>,
        listener: impl CommandListener + 'static,
    ) -> Self {
        self.router
            .commands
            .insert(command.into(), Arc::new(listener));
        self
    }

    /// The listener for block actions whose `action_id` is exactly `action_id`.
    pub fn action(
        mut self,
        action_id: impl Into<String>,
        listener: impl ActionListener + 'static,
    ) -> Self {
        self.router
            .actions
            .push((ActionMatcher::Exact(action_id.into()), Arc::new(listener)));
        self
    }

    /// The listener for block actions whose `action_id` starts with `prefix` (an empty prefix
    /// matches every action). Matchers are tried in registration order.
    pub fn action_prefix(
        mut self,
        prefix: impl Into<String>,
        listener: impl ActionListener + 'static,
    ) -> Self {
        self.router
            .actions
            .push((ActionMatcher::Prefix(prefix.into()), Arc::new(listener)));
        self
    }

    /// The listener for global shortcuts with `callback_id`. A later registration for the
    /// same ID replaces an earlier one (as for every interaction below).
    pub fn shortcut(
        mut self,
        callback_id: impl Into<String>,
        listener: impl InteractionListener<ShortcutRequest> + 'static,
    ) -> Self {
        self.router
            .interactions
            .shortcuts
            .insert(callback_id.into(), Arc::new(listener));
        self
    }

    /// The listener for message shortcuts (`message_action`) with `callback_id`.
    pub fn message_shortcut(
        mut self,
        callback_id: impl Into<String>,
        listener: impl InteractionListener<MessageShortcutRequest> + 'static,
    ) -> Self {
        self.router
            .interactions
            .message_shortcuts
            .insert(callback_id.into(), Arc::new(listener));
        self
    }

    /// The listener for submissions of modals whose `callback_id` is `callback_id`. When it
    /// fails (or its hand-off cannot be sent and it gave no fallback), the modal stays open
    /// with [`RouterBuilder::view_submission_failure_text`] under its first input block.
    pub fn view_submission(
        mut self,
        callback_id: impl Into<String>,
        listener: impl InteractionListener<ViewSubmissionRequest> + 'static,
    ) -> Self {
        self.router
            .interactions
            .view_submissions
            .insert(callback_id.into(), Arc::new(listener));
        self
    }

    /// The listener for modals with `callback_id` closed by the person (sent only for views
    /// opened with `notify_on_close`).
    pub fn view_closed(
        mut self,
        callback_id: impl Into<String>,
        listener: impl InteractionListener<ViewClosedRequest> + 'static,
    ) -> Self {
        self.router
            .interactions
            .view_closes
            .insert(callback_id.into(), Arc::new(listener));
        self
    }

    /// The listener answering `block_suggestion` for the `external_select` whose `action_id`
    /// is exactly `action_id`.
    pub fn options(
        mut self,
        action_id: impl Into<String>,
        listener: impl InteractionListener<OptionsRequest> + 'static,
    ) -> Self {
        self.router
            .interactions
            .options
            .insert(action_id.into(), Arc::new(listener));
        self
    }

    /// The lazy listener `name`, run by [`Router::run_lazy`] in a later invocation.
    pub fn lazy(mut self, name: impl Into<String>, listener: impl LazyListener + 'static) -> Self {
        self.router.lazies.insert(name.into(), Arc::new(listener));
        self
    }

    /// What a person sees when a command listener fails.
    pub fn command_failure_text(mut self, text: impl Into<String>) -> Self {
        self.router.command_failure_text = text.into();
        self
    }

    /// What a person sees under the first input block of a modal whose submission listener
    /// failed (the modal stays open with what they entered). Default: the command failure
    /// text's default, "Sorry, that did not work. Please try again in a moment."
    pub fn view_submission_failure_text(mut self, text: impl Into<String>) -> Self {
        self.router.view_failure_text = text.into();
        self
    }

    /// What a person sees when running a command from a workspace the app does not serve.
    pub fn wrong_workspace_text(mut self, text: impl Into<String>) -> Self {
        self.router.wrong_workspace_text = text.into();
        self
    }

    /// The Slack app (`A...`) this deployment is. When set, an event, slash command or
    /// interaction whose `api_app_id` is another app's (or missing, except for shortcuts: see
    /// [`Inbound::is_for_another_app`]) is acknowledged with an empty `200` and ignored, as one
    /// from another workspace is. `None` (or blank): not checked.
    pub fn app_id(mut self, app_id: Option<String>) -> Self {
        self.router.app_id = app_id
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty());
        self
    }

    /// The router.
    pub fn build(self) -> Router {
        self.router
    }
}

/// Routes Slack's requests to listeners. Build it once per process and share it.
pub struct Router {
    keys: Arc<dyn KeySource>,
    dedupe: Arc<dyn Deduplicator>,
    hand_off: Arc<dyn HandOffSink>,
    max_body_bytes: usize,
    events: HashMap<String, EventRoute>,
    commands: HashMap<String, Arc<dyn CommandListener>>,
    actions: Vec<(ActionMatcher, Arc<dyn ActionListener>)>,
    interactions: InteractionRoutes,
    lazies: HashMap<String, Arc<dyn LazyListener>>,
    command_failure_text: String,
    view_failure_text: String,
    wrong_workspace_text: String,
    app_id: Option<String>,
}

/// What the request log line says about a request. Only fixed words and Slack identifiers:
/// never bodies, signatures, tokens or response URLs.
/// The lazy listener name under which the router hands itself an event it could not
/// deduplicate on the ack path (the table unavailable): [`Router::run_lazy`] runs it.
pub const DEFERRED_EVENT_LAZY: &str = "slack_router.deferred_event";

/// What an event came to.
enum EventVerdict {
    /// Answer Slack with this (the work is done, handed off, a duplicate, or not ours).
    Answer(Response<String>),
    /// Not done, and nothing is lost if it is asked for again: Slack's retry (ack path) or
    /// Lambda's (deferred run).
    Retry,
    /// The table (channel filter or dedupe markers) cannot be reached; the event, unhandled.
    StoreUnavailable(Box<EventCallback>),
}

#[derive(Default)]
struct RequestLog {
    kind: &'static str,
    name: Option<String>,
    event_id: Option<String>,
    retry: Option<u32>,
    note: &'static str,
}

impl Router {
    /// Starts a router over its three pluggable edges.
    pub fn builder(
        keys: Arc<dyn KeySource>,
        dedupe: Arc<dyn Deduplicator>,
        hand_off: Arc<dyn HandOffSink>,
    ) -> RouterBuilder {
        let router = Router {
            keys,
            dedupe,
            hand_off,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            events: HashMap::new(),
            commands: HashMap::new(),
            actions: Vec::new(),
            interactions: InteractionRoutes::default(),
            lazies: HashMap::new(),
            command_failure_text: DEFAULT_COMMAND_FAILURE_TEXT.to_owned(),
            view_failure_text: DEFAULT_COMMAND_FAILURE_TEXT.to_owned(),
            wrong_workspace_text: DEFAULT_WRONG_WORKSPACE_TEXT.to_owned(),
            app_id: None,
        };
        RouterBuilder { router }
    }

    /// Answers one HTTP request from Slack. Logs one line per request with the outcome and
    /// the time to answer (`ack_ms`).
    pub async fn handle<B: AsRef<[u8]>>(&self, request: &http::Request<B>) -> Response<String> {
        let started = Instant::now();
        let mut log = RequestLog {
            kind: "unknown",
            note: "",
            ..RequestLog::default()
        };
        let response = self.process(request, started, &mut log).await;
        let ack_ms = started.elapsed().as_secs_f64() * 1000.0;
        info!(
            kind = log.kind,
            name = log.name.as_deref().unwrap_or(""),
            event_id = log.event_id.as_deref().unwrap_or(""),
            retry = log.retry.unwrap_or(0),
            note = log.note,
            status = response.status().as_u16(),
            ack_ms,
            "slack request"
        );
        response
    }

    async fn process<B: AsRef<[u8]>>(
        &self,
        request: &http::Request<B>,
        started: Instant,
        log: &mut RequestLog,
    ) -> Response<String> {
        if request.method() != Method::POST {
            log.note = "method_not_allowed";
            return status(StatusCode::METHOD_NOT_ALLOWED);
        }
        let body = request.body().as_ref();
        if body.len() > self.max_body_bytes {
            log.note = "body_too_large";
            return status(StatusCode::PAYLOAD_TOO_LARGE);
        }
        let keys = match self.verified_keys(request.headers(), body).await {
            Ok(keys) => keys,
            Err(Rejection::Unauthorized(reason)) => {
                log.note = reason;
                return status(StatusCode::UNAUTHORIZED);
            }
            Err(Rejection::KeysUnavailable) => {
                log.note = "keys_unavailable";
                return status(StatusCode::INTERNAL_SERVER_ERROR);
            }
        };
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok());
        let inbound = match parse_inbound(content_type, body) {
            Ok(inbound) => inbound,
            Err(malformed) => {
                log.note = malformed.0;
                return status(StatusCode::BAD_REQUEST);
            }
        };
        log.kind = inbound.kind();
        if let Some(team_id) = inbound.team_id()
            && team_id != keys.workspace_id
        {
            warn!(
                kind = inbound.kind(),
                team_id, "request from a workspace this app does not serve"
            );
            log.note = "wrong_workspace";
            return match inbound {
                Inbound::SlashCommand(_) => Ack::ephemeral(&self.wrong_workspace_text),
                _ => Ack::Empty,
            }
            .into_response();
        }
        if let Some(app_id) = self.app_id.as_deref()
            && inbound.is_for_another_app(app_id)
        {
            warn!(
                kind = inbound.kind(),
                api_app_id = inbound.api_app_id().unwrap_or(""),
                "request for another Slack app; ignored"
            );
            log.note = "wrong_app";
            return Ack::Empty.into_response();
        }
        let received_at = Utc::now();
        match inbound {
            Inbound::UrlVerification { challenge } => {
                log.note = "challenge";
                Ack::Json(json!({ "challenge": challenge })).into_response()
            }
            Inbound::AppRateLimited { .. } => {
                warn!("Slack paused event delivery for this app (app_rate_limited)");
                log.note = "app_rate_limited";
                Ack::Empty.into_response()
            }
            Inbound::Event(callback) => {
                log.name = Some(callback.event_type.clone());
                log.event_id = Some(callback.event_id.clone());
                let retry = retry_info(request.headers());
                log.retry = retry.as_ref().map(|retry| retry.attempt);
                let event = EventRequest {
                    callback,
                    retry,
                    received: started,
                    received_at,
                };
                self.dispatch_event(event, log).await
            }
            Inbound::SlashCommand(command) => {
                log.name = Some(command.command.clone());
                let command = CommandRequest {
                    command,
                    received: started,
                    received_at,
                };
                self.dispatch_command(command, log).await
            }
            Inbound::BlockActions(interaction) => {
                self.dispatch_actions(interaction, started, received_at, log)
                    .await
            }
            Inbound::Shortcut(shortcut) => {
                log.name = Some(shortcut.callback_id.clone());
                let listener = self.interactions.shortcuts.get(&shortcut.callback_id);
                let request = ShortcutRequest {
                    shortcut,
                    received: started,
                    received_at,
                };
                self.dispatch_interaction(listener, request, Ack::Empty, log)
                    .await
            }
            Inbound::MessageShortcut(shortcut) => {
                log.name = Some(shortcut.callback_id.clone());
                let listener = self
                    .interactions
                    .message_shortcuts
                    .get(&shortcut.callback_id);
                let request = MessageShortcutRequest {
                    shortcut: *shortcut,
                    received: started,
                    received_at,
                };
                self.dispatch_interaction(listener, request, Ack::Empty, log)
                    .await
            }
            Inbound::ViewSubmission(submission) => {
                log.name = Some(submission.view.callback_id.clone());
                let listener = self
                    .interactions
                    .view_submissions
                    .get(&submission.view.callback_id);
                let failure = self.view_failure_ack(&submission);
                let request = ViewSubmissionRequest {
                    submission: *submission,
                    received: started,
                    received_at,
                };
                self.dispatch_interaction(listener, request, failure, log)
                    .await
            }
            Inbound::ViewClosed(closed) => {
                log.name = Some(closed.view.callback_id.clone());
                let listener = self.interactions.view_closes.get(&closed.view.callback_id);
                let request = ViewClosedRequest {
                    closed: *closed,
                    received: started,
                    received_at,
                };
                self.dispatch_interaction(listener, request, Ack::Empty, log)
                    .await
            }
            Inbound::BlockSuggestion(suggestion) => {
                log.name = Some(suggestion.action_id.clone());
                let listener = self.interactions.options.get(&suggestion.action_id);
                let request = OptionsRequest {
                    suggestion: *suggestion,
                    received: started,
                    received_at,
                };
                let no_options = Ack::options(std::iter::empty());
                self.dispatch_interaction(listener, request, no_options, log)
                    .await
            }
            Inbound::OtherInteraction { kind, .. } | Inbound::OtherEnvelope { kind, .. } => {
                log.name = Some(kind);
                log.note = "no_listener";
                Ack::Empty.into_response()
            }
        }
    }

    async fn verified_keys(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Arc<VerifierKeys>, Rejection> {
        let keys = self.keys.keys().await.map_err(|error| {
            error!(%error, "cannot read the signing secret");
            Rejection::KeysUnavailable
        })?;
        let error = match verify_signature(&keys.signing_secret, headers, body) {
            Ok(()) => return Ok(keys),
            Err(error) => error,
        };
        if !error.may_be_rotation() {
            return Err(Rejection::Unauthorized(signature_note(&error)));
        }
        match self.keys.reload_after_mismatch(&keys).await {
            Ok(Some(newer)) => match verify_signature(&newer.signing_secret, headers, body) {
                Ok(()) => {
                    info!("signing secret rotation picked up");
                    Ok(newer)
                }
                Err(error) => Err(Rejection::Unauthorized(signature_note(&error))),
            },
            Ok(None) => Err(Rejection::Unauthorized(signature_note(&error))),
            Err(reload_error) => {
                warn!(error = %reload_error, "re-reading the signing secret failed");
                Err(Rejection::Unauthorized(signature_note(&error)))
            }
        }
    }

    /// The ack path of an event: its verdict, answered. When the table cannot be reached (the
    /// channel filter or the dedupe markers), the verified event is handed to the deferred
    /// lazy run ([`DEFERRED_EVENT_LAZY`]) and Slack gets its `200`: the lazy run has Lambda's
    /// retries and a DLQ, while Slack gives up after three retries in about five minutes.
    async fn dispatch_event(&self, event: EventRequest, log: &mut RequestLog) -> Response<String> {
        match self.event_verdict(event, log).await {
            EventVerdict::Answer(response) => response,
            EventVerdict::Retry => status(StatusCode::INTERNAL_SERVER_ERROR),
            EventVerdict::StoreUnavailable(callback) => {
                let deferred = match HandOff::lazy(DEFERRED_EVENT_LAZY, &*callback) {
                    Ok(hand_off) => self.deliver_all(vec![hand_off]).await,
                    Err(error) => Err(HandOffError(error.to_string())),
                };
                match deferred {
                    Ok(()) => {
                        error!(
                            event_id = callback.event_id,
                            "the table is unavailable on the ack path; the event is deferred to a lazy run"
                        );
                        log.note = "deferred_store_unavailable";
                        Ack::Empty.into_response()
                    }
                    Err(error) => {
                        error!(%error, "the event could not be deferred; Slack will retry");
                        status(StatusCode::INTERNAL_SERVER_ERROR)
                    }
                }
            }
        }
    }

    /// A deferred event ([`DEFERRED_EVENT_LAZY`]): the same checks, dedupe and listener as on
    /// the ack path, in a lazy invocation. What would make Slack retry (the table still
    /// unavailable, a claim held by another delivery, a transient listener failure) fails the
    /// run retryably, so Lambda retries it and then parks it in the DLQ.
    async fn run_deferred_event(&self, payload: Value) -> Result<(), LazyError> {
        let callback: EventCallback = serde_json::from_value(payload).map_err(|error| {
            LazyError::permanent(format!(
                "a deferred event that is not an event callback: {error}"
            ))
        })?;
        let event = EventRequest {
            callback,
            retry: None,
            received: Instant::now(),
            received_at: Utc::now(),
        };
        let mut log = RequestLog {
            kind: "deferred_event",
            name: Some(event.callback.event_type.clone()),
            event_id: Some(event.callback.event_id.clone()),
            retry: None,
            note: "",
        };
        match self.event_verdict(event, &mut log).await {
            EventVerdict::Answer(_) => {
                info!(note = log.note, "deferred event handled");
                Ok(())
            }
            EventVerdict::Retry | EventVerdict::StoreUnavailable(_) => Err(LazyError::retryable(
                format!("the deferred event could not be handled yet ({})", log.note),
            )),
        }
    }

    /// What an event comes to: checked (filter), deduplicated, run by its listener.
    async fn event_verdict(&self, event: EventRequest, log: &mut RequestLog) -> EventVerdict {
        let Some(route) = self.events.get(&event.callback.event_type).cloned() else {
            log.note = "no_listener";
            return EventVerdict::Answer(Ack::Empty.into_response());
        };
        if let Some(filter) = &route.filter {
            match filter.skip(&event.callback).await {
                Ok(None) => {}
                Ok(Some(why)) => {
                    log.note = why;
                    return EventVerdict::Answer(Ack::Empty.into_response());
                }
                Err(ListenerError::Transient(reason)) => {
                    warn!(%reason, "event filter failed");
                    log.note = "filter_transient";
                    return EventVerdict::StoreUnavailable(Box::new(event.callback));
                }
                Err(ListenerError::Permanent(reason)) => {
                    error!(%reason, "event filter failed for good");
                    log.note = "filter_permanent";
                    return EventVerdict::Answer(Ack::Empty.into_response());
                }
            }
        }
        let event_key = event.callback.event_id.clone();
        let content_key = event.callback.content_key();
        let owner = uuid::Uuid::new_v4().to_string();
        // Both markers are claimed at once: one round trip on the ack path.
        let (event_claim, content_claim) = match &content_key {
            Some(key) => {
                let (event_claim, content_claim) = futures::join!(
                    self.dedupe.claim(DedupeScope::EventId, &event_key, &owner),
                    self.dedupe.claim(DedupeScope::Content, key, &owner)
                );
                (event_claim, Some(content_claim))
            }
            None => (
                self.dedupe
                    .claim(DedupeScope::EventId, &event_key, &owner)
                    .await,
                None,
            ),
        };
        let claimed_event = matches!(event_claim, Ok(Claim::Claimed));
        let claimed_content = matches!(content_claim, Some(Ok(Claim::Claimed)));
        let failure = match (&event_claim, &content_claim) {
            (Err(error), _) | (_, Some(Err(error))) => Some(error.clone()),
            _ => None,
        };
        let markers = Markers {
            event_key: &event_key,
            content_key: content_key.as_deref(),
            owner: &owner,
        };
        if let Some(error) = failure {
            error!(%error, "event dedupe failed");
            self.release_claimed(markers, claimed_event, claimed_content)
                .await;
            log.note = "dedupe_failed";
            return EventVerdict::StoreUnavailable(Box::new(event.callback));
        }
        match (event_claim, content_claim) {
            (Ok(Claim::Done), _) => {
                // The first delivery's work is done. A content marker claimed just now (the
                // first one's had been released) goes back.
                self.release_claimed(markers, false, claimed_content).await;
                log.note = "duplicate_event_id";
                return EventVerdict::Answer(Ack::Empty.into_response());
            }
            (Ok(Claim::Held), _) => {
                // Another delivery of this event is at it, or died at it: never drop a retry
                // that may be the only copy. Slack asks again later, when the claim is done
                // (then: duplicate) or stale (then: taken over).
                self.release_claimed(markers, false, claimed_content).await;
                log.note = "claim_held";
                return EventVerdict::Retry;
            }
            (_, Some(Ok(Claim::Done))) => {
                // The same content under another event_id, done: this event is done too.
                self.complete(markers.event_only()).await;
                log.note = "duplicate_content";
                return EventVerdict::Answer(Ack::Empty.into_response());
            }
            (_, Some(Ok(Claim::Held))) => {
                // The same content under another event_id, in progress: if that delivery
                // dies, this one may be the copy that gets through.
                self.release_claimed(markers, true, false).await;
                log.note = "content_held";
                return EventVerdict::Retry;
            }
            _ => {}
        }
        let listener = Arc::clone(&route.listener);
        let result = listener.on_event(event).await;
        match result {
            Ok(outcome) => {
                log.note = outcome.note;
                match self.deliver_all(outcome.hand_offs).await {
                    Ok(()) => {
                        self.complete(markers).await;
                        EventVerdict::Answer(outcome.ack.into_response())
                    }
                    Err(error) => {
                        error!(%error, "could not hand off event work; Slack will retry");
                        self.release(markers).await;
                        if let Some(work) = outcome.on_hand_off_failure {
                            work.await;
                        }
                        log.note = "hand_off_failed";
                        match outcome.if_hand_off_fails {
                            Some(ack) => EventVerdict::Answer(ack.into_response()),
                            None => EventVerdict::Retry,
                        }
                    }
                }
            }
            Err(ListenerError::Transient(reason)) => {
                warn!(%reason, "event listener failed; Slack will retry");
                self.release(markers).await;
                log.note = "listener_transient";
                EventVerdict::Retry
            }
            Err(ListenerError::Permanent(reason)) => {
                error!(%reason, "event listener failed for good");
                self.complete(markers).await;
                log.note = "listener_permanent";
                EventVerdict::Answer(Ack::Empty.into_response())
            }
        }
    }
    async fn release_claimed(
        &self,
        markers: Markers<'_>,
        event_claimed: bool,
        content_claimed: bool,
    ) {
        let markers = Markers {
            content_key: markers.content_key.filter(|_| content_claimed),
            ..markers
        };
        if event_claimed {
            self.release(markers).await;
        } else if let Some(key) = markers.content_key
            && let Err(error) = self
                .dedupe
                .release(DedupeScope::Content, key, markers.owner)
                .await
        {
            warn!(%error, "could not release a content marker");
        }
    }

    /// Releases the claims this delivery holds. A claim another delivery took over (this one's
    /// lease ran out) is left alone.
    async fn release(&self, markers: Markers<'_>) {
        match self
            .dedupe
            .release(DedupeScope::EventId, markers.event_key, markers.owner)
            .await
        {
            Ok(true) => {}
            Ok(false) => warn!("the event marker was taken over by another delivery; left to it"),
            Err(error) => {
                warn!(%error, "could not release the event marker; a retry is taken once the claim is stale")
            }
        }
        if let Some(key) = markers.content_key {
            match self
                .dedupe
                .release(DedupeScope::Content, key, markers.owner)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    warn!("the content marker was taken over by another delivery; left to it")
                }
                Err(error) => {
                    warn!(%error, "could not release the content marker; a retry is taken once the claim is stale")
                }
            }
        }
    }

    /// Marks the markers done, both at once. A failure costs at most a repeat of work that is
    /// idempotent downstream (a redelivery takes the stale claim over), so it is only logged.
    async fn complete(&self, markers: Markers<'_>) {
        let content = async {
            match markers.content_key {
                Some(key) => {
                    self.dedupe
                        .complete(DedupeScope::Content, key, markers.owner)
                        .await
                }
                None => Ok(true),
            }
        };
        let (event, content) = futures::join!(
            self.dedupe
                .complete(DedupeScope::EventId, markers.event_key, markers.owner),
            content
        );
        match (event, content) {
            (Ok(true), Ok(true)) => {}
            (Err(error), _) | (_, Err(error)) => {
                warn!(%error, "could not mark an event done; a retry may repeat its work")
            }
            _ => warn!(
                "a marker of this event was taken over by another delivery (this one outlived \
                 its lease); the other delivery finishes it"
            ),
        }
    }

    async fn dispatch_command(
        &self,
        command: CommandRequest,
        log: &mut RequestLog,
    ) -> Response<String> {
        let Some(listener) = self.commands.get(&command.command.command).cloned() else {
            log.note = "no_listener";
            return Ack::Empty.into_response();
        };
        match listener.on_command(command).await {
            Ok(outcome) => {
                let apology = Ack::ephemeral(&self.command_failure_text);
                self.finish_interactive(outcome, apology, log).await
            }
            Err(error) => {
                error!(%error, "command listener failed");
                log.note = "listener_failed";
                Ack::ephemeral(&self.command_failure_text).into_response()
            }
        }
    }

    async fn dispatch_actions(
        &self,
        interaction: BlockAction,
        started: Instant,
        received_at: DateTime<Utc>,
        log: &mut RequestLog,
    ) -> Response<String> {
        let matched = interaction.actions.iter().find_map(|action| {
            self.actions
                .iter()
                .find(|(matcher, _)| matcher.matches(&action.action_id))
                .map(|(_, listener)| (action.clone(), Arc::clone(listener)))
        });
        let Some((action, listener)) = matched else {
            log.note = "no_listener";
            return Ack::Empty.into_response();
        };
        log.name = Some(action.action_id.clone());
        let request = ActionRequest {
            interaction,
            action,
            received: started,
            received_at,
        };
        match listener.on_action(request).await {
            Ok(outcome) => {
                let apology = Ack::ephemeral(&self.command_failure_text);
                self.finish_interactive(outcome, apology, log).await
            }
            Err(error) => {
                // Slack shows nothing for a block_actions ack body; the listener is the one
                // that can reach the person (response_url), so only the operator hears of it.
                error!(%error, "action listener failed");
                log.note = "listener_failed";
                Ack::Empty.into_response()
            }
        }
    }

    /// Shortcuts, modals and options: no dedupe (Slack never retries an interaction). The
    /// listener's failure is answered with `failure`, as is a failed hand-off when the listener
    /// gave no fallback of its own. No listener: an empty `200`.
    async fn dispatch_interaction<R>(
        &self,
        listener: Option<&Arc<dyn InteractionListener<R>>>,
        request: R,
        failure: Ack,
        log: &mut RequestLog,
    ) -> Response<String> {
        let Some(listener) = listener.cloned() else {
            log.note = "no_listener";
            return Ack::Empty.into_response();
        };
        match listener.on_interaction(request).await {
            Ok(outcome) => self.finish_interactive(outcome, failure, log).await,
            Err(error) => {
                error!(%error, kind = log.kind, "interaction listener failed");
                log.note = "listener_failed";
                failure.into_response()
            }
        }
    }

    /// What a failed modal submission is answered with: the failure text under the view's
    /// first input block, so the modal stays open with what was entered; a modal without input
    /// blocks (nothing entered to lose) gets a small view pushed on top saying so, which closes
    /// back to it.
    fn view_failure_ack(&self, submission: &ViewSubmission) -> Ack {
        match submission.view.input_block_ids.first() {
            Some(block_id) => {
                Ack::view_errors([(block_id.as_str(), self.view_failure_text.as_str())])
            }
            None => Ack::view_push(json!({
                "type": "modal",
                "title": { "type": "plain_text", "text": FAILURE_VIEW_TITLE },
                "close": { "type": "plain_text", "text": "Back" },
                "blocks": [{
                    "type": "section",
                    "text": { "type": "plain_text", "text": self.view_failure_text },
                }],
            })),
        }
    }

    /// Commands and interactions: Slack never retries them, so a failed hand-off is answered
    /// with the listener's fallback (or `apology`), never a `500`.
    async fn finish_interactive(
        &self,
        outcome: Outcome,
        apology: Ack,
        log: &mut RequestLog,
    ) -> Response<String> {
        log.note = outcome.note;
        match self.deliver_all(outcome.hand_offs).await {
            Ok(()) => outcome.ack.into_response(),
            Err(error) => {
                error!(%error, "could not hand off interactive work");
                log.note = "hand_off_failed";
                if let Some(work) = outcome.on_hand_off_failure {
                    work.await;
                }
                outcome.if_hand_off_fails.unwrap_or(apology).into_response()
            }
        }
    }

    async fn deliver_all(&self, hand_offs: Vec<HandOff>) -> Result<(), HandOffError> {
        for hand_off in hand_offs {
            let (target, payload) = hand_off.into_delivery()?;
            self.hand_off.deliver(&target, payload).await?;
        }
        Ok(())
    }

    /// Runs the lazy listener a [`LazyInvocation`] names (in the invocation that received it).
    pub async fn run_lazy(&self, invocation: LazyInvocation) -> Result<(), LazyError> {
        let call = invocation.call;
        if call.name == DEFERRED_EVENT_LAZY {
            return self.run_deferred_event(call.payload).await;
        }
        let Some(listener) = self.lazies.get(&call.name).cloned() else {
            error!(lazy = call.name, "no lazy listener with this name");
            return Err(LazyError::permanent(format!(
                "no lazy listener named {}",
                call.name
            )));
        };
        let started = Instant::now();
        let queued_ms = (Utc::now() - call.handed_off_at).num_milliseconds();
        let name = call.name.clone();
        let result = listener
            .run(LazyRequest {
                name: call.name,
                payload: call.payload,
                handed_off_at: call.handed_off_at,
            })
            .await;
        let run_ms = started.elapsed().as_secs_f64() * 1000.0;
        match &result {
            Ok(()) => info!(
                lazy = name,
                queued_ms,
                run_ms,
                outcome = "ok",
                "lazy listener"
            ),
            Err(error) => {
                error!(
                    lazy = name,
                    queued_ms,
                    run_ms,
                    %error,
                    retryable = error.retryable,
                    outcome = "failed",
                    "lazy listener"
                )
            }
        }
        result
    }

    /// Whether a lazy listener is registered under `name`.
    pub fn has_lazy(&self, name: &str) -> bool {
        self.lazies.contains_key(name)
    }
}

/// The dedupe keys of one event.
#[derive(Clone, Copy)]
struct Markers<'a> {
    event_key: &'a str,
    content_key: Option<&'a str>,
    /// This delivery's token on the claims it makes.
    owner: &'a str,
}

impl Markers<'_> {
    fn event_only(self) -> Self {
        Self {
            content_key: None,
            ..self
        }
    }
}

enum Rejection {
    Unauthorized(&'static str),
    KeysUnavailable,
}

fn signature_note(error: &SignatureError) -> &'static str {
    match error {
        SignatureError::MissingHeader(_) => "missing_signature_headers",
        SignatureError::MalformedTimestamp => "malformed_timestamp",
        SignatureError::OutsideWindow => "timestamp_outside_window",
        SignatureError::Mismatch => "signature_mismatch",
        SignatureError::BodyNotUtf8 => "body_not_utf8",
        SignatureError::NoSecret => "no_signing_secret",
    }
}

fn status(code: StatusCode) -> Response<String> {
    let mut response = Response::new(String::new());
    *response.status_mut() = code;
    response
}

fn retry_info(headers: &http::HeaderMap) -> Option<RetryInfo> {
    let attempt = headers
        .get(RETRY_NUM_HEADER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let reason = headers
        .get(RETRY_REASON_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    Some(RetryInfo { attempt, reason })
}

#[cfg(test)]
mod tests;
