//! `/security-ir update-title <text>`: UpdateCase with a new title (1 to 300 characters; the
//! grammar refuses longer ones before anything is called).

use sirslack_domain::limits::truncate_chars;
use sirslack_domain::{Case, CaseId};

use super::{Change, single_line};
use crate::sir::{Sir, SirError};

/// Characters of a title quoted in an announcement or audit comment (the whole title fits).
const SHOWN_TITLE_MAX: usize = 300;

/// The change, or why there is nothing to change.
pub fn plan(case: &Case, title: &str) -> Result<Change, String> {
    if case.title == title {
        return Err("The case already has this title.".to_owned());
    }
    Ok(Change::Title {
        from: case.title.clone(),
        to: title.to_owned(),
    })
}

/// UpdateCase.
pub async fn apply(sir: &Sir, case_id: &CaseId, title: &str) -> Result<(), SirError> {
    sir.update_title(case_id, title).await
}

fn shown(title: &str) -> String {
    truncate_chars(&single_line(title), SHOWN_TITLE_MAX)
}

/// `title changed from "Old" to "New"`.
pub fn audit_text(from: &str, to: &str) -> String {
    format!(
        "title changed from \"{}\" to \"{}\"",
        shown(from),
        shown(to)
    )
}

/// `Jane Doe changed the title to "New" (was "Old")`, with the titles escaped.
pub fn announcement(actor: &str, from: &str, to: &str) -> String {
    let escape = |title: &str| sirslack_mapper::markup::escape_for_slack(&shown(title));
    format!(
        "{actor} changed the title to \"{}\" (was \"{}\")",
        escape(to),
        escape(from)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::tests::case;
    use sirslack_domain::CaseStatus;

    #[test]
    fn plans_and_describes_a_new_title() {
        let case = case(CaseStatus::Submitted);
        let change = plan(&case, "Key <leak>").unwrap();
        assert_eq!(
            change.audit_text(),
            "title changed from \"Compromised key\" to \"Key <leak>\""
        );
        assert_eq!(
            change.announcement("Jane Doe").text.unwrap(),
            "Jane Doe changed the title to \"Key &lt;leak&gt;\" (was \"Compromised key\")"
        );
        assert!(plan(&case, "Compromised key").is_err());
    }
}
