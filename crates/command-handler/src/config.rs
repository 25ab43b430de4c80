//! The function's configuration, read once from the environment at start.

use std::time::Duration;

/// Default of `OTP_SECRET_PARAMETER_PREFIX`: per-user secrets live at
/// `/SecurityIncidentResponse/slackUsers/<userId>/otpSecret`.
pub const DEFAULT_OTP_SECRET_PARAMETER_PREFIX: &str = "/SecurityIncidentResponse/slackUsers";
/// Default of `SECRETS_CACHE_TTL_SECONDS`: how long the bot token is cached.
pub const DEFAULT_SECRETS_CACHE_TTL: Duration = Duration::from_secs(300);
/// Default of `AUTHORIZATION_CACHE_TTL_SECONDS`: how long channel memberships, user groups, the
/// policy and per-user OTP settings are remembered. Short, so that a removal takes effect soon.
pub const DEFAULT_AUTHORIZATION_CACHE_TTL: Duration = Duration::from_secs(60);

/// Environment variable names.
pub mod env {
    /// DynamoDB table.
    pub const TABLE_NAME: &str = "TABLE_NAME";
    /// SSM parameter holding the bot token (SecureString).
    pub const SLACK_BOT_TOKEN_PARAMETER: &str = "SLACK_BOT_TOKEN_PARAMETER";
    /// SSM parameter holding the command policy (optional; unset: no policy).
    pub const COMMAND_POLICY_PARAMETER: &str = "COMMAND_POLICY_PARAMETER";
    /// Prefix of the per-user OTP secret parameters.
    pub const OTP_SECRET_PARAMETER_PREFIX: &str = "OTP_SECRET_PARAMETER_PREFIX";
    /// Slack Web API base URL (a stand-in's in tests).
    pub const SLACK_API_URL: &str = "SLACK_API_URL";
    /// Region of the console links (default: `AWS_REGION`).
    pub const CONSOLE_REGION: &str = "CONSOLE_REGION";
    /// Set by Lambda.
    pub const AWS_REGION: &str = "AWS_REGION";
    /// Seconds the bot token is cached.
    pub const SECRETS_CACHE_TTL_SECONDS: &str = "SECRETS_CACHE_TTL_SECONDS";
    /// Seconds authorization facts are cached.
    pub const AUTHORIZATION_CACHE_TTL_SECONDS: &str = "AUTHORIZATION_CACHE_TTL_SECONDS";
    /// `private` (default) or `public`: how the Slack client creates case channels.
    pub const CHANNEL_VISIBILITY: &str = "CHANNEL_VISIBILITY";
    /// The integration bus: where the events handler's lazy work goes (attaching a forwarded
    /// message's files). Unset: files of forwarded messages cannot be attached.
    pub const EVENT_BUS_NAME: &str = "EVENT_BUS_NAME";
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

/// Everything the command handler is told by its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `TABLE_NAME`.
    pub table_name: String,
    /// `SLACK_BOT_TOKEN_PARAMETER`.
    pub bot_token_parameter: String,
    /// `COMMAND_POLICY_PARAMETER`; `None`: every channel member may run every command.
    pub command_policy_parameter: Option<String>,
    /// `OTP_SECRET_PARAMETER_PREFIX`, without a trailing `/`.
    pub otp_secret_parameter_prefix: String,
    /// `SLACK_API_URL`; `None`: Slack itself.
    pub slack_api_url: Option<String>,
    /// `CONSOLE_REGION`, else `AWS_REGION`.
    pub console_region: String,
    /// `SECRETS_CACHE_TTL_SECONDS` (300).
    pub secrets_cache_ttl: Duration,
    /// `AUTHORIZATION_CACHE_TTL_SECONDS` (60).
    pub authorization_cache_ttl: Duration,
    /// `CHANNEL_VISIBILITY` is `public`: changing a case then needs a policy rule.
    pub channels_public: bool,
    /// `EVENT_BUS_NAME`: the bus the events handler's lazy work travels on; `None`: the files
    /// of a message sent to a case cannot be attached (the person is told).
    pub event_bus_name: Option<String>,
}

impl Config {
    /// A configuration with the defaults for everything optional.
    pub fn new(
        table_name: impl Into<String>,
        bot_token_parameter: impl Into<String>,
        console_region: impl Into<String>,
    ) -> Self {
        Self {
            table_name: table_name.into(),
            bot_token_parameter: bot_token_parameter.into(),
            command_policy_parameter: None,
            otp_secret_parameter_prefix: DEFAULT_OTP_SECRET_PARAMETER_PREFIX.to_owned(),
            slack_api_url: None,
            console_region: console_region.into(),
            secrets_cache_ttl: DEFAULT_SECRETS_CACHE_TTL,
            authorization_cache_ttl: DEFAULT_AUTHORIZATION_CACHE_TTL,
            channels_public: false,
            event_bus_name: None,
        }
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let seconds = |name: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            get(name).map_or(Ok(default), |value| {
                value
                    .parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| ConfigError::Invalid {
                        name,
                        reason: "not a whole number of seconds",
                    })
            })
        };
        let otp_secret_parameter_prefix = get(env::OTP_SECRET_PARAMETER_PREFIX)
            .unwrap_or_else(|| DEFAULT_OTP_SECRET_PARAMETER_PREFIX.to_owned())
            .trim_end_matches('/')
            .to_owned();
        if !otp_secret_parameter_prefix.starts_with('/') {
            return Err(ConfigError::Invalid {
                name: env::OTP_SECRET_PARAMETER_PREFIX,
                reason: "must be an SSM path starting with /",
            });
        }
        let channels_public = match get(env::CHANNEL_VISIBILITY)
            .map(|value| value.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("private") => false,
            Some("public") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: env::CHANNEL_VISIBILITY,
                    reason: "neither `private` nor `public`",
                });
            }
        };
        Ok(Self {
            table_name: required(env::TABLE_NAME)?,
            bot_token_parameter: required(env::SLACK_BOT_TOKEN_PARAMETER)?,
            command_policy_parameter: get(env::COMMAND_POLICY_PARAMETER),
            otp_secret_parameter_prefix,
            slack_api_url: get(env::SLACK_API_URL),
            console_region: get(env::CONSOLE_REGION)
                .or_else(|| get(env::AWS_REGION))
                .ok_or(ConfigError::Missing(env::AWS_REGION))?,
            secrets_cache_ttl: seconds(env::SECRETS_CACHE_TTL_SECONDS, DEFAULT_SECRETS_CACHE_TTL)?,
            authorization_cache_ttl: seconds(
                env::AUTHORIZATION_CACHE_TTL_SECONDS,
                DEFAULT_AUTHORIZATION_CACHE_TTL,
            )?,
            channels_public,
            event_bus_name: get(env::EVENT_BUS_NAME),
        })
    }

    /// The SSM parameter holding `user_id`'s TOTP secret.
    pub fn otp_secret_parameter(&self, user_id: &str) -> String {
        format!("{}/{user_id}/otpSecret", self.otp_secret_parameter_prefix)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn reads_required_and_defaults() {
        let config = Config::from_lookup(lookup(&[
            ("TABLE_NAME", "sirslack"),
            (
                "SLACK_BOT_TOKEN_PARAMETER",
                "/SecurityIncidentResponse/slackBotToken",
            ),
            ("AWS_REGION", "eu-west-1"),
        ]))
        .unwrap();
        assert_eq!(config.table_name, "sirslack");
        assert_eq!(config.command_policy_parameter, None);
        assert_eq!(config.console_region, "eu-west-1");
        assert_eq!(
            config.otp_secret_parameter("U0JANE"),
            "/SecurityIncidentResponse/slackUsers/U0JANE/otpSecret"
        );
        assert_eq!(config.secrets_cache_ttl, DEFAULT_SECRETS_CACHE_TTL);
        assert!(!config.channels_public);
        assert_eq!(config.event_bus_name, None);
        let with_bus = Config::from_lookup(lookup(&[
            ("TABLE_NAME", "t"),
            ("SLACK_BOT_TOKEN_PARAMETER", "/p"),
            ("AWS_REGION", "eu-west-1"),
            ("EVENT_BUS_NAME", "sirslack-integration"),
        ]))
        .unwrap();
        assert_eq!(
            with_bus.event_bus_name.as_deref(),
            Some("sirslack-integration")
        );
    }

    #[test]
    fn prefix_trailing_slash_and_errors() {
        let config = Config::from_lookup(lookup(&[
            ("TABLE_NAME", "t"),
            ("SLACK_BOT_TOKEN_PARAMETER", "/p/token"),
            ("CONSOLE_REGION", "us-west-2"),
            ("AWS_REGION", "eu-west-1"),
            ("OTP_SECRET_PARAMETER_PREFIX", "/p/slackUsers/"),
            ("COMMAND_POLICY_PARAMETER", "/p/slackCommandPolicy"),
            ("AUTHORIZATION_CACHE_TTL_SECONDS", "5"),
            ("CHANNEL_VISIBILITY", "Public"),
        ]))
        .unwrap();
        assert!(config.channels_public);
        assert_eq!(
            config.otp_secret_parameter("U1"),
            "/p/slackUsers/U1/otpSecret"
        );
        assert_eq!(config.console_region, "us-west-2");
        assert_eq!(
            config.command_policy_parameter.as_deref(),
            Some("/p/slackCommandPolicy")
        );
        assert_eq!(config.authorization_cache_ttl, Duration::from_secs(5));

        assert_eq!(
            Config::from_lookup(lookup(&[("TABLE_NAME", "t")])),
            Err(ConfigError::Missing("SLACK_BOT_TOKEN_PARAMETER"))
        );
        assert!(matches!(
            Config::from_lookup(lookup(&[
                ("TABLE_NAME", "t"),
                ("SLACK_BOT_TOKEN_PARAMETER", "/p"),
                ("AWS_REGION", "x"),
                ("CHANNEL_VISIBILITY", "secret"),
            ])),
            Err(ConfigError::Invalid {
                name: "CHANNEL_VISIBILITY",
                ..
            })
        ));
        assert!(matches!(
            Config::from_lookup(lookup(&[
                ("TABLE_NAME", "t"),
                ("SLACK_BOT_TOKEN_PARAMETER", "/p"),
                ("AWS_REGION", "x"),
                ("SECRETS_CACHE_TTL_SECONDS", "soon"),
            ])),
            Err(ConfigError::Invalid { .. })
        ));
        assert!(matches!(
            Config::from_lookup(lookup(&[
                ("TABLE_NAME", "t"),
                ("SLACK_BOT_TOKEN_PARAMETER", "/p"),
                ("AWS_REGION", "x"),
                ("OTP_SECRET_PARAMETER_PREFIX", "relative"),
            ])),
            Err(ConfigError::Invalid { .. })
        ));
    }
}
