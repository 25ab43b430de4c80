//! Declaring a new case from Slack: what a person fills in, and the rules it must pass before
//! SIR's `CreateCase` is called.
//!
//! A [`DeclarationDraft`] is the form as typed (free text for lists, wire strings for choices);
//! [`DeclarationDraft::into_declaration`] turns it into a [`Declaration`] or returns **every**
//! field that is wrong ([`DeclarationErrors`]), each with a message a person understands, so a
//! form can show all of them at once. [`Declaration::validate`] checks the same rules again on a
//! declaration that travelled (the command handler re-checks what the events handler sent).
//!
//! The limits are SIR's (`SIR-API.md`): title 1 to [`TITLE_MAX`] characters, description 1 to
//! [`DESCRIPTION_MAX`], impacted accounts 12-digit IDs (at least one), threat-actor addresses
//! IPv4 or IPv6, regions AWS region codes, engagement type `Security Incident` or
//! `Investigation`, resolver `Self` or `AWS`. Choosing `AWS` engages the AWS Customer Incident
//! Response Team, so it must be confirmed.
//!
//! ```
//! use chrono::NaiveDate;
//! use sirslack_domain::declaration::{DeclarationDraft, DeclarationField};
//!
//! let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
//! let draft = DeclarationDraft {
//!     title: "Compromised IAM key".into(),
//!     description: "Access key used from 203.0.113.7".into(),
//!     engagement_type: Some("Security Incident".into()),
//!     reported_start: Some("2026-12-05".into()),
//!     impacted_accounts: "111122223333, 444455556666".into(),
//!     threat_actor_ips: "203.0.113.7 2001:db8::1".into(),
//!     ..DeclarationDraft::default()
//! };
//! let declaration = draft.into_declaration(today)?;
//! assert_eq!(declaration.impacted_accounts, ["111122223333", "444455556666"]);
//!
//! let errors = DeclarationDraft::default().into_declaration(today).unwrap_err();
//! assert!(errors.get(DeclarationField::Title).is_some());
//! assert!(errors.get(DeclarationField::ImpactedAccounts).is_some());
//! # Ok::<(), sirslack_domain::declaration::DeclarationErrors>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use chrono::{NaiveDate, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::case::{EngagementType, ResolverType, is_account_id};
use crate::limits::{DESCRIPTION_MAX, TITLE_MAX};
use crate::wire::preview;

/// The policy subcommand that decides who may declare a case (class: mutating).
pub const CREATE_SUBCOMMAND: &str = "create";
/// How many days after the declarer's "today" (UTC) a reported start date may be: people ahead
/// of UTC pick tomorrow's date while it is still today in UTC.
pub const START_DATE_SLACK_DAYS: i64 = 1;

/// One field of a declaration, for per-field errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclarationField {
    /// The title.
    Title,
    /// The description.
    Description,
    /// Security Incident or Investigation.
    EngagementType,
    /// When the incident started, as reported.
    ReportedStart,
    /// The impacted AWS accounts.
    ImpactedAccounts,
    /// The impacted AWS regions.
    ImpactedRegions,
    /// The impacted AWS services.
    ImpactedServices,
    /// The threat actor's IP addresses.
    ThreatActorIps,
    /// Self-managed or AWS-supported.
    Resolver,
    /// The confirmation that choosing AWS-supported engages the AWS CIRT.
    AwsSupportConfirmation,
    /// The extra watchers (Slack users).
    Watchers,
}

impl DeclarationField {
    /// Every field, in form order.
    pub const ALL: [Self; 11] = [
        Self::Title,
        Self::Description,
        Self::EngagementType,
        Self::ReportedStart,
        Self::ImpactedAccounts,
        Self::ImpactedRegions,
        Self::ImpactedServices,
        Self::ThreatActorIps,
        Self::Resolver,
        Self::AwsSupportConfirmation,
        Self::Watchers,
    ];
}

/// Every field of a declaration that is wrong, with what to fix. Never empty when returned as
/// an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct DeclarationErrors {
    errors: BTreeMap<DeclarationField, String>,
}

impl DeclarationErrors {
    /// Records what is wrong with `field` (the first message for a field is kept).
    pub fn push(&mut self, field: DeclarationField, message: impl Into<String>) {
        self.errors.entry(field).or_insert_with(|| message.into());
    }

    /// The message for `field`, if it is wrong.
    pub fn get(&self, field: DeclarationField) -> Option<&str> {
        self.errors.get(&field).map(String::as_str)
    }

    /// The wrong fields and their messages, in form order.
    pub fn iter(&self) -> impl Iterator<Item = (DeclarationField, &str)> {
        self.errors
            .iter()
            .map(|(field, message)| (*field, message.as_str()))
    }

    /// How many fields are wrong.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, Self> {
        if self.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for DeclarationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let messages: Vec<&str> = self.errors.values().map(String::as_str).collect();
        write!(f, "{}", messages.join(" "))
    }
}

/// The declare form as typed: free text for lists (IDs separated by commas, spaces or new
/// lines; services by commas or new lines), wire strings for choices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeclarationDraft {
    /// The title.
    pub title: String,
    /// The description (several lines).
    pub description: String,
    /// `Security Incident` or `Investigation`; `None` when nothing was chosen.
    pub engagement_type: Option<String>,
    /// `YYYY-MM-DD`; `None` when no date was picked.
    pub reported_start: Option<String>,
    /// One or more 12-digit account IDs.
    pub impacted_accounts: String,
    /// Region codes (`us-east-1`), optional.
    pub impacted_regions: String,
    /// Service names, optional.
    pub impacted_services: String,
    /// IPv4 or IPv6 addresses, optional.
    pub threat_actor_ips: String,
    /// `Self` or `AWS`; `None` means `Self`.
    pub resolver: Option<String>,
    /// Whether the AWS-supported confirmation box is ticked.
    pub aws_support_confirmed: bool,
    /// Slack user IDs of extra watchers.
    pub watchers: Vec<String>,
}

/// A validated declaration, ready for SIR's `CreateCase` (see [`DeclarationDraft`] for how one
/// is made). Its serde form travels from the events handler to the command handler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declaration {
    /// 1 to [`TITLE_MAX`] characters, trimmed.
    pub title: String,
    /// 1 to [`DESCRIPTION_MAX`] characters, trimmed, new lines kept.
    pub description: String,
    /// A known engagement type.
    pub engagement_type: EngagementType,
    /// The reported start date (the day, in UTC).
    pub reported_start: NaiveDate,
    /// At least one 12-digit account ID, without duplicates, in the order typed.
    pub impacted_accounts: Vec<String>,
    /// Region codes, without duplicates.
    #[serde(default)]
    pub impacted_regions: Vec<String>,
    /// Service names, without duplicates.
    #[serde(default)]
    pub impacted_services: Vec<String>,
    /// Threat-actor addresses, without duplicates.
    #[serde(default)]
    pub threat_actor_ips: Vec<IpAddr>,
    /// A known resolver.
    pub resolver: ResolverType,
    /// Whether the declarer confirmed that AWS-supported engages the AWS CIRT (required for
    /// [`ResolverType::Aws`]).
    #[serde(default)]
    pub aws_support_confirmed: bool,
    /// Slack user IDs of extra watchers (the declarer is always a watcher; not listed here).
    #[serde(default)]
    pub watchers: Vec<String>,
}

impl DeclarationDraft {
    /// The declaration, or every field that is wrong. `today` is the current date (UTC): a
    /// reported start more than [`START_DATE_SLACK_DAYS`] after it is refused.
    pub fn into_declaration(self, today: NaiveDate) -> Result<Declaration, DeclarationErrors> {
        let mut errors = DeclarationErrors::default();
        let title = self.title.trim().to_owned();
        let description = self.description.trim().to_owned();
        let engagement_type = match self.engagement_type.as_deref().map(str::trim) {
            None | Some("") => {
                errors.push(
                    DeclarationField::EngagementType,
                    "Choose Security Incident or Investigation.",
                );
                EngagementType::SecurityIncident
            }
            Some(value) => EngagementType::from(value),
        };
        let reported_start = match self.reported_start.as_deref().map(str::trim) {
            None | Some("") => {
                errors.push(
                    DeclarationField::ReportedStart,
                    "Pick the date the incident started.",
                );
                today
            }
            Some(value) => NaiveDate::parse_from_str(value, "%Y-%m-%d").unwrap_or_else(|_| {
                errors.push(
                    DeclarationField::ReportedStart,
                    format!("`{}` is not a date (YYYY-MM-DD).", preview(value)),
                );
                today
            }),
        };
        let impacted_accounts = unique(split_ids(&self.impacted_accounts));
        let impacted_regions = unique(split_ids(&self.impacted_regions));
        let impacted_services = unique(split_lines_and_commas(&self.impacted_services));
        let mut threat_actor_ips = Vec::new();
        let mut bad_ips = Vec::new();
        for text in unique(split_ids(&self.threat_actor_ips)) {
            match text.parse::<IpAddr>() {
                Ok(ip) if !threat_actor_ips.contains(&ip) => threat_actor_ips.push(ip),
                Ok(_) => {}
                Err(_) => bad_ips.push(text),
            }
        }
        if !bad_ips.is_empty() {
            errors.push(
                DeclarationField::ThreatActorIps,
                format!(
                    "Not an IPv4 or IPv6 address: {}.",
                    quoted_list(&bad_ips, MAX_QUOTED)
                ),
            );
        }
        let resolver = match self.resolver.as_deref().map(str::trim) {
            None | Some("") => ResolverType::SelfManaged,
            Some(value) => ResolverType::from(value),
        };
        let declaration = Declaration {
            title,
            description,
            engagement_type,
            reported_start,
            impacted_accounts,
            impacted_regions,
            impacted_services,
            threat_actor_ips,
            resolver,
            aws_support_confirmed: self.aws_support_confirmed,
            watchers: unique(
                self.watchers
                    .iter()
                    .map(|id| id.trim().to_owned())
                    .collect(),
            ),
        };
        declaration.check(today, &mut errors);
        errors.into_result(|| declaration)
    }
}

/// At most this many wrong items are quoted in one message.
const MAX_QUOTED: usize = 3;

impl Declaration {
    /// Checks every rule again (for a declaration that travelled); `Err` lists every wrong
    /// field.
    pub fn validate(&self, today: NaiveDate) -> Result<(), DeclarationErrors> {
        let mut errors = DeclarationErrors::default();
        self.check(today, &mut errors);
        errors.into_result(|| ())
    }

    /// The reported start as SIR takes it: midnight UTC of the reported day.
    pub fn reported_start_at(&self) -> chrono::DateTime<Utc> {
        self.reported_start.and_time(NaiveTime::MIN).and_utc()
    }

    fn check(&self, today: NaiveDate, errors: &mut DeclarationErrors) {
        check_text(
            errors,
            DeclarationField::Title,
            &self.title,
            "title",
            TITLE_MAX,
        );
        check_text(
            errors,
            DeclarationField::Description,
            &self.description,
            "description",
            DESCRIPTION_MAX,
        );
        if !self.engagement_type.is_known() {
            errors.push(
                DeclarationField::EngagementType,
                "Choose Security Incident or Investigation.",
            );
        }
        if self.reported_start > today + TimeDelta::days(START_DATE_SLACK_DAYS) {
            errors.push(
                DeclarationField::ReportedStart,
                "The start date cannot be in the future.",
            );
        }
        let bad_accounts: Vec<String> = self
            .impacted_accounts
            .iter()
            .filter(|id| !is_account_id(id))
            .cloned()
            .collect();
        if self.impacted_accounts.is_empty() {
            errors.push(
                DeclarationField::ImpactedAccounts,
                "Enter at least one impacted AWS account ID (12 digits).",
            );
        } else if !bad_accounts.is_empty() {
            errors.push(
                DeclarationField::ImpactedAccounts,
                format!(
                    "An AWS account ID is exactly 12 digits: {} is not one.",
                    quoted_list(&bad_accounts, MAX_QUOTED)
                ),
            );
        }
        let bad_regions: Vec<String> = self
            .impacted_regions
            .iter()
            .filter(|region| !is_region_code(region))
            .cloned()
            .collect();
        if !bad_regions.is_empty() {
            errors.push(
                DeclarationField::ImpactedRegions,
                format!(
                    "Not an AWS region code (like us-east-1): {}.",
                    quoted_list(&bad_regions, MAX_QUOTED)
                ),
            );
        }
        if self
            .impacted_services
            .iter()
            .any(|service| service.chars().count() > SERVICE_NAME_MAX)
        {
            errors.push(
                DeclarationField::ImpactedServices,
                format!("A service name has at most {SERVICE_NAME_MAX} characters."),
            );
        }
        if !self.resolver.is_known() {
            errors.push(
                DeclarationField::Resolver,
                "Choose self-managed or AWS-supported.",
            );
        } else if self.resolver == ResolverType::Aws && !self.aws_support_confirmed {
            errors.push(
                DeclarationField::AwsSupportConfirmation,
                "AWS-supported engages the AWS Customer Incident Response Team: tick the box to \
                 confirm, or choose self-managed.",
            );
        }
        if self.watchers.iter().any(|id| !is_slack_user_id(id)) {
            errors.push(
                DeclarationField::Watchers,
                "Pick watchers from the list of people.",
            );
        }
    }
}

/// Most characters in one impacted service name: a sanity bound on free text.
pub const SERVICE_NAME_MAX: usize = 100;

/// Whether `text` has the shape of an AWS region code: a two-letter prefix, words of lowercase
/// letters, and a number, joined by dashes (`us-east-1`, `us-gov-west-1`, `ap-southeast-5`).
/// The shape, not a list, so that new regions are accepted.
pub fn is_region_code(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [prefix, middle @ .., number] = parts.as_slice() else {
        return false;
    };
    !middle.is_empty()
        && prefix.len() == 2
        && prefix.bytes().all(|b| b.is_ascii_lowercase())
        && middle
            .iter()
            .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// `U0123ABCD`- or `W0123ABCD`-like: a Slack user ID.
fn is_slack_user_id(id: &str) -> bool {
    id.starts_with(['U', 'W'])
        && (3..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn check_text(
    errors: &mut DeclarationErrors,
    field: DeclarationField,
    text: &str,
    name: &str,
    max: usize,
) {
    let len = text.chars().count();
    if text.trim().is_empty() {
        errors.push(field, format!("Enter a {name}."));
    } else if len > max {
        errors.push(
            field,
            format!("The {name} has {len} characters; the limit is {max}."),
        );
    }
}

/// Items separated by commas, semicolons, spaces or new lines.
fn split_ids(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Items separated by commas or new lines (a service name may contain spaces).
fn split_lines_and_commas(text: &str) -> Vec<String> {
    text.split([',', '\n', ';'])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `items` without repeats, first occurrence kept.
fn unique(items: Vec<String>) -> Vec<String> {
    let mut seen = Vec::with_capacity(items.len());
    for item in items {
        if !item.is_empty() && !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

/// `` `a`, `b` and 2 more `` for messages.
fn quoted_list(items: &[String], max: usize) -> String {
    let mut shown: Vec<String> = items
        .iter()
        .take(max)
        .map(|item| format!("`{}`", preview(item)))
        .collect();
    if items.len() > max {
        shown.push(format!("{} more", items.len() - max));
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 6).expect("date")
    }

    fn draft() -> DeclarationDraft {
        DeclarationDraft {
            title: "  Compromised IAM key ".into(),
            description: "Access key used\nfrom 203.0.113.7\n".into(),
            engagement_type: Some("Security Incident".into()),
            reported_start: Some("2026-12-05".into()),
            impacted_accounts: "111122223333,444455556666\n111122223333".into(),
            impacted_regions: "us-east-1 eu-west-1".into(),
            impacted_services: "Amazon S3, AWS IAM\nAmazon EC2".into(),
            threat_actor_ips: "203.0.113.7; 2001:db8::1".into(),
            resolver: Some("Self".into()),
            aws_support_confirmed: false,
            watchers: vec!["U0BOBSMITH".into()],
        }
    }

    #[test]
    fn a_complete_draft_becomes_a_declaration() {
        let declaration = draft().into_declaration(today()).expect("valid");
        assert_eq!(declaration.title, "Compromised IAM key");
        assert_eq!(declaration.description, "Access key used\nfrom 203.0.113.7");
        assert_eq!(
            declaration.engagement_type,
            EngagementType::SecurityIncident
        );
        assert_eq!(
            declaration.impacted_accounts,
            ["111122223333", "444455556666"]
        );
        assert_eq!(declaration.impacted_regions, ["us-east-1", "eu-west-1"]);
        assert_eq!(
            declaration.impacted_services,
            ["Amazon S3", "AWS IAM", "Amazon EC2"]
        );
        assert_eq!(declaration.threat_actor_ips.len(), 2);
        assert!(declaration.threat_actor_ips[1].is_ipv6());
        assert_eq!(declaration.resolver, ResolverType::SelfManaged);
        assert_eq!(
            declaration.reported_start_at().to_rfc3339(),
            "2026-12-05T00:00:00+00:00"
        );
        assert_eq!(declaration.validate(today()), Ok(()));
        let json = serde_json::to_value(&declaration).expect("json");
        assert_eq!(json["engagement_type"], "Security Incident");
        assert_eq!(json["resolver"], "Self");
        assert_eq!(json["reported_start"], "2026-12-05");
        assert_eq!(json["threat_actor_ips"][1], "2001:db8::1");
        let back: Declaration = serde_json::from_value(json).expect("back");
        assert_eq!(back, declaration);
    }

    #[test]
    fn every_wrong_field_is_reported_at_once() {
        let wrong = DeclarationDraft {
            title: "   ".into(),
            description: "x".repeat(DESCRIPTION_MAX + 1),
            engagement_type: Some("Drill".into()),
            reported_start: Some("2026-12-08".into()),
            impacted_accounts: "12345, 111122223333".into(),
            impacted_regions: "us-east-1 mars-1".into(),
            impacted_services: "s".repeat(SERVICE_NAME_MAX + 1),
            threat_actor_ips: "203.0.113.7 999.1.1.1".into(),
            resolver: Some("AWS".into()),
            aws_support_confirmed: false,
            watchers: vec!["not-a-user".into()],
        };
        let errors = wrong.into_declaration(today()).expect_err("invalid");
        let fields: Vec<DeclarationField> = errors.iter().map(|(field, _)| field).collect();
        assert_eq!(
            fields,
            [
                DeclarationField::Title,
                DeclarationField::Description,
                DeclarationField::EngagementType,
                DeclarationField::ReportedStart,
                DeclarationField::ImpactedAccounts,
                DeclarationField::ImpactedRegions,
                DeclarationField::ImpactedServices,
                DeclarationField::ThreatActorIps,
                DeclarationField::AwsSupportConfirmation,
                DeclarationField::Watchers,
            ]
        );
        let message = |field| errors.get(field).expect("message");
        assert_eq!(message(DeclarationField::Title), "Enter a title.");
        assert!(message(DeclarationField::Description).contains("limit is 8000"));
        assert!(message(DeclarationField::ImpactedAccounts).contains("`12345`"));
        assert!(!message(DeclarationField::ImpactedAccounts).contains("111122223333"));
        assert!(message(DeclarationField::ImpactedRegions).contains("`mars-1`"));
        assert!(message(DeclarationField::ThreatActorIps).contains("`999.1.1.1`"));
        assert!(
            message(DeclarationField::AwsSupportConfirmation).contains("AWS Customer Incident")
        );
        assert!(message(DeclarationField::ReportedStart).contains("future"));
        assert_eq!(errors.len(), 10);
        assert!(errors.to_string().contains("Enter a title."));
    }

    #[test]
    fn missing_required_fields() {
        let errors = DeclarationDraft::default()
            .into_declaration(today())
            .expect_err("empty");
        for field in [
            DeclarationField::Title,
            DeclarationField::Description,
            DeclarationField::EngagementType,
            DeclarationField::ReportedStart,
            DeclarationField::ImpactedAccounts,
        ] {
            assert!(errors.get(field).is_some(), "{field:?}");
        }
        // Optional fields and the default resolver are fine empty.
        for field in [
            DeclarationField::ImpactedRegions,
            DeclarationField::ImpactedServices,
            DeclarationField::ThreatActorIps,
            DeclarationField::Resolver,
            DeclarationField::AwsSupportConfirmation,
            DeclarationField::Watchers,
        ] {
            assert_eq!(errors.get(field), None, "{field:?}");
        }
        let mut bad_date = draft();
        bad_date.reported_start = Some("05/12/2026".into());
        let errors = bad_date.into_declaration(today()).expect_err("date");
        assert!(
            errors
                .get(DeclarationField::ReportedStart)
                .expect("date error")
                .contains("YYYY-MM-DD")
        );
    }

    #[test]
    fn aws_supported_needs_the_confirmation_and_tomorrow_is_allowed() {
        let mut aws = draft();
        aws.resolver = Some("AWS".into());
        aws.aws_support_confirmed = true;
        aws.reported_start = Some("2026-12-07".into());
        let declaration = aws.into_declaration(today()).expect("confirmed");
        assert_eq!(declaration.resolver, ResolverType::Aws);
        let mut unconfirmed = declaration.clone();
        unconfirmed.aws_support_confirmed = false;
        let errors = unconfirmed.validate(today()).expect_err("unconfirmed");
        assert_eq!(errors.len(), 1);
        assert!(
            errors
                .get(DeclarationField::AwsSupportConfirmation)
                .is_some()
        );
        let mut unknown = declaration;
        unknown.resolver = ResolverType::from("Partner");
        assert!(
            unknown
                .validate(today())
                .expect_err("unknown")
                .get(DeclarationField::Resolver)
                .is_some()
        );
    }

    #[test]
    fn long_lists_of_wrong_items_are_cut() {
        let mut many = draft();
        many.impacted_accounts = "1 2 3 4 5 6".into();
        let errors = many.into_declaration(today()).expect_err("accounts");
        let message = errors.get(DeclarationField::ImpactedAccounts).expect("msg");
        assert!(message.contains("`1`, `2`, `3`, 3 more"), "{message}");
    }

    #[test]
    fn region_codes() {
        for good in [
            "us-east-1",
            "us-gov-west-1",
            "ap-southeast-5",
            "eu-central-2",
        ] {
            assert!(is_region_code(good), "{good}");
        }
        for bad in [
            "",
            "us-east",
            "useast-1",
            "US-EAST-1",
            "us--1",
            "us-east-100",
            "mars-1",
        ] {
            assert!(!is_region_code(bad), "{bad}");
        }
    }
}
