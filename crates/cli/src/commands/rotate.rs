//! `slack rotate`: replace the signing secret, the bot token, or both, then verify.
//!
//! Only what is given is rotated: the other stored value is not written (its SSM version stays),
//! and a run with nothing to rotate is refused. A new bot token is checked before anything is
//! written: its format, `auth.test` against the deployment's workspace, and it must be for the
//! same bot user as the stored token (that bot user is the member of every case channel). If
//! writing the second of two values fails, the first is put back, so users see both old values
//! or both new ones. The functions read the parameters with a cache of a few minutes (and the
//! events handler re-reads the signing secret when a signature does not match), so no redeploy
//! is needed.

use anyhow::{Context as _, anyhow};

use super::verify::verify;
use super::{App, Failure, ResolvedTarget};
use crate::aws::{Aws, StoredParameter};
use crate::cli::RotateArgs;
use crate::input::{BOT_TOKEN_INPUT, SIGNING_SECRET_INPUT, SecretInput, SecretReader};
use crate::progress::Progress;
use crate::slack::{AuthTestError, Http, SlackApi};
use crate::validate::{self, Secret};

/// Why the routine rotation never revokes the bot token: in `rotate --help`, and printed by a
/// run that rotates the token.
pub const REVOKE_WARNING: &str = "\
Never revoke the bot token unless it leaked. Revoking a bot token (auth.revoke, or \"Revoke
tokens\" in the app's settings) deactivates the bot user and removes it from every case
channel, and a bot cannot rejoin a private channel by itself. Regenerate the signing secret
freely (Basic Information > App Credentials > Regenerate): it changes nothing in the channels.
For the bot token, reinstalling the app to the workspace keeps the same bot user and its
channels (Slack may keep the same token too; rotate when it shows a new one). Only a leaked
token is revoked: then reinstall, rotate with the new token, and have a member re-invite the
bot (/invite @<app name>) to each open case channel.";

/// Nothing given, or only the values already stored: refused with exit code 2.
const NOTHING_TO_ROTATE: &str = "nothing to rotate: give the new signing secret (--signing-secret, or SLACK_SIGNING_SECRET), the new bot token (--bot-token, or SLACK_BOT_TOKEN), or both; - reads a value from standard input (without echo on a terminal)";

/// One value to rotate: which input it came from, its parameter, the new value, and what is
/// stored now.
struct Change {
    input: SecretInput,
    parameter: String,
    value: Secret,
    previous: Option<StoredParameter>,
}

/// What a value given to `rotate` means once the stored one is known.
enum Given {
    /// A new value: written.
    New(Secret),
    /// The value already stored as a SecureString: nothing to write.
    Unchanged,
    /// Not given: the stored value is kept.
    Absent,
}

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
        .given(BOT_TOKEN_INPUT, args.bot_token)
        .and_then(|token| super::deploy::checked(token, validate::bot_token));
    let signing_secret = reader
        .given(SIGNING_SECRET_INPUT, args.signing_secret)
        .and_then(|secret| super::deploy::checked(secret, validate::signing_secret));
    let (target, bot_token, signing_secret) = match (target, bot_token, signing_secret) {
        (Some(_), Ok(None), Ok(None)) => {
            return Err(Failure::Usage(vec![NOTHING_TO_ROTATE.to_string()]));
        }
        (Some(target), Ok(token), Ok(secret)) => (target, token, secret),
        (_, token, secret) => {
            problems.extend(token.err());
            problems.extend(secret.err());
            return Err(Failure::Usage(problems));
        }
    };
    let rotates_token = bot_token.is_some();

    if rotates_token {
        println!("{REVOKE_WARNING}\n");
    }
    let mut progress = Progress::new(5);
    let step = progress.start("Validate the new values");
    step.done(match (&bot_token, &signing_secret) {
        (Some(_), Some(_)) => "the bot token and the signing secret are well-formed",
        (Some(_), None) => "the bot token is well-formed; the signing secret is not rotated",
        (None, _) => "the signing secret is well-formed; the bot token is not rotated",
    });

    let aws = Aws::connect(&target.aws).await?;
    let target = target.with_region(&aws.region);
    let deployment = &target.deployment;

    let step = progress.start("Read the stored values");
    let token_name = deployment.bot_token_parameter();
    let secret_name = deployment.signing_secret_parameter();
    let stored = async {
        let workspace_name = deployment.workspace_id_parameter();
        let workspace = aws.parameter(&workspace_name).await?.with_context(|| {
            format!(
                "{workspace_name} is missing, so {} is not deployed in {}: deploy first (or check --region and --deployment)",
                deployment.label(),
                aws.region
            )
        })?;
        let token = aws.parameter(&token_name).await?;
        let secret = aws.parameter(&secret_name).await?;
        Ok::<_, anyhow::Error>((workspace.value, token, secret))
    };
    let (workspace_id, stored_token, stored_secret) = match stored.await {
        Ok(stored) => stored,
        Err(error) => {
            step.failed();
            return Err(error.into());
        }
    };
    let token = compare(bot_token, stored_token.as_ref());
    let secret = compare(signing_secret, stored_secret.as_ref());
    let mut changes = Vec::new();
    let mut kept = Vec::new();
    for (input, name, given, previous) in [
        (BOT_TOKEN_INPUT, &token_name, token, stored_token),
        (SIGNING_SECRET_INPUT, &secret_name, secret, stored_secret),
    ] {
        match given {
            Given::New(value) => changes.push(Change {
                input,
                parameter: name.clone(),
                value,
                previous,
            }),
            Given::Unchanged => kept.push(format!(
                "{name} (the value given is the stored one; version {})",
                previous.map_or(0, |stored| stored.version)
            )),
            Given::Absent => kept.push(match previous {
                Some(stored) => format!("{name} (version {})", stored.version),
                None => format!("{name} (missing)"),
            }),
        }
    }
    if changes.is_empty() {
        step.done(format!("kept {}", kept.join(", ")));
        return Err(Failure::Usage(vec![format!(
            "{NOTHING_TO_ROTATE} (the values given are the ones stored)"
        )]));
    }
    step.done(format!(
        "rotating {}; keeping {}",
        changes
            .iter()
            .map(|change| change.parameter.as_str())
            .collect::<Vec<_>>()
            .join(" and "),
        if kept.is_empty() {
            "nothing".to_string()
        } else {
            kept.join(", ")
        }
    ));

    let step = progress.start("Check the new bot token with Slack auth.test");
    let new_token = changes
        .iter()
        .find(|change| change.input.flag == BOT_TOKEN_INPUT.flag);
    match new_token {
        None => step.done("skipped: the bot token is not rotated"),
        Some(_) if args.skip_slack_check => step.done("skipped (--skip-slack-check)"),
        Some(change) => {
            let previous = change.previous.as_ref().map(|stored| &stored.value);
            match check_new_token(app, &change.value, previous, &workspace_id).await {
                Ok(detail) => step.done(detail),
                Err(error) => {
                    step.failed();
                    return Err(error.into());
                }
            }
        }
    }

    let step = progress.start("Write the SecureString parameters");
    match write_all(&aws, &changes).await {
        Ok(written) => step.done(if kept.is_empty() {
            format!("wrote {written}")
        } else {
            format!("wrote {written}; kept {}", kept.join(", "))
        }),
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
        if rotates_token {
            println!(
                "Keep the old bot token unrevoked unless it leaked: revoking it removes the bot from every case channel."
            );
        }
        Ok(())
    } else {
        step.failed();
        Err(Failure::Reported)
    }
}

/// A value given is new unless it is what a SecureString already holds (a value stored as a
/// plain String is written again, as a SecureString).
fn compare(given: Option<Secret>, stored: Option<&StoredParameter>) -> Given {
    match (given, stored) {
        (None, _) => Given::Absent,
        (Some(value), Some(stored)) if stored.secure && stored.value == value.expose() => {
            Given::Unchanged
        }
        (Some(value), _) => Given::New(value),
    }
}

/// The new token: `auth.test` against the deployment's workspace, then the same bot user as
/// the stored token. A stored token Slack no longer accepts (revoked after a leak, the app
/// uninstalled) cannot be compared: the detail says so and what it means for the channels.
async fn check_new_token(
    app: &App,
    token: &Secret,
    stored: Option<&String>,
    workspace_id: &str,
) -> anyhow::Result<String> {
    let http = Http::new()?;
    let identity = super::deploy::check_token(&http, app, token, workspace_id).await?;
    let Some(stored) = stored else {
        return Ok(format!(
            "the token is valid for {identity}; no token was stored to compare its bot user with"
        ));
    };
    let slack = SlackApi::new(http, app.slack_api_url.clone());
    match slack.auth_test(&Secret::new(stored.clone())).await {
        Ok(stored_identity) => {
            identity
                .same_bot_as(&stored_identity)
                .map_err(|why| anyhow!(why))?;
            Ok(format!(
                "the token is valid for {identity}, the same bot user as the stored token"
            ))
        }
        Err(AuthTestError::Rejected { code, .. }) => Ok(format!(
            "the token is valid for {identity}; the stored token is rejected by Slack ({code}), so its bot user cannot be compared. If it was revoked, the bot left every case channel: re-invite it (/invite @<app name>) to each open case channel"
        )),
        Err(error @ AuthTestError::Unreachable(_)) => {
            Err(anyhow!(error).context("checking the stored bot token, to compare its bot user"))
        }
    }
}

/// Writes the changes in order; when one fails, puts back the ones already written.
async fn write_all(aws: &Aws, changes: &[Change]) -> anyhow::Result<String> {
    let mut written = Vec::new();
    for (index, change) in changes.iter().enumerate() {
        match aws
            .put_secure_string(&change.parameter, change.value.expose())
            .await
        {
            Ok(version) => written.push(format!("{} (version {version})", change.parameter)),
            Err(error) => {
                let done = &changes[..index];
                if done.is_empty() {
                    return Err(error.context("nothing was changed"));
                }
                let names = done
                    .iter()
                    .map(|change| change.parameter.as_str())
                    .collect::<Vec<_>>()
                    .join(" and ");
                let mut restore_errors = Vec::new();
                for change in done {
                    if let Err(restore_error) =
                        restore(aws, &change.parameter, change.previous.clone()).await
                    {
                        restore_errors.push(format!("{restore_error:#}"));
                    }
                }
                return Err(if restore_errors.is_empty() {
                    error.context(format!(
                        "{} could not be written; {names} was put back, so nothing changed",
                        change.parameter
                    ))
                } else {
                    anyhow!(
                        "{} could not be written ({error:#}), and putting {names} back failed too ({}): run rotate again",
                        change.parameter,
                        restore_errors.join("; ")
                    )
                });
            }
        }
    }
    Ok(written.join(", "))
}

async fn restore(aws: &Aws, name: &str, previous: Option<StoredParameter>) -> anyhow::Result<()> {
    match previous {
        Some(previous) if previous.secure => aws
            .put_secure_string(name, &previous.value)
            .await
            .map(|_| ()),
        Some(previous) => aws.put_string(name, &previous.value).await.map(|_| ()),
        None => aws.delete_parameters(&[name.to_string()]).await.map(|_| ()),
    }
}
