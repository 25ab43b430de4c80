//! `slack destroy`: delete both stacks (the Slack stack first: it imports the common stack's
//! table and bus) and the parameters this CLI and the users wrote, after confirmation.
//!
//! What the stacks retain on purpose (the table with the case <-> channel links, the log groups,
//! API Gateway's account logging role) stays, and the command says so.

use std::time::Duration;

use anyhow::anyhow;

use super::{App, Failure, ResolvedTarget};
use crate::aws::Aws;
use crate::cli::DestroyArgs;
use crate::deployment::outputs;
use crate::input;
use crate::progress::Progress;

/// How long to wait for one stack to be deleted.
const STACK_DELETE_TIMEOUT: Duration = Duration::from_secs(60 * 60);

pub async fn run(args: DestroyArgs, app: &App) -> Result<(), Failure> {
    let target = ResolvedTarget::from_args(&args.target).map_err(Failure::Usage)?;
    let aws = Aws::connect(&target.aws).await?;
    let target = target.with_region(&aws.region);
    let deployment = &target.deployment;

    // What exists, so the question names exactly what goes.
    let common = aws.stack(&deployment.common_stack()).await?;
    let slack = aws.stack(&deployment.slack_stack()).await?;
    let mut parameters = Vec::new();
    for name in [
        deployment.bot_token_parameter(),
        deployment.signing_secret_parameter(),
    ] {
        if aws.parameter(&name).await?.is_some() {
            parameters.push(name);
        }
    }
    parameters.extend(
        aws.parameter_names_under(&deployment.user_secrets_path())
            .await?,
    );
    let stacks: Vec<String> = [&slack, &common]
        .into_iter()
        .flatten()
        .map(|stack| stack.name.clone())
        .collect();
    if stacks.is_empty() && parameters.is_empty() {
        println!(
            "Nothing to destroy: no stack and no parameter of {} in {}.",
            deployment.label(),
            aws.region
        );
        return Ok(());
    }

    println!("This deletes, in {}:", aws.region);
    for stack in &stacks {
        println!("  stack      {stack}");
    }
    for parameter in &parameters {
        println!("  parameter  {parameter}");
    }
    if !args.yes {
        let question = format!("Destroy {}?", deployment.label());
        if !input::can_ask() {
            return Err(anyhow!(
                "{question} Standard input is not a terminal, so there is no one to ask: pass --yes"
            )
            .into());
        }
        if !input::confirm(&question) {
            return Err(anyhow!("cancelled: nothing was deleted").into());
        }
    }

    let table = common
        .as_ref()
        .and_then(|stack| stack.output(outputs::TABLE_NAME))
        .map(str::to_string);
    let mut progress = Progress::new(stacks.len() + 1);
    for stack in &stacks {
        let step = progress.start(&format!("Delete stack {stack}"));
        match aws.delete_stack(stack, STACK_DELETE_TIMEOUT).await {
            Ok(()) => step.done("deleted"),
            Err(error) => {
                step.failed();
                return Err(error.into());
            }
        }
    }
    let step = progress.start("Delete the parameters");
    match aws.delete_parameters(&parameters).await {
        Ok(count) => step.done(format!("{count} deleted")),
        Err(error) => {
            step.failed();
            return Err(error.into());
        }
    }

    println!();
    println!(
        "Destroyed {}. Kept on purpose: {}the functions' log groups and API Gateway's account logging role; delete them in the console once you no longer need them.",
        deployment.label(),
        table
            .map(|table| format!("the DynamoDB table {table} (which case has which channel), "))
            .unwrap_or_default()
    );
    println!(
        "The Slack app still exists: delete it at https://api.slack.com/apps, or deploy again with `{} --bot-token - --signing-secret - --workspace-id ...`.",
        app.suggest("", &target)
    );
    Ok(())
}
