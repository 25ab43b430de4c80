//! The Slack Web API calls the events handler makes, over the shared adapter
//! ([`sirslack_slack_api`]): its client, connection pool, error classification and
//! `chat.postEphemeral` are the ones every sirslack function uses.
//!
//! Reads are made once per call (no retry loop): the listeners decide what a failure means
//! (hand the work to a lazy invocation, retry it there, or tell the person). Responses are
//! decoded into small lenient types of our own (only the fields used): slack-morphism's typed
//! `SlackFile` has no `size`, and its strict enums have failed on new values before.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sirslack_cache::TtlCache;
pub use sirslack_slack_api::Person;
use sirslack_slack_api::http::full_body;
use sirslack_slack_api::{AuthIdentity, BotToken, ErrorClass, SlackApi, SlackApiError};
use sirslack_slack_router::ResponseUrl;
use slack_morphism::prelude::SlackMessageContent;
use tokio::sync::OnceCell;

use crate::secrets::SecretCache;

/// How long a user's name is remembered.
const PERSON_TTL: Duration = Duration::from_secs(600);
/// Most users remembered (a case channel has a few dozen people).
const PERSON_CACHE_MAX: usize = 2_000;
/// How many recent messages are searched for the message a file was shared with.
const SHARE_SEARCH_LIMIT: &str = "100";
/// How long one post to a `response_url` may take.
const RESPONSE_URL_TIMEOUT: Duration = Duration::from_secs(5);

/// What `files.info` says about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// `F...`.
    pub id: String,
    /// Its name in Slack.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Where to download it with the bot token.
    pub download_url: Option<String>,
    /// Who uploaded it.
    pub user: Option<String>,
    /// `ts` of the message it was shared with in `channel`, when Slack says.
    pub share_ts: Option<String>,
}

#[derive(Deserialize)]
struct FilesInfoResponse {
    file: RawFile,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawFile {
    id: Option<String>,
    name: Option<String>,
    title: Option<String>,
    size: Option<u64>,
    url_private_download: Option<String>,
    url_private: Option<String>,
    user: Option<String>,
    shares: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HistoryResponse {
    messages: Vec<RawMessage>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawMessage {
    ts: Option<String>,
    text: Option<String>,
    files: Vec<RawFileRef>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawFileRef {
    id: Option<String>,
}

/// The Slack Web API with the bot token from the [`SecretCache`].
pub struct Slack {
    api: SlackApi,
    secrets: SecretCache,
    people: TtlCache<String, Arc<Person>>,
    identity: OnceCell<AuthIdentity>,
}

impl std::fmt::Debug for Slack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slack")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

impl Slack {
    /// Calls through `api` with the bot token from `secrets`.
    pub fn new(api: SlackApi, secrets: SecretCache) -> Self {
        Self {
            api,
            secrets,
            people: TtlCache::new(PERSON_TTL).with_capacity(PERSON_CACHE_MAX),
            identity: OnceCell::new(),
        }
    }

    /// The shared adapter (its HTTP client also streams files and posts to `response_url`s).
    pub fn api(&self) -> &SlackApi {
        &self.api
    }

    async fn token(&self, method: &'static str) -> Result<BotToken, SlackApiError> {
        let secrets = self
            .secrets
            .secrets()
            .await
            .map_err(|_| SlackApiError::new(method, "no_bot_token", ErrorClass::Transient))?;
        Ok(secrets.bot_token.clone())
    }

    /// One GET of `method`, without a retry loop.
    async fn get<RS>(
        &self,
        method: &'static str,
        params: &[(&str, &str)],
    ) -> Result<RS, SlackApiError>
    where
        RS: DeserializeOwned + Send,
    {
        let token = self.token(method).await?;
        let params: Vec<(&str, String)> = params
            .iter()
            .map(|(name, value)| (*name, (*value).to_owned()))
            .collect();
        self.api.session(&token).get_once(method, &params).await
    }

    /// How `user_id` is named (`users.info` in one attempt, cached for ten minutes).
    pub async fn person(&self, user_id: &str) -> Result<Arc<Person>, SlackApiError> {
        if let Some(person) = self.people.get(user_id) {
            return Ok(person);
        }
        let token = self.token("users.info").await?;
        let person = Arc::new(self.api.session(&token).person_once(user_id).await?);
        self.people.insert(user_id.to_owned(), Arc::clone(&person));
        Ok(person)
    }

    /// `users.info`, or [`Person::unknown`] when it fails (a comment is worth more than a name).
    pub async fn person_or_unknown(&self, user_id: &str) -> Arc<Person> {
        match self.person(user_id).await {
            Ok(person) => person,
            Err(error) => {
                tracing::warn!(%error, user_id, "users.info failed; naming the user by ID");
                Arc::new(Person::unknown(user_id))
            }
        }
    }

    /// This app's bot user (one `auth.test` per container).
    pub async fn bot_identity(&self) -> Result<&AuthIdentity, SlackApiError> {
        self.identity
            .get_or_try_init(|| async {
                let token = self.token("auth.test").await?;
                self.api.session(&token).auth_test().await
            })
            .await
    }

    /// `files.info`; `channel` picks the share whose message `ts` is reported.
    pub async fn file_info(&self, file_id: &str, channel: &str) -> Result<FileInfo, SlackApiError> {
        let response: FilesInfoResponse = self.get("files.info", &[("file", file_id)]).await?;
        let file = response.file;
        let share_ts = file.shares.as_ref().and_then(|shares| {
            ["public", "private"].iter().find_map(|visibility| {
                shares
                    .get(visibility)?
                    .get(channel)?
                    .get(0)?
                    .get("ts")?
                    .as_str()
                    .map(str::to_owned)
            })
        });
        Ok(FileInfo {
            id: file.id.unwrap_or_else(|| file_id.to_owned()),
            name: file
                .name
                .or(file.title)
                .unwrap_or_else(|| file_id.to_owned()),
            size: file.size.ok_or_else(|| {
                SlackApiError::new("files.info", "no_size", ErrorClass::Permanent)
            })?,
            download_url: file.url_private_download.or(file.url_private),
            user: file.user,
            share_ts,
        })
    }

    /// The text of the message `file_id` was shared with in `channel`, if it can be found
    /// among the recent messages and has text.
    pub async fn share_message_text(
        &self,
        channel: &str,
        file_id: &str,
        share_ts: Option<&str>,
    ) -> Result<Option<String>, SlackApiError> {
        let mut params = vec![("channel", channel), ("limit", SHARE_SEARCH_LIMIT)];
        if let Some(ts) = share_ts {
            params = vec![
                ("channel", channel),
                ("latest", ts),
                ("inclusive", "true"),
                ("limit", "1"),
            ];
        }
        let history: HistoryResponse = self.get("conversations.history", &params).await?;
        let found = history.messages.into_iter().find(|message| {
            let same_ts = share_ts.is_some_and(|ts| message.ts.as_deref() == Some(ts));
            same_ts
                || message
                    .files
                    .iter()
                    .any(|file| file.id.as_deref() == Some(file_id))
        });
        Ok(found
            .and_then(|message| message.text)
            .filter(|text| !text.trim().is_empty()))
    }

    /// `chat.getPermalink`: the link to a message; `channel_not_found` when the bot cannot see
    /// the conversation (a private channel or direct message it is not in).
    pub async fn permalink(&self, channel: &str, ts: &str) -> Result<String, SlackApiError> {
        let token = self.token("chat.getPermalink").await?;
        self.api.session(&token).permalink(channel, ts).await
    }

    /// `users.conversations`: the unarchived channels `user` is in (private ones only when the
    /// bot is in them too).
    pub async fn user_channels(&self, user: &str) -> Result<Vec<String>, SlackApiError> {
        let token = self.token("users.conversations").await?;
        self.api.session(&token).user_channels(user).await
    }

    /// `views.open`: `view` as a modal for the person whose interaction gave `trigger_id` (one
    /// attempt: a trigger is valid once and for 3 seconds). Returns the view's ID.
    pub async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<String, SlackApiError> {
        let token = self.token("views.open").await?;
        self.api.session(&token).open_view(trigger_id, view).await
    }

    /// A direct message from the app to `user` (`chat.postMessage` to the user ID, with
    /// `chat:write`): where a person is told something when there is no channel to answer in
    /// (a global shortcut).
    pub async fn post_direct(&self, user: &str, text: &str) -> Result<(), SlackApiError> {
        let token = self.token("chat.postMessage").await?;
        let content = SlackMessageContent::new().with_text(text.to_owned());
        self.api
            .session(&token)
            .post_message(user, &content)
            .await
            .map(drop)
    }

    /// `chat.postEphemeral`: a message only `user` sees in `channel`.
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        text: &str,
    ) -> Result<(), SlackApiError> {
        let token = self.token("chat.postEphemeral").await?;
        let content = SlackMessageContent::new().with_text(text.to_owned());
        self.api
            .session(&token)
            .post_ephemeral(channel, user, &content)
            .await
    }

    /// An ephemeral message through a `response_url` (no token needed).
    pub async fn post_to_response_url(
        &self,
        url: &ResponseUrl,
        text: &str,
    ) -> Result<(), SlackApiError> {
        const METHOD: &str = "response_url";
        let body = json!({
            "response_type": "ephemeral",
            "replace_original": false,
            "text": text,
        });
        let request = Request::builder()
            .method(Method::POST)
            .uri(url.expose())
            .header(header::CONTENT_TYPE, "application/json")
            .body(full_body(body.to_string()))
            .map_err(|_| SlackApiError::new(METHOD, "invalid_url", ErrorClass::Permanent))?;
        let response = tokio::time::timeout(
            RESPONSE_URL_TIMEOUT,
            self.api.http_client().request(request),
        )
        .await
        .map_err(|_| SlackApiError::timeout(METHOD))?
        .map_err(|_| SlackApiError::network(METHOD))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SlackApiError::from_http_status(METHOD, status.as_u16()))
        }
    }
}
