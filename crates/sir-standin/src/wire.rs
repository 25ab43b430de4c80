//! restJson1 wire shapes: request bodies in, response bodies out.
//!
//! Member names follow the SDK's own (de)serialisers in `aws-sdk-securityir`'s `protocol_serde`.
//! Inputs are all-optional so that missing members become ValidationExceptions listing the field,
//! not parse errors. Timestamps go out as epoch seconds with a millisecond fraction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::model::{
    AttachmentRecord, CaseEdit, CaseMetadataEntry, CaseRecord, CommentRecord, IncidentResponder,
    InvestigationAction, MembershipRecord, ThreatActorIp, Watcher,
};

/// Epoch seconds as a JSON number, e.g. `1763785000.123`.
pub(crate) fn epoch_seconds(time: DateTime<Utc>) -> Value {
    json!(time.timestamp_millis() as f64 / 1000.0)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WatcherInput {
    pub email: Option<String>,
    pub name: Option<String>,
    pub job_title: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ThreatActorIpInput {
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RegionInput {
    pub region: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct MetadataInput {
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateCaseInput {
    pub client_token: Option<String>,
    pub resolver_type: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub engagement_type: Option<String>,
    pub reported_incident_start_date: Option<f64>,
    pub impacted_accounts: Option<Vec<String>>,
    pub watchers: Option<Vec<WatcherInput>>,
    pub threat_actor_ip_addresses: Option<Vec<ThreatActorIpInput>>,
    pub impacted_services: Option<Vec<String>>,
    pub impacted_aws_regions: Option<Vec<RegionInput>>,
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateCaseInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub reported_incident_start_date: Option<f64>,
    pub actual_incident_start_date: Option<f64>,
    pub engagement_type: Option<String>,
    pub watchers_to_add: Option<Vec<WatcherInput>>,
    pub watchers_to_delete: Option<Vec<WatcherInput>>,
    pub threat_actor_ip_addresses_to_add: Option<Vec<ThreatActorIpInput>>,
    pub threat_actor_ip_addresses_to_delete: Option<Vec<ThreatActorIpInput>>,
    pub impacted_services_to_add: Option<Vec<String>>,
    pub impacted_services_to_delete: Option<Vec<String>>,
    pub impacted_aws_regions_to_add: Option<Vec<RegionInput>>,
    pub impacted_aws_regions_to_delete: Option<Vec<RegionInput>>,
    pub impacted_accounts_to_add: Option<Vec<String>>,
    pub impacted_accounts_to_delete: Option<Vec<String>>,
    pub case_metadata: Option<Vec<MetadataInput>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateCaseStatusInput {
    pub case_status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateCaseCommentInput {
    pub client_token: Option<String>,
    pub body: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct UpdateCaseCommentInput {
    pub body: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UploadUrlInput {
    pub client_token: Option<String>,
    pub file_name: Option<String>,
    pub content_length: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageInput {
    pub next_token: Option<String>,
    pub max_results: Option<i64>,
}

/// Inserts `value` under `key` only when present: SIR omits unset members.
fn put_opt(object: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        object.insert(key.to_owned(), value);
    }
}

fn watcher_json(watcher: &Watcher) -> Value {
    let mut object = Map::new();
    object.insert("email".to_owned(), json!(watcher.email));
    put_opt(&mut object, "name", watcher.name.as_ref().map(|v| json!(v)));
    put_opt(
        &mut object,
        "jobTitle",
        watcher.job_title.as_ref().map(|v| json!(v)),
    );
    Value::Object(object)
}

fn threat_actor_json(ip: &ThreatActorIp) -> Value {
    let mut object = Map::new();
    object.insert("ipAddress".to_owned(), json!(ip.ip_address));
    put_opt(
        &mut object,
        "userAgent",
        ip.user_agent.as_ref().map(|v| json!(v)),
    );
    Value::Object(object)
}

fn metadata_json(entry: &CaseMetadataEntry) -> Value {
    json!({ "key": entry.key, "value": entry.value })
}

pub(crate) fn attachment_json(attachment: &AttachmentRecord) -> Value {
    json!({
        "attachmentId": attachment.attachment_id,
        "fileName": attachment.file_name,
        "attachmentStatus": attachment.status.as_str(),
        "creator": attachment.creator,
        "createdDate": epoch_seconds(attachment.created_date),
    })
}

/// GetCase output. Deliberately without `caseId`, as SIR.
pub(crate) fn get_case_json<'a>(
    case: &CaseRecord,
    attachments: impl Iterator<Item = &'a AttachmentRecord>,
) -> Value {
    let mut object = Map::new();
    object.insert("title".to_owned(), json!(case.title));
    object.insert("caseArn".to_owned(), json!(case.case_arn));
    object.insert("description".to_owned(), json!(case.description));
    object.insert("caseStatus".to_owned(), json!(case.status.as_str()));
    object.insert(
        "engagementType".to_owned(),
        json!(case.engagement_type.as_str()),
    );
    object.insert(
        "reportedIncidentStartDate".to_owned(),
        epoch_seconds(case.reported_incident_start_date),
    );
    put_opt(
        &mut object,
        "actualIncidentStartDate",
        case.actual_incident_start_date.map(epoch_seconds),
    );
    object.insert(
        "impactedAwsRegions".to_owned(),
        case.impacted_aws_regions
            .iter()
            .map(|region| json!({ "region": region }))
            .collect(),
    );
    object.insert(
        "threatActorIpAddresses".to_owned(),
        case.threat_actor_ip_addresses
            .iter()
            .map(threat_actor_json)
            .collect(),
    );
    object.insert(
        "pendingAction".to_owned(),
        json!(case.pending_action.as_str()),
    );
    object.insert("impactedAccounts".to_owned(), json!(case.impacted_accounts));
    object.insert(
        "watchers".to_owned(),
        case.watchers.iter().map(watcher_json).collect(),
    );
    object.insert("createdDate".to_owned(), epoch_seconds(case.created_date));
    object.insert(
        "lastUpdatedDate".to_owned(),
        epoch_seconds(case.last_updated_date),
    );
    put_opt(
        &mut object,
        "closureCode",
        case.closure_code.map(|code| json!(code.as_str())),
    );
    object.insert(
        "resolverType".to_owned(),
        json!(case.resolver_type.as_str()),
    );
    object.insert("impactedServices".to_owned(), json!(case.impacted_services));
    object.insert(
        "caseAttachments".to_owned(),
        attachments.map(attachment_json).collect(),
    );
    put_opt(
        &mut object,
        "closedDate",
        case.closed_date.map(epoch_seconds),
    );
    object.insert(
        "caseMetadata".to_owned(),
        case.case_metadata.iter().map(metadata_json).collect(),
    );
    Value::Object(object)
}

pub(crate) fn list_cases_item_json(case: &CaseRecord) -> Value {
    let mut object = Map::new();
    object.insert("caseId".to_owned(), json!(case.case_id));
    object.insert(
        "lastUpdatedDate".to_owned(),
        epoch_seconds(case.last_updated_date),
    );
    object.insert("title".to_owned(), json!(case.title));
    object.insert("caseArn".to_owned(), json!(case.case_arn));
    object.insert(
        "engagementType".to_owned(),
        json!(case.engagement_type.as_str()),
    );
    object.insert("caseStatus".to_owned(), json!(case.status.as_str()));
    object.insert("createdDate".to_owned(), epoch_seconds(case.created_date));
    put_opt(
        &mut object,
        "closedDate",
        case.closed_date.map(epoch_seconds),
    );
    object.insert(
        "resolverType".to_owned(),
        json!(case.resolver_type.as_str()),
    );
    object.insert(
        "pendingAction".to_owned(),
        json!(case.pending_action.as_str()),
    );
    Value::Object(object)
}

pub(crate) fn comment_json(comment: &CommentRecord) -> Value {
    json!({
        "commentId": comment.comment_id,
        "createdDate": epoch_seconds(comment.created_date),
        "lastUpdatedDate": epoch_seconds(comment.last_updated_date),
        "creator": comment.creator,
        "lastUpdatedBy": comment.last_updated_by,
        "body": comment.body,
    })
}

pub(crate) fn case_edit_json(edit: &CaseEdit) -> Value {
    json!({
        "eventTimestamp": epoch_seconds(edit.event_timestamp),
        "principal": edit.principal,
        "action": edit.action,
        "message": edit.message,
    })
}

pub(crate) fn investigation_json(action: &InvestigationAction) -> Value {
    let mut object = Map::new();
    object.insert("investigationId".to_owned(), json!(action.investigation_id));
    object.insert("actionType".to_owned(), json!(action.action_type));
    object.insert("title".to_owned(), json!(action.title));
    object.insert("content".to_owned(), json!(action.content));
    object.insert("status".to_owned(), json!(action.status));
    object.insert("lastUpdated".to_owned(), epoch_seconds(action.last_updated));
    if let Some(feedback) = &action.feedback {
        let mut feedback_object = Map::new();
        put_opt(
            &mut feedback_object,
            "usefulness",
            feedback.usefulness.as_ref().map(|v| json!(v)),
        );
        put_opt(
            &mut feedback_object,
            "comment",
            feedback.comment.as_ref().map(|v| json!(v)),
        );
        put_opt(
            &mut feedback_object,
            "submittedAt",
            feedback.submitted_at.map(epoch_seconds),
        );
        object.insert("feedback".to_owned(), Value::Object(feedback_object));
    }
    Value::Object(object)
}

pub(crate) fn membership_arn(membership: &MembershipRecord) -> String {
    format!(
        "arn:aws:security-ir:{}:{}:membership/{}",
        membership.region, membership.account_id, membership.membership_id
    )
}

pub(crate) fn list_membership_item_json(membership: &MembershipRecord) -> Value {
    json!({
        "membershipId": membership.membership_id,
        "accountId": membership.account_id,
        "region": membership.region,
        "membershipArn": membership_arn(membership),
        "membershipStatus": membership.status.as_str(),
    })
}

fn responder_json(responder: &IncidentResponder) -> Value {
    json!({ "name": responder.name, "jobTitle": responder.job_title, "email": responder.email })
}

pub(crate) fn get_membership_json(membership: &MembershipRecord) -> Value {
    json!({
        "membershipId": membership.membership_id,
        "accountId": membership.account_id,
        "region": membership.region,
        "membershipName": membership.membership_name,
        "membershipArn": membership_arn(membership),
        "membershipStatus": membership.status.as_str(),
        "membershipActivationTimestamp": epoch_seconds(membership.activation_timestamp),
        "customerType": "Standalone",
        "numberOfAccountsCovered": 1,
        "incidentResponseTeam": membership
            .incident_response_team
            .iter()
            .map(responder_json)
            .collect::<Vec<_>>(),
    })
}
