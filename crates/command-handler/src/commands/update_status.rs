//! `/security-ir update-status <status> [code]` and the status menu of the case message:
//! UpdateCaseStatus to one of the four self-managed statuses.
//!
//! Statuses a customer cannot set (`Acknowledged`, `Ready to Close`, `Closed`) and unknown
//! words (`Resolved`) never get here: the grammar refuses them with the list of settable
//! statuses. Here a transition the documented model does not allow is refused with the
//! statuses reachable from the current one, before any call; the service still has the last
//! word, and its own refusal is shown in plain words.

use sirslack_domain::status::check_transition;
use sirslack_domain::{Case, CaseId, CaseStatus, SelfManagedStatus};

use super::Change;
use crate::sir::{Sir, SirError};

/// The change, or why the case cannot move to `to` from where it is.
pub fn plan(case: &Case, to: SelfManagedStatus) -> Result<Change, String> {
    check_transition(&case.status, to).map_err(|refused| refused.to_string())?;
    Ok(Change::Status {
        from: case.status.clone(),
        to,
    })
}

/// UpdateCaseStatus.
pub async fn apply(sir: &Sir, case_id: &CaseId, to: SelfManagedStatus) -> Result<(), SirError> {
    sir.update_status(case_id, to).await
}

/// `status changed from Submitted to Detection and Analysis`.
pub fn audit_text(from: &CaseStatus, to: SelfManagedStatus) -> String {
    format!("status changed from {from} to {to}")
}

/// `Jane Doe set status to Containment, Eradication and Recovery (was Detection and Analysis)`.
pub fn announcement(actor: &str, from: &CaseStatus, to: SelfManagedStatus) -> String {
    format!("{actor} set status to {to} (was {from})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::case;

    #[test]
    fn allowed_transition_is_planned() {
        let case = case(CaseStatus::DetectionAndAnalysis);
        let change = plan(&case, SelfManagedStatus::ContainmentEradicationAndRecovery).unwrap();
        assert_eq!(
            change.audit_text(),
            "status changed from Detection and Analysis to Containment, Eradication and Recovery"
        );
        let text = change.announcement("Jane Doe").text.unwrap();
        assert_eq!(
            text,
            "Jane Doe set status to Containment, Eradication and Recovery (was Detection and \
             Analysis)"
        );
    }

    #[test]
    fn refused_transition_lists_reachable_statuses() {
        let case = case(CaseStatus::Submitted);
        let refused = plan(&case, SelfManagedStatus::PostIncidentActivities).unwrap_err();
        assert!(
            refused.contains("cannot move to `Post-incident Activities`"),
            "{refused}"
        );
        assert!(refused.contains("`Detection and Analysis`"), "{refused}");
        let same = plan(&case, SelfManagedStatus::Submitted).unwrap_err();
        assert!(same.contains("already"), "{same}");
        let closed = plan(
            &crate::commands::tests::case(CaseStatus::Closed),
            SelfManagedStatus::DetectionAndAnalysis,
        )
        .unwrap_err();
        assert!(closed.contains("closed"), "{closed}");
    }
}
