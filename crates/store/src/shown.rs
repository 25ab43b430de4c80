//! What a case's channel shows, kept on the case's `CASE#<caseId>` / `CHANNEL` item (the claim,
//! channel link and apply cursor), so that a later `CaseUpdated` can refresh the topic and
//! purpose from the case as shown plus the changes, without asking SIR:
//!
//! | attribute | meaning |
//! |---|---|
//! | `shown_case` | the case as the channel shows it (JSON, attachments left out) |
//! | `shown_topic` | the topic last set |
//! | `shown_purpose` | the purpose last set |
//!
//! Read with the rest of the item by [`Table::channel_link`]; written by the Slack client with
//! [`Table::save_shown`]. The apply cursor's jump over a gap ([`Table::jump_cursor`]) is here
//! too: the Slack client's other write to the item.

use sirslack_domain::case::{Case, CaseId};

use crate::{Item, StoreError, Table, case_pk, condition_held, get_s, n, s};

/// What the channel shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The case as shown (initial message and every update applied since).
    pub case: Case,
    /// The topic last set.
    pub topic: String,
    /// The purpose last set.
    pub purpose: String,
}

/// The `shown_*` attributes of a channel item, when set and readable.
pub(crate) fn shown_of(item: &Item, case_id: &CaseId) -> Option<Shown> {
    let json = get_s(item, "shown_case")?;
    match serde_json::from_str::<Case>(json) {
        Ok(case) => Some(Shown {
            case,
            topic: get_s(item, "shown_topic").unwrap_or_default().to_owned(),
            purpose: get_s(item, "shown_purpose").unwrap_or_default().to_owned(),
        }),
        // Written by another version: the caller asks SIR for the case instead.
        Err(error) => {
            tracing::warn!(case_id = %case_id, %error, "stored channel view unreadable");
            None
        }
    }
}

impl Table {
    /// Stores what the channel shows (on the claimed channel item).
    pub async fn save_shown(&self, case_id: &CaseId, shown: &Shown) -> Result<(), StoreError> {
        let mut case = shown.case.clone();
        // Attachments only grow and nothing shown depends on them.
        case.attachments.clear();
        let json = serde_json::to_string(&case).map_err(|e| StoreError::Malformed {
            item: format!("{}/CHANNEL", case_pk(case_id)),
            reason: e.to_string(),
        })?;
        self.client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(Self::channel_key(case_id)))
            .update_expression(
                "SET shown_case = :case, shown_topic = :topic, shown_purpose = :purpose",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":case", s(json))
            .expression_attribute_values(":topic", s(shown.topic.clone()))
            .expression_attribute_values(":purpose", s(shown.purpose.clone()))
            .send()
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?;
        Ok(())
    }

    /// Moves the apply cursor from `from` to `to` over a gap (events `from + 1 .. to` never
    /// arrived in time). `false` when the cursor was not at `from` any more.
    pub async fn jump_cursor(
        &self,
        case_id: &CaseId,
        from: u64,
        to: u64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(Self::channel_key(case_id)))
            .update_expression("SET applied_sequence = :to")
            .condition_expression("applied_sequence = :from")
            .expression_attribute_values(":to", n(to))
            .expression_attribute_values(":from", n(from))
            .send()
            .await;
        condition_held("UpdateItem", result)
    }
}
