//! The Slack client against the local world: moto (DynamoDB, SSM, SQS, EventBridge), the Slack
//! stand-in and the SIR stand-in. Every test feeds the exact SQS event JSON Lambda delivers
//! (an EventBridge envelope in each body) into the library handler.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_local::{
    DeadLetterTarget, LocalAws, OnExisting, ParameterKind, QueueKind, create_bus, create_queue,
    create_rule_to_queue, create_table, delete_message, put_event, put_parameter, unique_name,
};
use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use sir_standin::{AttachmentStatus, CaseMetadataEntry, NewCase, SirStandin};
use sirslack_domain::announced::{ANNOUNCED_CHANGE_SCOPE, AnnouncedChange};
use sirslack_domain::events::EVENT_SOURCE;
use sirslack_domain::{
    Attachment, Case, CaseId, CaseStatus, ChannelNamer, ClosureCode, Comment, CommentId,
    FieldChange, IntegrationEvent, Watcher,
};
use sirslack_mapper::slack::{channel_purpose, channel_topic};
use sirslack_slack_api::{BotTokenSource, Deadline, ParameterCache, RetryPolicy, SlackApi};
use sirslack_slack_client::sir::Sir;
use sirslack_slack_client::{ChannelVisibility, Config, Handler, Services};
use sirslack_store::Table;
use slack_standin::{Message, SeedChannel, SeedUser, SlackStandin, SlackStandinConfig};

const REGION: &str = "us-east-1";
const MIB: usize = 1024 * 1024;

// ---- the local world ------------------------------------------------------------------------

struct World {
    aws: LocalAws,
    slack: SlackStandin,
    sir: SirStandin,
    table_name: String,
    token_parameter: String,
}

impl World {
    async fn start() -> World {
        let aws = LocalAws::shared()
            .await
            .expect("moto runs (scripts/setup-local-world)");
        let table_name = unique_name("slack-client");
        create_table(&aws.dynamodb(), &table_name).await.unwrap();
        let slack = SlackStandin::start(SlackStandinConfig::default())
            .await
            .unwrap();
        let sir = SirStandin::start().await.unwrap();
        let token_parameter = format!("/sirslack-test/{}/slackBotToken", unique_name("token"));
        put_parameter(
            &aws.ssm(),
            &token_parameter,
            &slack.bot_token(),
            ParameterKind::Secure,
            OnExisting::Overwrite,
        )
        .await
        .unwrap();
        World {
            aws,
            slack,
            sir,
            table_name,
            token_parameter,
        }
    }

    fn config(&self) -> Config {
        let mut config = Config::new(&self.table_name, &self.token_parameter, REGION);
        config.slack_api_url = Some(self.slack.api_url());
        config.case_wait = Duration::from_secs(10);
        config
    }

    fn sir_client(&self) -> aws_sdk_securityir::Client {
        let config = aws_sdk_securityir::config::Builder::from(self.aws.sdk_config())
            .endpoint_url(self.sir.endpoint_url())
            .build();
        aws_sdk_securityir::Client::from_conf(config)
    }

    fn table(&self) -> Table {
        Table::new(self.aws.dynamodb(), &self.table_name)
    }

    fn handler(&self, config: Config) -> Handler {
        let parameters = ParameterCache::new(self.aws.ssm(), config.secrets_cache_ttl);
        let slack = SlackApi::builder()
            .api_url(&self.slack.api_url())
            .retry_policy(RetryPolicy::quick())
            .build()
            .unwrap();
        let services = Services {
            table: self.table(),
            sir: Sir::new(self.sir_client()),
            slack,
            token: BotTokenSource::ssm(parameters.clone(), config.bot_token_parameter.clone()),
            parameters: Some(parameters),
        };
        Handler::new(config, services).unwrap()
    }

    fn add_user(&self, id: &str, name: &str, email: &str) {
        self.slack
            .add_user(SeedUser::human(id, name, name, email))
            .unwrap();
    }

    /// A case in the SIR stand-in, and the same case as the domain sees it.
    async fn seed_case(&self, watchers: &[&str]) -> Case {
        let case_id = self
            .sir
            .seed_case(NewCase {
                title: "Suspicious console login".into(),
                description: "Console sign-in from an unexpected IP.".into(),
                impacted_accounts: vec!["111122223333".into()],
                impacted_aws_regions: vec!["us-east-1".into(), "eu-west-1".into()],
                watchers: watchers
                    .iter()
                    .map(|email| sir_standin::Watcher::new(*email))
                    .collect(),
                case_metadata: vec![CaseMetadataEntry {
                    key: "severity".into(),
                    value: "High".into(),
                }],
                ..NewCase::default()
            })
            .unwrap();
        self.sir_case(&CaseId::new(&case_id).unwrap()).await
    }

    async fn sir_case(&self, case_id: &CaseId) -> Case {
        let out = self
            .sir_client()
            .get_case()
            .case_id(case_id.as_str())
            .send()
            .await
            .unwrap();
        sirslack_mapper::sir::case_from_get_case(case_id, &out)
    }

    fn channel_of(&self, case: &Case) -> slack_standin::ChannelSnapshot {
        let name = ChannelNamer::default().name_for(&case.id);
        self.slack
            .channel_by_name(&name)
            .unwrap_or_else(|| panic!("no channel {name}"))
    }

    fn messages_of(&self, case: &Case) -> Vec<Message> {
        self.slack.messages(&self.channel_of(case).id)
    }

    async fn applied_sequence(&self, case_id: &CaseId) -> u64 {
        self.table()
            .channel_link(case_id)
            .await
            .unwrap()
            .map_or(0, |link| link.applied_sequence)
    }
}

// ---- SQS events as Lambda delivers them ------------------------------------------------------

fn envelope(event: &IntegrationEvent) -> Value {
    json!({
        "version": "0",
        "id": format!("{:x}", rand_id()),
        "detail-type": event.detail_type(),
        "source": EVENT_SOURCE,
        "account": "123456789012",
        "time": "2024-05-01T12:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": serde_json::from_str::<Value>(&event.to_detail_json().unwrap()).unwrap(),
    })
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed) * 7919
}

fn record_with_body(message_id: &str, body: &str, receive_count: u32) -> Value {
    json!({
        "messageId": message_id,
        "receiptHandle": format!("AQEB{message_id}"),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": receive_count.to_string(),
            "SentTimestamp": "1714564800000",
            "SenderId": "AIDAEVENTBRIDGE",
            "ApproximateFirstReceiveTimestamp": "1714564800001"
        },
        "messageAttributes": {},
        "md5OfBody": "0123456789abcdef0123456789abcdef",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sirslack-slack-client",
        "awsRegion": REGION
    })
}

fn record(event: &IntegrationEvent, receive_count: u32) -> Value {
    let message_id = format!("{}-{}-{}", event.case_id, event.sequence, rand_id());
    record_with_body(&message_id, &envelope(event).to_string(), receive_count)
}

fn sqs_event(records: Vec<Value>) -> SqsEvent {
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn failed_ids(response: &SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.clone())
        .collect()
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(300))
}

/// Delivers events (receive count 1) in one batch; returns the failed message IDs.
async fn deliver(handler: &Handler, events: &[&IntegrationEvent]) -> Vec<String> {
    let records = events.iter().map(|event| record(event, 1)).collect();
    failed_ids(&handler.handle(sqs_event(records), deadline()).await)
}

async fn deliver_ok(handler: &Handler, events: &[&IntegrationEvent]) {
    let failed = deliver(handler, events).await;
    assert!(failed.is_empty(), "unexpected failures: {failed:?}");
}

fn now() -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_714_564_800, 0).single().unwrap()
}

fn comment(id: &str, body: &str, creator: &str) -> Comment {
    Comment {
        id: CommentId::new(id).unwrap(),
        body: body.into(),
        creator: creator.into(),
        created_at: Utc.timestamp_opt(1_714_564_000, 0).single().unwrap(),
        updated_at: None,
        updated_by: None,
    }
}

/// Text and blocks of a message, for searching.
fn content(message: &Message) -> String {
    format!(
        "{} {}",
        message.text.clone().unwrap_or_default(),
        message
            .blocks
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default()
    )
}

/// Creates the case's channel (sequence 1) and checks it worked.
async fn created(handler: &Handler, case: &Case) -> IntegrationEvent {
    let event = IntegrationEvent::case_created(case.clone(), 1, now());
    deliver_ok(handler, &[&event]).await;
    event
}

// ---- CaseCreated ----------------------------------------------------------------------------

#[tokio::test]
async fn case_created_sets_up_a_private_channel() {
    let world = World::start().await;
    world.add_user("U0JANE", "Jane Doe", "jane@example.com");
    world.add_user("U0BOB", "Bob Roe", "Bob@Example.com");
    let case = world
        .seed_case(&["jane@example.com", "bob@example.com"])
        .await;
    let handler = world.handler(world.config());

    created(&handler, &case).await;

    let channel = world.channel_of(&case);
    assert!(channel.is_private, "private by default");
    assert_eq!(channel.topic, channel_topic(&case));
    assert_eq!(channel.purpose, channel_purpose(&case));
    assert!(channel.members.contains(&"U0JANE".to_owned()));
    assert!(channel.members.contains(&"U0BOB".to_owned()));
    assert_eq!(world.slack.call_count("conversations.invite"), 1);

    let messages = world.slack.messages(&channel.id);
    assert_eq!(messages.len(), 1, "only the initial message: {messages:?}");
    let initial = content(&messages[0]);
    for expected in [
        "Suspicious console login",
        "Submitted",
        "High",
        "Security Incident",
        "Console sign-in from an unexpected IP.",
        "111122223333",
        "eu-west-1",
        "console.aws.amazon.com/security-ir",
        "/security-ir",
    ] {
        assert!(
            initial.contains(expected),
            "{expected} missing in {initial}"
        );
    }

    // Both directions of the link, read by key.
    let table = world.table();
    assert_eq!(
        table.case_for_channel(&channel.id).await.unwrap(),
        Some(case.id.clone())
    );
    let link = table.channel_link(&case.id).await.unwrap().unwrap();
    assert_eq!(link.channel_id.as_deref(), Some(channel.id.as_str()));
    assert_eq!(link.applied_sequence, 1);

    // One SIR comment naming the channel, recorded as the integration's own.
    let comments = world.sir.comments(case.id.as_str());
    let expected = format!("[Slack Update] Slack channel created: #{}", channel.name);
    let ours: Vec<_> = comments.iter().filter(|c| c.body == expected).collect();
    assert_eq!(ours.len(), 1, "{comments:?}");
    let item = world
        .aws
        .dynamodb()
        .get_item()
        .table_name(&world.table_name)
        .key("pk", AttributeValue::S(format!("CASE#{}", case.id)))
        .key(
            "sk",
            AttributeValue::S(format!("COMMENT#{}", ours[0].comment_id)),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("comment recorded");
    assert_eq!(item["origin"], AttributeValue::S("slack".into()));
}

#[tokio::test]
async fn public_channel_when_configured() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let mut config = world.config();
    config.channel_visibility = ChannelVisibility::Public;
    let handler = world.handler(config);
    created(&handler, &case).await;
    assert!(!world.channel_of(&case).is_private);
}

#[tokio::test]
async fn redelivered_case_created_makes_one_channel() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let handler = world.handler(world.config());
    let event = created(&handler, &case).await;
    // The same event again, alone and then twice in one batch.
    deliver_ok(&handler, &[&event]).await;
    deliver_ok(&handler, &[&event, &event]).await;

    assert_eq!(world.slack.call_count("conversations.create"), 1);
    assert_eq!(world.slack.channels().len(), 1);
    assert_eq!(world.messages_of(&case).len(), 1);
    let created_comments = world
        .sir
        .comments(case.id.as_str())
        .into_iter()
        .filter(|c| c.body.contains("Slack channel created"))
        .count();
    assert_eq!(created_comments, 1);
}

#[tokio::test]
async fn concurrent_case_created_makes_one_channel() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let first = world.handler(world.config());
    let second = world.handler(world.config());
    let event = IntegrationEvent::case_created(case.clone(), 1, now());

    let batch = [&event];
    let (a, b) = tokio::join!(deliver(&first, &batch), deliver(&second, &batch));
    // Whoever lost the race gets its copy back and acknowledges it on redelivery.
    let mut retries = a.len() + b.len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while retries > 0 {
        assert!(Instant::now() < deadline, "redelivery never succeeded");
        retries = deliver(&second, &[&event]).await.len();
    }

    assert_eq!(world.slack.channels().len(), 1);
    assert_eq!(world.slack.call_count("conversations.create"), 1);
    assert_eq!(world.messages_of(&case).len(), 1, "one initial message");
    assert_eq!(world.applied_sequence(&case.id).await, 1);
}

#[tokio::test]
async fn name_taken_by_a_foreign_channel_gets_a_suffix() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let namer = ChannelNamer::default();
    let taken = namer.name_for(&case.id);
    let foreign = world.slack.add_foreign_channel(&taken).unwrap();
    let handler = world.handler(world.config());

    created(&handler, &case).await;

    let suffixed = namer.candidate(&case.id, 1).unwrap();
    assert_eq!(suffixed, format!("{taken}-2"));
    let channel = world
        .slack
        .channel_by_name(&suffixed)
        .expect("suffixed channel");
    assert_eq!(world.slack.messages(&channel.id).len(), 1);
    assert!(
        world.slack.messages(&foreign).is_empty(),
        "foreign channel untouched"
    );
    assert!(!world.slack.channel(&foreign).unwrap().bot_is_member);
    let link = world.table().channel_link(&case.id).await.unwrap().unwrap();
    assert_eq!(link.channel_name.as_deref(), Some(suffixed.as_str()));
    let comments = world.sir.comments(case.id.as_str());
    assert!(
        comments
            .iter()
            .any(|c| c.body == format!("[Slack Update] Slack channel created: #{suffixed}"))
    );
}

#[tokio::test]
async fn when_every_name_is_taken_sir_is_told_and_the_event_acknowledged() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let namer = ChannelNamer::default();
    for name in namer.candidates(&case.id) {
        world.slack.add_foreign_channel(&name).unwrap();
    }
    let handler = world.handler(world.config());

    deliver_ok(
        &handler,
        &[&IntegrationEvent::case_created(case.clone(), 1, now())],
    )
    .await;

    assert_eq!(world.slack.call_count("conversations.create"), 5, "bounded");
    assert_eq!(world.slack.channels().len(), 5, "no channel of ours");
    assert_eq!(world.applied_sequence(&case.id).await, 1);
    let notes: Vec<String> = world
        .sir
        .comments(case.id.as_str())
        .into_iter()
        .map(|c| c.body)
        .filter(|body| body.contains("name_taken"))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
}

#[tokio::test]
async fn our_own_unlinked_channel_is_adopted() {
    // A worker created the channel and died before linking it.
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let name = ChannelNamer::default().name_for(&case.id);
    let mut seed = SeedChannel::public(&name);
    seed.is_private = true;
    seed.bot_is_member = true;
    seed.creator = Some(world.slack.bot_user_id());
    let existing = world.slack.add_channel(seed).unwrap();
    let handler = world.handler(world.config());

    created(&handler, &case).await;

    assert_eq!(world.slack.channels().len(), 1, "no second channel");
    assert_eq!(
        world.table().case_for_channel(&existing).await.unwrap(),
        Some(case.id.clone())
    );
    assert_eq!(world.slack.messages(&existing).len(), 1);
}

#[tokio::test]
async fn our_own_archived_channel_is_not_adopted_but_replaced() {
    // The case's channel exists, made by this app, but archived (the table lost its link);
    // a bot cannot unarchive it.
    let world = World::start().await;
    world.add_user("U0JANE", "Jane Doe", "jane@example.com");
    let case = world.seed_case(&["jane@example.com"]).await;
    let namer = ChannelNamer::default();
    let name = namer.name_for(&case.id);
    let mut seed = SeedChannel::public(&name);
    seed.is_private = true;
    seed.bot_is_member = true;
    seed.is_archived = true;
    seed.creator = Some(world.slack.bot_user_id());
    let archived = world.slack.add_channel(seed).unwrap();
    let handler = world.handler(world.config());

    created(&handler, &case).await;

    assert_eq!(world.slack.call_count("conversations.unarchive"), 0);
    assert!(world.slack.channel(&archived).unwrap().is_archived);
    let new_name = namer.candidate(&case.id, 1).unwrap();
    let channel = world.slack.channel_by_name(&new_name).expect("new channel");
    assert!(!channel.is_archived);
    assert!(channel.members.contains(&"U0JANE".to_owned()));
    assert_eq!(channel.topic, channel_topic(&case));
    assert_eq!(
        world.slack.messages(&channel.id).len(),
        1,
        "initial message"
    );
    let link = world.table().channel_link(&case.id).await.unwrap().unwrap();
    assert_eq!(link.channel_id.as_deref(), Some(channel.id.as_str()));
    let expected = format!(
        "[Slack Update] Slack channel replaced: #{name} is archived; the case continues in #{new_name}"
    );
    let comments = world.sir.comments(case.id.as_str());
    assert_eq!(
        comments.iter().filter(|c| c.body == expected).count(),
        1,
        "{comments:?}"
    );
}

#[tokio::test]
async fn five_watchers_with_two_unknown_are_invited_in_one_call_with_one_notice() {
    let world = World::start().await;
    world.add_user("U0A", "Ann", "ann@example.com");
    world.add_user("U0B", "Ben", "ben@example.com");
    world.add_user("U0C", "Cat", "cat@example.com");
    let case = world
        .seed_case(&[
            "ann@example.com",
            "ghost@example.com",
            "ben@example.com",
            "nobody@example.com",
            "cat@example.com",
        ])
        .await;
    let handler = world.handler(world.config());

    created(&handler, &case).await;

    let invites = world.slack.calls_to("conversations.invite");
    assert_eq!(invites.len(), 1, "one invite call");
    let users = invites[0].params["users"].as_str().unwrap().to_owned();
    let mut invited: Vec<&str> = users.split(',').collect();
    invited.sort_unstable();
    assert_eq!(invited, ["U0A", "U0B", "U0C"]);
    let channel = world.channel_of(&case);
    for user in ["U0A", "U0B", "U0C"] {
        assert!(channel.members.contains(&user.to_owned()));
    }
    assert_eq!(world.slack.call_count("users.lookupByEmail"), 5);

    let notices: Vec<String> = world
        .messages_of(&case)
        .iter()
        .map(content)
        .filter(|text| text.contains("could not be invited"))
        .collect();
    assert_eq!(notices.len(), 1, "one notice: {notices:?}");
    assert!(notices[0].contains("ghost@example.com") && notices[0].contains("nobody@example.com"));
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    world
        .slack
        .inject_server_errors(Some("conversations.create"), 503, 2);
    let handler = world.handler(world.config());
    created(&handler, &case).await;
    let calls = world.slack.calls_to("conversations.create");
    assert_eq!(calls.len(), 3);
    assert_eq!(
        calls.iter().map(|c| c.status).collect::<Vec<_>>(),
        [503, 503, 200]
    );
    assert_eq!(world.slack.channels().len(), 1);
}

// ---- ordering --------------------------------------------------------------------------------

#[tokio::test]
async fn out_of_order_events_wait_for_their_predecessor() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let mut config = world.config();
    config.case_wait = Duration::ZERO;
    let handler = world.handler(config);
    created(&handler, &case).await;
    let first = IntegrationEvent::comment_added(
        case.id.clone(),
        2,
        now(),
        comment("000001", "first comment", "AWS Responder"),
    );
    let second = IntegrationEvent::comment_added(
        case.id.clone(),
        3,
        now(),
        comment("000002", "second comment", "AWS Responder"),
    );

    let failed = deliver(&handler, &[&second]).await;
    assert_eq!(failed.len(), 1, "sequence 3 waits for 2");
    assert_eq!(world.messages_of(&case).len(), 1);
    assert_eq!(world.applied_sequence(&case.id).await, 1);

    // Both in one batch, in the wrong order: sorted and applied.
    deliver_ok(&handler, &[&second, &first]).await;
    let texts: Vec<String> = world.messages_of(&case).iter().map(content).collect();
    assert_eq!(texts.len(), 3);
    assert!(texts[1].contains("first comment") && texts[2].contains("second comment"));
    assert_eq!(world.applied_sequence(&case.id).await, 3);
}

#[tokio::test]
async fn an_event_waits_briefly_for_its_predecessor_in_another_invocation() {
    // Standard SQS splits a case's events across concurrent invocations.
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let first = world.handler(world.config());
    let second = world.handler(world.config());
    created(&first, &case).await;
    let two = IntegrationEvent::comment_added(
        case.id.clone(),
        2,
        now(),
        comment("000001", "comment two", "AWS Responder"),
    );
    let three = IntegrationEvent::comment_added(
        case.id.clone(),
        3,
        now(),
        comment("000002", "comment three", "AWS Responder"),
    );
    let (later_batch, earlier_batch) = ([&three], [&two]);
    let (a, b) = tokio::join!(
        deliver(&second, &later_batch),
        deliver(&first, &earlier_batch)
    );
    assert!(
        a.is_empty() && b.is_empty(),
        "both applied at once: {a:?} {b:?}"
    );
    let texts: Vec<String> = world.messages_of(&case).iter().map(content).collect();
    assert!(texts[1].contains("comment two") && texts[2].contains("comment three"));
    assert_eq!(world.applied_sequence(&case.id).await, 3);
}

#[tokio::test]
async fn a_case_without_a_channel_gets_one_when_an_update_arrives() {
    // The CaseCreated event never arrived (it rests in the DLQ).
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    world
        .sir
        .set_case_title(case.id.as_str(), "Renamed in SIR")
        .unwrap();
    let update = IntegrationEvent::case_updated(
        case.id.clone(),
        2,
        now(),
        vec![FieldChange::Title {
            old: case.title.clone(),
            new: "Renamed in SIR".into(),
        }],
    );
    let mut config = world.config();
    config.case_wait = Duration::from_millis(600);
    let handler = world.handler(config);

    // Early deliveries wait for the lost predecessor...
    let failed = failed_ids(
        &handler
            .handle(sqs_event(vec![record(&update, 1)]), deadline())
            .await,
    );
    assert_eq!(failed.len(), 1);
    assert!(world.slack.channels().is_empty());

    // ...the one before the DLQ applies it, and the channel heals itself.
    let response = handler
        .handle(sqs_event(vec![record(&update, 4)]), deadline())
        .await;
    assert!(failed_ids(&response).is_empty());
    let channel = world.channel_of(&case);
    let texts: Vec<String> = world
        .slack
        .messages(&channel.id)
        .iter()
        .map(content)
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].contains("Renamed in SIR"),
        "initial message shows the case as it is"
    );
    assert!(texts[1].contains("Title"), "then the update");
    assert!(channel.topic.contains("Renamed in SIR"));
    assert_eq!(world.applied_sequence(&case.id).await, 2);
    assert!(
        world
            .sir
            .comments(case.id.as_str())
            .iter()
            .any(|c| c.body.contains("Slack channel created"))
    );
}

// ---- CaseUpdated, WatchersChanged --------------------------------------------------------------

#[tokio::test]
async fn case_updated_lists_every_change_and_refreshes_topic_and_purpose() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let handler = world.handler(world.config());
    created(&handler, &case).await;
    let topic_calls = world.slack.call_count("conversations.setTopic");

    // The first status change after creation, together with a title change.
    let changes = vec![
        FieldChange::Title {
            old: case.title.clone(),
            new: "Compromised access key".into(),
        },
        FieldChange::Status {
            old: CaseStatus::Submitted,
            new: CaseStatus::DetectionAndAnalysis,
        },
    ];
    deliver_ok(
        &handler,
        &[&IntegrationEvent::case_updated(
            case.id.clone(),
            2,
            now(),
            changes,
        )],
    )
    .await;
    let mut expected = case.clone();
    expected.title = "Compromised access key".into();
    expected.status = CaseStatus::DetectionAndAnalysis;

    let messages = world.messages_of(&case);
    assert_eq!(messages.len(), 2);
    let update = content(&messages[1]);
    for text in [
        "Title",
        "Compromised access key",
        "Status",
        "Detection and Analysis",
        "Submitted",
    ] {
        assert!(update.contains(text), "{text} missing in {update}");
    }
    let channel = world.channel_of(&case);
    assert_eq!(channel.topic, channel_topic(&expected));
    assert_eq!(channel.purpose, channel_purpose(&expected));
    assert_eq!(
        world.slack.call_count("conversations.setTopic"),
        topic_calls + 1
    );

    // A description change: one message; the topic (status and title) is left alone.
    deliver_ok(
        &handler,
        &[&IntegrationEvent::case_updated(
            case.id.clone(),
            3,
            now(),
            vec![FieldChange::Description {
                old: case.description.clone(),
                new: "Access key used from two countries.".into(),
            }],
        )],
    )
    .await;
    expected.description = "Access key used from two countries.".into();
    let messages = world.messages_of(&case);
    assert_eq!(messages.len(), 3);
    assert!(content(&messages[2]).contains("Access key used from two countries."));
    assert_eq!(
        world.slack.call_count("conversations.setTopic"),
        topic_calls + 1
    );
    assert_eq!(world.channel_of(&case).purpose, channel_purpose(&expected));
}

#[tokio::test]
async fn changes_a_command_announced_are_left_out_and_the_rest_announced() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let handler = world.handler(world.config());
    created(&handler, &case).await;
    let table = world.table();
    // What the command handler leaves when it announced a status change itself.
    let status_key = AnnouncedChange::Status(CaseStatus::DetectionAndAnalysis).marker_key(&case.id);
    assert!(
        table
            .put_once(
                ANNOUNCED_CHANGE_SCOPE,
                &status_key,
                chrono::Duration::hours(1)
            )
            .await
            .unwrap()
    );

    // The poller reports that status change together with one made in SIR.
    let changes = vec![
        FieldChange::Status {
            old: CaseStatus::Submitted,
            new: CaseStatus::DetectionAndAnalysis,
        },
        FieldChange::Severity {
            old: Some("High".into()),
            new: Some("Critical".into()),
        },
    ];
    deliver_ok(
        &handler,
        &[&IntegrationEvent::case_updated(
            case.id.clone(),
            2,
            now(),
            changes,
        )],
    )
    .await;
    let messages = world.messages_of(&case);
    assert_eq!(messages.len(), 2);
    let update = content(&messages[1]);
    assert!(update.contains("Critical"), "{update}");
    assert!(!update.contains("Detection and Analysis"), "{update}");
    let mut expected = case.clone();
    expected.status = CaseStatus::DetectionAndAnalysis;
    expected.severity = Some("Critical".into());
    assert_eq!(world.channel_of(&case).topic, channel_topic(&expected));
    assert!(
        !table
            .marker_present(ANNOUNCED_CHANGE_SCOPE, &status_key)
            .await
            .unwrap(),
        "the marker is used up"
    );

    // Everything in an event announced already: no message, the topic still follows.
    let title = "Compromised access key";
    let title_key = AnnouncedChange::Title(title.into()).marker_key(&case.id);
    table
        .put_once(
            ANNOUNCED_CHANGE_SCOPE,
            &title_key,
            chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    deliver_ok(
        &handler,
        &[&IntegrationEvent::case_updated(
            case.id.clone(),
            3,
            now(),
            vec![FieldChange::Title {
                old: case.title.clone(),
                new: title.into(),
            }],
        )],
    )
    .await;
    expected.title = title.into();
    assert_eq!(world.messages_of(&case).len(), 2);
    assert_eq!(world.channel_of(&case).topic, channel_topic(&expected));
}

#[tokio::test]
async fn watchers_changed_invites_the_added_and_names_the_removed() {
    let world = World::start().await;
    world.add_user("U0JANE", "Jane", "jane@example.com");
    world.add_user("U0NEW", "Nia", "nia@example.com");
    let case = world.seed_case(&["jane@example.com"]).await;
    let handler = world.handler(world.config());
    created(&handler, &case).await;

    deliver_ok(
        &handler,
        &[&IntegrationEvent::watchers_changed(
            case.id.clone(),
            2,
            now(),
            vec![Watcher::new("nia@example.com")],
            vec![Watcher::new("jane@example.com")],
        )],
    )
    .await;

    let invites = world.slack.calls_to("conversations.invite");
    assert_eq!(invites.last().unwrap().params["users"], "U0NEW");
    let channel = world.channel_of(&case);
    assert!(channel.members.contains(&"U0NEW".to_owned()));
    assert!(
        channel.members.contains(&"U0JANE".to_owned()),
        "removal is off by default"
    );
    let last = content(world.messages_of(&case).last().unwrap());
    assert!(
        last.contains("nia@example.com") && last.contains("jane@example.com"),
        "{last}"
    );
    assert_eq!(world.slack.call_count("conversations.kick"), 0);

    // With removal on, the departed watcher is removed from the channel.
    let mut config = world.config();
    config.remove_departed_watchers = true;
    let removing = world.handler(config);
    deliver_ok(
        &removing,
        &[&IntegrationEvent::watchers_changed(
            case.id.clone(),
            3,
            now(),
            vec![],
            vec![Watcher::new("jane@example.com")],
        )],
    )
    .await;
    let kicks = world.slack.calls_to("conversations.kick");
    assert_eq!(kicks.len(), 1);
    assert_eq!(kicks[0].params["user"], "U0JANE");
}

// ---- CommentAdded ----------------------------------------------------------------------------

#[tokio::test]
async fn comments_show_their_author_and_time_and_long_ones_keep_their_order() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let handler = world.handler(world.config());
    created(&handler, &case).await;

    let long: String = (1..=600)
        .map(|n| format!("line {n:04} of the responder's notes\n"))
        .collect();
    assert!(long.len() > 3_000 * 3 && long.len() <= 40_000);
    let events = [
        IntegrationEvent::comment_added(
            case.id.clone(),
            2,
            now(),
            comment("000001", "Rotated the key.", "AWS Responder"),
        ),
        IntegrationEvent::comment_added(
            case.id.clone(),
            3,
            now(),
            comment("000002", "Checked CloudTrail.", "123456789012"),
        ),
        IntegrationEvent::comment_added(
            case.id.clone(),
            4,
            now(),
            comment(
                "000003",
                &long,
                "arn:aws:sts::123456789012:assumed-role/Admin/jane",
            ),
        ),
    ];
    deliver_ok(&handler, &events.iter().collect::<Vec<_>>()).await;

    let messages = world.messages_of(&case);
    let texts: Vec<String> = messages.iter().skip(1).map(content).collect();
    assert!(texts[0].contains("AWS Responder") && texts[0].contains("Rotated the key."));
    assert!(texts[1].contains("AWS account 123456789012"));
    assert!(
        texts[2].contains("jane via Admin (123456789012)"),
        "{}",
        texts[2]
    );
    assert!(
        texts[0].contains("1714564000") || texts[0].contains("2024"),
        "comment time shown: {}",
        texts[0]
    );

    // The long comment: every line, in order, across sections (and messages if need be).
    let long_text: String = texts[2..].concat();
    let mut last = 0;
    for n in 1..=600 {
        let at = long_text
            .find(&format!("line {n:04} "))
            .unwrap_or_else(|| panic!("line {n} missing"));
        assert!(at >= last, "line {n} out of order");
        last = at;
    }
}

#[tokio::test]
async fn a_redelivered_comment_is_posted_once_even_after_a_crash_before_the_cursor_moved() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let handler = world.handler(world.config());
    created(&handler, &case).await;
    let event = IntegrationEvent::comment_added(
        case.id.clone(),
        2,
        now(),
        comment("000001", "Posted once.", "AWS Responder"),
    );
    deliver_ok(&handler, &[&event]).await;
    deliver_ok(&handler, &[&event]).await;
    assert_eq!(world.messages_of(&case).len(), 2);

    // As if the worker died after posting, before moving the cursor.
    world
        .aws
        .dynamodb()
        .update_item()
        .table_name(&world.table_name)
        .key("pk", AttributeValue::S(format!("CASE#{}", case.id)))
        .key("sk", AttributeValue::S("CHANNEL".into()))
        .update_expression("SET applied_sequence = :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    deliver_ok(&handler, &[&event]).await;
    assert_eq!(world.messages_of(&case).len(), 2, "not posted again");
    assert_eq!(world.applied_sequence(&case.id).await, 2);
}

/// As if the worker died after applying `sequence`, before moving the cursor past it.
async fn rewind_cursor(world: &World, case: &Case, to: u64) {
    world
        .aws
        .dynamodb()
        .update_item()
        .table_name(&world.table_name)
        .key("pk", AttributeValue::S(format!("CASE#{}", case.id)))
        .key("sk", AttributeValue::S("CHANNEL".into()))
        .update_expression("SET applied_sequence = :to")
        .expression_attribute_values(":to", AttributeValue::N(to.to_string()))
        .send()
        .await
        .unwrap();
}

fn edited(id: &str, body: &str) -> Comment {
    Comment {
        updated_at: Some(Utc.timestamp_opt(1_714_564_500, 0).single().unwrap()),
        updated_by: Some("arn:aws:iam::111122223333:user/jane".into()),
        ..comment(id, body, "AWS Responder")
    }
}

#[tokio::test]
async fn an_edited_comment_rewrites_the_message_that_carried_it_and_redelivery_posts_nothing() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let handler = world.handler(world.config());
    created(&handler, &case).await;
    let added = IntegrationEvent::comment_added(
        case.id.clone(),
        2,
        now(),
        comment("000001", "Blocked the sender.", "AWS Responder"),
    );
    deliver_ok(&handler, &[&added]).await;
    let before = world.messages_of(&case);
    assert_eq!(before.len(), 2);
    let carried = before[1].ts.clone();

    let edit = IntegrationEvent::comment_edited(
        case.id.clone(),
        3,
        now(),
        edited("000001", "Blocked the sender and its whole domain."),
    );
    deliver_ok(&handler, &[&edit]).await;
    let after = world.messages_of(&case);
    assert_eq!(after.len(), 2, "rewritten, not posted again");
    assert_eq!(after[1].ts, carried);
    assert!(after[1].edited_ts.is_some(), "chat.update was used");
    let shown = content(&after[1]);
    assert!(shown.contains("its whole domain"), "{shown}");
    assert!(
        shown.contains("(edited in SIR 2024-05-01 11:55 UTC by jane (111122223333))"),
        "{shown}"
    );
    let updates = world.slack.calls_to("chat.update");
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].params["ts"], carried.as_str());
    assert!(updates[0].ok);
    assert_eq!(world.applied_sequence(&case.id).await, 3);

    // Delivered again: as a late copy (acknowledged), and after a crash before the cursor moved
    // (applied again: the same content, still one message).
    deliver_ok(&handler, &[&edit]).await;
    rewind_cursor(&world, &case, 2).await;
    deliver_ok(&handler, &[&edit]).await;
    let again = world.messages_of(&case);
    assert_eq!(again.len(), 2, "never posted twice");
    assert_eq!(content(&again[1]), shown, "the same content");
    assert_eq!(world.applied_sequence(&case.id).await, 3);
    assert_eq!(world.slack.call_count("chat.postMessage"), 2);
}

#[tokio::test]
async fn an_edit_of_a_comment_whose_message_is_unknown_or_gone_is_posted_once_as_an_edit() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let handler = world.handler(world.config());
    created(&handler, &case).await;

    // Posted by a version that did not record its message: nothing to rewrite.
    let unknown = IntegrationEvent::comment_edited(
        case.id.clone(),
        2,
        now(),
        edited("000007", "Key rotated, sessions revoked."),
    );
    deliver_ok(&handler, &[&unknown]).await;
    rewind_cursor(&world, &case, 1).await;
    deliver_ok(&handler, &[&unknown]).await;
    let messages = world.messages_of(&case);
    assert_eq!(messages.len(), 2, "one new message, once");
    let shown = content(&messages[1]);
    assert!(
        shown.starts_with("Edit of an earlier comment: AWS Responder commented (edited in SIR"),
        "{shown}"
    );
    assert!(shown.contains("sessions revoked"), "{shown}");
    assert_eq!(world.slack.call_count("chat.update"), 0);

    // Recorded, but the message is gone: Slack answers message_not_found; a new message.
    let added = IntegrationEvent::comment_added(
        case.id.clone(),
        3,
        now(),
        comment("000008", "Isolated the instance.", "AWS Responder"),
    );
    deliver_ok(&handler, &[&added]).await;
    let channel_id = world.channel_of(&case).id;
    world
        .table()
        .record_comment_messages(
            &case.id,
            "000008",
            &sirslack_store::CommentMessages {
                channel_id: channel_id.clone(),
                ts: vec!["1000000000.000001".into()],
            },
        )
        .await
        .unwrap();
    let gone = IntegrationEvent::comment_edited(
        case.id.clone(),
        4,
        now(),
        edited("000008", "Isolated and snapshotted the instance."),
    );
    deliver_ok(&handler, &[&gone]).await;
    let updates = world.slack.calls_to("chat.update");
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].error.as_deref(), Some("message_not_found"));
    let messages = world.messages_of(&case);
    assert_eq!(messages.len(), 4);
    let reposted = messages[3].clone();
    assert!(
        content(&reposted).contains("snapshotted"),
        "{}",
        content(&reposted)
    );

    // The new message now carries the comment: the next edit rewrites it in place.
    let later = IntegrationEvent::comment_edited(
        case.id.clone(),
        5,
        now(),
        edited(
            "000008",
            "Isolated, snapshotted and terminated the instance.",
        ),
    );
    deliver_ok(&handler, &[&later]).await;
    let messages = world.messages_of(&case);
    assert_eq!(messages.len(), 4, "rewritten, not posted");
    assert_eq!(messages[3].ts, reposted.ts);
    assert!(content(&messages[3]).contains("terminated"));
}

#[tokio::test]
async fn forty_comments_in_a_burst_arrive_in_order_under_the_rate_limit() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let handler = world.handler(world.config());
    created(&handler, &case).await;
    world.slack.clear_calls();
    world.slack.set_channel_rate_limit(true);
    // A few more 429s than pacing alone would meet.
    world
        .slack
        .inject_rate_limits(Some("chat.postMessage"), 3, 1);

    let events: Vec<IntegrationEvent> = (1..=40)
        .map(|n| {
            IntegrationEvent::comment_added(
                case.id.clone(),
                n + 1,
                now(),
                comment(
                    &format!("{n:06}"),
                    &format!("burst comment {n:02}"),
                    "AWS Responder",
                ),
            )
        })
        .collect();
    // SQS batches of 10, each shuffled.
    for batch in events.chunks(10) {
        let mut batch: Vec<&IntegrationEvent> = batch.iter().collect();
        batch.reverse();
        batch.swap(0, 4);
        deliver_ok(&handler, &batch).await;
    }

    let bodies: Vec<String> = world
        .messages_of(&case)
        .iter()
        .skip(1)
        .map(content)
        .collect();
    assert_eq!(bodies.len(), 40, "nothing lost, nothing doubled");
    for (index, body) in bodies.iter().enumerate() {
        assert!(
            body.contains(&format!("burst comment {:02}", index + 1)),
            "message {index} is {body}"
        );
    }
    let calls = world.slack.calls_to("chat.postMessage");
    let limited: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, call)| call.status == 429)
        .map(|(index, _)| index)
        .collect();
    assert!(!limited.is_empty(), "the stand-in answered 429");
    for index in limited {
        let next = calls.get(index + 1).expect("a retry after the 429");
        assert!(
            next.received_at.duration_since(calls[index].received_at) >= Duration::from_secs(1),
            "Retry-After honoured"
        );
    }
    assert_eq!(world.applied_sequence(&case.id).await, 41);
}

// ---- AttachmentAdded -------------------------------------------------------------------------

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse().ok())
        .unwrap()
}

fn attachment_event(
    case: &Case,
    sequence: u64,
    attachment_id: &str,
    name: &str,
) -> IntegrationEvent {
    IntegrationEvent::attachment_added(
        case.id.clone(),
        sequence,
        now(),
        Attachment {
            id: attachment_id.into(),
            file_name: name.into(),
            status: sirslack_domain::AttachmentStatus::Verified,
            creator: "AWS Responder".into(),
            created_at: now(),
        },
    )
}

#[tokio::test]
async fn a_90_mib_attachment_is_streamed_to_slack() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let handler = world.handler(world.config());
    created(&handler, &case).await;

    let size = 90 * MIB;
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let data = Bytes::from(data);
    let attachment_id = world
        .sir
        .add_attachment(
            case.id.as_str(),
            "disk-image.bin",
            data.clone(),
            AttachmentStatus::Verified,
        )
        .unwrap();
    let event = attachment_event(&case, 2, &attachment_id, "disk-image.bin");

    // Peak RSS of this test process during the transfer. The Slack stand-in keeps what it
    // receives (90 MiB) in this same process; a client that held the file would add 90 more.
    let reset = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/clear_refs")
        .and_then(|mut file| file.write_all(b"5"));
    let rss_before = rss_kib("VmRSS:");
    deliver_ok(&handler, &[&event]).await;
    let peak = rss_kib("VmHWM:");
    let growth_mib = peak.saturating_sub(rss_before) as f64 / 1024.0;
    println!(
        "90 MiB attachment: RSS before {:.1} MiB, peak {:.1} MiB, growth {growth_mib:.1} MiB (the stand-in's received copy is 90 MiB of it; peak reset: {})",
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0,
        reset.is_ok()
    );
    if reset.is_ok() {
        assert!(
            growth_mib < 150.0,
            "the transfer grew the process by {growth_mib:.1} MiB: the file was buffered"
        );
    }

    let files = world.slack.files();
    assert_eq!(files.len(), 1);
    let file = &files[0];
    assert_eq!(file.declared_length, Some(size as u64));
    assert!(file.completed);
    assert_eq!(file.bytes.as_ref().map(Bytes::len), Some(size));
    assert!(file.bytes.as_ref() == Some(&data), "bytes arrive intact");
    let channel = world.channel_of(&case);
    assert_eq!(file.channels, std::slice::from_ref(&channel.id));
    let shared = world
        .slack
        .messages(&channel.id)
        .into_iter()
        .find(|message| message.files.contains(&file.id))
        .expect("file shared in the channel");
    assert!(content(&shared).contains("disk-image.bin"));
    assert_eq!(world.slack.call_count("files.getUploadURLExternal"), 1);

    // A redelivery does not upload again.
    deliver_ok(&handler, &[&event]).await;
    assert_eq!(world.slack.files().len(), 1);
}

#[tokio::test]
async fn an_attachment_over_the_cap_is_announced_not_uploaded() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let mut config = world.config();
    config.max_attachment_bytes = 1024;
    let handler = world.handler(config);
    created(&handler, &case).await;
    let attachment_id = world
        .sir
        .add_attachment(
            case.id.as_str(),
            "memory.dmp",
            Bytes::from(vec![7_u8; 4096]),
            AttachmentStatus::Verified,
        )
        .unwrap();

    deliver_ok(
        &handler,
        &[&attachment_event(&case, 2, &attachment_id, "memory.dmp")],
    )
    .await;

    assert_eq!(world.slack.call_count("files.getUploadURLExternal"), 0);
    assert!(world.slack.files().is_empty());
    let last = content(world.messages_of(&case).last().unwrap());
    assert!(
        last.contains("memory.dmp") && last.contains("4.0 KiB"),
        "{last}"
    );
}

// ---- CaseClosed and re-opening -----------------------------------------------------------------

#[tokio::test]
async fn closing_archives_and_reopening_replaces_the_archived_channel() {
    let world = World::start().await;
    world.add_user("U0JANE", "Jane Doe", "jane@example.com");
    let case = world.seed_case(&["jane@example.com"]).await;
    let handler = world.handler(world.config());
    created(&handler, &case).await;

    let mut closed = case.clone();
    closed.status = CaseStatus::Closed;
    closed.closure_code = Some(ClosureCode::FalsePositive);
    closed.closed_at = Some(now());
    deliver_ok(
        &handler,
        &[&IntegrationEvent::case_closed(&closed, 2, now())],
    )
    .await;

    let old = world.channel_of(&case);
    assert!(old.is_archived);
    assert!(old.topic.contains("Closed"), "{}", old.topic);
    let last = content(world.slack.messages(&old.id).last().unwrap());
    assert!(
        last.contains("closed") && last.contains("False Positive"),
        "{last}"
    );
    let old_messages = world.slack.messages(&old.id).len();

    let reopen = IntegrationEvent::case_updated(
        case.id.clone(),
        3,
        now(),
        vec![FieldChange::Status {
            old: CaseStatus::Closed,
            new: CaseStatus::DetectionAndAnalysis,
        }],
    );
    deliver_ok(&handler, &[&reopen]).await;

    // Slack does not let a bot unarchive: the case gets a new channel instead.
    assert_eq!(world.slack.call_count("conversations.unarchive"), 0);
    let old_now = world.slack.channel(&old.id).unwrap();
    assert!(old_now.is_archived, "the archived channel stays archived");
    assert_eq!(world.slack.messages(&old.id).len(), old_messages);
    let new_name = ChannelNamer::default().candidate(&case.id, 1).unwrap();
    let channel = world.slack.channel_by_name(&new_name).expect("new channel");
    assert!(!channel.is_archived);
    assert!(
        channel.members.contains(&"U0JANE".to_owned()),
        "watchers invited"
    );
    assert!(
        channel.topic.contains("Detection and Analysis"),
        "{}",
        channel.topic
    );
    let messages: Vec<String> = world
        .slack
        .messages(&channel.id)
        .iter()
        .map(content)
        .collect();
    assert_eq!(
        messages.len(),
        2,
        "the case card, then the update: {messages:?}"
    );
    assert!(
        messages[0].contains("Suspicious console login"),
        "{}",
        messages[0]
    );
    assert!(messages[1].contains("Status"), "{}", messages[1]);
    let table = world.table();
    let link = table.channel_link(&case.id).await.unwrap().unwrap();
    assert_eq!(link.channel_id.as_deref(), Some(channel.id.as_str()));
    assert_eq!(link.channel_name.as_deref(), Some(new_name.as_str()));
    assert_eq!(
        table.case_for_channel(&channel.id).await.unwrap(),
        Some(case.id.clone())
    );
    let expected = format!(
        "[Slack Update] Slack channel replaced: #{} is archived; the case continues in #{new_name}",
        old.name
    );
    let comments = world.sir.comments(case.id.as_str());
    assert_eq!(
        comments.iter().filter(|c| c.body == expected).count(),
        1,
        "{comments:?}"
    );

    // The same event again replaces nothing more.
    deliver_ok(&handler, &[&reopen]).await;
    assert_eq!(world.slack.channels().len(), 2);
    assert_eq!(world.slack.messages(&channel.id).len(), 2);
}

#[tokio::test]
async fn closing_keeps_the_channel_when_archiving_is_off() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let mut config = world.config();
    config.archive_on_close = false;
    let handler = world.handler(config);
    created(&handler, &case).await;
    let mut closed = case.clone();
    closed.status = CaseStatus::Closed;
    deliver_ok(
        &handler,
        &[&IntegrationEvent::case_closed(&closed, 2, now())],
    )
    .await;
    let channel = world.channel_of(&case);
    assert!(!channel.is_archived);
    assert!(channel.topic.contains("Closed"));
    assert_eq!(world.slack.call_count("conversations.archive"), 0);
}

// ---- failures --------------------------------------------------------------------------------

#[tokio::test]
async fn a_permanent_slack_error_is_reported_once_and_acknowledged() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let handler = world.handler(world.config());
    created(&handler, &case).await;
    let channel = world.channel_of(&case);
    world.slack.set_channel_archived(&channel.id, true).unwrap();
    // Closed in SIR: its archived channel is not replaced (an open case's would be), so the
    // refusal is permanent.
    world
        .sir
        .set_case_status(case.id.as_str(), sir_standin::CaseStatus::Closed)
        .unwrap();
    world.slack.clear_calls();

    let events: Vec<IntegrationEvent> = (2..=3)
        .map(|sequence| {
            IntegrationEvent::comment_added(
                case.id.clone(),
                sequence,
                now(),
                comment(
                    &format!("{sequence:06}"),
                    "lost to an archived channel",
                    "AWS Responder",
                ),
            )
        })
        .collect();
    deliver_ok(&handler, &events.iter().collect::<Vec<_>>()).await;

    let posts = world.slack.calls_to("chat.postMessage");
    assert_eq!(posts.len(), 2, "one attempt per event, no retry loop");
    assert!(
        posts
            .iter()
            .all(|call| call.error.as_deref() == Some("is_archived"))
    );
    assert_eq!(world.applied_sequence(&case.id).await, 3, "acknowledged");
    let notes: Vec<_> = world
        .sir
        .comments(case.id.as_str())
        .into_iter()
        .filter(|c| c.body.starts_with("[Slack Update] Could not update Slack"))
        .collect();
    assert_eq!(notes.len(), 1, "one note per case and error: {notes:?}");
    assert!(notes[0].body.contains("is_archived"));
}

#[tokio::test]
async fn unreadable_records_are_reported_and_the_rest_applied() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let handler = world.handler(world.config());
    let good = IntegrationEvent::case_created(case.clone(), 1, now());
    let future_version = {
        let mut envelope = envelope(&good);
        envelope["detail"]["version"] = json!(99);
        envelope.to_string()
    };
    let records = vec![
        record_with_body("not-json", "this is not json", 1),
        record_with_body("no-detail", r#"{"source":"sirslack.poller"}"#, 1),
        record_with_body("future", &future_version, 1),
        record(&good, 1),
    ];
    let failed = failed_ids(&handler.handle(sqs_event(records), deadline()).await);
    let mut failed: Vec<&str> = failed.iter().map(String::as_str).collect();
    failed.sort_unstable();
    assert_eq!(failed, ["future", "no-detail", "not-json"]);
    assert_eq!(
        world.messages_of(&case).len(),
        1,
        "the readable event was applied"
    );
}

#[tokio::test]
async fn a_rotated_token_is_used_without_a_new_handler() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let mut config = world.config();
    config.secrets_cache_ttl = Duration::ZERO;
    let handler = world.handler(config);
    created(&handler, &case).await;

    let rotated = "xoxb-rotated-token-2";
    world.slack.set_valid_tokens([rotated]);
    put_parameter(
        &world.aws.ssm(),
        &world.token_parameter,
        rotated,
        ParameterKind::Secure,
        OnExisting::Overwrite,
    )
    .await
    .unwrap();
    deliver_ok(
        &handler,
        &[&IntegrationEvent::comment_added(
            case.id.clone(),
            2,
            now(),
            comment("000001", "after rotation", "AWS Responder"),
        )],
    )
    .await;
    let post = world.slack.calls_to("chat.postMessage").pop().unwrap();
    assert_eq!(post.token.as_deref(), Some(rotated));
    assert!(content(world.messages_of(&case).last().unwrap()).contains("after rotation"));
}

/// Collects log output for one test (the test runs on one thread).
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn invalid_auth_makes_no_retry_storm_and_ends_in_the_dead_letter_queue() {
    let logs = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);

    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let wrong_token = "xoxb-1-2-notavalidtoken";
    put_parameter(
        &world.aws.ssm(),
        &world.token_parameter,
        wrong_token,
        ParameterKind::Secure,
        OnExisting::Overwrite,
    )
    .await
    .unwrap();
    let handler = world.handler(world.config());

    // The delivery path: bus -> rule -> queue (redrive after 3 receives) -> this handler.
    let sqs = world.aws.sqs();
    let dlq = create_queue(
        &sqs,
        &unique_name("slack-client-dlq"),
        QueueKind::Standard,
        None,
    )
    .await
    .unwrap();
    const MAX_RECEIVES: u32 = 3;
    let queue = create_queue(
        &sqs,
        &unique_name("slack-client"),
        QueueKind::Standard,
        Some(&DeadLetterTarget {
            queue_arn: dlq.arn.clone(),
            max_receive_count: MAX_RECEIVES,
        }),
    )
    .await
    .unwrap();
    let bus = unique_name("integration");
    create_bus(&world.aws.eventbridge(), &bus).await.unwrap();
    create_rule_to_queue(
        &world.aws.eventbridge(),
        &bus,
        &unique_name("to-slack-client"),
        &json!({ "source": [EVENT_SOURCE] }),
        &queue.arn,
        None,
    )
    .await
    .unwrap();
    let event = IntegrationEvent::case_created(case.clone(), 1, now());
    let detail: Value = serde_json::from_str(&event.to_detail_json().unwrap()).unwrap();
    put_event(
        &world.aws.eventbridge(),
        &bus,
        EVENT_SOURCE,
        event.detail_type(),
        &detail,
    )
    .await
    .unwrap();

    // A Lambda event source mapping, reduced: receive, invoke, delete what succeeded.
    let mut deliveries = 0;
    let deadline_at = Instant::now() + Duration::from_secs(90);
    let dead = loop {
        assert!(
            Instant::now() < deadline_at,
            "the message never reached the DLQ"
        );
        let in_dlq = sqs
            .receive_message()
            .queue_url(&dlq.url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if let Some(message) = in_dlq.into_iter().next() {
            break message;
        }
        let received = sqs
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(1)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if received.is_empty() {
            continue;
        }
        let records: Vec<Value> = received
            .iter()
            .map(|message| {
                let attributes: HashMap<String, String> = message
                    .attributes()
                    .map(|attributes| {
                        attributes
                            .iter()
                            .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                json!({
                    "messageId": message.message_id(),
                    "receiptHandle": message.receipt_handle(),
                    "body": message.body(),
                    "attributes": attributes,
                    "messageAttributes": {},
                    "md5OfBody": message.md5_of_body(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": queue.arn,
                    "awsRegion": REGION,
                })
            })
            .collect();
        deliveries += received.len();
        let response = handler.handle(sqs_event(records), deadline()).await;
        let failed = failed_ids(&response);
        for message in &received {
            if !failed
                .iter()
                .any(|id| Some(id.as_str()) == message.message_id())
            {
                delete_message(&sqs, &queue.url, message.receipt_handle().unwrap())
                    .await
                    .unwrap();
            }
        }
    };

    let dead_body: Value = serde_json::from_str(dead.body().unwrap()).unwrap();
    assert_eq!(dead_body["detail"]["idempotencyKey"], event.idempotency_key);
    assert_eq!(deliveries, MAX_RECEIVES as usize);
    // One Slack call per delivery: no retry loop inside an invocation.
    let creates = world.slack.calls_to("conversations.create");
    assert_eq!(creates.len(), deliveries);
    assert!(
        creates
            .iter()
            .all(|call| call.error.as_deref() == Some("invalid_auth"))
    );
    assert_eq!(world.slack.calls().len(), deliveries, "no other Slack call");
    assert!(world.slack.channels().is_empty());

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("ROTATE THE TOKEN"), "{logged}");
    assert!(logged.contains(&world.token_parameter));
    assert!(!logged.contains(wrong_token), "the token is never logged");
    let notes = world
        .sir
        .comments(case.id.as_str())
        .into_iter()
        .filter(|c| c.body.contains("invalid_auth"))
        .count();
    assert_eq!(notes, 1, "SIR is told once");
}

#[tokio::test]
async fn a_channel_a_person_archived_while_the_case_is_open_is_replaced_and_the_update_lands() {
    let world = World::start().await;
    world.add_user("U0JANE", "Jane Doe", "jane@example.com");
    let case = world.seed_case(&["jane@example.com"]).await;
    let handler = world.handler(world.config());
    created(&handler, &case).await;
    let old = world.channel_of(&case);
    world.slack.set_channel_archived(&old.id, true).unwrap();
    let old_messages = world.slack.messages(&old.id).len();

    let update = IntegrationEvent::comment_added(
        case.id.clone(),
        2,
        now(),
        comment("000001", "finding after the archive", "AWS Responder"),
    );
    deliver_ok(&handler, &[&update]).await;

    assert_eq!(world.slack.call_count("conversations.unarchive"), 0);
    assert_eq!(world.slack.messages(&old.id).len(), old_messages);
    let new_name = ChannelNamer::default().candidate(&case.id, 1).unwrap();
    let channel = world
        .slack
        .channel_by_name(&new_name)
        .expect("a new channel");
    assert!(!channel.is_archived);
    assert!(
        channel.members.contains(&"U0JANE".to_owned()),
        "watchers invited"
    );
    let messages: Vec<String> = world
        .slack
        .messages(&channel.id)
        .iter()
        .map(content)
        .collect();
    assert_eq!(
        messages.len(),
        2,
        "the case card, then the comment: {messages:?}"
    );
    assert!(
        messages[1].contains("finding after the archive"),
        "{}",
        messages[1]
    );
    let link = world.table().channel_link(&case.id).await.unwrap().unwrap();
    assert_eq!(link.channel_id.as_deref(), Some(channel.id.as_str()));
    assert!(
        world
            .sir
            .comments(case.id.as_str())
            .iter()
            .any(|c| c.body.contains("replaced") && c.body.contains(&new_name)),
        "SIR is told where the case continues"
    );
}

#[tokio::test]
async fn an_archived_channel_of_a_case_closed_in_sir_is_not_replaced() {
    let world = World::start().await;
    let case = world.seed_case(&[]).await;
    let handler = world.handler(world.config());
    created(&handler, &case).await;
    let old = world.channel_of(&case);
    world.slack.set_channel_archived(&old.id, true).unwrap();
    world
        .sir
        .set_case_status(case.id.as_str(), sir_standin::CaseStatus::Closed)
        .unwrap();

    let update = IntegrationEvent::comment_added(
        case.id.clone(),
        2,
        now(),
        comment("000001", "a late comment", "AWS Responder"),
    );
    deliver_ok(&handler, &[&update]).await;

    assert_eq!(world.slack.channels().len(), 1, "no new channel");
    let link = world.table().channel_link(&case.id).await.unwrap().unwrap();
    assert_eq!(link.channel_id.as_deref(), Some(old.id.as_str()));
}
