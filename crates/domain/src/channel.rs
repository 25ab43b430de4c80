//! Slack channel names for cases: `<prefix>-<caseId>`, within Slack's naming rules.
//!
//! Slack channel names are lowercase, use only `a-z`, `0-9`, `-` and `_`, and have at most
//! [`CHANNEL_NAME_MAX`] characters. The case ID is never shortened: when the prefix and the ID
//! do not fit, the prefix is.

use crate::case::CaseId;
use crate::wire::preview;

/// The prefix users of the original integration know (configurable through SSM
/// `/SecurityIncidentResponse/slackChannelPrefix`).
pub const DEFAULT_CHANNEL_PREFIX: &str = "aws-security-incident-response-case";

/// Slack's maximum channel name length, in characters.
pub const CHANNEL_NAME_MAX: usize = 80;

/// How many names [`ChannelNamer::candidate`] offers for one case before giving up, so a
/// `name_taken` loop always ends.
pub const MAX_NAME_ATTEMPTS: u32 = 5;

/// Why a channel prefix cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelNameError {
    /// Nothing usable is left of the prefix once it follows Slack's rules.
    #[error(
        "channel prefix `{input}` has no letters, digits or underscores; Slack channel names need some"
    )]
    EmptyPrefix {
        /// A short preview of the configured prefix.
        input: String,
    },
}

/// Names the Slack channel of each case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelNamer {
    prefix: String,
}

impl ChannelNamer {
    /// A namer for `prefix`, brought into Slack's rules: lower-cased, every character other
    /// than `a-z0-9_-` becomes `-`, runs of `-` collapse to one, and leading and trailing `-`
    /// go. Fails when nothing is left.
    pub fn new(prefix: &str) -> Result<Self, ChannelNameError> {
        let sanitised = sanitise(prefix);
        if sanitised.is_empty() {
            Err(ChannelNameError::EmptyPrefix {
                input: preview(prefix),
            })
        } else {
            Ok(Self { prefix: sanitised })
        }
    }

    /// The prefix after sanitising (before any truncation for a long case ID).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The channel name for a case: `<prefix>-<caseId>`, at most [`CHANNEL_NAME_MAX`]
    /// characters. This is [`ChannelNamer::candidate`] with attempt 0.
    pub fn name_for(&self, case_id: &CaseId) -> String {
        self.compose(case_id, "")
    }

    /// The name to try on attempt `attempt` when earlier names were taken: attempt 0 is
    /// [`ChannelNamer::name_for`], attempts 1 to `MAX_NAME_ATTEMPTS - 1` append `-2`, `-3`, ...
    /// and anything later is `None`. Every name is valid and at most [`CHANNEL_NAME_MAX`]
    /// characters; the same inputs always give the same name.
    pub fn candidate(&self, case_id: &CaseId, attempt: u32) -> Option<String> {
        match attempt {
            0 => Some(self.name_for(case_id)),
            n if n < MAX_NAME_ATTEMPTS => Some(self.compose(case_id, &format!("-{}", n + 1))),
            _ => None,
        }
    }

    /// Every candidate for a case, in order (see [`ChannelNamer::candidate`]).
    pub fn candidates<'a>(&'a self, case_id: &'a CaseId) -> impl Iterator<Item = String> + 'a {
        (0..MAX_NAME_ATTEMPTS).filter_map(move |attempt| self.candidate(case_id, attempt))
    }

    fn compose(&self, case_id: &CaseId, suffix: &str) -> String {
        let id = case_id.as_str();
        // The prefix is ASCII after sanitising, so bytes are characters.
        let room = CHANNEL_NAME_MAX.saturating_sub(id.len() + 1 + suffix.len());
        let prefix = self.prefix[..room.min(self.prefix.len())].trim_end_matches('-');
        if prefix.is_empty() {
            // Unreachable with a 32-digit ID maximum, but keeps the name valid regardless.
            format!("{id}{suffix}")
        } else {
            format!("{prefix}-{id}{suffix}")
        }
    }
}

impl Default for ChannelNamer {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_CHANNEL_PREFIX.to_owned(),
        }
    }
}

fn sanitise(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        let c = match c {
            'a'..='z' | '0'..='9' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out.trim_matches('-').to_owned()
}

/// Whether `name` follows Slack's channel name rules: 1 to [`CHANNEL_NAME_MAX`] characters,
/// each one of `a-z`, `0-9`, `-` or `_`.
pub fn is_valid_channel_name(name: &str) -> bool {
    (1..=CHANNEL_NAME_MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(digits: &str) -> CaseId {
        CaseId::new(digits).unwrap()
    }

    #[test]
    fn default_name_matches_the_original_integration() {
        let name = ChannelNamer::default().name_for(&id("1234567890"));
        assert_eq!(name, "aws-security-incident-response-case-1234567890");
        assert!(is_valid_channel_name(&name));
    }

    #[test]
    fn prefix_is_sanitised() {
        let namer = ChannelNamer::new("  IR Cases!! (Prod)__x ").unwrap();
        assert_eq!(namer.prefix(), "ir-cases-prod-__x");
        assert_eq!(
            ChannelNamer::new("Ünïcode-Case").unwrap().prefix(),
            "n-code-case"
        );
        assert!(matches!(
            ChannelNamer::new("--- !!"),
            Err(ChannelNameError::EmptyPrefix { .. })
        ));
        assert!(ChannelNamer::new("").is_err());
    }

    #[test]
    fn long_prefix_is_cut_never_the_case_id() {
        let namer = ChannelNamer::new(&"abc-".repeat(40)).unwrap();
        let case = id(&"7".repeat(32));
        let name = namer.name_for(&case);
        assert_eq!(name.len(), CHANNEL_NAME_MAX);
        assert!(name.ends_with(&format!("-{}", "7".repeat(32))), "{name}");
        assert!(is_valid_channel_name(&name));
        assert!(!name.contains("--"), "{name}");

        let last = namer.candidate(&case, MAX_NAME_ATTEMPTS - 1).unwrap();
        assert!(last.len() <= CHANNEL_NAME_MAX);
        assert!(last.ends_with(&format!("{}-5", "7".repeat(32))), "{last}");
    }

    #[test]
    fn candidates_are_bounded_and_deterministic() {
        let namer = ChannelNamer::new("ir").unwrap();
        let case = id("1234567890");
        let all: Vec<String> = namer.candidates(&case).collect();
        assert_eq!(
            all,
            [
                "ir-1234567890",
                "ir-1234567890-2",
                "ir-1234567890-3",
                "ir-1234567890-4",
                "ir-1234567890-5"
            ]
        );
        assert_eq!(namer.candidate(&case, MAX_NAME_ATTEMPTS), None);
        assert_eq!(namer.candidate(&case, u32::MAX), None);
        assert_eq!(namer.candidate(&case, 2), namer.candidate(&case, 2));
    }

    #[test]
    fn channel_name_validity() {
        assert!(is_valid_channel_name("a"));
        assert!(is_valid_channel_name(&"a".repeat(80)));
        assert!(!is_valid_channel_name(&"a".repeat(81)));
        assert!(!is_valid_channel_name(""));
        assert!(!is_valid_channel_name("Upper"));
        assert!(!is_valid_channel_name("with space"));
        assert!(!is_valid_channel_name("dot.ted"));
    }
}
