//! The function's configuration, read once from the environment at start.

use std::time::Duration;

pub use sirslack_lambda::ConfigError;
use sirslack_lambda::Env;
use sirslack_lambda::vars::{
    AWS_LAMBDA_FUNCTION_NAME, COMMAND_HANDLER_FUNCTION_NAME, EVENT_BUS_NAME, INLINE_BUDGET_MS,
    LANE_JOB_GIVE_UP_SECONDS, SECRETS_CACHE_TTL_SECONDS, SELF_FUNCTION_NAME, SLACK_API_URL,
    SLACK_APP_ID, SLACK_BOT_TOKEN_PARAMETER, SLACK_SIGNING_SECRET_PARAMETER,
    SLACK_WORKSPACE_ID_PARAMETER, TABLE_NAME,
};

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

impl Config {
    /// Reads variables through `lookup` (the environment read at start, or a map in tests);
    /// the variables are listed in `sirslack_lambda::vars::EVENTS_HANDLER`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(lookup);
        let lazy_transport = match env.text(&EVENT_BUS_NAME) {
            Some(bus_name) => LazyTransport::EventBus { bus_name },
            None => LazyTransport::SelfInvoke {
                function_name: match env.text(&SELF_FUNCTION_NAME) {
                    Some(name) => name,
                    None => env.required(&AWS_LAMBDA_FUNCTION_NAME)?,
                },
            },
        };
        let inline_budget = env.millis(&INLINE_BUDGET_MS, DEFAULT_INLINE_BUDGET, 0..=2500)?;
        // Queued jobs expire after a day: give up on them well before.
        let lane_job_give_up = env.seconds(
            &LANE_JOB_GIVE_UP_SECONDS,
            DEFAULT_LANE_JOB_GIVE_UP,
            1..=12 * 60 * 60,
        )?;
        let slack_api_url = env
            .parse(&SLACK_API_URL, "an http(s) URL", |url| {
                (url.starts_with("https://") || url.starts_with("http://"))
                    .then(|| url.trim_end_matches('/').to_owned())
            })?
            .unwrap_or_else(|| DEFAULT_SLACK_API_URL.to_owned());
        let app_id = env.parse(&SLACK_APP_ID, "a Slack app ID such as A0123456789", |id| {
            is_app_id(id).then(|| id.to_owned())
        })?;
        Ok(Self {
            table_name: env.required(&TABLE_NAME)?,
            parameters: ParameterNames {
                signing_secret: env.required(&SLACK_SIGNING_SECRET_PARAMETER)?,
                bot_token: env.required(&SLACK_BOT_TOKEN_PARAMETER)?,
                workspace_id: env.required(&SLACK_WORKSPACE_ID_PARAMETER)?,
            },
            app_id,
            command_handler_function: env.required(&COMMAND_HANDLER_FUNCTION_NAME)?,
            lazy_transport,
            secrets_cache_ttl: env.seconds(
                &SECRETS_CACHE_TTL_SECONDS,
                DEFAULT_SECRETS_CACHE_TTL,
                0..=86_400,
            )?,
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
    use sirslack_lambda::vars as env;

    #[test]
    fn reads_exactly_the_listed_variables() {
        let check =
            sirslack_lambda::check::reads_match(&sirslack_lambda::vars::EVENTS_HANDLER, |lookup| {
                Config::from_lookup(lookup)
            });
        assert_eq!(check, Ok(()));
    }

    fn base() -> HashMap<&'static str, String> {
        HashMap::from([
            (env::TABLE_NAME.name, "table".to_owned()),
            (
                env::SLACK_SIGNING_SECRET_PARAMETER.name,
                "/s/secret".to_owned(),
            ),
            (env::SLACK_BOT_TOKEN_PARAMETER.name, "/s/token".to_owned()),
            (
                env::SLACK_WORKSPACE_ID_PARAMETER.name,
                "/s/workspace".to_owned(),
            ),
            (
                env::COMMAND_HANDLER_FUNCTION_NAME.name,
                "commands".to_owned(),
            ),
            (env::AWS_LAMBDA_FUNCTION_NAME.name, "events".to_owned()),
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
        vars.insert(env::EVENT_BUS_NAME.name, "bus".into());
        vars.insert(env::SECRETS_CACHE_TTL_SECONDS.name, "60".into());
        vars.insert(env::SLACK_API_URL.name, "http://127.0.0.1:9/api/".into());
        let config = read(&vars).unwrap();
        assert_eq!(
            config.lazy_transport,
            LazyTransport::EventBus {
                bus_name: "bus".into()
            }
        );
        assert_eq!(config.secrets_cache_ttl, Duration::from_secs(60));
        assert_eq!(config.slack_api_url, "http://127.0.0.1:9/api");

        vars.insert(env::SECRETS_CACHE_TTL_SECONDS.name, "soon".into());
        assert!(matches!(read(&vars), Err(ConfigError::Invalid { .. })));
        assert_eq!(read(&base()).unwrap().app_id, None);
        let mut vars = base();
        vars.insert(env::SLACK_APP_ID.name, " A0123456789 ".into());
        assert_eq!(read(&vars).unwrap().app_id.as_deref(), Some("A0123456789"));
        vars.insert(env::SLACK_APP_ID.name, "".into());
        assert_eq!(read(&vars).unwrap().app_id, None);
        vars.insert(env::SLACK_APP_ID.name, "T0123456789".into());
        assert!(matches!(read(&vars), Err(ConfigError::Invalid { .. })));
        let mut vars = base();
        vars.remove(env::TABLE_NAME.name);
        assert_eq!(read(&vars), Err(ConfigError::Missing(env::TABLE_NAME.name)));
        let mut vars = base();
        vars.insert(env::INLINE_BUDGET_MS.name, "5000".into());
        assert!(read(&vars).is_err());
        let mut vars = base();
        vars.insert(env::LANE_JOB_GIVE_UP_SECONDS.name, "86400".into());
        assert!(read(&vars).is_err());
        vars.insert(env::LANE_JOB_GIVE_UP_SECONDS.name, "30".into());
        assert_eq!(
            read(&vars).unwrap().lane_job_give_up,
            Duration::from_secs(30)
        );
    }
}
