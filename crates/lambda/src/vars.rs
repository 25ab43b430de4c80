//! Every environment variable the four functions read, each named once.
//!
//! A function's configuration reads a variable through its [`Var`] here (never a string of its
//! own), and lists what it reads in its [`FunctionVars`]; a test in each function crate
//! ([`crate::check::reads_match`]) holds the list and the code to each other. The list is
//! written to `infra/lib/function-environment.json` ([`contract_json`]), which the CDK app's
//! contract and tests read, and the local run checks the environments it builds against it.

use serde_json::{Value, json};

/// One environment variable: its name and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    /// The variable's name.
    pub name: &'static str,
    /// What it holds.
    pub meaning: &'static str,
}

/// Whether a function needs a variable, and what it does without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The function does not start without it.
    Required,
    /// Unset: this value (as it would be written in the variable).
    Default(&'static str),
    /// Unset: what the function does then.
    Optional(&'static str),
    /// Lambda sets it in every function's environment.
    SetByLambda,
}

/// A variable as one function reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    /// The variable.
    pub var: Var,
    /// Whether it must be set.
    pub need: Need,
    /// A value the function accepts (for the checks and the generated contract's readers).
    pub example: &'static str,
}

impl Read {
    const fn new(var: Var, need: Need, example: &'static str) -> Self {
        Self { var, need, example }
    }
}

/// The variables one function's configuration reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionVars {
    /// The function's Lambda binary (`sir-poller`, ...).
    pub binary: &'static str,
    /// What it reads.
    pub reads: &'static [Read],
}

impl FunctionVars {
    /// Whether the function's configuration reads `name`.
    pub fn reads(&self, name: &str) -> bool {
        self.reads.iter().any(|read| read.var.name == name)
    }
}

macro_rules! vars {
    ($($(#[$doc:meta])* $name:ident: $meaning:literal;)*) => {
        $(
            $(#[$doc])*
            pub const $name: Var = Var { name: stringify!($name), meaning: $meaning };
        )*
    };
}

vars! {
    /// The table.
    TABLE_NAME: "the DynamoDB table";
    /// The integration bus.
    EVENT_BUS_NAME: "the integration bus (EventBridge): the poller publishes integration events on it, the events handler's lazy work travels on it";
    /// Attachment recheck interval.
    RECONCILE_ATTACHMENT_RECHECK_MINUTES: "minutes an open case's attachments may go unchecked before a reconcile reads the case again";
    /// Alias of `RECONCILE_ATTACHMENT_RECHECK_MINUTES`.
    ATTACHMENT_RECHECK_MINUTES: "the name the stack sets for RECONCILE_ATTACHMENT_RECHECK_MINUTES (which wins when both are set)";
    /// Attachment re-reads per reconcile.
    RECONCILE_ATTACHMENT_RECHECKS_PER_RUN: "cases re-read for attachments alone per reconcile, oldest check first";
    /// Cases synced at once.
    SYNC_CONCURRENCY: "cases synced at once";
    /// Per-case lease.
    CASE_LEASE_SECONDS: "seconds a case sync holds its per-case lease";
    /// Reconcile lease.
    RECONCILE_LEASE_SECONDS: "seconds a reconcile holds the reconcile lease (the function timeout)";
    /// The SIR membership.
    SIR_MEMBERSHIP_ID: "the SIR membership whose incident response team watches every case";
    /// The sync floor.
    SYNC_CASES_UPDATED_SINCE: "an RFC 3339 time: a case never seen whose last update is before it gets no channel until it is updated";
    /// Quiet-case nudges.
    NUDGE_QUIET_HOURS: "hours an open case may stay quiet before its channel gets a nudge (decimals allowed, 0 turns nudges off)";
    /// Quiet-case nudges of early cases.
    NUDGE_QUIET_HOURS_EARLY: "the same for cases still Submitted or Detection and Analysis (0: as every other case; never longer)";
    /// The bot token's parameter.
    SLACK_BOT_TOKEN_PARAMETER: "the SSM SecureString holding the bot token (its name, never the token)";
    /// The signing secret's parameter.
    SLACK_SIGNING_SECRET_PARAMETER: "the SSM SecureString holding the signing secret (its name, never the secret)";
    /// The workspace ID's parameter.
    SLACK_WORKSPACE_ID_PARAMETER: "the SSM parameter holding the Slack workspace ID";
    /// The channel prefix's parameter.
    CHANNEL_PREFIX_PARAMETER: "the SSM parameter holding the case channels' name prefix";
    /// Channel visibility.
    CHANNEL_VISIBILITY: "private or public: how case channels are created (public: changing a case needs a policy rule)";
    /// Archive on close.
    ARCHIVE_ON_CLOSE: "whether a case's channel is archived when the case closes";
    /// Remove departed watchers.
    REMOVE_DEPARTED_WATCHERS: "whether people who stop watching a case are removed from its channel (else they are told about)";
    /// Largest attachment copied.
    MAX_ATTACHMENT_BYTES: "the largest SIR attachment copied to Slack; larger ones are announced by name and size";
    /// SSM cache lifetime.
    SECRETS_CACHE_TTL_SECONDS: "seconds SSM values (the bot token, the signing secret) are cached; 0: read every time";
    /// Slack's Web API URL.
    SLACK_API_URL: "Slack's Web API base URL (set only for local stand-ins)";
    /// Console links' region.
    CONSOLE_REGION: "the region of the SIR console links";
    /// The function's region.
    AWS_REGION: "the function's region";
    /// Cases of a batch at once.
    MAX_CONCURRENT_CASES: "cases of one batch worked on at the same time";
    /// Gap skip.
    GAP_SKIP_RECEIVE_COUNT: "an event whose predecessor never arrived is applied anyway on this receive";
    /// Busy-case wait.
    CASE_WAIT_SECONDS: "seconds an invocation keeps trying a busy or waiting case before giving its events back to the queue";
    /// Deadline margin.
    DEADLINE_MARGIN_SECONDS: "work stops this many seconds before the invocation's deadline";
    /// First redelivery delay.
    REDELIVERY_FIRST_DELAY_SECONDS: "seconds before an event given back to the queue is delivered again the first time (doubles per receive)";
    /// Longest redelivery delay.
    REDELIVERY_MAX_DELAY_SECONDS: "the longest redelivery delay, in seconds";
    /// The Slack app.
    SLACK_APP_ID: "the Slack app (A...) every event, command and action must be for";
    /// The command handler.
    COMMAND_HANDLER_FUNCTION_NAME: "the command handler function (name or ARN)";
    /// Self-invocation override.
    SELF_FUNCTION_NAME: "the function lazy work is self-invoked on (a local run has no Lambda name)";
    /// The function's own name.
    AWS_LAMBDA_FUNCTION_NAME: "the function's own name";
    /// Ack-path budget.
    INLINE_BUDGET_MS: "milliseconds the ack path may spend copying a message to SIR before handing it off";
    /// Give-up age of queued comments.
    LANE_JOB_GIVE_UP_SECONDS: "seconds after which a queued Slack message that still cannot be written to SIR is given up on (its author told)";
    /// The command policy's parameter.
    COMMAND_POLICY_PARAMETER: "the SSM parameter holding the /security-ir command policy";
    /// One-time-code secrets.
    OTP_SECRET_PARAMETER_PREFIX: "the SSM path of per-person one-time-code secrets (<prefix>/<userId>/otpSecret)";
    /// Authorization cache lifetime.
    AUTHORIZATION_CACHE_TTL_SECONDS: "seconds channel memberships, user groups, the policy and enrolments are remembered";
    /// Lambda's application log level.
    AWS_LAMBDA_LOG_LEVEL: "the application log level (TRACE, DEBUG, INFO, WARN, ERROR, FATAL), from the function's logging configuration";
    /// Lambda's log format.
    AWS_LAMBDA_LOG_FORMAT: "JSON or Text, from the function's logging configuration";
    /// The SDK's region fallback.
    AWS_DEFAULT_REGION: "the function's region (the AWS SDK's fallback)";
    /// Endpoint override for every AWS service.
    AWS_ENDPOINT_URL: "every AWS service's endpoint (local runs only: moto)";
    /// Endpoint override for SIR.
    AWS_ENDPOINT_URL_SECURITY_IR: "SIR's endpoint (local runs only: the SIR stand-in)";
    /// Endpoint override for Lambda.
    AWS_ENDPOINT_URL_LAMBDA: "Lambda's endpoint (local runs only: the local Lambda API)";
}

/// Slack's own Web API.
const SLACK_WEB_API: &str = "https://slack.com/api";

/// Reads several functions share, written once.
const TABLE: Read = Read::new(TABLE_NAME, Need::Required, "sirslack");
const BOT_TOKEN: Read = Read::new(
    SLACK_BOT_TOKEN_PARAMETER,
    Need::Required,
    "/SecurityIncidentResponse/slackBotToken",
);
const SECRETS_TTL: Read = Read::new(SECRETS_CACHE_TTL_SECONDS, Need::Default("300"), "60");
const SLACK_API: Read = Read::new(
    SLACK_API_URL,
    Need::Optional(SLACK_WEB_API),
    "http://127.0.0.1:4/api",
);
const REGION: Read = Read::new(AWS_REGION, Need::SetByLambda, "eu-west-1");
const VISIBILITY: Read = Read::new(CHANNEL_VISIBILITY, Need::Default("private"), "public");
const CONSOLE: Read = Read::new(CONSOLE_REGION, Need::Optional("AWS_REGION"), "us-west-2");

/// What the bootstrap, the runtime's logging and the AWS SDK read in every function (not the
/// function's configuration): set by Lambda, or by a local run.
pub const RUNTIME: &[Read] = &[
    Read::new(AWS_LAMBDA_LOG_LEVEL, Need::SetByLambda, "INFO"),
    Read::new(AWS_LAMBDA_LOG_FORMAT, Need::SetByLambda, "JSON"),
    Read::new(AWS_LAMBDA_FUNCTION_NAME, Need::SetByLambda, "sir-poller"),
    Read::new(AWS_REGION, Need::SetByLambda, "us-east-1"),
    Read::new(AWS_DEFAULT_REGION, Need::SetByLambda, "us-east-1"),
    Read::new(
        AWS_ENDPOINT_URL,
        Need::Optional("AWS's own endpoints"),
        "http://127.0.0.1:5000",
    ),
    Read::new(
        AWS_ENDPOINT_URL_SECURITY_IR,
        Need::Optional("AWS_ENDPOINT_URL, else SIR's own endpoint"),
        "http://127.0.0.1:5001",
    ),
    Read::new(
        AWS_ENDPOINT_URL_LAMBDA,
        Need::Optional("AWS_ENDPOINT_URL, else Lambda's own endpoint"),
        "http://127.0.0.1:5002",
    ),
];

/// The SIR poller (`sir-poller`).
pub const POLLER: FunctionVars = FunctionVars {
    binary: "sir-poller",
    reads: &[
        TABLE,
        Read::new(EVENT_BUS_NAME, Need::Required, "sirslack-integration"),
        Read::new(
            RECONCILE_ATTACHMENT_RECHECK_MINUTES,
            Need::Default("30"),
            "20",
        ),
        Read::new(ATTACHMENT_RECHECK_MINUTES, Need::Default("30"), "15"),
        Read::new(
            RECONCILE_ATTACHMENT_RECHECKS_PER_RUN,
            Need::Default("25"),
            "10",
        ),
        Read::new(SYNC_CONCURRENCY, Need::Default("4"), "8"),
        Read::new(CASE_LEASE_SECONDS, Need::Default("120"), "60"),
        Read::new(RECONCILE_LEASE_SECONDS, Need::Default("300"), "300"),
        Read::new(
            SIR_MEMBERSHIP_ID,
            Need::Optional("found with ListMemberships and remembered"),
            "m-0123456789",
        ),
        Read::new(
            SYNC_CASES_UPDATED_SINCE,
            Need::Optional("no floor: every open case gets a channel"),
            "2026-01-01T00:00:00Z",
        ),
        Read::new(NUDGE_QUIET_HOURS, Need::Default("24"), "12"),
        Read::new(NUDGE_QUIET_HOURS_EARLY, Need::Default("4"), "2"),
    ],
};

/// The Slack client (`slack-client`).
pub const SLACK_CLIENT: FunctionVars = FunctionVars {
    binary: "slack-client",
    reads: &[
        TABLE,
        BOT_TOKEN,
        Read::new(
            CHANNEL_PREFIX_PARAMETER,
            Need::Optional("the prefix aws-security-incident-response-case"),
            "/SecurityIncidentResponse/slackChannelPrefix",
        ),
        VISIBILITY,
        Read::new(ARCHIVE_ON_CLOSE, Need::Default("true"), "false"),
        Read::new(REMOVE_DEPARTED_WATCHERS, Need::Default("false"), "true"),
        Read::new(MAX_ATTACHMENT_BYTES, Need::Default("104857600"), "1048576"),
        SECRETS_TTL,
        SLACK_API,
        CONSOLE,
        REGION,
        Read::new(MAX_CONCURRENT_CASES, Need::Default("4"), "8"),
        Read::new(GAP_SKIP_RECEIVE_COUNT, Need::Default("4"), "3"),
        Read::new(CASE_WAIT_SECONDS, Need::Default("20"), "5"),
        Read::new(DEADLINE_MARGIN_SECONDS, Need::Default("10"), "5"),
        Read::new(REDELIVERY_FIRST_DELAY_SECONDS, Need::Default("60"), "10"),
        Read::new(REDELIVERY_MAX_DELAY_SECONDS, Need::Default("600"), "300"),
    ],
};

/// The events handler (`slack-events-handler`).
pub const EVENTS_HANDLER: FunctionVars = FunctionVars {
    binary: "slack-events-handler",
    reads: &[
        TABLE,
        Read::new(
            SLACK_SIGNING_SECRET_PARAMETER,
            Need::Required,
            "/SecurityIncidentResponse/slackSigningSecret",
        ),
        BOT_TOKEN,
        Read::new(
            SLACK_WORKSPACE_ID_PARAMETER,
            Need::Required,
            "/SecurityIncidentResponse/slackWorkspaceId",
        ),
        Read::new(
            COMMAND_HANDLER_FUNCTION_NAME,
            Need::Required,
            "command-handler",
        ),
        Read::new(
            SLACK_APP_ID,
            Need::Optional("requests are not checked against an app"),
            "A0123456789",
        ),
        Read::new(
            EVENT_BUS_NAME,
            Need::Optional("lazy work is an async self-invocation"),
            "sirslack-integration",
        ),
        Read::new(
            SELF_FUNCTION_NAME,
            Need::Optional("AWS_LAMBDA_FUNCTION_NAME"),
            "slack-events-handler",
        ),
        Read::new(
            AWS_LAMBDA_FUNCTION_NAME,
            Need::SetByLambda,
            "slack-events-handler",
        ),
        SECRETS_TTL,
        Read::new(
            SLACK_API_URL,
            Need::Default(SLACK_WEB_API),
            "http://127.0.0.1:4/api",
        ),
        Read::new(INLINE_BUDGET_MS, Need::Default("1200"), "800"),
        Read::new(LANE_JOB_GIVE_UP_SECONDS, Need::Default("21600"), "3600"),
    ],
};

/// The command handler (`command-handler`).
pub const COMMAND_HANDLER: FunctionVars = FunctionVars {
    binary: "command-handler",
    reads: &[
        TABLE,
        BOT_TOKEN,
        Read::new(
            COMMAND_POLICY_PARAMETER,
            Need::Optional("no policy: every channel member may run every command"),
            "/SecurityIncidentResponse/slackCommandPolicy",
        ),
        Read::new(
            OTP_SECRET_PARAMETER_PREFIX,
            Need::Default("/SecurityIncidentResponse/slackUsers"),
            "/p/slackUsers/",
        ),
        SLACK_API,
        CONSOLE,
        REGION,
        SECRETS_TTL,
        Read::new(AUTHORIZATION_CACHE_TTL_SECONDS, Need::Default("60"), "5"),
        VISIBILITY,
        Read::new(
            EVENT_BUS_NAME,
            Need::Optional("a forwarded message's files cannot be attached (the person is told)"),
            "sirslack-integration",
        ),
    ],
};

/// The four functions.
pub const FUNCTIONS: [FunctionVars; 4] = [POLLER, SLACK_CLIENT, EVENTS_HANDLER, COMMAND_HANDLER];

/// Where the generated contract lives, from the repository root.
pub const CONTRACT_PATH: &str = "infra/lib/function-environment.json";

fn read_json(read: &Read) -> Value {
    let mut entry = json!({ "name": read.var.name, "meaning": read.var.meaning });
    let (need, detail) = match read.need {
        Need::Required => ("required", None),
        Need::Default(value) => ("default", Some(("default", value))),
        Need::Optional(unset) => ("optional", Some(("unset", unset))),
        Need::SetByLambda => ("lambda", None),
    };
    entry["need"] = json!(need);
    if let Some((key, value)) = detail {
        entry[key] = json!(value);
    }
    entry
}

/// The contract the CDK app reads (`infra/lib/function-environment.json`): per function, the
/// variables its configuration reads; and what the runtime and the SDK read in every function.
pub fn contract_json() -> String {
    let functions: serde_json::Map<String, Value> = FUNCTIONS
        .iter()
        .map(|function| {
            (
                function.binary.to_owned(),
                Value::Array(function.reads.iter().map(read_json).collect()),
            )
        })
        .collect();
    let contract = json!({
        "about": "Every environment variable each function reads (need: required, default, optional, or lambda: set by Lambda). Written from crates/lambda/src/vars.rs; do not edit: regenerate with `SIRSLACK_WRITE_CONTRACT=1 cargo test -p sirslack-lambda --test contract`.",
        "functions": functions,
        "runtime": RUNTIME.iter().map(read_json).collect::<Vec<_>>(),
    });
    // A `Value` always serialises; the fallback keeps this free of panics all the same.
    serde_json::to_string_pretty(&contract).map_or_else(|_| String::new(), |text| text + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn each_function_lists_a_variable_once() {
        for function in FUNCTIONS {
            let names: BTreeSet<&str> = function.reads.iter().map(|r| r.var.name).collect();
            assert_eq!(names.len(), function.reads.len(), "{}", function.binary);
            assert!(function.reads(TABLE_NAME.name));
        }
    }

    #[test]
    fn defaults_and_examples_are_written_out() {
        for read in FUNCTIONS.iter().flat_map(|f| f.reads).chain(RUNTIME) {
            assert!(!read.example.is_empty(), "{}", read.var.name);
            assert!(read.var.meaning.len() > 10, "{}", read.var.name);
            if let Need::Default(value) | Need::Optional(value) = read.need {
                assert!(!value.is_empty(), "{}", read.var.name);
            }
        }
    }
}
