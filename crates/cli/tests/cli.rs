//! The `sirslack` binary, run as a user runs it, against the local world: moto for AWS (stacks
//! created in moto's CloudFormation), the Slack stand-in for `auth.test`, a local endpoint that
//! checks Slack signatures, and fake `cargo`/`rustc`/`zig`/`node`/`npx` first on `PATH`.
//!
//! Every test uses its own deployment name (`--deployment`), so stacks and parameters of tests
//! running side by side on the shared moto server never meet.

use std::collections::HashMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_local::{Decryption, LocalAws, OnExisting, ParameterKind};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use sir_standin::{MembershipStatus, SirStandin};
use sirslack_test_world::LocalWorld;
use slack_standin::signing::SlackSigner;
use slack_standin::{SlackStandin, SlackStandinConfig};
use tokio::io::AsyncWriteExt;

const SEED_HELP_LINES: [&str; 11] = [
    "usage: deploy-integrations-solution slack [-h] --bot-token BOT_TOKEN --signing-secret SIGNING_SECRET --workspace-id WORKSPACE_ID [--log-level {info,debug,error}]",
    "options:",
    "  -h, --help            show this help message and exit",
    "  --bot-token BOT_TOKEN",
    "                        Slack Bot User OAuth Token (xoxb-...)",
    "  --signing-secret SIGNING_SECRET",
    "                        Slack App Signing Secret",
    "  --workspace-id WORKSPACE_ID",
    "                        Slack Workspace ID",
    "  --log-level {info,debug,error}",
    "                        Log level for Lambda functions",
];

const SEED_SUCCESS_TEXT: &str = "\
✅ Slack integration deployed successfully!

📝 Next steps:
   1. Configure your Slack app's Event Subscriptions URL with the API Gateway endpoint
   2. Configure your Slack app's Slash Commands with the /security-ir command
   3. Install the Slack app to your workspace
   4. Test the integration by creating a test AWS Security IR case";

/// Valid values of the documented shapes (none of them real).
const TOKEN: &str = "xoxb-1111111111-2222222222-abcDEF123ghi";
const NEW_TOKEN: &str = "xoxb-1111111111-3333333333-newTOKEN456";
const SECRET: &str = "0123456789abcdef0123456789abcdef";
const NEW_SECRET: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
const TEAM_ID: &str = "T0STANDIN1";

const WAIT: Duration = Duration::from_secs(30);

// ---- running the binary ----------------------------------------------------------------------

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "{}", self.describe());
        self
    }

    fn assert_stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n{}",
            self.describe()
        );
        self
    }

    fn assert_stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n{}",
            self.describe()
        );
        self
    }

    fn assert_never_shows(&self, secrets: &[&str]) -> &Self {
        for secret in secrets {
            assert!(
                !self.stdout.contains(secret) && !self.stderr.contains(secret),
                "a secret was printed\n{}",
                self.describe()
            );
        }
        self
    }

    fn line_starting(&self, prefix: &str) -> &str {
        self.stdout
            .lines()
            .find(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starts with {prefix:?}\n{}", self.describe()))
    }
}

/// The binary with a clean environment: nothing from the developer's shell or `~/.aws`.
fn sirslack(env: &[(&str, String)]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_sirslack"));
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", std::env::temp_dir())
        .env("AWS_CONFIG_FILE", "/nonexistent/sirslack-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/sirslack-test/credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

async fn run(env: &[(&str, String)], args: &[&str], stdin: Option<&str>) -> Run {
    let mut command = sirslack(env);
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the sirslack binary runs");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("piped stdin");
        pipe.write_all(input.as_bytes()).await.expect("write stdin");
        drop(pipe);
    }
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("sirslack finished within two minutes")
        .expect("sirslack output");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

// ---- temporary directories and fake tools ------------------------------------------------------

struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sirslack-cli-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Fake `cargo`, `rustc`, `zig`, `node` and `npx` that log their arguments (and whether a Slack
/// secret reached their environment) and behave like the real ones just enough.
struct FakeTools {
    dir: TempDir,
}

#[derive(Clone, Copy)]
struct FakeToolOptions {
    cargo_lambda: bool,
    arm64_target: bool,
}

impl FakeTools {
    fn new(options: FakeToolOptions) -> Self {
        let dir = TempDir::new("tools");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let sysroot = dir.path().join("sysroot");
        std::fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-linux-gnu")).unwrap();
        if options.arm64_target {
            std::fs::create_dir_all(sysroot.join("lib/rustlib/aarch64-unknown-linux-gnu")).unwrap();
        }
        let log = dir.path().join("calls.log");
        let log_call = format!(
            r#"echo "$(basename "$0") $* [cwd $(pwd)]" >> '{log}'
if [ -n "$SLACK_BOT_TOKEN$SLACK_SIGNING_SECRET" ]; then echo "SECRET IN ENVIRONMENT" >> '{log}'; fi"#,
            log = log.display()
        );
        let cargo_lambda_version = if options.cargo_lambda {
            r#"echo "cargo-lambda 1.8.6 (fake)"; exit 0"#
        } else {
            r#"echo "error: no such command: `lambda`" >&2; exit 101"#
        };
        let scripts = [
            (
                "cargo",
                format!(
                    r#"case "$1 $2" in
  "lambda --version") {cargo_lambda_version} ;;
  "lambda build")
    [ -n "$FAKE_BUILD_SECONDS" ] && sleep "$FAKE_BUILD_SECONDS"
    for binary in sir-poller slack-client slack-events-handler command-handler; do
      mkdir -p "$CARGO_TARGET_DIR/lambda/$binary" && : > "$CARGO_TARGET_DIR/lambda/$binary/bootstrap"
    done
    exit 0 ;;
esac
exit 101"#
                ),
            ),
            (
                "rustc",
                format!(
                    r#"[ "$1 $2" = "--print sysroot" ] && {{ echo '{}'; exit 0; }}; exit 1"#,
                    sysroot.display()
                ),
            ),
            ("zig", r#"echo "0.13.0"; exit 0"#.to_string()),
            ("node", r#"echo "v20.19.0"; exit 0"#.to_string()),
            (
                "npx",
                r#"[ "$*" = "--no cdk --version" ] && { echo "2.1148.1 (build fake)"; exit 0; }; exit 0"#
                    .to_string(),
            ),
        ];
        for (name, body) in scripts {
            let path = bin.join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{log_call}\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Self { dir }
    }

    fn path_var(&self) -> String {
        format!("{}:/usr/bin:/bin", self.dir.path().join("bin").display())
    }

    fn target_dir(&self) -> PathBuf {
        self.dir.path().join("target")
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("calls.log")).unwrap_or_default()
    }
}

// ---- the local world -----------------------------------------------------------------------------

/// A deployment name nobody else uses on the shared moto server.
fn unique_deployment() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "t{}n{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

struct World {
    aws: LocalAws,
    slack: SlackStandin,
    sir: Arc<SirStandin>,
    deployment: String,
    tools: FakeTools,
}

impl World {
    async fn new() -> Self {
        Self::with_tools(FakeToolOptions {
            cargo_lambda: true,
            arm64_target: true,
        })
        .await
    }

    async fn with_tools(options: FakeToolOptions) -> Self {
        let local = LocalWorld::builder("cli")
            .sir()
            .slack_with(SlackStandinConfig {
                team_id: TEAM_ID.to_string(),
                bot_token: TOKEN.to_string(),
                ..SlackStandinConfig::default()
            })
            .start()
            .await;
        Self {
            aws: local.aws().clone(),
            slack: local.slack().clone(),
            sir: local.sir().clone(),
            deployment: unique_deployment(),
            tools: FakeTools::new(options),
        }
    }

    fn common_stack(&self) -> String {
        format!(
            "AwsSecurityIncidentResponseSampleIntegrationsCommonStack-{}",
            self.deployment
        )
    }

    fn slack_stack(&self) -> String {
        format!(
            "AwsSecurityIncidentResponseSlackIntegrationStack-{}",
            self.deployment
        )
    }

    fn parameter(&self, suffix: &str) -> String {
        format!("/SecurityIncidentResponse/{}/{suffix}", self.deployment)
    }

    /// The environment of every run: moto, the stand-in, the fake tools.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PATH", self.tools.path_var()),
            (
                "CARGO_TARGET_DIR",
                self.tools.target_dir().display().to_string(),
            ),
            ("AWS_ENDPOINT_URL", self.aws.endpoint_url().to_string()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("SLACK_API_URL", self.slack.api_url()),
            ("AWS_ENDPOINT_URL_SECURITY_IR", self.sir.endpoint_url()),
        ]
    }

    /// The table the common stack creates (retained when the stack is deleted).
    fn table(&self) -> String {
        format!("sirslack-test-table-{}", self.deployment)
    }

    async fn table_exists(&self) -> bool {
        self.aws
            .dynamodb()
            .describe_table()
            .table_name(self.table())
            .send()
            .await
            .is_ok()
    }

    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Run {
        self.run_with(&[], args, stdin).await
    }

    async fn run_with(
        &self,
        extra_env: &[(&'static str, String)],
        args: &[&str],
        stdin: Option<&str>,
    ) -> Run {
        let mut env = self.env();
        env.extend(extra_env.iter().cloned());
        let mut all: Vec<&str> = args.to_vec();
        all.push("--deployment");
        all.push(&self.deployment);
        run(&env, &all, stdin).await
    }

    /// Both stacks, created in moto's CloudFormation, with the outputs the real ones have.
    async fn create_stacks(&self, endpoint: &str) {
        self.create_stacks_with(endpoint, false).await;
    }

    /// `adopting`: the common stack uses the existing table instead of creating it.
    async fn create_stacks_with(&self, endpoint: &str, adopting: bool) {
        let cloudformation = aws_sdk_cloudformation::Client::new(self.aws.sdk_config());
        let prefix = format!("/SecurityIncidentResponse/{}", self.deployment);
        let mut common = common_template(&self.table());
        if adopting {
            common["Resources"]
                .as_object_mut()
                .unwrap()
                .remove("IntegrationTable");
            common["Outputs"]["TableName"] = json!({ "Value": self.table() });
        }
        for (name, template) in [
            (self.common_stack(), common),
            (self.slack_stack(), slack_template(&prefix, endpoint)),
        ] {
            cloudformation
                .create_stack()
                .stack_name(&name)
                .template_body(template.to_string())
                .send()
                .await
                .unwrap_or_else(|err| panic!("CreateStack {name}: {err:?}"));
            let deadline = Instant::now() + WAIT;
            loop {
                let status = cloudformation
                    .describe_stacks()
                    .stack_name(&name)
                    .send()
                    .await
                    .unwrap()
                    .stacks()[0]
                    .stack_status()
                    .map(|status| status.as_str().to_string())
                    .unwrap_or_default();
                if status == "CREATE_COMPLETE" {
                    break;
                }
                assert!(
                    !status.ends_with("FAILED") && !status.contains("ROLLBACK"),
                    "{name}: {status}"
                );
                assert!(Instant::now() < deadline, "{name} still {status}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    async fn outputs(&self, stack: &str) -> HashMap<String, String> {
        let cloudformation = aws_sdk_cloudformation::Client::new(self.aws.sdk_config());
        let described = cloudformation
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        described.stacks()[0]
            .outputs()
            .iter()
            .map(|output| {
                (
                    output.output_key().unwrap().to_string(),
                    output.output_value().unwrap().to_string(),
                )
            })
            .collect()
    }

    async fn put_secrets(&self, token: &str, secret: &str, token_kind: ParameterKind) {
        let ssm = self.aws.ssm();
        aws_local::put_parameter(
            &ssm,
            &self.parameter("slackBotToken"),
            token,
            token_kind,
            OnExisting::Overwrite,
        )
        .await
        .unwrap();
        aws_local::put_parameter(
            &ssm,
            &self.parameter("slackSigningSecret"),
            secret,
            ParameterKind::Secure,
            OnExisting::Overwrite,
        )
        .await
        .unwrap();
    }

    /// (type, value, version) of a parameter, or `None`.
    async fn stored(&self, suffix: &str) -> Option<(String, String, i64)> {
        let got = self
            .aws
            .ssm()
            .get_parameter()
            .name(self.parameter(suffix))
            .with_decryption(true)
            .send()
            .await
            .ok()?;
        let parameter = got.parameter?;
        Some((
            parameter.r#type?.as_str().to_string(),
            parameter.value?,
            parameter.version,
        ))
    }

    /// A healthy deployment: stacks, secrets, and an endpoint that checks signatures with the
    /// secret in SSM.
    async fn healthy(mode: EndpointMode) -> (Self, Endpoint) {
        let world = Self::new().await;
        let endpoint =
            Endpoint::start(world.aws.ssm(), world.parameter("slackSigningSecret"), mode).await;
        world.create_stacks(&endpoint.url).await;
        world
            .put_secrets(TOKEN, SECRET, ParameterKind::Secure)
            .await;
        (world, endpoint)
    }
}

fn lambda_function(role: &str, description: &str) -> Value {
    json!({
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Description": description,
            "Role": { "Fn::GetAtt": [role, "Arn"] },
            "Code": { "ZipFile": "def handler(event, context):\n    return None\n" },
        },
    })
}

fn lambda_role() -> Value {
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": { "Service": "lambda.amazonaws.com" },
                    "Action": "sts:AssumeRole",
                }],
            },
        },
    })
}

fn common_template(table: &str) -> Value {
    json!({
        "Resources": {
            "IntegrationTable": {
                "Type": "AWS::DynamoDB::Table",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "TableName": table,
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [
                        { "AttributeName": "pk", "AttributeType": "S" },
                        { "AttributeName": "sk", "AttributeType": "S" },
                    ],
                    "KeySchema": [
                        { "AttributeName": "pk", "KeyType": "HASH" },
                        { "AttributeName": "sk", "KeyType": "RANGE" },
                    ],
                },
            },
            "PollerRole": lambda_role(),
            "Poller": lambda_function("PollerRole", "SIR poller"),
            "PollerDlq": { "Type": "AWS::SQS::Queue" },
        },
        "Outputs": {
            "PollerFunctionName": { "Value": { "Ref": "Poller" } },
            "PollerDeadLetterQueueUrl": { "Value": { "Ref": "PollerDlq" } },
            "TableName": { "Value": { "Ref": "IntegrationTable" } },
        },
    })
}

fn slack_template(prefix: &str, endpoint: &str) -> Value {
    json!({
        "Resources": {
            "FunctionRole": lambda_role(),
            "SlackClient": lambda_function("FunctionRole", "Slack client"),
            "EventsHandler": lambda_function("FunctionRole", "events handler"),
            "CommandHandler": lambda_function("FunctionRole", "command handler"),
            "SlackClientDlq": { "Type": "AWS::SQS::Queue" },
            "SlackClientQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "RedrivePolicy": {
                        "deadLetterTargetArn": { "Fn::GetAtt": ["SlackClientDlq", "Arn"] },
                        "maxReceiveCount": 5,
                    },
                },
            },
            "CommandHandlerDlq": { "Type": "AWS::SQS::Queue" },
            "EventsHandlerDlq": { "Type": "AWS::SQS::Queue" },
            "WorkspaceIdParameter": {
                "Type": "AWS::SSM::Parameter",
                "Properties": { "Name": format!("{prefix}/slackWorkspaceId"), "Type": "String", "Value": TEAM_ID },
            },
            "ChannelPrefixParameter": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": format!("{prefix}/slackChannelPrefix"),
                    "Type": "String",
                    "Value": "aws-security-incident-response-case",
                },
            },
        },
        "Outputs": {
            "SlackEventsApiEndpoint": { "Value": endpoint },
            "SlackClientFunctionName": { "Value": { "Ref": "SlackClient" } },
            "EventsHandlerFunctionName": { "Value": { "Ref": "EventsHandler" } },
            "CommandHandlerFunctionName": { "Value": { "Ref": "CommandHandler" } },
            "SlackClientQueueUrl": { "Value": { "Ref": "SlackClientQueue" } },
            "SlackClientDeadLetterQueueUrl": { "Value": { "Ref": "SlackClientDlq" } },
            "CommandHandlerDeadLetterQueueUrl": { "Value": { "Ref": "CommandHandlerDlq" } },
            "EventsHandlerDeadLetterQueueUrl": { "Value": { "Ref": "EventsHandlerDlq" } },
            "BotTokenParameterName": { "Value": format!("{prefix}/slackBotToken") },
            "SigningSecretParameterName": { "Value": format!("{prefix}/slackSigningSecret") },
        },
    })
}

// ---- a local Slack endpoint --------------------------------------------------------------------

/// How the local endpoint checks signatures.
#[derive(Clone)]
enum EndpointMode {
    /// With the signing secret in SSM, read on every request (as the events handler does after a
    /// mismatch), rejecting bad or missing signatures with 401.
    Strict,
    /// With a fixed secret (a function that has another secret than the parameter).
    FixedSecret(String),
    /// Without checking (the defect `verify` must catch).
    AcceptAnything,
}

#[derive(Clone)]
struct EndpointState {
    ssm: aws_sdk_ssm::Client,
    secret_parameter: String,
    mode: EndpointMode,
}

struct Endpoint {
    url: String,
    _server: tokio::task::JoinHandle<()>,
}

impl Endpoint {
    async fn start(ssm: aws_sdk_ssm::Client, secret_parameter: String, mode: EndpointMode) -> Self {
        let state = EndpointState {
            ssm,
            secret_parameter,
            mode,
        };
        let app = Router::new()
            .route("/prod/slack/events", post(slack_events))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/prod/slack/events",
            listener.local_addr().unwrap()
        );
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url,
            _server: server,
        }
    }
}

async fn slack_events(
    State(state): State<EndpointState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let secret = match &state.mode {
        EndpointMode::AcceptAnything => None,
        EndpointMode::FixedSecret(secret) => Some(secret.clone()),
        EndpointMode::Strict => {
            aws_local::get_parameter(&state.ssm, &state.secret_parameter, Decryption::Decrypt)
                .await
                .ok()
        }
    };
    if !matches!(state.mode, EndpointMode::AcceptAnything) {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let (Some(secret), Some(timestamp), Some(signature)) = (
            secret,
            header("x-slack-request-timestamp"),
            header("x-slack-signature"),
        ) else {
            return StatusCode::UNAUTHORIZED.into_response();
        };
        let fresh = timestamp
            .parse::<i64>()
            .is_ok_and(|ts| (chrono::Utc::now().timestamp() - ts).abs() <= 300);
        if !fresh || SlackSigner::new(secret).signature(timestamp, &body) != signature {
            return StatusCode::UNAUTHORIZED.into_response();
        }
    }
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if payload["type"] == "url_verification" {
        return axum::Json(json!({ "challenge": payload["challenge"] })).into_response();
    }
    StatusCode::OK.into_response()
}

/// A stand-in for the Lambda Invoke API that records what it was given.
#[derive(Clone, Default)]
struct InvokeRecorder {
    calls: Arc<Mutex<Vec<(String, String, String)>>>,
}

impl InvokeRecorder {
    async fn start(&self) -> (String, tokio::task::JoinHandle<()>) {
        let app = Router::new()
            .route("/2015-03-31/functions/{name}/invocations", post(invoke))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (url, server)
    }

    /// (function name, invocation type, payload) of every call.
    fn calls(&self) -> Vec<(String, String, String)> {
        self.calls.lock().unwrap().clone()
    }
}

async fn invoke(
    State(recorder): State<InvokeRecorder>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("RequestResponse")
        .to_string();
    recorder.calls.lock().unwrap().push((
        name,
        invocation_type,
        String::from_utf8_lossy(&body).into_owned(),
    ));
    StatusCode::ACCEPTED.into_response()
}

// ---- help and parsing ----------------------------------------------------------------------------

#[tokio::test]
async fn slack_help_prints_the_seed_usage_text_with_our_flags() {
    for flag in ["--help", "-h"] {
        let help = run(&[], &["slack", flag], None).await;
        help.assert_code(0);
        let lines: Vec<&str> = help.stdout.lines().collect();
        let mut from = 0;
        for expected in SEED_HELP_LINES {
            let found = lines[from..]
                .iter()
                .position(|line| *line == expected)
                .unwrap_or_else(|| panic!("{expected:?} missing or out of order\n{}", help.stdout));
            from += found + 1;
        }
        assert_eq!(lines[0], SEED_HELP_LINES[0]);
        for extra in [
            "  --region REGION ",
            "  --profile PROFILE ",
            "  --channel-visibility {private,public}",
            "  --alarm-email ALARM_EMAIL",
            "  --dry-run ",
            "  --yes ",
            "  --deployment NAME ",
            "  verify ",
            "  rotate ",
            "  redrive ",
            "  destroy ",
            "  manifest ",
        ] {
            help.assert_stdout_has(extra);
        }
    }
}

#[tokio::test]
async fn argument_errors_exit_with_2_like_argparse() {
    let bad_level = run(&[], &["slack", "--log-level", "warn"], None).await;
    bad_level
        .assert_code(2)
        .assert_stderr_has("invalid value 'warn' for '--log-level");
    let bad_visibility = run(&[], &["slack", "--channel-visibility", "secret"], None).await;
    bad_visibility
        .assert_code(2)
        .assert_stderr_has("invalid value 'secret' for '--channel-visibility");
    let unknown = run(&[], &["slack", "--bogus"], None).await;
    unknown
        .assert_code(2)
        .assert_stderr_has("Usage: deploy-integrations-solution slack [-h] --bot-token BOT_TOKEN")
        .assert_stderr_has("unexpected argument '--bogus'");
}

#[tokio::test]
async fn every_malformed_value_gets_its_own_message_and_secrets_are_not_echoed() {
    let bad_token = "xoxb-12ab-34-secretTokenPart";
    let bad_secret = "0123456789abcdefXYZ";
    let result = run(
        &[],
        &[
            "slack",
            "--bot-token",
            bad_token,
            "--signing-secret",
            bad_secret,
            "--workspace-id",
            "t123",
            "--alarm-email",
            "not-an-address",
            "--deployment",
            "9lives",
            "--dry-run",
        ],
        None,
    )
    .await;
    result.assert_code(2);
    let errors: Vec<&str> = result
        .stderr
        .lines()
        .filter(|line| line.starts_with("error: "))
        .collect();
    assert_eq!(
        errors,
        [
            "error: --deployment must start with a letter and use only letters, digits and - (at most 20 characters); got \"9lives\"",
            "error: --bot-token must look like xoxb-<digits>-<digits>-<letters and digits> (the Bot User OAuth Token from OAuth & Permissions)",
            "error: --signing-secret must be hexadecimal (0-9, a-f): it has other characters (the Signing Secret from Basic Information > App Credentials, not the Client Secret or a token)",
            "error: --workspace-id must be 9 to 11 upper-case letters or digits, like T0123456789; got \"t123\"",
            "error: --alarm-email must be one e-mail address, like secops@example.com; got \"not-an-address\"",
        ],
        "{}",
        result.describe()
    );
    result
        .assert_stderr_has("(see sirslack slack --help)")
        .assert_never_shows(&["secretTokenPart", bad_secret]);

    let short_secret = run(
        &[],
        &[
            "slack",
            "--bot-token",
            "xoxp-1-2-abc",
            "--signing-secret",
            "abcd",
            "--workspace-id",
            "T12345678",
            "--dry-run",
        ],
        None,
    )
    .await;
    short_secret
        .assert_code(2)
        .assert_stderr_has("error: --bot-token is a user token (xoxp-); use the Bot User OAuth Token (xoxb-...) from OAuth & Permissions")
        .assert_stderr_has("error: --signing-secret must be 32 or 64 hexadecimal characters, got 4 (the Signing Secret from Basic Information > App Credentials)");
}

#[tokio::test]
async fn missing_values_name_the_flag_the_variable_and_stdin() {
    // A dry run needs no secret: only the workspace ID is required.
    let result = run(&[], &["slack", "--dry-run"], None).await;
    result
        .assert_code(2)
        .assert_stderr_has("error: --workspace-id is required (or set SLACK_WORKSPACE_ID)");
    assert!(
        !result.stderr.contains("--bot-token is required")
            && !result.stderr.contains("--signing-secret is required"),
        "{}",
        result.describe()
    );

    let short_stdin = run(
        &[],
        &[
            "slack",
            "--bot-token",
            "-",
            "--signing-secret",
            "-",
            "--workspace-id",
            "T12345678",
            "--dry-run",
        ],
        Some(&format!("{TOKEN}\n")),
    )
    .await;
    short_stdin
        .assert_code(2)
        .assert_stderr_has("error: --signing-secret -: standard input ended before the value");
}

/// A port that counts connections: nothing may connect during a dry run.
struct Tripwire {
    listener: TcpListener,
}

impl Tripwire {
    fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Self { listener }
    }

    fn url(&self) -> String {
        format!("http://{}", self.listener.local_addr().unwrap())
    }

    fn was_touched(&self) -> bool {
        self.listener.accept().is_ok()
    }
}

#[tokio::test]
async fn dry_run_prints_the_plan_without_calling_aws_slack_or_any_tool() {
    let tripwire = Tripwire::new();
    let tools = FakeTools::new(FakeToolOptions {
        cargo_lambda: true,
        arm64_target: true,
    });
    let env = vec![
        ("PATH", tools.path_var()),
        ("AWS_ENDPOINT_URL", tripwire.url()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("SLACK_API_URL", format!("{}/api", tripwire.url())),
        ("SLACK_BOT_TOKEN", TOKEN.to_string()),
        ("SLACK_SIGNING_SECRET", SECRET.to_string()),
    ];
    let plan = run(
        &env,
        &[
            "slack",
            "--workspace-id",
            "T0123456789",
            "--region",
            "eu-west-1",
            "--dry-run",
            "--log-level",
            "debug",
            "--app-id",
            "A0123456789",
        ],
        None,
    )
    .await;
    plan.assert_code(0)
        .assert_stdout_has("Dry run: nothing is changed, and AWS and Slack are not called.")
        .assert_stdout_has("Plan for the default deployment in eu-west-1:")
        .assert_stdout_has("       /SecurityIncidentResponse/slackBotToken   (SecureString, new value given)\n")
        .assert_stdout_has("       /SecurityIncidentResponse/slackSigningSecret   (SecureString, new value given)\n")
        .assert_stdout_has("cargo lambda build --release --arm64 --bin sir-poller --bin slack-client --bin slack-events-handler --bin command-handler")
        .assert_stdout_has("npx --no cdk deploy --all --require-approval never -c requireFunctionCode=true")
        .assert_stdout_has("--parameters AwsSecurityIncidentResponseSlackIntegrationStack:slackWorkspaceId=T0123456789")
        .assert_stdout_has("--parameters AwsSecurityIncidentResponseSampleIntegrationsCommonStack:logLevel=debug")
        .assert_stdout_has("--parameters AwsSecurityIncidentResponseSlackIntegrationStack:slackAppId=A0123456789")
        .assert_never_shows(&[TOKEN, SECRET]);
    assert!(
        !tripwire.was_touched(),
        "the dry run connected somewhere\n{}",
        plan.describe()
    );
    assert_eq!(tools.calls(), "", "the dry run ran a tool");

    // Secrets from standard input, one line each, the token first.
    let from_stdin = run(
        &env[..6],
        &[
            "slack",
            "--bot-token",
            "-",
            "--signing-secret",
            "-",
            "--workspace-id",
            "T0123456789",
            "--dry-run",
        ],
        Some(&format!("{TOKEN}\n{SECRET}\n")),
    )
    .await;
    from_stdin
        .assert_code(0)
        .assert_stdout_has("Plan for the default deployment")
        .assert_never_shows(&[TOKEN, SECRET]);
    assert!(!tripwire.was_touched());
}

#[tokio::test]
async fn dry_run_needs_no_secret_and_says_the_stored_ones_are_kept() {
    let tripwire = Tripwire::new();
    let tools = FakeTools::new(FakeToolOptions {
        cargo_lambda: true,
        arm64_target: true,
    });
    let env = vec![
        ("PATH", tools.path_var()),
        ("AWS_ENDPOINT_URL", tripwire.url()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("SLACK_API_URL", format!("{}/api", tripwire.url())),
    ];
    let plan = run(
        &env,
        &[
            "slack",
            "--workspace-id",
            "T0123456789",
            "--app-name",
            "SecOps IR",
            "--dry-run",
        ],
        None,
    )
    .await;
    plan.assert_code(0)
        .assert_stdout_has("no new secret given (the stored ones are kept)")
        .assert_stdout_has("       /SecurityIncidentResponse/slackBotToken   (kept when stored; on a first deploy the value is asked for)\n")
        .assert_stdout_has("       /SecurityIncidentResponse/slackSigningSecret   (kept when stored; on a first deploy the value is asked for)\n")
        .assert_stdout_has("       /SecurityIncidentResponse/slackAppName   (String: \"SecOps IR\")\n")
        .assert_stdout_has("  3. Check that AWS Security Incident Response has an Active membership in the region")
        .assert_stdout_has("  4. Check the stored bot token with Slack auth.test");
    assert!(!tripwire.was_touched(), "{}", plan.describe());
    assert_eq!(tools.calls(), "", "the dry run ran a tool");
}

// ---- deploy ----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_writes_secure_strings_runs_the_tools_and_prints_the_next_steps() {
    let world = World::new().await;
    let endpoint = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/slack/events";
    // The fake `cdk deploy` changes nothing: the stacks it would deploy exist already.
    world.create_stacks(endpoint).await;
    let deploy = world
        .run_with(
            &[
                ("SLACK_BOT_TOKEN", TOKEN.to_string()),
                ("SLACK_SIGNING_SECRET", SECRET.to_string()),
                (
                    "SIRSLACK_INVOKED_AS",
                    "scripts/deploy-integrations-solution".to_string(),
                ),
            ],
            &[
                "slack",
                "--workspace-id",
                TEAM_ID,
                "--log-level",
                "info",
                "--channel-visibility",
                "public",
                "--alarm-email",
                "secops@example.com",
                "--yes",
            ],
            None,
        )
        .await;
    deploy.assert_code(0).assert_never_shows(&[TOKEN, SECRET]);

    // Eight numbered steps, each closed with its elapsed time.
    for (number, title) in [
        (1, "Validate the parameters"),
        (2, "Check the tools and the AWS identity"),
        (3, "Check the SIR membership (security-ir:ListMemberships)"),
        (4, "Check the bot token with Slack auth.test"),
        (5, "Write the parameters"),
        (6, "Build the functions for arm64 (cargo lambda)"),
        (7, "Deploy both stacks (cdk deploy)"),
        (8, "Read the stack outputs"),
    ] {
        deploy.assert_stdout_has(&format!("[{number}/8] {title}\n"));
    }
    let finished = deploy
        .stdout
        .lines()
        .filter(|line| line.starts_with("      ok (") && line.contains(" s): "))
        .count();
    assert_eq!(finished, 8, "{}", deploy.describe());
    deploy.assert_stdout_has(&format!(
        "membership {} is Active in us-east-1",
        world.sir.membership_id()
    ));
    deploy
        .assert_stdout_has(&format!("the token is valid for workspace {TEAM_ID} (Stand-in Workspace)"))
        // Without --app-id, the app's ID comes from bots.info, and the stack gets it: requests
        // for other apps of the workspace are ignored.
        .assert_stdout_has("; app A0STANDAPP (bots.info): requests for other apps are ignored")
        .assert_stdout_has("AWS account 123456789012 in us-east-1")
        .assert_stdout_has(SEED_SUCCESS_TEXT)
        .assert_stdout_has(&format!("   {endpoint}\n"))
        .assert_stdout_has(&format!("    request_url: \"{endpoint}\"\n"))
        .assert_stdout_has("      - \"channels:history\"\n")
        .assert_stdout_has(&format!(
            "   scripts/deploy-integrations-solution slack verify --region us-east-1 --deployment {}\n",
            world.deployment
        ));

    // The secrets went to SSM as SecureStrings, and nowhere else.
    assert_eq!(
        world.stored("slackBotToken").await,
        Some(("SecureString".into(), TOKEN.into(), 1))
    );
    assert_eq!(
        world.stored("slackSigningSecret").await,
        Some(("SecureString".into(), SECRET.into(), 1))
    );
    let calls = world.tools.calls();
    assert!(!calls.contains(TOKEN) && !calls.contains(SECRET), "{calls}");
    assert!(!calls.contains("SECRET IN ENVIRONMENT"), "{calls}");
    assert!(
        calls.contains(":slackAppId=A0STANDAPP"),
        "the detected app ID reaches the stack: {calls}"
    );
    let source_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();
    assert!(calls.contains(&format!(
        "cargo lambda build --release --arm64 --bin sir-poller --bin slack-client --bin slack-events-handler --bin command-handler [cwd {}]",
        source_dir.display()
    )), "{calls}");
    assert!(
        calls.contains("npx --no cdk bootstrap aws://123456789012/us-east-1"),
        "{calls}"
    );
    let deploy_call = calls
        .lines()
        .find(|line| line.starts_with("npx --no cdk deploy"))
        .unwrap_or_else(|| panic!("no cdk deploy in\n{calls}"));
    let (common, slack) = (world.common_stack(), world.slack_stack());
    for expected in [
        "npx --no cdk deploy --all --require-approval never -c requireFunctionCode=true"
            .to_string(),
        format!(
            "-c functionCodeRoot={}/lambda",
            world.tools.target_dir().display()
        ),
        format!("-c deployment={}", world.deployment),
        format!("--parameters {common}:logLevel=info"),
        format!("--parameters {slack}:logLevel=info"),
        format!("--parameters {slack}:slackWorkspaceId={TEAM_ID}"),
        format!("--parameters {slack}:channelVisibility=public"),
        format!("--parameters {common}:alarmEmail=secops@example.com"),
        format!("--parameters {slack}:alarmEmail=secops@example.com"),
        format!("[cwd {}/infra]", source_dir.display()),
    ] {
        assert!(
            deploy_call.contains(&expected),
            "{expected:?} missing from {deploy_call}"
        );
    }
    assert!(
        !deploy_call.contains("apiGatewayCloudWatchRole"),
        "{deploy_call}"
    );
    // moto has no GetAccountSettings: the reservation is the stack's own.
    assert!(
        !deploy_call.contains("eventsHandlerReservedConcurrency"),
        "{deploy_call}"
    );
    // An update: the stacks keep the first deploy's sync floor.
    deploy.assert_stdout_has("an update: the cases already synced keep their channels");
    assert!(
        !deploy_call.contains("syncCasesUpdatedSince"),
        "{deploy_call}"
    );
}

/// Lambda's GetAccountSettings of an account whose concurrency limit is `limit`.
async fn account_settings_server(limit: i64) -> (String, tokio::task::JoinHandle<()>) {
    let answer = json!({
        "AccountLimit": {
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": limit,
            "CodeSizeUnzipped": 262_144_000,
            "CodeSizeZipped": 52_428_800,
            "TotalCodeSize": 80_530_636_800_i64,
        },
        "AccountUsage": { "FunctionCount": 0, "TotalCodeSize": 0 },
    })
    .to_string();
    let app = Router::new().route(
        "/2016-08-19/account-settings",
        axum::routing::get(move || {
            let answer = answer.clone();
            async move { ([("content-type", "application/json")], answer) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, server)
}

#[tokio::test]
async fn a_deploy_into_an_account_with_a_low_concurrency_limit_reserves_nothing() {
    let world = World::new().await;
    world
        .create_stacks("https://abc123.execute-api.us-east-1.amazonaws.com/prod/slack/events")
        .await;
    let (lambda_url, _server) = account_settings_server(10).await;
    let deploy = world
        .run_with(
            &[
                ("SLACK_BOT_TOKEN", TOKEN.to_string()),
                ("SLACK_SIGNING_SECRET", SECRET.to_string()),
                ("AWS_ENDPOINT_URL_LAMBDA", lambda_url),
            ],
            &["slack", "--workspace-id", TEAM_ID, "--yes"],
            None,
        )
        .await;
    deploy
        .assert_code(0)
        .assert_stdout_has("the account's Lambda concurrency limit is 10, too low to reserve 10")
        .assert_never_shows(&[TOKEN, SECRET]);
    let calls = world.tools.calls();
    let deploy_call = calls
        .lines()
        .find(|line| line.starts_with("npx --no cdk deploy"))
        .unwrap_or_else(|| panic!("no cdk deploy in\n{calls}"));
    assert!(
        deploy_call.contains(&format!(
            "--parameters {}:eventsHandlerReservedConcurrency=0",
            world.slack_stack()
        )),
        "{deploy_call}"
    );
}

/// A first deploy (no stacks yet) into an account whose SIR has two open cases and a closed one.
/// The fake `cdk deploy` creates nothing, so these runs stop at reading the stack outputs.
async fn first_deploy(world: &World, sync_existing: &[&str]) -> (Run, String) {
    let env = [
        ("SLACK_BOT_TOKEN", TOKEN.to_string()),
        ("SLACK_SIGNING_SECRET", SECRET.to_string()),
    ];
    let mut args = vec!["slack", "--workspace-id", TEAM_ID, "--yes"];
    args.extend_from_slice(sync_existing);
    let deploy = world.run_with(&env, &args, None).await;
    deploy
        .assert_code(1)
        .assert_stdout_has("[7/8] Deploy both stacks (cdk deploy)\n      ok (")
        .assert_stderr_has("does not exist after the deploy");
    let calls = world.tools.calls();
    let deploy_call = calls
        .lines()
        .find(|line| line.starts_with("npx --no cdk deploy"))
        .unwrap_or_else(|| panic!("no cdk deploy in\n{calls}"))
        .to_string();
    (deploy, deploy_call)
}

fn seed_cases(world: &World) {
    for status in [
        sir_standin::CaseStatus::Submitted,
        sir_standin::CaseStatus::DetectionAndAnalysis,
        sir_standin::CaseStatus::Closed,
    ] {
        world
            .sir
            .seed_case(sir_standin::NewCase {
                status,
                ..sir_standin::NewCase::default()
            })
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_deploy_says_what_it_syncs_and_passes_the_choice_to_the_poller() {
    let world = World::new().await;
    seed_cases(&world);
    let (deploy, deploy_call) = first_deploy(&world, &[]).await;
    deploy.assert_stdout_has("first deploy: SIR has 2 open cases; with --sync-existing open (the default) each gets a channel with its whole history");
    assert!(
        !deploy_call.contains("syncCasesUpdatedSince"),
        "{deploy_call}"
    );

    let world = World::new().await;
    seed_cases(&world);
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let (deploy, deploy_call) = first_deploy(&world, &["--sync-existing", "none"]).await;
    deploy.assert_stdout_has("first deploy: SIR has 2 open cases; with --sync-existing none they get no channel now, only cases created or updated from now on do");
    let floor = deploy_call
        .split(&format!(
            "--parameters {}:syncCasesUpdatedSince=",
            world.common_stack()
        ))
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no floor in {deploy_call}"));
    let floor = chrono::DateTime::parse_from_rfc3339(floor).unwrap();
    assert!(floor >= before && floor <= chrono::Utc::now(), "{floor}");

    let world = World::new().await;
    seed_cases(&world);
    let (deploy, deploy_call) = first_deploy(&world, &["--sync-existing", "2000-01-01"]).await;
    deploy.assert_stdout_has("first deploy: SIR has 2 open cases, 2 of them updated since 2000-01-01; with --sync-existing 2000-01-01 those 2 get a channel");
    assert!(
        deploy_call.contains(&format!(
            "--parameters {}:syncCasesUpdatedSince=2000-01-01T00:00:00Z",
            world.common_stack()
        )),
        "{deploy_call}"
    );
    let (deploy, _) = first_deploy(&world, &["--sync-existing", "2999-01-01"]).await;
    deploy.assert_stdout_has("2 open cases, 0 of them updated since 2999-01-01");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_existing_takes_open_none_or_a_date() {
    let run = run(
        &[],
        &[
            "slack",
            "--workspace-id",
            TEAM_ID,
            "--sync-existing",
            "yesterday",
            "--dry-run",
        ],
        None,
    )
    .await;
    run.assert_code(2)
        .assert_stderr_has("\"yesterday\" is not open, none or a date YYYY-MM-DD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_stops_at_the_tool_check_and_says_how_to_install_what_is_missing() {
    let world = World::with_tools(FakeToolOptions {
        cargo_lambda: false,
        arm64_target: false,
    })
    .await;
    let deploy = world
        .run(
            &[
                "slack",
                "--bot-token",
                "-",
                "--signing-secret",
                "-",
                "--workspace-id",
                TEAM_ID,
                "--yes",
            ],
            Some(&format!("{TOKEN}\n{SECRET}\n")),
        )
        .await;
    deploy
        .assert_code(1)
        .assert_stdout_has("[2/8] Check the tools and the AWS identity\n      FAILED (")
        .assert_stderr_has("the deploy needs tools that are missing:")
        .assert_stderr_has("  - cargo-lambda is missing: install it with `pip install cargo-lambda` (or `cargo install --locked cargo-lambda`)")
        .assert_stderr_has("  - the Rust target aarch64-unknown-linux-gnu is not installed: `rustup target add aarch64-unknown-linux-gnu`")
        .assert_never_shows(&[TOKEN, SECRET]);
    assert!(!deploy.stdout.contains("[3/8]"), "{}", deploy.describe());
    assert_eq!(world.stored("slackBotToken").await, None);
    assert!(!world.tools.calls().contains("lambda build"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_refuses_a_token_of_another_workspace_before_changing_anything() {
    let world = World::new().await;
    let deploy = world
        .run_with(
            &[
                ("SLACK_BOT_TOKEN", TOKEN.to_string()),
                ("SLACK_SIGNING_SECRET", SECRET.to_string()),
            ],
            &["slack", "--workspace-id", "T0OTHER001", "--yes"],
            None,
        )
        .await;
    deploy
        .assert_code(1)
        .assert_stdout_has("[4/8] Check the bot token with Slack auth.test\n      FAILED (")
        .assert_stderr_has(&format!(
            "error: the bot token belongs to workspace {TEAM_ID} (Stand-in Workspace), not T0OTHER001: use the Bot User OAuth Token of the app installed in T0OTHER001, or correct --workspace-id"
        ));
    let calls = world.tools.calls();
    assert!(
        !calls.contains("lambda build") && !calls.contains("cdk deploy"),
        "{calls}"
    );
    assert_eq!(world.stored("slackBotToken").await, None);

    // A revoked token is named as such.
    world.slack.revoke_token(TOKEN);
    let revoked = world
        .run_with(
            &[
                ("SLACK_BOT_TOKEN", TOKEN.to_string()),
                ("SLACK_SIGNING_SECRET", SECRET.to_string()),
            ],
            &["slack", "--workspace-id", TEAM_ID, "--yes"],
            None,
        )
        .await;
    revoked
        .assert_code(1)
        .assert_stderr_has("error: Slack rejected the bot token (token_revoked): reinstall the app to the workspace and use the new Bot User OAuth Token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_without_a_terminal_needs_yes() {
    let world = World::new().await;
    let deploy = world
        .run(
            &[
                "slack",
                "--bot-token",
                "-",
                "--signing-secret",
                "-",
                "--workspace-id",
                TEAM_ID,
            ],
            Some(&format!("{TOKEN}\n{SECRET}\n")),
        )
        .await;
    deploy
        .assert_code(1)
        .assert_stderr_has(&format!(
            "Deploy deployment \"{}\" to AWS account 123456789012 in us-east-1? Standard input is not a terminal, so there is no one to ask: pass --yes",
            world.deployment
        ));
    assert_eq!(world.stored("slackBotToken").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_keeps_the_stored_secrets_unless_new_ones_are_given() {
    let (world, _endpoint) = World::healthy(EndpointMode::Strict).await;
    let update = world
        .run(&["slack", "--workspace-id", TEAM_ID, "--yes"], None)
        .await;
    update
        .assert_code(0)
        .assert_stdout_has("no new secret given (the stored ones are kept)")
        .assert_stdout_has(&format!(
            "the token is valid for workspace {TEAM_ID} (Stand-in Workspace), bot user "
        ))
        .assert_stdout_has(" (the stored token); app A0STANDAPP (bots.info): requests for other apps are ignored\n")
        .assert_stdout_has(&format!(
            "kept the stored {} and {} (give --bot-token/--signing-secret to replace them)",
            world.parameter("slackBotToken"),
            world.parameter("slackSigningSecret")
        ))
        .assert_never_shows(&[TOKEN, SECRET]);
    for (suffix, value) in [("slackBotToken", TOKEN), ("slackSigningSecret", SECRET)] {
        assert_eq!(
            world.stored(suffix).await,
            Some(("SecureString".into(), value.into(), 1)),
            "{suffix} was rewritten"
        );
    }

    // Only a new signing secret: it is written, the token stays.
    let new_secret = world
        .run_with(
            &[("SLACK_SIGNING_SECRET", NEW_SECRET.to_string())],
            &["slack", "--workspace-id", TEAM_ID, "--yes"],
            None,
        )
        .await;
    new_secret
        .assert_code(0)
        .assert_stdout_has(&format!(
            "wrote {} (version 2); kept the stored {}",
            world.parameter("slackSigningSecret"),
            world.parameter("slackBotToken")
        ))
        .assert_never_shows(&[TOKEN, NEW_SECRET]);
    assert_eq!(
        world.stored("slackSigningSecret").await,
        Some(("SecureString".into(), NEW_SECRET.into(), 2))
    );
    assert_eq!(
        world.stored("slackBotToken").await,
        Some(("SecureString".into(), TOKEN.into(), 1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_deploy_without_secrets_and_without_a_terminal_names_what_is_missing() {
    let world = World::new().await;
    let deploy = world
        .run(&["slack", "--workspace-id", TEAM_ID, "--yes"], None)
        .await;
    deploy
        .assert_code(2)
        .assert_stderr_has(&format!(
            "error: --bot-token is required (or set SLACK_BOT_TOKEN, or pass --bot-token - to read it from standard input): {} does not exist yet, so there is no stored value to keep",
            world.parameter("slackBotToken")
        ))
        .assert_stderr_has(&format!(
            "error: --signing-secret is required (or set SLACK_SIGNING_SECRET, or pass --signing-secret - to read it from standard input): {} does not exist yet",
            world.parameter("slackSigningSecret")
        ));
    assert!(!world.tools.calls().contains("lambda build"));
    assert_eq!(world.stored("slackBotToken").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_name_given_to_the_deploy_is_kept_in_every_manifest() {
    let (world, _endpoint) = World::healthy(EndpointMode::Strict).await;
    let deploy = world
        .run(
            &[
                "slack",
                "--workspace-id",
                TEAM_ID,
                "--app-name",
                "SecOps IR",
                "--yes",
            ],
            None,
        )
        .await;
    deploy
        .assert_code(0)
        .assert_stdout_has("  name: \"SecOps IR\"\n")
        .assert_stdout_has("    display_name: \"SecOps IR\"\n");
    assert_eq!(
        world.stored("slackAppName").await,
        Some(("String".into(), "SecOps IR".into(), 1))
    );

    // `manifest` without --app-name, and a later deploy without it, keep the name.
    let manifest = world
        .run(&["slack", "manifest", "--format", "json"], None)
        .await;
    manifest.assert_code(0);
    let parsed: Value = serde_json::from_str(&manifest.stdout).expect("JSON manifest");
    assert_eq!(parsed["display_information"]["name"], "SecOps IR");
    assert_eq!(parsed["features"]["bot_user"]["display_name"], "SecOps IR");
    let again = world
        .run(&["slack", "--workspace-id", TEAM_ID, "--yes"], None)
        .await;
    again
        .assert_code(0)
        .assert_stdout_has("  name: \"SecOps IR\"\n");
    assert!(
        !again.stdout.contains("AWS Security IR Integration"),
        "{}",
        again.describe()
    );

    // --app-name on `manifest` still wins.
    let renamed = world
        .run(
            &[
                "slack",
                "manifest",
                "--format",
                "json",
                "--app-name",
                "IR Bot",
            ],
            None,
        )
        .await;
    let parsed: Value = serde_json::from_str(&renamed.stdout).expect("JSON manifest");
    assert_eq!(parsed["display_information"]["name"], "IR Bot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_without_an_active_sir_membership_stops_before_changing_anything() {
    let world = World::new().await;
    world
        .sir
        .set_membership_status(&world.sir.membership_id(), MembershipStatus::Cancelled)
        .unwrap();
    let env = [
        ("SLACK_BOT_TOKEN", TOKEN.to_string()),
        ("SLACK_SIGNING_SECRET", SECRET.to_string()),
    ];
    let deploy = world
        .run_with(&env, &["slack", "--workspace-id", TEAM_ID, "--yes"], None)
        .await;
    deploy
        .assert_code(1)
        .assert_stdout_has(
            "[3/8] Check the SIR membership (security-ir:ListMemberships)\n      FAILED (",
        )
        .assert_stderr_has(&format!(
            "error: the SIR membership {} in us-east-1 is Cancelled, not Active: enable AWS Security Incident Response in account 123456789012 in us-east-1 first (console: Security Incident Response > Get started; or deploy with --region set to the region of your membership), then deploy again",
            world.sir.membership_id()
        ));
    assert!(!deploy.stdout.contains("[4/8]"), "{}", deploy.describe());
    assert_eq!(world.stored("slackBotToken").await, None);
    let calls = world.tools.calls();
    assert!(
        !calls.contains("lambda build")
            && !calls.contains("cdk deploy")
            && !calls.contains("cdk bootstrap"),
        "{calls}"
    );

    // SIR cannot say: the deploy stops too, with SIR's own words.
    world.sir.set_membership_failure(true);
    let unknown = world
        .run_with(&env, &["slack", "--workspace-id", TEAM_ID, "--yes"], None)
        .await;
    unknown
        .assert_code(1)
        .assert_stdout_has("[3/8] Check the SIR membership")
        .assert_stderr_has(
            "error: could not list the SIR memberships in us-east-1: InternalServerException: ",
        );
    assert_eq!(world.stored("slackBotToken").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_build_says_it_is_still_running() {
    let (world, _endpoint) = World::healthy(EndpointMode::Strict).await;
    let deploy = world
        .run_with(
            &[
                ("SIRSLACK_HEARTBEAT_SECONDS", "1".to_string()),
                ("FAKE_BUILD_SECONDS", "3".to_string()),
            ],
            &["slack", "--workspace-id", TEAM_ID, "--yes"],
            None,
        )
        .await;
    deploy.assert_code(0);
    let build_at = deploy
        .stdout
        .find("[6/8] Build the functions")
        .expect("build step");
    let deploy_at = deploy
        .stdout
        .find("[7/8] Deploy both stacks")
        .expect("deploy step");
    let during_build = &deploy.stdout[build_at..deploy_at];
    assert!(
        during_build.contains("      ... still building (1s)\n"),
        "{}",
        deploy.describe()
    );
}

// ---- manifest --------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_reads_the_endpoint_from_the_stack_in_yaml_and_json() {
    let world = World::new().await;
    let endpoint = "https://xyz789.execute-api.us-east-1.amazonaws.com/prod/slack/events";
    world.create_stacks(endpoint).await;
    assert_eq!(
        world.outputs(&world.slack_stack()).await["SlackEventsApiEndpoint"],
        endpoint
    );

    let json_run = world
        .run(&["slack", "manifest", "--format", "json"], None)
        .await;
    json_run.assert_code(0);
    let manifest: Value = serde_json::from_str(&json_run.stdout).expect("JSON manifest");
    assert_eq!(
        manifest["settings"]["event_subscriptions"]["request_url"],
        endpoint
    );
    assert_eq!(
        manifest["settings"]["interactivity"]["request_url"],
        endpoint
    );
    assert_eq!(manifest["settings"]["interactivity"]["is_enabled"], true);
    assert_eq!(
        manifest["features"]["slash_commands"][0]["command"],
        "/security-ir"
    );
    assert_eq!(manifest["features"]["slash_commands"][0]["url"], endpoint);
    assert_eq!(manifest["features"]["app_home"]["home_tab_enabled"], true);
    assert_eq!(
        manifest["settings"]["event_subscriptions"]["bot_events"],
        json!([
            "message.channels",
            "message.groups",
            "member_joined_channel",
            "member_left_channel",
            "file_shared",
            "app_home_opened"
        ])
    );
    let scopes: Vec<&str> = manifest["oauth_config"]["scopes"]["bot"]
        .as_array()
        .unwrap()
        .iter()
        .map(|scope| scope.as_str().unwrap())
        .collect();
    for scope in [
        "channels:manage",
        "groups:write",
        "chat:write",
        "channels:read",
        "groups:read",
        "channels:history",
        "groups:history",
        "users:read",
        "users:read.email",
        "files:read",
        "files:write",
        "commands",
        "usergroups:read",
    ] {
        assert!(scopes.contains(&scope), "{scope} missing from {scopes:?}");
    }

    // The YAML (the default) says the same thing.
    let yaml_run = world.run(&["slack", "manifest"], None).await;
    yaml_run.assert_code(0);
    let from_yaml: Value = serde_yaml::from_str(&yaml_run.stdout).expect("YAML manifest");
    assert_eq!(from_yaml, manifest);

    // Written to a file on request.
    let dir = TempDir::new("manifest");
    let file = dir.path().join("slack-app-manifest.yaml");
    let to_file = world
        .run(
            &["slack", "manifest", "--output", file.to_str().unwrap()],
            None,
        )
        .await;
    to_file
        .assert_code(0)
        .assert_stdout_has("Wrote the Slack app manifest to ");
    let written: Value = serde_yaml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written, manifest);
}

#[tokio::test]
async fn manifest_before_the_first_deploy_needs_no_aws() {
    let tripwire = Tripwire::new();
    let env = vec![
        ("AWS_ENDPOINT_URL", tripwire.url()),
        ("AWS_REGION", "us-east-1".to_string()),
    ];
    let result = run(
        &env,
        &[
            "slack",
            "manifest",
            "--no-endpoint",
            "--format",
            "json",
            "--app-name",
            "SecOps IR",
        ],
        None,
    )
    .await;
    result.assert_code(0);
    let manifest: Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(manifest["display_information"]["name"], "SecOps IR");
    assert!(manifest["settings"].get("event_subscriptions").is_none());
    assert!(
        manifest["oauth_config"]["scopes"]["bot"]
            .as_array()
            .unwrap()
            .len()
            >= 13
    );
    assert!(!tripwire.was_touched());

    let missing = run(
        &[
            ("AWS_ENDPOINT_URL", tripwire.url()),
            ("AWS_REGION", "us-east-1".to_string()),
        ],
        &[
            "slack",
            "manifest",
            "--endpoint",
            "https://example.com/prod/",
        ],
        None,
    )
    .await;
    missing
        .assert_code(2)
        .assert_stderr_has("error: --endpoint must be the stack's SlackEventsApiEndpoint, an https:// URL ending in /slack/events; got \"https://example.com/prod/\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_without_a_stack_says_what_to_do() {
    let world = World::new().await;
    let result = world.run(&["slack", "manifest"], None).await;
    result.assert_code(1).assert_stderr_has(&format!(
        "error: stack {} not found in us-east-1: deploy first, pass --endpoint URL, or pass --no-endpoint for a manifest to create the app with",
        world.slack_stack()
    ));
}

// ---- verify ----------------------------------------------------------------------------------------

const CHECK_COUNT: usize = 17;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_against_a_healthy_deployment() {
    let (world, endpoint) = World::healthy(EndpointMode::Strict).await;
    let verify = world.run(&["slack", "verify"], None).await;
    verify
        .assert_code(0)
        .assert_stdout_has(&format!("verify: all {CHECK_COUNT} checks passed\n"))
        .assert_never_shows(&[TOKEN, SECRET]);
    let checks: Vec<&str> = verify
        .stdout
        .lines()
        .filter(|line| {
            line.starts_with("ok    ") || line.starts_with("FAIL  ") || line.starts_with("skip  ")
        })
        .collect();
    assert_eq!(checks.len(), CHECK_COUNT, "{}", verify.describe());
    assert!(
        checks.iter().all(|line| line.starts_with("ok    ")),
        "{}",
        verify.describe()
    );
    for expected in [
        format!("ok    stack {}: CREATE_COMPLETE", world.common_stack()),
        format!("ok    stack {}: CREATE_COMPLETE", world.slack_stack()),
        format!("ok    parameter {}: SecureString, well-formed (version 1)", world.parameter("slackBotToken")),
        format!("ok    parameter {}: SecureString, well-formed (version 1)", world.parameter("slackSigningSecret")),
        format!("ok    parameter {}: String, well-formed", world.parameter("slackWorkspaceId")),
        format!("ok    Slack auth.test: workspace {TEAM_ID} (Stand-in Workspace), bot user sirslack"),
        format!("ok    endpoint answers a signed url_verification: HTTP 200 with the challenge ({})", endpoint.url),
        "ok    endpoint rejects unsigned and forged requests: HTTP 401 without a signature, HTTP 401 with a wrong one".to_string(),
        "ok    dead-letter queue of the Slack client: empty".to_string(),
        "ok    dead-letter queue of the events handler: empty".to_string(),
    ] {
        verify.assert_stdout_has(&expected);
    }
    assert!(
        verify
            .line_starting("ok    function command handler: ")
            .ends_with(" is Active")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_each_broken_piece() {
    let world = World::new().await;
    // The function's secret differs from the parameter's.
    let endpoint = Endpoint::start(
        world.aws.ssm(),
        world.parameter("slackSigningSecret"),
        EndpointMode::FixedSecret(NEW_SECRET.to_string()),
    )
    .await;
    world.create_stacks(&endpoint.url).await;
    // The token stored as a plain String (the reference integration's defect 18)...
    world.put_secrets(TOKEN, SECRET, ParameterKind::Plain).await;
    // ...and revoked in Slack.
    world.slack.revoke_token(TOKEN);
    // A message waiting in the Slack client's DLQ.
    let slack_outputs = world.outputs(&world.slack_stack()).await;
    world
        .aws
        .sqs()
        .send_message()
        .queue_url(&slack_outputs["SlackClientDeadLetterQueueUrl"])
        .message_body(r#"{"detail-type":"CaseUpdated"}"#)
        .send()
        .await
        .unwrap();
    // The command handler deleted behind CloudFormation's back.
    let command_handler = &slack_outputs["CommandHandlerFunctionName"];
    aws_sdk_lambda::Client::new(world.aws.sdk_config())
        .delete_function()
        .function_name(command_handler)
        .send()
        .await
        .unwrap();

    let verify = world.run(&["slack", "verify"], None).await;
    verify.assert_code(1).assert_never_shows(&[TOKEN, SECRET]);
    let rotate = format!(
        "run `sirslack slack rotate --bot-token - --region us-east-1 --deployment {}`",
        world.deployment
    );
    for expected in [
        format!(
            "FAIL  parameter {}: is a String, not a SecureString, so the secret is stored unencrypted: {rotate}",
            world.parameter("slackBotToken")
        ),
        "FAIL  Slack auth.test: Slack rejected the bot token (token_revoked): reinstall the app to the workspace and use the new Bot User OAuth Token".to_string(),
        format!(
            "FAIL  endpoint answers a signed url_verification: HTTP 401 without the challenge from {}: the events handler's signing secret differs from {} (after a rotation, it reads the new one within 5 minutes)",
            endpoint.url,
            world.parameter("slackSigningSecret")
        ),
        format!(
            "FAIL  dead-letter queue of the Slack client: 1 message waiting: find the cause in the function's logs, then run `sirslack slack redrive --region us-east-1 --deployment {}`",
            world.deployment
        ),
        format!("FAIL  function command handler: {command_handler} does not exist: deploy again"),
        format!("verify: 5 of {CHECK_COUNT} checks failed"),
    ] {
        verify.assert_stdout_has(&expected);
    }
    // What is not broken still passes.
    verify
        .assert_stdout_has("ok    endpoint rejects unsigned and forged requests: ")
        .assert_stdout_has(&format!(
            "ok    parameter {}: SecureString",
            world.parameter("slackSigningSecret")
        ))
        .assert_stdout_has("ok    function Slack client: ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_fails_when_the_endpoint_accepts_unsigned_requests() {
    let (world, _endpoint) = World::healthy(EndpointMode::AcceptAnything).await;
    let verify = world.run(&["slack", "verify"], None).await;
    verify
        .assert_code(1)
        .assert_stdout_has("FAIL  endpoint rejects unsigned and forged requests: HTTP 200 without a signature, HTTP 200 with a wrong one; expected 4xx for both: the endpoint must check Slack's signature")
        .assert_stdout_has(&format!("verify: 1 of {CHECK_COUNT} checks failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reports_a_deployment_that_does_not_exist() {
    let world = World::new().await;
    let verify = world.run(&["slack", "verify"], None).await;
    verify
        .assert_code(1)
        .assert_stdout_has(&format!(
            "FAIL  stack {}: not found: deploy first (or check --region and --deployment)",
            world.common_stack()
        ))
        .assert_stdout_has("skip  function SIR poller: its stack is missing")
        .assert_stdout_has(&format!(
            "FAIL  parameter {}: missing: run `sirslack slack rotate",
            world.parameter("slackBotToken")
        ))
        .assert_stdout_has(&format!(
            "skip  Slack auth.test: no usable token in {}",
            world.parameter("slackBotToken")
        ))
        .assert_stdout_has(
            "skip  endpoint answers a signed url_verification: the Slack stack is missing",
        )
        .assert_stdout_has("checks failed");
}

// ---- rotate ----------------------------------------------------------------------------------------

/// The first lines of `rotate`'s warning about revoking the bot token.
const REVOKE_WARNING_START: &str = "Never revoke the bot token unless it leaked. Revoking a bot token (auth.revoke, or \"Revoke\ntokens\" in the app's settings) deactivates the bot user and removes it from every case\nchannel";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_overwrites_both_secure_strings_then_verifies() {
    let (world, _endpoint) = World::healthy(EndpointMode::Strict).await;
    // In Slack: the token leaked and was revoked, the app reinstalled with a new token.
    world.slack.set_valid_tokens([NEW_TOKEN]);

    let rotate = world
        .run(
            &[
                "slack",
                "rotate",
                "--bot-token",
                "-",
                "--signing-secret",
                "-",
            ],
            Some(&format!("{NEW_TOKEN}\n{NEW_SECRET}\n")),
        )
        .await;
    rotate
        .assert_code(0)
        .assert_stdout_has(REVOKE_WARNING_START)
        .assert_stdout_has("[1/5] Validate the new values\n      ok (")
        .assert_stdout_has("the bot token and the signing secret are well-formed")
        .assert_stdout_has("[2/5] Read the stored values")
        .assert_stdout_has(&format!(
            "rotating {} and {}; keeping nothing",
            world.parameter("slackBotToken"),
            world.parameter("slackSigningSecret")
        ))
        .assert_stdout_has("[3/5] Check the new bot token with Slack auth.test\n      ok (")
        .assert_stdout_has("the stored token is rejected by Slack (invalid_auth), so its bot user cannot be compared. If it was revoked, the bot left every case channel: re-invite it")
        .assert_stdout_has("[4/5] Write the SecureString parameters\n      ok (")
        .assert_stdout_has("[5/5] Verify the deployment")
        .assert_stdout_has(&format!(
            "verify: all {CHECK_COUNT} checks passed\n      ok ("
        ))
        .assert_stdout_has("s): every check passed\nRotated.")
        .assert_stdout_has("Keep the old bot token unrevoked unless it leaked")
        .assert_never_shows(&[TOKEN, SECRET, NEW_TOKEN, NEW_SECRET]);
    assert_eq!(
        world.stored("slackBotToken").await,
        Some(("SecureString".into(), NEW_TOKEN.into(), 2))
    );
    assert_eq!(
        world.stored("slackSigningSecret").await,
        Some(("SecureString".into(), NEW_SECRET.into(), 2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_signing_secret_alone_keeps_the_token_and_its_version() {
    let (world, _endpoint) = World::healthy(EndpointMode::Strict).await;
    let rotate = world
        .run(
            &["slack", "rotate", "--signing-secret", "-"],
            Some(&format!("{NEW_SECRET}\n")),
        )
        .await;
    rotate
        .assert_code(0)
        .assert_stdout_has("the signing secret is well-formed; the bot token is not rotated")
        .assert_stdout_has("[3/5] Check the new bot token with Slack auth.test\n      ok (")
        .assert_stdout_has("skipped: the bot token is not rotated")
        .assert_stdout_has(&format!(
            "wrote {} (version 2); kept {} (version 1)",
            world.parameter("slackSigningSecret"),
            world.parameter("slackBotToken")
        ))
        .assert_stdout_has("every check passed\nRotated.")
        .assert_never_shows(&[TOKEN, SECRET, NEW_SECRET]);
    // No token rotated: no warning about revoking it.
    assert!(
        !rotate.stdout.contains("Never revoke"),
        "{}",
        rotate.describe()
    );
    assert_eq!(
        world.stored("slackBotToken").await,
        Some(("SecureString".into(), TOKEN.into(), 1))
    );
    assert_eq!(
        world.stored("slackSigningSecret").await,
        Some(("SecureString".into(), NEW_SECRET.into(), 2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_bot_token_alone_keeps_the_secret_and_warns_against_revoking() {
    let (world, _endpoint) = World::healthy(EndpointMode::Strict).await;
    // The app reinstalled with a new token for the same bot user; the old one not revoked.
    world.slack.set_valid_tokens([TOKEN, NEW_TOKEN]);
    let rotate = world
        .run_with(
            &[("SLACK_BOT_TOKEN", NEW_TOKEN.to_string())],
            &["slack", "rotate"],
            None,
        )
        .await;
    rotate
        .assert_code(0)
        .assert_stdout_has(REVOKE_WARNING_START)
        .assert_stdout_has("the bot token is well-formed; the signing secret is not rotated")
        .assert_stdout_has(&format!(
            "the token is valid for workspace {TEAM_ID} (Stand-in Workspace), bot user sirslack, the same bot user as the stored token"
        ))
        .assert_stdout_has(&format!(
            "wrote {} (version 2); kept {} (version 1)",
            world.parameter("slackBotToken"),
            world.parameter("slackSigningSecret")
        ))
        .assert_stdout_has("Keep the old bot token unrevoked unless it leaked")
        .assert_never_shows(&[TOKEN, SECRET, NEW_TOKEN]);
    assert_eq!(
        world.stored("slackSigningSecret").await,
        Some(("SecureString".into(), SECRET.into(), 1))
    );
    assert_eq!(
        world.stored("slackBotToken").await,
        Some(("SecureString".into(), NEW_TOKEN.into(), 2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_refuses_to_run_with_nothing_to_rotate() {
    let (world, _endpoint) = World::healthy(EndpointMode::Strict).await;
    let nothing = world.run(&["slack", "rotate"], None).await;
    nothing
        .assert_code(2)
        .assert_stderr_has("error: nothing to rotate: give the new signing secret (--signing-secret, or SLACK_SIGNING_SECRET), the new bot token (--bot-token, or SLACK_BOT_TOKEN), or both");
    assert!(
        nothing.stdout.is_empty(),
        "nothing is done: {}",
        nothing.describe()
    );

    // The values given are the stored ones: nothing changes either.
    let same = world
        .run(
            &[
                "slack",
                "rotate",
                "--bot-token",
                "-",
                "--signing-secret",
                "-",
            ],
            Some(&format!("{TOKEN}\n{SECRET}\n")),
        )
        .await;
    same.assert_code(2)
        .assert_stderr_has("error: nothing to rotate: ")
        .assert_stderr_has("(the values given are the ones stored)")
        .assert_never_shows(&[TOKEN, SECRET]);

    for (suffix, value) in [("slackBotToken", TOKEN), ("slackSigningSecret", SECRET)] {
        assert_eq!(
            world.stored(suffix).await,
            Some(("SecureString".into(), value.into(), 1)),
            "{suffix} changed"
        );
    }
}

#[tokio::test]
async fn rotate_help_warns_against_revoking_the_bot_token() {
    let help = run(&[], &["slack", "rotate", "--help"], None).await;
    help.assert_code(0)
        .assert_stdout_has(REVOKE_WARNING_START)
        .assert_stdout_has("reinstalling the app to the workspace keeps the same bot user")
        .assert_stdout_has("re-invite the\nbot (/invite @<app name>) to each open case channel")
        .assert_stdout_has("left out, the stored token is kept")
        .assert_stdout_has("left out, the stored secret is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_checks_both_values_before_writing_either() {
    let (world, _endpoint) = World::healthy(EndpointMode::Strict).await;
    let malformed = world
        .run(
            &[
                "slack",
                "rotate",
                "--bot-token",
                NEW_TOKEN,
                "--signing-secret",
                "not-hex",
            ],
            None,
        )
        .await;
    malformed
        .assert_code(2)
        .assert_stderr_has("error: --signing-secret must be hexadecimal (0-9, a-f)")
        .assert_never_shows(&[NEW_TOKEN, "not-hex"]);

    // Well-formed, but Slack does not know the new token.
    let unknown = world
        .run_with(
            &[
                ("SLACK_BOT_TOKEN", NEW_TOKEN.to_string()),
                ("SLACK_SIGNING_SECRET", NEW_SECRET.to_string()),
            ],
            &["slack", "rotate"],
            None,
        )
        .await;
    unknown
        .assert_code(1)
        .assert_stderr_has("error: Slack rejected the bot token (invalid_auth)");

    for (suffix, value) in [("slackBotToken", TOKEN), ("slackSigningSecret", SECRET)] {
        assert_eq!(
            world.stored(suffix).await,
            Some(("SecureString".into(), value.into(), 1)),
            "{suffix} changed"
        );
    }
}

// ---- redrive ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_moves_dead_letters_back_to_their_queue_and_functions() {
    let world = World::new().await;
    world
        .create_stacks("https://example.com/prod/slack/events")
        .await;
    let common = world.outputs(&world.common_stack()).await;
    let slack = world.outputs(&world.slack_stack()).await;
    let sqs = world.aws.sqs();
    let send = |queue: String, body: String| {
        let sqs = sqs.clone();
        async move {
            sqs.send_message()
                .queue_url(queue)
                .message_body(body)
                .send()
                .await
                .unwrap();
        }
    };
    let events: Vec<String> = (0..3)
        .map(|n| json!({"detail-type": "CaseUpdated", "n": n}).to_string())
        .collect();
    for event in &events {
        send(
            slack["SlackClientDeadLetterQueueUrl"].clone(),
            event.clone(),
        )
        .await;
    }
    let commands: Vec<String> = (0..2)
        .map(|n| json!({"command": "status", "n": n}).to_string())
        .collect();
    for command in &commands {
        send(
            slack["CommandHandlerDeadLetterQueueUrl"].clone(),
            command.clone(),
        )
        .await;
    }
    // Not JSON, so not a Lambda event: it must stay where it is.
    send(
        slack["CommandHandlerDeadLetterQueueUrl"].clone(),
        "not json".to_string(),
    )
    .await;
    let poll = json!({"source": "aws.events", "detail-type": "Scheduled Event"}).to_string();
    send(common["PollerDeadLetterQueueUrl"].clone(), poll.clone()).await;

    let recorder = InvokeRecorder::default();
    let (lambda_url, _server) = recorder.start().await;
    let redrive = world
        .run_with(
            &[("AWS_ENDPOINT_URL_LAMBDA", lambda_url)],
            &["slack", "redrive"],
            None,
        )
        .await;
    redrive
        .assert_code(1)
        .assert_stdout_has(&format!(
            "ok    dead-letter queue of the SIR poller: moved 1 message to function {}",
            common["PollerFunctionName"]
        ))
        .assert_stdout_has("ok    dead-letter queue of the Slack client: moved 3 messages to queue ")
        .assert_stdout_has(&format!(
            "FAIL  dead-letter queue of the command handler: moved 2 messages to function {}; 1 could not be delivered and stay in the queue (a message body is not JSON, so it cannot be a Lambda event)",
            slack["CommandHandlerFunctionName"]
        ))
        .assert_stdout_has("redrive: moved 6 messages in total");

    // Back in the Slack client's queue, bodies intact.
    let received = aws_local::receive_count(&sqs, &slack["SlackClientQueueUrl"], 3, WAIT)
        .await
        .unwrap();
    let mut bodies: Vec<String> = received.into_iter().map(|message| message.body).collect();
    bodies.sort();
    assert_eq!(bodies, events);
    // Invoked asynchronously with the original events.
    let mut calls = recorder.calls();
    calls.sort();
    let mut expected: Vec<(String, String, String)> = commands
        .iter()
        .map(|command| {
            (
                slack["CommandHandlerFunctionName"].clone(),
                "Event".to_string(),
                command.clone(),
            )
        })
        .chain([(
            common["PollerFunctionName"].clone(),
            "Event".to_string(),
            poll,
        )])
        .collect();
    expected.sort();
    assert_eq!(calls, expected);
    // The DLQs are empty but for the message that could not be delivered.
    assert_eq!(
        aws_local::visible_message_count(&sqs, &slack["SlackClientDeadLetterQueueUrl"])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        aws_local::visible_message_count(&sqs, &common["PollerDeadLetterQueueUrl"])
            .await
            .unwrap(),
        0
    );
    let kept = aws_local::receive_count(&sqs, &slack["CommandHandlerDeadLetterQueueUrl"], 1, WAIT)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].body, "not json");
}

// ---- destroy ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_removes_both_stacks_and_the_secret_parameters_after_confirmation() {
    let (world, _endpoint) = World::healthy(EndpointMode::Strict).await;
    let user_secret = world.parameter("slackUsers/U0ALICE/otpSecret");
    aws_local::put_parameter(
        &world.aws.ssm(),
        &user_secret,
        "JBSWY3DPEHPK3PXP",
        ParameterKind::Secure,
        OnExisting::Overwrite,
    )
    .await
    .unwrap();

    let refused = world.run(&["slack", "destroy"], None).await;
    refused.assert_code(1).assert_stderr_has(
        "Standard input is not a terminal, so there is no one to ask: pass --yes",
    );
    assert!(world.stored("slackBotToken").await.is_some());

    let destroy = world.run(&["slack", "destroy", "--yes"], None).await;
    destroy
        .assert_code(0)
        .assert_stdout_has(&format!("  stack      {}\n", world.slack_stack()))
        .assert_stdout_has(&format!("  stack      {}\n", world.common_stack()))
        .assert_stdout_has(&format!("  parameter  {user_secret}\n"))
        .assert_stdout_has("the DynamoDB table sirslack-test-table")
        .assert_never_shows(&[TOKEN, SECRET]);
    // The Slack stack goes first: it imports from the common stack.
    let slack_at = destroy
        .stdout
        .find(&format!("Delete stack {}", world.slack_stack()))
        .unwrap();
    let common_at = destroy
        .stdout
        .find(&format!("Delete stack {}", world.common_stack()))
        .unwrap();
    assert!(slack_at < common_at, "{}", destroy.describe());

    let cloudformation = aws_sdk_cloudformation::Client::new(world.aws.sdk_config());
    for stack in [world.slack_stack(), world.common_stack()] {
        let gone = match cloudformation
            .describe_stacks()
            .stack_name(&stack)
            .send()
            .await
        {
            Err(_) => true,
            Ok(described) => described.stacks().iter().all(|stack| {
                stack.stack_status().map(|status| status.as_str()) == Some("DELETE_COMPLETE")
            }),
        };
        assert!(gone, "{stack} still exists");
    }
    assert_eq!(world.stored("slackBotToken").await, None);
    assert_eq!(world.stored("slackSigningSecret").await, None);
    assert_eq!(world.stored("slackUsers/U0ALICE/otpSecret").await, None);
    // The table with the links stays, and its name is recorded for the next deploy.
    assert!(world.table_exists().await, "{}", destroy.describe());
    assert_eq!(
        world.stored("retainedTableName").await,
        Some(("String".into(), world.table(), 1))
    );

    let again = world.run(&["slack", "destroy", "--yes"], None).await;
    again
        .assert_code(0)
        .assert_stdout_has("Nothing to destroy")
        .assert_stdout_has(&format!(
            "The table {} (case <-> channel links) is kept; the next deploy adopts it.",
            world.table()
        ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redeploy_after_destroy_adopts_the_kept_table_and_delete_data_removes_it() {
    let (world, _endpoint) = World::healthy(EndpointMode::Strict).await;
    // A case <-> channel link, as the Slack client writes it.
    world
        .aws
        .dynamodb()
        .put_item()
        .table_name(world.table())
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("CASE#1234567890".into()),
        )
        .item(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("CHANNEL".into()),
        )
        .item(
            "channel_id",
            aws_sdk_dynamodb::types::AttributeValue::S("C0EXISTING".into()),
        )
        .send()
        .await
        .unwrap();
    world
        .run(&["slack", "destroy", "--yes"], None)
        .await
        .assert_code(0)
        .assert_stdout_has(&format!(
            "It keeps the DynamoDB table {} (which case has which channel): the next deploy adopts it",
            world.table()
        ));

    // The redeploy hands the kept table to the CDK app instead of creating an empty one.
    let env = [
        ("SLACK_BOT_TOKEN", TOKEN.to_string()),
        ("SLACK_SIGNING_SECRET", SECRET.to_string()),
    ];
    let endpoint = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/slack/events";
    // (The fake `cdk deploy` changes nothing: the stacks it would deploy are created here, the
    // common one without a table of its own, as the CDK app synthesizes it with the context.)
    world.create_stacks_with(endpoint, true).await;
    let redeploy = world
        .run_with(&env, &["slack", "--workspace-id", TEAM_ID, "--yes"], None)
        .await;
    redeploy.assert_code(0).assert_stdout_has(&format!(
        "adopted the table {} kept by an earlier destroy",
        world.table()
    ));
    let calls = world.tools.calls();
    let deploy_call = calls
        .lines()
        .find(|line| line.starts_with("npx --no cdk deploy"))
        .unwrap_or_else(|| panic!("no cdk deploy in\n{calls}"));
    assert!(
        deploy_call.contains(&format!("-c existingTableName={}", world.table())),
        "{deploy_call}"
    );
    let link = world
        .aws
        .dynamodb()
        .get_item()
        .table_name(world.table())
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("CASE#1234567890".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("CHANNEL".into()),
        )
        .send()
        .await
        .unwrap();
    assert!(link.item().is_some(), "the link is still there");

    // --delete-data deletes the table, its record and the stored app settings.
    let delete = world
        .run(&["slack", "destroy", "--delete-data", "--yes"], None)
        .await;
    delete
        .assert_code(0)
        .assert_stdout_has(&format!(
            "  table      {}   (every case <-> channel link: a later deploy creates new channels for open cases)",
            world.table()
        ))
        .assert_stdout_has(&format!("Delete table {}\n      ok (", world.table()));
    assert!(!world.table_exists().await, "{}", delete.describe());
    assert_eq!(world.stored("retainedTableName").await, None);
}
