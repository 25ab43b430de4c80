//! What the Slack client keeps in the table besides what `sirslack-store` offers.
//!
//! The store's `CASE#<caseId>` / `CHANNEL` item (claim, channel link, apply cursor) also
//! carries what the channel currently shows, so that a later `CaseUpdated` can refresh the
//! topic and purpose from the case as shown plus the changes, without asking SIR:
//!
//! | attribute | meaning |
//! |---|---|
//! | `shown_case` | the case as the channel shows it (JSON, attachments left out) |
//! | `shown_topic` | the topic last set |
//! | `shown_purpose` | the purpose last set |
//!
//! It also reads idempotency markers (`ONCE#<scope>#<key>`), written with the store's
//! `put_once`, and moves the apply cursor over a gap (see [`SlackState::jump_cursor`]).
//! Everything is read by key: nothing here scans.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use sirslack_domain::{Case, CaseId};
use sirslack_store::{PARTITION_KEY, SORT_KEY, StoreError, TTL_ATTRIBUTE};

/// What the channel shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The case as shown (initial message and every update applied since).
    pub case: Case,
    /// The topic last set.
    pub topic: String,
    /// The purpose last set.
    pub purpose: String,
}

/// The Slack side of a case, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRecord {
    /// `None` while the case is claimed but has no channel yet.
    pub channel_id: Option<String>,
    /// The channel's name.
    pub channel_name: Option<String>,
    /// The last event sequence applied.
    pub applied_sequence: u64,
    /// What the channel shows, once set up.
    pub shown: Option<Shown>,
}

/// Reads and writes of the Slack client's own attributes and markers.
#[derive(Debug, Clone)]
pub struct SlackState {
    client: Client,
    table: String,
}

type Item = HashMap<String, AttributeValue>;

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        (PARTITION_KEY.to_owned(), AttributeValue::S(pk)),
        (SORT_KEY.to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

fn channel_key(case_id: &CaseId) -> Item {
    key(format!("CASE#{case_id}"), "CHANNEL")
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .map(String::as_str)
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|value| value.as_n().ok())
        .and_then(|value| value.parse().ok())
}

fn dynamo_error<E, R>(operation: &'static str, error: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let message = match error.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("unknown"),
            service.message().unwrap_or("no message")
        ),
        None => error.to_string(),
    };
    StoreError::Dynamo { operation, message }
}

fn is_conditional_failure<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

impl SlackState {
    /// Works on `table` with `client` (the same client the store uses).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The case's channel item, if the case was ever claimed (a strongly consistent read).
    pub async fn channel_record(
        &self,
        case_id: &CaseId,
    ) -> Result<Option<ChannelRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(channel_key(case_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamo_error("GetItem", &e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let shown = match text(&item, "shown_case") {
            None => None,
            Some(json) => match serde_json::from_str::<Case>(json) {
                Ok(case) => Some(Shown {
                    case,
                    topic: text(&item, "shown_topic").unwrap_or_default().to_owned(),
                    purpose: text(&item, "shown_purpose").unwrap_or_default().to_owned(),
                }),
                // Written by another version: the caller asks SIR for the case instead.
                Err(error) => {
                    tracing::warn!(case_id = %case_id, %error, "stored channel view unreadable");
                    None
                }
            },
        };
        Ok(Some(ChannelRecord {
            channel_id: text(&item, "channel_id").map(str::to_owned),
            channel_name: text(&item, "channel_name").map(str::to_owned),
            applied_sequence: number(&item, "applied_sequence")
                .and_then(|value| u64::try_from(value).ok())
                .unwrap_or(0),
            shown,
        }))
    }

    /// Stores what the channel shows (on the claimed channel item).
    pub async fn save_shown(&self, case_id: &CaseId, shown: &Shown) -> Result<(), StoreError> {
        let mut case = shown.case.clone();
        // Attachments only grow and nothing shown depends on them.
        case.attachments.clear();
        let json = serde_json::to_string(&case).map_err(|e| StoreError::Malformed {
            item: format!("CASE#{case_id}/CHANNEL"),
            reason: e.to_string(),
        })?;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(channel_key(case_id)))
            .update_expression(
                "SET shown_case = :case, shown_topic = :topic, shown_purpose = :purpose",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":case", AttributeValue::S(json))
            .expression_attribute_values(":topic", AttributeValue::S(shown.topic.clone()))
            .expression_attribute_values(":purpose", AttributeValue::S(shown.purpose.clone()))
            .send()
            .await
            .map_err(|e| dynamo_error("UpdateItem", &e))?;
        Ok(())
    }

    /// Moves the apply cursor from `from` to `to` over a gap (events `from + 1 .. to` never
    /// arrived in time). `false` when the cursor was not at `from` any more.
    pub async fn jump_cursor(
        &self,
        case_id: &CaseId,
        from: u64,
        to: u64,
    ) -> Result<bool, StoreError> {
        match self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(channel_key(case_id)))
            .update_expression("SET applied_sequence = :to")
            .condition_expression("applied_sequence = :from")
            .expression_attribute_values(":to", AttributeValue::N(to.to_string()))
            .expression_attribute_values(":from", AttributeValue::N(from.to_string()))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(dynamo_error("UpdateItem", &e)),
        }
    }

    /// Whether an unexpired marker `ONCE#<scope>#<key>` exists (written by the store's
    /// `put_once`; an expired one counts as absent, since TTL deletion is lazy).
    pub async fn marker_present(&self, scope: &str, marker: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("ONCE#{scope}#{marker}"), "ONCE")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamo_error("GetItem", &e))?;
        let now = Utc::now().timestamp();
        Ok(out
            .item
            .is_some_and(|item| number(&item, TTL_ATTRIBUTE).is_none_or(|expires| expires >= now)))
    }
}
