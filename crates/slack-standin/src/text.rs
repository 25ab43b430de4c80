//! Text as Slack sends it to an app.
//!
//! Slack escapes `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;` in the `text` of messages,
//! slash commands and similar fields, and sends mentions and links as markup it generates
//! itself: `<@U123>`, `<#C123|general>`, `<!here>`, `<!subteam^S1|@team>`,
//! `<https://example.com|label>`, `<mailto:a@example.com|a@example.com>`.
//!
//! Everything in the stand-in that plays a person writing (seeded user messages and file
//! comments, the signer's message events and slash commands) takes the text *as the person
//! typed it* and sends it through [`escape_typed`]. A mention or link is written in the markup
//! Slack would generate for it (`"ask <@U0ALICE001> about a < b"`): that markup is kept, and
//! only the `&` inside it is escaped (Slack sends `<https://x?a=1&amp;b=2>`). Every other `&`,
//! `<` and `>` is escaped.

/// The text a person typed, as Slack delivers it to an app (see the module documentation).
pub fn escape_typed(typed: &str) -> String {
    let mut out = String::with_capacity(typed.len() + 16);
    let mut rest = typed;
    while let Some(open) = rest.find('<') {
        push_escaped(&mut out, &rest[..open]);
        let tail = &rest[open..];
        match markup_len(tail) {
            Some(len) => {
                // Markup keeps its delimiters; an `&` inside it is escaped.
                out.push('<');
                out.push_str(&tail[1..len - 1].replace('&', "&amp;"));
                out.push('>');
                rest = &tail[len..];
            }
            None => {
                out.push_str("&lt;");
                rest = &tail[1..];
            }
        }
    }
    push_escaped(&mut out, rest);
    out
}

/// Escapes `&`, `<` and `>` everywhere, markup included: what Slack sends for text a person
/// typed literally (`<@U123>` typed as characters arrives as `&lt;@U123&gt;`).
pub fn escape_all(typed: &str) -> String {
    let mut out = String::with_capacity(typed.len() + 16);
    push_escaped(&mut out, typed);
    out
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            other => out.push(other),
        }
    }
}

/// The length in bytes of the Slack markup `text` starts with (`<` to `>` included), if it
/// starts with markup Slack generates.
fn markup_len(text: &str) -> Option<usize> {
    let close = text.find('>')?;
    let inner = &text[1..close];
    if inner.contains(['<', '\n']) {
        return None;
    }
    let target = inner.split_once('|').map_or(inner, |(target, _)| target);
    if target.is_empty() || target.contains(char::is_whitespace) {
        return None;
    }
    let id_after = |prefix: &str, kinds: &[char]| {
        target.strip_prefix(prefix).is_some_and(|id| {
            id.starts_with(kinds) && id.chars().all(|c| c.is_ascii_alphanumeric())
        })
    };
    let generated = id_after("@", &['U', 'W', 'B'])
        || id_after("#", &['C', 'G'])
        || target.strip_prefix('!').is_some_and(|special| {
            !special.is_empty()
                && special
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "^-_:.".contains(c))
        })
        || ["http://", "https://", "mailto:"]
            .iter()
            .any(|scheme| target.len() > scheme.len() && target.starts_with(scheme));
    generated.then_some(close + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_markup_is_kept() {
        assert_eq!(escape_typed("a < b & c > d"), "a &lt; b &amp; c &gt; d");
        assert_eq!(
            escape_typed("ask <@U0ALICE001> in <#C0123|general>, <!here>"),
            "ask <@U0ALICE001> in <#C0123|general>, <!here>"
        );
        assert_eq!(
            escape_typed("see <https://x.test/?a=1&b=2|docs & more>"),
            "see <https://x.test/?a=1&amp;b=2|docs &amp; more>"
        );
        assert_eq!(
            escape_typed("<not markup> <b>"),
            "&lt;not markup&gt; &lt;b&gt;"
        );
        assert_eq!(escape_typed("x <@U1 >"), "x &lt;@U1 &gt;");
        assert_eq!(escape_typed("1 < 2 <@U1>"), "1 &lt; 2 <@U1>");
        assert_eq!(escape_typed("unclosed <@U1"), "unclosed &lt;@U1");
        assert_eq!(escape_all("<@U1> &"), "&lt;@U1&gt; &amp;");
    }
}
