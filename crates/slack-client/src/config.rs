//! The function's configuration, from its environment.

use std::time::Duration;

use sirslack_domain::limits::ATTACHMENT_MAX_BYTES;

use crate::redelivery::{MAX_VISIBILITY, RedeliverySchedule};

/// Default of `SECRETS_CACHE_TTL_SECONDS`.
pub const DEFAULT_SECRETS_CACHE_TTL: Duration = Duration::from_secs(300);
/// Default of `MAX_ATTACHMENT_BYTES`: SIR's own limit, 100 MiB.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = ATTACHMENT_MAX_BYTES;
/// Default of `MAX_CONCURRENT_CASES`.
pub const DEFAULT_MAX_CONCURRENT_CASES: usize = 4;
/// Default of `GAP_SKIP_RECEIVE_COUNT`: one less than the queue's `maxReceiveCount` (5).
pub const DEFAULT_GAP_SKIP_RECEIVE_COUNT: u32 = 4;
/// Default of `CASE_WAIT_SECONDS`.
pub const DEFAULT_CASE_WAIT: Duration = Duration::from_secs(20);
/// Default of `DEADLINE_MARGIN_SECONDS`.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// Whether new case channels are private or public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelVisibility {
    /// Only invited people see the channel (the default: cases are confidential).
    #[default]
    Private,
    /// Everyone in the workspace can find and join the channel.
    Public,
}

impl ChannelVisibility {
    /// Whether `conversations.create` gets `is_private=true`.
    pub fn is_private(self) -> bool {
        self == Self::Private
    }
}

/// A configuration value is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration {name}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub name: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// Everything the Slack client is told by its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `TABLE_NAME`: the DynamoDB table.
    pub table_name: String,
    /// `SLACK_BOT_TOKEN_PARAMETER`: the SSM SecureString holding the bot token.
    pub bot_token_parameter: String,
    /// `CHANNEL_PREFIX_PARAMETER`: the SSM parameter holding the channel name prefix (the
    /// domain's default prefix when unset or missing).
    pub channel_prefix_parameter: Option<String>,
    /// `CHANNEL_VISIBILITY`: `private` (default) or `public`.
    pub channel_visibility: ChannelVisibility,
    /// `ARCHIVE_ON_CLOSE`: archive a case's channel when the case closes (default true).
    pub archive_on_close: bool,
    /// `REMOVE_DEPARTED_WATCHERS`: remove people from the channel when they stop watching
    /// the case (default false: they are only told about).
    pub remove_departed_watchers: bool,
    /// `MAX_ATTACHMENT_BYTES`: larger attachments are announced, not copied (default 100 MiB).
    pub max_attachment_bytes: u64,
    /// `SECRETS_CACHE_TTL_SECONDS`: how long SSM values are cached (default 300).
    pub secrets_cache_ttl: Duration,
    /// `SLACK_API_URL`: overrides Slack's Web API URL (the local stand-in).
    pub slack_api_url: Option<String>,
    /// `CONSOLE_REGION`, else `AWS_REGION`: the region of the console links.
    pub console_region: String,
    /// `MAX_CONCURRENT_CASES`: cases of one batch worked on at the same time (default 4).
    pub max_concurrent_cases: usize,
    /// `GAP_SKIP_RECEIVE_COUNT`: an event whose predecessor never arrived is applied anyway
    /// on this receive (default 4), so a lost event does not block its case forever.
    pub gap_skip_receive_count: u32,
    /// `CASE_WAIT_SECONDS`: how long an invocation keeps trying a case whose lease another
    /// worker holds, or whose next event waits for its predecessor, before giving the events
    /// back to the queue (default 20).
    pub case_wait: Duration,
    /// `DEADLINE_MARGIN_SECONDS`: work stops this long before the invocation's deadline
    /// (default 10).
    pub deadline_margin: Duration,
    /// `REDELIVERY_FIRST_DELAY_SECONDS` (default 60) and `REDELIVERY_MAX_DELAY_SECONDS`
    /// (default 600): when an event given back to the queue is delivered again, by its receive
    /// count (see [`RedeliverySchedule`]).
    pub redelivery: RedeliverySchedule,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads values through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let required = |name: &'static str| {
            get(name).ok_or_else(|| ConfigError {
                name,
                problem: "is not set".into(),
            })
        };
        let channel_visibility = match get("CHANNEL_VISIBILITY")
            .map(|value| value.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("private") => ChannelVisibility::Private,
            Some("public") => ChannelVisibility::Public,
            Some(other) => {
                return Err(ConfigError {
                    name: "CHANNEL_VISIBILITY",
                    problem: format!("`{other}` is neither `private` nor `public`"),
                });
            }
        };
        let console_region = get("CONSOLE_REGION")
            .or_else(|| get("AWS_REGION"))
            .ok_or_else(|| ConfigError {
                name: "AWS_REGION",
                problem: "is not set (needed for console links)".into(),
            })?;
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            bot_token_parameter: required("SLACK_BOT_TOKEN_PARAMETER")?,
            channel_prefix_parameter: get("CHANNEL_PREFIX_PARAMETER"),
            channel_visibility,
            archive_on_close: flag(get("ARCHIVE_ON_CLOSE"), "ARCHIVE_ON_CLOSE", true)?,
            remove_departed_watchers: flag(
                get("REMOVE_DEPARTED_WATCHERS"),
                "REMOVE_DEPARTED_WATCHERS",
                false,
            )?,
            max_attachment_bytes: number(
                get("MAX_ATTACHMENT_BYTES"),
                "MAX_ATTACHMENT_BYTES",
                DEFAULT_MAX_ATTACHMENT_BYTES,
            )?,
            secrets_cache_ttl: Duration::from_secs(number(
                get("SECRETS_CACHE_TTL_SECONDS"),
                "SECRETS_CACHE_TTL_SECONDS",
                DEFAULT_SECRETS_CACHE_TTL.as_secs(),
            )?),
            slack_api_url: get("SLACK_API_URL"),
            console_region,
            max_concurrent_cases: number(
                get("MAX_CONCURRENT_CASES"),
                "MAX_CONCURRENT_CASES",
                DEFAULT_MAX_CONCURRENT_CASES as u64,
            )?
            .clamp(1, 64) as usize,
            gap_skip_receive_count: number(
                get("GAP_SKIP_RECEIVE_COUNT"),
                "GAP_SKIP_RECEIVE_COUNT",
                u64::from(DEFAULT_GAP_SKIP_RECEIVE_COUNT),
            )?
            .clamp(1, 1_000) as u32,
            case_wait: Duration::from_secs(number(
                get("CASE_WAIT_SECONDS"),
                "CASE_WAIT_SECONDS",
                DEFAULT_CASE_WAIT.as_secs(),
            )?),
            deadline_margin: Duration::from_secs(number(
                get("DEADLINE_MARGIN_SECONDS"),
                "DEADLINE_MARGIN_SECONDS",
                DEFAULT_DEADLINE_MARGIN.as_secs(),
            )?),
            redelivery: redelivery_schedule(&get)?,
        })
    }

    /// A configuration with the defaults, for tests and local runs.
    pub fn new(
        table_name: impl Into<String>,
        bot_token_parameter: impl Into<String>,
        console_region: impl Into<String>,
    ) -> Self {
        Self {
            table_name: table_name.into(),
            bot_token_parameter: bot_token_parameter.into(),
            channel_prefix_parameter: None,
            channel_visibility: ChannelVisibility::Private,
            archive_on_close: true,
            remove_departed_watchers: false,
            max_attachment_bytes: DEFAULT_MAX_ATTACHMENT_BYTES,
            secrets_cache_ttl: DEFAULT_SECRETS_CACHE_TTL,
            slack_api_url: None,
            console_region: console_region.into(),
            max_concurrent_cases: DEFAULT_MAX_CONCURRENT_CASES,
            gap_skip_receive_count: DEFAULT_GAP_SKIP_RECEIVE_COUNT,
            case_wait: DEFAULT_CASE_WAIT,
            deadline_margin: DEFAULT_DEADLINE_MARGIN,
            redelivery: RedeliverySchedule::default(),
        }
    }
}

/// `REDELIVERY_FIRST_DELAY_SECONDS` and `REDELIVERY_MAX_DELAY_SECONDS`.
fn redelivery_schedule(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<RedeliverySchedule, ConfigError> {
    let defaults = RedeliverySchedule::default();
    let longest = MAX_VISIBILITY.as_secs();
    let first = number(
        get("REDELIVERY_FIRST_DELAY_SECONDS"),
        "REDELIVERY_FIRST_DELAY_SECONDS",
        defaults.first_delay.as_secs(),
    )?;
    // Zero would make a failed event visible at once: a tight loop that spends the message's
    // receives (and its way to the dead-letter queue) in seconds.
    if !(1..=longest).contains(&first) {
        return Err(ConfigError {
            name: "REDELIVERY_FIRST_DELAY_SECONDS",
            problem: format!("`{first}` is not between 1 and {longest} (SQS's longest visibility)"),
        });
    }
    let max = number(
        get("REDELIVERY_MAX_DELAY_SECONDS"),
        "REDELIVERY_MAX_DELAY_SECONDS",
        defaults.max_delay.as_secs().max(first),
    )?;
    if !(first..=longest).contains(&max) {
        return Err(ConfigError {
            name: "REDELIVERY_MAX_DELAY_SECONDS",
            problem: format!(
                "`{max}` is not between REDELIVERY_FIRST_DELAY_SECONDS ({first}) and {longest}"
            ),
        });
    }
    Ok(RedeliverySchedule {
        first_delay: Duration::from_secs(first),
        max_delay: Duration::from_secs(max),
    })
}

fn flag(value: Option<String>, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match value.map(|value| value.to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(ConfigError {
            name,
            problem: format!("`{other}` is not true or false"),
        }),
    }
}

fn number(value: Option<String>, name: &'static str, default: u64) -> Result<u64, ConfigError> {
    match value {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| ConfigError {
            name,
            problem: format!("`{text}` is not a whole number"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults() {
        let config = config(&[
            ("TABLE_NAME", "t"),
            ("SLACK_BOT_TOKEN_PARAMETER", "/p"),
            ("AWS_REGION", "eu-west-1"),
        ])
        .unwrap();
        assert_eq!(config, {
            let mut expected = Config::new("t", "/p", "eu-west-1");
            expected.channel_prefix_parameter = None;
            expected
        });
        assert!(config.archive_on_close);
        assert!(!config.remove_departed_watchers);
        assert_eq!(config.max_attachment_bytes, 104_857_600);
        assert!(config.channel_visibility.is_private());
    }

    #[test]
    fn overrides_and_errors() {
        let config = config(&[
            ("TABLE_NAME", "t"),
            ("SLACK_BOT_TOKEN_PARAMETER", "/p"),
            ("AWS_REGION", "eu-west-1"),
            ("CONSOLE_REGION", "us-east-2"),
            ("CHANNEL_VISIBILITY", "Public"),
            ("ARCHIVE_ON_CLOSE", "false"),
            ("MAX_ATTACHMENT_BYTES", "1024"),
            ("SECRETS_CACHE_TTL_SECONDS", "0"),
            ("SLACK_API_URL", "http://127.0.0.1:1/api"),
        ])
        .unwrap();
        assert_eq!(config.channel_visibility, ChannelVisibility::Public);
        assert!(!config.archive_on_close);
        assert_eq!(config.max_attachment_bytes, 1024);
        assert_eq!(config.secrets_cache_ttl, Duration::ZERO);
        assert_eq!(config.console_region, "us-east-2");
        assert_eq!(
            config.slack_api_url.as_deref(),
            Some("http://127.0.0.1:1/api")
        );

        let missing = config_error(&[("SLACK_BOT_TOKEN_PARAMETER", "/p"), ("AWS_REGION", "x")]);
        assert_eq!(missing.name, "TABLE_NAME");
        let bad = config_error(&[
            ("TABLE_NAME", "t"),
            ("SLACK_BOT_TOKEN_PARAMETER", "/p"),
            ("AWS_REGION", "x"),
            ("ARCHIVE_ON_CLOSE", "maybe"),
        ]);
        assert_eq!(bad.name, "ARCHIVE_ON_CLOSE");
    }

    const REQUIRED: [(&str, &str); 3] = [
        ("TABLE_NAME", "t"),
        ("SLACK_BOT_TOKEN_PARAMETER", "/p"),
        ("AWS_REGION", "eu-west-1"),
    ];

    fn with_required(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        REQUIRED.iter().chain(extra).copied().collect()
    }

    #[test]
    fn redelivery_schedule_defaults_and_overrides() {
        let defaults = config(&REQUIRED).unwrap().redelivery;
        assert_eq!(defaults.first_delay, Duration::from_secs(60));
        assert_eq!(defaults.max_delay, Duration::from_secs(600));

        let tuned = config(&with_required(&[
            ("REDELIVERY_FIRST_DELAY_SECONDS", "10"),
            ("REDELIVERY_MAX_DELAY_SECONDS", "300"),
        ]))
        .unwrap()
        .redelivery;
        assert_eq!(tuned.first_delay, Duration::from_secs(10));
        assert_eq!(tuned.max_delay, Duration::from_secs(300));

        // A first delay above the default cap raises the default cap with it.
        let slow = config(&with_required(&[("REDELIVERY_FIRST_DELAY_SECONDS", "900")]))
            .unwrap()
            .redelivery;
        assert_eq!(slow.max_delay, Duration::from_secs(900));
    }

    #[test]
    fn redelivery_schedule_refuses_what_sqs_or_sense_cannot_take() {
        for (pairs, name) in [
            (
                vec![("REDELIVERY_FIRST_DELAY_SECONDS", "0")],
                "REDELIVERY_FIRST_DELAY_SECONDS",
            ),
            (
                vec![("REDELIVERY_FIRST_DELAY_SECONDS", "43201")],
                "REDELIVERY_FIRST_DELAY_SECONDS",
            ),
            (
                vec![("REDELIVERY_FIRST_DELAY_SECONDS", "soon")],
                "REDELIVERY_FIRST_DELAY_SECONDS",
            ),
            (
                vec![
                    ("REDELIVERY_FIRST_DELAY_SECONDS", "60"),
                    ("REDELIVERY_MAX_DELAY_SECONDS", "30"),
                ],
                "REDELIVERY_MAX_DELAY_SECONDS",
            ),
            (
                vec![("REDELIVERY_MAX_DELAY_SECONDS", "86400")],
                "REDELIVERY_MAX_DELAY_SECONDS",
            ),
        ] {
            assert_eq!(config_error(&with_required(&pairs)).name, name, "{pairs:?}");
        }
    }

    fn config_error(pairs: &[(&str, &str)]) -> ConfigError {
        config(pairs).unwrap_err()
    }
}
