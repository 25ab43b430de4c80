//! SIR's native events: what the service announces on the account's default EventBridge bus
//! when a case changes (`source: aws.security-ir`, the case in `detail.caseId`, who changed it
//! in `detail.updatedBy`; see SIR-API.md, "Native events").
//!
//! The stand-in has no EventBridge of its own. A subscriber ([`crate::SirStandin::subscribe_native_events`])
//! receives one [`NativeEvent`] per change and decides where it goes (the local run puts it on
//! moto's default bus). Changes made through the API and by the seeding helpers are announced
//! alike, because SIR announces a change whoever made it, the integration's own writes included.
//!
//! Attachments are not announced: SIR documents no attachment event, so a consumer must catch
//! them by reconciling, as against the real service.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// The `source` of every native SIR event.
pub const NATIVE_EVENT_SOURCE: &str = "aws.security-ir";

/// The kinds of change SIR announces (its documented detail-types).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NativeEventType {
    /// `Case Created`
    CaseCreated,
    /// `Case Updated`: any change to the case record other than closing it.
    CaseUpdated,
    /// `Case Comment Added`
    CaseCommentAdded,
    /// `Case Comment Updated`
    CaseCommentUpdated,
    /// `Case Closed`
    CaseClosed,
}

impl NativeEventType {
    /// The event's `detail-type`.
    pub fn detail_type(self) -> &'static str {
        match self {
            NativeEventType::CaseCreated => "Case Created",
            NativeEventType::CaseUpdated => "Case Updated",
            NativeEventType::CaseCommentAdded => "Case Comment Added",
            NativeEventType::CaseCommentUpdated => "Case Comment Updated",
            NativeEventType::CaseClosed => "Case Closed",
        }
    }
}

/// One announced change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeEvent {
    /// The EventBridge event ID (a UUID).
    pub id: String,
    /// What happened.
    pub event_type: NativeEventType,
    /// The case.
    pub case_id: String,
    /// The case ARN (the event's only `resources` entry).
    pub case_arn: String,
    /// The principal credited with the change (`detail.updatedBy`).
    pub updated_by: String,
    /// When the change happened.
    pub time: DateTime<Utc>,
    /// The account whose default bus receives the event.
    pub account_id: String,
    /// The region of the case.
    pub region: String,
}

impl NativeEvent {
    /// The event's `detail-type`, e.g. `Case Comment Added`.
    pub fn detail_type(&self) -> &'static str {
        self.event_type.detail_type()
    }

    /// The event's `detail`: `{"caseId": ..., "updatedBy": ...}`.
    pub fn detail(&self) -> Value {
        json!({ "caseId": self.case_id, "updatedBy": self.updated_by })
    }

    /// The whole event as EventBridge delivers it to a rule's target.
    pub fn to_eventbridge_json(&self) -> Value {
        json!({
            "version": "0",
            "id": self.id,
            "detail-type": self.detail_type(),
            "source": NATIVE_EVENT_SOURCE,
            "account": self.account_id,
            "time": self.time.to_rfc3339_opts(SecondsFormat::Secs, true),
            "region": self.region,
            "resources": [self.case_arn],
            "detail": self.detail(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_names_the_case_in_detail_and_resources() {
        let event = NativeEvent {
            id: "7bf73129-1428-4cd3-a780-95db273d1602".to_owned(),
            event_type: NativeEventType::CaseCommentAdded,
            case_id: "1000000001".to_owned(),
            case_arn: "arn:aws:security-ir:us-east-1:111122223333:case/1000000001".to_owned(),
            updated_by: "AWS Responder".to_owned(),
            time: DateTime::from_timestamp(1_791_478_386, 0).unwrap(),
            account_id: "111122223333".to_owned(),
            region: "us-east-1".to_owned(),
        };
        assert_eq!(
            event.to_eventbridge_json(),
            json!({
                "version": "0",
                "id": "7bf73129-1428-4cd3-a780-95db273d1602",
                "detail-type": "Case Comment Added",
                "source": "aws.security-ir",
                "account": "111122223333",
                "time": "2026-10-08T16:53:06Z",
                "region": "us-east-1",
                "resources": ["arn:aws:security-ir:us-east-1:111122223333:case/1000000001"],
                "detail": {"caseId": "1000000001", "updatedBy": "AWS Responder"},
            })
        );
    }
}
