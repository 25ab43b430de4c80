//! Case identifiers, the case model, its wire-string enums and comment authors.
//!
//! Field names and values follow the SIR API (see `SIR-API.md`): the mapper crate turns SDK
//! responses into these types, and the serde form of [`Case`] is part of the integration
//! event contract (see [`crate::events`]).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::status::CaseStatus;
use crate::wire::preview;

/// Fewest digits in a case ID.
pub const CASE_ID_MIN_DIGITS: usize = 10;
/// Most digits in a case ID.
pub const CASE_ID_MAX_DIGITS: usize = 32;

/// Why a string is not a [`CaseId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaseIdError {
    /// The text is not 10 to 32 ASCII digits.
    #[error("`{input}` is not a case ID (a case ID is 10 to 32 digits)")]
    Invalid {
        /// A short preview of the rejected input.
        input: String,
    },
    /// The text is not a SIR case ARN (`arn:<partition>:security-ir:<region>:<account>:case/<id>`).
    #[error("`{input}` is not a Security Incident Response case ARN")]
    NotACaseArn {
        /// A short preview of the rejected input.
        input: String,
    },
}

/// A SIR case ID: 10 to 32 ASCII digits (`\d{10,32}`), validated on construction.
///
/// Ordering is lexicographic on the digits, which is stable but not numeric.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseId(String);

impl CaseId {
    /// Validates `value` (surrounding whitespace is ignored) as a case ID.
    pub fn new(value: &str) -> Result<Self, CaseIdError> {
        let trimmed = value.trim();
        let digits = trimmed.len();
        if (CASE_ID_MIN_DIGITS..=CASE_ID_MAX_DIGITS).contains(&digits)
            && trimmed.bytes().all(|b| b.is_ascii_digit())
        {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(CaseIdError::Invalid {
                input: preview(value),
            })
        }
    }

    /// Takes the case ID out of a case ARN such as
    /// `arn:aws:security-ir:us-east-1:123456789012:case/1234567890`.
    ///
    /// GetCase returns no `caseId`, only `caseArn`, so this is how a fetched case learns its ID.
    /// Any partition (`aws`, `aws-cn`, `aws-us-gov`, ...) is accepted.
    pub fn from_arn(arn: &str) -> Result<Self, CaseIdError> {
        let not_an_arn = || CaseIdError::NotACaseArn {
            input: preview(arn),
        };
        let parts: Vec<&str> = arn.trim().splitn(6, ':').collect();
        let [prefix, partition, service, _region, _account, resource] = parts[..] else {
            return Err(not_an_arn());
        };
        if prefix != "arn" || partition.is_empty() || service != "security-ir" {
            return Err(not_an_arn());
        }
        let id = resource.strip_prefix("case/").ok_or_else(not_an_arn)?;
        Self::new(id).map_err(|_| not_an_arn())
    }

    /// The digits of the ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CaseId {
    type Err = CaseIdError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::new(value)
    }
}

impl TryFrom<String> for CaseId {
    type Error = CaseIdError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<CaseId> for String {
    fn from(id: CaseId) -> Self {
        id.0
    }
}

impl AsRef<str> for CaseId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a string is not a [`CommentId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommentIdError {
    /// The ID is empty or only whitespace.
    #[error("a comment ID cannot be empty")]
    Empty,
}

/// A SIR comment ID.
///
/// The service documents comment IDs as 6 digits, but this type accepts any non-empty
/// (trimmed) string so that a change of format on the service side never drops comments;
/// [`CommentId::is_canonical`] tells whether the ID has the documented form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CommentId(String);

impl CommentId {
    /// Accepts any non-empty string (surrounding whitespace is ignored).
    pub fn new(value: &str) -> Result<Self, CommentIdError> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            Err(CommentIdError::Empty)
        } else {
            Ok(Self(trimmed.to_owned()))
        }
    }

    /// Whether the ID has the documented form: exactly 6 ASCII digits.
    pub fn is_canonical(&self) -> bool {
        self.0.len() == 6 && self.0.bytes().all(|b| b.is_ascii_digit())
    }

    /// The ID as the service sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CommentId {
    type Err = CommentIdError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::new(value)
    }
}

impl TryFrom<String> for CommentId {
    type Error = CommentIdError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<CommentId> for String {
    fn from(id: CommentId) -> Self {
        id.0
    }
}

impl AsRef<str> for CommentId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CommentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

wire_enum! {
    /// What kind of engagement a case is (`engagementType`).
    pub enum EngagementType {
        /// `Security Incident`.
        SecurityIncident => "Security Incident",
        /// `Investigation`.
        Investigation => "Investigation",
    }
}

wire_enum! {
    /// Who works the case (`resolverType`).
    pub enum ResolverType {
        /// `AWS`: the AWS Customer Incident Response Team.
        Aws => "AWS",
        /// `Self`: the customer's own team.
        SelfManaged => "Self",
    }
}

wire_enum! {
    /// Whose move it is on the case (`pendingAction`).
    ///
    /// Note that [`PendingAction::None`] is the service's value `None` ("nobody is awaited"),
    /// distinct from the field being absent (`Option::None` on [`Case::pending_action`]).
    pub enum PendingAction {
        /// `Customer`: AWS is waiting on the customer.
        Customer => "Customer",
        /// `None`: nothing is pending.
        None => "None",
    }
}

wire_enum! {
    /// Why a case was closed (`closureCode`).
    pub enum ClosureCode {
        /// `Investigation Completed`.
        InvestigationCompleted => "Investigation Completed",
        /// `Not Resolved`.
        NotResolved => "Not Resolved",
        /// `False Positive`.
        FalsePositive => "False Positive",
        /// `Duplicate`.
        Duplicate => "Duplicate",
    }
}

wire_enum! {
    /// The state of an uploaded attachment (`attachmentStatus`). Only verified attachments are
    /// safe to download and share.
    pub enum AttachmentStatus {
        /// `Verified`: scanned and available.
        Verified => "Verified",
        /// `Failed`: rejected by the service.
        Failed => "Failed",
        /// `Pending`: still being processed.
        Pending => "Pending",
    }
}

/// An IP address recorded as belonging to the threat actor, with the user agent seen with it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreatActorIp {
    /// The IP address as the service stores it.
    pub ip_address: String,
    /// The user agent seen with the address, when known.
    #[serde(default)]
    pub user_agent: Option<String>,
}

/// Someone who follows a case.
///
/// Two watchers are the same person when their e-mail addresses match ignoring case and
/// surrounding whitespace (see [`Watcher::email_key`]); equality and hashing use that key, so
/// `Jane@Example.com` and `jane@example.com` with the same name and job title are equal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Watcher {
    /// The e-mail address, as the service stores it.
    pub email: String,
    /// The display name, when known.
    #[serde(default)]
    pub name: Option<String>,
    /// The job title, when known.
    #[serde(default)]
    pub job_title: Option<String>,
}

impl Watcher {
    /// A watcher known only by e-mail address.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            name: None,
            job_title: None,
        }
    }

    /// The normalised identity of the watcher: the e-mail trimmed and lower-cased. Use it as
    /// the key whenever watchers are merged, deduplicated or compared as people.
    pub fn email_key(&self) -> String {
        self.email.trim().to_lowercase()
    }

    /// Whether `other` is the same person (same [`Watcher::email_key`]), whatever the name
    /// and job title say.
    pub fn is_same_person(&self, other: &Watcher) -> bool {
        self.email_key() == other.email_key()
    }
}

impl PartialEq for Watcher {
    fn eq(&self, other: &Self) -> bool {
        self.is_same_person(other) && self.name == other.name && self.job_title == other.job_title
    }
}

impl Eq for Watcher {}

impl Hash for Watcher {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.email_key().hash(state);
        self.name.hash(state);
        self.job_title.hash(state);
    }
}

/// A file attached to a case. The service reports no size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// The attachment ID (a UUID).
    pub id: String,
    /// The file name as stored by SIR (`[a-zA-Z0-9._-]+`).
    pub file_name: String,
    /// Whether the file is available.
    pub status: AttachmentStatus,
    /// The principal that uploaded it (see [`author_display`]).
    pub creator: String,
    /// When it was uploaded.
    pub created_at: DateTime<Utc>,
}

impl Attachment {
    /// Whether the attachment has been verified and may be downloaded.
    pub fn is_verified(&self) -> bool {
        self.status == AttachmentStatus::Verified
    }
}

/// A comment on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    /// The comment ID.
    pub id: CommentId,
    /// The text, as stored by SIR.
    pub body: String,
    /// The principal that wrote it, from the API's `creator` field (see [`author_display`]).
    pub creator: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it was last edited, if ever.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Who last edited it (the API's `lastUpdatedBy`, a principal like `creator`), only when
    /// it was edited after it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

impl Comment {
    /// Whether the integration itself wrote this comment (it starts with the
    /// [`crate::marker::SLACK_UPDATE_MARKER`]), so it must not be copied back to Slack.
    pub fn is_from_integration(&self) -> bool {
        crate::marker::is_integration_comment(&self.body)
    }

    /// The author as a person reads it (see [`author_display`]).
    pub fn author_display(&self) -> String {
        author_display(&self.creator)
    }

    /// The SHA-256 of the body as SIR stores it, in lower-case hex: what the poller records
    /// when it publishes a comment, so that a later sync can tell that the body was edited
    /// (without keeping the text itself).
    pub fn body_sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(self.body.as_bytes()))
    }
}

/// A SIR case, without its comments (those are listed separately).
///
/// List fields hold what the service returned, in its order; compare them as sets (as
/// [`crate::events::diff_case`] does). Missing list fields deserialise as empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Case {
    /// The case ID.
    pub id: CaseId,
    /// The title (1 to 300 characters on the service).
    pub title: String,
    /// The description (1 to 8,000 characters on the service).
    pub description: String,
    /// The current status.
    pub status: CaseStatus,
    /// Security incident or investigation.
    pub engagement_type: EngagementType,
    /// Who works the case.
    pub resolver: ResolverType,
    /// Whose move it is, when the service says.
    #[serde(default)]
    pub pending_action: Option<PendingAction>,
    /// Impacted AWS account IDs.
    #[serde(default)]
    pub impacted_accounts: Vec<String>,
    /// Impacted AWS regions (`impactedAwsRegions`).
    #[serde(default)]
    pub impacted_regions: Vec<String>,
    /// Impacted AWS services.
    #[serde(default)]
    pub impacted_services: Vec<String>,
    /// Threat-actor IP addresses.
    #[serde(default)]
    pub threat_actor_ips: Vec<ThreatActorIp>,
    /// People who follow the case.
    #[serde(default)]
    pub watchers: Vec<Watcher>,
    /// When the case was created.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// When the case last changed.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// When the case was closed, if it is.
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    /// When the reporter says the incident started.
    #[serde(default)]
    pub reported_incident_start: Option<DateTime<Utc>>,
    /// When the investigation found the incident actually started.
    #[serde(default)]
    pub actual_incident_start: Option<DateTime<Utc>>,
    /// Why the case was closed, if it is.
    #[serde(default)]
    pub closure_code: Option<ClosureCode>,
    /// Files attached to the case.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// Severity from the `severity` key of `caseMetadata`, when present (SIR has no severity
    /// field of its own).
    #[serde(default)]
    pub severity: Option<String>,
}

impl Case {
    /// A case with the required fields set and everything else empty; handy for the mapper's
    /// builders and for tests.
    pub fn new(
        id: CaseId,
        title: impl Into<String>,
        description: impl Into<String>,
        status: CaseStatus,
        engagement_type: EngagementType,
        resolver: ResolverType,
    ) -> Self {
        Self {
            id,
            title: title.into(),
            description: description.into(),
            status,
            engagement_type,
            resolver,
            pending_action: None,
            impacted_accounts: Vec::new(),
            impacted_regions: Vec::new(),
            impacted_services: Vec::new(),
            threat_actor_ips: Vec::new(),
            watchers: Vec::new(),
            created_at: None,
            updated_at: None,
            closed_at: None,
            reported_incident_start: None,
            actual_incident_start: None,
            closure_code: None,
            attachments: Vec::new(),
            severity: None,
        }
    }

    /// Whether the case is closed.
    pub fn is_closed(&self) -> bool {
        self.status.is_closed()
    }
}

/// The author shown for an empty or missing principal.
pub const UNKNOWN_AUTHOR: &str = "Unknown author";

/// The service principal SIR uses for its own comments.
const SIR_SERVICE_PRINCIPAL: &str = "security-ir.amazonaws.com";

/// An open case and its Slack channel, as the table records them: what the App Home tab
/// lists for a person who is in the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseInChannel {
    /// The case.
    pub case_id: CaseId,
    /// Its Slack channel.
    pub channel_id: String,
    /// The title, when the poller has synced the case.
    pub title: Option<String>,
    /// The status last synced.
    pub status: Option<CaseStatus>,
    /// SIR's `lastUpdatedDate` last synced.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Turns a SIR principal (a comment's or attachment's `creator`) into a name a person reads.
///
/// - `AWS Responder` stays as it is;
/// - `security-ir.amazonaws.com` becomes `AWS Security Incident Response`;
/// - a 12-digit account becomes `AWS account 123456789012`;
/// - an IAM user or role ARN becomes its name with the account, `Admin (123456789012)`;
/// - an STS assumed-role ARN `arn:aws:sts::123456789012:assumed-role/Admin/jane` becomes
///   `jane via Admin (123456789012)`; a federated user becomes `jane (123456789012)`;
/// - an account root ARN becomes `root user (123456789012)`;
/// - anything else is returned trimmed, and an empty principal is [`UNKNOWN_AUTHOR`].
pub fn author_display(creator: &str) -> String {
    let creator = creator.trim();
    if creator.is_empty() {
        return UNKNOWN_AUTHOR.to_owned();
    }
    if creator.eq_ignore_ascii_case(SIR_SERVICE_PRINCIPAL) {
        return "AWS Security Incident Response".to_owned();
    }
    if is_account_id(creator) {
        return format!("AWS account {creator}");
    }
    iam_principal_display(creator).unwrap_or_else(|| creator.to_owned())
}

/// Whether `text` is an AWS account ID: exactly 12 ASCII digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Names an IAM or STS principal ARN, or `None` when `arn` is not one.
fn iam_principal_display(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, _partition, service, _region, account, resource] = parts[..] else {
        return None;
    };
    if prefix != "arn" || !matches!(service, "iam" | "sts") || !is_account_id(account) {
        return None;
    }
    if resource == "root" {
        return Some(format!("root user ({account})"));
    }
    let (kind, path) = resource.split_once('/')?;
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (kind, segments.as_slice()) {
        // assumed-role/<role name>/<session name>; a role path is not part of an STS ARN.
        ("assumed-role", [role, session]) => Some(format!("{session} via {role} ({account})")),
        ("assumed-role", [role]) => Some(format!("{role} ({account})")),
        // user/<path>/<name>, role/<path>/<name>, federated-user/<name>: the last segment names it.
        ("user" | "role" | "federated-user" | "group", [.., name]) => {
            Some(format!("{name} ({account})"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_id_accepts_10_to_32_digits() {
        assert_eq!(CaseId::new("1234567890").unwrap().as_str(), "1234567890");
        assert!(CaseId::new(&"9".repeat(32)).is_ok());
        assert!(CaseId::new(" 1234567890 ").is_ok());
        assert!(CaseId::new("123456789").is_err());
        assert!(CaseId::new(&"9".repeat(33)).is_err());
        assert!(CaseId::new("12345678901a").is_err());
        assert!(CaseId::new("").is_err());
        // Non-ASCII digits are not digits for the service.
        assert!(CaseId::new("١٢٣٤٥٦٧٨٩٠").is_err());
    }

    #[test]
    fn case_id_error_quotes_a_short_preview() {
        let err = CaseId::new(&"x".repeat(500)).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("10 to 32 digits"));
        assert!(message.len() < 200, "{message}");
    }

    #[test]
    fn case_id_from_arn() {
        let id =
            CaseId::from_arn("arn:aws:security-ir:us-east-1:123456789012:case/1234567890").unwrap();
        assert_eq!(id.to_string(), "1234567890");
        assert!(
            CaseId::from_arn("arn:aws-cn:security-ir:cn-north-1:123456789012:case/98765432101")
                .is_ok()
        );
        for bad in [
            "",
            "1234567890",
            "arn:aws:s3:::bucket/case/1234567890",
            "arn:aws:security-ir:us-east-1:123456789012:membership/1234567890",
            "arn:aws:security-ir:us-east-1:123456789012:case/123",
            "arn:aws:security-ir:us-east-1:123456789012:case/1234567890/x",
            "arn::security-ir:us-east-1:123456789012:case/1234567890",
        ] {
            assert!(
                matches!(CaseId::from_arn(bad), Err(CaseIdError::NotACaseArn { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn case_id_serde_is_a_plain_string_and_validates() {
        let id = CaseId::new("1234567890").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""1234567890""#);
        assert_eq!(
            serde_json::from_str::<CaseId>(r#""1234567890""#).unwrap(),
            id
        );
        assert!(serde_json::from_str::<CaseId>(r#""12""#).is_err());
    }

    #[test]
    fn comment_id_is_lenient_but_not_empty() {
        assert!(CommentId::new("123456").unwrap().is_canonical());
        let odd = CommentId::new("abc-1").unwrap();
        assert!(!odd.is_canonical());
        assert_eq!(odd.as_str(), "abc-1");
        assert_eq!(CommentId::new("  "), Err(CommentIdError::Empty));
        assert!(serde_json::from_str::<CommentId>(r#""""#).is_err());
    }

    #[test]
    fn wire_enums_round_trip_exact_strings() {
        for value in EngagementType::KNOWN {
            assert_eq!(&EngagementType::from(value.as_str()), value);
        }
        assert_eq!(ResolverType::SelfManaged.as_str(), "Self");
        assert_eq!(ResolverType::from("AWS"), ResolverType::Aws);
        assert_eq!(PendingAction::from("None"), PendingAction::None);
        assert_eq!(
            ClosureCode::from("false positive"),
            ClosureCode::FalsePositive
        );
        assert_eq!(
            ClosureCode::from("Something New"),
            ClosureCode::Other("Something New".to_owned())
        );
        assert_eq!(
            serde_json::to_string(&EngagementType::SecurityIncident).unwrap(),
            r#""Security Incident""#
        );
        assert_eq!(
            serde_json::from_str::<AttachmentStatus>(r#""Quarantined""#).unwrap(),
            AttachmentStatus::Other("Quarantined".to_owned())
        );
        assert!(!AttachmentStatus::Other("x".into()).is_known());
    }

    #[test]
    fn watchers_compare_email_case_insensitively() {
        let a = Watcher {
            email: "Jane@Example.com ".into(),
            name: Some("Jane".into()),
            job_title: None,
        };
        let b = Watcher {
            email: "jane@example.com".into(),
            name: Some("Jane".into()),
            job_title: None,
        };
        assert_eq!(a, b);
        assert_eq!(a.email_key(), "jane@example.com");
        let renamed = Watcher {
            name: Some("Jane Doe".into()),
            ..b.clone()
        };
        assert_ne!(a, renamed);
        assert!(a.is_same_person(&renamed));
        let set: std::collections::HashSet<Watcher> = [a, b].into_iter().collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn author_display_names_principals() {
        let cases = [
            ("AWS Responder", "AWS Responder"),
            ("  AWS Responder ", "AWS Responder"),
            (
                "security-ir.amazonaws.com",
                "AWS Security Incident Response",
            ),
            ("123456789012", "AWS account 123456789012"),
            (
                "arn:aws:iam::123456789012:role/Admin",
                "Admin (123456789012)",
            ),
            (
                "arn:aws:iam::123456789012:role/service-role/Ops",
                "Ops (123456789012)",
            ),
            ("arn:aws:iam::123456789012:user/jane", "jane (123456789012)"),
            (
                "arn:aws:sts::123456789012:assumed-role/Admin/jane",
                "jane via Admin (123456789012)",
            ),
            (
                "arn:aws:sts::123456789012:federated-user/bob",
                "bob (123456789012)",
            ),
            ("arn:aws:iam::123456789012:root", "root user (123456789012)"),
            ("arn:aws:s3:::my-bucket", "arn:aws:s3:::my-bucket"),
            ("arn:aws:iam::12345:role/X", "arn:aws:iam::12345:role/X"),
            ("Someone Else", "Someone Else"),
            ("", "Unknown author"),
            ("   ", "Unknown author"),
        ];
        for (creator, expected) in cases {
            assert_eq!(author_display(creator), expected, "{creator}");
        }
    }

    #[test]
    fn case_deserialises_with_missing_lists() {
        let json = r#"{"id":"1234567890","title":"t","description":"d","status":"Submitted",
            "engagementType":"Investigation","resolver":"Self"}"#;
        let case: Case = serde_json::from_str(json).unwrap();
        assert!(case.watchers.is_empty());
        assert_eq!(case.resolver, ResolverType::SelfManaged);
        assert!(!case.is_closed());
    }
}
