//! `command-handler`: the Lambda function that runs `/security-ir` commands and the case
//! message's buttons, invoked asynchronously by the events handler.
//!
//! Environment: `TABLE_NAME`, `SLACK_BOT_TOKEN_PARAMETER` (required); `COMMAND_POLICY_PARAMETER`,
//! `OTP_SECRET_PARAMETER_PREFIX` (default `/SecurityIncidentResponse/slackUsers`),
//! `SLACK_API_URL`, `CONSOLE_REGION` (default `AWS_REGION`), `SECRETS_CACHE_TTL_SECONDS`,
//! `AUTHORIZATION_CACHE_TTL_SECONDS`, `CHANNEL_VISIBILITY` (default `private`), `LOG_LEVEL`
//! (default `info`).

use std::time::{Duration, UNIX_EPOCH};

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use sirslack_command_handler::{CommandHandler, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = Config::from_env()?;
    let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let handler = CommandHandler::from_aws(&config, &sdk_config)?;
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // Lambda stops the function at the context's deadline; a change not finished by then
        // fails the invocation and Lambda's retry resumes it.
        let deadline = UNIX_EPOCH + Duration::from_millis(event.context.deadline);
        Ok::<Value, Error>(
            handler
                .handle_invocation_until(event.payload, deadline)
                .await?,
        )
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
