//! The function's configuration, read once from the environment at start.

use std::time::Duration;

/// Slack's Web API (the shared adapter's default).
pub use sirslack_slack_api::DEFAULT_SLACK_API_URL;
/// Default lifetime of cached SSM parameters.
pub const DEFAULT_SECRETS_CACHE_TTL: Duration = Duration::from_secs(300);
/// Default time the ack path may spend copying a message to SIR before handing it off.
pub const DEFAULT_INLINE_BUDGET: Duration = Duration::from_millis(1200);
/// Default lifetime of dedupe markers: well past Slack's last retry (about 5 minutes) and the
/// duplicate deliveries seen minutes apart.
pub const DEFAULT_DEDUPE_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Default hold of a channel's ordering lane by the ack path: like a dedupe claim, past
/// Slack's 3-second wait, after which nobody is waiting for that request any more.
pub const DEFAULT_INLINE_LANE_LEASE: Duration = Duration::from_secs(5);
/// Default hold of a channel's lane by a drainer, per job: three attempts at a comment with
/// their backoff and SIR's own retries fit well inside it.
pub const DEFAULT_DRAIN_LANE_LEASE: Duration = Duration::from_secs(120);
/// Default age after which a queued comment job that still cannot be written is given up on
/// (its author told, the operator logged): after Lambda's retries and many lane sweeps, and
/// well before the lane job's 1-day TTL, so no message is ever dropped by the TTL unannounced.
pub const DEFAULT_LANE_JOB_GIVE_UP: Duration = Duration::from_secs(6 * 60 * 60);
/// Default limit for one file transfer (download + upload).
pub const DEFAULT_TRANSFER_TIMEOUT: Duration = Duration::from_secs(240);

/// Environment variable names.
pub mod env {
    /// DynamoDB table.
    pub const TABLE_NAME: &str = "TABLE_NAME";
    /// SSM parameter holding the signing secret.
    pub const SLACK_SIGNING_SECRET_PARAMETER: &str = "SLACK_SIGNING_SECRET_PARAMETER";
    /// SSM parameter holding the bot token.
    pub const SLACK_BOT_TOKEN_PARAMETER: &str = "SLACK_BOT_TOKEN_PARAMETER";
    /// SSM parameter holding the workspace ID.
    pub const SLACK_WORKSPACE_ID_PARAMETER: &str = "SLACK_WORKSPACE_ID_PARAMETER";
    /// The Slack app's ID (`A...`); when set, requests for another app are ignored. Optional.
    pub const SLACK_APP_ID: &str = "SLACK_APP_ID";
    /// The command handler function (name or ARN).
    pub const COMMAND_HANDLER_FUNCTION_NAME: &str = "COMMAND_HANDLER_FUNCTION_NAME";
    /// When set, lazy work goes through this EventBridge bus instead of a self-invocation.
    pub const EVENT_BUS_NAME: &str = "EVENT_BUS_NAME";
    /// Seconds cached SSM parameters live.
    pub const SECRETS_CACHE_TTL_SECONDS: &str = "SECRETS_CACHE_TTL_SECONDS";
    /// Slack Web API base URL (no trailing slash); a stand-in's in tests.
    pub const SLACK_API_URL: &str = "SLACK_API_URL";
    /// Milliseconds the ack path may spend on a message before handing it off.
    pub const INLINE_BUDGET_MS: &str = "INLINE_BUDGET_MS";
    /// This function's own name, for self-invocations (set by Lambda).
    pub const AWS_LAMBDA_FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";
    /// Overrides the self-invocation target (a local run has no Lambda name).
    pub const SELF_FUNCTION_NAME: &str = "SELF_FUNCTION_NAME";
    /// Seconds after which a queued comment job that still fails is given up on (default 6 h;
    /// at most 12 h, half the lane job's TTL).
    pub const LANE_JOB_GIVE_UP_SECONDS: &str = "LANE_JOB_GIVE_UP_SECONDS";
}

/// Where work that does not fit the ack path goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LazyTransport {
    /// An async `lambda:Invoke` (`InvocationType=Event`) of this function.
    SelfInvoke {
        /// This function's name or ARN.
        function_name: String,
    },
    /// A `Slack Lazy Work` event on an EventBridge bus, routed back to this function by a rule.
    EventBus {
        /// The bus name.
        bus_name: String,
    },
}

/// Everything the handler needs to know about its deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// DynamoDB table.
    pub table_name: String,
    /// SSM parameter names.
    pub parameters: ParameterNames,
    /// The Slack app (`A...`) every event, command and action must be for; `None`: not checked.
    pub app_id: Option<String>,
    /// The command handler function.
    pub command_handler_function: String,
    /// Where lazy work goes.
    pub lazy_transport: LazyTransport,
    /// How long SSM values are cached.
    pub secrets_cache_ttl: Duration,
    /// Slack Web API base URL, without trailing slash.
    pub slack_api_url: String,
    /// Time the ack path may spend copying a message (or a join/leave) to SIR.
    pub inline_budget: Duration,
    /// Dedupe marker lifetime.
    pub dedupe_ttl: Duration,
    /// How long a delivery's claim on an event holds before a redelivery may take it over.
    pub dedupe_lease: Duration,
    /// How long the ack path holds a channel's ordering lane for an inline copy.
    pub inline_lane_lease: Duration,
    /// How long a drainer holds a channel's lane per job (renewed before each).
    pub drain_lane_lease: Duration,
    /// Age after which a queued comment job that still fails is given up on.
    pub lane_job_give_up: Duration,
    /// Limit for one file transfer.
    pub transfer_timeout: Duration,
    /// Largest request body.
    pub max_body_bytes: usize,
}

/// The SSM parameters holding Slack's secrets and the workspace ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterNames {
    /// Signing secret (SecureString).
    pub signing_secret: String,
    /// Bot token (SecureString).
    pub bot_token: String,
    /// Workspace ID (String).
    pub workspace_id: String,
}

/// A required variable is missing or a value does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not set, or empty.
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// Set to something unusable.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Why.
        reason: &'static str,
    },
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| lookup(name).filter(|value| !value.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let lazy_transport = match get(env::EVENT_BUS_NAME) {
            Some(bus_name) => LazyTransport::EventBus { bus_name },
            None => LazyTransport::SelfInvoke {
                function_name: get(env::SELF_FUNCTION_NAME)
                    .or_else(|| get(env::AWS_LAMBDA_FUNCTION_NAME))
                    .ok_or(ConfigError::Missing(env::AWS_LAMBDA_FUNCTION_NAME))?,
            },
        };
        let seconds = |name: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            get(name).map_or(Ok(default), |value| {
                value
                    .trim()
                    .parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| ConfigError::Invalid {
                        name,
                        reason: "not a whole number of seconds",
                    })
            })
        };
        let inline_budget = match get(env::INLINE_BUDGET_MS) {
            None => DEFAULT_INLINE_BUDGET,
            Some(value) => value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms <= 2500)
                .map(Duration::from_millis)
                .ok_or(ConfigError::Invalid {
                    name: env::INLINE_BUDGET_MS,
                    reason: "not a number of milliseconds up to 2500",
                })?,
        };
        let lane_job_give_up = seconds(env::LANE_JOB_GIVE_UP_SECONDS, DEFAULT_LANE_JOB_GIVE_UP)?;
        if lane_job_give_up > Duration::from_secs(12 * 60 * 60) {
            return Err(ConfigError::Invalid {
                name: env::LANE_JOB_GIVE_UP_SECONDS,
                reason: "more than 12 hours: queued jobs expire after a day",
            });
        }
        let slack_api_url = get(env::SLACK_API_URL)
            .unwrap_or_else(|| DEFAULT_SLACK_API_URL.to_owned())
            .trim_end_matches('/')
            .to_owned();
        if !(slack_api_url.starts_with("https://") || slack_api_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: env::SLACK_API_URL,
                reason: "not an http(s) URL",
            });
        }
        let app_id = get(env::SLACK_APP_ID).map(|id| id.trim().to_owned());
        if let Some(id) = &app_id
            && !is_app_id(id)
        {
            return Err(ConfigError::Invalid {
                name: env::SLACK_APP_ID,
                reason: "not a Slack app ID such as A0123456789",
            });
        }
        Ok(Self {
            table_name: required(env::TABLE_NAME)?,
            parameters: ParameterNames {
                signing_secret: required(env::SLACK_SIGNING_SECRET_PARAMETER)?,
                bot_token: required(env::SLACK_BOT_TOKEN_PARAMETER)?,
                workspace_id: required(env::SLACK_WORKSPACE_ID_PARAMETER)?,
            },
            app_id,
            command_handler_function: required(env::COMMAND_HANDLER_FUNCTION_NAME)?,
            lazy_transport,
            secrets_cache_ttl: seconds(env::SECRETS_CACHE_TTL_SECONDS, DEFAULT_SECRETS_CACHE_TTL)?,
            slack_api_url,
            inline_budget,
            dedupe_ttl: DEFAULT_DEDUPE_TTL,
            dedupe_lease: sirslack_slack_router::DEFAULT_CLAIM_LEASE,
            inline_lane_lease: DEFAULT_INLINE_LANE_LEASE,
            drain_lane_lease: DEFAULT_DRAIN_LANE_LEASE,
            lane_job_give_up,
            transfer_timeout: DEFAULT_TRANSFER_TIMEOUT,
            max_body_bytes: sirslack_slack_router::DEFAULT_MAX_BODY_BYTES,
        })
    }
}

/// `A` and 8 to 15 capitals or digits: the shape of Slack's app IDs (`A0123456789`).
fn is_app_id(id: &str) -> bool {
    id.len() >= 9
        && id.len() <= 16
        && id.starts_with('A')
        && id
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn base() -> HashMap<&'static str, String> {
        HashMap::from([
            (env::TABLE_NAME, "table".to_owned()),
            (env::SLACK_SIGNING_SECRET_PARAMETER, "/s/secret".to_owned()),
            (env::SLACK_BOT_TOKEN_PARAMETER, "/s/token".to_owned()),
            (env::SLACK_WORKSPACE_ID_PARAMETER, "/s/workspace".to_owned()),
            (env::COMMAND_HANDLER_FUNCTION_NAME, "commands".to_owned()),
            (env::AWS_LAMBDA_FUNCTION_NAME, "events".to_owned()),
        ])
    }

    fn read(vars: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults() {
        let config = read(&base()).unwrap();
        assert_eq!(config.slack_api_url, DEFAULT_SLACK_API_URL);
        assert_eq!(config.secrets_cache_ttl, DEFAULT_SECRETS_CACHE_TTL);
        assert_eq!(
            config.lazy_transport,
            LazyTransport::SelfInvoke {
                function_name: "events".into()
            }
        );
        assert_eq!(config.parameters.bot_token, "/s/token");
    }

    #[test]
    fn overrides_and_errors() {
        let mut vars = base();
        vars.insert(env::EVENT_BUS_NAME, "bus".into());
        vars.insert(env::SECRETS_CACHE_TTL_SECONDS, "60".into());
        vars.insert(env::SLACK_API_URL, "http://127.0.0.1:9/api/".into());
        let config = read(&vars).unwrap();
        assert_eq!(
            config.lazy_transport,
            LazyTransport::EventBus {
                bus_name: "bus".into()
            }
        );
        assert_eq!(config.secrets_cache_ttl, Duration::from_secs(60));
        assert_eq!(config.slack_api_url, "http://127.0.0.1:9/api");

        vars.insert(env::SECRETS_CACHE_TTL_SECONDS, "soon".into());
        assert!(matches!(read(&vars), Err(ConfigError::Invalid { .. })));
        assert_eq!(read(&base()).unwrap().app_id, None);
        let mut vars = base();
        vars.insert(env::SLACK_APP_ID, " A0123456789 ".into());
        assert_eq!(read(&vars).unwrap().app_id.as_deref(), Some("A0123456789"));
        vars.insert(env::SLACK_APP_ID, "".into());
        assert_eq!(read(&vars).unwrap().app_id, None);
        vars.insert(env::SLACK_APP_ID, "T0123456789".into());
        assert!(matches!(read(&vars), Err(ConfigError::Invalid { .. })));
        let mut vars = base();
        vars.remove(env::TABLE_NAME);
        assert_eq!(read(&vars), Err(ConfigError::Missing(env::TABLE_NAME)));
        let mut vars = base();
        vars.insert(env::INLINE_BUDGET_MS, "5000".into());
        assert!(read(&vars).is_err());
        let mut vars = base();
        vars.insert(env::LANE_JOB_GIVE_UP_SECONDS, "86400".into());
        assert!(read(&vars).is_err());
        vars.insert(env::LANE_JOB_GIVE_UP_SECONDS, "30".into());
        assert_eq!(
            read(&vars).unwrap().lane_job_give_up,
            Duration::from_secs(30)
        );
    }
}
