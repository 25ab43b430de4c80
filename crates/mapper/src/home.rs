//! The App Home tab (`views.publish`): the open cases whose channel the person is in.
//!
//! Pure: the events handler gathers [`HomeCase`]s (from Slack's `users.conversations` for the
//! person and the table) and publishes what [`home_view`] builds. Everything from SIR is escaped
//! ([`escape_for_slack`]), so a case title can never ping, mention or forge a link.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sirslack_domain::{CaseId, CaseStatus};

use crate::markup::escape_for_slack;
use crate::slack::ConsoleLinks;

/// Most cases listed; the rest are counted.
pub const HOME_MAX_CASES: usize = 50;
/// Longest title shown (characters, before escaping).
const TITLE_MAX_CHARS: usize = 150;

/// One case as the Home tab shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeCase {
    /// The case.
    pub case_id: CaseId,
    /// Its Slack channel (the person is a member).
    pub channel_id: String,
    /// The title, when the integration has synced the case.
    pub title: Option<String>,
    /// The status last synced.
    pub status: Option<CaseStatus>,
    /// SIR's `lastUpdatedDate` last synced.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Orders cases newest activity first (cases without a date last, then by ID), keeps the first
/// [`HOME_MAX_CASES`] and returns them with the count of the others.
pub fn newest_first(mut cases: Vec<HomeCase>) -> (Vec<HomeCase>, usize) {
    cases.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then_with(|| a.case_id.as_str().cmp(b.case_id.as_str()))
    });
    let rest = cases.len().saturating_sub(HOME_MAX_CASES);
    cases.truncate(HOME_MAX_CASES);
    (cases, rest)
}

/// The Home view: a header, the cases (at most [`HOME_MAX_CASES`], `rest` more counted), then
/// what the person can do and how one-time codes are enrolled. At most 100 blocks (Slack's
/// limit): one per case plus at most 7.
pub fn home_view(cases: &[HomeCase], rest: usize, links: Option<&ConsoleLinks>) -> Value {
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": "Your security incident cases"}}),
    ];
    let intro = match (cases.len(), rest) {
        (0, _) => "You are not in the channel of any open AWS Security Incident Response case. \
                   A case shows here once you are a member of its channel."
            .to_owned(),
        (1, 0) => "The open case whose channel you are in:".to_owned(),
        (shown, 0) => {
            format!("The {shown} open cases whose channel you are in, newest activity first:")
        }
        (shown, rest) => format!(
            "The {shown} open cases with the newest activity whose channel you are in \
             ({} in all; {rest} more not shown):",
            shown + rest
        ),
    };
    blocks.push(section(&intro));
    blocks.push(json!({"type": "divider"}));
    for case in cases {
        blocks.push(case_section(case, links));
    }
    if !cases.is_empty() {
        blocks.push(json!({"type": "divider"}));
    }
    blocks.push(section(
        "*What you can do*\nIn a case channel you are a member of, run `/security-ir help` for the \
         subcommands: `status` and `summarize` read the case; `update-status`, `update-title`, \
         `update-description` and `close` change it. Your administrators' command policy decides \
         which of them you may run; a refused command tells you why.",
    ));
    blocks.push(section(
        "*One-time codes*\n`close` and `update-status` ask for a six-digit code from your \
         authenticator app once you are enrolled (or from everyone, when the policy requires \
         it). Your integration administrators enrol you: see _Enrolling a person_ in the \
         integration's docs/commands.md.",
    ));
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "Refreshed each time you open this tab, from what the integration last synced (every 5 minutes at most)."}],
    }));
    json!({"type": "home", "blocks": blocks})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

fn case_section(case: &HomeCase, links: Option<&ConsoleLinks>) -> Value {
    let title = case.title.as_deref().map_or_else(
        || "_(not synced yet)_".to_owned(),
        |title| format!("*{}*", escape_for_slack(&truncated(title, TITLE_MAX_CHARS))),
    );
    let status = case
        .status
        .as_ref()
        .map_or("unknown", |status| status.as_str());
    let updated = case.updated_at.map_or_else(
        || "unknown".to_owned(),
        |at| {
            format!(
                "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
                at.timestamp(),
                at.format("%Y-%m-%d %H:%M UTC")
            )
        },
    );
    let console = links.map_or_else(String::new, |links| {
        format!(
            " · <{}|Open in the AWS console>",
            links.case_url(&case.case_id)
        )
    });
    let text = format!(
        "Case {id} · {title}\nStatus: {status} · Last update: {updated}\n<#{channel}>{console}",
        id = case.case_id,
        channel = case.channel_id,
    );
    section(&text)
}

fn truncated(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn case(id: &str, minute: Option<u32>) -> HomeCase {
        HomeCase {
            case_id: CaseId::new(id).expect("case ID"),
            channel_id: format!("C{id}"),
            title: Some(format!("Case <{id}> & co")),
            status: Some(CaseStatus::Submitted),
            updated_at: minute.map(|m| Utc.with_ymd_and_hms(2026, 12, 6, 10, m, 0).unwrap()),
        }
    }

    fn links() -> ConsoleLinks {
        ConsoleLinks::new("us-east-1").expect("region")
    }

    #[test]
    fn cases_are_ordered_newest_first_and_cut_at_fifty() {
        let mut cases: Vec<HomeCase> = (0..55)
            .map(|i| case(&format!("{:010}", 1_000 + i), Some(i % 60)))
            .collect();
        cases.push(case("0000000999", None));
        let (shown, rest) = newest_first(cases);
        assert_eq!(shown.len(), HOME_MAX_CASES);
        assert_eq!(rest, 6);
        assert_eq!(shown[0].case_id.as_str(), "0000001054");
        assert!(shown.windows(2).all(|w| w[0].updated_at >= w[1].updated_at));
        let view = home_view(&shown, rest, Some(&links()));
        let blocks = view["blocks"].as_array().expect("blocks");
        assert!(blocks.len() <= 100, "{}", blocks.len());
        assert!(view.to_string().contains("(56 in all; 6 more not shown)"));
    }

    #[test]
    fn a_case_shows_id_title_status_update_channel_and_console_link_escaped() {
        let view = home_view(&[case("0000001234", Some(5))], 0, Some(&links()));
        assert_eq!(view["type"], json!("home"));
        let text = view["blocks"][3]["text"]["text"]
            .as_str()
            .expect("case text");
        assert!(text.contains("Case 0000001234"), "{text}");
        assert!(
            text.contains("*Case &lt;0000001234&gt; &amp; co*"),
            "{text}"
        );
        assert!(text.contains("Status: Submitted"), "{text}");
        assert!(text.contains("<!date^1796551500^"), "{text}");
        assert!(text.contains("<#C0000001234>"), "{text}");
        assert!(text.contains(
            "<https://us-east-1.console.aws.amazon.com/security-ir/home?region=us-east-1#/cases/0000001234|Open in the AWS console>"
        ), "{text}");
    }

    #[test]
    fn nobody_in_a_case_channel_is_told_so() {
        let view = home_view(&[], 0, None);
        let shown = view.to_string();
        assert!(shown.contains("not in the channel of any open"), "{shown}");
        assert!(!shown.contains("Case 0"), "{shown}");
    }
}
