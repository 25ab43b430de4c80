//! The parameter cache against moto's SSM, on a clock the test moves.

use std::sync::Arc;
use std::time::Duration;

use aws_local::{LocalAws, OnExisting, ParameterKind, put_parameter, unique_name};
use sirslack_cache::{ManualClock, ParameterCache, ParameterError};

const TTL: Duration = Duration::from_secs(300);

async fn put(ssm: &aws_sdk_ssm::Client, name: &str, value: &str) {
    put_parameter(
        ssm,
        name,
        value,
        ParameterKind::Secure,
        OnExisting::Overwrite,
    )
    .await
    .unwrap();
}

async fn delete(ssm: &aws_sdk_ssm::Client, name: &str) {
    ssm.delete_parameter().name(name).send().await.unwrap();
}

fn name(what: &str) -> String {
    format!("/sirslack-test/{}/{what}", unique_name("cache"))
}

#[tokio::test]
async fn values_are_kept_for_the_ttl_then_re_read() {
    let aws = LocalAws::shared().await.unwrap();
    let ssm = aws.ssm();
    let clock = ManualClock::new();
    let cache = ParameterCache::new(ssm.clone(), TTL).with_clock(Arc::new(clock.clone()));
    let token = name("token");
    put(&ssm, &token, " xoxb-1 \n").await;
    assert_eq!(cache.get(&token).await.unwrap().as_ref(), "xoxb-1");
    put(&ssm, &token, "xoxb-2").await;
    clock.advance(TTL - Duration::from_secs(1));
    assert_eq!(cache.get(&token).await.unwrap().as_ref(), "xoxb-1");
    clock.advance(Duration::from_secs(1));
    assert_eq!(cache.get(&token).await.unwrap().as_ref(), "xoxb-2");
    assert_eq!(cache.ttl(), TTL);
}

#[tokio::test]
async fn a_value_gone_on_re_read_is_served_until_invalidated_unless_strict() {
    let aws = LocalAws::shared().await.unwrap();
    let ssm = aws.ssm();
    let clock = ManualClock::new();
    let lenient = ParameterCache::new(ssm.clone(), TTL).with_clock(Arc::new(clock.clone()));
    let strict = ParameterCache::strict(ssm.clone(), TTL).with_clock(Arc::new(clock.clone()));
    let token = name("token");
    put(&ssm, &token, "xoxb-1").await;
    assert_eq!(lenient.get(&token).await.unwrap().as_ref(), "xoxb-1");
    assert_eq!(
        strict.get_optional(&token).await.unwrap().as_deref(),
        Some("xoxb-1")
    );
    delete(&ssm, &token).await;
    clock.advance(TTL);
    assert_eq!(
        lenient.get(&token).await.unwrap().as_ref(),
        "xoxb-1",
        "the last value serves while the parameter cannot be read"
    );
    assert_eq!(strict.get_optional(&token).await.unwrap(), None);
    lenient.invalidate(&token);
    assert_eq!(
        lenient.get(&token).await,
        Err(ParameterError::Missing {
            name: token.clone()
        }),
        "a rejected value is never served again"
    );
}

#[tokio::test]
async fn absence_is_an_answer_for_optional_reads_and_asked_again_for_required_ones() {
    let aws = LocalAws::shared().await.unwrap();
    let ssm = aws.ssm();
    let cache = ParameterCache::strict(ssm.clone(), TTL);
    let policy = name("policy");
    assert_eq!(cache.get_optional(&policy).await.unwrap(), None);
    put(&ssm, &policy, "{\"version\":1}").await;
    assert_eq!(
        cache.get_optional(&policy).await.unwrap(),
        None,
        "absence is kept for the TTL"
    );
    assert_eq!(
        cache.get(&policy).await.unwrap().as_ref(),
        "{\"version\":1}",
        "a required read asks again"
    );

    let blank = name("blank");
    put(&ssm, &blank, "  ").await;
    let error = cache.get(&blank).await.unwrap_err();
    assert_eq!(
        error,
        ParameterError::Empty {
            name: blank.clone()
        }
    );
    assert!(!error.is_retryable());
    assert_eq!(cache.get_optional(&blank).await.unwrap(), None);
}

#[tokio::test]
async fn errors_say_whether_to_retry_and_never_carry_the_value() {
    let unavailable = ParameterError::Unavailable {
        name: "/p".into(),
        code: "ThrottlingException".into(),
    };
    assert!(unavailable.is_retryable());
    let unreadable = ParameterError::Unreadable {
        name: "/p".into(),
        code: "AccessDeniedException".into(),
    };
    assert!(!unreadable.is_retryable());
    assert_eq!(
        unreadable.to_string(),
        "reading SSM parameter /p failed: AccessDeniedException"
    );

    // An endpoint nobody listens on: unreachable, so retryable.
    let aws = LocalAws::shared().await.unwrap();
    let config = aws_sdk_ssm::config::Builder::from(aws.sdk_config())
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let cache = ParameterCache::uncached(aws_sdk_ssm::Client::from_conf(config));
    let error = cache.get("/sirslack-test/unreachable").await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
}
