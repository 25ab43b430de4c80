//! The case message's **Edit title** and **Edit description** buttons: the modal each opens
//! (`views.open`) and the reading of its `view_submission`.
//!
//! Pure. The events handler opens [`edit_modal`] on the click (pre-filled with the value the
//! poller last synced), and on `view_submission` (its `callback_id` is
//! [`EditField::callback_id`]) reads the view with [`parse_edit_submission`]: either the command
//! line the form stands for (`update-title <text>` / `update-description <text>`, checked with
//! the commands' own grammar, [`Command::parse`], so the limits and messages are the same), or
//! [`ViewErrors`] keyed by `block_id` for `response_action: errors`.
//!
//! The click's context (case, channel, message, and the click's `response_url`, where the
//! command handler answers) travels in the modal's `private_metadata` as an [`EditContext`].
//! Its `Debug` hides the `response_url`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sirslack_domain::command::{Command, CommandError};
use sirslack_domain::limits::SLACK_INPUT_MAX;
use sirslack_domain::{CaseId, Otp};

use crate::blocks::{
    Modal, context_json, input_json, input_text, modal_json, plain_json, section_json,
};
use crate::declare::{PRIVATE_METADATA_MAX, ViewErrors, is_channel_id};
use crate::markup::escape_for_slack;

/// `action_id` of the case message's Edit title button (its value is the case ID).
pub const EDIT_TITLE_BUTTON_ACTION_ID: &str = "case_edit_title";
/// `action_id` of the case message's Edit description button (its value is the case ID).
pub const EDIT_DESCRIPTION_BUTTON_ACTION_ID: &str = "case_edit_description";
/// `callback_id` of the Edit title modal.
pub const EDIT_TITLE_CALLBACK_ID: &str = "edit_case_title";
/// `callback_id` of the Edit description modal.
pub const EDIT_DESCRIPTION_CALLBACK_ID: &str = "edit_case_description";
/// `block_id` (and `action_id`) of the title input.
pub const EDIT_TITLE_BLOCK_ID: &str = "edit_title";
/// `block_id` (and `action_id`) of the description input (multi-line).
pub const EDIT_DESCRIPTION_BLOCK_ID: &str = "edit_description";
/// `block_id` (and `action_id`) of the optional one-time code input.
pub const EDIT_CODE_BLOCK_ID: &str = "edit_one_time_code";

/// Which field of the case a modal edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditField {
    /// The title (1 to 300 characters).
    Title,
    /// The description (1 to 8,000 characters; the form holds 3,000).
    Description,
}

impl EditField {
    /// Both fields.
    pub const ALL: [Self; 2] = [Self::Title, Self::Description];

    /// The field whose case-message button has `action_id`.
    pub fn from_button(action_id: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|field| field.button_action_id() == action_id)
    }

    /// The field whose modal has `callback_id`.
    pub fn from_callback_id(callback_id: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|field| field.callback_id() == callback_id)
    }

    /// The button's `action_id`.
    pub fn button_action_id(self) -> &'static str {
        match self {
            Self::Title => EDIT_TITLE_BUTTON_ACTION_ID,
            Self::Description => EDIT_DESCRIPTION_BUTTON_ACTION_ID,
        }
    }

    /// The button's text (and how the person is told to click it again).
    pub fn button_text(self) -> &'static str {
        match self {
            Self::Title => "Edit title",
            Self::Description => "Edit description",
        }
    }

    /// The modal's `callback_id`.
    pub fn callback_id(self) -> &'static str {
        match self {
            Self::Title => EDIT_TITLE_CALLBACK_ID,
            Self::Description => EDIT_DESCRIPTION_CALLBACK_ID,
        }
    }

    /// The text input's `block_id` (and `action_id`): where its errors are shown.
    pub fn block_id(self) -> &'static str {
        match self {
            Self::Title => EDIT_TITLE_BLOCK_ID,
            Self::Description => EDIT_DESCRIPTION_BLOCK_ID,
        }
    }

    /// The `/security-ir` subcommand the form stands for.
    pub fn subcommand(self) -> &'static str {
        match self {
            Self::Title => "update-title",
            Self::Description => "update-description",
        }
    }

    /// `title` or `description`.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Title => "title",
            Self::Description => "description",
        }
    }
}

/// The click that opened an edit modal, carried in its `private_metadata`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditContext {
    /// The case the button is for.
    pub case_id: CaseId,
    /// The case channel the case message is in.
    pub channel_id: String,
    /// `ts` of the case message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_ts: Option<String>,
    /// The click's `response_url` (Slack's, valid 30 minutes). Never log it.
    pub response_url: String,
}

impl fmt::Debug for EditContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EditContext")
            .field("case_id", &self.case_id)
            .field("channel_id", &self.channel_id)
            .field("message_ts", &self.message_ts)
            .field("response_url", &"<redacted>")
            .finish()
    }
}

impl EditContext {
    /// The `private_metadata` string; `None` if it would not fit Slack's 3,000 characters.
    pub fn to_private_metadata(&self) -> Option<String> {
        serde_json::to_string(self)
            .ok()
            .filter(|metadata| metadata.chars().count() <= PRIVATE_METADATA_MAX)
    }

    /// The context from a submitted view's `private_metadata`; `None` when it is not one (or
    /// names something that is not a channel ID or a URL).
    pub fn from_private_metadata(metadata: &str) -> Option<Self> {
        if metadata.len() > PRIVATE_METADATA_MAX {
            return None;
        }
        serde_json::from_str::<Self>(metadata)
            .ok()
            .filter(|context| is_channel_id(&context.channel_id))
            .filter(|context| {
                context.response_url.starts_with("https://")
                    || context.response_url.starts_with("http://")
            })
    }
}

/// What the modal starts with: the field's value as the poller last synced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrentValue<'a> {
    /// The synced value.
    Known(&'a str),
    /// The case has not been synced (or its snapshot could not be read): the field starts
    /// empty, and the modal says so.
    Unknown,
}

/// A valid submission of an edit modal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditSubmission {
    /// Which field.
    pub field: EditField,
    /// The click that opened the modal.
    pub context: EditContext,
    /// The command the form stands for (as [`Command::parse`] reads it).
    pub command: Command,
    /// The same command as a `/security-ir` command line, escaped as Slack escapes typed
    /// command text (`&`, `<`, `>`), so that the command handler's
    /// `sirslack_mapper::markup::parse_slash_command` reads back exactly what was typed.
    pub command_text: String,
    /// The code typed in the one-time-code field, if any.
    pub one_time_code: Option<Otp>,
}

/// The edit modal for `field` of `case_id`, for `views.open`; `None` when `context` does not
/// fit in `private_metadata`.
pub fn edit_modal(
    field: EditField,
    current: CurrentValue<'_>,
    context: &EditContext,
) -> Option<Value> {
    let metadata = context.to_private_metadata()?;
    let noun = field.noun();
    let mut blocks = vec![section_json(&format!(
        "Case *{}*. The new {noun} replaces the current one in AWS Security Incident Response; \
         the channel is told, and an audit comment on the case names you.",
        context.case_id
    ))];
    let mut initial = None;
    let note = match current {
        CurrentValue::Known(value) if value.chars().count() > SLACK_INPUT_MAX => Some(format!(
            "The current {noun} has {} characters, more than this form holds ({SLACK_INPUT_MAX}), \
             so it is not shown here: what you type replaces all of it. `/security-ir \
             update-description` takes up to 8,000 characters.",
            value.chars().count()
        )),
        CurrentValue::Known(value) if !value.trim().is_empty() => {
            initial = Some(value);
            None
        }
        CurrentValue::Known(_) | CurrentValue::Unknown => Some(format!(
            "The current {noun} is not known here yet (the integration has not synced this \
             case), so the field starts empty."
        )),
    };
    if let Some(note) = note {
        blocks.push(context_json(&escape_for_slack(&note)));
    }
    let mut element = match field {
        // No `max_length`: a title over 300 characters is answered on the field with the
        // command's own message.
        EditField::Title => json!({"type": "plain_text_input"}),
        EditField::Description => {
            json!({"type": "plain_text_input", "multiline": true, "max_length": SLACK_INPUT_MAX})
        }
    };
    if let Some(value) = initial {
        element["initial_value"] = json!(value);
    }
    let (label, hint) = match field {
        EditField::Title => ("Title", "1 to 300 characters."),
        EditField::Description => (
            "Description",
            "Line breaks are kept. Up to 3,000 characters here (SIR takes 8,000: use \
             /security-ir update-description for longer).",
        ),
    };
    blocks.push(input_json(
        field.block_id(),
        label,
        element,
        false,
        Some(hint),
    ));
    blocks.push(input_json(
        EDIT_CODE_BLOCK_ID,
        "One-time code (if your workspace requires one)",
        json!({"type": "plain_text_input", "min_length": 6, "max_length": 6,
               "placeholder": plain_json("123456")}),
        true,
        Some("The 6-digit code from your authenticator app. Leave it empty if you are not asked for one."),
    ));
    let title = match field {
        EditField::Title => "Edit title",
        EditField::Description => "Edit description",
    };
    Some(modal_json(
        Modal {
            callback_id: field.callback_id(),
            title,
            submit: "Save",
            close: "Cancel",
            private_metadata: Some(&metadata),
        },
        blocks,
    ))
}

/// Reads a submitted edit `view` (its `state.values` and `private_metadata`) for `field`: the
/// command line, or the errors to show on the fields.
pub fn parse_edit_submission(field: EditField, view: &Value) -> Result<EditSubmission, ViewErrors> {
    let values = &view["state"]["values"];
    let text = |block_id: &str| input_text(values, block_id);
    let mut errors = ViewErrors::default();
    let context =
        EditContext::from_private_metadata(view["private_metadata"].as_str().unwrap_or_default());
    if context.is_none() {
        errors.errors.insert(
            field.block_id().to_owned(),
            format!(
                "This form no longer knows which case it edits. Close it and click *{}* on the \
                 case message again.",
                field.button_text()
            ),
        );
    }
    let typed = text(field.block_id());
    let command = match Command::parse(&format!("{} {typed}", field.subcommand())) {
        Ok(command) => Some(command),
        Err(error) => {
            let message = match error {
                CommandError::MissingArgument { .. } => format!("Enter a {}.", field.noun()),
                other => other.to_string(),
            };
            errors.errors.insert(field.block_id().to_owned(), message);
            None
        }
    };
    let code = text(EDIT_CODE_BLOCK_ID);
    let code = code.trim();
    let one_time_code = if code.is_empty() {
        None
    } else {
        match Otp::new(code) {
            Ok(code) => Some(code),
            Err(_) => {
                errors.errors.insert(
                    EDIT_CODE_BLOCK_ID.to_owned(),
                    "A one-time code is the 6 digits your authenticator app shows.".to_owned(),
                );
                None
            }
        }
    };
    match (context, command) {
        (Some(context), Some(command)) if errors.errors.is_empty() => Ok(EditSubmission {
            field,
            context,
            command_text: format!("{} {}", field.subcommand(), escape_for_slack(typed.trim())),
            command,
            one_time_code,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markup::parse_slash_command;

    fn context() -> EditContext {
        EditContext {
            case_id: CaseId::new("1234567890").unwrap(),
            channel_id: "C0CASE0001".into(),
            message_ts: Some("1700000000.000100".into()),
            response_url: "https://hooks.slack.com/actions/T1/1/secret".into(),
        }
    }

    fn submitted(field: EditField, typed: &str, code: &str, metadata: &str) -> Value {
        json!({
            "private_metadata": metadata,
            "state": {"values": {
                field.block_id(): {field.block_id(): {"type": "plain_text_input", "value": typed}},
                EDIT_CODE_BLOCK_ID: {EDIT_CODE_BLOCK_ID: {"type": "plain_text_input",
                                     "value": if code.is_empty() { Value::Null } else { json!(code) }}},
            }},
        })
    }

    fn metadata() -> String {
        context().to_private_metadata().unwrap()
    }

    #[test]
    fn the_modal_is_pre_filled_and_carries_the_click() {
        let modal = edit_modal(
            EditField::Title,
            CurrentValue::Known("Compromised IAM key"),
            &context(),
        )
        .unwrap();
        assert_eq!(modal["callback_id"], EDIT_TITLE_CALLBACK_ID);
        let blocks = modal["blocks"].as_array().unwrap();
        let title = blocks
            .iter()
            .find(|b| b["block_id"] == EDIT_TITLE_BLOCK_ID)
            .unwrap();
        assert_eq!(title["element"]["initial_value"], "Compromised IAM key");
        assert_eq!(title["element"]["action_id"], EDIT_TITLE_BLOCK_ID);
        assert!(title["element"].get("max_length").is_none());
        let code = blocks
            .iter()
            .find(|b| b["block_id"] == EDIT_CODE_BLOCK_ID)
            .unwrap();
        assert_eq!(code["optional"], true);
        assert_eq!(
            code["label"]["text"],
            "One-time code (if your workspace requires one)"
        );
        let back = EditContext::from_private_metadata(modal["private_metadata"].as_str().unwrap());
        assert_eq!(back, Some(context()));
        assert!(!format!("{:?}", context()).contains("secret"));
        // The title fits Slack's 24 characters.
        assert!(modal["title"]["text"].as_str().unwrap().len() <= 24);
    }

    #[test]
    fn the_description_is_multi_line_and_an_unknown_or_long_value_is_explained() {
        let modal = edit_modal(
            EditField::Description,
            CurrentValue::Known("Line one\nLine two"),
            &context(),
        )
        .unwrap();
        let rendered = modal.to_string();
        let blocks = modal["blocks"].as_array().unwrap();
        let input = blocks
            .iter()
            .find(|b| b["block_id"] == EDIT_DESCRIPTION_BLOCK_ID)
            .unwrap();
        assert_eq!(input["element"]["multiline"], true);
        assert_eq!(input["element"]["initial_value"], "Line one\nLine two");
        assert!(!rendered.contains("not known here yet"), "{rendered}");

        let unknown = edit_modal(EditField::Description, CurrentValue::Unknown, &context())
            .unwrap()
            .to_string();
        assert!(unknown.contains("is not known here yet"), "{unknown}");
        assert!(!unknown.contains("initial_value"), "{unknown}");

        let long = "x".repeat(SLACK_INPUT_MAX + 1);
        let long = edit_modal(
            EditField::Description,
            CurrentValue::Known(&long),
            &context(),
        )
        .unwrap()
        .to_string();
        assert!(long.contains("has 3001 characters"), "{long}");
        assert!(!long.contains("initial_value"));
    }

    #[test]
    fn a_submission_is_the_command_line_read_back_exactly() {
        let typed = "Leaked key <prod> & <@U123> 123456";
        let parsed = parse_edit_submission(
            EditField::Title,
            &submitted(EditField::Title, typed, "", &metadata()),
        )
        .unwrap();
        assert_eq!(parsed.context, context());
        assert_eq!(parsed.one_time_code, None);
        assert_eq!(
            parsed.command,
            Command::UpdateTitle {
                title: typed.to_owned()
            }
        );
        // What the command handler reads from the line is what was typed.
        assert_eq!(
            parse_slash_command(&parsed.command_text).unwrap(),
            parsed.command
        );

        let lines = "First line\n\nSecond & <b>line</b>";
        let parsed = parse_edit_submission(
            EditField::Description,
            &submitted(EditField::Description, lines, "654321", &metadata()),
        )
        .unwrap();
        assert_eq!(
            parse_slash_command(&parsed.command_text).unwrap(),
            Command::UpdateDescription {
                description: lines.to_owned()
            }
        );
        assert_eq!(
            parsed
                .one_time_code
                .map(|c| c.as_str().to_owned())
                .as_deref(),
            Some("654321")
        );
    }

    #[test]
    fn errors_come_back_on_their_fields_with_the_commands_messages() {
        let long = "t".repeat(301);
        let errors = parse_edit_submission(
            EditField::Title,
            &submitted(EditField::Title, &long, "12345", &metadata()),
        )
        .unwrap_err();
        assert_eq!(
            errors.errors.get(EDIT_TITLE_BLOCK_ID).map(String::as_str),
            Some("The title has 301 characters; the limit is 300.")
        );
        assert!(errors.errors.contains_key(EDIT_CODE_BLOCK_ID));
        let blank = parse_edit_submission(
            EditField::Description,
            &submitted(EditField::Description, "   ", "", &metadata()),
        )
        .unwrap_err();
        assert_eq!(
            blank
                .errors
                .get(EDIT_DESCRIPTION_BLOCK_ID)
                .map(String::as_str),
            Some("Enter a description.")
        );
        let lost = parse_edit_submission(
            EditField::Title,
            &submitted(EditField::Title, "Fine title", "", "{\"case_id\":\"12\"}"),
        )
        .unwrap_err();
        assert!(
            lost.errors[EDIT_TITLE_BLOCK_ID].contains("no longer knows which case"),
            "{lost:?}"
        );
    }

    #[test]
    fn fields_are_found_by_button_and_callback() {
        for field in EditField::ALL {
            assert_eq!(
                EditField::from_button(field.button_action_id()),
                Some(field)
            );
            assert_eq!(
                EditField::from_callback_id(field.callback_id()),
                Some(field)
            );
        }
        assert_eq!(EditField::from_button("case_close"), None);
    }
}
