//! What started an invocation: the EventBridge event the Lambda received.
//!
//! Two kinds of event reach the poller:
//! - SIR's native events on the default bus (`source: aws.security-ir`, detail-types such as
//!   `Case Updated` or `Case Comment Added`, the case in `detail.caseId`): sync that one case,
//!   whatever the detail-type says (the rule matches on the source, and the exact detail-type
//!   strings are not relied on); events that name no case (membership events) are ignored;
//! - the schedule (`source: aws.events`, detail-type `Scheduled Event`): reconcile every case.
//!
//! Parsing is lenient (a `serde_json::Value`, not a strict struct): AWS adds envelope fields
//! over time, and an event the poller does not understand is logged and acknowledged rather
//! than failed, because failing it would only make Lambda retry it.

use serde_json::Value;
use sirslack_domain::CaseId;

/// The `source` of SIR's native events.
pub const SIR_EVENT_SOURCE: &str = "aws.security-ir";
/// The `source` of EventBridge Scheduler / scheduled rule events.
pub const SCHEDULE_EVENT_SOURCE: &str = "aws.events";
/// The `detail-type` of scheduled rule events.
pub const SCHEDULED_EVENT_DETAIL_TYPE: &str = "Scheduled Event";

/// What an invocation does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// List every case and sync those that changed.
    Reconcile,
    /// Sync one case now, because SIR said it changed.
    Case {
        /// The case.
        case_id: CaseId,
        /// SIR's detail-type, e.g. `Case Comment Added` (for the logs).
        detail_type: String,
    },
    /// Nothing to do (a membership event, or an event for someone else).
    Ignore {
        /// Why, for the logs.
        reason: String,
    },
}

impl Trigger {
    /// Reads the EventBridge event a Lambda invocation carries.
    pub fn from_event(event: &Value) -> Self {
        let source = event.get("source").and_then(Value::as_str).unwrap_or("");
        let detail_type = event
            .get("detail-type")
            .and_then(Value::as_str)
            .unwrap_or("");
        match source {
            SCHEDULE_EVENT_SOURCE if detail_type == SCHEDULED_EVENT_DETAIL_TYPE => Self::Reconcile,
            SIR_EVENT_SOURCE => match case_id_of(event) {
                Some(case_id) => Self::Case {
                    case_id,
                    detail_type: detail_type.to_owned(),
                },
                None => Self::Ignore {
                    reason: format!("SIR event `{detail_type}` names no case"),
                },
            },
            _ => Self::Ignore {
                reason: format!("unexpected event: source `{source}`, detail-type `{detail_type}`"),
            },
        }
    }
}

/// The case of a native SIR event: `detail.caseId` (a string, or a number), else a case ARN in
/// `resources`.
fn case_id_of(event: &Value) -> Option<CaseId> {
    let detail_id = event
        .get("detail")
        .and_then(|detail| detail.get("caseId"))
        .and_then(|id| match id {
            Value::String(id) => CaseId::new(id).ok(),
            Value::Number(id) => CaseId::new(&id.to_string()).ok(),
            _ => None,
        });
    detail_id.or_else(|| {
        event
            .get("resources")
            .and_then(Value::as_array)?
            .iter()
            .filter_map(Value::as_str)
            .find_map(|arn| CaseId::from_arn(arn).ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scheduled_event_reconciles() {
        let event = json!({
            "version": "0",
            "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2026-10-08T16:53:06Z",
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/sirslack-reconcile"],
            "detail": {}
        });
        assert_eq!(Trigger::from_event(&event), Trigger::Reconcile);
    }

    #[test]
    fn native_event_names_its_case() {
        let event = json!({
            "version": "0",
            "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": "Case Comment Added",
            "source": "aws.security-ir",
            "account": "123456789012",
            "time": "2026-10-08T16:53:06Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {"caseId": "1234567890", "updatedBy": "AWS Responder"}
        });
        assert_eq!(
            Trigger::from_event(&event),
            Trigger::Case {
                case_id: CaseId::new("1234567890").unwrap(),
                detail_type: "Case Comment Added".into()
            }
        );
    }

    #[test]
    fn native_event_case_may_come_from_resources_or_a_number() {
        let from_arn = json!({
            "detail-type": "Case Updated",
            "source": "aws.security-ir",
            "resources": ["arn:aws:security-ir:us-east-1:123456789012:case/98765432101"],
            "detail": {}
        });
        assert!(matches!(
            Trigger::from_event(&from_arn),
            Trigger::Case { case_id, .. } if case_id.as_str() == "98765432101"
        ));
        let numeric = json!({
            "detail-type": "Case Closed",
            "source": "aws.security-ir",
            "detail": {"caseId": 1234567890}
        });
        assert!(matches!(
            Trigger::from_event(&numeric),
            Trigger::Case { .. }
        ));
    }

    #[test]
    fn other_events_are_ignored() {
        for event in [
            json!({"source": "aws.security-ir", "detail-type": "Membership Updated", "detail": {"membershipId": "m-1"}}),
            json!({"source": "aws.security-ir", "detail-type": "Case Updated", "detail": {"caseId": "12"}}),
            json!({"source": "aws.ec2", "detail-type": "Scheduled Event", "detail": {}}),
            json!({"source": "aws.events", "detail-type": "Something", "detail": {}}),
            json!("not an object"),
            json!({}),
        ] {
            assert!(
                matches!(Trigger::from_event(&event), Trigger::Ignore { .. }),
                "{event}"
            );
        }
    }
}
