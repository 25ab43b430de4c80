//! `/security-ir summarize` (alias `incident-details`): a digest of the case for the person
//! who asked: its fields, watchers, how many comments and attachments it has, the last few
//! comments, and a timeline of its edit log (ListCaseEdits: who changed what, when), within
//! Slack's limits (3,000 characters per section, 50 blocks).

use sirslack_domain::limits::{SLACK_BLOCKS_MAX, SLACK_SECTION_TEXT_MAX, truncate_chars};
use sirslack_domain::{Case, author_display};
use sirslack_mapper::markup::escape_for_slack;
use sirslack_mapper::slack::ConsoleLinks;
use slack_morphism::prelude::SlackMessageContent;

use super::{context, fields_section, quoted, section, single_line, slack_date};
use crate::sir::{CaseEdit, CommentDigest};

/// Comments shown (the latest ones).
pub const LAST_COMMENTS: usize = 5;
/// Characters of each comment shown.
const COMMENT_EXCERPT_MAX: usize = 400;
/// Timeline entries shown (the latest ones).
pub const TIMELINE_ENTRIES: usize = 15;
/// Watchers named before "and N more".
const WATCHERS_NAMED: usize = 20;
/// Characters of the description shown.
const DESCRIPTION_EXCERPT_MAX: usize = 1_200;

/// The digest.
pub fn reply(
    case: &Case,
    comments: &CommentDigest,
    edits: &[CaseEdit],
    links: &ConsoleLinks,
) -> SlackMessageContent {
    let title = escape_for_slack(&single_line(&case.title));
    let mut blocks = vec![
        section(&format!("*Summary of case {}: {title}*", case.id)),
        fields_section(&case_fields(case, comments.total)),
        section(&format!(
            "*Description*\n{}",
            quoted(&case.description, DESCRIPTION_EXCERPT_MAX)
        )),
    ];
    if let Some(impact) = impact_fields(case) {
        blocks.push(fields_section(&impact));
    }
    blocks.push(section(&watchers_text(case)));
    blocks.push(section(&format!(
        "*Last comments* ({} of {})",
        comments.comments.len().min(LAST_COMMENTS),
        comments.total
    )));
    if comments.comments.is_empty() {
        blocks.push(context("No comments yet."));
    }
    let skip = comments.comments.len().saturating_sub(LAST_COMMENTS);
    for comment in &comments.comments[skip..] {
        blocks.push(section(&format!(
            "*{}* · {}\n{}",
            escape_for_slack(&author_display(&comment.creator)),
            slack_date(comment.created_at),
            quoted(&comment.body, COMMENT_EXCERPT_MAX)
        )));
    }
    blocks.push(section(&timeline_text(edits)));
    blocks.push(section(&format!(
        "<{}|Open case {} in the AWS console>",
        links.case_url(&case.id),
        case.id
    )));
    blocks.truncate(SLACK_BLOCKS_MAX);
    SlackMessageContent::new()
        .with_text(format!(
            "Summary of case {}: {title} ({})",
            case.id,
            escape_for_slack(case.status.as_str())
        ))
        .with_blocks(blocks)
}

fn case_fields(case: &Case, comment_count: usize) -> Vec<String> {
    let mut fields = vec![
        format!("*Status*\n{}", escape_for_slack(case.status.as_str())),
        format!(
            "*Engagement type*\n{}",
            escape_for_slack(case.engagement_type.as_str())
        ),
        format!("*Resolver*\n{}", escape_for_slack(case.resolver.as_str())),
    ];
    if let Some(severity) = &case.severity {
        fields.push(format!(
            "*Severity*\n{}",
            escape_for_slack(&truncate_chars(&single_line(severity), 200))
        ));
    }
    if let Some(action) = &case.pending_action {
        fields.push(format!(
            "*Pending action*\n{}",
            escape_for_slack(action.as_str())
        ));
    }
    if let Some(created) = case.created_at {
        fields.push(format!("*Created*\n{}", slack_date(created)));
    }
    if let Some(updated) = case.updated_at {
        fields.push(format!("*Last updated*\n{}", slack_date(updated)));
    }
    fields.push(format!("*Comments*\n{comment_count}"));
    fields.push(format!("*Attachments*\n{}", case.attachments.len()));
    if let Some(closed) = case.closed_at {
        fields.push(format!("*Closed*\n{}", slack_date(closed)));
    }
    fields
}

fn impact_fields(case: &Case) -> Option<Vec<String>> {
    let list = |label: &str, values: &[String]| {
        (!values.is_empty()).then(|| {
            format!(
                "*{label}*\n{}",
                escape_for_slack(&truncate_chars(&values.join(", "), 1_900))
            )
        })
    };
    let ips: Vec<String> = case
        .threat_actor_ips
        .iter()
        .map(|ip| ip.ip_address.clone())
        .collect();
    let fields: Vec<String> = [
        list("Impacted accounts", &case.impacted_accounts),
        list("Impacted regions", &case.impacted_regions),
        list("Impacted services", &case.impacted_services),
        list("Threat actor IPs", &ips),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!fields.is_empty()).then_some(fields)
}

fn watchers_text(case: &Case) -> String {
    let mut text = format!("*Watchers* ({})", case.watchers.len());
    for watcher in case.watchers.iter().take(WATCHERS_NAMED) {
        let line = match watcher
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            Some(name) => format!("{name} ({})", watcher.email),
            None => watcher.email.clone(),
        };
        text.push_str("\n• ");
        text.push_str(&escape_for_slack(&single_line(&line)));
    }
    if case.watchers.len() > WATCHERS_NAMED {
        text.push_str(&format!(
            "\n…and {} more",
            case.watchers.len() - WATCHERS_NAMED
        ));
    }
    text
}

/// `*Timeline*` with the latest edits, one line each, cut to fit one section.
fn timeline_text(edits: &[CaseEdit]) -> String {
    let shown = edits.len().min(TIMELINE_ENTRIES);
    let mut text = format!("*Timeline* (last {shown} of {} changes)", edits.len());
    if edits.is_empty() {
        text.push_str("\n_No changes recorded._");
        return text;
    }
    let lines: Vec<String> = edits[edits.len() - shown..]
        .iter()
        .map(|edit| {
            let when = edit
                .at
                .map_or_else(|| "unknown time".to_owned(), slack_date);
            let what = if edit.message.is_empty() {
                edit.action.as_str()
            } else {
                edit.message.as_str()
            };
            format!(
                "• {when} · {}: {}",
                escape_for_slack(&author_display(&edit.principal)),
                escape_for_slack(&truncate_chars(&single_line(what), 300))
            )
        })
        .collect();
    // Keep the newest lines when they do not all fit.
    let room = SLACK_SECTION_TEXT_MAX - text.chars().count() - 1;
    let mut kept: Vec<&String> = Vec::new();
    let mut used = 0;
    for line in lines.iter().rev() {
        let width = line.chars().count() + 1;
        if used + width > room {
            break;
        }
        used += width;
        kept.push(line);
    }
    for line in kept.into_iter().rev() {
        text.push('\n');
        text.push_str(line);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::case;
    use chrono::{DateTime, Utc};
    use sirslack_domain::{CaseStatus, Comment, CommentId, Watcher};

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_268_800 + seconds, 0).unwrap()
    }

    fn comment(n: i64, body: &str) -> Comment {
        Comment {
            id: CommentId::new(&format!("{:06}", n)).unwrap(),
            body: body.to_owned(),
            creator: "AWS Responder".to_owned(),
            created_at: at(n),
            updated_at: None,
            updated_by: None,
        }
    }

    fn edit(n: i64, message: &str) -> CaseEdit {
        CaseEdit {
            at: Some(at(n)),
            principal: "arn:aws:sts::111122223333:assumed-role/sirslack-integration/sirslack"
                .to_owned(),
            action: "UpdateCaseStatus".to_owned(),
            message: message.to_owned(),
        }
    }

    #[test]
    fn digest_has_fields_counts_last_comments_and_timeline() {
        let mut case = case(CaseStatus::DetectionAndAnalysis);
        case.watchers = vec![Watcher::new("sec@example.com")];
        case.impacted_accounts = vec!["111122223333".into()];
        let comments = CommentDigest {
            total: 7,
            comments: (1..=7)
                .map(|n| comment(n, &format!("note {n} <b>")))
                .collect(),
        };
        let edits: Vec<CaseEdit> = (1..=3).map(|n| edit(n, &format!("change {n}"))).collect();
        let links = ConsoleLinks::new("us-east-1").unwrap();
        let content = reply(&case, &comments, &edits, &links);
        let json = serde_json::to_string(&content).unwrap();
        for expected in [
            "Summary of case 1234567890: Compromised key",
            "*Comments*\\n7",
            "*Attachments*\\n0",
            "*Watchers* (1)",
            "sec@example.com",
            "*Last comments* (5 of 7)",
            "note 7 &lt;b&gt;",
            "*Timeline* (last 3 of 3 changes)",
            "change 3",
            "sirslack via sirslack-integration (111122223333)",
            "111122223333",
        ] {
            assert!(json.contains(expected), "{expected} missing from {json}");
        }
        assert!(!json.contains("note 2 "), "older comments are left out");
    }

    #[test]
    fn long_cases_fit_slacks_limits() {
        let mut case = case(CaseStatus::DetectionAndAnalysis);
        case.description = "d".repeat(8_000);
        case.watchers = (0..200)
            .map(|n| Watcher::new(format!("person{n}@example.com")))
            .collect();
        let comments = CommentDigest {
            total: 500,
            comments: (1..=500).map(|n| comment(n, &"x".repeat(12_000))).collect(),
        };
        let edits: Vec<CaseEdit> = (1..=500).map(|n| edit(n, &"y".repeat(1_000))).collect();
        let links = ConsoleLinks::new("us-east-1").unwrap();
        let json = serde_json::to_value(reply(&case, &comments, &edits, &links)).unwrap();
        let blocks = json["blocks"].as_array().unwrap();
        assert!(blocks.len() <= SLACK_BLOCKS_MAX);
        for block in blocks {
            if let Some(text) = block["text"]["text"].as_str() {
                assert!(
                    text.chars().count() <= SLACK_SECTION_TEXT_MAX,
                    "{}",
                    text.len()
                );
            }
        }
        let all = json.to_string();
        assert!(all.contains("…and 180 more"));
        assert!(all.contains("(last 15 of 500 changes)"));
    }

    #[test]
    fn empty_case_says_so() {
        let case = case(CaseStatus::Submitted);
        let links = ConsoleLinks::new("us-east-1").unwrap();
        let json =
            serde_json::to_string(&reply(&case, &CommentDigest::default(), &[], &links)).unwrap();
        assert!(json.contains("No comments yet."));
        assert!(json.contains("_No changes recorded._"));
    }
}
