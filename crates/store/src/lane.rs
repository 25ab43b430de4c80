//! Ordering lanes: one per Slack channel, so what people say reaches SIR in the order they
//! said it even when one copy is slow.
//!
//! A lane is an item (`LANE#<lane>` / `LANE`) with an owner, a lease and a count of waiting
//! jobs; waiting jobs are items in the same partition (`LANE#<lane>` / `JOB#<order>`), read
//! back in sort-key order. Whoever writes to SIR for the channel owns the lane:
//!
//! - the ack path takes it only when it is idle (no owner, nothing waiting), writes inline,
//!   and gives it back;
//! - otherwise the job is queued and a drainer takes the lane and writes every waiting job in
//!   order. A drainer gives the lane back only when nothing is counted as waiting (checked
//!   in the same conditional write), so a queued job is never left behind an idle lane.
//!
//! No transactions: a job is counted before it is written and uncounted after it is
//! removed, so a crash between the two writes can only leave the count too high (the lane
//! keeps draining, in order, until a drainer finds nothing behind the count and clears it).
//!
//! Lanes with waiting jobs are registered in one partition (`LANES` / `LANE#<lane>`, with a
//! token rewritten on every queued job) so that a scheduled sweep finds a lane whose drainer
//! died without a Scan: the registration is written after the job is counted, and the sweep
//! forgets a lane only when it is idle and the token is still the one it read first (a job
//! queued meanwhile rewrote it), so a lane with a waiting job is never forgotten.
//!
//! Plain conditional writes to one item never fail on contention, cost one write unit each
//! (a transaction costs two per item), and keep moto fast: its TransactWriteItems copies the
//! whole table first, about 0.1 ms per item stored.

use chrono::{DateTime, Utc};

use crate::{
    Item, StoreError, TTL_ATTRIBUTE, Table, condition_held, get_n, get_s, is_conditional_failure,
    n, s,
};

const LANE_SK: &str = "LANE";
const JOB_PREFIX: &str = "JOB#";
const OWNER: &str = "lane_owner";
const LEASE_UNTIL_MS: &str = "lane_lease_until_ms";
const WAITING: &str = "waiting";
const ROLE: &str = "lane_role";
const BODY: &str = "job";
const QUEUED_AT_MS: &str = "queued_at_ms";
const REGISTRY_PK: &str = "LANES";
const REGISTRY_TOKEN: &str = "registration";

fn lane_pk(lane: &str) -> String {
    format!("LANE#{lane}")
}

/// A job waiting in a lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneJob {
    /// Its place in the lane (sort order).
    pub order: String,
    /// What the job is, as its writer serialised it.
    pub body: String,
    /// When it was queued (`None` for a job queued by an older release).
    pub queued_at: Option<DateTime<Utc>>,
}

/// A lane registered as having (had) waiting jobs, as [`Table::registered_lanes`] read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneRegistration {
    /// The lane.
    pub lane: String,
    /// The registration's token: [`Table::forget_lane`] removes it only if it is unchanged.
    pub token: String,
}

/// A lane as [`Table::lane_state`] read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaneState {
    /// A drainer holds the lane under a live lease.
    pub draining: bool,
    /// Jobs counted as waiting.
    pub waiting: i64,
    /// Someone (a drainer or an inline writer) holds the lane under a live lease.
    pub held: bool,
}

/// How a lane is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneTake {
    /// Only if nobody owns it and nothing waits (the ack path's inline write).
    IfIdle,
    /// If nobody owns it, the owner's lease ran out, or the caller already owns it (a drainer).
    ToDrain,
}

impl LaneTake {
    fn role(self) -> &'static str {
        match self {
            Self::IfIdle => "inline",
            Self::ToDrain => "drain",
        }
    }
}

impl Table {
    /// Takes `lane` for `owner` for `lease`. `false`: someone else has it (or, for
    /// [`LaneTake::IfIdle`], jobs are waiting).
    pub async fn take_lane(
        &self,
        lane: &str,
        owner: &str,
        how: LaneTake,
        lease: chrono::Duration,
    ) -> Result<bool, StoreError> {
        let now_ms = Utc::now().timestamp_millis();
        let condition = match how {
            LaneTake::IfIdle => {
                "(attribute_not_exists(#owner) OR #lease < :now_ms) \
                 AND (attribute_not_exists(#waiting) OR #waiting <= :zero)"
            }
            LaneTake::ToDrain => {
                "attribute_not_exists(#owner) OR #lease < :now_ms OR #owner = :owner"
            }
        };
        let mut update = self
            .update_request(Self::key(lane_pk(lane), LANE_SK))
            .update_expression("SET #owner = :owner, #lease = :until, #role = :role")
            .condition_expression(condition)
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_names("#role", ROLE)
            .expression_attribute_values(":role", s(how.role()))
            .expression_attribute_names("#lease", LEASE_UNTIL_MS)
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(
                ":until",
                n(now_ms.saturating_add(lease.num_milliseconds())),
            )
            .expression_attribute_values(":now_ms", n(now_ms));
        if how == LaneTake::IfIdle {
            update = update
                .expression_attribute_names("#waiting", WAITING)
                .expression_attribute_values(":zero", n(0));
        }
        condition_held("UpdateItem", update.send().await)
    }

    /// Gives `lane` back after an inline write. `false`: it was no longer `owner`'s (the lease
    /// ran out and someone took it); nothing to do then.
    pub async fn give_back_lane(&self, lane: &str, owner: &str) -> Result<bool, StoreError> {
        self.release_lane(lane, owner, false).await
    }

    /// Gives `lane` back after draining it, if nothing is counted as waiting (a job queued
    /// since the drainer last looked is counted before it is written, so it keeps the lane
    /// draining). `false`: keep draining.
    pub async fn finish_draining_lane(&self, lane: &str, owner: &str) -> Result<bool, StoreError> {
        self.release_lane(lane, owner, true).await
    }

    async fn release_lane(
        &self,
        lane: &str,
        owner: &str,
        only_if_nothing_waits: bool,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .update_request(Self::key(lane_pk(lane), LANE_SK))
            .update_expression("REMOVE #owner, #lease")
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_names("#lease", LEASE_UNTIL_MS)
            .expression_attribute_values(":owner", s(owner));
        update = if only_if_nothing_waits {
            update
                .condition_expression(
                    "#owner = :owner AND (attribute_not_exists(#waiting) OR #waiting <= :zero)",
                )
                .expression_attribute_names("#waiting", WAITING)
                .expression_attribute_values(":zero", n(0))
        } else {
            update.condition_expression("#owner = :owner")
        };
        condition_held("UpdateItem", update.send().await)
    }

    /// Uncounts `counted` jobs that never arrived (a writer that crashed between counting a
    /// job and writing it, or between removing one and uncounting it), if the count is still
    /// `counted` and `owner` still drains the lane. `false`: the count moved; look again.
    pub async fn uncount_lost_lane_jobs(
        &self,
        lane: &str,
        owner: &str,
        counted: i64,
    ) -> Result<bool, StoreError> {
        condition_held(
            "UpdateItem",
            self.update_request(Self::key(lane_pk(lane), LANE_SK))
                .update_expression("SET #waiting = :zero")
                .condition_expression("#owner = :owner AND #waiting = :counted")
                .expression_attribute_names("#owner", OWNER)
                .expression_attribute_names("#waiting", WAITING)
                .expression_attribute_values(":owner", s(owner))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":counted", n(counted))
                .send()
                .await,
        )
    }

    /// The lane as it stands: whether a drainer holds it under a live lease (it writes every
    /// job queued before it gives the lane back, so another drain need not wait for it), and
    /// how many jobs it counts as waiting (0 for a lane never used). One consistent read.
    pub async fn lane_state(&self, lane: &str) -> Result<LaneState, StoreError> {
        let out = self.read_item(Self::key(lane_pk(lane), LANE_SK)).await?;
        let now_ms = Utc::now().timestamp_millis();
        Ok(out.map_or(LaneState::default(), |item| {
            let held = get_s(&item, OWNER).is_some()
                && get_n(&item, LEASE_UNTIL_MS).is_some_and(|until| until >= now_ms);
            LaneState {
                draining: held && get_s(&item, ROLE) == Some(LaneTake::ToDrain.role()),
                waiting: get_n(&item, WAITING).unwrap_or(0),
                held,
            }
        }))
    }

    /// Queues a job in `lane` at `order`: counts it, registers the lane for the sweep, then
    /// writes it, so the lane is never idle (nor unregistered) while the job waits. Queuing the
    /// same job twice (a redelivery) keeps one copy, counted once. A failure between the writes
    /// leaves the count one too high, which keeps the lane draining (in order, never inline)
    /// until a drainer uncounts it.
    pub async fn queue_lane_job(
        &self,
        lane: &str,
        order: &str,
        body: &str,
        ttl: chrono::Duration,
    ) -> Result<(), StoreError> {
        self.count_lane_job(lane).await?;
        self.register_lane(lane).await?;
        let now = Utc::now();
        let mut item = Self::key(lane_pk(lane), &format!("{JOB_PREFIX}{order}"));
        item.insert(BODY.into(), s(body));
        item.insert(QUEUED_AT_MS.into(), n(now.timestamp_millis()));
        item.insert(
            TTL_ATTRIBUTE.into(),
            n(now.timestamp().saturating_add(ttl.num_seconds())),
        );
        if self.put_item_if_absent(item).await? {
            Ok(())
        } else {
            // Queued before (a redelivery): one copy, counted once.
            self.uncount_lane_job(lane).await
        }
    }

    /// Registers `lane` for the sweep, with a fresh token (see [`Table::forget_lane`]).
    async fn register_lane(&self, lane: &str) -> Result<(), StoreError> {
        let mut item = Self::key(REGISTRY_PK.to_owned(), &lane_pk(lane));
        item.insert(REGISTRY_TOKEN.into(), s(uuid::Uuid::new_v4().to_string()));
        self.put_item(item).await
    }

    /// Every lane registered as having had waiting jobs (one Query on one partition, paged).
    pub async fn registered_lanes(&self) -> Result<Vec<LaneRegistration>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.name)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(REGISTRY_PK))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::dynamo("Query", e))?;
            found.extend(out.items().iter().filter_map(|item| {
                Some(LaneRegistration {
                    lane: get_s(item, "sk")?.strip_prefix("LANE#")?.to_owned(),
                    token: get_s(item, REGISTRY_TOKEN)?.to_owned(),
                })
            }));
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }

    /// Forgets a registered lane the sweep found idle with nothing waiting, if its token is
    /// still `registration.token` (read before the lane's state was). `false`: a job was
    /// queued since; the lane stays registered.
    pub async fn forget_lane(&self, registration: &LaneRegistration) -> Result<bool, StoreError> {
        condition_held(
            "DeleteItem",
            self.delete_request(Self::key(
                REGISTRY_PK.to_owned(),
                &lane_pk(&registration.lane),
            ))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", REGISTRY_TOKEN)
            .expression_attribute_values(":token", s(&registration.token))
            .send()
            .await,
        )
    }

    async fn count_lane_job(&self, lane: &str) -> Result<(), StoreError> {
        self.update_request(Self::key(lane_pk(lane), LANE_SK))
            .update_expression("ADD #waiting :one")
            .expression_attribute_names("#waiting", WAITING)
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?;
        Ok(())
    }

    /// Never below zero: a count that went negative would let a lane look idle while a job
    /// waits.
    async fn uncount_lane_job(&self, lane: &str) -> Result<(), StoreError> {
        condition_held(
            "UpdateItem",
            self.update_request(Self::key(lane_pk(lane), LANE_SK))
                .update_expression("ADD #waiting :minus_one")
                .condition_expression("#waiting > :zero")
                .expression_attribute_names("#waiting", WAITING)
                .expression_attribute_values(":minus_one", n(-1))
                .expression_attribute_values(":zero", n(0))
                .send()
                .await,
        )
        .map(|_| ())
    }

    /// The first `limit` waiting jobs of `lane`, in order.
    pub async fn lane_jobs(&self, lane: &str, limit: i32) -> Result<Vec<LaneJob>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(lane_pk(lane)))
            .expression_attribute_values(":prefix", s(JOB_PREFIX))
            .consistent_read(true)
            .limit(limit)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("Query", e))?;
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(lane_job)
            .collect())
    }

    /// Removes a job written to SIR (or given up on), then uncounts it. A job already removed
    /// (by another drainer) is left alone. A failure between the two writes leaves the count
    /// one too high (see [`Table::queue_lane_job`]).
    pub async fn finish_lane_job(&self, lane: &str, order: &str) -> Result<(), StoreError> {
        match self
            .delete_request(Self::key(lane_pk(lane), &format!("{JOB_PREFIX}{order}")))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
        {
            Ok(_) => self.uncount_lane_job(lane).await,
            Err(e) if is_conditional_failure(&e) => Ok(()),
            Err(e) => Err(StoreError::dynamo("DeleteItem", e)),
        }
    }
}

fn lane_job(item: &Item) -> Option<LaneJob> {
    let order = get_s(item, "sk")?.strip_prefix(JOB_PREFIX)?.to_owned();
    let body = get_s(item, BODY)?.to_owned();
    let queued_at = get_n(item, QUEUED_AT_MS).and_then(DateTime::from_timestamp_millis);
    Some(LaneJob {
        order,
        body,
        queued_at,
    })
}
