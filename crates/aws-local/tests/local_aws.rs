//! The local AWS world against the pinned moto: every helper with real SDK calls, plus the moto
//! behaviours the crate docs promise. All tests but one share one moto process.

use std::collections::HashMap;
use std::time::Duration;

use aws_local::{
    DEFAULT_EVENT_BUS, DeadLetterTarget, Decryption, LocalAws, LocalAwsError, MotoServer,
    OnExisting, ParameterKind, QueueKind, TABLE_PARTITION_KEY, TABLE_SORT_KEY, TABLE_TTL_ATTRIBUTE,
    create_bus, create_queue, create_rule_to_queue, create_table, delete_message, get_parameter,
    put_event, put_parameter, receive_and_release, receive_count, unique_name,
    visible_message_count,
};
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, KeyType, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
    TimeToLiveStatus,
};
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, SqsParameters, Target};
use aws_sdk_ssm::types::ParameterType;
use serde_json::{Value, json};

const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(10);

async fn local() -> LocalAws {
    LocalAws::shared().await.expect("shared moto server starts")
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).expect("event body is JSON")
}

#[tokio::test]
async fn table_has_the_project_key_schema_billing_and_ttl() {
    let aws = local().await;
    let dynamodb = aws.dynamodb();
    let table_name = unique_name("table");

    create_table(&dynamodb, &table_name).await.unwrap();

    let table = dynamodb
        .describe_table()
        .table_name(&table_name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let keys: Vec<(&str, &KeyType)> = table
        .key_schema()
        .iter()
        .map(|key| (key.attribute_name(), key.key_type()))
        .collect();
    assert_eq!(
        keys,
        vec![("pk", &KeyType::Hash), ("sk", &KeyType::Range)],
        "key schema"
    );
    assert_eq!((TABLE_PARTITION_KEY, TABLE_SORT_KEY), ("pk", "sk"));
    let attributes: HashMap<&str, &ScalarAttributeType> = table
        .attribute_definitions()
        .iter()
        .map(|attribute| (attribute.attribute_name(), attribute.attribute_type()))
        .collect();
    assert_eq!(
        attributes,
        HashMap::from([
            ("pk", &ScalarAttributeType::S),
            ("sk", &ScalarAttributeType::S)
        ])
    );
    assert_eq!(
        table
            .billing_mode_summary()
            .and_then(|summary| summary.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );

    let ttl = dynamodb
        .describe_time_to_live()
        .table_name(&table_name)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), Some(TABLE_TTL_ATTRIBUTE));
    assert_eq!(TABLE_TTL_ATTRIBUTE, "expires_at");
}

#[tokio::test]
async fn conditional_put_fails_the_second_time_and_expired_items_stay_readable() {
    let aws = local().await;
    let dynamodb = aws.dynamodb();
    let table_name = unique_name("table");
    create_table(&dynamodb, &table_name).await.unwrap();
    let item = HashMap::from([
        ("pk".to_owned(), AttributeValue::S("CASE#1".to_owned())),
        ("sk".to_owned(), AttributeValue::S("META".to_owned())),
        // Long expired: 1970-01-01T00:00:01Z.
        ("expires_at".to_owned(), AttributeValue::N("1".to_owned())),
    ]);
    let put_if_absent = || {
        dynamodb
            .put_item()
            .table_name(&table_name)
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
    };

    put_if_absent()
        .await
        .expect("first conditional put succeeds");
    let second = put_if_absent()
        .await
        .expect_err("second conditional put fails");

    let service_error = second.into_service_error();
    assert!(
        service_error.is_conditional_check_failed_exception(),
        "{service_error:?}"
    );
    let aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(
        failed,
    ) = service_error
    else {
        unreachable!("checked above")
    };
    assert_eq!(
        failed.item(),
        Some(&item),
        "ALL_OLD returns the existing item"
    );

    // moto never runs the TTL sweeper: the expired item is still there.
    let got = dynamodb
        .get_item()
        .table_name(&table_name)
        .key("pk", AttributeValue::S("CASE#1".to_owned()))
        .key("sk", AttributeValue::S("META".to_owned()))
        .send()
        .await
        .unwrap();
    assert_eq!(got.item(), Some(&item));
}

#[tokio::test]
async fn event_on_a_custom_bus_reaches_a_standard_and_a_fifo_queue() {
    let aws = local().await;
    let (eventbridge, sqs) = (aws.eventbridge(), aws.sqs());
    let bus = unique_name("bus");
    let bus_arn = create_bus(&eventbridge, &bus).await.unwrap();
    assert!(bus_arn.ends_with(&format!(":event-bus/{bus}")), "{bus_arn}");
    let standard = create_queue(&sqs, &unique_name("standard"), QueueKind::Standard, None)
        .await
        .unwrap();
    let fifo = create_queue(
        &sqs,
        &format!("{}.fifo", unique_name("fifo")),
        QueueKind::Fifo {
            content_based_deduplication: true,
        },
        None,
    )
    .await
    .unwrap();
    let pattern = json!({ "source": ["sirslack.test"], "detail-type": ["CaseUpdated"] });
    let standard_rule = create_rule_to_queue(
        &eventbridge,
        &bus,
        &unique_name("to-standard"),
        &pattern,
        &standard.arn,
        None,
    )
    .await
    .unwrap();
    assert!(
        standard_rule.contains(&format!(":rule/{bus}/")),
        "{standard_rule}"
    );
    create_rule_to_queue(
        &eventbridge,
        &bus,
        &unique_name("to-fifo"),
        &pattern,
        &fifo.arn,
        Some("case-42"),
    )
    .await
    .unwrap();

    let detail = json!({ "caseId": "42", "status": "Acknowledged" });
    let event_id = put_event(&eventbridge, &bus, "sirslack.test", "CaseUpdated", &detail)
        .await
        .unwrap();

    for queue in [&standard, &fifo] {
        let received = receive_count(&sqs, &queue.url, 1, ARRIVAL_TIMEOUT)
            .await
            .unwrap();
        assert_eq!(received.len(), 1, "one event in {}", queue.url);
        let envelope = parse(&received[0].body);
        assert_eq!(envelope["id"], json!(event_id));
        assert_eq!(envelope["source"], json!("sirslack.test"));
        assert_eq!(envelope["detail-type"], json!("CaseUpdated"));
        assert_eq!(envelope["detail"], detail);
        assert_eq!(envelope["region"], json!("us-east-1"));
        delete_message(&sqs, &queue.url, &received[0].receipt_handle)
            .await
            .unwrap();
    }
    // The group ID comes from the target's SqsParameters; checked on a fresh event.
    put_event(
        &eventbridge,
        &bus,
        "sirslack.test",
        "CaseUpdated",
        &json!({ "n": 2 }),
    )
    .await
    .unwrap();
    let received = receive_count(&sqs, &fifo.url, 1, ARRIVAL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].message_group_id.as_deref(), Some("case-42"));
    assert_eq!(received[0].receive_count, Some(1));
}

#[tokio::test]
async fn rule_on_the_default_bus_matches_only_security_ir_events() {
    let aws = local().await;
    let (eventbridge, sqs) = (aws.eventbridge(), aws.sqs());
    let queue = create_queue(&sqs, &unique_name("sir-events"), QueueKind::Standard, None)
        .await
        .unwrap();
    // The pattern also pins a detail field unique to this test: the default bus is shared by
    // every test in the process, and each should see only its own events.
    let marker = unique_name("marker");
    let pattern = json!({ "source": ["aws.security-ir"], "detail": { "marker": [marker] } });
    let rule_arn = create_rule_to_queue(
        &eventbridge,
        DEFAULT_EVENT_BUS,
        &unique_name("sir-to-queue"),
        &pattern,
        &queue.arn,
        None,
    )
    .await
    .unwrap();
    assert!(rule_arn.contains(":rule/"), "{rule_arn}");

    put_event(
        &eventbridge,
        DEFAULT_EVENT_BUS,
        "aws.other",
        "Case Updated",
        &json!({ "marker": marker }),
    )
    .await
    .unwrap();
    put_event(
        &eventbridge,
        DEFAULT_EVENT_BUS,
        "aws.security-ir",
        "Case Updated",
        &json!({ "marker": marker }),
    )
    .await
    .unwrap();

    let received = receive_count(&sqs, &queue.url, 1, ARRIVAL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(parse(&received[0].body)["source"], json!("aws.security-ir"));
    // moto delivers inside PutEvents, so the non-matching event would already be here.
    assert_eq!(visible_message_count(&sqs, &queue.url).await.unwrap(), 0);
}

#[tokio::test]
async fn put_events_reports_per_entry_failures_and_rejects_unknown_buses() {
    let aws = local().await;
    let eventbridge = aws.eventbridge();
    let bus = unique_name("bus");
    create_bus(&eventbridge, &bus).await.unwrap();
    let entry = |source: Option<&str>, detail_type: Option<&str>, detail: &str| {
        PutEventsRequestEntry::builder()
            .event_bus_name(&bus)
            .set_source(source.map(str::to_owned))
            .set_detail_type(detail_type.map(str::to_owned))
            .detail(detail)
            .build()
    };

    let put = eventbridge
        .put_events()
        .entries(entry(Some("sirslack.test"), Some("Ok"), "{}"))
        .entries(entry(Some("sirslack.test"), None, "{}"))
        .entries(entry(None, Some("NoSource"), "{}"))
        .entries(entry(Some("sirslack.test"), Some("BadDetail"), "not json"))
        .send()
        .await
        .unwrap();

    assert_eq!(put.failed_entry_count(), 3);
    let outcomes: Vec<(bool, Option<&str>)> = put
        .entries()
        .iter()
        .map(|entry| (entry.event_id().is_some(), entry.error_code()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (true, None),
            (false, Some("InvalidArgument")),
            (false, Some("InvalidArgument")),
            (false, Some("MalformedDetail")),
        ]
    );

    let missing_bus = unique_name("no-such-bus");
    let err = put_event(&eventbridge, &missing_bus, "sirslack.test", "T", &json!({}))
        .await
        .expect_err("moto rejects an unknown bus (AWS would answer success)");
    assert_eq!(
        err.aws_error_code(),
        Some("ResourceNotFoundException"),
        "{err}"
    );

    // put_event turns a per-entry failure into an error.
    let err = put_event(&eventbridge, &bus, "sirslack.test", "", &json!({}))
        .await
        .expect_err("empty detail type");
    assert!(
        matches!(&err, LocalAwsError::FailedEntries { failed: 1, details, .. } if details.starts_with("InvalidArgument")),
        "{err:?}"
    );
}

#[tokio::test]
async fn fifo_targets_need_a_group_id_and_content_based_deduplication() {
    let aws = local().await;
    let (eventbridge, sqs) = (aws.eventbridge(), aws.sqs());
    let bus = unique_name("bus");
    create_bus(&eventbridge, &bus).await.unwrap();
    let pattern = json!({ "source": ["sirslack.test"] });
    let with_dedup = create_queue(
        &sqs,
        &format!("{}.fifo", unique_name("dedup")),
        QueueKind::Fifo {
            content_based_deduplication: true,
        },
        None,
    )
    .await
    .unwrap();
    let without_dedup = create_queue(
        &sqs,
        &format!("{}.fifo", unique_name("nodedup")),
        QueueKind::Fifo {
            content_based_deduplication: false,
        },
        None,
    )
    .await
    .unwrap();

    // No SqsParameters on a FIFO target: rejected, as on AWS.
    let rule = unique_name("no-group");
    eventbridge
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .unwrap();
    let err = eventbridge
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            Target::builder()
                .id("q")
                .arn(&with_dedup.arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect_err("FIFO target without a message group");
    assert_eq!(
        aws_sdk_eventbridge::error::ProvideErrorMetadata::code(&err),
        Some("ValidationException")
    );

    for queue in [&with_dedup, &without_dedup] {
        let rule = unique_name("fifo-rule");
        create_rule_to_queue(&eventbridge, &bus, &rule, &pattern, &queue.arn, Some("g"))
            .await
            .unwrap();
    }
    let sqs_parameters = SqsParameters::builder().message_group_id("g").build();
    assert_eq!(sqs_parameters.message_group_id(), Some("g"));

    put_event(&eventbridge, &bus, "sirslack.test", "T", &json!({ "n": 1 }))
        .await
        .unwrap();

    // Delivery happened inside PutEvents: one message where dedup is on, none where it is off.
    assert_eq!(
        visible_message_count(&sqs, &with_dedup.url).await.unwrap(),
        1
    );
    assert_eq!(
        visible_message_count(&sqs, &without_dedup.url)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn event_envelope_lacks_the_account_field() {
    let aws = local().await;
    let (eventbridge, sqs) = (aws.eventbridge(), aws.sqs());
    let bus = unique_name("bus");
    create_bus(&eventbridge, &bus).await.unwrap();
    let queue = create_queue(&sqs, &unique_name("envelope"), QueueKind::Standard, None)
        .await
        .unwrap();
    create_rule_to_queue(
        &eventbridge,
        &bus,
        &unique_name("rule"),
        &json!({ "source": ["sirslack.test"] }),
        &queue.arn,
        None,
    )
    .await
    .unwrap();

    put_event(&eventbridge, &bus, "sirslack.test", "T", &json!({}))
        .await
        .unwrap();

    let received = receive_count(&sqs, &queue.url, 1, ARRIVAL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    let envelope = parse(&received[0].body);
    let mut fields: Vec<&str> = envelope
        .as_object()
        .expect("envelope is an object")
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "detail",
            "detail-type",
            "id",
            "region",
            "resources",
            "source",
            "time",
            "version"
        ]
    );
}

#[tokio::test]
async fn secure_string_roundtrips_with_decryption() {
    let aws = local().await;
    let ssm = aws.ssm();
    let name = format!("/sirslack-test/{}/slackBotToken", unique_name("run"));

    let version = put_parameter(
        &ssm,
        &name,
        "xoxb-secret",
        ParameterKind::Secure,
        OnExisting::Fail,
    )
    .await
    .unwrap();
    assert_eq!(version, 1);

    assert_eq!(
        get_parameter(&ssm, &name, Decryption::Decrypt)
            .await
            .unwrap(),
        "xoxb-secret"
    );
    let stored = get_parameter(&ssm, &name, Decryption::AsStored)
        .await
        .unwrap();
    assert_eq!(
        stored, "kms:alias/aws/ssm:xoxb-secret",
        "moto's stand-in for ciphertext"
    );
    let described = ssm
        .get_parameter()
        .name(&name)
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap();
    assert_eq!(described.r#type(), Some(&ParameterType::SecureString));

    let err = put_parameter(
        &ssm,
        &name,
        "other",
        ParameterKind::Secure,
        OnExisting::Fail,
    )
    .await
    .expect_err("exists already");
    assert_eq!(
        err.aws_error_code(),
        Some("ParameterAlreadyExists"),
        "{err}"
    );

    let version = put_parameter(
        &ssm,
        &name,
        "xoxb-rotated",
        ParameterKind::Secure,
        OnExisting::Overwrite,
    )
    .await
    .unwrap();
    assert_eq!(version, 2);
    assert_eq!(
        get_parameter(&ssm, &name, Decryption::Decrypt)
            .await
            .unwrap(),
        "xoxb-rotated"
    );

    let plain = format!("/sirslack-test/{}/prefix", unique_name("run"));
    put_parameter(&ssm, &plain, "sir-", ParameterKind::Plain, OnExisting::Fail)
        .await
        .unwrap();
    assert_eq!(
        get_parameter(&ssm, &plain, Decryption::AsStored)
            .await
            .unwrap(),
        "sir-"
    );

    let missing = get_parameter(&ssm, "/sirslack-test/missing", Decryption::Decrypt)
        .await
        .expect_err("no such parameter");
    assert_eq!(missing.aws_error_code(), Some("ParameterNotFound"));
}

#[tokio::test]
async fn message_moves_to_the_dead_letter_queue_after_max_receives() {
    let aws = local().await;
    let sqs = aws.sqs();
    let dead_letters = create_queue(&sqs, &unique_name("dlq"), QueueKind::Standard, None)
        .await
        .unwrap();
    let redrive = DeadLetterTarget {
        queue_arn: dead_letters.arn.clone(),
        max_receive_count: 2,
    };
    let queue = create_queue(
        &sqs,
        &unique_name("work"),
        QueueKind::Standard,
        Some(&redrive),
    )
    .await
    .unwrap();
    let policy = sqs
        .get_queue_attributes()
        .queue_url(&queue.url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
        .remove(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .unwrap();
    assert_eq!(
        parse(&policy),
        json!({ "deadLetterTargetArn": dead_letters.arn, "maxReceiveCount": 2 })
    );
    sqs.send_message()
        .queue_url(&queue.url)
        .message_body("poison")
        .send()
        .await
        .unwrap();

    // Two failed processing attempts (received, never deleted).
    for attempt in 1..=2 {
        let received = receive_and_release(&sqs, &queue.url, Duration::from_secs(5))
            .await
            .unwrap();
        let counts: Vec<_> = received
            .iter()
            .map(|m| (m.body.as_str(), m.receive_count))
            .collect();
        assert_eq!(counts, vec![("poison", Some(attempt))], "attempt {attempt}");
    }
    // The next receive moves it instead of returning it.
    let third = receive_and_release(&sqs, &queue.url, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(third.is_empty(), "{third:?}");

    let dead = receive_count(&sqs, &dead_letters.url, 1, ARRIVAL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "poison");
    assert_eq!(
        dead[0].receive_count,
        Some(3),
        "the receive count carries over"
    );
    assert_eq!(visible_message_count(&sqs, &queue.url).await.unwrap(), 0);
}

#[tokio::test]
async fn create_queue_rejects_names_that_do_not_match_the_kind() {
    let aws = local().await;
    let sqs = aws.sqs();

    let fifo_without_suffix = create_queue(
        &sqs,
        &unique_name("plain"),
        QueueKind::Fifo {
            content_based_deduplication: true,
        },
        None,
    )
    .await;
    let standard_with_suffix = create_queue(
        &sqs,
        &format!("{}.fifo", unique_name("fifo")),
        QueueKind::Standard,
        None,
    )
    .await;

    assert!(matches!(
        fifo_without_suffix,
        Err(LocalAwsError::InvalidInput(_))
    ));
    assert!(matches!(
        standard_with_suffix,
        Err(LocalAwsError::InvalidInput(_))
    ));
}

/// Each `#[tokio::test]` has its own runtime. The shared server must survive the runtime that
/// started it and be the same process for every runtime.
#[test]
fn runtimes_in_parallel_share_one_server_that_outlives_them() {
    let from_runtime = || {
        std::thread::spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let server = MotoServer::shared().await.unwrap();
                let tables = LocalAws::for_server(server)
                    .dynamodb()
                    .list_tables()
                    .send()
                    .await
                    .unwrap();
                assert!(tables.table_names.is_some());
                (server.port(), server.supervisor_pid())
            })
            // The runtime is dropped here, before the other thread (maybe) uses the server.
        })
    };

    let first = from_runtime();
    let second = from_runtime();
    let first = first.join().unwrap();
    let second = second.join().unwrap();
    let third = from_runtime().join().unwrap();

    assert_eq!(first, second);
    assert_eq!(first, third, "server still serves after its runtime ended");
}

#[tokio::test]
async fn an_owned_server_resets_and_stops_on_drop() {
    let server = MotoServer::start().await.unwrap();
    let shared = MotoServer::shared().await.unwrap();
    assert_ne!(server.port(), shared.port());
    let log = server.log_path().to_path_buf();
    assert!(log.is_file());
    let dynamodb = LocalAws::for_server(&server).dynamodb();
    create_table(&dynamodb, "owned").await.unwrap();
    let names = |output: aws_sdk_dynamodb::operation::list_tables::ListTablesOutput| {
        output.table_names.unwrap_or_default()
    };
    assert_eq!(
        names(dynamodb.list_tables().send().await.unwrap()),
        ["owned"]
    );

    server.reset().await.unwrap();

    assert!(names(dynamodb.list_tables().send().await.unwrap()).is_empty());
    let port = server.port();
    let supervisor = server.supervisor_pid();
    drop(server);

    // Drop waited for the supervisor, which waited for moto: both are gone, not zombies.
    assert!(!std::path::Path::new(&format!("/proc/{supervisor}")).exists());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "moto still listening on {port}"
    );
    assert!(!log.exists(), "log directory removed");
}

/// Leases, claims and idempotency markers rely on DynamoDB applying a conditional write
/// atomically. Plain moto checks and writes without a lock (two of eight racing writers could
/// both win); the launcher serialises DynamoDB requests so the local world keeps the guarantee.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_conditional_writes_to_one_item_have_one_winner() {
    let aws = local().await;
    let dynamodb = aws.dynamodb();
    let table_name = unique_name("race");
    create_table(&dynamodb, &table_name).await.unwrap();

    let mut keys_without_one_winner = Vec::new();
    for key in 0..150 {
        let mut writers = tokio::task::JoinSet::new();
        for writer in 0..8 {
            let dynamodb = dynamodb.clone();
            let table_name = table_name.clone();
            writers.spawn(async move {
                dynamodb
                    .put_item()
                    .table_name(table_name)
                    .item("pk", AttributeValue::S(format!("LEASE#{key}")))
                    .item("sk", AttributeValue::S("LEASE".into()))
                    .item("owner", AttributeValue::S(format!("writer-{writer}")))
                    .condition_expression("attribute_not_exists(pk)")
                    .send()
                    .await
                    .is_ok()
            });
        }
        let mut winners = 0;
        while let Some(won) = writers.join_next().await {
            if won.unwrap() {
                winners += 1;
            }
        }
        if winners != 1 {
            keys_without_one_winner.push((key, winners));
        }
    }
    assert!(
        keys_without_one_winner.is_empty(),
        "keys whose conditional write did not have exactly one winner: {keys_without_one_winner:?}"
    );
}
