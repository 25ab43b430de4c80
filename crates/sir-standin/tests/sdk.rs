//! Drives the stand-in with the real `aws-sdk-securityir` client (endpoint override, static
//! credentials), plus a raw HTTP client for presigned URLs and wire-level checks.

use std::fmt::Debug;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_credential_types::Credentials;
use aws_sdk_securityir::Client;
use aws_sdk_securityir::Error as SirError;
use aws_sdk_securityir::config::Region;
use aws_sdk_securityir::types::error::ValidationException;
use aws_sdk_securityir::types::{
    AwsRegion, CaseAttachmentStatus, CaseMetadataEntry as SdkMetadataEntry,
    CaseStatus as SdkCaseStatus, EngagementType as SdkEngagementType, ImpactedAwsRegion,
    MembershipStatus as SdkMembershipStatus, ResolverType as SdkResolverType,
    SelfManagedCaseStatus, ThreatActorIp as SdkThreatActorIp, ValidationExceptionReason,
    Watcher as SdkWatcher,
};
use aws_smithy_types::DateTime;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use sir_standin::{
    AttachmentStatus, CaseMetadataEntry, CaseStatus, Fault, FaultKind, IncidentResponder,
    InvestigationAction, InvestigationFeedback, MembershipStatus, NativeEvent, NativeEventType,
    NewCase, PRESIGNED_DOWNLOAD, PRESIGNED_UPLOAD, ResolverType, SirStandin, StandinConfig,
};

const CALLER: &str = "arn:aws:sts::111122223333:assumed-role/sirslack-integration/sirslack";
const FAKE_SIGV4: &str = "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/security-ir/aws4_request, SignedHeaders=host, Signature=00";

// ---------- helpers ----------

async fn client_with_retry(standin: &SirStandin, retry: RetryConfig) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "sir-standin-tests",
        ))
        .endpoint_url(standin.endpoint_url())
        .retry_config(retry)
        .load()
        .await;
    Client::new(&config)
}

/// A client that surfaces every error at once (no retries).
async fn client(standin: &SirStandin) -> Client {
    client_with_retry(standin, RetryConfig::disabled()).await
}

fn watcher(email: &str) -> SdkWatcher {
    SdkWatcher::builder().email(email).build().unwrap()
}

async fn create_case(client: &Client, title: &str) -> String {
    client
        .create_case()
        .resolver_type(SdkResolverType::SelfValue)
        .title(title)
        .description("Suspicious API calls from an unknown IP")
        .engagement_type(SdkEngagementType::SecurityIncident)
        .reported_incident_start_date(DateTime::from_secs(1_700_000_000))
        .impacted_accounts("123456789012")
        .watchers(watcher("alice@example.com"))
        .send()
        .await
        .unwrap()
        .case_id()
        .to_owned()
}

fn service_error<T: Debug, E>(result: Result<T, E>) -> SirError
where
    SirError: From<E>,
{
    match result {
        Ok(output) => panic!("expected a service error, got {output:?}"),
        Err(error) => SirError::from(error),
    }
}

fn validation_error<T: Debug, E>(result: Result<T, E>) -> ValidationException
where
    SirError: From<E>,
{
    match service_error(result) {
        SirError::ValidationException(error) => error,
        other => panic!("expected ValidationException, got {other:?}"),
    }
}

/// Asserts a field-level ValidationException naming `field`.
#[track_caller]
fn assert_field_error(error: &ValidationException, field: &str) {
    assert_eq!(
        error.reason(),
        &ValidationExceptionReason::FieldValidationFailed,
        "{error:?}"
    );
    let names: Vec<&str> = error.field_list().iter().map(|f| f.name()).collect();
    assert!(
        names.contains(&field),
        "expected field {field} in {names:?}"
    );
    assert!(error.message().contains(field), "{error:?}");
}

fn assert_not_found<T: Debug, E>(result: Result<T, E>)
where
    SirError: From<E>,
{
    match service_error(result) {
        SirError::ResourceNotFoundException(_) => {}
        other => panic!("expected ResourceNotFoundException, got {other:?}"),
    }
}

fn http_client() -> HttpClient<HttpConnector, Full<Bytes>> {
    HttpClient::builder(TokioExecutor::new()).build_http()
}

/// A stand-in that lists uploads as soon as their bytes land, for tests about something else.
async fn listing_at_once() -> SirStandin {
    SirStandin::start_with(StandinConfig {
        attachment_listing_delay: Duration::ZERO,
        attachment_verification_delay: Duration::ZERO,
        ..StandinConfig::default()
    })
    .await
    .unwrap()
}

/// The case's attachments as GetCase lists them: (file name, status).
async fn listed(client: &Client, case_id: &str) -> Vec<(String, CaseAttachmentStatus)> {
    client
        .get_case()
        .case_id(case_id)
        .send()
        .await
        .unwrap()
        .case_attachments()
        .iter()
        .map(|a| (a.file_name().to_owned(), a.attachment_status().clone()))
        .collect()
}

async fn upload_url(client: &Client, case_id: &str, name: &str, length: usize) -> String {
    client
        .get_case_attachment_upload_url()
        .case_id(case_id)
        .file_name(name)
        .content_length(length as i64)
        .send()
        .await
        .unwrap()
        .attachment_presigned_url()
        .to_owned()
}

fn assert_expired(response: &RawResponse) {
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let body = String::from_utf8_lossy(&response.body);
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    assert!(
        body.contains("<Message>Request has expired</Message>"),
        "{body}"
    );
    assert!(body.contains("<X-Amz-Expires>"), "{body}");
    assert!(body.contains("<ServerTime>"), "{body}");
}

struct RawResponse {
    status: StatusCode,
    headers: hyper::HeaderMap,
    body: Bytes,
}

async fn raw(method: Method, url: &str, headers: &[(&str, &str)], body: Bytes) -> RawResponse {
    let mut request = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = http_client()
        .request(request.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    RawResponse {
        status,
        headers,
        body,
    }
}

fn is_digits(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}

fn smithy_time(time: chrono::DateTime<chrono::Utc>) -> DateTime {
    DateTime::from_millis(time.timestamp_millis())
}

// ---------- cases ----------

#[tokio::test]
async fn create_case_then_get_case_returns_every_field() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;

    let case_id = client
        .create_case()
        .client_token("create-1")
        .resolver_type(SdkResolverType::SelfValue)
        .title("Crypto mining in prod")
        .description("GuardDuty finding CryptoCurrency:EC2/BitcoinTool.B")
        .engagement_type(SdkEngagementType::SecurityIncident)
        .reported_incident_start_date(DateTime::from_secs(1_700_000_000))
        .impacted_accounts("123456789012")
        .watchers(
            SdkWatcher::builder()
                .email("alice@example.com")
                .name("Alice")
                .job_title("SecEng")
                .build()
                .unwrap(),
        )
        .threat_actor_ip_addresses(
            SdkThreatActorIp::builder()
                .ip_address("198.51.100.7")
                .user_agent("curl/8")
                .build()
                .unwrap(),
        )
        .impacted_services("Amazon EC2")
        .impacted_aws_regions(
            ImpactedAwsRegion::builder()
                .region(AwsRegion::UsEast1)
                .build()
                .unwrap(),
        )
        .tags("team", "blue")
        .send()
        .await
        .unwrap()
        .case_id()
        .to_owned();
    assert!(is_digits(&case_id, 10, 32), "{case_id}");

    let case = client.get_case().case_id(&case_id).send().await.unwrap();
    assert_eq!(case.title(), Some("Crypto mining in prod"));
    assert_eq!(
        case.description(),
        Some("GuardDuty finding CryptoCurrency:EC2/BitcoinTool.B")
    );
    assert_eq!(case.case_status(), Some(&SdkCaseStatus::Submitted));
    assert_eq!(
        case.engagement_type(),
        Some(&SdkEngagementType::SecurityIncident)
    );
    assert_eq!(case.resolver_type(), Some(&SdkResolverType::SelfValue));
    assert_eq!(
        case.reported_incident_start_date(),
        Some(&DateTime::from_secs(1_700_000_000))
    );
    assert_eq!(case.impacted_accounts(), ["123456789012"]);
    assert_eq!(case.impacted_services(), ["Amazon EC2"]);
    assert_eq!(case.impacted_aws_regions()[0].region(), &AwsRegion::UsEast1);
    assert_eq!(
        case.threat_actor_ip_addresses()[0].ip_address(),
        "198.51.100.7"
    );
    assert_eq!(
        case.threat_actor_ip_addresses()[0].user_agent(),
        Some("curl/8")
    );
    assert_eq!(case.watchers()[0].email(), "alice@example.com");
    assert_eq!(case.watchers()[0].name(), Some("Alice"));
    assert_eq!(case.watchers()[0].job_title(), Some("SecEng"));
    assert_eq!(
        case.case_arn(),
        Some(format!("arn:aws:security-ir:us-east-1:111122223333:case/{case_id}").as_str())
    );
    assert!(
        case.case_arn()
            .unwrap()
            .ends_with(&format!(":case/{case_id}"))
    );
    assert!(case.created_date().is_some());
    assert_eq!(case.created_date(), case.last_updated_date());
    assert!(case.closed_date().is_none());
    assert!(case.case_attachments().is_empty());

    let stored = standin.case(&case_id).unwrap();
    assert_eq!(stored.tags.get("team").map(String::as_str), Some("blue"));
    // Fractional epoch seconds travel as f64: equal to the stored millisecond within rounding.
    let stored_seconds = smithy_time(stored.last_updated_date).as_secs_f64();
    assert!((stored_seconds - case.last_updated_date().unwrap().as_secs_f64()).abs() < 0.001);

    let listed = client.list_cases().send().await.unwrap();
    assert_eq!(listed.total(), Some(1));
    let item = &listed.items()[0];
    assert_eq!(item.case_id(), case_id);
    assert_eq!(item.title(), Some("Crypto mining in prod"));
    assert_eq!(item.last_updated_date(), case.last_updated_date());
    assert_eq!(item.case_status(), Some(&SdkCaseStatus::Submitted));
    assert!(listed.next_token().is_none());
}

#[tokio::test]
async fn wire_format_omits_case_id_uses_epoch_seconds_and_requires_a_signature() {
    let standin = SirStandin::start().await.unwrap();
    let case_id = standin.seed_case(NewCase::default()).unwrap();
    let url = format!("{}/v1/cases/{case_id}/get-case", standin.endpoint_url());

    let signed = raw(
        Method::GET,
        &url,
        &[("authorization", FAKE_SIGV4)],
        Bytes::new(),
    )
    .await;
    assert_eq!(signed.status, StatusCode::OK);
    let body: Value = serde_json::from_slice(&signed.body).unwrap();
    assert!(
        body.get("caseId").is_none(),
        "GetCase must not return caseId: {body}"
    );
    assert!(body["createdDate"].is_number());
    assert!(body["lastUpdatedDate"].is_number());
    assert!(body["reportedIncidentStartDate"].is_number());
    assert_eq!(body["caseStatus"], "Submitted");
    assert_eq!(body["impactedAwsRegions"][0]["region"], "us-east-1");
    assert_eq!(body["watchers"][0]["email"], "security@example.com");

    let unsigned = raw(Method::GET, &url, &[], Bytes::new()).await;
    assert_eq!(unsigned.status, StatusCode::FORBIDDEN);
    assert_eq!(
        unsigned.headers["x-amzn-errortype"],
        "AccessDeniedException"
    );
    let error: Value = serde_json::from_slice(&unsigned.body).unwrap();
    assert!(error["message"].as_str().unwrap().contains("SigV4"));

    let wrong_service = raw(
        Method::GET,
        &url,
        &[("authorization", "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")],
        Bytes::new(),
    )
    .await;
    assert_eq!(wrong_service.status, StatusCode::FORBIDDEN);

    let unknown = raw(
        Method::POST,
        &format!("{}/v1/delete-everything", standin.endpoint_url()),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.headers["x-amzn-errortype"],
        "UnknownOperationException"
    );

    let statuses: Vec<u16> = standin
        .calls_to("GetCase")
        .iter()
        .map(|call| call.status)
        .collect();
    assert_eq!(statuses, [200, 403, 403]);
}

#[tokio::test]
async fn list_cases_paginates_at_25() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let mut seeded = Vec::new();
    for index in 0..30 {
        seeded.push(
            standin
                .seed_case(NewCase {
                    title: format!("Case {index}"),
                    ..NewCase::default()
                })
                .unwrap(),
        );
    }

    let items: Vec<_> = client
        .list_cases()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let ids: Vec<&str> = items.iter().map(|item| item.case_id()).collect();
    assert_eq!(ids, seeded.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(standin.call_count("ListCases"), 2);
    let requests: Vec<Value> = standin
        .calls_to("ListCases")
        .into_iter()
        .map(|call| call.request)
        .collect();
    assert!(requests[0].get("nextToken").is_none());
    assert!(requests[1]["nextToken"].is_string());

    let mut pages = client.list_cases().max_results(10).into_paginator().send();
    let mut page_sizes = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        assert_eq!(page.total(), Some(30));
        page_sizes.push(page.items().len());
    }
    assert_eq!(page_sizes, [10, 10, 10]);
}

#[tokio::test]
async fn update_case_changes_fields_and_bumps_last_updated() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let case_id = create_case(&client, "Before").await;
    let before = client.get_case().case_id(&case_id).send().await.unwrap();

    client
        .update_case()
        .case_id(&case_id)
        .title("After")
        .description("New description")
        .engagement_type(SdkEngagementType::Investigation)
        .actual_incident_start_date(DateTime::from_secs(1_699_999_000))
        .watchers_to_add(watcher("bob@example.com"))
        .watchers_to_delete(watcher("alice@example.com"))
        .impacted_services_to_add("Amazon S3")
        .impacted_aws_regions_to_add(
            ImpactedAwsRegion::builder()
                .region(AwsRegion::EuWest1)
                .build()
                .unwrap(),
        )
        .impacted_accounts_to_add("210987654321")
        .impacted_accounts_to_delete("123456789012")
        .threat_actor_ip_addresses_to_add(
            SdkThreatActorIp::builder()
                .ip_address("2001:DB8:0:0:0:0:0:1")
                .build()
                .unwrap(),
        )
        .case_metadata(
            SdkMetadataEntry::builder()
                .key("severity")
                .value("High")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let after = client.get_case().case_id(&case_id).send().await.unwrap();
    assert_eq!(after.title(), Some("After"));
    assert_eq!(after.description(), Some("New description"));
    assert_eq!(
        after.engagement_type(),
        Some(&SdkEngagementType::Investigation)
    );
    assert_eq!(
        after.actual_incident_start_date(),
        Some(&DateTime::from_secs(1_699_999_000))
    );
    let emails: Vec<&str> = after.watchers().iter().map(|w| w.email()).collect();
    assert_eq!(emails, ["bob@example.com"]);
    assert_eq!(after.impacted_services(), ["Amazon S3"]);
    assert_eq!(
        after.impacted_aws_regions()[0].region(),
        &AwsRegion::EuWest1
    );
    assert_eq!(after.impacted_accounts(), ["210987654321"]);
    assert_eq!(
        after.threat_actor_ip_addresses()[0].ip_address(),
        "2001:DB8:0:0:0:0:0:1"
    );
    assert_eq!(after.case_metadata()[0].key(), "severity");
    assert_eq!(after.case_metadata()[0].value(), "High");
    assert!(after.last_updated_date().unwrap() > before.last_updated_date().unwrap());
    assert_eq!(after.created_date(), before.created_date());

    // Metadata is upserted by key.
    client
        .update_case()
        .case_id(&case_id)
        .case_metadata(
            SdkMetadataEntry::builder()
                .key("severity")
                .value("Low")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let metadata = standin.case(&case_id).unwrap().case_metadata;
    assert_eq!(
        metadata,
        [CaseMetadataEntry {
            key: "severity".to_owned(),
            value: "Low".to_owned()
        }]
    );

    let error = validation_error(
        client
            .update_case()
            .case_id(&case_id)
            .title("x".repeat(301))
            .send()
            .await,
    );
    assert_field_error(&error, "title");
    let error = validation_error(
        client
            .update_case()
            .case_id(&case_id)
            .description("")
            .send()
            .await,
    );
    assert_field_error(&error, "description");
    assert_not_found(
        client
            .update_case()
            .case_id("9999999999")
            .title("t")
            .send()
            .await,
    );
}

#[tokio::test]
async fn status_transitions_follow_the_documented_table() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let case_id = create_case(&client, "Transitions").await;

    let skip = validation_error(
        client
            .update_case_status()
            .case_id(&case_id)
            .case_status(SelfManagedCaseStatus::PostIncidentActivities)
            .send()
            .await,
    );
    assert_eq!(skip.reason(), &ValidationExceptionReason::Other);
    assert_eq!(skip.field_list()[0].name(), "caseStatus");
    assert!(skip.message().contains("Submitted"));

    for target in [
        SelfManagedCaseStatus::DetectionAndAnalysis,
        SelfManagedCaseStatus::ContainmentEradicationAndRecovery,
        SelfManagedCaseStatus::DetectionAndAnalysis,
        SelfManagedCaseStatus::PostIncidentActivities,
        SelfManagedCaseStatus::ContainmentEradicationAndRecovery,
        SelfManagedCaseStatus::PostIncidentActivities,
    ] {
        let output = client
            .update_case_status()
            .case_id(&case_id)
            .case_status(target.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(output.case_status(), Some(&target));
    }
    assert_eq!(
        standin.case(&case_id).unwrap().status,
        CaseStatus::PostIncidentActivities
    );
    assert!(
        standin
            .calls_to("UpdateCaseStatus")
            .iter()
            .filter(|c| c.error_type.is_none())
            .all(|c| c.status == 201)
    );

    for aws_managed in ["Acknowledged", "Ready to Close", "Closed", "Resolved"] {
        let error = validation_error(
            client
                .update_case_status()
                .case_id(&case_id)
                .case_status(SelfManagedCaseStatus::from(aws_managed))
                .send()
                .await,
        );
        assert_field_error(&error, "caseStatus");
    }
    let same = validation_error(
        client
            .update_case_status()
            .case_id(&case_id)
            .case_status(SelfManagedCaseStatus::PostIncidentActivities)
            .send()
            .await,
    );
    assert_eq!(same.reason(), &ValidationExceptionReason::Other);

    let closed = client.close_case().case_id(&case_id).send().await.unwrap();
    assert_eq!(closed.case_status(), Some(&SdkCaseStatus::Closed));
    let closed_date = *closed.closed_date().unwrap();
    let case = client.get_case().case_id(&case_id).send().await.unwrap();
    assert_eq!(case.case_status(), Some(&SdkCaseStatus::Closed));
    assert_eq!(case.closed_date(), Some(&closed_date));
    assert_eq!(case.last_updated_date(), Some(&closed_date));
    let listed = client.list_cases().send().await.unwrap();
    assert_eq!(listed.items()[0].closed_date(), Some(&closed_date));

    let again = validation_error(client.close_case().case_id(&case_id).send().await);
    assert!(again.message().contains("already closed"));
    validation_error(
        client
            .update_case_status()
            .case_id(&case_id)
            .case_status(SelfManagedCaseStatus::DetectionAndAnalysis)
            .send()
            .await,
    );
    assert_not_found(client.close_case().case_id("1234512345").send().await);
}

#[tokio::test]
async fn lenient_config_allows_submitted_to_any_active_status() {
    let standin = SirStandin::start_with(StandinConfig {
        lenient_submitted_transitions: true,
        ..StandinConfig::default()
    })
    .await
    .unwrap();
    let client = client(&standin).await;
    let case_id = create_case(&client, "Lenient").await;
    let output = client
        .update_case_status()
        .case_id(&case_id)
        .case_status(SelfManagedCaseStatus::PostIncidentActivities)
        .send()
        .await
        .unwrap();
    assert_eq!(
        output.case_status(),
        Some(&SelfManagedCaseStatus::PostIncidentActivities)
    );
}

#[tokio::test]
async fn create_case_honours_client_token() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let send = |title: &'static str| {
        client
            .create_case()
            .client_token("same-token")
            .resolver_type(SdkResolverType::Aws)
            .title(title)
            .description("d")
            .engagement_type(SdkEngagementType::Investigation)
            .reported_incident_start_date(DateTime::from_secs(1_700_000_000))
            .impacted_accounts("123456789012")
            .watchers(watcher("alice@example.com"))
            .send()
    };
    let first = send("Once").await.unwrap().case_id().to_owned();
    let second = send("Once").await.unwrap().case_id().to_owned();
    assert_eq!(first, second);
    assert_eq!(standin.cases().len(), 1);
    assert_eq!(
        standin.case(&first).unwrap().resolver_type,
        ResolverType::Aws
    );

    match service_error(send("Different").await) {
        SirError::ConflictException(error) => assert_eq!(error.resource_id(), "same-token"),
        other => panic!("expected ConflictException, got {other:?}"),
    }
    assert_eq!(standin.cases().len(), 1);
}

#[tokio::test]
async fn create_case_checks_the_models_lists_patterns_and_limits() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let base = || {
        client
            .create_case()
            .resolver_type(SdkResolverType::SelfValue)
            .title("Declared from Slack")
            .description("d")
            .engagement_type(SdkEngagementType::SecurityIncident)
            .reported_incident_start_date(DateTime::from_secs(1_700_000_000))
    };
    let ip = |address: &str| {
        SdkThreatActorIp::builder()
            .ip_address(address)
            .build()
            .unwrap()
    };

    // What a declare modal sends, at the limits: accepted.
    let mut full = base()
        .watchers(
            SdkWatcher::builder()
                .email("alice@example.com")
                .name("n".repeat(50))
                .job_title("j".repeat(50))
                .build()
                .unwrap(),
        )
        .threat_actor_ip_addresses(ip("198.51.100.7"))
        .threat_actor_ip_addresses(ip("2001:0DB8:0000:0000:0000:0000:0000:0001"))
        .impacted_services("Amazon EC2 (Linux): us-east-1")
        .tags("k".repeat(128), "v".repeat(256));
    for index in 0..200 {
        full = full.impacted_accounts(format!("{index:012}"));
    }
    full.send().await.unwrap();
    assert_eq!(standin.cases().len(), 1);

    // Each refusal names its field; nothing is created.
    let with_account = || base().impacted_accounts("123456789012");
    let mut too_many_accounts = base().watchers(watcher("alice@example.com"));
    for index in 0..201 {
        too_many_accounts = too_many_accounts.impacted_accounts(format!("{index:012}"));
    }
    assert_field_error(
        &validation_error(too_many_accounts.send().await),
        "impactedAccounts",
    );
    let repeated = validation_error(
        with_account()
            .impacted_accounts("123456789012")
            .watchers(watcher("alice@example.com"))
            .watchers(watcher("alice@example.com"))
            .send()
            .await,
    );
    assert_field_error(&repeated, "impactedAccounts");
    assert_field_error(&repeated, "watchers");
    let mut too_many_watchers = with_account();
    for index in 0..31 {
        too_many_watchers = too_many_watchers.watchers(watcher(&format!("w{index}@example.com")));
    }
    assert_field_error(
        &validation_error(too_many_watchers.send().await),
        "watchers",
    );
    let bad_watcher = validation_error(
        with_account()
            .watchers(watcher("a@b.c"))
            .watchers(watcher("bob@exa_mple.com"))
            .watchers(
                SdkWatcher::builder()
                    .email("carol@example.com")
                    .name("n".repeat(51))
                    .job_title(String::new())
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    for field in [
        "watchers.0.email",
        "watchers.1.email",
        "watchers.2.name",
        "watchers.2.jobTitle",
    ] {
        assert_field_error(&bad_watcher, field);
    }
    let bad_ips = validation_error(
        with_account()
            .watchers(watcher("alice@example.com"))
            .threat_actor_ip_addresses(ip("2001:db8::1"))
            .threat_actor_ip_addresses(ip("300.1.1.1"))
            .threat_actor_ip_addresses(
                SdkThreatActorIp::builder()
                    .ip_address("198.51.100.8")
                    .user_agent("u".repeat(501))
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    for field in [
        "threatActorIpAddresses.0.ipAddress",
        "threatActorIpAddresses.1.ipAddress",
        "threatActorIpAddresses.2.userAgent",
    ] {
        assert_field_error(&bad_ips, field);
    }
    let bad_services = validation_error(
        with_account()
            .watchers(watcher("alice@example.com"))
            .impacted_services("S")
            .impacted_services("S3/Glacier")
            .send()
            .await,
    );
    assert_field_error(&bad_services, "impactedServices.0");
    assert_field_error(&bad_services, "impactedServices.1");
    let bad_tag = validation_error(
        with_account()
            .watchers(watcher("alice@example.com"))
            .tags("k", "v".repeat(257))
            .send()
            .await,
    );
    assert_field_error(&bad_tag, "tags.k.value");
    assert_eq!(standin.cases().len(), 1);

    // A double submit (same clientToken, same body) makes one case.
    let declare = || {
        with_account()
            .client_token("slack-view-V0123")
            .watchers(watcher("alice@example.com"))
            .send()
    };
    let (first, second) = tokio::join!(declare(), declare());
    assert_eq!(
        first.unwrap().case_id(),
        second.unwrap().case_id(),
        "one case for both submits"
    );
    assert_eq!(standin.cases().len(), 2);
}

// ---------- comments ----------

#[tokio::test]
async fn comments_paginate_60_items_in_3_pages() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let case_id = standin.seed_case(NewCase::default()).unwrap();
    for index in 0..60 {
        standin
            .add_comment(&case_id, format!("comment {index}"), "AWS Responder")
            .unwrap();
    }

    let comments: Vec<_> = client
        .list_comments()
        .case_id(&case_id)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(comments.len(), 60);
    assert_eq!(standin.call_count("ListComments"), 3);
    for (index, comment) in comments.iter().enumerate() {
        assert!(
            is_digits(comment.comment_id(), 6, 6),
            "{}",
            comment.comment_id()
        );
        assert_eq!(comment.body(), Some(format!("comment {index}").as_str()));
        assert_eq!(comment.creator(), Some("AWS Responder"));
        assert_eq!(comment.last_updated_by(), Some("AWS Responder"));
        assert!(comment.created_date().is_some());
        assert_eq!(comment.created_date(), comment.last_updated_date());
    }
    let page = client
        .list_comments()
        .case_id(&case_id)
        .send()
        .await
        .unwrap();
    assert_eq!(page.items().len(), 25);
    assert_eq!(page.total(), Some(60));

    // A token belongs to its listing: reusing it for another case is rejected.
    let other_case = standin.seed_case(NewCase::default()).unwrap();
    let error = validation_error(
        client
            .list_comments()
            .case_id(&other_case)
            .next_token(page.next_token().unwrap())
            .send()
            .await,
    );
    assert_field_error(&error, "nextToken");
}

#[tokio::test]
async fn create_and_update_comments_with_idempotency() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let case_id = standin.seed_case(NewCase::default()).unwrap();

    let first = client
        .create_case_comment()
        .case_id(&case_id)
        .client_token("comment-token")
        .body("[Slack Update] Jane: hello")
        .send()
        .await
        .unwrap();
    let repeat = client
        .create_case_comment()
        .case_id(&case_id)
        .client_token("comment-token")
        .body("[Slack Update] Jane: hello")
        .send()
        .await
        .unwrap();
    assert_eq!(first.comment_id(), repeat.comment_id());
    assert!(is_digits(first.comment_id(), 6, 6));
    assert_eq!(standin.comments(&case_id).len(), 1);

    match service_error(
        client
            .create_case_comment()
            .case_id(&case_id)
            .client_token("comment-token")
            .body("something else")
            .send()
            .await,
    ) {
        SirError::ConflictException(_) => {}
        other => panic!("expected ConflictException, got {other:?}"),
    }

    // Without a token of its own the SDK generates a fresh one per call: two comments.
    client
        .create_case_comment()
        .case_id(&case_id)
        .body("one")
        .send()
        .await
        .unwrap();
    client
        .create_case_comment()
        .case_id(&case_id)
        .body("one")
        .send()
        .await
        .unwrap();
    assert_eq!(standin.comments(&case_id).len(), 3);

    let updated = client
        .update_case_comment()
        .case_id(&case_id)
        .comment_id(first.comment_id())
        .body("[Slack Update] Jane: hello (edited)")
        .send()
        .await
        .unwrap();
    assert_eq!(updated.comment_id(), first.comment_id());
    assert_eq!(updated.body(), Some("[Slack Update] Jane: hello (edited)"));

    let listed = client
        .list_comments()
        .case_id(&case_id)
        .send()
        .await
        .unwrap();
    let comment = &listed.items()[0];
    assert_eq!(comment.body(), Some("[Slack Update] Jane: hello (edited)"));
    assert_eq!(comment.creator(), Some(CALLER));
    assert_eq!(comment.last_updated_by(), Some(CALLER));
    assert!(comment.last_updated_date().unwrap() > comment.created_date().unwrap());

    assert_not_found(
        client
            .update_case_comment()
            .case_id(&case_id)
            .comment_id("999999")
            .body("x")
            .send()
            .await,
    );
    assert_not_found(
        client
            .create_case_comment()
            .case_id("1111111111")
            .body("x")
            .send()
            .await,
    );

    let recorded = standin.calls_to("CreateCaseComment");
    assert_eq!(recorded[0].case_id.as_deref(), Some(case_id.as_str()));
    assert_eq!(recorded[0].request["body"], "[Slack Update] Jane: hello");
    assert_eq!(recorded[0].request["clientToken"], "comment-token");
    assert_eq!(recorded[0].status, 201);
    assert_eq!(recorded[2].status, 409);
    assert_eq!(recorded[2].error_type.as_deref(), Some("ConflictException"));
}

// ---------- validation ----------

#[tokio::test]
async fn documented_limits_are_validated() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let case_id = standin.seed_case(NewCase::default()).unwrap();
    let create = |title: String, description: String| {
        client
            .create_case()
            .resolver_type(SdkResolverType::SelfValue)
            .title(title)
            .description(description)
            .engagement_type(SdkEngagementType::SecurityIncident)
            .reported_incident_start_date(DateTime::from_secs(1_700_000_000))
            .impacted_accounts("123456789012")
            .watchers(watcher("alice@example.com"))
            .send()
    };

    // title 1-300, description 1-8000 (counted in characters)
    assert_field_error(
        &validation_error(create(String::new(), "d".into()).await),
        "title",
    );
    assert_field_error(
        &validation_error(create("t".repeat(301), "d".into()).await),
        "title",
    );
    create("é".repeat(300), "d".into()).await.unwrap();
    assert_field_error(
        &validation_error(create("t".into(), String::new()).await),
        "description",
    );
    assert_field_error(
        &validation_error(create("t".into(), "d".repeat(8001)).await),
        "description",
    );
    create("t".into(), "d".repeat(8000)).await.unwrap();

    // required members and their shapes
    let missing = validation_error(client.create_case().title("t").send().await);
    for field in [
        "resolverType",
        "description",
        "engagementType",
        "reportedIncidentStartDate",
        "impactedAccounts",
        "watchers",
    ] {
        assert_field_error(&missing, field);
    }
    let bad_account = validation_error(
        client
            .create_case()
            .resolver_type(SdkResolverType::SelfValue)
            .title("t")
            .description("d")
            .engagement_type(SdkEngagementType::from("Incident"))
            .reported_incident_start_date(DateTime::from_secs(1_700_000_000))
            .impacted_accounts("12345")
            .watchers(watcher("alice@example.com"))
            .send()
            .await,
    );
    assert_field_error(&bad_account, "impactedAccounts.0");
    assert_field_error(&bad_account, "engagementType");

    // comment body 1-12000
    let comment = |body: String| {
        client
            .create_case_comment()
            .case_id(&case_id)
            .body(body)
            .send()
    };
    assert_field_error(&validation_error(comment(String::new()).await), "body");
    assert_field_error(&validation_error(comment("b".repeat(12_001)).await), "body");
    let comment_id = comment("b".repeat(12_000))
        .await
        .unwrap()
        .comment_id()
        .to_owned();
    let too_long_edit = client
        .update_case_comment()
        .case_id(&case_id)
        .comment_id(&comment_id)
        .body("b".repeat(12_001))
        .send()
        .await;
    assert_field_error(&validation_error(too_long_edit), "body");

    // fileName 1-255 [a-zA-Z0-9._-]+, contentLength 1..104857600
    let upload = |file_name: String, length: i64| {
        client
            .get_case_attachment_upload_url()
            .case_id(&case_id)
            .file_name(file_name)
            .content_length(length)
            .send()
    };
    assert_field_error(
        &validation_error(upload("my report.pdf".into(), 10).await),
        "fileName",
    );
    assert_field_error(
        &validation_error(upload("résumé.pdf".into(), 10).await),
        "fileName",
    );
    assert_field_error(
        &validation_error(upload(String::new(), 10).await),
        "fileName",
    );
    assert_field_error(
        &validation_error(upload("a".repeat(256), 10).await),
        "fileName",
    );
    upload("a".repeat(255), 10).await.unwrap();
    assert_field_error(
        &validation_error(upload("ok.txt".into(), 0).await),
        "contentLength",
    );
    assert_field_error(
        &validation_error(upload("ok.txt".into(), 104_857_601).await),
        "contentLength",
    );
    upload("ok.txt".into(), 104_857_600).await.unwrap();

    // caseId \d{10,32}; unknown but well-formed ids are 404
    assert_field_error(
        &validation_error(client.get_case().case_id("abc").send().await),
        "caseId",
    );
    assert_field_error(
        &validation_error(client.get_case().case_id("123456789").send().await),
        "caseId",
    );
    assert_field_error(
        &validation_error(client.get_case().case_id("1".repeat(33)).send().await),
        "caseId",
    );
    assert_not_found(client.get_case().case_id("9999999999").send().await);
    assert_not_found(client.list_comments().case_id("9999999999").send().await);
    assert_not_found(client.list_case_edits().case_id("9999999999").send().await);
    assert_not_found(
        client
            .list_investigations()
            .case_id("9999999999")
            .send()
            .await,
    );
    assert_not_found(
        client
            .get_case_attachment_download_url()
            .case_id(&case_id)
            .attachment_id("00000000-0000-0000-0000-000000000000")
            .send()
            .await,
    );

    // maxResults 1..25 on every List operation
    for max_results in [0, 26] {
        assert_field_error(
            &validation_error(client.list_cases().max_results(max_results).send().await),
            "maxResults",
        );
        assert_field_error(
            &validation_error(
                client
                    .list_comments()
                    .case_id(&case_id)
                    .max_results(max_results)
                    .send()
                    .await,
            ),
            "maxResults",
        );
        assert_field_error(
            &validation_error(
                client
                    .list_case_edits()
                    .case_id(&case_id)
                    .max_results(max_results)
                    .send()
                    .await,
            ),
            "maxResults",
        );
        assert_field_error(
            &validation_error(
                client
                    .list_memberships()
                    .max_results(max_results)
                    .send()
                    .await,
            ),
            "maxResults",
        );
        assert_field_error(
            &validation_error(
                client
                    .list_investigations()
                    .case_id(&case_id)
                    .max_results(max_results)
                    .send()
                    .await,
            ),
            "maxResults",
        );
    }
    client.list_cases().max_results(25).send().await.unwrap();
    assert_field_error(
        &validation_error(client.list_cases().next_token("not-a-token").send().await),
        "nextToken",
    );
}

// ---------- attachments ----------

#[tokio::test]
async fn presigned_upload_and_download_round_trip() {
    let standin = listing_at_once().await;
    let client = client(&standin).await;
    let case_id = standin.seed_case(NewCase::default()).unwrap();
    let content = Bytes::from_static(b"%PDF-1.7 pretend this is a report");

    let request = || {
        client
            .get_case_attachment_upload_url()
            .case_id(&case_id)
            .file_name("report.pdf")
            .content_length(content.len() as i64)
            .client_token("upload-token")
            .send()
    };
    let upload_url = request()
        .await
        .unwrap()
        .attachment_presigned_url()
        .to_owned();
    assert_eq!(
        request().await.unwrap().attachment_presigned_url(),
        upload_url,
        "same clientToken, same URL"
    );
    assert!(upload_url.starts_with(&standin.endpoint_url()));
    assert!(upload_url.contains("X-Amz-Signature="));
    assert!(
        standin.attachments(&case_id).is_empty(),
        "nothing appears before the PUT"
    );

    let tampered = upload_url.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    assert_eq!(
        raw(Method::PUT, &tampered, &[], content.clone())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let wrong_size = raw(Method::PUT, &upload_url, &[], Bytes::from_static(b"short")).await;
    assert_eq!(wrong_size.status, StatusCode::FORBIDDEN);

    let before = standin.case(&case_id).unwrap().last_updated_date;
    let put = raw(Method::PUT, &upload_url, &[], content.clone()).await;
    assert_eq!(put.status, StatusCode::OK);
    assert!(put.headers.contains_key("etag"));

    let case = client.get_case().case_id(&case_id).send().await.unwrap();
    let attachment = &case.case_attachments()[0];
    assert_eq!(attachment.file_name(), "report.pdf");
    assert_eq!(
        attachment.attachment_status(),
        &CaseAttachmentStatus::Verified
    );
    assert_eq!(attachment.creator(), CALLER);
    assert_eq!(attachment.attachment_id().len(), 36, "a UUID");
    assert!(standin.case(&case_id).unwrap().last_updated_date > before);
    assert_eq!(
        standin
            .attachment_bytes(&case_id, attachment.attachment_id())
            .unwrap(),
        content
    );

    let download_url = client
        .get_case_attachment_download_url()
        .case_id(&case_id)
        .attachment_id(attachment.attachment_id())
        .send()
        .await
        .unwrap()
        .attachment_presigned_url()
        .to_owned();
    let download = raw(Method::GET, &download_url, &[], Bytes::new()).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body, content);
    assert_eq!(
        standin.calls_to("GetCaseAttachmentDownloadUrl")[0].status,
        201
    );
    assert_eq!(
        standin.calls_to("GetCaseAttachmentUploadUrl")[0].status,
        201
    );
    let uploads: Vec<u16> = standin
        .calls_to(PRESIGNED_UPLOAD)
        .iter()
        .map(|call| call.status)
        .collect();
    assert_eq!(uploads, [403, 403, 200]);
    assert_eq!(standin.call_count(PRESIGNED_DOWNLOAD), 1);
}

#[tokio::test]
async fn attachment_status_is_configurable_and_gates_downloads() {
    let standin = listing_at_once().await;
    let client = client(&standin).await;
    let case_id = standin.seed_case(NewCase::default()).unwrap();
    standin.set_upload_attachment_status(AttachmentStatus::Pending);

    let url = client
        .get_case_attachment_upload_url()
        .case_id(&case_id)
        .file_name("scan.log")
        .content_length(4)
        .send()
        .await
        .unwrap()
        .attachment_presigned_url()
        .to_owned();
    assert_eq!(
        raw(Method::PUT, &url, &[], Bytes::from_static(b"data"))
            .await
            .status,
        StatusCode::OK
    );
    let attachment = standin.attachments(&case_id).remove(0);
    assert_eq!(attachment.status, AttachmentStatus::Pending);
    assert_eq!(attachment.size, 4);

    let pending = validation_error(
        client
            .get_case_attachment_download_url()
            .case_id(&case_id)
            .attachment_id(&attachment.attachment_id)
            .send()
            .await,
    );
    assert!(pending.message().contains("Pending"));

    standin
        .set_attachment_status(
            &case_id,
            &attachment.attachment_id,
            AttachmentStatus::Verified,
        )
        .unwrap();
    let seeded_id = standin
        .add_attachment(
            &case_id,
            "responder-notes.txt",
            &b"notes"[..],
            AttachmentStatus::Failed,
        )
        .unwrap();
    assert!(
        standin
            .add_attachment(
                &case_id,
                "bad name.txt",
                &b"x"[..],
                AttachmentStatus::Verified
            )
            .is_err()
    );
    let case = client.get_case().case_id(&case_id).send().await.unwrap();
    let statuses: Vec<(&str, &CaseAttachmentStatus, &str)> = case
        .case_attachments()
        .iter()
        .map(|a| (a.file_name(), a.attachment_status(), a.creator()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("scan.log", &CaseAttachmentStatus::Verified, CALLER),
            (
                "responder-notes.txt",
                &CaseAttachmentStatus::Failed,
                "AWS Responder"
            ),
        ]
    );
    client
        .get_case_attachment_download_url()
        .case_id(&case_id)
        .attachment_id(&attachment.attachment_id)
        .send()
        .await
        .unwrap();
    validation_error(
        client
            .get_case_attachment_download_url()
            .case_id(&case_id)
            .attachment_id(&seeded_id)
            .send()
            .await,
    );
}

#[tokio::test]
async fn an_upload_is_listed_only_after_the_listing_delay_then_pending_then_verified() {
    let listing = Duration::from_millis(1500);
    let verification = Duration::from_millis(1000);
    let standin = SirStandin::start_with(StandinConfig {
        attachment_listing_delay: listing,
        attachment_verification_delay: verification,
        ..StandinConfig::default()
    })
    .await
    .unwrap();
    let client = client(&standin).await;
    let case_id = standin.seed_case(NewCase::default()).unwrap();
    let url = upload_url(&client, &case_id, "late.log", 4).await;
    let put = raw(Method::PUT, &url, &[], Bytes::from_static(b"late")).await;
    assert_eq!(put.status, StatusCode::OK);
    let landed = tokio::time::Instant::now();

    // Right after the upload: the bytes are stored, but GetCase does not name the attachment,
    // and SIR knows no attachment to hand a download URL for.
    assert_eq!(listed(&client, &case_id).await, []);
    let stored = standin.attachments(&case_id);
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].listed);
    assert_eq!(stored[0].status, AttachmentStatus::Pending);
    assert!(standin.listed_attachments(&case_id).is_empty());
    let unknown = client
        .get_case_attachment_download_url()
        .case_id(&case_id)
        .attachment_id(&stored[0].attachment_id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(unknown.is_resource_not_found_exception(), "{unknown:?}");

    // Polled with a deadline: first listed as Pending, then Verified, each not before its time.
    let deadline = landed + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        let now = listed(&client, &case_id).await;
        let elapsed = landed.elapsed();
        if let Some((_, status)) = now.first() {
            if seen.last() != Some(status) {
                seen.push(status.clone());
                if *status == CaseAttachmentStatus::Pending {
                    assert!(elapsed >= listing, "listed after {elapsed:?}");
                } else {
                    assert!(
                        elapsed >= listing + verification,
                        "verified after {elapsed:?}"
                    );
                }
            }
            if *status == CaseAttachmentStatus::Verified {
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never verified: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen,
        [
            CaseAttachmentStatus::Pending,
            CaseAttachmentStatus::Verified
        ]
    );
    assert!(standin.attachments(&case_id)[0].listed);
    assert_eq!(standin.listed_attachments(&case_id).len(), 1);
}

#[tokio::test]
async fn the_default_stand_in_does_not_list_an_upload_at_once() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let case_id = standin.seed_case(NewCase::default()).unwrap();
    let url = upload_url(&client, &case_id, "evidence.txt", 4).await;
    assert_eq!(
        raw(Method::PUT, &url, &[], Bytes::from_static(b"data"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(listed(&client, &case_id).await, []);
    assert!(!sir_standin::DEFAULT_ATTACHMENT_LISTING_DELAY.is_zero());
    // Seeded attachments (a responder's, already processed) are listed at once.
    standin
        .add_attachment(
            &case_id,
            "responder.txt",
            &b"r"[..],
            AttachmentStatus::Verified,
        )
        .unwrap();
    assert_eq!(
        listed(&client, &case_id).await,
        [("responder.txt".to_owned(), CaseAttachmentStatus::Verified)]
    );
}

#[tokio::test]
async fn presigned_urls_expire_after_their_lifetime() {
    let standin = listing_at_once().await;
    let client = client(&standin).await;
    let case_id = standin.seed_case(NewCase::default()).unwrap();
    let attachment_id = standin
        .add_attachment(
            &case_id,
            "notes.txt",
            &b"notes"[..],
            AttachmentStatus::Verified,
        )
        .unwrap();
    let lifetime = Duration::from_secs(2);
    standin.set_presigned_url_lifetime(lifetime);
    let url = client
        .get_case_attachment_download_url()
        .case_id(&case_id)
        .attachment_id(&attachment_id)
        .send()
        .await
        .unwrap()
        .attachment_presigned_url()
        .to_owned();
    let issued = tokio::time::Instant::now();
    assert!(url.contains("X-Amz-Expires=2&"), "{url}");
    assert_eq!(
        raw(Method::GET, &url, &[], Bytes::new()).await.status,
        StatusCode::OK
    );

    // The same URL is refused once its lifetime is over (polled with a deadline).
    let refused = loop {
        let response = raw(Method::GET, &url, &[], Bytes::new()).await;
        if response.status != StatusCode::OK {
            break response;
        }
        assert!(issued.elapsed() < Duration::from_secs(20), "never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(issued.elapsed() >= lifetime);
    assert_expired(&refused);
    let downloads: Vec<Option<String>> = standin
        .calls_to(PRESIGNED_DOWNLOAD)
        .into_iter()
        .map(|call| call.error_type)
        .collect();
    assert_eq!(downloads.last(), Some(&Some("AccessDenied".to_owned())));
    assert_eq!(
        sir_standin::DEFAULT_PRESIGNED_URL_LIFETIME,
        Duration::from_secs(900)
    );
}

#[tokio::test]
async fn expired_upload_urls_are_refused_and_a_replayed_token_gets_the_same_expired_url() {
    let standin = listing_at_once().await;
    let client = client(&standin).await;
    let case_id = standin.seed_case(NewCase::default()).unwrap();
    standin.hand_out_expired_urls("GetCaseAttachmentUploadUrl", 1);
    let request = |token: &'static str| {
        client
            .get_case_attachment_upload_url()
            .case_id(&case_id)
            .file_name("old.txt")
            .content_length(3)
            .client_token(token)
            .send()
    };
    let stale = request("token-1")
        .await
        .unwrap()
        .attachment_presigned_url()
        .to_owned();
    assert_expired(&raw(Method::PUT, &stale, &[], Bytes::from_static(b"old")).await);
    assert!(standin.attachments(&case_id).is_empty(), "nothing stored");
    // Same clientToken: the same URL, still expired.
    let replayed = request("token-1")
        .await
        .unwrap()
        .attachment_presigned_url()
        .to_owned();
    assert_eq!(replayed, stale);
    assert_expired(&raw(Method::PUT, &replayed, &[], Bytes::from_static(b"old")).await);
    // A new token: a fresh URL that works.
    let fresh = request("token-2")
        .await
        .unwrap()
        .attachment_presigned_url()
        .to_owned();
    assert_eq!(
        raw(Method::PUT, &fresh, &[], Bytes::from_static(b"new"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(standin.attachments(&case_id).len(), 1);

    // Download URLs too.
    let attachment_id = standin.attachments(&case_id)[0].attachment_id.clone();
    standin.hand_out_expired_urls("GetCaseAttachmentDownloadUrl", 1);
    let download = || {
        client
            .get_case_attachment_download_url()
            .case_id(&case_id)
            .attachment_id(&attachment_id)
            .send()
    };
    let stale = download()
        .await
        .unwrap()
        .attachment_presigned_url()
        .to_owned();
    assert_expired(&raw(Method::GET, &stale, &[], Bytes::new()).await);
    let fresh = download()
        .await
        .unwrap()
        .attachment_presigned_url()
        .to_owned();
    let response = raw(Method::GET, &fresh, &[], Bytes::new()).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, Bytes::from_static(b"new"));
}

#[tokio::test]
async fn ninety_mebibyte_upload_round_trips() {
    let standin = listing_at_once().await;
    let client = client(&standin).await;
    let case_id = standin.seed_case(NewCase::default()).unwrap();
    let size = 90 * 1024 * 1024;
    let content: Bytes = (0..size)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into();

    let url = client
        .get_case_attachment_upload_url()
        .case_id(&case_id)
        .file_name("memory.dmp")
        .content_length(size as i64)
        .send()
        .await
        .unwrap()
        .attachment_presigned_url()
        .to_owned();
    assert_eq!(
        raw(Method::PUT, &url, &[], content.clone()).await.status,
        StatusCode::OK
    );

    let attachment = standin.attachments(&case_id).remove(0);
    assert_eq!(attachment.size, size as u64);
    let download_url = client
        .get_case_attachment_download_url()
        .case_id(&case_id)
        .attachment_id(&attachment.attachment_id)
        .send()
        .await
        .unwrap()
        .attachment_presigned_url()
        .to_owned();
    let download = raw(Method::GET, &download_url, &[], Bytes::new()).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body.len(), size);
    assert!(
        download.body == content,
        "downloaded bytes differ from the upload"
    );
}

// ---------- memberships, investigations, edits ----------

#[tokio::test]
async fn memberships_expose_the_incident_response_team() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    standin.set_incident_response_team(vec![
        IncidentResponder::new("Ada Lovelace", "IR Lead", "ada@example.com"),
        IncidentResponder::new("Grace Hopper", "Analyst", "grace@example.com"),
    ]);
    let cancelled = standin.add_membership("old", MembershipStatus::Cancelled);

    let memberships = client.list_memberships().send().await.unwrap();
    let ids: Vec<&str> = memberships
        .items()
        .iter()
        .map(|m| m.membership_id())
        .collect();
    assert_eq!(ids, [standin.membership_id().as_str(), cancelled.as_str()]);
    assert_eq!(
        memberships.items()[0].membership_status(),
        Some(&SdkMembershipStatus::Active)
    );
    assert_eq!(
        memberships.items()[1].membership_status(),
        Some(&SdkMembershipStatus::Cancelled)
    );
    assert_eq!(memberships.items()[0].account_id(), Some("111122223333"));
    assert_eq!(memberships.items()[0].region(), Some(&AwsRegion::UsEast1));

    let membership = client
        .get_membership()
        .membership_id(standin.membership_id())
        .send()
        .await
        .unwrap();
    assert_eq!(
        membership.membership_status(),
        Some(&SdkMembershipStatus::Active)
    );
    let team: Vec<(&str, &str, &str)> = membership
        .incident_response_team()
        .iter()
        .map(|r| (r.name(), r.job_title(), r.email()))
        .collect();
    assert_eq!(
        team,
        [
            ("Ada Lovelace", "IR Lead", "ada@example.com"),
            ("Grace Hopper", "Analyst", "grace@example.com")
        ]
    );
    assert!(
        membership
            .membership_arn()
            .unwrap()
            .ends_with(&standin.membership_id())
    );

    assert_not_found(
        client
            .get_membership()
            .membership_id("m-unknown")
            .send()
            .await,
    );

    standin.set_membership_failure(true);
    for result in [
        client
            .get_membership()
            .membership_id(standin.membership_id())
            .send()
            .await
            .map(|_| ())
            .map_err(SirError::from),
        client
            .list_memberships()
            .send()
            .await
            .map(|_| ())
            .map_err(SirError::from),
    ] {
        match result {
            Err(SirError::InternalServerException(_)) => {}
            other => panic!("expected InternalServerException, got {other:?}"),
        }
    }
    standin.set_membership_failure(false);
    client.list_memberships().send().await.unwrap();
}

#[tokio::test]
async fn list_investigations_returns_seeded_actions() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let case_id = standin.seed_case(NewCase::default()).unwrap();
    let empty_case = standin.seed_case(NewCase::default()).unwrap();
    for index in 0..3 {
        standin
            .add_investigation(
                &case_id,
                InvestigationAction {
                    investigation_id: format!("inv-{index}"),
                    action_type: "Investigation".to_owned(),
                    title: format!("Query CloudTrail {index}"),
                    content: "Found 3 AssumeRole calls".to_owned(),
                    status: "Completed".to_owned(),
                    last_updated: chrono::Utc::now(),
                    feedback: (index == 0).then(|| InvestigationFeedback {
                        usefulness: Some("USEFUL".to_owned()),
                        comment: Some("thanks".to_owned()),
                        submitted_at: None,
                    }),
                },
            )
            .unwrap();
    }

    let empty = client
        .list_investigations()
        .case_id(&empty_case)
        .send()
        .await
        .unwrap();
    assert!(empty.investigation_actions().is_empty());
    assert!(empty.next_token().is_none());

    let first_page = client
        .list_investigations()
        .case_id(&case_id)
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(first_page.investigation_actions().len(), 2);
    let action = &first_page.investigation_actions()[0];
    assert_eq!(action.investigation_id(), "inv-0");
    assert_eq!(action.title(), "Query CloudTrail 0");
    assert_eq!(action.content(), "Found 3 AssumeRole calls");
    assert_eq!(action.status().as_str(), "Completed");
    assert_eq!(action.action_type().as_str(), "Investigation");
    assert_eq!(action.feedback().and_then(|f| f.comment()), Some("thanks"));

    let all: Vec<_> = client
        .list_investigations()
        .case_id(&case_id)
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let ids: Vec<&str> = all.iter().map(|a| a.investigation_id()).collect();
    assert_eq!(ids, ["inv-0", "inv-1", "inv-2"]);

    let recorded = standin.calls_to("ListInvestigations");
    assert_eq!(recorded[1].request["maxResults"], "2");
    assert_eq!(recorded[1].method, "GET");
}

#[tokio::test]
async fn every_mutation_is_logged_in_list_case_edits() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let case_id = create_case(&client, "Edits").await;
    client
        .update_case()
        .case_id(&case_id)
        .title("Edited")
        .send()
        .await
        .unwrap();
    client
        .update_case_status()
        .case_id(&case_id)
        .case_status(SelfManagedCaseStatus::DetectionAndAnalysis)
        .send()
        .await
        .unwrap();
    client
        .create_case_comment()
        .case_id(&case_id)
        .body("note")
        .send()
        .await
        .unwrap();
    standin
        .add_comment(&case_id, "Responder here", "AWS Responder")
        .unwrap();
    client.close_case().case_id(&case_id).send().await.unwrap();

    let edits = client
        .list_case_edits()
        .case_id(&case_id)
        .send()
        .await
        .unwrap();
    assert_eq!(edits.total(), Some(6));
    let actions: Vec<&str> = edits.items().iter().filter_map(|e| e.action()).collect();
    assert_eq!(
        actions,
        [
            "CreateCase",
            "UpdateCase",
            "UpdateCaseStatus",
            "CreateCaseComment",
            "CreateCaseComment",
            "CloseCase"
        ]
    );
    let principals: Vec<&str> = edits.items().iter().filter_map(|e| e.principal()).collect();
    assert_eq!(principals[0], CALLER);
    assert_eq!(principals[4], "AWS Responder");
    let timestamps: Vec<&DateTime> = edits
        .items()
        .iter()
        .filter_map(|e| e.event_timestamp())
        .collect();
    assert!(
        timestamps.windows(2).all(|pair| pair[0] < pair[1]),
        "{timestamps:?}"
    );
    assert!(
        edits.items()[2]
            .message()
            .unwrap()
            .contains("Detection and Analysis")
    );

    let paged: Vec<_> = client
        .list_case_edits()
        .case_id(&case_id)
        .max_results(4)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(paged.len(), 6);
}

#[tokio::test]
async fn last_updated_date_strictly_increases_on_every_mutation() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let case_id = create_case(&client, "Clock").await;
    let mut previous = *client
        .get_case()
        .case_id(&case_id)
        .send()
        .await
        .unwrap()
        .last_updated_date()
        .unwrap();
    for round in 0..10 {
        match round % 4 {
            0 => {
                client
                    .update_case()
                    .case_id(&case_id)
                    .title(format!("Clock {round}"))
                    .send()
                    .await
                    .unwrap();
            }
            1 => {
                client
                    .create_case_comment()
                    .case_id(&case_id)
                    .body("tick")
                    .send()
                    .await
                    .unwrap();
            }
            2 => standin
                .set_case_title(&case_id, format!("Seeded {round}"))
                .unwrap(),
            _ => {
                standin
                    .add_comment(&case_id, "tock", "123456789012")
                    .unwrap();
            }
        }
        let now = *client
            .get_case()
            .case_id(&case_id)
            .send()
            .await
            .unwrap()
            .last_updated_date()
            .unwrap();
        assert!(
            now > previous,
            "round {round}: {now:?} is not after {previous:?}"
        );
        previous = now;
    }
}

// ---------- seeding and inspection ----------

#[tokio::test]
async fn seeded_changes_are_visible_through_the_sdk() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let case_id = standin
        .seed_case(NewCase {
            case_id: Some("12345678901234".to_owned()),
            title: "AWS-supported case".to_owned(),
            resolver_type: ResolverType::Aws,
            status: CaseStatus::Acknowledged,
            ..NewCase::default()
        })
        .unwrap();
    assert_eq!(case_id, "12345678901234");
    assert!(
        standin
            .seed_case(NewCase {
                case_id: Some("12345678901234".to_owned()),
                ..NewCase::default()
            })
            .is_err()
    );
    assert!(
        standin
            .seed_case(NewCase {
                case_id: Some("42".to_owned()),
                ..NewCase::default()
            })
            .is_err()
    );

    let case = client.get_case().case_id(&case_id).send().await.unwrap();
    assert_eq!(case.case_status(), Some(&SdkCaseStatus::Acknowledged));
    assert_eq!(case.resolver_type(), Some(&SdkResolverType::Aws));

    standin
        .set_case_status(&case_id, CaseStatus::ReadyToClose)
        .unwrap();
    standin
        .set_case_description(&case_id, "Updated by the responder")
        .unwrap();
    standin
        .update_case(&case_id, |case| {
            case.case_metadata.push(CaseMetadataEntry {
                key: "severity".to_owned(),
                value: "Critical".to_owned(),
            });
            case.case_id = "tampered".to_owned();
        })
        .unwrap();
    let case = client.get_case().case_id(&case_id).send().await.unwrap();
    assert_eq!(case.case_status(), Some(&SdkCaseStatus::ReadyToClose));
    assert_eq!(case.description(), Some("Updated by the responder"));
    assert_eq!(case.case_metadata()[0].value(), "Critical");
    assert_eq!(
        standin.case(&case_id).unwrap().case_id,
        case_id,
        "identity fields survive update_case"
    );

    standin
        .set_case_status(&case_id, CaseStatus::Closed)
        .unwrap();
    let case = client.get_case().case_id(&case_id).send().await.unwrap();
    assert_eq!(case.case_status(), Some(&SdkCaseStatus::Closed));
    assert!(case.closed_date().is_some());

    let edits = standin.case_edits(&case_id);
    assert!(
        edits
            .iter()
            .skip(1)
            .all(|edit| edit.principal == "AWS Responder")
    );
    assert_eq!(edits.last().unwrap().action, "CloseCase");
    assert!(
        standin
            .add_comment("5555555555", "x", "AWS Responder")
            .is_err()
    );
}

#[tokio::test]
async fn calls_are_recorded_and_can_be_awaited() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let case_id = standin.seed_case(NewCase::default()).unwrap();

    let background = {
        let client = client.clone();
        let case_id = case_id.clone();
        tokio::spawn(async move { client.get_case().case_id(case_id).send().await.map(|_| ()) })
    };
    assert!(
        standin
            .wait_for_calls("GetCase", 1, Duration::from_secs(30))
            .await
    );
    background.await.unwrap().unwrap();
    assert!(
        !standin
            .wait_for_calls("ListCases", 1, Duration::from_millis(20))
            .await
    );

    client
        .update_case()
        .case_id(&case_id)
        .title("Recorded")
        .send()
        .await
        .unwrap();
    let calls = standin.calls();
    assert_eq!(
        calls
            .iter()
            .map(|c| c.operation.as_str())
            .collect::<Vec<_>>(),
        ["GetCase", "UpdateCase"]
    );
    let update = &calls[1];
    assert_eq!(update.method, "POST");
    assert_eq!(update.path, format!("/v1/cases/{case_id}/update-case"));
    assert_eq!(update.case_id.as_deref(), Some(case_id.as_str()));
    assert_eq!(update.request["title"], "Recorded");
    assert_eq!(update.status, 200);
    assert_eq!(update.error_type, None);

    standin.reset_calls();
    assert!(standin.calls().is_empty());
    assert_eq!(standin.call_count("GetCase"), 0);
}

// ---------- native events ----------

fn drain(receiver: &mut tokio::sync::mpsc::UnboundedReceiver<NativeEvent>) -> Vec<NativeEvent> {
    let mut events = Vec::new();
    while let Ok(event) = receiver.try_recv() {
        events.push(event);
    }
    events
}

#[tokio::test]
async fn changes_through_the_api_and_seeding_are_announced_as_native_events() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let mut events = standin.subscribe_native_events();

    let case_id = create_case(&client, "Announced").await;
    client
        .create_case_comment()
        .case_id(&case_id)
        .body("From the integration")
        .send()
        .await
        .unwrap();
    let seeded_comment = standin
        .add_comment(&case_id, "From a responder", "AWS Responder")
        .unwrap();
    standin
        .edit_comment(&case_id, &seeded_comment, "Edited", "AWS Responder")
        .unwrap();
    client
        .update_case_status()
        .case_id(&case_id)
        .case_status(SelfManagedCaseStatus::DetectionAndAnalysis)
        .send()
        .await
        .unwrap();
    standin
        .add_attachment(
            &case_id,
            "quiet.txt",
            "no event",
            AttachmentStatus::Verified,
        )
        .unwrap();
    client.close_case().case_id(&case_id).send().await.unwrap();

    let announced = drain(&mut events);
    let kinds: Vec<(NativeEventType, &str)> = announced
        .iter()
        .map(|event| (event.event_type, event.updated_by.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (NativeEventType::CaseCreated, CALLER),
            (NativeEventType::CaseCommentAdded, CALLER),
            (NativeEventType::CaseCommentAdded, "AWS Responder"),
            (NativeEventType::CaseCommentUpdated, "AWS Responder"),
            (NativeEventType::CaseUpdated, CALLER),
            (NativeEventType::CaseClosed, CALLER),
        ],
        "attachments are not announced"
    );
    let envelope = announced[1].to_eventbridge_json();
    assert_eq!(envelope["source"], "aws.security-ir");
    assert_eq!(envelope["detail-type"], "Case Comment Added");
    assert_eq!(envelope["detail"]["caseId"], case_id.as_str());
    assert_eq!(envelope["detail"]["updatedBy"], CALLER);
    assert_eq!(
        envelope["resources"][0],
        format!("arn:aws:security-ir:us-east-1:111122223333:case/{case_id}")
    );

    drop(events);
    standin.set_case_title(&case_id, "Nobody listens").unwrap();
    let mut late = standin.subscribe_native_events();
    assert!(
        drain(&mut late).is_empty(),
        "a new subscriber sees no history"
    );
    standin
        .set_case_status(&case_id, CaseStatus::DetectionAndAnalysis)
        .unwrap();
    let reopened = drain(&mut late);
    assert_eq!(reopened.len(), 1);
    assert_eq!(reopened[0].event_type, NativeEventType::CaseUpdated);
    assert_eq!(reopened[0].updated_by, "AWS Responder");
}

// ---------- faults ----------

#[tokio::test]
async fn throttling_is_visible_to_the_sdk_and_retried_when_transient() {
    let standin = SirStandin::start().await.unwrap();
    let case_id = standin.seed_case(NewCase::default()).unwrap();

    let no_retry = client(&standin).await;
    standin.inject(Fault::on("GetCase", FaultKind::Throttling).times(2));
    match service_error(no_retry.get_case().case_id(&case_id).send().await) {
        SirError::ThrottlingException(error) => assert_eq!(error.retry_after_seconds(), Some(1)),
        other => panic!("expected ThrottlingException, got {other:?}"),
    }
    no_retry.list_cases().send().await.unwrap();
    assert_eq!(
        standin.pending_fault_uses(),
        1,
        "faults on one operation leave others alone"
    );
    standin.clear_faults();
    assert_eq!(standin.pending_fault_uses(), 0);

    standin.reset_calls();
    let retrying = client_with_retry(&standin, RetryConfig::standard().with_max_attempts(3)).await;
    standin.inject(Fault::on("GetCase", FaultKind::Throttling));
    let case = retrying.get_case().case_id(&case_id).send().await.unwrap();
    assert_eq!(case.title(), Some("Seeded case"));
    let statuses: Vec<u16> = standin
        .calls_to("GetCase")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [429, 200]);
    assert_eq!(
        standin.calls_to("GetCase")[0].error_type.as_deref(),
        Some("ThrottlingException")
    );
}

#[tokio::test]
async fn injected_errors_map_to_sdk_exceptions() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    let case_id = standin.seed_case(NewCase::default()).unwrap();

    standin.inject(Fault::any(FaultKind::InternalError));
    match service_error(client.list_cases().send().await) {
        SirError::InternalServerException(_) => {}
        other => panic!("expected InternalServerException, got {other:?}"),
    }

    standin.inject(Fault::on(
        "CreateCaseComment",
        FaultKind::Validation("comments are frozen".to_owned()),
    ));
    let error = validation_error(
        client
            .create_case_comment()
            .case_id(&case_id)
            .body("hi")
            .send()
            .await,
    );
    assert_eq!(error.message(), "comments are frozen");
    assert!(standin.comments(&case_id).is_empty());

    standin.inject(Fault::on(
        "UpdateCase",
        FaultKind::Custom {
            status: 402,
            error_type: "ServiceQuotaExceededException".to_owned(),
            message: "quota".to_owned(),
        },
    ));
    match service_error(
        client
            .update_case()
            .case_id(&case_id)
            .title("x")
            .send()
            .await,
    ) {
        SirError::ServiceQuotaExceededException(error) => assert_eq!(error.message(), "quota"),
        other => panic!("expected ServiceQuotaExceededException, got {other:?}"),
    }

    standin.inject(Fault::on(
        "GetCase",
        FaultKind::Latency(Duration::from_millis(50)),
    ));
    client.get_case().case_id(&case_id).send().await.unwrap();
    assert_eq!(standin.pending_fault_uses(), 0);

    // Presigned URLs are faulted only when named, and answer S3-style.
    let url = client
        .get_case_attachment_upload_url()
        .case_id(&case_id)
        .file_name("a.txt")
        .content_length(3)
        .send()
        .await
        .unwrap()
        .attachment_presigned_url()
        .to_owned();
    standin.inject(Fault::any(FaultKind::Throttling));
    standin.inject(Fault::on(PRESIGNED_UPLOAD, FaultKind::Throttling));
    let slow_down = raw(Method::PUT, &url, &[], Bytes::from_static(b"abc")).await;
    assert_eq!(slow_down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(String::from_utf8_lossy(&slow_down.body).contains("SlowDown"));
    assert_eq!(
        raw(Method::PUT, &url, &[], Bytes::from_static(b"abc"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        standin.pending_fault_uses(),
        1,
        "the any-operation fault is still waiting for an API call"
    );
}

#[tokio::test]
async fn shutdown_closes_the_listener() {
    let standin = SirStandin::start().await.unwrap();
    let client = client(&standin).await;
    client.list_cases().send().await.unwrap();
    let addr = standin.local_addr();
    standin.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

// ---------- IAM ----------

/// With an authorizer, the stand-in refuses what the caller's policy does not allow, as SIR does
/// (403 AccessDeniedException naming the action and the case ARN), and an unknown access key.
#[tokio::test]
async fn iam_refuses_actions_and_cases_the_callers_policy_does_not_allow() {
    let authorizer = local_iam::Authorizer::default();
    let policy = local_iam::PolicyFile::parse(
        r#"{"functions":{"reader":{"role":"ReaderRole","statements":[
            {"Effect":"Allow","Action":["security-ir:GetCase"],"Resource":["arn:aws:security-ir:us-east-1:111122223333:case/1111*"]},
            {"Effect":"Allow","Action":["security-ir:ListCases"],"Resource":["*"]}]}}}"#,
    )
    .unwrap()
    .policy("reader", |_| None)
    .unwrap();
    authorizer.add(local_iam::Principal {
        name: "reader".to_owned(),
        access_key_id: "test".to_owned(),
        secret_access_key: "test".to_owned(),
        arn: "arn:aws:sts::111122223333:assumed-role/ReaderRole/reader".to_owned(),
        policy,
    });
    let standin = SirStandin::start_with(StandinConfig {
        authorizer: Some(authorizer.clone()),
        ..StandinConfig::default()
    })
    .await
    .unwrap();
    let seed = |id: &str| {
        standin
            .seed_case(NewCase {
                case_id: Some(id.to_owned()),
                ..NewCase::default()
            })
            .unwrap()
    };
    let allowed = seed("1111000000");
    let other = seed("2222000000");
    let client = client(&standin).await;

    client
        .get_case()
        .case_id(&allowed)
        .send()
        .await
        .expect("GetCase on case/1111*");
    client.list_cases().send().await.expect("ListCases on *");

    let refused = client
        .get_case()
        .case_id(&other)
        .send()
        .await
        .expect_err("another case")
        .into_service_error();
    assert_eq!(refused.meta().code(), Some("AccessDeniedException"));
    let message = refused.meta().message().unwrap_or_default();
    assert!(
        message.contains("security-ir:GetCase")
            && message.contains("case/2222000000")
            && message.contains("assumed-role/ReaderRole/reader"),
        "{message}"
    );
    let comment = client
        .create_case_comment()
        .case_id(&allowed)
        .body("not allowed")
        .send()
        .await
        .expect_err("CreateCaseComment is not in the policy")
        .into_service_error();
    assert_eq!(comment.meta().code(), Some("AccessDeniedException"));
    assert!(standin.comments(&allowed).is_empty(), "nothing was written");

    let stranger = aws_sdk_securityir::Client::from_conf(
        aws_sdk_securityir::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("ASIASTRANGER", "x", None, None, "t"))
            .endpoint_url(standin.endpoint_url())
            .build(),
    );
    let unknown = stranger
        .get_case()
        .case_id(&allowed)
        .send()
        .await
        .expect_err("an access key nobody issued")
        .into_service_error();
    assert_eq!(unknown.meta().code(), Some("UnrecognizedClientException"));
    assert_eq!(authorizer.refusals().len(), 3);
}
