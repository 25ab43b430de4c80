//! The one start of the four functions: logging, the environment read once, the AWS SDK
//! configuration; then the function is built from them and handed to the runtime.

use aws_config::{BehaviorVersion, SdkConfig};
use lambda_runtime::Diagnostic;

use crate::env::Environment;

/// What every function is built from.
#[derive(Debug, Clone)]
pub struct Start {
    /// The process environment, read once.
    pub env: Environment,
    /// The AWS SDK configuration from the default chain (region, credentials, endpoint
    /// overrides such as `AWS_ENDPOINT_URL_SECURITY_IR`).
    pub sdk_config: SdkConfig,
}

/// Sets up logging and reads what every function starts from.
///
/// Logging ([`crate::init_logging`]) reads what the runtime's own subscriber reads: the level
/// from `AWS_LAMBDA_LOG_LEVEL` (set by Lambda from the function's logging configuration; `INFO`
/// when unset), JSON lines when `AWS_LAMBDA_LOG_FORMAT` is `JSON`, and adds the timestamp
/// Lambda's log-level filter needs. No function reads a log level of its own.
pub async fn bootstrap() -> Start {
    crate::logging::init_logging(|name| std::env::var(name).ok());
    let env = Environment::from_process();
    let sdk_config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    Start { env, sdk_config }
}

impl Start {
    /// Builds the function with `build` (the same shape for the four: a configuration from
    /// the environment, clients from the SDK configuration). A failure is logged with its
    /// class (the runtime reports no start-up error of a Rust function by itself) and returned
    /// for `main` to exit with.
    pub async fn init<'a, F, E, Fut>(
        &'a self,
        build: impl FnOnce(&'a Environment, &'a SdkConfig) -> Fut,
    ) -> Result<F, lambda_runtime::Error>
    where
        Fut: Future<Output = Result<F, E>>,
        E: Into<Diagnostic>,
    {
        build(&self.env, &self.sdk_config).await.map_err(|error| {
            let diagnostic: Diagnostic = error.into();
            tracing::error!(
                error_type = diagnostic.error_type,
                error = diagnostic.error_message,
                "the function cannot start"
            );
            format!("{}: {}", diagnostic.error_type, diagnostic.error_message).into()
        })
    }
}
