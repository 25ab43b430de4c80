//! HTTP front: routes restJson1 requests to operations, records every call, applies faults.
//!
//! Routing is done by hand on path segments rather than with axum's router so that every request,
//! including ones for unknown paths, goes through one place that records it and answers with a
//! restJson1 error the SDK can parse.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, FieldErrors};
use crate::faults::{
    FaultKind, PRESIGNED_DOWNLOAD, PRESIGNED_UPLOAD, RecordedCall, UNKNOWN_OPERATION,
};
use crate::model::{
    CaseMetadataEntry, CaseStatus, EngagementType, NewCase, PendingAction, ResolverType,
    ThreatActorIp, Watcher,
};
use crate::pagination::PageRequest;
use crate::store::{DownloadTicket, IdempotentEntry, Shared, Store, UploadTicket, UrlExpiry};
use crate::validate::{
    ATTACHMENT_MAX_BYTES, CASE_ID_PATTERN, CLIENT_TOKEN_MAX, COMMENT_BODY_MAX, DESCRIPTION_MAX,
    FILE_NAME_MAX, FILE_NAME_PATTERN, IMPACTED_ACCOUNTS_MAX, IMPACTED_REGIONS_MAX,
    IMPACTED_SERVICES_MAX, SERVICE_PATTERN, TAGS_MAX, THREAT_ACTOR_IPS_MAX, TITLE_MAX,
    WATCHERS_MAX, is_case_id, is_file_name, is_service_name,
};
use crate::wire::{
    self, CreateCaseInput, PageInput, RegionInput, ThreatActorIpInput, WatcherInput,
};

/// Largest JSON request body accepted; the biggest legitimate one (a 12,000-character comment)
/// is far below it.
const API_BODY_LIMIT: usize = 1024 * 1024;

/// The SIR operations served, named as in SIR-API.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    ListCases,
    GetCase,
    CreateCase,
    UpdateCase,
    UpdateCaseStatus,
    CloseCase,
    CreateCaseComment,
    UpdateCaseComment,
    ListComments,
    GetCaseAttachmentDownloadUrl,
    GetCaseAttachmentUploadUrl,
    ListMemberships,
    GetMembership,
    ListCaseEdits,
    ListInvestigations,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::ListCases => "ListCases",
            Operation::GetCase => "GetCase",
            Operation::CreateCase => "CreateCase",
            Operation::UpdateCase => "UpdateCase",
            Operation::UpdateCaseStatus => "UpdateCaseStatus",
            Operation::CloseCase => "CloseCase",
            Operation::CreateCaseComment => "CreateCaseComment",
            Operation::UpdateCaseComment => "UpdateCaseComment",
            Operation::ListComments => "ListComments",
            Operation::GetCaseAttachmentDownloadUrl => "GetCaseAttachmentDownloadUrl",
            Operation::GetCaseAttachmentUploadUrl => "GetCaseAttachmentUploadUrl",
            Operation::ListMemberships => "ListMemberships",
            Operation::GetMembership => "GetMembership",
            Operation::ListCaseEdits => "ListCaseEdits",
            Operation::ListInvestigations => "ListInvestigations",
        }
    }
}

/// A matched API route with its path labels (percent-decoded).
#[derive(Debug)]
struct ApiCall {
    operation: Operation,
    case_id: Option<String>,
    /// `{commentId}`, `{attachmentId}` or `{membershipId}`.
    resource_id: Option<String>,
}

enum Route {
    Api(ApiCall),
    PresignedUpload { ticket_id: String },
    PresignedDownload { ticket_id: String },
}

fn resolve(method: &Method, path: &str) -> Option<Route> {
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let api = |operation, case_id: Option<&str>, resource_id: Option<&str>| {
        Some(Route::Api(ApiCall {
            operation,
            case_id: case_id.map(str::to_owned),
            resource_id: resource_id.map(str::to_owned),
        }))
    };
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "list-cases"]) => api(Operation::ListCases, None, None),
        ("POST", ["v1", "create-case"]) => api(Operation::CreateCase, None, None),
        ("POST", ["v1", "memberships"]) => api(Operation::ListMemberships, None, None),
        ("GET", ["v1", "membership", id]) => api(Operation::GetMembership, None, Some(id)),
        ("GET", ["v1", "cases", case, "get-case"]) => api(Operation::GetCase, Some(case), None),
        ("POST", ["v1", "cases", case, "update-case"]) => {
            api(Operation::UpdateCase, Some(case), None)
        }
        ("POST", ["v1", "cases", case, "update-case-status"]) => {
            api(Operation::UpdateCaseStatus, Some(case), None)
        }
        ("POST", ["v1", "cases", case, "close-case"]) => {
            api(Operation::CloseCase, Some(case), None)
        }
        ("POST", ["v1", "cases", case, "create-comment"]) => {
            api(Operation::CreateCaseComment, Some(case), None)
        }
        ("PUT", ["v1", "cases", case, "update-case-comment", comment]) => {
            api(Operation::UpdateCaseComment, Some(case), Some(comment))
        }
        ("POST", ["v1", "cases", case, "list-comments"]) => {
            api(Operation::ListComments, Some(case), None)
        }
        ("GET", ["v1", "cases", case, "get-presigned-url", attachment]) => api(
            Operation::GetCaseAttachmentDownloadUrl,
            Some(case),
            Some(attachment),
        ),
        ("POST", ["v1", "cases", case, "get-presigned-url"]) => {
            api(Operation::GetCaseAttachmentUploadUrl, Some(case), None)
        }
        ("POST", ["v1", "cases", case, "list-case-edits"]) => {
            api(Operation::ListCaseEdits, Some(case), None)
        }
        ("GET", ["v1", "cases", case, "list-investigations"]) => {
            api(Operation::ListInvestigations, Some(case), None)
        }
        ("PUT", ["presigned", "upload", ticket, _file_name]) => Some(Route::PresignedUpload {
            ticket_id: (*ticket).to_owned(),
        }),
        ("GET", ["presigned", "download", ticket, _file_name]) => Some(Route::PresignedDownload {
            ticket_id: (*ticket).to_owned(),
        }),
        _ => None,
    }
}

/// The one axum handler: everything the stand-in serves comes through here.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut response = match resolve(&parts.method, parts.uri.path()) {
        Some(Route::Api(call)) => api_call(&shared, call, &parts, body).await,
        Some(Route::PresignedUpload { ticket_id }) => {
            presigned_upload(&shared, &ticket_id, &parts, body).await
        }
        Some(Route::PresignedDownload { ticket_id }) => {
            presigned_download(&shared, &ticket_id, &parts).await
        }
        None => unknown_route(&shared, &parts),
    };
    if let Ok(request_id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        response
            .headers_mut()
            .insert("x-amzn-RequestId", request_id);
    }
    response
}

fn unknown_route(shared: &Shared, parts: &Parts) -> Response {
    let error = ApiError::Custom {
        status: 404,
        error_type: "UnknownOperationException".to_owned(),
        message: format!("No operation matches {} {}", parts.method, parts.uri.path()),
    };
    shared.record(RecordedCall {
        operation: UNKNOWN_OPERATION.to_owned(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        case_id: None,
        request: Value::Null,
        status: error.status().as_u16(),
        error_type: Some(error.error_type().to_owned()),
    });
    error.into_response()
}

async fn api_call(shared: &Shared, call: ApiCall, parts: &Parts, body: Body) -> Response {
    let request = read_request(call.operation, parts, body).await;
    let recorded_request = request.as_ref().map_or(Value::Null, Clone::clone);
    let outcome = async {
        // Authentication comes first, as on AWS: an unsigned malformed request is a 403.
        check_signature(&parts.headers)?;
        authorize(shared, &call, &parts.headers)?;
        let request = request?;
        match shared.take_fault(call.operation.name(), true) {
            Some(FaultKind::Latency(delay)) => tokio::time::sleep(delay).await,
            Some(kind) => return Err(fault_error(kind)),
            None => {}
        }
        let mut store = shared.lock();
        dispatch(&mut store, &call, &request)
    }
    .await;
    let (status, error_type, response) = match outcome {
        Ok((status, body)) => (status, None, (status, axum::Json(body)).into_response()),
        Err(error) => (
            error.status(),
            Some(error.error_type().to_owned()),
            error.into_response(),
        ),
    };
    shared.record(RecordedCall {
        operation: call.operation.name().to_owned(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        case_id: call.case_id.clone(),
        request: recorded_request,
        status: status.as_u16(),
        error_type,
    });
    response
}

/// IAM: the caller's policy must allow `security-ir:<Operation>` on the resource the call acts on.
fn authorize(shared: &Shared, call: &ApiCall, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(authorizer) = &shared.authorizer else {
        return Ok(());
    };
    let (region, account) = shared.lock().arn_scope();
    let resource = match (call.operation, &call.case_id, &call.resource_id) {
        (Operation::GetMembership, _, Some(membership)) => {
            format!("arn:aws:security-ir:{region}:{account}:membership/{membership}")
        }
        (_, Some(case_id), _) => format!("arn:aws:security-ir:{region}:{account}:case/{case_id}"),
        _ => "*".to_owned(),
    };
    let access = local_iam::Access::new(format!("security-ir:{}", call.operation.name()), resource);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    authorizer
        .authorize(authorization, &[access])
        .map(|_| ())
        .map_err(|denial| match denial {
            local_iam::Denial::NotAuthorized { .. } | local_iam::Denial::MissingAuthentication => {
                ApiError::AccessDenied(denial.to_string())
            }
            local_iam::Denial::UnknownAccessKey { .. } => ApiError::Custom {
                status: 403,
                error_type: "UnrecognizedClientException".to_owned(),
                message: denial.to_string(),
            },
        })
}

/// The request's input as JSON: the body, or for ListInvestigations (a GET) its query string.
async fn read_request(operation: Operation, parts: &Parts, body: Body) -> Result<Value, ApiError> {
    if operation == Operation::ListInvestigations {
        let query = parse_query(parts.uri.query().unwrap_or_default())
            .into_iter()
            .map(|(key, value)| (key, Value::String(value)))
            .collect::<Map<_, _>>();
        return Ok(Value::Object(query));
    }
    let bytes = axum::body::to_bytes(body, API_BODY_LIMIT)
        .await
        .map_err(|error| {
            ApiError::cannot_parse(format!("Could not read the request body: {error}"))
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(ApiError::cannot_parse(
            "The request body must be a JSON object",
        )),
        Err(error) => Err(ApiError::cannot_parse(format!(
            "The request body is not valid JSON: {error}"
        ))),
    }
}

/// Accepts any well-formed SigV4 `Authorization` header for service `security-ir` without
/// checking the signature: the point is to prove the client signs, not to hold secrets.
fn check_signature(headers: &HeaderMap) -> Result<(), ApiError> {
    let denied = |message: &str| ApiError::AccessDenied(message.to_owned());
    let authorization = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| denied("Missing Authentication Token: requests must be signed with SigV4"))?
        .to_str()
        .map_err(|_| denied("The Authorization header is not valid text"))?;
    let parameters = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| {
            denied("The Authorization header is not AWS Signature Version 4 (AWS4-HMAC-SHA256)")
        })?;
    let parameter = |name: &str| {
        parameters
            .split(',')
            .map(str::trim)
            .find_map(|part| part.strip_prefix(name))
            .filter(|value| !value.is_empty())
    };
    let credential = parameter("Credential=")
        .ok_or_else(|| denied("The SigV4 Authorization header has no Credential"))?;
    parameter("SignedHeaders=")
        .ok_or_else(|| denied("The SigV4 Authorization header has no SignedHeaders"))?;
    parameter("Signature=")
        .ok_or_else(|| denied("The SigV4 Authorization header has no Signature"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    match scope.as_slice() {
        [_access_key, _date, _region, "security-ir", "aws4_request"] => Ok(()),
        _ => Err(denied(
            "The SigV4 credential scope must be <key>/<date>/<region>/security-ir/aws4_request",
        )),
    }
}

fn fault_error(kind: FaultKind) -> ApiError {
    match kind {
        FaultKind::Throttling => ApiError::Throttling,
        FaultKind::InternalError => ApiError::Internal("Injected internal error".to_owned()),
        FaultKind::Validation(message) => ApiError::rule(message, None),
        FaultKind::Custom {
            status,
            error_type,
            message,
        } => ApiError::Custom {
            status,
            error_type,
            message,
        },
        FaultKind::Latency(_) => {
            ApiError::Internal("latency faults are applied before dispatch".to_owned())
        }
    }
}

type OperationResult = Result<(StatusCode, Value), ApiError>;

fn dispatch(store: &mut Store, call: &ApiCall, request: &Value) -> OperationResult {
    let case_id = call.case_id.as_deref().unwrap_or_default();
    let resource_id = call.resource_id.as_deref().unwrap_or_default();
    match call.operation {
        Operation::ListCases => list_cases(store, request),
        Operation::GetCase => get_case(store, case_id),
        Operation::CreateCase => create_case(store, request),
        Operation::UpdateCase => update_case(store, case_id, request),
        Operation::UpdateCaseStatus => update_case_status(store, case_id, request),
        Operation::CloseCase => close_case(store, case_id),
        Operation::CreateCaseComment => create_case_comment(store, case_id, request),
        Operation::UpdateCaseComment => update_case_comment(store, case_id, resource_id, request),
        Operation::ListComments => list_comments(store, case_id, request),
        Operation::GetCaseAttachmentDownloadUrl => download_url(store, case_id, resource_id),
        Operation::GetCaseAttachmentUploadUrl => upload_url(store, case_id, request),
        Operation::ListMemberships => list_memberships(store, request),
        Operation::GetMembership => get_membership(store, resource_id),
        Operation::ListCaseEdits => list_case_edits(store, case_id, request),
        Operation::ListInvestigations => list_investigations(store, case_id, request),
    }
}

fn parse_input<T: DeserializeOwned>(request: &Value) -> Result<T, ApiError> {
    serde_json::from_value(request.clone()).map_err(|error| {
        ApiError::cannot_parse(format!(
            "The request does not match the operation's input: {error}"
        ))
    })
}

/// Checks the `{caseId}` label, then that the case exists (404 otherwise).
fn existing_case(store: &Store, case_id: &str) -> Result<(), ApiError> {
    if !is_case_id(case_id) {
        return Err(ApiError::field(
            "caseId",
            format!("Member must satisfy regular expression pattern: {CASE_ID_PATTERN}"),
        ));
    }
    store.case(case_id)?;
    Ok(())
}

/// `request` without its `clientToken`: what a retry with the same token must repeat.
fn fingerprint(request: &Value) -> Value {
    let mut request = request.clone();
    if let Value::Object(members) = &mut request {
        members.remove("clientToken");
    }
    request
}

/// The earlier answer for this idempotency token, or a conflict if the token was reused for a
/// different request.
fn replay(
    store: &Store,
    scope: &str,
    token: Option<&str>,
    request: &Value,
) -> Result<Option<Value>, ApiError> {
    let Some(token) = token else { return Ok(None) };
    match store.idempotent(scope, token) {
        None => Ok(None),
        Some(entry) if entry.fingerprint == fingerprint(request) => {
            Ok(Some(entry.response.clone()))
        }
        Some(_) => Err(ApiError::Conflict {
            message: "The clientToken was already used with different request parameters"
                .to_owned(),
            resource_id: token.to_owned(),
            resource_type: "ClientToken".to_owned(),
        }),
    }
}

fn remember(
    store: &mut Store,
    scope: &str,
    token: Option<&str>,
    request: &Value,
    response: &Value,
) {
    if let Some(token) = token {
        let entry = IdempotentEntry {
            fingerprint: fingerprint(request),
            response: response.clone(),
        };
        store.remember(scope, token, entry);
    }
}

fn list_cases(store: &mut Store, request: &Value) -> OperationResult {
    let input: PageInput = parse_input(request)?;
    let scope = "ListCases";
    let page = PageRequest::parse(scope, input.next_token.as_deref(), input.max_results)?;
    let cases = store.cases_in_order();
    let (items, next_token) = page.slice(scope, &cases);
    let mut output = json!({
        "items": items.iter().map(|entry| wire::list_cases_item_json(&entry.record)).collect::<Vec<_>>(),
        "total": cases.len(),
    });
    if let Some(token) = next_token {
        output["nextToken"] = json!(token);
    }
    Ok((StatusCode::OK, output))
}

fn get_case(store: &mut Store, case_id: &str) -> OperationResult {
    existing_case(store, case_id)?;
    let entry = store.case(case_id)?;
    // Only what SIR lists by now: an upload shows up after the listing delay.
    let now = tokio::time::Instant::now();
    let listed: Vec<_> = entry
        .attachments
        .iter()
        .filter_map(|attachment| attachment.listed_view(now))
        .collect();
    Ok((
        StatusCode::OK,
        wire::get_case_json(&entry.record, listed.iter()),
    ))
}

fn watchers_from(errors: &mut FieldErrors, name: &str, inputs: &[WatcherInput]) -> Vec<Watcher> {
    inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            errors.email(&format!("{name}.{index}.email"), input.email.as_deref());
            // `PersonName` and `JobTitle`: 1-50 characters when given.
            errors.optional_length(
                &format!("{name}.{index}.name"),
                input.name.as_deref(),
                1,
                50,
            );
            errors.optional_length(
                &format!("{name}.{index}.jobTitle"),
                input.job_title.as_deref(),
                1,
                50,
            );
            Watcher {
                email: input.email.clone().unwrap_or_default(),
                name: input.name.clone(),
                job_title: input.job_title.clone(),
            }
        })
        .collect()
}

fn threat_actors_from(
    errors: &mut FieldErrors,
    name: &str,
    inputs: &[ThreatActorIpInput],
) -> Vec<ThreatActorIp> {
    inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            errors.ip_address(
                &format!("{name}.{index}.ipAddress"),
                input.ip_address.as_deref(),
            );
            // `UserAgent`: 1-500 characters when given.
            errors.optional_length(
                &format!("{name}.{index}.userAgent"),
                input.user_agent.as_deref(),
                1,
                500,
            );
            ThreatActorIp {
                ip_address: input.ip_address.clone().unwrap_or_default(),
                user_agent: input.user_agent.clone(),
            }
        })
        .collect()
}

fn regions_from(errors: &mut FieldErrors, name: &str, inputs: &[RegionInput]) -> Vec<String> {
    inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            errors.region(&format!("{name}.{index}.region"), input.region.as_deref());
            input.region.clone().unwrap_or_default()
        })
        .collect()
}

/// `impactedServices`: at most [`IMPACTED_SERVICES_MAX`], unique, each an `AwsService` (2-50
/// characters of [`SERVICE_PATTERN`]).
fn check_services(errors: &mut FieldErrors, name: &str, services: &[String]) {
    errors.list_length(name, services.len(), IMPACTED_SERVICES_MAX);
    errors.unique(name, services);
    for (index, service) in services.iter().enumerate() {
        let field = format!("{name}.{index}");
        errors.length(&field, service, 2, 50);
        errors.pattern(&field, is_service_name(service), SERVICE_PATTERN);
    }
}

/// The list limits of the model shared by CreateCase and UpdateCase: `impactedAccounts` (200,
/// unique), `watchers` (30, unique), `threatActorIpAddresses` (200), `impactedAwsRegions` (50,
/// unique).
fn check_list_limits(
    errors: &mut FieldErrors,
    (accounts_name, accounts): (&str, &[String]),
    (watchers_name, watchers): (&str, &[Watcher]),
    (ips_name, ips): (&str, &[ThreatActorIp]),
    (regions_name, regions): (&str, &[String]),
) {
    errors.list_length(accounts_name, accounts.len(), IMPACTED_ACCOUNTS_MAX);
    errors.unique(accounts_name, accounts);
    errors.list_length(watchers_name, watchers.len(), WATCHERS_MAX);
    errors.unique(watchers_name, watchers);
    errors.list_length(ips_name, ips.len(), THREAT_ACTOR_IPS_MAX);
    errors.list_length(regions_name, regions.len(), IMPACTED_REGIONS_MAX);
    errors.unique(regions_name, regions);
}

fn create_case(store: &mut Store, request: &Value) -> OperationResult {
    let input: CreateCaseInput = parse_input(request)?;
    let mut errors = FieldErrors::default();
    errors.optional_length(
        "clientToken",
        input.client_token.as_deref(),
        1,
        CLIENT_TOKEN_MAX,
    );
    let resolver_type = errors.required_enum(
        "resolverType",
        input.resolver_type.as_deref(),
        ResolverType::ALL,
    );
    errors.required_length("title", input.title.as_deref(), 1, TITLE_MAX);
    errors.required_length(
        "description",
        input.description.as_deref(),
        1,
        DESCRIPTION_MAX,
    );
    let engagement_type = errors.required_enum(
        "engagementType",
        input.engagement_type.as_deref(),
        EngagementType::ALL,
    );
    if input.reported_incident_start_date.is_none() {
        errors.missing("reportedIncidentStartDate");
    }
    let reported = errors.timestamp(
        "reportedIncidentStartDate",
        input.reported_incident_start_date,
    );
    match &input.impacted_accounts {
        Some(accounts) => errors.account_ids("impactedAccounts", accounts),
        None => errors.missing("impactedAccounts"),
    }
    let watchers = match &input.watchers {
        // The model's `Watchers` allows 0 items; whether SIR then accepts a case nobody watches
        // is not documented. The stricter reading: refused.
        Some(watchers) if watchers.is_empty() => {
            errors.push(
                "watchers",
                "Member must have length greater than or equal to 1",
            );
            Vec::new()
        }
        Some(watchers) => watchers_from(&mut errors, "watchers", watchers),
        None => {
            errors.missing("watchers");
            Vec::new()
        }
    };
    let threat_actors = threat_actors_from(
        &mut errors,
        "threatActorIpAddresses",
        input
            .threat_actor_ip_addresses
            .as_deref()
            .unwrap_or_default(),
    );
    let regions = regions_from(
        &mut errors,
        "impactedAwsRegions",
        input.impacted_aws_regions.as_deref().unwrap_or_default(),
    );
    check_list_limits(
        &mut errors,
        (
            "impactedAccounts",
            input.impacted_accounts.as_deref().unwrap_or_default(),
        ),
        ("watchers", &watchers),
        ("threatActorIpAddresses", &threat_actors),
        ("impactedAwsRegions", &regions),
    );
    check_services(
        &mut errors,
        "impactedServices",
        input.impacted_services.as_deref().unwrap_or_default(),
    );
    if let Some(tags) = &input.tags {
        errors.list_length("tags", tags.len(), TAGS_MAX);
        for (key, value) in tags {
            // `TagKey` 1-128, `TagValue` 0-256 characters.
            errors.length(&format!("tags.{key}"), key, 1, 128);
            errors.length(&format!("tags.{key}.value"), value, 0, 256);
        }
    }
    errors.finish()?;

    let scope = "CreateCase";
    let token = input.client_token.as_deref();
    if let Some(response) = replay(store, scope, token, request)? {
        return Ok((StatusCode::CREATED, response));
    }
    let new_case = NewCase {
        case_id: None,
        title: input.title.unwrap_or_default(),
        description: input.description.unwrap_or_default(),
        status: CaseStatus::Submitted,
        engagement_type: engagement_type.unwrap_or(EngagementType::SecurityIncident),
        resolver_type: resolver_type.unwrap_or(ResolverType::SelfManaged),
        pending_action: PendingAction::None,
        closure_code: None,
        reported_incident_start_date: reported,
        actual_incident_start_date: None,
        impacted_accounts: input.impacted_accounts.unwrap_or_default(),
        impacted_aws_regions: regions,
        impacted_services: input.impacted_services.unwrap_or_default(),
        threat_actor_ip_addresses: threat_actors,
        watchers,
        case_metadata: Vec::new(),
        tags: input.tags.unwrap_or_default(),
        created_by: Some(store.settings.caller_principal.clone()),
    };
    let case_id = store.insert_case(new_case)?;
    let response = json!({ "caseId": case_id });
    remember(store, scope, token, request, &response);
    Ok((StatusCode::CREATED, response))
}

/// Adds the items not yet present (by `key`) and removes the ones listed for deletion.
fn apply_set_changes<T>(
    target: &mut Vec<T>,
    add: Vec<T>,
    delete: &[T],
    key: impl Fn(&T) -> String,
) {
    let doomed: Vec<String> = delete.iter().map(&key).collect();
    target.retain(|item| !doomed.contains(&key(item)));
    for item in add {
        if !target.iter().any(|existing| key(existing) == key(&item)) {
            target.push(item);
        }
    }
}

fn update_case(store: &mut Store, case_id: &str, request: &Value) -> OperationResult {
    existing_case(store, case_id)?;
    let input: wire::UpdateCaseInput = parse_input(request)?;
    let mut errors = FieldErrors::default();
    errors.optional_length("title", input.title.as_deref(), 1, TITLE_MAX);
    errors.optional_length(
        "description",
        input.description.as_deref(),
        1,
        DESCRIPTION_MAX,
    );
    let engagement_type = errors.enum_value(
        "engagementType",
        input.engagement_type.as_deref(),
        EngagementType::ALL,
    );
    let reported = errors.timestamp(
        "reportedIncidentStartDate",
        input.reported_incident_start_date,
    );
    let actual = errors.timestamp("actualIncidentStartDate", input.actual_incident_start_date);
    let watchers_to_add = watchers_from(
        &mut errors,
        "watchersToAdd",
        input.watchers_to_add.as_deref().unwrap_or_default(),
    );
    let watchers_to_delete = watchers_from(
        &mut errors,
        "watchersToDelete",
        input.watchers_to_delete.as_deref().unwrap_or_default(),
    );
    let ips_to_add = threat_actors_from(
        &mut errors,
        "threatActorIpAddressesToAdd",
        input
            .threat_actor_ip_addresses_to_add
            .as_deref()
            .unwrap_or_default(),
    );
    let ips_to_delete = threat_actors_from(
        &mut errors,
        "threatActorIpAddressesToDelete",
        input
            .threat_actor_ip_addresses_to_delete
            .as_deref()
            .unwrap_or_default(),
    );
    let regions_to_add = regions_from(
        &mut errors,
        "impactedAwsRegionsToAdd",
        input
            .impacted_aws_regions_to_add
            .as_deref()
            .unwrap_or_default(),
    );
    let regions_to_delete = regions_from(
        &mut errors,
        "impactedAwsRegionsToDelete",
        input
            .impacted_aws_regions_to_delete
            .as_deref()
            .unwrap_or_default(),
    );
    let accounts_to_add = input.impacted_accounts_to_add.unwrap_or_default();
    let accounts_to_delete = input.impacted_accounts_to_delete.unwrap_or_default();
    errors.account_ids("impactedAccountsToAdd", &accounts_to_add);
    errors.account_ids("impactedAccountsToDelete", &accounts_to_delete);
    check_list_limits(
        &mut errors,
        ("impactedAccountsToAdd", &accounts_to_add),
        ("watchersToAdd", &watchers_to_add),
        ("threatActorIpAddressesToAdd", &ips_to_add),
        ("impactedAwsRegionsToAdd", &regions_to_add),
    );
    check_list_limits(
        &mut errors,
        ("impactedAccountsToDelete", &accounts_to_delete),
        ("watchersToDelete", &watchers_to_delete),
        ("threatActorIpAddressesToDelete", &ips_to_delete),
        ("impactedAwsRegionsToDelete", &regions_to_delete),
    );
    let metadata: Vec<CaseMetadataEntry> = input
        .case_metadata
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            errors.required_length(
                &format!("caseMetadata.{index}.key"),
                entry.key.as_deref(),
                1,
                256,
            );
            errors.required_length(
                &format!("caseMetadata.{index}.value"),
                entry.value.as_deref(),
                0,
                2048,
            );
            CaseMetadataEntry {
                key: entry.key.unwrap_or_default(),
                value: entry.value.unwrap_or_default(),
            }
        })
        .collect();
    check_services(
        &mut errors,
        "impactedServicesToAdd",
        input
            .impacted_services_to_add
            .as_deref()
            .unwrap_or_default(),
    );
    check_services(
        &mut errors,
        "impactedServicesToDelete",
        input
            .impacted_services_to_delete
            .as_deref()
            .unwrap_or_default(),
    );
    errors.finish()?;

    let changed: Vec<&str> = match request {
        Value::Object(members) => members.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    let message = if changed.is_empty() {
        "Case updated".to_owned()
    } else {
        format!("Case updated: {}", changed.join(", "))
    };
    let services_to_add = input.impacted_services_to_add.unwrap_or_default();
    let services_to_delete = input.impacted_services_to_delete.unwrap_or_default();
    let principal = store.settings.caller_principal.clone();
    store.mutate_case(
        case_id,
        &principal,
        "UpdateCase",
        |_| message,
        |case, _now| {
            if let Some(title) = input.title {
                case.title = title;
            }
            if let Some(description) = input.description {
                case.description = description;
            }
            if let Some(engagement_type) = engagement_type {
                case.engagement_type = engagement_type;
            }
            if let Some(reported) = reported {
                case.reported_incident_start_date = reported;
            }
            if actual.is_some() {
                case.actual_incident_start_date = actual;
            }
            apply_set_changes(
                &mut case.watchers,
                watchers_to_add,
                &watchers_to_delete,
                |w| w.email.to_lowercase(),
            );
            apply_set_changes(
                &mut case.threat_actor_ip_addresses,
                ips_to_add,
                &ips_to_delete,
                |ip| ip.ip_address.clone(),
            );
            apply_set_changes(
                &mut case.impacted_services,
                services_to_add,
                &services_to_delete,
                Clone::clone,
            );
            apply_set_changes(
                &mut case.impacted_aws_regions,
                regions_to_add,
                &regions_to_delete,
                Clone::clone,
            );
            apply_set_changes(
                &mut case.impacted_accounts,
                accounts_to_add,
                &accounts_to_delete,
                Clone::clone,
            );
            // caseMetadata entries are upserted by key, so other keys survive an update.
            for entry in metadata {
                match case
                    .case_metadata
                    .iter_mut()
                    .find(|existing| existing.key == entry.key)
                {
                    Some(existing) => existing.value = entry.value,
                    None => case.case_metadata.push(entry),
                }
            }
        },
    )?;
    Ok((StatusCode::OK, json!({})))
}

const SELF_MANAGED_STATUSES: &[CaseStatus] = &[
    CaseStatus::Submitted,
    CaseStatus::DetectionAndAnalysis,
    CaseStatus::ContainmentEradicationAndRecovery,
    CaseStatus::PostIncidentActivities,
];

fn update_case_status(store: &mut Store, case_id: &str, request: &Value) -> OperationResult {
    existing_case(store, case_id)?;
    let input: wire::UpdateCaseStatusInput = parse_input(request)?;
    let mut errors = FieldErrors::default();
    let target = errors.required_enum(
        "caseStatus",
        input.case_status.as_deref(),
        SELF_MANAGED_STATUSES,
    );
    errors.finish()?;
    let target = target.unwrap_or(CaseStatus::Submitted);
    let current = store.case(case_id)?.record.status;
    if !current.can_transition_to(target, store.settings.lenient_submitted_transitions) {
        return Err(ApiError::rule(
            format!("Invalid case status transition from '{current}' to '{target}'"),
            Some("caseStatus"),
        ));
    }
    let principal = store.settings.caller_principal.clone();
    store.mutate_case(
        case_id,
        &principal,
        "UpdateCaseStatus",
        |case| format!("Case status changed from {} to {target}", case.status),
        |case, _now| case.status = target,
    )?;
    Ok((
        StatusCode::CREATED,
        json!({ "caseStatus": target.as_str() }),
    ))
}

fn close_case(store: &mut Store, case_id: &str) -> OperationResult {
    existing_case(store, case_id)?;
    if store.case(case_id)?.record.status == CaseStatus::Closed {
        return Err(ApiError::rule(
            format!("Case {case_id} is already closed"),
            None,
        ));
    }
    let principal = store.settings.caller_principal.clone();
    let closed_date = store.mutate_case(
        case_id,
        &principal,
        "CloseCase",
        |case| format!("Case closed (was {})", case.status),
        |case, now| {
            case.status = CaseStatus::Closed;
            case.closed_date = Some(now);
            now
        },
    )?;
    Ok((
        StatusCode::OK,
        json!({ "caseStatus": CaseStatus::Closed.as_str(), "closedDate": wire::epoch_seconds(closed_date) }),
    ))
}

fn create_case_comment(store: &mut Store, case_id: &str, request: &Value) -> OperationResult {
    existing_case(store, case_id)?;
    let input: wire::CreateCaseCommentInput = parse_input(request)?;
    let mut errors = FieldErrors::default();
    errors.optional_length(
        "clientToken",
        input.client_token.as_deref(),
        1,
        CLIENT_TOKEN_MAX,
    );
    errors.required_length("body", input.body.as_deref(), 1, COMMENT_BODY_MAX);
    errors.finish()?;
    let scope = format!("CreateCaseComment/{case_id}");
    let token = input.client_token.as_deref();
    if let Some(response) = replay(store, &scope, token, request)? {
        return Ok((StatusCode::CREATED, response));
    }
    let creator = store.settings.caller_principal.clone();
    let comment = store.add_comment(case_id, input.body.clone().unwrap_or_default(), &creator)?;
    let response = json!({ "commentId": comment.comment_id });
    remember(store, &scope, token, request, &response);
    Ok((StatusCode::CREATED, response))
}

fn update_case_comment(
    store: &mut Store,
    case_id: &str,
    comment_id: &str,
    request: &Value,
) -> OperationResult {
    existing_case(store, case_id)?;
    let input: wire::UpdateCaseCommentInput = parse_input(request)?;
    let mut errors = FieldErrors::default();
    errors.required_length("body", input.body.as_deref(), 1, COMMENT_BODY_MAX);
    errors.finish()?;
    let editor = store.settings.caller_principal.clone();
    let comment =
        store.edit_comment(case_id, comment_id, input.body.unwrap_or_default(), &editor)?;
    Ok((
        StatusCode::OK,
        json!({ "commentId": comment.comment_id, "body": comment.body }),
    ))
}

fn list_comments(store: &mut Store, case_id: &str, request: &Value) -> OperationResult {
    existing_case(store, case_id)?;
    let input: PageInput = parse_input(request)?;
    let scope = format!("ListComments/{case_id}");
    let page = PageRequest::parse(&scope, input.next_token.as_deref(), input.max_results)?;
    let comments = &store.case(case_id)?.comments;
    let (items, next_token) = page.slice(&scope, comments);
    let mut output = json!({
        "items": items.iter().map(wire::comment_json).collect::<Vec<_>>(),
        "total": comments.len(),
    });
    if let Some(token) = next_token {
        output["nextToken"] = json!(token);
    }
    Ok((StatusCode::OK, output))
}

/// Query parameters that make the stand-in's URLs look like (and be handled like) S3 presigned ones.
fn presigned_query(signature: &str, expiry: &UrlExpiry) -> String {
    let date = expiry.issued_at.format("%Y%m%dT%H%M%SZ");
    let expires = expires_seconds(expiry.lifetime);
    format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}"
    )
}

/// `X-Amz-Expires` is whole seconds, at least 1.
fn expires_seconds(lifetime: Duration) -> u64 {
    lifetime.as_secs() + u64::from(lifetime.subsec_nanos() > 0)
}

/// A URL issued now by `operation`, with the configured lifetime (or already expired, if a
/// test asked for that).
fn new_expiry(store: &mut Store, operation: &'static str) -> UrlExpiry {
    UrlExpiry {
        issued_at: chrono::Utc::now(),
        expires_at: store.settings.url_expiry(operation),
        lifetime: store.settings.presigned_url_lifetime,
    }
}

fn download_url(store: &mut Store, case_id: &str, attachment_id: &str) -> OperationResult {
    existing_case(store, case_id)?;
    // An upload SIR does not list yet is unknown to it.
    let record = store
        .case(case_id)?
        .attachment(attachment_id)
        .and_then(|attachment| attachment.listed_view(tokio::time::Instant::now()))
        .ok_or_else(|| {
            ApiError::ResourceNotFound(format!("case {case_id} has no attachment {attachment_id}"))
        })?;
    if record.status != crate::AttachmentStatus::Verified {
        return Err(ApiError::rule(
            format!(
                "Attachment {attachment_id} cannot be downloaded: its status is {}",
                record.status
            ),
            Some("attachmentId"),
        ));
    }
    let file_name = record.file_name.clone();
    let ticket_id = uuid::Uuid::new_v4().simple().to_string();
    let signature = uuid::Uuid::new_v4().simple().to_string();
    let expiry = new_expiry(store, "GetCaseAttachmentDownloadUrl");
    let url = format!(
        "{}/presigned/download/{ticket_id}/{file_name}?{}",
        store.settings.endpoint_url,
        presigned_query(&signature, &expiry)
    );
    let ticket = DownloadTicket {
        case_id: case_id.to_owned(),
        attachment_id: attachment_id.to_owned(),
        signature,
        expiry,
    };
    store.add_download_ticket(ticket_id, ticket);
    Ok((
        StatusCode::CREATED,
        json!({ "attachmentPresignedUrl": url }),
    ))
}

fn upload_url(store: &mut Store, case_id: &str, request: &Value) -> OperationResult {
    existing_case(store, case_id)?;
    let input: wire::UploadUrlInput = parse_input(request)?;
    let mut errors = FieldErrors::default();
    errors.optional_length(
        "clientToken",
        input.client_token.as_deref(),
        1,
        CLIENT_TOKEN_MAX,
    );
    errors.required_length("fileName", input.file_name.as_deref(), 1, FILE_NAME_MAX);
    if let Some(file_name) = input.file_name.as_deref().filter(|name| !name.is_empty()) {
        errors.pattern("fileName", is_file_name(file_name), FILE_NAME_PATTERN);
    }
    match input.content_length {
        Some(length) => errors.range("contentLength", length, 1, ATTACHMENT_MAX_BYTES),
        None => errors.missing("contentLength"),
    }
    errors.finish()?;
    let scope = format!("GetCaseAttachmentUploadUrl/{case_id}");
    let token = input.client_token.as_deref();
    if let Some(response) = replay(store, &scope, token, request)? {
        return Ok((StatusCode::CREATED, response));
    }
    let file_name = input.file_name.clone().unwrap_or_default();
    let ticket_id = uuid::Uuid::new_v4().simple().to_string();
    let signature = uuid::Uuid::new_v4().simple().to_string();
    let expiry = new_expiry(store, "GetCaseAttachmentUploadUrl");
    let url = format!(
        "{}/presigned/upload/{ticket_id}/{file_name}?{}",
        store.settings.endpoint_url,
        presigned_query(&signature, &expiry)
    );
    let ticket = UploadTicket {
        case_id: case_id.to_owned(),
        attachment_id: uuid::Uuid::new_v4().to_string(),
        file_name,
        content_length: input
            .content_length
            .and_then(|length| u64::try_from(length).ok())
            .unwrap_or_default(),
        creator: store.settings.caller_principal.clone(),
        signature,
        expiry,
    };
    store.add_upload_ticket(ticket_id, ticket);
    let response = json!({ "attachmentPresignedUrl": url });
    remember(store, &scope, token, request, &response);
    Ok((StatusCode::CREATED, response))
}

fn membership_unavailable() -> ApiError {
    ApiError::Internal("Membership information is temporarily unavailable".to_owned())
}

fn list_memberships(store: &mut Store, request: &Value) -> OperationResult {
    if store.membership_failure {
        return Err(membership_unavailable());
    }
    let input: PageInput = parse_input(request)?;
    let scope = "ListMemberships";
    let page = PageRequest::parse(scope, input.next_token.as_deref(), input.max_results)?;
    let (items, next_token) = page.slice(scope, &store.memberships);
    let mut output =
        json!({ "items": items.iter().map(wire::list_membership_item_json).collect::<Vec<_>>() });
    if let Some(token) = next_token {
        output["nextToken"] = json!(token);
    }
    Ok((StatusCode::OK, output))
}

fn get_membership(store: &mut Store, membership_id: &str) -> OperationResult {
    if store.membership_failure {
        return Err(membership_unavailable());
    }
    let membership = store.membership_mut(membership_id)?;
    Ok((StatusCode::OK, wire::get_membership_json(membership)))
}

fn list_case_edits(store: &mut Store, case_id: &str, request: &Value) -> OperationResult {
    existing_case(store, case_id)?;
    let input: PageInput = parse_input(request)?;
    let scope = format!("ListCaseEdits/{case_id}");
    let page = PageRequest::parse(&scope, input.next_token.as_deref(), input.max_results)?;
    let edits = &store.case(case_id)?.edits;
    let (items, next_token) = page.slice(&scope, edits);
    let mut output = json!({
        "items": items.iter().map(wire::case_edit_json).collect::<Vec<_>>(),
        "total": edits.len(),
    });
    if let Some(token) = next_token {
        output["nextToken"] = json!(token);
    }
    Ok((StatusCode::OK, output))
}

fn list_investigations(store: &mut Store, case_id: &str, request: &Value) -> OperationResult {
    existing_case(store, case_id)?;
    let next_token = request.get("nextToken").and_then(Value::as_str);
    let max_results = match request.get("maxResults").and_then(Value::as_str) {
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| ApiError::field("maxResults", "Member must be an integer"))?,
        ),
        None => None,
    };
    let scope = format!("ListInvestigations/{case_id}");
    let page = PageRequest::parse(&scope, next_token, max_results)?;
    let investigations = &store.case(case_id)?.investigations;
    let (items, next_token) = page.slice(&scope, investigations);
    let mut output = json!({ "investigationActions": items.iter().map(wire::investigation_json).collect::<Vec<_>>() });
    if let Some(token) = next_token {
        output["nextToken"] = json!(token);
    }
    Ok((StatusCode::OK, output))
}

/// An S3-style error, as a presigned URL's bucket would answer.
struct S3Error {
    status: StatusCode,
    code: String,
    message: String,
    /// More elements after `Message`, already XML.
    details: String,
}

impl S3Error {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        S3Error {
            status,
            code: code.to_owned(),
            message: message.into(),
            details: String::new(),
        }
    }

    /// What S3 answers for a presigned URL used after its expiry: 403 `AccessDenied`, "Request
    /// has expired", with the URL's lifetime, when it expired and the server's time.
    fn expired(expiry: &UrlExpiry) -> Self {
        let now = chrono::Utc::now();
        let lifetime = expiry
            .lifetime
            .min(Duration::from_secs(u64::from(u32::MAX)));
        let expired_at = expiry.issued_at
            + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::zero());
        let stamp = |time: chrono::DateTime<chrono::Utc>| time.format("%Y-%m-%dT%H:%M:%SZ");
        let mut error = S3Error::new(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired");
        error.details = format!(
            "<X-Amz-Expires>{}</X-Amz-Expires><Expires>{}</Expires><ServerTime>{}</ServerTime>",
            expires_seconds(expiry.lifetime),
            stamp(expired_at.min(now)),
            stamp(now)
        );
        error
    }

    fn from_fault(kind: FaultKind) -> Self {
        match kind {
            FaultKind::Throttling => S3Error::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SlowDown",
                "Please reduce your request rate.",
            ),
            FaultKind::Validation(message) => {
                S3Error::new(StatusCode::BAD_REQUEST, "InvalidRequest", message)
            }
            FaultKind::Custom {
                status,
                error_type,
                message,
            } => S3Error {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                code: error_type,
                message,
                details: String::new(),
            },
            FaultKind::InternalError | FaultKind::Latency(_) => S3Error::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
        }
    }
}

impl IntoResponse for S3Error {
    fn into_response(self) -> Response {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>{}</Error>",
            self.code, self.message, self.details
        );
        (
            self.status,
            [(header::CONTENT_TYPE, "application/xml")],
            body,
        )
            .into_response()
    }
}

fn query_signature(parts: &Parts) -> Option<String> {
    parse_query(parts.uri.query().unwrap_or_default())
        .into_iter()
        .find_map(|(key, value)| (key == "X-Amz-Signature").then_some(value))
}

fn record_presigned(
    shared: &Shared,
    operation: &str,
    parts: &Parts,
    case_id: Option<String>,
    request: Value,
    result: &Result<Response, S3Error>,
) {
    let (status, error_type) = match result {
        Ok(response) => (response.status().as_u16(), None),
        Err(error) => (error.status.as_u16(), Some(error.code.clone())),
    };
    shared.record(RecordedCall {
        operation: operation.to_owned(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        case_id,
        request,
        status,
        error_type,
    });
}

/// PUT on an upload URL: stores the bytes and makes the attachment appear on the case.
async fn presigned_upload(shared: &Shared, ticket_id: &str, parts: &Parts, body: Body) -> Response {
    let ticket = shared.lock().upload_ticket(ticket_id).cloned();
    let declared_length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let request = json!({ "contentLength": declared_length });
    let case_id = ticket.as_ref().map(|ticket| ticket.case_id.clone());
    let result = async {
        let ticket = ticket.ok_or_else(|| {
            S3Error::new(StatusCode::NOT_FOUND, "NoSuchUpload", "Unknown upload URL")
        })?;
        if query_signature(parts).as_deref() != Some(ticket.signature.as_str()) {
            return Err(S3Error::new(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature does not match",
            ));
        }
        if ticket.expiry.has_expired() {
            return Err(S3Error::expired(&ticket.expiry));
        }
        match shared.take_fault(PRESIGNED_UPLOAD, false) {
            Some(FaultKind::Latency(delay)) => tokio::time::sleep(delay).await,
            Some(kind) => return Err(S3Error::from_fault(kind)),
            None => {}
        }
        // The URL is issued for one size (contentLength), so a different Content-Length fails the
        // signature, as it would on S3; a streamed body without a length is refused outright.
        let length = declared_length.ok_or_else(|| {
            S3Error::new(
                StatusCode::LENGTH_REQUIRED,
                "MissingContentLength",
                "You must provide the Content-Length HTTP header.",
            )
        })?;
        if length != ticket.content_length {
            return Err(S3Error::new(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                format!(
                    "Content-Length {length} does not match the signed contentLength {}",
                    ticket.content_length
                ),
            ));
        }
        let limit = usize::try_from(length).unwrap_or(usize::MAX);
        let bytes: Bytes = axum::body::to_bytes(body, limit).await.map_err(|error| {
            S3Error::new(
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                format!("Could not read the upload: {error}"),
            )
        })?;
        let mut store = shared.lock();
        let status = store.settings.upload_attachment_status;
        let delays = (
            store.settings.attachment_listing_delay,
            store.settings.attachment_verification_delay,
        );
        store
            .put_attachment(
                &ticket.case_id,
                ticket.attachment_id.clone(),
                ticket.file_name.clone(),
                bytes,
                status,
                &ticket.creator,
                delays,
            )
            .map_err(|error| {
                S3Error::new(StatusCode::NOT_FOUND, "NoSuchBucket", error.to_string())
            })?;
        let etag = format!("\"{}\"", ticket.attachment_id.replace('-', ""));
        Ok((StatusCode::OK, [(header::ETAG, etag)]).into_response())
    }
    .await;
    record_presigned(shared, PRESIGNED_UPLOAD, parts, case_id, request, &result);
    result.unwrap_or_else(IntoResponse::into_response)
}

/// GET on a download URL: serves the stored bytes (a reference-counted clone, not a copy).
async fn presigned_download(shared: &Shared, ticket_id: &str, parts: &Parts) -> Response {
    let ticket = shared.lock().download_ticket(ticket_id).cloned();
    let case_id = ticket.as_ref().map(|ticket| ticket.case_id.clone());
    let result = async {
        let ticket = ticket.ok_or_else(|| {
            S3Error::new(StatusCode::NOT_FOUND, "NoSuchKey", "Unknown download URL")
        })?;
        if query_signature(parts).as_deref() != Some(ticket.signature.as_str()) {
            return Err(S3Error::new(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature does not match",
            ));
        }
        if ticket.expiry.has_expired() {
            return Err(S3Error::expired(&ticket.expiry));
        }
        match shared.take_fault(PRESIGNED_DOWNLOAD, false) {
            Some(FaultKind::Latency(delay)) => tokio::time::sleep(delay).await,
            Some(kind) => return Err(S3Error::from_fault(kind)),
            None => {}
        }
        let (file_name, bytes) = {
            let store = shared.lock();
            let attachment = store
                .case(&ticket.case_id)
                .ok()
                .and_then(|entry| entry.attachment(&ticket.attachment_id))
                .ok_or_else(|| {
                    S3Error::new(
                        StatusCode::NOT_FOUND,
                        "NoSuchKey",
                        "The attachment no longer exists",
                    )
                })?;
            (
                attachment.record.file_name.clone(),
                attachment.bytes.clone(),
            )
        };
        let disposition = format!("attachment; filename=\"{file_name}\"");
        Ok((
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            Body::from(bytes),
        )
            .into_response())
    }
    .await;
    record_presigned(
        shared,
        PRESIGNED_DOWNLOAD,
        parts,
        case_id,
        Value::Null,
        &result,
    );
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `application/x-www-form-urlencoded` query pairs, percent-decoded.
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&key.replace('+', " ")),
                percent_decode(&value.replace('+', " ")),
            )
        })
        .collect()
}

/// Decodes `%XX` escapes; malformed escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_every_documented_operation() {
        let cases = [
            ("POST", "/v1/list-cases", Operation::ListCases),
            ("GET", "/v1/cases/1234567890/get-case", Operation::GetCase),
            ("POST", "/v1/create-case", Operation::CreateCase),
            (
                "POST",
                "/v1/cases/1234567890/update-case",
                Operation::UpdateCase,
            ),
            (
                "POST",
                "/v1/cases/1234567890/update-case-status",
                Operation::UpdateCaseStatus,
            ),
            (
                "POST",
                "/v1/cases/1234567890/close-case",
                Operation::CloseCase,
            ),
            (
                "POST",
                "/v1/cases/1234567890/create-comment",
                Operation::CreateCaseComment,
            ),
            (
                "PUT",
                "/v1/cases/1234567890/update-case-comment/100001",
                Operation::UpdateCaseComment,
            ),
            (
                "POST",
                "/v1/cases/1234567890/list-comments",
                Operation::ListComments,
            ),
            (
                "GET",
                "/v1/cases/1234567890/get-presigned-url/abc",
                Operation::GetCaseAttachmentDownloadUrl,
            ),
            (
                "POST",
                "/v1/cases/1234567890/get-presigned-url",
                Operation::GetCaseAttachmentUploadUrl,
            ),
            ("POST", "/v1/memberships", Operation::ListMemberships),
            ("GET", "/v1/membership/m-1", Operation::GetMembership),
            (
                "POST",
                "/v1/cases/1234567890/list-case-edits",
                Operation::ListCaseEdits,
            ),
            (
                "GET",
                "/v1/cases/1234567890/list-investigations",
                Operation::ListInvestigations,
            ),
        ];
        for (method, path, expected) in cases {
            let method: Method = method.parse().unwrap();
            match resolve(&method, path) {
                Some(Route::Api(call)) => assert_eq!(call.operation, expected, "{method} {path}"),
                _ => panic!("{method} {path} did not route to {expected:?}"),
            }
        }
        assert!(resolve(&Method::GET, "/v1/list-cases").is_none());
        assert!(resolve(&Method::POST, "/v1/cases/1234567890/delete-case").is_none());
    }

    #[test]
    fn signature_check_wants_a_sigv4_header_for_security_ir() {
        let mut headers = HeaderMap::new();
        assert!(check_signature(&headers).is_err());
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert!(check_signature(&headers).is_err());
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab",
            ),
        );
        assert!(check_signature(&headers).is_err());
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/security-ir/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab12",
            ),
        );
        assert!(check_signature(&headers).is_ok());
    }

    #[test]
    fn decodes_query_strings() {
        assert_eq!(
            parse_query("nextToken=a%2Fb&maxResults=10&flag"),
            vec![
                ("nextToken".to_owned(), "a/b".to_owned()),
                ("maxResults".to_owned(), "10".to_owned()),
                ("flag".to_owned(), String::new()),
            ]
        );
        assert_eq!(percent_decode("100%"), "100%");
    }
}
