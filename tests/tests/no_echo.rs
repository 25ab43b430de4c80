//! No echo: after a full round of traffic in both directions, every message and comment exists
//! exactly once on each side, counted in the stand-ins. Slack sends the app its own posts and
//! uploads back (as it does), and SIR announces the integration's own comments (as it does), so
//! every loop the integration could close is open here.

use std::collections::HashMap;
use std::time::Duration;

use sir_standin::{AttachmentStatus, CaseStatus};
use sirslack_acceptance::{
    WAIT, app_messages, comments_containing, open_case, run, shown, wait_for_app_message,
    wait_for_comment, wait_for_response, world, world_with,
};
use sirslack_local_run::cast::{ALICE, AWS_RESPONDER, BOB};
use sirslack_local_run::{SirTiming, World, WorldConfig};
use sirslack_mapper::filename::slack_upload_file_name;

/// Longer than two schedule periods, so a late echo would have shown.
const QUIET: Duration = Duration::from_secs(5);

const SLACK_MESSAGES: [(&str, &str); 6] = [
    ("alice", "S1: the key was created at 09:14"),
    ("bob", "S2: I see the same in the VPC flow logs"),
    ("alice", "S3: rotating the key now"),
    ("bob", "S4: sessions revoked"),
    ("alice", "S5: writing the timeline"),
    ("bob", "S6: done on my side"),
];

const SIR_COMMENTS: [&str; 5] = [
    "R1: we confirm the key was used from 203.0.113.7",
    "R2: the actor also listed S3 buckets",
    "R3: no data left the account",
    "R4: please keep the CloudTrail logs",
    "R5: we will close once the timeline is in",
];

/// Counts of identical SIR comment bodies that appear more than once.
fn duplicate_comments(world: &World, case_id: &str) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for comment in world.sir().comments(case_id) {
        *counts.entry(comment.body).or_default() += 1;
    }
    counts.into_iter().filter(|(_, count)| *count > 1).collect()
}

/// Counts of identical app messages (text and blocks) that appear more than once.
fn duplicate_messages(world: &World, channel_id: &str) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for message in app_messages(world, channel_id) {
        *counts.entry(shown(&message)).or_default() += 1;
    }
    counts.into_iter().filter(|(_, count)| *count > 1).collect()
}

#[test]
fn after_traffic_both_ways_everything_exists_exactly_once_on_each_side() {
    run(async {
        let world = world().await;
        let case = open_case(&world).await;
        let channel = case.channel.id.clone();

        // Both directions at once: Slack messages and SIR comments interleaved.
        for (index, (who, text)) in SLACK_MESSAGES.iter().enumerate() {
            let person = if *who == "alice" { &ALICE } else { &BOB };
            world.post_message(&channel, person.slack_id, text).unwrap();
            if let Some(comment) = SIR_COMMENTS.get(index) {
                world
                    .sir()
                    .add_comment(&case.case_id, *comment, AWS_RESPONDER)
                    .unwrap();
            }
        }
        let slack_file: Vec<u8> = b"slack side evidence\n".repeat(100);
        let shared = world
            .share_file(
                &channel,
                ALICE.slack_id,
                "slack-evidence.txt",
                slack_file.clone(),
                None,
            )
            .unwrap();
        let slack_file_in_sir = slack_upload_file_name("slack-evidence.txt", &shared.file_id);
        let sir_file: Vec<u8> = b"sir side evidence\n".repeat(100);
        world
            .sir()
            .add_attachment(
                &case.case_id,
                "sir-evidence.txt",
                sir_file.clone(),
                AttachmentStatus::Verified,
            )
            .unwrap();
        let command = world
            .slash_command(&ALICE, &channel, "update-status detection")
            .await
            .unwrap();
        wait_for_response(&world, &command.response_token, "set status").await;

        for (_, text) in SLACK_MESSAGES {
            wait_for_comment(&world, &case.case_id, text).await;
        }
        for text in SIR_COMMENTS {
            wait_for_app_message(&world, &channel, text).await;
        }
        world
            .wait_until("both files on both sides", WAIT, |world| {
                let names: Vec<String> = world
                    .sir()
                    .attachments(&case.case_id)
                    .into_iter()
                    .map(|attachment| attachment.file_name)
                    .collect();
                let files: Vec<String> = world
                    .slack()
                    .files()
                    .into_iter()
                    .map(|file| file.name)
                    .collect();
                [slack_file_in_sir.as_str(), "sir-evidence.txt"]
                    .iter()
                    .all(|name| names.iter().any(|n| n == name))
                    && ["slack-evidence.txt", "sir-evidence.txt"]
                        .iter()
                        .all(|name| files.iter().any(|f| f == name))
            })
            .await
            .expect("the files cross");
        // Let every echo that could happen happen: reconciles, Slack's copies of the app's own
        // posts, SIR's events for the integration's own comments.
        world.tick().await;
        world
            .wait_until_quiet(QUIET, WAIT)
            .await
            .expect("the world settles");

        // SIR: each Slack message once, each responder comment once, nothing twice.
        for (_, text) in SLACK_MESSAGES {
            assert_eq!(
                comments_containing(&world, &case.case_id, text).len(),
                1,
                "{text}"
            );
        }
        for text in SIR_COMMENTS {
            assert_eq!(
                comments_containing(&world, &case.case_id, text).len(),
                1,
                "{text}"
            );
        }
        assert_eq!(duplicate_comments(&world, &case.case_id), Vec::new());
        // Slack: each responder comment once; no Slack message and no `[Slack Update]`
        // comment copied back; the people's own messages exactly once.
        let messages = world.slack().messages(&channel);
        for text in SIR_COMMENTS {
            let copies = messages
                .iter()
                .filter(|message| shown(message).contains(text))
                .count();
            assert_eq!(copies, 1, "{text}");
        }
        for (_, text) in SLACK_MESSAGES {
            let copies = messages
                .iter()
                .filter(|message| shown(message).contains(text))
                .count();
            assert_eq!(copies, 1, "{text} is not echoed back into Slack");
        }
        assert!(
            app_messages(&world, &channel)
                .iter()
                .all(|message| !shown(message).contains("[Slack Update]")),
            "the integration's own SIR comments never come back to Slack"
        );
        assert_eq!(duplicate_messages(&world, &channel), Vec::new());
        // Files: one attachment per file in SIR, one file per attachment in Slack.
        let attachments = world.sir().attachments(&case.case_id);
        assert_eq!(attachments.len(), 2, "{attachments:?}");
        let files = world.slack().files();
        assert_eq!(files.len(), 2, "{files:?}");
        for file in &files {
            let expected = if file.name == "slack-evidence.txt" {
                &slack_file
            } else {
                &sir_file
            };
            assert_eq!(
                file.bytes.as_deref(),
                Some(expected.as_slice()),
                "{}",
                file.name
            );
        }
        assert_eq!(
            world.sir().case(&case.case_id).unwrap().status,
            CaseStatus::DetectionAndAnalysis
        );

        // Nothing changes later: another reconcile and a quiet period add nothing anywhere.
        let comments = world.sir().comments(&case.case_id).len();
        let posted = world.slack().messages(&channel).len();
        world.tick().await;
        world
            .wait_until_quiet(QUIET, WAIT)
            .await
            .expect("the world stays settled");
        assert_eq!(world.sir().comments(&case.case_id).len(), comments);
        assert_eq!(world.slack().messages(&channel).len(), posted);
        // The app's own posts did reach it (Slack sends them), and were dropped there.
        let echoes = world
            .slack_deliveries()
            .into_iter()
            .filter(|delivery| delivery.from_app && delivery.acknowledged())
            .count();
        assert!(
            echoes > SIR_COMMENTS.len(),
            "the app saw its own posts: {echoes}"
        );
    });
}

/// SIR lists an upload only once it is ready, seconds (or minutes) after the bytes land, and
/// answers the upload with no attachment ID. The integration must still know the attachment as
/// its own whenever it shows up: the file crosses to SIR once and never comes back into the
/// channel it came from, while a responder's file still reaches Slack once.
#[test]
fn a_slack_file_sir_lists_late_is_never_posted_back_and_a_sir_file_still_arrives_once() {
    run(async {
        let timing = SirTiming {
            attachment_listing_delay: Duration::from_secs(4),
            attachment_verification_delay: Duration::from_secs(1),
            ..SirTiming::default()
        };
        let world = world_with(WorldConfig {
            sir_timing: timing,
            ..WorldConfig::for_tests()
        })
        .await;
        let case = open_case(&world).await;
        let channel = case.channel.id.clone();

        let slack_bytes: Vec<u8> = b"late listed evidence\n".repeat(200);
        let shared = world
            .share_file(
                &channel,
                ALICE.slack_id,
                "late-evidence.txt",
                slack_bytes.clone(),
                None,
            )
            .unwrap();
        let sir_name = slack_upload_file_name("late-evidence.txt", &shared.file_id);
        wait_for_comment(&world, &case.case_id, &sir_name).await;
        // SIR lists it later, first Pending, then Verified.
        world
            .wait_until("SIR lists the upload as Verified", WAIT, |world| {
                world
                    .sir()
                    .listed_attachments(&case.case_id)
                    .iter()
                    .any(|a| a.file_name == sir_name && a.status == AttachmentStatus::Verified)
            })
            .await
            .expect("SIR lists the upload");
        let own = world
            .sir()
            .listed_attachments(&case.case_id)
            .into_iter()
            .find(|a| a.file_name == sir_name)
            .expect("listed");

        // A responder's comment and file move the case on, so the poller reads the case again
        // now that the upload is listed (a listing alone announces nothing).
        let sir_bytes: Vec<u8> = b"responder evidence\n".repeat(200);
        world
            .sir()
            .add_attachment(
                &case.case_id,
                "late-evidence.txt",
                sir_bytes.clone(),
                AttachmentStatus::Verified,
            )
            .unwrap();
        world
            .sir()
            .add_comment(&case.case_id, "R: we attached our copy", AWS_RESPONDER)
            .unwrap();
        wait_for_app_message(&world, &channel, "R: we attached our copy").await;
        world
            .wait_until("the responder's file in Slack", WAIT, |world| {
                world.slack().files().iter().any(|file| {
                    file.bytes.as_deref() == Some(sir_bytes.as_slice()) && file.completed
                })
            })
            .await
            .expect("the SIR file reaches Slack");
        world.tick().await;
        world
            .wait_until_quiet(QUIET, WAIT)
            .await
            .expect("the world settles");

        // The poller did see the upload listed, and knew it as the integration's own.
        let table = world.table();
        let case_id: sirslack_domain::CaseId = case.case_id.parse().unwrap();
        let known = table.known_attachment_ids(&case_id).await.unwrap();
        assert!(known.contains(&own.attachment_id), "{known:?}");
        // Slack: the person's own file once (theirs), the responder's file once; the upload is
        // not announced in the channel.
        let files = world.slack().files();
        let names: Vec<&str> = files.iter().map(|file| file.name.as_str()).collect();
        let copies = |bytes: &[u8]| {
            files
                .iter()
                .filter(|file| file.bytes.as_deref() == Some(bytes))
                .count()
        };
        assert_eq!(copies(&slack_bytes), 1, "never echoed: {names:?}");
        assert_eq!(copies(&sir_bytes), 1, "{names:?}");
        assert_eq!(files.len(), 2, "{names:?}");
        assert_eq!(
            app_messages(&world, &channel)
                .iter()
                .filter(|message| shown(message).contains(&sir_name))
                .count(),
            0
        );
        // SIR: the Slack file once, the responder's once.
        let attachments = world.sir().attachments(&case.case_id);
        assert_eq!(attachments.len(), 2, "{attachments:?}");
        assert_eq!(
            attachments
                .iter()
                .filter(|attachment| attachment.file_name == sir_name)
                .count(),
            1
        );
    });
}
