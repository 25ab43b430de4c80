//! SQS records to integration events.
//!
//! Each SQS body is the EventBridge event envelope the rule delivered (`detail` holds the
//! [`IntegrationEvent`]). Parsing is lenient about the envelope (extra or missing fields, a
//! `detail` given as a JSON string, a bare event without an envelope) and strict about the
//! event itself, whose version is checked before anything else. A record that cannot be read
//! is reported as a batch item failure, so after the queue's `maxReceiveCount` it rests in the
//! dead-letter queue for someone to look at; it never panics the function.

use aws_lambda_events::event::sqs::SqsMessage;
use serde_json::Value;
use sirslack_domain::IntegrationEvent;
use sirslack_domain::events::EventError;

/// The SQS system attribute counting deliveries.
const RECEIVE_COUNT_ATTRIBUTE: &str = "ApproximateReceiveCount";

/// One readable record.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedEvent {
    /// The SQS message ID: what a batch item failure names.
    pub message_id: String,
    /// How often SQS has delivered it, this time included (1 when SQS did not say).
    pub receive_count: u32,
    /// The event.
    pub event: IntegrationEvent,
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The record has no body.
    #[error("the SQS record has no body")]
    NoBody,
    /// The body is not JSON.
    #[error("the SQS body is not JSON: {0}")]
    NotJson(serde_json::Error),
    /// The body is JSON but neither an EventBridge envelope with a `detail` nor an event.
    #[error("the SQS body has no EventBridge `detail`")]
    NoDetail,
    /// The `detail` is not an integration event this build reads.
    #[error("the event cannot be read: {0}")]
    Event(#[from] EventError),
}

/// Reads one SQS record (the caller reports an unreadable one by its message ID).
pub fn parse_record(record: &SqsMessage) -> Result<QueuedEvent, RecordError> {
    let body = record.body.as_deref().ok_or(RecordError::NoBody)?;
    let event = parse_body(body)?;
    Ok(QueuedEvent {
        message_id: record.message_id.clone().unwrap_or_default(),
        receive_count: receive_count(record),
        event,
    })
}

/// How often SQS has delivered `record` (1 when the attribute is missing or unreadable).
pub fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get(RECEIVE_COUNT_ATTRIBUTE)
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// Reads an SQS body: an EventBridge envelope, or a bare event.
pub fn parse_body(body: &str) -> Result<IntegrationEvent, RecordError> {
    let value: Value = serde_json::from_str(body).map_err(RecordError::NotJson)?;
    let detail = match value.get("detail") {
        // Input transformers can deliver the detail as a JSON string.
        Some(Value::String(text)) => text.clone(),
        Some(detail @ Value::Object(_)) => detail.to_string(),
        Some(_) => return Err(RecordError::NoDetail),
        None if value.get("payload").is_some() && value.get("version").is_some() => body.to_owned(),
        None => return Err(RecordError::NoDetail),
    };
    Ok(IntegrationEvent::from_detail_json(&detail)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DETAIL: &str = r#"{"version":1,"caseId":"1234567890","sequence":3,
        "idempotencyKey":"comment:1234567890:000123","occurredAt":"2024-05-01T12:00:00Z",
        "payload":{"type":"CommentAdded","comment":{"id":"000123","body":"hi",
        "creator":"AWS Responder","createdAt":"2024-05-01T11:59:00Z","updatedAt":null}}}"#;

    fn envelope(detail: &str) -> String {
        format!(
            r#"{{"version":"0","id":"e1","detail-type":"CommentAdded","source":"sirslack.poller",
            "time":"2024-05-01T12:00:00Z","region":"us-east-1","resources":[],"detail":{detail}}}"#
        )
    }

    #[test]
    fn reads_an_eventbridge_envelope() {
        let event = parse_body(&envelope(DETAIL)).unwrap();
        assert_eq!(event.sequence, 3);
        assert_eq!(event.case_id.as_str(), "1234567890");
        assert_eq!(event.detail_type(), "CommentAdded");
    }

    #[test]
    fn reads_a_string_detail_and_a_bare_event() {
        let quoted = serde_json::to_string(DETAIL).unwrap();
        assert_eq!(parse_body(&envelope(&quoted)).unwrap().sequence, 3);
        assert_eq!(parse_body(DETAIL).unwrap().sequence, 3);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(matches!(
            parse_body("not json"),
            Err(RecordError::NotJson(_))
        ));
        assert!(matches!(parse_body("{}"), Err(RecordError::NoDetail)));
        assert!(matches!(
            parse_body(r#"{"detail":42}"#),
            Err(RecordError::NoDetail)
        ));
        let future = envelope(r#"{"version":2,"payload":{"type":"New"}}"#);
        assert!(matches!(
            parse_body(&future),
            Err(RecordError::Event(EventError::UnsupportedVersion { .. }))
        ));
        let unknown = envelope(&DETAIL.replace("CommentAdded", "Nonsense"));
        assert!(matches!(parse_body(&unknown), Err(RecordError::Event(_))));
    }

    #[test]
    fn receive_count_defaults_to_one() {
        let mut record = SqsMessage::default();
        assert_eq!(receive_count(&record), 1);
        record
            .attributes
            .insert(RECEIVE_COUNT_ATTRIBUTE.to_owned(), "4".to_owned());
        assert_eq!(receive_count(&record), 4);
        record
            .attributes
            .insert(RECEIVE_COUNT_ATTRIBUTE.to_owned(), "x".to_owned());
        assert_eq!(receive_count(&record), 1);
    }
}
