//! `command-handler`: the Lambda function that runs `/security-ir` commands and the case
//! message's buttons, invoked asynchronously by the events handler.
//!
//! Environment: `sirslack_lambda::vars::COMMAND_HANDLER` (docs/infrastructure.md lists it).

use std::time::{Duration, UNIX_EPOCH};

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use sirslack_command_handler::{CommandHandler, Config, SetupError};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let start = sirslack_lambda::bootstrap().await;
    let handler = start
        .init(|env, sdk_config| async move {
            let config = Config::from_lookup(env.lookup()).map_err(SetupError::from)?;
            CommandHandler::from_aws(&config, sdk_config)
        })
        .await?;
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // Lambda stops the function at the context's deadline; a change not finished by then
        // fails the invocation and Lambda's retry resumes it.
        let deadline = UNIX_EPOCH + Duration::from_millis(event.context.deadline);
        handler
            .handle_invocation_until(event.payload, deadline)
            .await
    }))
    .await
}
