//! The publisher against moto: events go through a real bus and rule into an SQS queue, and
//! per-entry failures are made by the `RejectEntries` interceptor (the server really refuses
//! those entries).

use std::collections::BTreeSet;
use std::time::Duration;

use aws_local::LocalAws;
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use sirslack_bus::faults::{EntryMatch, RejectEntries};
use sirslack_bus::{EventPublisher, Publish, PublishError, RetryPolicy};
use sirslack_domain::events::EVENT_SOURCE;
use sirslack_domain::{CaseId, Comment, CommentId, IntegrationEvent};
use sirslack_test_world::{LocalBus, LocalWorld};

const RECEIVE_TIMEOUT: Duration = Duration::from_secs(10);

struct World {
    aws: LocalAws,
    bus: String,
    /// The bus, and the queue its rule delivers to.
    delivery: LocalBus,
    rejecter: RejectEntries,
}

impl World {
    async fn new() -> Self {
        let local = LocalWorld::builder("bus")
            .bus(json!({"source": [EVENT_SOURCE]}))
            .start()
            .await;
        Self {
            aws: local.aws().clone(),
            bus: local.bus().name.clone(),
            delivery: local.bus().clone(),
            rejecter: RejectEntries::default(),
        }
    }

    fn publisher(&self) -> EventPublisher {
        let config = aws_sdk_eventbridge::config::Builder::from(self.aws.sdk_config())
            .interceptor(self.rejecter.clone())
            .build();
        EventPublisher::new(aws_sdk_eventbridge::Client::from_conf(config), &self.bus).with_retry(
            RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(50),
            },
        )
    }

    /// The envelopes delivered so far (waits for `count`, or the timeout).
    async fn delivered(&self, count: usize) -> Vec<Value> {
        self.delivery
            .receive(count, RECEIVE_TIMEOUT)
            .await
            .into_iter()
            .map(|message| serde_json::from_str(&message.body).unwrap())
            .collect()
    }

    async fn visible(&self) -> u64 {
        self.delivery.visible().await
    }
}

fn comment_events(count: u64, body_len: usize) -> Vec<IntegrationEvent> {
    let case_id = CaseId::new("1234567890").unwrap();
    (1..=count)
        .map(|n| {
            let comment = Comment {
                id: CommentId::new(&format!("{n:06}")).unwrap(),
                body: "x".repeat(body_len),
                creator: "AWS Responder".into(),
                created_at: Utc.timestamp_opt(1_760_000_000, 0).single().unwrap(),
                updated_at: None,
                updated_by: None,
            };
            IntegrationEvent::comment_added(case_id.clone(), n, Utc::now(), comment)
        })
        .collect()
}

fn keys(envelopes: &[Value]) -> BTreeSet<String> {
    envelopes
        .iter()
        .map(|e| e["detail"]["idempotencyKey"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn events_are_published_in_batches_of_ten_as_typed_entries() {
    let world = World::new().await;
    let events = comment_events(23, 10);
    world.publisher().publish(&events).await.unwrap();

    assert_eq!(world.rejecter.entries_per_call(), [10, 10, 3]);
    let delivered = world.delivered(23).await;
    assert_eq!(delivered.len(), 23);
    let expected: BTreeSet<String> = events.iter().map(|e| e.idempotency_key.clone()).collect();
    assert_eq!(keys(&delivered), expected);
    let first = &delivered[0];
    assert_eq!(first["source"], EVENT_SOURCE);
    assert_eq!(first["detail-type"], "CommentAdded");
    let detail = IntegrationEvent::from_detail_json(&first["detail"].to_string()).unwrap();
    assert!(events.contains(&detail));
}

#[tokio::test]
async fn large_events_split_requests_by_size() {
    let world = World::new().await;
    // Three events of ~100 KB: two fit under the 256 KB request limit, the third does not.
    let events = comment_events(3, 100_000);
    world.publisher().publish(&events).await.unwrap();
    assert_eq!(world.rejecter.entries_per_call(), [2, 1]);
    assert_eq!(world.delivered(3).await.len(), 3);
}

#[tokio::test]
async fn failed_entries_alone_are_sent_again() {
    let world = World::new().await;
    world.rejecter.reject(
        EntryMatch::detail_type("CommentAdded").containing("\"000004\""),
        "InternalFailure",
        1,
    );
    world.rejecter.reject(
        EntryMatch::detail_type("CommentAdded").containing("\"000007\""),
        "ThrottlingException",
        1,
    );
    let events = comment_events(10, 10);
    world.publisher().publish(&events).await.unwrap();

    // One call with all ten, one resend with just the two failed ones.
    assert_eq!(world.rejecter.entries_per_call(), [10, 2]);
    assert_eq!(world.rejecter.rejected(), 2);
    let delivered = world.delivered(10).await;
    assert_eq!(delivered.len(), 10, "each event delivered exactly once");
    assert_eq!(keys(&delivered).len(), 10);
}

#[tokio::test]
async fn entries_still_failing_after_the_last_attempt_fail_the_publish() {
    let world = World::new().await;
    world.rejecter.reject(
        EntryMatch::detail_type("CommentAdded").containing("\"000002\""),
        "InternalFailure",
        u32::MAX,
    );
    let events = comment_events(3, 10);
    let error = world.publisher().publish(&events).await.unwrap_err();
    let PublishError::Rejected { rejected, attempts } = &error else {
        panic!("{error}")
    };
    assert_eq!(*attempts, 3);
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].idempotency_key, "comment:1234567890:000002");
    assert_eq!(rejected[0].error_code, "InternalFailure");
    assert_eq!(world.rejecter.entries_per_call(), [3, 1, 1]);
    // The others went through (at-least-once: the caller will publish them again later).
    assert_eq!(world.delivered(2).await.len(), 2);
}

#[tokio::test]
async fn a_permanent_rejection_is_not_retried() {
    let world = World::new().await;
    world.rejecter.reject(
        EntryMatch::detail_type("CommentAdded"),
        "InvalidArgument",
        1,
    );
    let error = world
        .publisher()
        .publish(&comment_events(1, 10))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, PublishError::Rejected { attempts: 1, rejected } if rejected[0].error_code == "InvalidArgument"),
        "{error}"
    );
    assert_eq!(world.rejecter.entries_per_call(), [1]);
}

#[tokio::test]
async fn an_event_over_the_entry_limit_is_refused_before_anything_is_sent() {
    let world = World::new().await;
    let mut events = comment_events(2, 10);
    events.extend(comment_events(1, 300_000));
    let error = world.publisher().publish(&events).await.unwrap_err();
    assert!(matches!(error, PublishError::Encode { .. }), "{error}");
    assert!(world.rejecter.entries_per_call().is_empty());
    assert_eq!(world.visible().await, 0);
}
