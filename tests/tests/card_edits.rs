//! Editing a case from its case message through the full wiring (issue 19 item 3): the Edit
//! title button opens a modal pre-filled with the title the poller last synced (`views.open`
//! with the click's trigger), a title over 300 characters is answered on its field, a valid
//! one changes SIR once however often the form is submitted, with one audit comment and one
//! announcement, exactly as `/security-ir update-title`. A click that reached the app after its
//! trigger expired, and a person the policy refuses, are told why, and SIR is not changed.

use serde_json::json;
use sirslack_acceptance::{
    ACK_DEADLINE, WAIT, app_messages, app_messages_showing, comments_containing, open_case, run,
    shown, submit_view, wait_for_open_view, wait_for_response, world,
};
use sirslack_local_run::World;
use sirslack_local_run::cast::{ALICE, BOB};
use slack_standin::ViewAnswer;
use slack_standin::signing::InputValue;

const BUTTON: &str = "case_edit_title";
const MODAL: &str = "edit_case_title";
const FIELD: &str = "edit_title";
const NEW_TITLE: &str = "Leaked key <prod> & more";

/// The `ts` of the case message (the one with the Edit buttons).
fn case_message_ts(world: &World, channel: &str) -> String {
    app_messages(world, channel)
        .into_iter()
        .find(|message| shown(message).contains(BUTTON))
        .map(|message| message.ts)
        .expect("the case message has an Edit title button")
}

fn title_form(title: &str) -> Vec<(&'static str, &'static str, InputValue)> {
    vec![(FIELD, FIELD, InputValue::PlainText(title.to_owned()))]
}

#[test]
fn a_member_edits_the_title_from_the_case_message_once() {
    run(async {
        let world = world().await;
        let case = open_case(&world).await;
        let channel = case.channel.id.clone();
        let before = world.sir().case(&case.case_id).expect("the case").title;
        let ts = case_message_ts(&world, &channel);
        let block = format!("case:{}", case.case_id);

        let clicked = world
            .click_in_block(&ALICE, &channel, &ts, (&block, BUTTON), &case.case_id)
            .await
            .expect("the click is sent");
        assert_eq!(clicked.ack.status, 200, "{}", clicked.ack.body);
        assert!(
            clicked.ack.elapsed < ACK_DEADLINE,
            "{:?}",
            clicked.ack.elapsed
        );
        let view = wait_for_open_view(&world, ALICE.slack_id, MODAL).await;
        let input = view.block(FIELD).expect("the title input");
        assert_eq!(
            input["element"]["initial_value"].as_str(),
            Some(before.as_str()),
            "pre-filled with the synced title"
        );

        // 301 characters: answered on the field, the modal stays open, SIR is not called.
        let (ack, answer) =
            submit_view(&world, &ALICE, &view.id, &title_form(&"t".repeat(301))).await;
        assert!(ack.elapsed < ACK_DEADLINE, "{:?}", ack.elapsed);
        let ViewAnswer::Errors(errors) = answer else {
            panic!("expected field errors, got {answer:?}");
        };
        assert!(
            errors.iter().any(|(block, text)| block == FIELD
                && text == "The title has 301 characters; the limit is 300."),
            "{errors:?}"
        );
        assert_eq!(world.sir().call_count("UpdateCase"), 0);

        // A valid title submitted twice (a double click on Save): SIR changes once.
        let submission = world
            .slack()
            .view_submission(ALICE.slack_id, &view.id, &title_form(NEW_TITLE))
            .expect("a valid submission");
        let request = world.signer().sign(submission.into_body());
        for _ in 0..2 {
            let ack = world
                .send_signed_with_timeout(&request, ACK_DEADLINE)
                .await
                .expect("the endpoint answers");
            assert_eq!(ack.status, 200, "{}", ack.body);
            assert!(ack.body.contains("clear"), "{}", ack.body);
        }
        world
            .wait_until("SIR has the new title", WAIT, |world| {
                world
                    .sir()
                    .case(&case.case_id)
                    .is_some_and(|case| case.title == NEW_TITLE)
            })
            .await
            .expect("the title changes");
        world
            .wait_until_quiet(std::time::Duration::from_millis(300), WAIT)
            .await
            .expect("the world settles");
        // One more settle: the second hand-off's retry (held by the first) comes 2 s later.
        world
            .wait_until("the duplicate is answered", WAIT, |world| {
                world
                    .slack()
                    .response_posts(&clicked.response_token)
                    .iter()
                    .any(|post| {
                        post.body
                            .to_string()
                            .contains("already received and handled")
                    })
            })
            .await
            .expect("the second submission is answered as a duplicate");
        assert_eq!(world.sir().call_count("UpdateCase"), 1, "one change");
        let audit = comments_containing(&world, &case.case_id, "ran /security-ir update-title");
        assert_eq!(audit.len(), 1, "one audit comment: {audit:?}");
        assert!(audit[0].body.contains(ALICE.slack_id), "{}", audit[0].body);
        assert_eq!(
            app_messages_showing(&world, &channel, "changed the title to"),
            1,
            "one announcement"
        );
        assert!(
            world.iam_refusals().is_empty(),
            "{:#?}",
            world.iam_refusals()
        );
    });
}

#[test]
fn a_late_click_and_a_person_the_policy_refuses_are_told_and_sir_is_not_changed() {
    run(async {
        let world = world().await;
        let case = open_case(&world).await;
        let channel = case.channel.id.clone();
        let before = world.sir().case(&case.case_id).expect("the case").title;
        let ts = case_message_ts(&world, &channel);
        let block = format!("case:{}", case.case_id);

        // The click reached the app after its trigger expired: told through its response_url.
        let late = world
            .click_in_block_late(&ALICE, &channel, &ts, (&block, BUTTON), &case.case_id)
            .await
            .expect("the click is sent");
        assert_eq!(late.ack.status, 200);
        wait_for_response(
            &world,
            &late.response_token,
            "could not be opened in time (Slack allows 3 seconds). Please click *Edit title* again.",
        )
        .await;
        assert!(world.slack().open_views(ALICE.slack_id).is_empty());

        // Only Alice may retitle: Bob opens the form and submits it, and is refused.
        world
            .put_command_policy(
                &json!({"version": 1, "subcommands": {"update-title": {"users": [ALICE.slack_id]}}})
                    .to_string(),
            )
            .await
            .expect("the policy is written");
        let clicked = world
            .click_in_block(&BOB, &channel, &ts, (&block, BUTTON), &case.case_id)
            .await
            .expect("the click is sent");
        let view = wait_for_open_view(&world, BOB.slack_id, MODAL).await;
        let (_, answer) = submit_view(&world, &BOB, &view.id, &title_form("Bob was here")).await;
        assert!(matches!(answer, ViewAnswer::Cleared), "{answer:?}");
        let refusal = wait_for_response(
            &world,
            &clicked.response_token,
            "not allowed to run `/security-ir update-title`",
        )
        .await;
        assert!(
            refusal
                .body
                .to_string()
                .contains("policy does not list you"),
            "{:?}",
            refusal.body
        );
        world
            .wait_until_quiet(std::time::Duration::from_millis(300), WAIT)
            .await
            .expect("the world settles");
        assert_eq!(world.sir().call_count("UpdateCase"), 0);
        assert_eq!(
            world.sir().case(&case.case_id).expect("the case").title,
            before
        );
        assert!(
            comments_containing(&world, &case.case_id, "ran /security-ir update-title").is_empty()
        );
    });
}
