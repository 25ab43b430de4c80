//! `sirslack-local`: the whole integration on the local world, no AWS account or Slack
//! workspace needed. By default it plays the test scenario and prints what each side saw;
//! `--serve` keeps the world running for exploring by hand.

use std::fs::File;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use sirslack_local_run::scenario::{self, ScenarioOptions};
use sirslack_local_run::{Function, World, WorldConfig};
use tracing_subscriber::EnvFilter;

/// Runs sirslack end to end on the local world: moto (DynamoDB, EventBridge, SQS, SSM), a SIR
/// stand-in and a Slack stand-in, with the four functions wired as in AWS.
///
/// Without options it plays the test scenario (a case created in SIR -> its channel, messages,
/// comments, slash commands and files both ways -> the case closed and the channel archived),
/// prints a transcript with timings, and exits 0 only if every step was observed on the other
/// side (1 when a step failed, 130 when interrupted).
#[derive(Debug, Parser)]
#[command(name = "sirslack-local", version)]
struct Args {
    /// Keep the world running instead of playing the scenario: prints the Slack endpoint, the
    /// local SIR, Slack and AWS URLs and how to send a signed request; Ctrl-C stops it.
    #[arg(long)]
    serve: bool,

    /// Seconds each scenario step may take to show up on the other side.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    step_timeout: u64,

    /// Seconds between scheduled reconciles (the deployed schedule is 5 minutes).
    #[arg(long, value_name = "SECONDS", default_value_t = 3)]
    schedule: u64,

    /// List every function invocation in the transcript, and show the functions' own stdout
    /// (the poller's metric lines) on stderr.
    #[arg(long)]
    verbose: bool,

    /// Log filter for the functions' logs on stderr (`warn`, `info`, `debug`, or any
    /// `EnvFilter` directive; `RUST_LOG` wins when set).
    #[arg(long, value_name = "FILTER", default_value = "warn")]
    log: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut console = match console(args.verbose) {
        Ok(console) => console,
        Err(error) => {
            eprintln!("sirslack-local: cannot set up the output: {error}");
            return ExitCode::FAILURE;
        }
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&args.log))
        .unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let runtime = match sirslack_local_run::runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sirslack-local: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(args, &mut console));
    // The world's tasks were aborted with it; do not wait for stragglers (long polls).
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

/// The transcript's output: the original stdout. The process's stdout (fd 1) then goes to
/// stderr (`--verbose`) or nowhere, so lines the functions print for CloudWatch do not break
/// up the transcript.
fn console(verbose: bool) -> std::io::Result<File> {
    let transcript = File::from(rustix::io::dup(std::io::stdout())?);
    let functions_stdout: File = if verbose {
        File::from(rustix::io::dup(std::io::stderr())?)
    } else {
        File::options().write(true).open("/dev/null")?
    };
    rustix::stdio::dup2_stdout(&functions_stdout)?;
    Ok(transcript)
}

/// Ctrl-C or SIGTERM. If neither can be watched, only a kill stops the process (moto still
/// stops with it: it watches its supervisor's pipe to this process).
async fn stop_requested() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                eprintln!("sirslack-local: cannot watch SIGTERM: {error}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => {
            if let Err(error) = interrupted {
                eprintln!("sirslack-local: cannot watch Ctrl-C: {error}");
                std::future::pending::<()>().await;
            }
        }
        () = terminate => {}
    }
}

/// Writes a line; a closed output (a pipe to `head`) is not worth failing over.
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

async fn run(args: Args, out: &mut File) -> ExitCode {
    let config = WorldConfig {
        schedule_interval: Some(Duration::from_secs(args.schedule.max(1))),
        ..WorldConfig::default()
    };
    say!(
        out,
        "Starting the local world (moto, SIR and Slack stand-ins, four functions)..."
    );
    let world = tokio::select! {
        world = World::start(config) => world,
        () = stop_requested() => return ExitCode::from(130),
    };
    let world = match world {
        Ok(world) => world,
        Err(error) => {
            eprintln!("sirslack-local: the local world did not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = world.seed_cast() {
        eprintln!("sirslack-local: could not seed the workspace: {error}");
        return ExitCode::FAILURE;
    }
    say!(
        out,
        "Local world ready in {:.1}s.",
        world.started_at().elapsed().as_secs_f64()
    );

    if args.serve {
        print_serve_help(&world, out);
        stop_requested().await;
        say!(out, "\nStopping the local world...");
        world.shutdown().await;
        return ExitCode::SUCCESS;
    }

    let options = ScenarioOptions {
        step_timeout: Duration::from_secs(args.step_timeout.max(1)),
        verbose: args.verbose,
    };
    let report = tokio::select! {
        report = scenario::play(&world, options, out) => report,
        () = stop_requested() => {
            eprintln!("\nInterrupted; stopping the local world...");
            world.shutdown().await;
            return ExitCode::from(130);
        }
    };
    world.shutdown().await;
    if report.passed() {
        say!(out, "\nEvery step was observed on the other side.");
        ExitCode::SUCCESS
    } else {
        let failed = report
            .steps
            .iter()
            .find(|step| step.failure.is_some())
            .map_or("no step ran", |step| step.title.as_str());
        say!(out, "\nThe scenario failed at: {failed}");
        ExitCode::FAILURE
    }
}

fn print_serve_help(world: &World, out: &mut File) {
    let endpoint = world.endpoint_url();
    let secret = world.slack_signing_secret();
    let team = world.team_id();
    let sir = world.sir().endpoint_url();
    let slack_api = world.slack().api_url();
    say!(out, "");
    say!(
        out,
        "Slack request URL (API Gateway, POST):      {endpoint}"
    );
    say!(
        out,
        "Lambda API (AWS_ENDPOINT_URL_LAMBDA):       {}",
        world.lambda_url()
    );
    say!(out, "SIR stand-in (AWS_ENDPOINT_URL_SECURITY_IR): {sir}");
    say!(
        out,
        "Slack stand-in Web API:                     {slack_api}"
    );
    say!(
        out,
        "moto (AWS_ENDPOINT_URL):                    {}",
        world.aws().endpoint_url()
    );
    if let Some(pid) = world.moto_supervisor_pid() {
        say!(
            out,
            "moto supervisor PID:                        {pid} (stopped with this process)"
        );
    }
    say!(
        out,
        "Workspace {team}; users U0ALICE001 (alice), U0BOB00001 (bob), U0CAROL001 (carol)"
    );
    say!(
        out,
        "Signing secret of this run (random, local only; also in SSM {}): {secret}",
        world.names().signing_secret_parameter()
    );
    say!(out, "");
    say!(
        out,
        "1. Create a case in the SIR stand-in (any credentials):"
    );
    say!(
        out,
        "   AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws --region us-east-1 --endpoint-url {sir} \\"
    );
    say!(
        out,
        "     security-ir create-case --title 'Test Security Incident' --description 'Testing Slack integration' \\"
    );
    say!(
        out,
        "     --engagement-type 'Security Incident' --resolver-type Self --reported-incident-start-date 2026-01-01 \\"
    );
    say!(
        out,
        "     --impacted-accounts 123456789012 --watchers email=alice@example.com"
    );
    say!(
        out,
        "   Within a second the poller (native event) and the Slack client create"
    );
    say!(
        out,
        "   aws-security-incident-response-case-<caseId> in the Slack stand-in:"
    );
    say!(
        out,
        "   curl -s '{slack_api}/conversations.list?types=private_channel' -H \"Authorization: Bearer $BOT_TOKEN\""
    );
    say!(
        out,
        "   (BOT_TOKEN: aws ssm get-parameter --with-decryption --name {} --endpoint-url {})",
        world.names().bot_token_parameter(),
        world.aws().endpoint_url()
    );
    say!(out, "");
    say!(
        out,
        "2. Send a signed slash command (Slack signs v0:<timestamp>:<body> with HMAC-SHA256):"
    );
    say!(
        out,
        "   body='team_id={team}&user_id=U0ALICE001&user_name=alice&channel_id=<channel id>&command=%2Fsecurity-ir&text=status&response_url={}'",
        world.slack().response_url("by-hand")
    );
    say!(out, "   ts=$(date +%s)");
    say!(
        out,
        "   sig=v0=$(printf 'v0:%s:%s' \"$ts\" \"$body\" | openssl dgst -sha256 -hmac '{secret}' | sed 's/^.* //')"
    );
    say!(
        out,
        "   curl -s -X POST '{endpoint}' -H \"X-Slack-Request-Timestamp: $ts\" -H \"X-Slack-Signature: $sig\" \\"
    );
    say!(
        out,
        "     -H 'Content-Type: application/x-www-form-urlencoded' --data \"$body\""
    );
    say!(
        out,
        "   The endpoint acknowledges at once; the command handler's answer goes to the stand-in's"
    );
    say!(out, "   response_url (token by-hand).");
    say!(out, "");
    for function in Function::ALL {
        if let Some(environment) = world.environment(function) {
            let names: Vec<&str> = environment.vars().keys().map(String::as_str).collect();
            say!(out, "{function} environment: {}", names.join(", "));
        }
    }
    say!(out, "");
    say!(
        out,
        "The reconcile schedule runs every few seconds. Ctrl-C stops everything (moto included)."
    );
}
