//! Benchmark of the Slack events handler against the local world (moto, Slack and SIR
//! stand-ins on 127.0.0.1).
//!
//! 1. **Ack path**: the time from a request to its response inside the handler (the Lambda
//!    entry point: API Gateway proxy event in, proxy response out) for a verified message event
//!    copied inline to SIR, a slash command, a message in a channel no case is linked to, and
//!    the interactive payloads (issue 19): the global shortcut opening the declare modal
//!    (`views.open` on the ack path), a declare submission answered with field errors, a valid
//!    one handed off, the case message's Edit title button (snapshot read + `views.open`) and
//!    a valid edit submission handed off. Each trigger is issued by the Slack stand-in just
//!    before its request, as Slack would.
//!    The hand-off to the command handler is recorded in memory (an async `lambda:Invoke` adds
//!    one in-region round trip in AWS).
//! 2. **Cold start**: the real `slack-events-handler` binary started under a minimal Lambda
//!    Runtime API emulator: process start to the first response posted to the runtime API.
//!    Its configuration points every AWS service at moto and SIR at the stand-in; the slash
//!    command's hand-off is a real `lambda:Invoke` round trip to moto (which has no command
//!    handler function and answers `ResourceNotFoundException`, so the ack is the fallback
//!    text: same round trip, same status).
//!
//! ```sh
//! scripts/setup-local-world   # moto, once
//! cargo build --release -p sirslack-events-handler --bins --examples
//! target/release/examples/events_handler_bench [requests] [cold-starts]
//! ```

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_local::{LocalAws, OnExisting, ParameterKind, create_table, put_parameter, unique_name};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sir_standin::{NewCase, SirStandin};
use sirslack_domain::CaseId;
use sirslack_events_handler::EventsHandler;
use sirslack_events_handler::config::{Config, LazyTransport, ParameterNames};
use sirslack_slack_router::RecordingHandOffSink;
use sirslack_store::Table;
use slack_standin::signing::{
    BlockAction, EventCallback, InputValue, SelectedOption, SignedRequest, SlackSigner,
    SlashCommand, events,
};
use slack_standin::{SeedChannel, SeedUser, SlackStandin, SlackStandinConfig};
use tokio::sync::mpsc;

type Error = Box<dyn std::error::Error + Send + Sync>;

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const JANE: &str = "U0JANEDOE1";

struct LocalWorld {
    aws: LocalAws,
    slack: SlackStandin,
    sir: SirStandin,
    table_name: String,
    parameters: ParameterNames,
    team_id: String,
    case_id: String,
    channel: String,
    other_channel: String,
}

impl LocalWorld {
    async fn start() -> Result<Self, Error> {
        let aws = LocalAws::shared().await?;
        let table_name = unique_name("bench");
        create_table(&aws.dynamodb(), &table_name).await?;
        let slack = SlackStandin::start(SlackStandinConfig::default()).await?;
        let team_id = slack.team_id();
        slack.add_user(SeedUser::human(
            JANE,
            "jane",
            "Jane Doe",
            "jane@example.com",
        ))?;
        let mut case_channel = SeedChannel::public(&unique_name("case"));
        case_channel.bot_is_member = true;
        case_channel.members = vec![JANE.to_owned()];
        let channel = slack.add_channel(case_channel)?;
        let mut other = SeedChannel::public(&unique_name("random"));
        other.bot_is_member = true;
        let other_channel = slack.add_channel(other)?;
        let prefix = format!("/{}", unique_name("bench"));
        let parameters = ParameterNames {
            signing_secret: format!("{prefix}/slackSigningSecret"),
            bot_token: format!("{prefix}/slackBotToken"),
            workspace_id: format!("{prefix}/slackWorkspaceId"),
        };
        let ssm = aws.ssm();
        put_parameter(
            &ssm,
            &parameters.signing_secret,
            SECRET,
            ParameterKind::Secure,
            OnExisting::Overwrite,
        )
        .await?;
        put_parameter(
            &ssm,
            &parameters.bot_token,
            &slack.bot_token(),
            ParameterKind::Secure,
            OnExisting::Overwrite,
        )
        .await?;
        put_parameter(
            &ssm,
            &parameters.workspace_id,
            &team_id,
            ParameterKind::Plain,
            OnExisting::Overwrite,
        )
        .await?;
        let sir = SirStandin::start().await?;
        let case_id = sir.seed_case(NewCase::default())?;
        let table = Table::new(aws.dynamodb(), table_name.clone());
        let case: CaseId = case_id.parse()?;
        table.claim_case(&case).await?;
        table.link_channel(&case, &channel, "case").await?;
        // The case as the poller syncs it: the Edit buttons pre-fill from this snapshot.
        let sir_client = aws_sdk_securityir::Client::from_conf(
            aws_sdk_securityir::config::Builder::from(aws.sdk_config())
                .endpoint_url(sir.endpoint_url())
                .build(),
        );
        let synced = sir_client.get_case().case_id(&case_id).send().await?;
        let snapshot = sirslack_store::CaseSnapshot::of_case(
            sirslack_mapper::sir::case_from_get_case(&case, &synced),
            1,
            chrono::Utc::now(),
        );
        table
            .put_snapshot(&snapshot, sirslack_store::SnapshotCondition::Absent)
            .await?;
        Ok(Self {
            aws,
            slack,
            sir,
            table_name,
            parameters,
            team_id,
            case_id,
            channel,
            other_channel,
        })
    }

    fn config(&self) -> Config {
        Config {
            table_name: self.table_name.clone(),
            parameters: self.parameters.clone(),
            app_id: None,
            command_handler_function: "sirslack-command-handler".to_owned(),
            lazy_transport: LazyTransport::SelfInvoke {
                function_name: "sirslack-slack-events-handler".to_owned(),
            },
            secrets_cache_ttl: Duration::from_secs(300),
            slack_api_url: self.slack.api_url(),
            inline_budget: sirslack_events_handler::config::DEFAULT_INLINE_BUDGET,
            dedupe_ttl: Duration::from_secs(3600),
            dedupe_lease: sirslack_slack_router::DEFAULT_CLAIM_LEASE,
            inline_lane_lease: sirslack_events_handler::config::DEFAULT_INLINE_LANE_LEASE,
            drain_lane_lease: sirslack_events_handler::config::DEFAULT_DRAIN_LANE_LEASE,
            lane_job_give_up: sirslack_events_handler::config::DEFAULT_LANE_JOB_GIVE_UP,
            transfer_timeout: Duration::from_secs(60),
            max_body_bytes: sirslack_slack_router::DEFAULT_MAX_BODY_BYTES,
        }
    }

    fn message(&self, channel: &str, n: usize) -> SignedRequest {
        let ts = format!("{}.{:06}", chrono::Utc::now().timestamp(), n % 1_000_000);
        let event = events::message(channel, JANE, &format!("benchmark message {n}"), &ts);
        SlackSigner::new(SECRET).sign(EventCallback::new(&self.team_id, event).into_body())
    }

    /// The global shortcut "Declare a security incident", with a fresh trigger.
    fn shortcut(&self) -> SignedRequest {
        let shortcut = self
            .slack
            .shortcut(JANE, "declare_security_incident")
            .unwrap_or_else(|error| panic!("shortcut: {error}"));
        SlackSigner::new(SECRET).sign(shortcut.into_body())
    }

    /// A submission of Jane's open modal `view_id` with `values`.
    fn submission(&self, view_id: &str, values: &[(&str, &str, InputValue)]) -> SignedRequest {
        let submission = self
            .slack
            .view_submission(JANE, view_id, values)
            .unwrap_or_else(|error| panic!("view submission: {error}"));
        SlackSigner::new(SECRET).sign(submission.into_body())
    }

    /// A click on the case message's Edit title button, with a fresh trigger.
    fn edit_click(&self) -> SignedRequest {
        let trigger_id = self
            .slack
            .issue_trigger_id(JANE)
            .unwrap_or_else(|error| panic!("trigger: {error}"));
        let mut click = BlockAction::button(
            &self.team_id,
            JANE,
            &self.channel,
            "1700000000.000100",
            "case_edit_title",
            &self.case_id,
        )
        .with_response_url(&self.slack.response_url("bench-edit"));
        click.block_id = format!("case:{}", self.case_id);
        click.trigger_id = trigger_id;
        SlackSigner::new(SECRET).sign(click.into_body())
    }

    /// The ID of Jane's top modal.
    fn top_view(&self) -> Result<String, Error> {
        self.slack
            .open_views(JANE)
            .pop()
            .map(|view| view.id)
            .ok_or_else(|| "no modal open".into())
    }

    fn command(&self) -> SignedRequest {
        let command =
            SlashCommand::new("/security-ir", "status", JANE, &self.channel, &self.team_id)
                .with_response_url(&self.slack.response_url("bench"));
        SlackSigner::new(SECRET).sign(command.into_body())
    }
}

fn proxy_event(request: &SignedRequest) -> Value {
    let mut headers = serde_json::Map::new();
    let mut multi = serde_json::Map::new();
    for (name, value) in request.headers() {
        headers.insert(name.clone(), json!(value));
        multi.insert(name, json!([value]));
    }
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
            "resourcePath": "/slack/events", "httpMethod": "POST", "path": "/prod/slack/events",
            "accountId": "123456789012", "protocol": "HTTP/1.1", "stage": "prod",
            "requestId": "bench", "identity": { "sourceIp": "3.4.5.6" },
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com", "apiId": "abc123",
        },
        "body": request.body,
        "isBase64Encoded": false,
    })
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let slow = samples
        .iter()
        .filter(|sample| **sample > Duration::from_millis(500))
        .count();
    println!(
        "{name:<46} n={:<5} p50={:>7.2} ms  p99={:>7.2} ms  max={:>7.2} ms  over 500 ms: {slow}",
        samples.len(),
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.99)),
        ms(percentile(&samples, 1.0)),
    );
}

/// Times each request, built just before it is sent (a trigger is valid for 3 s only).
async fn time_requests(
    handler: &EventsHandler,
    requests: impl IntoIterator<Item = SignedRequest>,
) -> Result<Vec<Duration>, Error> {
    let mut samples = Vec::new();
    for request in requests {
        let event = proxy_event(&request);
        let started = Instant::now();
        let response = handler.handle_invocation(event).await?;
        samples.push(started.elapsed());
        if response["statusCode"] != 200 {
            return Err(format!("unexpected response {response}").into());
        }
    }
    Ok(samples)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let requests: usize = args.next().map_or(Ok(1000), |n| n.parse())?;
    let cold_starts: usize = args.next().map_or(Ok(10), |n| n.parse())?;
    let world = LocalWorld::start().await?;
    let hand_offs = Arc::new(RecordingHandOffSink::new());
    let sir_config = aws_sdk_securityir::config::Builder::from(world.aws.sdk_config())
        .endpoint_url(world.sir.endpoint_url())
        .build();
    let handler = EventsHandler::builder(world.config(), world.aws.sdk_config().clone())
        .sir_client(aws_sdk_securityir::Client::from_conf(sir_config))
        .hand_off(hand_offs.clone())
        .build()
        .await?;

    // Warm-up: connection pools, the channel and user caches.
    let warm: Vec<_> = (0..20)
        .map(|n| world.message(&world.channel, 1_000_000 - 1 - n))
        .collect::<Vec<_>>();
    time_requests(&handler, warm).await?;
    time_requests(&handler, (0..20).map(|_| world.command())).await?;
    let before = world.sir.comments(&world.case_id).len();

    println!("Ack path, {requests} sequential requests each (local world, release build):");
    let messages = (0..requests)
        .map(|n| world.message(&world.channel, n))
        .collect::<Vec<_>>();
    report(
        "message event -> SIR comment (inline)",
        time_requests(&handler, messages).await?,
    );
    let copied = world.sir.comments(&world.case_id).len() - before;
    let handed_off = hand_offs.take().len();
    report(
        "slash command -> ack + hand-off",
        time_requests(&handler, (0..requests).map(|_| world.command())).await?,
    );
    let ignored = (0..requests)
        .map(|n| world.message(&world.other_channel, n))
        .collect::<Vec<_>>();
    report(
        "message in an unlinked channel (ignored)",
        time_requests(&handler, ignored).await?,
    );
    println!(
        "  messages copied inline: {copied}/{requests}; lazily handed off: {}",
        handed_off.saturating_sub(20)
    );
    interactive(&world, &handler, &hand_offs, requests).await?;

    if cold_starts > 0 {
        cold_start(&world, cold_starts).await?;
    }
    Ok(())
}

/// The interactive payloads of issue 19, each `requests` times.
async fn interactive(
    world: &LocalWorld,
    handler: &EventsHandler,
    hand_offs: &RecordingHandOffSink,
    requests: usize,
) -> Result<(), Error> {
    let text = |value: &str| InputValue::PlainText(value.to_owned());
    let declare_form = |accounts: &str| {
        vec![
            ("declare_title", "declare_title", text("Benchmark incident")),
            (
                "declare_description",
                "declare_description",
                text("What the benchmark declares"),
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
    };
    // Slack allows views.open at Tier 4 (100+ a minute per workspace); this sends thousands in
    // seconds to measure the handler's own path, so the stand-in's method tiers are lifted here.
    // A modal that did not open would be told to the person (a DM or a response_url post):
    // none may happen.
    world.slack.set_method_rate_limits(false);
    let told = |world: &LocalWorld| {
        world.slack.calls_to("chat.postMessage").len()
            + world.slack.calls_to(slack_standin::RESPONSE_URL_CALL).len()
    };
    let told_before = told(world);
    // Warm-up of the interactive paths.
    time_requests(handler, (0..20).map(|_| world.shortcut())).await?;
    time_requests(handler, (0..20).map(|_| world.edit_click())).await?;
    hand_offs.take();

    report(
        "global shortcut -> views.open (declare modal)",
        time_requests(handler, (0..requests).map(|_| world.shortcut())).await?,
    );
    let declare_view = world.top_view()?;
    report(
        "view_submission -> field errors",
        time_requests(
            handler,
            (0..requests).map(|_| world.submission(&declare_view, &declare_form("12345"))),
        )
        .await?,
    );
    report(
        "view_submission -> clear + hand-off (declare)",
        time_requests(
            handler,
            (0..requests).map(|_| world.submission(&declare_view, &declare_form("111122223333"))),
        )
        .await?,
    );
    let declarations = hand_offs.take().len();
    report(
        "Edit title button -> snapshot + views.open",
        time_requests(handler, (0..requests).map(|_| world.edit_click())).await?,
    );
    let edit_view = world.top_view()?;
    let edit_form = [("edit_title", "edit_title", text("Benchmark title"))];
    report(
        "edit view_submission -> clear + hand-off",
        time_requests(
            handler,
            (0..requests).map(|_| world.submission(&edit_view, &edit_form)),
        )
        .await?,
    );
    let edits = hand_offs.take().len();
    println!("  handed off: {declarations} declarations, {edits} edits (of {requests} each)");
    if declarations != requests || edits != requests {
        return Err("a valid submission was not handed off".into());
    }
    if told(world) != told_before {
        return Err("a modal did not open (the person was told)".into());
    }
    Ok(())
}

// ---- cold start: the real binary under a Lambda Runtime API emulator ---------------------------

#[derive(Clone)]
struct Runtime {
    event: Arc<Mutex<Option<String>>>,
    responses: mpsc::UnboundedSender<(Instant, String)>,
}

async fn next_invocation(State(runtime): State<Runtime>) -> (HeaderMap, String) {
    let event = runtime.event.lock().ok().and_then(|mut slot| slot.take());
    let Some(event) = event else {
        // One invocation per process: later polls wait until the process is stopped.
        std::future::pending::<()>().await;
        unreachable!();
    };
    let mut headers = HeaderMap::new();
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_static("bench-1"),
    );
    headers.insert("lambda-runtime-deadline-ms", HeaderValue::from(deadline));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:bench"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-0-0"),
    );
    (headers, event)
}

async fn invocation_response(State(runtime): State<Runtime>, body: String) -> &'static str {
    let _ = runtime.responses.send((Instant::now(), body));
    "{}"
}

/// The child's log: discarded, or appended to `$BENCH_CHILD_LOG`.
fn child_log() -> Stdio {
    std::env::var_os("BENCH_CHILD_LOG")
        .and_then(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        })
        .map_or_else(Stdio::null, Stdio::from)
}

async fn cold_start(world: &LocalWorld, runs: usize) -> Result<(), Error> {
    let binary = std::env::current_exe()?
        .parent()
        .and_then(|examples| examples.parent())
        .map(|profile| profile.join("slack-events-handler"))
        .ok_or("cannot locate the target directory")?;
    if !binary.exists() {
        println!(
            "cold start: {} not built (cargo build --release -p sirslack-events-handler --bins)",
            binary.display()
        );
        return Ok(());
    }
    // moto loads its Lambda backend on the first Invoke it ever gets (~200 ms, once per moto
    // process): pay that here, not in the first measured run.
    let _ = aws_sdk_lambda::Client::new(world.aws.sdk_config())
        .invoke()
        .function_name("warm-up")
        .send()
        .await;
    let mut command_samples = Vec::new();
    let mut message_samples = Vec::new();
    for run in 0..runs {
        for (kind, request) in [
            ("command", world.command()),
            ("message", world.message(&world.channel, 900_000 + run)),
        ] {
            let elapsed = one_cold_start(world, &binary, &request).await?;
            match kind {
                "command" => command_samples.push(elapsed),
                _ => message_samples.push(elapsed),
            }
        }
    }
    println!("Cold start, {runs} runs each (process start -> first response posted):");
    report("first request: slash command", command_samples);
    report(
        "first request: message event -> SIR comment",
        message_samples,
    );
    Ok(())
}

async fn one_cold_start(
    world: &LocalWorld,
    binary: &std::path::Path,
    request: &SignedRequest,
) -> Result<Duration, Error> {
    let (responses, mut received) = mpsc::unbounded_channel();
    let runtime = Runtime {
        event: Arc::new(Mutex::new(Some(proxy_event(request).to_string()))),
        responses,
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(invocation_response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/error",
            post(invocation_response),
        )
        .route("/2018-06-01/runtime/init/error", post(invocation_response))
        .with_state(runtime);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let runtime_api = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let config = world.config();
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "sirslack-slack-events-handler")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", world.aws.endpoint_url())
        .env("AWS_ENDPOINT_URL_SECURITY_IR", world.sir.endpoint_url())
        .env("TABLE_NAME", &config.table_name)
        .env(
            "SLACK_SIGNING_SECRET_PARAMETER",
            &config.parameters.signing_secret,
        )
        .env("SLACK_BOT_TOKEN_PARAMETER", &config.parameters.bot_token)
        .env(
            "SLACK_WORKSPACE_ID_PARAMETER",
            &config.parameters.workspace_id,
        )
        .env(
            "COMMAND_HANDLER_FUNCTION_NAME",
            &config.command_handler_function,
        )
        .env("SLACK_API_URL", &config.slack_api_url)
        // What Lambda sets from the function's logging configuration.
        .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .stdout(child_log())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let answer = tokio::time::timeout(Duration::from_secs(30), received.recv()).await;
    child.kill().await?;
    server.abort();
    let (at, body) = answer?.ok_or("the runtime API stopped")?;
    let response: Value = serde_json::from_str(&body)?;
    if response["statusCode"] != 200 {
        return Err(format!("cold start answered {body}").into());
    }
    Ok(at.duration_since(started))
}
