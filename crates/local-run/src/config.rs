//! How a local world starts: which moto, and the timings that AWS fixes in minutes but a local
//! run needs in seconds.
//!
//! Every value that differs from the deployed stacks (`infra/lib/contract.js`) says so, with the
//! AWS value next to it. Everything else (event patterns, SSM names, environment variables,
//! batch size, receive counts, retry counts) is the deployed value.

use std::time::Duration;

/// Which moto server the world uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MotoChoice {
    /// A server of the world's own, stopped (its process killed) when the world stops. Resource
    /// names are the deployed ones; SIR's native events use moto's real default bus.
    Private,
    /// The per-process shared server (`aws_local::MotoServer::shared`): several worlds in one
    /// test binary share one moto start. Every resource name gets a unique suffix, the SSM
    /// names live under a per-world prefix (as a second deployment's would), and SIR's native
    /// events go to a per-world bus standing in for the account's default bus, so worlds never
    /// see each other's events.
    Shared,
}

/// The Slack client's queue and event source mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackClientDelivery {
    /// Records per invocation (AWS: 10, the same).
    pub batch_size: i32,
    /// Invocations at once (AWS: the mapping's maximum concurrency, 5).
    pub max_concurrency: usize,
    /// Receives before SQS moves a message to the DLQ (AWS: 5, the same).
    pub max_receive_count: u32,
    /// How long a received message stays invisible; a batch item failure comes back after it.
    /// AWS: 6 x the function timeout (90 minutes). Keep it above `function_timeout`.
    pub visibility_timeout: Duration,
    /// The invocation deadline the handler gets. AWS: 15 minutes.
    pub function_timeout: Duration,
    /// When the Slack client gives an event back, it comes back after this
    /// (`REDELIVERY_FIRST_DELAY_SECONDS`; AWS default 60 s), growing to
    /// `redelivery_max_delay` (`REDELIVERY_MAX_DELAY_SECONDS`; AWS default 600 s).
    pub redelivery_first_delay: Duration,
    /// See `redelivery_first_delay`.
    pub redelivery_max_delay: Duration,
}

impl Default for SlackClientDelivery {
    fn default() -> Self {
        Self {
            batch_size: 10,
            max_concurrency: 5,
            max_receive_count: 5,
            visibility_timeout: Duration::from_secs(40),
            function_timeout: Duration::from_secs(30),
            redelivery_first_delay: Duration::from_secs(2),
            redelivery_max_delay: Duration::from_secs(10),
        }
    }
}

/// Lambda's asynchronous invocations (the poller's rules, the lazy-work rule, the command
/// handler's `InvocationType=Event`): the first attempt, then retries, then the function's DLQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncInvocation {
    /// Retries after a failed attempt (AWS: 2, the same).
    pub retry_attempts: u32,
    /// Pause before each retry. AWS: about 1 minute, then about 2 minutes.
    pub retry_delay: Duration,
    /// At most this many invocations of one function at once from one queue.
    pub max_concurrency: usize,
}

impl Default for AsyncInvocation {
    fn default() -> Self {
        Self {
            retry_attempts: 2,
            retry_delay: Duration::from_secs(2),
            max_concurrency: 8,
        }
    }
}

/// How the Slack side delivers Events API callbacks to the app's request URL.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackEventDelivery {
    /// Slack waits this long for a 2xx (Slack: 3 seconds, the same).
    pub ack_timeout: Duration,
    /// Pause before each retry after a failed or timed-out delivery. Slack: 3 retries,
    /// immediately, after 1 minute, after 5 minutes.
    pub retry_delays: Vec<Duration>,
    /// Deliver the app's own posts back to it, as Slack does (`message` with `bot_id`,
    /// `file_shared` by the bot user); the app must drop them.
    pub deliver_app_messages: bool,
}

impl Default for SlackEventDelivery {
    fn default() -> Self {
        Self {
            ack_timeout: Duration::from_secs(3),
            retry_delays: vec![
                Duration::from_millis(500),
                Duration::from_secs(2),
                Duration::from_secs(5),
            ],
            deliver_app_messages: true,
        }
    }
}

/// API Gateway in front of the events handler.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiGatewaySettings {
    /// Stage throttling: requests per second and burst (AWS: 50 and 100, the same); `None`
    /// turns throttling off.
    pub throttle: Option<(f64, u32)>,
    /// The integration timeout (AWS: 29 seconds, the same).
    pub integration_timeout: Duration,
}

impl Default for ApiGatewaySettings {
    fn default() -> Self {
        Self {
            throttle: Some((50.0, 100)),
            integration_timeout: Duration::from_secs(29),
        }
    }
}

/// The SIR stand-in's timing: SIR lists an upload when it is ready, not when the bytes land,
/// and its presigned URLs expire. Non-zero by default, in the tests and in `scripts/run-local`,
/// so that nothing in the integration can depend on an immediate listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SirTiming {
    /// An upload is not listed by GetCase at all for this long after its bytes land (SIR
    /// documents no delay; its scan takes seconds to minutes).
    pub attachment_listing_delay: Duration,
    /// Then it is listed as `Pending` for this long, then `Verified`.
    pub attachment_verification_delay: Duration,
    /// How long a presigned upload or download URL works (SIR documents none; 15 minutes).
    pub presigned_url_lifetime: Duration,
}

impl Default for SirTiming {
    fn default() -> Self {
        Self {
            attachment_listing_delay: sir_standin::DEFAULT_ATTACHMENT_LISTING_DELAY,
            attachment_verification_delay: sir_standin::DEFAULT_ATTACHMENT_VERIFICATION_DELAY,
            presigned_url_lifetime: sir_standin::DEFAULT_PRESIGNED_URL_LIFETIME,
        }
    }
}

/// Everything [`crate::World::start`] needs.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// Which moto.
    pub moto: MotoChoice,
    /// The reconcile schedule: a Scheduled Event for the poller this often. AWS:
    /// `rate(5 minutes)`. `None`: no schedule (call [`crate::World::tick`] yourself).
    pub schedule_interval: Option<Duration>,
    /// The events handler's lane sweep: a Scheduled Event this often. AWS: `rate(5 minutes)`
    /// (`LANE_SWEEP_SCHEDULE`). `None`: no sweep (call [`crate::World::sweep_lanes`] yourself).
    pub lane_sweep_interval: Option<Duration>,
    /// The Slack client's queue and mapping.
    pub slack_client: SlackClientDelivery,
    /// Asynchronous invocations.
    pub async_invocation: AsyncInvocation,
    /// Slack's Events API.
    pub slack_events: SlackEventDelivery,
    /// API Gateway.
    pub api_gateway: ApiGatewaySettings,
    /// The command handler's invocation deadline (AWS: 30 seconds, the same).
    pub command_handler_timeout: Duration,
    /// The events handler's invocation deadline (AWS: 15 minutes, for file transfers).
    pub events_handler_timeout: Duration,
    /// The poller's invocation deadline (AWS: 5 minutes, the same).
    pub poller_timeout: Duration,
    /// The SIR stand-in's attachment listing delay and URL lifetime.
    pub sir_timing: SirTiming,
    /// The command policy JSON for `<prefix>/slackCommandPolicy` (the Slack stack's
    /// `commandPolicy` parameter); `None`: the open policy (`{"version":1}`, the stack's default),
    /// every channel member may run every command.
    pub command_policy: Option<String>,
    /// Extra or replaced environment variables, per function (applied last).
    pub environment_overrides: Vec<(crate::Function, String, String)>,
}

impl Default for WorldConfig {
    fn default() -> Self {
        Self {
            moto: MotoChoice::Private,
            schedule_interval: Some(Duration::from_secs(3)),
            lane_sweep_interval: Some(Duration::from_secs(5)),
            slack_client: SlackClientDelivery::default(),
            async_invocation: AsyncInvocation::default(),
            slack_events: SlackEventDelivery::default(),
            api_gateway: ApiGatewaySettings::default(),
            command_handler_timeout: Duration::from_secs(30),
            events_handler_timeout: Duration::from_secs(120),
            poller_timeout: Duration::from_secs(300),
            sir_timing: SirTiming::default(),
            command_policy: None,
            environment_overrides: Vec::new(),
        }
    }
}

impl WorldConfig {
    /// What the acceptance tests use: the shared moto, a 2-second schedule, no lane sweep.
    pub fn for_tests() -> Self {
        Self {
            moto: MotoChoice::Shared,
            schedule_interval: Some(Duration::from_secs(2)),
            // Off: a sweep is an events handler invocation of its own, and tests that crash
            // "the next invocation" of the events handler must get the one they mean. Tests of
            // the sweep turn it on.
            lane_sweep_interval: None,
            ..Self::default()
        }
    }

    /// Sets (or replaces) one environment variable of one function.
    pub fn with_env(
        mut self,
        function: crate::Function,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.environment_overrides
            .push((function, name.into(), value.into()));
        self
    }
}
