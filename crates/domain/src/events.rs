//! The integration event contract, and the case diffing that produces it.
//!
//! The poller publishes one [`IntegrationEvent`] per fact it observes (a case appeared, fields
//! changed, a comment or verified attachment was added, a published comment was edited,
//! watchers changed, the case closed, the case stayed quiet past its nudge threshold) as
//! the `detail` of an EventBridge event with source [`EVENT_SOURCE`] and detail-type
//! [`IntegrationEvent::detail_type`]. Consumers (the Slack client) rely on:
//!
//! - `version` ([`EVENT_VERSION`]) changing whenever the JSON changes incompatibly;
//! - `sequence` being per case and consecutive, so gaps and reordering can be detected;
//! - `idempotencyKey` being the same for the same fact however often it is published
//!   (see [`IntegrationEvent::idempotency_key_for`]);
//! - every detail fitting in one EventBridge entry ([`IntegrationEvent::to_detail_json`]).
//!
//! The JSON is camelCase; `payload.type` names the variant. Example documents for every
//! variant live in `docs/events/` and are checked by the crate's tests.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::case::{
    Attachment, Case, CaseId, ClosureCode, Comment, EngagementType, PendingAction, ResolverType,
    ThreatActorIp, Watcher,
};
use crate::limits::EVENT_DETAIL_MAX_BYTES;
use crate::status::CaseStatus;

/// The version of the event JSON this crate writes and reads.
pub const EVENT_VERSION: u32 = 1;

/// The EventBridge `source` of events published by the poller.
pub const EVENT_SOURCE: &str = "sirslack.poller";

/// The case as carried by [`EventPayload::CaseCreated`]: every field of [`Case`]; comments are
/// never part of it (each one is its own [`EventPayload::CommentAdded`]).
pub type CaseDetails = Case;

/// Why an event could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The event would not fit in one EventBridge entry.
    #[error(
        "event is {size} bytes with its source and detail-type; EventBridge accepts at most {max}"
    )]
    TooLarge {
        /// Bytes of detail, source and detail-type together.
        size: usize,
        /// [`EVENT_DETAIL_MAX_BYTES`].
        max: usize,
    },
    /// The event was written by an incompatible version.
    #[error("event version {found} is not supported (this build reads version {supported})")]
    UnsupportedVersion {
        /// The version in the event.
        found: u32,
        /// [`EVENT_VERSION`].
        supported: u32,
    },
    /// The JSON is not an integration event.
    #[error("invalid integration event JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// One fact about one case, as published on EventBridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationEvent {
    /// The contract version, [`EVENT_VERSION`] when written by this crate.
    pub version: u32,
    /// The case the fact is about.
    pub case_id: CaseId,
    /// The position of this event among the case's events: per case, consecutive.
    pub sequence: u64,
    /// The same for the same fact, for consumers' deduplication.
    pub idempotency_key: String,
    /// When the poller observed the fact.
    pub occurred_at: DateTime<Utc>,
    /// What happened.
    pub payload: EventPayload,
}

/// What happened to the case. Serialised with a `type` field naming the variant.
///
/// New variants (for example events originating in Slack) may be added in later versions:
/// match with a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
#[non_exhaustive]
pub enum EventPayload {
    /// The integration saw the case for the first time.
    CaseCreated {
        /// The case as it was then.
        case: Box<CaseDetails>,
    },
    /// Fields of the case changed.
    CaseUpdated {
        /// Each changed field with its old and new value.
        changes: Vec<FieldChange>,
    },
    /// A comment was added in SIR (not one the integration wrote).
    CommentAdded {
        /// The comment.
        comment: Comment,
    },
    /// A comment published earlier (as [`EventPayload::CommentAdded`]) was edited in SIR: its
    /// body differs from the body last published. Never sent for comments the integration
    /// wrote.
    CommentEdited {
        /// The comment as it reads now (its ID is the one first published).
        comment: Comment,
        /// Who edited it: SIR's `lastUpdatedBy`, else the comment's creator.
        edited_by: String,
        /// When: SIR's `lastUpdatedDate`, else when the poller saw the change.
        edited_at: DateTime<Utc>,
    },
    /// An attachment became available (verified).
    AttachmentAdded {
        /// The attachment.
        attachment: Attachment,
    },
    /// People started or stopped watching the case.
    WatchersChanged {
        /// New watchers.
        added: Vec<Watcher>,
        /// Watchers no longer on the case.
        removed: Vec<Watcher>,
    },
    /// The case was closed.
    CaseClosed {
        /// Why, when the service says.
        closure_code: Option<ClosureCode>,
        /// When, when the service says.
        closed_at: Option<DateTime<Utc>>,
        /// The case title, for the closing message.
        title: String,
    },
    /// The open case had no activity in SIR (nor from Slack, whose messages become SIR
    /// comments) for longer than its quiet threshold: the channel gets one nudge.
    CaseQuiet {
        /// The case's `lastUpdatedDate`: quiet since then.
        quiet_since: DateTime<Utc>,
        /// Its status, for the nudge (and the status menu's initial option).
        status: CaseStatus,
        /// When the next nudge may come at the earliest (unless the case is snoozed or active).
        next_nudge_at: DateTime<Utc>,
    },
}

impl EventPayload {
    /// The EventBridge detail-type: the variant name, e.g. `CaseCreated`.
    pub fn detail_type(&self) -> &'static str {
        match self {
            Self::CaseCreated { .. } => "CaseCreated",
            Self::CaseUpdated { .. } => "CaseUpdated",
            Self::CommentAdded { .. } => "CommentAdded",
            Self::CommentEdited { .. } => "CommentEdited",
            Self::AttachmentAdded { .. } => "AttachmentAdded",
            Self::WatchersChanged { .. } => "WatchersChanged",
            Self::CaseClosed { .. } => "CaseClosed",
            Self::CaseQuiet { .. } => "CaseQuiet",
        }
    }
}

impl IntegrationEvent {
    /// An event of the current [`EVENT_VERSION`], with its idempotency key filled in.
    pub fn new(
        case_id: CaseId,
        sequence: u64,
        occurred_at: DateTime<Utc>,
        payload: EventPayload,
    ) -> Self {
        let idempotency_key = Self::idempotency_key_for(&case_id, sequence, &payload);
        Self {
            version: EVENT_VERSION,
            case_id,
            sequence,
            idempotency_key,
            occurred_at,
            payload,
        }
    }

    /// The idempotency key of a fact.
    ///
    /// Facts that happen once per case or per item are keyed by what they are about, so
    /// re-publishing them (after a crash, or from two pollers) gives the same key:
    /// `case-created:<case>`, `comment:<case>:<commentId>`, `attachment:<case>:<attachmentId>`.
    /// Facts that can recur are keyed by sequence: `case-updated:<case>:<sequence>`,
    /// `watchers-changed:<case>:<sequence>`, `case-closed:<case>:<sequence>`,
    /// `comment-edited:<case>:<commentId>:<sequence>` (a comment may be edited many times),
    /// `case-quiet:<case>:<sequence>`.
    pub fn idempotency_key_for(case_id: &CaseId, sequence: u64, payload: &EventPayload) -> String {
        match payload {
            EventPayload::CaseCreated { .. } => format!("case-created:{case_id}"),
            EventPayload::CommentAdded { comment } => format!("comment:{case_id}:{}", comment.id),
            EventPayload::AttachmentAdded { attachment } => {
                format!("attachment:{case_id}:{}", attachment.id)
            }
            EventPayload::CaseUpdated { .. } => format!("case-updated:{case_id}:{sequence}"),
            EventPayload::WatchersChanged { .. } => {
                format!("watchers-changed:{case_id}:{sequence}")
            }
            EventPayload::CaseClosed { .. } => format!("case-closed:{case_id}:{sequence}"),
            EventPayload::CommentEdited { comment, .. } => {
                format!("comment-edited:{case_id}:{}:{sequence}", comment.id)
            }
            EventPayload::CaseQuiet { .. } => format!("case-quiet:{case_id}:{sequence}"),
        }
    }

    /// [`EventPayload::CaseCreated`] for `case`.
    pub fn case_created(case: Case, sequence: u64, occurred_at: DateTime<Utc>) -> Self {
        let case_id = case.id.clone();
        Self::new(
            case_id,
            sequence,
            occurred_at,
            EventPayload::CaseCreated {
                case: Box::new(case),
            },
        )
    }

    /// [`EventPayload::CaseUpdated`].
    pub fn case_updated(
        case_id: CaseId,
        sequence: u64,
        occurred_at: DateTime<Utc>,
        changes: Vec<FieldChange>,
    ) -> Self {
        Self::new(
            case_id,
            sequence,
            occurred_at,
            EventPayload::CaseUpdated { changes },
        )
    }

    /// [`EventPayload::CommentAdded`].
    pub fn comment_added(
        case_id: CaseId,
        sequence: u64,
        occurred_at: DateTime<Utc>,
        comment: Comment,
    ) -> Self {
        Self::new(
            case_id,
            sequence,
            occurred_at,
            EventPayload::CommentAdded { comment },
        )
    }

    /// [`EventPayload::CommentEdited`]: the editor and time come from the comment
    /// (`updated_by`, else `creator`; `updated_at`, else `occurred_at`).
    pub fn comment_edited(
        case_id: CaseId,
        sequence: u64,
        occurred_at: DateTime<Utc>,
        comment: Comment,
    ) -> Self {
        let edited_by = comment
            .updated_by
            .clone()
            .unwrap_or_else(|| comment.creator.clone());
        let edited_at = comment.updated_at.unwrap_or(occurred_at);
        Self::new(
            case_id,
            sequence,
            occurred_at,
            EventPayload::CommentEdited {
                comment,
                edited_by,
                edited_at,
            },
        )
    }

    /// [`EventPayload::AttachmentAdded`].
    pub fn attachment_added(
        case_id: CaseId,
        sequence: u64,
        occurred_at: DateTime<Utc>,
        attachment: Attachment,
    ) -> Self {
        Self::new(
            case_id,
            sequence,
            occurred_at,
            EventPayload::AttachmentAdded { attachment },
        )
    }

    /// [`EventPayload::WatchersChanged`].
    pub fn watchers_changed(
        case_id: CaseId,
        sequence: u64,
        occurred_at: DateTime<Utc>,
        added: Vec<Watcher>,
        removed: Vec<Watcher>,
    ) -> Self {
        Self::new(
            case_id,
            sequence,
            occurred_at,
            EventPayload::WatchersChanged { added, removed },
        )
    }

    /// [`EventPayload::CaseQuiet`].
    pub fn case_quiet(
        case_id: CaseId,
        sequence: u64,
        occurred_at: DateTime<Utc>,
        quiet_since: DateTime<Utc>,
        status: CaseStatus,
        next_nudge_at: DateTime<Utc>,
    ) -> Self {
        Self::new(
            case_id,
            sequence,
            occurred_at,
            EventPayload::CaseQuiet {
                quiet_since,
                status,
                next_nudge_at,
            },
        )
    }

    /// [`EventPayload::CaseClosed`], with the closure code, date and title of `case`.
    pub fn case_closed(case: &Case, sequence: u64, occurred_at: DateTime<Utc>) -> Self {
        Self::new(
            case.id.clone(),
            sequence,
            occurred_at,
            EventPayload::CaseClosed {
                closure_code: case.closure_code.clone(),
                closed_at: case.closed_at,
                title: case.title.clone(),
            },
        )
    }

    /// The EventBridge detail-type, e.g. `CaseCreated`.
    pub fn detail_type(&self) -> &'static str {
        self.payload.detail_type()
    }

    /// The EventBridge `detail`: this event as compact JSON.
    ///
    /// EventBridge counts the source and detail-type with the detail against its entry limit,
    /// so this fails with [`EventError::TooLarge`] when the three together exceed
    /// [`EVENT_DETAIL_MAX_BYTES`].
    pub fn to_detail_json(&self) -> Result<String, EventError> {
        let detail = serde_json::to_string(self)?;
        let size = detail.len() + EVENT_SOURCE.len() + self.detail_type().len();
        if size > EVENT_DETAIL_MAX_BYTES {
            return Err(EventError::TooLarge {
                size,
                max: EVENT_DETAIL_MAX_BYTES,
            });
        }
        Ok(detail)
    }

    /// Reads an EventBridge `detail`, refusing versions other than [`EVENT_VERSION`] before
    /// looking at the payload.
    pub fn from_detail_json(detail: &str) -> Result<Self, EventError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            version: u32,
        }
        let VersionOnly { version } = serde_json::from_str(detail)?;
        if version != EVENT_VERSION {
            return Err(EventError::UnsupportedVersion {
                found: version,
                supported: EVENT_VERSION,
            });
        }
        Ok(serde_json::from_str(detail)?)
    }
}

/// One changed field of a case with its old and new value. Serialised with a `field` field
/// naming the case field (`status`, `title`, `impactedAccounts`, ...).
///
/// List fields carry the whole old and new lists; [`list_delta`] gives what was added and
/// removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "field", rename_all = "camelCase")]
#[non_exhaustive]
#[allow(missing_docs)] // `old` and `new` say what they are.
pub enum FieldChange {
    /// The title.
    Title { old: String, new: String },
    /// The description.
    Description { old: String, new: String },
    /// The status.
    Status { old: CaseStatus, new: CaseStatus },
    /// The severity from `caseMetadata`.
    Severity {
        old: Option<String>,
        new: Option<String>,
    },
    /// The engagement type.
    EngagementType {
        old: EngagementType,
        new: EngagementType,
    },
    /// Whose move it is.
    PendingAction {
        old: Option<PendingAction>,
        new: Option<PendingAction>,
    },
    /// Who works the case.
    Resolver {
        old: ResolverType,
        new: ResolverType,
    },
    /// Impacted accounts.
    ImpactedAccounts { old: Vec<String>, new: Vec<String> },
    /// Impacted regions.
    ImpactedRegions { old: Vec<String>, new: Vec<String> },
    /// Impacted services.
    ImpactedServices { old: Vec<String>, new: Vec<String> },
    /// Threat-actor IP addresses.
    ThreatActorIps {
        old: Vec<ThreatActorIp>,
        new: Vec<ThreatActorIp>,
    },
    /// The closure code.
    ClosureCode {
        old: Option<ClosureCode>,
        new: Option<ClosureCode>,
    },
    /// The reported incident start.
    ReportedIncidentStart {
        old: Option<DateTime<Utc>>,
        new: Option<DateTime<Utc>>,
    },
    /// The actual incident start.
    ActualIncidentStart {
        old: Option<DateTime<Utc>>,
        new: Option<DateTime<Utc>>,
    },
}

impl FieldChange {
    /// The field's name as a person reads it, e.g. `Impacted accounts`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Title { .. } => "Title",
            Self::Description { .. } => "Description",
            Self::Status { .. } => "Status",
            Self::Severity { .. } => "Severity",
            Self::EngagementType { .. } => "Engagement type",
            Self::PendingAction { .. } => "Pending action",
            Self::Resolver { .. } => "Resolver",
            Self::ImpactedAccounts { .. } => "Impacted accounts",
            Self::ImpactedRegions { .. } => "Impacted regions",
            Self::ImpactedServices { .. } => "Impacted services",
            Self::ThreatActorIps { .. } => "Threat-actor IP addresses",
            Self::ClosureCode { .. } => "Closure code",
            Self::ReportedIncidentStart { .. } => "Reported incident start",
            Self::ActualIncidentStart { .. } => "Actual incident start",
        }
    }
}

/// What `new` has that `old` lacks, and what `old` has that `new` lacks, comparing the lists
/// as sets. Each result is sorted and free of duplicates.
pub fn list_delta<T: Ord + Clone>(old: &[T], new: &[T]) -> (Vec<T>, Vec<T>) {
    let old: BTreeSet<&T> = old.iter().collect();
    let new: BTreeSet<&T> = new.iter().collect();
    let added = new.difference(&old).map(|&item| item.clone()).collect();
    let removed = old.difference(&new).map(|&item| item.clone()).collect();
    (added, removed)
}

/// Everything that differs between two snapshots of one case, as the poller reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseDiff {
    /// Changed fields. When the case has just closed, the status and closure-code changes are
    /// left out: [`CaseDiff::closed`] (and the `CaseClosed` event) carries them.
    pub changes: Vec<FieldChange>,
    /// Watchers whose e-mail (ignoring case) was not on the case before.
    pub watchers_added: Vec<Watcher>,
    /// Watchers whose e-mail (ignoring case) is no longer on the case.
    pub watchers_removed: Vec<Watcher>,
    /// Attachments that are verified now and were not verified (or not there) before, so an
    /// attachment that was pending at the last poll is reported once it is verified.
    pub new_attachments: Vec<Attachment>,
    /// The case was open and is now closed.
    pub closed: bool,
    /// The case was closed and is now open again.
    pub reopened: bool,
}

impl CaseDiff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.watchers_added.is_empty()
            && self.watchers_removed.is_empty()
            && self.new_attachments.is_empty()
            && !self.closed
            && !self.reopened
    }

    /// The events to publish for this diff of `new_case`, numbered from `first_sequence`:
    /// `CaseUpdated` (when fields changed), `WatchersChanged` (when watchers changed), one
    /// `AttachmentAdded` per new attachment, and `CaseClosed` last (so that nothing is posted
    /// to a channel after it is archived).
    pub fn into_events(
        self,
        new_case: &Case,
        first_sequence: u64,
        occurred_at: DateTime<Utc>,
    ) -> Vec<IntegrationEvent> {
        let case_id = &new_case.id;
        let mut payloads = Vec::new();
        if !self.changes.is_empty() {
            payloads.push(EventPayload::CaseUpdated {
                changes: self.changes,
            });
        }
        if !self.watchers_added.is_empty() || !self.watchers_removed.is_empty() {
            payloads.push(EventPayload::WatchersChanged {
                added: self.watchers_added,
                removed: self.watchers_removed,
            });
        }
        payloads.extend(
            self.new_attachments
                .into_iter()
                .map(|attachment| EventPayload::AttachmentAdded { attachment }),
        );
        if self.closed {
            payloads.push(EventPayload::CaseClosed {
                closure_code: new_case.closure_code.clone(),
                closed_at: new_case.closed_at,
                title: new_case.title.clone(),
            });
        }
        payloads
            .into_iter()
            .zip(first_sequence..)
            .map(|(payload, sequence)| {
                IntegrationEvent::new(case_id.clone(), sequence, occurred_at, payload)
            })
            .collect()
    }
}

/// Compares two snapshots of the same case.
///
/// List fields are compared as sets (order and duplicates do not count), watchers by
/// lower-cased e-mail (see [`Watcher::email_key`]), attachments by ID. Timestamps the service
/// maintains itself (`created_at`, `updated_at`, `closed_at`) are not field changes.
pub fn diff_case(old: &Case, new: &Case) -> CaseDiff {
    let closed = !old.is_closed() && new.is_closed();
    let reopened = old.is_closed() && !new.is_closed();
    let mut changes = Vec::new();

    if old.title != new.title {
        changes.push(FieldChange::Title {
            old: old.title.clone(),
            new: new.title.clone(),
        });
    }
    if old.description != new.description {
        changes.push(FieldChange::Description {
            old: old.description.clone(),
            new: new.description.clone(),
        });
    }
    if old.status != new.status && !closed {
        changes.push(FieldChange::Status {
            old: old.status.clone(),
            new: new.status.clone(),
        });
    }
    if old.severity != new.severity {
        changes.push(FieldChange::Severity {
            old: old.severity.clone(),
            new: new.severity.clone(),
        });
    }
    if old.engagement_type != new.engagement_type {
        changes.push(FieldChange::EngagementType {
            old: old.engagement_type.clone(),
            new: new.engagement_type.clone(),
        });
    }
    if old.pending_action != new.pending_action {
        changes.push(FieldChange::PendingAction {
            old: old.pending_action.clone(),
            new: new.pending_action.clone(),
        });
    }
    if old.resolver != new.resolver {
        changes.push(FieldChange::Resolver {
            old: old.resolver.clone(),
            new: new.resolver.clone(),
        });
    }
    if !same_set(&old.impacted_accounts, &new.impacted_accounts) {
        changes.push(FieldChange::ImpactedAccounts {
            old: old.impacted_accounts.clone(),
            new: new.impacted_accounts.clone(),
        });
    }
    if !same_set(&old.impacted_regions, &new.impacted_regions) {
        changes.push(FieldChange::ImpactedRegions {
            old: old.impacted_regions.clone(),
            new: new.impacted_regions.clone(),
        });
    }
    if !same_set(&old.impacted_services, &new.impacted_services) {
        changes.push(FieldChange::ImpactedServices {
            old: old.impacted_services.clone(),
            new: new.impacted_services.clone(),
        });
    }
    if !same_set(&old.threat_actor_ips, &new.threat_actor_ips) {
        changes.push(FieldChange::ThreatActorIps {
            old: old.threat_actor_ips.clone(),
            new: new.threat_actor_ips.clone(),
        });
    }
    if old.closure_code != new.closure_code && !closed {
        changes.push(FieldChange::ClosureCode {
            old: old.closure_code.clone(),
            new: new.closure_code.clone(),
        });
    }
    if old.reported_incident_start != new.reported_incident_start {
        changes.push(FieldChange::ReportedIncidentStart {
            old: old.reported_incident_start,
            new: new.reported_incident_start,
        });
    }
    if old.actual_incident_start != new.actual_incident_start {
        changes.push(FieldChange::ActualIncidentStart {
            old: old.actual_incident_start,
            new: new.actual_incident_start,
        });
    }

    let (watchers_added, watchers_removed) = watcher_delta(&old.watchers, &new.watchers);

    let verified_before: HashSet<&str> = old
        .attachments
        .iter()
        .filter(|attachment| attachment.is_verified())
        .map(|attachment| attachment.id.as_str())
        .collect();
    let mut reported = HashSet::new();
    let new_attachments = new
        .attachments
        .iter()
        .filter(|attachment| attachment.is_verified())
        .filter(|attachment| !verified_before.contains(attachment.id.as_str()))
        .filter(|attachment| reported.insert(attachment.id.as_str()))
        .cloned()
        .collect();

    CaseDiff {
        changes,
        watchers_added,
        watchers_removed,
        new_attachments,
        closed,
        reopened,
    }
}

fn same_set<T: Ord>(a: &[T], b: &[T]) -> bool {
    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
}

/// Watchers added and removed, by e-mail key; each person appears once.
fn watcher_delta(old: &[Watcher], new: &[Watcher]) -> (Vec<Watcher>, Vec<Watcher>) {
    let old_keys: HashSet<String> = old.iter().map(Watcher::email_key).collect();
    let new_keys: HashSet<String> = new.iter().map(Watcher::email_key).collect();
    let pick = |watchers: &[Watcher], other: &HashSet<String>| {
        let mut seen = HashSet::new();
        watchers
            .iter()
            .filter(|watcher| {
                let key = watcher.email_key();
                !other.contains(&key) && seen.insert(key)
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    (pick(new, &old_keys), pick(old, &new_keys))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{AttachmentStatus, CommentId};
    use chrono::TimeZone;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).single().unwrap()
    }

    fn case() -> Case {
        let mut case = Case::new(
            CaseId::new("1234567890").unwrap(),
            "Suspicious login",
            "Console login from an unknown IP",
            CaseStatus::DetectionAndAnalysis,
            EngagementType::SecurityIncident,
            ResolverType::SelfManaged,
        );
        case.impacted_accounts = vec!["111122223333".into(), "444455556666".into()];
        case.watchers = vec![Watcher::new("Jane@Example.com")];
        case
    }

    fn attachment(id: &str, status: AttachmentStatus) -> Attachment {
        Attachment {
            id: id.into(),
            file_name: "report.pdf".into(),
            status,
            creator: "AWS Responder".into(),
            created_at: at(1_700_000_000),
        }
    }

    #[test]
    fn identical_cases_have_an_empty_diff() {
        let diff = diff_case(&case(), &case());
        assert!(diff.is_empty(), "{diff:?}");
        assert!(diff.into_events(&case(), 1, at(0)).is_empty());
    }

    #[test]
    fn status_and_title_changes_are_both_reported() {
        let old = case();
        let mut new = case();
        new.status = CaseStatus::ContainmentEradicationAndRecovery;
        new.title = "Compromised key".into();
        new.updated_at = Some(at(5));
        let diff = diff_case(&old, &new);
        assert_eq!(
            diff.changes,
            vec![
                FieldChange::Title {
                    old: "Suspicious login".into(),
                    new: "Compromised key".into()
                },
                FieldChange::Status {
                    old: CaseStatus::DetectionAndAnalysis,
                    new: CaseStatus::ContainmentEradicationAndRecovery
                },
            ]
        );
        assert!(!diff.closed && !diff.reopened);
    }

    #[test]
    fn lists_compare_as_sets() {
        let old = case();
        let mut reordered = case();
        reordered.impacted_accounts.reverse();
        reordered.impacted_accounts.push("111122223333".into());
        assert!(diff_case(&old, &reordered).is_empty());

        let mut grown = case();
        grown.impacted_regions.push("eu-west-1".into());
        grown.threat_actor_ips.push(ThreatActorIp {
            ip_address: "203.0.113.7".into(),
            user_agent: None,
        });
        let diff = diff_case(&old, &grown);
        let labels: Vec<&str> = diff.changes.iter().map(FieldChange::label).collect();
        assert_eq!(labels, ["Impacted regions", "Threat-actor IP addresses"]);
    }

    #[test]
    fn watchers_compare_by_lower_cased_email() {
        let old = case();
        let mut new = case();
        new.watchers = vec![
            Watcher {
                email: "jane@example.com".into(),
                name: Some("Jane".into()),
                job_title: None,
            },
            Watcher::new("bob@example.com"),
            Watcher::new("BOB@example.com"),
        ];
        let diff = diff_case(&old, &new);
        assert_eq!(diff.watchers_added, vec![Watcher::new("bob@example.com")]);
        assert!(diff.watchers_removed.is_empty());

        let diff = diff_case(&new, &old);
        assert_eq!(diff.watchers_removed, vec![Watcher::new("bob@example.com")]);
    }

    #[test]
    fn attachments_are_reported_once_verified() {
        let mut old = case();
        old.attachments = vec![
            attachment("a", AttachmentStatus::Verified),
            attachment("b", AttachmentStatus::Pending),
        ];
        let mut new = old.clone();
        new.attachments[1].status = AttachmentStatus::Verified;
        new.attachments
            .push(attachment("c", AttachmentStatus::Verified));
        new.attachments
            .push(attachment("d", AttachmentStatus::Failed));
        let ids: Vec<String> = diff_case(&old, &new)
            .new_attachments
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, ["b", "c"]);
    }

    #[test]
    fn closing_is_reported_once_and_last() {
        let old = case();
        let mut new = case();
        new.status = CaseStatus::Closed;
        new.closure_code = Some(ClosureCode::InvestigationCompleted);
        new.closed_at = Some(at(100));
        new.title = "Done".into();
        new.attachments = vec![attachment("z", AttachmentStatus::Verified)];
        let diff = diff_case(&old, &new);
        assert!(diff.closed);
        assert_eq!(diff.changes.len(), 1, "{:?}", diff.changes);

        let events = diff.into_events(&new, 7, at(200));
        let types: Vec<&str> = events.iter().map(IntegrationEvent::detail_type).collect();
        assert_eq!(types, ["CaseUpdated", "AttachmentAdded", "CaseClosed"]);
        let sequences: Vec<u64> = events.iter().map(|e| e.sequence).collect();
        assert_eq!(sequences, [7, 8, 9]);
        assert_eq!(events[1].idempotency_key, "attachment:1234567890:z");
        assert_eq!(events[2].idempotency_key, "case-closed:1234567890:9");
        assert_eq!(
            events[2].payload,
            EventPayload::CaseClosed {
                closure_code: Some(ClosureCode::InvestigationCompleted),
                closed_at: Some(at(100)),
                title: "Done".into()
            }
        );
    }

    #[test]
    fn reopening_is_a_status_change() {
        let mut old = case();
        old.status = CaseStatus::Closed;
        let new = case();
        let diff = diff_case(&old, &new);
        assert!(diff.reopened && !diff.closed);
        assert!(matches!(
            diff.changes.as_slice(),
            [FieldChange::Status {
                old: CaseStatus::Closed,
                ..
            }]
        ));
    }

    #[test]
    fn idempotency_keys() {
        let id = CaseId::new("1234567890").unwrap();
        let comment = Comment {
            id: CommentId::new("000123").unwrap(),
            body: "hi".into(),
            creator: "AWS Responder".into(),
            created_at: at(0),
            updated_at: None,
            updated_by: None,
        };
        assert_eq!(
            IntegrationEvent::case_created(case(), 1, at(0)).idempotency_key,
            "case-created:1234567890"
        );
        assert_eq!(
            IntegrationEvent::comment_added(id.clone(), 5, at(0), comment.clone()).idempotency_key,
            "comment:1234567890:000123"
        );
        let edited = IntegrationEvent::comment_edited(id.clone(), 8, at(9), comment.clone());
        assert_eq!(edited.idempotency_key, "comment-edited:1234567890:000123:8");
        assert_eq!(edited.detail_type(), "CommentEdited");
        assert_eq!(
            edited.payload,
            EventPayload::CommentEdited {
                comment: comment.clone(),
                edited_by: "AWS Responder".into(),
                edited_at: at(9)
            },
            "no edit time or editor from SIR: the observation time and the author"
        );
        let mut by_jane = comment;
        by_jane.updated_at = Some(at(4));
        by_jane.updated_by = Some("jane".into());
        let EventPayload::CommentEdited {
            edited_by,
            edited_at,
            ..
        } = IntegrationEvent::comment_edited(id.clone(), 8, at(9), by_jane).payload
        else {
            panic!("not an edit")
        };
        assert_eq!((edited_by.as_str(), edited_at), ("jane", at(4)));
        assert_eq!(
            IntegrationEvent::case_updated(id.clone(), 6, at(0), vec![]).idempotency_key,
            "case-updated:1234567890:6"
        );
        assert_eq!(
            IntegrationEvent::watchers_changed(id, 7, at(0), vec![], vec![]).idempotency_key,
            "watchers-changed:1234567890:7"
        );
    }

    #[test]
    fn list_delta_is_set_based() {
        let (added, removed) = list_delta(&["a", "b", "b"], &["c", "b", "c"]);
        assert_eq!(added, ["c"]);
        assert_eq!(removed, ["a"]);
    }

    #[test]
    fn unsupported_versions_are_refused_before_the_payload() {
        let detail = r#"{"version":2,"payload":{"type":"SomethingNew"}}"#;
        assert!(matches!(
            IntegrationEvent::from_detail_json(detail),
            Err(EventError::UnsupportedVersion {
                found: 2,
                supported: 1
            })
        ));
        assert!(matches!(
            IntegrationEvent::from_detail_json("not json"),
            Err(EventError::Json(_))
        ));
    }
}
