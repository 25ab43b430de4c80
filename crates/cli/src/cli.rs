//! The command line: `slack` deploys (the seed's flags, plus ours), and `slack <operation>`
//! runs one of the operations (manifest, verify, rotate, redrive, destroy).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::manifest::ManifestFormat;

/// `usage:` of `slack --help`: the seed's line first, unchanged, then our flags and operations.
pub const SLACK_USAGE: &str = "\
deploy-integrations-solution slack [-h] --bot-token BOT_TOKEN --signing-secret SIGNING_SECRET --workspace-id WORKSPACE_ID [--log-level {info,debug,error}]
                                          [--region REGION] [--profile PROFILE] [--channel-visibility {private,public}]
                                          [--alarm-email ALARM_EMAIL] [--app-name NAME] [--app-id APP_ID] [--deployment NAME]
                                          [--skip-slack-check] [--sync-existing {open,none,YYYY-MM-DD}] [--dry-run] [--yes]
       deploy-integrations-solution slack {manifest,verify,rotate,redrive,destroy} ...";

/// The whole `slack --help` text, in the seed's (argparse) layout. The seed's lines are kept
/// verbatim; the lines after `--log-level` are ours.
pub const SLACK_HELP: &str = "\
usage: deploy-integrations-solution slack [-h] --bot-token BOT_TOKEN --signing-secret SIGNING_SECRET --workspace-id WORKSPACE_ID [--log-level {info,debug,error}]
                                          [--region REGION] [--profile PROFILE] [--channel-visibility {private,public}]
                                          [--alarm-email ALARM_EMAIL] [--app-name NAME] [--app-id APP_ID] [--deployment NAME]
                                          [--skip-slack-check] [--sync-existing {open,none,YYYY-MM-DD}] [--dry-run] [--yes]
       deploy-integrations-solution slack {manifest,verify,rotate,redrive,destroy} ...

options:
  -h, --help            show this help message and exit
  --bot-token BOT_TOKEN
                        Slack Bot User OAuth Token (xoxb-...)
  --signing-secret SIGNING_SECRET
                        Slack App Signing Secret
  --workspace-id WORKSPACE_ID
                        Slack Workspace ID
  --log-level {info,debug,error}
                        Log level for Lambda functions
  --region REGION       AWS region (default: AWS_REGION or the profile's region)
  --profile PROFILE     AWS named profile (default: AWS_PROFILE or the default credentials)
  --channel-visibility {private,public}
                        Visibility of the channels created for cases (default: private); with
                        public, changing a case from Slack needs a command policy rule
  --alarm-email ALARM_EMAIL
                        E-mail address that receives the integration's alarms
  --app-name NAME       Name of the Slack app in the manifests this tool prints; kept for later
                        deploys and manifests (default: AWS Security IR Integration)
  --app-id APP_ID       Slack app ID (A..., Basic Information > App Credentials): events, commands
                        and clicks for another app are ignored; kept for later deploys (default:
                        read with bots.info for the token's bot)
  --deployment NAME     Name of an extra deployment for another workspace in the same account and
                        region (stacks get -NAME, parameters /SecurityIncidentResponse/NAME/)
  --skip-slack-check    Do not check the bot token with Slack auth.test (offline)
  --sync-existing {open,none,YYYY-MM-DD}
                        What a first deploy syncs of the cases SIR already has: open gives every
                        open case a channel with its history; none only cases created or updated
                        from now on; a date, open cases updated since that day (UTC). Cases not
                        synced get a channel once updated (default: open; an update keeps the
                        first deploy's choice)
  --dry-run             Print the plan and exit, without calling AWS or Slack (needs no secrets)
  --yes                 Do not ask for confirmation

operations (deploy-integrations-solution slack OPERATION --help for their options):
  manifest              Print the Slack app manifest, with the endpoint filled in
  verify                Check a deployment end to end; exit code 0 when every check passes
  rotate                Replace the signing secret, the bot token or both (only what is given), then
                        verify; never revoke the old token unless it leaked (rotate --help)
  redrive               Move the messages of the dead-letter queues back to their sources
  destroy               Delete both stacks and the secret parameters (the table stays)

Keep secrets out of shell history: leave --bot-token/--signing-secret out and set SLACK_BOT_TOKEN
and SLACK_SIGNING_SECRET (SLACK_WORKSPACE_ID too, if you like), or pass - as the value to read it
from standard input (one line each, the token first). An update keeps the stored secrets unless
new ones are given; on a first deploy, a missing secret is asked for without echo on a terminal.
Secrets are never printed, logged or passed to CloudFormation.
";

/// Environment variables that can hold the deploy and rotate inputs.
pub const BOT_TOKEN_ENV: &str = "SLACK_BOT_TOKEN";
pub const SIGNING_SECRET_ENV: &str = "SLACK_SIGNING_SECRET";
pub const WORKSPACE_ID_ENV: &str = "SLACK_WORKSPACE_ID";

/// Command-line value meaning "read it from standard input".
pub const FROM_STDIN: &str = "-";

#[derive(Parser)]
#[command(
    name = "sirslack",
    version,
    about = "Deploy and operate sirslack, the AWS Security Incident Response integration for Slack",
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Deploy the Slack integration, or run one of its operations
    #[command(
        override_help = SLACK_HELP,
        override_usage = SLACK_USAGE,
        args_conflicts_with_subcommands = true,
        disable_help_subcommand = true,
        disable_version_flag = true
    )]
    Slack(Box<SlackArgs>),
}

#[derive(Args)]
pub struct SlackArgs {
    #[command(subcommand)]
    pub operation: Option<Operation>,
    #[command(flatten)]
    pub deploy: DeployArgs,
}

/// The deploy flags. Not `Debug`: it holds secrets.
#[derive(Args)]
pub struct DeployArgs {
    /// Slack Bot User OAuth Token (xoxb-...)
    #[arg(long, value_name = "BOT_TOKEN")]
    pub bot_token: Option<String>,
    /// Slack App Signing Secret
    #[arg(long, value_name = "SIGNING_SECRET")]
    pub signing_secret: Option<String>,
    /// Slack Workspace ID
    #[arg(long, value_name = "WORKSPACE_ID")]
    pub workspace_id: Option<String>,
    /// Log level for Lambda functions
    #[arg(long, value_enum, default_value_t = LogLevel::Error)]
    pub log_level: LogLevel,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Visibility of the channels created for cases
    #[arg(long, value_enum, default_value_t = ChannelVisibility::Private)]
    pub channel_visibility: ChannelVisibility,
    /// E-mail address that receives the integration's alarms
    #[arg(long, value_name = "ALARM_EMAIL")]
    pub alarm_email: Option<String>,
    /// Name of the Slack app in the manifests this tool prints; kept for later deploys and
    /// manifests
    #[arg(long, value_name = "NAME")]
    pub app_name: Option<String>,
    /// Slack app ID (A..., under Basic Information > App Credentials): events, commands and
    /// clicks for another app are ignored; kept for later deploys (default: read with bots.info for
    /// the token's bot)
    #[arg(long, value_name = "APP_ID")]
    pub app_id: Option<String>,
    /// Do not check the bot token with Slack auth.test (offline)
    #[arg(long)]
    pub skip_slack_check: bool,
    /// What a first deploy syncs of the cases SIR already has: open, none, or YYYY-MM-DD
    #[arg(long, value_name = "{open,none,YYYY-MM-DD}", value_parser = parse_sync_existing)]
    pub sync_existing: Option<SyncExisting>,
    /// Print the plan and exit, without calling AWS or Slack (needs no secrets)
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
}

/// `--sync-existing`: which of the cases SIR already has a first deploy gives a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncExisting {
    /// Every open case (the default; no floor).
    Open,
    /// None: only cases created or updated from the deploy on (the floor is the deploy time).
    None,
    /// Open cases updated on or after this day, 00:00 UTC.
    Since(chrono::NaiveDate),
}

impl SyncExisting {
    /// The poller's sync floor for this choice, `now` being the deploy time.
    pub fn floor(
        self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        match self {
            Self::Open => None,
            Self::None => Some(now),
            Self::Since(day) => Some(day.and_time(chrono::NaiveTime::MIN).and_utc()),
        }
    }
}

fn parse_sync_existing(value: &str) -> Result<SyncExisting, String> {
    match value {
        "open" => Ok(SyncExisting::Open),
        "none" => Ok(SyncExisting::None),
        day => chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map(SyncExisting::Since)
            .map_err(|_| format!("{day:?} is not open, none or a date YYYY-MM-DD")),
    }
}

/// Where a deployment lives.
#[derive(Args, Debug, Clone, Default)]
pub struct TargetArgs {
    /// AWS region (default: AWS_REGION or the profile's region)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS named profile (default: AWS_PROFILE or the default credentials)
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Name of an extra deployment (stacks get -NAME, parameters /SecurityIncidentResponse/NAME/)
    #[arg(long, value_name = "NAME")]
    pub deployment: Option<String>,
}

#[derive(Subcommand)]
pub enum Operation {
    /// Print (or write) the Slack app manifest, with the endpoint filled in
    Manifest(ManifestArgs),
    /// Check a deployment end to end, one line per check; exit code 0 when every check passes
    Verify(VerifyArgs),
    /// Replace the signing secret, the bot token or both: only what is given is written (the
    /// other stored value is kept), every value is checked first, then verify
    #[command(after_help = crate::commands::rotate::REVOKE_WARNING)]
    Rotate(RotateArgs),
    /// Move the messages of the dead-letter queues back to their sources
    Redrive(RedriveArgs),
    /// Delete both stacks and the secret parameters, after confirmation; the table with the
    /// case <-> channel links stays (a later deploy adopts it) unless --delete-data
    Destroy(DestroyArgs),
}

#[derive(Args, Debug)]
pub struct ManifestArgs {
    /// Request URL to put in the manifest (default: the Slack stack's SlackEventsApiEndpoint)
    #[arg(long, value_name = "URL", conflicts_with = "no_endpoint")]
    pub endpoint: Option<String>,
    /// A manifest without request URLs, to create the app before the first deploy
    #[arg(long)]
    pub no_endpoint: bool,
    /// Output format (Slack's manifest editor takes both)
    #[arg(long, value_enum, default_value_t = ManifestFormat::Yaml)]
    pub format: ManifestFormat,
    /// Write the manifest to this file instead of standard output
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Name of the Slack app and its bot user (default: the name given to the deploy, else
    /// "AWS Security IR Integration")
    #[arg(long, value_name = "NAME")]
    pub app_name: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Not `Debug`: it holds secrets.
#[derive(Args)]
pub struct RotateArgs {
    /// The new Slack Bot User OAuth Token (xoxb-...) of the same bot user; - reads it from
    /// standard input (default: SLACK_BOT_TOKEN; left out, the stored token is kept)
    #[arg(long, value_name = "BOT_TOKEN")]
    pub bot_token: Option<String>,
    /// The new Slack App Signing Secret; - reads it from standard input (default:
    /// SLACK_SIGNING_SECRET; left out, the stored secret is kept)
    #[arg(long, value_name = "SIGNING_SECRET")]
    pub signing_secret: Option<String>,
    /// Do not check the new bot token with Slack auth.test (nor compare its bot user with the
    /// stored token's) before writing it
    #[arg(long)]
    pub skip_slack_check: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Args, Debug)]
pub struct RedriveArgs {
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Args, Debug)]
pub struct DestroyArgs {
    /// Also delete the DynamoDB table with every case <-> channel link (a later deploy then
    /// creates new channels for open cases); asks to confirm by typing the table's name
    #[arg(long)]
    pub delete_data: bool,
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Info,
    Debug,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Debug => "debug",
            Self::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChannelVisibility {
    Private,
    Public,
}

impl ChannelVisibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Public => "public",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_help_keeps_the_seed_lines_verbatim_and_in_order() {
        let seed = [
            "usage: deploy-integrations-solution slack [-h] --bot-token BOT_TOKEN --signing-secret SIGNING_SECRET --workspace-id WORKSPACE_ID [--log-level {info,debug,error}]",
            "options:",
            "  -h, --help            show this help message and exit",
            "  --bot-token BOT_TOKEN",
            "                        Slack Bot User OAuth Token (xoxb-...)",
            "  --signing-secret SIGNING_SECRET",
            "                        Slack App Signing Secret",
            "  --workspace-id WORKSPACE_ID",
            "                        Slack Workspace ID",
            "  --log-level {info,debug,error}",
            "                        Log level for Lambda functions",
        ];
        let lines: Vec<&str> = SLACK_HELP.lines().collect();
        let mut from = 0;
        for expected in seed {
            let found = lines[from..]
                .iter()
                .position(|line| *line == expected)
                .unwrap_or_else(|| panic!("missing or out of order: {expected}"));
            from += found + 1;
        }
        assert!(SLACK_HELP.starts_with(&format!("usage: {SLACK_USAGE}\n\noptions:\n")));
    }

    #[test]
    fn seed_flags_parse_and_defaults_apply() {
        let cli = Cli::try_parse_from([
            "sirslack",
            "slack",
            "--bot-token",
            "xoxb-1-2-a",
            "--signing-secret",
            "-",
            "--workspace-id",
            "T1234567890",
        ])
        .unwrap();
        let Command::Slack(slack) = cli.command;
        assert!(slack.operation.is_none());
        assert_eq!(slack.deploy.bot_token.as_deref(), Some("xoxb-1-2-a"));
        assert_eq!(slack.deploy.signing_secret.as_deref(), Some("-"));
        assert_eq!(slack.deploy.log_level, LogLevel::Error);
        assert_eq!(slack.deploy.channel_visibility, ChannelVisibility::Private);
        assert!(!slack.deploy.dry_run && !slack.deploy.yes);
    }

    #[test]
    fn operations_parse_with_their_own_flags() {
        let cli = Cli::try_parse_from([
            "sirslack",
            "slack",
            "verify",
            "--region",
            "eu-west-1",
            "--deployment",
            "acme",
        ])
        .unwrap();
        let Command::Slack(slack) = cli.command;
        let Some(Operation::Verify(verify)) = slack.operation else {
            panic!("not verify");
        };
        assert_eq!(verify.target.region.as_deref(), Some("eu-west-1"));
        assert_eq!(verify.target.deployment.as_deref(), Some("acme"));
    }

    const DEPLOYMENT_GUIDE: &str = include_str!("../../../docs/deployment.md");
    const WRAPPER: &str = "scripts/deploy-integrations-solution";

    /// Splits a shell command line into words: quotes, no expansion.
    fn shell_words(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word: Option<String> = None;
        let mut quote: Option<char> = None;
        for c in line.chars() {
            match (quote, c) {
                (Some(open), c) if c == open => quote = None,
                (Some(_), c) => word.get_or_insert_with(String::new).push(c),
                (None, '"' | '\'') => {
                    quote = Some(c);
                    word.get_or_insert_with(String::new);
                }
                (None, c) if c.is_whitespace() => words.extend(word.take()),
                (None, c) => word.get_or_insert_with(String::new).push(c),
            }
        }
        words.extend(word);
        words
    }

    /// Every `scripts/deploy-integrations-solution ...` line of the shell blocks of
    /// docs/deployment.md, continuation lines joined.
    fn documented_command_lines() -> Vec<String> {
        let mut lines = Vec::new();
        let mut in_shell_block = false;
        let mut pending = String::new();
        for line in DEPLOYMENT_GUIDE.lines() {
            if line.starts_with("```") {
                in_shell_block = matches!(line, "```sh" | "```bash");
                continue;
            }
            if !in_shell_block {
                continue;
            }
            match line.strip_suffix('\\') {
                Some(start) => pending.push_str(start),
                None => {
                    pending.push_str(line);
                    if let Some(at) = pending.find(WRAPPER) {
                        lines.push(pending[at..].to_string());
                    }
                    pending.clear();
                }
            }
        }
        lines
    }

    #[test]
    fn every_command_line_in_the_deployment_guide_is_accepted() {
        let lines = documented_command_lines();
        assert!(lines.len() >= 15, "found only {lines:?}");
        for line in &lines {
            let mut words = shell_words(line);
            words[0] = "sirslack".to_string();
            let cli = Cli::try_parse_from(&words)
                .unwrap_or_else(|err| panic!("docs/deployment.md: {line}\n{err}"));
            let Command::Slack(slack) = cli.command;
            let deploy = &slack.deploy;
            let value_checks = [
                deploy
                    .bot_token
                    .as_deref()
                    .filter(|value| *value != FROM_STDIN)
                    .map(crate::validate::bot_token),
                deploy
                    .signing_secret
                    .as_deref()
                    .filter(|value| *value != FROM_STDIN)
                    .map(crate::validate::signing_secret),
                deploy
                    .workspace_id
                    .as_deref()
                    .map(crate::validate::workspace_id),
                deploy
                    .alarm_email
                    .as_deref()
                    .map(crate::validate::alarm_email),
                deploy.app_id.as_deref().map(crate::validate::app_id),
            ];
            for check in value_checks.into_iter().flatten() {
                assert_eq!(check, Ok(()), "docs/deployment.md: {line}");
            }
            let target = match &slack.operation {
                None => &deploy.target,
                Some(Operation::Manifest(args)) => &args.target,
                Some(Operation::Verify(args)) => &args.target,
                Some(Operation::Rotate(args)) => &args.target,
                Some(Operation::Redrive(args)) => &args.target,
                Some(Operation::Destroy(args)) => &args.target,
            };
            assert!(
                crate::commands::ResolvedTarget::from_args(target).is_ok(),
                "docs/deployment.md: {line}"
            );
        }
    }

    #[test]
    fn the_deployment_guide_quotes_the_help_text_verbatim() {
        assert!(
            DEPLOYMENT_GUIDE.contains(&format!("```text\n{SLACK_HELP}```")),
            "docs/deployment.md must quote SLACK_HELP exactly"
        );
        assert!(
            DEPLOYMENT_GUIDE.contains(crate::commands::deploy::SUCCESS_TEXT),
            "docs/deployment.md must quote the success text exactly"
        );
    }

    #[test]
    fn shell_words_handle_quotes() {
        assert_eq!(
            shell_words(r#"a "b c" 'd "e"' f"#),
            ["a", "b c", "d \"e\"", "f"]
        );
        assert_eq!(shell_words(r#"x --name """#), ["x", "--name", ""]);
    }

    #[test]
    fn log_levels_outside_the_seed_set_are_refused() {
        let error = Cli::try_parse_from(["sirslack", "slack", "--log-level", "warn"])
            .err()
            .expect("warn is not a log level");
        assert!(
            error
                .to_string()
                .contains("invalid value 'warn' for '--log-level")
        );
    }
}
