//! `slack destroy`: delete both stacks (the Slack stack first: it imports the common stack's
//! table and bus) and the parameters this CLI and the users wrote, after confirmation.
//!
//! The DynamoDB table with the case <-> channel links stays (the stack retains it): its name is
//! written to `<prefix>/retainedTableName`, and the next deploy adopts it, so open cases keep
//! their channels. `--delete-data` deletes the table too, after its own confirmation. The log
//! groups and API Gateway's account logging role also stay, and the command says so.

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
    // The table: the common stack's, else the one an earlier destroy kept.
    let marker = deployment.retained_table_parameter();
    let table = match common
        .as_ref()
        .and_then(|stack| stack.output(outputs::TABLE_NAME))
    {
        Some(table) => Some(table.to_string()),
        None => aws.parameter(&marker).await?.map(|stored| stored.value),
    };
    let table = match table {
        Some(table) if aws.table_exists(&table).await? => Some(table),
        _ => None,
    };
    if args.delete_data {
        for name in [marker.clone(), deployment.app_name_parameter()] {
            if aws.parameter(&name).await?.is_some() {
                parameters.push(name);
            }
        }
    }
    let stacks: Vec<String> = [&slack, &common]
        .into_iter()
        .flatten()
        .map(|stack| stack.name.clone())
        .collect();
    let table_to_delete = table.clone().filter(|_| args.delete_data);
    if stacks.is_empty() && parameters.is_empty() && table_to_delete.is_none() {
        println!(
            "Nothing to destroy: no stack and no parameter of {} in {}.",
            deployment.label(),
            aws.region
        );
        if let Some(table) = &table {
            println!(
                "The table {table} (case <-> channel links) is kept; the next deploy adopts it. `--delete-data` deletes it."
            );
        }
        return Ok(());
    }

    println!("This deletes, in {}:", aws.region);
    for stack in &stacks {
        println!("  stack      {stack}");
    }
    for parameter in &parameters {
        println!("  parameter  {parameter}");
    }
    match (&table, args.delete_data) {
        (Some(table), true) => println!(
            "  table      {table}   (every case <-> channel link: a later deploy creates new channels for open cases)"
        ),
        (Some(table), false) => println!(
            "It keeps the DynamoDB table {table} (which case has which channel): the next deploy adopts it, so open cases keep their channels. Add --delete-data to delete it."
        ),
        (None, _) => {}
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
        if let Some(table) = &table_to_delete
            && !input::confirm_by_typing(
                &format!(
                    "Type the table's name to delete it and every case <-> channel link ({table}):"
                ),
                table,
            )
        {
            return Err(anyhow!("cancelled: nothing was deleted").into());
        }
    }

    // The marker goes first: if the deletion stops halfway, the next deploy still finds the table.
    if let (Some(table), false) = (&table, args.delete_data) {
        aws.put_string(&marker, table).await?;
    }
    let mut progress = Progress::new(stacks.len() + 1 + usize::from(table_to_delete.is_some()));
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
    if let Some(table) = &table_to_delete {
        let step = progress.start(&format!("Delete table {table}"));
        match aws.delete_table(table).await {
            Ok(_) => step.done("deleted"),
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
        match (&table, args.delete_data) {
            (Some(table), false) => format!(
                "the DynamoDB table {table} (which case has which channel; recorded in {marker}, the next deploy adopts it), "
            ),
            _ => String::new(),
        }
    );
    println!(
        "The Slack app still exists: delete it at https://api.slack.com/apps, or deploy again with `{} --bot-token - --signing-secret - --workspace-id ...`.",
        app.suggest("", &target)
    );
    Ok(())
}
