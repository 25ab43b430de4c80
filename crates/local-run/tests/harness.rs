//! The harness itself: its front doors answer as API Gateway and Lambda do, events travel the
//! wiring the stacks define, and every fault it offers does what it says. (What the functions
//! do with all this is the acceptance suite's business, in `tests/`.)

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sirslack_local_run::cast::{ALICE, AWS_RESPONDER};
use sirslack_local_run::slack_standin::signing::{InboundBody, url_verification};
use sirslack_local_run::{
    AwsFault, AwsFaultEffect, CaseRequest, CrashPoint, Function, GatewayFault, InvocationOutcome,
    Trigger, World, WorldConfig,
};

const WAIT: Duration = Duration::from_secs(30);

fn run<F: std::future::Future<Output = ()>>(test: F) {
    sirslack_local_run::runtime()
        .expect("runtime")
        .block_on(test);
}

async fn world(config: WorldConfig) -> World {
    let world = World::start(config).await.expect("the world starts");
    world.seed_cast().expect("cast");
    world
}

/// A raw HTTP request (the stand-in signer always adds the Slack headers).
async fn raw(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    use http_body_util::{BodyExt, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let mut request = hyper::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(bytes::Bytes::from(body.to_owned())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn api_gateway_validates_and_the_events_handler_verifies() {
    run(async {
        let world = world(WorldConfig {
            schedule_interval: None,
            ..WorldConfig::for_tests()
        })
        .await;

        let challenge = world
            .send_signed(&world.signer().sign(url_verification("abc123")))
            .await
            .unwrap();
        assert_eq!(challenge.status, 200);
        assert!(challenge.body.contains("abc123"), "{}", challenge.body);

        let forged = world
            .send_signed(&world.signer().sign_with_wrong_secret(url_verification("x")))
            .await
            .unwrap();
        assert_eq!(forged.status, 401, "the handler checks the signature");

        let untyped = world
            .send_signed(
                &world
                    .signer()
                    .sign(InboundBody::json(&json!({"no": "type"}))),
            )
            .await
            .unwrap();
        assert_eq!(untyped.status, 400, "API Gateway's body model");
        assert_eq!(
            untyped.json().unwrap()["message"],
            "Invalid request body",
            "answered by API Gateway, not the function"
        );

        let (status, body) = raw(
            "POST",
            &world.endpoint_url(),
            &[("content-type", "application/json")],
            r#"{"type":"event_callback"}"#,
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body.contains("Missing required request parameters: [X-Slack-Signature, X-Slack-Request-Timestamp]"),
            "{body}"
        );
        let (status, body) = raw("GET", &world.endpoint_url(), &[], "").await;
        assert_eq!(status, 403, "only POST is defined: {body}");

        let events = world
            .invocations()
            .into_iter()
            .filter(|invocation| invocation.function == Function::EventsHandler)
            .count();
        assert_eq!(
            events, 2,
            "what API Gateway rejected never reached the function"
        );
        assert!(
            world
                .invocations()
                .iter()
                .all(|invocation| matches!(invocation.trigger, Trigger::ApiGateway { .. }))
        );
    });
}

#[test]
fn a_case_created_in_sir_travels_the_deployed_wiring() {
    run(async {
        let world = world(WorldConfig {
            schedule_interval: None,
            ..WorldConfig::for_tests()
        })
        .await;
        let case_id = world.create_case(&CaseRequest::default()).await.unwrap();
        let channel = world.wait_for_case_ready(&case_id, WAIT).await.unwrap();
        assert_eq!(channel.name, World::channel_name_for(&case_id));
        // An invocation is recorded when it ends, after what it did is visible.
        world
            .wait_until_quiet(Duration::from_secs(1), WAIT)
            .await
            .expect("the world settles");

        let invocations = world.invocations();
        let woke = invocations.iter().find(|invocation| {
            invocation.function == Function::Poller
                && invocation.trigger
                    == Trigger::RuleEvent {
                        source: "aws.security-ir".into(),
                        detail_type: "Case Created".into(),
                        attempt: 1,
                    }
        });
        let woke = woke.expect("SIR's native event woke the poller");
        let InvocationOutcome::Succeeded(report) = &woke.outcome else {
            panic!("{woke:?}")
        };
        assert_eq!(report["eventsPublished"], 1);
        assert!(invocations.iter().any(|invocation| {
            invocation.function == Function::SlackClient
                && matches!(invocation.trigger, Trigger::SqsBatch { .. })
                && invocation.outcome.is_success()
        }));
        // The app heard its own joins and posts back from Slack, and acknowledged them.
        assert!(
            world
                .slack_deliveries()
                .iter()
                .any(|delivery| delivery.from_app && delivery.acknowledged())
        );

        // The environment is the stacks' one, with the local endpoints.
        let events = world.environment(Function::EventsHandler).unwrap();
        assert_eq!(
            events.get("EVENT_BUS_NAME"),
            Some(world.names().integration_bus.clone())
        );
        assert_eq!(
            events.get("AWS_ENDPOINT_URL_LAMBDA").as_deref(),
            Some(world.lambda_url())
        );
        assert_eq!(
            world
                .aws_faults()
                .call_count(Function::Poller, "events", "PutEvents"),
            1
        );
    });
}

#[test]
fn the_lambda_api_answers_event_invocations_with_202_and_unknown_functions_with_404() {
    run(async {
        let world = world(WorldConfig {
            schedule_interval: None,
            ..WorldConfig::for_tests()
        })
        .await;
        // Lambda refuses an unsigned request before anything else, as AWS does.
        let url = format!(
            "{}/2015-03-31/functions/sir-poller/invocations",
            world.lambda_url()
        );
        let unsigned = raw("POST", &url, &[("x-amz-invocation-type", "Event")], "{}").await;
        assert_eq!(unsigned.0, 403);
        assert!(
            unsigned.1.contains("Missing Authentication Token"),
            "{}",
            unsigned.1
        );

        let unknown = raw_invoke(&world, "nope", "Event", "{}").await;
        assert_eq!(unknown.0, 404);
        assert!(unknown.1.contains("Function not found"), "{}", unknown.1);

        let accepted = raw_invoke(&world, "sir-poller", "Event", &scheduled()).await;
        assert_eq!(accepted.0, 202);
        world
            .wait_until("the async invocation", WAIT, |world| {
                world.invocations().iter().any(|invocation| {
                    invocation.function == Function::Poller
                        && invocation.trigger == Trigger::AsyncInvoke { attempt: 1 }
                })
            })
            .await
            .unwrap();

        let answered = raw_invoke(&world, "sir-poller", "RequestResponse", &scheduled()).await;
        assert_eq!(answered.0, 200);
        let report: Value = serde_json::from_str(&answered.1).unwrap();
        assert_eq!(report["trigger"], "reconcile");
    });
}

fn scheduled() -> String {
    sirslack_local_run::lambda_events::scheduled_event("test").to_string()
}

/// POSTs to the Lambda Invoke API by hand (the SDK's own use of it is the events handler's).
async fn raw_invoke(world: &World, function: &str, kind: &str, body: &str) -> (u16, String) {
    let url = format!(
        "{}/2015-03-31/functions/{function}/invocations",
        world.lambda_url()
    );
    // Signed (in form) with the harness's administrator credentials: the Lambda API checks IAM.
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/20261206/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00",
        aws_local::local_credentials().access_key_id()
    );
    raw(
        "POST",
        &url,
        &[
            ("x-amz-invocation-type", kind),
            ("authorization", authorization.as_str()),
        ],
        body,
    )
    .await
}

#[test]
fn failing_async_invocations_are_retried_then_dead_lettered() {
    run(async {
        let world = world(WorldConfig {
            schedule_interval: None,
            async_invocation: sirslack_local_run::AsyncInvocation {
                retry_delay: Duration::from_secs(1),
                ..Default::default()
            },
            ..WorldConfig::for_tests()
        })
        .await;
        world
            .function_faults()
            .crash_next(Function::Poller, 3, CrashPoint::BeforeStart);
        let case_id = world.create_case(&CaseRequest::default()).await.unwrap();

        world
            .wait_until_async("the event in the poller's DLQ", WAIT, || async {
                world
                    .dead_letters(Function::Poller)
                    .await
                    .is_ok_and(|letters| letters.len() == 1)
            })
            .await
            .expect("three attempts, then the DLQ");
        let attempts: Vec<u32> = world
            .invocations()
            .iter()
            .filter_map(
                |invocation| match (&invocation.trigger, &invocation.outcome) {
                    (Trigger::RuleEvent { attempt, .. }, InvocationOutcome::Crashed) => {
                        Some(*attempt)
                    }
                    _ => None,
                },
            )
            .collect();
        assert_eq!(attempts, [1, 2, 3]);
        let letter: Value =
            serde_json::from_str(&world.dead_letters(Function::Poller).await.unwrap()[0]).unwrap();
        assert_eq!(letter["detail"]["caseId"], case_id.as_str());
        assert!(world.case_channel(&case_id).is_none(), "nothing synced yet");

        // The reconcile catches what the lost event did not deliver.
        assert!(world.tick().await.is_success());
        world.wait_for_case_channel(&case_id, WAIT).await.unwrap();
    });
}

#[test]
fn aws_faults_hit_only_the_calls_they_name() {
    run(async {
        let world = world(WorldConfig {
            schedule_interval: None,
            ..WorldConfig::for_tests()
        })
        .await;
        world.aws_faults().inject(
            AwsFault::new("events", "PutEvents")
                .from_function(Function::Poller)
                .times(20)
                .effect(AwsFaultEffect::FailEveryEntry {
                    error_code: "InternalFailure".into(),
                }),
        );
        let case_id = world.create_case(&CaseRequest::default()).await.unwrap();
        world
            .wait_until("the poller's failed attempt", WAIT, |world| {
                world.invocations().iter().any(|invocation| {
                    invocation.function == Function::Poller
                        && matches!(invocation.outcome, InvocationOutcome::Failed(_))
                })
            })
            .await
            .expect("every entry failed, so the sync failed");
        assert!(world.case_channel(&case_id).is_none());
        assert!(world.aws_faults().injected() >= 1);

        world.aws_faults().clear();
        world
            .wait_for_case_channel(&case_id, WAIT)
            .await
            .expect("the retry of the native event delivers the case");
    });
}

#[test]
fn a_late_answer_makes_slack_retry_and_a_crash_mid_batch_is_redelivered() {
    run(async {
        let mut config = WorldConfig {
            schedule_interval: None,
            ..WorldConfig::for_tests()
        };
        // A crashed Slack client keeps its case's lease until its deadline + 30 s: keep the
        // deadline short so the redelivery gets the case soon.
        config.slack_client.visibility_timeout = Duration::from_secs(3);
        config.slack_client.function_timeout = Duration::from_secs(6);
        config.slack_client.redelivery_first_delay = Duration::from_secs(1);
        config.slack_client.redelivery_max_delay = Duration::from_secs(2);
        let config = config
            .with_env(Function::SlackClient, "DEADLINE_MARGIN_SECONDS", "2")
            .with_env(Function::SlackClient, "CASE_WAIT_SECONDS", "3");
        let world = world(config).await;
        let case_id = world.create_case(&CaseRequest::default()).await.unwrap();
        let channel = world.wait_for_case_ready(&case_id, WAIT).await.unwrap();
        // Nothing else on its way to the endpoint, so the fault hits the message below.
        world
            .wait_until_quiet(Duration::from_secs(1), WAIT)
            .await
            .expect("the world settles");

        // API Gateway holds the answer past Slack's 3 s: Slack retries what was processed.
        world
            .api_gateway_faults()
            .inject(GatewayFault::DelayAnswer(Duration::from_secs(4)), 1);
        let ts = world
            .post_message(&channel.id, ALICE.slack_id, "late answer")
            .unwrap();
        world
            .wait_until("Slack's retry", WAIT, |world| {
                world.slack_deliveries().iter().any(|delivery| {
                    delivery.event_ts.as_deref() == Some(ts.as_str())
                        && delivery.attempt == 1
                        && delivery.acknowledged()
                })
            })
            .await
            .expect("a timed-out delivery is retried");
        let first = world
            .slack_deliveries()
            .into_iter()
            .find(|delivery| delivery.event_ts.as_deref() == Some(ts.as_str()))
            .unwrap();
        assert_eq!(
            (first.attempt, first.status),
            (0, None),
            "Slack gave up waiting"
        );

        // The Slack client dies after its first Slack post of a batch; SQS gives it back.
        let slack = world.slack().clone();
        let posts = slack.call_count("chat.postMessage");
        world.function_faults().crash_next(
            Function::SlackClient,
            1,
            CrashPoint::When(Arc::new(move || {
                slack.call_count("chat.postMessage") > posts
            })),
        );
        world
            .sir()
            .add_comment(&case_id, "after the crash", AWS_RESPONDER)
            .unwrap();
        world
            .wait_until("the redelivered comment", WAIT, |world| {
                world.invocations().iter().any(|invocation| {
                    invocation.function == Function::SlackClient
                        && invocation.outcome == InvocationOutcome::Crashed
                })
            })
            .await
            .expect("the crash happened");
        let crashed_at = world
            .invocations()
            .iter()
            .find(|invocation| invocation.outcome == InvocationOutcome::Crashed)
            .map(|invocation| invocation.started)
            .expect("recorded");
        world
            .wait_until(
                "the batch applied again",
                Duration::from_secs(90),
                |world| {
                    world.invocations().iter().any(|invocation| {
                        invocation.function == Function::SlackClient
                            && invocation.started > crashed_at
                            && invocation.outcome.is_success()
                            && matches!(invocation.trigger, Trigger::SqsBatch { .. })
                    })
                },
            )
            .await
            .expect("SQS gave the batch back after its visibility timeout");
        assert!(world.slack().messages(&channel.id).iter().any(|message| {
            message
                .text
                .as_deref()
                .is_some_and(|text| text.contains("after the crash"))
        }));
    });
}
