//! A running local world: moto, the SIR and Slack stand-ins, and the four functions wired as
//! in AWS. See the crate documentation for the picture.

use std::collections::HashMap;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_local::{LocalAws, MotoServer, OnExisting, ParameterKind, Queue, put_parameter};
use aws_sdk_securityir::types::{
    AwsRegion, EngagementType, ImpactedAwsRegion, ResolverType, Watcher,
};
use aws_sdk_sqs::types::QueueAttributeName;
use bytes::Bytes;
use serde_json::Value;
use sir_standin::{IncidentResponder, SirStandin, StandinConfig};
use slack_standin::signing::{BlockAction, InboundBody, SignedRequest, SlackSigner, SlashCommand};
use slack_standin::{
    ChannelSnapshot, SeedFile, SeedUser, SeededFile, SlackStandin, SlackStandinConfig,
};
use tokio::task::JoinHandle;

use crate::activity::Activity;
use crate::aws_faults::AwsFaults;
use crate::cast::{EVERYONE, Person, RESPONSE_TEAM, WATCHERS};
use crate::config::{MotoChoice, WorldConfig};
use crate::environment::{Endpoints, FunctionEnvironment, environment_of};
use crate::error::{WaitTimeout, WorldError};
use crate::functions::{
    FunctionFaults, FunctionSet, InvocationOutcome, InvocationRecord, Invocations, Runner, Trigger,
};
use crate::gateway::{GatewayFaults, Throttle};
use crate::iam::WorldIam;
use crate::lambda_events::{ACCOUNT_ID, REGION};
use crate::names::{DEFAULT_CHANNEL_PREFIX, Function, ResourceNames};
use crate::provision::{Queues, Secrets, provision, random_bot_token, random_signing_secret};
use crate::pumps;
use crate::slack_side::{AppIdentity, HttpReply, SlackDelivery, SlackSide, no_answer};

/// How often [`World::wait_until`] re-checks its condition.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// How long a slash command or click waits for the endpoint (Slack shows an error after 3 s).
const COMMAND_ACK_TIMEOUT: Duration = Duration::from_secs(3);
/// The slash command the app defines.
pub const SLASH_COMMAND: &str = "/security-ir";

/// What the background tasks share.
pub(crate) struct Shared {
    /// Who may do what; the gate the functions reach moto through.
    pub(crate) iam: WorldIam,
    pub(crate) config: WorldConfig,
    pub(crate) names: ResourceNames,
    pub(crate) queues: Queues,
    pub(crate) aws: LocalAws,
    pub(crate) runner: Runner,
    pub(crate) gateway_faults: GatewayFaults,
    pub(crate) throttle: Option<Mutex<Throttle>>,
    pub(crate) activity: Activity,
}

/// A case to create through the SIR API (what `aws security-ir create-case` sends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRequest {
    /// Title (1 to 300 characters).
    pub title: String,
    /// Description (1 to 8,000 characters).
    pub description: String,
    /// Watchers' e-mail addresses.
    pub watchers: Vec<String>,
    /// Impacted AWS accounts (12 digits).
    pub impacted_accounts: Vec<String>,
}

impl Default for CaseRequest {
    fn default() -> Self {
        Self {
            title: "Test Security Incident".to_owned(),
            description: "Testing Slack integration".to_owned(),
            watchers: WATCHERS
                .iter()
                .map(|person| person.email.to_owned())
                .collect(),
            impacted_accounts: vec![ACCOUNT_ID.to_owned()],
        }
    }
}

/// The endpoint's answer to a slash command or a click, and where the command handler answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandReply {
    /// The events handler's acknowledgement.
    pub ack: HttpReply,
    /// The `response_url` token: [`SlackStandin::response_posts`] shows what was posted there.
    pub response_token: String,
}

/// A running world. Dropping it stops every task and every process it started.
pub struct World {
    tasks: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    slack_side: Arc<SlackSide>,
    sir: SirStandin,
    slack: SlackStandin,
    environments: HashMap<Function, FunctionEnvironment>,
    aws_faults: AwsFaults,
    function_faults: FunctionFaults,
    invocations: Invocations,
    lambda_url: String,
    started: Instant,
    /// Last: stopped (its process killed) after everything that talks to it.
    moto: Option<MotoServer>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("endpoint", &self.endpoint_url())
            .field("table", &self.shared.names.table)
            .finish_non_exhaustive()
    }
}

impl World {
    /// Starts moto (or joins the shared one), the stand-ins, the functions and every pump.
    pub async fn start(config: WorldConfig) -> Result<World, WorldError> {
        let started = Instant::now();
        let moto = match config.moto {
            MotoChoice::Private => Some(MotoServer::start().await?),
            MotoChoice::Shared => None,
        };
        let aws = match &moto {
            Some(server) => LocalAws::for_server(server),
            None => LocalAws::shared().await?,
        };
        let names = ResourceNames::for_moto(config.moto);

        let authorizer = crate::iam::harness_authorizer();
        let sir = SirStandin::start_with(StandinConfig {
            account_id: ACCOUNT_ID.to_owned(),
            region: REGION.to_owned(),
            authorizer: Some(authorizer.clone()),
            attachment_listing_delay: config.sir_timing.attachment_listing_delay,
            attachment_verification_delay: config.sir_timing.attachment_verification_delay,
            presigned_url_lifetime: config.sir_timing.presigned_url_lifetime,
            ..StandinConfig::default()
        })
        .await
        .map_err(|error| WorldError::setup("SIR stand-in", error))?;
        let native_events = sir.subscribe_native_events();
        let slack_config = SlackStandinConfig {
            bot_token: random_bot_token(),
            ..SlackStandinConfig::default()
        };
        let slack = SlackStandin::start(slack_config.clone())
            .await
            .map_err(|error| WorldError::setup("Slack stand-in", error))?;
        let workspace_events = slack.subscribe_events();
        let secrets = Secrets {
            bot_token: slack_config.bot_token.clone(),
            signing_secret: random_signing_secret(),
            workspace_id: slack_config.team_id.clone(),
        };

        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let gateway_listener = tokio::net::TcpListener::bind(loopback)
            .await
            .map_err(|error| WorldError::setup("API Gateway listener", error))?;
        let lambda_listener = tokio::net::TcpListener::bind(loopback)
            .await
            .map_err(|error| WorldError::setup("Lambda API listener", error))?;
        let local_addr = |listener: &tokio::net::TcpListener, what| {
            listener
                .local_addr()
                .map_err(|error| WorldError::setup(what, error))
        };
        let endpoint_url = format!(
            "http://{}/slack/events",
            local_addr(&gateway_listener, "API Gateway listener")?
        );
        let lambda_url = format!(
            "http://{}",
            local_addr(&lambda_listener, "Lambda API listener")?
        );

        let queues = provision(&aws, &names, &config, &secrets).await?;
        let iam = WorldIam::start(authorizer, aws.endpoint_url(), &names, &queues).await?;
        let endpoints = Endpoints {
            moto: iam.gate.endpoint_url().to_owned(),
            sir: sir.endpoint_url(),
            lambda: lambda_url.clone(),
            slack_api: slack.api_url(),
            slack_app_id: slack_config.app_id.clone(),
        };
        let environments: HashMap<Function, FunctionEnvironment> = Function::ALL
            .into_iter()
            .map(|function| {
                (
                    function,
                    environment_of(function, &names, &endpoints, &config),
                )
            })
            .collect();
        let aws_faults = AwsFaults::default();
        let function_set = FunctionSet::build(&environments, &aws_faults).await?;
        let timeouts = HashMap::from([
            (Function::Poller, config.poller_timeout),
            (Function::SlackClient, config.slack_client.function_timeout),
            (Function::EventsHandler, config.events_handler_timeout),
            (Function::CommandHandler, config.command_handler_timeout),
        ]);
        let function_faults = FunctionFaults::default();
        let invocations = Invocations::default();
        let activity = Activity::default();
        let runner = Runner::new(
            function_set,
            timeouts,
            function_faults.clone(),
            invocations.clone(),
            activity.clone(),
            started,
        )?;
        let slack_side = Arc::new(SlackSide::new(
            endpoint_url,
            secrets.signing_secret.clone(),
            AppIdentity {
                team_id: slack_config.team_id.clone(),
                app_id: slack_config.app_id.clone(),
                bot_user_id: slack_config.bot_user_id.clone(),
                bot_id: slack_config.bot_id.clone(),
            },
            config.slack_events.clone(),
            activity.clone(),
            started,
        ));
        let throttle = config
            .api_gateway
            .throttle
            .map(|(rate, burst)| Mutex::new(Throttle::new(rate, burst)));
        let shared = Arc::new(Shared {
            iam,
            names,
            queues,
            aws,
            runner,
            gateway_faults: GatewayFaults::default(),
            throttle,
            activity,
            config,
        });

        let mut tasks = Vec::new();
        let gateway = crate::gateway::api_gateway(Arc::clone(&shared))
            .into_make_service_with_connect_info::<SocketAddr>();
        tasks.push(tokio::spawn(async move {
            if let Err(error) = axum::serve(gateway_listener, gateway).await {
                tracing::error!(%error, "API Gateway stopped");
            }
        }));
        let lambda = crate::gateway::lambda_api(Arc::clone(&shared));
        tasks.push(tokio::spawn(async move {
            if let Err(error) = axum::serve(lambda_listener, lambda).await {
                tracing::error!(%error, "Lambda API stopped");
            }
        }));
        for _ in 0..shared.config.slack_client.max_concurrency.max(1) {
            tasks.push(tokio::spawn(pumps::slack_client_mapping(Arc::clone(
                &shared,
            ))));
        }
        tasks.push(tokio::spawn(pumps::async_event_queue(
            Arc::clone(&shared),
            Function::Poller,
            shared.queues.poller.url.clone(),
        )));
        tasks.push(tokio::spawn(pumps::async_event_queue(
            Arc::clone(&shared),
            Function::EventsHandler,
            shared.queues.lazy_work.url.clone(),
        )));
        if let Some(interval) = shared.config.schedule_interval {
            tasks.push(tokio::spawn(pumps::schedule(Arc::clone(&shared), interval)));
        }
        if let Some(interval) = shared.config.lane_sweep_interval {
            tasks.push(tokio::spawn(pumps::lane_sweep_schedule(
                Arc::clone(&shared),
                interval,
            )));
        }
        tasks.push(tokio::spawn(pumps::sir_native_events(
            Arc::clone(&shared),
            native_events,
        )));
        tasks.push(tokio::spawn(
            Arc::clone(&slack_side).run_event_feed(workspace_events),
        ));

        tracing::info!(
            endpoint = %slack_side.endpoint(),
            moto = %shared.aws.endpoint_url(),
            sir = %sir.endpoint_url(),
            slack = %slack.api_url(),
            "local world ready"
        );
        Ok(World {
            tasks,
            shared,
            slack_side,
            sir,
            slack,
            environments,
            aws_faults,
            function_faults,
            invocations,
            lambda_url,
            started,
            moto,
        })
    }

    /// Stops every task, then the stand-ins and moto (same as dropping the world).
    pub async fn shutdown(self) {
        drop(self);
    }

    // ---- parts ----------------------------------------------------------------------------

    /// Every AWS call of a function that its role did not allow (moto, SIR, Lambda), oldest
    /// first. In AWS each one is an `AccessDenied` the function saw.
    pub fn iam_refusals(&self) -> Vec<local_iam::Refusal> {
        self.shared.iam.authorizer.refusals()
    }

    /// Every action each function was allowed so far, by function (what its code used).
    pub fn iam_actions_used(
        &self,
    ) -> std::collections::BTreeMap<Function, std::collections::BTreeSet<String>> {
        let mut used: std::collections::BTreeMap<Function, std::collections::BTreeSet<String>> =
            Function::ALL
                .into_iter()
                .map(|f| (f, Default::default()))
                .collect();
        for (principal, action) in self.shared.iam.authorizer.granted() {
            if let Some(function) = Function::from_function_name(&principal) {
                used.entry(function).or_default().insert(action);
            }
        }
        used
    }

    /// The actions each function's role grants to its own code, as synthesized: every statement
    /// but those CDK adds for the Lambda service's own work on the role (no `Sid`: the event
    /// source mapping's and the dead-letter queue's grants) and `WriteOwnLogs` (the runtime's).
    pub fn iam_actions_granted(
        &self,
    ) -> std::collections::BTreeMap<Function, std::collections::BTreeSet<String>> {
        Function::ALL
            .into_iter()
            .map(|function| (function, crate::iam::code_actions(function)))
            .collect()
    }

    /// The SIR stand-in: seed as a responder would, inspect, inject faults.
    pub fn sir(&self) -> &SirStandin {
        &self.sir
    }

    /// The Slack stand-in: seed, inspect, inject faults.
    pub fn slack(&self) -> &SlackStandin {
        &self.slack
    }

    /// Clients for the world's moto.
    pub fn aws(&self) -> &LocalAws {
        &self.shared.aws
    }

    /// Every resource name.
    pub fn names(&self) -> &ResourceNames {
        &self.shared.names
    }

    /// The queues (and DLQs).
    pub fn queues(&self) -> &Queues {
        &self.shared.queues
    }

    /// How the world was started.
    pub fn config(&self) -> &WorldConfig {
        &self.shared.config
    }

    /// A function's environment.
    pub fn environment(&self, function: Function) -> Option<&FunctionEnvironment> {
        self.environments.get(&function)
    }

    /// The Slack app's request URL: API Gateway's `POST /slack/events`.
    pub fn endpoint_url(&self) -> String {
        self.slack_side.endpoint().to_owned()
    }

    /// The local Lambda API (`AWS_ENDPOINT_URL_LAMBDA`).
    pub fn lambda_url(&self) -> &str {
        &self.lambda_url
    }

    /// The PID of the process supervising the world's own moto server (killed, with moto, when
    /// the world stops); `None` on the shared server.
    pub fn moto_supervisor_pid(&self) -> Option<u32> {
        self.moto.as_ref().map(MotoServer::supervisor_pid)
    }

    /// When the world started (records count from here).
    pub fn started_at(&self) -> Instant {
        self.started
    }

    /// The SIR API as a responder or the console uses it (no faults, no call counting).
    pub fn sir_client(&self) -> aws_sdk_securityir::Client {
        aws_sdk_securityir::Client::new(&aws_local::sdk_config(&self.sir.endpoint_url()))
    }

    /// The integration's table, for reading what the functions stored.
    pub fn table(&self) -> sirslack_store::Table {
        sirslack_store::Table::new(self.aws().dynamodb(), self.names().table.clone())
    }

    // ---- faults and records ---------------------------------------------------------------

    /// Faults on the functions' AWS calls (and their call counts).
    pub fn aws_faults(&self) -> &AwsFaults {
        &self.aws_faults
    }

    /// Crashes of the functions themselves.
    pub fn function_faults(&self) -> &FunctionFaults {
        &self.function_faults
    }

    /// Faults of API Gateway in front of the events handler.
    pub fn api_gateway_faults(&self) -> &GatewayFaults {
        &self.shared.gateway_faults
    }

    /// Every invocation so far, in the order they finished.
    pub fn invocations(&self) -> Vec<InvocationRecord> {
        self.invocations.all()
    }

    /// Every Events API delivery attempt so far.
    pub fn slack_deliveries(&self) -> Vec<SlackDelivery> {
        self.slack_side.deliveries()
    }

    // ---- the Slack side ------------------------------------------------------------------

    /// The workspace ID.
    pub fn team_id(&self) -> String {
        self.slack.team_id()
    }

    /// The signing secret Slack signs with now.
    pub fn slack_signing_secret(&self) -> String {
        self.slack_side.signing_secret()
    }

    /// A signer with the secret Slack signs with now.
    pub fn signer(&self) -> SlackSigner {
        self.slack_side.signer()
    }

    /// Slack signs with `secret` from now on (the app's secret was regenerated in Slack); the
    /// SSM parameter is not touched.
    pub fn set_slack_signing_secret(&self, secret: &str) {
        self.slack_side.set_signing_secret(secret.to_owned());
    }

    /// Writes the SSM parameter the events handler reads the signing secret from (what the
    /// deploy CLI's rotation does); Slack's side is not touched.
    pub async fn put_signing_secret_parameter(&self, secret: &str) -> Result<(), WorldError> {
        put_parameter(
            &self.aws().ssm(),
            &self.names().signing_secret_parameter(),
            secret,
            ParameterKind::Secure,
            OnExisting::Overwrite,
        )
        .await?;
        Ok(())
    }

    /// Writes the command policy parameter (a String, as the deploy CLI and administrators
    /// do), replacing the deployed one. Functions read it through their caches.
    pub async fn put_command_policy(&self, policy: &str) -> Result<(), WorldError> {
        put_parameter(
            &self.aws().ssm(),
            &self.names().command_policy_parameter(),
            policy,
            ParameterKind::Plain,
            OnExisting::Overwrite,
        )
        .await?;
        Ok(())
    }

    /// Enrols `user_id` for one-time codes as an administrator does: their base32 TOTP secret
    /// as a SecureString under the one-time-code prefix.
    pub async fn enrol_for_one_time_codes(
        &self,
        user_id: &str,
        secret_base32: &str,
    ) -> Result<(), WorldError> {
        put_parameter(
            &self.aws().ssm(),
            &self.names().otp_secret_parameter(user_id),
            secret_base32,
            ParameterKind::Secure,
            OnExisting::Overwrite,
        )
        .await?;
        Ok(())
    }

    /// A full rotation: a new secret in SSM, then in Slack. Returns the new secret.
    pub async fn rotate_signing_secret(&self) -> Result<String, WorldError> {
        let secret = random_signing_secret();
        self.put_signing_secret_parameter(&secret).await?;
        self.set_slack_signing_secret(&secret);
        Ok(secret)
    }

    /// The Slack stack destroyed without `--delete-data` and deployed again for the same Slack
    /// app (`deploy-integrations-solution slack destroy`, then `slack`): every parameter under
    /// the prefix is deleted (one-time-code enrolments with them), then the deploy writes its
    /// own again with the same values; every function is built anew from its environment, cold,
    /// with nothing cached from before. The table (kept by destroy, adopted by the deploy), SIR,
    /// the Slack workspace and the queues stay. Call it on a quiet world.
    pub async fn redeploy(&self) -> Result<(), WorldError> {
        let ssm = self.aws().ssm();
        let mut stored = Vec::new();
        let mut pages = ssm
            .get_parameters_by_path()
            .path(&self.names().parameter_prefix)
            .recursive(true)
            .with_decryption(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|error| WorldError::aws("GetParametersByPath")(format!("{error:?}")))?;
            stored.extend(page.parameters.unwrap_or_default());
        }
        for parameter in &stored {
            if let Some(name) = parameter.name() {
                ssm.delete_parameter()
                    .name(name)
                    .send()
                    .await
                    .map_err(|error| WorldError::aws("DeleteParameter")(format!("{error:?}")))?;
            }
        }
        let names = self.names();
        let deployed = [
            names.bot_token_parameter(),
            names.signing_secret_parameter(),
            names.workspace_id_parameter(),
            names.channel_prefix_parameter(),
            names.command_policy_parameter(),
        ];
        for parameter in &stored {
            let (Some(name), Some(value)) = (parameter.name(), parameter.value()) else {
                continue;
            };
            if deployed.iter().any(|deployed| deployed == name) {
                let kind = match parameter.r#type() {
                    Some(aws_sdk_ssm::types::ParameterType::SecureString) => ParameterKind::Secure,
                    _ => ParameterKind::Plain,
                };
                put_parameter(&ssm, name, value, kind, OnExisting::Fail).await?;
            }
        }
        let functions = FunctionSet::build(&self.environments, &self.aws_faults).await?;
        self.shared.runner.replace_functions(functions);
        tracing::info!("redeployed: parameters written again, every function cold");
        Ok(())
    }

    /// Adds a person to the Slack workspace.
    pub fn add_person(&self, person: &Person) -> Result<(), WorldError> {
        self.slack
            .add_user(SeedUser::human(
                person.slack_id,
                person.handle,
                person.real_name,
                person.email,
            ))
            .map_err(|error| WorldError::setup("Slack user", error))
    }

    /// Adds [`crate::cast::EVERYONE`] to Slack and makes [`crate::cast::RESPONSE_TEAM`] the
    /// membership's incident response team in SIR.
    pub fn seed_cast(&self) -> Result<(), WorldError> {
        for person in &EVERYONE {
            self.add_person(person)?;
        }
        self.sir.set_incident_response_team(
            RESPONSE_TEAM
                .iter()
                .map(|person| {
                    IncidentResponder::new(person.real_name, person.job_title, person.email)
                })
                .collect(),
        );
        Ok(())
    }

    /// `user` writes `text` in a channel. Slack then delivers the `message` event to the app
    /// (if it is in the channel). Returns the message's `ts`.
    pub fn post_message(
        &self,
        channel_id: &str,
        user_id: &str,
        text: &str,
    ) -> Result<String, WorldError> {
        self.slack
            .post_user_message(channel_id, user_id, text)
            .map_err(|error| WorldError::setup("Slack message", error))
    }

    /// `user_id` opens the app's Home tab: Slack delivers `app_home_opened` (`tab: home`) to the
    /// endpoint, signed and with its retries. Returns the callback's `event_id`; the published
    /// view shows in [`SlackStandin::home_view`].
    pub fn open_app_home(&self, user_id: &str) -> String {
        self.open_app_tab(user_id, "home")
    }

    /// `user_id` opens one of the app's tabs (`home` or `messages`).
    pub fn open_app_tab(&self, user_id: &str, tab: &str) -> String {
        let dm_channel = format!("D{}", user_id.get(1..).unwrap_or(user_id));
        self.slack_side
            .deliver_event(slack_standin::signing::events::app_home_opened(
                user_id,
                &dm_channel,
                tab,
            ))
    }

    /// `user` shares a file in a channel (the `message` with `subtype: file_share` and
    /// `file_shared` events follow).
    pub fn share_file(
        &self,
        channel_id: &str,
        user_id: &str,
        name: &str,
        bytes: impl Into<Bytes>,
        comment: Option<&str>,
    ) -> Result<SeededFile, WorldError> {
        self.slack
            .add_user_file(SeedFile {
                channel_id: channel_id.to_owned(),
                user_id: user_id.to_owned(),
                name: name.to_owned(),
                title: None,
                mimetype: None,
                bytes: bytes.into(),
                initial_comment: comment.map(str::to_owned),
                thread_ts: None,
            })
            .map_err(|error| WorldError::setup("Slack file", error))
    }

    /// `person` runs `/security-ir <text>` in a channel: Slack's signed form POST to the
    /// endpoint, with a fresh `response_url` on the stand-in and a `trigger_id` the Slack
    /// stand-in issued (so `views.open` takes it once, within 3 s).
    pub async fn slash_command(
        &self,
        person: &Person,
        channel_id: &str,
        text: &str,
    ) -> Result<CommandReply, WorldError> {
        self.send_slash_command(person, channel_id, text, false)
            .await
    }

    /// [`World::slash_command`], reaching the app after its `trigger_id` expired (Slack gives
    /// 3 seconds to open a modal with it): what a slow network or a cold start looks like.
    pub async fn slash_command_late(
        &self,
        person: &Person,
        channel_id: &str,
        text: &str,
    ) -> Result<CommandReply, WorldError> {
        self.send_slash_command(person, channel_id, text, true)
            .await
    }

    async fn send_slash_command(
        &self,
        person: &Person,
        channel_id: &str,
        text: &str,
        late: bool,
    ) -> Result<CommandReply, WorldError> {
        let response_token = uuid::Uuid::new_v4().simple().to_string();
        let channel_name = self
            .slack
            .channel(channel_id)
            .map_or_else(|| "unknown".to_owned(), |channel| channel.name);
        let command = SlashCommand::new(
            SLASH_COMMAND,
            text,
            person.slack_id,
            channel_id,
            &self.team_id(),
        )
        .with_user_name(person.handle)
        .with_channel_name(&channel_name)
        .with_response_url(&self.slack.response_url_in(&response_token, channel_id));
        let command = match self.slack.issue_trigger_id(person.slack_id) {
            Ok(trigger_id) => {
                if late {
                    self.slack
                        .expire_trigger_id(&trigger_id)
                        .map_err(|error| WorldError::setup("Slack trigger", error))?;
                }
                command.with_trigger_id(&trigger_id)
            }
            // A person Slack does not know keeps the random trigger `views.open` refuses.
            Err(_) => command,
        };
        let request = self.signer().sign(command.into_body());
        let ack = self
            .send_signed_with_timeout(&request, COMMAND_ACK_TIMEOUT)
            .await?;
        Ok(CommandReply {
            ack,
            response_token,
        })
    }

    /// `person` clicks a button (`action_id`, `value`) on the message `message_ts` (with a
    /// `trigger_id` the Slack stand-in issued).
    pub async fn click(
        &self,
        person: &Person,
        channel_id: &str,
        message_ts: &str,
        action_id: &str,
        value: &str,
    ) -> Result<CommandReply, WorldError> {
        self.send_click(
            person,
            channel_id,
            message_ts,
            (None, action_id),
            value,
            false,
        )
        .await
    }

    /// `person` clicks the button `action_id` of block `block_id` (the case message's
    /// `case:<caseId>`) on the message `message_ts`, carrying `value`, as Slack sends it (a
    /// trigger the stand-in issued, valid 3 s).
    pub async fn click_in_block(
        &self,
        person: &Person,
        channel_id: &str,
        message_ts: &str,
        (block_id, action_id): (&str, &str),
        value: &str,
    ) -> Result<CommandReply, WorldError> {
        self.send_click(
            person,
            channel_id,
            message_ts,
            (Some(block_id), action_id),
            value,
            false,
        )
        .await
    }

    /// [`World::click_in_block`], reaching the app after its `trigger_id` expired.
    pub async fn click_in_block_late(
        &self,
        person: &Person,
        channel_id: &str,
        message_ts: &str,
        (block_id, action_id): (&str, &str),
        value: &str,
    ) -> Result<CommandReply, WorldError> {
        self.send_click(
            person,
            channel_id,
            message_ts,
            (Some(block_id), action_id),
            value,
            true,
        )
        .await
    }

    async fn send_click(
        &self,
        person: &Person,
        channel_id: &str,
        message_ts: &str,
        (block_id, action_id): (Option<&str>, &str),
        value: &str,
        late: bool,
    ) -> Result<CommandReply, WorldError> {
        let response_token = uuid::Uuid::new_v4().simple().to_string();
        let mut action = BlockAction::button(
            &self.team_id(),
            person.slack_id,
            channel_id,
            message_ts,
            action_id,
            value,
        )
        .with_response_url(&self.slack.response_url_in(&response_token, channel_id));
        action.user_name = person.handle.to_owned();
        action.api_app_id = self.slack.config().app_id;
        if let Some(block_id) = block_id {
            block_id.clone_into(&mut action.block_id);
        }
        if let Ok(trigger_id) = self.slack.issue_trigger_id(person.slack_id) {
            if late {
                self.slack
                    .expire_trigger_id(&trigger_id)
                    .map_err(|error| WorldError::setup("Slack trigger", error))?;
            }
            action.trigger_id = trigger_id;
        }
        let request = self.signer().sign(action.into_body());
        let ack = self
            .send_signed_with_timeout(&request, COMMAND_ACK_TIMEOUT)
            .await?;
        Ok(CommandReply {
            ack,
            response_token,
        })
    }

    /// `person` presses the button `action_id` on their Home tab: a `block_actions` payload
    /// as Slack sends it from a view (container `view`, no channel, no message, no
    /// `response_url`), with a trigger the stand-in issued. The app's ack.
    pub async fn press_home_button(
        &self,
        person: &Person,
        action_id: &str,
    ) -> Result<HttpReply, WorldError> {
        let trigger_id = self
            .slack
            .issue_trigger_id(person.slack_id)
            .map_err(|error| WorldError::setup("Slack trigger", error))?;
        let mut action =
            BlockAction::button(&self.team_id(), person.slack_id, "", "", action_id, "")
                .with_trigger_id(&trigger_id);
        action.user_name = person.handle.to_owned();
        action.api_app_id = self.slack.config().app_id;
        let mut payload = action.to_payload();
        if let Some(fields) = payload.as_object_mut() {
            for absent in ["channel", "message", "response_url"] {
                fields.remove(absent);
            }
            fields.insert(
                "container".to_owned(),
                serde_json::json!({"type": "view", "view_id": "VHOME0001"}),
            );
        }
        let body = InboundBody::form(&[("payload", &payload.to_string())]);
        let request = self.signer().sign(body);
        self.send_signed_with_timeout(&request, COMMAND_ACK_TIMEOUT)
            .await
    }

    /// `person` picks `value` in the static select `action_id` of block `block_id` on the
    /// message `message_ts` (the case message's or a nudge's status menu), as Slack sends it.
    pub async fn choose_from_menu(
        &self,
        person: &Person,
        channel_id: &str,
        message_ts: &str,
        (block_id, action_id): (&str, &str),
        value: &str,
    ) -> Result<CommandReply, WorldError> {
        let response_token = uuid::Uuid::new_v4().simple().to_string();
        let mut action = BlockAction::button(
            &self.team_id(),
            person.slack_id,
            channel_id,
            message_ts,
            action_id,
            "",
        )
        .with_response_url(&self.slack.response_url_in(&response_token, channel_id));
        action.user_name = person.handle.to_owned();
        action.api_app_id = self.slack.config().app_id;
        let mut payload = action.to_payload();
        payload["actions"] = serde_json::json!([{
            "type": "static_select",
            "action_id": action_id,
            "block_id": block_id,
            "selected_option": {
                "text": { "type": "plain_text", "text": value },
                "value": value,
            },
            "action_ts": format!("{:.6}", chrono::Utc::now().timestamp_micros() as f64 / 1e6),
        }]);
        let body = InboundBody::form(&[("payload", &payload.to_string())]);
        let request = self.signer().sign(body);
        let ack = self
            .send_signed_with_timeout(&request, COMMAND_ACK_TIMEOUT)
            .await?;
        Ok(CommandReply {
            ack,
            response_token,
        })
    }

    /// POSTs any signed request to the endpoint (waits up to 35 s: longer than API Gateway's
    /// own timeout, so its answer is always seen).
    pub async fn send_signed(&self, request: &SignedRequest) -> Result<HttpReply, WorldError> {
        self.send_signed_with_timeout(request, Duration::from_secs(35))
            .await
    }

    /// POSTs a signed request, giving up after `timeout` (as Slack does after 3 s).
    pub async fn send_signed_with_timeout(
        &self,
        request: &SignedRequest,
        timeout: Duration,
    ) -> Result<HttpReply, WorldError> {
        self.slack_side
            .post(request, timeout)
            .await
            .map_err(|error| no_answer(self.slack_side.endpoint(), error))
    }

    // ---- the SIR side --------------------------------------------------------------------

    /// Creates a case through the SIR API (`CreateCase`), as `aws security-ir create-case`
    /// does. SIR announces it with a `Case Created` native event.
    pub async fn create_case(&self, request: &CaseRequest) -> Result<String, WorldError> {
        let mut create = self
            .sir_client()
            .create_case()
            .resolver_type(ResolverType::SelfValue)
            .title(&request.title)
            .description(&request.description)
            .engagement_type(EngagementType::SecurityIncident)
            .reported_incident_start_date(aws_smithy_types::DateTime::from_secs(
                chrono::Utc::now().timestamp(),
            ))
            .impacted_aws_regions(
                ImpactedAwsRegion::builder()
                    .region(AwsRegion::UsEast1)
                    .build()
                    .map_err(|error| WorldError::aws("CreateCase")(error.to_string()))?,
            );
        for account in &request.impacted_accounts {
            create = create.impacted_accounts(account);
        }
        for email in &request.watchers {
            let watcher = Watcher::builder()
                .email(email)
                .build()
                .map_err(|error| WorldError::aws("CreateCase")(error.to_string()))?;
            create = create.watchers(watcher);
        }
        let created = create
            .send()
            .await
            .map_err(|error| WorldError::aws("CreateCase")(format!("{error:?}")))?;
        Ok(created.case_id().to_owned())
    }

    /// The channel name the integration gives a case (the default prefix).
    pub fn channel_name_for(case_id: &str) -> String {
        format!("{DEFAULT_CHANNEL_PREFIX}-{case_id}")
    }

    /// The case's channel in Slack, once created.
    pub fn case_channel(&self, case_id: &str) -> Option<ChannelSnapshot> {
        self.slack.channel_by_name(&Self::channel_name_for(case_id))
    }

    /// Waits for the case's channel and returns it.
    pub async fn wait_for_case_channel(
        &self,
        case_id: &str,
        timeout: Duration,
    ) -> Result<ChannelSnapshot, WaitTimeout> {
        self.wait_until(
            &format!("the channel of case {case_id}"),
            timeout,
            |world| world.case_channel(case_id).is_some(),
        )
        .await?;
        self.case_channel(case_id).ok_or_else(|| WaitTimeout {
            what: format!("the channel of case {case_id}"),
            waited: timeout,
        })
    }

    /// Waits until the integration has finished setting up the case's channel (the Slack
    /// client's last step is telling SIR: `[Slack Update] Slack channel created: #...`), so the
    /// watchers are invited and the initial message is posted; returns the channel.
    pub async fn wait_for_case_ready(
        &self,
        case_id: &str,
        timeout: Duration,
    ) -> Result<ChannelSnapshot, WaitTimeout> {
        let started = Instant::now();
        let channel = self.wait_for_case_channel(case_id, timeout).await?;
        let left = timeout.saturating_sub(started.elapsed());
        self.wait_until(
            &format!("the channel of case {case_id} set up"),
            left,
            |world| {
                world
                    .sir
                    .comments(case_id)
                    .iter()
                    .any(|comment| comment.body.contains("Slack channel created"))
            },
        )
        .await?;
        Ok(self.slack.channel(&channel.id).unwrap_or(channel))
    }

    // ---- driving --------------------------------------------------------------------------

    /// Runs one scheduled reconcile now (besides the schedule's own).
    pub async fn tick(&self) -> InvocationOutcome {
        pumps::run_schedule(&self.shared).await
    }

    /// Runs one lane sweep of the events handler now (besides the sweep schedule's own).
    pub async fn sweep_lanes(&self) -> InvocationOutcome {
        pumps::run_lane_sweep(&self.shared).await
    }

    /// Invokes a function directly with `payload`.
    pub async fn invoke(&self, function: Function, payload: Value) -> InvocationOutcome {
        self.shared
            .runner
            .invoke(function, Trigger::Direct, payload)
            .await
    }

    // ---- waiting --------------------------------------------------------------------------

    /// Waits until `condition` holds, re-checking every 20 ms; returns how long it took.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut condition: impl FnMut(&World) -> bool,
    ) -> Result<Duration, WaitTimeout> {
        let started = Instant::now();
        loop {
            if condition(self) {
                return Ok(started.elapsed());
            }
            if started.elapsed() >= timeout {
                return Err(WaitTimeout {
                    what: what.to_owned(),
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Like [`World::wait_until`] with an asynchronous condition (a table read, an SQS count).
    pub async fn wait_until_async<F, Fut>(
        &self,
        what: &str,
        timeout: Duration,
        mut condition: F,
    ) -> Result<Duration, WaitTimeout>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let started = Instant::now();
        loop {
            if condition().await {
                return Ok(started.elapsed());
            }
            if started.elapsed() >= timeout {
                return Err(WaitTimeout {
                    what: what.to_owned(),
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Waits until the world has settled: no invocation, Slack delivery (or its retry) or
    /// async retry in flight, the Slack client, poller and lazy-work queues empty (nothing
    /// waiting for a visibility timeout either), and nothing happening for `quiet_for`
    /// (scheduled reconciles that publish nothing do not count).
    pub async fn wait_until_quiet(
        &self,
        quiet_for: Duration,
        timeout: Duration,
    ) -> Result<Duration, WaitTimeout> {
        let queues = [
            self.queues().slack_client.clone(),
            self.queues().poller.clone(),
            self.queues().lazy_work.clone(),
        ];
        self.wait_until_async("the world to settle", timeout, || async {
            let idle = self
                .shared
                .activity
                .idle_for()
                .is_some_and(|idle| idle >= quiet_for);
            if !idle {
                return false;
            }
            for queue in &queues {
                match self.queue_depth(queue).await {
                    Ok(0) => {}
                    _ => return false,
                }
            }
            true
        })
        .await
    }

    /// Messages in a queue: visible, in flight and delayed.
    pub async fn queue_depth(&self, queue: &Queue) -> Result<u64, WorldError> {
        let attributes = self
            .aws()
            .sqs()
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|error| WorldError::aws("GetQueueAttributes")(format!("{error:?}")))?;
        Ok(attributes
            .attributes()
            .map(|attributes| {
                attributes
                    .values()
                    .filter_map(|count| count.parse::<u64>().ok())
                    .sum()
            })
            .unwrap_or(0))
    }

    /// The bodies of the messages in a function's DLQ (read without consuming them).
    pub async fn dead_letters(&self, function: Function) -> Result<Vec<String>, WorldError> {
        let Some(queue) = self.queues().dead_letter_queue_of(function) else {
            return Ok(Vec::new());
        };
        pumps::peek(&self.aws().sqs(), &queue.url)
            .await
            .map_err(WorldError::aws("ReceiveMessage"))
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
