//! The one set of Block Kit building blocks every sirslack message and view is made of, and
//! the small texts they show (dates, sizes, one-line texts).
//!
//! Messages are built as slack-morphism's typed blocks ([`section`], [`context`],
//! [`fields_section`], [`header`], [`button`], [`case_actions_block`], [`message`]); views
//! (`views.open`, `views.publish`) as JSON ([`plain_json`], [`section_json`], [`context_json`],
//! [`input_json`], [`option_json`], [`modal_json`]), read back with [`element_state`].
//!
//! Every `mrkdwn` text object is sent with `verbatim: true`, so words never turn into
//! mentions, channel links or URLs; markup written on purpose (`<url|label>`, `<#C123>`,
//! `<!date^...>`) still works. The callers escape what comes from SIR or from people
//! ([`crate::markup::escape_for_slack`]) before it gets here.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sirslack_domain::CaseId;
use sirslack_domain::limits::{
    SLACK_BLOCKS_MAX, SLACK_MESSAGE_TEXT_MAX, SLACK_SECTION_TEXT_MAX, truncate_chars,
};
use slack_morphism::prelude::{
    SlackActionBlockElement, SlackActionId, SlackActionsBlock, SlackBlock, SlackBlockButtonElement,
    SlackBlockId, SlackBlockMarkDownText, SlackBlockPlainText, SlackBlockPlainTextOnly,
    SlackBlockText, SlackContextBlock, SlackContextBlockElement, SlackHeaderBlock,
    SlackMessageContent, SlackSectionBlock,
};

use crate::slack::case_block_id;

/// Most characters in a header block's text.
const HEADER_TEXT_MAX: usize = 150;
/// Most characters in one field of a section block.
pub const SECTION_FIELD_MAX: usize = 2_000;
/// Most fields in one section block.
const SECTION_FIELDS_MAX: usize = 10;

// ---- messages (typed) ----

/// A message of `blocks` with `fallback` as its notification and screen-reader text (cut to
/// Slack's limit).
pub fn message(fallback: String, blocks: Vec<SlackBlock>) -> SlackMessageContent {
    debug_assert!(blocks.len() <= SLACK_BLOCKS_MAX);
    SlackMessageContent::new()
        .with_text(truncate_chars(&fallback, SLACK_MESSAGE_TEXT_MAX))
        .with_blocks(blocks)
}

/// A `verbatim` `mrkdwn` text object cut to a section's 3,000 characters; `_(none)_` for a
/// blank text (Slack refuses empty ones).
pub fn mrkdwn(text: &str) -> SlackBlockText {
    let text = if text.trim().is_empty() {
        "_(none)_"
    } else {
        text
    };
    SlackBlockMarkDownText::new(truncate_chars(text, SLACK_SECTION_TEXT_MAX))
        .with_verbatim(true)
        .into()
}

/// A `plain_text` object; `-` for a blank text.
pub fn plain(text: &str) -> SlackBlockPlainTextOnly {
    let text = if text.trim().is_empty() { "-" } else { text };
    SlackBlockPlainText::new(text.to_owned()).into()
}

/// A header block: `text` on one line, cut to Slack's 150 characters.
pub fn header(text: &str) -> SlackBlock {
    SlackHeaderBlock::new(plain(&truncate_chars(&single_line(text), HEADER_TEXT_MAX))).into()
}

/// A section with one `mrkdwn` text ([`mrkdwn`]).
pub fn section(text: &str) -> SlackBlock {
    SlackSectionBlock::new().with_text(mrkdwn(text)).into()
}

/// A section of side-by-side `mrkdwn` fields (Slack allows at most 10, of 2,000 characters
/// each; the rest are left out and each is cut).
pub fn fields_section(fields: &[String]) -> SlackBlock {
    let fields = fields
        .iter()
        .take(SECTION_FIELDS_MAX)
        .map(|field| mrkdwn(&truncate_chars(field, SECTION_FIELD_MAX)))
        .collect();
    SlackSectionBlock::new().with_fields(fields).into()
}

/// A context block (a small grey line) of one `verbatim` `mrkdwn` text.
pub fn context(text: &str) -> SlackBlock {
    let element: SlackContextBlockElement =
        SlackBlockMarkDownText::new(truncate_chars(text, SLACK_SECTION_TEXT_MAX))
            .with_verbatim(true)
            .into();
    SlackContextBlock::new(vec![element]).into()
}

/// A button saying `text`, with `action_id` and `value` (style and confirmation are the
/// caller's).
pub fn button(text: &str, action_id: &str, value: &str) -> SlackBlockButtonElement {
    SlackBlockButtonElement::new(plain(text))
        .with_action_id(SlackActionId::new(action_id.to_owned()))
        .with_value(value.to_owned())
}

/// An actions block whose `block_id` names `case_id` ([`case_block_id`]), so the click says
/// which case it acts on.
pub fn case_actions_block(case_id: &CaseId, elements: Vec<SlackActionBlockElement>) -> SlackBlock {
    SlackActionsBlock::new(elements)
        .with_block_id(SlackBlockId::new(case_block_id(case_id)))
        .into()
}

// ---- views (JSON) ----

/// A `plain_text` object, as JSON.
pub fn plain_json(text: &str) -> Value {
    json!({"type": "plain_text", "text": text})
}

/// A `verbatim` `mrkdwn` text object, as JSON.
pub fn mrkdwn_json(text: &str) -> Value {
    json!({"type": "mrkdwn", "verbatim": true, "text": text})
}

/// A section with one `verbatim` `mrkdwn` text, as JSON.
pub fn section_json(text: &str) -> Value {
    json!({"type": "section", "text": mrkdwn_json(text)})
}

/// A context block of one `verbatim` `mrkdwn` text, as JSON.
pub fn context_json(text: &str) -> Value {
    json!({"type": "context", "elements": [mrkdwn_json(text)]})
}

/// An `input` block whose element's `action_id` is its `block_id` (read back with
/// [`element_state`]), labelled `label`, with an optional `hint` under it.
pub fn input_json(
    block_id: &str,
    label: &str,
    mut element: Value,
    optional: bool,
    hint: Option<&str>,
) -> Value {
    element["action_id"] = json!(block_id);
    let mut block = json!({
        "type": "input",
        "block_id": block_id,
        "label": plain_json(label),
        "element": element,
        "optional": optional,
    });
    if let Some(hint) = hint {
        block["hint"] = plain_json(hint);
    }
    block
}

/// An option of a select, radio buttons or checkboxes, with an optional description.
pub fn option_json(text: &str, value: &str, description: Option<&str>) -> Value {
    let mut option = json!({"text": plain_json(text), "value": value});
    if let Some(description) = description {
        option["description"] = plain_json(description);
    }
    option
}

/// What a modal is besides its blocks: its `callback_id`, the texts of its title and its
/// two buttons, and its `private_metadata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modal<'a> {
    /// Names the submission when Slack sends it back.
    pub callback_id: &'a str,
    /// The title (Slack shows at most 24 characters).
    pub title: &'a str,
    /// The submit button's text.
    pub submit: &'a str,
    /// The close button's text.
    pub close: &'a str,
    /// Carried back with the submission, when there is something to carry.
    pub private_metadata: Option<&'a str>,
}

/// A modal view of `blocks`, for `views.open`.
pub fn modal_json(modal: Modal<'_>, blocks: Vec<Value>) -> Value {
    let mut view = json!({
        "type": "modal",
        "callback_id": modal.callback_id,
        "title": plain_json(modal.title),
        "submit": plain_json(modal.submit),
        "close": plain_json(modal.close),
    });
    if let Some(metadata) = modal.private_metadata {
        view["private_metadata"] = json!(metadata);
    }
    view["blocks"] = Value::Array(blocks);
    view
}

/// The submitted state of the element in `block_id` (a view's `state.values`): by its
/// `action_id` (the same string, as [`input_json`] sets it), else the block's only element.
pub fn element_state<'a>(values: &'a Value, block_id: &str) -> Option<&'a Value> {
    let block = values.get(block_id)?.as_object()?;
    block
        .get(block_id)
        .or_else(|| block.values().next())
        .filter(|state| state.is_object())
}

/// The text typed in the `plain_text_input` of `block_id` (empty when there is none).
pub fn input_text(values: &Value, block_id: &str) -> String {
    element_state(values, block_id)
        .and_then(|state| state["value"].as_str())
        .unwrap_or_default()
        .to_owned()
}

// ---- texts ----

/// A date Slack shows in the reader's time zone (`<!date^...>`), with a UTC fallback.
pub fn slack_date(at: DateTime<Utc>) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
        at.timestamp(),
        at.format("%Y-%m-%d %H:%M UTC")
    )
}

/// `text` on one line: runs of whitespace, line breaks included, become one space.
pub fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A byte size as people read it, in binary units: `512 bytes`; one decimal under ten units
/// (`1.5 KiB`, `4.0 KiB`, `9.9 MiB`); whole units from ten (`90 MiB`, `100 MiB`), rounded to
/// the nearest. GiB is the largest unit.
///
/// The one size formatter of sirslack (notices about files too large or empty, in both
/// directions).
pub fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    const GIB: u64 = 1024 * MIB;
    let (unit, name) = match bytes {
        b if b >= GIB => (GIB, "GiB"),
        b if b >= MIB => (MIB, "MiB"),
        b if b >= KIB => (KIB, "KiB"),
        _ => return format!("{bytes} bytes"),
    };
    let (bytes, unit) = (u128::from(bytes), u128::from(unit));
    let tenths = (bytes * 10 + unit / 2) / unit;
    if tenths < 100 {
        format!("{}.{} {name}", tenths / 10, tenths % 10)
    } else {
        format!("{} {name}", (bytes + unit / 2) / unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sirslack_domain::limits::ATTACHMENT_MAX_BYTES;

    #[test]
    fn sizes() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1023), "1023 bytes");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(4096), "4.0 KiB");
        assert_eq!(human_size(10 * 1024 - 1), "10 KiB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(human_size(90 * 1024 * 1024), "90 MiB");
        assert_eq!(human_size(ATTACHMENT_MAX_BYTES), "100 MiB");
        assert_eq!(human_size(104_857_600), "100 MiB");
        assert_eq!(human_size(150 * 1024 * 1024 + 1), "150 MiB");
        assert_eq!(human_size(u64::MAX), "17179869184 GiB");
    }

    #[test]
    fn texts_are_verbatim_and_never_blank() {
        let json = serde_json::to_value(section("")).unwrap_or_default();
        assert_eq!(json["text"]["text"], "_(none)_");
        assert_eq!(json["text"]["verbatim"], true);
        assert_eq!(section_json("a")["text"]["verbatim"], true);
        assert_eq!(context_json("a")["elements"][0]["verbatim"], true);
        let long = "x".repeat(SLACK_SECTION_TEXT_MAX + 10);
        let json = serde_json::to_value(section(&long)).unwrap_or_default();
        assert_eq!(
            json["text"]["text"].as_str().map(|t| t.chars().count()),
            Some(SLACK_SECTION_TEXT_MAX)
        );
    }

    #[test]
    fn inputs_are_read_back_by_their_block_id() {
        let input = input_json(
            "title",
            "Title",
            json!({"type": "plain_text_input"}),
            false,
            Some("hint"),
        );
        assert_eq!(input["element"]["action_id"], "title");
        assert_eq!(input["hint"]["text"], "hint");
        let values = json!({"title": {"title": {"type": "plain_text_input", "value": "x"}}});
        assert_eq!(
            element_state(&values, "title").map(|state| &state["value"]),
            Some(&json!("x"))
        );
        assert!(element_state(&values, "other").is_none());
        assert_eq!(input_text(&values, "title"), "x");
        assert_eq!(input_text(&values, "other"), "");
    }

    #[test]
    fn dates_and_lines() {
        let at = DateTime::from_timestamp(1_767_268_800, 0).unwrap_or_default();
        assert_eq!(
            slack_date(at),
            "<!date^1767268800^{date_short_pretty} {time}|2026-01-01 12:00 UTC>"
        );
        assert_eq!(single_line(" a \n b "), "a b");
    }
}
