//! `slack rotate`: replace the bot token and the signing secret, then verify.
//!
//! Both values are checked before either is written (format, and the new token with Slack
//! `auth.test` against the deployment's workspace). If writing the second fails, the first is
//! put back, so users see both old values or both new ones. The functions read the parameters
//! with a cache of a few minutes (and the events handler re-reads the signing secret when a
//! signature does not match), so no redeploy is needed.

use anyhow::{Context as _, anyhow};

use super::verify::verify;
use super::{App, Failure, ResolvedTarget};
use crate::aws::{Aws, StoredParameter};
use crate::cli::RotateArgs;
use crate::input::{BOT_TOKEN_INPUT, SIGNING_SECRET_INPUT, SecretReader};
use crate::progress::Progress;
use crate::slack::Http;
use crate::validate::{self, Secret};

pub async fn run(args: RotateArgs, app: &App) -> Result<(), Failure> {
    let mut problems = Vec::new();
    let target = match ResolvedTarget::from_args(&args.target) {
        Ok(target) => Some(target),
        Err(target_problems) => {
            problems.extend(target_problems);
            None
        }
    };
    let reader = SecretReader::new();
    let bot_token = reader
        .read(BOT_TOKEN_INPUT, args.bot_token)
        .and_then(|token| validate::bot_token(token.expose()).map(|()| token));
    let signing_secret = reader
        .read(SIGNING_SECRET_INPUT, args.signing_secret)
        .and_then(|secret| validate::signing_secret(secret.expose()).map(|()| secret));
    let (target, bot_token, signing_secret) = match (target, bot_token, signing_secret) {
        (Some(target), Ok(token), Ok(secret)) => (target, token, secret),
        (_, token, secret) => {
            problems.extend(token.err());
            problems.extend(secret.err());
            return Err(Failure::Usage(problems));
        }
    };

    let mut progress = Progress::new(4);
    let step = progress.start("Validate the new values");
    step.done("the bot token and the signing secret are well-formed");

    let aws = Aws::connect(&target.aws).await?;
    let target = target.with_region(&aws.region);
    let deployment = &target.deployment;

    let step = progress.start("Check the new bot token with Slack auth.test");
    if args.skip_slack_check {
        step.done("skipped (--skip-slack-check)");
    } else {
        let checked = async {
            let workspace_name = deployment.workspace_id_parameter();
            let workspace = aws.parameter(&workspace_name).await?.with_context(|| {
                format!(
                    "{workspace_name} is missing, so {} is not deployed in {}: deploy first (or check --region and --deployment)",
                    deployment.label(),
                    aws.region
                )
            })?;
            super::deploy::check_token(&Http::new()?, app, &bot_token, &workspace.value).await
        };
        match checked.await {
            Ok(detail) => step.done(detail),
            Err(error) => {
                step.failed();
                return Err(error.into());
            }
        }
    }

    let step = progress.start("Write the SecureString parameters");
    match write_both(&aws, &target, &bot_token, &signing_secret).await {
        Ok(detail) => step.done(detail),
        Err(error) => {
            step.failed();
            return Err(error.into());
        }
    }

    let step = progress.start("Verify the deployment");
    let checks = match verify(&aws, &target, app).await {
        Ok(checks) => checks,
        Err(error) => {
            step.failed();
            return Err(error.into());
        }
    };
    if checks.failed == 0 {
        step.done("every check passed");
        println!(
            "Rotated. The functions use the new values within their cache time (5 minutes) without a redeploy."
        );
        Ok(())
    } else {
        step.failed();
        Err(Failure::Reported)
    }
}

/// Writes the token, then the secret; restores the token if the secret cannot be written.
async fn write_both(
    aws: &Aws,
    target: &ResolvedTarget,
    bot_token: &Secret,
    signing_secret: &Secret,
) -> anyhow::Result<String> {
    let token_name = target.deployment.bot_token_parameter();
    let secret_name = target.deployment.signing_secret_parameter();
    let previous_token = aws.parameter(&token_name).await?;
    let token_version = aws
        .put_secure_string(&token_name, bot_token.expose())
        .await?;
    match aws
        .put_secure_string(&secret_name, signing_secret.expose())
        .await
    {
        Ok(secret_version) => Ok(format!(
            "{token_name} (version {token_version}), {secret_name} (version {secret_version})"
        )),
        Err(error) => {
            let restored = restore(aws, &token_name, previous_token).await;
            Err(match restored {
                Ok(()) => error.context(format!(
                    "the signing secret could not be written; {token_name} was put back, so nothing changed"
                )),
                Err(restore_error) => anyhow!(
                    "the signing secret could not be written ({error:#}), and putting the old bot token back failed too ({restore_error:#}): run rotate again"
                ),
            })
        }
    }
}

async fn restore(aws: &Aws, name: &str, previous: Option<StoredParameter>) -> anyhow::Result<()> {
    match previous {
        Some(previous) => aws
            .put_secure_string(name, &previous.value)
            .await
            .map(|_| ()),
        None => aws.delete_parameters(&[name.to_string()]).await.map(|_| ()),
    }
}
