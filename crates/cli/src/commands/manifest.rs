//! `slack manifest`: the Slack app manifest, with the deployed endpoint (or `--endpoint`) in
//! event subscriptions, the slash command and interactivity; `--no-endpoint` gives the manifest
//! to create the app with before the first deploy. The app's name is `--app-name`, else the one
//! the deploy stored (`<prefix>/slackAppName`, read only with the deployed endpoint), else the
//! default.

use anyhow::{Context as _, anyhow};

use super::{Failure, ResolvedTarget};
use crate::aws::Aws;
use crate::cli::ManifestArgs;
use crate::deployment::{Deployment, outputs};
use crate::manifest::{DEFAULT_APP_NAME, manifest, render};
use crate::validate;

pub async fn run(args: ManifestArgs) -> Result<(), Failure> {
    let target = ResolvedTarget::from_args(&args.target).map_err(Failure::Usage)?;
    let mut problems = Vec::new();
    if let Some(endpoint) = &args.endpoint
        && let Err(problem) = validate::endpoint_url(endpoint)
    {
        problems.push(problem);
    }
    if let Some(name) = &args.app_name
        && let Err(problem) = validate::app_name(name)
    {
        problems.push(problem);
    }
    if !problems.is_empty() {
        return Err(Failure::Usage(problems));
    }

    // `--endpoint` and `--no-endpoint` never call AWS: the name is `--app-name` or the default.
    // For the deployed endpoint, the name the deploy stored is kept unless `--app-name` is given.
    let (endpoint, app_name) = if args.no_endpoint {
        (None, args.app_name)
    } else if let Some(endpoint) = args.endpoint {
        (Some(endpoint), args.app_name)
    } else {
        let aws = Aws::connect(&target.aws).await?;
        let endpoint = deployed_endpoint(&aws, &target).await?;
        let app_name = match args.app_name {
            Some(name) => Some(name),
            None => stored_app_name(&aws, &target.deployment).await?,
        };
        (Some(endpoint), app_name)
    };
    let app_name = app_name.unwrap_or_else(|| DEFAULT_APP_NAME.to_string());
    let text = render(&manifest(app_name.trim(), endpoint.as_deref()), args.format);
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            println!("Wrote the Slack app manifest to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// The app name the deploy stored (`--app-name`), if any.
pub async fn stored_app_name(aws: &Aws, deployment: &Deployment) -> anyhow::Result<Option<String>> {
    Ok(aws
        .parameter(&deployment.app_name_parameter())
        .await?
        .map(|parameter| parameter.value)
        .filter(|name| validate::app_name(name).is_ok()))
}

async fn deployed_endpoint(aws: &Aws, target: &ResolvedTarget) -> anyhow::Result<String> {
    let name = target.deployment.slack_stack();
    let stack = aws.stack(&name).await?.ok_or_else(|| {
        anyhow!(
            "stack {name} not found in {}: deploy first, pass --endpoint URL, or pass --no-endpoint for a manifest to create the app with",
            aws.region
        )
    })?;
    Ok(stack.required_output(outputs::ENDPOINT)?.to_string())
}
