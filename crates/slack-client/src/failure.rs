//! Why applying an event did not complete, and what that means for its SQS message.

use sirslack_slack_api::{ErrorClass, SlackApiError};
use sirslack_store::StoreError;

/// An event could not be applied (completely).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Something that may work later (a rate limit or outage outlasting this invocation, a
    /// table or SIR hiccup, another worker on the case): the message is reported as a batch
    /// item failure and comes back after the visibility timeout.
    #[error("retry later: {0}")]
    Retry(String),
    /// Slack rejected the bot token. Retrying in a loop cannot help, so each delivery makes
    /// one attempt; the message goes back to the queue and, once the token is rotated, the
    /// next delivery succeeds, else it ends in the dead-letter queue.
    #[error("Slack rejected the bot token: {0}")]
    Auth(SlackApiError),
    /// Slack refused for good (`channel_not_found`, `is_archived`, `not_in_channel`...): the
    /// failure is reported (log, SIR comment) and the event is acknowledged, so the case's
    /// later events are not held back by one that can never succeed.
    #[error("Slack refused: {0}")]
    Permanent(SlackApiError),
    /// Something else that cannot succeed (an SIR validation error, no channel name left):
    /// reported and acknowledged like [`Failure::Permanent`].
    #[error("{0}")]
    Unrecoverable(String),
}

impl From<SlackApiError> for Failure {
    fn from(error: SlackApiError) -> Self {
        if let (ErrorClass::RateLimited, Some(wait)) = (error.class, error.retry_after) {
            // The message must not come back before Slack lets us call again.
            crate::redelivery::note_retry_after(wait);
        }
        match error.class {
            ErrorClass::RateLimited | ErrorClass::Transient => Self::Retry(error.to_string()),
            ErrorClass::Auth => Self::Auth(error),
            ErrorClass::Permanent => Self::Permanent(error),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self::Retry(error.to_string())
    }
}

/// A shorthand for results of this crate's steps.
pub type Step<T = ()> = Result<T, Failure>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_errors_map_by_class() {
        let failure = Failure::from(SlackApiError::from_code("chat.postMessage", "is_archived"));
        assert!(matches!(failure, Failure::Permanent(_)));
        let failure = Failure::from(SlackApiError::from_code("chat.postMessage", "invalid_auth"));
        assert!(matches!(failure, Failure::Auth(_)));
        let failure = Failure::from(SlackApiError::rate_limited("chat.postMessage", None));
        assert!(matches!(failure, Failure::Retry(_)));
        let failure = Failure::from(SlackApiError::from_http_status("conversations.create", 503));
        assert!(matches!(failure, Failure::Retry(_)));
    }
}
