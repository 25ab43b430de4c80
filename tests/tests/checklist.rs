//! The brief's validation checklist, each item through the full wiring: a case created with the
//! SIR API, the poller woken by SIR's native event, the integration bus, the Slack client's
//! queue, Slack's Events API (signed, delivered to API Gateway), the events handler, its lazy
//! work through the bus, and the command handler invoked asynchronously.

use std::time::Duration;

use sir_standin::{AttachmentStatus, CaseStatus};
use sirslack_acceptance::{
    WAIT, app_messages, app_messages_showing, comments_containing, open_case, open_case_with, run,
    shown, wait_for_app_message, wait_for_comment, wait_for_response, world,
};
use sirslack_local_run::cast::{ALICE, AWS_RESPONDER, BOB, CAROL};
use sirslack_local_run::{CaseRequest, Function, World};

/// Long enough for the schedule (2 s) to have run twice with nothing left to do.
const QUIET: Duration = Duration::from_secs(5);

fn case_status(world: &World, case_id: &str) -> CaseStatus {
    world.sir().case(case_id).expect("the case exists").status
}

// ---- Slack channel created for a new AWS Security IR case ----------------------------------

#[test]
fn a_new_case_gets_one_private_channel_linked_both_ways() {
    run(async {
        let world = world().await;
        let case = open_case(&world).await;

        assert_eq!(
            case.channel.name,
            format!("aws-security-incident-response-case-{}", case.case_id)
        );
        assert!(case.channel.is_private, "channels are private by default");
        assert!(case.channel.bot_is_member);
        let linked = world
            .table()
            .case_for_channel(&case.channel.id)
            .await
            .expect("the table answers");
        assert_eq!(
            linked.map(|id| id.as_str().to_owned()),
            Some(case.case_id.clone())
        );
        let note = wait_for_comment(&world, &case.case_id, "Slack channel created").await;
        assert!(note.body.starts_with("[Slack Update]"), "{}", note.body);
        assert!(note.body.contains(&case.channel.name), "{}", note.body);

        // Reconciles and further native events never make a second channel.
        world
            .sir()
            .set_case_title(&case.case_id, "Renamed")
            .unwrap();
        world.tick().await;
        world
            .wait_until_quiet(QUIET, WAIT)
            .await
            .expect("the world settles");
        let prefix = format!("aws-security-incident-response-case-{}", case.case_id);
        let channels = world
            .slack()
            .channels()
            .into_iter()
            .filter(|channel| channel.name.starts_with(&prefix))
            .count();
        assert_eq!(channels, 1);
    });
}

// ---- Initial notification posted to channel with case details ------------------------------

#[test]
fn the_initial_notification_shows_the_case_details() {
    run(async {
        let world = world().await;
        let request = CaseRequest {
            title: "Compromised IAM key in prod".to_owned(),
            description: "Access key used from 203.0.113.7 to create users".to_owned(),
            watchers: vec![ALICE.email.to_owned()],
            impacted_accounts: vec!["111122223333".to_owned()],
        };
        let case = open_case_with(&world, &request).await;

        let initial = wait_for_app_message(
            &world,
            &case.channel.id,
            "New AWS Security Incident Response case",
        )
        .await;
        let details = shown(&initial);
        for expected in [
            case.case_id.as_str(),
            "Compromised IAM key in prod",
            "Submitted",
            "Access key used from 203.0.113.7 to create users",
            "111122223333",
            "us-east-1",
            "/security-ir",
        ] {
            assert!(
                details.contains(expected),
                "`{expected}` missing from {details}"
            );
        }
        let first = &app_messages(&world, &case.channel.id)[0];
        assert_eq!(first.ts, initial.ts, "the case details come first");
        world
            .wait_until("the topic", WAIT, |world| {
                world
                    .slack()
                    .channel(&case.channel.id)
                    .is_some_and(|channel| {
                        channel.topic == "[Submitted] Compromised IAM key in prod"
                    })
            })
            .await
            .expect("the topic shows status and title");
    });
}

// ---- Case watchers added to Slack channel --------------------------------------------------

#[test]
fn watchers_and_the_response_team_are_invited_and_unknown_ones_named() {
    run(async {
        let world = world().await;
        let request = CaseRequest {
            watchers: vec![
                ALICE.email.to_owned(),
                BOB.email.to_owned(),
                "nobody@example.com".to_owned(),
            ],
            ..CaseRequest::default()
        };
        let case = open_case_with(&world, &request).await;

        world
            .wait_until("the watchers in the channel", WAIT, |world| {
                world
                    .slack()
                    .channel(&case.channel.id)
                    .is_some_and(|channel| {
                        [ALICE.slack_id, BOB.slack_id, CAROL.slack_id]
                            .iter()
                            .all(|member| channel.members.iter().any(|known| known == member))
                    })
            })
            .await
            .expect("watchers and the response team are invited");
        let notice = wait_for_app_message(&world, &case.channel.id, "nobody@example.com").await;
        assert!(
            shown(&notice).contains("could not be invited"),
            "{}",
            shown(&notice)
        );

        // Slack tells the app about each join; SIR gets a system comment per person.
        for person in [&ALICE, &BOB, &CAROL] {
            let joined = wait_for_comment(
                &world,
                &case.case_id,
                &format!(
                    "{} (@{}, Slack ID {}) joined the Slack channel",
                    person.real_name, person.handle, person.slack_id
                ),
            )
            .await;
            assert!(joined.body.starts_with("[Slack Update]"), "{}", joined.body);
        }
        let members = world.slack().channel(&case.channel.id).unwrap().members;
        assert_eq!(members.len(), 4, "the bot and three people: {members:?}");
    });
}

// ---- Messages in Slack sync to AWS Security IR as comments ---------------------------------

#[test]
fn slack_messages_become_sir_comments_in_order_with_their_author() {
    run(async {
        let world = world().await;
        let case = open_case(&world).await;
        let channel = &case.channel.id;

        let first = world
            .post_message(
                channel,
                ALICE.slack_id,
                "First finding: the key was created at 09:14",
            )
            .unwrap();
        world
            .post_message(
                channel,
                BOB.slack_id,
                "<@U0ALICE001> rotated the key & revoked the sessions",
            )
            .unwrap();
        world
            .slack()
            .post_user_reply(channel, ALICE.slack_id, "Thanks, confirmed", &first)
            .unwrap();

        let one = wait_for_comment(&world, &case.case_id, "First finding").await;
        let two = wait_for_comment(&world, &case.case_id, "rotated the key").await;
        let three = wait_for_comment(&world, &case.case_id, "Thanks, confirmed").await;
        assert_eq!(
            one.body,
            "[Slack Update] Alice Analyst (@alice, Slack ID U0ALICE001): First finding: the key was created at 09:14"
        );
        assert_eq!(
            two.body,
            "[Slack Update] Bob Builder (@bob, Slack ID U0BOB00001): @Alice Analyst rotated the key & revoked the sessions",
            "mentions and entities are made plain"
        );
        assert!(three.body.contains("replied in thread"), "{}", three.body);
        assert!(
            one.comment_id < two.comment_id && two.comment_id < three.comment_id,
            "in the order they were written"
        );

        world.wait_until_quiet(QUIET, WAIT).await.expect("settles");
        for needle in ["First finding", "rotated the key", "Thanks, confirmed"] {
            assert_eq!(comments_containing(&world, &case.case_id, needle).len(), 1);
        }
    });
}

// ---- Comments in AWS Security IR sync to Slack as messages ---------------------------------

#[test]
fn sir_comments_become_slack_messages_in_order_with_their_author() {
    run(async {
        let world = world().await;
        let case = open_case(&world).await;
        let channel = &case.channel.id;

        world
            .sir()
            .add_comment(
                &case.case_id,
                "We see API calls from 203.0.113.7",
                AWS_RESPONDER,
            )
            .unwrap();
        world
            .sir()
            .add_comment(&case.case_id, "Please rotate the key <now>", AWS_RESPONDER)
            .unwrap();

        let one = wait_for_app_message(&world, channel, "We see API calls from 203.0.113.7").await;
        let two = wait_for_app_message(&world, channel, "Please rotate the key").await;
        assert!(shown(&one).contains(AWS_RESPONDER), "{}", shown(&one));
        assert!(
            shown(&two).contains("&lt;now&gt;"),
            "text from SIR is escaped for Slack: {}",
            shown(&two)
        );
        let order: Vec<String> = app_messages(&world, channel)
            .into_iter()
            .map(|message| message.ts)
            .collect();
        let position = |ts: &str| order.iter().position(|known| known == ts).unwrap();
        assert!(position(&one.ts) < position(&two.ts));

        world.wait_until_quiet(QUIET, WAIT).await.expect("settles");
        assert_eq!(app_messages_showing(&world, channel, "We see API calls"), 1);
        assert_eq!(
            app_messages_showing(&world, channel, "Please rotate the key"),
            1
        );
    });
}

#[test]
fn a_sir_comment_edited_in_sir_is_rewritten_in_the_slack_message_that_carried_it() {
    run(async {
        let world = world().await;
        let case = open_case(&world).await;
        let channel = &case.channel.id;

        let comment_id = world
            .sir()
            .add_comment(&case.case_id, "The actor used key AKIA-ONE", AWS_RESPONDER)
            .unwrap();
        let posted = wait_for_app_message(&world, channel, "The actor used key AKIA-ONE").await;
        world.wait_until_quiet(QUIET, WAIT).await.expect("settles");
        let before = app_messages(&world, channel).len();

        world
            .sir()
            .edit_comment(
                &case.case_id,
                &comment_id,
                "The actor used keys AKIA-ONE and AKIA-TWO",
                AWS_RESPONDER,
            )
            .unwrap();
        let rewritten = wait_for_app_message(&world, channel, "AKIA-TWO").await;
        assert_eq!(
            rewritten.ts, posted.ts,
            "the same Slack message shows the edit"
        );
        assert!(rewritten.edited_ts.is_some(), "updated with chat.update");
        assert!(
            shown(&rewritten).contains("(edited in SIR "),
            "the edit is marked: {}",
            shown(&rewritten)
        );

        world.wait_until_quiet(QUIET, WAIT).await.expect("settles");
        assert_eq!(
            app_messages(&world, channel).len(),
            before,
            "no extra message"
        );
        assert_eq!(app_messages_showing(&world, channel, "AKIA-TWO"), 1);
        assert_eq!(
            comments_containing(&world, &case.case_id, "AKIA").len(),
            1,
            "nothing echoed back to SIR"
        );
    });
}

// ---- Slash commands work and return expected results ---------------------------------------

#[test]
fn status_and_summarize_answer_only_the_person_who_asked() {
    run(async {
        let world = world().await;
        let case = open_case(&world).await;

        let status = world
            .slash_command(&ALICE, &case.channel.id, "status")
            .await
            .unwrap();
        assert_eq!(status.ack.status, 200);
        assert!(
            status.ack.body.contains("Working on it"),
            "{}",
            status.ack.body
        );
        let card = wait_for_response(&world, &status.response_token, &case.case_id).await;
        assert_ne!(card.response_type.as_deref(), Some("in_channel"));
        assert_eq!(
            card.text.as_deref(),
            Some(format!("Case {} is Submitted: Test Security Incident", case.case_id).as_str())
        );

        world
            .sir()
            .add_comment(&case.case_id, "Found the IOC in CloudTrail", AWS_RESPONDER)
            .unwrap();
        let summarize = world
            .slash_command(&BOB, &case.channel.id, "summarize")
            .await
            .unwrap();
        assert_eq!(summarize.ack.status, 200);
        let summary = wait_for_response(
            &world,
            &summarize.response_token,
            &format!("Summary of case {}", case.case_id),
        )
        .await;
        assert_ne!(summary.response_type.as_deref(), Some("in_channel"));
        assert!(
            summary
                .body
                .to_string()
                .contains("Found the IOC in CloudTrail"),
            "the summary lists the last comments"
        );
        assert_eq!(case_status(&world, &case.case_id), CaseStatus::Submitted);
    });
}

#[test]
fn update_commands_change_the_case_in_sir_announce_it_and_audit_it() {
    run(async {
        let world = world().await;
        let case = open_case(&world).await;
        let channel = &case.channel.id;

        let status = world
            .slash_command(&ALICE, channel, "update-status detection")
            .await
            .unwrap();
        let announced = wait_for_response(&world, &status.response_token, "set status").await;
        assert_eq!(announced.response_type.as_deref(), Some("in_channel"));
        assert_eq!(
            announced.text.as_deref(),
            Some("Alice Analyst set status to Detection and Analysis (was Submitted)")
        );
        assert_eq!(
            case_status(&world, &case.case_id),
            CaseStatus::DetectionAndAnalysis
        );
        wait_for_comment(
            &world,
            &case.case_id,
            "[Slack Update] Alice Analyst (@alice, Slack ID U0ALICE001) ran /security-ir update-status: status changed from Submitted to Detection and Analysis",
        )
        .await;

        let title = world
            .slash_command(&ALICE, channel, "update-title Leaked key in prod")
            .await
            .unwrap();
        wait_for_response(&world, &title.response_token, "changed the title").await;
        assert_eq!(
            world.sir().case(&case.case_id).unwrap().title,
            "Leaked key in prod"
        );

        let description = world
            .slash_command(&BOB, channel, "update-description Key rotated at 12:00")
            .await
            .unwrap();
        wait_for_response(
            &world,
            &description.response_token,
            "replaced the description",
        )
        .await;
        assert_eq!(
            world.sir().case(&case.case_id).unwrap().description,
            "Key rotated at 12:00"
        );

        let refused = world
            .slash_command(&ALICE, channel, "update-status Resolved")
            .await
            .unwrap();
        let answer = refused.ack.body.clone()
            + &world
                .slack()
                .response_posts(&refused.response_token)
                .iter()
                .map(|post| post.body.to_string())
                .collect::<String>();
        let refusal = if answer.contains("is not a case status") {
            answer
        } else {
            wait_for_response(&world, &refused.response_token, "is not a case status")
                .await
                .body
                .to_string()
        };
        assert!(
            refusal.contains("`Resolved` is not a case status"),
            "{refusal}"
        );
        assert_eq!(
            case_status(&world, &case.case_id),
            CaseStatus::DetectionAndAnalysis
        );

        // The channel follows the case: the topic shows the new status and title.
        world
            .wait_until("the topic", WAIT, |world| {
                world.slack().channel(channel).is_some_and(|channel| {
                    channel.topic == "[Detection and Analysis] Leaked key in prod"
                })
            })
            .await
            .expect("the topic follows the case");
    });
}

/// Slack sends `&`, `<`, `>` escaped (`&amp;`, `&lt;`, `&gt;`); what reaches SIR is what the
/// person typed, unescaped once.
#[test]
fn text_with_lt_and_amp_reaches_sir_as_typed() {
    run(async {
        let world = world().await;
        let case = open_case(&world).await;
        let channel = &case.channel.id;

        let title = world
            .slash_command(&ALICE, channel, "update-title a < b & c")
            .await
            .unwrap();
        wait_for_response(&world, &title.response_token, "changed the title").await;
        assert_eq!(world.sir().case(&case.case_id).unwrap().title, "a < b & c");
        let audit = wait_for_comment(&world, &case.case_id, "ran /security-ir update-title").await;
        assert!(audit.body.contains("\"a < b & c\""), "{}", audit.body);

        let description = world
            .slash_command(&BOB, channel, "update-description x > y && z")
            .await
            .unwrap();
        wait_for_response(
            &world,
            &description.response_token,
            "replaced the description",
        )
        .await;
        assert_eq!(
            world.sir().case(&case.case_id).unwrap().description,
            "x > y && z"
        );

        world
            .post_message(channel, ALICE.slack_id, "x < y")
            .unwrap();
        let comment = wait_for_comment(&world, &case.case_id, "x < y").await;
        assert_eq!(
            comment.body,
            "[Slack Update] Alice Analyst (@alice, Slack ID U0ALICE001): x < y"
        );
        for escaped in ["&lt;", "&gt;", "&amp;"] {
            assert!(
                comments_containing(&world, &case.case_id, escaped).is_empty(),
                "no SIR comment carries {escaped}"
            );
        }
    });
}

#[test]
fn close_asks_first_and_its_button_closes_the_case_and_archives_the_channel() {
    run(async {
        let world = world().await;
        let case = open_case(&world).await;
        let channel = &case.channel.id;

        let close = world.slash_command(&ALICE, channel, "close").await.unwrap();
        let question =
            wait_for_response(&world, &close.response_token, "command_close_confirm").await;
        assert_ne!(question.response_type.as_deref(), Some("in_channel"));
        assert_eq!(
            case_status(&world, &case.case_id),
            CaseStatus::Submitted,
            "not yet"
        );

        let click = world
            .click(
                &ALICE,
                channel,
                "1700000000.000100",
                "command_close_confirm",
                "close confirm",
            )
            .await
            .unwrap();
        assert_eq!(click.ack.status, 200);
        let closed = wait_for_response(&world, &click.response_token, "closed the case").await;
        assert_eq!(closed.response_type.as_deref(), Some("in_channel"));
        assert_eq!(case_status(&world, &case.case_id), CaseStatus::Closed);
        world
            .wait_until("the channel archived", WAIT, |world| {
                world.slack().channel(channel).is_some_and(|channel| {
                    channel.is_archived && channel.topic.starts_with("[Closed]")
                })
            })
            .await
            .expect("the channel is archived when the case closes");
    });
}

#[test]
fn help_and_unknown_subcommands_are_answered_at_once_without_the_command_handler() {
    run(async {
        let world = world().await;
        let case = open_case(&world).await;

        let help = world
            .slash_command(&ALICE, &case.channel.id, "help")
            .await
            .unwrap();
        assert_eq!(help.ack.status, 200);
        for subcommand in [
            "status",
            "update-status",
            "update-title",
            "update-description",
            "close",
            "summarize",
        ] {
            assert!(help.ack.body.contains(subcommand), "{}", help.ack.body);
        }
        let unknown = world
            .slash_command(&ALICE, &case.channel.id, "frobnicate")
            .await
            .unwrap();
        assert!(
            unknown.ack.body.contains("is not a /security-ir command"),
            "{}",
            unknown.ack.body
        );
        let invoked = world
            .invocations()
            .iter()
            .filter(|invocation| invocation.function == Function::CommandHandler)
            .count();
        assert_eq!(invoked, 0);
    });
}

// ---- File uploads in Slack sync to AWS Security IR -----------------------------------------

#[test]
fn a_slack_file_becomes_a_sir_attachment_once_and_is_not_copied_back() {
    run(async {
        let world = world().await;
        let case = open_case(&world).await;
        let content: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let name = "evidence (copy) é.log";

        let shared = world
            .share_file(
                &case.channel.id,
                ALICE.slack_id,
                name,
                content.clone(),
                Some("From the laptop"),
            )
            .unwrap();
        // SIR names it after the Slack file, so the integration knows it as its own upload.
        let expected_name =
            sirslack_mapper::filename::slack_upload_file_name(name, &shared.file_id);
        assert_eq!(
            expected_name,
            format!("evidence_copy_e-{}.log", shared.file_id)
        );
        world
            .wait_until("the SIR attachment", WAIT, |world| {
                !world.sir().attachments(&case.case_id).is_empty()
            })
            .await
            .expect("the file reaches SIR");
        let attachment = world.sir().attachments(&case.case_id).remove(0);
        assert_eq!(attachment.file_name, expected_name);
        assert_eq!(
            world
                .sir()
                .attachment_bytes(&case.case_id, &attachment.attachment_id)
                .as_deref(),
            Some(content.as_slice())
        );
        let note = wait_for_comment(&world, &case.case_id, "uploaded file").await;
        assert!(note.body.starts_with(
            "[Slack Update] Alice Analyst (@alice, Slack ID U0ALICE001) uploaded file"
        ));
        assert!(note.body.contains(&expected_name), "{}", note.body);
        assert!(note.body.contains("From the laptop"), "{}", note.body);

        world.wait_until_quiet(QUIET, WAIT).await.expect("settles");
        assert_eq!(world.sir().attachments(&case.case_id).len(), 1);
        let copies = world
            .slack()
            .files()
            .into_iter()
            .filter(|file| file.bytes.as_deref() == Some(content.as_slice()))
            .count();
        assert_eq!(copies, 1, "the attachment is not posted back to Slack");
    });
}

// ---- Attachments in AWS Security IR sync to Slack ------------------------------------------

#[test]
fn a_verified_sir_attachment_becomes_a_slack_file_once() {
    run(async {
        let world = world().await;
        let case = open_case(&world).await;
        let content =
            br#"{"eventName":"CreateAccessKey","sourceIPAddress":"203.0.113.7"}"#.to_vec();

        let attachment_id = world
            .sir()
            .add_attachment(
                &case.case_id,
                "cloudtrail-extract.json",
                content.clone(),
                AttachmentStatus::Pending,
            )
            .unwrap();
        world.tick().await;
        world.wait_until_quiet(QUIET, WAIT).await.expect("settles");
        assert!(
            world.slack().files().is_empty(),
            "a Pending attachment (not yet scanned) is not copied"
        );

        world
            .sir()
            .set_attachment_status(&case.case_id, &attachment_id, AttachmentStatus::Verified)
            .unwrap();
        world
            .wait_until("the Slack file shared in the channel", WAIT, |world| {
                world.slack().files().iter().any(|file| {
                    file.name == "cloudtrail-extract.json"
                        && file.completed
                        && !file.channels.is_empty()
                })
            })
            .await
            .expect("the attachment reaches Slack");
        let file = world
            .slack()
            .files()
            .into_iter()
            .find(|file| file.name == "cloudtrail-extract.json")
            .unwrap();
        assert_eq!(file.bytes.as_deref(), Some(content.as_slice()));
        assert_eq!(file.channels, vec![case.channel.id.clone()]);
        assert_eq!(file.user, world.slack().bot_user_id());
        let shared =
            wait_for_app_message(&world, &case.channel.id, "cloudtrail-extract.json").await;
        assert!(shared.files.contains(&file.id));

        world.wait_until_quiet(QUIET, WAIT).await.expect("settles");
        assert_eq!(
            world.sir().attachments(&case.case_id).len(),
            1,
            "not copied back to SIR"
        );
        assert_eq!(world.slack().files().len(), 1);
    });
}

// ---- App Home: the open cases whose channel the person is in --------------------------------

/// Someone in the workspace who is in no case channel.
const DAVE: sirslack_local_run::Person = sirslack_local_run::Person {
    slack_id: "U0DAVE0001",
    handle: "dave",
    real_name: "Dave Outsider",
    email: "dave@example.com",
    job_title: "Auditor",
};

/// The case IDs the person's published Home tab lists, sorted; `None` before any publish.
fn home_case_ids(world: &World, user_id: &str) -> Option<Vec<String>> {
    let view = world.slack().home_view(user_id)?;
    let mut ids: Vec<String> = view["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|block| block.pointer("/text/text")?.as_str())
        .filter_map(|text| text.strip_prefix("Case "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    ids.sort();
    Some(ids)
}

#[test]
fn app_home_lists_exactly_the_open_cases_whose_channel_the_person_is_in() {
    run(async {
        let world = world().await;
        world.add_person(&DAVE).expect("Dave joins the workspace");
        let shared = open_case(&world).await;
        let alices = open_case_with(
            &world,
            &CaseRequest {
                title: "Only <Alice> & the team".to_owned(),
                watchers: vec![ALICE.email.to_owned()],
                ..CaseRequest::default()
            },
        )
        .await;
        // A channel that is no case's, with the bot, Alice and Dave in it.
        world
            .slack()
            .add_channel(slack_standin::SeedChannel {
                is_private: true,
                bot_is_member: true,
                members: vec![ALICE.slack_id.to_owned(), DAVE.slack_id.to_owned()],
                ..slack_standin::SeedChannel::public("coffee")
            })
            .expect("a channel of no case");
        world
            .wait_until_quiet(QUIET, WAIT)
            .await
            .expect("the world settles");
        let in_channel = |case: &sirslack_acceptance::OpenCase, user: &str| {
            world
                .slack()
                .channel(&case.channel.id)
                .is_some_and(|channel| channel.members.iter().any(|member| member == user))
        };
        assert!(in_channel(&shared, BOB.slack_id) && !in_channel(&alices, BOB.slack_id));
        assert!(in_channel(&shared, ALICE.slack_id) && in_channel(&alices, ALICE.slack_id));

        // The command policy lets Alice, Bob and Carol look up and change cases, only Alice
        // close them, and Dave nothing; Alice is enrolled for one-time codes.
        world
            .put_command_policy(&format!(
                r#"{{"version":1,"readOnly":{{"users":["{a}","{b}","{c}"]}},"mutating":{{"users":["{a}","{b}","{c}"]}},"close":{{"users":["{a}"]}}}}"#,
                a = ALICE.slack_id,
                b = BOB.slack_id,
                c = CAROL.slack_id,
            ))
            .await
            .expect("the policy is written");
        world
            .enrol_for_one_time_codes(ALICE.slack_id, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
            .await
            .expect("Alice is enrolled");
        // SIR answers nothing while the tabs are opened: Home reads Slack and the table only.
        world
            .sir()
            .inject(sir_standin::Fault::any(sir_standin::FaultKind::InternalError).times(u32::MAX));
        let people = [ALICE, BOB, CAROL, DAVE];
        for person in &people {
            world.open_app_home(person.slack_id);
        }
        world
            .wait_until("every Home tab published", WAIT, |world| {
                people
                    .iter()
                    .all(|person| world.slack().home_view(person.slack_id).is_some())
            })
            .await
            .expect("the Home tabs are published");
        world.sir().clear_faults();
        // Slack got its 200 at once, on the first attempt, for every open (the work is lazy).
        let home_deliveries: Vec<_> = world
            .slack_deliveries()
            .into_iter()
            .filter(|delivery| delivery.event_type == "app_home_opened")
            .collect();
        assert_eq!(home_deliveries.len(), people.len(), "{home_deliveries:#?}");
        assert!(
            home_deliveries
                .iter()
                .all(|delivery| delivery.acknowledged()
                    && delivery.attempt == 0
                    && delivery.elapsed < Duration::from_secs(3)),
            "{home_deliveries:#?}"
        );

        let mut both = vec![shared.case_id.clone(), alices.case_id.clone()];
        both.sort();
        assert_eq!(home_case_ids(&world, ALICE.slack_id), Some(both.clone()));
        assert_eq!(
            home_case_ids(&world, BOB.slack_id),
            Some(vec![shared.case_id.clone()])
        );
        assert_eq!(home_case_ids(&world, DAVE.slack_id), Some(Vec::new()));
        // Carol (the response team) sees exactly the cases whose channel she is in.
        let carols: Vec<String> = both
            .iter()
            .filter(|id| {
                let case = if **id == shared.case_id {
                    &shared
                } else {
                    &alices
                };
                in_channel(case, CAROL.slack_id)
            })
            .cloned()
            .collect();
        assert_eq!(home_case_ids(&world, CAROL.slack_id), Some(carols));

        let alice_view = world
            .slack()
            .home_view(ALICE.slack_id)
            .expect("published")
            .to_string();
        assert!(
            alice_view.contains("Only &lt;Alice&gt; &amp; the team"),
            "{alice_view}"
        );
        assert!(
            alice_view.contains(&format!("<#{}>", alices.channel.id)),
            "{alice_view}"
        );
        assert!(alice_view.contains("Status: Submitted"), "{alice_view}");
        assert!(
            alice_view.contains(&format!(
                "#/cases/{}|Open in the AWS console>",
                alices.case_id
            )),
            "{alice_view}"
        );
        let dave_view = world
            .slack()
            .home_view(DAVE.slack_id)
            .expect("published")
            .to_string();
        assert!(
            dave_view.contains(
                "You are not in the channel of any open AWS Security Incident Response case"
            ),
            "{dave_view}"
        );
        assert!(!dave_view.contains(&shared.case_id) && !dave_view.contains(&alices.case_id));
        // Each person sees what the policy lets *them* run, and their own enrolment.
        assert!(
            alice_view.contains("`update-status` (with a one-time code)")
                && alice_view.contains("`close` (with a one-time code)")
                && !alice_view.contains("Not allowed for you")
                && alice_view.contains("You are enrolled"),
            "{alice_view}"
        );
        let bob_view = world
            .slack()
            .home_view(BOB.slack_id)
            .expect("published")
            .to_string();
        assert!(
            bob_view.contains("as a member: `status`, `summarize`, `update-status`,")
                && bob_view.contains("Not allowed for you: `close` (the policy does not list you)")
                && bob_view.contains("You are not enrolled"),
            "{bob_view}"
        );
        // People the policy lets declare a case get the button; its modal opens from Home.
        assert!(alice_view.contains("declare_open"), "{alice_view}");
        assert!(!dave_view.contains("declare_open"), "{dave_view}");
        let pressed = world
            .press_home_button(&ALICE, "declare_open")
            .await
            .expect("the button is pressed");
        assert_eq!(pressed.status, 200, "{}", pressed.body);
        world
            .wait_until("the declare modal opens for Alice", WAIT, |world| {
                world
                    .slack()
                    .open_views(ALICE.slack_id)
                    .last()
                    .is_some_and(|view| view.callback_id() == "declare_case")
            })
            .await
            .expect("the Home button opens the declare modal");
        // Dave, whom the policy refuses everything, is told so plainly.
        assert!(
            dave_view.contains(
                "The workspace's command policy does not let you run any `/security-ir` subcommand"
            ),
            "{dave_view}"
        );
        assert!(
            world.iam_refusals().is_empty(),
            "{:#?}",
            world.iam_refusals()
        );

        // Refreshed when opened: Bob is added to Alice's case channel and opens Home again.
        world
            .slack()
            .add_channel_member(&alices.channel.id, BOB.slack_id)
            .expect("Bob is added");
        world.open_app_home(BOB.slack_id);
        world
            .wait_until("Bob's Home shows both cases", WAIT, |world| {
                home_case_ids(world, BOB.slack_id).as_ref() == Some(&both)
            })
            .await
            .expect("Bob's Home is refreshed");

        // The Messages tab publishes nothing (the app has none).
        let publishes = world.slack().call_count("views.publish");
        world.open_app_tab(DAVE.slack_id, "messages");
        world
            .wait_until_quiet(QUIET, WAIT)
            .await
            .expect("the world settles");
        assert_eq!(world.slack().call_count("views.publish"), publishes);
    });
}
