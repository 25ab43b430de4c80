//! "Send to SIR case" (issue 19 item 2): the message shortcut's modal, the case picker's
//! options, the submission, and what the case channel is told.
//!
//! Pure: the events handler opens [`forward_modal`] for the message shortcut
//! [`SEND_TO_CASE_SHORTCUT_ID`], answers the picker's `block_suggestion` with
//! [`case_options`], and reads the submitted modal ([`FORWARD_CALLBACK_ID`]) with
//! [`parse_forward_submission`]; the command handler writes the SIR comment
//! (`sirslack_domain::marker::forwarded_message_prefix`) and posts [`forwarded_notice`] in the
//! case channel.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sirslack_domain::CaseId;
use sirslack_domain::limits::truncate_chars;
use slack_morphism::prelude::SlackMessageContent;

use crate::blocks::{Modal, element_state, input_json, modal_json, plain_json};
use crate::declare::ViewErrors;
use crate::markup::escape_for_slack;

/// The message shortcut's `callback_id` (in the app manifest).
pub const SEND_TO_CASE_SHORTCUT_ID: &str = "send_to_case";
/// The modal's `callback_id`.
pub const FORWARD_CALLBACK_ID: &str = "send_to_case_modal";
/// `block_id` (and `action_id`) of the case picker (`external_select`, options from the
/// options-load URL).
pub const CASE_BLOCK_ID: &str = "send_to_case_case";
/// `block_id` (and `action_id`) of the optional note (multi-line).
pub const NOTE_BLOCK_ID: &str = "send_to_case_note";
/// `block_id` (and `action_id`) of the "attach the message's files" checkbox, shown only when
/// the message has files.
pub const ATTACH_BLOCK_ID: &str = "send_to_case_attach";
/// The value of the checkbox's one option.
pub const ATTACH_OPTION_VALUE: &str = "attach_files";
/// Most characters of the note (it is repeated on every part of a long comment).
pub const NOTE_MAX: usize = 1_000;
/// Most options the picker shows (Slack's limit for an options load).
pub const CASE_OPTIONS_MAX: usize = 100;
/// Most characters of an option's text (Slack's limit).
pub const OPTION_TEXT_MAX: usize = 75;
/// Most characters of the message shown in the modal.
const PREVIEW_MAX: usize = 300;
/// The modal's title (Slack: at most 24 characters).
const MODAL_TITLE: &str = "Send to SIR case";

/// What the modal shows of the message: its text as plain text (already converted), and how
/// many files it has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardPreview {
    /// The message as plain text (`sirslack_mapper::markup::slack_to_plain`).
    pub text: String,
    /// Who wrote it, as the modal names them.
    pub author: String,
    /// How many files it carries.
    pub file_count: usize,
}

/// The modal for `views.open`: the message (its first characters), the case picker (an
/// `external_select` loading at once, `min_query_length` 0) and an optional note. A message
/// with files also gets the checkbox [`ATTACH_BLOCK_ID`], "Attach the message's N file(s)"
/// (not ticked): ticked, the files are copied to the case as attachments after the comment.
pub fn forward_modal(preview: &ForwardPreview) -> Value {
    let shown = if preview.text.trim().is_empty() {
        "(no text)".to_owned()
    } else if preview.text.chars().count() > PREVIEW_MAX {
        format!("{}…", truncate_chars(preview.text.trim(), PREVIEW_MAX))
    } else {
        preview.text.trim().to_owned()
    };
    let mut blocks = vec![
        json!({"type": "section", "text": plain_json(&format!("Message by {}:\n{shown}", preview.author))}),
        input_json(
            CASE_BLOCK_ID,
            "Case",
            json!({"type": "external_select", "min_query_length": 0,
                   "placeholder": plain_json("Search your open cases by ID or title")}),
            false,
            Some("Open cases whose Slack channel you are in."),
        ),
        input_json(
            NOTE_BLOCK_ID,
            "Note",
            json!({"type": "plain_text_input", "multiline": true, "max_length": NOTE_MAX,
                   "placeholder": plain_json("Why this message matters to the case")}),
            true,
            None,
        ),
    ];
    if preview.file_count > 0 {
        let files = if preview.file_count == 1 {
            "1 file".to_owned()
        } else {
            format!("{} files", preview.file_count)
        };
        blocks.push(input_json(
            ATTACH_BLOCK_ID,
            "Files",
            json!({"type": "checkboxes", "options": [{
                "text": plain_json(&format!("Attach the message's {files}")),
                "value": ATTACH_OPTION_VALUE,
            }]}),
            true,
            Some("Copied to the case as attachments (1 byte to 100 MiB each)."),
        ));
    }
    modal_json(
        Modal {
            callback_id: FORWARD_CALLBACK_ID,
            title: MODAL_TITLE,
            submit: "Send",
            close: "Cancel",
            private_metadata: None,
        },
        blocks,
    )
}

/// A case the picker may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseChoice<'a> {
    /// The case.
    pub case_id: &'a CaseId,
    /// Its title, when synced.
    pub title: Option<&'a str>,
    /// SIR's `lastUpdatedDate` last synced.
    pub updated_at: Option<DateTime<Utc>>,
}

/// The picker's options for `typed`: the cases whose ID or title contains it (any case, no
/// accents folded), newest activity first, at most [`CASE_OPTIONS_MAX`]; each `(text, value)`
/// with text `<caseId> · <title>` cut to [`OPTION_TEXT_MAX`] characters and value the case ID.
pub fn case_options<'a>(
    cases: impl IntoIterator<Item = CaseChoice<'a>>,
    typed: &str,
) -> Vec<(String, String)> {
    let needle = typed.trim().to_lowercase();
    let mut matching: Vec<CaseChoice<'a>> = cases
        .into_iter()
        .filter(|case| {
            needle.is_empty()
                || case.case_id.as_str().contains(&needle)
                || case
                    .title
                    .is_some_and(|title| title.to_lowercase().contains(&needle))
        })
        .collect();
    matching.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then_with(|| a.case_id.as_str().cmp(b.case_id.as_str()))
    });
    matching
        .into_iter()
        .take(CASE_OPTIONS_MAX)
        .map(|case| {
            let title = case
                .title
                .map(|title| title.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|title| !title.is_empty())
                .unwrap_or_else(|| "(not synced yet)".to_owned());
            let text = format!("{} · {title}", case.case_id);
            let text = if text.chars().count() > OPTION_TEXT_MAX {
                format!("{}…", truncate_chars(&text, OPTION_TEXT_MAX - 1))
            } else {
                text
            };
            (text, case.case_id.to_string())
        })
        .collect()
}

/// A valid submission of the modal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardSubmission {
    /// The case chosen.
    pub case_id: CaseId,
    /// The note, when one was written.
    pub note: Option<String>,
    /// Whether the message's files are to be attached too ([`ATTACH_BLOCK_ID`] ticked).
    pub attach_files: bool,
}

/// Reads a submitted modal's `state.values`: the case is required (an error on
/// [`CASE_BLOCK_ID`] otherwise, and for a value that is not a case ID); the note and the
/// files checkbox are optional.
pub fn parse_forward_submission(values: &Value) -> Result<ForwardSubmission, ViewErrors> {
    let chosen = element_state(values, CASE_BLOCK_ID)
        .and_then(|state| state["selected_option"]["value"].as_str())
        .map(str::trim)
        .filter(|value| !value.is_empty());
    let note = element_state(values, NOTE_BLOCK_ID)
        .and_then(|state| state["value"].as_str())
        .map(str::trim)
        .filter(|note| !note.is_empty())
        .map(|note| truncate_chars(note, NOTE_MAX));
    let attach_files = element_state(values, ATTACH_BLOCK_ID)
        .and_then(|state| state["selected_options"].as_array())
        .is_some_and(|selected| {
            selected
                .iter()
                .any(|option| option["value"] == ATTACH_OPTION_VALUE)
        });
    let case_error = |text: &str| ViewErrors {
        errors: [(CASE_BLOCK_ID.to_owned(), text.to_owned())].into(),
    };
    let Some(chosen) = chosen else {
        return Err(case_error("Choose the case to send the message to."));
    };
    let case_id = CaseId::new(chosen)
        .map_err(|_| case_error("Choose a case from the list (type part of its ID or title)."))?;
    Ok(ForwardSubmission {
        case_id,
        note,
        attach_files,
    })
}

/// What the case channel is told once the comment is in SIR: who sent which message (a link
/// to it) to the case. `sender` is already a label; it is escaped, as is the note.
pub fn forwarded_notice(sender: &str, permalink: &str, note: Option<&str>) -> SlackMessageContent {
    let mut text = format!(
        ":incoming_envelope: {} sent <{}|a Slack message> to this case; it is now a comment in AWS Security Incident Response.",
        escape_for_slack(sender),
        permalink.replace(['<', '>', '|'], "")
    );
    if let Some(note) = note.map(str::trim).filter(|note| !note.is_empty()) {
        text.push_str("\n> ");
        text.push_str(&escape_for_slack(note).replace('\n', "\n> "));
    }
    SlackMessageContent::new().with_text(text)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn id(n: u64) -> CaseId {
        CaseId::new(&format!("{}", 1_000_000_000 + n)).expect("case id")
    }

    #[test]
    fn the_modal_loads_cases_at_once_and_mentions_files() {
        let modal = forward_modal(&ForwardPreview {
            text: "Disk full on db-1".into(),
            author: "Bob".into(),
            file_count: 2,
        });
        assert_eq!(modal["callback_id"], FORWARD_CALLBACK_ID);
        let blocks = modal["blocks"].as_array().expect("blocks");
        let picker = blocks
            .iter()
            .find(|block| block["block_id"] == CASE_BLOCK_ID)
            .expect("picker");
        assert_eq!(picker["element"]["type"], "external_select");
        assert_eq!(picker["element"]["min_query_length"], 0);
        assert_eq!(picker["element"]["action_id"], CASE_BLOCK_ID);
        assert_eq!(picker["optional"], false);
        let note = blocks
            .iter()
            .find(|block| block["block_id"] == NOTE_BLOCK_ID)
            .expect("note");
        assert_eq!(note["optional"], true);
        assert_eq!(note["element"]["multiline"], true);
        let attach = blocks
            .iter()
            .find(|block| block["block_id"] == ATTACH_BLOCK_ID)
            .expect("the files checkbox");
        assert_eq!(attach["element"]["type"], "checkboxes");
        assert_eq!(attach["optional"], true);
        assert!(attach["element"].get("initial_options").is_none());
        assert!(
            modal.to_string().contains("Attach the message's 2 files"),
            "{modal}"
        );
        assert!(modal.to_string().contains("Disk full on db-1"));
        let plain_message = forward_modal(&ForwardPreview {
            text: "x".repeat(5_000),
            author: "Bob".into(),
            file_count: 0,
        });
        assert!(!plain_message.to_string().contains("file"));
        assert!(!plain_message.to_string().contains(ATTACH_BLOCK_ID));
        assert!(plain_message.to_string().len() < 2_000);
    }

    #[test]
    fn options_filter_by_id_or_title_newest_first_and_fit_slack() {
        let (a, b, c) = (id(1), id(2), id(3));
        let at = |s| Utc.timestamp_opt(s, 0).single();
        let long = "Credential stuffing against the customer portal from many networks worldwide";
        let cases = [
            CaseChoice {
                case_id: &a,
                title: Some("Phishing wave"),
                updated_at: at(10),
            },
            CaseChoice {
                case_id: &b,
                title: Some(long),
                updated_at: at(30),
            },
            CaseChoice {
                case_id: &c,
                title: None,
                updated_at: at(20),
            },
        ];
        let all = case_options(cases, "");
        let values: Vec<&str> = all.iter().map(|(_, value)| value.as_str()).collect();
        assert_eq!(values, [b.as_str(), c.as_str(), a.as_str()]);
        assert!(
            all.iter()
                .all(|(text, _)| text.chars().count() <= OPTION_TEXT_MAX)
        );
        assert!(
            all[0].0.starts_with("1000000002 · Credential stuffing"),
            "{}",
            all[0].0
        );
        assert_eq!(all[2].0, "1000000001 · Phishing wave");
        assert_eq!(case_options(cases, "PHISH").len(), 1);
        assert_eq!(case_options(cases, "0000003")[0].1, c.as_str());
        assert!(case_options(cases, "ransom").is_empty());
        let many: Vec<CaseId> = (0..150).map(id).collect();
        let choices = many.iter().map(|case_id| CaseChoice {
            case_id,
            title: Some("t"),
            updated_at: None,
        });
        assert_eq!(case_options(choices, "").len(), CASE_OPTIONS_MAX);
    }

    #[test]
    fn a_submission_needs_a_case_and_keeps_the_note() {
        let missing = parse_forward_submission(&json!({})).expect_err("no case");
        assert!(missing.errors.contains_key(CASE_BLOCK_ID));
        let values = json!({
            CASE_BLOCK_ID: {CASE_BLOCK_ID: {"type": "external_select",
                "selected_option": {"value": "1000000002", "text": {"type": "plain_text", "text": "x"}}}},
            NOTE_BLOCK_ID: {NOTE_BLOCK_ID: {"type": "plain_text_input", "value": "  first alert \n"}},
        });
        let parsed = parse_forward_submission(&values).expect("valid");
        assert_eq!(parsed.case_id, id(2));
        assert_eq!(parsed.note.as_deref(), Some("first alert"));
        assert!(!parsed.attach_files);
        let mut ticked = values.clone();
        ticked[ATTACH_BLOCK_ID] = json!({ATTACH_BLOCK_ID: {"type": "checkboxes",
            "selected_options": [{"value": ATTACH_OPTION_VALUE, "text": {"type": "plain_text", "text": "x"}}]}});
        assert!(
            parse_forward_submission(&ticked)
                .expect("valid")
                .attach_files
        );
        ticked[ATTACH_BLOCK_ID] =
            json!({ATTACH_BLOCK_ID: {"type": "checkboxes", "selected_options": []}});
        assert!(
            !parse_forward_submission(&ticked)
                .expect("valid")
                .attach_files
        );
        let forged =
            json!({CASE_BLOCK_ID: {CASE_BLOCK_ID: {"selected_option": {"value": "../x"}}}});
        assert!(parse_forward_submission(&forged).is_err());
    }

    #[test]
    fn the_notice_links_the_message_and_cannot_ping() {
        let notice = forwarded_notice(
            "Alice <!channel>",
            "https://x.slack.com/archives/C1/p1",
            Some("see <@U1>"),
        );
        let text = notice.text.expect("text");
        assert!(
            text.contains("<https://x.slack.com/archives/C1/p1|a Slack message>"),
            "{text}"
        );
        assert!(text.contains("Alice &lt;!channel&gt;"), "{text}");
        assert!(text.contains("> see &lt;@U1&gt;"), "{text}");
    }
}
