//! Delivering hand-offs: async `lambda:Invoke` (`InvocationType=Event`) of the command handler
//! and of this function, or an EventBridge event for this function's lazy work.
//!
//! Everything goes through the router's [`HandOffSink`] trait, so tests record deliveries
//! ([`sirslack_slack_router::RecordingHandOffSink`]) and a local run can route them in process
//! ([`FnHandOffSink`]).

use std::sync::Arc;

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use sirslack_slack_router::{BoxFuture, HandOffError, HandOffSink, HandOffTarget};

pub use sirslack_bus::lazy_work::{LAZY_EVENT_DETAIL_TYPE, LAZY_EVENT_SOURCE};

/// How this function's own lazy work travels.
#[derive(Debug, Clone)]
pub enum SelfDelivery {
    /// Async invocation of this function.
    Invoke {
        /// This function's name or ARN.
        function_name: String,
    },
    /// An event on a bus whose rule targets this function.
    EventBus {
        /// The EventBridge client.
        client: aws_sdk_eventbridge::Client,
        /// The bus.
        bus_name: String,
    },
}

/// The AWS sink: Lambda `Invoke` with `InvocationType=Event` (queued, answered `202` at once),
/// or EventBridge `PutEvents` for lazy work when configured.
#[derive(Debug, Clone)]
pub struct AwsHandOffSink {
    lambda: aws_sdk_lambda::Client,
    this_function: SelfDelivery,
}

impl AwsHandOffSink {
    /// A sink invoking functions with `lambda` and delivering lazy work by `this_function`.
    pub fn new(lambda: aws_sdk_lambda::Client, this_function: SelfDelivery) -> Self {
        Self {
            lambda,
            this_function,
        }
    }

    async fn invoke(&self, function_name: &str, payload: Vec<u8>) -> Result<(), HandOffError> {
        let output = self
            .lambda
            .invoke()
            .function_name(function_name)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|error| {
                HandOffError(format!(
                    "lambda:Invoke {function_name}: {}",
                    error.code().unwrap_or("request failed")
                ))
            })?;
        if output.status_code() == 202 {
            Ok(())
        } else {
            Err(HandOffError(format!(
                "lambda:Invoke {function_name} answered {} instead of 202",
                output.status_code()
            )))
        }
    }

    async fn put_event(
        client: &aws_sdk_eventbridge::Client,
        bus_name: &str,
        payload: Vec<u8>,
    ) -> Result<(), HandOffError> {
        let detail = String::from_utf8(payload)
            .map_err(|_| HandOffError("lazy work is not UTF-8 JSON".into()))?;
        sirslack_bus::lazy_work::put_lazy_work(client, bus_name, detail)
            .await
            .map_err(HandOffError)
    }
}

impl HandOffSink for AwsHandOffSink {
    fn deliver<'a>(
        &'a self,
        target: &'a HandOffTarget,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), HandOffError>> {
        Box::pin(async move {
            match (target, &self.this_function) {
                (HandOffTarget::Function(name), _) => self.invoke(name, payload).await,
                (HandOffTarget::ThisFunction, SelfDelivery::Invoke { function_name }) => {
                    self.invoke(function_name, payload).await
                }
                (HandOffTarget::ThisFunction, SelfDelivery::EventBus { client, bus_name }) => {
                    Self::put_event(client, bus_name, payload).await
                }
            }
        })
    }
}

/// What a [`FnHandOffSink`] calls.
pub type HandOffFn =
    dyn Fn(HandOffTarget, Vec<u8>) -> BoxFuture<'static, Result<(), HandOffError>> + Send + Sync;

/// Hands work to a closure: a local run can start the command handler stub or this handler's
/// own lazy listeners in process (spawned, so the ack is not delayed).
#[derive(Clone)]
pub struct FnHandOffSink(Arc<HandOffFn>);

impl FnHandOffSink {
    /// Calls `deliver` for every hand-off.
    pub fn new(
        deliver: impl Fn(HandOffTarget, Vec<u8>) -> BoxFuture<'static, Result<(), HandOffError>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Self(Arc::new(deliver))
    }
}

impl std::fmt::Debug for FnHandOffSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnHandOffSink")
    }
}

impl HandOffSink for FnHandOffSink {
    fn deliver<'a>(
        &'a self,
        target: &'a HandOffTarget,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), HandOffError>> {
        (self.0)(target.clone(), payload)
    }
}
