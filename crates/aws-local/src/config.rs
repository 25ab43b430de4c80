//! SDK configuration that points real AWS SDK clients at a local endpoint.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

use crate::error::LocalAwsError;
use crate::moto::MotoServer;

/// The region every local client uses.
pub const LOCAL_REGION: &str = "us-east-1";

/// The account moto puts in every ARN.
pub const MOTO_ACCOUNT_ID: &str = "123456789012";

/// Static credentials: moto accepts any, and a fixed pair keeps tests off the developer's real ones.
pub fn local_credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "sirslack-local")
}

/// An `SdkConfig` for `endpoint_url` with static test credentials, region us-east-1 and the latest
/// behavior version. Nothing is read from the environment or `~/.aws`.
pub fn sdk_config(endpoint_url: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(LOCAL_REGION))
        .credentials_provider(SharedCredentialsProvider::new(local_credentials()))
        .endpoint_url(endpoint_url)
        .build()
}

/// A configured handle on a local AWS endpoint that hands out SDK clients.
#[derive(Debug, Clone)]
pub struct LocalAws {
    config: SdkConfig,
}

impl LocalAws {
    /// Clients for any AWS-compatible endpoint, for example a moto server started elsewhere.
    pub fn new(endpoint_url: &str) -> Self {
        Self {
            config: sdk_config(endpoint_url),
        }
    }

    /// Clients for `server`.
    pub fn for_server(server: &MotoServer) -> Self {
        Self::new(server.endpoint_url())
    }

    /// Clients for the per-process shared server ([`MotoServer::shared`]), starting it if needed.
    pub async fn shared() -> Result<Self, LocalAwsError> {
        Ok(Self::for_server(MotoServer::shared().await?))
    }

    /// The endpoint every client talks to.
    pub fn endpoint_url(&self) -> &str {
        // Always set by `sdk_config`.
        self.config.endpoint_url().unwrap_or_default()
    }

    /// The configuration the clients are built from, for clients of other services.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.config)
    }

    pub fn eventbridge(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.config)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config)
    }

    pub fn ssm(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.config)
    }
}
