//! sirslack's one DynamoDB table.
//!
//! Every item is small and bounded (no growing lists): one item per case
//! snapshot, per synced comment or attachment, per channel link direction and
//! per idempotency marker. Reverse lookups (channel -> case) are items of their
//! own, read by key, so nothing ever needs a Scan.
//!
//! | item | `pk` | `sk` | expires |
//! |---|---|---|---|
//! | case snapshot (poller) | `CASE#<caseId>` | `SNAPSHOT` | never while open |
//! | synced comment | `CASE#<caseId>` | `COMMENT#<commentId>` | never while open |
//! | synced attachment | `CASE#<caseId>` | `ATTACHMENT#<attachmentId>` | never while open |
//! | case -> channel, Slack apply cursor | `CASE#<caseId>` | `CHANNEL` | never |
//! | channel -> case | `CHANNEL#<channelId>` | `CASE` | never |
//! | idempotency marker | `ONCE#<scope>#<key>` | `ONCE` | `expires_at` |
//! | lease | `LEASE#<name>` | `LEASE` | `expires_at` |
//!
//! Conditional writes carry every guarantee: a snapshot only advances from the
//! version it was read at, a case is claimed for channel creation once, a
//! marker is written once.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use sirslack_domain::case::{Case, CaseId};

/// Partition key attribute name (string).
pub const PARTITION_KEY: &str = "pk";
/// Sort key attribute name (string).
pub const SORT_KEY: &str = "sk";
/// TTL attribute name (number, epoch seconds). DynamoDB deletes expired items lazily,
/// so readers also check it.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// DynamoDB's BatchGetItem limit.
const BATCH_GET_MAX_KEYS: usize = 100;

/// What can go wrong talking to the table.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: someone else wrote first (or the version moved).
    #[error("conditional write lost on {item}")]
    Conflict { item: String },
    /// The table answered with an error or could not be reached.
    #[error("DynamoDB {operation} failed: {message}")]
    Dynamo { operation: &'static str, message: String },
    /// An item in the table does not have the shape this code wrote.
    #[error("malformed item {item}: {reason}")]
    Malformed { item: String, reason: String },
}

impl StoreError {
    fn dynamo<E, R>(operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let message = match err.as_service_error() {
            Some(service) => format!(
                "{}: {}",
                service.code().unwrap_or("unknown"),
                service.message().unwrap_or("no message")
            ),
            None => format!("{err}"),
        };
        StoreError::Dynamo { operation, message }
    }
}

fn is_conditional_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

fn is_transaction_conflict<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "TransactionCanceledException")
}

/// The poller's last view of a case: what it published up to `version`.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseSnapshot {
    /// Count of events published for this case so far; the next event gets `version + 1`.
    pub version: u64,
    /// The case as last synced (comments are not part of it; they are items of their own).
    pub case: Case,
    /// When the attachments of this case were last read from GetCase.
    pub attachments_checked_at: DateTime<Utc>,
}

/// Who wrote a comment or attachment that the integration knows about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncOrigin {
    /// Seen in SIR by the poller and published to Slack.
    Sir,
    /// Written to SIR by this integration on behalf of Slack: never echo it back.
    Slack,
}

impl SyncOrigin {
    fn as_str(self) -> &'static str {
        match self {
            SyncOrigin::Sir => "sir",
            SyncOrigin::Slack => "slack",
        }
    }
}

/// The Slack side of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelLink {
    pub case_id: CaseId,
    /// Empty while the channel is claimed but not yet created.
    pub channel_id: Option<String>,
    pub channel_name: Option<String>,
    /// Highest per-case event sequence the Slack client has applied.
    pub applied_sequence: u64,
}

/// A handle on the table. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Table {
    client: Client,
    name: String,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn case_pk(case_id: &CaseId) -> String {
    format!("CASE#{case_id}")
}

type Item = HashMap<String, AttributeValue>;

fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

impl Table {
    /// Wraps a DynamoDB client and the table name (from the function's environment).
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn key(pk: String, sk: &str) -> Item {
        HashMap::from([
            (PARTITION_KEY.to_string(), s(pk)),
            (SORT_KEY.to_string(), s(sk)),
        ])
    }

    // ---- case snapshots (poller) ------------------------------------------------

    /// The snapshot of one case, if the poller has seen it.
    pub async fn snapshot(&self, case_id: &CaseId) -> Result<Option<CaseSnapshot>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(case_pk(case_id), "SNAPSHOT")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?;
        out.item.map(|item| parse_snapshot(&item)).transpose()
    }

    /// Snapshots of many cases at once (BatchGetItem, 100 keys a call); cases never
    /// seen are absent from the map.
    pub async fn snapshots(
        &self,
        case_ids: &[CaseId],
    ) -> Result<HashMap<CaseId, CaseSnapshot>, StoreError> {
        let mut found = HashMap::new();
        for chunk in case_ids.chunks(BATCH_GET_MAX_KEYS) {
            let mut pending: Vec<Item> = chunk
                .iter()
                .map(|id| Self::key(case_pk(id), "SNAPSHOT"))
                .collect();
            // Unprocessed keys come back under load: ask again for just those.
            let mut rounds = 0;
            while !pending.is_empty() {
                rounds += 1;
                if rounds > 10 {
                    return Err(StoreError::Dynamo {
                        operation: "BatchGetItem",
                        message: "keys still unprocessed after 10 rounds".into(),
                    });
                }
                let keys = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Dynamo {
                        operation: "BatchGetItem",
                        message: e.to_string(),
                    })?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.name, keys)
                    .send()
                    .await
                    .map_err(|e| StoreError::dynamo("BatchGetItem", e))?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(&self.name))
                    .unwrap_or_default()
                {
                    let snapshot = parse_snapshot(&item)?;
                    found.insert(snapshot.case.id.clone(), snapshot);
                }
                if let Some(mut unprocessed) = out.unprocessed_keys
                    && let Some(keys) = unprocessed.remove(&self.name)
                {
                    pending = keys.keys;
                }
            }
        }
        Ok(found)
    }

    /// Writes a snapshot only if the stored one is still at `expected_version`
    /// (`None`: only if there is none), so overlapping pollers cannot both advance it.
    pub async fn put_snapshot(
        &self,
        snapshot: &CaseSnapshot,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let case_json = serde_json::to_string(&snapshot.case).map_err(|e| StoreError::Malformed {
            item: case_pk(&snapshot.case.id),
            reason: e.to_string(),
        })?;
        let mut item = Self::key(case_pk(&snapshot.case.id), "SNAPSHOT");
        item.insert("version".into(), n(snapshot.version));
        item.insert("case".into(), s(case_json));
        item.insert(
            "attachments_checked_at".into(),
            n(snapshot.attachments_checked_at.timestamp()),
        );
        let request = self.client.put_item().table_name(&self.name).set_item(Some(item));
        let request = match expected_version {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(version) => request
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", n(version)),
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::Conflict {
                item: format!("{}/SNAPSHOT", case_pk(&snapshot.case.id)),
            }),
            Err(e) => Err(StoreError::dynamo("PutItem", e)),
        }
    }

    // ---- comments and attachments ------------------------------------------------

    /// Records that a comment is known (published from SIR, or written by us from Slack).
    /// Returns `false` when it was already recorded.
    pub async fn record_comment(
        &self,
        case_id: &CaseId,
        comment_id: &str,
        origin: SyncOrigin,
    ) -> Result<bool, StoreError> {
        self.record_child(case_id, "COMMENT", comment_id, origin).await
    }

    /// Records that an attachment is known. Returns `false` when it was already recorded.
    pub async fn record_attachment(
        &self,
        case_id: &CaseId,
        attachment_id: &str,
        origin: SyncOrigin,
    ) -> Result<bool, StoreError> {
        self.record_child(case_id, "ATTACHMENT", attachment_id, origin)
            .await
    }

    async fn record_child(
        &self,
        case_id: &CaseId,
        kind: &str,
        id: &str,
        origin: SyncOrigin,
    ) -> Result<bool, StoreError> {
        let mut item = Self::key(case_pk(case_id), &format!("{kind}#{id}"));
        item.insert("origin".into(), s(origin.as_str()));
        item.insert("recorded_at".into(), n(Utc::now().timestamp()));
        match self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::dynamo("PutItem", e)),
        }
    }

    /// IDs of every comment recorded for a case, whatever its origin.
    pub async fn known_comment_ids(&self, case_id: &CaseId) -> Result<HashSet<String>, StoreError> {
        self.child_ids(case_id, "COMMENT").await
    }

    /// IDs of every attachment recorded for a case, whatever its origin.
    pub async fn known_attachment_ids(
        &self,
        case_id: &CaseId,
    ) -> Result<HashSet<String>, StoreError> {
        self.child_ids(case_id, "ATTACHMENT").await
    }

    async fn child_ids(&self, case_id: &CaseId, kind: &str) -> Result<HashSet<String>, StoreError> {
        let prefix = format!("{kind}#");
        let mut ids = HashSet::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(case_pk(case_id)))
            .expression_attribute_values(":prefix", s(prefix.clone()))
            .projection_expression("sk")
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(|e| StoreError::dynamo("Query", e))?;
            if let Some(id) = get_s(&item, SORT_KEY).and_then(|sk| sk.strip_prefix(&prefix)) {
                ids.insert(id.to_string());
            }
        }
        Ok(ids)
    }

    // ---- case <-> channel ----------------------------------------------------------

    /// Claims a case for channel creation. Exactly one caller gets `true`; the
    /// claim item also carries the Slack client's per-case apply cursor.
    pub async fn claim_case(&self, case_id: &CaseId) -> Result<bool, StoreError> {
        let mut item = Self::key(case_pk(case_id), "CHANNEL");
        item.insert("case_id".into(), s(case_id.to_string()));
        item.insert("applied_sequence".into(), n(0));
        item.insert("claimed_at".into(), n(Utc::now().timestamp()));
        match self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::dynamo("PutItem", e)),
        }
    }

    /// The channel link of a case, if the case was ever claimed.
    pub async fn channel_link(&self, case_id: &CaseId) -> Result<Option<ChannelLink>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(case_pk(case_id), "CHANNEL")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?;
        Ok(out.item.map(|item| ChannelLink {
            case_id: case_id.clone(),
            channel_id: get_s(&item, "channel_id").map(str::to_string),
            channel_name: get_s(&item, "channel_name").map(str::to_string),
            applied_sequence: get_n(&item, "applied_sequence")
                .and_then(|v| u64::try_from(v).ok())
                .unwrap_or(0),
        }))
    }

    /// Stores the channel of a claimed case, both directions in one transaction.
    pub async fn link_channel(
        &self,
        case_id: &CaseId,
        channel_id: &str,
        channel_name: &str,
    ) -> Result<(), StoreError> {
        let forward = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.name)
            .set_key(Some(Self::key(case_pk(case_id), "CHANNEL")))
            .update_expression("SET channel_id = :id, channel_name = :name")
            .expression_attribute_values(":id", s(channel_id))
            .expression_attribute_values(":name", s(channel_name))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(|e| StoreError::Dynamo {
                operation: "TransactWriteItems",
                message: e.to_string(),
            })?;
        let mut reverse = Self::key(format!("CHANNEL#{channel_id}"), "CASE");
        reverse.insert("case_id".into(), s(case_id.to_string()));
        let reverse = Put::builder()
            .table_name(&self.name)
            .set_item(Some(reverse))
            .build()
            .map_err(|e| StoreError::Dynamo {
                operation: "TransactWriteItems",
                message: e.to_string(),
            })?;
        match self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(forward).build())
            .transact_items(TransactWriteItem::builder().put(reverse).build())
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_transaction_conflict(&e) => Err(StoreError::Conflict {
                item: format!("{}/CHANNEL", case_pk(case_id)),
            }),
            Err(e) => Err(StoreError::dynamo("TransactWriteItems", e)),
        }
    }

    /// The case linked to a Slack channel: one GetItem by key.
    pub async fn case_for_channel(&self, channel_id: &str) -> Result<Option<CaseId>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(format!("CHANNEL#{channel_id}"), "CASE")))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let raw = get_s(&item, "case_id").ok_or_else(|| StoreError::Malformed {
            item: format!("CHANNEL#{channel_id}/CASE"),
            reason: "no case_id".into(),
        })?;
        raw.parse().map(Some).map_err(|_| StoreError::Malformed {
            item: format!("CHANNEL#{channel_id}/CASE"),
            reason: "case_id is not a case ID".into(),
        })
    }

    /// Advances the Slack client's apply cursor from `sequence - 1` to `sequence`.
    /// `Conflict` means the predecessor is not applied yet (or this one already was).
    pub async fn advance_applied_sequence(
        &self,
        case_id: &CaseId,
        sequence: u64,
    ) -> Result<(), StoreError> {
        let previous = sequence.saturating_sub(1);
        match self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(case_pk(case_id), "CHANNEL")))
            .update_expression("SET applied_sequence = :next")
            .condition_expression("applied_sequence = :previous")
            .expression_attribute_values(":next", n(sequence))
            .expression_attribute_values(":previous", n(previous))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::Conflict {
                item: format!("{}/CHANNEL", case_pk(case_id)),
            }),
            Err(e) => Err(StoreError::dynamo("UpdateItem", e)),
        }
    }

    // ---- idempotency markers and leases -----------------------------------------

    /// Writes a marker once. Returns `true` for the first writer, `false` when an
    /// unexpired marker already exists (an expired one is taken over: DynamoDB's TTL
    /// deletion is lazy).
    pub async fn put_once(
        &self,
        scope: &str,
        key: &str,
        ttl: chrono::Duration,
    ) -> Result<bool, StoreError> {
        let now = Utc::now().timestamp();
        let mut item = Self::key(format!("ONCE#{scope}#{key}"), "ONCE");
        item.insert(TTL_ATTRIBUTE.into(), n(now + ttl.num_seconds()));
        match self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #ttl < :now")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":now", n(now))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::dynamo("PutItem", e)),
        }
    }

    /// Removes a marker, so that work which failed after `put_once` can be retried.
    pub async fn forget_once(&self, scope: &str, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(format!("ONCE#{scope}#{key}"), "ONCE")))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("DeleteItem", e))?;
        Ok(())
    }

    /// Takes a named lease for `duration` if it is free or expired. Overlapping
    /// scheduled runs use it so only one reconciles at a time.
    pub async fn acquire_lease(
        &self,
        name: &str,
        owner: &str,
        duration: chrono::Duration,
    ) -> Result<bool, StoreError> {
        let now = Utc::now().timestamp();
        let mut item = Self::key(format!("LEASE#{name}"), "LEASE");
        item.insert("owner".into(), s(owner));
        item.insert(TTL_ATTRIBUTE.into(), n(now + duration.num_seconds()));
        match self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #ttl < :now OR #owner = :owner")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::dynamo("PutItem", e)),
        }
    }

    /// Gives a lease back early (only the owner's).
    pub async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        match self
            .client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(format!("LEASE#{name}"), "LEASE")))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Ok(()),
            Err(e) => Err(StoreError::dynamo("DeleteItem", e)),
        }
    }
}

fn parse_snapshot(item: &Item) -> Result<CaseSnapshot, StoreError> {
    let pk = get_s(item, PARTITION_KEY).unwrap_or("?").to_string();
    let malformed = |reason: &str| StoreError::Malformed {
        item: format!("{pk}/SNAPSHOT"),
        reason: reason.to_string(),
    };
    let version = get_n(item, "version")
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| malformed("no version"))?;
    let case: Case = get_s(item, "case")
        .ok_or_else(|| malformed("no case"))
        .and_then(|raw| serde_json::from_str(raw).map_err(|e| malformed(&e.to_string())))?;
    let attachments_checked_at = get_n(item, "attachments_checked_at")
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .unwrap_or(DateTime::UNIX_EPOCH);
    Ok(CaseSnapshot {
        version,
        case,
        attachments_checked_at,
    })
}
