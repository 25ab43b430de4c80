//! `sir-poller`: the Lambda function that syncs SIR cases to the integration bus.
//!
//! Environment: `TABLE_NAME`, `EVENT_BUS_NAME` (required); `LOG_LEVEL` (default `info`);
//! `RECONCILE_ATTACHMENT_RECHECK_MINUTES` (or `ATTACHMENT_RECHECK_MINUTES`),
//! `RECONCILE_ATTACHMENT_RECHECKS_PER_RUN`,
//! `SYNC_CONCURRENCY`, `CASE_LEASE_SECONDS`, `RECONCILE_LEASE_SECONDS`, `SIR_MEMBERSHIP_ID`
//! (optional, see `PollerConfig`).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use sirslack_poller::{Poller, PollerConfig};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = PollerConfig::from_env()?;
    let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let poller = Poller::from_sdk_config(&sdk_config, config);
    let poller = &poller;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let report = poller.handle(&event.payload).await?;
        Ok::<Value, Error>(serde_json::to_value(report)?)
    }))
    .await
}

/// JSON logs for CloudWatch, filtered by `LOG_LEVEL` (an `EnvFilter` directive, default `info`).
fn init_tracing() {
    let level = std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info".to_owned());
    let filter = EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(false)
        .with_ansi(false)
        .init();
}
