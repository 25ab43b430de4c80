//! `/security-ir update-description <text>`: UpdateCase with a new description (1 to 8,000
//! characters; the grammar refuses longer ones before anything is called).

use sirslack_domain::{Case, CaseId};

use super::{Change, quoted};
use crate::sir::{Sir, SirError};

/// Characters of the new description quoted in the announcement.
const QUOTED_MAX: usize = 1_000;

/// The change, or why there is nothing to change.
pub fn plan(case: &Case, description: &str) -> Result<Change, String> {
    if case.description == description {
        return Err("The case already has this description.".to_owned());
    }
    Ok(Change::Description {
        to: description.to_owned(),
    })
}

/// UpdateCase.
pub async fn apply(sir: &Sir, case_id: &CaseId, description: &str) -> Result<(), SirError> {
    sir.update_description(case_id, description).await
}

/// `description replaced (42 characters)`: the text itself is in SIR's edit log already.
pub fn audit_text(to: &str) -> String {
    format!("description replaced ({} characters)", to.chars().count())
}

/// `Jane Doe replaced the description:` and the new text, quoted and cut.
pub fn announcement(actor: &str, to: &str) -> String {
    format!(
        "{actor} replaced the description:\n{}",
        quoted(to, QUOTED_MAX)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::case;
    use sirslack_domain::CaseStatus;

    #[test]
    fn plans_and_describes_a_new_description() {
        let case = case(CaseStatus::Submitted);
        let change = plan(&case, "line one\nline <two>").unwrap();
        assert_eq!(change.audit_text(), "description replaced (19 characters)");
        assert_eq!(
            change.announcement("Jane Doe").text.unwrap(),
            "Jane Doe replaced the description:\n>line one\n>line &lt;two&gt;"
        );
        assert!(plan(&case, "Access key used from 203.0.113.7").is_err());
    }
}
