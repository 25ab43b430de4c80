use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::HeaderMap;

use super::*;
use crate::ack::{MAX_OPTIONS, OptionGroup, SelectOption};
use crate::dedupe::{DedupeError, MemoryDeduplicator};
use crate::handoff::{HandOffTarget, LAZY_INVOCATION_KEY, RecordingHandOffSink};
use crate::keys::{KeySourceError, StaticKeys};
use crate::signature::SigningSecret;
use crate::signature::tests::{now, sign};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const TEAM: &str = "T0TEAM";

/// Keys that change to `next` on the first reload after a mismatch.
struct RotatingKeys {
    current: Mutex<Arc<VerifierKeys>>,
    next: Mutex<Option<Arc<VerifierKeys>>>,
    reloads: AtomicUsize,
}

impl RotatingKeys {
    fn new(current: &str, next: &str) -> Self {
        Self {
            current: Mutex::new(Arc::new(keys(current))),
            next: Mutex::new(Some(Arc::new(keys(next)))),
            reloads: AtomicUsize::new(0),
        }
    }
}

impl KeySource for RotatingKeys {
    fn keys(&self) -> BoxFuture<'_, Result<Arc<VerifierKeys>, KeySourceError>> {
        let keys = Arc::clone(&self.current.lock().unwrap());
        Box::pin(async move { Ok(keys) })
    }

    fn reload_after_mismatch<'a>(
        &'a self,
        _rejected: &'a Arc<VerifierKeys>,
    ) -> BoxFuture<'a, Result<Option<Arc<VerifierKeys>>, KeySourceError>> {
        self.reloads.fetch_add(1, Ordering::SeqCst);
        let next = self.next.lock().unwrap().take();
        if let Some(next) = &next {
            *self.current.lock().unwrap() = Arc::clone(next);
        }
        Box::pin(async move { Ok(next) })
    }
}

fn keys(secret: &str) -> VerifierKeys {
    VerifierKeys::new(SigningSecret::new(secret), TEAM)
}

struct World {
    router: Router,
    dedupe: Arc<MemoryDeduplicator>,
    sink: Arc<RecordingHandOffSink>,
    calls: Arc<AtomicUsize>,
    lazy_payloads: Arc<Mutex<Vec<Value>>>,
}

/// How the `message` listener behaves.
#[derive(Clone, Copy)]
enum MessageBehaviour {
    Ack,
    HandOff,
    Transient,
    Permanent,
}

fn world_with(keys: Arc<dyn KeySource>, behaviour: MessageBehaviour) -> World {
    world_for_app(keys, behaviour, None)
}

fn world_for_app(
    keys: Arc<dyn KeySource>,
    behaviour: MessageBehaviour,
    app_id: Option<&str>,
) -> World {
    let dedupe = Arc::new(MemoryDeduplicator::new());
    let sink = Arc::new(RecordingHandOffSink::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let lazy_payloads = Arc::new(Mutex::new(Vec::new()));
    let message_calls = Arc::clone(&calls);
    let command_calls = Arc::clone(&calls);
    let action_calls = Arc::clone(&calls);
    let lazy_seen = Arc::clone(&lazy_payloads);
    let router = Router::builder(keys, dedupe.clone(), sink.clone())
        .max_body_bytes(64 * 1024)
        .app_id(app_id.map(str::to_owned))
        .event("message", move |request: EventRequest| {
            message_calls.fetch_add(1, Ordering::SeqCst);
            async move {
                match behaviour {
                    MessageBehaviour::Ack => Ok(Outcome::ack(Ack::Empty)),
                    MessageBehaviour::HandOff => Ok(Outcome::ack(Ack::Empty)
                        .with_hand_off(HandOff::lazy("later", &request.callback.event).unwrap())),
                    MessageBehaviour::Transient => Err(ListenerError::Transient("busy".into())),
                    MessageBehaviour::Permanent => Err(ListenerError::Permanent("no".into())),
                }
            }
        })
        .command("/security-ir", move |request: CommandRequest| {
            command_calls.fetch_add(1, Ordering::SeqCst);
            async move {
                let text = format!("Working on it... `{}`", request.command.text);
                Ok(Outcome::ack(Ack::ephemeral(text))
                    .with_hand_off(
                        HandOff::function(
                            "command-handler",
                            &json!({ "text": request.command.text }),
                        )
                        .unwrap(),
                    )
                    .if_hand_off_fails(Ack::ephemeral("Could not start the command.")))
            }
        })
        .action_prefix("sirslack_", move |request: ActionRequest| {
            action_calls.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(Outcome::ack(Ack::Empty).with_hand_off(
                    HandOff::function(
                        "command-handler",
                        &json!({ "action": request.action.action_id }),
                    )
                    .unwrap(),
                ))
            }
        })
        .lazy("later", move |request: LazyRequest| {
            lazy_seen.lock().unwrap().push(request.payload);
            async { Ok(()) }
        })
        .build();
    World {
        router,
        dedupe,
        sink,
        calls,
        lazy_payloads,
    }
}

fn world(behaviour: MessageBehaviour) -> World {
    world_with(Arc::new(StaticKeys::new(keys(SECRET))), behaviour)
}

fn request(headers: HeaderMap, content_type: &str, body: &str) -> http::Request<Vec<u8>> {
    let mut request = http::Request::builder()
        .method(Method::POST)
        .uri("/slack/events")
        .header(header::CONTENT_TYPE, content_type)
        .body(body.as_bytes().to_vec())
        .unwrap();
    request.headers_mut().extend(headers);
    request
}

fn signed(body: &str) -> http::Request<Vec<u8>> {
    request(sign(SECRET, now(), body), "application/json", body)
}

fn event_body(event_id: &str, team: &str, event: Value) -> String {
    json!({
        "type": "event_callback",
        "team_id": team,
        "api_app_id": "A1",
        "event_id": event_id,
        "event_time": now(),
        "event": event,
    })
    .to_string()
}

fn message(channel: &str, ts: &str) -> Value {
    json!({ "type": "message", "channel": channel, "user": "U1", "text": "hi", "ts": ts })
}

fn command_body(team: &str, text: &str) -> String {
    serde_urlencoded::to_string([
        ("team_id", team),
        ("channel_id", "C1"),
        ("user_id", "U1"),
        ("user_name", "jane"),
        ("command", "/security-ir"),
        ("text", text),
        ("response_url", "https://hooks.slack.com/commands/T/1/x"),
        ("trigger_id", "1.2.3"),
    ])
    .unwrap()
}

fn signed_form(body: &str) -> http::Request<Vec<u8>> {
    request(
        sign(SECRET, now(), body),
        "application/x-www-form-urlencoded",
        body,
    )
}

#[tokio::test]
async fn a_signed_event_reaches_its_listener_once() {
    let world = world(MessageBehaviour::Ack);
    let body = event_body("Ev1", TEAM, message("C1", "1.1"));
    let response = world.router.handle(&signed(&body)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(world.calls.load(Ordering::SeqCst), 1);
    assert_eq!(world.dedupe.len(), 2, "event and content markers");

    // Slack's retry of the same event, and the same message under another event_id.
    let mut retry = signed(&body);
    retry
        .headers_mut()
        .insert(RETRY_NUM_HEADER, "1".parse().unwrap());
    assert_eq!(world.router.handle(&retry).await.status(), StatusCode::OK);
    let twin = event_body("Ev2", TEAM, message("C1", "1.1"));
    assert_eq!(
        world.router.handle(&signed(&twin)).await.status(),
        StatusCode::OK
    );
    assert_eq!(world.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_requests_get_401_and_nothing_else() {
    let world = world(MessageBehaviour::Ack);
    let body = event_body("Ev1", TEAM, message("C1", "1.1"));
    let cases = [
        request(HeaderMap::new(), "application/json", &body),
        request(
            sign("other-secret", now(), &body),
            "application/json",
            &body,
        ),
        request(sign(SECRET, now() - 301, &body), "application/json", &body),
        request(sign(SECRET, now() + 301, &body), "application/json", &body),
        request(
            sign(SECRET, now(), &body),
            "application/json",
            &body.replace("hi", "ho"),
        ),
    ];
    for request in cases {
        let response = world.router.handle(&request).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.body().is_empty());
    }
    assert_eq!(world.calls.load(Ordering::SeqCst), 0);
    assert!(world.dedupe.is_empty());
}

#[tokio::test]
async fn url_verification_is_answered_only_when_signed() {
    let world = world(MessageBehaviour::Ack);
    let body = r#"{"type":"url_verification","challenge":"c-123","token":"x"}"#;
    let unsigned = request(HeaderMap::new(), "application/json", body);
    assert_eq!(
        world.router.handle(&unsigned).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let response = world.router.handle(&signed(body)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = serde_json::from_str(response.body()).unwrap();
    assert_eq!(answer, json!({ "challenge": "c-123" }));
}

#[tokio::test]
async fn the_size_limit_comes_before_the_signature() {
    let world = world(MessageBehaviour::Ack);
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    let unsigned = request(HeaderMap::new(), "application/json", &big);
    assert_eq!(
        world.router.handle(&unsigned).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        world.router.handle(&signed(&big)).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test]
async fn malformed_bodies_get_400_after_the_signature_and_other_methods_405() {
    let world = world(MessageBehaviour::Ack);
    for body in ["{not json", r#"{"type":"event_callback"}"#, "a=b"] {
        assert_eq!(
            world.router.handle(&signed(body)).await.status(),
            StatusCode::BAD_REQUEST,
            "{body}"
        );
    }
    let unsigned = request(HeaderMap::new(), "application/json", "{not json");
    assert_eq!(
        world.router.handle(&unsigned).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let mut get = signed("{}");
    *get.method_mut() = Method::GET;
    assert_eq!(
        world.router.handle(&get).await.status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn a_rotated_secret_is_picked_up_by_one_reload() {
    let keys = Arc::new(RotatingKeys::new("old-secret", "new-secret"));
    let world = world_with(keys.clone(), MessageBehaviour::Ack);
    let body = event_body("Ev1", TEAM, message("C1", "1.1"));
    let with_new = request(sign("new-secret", now(), &body), "application/json", &body);
    assert_eq!(
        world.router.handle(&with_new).await.status(),
        StatusCode::OK
    );
    assert_eq!(keys.reloads.load(Ordering::SeqCst), 1);

    // A stale request never triggers a reload; a forged one tries once and fails.
    let stale = request(
        sign("new-secret", now() - 400, &body),
        "application/json",
        &body,
    );
    assert_eq!(
        world.router.handle(&stale).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(keys.reloads.load(Ordering::SeqCst), 1);
    let forged = request(sign("forged", now(), &body), "application/json", &body);
    assert_eq!(
        world.router.handle(&forged).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(keys.reloads.load(Ordering::SeqCst), 2);
    assert_eq!(world.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn other_workspaces_are_acknowledged_and_ignored() {
    let world = world(MessageBehaviour::Ack);
    let body = event_body("Ev1", "T0OTHER", message("C1", "1.1"));
    let response = world.router.handle(&signed(&body)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().is_empty());
    let response = world
        .router
        .handle(&signed_form(&command_body("T0OTHER", "status")))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().contains("not set up for this workspace"));
    assert_eq!(world.calls.load(Ordering::SeqCst), 0);
    assert!(world.sink.recorded().is_empty());
    assert!(world.dedupe.is_empty());
}

#[tokio::test]
async fn with_an_app_id_requests_for_another_app_or_none_are_acknowledged_and_ignored() {
    let world = world_for_app(
        Arc::new(StaticKeys::new(keys(SECRET))),
        MessageBehaviour::Ack,
        Some("A1"),
    );
    let other = event_body("Ev1", TEAM, message("C1", "1.1")).replace("\"A1\"", "\"A2\"");
    let missing = json!({
        "type": "event_callback", "team_id": TEAM, "event_id": "Ev2",
        "event_time": now(), "event": message("C1", "1.2"),
    })
    .to_string();
    for body in [other, missing] {
        let response = world.router.handle(&signed(&body)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.body().is_empty());
    }
    // A slash command names no app here (command_body has no api_app_id): ignored, silently.
    let response = world
        .router
        .handle(&signed_form(&command_body(TEAM, "status")))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().is_empty(), "{}", response.body());
    assert_eq!(world.calls.load(Ordering::SeqCst), 0);
    assert!(world.sink.recorded().is_empty());
    assert!(world.dedupe.is_empty());
    // url_verification names no app and is still answered; this app's event reaches its listener.
    let challenge = json!({ "type": "url_verification", "challenge": "c1" }).to_string();
    let response = world.router.handle(&signed(&challenge)).await;
    assert!(response.body().contains("c1"), "{}", response.body());
    let ours = event_body("Ev3", TEAM, message("C1", "1.3"));
    assert_eq!(
        world.router.handle(&signed(&ours)).await.status(),
        StatusCode::OK
    );
    assert_eq!(world.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn unknown_event_types_get_200_without_markers() {
    let world = world(MessageBehaviour::Ack);
    let body = event_body(
        "Ev1",
        TEAM,
        json!({ "type": "emoji_changed", "event_ts": "1.1" }),
    );
    assert_eq!(
        world.router.handle(&signed(&body)).await.status(),
        StatusCode::OK
    );
    let envelope = json!({ "type": "brand_new_envelope", "team_id": TEAM }).to_string();
    assert_eq!(
        world.router.handle(&signed(&envelope)).await.status(),
        StatusCode::OK
    );
    assert!(world.dedupe.is_empty());
}

#[tokio::test]
async fn transient_failures_release_the_markers_so_a_retry_runs_again() {
    let world = world(MessageBehaviour::Transient);
    let body = event_body("Ev1", TEAM, message("C1", "1.1"));
    assert_eq!(
        world.router.handle(&signed(&body)).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert!(world.dedupe.is_empty());
    let mut retry = signed(&body);
    retry
        .headers_mut()
        .insert(RETRY_NUM_HEADER, "1".parse().unwrap());
    world.router.handle(&retry).await;
    assert_eq!(world.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn permanent_failures_are_acknowledged() {
    let world = world(MessageBehaviour::Permanent);
    let body = event_body("Ev1", TEAM, message("C1", "1.1"));
    assert_eq!(
        world.router.handle(&signed(&body)).await.status(),
        StatusCode::OK
    );
    assert_eq!(world.dedupe.len(), 2);
}

#[tokio::test]
async fn event_hand_offs_go_to_this_function_and_run_lazily() {
    let world = world(MessageBehaviour::HandOff);
    let body = event_body("Ev1", TEAM, message("C1", "1.1"));
    assert_eq!(
        world.router.handle(&signed(&body)).await.status(),
        StatusCode::OK
    );
    let recorded = world.sink.take();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].target, HandOffTarget::ThisFunction);
    let invocation = LazyInvocation::from_payload(&recorded[0].payload)
        .unwrap()
        .unwrap();
    world.router.run_lazy(invocation).await.unwrap();
    assert_eq!(world.lazy_payloads.lock().unwrap()[0]["ts"], "1.1");

    let unknown: LazyInvocation = serde_json::from_value(json!({
        "slack_router_lazy": { "name": "nope", "payload": {}, "handed_off_at": "2026-01-01T00:00:00Z" }
    }))
    .unwrap();
    assert!(world.router.run_lazy(unknown).await.is_err());
    assert!(world.router.has_lazy("later"));
}

#[tokio::test]
async fn a_failed_event_hand_off_gets_500_and_releases_the_markers() {
    let world = world(MessageBehaviour::HandOff);
    world.sink.set_failing(true);
    let body = event_body("Ev1", TEAM, message("C1", "1.1"));
    assert_eq!(
        world.router.handle(&signed(&body)).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert!(world.dedupe.is_empty());
}

#[tokio::test]
async fn commands_are_acknowledged_and_handed_off() {
    let world = world(MessageBehaviour::Ack);
    let response = world
        .router
        .handle(&signed_form(&command_body(TEAM, "status")))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let ack: Value = serde_json::from_str(response.body()).unwrap();
    assert_eq!(ack["response_type"], "ephemeral");
    assert_eq!(ack["text"], "Working on it... `status`");
    let recorded = world.sink.take();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0].target,
        HandOffTarget::Function("command-handler".into())
    );
    assert_eq!(recorded[0].payload, json!({ "text": "status" }));

    world.sink.set_failing(true);
    let response = world
        .router
        .handle(&signed_form(&command_body(TEAM, "status")))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().contains("Could not start the command."));
    // Commands are never deduplicated: Slack does not retry them.
    assert!(world.dedupe.is_empty());
}

#[tokio::test]
async fn unregistered_commands_and_actions_get_an_empty_200() {
    let world = world(MessageBehaviour::Ack);
    let other = command_body(TEAM, "x").replace("%2Fsecurity-ir", "%2Fother");
    let response = world.router.handle(&signed_form(&other)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().is_empty());
    let payload = json!({
        "type": "block_actions", "team": { "id": TEAM }, "user": { "id": "U1" },
        "actions": [{ "action_id": "someone_elses", "type": "button" }],
    });
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    assert_eq!(
        world.router.handle(&signed_form(&body)).await.status(),
        StatusCode::OK
    );
    assert_eq!(world.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn block_actions_route_by_action_id_prefix() {
    let world = world(MessageBehaviour::Ack);
    let payload = json!({
        "type": "block_actions",
        "team": { "id": TEAM },
        "user": { "id": "U1", "username": "jane" },
        "channel": { "id": "C1" },
        "response_url": "https://hooks.slack.com/actions/1",
        "actions": [{ "action_id": "sirslack_close", "type": "button", "value": "close" }],
    });
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    let response = world.router.handle(&signed_form(&body)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().is_empty());
    assert_eq!(
        world.sink.take()[0].payload,
        json!({ "action": "sirslack_close" })
    );
}

/// Skips events from channel `C_SKIP`; fails on channel `C_DOWN`.
struct ChannelFilter;

impl EventFilter for ChannelFilter {
    fn skip<'a>(
        &'a self,
        event: &'a EventCallback,
    ) -> BoxFuture<'a, Result<Option<&'static str>, ListenerError>> {
        let channel = event.channel().map(str::to_owned);
        Box::pin(async move {
            match channel.as_deref() {
                Some("C_SKIP") => Ok(Some("unlinked_channel")),
                Some("C_DOWN") => Err(ListenerError::Transient("table down".into())),
                _ => Ok(None),
            }
        })
    }
}

#[tokio::test]
async fn filtered_events_cost_no_dedupe_write() {
    let dedupe = Arc::new(MemoryDeduplicator::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let sink = Arc::new(RecordingHandOffSink::new());
    let router = Router::builder(
        Arc::new(StaticKeys::new(keys(SECRET))),
        dedupe.clone(),
        sink.clone(),
    )
    .event_with_filter("message", ChannelFilter, move |_request: EventRequest| {
        seen.fetch_add(1, Ordering::SeqCst);
        async { Ok(Outcome::ack(Ack::Empty)) }
    })
    .build();
    let skipped = event_body("Ev1", TEAM, message("C_SKIP", "1.1"));
    assert_eq!(
        router.handle(&signed(&skipped)).await.status(),
        StatusCode::OK
    );
    assert!(dedupe.is_empty());
    // The filter's table is down: the event is deferred to a lazy run, Slack gets its 200.
    let down = event_body("Ev2", TEAM, message("C_DOWN", "1.2"));
    assert_eq!(router.handle(&signed(&down)).await.status(), StatusCode::OK);
    assert!(dedupe.is_empty());
    let deferred = sink.take();
    assert_eq!(deferred.len(), 1);
    assert_eq!(
        deferred[0].payload[LAZY_INVOCATION_KEY]["name"],
        DEFERRED_EVENT_LAZY
    );
    let passed = event_body("Ev3", TEAM, message("C_CASE", "1.3"));
    assert_eq!(
        router.handle(&signed(&passed)).await.status(),
        StatusCode::OK
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(dedupe.len(), 2);
}

#[tokio::test]
async fn a_redelivery_never_keeps_a_content_marker_it_took() {
    let world = world(MessageBehaviour::Ack);
    // The first delivery's content marker is gone (released after a failure elsewhere), its
    // event marker is done: the redelivery is a duplicate and leaves the content free.
    world
        .dedupe
        .claim(DedupeScope::EventId, "Ev1", "first")
        .await
        .unwrap();
    assert!(
        world
            .dedupe
            .complete(DedupeScope::EventId, "Ev1", "first")
            .await
            .unwrap()
    );
    let body = event_body("Ev1", TEAM, message("C1", "1.1"));
    assert_eq!(
        world.router.handle(&signed(&body)).await.status(),
        StatusCode::OK
    );
    assert_eq!(world.calls.load(Ordering::SeqCst), 0);
    assert_eq!(world.dedupe.len(), 1);
}

#[tokio::test]
async fn a_redelivery_of_work_still_claimed_is_asked_again_and_a_stale_claim_is_taken_over() {
    let dedupe = Arc::new(MemoryDeduplicator::with_lease(Duration::from_millis(30)));
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let router = Router::builder(
        Arc::new(StaticKeys::new(keys(SECRET))),
        dedupe.clone(),
        Arc::new(RecordingHandOffSink::new()),
    )
    .event("message", move |_request: EventRequest| {
        seen.fetch_add(1, Ordering::SeqCst);
        async { Ok(Outcome::ack(Ack::Empty)) }
    })
    .build();
    // The first delivery claimed both markers and its process died before finishing.
    dedupe
        .claim(DedupeScope::EventId, "Ev1", "dead-delivery")
        .await
        .unwrap();
    dedupe
        .claim(DedupeScope::Content, "message:C1:1.1", "dead-delivery")
        .await
        .unwrap();
    let body = event_body("Ev1", TEAM, message("C1", "1.1"));
    let early = router.handle(&signed(&body)).await.status();
    assert_eq!(
        early,
        StatusCode::INTERNAL_SERVER_ERROR,
        "held: Slack retries later"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let deadline = Instant::now() + Duration::from_secs(5);
    let mut status = early;
    while status != StatusCode::OK && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
        status = router.handle(&signed(&body)).await.status();
    }
    assert_eq!(status, StatusCode::OK, "the stale claim is taken over");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the work is done once");
    // Done now: a further retry is a duplicate.
    assert_eq!(router.handle(&signed(&body)).await.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A dedupe store that fails while told to, over a working one.
struct FlakyDedupe {
    inner: MemoryDeduplicator,
    failing: std::sync::atomic::AtomicBool,
}

impl Deduplicator for FlakyDedupe {
    fn claim<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Claim, DedupeError>> {
        if self.failing.load(Ordering::SeqCst) {
            return Box::pin(async { Err(DedupeError("throttled".into())) });
        }
        self.inner.claim(scope, key, owner)
    }

    fn complete<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<bool, DedupeError>> {
        self.inner.complete(scope, key, owner)
    }

    fn release<'a>(
        &'a self,
        scope: DedupeScope,
        key: &'a str,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<bool, DedupeError>> {
        self.inner.release(scope, key, owner)
    }
}

/// The dedupe store is down on the ack path: Slack gets its 200 and the verified event is
/// handed to a lazy run, which fails retryably (Lambda retries it) while the store is still
/// down, runs the listener once when it is back, and finds a repeated run a duplicate.
#[tokio::test]
async fn an_event_the_dedupe_store_cannot_take_is_deferred_and_handled_once_later() {
    let dedupe = Arc::new(FlakyDedupe {
        inner: MemoryDeduplicator::new(),
        failing: std::sync::atomic::AtomicBool::new(true),
    });
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let sink = Arc::new(RecordingHandOffSink::new());
    let router = Router::builder(
        Arc::new(StaticKeys::new(keys(SECRET))),
        dedupe.clone(),
        sink.clone(),
    )
    .event("message", move |_request: EventRequest| {
        seen.fetch_add(1, Ordering::SeqCst);
        async { Ok(Outcome::ack(Ack::Empty)) }
    })
    .build();
    let body = event_body("EvDown", TEAM, message("C_CASE", "2.1"));
    let response = router.handle(&signed(&body)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "nothing ran on the ack path"
    );
    let deferred = sink.take();
    assert_eq!(deferred.len(), 1);
    assert_eq!(deferred[0].target, HandOffTarget::ThisFunction);
    let invocation = || {
        LazyInvocation::from_payload(&deferred[0].payload)
            .expect("a lazy invocation")
            .expect("readable")
    };

    // Still down: the lazy run fails retryably.
    let still_down = router.run_lazy(invocation()).await;
    assert!(
        matches!(&still_down, Err(error) if error.retryable),
        "{still_down:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // Back: the listener runs once; a repeated run (a duplicate delivery) is a duplicate.
    dedupe.failing.store(false, Ordering::SeqCst);
    router.run_lazy(invocation()).await.expect("handled");
    router.run_lazy(invocation()).await.expect("a duplicate");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // And Slack's own redelivery of the same event is a duplicate too.
    let again = router.handle(&signed(&body)).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------------------
// Interactions: shortcuts, modals, options.

const FAILURE_TEXT: &str = "Sorry, that did not work. Please try again in a moment.";

struct InteractionWorld {
    router: Router,
    dedupe: Arc<MemoryDeduplicator>,
    sink: Arc<RecordingHandOffSink>,
    /// What each listener saw, one line per call.
    seen: Arc<Mutex<Vec<String>>>,
    /// Runs of `on_hand_off_failure` work.
    hand_off_failures: Arc<AtomicUsize>,
}

fn interaction_world(app_id: Option<&str>, view_failure_text: Option<&str>) -> InteractionWorld {
    let dedupe = Arc::new(MemoryDeduplicator::new());
    let sink = Arc::new(RecordingHandOffSink::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hand_off_failures = Arc::new(AtomicUsize::new(0));
    let (on_shortcut, on_message, on_submit, on_close, on_options) = (
        Arc::clone(&seen),
        Arc::clone(&seen),
        Arc::clone(&seen),
        Arc::clone(&seen),
        Arc::clone(&seen),
    );
    let on_broken = Arc::clone(&seen);
    let failures = Arc::clone(&hand_off_failures);
    let mut builder =
        Router::builder(
            Arc::new(StaticKeys::new(keys(SECRET))),
            dedupe.clone(),
            sink.clone(),
        )
        .app_id(app_id.map(str::to_owned))
        .shortcut("declare_case", move |request: ShortcutRequest| {
            let shortcut = request.shortcut;
            on_shortcut.lock().unwrap().push(format!(
                "shortcut {} {} {}",
                shortcut.callback_id, shortcut.trigger_id, shortcut.user_id
            ));
            async move {
                Ok(Outcome::ack(Ack::Empty).with_hand_off(HandOff::function(
                "command-handler",
                &json!({ "shortcut": shortcut.callback_id, "trigger_id": shortcut.trigger_id }),
            ).expect("a hand-off")))
            }
        })
        .shortcut("broken", move |_request: ShortcutRequest| {
            on_broken.lock().unwrap().push("broken".into());
            async { Err(ListenerError::Permanent("no".into())) }
        })
        .message_shortcut("send_to_case", move |request: MessageShortcutRequest| {
            let shortcut = request.shortcut;
            on_message.lock().unwrap().push(format!(
                "message_action {} {} {}",
                shortcut.callback_id, shortcut.channel_id, shortcut.message.ts
            ));
            let failures = Arc::clone(&failures);
            async move {
                Ok(Outcome::ack(Ack::Empty)
                    .with_hand_off(
                        HandOff::lazy("later", &json!({ "ts": shortcut.message.ts }))
                            .expect("a hand-off"),
                    )
                    .on_hand_off_failure(async move {
                        failures.fetch_add(1, Ordering::SeqCst);
                    }))
            }
        })
        .view_submission("declare_case", move |request: ViewSubmissionRequest| {
            let view = request.submission.view;
            let title = view.state.value("title", "title").map(str::to_owned);
            on_submit.lock().unwrap().push(format!(
                "view_submission {}",
                title.as_deref().unwrap_or("")
            ));
            async move {
                Ok(match title.as_deref() {
                    None => Outcome::ack(Ack::view_errors([("title", "Enter a title")])),
                    Some("clear") => Outcome::ack(Ack::view_clear()),
                    Some("update") => Outcome::ack(Ack::view_update(json!({ "type": "modal" }))),
                    Some("push") => Outcome::ack(Ack::view_push(json!({ "type": "modal" }))),
                    Some("fail") => return Err(ListenerError::Transient("SIR down".into())),
                    Some(title) => Outcome::ack(Ack::Empty).with_hand_off(
                        HandOff::function(
                            "command-handler",
                            &json!({ "declare": title, "metadata": view.private_metadata }),
                        )
                        .expect("a hand-off"),
                    ),
                })
            }
        })
        .view_submission("confirm", |_request: ViewSubmissionRequest| async {
            Err(ListenerError::Permanent("no".into()))
        })
        .view_closed("declare_case", move |request: ViewClosedRequest| {
            on_close.lock().unwrap().push(format!(
                "view_closed {} {}",
                request.closed.view.callback_id, request.closed.is_cleared
            ));
            async { Ok(Outcome::ack(Ack::Empty)) }
        })
        .options("case_picker", move |request: OptionsRequest| {
            let typed = request.suggestion.value;
            on_options.lock().unwrap().push(format!("options {typed}"));
            async move {
                match typed.as_str() {
                    "fail" => Err(ListenerError::Transient("table down".into())),
                    "grouped" => Ok(Outcome::ack(Ack::option_groups([OptionGroup::new(
                        "Open cases",
                        vec![SelectOption::new("Case 123: Phishing", "123")],
                    )]))),
                    _ => Ok(Outcome::ack(Ack::options((0..150).map(|n| {
                        SelectOption::new(format!("Case {n}: {typed}"), n.to_string())
                    })))),
                }
            }
        });
    if let Some(text) = view_failure_text {
        builder = builder.view_submission_failure_text(text);
    }
    InteractionWorld {
        router: builder
            .lazy("later", |_request: LazyRequest| async { Ok(()) })
            .build(),
        dedupe,
        sink,
        seen,
        hand_off_failures,
    }
}

impl InteractionWorld {
    async fn send(&self, payload: &Value) -> Response<String> {
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).expect("a form");
        self.router.handle(&signed_form(&body)).await
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn body_json(response: &Response<String>) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    serde_json::from_str(response.body()).expect("a JSON ack")
}

fn assert_empty_200(response: &Response<String>) {
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().is_empty(), "{}", response.body());
}

fn global_shortcut(callback_id: &str) -> Value {
    json!({
        "type": "shortcut", "team": { "id": TEAM }, "user": { "id": "U1", "username": "jane" },
        "callback_id": callback_id, "trigger_id": "1.2.3", "token": "legacy",
    })
}

fn message_shortcut(callback_id: &str) -> Value {
    json!({
        "type": "message_action", "team": { "id": TEAM }, "user": { "id": "U1" },
        "channel": { "id": "C9" }, "callback_id": callback_id, "trigger_id": "1.2.4",
        "response_url": "https://hooks.slack.com/app/T/1/x",
        "message": { "type": "message", "user": "U2", "ts": "5.5", "text": "look" },
    })
}

/// A submission of modal `callback_id` whose `title` input holds `title` (`None`: left empty).
fn view_submission(callback_id: &str, title: Option<&str>) -> Value {
    json!({
        "type": "view_submission", "team": { "id": TEAM }, "user": { "id": "U1" },
        "api_app_id": "A1", "trigger_id": "1.2.5",
        "view": {
            "id": "V1", "app_id": "A1", "callback_id": callback_id, "private_metadata": "m",
            "blocks": [
                { "type": "section", "block_id": "about" },
                { "type": "input", "block_id": "title" },
                { "type": "input", "block_id": "accounts" },
            ],
            "state": { "values": {
                "title": { "title": { "type": "plain_text_input", "value": title } },
                "accounts": { "accounts": { "type": "plain_text_input", "value": null } },
            } },
        },
    })
}

fn view_closed(callback_id: &str) -> Value {
    json!({
        "type": "view_closed", "team": { "id": TEAM }, "user": { "id": "U1" },
        "api_app_id": "A1", "is_cleared": true,
        "view": { "id": "V1", "app_id": "A1", "callback_id": callback_id },
    })
}

fn block_suggestion(action_id: &str, typed: &str) -> Value {
    json!({
        "type": "block_suggestion", "team": { "id": TEAM }, "user": { "id": "U1" },
        "api_app_id": "A1", "action_id": action_id, "block_id": "case", "value": typed,
        "view": { "id": "V1", "app_id": "A1", "callback_id": "send_to_case" },
    })
}

#[tokio::test]
async fn shortcuts_reach_their_listener_and_hand_off_without_dedupe() {
    let world = interaction_world(None, None);
    for _ in 0..2 {
        assert_empty_200(&world.send(&global_shortcut("declare_case")).await);
    }
    let recorded = world.sink.take();
    assert_eq!(
        recorded.len(),
        2,
        "not deduplicated: Slack never retries interactions"
    );
    assert_eq!(
        recorded[0].target,
        HandOffTarget::Function("command-handler".into())
    );
    assert_eq!(
        recorded[0].payload,
        json!({ "shortcut": "declare_case", "trigger_id": "1.2.3" })
    );

    assert_empty_200(&world.send(&message_shortcut("send_to_case")).await);
    let recorded = world.sink.take();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].target, HandOffTarget::ThisFunction);
    assert_eq!(recorded[0].payload[LAZY_INVOCATION_KEY]["name"], "later");
    assert_eq!(
        recorded[0].payload[LAZY_INVOCATION_KEY]["payload"],
        json!({ "ts": "5.5" })
    );
    assert_eq!(
        world.seen(),
        [
            "shortcut declare_case 1.2.3 U1",
            "shortcut declare_case 1.2.3 U1",
            "message_action send_to_case C9 5.5",
        ]
    );
    assert!(world.dedupe.is_empty());

    // A listener that fails: still an empty 200 (Slack shows nothing of a shortcut's ack).
    assert_empty_200(&world.send(&global_shortcut("broken")).await);
    assert_eq!(world.seen().last().map(String::as_str), Some("broken"));
}

#[tokio::test]
async fn a_failed_shortcut_hand_off_runs_the_failure_work_and_acks_empty() {
    let world = interaction_world(None, None);
    world.sink.set_failing(true);
    assert_empty_200(&world.send(&message_shortcut("send_to_case")).await);
    assert_eq!(world.hand_off_failures.load(Ordering::SeqCst), 1);
    assert_empty_200(&world.send(&global_shortcut("declare_case")).await);
    assert_eq!(world.seen().len(), 2);
}

#[tokio::test]
async fn view_submissions_answer_with_each_response_action() {
    let world = interaction_world(None, None);
    let cases = [
        (
            None,
            json!({ "response_action": "errors", "errors": { "title": "Enter a title" } }),
        ),
        (Some("clear"), json!({ "response_action": "clear" })),
        (
            Some("update"),
            json!({ "response_action": "update", "view": { "type": "modal" } }),
        ),
        (
            Some("push"),
            json!({ "response_action": "push", "view": { "type": "modal" } }),
        ),
    ];
    for (title, expected) in cases {
        let response = world.send(&view_submission("declare_case", title)).await;
        assert_eq!(body_json(&response), expected, "{title:?}");
    }
    assert!(world.sink.recorded().is_empty());

    // Accepted: an empty 200 closes the modal, and the work is handed off.
    let response = world
        .send(&view_submission("declare_case", Some("Phishing wave")))
        .await;
    assert_empty_200(&response);
    let recorded = world.sink.take();
    assert_eq!(
        recorded[0].payload,
        json!({ "declare": "Phishing wave", "metadata": "m" })
    );
    assert_eq!(world.seen().len(), 5);
    assert!(world.dedupe.is_empty());
}

#[tokio::test]
async fn a_failing_view_submission_keeps_the_modal_and_its_input() {
    let world = interaction_world(None, None);
    // The listener fails: the generic text under the first input block of the view (in the
    // view's order: `title` comes before `accounts`).
    let response = world
        .send(&view_submission("declare_case", Some("fail")))
        .await;
    assert_eq!(
        body_json(&response),
        json!({ "response_action": "errors", "errors": { "title": FAILURE_TEXT } })
    );
    // The hand-off cannot be sent: the same answer, never the ephemeral message of commands.
    world.sink.set_failing(true);
    let response = world
        .send(&view_submission("declare_case", Some("Phishing wave")))
        .await;
    assert_eq!(
        body_json(&response),
        json!({ "response_action": "errors", "errors": { "title": FAILURE_TEXT } })
    );

    // A configured text; a modal without input blocks gets a view pushed on top of it.
    let world = interaction_world(None, Some("SIR is unavailable; submit again shortly."));
    let response = world
        .send(&view_submission("declare_case", Some("fail")))
        .await;
    assert_eq!(
        body_json(&response),
        json!({ "response_action": "errors",
                "errors": { "title": "SIR is unavailable; submit again shortly." } })
    );
    let mut no_inputs = view_submission("confirm", None);
    no_inputs["view"]["blocks"] = json!([{ "type": "section", "block_id": "about" }]);
    let response = world.send(&no_inputs).await;
    assert_eq!(
        body_json(&response),
        json!({ "response_action": "push", "view": {
            "type": "modal",
            "title": { "type": "plain_text", "text": "Something went wrong" },
            "close": { "type": "plain_text", "text": "Back" },
            "blocks": [{ "type": "section", "text": {
                "type": "plain_text", "text": "SIR is unavailable; submit again shortly." } }],
        } })
    );
}

#[tokio::test]
async fn view_closed_reaches_its_listener() {
    let world = interaction_world(None, None);
    assert_empty_200(&world.send(&view_closed("declare_case")).await);
    assert_eq!(world.seen(), ["view_closed declare_case true"]);
}

#[tokio::test]
async fn options_are_answered_within_slacks_limits() {
    let world = interaction_world(None, None);
    let response = world.send(&block_suggestion("case_picker", "phish")).await;
    let body = body_json(&response);
    let options = body["options"].as_array().expect("options");
    assert_eq!(options.len(), MAX_OPTIONS, "150 offered, 100 sent");
    assert_eq!(
        options[0],
        json!({ "text": { "type": "plain_text", "text": "Case 0: phish" }, "value": "0" })
    );
    let response = world
        .send(&block_suggestion("case_picker", "grouped"))
        .await;
    assert_eq!(
        body_json(&response),
        json!({ "option_groups": [{
            "label": { "type": "plain_text", "text": "Open cases" },
            "options": [{ "text": { "type": "plain_text", "text": "Case 123: Phishing" },
                          "value": "123" }],
        }] })
    );
    // The listener fails: no options, rather than an error in the select.
    let response = world.send(&block_suggestion("case_picker", "fail")).await;
    assert_eq!(body_json(&response), json!({ "options": [] }));
    assert_eq!(
        world.seen(),
        ["options phish", "options grouped", "options fail"]
    );
}

#[tokio::test]
async fn unregistered_interactions_get_an_empty_200() {
    let world = interaction_world(None, None);
    let payloads = [
        global_shortcut("someone_elses"),
        message_shortcut("someone_elses"),
        view_submission("someone_elses", Some("x")),
        view_closed("someone_elses"),
        block_suggestion("someone_elses", "x"),
        // Registered as a message shortcut, sent as a global one: not the same thing.
        global_shortcut("send_to_case"),
        json!({ "type": "dialog_submission", "team": { "id": TEAM } }),
    ];
    for payload in &payloads {
        assert_empty_200(&world.send(payload).await);
    }
    assert!(world.seen().is_empty());
    assert!(world.sink.recorded().is_empty());
    assert!(world.dedupe.is_empty());
}

#[tokio::test]
async fn interactions_for_another_workspace_or_app_are_ignored() {
    let world = interaction_world(Some("A1"), None);
    let ours = [
        global_shortcut("declare_case"),
        message_shortcut("send_to_case"),
        view_submission("declare_case", Some("clear")),
        view_closed("declare_case"),
        block_suggestion("case_picker", "x"),
    ];
    for payload in &ours {
        let mut other_team = payload.clone();
        other_team["team"]["id"] = json!("T0OTHER");
        assert_empty_200(&world.send(&other_team).await);
        let mut other_app = payload.clone();
        other_app["api_app_id"] = json!("A2");
        if let Some(view) = other_app.get_mut("view") {
            view["app_id"] = json!("A2");
        }
        assert_empty_200(&world.send(&other_app).await);
    }
    assert!(world.seen().is_empty());
    // Naming no app: a view payload is another app's; a shortcut (documented without
    // api_app_id) is this one's.
    let mut anonymous_view = view_closed("declare_case");
    anonymous_view
        .as_object_mut()
        .expect("object")
        .remove("api_app_id");
    anonymous_view["view"]
        .as_object_mut()
        .expect("object")
        .remove("app_id");
    assert_empty_200(&world.send(&anonymous_view).await);
    assert!(world.seen().is_empty());
    // The view's app_id stands in for the payload's.
    let mut by_view = view_closed("declare_case");
    by_view
        .as_object_mut()
        .expect("object")
        .remove("api_app_id");
    assert_empty_200(&world.send(&by_view).await);
    for payload in &ours {
        world.send(payload).await;
    }
    assert_eq!(world.seen().len(), 6, "{:?}", world.seen());
}

#[tokio::test]
async fn malformed_interactions_get_400_and_reach_no_listener() {
    let world = interaction_world(None, None);
    let mut no_trigger = global_shortcut("declare_case");
    no_trigger
        .as_object_mut()
        .expect("object")
        .remove("trigger_id");
    let mut no_response_url = message_shortcut("send_to_case");
    no_response_url
        .as_object_mut()
        .expect("object")
        .remove("response_url");
    let mut no_view = view_submission("declare_case", Some("x"));
    no_view.as_object_mut().expect("object").remove("view");
    let mut no_view_id = view_closed("declare_case");
    no_view_id["view"]
        .as_object_mut()
        .expect("object")
        .remove("id");
    let mut no_action = block_suggestion("case_picker", "x");
    no_action
        .as_object_mut()
        .expect("object")
        .remove("action_id");
    let mut no_user = global_shortcut("declare_case");
    no_user.as_object_mut().expect("object").remove("user");
    for payload in [
        no_trigger,
        no_response_url,
        no_view,
        no_view_id,
        no_action,
        no_user,
    ] {
        let response = world.send(&payload).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{payload}");
    }
    let garbled = serde_urlencoded::to_string([("payload", "{\"type\":")]).expect("a form");
    assert_eq!(
        world.router.handle(&signed_form(&garbled)).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert!(world.seen().is_empty());
}
