//! The integration event contract and the parsers' robustness.
//!
//! The example documents in `docs/events/` are checked here: each must parse to the event this
//! file builds for its variant. After an intended change of the contract, regenerate them with
//! `SIRSLACK_WRITE_EVENT_EXAMPLES=1 cargo test -p sirslack-domain --test contract`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use sirslack_domain::case::UNKNOWN_AUTHOR;
use sirslack_domain::channel::{CHANNEL_NAME_MAX, MAX_NAME_ATTEMPTS};
use sirslack_domain::events::{EVENT_SOURCE, EVENT_VERSION};
use sirslack_domain::limits::{EVENT_DETAIL_MAX_BYTES, TITLE_MAX};
use sirslack_domain::status::CaseStatus;
use sirslack_domain::{
    Attachment, AttachmentStatus, Case, CaseId, ChannelNamer, ClosureCode, Command, Comment,
    CommentId, EngagementType, EventError, EventPayload, FieldChange, IntegrationEvent,
    PendingAction, ResolverType, SelfManagedStatus, ThreatActorIp, Watcher, author_display,
    is_valid_channel_name,
};

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

fn case_id() -> CaseId {
    CaseId::new("1234567890").unwrap()
}

fn example_case() -> Case {
    Case {
        id: case_id(),
        title: "Suspicious console login".into(),
        description: "Console sign-in for IAM user ci-deploy from an unexpected IP.".into(),
        status: CaseStatus::Submitted,
        engagement_type: EngagementType::SecurityIncident,
        resolver: ResolverType::SelfManaged,
        pending_action: Some(PendingAction::None),
        impacted_accounts: vec!["111122223333".into()],
        impacted_regions: vec!["us-east-1".into(), "eu-west-1".into()],
        impacted_services: vec!["IAM".into()],
        threat_actor_ips: vec![ThreatActorIp {
            ip_address: "203.0.113.7".into(),
            user_agent: Some("aws-cli/2.15.0".into()),
        }],
        watchers: vec![Watcher {
            email: "jane@example.com".into(),
            name: Some("Jane Doe".into()),
            job_title: Some("Security Engineer".into()),
        }],
        created_at: Some(at("2024-05-01T10:00:00Z")),
        updated_at: Some(at("2024-05-01T10:05:00Z")),
        closed_at: None,
        reported_incident_start: Some(at("2024-05-01T09:30:00Z")),
        actual_incident_start: None,
        closure_code: None,
        attachments: vec![],
        severity: Some("High".into()),
    }
}

fn example_comment() -> Comment {
    Comment {
        id: CommentId::new("000123").unwrap(),
        body: "Rotated the access key.".into(),
        creator: "arn:aws:sts::123456789012:assumed-role/Admin/jane".into(),
        created_at: at("2024-05-01T11:59:00Z"),
        updated_at: None,
        updated_by: None,
    }
}

fn example_edited_comment() -> Comment {
    Comment {
        body: "Rotated the access key and revoked its sessions.".into(),
        updated_at: Some(at("2024-05-03T15:00:00Z")),
        updated_by: Some("arn:aws:sts::123456789012:assumed-role/Admin/jane".into()),
        ..example_comment()
    }
}

fn example_attachment() -> Attachment {
    Attachment {
        id: "8f14e45f-ceea-467a-9575-8e1b2f1c0d3a".into(),
        file_name: "cloudtrail-extract.json".into(),
        status: AttachmentStatus::Verified,
        creator: "AWS Responder".into(),
        created_at: at("2024-05-01T12:30:00Z"),
    }
}

/// One event of every variant; the documents in `docs/events/` are these.
fn examples() -> Vec<IntegrationEvent> {
    let occurred_at = at("2024-05-01T12:00:00Z");
    let mut closed = example_case();
    closed.status = CaseStatus::Closed;
    closed.closure_code = Some(ClosureCode::InvestigationCompleted);
    closed.closed_at = Some(at("2024-05-03T16:00:00Z"));
    vec![
        IntegrationEvent::case_created(example_case(), 1, occurred_at),
        IntegrationEvent::case_updated(
            case_id(),
            2,
            occurred_at,
            vec![
                FieldChange::Status {
                    old: CaseStatus::Submitted,
                    new: CaseStatus::DetectionAndAnalysis,
                },
                FieldChange::Title {
                    old: "Suspicious console login".into(),
                    new: "Compromised access key".into(),
                },
                FieldChange::ImpactedAccounts {
                    old: vec!["111122223333".into()],
                    new: vec!["111122223333".into(), "444455556666".into()],
                },
            ],
        ),
        IntegrationEvent::comment_added(case_id(), 3, occurred_at, example_comment()),
        IntegrationEvent::attachment_added(case_id(), 4, occurred_at, example_attachment()),
        IntegrationEvent::watchers_changed(
            case_id(),
            5,
            occurred_at,
            vec![Watcher::new("bob@example.com")],
            vec![Watcher {
                email: "jane@example.com".into(),
                name: Some("Jane Doe".into()),
                job_title: None,
            }],
        ),
        IntegrationEvent::case_closed(&closed, 6, at("2024-05-03T16:01:00Z")),
        IntegrationEvent::comment_edited(
            case_id(),
            7,
            at("2024-05-03T15:00:05Z"),
            example_edited_comment(),
        ),
        IntegrationEvent::case_quiet(
            case_id(),
            8,
            at("2024-05-04T15:00:00Z"),
            at("2024-05-03T15:00:05Z"),
            CaseStatus::DetectionAndAnalysis,
            at("2024-05-04T19:00:00Z"),
        ),
    ]
}

#[test]
fn every_variant_round_trips_through_the_detail_json() {
    let examples = examples();
    let types: BTreeSet<&str> = examples.iter().map(IntegrationEvent::detail_type).collect();
    assert_eq!(types.len(), 8, "one example per variant");
    for event in &examples {
        let json = event.to_detail_json().unwrap();
        let back = IntegrationEvent::from_detail_json(&json).unwrap();
        assert_eq!(&back, event, "{json}");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["payload"]["type"], event.detail_type());
        assert_eq!(value["version"], EVENT_VERSION);
    }
}

#[test]
fn comment_added_json_is_exact() {
    let event = IntegrationEvent::comment_added(
        case_id(),
        5,
        at("2024-05-01T12:00:00Z"),
        example_comment(),
    );
    let golden = concat!(
        r#"{"version":1,"caseId":"1234567890","sequence":5,"#,
        r#""idempotencyKey":"comment:1234567890:000123","occurredAt":"2024-05-01T12:00:00Z","#,
        r#""payload":{"type":"CommentAdded","comment":{"id":"000123","#,
        r#""body":"Rotated the access key.","#,
        r#""creator":"arn:aws:sts::123456789012:assumed-role/Admin/jane","#,
        r#""createdAt":"2024-05-01T11:59:00Z","updatedAt":null}}}"#
    );
    assert_eq!(event.to_detail_json().unwrap(), golden);
    assert_eq!(IntegrationEvent::from_detail_json(golden).unwrap(), event);
}

#[test]
fn comment_edited_json_is_exact() {
    let event = IntegrationEvent::comment_edited(
        case_id(),
        7,
        at("2024-05-03T15:00:05Z"),
        example_edited_comment(),
    );
    let golden = concat!(
        r#"{"version":1,"caseId":"1234567890","sequence":7,"#,
        r#""idempotencyKey":"comment-edited:1234567890:000123:7","#,
        r#""occurredAt":"2024-05-03T15:00:05Z","#,
        r#""payload":{"type":"CommentEdited","comment":{"id":"000123","#,
        r#""body":"Rotated the access key and revoked its sessions.","#,
        r#""creator":"arn:aws:sts::123456789012:assumed-role/Admin/jane","#,
        r#""createdAt":"2024-05-01T11:59:00Z","updatedAt":"2024-05-03T15:00:00Z","#,
        r#""updatedBy":"arn:aws:sts::123456789012:assumed-role/Admin/jane"},"#,
        r#""editedBy":"arn:aws:sts::123456789012:assumed-role/Admin/jane","#,
        r#""editedAt":"2024-05-03T15:00:00Z"}}"#
    );
    assert_eq!(event.to_detail_json().unwrap(), golden);
    assert_eq!(IntegrationEvent::from_detail_json(golden).unwrap(), event);
}

#[test]
fn case_updated_json_is_exact() {
    let event = IntegrationEvent::case_updated(
        case_id(),
        2,
        at("2024-05-01T12:00:00Z"),
        vec![
            FieldChange::Status {
                old: CaseStatus::Submitted,
                new: CaseStatus::ContainmentEradicationAndRecovery,
            },
            FieldChange::PendingAction {
                old: None,
                new: Some(PendingAction::Customer),
            },
        ],
    );
    let golden = concat!(
        r#"{"version":1,"caseId":"1234567890","sequence":2,"#,
        r#""idempotencyKey":"case-updated:1234567890:2","occurredAt":"2024-05-01T12:00:00Z","#,
        r#""payload":{"type":"CaseUpdated","changes":["#,
        r#"{"field":"status","old":"Submitted","new":"Containment, Eradication and Recovery"},"#,
        r#"{"field":"pendingAction","old":null,"new":"Customer"}]}}"#
    );
    assert_eq!(event.to_detail_json().unwrap(), golden);
    assert_eq!(IntegrationEvent::from_detail_json(golden).unwrap(), event);
}

#[test]
fn case_closed_json_is_exact() {
    let mut closed = example_case();
    closed.status = CaseStatus::Closed;
    closed.closure_code = Some(ClosureCode::FalsePositive);
    closed.closed_at = Some(at("2024-05-03T16:00:00Z"));
    let event = IntegrationEvent::case_closed(&closed, 9, at("2024-05-03T16:01:00Z"));
    let golden = concat!(
        r#"{"version":1,"caseId":"1234567890","sequence":9,"#,
        r#""idempotencyKey":"case-closed:1234567890:9","occurredAt":"2024-05-03T16:01:00Z","#,
        r#""payload":{"type":"CaseClosed","closureCode":"False Positive","#,
        r#""closedAt":"2024-05-03T16:00:00Z","title":"Suspicious console login"}}"#
    );
    assert_eq!(event.to_detail_json().unwrap(), golden);
}

#[test]
fn unknown_enum_values_survive_a_round_trip() {
    let mut case = example_case();
    case.status = CaseStatus::Other("Escalated".into());
    case.engagement_type = EngagementType::Other("Drill".into());
    let event = IntegrationEvent::case_created(case, 1, at("2024-05-01T12:00:00Z"));
    let json = event.to_detail_json().unwrap();
    assert!(json.contains(r#""status":"Escalated""#), "{json}");
    assert_eq!(IntegrationEvent::from_detail_json(&json).unwrap(), event);
}

#[test]
fn detail_size_is_bounded_by_the_eventbridge_entry_limit() {
    let with_body = |body: String| {
        let comment = Comment {
            body,
            ..example_comment()
        };
        IntegrationEvent::comment_added(case_id(), 1, at("2024-05-01T12:00:00Z"), comment)
    };
    let overhead = with_body(String::new()).to_detail_json().unwrap().len()
        + EVENT_SOURCE.len()
        + "CommentAdded".len();
    let fits = with_body("a".repeat(EVENT_DETAIL_MAX_BYTES - overhead));
    let json = fits.to_detail_json().unwrap();
    assert_eq!(
        json.len() + EVENT_SOURCE.len() + "CommentAdded".len(),
        EVENT_DETAIL_MAX_BYTES
    );

    let too_big = with_body("a".repeat(EVENT_DETAIL_MAX_BYTES - overhead + 1));
    match too_big.to_detail_json() {
        Err(EventError::TooLarge { size, max }) => {
            assert_eq!(size, EVENT_DETAIL_MAX_BYTES + 1);
            assert_eq!(max, EVENT_DETAIL_MAX_BYTES);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }

    // A case at every documented limit still fits comfortably.
    let mut largest = example_case();
    largest.title = "t".repeat(300);
    largest.description = "d".repeat(8_000);
    let event = IntegrationEvent::case_created(largest, 1, at("2024-05-01T12:00:00Z"));
    assert!(event.to_detail_json().is_ok());
}

fn docs_events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/events")
}

#[test]
fn docs_event_examples_are_true() {
    let dir = docs_events_dir();
    if std::env::var_os("SIRSLACK_WRITE_EVENT_EXAMPLES").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for event in examples() {
            let mut json = serde_json::to_string_pretty(&event).unwrap();
            json.push('\n');
            std::fs::write(dir.join(format!("{}.json", event.detail_type())), json).unwrap();
        }
    }
    for event in examples() {
        let path = dir.join(format!("{}.json", event.detail_type()));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!(
                "{}: {error}; regenerate with SIRSLACK_WRITE_EVENT_EXAMPLES=1",
                path.display()
            )
        });
        let documented = IntegrationEvent::from_detail_json(&text)
            .unwrap_or_else(|error| panic!("{} does not parse: {error}", path.display()));
        assert_eq!(
            documented,
            event,
            "{} is stale; regenerate with SIRSLACK_WRITE_EVENT_EXAMPLES=1",
            path.display()
        );
    }
    // No example documents a variant that no longer exists.
    let expected: BTreeSet<String> = examples()
        .iter()
        .map(|event| format!("{}.json", event.detail_type()))
        .collect();
    let found: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn case_created_carries_the_case_without_comments() {
    let event = &examples()[0];
    let EventPayload::CaseCreated { case } = &event.payload else {
        panic!("first example is CaseCreated");
    };
    assert_eq!(**case, example_case());
    let value: serde_json::Value = serde_json::to_value(event).unwrap();
    let fields = value["payload"]["case"].as_object().unwrap();
    assert!(!fields.contains_key("comments"));
    assert_eq!(fields["impactedRegions"][1], "eu-west-1");
    assert_eq!(fields["threatActorIps"][0]["ipAddress"], "203.0.113.7");
}

const CASE_ID_PATTERN: &str = "[0-9]{10,32}";

proptest! {
    #[test]
    fn command_parse_never_panics(text in any::<String>()) {
        if let Ok(Command::UpdateTitle { title }) = Command::parse(&text) {
            prop_assert!(!title.is_empty());
            prop_assert!(title.chars().count() <= TITLE_MAX);
        }
    }

    #[test]
    fn command_parse_never_panics_on_real_subcommands(
        name in "(?i)(status|update-status|update-title|update-description|close|summarize|incident-details|help)",
        rest in ".{0,40}",
        code in proptest::option::of("[0-9]{5,7}"),
    ) {
        let text = format!("{name} {rest} {}", code.unwrap_or_default());
        if let Ok(command) = Command::parse(&text) {
            // Every subcommand parses to itself except the alias of summarize.
            let is_alias = name.eq_ignore_ascii_case("incident-details");
            prop_assert_eq!(command.name().eq_ignore_ascii_case(&name), !is_alias);
            if let Some(otp) = command.otp() {
                prop_assert_eq!(otp.as_str().len(), 6);
            }
        }
    }

    #[test]
    fn case_id_parsing_never_panics(text in any::<String>()) {
        if let Ok(id) = text.parse::<CaseId>() {
            prop_assert!((10..=32).contains(&id.as_str().len()));
            prop_assert!(id.as_str().bytes().all(|b| b.is_ascii_digit()));
        }
        let _ = CaseId::from_arn(&text);
    }

    #[test]
    fn valid_case_ids_round_trip(digits in CASE_ID_PATTERN) {
        let id: CaseId = digits.parse().unwrap();
        prop_assert_eq!(id.to_string(), digits.clone());
        let arn = format!("arn:aws:security-ir:us-east-1:123456789012:case/{digits}");
        prop_assert_eq!(CaseId::from_arn(&arn).unwrap(), id);
    }

    #[test]
    fn author_display_never_panics_nor_says_none(creator in any::<String>()) {
        let shown = author_display(&creator);
        prop_assert!(!shown.is_empty());
        prop_assert_ne!(shown.as_str(), "None");
        if creator.trim().is_empty() {
            prop_assert_eq!(shown.as_str(), UNKNOWN_AUTHOR);
        }
    }

    #[test]
    fn channel_names_are_always_valid(
        prefix in any::<String>(),
        digits in CASE_ID_PATTERN,
        attempt in 0u32..12,
    ) {
        let id = CaseId::new(&digits).unwrap();
        if let Ok(namer) = ChannelNamer::new(&prefix) {
            match namer.candidate(&id, attempt) {
                Some(name) => {
                    prop_assert!(attempt < MAX_NAME_ATTEMPTS);
                    prop_assert!(name.len() <= CHANNEL_NAME_MAX);
                    prop_assert!(is_valid_channel_name(&name), "{}", name);
                    let suffix = if attempt == 0 { String::new() } else { format!("-{}", attempt + 1) };
                    let expected_end = format!("-{digits}{suffix}");
                    prop_assert!(name.ends_with(&expected_end), "{}", name);
                }
                None => prop_assert!(attempt >= MAX_NAME_ATTEMPTS),
            }
        }
    }

    #[test]
    fn channel_names_are_valid_for_prefix_like_input(
        prefix in "[A-Za-z0-9 _.#-]{1,120}",
        digits in CASE_ID_PATTERN,
    ) {
        let id = CaseId::new(&digits).unwrap();
        if let Ok(namer) = ChannelNamer::new(&prefix) {
            let names: Vec<String> = namer.candidates(&id).collect();
            prop_assert_eq!(names.len(), MAX_NAME_ATTEMPTS as usize);
            let distinct: BTreeSet<&String> = names.iter().collect();
            prop_assert_eq!(distinct.len(), names.len());
            for name in &names {
                prop_assert!(is_valid_channel_name(name), "{}", name);
            }
        }
    }

    #[test]
    fn status_parsing_never_panics(text in any::<String>()) {
        let _ = SelfManagedStatus::parse_friendly(&text);
        let _ = CaseStatus::from(text.as_str());
    }
}
