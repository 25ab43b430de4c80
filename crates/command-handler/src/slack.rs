//! The Slack Web API calls the command handler makes, over the shared adapter
//! ([`sirslack_slack_api`]): channel members, user groups, user profiles, and the messages it
//! posts when a `response_url` cannot be used.

use serde::Deserialize;
pub use sirslack_slack_api::Person;
use sirslack_slack_api::{BotTokenSource, ParameterError, SlackApi, SlackApiError, SlackSession};
use slack_morphism::prelude::SlackMessageContent;

/// A Slack call could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// The bot token could not be read.
    #[error(transparent)]
    Token(#[from] ParameterError),
    /// Slack refused or did not answer.
    #[error(transparent)]
    Api(#[from] SlackApiError),
}

#[derive(Deserialize)]
struct HistoryPage {
    #[serde(default)]
    messages: Vec<HistoryMessage>,
}

#[derive(Deserialize)]
struct HistoryMessage {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    bot_id: Option<String>,
}

#[derive(Deserialize)]
struct UsergroupUsers {
    #[serde(default)]
    users: Vec<String>,
}

/// Slack, with the bot token. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Slack {
    api: SlackApi,
    token: BotTokenSource,
}

impl Slack {
    /// Calls through `api` with the token from `token`.
    pub fn new(api: SlackApi, token: BotTokenSource) -> Self {
        Self { api, token }
    }

    /// The shared adapter (its HTTP client also posts to `response_url`s).
    pub fn api(&self) -> &SlackApi {
        &self.api
    }

    /// Runs `call` with a session; a rejected token is re-read on the next call.
    async fn with_session<T, F>(&self, call: F) -> Result<T, SlackError>
    where
        F: AsyncFnOnce(&SlackSession<'_>) -> Result<T, SlackApiError>,
    {
        let token = self.token.token().await?;
        let session = self.api.session(&token);
        let result = call(&session).await;
        if let Err(error) = &result
            && error.is_auth()
        {
            self.token.invalidate();
        }
        Ok(result?)
    }

    /// Whether `user_id` is a member of `channel_id` (`conversations.members`, paged and
    /// retried by the adapter).
    pub async fn is_channel_member(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> Result<bool, SlackError> {
        self.with_session(async |session| session.is_channel_member(channel_id, user_id).await)
            .await
    }

    /// The members of a user group (`usergroups.users.list`).
    pub async fn usergroup_members(&self, usergroup_id: &str) -> Result<Vec<String>, SlackError> {
        self.with_session(async |session| {
            let answer: UsergroupUsers = session
                .get(
                    "usergroups.users.list",
                    &[("usergroup", usergroup_id.to_owned())],
                )
                .await?;
            Ok(answer.users)
        })
        .await
    }

    /// How `user_id` is named, their e-mail address and whether they are a guest
    /// (`users.info`, retried by the adapter).
    pub async fn person(&self, user_id: &str) -> Result<Person, SlackError> {
        self.with_session(async |session| session.person(user_id).await)
            .await
    }

    /// The texts of the app's own messages among the channel's latest 100
    /// (`conversations.history`).
    pub async fn recent_app_messages(&self, channel_id: &str) -> Result<Vec<String>, SlackError> {
        self.with_session(async |session| {
            let page: HistoryPage = session
                .get(
                    "conversations.history",
                    &[
                        ("channel", channel_id.to_owned()),
                        ("limit", "100".to_owned()),
                    ],
                )
                .await?;
            Ok(page
                .messages
                .into_iter()
                .filter(|message| message.bot_id.is_some())
                .filter_map(|message| message.text)
                .collect())
        })
        .await
    }

    /// The unarchived channels `user_id` is in, as the bot sees them (`users.conversations`,
    /// paged and retried by the adapter).
    pub async fn user_channels(&self, user_id: &str) -> Result<Vec<String>, SlackError> {
        self.with_session(async |session| session.user_channels(user_id).await)
            .await
    }

    /// `views.publish`: `view` becomes `user_id`'s Home tab.
    pub async fn publish_home(
        &self,
        user_id: &str,
        view: &serde_json::Value,
    ) -> Result<(), SlackError> {
        self.with_session(async |session| session.publish_view(user_id, view).await)
            .await
    }

    /// `chat.postEphemeral`: `content` shown to `user_id` only.
    pub async fn post_ephemeral(
        &self,
        channel_id: &str,
        user_id: &str,
        content: &SlackMessageContent,
    ) -> Result<(), SlackError> {
        self.with_session(async |session| {
            session.post_ephemeral(channel_id, user_id, content).await
        })
        .await
    }

    /// `chat.postMessage` to the channel.
    pub async fn post_message(
        &self,
        channel_id: &str,
        content: &SlackMessageContent,
    ) -> Result<(), SlackError> {
        self.with_session(async |session| session.post_message(channel_id, content).await.map(drop))
            .await
    }
}
