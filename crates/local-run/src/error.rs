//! Why a world could not start, or a wait ended without what it waited for.

use std::time::Duration;

use crate::names::Function;

/// A world could not start (or an action on it failed).
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// moto could not start or a resource could not be created in it.
    #[error("local AWS: {0}")]
    LocalAws(#[from] aws_local::LocalAwsError),
    /// A stand-in, a listener or another piece of the world could not start.
    #[error("{what}: {reason}")]
    Setup {
        /// What failed.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A function refused its environment or could not build its clients.
    #[error("{function} could not start: {reason}")]
    FunctionSetup {
        /// The function.
        function: Function,
        /// Why.
        reason: String,
    },
    /// An AWS call the harness made failed.
    #[error("{operation}: {reason}")]
    Aws {
        /// The operation.
        operation: &'static str,
        /// Why.
        reason: String,
    },
    /// An HTTP request to a local endpoint failed.
    #[error("HTTP request to {url} failed: {reason}")]
    Http {
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
}

impl WorldError {
    pub(crate) fn setup(what: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Setup {
            what,
            reason: reason.to_string(),
        }
    }

    pub(crate) fn aws(operation: &'static str) -> impl FnOnce(String) -> Self {
        move |reason| Self::Aws { operation, reason }
    }
}

/// A condition did not hold before its deadline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timed out after {waited:?} waiting for {what}")]
pub struct WaitTimeout {
    /// What was waited for.
    pub what: String,
    /// How long.
    pub waited: Duration,
}
