//! Least privilege proven by execution: each function calls AWS with credentials of its own whose
//! permissions are exactly its role's statements as the CDK app synthesizes them
//! (`infra/iam/function-policies.json`, see `crates/local-iam`). Everything the integration does
//! is done here once, its recovery paths included; then no call may have been refused, and every
//! action a role grants its code must have been used. So removing an action from
//! `infra/lib/permissions.js` (and regenerating the file, which the infra tests demand) makes
//! this test fail with the call AWS would refuse, and granting an action the code never calls
//! makes it fail as unused.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;

use sirslack_acceptance::{
    WAIT, comments_containing, open_case, run, submit_view, use_message_shortcut,
    wait_for_app_message, wait_for_comment, wait_for_open_view, world_with,
};
use sirslack_local_run::cast::{ALICE, AWS_RESPONDER, BOB};
use sirslack_local_run::scenario::{self, ScenarioOptions};
use sirslack_local_run::{AwsFault, AwsFaultEffect, Function, WorldConfig};
use slack_standin::signing::{InputValue, SelectedOption};

#[test]
fn every_function_uses_exactly_what_its_synthesized_role_grants() {
    run(async {
        let world = world_with(
            WorldConfig::for_tests()
                .with_env(Function::SlackClient, "REDELIVERY_FIRST_DELAY_SECONDS", "1")
                .with_env(Function::SlackClient, "REDELIVERY_MAX_DELAY_SECONDS", "2"),
        )
        .await;

        // The brief's scenario: channel, both ways, commands, files both ways, close.
        // `scripts/check-least-privilege` shortens the steps' wait: a refused call fails a step.
        let step_timeout = std::env::var("SIRSLACK_STEP_TIMEOUT_SECONDS")
            .ok()
            .and_then(|seconds| seconds.parse().ok())
            .map_or(WAIT, Duration::from_secs);
        let options = ScenarioOptions {
            step_timeout,
            ..ScenarioOptions::default()
        };
        let report = scenario::play(&world, options, &mut std::io::sink()).await;
        let refusals = world.iam_refusals();
        assert!(refusals.is_empty(), "AWS would refuse: {refusals:#?}");
        assert!(report.passed(), "{:#?}", report.steps);
        let closed_case = report.case_id.clone().expect("the scenario made a case");

        let case = open_case(&world).await;
        let channel = case.channel.id.clone();

        // update-title: UpdateCase.
        world
            .slash_command(&ALICE, &channel, "update-title Least privilege title")
            .await
            .expect("the command is acked");
        world
            .wait_until("the title in SIR", WAIT, |world| {
                world
                    .sir()
                    .case(&case.case_id)
                    .is_some_and(|c| c.title == "Least privilege title")
            })
            .await
            .expect("SIR has the title");

        // Declaring a case (issue 19): CreateCase, the one command-handler action with Resource
        // "*". Until the events handler hands declarations over, the command handler is invoked
        // with the payload it would send (`sirslack_slack_router::DeclarationInvocation`).
        let today = chrono::Utc::now().date_naive();
        let declaration = sirslack_domain::DeclarationDraft {
            title: "Least privilege declared".into(),
            description: "Declared from the declare modal".into(),
            engagement_type: Some("Investigation".into()),
            reported_start: Some(today.format("%Y-%m-%d").to_string()),
            impacted_accounts: "111122223333".into(),
            ..sirslack_domain::DeclarationDraft::default()
        }
        .into_declaration(today)
        .expect("a valid declaration");
        let declared = world
            .invoke(
                Function::CommandHandler,
                serde_json::json!({
                    "version": 1,
                    "kind": "declaration",
                    "view_id": "V0LEASTPRIV",
                    "team_id": world.team_id(),
                    "user_id": ALICE.slack_id,
                    "user_name": ALICE.handle,
                    "declaration": declaration,
                    "received_at": chrono::Utc::now(),
                }),
            )
            .await;
        assert!(declared.is_success(), "{declared:?}");
        assert!(
            world
                .sir()
                .cases()
                .iter()
                .any(|c| c.title == "Least privilege declared"),
            "the declared case is in SIR"
        );

        // "Send to SIR case" with the message's file: the command handler hands the copy to the
        // events handler on the bus (PutEvents with the lazy-work source).
        let shared = world
            .share_file(
                &channel,
                BOB.slack_id,
                "lp.txt",
                b"least privilege".to_vec(),
                None,
            )
            .expect("Bob shares a file");
        let (ack, _) =
            use_message_shortcut(&world, &ALICE, &channel, &shared.message_ts, "send_to_case")
                .await;
        assert_eq!(ack.status, 200, "{}", ack.body);
        let view = wait_for_open_view(&world, ALICE.slack_id, "send_to_case_modal").await;
        let case_option = SelectedOption::new(&case.case_id, &case.case_id);
        let attach = SelectedOption::new("Attach the message's 1 file", "attach_files");
        submit_view(
            &world,
            &ALICE,
            &view.id,
            &[
                (
                    "send_to_case_case",
                    "send_to_case_case",
                    InputValue::ExternalSelect(case_option),
                ),
                (
                    "send_to_case_attach",
                    "send_to_case_attach",
                    InputValue::Checkboxes(vec![attach]),
                ),
            ],
        )
        .await;
        // Shared in the case channel and sent to the case: copied twice (two "uploaded file"
        // comments), once by each path.
        world
            .wait_until("the forwarded file in SIR", WAIT, |world| {
                comments_containing(world, &case.case_id, &shared.file_id).len() >= 2
            })
            .await
            .expect("the forwarded file reaches SIR");
        wait_for_comment(&world, &case.case_id, "sent a Slack message to this case").await;

        // A status change SIR refuses: the announcement marker is given back.
        world.aws_faults().inject(
            AwsFault::new("security-ir", "update-case-status")
                .from_function(Function::CommandHandler),
        );
        world
            .slash_command(&ALICE, &channel, "update-status detection")
            .await
            .expect("the command is acked");
        world
            .wait_until("the refused status change", WAIT, |world| {
                world.aws_faults().pending() == 0
            })
            .await
            .expect("the command handler called SIR");

        // A slow copy: later messages queue in the channel's lane and a drain writes them.
        world.aws_faults().inject(
            AwsFault::new("security-ir", "create-comment")
                .from_function(Function::EventsHandler)
                .body_contains("LP-SLOW-1")
                .times(2)
                .effect(AwsFaultEffect::Latency(Duration::from_secs(3))),
        );
        for (index, person) in [&ALICE, &BOB, &ALICE].into_iter().enumerate() {
            world
                .post_message(&channel, person.slack_id, &format!("LP-SLOW-{}", index + 1))
                .expect("Slack takes the message");
        }
        for index in 1..=3 {
            wait_for_comment(&world, &case.case_id, &format!("LP-SLOW-{index}")).await;
        }

        // Slack failing a post: the Slack client hands the record back for a later delivery.
        world
            .slack()
            .inject_server_errors(Some("chat.postMessage"), 503, 8);
        world
            .sir()
            .add_comment(&case.case_id, "LP-REDELIVERED", AWS_RESPONDER)
            .expect("SIR takes the comment");
        wait_for_app_message(&world, &channel, "LP-REDELIVERED").await;

        // A channel set up by an older version (no case stored with it): an update asks SIR
        // for the case as it is.
        world
            .aws()
            .dynamodb()
            .update_item()
            .table_name(&world.names().table)
            .key("pk", AttributeValue::S(format!("CASE#{}", case.case_id)))
            .key("sk", AttributeValue::S("CHANNEL".to_owned()))
            .update_expression("REMOVE shown_case")
            .send()
            .await
            .expect("the harness edits the channel item");
        world
            .sir()
            .set_case_title(&case.case_id, "LP-RENAMED")
            .expect("SIR takes the title");
        wait_for_app_message(&world, &channel, "LP-RENAMED").await;

        // A closed case that changes again: the poller keeps its listing current.
        world
            .sir()
            .add_comment(&closed_case, "LP-AFTER-CLOSE", AWS_RESPONDER)
            .expect("SIR takes the comment");
        world.tick().await;
        world
            .wait_until_quiet(Duration::from_secs(3), WAIT)
            .await
            .expect("the world settles");

        let refusals = world.iam_refusals();
        assert!(refusals.is_empty(), "AWS would refuse: {refusals:#?}");
        let used = world.iam_actions_used();
        let granted = world.iam_actions_granted();
        let mut problems = Vec::new();
        for function in Function::ALL {
            let unused: Vec<&String> = granted[&function].difference(&used[&function]).collect();
            if !unused.is_empty() {
                problems.push(format!("{function} is granted but never used {unused:?}"));
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    });
}

/// A call outside a function's role fails the way AWS fails it: the poller's credentials may not
/// invoke the command handler (Lambda) nor read the Slack bot token (SSM).
#[test]
fn a_call_outside_the_role_is_access_denied() {
    run(async {
        let world = world_with(WorldConfig::for_tests()).await;
        let config = |endpoint: &str| {
            aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(
                        Function::Poller.credentials(),
                    ),
                )
                .endpoint_url(endpoint)
                .build()
        };
        let lambda = aws_sdk_lambda::Client::new(&config(world.lambda_url()));
        let invoke = lambda
            .invoke()
            .function_name(Function::CommandHandler.binary_name())
            .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
            .send()
            .await
            .expect_err("the poller may not invoke the command handler")
            .into_service_error();
        assert_eq!(invoke.meta().code(), Some("AccessDeniedException"));

        let moto_gate = world
            .environment(Function::Poller)
            .and_then(|env| env.get("AWS_ENDPOINT_URL"))
            .expect("the poller's AWS endpoint");
        let ssm = aws_sdk_ssm::Client::new(&config(&moto_gate));
        let token = ssm
            .get_parameter()
            .name(world.names().bot_token_parameter())
            .with_decryption(true)
            .send()
            .await
            .expect_err("the poller may not read the bot token")
            .into_service_error();
        assert_eq!(token.meta().code(), Some("AccessDeniedException"));
        let refusals = world.iam_refusals();
        assert_eq!(refusals.len(), 2, "{refusals:#?}");
        assert!(
            refusals
                .iter()
                .all(|refusal| refusal.principal == "sir-poller")
        );
    });
}
