//! Slack message markup to plain text (Slack -> SIR), and escaping of plain text for Slack
//! (SIR -> Slack).
//!
//! Slack sends message text with its control characters escaped (`&amp;`, `&lt;`, `&gt;`) and
//! every mention or link wrapped in `<...>`. A raw `<` in Slack text therefore always starts
//! markup, and a literal `<` typed by a person arrives as `&lt;`.

use sirslack_domain::{Command, CommandError};

/// Turns Slack message markup into text a person reads in SIR.
///
/// | Slack | Plain text |
/// |---|---|
/// | `<@U123>`, `<@U123\|jane>` | `@Jane Doe` (from `users`), else `@jane`, else `@U123` |
/// | `<#C123\|general>`, `<#C123>` | `#general`, `#C123` |
/// | `<!here>`, `<!channel>`, `<!everyone>` | `@here`, `@channel`, `@everyone` |
/// | `<!subteam^S1\|@team>` | `@team` (else `@S1`) |
/// | `<!date^...\|Feb 18th>` and other `<!...\|label>` | `Feb 18th` |
/// | `<https://x\|label>` | `label (https://x)` |
/// | `<https://x>`, `<https://x\|https://x>`, `<http://x.io\|x.io>` | `https://x`, `http://x.io` |
/// | `<mailto:a@b\|a@b>` | `a@b` |
/// | `&amp;` `&lt;` `&gt;` | `&` `<` `>` |
///
/// `users` resolves a user ID to a display name; call [`user_ids_mentioned`] first to look the
/// names up. Entities are decoded in one left-to-right pass, so `&amp;lt;` (a person typing
/// `&lt;`) stays `&lt;`. A `<` without a closing `>` is kept as text. Never panics.
pub fn slack_to_plain(text: &str, users: &impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    for token in tokens(text) {
        match token {
            Token::Text(literal) => push_unescaped(&mut out, literal),
            Token::Markup(inner) => push_markup(&mut out, inner, users),
        }
    }
    out
}

/// The `/security-ir` command in a slash command's `text` as Slack sends it: the markup is
/// converted and `&amp;`, `&lt;`, `&gt;` are unescaped once, by [`slack_to_plain`] (the same
/// conversion as a channel message copied to SIR), then the command is parsed. So
/// `update-title a &lt; b &amp; c` gives the title `a < b & c`. The events handler (to
/// acknowledge) and the command handler (to run) both read commands through this.
pub fn parse_slash_command(text: &str) -> Result<Command, CommandError> {
    Command::parse(&slack_to_plain(text, &|_: &str| None))
}

/// The user IDs mentioned in `text` (`<@U123>` or `<@U123|label>`), each once, in order of
/// first mention.
pub fn user_ids_mentioned(text: &str) -> Vec<&str> {
    let mut ids: Vec<&str> = Vec::new();
    for token in tokens(text) {
        if let Token::Markup(inner) = token
            && let Some(mention) = inner.strip_prefix('@')
        {
            let (id, _) = split_label(mention);
            if !id.is_empty() && !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// Escapes `&`, `<` and `>` so that text from SIR shows in Slack exactly as written and can
/// never ping (`<!channel>`), mention (`<@U123>`) or forge a link (`<https://evil|bank>`).
///
/// Slack only decodes these three entities; nothing else may be escaped.
pub fn escape_for_slack(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            other => out.push(other),
        }
    }
    out
}

/// How many characters [`escape_for_slack`] turns `c` into.
pub(crate) fn escaped_width(c: char) -> usize {
    match c {
        '&' => "&amp;".len(),
        '<' => "&lt;".len(),
        '>' => "&gt;".len(),
        _ => 1,
    }
}

enum Token<'a> {
    /// Text outside markup, still entity-escaped.
    Text(&'a str),
    /// What is between `<` and `>`, still entity-escaped.
    Markup(&'a str),
}

fn tokens(text: &str) -> impl Iterator<Item = Token<'_>> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(open) = rest.find('<') else {
            return Some(Token::Text(std::mem::take(&mut rest)));
        };
        if open > 0 {
            let (literal, tail) = rest.split_at(open);
            rest = tail;
            return Some(Token::Text(literal));
        }
        // `rest` starts with `<`; both delimiters are one byte wide.
        match rest[1..].find('>') {
            Some(close) => {
                let inner = &rest[1..=close];
                rest = &rest[close + 2..];
                Some(Token::Markup(inner))
            }
            None => Some(Token::Text(std::mem::take(&mut rest))),
        }
    })
}

/// `target|label` -> (`target`, `Some(label)`); the label is `None` when absent or empty.
fn split_label(inner: &str) -> (&str, Option<&str>) {
    match inner.split_once('|') {
        Some((target, label)) if !label.is_empty() => (target, Some(label)),
        Some((target, _)) => (target, None),
        None => (inner, None),
    }
}

fn push_markup(out: &mut String, inner: &str, users: &impl Fn(&str) -> Option<String>) {
    let (target, label) = split_label(inner);
    if let Some(user_id) = target.strip_prefix('@') {
        out.push('@');
        match users(user_id).filter(|name| !name.trim().is_empty()) {
            Some(name) => out.push_str(name.trim().trim_start_matches('@')),
            None => match label {
                Some(label) => push_unescaped(out, label.trim_start_matches('@')),
                None => push_unescaped(out, user_id),
            },
        }
    } else if let Some(channel_id) = target.strip_prefix('#') {
        out.push('#');
        push_unescaped(out, label.unwrap_or(channel_id).trim_start_matches('#'));
    } else if let Some(special) = target.strip_prefix('!') {
        push_special(out, special, label);
    } else if target.is_empty() && label.is_none() {
        // `<>` or `<|>` is not markup Slack produces; keep it as it came.
        out.push('<');
        push_unescaped(out, inner);
        out.push('>');
    } else {
        push_link(out, target, label);
    }
}

/// `<!here>`, `<!subteam^S1|@team>`, `<!date^...|fallback>` and the like.
fn push_special(out: &mut String, special: &str, label: Option<&str>) {
    let keyword = special.split('^').next().unwrap_or(special);
    match keyword {
        "here" | "channel" | "everyone" => {
            out.push('@');
            out.push_str(keyword);
        }
        "subteam" => {
            out.push('@');
            match label {
                Some(label) => push_unescaped(out, label.trim_start_matches('@')),
                None => push_unescaped(out, special.split('^').nth(1).unwrap_or(keyword)),
            }
        }
        _ => match label {
            Some(label) => push_unescaped(out, label),
            None => {
                out.push('@');
                push_unescaped(out, keyword);
            }
        },
    }
}

fn push_link(out: &mut String, url: &str, label: Option<&str>) {
    if let Some(address) = url.strip_prefix("mailto:") {
        push_unescaped(out, address);
        return;
    }
    match label {
        Some(label) if !label_repeats_url(url, label) => {
            push_unescaped(out, label);
            out.push_str(" (");
            push_unescaped(out, url);
            out.push(')');
        }
        _ => push_unescaped(out, url),
    }
}

/// Slack's own auto-links carry the URL (or the URL without its scheme) as the label; showing
/// it twice would only add noise.
fn label_repeats_url(url: &str, label: &str) -> bool {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    label == url || label == without_scheme || label.trim_end_matches('/') == without_scheme
}

/// Appends `escaped` with `&amp;`, `&lt;` and `&gt;` decoded in a single pass.
fn push_unescaped(out: &mut String, escaped: &str) {
    let mut rest = escaped;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let (decoded, consumed) = if tail.starts_with("&amp;") {
            ('&', "&amp;".len())
        } else if tail.starts_with("&lt;") {
            ('<', "&lt;".len())
        } else if tail.starts_with("&gt;") {
            ('>', "&gt;".len())
        } else {
            ('&', 1)
        };
        out.push(decoded);
        rest = &tail[consumed..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_command_text_is_unescaped_once_before_parsing() {
        assert_eq!(
            parse_slash_command("update-title a &lt; b &amp; c"),
            Ok(Command::UpdateTitle {
                title: "a < b & c".to_owned()
            })
        );
        assert_eq!(
            parse_slash_command("update-description x &gt; y &amp;lt; z"),
            Ok(Command::UpdateDescription {
                description: "x > y &lt; z".to_owned()
            })
        );
        assert_eq!(
            parse_slash_command("update-title ask <@U123|jane>"),
            Ok(Command::UpdateTitle {
                title: "ask @jane".to_owned()
            })
        );
    }

    fn no_users(_: &str) -> Option<String> {
        None
    }

    fn plain(text: &str) -> String {
        slack_to_plain(text, &no_users)
    }

    #[test]
    fn user_mentions_use_the_resolver_then_the_label_then_the_id() {
        let users = |id: &str| (id == "U1").then(|| "Jane Doe".to_owned());
        assert_eq!(slack_to_plain("hi <@U1>!", &users), "hi @Jane Doe!");
        assert_eq!(slack_to_plain("<@U1|jane>", &users), "@Jane Doe");
        assert_eq!(slack_to_plain("<@U2|bob>", &users), "@bob");
        assert_eq!(slack_to_plain("<@U2>", &users), "@U2");
        let blank = |_: &str| Some("  ".to_owned());
        assert_eq!(slack_to_plain("<@U3|carol>", &blank), "@carol");
    }

    #[test]
    fn channels_and_broadcasts() {
        assert_eq!(plain("see <#C123|general>"), "see #general");
        assert_eq!(plain("<#C123>"), "#C123");
        assert_eq!(
            plain("<!here> <!channel> <!everyone>"),
            "@here @channel @everyone"
        );
        assert_eq!(plain("<!here|@here>"), "@here");
        assert_eq!(plain("<!subteam^S1|@oncall>"), "@oncall");
        assert_eq!(plain("<!subteam^S1>"), "@S1");
        assert_eq!(
            plain("<!date^1392734382^{date_num}|2014-02-18 6:39 AM>"),
            "2014-02-18 6:39 AM"
        );
        assert_eq!(plain("<!something>"), "@something");
    }

    #[test]
    fn links() {
        assert_eq!(
            plain("<https://example.com/a?b=1&amp;c=2|the report>"),
            "the report (https://example.com/a?b=1&c=2)"
        );
        assert_eq!(plain("<https://example.com>"), "https://example.com");
        assert_eq!(
            plain("<https://example.com|https://example.com>"),
            "https://example.com"
        );
        assert_eq!(
            plain("<http://example.com|example.com>"),
            "http://example.com"
        );
        assert_eq!(plain("<mailto:a@b.io|a@b.io>"), "a@b.io");
        assert_eq!(plain("<mailto:a@b.io>"), "a@b.io");
    }

    #[test]
    fn entities_are_decoded_once() {
        assert_eq!(plain("a &amp; b &lt;c&gt;"), "a & b <c>");
        assert_eq!(plain("&amp;lt; stays"), "&lt; stays");
        assert_eq!(plain("&amp;amp;"), "&amp;");
        assert_eq!(plain("AT&T & &nbsp;"), "AT&T & &nbsp;");
        assert_eq!(plain("trailing &"), "trailing &");
    }

    #[test]
    fn broken_markup_is_kept_as_text() {
        assert_eq!(plain("a < b"), "a < b");
        assert_eq!(plain("<@U1"), "<@U1");
        assert_eq!(plain("<>"), "<>");
        assert_eq!(plain(""), "");
        assert_eq!(plain("é<@Ü|ß>ü"), "é@ßü");
    }

    #[test]
    fn mentioned_user_ids_are_distinct_and_ordered() {
        assert_eq!(
            user_ids_mentioned("<@U2> and <@U1|jane>, again <@U2|bob> <#C1> <!here>"),
            ["U2", "U1"]
        );
        assert!(user_ids_mentioned("no mentions @U1").is_empty());
        assert!(user_ids_mentioned("<@>").is_empty());
    }

    #[test]
    fn escaping_neutralises_slack_control_characters() {
        assert_eq!(
            escape_for_slack("<!channel> & <https://evil|bank>"),
            "&lt;!channel&gt; &amp; &lt;https://evil|bank&gt;"
        );
        assert_eq!(escape_for_slack("plain"), "plain");
        // Escaping then reading back as Slack text gives the original.
        let original = "a <b> & c &amp; <@U1>";
        assert_eq!(plain(&escape_for_slack(original)), original);
    }

    #[test]
    fn escaped_width_matches_escape() {
        for c in ['&', '<', '>', 'a', 'é'] {
            assert_eq!(
                escape_for_slack(&c.to_string()).chars().count(),
                escaped_width(c)
            );
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        fn resolver(id: &str) -> Option<String> {
            id.len().is_multiple_of(2).then(|| format!("name of {id}"))
        }

        proptest! {
            #[test]
            fn never_panics_on_any_text(text in any::<String>()) {
                let _ = slack_to_plain(&text, &resolver);
                let _ = user_ids_mentioned(&text);
            }

            #[test]
            fn never_panics_on_markup_soup(text in "[<>@#!|&;:/^a-zU0-9 \n.é]{0,80}") {
                let plain = slack_to_plain(&text, &resolver);
                for id in user_ids_mentioned(&text) {
                    prop_assert!(text.contains(id));
                }
                // Decoding never adds text out of nothing: bounded growth from labels and names.
                prop_assert!(plain.len() <= text.len() * 16 + 16);
            }

            #[test]
            fn escaping_round_trips(text in any::<String>()) {
                let escaped = escape_for_slack(&text);
                prop_assert!(!escaped.contains('<') && !escaped.contains('>'));
                prop_assert_eq!(slack_to_plain(&escaped, &resolver), text);
            }
        }
    }
}
