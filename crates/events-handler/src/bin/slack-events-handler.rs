//! The `slack-events-handler` Lambda function.

use std::sync::Arc;
use std::time::Instant;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use sirslack_events_handler::EventsHandler;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let started = Instant::now();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_current_span(false)
        .with_target(false)
        .init();
    let handler = Arc::new(EventsHandler::from_env().await?);
    tracing::info!(
        init_ms = started.elapsed().as_secs_f64() * 1000.0,
        "slack-events-handler ready"
    );
    // lambda_runtime rather than lambda_http::run: the same function also receives its own
    // lazy work (async self-invocations, EventBridge events), which is not an HTTP request.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move {
            handler
                .handle_invocation(event.payload)
                .await
                .map_err(Error::from)
        }
    }))
    .await
}
