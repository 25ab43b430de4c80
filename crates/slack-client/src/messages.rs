//! Texts the Slack client needs that `sirslack-mapper` does not offer: notices about case
//! attachments (the mapper's file messages are about files going the other way, from Slack
//! to SIR) and the `[Slack Update]` comments about Slack failures.

use sirslack_domain::limits::truncate_chars;
use sirslack_domain::marker::system_comment;
use sirslack_domain::{Attachment, author_display};
use sirslack_mapper::blocks::{human_size, message, section};
use sirslack_mapper::markup::escape_for_slack;
use slack_morphism::prelude::SlackMessageContent;

/// Most characters of a file name shown.
const FILE_NAME_SHOWN_MAX: usize = 255;

fn file_name(attachment: &Attachment) -> String {
    let name = truncate_chars(attachment.file_name.trim(), FILE_NAME_SHOWN_MAX);
    escape_for_slack(&name.replace('`', "'"))
}

/// The comment shared with a copied attachment: who attached it to the case and when.
pub fn attachment_shared_comment(attachment: &Attachment) -> String {
    format!(
        "{} attached `{}` to the case in AWS Security Incident Response ({})",
        escape_for_slack(&author_display(&attachment.creator)),
        file_name(attachment),
        attachment.created_at.format("%Y-%m-%d %H:%M UTC"),
    )
}

/// An attachment larger than the configured cap: named, sized, and not copied.
pub fn attachment_too_large_notice(
    attachment: &Attachment,
    size: Option<u64>,
    cap: u64,
) -> SlackMessageContent {
    let size = match size {
        Some(size) => human_size(size),
        None => format!("more than {}", human_size(cap)),
    };
    let name = file_name(attachment);
    let text = format!(
        "*A file was attached to the case:* `{name}` ({size}). It is larger than the {} this \
         integration copies to Slack; download it from the case in the AWS console.",
        human_size(cap)
    );
    message(
        format!("Case attachment {name} ({size}) is too large to copy to Slack"),
        vec![section(&text)],
    )
}

/// An empty attachment: named, not copied (Slack does not take empty uploads).
pub fn attachment_empty_notice(attachment: &Attachment) -> SlackMessageContent {
    let name = file_name(attachment);
    let text =
        format!("*A file was attached to the case:* `{name}`. It is empty, so it was not copied.");
    message(
        format!("Case attachment {name} is empty"),
        vec![section(&text)],
    )
}

/// The `[Slack Update]` comment telling SIR users that Slack refused an update.
pub fn slack_failure_comment(what: &str, code: &str) -> String {
    let advice = match code {
        "invalid_auth" | "token_revoked" | "token_expired" | "not_authed" | "account_inactive" => {
            " Slack rejected the integration's bot token; an administrator must rotate it."
        }
        "channel_not_found" => {
            " The case's Slack channel no longer exists or the app cannot see it."
        }
        "is_archived" => " The case's Slack channel is archived.",
        "not_in_channel" => " The app was removed from the case's Slack channel.",
        "name_taken" => " Every channel name for this case is taken by other channels.",
        _ => "",
    };
    system_comment(&format!(
        "Could not update Slack ({what}): Slack answered `{code}`.{advice}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use sirslack_domain::AttachmentStatus;

    fn attachment(name: &str) -> Attachment {
        Attachment {
            id: "a1".into(),
            file_name: name.into(),
            status: AttachmentStatus::Verified,
            creator: "AWS Responder".into(),
            created_at: chrono::Utc
                .timestamp_opt(1_700_000_000, 0)
                .single()
                .unwrap(),
        }
    }

    #[test]
    fn notices_name_the_file_escaped() {
        let notice = attachment_too_large_notice(
            &attachment("a<b>.log"),
            Some(5 * 1024 * 1024),
            1024 * 1024,
        );
        let json = serde_json::to_string(&notice).unwrap();
        assert!(json.contains("a&lt;b&gt;.log"), "{json}");
        assert!(
            json.contains("5.0 MiB") && json.contains("1.0 MiB"),
            "{json}"
        );
        let unknown = attachment_too_large_notice(&attachment("x"), None, 1024);
        assert!(
            serde_json::to_string(&unknown)
                .unwrap()
                .contains("more than 1.0 KiB")
        );
        let comment = attachment_shared_comment(&attachment("report.pdf"));
        assert!(
            comment.starts_with("AWS Responder attached `report.pdf`"),
            "{comment}"
        );
    }

    #[test]
    fn failure_comments_carry_the_marker_and_advice() {
        let comment = slack_failure_comment("posting a comment", "invalid_auth");
        assert!(comment.starts_with("[Slack Update] "), "{comment}");
        assert!(comment.contains("rotate"), "{comment}");
        assert!(slack_failure_comment("x", "is_archived").contains("archived"));
    }
}
