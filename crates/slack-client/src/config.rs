//! The function's configuration, from its environment.

use std::time::Duration;

use sirslack_domain::limits::ATTACHMENT_MAX_BYTES;
pub use sirslack_lambda::ConfigError;
use sirslack_lambda::Env;
use sirslack_lambda::vars::{
    ARCHIVE_ON_CLOSE, CASE_WAIT_SECONDS, CHANNEL_PREFIX_PARAMETER, CHANNEL_VISIBILITY,
    DEADLINE_MARGIN_SECONDS, GAP_SKIP_RECEIVE_COUNT, MAX_ATTACHMENT_BYTES, MAX_CONCURRENT_CASES,
    REDELIVERY_FIRST_DELAY_SECONDS, REDELIVERY_MAX_DELAY_SECONDS, REMOVE_DEPARTED_WATCHERS,
    SECRETS_CACHE_TTL_SECONDS, SLACK_API_URL, SLACK_BOT_TOKEN_PARAMETER, TABLE_NAME,
};

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
    /// Reads values through `lookup` (the environment read at start, or a map in tests); the
    /// variables are listed in `sirslack_lambda::vars::SLACK_CLIENT`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(lookup);
        let channel_visibility = env.choice(
            &CHANNEL_VISIBILITY,
            ChannelVisibility::Private,
            &[
                ("private", ChannelVisibility::Private),
                ("public", ChannelVisibility::Public),
            ],
        )?;
        let console_region = env.console_region()?;
        Ok(Self {
            table_name: env.required(&TABLE_NAME)?,
            bot_token_parameter: env.required(&SLACK_BOT_TOKEN_PARAMETER)?,
            channel_prefix_parameter: env.text(&CHANNEL_PREFIX_PARAMETER),
            channel_visibility,
            archive_on_close: env.flag(&ARCHIVE_ON_CLOSE, true)?,
            remove_departed_watchers: env.flag(&REMOVE_DEPARTED_WATCHERS, false)?,
            max_attachment_bytes: env.number(
                &MAX_ATTACHMENT_BYTES,
                DEFAULT_MAX_ATTACHMENT_BYTES,
                1..=ATTACHMENT_MAX_BYTES,
            )?,
            secrets_cache_ttl: env.seconds(
                &SECRETS_CACHE_TTL_SECONDS,
                DEFAULT_SECRETS_CACHE_TTL,
                0..=86_400,
            )?,
            slack_api_url: env.text(&SLACK_API_URL),
            console_region,
            max_concurrent_cases: env.number(
                &MAX_CONCURRENT_CASES,
                DEFAULT_MAX_CONCURRENT_CASES,
                1..=64,
            )?,
            gap_skip_receive_count: env.number(
                &GAP_SKIP_RECEIVE_COUNT,
                DEFAULT_GAP_SKIP_RECEIVE_COUNT,
                1..=1_000,
            )?,
            case_wait: env.seconds(&CASE_WAIT_SECONDS, DEFAULT_CASE_WAIT, 0..=900)?,
            deadline_margin: env.seconds(
                &DEADLINE_MARGIN_SECONDS,
                DEFAULT_DEADLINE_MARGIN,
                0..=900,
            )?,
            redelivery: redelivery_schedule(&env)?,
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

/// `REDELIVERY_FIRST_DELAY_SECONDS` and `REDELIVERY_MAX_DELAY_SECONDS`. Zero would make a
/// failed event visible at once: a tight loop that spends the message's receives (and its way
/// to the dead-letter queue) in seconds; SQS's longest visibility caps both.
fn redelivery_schedule(
    env: &Env<impl Fn(&str) -> Option<String>>,
) -> Result<RedeliverySchedule, ConfigError> {
    let defaults = RedeliverySchedule::default();
    let longest = MAX_VISIBILITY.as_secs();
    let first_delay = env.seconds(
        &REDELIVERY_FIRST_DELAY_SECONDS,
        defaults.first_delay,
        1..=longest,
    )?;
    let max_delay = env.seconds(
        &REDELIVERY_MAX_DELAY_SECONDS,
        defaults.max_delay.max(first_delay),
        first_delay.as_secs()..=longest,
    )?;
    Ok(RedeliverySchedule {
        first_delay,
        max_delay,
    })
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
    fn reads_exactly_the_listed_variables() {
        let check =
            sirslack_lambda::check::reads_match(&sirslack_lambda::vars::SLACK_CLIENT, |lookup| {
                Config::from_lookup(lookup)
            });
        assert_eq!(check, Ok(()));
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
        assert_eq!(missing.name(), "TABLE_NAME");
        let bad = config_error(&[
            ("TABLE_NAME", "t"),
            ("SLACK_BOT_TOKEN_PARAMETER", "/p"),
            ("AWS_REGION", "x"),
            ("ARCHIVE_ON_CLOSE", "maybe"),
        ]);
        assert_eq!(bad.name(), "ARCHIVE_ON_CLOSE");
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
            assert_eq!(
                config_error(&with_required(&pairs)).name(),
                name,
                "{pairs:?}"
            );
        }
    }

    fn config_error(pairs: &[(&str, &str)]) -> ConfigError {
        config(pairs).unwrap_err()
    }
}
