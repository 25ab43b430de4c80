//! SIR SDK shapes (`aws-sdk-securityir`) to the domain model, and back where the integration
//! writes. (A failed SDK call is read by the SIR adapter, `sirslack-sir`.)
//!
//! The SDK defaults required fields that a response leaves out instead of rejecting it, so
//! every mapping here is total or returns a typed error: nothing trusts the service to send
//! what its model promises.

use aws_sdk_securityir::operation::get_case::GetCaseOutput;
use aws_sdk_securityir::operation::get_membership::GetMembershipOutput;
use aws_sdk_securityir::types::{
    CaseAttachmentAttributes, ListCasesItem, ListCommentsItem, SelfManagedCaseStatus,
};
use chrono::{DateTime, Utc};
use sirslack_domain::{
    Attachment, AttachmentStatus, Case, CaseId, CaseIdError, CaseStatus, ClosureCode, Comment,
    CommentId, Declaration, EngagementType, PendingAction, ResolverType, SelfManagedStatus,
    ThreatActorIp, Watcher,
};

/// What a case, engagement type or resolver shows when the service sent none.
const UNKNOWN_VALUE: &str = "Unknown";

/// The `caseMetadata` key that carries a severity (SIR has no severity field of its own).
const SEVERITY_KEY: &str = "severity";

/// Why an SDK value could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SirMappingError {
    /// A comment came without a `commentId`.
    #[error("a comment from SIR has no comment ID")]
    MissingCommentId,
    /// A comment came without `createdDate` or `lastUpdatedDate`.
    #[error("comment {comment_id} from SIR has no creation date")]
    MissingCommentDate {
        /// The comment's ID.
        comment_id: String,
    },
    /// A listed case has a `caseId` that is not one.
    #[error("a case listed by SIR has an invalid ID: {0}")]
    InvalidCaseId(#[from] CaseIdError),
}

/// One entry of ListCases: just enough to decide whether the case must be fetched again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseListEntry {
    /// The case ID.
    pub case_id: CaseId,
    /// When the case last changed, when the service says.
    pub last_updated: Option<DateTime<Utc>>,
    /// The case status, when the service says.
    pub status: Option<CaseStatus>,
}

impl CaseListEntry {
    /// Whether the listing says the case is closed.
    pub fn is_closed(&self) -> bool {
        self.status.as_ref().is_some_and(CaseStatus::is_closed)
    }
}

/// Builds the domain case from a GetCase response.
///
/// GetCase returns no `caseId`, so the ID the case was requested with is passed in. Missing
/// texts become empty; a missing status, engagement type or resolver becomes
/// `Other("Unknown")`; watchers without an e-mail address and attachments without an ID are
/// left out; dates outside chrono's range are dropped.
pub fn case_from_get_case(case_id: &CaseId, out: &GetCaseOutput) -> Case {
    let status = out
        .case_status()
        .map_or_else(unknown, |status| CaseStatus::from(status.as_str()));
    let engagement_type = out
        .engagement_type()
        .map_or_else(unknown, |kind| EngagementType::from(kind.as_str()));
    let resolver = out
        .resolver_type()
        .map_or_else(unknown, |resolver| ResolverType::from(resolver.as_str()));
    let mut case = Case::new(
        case_id.clone(),
        out.title().unwrap_or_default(),
        out.description().unwrap_or_default(),
        status,
        engagement_type,
        resolver,
    );
    case.pending_action = out
        .pending_action()
        .map(|action| PendingAction::from(action.as_str()));
    case.impacted_accounts = non_blank(out.impacted_accounts());
    case.impacted_regions = out
        .impacted_aws_regions()
        .iter()
        .map(|region| region.region().as_str().trim().to_owned())
        .filter(|region| !region.is_empty())
        .collect();
    case.impacted_services = non_blank(out.impacted_services());
    case.threat_actor_ips = out
        .threat_actor_ip_addresses()
        .iter()
        .filter(|ip| !ip.ip_address().trim().is_empty())
        .map(|ip| ThreatActorIp {
            ip_address: ip.ip_address().trim().to_owned(),
            user_agent: non_blank_opt(ip.user_agent()),
        })
        .collect();
    case.watchers = out
        .watchers()
        .iter()
        .filter_map(|watcher| watcher_from(watcher.email(), watcher.name(), watcher.job_title()))
        .collect();
    case.created_at = out.created_date().and_then(to_chrono);
    case.updated_at = out.last_updated_date().and_then(to_chrono);
    case.closed_at = out.closed_date().and_then(to_chrono);
    case.reported_incident_start = out.reported_incident_start_date().and_then(to_chrono);
    case.actual_incident_start = out.actual_incident_start_date().and_then(to_chrono);
    case.closure_code = out
        .closure_code()
        .map(|code| ClosureCode::from(code.as_str()));
    case.attachments = out
        .case_attachments()
        .iter()
        .filter_map(attachment_from)
        .collect();
    case.severity = out
        .case_metadata()
        .iter()
        .find(|entry| entry.key().trim().eq_ignore_ascii_case(SEVERITY_KEY))
        .and_then(|entry| non_blank_opt(Some(entry.value())));
    case
}

/// Builds a domain comment from a ListComments item. The author is the item's `creator`.
///
/// A comment whose `createdDate` is missing takes its `lastUpdatedDate`; `updated_at` and
/// `updated_by` (`lastUpdatedBy`) are set only when the comment was edited after it was written.
pub fn comment_from_item(item: &ListCommentsItem) -> Result<Comment, SirMappingError> {
    let id = CommentId::new(item.comment_id()).map_err(|_| SirMappingError::MissingCommentId)?;
    let created = item.created_date().and_then(to_chrono);
    let updated = item.last_updated_date().and_then(to_chrono);
    let created_at = created
        .or(updated)
        .ok_or_else(|| SirMappingError::MissingCommentDate {
            comment_id: id.to_string(),
        })?;
    let updated_at = updated.filter(|updated| *updated > created_at);
    let updated_by = updated_at
        .and(item.last_updated_by())
        .map(str::trim)
        .filter(|editor| !editor.is_empty())
        .map(str::to_owned);
    Ok(Comment {
        id,
        body: item.body().unwrap_or_default().to_owned(),
        creator: item.creator().unwrap_or_default().trim().to_owned(),
        created_at,
        updated_at,
        updated_by,
    })
}

/// Reads one ListCases item.
pub fn case_list_entry(item: &ListCasesItem) -> Result<CaseListEntry, SirMappingError> {
    Ok(CaseListEntry {
        case_id: CaseId::new(item.case_id())?,
        last_updated: item.last_updated_date().and_then(to_chrono),
        status: item
            .case_status()
            .map(|status| CaseStatus::from(status.as_str())),
    })
}

/// The incident response team of a membership as watchers: members without an e-mail address
/// are left out, and each person (by [`Watcher::email_key`]) appears once.
pub fn ir_team_watchers(out: &GetMembershipOutput) -> Vec<Watcher> {
    let mut watchers: Vec<Watcher> = Vec::new();
    for member in out.incident_response_team() {
        let Some(watcher) = watcher_from(
            member.email(),
            Some(member.name()),
            Some(member.job_title()),
        ) else {
            continue;
        };
        if !watchers.iter().any(|known| known.is_same_person(&watcher)) {
            watchers.push(watcher);
        }
    }
    watchers
}

/// The SDK values of a CreateCase request for a [`Declaration`], built by
/// [`create_case_request`].
#[derive(Debug, Clone, PartialEq)]
pub struct CreateCaseRequest {
    /// `title`.
    pub title: String,
    /// `description`.
    pub description: String,
    /// `engagementType`.
    pub engagement_type: aws_sdk_securityir::types::EngagementType,
    /// `resolverType`.
    pub resolver_type: aws_sdk_securityir::types::ResolverType,
    /// `reportedIncidentStartDate` (midnight UTC of the reported day).
    pub reported_incident_start_date: aws_smithy_types::DateTime,
    /// `impactedAccounts`.
    pub impacted_accounts: Vec<String>,
    /// `watchers` (e-mail addresses, at least one).
    pub watchers: Vec<aws_sdk_securityir::types::Watcher>,
    /// `threatActorIpAddresses`.
    pub threat_actor_ip_addresses: Vec<aws_sdk_securityir::types::ThreatActorIp>,
    /// `impactedServices`.
    pub impacted_services: Vec<String>,
    /// `impactedAwsRegions`.
    pub impacted_aws_regions: Vec<aws_sdk_securityir::types::ImpactedAwsRegion>,
}

/// A CreateCase request could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateCaseRequestError {
    /// SIR needs at least one watcher e-mail address.
    #[error("a case needs at least one watcher with an e-mail address")]
    NoWatchers,
    /// The SDK refused a value (its message).
    #[error("the SIR request could not be built: {0}")]
    Build(String),
}

/// The CreateCase values for `declaration`, with `watcher_emails` (the declarer's first) as
/// the case's watchers.
pub fn create_case_request(
    declaration: &Declaration,
    watcher_emails: &[String],
) -> Result<CreateCaseRequest, CreateCaseRequestError> {
    use aws_sdk_securityir::types as sdk;
    let build = |error: aws_smithy_types::error::operation::BuildError| {
        CreateCaseRequestError::Build(error.to_string())
    };
    if watcher_emails.is_empty() {
        return Err(CreateCaseRequestError::NoWatchers);
    }
    let watchers = watcher_emails
        .iter()
        .map(|email| sdk::Watcher::builder().email(email).build().map_err(build))
        .collect::<Result<Vec<_>, _>>()?;
    let threat_actor_ip_addresses = declaration
        .threat_actor_ips
        .iter()
        .map(|ip| {
            sdk::ThreatActorIp::builder()
                .ip_address(sir_ip_address(ip))
                .build()
                .map_err(build)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let impacted_aws_regions = declaration
        .impacted_regions
        .iter()
        .map(|region| {
            sdk::ImpactedAwsRegion::builder()
                .region(sdk::AwsRegion::from(region.as_str()))
                .build()
                .map_err(build)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CreateCaseRequest {
        title: declaration.title.clone(),
        description: declaration.description.clone(),
        engagement_type: sdk::EngagementType::from(declaration.engagement_type.as_str()),
        resolver_type: sdk::ResolverType::from(declaration.resolver.as_str()),
        reported_incident_start_date: to_smithy(declaration.reported_start_at()),
        impacted_accounts: declaration.impacted_accounts.clone(),
        watchers,
        threat_actor_ip_addresses,
        impacted_services: declaration.impacted_services.clone(),
        impacted_aws_regions,
    })
}

/// The SDK value UpdateCaseStatus takes for a self-managed status.
pub fn self_managed_status_to_sdk(status: SelfManagedStatus) -> SelfManagedCaseStatus {
    match status {
        SelfManagedStatus::Submitted => SelfManagedCaseStatus::Submitted,
        SelfManagedStatus::DetectionAndAnalysis => SelfManagedCaseStatus::DetectionAndAnalysis,
        SelfManagedStatus::ContainmentEradicationAndRecovery => {
            SelfManagedCaseStatus::ContainmentEradicationAndRecovery
        }
        SelfManagedStatus::PostIncidentActivities => SelfManagedCaseStatus::PostIncidentActivities,
    }
}

/// Converts an SDK timestamp, or `None` when chrono cannot represent it.
pub fn to_chrono(time: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}

/// Converts a chrono timestamp for the SDK (every chrono UTC time fits).
pub fn to_smithy(time: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs_and_nanos(time.timestamp(), time.timestamp_subsec_nanos())
}

/// An IP address as SIR's model writes `IPAddress`: dotted IPv4, or IPv6 in full (eight groups,
/// upper-case hex, no `::` shorthand). `2001:db8::1` becomes `2001:DB8:0:0:0:0:0:1`; SIR's
/// pattern refuses the short form.
pub fn sir_ip_address(ip: &std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => v6
            .segments()
            .iter()
            .map(|group| format!("{group:X}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

fn unknown<T: From<&'static str>>() -> T {
    T::from(UNKNOWN_VALUE)
}

fn non_blank(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
        .collect()
}

fn non_blank_opt(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

fn watcher_from(email: &str, name: Option<&str>, job_title: Option<&str>) -> Option<Watcher> {
    let email = email.trim();
    if email.is_empty() {
        return None;
    }
    Some(Watcher {
        email: email.to_owned(),
        name: non_blank_opt(name),
        job_title: non_blank_opt(job_title),
    })
}

fn attachment_from(attributes: &CaseAttachmentAttributes) -> Option<Attachment> {
    let id = attributes.attachment_id().trim();
    if id.is_empty() {
        return None;
    }
    Some(Attachment {
        id: id.to_owned(),
        file_name: attributes.file_name().to_owned(),
        status: AttachmentStatus::from(attributes.attachment_status().as_str()),
        creator: attributes.creator().trim().to_owned(),
        created_at: to_chrono(attributes.created_date()).unwrap_or(DateTime::UNIX_EPOCH),
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_securityir::types::{
        AwsRegion, CaseAttachmentStatus, CaseMetadataEntry, ImpactedAwsRegion, IncidentResponder,
        Watcher as SdkWatcher,
    };
    use aws_sdk_securityir::types::{
        CaseStatus as SdkCaseStatus, ClosureCode as SdkClosureCode,
        EngagementType as SdkEngagementType, PendingAction as SdkPendingAction,
        ResolverType as SdkResolverType, ThreatActorIp as SdkThreatActorIp,
    };
    use aws_smithy_types::DateTime as SmithyDateTime;

    use super::*;

    fn case_id() -> CaseId {
        CaseId::new("1234567890").unwrap()
    }

    fn full_get_case() -> GetCaseOutput {
        GetCaseOutput::builder()
            .title("Compromised IAM key")
            .case_arn("arn:aws:security-ir:us-east-1:123456789012:case/1234567890")
            .description("Key AKIA... used from 203.0.113.7")
            .case_status(SdkCaseStatus::DetectionAndAnalysis)
            .engagement_type(SdkEngagementType::SecurityIncident)
            .resolver_type(SdkResolverType::SelfValue)
            .pending_action(SdkPendingAction::Customer)
            .reported_incident_start_date(SmithyDateTime::from_secs(1_700_000_000))
            .actual_incident_start_date(SmithyDateTime::from_secs(1_699_990_000))
            .impacted_aws_regions(
                ImpactedAwsRegion::builder()
                    .region(AwsRegion::UsEast1)
                    .build()
                    .unwrap(),
            )
            .impacted_aws_regions(
                ImpactedAwsRegion::builder()
                    .region(AwsRegion::EuWest1)
                    .build()
                    .unwrap(),
            )
            .threat_actor_ip_addresses(
                SdkThreatActorIp::builder()
                    .ip_address("203.0.113.7")
                    .user_agent("curl/8.0")
                    .build()
                    .unwrap(),
            )
            .impacted_accounts("123456789012")
            .impacted_accounts("  ")
            .impacted_services("IAM")
            .watchers(
                SdkWatcher::builder()
                    .email("jane@example.com")
                    .name("Jane Doe")
                    .job_title("")
                    .build()
                    .unwrap(),
            )
            .watchers(SdkWatcher::builder().email(" ").build().unwrap())
            .created_date(SmithyDateTime::from_secs_and_nanos(1_700_000_100, 500))
            .last_updated_date(SmithyDateTime::from_secs(1_700_000_200))
            .closure_code(SdkClosureCode::FalsePositive)
            .case_attachments(
                CaseAttachmentAttributes::builder()
                    .attachment_id("6f1c2b5e-0000-4000-8000-000000000001")
                    .file_name("report.pdf")
                    .attachment_status(CaseAttachmentStatus::Verified)
                    .creator("AWS Responder")
                    .created_date(SmithyDateTime::from_secs(1_700_000_300))
                    .build()
                    .unwrap(),
            )
            .case_metadata(
                CaseMetadataEntry::builder()
                    .key("Other")
                    .value("x")
                    .build()
                    .unwrap(),
            )
            .case_metadata(
                CaseMetadataEntry::builder()
                    .key(" SEVERITY ")
                    .value(" High ")
                    .build()
                    .unwrap(),
            )
            .build()
    }

    #[test]
    fn maps_every_get_case_field() {
        let case = case_from_get_case(&case_id(), &full_get_case());
        assert_eq!(case.id, case_id());
        assert_eq!(case.title, "Compromised IAM key");
        assert_eq!(case.description, "Key AKIA... used from 203.0.113.7");
        assert_eq!(case.status, CaseStatus::DetectionAndAnalysis);
        assert_eq!(case.engagement_type, EngagementType::SecurityIncident);
        assert_eq!(case.resolver, ResolverType::SelfManaged);
        assert_eq!(case.pending_action, Some(PendingAction::Customer));
        assert_eq!(case.impacted_regions, ["us-east-1", "eu-west-1"]);
        assert_eq!(case.impacted_accounts, ["123456789012"]);
        assert_eq!(case.impacted_services, ["IAM"]);
        assert_eq!(
            case.threat_actor_ips,
            [ThreatActorIp {
                ip_address: "203.0.113.7".into(),
                user_agent: Some("curl/8.0".into()),
            }]
        );
        assert_eq!(
            case.watchers,
            [Watcher {
                email: "jane@example.com".into(),
                name: Some("Jane Doe".into()),
                job_title: None,
            }]
        );
        let created = case.created_at.unwrap();
        assert_eq!(created.timestamp(), 1_700_000_100);
        assert_eq!(created.timestamp_subsec_nanos(), 500);
        assert_eq!(case.updated_at.unwrap().timestamp(), 1_700_000_200);
        assert_eq!(case.closed_at, None);
        assert_eq!(
            case.reported_incident_start.unwrap().timestamp(),
            1_700_000_000
        );
        assert_eq!(
            case.actual_incident_start.unwrap().timestamp(),
            1_699_990_000
        );
        assert_eq!(case.closure_code, Some(ClosureCode::FalsePositive));
        assert_eq!(case.severity.as_deref(), Some("High"));
        assert_eq!(case.attachments.len(), 1);
        let attachment = &case.attachments[0];
        assert_eq!(attachment.id, "6f1c2b5e-0000-4000-8000-000000000001");
        assert_eq!(attachment.file_name, "report.pdf");
        assert!(attachment.is_verified());
        assert_eq!(attachment.creator, "AWS Responder");
        assert_eq!(attachment.created_at.timestamp(), 1_700_000_300);
    }

    #[test]
    fn an_empty_get_case_still_maps() {
        let case = case_from_get_case(&case_id(), &GetCaseOutput::builder().build());
        assert_eq!(case.title, "");
        assert_eq!(case.status, CaseStatus::Other("Unknown".into()));
        assert_eq!(
            case.engagement_type,
            EngagementType::Other("Unknown".into())
        );
        assert_eq!(case.resolver, ResolverType::Other("Unknown".into()));
        assert!(case.watchers.is_empty() && case.attachments.is_empty());
        assert_eq!(case.severity, None);
        assert_eq!(case.created_at, None);
    }

    #[test]
    fn unknown_enum_values_are_kept() {
        let out = GetCaseOutput::builder()
            .case_status(SdkCaseStatus::from("Escalated"))
            .case_attachments(
                CaseAttachmentAttributes::builder()
                    .attachment_id("a")
                    .file_name("b")
                    .attachment_status(CaseAttachmentStatus::from("Quarantined"))
                    .creator("c")
                    .created_date(SmithyDateTime::from_secs(0))
                    .build()
                    .unwrap(),
            )
            .build();
        let case = case_from_get_case(&case_id(), &out);
        assert_eq!(case.status, CaseStatus::Other("Escalated".into()));
        assert_eq!(
            case.attachments[0].status,
            AttachmentStatus::Other("Quarantined".into())
        );
    }

    #[test]
    fn dates_chrono_cannot_hold_are_dropped() {
        let out = GetCaseOutput::builder()
            .created_date(SmithyDateTime::from_secs(i64::MAX))
            .build();
        assert_eq!(case_from_get_case(&case_id(), &out).created_at, None);
    }

    #[test]
    fn comments_take_their_author_from_creator() {
        let item = ListCommentsItem::builder()
            .comment_id("123456")
            .body("Please rotate the key.")
            .creator("AWS Responder")
            .created_date(SmithyDateTime::from_secs(1_700_000_000))
            .last_updated_date(SmithyDateTime::from_secs(1_700_000_000))
            .build()
            .unwrap();
        let comment = comment_from_item(&item).unwrap();
        assert_eq!(comment.id.as_str(), "123456");
        assert_eq!(comment.creator, "AWS Responder");
        assert_eq!(comment.author_display(), "AWS Responder");
        assert_eq!(comment.body, "Please rotate the key.");
        assert_eq!(comment.created_at.timestamp(), 1_700_000_000);
        assert_eq!(comment.updated_at, None);
    }

    #[test]
    fn edited_comments_keep_their_edit_time() {
        let item = ListCommentsItem::builder()
            .comment_id("123457")
            .created_date(SmithyDateTime::from_secs(100))
            .last_updated_date(SmithyDateTime::from_secs(200))
            .build()
            .unwrap();
        let comment = comment_from_item(&item).unwrap();
        assert_eq!(comment.updated_at.unwrap().timestamp(), 200);
        assert_eq!(comment.creator, "");
        assert_eq!(comment.author_display(), "Unknown author");
        assert_eq!(comment.updated_by, None, "no lastUpdatedBy given");

        let edited = ListCommentsItem::builder()
            .comment_id("123458")
            .creator("AWS Responder")
            .last_updated_by(" arn:aws:iam::111122223333:user/jane ")
            .created_date(SmithyDateTime::from_secs(100))
            .last_updated_date(SmithyDateTime::from_secs(200))
            .build()
            .unwrap();
        assert_eq!(
            comment_from_item(&edited).unwrap().updated_by.as_deref(),
            Some("arn:aws:iam::111122223333:user/jane")
        );
        // Not edited after it was written: who "last updated" it is its author, not an editor.
        let unedited = ListCommentsItem::builder()
            .comment_id("123459")
            .creator("AWS Responder")
            .last_updated_by("AWS Responder")
            .created_date(SmithyDateTime::from_secs(100))
            .last_updated_date(SmithyDateTime::from_secs(100))
            .build()
            .unwrap();
        assert_eq!(comment_from_item(&unedited).unwrap().updated_by, None);
    }

    #[test]
    fn incomplete_comments_are_errors() {
        let no_id = ListCommentsItem::builder()
            .comment_id(" ")
            .created_date(SmithyDateTime::from_secs(1))
            .build()
            .unwrap();
        assert_eq!(
            comment_from_item(&no_id),
            Err(SirMappingError::MissingCommentId)
        );
        let no_date = ListCommentsItem::builder()
            .comment_id("123456")
            .build()
            .unwrap();
        assert_eq!(
            comment_from_item(&no_date),
            Err(SirMappingError::MissingCommentDate {
                comment_id: "123456".into()
            })
        );
        let only_updated = ListCommentsItem::builder()
            .comment_id("123456")
            .last_updated_date(SmithyDateTime::from_secs(5))
            .build()
            .unwrap();
        let comment = comment_from_item(&only_updated).unwrap();
        assert_eq!(comment.created_at.timestamp(), 5);
        assert_eq!(comment.updated_at, None);
    }

    #[test]
    fn case_list_entries() {
        let item = ListCasesItem::builder()
            .case_id("1234567890")
            .last_updated_date(SmithyDateTime::from_secs(42))
            .case_status(SdkCaseStatus::Closed)
            .build()
            .unwrap();
        let entry = case_list_entry(&item).unwrap();
        assert_eq!(entry.case_id, case_id());
        assert_eq!(entry.last_updated.unwrap().timestamp(), 42);
        assert!(entry.is_closed());
        let bare = ListCasesItem::builder()
            .case_id("9876543210")
            .build()
            .unwrap();
        let entry = case_list_entry(&bare).unwrap();
        assert_eq!((entry.last_updated, entry.status.clone()), (None, None));
        assert!(!entry.is_closed());
        let bad = ListCasesItem::builder().case_id("12").build().unwrap();
        assert!(matches!(
            case_list_entry(&bad),
            Err(SirMappingError::InvalidCaseId(_))
        ));
    }

    #[test]
    fn ir_team_members_become_distinct_watchers() {
        let member = |name: &str, title: &str, email: &str| {
            IncidentResponder::builder()
                .name(name)
                .job_title(title)
                .email(email)
                .build()
                .unwrap()
        };
        let out = GetMembershipOutput::builder()
            .membership_id("m-1")
            .incident_response_team(member("Jane Doe", "CISO", "Jane@Example.com"))
            .incident_response_team(member("Jane D.", "", "jane@example.com "))
            .incident_response_team(member("No Mail", "Analyst", ""))
            .incident_response_team(member("", "", "bob@example.com"))
            .build()
            .unwrap();
        let watchers = ir_team_watchers(&out);
        assert_eq!(
            watchers,
            [
                Watcher {
                    email: "Jane@Example.com".into(),
                    name: Some("Jane Doe".into()),
                    job_title: Some("CISO".into()),
                },
                Watcher::new("bob@example.com"),
            ]
        );
    }

    #[test]
    fn self_managed_statuses_map_to_the_same_wire_string() {
        for status in SelfManagedStatus::ALL {
            assert_eq!(self_managed_status_to_sdk(status).as_str(), status.as_str());
        }
    }

    #[test]
    fn timestamps_round_trip() {
        let time = DateTime::from_timestamp(1_700_000_000, 123_000_000).unwrap();
        assert_eq!(to_chrono(&to_smithy(time)), Some(time));
    }
}

/// Longest SIR error text shown to a Slack user.
const ERROR_TEXT_FOR_PEOPLE_MAX: usize = 200;

/// SIR's error message made safe to show a Slack user: SIR's messages can name the caller's
/// role (`User: arn:aws:sts::123456789012:assumed-role/...`) and account, which channel
/// members (guests included) need not see. Every word holding an ARN or a 12-digit number is
/// replaced by `[redacted]`, and the text is cut to 200 characters. Log the original.
pub fn error_text_for_people(message: &str) -> String {
    let redacted: Vec<&str> = message
        .split_whitespace()
        .map(|word| {
            let has_account_id = word
                .split(|c: char| !c.is_ascii_digit())
                .any(|digits| digits.len() == 12);
            if word.contains("arn:") || has_account_id {
                "[redacted]"
            } else {
                word
            }
        })
        .collect();
    let text = redacted.join(" ");
    if text.chars().count() <= ERROR_TEXT_FOR_PEOPLE_MAX {
        return text;
    }
    let cut: String = text.chars().take(ERROR_TEXT_FOR_PEOPLE_MAX).collect();
    format!("{}...", cut.trim_end())
}

#[cfg(test)]
mod error_text_tests {
    use super::error_text_for_people;

    #[test]
    fn arns_and_account_ids_never_reach_people() {
        let shown = error_text_for_people(
            "User: arn:aws:sts::123456789012:assumed-role/sirslack-CommandHandler/abc is not \
             authorized to perform: security-ir:UpdateCase on resource \
             arn:aws:security-ir:us-east-1:123456789012:case/1234567890 (account 123456789012)",
        );
        assert!(!shown.contains("arn:"), "{shown}");
        assert!(!shown.contains("123456789012"), "{shown}");
        assert!(shown.contains("is not authorized to perform"), "{shown}");
        // A 10-digit case ID is not an account ID.
        assert_eq!(
            error_text_for_people("Case 1234567890 cannot move to Closed."),
            "Case 1234567890 cannot move to Closed."
        );
        assert!(error_text_for_people(&"word ".repeat(100)).chars().count() <= 203);
    }
}

#[cfg(test)]
mod create_case_tests {
    use aws_sdk_securityir::types as sdk;
    use chrono::NaiveDate;
    use sirslack_domain::DeclarationDraft;

    use super::*;

    fn declaration(resolver: &str) -> Declaration {
        DeclarationDraft {
            title: "Compromised IAM key".into(),
            description: "Access key used".into(),
            engagement_type: Some("Investigation".into()),
            reported_start: Some("2026-12-05".into()),
            impacted_accounts: "111122223333".into(),
            impacted_regions: "us-east-1".into(),
            impacted_services: "Amazon S3".into(),
            threat_actor_ips: "203.0.113.7".into(),
            resolver: Some(resolver.into()),
            aws_support_confirmed: true,
            watchers: Vec::new(),
        }
        .into_declaration(NaiveDate::from_ymd_opt(2026, 12, 6).expect("date"))
        .expect("valid")
    }

    #[test]
    fn a_declaration_maps_to_create_case_values() {
        let request = create_case_request(
            &declaration("Self"),
            &["jane@example.com".to_owned(), "bob@example.com".to_owned()],
        )
        .expect("request");
        assert_eq!(request.engagement_type, sdk::EngagementType::Investigation);
        assert_eq!(request.resolver_type, sdk::ResolverType::SelfValue);
        assert_eq!(request.reported_incident_start_date.secs(), 1_796_428_800);
        assert_eq!(request.watchers.len(), 2);
        assert_eq!(request.watchers[0].email(), "jane@example.com");
        assert_eq!(
            request.threat_actor_ip_addresses[0].ip_address(),
            "203.0.113.7"
        );
        assert_eq!(
            request.impacted_aws_regions[0].region(),
            &sdk::AwsRegion::UsEast1
        );
        assert_eq!(request.impacted_accounts, ["111122223333"]);
        let aws = create_case_request(&declaration("AWS"), &["jane@example.com".to_owned()])
            .expect("request");
        assert_eq!(aws.resolver_type, sdk::ResolverType::Aws);
        assert_eq!(
            create_case_request(&declaration("Self"), &[]),
            Err(CreateCaseRequestError::NoWatchers)
        );
    }

    #[test]
    fn threat_actor_ips_are_written_as_sirs_model_requires() {
        let v6: std::net::IpAddr = "2001:db8::1".parse().expect("IPv6");
        assert_eq!(sir_ip_address(&v6), "2001:DB8:0:0:0:0:0:1");
        let mapped: std::net::IpAddr = "::ffff:203.0.113.7".parse().expect("IPv6");
        assert_eq!(sir_ip_address(&mapped), "0:0:0:0:0:FFFF:CB00:7107");
        let v4: std::net::IpAddr = "203.0.113.7".parse().expect("IPv4");
        assert_eq!(sir_ip_address(&v4), "203.0.113.7");
    }
}
