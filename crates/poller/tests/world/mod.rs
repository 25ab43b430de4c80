//! The local world the poller runs against in tests and in the benchmark: the SIR stand-in
//! (real `aws-sdk-securityir` client), and moto for DynamoDB, EventBridge and SQS, with a rule
//! on the integration bus that delivers every poller event to a queue.

#![allow(dead_code)] // Each user of this module needs a different part of it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_local::LocalAws;
use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextMut;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use serde_json::{Value, json};
use sir_standin::SirStandin;
use sirslack_bus::faults::RejectEntries;
use sirslack_bus::{EventPublisher, RetryPolicy};
use sirslack_domain::IntegrationEvent;
use sirslack_domain::events::EVENT_SOURCE;
use sirslack_poller::{Poller, PollerConfig, SirReader};
use sirslack_store::Table;
use sirslack_test_world::LocalWorld;

/// How long a test waits for an event that should arrive.
pub const RECEIVE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct World {
    pub sir: Arc<SirStandin>,
    pub aws: LocalAws,
    pub table_name: String,
    pub bus_name: String,
    pub queue_url: String,
    /// Makes EventBridge refuse chosen entries.
    pub rejecter: RejectEntries,
    /// Makes the snapshot confirmation fail, as if the process died right after publishing.
    pub crash: CrashBeforeConfirm,
}

impl World {
    pub async fn new() -> Self {
        let local = LocalWorld::builder("poller")
            .table()
            .sir()
            .bus(json!({"source": [EVENT_SOURCE]}))
            .start()
            .await;
        Self {
            sir: local.sir().clone(),
            aws: local.aws().clone(),
            table_name: local.table_name().to_owned(),
            bus_name: local.bus().name.clone(),
            queue_url: local.bus().queue.url.clone(),
            rejecter: RejectEntries::default(),
            crash: CrashBeforeConfirm::default(),
        }
    }

    pub fn config(&self) -> PollerConfig {
        PollerConfig::new(&self.table_name, &self.bus_name)
    }

    /// A poller as the Lambda builds it, its clients pointed at the local world.
    pub fn poller(&self) -> Poller {
        self.poller_with(self.config())
    }

    pub fn poller_with(&self, config: PollerConfig) -> Poller {
        let sir_sdk = aws_local::sdk_config(&self.sir.endpoint_url());
        let sir = SirReader::new(aws_sdk_securityir::Client::from_conf(
            sirslack_poller::sir::sdk_config_for_poller(&sir_sdk),
        ));
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(self.aws.sdk_config())
            .interceptor(self.crash.clone())
            .build();
        let table = Table::new(
            aws_sdk_dynamodb::Client::from_conf(dynamodb),
            &config.table_name,
        );
        let eventbridge = aws_sdk_eventbridge::config::Builder::from(self.aws.sdk_config())
            .interceptor(self.rejecter.clone())
            .build();
        let publisher = EventPublisher::new(
            aws_sdk_eventbridge::Client::from_conf(eventbridge),
            &config.event_bus_name,
        )
        .with_retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        });
        Poller::new(sir, table, publisher, config)
    }

    /// A table handle without fault injection, to look at what the poller stored.
    pub fn table(&self) -> Table {
        Table::new(self.aws.dynamodb(), &self.table_name)
    }

    /// Receives (and deletes) at least `count` events, waiting up to [`RECEIVE_TIMEOUT`];
    /// sorted by case and sequence.
    pub async fn take_events(&self, count: usize) -> Vec<IntegrationEvent> {
        let sqs = self.aws.sqs();
        let messages = aws_local::receive_count(&sqs, &self.queue_url, count, RECEIVE_TIMEOUT)
            .await
            .expect("receive");
        let mut events = Vec::new();
        for message in messages {
            aws_local::delete_message(&sqs, &self.queue_url, &message.receipt_handle)
                .await
                .expect("delete");
            let envelope: Value = serde_json::from_str(&message.body).expect("JSON envelope");
            assert_eq!(envelope["source"], EVENT_SOURCE);
            let event = IntegrationEvent::from_detail_json(&envelope["detail"].to_string())
                .expect("an integration event");
            assert_eq!(envelope["detail-type"], event.detail_type());
            events.push(event);
        }
        events.sort_by(|a, b| (&a.case_id, a.sequence).cmp(&(&b.case_id, b.sequence)));
        events
    }

    /// Events waiting in the queue. Exact right after a run: moto delivers inside PutEvents.
    pub async fn waiting_events(&self) -> u64 {
        aws_local::visible_message_count(&self.aws.sqs(), &self.queue_url)
            .await
            .expect("queue attributes")
    }
}

/// The event AWS delivers for a scheduled rule.
pub fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-10-08T16:55:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/sirslack-poller-reconcile"],
        "detail": {}
    })
}

/// A native SIR event on the default bus.
pub fn sir_event(detail_type: &str, case_id: &str) -> Value {
    json!({
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": detail_type,
        "source": "aws.security-ir",
        "account": "123456789012",
        "time": "2026-10-08T16:53:06Z",
        "region": "us-east-1",
        "resources": [format!("arn:aws:security-ir:us-east-1:123456789012:case/{case_id}")],
        "detail": {"caseId": case_id, "updatedBy": "AWS Responder"}
    })
}

/// A DynamoDB interceptor that, while armed, fails the write that confirms published events
/// (the snapshot put conditioned on `pending_version`): the run then ends exactly as if the
/// process had died between publishing and advancing the snapshot.
#[derive(Debug, Clone, Default)]
pub struct CrashBeforeConfirm {
    armed: Arc<Mutex<bool>>,
}

impl CrashBeforeConfirm {
    pub fn arm(&self, armed: bool) {
        *self.armed.lock().unwrap() = armed;
    }
}

impl Intercept for CrashBeforeConfirm {
    fn name(&self) -> &'static str {
        "CrashBeforeConfirm"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let confirms = context
            .input()
            .downcast_ref::<PutItemInput>()
            .and_then(|input| input.condition_expression())
            .is_some_and(|condition| condition.contains("pending_version = :pending"));
        if confirms && *self.armed.lock().unwrap() {
            return Err("injected crash before the snapshot was confirmed".into());
        }
        Ok(())
    }
}
