//! Each function's environment, as the stacks set it (`infra/lib/*-stack.js`) plus what Lambda
//! sets and what a local run adds (the stand-ins' URLs), and the AWS SDK configuration a
//! function's `aws_config::load_defaults` would build from it.
//!
//! The maps are never written into the process environment: the four functions share one
//! process, and each reads its own map through its configuration's `from_lookup`, as its binary
//! reads the environment `sirslack_lambda::bootstrap` took from the process. A test holds each
//! map to the list of what the function reads (`sirslack_lambda::vars`).

use std::collections::BTreeMap;
use std::fmt;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use crate::aws_faults::AwsFaults;
use crate::config::WorldConfig;
use crate::lambda_events::REGION;
use crate::names::{DEFAULT_CHANNEL_PREFIX, Function, ResourceNames};

/// The endpoints the functions reach besides Slack.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    /// moto (`AWS_ENDPOINT_URL`).
    pub moto: String,
    /// The SIR stand-in (`AWS_ENDPOINT_URL_SECURITY_IR`).
    pub sir: String,
    /// The local Lambda API (`AWS_ENDPOINT_URL_LAMBDA`).
    pub lambda: String,
    /// The Slack stand-in's Web API (`SLACK_API_URL`).
    pub slack_api: String,
    /// The app the Slack stand-in's requests are for (`SLACK_APP_ID`: the stack's `slackAppId`,
    /// set here so the local world runs with `api_app_id` checked).
    pub slack_app_id: String,
}

/// One function's environment variables.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct FunctionEnvironment {
    vars: BTreeMap<String, String>,
}

impl fmt::Debug for FunctionEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The values are names and URLs, never secrets; still, list only the names.
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

impl FunctionEnvironment {
    /// A variable's value.
    pub fn get(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    /// Every variable, sorted by name.
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    fn set(&mut self, name: &str, value: impl Into<String>) {
        self.vars.insert(name.to_owned(), value.into());
    }
}

/// The environment of `function`.
pub(crate) fn environment_of(
    function: Function,
    names: &ResourceNames,
    endpoints: &Endpoints,
    config: &WorldConfig,
) -> FunctionEnvironment {
    let mut env = FunctionEnvironment::default();
    // What Lambda sets.
    env.set("AWS_REGION", REGION);
    env.set("AWS_DEFAULT_REGION", REGION);
    env.set("AWS_LAMBDA_FUNCTION_NAME", function.binary_name());
    // The functions' logging configuration (JSON, the stacks' `logLevel`), as Lambda passes it.
    env.set("AWS_LAMBDA_LOG_FORMAT", "JSON");
    env.set("AWS_LAMBDA_LOG_LEVEL", "INFO");
    // What a local run adds: every AWS service at moto, SIR and Lambda at their local stand-ins.
    env.set("AWS_ENDPOINT_URL", &endpoints.moto);
    env.set("AWS_ENDPOINT_URL_SECURITY_IR", &endpoints.sir);
    env.set("AWS_ENDPOINT_URL_LAMBDA", &endpoints.lambda);
    // What the stacks set.
    env.set("TABLE_NAME", &names.table);
    match function {
        Function::Poller => {
            env.set("EVENT_BUS_NAME", &names.integration_bus);
            env.set("ATTACHMENT_RECHECK_MINUTES", "15");
            env.set("NUDGE_QUIET_HOURS", "24");
            env.set("NUDGE_QUIET_HOURS_EARLY", "4");
            env.set(
                "RECONCILE_LEASE_SECONDS",
                config.poller_timeout.as_secs().to_string(),
            );
        }
        Function::SlackClient => {
            let delivery = &config.slack_client;
            env.set("SLACK_BOT_TOKEN_PARAMETER", names.bot_token_parameter());
            env.set("CHANNEL_PREFIX_PARAMETER", names.channel_prefix_parameter());
            env.set("CHANNEL_VISIBILITY", "private");
            env.set("ARCHIVE_ON_CLOSE", "true");
            env.set("MAX_ATTACHMENT_BYTES", "104857600");
            env.set("SECRETS_CACHE_TTL_SECONDS", "300");
            env.set(
                "GAP_SKIP_RECEIVE_COUNT",
                delivery
                    .max_receive_count
                    .saturating_sub(1)
                    .max(1)
                    .to_string(),
            );
            env.set("CASE_WAIT_SECONDS", "20");
            env.set("DEADLINE_MARGIN_SECONDS", "10");
            env.set("MAX_CONCURRENT_CASES", "4");
            // Scaled down with the queue's visibility timeout (see `SlackClientDelivery`).
            env.set(
                "REDELIVERY_FIRST_DELAY_SECONDS",
                delivery.redelivery_first_delay.as_secs().max(1).to_string(),
            );
            env.set(
                "REDELIVERY_MAX_DELAY_SECONDS",
                delivery
                    .redelivery_max_delay
                    .max(delivery.redelivery_first_delay)
                    .as_secs()
                    .max(1)
                    .to_string(),
            );
            env.set("SLACK_API_URL", &endpoints.slack_api);
        }
        Function::EventsHandler => {
            env.set(
                "SLACK_SIGNING_SECRET_PARAMETER",
                names.signing_secret_parameter(),
            );
            env.set("SLACK_BOT_TOKEN_PARAMETER", names.bot_token_parameter());
            env.set(
                "SLACK_WORKSPACE_ID_PARAMETER",
                names.workspace_id_parameter(),
            );
            env.set(
                "COMMAND_HANDLER_FUNCTION_NAME",
                Function::CommandHandler.binary_name(),
            );
            env.set("SLACK_APP_ID", &endpoints.slack_app_id);
            env.set("EVENT_BUS_NAME", &names.integration_bus);
            env.set("SECRETS_CACHE_TTL_SECONDS", "300");
            env.set("SLACK_API_URL", &endpoints.slack_api);
        }
        Function::CommandHandler => {
            env.set("SLACK_BOT_TOKEN_PARAMETER", names.bot_token_parameter());
            env.set("COMMAND_POLICY_PARAMETER", names.command_policy_parameter());
            env.set("OTP_SECRET_PARAMETER_PREFIX", names.otp_secrets_path());
            env.set("CHANNEL_VISIBILITY", "private");
            // The events handler's lazy work (a forwarded message's files) goes on this bus.
            env.set("EVENT_BUS_NAME", &names.integration_bus);
            env.set("SECRETS_CACHE_TTL_SECONDS", "300");
            env.set("SLACK_API_URL", &endpoints.slack_api);
        }
    }
    for (target, name, value) in &config.environment_overrides {
        if *target == function {
            env.set(name, value.clone());
        }
    }
    env
}

/// The channel prefix the Slack stack writes to `<prefix>/slackChannelPrefix`.
pub(crate) fn channel_prefix() -> &'static str {
    DEFAULT_CHANNEL_PREFIX
}

/// Per-service endpoint overrides read from a function's own environment, the way the SDK's
/// default chain reads `AWS_ENDPOINT_URL_<SERVICE>` and then `AWS_ENDPOINT_URL` from the
/// process environment.
#[derive(Debug, Clone)]
struct EnvironmentServiceConfig {
    environment: FunctionEnvironment,
}

impl LoadServiceConfig for EnvironmentServiceConfig {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_uppercase().replace([' ', '-'], "_");
        self.environment
            .get(&format!("{}_{service}", key.env()))
            .or_else(|| self.environment.get(key.env()))
    }
}

/// The SDK configuration `function` gets: region and endpoints from its environment, the
/// credentials of its own role (see `crate::iam`), and an HTTP client that counts its calls and injects [`AwsFaults`].
pub(crate) fn sdk_config_for(
    function: Function,
    environment: &FunctionEnvironment,
    faults: &AwsFaults,
) -> SdkConfig {
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(
            environment
                .get("AWS_REGION")
                .unwrap_or_else(|| REGION.to_owned()),
        ))
        .credentials_provider(SharedCredentialsProvider::new(function.credentials()))
        .service_config(EnvironmentServiceConfig {
            environment: environment.clone(),
        })
        .http_client(faults.http_client(function));
    if let Some(moto) = environment.get("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(moto);
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MotoChoice;

    fn endpoints() -> Endpoints {
        Endpoints {
            moto: "http://127.0.0.1:1".into(),
            sir: "http://127.0.0.1:2".into(),
            lambda: "http://127.0.0.1:3".into(),
            slack_api: "http://127.0.0.1:4/api".into(),
            slack_app_id: "A0STANDAPP".into(),
        }
    }

    #[test]
    fn each_function_reads_its_own_configuration_from_its_environment() {
        let names = ResourceNames::for_moto(MotoChoice::Private);
        let config = WorldConfig::default();
        let env = |function| environment_of(function, &names, &endpoints(), &config);

        let poller = env(Function::Poller);
        let poller = sirslack_poller::PollerConfig::from_lookup(|name| poller.get(name)).unwrap();
        assert_eq!(poller.event_bus_name, names.integration_bus);

        let slack_client = env(Function::SlackClient);
        let slack_client =
            sirslack_slack_client::Config::from_lookup(|name| slack_client.get(name)).unwrap();
        assert_eq!(slack_client.gap_skip_receive_count, 4);
        assert_eq!(
            slack_client.bot_token_parameter,
            "/SecurityIncidentResponse/slackBotToken"
        );

        let events = env(Function::EventsHandler);
        let events = sirslack_events_handler::Config::from_lookup(|name| events.get(name)).unwrap();
        assert_eq!(events.command_handler_function, "command-handler");
        assert_eq!(events.app_id.as_deref(), Some("A0STANDAPP"));
        assert_eq!(
            events.lazy_transport,
            sirslack_events_handler::config::LazyTransport::EventBus {
                bus_name: names.integration_bus.clone()
            }
        );

        let commands = env(Function::CommandHandler);
        let commands =
            sirslack_command_handler::Config::from_lookup(|name| commands.get(name)).unwrap();
        assert_eq!(
            commands.otp_secret_parameter("U1"),
            "/SecurityIncidentResponse/slackUsers/U1/otpSecret"
        );
        assert_eq!(
            commands.event_bus_name.as_deref(),
            Some(names.integration_bus.as_str())
        );
    }

    /// The list of what `function` reads (`sirslack_lambda::vars`).
    fn vars_of(function: Function) -> sirslack_lambda::vars::FunctionVars {
        use sirslack_lambda::vars;
        match function {
            Function::Poller => vars::POLLER,
            Function::SlackClient => vars::SLACK_CLIENT,
            Function::EventsHandler => vars::EVENTS_HANDLER,
            Function::CommandHandler => vars::COMMAND_HANDLER,
        }
    }

    #[test]
    fn each_function_gets_what_it_reads_and_nothing_else() {
        use sirslack_lambda::vars::{Need, RUNTIME};
        let names = ResourceNames::for_moto(MotoChoice::Private);
        for function in Function::ALL {
            let env = environment_of(function, &names, &endpoints(), &WorldConfig::default());
            let vars = vars_of(function);
            let runtime = |name: &str| RUNTIME.iter().any(|read| read.var.name == name);
            let unread: Vec<&String> = env
                .vars()
                .keys()
                .filter(|name| !vars.reads(name) && !runtime(name))
                .collect();
            assert!(
                unread.is_empty(),
                "{function} is given variables it does not read: {unread:?}"
            );
            for read in vars.reads.iter().chain(RUNTIME) {
                if matches!(read.need, Need::Required | Need::SetByLambda) {
                    assert!(
                        env.get(read.var.name).is_some(),
                        "{function} lacks {}",
                        read.var.name
                    );
                }
            }
        }
    }

    #[test]
    fn overrides_come_last() {
        let names = ResourceNames::for_moto(MotoChoice::Private);
        let config =
            WorldConfig::default().with_env(Function::SlackClient, "CASE_WAIT_SECONDS", "3");
        let env = environment_of(Function::SlackClient, &names, &endpoints(), &config);
        assert_eq!(env.get("CASE_WAIT_SECONDS").as_deref(), Some("3"));
    }

    #[test]
    fn service_endpoints_come_from_the_function_environment() {
        let names = ResourceNames::for_moto(MotoChoice::Private);
        let env = environment_of(
            Function::EventsHandler,
            &names,
            &endpoints(),
            &WorldConfig::default(),
        );
        let loader = EnvironmentServiceConfig { environment: env };
        let key = |service| {
            ServiceConfigKey::builder()
                .service_id(service)
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .unwrap()
        };
        assert_eq!(
            loader.load_config(key("Security IR")).as_deref(),
            Some("http://127.0.0.1:2")
        );
        assert_eq!(
            loader.load_config(key("Lambda")).as_deref(),
            Some("http://127.0.0.1:3")
        );
        assert_eq!(
            loader.load_config(key("DynamoDB")).as_deref(),
            Some("http://127.0.0.1:1")
        );
    }
}
