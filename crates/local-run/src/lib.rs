//! The whole integration on the local world: moto, the SIR stand-in, the Slack stand-in, and
//! the four functions wired as in AWS, each running the same handler code its Lambda binary
//! runs (built by the same constructors, configured by the same environment variables and SSM
//! parameters), fed the event JSON AWS delivers.
//!
//! ```text
//!  SIR stand-in ──native events──> "default" bus ──rule──> queue ─┐ (Lambda's async
//!  schedule (Scheduled Event) ──────────────────────────────────────┤  queue: retries, DLQ)
//!                                                                   v
//!                                                              sir-poller
//!                                                                   │ PutEvents
//!                                                                   v
//!  integration bus ──rule──> Slack client queue (+DLQ) ──mapping──> slack-client ──> Slack
//!        ^      └──lazy-work rule──> queue ──> slack-events-handler (lazy work)     stand-in
//!        │ PutEvents (lazy work)                                                       │
//!  slack-events-handler <── API Gateway (127.0.0.1: POST /slack/events) <── Events API,│
//!        │ lambda:Invoke (Event)                                  signed, with retries ┘
//!        v
//!  Lambda API (127.0.0.1) ──> command-handler ──> response_url / Web API (Slack stand-in)
//! ```
//!
//! Start a [`World`] with a [`WorldConfig`], act on either side ([`World::create_case`],
//! [`World::sir`], [`World::post_message`], [`World::slash_command`]...), and wait for the other
//! side to show it ([`World::wait_until`]). Faults: [`World::aws_faults`] (the functions' AWS
//! calls), [`World::function_faults`] (crashes), [`World::api_gateway_faults`], and the
//! stand-ins' own. [`scenario`] plays the brief's test scenario and prints a transcript.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod activity;
pub mod aws_faults;
pub mod cast;
pub mod config;
pub mod environment;
pub mod error;
pub mod functions;
pub mod gateway;
mod iam;
pub mod lambda_events;
pub mod names;
pub mod provision;
mod pumps;
pub mod scenario;
pub mod slack_side;
mod world;

pub use aws_faults::{AwsCall, AwsFault, AwsFaultEffect, AwsFaults};
pub use cast::Person;
pub use config::{
    ApiGatewaySettings, AsyncInvocation, MotoChoice, SirTiming, SlackClientDelivery,
    SlackEventDelivery, WorldConfig,
};
pub use environment::FunctionEnvironment;
pub use error::{WaitTimeout, WorldError};
pub use functions::{CrashPoint, FunctionFaults, InvocationOutcome, InvocationRecord, Trigger};
pub use gateway::{GatewayFault, GatewayFaults};
pub use names::{Function, ResourceNames};
pub use provision::Queues;
pub use pumps::SCHEDULE_RULE_NAME;
pub use slack_side::{HttpReply, SlackDelivery};
pub use world::{CaseRequest, CommandReply, SLASH_COMMAND, World};

/// A multi-threaded runtime whose threads have [`functions::HANDLER_STACK_SIZE`] of stack, as a
/// Lambda process's main thread does: the handlers' futures are deep in debug builds. The
/// binary and the acceptance tests run on it.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(functions::HANDLER_STACK_SIZE)
        .build()
}

// The stand-ins' types a caller needs to read what the world did.
pub use local_iam;
pub use sir_standin;
pub use slack_standin;
