//! Golden tests: every Slack message the mapper renders for one fixed case, compared with the
//! checked-in JSON under `tests/golden/`.
//!
//! After an intended change, rewrite the files with
//! `UPDATE_GOLDEN=1 cargo test -p sirslack-mapper --test golden`, then review the diff.

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use serde::Serialize;
use serde_json::Value;
use sirslack_domain::limits::{
    ATTACHMENT_MAX_BYTES, SLACK_BLOCKS_MAX, SLACK_MESSAGE_TEXT_MAX, SLACK_SECTION_TEXT_MAX,
};
use sirslack_domain::{
    Attachment, AttachmentStatus, Case, CaseId, CaseStatus, ClosureCode, Comment, CommentId,
    EngagementType, FieldChange, PendingAction, ResolverType, ThreatActorIp, Watcher,
};
use sirslack_mapper::slack::{self, ConsoleLinks, case_status_summary, initial_case_message};
use slack_morphism::prelude::SlackMessageContent;

fn fixed_case() -> Case {
    let mut case = Case::new(
        CaseId::new("1234567890").unwrap(),
        "Compromised IAM access key in prod <!channel> & co",
        "An access key of the deploy role was used from 203.0.113.7.\n\n\
         Steps so far:\n- key deactivated\n- CloudTrail exported to <https://evil.example|the bank>",
        CaseStatus::DetectionAndAnalysis,
        EngagementType::SecurityIncident,
        ResolverType::SelfManaged,
    );
    case.pending_action = Some(PendingAction::Customer);
    case.impacted_accounts = vec!["123456789012".into(), "210987654321".into()];
    case.impacted_regions = vec!["us-east-1".into(), "eu-west-1".into()];
    case.impacted_services = vec!["IAM".into()];
    case.threat_actor_ips = vec![ThreatActorIp {
        ip_address: "203.0.113.7".into(),
        user_agent: Some("curl/8.0".into()),
    }];
    case.watchers = vec![Watcher {
        email: "jane@example.com".into(),
        name: Some("Jane Doe".into()),
        job_title: Some("CISO".into()),
    }];
    case.created_at = Some(Utc.with_ymd_and_hms(2024, 5, 1, 12, 30, 0).unwrap());
    case.updated_at = Some(Utc.with_ymd_and_hms(2024, 5, 2, 9, 15, 0).unwrap());
    case.attachments = vec![Attachment {
        id: "6f1c2b5e-0000-4000-8000-000000000001".into(),
        file_name: "cloudtrail.json.gz".into(),
        status: AttachmentStatus::Verified,
        creator: "AWS Responder".into(),
        created_at: Utc.with_ymd_and_hms(2024, 5, 1, 13, 0, 0).unwrap(),
    }];
    case.severity = Some("High".into());
    case
}

fn links() -> ConsoleLinks {
    ConsoleLinks::new("us-east-1").unwrap()
}

fn comment() -> Comment {
    Comment {
        id: CommentId::new("123456").unwrap(),
        body:
            "Please rotate the key <@U0123> & confirm.\n\nWe see calls to `sts:GetCallerIdentity`."
                .into(),
        creator: "arn:aws:sts::123456789012:assumed-role/Responder/alex".into(),
        created_at: Utc.with_ymd_and_hms(2024, 5, 1, 14, 5, 0).unwrap(),
        updated_at: None,
        updated_by: None,
    }
}

fn changes() -> Vec<FieldChange> {
    vec![
        FieldChange::Status {
            old: CaseStatus::Submitted,
            new: CaseStatus::DetectionAndAnalysis,
        },
        FieldChange::Title {
            old: "Compromised key".into(),
            new: "Compromised IAM access key in prod".into(),
        },
        FieldChange::Severity {
            old: None,
            new: Some("High".into()),
        },
        FieldChange::ImpactedAccounts {
            old: vec!["123456789012".into()],
            new: vec!["123456789012".into(), "210987654321".into()],
        },
        FieldChange::ThreatActorIps {
            old: Vec::new(),
            new: vec![ThreatActorIp {
                ip_address: "203.0.113.7".into(),
                user_agent: None,
            }],
        },
        FieldChange::Description {
            old: "Old".into(),
            new: "Key used from <b>203.0.113.7</b>".into(),
        },
        FieldChange::ReportedIncidentStart {
            old: None,
            new: Some(Utc.with_ymd_and_hms(2024, 4, 30, 22, 0, 0).unwrap()),
        },
    ]
}

/// Every rendering under test, by golden file name.
fn renderings() -> Vec<(&'static str, Value)> {
    let case = fixed_case();
    let mut closed = fixed_case();
    closed.status = CaseStatus::Closed;
    closed.closure_code = Some(ClosureCode::FalsePositive);
    closed.closed_at = Some(Utc.with_ymd_and_hms(2024, 5, 3, 8, 0, 0).unwrap());
    vec![
        (
            "initial_case_message",
            json(&initial_case_message(&case, &links())),
        ),
        ("channel_topic", json(&slack::channel_topic(&case))),
        ("channel_purpose", json(&slack::channel_purpose(&case))),
        (
            "case_updated_message",
            json(&slack::case_updated_message(&changes())),
        ),
        (
            "comment_messages",
            json(&slack::comment_messages(&comment())),
        ),
        (
            "watchers_changed_message",
            json(&slack::watchers_changed_message(
                &[Watcher {
                    email: "jane@example.com".into(),
                    name: Some("Jane Doe".into()),
                    job_title: None,
                }],
                &[Watcher::new("old@example.com")],
            )),
        ),
        (
            "users_not_found_message",
            json(&slack::users_not_found_message(&[
                "ext@partner.example".into(),
                "<!here>@example.com".into(),
            ])),
        ),
        (
            "closure_message",
            json(&slack::closure_message(
                closed.closure_code.as_ref(),
                closed.closed_at,
            )),
        ),
        (
            "attachment_too_large_message",
            json(&slack::attachment_too_large_message(
                "memory dump <1>.raw",
                ATTACHMENT_MAX_BYTES * 3 / 2,
                ATTACHMENT_MAX_BYTES,
            )),
        ),
        (
            "empty_attachment_message",
            json(&slack::empty_attachment_message("empty.txt")),
        ),
        (
            "case_status_summary",
            json(&case_status_summary(&case, &links())),
        ),
        (
            "case_status_summary_closed",
            json(&case_status_summary(&closed, &links())),
        ),
    ]
}

fn json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap()
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.json"))
}

#[test]
fn slack_renderings_match_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|value| value == "1");
    let mut mismatches = Vec::new();
    for (name, rendered) in renderings() {
        let path = golden_path(name);
        let pretty = format!("{}\n", serde_json::to_string_pretty(&rendered).unwrap());
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &pretty).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(expected) => {
                let expected: Value = serde_json::from_str(&expected)
                    .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
                if expected != rendered {
                    mismatches.push(format!("{name}: rendered\n{pretty}"));
                }
            }
            Err(err) => mismatches.push(format!("{name}: cannot read {}: {err}", path.display())),
        }
    }
    assert!(
        mismatches.is_empty(),
        "renderings differ from tests/golden (rerun with UPDATE_GOLDEN=1 if intended):\n{}",
        mismatches.join("\n")
    );
}

/// Texts of every `mrkdwn` and `plain_text` object in `value`, with their type.
fn text_objects(value: &Value) -> Vec<(String, String)> {
    match value {
        Value::Object(map) => {
            let own = match (map.get("type"), map.get("text")) {
                (Some(Value::String(kind)), Some(Value::String(text)))
                    if kind == "mrkdwn" || kind == "plain_text" =>
                {
                    Some((kind.clone(), text.clone()))
                }
                _ => None,
            };
            own.into_iter()
                .chain(map.values().flat_map(text_objects))
                .collect()
        }
        Value::Array(items) => items.iter().flat_map(text_objects).collect(),
        _ => Vec::new(),
    }
}

fn messages_in(value: &Value) -> Vec<SlackMessageContent> {
    match value {
        Value::Array(items) => items.iter().flat_map(messages_in).collect(),
        Value::Object(map) if map.contains_key("blocks") => {
            vec![serde_json::from_value(value.clone()).unwrap()]
        }
        _ => Vec::new(),
    }
}

/// The only markup in `mrkdwn` texts is what the mapper writes itself: dates and console
/// links. Anything else starting with `<` would be SIR text escaping its escaping.
fn assert_only_own_markup(name: &str, text: &str) {
    for (index, _) in text.match_indices('<') {
        let rest = &text[index + 1..];
        assert!(
            rest.starts_with("!date^")
                || rest.starts_with("https://us-east-1.console.aws.amazon.com/"),
            "{name}: unexpected markup in {text}"
        );
    }
}

#[test]
fn every_rendered_message_respects_slack_limits() {
    let mut checked = 0;
    for (name, rendered) in renderings() {
        for message in messages_in(&rendered) {
            checked += 1;
            let text = message.text.as_deref().unwrap_or_default();
            assert!(!text.trim().is_empty(), "{name}: no fallback text");
            assert!(text.chars().count() <= SLACK_MESSAGE_TEXT_MAX, "{name}");
            let blocks = message.blocks.as_ref().unwrap();
            assert!(
                !blocks.is_empty() && blocks.len() <= SLACK_BLOCKS_MAX,
                "{name}"
            );
            for (kind, text) in text_objects(&json(blocks)) {
                assert!(!text.trim().is_empty(), "{name}: empty {kind}");
                assert!(text.chars().count() <= SLACK_SECTION_TEXT_MAX, "{name}");
                if kind == "mrkdwn" {
                    assert_only_own_markup(name, &text);
                }
            }
            assert!(!text.contains('<') && !text.contains('>'), "{name}: {text}");
        }
    }
    assert_eq!(checked, 10);
}
