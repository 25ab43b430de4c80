//! `/security-ir close [confirm] [code]` and the Close button of the case message: CloseCase.
//!
//! `close` alone asks for confirmation: a Confirm button (or typing `close confirm`), or, for
//! people who must give a one-time code, the command to type with it. The API takes no closure
//! reason, so none is asked for.

use sirslack_domain::{Case, CaseId, CaseStatus};
use sirslack_mapper::blocks::{button, case_actions_block};
use sirslack_mapper::markup::escape_for_slack;
use slack_morphism::prelude::{
    SlackActionBlockElement, SlackBlockButtonStyle, SlackMessageContent,
};

use super::{Change, message, section, single_line};
use crate::sir::{Sir, SirError};

/// `action_id` of the Confirm button of the confirmation prompt; its value is `close confirm`.
pub const CLOSE_CONFIRM_ACTION_ID: &str = "command_close_confirm";
/// `action_id` of the Cancel button of the confirmation prompt.
pub const CLOSE_CANCEL_ACTION_ID: &str = "command_close_cancel";
/// The Confirm button's value: the command line it stands for.
pub const CLOSE_CONFIRM_VALUE: &str = "close confirm";

/// The change, or why the case cannot be closed.
pub fn plan(case: &Case) -> Result<Change, String> {
    if case.is_closed() {
        return Err(format!("Case {} is already closed.", case.id));
    }
    Ok(Change::Close {
        from: case.status.clone(),
    })
}

/// CloseCase.
pub async fn apply(sir: &Sir, case_id: &CaseId) -> Result<(), SirError> {
    sir.close(case_id).await
}

/// `case closed (status was Containment, Eradication and Recovery)`.
pub fn audit_text(from: &CaseStatus) -> String {
    format!("case closed (status was {from})")
}

/// `Jane Doe closed the case (it was in Detection and Analysis).`
pub fn announcement(actor: &str, from: &CaseStatus) -> String {
    format!("{actor} closed the case (it was in {from}).")
}

/// The ephemeral question asked by `close` without `confirm`. With `code_needed`, there is no
/// button (a button cannot carry a code): the person is told what to type.
pub fn confirmation_prompt(case: &Case, code_needed: bool) -> SlackMessageContent {
    let title = escape_for_slack(&single_line(&case.title));
    let question = format!(
        "Close case {} (\"{title}\")? It cannot be reopened from Slack.",
        case.id
    );
    if code_needed {
        let text = format!(
            "{question}\nTo close it, run `/security-ir close confirm <code>` with the 6-digit \
             code from your authenticator app."
        );
        return message(text.clone(), vec![section(&text)]);
    }
    let text = format!("{question}\nConfirm below, or run `/security-ir close confirm`.");
    let confirm = button("Close case", CLOSE_CONFIRM_ACTION_ID, CLOSE_CONFIRM_VALUE)
        .with_style(SlackBlockButtonStyle::Danger);
    let cancel = button("Cancel", CLOSE_CANCEL_ACTION_ID, "cancel");
    let buttons: Vec<SlackActionBlockElement> = vec![confirm.into(), cancel.into()];
    message(
        text.clone(),
        vec![section(&text), case_actions_block(&case.id, buttons)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::case;

    #[test]
    fn closes_open_cases_only() {
        let open = case(CaseStatus::ContainmentEradicationAndRecovery);
        let change = plan(&open).unwrap();
        assert_eq!(
            change.audit_text(),
            "case closed (status was Containment, Eradication and Recovery)"
        );
        assert_eq!(
            change.announcement("Jane Doe").text.unwrap(),
            "Jane Doe closed the case (it was in Containment, Eradication and Recovery)."
        );
        let refused = plan(&case(CaseStatus::Closed)).unwrap_err();
        assert_eq!(refused, "Case 1234567890 is already closed.");
    }

    #[test]
    fn prompt_has_buttons_unless_a_code_is_needed() {
        let open = case(CaseStatus::DetectionAndAnalysis);
        let json = serde_json::to_value(confirmation_prompt(&open, false)).unwrap();
        let buttons = &json["blocks"][1]["elements"];
        assert_eq!(buttons[0]["action_id"], CLOSE_CONFIRM_ACTION_ID);
        assert_eq!(buttons[0]["value"], "close confirm");
        assert_eq!(buttons[1]["action_id"], CLOSE_CANCEL_ACTION_ID);
        assert!(
            json["text"]
                .as_str()
                .unwrap()
                .contains("Close case 1234567890")
        );

        let json = serde_json::to_value(confirmation_prompt(&open, true)).unwrap();
        assert_eq!(json["blocks"].as_array().unwrap().len(), 1);
        assert!(
            json["text"]
                .as_str()
                .unwrap()
                .contains("close confirm <code>")
        );
    }
}
