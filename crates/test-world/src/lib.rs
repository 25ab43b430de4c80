//! The local world of sirslack's integration tests, set up in one place.
//!
//! A test asks [`LocalWorld::builder`] for what it needs and gets it running, with fresh names:
//!
//! - moto, always (the per-process shared server, [`aws_local::LocalAws::shared`]);
//! - [`table`](LocalWorldBuilder::table): a fresh copy of sirslack's one DynamoDB table;
//! - [`sir`](LocalWorldBuilder::sir): the SIR stand-in;
//! - [`slack`](LocalWorldBuilder::slack) / [`slack_with`](LocalWorldBuilder::slack_with): the
//!   Slack stand-in;
//! - [`bus`](LocalWorldBuilder::bus): an EventBridge bus with a rule that delivers the events
//!   matching a pattern to an SQS queue ([`LocalBus`]);
//! - [`bot_token`](LocalWorldBuilder::bot_token),
//!   [`signing_secret`](LocalWorldBuilder::signing_secret),
//!   [`workspace_id`](LocalWorldBuilder::workspace_id): the Slack parameters in SSM, under a
//!   fresh prefix ([`SlackParameters`]), as the stacks write them.
//!
//! Seeding (users, channels, cases) and building the function under test stay in each test:
//! this crate only starts the world they run on.
//!
//! ```no_run
//! # async fn example() {
//! use sirslack_test_world::LocalWorld;
//! let world = LocalWorld::builder("events")
//!     .table()
//!     .sir()
//!     .slack()
//!     .bot_token()
//!     .start()
//!     .await;
//! let _table = world.table_name();
//! let _token_parameter = &world.parameters().bot_token;
//! # }
//! ```

#![warn(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use aws_local::{
    LocalAws, OnExisting, ParameterKind, Queue, QueueKind, ReceivedMessage, create_bus,
    create_queue, create_rule_to_queue, put_parameter, unique_name,
};
use serde_json::Value;
use sir_standin::SirStandin;
use sirslack_domain::CaseId;
use sirslack_store::Table;
use slack_standin::{SlackStandin, SlackStandinConfig};

/// The prefix of case channel names, as the integration names them.
pub const CASE_CHANNEL_PREFIX: &str = "aws-security-incident-response-case";

/// What a test asks the world for; [`LocalWorldBuilder::start`] starts it.
#[derive(Default)]
#[must_use = "nothing starts until `start` is awaited"]
pub struct LocalWorldBuilder {
    label: String,
    table: bool,
    sir: bool,
    slack: Option<SlackStandinConfig>,
    bus: Option<Value>,
    bot_token: bool,
    signing_secret: Option<String>,
    workspace_id: bool,
}

impl LocalWorldBuilder {
    /// A fresh table, named after the label.
    pub fn table(mut self) -> Self {
        self.table = true;
        self
    }

    /// The SIR stand-in.
    pub fn sir(mut self) -> Self {
        self.sir = true;
        self
    }

    /// The Slack stand-in with its default configuration.
    pub fn slack(self) -> Self {
        self.slack_with(SlackStandinConfig::default())
    }

    /// The Slack stand-in with `config`.
    pub fn slack_with(mut self, config: SlackStandinConfig) -> Self {
        self.slack = Some(config);
        self
    }

    /// A bus whose rule delivers the events matching `pattern` to a queue.
    pub fn bus(mut self, pattern: Value) -> Self {
        self.bus = Some(pattern);
        self
    }

    /// The bot token parameter (SecureString), holding the Slack stand-in's token.
    pub fn bot_token(mut self) -> Self {
        self.bot_token = true;
        self
    }

    /// The signing secret parameter (SecureString), holding `secret`.
    pub fn signing_secret(mut self, secret: &str) -> Self {
        self.signing_secret = Some(secret.to_owned());
        self
    }

    /// The workspace ID parameter (String), holding the Slack stand-in's team ID.
    pub fn workspace_id(mut self) -> Self {
        self.workspace_id = true;
        self
    }

    /// Starts what was asked for. Panics when a part does not start: this is a test fixture.
    pub async fn start(self) -> LocalWorld {
        let aws = LocalAws::shared()
            .await
            .expect("moto runs (scripts/setup-local-world)");
        let table_name = match self.table {
            true => {
                let name = unique_name(&self.label);
                aws_local::create_table(&aws.dynamodb(), &name)
                    .await
                    .expect("table");
                Some(name)
            }
            false => None,
        };
        let sir = match self.sir {
            true => Some(Arc::new(
                SirStandin::start().await.expect("SIR stand-in starts"),
            )),
            false => None,
        };
        let slack = match self.slack {
            Some(config) => Some(
                SlackStandin::start(config)
                    .await
                    .expect("Slack stand-in starts"),
            ),
            None => None,
        };
        let bus = match &self.bus {
            Some(pattern) => Some(LocalBus::create(&aws, &self.label, pattern).await),
            None => None,
        };
        let parameters = SlackParameters::new(&format!(
            "/{}",
            unique_name(&format!("sirslack-{}", self.label))
        ));
        let slack_value = |what: &str| {
            slack
                .as_ref()
                .unwrap_or_else(|| panic!("the {what} parameter needs the Slack stand-in"))
        };
        let mut values = Vec::new();
        if let Some(secret) = &self.signing_secret {
            values.push((
                &parameters.signing_secret,
                secret.clone(),
                ParameterKind::Secure,
            ));
        }
        if self.bot_token {
            let token = slack_value("bot token").bot_token();
            values.push((&parameters.bot_token, token, ParameterKind::Secure));
        }
        if self.workspace_id {
            let team = slack_value("workspace ID").team_id();
            values.push((&parameters.workspace_id, team, ParameterKind::Plain));
        }
        let ssm = aws.ssm();
        for (name, value, kind) in values {
            put_parameter(&ssm, name, &value, kind, OnExisting::Overwrite)
                .await
                .expect("parameter");
        }
        LocalWorld {
            aws,
            table_name,
            sir,
            slack,
            bus,
            parameters,
        }
    }
}

/// A started local world: what the builder was asked for, with its names. An accessor for a
/// part that was not asked for panics, naming the builder call that is missing.
pub struct LocalWorld {
    aws: LocalAws,
    table_name: Option<String>,
    sir: Option<Arc<SirStandin>>,
    slack: Option<SlackStandin>,
    bus: Option<LocalBus>,
    parameters: SlackParameters,
}

impl LocalWorld {
    /// What to start; `label` starts every name the world makes (table, bus, queue, rule,
    /// parameter prefix), so a leftover says which test made it.
    pub fn builder(label: &str) -> LocalWorldBuilder {
        LocalWorldBuilder {
            label: label.to_owned(),
            ..LocalWorldBuilder::default()
        }
    }

    /// What a function behind the Slack endpoint runs on: a table, both stand-ins, and the
    /// signing secret (`signing_secret`), bot token and workspace ID parameters.
    pub fn slack_app(label: &str, signing_secret: &str) -> LocalWorldBuilder {
        Self::builder(label)
            .table()
            .sir()
            .slack()
            .signing_secret(signing_secret)
            .bot_token()
            .workspace_id()
    }

    /// Clients for moto.
    pub fn aws(&self) -> &LocalAws {
        &self.aws
    }

    /// The table's name (`.table()`).
    pub fn table_name(&self) -> &str {
        self.table_name
            .as_deref()
            .expect("the world has no table: ask the builder for .table()")
    }

    /// The store on the table (`.table()`), without fault injection.
    pub fn table(&self) -> Table {
        Table::new(self.aws.dynamodb(), self.table_name())
    }

    /// The SIR stand-in (`.sir()`); shared, so a test's own world can keep a handle.
    pub fn sir(&self) -> &Arc<SirStandin> {
        self.sir
            .as_ref()
            .expect("the world has no SIR stand-in: ask the builder for .sir()")
    }

    /// A SIR SDK client pointed at the stand-in (`.sir()`).
    pub fn sir_client(&self) -> aws_sdk_securityir::Client {
        let config = aws_sdk_securityir::config::Builder::from(self.aws.sdk_config())
            .endpoint_url(self.sir().endpoint_url())
            .build();
        aws_sdk_securityir::Client::from_conf(config)
    }

    /// The Slack stand-in (`.slack()`); cheap to clone.
    pub fn slack(&self) -> &SlackStandin {
        self.slack
            .as_ref()
            .expect("the world has no Slack stand-in: ask the builder for .slack()")
    }

    /// The bus, its rule's queue (`.bus(pattern)`).
    pub fn bus(&self) -> &LocalBus {
        self.bus
            .as_ref()
            .expect("the world has no bus: ask the builder for .bus(pattern)")
    }

    /// The Slack parameters' names (only those asked for are written).
    pub fn parameters(&self) -> &SlackParameters {
        &self.parameters
    }

    /// Claims `case_id` in the table and links it to `channel_id`, as the Slack client does
    /// once it made the case channel (`.table()`).
    pub async fn link_case(&self, case_id: &str, channel_id: &str) {
        let table = self.table();
        let case: CaseId = case_id.parse().expect("a SIR case ID");
        assert!(table.claim_case(&case).await.expect("ClaimCase"));
        table
            .link_channel(&case, channel_id, CASE_CHANNEL_PREFIX)
            .await
            .expect("LinkChannel");
    }
}

/// The names of the Slack parameters in SSM, under one fresh prefix as the stacks lay them out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackParameters {
    /// The prefix, `/sirslack-{label}-{pid}-{n}`.
    pub prefix: String,
    /// `{prefix}/slackBotToken`.
    pub bot_token: String,
    /// `{prefix}/slackSigningSecret`.
    pub signing_secret: String,
    /// `{prefix}/slackWorkspaceId`.
    pub workspace_id: String,
}

impl SlackParameters {
    fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            bot_token: format!("{prefix}/slackBotToken"),
            signing_secret: format!("{prefix}/slackSigningSecret"),
            workspace_id: format!("{prefix}/slackWorkspaceId"),
        }
    }

    /// Another parameter under the prefix: `{prefix}/{suffix}`.
    pub fn named(&self, suffix: &str) -> String {
        format!("{}/{suffix}", self.prefix)
    }
}

/// An EventBridge bus with one rule that delivers to a standard SQS queue.
#[derive(Debug, Clone)]
pub struct LocalBus {
    aws: LocalAws,
    /// The bus name.
    pub name: String,
    /// The rule's target queue.
    pub queue: Queue,
}

impl LocalBus {
    /// Creates a bus, a queue and a rule sending the events matching `pattern` to the queue,
    /// all named after `label`.
    pub async fn create(aws: &LocalAws, label: &str, pattern: &Value) -> LocalBus {
        let eventbridge = aws.eventbridge();
        let name = unique_name(&format!("{label}-bus"));
        create_bus(&eventbridge, &name).await.expect("bus");
        let queue = create_queue(
            &aws.sqs(),
            &unique_name(&format!("{label}-queue")),
            QueueKind::Standard,
            None,
        )
        .await
        .expect("queue");
        create_rule_to_queue(
            &eventbridge,
            &name,
            &unique_name(&format!("{label}-rule")),
            pattern,
            &queue.arn,
            None,
        )
        .await
        .expect("rule");
        LocalBus {
            aws: aws.clone(),
            name,
            queue,
        }
    }

    /// Receives at least `count` messages from the queue, waiting up to `timeout` (fewer when
    /// it runs out); they stay in the queue until their visibility ends or they are deleted.
    pub async fn receive(&self, count: usize, timeout: Duration) -> Vec<ReceivedMessage> {
        aws_local::receive_count(&self.aws.sqs(), &self.queue.url, count, timeout)
            .await
            .expect("ReceiveMessage")
    }

    /// The messages visible in the queue now.
    pub async fn visible(&self) -> u64 {
        aws_local::visible_message_count(&self.aws.sqs(), &self.queue.url)
            .await
            .expect("GetQueueAttributes")
    }
}
