//! The Slack events handler: one HTTPS endpoint (`POST /slack/events` behind API Gateway, Lambda
//! proxy integration) for Slack's Events API callbacks, slash commands and interactivity
//! payloads, acknowledged in milliseconds.
//!
//! Requests go through the [`sirslack_slack_router`] (size limit, signature, workspace,
//! `url_verification`, dedupe, routing); the listeners in [`listeners`] copy messages, joins,
//! leaves and files from case channels to SIR, and hand `/security-ir` commands and button
//! clicks to the command handler as a [`sirslack_slack_router::CommandInvocation`].
//!
//! - [`config`]: the environment;
//! - [`secrets`]: Slack's secrets from SSM, cached per container, re-read once on a mismatch;
//! - [`slack`]: the Slack Web API calls, over the shared adapter [`sirslack_slack_api`];
//! - [`listeners`]: what happens for each event, command and action;
//! - [`transfer`]: file streaming from Slack to SIR;
//! - [`invoke`]: async `lambda:Invoke` / EventBridge delivery of hand-offs;
//! - [`handler`]: assembly and the Lambda entry point.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod config;
pub mod dedupe;
mod diagnostic;
pub mod handler;
pub mod invoke;
pub mod listeners;
pub mod secrets;
pub mod sir;
pub mod slack;
pub mod transfer;

pub use config::Config;
pub use handler::{
    EventsHandler, EventsHandlerBuilder, InvocationError, StartError, proxy_response,
};
