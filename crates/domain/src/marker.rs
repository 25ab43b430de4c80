//! The `[Slack Update]` loop marker and every SIR comment text the integration writes.
//!
//! Each comment the integration writes to SIR starts with [`SLACK_UPDATE_MARKER`], so the
//! poller can recognise it ([`is_integration_comment`]) and never copy it back to Slack. Build
//! comment texts only with the functions here so that every one carries the marker.
//!
//! People are named by their Slack real name and handle, which they can edit, and by their
//! Slack user ID, which never changes: `Jane Doe (@jane, Slack ID U0123ABCD)`. A missing real
//! name falls back to `@jane (Slack ID U0123ABCD)`, and a missing handle too to
//! `A Slack user (Slack ID U0123ABCD)`. So a SIR record still names the right person after a
//! profile is renamed, or when two people share a display name.

/// The prefix of every SIR comment the integration writes.
pub const SLACK_UPDATE_MARKER: &str = "[Slack Update]";

/// Who a comment names when Slack gave neither a real name nor a handle.
pub const UNKNOWN_SLACK_USER: &str = "A Slack user";

/// Whether the integration wrote `body`: it starts with [`SLACK_UPDATE_MARKER`] after any
/// leading whitespace.
pub fn is_integration_comment(body: &str) -> bool {
    body.trim_start().starts_with(SLACK_UPDATE_MARKER)
}

/// The text after the marker, trimmed, when the integration wrote `body`.
pub fn strip_marker(body: &str) -> Option<&str> {
    body.trim_start()
        .strip_prefix(SLACK_UPDATE_MARKER)
        .map(str::trim)
}

/// A Slack user as SIR comments name them: the immutable user ID, plus the profile's real
/// name and handle when Slack gave them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlackAuthor<'a> {
    /// The Slack user ID (`U...` or `W...`).
    pub user_id: &'a str,
    /// The profile's real name.
    pub real_name: Option<&'a str>,
    /// The handle (display name or user name), with or without a leading `@`.
    pub handle: Option<&'a str>,
}

/// How a Slack user is named in comments: `Jane Doe (@jane, Slack ID U0123ABCD)`,
/// `Jane Doe (Slack ID U0123ABCD)`, `@jane (Slack ID U0123ABCD)` or
/// `A Slack user (Slack ID U0123ABCD)`. Empty values count as missing; whitespace runs
/// (newlines included) become single spaces and a leading `@` on the handle is not doubled.
/// The ID keeps only ASCII letters and digits (Slack's IDs have nothing else); an ID with
/// none is left out.
pub fn slack_author_label(author: &SlackAuthor<'_>) -> String {
    let real_name = author
        .real_name
        .map(single_line)
        .filter(|name| !name.is_empty());
    let handle = author
        .handle
        .map(|handle| single_line(handle.trim().trim_start_matches('@')))
        .filter(|handle| !handle.is_empty());
    let id: String = author
        .user_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let id = (!id.is_empty()).then(|| format!("Slack ID {id}"));
    match (real_name, handle, id) {
        (Some(name), Some(handle), Some(id)) => format!("{name} (@{handle}, {id})"),
        (Some(name), Some(handle), None) => format!("{name} (@{handle})"),
        (Some(name), None, Some(id)) => format!("{name} ({id})"),
        (Some(name), None, None) => name,
        (None, Some(handle), Some(id)) => format!("@{handle} ({id})"),
        (None, Some(handle), None) => format!("@{handle}"),
        (None, None, Some(id)) => format!("{UNKNOWN_SLACK_USER} ({id})"),
        (None, None, None) => UNKNOWN_SLACK_USER.to_owned(),
    }
}

fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A Slack message copied to SIR: `[Slack Update] Jane Doe (@jane, Slack ID U0123ABCD): text`,
/// or `[Slack Update] Jane Doe (@jane, Slack ID U0123ABCD) replied in thread: text` for a thread reply. The text is
/// kept as given (the mapper turns Slack markup into plain text first); only its ends are
/// trimmed. A long text is split for SIR's comment limit by the mapper
/// (`sirslack_mapper::split::split_sir_comment`), with this comment for an empty text as the
/// prefix of every part.
pub fn slack_message_comment(
    author: &SlackAuthor<'_>,
    text: &str,
    is_thread_reply: bool,
) -> String {
    let author = slack_author_label(author);
    let how = if is_thread_reply {
        " replied in thread"
    } else {
        ""
    };
    format!("{SLACK_UPDATE_MARKER} {author}{how}: {}", text.trim())
}

/// A file shared in Slack and attached to the case:
/// `[Slack Update] Jane Doe (@jane, Slack ID U0123ABCD) uploaded file: report.pdf`, followed by the message shared
/// with the file on the next lines, when there is one.
pub fn file_uploaded_comment(
    author: &SlackAuthor<'_>,
    file_name: &str,
    message: Option<&str>,
) -> String {
    let author = slack_author_label(author);
    let mut comment = format!(
        "{SLACK_UPDATE_MARKER} {author} uploaded file: {}",
        file_name.trim()
    );
    if let Some(message) = message.map(str::trim).filter(|m| !m.is_empty()) {
        comment.push_str("\n\n");
        comment.push_str(message);
    }
    comment
}

/// `[Slack Update] Jane Doe (@jane, Slack ID U0123ABCD) joined the Slack channel`.
pub fn member_joined_comment(author: &SlackAuthor<'_>) -> String {
    let author = slack_author_label(author);
    format!("{SLACK_UPDATE_MARKER} {author} joined the Slack channel")
}

/// `[Slack Update] Jane Doe (@jane, Slack ID U0123ABCD) left the Slack channel`.
pub fn member_left_comment(author: &SlackAuthor<'_>) -> String {
    let author = slack_author_label(author);
    format!("{SLACK_UPDATE_MARKER} {author} left the Slack channel")
}

/// `[Slack Update] Slack channel created: #name` (a leading `#` on `channel_name` is not
/// doubled).
pub fn channel_created_comment(channel_name: &str) -> String {
    let name = channel_name.trim().trim_start_matches('#');
    format!("{SLACK_UPDATE_MARKER} Slack channel created: #{name}")
}

/// `[Slack Update] Slack channel replaced: #old is archived; the case continues in #new`:
/// the case is open but its channel was archived, and Slack does not let a bot unarchive, so
/// the integration made a new channel.
pub fn channel_replaced_comment(archived_name: &str, new_name: &str) -> String {
    let archived = archived_name.trim().trim_start_matches('#');
    let new = new_name.trim().trim_start_matches('#');
    format!(
        "{SLACK_UPDATE_MARKER} Slack channel replaced: #{archived} is archived; the case continues in #{new}"
    )
}

/// The audit record of a slash command that changed the case:
/// `[Slack Update] Jane Doe (@jane, Slack ID U0123ABCD) ran /security-ir update-title: title set
/// to "New title"`.
/// With an empty `what_changed` it is the prefix every part of a split record starts with
/// (`sirslack_mapper::split::split_sir_comment`).
pub fn command_audit_comment(
    author: &SlackAuthor<'_>,
    subcommand: &str,
    what_changed: &str,
) -> String {
    let author = slack_author_label(author);
    format!(
        "{SLACK_UPDATE_MARKER} {author} ran /security-ir {}: {}",
        subcommand.trim(),
        what_changed.trim()
    )
}

/// A Slack message someone sent to the case with the "Send to SIR case" message shortcut:
/// the prefix of the comment, which the message's text follows (the mapper splits a long text
/// with this prefix on every part, `sirslack_mapper::split::split_sir_comment`).
///
/// ```text
/// [Slack Update] Jane Doe (@jane, Slack ID U0123ABCD) sent a Slack message to this case.
/// Author: Bob Smith (@bob, Slack ID U0BOB12345)
/// Link: https://example.slack.com/archives/C0ALERTS/p1700000000000100
/// Note: This is the first alert of the wave
/// Message:
/// ```
///
/// `author` is already a label ([`slack_author_label`], or how the caller names an app);
/// an empty `note` is left out. Line breaks in the note are kept.
pub fn forwarded_message_prefix(
    sender: &SlackAuthor<'_>,
    author: &str,
    permalink: &str,
    note: Option<&str>,
) -> String {
    let sender = slack_author_label(sender);
    let mut prefix = format!(
        "{SLACK_UPDATE_MARKER} {sender} sent a Slack message to this case.\nAuthor: {}\nLink: {}\n",
        single_line(author),
        permalink.trim()
    );
    if let Some(note) = note.map(str::trim).filter(|note| !note.is_empty()) {
        prefix.push_str("Note: ");
        prefix.push_str(note);
        prefix.push('\n');
    }
    prefix.push_str("Message:\n");
    prefix
}

/// Any other note from the integration: `[Slack Update] <text>`.
pub fn system_comment(text: &str) -> String {
    format!("{SLACK_UPDATE_MARKER} {}", text.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    const JANE: SlackAuthor<'static> = SlackAuthor {
        user_id: "U0123ABCD",
        real_name: Some("Jane Doe"),
        handle: Some("jane"),
    };

    fn author<'a>(real_name: Option<&'a str>, handle: Option<&'a str>) -> SlackAuthor<'a> {
        SlackAuthor {
            user_id: "U0123ABCD",
            real_name,
            handle,
        }
    }

    #[test]
    fn recognises_integration_comments() {
        assert!(is_integration_comment("[Slack Update] Jane: hi"));
        assert!(is_integration_comment("  \n[Slack Update] Jane: hi"));
        assert!(!is_integration_comment("Jane: [Slack Update] hi"));
        assert!(!is_integration_comment("[slack update] lower case"));
        assert!(!is_integration_comment(""));
        assert_eq!(strip_marker(" [Slack Update] hi "), Some("hi"));
        assert_eq!(strip_marker("hi"), None);
    }

    #[test]
    fn message_comments() {
        assert_eq!(
            slack_message_comment(&JANE, " Found the IOC \n", false),
            "[Slack Update] Jane Doe (@jane, Slack ID U0123ABCD): Found the IOC"
        );
        assert_eq!(
            slack_message_comment(&author(Some("Jane Doe"), Some("@jane")), "ack", true),
            "[Slack Update] Jane Doe (@jane, Slack ID U0123ABCD) replied in thread: ack"
        );
        assert_eq!(
            slack_message_comment(&author(Some("Jane Doe"), None), "line 1\nline 2", false),
            "[Slack Update] Jane Doe (Slack ID U0123ABCD): line 1\nline 2"
        );
    }

    #[test]
    fn every_label_carries_the_immutable_user_id() {
        assert_eq!(
            slack_author_label(&author(None, Some("jane"))),
            "@jane (Slack ID U0123ABCD)"
        );
        assert_eq!(
            slack_author_label(&author(None, None)),
            "A Slack user (Slack ID U0123ABCD)"
        );
        // Two people who share a display name stay apart.
        let other = SlackAuthor {
            user_id: "W0456EFGH",
            ..JANE
        };
        assert_ne!(slack_author_label(&JANE), slack_author_label(&other));
        // The ID is Slack's shape only: nothing a profile could smuggle in.
        let odd = SlackAuthor {
            user_id: "U01 [Slack Update]\n",
            ..JANE
        };
        assert_eq!(
            slack_author_label(&odd),
            "Jane Doe (@jane, Slack ID U01SlackUpdate)"
        );
        let none = SlackAuthor {
            user_id: " ",
            ..JANE
        };
        assert_eq!(slack_author_label(&none), "Jane Doe (@jane)");
    }

    #[test]
    fn missing_names_fall_back_never_to_none() {
        assert_eq!(
            slack_author_label(&author(Some("  "), Some("jane"))),
            "@jane (Slack ID U0123ABCD)"
        );
        assert_eq!(
            slack_author_label(&author(Some(""), Some("@"))),
            "A Slack user (Slack ID U0123ABCD)"
        );
        assert_eq!(
            slack_author_label(&author(Some("Jane\nDoe"), None)),
            "Jane Doe (Slack ID U0123ABCD)"
        );
        let joined = member_joined_comment(&author(None, None));
        assert_eq!(
            joined,
            "[Slack Update] A Slack user (Slack ID U0123ABCD) joined the Slack channel"
        );
        assert!(!joined.contains("None"));
    }

    #[test]
    fn membership_and_channel_comments() {
        assert_eq!(
            member_joined_comment(&author(Some("Jane Doe"), None)),
            "[Slack Update] Jane Doe (Slack ID U0123ABCD) joined the Slack channel"
        );
        assert_eq!(
            member_left_comment(&JANE),
            "[Slack Update] Jane Doe (@jane, Slack ID U0123ABCD) left the Slack channel"
        );
        assert_eq!(
            channel_created_comment("#aws-security-incident-response-case-1234567890"),
            "[Slack Update] Slack channel created: #aws-security-incident-response-case-1234567890"
        );
        assert_eq!(
            channel_replaced_comment("#sir-case-1", "sir-case-1-2"),
            "[Slack Update] Slack channel replaced: #sir-case-1 is archived; the case continues in #sir-case-1-2"
        );
    }

    #[test]
    fn file_and_audit_and_system_comments() {
        assert_eq!(
            file_uploaded_comment(&JANE, "report.pdf", None),
            "[Slack Update] Jane Doe (@jane, Slack ID U0123ABCD) uploaded file: report.pdf"
        );
        assert_eq!(
            file_uploaded_comment(
                &author(None, Some("jane")),
                "report.pdf",
                Some(" see page 2 ")
            ),
            "[Slack Update] @jane (Slack ID U0123ABCD) uploaded file: report.pdf\n\nsee page 2"
        );
        assert_eq!(
            file_uploaded_comment(&author(None, None), "a.txt", Some("   ")),
            "[Slack Update] A Slack user (Slack ID U0123ABCD) uploaded file: a.txt"
        );
        assert_eq!(
            command_audit_comment(
                &JANE,
                "update-status",
                "status changed from Submitted to Detection and Analysis"
            ),
            "[Slack Update] Jane Doe (@jane, Slack ID U0123ABCD) ran /security-ir update-status: status changed from Submitted to Detection and Analysis"
        );
        assert_eq!(
            system_comment("Slack channel archived"),
            "[Slack Update] Slack channel archived"
        );
    }

    #[test]
    fn empty_texts_give_the_prefixes_long_comments_are_split_with() {
        assert_eq!(
            slack_message_comment(&JANE, "", false),
            "[Slack Update] Jane Doe (@jane, Slack ID U0123ABCD): "
        );
        assert_eq!(
            command_audit_comment(&JANE, "update-title", ""),
            "[Slack Update] Jane Doe (@jane, Slack ID U0123ABCD) ran /security-ir update-title: "
        );
    }

    #[test]
    fn every_builder_writes_the_marker() {
        let nobody = author(None, None);
        let all = [
            slack_message_comment(&nobody, "", false),
            file_uploaded_comment(&nobody, "", None),
            member_joined_comment(&nobody),
            member_left_comment(&nobody),
            channel_created_comment(""),
            command_audit_comment(&nobody, "", ""),
            system_comment(""),
        ];
        for comment in all {
            assert!(is_integration_comment(&comment), "{comment}");
        }
    }

    #[test]
    fn forwarded_messages_name_the_sender_the_author_and_the_link() {
        let sender = SlackAuthor {
            user_id: "U0ALICE",
            real_name: Some("Alice Example"),
            handle: Some("alice"),
        };
        let prefix = forwarded_message_prefix(
            &sender,
            "Bob Smith (@bob, Slack ID U0BOB)",
            "https://x.slack.com/archives/C1/p1",
            Some("  first alert\nof the wave "),
        );
        assert!(is_integration_comment(&prefix));
        assert_eq!(
            prefix,
            "[Slack Update] Alice Example (@alice, Slack ID U0ALICE) sent a Slack message to this case.\n\
             Author: Bob Smith (@bob, Slack ID U0BOB)\n\
             Link: https://x.slack.com/archives/C1/p1\n\
             Note: first alert\nof the wave\n\
             Message:\n"
        );
        let bare = forwarded_message_prefix(&sender, "an app", "https://l", Some("  "));
        assert!(!bare.contains("Note:"), "{bare}");
    }
}
