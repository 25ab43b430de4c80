//! The case message's **Edit title** and **Edit description** buttons (issue 19 item 3).
//!
//! - **Click** (ack path): the channel must be linked to the case the button names (its value
//!   and its `case:<caseId>` block); the current value is read from the case's snapshot (what
//!   the poller last synced; one GetItem), and the modal opened with `views.open` and the
//!   click's `trigger_id` before the ack: one attempt, since Slack accepts a trigger once and
//!   for 3 seconds. A refusal is explained through the click's `response_url`. The click's
//!   context (case, channel, message, `response_url`) travels in the modal's
//!   `private_metadata`.
//! - **Submit** (`view_submission`): the text is checked with the commands' grammar
//!   ([`parse_edit_submission`]); errors go back on their fields. A valid form whose channel is
//!   still linked to its case closes the modal and becomes a [`CommandInvocation`] of kind
//!   `view_submission` for the command handler: `update-title <text>` /
//!   `update-description <text>`, run exactly as the commands (authorization, step-up with the
//!   modal's code field, a claim keyed by the view so a double submit changes once, the audit
//!   comment, one announcement).

use sirslack_domain::CaseId;
use sirslack_mapper::edit::{
    CurrentValue, EditContext, EditField, edit_modal, parse_edit_submission,
};
use sirslack_mapper::slack::case_id_from_block_id;
use sirslack_slack_router::{
    Ack, ActionRequest, CaseMessageOrigin, CommandInvocation, HandOff, ListenerError, Outcome,
    ResponseUrl, ViewSubmissionRequest,
};
use tracing::{error, warn};

use crate::app::App;
use crate::listeners::declare::{could_not_open, submitted_view};
use crate::listeners::linked_case;

/// A click on Edit title or Edit description: the modal, or why it did not open.
pub async fn on_edit_button(
    app: &App,
    field: EditField,
    request: ActionRequest,
) -> Result<Outcome, ListenerError> {
    let interaction = &request.interaction;
    let Some(response_url) = interaction.response_url.clone() else {
        // Not a click on a message (a copy in a modal or a Home tab): nowhere to answer.
        return Ok(Outcome::ignored("no_response_url"));
    };
    let tell = |text: String| {
        let url = response_url.clone();
        async move {
            if let Err(slack_error) = app.slack.post_to_response_url(&url, &text).await {
                error!(error = %slack_error, "could not tell the person the edit form did not open");
            }
        }
    };
    let linked = match interaction.channel_id.as_deref() {
        Some(channel_id) => linked_case(app, channel_id)
            .await?
            .map(|case_id| (channel_id.to_owned(), case_id)),
        None => None,
    };
    let Some((channel_id, case_id)) = linked else {
        tell("These buttons only work in a case channel.".to_owned()).await;
        return Ok(Outcome::ignored("unlinked_channel"));
    };
    if !names_case(&request, &case_id) {
        tell("This button belongs to another case's message; nothing was done.".to_owned()).await;
        return Ok(Outcome::ignored("foreign_case_button"));
    }
    let Some(trigger_id) = interaction.trigger_id.as_deref() else {
        tell(could_not_open(
            "edit form",
            &format!("click *{}*", field.button_text()),
            "no_trigger",
        ))
        .await;
        return Ok(Outcome::ack(Ack::Empty).with_note("edit_modal_not_opened"));
    };
    let snapshot = match app.table.snapshot(&case_id).await {
        Ok(snapshot) => snapshot.and_then(|snapshot| snapshot.case),
        Err(store_error) => {
            // The trigger is worth more than the pre-filled value: open it empty, saying so.
            warn!(case = %case_id, error = %store_error, "the case snapshot could not be read; the edit form opens empty");
            None
        }
    };
    let current = match (&snapshot, field) {
        (Some(case), EditField::Title) => CurrentValue::Known(&case.title),
        (Some(case), EditField::Description) => CurrentValue::Known(&case.description),
        (None, _) => CurrentValue::Unknown,
    };
    let context = EditContext {
        case_id,
        channel_id,
        message_ts: interaction.message_ts.clone(),
        response_url: response_url.expose().to_owned(),
    };
    let Some(view) = edit_modal(field, current, &context) else {
        tell(could_not_open(
            "edit form",
            &format!("click *{}*", field.button_text()),
            "private_metadata_too_long",
        ))
        .await;
        return Ok(Outcome::ack(Ack::Empty).with_note("edit_modal_not_opened"));
    };
    match app.slack.open_view(trigger_id, &view).await {
        Ok(_) => Ok(Outcome::ack(Ack::Empty).with_note("edit_modal_opened")),
        Err(slack_error) => {
            warn!(error = %slack_error, "the edit modal could not be opened");
            tell(could_not_open(
                "edit form",
                &format!("click *{}*", field.button_text()),
                &slack_error.code,
            ))
            .await;
            Ok(Outcome::ack(Ack::Empty).with_note("edit_modal_not_opened"))
        }
    }
}

/// Whether the clicked button is for `case_id`: its value is the case ID, and its block (when
/// Slack names it) is that case's.
fn names_case(request: &ActionRequest, case_id: &CaseId) -> bool {
    let value_ok = request
        .action
        .value
        .as_deref()
        .is_none_or(|value| value.trim().is_empty() || value.trim() == case_id.as_str());
    let block_ok = request
        .action
        .block_id
        .as_deref()
        .is_none_or(|block_id| case_id_from_block_id(block_id).as_ref() == Some(case_id));
    value_ok && block_ok
}

/// A submitted edit modal: field errors at once, or the hand-off to the command handler.
pub async fn on_edit_submission(
    app: &App,
    field: EditField,
    request: ViewSubmissionRequest,
) -> Result<Outcome, ListenerError> {
    let submission = &request.submission;
    let view = &submission.view;
    let raw = submitted_view(view);
    let parsed = match parse_edit_submission(field, &raw) {
        Ok(parsed) => parsed,
        Err(errors) => {
            return Ok(Outcome::ack(Ack::view_errors(errors.errors)).with_note("edit_form_errors"));
        }
    };
    let context = parsed.context;
    let linked = app
        .link_holds(&context.channel_id, &context.case_id)
        .await
        .map_err(|error| ListenerError::Transient(error.to_string()))?;
    if !linked {
        let text = format!(
            "The channel of this form is not linked to case {} any more, so nothing can be \
             changed from it.",
            context.case_id
        );
        return Ok(
            Outcome::ack(Ack::view_errors([(field.block_id().to_owned(), text)]))
                .with_note("unlinked_channel"),
        );
    }
    let origin = CaseMessageOrigin {
        channel_id: context.channel_id,
        case_id: context.case_id,
        message_ts: context.message_ts,
        response_url: ResponseUrl::new(context.response_url),
    };
    let invocation = CommandInvocation::for_view_submission(
        submission,
        origin,
        parsed.command_text,
        parsed.one_time_code,
        request.received_at,
    );
    let hand_off =
        HandOff::function(&app.config.command_handler_function, &invocation).map_err(|error| {
            ListenerError::Permanent(format!("invocation not serialisable: {error}"))
        })?;
    Ok(Outcome::ack(Ack::view_clear()).with_hand_off(hand_off))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use sirslack_slack_router::{ActionItem, BlockAction};
    use std::time::Instant;

    fn click(value: Option<&str>, block_id: Option<&str>) -> ActionRequest {
        ActionRequest {
            interaction: BlockAction {
                team_id: "T1".into(),
                user_id: "U1".into(),
                user_name: None,
                channel_id: Some("C1".into()),
                message_ts: Some("1.1".into()),
                response_url: None,
                trigger_id: None,
                api_app_id: None,
                actions: vec![],
            },
            action: ActionItem {
                action_id: EditField::Title.button_action_id().into(),
                block_id: block_id.map(str::to_owned),
                value: value.map(str::to_owned),
                kind: Some("button".into()),
            },
            received: Instant::now(),
            received_at: Utc::now(),
        }
    }

    #[test]
    fn a_button_is_for_its_own_case_only() {
        let case_id = CaseId::new("1234567890").unwrap();
        assert!(names_case(
            &click(Some("1234567890"), Some("case:1234567890")),
            &case_id
        ));
        assert!(names_case(&click(None, None), &case_id));
        assert!(!names_case(&click(Some("9999999999"), None), &case_id));
        assert!(!names_case(
            &click(Some("1234567890"), Some("case:9999999999")),
            &case_id
        ));
        assert!(!names_case(
            &click(Some("1234567890"), Some("other")),
            &case_id
        ));
    }
}
