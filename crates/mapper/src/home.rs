//! The App Home tab (`views.publish`): the open cases whose channel the person is in, what the
//! command policy lets them run, and whether they are enrolled for one-time codes.
//!
//! Pure: the command handler gathers [`CaseInChannel`]s (from Slack's `users.conversations` for the
//! person and the table) and the person's [`HomeAccess`] (its policy evaluator and the
//! person's OTP parameter), and publishes what [`home_view`] builds. Everything from SIR is escaped
//! ([`escape_for_slack`]), so a case title can never ping, mention or forge a link.

use serde_json::{Value, json};
use sirslack_domain::CaseInChannel;

use crate::blocks::{context_json, plain_json, section_json, slack_date};
use crate::markup::escape_for_slack;
use crate::slack::ConsoleLinks;

/// The `action_id` of the Home tab's "Declare a security incident" button (opens the declare
/// modal).
pub const DECLARE_BUTTON_ACTION_ID: &str = "declare_open";

/// Most cases listed; the rest are counted.
pub const HOME_MAX_CASES: usize = 50;
/// Longest title shown (characters, before escaping).
const TITLE_MAX_CHARS: usize = 150;

/// One subcommand as the Home tab lists it for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeRight {
    /// The subcommand (`status`, `close`, ...).
    pub subcommand: &'static str,
    /// Allowed: whether a one-time code is asked for it. Refused: why, in a few words.
    pub detail: RightDetail,
}

/// Whether the person may run a subcommand, and on what terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RightDetail {
    /// Allowed; `code` when a one-time code is asked for it.
    Allowed {
        /// A one-time code is asked (the person is enrolled, or the policy asks everyone).
        code: bool,
    },
    /// Refused, with the reason the person reads.
    Refused(&'static str),
}

/// What the person may do, as far as it is known when the tab is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HomeAccess {
    /// The policy was read: each subcommand's right, and the person's enrolment.
    Known {
        /// One entry per subcommand, in the order of `/security-ir help`.
        rights: Vec<HomeRight>,
        /// A one-time-code secret is stored for the person.
        enrolled: bool,
        /// The policy asks every person for a code (`requireOneTimeCode`).
        code_from_everyone: bool,
        /// The policy lets the person declare a case (`create`): the tab offers the button.
        may_declare: bool,
    },
    /// The policy parameter is missing, blank, unreadable or invalid: every command but
    /// `help` is refused (fail closed).
    PolicyUnavailable,
    /// Slack or SSM could not be asked just now.
    Unknown,
}

/// Orders cases newest activity first (cases without a date last, then by ID), keeps the first
/// [`HOME_MAX_CASES`] and returns them with the count of the others.
pub fn newest_first(mut cases: Vec<CaseInChannel>) -> (Vec<CaseInChannel>, usize) {
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
/// what the person may run under the command policy and their one-time-code enrolment; a
/// "Declare a security incident" button for people the policy lets declare. At most 100 blocks
/// (Slack's limit): one per case plus at most 8.
pub fn home_view(
    cases: &[CaseInChannel],
    rest: usize,
    links: Option<&ConsoleLinks>,
    access: &HomeAccess,
) -> Value {
    let mut blocks =
        vec![json!({"type": "header", "text": plain_json("Your security incident cases")})];
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
    blocks.push(section_json(&intro));
    if matches!(
        access,
        HomeAccess::Known {
            may_declare: true,
            ..
        }
    ) {
        blocks.push(json!({
            "type": "actions",
            "block_id": "home_declare",
            "elements": [{
                "type": "button",
                "action_id": DECLARE_BUTTON_ACTION_ID,
                "style": "danger",
                "text": plain_json("Declare a security incident"),
            }],
        }));
    }
    blocks.push(json!({"type": "divider"}));
    for case in cases {
        blocks.push(case_section(case, links));
    }
    if !cases.is_empty() {
        blocks.push(json!({"type": "divider"}));
    }
    blocks.push(section_json(&rights_text(access)));
    blocks.push(section_json(&enrolment_text(access)));
    blocks.push(context_json(
        "Refreshed each time you open this tab, from what the integration last synced (every 5 \
         minutes at most).",
    ));
    json!({"type": "home", "blocks": blocks})
}

const ASK_ADMIN: &str = "Ask your security administrator if you need more.";

fn rights_text(access: &HomeAccess) -> String {
    match access {
        HomeAccess::Known { rights, .. } => {
            let allowed: Vec<String> = rights
                .iter()
                .filter_map(|right| match right.detail {
                    RightDetail::Allowed { code: true } => {
                        Some(format!("`{}` (with a one-time code)", right.subcommand))
                    }
                    RightDetail::Allowed { code: false } => Some(format!("`{}`", right.subcommand)),
                    RightDetail::Refused(_) => None,
                })
                .collect();
            let refused: Vec<String> = rights
                .iter()
                .filter_map(|right| match right.detail {
                    RightDetail::Refused(why) => Some(format!("`{}` ({why})", right.subcommand)),
                    RightDetail::Allowed { .. } => None,
                })
                .collect();
            if allowed.is_empty() {
                return format!(
                    "*What you can do*\nThe workspace's command policy does not let you run any \
                     `/security-ir` subcommand (only `help`): you can read the case channels you \
                     are in, but not look up or change a case from Slack. {ASK_ADMIN}"
                );
            }
            let mut text = format!(
                "*What you can do*\nIn the channel of a case, as a member: {}.",
                allowed.join(", ")
            );
            if !refused.is_empty() {
                text.push_str(&format!(
                    "\nNot allowed for you: {}. {ASK_ADMIN}",
                    refused.join(", ")
                ));
            }
            text
        }
        HomeAccess::PolicyUnavailable => {
            "*What you can do*\nNothing right now: the command policy \
             is missing, could not be read or is invalid, so every `/security-ir` subcommand but \
             `help` is refused for everyone. Ask your security administrator to check it."
                .to_owned()
        }
        HomeAccess::Unknown => {
            "*What you can do*\nCould not check the command policy for you just \
             now; open this tab again in a moment. In a case channel, `/security-ir help` lists \
             the subcommands."
                .to_owned()
        }
    }
}

fn enrolment_text(access: &HomeAccess) -> String {
    const HOW: &str = "Your integration administrators enrol you: see _Enrolling a person_ in the \
                       integration's docs/commands.md.";
    match access {
        HomeAccess::Known { enrolled: true, .. } => {
            "*One-time codes*\nYou are enrolled: `close` and `update-status` (and any other \
              subcommand marked above) ask for the six-digit code from your authenticator app."
                .to_owned()
        }
        HomeAccess::Known {
            enrolled: false,
            code_from_everyone: true,
            ..
        } => format!(
            "*One-time codes*\nYou are *not enrolled*, and the command policy asks everyone for \
             a code: `close` and `update-status` are refused for you until you are. {HOW}"
        ),
        HomeAccess::Known { .. } => format!(
            "*One-time codes*\nYou are not enrolled: your commands run without a code. Once \
             enrolled, `close` and `update-status` ask for the six-digit code from your \
             authenticator app. {HOW}"
        ),
        HomeAccess::PolicyUnavailable | HomeAccess::Unknown => format!(
            "*One-time codes*\n`close` and `update-status` ask for a six-digit code from your \
             authenticator app once you are enrolled (or from everyone, when the policy requires \
             it). {HOW}"
        ),
    }
}

fn case_section(case: &CaseInChannel, links: Option<&ConsoleLinks>) -> Value {
    let title = case.title.as_deref().map_or_else(
        || "_(not synced yet)_".to_owned(),
        |title| format!("*{}*", escape_for_slack(&truncated(title, TITLE_MAX_CHARS))),
    );
    let status = case
        .status
        .as_ref()
        .map_or("unknown", |status| status.as_str());
    let updated = case
        .updated_at
        .map_or_else(|| "unknown".to_owned(), slack_date);
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
    section_json(&text)
}

fn truncated(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use sirslack_domain::{CaseId, CaseStatus};

    use super::*;

    fn case(id: &str, minute: Option<u32>) -> CaseInChannel {
        CaseInChannel {
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
        let mut cases: Vec<CaseInChannel> = (0..55)
            .map(|i| case(&format!("{:010}", 1_000 + i), Some(i % 60)))
            .collect();
        cases.push(case("0000000999", None));
        let (shown, rest) = newest_first(cases);
        assert_eq!(shown.len(), HOME_MAX_CASES);
        assert_eq!(rest, 6);
        assert_eq!(shown[0].case_id.as_str(), "0000001054");
        assert!(shown.windows(2).all(|w| w[0].updated_at >= w[1].updated_at));
        let view = home_view(&shown, rest, Some(&links()), &HomeAccess::Unknown);
        let blocks = view["blocks"].as_array().expect("blocks");
        assert!(blocks.len() <= 100, "{}", blocks.len());
        assert!(view.to_string().contains("(56 in all; 6 more not shown)"));
    }

    #[test]
    fn a_case_shows_id_title_status_update_channel_and_console_link_escaped() {
        let view = home_view(
            &[case("0000001234", Some(5))],
            0,
            Some(&links()),
            &HomeAccess::Unknown,
        );
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
        let view = home_view(&[], 0, None, &HomeAccess::Unknown);
        let shown = view.to_string();
        assert!(shown.contains("not in the channel of any open"), "{shown}");
        assert!(!shown.contains("Case 0"), "{shown}");
    }

    fn known(rights: Vec<(&'static str, RightDetail)>, enrolled: bool) -> HomeAccess {
        HomeAccess::Known {
            rights: rights
                .into_iter()
                .map(|(subcommand, detail)| HomeRight { subcommand, detail })
                .collect(),
            enrolled,
            code_from_everyone: false,
            may_declare: false,
        }
    }

    #[test]
    fn the_person_sees_their_own_rights_and_enrolment() {
        let access = known(
            vec![
                ("status", RightDetail::Allowed { code: false }),
                ("update-status", RightDetail::Allowed { code: true }),
                (
                    "close",
                    RightDetail::Refused("the policy does not list you"),
                ),
            ],
            true,
        );
        let shown = home_view(&[], 0, None, &access).to_string();
        assert!(
            shown.contains("as a member: `status`, `update-status` (with a one-time code)."),
            "{shown}"
        );
        assert!(
            shown.contains("Not allowed for you: `close` (the policy does not list you)."),
            "{shown}"
        );
        assert!(shown.contains("You are enrolled"), "{shown}");
        let not_enrolled = known(
            vec![("status", RightDetail::Allowed { code: false })],
            false,
        );
        let shown = home_view(&[], 0, None, &not_enrolled).to_string();
        assert!(shown.contains("You are not enrolled"), "{shown}");
        assert!(!shown.contains("Not allowed for you"), "{shown}");
    }

    #[test]
    fn a_person_the_policy_refuses_is_told_clearly() {
        let refused = known(
            vec![
                (
                    "status",
                    RightDetail::Refused("the policy does not list you"),
                ),
                (
                    "close",
                    RightDetail::Refused("the policy does not list you"),
                ),
            ],
            false,
        );
        let shown = home_view(&[], 0, None, &refused).to_string();
        assert!(
            shown.contains("does not let you run any `/security-ir` subcommand"),
            "{shown}"
        );
        let shown = home_view(&[], 0, None, &HomeAccess::PolicyUnavailable).to_string();
        assert!(shown.contains("the command policy is missing"), "{shown}");
        let everyone = HomeAccess::Known {
            rights: vec![],
            enrolled: false,
            code_from_everyone: true,
            may_declare: false,
        };
        let shown = home_view(&[], 0, None, &everyone).to_string();
        assert!(shown.contains("You are *not enrolled*"), "{shown}");
    }

    #[test]
    fn the_declare_button_is_offered_only_to_people_who_may_declare() {
        let mut access = known(
            vec![("status", RightDetail::Allowed { code: false })],
            false,
        );
        assert!(
            !home_view(&[], 0, None, &access)
                .to_string()
                .contains(DECLARE_BUTTON_ACTION_ID)
        );
        if let HomeAccess::Known { may_declare, .. } = &mut access {
            *may_declare = true;
        }
        let view = home_view(&[], 0, None, &access);
        let button = &view["blocks"][2]["elements"][0];
        assert_eq!(button["action_id"], json!(DECLARE_BUTTON_ACTION_ID));
        assert_eq!(button["text"]["text"], json!("Declare a security incident"));
    }
}
