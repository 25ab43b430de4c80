//! The events handler against the local world: moto (DynamoDB, SSM), the Slack stand-in and the
//! SIR stand-in (through the real SDK client). The one edge replaced is `lambda:Invoke`: a
//! recording sink stands in for it, and lazy work is then fed back through the same entry point
//! a Lambda invocation would use.
//!
//! Requests are the exact API Gateway REST proxy JSON (`isBase64Encoded` both ways), turned into
//! `lambda_http::Request`s by `lambda_http` itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_local::{LocalAws, OnExisting, ParameterKind, put_parameter, unique_name};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde_json::{Value, json};
use sir_standin::{Fault, FaultKind, NewCase, SirStandin};
use sirslack_domain::CaseId;
use sirslack_events_handler::EventsHandler;
use sirslack_events_handler::config::{Config, LazyTransport, ParameterNames};
use sirslack_slack_router::{
    CommandInvocation, HandOffTarget, InvocationKind, LazyInvocation, RecordedHandOff,
    RecordingHandOffSink,
};
use sirslack_store::Table;
use sirslack_test_world::{LocalBus, LocalWorld};
use slack_standin::signing::{
    BlockAction, EventCallback, InboundBody, SignedRequest, SlackSigner, SlashCommand, events,
    url_verification,
};
use slack_standin::{SeedChannel, SeedFile, SeedUser, SlackStandin, SlackStandinConfig};

const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const JANE: &str = "U0JANEDOE1";
const BOB: &str = "U0BOBSMITH";
const COMMAND_HANDLER: &str = "sirslack-command-handler";
const THIS_FUNCTION: &str = "sirslack-slack-events-handler";
const WAIT: Duration = Duration::from_secs(10);

struct World {
    handler: EventsHandler,
    slack: SlackStandin,
    sir: Arc<SirStandin>,
    hand_offs: Arc<RecordingHandOffSink>,
    table: Table,
    aws: LocalAws,
    signer: SlackSigner,
    team_id: String,
    case_id: String,
    channel: String,
    unlinked_channel: String,
    signing_secret_parameter: String,
}

struct Options {
    inline_budget: Duration,
    /// Lazy work through this EventBridge bus (moto) instead of the recording sink.
    lazy_bus: Option<String>,
    /// Age after which a queued comment that still fails is given up on.
    lane_job_give_up: Duration,
    /// The Slack app ID the deployment enforces (`SLACK_APP_ID`).
    app_id: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            inline_budget: Duration::from_millis(1200),
            lazy_bus: None,
            lane_job_give_up: sirslack_events_handler::config::DEFAULT_LANE_JOB_GIVE_UP,
            app_id: None,
        }
    }
}

async fn world() -> World {
    world_with(Options::default()).await
}

async fn world_with(options: Options) -> World {
    let local = LocalWorld::slack_app("events", SIGNING_SECRET)
        .start()
        .await;
    let (aws, sir, slack) = (
        local.aws().clone(),
        local.sir().clone(),
        local.slack().clone(),
    );
    let table_name = local.table_name().to_owned();
    let prefix = &local.parameters().prefix;
    let parameters = ParameterNames {
        signing_secret: format!("{prefix}/slackSigningSecret"),
        bot_token: format!("{prefix}/slackBotToken"),
        workspace_id: format!("{prefix}/slackWorkspaceId"),
    };

    let team_id = slack.team_id();
    slack
        .add_user(SeedUser::human(
            JANE,
            "jane",
            "Jane Doe",
            "jane@example.com",
        ))
        .unwrap();
    slack
        .add_user(SeedUser::human(BOB, "bob", "Bob Smith", "bob@example.com"))
        .unwrap();
    let mut case_channel = SeedChannel::public(&unique_name("aws-security-incident-response-case"));
    case_channel.bot_is_member = true;
    case_channel.members = vec![JANE.to_owned(), BOB.to_owned()];
    let channel = slack.add_channel(case_channel).unwrap();
    let mut other = SeedChannel::public(&unique_name("random"));
    other.bot_is_member = true;
    other.members = vec![JANE.to_owned()];
    let unlinked_channel = slack.add_channel(other).unwrap();

    let case_id = sir.seed_case(NewCase::default()).expect("case");
    local.link_case(&case_id, &channel).await;
    let table = local.table();

    let sir_config = aws_sdk_securityir::config::Builder::from(aws.sdk_config())
        .endpoint_url(sir.endpoint_url())
        .build();
    let hand_offs = Arc::new(RecordingHandOffSink::new());
    let config = Config {
        table_name,
        parameters: parameters.clone(),
        app_id: options.app_id.clone(),
        command_handler_function: COMMAND_HANDLER.to_owned(),
        lazy_transport: match options.lazy_bus {
            Some(bus_name) => LazyTransport::EventBus { bus_name },
            None => LazyTransport::SelfInvoke {
                function_name: THIS_FUNCTION.to_owned(),
            },
        },
        secrets_cache_ttl: Duration::from_secs(300),
        slack_api_url: slack.api_url(),
        inline_budget: options.inline_budget,
        dedupe_ttl: Duration::from_secs(3600),
        dedupe_lease: sirslack_slack_router::DEFAULT_CLAIM_LEASE,
        inline_lane_lease: sirslack_events_handler::config::DEFAULT_INLINE_LANE_LEASE,
        drain_lane_lease: sirslack_events_handler::config::DEFAULT_DRAIN_LANE_LEASE,
        lane_job_give_up: options.lane_job_give_up,
        transfer_timeout: Duration::from_secs(60),
        max_body_bytes: sirslack_slack_router::DEFAULT_MAX_BODY_BYTES,
    };
    let uses_bus = matches!(config.lazy_transport, LazyTransport::EventBus { .. });
    let mut builder = EventsHandler::builder(config, aws.sdk_config().clone())
        .sir_client(aws_sdk_securityir::Client::from_conf(sir_config))
        // The rotation test sends an old-secret request right after a re-read.
        .fruitless_reload_pause(Duration::ZERO);
    if !uses_bus {
        builder = builder.hand_off(hand_offs.clone());
    }
    let handler = builder.build().await.expect("handler");
    World {
        handler,
        slack,
        sir,
        hand_offs,
        table,
        aws,
        signer: SlackSigner::new(SIGNING_SECRET),
        team_id,
        case_id,
        channel,
        unlinked_channel,
        signing_secret_parameter: parameters.signing_secret,
    }
}

/// The API Gateway REST proxy event for a request, as API Gateway builds it.
fn proxy_event(request: &SignedRequest, base64: bool) -> Value {
    let mut headers = serde_json::Map::new();
    let mut multi = serde_json::Map::new();
    let mut add = |name: &str, value: &str| {
        headers.insert(name.to_owned(), json!(value));
        multi.insert(name.to_owned(), json!([value]));
    };
    add("Accept", "application/json,*/*");
    add("Accept-Encoding", "gzip,deflate");
    add("Host", "abc123.execute-api.us-east-1.amazonaws.com");
    add("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)");
    add("X-Forwarded-Proto", "https");
    add(
        "X-Amzn-Trace-Id",
        "Root=1-65f0c0de-0123456789abcdef01234567",
    );
    for (name, value) in request.headers() {
        let name = match name.as_str() {
            "content-type" => "Content-Type".to_owned(),
            "x-slack-request-timestamp" => "X-Slack-Request-Timestamp".to_owned(),
            "x-slack-signature" => "X-Slack-Signature".to_owned(),
            "x-slack-retry-num" => "X-Slack-Retry-Num".to_owned(),
            "x-slack-retry-reason" => "X-Slack-Retry-Reason".to_owned(),
            other => other.to_owned(),
        };
        add(&name, &value);
    }
    let body = if base64 {
        BASE64.encode(request.body.as_bytes())
    } else {
        request.body.clone()
    };
    json!({
        "resource": "/slack/events",
        "path": "/slack/events",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": multi,
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "resourceId": "a1b2c3",
            "resourcePath": "/slack/events",
            "httpMethod": "POST",
            "extendedRequestId": "Ab1CdEfGhIjKlMn=",
            "requestTime": "01/Jan/2026:12:00:00 +0000",
            "path": "/prod/slack/events",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": "abc123",
            "requestTimeEpoch": 1767268800000_i64,
            "requestId": "c0ffee00-0000-4000-8000-000000000001",
            "identity": {
                "cognitoIdentityPoolId": null,
                "accountId": null,
                "cognitoIdentityId": null,
                "caller": null,
                "sourceIp": "3.4.5.6",
                "principalOrgId": null,
                "accessKey": null,
                "cognitoAuthenticationType": null,
                "cognitoAuthenticationProvider": null,
                "userArn": null,
                "userAgent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                "user": null
            },
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "apiId": "abc123"
        },
        "body": body,
        "isBase64Encoded": base64,
    })
}

struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

impl World {
    /// Sends a request through `lambda_http`'s own conversion of the proxy event.
    async fn send_with(&self, request: &SignedRequest, base64: bool) -> Answer {
        let event = proxy_event(request, base64).to_string();
        let request = lambda_http::request::from_str(&event).expect("proxy event");
        let response = self.handler.handle(request).await;
        Answer {
            status: response.status().as_u16(),
            body: String::from_utf8_lossy(response.body().as_ref()).into_owned(),
        }
    }

    async fn send(&self, request: &SignedRequest) -> Answer {
        self.send_with(request, false).await
    }

    fn event(&self, event: Value) -> EventCallback {
        EventCallback::new(&self.team_id, event).with_authorized_user(&self.slack.bot_user_id())
    }

    fn signed_event(&self, event: Value) -> SignedRequest {
        self.signer.sign(self.event(event).into_body())
    }

    fn comments(&self) -> Vec<String> {
        self.sir
            .comments(&self.case_id)
            .into_iter()
            .map(|comment| comment.body)
            .collect()
    }

    /// Runs every lazy hand-off recorded so far, as the self-invocations would.
    async fn run_lazy_work(&self) -> usize {
        let lazy: Vec<RecordedHandOff> = self
            .hand_offs
            .take()
            .into_iter()
            .filter(|hand_off| hand_off.target == HandOffTarget::ThisFunction)
            .collect();
        for hand_off in &lazy {
            let result = self
                .handler
                .handle_invocation(hand_off.payload.clone())
                .await
                .expect("lazy invocation");
            assert_eq!(result["ok"], true, "{result}");
        }
        lazy.len()
    }

    async fn wait_for_comments(&self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let comments = self.comments();
            if comments.len() >= count || Instant::now() > deadline {
                return comments;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether a dedupe marker exists (probing writes one when none did).
    async fn had_marker(&self, scope: &str, key: &str) -> bool {
        !self
            .table
            .put_once(scope, key, chrono::Duration::hours(1))
            .await
            .unwrap()
    }
}

fn message_ts(n: u32) -> String {
    format!("{}.{:06}", chrono::Utc::now().timestamp(), n)
}

// ---- signatures, envelope, workspace ---------------------------------------------------------

#[tokio::test]
async fn a_signed_message_in_a_case_channel_becomes_a_sir_comment() {
    let world = world().await;
    let ts = message_ts(1);
    let answer = world
        .send(&world.signed_event(events::message(
            &world.channel,
            JANE,
            "Found the IOC in <https://example.com/x|the logs> & told <@U0BOBSMITH>",
            &ts,
        )))
        .await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.is_empty());
    assert_eq!(
        world.comments(),
        [
            "[Slack Update] Jane Doe (@jane, Slack ID U0JANEDOE1): Found the IOC in the logs (https://example.com/x) & told @Bob Smith"
        ]
    );
    let comment_id = world.sir.comments(&world.case_id)[0].comment_id.clone();
    let case: CaseId = world.case_id.parse().unwrap();
    let known = world.table.known_comment_ids(&case).await.unwrap();
    assert!(
        known.contains(&comment_id),
        "comment not recorded for the poller"
    );
    assert!(
        world.hand_offs.recorded().is_empty(),
        "fits the inline budget"
    );
}

#[tokio::test]
async fn unverifiable_requests_get_401_and_change_nothing() {
    let world = world().await;
    let body = world
        .event(events::message(
            &world.channel,
            JANE,
            "forged",
            &message_ts(2),
        ))
        .with_event_id("EvFORGED01")
        .into_body();
    let now = chrono::Utc::now().timestamp();
    let mut missing = world.signer.sign(body.clone());
    missing.signature = String::new();
    let mut no_timestamp = world.signer.sign(body.clone());
    no_timestamp.timestamp = String::new();
    let cases = [
        (
            "bad signature",
            world.signer.sign_with_wrong_secret(body.clone()),
        ),
        (
            "stale timestamp",
            world.signer.sign_at(body.clone(), now - 301),
        ),
        (
            "future timestamp",
            world.signer.sign_at(body.clone(), now + 301),
        ),
        ("missing signature", missing),
        ("missing timestamp", no_timestamp),
        (
            "tampered body",
            world
                .signer
                .sign(body.clone())
                .with_tampered_body(&body.body.replace("forged", "altered")),
        ),
    ];
    world.sir.reset_calls();
    world.slack.clear_calls();
    for (what, request) in &cases {
        let answer = world.send(request).await;
        assert_eq!(answer.status, 401, "{what}");
        assert!(answer.body.is_empty(), "{what}");
    }
    assert!(world.sir.calls().is_empty());
    assert!(world.slack.calls().is_empty());
    assert!(world.hand_offs.recorded().is_empty());
    assert!(!world.had_marker("slack-event", "EvFORGED01").await);
}

#[tokio::test]
async fn url_verification_is_answered_only_after_the_signature() {
    let world = world().await;
    let unsigned = SignedRequest {
        timestamp: String::new(),
        signature: String::new(),
        content_type: "application/json".into(),
        body: url_verification("challenge-123").body,
        extra_headers: Vec::new(),
    };
    assert_eq!(world.send(&unsigned).await.status, 401);
    let answer = world
        .send(&world.signer.sign(url_verification("challenge-123")))
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), json!({ "challenge": "challenge-123" }));
}

#[tokio::test]
async fn a_base64_encoded_body_is_decoded_before_verification() {
    let world = world().await;
    let request = world.signed_event(events::message(
        &world.channel,
        JANE,
        "encoded by API Gateway: é ✓",
        &message_ts(3),
    ));
    let answer = world.send_with(&request, true).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        world.comments(),
        ["[Slack Update] Jane Doe (@jane, Slack ID U0JANEDOE1): encoded by API Gateway: é ✓"]
    );
}

#[tokio::test]
async fn other_workspaces_oversized_and_malformed_bodies_change_nothing() {
    let world = world().await;
    world.sir.reset_calls();
    let other_team = world.signer.sign(
        EventCallback::new(
            "T0SOMEONE9",
            events::message(&world.channel, JANE, "hi", &message_ts(4)),
        )
        .with_event_id("EvOTHERTEAM")
        .into_body(),
    );
    let answer = world.send(&other_team).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));

    let padding = "x".repeat(2 * 1024 * 1024);
    let huge = world.signer.sign(
        world
            .event(events::message(
                &world.channel,
                JANE,
                &padding,
                &message_ts(5),
            ))
            .with_event_id("EvHUGE0001")
            .into_body(),
    );
    assert_eq!(world.send(&huge).await.status, 413);

    let invalid = world.signer.sign(InboundBody::raw(
        "application/json",
        "{\"type\": \"event_callback\", ",
    ));
    assert_eq!(world.send(&invalid).await.status, 400);

    assert!(world.sir.calls().is_empty());
    assert!(world.comments().is_empty());
    assert!(!world.had_marker("slack-event", "EvOTHERTEAM").await);
    assert!(!world.had_marker("slack-event", "EvHUGE0001").await);
}

#[tokio::test]
async fn requests_for_another_app_are_acknowledged_and_ignored() {
    // The stand-in's signed requests carry its app's ID, A0STANDAPP.
    let world = world_with(Options {
        app_id: Some(SlackStandinConfig::default().app_id),
        ..Options::default()
    })
    .await;
    let other_app = "A0OTHERAPP";
    let event = world.signer.sign(
        world
            .event(events::message(&world.channel, JANE, "hi", &message_ts(7)))
            .with_api_app_id(other_app)
            .with_event_id("EvOTHERAPP")
            .into_body(),
    );
    let answer = world.send(&event).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
    let mut command = SlashCommand::new(
        "/security-ir",
        "close",
        JANE,
        &world.channel,
        &world.team_id,
    );
    command.api_app_id = other_app.to_owned();
    let answer = world.send(&world.signer.sign(command.into_body())).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
    let mut click = BlockAction::button(
        &world.team_id,
        JANE,
        &world.channel,
        &message_ts(9),
        "sirslack_close_case",
        "close confirm",
    )
    .with_response_url(&world.slack.response_url("other-app"));
    click.api_app_id = other_app.to_owned();
    let answer = world.send(&world.signer.sign(click.into_body())).await;
    assert_eq!(answer.status, 200);
    assert!(world.hand_offs.take().is_empty(), "handed off");
    assert!(world.slack.response_posts("other-app").is_empty());
    assert!(world.comments().is_empty(), "{:?}", world.comments());
    assert!(!world.had_marker("slack-event", "EvOTHERAPP").await);

    // This app's own requests go through.
    let ours = world.signed_event(events::message(
        &world.channel,
        JANE,
        "ours",
        &message_ts(8),
    ));
    assert_eq!(world.send(&ours).await.status, 200);
    assert_eq!(world.wait_for_comments(1).await.len(), 1);
}

#[tokio::test]
async fn a_rotated_signing_secret_is_picked_up_at_once() {
    let world = world().await;
    let rotated = "0123456789abcdef0123456789abcdef";
    put_parameter(
        &world.aws.ssm(),
        &world.signing_secret_parameter,
        rotated,
        ParameterKind::Secure,
        OnExisting::Overwrite,
    )
    .await
    .unwrap();
    let request = SlackSigner::new(rotated).sign(
        world
            .event(events::message(
                &world.channel,
                JANE,
                "after rotation",
                &message_ts(6),
            ))
            .into_body(),
    );
    assert_eq!(world.send(&request).await.status, 200);
    assert_eq!(world.comments().len(), 1);
    // The old secret no longer works.
    let old = world.signed_event(events::message(&world.channel, JANE, "old", &message_ts(7)));
    assert_eq!(world.send(&old).await.status, 401);
}

// ---- dedupe ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_retry_after_success_and_a_twin_event_id_add_no_comment() {
    let world = world().await;
    let ts = message_ts(8);
    let event = events::message(&world.channel, JANE, "only once", &ts);
    let first = world.event(event.clone()).with_event_id("EvFIRST0001");
    assert_eq!(
        world
            .send(&world.signer.sign(first.clone().into_body()))
            .await
            .status,
        200
    );
    let retry = world
        .signer
        .sign(first.into_body())
        .with_retry(1, "http_timeout");
    assert_eq!(world.send(&retry).await.status, 200);
    let twin = world.event(event).with_event_id("EvTWIN00001");
    assert_eq!(
        world
            .send(&world.signer.sign(twin.into_body()))
            .await
            .status,
        200
    );
    assert_eq!(world.comments().len(), 1);
    assert_eq!(world.sir.call_count("CreateCaseComment"), 1);
}

#[tokio::test]
async fn a_retry_is_processed_when_the_first_delivery_never_arrived() {
    let world = world().await;
    let retry = world
        .signer
        .sign(
            world
                .event(events::message(
                    &world.channel,
                    JANE,
                    "second try",
                    &message_ts(9),
                ))
                .into_body(),
        )
        .with_retry(2, "http_timeout");
    assert_eq!(world.send(&retry).await.status, 200);
    assert_eq!(
        world.comments(),
        ["[Slack Update] Jane Doe (@jane, Slack ID U0JANEDOE1): second try"]
    );
}

// ---- what is and is not copied ---------------------------------------------------------------

#[tokio::test]
async fn bot_messages_edits_and_unknown_events_are_acknowledged_and_ignored() {
    let world = world().await;
    world.sir.reset_calls();
    let bot = events::bot_message(
        &world.channel,
        &world.slack.bot_id(),
        "[SIR] update",
        &message_ts(10),
    );
    let mut edit = events::message(&world.channel, JANE, "edited", &message_ts(11));
    edit["subtype"] = json!("message_changed");
    let mut future_subtype = events::message(&world.channel, JANE, "?", &message_ts(12));
    future_subtype["subtype"] = json!("hologram_posted");
    let unknown = json!({ "type": "emoji_changed", "subtype": "add", "event_ts": "1.1" });
    let with_new_blocks = {
        let mut event = events::bot_message(&world.channel, "B0OTHERBOT", "x", &message_ts(13));
        event["blocks"] = json!([{ "type": "never_seen_block", "elements": [{ "type": "?" }] }]);
        event
    };
    for event in [bot, edit, future_subtype, unknown, with_new_blocks] {
        let answer = world.send(&world.signed_event(event.clone())).await;
        assert_eq!(answer.status, 200, "{event}");
    }
    assert!(world.sir.calls().is_empty());
    assert!(world.hand_offs.recorded().is_empty());
}

#[tokio::test]
async fn messages_in_unlinked_channels_cost_no_sir_call() {
    let world = world().await;
    world.sir.reset_calls();
    world.slack.clear_calls();
    let event = world
        .event(events::message(
            &world.unlinked_channel,
            JANE,
            "lunch?",
            &message_ts(14),
        ))
        .with_event_id("EvUNLINKED1");
    let answer = world.send(&world.signer.sign(event.into_body())).await;
    assert_eq!(answer.status, 200);
    assert!(world.sir.calls().is_empty());
    assert!(world.slack.calls().is_empty());
    assert!(world.hand_offs.recorded().is_empty());
    assert!(
        !world.had_marker("slack-event", "EvUNLINKED1").await,
        "an ignored event needs no dedupe write"
    );
}

#[tokio::test]
async fn thread_replies_are_marked_as_replies() {
    let world = world().await;
    let parent = message_ts(15);
    let reply = events::thread_reply(&world.channel, BOB, "ack, on it", &message_ts(16), &parent);
    assert_eq!(world.send(&world.signed_event(reply)).await.status, 200);
    assert_eq!(
        world.comments(),
        ["[Slack Update] Bob Smith (@bob, Slack ID U0BOBSMITH) replied in thread: ack, on it"]
    );
}

#[tokio::test]
async fn a_15000_character_message_becomes_two_comments_in_order() {
    let world = world().await;
    // 1667 words of 8 characters and the spaces between them: 15,002 characters.
    let words = 1667;
    let text = (0..words)
        .map(|i| format!("w{i:07}"))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(text.chars().count(), 15_002);
    let answer = world
        .send(&world.signed_event(events::message(
            &world.channel,
            JANE,
            &text,
            &message_ts(17),
        )))
        .await;
    assert_eq!(answer.status, 200);
    let comments = world.comments();
    assert_eq!(comments.len(), 2);
    for comment in &comments {
        assert!(comment.chars().count() <= 12_000);
        assert!(
            comment.starts_with("[Slack Update] Jane Doe (@jane, Slack ID U0JANEDOE1): "),
            "{}",
            &comment[..60]
        );
    }
    assert!(comments[0].contains("(part 1/2) w0000000 "));
    assert!(comments[1].contains("(part 2/2) "));
    assert!(comments[1].ends_with("w0001666"));
    let copied: Vec<&str> = comments
        .iter()
        .flat_map(|comment| comment.split(' ').filter(|word| word.starts_with("w0")))
        .collect();
    let expected: Vec<String> = (0..words).map(|i| format!("w{i:07}")).collect();
    assert_eq!(copied, expected, "every word once, in order");
}

#[tokio::test]
async fn joins_and_leaves_become_system_comments() {
    let world = world().await;
    let joined = events::member_joined_channel(&world.channel, BOB, &world.team_id, Some(JANE));
    let left = events::member_left_channel(&world.channel, BOB, &world.team_id);
    let bot_joined = events::member_joined_channel(
        &world.channel,
        &world.slack.bot_user_id(),
        &world.team_id,
        None,
    );
    for event in [joined, left, bot_joined] {
        assert_eq!(world.send(&world.signed_event(event)).await.status, 200);
    }
    assert_eq!(
        world.comments(),
        [
            "[Slack Update] Bob Smith (@bob, Slack ID U0BOBSMITH) joined the Slack channel",
            "[Slack Update] Bob Smith (@bob, Slack ID U0BOBSMITH) left the Slack channel",
        ]
    );
}

// ---- time budget and failures ----------------------------------------------------------------

#[tokio::test]
async fn a_slow_sir_moves_the_comment_to_a_lazy_invocation_without_duplicating_it() {
    let world = world_with(Options {
        inline_budget: Duration::from_millis(200),
        ..Options::default()
    })
    .await;
    world.sir.inject(Fault::on(
        "CreateCaseComment",
        FaultKind::Latency(Duration::from_millis(800)),
    ));
    let answer = world
        .send(&world.signed_event(events::message(
            &world.channel,
            JANE,
            "slow day",
            &message_ts(18),
        )))
        .await;
    assert_eq!(answer.status, 200);
    // Had the ack waited for SIR, the comment would have been written inline and nothing
    // handed off.
    let recorded = world.hand_offs.recorded();
    assert_eq!(recorded.len(), 1);
    let lazy = LazyInvocation::from_payload(&recorded[0].payload)
        .expect("lazy envelope")
        .unwrap();
    assert_eq!(lazy.call.name, "sir_comment");
    assert_eq!(world.run_lazy_work().await, 1);
    // The delayed first attempt may also land: the client token makes it the same comment.
    world.sir.wait_for_calls("CreateCaseComment", 2, WAIT).await;
    assert_eq!(
        world.comments(),
        ["[Slack Update] Jane Doe (@jane, Slack ID U0JANEDOE1): slow day"]
    );
}

#[tokio::test]
async fn a_comment_sir_refuses_is_told_to_the_author() {
    let world = world().await;
    world.sir.inject(Fault::on(
        "CreateCaseComment",
        FaultKind::Validation("body rejected".into()),
    ));
    let answer = world
        .send(&world.signed_event(events::message(
            &world.channel,
            JANE,
            "refused",
            &message_ts(19),
        )))
        .await;
    assert_eq!(answer.status, 200);
    let notes = world.slack.ephemeral_messages(&world.channel);
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].user, JANE);
    let text = notes[0].text.clone().unwrap_or_default();
    assert!(text.contains("could not be copied"), "{text}");
    assert!(text.contains(&world.case_id), "{text}");
    assert!(world.comments().is_empty());
}

/// A lane drain whose SIR call keeps failing (500) fails its invocation (so Lambda retries it),
/// gives the lane back and keeps the job queued; nobody is told yet. Once SIR answers again a
/// scheduled sweep finds the lane (waiting jobs, nobody draining) and writes the job once.
#[tokio::test]
async fn a_failing_lane_drain_fails_its_invocation_and_the_sweep_writes_the_job_later() {
    let world = world_with(Options {
        inline_budget: Duration::from_millis(200),
        ..Options::default()
    })
    .await;
    world
        .sir
        .inject(Fault::on("CreateCaseComment", FaultKind::InternalError).times(10_000));
    let answer = world
        .send(&world.signed_event(events::message(
            &world.channel,
            JANE,
            "kept for later",
            &message_ts(21),
        )))
        .await;
    assert_eq!(answer.status, 200);
    let lazy: Vec<RecordedHandOff> = world.hand_offs.take();
    assert_eq!(lazy.len(), 1);
    let failed = world
        .handler
        .handle_invocation(lazy[0].payload.clone())
        .await
        .expect_err("a retryable lazy failure fails the invocation");
    assert!(failed.is_retryable(), "{failed}");
    let state = world.table.lane_state(&world.channel).await.unwrap();
    assert_eq!(
        (state.waiting, state.held),
        (1, false),
        "kept, lane given back"
    );
    assert!(world.slack.ephemeral_messages(&world.channel).is_empty());

    // A sweep while SIR still fails fails too; nothing is lost.
    let sweep = json!({
        "version": "0", "id": "s1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/lane-sweep"], "detail": {},
    });
    assert!(
        world
            .handler
            .handle_invocation(sweep.clone())
            .await
            .is_err()
    );
    assert_eq!(
        world
            .table
            .lane_state(&world.channel)
            .await
            .unwrap()
            .waiting,
        1
    );

    world.sir.clear_faults();
    let report = world
        .handler
        .handle_invocation(sweep.clone())
        .await
        .unwrap();
    assert_eq!(report["lanesDrained"], 1, "{report}");
    assert_eq!(
        world.comments(),
        ["[Slack Update] Jane Doe (@jane, Slack ID U0JANEDOE1): kept for later"]
    );
    let state = world.table.lane_state(&world.channel).await.unwrap();
    assert_eq!((state.waiting, state.held), (0, false));
    // The next sweep forgets the idle lane.
    let report = world.handler.handle_invocation(sweep).await.unwrap();
    assert_eq!(report["lanesForgotten"], 1, "{report}");
    assert!(world.slack.ephemeral_messages(&world.channel).is_empty());
}

/// A queued comment that still cannot be written once it is older than the give-up age is
/// not left for the TTL: its author is told, the lane moves on, the run succeeds.
#[tokio::test]
async fn a_queued_comment_failing_past_the_give_up_age_is_told_to_its_author() {
    let world = world_with(Options {
        inline_budget: Duration::from_millis(200),
        lane_job_give_up: Duration::ZERO,
        ..Options::default()
    })
    .await;
    world
        .sir
        .inject(Fault::on("CreateCaseComment", FaultKind::InternalError).times(10_000));
    let answer = world
        .send(&world.signed_event(events::message(
            &world.channel,
            JANE,
            "never copied",
            &message_ts(22),
        )))
        .await;
    assert_eq!(answer.status, 200);
    let lazy: Vec<RecordedHandOff> = world.hand_offs.take();
    assert_eq!(lazy.len(), 1);
    let result = world
        .handler
        .handle_invocation(lazy[0].payload.clone())
        .await
        .expect("given up on: nothing for a retry to do");
    assert_eq!(result["ok"], true, "{result}");
    let notes = world.slack.ephemeral_messages(&world.channel);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].user, JANE);
    assert!(
        notes[0]
            .text
            .as_deref()
            .unwrap_or_default()
            .contains("could not be copied"),
        "{notes:?}"
    );
    let state = world.table.lane_state(&world.channel).await.unwrap();
    assert_eq!((state.waiting, state.held), (0, false));
    assert!(world.comments().is_empty());
}

// ---- files -----------------------------------------------------------------------------------

fn pattern_bytes(len: usize) -> Bytes {
    (0..len)
        .map(|i| u8::try_from((i * 7 + i / 251) % 256).unwrap())
        .collect::<Vec<u8>>()
        .into()
}

#[tokio::test]
async fn a_5_mib_file_is_streamed_to_the_case_byte_for_byte() {
    let world = world().await;
    let bytes = pattern_bytes(5 * 1024 * 1024);
    let seeded = world
        .slack
        .add_user_file(SeedFile {
            channel_id: world.channel.clone(),
            user_id: JANE.to_owned(),
            name: "Incident report (final).pdf".to_owned(),
            title: None,
            mimetype: None,
            bytes: bytes.clone(),
            initial_comment: Some("See <@U0BOBSMITH>'s notes on page 2".to_owned()),
            thread_ts: None,
        })
        .unwrap();
    let event = events::file_shared(&world.channel, &seeded.file_id, JANE, &seeded.message_ts);
    let answer = world.send(&world.signed_event(event)).await;
    assert_eq!(answer.status, 200);
    assert!(
        world.sir.attachments(&world.case_id).is_empty(),
        "copied on the ack path"
    );
    assert_eq!(world.run_lazy_work().await, 1);

    let attachments = world.sir.attachments(&world.case_id);
    assert_eq!(attachments.len(), 1);
    let attachment = &attachments[0];
    let sir_name = format!("Incident_report_final-{}.pdf", seeded.file_id);
    assert_eq!(attachment.file_name, sir_name);
    let stored = world
        .sir
        .attachment_bytes(&world.case_id, &attachment.attachment_id)
        .unwrap();
    assert_eq!(stored.len(), bytes.len());
    assert!(stored == bytes, "bytes differ");
    let comments = world.comments();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].starts_with(&format!(
            "[Slack Update] Jane Doe (@jane, Slack ID U0JANEDOE1) uploaded file: {sir_name}"
        )),
        "{}",
        comments[0]
    );
    assert!(comments[0].contains("notes on page 2"), "{}", comments[0]);
    // SIR does not list the upload yet (it lists it when it is ready), and nothing here waited
    // for it: the upload is recorded as this integration's own by its name, before it started.
    assert!(!attachment.listed, "listed at once: {attachment:?}");
    assert_eq!(world.sir.call_count("GetCase"), 0);
    let case: CaseId = world.case_id.parse().unwrap();
    let own = world
        .table
        .own_uploads(&case, [sir_name.as_str(), "Incident_report_final.pdf"])
        .await
        .unwrap();
    assert_eq!(own, std::collections::HashSet::from([sir_name.clone()]));
}

#[tokio::test]
async fn an_expired_upload_url_is_replaced_by_a_fresh_one() {
    let world = world().await;
    // The first URL SIR hands out has expired by the time it is used; a replay of the same
    // request (same clientToken) would hand out that same URL again.
    world
        .sir
        .hand_out_expired_urls("GetCaseAttachmentUploadUrl", 1);
    let bytes = pattern_bytes(256 * 1024);
    let seeded = world
        .slack
        .add_user_file(SeedFile {
            channel_id: world.channel.clone(),
            user_id: JANE.to_owned(),
            name: "timeline.csv".to_owned(),
            title: None,
            mimetype: None,
            bytes: bytes.clone(),
            initial_comment: None,
            thread_ts: None,
        })
        .unwrap();
    let event = events::file_shared(&world.channel, &seeded.file_id, JANE, &seeded.message_ts);
    assert_eq!(world.send(&world.signed_event(event)).await.status, 200);
    assert_eq!(world.run_lazy_work().await, 1);

    let uploads: Vec<(u16, Option<String>)> = world
        .sir
        .calls_to(sir_standin::PRESIGNED_UPLOAD)
        .into_iter()
        .map(|call| (call.status, call.error_type))
        .collect();
    assert_eq!(
        uploads,
        [(403, Some("AccessDenied".to_owned())), (200, None)],
        "refused as expired once, then uploaded with a fresh URL"
    );
    let tokens: Vec<String> = world
        .sir
        .calls_to("GetCaseAttachmentUploadUrl")
        .into_iter()
        .map(|call| {
            call.request["clientToken"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1], "a fresh URL needs a fresh token");
    let attachments = world.sir.attachments(&world.case_id);
    assert_eq!(attachments.len(), 1);
    let stored = world
        .sir
        .attachment_bytes(&world.case_id, &attachments[0].attachment_id)
        .unwrap();
    assert!(stored == bytes, "bytes differ");
    assert!(
        world.slack.ephemeral_messages(&world.channel).is_empty(),
        "nobody is told of a failure"
    );
    assert_eq!(world.comments().len(), 1);
}

#[tokio::test]
async fn an_empty_file_gets_a_note_instead_of_an_attachment() {
    let world = world().await;
    let seeded = world
        .slack
        .add_user_file(SeedFile {
            channel_id: world.channel.clone(),
            user_id: BOB.to_owned(),
            name: "empty.log".to_owned(),
            title: None,
            mimetype: None,
            bytes: Bytes::new(),
            initial_comment: None,
            thread_ts: None,
        })
        .unwrap();
    let event = events::file_shared(&world.channel, &seeded.file_id, BOB, &seeded.message_ts);
    assert_eq!(world.send(&world.signed_event(event)).await.status, 200);
    assert_eq!(world.run_lazy_work().await, 1);
    assert!(world.sir.attachments(&world.case_id).is_empty());
    assert_eq!(world.sir.call_count("GetCaseAttachmentUploadUrl"), 0);
    let notes = world.slack.ephemeral_messages(&world.channel);
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].user, BOB);
    assert!(
        notes[0]
            .text
            .as_deref()
            .unwrap_or("")
            .contains("it is empty")
    );
    let comments = world.comments();
    assert_eq!(comments.len(), 1);
    assert!(comments[0].starts_with(
        "[Slack Update] Bob Smith (@bob, Slack ID U0BOBSMITH) shared the file empty.log"
    ));
    assert!(comments[0].contains("not attached"));
}

#[tokio::test]
async fn lazy_work_can_travel_through_eventbridge() {
    let aws = LocalAws::shared().await.unwrap();
    let pattern = json!({
        "source": ["sirslack.slack-events-handler"],
        "detail-type": ["Slack Lazy Work"],
    });
    let lazy = LocalBus::create(&aws, "lazy", &pattern).await;
    let world = world_with(Options {
        lazy_bus: Some(lazy.name.clone()),
        ..Options::default()
    })
    .await;
    let bytes = pattern_bytes(64 * 1024);
    let seeded = world
        .slack
        .add_user_file(SeedFile {
            channel_id: world.channel.clone(),
            user_id: JANE.to_owned(),
            name: "capture.pcap".to_owned(),
            title: None,
            mimetype: None,
            bytes: bytes.clone(),
            initial_comment: None,
            thread_ts: None,
        })
        .unwrap();
    let event = events::file_shared(&world.channel, &seeded.file_id, JANE, &seeded.message_ts);
    assert_eq!(world.send(&world.signed_event(event)).await.status, 200);
    let delivered = lazy.receive(1, WAIT).await;
    assert_eq!(delivered.len(), 1);
    let envelope: Value = serde_json::from_str(&delivered[0].body).unwrap();
    assert_eq!(envelope["detail-type"], "Slack Lazy Work");
    let result = world.handler.handle_invocation(envelope).await.unwrap();
    assert_eq!(result["ok"], true, "{result}");
    let attachments = world.sir.attachments(&world.case_id);
    assert_eq!(attachments.len(), 1);
    let stored = world
        .sir
        .attachment_bytes(&world.case_id, &attachments[0].attachment_id)
        .unwrap();
    assert!(stored == bytes);
}

/// Runs every lazy hand-off recorded so far and returns each result (`ok` false included).
async fn run_lazy_results(world: &World) -> Vec<Value> {
    let mut results = Vec::new();
    for hand_off in world.hand_offs.take() {
        if hand_off.target == HandOffTarget::ThisFunction {
            let result = world
                .handler
                .handle_invocation(hand_off.payload.clone())
                .await
                .expect("lazy invocation");
            results.push(result);
        }
    }
    results
}

async fn share_file(world: &World, name: &str) -> slack_standin::SeededFile {
    let seeded = world
        .slack
        .add_user_file(SeedFile {
            channel_id: world.channel.clone(),
            user_id: JANE.to_owned(),
            name: name.to_owned(),
            title: None,
            mimetype: None,
            bytes: pattern_bytes(4096),
            initial_comment: None,
            thread_ts: None,
        })
        .unwrap();
    let event = events::file_shared(&world.channel, &seeded.file_id, JANE, &seeded.message_ts);
    assert_eq!(world.send(&world.signed_event(event)).await.status, 200);
    seeded
}

/// What the functions log (INFO and above), from the first call on, for the whole test binary:
/// a global subscriber, since a thread-scoped one misses events when other tests run at once.
fn captured_logs() -> &'static CapturedLogs {
    static LOGS: std::sync::OnceLock<CapturedLogs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .with_writer(logs.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .finish(),
        )
        .expect("no other global subscriber in this test binary");
        logs
    })
}

#[derive(Clone, Default)]
struct CapturedLogs(Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn a_file_url_off_slacks_file_hosts_never_gets_the_bot_token() {
    let logs = captured_logs();
    let world = world().await;
    // Another server: what files.info names instead of Slack's file host.
    let elsewhere = SlackStandin::start(SlackStandinConfig::default())
        .await
        .unwrap();
    world.slack.set_file_url_base(Some(elsewhere.base_url()));
    share_file(&world, "evidence.zip").await;
    let results = run_lazy_results(&world).await;
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ok"], false, "{results:?}");
    assert!(
        elsewhere.calls().is_empty(),
        "a request reached the other host: {:?}",
        elsewhere.calls()
    );
    assert!(world.sir.attachments(&world.case_id).is_empty());
    let told = world.slack.ephemeral_messages(&world.channel);
    assert_eq!(told.len(), 1, "{told:?}");
    let text = told[0].text.clone().unwrap_or_default();
    assert!(text.contains("not one of Slack's file hosts"), "{text}");
    assert!(
        !text.contains("files-pri"),
        "the URL's path was shown: {text}"
    );
    // The operator's ERROR line names the scheme and host, never the path or the token.
    let logs = logs.text();
    let refusal = logs
        .lines()
        .find(|line| line.contains("bot token withheld"))
        .unwrap_or_else(|| panic!("no refusal logged:\n{logs}"));
    assert!(refusal.contains("ERROR"), "{refusal}");
    assert!(refusal.contains("host=\"127.0.0.1\""), "{refusal}");
    assert!(
        !logs.contains(&world.slack.bot_token()),
        "the token was logged"
    );
    assert!(
        !logs.contains("/files-pri/"),
        "a file URL was logged:\n{logs}"
    );
}

#[tokio::test]
async fn a_download_redirected_off_slacks_file_hosts_is_refused() {
    let world = world().await;
    let elsewhere = SlackStandin::start(SlackStandinConfig::default())
        .await
        .unwrap();
    let seeded = share_file(&world, "evidence.zip").await;
    let path = format!(
        "/files-pri/{}-{}/download/evidence.zip",
        world.team_id, seeded.file_id
    );
    world
        .slack
        .redirect_downloads(&format!("{}{path}", elsewhere.base_url()), 1);
    let results = run_lazy_results(&world).await;
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ok"], false, "{results:?}");
    assert_eq!(world.slack.call_count(slack_standin::DOWNLOAD_CALL), 1);
    assert!(
        elsewhere.calls().is_empty(),
        "the redirect was followed: {:?}",
        elsewhere.calls()
    );
    assert!(world.sir.attachments(&world.case_id).is_empty());

    // A hop that stays on an allowed host is followed, with the token.
    let seeded = share_file(&world, "second.zip").await;
    let path = format!(
        "/files-pri/{}-{}/download/second.zip",
        world.team_id, seeded.file_id
    );
    world
        .slack
        .redirect_downloads(&format!("{}{path}", world.slack.base_url()), 1);
    let results = run_lazy_results(&world).await;
    assert_eq!(results[0]["ok"], true, "{results:?}");
    assert_eq!(world.sir.attachments(&world.case_id).len(), 1);
    let downloads = world.slack.calls_to(slack_standin::DOWNLOAD_CALL);
    assert_eq!(downloads.len(), 3);
    assert!(downloads[2].token.is_some());
}

/// A lazy job as the bus delivers it (what anyone allowed to put events on the bus can send).
fn lazy_from_bus(name: &str, job: Value) -> Value {
    let lazy = json!({ "slack_router_lazy": {
        "name": name, "payload": job, "handed_off_at": chrono::Utc::now().to_rfc3339() } });
    json!({
        "version": "0", "id": "1", "detail-type": "Slack Lazy Work",
        "source": "sirslack.slack-events-handler", "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1", "resources": [], "detail": lazy,
    })
}

#[tokio::test]
async fn a_lazy_job_naming_a_channel_not_linked_to_its_case_is_dropped() {
    let world = world().await;
    // A file shared in a channel no case is linked to, sent to the case by a forged job.
    let seeded = world
        .slack
        .add_user_file(SeedFile {
            channel_id: world.unlinked_channel.clone(),
            user_id: JANE.to_owned(),
            name: "payroll.xlsx".to_owned(),
            title: None,
            mimetype: None,
            bytes: pattern_bytes(1024),
            initial_comment: None,
            thread_ts: None,
        })
        .unwrap();
    let file_job = json!({
        "case_id": world.case_id, "channel": world.unlinked_channel,
        "file_id": seeded.file_id, "user": JANE,
    });
    let result = world
        .handler
        .handle_invocation(lazy_from_bus("file_transfer", file_job))
        .await
        .unwrap();
    assert_eq!(result["ok"], false, "{result}");
    let message_job = json!({
        "job": "message", "case_id": world.case_id, "channel": world.unlinked_channel,
        "ts": message_ts(1), "user": JANE, "text": "not for the case", "is_reply": false,
    });
    let result = world
        .handler
        .handle_invocation(lazy_from_bus("sir_comment", message_job))
        .await
        .unwrap();
    assert_eq!(result["ok"], true, "{result}");
    let membership_job = json!({
        "job": "membership", "case_id": world.case_id, "channel": world.unlinked_channel,
        "user": JANE, "joined": true, "event_ts": "1.5",
    });
    world
        .handler
        .handle_invocation(lazy_from_bus("sir_comment", membership_job))
        .await
        .unwrap();
    assert!(world.sir.attachments(&world.case_id).is_empty());
    assert!(world.comments().is_empty(), "{:?}", world.comments());
    assert_eq!(world.slack.call_count(slack_standin::DOWNLOAD_CALL), 0);
    assert_eq!(world.slack.call_count("files.info"), 0);
    // Nobody named by a forged job is told anything.
    assert!(
        world
            .slack
            .ephemeral_messages(&world.unlinked_channel)
            .is_empty()
    );

    // The same jobs for the linked channel still work.
    let job = json!({
        "job": "membership", "case_id": world.case_id, "channel": world.channel,
        "user": JANE, "joined": true, "event_ts": "1.6",
    });
    let result = world
        .handler
        .handle_invocation(lazy_from_bus("sir_comment", job))
        .await
        .unwrap();
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(world.wait_for_comments(1).await.len(), 1);
}

// ---- slash commands and buttons --------------------------------------------------------------

#[tokio::test]
async fn a_slash_command_is_acknowledged_and_handed_to_the_command_handler() {
    let world = world().await;
    let response_url = world.slack.response_url("cmd-1");
    let command = SlashCommand::new(
        "/security-ir",
        "update-status containment",
        JANE,
        &world.channel,
        &world.team_id,
    )
    .with_user_name("jane")
    .with_response_url(&response_url);
    let answer = world.send(&world.signer.sign(command.into_body())).await;
    assert_eq!(answer.status, 200);
    let ack = answer.json();
    assert_eq!(ack["response_type"], "ephemeral");
    assert_eq!(ack["text"], "Working on it... `/security-ir update-status`");

    let recorded = world.hand_offs.recorded();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0].target,
        HandOffTarget::Function(COMMAND_HANDLER.into())
    );
    let invocation: CommandInvocation =
        serde_json::from_value(recorded[0].payload.clone()).expect("CommandInvocation");
    assert_eq!(invocation.kind, InvocationKind::SlashCommand);
    assert_eq!(invocation.command.as_deref(), Some("/security-ir"));
    assert_eq!(invocation.command_text, "update-status containment");
    assert_eq!(invocation.subcommand.as_deref(), Some("update-status"));
    assert_eq!(invocation.user_id, JANE);
    assert_eq!(invocation.user_name.as_deref(), Some("jane"));
    assert_eq!(invocation.channel_id, world.channel);
    assert_eq!(invocation.case_id.as_str(), world.case_id);
    assert_eq!(invocation.team_id, world.team_id);
    assert_eq!(invocation.response_url.expose(), response_url);
    assert!(invocation.trigger_id.is_some());
    assert!(!format!("{invocation:?}").contains(&response_url));
    assert!(
        world.sir.calls().is_empty(),
        "the command itself is not run here"
    );
}

#[tokio::test]
async fn help_and_mistakes_are_answered_inline_and_other_channels_are_told_where_it_works() {
    let world = world().await;
    let send = |text: &str, channel: &str| {
        world.signer.sign(
            SlashCommand::new("/security-ir", text, JANE, channel, &world.team_id).into_body(),
        )
    };
    let help = world.send(&send("", &world.channel)).await.json();
    assert!(
        help["text"]
            .as_str()
            .unwrap()
            .contains("/security-ir status")
    );
    let wrong = world.send(&send("frobnicate", &world.channel)).await.json();
    assert!(
        wrong["text"]
            .as_str()
            .unwrap()
            .contains("not a /security-ir command")
    );
    let elsewhere = world
        .send(&send("status", &world.unlinked_channel))
        .await
        .json();
    assert_eq!(elsewhere["response_type"], "ephemeral");
    assert!(
        elsewhere["text"]
            .as_str()
            .unwrap()
            .contains("only works in a case channel")
    );
    assert!(world.hand_offs.recorded().is_empty());
}

#[tokio::test]
async fn a_command_whose_hand_off_fails_tells_the_person() {
    let world = world().await;
    world.hand_offs.set_failing(true);
    let command = SlashCommand::new(
        "/security-ir",
        "status",
        JANE,
        &world.channel,
        &world.team_id,
    );
    let answer = world.send(&world.signer.sign(command.into_body())).await;
    assert_eq!(answer.status, 200);
    assert!(
        answer.json()["text"]
            .as_str()
            .unwrap()
            .contains("command handler is unavailable")
    );
}

#[tokio::test]
async fn button_clicks_are_routed_like_commands() {
    let world = world().await;
    let response_url = world.slack.response_url("action-1");
    let click = BlockAction::button(
        &world.team_id,
        BOB,
        &world.channel,
        &message_ts(20),
        "sirslack_close_case",
        "close confirm",
    )
    .with_response_url(&response_url);
    let answer = world.send(&world.signer.sign(click.into_body())).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
    let recorded = world.hand_offs.recorded();
    assert_eq!(recorded.len(), 1);
    let invocation: CommandInvocation =
        serde_json::from_value(recorded[0].payload.clone()).unwrap();
    assert_eq!(invocation.kind, InvocationKind::BlockAction);
    assert_eq!(invocation.action_id.as_deref(), Some("sirslack_close_case"));
    assert_eq!(invocation.action_value.as_deref(), Some("close confirm"));
    assert_eq!(invocation.subcommand.as_deref(), Some("close"));
    assert_eq!(invocation.case_id.as_str(), world.case_id);
    assert_eq!(invocation.response_url.expose(), response_url);

    // A click whose hand-off fails is answered through the response_url.
    world.hand_offs.set_failing(true);
    let again = BlockAction::button(
        &world.team_id,
        BOB,
        &world.channel,
        &message_ts(21),
        "sirslack_close_case",
        "close confirm",
    )
    .with_response_url(&response_url);
    assert_eq!(
        world
            .send(&world.signer.sign(again.into_body()))
            .await
            .status,
        200
    );
    let posts = world.slack.response_posts("action-1");
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0]
            .text
            .as_deref()
            .unwrap_or("")
            .contains("unavailable")
    );
}

/// Stores the case as the poller would have synced it, with `title`.
async fn sync_snapshot(world: &World, title: &str) {
    let case_id: CaseId = world.case_id.parse().unwrap();
    let sir = aws_sdk_securityir::Client::from_conf(
        aws_sdk_securityir::config::Builder::from(world.aws.sdk_config())
            .endpoint_url(world.sir.endpoint_url())
            .build(),
    );
    let out = sir
        .get_case()
        .case_id(case_id.as_str())
        .send()
        .await
        .expect("GetCase");
    let mut case = sirslack_mapper::sir::case_from_get_case(&case_id, &out);
    case.title = title.to_owned();
    let snapshot = sirslack_store::CaseSnapshot::of_case(case, 1, chrono::Utc::now());
    world
        .table
        .put_snapshot(&snapshot, sirslack_store::SnapshotCondition::Absent)
        .await
        .expect("snapshot stored");
}

/// A click on the case message's `action_id` button, for `case_id`, with a trigger the stand-in
/// issued (expired when `late`).
fn edit_click(
    world: &World,
    action_id: &str,
    case_id: &str,
    late: bool,
    token: &str,
) -> SignedRequest {
    let trigger_id = world.slack.issue_trigger_id(JANE).expect("a trigger");
    if late {
        world.slack.expire_trigger_id(&trigger_id).expect("expired");
    }
    let mut click = BlockAction::button(
        &world.team_id,
        JANE,
        &world.channel,
        &message_ts(30),
        action_id,
        case_id,
    )
    .with_response_url(&world.slack.response_url(token));
    click.block_id = format!("case:{case_id}");
    click.trigger_id = trigger_id;
    world.signer.sign(click.into_body())
}

#[tokio::test]
async fn edit_buttons_open_their_modal_on_the_ack_path_and_submissions_are_handed_off_as_commands()
{
    let world = world().await;
    // Not synced yet: the modal opens empty and says so.
    let answer = world
        .send(&edit_click(
            &world,
            "case_edit_description",
            &world.case_id,
            false,
            "edit-0",
        ))
        .await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
    let opened = world.slack.open_views(JANE).pop().expect("a modal is open");
    assert_eq!(opened.callback_id(), "edit_case_description");
    let input = opened
        .block("edit_description")
        .expect("the description input");
    assert_eq!(input["element"]["multiline"], true);
    assert!(input["element"].get("initial_value").is_none());
    assert!(opened.view.to_string().contains("is not known here yet"));

    // Synced: pre-filled with the snapshot's title.
    sync_snapshot(&world, "Compromised IAM key").await;
    let started = Instant::now();
    let answer = world
        .send(&edit_click(
            &world,
            "case_edit_title",
            &world.case_id,
            false,
            "edit-1",
        ))
        .await;
    assert_eq!(answer.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let view = world.slack.open_views(JANE).pop().expect("a modal is open");
    assert_eq!(view.callback_id(), "edit_case_title");
    assert_eq!(
        view.block("edit_title").unwrap()["element"]["initial_value"],
        "Compromised IAM key"
    );
    assert!(
        world.hand_offs.recorded().is_empty(),
        "a click hands nothing off"
    );

    // A field error stays in the modal; a valid submission is the command, keyed by the view.
    let text = |value: &str| slack_standin::signing::InputValue::PlainText(value.to_owned());
    let too_long = world
        .slack
        .view_submission(
            JANE,
            &view.id,
            &[("edit_title", "edit_title", text(&"x".repeat(301)))],
        )
        .unwrap();
    let errors = world
        .send(&world.signer.sign(too_long.into_body()))
        .await
        .json();
    assert_eq!(errors["response_action"], "errors");
    assert_eq!(
        errors["errors"]["edit_title"],
        "The title has 301 characters; the limit is 300."
    );
    assert!(world.hand_offs.recorded().is_empty());
    let valid = world
        .slack
        .view_submission(
            JANE,
            &view.id,
            &[
                ("edit_title", "edit_title", text("Leaked key <prod> 123456")),
                ("edit_one_time_code", "edit_one_time_code", text("654321")),
            ],
        )
        .unwrap();
    let cleared = world
        .send(&world.signer.sign(valid.into_body()))
        .await
        .json();
    assert_eq!(cleared["response_action"], "clear");
    let recorded = world.hand_offs.take();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0].target,
        HandOffTarget::Function(COMMAND_HANDLER.into())
    );
    let invocation: CommandInvocation =
        serde_json::from_value(recorded[0].payload.clone()).expect("CommandInvocation");
    assert_eq!(invocation.kind, InvocationKind::ViewSubmission);
    assert_eq!(
        invocation.command_text,
        "update-title Leaked key &lt;prod&gt; 123456"
    );
    assert_eq!(invocation.subcommand.as_deref(), Some("update-title"));
    assert_eq!(invocation.view_id.as_deref(), Some(view.id.as_str()));
    assert_eq!(
        invocation.one_time_code.as_ref().map(|code| code.as_str()),
        Some("654321")
    );
    assert_eq!(invocation.channel_id, world.channel);
    assert_eq!(invocation.case_id.as_str(), world.case_id);
    assert_eq!(
        invocation.response_url.expose(),
        world.slack.response_url("edit-1")
    );
    assert!(world.slack.response_posts("edit-1").is_empty());
    assert_eq!(world.sir.call_count("UpdateCase"), 0);
}

#[tokio::test]
async fn a_late_or_foreign_edit_click_is_explained_through_its_response_url() {
    let world = world().await;
    world
        .send(&edit_click(
            &world,
            "case_edit_title",
            &world.case_id,
            true,
            "late",
        ))
        .await;
    let posts = world.slack.response_posts("late");
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].text.as_deref(),
        Some(
            "The edit form could not be opened in time (Slack allows 3 seconds). Please click \
             *Edit title* again."
        )
    );
    world
        .send(&edit_click(
            &world,
            "case_edit_title",
            "9999999999",
            false,
            "foreign",
        ))
        .await;
    let posts = world.slack.response_posts("foreign");
    assert!(
        posts[0]
            .text
            .as_deref()
            .unwrap_or("")
            .contains("another case's message"),
        "{posts:?}"
    );
    assert!(world.slack.open_views(JANE).is_empty());
    assert!(world.hand_offs.recorded().is_empty());
}

// ---- the Lambda entry point ------------------------------------------------------------------

#[tokio::test]
async fn the_lambda_entry_point_answers_proxy_events_and_runs_lazy_work() {
    let world = world().await;
    let request = world.signer.sign(
        SlashCommand::new(
            "/security-ir",
            "status",
            JANE,
            &world.channel,
            &world.team_id,
        )
        .into_body(),
    );
    let response = world
        .handler
        .handle_invocation(proxy_event(&request, false))
        .await
        .expect("proxy response");
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["isBase64Encoded"], false);
    assert_eq!(
        response["multiValueHeaders"]["content-type"],
        json!(["application/json"])
    );
    let ack: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(ack["text"], "Working on it... `/security-ir status`");

    let unsigned = SignedRequest {
        timestamp: String::new(),
        signature: String::new(),
        ..request
    };
    let response = world
        .handler
        .handle_invocation(proxy_event(&unsigned, true))
        .await
        .unwrap();
    assert_eq!(response["statusCode"], 401);

    // An EventBridge-delivered lazy invocation is recognised too.
    let job = json!({
        "job": "membership", "case_id": world.case_id, "channel": world.channel,
        "user": JANE, "joined": true, "event_ts": "1.5",
    });
    let lazy = json!({ "slack_router_lazy": {
        "name": "sir_comment", "payload": job, "handed_off_at": "2026-01-01T00:00:00Z" } });
    let from_bus = json!({
        "version": "0", "id": "1", "detail-type": "Slack Lazy Work",
        "source": "sirslack.slack-events-handler", "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1", "resources": [], "detail": lazy,
    });
    let result = world.handler.handle_invocation(from_bus).await.unwrap();
    assert_eq!(result, json!({ "lazy": "sir_comment", "ok": true }));
    assert_eq!(
        world.wait_for_comments(1).await,
        ["[Slack Update] Jane Doe (@jane, Slack ID U0JANEDOE1) joined the Slack channel"]
    );
    assert!(
        world
            .handler
            .handle_invocation(json!({ "hello": 1 }))
            .await
            .is_err()
    );
}
