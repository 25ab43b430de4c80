//! The Slack adapter against the Slack stand-in (and moto for SSM).

use std::time::Duration;

use aws_local::{LocalAws, OnExisting, ParameterKind, put_parameter, unique_name};
use bytes::Bytes;
use sirslack_slack_api::{
    BotToken, BotTokenSource, ErrorClass, ParameterCache, ParameterError, RetryPolicy, SlackApi,
    bytes_body,
};
use slack_morphism::prelude::SlackMessageContent;
use slack_standin::{SeedUser, SlackStandin, SlackStandinConfig};

async fn standin() -> SlackStandin {
    SlackStandin::start(SlackStandinConfig::default())
        .await
        .unwrap()
}

fn api(slack: &SlackStandin) -> SlackApi {
    SlackApi::builder()
        .api_url(&slack.api_url())
        .retry_policy(RetryPolicy::quick())
        .build()
        .unwrap()
}

fn token(slack: &SlackStandin) -> BotToken {
    BotToken::new(slack.bot_token())
}

#[tokio::test]
async fn channels_are_created_without_user_ds_and_archived() {
    let slack = standin().await;
    let api = api(&slack);
    let token = token(&slack);
    let session = api.session(&token);

    let channel = session.create_channel("ir-case-1", true).await.unwrap();
    assert_eq!(channel.name, "ir-case-1");
    assert!(channel.is_private);
    let create = &slack.calls_to("conversations.create")[0];
    let mut sent: Vec<&String> = create.params.as_object().unwrap().keys().collect();
    sent.sort();
    assert_eq!(sent, ["is_private", "name"], "no misspelt user_ds");

    let taken = session.create_channel("ir-case-1", true).await.unwrap_err();
    assert!(taken.is_code("name_taken"));
    assert_eq!(taken.class, ErrorClass::Permanent);
    assert_eq!(
        session
            .find_channel_by_name("ir-case-1")
            .await
            .unwrap()
            .map(|found| found.id),
        Some(channel.id.clone())
    );
    assert_eq!(session.find_channel_by_name("nope").await.unwrap(), None);

    assert!(session.archive(&channel.id).await.unwrap());
    assert!(
        !session.archive(&channel.id).await.unwrap(),
        "already archived"
    );
    assert!(slack.channel(&channel.id).unwrap().is_archived);
    // The client has no unarchive: Slack does not let a bot token unarchive.
    slack.set_channel_archived(&channel.id, false).unwrap();

    session
        .set_topic(&channel.id, "[Submitted] t")
        .await
        .unwrap();
    session.set_purpose(&channel.id, "p").await.unwrap();
    let info = session.channel_info(&channel.id).await.unwrap();
    assert_eq!(
        info.topic.map(|topic| topic.value).as_deref(),
        Some("[Submitted] t")
    );
    assert_eq!(
        info.purpose.map(|purpose| purpose.value).as_deref(),
        Some("p")
    );
    assert_eq!(info.creator.as_deref(), Some(slack.bot_user_id().as_str()));
}

#[tokio::test]
async fn users_are_looked_up_and_invited_in_one_call() {
    let slack = standin().await;
    slack
        .add_user(SeedUser::human("U0ANN", "ann", "Ann", "ann@example.com"))
        .unwrap();
    let api = api(&slack);
    let token = token(&slack);
    let session = api.session(&token);
    let channel = session.create_channel("ir-case-2", true).await.unwrap();

    let ann = session
        .lookup_user_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ann.id, "U0ANN");
    assert_eq!(
        session
            .lookup_user_by_email("ghost@example.com")
            .await
            .unwrap(),
        None
    );

    let outcome = session
        .invite(&channel.id, &["U0ANN".to_owned(), "U0GHOST".to_owned()])
        .await
        .unwrap();
    assert_eq!(outcome.calls, 1);
    assert_eq!(
        outcome.refused,
        [("U0GHOST".to_owned(), "user_not_found".to_owned())]
    );
    assert!(
        slack
            .channel(&channel.id)
            .unwrap()
            .members
            .contains(&"U0ANN".to_owned())
    );
    // Inviting a member again is not an error.
    let again = session
        .invite(&channel.id, &["U0ANN".to_owned()])
        .await
        .unwrap();
    assert!(again.refused.is_empty());
}

#[tokio::test]
async fn ephemeral_messages_reach_one_member_only() {
    let slack = standin().await;
    slack
        .add_user(SeedUser::human("U0ANN", "ann", "Ann", "ann@example.com"))
        .unwrap();
    let api = api(&slack);
    let token = token(&slack);
    let session = api.session(&token);
    let channel = session
        .create_channel("ir-case-ephemeral", true)
        .await
        .unwrap();
    session
        .invite(&channel.id, &["U0ANN".to_owned()])
        .await
        .unwrap();

    let content = SlackMessageContent::new().with_text("only for Ann".to_owned());
    session
        .post_ephemeral(&channel.id, "U0ANN", &content)
        .await
        .unwrap();
    let ephemeral = slack.ephemeral_messages(&channel.id);
    assert_eq!(ephemeral.len(), 1);
    assert_eq!(ephemeral[0].user, "U0ANN");
    assert_eq!(ephemeral[0].text.as_deref(), Some("only for Ann"));
    assert!(slack.messages(&channel.id).is_empty(), "not a channel post");

    let refused = session
        .post_ephemeral("C0NOWHERE", "U0ANN", &content)
        .await
        .unwrap_err();
    assert_eq!(refused.method, "chat.postEphemeral");
    assert_eq!(refused.class, ErrorClass::Permanent);
}

#[tokio::test]
async fn a_429_waits_for_retry_after() {
    let slack = standin().await;
    let api = api(&slack);
    let token = token(&slack);
    let session = api.session(&token);
    let channel = session.create_channel("ir-case-3", false).await.unwrap();
    slack.inject_rate_limits(Some("chat.postMessage"), 1, 1);

    let ts = session
        .post_message(
            &channel.id,
            &SlackMessageContent::new().with_text("hello".into()),
        )
        .await
        .unwrap();
    assert!(!ts.is_empty());
    let calls = slack.calls_to("chat.postMessage");
    assert_eq!(
        calls.iter().map(|call| call.status).collect::<Vec<_>>(),
        [429, 200]
    );
    assert!(calls[1].received_at.duration_since(calls[0].received_at) >= Duration::from_secs(1));
    assert_eq!(slack.messages(&channel.id).len(), 1);
    let params = &calls[1].params;
    assert_eq!(params["unfurl_links"], false);
}

#[tokio::test]
async fn server_errors_back_off_a_bounded_number_of_times() {
    let slack = standin().await;
    slack.inject_server_errors(Some("auth.test"), 503, 10);
    let api = api(&slack);
    let token = token(&slack);
    let error = api.session(&token).auth_test().await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Transient);
    assert_eq!(error.code, "http_503");
    assert_eq!(
        slack.call_count("auth.test"),
        RetryPolicy::quick().max_attempts as usize
    );
}

#[tokio::test]
async fn a_bad_token_is_an_auth_error_tried_once() {
    let slack = standin().await;
    let api = api(&slack);
    let wrong = BotToken::new("xoxb-0-0-wrong");
    let error = api.session(&wrong).auth_test().await.unwrap_err();
    assert!(error.is_auth());
    assert_eq!(error.code, "invalid_auth");
    assert_eq!(slack.call_count("auth.test"), 1);
    assert!(!format!("{error} {error:?}").contains("xoxb-0-0-wrong"));

    let identity = api.session(&token(&slack)).auth_test().await.unwrap();
    assert_eq!(identity.user_id, slack.bot_user_id());
}

#[tokio::test]
async fn files_are_uploaded_and_shared() {
    let slack = standin().await;
    let api = api(&slack);
    let token = token(&slack);
    let session = api.session(&token);
    let channel = session.create_channel("ir-case-4", false).await.unwrap();
    let bytes = Bytes::from_static(b"incident evidence");

    let target = session
        .get_upload_url("evidence.txt", bytes.len() as u64)
        .await
        .unwrap();
    assert!(
        !format!("{target:?}").contains("upload/v1"),
        "upload URL redacted"
    );
    session
        .upload(&target, bytes_body(bytes.clone()), bytes.len() as u64)
        .await
        .unwrap();
    session
        .complete_upload(
            &target.file_id,
            "evidence.txt",
            &channel.id,
            Some("for the case"),
        )
        .await
        .unwrap();

    let file = slack.file(&target.file_id).unwrap();
    assert!(file.completed);
    assert_eq!(file.bytes, Some(bytes));
    assert_eq!(file.channels, std::slice::from_ref(&channel.id));
    let shared = &slack.messages(&channel.id)[0];
    assert_eq!(shared.files, std::slice::from_ref(&target.file_id));
    assert_eq!(shared.text.as_deref(), Some("for the case"));
}

#[tokio::test]
async fn parameters_are_cached_until_the_ttl_or_an_invalidation() {
    let aws = LocalAws::shared().await.unwrap();
    let ssm = aws.ssm();
    let name = format!("/sirslack-test/{}/token", unique_name("cache"));
    put_parameter(
        &ssm,
        &name,
        "xoxb-1",
        ParameterKind::Secure,
        OnExisting::Overwrite,
    )
    .await
    .unwrap();
    let cache = ParameterCache::new(ssm.clone(), Duration::from_secs(3600));
    let source = BotTokenSource::ssm(cache.clone(), name.clone());
    assert_eq!(source.token().await.unwrap().expose(), "xoxb-1");

    put_parameter(
        &ssm,
        &name,
        "xoxb-2",
        ParameterKind::Secure,
        OnExisting::Overwrite,
    )
    .await
    .unwrap();
    assert_eq!(
        source.token().await.unwrap().expose(),
        "xoxb-1",
        "served from the cache within the TTL"
    );
    source.invalidate();
    assert_eq!(source.token().await.unwrap().expose(), "xoxb-2");

    let ssm_again = ssm.clone();
    let uncached = ParameterCache::new(ssm, Duration::ZERO);
    assert_eq!(uncached.get(&name).await.unwrap().as_ref(), "xoxb-2");
    let missing = format!("{name}-missing");
    assert!(matches!(
        cache.get(&missing).await,
        Err(ParameterError::Missing { .. })
    ));
    assert_eq!(cache.get_optional(&missing).await.unwrap(), None);

    // The uncached read the events handler's secret cache builds on.
    let uncached_strict = ParameterCache::uncached(ssm_again);
    assert_eq!(uncached_strict.get(&name).await.unwrap().as_ref(), "xoxb-2");
    assert!(matches!(
        uncached_strict.get(&missing).await,
        Err(ParameterError::Missing { .. })
    ));
}

#[tokio::test]
async fn a_download_with_the_bot_token_goes_only_to_slacks_file_hosts() {
    let slack = standin().await;
    let elsewhere = standin().await;
    let api = api(&slack);
    let url = format!(
        "{}/files-pri/T0STANDIN1-F1/download/a.pdf",
        elsewhere.base_url()
    );
    let token = token(&slack);
    let session = api.session(&token);
    let refused = session
        .download(&url, Some(&token))
        .await
        .expect_err("sent the token to another host");
    assert_eq!(refused.code, "file_host_not_allowed");
    assert!(elsewhere.calls().is_empty(), "{:?}", elsewhere.calls());
    // Without the token (a presigned URL), any host.
    let _ = session.download(&url, None).await;
    assert_eq!(elsewhere.calls().len(), 1);
    // The configured API's own origin is allowed (a stand-in's, here).
    let own = format!(
        "{}/files-pri/T0STANDIN1-F1/download/a.pdf",
        slack.base_url()
    );
    let _ = session.download(&own, Some(&token)).await;
    assert_eq!(slack.call_count(slack_standin::DOWNLOAD_CALL), 1);
}

#[tokio::test]
async fn permalinks_are_given_for_visible_messages_only() {
    let slack = standin().await;
    slack
        .add_user(SeedUser::human("U0ANN", "ann", "Ann", "ann@example.com"))
        .unwrap();
    let visible = slack
        .add_channel(slack_standin::SeedChannel {
            bot_is_member: true,
            members: vec!["U0ANN".to_owned()],
            ..slack_standin::SeedChannel::public("alerts")
        })
        .unwrap();
    let hidden = slack
        .add_channel(slack_standin::SeedChannel {
            is_private: true,
            members: vec!["U0ANN".to_owned()],
            ..slack_standin::SeedChannel::public("secret")
        })
        .unwrap();
    let ts = slack
        .post_user_message(&visible, "U0ANN", "look at this")
        .unwrap();
    let hidden_ts = slack.post_user_message(&hidden, "U0ANN", "psst").unwrap();
    let api = api(&slack);
    let token = token(&slack);
    let session = api.session(&token);

    let link = session.permalink(&visible, &ts).await.unwrap();
    assert_eq!(Some(link), slack.permalink(&visible, &ts));
    let refused = session.permalink(&hidden, &hidden_ts).await.unwrap_err();
    assert!(refused.is_code("channel_not_found"), "{refused}");
    assert_eq!(refused.class, ErrorClass::Permanent);
    let unknown = session.permalink(&visible, "1.000001").await.unwrap_err();
    assert!(unknown.is_code("message_not_found"), "{unknown}");
}
