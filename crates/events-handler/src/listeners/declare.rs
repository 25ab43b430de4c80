//! Declaring a case from Slack: `/security-ir create` (in any channel) and the global shortcut
//! "Declare a security incident" open the declare modal; its submission is checked at once and
//! handed to the command handler, which authorizes the person and creates the case in SIR.
//!
//! - **Open** (ack path): `views.open` with the interaction's `trigger_id`, which Slack accepts
//!   once and for 3 seconds only, so the modal is opened before the ack, never handed off. When
//!   Slack refuses (`expired_trigger_id`: the request took too long to reach us), the person is
//!   told to try again: ephemerally for the slash command; for the shortcut, which has no
//!   channel, in a direct message from the app.
//! - **Submit** (`view_submission`, callback [`DECLARE_CALLBACK_ID`]): the form is parsed and
//!   validated ([`parse_declare_submission`]); errors go back on their fields
//!   (`response_action: errors`) and the modal stays open with what was typed. A valid form
//!   closes the modal and becomes a [`DeclarationInvocation`] for the command handler (policy
//!   `create`, one-time code, CreateCase with a client token from the view ID, so a double
//!   submit makes one case; the declarer is told the case ID at once). When the command handler
//!   cannot be invoked, the modal stays open with an error under its first field.

use chrono::Utc;
use serde_json::{Value, json};
pub use sirslack_mapper::declare::DECLARE_CALLBACK_ID;
use sirslack_mapper::declare::{DeclareContext, declare_modal, parse_declare_submission};
use sirslack_slack_router::{
    Ack, ActionRequest, CommandRequest, DeclarationInvocation, HandOff, ListenerError, Outcome,
    ShortcutRequest, View, ViewSubmissionRequest,
};
use tracing::{error, warn};

use crate::app::App;

/// The global shortcut's `callback_id` (in the app manifest).
pub const DECLARE_SHORTCUT_CALLBACK_ID: &str = "declare_security_incident";

/// Why a modal (`form`: "declare form", "edit form") did not open, and how to try again: a
/// trigger Slack no longer takes is a matter of time (3 seconds); any other refusal is named.
pub(crate) fn could_not_open(form: &str, how_to_retry: &str, slack_error: &str) -> String {
    if matches!(slack_error, "expired_trigger_id" | "exchanged_trigger_id") {
        format!(
            "The {form} could not be opened in time (Slack allows 3 seconds). Please \
             {how_to_retry} again."
        )
    } else {
        format!(
            "The {form} could not be opened: Slack answered `{slack_error}`. Please \
             {how_to_retry} again in a moment."
        )
    }
}

/// Opens the declare modal for `trigger_id`; `Err` carries Slack's error code.
async fn open_modal(app: &App, trigger_id: &str, channel_id: Option<&str>) -> Result<(), String> {
    let context = DeclareContext::from_channel(channel_id);
    let view = declare_modal(&context, Utc::now().date_naive());
    app.slack
        .open_view(trigger_id, &view)
        .await
        .map(drop)
        .map_err(|slack_error| {
            warn!(error = %slack_error, "the declare modal could not be opened");
            slack_error.code.clone()
        })
}

/// `/security-ir create`: the modal, or why it did not open.
pub async fn on_create_command(
    app: &App,
    request: &CommandRequest,
) -> Result<Outcome, ListenerError> {
    let command = &request.command;
    let Some(trigger_id) = command.trigger_id.as_deref() else {
        return Ok(Outcome::ack(Ack::ephemeral(
            "Slack sent no trigger to open the declare form with. Please run `/security-ir create` again.",
        ))
        .with_note("no_trigger"));
    };
    match open_modal(app, trigger_id, Some(&command.channel_id)).await {
        Ok(()) => Ok(Outcome::ack(Ack::Empty).with_note("declare_modal_opened")),
        Err(code) => Ok(Outcome::ack(Ack::ephemeral(could_not_open(
            "declare form",
            "run `/security-ir create`",
            &code,
        )))
        .with_note("declare_modal_not_opened")),
    }
}

/// The global shortcut: the modal, or a direct message saying why it did not open.
pub async fn on_declare_shortcut(
    app: &App,
    request: ShortcutRequest,
) -> Result<Outcome, ListenerError> {
    let shortcut = &request.shortcut;
    match open_modal(app, &shortcut.trigger_id, None).await {
        Ok(()) => Ok(Outcome::ack(Ack::Empty).with_note("declare_modal_opened")),
        Err(code) => {
            let text = could_not_open(
                "declare form",
                "choose *Declare a security incident*",
                &code,
            );
            if let Err(slack_error) = app.slack.post_direct(&shortcut.user_id, &text).await {
                error!(error = %slack_error, user = shortcut.user_id, "could not tell the person the declare form did not open");
            }
            Ok(Outcome::ack(Ack::Empty).with_note("declare_modal_not_opened"))
        }
    }
}

/// The Home tab's "Declare a security incident" button: the modal, or a direct message saying
/// why it did not open (a Home tab has no channel to answer in).
pub async fn on_declare_button(
    app: &App,
    request: ActionRequest,
) -> Result<Outcome, ListenerError> {
    let interaction = &request.interaction;
    let user = &interaction.user_id;
    let result = match interaction.trigger_id.as_deref() {
        Some(trigger_id) => open_modal(app, trigger_id, None).await,
        None => Err("no_trigger".to_owned()),
    };
    match result {
        Ok(()) => Ok(Outcome::ack(Ack::Empty).with_note("declare_modal_opened")),
        Err(code) => {
            let text = could_not_open("declare form", "press *Declare a security incident*", &code);
            if let Err(slack_error) = app.slack.post_direct(user, &text).await {
                error!(error = %slack_error, user, "could not tell the person the declare form did not open");
            }
            Ok(Outcome::ack(Ack::Empty).with_note("declare_modal_not_opened"))
        }
    }
}

/// What the mapper reads of a submitted view: its `state.values` and `private_metadata`.
pub(crate) fn submitted_view(view: &View) -> Value {
    json!({
        "state": {"values": view.state.values},
        "private_metadata": view.private_metadata,
    })
}

/// A submitted declare modal: field errors at once, or the hand-off to the command handler.
pub async fn on_declare_submission(
    app: &App,
    request: ViewSubmissionRequest,
) -> Result<Outcome, ListenerError> {
    let submission = &request.submission;
    let view = &submission.view;
    let raw = submitted_view(view);
    let parsed = match parse_declare_submission(&raw, Utc::now().date_naive()) {
        Ok(parsed) => parsed,
        Err(errors) => {
            return Ok(Outcome::ack(Ack::view_errors(errors.errors.clone()))
                .with_note("declare_form_errors"));
        }
    };
    let mut invocation = DeclarationInvocation::new(
        view.id.clone(),
        submission.team_id.clone(),
        submission.user_id.clone(),
        parsed.declaration,
        request.received_at,
    );
    invocation.view_hash = view.hash.clone();
    invocation.user_name = submission.user_name.clone();
    invocation.one_time_code = parsed.one_time_code;
    invocation.origin_channel_id = parsed.context.channel_id;
    let hand_off =
        HandOff::function(&app.config.command_handler_function, &invocation).map_err(|error| {
            ListenerError::Permanent(format!("declaration not serialisable: {error}"))
        })?;
    Ok(Outcome::ack(Ack::view_clear()).with_hand_off(hand_off))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_trigger_is_explained_and_other_refusals_named() {
        let late = could_not_open(
            "declare form",
            "run `/security-ir create`",
            "expired_trigger_id",
        );
        assert!(late.contains("in time (Slack allows 3 seconds)"), "{late}");
        assert!(late.contains("run `/security-ir create` again"), "{late}");
        let other = could_not_open(
            "declare form",
            "run `/security-ir create`",
            "invalid_arguments",
        );
        assert!(other.contains("`invalid_arguments`"), "{other}");
    }

    #[test]
    fn the_shortcut_and_the_modal_have_their_own_callback_ids() {
        assert_ne!(DECLARE_SHORTCUT_CALLBACK_ID, DECLARE_CALLBACK_ID);
    }
}
