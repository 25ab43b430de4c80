//! `/security-ir help`, an empty command, and anything that does not parse: the usage text with
//! an example for every subcommand.

use sirslack_domain::CommandError;
use sirslack_domain::command::USAGE;
use slack_morphism::prelude::SlackMessageContent;

/// The usage text.
pub fn reply() -> SlackMessageContent {
    SlackMessageContent::new().with_text(USAGE.to_owned())
}

/// What a command line that does not parse gets: the reason, with the usage when the
/// subcommand itself is unknown.
pub fn parse_error_reply(error: &CommandError) -> SlackMessageContent {
    let mut text = error.to_string();
    if error.should_show_usage() {
        text.push_str("\n\n");
        text.push_str(USAGE);
    }
    SlackMessageContent::new().with_text(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sirslack_domain::Command;

    #[test]
    fn unknown_subcommands_get_the_usage() {
        let error = Command::parse("resolve").unwrap_err();
        let text = parse_error_reply(&error).text.unwrap();
        assert!(
            text.starts_with("`resolve` is not a /security-ir command"),
            "{text}"
        );
        assert!(text.contains("_e.g._ `/security-ir update-status containment`"));
        let error = Command::parse("update-status resolved").unwrap_err();
        let text = parse_error_reply(&error).text.unwrap();
        assert!(!text.contains("_e.g._"), "{text}");
        assert!(text.contains("You can set"), "{text}");
        assert_eq!(reply().text.unwrap(), USAGE);
    }
}
