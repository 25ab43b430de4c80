//! `slack` (the deploy): from Slack credentials to a working integration.
//!
//! Steps: validate the inputs; the tools and the AWS identity; the SIR membership in the region;
//! Slack `auth.test` and the workspace (the new token, or the stored one); the parameters (only
//! the secrets given: an update keeps the stored ones); `cargo lambda build --release --arm64`;
//! `cdk deploy --all`; the stack outputs. Then the seed's success text, the endpoint and the
//! manifest. Nothing is changed before the parameters step (and the confirmation).
//!
//! Secrets go to SSM only: never to CloudFormation, a command line or a child's environment.

use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};

use super::{App, Failure, ResolvedTarget};
use crate::aws::Aws;
use crate::cli::{ChannelVisibility, DeployArgs, LogLevel, SyncExisting, WORKSPACE_ID_ENV};
use crate::deployment::{Deployment, SLACK_STACK, outputs};
use crate::input::{self, BOT_TOKEN_INPUT, SIGNING_SECRET_INPUT, SecretInput, SecretReader};
use crate::manifest::{self, DEFAULT_APP_NAME, ManifestFormat};
use crate::progress::{Progress, seconds};
use crate::slack::{BotIdentity, Http, SlackApi};
use crate::tools::{ToolCommand, Tools};
use crate::validate::{self, Secret};

/// The seed's success text, verbatim.
pub const SUCCESS_TEXT: &str = "\
✅ Slack integration deployed successfully!

📝 Next steps:
   1. Configure your Slack app's Event Subscriptions URL with the API Gateway endpoint
   2. Configure your Slack app's Slash Commands with the /security-ir command
   3. Install the Slack app to your workspace
   4. Test the integration by creating a test AWS Security IR case";

/// The stack `cdk bootstrap` creates once per account and region (default qualifier).
const CDK_TOOLKIT_STACK: &str = "CDKToolkit";

/// CDK context naming a table to adopt instead of creating one (`infra/lib/contract.js`
/// CONTEXT_KEYS.existingTableName).
pub const EXISTING_TABLE_CONTEXT: &str = "existingTableName";

/// The common stack's sync floor parameter (`infra/lib/contract.js` SYNC_FLOOR.parameter).
pub const SYNC_FLOOR_PARAMETER: &str = "syncCasesUpdatedSince";

/// The Slack stack's reserved-concurrency parameter of the events handler, its default and
/// the concurrency Lambda keeps unreserved (`infra/lib/contract.js` EVENTS_HANDLER_CONCURRENCY;
/// an infra test reads these constants). Below default + minimum, Lambda refuses the
/// reservation and the deploy would fail: the CLI deploys with 0 (nothing reserved) instead.
pub const RESERVED_CONCURRENCY_PARAMETER: &str = "eventsHandlerReservedConcurrency";
const RESERVED_CONCURRENCY_DEFAULT: i32 = 10;
const ACCOUNT_UNRESERVED_MINIMUM: i32 = 100;

/// How often a long build or deploy says it is still running (`SIRSLACK_HEARTBEAT_SECONDS`
/// overrides it; the tests use 1).
const HEARTBEAT: Duration = Duration::from_secs(30);
const HEARTBEAT_ENV: &str = "SIRSLACK_HEARTBEAT_SECONDS";

fn heartbeat() -> Duration {
    std::env::var(HEARTBEAT_ENV)
        .ok()
        .and_then(|seconds| seconds.trim().parse::<u64>().ok())
        .filter(|seconds| *seconds > 0)
        .map_or(HEARTBEAT, Duration::from_secs)
}

const STEPS: usize = 8;

/// The checked deploy inputs. Secrets are the ones given on this run (flag, environment or
/// standard input); a missing one is the stored one, or asked for on a first deploy.
struct DeployInputs {
    bot_token: Option<Secret>,
    signing_secret: Option<Secret>,
    workspace_id: String,
    log_level: LogLevel,
    channel_visibility: ChannelVisibility,
    alarm_email: Option<String>,
    app_name: Option<String>,
    /// `--app-id`: the stack's `slackAppId` (kept by later deploys that leave it out).
    app_id: Option<String>,
    /// `--sync-existing` as given (`open` when left out).
    sync_existing: Option<SyncExisting>,
    target: ResolvedTarget,
    skip_slack_check: bool,
}

/// Where a secret of this deploy comes from.
enum SecretSource {
    /// Given on this run: written in step 5.
    New(Secret),
    /// Already in SSM and kept (its value, for `auth.test`).
    Stored(Secret),
}

impl SecretSource {
    fn value(&self) -> &Secret {
        match self {
            Self::New(secret) | Self::Stored(secret) => secret,
        }
    }
}

/// What the deploy resolved once AWS was reachable.
struct Resolved {
    bot_token: SecretSource,
    signing_secret: SecretSource,
    /// The app name for the manifest: given, else stored, else the default.
    app_name: String,
    /// A table kept by an earlier `destroy`, which this deploy adopts.
    retained_table: Option<String>,
}

pub async fn run(args: DeployArgs, app: &App) -> Result<(), Failure> {
    let reader = SecretReader::new();
    let confirmation_possible = input::can_ask();
    let (dry_run, yes) = (args.dry_run, args.yes);
    let mut inputs = read_inputs(args, &reader).map_err(Failure::Usage)?;
    let tools = Tools::new(Tools::locate_source_dir()?);
    if dry_run {
        print_plan(&inputs, &tools, app);
        return Ok(());
    }
    let mut progress = Progress::new(STEPS);

    let step = progress.start("Validate the parameters");
    step.done(validated_detail(&inputs));

    let step = progress.start("Check the tools and the AWS identity");
    let report = tools.check().await;
    if !report.problems.is_empty() {
        step.failed();
        let list = report
            .problems
            .iter()
            .map(|problem| format!("  - {problem}"))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(anyhow!("the deploy needs tools that are missing:\n{list}").into());
    }
    let connected = async {
        let aws = Aws::connect(&inputs.target.aws).await?;
        let (account, arn) = aws.identity().await?;
        Ok::<_, anyhow::Error>((aws, account, arn))
    };
    let (aws, account, arn) = match connected.await {
        Ok(connected) => connected,
        Err(error) => {
            step.failed();
            return Err(error.into());
        }
    };
    step.done(format!(
        "{}; AWS account {account} in {} as {arn}",
        report.found.join(", "),
        aws.region
    ));
    let target = inputs.target.with_region(&aws.region);

    let step = progress.start("Check the SIR membership (security-ir:ListMemberships)");
    match check_membership(&aws, &account).await {
        Ok(detail) => step.done(detail),
        Err(error) => {
            step.failed();
            return Err(error.into());
        }
    }
    let sync_floor = match first_sync(&aws, &target.deployment, inputs.sync_existing).await {
        Ok(first) => {
            println!("      {}", first.summary);
            first.floor
        }
        Err(error) => return Err(error.into()),
    };

    let resolved = resolve(&aws, &target.deployment, &inputs, &reader).await?;

    let step = progress.start("Check the bot token with Slack auth.test");
    if inputs.skip_slack_check {
        step.done("skipped (--skip-slack-check)");
    } else {
        let checked = async {
            check_token(
                &Http::new()?,
                app,
                resolved.bot_token.value(),
                &inputs.workspace_id,
            )
            .await
        };
        match checked.await {
            Ok(identity) => {
                let mut detail = match resolved.bot_token {
                    SecretSource::New(_) => format!("the token is valid for {identity}"),
                    SecretSource::Stored(_) => {
                        format!("the token is valid for {identity} (the stored token)")
                    }
                };
                if inputs.app_id.is_none() {
                    detail.push_str(
                        &detect_app_id(app, resolved.bot_token.value(), &identity, &mut inputs)
                            .await,
                    );
                }
                step.done(detail)
            }
            Err(error) => {
                step.failed();
                return Err(error.into());
            }
        }
    }

    if !yes {
        let question = format!(
            "Deploy {} to AWS account {account} in {}?",
            target.deployment.label(),
            aws.region
        );
        if !confirmation_possible {
            return Err(anyhow!(
                "{question} Standard input is not a terminal, so there is no one to ask: pass --yes"
            )
            .into());
        }
        if !input::confirm(&question) {
            return Err(anyhow!("cancelled: nothing was changed").into());
        }
    }

    let step = progress.start("Write the parameters");
    match write_parameters(&aws, &target.deployment, &inputs, &resolved).await {
        Ok(detail) => step.done(detail),
        Err(error) => {
            step.failed();
            return Err(error.into());
        }
    }

    let step = progress.start("Build the functions for arm64 (cargo lambda)");
    match build_functions(&tools).await {
        Ok(detail) => step.done(detail),
        Err(error) => {
            step.failed();
            return Err(error.into());
        }
    }

    let step = progress.start("Deploy both stacks (cdk deploy)");
    match deploy_stacks(
        &aws,
        &tools,
        &inputs,
        &resolved,
        sync_floor.as_deref(),
        &account,
    )
    .await
    {
        Ok(detail) => step.done(detail),
        Err(error) => {
            step.failed();
            return Err(error.into());
        }
    }

    let step = progress.start("Read the stack outputs");
    let endpoint = match read_endpoint(&aws, &target.deployment).await {
        Ok(endpoint) => {
            step.done(format!("{} = {endpoint}", outputs::ENDPOINT));
            endpoint
        }
        Err(error) => {
            step.failed();
            return Err(error.into());
        }
    };

    println!();
    println!("Deployed in {}.", seconds(progress.elapsed()));
    println!();
    print_next_steps(app, &target, &endpoint, &resolved.app_name);
    Ok(())
}

fn validated_detail(inputs: &DeployInputs) -> String {
    let given: Vec<&str> = [
        inputs.bot_token.as_ref().map(|_| "bot token"),
        inputs.signing_secret.as_ref().map(|_| "signing secret"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let secrets = match given.as_slice() {
        [] => "no new secret given (the stored ones are kept)".to_string(),
        [one] => format!("the new {one} is well-formed"),
        _ => "the new bot token and signing secret are well-formed".to_string(),
    };
    format!(
        "workspace ID {} is well-formed; {secrets}",
        inputs.workspace_id
    )
}

/// Reads every input (flags, environment, standard input) and checks them all, so one run
/// reports every problem. Secrets that were not given stay `None`: nothing is asked here.
fn read_inputs(args: DeployArgs, reader: &SecretReader) -> Result<DeployInputs, Vec<String>> {
    let mut problems = Vec::new();
    let target = ResolvedTarget::from_args(&args.target).unwrap_or_else(|target_problems| {
        problems.extend(target_problems);
        ResolvedTarget {
            aws: Default::default(),
            deployment: Deployment::new(None),
        }
    });
    let bot_token = reader
        .given(BOT_TOKEN_INPUT, args.bot_token)
        .and_then(|token| checked(token, validate::bot_token));
    let signing_secret = reader
        .given(SIGNING_SECRET_INPUT, args.signing_secret)
        .and_then(|secret| checked(secret, validate::signing_secret));
    let workspace_id = args
        .workspace_id
        .or_else(|| std::env::var(WORKSPACE_ID_ENV).ok())
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| format!("--workspace-id is required (or set {WORKSPACE_ID_ENV})"))
        .and_then(|id| validate::workspace_id(&id).map(|()| id));
    let alarm_email = match args.alarm_email {
        Some(email) => validate::alarm_email(&email).map(|()| Some(email)),
        None => Ok(None),
    };
    let app_name = match args.app_name {
        Some(name) => validate::app_name(&name).map(|()| Some(name.trim().to_string())),
        None => Ok(None),
    };
    let app_id = match args.app_id {
        Some(id) => {
            let id = id.trim().to_string();
            validate::app_id(&id).map(|()| Some(id))
        }
        None => Ok(None),
    };
    let (bot_token, signing_secret, workspace_id, alarm_email, app_name, app_id) = match (
        bot_token,
        signing_secret,
        workspace_id,
        alarm_email,
        app_name,
        app_id,
    ) {
        (Ok(token), Ok(secret), Ok(workspace), Ok(email), Ok(name), Ok(app))
            if problems.is_empty() =>
        {
            (token, secret, workspace, email, name, app)
        }
        (token, secret, workspace, email, name, app) => {
            problems.extend(token.err());
            problems.extend(secret.err());
            problems.extend(workspace.err());
            problems.extend(email.err());
            problems.extend(name.err());
            problems.extend(app.err());
            return Err(problems);
        }
    };
    Ok(DeployInputs {
        bot_token,
        signing_secret,
        workspace_id,
        log_level: args.log_level,
        channel_visibility: args.channel_visibility,
        alarm_email,
        app_name,
        app_id,
        sync_existing: args.sync_existing,
        target,
        skip_slack_check: args.skip_slack_check,
    })
}

/// `secret`, when given, must pass `check`.
pub(super) fn checked(
    secret: Option<Secret>,
    check: fn(&str) -> Result<(), String>,
) -> Result<Option<Secret>, String> {
    match secret {
        Some(secret) => check(secret.expose()).map(|()| Some(secret)),
        None => Ok(None),
    }
}

/// With AWS reachable: the secrets not given are the stored ones (an update), or asked for (a
/// first deploy); the app name and a table kept by an earlier destroy are read.
async fn resolve(
    aws: &Aws,
    deployment: &Deployment,
    inputs: &DeployInputs,
    reader: &SecretReader,
) -> Result<Resolved, Failure> {
    let mut problems = Vec::new();
    let bot_token = secret_source(
        aws,
        reader,
        BOT_TOKEN_INPUT,
        &deployment.bot_token_parameter(),
        inputs.bot_token.clone(),
        validate::bot_token,
    )
    .await?;
    let signing_secret = secret_source(
        aws,
        reader,
        SIGNING_SECRET_INPUT,
        &deployment.signing_secret_parameter(),
        inputs.signing_secret.clone(),
        validate::signing_secret,
    )
    .await?;
    let (bot_token, signing_secret) = match (bot_token, signing_secret) {
        (Ok(token), Ok(secret)) => (token, secret),
        (token, secret) => {
            problems.extend(token.err());
            problems.extend(secret.err());
            return Err(Failure::Usage(problems));
        }
    };
    let app_name = match &inputs.app_name {
        Some(name) => name.clone(),
        None => super::manifest::stored_app_name(aws, deployment)
            .await?
            .unwrap_or_else(|| DEFAULT_APP_NAME.to_string()),
    };
    let retained_table = retained_table(aws, deployment).await?;
    Ok(Resolved {
        bot_token,
        signing_secret,
        app_name,
        retained_table,
    })
}

/// One secret: given (new), else stored (kept), else asked for. The inner `Err` is a usage
/// problem for the user.
async fn secret_source(
    aws: &Aws,
    reader: &SecretReader,
    input: SecretInput,
    parameter: &str,
    given: Option<Secret>,
    check: fn(&str) -> Result<(), String>,
) -> anyhow::Result<Result<SecretSource, String>> {
    if let Some(secret) = given {
        return Ok(Ok(SecretSource::New(secret)));
    }
    if let Some(stored) = aws.parameter(parameter).await? {
        return Ok(Ok(SecretSource::Stored(Secret::new(stored.value))));
    }
    Ok(reader
        .ask(input)
        .map_err(|problem| {
            format!(
                "{problem}: {parameter} does not exist yet, so there is no stored value to keep"
            )
        })
        .and_then(|secret| check(secret.expose()).map(|()| SecretSource::New(secret))))
}

/// The table an earlier `destroy` kept, when it still exists.
pub async fn retained_table(aws: &Aws, deployment: &Deployment) -> anyhow::Result<Option<String>> {
    let Some(parameter) = aws
        .parameter(&deployment.retained_table_parameter())
        .await?
    else {
        return Ok(None);
    };
    if aws.table_exists(&parameter.value).await? {
        Ok(Some(parameter.value))
    } else {
        Ok(None)
    }
}

/// What the first reconcile will do with the cases SIR already has.
struct FirstSync {
    /// What the person is told before confirming.
    summary: String,
    /// The sync floor to pass to the common stack (RFC 3339), on a first deploy only.
    floor: Option<String>,
}

/// On a first deploy (no common stack yet): counts the open cases (`ListCases`) and says what
/// the first reconcile does with them under `--sync-existing`. On an update the cases are
/// synced already and the stack keeps the first deploy's floor.
async fn first_sync(
    aws: &Aws,
    deployment: &Deployment,
    choice: Option<SyncExisting>,
) -> anyhow::Result<FirstSync> {
    if aws.stack(&deployment.common_stack()).await?.is_some() {
        let summary = match choice {
            Some(_) => "an update: --sync-existing applies to a first deploy only; the cases already synced keep their channels".to_string(),
            None => "an update: the cases already synced keep their channels".to_string(),
        };
        return Ok(FirstSync {
            summary,
            floor: None,
        });
    }
    let choice = choice.unwrap_or(SyncExisting::Open);
    let floor = choice.floor(chrono::Utc::now());
    let open = aws.sir_open_cases().await.map_err(|error| {
        anyhow!(
            "could not list the SIR cases in {} to say what the first sync does ({}): use credentials that may call security-ir:ListCases",
            aws.region,
            error.detail
        )
    })?;
    let synced = open
        .iter()
        .filter(|updated| match (floor, updated) {
            (Some(floor), Some(updated)) => *updated >= floor,
            _ => true,
        })
        .count();
    let total = open.len();
    let cases = |n: usize| {
        if n == 1 {
            "1 open case".to_string()
        } else {
            format!("{n} open cases")
        }
    };
    let summary = match choice {
        SyncExisting::Open => format!(
            "first deploy: SIR has {}; with --sync-existing open (the default) each gets a channel with its whole history within 5 minutes of the deploy (--sync-existing none: only cases created or updated from now on)",
            cases(total)
        ),
        SyncExisting::None => format!(
            "first deploy: SIR has {}; with --sync-existing none they get no channel now, only cases created or updated from now on do (an open case gets its channel when it is next updated)",
            cases(total)
        ),
        SyncExisting::Since(day) => format!(
            "first deploy: SIR has {}, {synced} of them updated since {day}; with --sync-existing {day} those {synced} get a channel with their whole history within 5 minutes of the deploy, the others when they are next updated",
            cases(total)
        ),
    };
    Ok(FirstSync {
        summary,
        floor: floor.map(|floor| floor.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    })
}

/// SIR must have an active membership in this account and region: without one, SIR has no
/// cases, and every poll fails with SecurityIncidentResponseNotActiveException.
async fn check_membership(aws: &Aws, account: &str) -> anyhow::Result<String> {
    let region = aws.region.as_str();
    let enable = format!(
        "enable AWS Security Incident Response in account {account} in {region} first (console: Security Incident Response > Get started; or deploy with --region set to the region of your membership), then deploy again"
    );
    let memberships = match aws.sir_memberships().await {
        Ok(memberships) => memberships,
        Err(error) => {
            return Err(match error.code.as_deref() {
                Some("SecurityIncidentResponseNotActiveException") => {
                    anyhow!("AWS Security Incident Response is not active in {region}: {enable}")
                }
                Some("AccessDeniedException") => anyhow!(
                    "the AWS identity may not call security-ir:ListMemberships in {region} ({}): use credentials that may, so the deploy can check that SIR is enabled",
                    error.detail
                ),
                _ => anyhow!(
                    "could not list the SIR memberships in {region}: {}",
                    error.detail
                ),
            });
        }
    };
    let here = |membership: &&crate::aws::Membership| {
        membership
            .region
            .as_deref()
            .is_none_or(|membership_region| membership_region == region)
    };
    if let Some(active) = memberships
        .iter()
        .filter(here)
        .find(|membership| membership.status == "Active")
    {
        return Ok(format!("membership {} is Active in {region}", active.id));
    }
    if let Some(elsewhere) = memberships
        .iter()
        .find(|membership| membership.status == "Active" && !here(membership))
    {
        bail!(
            "the SIR membership {} of account {account} is in {}, not {region}: deploy with --region {}",
            elsewhere.id,
            elsewhere.region.as_deref().unwrap_or_default(),
            elsewhere.region.as_deref().unwrap_or_default()
        );
    }
    match memberships.iter().find(here) {
        Some(inactive) => bail!(
            "the SIR membership {} in {region} is {}, not Active: {enable}",
            inactive.id,
            inactive.status
        ),
        None => bail!("account {account} has no SIR membership in {region}: {enable}"),
    }
}

/// Without `--app-id`: the app's ID from `bots.info` (the bot `auth.test` named), so that the
/// events handler ignores requests for other apps of the workspace. What to add to the step's
/// line; a failure only says so (the deploy goes on without the check, as before).
async fn detect_app_id(
    app: &App,
    token: &Secret,
    identity: &BotIdentity,
    inputs: &mut DeployInputs,
) -> String {
    let Some(bot_id) = identity.bot_id.as_deref() else {
        return "; no bot ID from auth.test, so the app ID is unknown: give --app-id to have requests for other apps ignored".to_string();
    };
    let detected = async {
        let id = SlackApi::new(Http::new()?, app.slack_api_url.clone())
            .app_id_of_bot(token, bot_id)
            .await?;
        validate::app_id(&id).map_err(|problem| anyhow!(problem))?;
        Ok::<_, anyhow::Error>(id)
    };
    match detected.await {
        Ok(id) => {
            let line = format!("; app {id} (bots.info): requests for other apps are ignored");
            inputs.app_id = Some(id);
            line
        }
        Err(error) => format!(
            "; the app ID could not be read ({error:#}): give --app-id to have requests for other apps ignored"
        ),
    }
}

/// `auth.test`, and the token's workspace must be the one given; the token's identity.
pub async fn check_token(
    http: &Http,
    app: &App,
    token: &Secret,
    workspace_id: &str,
) -> anyhow::Result<BotIdentity> {
    let identity = SlackApi::new(http.clone(), app.slack_api_url.clone())
        .auth_test(token)
        .await?;
    if identity.team_id != workspace_id {
        bail!(
            "the bot token belongs to workspace {} ({}), not {workspace_id}: use the Bot User OAuth Token of the app installed in {workspace_id}, or correct --workspace-id",
            identity.team_id,
            identity.team
        );
    }
    Ok(identity)
}

async fn write_parameters(
    aws: &Aws,
    deployment: &Deployment,
    inputs: &DeployInputs,
    resolved: &Resolved,
) -> anyhow::Result<String> {
    let mut written = Vec::new();
    let mut kept = Vec::new();
    for (name, source) in [
        (deployment.bot_token_parameter(), &resolved.bot_token),
        (
            deployment.signing_secret_parameter(),
            &resolved.signing_secret,
        ),
    ] {
        match source {
            SecretSource::New(secret) => {
                let version = aws.put_secure_string(&name, secret.expose()).await?;
                written.push(format!("{name} (version {version})"));
            }
            SecretSource::Stored(_) => kept.push(name),
        }
    }
    if let Some(app_name) = &inputs.app_name {
        let name = deployment.app_name_parameter();
        let version = aws.put_string(&name, app_name).await?;
        written.push(format!("{name} (version {version})"));
    }
    let mut parts = Vec::new();
    if !written.is_empty() {
        parts.push(format!("wrote {}", written.join(", ")));
    }
    if !kept.is_empty() {
        parts.push(format!(
            "kept the stored {} (give --bot-token/--signing-secret to replace them)",
            kept.join(" and ")
        ));
    }
    Ok(parts.join("; "))
}

async fn build_functions(tools: &Tools) -> anyhow::Result<String> {
    tools
        .run_with_heartbeat(&tools.build_functions(), "building", heartbeat())
        .await?;
    let missing = tools.missing_function_code();
    if !missing.is_empty() {
        let list = missing
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        bail!("cargo lambda build finished but did not produce {list}");
    }
    Ok(format!(
        "4 functions in {}",
        tools.function_code_root().display()
    ))
}

/// How the CDK app must treat API Gateway's account-level logging role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ApiGatewayRole {
    /// Let the stack set it (the default deployment, or the first one in the region).
    Manage,
    /// Leave it alone: the default deployment already set it.
    Leave,
}

async fn deploy_stacks(
    aws: &Aws,
    tools: &Tools,
    inputs: &DeployInputs,
    resolved: &Resolved,
    sync_floor: Option<&str>,
    account: &str,
) -> anyhow::Result<String> {
    let region = aws.region.as_str();
    let mut notes = Vec::new();
    if aws.stack(CDK_TOOLKIT_STACK).await?.is_none() {
        let bootstrap = with_aws_env(
            tools.cdk(&["bootstrap", &format!("aws://{account}/{region}")]),
            inputs,
            region,
        );
        tools.run(&bootstrap).await?;
        notes.push(format!("bootstrapped CDK in {account}/{region}"));
    }
    // The default deployment sets the account's API Gateway logging role; a named deployment
    // next to it leaves the setting alone (infra/README.md).
    let role =
        if inputs.target.deployment.name().is_some() && aws.stack(SLACK_STACK).await?.is_some() {
            ApiGatewayRole::Leave
        } else {
            ApiGatewayRole::Manage
        };
    let table = resolved.retained_table.as_deref();
    if let Some(table) = table {
        notes.push(format!(
            "adopted the table {table} kept by an earlier destroy (its case <-> channel links are used again)"
        ));
    }
    // Best effort: an account whose Lambda concurrency limit cannot hold the events handler's
    // reservation (new accounts may start at 10) deploys with none; if the limit cannot be
    // read, the stack's value stands.
    let small_account = match aws.lambda.get_account_settings().send().await {
        Ok(settings) => settings
            .account_limit()
            .map(|limit| limit.concurrent_executions())
            .filter(|limit| *limit < RESERVED_CONCURRENCY_DEFAULT + ACCOUNT_UNRESERVED_MINIMUM),
        Err(_) => None,
    };
    if let Some(limit) = small_account {
        notes.push(format!(
            "the account's Lambda concurrency limit is {limit}, too low to reserve \
             {RESERVED_CONCURRENCY_DEFAULT} for the events handler and keep \
             {ACCOUNT_UNRESERVED_MINIMUM} unreserved: deployed with \
             {RESERVED_CONCURRENCY_PARAMETER}=0 (nothing reserved; ask for a higher limit in \
             Service Quotas, then set it back to {RESERVED_CONCURRENCY_DEFAULT})"
        ));
    }
    let deploy = with_aws_env(
        cdk_deploy(
            tools,
            inputs,
            role,
            table,
            sync_floor,
            small_account.is_some(),
        ),
        inputs,
        region,
    );
    tools
        .run_with_heartbeat(&deploy, "deploying", heartbeat())
        .await?;
    notes.insert(
        0,
        format!(
            "{} and {}",
            inputs.target.deployment.common_stack(),
            inputs.target.deployment.slack_stack()
        ),
    );
    Ok(notes.join("; "))
}

/// `cdk deploy --all` with the context and parameters of this deployment. No secret: the
/// functions read the SecureStrings at run time.
fn cdk_deploy(
    tools: &Tools,
    inputs: &DeployInputs,
    role: ApiGatewayRole,
    retained_table: Option<&str>,
    sync_floor: Option<&str>,
    reserve_no_concurrency: bool,
) -> ToolCommand {
    let deployment = &inputs.target.deployment;
    let common = deployment.common_stack();
    let slack = deployment.slack_stack();
    let mut command = tools
        .cdk(&["deploy", "--all", "--require-approval", "never"])
        .arg("-c")
        .arg("requireFunctionCode=true")
        .arg("-c")
        .arg(format!(
            "functionCodeRoot={}",
            tools.function_code_root().display()
        ));
    if let Some(name) = deployment.name() {
        command = command.arg("-c").arg(format!("deployment={name}"));
    }
    if role == ApiGatewayRole::Leave {
        command = command.arg("-c").arg("apiGatewayCloudWatchRole=false");
    }
    if let Some(table) = retained_table {
        command = command
            .arg("-c")
            .arg(format!("{EXISTING_TABLE_CONTEXT}={table}"));
    }
    let log_level = inputs.log_level.as_str();
    let mut parameters = vec![
        format!("{common}:logLevel={log_level}"),
        format!("{slack}:logLevel={log_level}"),
        format!("{slack}:slackWorkspaceId={}", inputs.workspace_id),
        format!(
            "{slack}:channelVisibility={}",
            inputs.channel_visibility.as_str()
        ),
    ];
    if let Some(floor) = sync_floor {
        parameters.push(format!("{common}:{SYNC_FLOOR_PARAMETER}={floor}"));
    }
    if let Some(app_id) = &inputs.app_id {
        parameters.push(format!("{slack}:slackAppId={app_id}"));
    }
    if reserve_no_concurrency {
        parameters.push(format!("{slack}:{RESERVED_CONCURRENCY_PARAMETER}=0"));
    }
    if let Some(email) = &inputs.alarm_email {
        parameters.push(format!("{common}:alarmEmail={email}"));
        parameters.push(format!("{slack}:alarmEmail={email}"));
    }
    for parameter in parameters {
        command = command.arg("--parameters").arg(parameter);
    }
    if let Some(profile) = &inputs.target.aws.profile {
        command = command.arg("--profile").arg(profile.clone());
    }
    command
}

/// The region (and profile) for a CDK child, so it deploys where the CLI checked.
fn with_aws_env(command: ToolCommand, inputs: &DeployInputs, region: &str) -> ToolCommand {
    let mut command = command
        .env("AWS_REGION", region)
        .env("AWS_DEFAULT_REGION", region);
    if let Some(profile) = &inputs.target.aws.profile {
        command = command.env("AWS_PROFILE", profile.clone());
    }
    command
}

async fn read_endpoint(aws: &Aws, deployment: &Deployment) -> anyhow::Result<String> {
    let name = deployment.slack_stack();
    let stack = aws
        .stack(&name)
        .await?
        .with_context(|| format!("stack {name} does not exist after the deploy"))?;
    if !stack.is_complete() {
        bail!("stack {name} is {} after the deploy", stack.status);
    }
    let endpoint = stack.required_output(outputs::ENDPOINT)?;
    validate::endpoint_url(endpoint).map_err(|_| {
        anyhow!(
            "stack {name} output {} is {endpoint:?}, not a /slack/events URL",
            outputs::ENDPOINT
        )
    })?;
    Ok(endpoint.to_string())
}

fn print_next_steps(app: &App, target: &ResolvedTarget, endpoint: &str, app_name: &str) {
    let manifest_text = manifest::render(
        &manifest::manifest(app_name, Some(endpoint)),
        ManifestFormat::Yaml,
    );
    println!("{SUCCESS_TEXT}");
    println!();
    println!(
        "🔗 API Gateway endpoint (Event Subscriptions, the /security-ir command and Interactivity):"
    );
    println!("   {endpoint}");
    println!();
    println!("📋 Steps 1 and 2 in one paste: at https://api.slack.com/apps open your app, choose");
    println!(
        "   \"App Manifest\", replace the manifest with the one below and save; Slack then checks"
    );
    println!("   the URL. To write it to a file instead:");
    println!(
        "   {} --output slack-app-manifest.yaml",
        app.suggest("manifest", target)
    );
    println!();
    print!("{manifest_text}");
    println!();
    println!("🔎 When the app is installed, check everything end to end:");
    println!("   {}", app.suggest("verify", target));
}

/// `--dry-run`: what would happen, with no AWS or Slack call and no secret needed.
fn print_plan(inputs: &DeployInputs, tools: &Tools, app: &App) {
    let deployment = &inputs.target.deployment;
    let region = inputs
        .target
        .aws
        .region
        .clone()
        .unwrap_or_else(|| "the region of your AWS environment or profile".to_string());
    println!("Dry run: nothing is changed, and AWS and Slack are not called.");
    println!();
    println!("Plan for {} in {region}:", deployment.label());
    println!(
        "  1. Validate the parameters: done, {}",
        validated_detail(inputs)
    );
    println!(
        "  2. Check the tools (cargo-lambda, the {} Rust target, zig, Node.js 20+, the CDK app's packages in {}) and the AWS identity",
        crate::tools::LAMBDA_TARGET,
        tools.infra_dir().display()
    );
    println!(
        "  3. Check that AWS Security Incident Response has an Active membership in the region (security-ir:ListMemberships); stop if not"
    );
    println!(
        "     On a first deploy, count the open cases (security-ir:ListCases) and say what the first sync does with them ({})",
        match inputs.sync_existing.unwrap_or(SyncExisting::Open) {
            SyncExisting::Open =>
                "--sync-existing open: each gets a channel with its history".to_string(),
            SyncExisting::None =>
                "--sync-existing none: only cases created or updated from now on get one"
                    .to_string(),
            SyncExisting::Since(day) =>
                format!("--sync-existing {day}: open cases updated since {day} get one"),
        }
    );
    let token = if inputs.bot_token.is_some() {
        "the new bot token"
    } else {
        "the stored bot token"
    };
    if inputs.skip_slack_check {
        println!("  4. Check the bot token with Slack auth.test: skipped (--skip-slack-check)");
    } else {
        println!(
            "  4. Check {token} with Slack auth.test ({}): its workspace must be {}; then ask for confirmation unless --yes",
            app.slack_api_url, inputs.workspace_id
        );
    }
    println!("  5. Write the parameters:");
    for (name, given) in [
        (deployment.bot_token_parameter(), inputs.bot_token.is_some()),
        (
            deployment.signing_secret_parameter(),
            inputs.signing_secret.is_some(),
        ),
    ] {
        if given {
            println!("       {name}   (SecureString, new value given)");
        } else {
            println!(
                "       {name}   (kept when stored; on a first deploy the value is asked for)"
            );
        }
    }
    if let Some(app_name) = &inputs.app_name {
        println!(
            "       {}   (String: {app_name:?})",
            deployment.app_name_parameter()
        );
    }
    println!(
        "  6. Build the functions for arm64, in {}:",
        tools.source_dir().display()
    );
    println!("       {}", tools.build_functions().display());
    println!(
        "  7. Deploy both stacks ({} then {}), in {}:",
        deployment.common_stack(),
        deployment.slack_stack(),
        tools.infra_dir().display()
    );
    println!(
        "       npx --no cdk bootstrap aws://ACCOUNT/REGION   (only when the account and region are not bootstrapped)"
    );
    println!(
        "       {}",
        cdk_deploy(tools, inputs, ApiGatewayRole::Manage, None, None, false).display()
    );
    match inputs.sync_existing.unwrap_or(SyncExisting::Open) {
        SyncExisting::Open => {}
        SyncExisting::None => println!(
            "       (with --parameters {}:{SYNC_FLOOR_PARAMETER}=<the deploy time> on a first deploy: --sync-existing none)",
            deployment.common_stack()
        ),
        SyncExisting::Since(day) => println!(
            "       (with --parameters {}:{SYNC_FLOOR_PARAMETER}={day}T00:00:00Z on a first deploy: --sync-existing {day})",
            deployment.common_stack()
        ),
    }
    if deployment.name().is_some() {
        println!(
            "       (with -c apiGatewayCloudWatchRole=false when the default deployment exists in the region)"
        );
    }
    println!(
        "       (with --parameters {}:{RESERVED_CONCURRENCY_PARAMETER}=0 when the account's Lambda concurrency limit is below {})",
        deployment.slack_stack(),
        RESERVED_CONCURRENCY_DEFAULT + ACCOUNT_UNRESERVED_MINIMUM
    );
    println!(
        "       (with -c {EXISTING_TABLE_CONTEXT}=<table> when an earlier destroy kept the table named in {})",
        deployment.retained_table_parameter()
    );
    println!(
        "  8. Read the stack outputs ({}), then print the next steps and the Slack app manifest",
        outputs::ENDPOINT
    );
    println!();
    println!("Remove --dry-run to deploy.");
}
