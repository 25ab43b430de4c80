//! The Slack client Lambda: SQS batches of integration events in, batch item failures out.
//!
//! Environment: `sirslack_lambda::vars::SLACK_CLIENT` (docs/infrastructure.md lists it).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use sirslack_slack_client::{Config, Handler, deadline_from_epoch_millis};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let start = sirslack_lambda::bootstrap().await;
    let handler = start
        .init(|env, sdk_config| async move {
            Handler::from_aws(Config::from_lookup(env.lookup())?, sdk_config)
        })
        .await?;
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline =
            deadline_from_epoch_millis(event.context.deadline, handler.config().deadline_margin);
        Ok::<SqsBatchResponse, std::convert::Infallible>(
            handler.handle(event.payload, deadline).await,
        )
    }))
    .await
}
