//! The table adapter against moto (the local world): every conditional write, both ways.

use std::collections::HashSet;

use aws_local::{LocalAws, create_table, unique_name};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeZone, Utc};
use sirslack_domain::{
    Attachment, AttachmentStatus, Case, CaseId, CaseStatus, EngagementType, ResolverType,
};
use sirslack_store::{
    CaseSnapshot, Claim, CommentMessages, KnownComment, LaneTake, PendingSync, Resumable,
    SnapshotCondition, StoreError, SyncOrigin, Table,
};

async fn table() -> Table {
    let aws = LocalAws::shared().await.expect("moto starts");
    let name = unique_name("store");
    create_table(&aws.dynamodb(), &name).await.expect("table");
    Table::new(aws.dynamodb(), name)
}

fn case_id(n: u64) -> CaseId {
    CaseId::new(&format!("{}", 2_000_000_000 + n)).unwrap()
}

fn at(seconds: i64, nanos: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, nanos).single().unwrap()
}

fn case(n: u64) -> Case {
    let mut case = Case::new(
        case_id(n),
        "Suspicious login",
        "Console login from an unknown IP",
        CaseStatus::DetectionAndAnalysis,
        EngagementType::SecurityIncident,
        ResolverType::SelfManaged,
    );
    case.updated_at = Some(at(1_760_000_000, 123_456_789));
    case
}

#[tokio::test]
async fn snapshots_advance_only_from_the_version_they_were_read_at() {
    let table = table().await;
    let id = case_id(1);
    assert_eq!(table.snapshot(&id).await.unwrap(), None);

    let first = CaseSnapshot::of_case(case(1), 0, at(1_760_000_100, 0));
    table
        .put_snapshot(&first, SnapshotCondition::Absent)
        .await
        .unwrap();
    // A second "first" write loses: only one poller announces a case.
    assert!(matches!(
        table.put_snapshot(&first, SnapshotCondition::Absent).await,
        Err(StoreError::Conflict { .. })
    ));
    let read = table.snapshot(&id).await.unwrap().unwrap();
    assert_eq!(read, first);
    assert_eq!(
        SnapshotCondition::of(Some(&read)),
        SnapshotCondition::Settled { version: 0 }
    );

    // Plan three events at version 0.
    let mut target = case(1);
    target.title = "Compromised key".into();
    let mut planning = read.clone();
    planning.pending = Some(PendingSync {
        version: 3,
        case: target.clone(),
        events: vec!["updated".into(), "comment:000001".into(), "closed".into()],
        since: at(1_760_000_200, 123_456_789),
    });
    table
        .put_snapshot(&planning, SnapshotCondition::Settled { version: 0 })
        .await
        .unwrap();
    // Nobody else can plan the same version, or write over a pending plan.
    assert!(matches!(
        table
            .put_snapshot(&planning, SnapshotCondition::Settled { version: 0 })
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let read = table.snapshot(&id).await.unwrap().unwrap();
    assert_eq!(read, planning);
    let pending_condition = SnapshotCondition::of(Some(&read));
    assert_eq!(
        pending_condition,
        SnapshotCondition::Pending {
            version: 0,
            pending_version: 3
        }
    );

    // Confirming the plan drops it.
    let settled = CaseSnapshot::of_case(target, 3, at(1_760_000_300, 0));
    table
        .put_snapshot(&settled, pending_condition)
        .await
        .unwrap();
    assert!(matches!(
        table.put_snapshot(&settled, pending_condition).await,
        Err(StoreError::Conflict { .. })
    ));
    let read = table.snapshot(&id).await.unwrap().unwrap();
    assert_eq!(read, settled);
    assert_eq!(read.pending, None);
    assert!(matches!(
        table
            .put_snapshot(&settled, SnapshotCondition::Settled { version: 2 })
            .await,
        Err(StoreError::Conflict { .. })
    ));
}

#[tokio::test]
async fn summaries_cover_many_cases_with_exact_timestamps() {
    let table = table().await;
    let mut ids = Vec::new();
    for n in 0..130u64 {
        let mut case = case(100 + n);
        case.updated_at = Some(at(1_760_000_000 + n as i64, 987_654_321));
        if n % 2 == 0 {
            case.attachments.push(Attachment {
                id: format!("att-{n}"),
                file_name: "report.pdf".into(),
                status: AttachmentStatus::Pending,
                creator: "AWS Responder".into(),
                created_at: at(1_760_000_000, 0),
            });
        }
        let snapshot = CaseSnapshot::of_case(case, n, at(1_760_000_500, 0));
        table
            .put_snapshot(&snapshot, SnapshotCondition::Absent)
            .await
            .unwrap();
        ids.push(case_id(100 + n));
    }
    let listed_closed = CaseSnapshot::listed(
        case_id(999),
        Some(CaseStatus::Closed),
        Some(at(1_700_000_000, 5)),
        at(1_760_000_500, 0),
    );
    table
        .put_snapshot(&listed_closed, SnapshotCondition::Absent)
        .await
        .unwrap();
    ids.push(case_id(999));
    ids.push(case_id(5_000)); // never seen

    let summaries = table.snapshot_summaries(&ids).await.unwrap();
    assert_eq!(summaries.len(), 131);
    assert!(!summaries.contains_key(&case_id(5_000)));
    let seven = &summaries[&case_id(107)];
    assert_eq!(seven.version, 7);
    assert_eq!(seven.updated_at, Some(at(1_760_000_007, 987_654_321)));
    assert_eq!(seven.status, Some(CaseStatus::DetectionAndAnalysis));
    assert!(!seven.attachments_pending);
    assert!(summaries[&case_id(108)].attachments_pending);
    assert!(!seven.sync_pending);
    let closed = &summaries[&case_id(999)];
    assert_eq!(closed.status, Some(CaseStatus::Closed));
    assert_eq!(closed.updated_at, Some(at(1_700_000_000, 5)));
    assert_eq!(closed.version, 0);

    // A listing-only snapshot reads back without a case.
    let read = table.snapshot(&case_id(999)).await.unwrap().unwrap();
    assert_eq!(read.case, None);
    assert_eq!(read, listed_closed);
}

#[tokio::test]
async fn listings_of_closed_cases_move_on_without_touching_the_case() {
    let table = table().await;
    let mut closed = case(3);
    closed.status = CaseStatus::Closed;
    let snapshot = CaseSnapshot::of_case(closed.clone(), 4, at(1_760_000_000, 0));
    table
        .put_snapshot(&snapshot, SnapshotCondition::Absent)
        .await
        .unwrap();

    let later = at(1_760_100_000, 42);
    table
        .update_listing(&case_id(3), 4, Some(&CaseStatus::Closed), Some(later))
        .await
        .unwrap();
    let read = table.snapshot(&case_id(3)).await.unwrap().unwrap();
    assert_eq!(read.updated_at, Some(later));
    assert_eq!(read.case, Some(closed));
    assert_eq!(read.version, 4);

    assert!(matches!(
        table
            .update_listing(&case_id(3), 3, Some(&CaseStatus::Closed), Some(later))
            .await,
        Err(StoreError::Conflict { .. })
    ));
}

#[tokio::test]
async fn nudge_times_are_kept_by_snapshot_writes_and_only_moved_later_by_a_snooze() {
    let table = table().await;
    assert!(
        !table
            .snooze_nudges(&case_id(4), at(1_760_000_000, 0))
            .await
            .unwrap(),
        "no snapshot, nothing snoozed"
    );
    let mut snapshot = CaseSnapshot::of_case(case(4), 2, at(1_760_000_000, 0));
    snapshot.nudge_after = Some(at(1_760_050_000, 0));
    table
        .put_snapshot(&snapshot, SnapshotCondition::Absent)
        .await
        .unwrap();
    let summaries = table.snapshot_summaries(&[case_id(4)]).await.unwrap();
    assert_eq!(
        summaries[&case_id(4)].nudge_after,
        Some(at(1_760_050_000, 0))
    );

    assert!(
        !table
            .snooze_nudges(&case_id(4), at(1_760_040_000, 0))
            .await
            .unwrap(),
        "a snooze never brings the next nudge forward"
    );
    assert!(
        table
            .snooze_nudges(&case_id(4), at(1_760_090_000, 0))
            .await
            .unwrap()
    );
    let read = table.snapshot(&case_id(4)).await.unwrap().unwrap();
    assert_eq!(read.nudge_after, Some(at(1_760_090_000, 0)));
    assert_eq!(read.version, 2, "a snooze leaves the snapshot itself alone");
    assert_eq!(read.case, Some(case(4)));
}

#[tokio::test]
async fn comments_and_attachments_are_recorded_once_per_kind() {
    let table = table().await;
    let id = case_id(4);
    assert!(
        table
            .record_comment(&id, "000001", SyncOrigin::Sir)
            .await
            .unwrap()
    );
    assert!(
        !table
            .record_comment(&id, "000001", SyncOrigin::Slack)
            .await
            .unwrap()
    );
    assert!(
        table
            .record_comment(&id, "000002", SyncOrigin::Slack)
            .await
            .unwrap()
    );
    assert!(
        table
            .record_attachment(&id, "000001", SyncOrigin::Sir)
            .await
            .unwrap()
    );
    assert!(
        table
            .record_comment(&case_id(5), "000009", SyncOrigin::Sir)
            .await
            .unwrap()
    );

    assert_eq!(
        table.known_comment_ids(&id).await.unwrap(),
        HashSet::from(["000001".to_string(), "000002".to_string()])
    );
    assert_eq!(
        table.known_attachment_ids(&id).await.unwrap(),
        HashSet::from(["000001".to_string()])
    );
}

#[tokio::test]
async fn own_uploads_are_found_by_their_exact_name_in_their_case_only() {
    let table = table().await;
    let id = case_id(40);
    let names = ["report-F0AAA.pdf", "report.pdf", "other-F0BBB.log"];
    assert!(table.own_uploads(&id, names).await.unwrap().is_empty());
    table
        .record_own_upload(&id, "report-F0AAA.pdf", "F0AAA", "C0CHANNEL")
        .await
        .unwrap();
    // Recording it again (a retried job) is harmless.
    table
        .record_own_upload(&id, "report-F0AAA.pdf", "F0AAA", "C0CHANNEL")
        .await
        .unwrap();
    assert_eq!(
        table.own_uploads(&id, names).await.unwrap(),
        HashSet::from(["report-F0AAA.pdf".to_string()])
    );
    assert!(
        table
            .own_uploads(&case_id(41), names)
            .await
            .unwrap()
            .is_empty(),
        "another case's upload of the same name is not this case's"
    );
    // Not an attachment record: the poller still decides about the attachment itself.
    assert!(table.known_attachment_ids(&id).await.unwrap().is_empty());
}

#[tokio::test]
async fn every_comment_record_of_a_case_is_read_back() {
    let table = table().await;
    let id = case_id(6);
    for n in 0..120 {
        assert!(
            table
                .record_comment(&id, &format!("{n:06}"), SyncOrigin::Sir)
                .await
                .unwrap()
        );
    }
    assert_eq!(table.known_comment_ids(&id).await.unwrap().len(), 120);
}

#[tokio::test]
async fn a_published_comment_keeps_its_body_hash_and_its_slack_messages_whichever_comes_first() {
    let table = table().await;
    let id = case_id(7);
    let messages = |ts: &[&str]| CommentMessages {
        channel_id: "C0CHANNEL".into(),
        ts: ts.iter().map(|ts| (*ts).to_owned()).collect(),
    };
    // The Slack client may record the comment's messages before the poller records it.
    assert_eq!(table.comment_messages(&id, "000001").await.unwrap(), None);
    table
        .record_comment_messages(&id, "000001", &messages(&["1.000100"]))
        .await
        .unwrap();
    table
        .record_published_comment(&id, "000001", "hash-one")
        .await
        .unwrap();
    // An edit moves the hash on; the messages stay.
    table
        .record_published_comment(&id, "000001", "hash-two")
        .await
        .unwrap();
    table
        .record_comment_messages(&id, "000001", &messages(&["1.000100", "1.000200"]))
        .await
        .unwrap();
    // Written from Slack: its origin is never overwritten by a later poller record.
    assert!(
        table
            .record_comment(&id, "000002", SyncOrigin::Slack)
            .await
            .unwrap()
    );
    table
        .record_published_comment(&id, "000002", "hash-three")
        .await
        .unwrap();
    // Recorded before bodies were: no hash.
    table
        .record_comment(&id, "000003", SyncOrigin::Sir)
        .await
        .unwrap();

    let known = table.known_comments(&id).await.unwrap();
    assert_eq!(
        known.get("000001"),
        Some(&KnownComment {
            origin: Some(SyncOrigin::Sir),
            body_sha256: Some("hash-two".into())
        })
    );
    assert!(known["000002"].is_from_slack());
    assert_eq!(known["000003"].body_sha256, None);
    assert_eq!(known.len(), 3);
    assert_eq!(
        table.comment_messages(&id, "000001").await.unwrap(),
        Some(messages(&["1.000100", "1.000200"]))
    );
    assert_eq!(table.comment_messages(&id, "000003").await.unwrap(), None);
    assert!(
        !table
            .record_comment(&id, "000001", SyncOrigin::Sir)
            .await
            .unwrap(),
        "already recorded"
    );
}

#[tokio::test]
async fn leases_exclude_other_owners_until_released_or_expired() {
    let table = table().await;
    let minute = chrono::Duration::minutes(1);
    assert!(table.acquire_lease("sync#1", "a", minute).await.unwrap());
    assert!(!table.acquire_lease("sync#1", "b", minute).await.unwrap());
    // The owner may renew.
    assert!(table.acquire_lease("sync#1", "a", minute).await.unwrap());
    // Only the owner releases.
    table.release_lease("sync#1", "b").await.unwrap();
    assert!(!table.acquire_lease("sync#1", "b", minute).await.unwrap());
    table.release_lease("sync#1", "a").await.unwrap();
    assert!(table.acquire_lease("sync#1", "b", minute).await.unwrap());

    // An expired lease is free, even though moto (like DynamoDB, lazily) has not deleted it.
    assert!(
        table
            .acquire_lease("sync#2", "a", chrono::Duration::seconds(-10))
            .await
            .unwrap()
    );
    assert!(table.acquire_lease("sync#2", "b", minute).await.unwrap());
}

#[tokio::test]
async fn markers_are_written_once_until_forgotten_or_expired() {
    let table = table().await;
    let hour = chrono::Duration::hours(1);
    assert!(table.put_once("event", "Ev1", hour).await.unwrap());
    assert!(!table.put_once("event", "Ev1", hour).await.unwrap());
    assert!(table.put_once("command", "Ev1", hour).await.unwrap());
    table.forget_once("event", "Ev1").await.unwrap();
    assert!(table.put_once("event", "Ev1", hour).await.unwrap());

    assert!(
        table
            .put_once("event", "Ev2", chrono::Duration::seconds(-5))
            .await
            .unwrap()
    );
    assert!(table.put_once("event", "Ev2", hour).await.unwrap());
}

#[tokio::test]
async fn leased_claims_are_held_done_or_taken_over_when_stale() {
    let table = table().await;
    let hour = chrono::Duration::hours(1);
    let lease = chrono::Duration::minutes(5);
    assert_eq!(
        table
            .claim_leased("ev", "A", "w1", lease, hour)
            .await
            .unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        table
            .claim_leased("ev", "A", "w2", lease, hour)
            .await
            .unwrap(),
        Claim::Held
    );
    assert!(table.complete_claim("ev", "A", "w1", hour).await.unwrap());
    assert_eq!(
        table
            .claim_leased("ev", "A", "w3", lease, hour)
            .await
            .unwrap(),
        Claim::Done
    );
    // A done claim is not released.
    assert!(!table.release_claim("ev", "A", "w1").await.unwrap());

    // A claim whose lease ran out (its worker died) is taken over.
    let gone = chrono::Duration::seconds(-1);
    assert_eq!(
        table
            .claim_leased("ev", "B", "w1", gone, hour)
            .await
            .unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        table
            .claim_leased("ev", "B", "w2", lease, hour)
            .await
            .unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        table
            .claim_leased("ev", "B", "w3", lease, hour)
            .await
            .unwrap(),
        Claim::Held
    );
    assert!(table.release_claim("ev", "B", "w2").await.unwrap());
    assert_eq!(
        table
            .claim_leased("ev", "B", "w3", lease, hour)
            .await
            .unwrap(),
        Claim::Claimed
    );

    // A plain marker (put_once) counts as done.
    assert!(table.put_once("ev", "C", hour).await.unwrap());
    assert_eq!(
        table
            .claim_leased("ev", "C", "w1", lease, hour)
            .await
            .unwrap(),
        Claim::Done
    );
}

/// A worker whose claim was taken over (its lease ran out while it was slow) can neither mark
/// the new owner's work done nor delete its claim: the new owner's claim stands, held.
#[tokio::test]
async fn a_taken_over_claim_cannot_be_completed_or_released_by_its_old_owner() {
    let table = table().await;
    let hour = chrono::Duration::hours(1);
    let lease = chrono::Duration::minutes(5);
    let gone = chrono::Duration::seconds(-1);
    assert_eq!(
        table
            .claim_leased("ev", "D", "slow", gone, hour)
            .await
            .unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        table
            .claim_leased("ev", "D", "retry", lease, hour)
            .await
            .unwrap(),
        Claim::Claimed
    );
    assert!(!table.complete_claim("ev", "D", "slow", hour).await.unwrap());
    assert!(!table.release_claim("ev", "D", "slow").await.unwrap());
    // Still the retry's, still in progress: another delivery finds it held, not done or gone.
    assert_eq!(
        table
            .claim_leased("ev", "D", "third", lease, hour)
            .await
            .unwrap(),
        Claim::Held
    );
    assert!(
        table
            .complete_claim("ev", "D", "retry", hour)
            .await
            .unwrap()
    );
    assert_eq!(
        table
            .claim_leased("ev", "D", "third", lease, hour)
            .await
            .unwrap(),
        Claim::Done
    );
}

/// Work in steps: a claim taken over from a dead owner carries the progress it recorded, so
/// the new owner resumes instead of starting again (or seeing a duplicate); the dead owner can
/// record nothing more.
#[tokio::test]
async fn a_resumable_claim_taken_over_keeps_the_progress_its_dead_owner_recorded() {
    let table = table().await;
    let hour = chrono::Duration::hours(1);
    let lease = chrono::Duration::minutes(5);
    let gone = chrono::Duration::seconds(-1);
    assert_eq!(
        table
            .claim_resumable("cmd", "K", "first", lease, hour)
            .await
            .unwrap(),
        Resumable::Claimed { progress: None }
    );
    // Held while the first owner's lease runs.
    assert_eq!(
        table
            .claim_resumable("cmd", "K", "second", lease, hour)
            .await
            .unwrap(),
        Resumable::Held
    );
    // The first owner records a step, and its lease runs out (it died).
    assert!(
        table
            .record_claim_progress("cmd", "K", "first", "applied", gone)
            .await
            .unwrap()
    );
    assert_eq!(
        table
            .claim_resumable("cmd", "K", "second", lease, hour)
            .await
            .unwrap(),
        Resumable::Claimed {
            progress: Some("applied".into())
        }
    );
    assert!(
        !table
            .record_claim_progress("cmd", "K", "first", "audited", lease)
            .await
            .unwrap(),
        "the dead owner's late write changes nothing"
    );
    assert!(
        table
            .record_claim_progress("cmd", "K", "second", "audited", lease)
            .await
            .unwrap()
    );
    assert!(
        table
            .complete_claim("cmd", "K", "second", hour)
            .await
            .unwrap()
    );
    assert_eq!(
        table
            .claim_resumable("cmd", "K", "third", lease, hour)
            .await
            .unwrap(),
        Resumable::Done
    );
}

#[tokio::test]
async fn a_lane_is_idle_only_when_unowned_and_empty_and_drains_in_order() {
    let table = table().await;
    let lease = chrono::Duration::minutes(1);
    let day = chrono::Duration::days(1);
    assert!(
        table
            .take_lane("C1", "ack-1", LaneTake::IfIdle, lease)
            .await
            .unwrap()
    );
    assert!(
        !table
            .take_lane("C1", "ack-2", LaneTake::IfIdle, lease)
            .await
            .unwrap()
    );
    assert!(
        !table
            .take_lane("C1", "drain", LaneTake::ToDrain, lease)
            .await
            .unwrap()
    );
    assert!(!table.lane_state("C1").await.unwrap().draining);
    table
        .queue_lane_job("C1", "2.0#message", "second", day)
        .await
        .unwrap();
    table
        .queue_lane_job("C1", "1.0#message", "first", day)
        .await
        .unwrap();
    // A redelivery queues nothing twice.
    table
        .queue_lane_job("C1", "1.0#message", "first", day)
        .await
        .unwrap();
    assert_eq!(table.lane_state("C1").await.unwrap().waiting, 2);
    assert!(table.give_back_lane("C1", "ack-1").await.unwrap());
    assert!(!table.give_back_lane("C1", "ack-1").await.unwrap());
    // Jobs wait: the lane is not idle for the next inline copy.
    assert!(
        !table
            .take_lane("C1", "ack-3", LaneTake::IfIdle, lease)
            .await
            .unwrap()
    );

    assert!(
        table
            .take_lane("C1", "drain", LaneTake::ToDrain, lease)
            .await
            .unwrap()
    );
    assert!(table.lane_state("C1").await.unwrap().draining);
    let jobs = table.lane_jobs("C1", 25).await.unwrap();
    let bodies: Vec<&str> = jobs.iter().map(|job| job.body.as_str()).collect();
    assert_eq!(bodies, ["first", "second"]);
    assert!(!table.finish_draining_lane("C1", "drain").await.unwrap());
    for job in &jobs {
        table.finish_lane_job("C1", &job.order).await.unwrap();
        let waiting = table.lane_jobs("C1", 25).await.unwrap();
        assert!(waiting.iter().all(|left| left.order != job.order));
    }
    // Finishing a job twice uncounts it once; the count never goes below zero.
    table.finish_lane_job("C1", &jobs[0].order).await.unwrap();
    assert_eq!(table.lane_state("C1").await.unwrap().waiting, 0);
    // Something queued after the drainer looked keeps it draining.
    table
        .queue_lane_job("C1", "3.0#message", "third", day)
        .await
        .unwrap();
    assert!(!table.finish_draining_lane("C1", "drain").await.unwrap());
    // A count that moved is not taken for a lost job; one that still stands is cleared.
    assert!(
        !table
            .uncount_lost_lane_jobs("C1", "drain", 2)
            .await
            .unwrap()
    );
    assert!(
        !table
            .uncount_lost_lane_jobs("C1", "someone-else", 1)
            .await
            .unwrap()
    );
    table.finish_lane_job("C1", "3.0#message").await.unwrap();
    assert_eq!(table.lane_state("C1").await.unwrap().waiting, 0);
    // A drainer that crashed between removing a job and uncounting it: the count stands
    // alone (the removal done here by hand, without the uncount).
    table
        .queue_lane_job("C1", "5.0#message", "fifth", day)
        .await
        .unwrap();
    LocalAws::shared()
        .await
        .unwrap()
        .dynamodb()
        .delete_item()
        .table_name(table.name())
        .key("pk", AttributeValue::S("LANE#C1".into()))
        .key("sk", AttributeValue::S("JOB#5.0#message".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(table.lane_state("C1").await.unwrap().waiting, 1);
    assert!(table.lane_jobs("C1", 25).await.unwrap().is_empty());
    assert!(!table.finish_draining_lane("C1", "drain").await.unwrap());
    assert!(
        table
            .uncount_lost_lane_jobs("C1", "drain", 1)
            .await
            .unwrap()
    );
    assert!(table.finish_draining_lane("C1", "drain").await.unwrap());
    assert!(
        table
            .take_lane("C1", "ack-4", LaneTake::IfIdle, lease)
            .await
            .unwrap()
    );
}

/// The sweep finds every lane with waiting jobs, and forgets a lane only when it is idle and
/// nothing was queued since it read the registration.
#[tokio::test]
async fn lanes_with_waiting_jobs_stay_registered_for_the_sweep_until_found_idle() {
    let table = table().await;
    let day = chrono::Duration::days(1);
    assert!(table.registered_lanes().await.unwrap().is_empty());
    let before = Utc::now() - chrono::Duration::seconds(1);
    table
        .queue_lane_job("C7", "1.0#message", "first", day)
        .await
        .unwrap();
    let jobs = table.lane_jobs("C7", 25).await.unwrap();
    assert!(jobs[0].queued_at.is_some_and(|at| at >= before));
    let state = table.lane_state("C7").await.unwrap();
    assert_eq!((state.waiting, state.held), (1, false));
    let read = table.registered_lanes().await.unwrap();
    assert_eq!(
        read.iter().map(|r| r.lane.as_str()).collect::<Vec<_>>(),
        ["C7"]
    );

    // A job queued after the sweep read the registration keeps the lane registered.
    table
        .queue_lane_job("C7", "2.0#message", "second", day)
        .await
        .unwrap();
    assert!(!table.forget_lane(&read[0]).await.unwrap());
    assert_eq!(table.registered_lanes().await.unwrap().len(), 1);

    // Held by someone: the sweep sees it.
    let lease = chrono::Duration::minutes(1);
    assert!(
        table
            .take_lane("C7", "drain", LaneTake::ToDrain, lease)
            .await
            .unwrap()
    );
    assert!(table.lane_state("C7").await.unwrap().held);
    for job in table.lane_jobs("C7", 25).await.unwrap() {
        table.finish_lane_job("C7", &job.order).await.unwrap();
    }
    assert!(table.finish_draining_lane("C7", "drain").await.unwrap());
    assert!(!table.lane_state("C7").await.unwrap().held);
    let read = table.registered_lanes().await.unwrap();
    assert!(table.forget_lane(&read[0]).await.unwrap());
    assert!(table.registered_lanes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_case_is_claimed_once_and_linked_both_ways() {
    let table = table().await;
    let id = case_id(7);
    assert_eq!(table.channel_link(&id).await.unwrap(), None);
    assert!(table.claim_case(&id).await.unwrap());
    assert!(!table.claim_case(&id).await.unwrap());
    let claimed = table.channel_link(&id).await.unwrap().unwrap();
    assert_eq!(claimed.channel_id, None);
    assert_eq!(claimed.applied_sequence, 0);

    table
        .link_channel(
            &id,
            "C0123456789",
            "aws-security-incident-response-case-2000000007",
        )
        .await
        .unwrap();
    assert_eq!(
        table.case_for_channel("C0123456789").await.unwrap(),
        Some(id.clone())
    );
    assert_eq!(table.case_for_channel("C0000000000").await.unwrap(), None);
    let linked = table.channel_link(&id).await.unwrap().unwrap();
    assert_eq!(linked.channel_id.as_deref(), Some("C0123456789"));

    // Linking a case that was never claimed fails its condition.
    assert!(matches!(
        table.link_channel(&case_id(8), "C1", "x").await,
        Err(StoreError::Conflict { .. })
    ));
}

#[tokio::test]
async fn the_apply_cursor_moves_one_step_at_a_time() {
    let table = table().await;
    let id = case_id(9);
    assert!(table.claim_case(&id).await.unwrap());
    // Sequence 2 before 1: its predecessor is not applied.
    assert!(matches!(
        table.advance_applied_sequence(&id, 2).await,
        Err(StoreError::Conflict { .. })
    ));
    table.advance_applied_sequence(&id, 1).await.unwrap();
    // Applying 1 again is a duplicate.
    assert!(matches!(
        table.advance_applied_sequence(&id, 1).await,
        Err(StoreError::Conflict { .. })
    ));
    table.advance_applied_sequence(&id, 2).await.unwrap();
    assert_eq!(
        table
            .channel_link(&id)
            .await
            .unwrap()
            .unwrap()
            .applied_sequence,
        2
    );
}

#[tokio::test]
async fn forwarded_messages_are_kept_under_their_view_and_read_back_whole() {
    let table = table().await;
    let message = sirslack_store::ForwardedMessage {
        team_id: "T0TEAM".into(),
        user_id: "U0ALICE".into(),
        channel_id: "C0ALERTS".into(),
        ts: "1700000000.000100".into(),
        thread_ts: None,
        text: "x".repeat(40_000),
        author_id: Some("U0BOB".into()),
        bot_id: None,
        file_ids: vec!["F0ONE".into(), "F0TWO".into()],
        permalink: "https://example.slack.com/archives/C0ALERTS/p1700000000000100".into(),
    };
    assert_eq!(table.forwarded_message("V0VIEW").await.unwrap(), None);
    table
        .put_forwarded_message("V0VIEW", &message)
        .await
        .unwrap();
    assert_eq!(
        table.forwarded_message("V0VIEW").await.unwrap(),
        Some(message.clone())
    );
    assert_eq!(table.forwarded_message("V0OTHER").await.unwrap(), None);
    let bare = sirslack_store::ForwardedMessage {
        text: String::new(),
        author_id: None,
        bot_id: Some("B0BOT".into()),
        file_ids: Vec::new(),
        thread_ts: Some("1699999999.000001".into()),
        ..message
    };
    table.put_forwarded_message("V0BARE", &bare).await.unwrap();
    assert_eq!(table.forwarded_message("V0BARE").await.unwrap(), Some(bare));
}

#[tokio::test]
async fn a_forward_is_recorded_as_sent_and_its_claim_read_as_done_only_once_completed() {
    let table = table().await;
    let message = sirslack_store::ForwardedMessage {
        team_id: "T0TEAM".into(),
        user_id: "U0ALICE".into(),
        channel_id: "C0ALERTS".into(),
        ts: "1700000000.000100".into(),
        thread_ts: None,
        text: "see the file".into(),
        author_id: Some("U0BOB".into()),
        bot_id: None,
        file_ids: vec!["F0ONE".into()],
        permalink: "https://example.slack.com/archives/C0ALERTS/p1700000000000100".into(),
    };
    // Nothing kept: nothing to mark.
    assert!(
        !table
            .mark_forward_sent("V0SENT", "1234567890", true)
            .await
            .unwrap()
    );
    table
        .put_forwarded_message("V0SENT", &message)
        .await
        .unwrap();
    let unsent = table.forward_record("V0SENT").await.unwrap().unwrap();
    assert_eq!(unsent.sent, None);
    assert!(
        table
            .mark_forward_sent("V0SENT", "1234567890", true)
            .await
            .unwrap()
    );
    let sent = table.forward_record("V0SENT").await.unwrap().unwrap();
    assert_eq!(sent.message, message);
    assert_eq!(
        sent.sent,
        Some(sirslack_store::ForwardSent {
            case_id: "1234567890".into(),
            attach_files: true,
        })
    );

    let ttl = chrono::Duration::hours(1);
    let lease = chrono::Duration::seconds(30);
    let key = "forward#T0TEAM#V0SENT";
    assert!(!table.claim_is_done("command", key).await.unwrap());
    table
        .claim_resumable("command", key, "owner-1", lease, ttl)
        .await
        .unwrap();
    assert!(
        !table.claim_is_done("command", key).await.unwrap(),
        "a held claim is not done"
    );
    assert!(
        table
            .complete_claim("command", key, "owner-1", ttl)
            .await
            .unwrap()
    );
    assert!(table.claim_is_done("command", key).await.unwrap());
    assert!(
        !table
            .claim_is_done("command", "forward#T0TEAM#V0OTHER")
            .await
            .unwrap()
    );
}
