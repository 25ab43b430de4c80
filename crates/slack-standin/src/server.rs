//! The HTTP side: routes, token checks, fault injection, call recording, and the public handle
//! tests use to seed and inspect the workspace.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::{
    AUTHORIZATION, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RETRY_AFTER,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use serde_json::{Map, Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::SlackStandinConfig;
use crate::error::StandinError;
use crate::feed::WorkspaceEvent;
use crate::methods::Outcome;
use crate::multipart;
use crate::params::Params;
use crate::records::{RecordedCall, ResponsePost};
use crate::signing::{
    BlockSuggestion, InputValue, MessageAction, Shortcut, ViewClosed, ViewSubmission,
};
use crate::views::{OpenView, ViewAnswer};
use crate::world::{
    ChannelSnapshot, EphemeralMessage, FaultKind, FaultRule, FileSnapshot, Message,
    RESPONSE_URL_MAX_POSTS, ResponseUrlState, SeedChannel, SeedFile, SeedUser, SeededFile,
    UserGroup, World,
};
use crate::{DOWNLOAD_CALL, RESPONSE_URL_CALL, UPLOAD_CALL};

/// Web API bodies are small; uploads go through their own route without this limit.
const API_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// A running Slack stand-in. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct SlackStandin {
    shared: Arc<Shared>,
    base_url: String,
    local_addr: SocketAddr,
    _server: Arc<ServerTask>,
}

impl std::fmt::Debug for SlackStandin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackStandin")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

struct Shared {
    world: Mutex<World>,
    /// Bumped after every change, so waiters wake up instead of polling.
    changes: watch::Sender<u64>,
    max_upload_bytes: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn notify(&self) {
        self.changes
            .send_modify(|version| *version = version.wrapping_add(1));
    }

    /// Runs a change to the world and wakes waiters.
    fn change<R>(&self, change: impl FnOnce(&mut World) -> R) -> R {
        let result = change(&mut self.lock());
        self.notify();
        result
    }
}

struct ServerTask(JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl SlackStandin {
    /// Binds `config.bind_addr` and starts serving on the current Tokio runtime.
    pub async fn start(config: SlackStandinConfig) -> Result<Self, StandinError> {
        let listener = tokio::net::TcpListener::bind(config.bind_addr).await?;
        let local_addr = listener.local_addr()?;
        let base_url = format!("http://{local_addr}");
        let shared = Arc::new(Shared {
            max_upload_bytes: config.max_upload_bytes,
            world: Mutex::new(World::new(config, base_url.clone())),
            changes: watch::channel(0).0,
        });
        let app = Router::new()
            .route("/api/{method}", any(api_call))
            .route("/upload/v1/{upload_token}", post(upload))
            .route("/files-pri/{team_file}/download/{name}", get(download))
            .route("/files-pri/{team_file}/{name}", get(download))
            .route("/response/{response_token}", post(response_url_post))
            .route("/signin", get(signin_page))
            .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "Slack stand-in server stopped");
            }
        });
        tracing::debug!(%local_addr, "Slack stand-in listening");
        Ok(Self {
            shared,
            base_url,
            local_addr,
            _server: Arc::new(ServerTask(server)),
        })
    }

    // ---- addresses ----------------------------------------------------------------------

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `http://127.0.0.1:PORT/api`, the value for `slack-morphism`'s `with_slack_api_url`
    /// (methods are `{api_url}/{method}`).
    pub fn api_url(&self) -> String {
        format!("{}/api", self.base_url)
    }

    /// The address the stand-in listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A `response_url` served by the stand-in. Any token works; posts are kept per token.
    pub fn response_url(&self, token: &str) -> String {
        self.shared.lock().response_url(token)
    }

    /// The `response_url` of a command or action in `channel_id`: as in Slack, what is posted
    /// to it `in_channel` also shows in the channel as the app's message.
    pub fn response_url_in(&self, token: &str, channel_id: &str) -> String {
        let channel = channel_id.to_owned();
        self.shared.change(|world| {
            world
                .response_urls
                .entry(token.to_owned())
                .or_default()
                .channel = Some(channel);
        });
        self.response_url(token)
    }

    /// The workspace's configuration.
    pub fn config(&self) -> SlackStandinConfig {
        self.shared.lock().config.clone()
    }

    /// Workspace ID.
    pub fn team_id(&self) -> String {
        self.shared.lock().config.team_id.clone()
    }

    /// The app's bot user ID.
    pub fn bot_user_id(&self) -> String {
        self.shared.lock().config.bot_user_id.clone()
    }

    /// The app's bot ID (`B...`).
    pub fn bot_id(&self) -> String {
        self.shared.lock().config.bot_id.clone()
    }

    /// The bot token accepted at start.
    pub fn bot_token(&self) -> String {
        self.shared.lock().config.bot_token.clone()
    }

    // ---- tokens -------------------------------------------------------------------------

    /// Replaces the accepted tokens (token rotation). Tokens no longer listed get
    /// `invalid_auth`.
    pub fn set_valid_tokens<I, S>(&self, tokens: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let tokens = tokens.into_iter().map(Into::into).collect();
        self.shared.change(|world| world.valid_tokens = tokens);
    }

    /// Revokes a token: it gets `token_revoked` from now on.
    pub fn revoke_token(&self, token: &str) {
        self.shared.change(|world| {
            world.valid_tokens.remove(token);
            world.revoked_tokens.insert(token.to_string());
        });
    }

    // ---- seeding ------------------------------------------------------------------------

    /// Adds a user (`AlreadyExists` for a taken ID).
    pub fn add_user(&self, user: SeedUser) -> Result<(), StandinError> {
        self.shared.change(|world| world.add_user(user))
    }

    /// Adds a channel as if someone else created it; returns its ID.
    pub fn add_channel(&self, channel: SeedChannel) -> Result<String, StandinError> {
        self.shared.change(|world| world.add_channel(channel))
    }

    /// A public channel made by someone else, without the bot: its name is taken for
    /// `conversations.create`.
    pub fn add_foreign_channel(&self, name: &str) -> Result<String, StandinError> {
        let mut seed = SeedChannel::public(name);
        seed.creator = Some("USLACKBOT".to_string());
        self.add_channel(seed)
    }

    /// Puts the bot into a channel or takes it out, behind the app's back.
    pub fn set_bot_membership(&self, channel_id: &str, member: bool) -> Result<(), StandinError> {
        self.shared.change(|world| {
            let bot = world.config.bot_user_id.clone();
            world.set_membership(channel_id, &bot, member)
        })
    }

    /// A person joins a channel (with a `member_joined_channel` event).
    pub fn add_channel_member(&self, channel_id: &str, user_id: &str) -> Result<(), StandinError> {
        self.shared
            .change(|world| world.set_membership(channel_id, user_id, true))
    }

    /// A person leaves a channel (with a `member_left_channel` event).
    pub fn remove_channel_member(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> Result<(), StandinError> {
        self.shared
            .change(|world| world.set_membership(channel_id, user_id, false))
    }

    /// Archives or unarchives a channel behind the app's back.
    pub fn set_channel_archived(
        &self,
        channel_id: &str,
        archived: bool,
    ) -> Result<(), StandinError> {
        self.shared.change(|world| {
            world.channel_mut(channel_id)?.is_archived = archived;
            Ok(())
        })
    }

    /// A message a user wrote in a channel; returns its `ts`.
    pub fn post_user_message(
        &self,
        channel_id: &str,
        user_id: &str,
        text: &str,
    ) -> Result<String, StandinError> {
        self.shared
            .change(|world| world.post_user_message(channel_id, user_id, text, None))
    }

    /// A thread reply a user wrote; returns its `ts`.
    pub fn post_user_reply(
        &self,
        channel_id: &str,
        user_id: &str,
        text: &str,
        thread_ts: &str,
    ) -> Result<String, StandinError> {
        self.shared
            .change(|world| world.post_user_message(channel_id, user_id, text, Some(thread_ts)))
    }

    /// A file a user shared into a channel, ready for `files.info` and download.
    pub fn add_user_file(&self, file: SeedFile) -> Result<SeededFile, StandinError> {
        self.shared.change(|world| world.add_user_file(file))
    }

    /// A user group (`S...`) for `usergroups.users.list`.
    pub fn add_usergroup(&self, usergroup_id: &str, user_ids: &[&str]) {
        let users = user_ids.iter().map(|id| (*id).to_string()).collect();
        self.shared.change(|world| {
            world
                .usergroups
                .insert(usergroup_id.to_string(), UserGroup { users });
        });
    }

    // ---- rate limits and faults ---------------------------------------------------------

    /// Slack's rate limits, all on by default (see [`crate::rules`]): per-method tiers and
    /// ~1 post per second per channel with short bursts. `false` turns both off; a test that
    /// does so must say why.
    pub fn set_rate_limits(&self, enabled: bool) {
        self.shared.change(|world| {
            world.limits.tiers = enabled;
            world.limits.channel_posts = enabled.then_some((
                crate::rules::CHANNEL_POST_BURST,
                crate::rules::CHANNEL_POST_INTERVAL,
            ));
            world.limits.reset();
        });
    }

    /// The per-method tiers alone (on by default).
    pub fn set_method_rate_limits(&self, enabled: bool) {
        self.shared.change(|world| {
            world.limits.tiers = enabled;
            world.limits.reset();
        });
    }

    /// Slack's ~1 message per second per channel for `chat.postMessage` and file shares, with
    /// a burst of [`crate::rules::CHANNEL_POST_BURST`], answered with 429 and `Retry-After`.
    /// On by default.
    pub fn set_channel_rate_limit(&self, enabled: bool) {
        self.shared.change(|world| {
            world.limits.channel_posts = enabled.then_some((
                crate::rules::CHANNEL_POST_BURST,
                crate::rules::CHANNEL_POST_INTERVAL,
            ));
            world.limits.reset();
        });
    }

    /// Strict spacing of posts per channel, without a burst: one post per `interval` (a long
    /// one makes a test independent of how fast it runs). `None` turns the limit off.
    pub fn set_channel_post_interval(&self, interval: Option<Duration>) {
        self.shared.change(|world| {
            world.limits.channel_posts = interval.map(|interval| (1, interval));
            world.limits.reset();
        });
    }

    /// Replaces the token's scopes (default: [`crate::DEFAULT_BOT_SCOPES`]).
    pub fn set_bot_scopes<I, S>(&self, scopes: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes = scopes.into_iter().map(Into::into).collect();
        self.shared.change(|world| world.scopes = scopes);
    }

    /// The token's scopes.
    pub fn bot_scopes(&self) -> Vec<String> {
        self.shared.lock().scopes.clone()
    }

    /// The next `times` calls answer HTTP `status` (500, 503...). `method` `None` matches every
    /// Web API method; name [`UPLOAD_CALL`], [`DOWNLOAD_CALL`] or [`RESPONSE_URL_CALL`] to hit
    /// those endpoints.
    pub fn inject_server_errors(&self, method: Option<&str>, status: u16, times: u32) {
        self.add_fault(method, FaultKind::ServerError { status }, times);
    }

    /// The next `times` calls answer 429 with `Retry-After: retry_after_secs`.
    pub fn inject_rate_limits(&self, method: Option<&str>, times: u32, retry_after_secs: u64) {
        self.add_fault(method, FaultKind::RateLimited { retry_after_secs }, times);
    }

    fn add_fault(&self, method: Option<&str>, kind: FaultKind, times: u32) {
        if times == 0 {
            return;
        }
        self.shared.change(|world| {
            world.faults.push(FaultRule {
                method: method.map(str::to_string),
                kind,
                remaining: times,
            });
        });
    }

    /// `files.info` reports `url_private` / `url_private_download` under `base` (no trailing
    /// slash) instead of the stand-in's own address; `None` restores it. Real Slack serves files
    /// from `https://files.slack.com`, another host than its Web API's: a test uses this to
    /// check what a client does with a file URL on a host it did not expect.
    pub fn set_file_url_base(&self, base: Option<&str>) {
        let base = base.map(|base| base.trim_end_matches('/').to_string());
        self.shared.change(|world| world.file_url_base = base);
    }

    /// The next `times` downloads with a valid token answer `302 Found` with `Location:
    /// location` (a file host handing the request on, as a CDN may), recorded as
    /// [`DOWNLOAD_CALL`] with status 302.
    pub fn redirect_downloads(&self, location: &str, times: u32) {
        let redirect = (times > 0).then(|| (location.to_string(), times));
        self.shared
            .change(|world| world.download_redirect = redirect);
    }

    /// Delay added before answering every request.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.change(|world| world.latency = latency);
    }

    /// Drops pending injected faults and the latency.
    pub fn clear_faults(&self) {
        self.shared.change(|world| {
            world.faults.clear();
            world.latency = Duration::ZERO;
        });
    }

    /// Later posts to this `response_url` fail like an expired one (after 30 minutes).
    pub fn expire_response_url(&self, token: &str) {
        self.shared.change(|world| {
            world
                .response_urls
                .entry(token.to_string())
                .or_default()
                .expired = true;
        });
    }

    // ---- inspection ---------------------------------------------------------------------

    /// Every request answered so far, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.lock().calls.clone()
    }

    /// The requests to one method (or endpoint), in order.
    pub fn calls_to(&self, method: &str) -> Vec<RecordedCall> {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|call| call.method == method)
            .cloned()
            .collect()
    }

    /// How many requests one method (or endpoint) got.
    pub fn call_count(&self, method: &str) -> usize {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|call| call.method == method)
            .count()
    }

    /// Forgets the recorded requests.
    pub fn clear_calls(&self) {
        self.shared.change(|world| world.calls.clear());
    }

    /// A channel by ID.
    pub fn channel(&self, channel_id: &str) -> Option<ChannelSnapshot> {
        let world = self.shared.lock();
        world
            .channels
            .get(channel_id)
            .map(|channel| world.channel_snapshot(channel))
    }

    /// A channel by name.
    pub fn channel_by_name(&self, name: &str) -> Option<ChannelSnapshot> {
        let world = self.shared.lock();
        world
            .channels
            .values()
            .find(|channel| channel.name == name)
            .map(|channel| world.channel_snapshot(channel))
    }

    /// All channels in creation order.
    pub fn channels(&self) -> Vec<ChannelSnapshot> {
        let world = self.shared.lock();
        world
            .channels
            .values()
            .map(|channel| world.channel_snapshot(channel))
            .collect()
    }

    /// A channel's messages in posting order (thread replies included); empty for an unknown
    /// channel.
    pub fn messages(&self, channel_id: &str) -> Vec<Message> {
        self.shared
            .lock()
            .channels
            .get(channel_id)
            .map(|channel| channel.messages.clone())
            .unwrap_or_default()
    }

    /// The Home tab view last published for `user_id` with `views.publish` (with the `id` and
    /// `hash` Slack adds), if any.
    pub fn home_view(&self, user_id: &str) -> Option<serde_json::Value> {
        self.shared.lock().home_views.get(user_id).cloned()
    }

    /// The `chat.postEphemeral` messages of a channel, in order.
    pub fn ephemeral_messages(&self, channel_id: &str) -> Vec<EphemeralMessage> {
        self.shared
            .lock()
            .channels
            .get(channel_id)
            .map(|channel| channel.ephemeral.clone())
            .unwrap_or_default()
    }

    /// A file by ID, with its bytes.
    pub fn file(&self, file_id: &str) -> Option<FileSnapshot> {
        let world = self.shared.lock();
        world
            .files
            .get(file_id)
            .map(|file| world.file_snapshot(file))
    }

    /// Every file, by ID.
    pub fn files(&self) -> Vec<FileSnapshot> {
        let world = self.shared.lock();
        let mut files: Vec<FileSnapshot> = world
            .files
            .values()
            .map(|file| world.file_snapshot(file))
            .collect();
        files.sort_by(|a, b| a.id.cmp(&b.id));
        files
    }

    /// The posts a `response_url` got, in order.
    pub fn response_posts(&self, token: &str) -> Vec<ResponsePost> {
        self.shared
            .lock()
            .response_urls
            .get(token)
            .map(|state| state.posts.clone())
            .unwrap_or_default()
    }

    // ---- interactivity: triggers, modals, shortcuts ---------------------------------------

    /// Issues a `trigger_id` for `user_id`, as Slack does with every interaction: `views.open`
    /// and `views.push` accept it once, within [`crate::TRIGGER_TTL`] (3 s). Put it on a
    /// payload with `with_trigger_id` (`SlashCommand`, `BlockAction`, `Shortcut`,
    /// `MessageAction`, `ViewSubmission`). Unknown user: [`StandinError::UnknownUser`].
    pub fn issue_trigger_id(&self, user_id: &str) -> Result<String, StandinError> {
        self.shared.change(|world| world.issue_trigger(user_id))
    }

    /// Every trigger issued so far expires now, as if 3 s had passed (`expired_trigger_id`),
    /// without sleeping. Triggers issued later are fresh.
    pub fn expire_trigger_ids(&self) {
        self.shared.change(|world| {
            for trigger in world.triggers.values_mut() {
                trigger.expired = true;
            }
        });
    }

    /// One trigger expires now ([`StandinError::Impossible`] if the stand-in never issued it).
    pub fn expire_trigger_id(&self, trigger_id: &str) -> Result<(), StandinError> {
        self.shared.change(|world| {
            let trigger = world.triggers.get_mut(trigger_id).ok_or_else(|| {
                StandinError::Impossible(format!("trigger {trigger_id} was never issued"))
            })?;
            trigger.expired = true;
            Ok(())
        })
    }

    /// The modal views `user_id` has open, the root first and the top one last (empty when
    /// none), as Slack answered them to the app.
    pub fn open_views(&self, user_id: &str) -> Vec<OpenView> {
        self.shared.lock().stack_of(user_id)
    }

    /// An open modal view by ID.
    pub fn open_view(&self, view_id: &str) -> Option<OpenView> {
        self.shared.lock().open_views.get(view_id).cloned()
    }

    /// `user_id` uses the app's global shortcut `callback_id`: the payload, with a fresh trigger
    /// ID issued to them and their handle.
    pub fn shortcut(&self, user_id: &str, callback_id: &str) -> Result<Shortcut, StandinError> {
        self.shared
            .change(|world| world.shortcut(user_id, callback_id))
    }

    /// `user_id` uses the app's message shortcut `callback_id` on the message `message_ts` of
    /// `channel_id`: the payload with the message as stored (`text` as Slack delivers it,
    /// `files`, `thread_ts`), a fresh trigger ID and a `response_url` served here under
    /// `response_token` (its `in_channel` posts show in the channel). Refused
    /// ([`StandinError::Impossible`]) when the person cannot see the message (a private channel
    /// they are not in).
    pub fn message_action(
        &self,
        user_id: &str,
        channel_id: &str,
        message_ts: &str,
        callback_id: &str,
        response_token: &str,
    ) -> Result<MessageAction, StandinError> {
        self.shared.change(|world| {
            world.message_action(user_id, channel_id, message_ts, callback_id, response_token)
        })
    }

    /// `user_id` fills in and submits their top view `view_id`: the `view_submission` payload
    /// with `state.values` holding the view's initial values overlaid with `values`
    /// (`(block_id, action_id, value)`), and a fresh trigger ID. Refused
    /// ([`StandinError::Impossible`]) for what Slack's client would not let a person do: an
    /// element that is not there or of another type, an option the element does not offer, a
    /// text over `max_length` or multi-line in a single-line input, a date not `YYYY-MM-DD`,
    /// an unknown user, a required input left empty. Option texts are taken from the view.
    /// [`StandinError::UnknownView`] unless `view_id` is the top of the person's stack. The view
    /// stays open until [`SlackStandin::answer_view_submission`].
    pub fn view_submission(
        &self,
        user_id: &str,
        view_id: &str,
        values: &[(&str, &str, InputValue)],
    ) -> Result<ViewSubmission, StandinError> {
        let values = values
            .iter()
            .map(|(block, action, value)| {
                ((*block).to_string(), (*action).to_string(), value.clone())
            })
            .collect();
        self.shared
            .change(|world| world.view_submission(user_id, view_id, values))
    }

    /// What Slack does with the app's HTTP answer to a `view_submission` of `view_id`
    /// (`answer` is the response body's JSON, `None` for an empty body): closes the view,
    /// clears the stack, keeps it open with field errors (only on `input` blocks), updates it or
    /// pushes a view (checked like `views.update` / `views.push`). An answer Slack would not
    /// take leaves the view as it was ([`ViewAnswer::Refused`]).
    pub fn answer_view_submission(
        &self,
        view_id: &str,
        answer: Option<&Value>,
    ) -> Result<ViewAnswer, StandinError> {
        self.shared
            .change(|world| world.answer_view_submission(view_id, answer))
    }

    /// `user_id` closes their top view `view_id`: with its Cancel button (`clear_all` false:
    /// that view alone closes) or with the X (`clear_all` true: the whole stack closes). The
    /// `view_closed` payload (`is_cleared` = `clear_all`) when the view was opened with
    /// `notify_on_close: true`; `None` otherwise, as Slack then sends nothing.
    pub fn close_view(
        &self,
        user_id: &str,
        view_id: &str,
        clear_all: bool,
    ) -> Result<Option<ViewClosed>, StandinError> {
        self.shared
            .change(|world| world.close_view(user_id, view_id, clear_all))
    }

    /// `user_id` types `typed` into the external select `block_id`/`action_id` of their top
    /// view `view_id`: the `block_suggestion` payload for the options-load URL. Refused
    /// ([`StandinError::Impossible`]) for an element that is not an external select, or when
    /// fewer characters than its `min_query_length` (default 3) are typed, as Slack sends no
    /// request then.
    pub fn block_suggestion(
        &self,
        user_id: &str,
        view_id: &str,
        block_id: &str,
        action_id: &str,
        typed: &str,
    ) -> Result<BlockSuggestion, StandinError> {
        self.shared
            .lock()
            .block_suggestion(user_id, view_id, block_id, action_id, typed)
    }

    /// The permalink `chat.getPermalink` answers for a message (`None` if there is none).
    pub fn permalink(&self, channel_id: &str, message_ts: &str) -> Option<String> {
        self.shared.lock().permalink(channel_id, message_ts)
    }

    // ---- waiting ------------------------------------------------------------------------

    /// Waits until `condition` holds or `timeout` passes; re-checks after every change to the
    /// stand-in, never by sleeping. Returns whether the condition held.
    pub async fn wait_until<F>(&self, timeout: Duration, mut condition: F) -> bool
    where
        F: FnMut(&Self) -> bool,
    {
        let mut changes = self.shared.changes.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            changes.borrow_and_update();
            if condition(self) {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return condition(self),
            }
        }
    }

    /// Waits until the channel has at least `count` messages; returns them (fewer on timeout).
    pub async fn wait_for_messages(
        &self,
        channel_id: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<Message> {
        self.wait_until(timeout, |slack| slack.messages(channel_id).len() >= count)
            .await;
        self.messages(channel_id)
    }

    /// Waits until `method` was called at least `count` times; returns those calls.
    pub async fn wait_for_calls(
        &self,
        method: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<RecordedCall> {
        self.wait_until(timeout, |slack| slack.call_count(method) >= count)
            .await;
        self.calls_to(method)
    }

    // ---- event feed ---------------------------------------------------------------------

    /// Receives every event Slack's Events API would send the app from now on: `message` for
    /// each message added to a channel (users' and the app's own), `file_shared` for each file
    /// shared into a channel, `member_joined_channel` / `member_left_channel` for membership
    /// changes (invites, joins, seeded members). Each call gets its own receiver; dropping it
    /// unsubscribes. Nothing is sent anywhere unless someone subscribes.
    pub fn subscribe_events(&self) -> tokio::sync::mpsc::UnboundedReceiver<WorkspaceEvent> {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        self.shared.lock().event_subscribers.push(sender);
        receiver
    }
}

// ---- handlers -----------------------------------------------------------------------------

type SharedState = State<Arc<Shared>>;

async fn apply_latency(shared: &Shared) {
    let latency = shared.lock().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

fn header_text(headers: &HeaderMap, name: axum::http::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = header_text(headers, AUTHORIZATION)?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn check_token(world: &World, token: Option<&str>) -> Result<(), &'static str> {
    match token {
        None | Some("") => Err("not_authed"),
        Some(token) if world.valid_tokens.contains(token) => Ok(()),
        Some(token) if world.revoked_tokens.contains(token) => Err("token_revoked"),
        Some(_) => Err("invalid_auth"),
    }
}

/// What the stand-in answers, before it becomes an HTTP response.
enum Reply {
    Api(Outcome),
    /// An injected HTTP error.
    HttpError(u16),
}

impl Reply {
    fn from_fault(fault: FaultKind) -> Self {
        match fault {
            FaultKind::ServerError { status } => Self::HttpError(status),
            FaultKind::RateLimited { retry_after_secs } => {
                Self::Api(Outcome::RateLimited { retry_after_secs })
            }
        }
    }

    /// Status, `ok` and `error` for the call record.
    fn summary(&self) -> (u16, bool, Option<String>) {
        match self {
            Self::Api(Outcome::Ok(_)) => (200, true, None),
            Self::Api(Outcome::Error { code, .. }) => (200, false, Some(code.clone())),
            Self::Api(Outcome::RateLimited { .. }) => (429, false, Some("ratelimited".into())),
            Self::HttpError(status) => (*status, false, Some(format!("http_{status}"))),
        }
    }

    fn into_response(self) -> Response {
        match self {
            Self::Api(Outcome::Ok(fields)) => {
                let mut body = Map::new();
                body.insert("ok".to_string(), Value::Bool(true));
                body.extend(fields);
                json_response(StatusCode::OK, &Value::Object(body))
            }
            Self::Api(Outcome::Error { code, extra }) => {
                let mut body = Map::new();
                body.insert("ok".to_string(), Value::Bool(false));
                body.insert("error".to_string(), Value::String(code));
                body.extend(extra);
                json_response(StatusCode::OK, &Value::Object(body))
            }
            Self::Api(Outcome::RateLimited { retry_after_secs }) => {
                let mut response = json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    &json!({"ok": false, "error": "ratelimited"}),
                );
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
                response
            }
            Self::HttpError(status) => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                html_response(
                    status,
                    &format!(
                        "<html><body><h1>{}</h1></body></html>",
                        status.canonical_reason().unwrap_or("Error")
                    ),
                )
            }
        }
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn html_response(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(CONTENT_TYPE, "text/html; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

struct CallRecord {
    method: String,
    http_method: Method,
    params: Value,
    content_type: Option<String>,
    token: Option<String>,
    received_at: Instant,
}

impl CallRecord {
    fn finish(self, world: &mut World, (status, ok, error): (u16, bool, Option<String>)) {
        world.calls.push(RecordedCall {
            method: self.method,
            http_method: self.http_method.to_string(),
            params: self.params,
            content_type: self.content_type,
            token: self.token,
            status,
            ok,
            error,
            received_at: self.received_at,
        });
    }
}

async fn api_call(
    State(shared): SharedState,
    Path(method): Path<String>,
    http_method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received_at = Instant::now();
    apply_latency(&shared).await;
    let content_type = header_text(&headers, CONTENT_TYPE);
    let parsed = Params::parse(uri.query(), content_type.as_deref(), &body);
    let token = bearer_token(&headers).or_else(|| parsed.as_ref().ok().and_then(Params::token));
    let record = CallRecord {
        method: method.clone(),
        http_method,
        params: parsed.as_ref().map_or(Value::Null, Params::recorded),
        content_type,
        token: token.clone(),
        received_at,
    };

    let reply = {
        let mut world = shared.lock();
        let reply = match world.take_fault(&method, true) {
            Some(fault) => Reply::from_fault(fault),
            None => match (parsed, check_token(&world, token.as_deref())) {
                (Err(error), _) => Reply::Api(Outcome::error(error.code())),
                (Ok(_), Err(code)) => Reply::Api(Outcome::error(code)),
                (Ok(params), Ok(())) => match world.limits.admit_method(&method, received_at) {
                    Err(retry_after_secs) => Reply::Api(Outcome::RateLimited { retry_after_secs }),
                    Ok(()) => Reply::Api(world.call_method(
                        &method,
                        &params,
                        token.as_deref().unwrap_or_default(),
                    )),
                },
            },
        };
        record.finish(&mut world, reply.summary());
        reply
    };
    shared.notify();
    if let Reply::Api(Outcome::Error { code, .. }) = &reply {
        tracing::debug!(%method, error = %code, "Slack stand-in answered an API error");
    }
    reply.into_response()
}

/// Reads a request body into one buffer sized up front, so a large upload is copied once
/// (out of the socket buffers) and then shared by reference.
async fn read_body(body: Body, size_hint: usize, limit: usize) -> Result<Bytes, StatusCode> {
    let mut body = body;
    let mut buffer = BytesMut::with_capacity(size_hint.min(limit));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| StatusCode::BAD_REQUEST)?;
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > limit {
                return Err(StatusCode::PAYLOAD_TOO_LARGE);
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(buffer.freeze())
}

async fn upload(
    State(shared): SharedState,
    Path(upload_token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let received_at = Instant::now();
    apply_latency(&shared).await;
    let content_type = header_text(&headers, CONTENT_TYPE);
    let content_length = header_text(&headers, CONTENT_LENGTH).and_then(|v| v.parse().ok());
    let file_id = shared.lock().uploads.get(&upload_token).cloned();
    let mut record = CallRecord {
        method: UPLOAD_CALL.to_string(),
        http_method: Method::POST,
        params: json!({ "file_id": file_id }),
        content_type: content_type.clone(),
        token: bearer_token(&headers),
        received_at,
    };

    let read = match content_length {
        Some(length) if length > shared.max_upload_bytes => Err(StatusCode::PAYLOAD_TOO_LARGE),
        _ => read_body(body, content_length.unwrap_or(0), shared.max_upload_bytes).await,
    };

    let mut world = shared.lock();
    let response = if let Some(fault) = world.take_fault(UPLOAD_CALL, false) {
        let reply = Reply::from_fault(fault);
        record.finish(&mut world, reply.summary());
        reply.into_response()
    } else {
        match (file_id, read) {
            (None, _) => {
                record.finish(
                    &mut world,
                    (404, false, Some("upload_url_not_found".into())),
                );
                (StatusCode::NOT_FOUND, "Not Found").into_response()
            }
            (Some(_), Err(status)) => {
                record.finish(
                    &mut world,
                    (status.as_u16(), false, Some(status.to_string())),
                );
                (status, status.to_string()).into_response()
            }
            (Some(file_id), Ok(body)) => {
                let (bytes, filename) = file_bytes(content_type.as_deref(), body);
                let length = bytes.len();
                let declared = world
                    .files
                    .get(&file_id)
                    .and_then(|file| file.declared_length);
                if let Some(declared) = declared
                    && u64::try_from(length).ok() != Some(declared)
                {
                    // Slack's docs do not say what a body of another length than the `length`
                    // given to `files.getUploadURLExternal` gets. The stricter reading: the
                    // upload is refused (HTTP 400) and the bytes are not kept, so the file
                    // cannot be completed (`file_not_found`).
                    record.params = json!({
                        "file_id": file_id,
                        "length": length,
                        "declared_length": declared,
                        "filename": filename,
                    });
                    record.finish(&mut world, (400, false, Some("length_mismatch".into())));
                    let response = (
                        StatusCode::BAD_REQUEST,
                        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
                        format!("length_mismatch - declared {declared}, received {length}"),
                    )
                        .into_response();
                    drop(world);
                    shared.notify();
                    return response;
                }
                if let Some(file) = world.files.get_mut(&file_id) {
                    file.bytes = Some(bytes);
                }
                record.params =
                    json!({ "file_id": file_id, "length": length, "filename": filename });
                record.finish(&mut world, (200, true, None));
                (
                    StatusCode::OK,
                    [(CONTENT_TYPE, "text/plain; charset=utf-8")],
                    format!("OK - {length}"),
                )
                    .into_response()
            }
        }
    };
    drop(world);
    shared.notify();
    response
}

/// The uploaded bytes: the raw body, or the file part of a multipart form (a slice of the
/// body, not a copy). Also returns the multipart file name, if any.
fn file_bytes(content_type: Option<&str>, body: Bytes) -> (Bytes, Option<String>) {
    let Some(boundary) = content_type.and_then(multipart::boundary) else {
        return (body, None);
    };
    let Ok(parts) = multipart::parse(&body, &boundary) else {
        return (body, None);
    };
    let chosen = parts
        .iter()
        .position(|part| part.filename.is_some())
        .or_else(|| {
            parts
                .iter()
                .position(|part| part.name.as_deref() == Some("file"))
        })
        .or(if parts.is_empty() { None } else { Some(0) });
    match chosen {
        Some(index) => {
            let part = parts[index].clone();
            (part.data, part.filename)
        }
        None => (body, None),
    }
}

async fn download(
    State(shared): SharedState,
    Path((team_file, _name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let received_at = Instant::now();
    apply_latency(&shared).await;
    let token = bearer_token(&headers);
    let file_id = team_file
        .split_once('-')
        .map(|(_, file_id)| file_id.to_string())
        .unwrap_or_default();
    let record = CallRecord {
        method: DOWNLOAD_CALL.to_string(),
        http_method: Method::GET,
        params: json!({ "file_id": file_id }),
        content_type: None,
        token: token.clone(),
        received_at,
    };

    let mut world = shared.lock();
    let response = if let Some(fault) = world.take_fault(DOWNLOAD_CALL, false) {
        let reply = Reply::from_fault(fault);
        record.finish(&mut world, reply.summary());
        reply.into_response()
    } else if let Err(code) = check_token(&world, token.as_deref()) {
        // Slack does not answer 401 here: it redirects to its sign-in page, so a client that
        // follows redirects gets 200 and an HTML page instead of the file.
        record.finish(&mut world, (302, false, Some(code.to_string())));
        let location = format!("{}/signin?redir=%2Ffiles-pri%2F{team_file}", world.base_url);
        (StatusCode::FOUND, [(LOCATION, location)]).into_response()
    } else if let Some((location, remaining)) = world.download_redirect.take() {
        if remaining > 1 {
            world.download_redirect = Some((location.clone(), remaining - 1));
        }
        record.finish(&mut world, (302, true, None));
        (StatusCode::FOUND, [(LOCATION, location)]).into_response()
    } else {
        let team_matches = team_file
            .split_once('-')
            .is_some_and(|(team, _)| team == world.config.team_id);
        let file = world
            .files
            .get(&file_id)
            .filter(|_| team_matches)
            .and_then(|file| {
                Some((
                    file.bytes.clone()?,
                    file.mimetype.clone(),
                    file.name.clone(),
                ))
            });
        match file {
            None => {
                record.finish(&mut world, (404, false, Some("file_not_found".into())));
                html_response(
                    StatusCode::NOT_FOUND,
                    "<html><body>File not found</body></html>",
                )
            }
            Some((bytes, mimetype, name)) => {
                record.finish(&mut world, (200, true, None));
                let disposition = format!(
                    "attachment; filename=\"{}\"",
                    name.replace(['"', '\\', '\r', '\n'], "_")
                );
                let mut response = Response::new(Body::from(bytes));
                let headers = response.headers_mut();
                if let Ok(value) = HeaderValue::from_str(&mimetype) {
                    headers.insert(CONTENT_TYPE, value);
                }
                if let Ok(value) = HeaderValue::from_str(&disposition) {
                    headers.insert(CONTENT_DISPOSITION, value);
                }
                response
            }
        }
    };
    drop(world);
    shared.notify();
    response
}

async fn signin_page() -> Response {
    html_response(
        StatusCode::OK,
        "<!DOCTYPE html><html><head><title>Slack</title></head>\
         <body><form action=\"/signin\" method=\"post\">Sign in to your workspace</form></body></html>",
    )
}

async fn response_url_post(
    State(shared): SharedState,
    Path(response_token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received_at = Instant::now();
    apply_latency(&shared).await;
    let content_type = header_text(&headers, CONTENT_TYPE);
    let payload = response_payload(content_type.as_deref(), &body);
    let record = CallRecord {
        method: RESPONSE_URL_CALL.to_string(),
        http_method: Method::POST,
        params: payload.clone().unwrap_or(Value::Null),
        content_type,
        token: None,
        received_at,
    };

    let mut world = shared.lock();
    let response = match world.take_fault(RESPONSE_URL_CALL, false) {
        Some(fault) => {
            let reply = Reply::from_fault(fault);
            record.finish(&mut world, reply.summary());
            reply.into_response()
        }
        None => {
            let state = world.response_urls.entry(response_token).or_default();
            let result = accept_response_post(state, payload);
            let shown_in = state.channel.clone().zip(
                state
                    .posts
                    .last()
                    .filter(|post| {
                        result.is_ok()
                            && post.response_type.as_deref() == Some("in_channel")
                            && !post.replace_original
                            && !post.delete_original
                    })
                    .map(|post| (post.text.clone(), post.blocks.clone())),
            );
            if let Some((channel, (text, blocks))) = shown_in {
                world.post_app_response(&channel, text, blocks);
            }
            let (status, error) = match result {
                Ok(()) => (StatusCode::OK, None),
                Err((status, code)) => (status, Some(code)),
            };
            record.finish(
                &mut world,
                (status.as_u16(), error.is_none(), error.map(str::to_string)),
            );
            match error {
                None => json_response(StatusCode::OK, &json!({"ok": true})),
                Some(code) => {
                    (status, [(CONTENT_TYPE, "text/plain; charset=utf-8")], code).into_response()
                }
            }
        }
    };
    drop(world);
    shared.notify();
    response
}

/// Applies Slack's `response_url` rules and keeps the post, or says why it was refused.
fn accept_response_post(
    state: &mut ResponseUrlState,
    payload: Option<Value>,
) -> Result<(), (StatusCode, &'static str)> {
    if state.expired {
        return Err((StatusCode::NOT_FOUND, "expired_url"));
    }
    if state.posts.len() >= RESPONSE_URL_MAX_POSTS {
        return Err((StatusCode::NOT_FOUND, "used_url"));
    }
    let body = payload.ok_or((StatusCode::BAD_REQUEST, "invalid_payload"))?;
    let post = ResponsePost {
        response_type: body
            .get("response_type")
            .and_then(Value::as_str)
            .map(str::to_string),
        text: body.get("text").and_then(Value::as_str).map(str::to_string),
        blocks: body
            .get("blocks")
            .filter(|blocks| !blocks.is_null())
            .cloned(),
        replace_original: flag(&body, "replace_original"),
        delete_original: flag(&body, "delete_original"),
        body,
    };
    if post.text.is_none() && post.blocks.is_none() && !post.delete_original {
        return Err((StatusCode::BAD_REQUEST, "no_text"));
    }
    state.posts.push(post);
    Ok(())
}

/// A `response_url` body: JSON, or a form with a JSON `payload` field.
fn response_payload(content_type: Option<&str>, body: &Bytes) -> Option<Value> {
    let is_form = content_type.is_some_and(|value| {
        value
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    let json_text = if is_form {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
        pairs
            .into_iter()
            .find(|(key, _)| key == "payload")
            .map(|(_, value)| value.into_bytes())?
    } else {
        body.to_vec()
    };
    serde_json::from_slice::<Value>(&json_text)
        .ok()
        .filter(Value::is_object)
}

fn flag(body: &Value, key: &str) -> bool {
    match body.get(key) {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => text == "true",
        _ => false,
    }
}
