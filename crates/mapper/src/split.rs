//! Splitting long text into parts that fit a service limit.
//!
//! Limits are counted in characters (Unicode scalar values), as SIR and Slack count them, never
//! in bytes. Parts break at the last paragraph break that fits, else the last line break, else
//! the last whitespace (ignoring breaks so early that the part would be tiny), and only when a
//! part has no whitespace at all is it cut mid-word.

use sirslack_domain::limits::{COMMENT_BODY_MAX, SLACK_MESSAGE_TEXT_MAX, SLACK_SECTION_TEXT_MAX};

use crate::markup::{escape_for_slack, escaped_width};

/// Splits `text` into parts of at most `max_chars` characters each.
///
/// - The parts, in order, are `text` with only the whitespace at each split point removed (a
///   whole whitespace run, trailing the part before and leading the part after).
/// - No part is empty; an empty `text` gives no parts.
/// - `max_chars == 0` is treated as 1.
pub fn split_text(text: &str, max_chars: usize) -> Vec<String> {
    split_by_width(text, max_chars.max(1), |_| 1)
}

/// Splits `text` like [`split_text`], then escapes every part with
/// [`escape_for_slack`], so that each *escaped* part has at most `max_chars` characters and
/// no entity (`&amp;`) is ever cut in two.
///
/// With `max_chars` below 5 a part holding a single `&` may still exceed it.
pub fn split_escaped_for_slack(text: &str, max_chars: usize) -> Vec<String> {
    split_by_width(text, max_chars.max(1), escaped_width)
        .iter()
        .map(|part| escape_for_slack(part))
        .collect()
}

/// Splits SIR-originated `text` for Slack section blocks (at most
/// [`SLACK_SECTION_TEXT_MAX`] characters each, after escaping).
pub fn split_for_slack_section(text: &str) -> Vec<String> {
    split_escaped_for_slack(text, SLACK_SECTION_TEXT_MAX)
}

/// Splits SIR-originated `text` for the `text` of Slack messages (at most
/// [`SLACK_MESSAGE_TEXT_MAX`] characters each, after escaping).
pub fn split_for_slack_message(text: &str) -> Vec<String> {
    split_escaped_for_slack(text, SLACK_MESSAGE_TEXT_MAX)
}

/// Splits a comment for SIR: every part is at most [`COMMENT_BODY_MAX`] characters, starts
/// with `prefix` (such as `[Slack Update] Jane Doe (@jane): `, so that every part carries the
/// loop marker and the author) and, when there is more than one part, continues with a
/// `(part i/n) ` tag.
///
/// A `prefix` longer than a quarter of the limit is cut (with `…`) so that text always fits.
/// There is always at least one part, even for empty `text`.
pub fn split_sir_comment(prefix: &str, text: &str) -> Vec<String> {
    split_with_prefix(prefix, text, COMMENT_BODY_MAX)
}

fn split_with_prefix(prefix: &str, text: &str, max_chars: usize) -> Vec<String> {
    let prefix = sirslack_domain::limits::truncate_chars(prefix, max_chars / 4);
    let prefix_chars = prefix.chars().count();
    let text = text.trim();
    let whole_room = max_chars.saturating_sub(prefix_chars);
    if text.chars().count() <= whole_room {
        return vec![format!("{prefix}{text}")];
    }
    // The tag's width depends on the number of parts, which depends on the room the tag
    // leaves: grow the assumed digit count until the split agrees with it.
    let mut digits = 1;
    loop {
        let tag_chars = "(part / ) ".len() + 2 * digits;
        let room = whole_room.saturating_sub(tag_chars).max(1);
        let chunks = split_text(text, room);
        let total = chunks.len();
        if total.to_string().len() <= digits {
            return chunks
                .iter()
                .enumerate()
                .map(|(index, chunk)| format!("{prefix}(part {}/{total}) {chunk}", index + 1))
                .collect();
        }
        digits += 1;
    }
}

/// The core of every splitter: `width` says how many characters each `char` costs.
fn split_by_width(text: &str, max_width: usize, width: impl Fn(char) -> usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let Some(window_end) = overflow_index(rest, max_width, &width) else {
            parts.push(rest.to_owned());
            break;
        };
        let (cut, resume) = match best_break(rest, window_end) {
            Some(run) => (run.start, run.end),
            // No whitespace to break at: cut mid-word, always taking at least one character
            // so that the loop advances.
            None => {
                let first_char_end = rest.chars().next().map_or(rest.len(), char::len_utf8);
                let cut = window_end.max(first_char_end);
                (cut, cut)
            }
        };
        parts.push(rest[..cut].to_owned());
        rest = rest[resume..].trim_start();
    }
    parts
}

/// The byte index of the first character that no longer fits in `max_width`, or `None` when
/// all of `text` fits.
fn overflow_index(text: &str, max_width: usize, width: &impl Fn(char) -> usize) -> Option<usize> {
    let mut used = 0;
    for (index, c) in text.char_indices() {
        used += width(c);
        if used > max_width {
            return Some(index);
        }
    }
    None
}

/// A maximal run of whitespace, as byte offsets.
struct WhitespaceRun {
    start: usize,
    end: usize,
    newlines: usize,
}

/// The best whitespace run to split `text` at, such that the part before it ends at or before
/// `window_end` and is not empty. Among the runs in the last three quarters of the window, a
/// paragraph break beats a line break beats other whitespace; breaking earlier than that
/// would make needlessly small parts, so the first quarter only serves when the rest of the
/// window has no whitespace at all. The run may extend past `window_end` (it is dropped whole).
fn best_break(text: &str, window_end: usize) -> Option<WhitespaceRun> {
    // Index: 0 paragraph break, 1 line break, 2 other whitespace.
    let mut late: [Option<WhitespaceRun>; 3] = [None, None, None];
    let mut last_early = None;
    for run in whitespace_runs(text) {
        if run.start > window_end {
            break;
        }
        if run.start == 0 {
            continue;
        }
        if run.start * 4 < window_end {
            last_early = Some(run);
            continue;
        }
        let rank = match run.newlines {
            0 => 2,
            1 => 1,
            _ => 0,
        };
        late[rank] = Some(run);
    }
    late.into_iter().flatten().next().or(last_early)
}

fn whitespace_runs(text: &str) -> impl Iterator<Item = WhitespaceRun> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, first) = chars.find(|(_, c)| c.is_whitespace())?;
        let mut end = start + first.len_utf8();
        let mut newlines = usize::from(first == '\n');
        while let Some(&(index, c)) = chars.peek() {
            if !c.is_whitespace() {
                break;
            }
            newlines += usize::from(c == '\n');
            end = index + c.len_utf8();
            chars.next();
        }
        Some(WhitespaceRun {
            start,
            end,
            newlines,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(text: &str) -> usize {
        text.chars().count()
    }

    #[test]
    fn short_text_is_one_part() {
        assert_eq!(split_text("hello", 5), ["hello"]);
        assert_eq!(split_text(" hello \n", 100), [" hello \n"]);
        assert!(split_text("", 10).is_empty());
    }

    #[test]
    fn prefers_paragraphs_then_lines_then_spaces() {
        let text = "aaa bbb\nccc\n\nddd eee";
        assert_eq!(split_text(text, 15), ["aaa bbb\nccc", "ddd eee"]);
        assert_eq!(split_text(text, 10), ["aaa bbb", "ccc", "ddd eee"]);
        assert_eq!(split_text("aaa bbb ccc", 8), ["aaa bbb", "ccc"]);
        // A break right after the limit still counts.
        assert_eq!(split_text("aaaa bbbb", 4), ["aaaa", "bbbb"]);
    }

    #[test]
    fn paragraph_break_with_spaces_counts() {
        assert_eq!(split_text("one two\n  \n three", 12), ["one two", "three"]);
    }

    #[test]
    fn hard_splits_count_characters_not_bytes() {
        let text = "é".repeat(7);
        let parts = split_text(&text, 3);
        assert_eq!(parts, ["ééé", "ééé", "é"]);
        assert_eq!(split_text("😀😀", 1), ["😀", "😀"]);
    }

    #[test]
    fn zero_max_is_one() {
        assert_eq!(split_text("ab", 0), ["a", "b"]);
    }

    #[test]
    fn leading_whitespace_of_the_text_is_kept_when_it_is_no_split_point() {
        assert_eq!(split_text("   abcdef", 4), ["   a", "bcde", "f"]);
    }

    #[test]
    fn whitespace_only_text_never_yields_empty_parts() {
        let parts = split_text("      ", 2);
        assert_eq!(parts, ["  "]);
    }

    #[test]
    fn escaped_parts_fit_after_escaping_and_keep_entities_whole() {
        let text = "a&b&c&d&e";
        let parts = split_escaped_for_slack(text, 7);
        for part in &parts {
            assert!(chars(part) <= 7, "{part}");
        }
        assert_eq!(parts.concat(), escape_for_slack(text));
        assert_eq!(parts[0], "a&amp;b");
    }

    #[test]
    fn slack_section_parts_fit() {
        let text = "<b> & ".repeat(2_000);
        let parts = split_for_slack_section(&text);
        assert!(parts.len() > 1);
        for part in &parts {
            assert!(chars(part) <= SLACK_SECTION_TEXT_MAX);
            assert!(!part.contains('<'));
        }
        assert_eq!(split_for_slack_message("x").len(), 1);
    }

    #[test]
    fn sir_comment_that_fits_is_one_part_with_the_prefix() {
        let parts = split_sir_comment("[Slack Update] Jane (@jane): ", " hello ");
        assert_eq!(parts, ["[Slack Update] Jane (@jane): hello"]);
        assert_eq!(
            split_sir_comment("[Slack Update] Jane: ", ""),
            ["[Slack Update] Jane: "]
        );
    }

    #[test]
    fn long_sir_comments_are_tagged_and_fit() {
        let prefix = "[Slack Update] Jane Doe (@jane): ";
        let text = "word ".repeat(6_000);
        let parts = split_sir_comment(prefix, &text);
        assert_eq!(parts.len(), 3);
        for (index, part) in parts.iter().enumerate() {
            assert!(chars(part) <= COMMENT_BODY_MAX, "{}", chars(part));
            let tag = format!("{prefix}(part {}/3) word", index + 1);
            assert!(part.starts_with(&tag), "{}", &part[..60]);
            assert!(sirslack_domain::marker::is_integration_comment(part));
        }
        let words: usize = parts.iter().map(|p| p.matches("word").count()).sum();
        assert_eq!(words, 6_000);
    }

    #[test]
    fn tag_width_grows_with_the_part_count() {
        let parts = split_with_prefix("P: ", &"x".repeat(200), 20);
        // 20 - 3 (prefix) - 14 (two-digit tag) = 3 characters per part.
        assert!(parts.len() >= 10);
        for part in &parts {
            assert!(chars(part) <= 20, "{part}");
        }
        assert!(parts[0].starts_with("P: (part 1/"));
        let last = parts.last().unwrap();
        assert!(last.starts_with(&format!("P: (part {0}/{0}) ", parts.len())));
    }

    #[test]
    fn a_huge_prefix_is_cut() {
        let prefix = "p".repeat(COMMENT_BODY_MAX);
        let parts = split_sir_comment(&prefix, &"t ".repeat(COMMENT_BODY_MAX));
        for part in &parts {
            assert!(chars(part) <= COMMENT_BODY_MAX);
            assert!(part.contains('t'));
        }
    }

    mod properties {
        use proptest::prelude::*;
        use sirslack_domain::marker::{SlackAuthor, is_integration_comment, slack_message_comment};

        use super::super::*;
        use crate::markup::slack_to_plain;

        /// Checks that `parts` are `text` in order with only whitespace at split points
        /// removed: the first part starts the text, later parts follow after whitespace, and
        /// only whitespace follows the last.
        fn assert_reassembles(text: &str, parts: &[String]) -> Result<(), TestCaseError> {
            let mut rest = text;
            for (index, part) in parts.iter().enumerate() {
                prop_assert!(!part.is_empty());
                if index > 0 {
                    rest = rest.trim_start();
                }
                prop_assert!(
                    rest.starts_with(part.as_str()),
                    "{:?} not next in {:?}",
                    part,
                    rest
                );
                rest = &rest[part.len()..];
            }
            prop_assert!(rest.trim().is_empty(), "lost {:?}", rest);
            Ok(())
        }

        proptest! {
            #[test]
            fn parts_fit_and_reassemble(text in "[ab \n\t&<é😀]{0,200}", max in 0usize..40) {
                let parts = split_text(&text, max);
                for part in &parts {
                    prop_assert!(part.chars().count() <= max.max(1));
                }
                assert_reassembles(&text, &parts)?;
            }

            #[test]
            fn any_text_splits_without_panicking(text in any::<String>(), max in 0usize..10) {
                let parts = split_text(&text, max);
                prop_assert!(parts.iter().all(|part| part.chars().count() <= max.max(1)));
                assert_reassembles(&text, &parts)?;
            }

            #[test]
            fn escaped_parts_fit_and_decode(text in "[ab \n&<>é]{0,120}", max in 5usize..30) {
                let parts = split_escaped_for_slack(&text, max);
                let no_users = |_: &str| None;
                let decoded: Vec<String> =
                    parts.iter().map(|part| slack_to_plain(part, &no_users)).collect();
                for part in &parts {
                    prop_assert!(part.chars().count() <= max);
                }
                assert_reassembles(&text, &decoded)?;
            }

            #[test]
            fn sir_comment_parts_fit_and_keep_the_marker(
                text in "[a-z \n]{0,200}",
                repeat in 1usize..200,
            ) {
                let prefix = slack_message_comment(
                    &SlackAuthor {
                        user_id: "U0JANE",
                        real_name: Some("Jane"),
                        handle: None,
                    },
                    "",
                    false,
                );
                let parts = split_sir_comment(&prefix, &text.repeat(repeat));
                prop_assert!(!parts.is_empty());
                for part in &parts {
                    prop_assert!(part.chars().count() <= COMMENT_BODY_MAX);
                    prop_assert!(is_integration_comment(part), "{:?}", part);
                }
            }

            #[test]
            fn prefixed_parts_fit(text in "[ab \n]{0,300}", max in 28usize..60) {
                let parts = split_with_prefix("[P] x: ", &text, max);
                prop_assert!(!parts.is_empty());
                for part in &parts {
                    prop_assert!(part.chars().count() <= max, "{:?}", part);
                    prop_assert!(part.starts_with("[P] x: "));
                }
            }
        }
    }
}
