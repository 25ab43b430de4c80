//! The "Declare a security incident" modal (`views.open`) and its `view_submission`.
//!
//! Pure: the events handler opens [`declare_modal`] for `/security-ir create` and the global
//! shortcut, and on `view_submission` (its `view.callback_id` is [`DECLARE_CALLBACK_ID`]) reads
//! the submitted view with [`parse_declare_submission`]: a [`DeclareSubmission`] to hand to the
//! command handler, or [`ViewErrors`] to answer at once with
//! [`ViewErrors::response`] (`{"response_action":"errors","errors":{<block_id>: text}}`), which
//! keeps the modal open with the messages on the fields.
//!
//! Every input block has a stable `block_id` (the constants below), and its element's
//! `action_id` is the same string. The rules are the domain's
//! ([`sirslack_domain::declaration`]); this module only maps the form to them and back.
//!
//! Once SIR has the case, the command handler tells the declarer with [`declared_message`].
//!
//! Slack's `plain_text_input` holds at most 3,000 characters, so the description typed here is
//! shorter than SIR's 8,000-character limit; `/security-ir update-description` can replace it
//! later.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sirslack_domain::case::{EngagementType, ResolverType};
use sirslack_domain::declaration::{
    Declaration, DeclarationDraft, DeclarationErrors, DeclarationField,
};
use sirslack_domain::limits::{SLACK_INPUT_MAX, TITLE_MAX, truncate_chars};
use sirslack_domain::{CaseId, Otp};
use slack_morphism::prelude::SlackMessageContent;

use crate::blocks::{
    Modal, element_state, input_json, input_text, modal_json, option_json, plain_json,
};
use crate::markup::escape_for_slack;
use crate::slack::ConsoleLinks;

/// `callback_id` of the declare modal.
pub const DECLARE_CALLBACK_ID: &str = "declare_case";
/// `block_id` (and `action_id`) of the title input.
pub const TITLE_BLOCK_ID: &str = "declare_title";
/// `block_id` (and `action_id`) of the description input (multi-line).
pub const DESCRIPTION_BLOCK_ID: &str = "declare_description";
/// `block_id` (and `action_id`) of the engagement type menu.
pub const ENGAGEMENT_TYPE_BLOCK_ID: &str = "declare_engagement_type";
/// `block_id` (and `action_id`) of the reported start date picker.
pub const REPORTED_START_BLOCK_ID: &str = "declare_reported_start";
/// `block_id` (and `action_id`) of the impacted accounts input.
pub const ACCOUNTS_BLOCK_ID: &str = "declare_accounts";
/// `block_id` (and `action_id`) of the impacted regions input (optional).
pub const REGIONS_BLOCK_ID: &str = "declare_regions";
/// `block_id` (and `action_id`) of the impacted services input (optional).
pub const SERVICES_BLOCK_ID: &str = "declare_services";
/// `block_id` (and `action_id`) of the threat-actor IP addresses input (optional).
pub const THREAT_ACTOR_IPS_BLOCK_ID: &str = "declare_threat_actor_ips";
/// `block_id` (and `action_id`) of the resolver radio buttons.
pub const RESOLVER_BLOCK_ID: &str = "declare_resolver";
/// `block_id` (and `action_id`) of the "engages the AWS CIRT" confirmation checkbox.
pub const AWS_CONFIRM_BLOCK_ID: &str = "declare_aws_confirm";
/// `block_id` (and `action_id`) of the extra watchers menu (optional).
pub const WATCHERS_BLOCK_ID: &str = "declare_watchers";
/// `block_id` (and `action_id`) of the one-time code input (optional; needed where the
/// command policy asks for a code).
pub const ONE_TIME_CODE_BLOCK_ID: &str = "declare_one_time_code";
/// The value of the ticked confirmation checkbox.
pub const AWS_CONFIRM_VALUE: &str = "confirmed";
/// Most characters of `private_metadata` (Slack's limit).
pub const PRIVATE_METADATA_MAX: usize = 3_000;

/// The modal's title (Slack: at most 24 characters).
const MODAL_TITLE: &str = "Declare an incident";

/// The `block_id` that shows the error of `field`.
pub fn block_id_for(field: DeclarationField) -> &'static str {
    match field {
        DeclarationField::Title => TITLE_BLOCK_ID,
        DeclarationField::Description => DESCRIPTION_BLOCK_ID,
        DeclarationField::EngagementType => ENGAGEMENT_TYPE_BLOCK_ID,
        DeclarationField::ReportedStart => REPORTED_START_BLOCK_ID,
        DeclarationField::ImpactedAccounts => ACCOUNTS_BLOCK_ID,
        DeclarationField::ImpactedRegions => REGIONS_BLOCK_ID,
        DeclarationField::ImpactedServices => SERVICES_BLOCK_ID,
        DeclarationField::ThreatActorIps => THREAT_ACTOR_IPS_BLOCK_ID,
        DeclarationField::Resolver => RESOLVER_BLOCK_ID,
        DeclarationField::AwsSupportConfirmation => AWS_CONFIRM_BLOCK_ID,
        DeclarationField::Watchers => WATCHERS_BLOCK_ID,
    }
}

/// Where the person started the declaration, carried through the modal in `private_metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclareContext {
    /// The channel of `/security-ir create`, if it was run in one (a global shortcut has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
}

impl DeclareContext {
    /// The context started from `channel_id` (kept only when it looks like a Slack channel
    /// ID).
    pub fn from_channel(channel_id: Option<&str>) -> Self {
        Self {
            channel_id: channel_id
                .map(str::trim)
                .filter(|id| is_channel_id(id))
                .map(str::to_owned),
        }
    }

    /// The `private_metadata` string (well under [`PRIVATE_METADATA_MAX`]).
    pub fn to_private_metadata(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The context from a submitted view's `private_metadata`; anything unreadable is no
    /// context (it only chooses where a fallback notice goes).
    pub fn from_private_metadata(metadata: &str) -> Self {
        if metadata.len() > PRIVATE_METADATA_MAX {
            return Self::default();
        }
        serde_json::from_str::<Self>(metadata)
            .map(|context| Self::from_channel(context.channel_id.as_deref()))
            .unwrap_or_default()
    }
}

/// A valid submission of the declare modal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclareSubmission {
    /// What to create.
    pub declaration: Declaration,
    /// The one-time code typed, if any.
    pub one_time_code: Option<Otp>,
    /// Where the person started.
    pub context: DeclareContext,
}

/// Field errors of a submission, keyed by `block_id`, as `response_action: errors` takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("the declare form has errors in {}", .errors.keys().cloned().collect::<Vec<_>>().join(", "))]
pub struct ViewErrors {
    /// `block_id` -> what to fix.
    pub errors: BTreeMap<String, String>,
}

impl ViewErrors {
    /// The answer to the `view_submission`:
    /// `{"response_action":"errors","errors":{...}}`.
    pub fn response(&self) -> Value {
        json!({"response_action": "errors", "errors": self.errors})
    }

    fn from_declaration(errors: &DeclarationErrors) -> Self {
        Self {
            errors: errors
                .iter()
                .map(|(field, message)| (block_id_for(field).to_owned(), message.to_owned()))
                .collect(),
        }
    }
}

/// The declare modal, for `views.open`. `today` is the date picker's default (UTC).
pub fn declare_modal(context: &DeclareContext, today: NaiveDate) -> Value {
    let engagement_options: Vec<Value> = EngagementType::KNOWN
        .iter()
        .map(|engagement| option_json(engagement.as_str(), engagement.as_str(), None))
        .collect();
    let self_managed = option_json(
        "Self-managed",
        ResolverType::SelfManaged.as_str(),
        Some("Your own team works the case"),
    );
    let aws_supported = option_json(
        "AWS-supported",
        ResolverType::Aws.as_str(),
        Some("Engages the AWS Customer Incident Response Team (CIRT)"),
    );
    let confirm = option_json(
        "I understand that this engages the AWS CIRT",
        AWS_CONFIRM_VALUE,
        None,
    );
    let blocks = vec![
        input_json(
            TITLE_BLOCK_ID,
            "Title",
            json!({"type": "plain_text_input", "max_length": TITLE_MAX,
                   "placeholder": plain_json("Compromised IAM access key in production")}),
            false,
            None,
        ),
        input_json(
            DESCRIPTION_BLOCK_ID,
            "Description",
            json!({"type": "plain_text_input", "multiline": true, "max_length": SLACK_INPUT_MAX,
                   "placeholder": plain_json("What happened, what you have seen, what you did so far")}),
            false,
            None,
        ),
        input_json(
            ENGAGEMENT_TYPE_BLOCK_ID,
            "Engagement type",
            json!({"type": "static_select", "options": engagement_options,
                   "initial_option": engagement_options[0]}),
            false,
            None,
        ),
        input_json(
            REPORTED_START_BLOCK_ID,
            "Reported start date",
            json!({"type": "datepicker", "initial_date": today.format("%Y-%m-%d").to_string()}),
            false,
            Some("The day the incident started, as far as you know."),
        ),
        input_json(
            ACCOUNTS_BLOCK_ID,
            "Impacted AWS accounts",
            json!({"type": "plain_text_input", "multiline": true,
                   "placeholder": plain_json("111122223333, 444455556666")}),
            false,
            Some("One or more 12-digit account IDs, separated by commas, spaces or new lines."),
        ),
        input_json(
            REGIONS_BLOCK_ID,
            "Impacted regions",
            json!({"type": "plain_text_input", "placeholder": plain_json("us-east-1, eu-west-1")}),
            true,
            Some("Region codes, separated by commas or spaces."),
        ),
        input_json(
            SERVICES_BLOCK_ID,
            "Impacted services",
            json!({"type": "plain_text_input", "placeholder": plain_json("Amazon S3, AWS IAM")}),
            true,
            Some("Service names, separated by commas or new lines."),
        ),
        input_json(
            THREAT_ACTOR_IPS_BLOCK_ID,
            "Threat actor IP addresses",
            json!({"type": "plain_text_input", "multiline": true,
                   "placeholder": plain_json("203.0.113.7, 2001:db8::1")}),
            true,
            Some("IPv4 or IPv6 addresses, separated by commas, spaces or new lines."),
        ),
        input_json(
            RESOLVER_BLOCK_ID,
            "Who works the case",
            json!({"type": "radio_buttons", "options": [self_managed, aws_supported],
                   "initial_option": self_managed}),
            false,
            Some(
                "AWS-supported engages the AWS Customer Incident Response Team (CIRT) on this \
                 case. Choose it only if you want AWS responders involved.",
            ),
        ),
        input_json(
            AWS_CONFIRM_BLOCK_ID,
            "Confirm AWS-supported",
            json!({"type": "checkboxes", "options": [confirm]}),
            true,
            Some("Required when you choose AWS-supported."),
        ),
        input_json(
            WATCHERS_BLOCK_ID,
            "Extra watchers",
            json!({"type": "multi_users_select", "placeholder": plain_json("People to add to the case")}),
            true,
            Some("You are a watcher already. Watchers are invited to the case channel."),
        ),
        input_json(
            ONE_TIME_CODE_BLOCK_ID,
            "One-time code",
            json!({"type": "plain_text_input", "min_length": 6, "max_length": 6,
                   "placeholder": plain_json("123456")}),
            true,
            Some(
                "The 6-digit code from your authenticator app, if your workspace asks you for \
                 one.",
            ),
        ),
    ];
    let metadata = context.to_private_metadata();
    modal_json(
        Modal {
            callback_id: DECLARE_CALLBACK_ID,
            title: MODAL_TITLE,
            submit: "Declare",
            close: "Cancel",
            private_metadata: Some(&metadata),
        },
        blocks,
    )
}

/// Reads a submitted declare `view` (the `view` object of a `view_submission` payload: its
/// `state.values` and `private_metadata`). `today` is the current date (UTC).
pub fn parse_declare_submission(
    view: &Value,
    today: NaiveDate,
) -> Result<DeclareSubmission, ViewErrors> {
    let values = &view["state"]["values"];
    let text = |block_id: &str| input_text(values, block_id);
    let selected = |block_id: &str| {
        element_state(values, block_id)
            .and_then(|state| state["selected_option"]["value"].as_str())
            .map(str::to_owned)
    };
    let draft = DeclarationDraft {
        title: text(TITLE_BLOCK_ID),
        description: text(DESCRIPTION_BLOCK_ID),
        engagement_type: selected(ENGAGEMENT_TYPE_BLOCK_ID),
        reported_start: element_state(values, REPORTED_START_BLOCK_ID)
            .and_then(|state| state["selected_date"].as_str())
            .map(str::to_owned),
        impacted_accounts: text(ACCOUNTS_BLOCK_ID),
        impacted_regions: text(REGIONS_BLOCK_ID),
        impacted_services: text(SERVICES_BLOCK_ID),
        threat_actor_ips: text(THREAT_ACTOR_IPS_BLOCK_ID),
        resolver: selected(RESOLVER_BLOCK_ID),
        aws_support_confirmed: element_state(values, AWS_CONFIRM_BLOCK_ID)
            .and_then(|state| state["selected_options"].as_array())
            .is_some_and(|options| {
                options
                    .iter()
                    .any(|option| option["value"] == AWS_CONFIRM_VALUE)
            }),
        watchers: element_state(values, WATCHERS_BLOCK_ID)
            .and_then(|state| state["selected_users"].as_array())
            .map(|users| {
                users
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    };
    let code = text(ONE_TIME_CODE_BLOCK_ID);
    let code = code.trim();
    let one_time_code = if code.is_empty() {
        Ok(None)
    } else {
        Otp::new(code).map(Some)
    };
    let declaration = draft.into_declaration(today);
    match (declaration, one_time_code) {
        (Ok(declaration), Ok(one_time_code)) => Ok(DeclareSubmission {
            declaration,
            one_time_code,
            context: DeclareContext::from_private_metadata(
                view["private_metadata"].as_str().unwrap_or_default(),
            ),
        }),
        (declaration, code) => {
            let mut errors = declaration
                .err()
                .map(|errors| ViewErrors::from_declaration(&errors))
                .unwrap_or_default();
            if code.is_err() {
                errors.errors.insert(
                    ONE_TIME_CODE_BLOCK_ID.to_owned(),
                    "A one-time code is the 6 digits your authenticator app shows.".to_owned(),
                );
            }
            Err(errors)
        }
    }
}

/// The message to the declarer once SIR has the case: its ID and title, that the channel is
/// on its way (the usual flow creates it and invites the watchers), a console link, and the
/// extra watchers that could not be added (no e-mail address in Slack).
pub fn declared_message(
    case_id: &CaseId,
    title: &str,
    links: &ConsoleLinks,
    skipped_watchers: &[String],
) -> SlackMessageContent {
    let title = escape_for_slack(&truncate_chars(title, DECLARED_TITLE_MAX));
    let mut text = format!(
        "Case *{case_id}* is declared: {title}\nIts Slack channel is being created; you will be \
         invited to it in a few seconds. <{}|Open the case in the AWS console>",
        links.case_url(case_id)
    );
    if !skipped_watchers.is_empty() {
        let people: Vec<String> = skipped_watchers
            .iter()
            .filter(|id| is_user_id(id))
            .map(|id| format!("<@{id}>"))
            .collect();
        text.push_str(&format!(
            "\nNot added as watchers (Slack gives no e-mail address for them): {}. Invite them \
             to the channel once it exists.",
            people.join(", ")
        ));
    }
    SlackMessageContent::new().with_text(text)
}

/// Most characters of the title quoted in [`declared_message`].
const DECLARED_TITLE_MAX: usize = 150;

fn is_user_id(id: &str) -> bool {
    id.starts_with(['U', 'W'])
        && (3..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `C0123ABCD`-, `G0123ABCD`- or `D0123ABCD`-like.
pub(crate) fn is_channel_id(id: &str) -> bool {
    id.starts_with(['C', 'G', 'D'])
        && (3..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 6).expect("date")
    }

    /// A `view` as Slack sends it in a `view_submission`, with `fields` overriding the state
    /// of the happy path.
    fn submitted(overrides: &[(&str, Value)]) -> Value {
        let mut values = json!({
            TITLE_BLOCK_ID: {TITLE_BLOCK_ID: {"type": "plain_text_input", "value": "Compromised IAM key"}},
            DESCRIPTION_BLOCK_ID: {DESCRIPTION_BLOCK_ID: {"type": "plain_text_input", "value": "Key used\nfrom 203.0.113.7"}},
            ENGAGEMENT_TYPE_BLOCK_ID: {ENGAGEMENT_TYPE_BLOCK_ID: {"type": "static_select", "selected_option": {
                "text": {"type": "plain_text", "text": "Investigation", "emoji": true}, "value": "Investigation"}}},
            REPORTED_START_BLOCK_ID: {REPORTED_START_BLOCK_ID: {"type": "datepicker", "selected_date": "2026-12-05"}},
            ACCOUNTS_BLOCK_ID: {ACCOUNTS_BLOCK_ID: {"type": "plain_text_input", "value": "111122223333\n444455556666"}},
            REGIONS_BLOCK_ID: {REGIONS_BLOCK_ID: {"type": "plain_text_input", "value": null}},
            SERVICES_BLOCK_ID: {SERVICES_BLOCK_ID: {"type": "plain_text_input", "value": "Amazon S3"}},
            THREAT_ACTOR_IPS_BLOCK_ID: {THREAT_ACTOR_IPS_BLOCK_ID: {"type": "plain_text_input", "value": null}},
            RESOLVER_BLOCK_ID: {RESOLVER_BLOCK_ID: {"type": "radio_buttons", "selected_option": {
                "text": {"type": "plain_text", "text": "Self-managed"}, "value": "Self"}}},
            AWS_CONFIRM_BLOCK_ID: {AWS_CONFIRM_BLOCK_ID: {"type": "checkboxes", "selected_options": []}},
            WATCHERS_BLOCK_ID: {WATCHERS_BLOCK_ID: {"type": "multi_users_select", "selected_users": ["U0BOBSMITH"]}},
            ONE_TIME_CODE_BLOCK_ID: {ONE_TIME_CODE_BLOCK_ID: {"type": "plain_text_input", "value": null}},
        });
        for (block_id, state) in overrides {
            values[*block_id] = json!({ *block_id: state });
        }
        json!({
            "id": "V0DECLARE1",
            "type": "modal",
            "callback_id": DECLARE_CALLBACK_ID,
            "private_metadata": r#"{"channel_id":"C0ORIGIN1"}"#,
            "hash": "1767268800.abc",
            "state": {"values": values},
        })
    }

    fn errors_of(overrides: &[(&str, Value)]) -> BTreeMap<String, String> {
        parse_declare_submission(&submitted(overrides), today())
            .expect_err("invalid")
            .errors
    }

    fn text(value: &str) -> Value {
        json!({"type": "plain_text_input", "value": value})
    }

    #[test]
    fn the_modal_has_stable_blocks_and_carries_the_channel() {
        let modal = declare_modal(&DeclareContext::from_channel(Some("C0ORIGIN1")), today());
        assert_eq!(modal["type"], "modal");
        assert_eq!(modal["callback_id"], DECLARE_CALLBACK_ID);
        assert!(
            modal["title"]["text"]
                .as_str()
                .expect("title")
                .chars()
                .count()
                <= 24
        );
        assert_eq!(modal["submit"]["type"], "plain_text");
        assert_eq!(modal["close"]["type"], "plain_text");
        let metadata = modal["private_metadata"].as_str().expect("metadata");
        assert!(metadata.len() <= PRIVATE_METADATA_MAX);
        assert_eq!(
            DeclareContext::from_private_metadata(metadata)
                .channel_id
                .as_deref(),
            Some("C0ORIGIN1")
        );
        let blocks = modal["blocks"].as_array().expect("blocks");
        let ids: Vec<&str> = blocks
            .iter()
            .map(|block| block["block_id"].as_str().expect("block_id"))
            .collect();
        let mut expected: Vec<&str> = DeclarationField::ALL
            .iter()
            .map(|f| block_id_for(*f))
            .collect();
        expected.push(ONE_TIME_CODE_BLOCK_ID);
        assert_eq!(ids, expected);
        for block in blocks {
            assert_eq!(block["type"], "input");
            assert_eq!(block["element"]["action_id"], block["block_id"]);
        }
        let by_id = |id: &str| &blocks[ids.iter().position(|x| *x == id).expect("block")];
        assert_eq!(by_id(DESCRIPTION_BLOCK_ID)["element"]["multiline"], true);
        assert_eq!(by_id(DESCRIPTION_BLOCK_ID)["element"]["max_length"], 3000);
        assert_eq!(
            by_id(REPORTED_START_BLOCK_ID)["element"]["initial_date"],
            "2026-12-06"
        );
        assert_eq!(
            by_id(ENGAGEMENT_TYPE_BLOCK_ID)["element"]["options"][1]["value"],
            "Investigation"
        );
        assert_eq!(
            by_id(RESOLVER_BLOCK_ID)["element"]["initial_option"]["value"],
            "Self"
        );
        assert!(
            by_id(RESOLVER_BLOCK_ID)["element"]["options"][1]["description"]["text"]
                .as_str()
                .expect("warning")
                .contains("AWS Customer Incident Response Team")
        );
        assert_eq!(
            by_id(WATCHERS_BLOCK_ID)["element"]["type"],
            "multi_users_select"
        );
        assert_eq!(by_id(WATCHERS_BLOCK_ID)["optional"], true);
        assert_eq!(by_id(TITLE_BLOCK_ID)["optional"], false);
        // Option texts fit Slack's 75 characters.
        for block in blocks {
            for option in block["element"]["options"].as_array().into_iter().flatten() {
                assert!(
                    option["text"]["text"]
                        .as_str()
                        .expect("text")
                        .chars()
                        .count()
                        <= 75
                );
            }
        }
        let global = declare_modal(&DeclareContext::from_channel(None), today());
        assert_eq!(global["private_metadata"], "{}");
    }

    #[test]
    fn a_valid_submission_becomes_a_declaration() {
        let submission = parse_declare_submission(&submitted(&[]), today()).expect("valid");
        let declaration = &submission.declaration;
        assert_eq!(declaration.title, "Compromised IAM key");
        assert_eq!(declaration.description, "Key used\nfrom 203.0.113.7");
        assert_eq!(declaration.engagement_type, EngagementType::Investigation);
        assert_eq!(declaration.reported_start.to_string(), "2026-12-05");
        assert_eq!(
            declaration.impacted_accounts,
            ["111122223333", "444455556666"]
        );
        assert!(declaration.impacted_regions.is_empty());
        assert_eq!(declaration.impacted_services, ["Amazon S3"]);
        assert!(declaration.threat_actor_ips.is_empty());
        assert_eq!(declaration.resolver, ResolverType::SelfManaged);
        assert_eq!(declaration.watchers, ["U0BOBSMITH"]);
        assert_eq!(submission.one_time_code, None);
        assert_eq!(submission.context.channel_id.as_deref(), Some("C0ORIGIN1"));
    }

    #[test]
    fn aws_supported_with_confirmation_and_a_code() {
        let submission = parse_declare_submission(
            &submitted(&[
                (RESOLVER_BLOCK_ID, json!({"type": "radio_buttons", "selected_option": {"value": "AWS"}})),
                (AWS_CONFIRM_BLOCK_ID, json!({"type": "checkboxes", "selected_options": [{"value": AWS_CONFIRM_VALUE}]})),
                (ONE_TIME_CODE_BLOCK_ID, text(" 123456 ")),
                (REGIONS_BLOCK_ID, text("us-east-1, eu-west-1")),
                (THREAT_ACTOR_IPS_BLOCK_ID, text("203.0.113.7\n2001:db8::1")),
            ]),
            today(),
        )
        .expect("valid");
        assert_eq!(submission.declaration.resolver, ResolverType::Aws);
        assert!(submission.declaration.aws_support_confirmed);
        assert_eq!(submission.one_time_code.expect("code").as_str(), "123456");
        assert_eq!(
            submission.declaration.impacted_regions,
            ["us-east-1", "eu-west-1"]
        );
        assert_eq!(submission.declaration.threat_actor_ips.len(), 2);
    }

    #[test]
    fn each_field_error_is_keyed_by_its_block_id() {
        let cases: Vec<(&str, Value)> = vec![
            (
                TITLE_BLOCK_ID,
                json!({"type": "plain_text_input", "value": null}),
            ),
            (DESCRIPTION_BLOCK_ID, text("   ")),
            (
                ENGAGEMENT_TYPE_BLOCK_ID,
                json!({"type": "static_select", "selected_option": null}),
            ),
            (
                REPORTED_START_BLOCK_ID,
                json!({"type": "datepicker", "selected_date": "2027-01-01"}),
            ),
            (ACCOUNTS_BLOCK_ID, text("1111-2222-3333")),
            (REGIONS_BLOCK_ID, text("useast1")),
            (SERVICES_BLOCK_ID, text(&"s".repeat(101))),
            (THREAT_ACTOR_IPS_BLOCK_ID, text("203.0.113.300")),
            (
                RESOLVER_BLOCK_ID,
                json!({"type": "radio_buttons", "selected_option": {"value": "Partner"}}),
            ),
            (
                WATCHERS_BLOCK_ID,
                json!({"type": "multi_users_select", "selected_users": ["C0CHANNEL"]}),
            ),
            (ONE_TIME_CODE_BLOCK_ID, text("12345")),
        ];
        for (block_id, state) in cases {
            let errors = errors_of(&[(block_id, state)]);
            assert_eq!(
                errors.keys().collect::<Vec<_>>(),
                [block_id],
                "{block_id}: {errors:?}"
            );
            assert!(!errors[block_id].is_empty());
        }
        let unconfirmed = errors_of(&[(
            RESOLVER_BLOCK_ID,
            json!({"type": "radio_buttons", "selected_option": {"value": "AWS"}}),
        )]);
        assert_eq!(
            unconfirmed.keys().collect::<Vec<_>>(),
            [AWS_CONFIRM_BLOCK_ID]
        );
        assert!(unconfirmed[AWS_CONFIRM_BLOCK_ID].contains("AWS Customer Incident Response Team"));
    }

    #[test]
    fn all_errors_come_back_together_as_a_response() {
        let errors = parse_declare_submission(
            &submitted(&[
                (TITLE_BLOCK_ID, text("")),
                (ACCOUNTS_BLOCK_ID, text("")),
                (ONE_TIME_CODE_BLOCK_ID, text("abcdef")),
            ]),
            today(),
        )
        .expect_err("invalid");
        let response = errors.response();
        assert_eq!(response["response_action"], "errors");
        assert_eq!(
            response["errors"].as_object().expect("errors").len(),
            3,
            "{response}"
        );
        assert!(
            response["errors"][ACCOUNTS_BLOCK_ID]
                .as_str()
                .expect("accounts")
                .contains("12 digits")
        );
    }

    #[test]
    fn the_declarer_is_told_the_case_and_who_was_left_out() {
        let links = ConsoleLinks::new("eu-west-1").expect("region");
        let case_id = CaseId::new("1234567890").expect("case");
        let message = declared_message(&case_id, "Key <leak> & co", &links, &[]);
        let text = message.text.expect("text");
        assert!(
            text.contains("Case *1234567890* is declared: Key &lt;leak&gt; &amp; co"),
            "{text}"
        );
        assert!(text.contains("channel is being created"), "{text}");
        assert!(text.contains("https://eu-west-1.console.aws.amazon.com/security-ir/home?region=eu-west-1#/cases/1234567890"), "{text}");
        assert!(!text.contains("Not added"), "{text}");
        let skipped = declared_message(&case_id, "t", &links, &["U0BOT".into(), "<!here>".into()]);
        let text = skipped.text.expect("text");
        assert!(text.contains("Not added as watchers"), "{text}");
        assert!(text.contains("<@U0BOT>"), "{text}");
        assert!(!text.contains("<!here>"), "{text}");
    }

    #[test]
    fn an_empty_or_foreign_view_is_errors_not_a_panic() {
        let errors = parse_declare_submission(&json!({}), today()).expect_err("empty");
        for block_id in [
            TITLE_BLOCK_ID,
            DESCRIPTION_BLOCK_ID,
            ENGAGEMENT_TYPE_BLOCK_ID,
            REPORTED_START_BLOCK_ID,
            ACCOUNTS_BLOCK_ID,
        ] {
            assert!(errors.errors.contains_key(block_id), "{block_id}");
        }
        let mut view = submitted(&[]);
        view["private_metadata"] = json!("not json");
        let submission = parse_declare_submission(&view, today()).expect("valid");
        assert_eq!(submission.context, DeclareContext::default());
        view["private_metadata"] = json!(r#"{"channel_id":"../../etc"}"#);
        let submission = parse_declare_submission(&view, today()).expect("valid");
        assert_eq!(submission.context.channel_id, None);
    }
}
