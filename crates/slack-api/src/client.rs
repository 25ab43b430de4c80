//! The Slack Web API client: construction, the retry loop, and the methods sirslack uses.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use hyper::{Method, Request, Uri};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::{
    SlackApiToken, SlackApiTokenValue, SlackClient, SlackClientHyperConnector, SlackMessageContent,
};

use crate::error::{ErrorClass, SlackApiError};
use crate::file_hosts::FileHosts;
use crate::http::{self, Connector, HttpClient, RequestBody};
use crate::pacer::ChannelPacer;
use crate::person::{Person, UsersInfo};
use crate::retry::{Deadline, RetryPolicy};
use crate::token::BotToken;

/// Slack's Web API.
pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api";

/// Slack's documented spacing of posts to one channel.
pub const DEFAULT_CHANNEL_POST_INTERVAL: Duration = Duration::from_secs(1);

/// Redirects a file download follows (Slack's file URLs may redirect to a CDN).
pub const MAX_DOWNLOAD_REDIRECTS: usize = 3;

/// The method name of file downloads in errors and logs.
const DOWNLOAD: &str = "download";

/// Most user IDs `conversations.invite` takes in one call.
pub const MAX_INVITEES_PER_CALL: usize = 1_000;

/// Pages of `conversations.list` read when looking for a channel by name.
const MAX_LIST_PAGES: usize = 100;
/// Pages of `conversations.members` (1,000 each) read when looking for one member.
const MAX_MEMBER_PAGES: usize = 100;
/// `users.conversations` pages read at most (200 channels each: 2,000 channels); a person in
/// more is answered for the first ones.
pub const USER_CHANNELS_MAX_PAGES: usize = 10;

/// slack-morphism's connector over our rustls connector.
pub type SlackConnector = SlackClientHyperConnector<Connector>;

/// Building the client failed (the system's root certificates could not be loaded).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the Slack client: {0}")]
pub struct SetupError(#[from] std::io::Error);

/// Builds a [`SlackApi`].
#[derive(Debug, Clone)]
pub struct SlackApiBuilder {
    api_url: String,
    retry: RetryPolicy,
    post_interval: Duration,
}

impl Default for SlackApiBuilder {
    fn default() -> Self {
        Self {
            api_url: DEFAULT_SLACK_API_URL.to_owned(),
            retry: RetryPolicy::default(),
            post_interval: DEFAULT_CHANNEL_POST_INTERVAL,
        }
    }
}

impl SlackApiBuilder {
    /// The Web API base URL without a trailing slash (a stand-in's `http://127.0.0.1:PORT/api`
    /// in tests). Blank keeps the default.
    pub fn api_url(mut self, api_url: &str) -> Self {
        let api_url = api_url.trim().trim_end_matches('/');
        if !api_url.is_empty() {
            api_url.clone_into(&mut self.api_url);
        }
        self
    }

    /// Retry limits.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Minimum spacing of posts to one channel (zero turns pacing off).
    pub fn channel_post_interval(mut self, interval: Duration) -> Self {
        self.post_interval = interval;
        self
    }

    /// The client. Call it once per process (Lambda init) and share it: connections are pooled.
    pub fn build(self) -> Result<SlackApi, SetupError> {
        let connector = http::connector()?;
        let slack = SlackClient::new(
            SlackClientHyperConnector::with_connector(connector.clone())
                .with_slack_api_url(&self.api_url),
        );
        Ok(SlackApi {
            inner: Arc::new(Inner {
                slack,
                http: http::http_client(connector),
                retry: self.retry,
                pacer: ChannelPacer::new(self.post_interval),
                file_hosts: FileHosts::for_api_url(&self.api_url),
                api_url: self.api_url,
            }),
        })
    }
}

/// The Slack Web API client shared by sirslack's functions. Cheap to clone.
///
/// Built over hyper-rustls (aws-lc-rs, native roots) with a configurable API URL, so the
/// local world points it at the Slack stand-in over plain `http`. Calls go through a
/// [`SlackSession`], which carries the bot token and the deadline of the work at hand.
#[derive(Clone)]
pub struct SlackApi {
    inner: Arc<Inner>,
}

struct Inner {
    slack: SlackClient<SlackConnector>,
    http: HttpClient,
    retry: RetryPolicy,
    pacer: ChannelPacer,
    api_url: String,
    file_hosts: FileHosts,
}

impl std::fmt::Debug for SlackApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackApi")
            .field("api_url", &self.inner.api_url)
            .field("retry", &self.inner.retry)
            .field("post_interval", &self.inner.pacer.interval())
            .finish_non_exhaustive()
    }
}

impl SlackApi {
    /// A client for `api_url` (`None`: Slack itself) with default retries and pacing.
    pub fn new(api_url: Option<&str>) -> Result<Self, SetupError> {
        let builder = Self::builder();
        match api_url {
            Some(url) => builder.api_url(url).build(),
            None => builder.build(),
        }
    }

    /// A builder with the defaults.
    pub fn builder() -> SlackApiBuilder {
        SlackApiBuilder::default()
    }

    /// The Web API base URL.
    pub fn api_url(&self) -> &str {
        &self.inner.api_url
    }

    /// The retry limits.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Where a file download may send the bot token: Slack's file hosts over `https`, plus this
    /// client's API origin when it is not Slack's (a local stand-in's).
    pub fn file_hosts(&self) -> &FileHosts {
        &self.inner.file_hosts
    }

    /// The raw HTTP client (same connector and pool), for transfers outside the Web API.
    pub fn http_client(&self) -> &HttpClient {
        &self.inner.http
    }

    /// Calls made with `token`, without a deadline.
    pub fn session(&self, token: &BotToken) -> SlackSession<'_> {
        SlackSession {
            api: self,
            token: SlackApiToken::new(SlackApiTokenValue(token.expose().to_owned())),
            deadline: Deadline::NONE,
        }
    }
}

/// Web API calls with one bot token. Every method retries rate-limited and transient
/// failures per the [`RetryPolicy`] (never past the session's [`Deadline`]) and returns
/// anything else at once.
pub struct SlackSession<'a> {
    api: &'a SlackApi,
    token: SlackApiToken,
    deadline: Deadline,
}

impl std::fmt::Debug for SlackSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackSession")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Who the token belongs to (`auth.test`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuthIdentity {
    /// The bot user (`U...`): the creator of the channels the app creates.
    pub user_id: String,
    /// The workspace.
    #[serde(default)]
    pub team_id: String,
    /// The bot (`B...`).
    #[serde(default)]
    pub bot_id: Option<String>,
}

/// A channel as `conversations.*` describe it (only the fields sirslack reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChannelInfo {
    /// `C...`
    pub id: String,
    /// The name, without `#`.
    #[serde(default)]
    pub name: String,
    /// Private channel.
    #[serde(default)]
    pub is_private: bool,
    /// Archived.
    #[serde(default)]
    pub is_archived: bool,
    /// The user who created it.
    #[serde(default)]
    pub creator: Option<String>,
    /// The topic.
    #[serde(default)]
    pub topic: Option<TextValue>,
    /// The purpose.
    #[serde(default)]
    pub purpose: Option<TextValue>,
}

/// A topic or purpose.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TextValue {
    /// The text.
    #[serde(default)]
    pub value: String,
}

/// A user found by e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SlackUser {
    /// `U...`
    pub id: String,
    /// A deactivated account.
    #[serde(default)]
    pub deleted: bool,
    /// A bot user.
    #[serde(default)]
    pub is_bot: bool,
}

/// What `conversations.invite` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InviteOutcome {
    /// Calls made (one per 1,000 users).
    pub calls: usize,
    /// Users Slack refused, with its reason (`user_not_found`, `cant_invite`...).
    pub refused: Vec<(String, String)>,
}

/// Where to send a file's bytes (`files.getUploadURLExternal`). The URL is a capability:
/// `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct UploadTarget {
    /// POST the bytes here.
    pub upload_url: String,
    /// `F...`, for `files.completeUploadExternal`.
    pub file_id: String,
}

impl std::fmt::Debug for UploadTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadTarget")
            .field("upload_url", &"<redacted>")
            .field("file_id", &self.file_id)
            .finish()
    }
}

/// A response whose body has not been read yet.
#[derive(Debug)]
pub struct Download {
    /// `Content-Length`, when the server sent one.
    pub length: Option<u64>,
    /// The body, to stream.
    pub body: Incoming,
}

#[derive(Deserialize)]
struct ChannelEnvelope {
    channel: ChannelInfo,
}

#[derive(Deserialize)]
struct UserEnvelope {
    user: SlackUser,
}

#[derive(Deserialize)]
struct Empty {}

#[derive(Deserialize)]
struct PostedMessage {
    #[serde(default)]
    ts: String,
}

#[derive(Deserialize)]
struct ChannelPage {
    #[serde(default)]
    channels: Vec<ChannelInfo>,
}

/// One page of a cursor-paged method: its own fields, and the cursor of the next.
#[derive(Deserialize)]
struct Paged<T> {
    #[serde(flatten)]
    page: T,
    #[serde(default)]
    response_metadata: Option<ResponseMetadata>,
}

/// How [`SlackSession::each_page`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paging {
    /// The visitor had what it wanted.
    Stopped,
    /// Every page was read.
    Complete,
    /// The page limit was reached with pages left.
    Truncated,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MembersPage {
    members: Vec<String>,
}

#[derive(Deserialize)]
struct ResponseMetadata {
    #[serde(default)]
    next_cursor: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChannelIdPage {
    channels: Vec<ChannelId>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChannelId {
    id: Option<String>,
}

#[derive(Deserialize)]
struct InviteAnswer {
    #[serde(default)]
    errors: Vec<InviteRefusal>,
}

#[derive(Deserialize)]
struct InviteRefusal {
    #[serde(default)]
    user: String,
    #[serde(default)]
    error: String,
}

#[derive(Serialize)]
struct ChannelArg<'a> {
    channel: &'a str,
}

#[derive(Serialize)]
struct PostMessageRequest<'a> {
    channel: &'a str,
    #[serde(flatten)]
    content: &'a SlackMessageContent,
    unfurl_links: bool,
    unfurl_media: bool,
}

/// The body of `chat.update` (with `ts`) and `chat.postEphemeral` (with `user`).
#[derive(Serialize)]
struct MessageRequest<'a> {
    channel: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ts: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(flatten)]
    content: &'a SlackMessageContent,
}

#[derive(Serialize)]
struct CompleteUploadRequest<'a> {
    files: Vec<CompletedFile<'a>>,
    channel_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    initial_comment: Option<&'a str>,
}

#[derive(Serialize)]
struct CompletedFile<'a> {
    id: &'a str,
    title: &'a str,
}

impl<'a> SlackSession<'a> {
    /// Retries never wait past `deadline`.
    pub fn with_deadline(mut self, deadline: Deadline) -> Self {
        self.deadline = deadline;
        self
    }

    /// The deadline of this session.
    pub fn deadline(&self) -> Deadline {
        self.deadline
    }

    // ---- generic calls --------------------------------------------------------------------

    /// One JSON POST to `method`, without retries.
    pub async fn post_once<RQ, RS>(
        &self,
        method: &'static str,
        body: &RQ,
    ) -> Result<RS, SlackApiError>
    where
        RQ: Serialize + Send + Sync,
        RS: DeserializeOwned + Send,
    {
        let session = self.api.inner.slack.open_session(&self.token);
        let call = session.http_session_api.http_post(method, body, None);
        self.within_call_timeout(method, call).await
    }

    /// One GET of `method` with query `params`, without retries.
    pub async fn get_once<RS>(
        &self,
        method: &'static str,
        params: &[(&str, String)],
    ) -> Result<RS, SlackApiError>
    where
        RS: DeserializeOwned + Send,
    {
        let params: Vec<(&str, Option<String>)> = params
            .iter()
            .map(|(name, value)| (*name, Some(value.clone())))
            .collect();
        let session = self.api.inner.slack.open_session(&self.token);
        let call = session.http_session_api.http_get(method, &params, None);
        self.within_call_timeout(method, call).await
    }

    /// One attempt `call` of `method`, given up after the call timeout.
    async fn within_call_timeout<RS>(
        &self,
        method: &'static str,
        call: impl Future<Output = Result<RS, SlackClientError>>,
    ) -> Result<RS, SlackApiError> {
        match tokio::time::timeout(self.api.inner.retry.call_timeout, call).await {
            Err(_) => Err(SlackApiError::timeout(method)),
            Ok(Err(error)) => Err(SlackApiError::from_client(method, &error)),
            Ok(Ok(answer)) => Ok(answer),
        }
    }

    /// A JSON POST to `method`, retried per the policy.
    pub async fn post<RQ, RS>(&self, method: &'static str, body: &RQ) -> Result<RS, SlackApiError>
    where
        RQ: Serialize + Send + Sync,
        RS: DeserializeOwned + Send,
    {
        self.retrying(method, None, || self.post_once(method, body))
            .await
    }

    /// A GET of `method`, retried per the policy.
    pub async fn get<RS>(
        &self,
        method: &'static str,
        params: &[(&str, String)],
    ) -> Result<RS, SlackApiError>
    where
        RS: DeserializeOwned + Send,
    {
        self.retrying(method, None, || self.get_once(method, params))
            .await
    }

    /// A JSON POST to `method` whose answer carries nothing but `ok`, retried per the policy.
    async fn post_ok<RQ>(&self, method: &'static str, body: &RQ) -> Result<(), SlackApiError>
    where
        RQ: Serialize + Send + Sync,
    {
        self.post::<_, Empty>(method, body).await.map(drop)
    }

    /// Runs `call` until it succeeds, fails for good, runs out of attempts, or the next wait
    /// would pass the deadline. With `channel`, every attempt first waits for the channel's
    /// posting slot, and a 429 holds the channel back for `Retry-After`.
    pub async fn retrying<T, F, Fut>(
        &self,
        method: &'static str,
        channel: Option<&str>,
        mut call: F,
    ) -> Result<T, SlackApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SlackApiError>>,
    {
        let policy = &self.api.inner.retry;
        let pacer = &self.api.inner.pacer;
        let mut transient_failures = 0_u32;
        let mut rate_limited = 0_u32;
        loop {
            if let Some(channel) = channel {
                pacer.wait_turn(channel).await;
            }
            let error = match call().await {
                Ok(answer) => return Ok(answer),
                Err(error) => error,
            };
            let wait = match error.class {
                ErrorClass::RateLimited => {
                    rate_limited += 1;
                    let wait = error.retry_after.unwrap_or(policy.default_retry_after);
                    if let Some(channel) = channel {
                        pacer.hold_off(channel, wait);
                    }
                    if rate_limited > policy.max_rate_limited || wait > policy.max_retry_after {
                        return Err(error);
                    }
                    wait
                }
                ErrorClass::Transient => {
                    transient_failures += 1;
                    if transient_failures >= policy.max_attempts {
                        return Err(error);
                    }
                    policy.backoff(transient_failures)
                }
                ErrorClass::Auth | ErrorClass::Permanent => return Err(error),
            };
            if !self.deadline.allows(wait) {
                return Err(error);
            }
            tracing::info!(
                method,
                code = %error.code,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "Slack call will be retried"
            );
            tokio::time::sleep(wait).await;
        }
    }

    // ---- auth -----------------------------------------------------------------------------

    /// `auth.test`: who the token belongs to.
    pub async fn auth_test(&self) -> Result<AuthIdentity, SlackApiError> {
        self.post("auth.test", &serde_json::json!({})).await
    }

    // ---- conversations --------------------------------------------------------------------

    /// `conversations.create`.
    ///
    /// Sends only `name` and `is_private`: slack-morphism 2.31's request type serialises a
    /// misspelt `user_ds` field, so this uses its own.
    pub async fn create_channel(
        &self,
        name: &str,
        is_private: bool,
    ) -> Result<ChannelInfo, SlackApiError> {
        let body = serde_json::json!({ "name": name, "is_private": is_private });
        let answer: ChannelEnvelope = self.post("conversations.create", &body).await?;
        Ok(answer.channel)
    }

    /// `conversations.info`.
    pub async fn channel_info(&self, channel: &str) -> Result<ChannelInfo, SlackApiError> {
        let answer: ChannelEnvelope = self
            .get("conversations.info", &[("channel", channel.to_owned())])
            .await?;
        Ok(answer.channel)
    }

    /// The channel named `name` among those the bot can see (public channels, and private
    /// ones it is in), archived ones included: `conversations.list`, page by page, at most
    /// [`MAX_LIST_PAGES`] pages.
    pub async fn find_channel_by_name(
        &self,
        name: &str,
    ) -> Result<Option<ChannelInfo>, SlackApiError> {
        let params = [
            ("types", "public_channel,private_channel".to_owned()),
            ("limit", "1000".to_owned()),
            ("exclude_archived", "false".to_owned()),
        ];
        let mut found = None;
        self.each_page(
            "conversations.list",
            &params,
            MAX_LIST_PAGES,
            |page: ChannelPage| {
                found = page
                    .channels
                    .into_iter()
                    .find(|channel| channel.name == name);
                found.is_some()
            },
        )
        .await?;
        Ok(found)
    }

    /// Whether `user` is a member of `channel` (`conversations.members`, pages of 1,000, at
    /// most [`MAX_MEMBER_PAGES`]: 100,000 members).
    pub async fn is_channel_member(
        &self,
        channel: &str,
        user: &str,
    ) -> Result<bool, SlackApiError> {
        let params = [
            ("channel", channel.to_owned()),
            ("limit", "1000".to_owned()),
        ];
        let paging = self
            .each_page(
                "conversations.members",
                &params,
                MAX_MEMBER_PAGES,
                |page: MembersPage| page.members.iter().any(|member| member == user),
            )
            .await?;
        Ok(paging == Paging::Stopped)
    }

    /// `conversations.invite` with `force=true` (invalid IDs are skipped, not fatal), one call
    /// per [`MAX_INVITEES_PER_CALL`] users. Users already in the channel are not an error.
    pub async fn invite(
        &self,
        channel: &str,
        user_ids: &[String],
    ) -> Result<InviteOutcome, SlackApiError> {
        let mut outcome = InviteOutcome::default();
        for chunk in user_ids.chunks(MAX_INVITEES_PER_CALL) {
            let body = serde_json::json!({
                "channel": channel,
                "users": chunk.join(","),
                "force": true,
            });
            outcome.calls += 1;
            match self
                .post::<_, InviteAnswer>("conversations.invite", &body)
                .await
            {
                Ok(answer) => outcome.refused.extend(
                    answer
                        .errors
                        .into_iter()
                        .map(|refusal| (refusal.user, refusal.error)),
                ),
                Err(error) if error.is_code("already_in_channel") => {}
                Err(error) => return Err(error),
            }
        }
        Ok(outcome)
    }

    /// `conversations.kick`. A user who is not in the channel is not an error.
    pub async fn kick(&self, channel: &str, user_id: &str) -> Result<(), SlackApiError> {
        let body = serde_json::json!({ "channel": channel, "user": user_id });
        match self.post::<_, Empty>("conversations.kick", &body).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_code("not_in_channel") => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// `conversations.setTopic`.
    pub async fn set_topic(&self, channel: &str, topic: &str) -> Result<(), SlackApiError> {
        let body = serde_json::json!({ "channel": channel, "topic": topic });
        self.post_ok("conversations.setTopic", &body).await
    }

    /// `conversations.setPurpose`.
    pub async fn set_purpose(&self, channel: &str, purpose: &str) -> Result<(), SlackApiError> {
        let body = serde_json::json!({ "channel": channel, "purpose": purpose });
        self.post_ok("conversations.setPurpose", &body).await
    }

    /// `conversations.archive`. Returns `false` when the channel was archived already.
    pub async fn archive(&self, channel: &str) -> Result<bool, SlackApiError> {
        match self
            .post::<_, Empty>("conversations.archive", &ChannelArg { channel })
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if error.is_code("already_archived") => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// The unarchived public and private channels `user` is a member of, as the bot sees them
    /// (`users.conversations`, Tier 3, `channels:read` and `groups:read`): private channels
    /// only when the bot is in them too, as every case channel is. At most
    /// [`USER_CHANNELS_MAX_PAGES`] pages of 200. Each page is retried per the session's policy
    /// (429s by `Retry-After`).
    pub async fn user_channels(&self, user: &str) -> Result<Vec<String>, SlackApiError> {
        let params = [
            ("user", user.to_owned()),
            ("types", "public_channel,private_channel".to_owned()),
            ("exclude_archived", "true".to_owned()),
            ("limit", "200".to_owned()),
        ];
        let mut channels = Vec::new();
        let paging = self
            .each_page(
                "users.conversations",
                &params,
                USER_CHANNELS_MAX_PAGES,
                |page: ChannelIdPage| {
                    channels.extend(page.channels.into_iter().filter_map(|channel| channel.id));
                    false
                },
            )
            .await?;
        if paging == Paging::Truncated {
            tracing::warn!(
                user,
                listed = channels.len(),
                "the person is in more channels than are read; the rest are left out"
            );
        }
        Ok(channels)
    }

    /// GETs `method` page by page (each page retried per the policy), at most `max_pages`,
    /// handing each page to `visit` until it returns `true`.
    async fn each_page<T, F>(
        &self,
        method: &'static str,
        params: &[(&str, String)],
        max_pages: usize,
        mut visit: F,
    ) -> Result<Paging, SlackApiError>
    where
        T: DeserializeOwned + Send,
        F: FnMut(T) -> bool,
    {
        let mut cursor = String::new();
        for _ in 0..max_pages {
            let mut params = params.to_vec();
            if !cursor.is_empty() {
                params.push(("cursor", cursor.clone()));
            }
            let paged: Paged<T> = self.get(method, &params).await?;
            if visit(paged.page) {
                return Ok(Paging::Stopped);
            }
            cursor = paged
                .response_metadata
                .map(|metadata| metadata.next_cursor)
                .unwrap_or_default();
            if cursor.is_empty() {
                return Ok(Paging::Complete);
            }
        }
        Ok(Paging::Truncated)
    }

    // ---- users ----------------------------------------------------------------------------

    /// `users.lookupByEmail`; `None` when no user has this address (`users_not_found`).
    pub async fn lookup_user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<SlackUser>, SlackApiError> {
        match self
            .get::<UserEnvelope>("users.lookupByEmail", &[("email", email.to_owned())])
            .await
        {
            Ok(answer) => Ok(Some(answer.user)),
            Err(error) if error.is_code("users_not_found") => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// `users.info` (Tier 4, `users:read`; the e-mail address needs `users:read.email`): how
    /// `user_id` is named, whether they are a bot or a guest. Retried per the policy.
    pub async fn person(&self, user_id: &str) -> Result<Person, SlackApiError> {
        let params = [("user", user_id.to_owned())];
        self.get::<UsersInfo>("users.info", &params)
            .await
            .map(Person::from)
    }

    /// [`SlackSession::person`] in one attempt, for callers that decide themselves what a
    /// failure means (the events handler's ack path).
    pub async fn person_once(&self, user_id: &str) -> Result<Person, SlackApiError> {
        let params = [("user", user_id.to_owned())];
        self.get_once::<UsersInfo>("users.info", &params)
            .await
            .map(Person::from)
    }

    // ---- chat -----------------------------------------------------------------------------

    /// `chat.postMessage`, paced per channel; returns the message `ts`. Link unfurling is off:
    /// SIR texts are not previews.
    pub async fn post_message(
        &self,
        channel: &str,
        content: &SlackMessageContent,
    ) -> Result<String, SlackApiError> {
        let body = PostMessageRequest {
            channel,
            content,
            unfurl_links: false,
            unfurl_media: false,
        };
        let posted: PostedMessage = self
            .retrying("chat.postMessage", Some(channel), || {
                self.post_once("chat.postMessage", &body)
            })
            .await?;
        Ok(posted.ts)
    }

    /// `chat.getPermalink` (Tier 4, no scope): the link to the message `message_ts` of
    /// `channel`. Slack answers `channel_not_found` for a conversation the bot cannot see (a
    /// private channel or a direct message it is not in) and `message_not_found` for a message
    /// it does not know: callers read these as "not forwardable". Retried like any read.
    pub async fn permalink(
        &self,
        channel: &str,
        message_ts: &str,
    ) -> Result<String, SlackApiError> {
        #[derive(Deserialize)]
        struct Permalink {
            permalink: String,
        }
        let params = [
            ("channel", channel.to_owned()),
            ("message_ts", message_ts.to_owned()),
        ];
        let found: Permalink = self.get("chat.getPermalink", &params).await?;
        Ok(found.permalink)
    }

    /// `chat.update`: the bot's message `ts` in `channel` shows `content` (text and blocks)
    /// instead. Slack refuses other people's messages (`cant_update_message`) and unknown ones
    /// (`message_not_found`). Not paced per channel like posts: it adds no message (Tier 3).
    /// Updating to the same content again changes nothing visible, so a retry is safe.
    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        content: &SlackMessageContent,
    ) -> Result<(), SlackApiError> {
        let body = MessageRequest {
            channel,
            ts: Some(ts),
            user: None,
            content,
        };
        self.post_ok("chat.update", &body).await
    }

    /// `chat.postEphemeral`: `content` shown to `user` only, in `channel`. Not paced: an
    /// ephemeral message is not a channel post.
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        content: &SlackMessageContent,
    ) -> Result<(), SlackApiError> {
        let body = MessageRequest {
            channel,
            ts: None,
            user: Some(user),
            content,
        };
        self.post_ok("chat.postEphemeral", &body).await
    }

    // ---- views ----------------------------------------------------------------------------

    /// `views.publish` (Tier 4, no scope): `view` becomes `user`'s Home tab. Publishing the
    /// same view again is harmless, so it is retried like any read.
    pub async fn publish_view(
        &self,
        user: &str,
        view: &serde_json::Value,
    ) -> Result<(), SlackApiError> {
        let body = serde_json::json!({ "user_id": user, "view": view });
        self.post_ok("views.publish", &body).await
    }

    /// `views.open` (Tier 4, no scope): opens `view` as a modal for the person whose
    /// interaction gave `trigger_id`. Slack accepts a trigger once and for 3 seconds only
    /// (`expired_trigger_id`, `exchanged_trigger_id`), so this is one attempt, never retried:
    /// the caller tells the person when it fails. Returns the view's ID.
    pub async fn open_view(
        &self,
        trigger_id: &str,
        view: &serde_json::Value,
    ) -> Result<String, SlackApiError> {
        #[derive(Deserialize)]
        struct Opened {
            #[serde(default)]
            view: OpenedView,
        }
        #[derive(Deserialize, Default)]
        struct OpenedView {
            #[serde(default)]
            id: String,
        }
        let body = serde_json::json!({ "trigger_id": trigger_id, "view": view });
        let opened: Opened = self.post_once("views.open", &body).await?;
        Ok(opened.view.id)
    }

    // ---- files ----------------------------------------------------------------------------

    /// `files.getUploadURLExternal` for a file of `length` bytes (at least 1).
    pub async fn get_upload_url(
        &self,
        file_name: &str,
        length: u64,
    ) -> Result<UploadTarget, SlackApiError> {
        self.get(
            "files.getUploadURLExternal",
            &[
                ("filename", file_name.to_owned()),
                ("length", length.to_string()),
            ],
        )
        .await
    }

    /// POSTs `length` bytes from `body` (streamed: it is never collected) to the upload URL.
    /// One attempt: a stream cannot be replayed, so the caller retries the whole transfer.
    pub async fn upload(
        &self,
        target: &UploadTarget,
        body: RequestBody,
        length: u64,
    ) -> Result<(), SlackApiError> {
        const METHOD: &str = "upload";
        let request = Request::builder()
            .method(Method::POST)
            .uri(target.upload_url.as_str())
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, length)
            .body(body)
            .map_err(|_| SlackApiError::new(METHOD, "invalid_upload_url", ErrorClass::Permanent))?;
        let send = self.api.inner.http.request(request);
        let response = match self.deadline.remaining() {
            Some(left) => tokio::time::timeout(left, send)
                .await
                .map_err(|_| SlackApiError::timeout(METHOD))?,
            None => send.await,
        }
        .map_err(|_| SlackApiError::network(METHOD))?;
        let status = response.status();
        // Drain the short answer ("OK - <length>") so the connection can be reused.
        let _ = response.into_body().collect().await;
        if status.is_success() {
            Ok(())
        } else {
            Err(SlackApiError::from_http_status(METHOD, status.as_u16()))
        }
    }

    /// `files.completeUploadExternal`: shares the uploaded file in `channel` with
    /// `initial_comment`, paced like a post.
    pub async fn complete_upload(
        &self,
        file_id: &str,
        title: &str,
        channel: &str,
        initial_comment: Option<&str>,
    ) -> Result<(), SlackApiError> {
        let body = CompleteUploadRequest {
            files: vec![CompletedFile { id: file_id, title }],
            channel_id: channel,
            initial_comment,
        };
        self.retrying("files.completeUploadExternal", Some(channel), || {
            self.post_once::<_, Empty>("files.completeUploadExternal", &body)
        })
        .await
        .map(|_| ())
    }

    // ---- raw transfers --------------------------------------------------------------------

    /// GETs `url` and returns the response with its body unread, for streaming: the one file
    /// download of sirslack (a Slack file's `url_private_download` with the bot token, a SIR
    /// attachment's presigned URL without).
    ///
    /// With `bearer`, sends the bot token, but only to one of [`SlackApi::file_hosts`]: the URL
    /// and every redirect hop are checked before a request is sent, and a hop anywhere else is
    /// refused (`file_host_not_allowed`, its `scheme://host` as the detail, logged at ERROR;
    /// nothing sent there), never followed without the token. Never send the token to a
    /// presigned URL. Redirects are followed (at most [`MAX_DOWNLOAD_REDIRECTS`]: Slack's file
    /// URLs may redirect); with the token, a web page instead of the file
    /// (`web_page_not_file`: Slack's answer without `files:read`) is an error.
    ///
    /// Connection failures, time-outs, 429 and 5xx before the body starts are retried per the
    /// policy (never past the session's deadline), each attempt from `url` again. Other
    /// codes: `invalid_download_url`, `too_many_redirects`, `redirect_without_location`,
    /// `invalid_redirect`, `http_<status>`.
    pub async fn download(
        &self,
        url: &str,
        bearer: Option<&BotToken>,
    ) -> Result<Download, SlackApiError> {
        let uri: Uri = url.parse().map_err(|_| {
            SlackApiError::new(DOWNLOAD, "invalid_download_url", ErrorClass::Permanent)
        })?;
        self.retrying(DOWNLOAD, None, || self.download_once(uri.clone(), bearer))
            .await
    }

    /// One attempt of [`SlackSession::download`], redirects followed.
    async fn download_once(
        &self,
        mut uri: Uri,
        bearer: Option<&BotToken>,
    ) -> Result<Download, SlackApiError> {
        let permanent = |code: &str| SlackApiError::new(DOWNLOAD, code, ErrorClass::Permanent);
        for hop in 0..=MAX_DOWNLOAD_REDIRECTS {
            if bearer.is_some()
                && let Err(refused) = self.api.file_hosts().check(&uri)
            {
                tracing::error!(
                    scheme = refused.scheme,
                    host = refused.host,
                    hop,
                    "bot token withheld: the file URL is not on Slack's file hosts; refused"
                );
                return Err(permanent("file_host_not_allowed")
                    .with_detail(format!("{}://{}", refused.scheme, refused.host)));
            }
            let mut request = Request::builder().method(Method::GET).uri(uri.clone());
            if let Some(token) = bearer {
                request = request.header(AUTHORIZATION, format!("Bearer {}", token.expose()));
            }
            let request = request
                .body(http::empty_body())
                .map_err(|_| permanent("invalid_download_url"))?;
            let response = tokio::time::timeout(
                self.api.inner.retry.call_timeout,
                self.api.inner.http.request(request),
            )
            .await
            .map_err(|_| SlackApiError::timeout(DOWNLOAD))?
            .map_err(|error| {
                SlackApiError::network(DOWNLOAD).with_detail(http::describe(&error))
            })?;
            let status = response.status();
            if status.is_redirection() {
                uri = redirect_target(&uri, response.headers())?;
                continue;
            }
            if !status.is_success() {
                let _ = response.into_body().collect().await;
                return Err(SlackApiError::from_http_status(DOWNLOAD, status.as_u16()));
            }
            let header = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|value: &hyper::header::HeaderValue| value.to_str().ok())
            };
            if bearer.is_some()
                && header(CONTENT_TYPE).is_some_and(|value| value.starts_with("text/html"))
            {
                return Err(permanent("web_page_not_file"));
            }
            let length = header(CONTENT_LENGTH).and_then(|value| value.trim().parse().ok());
            return Ok(Download {
                length,
                body: response.into_body(),
            });
        }
        Err(permanent("too_many_redirects"))
    }
}

/// Where a redirect from `from` points (a relative `Location` keeps `from`'s origin).
fn redirect_target(from: &Uri, headers: &hyper::HeaderMap) -> Result<Uri, SlackApiError> {
    let permanent = |code: &str| SlackApiError::new(DOWNLOAD, code, ErrorClass::Permanent);
    let location = headers
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| permanent("redirect_without_location"))?;
    let target: Uri = location
        .parse()
        .map_err(|_| permanent("invalid_redirect"))?;
    if target.scheme().is_some() {
        return Ok(target);
    }
    let mut parts = from.clone().into_parts();
    parts.path_and_query = target.path_and_query().cloned();
    Uri::from_parts(parts).map_err(|_| permanent("invalid_redirect"))
}

/// A streamed request body from a download's body (no copy of the whole file is made).
pub fn stream_body(body: Incoming) -> RequestBody {
    body.map_err(|error| -> crate::http::BoxError { Box::new(error) })
        .boxed()
}

/// A request body from bytes.
pub fn bytes_body(bytes: Bytes) -> RequestBody {
    http::full_body(bytes)
}
