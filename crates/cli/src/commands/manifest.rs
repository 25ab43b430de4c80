//! `slack manifest`: the Slack app manifest, with the deployed endpoint (or `--endpoint`) in
//! event subscriptions, the slash command and interactivity; `--no-endpoint` gives the manifest
//! to create the app with before the first deploy.

use anyhow::{Context as _, anyhow};

use super::{Failure, ResolvedTarget};
use crate::aws::Aws;
use crate::cli::ManifestArgs;
use crate::deployment::outputs;
use crate::manifest::{manifest, render};
use crate::validate;

pub async fn run(args: ManifestArgs) -> Result<(), Failure> {
    let target = ResolvedTarget::from_args(&args.target).map_err(Failure::Usage)?;
    let mut problems = Vec::new();
    if let Some(endpoint) = &args.endpoint
        && let Err(problem) = validate::endpoint_url(endpoint)
    {
        problems.push(problem);
    }
    if args.app_name.trim().is_empty() || args.app_name.chars().count() > 35 {
        problems.push(format!(
            "--app-name must be 1 to 35 characters (Slack's limit); got {:?}",
            args.app_name
        ));
    }
    if !problems.is_empty() {
        return Err(Failure::Usage(problems));
    }

    let endpoint = if args.no_endpoint {
        None
    } else if let Some(endpoint) = args.endpoint {
        Some(endpoint)
    } else {
        Some(deployed_endpoint(&target).await?)
    };
    let text = render(
        &manifest(args.app_name.trim(), endpoint.as_deref()),
        args.format,
    );
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            println!("Wrote the Slack app manifest to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

async fn deployed_endpoint(target: &ResolvedTarget) -> anyhow::Result<String> {
    let aws = Aws::connect(&target.aws).await?;
    let name = target.deployment.slack_stack();
    let stack = aws.stack(&name).await?.ok_or_else(|| {
        anyhow!(
            "stack {name} not found in {}: deploy first, pass --endpoint URL, or pass --no-endpoint for a manifest to create the app with",
            aws.region
        )
    })?;
    Ok(stack.required_output(outputs::ENDPOINT)?.to_string())
}
