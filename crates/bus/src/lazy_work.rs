//! The events handler's lazy work on the integration bus: one PutEvents entry, `source`
//! [`LAZY_EVENT_SOURCE`], `detail-type` [`LAZY_EVENT_DETAIL_TYPE`], detail the router's lazy
//! envelope. The bus's rule matching both delivers it back to the events handler. The events
//! handler puts its own lazy work this way, and the command handler hands it the copy of a
//! forwarded message's files the same way.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::ProvideErrorMetadata;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

/// `source` of the EventBridge events carrying lazy work.
pub const LAZY_EVENT_SOURCE: &str = "sirslack.slack-events-handler";
/// `detail-type` of the EventBridge events carrying lazy work (the rule back to the events
/// handler matches `source` and `detail-type`).
pub const LAZY_EVENT_DETAIL_TYPE: &str = "Slack Lazy Work";

/// Puts one lazy-work event with `detail` on `bus_name`. One attempt: the caller decides what a
/// failure means. The error names the call and AWS's code, never the detail.
pub async fn put_lazy_work(client: &Client, bus_name: &str, detail: String) -> Result<(), String> {
    let entry = PutEventsRequestEntry::builder()
        .event_bus_name(bus_name)
        .source(LAZY_EVENT_SOURCE)
        .detail_type(LAZY_EVENT_DETAIL_TYPE)
        .detail(detail)
        .build();
    let output = client
        .put_events()
        .entries(entry)
        .send()
        .await
        .map_err(|error| {
            format!(
                "events:PutEvents: {}",
                error.code().unwrap_or("request failed")
            )
        })?;
    if output.failed_entry_count() > 0 {
        let code = output
            .entries()
            .iter()
            .find_map(|entry| entry.error_code())
            .unwrap_or("unknown");
        return Err(format!("events:PutEvents entry failed: {code}"));
    }
    Ok(())
}
