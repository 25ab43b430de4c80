//! The local AWS world for sirslack's tests and local run: real AWS SDK clients talking to a
//! pinned moto server (`moto[server]==5.2.5`, installed into `.venv` by
//! `scripts/setup-local-world`).
//!
//! - [`MotoServer`] starts `moto_server` on a free 127.0.0.1 port and stops it on drop;
//!   [`MotoServer::shared`] gives every test in a process the same server.
//! - [`LocalAws`] / [`sdk_config`] build SDK clients with static test credentials.
//! - [`create_table`] and the `TABLE_*` constants define sirslack's one DynamoDB table.
//! - [`create_bus`], [`create_queue`], [`create_rule_to_queue`], [`receive_until`] and friends
//!   wire EventBridge to SQS; [`put_parameter`] / [`get_parameter`] cover SSM.
//!
//! # Where moto 5.2.5 differs from AWS
//!
//! Each point but the last is checked by `tests/local_aws.rs`; re-check them when the pin changes.
//!
//! - **EventBridge delivery is synchronous.** A matching event is already in the target queue when
//!   PutEvents returns (AWS delivers asynchronously, usually within a second). Tests still
//!   long-poll, so they also hold against AWS.
//! - **PutEvents to a bus that does not exist** fails the whole call with
//!   `ResourceNotFoundException`. AWS answers success (`FailedEntryCount` 0, an event ID) and
//!   drops the event. Code must not rely on either to detect a missing bus.
//! - **Per-entry failures match AWS in shape**: an entry without `DetailType` or `Source` gets
//!   `ErrorCode` `InvalidArgument`, non-JSON `Detail` gets `MalformedDetail`, the other entries
//!   still succeed and `FailedEntryCount` counts the failures.
//! - **The event envelope has no `account` field** (it has `version`, `id`, `detail-type`,
//!   `source`, `time`, `region`, `resources`, `detail`). AWS always sends `account`.
//! - **FIFO targets**: moto requires `SqsParameters.MessageGroupId` (ValidationException without,
//!   as AWS does) and sets it on the message. On a FIFO queue *without* content-based
//!   deduplication the delivery is silently dropped (`FailedEntryCount` 0); AWS requires
//!   content-based deduplication on FIFO targets, so always enable it.
//! - **Queue policies are not enforced**: a rule delivers to a queue with no policy. On AWS the
//!   queue policy must allow `events.amazonaws.com` to `sqs:SendMessage`.
//! - **SSM SecureString** read without decryption returns `kms:alias/aws/ssm:<plaintext>`, not
//!   ciphertext; with decryption it returns the plaintext. No KMS key needs to exist.
//! - **DynamoDB TTL** is stored and reported (`DescribeTimeToLive` says `ENABLED`) but expired
//!   items are never deleted. AWS deletes them eventually (typically within days), so on both,
//!   readers must filter on `expires_at` themselves.
//! - **DynamoDB conditional writes** fail with `ConditionalCheckFailedException` as on AWS,
//!   including the old item when `ReturnValuesOnConditionCheckFailure` is `ALL_OLD`.
//! - **SQS redrive** matches AWS: after `maxReceiveCount` receives, the next receive attempt moves
//!   the message to the dead-letter queue. Its `ApproximateReceiveCount` carries over: the first
//!   receive from the dead-letter queue reports `maxReceiveCount + 1`.
//! - **Tables are ACTIVE at once**, and any credentials are accepted; the account is always
//!   `123456789012` ([`MOTO_ACCOUNT_ID`]).

mod config;
mod error;
mod messaging;
mod moto;
mod parameters;
mod table;

use std::sync::atomic::{AtomicU64, Ordering};

pub use config::{LOCAL_REGION, LocalAws, MOTO_ACCOUNT_ID, local_credentials, sdk_config};
pub use error::LocalAwsError;
pub use messaging::{
    DEFAULT_EVENT_BUS, DeadLetterTarget, Queue, QueueKind, ReceivedMessage, create_bus,
    create_queue, create_rule_to_queue, delete_message, put_event, receive_and_release,
    receive_count, receive_until, visible_message_count,
};
pub use moto::{MotoServer, STARTUP_TIMEOUT, VENV_ENV_VAR, default_venv_dir, workspace_root};
pub use parameters::{Decryption, OnExisting, ParameterKind, get_parameter, put_parameter};
pub use table::{
    TABLE_ACTIVE_TIMEOUT, TABLE_BILLING_MODE, TABLE_PARTITION_KEY, TABLE_SORT_KEY,
    TABLE_TTL_ATTRIBUTE, create_table,
};

/// A resource name unique within this process and across concurrent test processes:
/// `{prefix}-{pid}-{n}`. Safe for table, bus, rule, queue and parameter names (append `.fifo`
/// for a FIFO queue) as long as `prefix` is.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
