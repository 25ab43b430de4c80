//! Snapshot and seeding types: what the stand-in stores, in Rust terms.
//!
//! These types are the test-facing view of the stand-in's state. The wire format (camelCase JSON,
//! epoch-second timestamps) lives in `wire.rs`; nothing here is serialised directly.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

/// A string that is not one of an enum's documented wire values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {enum_name}")]
pub struct UnknownEnumValue {
    /// The enum that was being parsed, e.g. `CaseStatus`.
    pub enum_name: &'static str,
    /// The rejected input.
    pub value: String,
}

/// Declares an enum whose variants map one-to-one onto SIR wire strings.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $wire:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The exact string SIR uses on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownEnumValue;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(UnknownEnumValue { enum_name: stringify!($name), value: value.to_owned() }),
                }
            }
        }
    };
}

wire_enum! {
    /// `CaseStatus`: every status a case can be in.
    CaseStatus {
        Submitted => "Submitted",
        /// AWS-managed: only AWS responders set it.
        Acknowledged => "Acknowledged",
        DetectionAndAnalysis => "Detection and Analysis",
        ContainmentEradicationAndRecovery => "Containment, Eradication and Recovery",
        PostIncidentActivities => "Post-incident Activities",
        /// AWS-managed: only AWS responders set it.
        ReadyToClose => "Ready to Close",
        /// Reached through CloseCase only.
        Closed => "Closed",
    }
}

impl CaseStatus {
    /// Whether UpdateCaseStatus accepts this value (`SelfManagedCaseStatus`).
    pub fn is_self_managed(self) -> bool {
        matches!(
            self,
            CaseStatus::Submitted
                | CaseStatus::DetectionAndAnalysis
                | CaseStatus::ContainmentEradicationAndRecovery
                | CaseStatus::PostIncidentActivities
        )
    }

    /// The documented self-managed transitions (SIR-API.md). `lenient_submitted` also allows
    /// Submitted -> any active self-managed status, as some documentation versions do.
    pub fn can_transition_to(self, target: CaseStatus, lenient_submitted: bool) -> bool {
        use CaseStatus::{
            ContainmentEradicationAndRecovery as Containment, DetectionAndAnalysis as Detection,
            PostIncidentActivities as PostIncident, Submitted,
        };
        match (self, target) {
            (Submitted, Detection) => true,
            (Submitted, Containment | PostIncident) => lenient_submitted,
            (Detection, Containment | PostIncident) => true,
            (Containment, Detection | PostIncident) => true,
            (PostIncident, Containment | Detection) => true,
            _ => false,
        }
    }
}

wire_enum! {
    /// `CaseAttachmentStatus`.
    AttachmentStatus {
        Verified => "Verified",
        Failed => "Failed",
        Pending => "Pending",
    }
}

wire_enum! {
    /// `EngagementType`.
    EngagementType {
        SecurityIncident => "Security Incident",
        Investigation => "Investigation",
    }
}

wire_enum! {
    /// `ResolverType`.
    ResolverType {
        Aws => "AWS",
        SelfManaged => "Self",
    }
}

wire_enum! {
    /// `PendingAction`.
    PendingAction {
        Customer => "Customer",
        None => "None",
    }
}

wire_enum! {
    /// `ClosureCode`.
    ClosureCode {
        InvestigationCompleted => "Investigation Completed",
        NotResolved => "Not Resolved",
        FalsePositive => "False Positive",
        Duplicate => "Duplicate",
    }
}

wire_enum! {
    /// `MembershipStatus`.
    MembershipStatus {
        Active => "Active",
        Cancelled => "Cancelled",
        Terminated => "Terminated",
    }
}

/// `Watcher`: someone notified about a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watcher {
    pub email: String,
    pub name: Option<String>,
    pub job_title: Option<String>,
}

impl Watcher {
    /// A watcher known by email only.
    pub fn new(email: impl Into<String>) -> Self {
        Watcher {
            email: email.into(),
            name: None,
            job_title: None,
        }
    }
}

/// `ThreatActorIp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreatActorIp {
    pub ip_address: String,
    pub user_agent: Option<String>,
}

/// One `caseMetadata` entry (e.g. `severity`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseMetadataEntry {
    pub key: String,
    pub value: String,
}

/// A case as the stand-in holds it. Comments, attachments, edits and investigations are kept
/// beside it and read through their own accessors.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseRecord {
    /// `\d{10,32}`. Not part of GetCase's output (SIR omits it), only of ListCases items.
    pub case_id: String,
    pub case_arn: String,
    pub title: String,
    pub description: String,
    pub status: CaseStatus,
    pub engagement_type: EngagementType,
    pub resolver_type: ResolverType,
    pub pending_action: PendingAction,
    pub closure_code: Option<ClosureCode>,
    pub reported_incident_start_date: DateTime<Utc>,
    pub actual_incident_start_date: Option<DateTime<Utc>>,
    pub impacted_accounts: Vec<String>,
    pub impacted_aws_regions: Vec<String>,
    pub impacted_services: Vec<String>,
    pub threat_actor_ip_addresses: Vec<ThreatActorIp>,
    pub watchers: Vec<Watcher>,
    pub case_metadata: Vec<CaseMetadataEntry>,
    /// Tags given at creation. SIR returns them through ListTagsForResource only, which the
    /// stand-in does not serve; kept so tests can check what was sent.
    pub tags: BTreeMap<String, String>,
    pub created_date: DateTime<Utc>,
    pub last_updated_date: DateTime<Utc>,
    pub closed_date: Option<DateTime<Utc>>,
}

/// A case to seed directly into the store, as if a responder or the console created it.
///
/// `Default` gives a valid self-managed security incident in `Submitted`.
#[derive(Clone, Debug)]
pub struct NewCase {
    /// A specific id (`\d{10,32}`), or `None` to let the stand-in allocate one.
    pub case_id: Option<String>,
    pub title: String,
    pub description: String,
    pub status: CaseStatus,
    pub engagement_type: EngagementType,
    pub resolver_type: ResolverType,
    pub pending_action: PendingAction,
    pub closure_code: Option<ClosureCode>,
    /// Defaults to the creation time.
    pub reported_incident_start_date: Option<DateTime<Utc>>,
    pub actual_incident_start_date: Option<DateTime<Utc>>,
    pub impacted_accounts: Vec<String>,
    pub impacted_aws_regions: Vec<String>,
    pub impacted_services: Vec<String>,
    pub threat_actor_ip_addresses: Vec<ThreatActorIp>,
    pub watchers: Vec<Watcher>,
    pub case_metadata: Vec<CaseMetadataEntry>,
    pub tags: BTreeMap<String, String>,
    /// Principal recorded in the case's edit log; `None` means the configured responder principal.
    pub created_by: Option<String>,
}

impl Default for NewCase {
    fn default() -> Self {
        NewCase {
            case_id: None,
            title: "Seeded case".to_owned(),
            description: "Case seeded by the SIR stand-in.".to_owned(),
            status: CaseStatus::Submitted,
            engagement_type: EngagementType::SecurityIncident,
            resolver_type: ResolverType::SelfManaged,
            pending_action: PendingAction::None,
            closure_code: None,
            reported_incident_start_date: None,
            actual_incident_start_date: None,
            impacted_accounts: vec!["111122223333".to_owned()],
            impacted_aws_regions: vec!["us-east-1".to_owned()],
            impacted_services: Vec::new(),
            threat_actor_ip_addresses: Vec::new(),
            watchers: vec![Watcher::new("security@example.com")],
            case_metadata: Vec::new(),
            tags: BTreeMap::new(),
            created_by: None,
        }
    }
}

/// A case comment (`ListCommentsItem`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommentRecord {
    /// Six digits.
    pub comment_id: String,
    pub body: String,
    /// A principal: `AWS Responder`, a 12-digit account, an IAM/STS ARN or `security-ir.amazonaws.com`.
    pub creator: String,
    pub last_updated_by: String,
    pub created_date: DateTime<Utc>,
    pub last_updated_date: DateTime<Utc>,
}

/// A case attachment (`CaseAttachmentAttributes`), plus its size, which SIR does not report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentRecord {
    /// A UUID.
    pub attachment_id: String,
    pub file_name: String,
    pub status: AttachmentStatus,
    pub creator: String,
    pub created_date: DateTime<Utc>,
    /// Bytes stored; read them with `SirStandin::attachment_bytes`.
    pub size: u64,
    /// Whether GetCase lists it yet (an upload is listed only after
    /// `StandinConfig::attachment_listing_delay`).
    pub listed: bool,
}

/// One entry of a case's edit log (`CaseEditItem`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseEdit {
    pub event_timestamp: DateTime<Utc>,
    pub principal: String,
    /// The operation that made the change, e.g. `UpdateCaseStatus`.
    pub action: String,
    pub message: String,
}

/// An `InvestigationAction`, seeded with `SirStandin::add_investigation`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvestigationAction {
    pub investigation_id: String,
    /// `Evidence`, `Investigation` or `Summarization`.
    pub action_type: String,
    pub title: String,
    pub content: String,
    /// `Pending`, `InProgress`, `Waiting`, `Completed`, `Failed` or `Cancelled`.
    pub status: String,
    pub last_updated: DateTime<Utc>,
    pub feedback: Option<InvestigationFeedback>,
}

/// `InvestigationFeedback`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvestigationFeedback {
    /// `USEFUL` or `NOT_USEFUL`.
    pub usefulness: Option<String>,
    pub comment: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
}

/// A member of the membership's incident response team (`IncidentResponder`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentResponder {
    pub name: String,
    pub job_title: String,
    pub email: String,
}

impl IncidentResponder {
    pub fn new(
        name: impl Into<String>,
        job_title: impl Into<String>,
        email: impl Into<String>,
    ) -> Self {
        IncidentResponder {
            name: name.into(),
            job_title: job_title.into(),
            email: email.into(),
        }
    }
}

/// A SIR membership served by ListMemberships and GetMembership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipRecord {
    pub membership_id: String,
    pub membership_name: String,
    pub account_id: String,
    pub region: String,
    pub status: MembershipStatus,
    pub activation_timestamp: DateTime<Utc>,
    pub incident_response_team: Vec<IncidentResponder>,
}
