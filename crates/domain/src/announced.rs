//! Changes that the command making them has already announced in the case channel.
//!
//! A `/security-ir` change is announced in the channel by the command handler at once, naming
//! who made it. The poller then sees the same change in SIR and publishes it (`CaseUpdated`,
//! `CaseClosed`), and the Slack client would announce it a second time. So the command handler
//! writes a table marker for the change it announces (`ONCE#announced#<key>`, scope
//! [`ANNOUNCED_CHANGE_SCOPE`], key [`AnnouncedChange::marker_key`]) *before* it calls SIR, so
//! that the marker exists before the poller can see the change; the Slack client leaves every
//! change with a marker out of its message, and removes the marker once the event is applied.
//!
//! A change is identified by its case, its field and its **new** value: the poller may merge
//! several changes of one field into one (`A -> B -> C` is reported as `A -> C`), and the
//! channel was told about the last value either way.

use sha2::{Digest, Sha256};

use crate::case::CaseId;
use crate::events::FieldChange;
use crate::status::CaseStatus;

/// Scope of the markers written for announced changes (`ONCE#announced#<key>`).
pub const ANNOUNCED_CHANGE_SCOPE: &str = "announced";

/// A change to a case and the value it set, as far as announcing it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnnouncedChange {
    /// The title was set to this.
    Title(String),
    /// The description was set to this.
    Description(String),
    /// The status was set to this.
    Status(CaseStatus),
    /// The case was closed.
    Closed,
}

impl AnnouncedChange {
    /// The change a field change reports, for the fields a command can change; `None` for the
    /// others.
    pub fn of_field_change(change: &FieldChange) -> Option<Self> {
        match change {
            FieldChange::Title { new, .. } => Some(Self::Title(new.clone())),
            FieldChange::Description { new, .. } => Some(Self::Description(new.clone())),
            FieldChange::Status { new, .. } => Some(Self::Status(new.clone())),
            _ => None,
        }
    }

    /// The marker key: `<caseId>#<field>#<sha256 of the value>` (the value's surrounding
    /// whitespace left out, a description may be 8,000 characters), or `<caseId>#closed`.
    pub fn marker_key(&self, case_id: &CaseId) -> String {
        let (field, value) = match self {
            Self::Title(title) => ("title", title.as_str()),
            Self::Description(description) => ("description", description.as_str()),
            Self::Status(status) => ("status", status.as_str()),
            Self::Closed => return format!("{case_id}#closed"),
        };
        let digest = hex::encode(Sha256::digest(value.trim().as_bytes()));
        format!("{case_id}#{field}#{digest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case_id() -> CaseId {
        CaseId::new("1234567890").unwrap()
    }

    #[test]
    fn the_poller_s_report_of_a_change_has_the_command_s_key() {
        let set_by_command = AnnouncedChange::Status(CaseStatus::ContainmentEradicationAndRecovery);
        let reported = FieldChange::Status {
            old: CaseStatus::DetectionAndAnalysis,
            new: CaseStatus::ContainmentEradicationAndRecovery,
        };
        let seen_by_poller = AnnouncedChange::of_field_change(&reported).unwrap();
        assert_eq!(
            seen_by_poller.marker_key(&case_id()),
            set_by_command.marker_key(&case_id())
        );
        let title = FieldChange::Title {
            old: "Old".into(),
            new: "Leaked key ".into(),
        };
        assert_eq!(
            AnnouncedChange::of_field_change(&title)
                .unwrap()
                .marker_key(&case_id()),
            AnnouncedChange::Title("Leaked key".into()).marker_key(&case_id())
        );
    }

    #[test]
    fn keys_tell_fields_values_and_cases_apart() {
        let keys = [
            AnnouncedChange::Title("x".into()).marker_key(&case_id()),
            AnnouncedChange::Description("x".into()).marker_key(&case_id()),
            AnnouncedChange::Title("y".into()).marker_key(&case_id()),
            AnnouncedChange::Status(CaseStatus::Submitted).marker_key(&case_id()),
            AnnouncedChange::Closed.marker_key(&case_id()),
            AnnouncedChange::Title("x".into()).marker_key(&CaseId::new("9876543210").unwrap()),
        ];
        let distinct: std::collections::HashSet<&String> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:#?}");
        assert_eq!(keys[4], "1234567890#closed");
        assert!(keys[0].starts_with("1234567890#title#"));
        // A description at its 8,000-character limit still makes a short key.
        let long = AnnouncedChange::Description("d".repeat(8_000)).marker_key(&case_id());
        assert_eq!(long.len(), "1234567890#description#".len() + 64);
    }

    #[test]
    fn fields_no_command_changes_are_not_announced_changes() {
        let severity = FieldChange::Severity {
            old: None,
            new: Some("High".into()),
        };
        assert_eq!(AnnouncedChange::of_field_change(&severity), None);
    }
}
