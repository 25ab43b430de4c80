//! The bot token, kept out of logs.

use std::fmt;

/// A Slack bot token (`xoxb-...`).
///
/// `Debug` prints `BotToken(<redacted>)` and there is no `Display`, so a token cannot end up
/// in a log line by accident; [`BotToken::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(String);

impl BotToken {
    /// Wraps a token (surrounding whitespace removed: SSM values are often pasted).
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into().trim().to_owned())
    }

    /// The token, for an `Authorization` header. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the token is empty (an unset parameter).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BotToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let token = BotToken::new(" xoxb-1-2-secret \n");
        assert_eq!(format!("{token:?}"), "BotToken(<redacted>)");
        assert_eq!(token.expose(), "xoxb-1-2-secret");
        assert!(!token.is_empty());
        assert!(BotToken::new("  ").is_empty());
    }
}
