//! Leased claims: idempotency markers that remember whether the work they guard was finished.
//!
//! A plain marker (`put_once`) cannot tell "done" from "the process that wrote it died": a
//! crash after the marker and before the work would make every redelivery look like a
//! duplicate, and the work would be lost. A claim starts as `claimed` with a lease; the
//! worker marks it `done` when the work is finished (or handed on). A redelivery finding a
//! `claimed` marker whose lease ran out takes it over; one finding it `done` is a duplicate.
//!
//! Every claim carries its owner's token, and completing or releasing it is conditional on
//! that token: a worker whose lease ran out and whose claim was taken over can neither mark
//! the new owner's work done nor delete its claim.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;

use aws_sdk_dynamodb::types::ReturnValue;

use crate::{
    StoreError, TTL_ATTRIBUTE, Table, condition_held, get_n, get_s, is_conditional_failure, n, s,
};

const STATE: &str = "claim_state";
const LEASE_UNTIL_MS: &str = "lease_until_ms";
const CLAIMED: &str = "claimed";
const DONE: &str = "done";
const OWNER: &str = "claim_owner";
const PROGRESS: &str = "claim_progress";

/// What a claim found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The caller owns the work now (no marker, an expired one, or a stale claim taken over).
    Claimed,
    /// The work was finished: a duplicate.
    Done,
    /// Someone else claimed the work and their lease has not run out: they may be at it.
    Held,
}

/// What a resumable claim found ([`Table::claim_resumable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resumable {
    /// The caller owns the work now; `progress` is what an earlier owner whose lease ran out
    /// recorded ([`Table::record_claim_progress`]), `None` when there was no earlier owner or
    /// it recorded nothing.
    Claimed {
        /// The earlier owner's last progress.
        progress: Option<String>,
    },
    /// The work was finished: a duplicate.
    Done,
    /// Someone else claimed the work and their lease has not run out.
    Held,
}

/// When `owner` may give up or move on its claim: it still holds it and it is not done.
const STILL_CLAIMED: &str = "#owner = :owner AND #state = :claimed";

/// When a claim may be taken: no marker, an expired one, or a stale claim (its lease ran out).
/// A marker without a state was written by `put_once` (or an older release): done.
const CLAIMABLE: &str =
    "attribute_not_exists(pk) OR #ttl < :now OR (#state = :claimed AND #lease < :now_ms)";

impl Table {
    /// Claims `key` in `scope` for `owner` (a token unique to the claiming worker) for
    /// `lease`; the marker lives `ttl` (longer than any redelivery).
    pub async fn claim_leased(
        &self,
        scope: &str,
        key: &str,
        owner: &str,
        lease: chrono::Duration,
        ttl: chrono::Duration,
    ) -> Result<Claim, StoreError> {
        let now = Utc::now();
        let now_ms = now.timestamp_millis();
        let mut item = Self::once_key(scope, key);
        item.insert(
            TTL_ATTRIBUTE.into(),
            n(now.timestamp().saturating_add(ttl.num_seconds())),
        );
        item.insert(STATE.into(), s(CLAIMED));
        item.insert(
            LEASE_UNTIL_MS.into(),
            n(now_ms.saturating_add(lease.num_milliseconds())),
        );
        item.insert(OWNER.into(), s(owner));
        let put = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression(CLAIMABLE)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#state", STATE)
            .expression_attribute_names("#lease", LEASE_UNTIL_MS)
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":now_ms", n(now_ms))
            .expression_attribute_values(":claimed", s(CLAIMED))
            .send()
            .await;
        match put {
            Ok(_) => return Ok(Claim::Claimed),
            Err(e) if is_conditional_failure(&e) => {}
            Err(e) => return Err(StoreError::dynamo("PutItem", e)),
        }
        // Only duplicates pay for this read.
        self.held_or_done(scope, key).await
    }

    /// What a claim that could not be taken found: [`Claim::Held`] or [`Claim::Done`].
    async fn held_or_done(&self, scope: &str, key: &str) -> Result<Claim, StoreError> {
        let found = self.read_item(Self::once_key(scope, key)).await?;
        // A claim seen here is held: live, or gone stale between the two calls (the next
        // redelivery takes it over). A marker deleted in between was released: not done.
        Ok(match found {
            Some(item) if get_s(&item, STATE) == Some(CLAIMED) => Claim::Held,
            Some(_) => Claim::Done,
            None => Claim::Held,
        })
    }

    /// Whether the claim of `key` in `scope` is marked done and not expired (a strongly
    /// consistent GetItem): the work it guarded was finished. A claim still held, released,
    /// expired or never made is not.
    pub async fn claim_is_done(&self, scope: &str, key: &str) -> Result<bool, StoreError> {
        let found = self.read_item(Self::once_key(scope, key)).await?;
        Ok(found.is_some_and(|item| {
            get_s(&item, STATE) == Some(DONE)
                && get_n(&item, TTL_ATTRIBUTE).is_none_or(|ttl| ttl >= Utc::now().timestamp())
        }))
    }

    /// Marks `owner`'s claim done: every later claim of `key` is a duplicate until `ttl` runs
    /// out. `false`: the claim is not `owner`'s any more (its lease ran out and another worker
    /// took it over, or it was released): nothing was changed.
    pub async fn complete_claim(
        &self,
        scope: &str,
        key: &str,
        owner: &str,
        ttl: chrono::Duration,
    ) -> Result<bool, StoreError> {
        let expires = Utc::now().timestamp().saturating_add(ttl.num_seconds());
        self.update_owned_claim(scope, key, owner, "#owner = :owner", |update| {
            update
                .update_expression("SET #state = :done, #ttl = :expires REMOVE #lease")
                .expression_attribute_names("#state", STATE)
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .expression_attribute_names("#lease", LEASE_UNTIL_MS)
                .expression_attribute_values(":done", AttributeValue::S(DONE.into()))
                .expression_attribute_values(":expires", n(expires))
        })
        .await
    }

    /// Deletes `owner`'s claim (still `claimed`), so that a redelivery does the work again.
    /// `false`: the claim is not `owner`'s (taken over, or already gone) or is done: nothing
    /// was deleted.
    pub async fn release_claim(
        &self,
        scope: &str,
        key: &str,
        owner: &str,
    ) -> Result<bool, StoreError> {
        condition_held(
            "DeleteItem",
            self.delete_request(Self::once_key(scope, key))
                .condition_expression(STILL_CLAIMED)
                .expression_attribute_names("#owner", OWNER)
                .expression_attribute_names("#state", STATE)
                .expression_attribute_values(":owner", s(owner))
                .expression_attribute_values(":claimed", s(CLAIMED))
                .send()
                .await,
        )
    }

    /// Like [`Table::claim_leased`], for work done in steps that must each happen once: a
    /// stale claim taken over keeps the progress its dead owner recorded, and the new owner
    /// resumes from there.
    pub async fn claim_resumable(
        &self,
        scope: &str,
        key: &str,
        owner: &str,
        lease: chrono::Duration,
        ttl: chrono::Duration,
    ) -> Result<Resumable, StoreError> {
        let now = Utc::now();
        let now_ms = now.timestamp_millis();
        let update = self
            .update_request(Self::once_key(scope, key))
            .update_expression(
                "SET #state = :claimed, #lease = :lease, #owner = :owner, #ttl = :expires",
            )
            .condition_expression(CLAIMABLE)
            .expression_attribute_names("#state", STATE)
            .expression_attribute_names("#lease", LEASE_UNTIL_MS)
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":claimed", s(CLAIMED))
            .expression_attribute_values(
                ":lease",
                n(now_ms.saturating_add(lease.num_milliseconds())),
            )
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(
                ":expires",
                n(now.timestamp().saturating_add(ttl.num_seconds())),
            )
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":now_ms", n(now_ms))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match update {
            Ok(output) => {
                // An expired marker of long ago says nothing about this work.
                let progress = output
                    .attributes
                    .filter(|old| {
                        get_n(old, TTL_ATTRIBUTE).is_none_or(|ttl| ttl >= now.timestamp())
                    })
                    .and_then(|old| get_s(&old, PROGRESS).map(str::to_owned));
                return Ok(Resumable::Claimed { progress });
            }
            Err(e) if is_conditional_failure(&e) => {}
            Err(e) => return Err(StoreError::dynamo("UpdateItem", e)),
        }
        Ok(match self.held_or_done(scope, key).await? {
            Claim::Done => Resumable::Done,
            _ => Resumable::Held,
        })
    }

    /// Records how far `owner`'s claim got (`progress` is opaque to the store) and extends its
    /// lease by `lease` from now. `false`: the claim is not `owner`'s any more: nothing was
    /// changed, and the caller must stop.
    pub async fn record_claim_progress(
        &self,
        scope: &str,
        key: &str,
        owner: &str,
        progress: &str,
        lease: chrono::Duration,
    ) -> Result<bool, StoreError> {
        let lease_until = Utc::now()
            .timestamp_millis()
            .saturating_add(lease.num_milliseconds());
        self.update_owned_claim(scope, key, owner, STILL_CLAIMED, |update| {
            update
                .update_expression("SET #progress = :progress, #lease = :lease")
                .expression_attribute_names("#progress", PROGRESS)
                .expression_attribute_names("#lease", LEASE_UNTIL_MS)
                .expression_attribute_names("#state", STATE)
                .expression_attribute_values(":progress", s(progress))
                .expression_attribute_values(":lease", n(lease_until))
                .expression_attribute_values(":claimed", s(CLAIMED))
        })
        .await
    }

    /// Updates `owner`'s claim of `key` in `scope` as `change` says, on `condition` (which
    /// names the claim's owner as `#owner = :owner`, both bound here). `false`: the condition
    /// did not hold and nothing was changed.
    async fn update_owned_claim(
        &self,
        scope: &str,
        key: &str,
        owner: &str,
        condition: &str,
        change: impl FnOnce(UpdateItemFluentBuilder) -> UpdateItemFluentBuilder,
    ) -> Result<bool, StoreError> {
        let update = self
            .update_request(Self::once_key(scope, key))
            .condition_expression(condition)
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_values(":owner", s(owner));
        condition_held("UpdateItem", change(update).send().await)
    }
}
