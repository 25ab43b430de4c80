//! `/security-ir` and the buttons the integration posts: acknowledged at once, run by the
//! command handler (async `lambda:Invoke` with a [`CommandInvocation`]).

use sirslack_domain::channel::DEFAULT_CHANNEL_PREFIX;
use sirslack_domain::command::{Command, USAGE};
use sirslack_domain::declaration::CREATE_SUBCOMMAND;
use sirslack_mapper::markup::parse_slash_command;
use sirslack_slack_router::{
    Ack, ActionRequest, CommandInvocation, CommandRequest, HandOff, ListenerError, Outcome,
};
use tracing::{error, warn};

use crate::app::App;
use crate::listeners::linked_case;

fn not_a_case_channel() -> String {
    format!(
        "`/security-ir` only works in a case channel: a channel named \
         `{DEFAULT_CHANNEL_PREFIX}-<caseId>` that this integration created for a SIR case."
    )
}

fn handler_unavailable(what: &str) -> String {
    format!(
        "Could not start {what}: the command handler is unavailable. Please try again in a \
         moment."
    )
}

/// The `/security-ir` listener.
pub async fn on_slash_command(
    app: &App,
    request: CommandRequest,
) -> Result<Outcome, ListenerError> {
    let command = &request.command;
    if is_create(&command.text) {
        return crate::listeners::declare::on_create_command(app, &request).await;
    }
    let parsed = match parse_slash_command(&command.text) {
        Ok(Command::Help) => return Ok(Outcome::ack(Ack::ephemeral(USAGE)).with_note("help")),
        Ok(parsed) => parsed,
        Err(error) => {
            let mut text = error.to_string();
            if error.should_show_usage() {
                text.push_str("\n\n");
                text.push_str(USAGE);
            }
            return Ok(Outcome::ack(Ack::ephemeral(text)).with_note("invalid_command"));
        }
    };
    let Some(case_id) = linked_case(app, &command.channel_id).await? else {
        return Ok(Outcome::ack(Ack::ephemeral(not_a_case_channel())).with_note("unlinked_channel"));
    };
    let shown = format!("`/security-ir {}`", parsed.name());
    let invocation = CommandInvocation::for_slash_command(command, case_id, request.received_at);
    let hand_off =
        HandOff::function(&app.config.command_handler_function, &invocation).map_err(|error| {
            ListenerError::Permanent(format!("invocation not serialisable: {error}"))
        })?;
    Ok(
        Outcome::ack(Ack::ephemeral(format!("Working on it... {shown}")))
            .with_hand_off(hand_off)
            .if_hand_off_fails(Ack::ephemeral(handler_unavailable(&shown))),
    )
}

/// The listener for every block action: Slack shows nothing of the ack body, so anything the
/// person must read goes through the `response_url`.
pub async fn on_block_action(
    app: std::sync::Arc<App>,
    request: ActionRequest,
) -> Result<Outcome, ListenerError> {
    let interaction = &request.interaction;
    let response_url = interaction.response_url.clone();
    let case_id = match interaction.channel_id.as_deref() {
        Some(channel_id) => linked_case(&app, channel_id)
            .await?
            .map(|case_id| (channel_id.to_owned(), case_id)),
        None => None,
    };
    let Some((channel_id, case_id)) = case_id else {
        if let Some(url) = &response_url
            && let Err(error) = app
                .slack
                .post_to_response_url(url, "These buttons only work in a case channel.")
                .await
        {
            warn!(%error, "could not answer an action outside a case channel");
        }
        return Ok(Outcome::ignored("unlinked_channel"));
    };
    let invocation = match CommandInvocation::for_block_action(
        interaction,
        &request.action,
        &channel_id,
        case_id,
        request.received_at,
    ) {
        Ok(invocation) => invocation,
        Err(error) => {
            error!(%error, action_id = request.action.action_id, "action cannot be answered");
            return Ok(Outcome::ignored("no_response_url"));
        }
    };
    let hand_off =
        HandOff::function(&app.config.command_handler_function, &invocation).map_err(|error| {
            ListenerError::Permanent(format!("invocation not serialisable: {error}"))
        })?;
    let url = invocation.response_url.clone();
    let notifier = std::sync::Arc::clone(&app);
    Ok(Outcome::ack(Ack::Empty)
        .with_hand_off(hand_off)
        .on_hand_off_failure(async move {
            let text = handler_unavailable("that action");
            if let Err(error) = notifier.slack.post_to_response_url(&url, &text).await {
                error!(%error, "could not tell the person their action failed");
            }
        }))
}

/// `/security-ir create`: declaring a case, allowed in any channel.
fn is_create(text: &str) -> bool {
    text.split_whitespace()
        .next()
        .is_some_and(|word| word.eq_ignore_ascii_case(CREATE_SUBCOMMAND))
}
