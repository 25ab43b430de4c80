//! Messages on their way to a case ("Send to SIR case", issue 19): what the message shortcut
//! saw, kept under the ID of the modal it opened until the modal is submitted.
//!
//! A Slack message holds up to 40,000 characters and a modal's `private_metadata` only 3,000,
//! and the bot may not be able to read the message again later (a direct message, a channel it
//! is not in), so the events handler keeps what the shortcut payload carried here, and the
//! command handler reads it when the modal is submitted. Item `FORWARD#<viewId>` / `FORWARD`,
//! with a short TTL ([`FORWARD_TTL`]); an expired item reads as absent (DynamoDB's TTL
//! deletion is lazy).
//!
//! Once the command handler has sent the message, it records on the same item the case it was
//! sent to and whether its files are to be attached ([`Table::mark_forward_sent`]): the events
//! handler attaches the files only for a message so recorded ([`Table::forward_record`]).

use chrono::{Duration, Utc};

use crate::{StoreError, TTL_ATTRIBUTE, Table, get_n, get_s, n, s};

/// How long a message waits for its modal to be submitted.
pub const FORWARD_TTL: Duration = Duration::hours(2);

const FORWARD_SK: &str = "FORWARD";

fn forward_pk(view_id: &str) -> String {
    format!("FORWARD#{view_id}")
}

/// A message someone chose to send to a case, as the message shortcut carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedMessage {
    /// The workspace.
    pub team_id: String,
    /// Who used the shortcut (only they may submit the modal).
    pub user_id: String,
    /// The conversation the message is in.
    pub channel_id: String,
    /// The message's `ts`.
    pub ts: String,
    /// Its thread, when it is a reply.
    pub thread_ts: Option<String>,
    /// Its text as Slack sent it (markup, escaped); empty when it had none.
    pub text: String,
    /// Its author, when a person wrote it.
    pub author_id: Option<String>,
    /// The bot that posted it, when a bot did.
    pub bot_id: Option<String>,
    /// Its files (`F...`).
    pub file_ids: Vec<String>,
    /// Its permalink (`chat.getPermalink`).
    pub permalink: String,
}

/// What the command handler recorded once it had sent a kept message to a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardSent {
    /// The case the message was sent to.
    pub case_id: String,
    /// Whether the person asked for the message's files to be attached.
    pub attach_files: bool,
}

/// A kept message and, once it was sent, where to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardRecord {
    /// The message as the shortcut delivered it.
    pub message: ForwardedMessage,
    /// Set by the command handler once the comment is in SIR.
    pub sent: Option<ForwardSent>,
}

impl Table {
    /// Records on the message kept under `view_id` that it was sent to `case_id`, and whether
    /// its files are to be attached (one conditional UpdateItem: `false` when no message is
    /// kept under that view, and nothing is written).
    pub async fn mark_forward_sent(
        &self,
        view_id: &str,
        case_id: &str,
        attach_files: bool,
    ) -> Result<bool, StoreError> {
        crate::condition_held(
            "UpdateItem",
            self.update_request(Self::key(forward_pk(view_id), FORWARD_SK))
                .update_expression("SET sent_to_case = :case, attach_files = :attach")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":case", s(case_id))
                .expression_attribute_values(
                    ":attach",
                    aws_sdk_dynamodb::types::AttributeValue::Bool(attach_files),
                )
                .send()
                .await,
        )
    }

    /// The message kept under `view_id` with what the command handler recorded of its sending
    /// ([`Table::mark_forward_sent`]), unless it expired (a strongly consistent GetItem).
    pub async fn forward_record(&self, view_id: &str) -> Result<Option<ForwardRecord>, StoreError> {
        let out = self
            .read_item(Self::key(forward_pk(view_id), FORWARD_SK))
            .await?;
        let Some(item) = out else {
            return Ok(None);
        };
        if get_n(&item, TTL_ATTRIBUTE).is_some_and(|expires| expires < Utc::now().timestamp()) {
            return Ok(None);
        }
        let sent = get_s(&item, "sent_to_case").map(|case_id| ForwardSent {
            case_id: case_id.to_owned(),
            attach_files: matches!(
                item.get("attach_files"),
                Some(aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            ),
        });
        let message = Self::forwarded_from_item(view_id, &item)?;
        Ok(Some(ForwardRecord { message, sent }))
    }

    /// Keeps `message` under the modal `view_id` for [`FORWARD_TTL`] (one PutItem; the same
    /// view written again replaces it).
    pub async fn put_forwarded_message(
        &self,
        view_id: &str,
        message: &ForwardedMessage,
    ) -> Result<(), StoreError> {
        let mut item = Self::key(forward_pk(view_id), FORWARD_SK);
        item.insert("team_id".into(), s(&message.team_id));
        item.insert("user_id".into(), s(&message.user_id));
        item.insert("channel_id".into(), s(&message.channel_id));
        item.insert("ts".into(), s(&message.ts));
        if let Some(thread_ts) = &message.thread_ts {
            item.insert("thread_ts".into(), s(thread_ts));
        }
        if !message.text.is_empty() {
            item.insert("text".into(), s(&message.text));
        }
        if let Some(author) = &message.author_id {
            item.insert("author_id".into(), s(author));
        }
        if let Some(bot) = &message.bot_id {
            item.insert("bot_id".into(), s(bot));
        }
        let files =
            serde_json::to_string(&message.file_ids).map_err(|error| StoreError::Malformed {
                item: forward_pk(view_id),
                reason: error.to_string(),
            })?;
        item.insert("file_ids".into(), s(files));
        item.insert("permalink".into(), s(&message.permalink));
        item.insert(
            TTL_ATTRIBUTE.into(),
            n((Utc::now() + FORWARD_TTL).timestamp()),
        );
        self.put_item(item).await
    }

    /// The message kept under the modal `view_id`, unless it expired (a strongly consistent
    /// GetItem: the modal may be submitted a second after it opened).
    pub async fn forwarded_message(
        &self,
        view_id: &str,
    ) -> Result<Option<ForwardedMessage>, StoreError> {
        Ok(self
            .forward_record(view_id)
            .await?
            .map(|record| record.message))
    }

    fn forwarded_from_item(
        view_id: &str,
        item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    ) -> Result<ForwardedMessage, StoreError> {
        let malformed = |reason: &str| StoreError::Malformed {
            item: forward_pk(view_id),
            reason: reason.to_owned(),
        };
        let required = |name: &str| {
            get_s(item, name)
                .map(str::to_owned)
                .ok_or_else(|| malformed(&format!("no {name}")))
        };
        let optional = |name: &str| get_s(item, name).map(str::to_owned);
        let file_ids: Vec<String> = serde_json::from_str(get_s(item, "file_ids").unwrap_or("[]"))
            .map_err(|error| malformed(&error.to_string()))?;
        Ok(ForwardedMessage {
            team_id: required("team_id")?,
            user_id: required("user_id")?,
            channel_id: required("channel_id")?,
            ts: required("ts")?,
            thread_ts: optional("thread_ts"),
            text: optional("text").unwrap_or_default(),
            author_id: optional("author_id"),
            bot_id: optional("bot_id"),
            file_ids,
            permalink: required("permalink")?,
        })
    }
}
