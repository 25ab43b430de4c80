//! The `slack-events-handler` Lambda function.
//!
//! Environment: `sirslack_lambda::vars::EVENTS_HANDLER` (docs/infrastructure.md lists it).

use std::time::Instant;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use sirslack_events_handler::EventsHandler;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let started = Instant::now();
    let start = sirslack_lambda::bootstrap().await;
    let handler = start.init(EventsHandler::from_environment).await?;
    tracing::info!(
        init_ms = started.elapsed().as_secs_f64() * 1000.0,
        "slack-events-handler ready"
    );
    let handler = &handler;
    // lambda_runtime rather than lambda_http::run: the same function also receives its own
    // lazy work (async self-invocations, EventBridge events), which is not an HTTP request.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler.handle_invocation(event.payload).await
    }))
    .await
}
