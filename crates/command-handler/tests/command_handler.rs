//! The command handler against the local world: moto (DynamoDB, SSM), the SIR stand-in (real
//! `aws-sdk-securityir` client) and the Slack stand-in (Web API and `response_url`s).
//!
//! Where a flow starts in Slack, it starts at the events handler: a signed slash command or
//! interaction goes through the events handler's `lambda_http` entry point as an API Gateway
//! REST proxy event, the events handler's async `lambda:Invoke` is recorded, and the recorded
//! payload is what the command handler gets, through the same entry point Lambda uses
//! ([`CommandHandler::handle_invocation`]). Assertions are on what the stand-ins recorded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_local::{LocalAws, OnExisting, ParameterKind, create_table, put_parameter, unique_name};
use chrono::Utc;
use serde_json::{Value, json};
use sir_standin::{CaseStatus, FaultKind, NewCase, SirStandin};
use sirslack_bus::{Publish, PublishError};
use sirslack_command_handler::authorize::totp::code_at;
use sirslack_command_handler::handler::declaration_client_token;
use sirslack_command_handler::sir::Sir;
use sirslack_command_handler::slack::Slack;
use sirslack_command_handler::{CommandHandler, Config, Services};
use sirslack_domain::announced::{ANNOUNCED_CHANGE_SCOPE, AnnouncedChange};
use sirslack_domain::events::EVENT_SOURCE;
use sirslack_domain::{CaseId, EventPayload, IntegrationEvent};
use sirslack_events_handler::EventsHandler;
use sirslack_poller::{Poller, PollerConfig, SirReader};
use sirslack_slack_api::{BotTokenSource, Deadline, ParameterCache, RetryPolicy, SlackApi};
use sirslack_slack_router::{
    CommandInvocation, DeclarationInvocation, HandOffTarget, RecordingHandOffSink, ResponseUrl,
    SlashCommand,
};
use sirslack_store::Table;
use slack_standin::signing::{
    BlockAction, InboundBody, SignedRequest, SlackSigner, SlashCommand as SignedSlashCommand,
};
use slack_standin::{ResponsePost, SeedChannel, SeedUser, SlackStandin, SlackStandinConfig};

const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const COMMAND_HANDLER: &str = "sirslack-command-handler";
const JANE: &str = "U0JANEDOE1";
const BOB: &str = "U0BOBSMITH";
/// In the workspace, not in the case channel.
const MALLORY: &str = "U0MALLORY1";
/// A multi-channel guest account, a member of the case channel.
const GWEN: &str = "U0GWENGST1";
const LEADS: &str = "S0LEADS001";
/// A 160-bit base32 secret, as an authenticator app would be enrolled with.
const JANE_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

#[derive(Default)]
struct Options {
    status: Option<CaseStatus>,
    /// The policy document; `None`: the open policy, as the stack writes by default.
    policy: Option<String>,
    /// Write no policy parameter at all.
    missing_policy: bool,
    otp_secrets: Vec<(&'static str, &'static str)>,
    /// Case channels are public (`CHANNEL_VISIBILITY=public`).
    channels_public: bool,
}

struct World {
    aws: LocalAws,
    sir: SirStandin,
    slack: SlackStandin,
    table: Table,
    table_name: String,
    events: EventsHandler,
    hand_offs: Arc<RecordingHandOffSink>,
    handler: CommandHandler,
    signer: SlackSigner,
    team_id: String,
    case_id: String,
    channel: String,
}

/// What one command run produced.
struct Ran {
    /// The events handler's answer to Slack.
    ack: Value,
    /// The command handler's result, when the events handler handed the command over.
    outcome: Option<Value>,
    /// The `response_url` token.
    token: String,
}

async fn world() -> World {
    world_with(Options::default()).await
}

async fn world_with(options: Options) -> World {
    let aws = LocalAws::shared().await.expect("moto");
    let table_name = unique_name("commands");
    create_table(&aws.dynamodb(), &table_name)
        .await
        .expect("table");
    let prefix = format!("/{}", unique_name("sirslack"));

    let slack = SlackStandin::start(SlackStandinConfig::default())
        .await
        .expect("Slack stand-in");
    let team_id = slack.team_id();
    for (id, handle, name) in [
        (JANE, "jane", "Jane Doe"),
        (BOB, "bob", "Bob Smith"),
        (MALLORY, "mallory", "Mallory Moe"),
    ] {
        slack
            .add_user(SeedUser::human(
                id,
                handle,
                name,
                &format!("{handle}@example.com"),
            ))
            .unwrap();
    }
    slack
        .add_user(
            SeedUser::human(GWEN, "gwen", "Gwen Guest", "gwen@partner.example").as_guest(false),
        )
        .unwrap();
    slack.add_usergroup(LEADS, &[BOB]);
    let mut case_channel = SeedChannel::public(&unique_name("aws-security-incident-response-case"));
    case_channel.is_private = true;
    case_channel.bot_is_member = true;
    case_channel.members = vec![JANE.to_owned(), BOB.to_owned(), GWEN.to_owned()];
    let channel = slack.add_channel(case_channel).unwrap();

    let ssm = aws.ssm();
    let bot_token_parameter = format!("{prefix}/slackBotToken");
    let policy_parameter = format!("{prefix}/slackCommandPolicy");
    let mut parameters = vec![
        (
            format!("{prefix}/slackSigningSecret"),
            SIGNING_SECRET.to_owned(),
            ParameterKind::Secure,
        ),
        (
            bot_token_parameter.clone(),
            slack.bot_token(),
            ParameterKind::Secure,
        ),
        (
            format!("{prefix}/slackWorkspaceId"),
            team_id.clone(),
            ParameterKind::Plain,
        ),
    ];
    if !options.missing_policy {
        parameters.push((
            policy_parameter.clone(),
            options.policy.clone().unwrap_or_else(|| {
                sirslack_command_handler::authorize::policy::OPEN_POLICY.to_owned()
            }),
            ParameterKind::Plain,
        ));
    }
    for (user, secret) in &options.otp_secrets {
        parameters.push((
            format!("{prefix}/slackUsers/{user}/otpSecret"),
            (*secret).to_owned(),
            ParameterKind::Secure,
        ));
    }
    for (name, value, kind) in &parameters {
        put_parameter(&ssm, name, value, *kind, OnExisting::Overwrite)
            .await
            .expect("parameter");
    }

    let sir = SirStandin::start().await.expect("SIR stand-in");
    let case_id = sir
        .seed_case(NewCase {
            title: "Compromised IAM key".to_owned(),
            description: "Access key used from 203.0.113.7".to_owned(),
            status: options.status.unwrap_or(CaseStatus::DetectionAndAnalysis),
            ..NewCase::default()
        })
        .expect("case");
    let table = Table::new(aws.dynamodb(), table_name.clone());
    let case: CaseId = case_id.parse().unwrap();
    assert!(table.claim_case(&case).await.unwrap());
    table
        .link_channel(&case, &channel, "aws-security-incident-response-case")
        .await
        .unwrap();

    let sir_client = || {
        aws_sdk_securityir::Client::from_conf(
            aws_sdk_securityir::config::Builder::from(aws.sdk_config())
                .endpoint_url(sir.endpoint_url())
                .build(),
        )
    };

    // The events handler, as deployed, but with lambda:Invoke recorded.
    let events_env = HashMap::from([
        ("TABLE_NAME", table_name.clone()),
        (
            "SLACK_SIGNING_SECRET_PARAMETER",
            format!("{prefix}/slackSigningSecret"),
        ),
        ("SLACK_BOT_TOKEN_PARAMETER", bot_token_parameter.clone()),
        (
            "SLACK_WORKSPACE_ID_PARAMETER",
            format!("{prefix}/slackWorkspaceId"),
        ),
        ("COMMAND_HANDLER_FUNCTION_NAME", COMMAND_HANDLER.to_owned()),
        (
            "AWS_LAMBDA_FUNCTION_NAME",
            "sirslack-slack-events-handler".to_owned(),
        ),
        ("SLACK_API_URL", slack.api_url()),
    ]);
    let events_config =
        sirslack_events_handler::Config::from_lookup(|name| events_env.get(name).cloned())
            .expect("events handler config");
    let hand_offs = Arc::new(RecordingHandOffSink::new());
    let events = EventsHandler::builder(events_config, aws.sdk_config().clone())
        .sir_client(sir_client())
        .hand_off(hand_offs.clone())
        .build()
        .await
        .expect("events handler");

    // The command handler, as deployed, its clients pointed at the local world.
    let mut config = Config::new(&table_name, &bot_token_parameter, "eu-west-1");
    config.command_policy_parameter = Some(policy_parameter);
    config.otp_secret_parameter_prefix = format!("{prefix}/slackUsers");
    config.slack_api_url = Some(slack.api_url());
    config.channels_public = options.channels_public;
    let token = BotTokenSource::ssm(
        ParameterCache::new(ssm.clone(), config.secrets_cache_ttl),
        bot_token_parameter,
    );
    let services = Services {
        table: table.clone(),
        sir: Sir::new(sir_client()),
        slack: Slack::new(
            SlackApi::builder()
                .api_url(&slack.api_url())
                .retry_policy(RetryPolicy::quick())
                .build()
                .unwrap(),
            token,
        ),
        ssm,
    };
    let handler = CommandHandler::new(&config, services).expect("command handler");

    World {
        aws,
        sir,
        slack,
        table,
        table_name,
        events,
        hand_offs,
        handler,
        signer: SlackSigner::new(SIGNING_SECRET),
        team_id,
        case_id,
        channel,
    }
}

/// The API Gateway REST proxy event for a signed request.
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
            "resourceId": "a1b2c3",
            "resourcePath": "/slack/events",
            "httpMethod": "POST",
            "requestTime": "01/Jan/2026:12:00:00 +0000",
            "path": "/prod/slack/events",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "requestTimeEpoch": 1_767_268_800_000_i64,
            "requestId": "c0ffee00-0000-4000-8000-000000000001",
            "identity": { "sourceIp": "3.4.5.6", "userAgent": "Slackbot 1.0" },
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "apiId": "abc123"
        },
        "body": request.body,
        "isBase64Encoded": false,
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn jane_code() -> String {
    code_at(JANE_SECRET, unix_now()).unwrap()
}

/// A 6-digit code that is valid for none of the steps around now.
fn wrong_code() -> String {
    let now = unix_now();
    let valid: Vec<String> = [now - 60, now - 30, now, now + 30, now + 60]
        .iter()
        .map(|time| code_at(JANE_SECRET, *time).unwrap())
        .collect();
    ["000000", "111111", "222222", "333333", "444444", "555555"]
        .into_iter()
        .find(|code| !valid.iter().any(|valid| valid == code))
        .unwrap()
        .to_owned()
}

impl World {
    /// Sends a signed request through the events handler's `lambda_http` entry point.
    async fn send(&self, request: &SignedRequest) -> (u16, String) {
        let event = proxy_event(request).to_string();
        let request = lambda_http::request::from_str(&event).expect("proxy event");
        let response = self.events.handle(request).await;
        let status = response.status().as_u16();
        let body = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        (status, body)
    }

    /// The payloads the events handler sent to the command handler since the last call.
    fn command_hand_offs(&self) -> Vec<Value> {
        self.hand_offs
            .take()
            .into_iter()
            .filter(|hand_off| hand_off.target == HandOffTarget::Function(COMMAND_HANDLER.into()))
            .map(|hand_off| hand_off.payload)
            .collect()
    }

    /// Feeds every recorded hand-off to the command handler, as Lambda would.
    async fn run_hand_offs(&self) -> Vec<Value> {
        let mut outcomes = Vec::new();
        for payload in self.command_hand_offs() {
            let outcome = self
                .handler
                .handle_invocation(payload)
                .await
                .expect("command handler result");
            outcomes.push(outcome);
        }
        outcomes
    }

    /// `/security-ir <text>` by `user`, from Slack through both handlers.
    async fn slash(&self, user: &str, handle: &str, text: &str) -> Ran {
        let token = unique_name("command");
        let command =
            SignedSlashCommand::new("/security-ir", text, user, &self.channel, &self.team_id)
                .with_user_name(handle)
                .with_response_url(&self.slack.response_url_in(&token, &self.channel));
        let (status, body) = self.send(&self.signer.sign(command.into_body())).await;
        assert_eq!(status, 200, "{body}");
        let ack = serde_json::from_str(&body).unwrap_or(Value::Null);
        let mut outcomes = self.run_hand_offs().await;
        assert!(outcomes.len() <= 1, "{outcomes:?}");
        Ran {
            ack,
            outcome: outcomes.pop(),
            token,
        }
    }

    /// A click on a button of a message in the case channel.
    async fn click(&self, user: &str, action_id: &str, value: &str) -> Ran {
        let token = unique_name("action");
        let click = BlockAction::button(
            &self.team_id,
            user,
            &self.channel,
            "1767268800.000100",
            action_id,
            value,
        )
        .with_response_url(&self.slack.response_url_in(&token, &self.channel));
        self.interact(click.to_payload(), token).await
    }

    /// A choice in the status menu of the case message.
    async fn choose_status(&self, user: &str, status: &str) -> Ran {
        let token = unique_name("menu");
        let mut payload = BlockAction::button(
            &self.team_id,
            user,
            &self.channel,
            "1767268800.000100",
            "case_status_select",
            "",
        )
        .with_response_url(&self.slack.response_url_in(&token, &self.channel))
        .to_payload();
        payload["actions"] = json!([{
            "type": "static_select",
            "action_id": "case_status_select",
            "block_id": format!("case:{}", self.case_id),
            "selected_option": {
                "text": { "type": "plain_text", "text": status },
                "value": status,
            },
            "placeholder": { "type": "plain_text", "text": "Change status" },
            "action_ts": "1767268801.000200",
        }]);
        self.interact(payload, token).await
    }

    async fn interact(&self, payload: Value, token: String) -> Ran {
        let body = InboundBody::form(&[("payload", &payload.to_string())]);
        let (status, body) = self.send(&self.signer.sign(body)).await;
        assert_eq!(status, 200, "{body}");
        let mut outcomes = self.run_hand_offs().await;
        assert_eq!(outcomes.len(), 1, "the click was not handed over");
        Ran {
            ack: Value::Null,
            outcome: outcomes.pop(),
            token,
        }
    }

    /// The invocation the events handler would send for `text` (for flows the events handler
    /// answers itself, to show the command handler refuses them too).
    fn invocation(&self, user: &str, text: &str, token: &str) -> CommandInvocation {
        let command = SlashCommand {
            command: "/security-ir".into(),
            text: text.into(),
            team_id: self.team_id.clone(),
            user_id: user.into(),
            user_name: Some("jane".into()),
            channel_id: self.channel.clone(),
            channel_name: None,
            response_url: ResponseUrl::new(self.slack.response_url_in(token, &self.channel)),
            trigger_id: Some(unique_name("trigger")),
            api_app_id: None,
        };
        CommandInvocation::for_slash_command(&command, self.case_id.parse().unwrap(), Utc::now())
    }

    async fn invoke(&self, invocation: &CommandInvocation) -> Value {
        self.handler
            .handle_invocation(serde_json::to_value(invocation).unwrap())
            .await
            .expect("command handler result")
    }

    fn posts(&self, token: &str) -> Vec<ResponsePost> {
        self.slack.response_posts(token)
    }

    /// The only post to `token`'s URL, and its text.
    fn only_post(&self, token: &str) -> (ResponsePost, String) {
        let posts = self.posts(token);
        assert_eq!(posts.len(), 1, "{posts:#?}");
        let post = posts.into_iter().next().unwrap();
        let text = post.text.clone().unwrap_or_default();
        (post, text)
    }

    fn comments(&self) -> Vec<String> {
        self.sir
            .comments(&self.case_id)
            .into_iter()
            .map(|comment| comment.body)
            .collect()
    }

    fn status(&self) -> CaseStatus {
        self.sir.case(&self.case_id).unwrap().status
    }

    fn mutating_calls(&self) -> usize {
        [
            "UpdateCaseStatus",
            "UpdateCase",
            "CloseCase",
            "CreateCaseComment",
        ]
        .iter()
        .map(|operation| self.sir.call_count(operation))
        .sum()
    }
}

fn outcome(ran: &Ran) -> &str {
    ran.outcome
        .as_ref()
        .and_then(|outcome| outcome["outcome"].as_str())
        .unwrap_or("not handed over")
}

fn audit(subcommand: &str, what: &str) -> String {
    format!(
        "[Slack Update] Jane Doe (@jane, Slack ID U0JANEDOE1) ran /security-ir {subcommand}: {what}"
    )
}

// ---- read-only commands ----------------------------------------------------------------------

#[tokio::test]
async fn status_is_shown_only_to_the_person_who_asked() {
    let world = world().await;
    let ran = world.slash(JANE, "jane", "status").await;
    assert_eq!(ran.ack["text"], "Working on it... `/security-ir status`");
    assert_eq!(outcome(&ran), "answered");
    let (post, text) = world.only_post(&ran.token);
    assert_eq!(post.response_type.as_deref(), Some("ephemeral"));
    assert!(!post.replace_original);
    assert!(text.contains(&world.case_id), "{text}");
    assert!(text.contains("Detection and Analysis"), "{text}");
    let blocks = post.blocks.unwrap().to_string();
    for expected in [
        "Compromised IAM key",
        "Security Incident",
        "*Resolver*",
        "*Pending action*",
        "*Last updated*",
        "1 person is watching",
        "https://eu-west-1.console.aws.amazon.com/security-ir/home?region=eu-west-1#/cases/",
    ] {
        assert!(
            blocks.contains(expected),
            "{expected} missing from {blocks}"
        );
    }
    let calls: Vec<String> = world
        .sir
        .calls()
        .into_iter()
        .map(|call| call.operation)
        .collect();
    assert_eq!(calls, ["GetCase"]);
    assert!(world.comments().is_empty());
}

#[tokio::test]
async fn summarize_and_its_alias_show_fields_counts_comments_and_timeline() {
    let world = world().await;
    world
        .sir
        .add_comment(&world.case_id, "Rotated the key <AKIA...>", "AWS Responder")
        .unwrap();
    world
        .sir
        .add_comment(
            &world.case_id,
            "Found the IOC in CloudTrail",
            "123456789012",
        )
        .unwrap();
    world
        .sir
        .set_case_status(
            &world.case_id,
            CaseStatus::ContainmentEradicationAndRecovery,
        )
        .unwrap();
    for text in ["summarize", "incident-details"] {
        let ran = world.slash(JANE, "jane", text).await;
        assert_eq!(outcome(&ran), "answered", "{text}");
        let (post, text) = world.only_post(&ran.token);
        assert_eq!(post.response_type.as_deref(), Some("ephemeral"));
        assert!(
            text.starts_with(&format!("Summary of case {}", world.case_id)),
            "{text}"
        );
        let blocks = post.blocks.unwrap().to_string();
        for expected in [
            "*Comments*\\n2",
            "*Attachments*\\n0",
            "*Watchers* (1)",
            "security@example.com",
            "*Last comments* (2 of 2)",
            "Rotated the key &lt;AKIA...&gt;",
            "AWS account 123456789012",
            "*Timeline* (last 4 of 4 changes)",
            "AWS Responder: Case created: Compromised IAM key",
            "Case status changed from Detection and Analysis to Containment, Eradication and Recovery",
            "Impacted accounts",
        ] {
            assert!(
                blocks.contains(expected),
                "{expected} missing from {blocks}"
            );
        }
        let block_count = post.body["blocks"].as_array().unwrap().len();
        assert!(block_count <= 50);
    }
    assert_eq!(world.sir.call_count("ListComments"), 2);
    assert_eq!(world.sir.call_count("ListCaseEdits"), 2);
    assert_eq!(world.mutating_calls(), 0);
}

#[tokio::test]
async fn help_and_unknown_subcommands_get_the_usage() {
    let world = world().await;
    // The events handler answers these itself, without the command handler.
    let ran = world.slash(JANE, "jane", "help").await;
    assert!(ran.outcome.is_none());
    assert!(
        ran.ack["text"]
            .as_str()
            .unwrap()
            .contains("_e.g._ `/security-ir status`")
    );
    // The command handler answers them the same way when it gets them (buttons, old payloads).
    for (text, starts_with) in [
        ("help", "*`/security-ir` commands*"),
        (
            "frobnicate now",
            "`frobnicate` is not a /security-ir command",
        ),
    ] {
        let token = unique_name("direct");
        let result = world.invoke(&world.invocation(JANE, text, &token)).await;
        assert_eq!(result["outcome"], "answered");
        let (post, reply) = world.only_post(&token);
        assert_eq!(post.response_type.as_deref(), Some("ephemeral"));
        assert!(reply.starts_with(starts_with), "{reply}");
        assert!(
            reply.contains("_e.g._ `/security-ir update-title"),
            "{reply}"
        );
    }
    assert!(world.sir.calls().is_empty());
}

// ---- update-status ---------------------------------------------------------------------------

#[tokio::test]
async fn update_status_moves_the_case_announces_and_audits() {
    let world = world().await;
    let ran = world.slash(JANE, "jane", "update-status containment").await;
    assert_eq!(outcome(&ran), "changed");

    let calls = world.sir.calls_to("UpdateCaseStatus");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].request["caseStatus"],
        "Containment, Eradication and Recovery"
    );
    assert_eq!(calls[0].status, 201);
    assert_eq!(
        world.status(),
        CaseStatus::ContainmentEradicationAndRecovery
    );

    let (post, text) = world.only_post(&ran.token);
    assert_eq!(post.response_type.as_deref(), Some("in_channel"));
    assert_eq!(
        text,
        "Jane Doe set status to Containment, Eradication and Recovery (was Detection and Analysis)"
    );

    let comments = world.sir.comments(&world.case_id);
    assert_eq!(comments.len(), 1);
    assert_eq!(
        comments[0].body,
        audit(
            "update-status",
            "status changed from Detection and Analysis to Containment, Eradication and Recovery"
        )
    );
    let known = world
        .table
        .known_comment_ids(&world.case_id.parse().unwrap())
        .await
        .unwrap();
    assert!(known.contains(&comments[0].comment_id));
}

#[tokio::test]
async fn update_status_takes_friendly_names_in_any_case() {
    let world = world().await;
    for (text, expected) in [
        (
            "update-status CER",
            CaseStatus::ContainmentEradicationAndRecovery,
        ),
        (
            "Update-Status Lessons-Learned",
            CaseStatus::PostIncidentActivities,
        ),
        (
            "update-status detection AND analysis",
            CaseStatus::DetectionAndAnalysis,
        ),
        (
            "update-status Post-incident Activities",
            CaseStatus::PostIncidentActivities,
        ),
    ] {
        let ran = world.slash(JANE, "jane", text).await;
        assert_eq!(outcome(&ran), "changed", "{text}");
        assert_eq!(world.status(), expected, "{text}");
    }
    assert_eq!(world.sir.call_count("UpdateCaseStatus"), 4);
    assert_eq!(world.comments().len(), 4);
}

#[tokio::test]
async fn statuses_a_customer_cannot_set_are_refused_without_an_api_call() {
    let world = world().await;
    for (text, expected) in [
        (
            "update-status Resolved",
            "`Resolved` is not a case status. You can set:",
        ),
        (
            "update-status Acknowledged",
            "`Acknowledged` cannot be set with update-status: `Acknowledged` is set by AWS.",
        ),
    ] {
        // Through Slack: the events handler refuses it at once and hands nothing over.
        let ran = world.slash(JANE, "jane", text).await;
        assert!(ran.outcome.is_none(), "{text} was handed over");
        let ack = ran.ack["text"].as_str().unwrap();
        assert!(ack.starts_with(expected), "{ack}");
        assert!(
            ack.contains("Containment, Eradication and Recovery (containment"),
            "{ack}"
        );
        // Given to the command handler anyway: refused the same way.
        let token = unique_name("direct");
        let result = world.invoke(&world.invocation(JANE, text, &token)).await;
        assert_eq!(result["outcome"], "answered");
        let (post, reply) = world.only_post(&token);
        assert_eq!(post.response_type.as_deref(), Some("ephemeral"));
        assert!(reply.starts_with(expected), "{reply}");
    }
    assert!(world.sir.calls().is_empty(), "{:?}", world.sir.calls());
    assert_eq!(world.status(), CaseStatus::DetectionAndAnalysis);
}

#[tokio::test]
async fn an_invalid_transition_is_refused_with_the_reachable_statuses() {
    let world = world_with(Options {
        status: Some(CaseStatus::Submitted),
        ..Options::default()
    })
    .await;
    let ran = world.slash(JANE, "jane", "update-status containment").await;
    assert_eq!(outcome(&ran), "refused");
    let (post, text) = world.only_post(&ran.token);
    assert_eq!(post.response_type.as_deref(), Some("ephemeral"));
    assert_eq!(
        text,
        "A case in `Submitted` cannot move to `Containment, Eradication and Recovery`. From \
         `Submitted` it can move to `Detection and Analysis`."
    );
    assert_eq!(world.sir.call_count("UpdateCaseStatus"), 0);
    assert_eq!(world.mutating_calls(), 0);
    assert_eq!(world.status(), CaseStatus::Submitted);
}

#[tokio::test]
async fn a_sir_validation_exception_is_shown_in_plain_words() {
    // The documented model lets an acknowledged case go to analysis; this service does not.
    let world = world_with(Options {
        status: Some(CaseStatus::Acknowledged),
        ..Options::default()
    })
    .await;
    let ran = world.slash(JANE, "jane", "update-status detection").await;
    assert_eq!(outcome(&ran), "failed");
    let calls = world.sir.calls_to("UpdateCaseStatus");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].error_type.as_deref(), Some("ValidationException"));
    let (post, text) = world.only_post(&ran.token);
    assert_eq!(post.response_type.as_deref(), Some("ephemeral"));
    assert!(
        text.starts_with(
            "AWS Security Incident Response refused the change: Invalid case status transition \
             from 'Acknowledged' to 'Detection and Analysis'. (Reference for your administrator: "
        ),
        "{text}"
    );

    // An injected refusal of an allowed transition reads the same way.
    world.sir.inject(sir_standin::Fault::on(
        "UpdateCase",
        FaultKind::Validation("Title contains unsupported characters".into()),
    ));
    let ran = world.slash(JANE, "jane", "update-title Key\u{7}leak").await;
    assert_eq!(outcome(&ran), "failed");
    let (_, text) = world.only_post(&ran.token);
    assert!(
        text.starts_with(
            "AWS Security Incident Response refused the change: Title contains unsupported \
             characters. (Reference for your administrator: "
        ),
        "{text}"
    );
    // SIR's text naming the role and the account never reaches the person.
    world.sir.inject(sir_standin::Fault::on(
        "UpdateCase",
        FaultKind::Validation(
            "User: arn:aws:sts::123456789012:assumed-role/sirslack-CommandHandler/x may not \
             set this title"
                .into(),
        ),
    ));
    let ran = world.slash(JANE, "jane", "update-title Quiet title").await;
    assert_eq!(outcome(&ran), "failed");
    let (_, text) = world.only_post(&ran.token);
    assert!(!text.contains("arn:"), "{text}");
    assert!(!text.contains("123456789012"), "{text}");
    assert!(
        text.contains("Reference for your administrator: "),
        "{text}"
    );
    assert!(
        world.comments().is_empty(),
        "no audit comment for a refused change"
    );
    assert_eq!(world.status(), CaseStatus::Acknowledged);
    // A change SIR refused was not announced: no marker is left to hide a later one.
    let case_id: CaseId = world.case_id.parse().unwrap();
    for change in [
        AnnouncedChange::Status(sirslack_domain::CaseStatus::DetectionAndAnalysis),
        AnnouncedChange::Title("Key\u{7}leak".into()),
    ] {
        assert!(
            !world
                .table
                .marker_present(ANNOUNCED_CHANGE_SCOPE, &change.marker_key(&case_id))
                .await
                .unwrap(),
            "{change:?}"
        );
    }
}

// ---- update-title, update-description ---------------------------------------------------------

#[tokio::test]
async fn update_title_changes_the_title_and_refuses_301_characters() {
    let world = world().await;
    let ran = world
        .slash(JANE, "jane", "update-title Leaked key <prod>")
        .await;
    assert_eq!(outcome(&ran), "changed");
    let calls = world.sir.calls_to("UpdateCase");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].request["title"], "Leaked key <prod>");
    assert!(calls[0].request.get("description").is_none());
    assert_eq!(
        world.sir.case(&world.case_id).unwrap().title,
        "Leaked key <prod>"
    );
    let (post, text) = world.only_post(&ran.token);
    assert_eq!(post.response_type.as_deref(), Some("in_channel"));
    assert_eq!(
        text,
        "Jane Doe changed the title to \"Leaked key &lt;prod&gt;\" (was \"Compromised IAM key\")"
    );
    assert_eq!(
        world.comments(),
        [audit(
            "update-title",
            "title changed from \"Compromised IAM key\" to \"Leaked key <prod>\""
        )]
    );

    // 301 characters: refused by the events handler, and by the command handler, unsent.
    let too_long = "t".repeat(301);
    let ran = world
        .slash(JANE, "jane", &format!("update-title {too_long}"))
        .await;
    assert!(ran.outcome.is_none());
    assert_eq!(
        ran.ack["text"],
        "The title has 301 characters; the limit is 300."
    );
    let token = unique_name("direct");
    world
        .invoke(&world.invocation(JANE, &format!("update-title {too_long}"), &token))
        .await;
    assert_eq!(
        world.only_post(&token).1,
        "The title has 301 characters; the limit is 300."
    );
    assert_eq!(world.sir.call_count("UpdateCase"), 1);

    // 300 characters is fine.
    let longest = "é".repeat(300);
    let ran = world
        .slash(JANE, "jane", &format!("update-title {longest}"))
        .await;
    assert_eq!(outcome(&ran), "changed");
    assert_eq!(world.sir.case(&world.case_id).unwrap().title, longest);
}

#[tokio::test]
async fn update_description_replaces_the_description() {
    let world = world().await;
    let ran = world
        .slash(
            JANE,
            "jane",
            "update-description Key AKIA... used from 203.0.113.7\nRotated at 12:00",
        )
        .await;
    assert_eq!(outcome(&ran), "changed");
    let calls = world.sir.calls_to("UpdateCase");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].request["description"],
        "Key AKIA... used from 203.0.113.7\nRotated at 12:00"
    );
    let (post, text) = world.only_post(&ran.token);
    assert_eq!(post.response_type.as_deref(), Some("in_channel"));
    assert_eq!(
        text,
        "Jane Doe replaced the description:\n>Key AKIA... used from 203.0.113.7\n>Rotated at 12:00"
    );
    assert_eq!(
        world.comments(),
        [audit(
            "update-description",
            "description replaced (50 characters)"
        )]
    );
    let ran = world
        .slash(
            JANE,
            "jane",
            &format!("update-description {}", "d".repeat(8_001)),
        )
        .await;
    assert!(ran.outcome.is_none());
    assert_eq!(
        ran.ack["text"],
        "The description has 8001 characters; the limit is 8000."
    );
    assert_eq!(world.sir.call_count("UpdateCase"), 1);
}

// ---- close and the buttons --------------------------------------------------------------------

#[tokio::test]
async fn close_asks_for_confirmation_and_the_confirm_button_closes() {
    let world = world().await;
    let ran = world.slash(JANE, "jane", "close").await;
    assert_eq!(outcome(&ran), "confirmation_requested");
    let (post, text) = world.only_post(&ran.token);
    assert_eq!(post.response_type.as_deref(), Some("ephemeral"));
    assert!(text.starts_with(&format!(
        "Close case {} (\"Compromised IAM key\")?",
        world.case_id
    )));
    let buttons = &post.body["blocks"][1]["elements"];
    assert_eq!(buttons[0]["action_id"], "command_close_confirm");
    assert_eq!(buttons[1]["action_id"], "command_close_cancel");
    assert_eq!(world.sir.call_count("CloseCase"), 0);

    // Cancel removes the question and changes nothing.
    let cancelled = world.click(JANE, "command_close_cancel", "cancel").await;
    assert_eq!(outcome(&cancelled), "cancelled");
    assert!(world.only_post(&cancelled.token).0.delete_original);
    assert_eq!(world.sir.call_count("CloseCase"), 0);

    let confirmed = world
        .click(
            JANE,
            "command_close_confirm",
            buttons[0]["value"].as_str().unwrap(),
        )
        .await;
    assert_eq!(outcome(&confirmed), "changed");
    assert_eq!(world.sir.call_count("CloseCase"), 1);
    assert_eq!(world.status(), CaseStatus::Closed);
    let (post, text) = world.only_post(&confirmed.token);
    assert_eq!(post.response_type.as_deref(), Some("in_channel"));
    assert_eq!(
        text,
        "Jane Doe closed the case (it was in Detection and Analysis)."
    );
    assert_eq!(
        world.comments(),
        [audit(
            "close",
            "case closed (status was Detection and Analysis)"
        )]
    );

    // Closed is closed.
    let again = world.slash(JANE, "jane", "close confirm").await;
    assert_eq!(outcome(&again), "refused");
    assert_eq!(
        world.only_post(&again.token).1,
        format!("Case {} is already closed.", world.case_id)
    );
    assert_eq!(world.sir.call_count("CloseCase"), 1);
}

#[tokio::test]
async fn close_confirm_closes_at_once() {
    let world = world().await;
    let ran = world.slash(JANE, "jane", "close confirm").await;
    assert_eq!(outcome(&ran), "changed");
    assert_eq!(world.sir.call_count("CloseCase"), 1);
    assert_eq!(world.status(), CaseStatus::Closed);
    assert_eq!(world.comments().len(), 1);
}

#[tokio::test]
async fn the_case_message_controls_run_the_same_code_paths() {
    let world = world().await;
    let chosen = world
        .choose_status(BOB, "Containment, Eradication and Recovery")
        .await;
    assert_eq!(outcome(&chosen), "changed");
    let calls = world.sir.calls_to("UpdateCaseStatus");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].request["caseStatus"],
        "Containment, Eradication and Recovery"
    );
    let (post, text) = world.only_post(&chosen.token);
    assert_eq!(post.response_type.as_deref(), Some("in_channel"));
    assert!(
        text.starts_with("Bob Smith set status to Containment"),
        "{text}"
    );

    // A menu choice the model does not allow is refused with the reachable statuses.
    let refused = world.choose_status(BOB, "Submitted").await;
    assert_eq!(outcome(&refused), "refused");
    assert!(
        world
            .only_post(&refused.token)
            .1
            .contains("it can move to `Detection and Analysis` or `Post-incident Activities`")
    );

    // The Close button asks Slack to confirm before it is sent; it closes.
    let closed = world.click(BOB, "case_close", &world.case_id).await;
    assert_eq!(outcome(&closed), "changed");
    assert_eq!(world.sir.call_count("CloseCase"), 1);
    assert_eq!(world.status(), CaseStatus::Closed);
    let comments = world.comments();
    assert_eq!(comments.len(), 2);
    assert!(comments[1].starts_with(
        "[Slack Update] Bob Smith (@bob, Slack ID U0BOBSMITH) ran /security-ir close: "
    ));
}

// ---- authorization ----------------------------------------------------------------------------

#[tokio::test]
async fn people_outside_the_channel_are_refused() {
    let world = world().await;
    for text in ["status", "update-title Mine now", "close confirm"] {
        let ran = world.slash(MALLORY, "mallory", text).await;
        assert_eq!(outcome(&ran), "refused", "{text}");
        let (post, reply) = world.only_post(&ran.token);
        assert_eq!(post.response_type.as_deref(), Some("ephemeral"));
        assert!(
            reply.starts_with("Only members of this channel can run"),
            "{reply}"
        );
    }
    assert!(world.sir.calls().is_empty(), "{:?}", world.sir.calls());
    // Slack was asked (and a "no" is not remembered).
    assert!(world.slack.call_count("conversations.members") >= 3);
}

#[tokio::test]
async fn a_policy_can_keep_close_to_a_user_group() {
    let policy = json!({
        "version": 1,
        "close": { "userGroups": [LEADS] },
        "mutating": { "users": [JANE] },
    });
    let world = world_with(Options {
        policy: Some(policy.to_string()),
        ..Options::default()
    })
    .await;
    let denied = world.slash(JANE, "jane", "close confirm").await;
    assert_eq!(outcome(&denied), "refused");
    let (post, text) = world.only_post(&denied.token);
    assert_eq!(post.response_type.as_deref(), Some("ephemeral"));
    assert!(
        text.starts_with("You are not allowed to run `/security-ir close`"),
        "{text}"
    );
    assert_eq!(world.sir.call_count("CloseCase"), 0);
    assert_eq!(world.sir.call_count("GetCase"), 0);

    // Bob is not listed for mutating commands, but reading is open to every member.
    let title = world.slash(BOB, "bob", "update-title Bob's title").await;
    assert_eq!(outcome(&title), "refused");
    let status = world.slash(BOB, "bob", "status").await;
    assert_eq!(outcome(&status), "answered");
    let retitled = world.slash(JANE, "jane", "update-title Jane's title").await;
    assert_eq!(outcome(&retitled), "changed");

    // Bob is in the leads group.
    let closed = world.slash(BOB, "bob", "close confirm").await;
    assert_eq!(outcome(&closed), "changed");
    assert_eq!(world.status(), CaseStatus::Closed);
    assert_eq!(
        world.slack.call_count("usergroups.users.list"),
        1,
        "group members are cached"
    );
}

#[tokio::test]
async fn an_invalid_policy_refuses_everything_but_help() {
    let world = world_with(Options {
        policy: Some(r#"{"Close": {"users": ["U0BOBSMITH"]}}"#.to_owned()),
        ..Options::default()
    })
    .await;
    for text in ["status", "update-title x"] {
        let ran = world.slash(JANE, "jane", text).await;
        assert_eq!(outcome(&ran), "refused", "{text}");
        assert!(
            world
                .only_post(&ran.token)
                .1
                .starts_with("The command policy is missing, could not be read or is invalid")
        );
    }
    let token = unique_name("direct");
    world.invoke(&world.invocation(JANE, "help", &token)).await;
    assert!(
        world
            .only_post(&token)
            .1
            .starts_with("*`/security-ir` commands*")
    );
    assert!(world.sir.calls().is_empty());
}

/// No policy parameter (deleted, or a stack that never wrote it) is not an open door: every
/// command but `help` is refused, with a message that says why.
#[tokio::test]
async fn a_missing_policy_parameter_refuses_everything_but_help() {
    let world = world_with(Options {
        missing_policy: true,
        ..Options::default()
    })
    .await;
    for text in ["status", "update-title x", "close"] {
        let ran = world.slash(JANE, "jane", text).await;
        assert_eq!(outcome(&ran), "refused", "{text}");
        let said = world.only_post(&ran.token).1;
        assert!(said.starts_with("The command policy is missing"), "{said}");
        assert!(said.contains("`/security-ir help` still works"), "{said}");
    }
    let token = unique_name("direct");
    world.invoke(&world.invocation(JANE, "help", &token)).await;
    assert!(
        world
            .only_post(&token)
            .1
            .starts_with("*`/security-ir` commands*")
    );
    assert!(world.sir.calls().is_empty());
}

#[tokio::test]
async fn a_policy_can_require_a_code_from_everyone() {
    let world = world_with(Options {
        policy: Some(json!({ "requireOneTimeCode": true }).to_string()),
        otp_secrets: vec![(JANE, JANE_SECRET)],
        ..Options::default()
    })
    .await;
    let ran = world.slash(BOB, "bob", "update-status containment").await;
    assert_eq!(outcome(&ran), "refused");
    assert!(
        world
            .only_post(&ran.token)
            .1
            .contains("you have no authenticator set up")
    );
    // Titles need no code.
    let title = world.slash(BOB, "bob", "update-title New title").await;
    assert_eq!(outcome(&title), "changed");
    let ran = world
        .slash(
            JANE,
            "jane",
            &format!("update-status containment {}", jane_code()),
        )
        .await;
    assert_eq!(outcome(&ran), "changed");
    assert_eq!(world.sir.call_count("UpdateCaseStatus"), 1);
}

#[tokio::test]
async fn a_one_time_code_is_required_checked_and_used_once() {
    let world = world_with(Options {
        otp_secrets: vec![(JANE, JANE_SECRET)],
        ..Options::default()
    })
    .await;
    // Missing.
    let missing = world.slash(JANE, "jane", "update-status containment").await;
    assert_eq!(outcome(&missing), "refused");
    assert_eq!(
        world.only_post(&missing.token).1,
        "`/security-ir update-status` needs the 6-digit code from your authenticator app, for \
         example `/security-ir update-status containment 123456`."
    );
    // Wrong.
    let wrong = wrong_code();
    let ran = world
        .slash(JANE, "jane", &format!("update-status containment {wrong}"))
        .await;
    assert_eq!(outcome(&ran), "refused");
    let (_, text) = world.only_post(&ran.token);
    assert!(
        text.starts_with("That one-time code is not valid."),
        "{text}"
    );
    assert!(!text.contains(&wrong));
    assert_eq!(world.sir.call_count("UpdateCaseStatus"), 0);

    // Valid.
    let code = jane_code();
    let ran = world
        .slash(JANE, "jane", &format!("update-status containment {code}"))
        .await;
    assert_eq!(outcome(&ran), "changed");
    assert_eq!(
        world.status(),
        CaseStatus::ContainmentEradicationAndRecovery
    );
    let audit_comment = world.comments().pop().unwrap();
    assert!(!audit_comment.contains(&code), "{audit_comment}");
    assert!(!world.only_post(&ran.token).1.contains(&code));

    // Reused.
    let ran = world
        .slash(JANE, "jane", &format!("update-status post-incident {code}"))
        .await;
    assert_eq!(outcome(&ran), "refused");
    assert!(
        world
            .only_post(&ran.token)
            .1
            .starts_with("That one-time code was already used.")
    );
    assert_eq!(
        world.status(),
        CaseStatus::ContainmentEradicationAndRecovery
    );

    // Closing asks for the code instead of showing a button, then closes with a fresh one.
    let asked = world.slash(JANE, "jane", "close").await;
    assert_eq!(outcome(&asked), "confirmation_requested");
    let (post, text) = world.only_post(&asked.token);
    assert!(
        text.contains("run `/security-ir close confirm <code>`"),
        "{text}"
    );
    assert_eq!(
        post.body["blocks"].as_array().unwrap().len(),
        1,
        "no button"
    );
    let button = world.click(JANE, "case_close", &world.case_id).await;
    assert_eq!(outcome(&button), "refused");
    assert!(
        world
            .only_post(&button.token)
            .1
            .contains("`/security-ir close confirm 123456`")
    );
    let next = code_at(JANE_SECRET, unix_now() + 30).unwrap();
    let closed = world
        .slash(JANE, "jane", &format!("close confirm {next}"))
        .await;
    assert_eq!(outcome(&closed), "changed");
    assert_eq!(world.status(), CaseStatus::Closed);
    assert_eq!(world.sir.call_count("UpdateCaseStatus"), 1);
    assert_eq!(world.sir.call_count("CloseCase"), 1);
    assert_eq!(world.comments().len(), 2);
}

#[tokio::test]
async fn wrong_codes_are_limited_per_person() {
    let world = world_with(Options {
        otp_secrets: vec![(JANE, JANE_SECRET), (BOB, JANE_SECRET)],
        ..Options::default()
    })
    .await;
    let wrong = wrong_code();
    for attempt in 1..=5 {
        let ran = world
            .slash(JANE, "jane", &format!("update-status containment {wrong}"))
            .await;
        assert_eq!(outcome(&ran), "refused", "attempt {attempt}");
        assert!(
            world
                .only_post(&ran.token)
                .1
                .starts_with("That one-time code is not valid.")
        );
    }
    // Even the right code is not checked now.
    let ran = world
        .slash(
            JANE,
            "jane",
            &format!("update-status containment {}", jane_code()),
        )
        .await;
    assert_eq!(outcome(&ran), "refused");
    assert_eq!(
        world.only_post(&ran.token).1,
        "Too many wrong one-time codes. Try again in 15 minutes."
    );
    assert_eq!(world.sir.call_count("UpdateCaseStatus"), 0);
    // Per person: Bob is not affected.
    let ran = world
        .slash(
            BOB,
            "bob",
            &format!("update-status containment {}", jane_code()),
        )
        .await;
    assert_eq!(outcome(&ran), "changed");
}

// ---- audit trail, delivery, retries ------------------------------------------------------------

/// Records what the poller publishes.
#[derive(Default)]
struct RecordingPublisher(Mutex<Vec<IntegrationEvent>>);

impl Publish for RecordingPublisher {
    async fn publish(&self, events: &[IntegrationEvent]) -> Result<(), PublishError> {
        self.0.lock().unwrap().extend(events.iter().cloned());
        Ok(())
    }
}

#[tokio::test]
async fn the_audit_comment_is_not_announced_again_by_the_poller() {
    let world = world().await;
    let publisher = Arc::new(RecordingPublisher::default());
    let sir_client = aws_sdk_securityir::Client::from_conf(
        aws_sdk_securityir::config::Builder::from(world.aws.sdk_config())
            .endpoint_url(world.sir.endpoint_url())
            .build(),
    );
    let poller = Poller::new(
        SirReader::new(sir_client),
        world.table.clone(),
        Arc::clone(&publisher),
        PollerConfig::new(&world.table_name, "unused-bus"),
    );
    let case_id: CaseId = world.case_id.parse().unwrap();
    let first = poller.sync_one(&case_id).await;
    assert!(first.failures.is_empty(), "{first:?}");
    publisher.0.lock().unwrap().clear();

    let ran = world.slash(JANE, "jane", "update-title Leaked key").await;
    assert_eq!(outcome(&ran), "changed");
    world
        .sir
        .add_comment(&world.case_id, "Responder note", "AWS Responder")
        .unwrap();
    let second = poller.sync_one(&case_id).await;
    assert!(second.failures.is_empty(), "{second:?}");

    let comments = world.sir.comments(&world.case_id);
    assert_eq!(comments.len(), 2);
    assert!(comments[0].body.starts_with(
        "[Slack Update] Jane Doe (@jane, Slack ID U0JANEDOE1) ran /security-ir update-title"
    ));
    let events = publisher.0.lock().unwrap().clone();
    let announced: Vec<&str> = events
        .iter()
        .filter_map(|event| match &event.payload {
            EventPayload::CommentAdded { comment } => Some(comment.body.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(announced, ["Responder note"], "{events:#?}");
    assert!(
        events
            .iter()
            .any(|event| matches!(event.payload, EventPayload::CaseUpdated { .. })),
        "the title change itself is synced"
    );
}

// ---- one change, one message in the channel ----------------------------------------------------

/// What runs after the command handler, as deployed: the poller publishes what it sees in SIR,
/// and the Slack client gets it as the SQS event Lambda hands it.
struct Downstream {
    poller: Poller<Arc<RecordingPublisher>>,
    publisher: Arc<RecordingPublisher>,
    slack_client: sirslack_slack_client::Handler,
    table: Table,
    case_id: CaseId,
}

impl Downstream {
    fn new(world: &World) -> Self {
        let sir_client = || {
            aws_sdk_securityir::Client::from_conf(
                aws_sdk_securityir::config::Builder::from(world.aws.sdk_config())
                    .endpoint_url(world.sir.endpoint_url())
                    .build(),
            )
        };
        let publisher = Arc::new(RecordingPublisher::default());
        let poller = Poller::new(
            SirReader::new(sir_client()),
            world.table.clone(),
            Arc::clone(&publisher),
            PollerConfig::new(&world.table_name, "unused-bus"),
        );
        let mut config = sirslack_slack_client::Config::new(
            &world.table_name,
            "unused-token-parameter",
            "eu-west-1",
        );
        config.slack_api_url = Some(world.slack.api_url());
        let services = sirslack_slack_client::Services {
            table: world.table.clone(),
            sir: sirslack_slack_client::sir::Sir::new(sir_client()),
            slack: SlackApi::builder()
                .api_url(&world.slack.api_url())
                .retry_policy(RetryPolicy::quick())
                .build()
                .unwrap(),
            token: BotTokenSource::Fixed(sirslack_slack_api::BotToken::new(
                world.slack.bot_token(),
            )),
            parameters: None,
        };
        Self {
            poller,
            publisher,
            slack_client: sirslack_slack_client::Handler::new(config, services).unwrap(),
            table: world.table.clone(),
            case_id: world.case_id.parse().unwrap(),
        }
    }

    /// One poller sync of the case, its events delivered to the Slack client; returns them.
    async fn sync(&self) -> Vec<IntegrationEvent> {
        let report = self.poller.sync_one(&self.case_id).await;
        assert!(report.failures.is_empty(), "{report:?}");
        let events: Vec<IntegrationEvent> = self.publisher.0.lock().unwrap().drain(..).collect();
        let records: Vec<Value> = events
            .iter()
            .map(|event| {
                let envelope = json!({
                    "version": "0",
                    "id": unique_name("event"),
                    "detail-type": event.detail_type(),
                    "source": EVENT_SOURCE,
                    "detail": serde_json::from_str::<Value>(&event.to_detail_json().unwrap())
                        .unwrap(),
                });
                json!({
                    "messageId": unique_name("message"),
                    "receiptHandle": unique_name("receipt"),
                    "body": envelope.to_string(),
                    "attributes": { "ApproximateReceiveCount": "1" },
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                })
            })
            .collect();
        let batch = serde_json::from_value(json!({ "Records": records })).unwrap();
        let response = self
            .slack_client
            .handle(batch, Deadline::after(std::time::Duration::from_secs(120)))
            .await;
        assert!(
            response.batch_item_failures.is_empty(),
            "{:?}",
            response.batch_item_failures
        );
        events
    }

    async fn marker_present(&self, change: &AnnouncedChange) -> bool {
        self.table
            .marker_present(ANNOUNCED_CHANGE_SCOPE, &change.marker_key(&self.case_id))
            .await
            .unwrap()
    }
}

impl World {
    /// Everything (text, then blocks) the channel's members see posted since `since` messages: the
    /// Slack client's messages and the commands' in-channel answers (which Slack shows in the
    /// channel as the app's messages).
    fn channel_posts_since(&self, since: usize) -> Vec<String> {
        self.slack
            .messages(&self.channel)
            .into_iter()
            .skip(since)
            .map(|message| {
                let mut shown = message.text.unwrap_or_default();
                if let Some(blocks) = message.blocks {
                    shown.push(' ');
                    shown.push_str(&blocks.to_string());
                }
                shown
            })
            .collect()
    }
}

fn has_field_change(events: &[IntegrationEvent], label: &str) -> bool {
    events.iter().any(|event| match &event.payload {
        EventPayload::CaseUpdated { changes } => {
            changes.iter().any(|change| change.label() == label)
        }
        _ => false,
    })
}

#[tokio::test]
async fn a_status_change_from_slack_is_announced_in_the_channel_once() {
    let world = world().await;
    let downstream = Downstream::new(&world);
    downstream.sync().await;
    let before = world.slack.messages(&world.channel).len();
    assert!(before >= 1, "the Slack client set the channel up");

    let ran = world.slash(JANE, "jane", "update-status containment").await;
    assert_eq!(outcome(&ran), "changed");
    let cer =
        AnnouncedChange::Status(sirslack_domain::CaseStatus::ContainmentEradicationAndRecovery);
    assert!(downstream.marker_present(&cer).await);

    let events = downstream.sync().await;
    assert!(has_field_change(&events, "Status"), "{events:#?}");
    let posts = world.channel_posts_since(before);
    assert_eq!(posts.len(), 1, "one change, one message: {posts:#?}");
    assert!(
        posts[0].starts_with(
            "Jane Doe set status to Containment, Eradication and Recovery (was Detection and Analysis) "
        ),
        "{}",
        posts[0]
    );
    // The Slack client did apply the change: the topic shows it, and the marker is used up.
    let topic = world.slack.channel(&world.channel).unwrap().topic;
    assert!(
        topic.starts_with("[Containment, Eradication and Recovery]"),
        "{topic}"
    );
    assert!(!downstream.marker_present(&cer).await);

    // A change made in SIR itself is announced by the Slack client, once.
    world
        .sir
        .set_case_title(&world.case_id, "Leaked key in CI logs")
        .unwrap();
    let before = world.slack.messages(&world.channel).len();
    let events = downstream.sync().await;
    assert!(has_field_change(&events, "Title"), "{events:#?}");
    let posts = world.channel_posts_since(before);
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert!(posts[0].contains("Leaked key in CI logs"), "{}", posts[0]);

    // The same status set again from SIR later is announced too: nothing of the command's
    // marker is left to hide it.
    world
        .sir
        .set_case_status(&world.case_id, CaseStatus::DetectionAndAnalysis)
        .unwrap();
    downstream.sync().await;
    world
        .sir
        .set_case_status(
            &world.case_id,
            CaseStatus::ContainmentEradicationAndRecovery,
        )
        .unwrap();
    let before = world.slack.messages(&world.channel).len();
    downstream.sync().await;
    let posts = world.channel_posts_since(before);
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert!(
        posts[0].contains("Containment, Eradication and Recovery"),
        "{}",
        posts[0]
    );
}

#[tokio::test]
async fn closing_from_slack_is_announced_once_and_the_channel_archived() {
    let world = world().await;
    let downstream = Downstream::new(&world);
    downstream.sync().await;
    let before = world.slack.messages(&world.channel).len();

    let ran = world.slash(JANE, "jane", "close confirm").await;
    assert_eq!(outcome(&ran), "changed");
    let events = downstream.sync().await;
    assert!(
        events
            .iter()
            .any(|event| matches!(event.payload, EventPayload::CaseClosed { .. })),
        "{events:#?}"
    );
    let posts = world.channel_posts_since(before);
    assert_eq!(posts.len(), 1, "one change, one message: {posts:#?}");
    assert!(
        posts[0].starts_with("Jane Doe closed the case (it was in Detection and Analysis). "),
        "{}",
        posts[0]
    );
    let channel = world.slack.channel(&world.channel).unwrap();
    assert!(channel.is_archived, "closing still archives the channel");
    assert!(channel.topic.starts_with("[Closed]"), "{}", channel.topic);
    assert!(!downstream.marker_present(&AnnouncedChange::Closed).await);
}

#[tokio::test]
async fn a_change_whose_announcement_could_not_be_posted_is_announced_by_the_slack_client() {
    let world = world().await;
    let downstream = Downstream::new(&world);
    downstream.sync().await;
    let before = world.slack.messages(&world.channel).len();

    // Neither the response_url nor chat.postMessage works when the command answers.
    let token = unique_name("expired");
    world.slack.expire_response_url(&token);
    world
        .slack
        .inject_server_errors(Some("chat.postMessage"), 500, 100);
    let result = world
        .invoke(&world.invocation(JANE, "update-title Leaked key in CI logs", &token))
        .await;
    assert_eq!(result["outcome"], "changed");
    world.slack.clear_faults();
    assert!(
        !downstream
            .marker_present(&AnnouncedChange::Title("Leaked key in CI logs".into()))
            .await,
        "an announcement nobody saw does not hide the change"
    );

    downstream.sync().await;
    let posts = world.channel_posts_since(before);
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert!(posts[0].contains("Leaked key in CI logs"), "{}", posts[0]);
}

#[tokio::test]
async fn a_failing_response_url_is_logged_and_the_web_api_answers_instead() {
    let world = world().await;
    // An ephemeral answer goes to chat.postEphemeral.
    let token = unique_name("expired");
    world.slack.expire_response_url(&token);
    let result = world
        .invoke(&world.invocation(JANE, "status", &token))
        .await;
    assert_eq!(result["outcome"], "answered");
    assert!(world.posts(&token).is_empty());
    let ephemeral = world.slack.ephemeral_messages(&world.channel);
    assert_eq!(ephemeral.len(), 1);
    assert_eq!(ephemeral[0].user, JANE);
    assert!(
        ephemeral[0]
            .text
            .as_deref()
            .unwrap()
            .contains(&world.case_id)
    );

    // An announcement goes to chat.postMessage.
    let token = unique_name("expired");
    world.slack.expire_response_url(&token);
    let result = world
        .invoke(&world.invocation(JANE, "update-title Fallback title", &token))
        .await;
    assert_eq!(result["outcome"], "changed");
    let messages = world.slack.messages(&world.channel);
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0]
            .text
            .as_deref()
            .unwrap()
            .starts_with("Jane Doe changed the title")
    );

    // Both failing: nothing crashes, the change is still made and audited.
    let token = unique_name("broken");
    world
        .slack
        .inject_server_errors(Some(slack_standin::RESPONSE_URL_CALL), 500, 1);
    world
        .slack
        .inject_server_errors(Some("chat.postMessage"), 500, 10);
    let result = world
        .invoke(&world.invocation(JANE, "update-title Third title", &token))
        .await;
    assert_eq!(result["outcome"], "changed");
    assert_eq!(world.sir.case(&world.case_id).unwrap().title, "Third title");
    assert_eq!(world.comments().len(), 2);
}

#[tokio::test]
async fn the_same_payload_twice_changes_and_announces_once() {
    let world = world().await;
    let token = unique_name("retry");
    let command = SignedSlashCommand::new(
        "/security-ir",
        "update-title Retried title",
        JANE,
        &world.channel,
        &world.team_id,
    )
    .with_user_name("jane")
    .with_response_url(&world.slack.response_url(&token));
    let (status, _) = world.send(&world.signer.sign(command.into_body())).await;
    assert_eq!(status, 200);
    let payloads = world.command_hand_offs();
    assert_eq!(payloads.len(), 1);
    let payload = payloads[0].clone();

    // Lambda's async retry, and a duplicate delivery at the same time.
    let first = world
        .handler
        .handle_invocation(payload.clone())
        .await
        .unwrap();
    let (second, third) = tokio::join!(
        world.handler.handle_invocation(payload.clone()),
        world.handler.handle_invocation(payload)
    );
    assert_eq!(first["outcome"], "changed");
    assert_eq!(second.unwrap()["outcome"], "duplicate");
    assert_eq!(third.unwrap()["outcome"], "duplicate");

    assert_eq!(world.sir.call_count("UpdateCase"), 1);
    assert_eq!(world.comments().len(), 1);
    let posts = world.posts(&token);
    let announcements: Vec<&ResponsePost> = posts
        .iter()
        .filter(|post| post.response_type.as_deref() == Some("in_channel"))
        .collect();
    assert_eq!(announcements.len(), 1, "{posts:#?}");
    let duplicates = posts
        .iter()
        .filter(|post| {
            post.text
                .as_deref()
                .unwrap_or("")
                .contains("already received")
        })
        .count();
    assert_eq!(duplicates, 2);
}

#[tokio::test]
async fn unreadable_payloads_fail_the_invocation() {
    let world = world().await;
    assert!(
        world
            .handler
            .handle_invocation(json!({ "hello": "world" }))
            .await
            .is_err()
    );
    let mut invocation = serde_json::to_value(world.invocation(JANE, "status", "x")).unwrap();
    invocation["version"] = json!(2);
    assert!(world.handler.handle_invocation(invocation).await.is_err());
    let mut invocation = serde_json::to_value(world.invocation(JANE, "status", "x")).unwrap();
    invocation["user_id"] = json!("../../slackBotToken");
    assert!(world.handler.handle_invocation(invocation).await.is_err());
    assert!(world.sir.calls().is_empty());
}

/// Slack guests (restricted accounts: contractors, partners) may read a case they were invited
/// to, but not change or close it, unless the policy's rule for that change names them.
#[tokio::test]
async fn guests_may_read_but_not_change_a_case_unless_the_policy_names_them() {
    let world = world().await;
    let status = world.slash(GWEN, "gwen", "status").await;
    assert_eq!(outcome(&status), "answered");
    for text in [
        "update-title Guest title",
        "update-status containment",
        "close confirm",
    ] {
        let ran = world.slash(GWEN, "gwen", text).await;
        assert_eq!(outcome(&ran), "refused", "{text}");
        let (post, said) = world.only_post(&ran.token);
        assert_eq!(post.response_type.as_deref(), Some("ephemeral"));
        assert!(
            said.starts_with("Guest accounts cannot run `/security-ir "),
            "{said}"
        );
    }
    // The case message's controls are refused the same way.
    let button = world.click(GWEN, "case_close", &world.case_id).await;
    assert_eq!(outcome(&button), "refused");
    assert!(
        world
            .only_post(&button.token)
            .1
            .starts_with("Guest accounts cannot run")
    );
    assert_eq!(world.mutating_calls(), 0);
    // A full member is not affected.
    let member = world.slash(JANE, "jane", "update-title Member title").await;
    assert_eq!(outcome(&member), "changed");

    // Named by ID in the rule for titles: that one change is allowed, and only that one.
    let named = world_with(Options {
        policy: Some(json!({"subcommands": {"update-title": {"users": [GWEN]}}}).to_string()),
        ..Options::default()
    })
    .await;
    let title = named.slash(GWEN, "gwen", "update-title Guest title").await;
    assert_eq!(outcome(&title), "changed");
    let close = named.slash(GWEN, "gwen", "close confirm").await;
    assert_eq!(outcome(&close), "refused");
    assert_eq!(named.status(), CaseStatus::DetectionAndAnalysis);
}

/// With public case channels anyone in the workspace can join one, so changing or closing a
/// case needs a policy rule saying who may; reading still works.
#[tokio::test]
async fn public_case_channels_need_a_policy_rule_to_change_a_case() {
    let world = world_with(Options {
        channels_public: true,
        ..Options::default()
    })
    .await;
    let status = world.slash(JANE, "jane", "status").await;
    assert_eq!(outcome(&status), "answered");
    for text in ["update-title New title", "close confirm"] {
        let ran = world.slash(JANE, "jane", text).await;
        assert_eq!(outcome(&ran), "refused", "{text}");
        let said = world.only_post(&ran.token).1;
        assert!(
            said.starts_with("Case channels in this workspace are public"),
            "{said}"
        );
    }
    assert_eq!(world.mutating_calls(), 0);

    let ruled = world_with(Options {
        channels_public: true,
        policy: Some(json!({"mutating": {"users": [JANE]}}).to_string()),
        ..Options::default()
    })
    .await;
    let title = ruled.slash(JANE, "jane", "update-title New title").await;
    assert_eq!(outcome(&title), "changed");
    let bob = ruled.slash(BOB, "bob", "update-title Bob's title").await;
    assert_eq!(outcome(&bob), "refused");
    // `close` has no rule: still refused.
    let close = ruled.slash(JANE, "jane", "close confirm").await;
    assert_eq!(outcome(&close), "refused");
    assert!(
        ruled
            .only_post(&close.token)
            .1
            .starts_with("Case channels in this workspace are public")
    );
}

/// `requireOneTimeCodeForEdits`: titles and descriptions need the code like status changes;
/// the code is the text's last word. Without the setting, or for a person not enrolled, six
/// trailing digits are part of the text.
#[tokio::test]
async fn titles_and_descriptions_can_require_a_one_time_code() {
    let world = world_with(Options {
        policy: Some(json!({"requireOneTimeCodeForEdits": true}).to_string()),
        otp_secrets: vec![(JANE, JANE_SECRET)],
        ..Options::default()
    })
    .await;
    let missing = world.slash(JANE, "jane", "update-title Leaked key").await;
    assert_eq!(outcome(&missing), "refused");
    assert_eq!(
        world.only_post(&missing.token).1,
        "`/security-ir update-title` needs the 6-digit code from your authenticator app, for \
         example `/security-ir update-title New title 123456`."
    );
    let wrong = world
        .slash(
            JANE,
            "jane",
            &format!("update-title Leaked key {}", wrong_code()),
        )
        .await;
    assert_eq!(outcome(&wrong), "refused");
    assert_eq!(world.mutating_calls(), 0);

    let code = jane_code();
    let ran = world
        .slash(
            JANE,
            "jane",
            &format!("update-title Leaked key in prod {code}"),
        )
        .await;
    assert_eq!(outcome(&ran), "changed");
    assert_eq!(
        world.sir.case(&world.case_id).unwrap().title,
        "Leaked key in prod"
    );
    let audit_comment = world.comments().pop().unwrap();
    assert!(!audit_comment.contains(&code), "{audit_comment}");

    // Bob has no authenticator and the policy does not require one from everyone: his six
    // digits are text.
    let bob = world.slash(BOB, "bob", "update-title Ticket 445566").await;
    assert_eq!(outcome(&bob), "changed");
    assert_eq!(
        world.sir.case(&world.case_id).unwrap().title,
        "Ticket 445566"
    );

    // Without the setting, Jane's trailing digits are text too.
    let open = world_with(Options {
        otp_secrets: vec![(JANE, JANE_SECRET)],
        ..Options::default()
    })
    .await;
    let ran = open.slash(JANE, "jane", "update-title Ticket 445566").await;
    assert_eq!(outcome(&ran), "changed");
    assert_eq!(open.sir.case(&open.case_id).unwrap().title, "Ticket 445566");
}

/// Where an attempt dies in [`a_change_survives_its_attempt_dying_at_any_step`].
#[derive(Debug, Clone, Copy)]
enum DiesAfter {
    /// SIR has the change; nothing else happened yet.
    SirChange,
    /// The audit comment is written.
    AuditComment,
    /// The announcement is in the channel.
    Announcement,
}

impl World {
    fn announcements(&self) -> usize {
        self.slack
            .messages(&self.channel)
            .into_iter()
            .filter(|message| {
                message
                    .text
                    .as_deref()
                    .is_some_and(|text| text.starts_with("Jane Doe set status to"))
            })
            .count()
    }

    fn audit_comments(&self) -> usize {
        self.comments()
            .iter()
            .filter(|body| body.contains("ran /security-ir update-status"))
            .count()
    }

    fn has_happened(&self, point: DiesAfter) -> bool {
        match point {
            DiesAfter::SirChange => self.sir.call_count("UpdateCaseStatus") > 0,
            DiesAfter::AuditComment => self.audit_comments() > 0,
            DiesAfter::Announcement => self.announcements() > 0,
        }
    }
}

/// An attempt that dies (Lambda's timeout, a crash) right after the SIR change, after the
/// audit comment, or after the announcement: Lambda's retry resumes it, and the person sees
/// one change, one audit comment and one announcement, never "already handled" with the
/// rest lost.
#[tokio::test]
async fn a_change_survives_its_attempt_dying_at_any_step() {
    for point in [
        DiesAfter::SirChange,
        DiesAfter::AuditComment,
        DiesAfter::Announcement,
    ] {
        let world = world().await;
        let token = unique_name("dies");
        let invocation = world.invocation(JANE, "update-status containment", &token);
        let payload = serde_json::to_value(&invocation).unwrap();
        let deadline = || SystemTime::now() + std::time::Duration::from_secs(3);

        // The first attempt is dropped where it is as soon as `point` has happened.
        let died = tokio::select! {
            biased;
            () = async {
                while !world.has_happened(point) {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            } => true,
            _ = world.handler.handle_invocation_until(payload.clone(), deadline()) => false,
        };
        assert!(
            died,
            "{point:?}: the first attempt finished before it could die"
        );

        // Lambda retries the same payload; while the dead attempt's lease runs, the retry
        // fails (and is retried) rather than calling it a duplicate.
        let waited = std::time::Instant::now();
        let outcome = loop {
            match world
                .handler
                .handle_invocation_until(payload.clone(), deadline())
                .await
            {
                Ok(result) => break result["outcome"].as_str().unwrap_or_default().to_owned(),
                Err(error) => {
                    assert!(
                        waited.elapsed() < std::time::Duration::from_secs(15),
                        "{point:?}: still failing: {error}"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            }
        };
        assert!(
            outcome == "changed" || outcome == "duplicate",
            "{point:?}: {outcome}"
        );
        assert_eq!(
            world.status(),
            CaseStatus::ContainmentEradicationAndRecovery,
            "{point:?}"
        );
        assert_eq!(world.sir.call_count("UpdateCaseStatus"), 1, "{point:?}");
        assert_eq!(
            world.audit_comments(),
            1,
            "{point:?}: {:#?}",
            world.comments()
        );
        assert_eq!(world.announcements(), 1, "{point:?}");
        let told: Vec<String> = world
            .posts(&token)
            .into_iter()
            .filter_map(|post| post.text)
            .collect();
        // Only an attempt that died after recording everything done makes the retry a
        // duplicate; before that, nobody is told "already handled".
        if outcome == "changed" {
            assert!(
                !told
                    .iter()
                    .any(|text| text.contains("already received and handled")),
                "{point:?}: {told:#?}"
            );
        }
    }
}

// ---- declaring a case (issue 19) -------------------------------------------------------------

/// A valid declaration, as the events handler parses it from the declare modal.
fn declaration(watchers: &[&str]) -> sirslack_domain::Declaration {
    sirslack_domain::DeclarationDraft {
        title: "Suspicious console logins".into(),
        description: "Console logins from 198.51.100.23\nat night".into(),
        engagement_type: Some("Investigation".into()),
        reported_start: Some(Utc::now().date_naive().format("%Y-%m-%d").to_string()),
        impacted_accounts: "111122223333 444455556666".into(),
        impacted_regions: "eu-west-1".into(),
        threat_actor_ips: "198.51.100.23".into(),
        watchers: watchers.iter().map(|id| (*id).to_owned()).collect(),
        ..sirslack_domain::DeclarationDraft::default()
    }
    .into_declaration(Utc::now().date_naive())
    .expect("valid declaration")
}

impl World {
    /// The declaration invocation the events handler sends for a submitted declare modal,
    /// started from the case channel.
    fn declaration_invocation(
        &self,
        user: &str,
        view_id: &str,
        watchers: &[&str],
    ) -> DeclarationInvocation {
        let mut invocation = DeclarationInvocation::new(
            view_id,
            &self.team_id,
            user,
            declaration(watchers),
            Utc::now(),
        );
        invocation.user_name = Some("jane".into());
        invocation.origin_channel_id = Some(self.channel.clone());
        invocation
    }

    /// Runs a declaration through the command handler's Lambda entry point.
    async fn declare(&self, invocation: &DeclarationInvocation) -> String {
        let result = self
            .handler
            .handle_invocation(serde_json::to_value(invocation).unwrap())
            .await
            .expect("command handler result");
        result["outcome"].as_str().unwrap_or_default().to_owned()
    }

    /// What `user` was told in the channel they started from.
    fn told(&self, user: &str) -> Vec<String> {
        self.slack
            .ephemeral_messages(&self.channel)
            .into_iter()
            .filter(|message| message.user == user)
            .filter_map(|message| message.text)
            .collect()
    }

    /// Cases other than the seeded one.
    fn declared_cases(&self) -> Vec<sir_standin::CaseRecord> {
        self.sir
            .cases()
            .into_iter()
            .filter(|case| case.case_id != self.case_id)
            .collect()
    }
}

#[tokio::test]
async fn a_declaration_creates_one_case_with_the_declarer_as_watcher() {
    let world = world().await;
    let mut native_events = world.sir.subscribe_native_events();
    let invocation = world.declaration_invocation(JANE, "V0DECLARE1", &[BOB, JANE]);
    assert_eq!(world.declare(&invocation).await, "created");

    let cases = world.declared_cases();
    assert_eq!(cases.len(), 1, "{cases:#?}");
    let case = &cases[0];
    assert_eq!(case.title, "Suspicious console logins");
    assert_eq!(case.impacted_accounts, ["111122223333", "444455556666"]);
    assert_eq!(case.impacted_aws_regions, ["eu-west-1"]);
    let watchers: Vec<&str> = case.watchers.iter().map(|w| w.email.as_str()).collect();
    assert_eq!(watchers, ["jane@example.com", "bob@example.com"]);
    let create = world.sir.calls_to("CreateCase");
    assert_eq!(create.len(), 1);
    assert_eq!(
        create[0].request["clientToken"],
        json!(format!("sirslack-declare-{}-V0DECLARE1", world.team_id))
    );
    assert_eq!(create[0].request["engagementType"], "Investigation");
    assert_eq!(create[0].request["resolverType"], "Self");

    // The audit comment names the declarer and is recorded as written from Slack.
    let comments = world.sir.comments(&case.case_id);
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert_eq!(
        comments[0].body,
        audit(
            "create",
            "declared this case from Slack (Investigation, resolver Self)"
        )
    );

    // Told at once: the DM (chat.postMessage to the user ID) was tried first; the stand-in
    // has no DMs, so the notice went ephemerally to the channel the declaration started from.
    let dm = world.slack.calls_to("chat.postMessage");
    assert!(
        dm.iter().any(|call| call.params["channel"] == JANE),
        "{dm:#?}"
    );
    let told = world.told(JANE);
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains(&format!("Case *{}* is declared", case.case_id)),
        "{}",
        told[0]
    );
    assert!(told[0].contains("channel is being created"), "{}", told[0]);

    // SIR's own `Case Created` event is what wakes the poller to make the channel.
    let mut created = Vec::new();
    while let Ok(event) = native_events.try_recv() {
        if event.event_type == sir_standin::NativeEventType::CaseCreated {
            created.push(event.case_id);
        }
    }
    assert_eq!(created, std::slice::from_ref(&case.case_id));
}

#[tokio::test]
async fn the_same_view_submitted_twice_creates_one_case() {
    let world = world().await;
    let first = world.declaration_invocation(JANE, "V0DOUBLE1", &[]);
    let mut second = first.clone();
    second.received_at = first.received_at + chrono::Duration::seconds(1);
    assert_eq!(world.declare(&first).await, "created");
    assert_eq!(world.declare(&second).await, "duplicate");
    assert_eq!(world.declared_cases().len(), 1);
    assert_eq!(world.sir.call_count("CreateCase"), 1);
    let told = world.told(JANE);
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(
        told[1].contains("no second case was created"),
        "{}",
        told[1]
    );

    // Without the claim (another workspace table, a lost marker), SIR's client token still
    // makes the same submission the same case.
    let case_id = world.declared_cases()[0].case_id.clone();
    let sir = Sir::new(aws_sdk_securityir::Client::from_conf(
        aws_sdk_securityir::config::Builder::from(world.aws.sdk_config())
            .endpoint_url(world.sir.endpoint_url())
            .build(),
    ));
    let request = sirslack_mapper::sir::create_case_request(
        &first.declaration,
        &["jane@example.com".to_owned()],
    )
    .unwrap();
    let again = sir
        .create_case(request, &declaration_client_token(&first))
        .await
        .expect("same case");
    assert_eq!(again.as_str(), case_id);
    assert_eq!(world.declared_cases().len(), 1);

    // Another modal is another case.
    let other = world.declaration_invocation(JANE, "V0DOUBLE2", &[]);
    assert_eq!(world.declare(&other).await, "created");
    assert_eq!(world.declared_cases().len(), 2);
}

#[tokio::test]
async fn a_declarer_the_policy_refuses_is_told_and_sir_sees_no_create_case() {
    let world = world_with(Options {
        policy: Some(r#"{"version":1,"subcommands":{"create":{"users":["U0BOBSMITH"]}}}"#.into()),
        ..Options::default()
    })
    .await;
    let refused = world.declaration_invocation(JANE, "V0REFUSED1", &[]);
    assert_eq!(world.declare(&refused).await, "refused");
    let told = world.told(JANE);
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains("You are not allowed to run `/security-ir create`"),
        "{}",
        told[0]
    );
    assert!(told[0].contains("No case was created."), "{}", told[0]);
    assert_eq!(world.sir.call_count("CreateCase"), 0);
    assert!(world.declared_cases().is_empty());

    // The person the rule names may.
    let allowed = world.declaration_invocation(BOB, "V0ALLOWED1", &[]);
    assert_eq!(world.declare(&allowed).await, "created");
    assert_eq!(world.sir.call_count("CreateCase"), 1);
}

#[tokio::test]
async fn guests_may_not_declare_and_a_required_code_is_asked_for_and_used() {
    let world = world_with(Options {
        policy: Some(r#"{"version":1,"requireOneTimeCode":true}"#.into()),
        otp_secrets: vec![(JANE, JANE_SECRET)],
        ..Options::default()
    })
    .await;
    let guest = world.declaration_invocation(GWEN, "V0GUEST01", &[]);
    assert_eq!(world.declare(&guest).await, "refused");
    assert!(world.told(GWEN)[0].contains("Guest accounts cannot run `/security-ir create`"));

    // Bob has no authenticator and the policy requires a code from everyone.
    let unenrolled = world.declaration_invocation(BOB, "V0NOCODE01", &[]);
    assert_eq!(world.declare(&unenrolled).await, "refused");
    assert!(
        world.told(BOB)[0].contains("no authenticator set up"),
        "{:?}",
        world.told(BOB)
    );

    let without_code = world.declaration_invocation(JANE, "V0NOCODE02", &[]);
    assert_eq!(world.declare(&without_code).await, "refused");
    let told = world.told(JANE);
    assert!(told[0].contains("One-time code"), "{told:?}");
    assert_eq!(world.sir.call_count("CreateCase"), 0);

    let mut with_code = world.declaration_invocation(JANE, "V0WITHCODE", &[]);
    with_code.one_time_code = Some(sirslack_domain::Otp::new(&jane_code()).unwrap());
    assert_eq!(world.declare(&with_code).await, "created");
    assert_eq!(world.sir.call_count("CreateCase"), 1);
}

// ---- App Home -------------------------------------------------------------------------------

impl World {
    /// Runs the Home invocation the events handler sends for `user` opening the tab, and
    /// returns the published view as text.
    async fn open_home(&self, user: &str) -> String {
        let invocation =
            sirslack_slack_router::HomeInvocation::new(&self.team_id, user, Utc::now());
        let result = self
            .handler
            .handle_invocation(serde_json::to_value(&invocation).unwrap())
            .await
            .expect("home published");
        assert_eq!(result, json!({"outcome": "published"}));
        self.slack
            .home_view(user)
            .expect("a view was published")
            .to_string()
    }
}

#[tokio::test]
async fn the_home_tab_shows_each_persons_own_rights_and_enrolment() {
    let policy = json!({
        "version": 1,
        "close": { "userGroups": [LEADS] },
        "mutating": { "users": [JANE, GWEN] },
        "subcommands": { "update-description": { "users": [JANE] } },
        "requireOneTimeCodeForEdits": true,
    });
    let world = world_with(Options {
        policy: Some(policy.to_string()),
        otp_secrets: vec![(JANE, JANE_SECRET)],
        ..Options::default()
    })
    .await;

    let jane = world.open_home(JANE).await;
    assert!(jane.contains(&format!("Case {}", world.case_id)), "{jane}");
    assert!(
        jane.contains(
            "as a member: `status`, `summarize`, `update-status` (with a one-time code), \
             `update-title` (with a one-time code), `update-description` (with a one-time code)."
        ),
        "{jane}"
    );
    assert!(
        jane.contains("Not allowed for you: `close` (the policy does not list you)."),
        "{jane}"
    );
    assert!(jane.contains("You are enrolled"), "{jane}");

    // Bob closes through the leads group; no code, since he is not enrolled.
    let bob = world.open_home(BOB).await;
    assert!(
        bob.contains("as a member: `status`, `summarize`, `close`."),
        "{bob}"
    );
    assert!(
        bob.contains("`update-status` (the policy does not list you)"),
        "{bob}"
    );
    assert!(bob.contains("You are not enrolled"), "{bob}");
    assert_eq!(world.slack.call_count("usergroups.users.list"), 1);

    // Gwen, a guest the mutating rule names, may change the case; the description rule does
    // not name her, and close's group does not hold her.
    let gwen = world.open_home(GWEN).await;
    assert!(gwen.contains("`update-status`, `update-title`"), "{gwen}");
    assert!(
        gwen.contains("`update-description` (the policy does not list you)")
            && gwen.contains("`close` (the policy does not list you)"),
        "{gwen}"
    );

    // Mallory, in no case channel, sees no case, and SIR is never asked.
    let mallory = world.open_home(MALLORY).await;
    assert!(!mallory.contains(&world.case_id), "{mallory}");
    assert_eq!(world.sir.call_count("GetCase"), 0);
    assert_eq!(world.mutating_calls(), 0);
}

#[tokio::test]
async fn the_home_tab_of_a_guest_and_under_a_broken_policy_says_why() {
    let world = world_with(Options::default()).await;
    let gwen = world.open_home(GWEN).await;
    assert!(
        gwen.contains("`update-status` (guest accounts may not change a case)")
            && gwen.contains("`close` (guest accounts may not change a case)")
            && gwen.contains("as a member: `status`, `summarize`."),
        "{gwen}"
    );

    let broken = world_with(Options {
        policy: Some("{not json".to_owned()),
        ..Options::default()
    })
    .await;
    let jane = broken.open_home(JANE).await;
    assert!(
        jane.contains("Nothing right now: the command policy is missing"),
        "{jane}"
    );
    // The tab still lists her case: she is in its channel.
    assert!(jane.contains(&format!("Case {}", broken.case_id)), "{jane}");

    // A Home invocation that does not name a Slack user is refused, not published.
    let forged = json!({"version": 1, "kind": "home", "team_id": broken.team_id,
                        "user_id": "../otpSecret", "received_at": "2026-01-01T00:00:00Z"});
    assert!(broken.handler.handle_invocation(forged).await.is_err());
}

// ---- sending a message to a case (issue 19 item 2) -------------------------------------------

impl World {
    /// A public channel of no case where Jane, Bob and Mallory talk, and Bob's message in it.
    fn alerts_message(&self) -> (String, String) {
        let alerts = self
            .slack
            .add_channel(SeedChannel {
                bot_is_member: true,
                members: vec![JANE.to_owned(), BOB.to_owned(), MALLORY.to_owned()],
                ..SeedChannel::public(&unique_name("soc-alerts"))
            })
            .unwrap();
        let ts = self
            .slack
            .post_user_message(
                &alerts,
                BOB,
                "Disk full on db-1 & db-2, <@U0JANEDOE1> please look",
            )
            .unwrap();
        (alerts, ts)
    }

    /// `user` chooses "Send to SIR case" on the message: the ack, the `response_url` token,
    /// and the modal it opened (if any).
    async fn send_to_case_shortcut(
        &self,
        user: &str,
        channel: &str,
        ts: &str,
    ) -> (u16, String, Option<slack_standin::OpenView>) {
        let token = unique_name("msg-action");
        let action = self
            .slack
            .message_action(user, channel, ts, "send_to_case", &token)
            .unwrap();
        let (status, _) = self.send(&self.signer.sign(action.into_body())).await;
        let view = self
            .slack
            .open_views(user)
            .pop()
            .filter(|view| view.callback_id() == "send_to_case_modal");
        (status, token, view)
    }

    /// What the picker offers `user` for `typed`: the option values.
    async fn picker(&self, user: &str, view_id: &str, typed: &str) -> Vec<String> {
        let suggestion = self
            .slack
            .block_suggestion(
                user,
                view_id,
                "send_to_case_case",
                "send_to_case_case",
                typed,
            )
            .unwrap();
        let (status, body) = self.send(&self.signer.sign(suggestion.into_body())).await;
        assert_eq!(status, 200, "{body}");
        let answer: Value = serde_json::from_str(&body).expect("options JSON");
        answer["options"]
            .as_array()
            .expect("options")
            .iter()
            .filter_map(|option| option["value"].as_str().map(str::to_owned))
            .collect()
    }

    /// `user` submits the modal with `case_id` and `note`: the ack, and the command handler's
    /// outcome.
    async fn send_to_case(
        &self,
        user: &str,
        view_id: &str,
        case_id: &str,
        note: &str,
    ) -> (Value, Option<String>) {
        let values = [
            (
                "send_to_case_case",
                "send_to_case_case",
                slack_standin::signing::InputValue::ExternalSelect(
                    slack_standin::signing::SelectedOption::new(case_id, case_id),
                ),
            ),
            (
                "send_to_case_note",
                "send_to_case_note",
                slack_standin::signing::InputValue::PlainText(note.to_owned()),
            ),
        ];
        let submission = self.slack.view_submission(user, view_id, &values).unwrap();
        let (status, body) = self.send(&self.signer.sign(submission.into_body())).await;
        assert_eq!(status, 200, "{body}");
        let ack = serde_json::from_str(&body).unwrap_or(Value::Null);
        let outcome = self
            .run_hand_offs()
            .await
            .pop()
            .and_then(|result| result["outcome"].as_str().map(str::to_owned));
        (ack, outcome)
    }

    fn told_in(&self, channel: &str, user: &str) -> Vec<String> {
        self.slack
            .ephemeral_messages(channel)
            .into_iter()
            .filter(|message| message.user == user)
            .filter_map(|message| message.text)
            .collect()
    }
}

#[tokio::test]
async fn a_message_sent_to_a_case_becomes_one_comment_and_a_notice() {
    let world = world().await;
    let (alerts, ts) = world.alerts_message();
    let (status, _, view) = world.send_to_case_shortcut(JANE, &alerts, &ts).await;
    assert_eq!(status, 200);
    let view = view.expect("the modal is open");

    // Jane's picker offers her case; Mallory (not in the case channel) is offered nothing.
    assert_eq!(
        world.picker(JANE, &view.id, "").await,
        std::slice::from_ref(&world.case_id)
    );
    assert_eq!(
        world.picker(JANE, &view.id, &world.case_id[3..]).await,
        std::slice::from_ref(&world.case_id)
    );
    assert!(world.picker(JANE, &view.id, "ransomware").await.is_empty());

    // The picker is a required input: Slack's client does not submit the modal without a case
    // (the events handler's own check is `parse_forward_submission`'s unit test).
    assert!(world.slack.view_submission(JANE, &view.id, &[]).is_err());

    let (ack, outcome) = world
        .send_to_case(JANE, &view.id, &world.case_id, "First alert\nof the wave")
        .await;
    assert_eq!(ack["response_action"], "clear", "{ack}");
    assert_eq!(outcome.as_deref(), Some("sent"));
    let comments = world.comments();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    let permalink = world.slack.permalink(&alerts, &ts).expect("permalink");
    assert_eq!(
        comments[0],
        format!(
            "[Slack Update] Jane Doe (@jane, Slack ID {JANE}) sent a Slack message to this case.\n\
             Author: Bob Smith (@bob, Slack ID {BOB})\n\
             Link: {permalink}\n\
             Note: First alert\nof the wave\n\
             Message:\nDisk full on db-1 & db-2, @Jane Doe please look"
        )
    );
    let calls = world.sir.calls_to("CreateCaseComment");
    assert_eq!(
        calls[0].request["clientToken"],
        json!(format!("sirslack-forward-{}-{}-0", world.team_id, view.id))
    );
    // Recorded as written from Slack, so the poller never posts it back.
    let case: CaseId = world.case_id.parse().unwrap();
    assert_eq!(world.table.known_comment_ids(&case).await.unwrap().len(), 1);
    // The case channel is told, with the link.
    let notices: Vec<String> = world
        .slack
        .messages(&world.channel)
        .into_iter()
        .filter_map(|message| message.text)
        .filter(|text| text.contains("sent <"))
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains(&permalink), "{}", notices[0]);

    // The same modal submitted again: one comment, one notice.
    let (_, again) = world
        .send_to_case(JANE, &view.id, &world.case_id, "First alert\nof the wave")
        .await;
    assert_eq!(again.as_deref(), Some("duplicate"));
    assert_eq!(world.comments().len(), 1);
    assert_eq!(world.sir.call_count("CreateCaseComment"), 1);
}

#[tokio::test]
async fn people_outside_the_case_channel_or_the_policy_are_refused_and_sir_sees_nothing() {
    let world = world_with(Options {
        policy: Some(
            json!({"version": 1, "subcommands": {"send-to-case": {"users": [JANE]}}}).to_string(),
        ),
        ..Options::default()
    })
    .await;
    let (alerts, ts) = world.alerts_message();

    // Mallory is not in the case channel: she forges the case ID into her modal.
    let (_, _, view) = world.send_to_case_shortcut(MALLORY, &alerts, &ts).await;
    let view = view.expect("the modal is open");
    assert!(world.picker(MALLORY, &view.id, "").await.is_empty());
    let (_, outcome) = world
        .send_to_case(MALLORY, &view.id, &world.case_id, "")
        .await;
    assert_eq!(outcome.as_deref(), Some("refused"));
    let told = world.told_in(&alerts, MALLORY);
    assert!(
        told.iter()
            .any(|text| text.contains("Only members of the channel of case")),
        "{told:?}"
    );

    // Bob is in the case channel but the policy keeps sending to Jane.
    let (_, _, view) = world.send_to_case_shortcut(BOB, &alerts, &ts).await;
    let view = view.expect("the modal is open");
    let (_, outcome) = world.send_to_case(BOB, &view.id, &world.case_id, "").await;
    assert_eq!(outcome.as_deref(), Some("refused"));
    let told = world.told_in(&alerts, BOB);
    assert!(
        told.iter()
            .any(|text| text.contains("send-to-case") && text.contains("Nothing was sent")),
        "{told:?}"
    );
    assert_eq!(world.sir.call_count("CreateCaseComment"), 0);

    // A message in a private channel the app is not in cannot be sent at all.
    let mut secret = SeedChannel::public(&unique_name("secret"));
    secret.is_private = true;
    secret.members = vec![JANE.to_owned()];
    let secret = world.slack.add_channel(secret).unwrap();
    let hidden_ts = world
        .slack
        .post_user_message(&secret, JANE, "psst")
        .unwrap();
    let (status, token, view) = world.send_to_case_shortcut(JANE, &secret, &hidden_ts).await;
    assert_eq!(status, 200);
    assert!(view.is_none(), "no modal for a message the app cannot see");
    let posts = world.posts(&token);
    assert!(
        posts.iter().any(|post| post
            .text
            .as_deref()
            .is_some_and(|text| text.contains("cannot see this conversation"))),
        "{posts:#?}"
    );
    assert_eq!(world.sir.call_count("CreateCaseComment"), 0);
}
