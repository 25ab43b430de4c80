//! The poller against the local world: the SIR stand-in behind the real SDK client, moto for
//! DynamoDB and EventBridge, and an SQS queue that a rule on the integration bus fills. Every
//! test drives the library handler with the exact event JSON AWS delivers, and reads what was
//! published back from the queue.

mod world;

use std::collections::BTreeSet;

use sir_standin::{
    AttachmentStatus as SirAttachmentStatus, CaseStatus as SirStatus, ClosureCode as SirClosure,
    Fault, FaultKind, IncidentResponder, NewCase, Watcher as SirWatcher,
};
use sirslack_bus::faults::EntryMatch;
use sirslack_domain::{CaseId, CaseStatus, EventPayload, FieldChange, IntegrationEvent};
use sirslack_poller::{PollerError, RunReport};
use sirslack_store::SyncOrigin;
use world::{World, scheduled_event, sir_event};

/// Every SIR operation that reads one case or the IR team (everything but ListCases).
const DETAIL_OPERATIONS: [&str; 4] = [
    "GetCase",
    "ListComments",
    "ListMemberships",
    "GetMembership",
];

fn seed_open(world: &World, title: &str) -> String {
    world
        .sir
        .seed_case(NewCase {
            title: title.to_owned(),
            status: SirStatus::DetectionAndAnalysis,
            ..NewCase::default()
        })
        .expect("seed")
}

fn id(raw: &str) -> CaseId {
    CaseId::new(raw).unwrap()
}

async fn reconcile(world: &World) -> RunReport {
    world
        .poller()
        .handle(&scheduled_event())
        .await
        .expect("the reconcile succeeds")
}

fn detail_calls(world: &World) -> usize {
    DETAIL_OPERATIONS
        .iter()
        .map(|operation| world.sir.call_count(operation))
        .sum()
}

fn kinds(events: &[IntegrationEvent]) -> Vec<&'static str> {
    events.iter().map(IntegrationEvent::detail_type).collect()
}

fn sequences(events: &[IntegrationEvent]) -> Vec<u64> {
    events.iter().map(|e| e.sequence).collect()
}

#[tokio::test]
async fn a_new_case_is_announced_once() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Suspicious console login");

    let report = reconcile(&world).await;
    assert_eq!(report.events_published, 1);
    let events = world.take_events(1).await;
    assert_eq!(kinds(&events), ["CaseCreated"]);
    assert_eq!(events[0].sequence, 1);
    assert_eq!(events[0].idempotency_key, format!("case-created:{case_id}"));
    let EventPayload::CaseCreated { case } = &events[0].payload else {
        panic!("{events:?}")
    };
    assert_eq!(case.id, id(&case_id));
    assert_eq!(case.title, "Suspicious console login");
    assert_eq!(case.status, CaseStatus::DetectionAndAnalysis);

    reconcile(&world).await;
    assert_eq!(world.waiting_events().await, 0);
    let snapshot = world
        .table()
        .snapshot(&id(&case_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.version, 1);
    assert_eq!(snapshot.pending, None);
}

#[tokio::test]
async fn nothing_changed_means_no_events_and_no_detail_calls() {
    let world = World::new().await;
    for n in 0..30 {
        seed_open(&world, &format!("Case {n}"));
    }
    reconcile(&world).await;
    assert_eq!(world.take_events(30).await.len(), 30);

    world.sir.reset_calls();
    let report = reconcile(&world).await;
    assert_eq!(report.events_published, 0);
    assert_eq!(report.cases_listed, 30);
    assert_eq!(world.waiting_events().await, 0);
    assert_eq!(detail_calls(&world), 0, "{:?}", world.sir.calls());
    assert_eq!(
        world.sir.call_count("ListCases"),
        2,
        "30 cases are two pages"
    );
}

#[tokio::test]
async fn a_title_and_status_change_are_one_case_updated() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Suspicious console login");
    reconcile(&world).await;
    world.take_events(1).await;

    world
        .sir
        .set_case_title(&case_id, "Compromised access key")
        .unwrap();
    world
        .sir
        .set_case_status(&case_id, SirStatus::ContainmentEradicationAndRecovery)
        .unwrap();
    reconcile(&world).await;

    let events = world.take_events(1).await;
    assert_eq!(world.waiting_events().await, 0);
    assert_eq!(kinds(&events), ["CaseUpdated"]);
    assert_eq!(events[0].sequence, 2);
    let EventPayload::CaseUpdated { changes } = &events[0].payload else {
        panic!("{events:?}")
    };
    assert_eq!(
        changes,
        &[
            FieldChange::Title {
                old: "Suspicious console login".into(),
                new: "Compromised access key".into()
            },
            FieldChange::Status {
                old: CaseStatus::DetectionAndAnalysis,
                new: CaseStatus::ContainmentEradicationAndRecovery
            },
        ]
    );
}

#[tokio::test]
async fn sixty_comments_over_three_pages_are_published_once() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Data exfiltration");
    reconcile(&world).await;
    world.take_events(1).await;

    let mut comment_ids = Vec::new();
    for n in 0..60 {
        comment_ids.push(
            world
                .sir
                .add_comment(&case_id, format!("Finding {n}"), "AWS Responder")
                .unwrap(),
        );
    }
    world.sir.reset_calls();
    reconcile(&world).await;

    let events = world.take_events(60).await;
    assert_eq!(events.len(), 60);
    assert!(events.iter().all(|e| e.detail_type() == "CommentAdded"));
    assert_eq!(sequences(&events), (2..=61).collect::<Vec<_>>());
    let published: Vec<String> = events
        .iter()
        .map(|e| match &e.payload {
            EventPayload::CommentAdded { comment } => comment.id.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(published, comment_ids, "oldest first");
    assert_eq!(world.sir.call_count("ListComments"), 3, "25 + 25 + 10");

    world.sir.reset_calls();
    reconcile(&world).await;
    assert_eq!(world.waiting_events().await, 0);
    assert_eq!(detail_calls(&world), 0);
}

#[tokio::test]
async fn a_first_sync_announces_the_case_then_its_history() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Ransomware");
    world
        .sir
        .add_comment(&case_id, "First look", "AWS Responder")
        .unwrap();
    world
        .sir
        .add_attachment(
            &case_id,
            "report.pdf",
            b"%PDF".to_vec(),
            SirAttachmentStatus::Verified,
        )
        .unwrap();
    world
        .sir
        .add_attachment(
            &case_id,
            "scan.bin",
            b"..".to_vec(),
            SirAttachmentStatus::Pending,
        )
        .unwrap();
    world
        .sir
        .add_comment(&case_id, "Second look", "AWS Responder")
        .unwrap();

    reconcile(&world).await;
    let events = world.take_events(4).await;
    assert_eq!(world.waiting_events().await, 0);
    assert_eq!(
        kinds(&events),
        [
            "CaseCreated",
            "CommentAdded",
            "CommentAdded",
            "AttachmentAdded"
        ]
    );
    assert_eq!(sequences(&events), [1, 2, 3, 4]);
}

#[tokio::test]
async fn comments_written_by_the_integration_are_never_published() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Phishing");
    reconcile(&world).await;
    world.take_events(1).await;

    let integration_role = "arn:aws:sts::111122223333:assumed-role/sirslack-integration/sirslack";
    world
        .sir
        .add_comment(
            &case_id,
            "[Slack Update] Jane Doe (@jane): on it",
            integration_role,
        )
        .unwrap();
    // A comment whose ID the Slack -> SIR path recorded (whatever its text says).
    let recorded = world
        .sir
        .add_comment(&case_id, "Jane Doe uploaded a file", integration_role)
        .unwrap();
    world
        .table()
        .record_comment(&id(&case_id), &recorded, SyncOrigin::Slack)
        .await
        .unwrap();
    reconcile(&world).await;
    assert_eq!(world.waiting_events().await, 0);

    // The snapshot took the case's new lastUpdatedDate: nothing is read again.
    world.sir.reset_calls();
    reconcile(&world).await;
    assert_eq!(detail_calls(&world), 0);

    // A responder's comment after them still gets through.
    world
        .sir
        .add_comment(&case_id, "Blocked the sender", "AWS Responder")
        .unwrap();
    reconcile(&world).await;
    let events = world.take_events(1).await;
    assert_eq!(kinds(&events), ["CommentAdded"]);
    assert_eq!(events[0].sequence, 2);
}

#[tokio::test]
async fn an_edited_sir_comment_is_announced_once_and_edits_of_integration_comments_never() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Phishing");
    reconcile(&world).await;
    world.take_events(1).await;

    let integration_role = "arn:aws:sts::111122223333:assumed-role/sirslack-integration/sirslack";
    let responder = world
        .sir
        .add_comment(&case_id, "Blocked the sender", "AWS Responder")
        .unwrap();
    let marked = world
        .sir
        .add_comment(
            &case_id,
            "[Slack Update] Jane Doe (@jane): on it",
            integration_role,
        )
        .unwrap();
    let recorded = world
        .sir
        .add_comment(&case_id, "Jane Doe uploaded a file", integration_role)
        .unwrap();
    world
        .table()
        .record_comment(&id(&case_id), &recorded, SyncOrigin::Slack)
        .await
        .unwrap();
    world
        .poller()
        .handle(&sir_event("Case Comment Added", &case_id))
        .await
        .unwrap();
    let events = world.take_events(1).await;
    assert_eq!(kinds(&events), ["CommentAdded"]);
    assert_eq!(world.waiting_events().await, 0);

    // SIR says the comment was updated: the new body goes out once, as an edit of that comment.
    let jane = "arn:aws:iam::111122223333:user/jane";
    world
        .sir
        .edit_comment(
            &case_id,
            &responder,
            "Blocked the sender and its domain",
            jane,
        )
        .unwrap();
    world
        .poller()
        .handle(&sir_event("Case Comment Updated", &case_id))
        .await
        .unwrap();
    let events = world.take_events(1).await;
    assert_eq!(kinds(&events), ["CommentEdited"]);
    assert_eq!(events[0].sequence, 3);
    assert_eq!(
        events[0].idempotency_key,
        format!("comment-edited:{case_id}:{responder}:3")
    );
    let EventPayload::CommentEdited {
        comment,
        edited_by,
        edited_at,
    } = &events[0].payload
    else {
        panic!("{events:?}")
    };
    assert_eq!(comment.id.as_str(), responder);
    assert_eq!(comment.body, "Blocked the sender and its domain");
    assert_eq!(comment.creator, "AWS Responder");
    assert_eq!(edited_by, jane);
    assert!(
        *edited_at > comment.created_at,
        "{edited_at} after {}",
        comment.created_at
    );
    assert_eq!(Some(*edited_at), comment.updated_at);

    // Exactly once: the same event delivered again, and the reconcile, find nothing new.
    world
        .poller()
        .handle(&sir_event("Case Comment Updated", &case_id))
        .await
        .unwrap();
    reconcile(&world).await;
    assert_eq!(world.waiting_events().await, 0);

    // Edits of what the integration wrote are never announced (no echo).
    world
        .sir
        .edit_comment(
            &case_id,
            &marked,
            "[Slack Update] Jane Doe (@jane): on it, and done",
            integration_role,
        )
        .unwrap();
    world
        .sir
        .edit_comment(
            &case_id,
            &recorded,
            "Jane Doe uploaded two files",
            integration_role,
        )
        .unwrap();
    world
        .poller()
        .handle(&sir_event("Case Comment Updated", &case_id))
        .await
        .unwrap();
    reconcile(&world).await;
    assert_eq!(world.waiting_events().await, 0);

    // A second edit is a new fact: announced again, with its own key.
    world
        .sir
        .edit_comment(
            &case_id,
            &responder,
            "Blocked the sender, its domain and its IP",
            jane,
        )
        .unwrap();
    reconcile(&world).await;
    let events = world.take_events(1).await;
    assert_eq!(kinds(&events), ["CommentEdited"]);
    assert_eq!(events[0].sequence, 4);
    assert_eq!(
        events[0].idempotency_key,
        format!("comment-edited:{case_id}:{responder}:4")
    );
}

#[tokio::test]
async fn a_comment_published_before_bodies_were_recorded_is_announced_from_its_next_edit() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Phishing");
    reconcile(&world).await;
    world.take_events(1).await;
    // Published by an older version: recorded without a body hash.
    let old = world
        .sir
        .add_comment(&case_id, "Blocked the sender", "AWS Responder")
        .unwrap();
    world
        .table()
        .record_comment(&id(&case_id), &old, SyncOrigin::Sir)
        .await
        .unwrap();
    world
        .sir
        .edit_comment(
            &case_id,
            &old,
            "Blocked the sender, edited",
            "AWS Responder",
        )
        .unwrap();
    reconcile(&world).await;
    assert_eq!(
        world.waiting_events().await,
        0,
        "what it read before is unknown: its body now is the one to compare with"
    );
    world
        .sir
        .edit_comment(
            &case_id,
            &old,
            "Blocked the sender, edited twice",
            "AWS Responder",
        )
        .unwrap();
    reconcile(&world).await;
    let events = world.take_events(1).await;
    assert_eq!(kinds(&events), ["CommentEdited"]);
}

#[tokio::test]
async fn closing_a_case_publishes_case_closed_last() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Crypto mining");
    reconcile(&world).await;
    world.take_events(1).await;

    world
        .sir
        .add_comment(&case_id, "Root cause found", "AWS Responder")
        .unwrap();
    world
        .sir
        .update_case(&case_id, |case| {
            case.closure_code = Some(SirClosure::InvestigationCompleted);
        })
        .unwrap();
    world
        .sir
        .set_case_status(&case_id, SirStatus::Closed)
        .unwrap();
    reconcile(&world).await;

    let events = world.take_events(2).await;
    assert_eq!(world.waiting_events().await, 0);
    assert_eq!(kinds(&events), ["CommentAdded", "CaseClosed"]);
    let EventPayload::CaseClosed {
        closure_code,
        closed_at,
        title,
    } = &events[1].payload
    else {
        panic!("{events:?}")
    };
    assert_eq!(
        closure_code.as_ref().map(|c| c.as_str()),
        Some("Investigation Completed")
    );
    assert!(closed_at.is_some());
    assert_eq!(title, "Crypto mining");

    // Closed is final: a later change publishes nothing.
    world
        .sir
        .add_comment(&case_id, "Post-mortem link", "AWS Responder")
        .unwrap();
    reconcile(&world).await;
    assert_eq!(world.waiting_events().await, 0);
}

#[tokio::test]
async fn a_case_first_seen_closed_is_stored_silently_without_detail_calls() {
    let world = World::new().await;
    let closed = world
        .sir
        .seed_case(NewCase {
            status: SirStatus::Closed,
            ..NewCase::default()
        })
        .unwrap();
    let report = reconcile(&world).await;
    assert_eq!(report.cases_stored_silently, 1);
    assert_eq!(world.waiting_events().await, 0);
    assert_eq!(detail_calls(&world), 0);
    let snapshot = world.table().snapshot(&id(&closed)).await.unwrap().unwrap();
    assert_eq!(snapshot.status, Some(CaseStatus::Closed));
    assert_eq!(snapshot.version, 0);

    // A change to it is stored from the listing too.
    world
        .sir
        .set_case_title(&closed, "Old case, renamed")
        .unwrap();
    world.sir.reset_calls();
    reconcile(&world).await;
    assert_eq!(detail_calls(&world), 0);
    world.sir.reset_calls();
    reconcile(&world).await;
    assert_eq!(detail_calls(&world), 0);
    assert_eq!(world.waiting_events().await, 0);
}

#[tokio::test]
async fn a_pending_attachment_is_announced_once_verified() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Malware on host");
    reconcile(&world).await;
    world.take_events(1).await;

    let attachment = world
        .sir
        .add_attachment(
            &case_id,
            "memory.dmp",
            b"MDMP".to_vec(),
            SirAttachmentStatus::Pending,
        )
        .unwrap();
    reconcile(&world).await;
    assert_eq!(world.waiting_events().await, 0);
    let snapshot = world
        .table()
        .snapshot(&id(&case_id))
        .await
        .unwrap()
        .unwrap();
    assert!(
        snapshot.attachments_pending,
        "checked again on the next run"
    );

    world
        .sir
        .set_attachment_status(&case_id, &attachment, SirAttachmentStatus::Verified)
        .unwrap();
    reconcile(&world).await;
    let events = world.take_events(1).await;
    assert_eq!(kinds(&events), ["AttachmentAdded"]);
    let EventPayload::AttachmentAdded { attachment: added } = &events[0].payload else {
        panic!("{events:?}")
    };
    assert_eq!(added.id, attachment);
    assert_eq!(added.file_name, "memory.dmp");

    reconcile(&world).await;
    assert_eq!(world.waiting_events().await, 0);
}

#[tokio::test]
async fn a_file_uploaded_from_slack_is_never_published_however_late_sir_lists_it() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Phishing");
    reconcile(&world).await;
    world.take_events(1).await;

    // The events handler records its upload before the bytes go to SIR...
    let own_name = "report-F07SLACK01.pdf";
    world
        .table()
        .record_own_upload(&id(&case_id), own_name, "F07SLACK01", "C0CASE")
        .await
        .unwrap();
    // ...and SIR lists the attachment later, first Pending, then Verified, while a responder
    // adds a file whose name differs only by the Slack file ID.
    let own = world
        .sir
        .add_attachment(
            &case_id,
            own_name,
            b"%PDF".to_vec(),
            SirAttachmentStatus::Pending,
        )
        .unwrap();
    reconcile(&world).await;
    assert_eq!(world.waiting_events().await, 0);
    world
        .sir
        .set_attachment_status(&case_id, &own, SirAttachmentStatus::Verified)
        .unwrap();
    let responder = world
        .sir
        .add_attachment(
            &case_id,
            "report.pdf",
            b"%PDF responder".to_vec(),
            SirAttachmentStatus::Verified,
        )
        .unwrap();
    reconcile(&world).await;
    let events = world.take_events(1).await;
    let EventPayload::AttachmentAdded { attachment } = &events[0].payload else {
        panic!("{events:?}")
    };
    assert_eq!(attachment.id, responder, "only the responder's file");
    let known = world
        .table()
        .known_attachment_ids(&id(&case_id))
        .await
        .unwrap();
    assert!(known.contains(&own), "recognised once, recorded for good");

    reconcile(&world).await;
    assert_eq!(world.waiting_events().await, 0);
}

#[tokio::test]
async fn open_cases_are_rechecked_for_attachments_without_listing_comments() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Recheck me");
    reconcile(&world).await;
    world.take_events(1).await;

    // A recheck interval of zero makes every open case due.
    let mut config = world.config();
    config.attachment_recheck = std::time::Duration::ZERO;
    world.sir.reset_calls();
    world
        .poller_with(config)
        .handle(&scheduled_event())
        .await
        .unwrap();
    assert_eq!(world.sir.call_count("GetCase"), 1);
    assert_eq!(world.sir.call_count("ListComments"), 0);
    assert_eq!(world.waiting_events().await, 0);
    let snapshot = world
        .table()
        .snapshot(&id(&case_id))
        .await
        .unwrap()
        .unwrap();
    assert!(snapshot.attachments_checked_at > chrono::Utc::now() - chrono::Duration::minutes(1));
}

#[tokio::test]
async fn a_failed_membership_read_removes_no_watcher() {
    let world = World::new().await;
    world
        .sir
        .set_incident_response_team(vec![IncidentResponder::new(
            "Ines Responder",
            "IR lead",
            "IR-Lead@example.com",
        )]);
    let case_id = world
        .sir
        .seed_case(NewCase {
            watchers: vec![
                SirWatcher::new("ir-lead@example.com"),
                SirWatcher::new("soc@example.com"),
            ],
            ..NewCase::default()
        })
        .unwrap();
    reconcile(&world).await;
    let events = world.take_events(1).await;
    let EventPayload::CaseCreated { case } = &events[0].payload else {
        panic!("{events:?}")
    };
    let emails: BTreeSet<String> = case.watchers.iter().map(|w| w.email_key()).collect();
    assert_eq!(
        emails,
        BTreeSet::from(["ir-lead@example.com".into(), "soc@example.com".into()]),
        "merged by lower-cased e-mail"
    );

    world.sir.set_membership_failure(true);
    world.sir.set_case_title(&case_id, "Renamed").unwrap();
    world
        .sir
        .update_case(&case_id, |case| {
            case.watchers.retain(|w| w.email != "ir-lead@example.com");
        })
        .unwrap();
    reconcile(&world).await;
    let events = world.take_events(1).await;
    assert_eq!(world.waiting_events().await, 0);
    assert_eq!(kinds(&events), ["CaseUpdated"], "no WatchersChanged");
    let snapshot = world
        .table()
        .snapshot(&id(&case_id))
        .await
        .unwrap()
        .unwrap();
    let kept: BTreeSet<String> = snapshot
        .case
        .unwrap()
        .watchers
        .iter()
        .map(|w| w.email_key())
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(world.sir.call_count("GetMembership") + world.sir.call_count("ListMemberships") > 0);
}

#[tokio::test]
async fn an_ir_team_change_is_a_watchers_change() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Team change");
    reconcile(&world).await;
    world.take_events(1).await;

    world
        .sir
        .set_incident_response_team(vec![IncidentResponder::new(
            "New Responder",
            "Analyst",
            "analyst@example.com",
        )]);
    world
        .sir
        .set_case_title(&case_id, "Team change (renamed)")
        .unwrap();
    reconcile(&world).await;
    let events = world.take_events(2).await;
    assert_eq!(kinds(&events), ["CaseUpdated", "WatchersChanged"]);
    let EventPayload::WatchersChanged { added, removed } = &events[1].payload else {
        panic!("{events:?}")
    };
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].email, "analyst@example.com");
    assert!(removed.is_empty());
}

#[tokio::test]
async fn a_rejected_entry_keeps_the_snapshot_and_is_published_on_the_next_run() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Insider threat");
    reconcile(&world).await;
    world.take_events(1).await;

    world
        .sir
        .add_comment(&case_id, "Interview scheduled", "AWS Responder")
        .unwrap();
    let rejected = world
        .sir
        .add_comment(&case_id, "HR informed", "AWS Responder")
        .unwrap();
    world.rejecter.reject(
        EntryMatch::detail_type("CommentAdded").containing(format!("\"{rejected}\"")),
        "InternalFailure",
        u32::MAX,
    );
    let error = world
        .poller()
        .handle(&scheduled_event())
        .await
        .expect_err("the run reports the failed case");
    let PollerError::PartialFailure { report } = &error else {
        panic!("{error}")
    };
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].case_id, case_id);
    assert!(error.to_string().contains(&case_id), "{error}");
    let snapshot = world
        .table()
        .snapshot(&id(&case_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.version, 1, "not advanced");
    assert!(snapshot.pending.is_some());
    let first_try = world.take_events(1).await;
    assert_eq!(world.waiting_events().await, 0);
    assert_eq!(first_try[0].sequence, 2);

    world.rejecter.clear();
    reconcile(&world).await;
    let second_try = world.take_events(2).await;
    assert_eq!(sequences(&second_try), [2, 3]);
    // The event that got through the first time comes again, identical (same key).
    assert_eq!(second_try[0], first_try[0]);
    let EventPayload::CommentAdded { comment } = &second_try[1].payload else {
        panic!("{second_try:?}")
    };
    assert_eq!(comment.id.as_str(), rejected);
    let snapshot = world
        .table()
        .snapshot(&id(&case_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.version, 3);

    reconcile(&world).await;
    assert_eq!(world.waiting_events().await, 0);
}

#[tokio::test]
async fn a_crash_after_publishing_republishes_the_same_events() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Crash test");
    world
        .sir
        .add_comment(&case_id, "Evidence", "AWS Responder")
        .unwrap();
    world.crash.arm(true);
    let error = world.poller().handle(&scheduled_event()).await.unwrap_err();
    assert!(
        matches!(error, PollerError::PartialFailure { .. }),
        "{error}"
    );
    let first = world.take_events(2).await;
    assert_eq!(kinds(&first), ["CaseCreated", "CommentAdded"]);

    // SIR moves on meanwhile: the replay still publishes exactly what was planned, and the
    // newer change follows with the next sequence numbers.
    world
        .sir
        .set_case_title(&case_id, "Crash test (renamed)")
        .unwrap();
    world.crash.arm(false);
    reconcile(&world).await;
    let second = world.take_events(3).await;
    assert_eq!(world.waiting_events().await, 0);
    assert_eq!(
        second[..2],
        first[..],
        "same events, same sequences, same keys"
    );
    assert_eq!(kinds(&second[2..]), ["CaseUpdated"]);
    assert_eq!(second[2].sequence, 3);
}

#[tokio::test]
async fn sir_throttling_is_retried_with_backoff() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Throttled");
    world
        .sir
        .add_comment(&case_id, "Hello", "AWS Responder")
        .unwrap();
    world
        .sir
        .inject(Fault::on("ListCases", FaultKind::Throttling).times(2));
    world
        .sir
        .inject(Fault::on("GetCase", FaultKind::Throttling).times(2));
    world
        .sir
        .inject(Fault::on("ListComments", FaultKind::Throttling));

    let report = reconcile(&world).await;
    assert_eq!(report.events_published, 2);
    assert_eq!(world.take_events(2).await.len(), 2);
    for (operation, throttled) in [("ListCases", 2), ("GetCase", 2), ("ListComments", 1)] {
        let statuses: Vec<u16> = world
            .sir
            .calls_to(operation)
            .iter()
            .map(|c| c.status)
            .collect();
        assert_eq!(statuses.len(), throttled + 1, "{operation}: {statuses:?}");
        assert!(
            statuses[..throttled].iter().all(|s| *s == 429),
            "{operation}: {statuses:?}"
        );
        assert_eq!(statuses[throttled], 200, "{operation}");
    }
    assert_eq!(world.sir.pending_fault_uses(), 0);
}

#[tokio::test]
async fn one_failing_case_does_not_stop_the_others() {
    let world = World::new().await;
    let first = seed_open(&world, "First");
    let second = seed_open(&world, "Second");
    world.sir.inject(Fault::on(
        "GetCase",
        FaultKind::Custom {
            status: 403,
            error_type: "AccessDeniedException".into(),
            message: "not today".into(),
        },
    ));
    let error = world.poller().handle(&scheduled_event()).await.unwrap_err();
    let PollerError::PartialFailure { report } = error else {
        panic!("{error}")
    };
    assert_eq!(report.failures.len(), 1);
    assert!(
        report.failures[0].error.contains("AccessDeniedException"),
        "{report:?}"
    );
    let failed = report.failures[0].case_id.clone();
    let survivor = if failed == first { &second } else { &first };
    let events = world.take_events(1).await;
    assert_eq!(events[0].case_id.as_str(), survivor.as_str());

    // Retried on the next run.
    reconcile(&world).await;
    let events = world.take_events(1).await;
    assert_eq!(events[0].case_id.as_str(), failed);
    assert_eq!(kinds(&events), ["CaseCreated"]);
}

/// A native event for a case SIR no longer has (deleted since) is logged and skipped: the run
/// succeeds, so the event does not go to the DLQ and raise the alarm; nothing is published.
#[tokio::test]
async fn a_native_event_for_a_case_that_no_longer_exists_is_skipped_not_failed() {
    let world = World::new().await;
    let report = world
        .poller()
        .handle(&sir_event("Case Updated", "9876543210"))
        .await
        .expect("a case that is gone is not a failure");
    assert_eq!(report.trigger, "case");
    assert_eq!(report.cases_gone, 1, "{report:?}");
    assert!(report.failures.is_empty());
    assert_eq!(world.sir.call_count("GetCase"), 1);
    assert_eq!(world.waiting_events().await, 0);
}

/// SIR refusing the poller's credentials is not taken for a missing case: the run fails (the
/// alarm fires, a native event is kept in the DLQ for a redrive) and names the refusal.
#[tokio::test]
async fn access_denied_on_a_native_event_fails_the_run_and_says_so() {
    let world = World::new().await;
    let case = seed_open(&world, "Locked");
    world.sir.inject(Fault::on(
        "GetCase",
        FaultKind::Custom {
            status: 403,
            error_type: "AccessDeniedException".into(),
            message: "not authorized to perform security-ir:GetCase".into(),
        },
    ));
    let error = world
        .poller()
        .handle(&sir_event("Case Updated", &case))
        .await
        .unwrap_err();
    let PollerError::PartialFailure { report } = error else {
        panic!("{error}")
    };
    assert_eq!(report.cases_gone, 0);
    assert_eq!(report.failures.len(), 1);
    assert!(
        report.failures[0].error.contains("AccessDeniedException"),
        "{report:?}"
    );
    // SIR was asked once: a refusal is not retried in-process.
    assert_eq!(world.sir.call_count("GetCase"), 1);
}

#[tokio::test]
async fn a_native_comment_event_reads_only_that_case() {
    let world = World::new().await;
    let watched = seed_open(&world, "Watched");
    let other = seed_open(&world, "Other");
    reconcile(&world).await;
    world.take_events(2).await;

    world
        .sir
        .add_comment(&watched, "New evidence", "AWS Responder")
        .unwrap();
    world.sir.set_case_title(&other, "Other, changed").unwrap();
    world.sir.reset_calls();
    let report = world
        .poller()
        .handle(&sir_event("Case Comment Added", &watched))
        .await
        .unwrap();
    assert_eq!(report.trigger, "case");
    let events = world.take_events(1).await;
    assert_eq!(world.waiting_events().await, 0);
    assert_eq!(kinds(&events), ["CommentAdded"]);
    assert_eq!(events[0].case_id.as_str(), watched);

    let calls = world.sir.calls();
    assert_eq!(world.sir.call_count("ListCases"), 0);
    assert!(
        calls
            .iter()
            .filter_map(|c| c.case_id.as_deref())
            .all(|case| case == watched),
        "{calls:?}"
    );
    assert_eq!(world.sir.call_count("GetCase"), 1);
    assert_eq!(world.sir.call_count("ListComments"), 1);
}

#[tokio::test]
async fn overlapping_runs_announce_a_case_once() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Raced");
    let (a, b, c) = (world.poller(), world.poller(), world.poller());
    let (event, schedule) = (sir_event("Case Created", &case_id), scheduled_event());
    let (first, second, third) =
        tokio::join!(a.handle(&event), b.handle(&event), c.handle(&schedule));
    let published: usize = [first, second, third]
        .into_iter()
        .map(|report| report.expect("no run fails").events_published)
        .sum();
    assert_eq!(published, 1);
    let events = world.take_events(1).await;
    assert_eq!(world.waiting_events().await, 0);
    assert_eq!(kinds(&events), ["CaseCreated"]);
}

#[tokio::test]
async fn events_the_poller_does_not_understand_are_acknowledged() {
    let world = World::new().await;
    seed_open(&world, "Untouched");
    let membership = serde_json::json!({
        "version": "0",
        "id": "0f0c2a36-5c44-4b0a-9a36-3a7f1c3f2b6e",
        "detail-type": "Membership Updated",
        "source": "aws.security-ir",
        "account": "123456789012",
        "time": "2026-10-08T16:53:06Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"membershipId": "m-abc"}
    });
    let report = world.poller().handle(&membership).await.unwrap();
    assert_eq!(report.trigger, "ignored");
    assert!(world.sir.calls().is_empty());
    assert_eq!(world.waiting_events().await, 0);
}

#[tokio::test]
async fn open_cases_last_updated_before_the_sync_floor_get_no_channel_until_updated() {
    let world = World::new().await;
    let old = seed_open(&world, "Open before the deploy");
    // The floor (the deploy's `--sync-existing none`): just after the old case's last update.
    let floor = world.sir.case(&old).unwrap().last_updated_date + chrono::Duration::milliseconds(1);
    // The new case is updated clearly after the floor: SIR's timestamps cross the wire as
    // fractional epoch seconds, so a case stamped within a millisecond of the floor could read
    // back just under it. Wait (on the clock, with a deadline) until 5 ms past the floor.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while chrono::Utc::now() < floor + chrono::Duration::milliseconds(5) {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock did not move"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let new = seed_open(&world, "Opened after the deploy");
    let mut config = world.config();
    config.sync_floor = Some(floor);
    let poller = world.poller_with(config);

    let report = poller.handle(&scheduled_event()).await.unwrap();
    assert_eq!(report.cases_stored_silently, 1);
    let events = world.take_events(1).await;
    assert_eq!(kinds(&events), ["CaseCreated"]);
    assert_eq!(events[0].case_id, id(&new));
    assert_eq!(
        world.sir.calls_to("GetCase").len(),
        1,
        "the old case is not read"
    );
    let stored = world.table().snapshot(&id(&old)).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.case), (0, None));

    // A native event for it (a late one, from before the deploy) publishes nothing either.
    poller
        .handle(&sir_event("Case Created", &old))
        .await
        .unwrap();
    assert_eq!(world.waiting_events().await, 0);

    // Left alone on later runs, attachments included.
    world.sir.reset_calls();
    poller.handle(&scheduled_event()).await.unwrap();
    assert_eq!(world.waiting_events().await, 0);
    assert_eq!(world.sir.call_count("GetCase"), 0);

    // Once updated, it is announced like a new case, with its whole history.
    world
        .sir
        .add_comment(&old, "An update after the deploy", "AWS Responder")
        .unwrap();
    poller.handle(&scheduled_event()).await.unwrap();
    let events = world.take_events(2).await;
    assert_eq!(kinds(&events), ["CaseCreated", "CommentAdded"]);
    assert!(events.iter().all(|event| event.case_id == id(&old)));
    assert_eq!(sequences(&events), [1, 2]);
}

/// A poller whose nudge threshold is `seconds` for every open case.
fn nudging_poller(world: &World, seconds: u64) -> sirslack_poller::Poller {
    let mut config = world.config();
    let threshold = std::time::Duration::from_secs(seconds);
    config.nudges = sirslack_poller::config::NudgePolicy {
        quiet: Some(threshold),
        early: None,
    };
    world.poller_with(config)
}

/// Waits for the clock (not for the system under test) to pass `time`.
async fn wait_for_clock(time: chrono::DateTime<chrono::Utc>) {
    while chrono::Utc::now() < time {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_quiet_case_is_nudged_once_across_overlapping_runs_and_a_crash_replays_the_same_nudge() {
    let world = World::new().await;
    let case_id = seed_open(&world, "Quiet");
    let poller = nudging_poller(&world, 3);
    poller
        .handle(&scheduled_event())
        .await
        .expect("the case is announced");
    world.take_events(1).await;
    let quiet_since = world.sir.case(&case_id).expect("case").last_updated_date;
    wait_for_clock(quiet_since + chrono::Duration::seconds(4)).await;

    // A run that dies between publishing the nudge and confirming it.
    world.crash.arm(true);
    let details_before = detail_calls(&world);
    assert!(poller.handle(&scheduled_event()).await.is_err());
    world.crash.arm(false);
    assert_eq!(
        detail_calls(&world),
        details_before,
        "finding a quiet case reads nothing from SIR"
    );
    // Overlapping runs after it: the plan is finished once, no second nudge is planned.
    let (a, b) = (nudging_poller(&world, 3), nudging_poller(&world, 3));
    let (schedule, native) = (scheduled_event(), sir_event("Case Updated", &case_id));
    let (first, second) = tokio::join!(a.handle(&schedule), b.handle(&native));
    first.expect("no run fails");
    second.expect("no run fails");
    poller
        .handle(&scheduled_event())
        .await
        .expect("no run fails");

    let events = world.take_events(2).await;
    assert_eq!(world.waiting_events().await, 0, "{events:?}");
    assert_eq!(kinds(&events), ["CaseQuiet", "CaseQuiet"], "{events:?}");
    assert_eq!(events[0], events[1], "the replay is the very same event");
    let EventPayload::CaseQuiet {
        quiet_since: published_since,
        status,
        next_nudge_at,
    } = &events[0].payload
    else {
        panic!("{events:?}");
    };
    assert_eq!(published_since.timestamp(), quiet_since.timestamp());
    assert_eq!(*status, CaseStatus::DetectionAndAnalysis);
    let snapshot = world
        .table()
        .snapshot(&id(&case_id))
        .await
        .unwrap()
        .expect("snapshot");
    assert!(snapshot.pending.is_none());
    assert_eq!(
        snapshot.nudge_after.map(|at| at.timestamp()),
        Some(next_nudge_at.timestamp())
    );

    // After the interval, still quiet: the next nudge; a closed case: none.
    wait_for_clock(*next_nudge_at + chrono::Duration::seconds(1)).await;
    reconcile_with(&poller).await;
    let again = world.take_events(1).await;
    assert_eq!(kinds(&again), ["CaseQuiet"]);
    assert_eq!(again[0].sequence, events[0].sequence + 1);
    world
        .sir
        .set_case_status(&case_id, SirStatus::Closed)
        .expect("closed");
    reconcile_with(&poller).await;
    let closing = world.take_events(1).await;
    assert_eq!(kinds(&closing).last(), Some(&"CaseClosed"), "{closing:?}");
    let next = world
        .table()
        .snapshot(&id(&case_id))
        .await
        .unwrap()
        .and_then(|snapshot| snapshot.nudge_after)
        .expect("nudge_after kept");
    wait_for_clock(next + chrono::Duration::seconds(1)).await;
    reconcile_with(&poller).await;
    assert_eq!(
        world.waiting_events().await,
        0,
        "a closed case is never nudged"
    );
}

async fn reconcile_with(poller: &sirslack_poller::Poller) -> RunReport {
    poller
        .handle(&scheduled_event())
        .await
        .expect("the reconcile succeeds")
}
