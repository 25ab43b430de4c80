//! sirslack's one DynamoDB table.
//!
//! Every item is small and bounded (no growing lists): one item per case
//! snapshot, per synced comment or attachment, per channel link direction and
//! per idempotency marker. Reverse lookups (channel -> case) are items of their
//! own, read by key, so nothing ever needs a Scan.
//!
//! | item | `pk` | `sk` | expires |
//! |---|---|---|---|
//! | case snapshot (poller), with its pending plan | `CASE#<caseId>` | `SNAPSHOT` | never |
//! | synced comment (with the body hash last published and the Slack messages that carry it) | `CASE#<caseId>` | `COMMENT#<commentId>` | never (must outlive the snapshot) |
//! | synced attachment | `CASE#<caseId>` | `ATTACHMENT#<attachmentId>` | never |
//! | own upload from Slack (written before the upload) | `CASE#<caseId>` | `UPLOAD#<sirFileName>` | never |
//! | case -> channel, Slack apply cursor | `CASE#<caseId>` | `CHANNEL` | never |
//! | channel -> case | `CHANNEL#<channelId>` | `CASE` | never |
//! | idempotency marker, or leased claim (`claim_state`, `lease_until_ms`) | `ONCE#<scope>#<key>` | `ONCE` | `expires_at` |
//! | ordering lane of a channel (owner, lease, `waiting` count) | `LANE#<channelId>` | `LANE` | never |
//! | job waiting in a lane | `LANE#<channelId>` | `JOB#<ts>#<kind>` | `expires_at` |
//! | lease | `LEASE#<name>` | `LEASE` | `expires_at` |
//! | a message on its way to a case ("Send to SIR case"), under its modal | `FORWARD#<viewId>` | `FORWARD` | `expires_at` (2 h) |
//!
//! Conditional writes carry every guarantee: a snapshot only advances from the
//! version it was read at (and events are planned in it before they are published,
//! see `docs/poller.md`), a case is claimed for channel creation once, a
//! marker is written once.

mod claims;
mod forward;
mod lane;
mod shown;

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use chrono::{DateTime, SecondsFormat, Utc};
use sirslack_domain::case::{AttachmentStatus, Case, CaseId};
use sirslack_domain::status::CaseStatus;

pub use claims::{Claim, Resumable};
pub use forward::{FORWARD_TTL, ForwardRecord, ForwardSent, ForwardedMessage};
pub use lane::{LaneJob, LaneRegistration, LaneState, LaneTake};
pub use shown::Shown;

/// Partition key attribute name (string).
pub const PARTITION_KEY: &str = "pk";
/// Sort key attribute name (string).
pub const SORT_KEY: &str = "sk";
/// TTL attribute name (number, epoch seconds). DynamoDB deletes expired items lazily,
/// so readers also check it.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// Sort key of a case snapshot.
const SNAPSHOT_SK: &str = "SNAPSHOT";

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
    Dynamo {
        operation: &'static str,
        message: String,
    },
    /// An item in the table does not have the shape this code wrote.
    #[error("malformed item {item}: {reason}")]
    Malformed { item: String, reason: String },
}

impl StoreError {
    /// The failure class, for Lambda's `errorType` (`StoreConflict`, `StoreUnavailable`,
    /// `StoreMalformed`).
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Conflict { .. } => "StoreConflict",
            Self::Dynamo { .. } => "StoreUnavailable",
            Self::Malformed { .. } => "StoreMalformed",
        }
    }

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

/// A conditional write's outcome: `true` when it was applied, `false` when its condition did
/// not hold.
fn condition_held<T, E, R>(
    operation: &'static str,
    result: Result<T, SdkError<E, R>>,
) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_conditional_failure(&e) => Ok(false),
        Err(e) => Err(StoreError::dynamo(operation, e)),
    }
}

fn is_transaction_conflict<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "TransactionCanceledException")
}

/// The poller's last view of a case: what it published up to `version`.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseSnapshot {
    /// The case.
    pub case_id: CaseId,
    /// Count of events published for this case so far; the next event gets `version + 1`.
    /// Zero for a case that was stored silently (first seen closed) or is being announced.
    pub version: u64,
    /// The status last seen (from GetCase, or from ListCases when `case` is `None`).
    pub status: Option<CaseStatus>,
    /// The `lastUpdatedDate` last seen, compared exactly with ListCases on every reconcile.
    pub updated_at: Option<DateTime<Utc>>,
    /// The case as last synced (comments are not part of it; they are items of their own).
    /// `None` when only the listing was seen: a case first seen closed is never fetched.
    pub case: Option<Case>,
    /// When the attachments of this case were last read from GetCase.
    pub attachments_checked_at: DateTime<Utc>,
    /// Whether an attachment was still `Pending` then (it is checked again on the next reconcile).
    pub attachments_pending: bool,
    /// Events being published: planned before publishing so that a run that dies half-way
    /// re-publishes exactly the same events with the same sequence numbers.
    pub pending: Option<PendingSync>,
    /// No quiet-case nudge before this time (`nudge_after`): set when a nudge is planned (to
    /// the nudge plus the quiet threshold) and by the Snooze button (now plus one day). Kept
    /// by every snapshot write of the poller.
    pub nudge_after: Option<DateTime<Utc>>,
}

impl CaseSnapshot {
    /// A settled snapshot of a fetched case.
    pub fn of_case(case: Case, version: u64, attachments_checked_at: DateTime<Utc>) -> Self {
        Self {
            case_id: case.id.clone(),
            version,
            status: Some(case.status.clone()),
            updated_at: case.updated_at,
            attachments_pending: case
                .attachments
                .iter()
                .any(|attachment| attachment.status == AttachmentStatus::Pending),
            case: Some(case),
            attachments_checked_at,
            pending: None,
            nudge_after: None,
        }
    }

    /// A snapshot of a case known only from ListCases (no event is ever published for it).
    pub fn listed(
        case_id: CaseId,
        status: Option<CaseStatus>,
        updated_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            case_id,
            version: 0,
            status,
            updated_at,
            case: None,
            attachments_checked_at: now,
            attachments_pending: false,
            pending: None,
            nudge_after: None,
        }
    }
}

/// Events planned for a case but not yet confirmed published.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingSync {
    /// The snapshot version once they are published (the stored version plus their count).
    pub version: u64,
    /// The case as it will be stored then: the events are derived from the stored case and this one.
    pub case: Case,
    /// The poller's description of each planned event, in sequence order (opaque to the store).
    pub events: Vec<String>,
    /// When the plan was written.
    pub since: DateTime<Utc>,
}

/// What a snapshot write expects to find, so that two pollers cannot both advance a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotCondition {
    /// No snapshot yet.
    Absent,
    /// A snapshot at `version` with no events pending.
    Settled { version: u64 },
    /// A snapshot at `version` whose pending events lead to `pending_version`.
    Pending { version: u64, pending_version: u64 },
}

impl SnapshotCondition {
    /// The condition that holds for `snapshot` as read (`None`: no snapshot).
    pub fn of(snapshot: Option<&CaseSnapshot>) -> Self {
        match snapshot {
            None => Self::Absent,
            Some(CaseSnapshot {
                version,
                pending: Some(pending),
                ..
            }) => Self::Pending {
                version: *version,
                pending_version: pending.version,
            },
            Some(CaseSnapshot { version, .. }) => Self::Settled { version: *version },
        }
    }
}

/// The part of a snapshot a reconcile compares with ListCases (read with a projection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSummary {
    pub case_id: CaseId,
    pub version: u64,
    pub status: Option<CaseStatus>,
    pub updated_at: Option<DateTime<Utc>>,
    pub attachments_checked_at: DateTime<Utc>,
    pub attachments_pending: bool,
    /// A previous run planned events and did not confirm them.
    pub sync_pending: bool,
    /// No quiet-case nudge before this time ([`CaseSnapshot::nudge_after`]).
    pub nudge_after: Option<DateTime<Utc>>,
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

    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "sir" => Some(SyncOrigin::Sir),
            "slack" => Some(SyncOrigin::Slack),
            _ => None,
        }
    }
}

/// What the table knows of one comment of a case (its `COMMENT#<commentId>` item).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KnownComment {
    /// Who wrote it; `None` when only the Slack client's record of its messages exists yet
    /// (the poller records a published comment after publishing it).
    pub origin: Option<SyncOrigin>,
    /// [`sirslack_domain::Comment::body_sha256`] of the body last published (`origin sir`);
    /// `None` for comments published before bodies were recorded.
    pub body_sha256: Option<String>,
}

impl KnownComment {
    /// Whether this integration wrote the comment (from Slack): it is never announced, nor
    /// are its edits.
    pub fn is_from_slack(&self) -> bool {
        self.origin == Some(SyncOrigin::Slack)
    }
}

/// The Slack messages that carry a SIR comment in its case channel, in order (a long comment
/// takes several).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentMessages {
    /// The channel they were posted in.
    pub channel_id: String,
    /// Their `ts`, one per part of the comment.
    pub ts: Vec<String>,
}

/// An open case and its channel, as [`Table::open_cases_in_channels`] finds them (the
/// domain's type, which the App Home tab shows as is).
pub use sirslack_domain::CaseInChannel;

/// The Slack side of a case: its `CASE#<caseId>` / `CHANNEL` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelLink {
    pub case_id: CaseId,
    /// Empty while the channel is claimed but not yet created.
    pub channel_id: Option<String>,
    pub channel_name: Option<String>,
    /// Highest per-case event sequence the Slack client has applied.
    pub applied_sequence: u64,
    /// What the channel shows, once the Slack client has set it up ([`Table::save_shown`]).
    pub shown: Option<Shown>,
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

fn own_upload_sk(sir_file_name: &str) -> String {
    format!("UPLOAD#{sir_file_name}")
}

type Item = HashMap<String, AttributeValue>;

fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
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

    /// The item at `key`, if any (a strongly consistent GetItem).
    pub(crate) async fn read_item(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?;
        Ok(out.item)
    }

    /// The key of a case's `CASE#<caseId>` / `CHANNEL` item.
    fn channel_key(case_id: &CaseId) -> Item {
        Self::key(case_pk(case_id), "CHANNEL")
    }

    /// The key of the marker `ONCE#<scope>#<key>` / `ONCE`.
    fn once_key(scope: &str, key: &str) -> Item {
        Self::key(format!("ONCE#{scope}#{key}"), "ONCE")
    }

    // ---- case snapshots (poller) ------------------------------------------------

    /// The snapshot of one case, if the poller has seen it (a strongly consistent read).
    pub async fn snapshot(&self, case_id: &CaseId) -> Result<Option<CaseSnapshot>, StoreError> {
        let out = self
            .read_item(Self::key(case_pk(case_id), SNAPSHOT_SK))
            .await?;
        out.map(|item| parse_snapshot(&item)).transpose()
    }

    /// What a reconcile needs of many snapshots, read with BatchGetItem (100 keys a call) and a
    /// projection that leaves the case JSON out; cases never seen are absent from the map.
    ///
    /// The reads are eventually consistent: a stale summary can only make a case look changed,
    /// and syncing it reads the snapshot again, consistently.
    pub async fn snapshot_summaries(
        &self,
        case_ids: &[CaseId],
    ) -> Result<HashMap<CaseId, SnapshotSummary>, StoreError> {
        let mut found = HashMap::new();
        for chunk in case_ids.chunks(BATCH_GET_MAX_KEYS) {
            let mut pending: Vec<Item> = chunk
                .iter()
                .map(|id| Self::key(case_pk(id), SNAPSHOT_SK))
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
                    .projection_expression(
                        "pk, version, #status, updated_at, attachments_checked_at, \
                         attachments_pending, pending_version, nudge_after",
                    )
                    .expression_attribute_names("#status", "status")
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
                    let summary = parse_summary(&item)?;
                    found.insert(summary.case_id.clone(), summary);
                }
                if let Some(mut unprocessed) = out.unprocessed_keys
                    && let Some(keys) = unprocessed.remove(&self.name)
                {
                    pending = keys.keys;
                    // Back off a little, as DynamoDB asks, before the next round.
                    tokio::time::sleep(std::time::Duration::from_millis(50 * rounds)).await;
                }
            }
        }
        Ok(found)
    }

    /// Writes the whole snapshot item (a pending plan included when `snapshot.pending` is set,
    /// removed otherwise) if the stored one matches `condition`; [`StoreError::Conflict`] when
    /// it does not, so overlapping pollers cannot both advance a case.
    pub async fn put_snapshot(
        &self,
        snapshot: &CaseSnapshot,
        condition: SnapshotCondition,
    ) -> Result<(), StoreError> {
        let pk = case_pk(&snapshot.case_id);
        let to_json = |case: &Case| {
            serde_json::to_string(case).map_err(|e| StoreError::Malformed {
                item: format!("{pk}/{SNAPSHOT_SK}"),
                reason: e.to_string(),
            })
        };
        let mut item = Self::key(pk.clone(), SNAPSHOT_SK);
        item.insert("version".into(), n(snapshot.version));
        if let Some(status) = &snapshot.status {
            item.insert("status".into(), s(status.as_str()));
        }
        if let Some(updated_at) = snapshot.updated_at {
            item.insert("updated_at".into(), s(exact_time(updated_at)));
        }
        if let Some(case) = &snapshot.case {
            item.insert("case".into(), s(to_json(case)?));
        }
        item.insert(
            "attachments_checked_at".into(),
            n(snapshot.attachments_checked_at.timestamp()),
        );
        item.insert(
            "attachments_pending".into(),
            AttributeValue::Bool(snapshot.attachments_pending),
        );
        if let Some(nudge_after) = snapshot.nudge_after {
            item.insert("nudge_after".into(), n(nudge_after.timestamp()));
        }
        if let Some(pending) = &snapshot.pending {
            item.insert("pending_version".into(), n(pending.version));
            item.insert("pending_case".into(), s(to_json(&pending.case)?));
            item.insert(
                "pending_events".into(),
                AttributeValue::L(pending.events.iter().map(|e| s(e.as_str())).collect()),
            );
            item.insert("pending_since".into(), s(exact_time(pending.since)));
        }
        let request = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item));
        let request = match condition {
            SnapshotCondition::Absent => request.condition_expression("attribute_not_exists(pk)"),
            SnapshotCondition::Settled { version } => request
                .condition_expression(
                    "version = :expected AND attribute_not_exists(pending_version)",
                )
                .expression_attribute_values(":expected", n(version)),
            SnapshotCondition::Pending {
                version,
                pending_version,
            } => request
                .condition_expression("version = :expected AND pending_version = :pending")
                .expression_attribute_values(":expected", n(version))
                .expression_attribute_values(":pending", n(pending_version)),
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::Conflict {
                item: format!("{pk}/{SNAPSHOT_SK}"),
            }),
            Err(e) => Err(StoreError::dynamo("PutItem", e)),
        }
    }

    /// Snoozes the quiet-case nudges of a case until `until` (the Snooze button): sets the
    /// snapshot's `nudge_after`, never earlier than it is. Returns `false` when nothing moved:
    /// the case has no snapshot, or is snoozed until later already. One UpdateItem; a snapshot write of the poller
    /// keeps the value it read, so a snooze landing in the instant between a sync's read and
    /// its write is lost (the next nudge then comes a threshold after the case's activity).
    pub async fn snooze_nudges(
        &self,
        case_id: &CaseId,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self.update_request(Self::key(case_pk(case_id), SNAPSHOT_SK))
            .update_expression("SET nudge_after = :until")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(nudge_after) OR nudge_after < :until)",
            )
            .expression_attribute_values(":until", n(until.timestamp()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::dynamo("UpdateItem", e)),
        }
    }

    /// Moves the status and `lastUpdatedDate` of a settled snapshot at `expected_version`
    /// (a closed case that changed again: nothing is published for it, only the listing is
    /// kept current so that the next reconcile does not look at it again).
    pub async fn update_listing(
        &self,
        case_id: &CaseId,
        expected_version: u64,
        status: Option<&CaseStatus>,
        updated_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut sets = Vec::new();
        let mut removes = Vec::new();
        let mut request = self
            .update_request(Self::key(case_pk(case_id), SNAPSHOT_SK))
            .condition_expression("version = :expected AND attribute_not_exists(pending_version)")
            .expression_attribute_values(":expected", n(expected_version))
            .expression_attribute_names("#status", "status");
        match status {
            Some(status) => {
                sets.push("#status = :status");
                request = request.expression_attribute_values(":status", s(status.as_str()));
            }
            None => removes.push("#status"),
        }
        match updated_at {
            Some(updated_at) => {
                sets.push("updated_at = :updated");
                request =
                    request.expression_attribute_values(":updated", s(exact_time(updated_at)));
            }
            None => removes.push("updated_at"),
        }
        let mut expression = String::new();
        if !sets.is_empty() {
            expression.push_str(&format!("SET {}", sets.join(", ")));
        }
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        match request.update_expression(expression.trim()).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::Conflict {
                item: format!("{}/{SNAPSHOT_SK}", case_pk(case_id)),
            }),
            Err(e) => Err(StoreError::dynamo("UpdateItem", e)),
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
        self.record_child(case_id, "COMMENT", comment_id, origin)
            .await
    }

    /// Records a comment the poller published from SIR (`origin sir`, unless the item already
    /// says otherwise) with the hash of the body published, so that a later sync sees an edit.
    /// An update, not a conditional put: the Slack client may have recorded the comment's Slack
    /// messages on the same item first, and publishing an edit moves the hash on.
    pub async fn record_published_comment(
        &self,
        case_id: &CaseId,
        comment_id: &str,
        body_sha256: &str,
    ) -> Result<(), StoreError> {
        self.update_request(Self::comment_key(case_id, comment_id))
            .update_expression(
                "SET origin = if_not_exists(origin, :sir), \
                 recorded_at = if_not_exists(recorded_at, :now), body_sha256 = :hash",
            )
            .expression_attribute_values(":sir", s(SyncOrigin::Sir.as_str()))
            .expression_attribute_values(":now", n(Utc::now().timestamp()))
            .expression_attribute_values(":hash", s(body_sha256))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?;
        Ok(())
    }

    /// Records the Slack messages that carry a SIR comment (the Slack client, after posting
    /// them), replacing what was recorded before. The poller's attributes of the item are left
    /// alone.
    pub async fn record_comment_messages(
        &self,
        case_id: &CaseId,
        comment_id: &str,
        messages: &CommentMessages,
    ) -> Result<(), StoreError> {
        self.update_request(Self::comment_key(case_id, comment_id))
            .update_expression("SET slack_channel_id = :channel, slack_ts = :ts")
            .expression_attribute_values(":channel", s(messages.channel_id.as_str()))
            .expression_attribute_values(
                ":ts",
                AttributeValue::L(messages.ts.iter().map(|ts| s(ts.as_str())).collect()),
            )
            .send()
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?;
        Ok(())
    }

    /// The Slack messages recorded for a SIR comment, if any (a strongly consistent read).
    pub async fn comment_messages(
        &self,
        case_id: &CaseId,
        comment_id: &str,
    ) -> Result<Option<CommentMessages>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(Self::comment_key(case_id, comment_id)))
            .projection_expression("slack_channel_id, slack_ts")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let Some(channel_id) = get_s(&item, "slack_channel_id") else {
            return Ok(None);
        };
        let ts: Vec<String> = item
            .get("slack_ts")
            .and_then(|v| v.as_l().ok())
            .map(|list| list.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
            .unwrap_or_default();
        Ok((!ts.is_empty()).then(|| CommentMessages {
            channel_id: channel_id.to_owned(),
            ts,
        }))
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

    /// Records, **before** the upload starts, that this integration is about to upload a Slack
    /// file to a case as `sir_file_name` (a name unique to that Slack file). SIR answers an
    /// upload with no attachment ID and lists the attachment only when it is ready, so the
    /// poller recognises the attachment by this name whenever it is listed
    /// ([`Table::own_uploads`]) and never posts it back to Slack. Writing it again changes
    /// nothing that matters (one PutItem).
    pub async fn record_own_upload(
        &self,
        case_id: &CaseId,
        sir_file_name: &str,
        slack_file_id: &str,
        channel_id: &str,
    ) -> Result<(), StoreError> {
        let mut item = Self::key(case_pk(case_id), &own_upload_sk(sir_file_name));
        item.insert("slack_file_id".into(), s(slack_file_id));
        item.insert("channel_id".into(), s(channel_id));
        item.insert("recorded_at".into(), n(Utc::now().timestamp()));
        self.put_item(item).await
    }

    /// Writes `item` whatever is there (for items only one writer ever writes, or where the
    /// last write wins by design).
    pub(crate) async fn put_item(
        &self,
        item: HashMap<String, AttributeValue>,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("PutItem", e))?;
        Ok(())
    }

    /// An UpdateItem of the item at `key` in this table (the caller adds its expressions).
    pub(crate) fn update_request(&self, key: Item) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key))
    }

    /// A DeleteItem of the item at `key` in this table (the caller adds its condition).
    pub(crate) fn delete_request(&self, key: Item) -> DeleteItemFluentBuilder {
        self.client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(key))
    }

    /// Writes `item` unless an item with its key is already there (one conditional PutItem):
    /// `true` when it was written, `false` when one was there.
    pub(crate) async fn put_item_if_absent(&self, item: Item) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        condition_held("PutItem", result)
    }

    /// Which of `file_names` this integration uploaded to the case from Slack (recorded with
    /// [`Table::record_own_upload`]): one strongly consistent GetItem per name, so an upload
    /// recorded just before is seen.
    pub async fn own_uploads<'a>(
        &self,
        case_id: &CaseId,
        file_names: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashSet<String>, StoreError> {
        let mut own = HashSet::new();
        for name in file_names {
            if own.contains(name) {
                continue;
            }
            let out = self
                .client
                .get_item()
                .table_name(&self.name)
                .set_key(Some(Self::key(case_pk(case_id), &own_upload_sk(name))))
                .projection_expression("pk")
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| StoreError::dynamo("GetItem", e))?;
            if out.item.is_some() {
                own.insert(name.to_owned());
            }
        }
        Ok(own)
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
        self.put_item_if_absent(item).await
    }

    /// The key of a comment's `COMMENT#<commentId>` item.
    fn comment_key(case_id: &CaseId, comment_id: &str) -> Item {
        Self::key(case_pk(case_id), &format!("COMMENT#{comment_id}"))
    }

    /// IDs of every comment recorded for a case, whatever its origin.
    pub async fn known_comment_ids(&self, case_id: &CaseId) -> Result<HashSet<String>, StoreError> {
        self.child_ids(case_id, "COMMENT").await
    }

    /// Every comment recorded for a case, by ID, with its origin and published body hash
    /// (one paginated, strongly consistent Query, projected to those attributes).
    pub async fn known_comments(
        &self,
        case_id: &CaseId,
    ) -> Result<HashMap<String, KnownComment>, StoreError> {
        let items = self
            .children(case_id, "COMMENT", "sk, origin, body_sha256")
            .await?;
        Ok(items
            .into_iter()
            .map(|(id, item)| {
                let known = KnownComment {
                    origin: get_s(&item, "origin").and_then(SyncOrigin::parse),
                    body_sha256: get_s(&item, "body_sha256").map(str::to_owned),
                };
                (id, known)
            })
            .collect())
    }

    /// IDs of every attachment recorded for a case, whatever its origin.
    pub async fn known_attachment_ids(
        &self,
        case_id: &CaseId,
    ) -> Result<HashSet<String>, StoreError> {
        self.child_ids(case_id, "ATTACHMENT").await
    }

    async fn child_ids(&self, case_id: &CaseId, kind: &str) -> Result<HashSet<String>, StoreError> {
        let items = self.children(case_id, kind, "sk").await?;
        Ok(items.into_iter().map(|(id, _)| id).collect())
    }

    /// Every `<kind>#<id>` item of a case, as `(id, item)` projected to `projection` (one
    /// paginated, strongly consistent Query).
    async fn children(
        &self,
        case_id: &CaseId,
        kind: &str,
        projection: &str,
    ) -> Result<Vec<(String, Item)>, StoreError> {
        let prefix = format!("{kind}#");
        let mut children = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(case_pk(case_id)))
            .expression_attribute_values(":prefix", s(prefix.clone()))
            .projection_expression(projection)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(|e| StoreError::dynamo("Query", e))?;
            if let Some(id) = get_s(&item, SORT_KEY).and_then(|sk| sk.strip_prefix(&prefix)) {
                children.push((id.to_string(), item));
            }
        }
        Ok(children)
    }

    // ---- case <-> channel ----------------------------------------------------------

    /// Claims a case for channel creation. Exactly one caller gets `true`; the
    /// claim item also carries the Slack client's per-case apply cursor.
    pub async fn claim_case(&self, case_id: &CaseId) -> Result<bool, StoreError> {
        let mut item = Self::channel_key(case_id);
        item.insert("case_id".into(), s(case_id.to_string()));
        item.insert("applied_sequence".into(), n(0));
        item.insert("claimed_at".into(), n(Utc::now().timestamp()));
        self.put_item_if_absent(item).await
    }

    /// The channel link of a case, with what its channel shows, if the case was ever claimed
    /// (a strongly consistent read).
    pub async fn channel_link(&self, case_id: &CaseId) -> Result<Option<ChannelLink>, StoreError> {
        let out = self.read_item(Self::channel_key(case_id)).await?;
        Ok(out.map(|item| ChannelLink {
            case_id: case_id.clone(),
            channel_id: get_s(&item, "channel_id").map(str::to_string),
            channel_name: get_s(&item, "channel_name").map(str::to_string),
            applied_sequence: get_n(&item, "applied_sequence")
                .and_then(|v| u64::try_from(v).ok())
                .unwrap_or(0),
            shown: shown::shown_of(&item, case_id),
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
            .set_key(Some(Self::channel_key(case_id)))
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

    /// The open cases linked to any of `channel_ids` (a person's channels, from Slack's
    /// `users.conversations`): per channel its `CHANNEL#` link, per linked case its snapshot
    /// (GetItems by key, never a Scan). Channels of no case and closed cases are left out; a
    /// case the poller has not synced yet comes without title or status. In the order of
    /// `channel_ids`. The Home tab and the "Send to SIR case" picker list cases this way only,
    /// so a case never reaches a person who is not in its channel.
    pub async fn open_cases_in_channels(
        &self,
        channel_ids: &[String],
    ) -> Result<Vec<CaseInChannel>, StoreError> {
        let mut cases = Vec::new();
        for channel_id in channel_ids {
            let Some(case_id) = self.case_for_channel(channel_id).await? else {
                continue;
            };
            let snapshot = self.snapshot(&case_id).await?;
            let (title, status, updated_at) = match snapshot {
                Some(snapshot) => (
                    snapshot.case.map(|case| case.title),
                    snapshot.status,
                    snapshot.updated_at,
                ),
                None => (None, None, None),
            };
            if status.as_ref().is_some_and(CaseStatus::is_closed) {
                continue;
            }
            cases.push(CaseInChannel {
                case_id,
                channel_id: channel_id.clone(),
                title,
                status,
                updated_at,
            });
        }
        Ok(cases)
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
            .update_request(Self::channel_key(case_id))
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
        let mut item = Self::once_key(scope, key);
        item.insert(
            TTL_ATTRIBUTE.into(),
            n(now.saturating_add(ttl.num_seconds())),
        );
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

    /// Whether an unexpired marker `ONCE#<scope>#<key>` exists (written by
    /// [`Table::put_once`]; an expired one counts as absent, since TTL deletion is lazy). A
    /// strongly consistent read.
    pub async fn marker_present(&self, scope: &str, key: &str) -> Result<bool, StoreError> {
        let marker = self.read_item(Self::once_key(scope, key)).await?;
        let now = Utc::now().timestamp();
        Ok(marker
            .is_some_and(|item| get_n(&item, TTL_ATTRIBUTE).is_none_or(|expires| expires >= now)))
    }

    /// Removes a marker, so that work which failed after `put_once` can be retried.
    pub async fn forget_once(&self, scope: &str, key: &str) -> Result<(), StoreError> {
        self.delete_request(Self::once_key(scope, key))
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
        item.insert(
            TTL_ATTRIBUTE.into(),
            n(now.saturating_add(duration.num_seconds())),
        );
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
            .delete_request(Self::key(format!("LEASE#{name}"), "LEASE"))
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

/// A timestamp as text that reads back to the same instant, nanoseconds included, so that
/// snapshot and ListCases timestamps compare exactly.
fn exact_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

fn case_id_of(item: &Item) -> Result<CaseId, StoreError> {
    let pk = get_s(item, PARTITION_KEY).unwrap_or("?");
    pk.strip_prefix("CASE#")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| StoreError::Malformed {
            item: format!("{pk}/{SNAPSHOT_SK}"),
            reason: "the partition key is not CASE#<caseId>".into(),
        })
}

fn parse_summary(item: &Item) -> Result<SnapshotSummary, StoreError> {
    let case_id = case_id_of(item)?;
    let version = get_n(item, "version")
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| StoreError::Malformed {
            item: format!("{}/{SNAPSHOT_SK}", case_pk(&case_id)),
            reason: "no version".into(),
        })?;
    Ok(SnapshotSummary {
        case_id,
        version,
        status: get_s(item, "status").map(CaseStatus::from),
        updated_at: get_s(item, "updated_at").and_then(parse_time),
        attachments_checked_at: get_n(item, "attachments_checked_at")
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .unwrap_or(DateTime::UNIX_EPOCH),
        attachments_pending: item
            .get("attachments_pending")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        sync_pending: item.contains_key("pending_version"),
        nudge_after: get_n(item, "nudge_after").and_then(|secs| DateTime::from_timestamp(secs, 0)),
    })
}

fn parse_snapshot(item: &Item) -> Result<CaseSnapshot, StoreError> {
    let summary = parse_summary(item)?;
    let malformed = |reason: String| StoreError::Malformed {
        item: format!("{}/{SNAPSHOT_SK}", case_pk(&summary.case_id)),
        reason,
    };
    let parse_case = |raw: &str| -> Result<Case, StoreError> {
        serde_json::from_str(raw).map_err(|e| malformed(e.to_string()))
    };
    let case = get_s(item, "case").map(parse_case).transpose()?;
    let pending = match get_n(item, "pending_version") {
        None => None,
        Some(version) => {
            let version = u64::try_from(version).map_err(|e| malformed(e.to_string()))?;
            let case = get_s(item, "pending_case")
                .ok_or_else(|| malformed("a pending plan without pending_case".into()))
                .and_then(parse_case)?;
            let events = item
                .get("pending_events")
                .and_then(|v| v.as_l().ok())
                .map(|list| {
                    list.iter()
                        .filter_map(|v| v.as_s().ok().cloned())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            // The planned events carry this as their `occurredAt`: it must read back exactly.
            let since = get_s(item, "pending_since")
                .and_then(parse_time)
                .ok_or_else(|| malformed("a pending plan without pending_since".into()))?;
            Some(PendingSync {
                version,
                case,
                events,
                since,
            })
        }
    };
    Ok(CaseSnapshot {
        case_id: summary.case_id,
        version: summary.version,
        status: summary.status,
        updated_at: summary.updated_at,
        case,
        attachments_checked_at: summary.attachments_checked_at,
        attachments_pending: summary.attachments_pending,
        pending,
        nudge_after: summary.nudge_after,
    })
}
