//! Failed events come back after a short, growing backoff, not the queue's visibility timeout:
//! the handler changes the visibility of every message it reports as failed. Against moto (real
//! SQS queues, receipt handles and receive counts), the Slack stand-in and the SIR stand-in.
//!
//! The queues here are created with a long visibility timeout (15 minutes), so a message that
//! comes back within seconds can only have done so because the handler shortened it.

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_local::{LocalAws, OnExisting, ParameterKind, create_table, put_parameter, unique_name};
use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use serde_json::{Value, json};
use sir_standin::{NewCase, SirStandin};
use sirslack_domain::events::EVENT_SOURCE;
use sirslack_domain::{Case, CaseId, Comment, CommentId, IntegrationEvent};
use sirslack_slack_api::{BotTokenSource, Deadline, ParameterCache, RetryPolicy, SlackApi};
use sirslack_slack_client::sir::Sir;
use sirslack_slack_client::{Config, Handler, RedeliverySchedule, Services};
use sirslack_store::Table;
use slack_standin::{SlackStandin, SlackStandinConfig};

const REGION: &str = "us-east-1";
/// The queues' own visibility timeout: what a failed message would wait without the handler.
const LONG_VISIBILITY_SECONDS: u32 = 900;
/// Room for moto, the machine and the long polls on top of a message's expected visibility.
const MARGIN: Duration = Duration::from_secs(20);

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
        let table_name = unique_name("slack-client-redelivery");
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

    /// The configuration with a short redelivery schedule.
    fn config(&self, first_delay: Duration) -> Config {
        let mut config = Config::new(&self.table_name, &self.token_parameter, REGION);
        config.slack_api_url = Some(self.slack.api_url());
        config.case_wait = Duration::from_secs(2);
        config.redelivery = RedeliverySchedule {
            first_delay,
            max_delay: first_delay * 4,
        };
        config
    }

    fn sir_client(&self) -> aws_sdk_securityir::Client {
        let config = aws_sdk_securityir::config::Builder::from(self.aws.sdk_config())
            .endpoint_url(self.sir.endpoint_url())
            .build();
        aws_sdk_securityir::Client::from_conf(config)
    }

    /// A handler with `retry` for Slack, shortening visibilities through `sqs`.
    fn handler(&self, config: Config, retry: RetryPolicy, sqs: aws_sdk_sqs::Client) -> Handler {
        let dynamodb = self.aws.dynamodb();
        let parameters = ParameterCache::new(self.aws.ssm(), config.secrets_cache_ttl);
        let slack = SlackApi::builder()
            .api_url(&self.slack.api_url())
            .retry_policy(retry)
            .build()
            .unwrap();
        let services = Services {
            table: Table::new(dynamodb, &self.table_name),
            sir: Sir::new(self.sir_client()),
            slack,
            token: BotTokenSource::ssm(parameters.clone(), config.bot_token_parameter.clone()),
            parameters: Some(parameters),
        };
        Handler::new(config, services).unwrap().with_sqs(sqs)
    }

    async fn seed_case(&self) -> Case {
        let case_id = self
            .sir
            .seed_case(NewCase {
                title: "Suspicious console login".into(),
                description: "Console sign-in from an unexpected IP.".into(),
                ..NewCase::default()
            })
            .unwrap();
        let case_id = CaseId::new(&case_id).unwrap();
        let out = self
            .sir_client()
            .get_case()
            .case_id(case_id.as_str())
            .send()
            .await
            .unwrap();
        sirslack_mapper::sir::case_from_get_case(&case_id, &out)
    }
}

// ---- SQS, as the event source mapping uses it -------------------------------------------------

struct TestQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
    arn: String,
}

impl TestQueue {
    /// A standard queue whose visibility timeout is `visibility_seconds`.
    async fn create(world: &World, visibility_seconds: u32) -> TestQueue {
        let sqs = world.aws.sqs();
        let url = sqs
            .create_queue()
            .queue_name(unique_name("slack-client-redelivery"))
            .attributes(
                QueueAttributeName::VisibilityTimeout,
                visibility_seconds.to_string(),
            )
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()
            .remove(&QueueAttributeName::QueueArn)
            .unwrap();
        TestQueue { sqs, url, arn }
    }

    /// Sends `event` as the integration rule would (the EventBridge envelope as body); returns
    /// the message ID.
    async fn send(&self, event: &IntegrationEvent) -> String {
        let envelope = json!({
            "version": "0",
            "id": unique_name("event"),
            "detail-type": event.detail_type(),
            "source": EVENT_SOURCE,
            "account": "123456789012",
            "time": "2024-05-01T12:00:00Z",
            "region": REGION,
            "resources": [],
            "detail": serde_json::from_str::<Value>(&event.to_detail_json().unwrap()).unwrap(),
        });
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(envelope.to_string())
            .send()
            .await
            .unwrap()
            .message_id
            .unwrap()
    }

    /// One receive (long-polling up to `wait`), with the system attributes Lambda passes on.
    async fn receive(&self, wait: Duration) -> Vec<Message> {
        self.sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .wait_time_seconds(i32::try_from(wait.as_secs()).unwrap())
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default()
    }

    /// Receives until every message in `ids` has been received, or `within` passes; returns the
    /// messages received (only those in `ids`).
    async fn receive_ids(&self, ids: &[&str], within: Duration) -> Vec<Message> {
        let deadline = Instant::now() + within;
        let mut received: Vec<Message> = Vec::new();
        while Instant::now() < deadline
            && !ids
                .iter()
                .all(|id| received.iter().any(|m| m.message_id() == Some(*id)))
        {
            let wait = deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_secs(2))
                .max(Duration::from_secs(1));
            for message in self.receive(wait).await {
                if ids.iter().any(|id| message.message_id() == Some(*id)) {
                    received.push(message);
                }
            }
        }
        received
    }

    /// The SQS event Lambda would deliver for `messages`.
    fn lambda_event(&self, messages: &[Message]) -> SqsEvent {
        let records: Vec<Value> = messages
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
                    "eventSourceARN": self.arn,
                    "awsRegion": REGION,
                })
            })
            .collect();
        serde_json::from_value(json!({ "Records": records })).unwrap()
    }
}

fn receive_count(message: &Message) -> u32 {
    message
        .attributes()
        .and_then(|attributes| attributes.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|count| count.parse().ok())
        .unwrap()
}

fn failed_ids(response: &SqsBatchResponse) -> Vec<String> {
    let mut ids: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.clone())
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    ids.sort();
    ids
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(300))
}

fn comment_event(case: &Case, sequence: u64, id: &str) -> IntegrationEvent {
    let comment = Comment {
        id: CommentId::new(id).unwrap(),
        body: format!("comment {id}"),
        creator: "AWS Responder".into(),
        created_at: chrono::Utc::now(),
        updated_at: None,
        updated_by: None,
    };
    IntegrationEvent::comment_added(case.id.clone(), sequence, chrono::Utc::now(), comment)
}

// ---- logs ------------------------------------------------------------------------------------

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

impl LogBuffer {
    /// Captures this thread's logs (JSON lines) until the guard is dropped.
    fn capture() -> (LogBuffer, tracing::subscriber::DefaultGuard) {
        let logs = LogBuffer::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(logs.clone())
            .with_max_level(tracing::Level::INFO)
            .finish();
        (logs.clone(), tracing::subscriber::set_default(subscriber))
    }

    /// Every log line whose message is `message`, as JSON.
    fn lines(&self, message: &str) -> Vec<Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["fields"]["message"] == message)
            .collect()
    }
}

const GIVEN_BACK: &str = "events given back to the queue";
const NOT_SHORTENED: &str = "cannot shorten the visibility of a failed message; it comes back after the queue's visibility timeout";

// ---- tests -------------------------------------------------------------------------------------

#[tokio::test]
async fn an_event_failed_by_a_slack_outage_comes_back_after_its_backoff_not_the_queue_visibility() {
    let (logs, _logging) = LogBuffer::capture();
    let world = World::start().await;
    let case = world.seed_case().await;
    let queue = TestQueue::create(&world, LONG_VISIBILITY_SECONDS).await;
    let first_delay = Duration::from_secs(3);
    let handler = world.handler(
        world.config(first_delay),
        RetryPolicy::quick(),
        world.aws.sqs(),
    );
    let message_id = queue
        .send(&IntegrationEvent::case_created(
            case.clone(),
            1,
            chrono::Utc::now(),
        ))
        .await;

    // A 5xx burst longer than the in-invocation retries (4 attempts).
    world
        .slack
        .inject_server_errors(Some("conversations.create"), 503, 4);
    let first = queue.receive_ids(&[&message_id], MARGIN).await;
    assert_eq!(first.len(), 1, "the message was sent");
    assert_eq!(receive_count(&first[0]), 1);
    let response = handler.handle(queue.lambda_event(&first), deadline()).await;
    assert_eq!(failed_ids(&response), sorted(&[&message_id]));

    // Not made visible at once: it waits its backoff (3 s, and up to a quarter more)...
    assert!(
        queue.receive(Duration::ZERO).await.is_empty(),
        "the message must stay invisible for its backoff"
    );
    // ...and then comes back, long before the queue's 15 minutes.
    let again = queue
        .receive_ids(&[&message_id], first_delay + MARGIN)
        .await;
    assert_eq!(
        again.len(),
        1,
        "the message did not come back within its backoff"
    );
    assert_eq!(receive_count(&again[0]), 2);

    let given_back = logs.lines(GIVEN_BACK);
    assert_eq!(given_back.len(), 1, "{given_back:?}");
    assert_eq!(given_back[0]["fields"]["case_id"], case.id.as_str());
    assert_eq!(given_back[0]["fields"]["receive_count"], 1);
    let visibility = given_back[0]["fields"]["visibility_seconds"]
        .as_u64()
        .unwrap();
    assert!((3..=4).contains(&visibility), "{visibility}");
    assert!(logs.lines(NOT_SHORTENED).is_empty());

    // Slack is back: the redelivery creates the channel.
    let response = handler.handle(queue.lambda_event(&again), deadline()).await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!(world.slack.channels().len(), 1);
    assert_eq!(world.slack.calls_to("conversations.create").len(), 5);
}

#[tokio::test]
async fn a_case_s_events_come_back_together_paced_by_the_oldest() {
    let (logs, _logging) = LogBuffer::capture();
    let world = World::start().await;
    let case = world.seed_case().await;
    let queue = TestQueue::create(&world, LONG_VISIBILITY_SECONDS).await;
    let first_delay = Duration::from_secs(2);
    let handler = world.handler(
        world.config(first_delay),
        RetryPolicy::quick(),
        world.aws.sqs(),
    );
    let created = queue
        .send(&IntegrationEvent::case_created(
            case.clone(),
            1,
            chrono::Utc::now(),
        ))
        .await;
    let commented = queue.send(&comment_event(&case, 2, "000001")).await;
    let both = [created.as_str(), commented.as_str()];

    // Everything Slack is asked fails for a while.
    world.slack.inject_server_errors(None, 503, 100);
    let first = queue.receive_ids(&both, MARGIN).await;
    assert_eq!(first.len(), 2);
    let response = handler.handle(queue.lambda_event(&first), deadline()).await;
    assert_eq!(failed_ids(&response), sorted(&both));

    let given_back = logs.lines(GIVEN_BACK);
    assert_eq!(
        given_back.len(),
        1,
        "one group for the case: {given_back:?}"
    );
    assert_eq!(given_back[0]["fields"]["events"], 2);
    let visibility = given_back[0]["fields"]["visibility_seconds"]
        .as_u64()
        .unwrap();
    assert!((2..=3).contains(&visibility), "{visibility}");

    world.slack.clear_faults();
    let again = queue.receive_ids(&both, first_delay + MARGIN).await;
    assert_eq!(again.len(), 2, "both events came back");
    let response = handler.handle(queue.lambda_event(&again), deadline()).await;
    assert!(failed_ids(&response).is_empty());
    let channel = world.slack.channels().pop().unwrap();
    let messages = world.slack.messages(&channel.id);
    assert!(
        messages
            .last()
            .and_then(|message| message.text.clone())
            .unwrap_or_default()
            .contains("comment 000001"),
        "{messages:?}"
    );
}

#[tokio::test]
async fn a_rate_limit_longer_than_the_backoff_sets_the_visibility() {
    let (logs, _logging) = LogBuffer::capture();
    let world = World::start().await;
    let case = world.seed_case().await;
    let queue = TestQueue::create(&world, LONG_VISIBILITY_SECONDS).await;
    let first_delay = Duration::from_secs(1);
    // A Retry-After over one second is not waited out inside the invocation.
    let retry = RetryPolicy {
        max_retry_after: Duration::from_secs(1),
        ..RetryPolicy::quick()
    };
    let handler = world.handler(world.config(first_delay), retry, world.aws.sqs());
    let message_id = queue
        .send(&IntegrationEvent::case_created(
            case.clone(),
            1,
            chrono::Utc::now(),
        ))
        .await;

    world
        .slack
        .inject_rate_limits(Some("conversations.create"), 1, 6);
    let first = queue.receive_ids(&[&message_id], MARGIN).await;
    assert_eq!(first.len(), 1);
    let response = handler.handle(queue.lambda_event(&first), deadline()).await;
    assert_eq!(failed_ids(&response), sorted(&[&message_id]));

    let given_back = logs.lines(GIVEN_BACK);
    assert_eq!(given_back.len(), 1, "{given_back:?}");
    assert_eq!(given_back[0]["fields"]["retry_after_seconds"], 6.0);
    assert_eq!(
        given_back[0]["fields"]["visibility_seconds"], 6,
        "Retry-After (6 s) wins over the 1 s backoff"
    );
    assert!(queue.receive(Duration::ZERO).await.is_empty());
    let again = queue
        .receive_ids(&[&message_id], Duration::from_secs(6) + MARGIN)
        .await;
    assert_eq!(again.len(), 1, "the message came back after Retry-After");
    let response = handler.handle(queue.lambda_event(&again), deadline()).await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!(world.slack.channels().len(), 1);
}

#[tokio::test]
async fn the_backoff_never_lengthens_the_queue_s_own_visibility() {
    let (logs, _logging) = LogBuffer::capture();
    let world = World::start().await;
    let case = world.seed_case().await;
    // A queue that redelivers sooner than the schedule would (the local runner's are like this).
    let queue = TestQueue::create(&world, 3).await;
    let handler = world.handler(
        world.config(Duration::from_secs(600)),
        RetryPolicy::quick(),
        world.aws.sqs(),
    );
    let message_id = queue
        .send(&IntegrationEvent::case_created(
            case.clone(),
            1,
            chrono::Utc::now(),
        ))
        .await;

    world
        .slack
        .inject_server_errors(Some("conversations.create"), 503, 4);
    let first = queue.receive_ids(&[&message_id], MARGIN).await;
    assert_eq!(first.len(), 1);
    let response = handler.handle(queue.lambda_event(&first), deadline()).await;
    assert_eq!(failed_ids(&response), sorted(&[&message_id]));
    let given_back = logs.lines(GIVEN_BACK);
    assert!(
        given_back[0]["fields"]["visibility_seconds"]
            .as_u64()
            .unwrap()
            >= 600,
        "the schedule asked for 10 minutes: {given_back:?}"
    );

    let again = queue.receive_ids(&[&message_id], MARGIN).await;
    assert_eq!(
        again.len(),
        1,
        "cut to the queue's 3 s, the message came back within the test's patience"
    );
    assert_eq!(receive_count(&again[0]), 2);
    assert!(logs.lines(NOT_SHORTENED).is_empty());
}

#[tokio::test]
async fn a_refused_visibility_change_is_logged_and_loses_nothing() {
    let (logs, _logging) = LogBuffer::capture();
    let world = World::start().await;
    let case_a = world.seed_case().await;
    let case_b = world.seed_case().await;
    // Short enough for this test to see the message whose change SQS refused come back.
    let queue = TestQueue::create(&world, 4).await;
    let handler = world.handler(
        world.config(Duration::from_secs(1)),
        RetryPolicy::quick(),
        world.aws.sqs(),
    );
    let a = queue
        .send(&IntegrationEvent::case_created(
            case_a.clone(),
            1,
            chrono::Utc::now(),
        ))
        .await;
    let b = queue
        .send(&IntegrationEvent::case_created(
            case_b.clone(),
            1,
            chrono::Utc::now(),
        ))
        .await;

    world.slack.inject_server_errors(None, 503, 100);
    let received = queue.receive_ids(&[&a, &b], MARGIN).await;
    assert_eq!(received.len(), 2);
    // B's receipt handle is not one SQS issued: SQS refuses to change its visibility.
    let mut event = queue.lambda_event(&received);
    for record in &mut event.records {
        if record.message_id.as_deref() == Some(b.as_str()) {
            record.receipt_handle = Some("not-a-receipt-handle".into());
        }
    }
    let response = handler.handle(event, deadline()).await;
    assert_eq!(
        failed_ids(&response),
        sorted(&[&a, &b]),
        "both are still reported as failed"
    );

    let refused = logs.lines(NOT_SHORTENED);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["level"], "WARN");
    assert_eq!(refused[0]["fields"]["message_id"], b.as_str());
    assert_eq!(refused[0]["fields"]["queue_arn"], queue.arn.as_str());
    assert!(
        refused[0]["fields"]["error"]
            .as_str()
            .unwrap()
            .contains("ReceiptHandleIsInvalid"),
        "{refused:?}"
    );

    // Nothing is lost: A after its backoff, B after the queue's own visibility timeout.
    world.slack.clear_faults();
    let again = queue.receive_ids(&[&a, &b], MARGIN).await;
    assert_eq!(again.len(), 2, "both messages came back");
    let response = handler.handle(queue.lambda_event(&again), deadline()).await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!(world.slack.channels().len(), 2);
}

#[tokio::test]
async fn an_unreachable_sqs_is_logged_and_loses_nothing() {
    let (logs, _logging) = LogBuffer::capture();
    let world = World::start().await;
    let case = world.seed_case().await;
    let queue = TestQueue::create(&world, 3).await;
    // A loopback port nothing listens on, and no SDK retries, so the failure is quick.
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let broken = aws_sdk_sqs::config::Builder::from(&aws_local::sdk_config(&format!(
        "http://127.0.0.1:{closed_port}"
    )))
    .retry_config(RetryConfig::disabled())
    .build();
    // A first delay far beyond this test's patience: the message can only come back through
    // the queue's own (3 s) visibility timeout.
    let handler = world.handler(
        world.config(Duration::from_secs(600)),
        RetryPolicy::quick(),
        aws_sdk_sqs::Client::from_conf(broken),
    );
    let message_id = queue
        .send(&IntegrationEvent::case_created(
            case.clone(),
            1,
            chrono::Utc::now(),
        ))
        .await;

    world
        .slack
        .inject_server_errors(Some("conversations.create"), 503, 4);
    let first = queue.receive_ids(&[&message_id], MARGIN).await;
    assert_eq!(first.len(), 1);
    let response = handler.handle(queue.lambda_event(&first), deadline()).await;
    assert_eq!(failed_ids(&response), sorted(&[&message_id]));

    let warnings = logs.lines(NOT_SHORTENED);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["fields"]["message_id"], message_id.as_str());
    assert!(
        warnings[0]["fields"]["error"]
            .as_str()
            .unwrap()
            .contains("GetQueueUrl"),
        "{warnings:?}"
    );

    let again = queue.receive_ids(&[&message_id], MARGIN).await;
    assert_eq!(again.len(), 1, "the message came back all the same");
    assert_eq!(receive_count(&again[0]), 2);
}
