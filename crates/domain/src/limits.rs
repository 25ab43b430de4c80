//! Limits of SIR, Slack and EventBridge that the integration must respect, and the rule for SIR
//! file names (turning any name into a valid one is the mapper's
//! `sirslack_mapper::filename::sanitize_file_name`).

/// Most characters in a SIR comment body (longer Slack messages are split by the mapper,
/// `sirslack_mapper::split::split_sir_comment`).
pub const COMMENT_BODY_MAX: usize = 12_000;
/// Most characters in a case title.
pub const TITLE_MAX: usize = 300;
/// Most characters in a case description.
pub const DESCRIPTION_MAX: usize = 8_000;
/// Largest attachment SIR accepts, in bytes (100 MiB). Zero-byte files are refused too.
pub const ATTACHMENT_MAX_BYTES: u64 = 104_857_600;
/// Most characters in a SIR attachment file name.
pub const FILE_NAME_MAX: usize = 255;
/// Largest `maxResults` of every SIR List operation.
pub const PAGE_SIZE_MAX: usize = 25;
/// Most characters in a Slack channel topic.
pub const SLACK_TOPIC_MAX: usize = 250;
/// Most characters in the text of a Slack section block.
pub const SLACK_SECTION_TEXT_MAX: usize = 3_000;
/// Most characters in a Slack message's `text` before Slack truncates it.
pub const SLACK_MESSAGE_TEXT_MAX: usize = 40_000;
/// Most characters a Slack `plain_text_input` element holds (its `max_length` cap).
pub const SLACK_INPUT_MAX: usize = 3_000;
/// Most blocks in one Slack message.
pub const SLACK_BLOCKS_MAX: usize = 50;
/// Largest EventBridge event entry, in bytes (256 KiB).
pub const EVENT_DETAIL_MAX_BYTES: usize = 256 * 1024;

/// Whether SIR accepts `name` as an attachment file name: 1 to [`FILE_NAME_MAX`] characters of
/// `[a-zA-Z0-9._-]`.
pub fn is_valid_sir_file_name(name: &str) -> bool {
    (1..=FILE_NAME_MAX).contains(&name.len()) && name.bytes().all(is_sir_file_name_byte)
}

fn is_sir_file_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

/// `text` cut to at most `max_chars` characters, ending in `…` when it was cut.
///
/// For Slack topics, section texts and similar display limits; counts characters, never splits
/// one. With `max_chars == 0` the result is empty.
pub fn truncate_chars(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    if max_chars == 0 {
        return String::new();
    }
    let mut cut: String = text.chars().take(max_chars - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_the_services() {
        assert_eq!(ATTACHMENT_MAX_BYTES, 100 * 1024 * 1024);
        assert_eq!(EVENT_DETAIL_MAX_BYTES, 262_144);
        assert_eq!(PAGE_SIZE_MAX, 25);
    }

    #[test]
    fn sir_file_names() {
        assert!(is_valid_sir_file_name("report-2024_01.v2.pdf"));
        assert!(!is_valid_sir_file_name(""));
        assert!(!is_valid_sir_file_name("my report.pdf"));
        assert!(!is_valid_sir_file_name("rapport-été.pdf"));
        assert!(!is_valid_sir_file_name(&"a".repeat(256)));
        assert!(is_valid_sir_file_name(&"a".repeat(255)));
    }

    #[test]
    fn truncating_by_characters() {
        assert_eq!(truncate_chars("short", 10), "short");
        assert_eq!(truncate_chars("ééééé", 3), "éé…");
        assert_eq!(truncate_chars("abc", 0), "");
        assert_eq!(truncate_chars("abcd", 4), "abcd");
    }
}
