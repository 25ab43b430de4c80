//! The `/security-ir` command handler: drives a SIR case from its Slack channel, safely, with an
//! audit trail.
//!
//! The events handler acknowledges a slash command or a button click within Slack's 3 seconds
//! and invokes this function asynchronously with a
//! [`CommandInvocation`](sirslack_slack_router::CommandInvocation); this function answers
//! through the interaction's `response_url`.
//!
//! - [`handler`]: the flow of one invocation (interpret, authorize, claim, plan, step up,
//!   apply, audit, announce) and the Lambda entry point;
//! - [`authorize`]: channel membership, the optional policy, TOTP step-up;
//! - [`home`]: the person's App Home tab (their open cases, rights and enrolment);
//! - [`lazy`]: work handed to the events handler (attaching a forwarded message's files);
//! - [`commands`]: one module per subcommand, the decision and the SIR call;
//! - [`respond`]: replies through `response_url`, with a Web API fallback;
//! - [`sir`], [`slack`]: the calls to SIR and Slack;
//! - [`config`]: the environment.
//!
//! See `docs/commands.md` for the commands, the policy schema and TOTP enrolment.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod authorize;
pub mod commands;
pub mod config;
mod diagnostic;
pub mod handler;
pub mod home;
pub mod lazy;
pub mod respond;
pub mod sir;
pub mod slack;

pub use config::{Config, ConfigError};
pub use handler::{CommandHandler, InvocationError, Outcome, Services, SetupError};
