//! The one SIR (AWS Security Incident Response) adapter of the four functions, over
//! `aws-sdk-securityir`.
//!
//! - [`Sir`]: every SIR operation the functions call, each written once (cases, comments,
//!   attachments, membership). List operations are paged one way, with the SDK's
//!   `into_paginator()` at the largest page size the API allows (25): the poller reads every
//!   page, a digest at most [`MAX_DIGEST_PAGES`].
//! - [`SirError`]: a failed call, classified once: retryable or not, throttled, not found,
//!   access denied ([`SirErrorKind`]), and the words for a person
//!   ([`SirError::for_people`], [`SirError::short_for_people`]). Functions wrap it in their own
//!   errors; none reads an SDK error itself.
//!
//! Pure conversions between SIR shapes and the domain stay in `sirslack-mapper`.
//!
//! # Retries
//!
//! One retry setting for every function ([`retry_config`], applied by [`sdk_config`] and
//! [`Sir::from_sdk_config`]): the SDK's standard mode (exponential backoff with full jitter and
//! a retry quota), **five attempts** in all, backoff from **200 ms up to 5 s**. The SDK retries
//! throttling, 5xx, timeouts and network failures; a [`SirError`] is what is left after them.
//! [`Sir::new`] wraps a client as it is (tests bring their own).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod error;

use std::time::Duration;

use aws_sdk_securityir::config::retry::RetryConfig;

pub use client::{CaseEdit, CommentDigest, MAX_DIGEST_PAGES, Sir};
pub use error::{SirError, SirErrorKind};

/// How the SDK retries SIR calls: standard mode (exponential backoff with full jitter and a
/// retry quota), five attempts, backoff from 200 ms up to 5 s.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(5))
}

/// The SIR client configuration of every function: the shared SDK configuration with
/// [`retry_config`].
pub fn sdk_config(shared: &aws_config::SdkConfig) -> aws_sdk_securityir::Config {
    aws_sdk_securityir::config::Builder::from(shared)
        .retry_config(retry_config())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_gets_the_one_retry_setting() {
        let shared = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let config = sdk_config(&shared);
        let retry = config.retry_config().expect("a retry setting");
        assert_eq!(retry.max_attempts(), 5);
        assert_eq!(retry.initial_backoff(), Duration::from_millis(200));
        assert_eq!(retry.max_backoff(), Duration::from_secs(5));
    }
}
