//! Handing work to the events handler: attaching a forwarded message's files.
//!
//! The events handler owns the copy of Slack files to SIR (streaming, size limits, name
//! sanitising, the bot token only for Slack's file hosts). Once the command handler has sent a
//! message to a case with "Attach the message's files" ticked, it hands the events handler a
//! lazy job ([`ForwardFilesJob`], listener [`LAZY_FORWARD_FILES`]) the same way the events
//! handler hands itself lazy work: an EventBridge event on the integration bus
//! (`EVENT_BUS_NAME`), `source` [`LAZY_EVENT_SOURCE`], `detail-type`
//! [`LAZY_EVENT_DETAIL_TYPE`], detail the lazy envelope, which the bus's rule delivers to the
//! events handler. The job names only the submission; the events handler checks it against the
//! table before it copies anything.

use chrono::Utc;
pub use sirslack_bus::lazy_work::{LAZY_EVENT_DETAIL_TYPE, LAZY_EVENT_SOURCE};
use sirslack_slack_router::{ForwardFilesJob, LAZY_FORWARD_FILES, LazyCall, LazyInvocation};

/// Why the lazy work could not be handed off (never carries the payload).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lazy work not handed off: {0}")]
pub struct LazyWorkError(pub String);

/// Puts the events handler's lazy work on the integration bus.
#[derive(Debug, Clone)]
pub struct LazyWorkBus {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

impl LazyWorkBus {
    /// A sender putting events on `bus_name` with `client`.
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }

    /// Hands the events handler the job of attaching a forwarded message's files.
    pub async fn attach_forwarded_files(&self, job: &ForwardFilesJob) -> Result<(), LazyWorkError> {
        let detail = envelope(job)?;
        sirslack_bus::lazy_work::put_lazy_work(&self.client, &self.bus_name, detail)
            .await
            .map_err(LazyWorkError)
    }
}

/// The lazy envelope of `job`, as the events handler's router reads it.
fn envelope(job: &ForwardFilesJob) -> Result<String, LazyWorkError> {
    let payload = serde_json::to_value(job).map_err(|error| LazyWorkError(error.to_string()))?;
    let invocation = LazyInvocation {
        call: LazyCall {
            name: LAZY_FORWARD_FILES.to_owned(),
            payload,
            handed_off_at: Utc::now(),
        },
    };
    serde_json::to_string(&invocation).map_err(|error| LazyWorkError(error.to_string()))
}

#[cfg(test)]
mod tests {
    use sirslack_domain::CaseId;

    use super::*;

    #[test]
    fn the_event_is_the_one_the_bus_routes_to_the_events_handler() {
        assert_eq!(
            LAZY_EVENT_SOURCE,
            sirslack_events_handler::invoke::LAZY_EVENT_SOURCE
        );
        assert_eq!(
            LAZY_EVENT_DETAIL_TYPE,
            sirslack_events_handler::invoke::LAZY_EVENT_DETAIL_TYPE
        );
    }

    #[test]
    fn the_envelope_is_the_routers_and_names_only_the_submission() {
        let job = ForwardFilesJob {
            view_id: "V0VIEW1".into(),
            team_id: "T0TEAM".into(),
            case_id: CaseId::new("1234567890").expect("case id"),
        };
        let detail: serde_json::Value =
            serde_json::from_str(&envelope(&job).expect("envelope")).expect("JSON");
        let read = LazyInvocation::from_payload(&detail)
            .expect("a lazy invocation")
            .expect("readable");
        assert_eq!(read.call.name, LAZY_FORWARD_FILES);
        let back: ForwardFilesJob = serde_json::from_value(read.call.payload).expect("the job");
        assert_eq!(back, job);
    }
}
