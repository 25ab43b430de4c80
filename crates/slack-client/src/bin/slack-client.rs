//! The Slack client Lambda: SQS batches of integration events in, batch item failures out.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use sirslack_slack_client::{Config, Handler, deadline_from_epoch_millis};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .init();

    let config = Config::from_env()?;
    let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let handler = Handler::from_aws(config, &sdk_config)?;
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline =
            deadline_from_epoch_millis(event.context.deadline, handler.config().deadline_margin);
        Ok::<SqsBatchResponse, Error>(handler.handle(event.payload, deadline).await)
    }))
    .await
}
