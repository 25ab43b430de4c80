//! Handing slow work to another invocation.
//!
//! A Lambda function is frozen once it has answered, so work that must not delay the ack is
//! sent elsewhere *before* answering: to a named lazy listener of this same function (the
//! [`LazyInvocation`] envelope, delivered by an async self-invocation or an event bus), or to
//! another function with a payload of its own (the command handler's
//! [`CommandInvocation`](crate::CommandInvocation)).

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::BoxFuture;

/// The top-level key of a [`LazyInvocation`]: how an invocation payload is recognised as one.
/// API Gateway events never have it.
pub const LAZY_INVOCATION_KEY: &str = "slack_router_lazy";

/// Where a hand-off goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandOffDestination {
    /// A lazy listener of this function, by name.
    Lazy(String),
    /// Another function, by name or ARN, with a payload of its own.
    Function(String),
}

/// One piece of work to continue elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct HandOff {
    destination: HandOffDestination,
    payload: Value,
}

impl HandOff {
    /// Work for the lazy listener `name` of this function.
    pub fn lazy(
        name: impl Into<String>,
        payload: &impl Serialize,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            destination: HandOffDestination::Lazy(name.into()),
            payload: serde_json::to_value(payload)?,
        })
    }

    /// Work for another function; `payload` is what that function receives.
    pub fn function(
        function: impl Into<String>,
        payload: &impl Serialize,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            destination: HandOffDestination::Function(function.into()),
            payload: serde_json::to_value(payload)?,
        })
    }

    /// Where it goes.
    pub fn destination(&self) -> &HandOffDestination {
        &self.destination
    }

    /// The payload as given.
    pub fn payload(&self) -> &Value {
        &self.payload
    }

    /// The target and the exact bytes to deliver.
    pub(crate) fn into_delivery(self) -> Result<(HandOffTarget, Vec<u8>), HandOffError> {
        let (target, body) = match self.destination {
            HandOffDestination::Lazy(name) => {
                let envelope = LazyInvocation {
                    call: LazyCall {
                        name,
                        payload: self.payload,
                        handed_off_at: Utc::now(),
                    },
                };
                (HandOffTarget::ThisFunction, serde_json::to_vec(&envelope))
            }
            HandOffDestination::Function(function) => (
                HandOffTarget::Function(function),
                serde_json::to_vec(&self.payload),
            ),
        };
        let body =
            body.map_err(|error| HandOffError(format!("payload not serialisable: {error}")))?;
        Ok((target, body))
    }
}

/// Where a [`HandOffSink`] delivers bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandOffTarget {
    /// This function again (a [`LazyInvocation`]).
    ThisFunction,
    /// Another function, by name or ARN.
    Function(String),
}

/// The envelope of an invocation that runs a lazy listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LazyInvocation {
    /// The call.
    #[serde(rename = "slack_router_lazy")]
    pub call: LazyCall,
}

impl LazyInvocation {
    /// Reads an invocation payload as a lazy invocation, or `None` when it is not one (an API
    /// Gateway event, say).
    pub fn from_payload(payload: &Value) -> Option<Result<Self, serde_json::Error>> {
        payload
            .get(LAZY_INVOCATION_KEY)
            .map(|_| Self::deserialize(payload))
    }
}

/// Which lazy listener to run, with what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LazyCall {
    /// The lazy listener's name.
    pub name: String,
    /// Its input.
    pub payload: Value,
    /// When the ack path handed it off.
    pub handed_off_at: DateTime<Utc>,
}

/// A hand-off could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hand-off failed: {0}")]
pub struct HandOffError(pub String);

/// Delivers hand-offs: an async `lambda:Invoke` in AWS, a recording in tests.
///
/// It must return once delivery is *accepted* (an `Event` invocation is queued), never wait for
/// the work itself: it is on the ack path.
pub trait HandOffSink: Send + Sync {
    /// Delivers `payload` to `target`.
    fn deliver<'a>(
        &'a self,
        target: &'a HandOffTarget,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), HandOffError>>;
}

/// One delivery seen by a [`RecordingHandOffSink`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedHandOff {
    /// Where it was sent.
    pub target: HandOffTarget,
    /// What was sent, parsed.
    pub payload: Value,
}

/// Records deliveries instead of making them (tests, local runs); can be told to fail.
#[derive(Debug, Default)]
pub struct RecordingHandOffSink {
    recorded: Mutex<Vec<RecordedHandOff>>,
    failing: Mutex<bool>,
}

impl RecordingHandOffSink {
    /// A sink that accepts everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later delivery fail (or succeed again).
    pub fn set_failing(&self, failing: bool) {
        if let Ok(mut flag) = self.failing.lock() {
            *flag = failing;
        }
    }

    /// Everything delivered so far, oldest first.
    pub fn recorded(&self) -> Vec<RecordedHandOff> {
        self.recorded
            .lock()
            .map(|recorded| recorded.clone())
            .unwrap_or_default()
    }

    /// Removes and returns everything delivered so far.
    pub fn take(&self) -> Vec<RecordedHandOff> {
        self.recorded
            .lock()
            .map(|mut recorded| std::mem::take(&mut *recorded))
            .unwrap_or_default()
    }
}

impl HandOffSink for RecordingHandOffSink {
    fn deliver<'a>(
        &'a self,
        target: &'a HandOffTarget,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), HandOffError>> {
        Box::pin(async move {
            if self.failing.lock().map(|flag| *flag).unwrap_or(false) {
                return Err(HandOffError("recording sink set to fail".into()));
            }
            let payload: Value = serde_json::from_slice(&payload)
                .map_err(|error| HandOffError(format!("not JSON: {error}")))?;
            let mut recorded = self
                .recorded
                .lock()
                .map_err(|_| HandOffError("recording poisoned".into()))?;
            recorded.push(RecordedHandOff {
                target: target.clone(),
                payload,
            });
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lazy_hand_offs_are_wrapped_and_recognised() {
        let hand_off = HandOff::lazy("file_transfer", &json!({ "file_id": "F1" })).unwrap();
        let (target, bytes) = hand_off.into_delivery().unwrap();
        assert_eq!(target, HandOffTarget::ThisFunction);
        let payload: Value = serde_json::from_slice(&bytes).unwrap();
        let invocation = LazyInvocation::from_payload(&payload).unwrap().unwrap();
        assert_eq!(invocation.call.name, "file_transfer");
        assert_eq!(invocation.call.payload["file_id"], "F1");

        let api_gateway = json!({ "httpMethod": "POST", "body": "{}" });
        assert!(LazyInvocation::from_payload(&api_gateway).is_none());
    }

    #[test]
    fn function_hand_offs_carry_the_payload_as_is() {
        let hand_off = HandOff::function("command-handler", &json!({ "kind": "x" })).unwrap();
        let (target, bytes) = hand_off.into_delivery().unwrap();
        assert_eq!(target, HandOffTarget::Function("command-handler".into()));
        assert_eq!(
            serde_json::from_slice::<Value>(&bytes).unwrap(),
            json!({ "kind": "x" })
        );
    }
}
