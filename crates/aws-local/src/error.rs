use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata};

/// Everything that can go wrong while starting the local AWS world or calling it.
#[derive(Debug, thiserror::Error)]
pub enum LocalAwsError {
    /// The virtualenv with the pinned moto has not been installed (or `SIRSLACK_VENV` points elsewhere).
    #[error(
        "moto_server not found at {}: run scripts/setup-local-world \
         (it installs the pinned moto into the venv; SIRSLACK_VENV overrides the venv location)",
        moto_server.display()
    )]
    VenvMissing { moto_server: PathBuf },

    /// The log directory, log file or child process could not be created.
    #[error("could not start moto_server ({what}): {source}")]
    Spawn {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// moto_server died before it answered HTTP.
    #[error("moto_server exited with {status} before answering HTTP; see its log at {}", log.display())]
    ServerExited { status: ExitStatus, log: PathBuf },

    /// moto_server is running but did not answer HTTP in time.
    #[error(
        "moto_server did not answer HTTP on {endpoint_url} within {timeout:?}; see its log at {}",
        log.display()
    )]
    ServerNotReady {
        endpoint_url: String,
        timeout: Duration,
        log: PathBuf,
    },

    /// A call to moto's own management API (`/moto-api/...`) failed.
    #[error("moto management call {path} failed: {reason}")]
    MotoApi { path: &'static str, reason: String },

    /// An AWS SDK call failed; `code` is the AWS error code when the service sent one.
    #[error("{operation} failed: {message}")]
    Aws {
        operation: &'static str,
        code: Option<String>,
        message: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The service answered without a field this crate needs.
    #[error("{operation} answered without {missing}")]
    MissingField {
        operation: &'static str,
        missing: &'static str,
    },

    /// PutEvents or PutTargets reported per-entry failures.
    #[error("{operation} rejected {failed} entr(y/ies): {details}")]
    FailedEntries {
        operation: &'static str,
        failed: i32,
        details: String,
    },

    /// A condition polled for (such as a table becoming ACTIVE) did not hold in time.
    #[error("{what} not reached within {timeout:?}")]
    Timeout { what: String, timeout: Duration },

    /// A helper was called with arguments AWS would reject.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// The SDK refused to build a request (a required field was not set).
    #[error("could not build {what}: {reason}")]
    Build { what: &'static str, reason: String },
}

impl LocalAwsError {
    /// The AWS error code (for example `ConditionalCheckFailedException`) when this is an SDK error.
    pub fn aws_error_code(&self) -> Option<&str> {
        match self {
            Self::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// Maps an SDK error into [`LocalAwsError::Aws`], keeping the AWS error code for callers to match on.
pub(crate) fn aws<E>(operation: &'static str) -> impl FnOnce(E) -> LocalAwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |err| LocalAwsError::Aws {
        operation,
        code: err.code().map(str::to_owned),
        message: DisplayErrorContext(&err).to_string(),
        source: Box::new(err),
    }
}

/// Maps a request-builder error (a required field left unset) into [`LocalAwsError::Build`].
pub(crate) fn build(what: &'static str) -> impl FnOnce(BuildError) -> LocalAwsError {
    move |err| LocalAwsError::Build {
        what,
        reason: err.to_string(),
    }
}
