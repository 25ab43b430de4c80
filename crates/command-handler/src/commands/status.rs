//! `/security-ir status`: case ID, title, status, severity (if any), engagement type,
//! resolver, pending action, watchers count, last update and a console link, shown only to
//! the person who asked.

use sirslack_domain::Case;
use sirslack_mapper::slack::{ConsoleLinks, case_status_summary};
use slack_morphism::prelude::SlackMessageContent;

use super::context;

/// The status card: the mapper's summary with the number of watchers added.
pub fn reply(case: &Case, links: &ConsoleLinks) -> SlackMessageContent {
    let mut content = case_status_summary(case, links);
    let watchers = match case.watchers.len() {
        1 => "*Watchers:* 1 person is watching this case".to_owned(),
        count => format!("*Watchers:* {count} people are watching this case"),
    };
    let blocks = content.blocks.get_or_insert_with(Vec::new);
    // Before the console link, which stays last.
    let at = blocks.len().saturating_sub(1);
    blocks.insert(at, context(&watchers));
    content
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::case;
    use sirslack_domain::{CaseStatus, Watcher};

    #[test]
    fn status_card_counts_watchers_and_links_the_console() {
        let mut case = case(CaseStatus::DetectionAndAnalysis);
        case.watchers = vec![Watcher::new("a@example.com"), Watcher::new("b@example.com")];
        case.severity = Some("High".into());
        let links = ConsoleLinks::new("eu-west-1").unwrap();
        let json = serde_json::to_string(&reply(&case, &links)).unwrap();
        for expected in [
            "1234567890",
            "Compromised key",
            "Detection and Analysis",
            "High",
            "Security Incident",
            "2 people are watching",
            "https://eu-west-1.console.aws.amazon.com/security-ir/home?region=eu-west-1#/cases/1234567890",
        ] {
            assert!(json.contains(expected), "{expected} missing from {json}");
        }
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let blocks = value["blocks"].as_array().unwrap();
        assert!(
            blocks
                .last()
                .unwrap()
                .to_string()
                .contains("console.aws.amazon.com")
        );
    }
}
