//! Small per-container caches for authorization facts (channel memberships, user groups, the
//! policy, per-user OTP settings), kept briefly so that a revoked permission takes effect soon.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ssm::error::ProvideErrorMetadata;
use sirslack_slack_api::ParameterError;

pub use sirslack_slack_api::TtlCache;

/// SSM parameters that may not exist (the policy, per-user OTP secrets), cached with a TTL,
/// absence included: without that, every command by a person without a secret would read SSM.
/// Values are never logged; `Debug` shows none.
pub struct OptionalParameters {
    client: aws_sdk_ssm::Client,
    cache: TtlCache<String, Option<Arc<str>>>,
}

impl std::fmt::Debug for OptionalParameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OptionalParameters")
            .field("ttl", &self.cache.ttl())
            .finish_non_exhaustive()
    }
}

impl OptionalParameters {
    /// Reads with `client` (SecureStrings decrypted), remembering answers for `ttl`.
    pub fn new(client: aws_sdk_ssm::Client, ttl: Duration) -> Self {
        Self {
            client,
            cache: TtlCache::new(ttl),
        }
    }

    /// The value of `name`, or `None` when the parameter does not exist or is blank.
    pub async fn get(&self, name: &str) -> Result<Option<Arc<str>>, ParameterError> {
        if let Some(value) = self.cache.get(&name.to_owned()) {
            return Ok(value);
        }
        let answer = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await;
        let value = match answer {
            Ok(output) => output
                .parameter()
                .and_then(|parameter| parameter.value())
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(Arc::from),
            Err(error) if error.code() == Some("ParameterNotFound") => None,
            Err(error) => {
                return Err(ParameterError::Read {
                    name: name.to_owned(),
                    code: error.code().unwrap_or("request failed").to_owned(),
                });
            }
        };
        self.cache.insert(name.to_owned(), value.clone());
        Ok(value)
    }
}
