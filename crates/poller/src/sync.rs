//! Syncing one case: SIR state -> integration events -> bus -> snapshot.
//!
//! # Order of writes
//!
//! 1. Take the case's lease (`LEASE#sync#<caseId>`), so a native event and the schedule do not
//!    sync the same case at once. A busy case is skipped: whoever holds it is syncing it.
//! 2. Read the snapshot. If a previous run planned events and did not confirm them, publish
//!    exactly those again first (step 5 onwards).
//! 3. Read SIR: GetCase, then (unless only attachments are rechecked) every page of
//!    ListComments; merge the IR team into the watchers.
//! 4. Compare with the snapshot and **plan** the events: write the plan into the snapshot item
//!    (the target case and one short descriptor per event) with a conditional write on the
//!    snapshot version. Only one poller can plan a given version, so overlapping runs cannot
//!    both announce a case.
//! 5. Publish the events (every failed entry retried; any left failing fails the sync).
//! 6. Record each published comment (`origin sir`, with the hash of the body published) and
//!    attachment.
//! 7. Advance the snapshot to the planned version and drop the plan (conditional on both).
//!
//! A quiet-case nudge (`SyncKind::Nudge`, chosen by the reconcile) takes the same lease and
//! plans one `CaseQuiet` event the same way, from the snapshot alone (no SIR call): the plan
//! also sets the snapshot's `nudge_after` to now plus the threshold, so only one run can plan
//! the nudge of an interval (the conditional write on the version), and a retry re-publishes
//! that same event. A case whose snapshot moved since the listing was read is not nudged.
//!
//! A crash anywhere after step 4 leaves the plan in place; the next sync rebuilds the very
//! same events (same sequence numbers, same payloads, same `occurredAt`) from the stored plan
//! and publishes them again. Consumers deduplicate on `idempotencyKey` or on `sequence`; both
//! are stable because sequence numbers are assigned once, in the plan, and never recomputed
//! from a newer view of SIR.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use sirslack_bus::{Publish, PublishError};
use sirslack_domain::duration::to_chrono;
use sirslack_domain::events::diff_case;
use sirslack_domain::{Attachment, Case, CaseId, Comment, IntegrationEvent, Watcher};
use sirslack_store::{
    CaseSnapshot, KnownComment, PendingSync, SnapshotCondition, StoreError, SyncOrigin, Table,
};

use crate::sir::{SirError, SirReader};

/// Most events planned (and published) in one round; a case with more new comments is synced
/// in several rounds, so that a plan always fits comfortably in its DynamoDB item.
pub const MAX_EVENTS_PER_ROUND: usize = 100;

/// Records written at once after a publish.
const RECORD_CONCURRENCY: usize = 8;

/// One planned event, stored in the snapshot item as a short string until it is confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Planned {
    /// `CaseCreated` with the planned case.
    Created,
    /// `CaseUpdated` with the field changes from the stored case to the planned one.
    Updated,
    /// `WatchersChanged` between the stored case and the planned one.
    Watchers,
    /// `CommentAdded` for this comment.
    Comment(String),
    /// `CommentEdited` for this comment (published before, its body changed since).
    Edited(String),
    /// `AttachmentAdded` for this attachment of the planned case.
    Attachment(String),
    /// `CaseClosed` with the planned case's closure details.
    Closed,
    /// `CaseQuiet`: the case was quiet since `quiet_since` (epoch seconds); no nudge before
    /// `next` (epoch seconds).
    Quiet { quiet_since: i64, next: i64 },
}

impl Planned {
    fn encode(&self) -> String {
        match self {
            Self::Created => "created".into(),
            Self::Updated => "updated".into(),
            Self::Watchers => "watchers".into(),
            Self::Comment(id) => format!("comment:{id}"),
            Self::Edited(id) => format!("edited:{id}"),
            Self::Attachment(id) => format!("attachment:{id}"),
            Self::Closed => "closed".into(),
            Self::Quiet { quiet_since, next } => format!("quiet:{quiet_since}:{next}"),
        }
    }

    fn decode(raw: &str) -> Option<Self> {
        match raw {
            "created" => Some(Self::Created),
            "updated" => Some(Self::Updated),
            "watchers" => Some(Self::Watchers),
            "closed" => Some(Self::Closed),
            _ => {
                let (kind, id) = raw.split_once(':')?;
                match kind {
                    "comment" => Some(Self::Comment(id.to_owned())),
                    "edited" => Some(Self::Edited(id.to_owned())),
                    "attachment" => Some(Self::Attachment(id.to_owned())),
                    "quiet" => {
                        let (since, next) = id.split_once(':')?;
                        Some(Self::Quiet {
                            quiet_since: since.parse().ok()?,
                            next: next.parse().ok()?,
                        })
                    }
                    _ => None,
                }
            }
        }
    }
}

/// What a sync found among the comments SIR lists (those the integration wrote left out).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CommentChanges {
    /// Comments never published, oldest first.
    pub new: Vec<Comment>,
    /// Comments published before whose body is no longer the one published, oldest first.
    pub edited: Vec<Comment>,
}

impl CommentChanges {
    /// Every comment an event will be built from.
    fn into_all(self) -> Vec<Comment> {
        let mut all = self.new;
        all.extend(self.edited);
        all
    }
}

/// Sorts comments oldest first (ties by ID), as they are published.
fn oldest_first(comments: &mut [Comment]) {
    comments.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.id.as_str().cmp(b.id.as_str()))
    });
}

/// Splits the comments SIR lists into new ones, edited ones, and those published before
/// without a recorded body hash (`baseline`: their body now becomes the one to compare with).
/// Comments that carry the `[Slack Update]` marker or were recorded as written from Slack
/// are never announced, nor are their edits.
pub(crate) fn classify_comments(
    listed: Vec<Comment>,
    known: &HashMap<String, KnownComment>,
) -> (CommentChanges, Vec<Comment>) {
    let mut changes = CommentChanges::default();
    let mut baseline = Vec::new();
    let mut seen = HashSet::new();
    for comment in listed {
        if comment.is_from_integration() || !seen.insert(comment.id.clone()) {
            continue;
        }
        match known.get(comment.id.as_str()) {
            None => changes.new.push(comment),
            Some(record) if record.is_from_slack() => {}
            Some(KnownComment {
                body_sha256: None, ..
            }) => baseline.push(comment),
            Some(KnownComment {
                body_sha256: Some(published),
                ..
            }) => {
                if *published != comment.body_sha256() {
                    changes.edited.push(comment);
                }
            }
        }
    }
    oldest_first(&mut changes.new);
    oldest_first(&mut changes.edited);
    (changes, baseline)
}

/// The IR team of the active membership, as far as this invocation knows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Team {
    /// Read successfully.
    Known(Vec<Watcher>),
    /// Could not be read: nobody may be removed from a watcher list because of that.
    Unknown,
}

/// The watchers a case is synced with: SIR's own, plus the IR team (by lower-cased e-mail).
/// When the team is unknown, everyone on the last synced list stays, so that a failed
/// membership read never shows up as people leaving the case.
pub(crate) fn merge_watchers(
    sir: &[Watcher],
    team: &Team,
    previous: Option<&Case>,
) -> Vec<Watcher> {
    let mut merged: Vec<Watcher> = Vec::with_capacity(sir.len());
    let mut seen = HashSet::new();
    let extra: &[Watcher] = match team {
        Team::Known(team) => team,
        Team::Unknown => previous.map_or(&[], |case| case.watchers.as_slice()),
    };
    for watcher in sir.iter().chain(extra) {
        if seen.insert(watcher.email_key()) {
            merged.push(watcher.clone());
        }
    }
    merged
}

/// The events one sync publishes, in order, for the move from `previous` (the case as last
/// announced, `None` if it never was) to `current`.
///
/// A case never announced gets `CaseCreated`, then its comments and verified attachments. An
/// announced case gets `CaseUpdated` (every changed field in one event), `WatchersChanged`,
/// its new comments, the edits of comments published before (`comments.edited`), its newly
/// verified attachments, and `CaseClosed` last. Attachments in `recorded_attachments` (already
/// published, or uploaded from Slack) are left out.
pub(crate) fn plan_events(
    previous: Option<&Case>,
    current: &Case,
    comments: &CommentChanges,
    recorded_attachments: &HashSet<String>,
) -> Vec<Planned> {
    let mut planned = Vec::new();
    let attachments: Vec<&str> = match previous {
        None => {
            planned.push(Planned::Created);
            current
                .attachments
                .iter()
                .filter(|attachment| attachment.is_verified())
                .map(|attachment| attachment.id.as_str())
                .collect()
        }
        Some(previous) => {
            let diff = diff_case(previous, current);
            if !diff.changes.is_empty() {
                planned.push(Planned::Updated);
            }
            if !diff.watchers_added.is_empty() || !diff.watchers_removed.is_empty() {
                planned.push(Planned::Watchers);
            }
            current
                .attachments
                .iter()
                .filter(|attachment| {
                    diff.new_attachments
                        .iter()
                        .any(|new| new.id == attachment.id)
                })
                .map(|attachment| attachment.id.as_str())
                .collect()
        }
    };
    planned.extend(
        comments
            .new
            .iter()
            .map(|comment| Planned::Comment(comment.id.to_string())),
    );
    planned.extend(
        comments
            .edited
            .iter()
            .map(|comment| Planned::Edited(comment.id.to_string())),
    );
    let mut seen = HashSet::new();
    planned.extend(
        attachments
            .into_iter()
            .filter(|id| !recorded_attachments.contains(*id) && seen.insert(*id))
            .map(|id| Planned::Attachment(id.to_owned())),
    );
    let closes = previous.is_some_and(|previous| !previous.is_closed()) && current.is_closed();
    if closes {
        planned.push(Planned::Closed);
    }
    planned
}

/// Attachments verified now that were not verified (or not listed) when the case was last
/// announced: the ones a sync may publish.
pub(crate) fn newly_verified_attachments<'a>(
    announced: Option<&Case>,
    current: &'a Case,
) -> Vec<&'a Attachment> {
    current
        .attachments
        .iter()
        .filter(|attachment| {
            attachment.is_verified()
                && announced.is_none_or(|previous| {
                    !previous
                        .attachments
                        .iter()
                        .any(|p| p.id == attachment.id && p.is_verified())
                })
        })
        .collect()
}

/// Builds the events of a plan. Pure, so a replay builds exactly what the first attempt built.
pub(crate) fn build_events(
    planned: &[Planned],
    first_sequence: u64,
    previous: Option<&Case>,
    current: &Case,
    comments: &HashMap<&str, &Comment>,
    occurred_at: DateTime<Utc>,
) -> Result<Vec<IntegrationEvent>, SyncError> {
    let case_id = &current.id;
    let diff = previous.map(|previous| diff_case(previous, current));
    // The comment a planned comment or edit names, as SIR still lists it.
    let listed_comment = |id: &str, what: &str| {
        comments
            .get(id)
            .map(|comment| (*comment).clone())
            .ok_or_else(|| {
                SyncError::Plan(format!("planned {what} {id} is no longer listed by SIR"))
            })
    };
    planned
        .iter()
        .zip(first_sequence..)
        .map(|(item, sequence)| {
            let event = match item {
                Planned::Created => {
                    IntegrationEvent::case_created(current.clone(), sequence, occurred_at)
                }
                Planned::Updated => IntegrationEvent::case_updated(
                    case_id.clone(),
                    sequence,
                    occurred_at,
                    diff.as_ref().map(|d| d.changes.clone()).unwrap_or_default(),
                ),
                Planned::Watchers => IntegrationEvent::watchers_changed(
                    case_id.clone(),
                    sequence,
                    occurred_at,
                    diff.as_ref()
                        .map(|d| d.watchers_added.clone())
                        .unwrap_or_default(),
                    diff.as_ref()
                        .map(|d| d.watchers_removed.clone())
                        .unwrap_or_default(),
                ),
                Planned::Comment(id) => IntegrationEvent::comment_added(
                    case_id.clone(),
                    sequence,
                    occurred_at,
                    listed_comment(id, "comment")?,
                ),
                Planned::Edited(id) => IntegrationEvent::comment_edited(
                    case_id.clone(),
                    sequence,
                    occurred_at,
                    listed_comment(id, "comment edit")?,
                ),
                Planned::Attachment(id) => {
                    let attachment = current
                        .attachments
                        .iter()
                        .find(|attachment| &attachment.id == id)
                        .ok_or_else(|| {
                            SyncError::Plan(format!("planned attachment {id} is not on the case"))
                        })?;
                    IntegrationEvent::attachment_added(
                        case_id.clone(),
                        sequence,
                        occurred_at,
                        attachment.clone(),
                    )
                }
                Planned::Closed => IntegrationEvent::case_closed(current, sequence, occurred_at),
                Planned::Quiet { quiet_since, next } => {
                    let time = |secs: i64| {
                        DateTime::from_timestamp(secs, 0).ok_or_else(|| {
                            SyncError::Plan(format!("planned nudge time {secs} is out of range"))
                        })
                    };
                    IntegrationEvent::case_quiet(
                        case_id.clone(),
                        sequence,
                        occurred_at,
                        time(*quiet_since)?,
                        current.status.clone(),
                        time(*next)?,
                    )
                }
            };
            Ok(event)
        })
        .collect()
}

/// Why one case did not sync. The case is retried on the next run.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Reading SIR failed (after the SDK's retries).
    #[error(transparent)]
    Sir(#[from] SirError),
    /// The table failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Publishing failed; the snapshot was not advanced.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// A stored plan cannot be carried out.
    #[error("cannot carry out the planned events: {0}")]
    Plan(String),
}

/// How a case sync ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    /// Nothing to publish (the snapshot may have been refreshed).
    Unchanged,
    /// Events were published and the snapshot advanced.
    Published,
    /// Stored without events: a case first seen closed, or a change to a closed case.
    StoredSilently,
    /// Another run holds the case; it will publish whatever changed.
    Busy,
}

/// The result of one case sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOutcome {
    /// How it ended.
    pub status: SyncStatus,
    /// Events published (those of a finished earlier plan included).
    pub events: usize,
}

/// How much of a case to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncKind {
    /// Everything: the case and all its comments.
    Full,
    /// The case only, to see whether attachments were verified; comments are read too if the
    /// case turns out to have changed.
    AttachmentsOnly,
    /// Nothing from SIR: the case has been quiet since `quiet_since` (its `lastUpdatedDate`
    /// in the listing) for longer than `interval`; publish one `CaseQuiet` and nudge again no
    /// sooner than `interval` from now.
    Nudge {
        quiet_since: DateTime<Utc>,
        interval: Duration,
    },
}

/// What a case sync works with; borrowed from the invocation.
pub(crate) struct SyncContext<'a, P> {
    pub sir: &'a SirReader,
    pub table: &'a Table,
    pub publisher: &'a P,
    /// Identifies this invocation in leases.
    pub owner: &'a str,
    pub lease: Duration,
    /// The sync floor (`PollerConfig::sync_floor`): a case never announced and last updated
    /// before it is stored without events, whatever woke the poller.
    pub floor: Option<chrono::DateTime<Utc>>,
}

impl<P: Publish> SyncContext<'_, P> {
    /// Syncs one case under its lease. `team` is asked at most once, and only if the case
    /// needs its watchers merged.
    pub async fn sync_case<F, Fut>(
        &self,
        case_id: &CaseId,
        kind: SyncKind,
        team: F,
    ) -> Result<SyncOutcome, SyncError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Team>,
    {
        let lease_name = format!("sync#{case_id}");
        let lease = to_chrono(self.lease);
        if !self
            .table
            .acquire_lease(&lease_name, self.owner, lease)
            .await?
        {
            tracing::info!(case_id = %case_id, "case is being synced by another run; skipped");
            return Ok(SyncOutcome {
                status: SyncStatus::Busy,
                events: 0,
            });
        }
        let result = match kind {
            SyncKind::Nudge {
                quiet_since,
                interval,
            } => self.nudge_locked(case_id, quiet_since, interval).await,
            _ => self.sync_locked(case_id, kind, team).await,
        };
        if let Err(error) = self.table.release_lease(&lease_name, self.owner).await {
            // The lease expires on its own; the sync result is what matters.
            tracing::warn!(case_id = %case_id, %error, "could not release the case lease");
        }
        result
    }

    async fn sync_locked<F, Fut>(
        &self,
        case_id: &CaseId,
        kind: SyncKind,
        team: F,
    ) -> Result<SyncOutcome, SyncError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Team>,
    {
        let mut snapshot = self.table.snapshot(case_id).await?;
        let mut events = 0;

        if let Some(stored) = snapshot.take_if(|s| s.pending.is_some()) {
            let needs_comments = stored.pending.as_ref().is_some_and(|pending| {
                pending.events.iter().any(|raw| {
                    matches!(
                        Planned::decode(raw),
                        Some(Planned::Comment(_) | Planned::Edited(_))
                    )
                })
            });
            let listed = if needs_comments {
                self.sir.list_comments(case_id).await?
            } else {
                Vec::new()
            };
            let (settled, published) = self.finish_pending(stored, &listed).await?;
            tracing::info!(case_id = %case_id, events = published, "re-published the events of an unfinished sync");
            events += published;
            snapshot = settled;
        }

        let mut current = self.sir.case(case_id).await?;
        let announced = snapshot
            .as_ref()
            .filter(|s| s.version > 0)
            .and_then(|s| s.case.as_ref());

        // Closed and never announced, or closed again: store without events (no channel
        // exists for an old closed case, and an announced one already got its CaseClosed).
        // Never announced and last updated before the sync floor: the same, until it changes.
        let before_floor = announced.is_none()
            && matches!((current.updated_at, self.floor), (Some(updated), Some(floor)) if updated < floor);
        if before_floor || (current.is_closed() && announced.is_none_or(Case::is_closed)) {
            if let Some(previous) = announced {
                current.watchers = previous.watchers.clone();
            }
            let status = self
                .store_silently(snapshot.as_ref(), current, kind)
                .await?;
            return Ok(SyncOutcome {
                status: if events > 0 {
                    SyncStatus::Published
                } else {
                    status
                },
                events,
            });
        }

        current.watchers = merge_watchers(&current.watchers, &team().await, announced);

        let case_changed = snapshot.as_ref().is_none_or(|s| {
            s.updated_at != current.updated_at || s.status.as_ref() != Some(&current.status)
        });
        let comments = if kind == SyncKind::Full || case_changed {
            // Listed after GetCase, never reused from before it: a comment added or edited in
            // between moves `lastUpdatedDate` past what is stored, so the next reconcile
            // catches it.
            let listed = self.sir.list_comments(case_id).await?;
            self.comment_changes(case_id, listed).await?
        } else {
            CommentChanges::default()
        };

        let candidates = newly_verified_attachments(announced, &current);
        let recorded_attachments = if candidates.is_empty() {
            HashSet::new()
        } else {
            self.recorded_attachments(case_id, &candidates).await?
        };

        let planned = plan_events(announced, &current, &comments, &recorded_attachments);
        if planned.is_empty() {
            let status = self
                .store_silently(snapshot.as_ref(), current, kind)
                .await?;
            return Ok(SyncOutcome {
                status: if events > 0 {
                    SyncStatus::Published
                } else if status == SyncStatus::StoredSilently {
                    SyncStatus::Unchanged
                } else {
                    status
                },
                events,
            });
        }

        let comments_by_id: Vec<Comment> = comments.into_all();
        let now = Utc::now();
        for round in planned.chunks(MAX_EVENTS_PER_ROUND) {
            let condition = SnapshotCondition::of(snapshot.as_ref());
            let mut planning = snapshot.clone().unwrap_or_else(|| CaseSnapshot {
                case_id: case_id.clone(),
                version: 0,
                status: None,
                updated_at: None,
                case: None,
                attachments_checked_at: DateTime::UNIX_EPOCH,
                attachments_pending: false,
                pending: None,
                nudge_after: None,
            });
            planning.pending = Some(PendingSync {
                version: planning.version + round.len() as u64,
                case: current.clone(),
                events: round.iter().map(Planned::encode).collect(),
                since: now,
            });
            match self.table.put_snapshot(&planning, condition).await {
                Ok(()) => {}
                Err(StoreError::Conflict { .. }) => {
                    tracing::info!(case_id = %case_id, "another run planned this case first; skipped");
                    return Ok(SyncOutcome {
                        status: if events > 0 {
                            SyncStatus::Published
                        } else {
                            SyncStatus::Busy
                        },
                        events,
                    });
                }
                Err(other) => return Err(other.into()),
            }
            let (settled, published) = self.finish_pending(planning, &comments_by_id).await?;
            events += published;
            snapshot = settled;
        }
        Ok(SyncOutcome {
            status: SyncStatus::Published,
            events,
        })
    }

    /// Plans and publishes one `CaseQuiet` for a case still quiet since `quiet_since`, from
    /// its snapshot alone. Anything that moved since the listing (a plan left unfinished, a
    /// new `lastUpdatedDate`, a snooze, a closed status) means no nudge this run.
    async fn nudge_locked(
        &self,
        case_id: &CaseId,
        quiet_since: DateTime<Utc>,
        interval: Duration,
    ) -> Result<SyncOutcome, SyncError> {
        let unchanged = SyncOutcome {
            status: SyncStatus::Unchanged,
            events: 0,
        };
        let Some(snapshot) = self.table.snapshot(case_id).await? else {
            return Ok(unchanged);
        };
        let now = Utc::now();
        let still_quiet = snapshot.pending.is_none()
            && snapshot.version > 0
            && snapshot.updated_at == Some(quiet_since)
            && snapshot.case.as_ref().is_some_and(|case| !case.is_closed())
            && snapshot.nudge_after.is_none_or(|after| now >= after);
        let Some(case) = snapshot.case.clone().filter(|_| still_quiet) else {
            tracing::info!(case_id = %case_id, "case moved since the listing; no nudge this run");
            return Ok(unchanged);
        };
        let next = now
            .checked_add_signed(to_chrono(interval))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let mut planning = snapshot.clone();
        planning.nudge_after = Some(next);
        planning.pending = Some(PendingSync {
            version: snapshot.version + 1,
            case,
            events: vec![
                Planned::Quiet {
                    quiet_since: quiet_since.timestamp(),
                    next: next.timestamp(),
                }
                .encode(),
            ],
            since: now,
        });
        match self
            .table
            .put_snapshot(&planning, SnapshotCondition::of(Some(&snapshot)))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => {
                tracing::info!(case_id = %case_id, "another run moved this case first; no nudge");
                return Ok(SyncOutcome {
                    status: SyncStatus::Busy,
                    events: 0,
                });
            }
            Err(other) => return Err(other.into()),
        }
        let (_, events) = self.finish_pending(planning, &[]).await?;
        tracing::info!(case_id = %case_id, quiet_since = %quiet_since, "quiet case nudged");
        Ok(SyncOutcome {
            status: SyncStatus::Published,
            events,
        })
    }

    /// The attachments of the case that must not be published: those recorded already
    /// (published, or recognised as uploaded from Slack), and, among `candidates`, the uploads
    /// this integration made from Slack, found by their name in the own-upload records the
    /// events handler writes before each upload. Those are recorded (`origin slack`) on the
    /// spot, so they are never looked up again. SIR lists an upload only once it is ready, so
    /// this is the moment the integration first sees its own file as an attachment, whenever
    /// that is.
    async fn recorded_attachments(
        &self,
        case_id: &CaseId,
        candidates: &[&Attachment],
    ) -> Result<HashSet<String>, SyncError> {
        let mut recorded = self.table.known_attachment_ids(case_id).await?;
        let unknown: Vec<&Attachment> = candidates
            .iter()
            .copied()
            .filter(|attachment| !recorded.contains(&attachment.id))
            .collect();
        if unknown.is_empty() {
            return Ok(recorded);
        }
        let own = self
            .table
            .own_uploads(
                case_id,
                unknown
                    .iter()
                    .map(|attachment| attachment.file_name.as_str()),
            )
            .await?;
        for attachment in unknown
            .into_iter()
            .filter(|attachment| own.contains(&attachment.file_name))
        {
            self.table
                .record_attachment(case_id, &attachment.id, SyncOrigin::Slack)
                .await?;
            tracing::info!(case_id = %case_id, attachment_id = %attachment.id, "attachment uploaded from Slack; not posted back");
            recorded.insert(attachment.id.clone());
        }
        Ok(recorded)
    }

    /// The new and edited comments among those SIR lists (see [`classify_comments`]). A
    /// comment published before bodies were recorded gets its current body recorded here, so
    /// that its next edit is seen (an edit made before that cannot be told apart).
    async fn comment_changes(
        &self,
        case_id: &CaseId,
        listed: Vec<Comment>,
    ) -> Result<CommentChanges, SyncError> {
        if listed.iter().all(Comment::is_from_integration) {
            return Ok(CommentChanges::default());
        }
        // Both origins count: `sir` was published by the poller, `slack` was written by us.
        let known = self.table.known_comments(case_id).await?;
        let (changes, baseline) = classify_comments(listed, &known);
        for comment in &baseline {
            self.table
                .record_published_comment(case_id, comment.id.as_str(), &comment.body_sha256())
                .await?;
            tracing::info!(case_id = %case_id, comment_id = %comment.id, "recorded the body of a comment published before bodies were recorded");
        }
        Ok(changes)
    }

    /// Publishes the pending events of `stored`, records them, and settles the snapshot.
    /// Returns the settled snapshot and the number of events published.
    async fn finish_pending(
        &self,
        stored: CaseSnapshot,
        comments: &[Comment],
    ) -> Result<(Option<CaseSnapshot>, usize), SyncError> {
        let Some(pending) = stored.pending.as_ref() else {
            return Ok((Some(stored), 0));
        };
        let planned = pending
            .events
            .iter()
            .map(|raw| {
                Planned::decode(raw)
                    .ok_or_else(|| SyncError::Plan(format!("unknown planned event `{raw}`")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if stored.version + planned.len() as u64 != pending.version {
            return Err(SyncError::Plan(format!(
                "{} events cannot take version {} to {}",
                planned.len(),
                stored.version,
                pending.version
            )));
        }
        let previous = stored.case.as_ref().filter(|_| stored.version > 0);
        let comments_by_id: HashMap<&str, &Comment> = comments
            .iter()
            .map(|comment| (comment.id.as_str(), comment))
            .collect();
        let events = build_events(
            &planned,
            stored.version + 1,
            previous,
            &pending.case,
            &comments_by_id,
            pending.since,
        )?;

        self.publisher.publish(&events).await?;

        let case_id = &stored.case_id;
        let comments_by_id = &comments_by_id;
        futures::stream::iter(planned.iter())
            .map(|item| async move {
                match item {
                    Planned::Comment(id) | Planned::Edited(id) => {
                        // The body the event carried (built from this very listing).
                        let hash = comments_by_id
                            .get(id.as_str())
                            .map(|comment| comment.body_sha256())
                            .unwrap_or_default();
                        self.table
                            .record_published_comment(case_id, id, &hash)
                            .await
                    }
                    Planned::Attachment(id) => self
                        .table
                        .record_attachment(case_id, id, SyncOrigin::Sir)
                        .await
                        .map(drop),
                    _ => Ok(()),
                }
            })
            .buffer_unordered(RECORD_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;

        let mut settled = CaseSnapshot::of_case(pending.case.clone(), pending.version, Utc::now());
        settled.nudge_after = stored.nudge_after;
        let condition = SnapshotCondition::Pending {
            version: stored.version,
            pending_version: pending.version,
        };
        match self.table.put_snapshot(&settled, condition).await {
            Ok(()) => Ok((Some(settled), events.len())),
            Err(StoreError::Conflict { .. }) => {
                // Another run finished the same plan (its lease had expired): the events are
                // the same ones, so only the stored state needs reading again.
                tracing::info!(case_id = %case_id, "the plan was already confirmed by another run");
                Ok((self.table.snapshot(case_id).await?, events.len()))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Stores `current` without publishing, if it differs from the snapshot (or the
    /// attachments were being rechecked, which moves the recheck time).
    async fn store_silently(
        &self,
        snapshot: Option<&CaseSnapshot>,
        current: Case,
        kind: SyncKind,
    ) -> Result<SyncStatus, SyncError> {
        let version = snapshot.map_or(0, |s| s.version);
        let mut settled = CaseSnapshot::of_case(current, version, Utc::now());
        settled.nudge_after = snapshot.and_then(|s| s.nudge_after);
        let unchanged = snapshot.is_some_and(|s| {
            s.case == settled.case
                && s.status == settled.status
                && s.updated_at == settled.updated_at
                && s.attachments_pending == settled.attachments_pending
        });
        if unchanged && kind == SyncKind::Full {
            return Ok(SyncStatus::Unchanged);
        }
        match self
            .table
            .put_snapshot(&settled, SnapshotCondition::of(snapshot))
            .await
        {
            Ok(()) => Ok(SyncStatus::StoredSilently),
            // Someone else moved the snapshot on: their view is at least as new.
            Err(StoreError::Conflict { .. }) => Ok(SyncStatus::Busy),
            Err(other) => Err(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use sirslack_domain::{
        Attachment, AttachmentStatus, CaseStatus, CommentId, EngagementType, EventPayload,
        FieldChange, ResolverType,
    };

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).single().unwrap()
    }

    fn case() -> Case {
        let mut case = Case::new(
            CaseId::new("1234567890").unwrap(),
            "Suspicious login",
            "Console login from an unknown IP",
            CaseStatus::Submitted,
            EngagementType::SecurityIncident,
            ResolverType::SelfManaged,
        );
        case.watchers = vec![Watcher::new("jane@example.com")];
        case
    }

    fn comment(id: &str, created: i64) -> Comment {
        Comment {
            id: CommentId::new(id).unwrap(),
            body: format!("comment {id}"),
            creator: "AWS Responder".into(),
            created_at: at(created),
            updated_at: None,
            updated_by: None,
        }
    }

    fn none() -> CommentChanges {
        CommentChanges::default()
    }

    fn new(comments: &[Comment]) -> CommentChanges {
        CommentChanges {
            new: comments.to_vec(),
            edited: Vec::new(),
        }
    }

    fn attachment(id: &str, status: AttachmentStatus) -> Attachment {
        Attachment {
            id: id.into(),
            file_name: "report.pdf".into(),
            status,
            creator: "AWS Responder".into(),
            created_at: at(0),
        }
    }

    #[test]
    fn planned_events_round_trip_through_their_stored_form() {
        for planned in [
            Planned::Created,
            Planned::Updated,
            Planned::Watchers,
            Planned::Comment("000123".into()),
            Planned::Edited("000123".into()),
            Planned::Attachment("3f1c6a1e-2b5d-4c1e-9a7e-0d5c2e8b9f10".into()),
            Planned::Closed,
            Planned::Quiet {
                quiet_since: 1_760_000_000,
                next: 1_760_086_400,
            },
        ] {
            assert_eq!(Planned::decode(&planned.encode()), Some(planned));
        }
        assert_eq!(Planned::decode("something"), None);
        assert_eq!(Planned::decode("note:1"), None);
    }

    #[test]
    fn a_new_open_case_is_created_with_its_comments_and_verified_attachments() {
        let mut current = case();
        current.attachments = vec![
            attachment("a", AttachmentStatus::Verified),
            attachment("b", AttachmentStatus::Pending),
            attachment("c", AttachmentStatus::Verified),
        ];
        let comments = [comment("000001", 1), comment("000002", 2)];
        let recorded = HashSet::from(["c".to_string()]);
        assert_eq!(
            plan_events(None, &current, &new(&comments), &recorded),
            [
                Planned::Created,
                Planned::Comment("000001".into()),
                Planned::Comment("000002".into()),
                Planned::Attachment("a".into()),
            ]
        );
    }

    #[test]
    fn status_and_title_changes_make_one_update_and_closing_comes_last() {
        let previous = case();
        let mut current = case();
        current.title = "Compromised key".into();
        current.status = CaseStatus::DetectionAndAnalysis;
        let planned = plan_events(Some(&previous), &current, &none(), &HashSet::new());
        assert_eq!(planned, [Planned::Updated]);
        let events = build_events(
            &planned,
            4,
            Some(&previous),
            &current,
            &HashMap::new(),
            at(9),
        )
        .unwrap();
        let EventPayload::CaseUpdated { changes } = &events[0].payload else {
            panic!("{events:?}")
        };
        assert!(matches!(
            changes[..],
            [FieldChange::Title { .. }, FieldChange::Status { .. }]
        ));
        assert_eq!(events[0].sequence, 4);

        current.status = CaseStatus::Closed;
        let late = [comment("000009", 9)];
        let planned = plan_events(Some(&previous), &current, &new(&late), &HashSet::new());
        assert_eq!(
            planned,
            [
                Planned::Updated,
                Planned::Comment("000009".into()),
                Planned::Closed
            ]
        );
    }

    #[test]
    fn comments_are_new_edited_unchanged_or_never_announced() {
        let sir = |hash: Option<String>| KnownComment {
            origin: Some(SyncOrigin::Sir),
            body_sha256: hash,
        };
        let published = comment("000001", 1);
        let mut edited = comment("000002", 2);
        let edited_hash = edited.body_sha256();
        edited.body = "comment 000002, corrected".into();
        let legacy = comment("000003", 3);
        let mut from_slack = comment("000004", 4);
        from_slack.body = "Jane Doe uploaded a file".into();
        let mut marked = comment("000005", 5);
        marked.body = "[Slack Update] Jane Doe: on it, edited".into();
        let fresh = comment("000006", 6);
        let known = HashMap::from([
            ("000001".to_string(), sir(Some(published.body_sha256()))),
            ("000002".to_string(), sir(Some(edited_hash))),
            ("000003".to_string(), sir(None)),
            (
                "000004".to_string(),
                KnownComment {
                    origin: Some(SyncOrigin::Slack),
                    body_sha256: Some("whatever".into()),
                },
            ),
            ("000005".to_string(), sir(Some("old".into()))),
        ]);
        let listed = vec![
            fresh.clone(),
            marked,
            from_slack,
            legacy.clone(),
            edited.clone(),
            published,
            fresh.clone(),
        ];
        let (changes, baseline) = classify_comments(listed, &known);
        assert_eq!(changes.new, [fresh]);
        assert_eq!(changes.edited, [edited]);
        assert_eq!(baseline, [legacy]);

        let planned = plan_events(Some(&case()), &case(), &changes, &HashSet::new());
        assert_eq!(
            planned,
            [
                Planned::Comment("000006".into()),
                Planned::Edited("000002".into())
            ]
        );
        let all = changes.into_all();
        let by_id: HashMap<&str, &Comment> = all.iter().map(|c| (c.id.as_str(), c)).collect();
        let events = build_events(&planned, 3, Some(&case()), &case(), &by_id, at(9)).unwrap();
        assert_eq!(
            events[1].idempotency_key,
            "comment-edited:1234567890:000002:4"
        );
        let EventPayload::CommentEdited { comment, .. } = &events[1].payload else {
            panic!("{events:?}")
        };
        assert_eq!(comment.body, "comment 000002, corrected");
    }

    #[test]
    fn only_newly_verified_attachments_are_planned() {
        let mut previous = case();
        previous.attachments = vec![
            attachment("a", AttachmentStatus::Verified),
            attachment("b", AttachmentStatus::Pending),
        ];
        let mut current = previous.clone();
        assert!(plan_events(Some(&previous), &current, &none(), &HashSet::new()).is_empty());
        current.attachments[1].status = AttachmentStatus::Verified;
        assert_eq!(
            plan_events(Some(&previous), &current, &none(), &HashSet::new()),
            [Planned::Attachment("b".into())]
        );
        // Uploaded from Slack (recorded by the Slack -> SIR path): never echoed.
        let recorded = HashSet::from(["b".to_string()]);
        assert!(plan_events(Some(&previous), &current, &none(), &recorded).is_empty());
    }

    #[test]
    fn events_are_numbered_consecutively_with_stable_keys() {
        let current = case();
        let first = comment("000001", 1);
        let comments = HashMap::from([("000001", &first)]);
        let planned = [Planned::Created, Planned::Comment("000001".into())];
        let events = build_events(&planned, 1, None, &current, &comments, at(5)).unwrap();
        let keys: Vec<(&str, u64)> = events
            .iter()
            .map(|e| (e.idempotency_key.as_str(), e.sequence))
            .collect();
        assert_eq!(
            keys,
            [
                ("case-created:1234567890", 1),
                ("comment:1234567890:000001", 2)
            ]
        );
        assert!(events.iter().all(|e| e.occurred_at == at(5)));
        let again = build_events(&planned, 1, None, &current, &comments, at(5)).unwrap();
        assert_eq!(events, again);
    }

    #[test]
    fn a_planned_comment_that_vanished_is_an_error() {
        let planned = [Planned::Comment("000404".into())];
        let error = build_events(&planned, 1, None, &case(), &HashMap::new(), at(0)).unwrap_err();
        assert!(error.to_string().contains("000404"), "{error}");
    }

    #[test]
    fn the_ir_team_is_merged_by_lower_cased_email() {
        let sir = [Watcher::new("Jane@Example.com")];
        let team = Team::Known(vec![
            Watcher::new("jane@example.com"),
            Watcher::new("ir-lead@example.com"),
        ]);
        let merged = merge_watchers(&sir, &team, None);
        let emails: Vec<&str> = merged.iter().map(|w| w.email.as_str()).collect();
        assert_eq!(emails, ["Jane@Example.com", "ir-lead@example.com"]);
    }

    #[test]
    fn an_unknown_team_removes_nobody() {
        let mut previous = case();
        previous.watchers = vec![
            Watcher::new("jane@example.com"),
            Watcher::new("ir-lead@example.com"),
        ];
        let sir = [Watcher::new("jane@example.com")];
        let merged = merge_watchers(&sir, &Team::Unknown, Some(&previous));
        assert_eq!(merged.len(), 2);
        let mut current = previous.clone();
        current.watchers = merged;
        assert!(plan_events(Some(&previous), &current, &none(), &HashSet::new()).is_empty());
    }
}
