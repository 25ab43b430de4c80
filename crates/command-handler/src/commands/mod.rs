//! One module per subcommand: the pure decision (what the command would do to the case as it
//! is, or why it cannot) and, for changes, the SIR call.
//!
//! Mutating commands produce a [`Change`], decided before any one-time code is checked (so a
//! refused transition never burns a code) and applied after. Read-only commands render a
//! reply. Everything shown in Slack is escaped ([`escape_for_slack`]) and cut to Slack's
//! block limits.

pub mod close;
pub mod help;
pub mod status;
pub mod summarize;
pub mod update_description;
pub mod update_status;
pub mod update_title;

use sirslack_domain::announced::AnnouncedChange;
use sirslack_domain::limits::{SLACK_SECTION_TEXT_MAX, truncate_chars};
use sirslack_domain::{Case, CaseId, CaseStatus, Command, SelfManagedStatus};
pub(crate) use sirslack_mapper::blocks::{
    context, fields_section, message, section, single_line, slack_date,
};
use sirslack_mapper::markup::escape_for_slack;
use slack_morphism::prelude::SlackMessageContent;

use crate::sir::{Sir, SirError};

/// What a mutating command will do to the case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// `update-status`.
    Status {
        /// The status now.
        from: CaseStatus,
        /// The status asked for.
        to: SelfManagedStatus,
    },
    /// `update-title`.
    Title {
        /// The title now.
        from: String,
        /// The new title.
        to: String,
    },
    /// `update-description`.
    Description {
        /// The new description.
        to: String,
    },
    /// `close`.
    Close {
        /// The status before closing.
        from: CaseStatus,
    },
}

impl Change {
    /// Decides what `command` would do to `case`, or why it cannot (a message for the person).
    /// `None` for commands that change nothing.
    pub fn plan(command: &Command, case: &Case) -> Option<Result<Self, String>> {
        Some(match command {
            Command::UpdateStatus { status, .. } => update_status::plan(case, *status),
            Command::UpdateTitle { title } => update_title::plan(case, title),
            Command::UpdateDescription { description } => {
                update_description::plan(case, description)
            }
            Command::Close { .. } => close::plan(case),
            Command::Status | Command::Summarize | Command::Help => return None,
        })
    }

    /// Whether `case` already shows the change.
    pub fn is_in_effect(&self, case: &Case) -> bool {
        match self {
            Self::Status { to, .. } => case.status == to.to_case_status(),
            Self::Title { to, .. } => case.title == *to,
            Self::Description { to } => case.description == *to,
            Self::Close { .. } => case.status.is_closed(),
        }
    }

    /// Makes the change in SIR.
    pub async fn apply(&self, sir: &Sir, case_id: &CaseId) -> Result<(), SirError> {
        match self {
            Self::Status { to, .. } => update_status::apply(sir, case_id, *to).await,
            Self::Title { to, .. } => update_title::apply(sir, case_id, to).await,
            Self::Description { to } => update_description::apply(sir, case_id, to).await,
            Self::Close { .. } => close::apply(sir, case_id).await,
        }
    }

    /// What changed, for the audit comment (plain text, after `ran /security-ir <sub>: `).
    pub fn audit_text(&self) -> String {
        match self {
            Self::Status { from, to } => update_status::audit_text(from, *to),
            Self::Title { from, to } => update_title::audit_text(from, to),
            Self::Description { to } => update_description::audit_text(to),
            Self::Close { from } => close::audit_text(from),
        }
    }

    /// What the change sets, as the Slack client will see it reported by the poller.
    pub fn announced(&self) -> AnnouncedChange {
        match self {
            Self::Status { to, .. } => AnnouncedChange::Status(to.to_case_status()),
            Self::Title { to, .. } => AnnouncedChange::Title(to.clone()),
            Self::Description { to } => AnnouncedChange::Description(to.clone()),
            Self::Close { .. } => AnnouncedChange::Closed,
        }
    }

    /// The in-channel announcement, naming `actor` (a display name, not yet escaped).
    pub fn announcement(&self, actor: &str) -> SlackMessageContent {
        let actor = escape_for_slack(actor);
        let text = match self {
            Self::Status { from, to } => update_status::announcement(&actor, from, *to),
            Self::Title { from, to } => update_title::announcement(&actor, from, to),
            Self::Description { to } => update_description::announcement(&actor, to),
            Self::Close { from } => close::announcement(&actor, from),
        };
        message(
            truncate_chars(&text, SLACK_SECTION_TEXT_MAX),
            vec![section(&text)],
        )
    }
}

/// `text` escaped for `mrkdwn` and quoted line by line, cut to `max` characters first.
pub(crate) fn quoted(text: &str, max: usize) -> String {
    escape_for_slack(&truncate_chars(text.trim(), max))
        .lines()
        .map(|line| format!(">{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sirslack_domain::{EngagementType, ResolverType};

    pub(crate) fn case(status: CaseStatus) -> Case {
        Case::new(
            CaseId::new("1234567890").unwrap(),
            "Compromised key",
            "Access key used from 203.0.113.7",
            status,
            EngagementType::SecurityIncident,
            ResolverType::SelfManaged,
        )
    }

    #[test]
    fn read_only_commands_plan_nothing() {
        let case = case(CaseStatus::Submitted);
        for text in ["status", "summarize", "help"] {
            assert!(Change::plan(&Command::parse(text).unwrap(), &case).is_none());
        }
    }

    #[test]
    fn announcements_escape_the_actor() {
        let change = Change::Close {
            from: CaseStatus::DetectionAndAnalysis,
        };
        let content = change.announcement("<!channel> & co");
        let text = content.text.unwrap();
        assert!(
            text.starts_with("&lt;!channel&gt; &amp; co closed the case"),
            "{text}"
        );
    }

    #[test]
    fn quoting_and_dates() {
        use chrono::DateTime;
        assert_eq!(quoted("a <b>\nc", 100), ">a &lt;b&gt;\n>c");
        let at = DateTime::from_timestamp(1_767_268_800, 0).unwrap();
        assert_eq!(
            slack_date(at),
            "<!date^1767268800^{date_short_pretty} {time}|2026-01-01 12:00 UTC>"
        );
        assert_eq!(single_line(" a \n b "), "a b");
    }
}
