//! `sir-poller`: the Lambda function that syncs SIR cases to the integration bus.
//!
//! Environment: `sirslack_lambda::vars::POLLER` (docs/infrastructure.md lists it).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use sirslack_poller::{Poller, PollerConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let start = sirslack_lambda::bootstrap().await;
    let poller = start
        .init(|env, sdk_config| async move {
            let config = PollerConfig::from_lookup(env.lookup())?;
            Ok::<_, sirslack_poller::ConfigError>(Poller::from_sdk_config(sdk_config, config))
        })
        .await?;
    let poller = &poller;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        poller.handle(&event.payload).await
    }))
    .await
}
