//! No echo: after a full round of traffic in both directions, every message and comment exists
//! exactly once on each side, counted in the stand-ins. Slack sends the app its own posts and
//! uploads back (as it does), and SIR announces the integration's own comments (as it does), so
//! every loop the integration could close is open here.

use std::collections::HashMap;
use std::time::Duration;

use sir_standin::{AttachmentStatus, CaseStatus};
use sirslack_acceptance::{
    WAIT, app_messages, comments_containing, open_case, run, shown, wait_for_app_message,
    wait_for_comment, wait_for_response, world,
};
use sirslack_local_run::World;
use sirslack_local_run::cast::{ALICE, AWS_RESPONDER, BOB};

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
        world
            .share_file(
                &channel,
                ALICE.slack_id,
                "slack-evidence.txt",
                slack_file.clone(),
                None,
            )
            .unwrap();
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
                ["slack-evidence.txt", "sir-evidence.txt"]
                    .iter()
                    .all(|name| names.iter().any(|n| n == name) && files.iter().any(|f| f == name))
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
