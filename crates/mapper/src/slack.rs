//! Domain facts rendered for Slack: Block Kit messages, channel topics and purposes.
//!
//! Every text that comes from SIR (titles, descriptions, comments, names, e-mail addresses) is
//! escaped with [`escape_for_slack`] wherever Slack parses markup (`mrkdwn` texts and the
//! fallback `text`), and every `mrkdwn` text object is sent with `verbatim: true`, so SIR
//! content can neither ping (`<!channel>`, `@here`), mention, nor forge links. Where Slack
//! parses nothing (`plain_text` objects such as the header, channel topics and purposes) text
//! is left as written, since escaping there would show `&amp;` to readers. Long texts are cut or split to [`SLACK_SECTION_TEXT_MAX`] characters per
//! section *after* escaping, and no message has more than [`SLACK_BLOCKS_MAX`] blocks.
//!
//! Interactive elements carry the case ID in their block ID (`case:<caseId>`) and the close
//! button also in its value; [`case_id_from_block_id`] and [`status_from_option_value`] read
//! them back when Slack sends the interaction.

use chrono::{DateTime, Utc};
use sirslack_domain::events::list_delta;
use sirslack_domain::limits::{
    ATTACHMENT_MAX_BYTES, SLACK_BLOCKS_MAX, SLACK_SECTION_TEXT_MAX, SLACK_TOPIC_MAX, truncate_chars,
};
use sirslack_domain::status::reachable_from;
use sirslack_domain::{
    Case, CaseId, CaseStatus, ClosureCode, Comment, FieldChange, SelfManagedStatus, ThreatActorIp,
    Watcher, author_display,
};
use slack_morphism::prelude::{
    SlackActionBlockElement, SlackActionId, SlackBlock, SlackBlockButtonStyle,
    SlackBlockChoiceItem, SlackBlockConfirmItem, SlackBlockPlainText,
    SlackBlockStaticSelectElement, SlackMessageContent,
};

use crate::blocks::{
    SECTION_FIELD_MAX, button, case_actions_block, context, fields_section, header, human_size,
    message, plain, section, single_line, slack_date,
};
use crate::edit::EditField;
use crate::markup::{escape_for_slack, escaped_width};
use crate::split::split_escaped_for_slack;

/// `action_id` of the status menu in the initial case message.
pub const STATUS_SELECT_ACTION_ID: &str = "case_status_select";
/// `action_id` of the Close button in the initial case message.
pub const CLOSE_BUTTON_ACTION_ID: &str = "case_close";
/// `action_id` of the Snooze button of a quiet-case nudge (its value is the case ID).
pub const SNOOZE_BUTTON_ACTION_ID: &str = "case_snooze";
/// How long the Snooze button of a nudge holds the next nudge back.
pub const SNOOZE_HOURS: i64 = 24;
/// Prefix of the `block_id` of blocks whose actions act on a case: `case:<caseId>`.
pub const CASE_BLOCK_ID_PREFIX: &str = "case:";

/// Most characters of SIR text in a message's fallback `text` (the blocks carry the rest).
const FALLBACK_EXCERPT_MAX: usize = 300;
/// Most characters of a channel purpose.
const PURPOSE_MAX: usize = 250;
/// The compact list of slash commands shown with every new case (`mrkdwn`, so `<` and `>` are
/// escaped even inside code spans).
const COMMANDS_HINT: &str = "Commands in this channel: `/security-ir status` · `summarize` · \
`update-status &lt;status&gt;` · `update-title &lt;text&gt;` · \
`update-description &lt;text&gt;` · `close` · `help`";

/// Links to the AWS console for one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleLinks {
    region: String,
}

/// A region name that cannot be part of a console URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an AWS region name (expected something like `us-east-1`)")]
pub struct InvalidRegion(String);

impl ConsoleLinks {
    /// Links for `region` (such as `us-east-1`): lowercase letters, digits and dashes, starting
    /// with a letter, at most 32 characters.
    pub fn new(region: &str) -> Result<Self, InvalidRegion> {
        let region = region.trim();
        let valid = (1..=32).contains(&region.len())
            && region.starts_with(|c: char| c.is_ascii_lowercase())
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self {
                region: region.to_owned(),
            })
        } else {
            Err(InvalidRegion(truncate_chars(region, 40)))
        }
    }

    /// The region the links point to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The case's page in the Security Incident Response console.
    pub fn case_url(&self, case_id: &CaseId) -> String {
        let region = &self.region;
        format!(
            "https://{region}.console.aws.amazon.com/security-ir/home?region={region}#/cases/{case_id}"
        )
    }
}

/// The `block_id` of a block whose actions act on `case_id`.
pub fn case_block_id(case_id: &CaseId) -> String {
    format!("{CASE_BLOCK_ID_PREFIX}{case_id}")
}

/// The case a `block_id` from an interaction payload names, if it is one of ours.
pub fn case_id_from_block_id(block_id: &str) -> Option<CaseId> {
    block_id
        .strip_prefix(CASE_BLOCK_ID_PREFIX)
        .and_then(|id| CaseId::new(id).ok())
}

/// The status chosen in the status menu, from the selected option's `value`.
pub fn status_from_option_value(value: &str) -> Option<SelfManagedStatus> {
    SelfManagedStatus::ALL
        .into_iter()
        .find(|status| status.as_str() == value)
}

/// The first message of a case channel: title, key facts, description, impacted accounts and
/// regions, a console link, a status menu and a Close button (for open cases), and the list
/// of commands.
pub fn initial_case_message(case: &Case, links: &ConsoleLinks) -> SlackMessageContent {
    let mut blocks = vec![header(&case_heading(case))];
    blocks.push(fields_section(&case_fact_fields(case)));
    blocks.push(description_section(&case.description));
    blocks.push(fields_section(&[
        format!(
            "*Impacted accounts*\n{}",
            escaped_list(&case.impacted_accounts, SECTION_FIELD_MAX - 25)
        ),
        format!(
            "*Impacted regions*\n{}",
            escaped_list(&case.impacted_regions, SECTION_FIELD_MAX - 25)
        ),
    ]));
    blocks.push(console_link_section(&case.id, links));
    if !case.is_closed() {
        blocks.push(case_actions(case));
    }
    blocks.push(context(COMMANDS_HINT));
    message(
        format!(
            "New AWS Security Incident Response case {}: {} ({})",
            case.id,
            escaped_excerpt(&case.title),
            escape_for_slack(case.status.as_str()),
        ),
        blocks,
    )
}

/// The channel topic: `[<status>] <title>`, on one line, at most [`SLACK_TOPIC_MAX`]
/// characters.
///
/// Slack neither formats nor linkifies topics, so the text is not escaped; it is cut as if it
/// were, in case Slack counts its own escaping of `&`, `<` and `>` against the limit.
pub fn channel_topic(case: &Case) -> String {
    let text = format!(
        "[{}] {}",
        single_line(case.status.as_str()),
        single_line(&case.title)
    );
    truncate_counting_escapes(&text, SLACK_TOPIC_MAX)
}

/// The channel purpose: `AWS Security Incident Response case <id>: <title>`, on one line, at
/// most 250 characters, unescaped like [`channel_topic`].
pub fn channel_purpose(case: &Case) -> String {
    let text = format!(
        "AWS Security Incident Response case {}: {}",
        case.id,
        single_line(&case.title)
    );
    truncate_counting_escapes(&text, PURPOSE_MAX)
}

/// One message announcing every changed field, old value to new value. List fields show what
/// was added and removed; a new description is shown (cut to fit), not the old one.
pub fn case_updated_message(changes: &[FieldChange]) -> SlackMessageContent {
    let labels: Vec<&str> = changes.iter().map(FieldChange::label).collect();
    let mut blocks = vec![section(
        "*The case was updated in AWS Security Incident Response*",
    )];
    // One block per change, keeping the last block free to say how many were left out.
    let room = SLACK_BLOCKS_MAX - blocks.len() - 1;
    for change in changes.iter().take(room) {
        blocks.push(section(&describe_change(change)));
    }
    if changes.len() > room {
        blocks.push(context(&format!(
            "…and {} more changes.",
            changes.len() - room
        )));
    }
    let fallback = if labels.is_empty() {
        "The case was updated.".to_owned()
    } else {
        format!("Case updated: {}", labels.join(", "))
    };
    message(fallback, blocks)
}

/// A SIR comment as one or more Slack messages, in order: who wrote it and when, then the body
/// escaped and split to Slack's limits. Each message has at most [`SLACK_BLOCKS_MAX`] blocks.
pub fn comment_messages(comment: &Comment) -> Vec<SlackMessageContent> {
    comment_messages_as(comment, None)
}

/// How the messages of a comment edited in SIR after it reached Slack show the edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentEdit<'a> {
    /// They rewrite (`chat.update`) the messages that carried the comment.
    InPlace {
        /// Who edited it (a SIR principal, shown as [`author_display`] shows it).
        by: &'a str,
        /// When.
        at: DateTime<Utc>,
    },
    /// The messages that carried it are not known (posted before the integration recorded
    /// them, or gone): new messages say they are an edit of an earlier comment.
    Repost {
        /// Who edited it.
        by: &'a str,
        /// When.
        at: DateTime<Utc>,
    },
}

/// A comment edited in SIR as one or more Slack messages, laid out as [`comment_messages`] lays
/// it out, each marked `(edited in SIR <time> by <editor>)` in its heading and fallback text.
pub fn edited_comment_messages(
    comment: &Comment,
    edit: CommentEdit<'_>,
) -> Vec<SlackMessageContent> {
    comment_messages_as(comment, Some(edit))
}

/// A message that replaces a part an edit made unnecessary (the comment got shorter), so the
/// channel does not keep text the comment no longer has.
pub fn comment_part_removed_message(
    comment: &Comment,
    edited_by: &str,
    edited_at: DateTime<Utc>,
) -> SlackMessageContent {
    let author = escape_for_slack(&single_line(&comment.author_display()));
    let mark = edit_mark(edited_by, edited_at);
    message(
        format!(
            "{author} commented: this part was removed {}",
            edit_mark_plain(edited_by, edited_at)
        ),
        vec![context(&format!(
            "*{author}* commented in AWS Security Incident Response · {} · this part of the comment was removed {mark}",
            slack_date(comment.created_at)
        ))],
    )
}

/// `(edited in SIR <date> by <editor>)`, the date as Slack shows dates.
fn edit_mark(by: &str, at: DateTime<Utc>) -> String {
    format!(
        "(edited in SIR {} by {})",
        slack_date(at),
        escape_for_slack(&single_line(&author_display(by)))
    )
}

/// [`edit_mark`] for fallback texts (notifications): the date in UTC.
fn edit_mark_plain(by: &str, at: DateTime<Utc>) -> String {
    format!(
        "(edited in SIR {} by {})",
        at.format("%Y-%m-%d %H:%M UTC"),
        escape_for_slack(&single_line(&author_display(by)))
    )
}

fn comment_messages_as(
    comment: &Comment,
    edit: Option<CommentEdit<'_>>,
) -> Vec<SlackMessageContent> {
    let author = escape_for_slack(&single_line(&comment.author_display()));
    let when = slack_date(comment.created_at);
    let (lead, mark, plain_mark) = match edit {
        None => (
            "",
            if comment.updated_at.is_some() {
                " (edited)".to_owned()
            } else {
                String::new()
            },
            String::new(),
        ),
        Some(CommentEdit::InPlace { by, at }) => (
            "",
            format!(" · {}", edit_mark(by, at)),
            format!(" {}", edit_mark_plain(by, at)),
        ),
        Some(CommentEdit::Repost { by, at }) => (
            "Edit of an earlier comment: ",
            format!(" · {}", edit_mark(by, at)),
            format!(" {}", edit_mark_plain(by, at)),
        ),
    };
    let mut body_parts = split_escaped_for_slack(&comment.body, SLACK_SECTION_TEXT_MAX);
    if body_parts.is_empty() {
        body_parts.push("_(empty comment)_".to_owned());
    }
    let per_message = SLACK_BLOCKS_MAX - 1;
    let message_count = body_parts.len().div_ceil(per_message);
    body_parts
        .chunks(per_message)
        .enumerate()
        .map(|(index, parts)| {
            let continued = if message_count > 1 {
                format!(" (part {}/{message_count})", index + 1)
            } else {
                String::new()
            };
            let mut blocks = vec![context(&format!(
                "{lead}*{author}* commented in AWS Security Incident Response · {when}{mark}{continued}"
            ))];
            blocks.extend(parts.iter().map(|part| section(part)));
            message(
                format!(
                    "{lead}{author} commented{plain_mark}{continued}: {}",
                    escaped_excerpt(&comment.body)
                ),
                blocks,
            )
        })
        .collect()
}

/// Announces watchers added to or removed from the case.
pub fn watchers_changed_message(added: &[Watcher], removed: &[Watcher]) -> SlackMessageContent {
    let mut lines = vec!["*The case's watchers changed*".to_owned()];
    let half = (SLACK_SECTION_TEXT_MAX - 100) / 2;
    if !added.is_empty() {
        lines.push(format!(
            "Added: {}",
            escaped_list(&watcher_names(added), half)
        ));
    }
    if !removed.is_empty() {
        lines.push(format!(
            "Removed: {}",
            escaped_list(&watcher_names(removed), half)
        ));
    }
    let fallback = format!(
        "Case watchers changed: {} added, {} removed",
        added.len(),
        removed.len()
    );
    message(fallback, vec![section(&lines.join("\n"))])
}

/// Says which watchers could not be invited because no Slack user has their e-mail address.
pub fn users_not_found_message(emails: &[String]) -> SlackMessageContent {
    let text = format!(
        "*Some case watchers could not be invited*\nNo Slack user has these e-mail addresses: {}",
        escaped_list(emails, SLACK_SECTION_TEXT_MAX - 120)
    );
    let fallback = format!(
        "{} case watcher(s) could not be invited: no Slack user has their e-mail address",
        emails.len()
    );
    message(fallback, vec![section(&text)])
}

/// Announces that the case was closed in SIR.
pub fn closure_message(
    closure_code: Option<&ClosureCode>,
    closed_at: Option<DateTime<Utc>>,
) -> SlackMessageContent {
    let mut text = "*This case was closed in AWS Security Incident Response*".to_owned();
    if let Some(code) = closure_code {
        text.push_str(&format!(
            "\nClosure code: {}",
            escape_for_slack(code.as_str())
        ));
    }
    if let Some(closed_at) = closed_at {
        text.push_str(&format!("\nClosed: {}", slack_date(closed_at)));
    }
    let fallback = match closure_code {
        Some(code) => format!("The case was closed ({})", escape_for_slack(code.as_str())),
        None => "The case was closed".to_owned(),
    };
    message(fallback, vec![section(&text)])
}

/// The nudge for a quiet case: how long it has been quiet, its status, and the status menu
/// (the case message's own `case_status_select`, in a `case:<caseId>` block) with a Snooze
/// button (`case_snooze`, one day).
pub fn quiet_case_message(
    case_id: &CaseId,
    status: &CaseStatus,
    quiet_since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> SlackMessageContent {
    let quiet = quiet_duration(now - quiet_since);
    let text = format!(
        ":hourglass: *This case has been quiet for {quiet}* (no update in AWS Security Incident Response or here since {}).\nStatus: *{}*. Update the status, add what is happening, or snooze this reminder for a day.",
        slack_date(quiet_since),
        escape_for_slack(status.as_str())
    );
    let fallback = format!(
        "Case {case_id} has been quiet for {quiet} (status: {})",
        escape_for_slack(status.as_str())
    );
    let snooze = button("Snooze 1 day", SNOOZE_BUTTON_ACTION_ID, case_id.as_str());
    let elements: Vec<SlackActionBlockElement> =
        vec![status_menu("Update status", status).into(), snooze.into()];
    message(
        fallback,
        vec![section(&text), case_actions_block(case_id, elements)],
    )
}

/// A quiet time in words, to the hour past a day, to the minute below (`2 days 3 hours`,
/// `4 hours 10 minutes`, `less than a minute`).
pub fn quiet_duration(quiet: chrono::Duration) -> String {
    let minutes = quiet.num_minutes().max(0);
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let unit = |n: i64, one: &str| match n {
        1 => format!("1 {one}"),
        n => format!("{n} {one}s"),
    };
    match (days, hours, minutes) {
        (0, 0, 0) => "less than a minute".to_owned(),
        (0, 0, m) => unit(m, "minute"),
        (0, h, 0) => unit(h, "hour"),
        (0, h, m) => format!("{} {}", unit(h, "hour"), unit(m, "minute")),
        (d, 0, _) => unit(d, "day"),
        (d, h, _) => format!("{} {}", unit(d, "day"), unit(h, "hour")),
    }
}

/// Confirms a snooze in the channel.
pub fn snoozed_message(user_id: &str, until: DateTime<Utc>) -> SlackMessageContent {
    let text = format!(
        "<@{}> snoozed the quiet-case reminder until {}.",
        escape_for_slack(user_id),
        slack_date(until)
    );
    message(text.clone(), vec![section(&text)])
}

/// Says that a file shared in the channel is too large to attach to the case.
pub fn attachment_too_large_message(file_name: &str, size: u64, cap: u64) -> SlackMessageContent {
    let name = escape_truncated(&single_line(file_name), 300);
    let text = format!(
        "The file `{name}` ({}) was not attached to the case: AWS Security Incident Response \
accepts files up to {}.",
        human_size(size),
        human_size(cap.min(ATTACHMENT_MAX_BYTES)),
    );
    message(
        format!("The file {name} is too large to attach to the case"),
        vec![section(&text)],
    )
}

/// Says that an empty file shared in the channel cannot be attached to the case.
pub fn empty_attachment_message(file_name: &str) -> SlackMessageContent {
    let name = escape_truncated(&single_line(file_name), 300);
    let text = format!(
        "The file `{name}` is empty and was not attached to the case: AWS Security Incident \
Response does not accept empty files."
    );
    message(
        format!("The file {name} is empty and was not attached to the case"),
        vec![section(&text)],
    )
}

/// The answer to `/security-ir status`: the case's key facts, where its status can move next,
/// and a console link.
pub fn case_status_summary(case: &Case, links: &ConsoleLinks) -> SlackMessageContent {
    let mut fields = case_fact_fields(case);
    if let Some(action) = &case.pending_action {
        fields.push(format!(
            "*Pending action*\n{}",
            escape_for_slack(action.as_str())
        ));
    }
    if let Some(updated) = case.updated_at {
        fields.push(format!("*Last updated*\n{}", slack_date(updated)));
    }
    if let Some(code) = &case.closure_code {
        fields.push(format!(
            "*Closure code*\n{}",
            escape_for_slack(code.as_str())
        ));
    }
    if let Some(closed) = case.closed_at {
        fields.push(format!("*Closed*\n{}", slack_date(closed)));
    }
    let mut blocks = vec![
        section(&format!("*{}*", escape_truncated(&case_heading(case), 500))),
        fields_section(&fields),
    ];
    if !case.is_closed() {
        let next = reachable_from(&case.status);
        let text = if next.is_empty() {
            "The status cannot be changed with `/security-ir update-status`.".to_owned()
        } else {
            let names: Vec<String> = next
                .iter()
                .map(|status| format!("`{}`", status.as_str()))
                .collect();
            format!(
                "From here the case can move to {} with `/security-ir update-status &lt;status&gt;`.",
                names.join(" or ")
            )
        };
        blocks.push(context(&text));
    }
    blocks.push(console_link_section(&case.id, links));
    message(
        format!(
            "Case {} is {}: {}",
            case.id,
            escape_for_slack(case.status.as_str()),
            escaped_excerpt(&case.title)
        ),
        blocks,
    )
}

/// The case title, or `Case <id>` when it has none.
fn case_heading(case: &Case) -> String {
    if case.title.trim().is_empty() {
        format!("Case {}", case.id)
    } else {
        case.title.clone()
    }
}

/// Case ID, status, severity (when known), engagement type, resolver and creation date, as
/// section fields.
fn case_fact_fields(case: &Case) -> Vec<String> {
    let mut fields = vec![
        format!("*Case ID*\n{}", case.id),
        format!("*Status*\n{}", escape_for_slack(case.status.as_str())),
    ];
    if let Some(severity) = &case.severity {
        fields.push(format!(
            "*Severity*\n{}",
            escape_truncated(&single_line(severity), 200)
        ));
    }
    fields.push(format!(
        "*Engagement type*\n{}",
        escape_for_slack(case.engagement_type.as_str())
    ));
    fields.push(format!(
        "*Resolver*\n{}",
        escape_for_slack(case.resolver.as_str())
    ));
    if let Some(created) = case.created_at {
        fields.push(format!("*Created*\n{}", slack_date(created)));
    }
    fields
}

fn description_section(description: &str) -> SlackBlock {
    const TITLE: &str = "*Description*\n";
    const NOTE: &str = "\n_(Shortened: the full description is in the AWS console.)_";
    let room = SLACK_SECTION_TEXT_MAX - TITLE.len() - NOTE.len();
    let parts = split_escaped_for_slack(description.trim(), room);
    let text = match parts.as_slice() {
        [] => format!("{TITLE}_(no description)_"),
        [whole] => format!("{TITLE}{whole}"),
        [first, ..] => format!("{TITLE}{first}{NOTE}"),
    };
    section(&text)
}

fn console_link_section(case_id: &CaseId, links: &ConsoleLinks) -> SlackBlock {
    section(&format!(
        "<{}|Open case {case_id} in the AWS console>",
        links.case_url(case_id)
    ))
}

/// The menu of self-managed statuses (`action_id` [`STATUS_SELECT_ACTION_ID`]), showing
/// `current` when it is one of them.
fn status_menu(placeholder: &str, current: &CaseStatus) -> SlackBlockStaticSelectElement {
    let option = |status: SelfManagedStatus| {
        SlackBlockChoiceItem::new(plain(status.as_str()), status.as_str().to_owned())
    };
    let menu = SlackBlockStaticSelectElement::new()
        .with_action_id(SlackActionId::new(STATUS_SELECT_ACTION_ID.to_owned()))
        .with_placeholder(plain(placeholder))
        .with_options(SelfManagedStatus::ALL.into_iter().map(option).collect());
    match current.as_self_managed() {
        Some(current) => menu.with_initial_option(option(current)),
        None => menu,
    }
}

/// The status menu, the Edit title and Edit description buttons (each opens a modal; value:
/// the case ID) and the Close button, in a block whose ID names the case.
fn case_actions(case: &Case) -> SlackBlock {
    let confirm = SlackBlockConfirmItem::new(
        plain("Close this case?"),
        SlackBlockPlainText::new(format!(
            "Case {} will be closed in AWS Security Incident Response. This cannot be undone \
from Slack.",
            case.id
        ))
        .into(),
        plain("Close case"),
        plain("Cancel"),
    )
    .with_style("danger".to_owned());
    let close_button = button("Close case", CLOSE_BUTTON_ACTION_ID, case.id.as_str())
        .with_style(SlackBlockButtonStyle::Danger)
        .with_confirm(confirm);
    let edit_button = |field: EditField| {
        button(
            field.button_text(),
            field.button_action_id(),
            case.id.as_str(),
        )
    };
    let elements: Vec<SlackActionBlockElement> = vec![
        status_menu("Change status", &case.status).into(),
        edit_button(EditField::Title).into(),
        edit_button(EditField::Description).into(),
        close_button.into(),
    ];
    case_actions_block(&case.id, elements)
}

fn describe_change(change: &FieldChange) -> String {
    let label = change.label();
    match change {
        FieldChange::Title { old, new } => from_to(label, old, new),
        FieldChange::Status { old, new } => from_to(label, old.as_str(), new.as_str()),
        FieldChange::Severity { old, new } => from_to(label, opt(old), opt(new)),
        FieldChange::EngagementType { old, new } => from_to(label, old.as_str(), new.as_str()),
        FieldChange::PendingAction { old, new } => from_to(
            label,
            opt_str(old.as_ref().map(|a| a.as_str())),
            opt_str(new.as_ref().map(|a| a.as_str())),
        ),
        FieldChange::Resolver { old, new } => from_to(label, old.as_str(), new.as_str()),
        FieldChange::ClosureCode { old, new } => from_to(
            label,
            opt_str(old.as_ref().map(|c| c.as_str())),
            opt_str(new.as_ref().map(|c| c.as_str())),
        ),
        FieldChange::Description { new, .. } => {
            const NOTE: &str = "\n_(Shortened: the full description is in the AWS console.)_";
            let title = format!("*{label}* changed to:\n");
            let room = SLACK_SECTION_TEXT_MAX - title.len() - NOTE.len();
            let parts = split_escaped_for_slack(new.trim(), room);
            match parts.as_slice() {
                [] => format!("*{label}* was cleared"),
                [whole] => format!("{title}{whole}"),
                [first, ..] => format!("{title}{first}{NOTE}"),
            }
        }
        FieldChange::ImpactedAccounts { old, new }
        | FieldChange::ImpactedRegions { old, new }
        | FieldChange::ImpactedServices { old, new } => added_removed(label, old, new),
        FieldChange::ThreatActorIps { old, new } => {
            let (added, removed) = list_delta(old, new);
            added_removed_items(
                label,
                &added.iter().map(threat_actor_ip).collect::<Vec<_>>(),
                &removed.iter().map(threat_actor_ip).collect::<Vec<_>>(),
            )
        }
        FieldChange::ReportedIncidentStart { old, new }
        | FieldChange::ActualIncidentStart { old, new } => format!(
            "*{label}*: {} → {}",
            old.map_or_else(|| "_none_".to_owned(), slack_date),
            new.map_or_else(|| "_none_".to_owned(), slack_date),
        ),
        // A field this version does not know how to show.
        _ => format!("*{label}* changed"),
    }
}

/// `*Status*: Submitted → Detection and Analysis`, each value escaped and cut to fit.
fn from_to(label: &str, old: &str, new: &str) -> String {
    let half = (SLACK_SECTION_TEXT_MAX - 100) / 2;
    format!(
        "*{label}*: {} → {}",
        shown_value(old, half),
        shown_value(new, half)
    )
}

fn shown_value(value: &str, max: usize) -> String {
    if value.trim().is_empty() {
        "_none_".to_owned()
    } else {
        escape_truncated(&single_line(value), max)
    }
}

fn opt(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or_default()
}

fn opt_str(value: Option<&str>) -> &str {
    value.unwrap_or_default()
}

fn added_removed(label: &str, old: &[String], new: &[String]) -> String {
    let (added, removed) = list_delta(old, new);
    added_removed_items(label, &added, &removed)
}

fn added_removed_items(label: &str, added: &[String], removed: &[String]) -> String {
    let half = (SLACK_SECTION_TEXT_MAX - 100) / 2;
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("added {}", escaped_list(added, half)));
    }
    if !removed.is_empty() {
        parts.push(format!("removed {}", escaped_list(removed, half)));
    }
    if parts.is_empty() {
        format!("*{label}* changed")
    } else {
        format!("*{label}*: {}", parts.join("; "))
    }
}

fn threat_actor_ip(ip: &ThreatActorIp) -> String {
    match &ip.user_agent {
        Some(agent) => format!("{} ({agent})", ip.ip_address),
        None => ip.ip_address.clone(),
    }
}

/// `Jane Doe <jane@example.com>`-style names, as `Jane Doe (jane@example.com)`.
fn watcher_names(watchers: &[Watcher]) -> Vec<String> {
    watchers
        .iter()
        .map(|watcher| match &watcher.name {
            Some(name) if !name.trim().is_empty() => {
                format!("{} ({})", name.trim(), watcher.email.trim())
            }
            _ => watcher.email.trim().to_owned(),
        })
        .collect()
}

/// The items escaped and joined with `, `, at most `max` characters: what does not fit is
/// counted as `…and N more`. An empty list is `_none_`.
fn escaped_list(items: &[String], max: usize) -> String {
    if items.is_empty() {
        return "_none_".to_owned();
    }
    // Room for the longest possible `, …and N more` suffix.
    let room = max.saturating_sub(24);
    let mut out = String::new();
    let mut used = 0;
    for (index, item) in items.iter().enumerate() {
        let item = escape_for_slack(&single_line(item));
        let separator = if index == 0 { "" } else { ", " };
        let width = separator.len() + item.chars().count();
        if used + width > room {
            let left = items.len() - index;
            if index == 0 {
                out.push_str(&escape_truncated(&single_line(&items[0]), room));
                if left > 1 {
                    out.push_str(&format!(", …and {} more", left - 1));
                }
            } else {
                out.push_str(&format!(", …and {left} more"));
            }
            return out;
        }
        out.push_str(separator);
        out.push_str(&item);
        used += width;
    }
    out
}

/// `text` escaped for Slack and cut (with `…`) so the escaped form has at most `max`
/// characters. Never cuts an entity in two.
fn escape_truncated(text: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    let escaped = escape_for_slack(text);
    if escaped.chars().count() <= max {
        return escaped;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let piece = escape_for_slack(c.encode_utf8(&mut [0; 4]));
        let width = piece.chars().count();
        if used + width > max - 1 {
            break;
        }
        out.push_str(&piece);
        used += width;
    }
    out.push('…');
    out
}

/// `text` cut (with `…`) so that even escaped it would have at most `max` characters.
fn truncate_counting_escapes(text: &str, max: usize) -> String {
    let escaped_len: usize = text.chars().map(escaped_width).sum();
    if escaped_len <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        used += escaped_width(c);
        if used > max.saturating_sub(1) {
            break;
        }
        out.push(c);
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// A short escaped excerpt of SIR text for a message's fallback `text`.
fn escaped_excerpt(text: &str) -> String {
    escape_truncated(&single_line(text), FALLBACK_EXCERPT_MAX)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use sirslack_domain::{CommentId, EngagementType, ResolverType};
    use slack_morphism::prelude::SlackBlockText;

    use super::*;

    fn links() -> ConsoleLinks {
        ConsoleLinks::new("us-east-1").unwrap()
    }

    fn case() -> Case {
        let mut case = Case::new(
            CaseId::new("1234567890").unwrap(),
            "Key <!channel> leak & more",
            "Description with <@U123> and <https://evil|bank>",
            CaseStatus::DetectionAndAnalysis,
            EngagementType::SecurityIncident,
            ResolverType::SelfManaged,
        );
        case.created_at = Some(Utc.with_ymd_and_hms(2024, 5, 1, 12, 30, 0).unwrap());
        case
    }

    /// The value of the status menu's initial option, if the message has one.
    fn initial_status(content: &SlackMessageContent) -> Option<String> {
        let blocks = content.blocks.as_ref()?;
        blocks.iter().find_map(|block| match block {
            SlackBlock::Actions(actions) => {
                actions.elements.iter().find_map(|element| match element {
                    SlackActionBlockElement::StaticSelect(select) => select
                        .initial_option
                        .as_ref()
                        .map(|option| option.value.clone()),
                    _ => None,
                })
            }
            _ => None,
        })
    }

    fn json(content: &SlackMessageContent) -> String {
        serde_json::to_string(content).unwrap()
    }

    #[test]
    fn console_links() {
        let id = CaseId::new("1234567890").unwrap();
        assert_eq!(
            links().case_url(&id),
            "https://us-east-1.console.aws.amazon.com/security-ir/home?region=us-east-1#/cases/1234567890"
        );
        for bad in [
            "",
            "US-EAST-1",
            "us-east-1|x",
            "us east",
            "1us",
            &"a".repeat(33),
        ] {
            assert!(ConsoleLinks::new(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ConsoleLinks::new(" eu-west-2 ").unwrap().region(),
            "eu-west-2"
        );
    }

    #[test]
    fn block_ids_and_option_values_round_trip() {
        let id = CaseId::new("1234567890").unwrap();
        assert_eq!(case_id_from_block_id(&case_block_id(&id)), Some(id));
        assert_eq!(case_id_from_block_id("case:12"), None);
        assert_eq!(case_id_from_block_id("other:1234567890"), None);
        for status in SelfManagedStatus::ALL {
            assert_eq!(status_from_option_value(status.as_str()), Some(status));
        }
        assert_eq!(status_from_option_value("Closed"), None);
    }

    /// Every `mrkdwn` text in a rendered message.
    fn mrkdwn_texts(value: &serde_json::Value) -> Vec<String> {
        match value {
            serde_json::Value::Object(map) => {
                let own = (map.get("type").and_then(|t| t.as_str()) == Some("mrkdwn"))
                    .then(|| map.get("text").and_then(|t| t.as_str()).map(str::to_owned))
                    .flatten();
                own.into_iter()
                    .chain(map.values().flat_map(mrkdwn_texts))
                    .collect()
            }
            serde_json::Value::Array(items) => items.iter().flat_map(mrkdwn_texts).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn sir_text_never_reaches_slack_unescaped() {
        let content = initial_case_message(&case(), &links());
        let value = serde_json::to_value(&content).unwrap();
        let texts = mrkdwn_texts(&value);
        assert!(texts.len() > 5);
        for text in &texts {
            assert!(!text.contains("<!channel>"), "{text}");
            assert!(!text.contains("<@U123>"), "{text}");
            assert!(!text.contains("<https://evil"), "{text}");
        }
        assert!(texts.iter().any(|text| text.contains("&lt;@U123&gt;")));
        // The header is plain_text, which Slack never parses: it keeps the title as written.
        assert_eq!(
            value["blocks"][0]["text"]["text"],
            "Key <!channel> leak & more"
        );
        let fallback = content.text.as_deref().unwrap();
        assert!(
            fallback.contains("Key &lt;!channel&gt; leak &amp; more"),
            "{fallback}"
        );
    }

    #[test]
    fn initial_message_has_the_actions_for_open_cases_only() {
        let content = initial_case_message(&case(), &links());
        assert_eq!(
            initial_status(&content).as_deref(),
            Some("Detection and Analysis")
        );
        let rendered = json(&content);
        assert!(rendered.contains(r#""block_id":"case:1234567890""#));
        assert!(rendered.contains(STATUS_SELECT_ACTION_ID));
        assert!(rendered.contains(CLOSE_BUTTON_ACTION_ID));
        for field in EditField::ALL {
            assert!(rendered.contains(field.button_action_id()), "{rendered}");
            assert!(rendered.contains(field.button_text()), "{rendered}");
        }
        let mut closed = case();
        closed.status = CaseStatus::Closed;
        let rendered = json(&initial_case_message(&closed, &links()));
        assert!(!rendered.contains(CLOSE_BUTTON_ACTION_ID));
        assert!(!rendered.contains(EditField::Title.button_action_id()));
    }

    #[test]
    fn aws_managed_status_has_no_initial_option() {
        let mut acknowledged = case();
        acknowledged.status = CaseStatus::Acknowledged;
        assert_eq!(
            initial_status(&initial_case_message(&acknowledged, &links())),
            None
        );
    }

    #[test]
    fn long_descriptions_are_cut_with_a_note() {
        let mut long = case();
        long.description = "&".repeat(8_000);
        let content = initial_case_message(&long, &links());
        let rendered = json(&content);
        assert!(rendered.contains("Shortened"));
        for block in content.blocks.unwrap() {
            if let SlackBlock::Section(section) = block
                && let Some(SlackBlockText::MarkDown(text)) = section.text
            {
                assert!(text.text.chars().count() <= SLACK_SECTION_TEXT_MAX);
                assert!(!text.text.ends_with("&am"));
            }
        }
    }

    #[test]
    fn topic_and_purpose_fit_and_are_single_lines() {
        let mut long = case();
        long.title = format!("{}\nsecond line", "<&>".repeat(200));
        long.status = CaseStatus::ContainmentEradicationAndRecovery;
        let topic = channel_topic(&long);
        let escaped_len = escape_for_slack(&topic).chars().count();
        assert!(escaped_len <= SLACK_TOPIC_MAX, "{escaped_len}");
        assert!(topic.starts_with("[Containment, Eradication and Recovery] <&><&>"));
        assert!(!topic.contains('\n'));
        assert!(topic.ends_with('…'));
        let purpose = channel_purpose(&long);
        assert!(escape_for_slack(&purpose).chars().count() <= PURPOSE_MAX);
        assert!(purpose.starts_with("AWS Security Incident Response case 1234567890: <&>"));
        assert_eq!(
            channel_topic(&case()),
            "[Detection and Analysis] Key <!channel> leak & more"
        );
        long.title = "t".repeat(400);
        assert_eq!(channel_topic(&long).chars().count(), SLACK_TOPIC_MAX);
    }

    #[test]
    fn updates_list_every_change() {
        let changes = vec![
            FieldChange::Status {
                old: CaseStatus::Submitted,
                new: CaseStatus::DetectionAndAnalysis,
            },
            FieldChange::Title {
                old: "Old".into(),
                new: "New <b>".into(),
            },
            FieldChange::ImpactedAccounts {
                old: vec!["111111111111".into()],
                new: vec!["222222222222".into()],
            },
        ];
        let content = case_updated_message(&changes);
        let rendered = json(&content);
        assert!(rendered.contains("*Status*: Submitted → Detection and Analysis"));
        assert!(rendered.contains("*Title*: Old → New &lt;b&gt;"));
        assert!(rendered.contains("added 222222222222; removed 111111111111"));
        assert_eq!(
            content.text.as_deref(),
            Some("Case updated: Status, Title, Impacted accounts")
        );
    }

    #[test]
    fn many_changes_stay_within_the_block_limit() {
        let changes: Vec<FieldChange> = (0..80)
            .map(|n| FieldChange::Title {
                old: n.to_string(),
                new: (n + 1).to_string(),
            })
            .collect();
        let content = case_updated_message(&changes);
        let blocks = content.blocks.unwrap();
        assert_eq!(blocks.len(), SLACK_BLOCKS_MAX);
        assert!(json_of(&blocks[SLACK_BLOCKS_MAX - 1]).contains("and 32 more changes"));
    }

    fn json_of(block: &SlackBlock) -> String {
        serde_json::to_string(block).unwrap()
    }

    #[test]
    fn comments_are_escaped_split_and_attributed() {
        let comment = Comment {
            id: CommentId::new("123456").unwrap(),
            body: format!("<!here> {}", "word ".repeat(3_000)),
            creator: "arn:aws:sts::123456789012:assumed-role/Admin/jane".into(),
            created_at: Utc.with_ymd_and_hms(2024, 5, 1, 13, 0, 0).unwrap(),
            updated_at: None,
            updated_by: None,
        };
        let messages = comment_messages(&comment);
        assert_eq!(messages.len(), 1);
        let blocks = messages[0].blocks.as_ref().unwrap();
        assert!(blocks.len() >= 7, "{}", blocks.len());
        let rendered = json(&messages[0]);
        assert!(rendered.contains("*jane via Admin (123456789012)* commented"));
        assert!(!rendered.contains("<!here>"));
        let words: usize = blocks
            .iter()
            .map(|block| json_of(block).matches("word").count())
            .sum();
        assert_eq!(words, 3_000);
    }

    #[test]
    fn edited_comments_are_marked_in_heading_and_fallback() {
        let comment = Comment {
            id: CommentId::new("123456").unwrap(),
            body: "Rotated the key <now>".into(),
            creator: "AWS Responder".into(),
            created_at: Utc.with_ymd_and_hms(2024, 5, 1, 13, 0, 0).unwrap(),
            updated_at: Some(Utc.with_ymd_and_hms(2024, 5, 2, 9, 30, 0).unwrap()),
            updated_by: Some("arn:aws:iam::111122223333:user/jane".into()),
        };
        let at = Utc.with_ymd_and_hms(2024, 5, 2, 9, 30, 0).unwrap();
        let in_place = edited_comment_messages(
            &comment,
            CommentEdit::InPlace {
                by: "arn:aws:iam::111122223333:user/jane",
                at,
            },
        );
        assert_eq!(in_place.len(), 1);
        let text = in_place[0].text.as_deref().unwrap();
        assert_eq!(
            text,
            "AWS Responder commented (edited in SIR 2024-05-02 09:30 UTC by jane (111122223333)): \
             Rotated the key &lt;now&gt;"
        );
        let rendered = json(&in_place[0]);
        assert!(
            rendered.contains("(edited in SIR <!date^1714642200^"),
            "{rendered}"
        );
        assert!(!rendered.contains("(edited)"), "one mark only: {rendered}");

        let repost = edited_comment_messages(
            &comment,
            CommentEdit::Repost {
                by: "AWS Responder",
                at,
            },
        );
        let text = repost[0].text.as_deref().unwrap();
        assert!(
            text.starts_with("Edit of an earlier comment: AWS Responder commented (edited in SIR"),
            "{text}"
        );
        // The plain comment keeps its short mark.
        assert!(json(&comment_messages(&comment)[0]).contains("(edited)"));

        let removed = comment_part_removed_message(&comment, "AWS Responder", at);
        assert!(json(&removed).contains("this part of the comment was removed (edited in SIR"));
    }

    #[test]
    fn huge_comments_become_several_messages() {
        let comment = Comment {
            id: CommentId::new("123456").unwrap(),
            body: "x".repeat(SLACK_SECTION_TEXT_MAX * 60),
            creator: String::new(),
            created_at: Utc.with_ymd_and_hms(2024, 5, 1, 13, 0, 0).unwrap(),
            updated_at: None,
            updated_by: None,
        };
        let messages = comment_messages(&comment);
        assert_eq!(messages.len(), 2);
        assert!(json(&messages[1]).contains("(part 2/2)"));
        let sections: usize = messages
            .iter()
            .map(|m| m.blocks.as_ref().unwrap().len() - 1)
            .sum();
        assert_eq!(sections, 60);
        for message in &messages {
            assert!(message.blocks.as_ref().unwrap().len() <= SLACK_BLOCKS_MAX);
        }
    }

    #[test]
    fn lists_are_cut_with_a_count() {
        let items: Vec<String> = (0..1_000).map(|n| format!("{n:012}")).collect();
        let list = escaped_list(&items, 100);
        assert!(list.chars().count() <= 100, "{list}");
        assert!(list.ends_with("more"), "{list}");
        assert_eq!(escaped_list(&[], 100), "_none_");
        let huge = vec!["y".repeat(500), "z".into()];
        let list = escaped_list(&huge, 100);
        assert!(list.chars().count() <= 100, "{list}");
        assert!(list.ends_with(", …and 1 more"), "{list}");
    }

    #[test]
    fn escape_truncated_never_cuts_entities() {
        assert_eq!(escape_truncated("a&b", 10), "a&amp;b");
        assert_eq!(escape_truncated("a&b", 5), "a…");
        assert_eq!(escape_truncated("a&b", 6), "a…");
        assert_eq!(escape_truncated("a&bc", 7), "a&amp;…");
        assert_eq!(escape_truncated("abc", 0), "");
    }

    #[test]
    fn a_quiet_case_nudge_says_how_long_and_offers_the_status_menu_and_a_snooze() {
        let case_id = CaseId::new("1234567890").unwrap();
        let since = Utc.timestamp_opt(1_760_000_000, 0).single().unwrap();
        let now = since + chrono::Duration::minutes(26 * 60 + 5);
        let message = quiet_case_message(&case_id, &CaseStatus::DetectionAndAnalysis, since, now);
        let rendered = serde_json::to_string(&message).unwrap();
        assert!(rendered.contains("quiet for 1 day 2 hours"), "{rendered}");
        assert!(rendered.contains("Detection and Analysis"), "{rendered}");
        assert!(rendered.contains(STATUS_SELECT_ACTION_ID), "{rendered}");
        assert!(rendered.contains(SNOOZE_BUTTON_ACTION_ID), "{rendered}");
        assert!(rendered.contains("case:1234567890"), "{rendered}");
        assert!(!rendered.contains(CLOSE_BUTTON_ACTION_ID), "{rendered}");
        assert_eq!(
            quiet_duration(chrono::Duration::seconds(30)),
            "less than a minute"
        );
        assert_eq!(
            quiet_duration(chrono::Duration::minutes(61)),
            "1 hour 1 minute"
        );
        assert_eq!(quiet_duration(chrono::Duration::hours(48)), "2 days");
    }
}
