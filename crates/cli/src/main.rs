//! `sirslack`: deploy and operate the sirslack integration (run through
//! `scripts/deploy-integrations-solution`).
//!
//! Exit codes: 0 success, 1 failure (including a failed `verify` check), 2 invalid arguments.

mod aws;
mod cli;
mod commands;
mod deployment;
mod input;
mod manifest;
mod progress;
mod slack;
mod tools;
mod validate;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command, Operation};
use crate::commands::{App, Failure};
use crate::slack::SlackApi;

/// Set by the wrapper script to the path it was run as, so suggested commands match.
const INVOKED_AS_ENV: &str = "SIRSLACK_INVOKED_AS";

fn main() -> ExitCode {
    let invoked_as = std::env::var(INVOKED_AS_ENV)
        .ok()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "sirslack".to_string());
    let matches = Cli::command().bin_name(invoked_as.clone()).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let app = App {
        invoked_as,
        slack_api_url: SlackApi::api_url_from_env(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, &app)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(problems)) => {
            for problem in problems {
                eprintln!("error: {problem}");
            }
            eprintln!("(see {} slack --help)", app.invoked_as);
            ExitCode::from(2)
        }
        Err(Failure::Runtime(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
        Err(Failure::Reported) => ExitCode::FAILURE,
    }
}

async fn run(cli: Cli, app: &App) -> Result<(), Failure> {
    let Command::Slack(slack) = cli.command;
    match slack.operation {
        None => commands::deploy::run(slack.deploy, app).await,
        Some(Operation::Manifest(args)) => commands::manifest::run(args).await,
        Some(Operation::Verify(args)) => commands::verify::run(args, app).await,
        Some(Operation::Rotate(args)) => commands::rotate::run(args, app).await,
        Some(Operation::Redrive(args)) => commands::redrive::run(args).await,
        Some(Operation::Destroy(args)) => commands::destroy::run(args, app).await,
    }
}
