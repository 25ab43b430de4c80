//! Limits of SIR, Slack and EventBridge that the integration must respect, and SIR file names.

/// Most characters in a SIR comment body (longer Slack messages are split, see
/// [`crate::marker::split_comment_body`]).
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
/// Most blocks in one Slack message.
pub const SLACK_BLOCKS_MAX: usize = 50;
/// Largest EventBridge event entry, in bytes (256 KiB).
pub const EVENT_DETAIL_MAX_BYTES: usize = 256 * 1024;

/// The name used when nothing usable is left of a file name.
const FALLBACK_FILE_NAME: &str = "file";

/// Whether SIR accepts `name` as an attachment file name: 1 to [`FILE_NAME_MAX`] characters of
/// `[a-zA-Z0-9._-]`.
pub fn is_valid_sir_file_name(name: &str) -> bool {
    (1..=FILE_NAME_MAX).contains(&name.len()) && name.bytes().all(is_sir_file_name_byte)
}

fn is_sir_file_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

/// Turns any file name (typically a Slack file's `name`) into one SIR accepts.
///
/// Every run of other characters becomes one `_`, names made only of dots or
/// nothing become `file`, and a name longer than [`FILE_NAME_MAX`] is cut in its stem so that
/// the extension survives. The result always passes [`is_valid_sir_file_name`].
pub fn sanitize_sir_file_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len().min(FILE_NAME_MAX));
    let mut replaced_last = false;
    for c in name.trim().chars() {
        if c.is_ascii() && is_sir_file_name_byte(c as u8) {
            out.push(c);
            replaced_last = false;
        } else if !replaced_last {
            // One `_` stands for a whole run of unusable characters (an emoji, "  (", ...).
            out.push('_');
            replaced_last = true;
        }
    }
    if out.bytes().all(|b| b == b'.') {
        return FALLBACK_FILE_NAME.to_owned();
    }
    if out.len() <= FILE_NAME_MAX {
        return out;
    }
    // ASCII only from here, so byte indices are character boundaries.
    match out.rfind('.') {
        Some(dot) if dot > 0 && out.len() - dot < FILE_NAME_MAX / 2 => {
            let extension = &out[dot..];
            let stem = &out[..FILE_NAME_MAX - extension.len()];
            format!("{stem}{extension}")
        }
        _ => out[..FILE_NAME_MAX].to_owned(),
    }
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
    fn sanitising_file_names() {
        assert_eq!(
            sanitize_sir_file_name("my report (1).pdf"),
            "my_report_1_.pdf"
        );
        assert_eq!(sanitize_sir_file_name("rapport-été.pdf"), "rapport-_t_.pdf");
        assert_eq!(sanitize_sir_file_name(""), "file");
        assert_eq!(sanitize_sir_file_name(".."), "file");
        assert_eq!(sanitize_sir_file_name("😀"), "_");
        assert_eq!(sanitize_sir_file_name("keep__this.txt"), "keep__this.txt");
        let long = format!("{}.tar.gz", "x".repeat(400));
        let cut = sanitize_sir_file_name(&long);
        assert_eq!(cut.len(), FILE_NAME_MAX);
        assert!(cut.ends_with(".gz"), "{cut}");
        assert!(is_valid_sir_file_name(&cut));
        let no_extension = sanitize_sir_file_name(&"y".repeat(300));
        assert_eq!(no_extension.len(), FILE_NAME_MAX);
    }

    #[test]
    fn truncating_by_characters() {
        assert_eq!(truncate_chars("short", 10), "short");
        assert_eq!(truncate_chars("ééééé", 3), "éé…");
        assert_eq!(truncate_chars("abc", 0), "");
        assert_eq!(truncate_chars("abcd", 4), "abcd");
    }
}
