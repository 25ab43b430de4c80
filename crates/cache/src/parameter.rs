//! [`ParameterCache`]: SSM parameters read per container and kept for a TTL.
//!
//! The first read happens on first use; later reads are served from memory until the TTL
//! passes, then one caller per parameter re-reads while the others wait for it. So a rotated
//! secret takes effect within one TTL without a redeploy, and a warm container does not call SSM
//! for every event. [`ParameterCache::invalidate`] forces the next use to re-read (after Slack
//! rejected a token). What a re-read that fails does is the cache's [`WhenUnreadable`]. Values
//! are never logged; errors name the parameter only.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

use crate::clock::{Clock, SystemClock};
use crate::ttl::{Loaded, Lookup, TtlCache};

/// SSM error codes that mean "not now": throttled or failing on SSM's side.
const UNAVAILABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
];

/// A parameter could not be read. Names the parameter, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParameterError {
    /// The parameter does not exist.
    #[error("SSM parameter {name} does not exist")]
    Missing {
        /// The parameter.
        name: String,
    },
    /// The parameter is blank.
    #[error("SSM parameter {name} is empty")]
    Empty {
        /// The parameter.
        name: String,
    },
    /// SSM refused for good (access denied, a key that cannot decrypt, an invalid name):
    /// retrying will not help until the configuration is fixed.
    #[error("reading SSM parameter {name} failed: {code}")]
    Unreadable {
        /// The parameter.
        name: String,
        /// SSM's error code.
        code: String,
    },
    /// SSM throttled the read, failed on its side or could not be reached: retry later.
    #[error("reading SSM parameter {name} failed: {code}")]
    Unavailable {
        /// The parameter.
        name: String,
        /// SSM's error code, or the transport failure.
        code: String,
    },
}

impl ParameterError {
    /// Whether the same read may succeed later without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// What a cache does when a re-read fails, or finds the parameter gone, while it still holds
/// an earlier value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenUnreadable {
    /// Serve the earlier value (with a warning) and try SSM again at the next use: an SSM
    /// hiccup must not stop all work. Not after [`ParameterCache::invalidate`]: a rejected
    /// value is never served again.
    ServeLastValue,
    /// Fail (or answer "absent"), as if nothing had been read: for values that must never be
    /// used once they cannot be confirmed (the command policy, one-time-code secrets).
    Fail,
}

/// What SSM answered for a name.
#[derive(Clone)]
enum Answer {
    Value(Arc<str>),
    Missing,
    Empty,
}

impl Answer {
    fn is_value(&self) -> bool {
        matches!(self, Self::Value(_))
    }

    fn value(self, name: &str) -> Result<Arc<str>, ParameterError> {
        match self {
            Self::Value(value) => Ok(value),
            Self::Missing => Err(ParameterError::Missing {
                name: name.to_owned(),
            }),
            Self::Empty => Err(ParameterError::Empty {
                name: name.to_owned(),
            }),
        }
    }
}

/// SSM parameters cached per container with a TTL. Cheap to clone (clones share the cache).
#[derive(Clone)]
pub struct ParameterCache {
    inner: Arc<Inner>,
}

struct Inner {
    client: aws_sdk_ssm::Client,
    when_unreadable: WhenUnreadable,
    answers: TtlCache<String, Answer>,
}

impl fmt::Debug for ParameterCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParameterCache")
            .field("ttl", &self.ttl())
            .field("when_unreadable", &self.inner.when_unreadable)
            .finish_non_exhaustive()
    }
}

impl ParameterCache {
    /// A cache reading with `client`, keeping answers for `ttl` (zero: re-read on every use)
    /// and serving the last value when a re-read fails ([`WhenUnreadable::ServeLastValue`]).
    pub fn new(client: aws_sdk_ssm::Client, ttl: Duration) -> Self {
        Self::build(
            client,
            ttl,
            WhenUnreadable::ServeLastValue,
            Arc::new(SystemClock),
        )
    }

    /// A cache keeping answers for `ttl` that never serves a value it could not re-read
    /// ([`WhenUnreadable::Fail`]).
    pub fn strict(client: aws_sdk_ssm::Client, ttl: Duration) -> Self {
        Self::build(client, ttl, WhenUnreadable::Fail, Arc::new(SystemClock))
    }

    /// Every use reads SSM, and a failure is an error: for callers with a freshness policy of
    /// their own (the events handler's signing keys).
    pub fn uncached(client: aws_sdk_ssm::Client) -> Self {
        Self::strict(client, Duration::ZERO)
    }

    /// An empty cache configured like this one, reading the time from `clock`.
    #[must_use]
    pub fn with_clock(&self, clock: Arc<dyn Clock>) -> Self {
        Self::build(
            self.inner.client.clone(),
            self.ttl(),
            self.inner.when_unreadable,
            clock,
        )
    }

    fn build(
        client: aws_sdk_ssm::Client,
        ttl: Duration,
        when_unreadable: WhenUnreadable,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                when_unreadable,
                answers: TtlCache::new(ttl).with_clock(clock),
            }),
        }
    }

    /// How long answers are kept.
    pub fn ttl(&self) -> Duration {
        self.inner.answers.ttl()
    }

    /// The value of `name` (SecureStrings decrypted, surrounding whitespace removed), from the
    /// cache while it is fresh. A missing or blank parameter is an error, and is asked again
    /// at the next use.
    pub async fn get(&self, name: &str) -> Result<Arc<str>, ParameterError> {
        self.answer(name, Answer::is_value).await?.value(name)
    }

    /// The value of `name`, or `None` when the parameter does not exist or is blank (an
    /// answer cached like a value: without that, every use by a person without a secret would
    /// read SSM).
    pub async fn get_optional(&self, name: &str) -> Result<Option<Arc<str>>, ParameterError> {
        match self.answer(name, |_| true).await?.value(name) {
            Ok(value) => Ok(Some(value)),
            Err(ParameterError::Missing { .. } | ParameterError::Empty { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The next use of `name` reads SSM again, and never falls back to the value held now.
    pub fn invalidate(&self, name: &str) {
        self.inner.answers.invalidate(name);
    }

    async fn answer(
        &self,
        name: &str,
        accept: impl Fn(&Answer) -> bool,
    ) -> Result<Answer, ParameterError> {
        let inner = &self.inner;
        inner
            .answers
            .get_or_try_load_with(name.to_owned(), accept, |cached| async move {
                let last_value = match cached.map(Lookup::into_value) {
                    Some(Answer::Value(value))
                        if inner.when_unreadable == WhenUnreadable::ServeLastValue =>
                    {
                        Some(value)
                    }
                    _ => None,
                };
                let problem = match read(&inner.client, name).await {
                    Ok(Answer::Value(value)) => return Ok(Loaded::Keep(Answer::Value(value))),
                    Ok(absent) => match absent.clone().value(name) {
                        Err(gone) if last_value.is_some() => gone,
                        _ => return Ok(Loaded::Keep(absent)),
                    },
                    Err(error) => error,
                };
                match last_value {
                    Some(value) => {
                        tracing::warn!(
                            parameter = name,
                            error = %problem,
                            "re-reading the SSM parameter failed; using the cached value"
                        );
                        Ok(Loaded::Once(Answer::Value(value)))
                    }
                    None => Err(problem),
                }
            })
            .await
    }
}

/// One `GetParameter` of `name`, decrypted: its value, or that it is missing or blank.
async fn read(client: &aws_sdk_ssm::Client, name: &str) -> Result<Answer, ParameterError> {
    let output = match client
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
    {
        Ok(output) => output,
        Err(error) if error.code() == Some("ParameterNotFound") => return Ok(Answer::Missing),
        Err(error) => return Err(classify(name, &error)),
    };
    let value = output
        .parameter()
        .and_then(|parameter| parameter.value())
        .map(str::trim)
        .unwrap_or_default();
    Ok(if value.is_empty() {
        Answer::Empty
    } else {
        Answer::Value(Arc::from(value))
    })
}

fn classify<E, R>(name: &str, error: &SdkError<E, R>) -> ParameterError
where
    E: ProvideErrorMetadata,
{
    let name = name.to_owned();
    match error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("unknown").to_owned();
            if UNAVAILABLE_CODES.contains(&code.as_str()) {
                ParameterError::Unavailable { name, code }
            } else {
                ParameterError::Unreadable { name, code }
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ParameterError::Unavailable {
                name,
                code: "request failed".to_owned(),
            }
        }
        _ => ParameterError::Unreadable {
            name,
            code: "request failed".to_owned(),
        },
    }
}
