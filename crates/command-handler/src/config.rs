//! The function's configuration, read once from the environment at start.

use std::time::Duration;

pub use sirslack_lambda::ConfigError;
use sirslack_lambda::Env;
use sirslack_lambda::vars::{
    AUTHORIZATION_CACHE_TTL_SECONDS, CHANNEL_VISIBILITY, COMMAND_POLICY_PARAMETER, EVENT_BUS_NAME,
    OTP_SECRET_PARAMETER_PREFIX, SECRETS_CACHE_TTL_SECONDS, SLACK_API_URL,
    SLACK_BOT_TOKEN_PARAMETER, TABLE_NAME,
};

/// Default of `OTP_SECRET_PARAMETER_PREFIX`: per-user secrets live at
/// `/SecurityIncidentResponse/slackUsers/<userId>/otpSecret`.
pub const DEFAULT_OTP_SECRET_PARAMETER_PREFIX: &str = "/SecurityIncidentResponse/slackUsers";
/// Default of `SECRETS_CACHE_TTL_SECONDS`: how long the bot token is cached.
pub const DEFAULT_SECRETS_CACHE_TTL: Duration = Duration::from_secs(300);
/// Default of `AUTHORIZATION_CACHE_TTL_SECONDS`: how long channel memberships, user groups, the
/// policy and per-user OTP settings are remembered. Short, so that a removal takes effect soon.
pub const DEFAULT_AUTHORIZATION_CACHE_TTL: Duration = Duration::from_secs(60);

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

    /// Reads variables through `lookup` (the environment read at start, or a map in tests);
    /// the variables are listed in `sirslack_lambda::vars::COMMAND_HANDLER`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(lookup);
        let otp_secret_parameter_prefix = env
            .parse(
                &OTP_SECRET_PARAMETER_PREFIX,
                "an SSM path starting with /",
                |prefix| {
                    let prefix = prefix.trim_end_matches('/');
                    prefix.starts_with('/').then(|| prefix.to_owned())
                },
            )?
            .unwrap_or_else(|| DEFAULT_OTP_SECRET_PARAMETER_PREFIX.to_owned());
        let channels_public = env.choice(
            &CHANNEL_VISIBILITY,
            false,
            &[("private", false), ("public", true)],
        )?;
        Ok(Self {
            table_name: env.required(&TABLE_NAME)?,
            bot_token_parameter: env.required(&SLACK_BOT_TOKEN_PARAMETER)?,
            command_policy_parameter: env.text(&COMMAND_POLICY_PARAMETER),
            otp_secret_parameter_prefix,
            slack_api_url: env.text(&SLACK_API_URL),
            console_region: env.console_region()?,
            secrets_cache_ttl: env.seconds(
                &SECRETS_CACHE_TTL_SECONDS,
                DEFAULT_SECRETS_CACHE_TTL,
                0..=86_400,
            )?,
            authorization_cache_ttl: env.seconds(
                &AUTHORIZATION_CACHE_TTL_SECONDS,
                DEFAULT_AUTHORIZATION_CACHE_TTL,
                0..=86_400,
            )?,
            channels_public,
            event_bus_name: env.text(&EVENT_BUS_NAME),
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
    fn reads_exactly_the_listed_variables() {
        let check = sirslack_lambda::check::reads_match(
            &sirslack_lambda::vars::COMMAND_HANDLER,
            |lookup| Config::from_lookup(lookup),
        );
        assert_eq!(check, Ok(()));
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
