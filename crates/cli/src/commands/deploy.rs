//! `slack` (the deploy): from Slack credentials to a working integration.
//!
//! 1. validate the inputs; 2. Slack `auth.test` and the workspace; 3. tools and AWS identity;
//! 4. the SecureString parameters; 5. `cargo lambda build --release --arm64`; 6. `cdk deploy
//! --all`; 7. the stack outputs; then the seed's success text, the endpoint and the manifest.
//!
//! Secrets go to SSM only: never to CloudFormation, a command line or a child's environment.

use anyhow::{Context as _, anyhow, bail};

use super::{App, Failure, ResolvedTarget};
use crate::aws::Aws;
use crate::cli::{ChannelVisibility, DeployArgs, LogLevel, WORKSPACE_ID_ENV};
use crate::deployment::{Deployment, SLACK_STACK, outputs};
use crate::input::{self, BOT_TOKEN_INPUT, SIGNING_SECRET_INPUT, SecretReader};
use crate::manifest::{self, DEFAULT_APP_NAME, ManifestFormat};
use crate::progress::{Progress, seconds};
use crate::slack::{Http, SlackApi};
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

const STEPS: usize = 7;

/// The checked deploy inputs.
struct DeployInputs {
    bot_token: Secret,
    signing_secret: Secret,
    workspace_id: String,
    log_level: LogLevel,
    channel_visibility: ChannelVisibility,
    alarm_email: Option<String>,
    target: ResolvedTarget,
    skip_slack_check: bool,
}

pub async fn run(args: DeployArgs, app: &App) -> Result<(), Failure> {
    let reader = SecretReader::new();
    let confirmation_possible = input::can_ask();
    let (dry_run, yes) = (args.dry_run, args.yes);
    let inputs = read_inputs(args, &reader).map_err(Failure::Usage)?;
    let tools = Tools::new(Tools::locate_source_dir()?);
    if dry_run {
        print_plan(&inputs, &tools, app);
        return Ok(());
    }
    let mut progress = Progress::new(STEPS);

    let step = progress.start("Validate the parameters");
    step.done(format!(
        "bot token, signing secret and workspace ID {} are well-formed",
        inputs.workspace_id
    ));

    let step = progress.start("Check the bot token with Slack auth.test");
    if inputs.skip_slack_check {
        step.done("skipped (--skip-slack-check)");
    } else {
        let checked = async {
            check_token(&Http::new()?, app, &inputs.bot_token, &inputs.workspace_id).await
        };
        match checked.await {
            Ok(detail) => step.done(detail),
            Err(error) => {
                step.failed();
                return Err(error.into());
            }
        }
    }

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

    let step = progress.start("Write the SecureString parameters");
    match write_secrets(&aws, &target.deployment, &inputs).await {
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
    match deploy_stacks(&aws, &tools, &inputs, &account).await {
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
    print_next_steps(app, &target, &endpoint);
    Ok(())
}

/// Reads every input (flags, environment, standard input) and checks them all, so one run
/// reports every problem.
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
        .read(BOT_TOKEN_INPUT, args.bot_token)
        .and_then(|token| validate::bot_token(token.expose()).map(|()| token));
    let signing_secret = reader
        .read(SIGNING_SECRET_INPUT, args.signing_secret)
        .and_then(|secret| validate::signing_secret(secret.expose()).map(|()| secret));
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
    let (bot_token, signing_secret, workspace_id, alarm_email) =
        match (bot_token, signing_secret, workspace_id, alarm_email) {
            (Ok(token), Ok(secret), Ok(workspace), Ok(email)) if problems.is_empty() => {
                (token, secret, workspace, email)
            }
            (token, secret, workspace, email) => {
                problems.extend(token.err());
                problems.extend(secret.err());
                problems.extend(workspace.err());
                problems.extend(email.err());
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
        target,
        skip_slack_check: args.skip_slack_check,
    })
}

/// `auth.test`, and the token's workspace must be the one given.
pub async fn check_token(
    http: &Http,
    app: &App,
    token: &Secret,
    workspace_id: &str,
) -> anyhow::Result<String> {
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
    Ok(format!(
        "the token is valid for workspace {} ({}), bot user {}",
        identity.team_id, identity.team, identity.user
    ))
}

async fn write_secrets(
    aws: &Aws,
    deployment: &Deployment,
    inputs: &DeployInputs,
) -> anyhow::Result<String> {
    let token_name = deployment.bot_token_parameter();
    let secret_name = deployment.signing_secret_parameter();
    let token_version = aws
        .put_secure_string(&token_name, inputs.bot_token.expose())
        .await?;
    let secret_version = aws
        .put_secure_string(&secret_name, inputs.signing_secret.expose())
        .await?;
    Ok(format!(
        "{token_name} (version {token_version}), {secret_name} (version {secret_version})"
    ))
}

async fn build_functions(tools: &Tools) -> anyhow::Result<String> {
    tools.run(&tools.build_functions()).await?;
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
    let deploy = with_aws_env(cdk_deploy(tools, inputs, role), inputs, region);
    tools.run(&deploy).await?;
    notes.push(format!(
        "{} and {}",
        inputs.target.deployment.common_stack(),
        inputs.target.deployment.slack_stack()
    ));
    Ok(notes.join("; "))
}

/// `cdk deploy --all` with the context and parameters of this deployment. No secret: the
/// functions read the SecureStrings at run time.
fn cdk_deploy(tools: &Tools, inputs: &DeployInputs, role: ApiGatewayRole) -> ToolCommand {
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

fn print_next_steps(app: &App, target: &ResolvedTarget, endpoint: &str) {
    let manifest_text = manifest::render(
        &manifest::manifest(DEFAULT_APP_NAME, Some(endpoint)),
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

/// `--dry-run`: what would happen, with no AWS or Slack call.
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
        "  1. Validate the parameters: done, bot token, signing secret and workspace ID {} are well-formed",
        inputs.workspace_id
    );
    if inputs.skip_slack_check {
        println!("  2. Check the bot token with Slack auth.test: skipped (--skip-slack-check)");
    } else {
        println!(
            "  2. Check the bot token with Slack auth.test ({}): its workspace must be {}",
            app.slack_api_url, inputs.workspace_id
        );
    }
    println!(
        "  3. Check the tools (cargo-lambda, the {} Rust target, zig, Node.js 20+, the CDK app's packages in {}) and the AWS identity; ask for confirmation unless --yes",
        crate::tools::LAMBDA_TARGET,
        tools.infra_dir().display()
    );
    println!("  4. Write the SecureString parameters (create or overwrite):");
    println!("       {}", deployment.bot_token_parameter());
    println!("       {}", deployment.signing_secret_parameter());
    println!(
        "  5. Build the functions for arm64, in {}:",
        tools.source_dir().display()
    );
    println!("       {}", tools.build_functions().display());
    println!(
        "  6. Deploy both stacks ({} then {}), in {}:",
        deployment.common_stack(),
        deployment.slack_stack(),
        tools.infra_dir().display()
    );
    println!(
        "       npx --no cdk bootstrap aws://ACCOUNT/REGION   (only when the account and region are not bootstrapped)"
    );
    println!(
        "       {}",
        cdk_deploy(tools, inputs, ApiGatewayRole::Manage).display()
    );
    if deployment.name().is_some() {
        println!(
            "       (with -c apiGatewayCloudWatchRole=false when the default deployment exists in the region)"
        );
    }
    println!(
        "  7. Read the stack outputs ({}), then print the next steps and the Slack app manifest",
        outputs::ENDPOINT
    );
    println!();
    println!("Remove --dry-run to deploy.");
}
