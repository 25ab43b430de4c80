//! What the four Lambda functions share at start and at their edge with the runtime:
//!
//! - [`bootstrap`]: the one construct-then-handle start. It sets up logging ([`init_logging`]:
//!   Lambda's `AWS_LAMBDA_LOG_LEVEL` and `AWS_LAMBDA_LOG_FORMAT`, as the runtime's subscriber
//!   reads them, plus the RFC 3339 timestamp Lambda's level filter needs),
//!   reads the process environment once into an [`Environment`], and loads the AWS SDK
//!   configuration. Each binary then builds its function from those ([`Start::init`]) and hands
//!   it to `lambda_runtime::run`.
//! - [`Env`] and [`ConfigError`]: the one typed reader of environment variables (string,
//!   required, number with bounds, flag, seconds, choice), over a lookup (the environment read
//!   at start, or a map in tests).
//! - [`vars`]: every environment variable each function reads, named once; the infrastructure's
//!   contract and the local run are checked against it (`infra/lib/function-environment.json`).
//! - [`print_metric`]: the one way to print an embedded-metric line, stamped so Lambda's
//!   log-level filter keeps it.
//! - [`diagnostic`]: the `errorType` Lambda records for a failed invocation, named after the
//!   failure class, and an `errorMessage` without tokens or capability URLs.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bootstrap;
pub mod check;
pub mod diagnostic;
mod env;
mod logging;
pub mod vars;

pub use bootstrap::{Start, bootstrap};
pub use diagnostic::ErrorType;
pub use env::{ConfigError, Env, Environment};
pub use logging::{init_logging, print_metric};
pub use vars::Var;
