//! `slack verify`: one line per check, exit code 0 only when every check passes.
//!
//! Checks: both stacks complete; the four functions active; the parameters present, of the
//! right type and well-formed (values never printed); Slack `auth.test` with the stored token,
//! for the stored workspace; the endpoint answers a signed `url_verification` with its
//! challenge and rejects unsigned and forged ones; the dead-letter queues are empty.

use std::fmt::Display;

use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_lambda::types::{LastUpdateStatus, State};

use super::{App, Failure, ResolvedTarget};
use crate::aws::{Aws, Stack, StoredParameter};
use crate::cli::VerifyArgs;
use crate::deployment::outputs;
use crate::slack::{Http, SlackApi, send_url_verification};
use crate::validate::{self, Secret};

pub async fn run(args: VerifyArgs, app: &App) -> Result<(), Failure> {
    let target = ResolvedTarget::from_args(&args.target).map_err(Failure::Usage)?;
    let aws = Aws::connect(&target.aws).await?;
    let target = target.with_region(&aws.region);
    println!(
        "Verifying {} in {} ({}, {})",
        target.deployment.label(),
        aws.region,
        target.deployment.common_stack(),
        target.deployment.slack_stack()
    );
    let checks = verify(&aws, &target, app).await?;
    if checks.failed == 0 {
        Ok(())
    } else {
        Err(Failure::Reported)
    }
}

/// Counts what [`verify`] printed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Checks {
    fn pass(&mut self, what: &str, detail: impl Display) {
        self.passed += 1;
        println!("ok    {what}: {detail}");
    }

    fn fail(&mut self, what: &str, reason: impl Display) {
        self.failed += 1;
        println!("FAIL  {what}: {reason}");
    }

    fn skip(&mut self, what: &str, reason: impl Display) {
        self.skipped += 1;
        println!("skip  {what}: {reason}");
    }

    fn summary(&self) -> String {
        let total = self.passed + self.failed;
        let skipped = match self.skipped {
            0 => String::new(),
            n => format!(" ({n} skipped)"),
        };
        if self.failed == 0 {
            format!("verify: all {total} checks passed{skipped}")
        } else {
            format!("verify: {} of {total} checks failed{skipped}", self.failed)
        }
    }
}

/// Runs every check, printing one line each and a summary.
pub async fn verify(aws: &Aws, target: &ResolvedTarget, app: &App) -> anyhow::Result<Checks> {
    let deployment = &target.deployment;
    let mut checks = Checks::default();
    let http = Http::new()?;

    let common = check_stack(&mut checks, aws, &deployment.common_stack()).await;
    let slack = check_stack(&mut checks, aws, &deployment.slack_stack()).await;

    for (stack, output, label) in [
        (&common, outputs::POLLER_FUNCTION, "function SIR poller"),
        (
            &slack,
            outputs::SLACK_CLIENT_FUNCTION,
            "function Slack client",
        ),
        (
            &slack,
            outputs::EVENTS_HANDLER_FUNCTION,
            "function events handler",
        ),
        (
            &slack,
            outputs::COMMAND_HANDLER_FUNCTION,
            "function command handler",
        ),
    ] {
        match stack_output(stack, output) {
            Ok(name) => check_function(&mut checks, aws, label, name).await,
            Err(Missing::Stack) => checks.skip(label, "its stack is missing"),
            Err(Missing::Output(stack)) => {
                checks.fail(label, format!("stack {stack} has no output {output}"));
            }
        }
    }

    let token_name = deployment.bot_token_parameter();
    let token = check_parameter(
        &mut checks,
        aws,
        &token_name,
        ParameterRule::Secure(validate::bot_token, "a bot token (xoxb-...)"),
        &format!("run `{}`", app.suggest("rotate --bot-token -", target)),
    )
    .await;
    let secret_name = deployment.signing_secret_parameter();
    let signing_secret = check_parameter(
        &mut checks,
        aws,
        &secret_name,
        ParameterRule::Secure(validate::signing_secret, "32 or 64 hexadecimal characters"),
        &format!("run `{}`", app.suggest("rotate --signing-secret -", target)),
    )
    .await;
    let workspace_name = deployment.workspace_id_parameter();
    let workspace_id = check_parameter(
        &mut checks,
        aws,
        &workspace_name,
        ParameterRule::Plain(validate::workspace_id, "a workspace ID like T0123456789"),
        "the Slack stack writes it: deploy again",
    )
    .await;

    check_parameter(
        &mut checks,
        aws,
        &deployment.channel_prefix_parameter(),
        ParameterRule::Plain(validate::channel_prefix, "a channel name prefix"),
        "the Slack stack writes it: deploy again",
    )
    .await;

    let auth_label = "Slack auth.test";
    match &token {
        Some(token) => {
            let slack_api = SlackApi::new(http.clone(), app.slack_api_url.clone());
            match slack_api.auth_test(&Secret::new(token.value.clone())).await {
                Ok(identity) => match &workspace_id {
                    Some(workspace) if workspace.value != identity.team_id => checks.fail(
                        auth_label,
                        format!(
                            "the bot token belongs to workspace {} ({}), but the deployment serves {}",
                            identity.team_id, identity.team, workspace.value
                        ),
                    ),
                    _ => checks.pass(auth_label, identity.to_string()),
                },
                Err(error) => checks.fail(auth_label, error),
            }
        }
        None => checks.skip(auth_label, format!("no usable token in {token_name}")),
    }

    let signed_label = "endpoint answers a signed url_verification";
    let unsigned_label = "endpoint rejects unsigned and forged requests";
    match stack_output(&slack, outputs::ENDPOINT) {
        Ok(endpoint) => {
            match &signing_secret {
                Some(secret) => {
                    let secret = Secret::new(secret.value.clone());
                    match send_url_verification(&http, endpoint, Some(&secret)).await {
                        Ok((status, true)) if status.is_success() => checks.pass(
                            signed_label,
                            format!("HTTP {} with the challenge ({endpoint})", status.as_u16()),
                        ),
                        Ok((status, _)) => checks.fail(
                            signed_label,
                            format!(
                                "HTTP {} without the challenge from {endpoint}{}",
                                status.as_u16(),
                                signed_hint(status.as_u16(), &secret_name)
                            ),
                        ),
                        Err(error) => checks.fail(signed_label, format!("{error:#}")),
                    }
                }
                None => checks.skip(signed_label, format!("no usable secret in {secret_name}")),
            }
            let forged_secret = Secret::new(forged_secret(signing_secret.as_ref()));
            let unsigned = send_url_verification(&http, endpoint, None).await;
            let forged = send_url_verification(&http, endpoint, Some(&forged_secret)).await;
            match (unsigned, forged) {
                (Ok((unsigned, _)), Ok((forged, _)))
                    if unsigned.is_client_error() && forged.is_client_error() =>
                {
                    checks.pass(
                        unsigned_label,
                        format!(
                            "HTTP {} without a signature, HTTP {} with a wrong one",
                            unsigned.as_u16(),
                            forged.as_u16()
                        ),
                    );
                }
                (Ok((unsigned, _)), Ok((forged, _))) => checks.fail(
                    unsigned_label,
                    format!(
                        "HTTP {} without a signature, HTTP {} with a wrong one; expected 4xx for both: the endpoint must check Slack's signature",
                        unsigned.as_u16(),
                        forged.as_u16()
                    ),
                ),
                (Err(error), _) | (_, Err(error)) => checks.fail(unsigned_label, format!("{error:#}")),
            }
        }
        Err(Missing::Stack) => {
            checks.skip(signed_label, "the Slack stack is missing");
            checks.skip(unsigned_label, "the Slack stack is missing");
        }
        Err(Missing::Output(stack)) => {
            let reason = format!("stack {stack} has no output {}", outputs::ENDPOINT);
            checks.fail(signed_label, &reason);
            checks.skip(unsigned_label, reason);
        }
    }

    let redrive = app.suggest("redrive", target);
    for (stack, output, label) in [
        (
            &common,
            outputs::POLLER_DLQ,
            "dead-letter queue of the SIR poller",
        ),
        (
            &slack,
            outputs::SLACK_CLIENT_DLQ,
            "dead-letter queue of the Slack client",
        ),
        (
            &slack,
            outputs::COMMAND_HANDLER_DLQ,
            "dead-letter queue of the command handler",
        ),
        (
            &slack,
            outputs::EVENTS_HANDLER_DLQ,
            "dead-letter queue of the events handler",
        ),
    ] {
        match stack_output(stack, output) {
            Ok(queue_url) => match aws.queue_depth(queue_url).await {
                Ok(0) => checks.pass(label, "empty"),
                Ok(count) => checks.fail(
                    label,
                    format!(
                        "{count} message{} waiting: find the cause in the function's logs, then run `{redrive}`",
                        if count == 1 { "" } else { "s" }
                    ),
                ),
                Err(error) => checks.fail(label, format!("{error:#}")),
            },
            Err(Missing::Stack) => checks.skip(label, "its stack is missing"),
            Err(Missing::Output(stack)) => {
                checks.fail(label, format!("stack {stack} has no output {output}"));
            }
        }
    }

    println!("{}", checks.summary());
    Ok(checks)
}

enum Missing<'a> {
    Stack,
    Output(&'a str),
}

fn stack_output<'a>(stack: &'a Option<Stack>, output: &str) -> Result<&'a str, Missing<'a>> {
    match stack {
        None => Err(Missing::Stack),
        Some(stack) => stack.output(output).ok_or(Missing::Output(&stack.name)),
    }
}

async fn check_stack(checks: &mut Checks, aws: &Aws, name: &str) -> Option<Stack> {
    let label = format!("stack {name}");
    match aws.stack(name).await {
        Ok(Some(stack)) if stack.is_complete() => {
            checks.pass(&label, &stack.status);
            Some(stack)
        }
        Ok(Some(stack)) => {
            let reason = stack
                .status_reason
                .as_deref()
                .map(|reason| format!(" ({reason})"))
                .unwrap_or_default();
            checks.fail(
                &label,
                format!(
                    "{}{reason}: see its events in the CloudFormation console",
                    stack.status
                ),
            );
            Some(stack)
        }
        Ok(None) => {
            checks.fail(
                &label,
                "not found: deploy first (or check --region and --deployment)",
            );
            None
        }
        Err(error) => {
            checks.fail(&label, format!("{error:#}"));
            None
        }
    }
}

async fn check_function(checks: &mut Checks, aws: &Aws, label: &str, name: &str) {
    match aws
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
    {
        Ok(configuration) => {
            let state = configuration.state();
            let update = configuration.last_update_status();
            let active = matches!(state, Some(State::Active));
            let updated = !matches!(update, Some(LastUpdateStatus::Failed));
            if active && updated {
                checks.pass(label, format!("{name} is Active"));
            } else {
                let reason = configuration
                    .state_reason()
                    .or(configuration.last_update_status_reason())
                    .map(|reason| format!(" ({reason})"))
                    .unwrap_or_default();
                checks.fail(
                    label,
                    format!(
                        "{name} is {}, last update {}{reason}",
                        state.map_or("in an unknown state", |state| state.as_str()),
                        update.map_or("unknown", |update| update.as_str())
                    ),
                );
            }
        }
        Err(error) if error.code() == Some("ResourceNotFoundException") => {
            checks.fail(label, format!("{name} does not exist: deploy again"));
        }
        Err(error) => checks.fail(label, format!("{name}: {}", DisplayErrorContext(&error))),
    }
}

/// What a parameter must be: its type and a format check with a description of the format.
enum ParameterRule {
    Secure(fn(&str) -> Result<(), String>, &'static str),
    Plain(fn(&str) -> Result<(), String>, &'static str),
}

/// Checks one parameter and returns it when it is usable (present and well-formed; a secret
/// stored as a plain String still counts as usable for the checks that follow).
async fn check_parameter(
    checks: &mut Checks,
    aws: &Aws,
    name: &str,
    rule: ParameterRule,
    fix: &str,
) -> Option<StoredParameter> {
    let label = format!("parameter {name}");
    let parameter = match aws.parameter(name).await {
        Ok(Some(parameter)) => parameter,
        Ok(None) => {
            checks.fail(&label, format!("missing: {fix}"));
            return None;
        }
        Err(error) => {
            checks.fail(&label, format!("{error:#}"));
            return None;
        }
    };
    let (format_ok, format, want_secure) = match rule {
        ParameterRule::Secure(check, format) => (check(&parameter.value).is_ok(), format, true),
        ParameterRule::Plain(check, format) => (check(&parameter.value).is_ok(), format, false),
    };
    if !format_ok {
        checks.fail(&label, format!("its value is not {format}: {fix}"));
        return None;
    }
    if want_secure && !parameter.secure {
        checks.fail(
            &label,
            format!(
                "is a {}, not a SecureString, so the secret is stored unencrypted: {fix}",
                parameter.kind
            ),
        );
    } else {
        checks.pass(
            &label,
            format!(
                "{}, well-formed (version {})",
                parameter.kind, parameter.version
            ),
        );
    }
    Some(parameter)
}

fn signed_hint(status: u16, secret_name: &str) -> String {
    match status {
        401 => format!(
            ": the events handler's signing secret differs from {secret_name} (after a rotation, it reads the new one within 5 minutes)"
        ),
        403 => ": API Gateway refused the request (check the stage and any WAF)".to_string(),
        404 => ": no such route (is the endpoint output stale?)".to_string(),
        500..=599 => ": the events handler failed; see its CloudWatch logs".to_string(),
        _ => String::new(),
    }
}

/// A signing secret that is certainly not the stored one.
fn forged_secret(stored: Option<&StoredParameter>) -> String {
    let candidate = "0123456789abcdef0123456789abcdef";
    match stored {
        Some(stored) if stored.value == candidate => "fedcba9876543210fedcba9876543210".into(),
        _ => candidate.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        let all_good = Checks {
            passed: 14,
            failed: 0,
            skipped: 0,
        };
        assert_eq!(all_good.summary(), "verify: all 14 checks passed");
        let broken = Checks {
            passed: 10,
            failed: 2,
            skipped: 3,
        };
        assert_eq!(
            broken.summary(),
            "verify: 2 of 12 checks failed (3 skipped)"
        );
    }
}
