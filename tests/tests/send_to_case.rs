//! Sending any Slack message to a case through the full wiring (issue 19 item 2): the message
//! shortcut "Send to SIR case" opens a modal whose case picker lists only the open cases whose
//! channel the person is in (filtered by what they type); the submission becomes one SIR
//! comment with the sender, the author, the permalink and the note (one, however often it is
//! submitted), and a notice with the permalink in the case channel, never echoed back. A
//! person outside the case channel, or one the policy refuses, is told why and SIR gets
//! nothing. With "Attach the message's files" ticked, the message's files become attachments
//! of the case (once), copied by the events handler's lazy `forward_files`, which copies
//! nothing for a job no finished forward stands behind.

use serde_json::{Value, json};
use sirslack_acceptance::{
    ACK_DEADLINE, WAIT, app_messages_showing, comments_containing, open_case_with, run, told,
    type_in_select, use_message_shortcut, wait_for_comment, wait_for_open_view, world,
};
use sirslack_local_run::cast::{ALICE, BOB, CAROL};
use sirslack_local_run::{CaseRequest, Function, Person, World};
use slack_standin::SeedChannel;
use slack_standin::signing::{InputValue, SelectedOption};

const SHORTCUT: &str = "send_to_case";
const MODAL: &str = "send_to_case_modal";
const PICKER: &str = "send_to_case_case";
const NOTE: &str = "send_to_case_note";
const ATTACH: &str = "send_to_case_attach";
const SENT: &str = "sent a Slack message to this case";

/// Someone in the workspace who is in no case channel (Carol, the response team, is in all).
const DAVE: Person = Person {
    slack_id: "U0DAVE0001",
    handle: "dave",
    real_name: "Dave Outsider",
    email: "dave@example.com",
    job_title: "Auditor",
};

/// A channel of no case where Alice, Bob, Carol and Dave talk, and Bob's alert in it.
fn alert(world: &World) -> (String, String) {
    world.add_person(&DAVE).expect("Dave joins the workspace");
    let alerts = world
        .slack()
        .add_channel(SeedChannel {
            bot_is_member: true,
            members: [ALICE, BOB, CAROL, DAVE]
                .iter()
                .map(|person| person.slack_id.to_owned())
                .collect(),
            ..SeedChannel::public("soc-alerts")
        })
        .expect("a channel of no case");
    let ts = world
        .slack()
        .post_user_message(
            &alerts,
            BOB.slack_id,
            "Disk full on db-1 & db-2 <https://grafana.example/d/1|dashboard>",
        )
        .expect("Bob's alert");
    (alerts, ts)
}

/// Two open cases: Alice and Bob watch the first; only Carol (the response team, a watcher of
/// every case) the second.
async fn two_cases(world: &World) -> (String, String, String) {
    let phishing = open_case_with(
        world,
        &CaseRequest {
            title: "Phishing wave against finance".into(),
            ..CaseRequest::default()
        },
    )
    .await;
    let ransomware = open_case_with(
        world,
        &CaseRequest {
            title: "Ransomware on build hosts".into(),
            watchers: vec![CAROL.email.to_owned()],
            ..CaseRequest::default()
        },
    )
    .await;
    (phishing.case_id, phishing.channel.id, ransomware.case_id)
}

/// What the picker offers `person` in their open modal for `typed`: the option values.
async fn offered(world: &World, person: &Person, view_id: &str, typed: &str) -> Vec<String> {
    let reply = type_in_select(world, person, view_id, PICKER, PICKER, typed).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.elapsed < ACK_DEADLINE, "{:?}", reply.elapsed);
    let answer: Value = serde_json::from_str(&reply.body).expect("options JSON");
    answer["options"]
        .as_array()
        .expect("options")
        .iter()
        .map(|option| {
            let text = option["text"]["text"].as_str().unwrap_or_default();
            assert!(text.chars().count() <= 75, "{text}");
            option["value"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

fn form(case_id: &str, note: &str) -> Vec<(&'static str, &'static str, InputValue)> {
    vec![
        (
            PICKER,
            PICKER,
            InputValue::ExternalSelect(SelectedOption::new(case_id, case_id)),
        ),
        (NOTE, NOTE, InputValue::PlainText(note.to_owned())),
    ]
}

/// `person` opens the modal on the alert (the shortcut's ack within Slack's 3 s).
async fn open_modal(world: &World, person: &Person, alerts: &str, ts: &str) -> String {
    let (ack, _) = use_message_shortcut(world, person, alerts, ts, SHORTCUT).await;
    assert_eq!(ack.status, 200, "{}", ack.body);
    assert!(ack.elapsed < ACK_DEADLINE, "{:?}", ack.elapsed);
    wait_for_open_view(world, person.slack_id, MODAL).await.id
}

/// Submits `person`'s modal as Slack does (the app's ack within 3 s).
async fn submit(world: &World, person: &Person, view_id: &str, case_id: &str, note: &str) {
    submit_values(world, person, view_id, &form(case_id, note)).await;
}

/// Submits `person`'s modal with `values` (the app's ack within 3 s).
async fn submit_values(
    world: &World,
    person: &Person,
    view_id: &str,
    values: &[(&'static str, &'static str, InputValue)],
) {
    let submission = world
        .slack()
        .view_submission(person.slack_id, view_id, values)
        .expect("a valid submission");
    let request = world.signer().sign(submission.into_body());
    let ack = world
        .send_signed_with_timeout(&request, ACK_DEADLINE)
        .await
        .expect("the endpoint answers");
    assert_eq!(ack.status, 200, "{}", ack.body);
    assert!(ack.body.contains("\"clear\""), "{}", ack.body);
}

#[test]
fn a_message_from_another_channel_becomes_one_comment_and_a_notice_in_the_case_channel() {
    run(async {
        let world = world().await;
        let (phishing, phishing_channel, ransomware) = two_cases(&world).await;
        let (alerts, ts) = alert(&world);
        let view = open_modal(&world, &ALICE, &alerts, &ts).await;

        // Only Alice's case, however she searches; Carol's case is never offered to her.
        assert_eq!(
            offered(&world, &ALICE, &view, "").await,
            std::slice::from_ref(&phishing)
        );
        assert_eq!(
            offered(&world, &ALICE, &view, "PHISH").await,
            std::slice::from_ref(&phishing)
        );
        assert_eq!(
            offered(&world, &ALICE, &view, &phishing[phishing.len() - 4..]).await,
            std::slice::from_ref(&phishing)
        );
        assert!(offered(&world, &ALICE, &view, "ransom").await.is_empty());

        // Submitted twice, as by a double click: one comment, one notice.
        submit(&world, &ALICE, &view, &phishing, "First alert of the wave").await;
        submit(&world, &ALICE, &view, &phishing, "First alert of the wave").await;
        world
            .wait_until("the comment is in SIR", WAIT, |world| {
                !comments_containing(world, &phishing, SENT).is_empty()
            })
            .await
            .expect("the comment is written");
        world
            .wait_until("the case channel is told", WAIT, |world| {
                app_messages_showing(world, &phishing_channel, "a Slack message") > 0
            })
            .await
            .expect("the notice is posted");
        world
            .wait_until_quiet(std::time::Duration::from_millis(300), WAIT)
            .await
            .expect("the world settles");

        let comments = comments_containing(&world, &phishing, SENT);
        assert_eq!(comments.len(), 1, "a double submit makes one comment");
        let body = &comments[0].body;
        let permalink = world.slack().permalink(&alerts, &ts).expect("permalink");
        assert!(
            body.starts_with(
                "[Slack Update] Alice Analyst (@alice, Slack ID U0ALICE001) sent a Slack message to this case."
            ),
            "{body}"
        );
        assert!(
            body.contains("Author: Bob Builder (@bob, Slack ID U0BOB00001)"),
            "{body}"
        );
        assert!(body.contains(&format!("Link: {permalink}")), "{body}");
        assert!(body.contains("Note: First alert of the wave"), "{body}");
        assert!(
            body.contains("Disk full on db-1 & db-2 dashboard (https://grafana.example/d/1)"),
            "{body}"
        );
        assert!(comments_containing(&world, &ransomware, SENT).is_empty());
        assert_eq!(
            app_messages_showing(&world, &phishing_channel, "a Slack message"),
            1
        );
        // The comment is the integration's own: it never comes back to Slack.
        assert_eq!(app_messages_showing(&world, &phishing_channel, SENT), 0);
        let told = told(&world, &alerts, &ALICE);
        assert!(
            told.iter()
                .any(|text| text.contains(&format!("Sent to case *{phishing}*"))),
            "{told:?}"
        );
        assert!(
            world.iam_refusals().is_empty(),
            "{:#?}",
            world.iam_refusals()
        );
    });
}

#[test]
fn people_outside_the_case_channel_or_refused_by_the_policy_are_told_and_sir_gets_nothing() {
    run(async {
        let world = world().await;
        let (phishing, _, _) = two_cases(&world).await;
        let (alerts, ts) = alert(&world);
        world
            .put_command_policy(
                &json!({"version": 1, "subcommands": {"send-to-case": {"users": [ALICE.slack_id]}}})
                    .to_string(),
            )
            .await
            .expect("the policy is written");

        // Bob is in the case channel, but the policy keeps sending messages to Alice.
        let view = open_modal(&world, &BOB, &alerts, &ts).await;
        assert_eq!(
            offered(&world, &BOB, &view, "").await,
            std::slice::from_ref(&phishing)
        );
        submit(&world, &BOB, &view, &phishing, "").await;
        world
            .wait_until("Bob is told he may not", WAIT, |world| {
                told(world, &alerts, &BOB)
                    .iter()
                    .any(|text| text.contains("send-to-case") && text.contains("Nothing was sent"))
            })
            .await
            .expect("the refusal is told");

        // Dave is in no case channel: the picker offers him nothing, and a forged choice is
        // refused.
        let view = open_modal(&world, &DAVE, &alerts, &ts).await;
        assert!(offered(&world, &DAVE, &view, "").await.is_empty());
        submit(&world, &DAVE, &view, &phishing, "").await;
        world
            .wait_until("Dave is told he is not a member", WAIT, |world| {
                told(world, &alerts, &DAVE)
                    .iter()
                    .any(|text| text.contains("Only members of the channel of case"))
            })
            .await
            .expect("the refusal is told");

        world
            .wait_until_quiet(std::time::Duration::from_millis(300), WAIT)
            .await
            .expect("the world settles");
        assert!(comments_containing(&world, &phishing, SENT).is_empty());
    });
}

/// A lazy job for the events handler's `forward_files`, as anyone allowed to invoke it could
/// send one.
fn forward_files_job(world: &World, view_id: &str, case_id: &str) -> Value {
    json!({"slack_router_lazy": {
        "name": "forward_files",
        "payload": {"view_id": view_id, "team_id": world.team_id(), "case_id": case_id},
        "handed_off_at": chrono::Utc::now().to_rfc3339(),
    }})
}

#[test]
fn a_message_s_file_is_attached_once_when_asked_for_and_a_forged_job_copies_nothing() {
    run(async {
        let world = world().await;
        let (phishing, phishing_channel, ransomware) = two_cases(&world).await;
        let (alerts, _) = alert(&world);
        let content: Vec<u8> = (0..=255u8).cycle().take(50_000).collect();
        let name = "mail headers (raw).eml";
        let shared = world
            .share_file(
                &alerts,
                BOB.slack_id,
                name,
                content.clone(),
                Some("Phish that got through"),
            )
            .expect("Bob shares a file in a channel of no case");
        let view = open_modal(&world, &ALICE, &alerts, &shared.message_ts).await;
        let modal = wait_for_open_view(&world, ALICE.slack_id, MODAL).await;
        assert!(
            modal
                .view
                .to_string()
                .contains("Attach the message's 1 file"),
            "{}",
            modal.view
        );

        // Ticked, and submitted twice as by a double click.
        let mut values = form(&phishing, "Headers of the phish");
        values.push((
            ATTACH,
            ATTACH,
            InputValue::Checkboxes(vec![SelectedOption::new(
                "Attach the message's 1 file",
                "attach_files",
            )]),
        ));
        submit_values(&world, &ALICE, &view, &values).await;
        submit_values(&world, &ALICE, &view, &values).await;

        let expected_name =
            sirslack_mapper::filename::slack_upload_file_name(name, &shared.file_id);
        world
            .wait_until("the SIR attachment", WAIT, |world| {
                !world.sir().attachments(&phishing).is_empty()
            })
            .await
            .expect("the file reaches SIR");
        let attachment = world.sir().attachments(&phishing).remove(0);
        assert_eq!(attachment.file_name, expected_name);
        assert_eq!(
            world
                .sir()
                .attachment_bytes(&phishing, &attachment.attachment_id)
                .as_deref(),
            Some(content.as_slice())
        );
        let note = wait_for_comment(&world, &phishing, "uploaded file").await;
        assert!(
            note.body.starts_with(
                "[Slack Update] Alice Analyst (@alice, Slack ID U0ALICE001) uploaded file"
            ),
            "{}",
            note.body
        );
        world
            .wait_until_quiet(std::time::Duration::from_millis(300), WAIT)
            .await
            .expect("the world settles");
        assert_eq!(world.sir().attachments(&phishing).len(), 1, "attached once");
        assert_eq!(comments_containing(&world, &phishing, SENT).len(), 1);
        assert_eq!(
            comments_containing(&world, &phishing, "uploaded file").len(),
            1
        );
        assert!(
            told(&world, &alerts, &ALICE)
                .iter()
                .any(|text| text.contains("Its file is being attached")),
            "{:?}",
            told(&world, &alerts, &ALICE)
        );
        // The attachment is the integration's own: it never comes back to the case channel.
        let copies = world
            .slack()
            .files()
            .into_iter()
            .filter(|file| file.bytes.as_deref() == Some(content.as_slice()))
            .count();
        assert_eq!(copies, 1, "not posted back to Slack");
        assert_eq!(
            app_messages_showing(&world, &phishing_channel, &expected_name),
            0
        );

        // Forged lazy jobs: the finished forward named with another case, and a modal opened
        // on the same message but never submitted. Nothing is copied, nobody is told.
        let unsent = open_modal(&world, &BOB, &alerts, &shared.message_ts).await;
        for (view_id, case_id) in [
            (&view, &ransomware),
            (&unsent, &phishing),
            (&unsent, &ransomware),
        ] {
            let outcome = world
                .invoke(
                    Function::EventsHandler,
                    forward_files_job(&world, view_id, case_id),
                )
                .await;
            assert!(
                outcome.is_success(),
                "a dropped job is not retried: {outcome:?}"
            );
        }
        world
            .wait_until_quiet(std::time::Duration::from_millis(300), WAIT)
            .await
            .expect("the world settles");
        assert_eq!(world.sir().attachments(&phishing).len(), 1);
        assert!(world.sir().attachments(&ransomware).is_empty());
        assert!(told(&world, &alerts, &BOB).is_empty());
        assert!(
            world.iam_refusals().is_empty(),
            "{:#?}",
            world.iam_refusals()
        );
    });
}
