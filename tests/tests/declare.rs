//! Declaring a case from Slack through the full wiring (issue 19 item 1): `/security-ir create`
//! in any channel opens the declare modal (`views.open` with the command's trigger), field
//! errors come back on their fields, a valid submission becomes one SIR case (one, however
//! often it is submitted), SIR's `Case Created` event makes the poller and the Slack client
//! create its channel with the declarer in it, and the declarer is told the case ID at once. A
//! trigger that reached the app too late, and a person the policy refuses, are told why, and
//! SIR is not changed.

use serde_json::json;
use sirslack_acceptance::{ACK_DEADLINE, WAIT, run, submit_view, told, wait_for_open_view, world};
use sirslack_local_run::World;
use sirslack_local_run::cast::{ALICE, BOB};
use slack_standin::SeedChannel;
use slack_standin::signing::{InputValue, SelectedOption};

const MODAL: &str = "declare_case";
const TITLE: &str = "Phishing wave against the finance team";

/// A channel of no case, where the alert came in.
fn alerts_channel(world: &World) -> String {
    world
        .slack()
        .add_channel(SeedChannel {
            bot_is_member: true,
            members: vec![ALICE.slack_id.to_owned(), BOB.slack_id.to_owned()],
            ..SeedChannel::public("soc-alerts")
        })
        .expect("a channel of no case")
}

fn form(accounts: &str) -> Vec<(&'static str, &'static str, InputValue)> {
    let text = |value: &str| InputValue::PlainText(value.to_owned());
    vec![
        ("declare_title", "declare_title", text(TITLE)),
        (
            "declare_description",
            "declare_description",
            text("Three people clicked a link to a fake sign-in page & typed their password."),
        ),
        (
            "declare_engagement_type",
            "declare_engagement_type",
            InputValue::StaticSelect(SelectedOption::new(
                "Security Incident",
                "Security Incident",
            )),
        ),
        ("declare_accounts", "declare_accounts", text(accounts)),
        (
            "declare_resolver",
            "declare_resolver",
            InputValue::RadioButtons(SelectedOption::new("Self-managed", "Self")),
        ),
    ]
}

#[test]
fn a_case_declared_from_the_modal_gets_its_channel_with_the_declarer_in_it() {
    run(async {
        let world = world().await;
        let alerts = alerts_channel(&world);
        let opened = world
            .slash_command(&ALICE, &alerts, "create")
            .await
            .expect("the command is sent");
        assert_eq!(opened.ack.status, 200, "{}", opened.ack.body);
        let view = wait_for_open_view(&world, ALICE.slack_id, MODAL).await;

        // A wrong account ID comes back on its field; the modal stays open, nothing is created.
        let (ack, answer) = submit_view(&world, &ALICE, &view.id, &form("12345")).await;
        assert!(ack.elapsed < ACK_DEADLINE, "{:?}", ack.elapsed);
        let slack_standin::ViewAnswer::Errors(errors) = answer else {
            panic!("expected field errors, got {answer:?}");
        };
        assert!(
            errors.iter().any(|(block, _)| block == "declare_accounts"),
            "{errors:?}"
        );
        assert_eq!(world.sir().call_count("CreateCase"), 0);

        // Submitted twice (a double click): one case.
        let submission = world
            .slack()
            .view_submission(ALICE.slack_id, &view.id, &form("111122223333"))
            .expect("a valid submission");
        let request = world.signer().sign(submission.into_body());
        for _ in 0..2 {
            let ack = world
                .send_signed_with_timeout(&request, ACK_DEADLINE)
                .await
                .expect("the endpoint answers");
            assert_eq!(ack.status, 200, "{}", ack.body);
        }
        world
            .wait_until("SIR has the declared case", WAIT, |world| {
                world.sir().cases().iter().any(|case| case.title == TITLE)
            })
            .await
            .expect("the case is created");
        let case_id = world
            .sir()
            .cases()
            .into_iter()
            .find(|case| case.title == TITLE)
            .map(|case| case.case_id)
            .expect("the case");
        let channel_name = format!("aws-security-incident-response-case-{case_id}");
        world
            .wait_until("the case channel with Alice in it", WAIT, |world| {
                world.slack().channels().iter().any(|channel| {
                    channel.name == channel_name
                        && channel
                            .members
                            .iter()
                            .any(|member| member == ALICE.slack_id)
                })
            })
            .await
            .expect("the usual flow makes the channel and invites the declarer");
        world
            .wait_until_quiet(std::time::Duration::from_millis(300), WAIT)
            .await
            .expect("the world settles");
        let declared: Vec<_> = world
            .sir()
            .cases()
            .into_iter()
            .filter(|case| case.title == TITLE)
            .collect();
        assert_eq!(declared.len(), 1, "a double submit makes one case");
        let case = &declared[0];
        assert_eq!(case.impacted_accounts, vec!["111122223333".to_owned()]);
        assert!(
            case.watchers
                .iter()
                .any(|watcher| watcher.email == ALICE.email),
            "{:?}",
            case.watchers
        );
        // The declarer is told at once, where they started.
        let told = told(&world, &alerts, &ALICE);
        assert!(
            told.iter()
                .any(|text| text.contains(&format!("Case *{case_id}* is declared"))),
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
fn a_late_trigger_and_a_person_the_policy_refuses_are_told_and_sir_is_not_changed() {
    run(async {
        let world = world().await;
        let alerts = alerts_channel(&world);

        // The command reached the app after its trigger expired: the person is told to retry.
        let late = world
            .slash_command_late(&ALICE, &alerts, "create")
            .await
            .expect("the command is sent");
        assert_eq!(late.ack.status, 200);
        assert!(
            late.ack
                .body
                .contains("could not be opened in time (Slack allows 3 seconds)"),
            "{}",
            late.ack.body
        );
        assert!(world.slack().open_views(ALICE.slack_id).is_empty());

        // Only Alice may declare: Bob opens the form and submits it, and is refused.
        world
            .put_command_policy(
                &json!({"version": 1, "subcommands": {"create": {"users": [ALICE.slack_id]}}})
                    .to_string(),
            )
            .await
            .expect("the policy is written");
        world
            .slash_command(&BOB, &alerts, "create")
            .await
            .expect("the command is sent");
        let view = wait_for_open_view(&world, BOB.slack_id, MODAL).await;
        let (_, answer) = submit_view(&world, &BOB, &view.id, &form("111122223333")).await;
        assert!(
            matches!(
                answer,
                slack_standin::ViewAnswer::Cleared | slack_standin::ViewAnswer::Closed
            ),
            "{answer:?}"
        );
        world
            .wait_until("Bob is told he may not declare", WAIT, |world| {
                told(world, &alerts, &BOB)
                    .iter()
                    .any(|text| text.contains("/security-ir create"))
            })
            .await
            .expect("the refusal is told");
        assert_eq!(world.sir().call_count("CreateCase"), 0);
        assert!(world.sir().cases().iter().all(|case| case.title != TITLE));
    });
}
