//! The scheduled reconcile: list every case, and sync only what changed.
//!
//! ListCases has no server-side filter, so every case is listed (`ceil(N/25)` calls) and
//! compared with a projection of its snapshot (BatchGetItem, 100 a call). A case is synced
//! when:
//! - it was never seen and is open (it is announced), or a previous run left events planned;
//! - its `lastUpdatedDate` or status differs from the snapshot's;
//! - it is open and its attachments are due for a check (attachments have no native event):
//!   every run while one is `Pending`, otherwise once per recheck interval, at most
//!   `attachment_rechecks_per_run` per run, oldest check first.
//!
//! - it is open, announced, unchanged, quiet for longer than its nudge threshold (its
//!   `lastUpdatedDate` is that long ago) and not nudged or snoozed until later (the
//!   snapshot's `nudge_after`): it gets a `CaseQuiet` event, planned from the snapshot alone
//!   (no SIR call), see [`crate::sync`].
//!
//! A case first seen closed, or a closed case that changed again, is stored from its listing
//! alone, without a single SIR detail call: nothing is ever published for it.
//!
//! With a sync floor (`SYNC_CASES_UPDATED_SINCE`, the deploy's `--sync-existing`), a case first
//! seen open whose `lastUpdatedDate` is before the floor is stored from its listing the same
//! way, and left alone (no attachment rechecks) until its `lastUpdatedDate` moves: then it is
//! synced in full and announced like a new case.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sirslack_domain::CaseId;
use sirslack_domain::duration::to_chrono;
use sirslack_mapper::sir::CaseListEntry;
use sirslack_store::SnapshotSummary;

use crate::config::NudgePolicy;
use crate::sync::SyncKind;

/// What to do with a listed case that needs no SIR detail call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListingWrite {
    /// A case never seen, closed (no events, ever), or open but last updated before the sync
    /// floor (no events until it is updated): store its listing.
    Create(CaseListEntry),
    /// A closed case whose listing moved on: refresh the stored listing at `version`.
    Refresh { entry: CaseListEntry, version: u64 },
}

/// The work one reconcile does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    /// Cases to sync, with how much to read.
    pub syncs: Vec<(CaseId, SyncKind)>,
    /// Closed cases, and open ones older than the sync floor, stored from their listing.
    pub listings: Vec<ListingWrite>,
}

/// Decides, from the listing and the stored summaries, which cases to read. Pure.
pub(crate) fn select(
    entries: &[CaseListEntry],
    summaries: &HashMap<CaseId, SnapshotSummary>,
    now: DateTime<Utc>,
    recheck: Duration,
    max_rechecks: usize,
    floor: Option<DateTime<Utc>>,
    nudges: &NudgePolicy,
) -> Selection {
    let recheck = to_chrono(recheck);
    let mut selection = Selection::default();
    let mut rechecks: Vec<(bool, DateTime<Utc>, CaseId)> = Vec::new();
    for entry in entries {
        let Some(summary) = summaries.get(&entry.case_id) else {
            if entry.is_closed() || before_floor(entry, floor) {
                selection.listings.push(ListingWrite::Create(entry.clone()));
            } else {
                selection
                    .syncs
                    .push((entry.case_id.clone(), SyncKind::Full));
            }
            continue;
        };
        if summary.sync_pending {
            selection
                .syncs
                .push((entry.case_id.clone(), SyncKind::Full));
            continue;
        }
        let changed = summary.updated_at != entry.last_updated || summary.status != entry.status;
        let was_closed = summary.status.as_ref().is_some_and(|s| s.is_closed());
        if entry.is_closed() && was_closed {
            if changed {
                selection.listings.push(ListingWrite::Refresh {
                    entry: entry.clone(),
                    version: summary.version,
                });
            }
            continue;
        }
        if changed {
            selection
                .syncs
                .push((entry.case_id.clone(), SyncKind::Full));
            continue;
        }
        if summary.version == 0 {
            // Never announced and unchanged (left alone by the sync floor): no channel to
            // recheck attachments for.
            continue;
        }
        if let Some((quiet_since, interval)) = nudge_due(entry, summary, now, nudges) {
            selection.syncs.push((
                entry.case_id.clone(),
                SyncKind::Nudge {
                    quiet_since,
                    interval,
                },
            ));
            continue;
        }
        let due = summary.attachments_pending || now - summary.attachments_checked_at >= recheck;
        if !entry.is_closed() && due {
            rechecks.push((
                summary.attachments_pending,
                summary.attachments_checked_at,
                entry.case_id.clone(),
            ));
        }
    }
    // Pending attachments first (someone is waiting for them), then the longest unchecked.
    rechecks.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    selection.syncs.extend(
        rechecks
            .into_iter()
            .take(max_rechecks)
            .map(|(_, _, case_id)| (case_id, SyncKind::AttachmentsOnly)),
    );
    selection
}

/// When an unchanged, announced case is due for a nudge: the time it has been quiet since
/// (its `lastUpdatedDate`) and the threshold that applies to its status.
fn nudge_due(
    entry: &CaseListEntry,
    summary: &SnapshotSummary,
    now: DateTime<Utc>,
    nudges: &NudgePolicy,
) -> Option<(DateTime<Utc>, Duration)> {
    let status = entry.status.as_ref()?;
    let threshold = nudges.threshold(status)?;
    let quiet_since = entry.last_updated?;
    let quiet_for = (now - quiet_since).to_std().ok()?;
    let not_before = summary.nudge_after.is_none_or(|after| now >= after);
    (quiet_for >= threshold && not_before).then_some((quiet_since, threshold))
}

/// Whether a case was last updated before the sync floor (a case without a date is not).
fn before_floor(entry: &CaseListEntry, floor: Option<DateTime<Utc>>) -> bool {
    matches!((entry.last_updated, floor), (Some(updated), Some(floor)) if updated < floor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use sirslack_domain::CaseStatus;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).single().unwrap()
    }

    fn id(n: u64) -> CaseId {
        CaseId::new(&format!("{:010}", 1_000_000_000 + n)).unwrap()
    }

    fn entry(n: u64, status: CaseStatus, updated: i64) -> CaseListEntry {
        CaseListEntry {
            case_id: id(n),
            last_updated: Some(at(updated)),
            status: Some(status),
        }
    }

    fn summary(n: u64, status: CaseStatus, updated: i64, checked: i64) -> SnapshotSummary {
        SnapshotSummary {
            case_id: id(n),
            version: 3,
            status: Some(status),
            updated_at: Some(at(updated)),
            attachments_checked_at: at(checked),
            attachments_pending: false,
            sync_pending: false,
            nudge_after: None,
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn by_id(summaries: Vec<SnapshotSummary>) -> HashMap<CaseId, SnapshotSummary> {
        summaries
            .into_iter()
            .map(|s| (s.case_id.clone(), s))
            .collect()
    }

    #[test]
    fn unchanged_cases_need_no_reads() {
        let entries = [
            entry(1, CaseStatus::Submitted, 100),
            entry(2, CaseStatus::Closed, 100),
        ];
        let summaries = by_id(vec![
            summary(1, CaseStatus::Submitted, 100, 1000),
            summary(2, CaseStatus::Closed, 100, 0),
        ]);
        assert_eq!(
            select(
                &entries,
                &summaries,
                at(1000),
                HOUR,
                25,
                None,
                &NudgePolicy::OFF
            ),
            Selection::default()
        );
    }

    #[test]
    fn new_and_changed_cases_are_synced_and_closed_ones_stored_from_the_listing() {
        let entries = [
            entry(1, CaseStatus::Submitted, 100),
            entry(2, CaseStatus::Closed, 100),
            entry(3, CaseStatus::Submitted, 200),
            entry(4, CaseStatus::Closed, 300),
            entry(5, CaseStatus::Closed, 300),
        ];
        let summaries = by_id(vec![
            summary(3, CaseStatus::Submitted, 100, 1000),
            summary(4, CaseStatus::Closed, 100, 1000),
            summary(5, CaseStatus::Submitted, 300, 1000),
        ]);
        let selection = select(
            &entries,
            &summaries,
            at(1000),
            HOUR,
            25,
            None,
            &NudgePolicy::OFF,
        );
        assert_eq!(
            selection.syncs,
            [
                (id(1), SyncKind::Full),
                (id(3), SyncKind::Full),
                (id(5), SyncKind::Full)
            ]
        );
        assert_eq!(
            selection.listings,
            [
                ListingWrite::Create(entries[1].clone()),
                ListingWrite::Refresh {
                    entry: entries[3].clone(),
                    version: 3
                }
            ]
        );
    }

    #[test]
    fn attachment_rechecks_are_due_pending_first_then_oldest_and_capped() {
        let entries: Vec<CaseListEntry> = (1..=4)
            .map(|n| entry(n, CaseStatus::DetectionAndAnalysis, 100))
            .collect();
        let mut pending = summary(4, CaseStatus::DetectionAndAnalysis, 100, 4000);
        pending.attachments_pending = true;
        let summaries = by_id(vec![
            summary(1, CaseStatus::DetectionAndAnalysis, 100, 0),
            summary(2, CaseStatus::DetectionAndAnalysis, 100, 3999),
            summary(3, CaseStatus::DetectionAndAnalysis, 100, 100),
            pending,
        ]);
        let selection = select(
            &entries,
            &summaries,
            at(4000),
            HOUR,
            2,
            None,
            &NudgePolicy::OFF,
        );
        assert_eq!(
            selection.syncs,
            [
                (id(4), SyncKind::AttachmentsOnly),
                (id(1), SyncKind::AttachmentsOnly)
            ]
        );
    }

    #[test]
    fn quiet_open_cases_are_nudged_once_per_interval_without_a_read_of_sir() {
        let policy = NudgePolicy {
            quiet: Some(Duration::from_secs(100)),
            early: Some(Duration::from_secs(10)),
        };
        let entries = [
            entry(1, CaseStatus::Submitted, 1000),
            entry(2, CaseStatus::Acknowledged, 1000),
            entry(3, CaseStatus::Acknowledged, 1000),
            entry(4, CaseStatus::Closed, 0),
            entry(5, CaseStatus::Submitted, 1000),
        ];
        let mut snoozed = summary(5, CaseStatus::Submitted, 1000, 1050);
        snoozed.nudge_after = Some(at(1051));
        let summaries = by_id(vec![
            summary(1, CaseStatus::Submitted, 1000, 1050),
            summary(2, CaseStatus::Acknowledged, 1000, 1050),
            summary(3, CaseStatus::Acknowledged, 900, 1050),
            summary(4, CaseStatus::Closed, 0, 0),
            snoozed,
        ]);
        let selection = select(&entries, &summaries, at(1050), HOUR, 25, None, &policy);
        // 1: early status, quiet 50 s > 10 s. 2: quiet 50 s < 100 s. 3: changed, synced in
        // full. 4: closed. 5: snoozed until 1051.
        assert_eq!(
            selection.syncs,
            [
                (
                    id(1),
                    SyncKind::Nudge {
                        quiet_since: at(1000),
                        interval: Duration::from_secs(10)
                    }
                ),
                (id(3), SyncKind::Full)
            ]
        );
        let later = select(&entries[4..], &summaries, at(1051), HOUR, 25, None, &policy);
        assert_eq!(later.syncs.len(), 1, "{later:?}");
        let off = select(
            &entries,
            &summaries,
            at(5000),
            HOUR,
            0,
            None,
            &NudgePolicy::OFF,
        );
        assert_eq!(off.syncs, [(id(3), SyncKind::Full)]);
    }

    #[test]
    fn unfinished_plans_are_always_synced() {
        let entries = [entry(1, CaseStatus::Submitted, 100)];
        let mut unfinished = summary(1, CaseStatus::Submitted, 100, 1000);
        unfinished.sync_pending = true;
        let selection = select(
            &entries,
            &by_id(vec![unfinished]),
            at(1000),
            HOUR,
            0,
            None,
            &NudgePolicy::OFF,
        );
        assert_eq!(selection.syncs, [(id(1), SyncKind::Full)]);
    }

    #[test]
    fn open_cases_older_than_the_floor_are_stored_from_the_listing_until_they_change() {
        let entries = [
            entry(1, CaseStatus::Submitted, 100),
            entry(2, CaseStatus::Submitted, 500),
            entry(3, CaseStatus::Submitted, 499),
        ];
        let selection = select(
            &entries,
            &HashMap::new(),
            at(1000),
            HOUR,
            25,
            Some(at(500)),
            &NudgePolicy::OFF,
        );
        assert_eq!(selection.syncs, [(id(2), SyncKind::Full)]);
        assert_eq!(
            selection.listings,
            [
                ListingWrite::Create(entries[0].clone()),
                ListingWrite::Create(entries[2].clone())
            ]
        );

        // Stored from the listing (version 0): unchanged, it is left alone, attachments too.
        let mut old = summary(1, CaseStatus::Submitted, 100, 0);
        old.version = 0;
        let summaries = by_id(vec![old]);
        let later = select(
            &entries[..1],
            &summaries,
            at(100_000),
            HOUR,
            25,
            Some(at(500)),
            &NudgePolicy::OFF,
        );
        assert_eq!(later, Selection::default());

        // Updated since: synced in full (and announced, as it never was).
        let updated = [entry(1, CaseStatus::Submitted, 2000)];
        let selection = select(
            &updated,
            &summaries,
            at(100_000),
            HOUR,
            25,
            Some(at(500)),
            &NudgePolicy::OFF,
        );
        assert_eq!(selection.syncs, [(id(1), SyncKind::Full)]);
    }
}
