//! The gate in front of moto refuses, through the real AWS SDK clients, what the caller's policy
//! does not allow, the way AWS answers it; and forwards the rest.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_local::{LocalAws, OnExisting, ParameterKind, create_table, put_parameter, unique_name};
use aws_sdk_dynamodb::types::AttributeValue;
use local_iam::{Authorizer, Denial, IamGate, Policy, PolicyFile, Principal, Scope};

const ACCOUNT: &str = "123456789012";

fn scope() -> Scope {
    Scope {
        region: "us-east-1".to_owned(),
        account: ACCOUNT.to_owned(),
    }
}

fn config(endpoint: &str, access_key: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            access_key, "secret", None, None, "test",
        )))
        .endpoint_url(endpoint)
        .build()
}

/// A principal whose policy is `statements` (JSON), with `${Table.Arn}` and `${Prefix}` filled.
fn principal(statements: &str, table: &str, prefix: &str) -> Principal {
    let file = PolicyFile::parse(&format!(
        r#"{{"functions":{{"f":{{"role":"FRole","statements":{statements}}}}}}}"#
    ))
    .unwrap();
    let policy = file
        .policy("f", |name| match name {
            "Table.Arn" => Some(scope().arn("dynamodb", &format!("table/{table}"))),
            "Prefix" => Some(prefix.to_owned()),
            _ => None,
        })
        .unwrap();
    Principal {
        name: "f".to_owned(),
        access_key_id: "ASIATESTFUNCTION".to_owned(),
        secret_access_key: "secret".to_owned(),
        arn: format!("arn:aws:sts::{ACCOUNT}:assumed-role/FRole/f"),
        policy,
    }
}

#[tokio::test]
async fn dynamodb_calls_outside_the_policy_are_access_denied_and_the_rest_reach_moto() {
    let aws = LocalAws::shared().await.unwrap();
    let table = unique_name("gate-table");
    create_table(&aws.dynamodb(), &table).await.unwrap();
    let authorizer = Authorizer::default();
    authorizer.add(principal(
        r#"[{"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem"],"Resource":["${Table.Arn}"]}]"#,
        &table,
        "",
    ));
    let gate = IamGate::start(aws.endpoint_url(), authorizer.clone(), scope())
        .await
        .unwrap();
    let dynamodb = aws_sdk_dynamodb::Client::new(&config(gate.endpoint_url(), "ASIATESTFUNCTION"));
    let key = |value: &str| AttributeValue::S(value.to_owned());

    dynamodb
        .put_item()
        .table_name(&table)
        .item("pk", key("a"))
        .item("sk", key("b"))
        .send()
        .await
        .expect("PutItem is allowed");
    let got = dynamodb
        .get_item()
        .table_name(&table)
        .key("pk", key("a"))
        .key("sk", key("b"))
        .send()
        .await
        .expect("GetItem is allowed");
    assert!(got.item().is_some(), "the write reached moto");

    let error = dynamodb
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", key("a"))
        .send()
        .await
        .expect_err("Query is not in the policy");
    let service_error = error.into_service_error();
    assert_eq!(service_error.meta().code(), Some("AccessDeniedException"));
    let message = service_error
        .meta()
        .message()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("is not authorized to perform: dynamodb:Query"),
        "{message}"
    );
    assert!(message.contains(&format!("table/{table}")), "{message}");

    let other = dynamodb
        .get_item()
        .table_name(format!("{table}-other"))
        .key("pk", key("a"))
        .key("sk", key("b"))
        .send()
        .await
        .expect_err("another table is not in the policy");
    assert_eq!(
        other.into_service_error().meta().code(),
        Some("AccessDeniedException")
    );

    let stranger = aws_sdk_dynamodb::Client::new(&config(gate.endpoint_url(), "ASIASTRANGER"));
    let unknown = stranger
        .get_item()
        .table_name(&table)
        .key("pk", key("a"))
        .key("sk", key("b"))
        .send()
        .await
        .expect_err("an access key the world never issued");
    assert_eq!(
        unknown.into_service_error().meta().code(),
        Some("UnrecognizedClientException")
    );
    let refusals = authorizer.refusals();
    assert_eq!(refusals.len(), 3, "{refusals:?}");
    assert!(matches!(
        refusals[2].denial,
        Denial::UnknownAccessKey { .. }
    ));
}

#[tokio::test]
async fn a_secure_string_needs_kms_decrypt_under_the_ssm_conditions() {
    let aws = LocalAws::shared().await.unwrap();
    let prefix = format!("/{}", unique_name("gate"));
    put_parameter(
        &aws.ssm(),
        &format!("{prefix}/secret"),
        "s3cr3t",
        ParameterKind::Secure,
        OnExisting::Overwrite,
    )
    .await
    .unwrap();
    put_parameter(
        &aws.ssm(),
        &format!("{prefix}/plain"),
        "hello",
        ParameterKind::Plain,
        OnExisting::Overwrite,
    )
    .await
    .unwrap();
    let read = r#"{"Effect":"Allow","Action":["ssm:GetParameter"],"Resource":["arn:aws:ssm:us-east-1:123456789012:parameter${Prefix}/*"]}"#;
    let decrypt = r#"{"Effect":"Allow","Action":["kms:Decrypt"],"Resource":["arn:aws:kms:us-east-1:123456789012:key/*"],
        "Condition":{"StringEquals":{"kms:ViaService":"ssm.us-east-1.amazonaws.com"},
                     "StringLike":{"kms:EncryptionContext:PARAMETER_ARN":["arn:aws:ssm:us-east-1:123456789012:parameter${Prefix}/secret"]}}}"#;

    for (statements, decrypt_allowed) in [
        (format!("[{read}]"), false),
        (format!("[{read},{decrypt}]"), true),
    ] {
        let authorizer = Authorizer::default();
        authorizer.add(principal(&statements, "unused", &prefix));
        let gate = IamGate::start(aws.endpoint_url(), authorizer, scope())
            .await
            .unwrap();
        let ssm = aws_sdk_ssm::Client::new(&config(gate.endpoint_url(), "ASIATESTFUNCTION"));

        let plain = ssm
            .get_parameter()
            .name(format!("{prefix}/plain"))
            .with_decryption(true)
            .send()
            .await;
        assert_eq!(
            plain.unwrap().parameter().and_then(|p| p.value()),
            Some("hello")
        );
        let secret = ssm
            .get_parameter()
            .name(format!("{prefix}/secret"))
            .with_decryption(true)
            .send()
            .await;
        if decrypt_allowed {
            assert_eq!(
                secret.unwrap().parameter().and_then(|p| p.value()),
                Some("s3cr3t")
            );
        } else {
            let error = secret.expect_err("no kms:Decrypt").into_service_error();
            assert_eq!(error.meta().code(), Some("AccessDeniedException"));
            assert!(
                error
                    .meta()
                    .message()
                    .unwrap_or_default()
                    .contains("kms:Decrypt")
            );
        }
        let outside = ssm.get_parameter().name("/elsewhere/x").send().await;
        assert_eq!(
            outside
                .expect_err("outside the prefix")
                .into_service_error()
                .meta()
                .code(),
            Some("AccessDeniedException")
        );
    }
}

#[test]
fn an_administrator_policy_allows_everything() {
    assert!(Policy::allow_all().allows(&local_iam::Access::new(
        "dynamodb:Scan",
        "arn:aws:dynamodb:r:a:table/t"
    )));
}

#[tokio::test]
async fn put_events_needs_the_bus_and_the_source_the_policy_names() {
    let aws = LocalAws::shared().await.unwrap();
    let bus = unique_name("gate-bus");
    aws_local::create_bus(&aws.eventbridge(), &bus)
        .await
        .unwrap();
    let authorizer = Authorizer::default();
    let mut publisher = principal(
        r#"[{"Effect":"Allow","Action":["events:PutEvents"],"Resource":["${Prefix}"],
             "Condition":{"StringEquals":{"events:source":"sirslack.poller"}}}]"#,
        "unused",
        &scope().arn("events", &format!("event-bus/{bus}")),
    );
    publisher.name = "publisher".to_owned();
    authorizer.add(publisher);
    let gate = IamGate::start(aws.endpoint_url(), authorizer, scope())
        .await
        .unwrap();
    let events = aws_sdk_eventbridge::Client::new(&config(gate.endpoint_url(), "ASIATESTFUNCTION"));
    let entry = |source: &str, bus: &str| {
        aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .event_bus_name(bus)
            .source(source)
            .detail_type("T")
            .detail("{}")
            .build()
    };

    let sent = events
        .put_events()
        .entries(entry("sirslack.poller", &bus))
        .send()
        .await;
    assert_eq!(
        sent.expect("the poller's source on its bus")
            .failed_entry_count(),
        0
    );
    for (source, target) in [
        ("sirslack.someone-else", bus.as_str()),
        ("sirslack.poller", "default"),
    ] {
        let refused = events
            .put_events()
            .entries(entry(source, target))
            .send()
            .await
            .expect_err("another source or bus")
            .into_service_error();
        assert_eq!(
            refused.meta().code(),
            Some("AccessDeniedException"),
            "{source} on {target}"
        );
    }
}

#[tokio::test]
async fn sqs_calls_are_scoped_to_the_queue_the_policy_names() {
    let aws = LocalAws::shared().await.unwrap();
    let own = aws_local::create_queue(
        &aws.sqs(),
        &unique_name("gate-own"),
        aws_local::QueueKind::Standard,
        None,
    )
    .await
    .unwrap();
    let other = aws_local::create_queue(
        &aws.sqs(),
        &unique_name("gate-other"),
        aws_local::QueueKind::Standard,
        None,
    )
    .await
    .unwrap();
    let authorizer = Authorizer::default();
    authorizer.add(principal(
        r#"[{"Effect":"Allow","Action":["sqs:GetQueueAttributes"],"Resource":["${Prefix}"]}]"#,
        "unused",
        &own.arn,
    ));
    let gate = IamGate::start(aws.endpoint_url(), authorizer, scope())
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&config(gate.endpoint_url(), "ASIATESTFUNCTION"));
    let attributes = |url: &str| {
        sqs.get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
            .send()
    };
    attributes(&own.url).await.expect("its own queue");
    let refused = attributes(&other.url)
        .await
        .expect_err("another queue")
        .into_service_error();
    assert_eq!(refused.meta().code(), Some("AccessDenied"));
    let purge = sqs.purge_queue().queue_url(&own.url).send().await;
    assert_eq!(
        purge
            .expect_err("PurgeQueue is not granted")
            .into_service_error()
            .meta()
            .code(),
        Some("AccessDenied")
    );
}
