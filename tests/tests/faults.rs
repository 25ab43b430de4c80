//! Faults through the full wiring. Each test names the fault, the end state it expects, and
//! checks that end state by counting what the stand-ins hold: every Slack message exactly once
//! in SIR, every SIR comment exactly once in Slack, in the order written, nothing echoed back,
//! nothing parked in a dead-letter queue.
//!
//! Faults come from the stand-ins (Slack 429 and 5xx, SIR throttling), the harness's AWS
//! fault layer (a DynamoDB write or an EventBridge entry failing for one function), its
//! function crashes (the handler future dropped where it is, as a dead process), API
//! Gateway's faults (a 500, an answer held past Slack's 3 seconds) and the signing secret.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sir_standin::{AttachmentStatus, Fault, FaultKind};
use sirslack_acceptance::{OpenCase, comments_containing, open_case, run, shown, world_with};
use sirslack_local_run::cast::{ALICE, AWS_RESPONDER, BOB, CAROL};
use sirslack_local_run::{
    AwsFault, AwsFaultEffect, CaseRequest, CrashPoint, Function, GatewayFault, InvocationOutcome,
    SlackDelivery, Trigger, World, WorldConfig,
};
use slack_standin::signing::{EventCallback, SignedRequest, SlackSigner, events};

/// Longer than two schedule periods: a late duplicate or echo would have shown.
const QUIET: Duration = Duration::from_secs(5);
/// How long traffic may take to cross while a fault is being ridden out (redeliveries, Slack's
/// retries, Lambda's async retries, a crashed worker's case lease running out).
const FAULT_WAIT: Duration = Duration::from_secs(120);
/// Every function, for the dead-letter check.
const FUNCTIONS: [Function; 4] = [
    Function::Poller,
    Function::SlackClient,
    Function::EventsHandler,
    Function::CommandHandler,
];

/// The test configuration, with the Slack client's redelivery backoff scaled down as every
/// other AWS timing of the local world is (AWS: 60 s doubling to 600 s).
fn fault_config() -> WorldConfig {
    WorldConfig::for_tests()
        .with_env(Function::SlackClient, "REDELIVERY_FIRST_DELAY_SECONDS", "1")
        .with_env(Function::SlackClient, "REDELIVERY_MAX_DELAY_SECONDS", "2")
}

/// A world with the fault configuration, a case with its channel, and nothing in flight.
async fn case_world(config: WorldConfig) -> (World, OpenCase) {
    let world = world_with(config).await;
    let case = open_case(&world).await;
    settle(&world).await;
    (world, case)
}

/// One reconcile more, then nothing in flight for [`QUIET`].
async fn settle(world: &World) {
    world.tick().await;
    world
        .wait_until_quiet(QUIET, FAULT_WAIT)
        .await
        .expect("the world settles");
}

/// Nothing ended in a dead-letter queue: every failure was ridden out, none given up on.
async fn assert_no_dead_letters(world: &World) {
    for function in FUNCTIONS {
        let parked = world
            .dead_letters(function)
            .await
            .expect("the DLQ is readable");
        assert!(parked.is_empty(), "{function:?} dead letters: {parked:?}");
    }
}

/// Every message in a channel showing `needle`, the people's and the app's.
fn channel_messages_showing(world: &World, channel_id: &str, needle: &str) -> usize {
    world
        .slack()
        .messages(channel_id)
        .iter()
        .filter(|message| shown(message).contains(needle))
        .count()
}

/// Where each needle first shows in `haystack` (oldest first), `None` when it does not.
fn positions(haystack: &[String], needles: &[String]) -> Vec<Option<usize>> {
    needles
        .iter()
        .map(|needle| {
            haystack
                .iter()
                .position(|item| item.contains(needle.as_str()))
        })
        .collect()
}

fn assert_in_order(what: &str, found: &[Option<usize>]) {
    let found: Vec<usize> = found
        .iter()
        .map(|position| position.unwrap_or_else(|| panic!("{what}: an item is missing")))
        .collect();
    assert!(
        found.windows(2).all(|pair| pair[0] < pair[1]),
        "{what} out of order: positions {found:?}"
    );
}

/// Which per-case order a fault test holds the integration to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Both directions in the order written.
    BothWays,
    /// SIR comments reach Slack in order (the Slack client applies a case's events by their
    /// sequence, whatever happens), but Slack messages may reach SIR out of order: a message
    /// whose copy fails on the ack path (SIR throttling, a slow Slack lookup) is handed to a
    /// lazy invocation, and the next messages, copied on their own ack paths, overtake it.
    SirToSlackOnly,
}

/// Slack messages and SIR comments sent both ways while a fault is active, each with a tag no
/// other text contains.
struct Traffic {
    /// What people write in the channel.
    slack: Vec<String>,
    /// What the responder writes in SIR.
    sir: Vec<String>,
}

impl Traffic {
    fn new(tag: &str, slack_messages: usize, sir_comments: usize) -> Self {
        Self {
            slack: (1..=slack_messages)
                .map(|index| format!("{tag}-S{index:02}: finding number {index} from Slack"))
                .collect(),
            sir: (1..=sir_comments)
                .map(|index| format!("{tag}-R{index:02}: responder update number {index}"))
                .collect(),
        }
    }

    /// Both directions at once, interleaved.
    fn send(&self, world: &World, case: &OpenCase) {
        for index in 0..self.slack.len().max(self.sir.len()) {
            if let Some(text) = self.slack.get(index) {
                let person = if index % 2 == 0 { &ALICE } else { &BOB };
                world
                    .post_message(&case.channel.id, person.slack_id, text)
                    .expect("Slack takes the message");
            }
            if let Some(text) = self.sir.get(index) {
                world
                    .sir()
                    .add_comment(&case.case_id, text.as_str(), AWS_RESPONDER)
                    .expect("SIR takes the comment");
            }
        }
    }

    fn delivered(&self, world: &World, case: &OpenCase) -> bool {
        self.slack
            .iter()
            .all(|text| !comments_containing(world, &case.case_id, text).is_empty())
            && self
                .sir
                .iter()
                .all(|text| channel_messages_showing(world, &case.channel.id, text) > 0)
    }

    /// Waits until everything crossed, then until the world settles (late duplicates show).
    async fn wait_delivered(&self, world: &World, case: &OpenCase) {
        world
            .wait_until("the traffic to cross both ways", FAULT_WAIT, |world| {
                self.delivered(world, case)
            })
            .await
            .expect("nothing is lost");
        settle(world).await;
    }

    /// The end state: each message and comment exactly once on each side, in `order`,
    /// nothing echoed, nothing dead-lettered.
    async fn assert_exactly_once(&self, world: &World, case: &OpenCase, order: Order) {
        let comments: Vec<String> = world
            .sir()
            .comments(&case.case_id)
            .into_iter()
            .map(|comment| comment.body)
            .collect();
        let messages: Vec<String> = world
            .slack()
            .messages(&case.channel.id)
            .iter()
            .map(shown)
            .collect();
        let count = |haystack: &[String], needle: &str| {
            haystack.iter().filter(|item| item.contains(needle)).count()
        };
        for text in &self.slack {
            assert_eq!(count(&comments, text), 1, "SIR comments copying `{text}`");
            assert_eq!(
                count(&messages, text),
                1,
                "`{text}` is not echoed into Slack"
            );
        }
        for text in &self.sir {
            assert_eq!(count(&messages, text), 1, "Slack messages copying `{text}`");
            assert_eq!(
                count(&comments, text),
                1,
                "`{text}` is not copied back to SIR"
            );
        }
        if order == Order::BothWays {
            assert_in_order("Slack messages in SIR", &positions(&comments, &self.slack));
        }
        assert_in_order("SIR comments in Slack", &positions(&messages, &self.sir));
        assert_no_dead_letters(world).await;
    }
}

/// The deliveries of the `message` event with this `ts`, in the order they were made.
fn deliveries_of_message(world: &World, ts: &str) -> Vec<SlackDelivery> {
    let mut deliveries: Vec<SlackDelivery> = world
        .slack_deliveries()
        .into_iter()
        .filter(|delivery| {
            delivery.event_type == "message" && delivery.event_ts.as_deref() == Some(ts)
        })
        .collect();
    deliveries.sort_by_key(|delivery| delivery.attempt);
    deliveries
}

/// An Events API callback as Slack sends it to this app (its app ID, its bot user).
fn callback(world: &World, event: serde_json::Value) -> EventCallback {
    EventCallback::new(&world.team_id(), event)
        .with_api_app_id(&world.slack().config().app_id)
        .with_authorized_user(&world.slack().bot_user_id())
}

/// A Slack-shaped `ts` no real message has (hand-made events).
fn made_up_ts(sequence: u32) -> String {
    format!("{}.{:06}", unix_now(), 900_000 + sequence)
}

fn unix_now() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(now.as_secs()).expect("seconds fit")
}

// ---- Slack: 429 storms and 5xx bursts ---------------------------------------------------------

/// Fault: Slack answers the next 8 `chat.postMessage` calls with 429 and `Retry-After: 1`, while
/// the channel's own 1 message/s limit is on, and traffic flows both ways.
/// Expected: every SIR comment reaches the channel once, in order; every Slack message reaches
/// SIR once; each retry after a 429 comes no sooner than `Retry-After` said.
#[test]
fn a_429_storm_on_posts_is_waited_out_and_every_comment_arrives_once_in_order() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        world.slack().set_channel_rate_limit(true);
        let posts_before = world.slack().calls_to("chat.postMessage").len();

        world
            .slack()
            .inject_rate_limits(Some("chat.postMessage"), 8, 1);
        let traffic = Traffic::new("STORM", 4, 6);
        traffic.send(&world, &case);
        traffic.wait_delivered(&world, &case).await;

        traffic
            .assert_exactly_once(&world, &case, Order::BothWays)
            .await;
        let posts = world.slack().calls_to("chat.postMessage");
        let posts = &posts[posts_before..];
        let limited = posts.iter().filter(|call| call.status == 429).count();
        assert!(limited >= 8, "the storm was answered: {limited} 429s");
        for (index, call) in posts.iter().enumerate() {
            if call.status != 429 {
                continue;
            }
            let channel = &call.params["channel"];
            let next = posts[index + 1..]
                .iter()
                .find(|later| &later.params["channel"] == channel)
                .expect("a 429 is followed by a retry");
            let waited = next.received_at.duration_since(call.received_at);
            assert!(
                waited >= Duration::from_secs(1),
                "retried {waited:?} after a 429 with Retry-After: 1"
            );
        }
    });
}

/// Fault: every Slack Web API method answers 429 (`Retry-After: 1`) for the next 12 calls while
/// a new case's channel is being set up (create, invite, topic, initial message...).
/// Expected: one channel, the initial message once, every watcher and the response team in it,
/// `Slack channel created` once in SIR and one join note per person.
#[test]
fn a_429_storm_on_every_method_during_channel_setup_makes_one_complete_channel() {
    run(async {
        let world = world_with(fault_config()).await;
        world.slack().inject_rate_limits(None, 12, 1);
        let case_id = world
            .create_case(&CaseRequest::default())
            .await
            .expect("CreateCase");
        let channel = world
            .wait_for_case_channel(&case_id, FAULT_WAIT)
            .await
            .expect("the channel is created despite the storm");
        let everyone_in = |world: &World| {
            world.slack().channel(&channel.id).is_some_and(|channel| {
                [ALICE.slack_id, BOB.slack_id, CAROL.slack_id]
                    .iter()
                    .all(|person| channel.members.iter().any(|member| member == person))
            })
        };
        world
            .wait_until(
                "the watchers and the team in the channel",
                FAULT_WAIT,
                everyone_in,
            )
            .await
            .expect("everyone is invited");
        world
            .wait_until(
                "the initial message and the SIR notes",
                FAULT_WAIT,
                |world| {
                    channel_messages_showing(
                        world,
                        &channel.id,
                        "New AWS Security Incident Response case",
                    ) > 0
                        && comments_containing(world, &case_id, "joined the Slack channel").len()
                            == 3
                },
            )
            .await
            .expect("the setup completes");
        settle(&world).await;

        let limited = world
            .slack()
            .calls()
            .iter()
            .filter(|call| call.status == 429)
            .count();
        assert!(limited >= 12, "the storm was answered: {limited} 429s");
        let prefix = World::channel_name_for(&case_id);
        let channels: Vec<String> = world
            .slack()
            .channels()
            .into_iter()
            .map(|channel| channel.name)
            .filter(|name| name.starts_with(&prefix))
            .collect();
        assert_eq!(
            channels,
            vec![prefix.clone()],
            "one channel, under its own name"
        );
        assert_eq!(
            channel_messages_showing(
                &world,
                &channel.id,
                "New AWS Security Incident Response case"
            ),
            1
        );
        assert_eq!(
            comments_containing(&world, &case_id, "Slack channel created").len(),
            1
        );
        for person in [&ALICE, &BOB, &CAROL] {
            let note = format!(
                "{} (@{}, Slack ID {}) joined the Slack channel",
                person.real_name, person.handle, person.slack_id
            );
            assert_eq!(
                comments_containing(&world, &case_id, &note).len(),
                1,
                "{note}"
            );
        }
        assert_no_dead_letters(&world).await;
    });
}

/// Fault: `chat.postMessage` answers 503 three times, then every Web API method answers 500 six
/// times: longer than one call's retries (4 attempts), so events go back to the queue.
/// Expected: everything crosses once; SIR comments reach Slack in order (Slack messages whose
/// author lookup failed on the ack path may reach SIR late, see [`Order::SirToSlackOnly`]).
#[test]
fn slack_5xx_bursts_are_retried_and_nothing_is_posted_twice() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        let errors_before = world
            .slack()
            .calls()
            .iter()
            .filter(|call| call.status >= 500)
            .count();

        world
            .slack()
            .inject_server_errors(Some("chat.postMessage"), 503, 3);
        world.slack().inject_server_errors(None, 500, 6);
        let traffic = Traffic::new("BURST", 4, 6);
        traffic.send(&world, &case);
        traffic.wait_delivered(&world, &case).await;

        traffic
            .assert_exactly_once(&world, &case, Order::SirToSlackOnly)
            .await;
        let errors = world
            .slack()
            .calls()
            .iter()
            .filter(|call| call.status >= 500)
            .count()
            - errors_before;
        assert_eq!(errors, 9, "both bursts were answered");
    });
}

// ---- SIR throttling ---------------------------------------------------------------------------

/// Fault: SIR throttles (429 `ThrottlingException`) the next 6 GetCase, 6 ListComments and 6
/// CreateCaseComment calls, more than one call's SDK retries, while traffic flows both ways.
/// Expected: the failed syncs and copies are retried (SDK, Lambda's async retry, the events
/// handler's lazy retry) and everything crosses once; SIR comments reach Slack in order (a
/// Slack message whose copy was throttled may reach SIR after later ones: seen as comment
/// positions [13, 9, 10, 11, 12], see [`Order::SirToSlackOnly`]).
#[test]
fn sir_throttling_on_reads_and_comment_writes_loses_and_doubles_nothing() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        let operations = ["GetCase", "ListComments", "CreateCaseComment"];
        let throttled_before: Vec<usize> = operations
            .iter()
            .map(|operation| throttled(&world, operation))
            .collect();

        for operation in operations {
            world
                .sir()
                .inject(Fault::on(operation, FaultKind::Throttling).times(6));
        }
        let traffic = Traffic::new("THROTTLE", 5, 5);
        traffic.send(&world, &case);
        traffic.wait_delivered(&world, &case).await;

        traffic
            .assert_exactly_once(&world, &case, Order::SirToSlackOnly)
            .await;
        assert_eq!(
            world.sir().pending_fault_uses(),
            0,
            "every throttle was met"
        );
        for (operation, before) in operations.iter().zip(throttled_before) {
            assert_eq!(
                throttled(&world, operation) - before,
                6,
                "{operation} throttled"
            );
        }
    });
}

/// Fault: SIR answers the first Slack message's CreateCaseComment slowly (3 s, longer than the
/// events handler's inline budget), twice: on the ack path and in the lazy invocation it is
/// handed to. The two messages written after it are copied at once.
/// Expected: the three comments are in SIR once each, in the order the messages were written.
#[test]
fn slack_messages_reach_sir_in_order_when_one_copy_is_slow() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        let traffic = Traffic::new("SLOWCOPY", 3, 0);

        world.aws_faults().inject(
            AwsFault::new("security-ir", "create-comment")
                .from_function(Function::EventsHandler)
                .body_contains("SLOWCOPY-S01")
                .times(2)
                .effect(AwsFaultEffect::Latency(Duration::from_secs(3))),
        );
        traffic.send(&world, &case);
        traffic.wait_delivered(&world, &case).await;

        assert_eq!(
            world.aws_faults().pending(),
            0,
            "the first copy was slow twice"
        );
        traffic
            .assert_exactly_once(&world, &case, Order::BothWays)
            .await;
    });
}

fn throttled(world: &World, operation: &str) -> usize {
    world
        .sir()
        .calls_to(operation)
        .iter()
        .filter(|call| call.status == 429)
        .count()
}

// ---- a function crashing mid-batch --------------------------------------------------------------

/// Fault: the Slack client's process dies in the middle of a batch, after three of the case's
/// new comments were posted (and recorded) and before the next one is: its batch is not
/// answered, SQS redelivers every record of it after the visibility timeout, and the dead
/// worker's case lease holds the case until it runs out.
/// Expected: the redelivered batch posts only what was not posted; each comment once, in order.
#[test]
fn a_slack_client_crash_mid_batch_is_redelivered_without_posting_twice() {
    run(async {
        let mut config =
            fault_config().with_env(Function::SlackClient, "DEADLINE_MARGIN_SECONDS", "2");
        // One worker, so the crash hits the worker applying the case; a short function timeout
        // so the dead worker's lease (its deadline + 30 s) runs out soon.
        config.slack_client.max_concurrency = 1;
        config.slack_client.function_timeout = Duration::from_secs(12);
        config.slack_client.visibility_timeout = Duration::from_secs(15);
        let (world, case) = case_world(config).await;
        world.slack().set_channel_rate_limit(true);

        let table = world.table();
        let case_id = case.case_id.parse().expect("a case ID");
        let applied_before = table
            .channel_link(&case_id)
            .await
            .expect("the table answers")
            .expect("the case is linked")
            .applied_sequence;
        // The apply cursor moves after a comment's post and its marker: crashing right after it
        // reaches `applied_before + 3` is "after applying part of the batch" (the Slack client's
        // pacer keeps the next post a second away).
        let applied = Arc::new(AtomicU64::new(applied_before));
        let watcher = {
            let applied = Arc::clone(&applied);
            tokio::spawn(async move {
                loop {
                    if let Ok(Some(link)) = table.channel_link(&case_id).await {
                        applied.store(link.applied_sequence, Ordering::SeqCst);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        let crashed = Arc::new(AtomicBool::new(false));
        let crash_point = {
            let (applied, crashed) = (Arc::clone(&applied), Arc::clone(&crashed));
            CrashPoint::When(Arc::new(move || {
                applied.load(Ordering::SeqCst) >= applied_before + 3
                    && crashed
                        .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok()
            }))
        };
        // Every invocation from now on carries the crash point; only one ever crashes.
        world
            .function_faults()
            .crash_next(Function::SlackClient, 1_000, crash_point);

        let traffic = Traffic::new("CRASH", 0, 6);
        traffic.send(&world, &case);
        traffic.wait_delivered(&world, &case).await;
        watcher.abort();
        world.function_faults().clear();

        traffic
            .assert_exactly_once(&world, &case, Order::BothWays)
            .await;
        let crashes: Vec<_> = world
            .invocations()
            .into_iter()
            .filter(|invocation| {
                invocation.function == Function::SlackClient
                    && invocation.outcome == InvocationOutcome::Crashed
            })
            .collect();
        assert_eq!(crashes.len(), 1, "one worker died: {crashes:?}");
        let Trigger::SqsBatch { records } = crashes[0].trigger else {
            panic!("the crash was in a batch: {:?}", crashes[0].trigger);
        };
        println!("the crashed batch held {records} records");
        let redelivered = world.invocations().into_iter().any(|invocation| {
            invocation.function == Function::SlackClient
                && invocation.started > crashes[0].started
                && matches!(invocation.trigger, Trigger::SqsBatch { .. })
                && invocation.outcome.is_success()
        });
        assert!(redelivered, "the batch was delivered again after the crash");
    });
}

// ---- the command handler dying mid-change ----------------------------------------------------

/// Fault: the command handler dies (a crash, or Lambda's timeout) right after SIR made the
/// change, after the audit comment, and after the announcement, one status change each.
/// Expected: Lambda's async retry resumes the change from what the dead attempt recorded;
/// each change is made, audited and announced exactly once, nobody is told "already handled",
/// nothing is parked in a dead-letter queue. The command handler's timeout is 4 s and Lambda
/// retries 6 s later (AWS: 30 s, then about a minute).
#[test]
fn a_command_whose_handler_dies_after_any_step_is_changed_audited_and_announced_once() {
    run(async {
        let mut config = fault_config();
        config.command_handler_timeout = Duration::from_secs(4);
        config.async_invocation.retry_delay = Duration::from_secs(6);
        let (world, case) = case_world(config).await;
        let channel = case.channel.id.clone();
        let steps = [
            (
                "after the SIR change",
                "detection",
                "Detection and Analysis",
            ),
            (
                "after the audit comment",
                "containment",
                "Containment, Eradication and Recovery",
            ),
            (
                "after the announcement",
                "post-incident",
                "Post-incident Activities",
            ),
        ];
        for (point, argument, status) in steps {
            let audit = "ran /security-ir update-status: status changed from";
            let audits_before = comments_containing(&world, &case.case_id, audit).len();
            let announcement = format!("Alice Analyst set status to {status}");
            let reached = Arc::new(AtomicBool::new(false));
            let crashed = Arc::new(AtomicBool::new(false));
            let crash_point = {
                let (reached, crashed) = (Arc::clone(&reached), Arc::clone(&crashed));
                CrashPoint::When(Arc::new(move || {
                    reached.load(Ordering::SeqCst)
                        && crashed
                            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                            .is_ok()
                }))
            };
            world
                .function_faults()
                .crash_next(Function::CommandHandler, 1, crash_point);
            if point == "after the announcement" {
                // Only marking the claim done follows the announcement: slowed, so that the
                // death lands between the two, not after the handler finished.
                world.aws_faults().inject(
                    AwsFault::new("dynamodb", "UpdateItem")
                        .from_function(Function::CommandHandler)
                        .body_contains(":done")
                        .effect(AwsFaultEffect::Latency(Duration::from_secs(2))),
                );
            }
            let command = world
                .slash_command(&ALICE, &channel, &format!("update-status {argument}"))
                .await
                .expect("the command is acked");

            // Watches for the point and lets the crash happen there, until the change is done.
            let has_reached = |world: &World| match point {
                "after the SIR change" => world
                    .sir()
                    .case(&case.case_id)
                    .is_some_and(|c| c.status.as_str() == status),
                "after the audit comment" => {
                    comments_containing(world, &case.case_id, audit).len() > audits_before
                }
                _ => channel_messages_showing(world, &channel, &announcement) > 0,
            };
            let watch = async {
                loop {
                    if has_reached(&world) {
                        reached.store(true, Ordering::SeqCst);
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            };
            let what = format!("the change {point}: made, audited and announced");
            let done = world.wait_until(&what, FAULT_WAIT, |world| {
                crashed.load(Ordering::SeqCst)
                    && world.function_faults().pending(Function::CommandHandler) == 0
                    && comments_containing(world, &case.case_id, audit).len() > audits_before
                    && channel_messages_showing(world, &channel, &announcement) > 0
            });
            tokio::select! {
                () = watch => unreachable!("the watch never ends"),
                finished = done => {
                    finished.expect("the change is finished after the crash");
                }
            }
            settle(&world).await;

            assert!(crashed.load(Ordering::SeqCst), "{point}: the handler died");
            assert_eq!(
                world
                    .sir()
                    .case(&case.case_id)
                    .map(|c| c.status.as_str().to_owned()),
                Some(status.to_owned()),
                "{point}"
            );
            assert_eq!(
                comments_containing(&world, &case.case_id, audit).len(),
                audits_before + 1,
                "{point}: one audit comment"
            );
            assert_eq!(
                channel_messages_showing(&world, &channel, &announcement),
                1,
                "{point}: one announcement"
            );
            let told: Vec<String> = world
                .slack()
                .response_posts(&command.response_token)
                .into_iter()
                .filter_map(|post| post.text)
                .collect();
            // Before the announcement nothing is finished, so nobody may be told "already
            // handled"; a death after it may come after the claim was marked done, and then the
            // retry is a duplicate that says so.
            if point != "after the announcement" {
                assert!(
                    !told
                        .iter()
                        .any(|text| text.contains("already received and handled")),
                    "{point}: {told:#?}"
                );
            }
        }
        let crashes = world
            .invocations()
            .into_iter()
            .filter(|invocation| {
                invocation.function == Function::CommandHandler
                    && invocation.outcome == InvocationOutcome::Crashed
            })
            .count();
        assert_eq!(crashes, 3, "the handler died once per step");
        assert_eq!(
            world.aws_faults().pending(),
            0,
            "marking the last claim done was slowed"
        );
        assert_no_dead_letters(&world).await;
    });
}

// ---- Slack's retries --------------------------------------------------------------------------

/// Fault: API Gateway holds the events handler's answer for 4 s: the message was copied, but
/// Slack saw no answer within 3 s and retried (`X-Slack-Retry-Num: 1`, `http_timeout`). Then
/// the same callback is sent again by hand with `X-Slack-Retry-Num: 2`, and the same message
/// under a new `event_id` (Slack has been seen doing both).
/// Expected: every retry is acknowledged with 200 and dropped; the comment exists once.
#[test]
fn slack_retries_of_an_event_whose_first_delivery_succeeded_are_dropped() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        let text = "RETRY-OK: the key was rotated at 10:02";

        world
            .api_gateway_faults()
            .inject(GatewayFault::DelayAnswer(Duration::from_secs(4)), 1);
        let ts = world
            .post_message(&case.channel.id, ALICE.slack_id, text)
            .unwrap();
        world
            .wait_until("Slack's retry answered", FAULT_WAIT, |world| {
                deliveries_of_message(world, &ts)
                    .iter()
                    .any(SlackDelivery::acknowledged)
            })
            .await
            .expect("a retry is acknowledged");
        settle(&world).await;

        let deliveries = deliveries_of_message(&world, &ts);
        assert_eq!(deliveries[0].attempt, 0);
        assert_eq!(
            deliveries[0].status, None,
            "the first answer came too late for Slack"
        );
        assert!(deliveries[1..].iter().all(|delivery| delivery.attempt >= 1));
        assert_eq!(comments_containing(&world, &case.case_id, text).len(), 1);

        // Slack retries the same callback again, and sends the same message under a new ID.
        let event_id = deliveries[0].event_id.clone();
        let event = events::message(&case.channel.id, ALICE.slack_id, text, &ts);
        let retry = world
            .signer()
            .sign(
                callback(&world, event.clone())
                    .with_event_id(&event_id)
                    .into_body(),
            )
            .with_retry(2, "http_timeout");
        let again = world.signer().sign(callback(&world, event).into_body());
        for request in [retry, again] {
            let reply = world
                .send_signed(&request)
                .await
                .expect("the endpoint answers");
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
        settle(&world).await;
        assert_eq!(comments_containing(&world, &case.case_id, text).len(), 1);
        assert_no_dead_letters(&world).await;
    });
}

/// Fault: the first delivery of a message fails before any work: API Gateway answers 500 once
/// (the function never ran); for a second message the events handler's dedupe write fails
/// (a DynamoDB error).
/// Expected: Slack's retry of the first is processed, not dropped as a duplicate; the second is
/// acknowledged at once and deferred to a lazy run, which copies it; each comment exists once.
#[test]
fn slack_retries_of_an_event_whose_first_delivery_failed_are_processed_once() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        let rejected = "RETRY-FAILED-1: first delivery rejected by API Gateway";
        let undeduped = "RETRY-FAILED-2: first delivery could not write its dedupe marker";

        world
            .api_gateway_faults()
            .inject(GatewayFault::Reject { status: 500 }, 1);
        let first = world
            .post_message(&case.channel.id, ALICE.slack_id, rejected)
            .unwrap();
        world
            .wait_until("the first message in SIR", FAULT_WAIT, |world| {
                !comments_containing(world, &case.case_id, rejected).is_empty()
            })
            .await
            .expect("the retry is processed");
        settle(&world).await;

        world.aws_faults().inject(
            AwsFault::new("dynamodb", "PutItem")
                .from_function(Function::EventsHandler)
                .body_contains("slack-event"),
        );
        let second = world
            .post_message(&case.channel.id, BOB.slack_id, undeduped)
            .unwrap();
        world
            .wait_until("the second message in SIR", FAULT_WAIT, |world| {
                !comments_containing(world, &case.case_id, undeduped).is_empty()
            })
            .await
            .expect("the retry is processed");
        settle(&world).await;

        assert_eq!(world.aws_faults().pending(), 0, "the dedupe write did fail");
        let deliveries = deliveries_of_message(&world, &first);
        assert_eq!(
            deliveries[0].status,
            Some(500),
            "{rejected}: {deliveries:?}"
        );
        assert!(deliveries[1].acknowledged(), "{rejected}: {deliveries:?}");
        let deliveries = deliveries_of_message(&world, &second);
        assert_eq!(deliveries.len(), 1, "{undeduped}: {deliveries:?}");
        assert!(deliveries[0].acknowledged(), "{undeduped}: {deliveries:?}");
        for text in [rejected, undeduped] {
            assert_eq!(
                comments_containing(&world, &case.case_id, text).len(),
                1,
                "{text}"
            );
        }
        assert_no_dead_letters(&world).await;
    });
}

/// Fault: DynamoDB throttles every call of the events handler (the ack path's channel lookup
/// and dedupe markers, and the lazy run's) until a lazy run has failed on it, then recovers.
/// Expected: Slack is answered 200 without waiting for DynamoDB to come back (the verified
/// event is deferred to a lazy run); the lazy run fails while DynamoDB is down, Lambda retries
/// it, and the message reaches SIR once; nothing is parked in a dead-letter queue.
#[test]
fn a_message_arriving_while_dynamodb_is_down_is_deferred_and_reaches_sir_once() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        let text = "DYNAMO-DOWN: posted while the table was throttled";
        world.aws_faults().inject(
            AwsFault::new("dynamodb", "GetItem")
                .any_operation()
                .from_function(Function::EventsHandler)
                .times(100_000)
                .effect(AwsFaultEffect::ServiceError {
                    status: 400,
                    error_type: "ThrottlingException".to_owned(),
                    message: "Rate of requests exceeds the allowed throughput.".to_owned(),
                }),
        );
        let failed_lazy_runs = |world: &World| {
            world
                .invocations()
                .into_iter()
                .filter(|invocation| {
                    invocation.function == Function::EventsHandler
                        && !matches!(invocation.trigger, Trigger::ApiGateway { .. })
                        && !invocation.outcome.is_success()
                })
                .count()
        };
        let ts = world
            .post_message(&case.channel.id, ALICE.slack_id, text)
            .unwrap();
        world
            .wait_until(
                "a lazy run failed on the throttled table",
                FAULT_WAIT,
                |world| failed_lazy_runs(world) > 0,
            )
            .await
            .expect("the deferred event was run and failed");
        assert!(
            comments_containing(&world, &case.case_id, text).is_empty(),
            "nothing was copied while the table was down"
        );
        let answered_while_down = deliveries_of_message(&world, &ts)
            .iter()
            .any(SlackDelivery::acknowledged);
        assert!(
            answered_while_down,
            "Slack was answered 200 while DynamoDB was down"
        );
        world.aws_faults().clear();

        world
            .wait_until("the message in SIR", FAULT_WAIT, |world| {
                !comments_containing(world, &case.case_id, text).is_empty()
            })
            .await
            .expect("Lambda's retry copies it");
        settle(&world).await;
        assert_eq!(comments_containing(&world, &case.case_id, text).len(), 1);
        assert_no_dead_letters(&world).await;
    });
}

/// Fault: the events handler's process dies while it copies a message: after it claimed the
/// event's dedupe markers, before SIR got the comment (its CreateCaseComment is slowed so
/// the crash lands there). API Gateway answers 502 and Slack retries.
/// Expected: a retry copies the message: the comment exists once.
#[test]
fn slack_retries_after_the_events_handler_died_mid_event_copy_the_message_once() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        let text = "RETRY-CRASH: the handler died while copying this";

        world.aws_faults().inject(
            AwsFault::new("security-ir", "create-comment")
                .from_function(Function::EventsHandler)
                .effect(AwsFaultEffect::Latency(Duration::from_secs(2))),
        );
        let faults = world.aws_faults().clone();
        let comment_calls = move || {
            faults
                .call_counts()
                .iter()
                .filter(|(call, _)| {
                    call.function == Function::EventsHandler
                        && call.operation.contains("create-comment")
                })
                .map(|(_, count)| *count)
                .sum::<u64>()
        };
        let calls_before = comment_calls();
        world.function_faults().crash_next(
            Function::EventsHandler,
            1,
            CrashPoint::When(Arc::new(move || comment_calls() > calls_before)),
        );
        let ts = world
            .post_message(&case.channel.id, ALICE.slack_id, text)
            .unwrap();
        let copied = world
            .wait_until("the message in SIR", FAULT_WAIT, |world| {
                !comments_containing(world, &case.case_id, text).is_empty()
            })
            .await;
        settle(&world).await;

        let deliveries = deliveries_of_message(&world, &ts);
        let crashed = world.invocations().iter().any(|invocation| {
            invocation.function == Function::EventsHandler
                && invocation.outcome == InvocationOutcome::Crashed
        });
        assert!(crashed, "the handler died mid-event");
        assert_eq!(deliveries[0].status, Some(502), "{deliveries:?}");
        assert!(
            copied.is_ok(),
            "the message never reached SIR: Slack's retries were answered {:?}",
            deliveries
                .iter()
                .map(|delivery| (delivery.attempt, delivery.status))
                .collect::<Vec<_>>()
        );
        assert_eq!(comments_containing(&world, &case.case_id, text).len(), 1);
        assert_no_dead_letters(&world).await;
    });
}

// ---- the poller killed between publish and snapshot --------------------------------------------

/// Fault: the poller publishes a sync's events and dies before its snapshot is confirmed (the
/// confirming DynamoDB write fails, as if the process died just before it).
/// Expected: the next sync re-publishes the same events with the same sequence numbers; the
/// Slack client receives them twice and posts each comment once, in order.
#[test]
fn a_poller_killed_between_publish_and_snapshot_republishes_and_slack_posts_once() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        let invocations_before = world.invocations().len();

        world.aws_faults().inject(
            AwsFault::new("dynamodb", "PutItem")
                .from_function(Function::Poller)
                .body_contains("pending_version = :pending"),
        );
        let traffic = Traffic::new("REPUBLISH", 0, 4);
        traffic.send(&world, &case);
        traffic.wait_delivered(&world, &case).await;

        traffic
            .assert_exactly_once(&world, &case, Order::BothWays)
            .await;
        assert_eq!(
            world.aws_faults().pending(),
            0,
            "the confirm write did fail"
        );
        let since: Vec<_> = world.invocations().split_off(invocations_before);
        let failed_sync = since.iter().any(|invocation| {
            invocation.function == Function::Poller && !invocation.outcome.is_success()
        });
        assert!(failed_sync, "the sync that lost its confirm failed");
        let records: usize = since
            .iter()
            .filter(|invocation| invocation.function == Function::SlackClient)
            .map(|invocation| match invocation.trigger {
                Trigger::SqsBatch { records } => records,
                _ => 0,
            })
            .sum();
        assert!(
            records > traffic.sir.len(),
            "the Slack client got re-published events ({records} records for {} comments)",
            traffic.sir.len()
        );
    });
}

// ---- EventBridge FailedEntryCount > 0 --------------------------------------------------------

/// Fault: the poller's next 2 PutEvents calls are accepted with every entry failed
/// (`FailedEntryCount` = entries, `InternalFailure`).
/// Expected: the publisher re-sends the failed entries within the same sync; each comment
/// reaches Slack once, in order.
#[test]
fn failed_eventbridge_entries_are_re_sent_by_the_poller_and_arrive_once() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        let put_events_before =
            world
                .aws_faults()
                .call_count(Function::Poller, "events", "PutEvents");

        world.aws_faults().inject(
            AwsFault::new("events", "PutEvents")
                .from_function(Function::Poller)
                .times(2)
                .effect(AwsFaultEffect::FailEveryEntry {
                    error_code: "InternalFailure".into(),
                }),
        );
        let traffic = Traffic::new("ENTRIES", 2, 4);
        traffic.send(&world, &case);
        traffic.wait_delivered(&world, &case).await;

        traffic
            .assert_exactly_once(&world, &case, Order::BothWays)
            .await;
        assert_eq!(
            world.aws_faults().pending(),
            0,
            "both PutEvents failed their entries"
        );
        let put_events = world
            .aws_faults()
            .call_count(Function::Poller, "events", "PutEvents")
            - put_events_before;
        assert!(
            put_events >= 3,
            "the failed entries were sent again: {put_events} calls"
        );
    });
}

/// Fault: every PutEvents of the poller fails all its entries 8 times in a row: more than the
/// publisher's own 5 attempts, so the sync fails and the failure is surfaced (the invocation
/// fails, Lambda retries it).
/// Expected: a later sync publishes the planned events; each comment reaches Slack once.
#[test]
fn a_publish_that_keeps_failing_is_surfaced_retried_and_delivered_once() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        let invocations_before = world.invocations().len();

        world.aws_faults().inject(
            AwsFault::new("events", "PutEvents")
                .from_function(Function::Poller)
                .times(8)
                .effect(AwsFaultEffect::FailEveryEntry {
                    error_code: "InternalFailure".into(),
                }),
        );
        let traffic = Traffic::new("SURFACED", 0, 3);
        traffic.send(&world, &case);
        traffic.wait_delivered(&world, &case).await;

        traffic
            .assert_exactly_once(&world, &case, Order::BothWays)
            .await;
        assert_eq!(world.aws_faults().pending(), 0);
        let surfaced = world.invocations()[invocations_before..]
            .iter()
            .any(|invocation| {
                invocation.function == Function::Poller && !invocation.outcome.is_success()
            });
        assert!(surfaced, "the failed publish failed its invocation");
    });
}

/// Fault: the events handler hands a shared file's copy to a lazy invocation through
/// EventBridge, and its next 2 PutEvents calls fail every entry.
/// Expected: the handler answers 500 (its dedupe markers released), Slack's retry hands the
/// copy off again, and the file becomes one SIR attachment with one upload note.
#[test]
fn a_failed_lazy_hand_off_makes_slack_retry_and_the_file_arrives_once() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        let name = "handoff-evidence.txt";
        let bytes: Vec<u8> = b"evidence that crossed after a failed hand-off\n".repeat(50);

        world.aws_faults().inject(
            AwsFault::new("events", "PutEvents")
                .from_function(Function::EventsHandler)
                .times(2)
                .effect(AwsFaultEffect::FailEveryEntry {
                    error_code: "InternalFailure".into(),
                }),
        );
        let file = world
            .share_file(&case.channel.id, ALICE.slack_id, name, bytes.clone(), None)
            .unwrap();
        let sir_name = sirslack_mapper::filename::slack_upload_file_name(name, &file.file_id);
        world
            .wait_until("the attachment in SIR", FAULT_WAIT, |world| {
                world
                    .sir()
                    .attachments(&case.case_id)
                    .iter()
                    .any(|attachment| attachment.file_name == sir_name)
            })
            .await
            .expect("the file is not lost");
        settle(&world).await;

        let attachments: Vec<_> = world
            .sir()
            .attachments(&case.case_id)
            .into_iter()
            .filter(|attachment| attachment.file_name == sir_name)
            .collect();
        assert_eq!(attachments.len(), 1, "{attachments:?}");
        let stored = world
            .sir()
            .attachment_bytes(&case.case_id, &attachments[0].attachment_id)
            .expect("the bytes are stored");
        assert_eq!(stored.as_ref(), bytes.as_slice());
        assert_eq!(
            comments_containing(&world, &case.case_id, &sir_name).len(),
            1
        );
        let shared: Vec<Option<u16>> = world
            .slack_deliveries()
            .iter()
            .filter(|delivery| delivery.event_type == "file_shared")
            .map(|delivery| delivery.status)
            .collect();
        assert_eq!(
            shared,
            vec![Some(500), Some(500), Some(200)],
            "Slack's retries carried it"
        );
        assert_no_dead_letters(&world).await;
    });
}

// ---- lazy work that keeps failing ---------------------------------------------------------------

/// Fault: SIR answers 500 to every comment the events handler writes, for longer than the ack
/// path's try, the lazy drain's own retries and Lambda's two async retries of it; the lane
/// sweep runs on its schedule meanwhile (and fails too). Then SIR recovers.
/// Expected: the lazy runs fail their invocations (so Lambda retries them and the DLQ and its
/// alarm apply; on `main` they reported success), the message stays queued in its channel lane
/// with the lane given back, its author is not told it was lost, and once SIR answers the
/// scheduled sweep writes it to SIR: once.
#[test]
fn a_comment_sir_keeps_refusing_stays_queued_and_the_scheduled_sweep_writes_it_once() {
    run(async {
        let mut config = fault_config();
        config.lane_sweep_interval = Some(Duration::from_secs(2));
        let (world, case) = case_world(config).await;
        let text = "SWEPT: SIR was down when this was said";
        let invocations_before = world.invocations().len();

        world.aws_faults().inject(
            AwsFault::new("security-ir", "create-comment")
                .from_function(Function::EventsHandler)
                .times(u32::MAX)
                .effect(AwsFaultEffect::ServiceError {
                    status: 500,
                    error_type: "InternalServerException".into(),
                    message: "SIR is having a bad day".into(),
                }),
        );
        world
            .post_message(&case.channel.id, ALICE.slack_id, text)
            .unwrap();

        // Lambda's attempts at the lazy drain are over (each failed, or found the sweep
        // draining; none is left in the function's async queue), and a sweep failed too.
        let lazy_work = world.queues().lazy_work.clone();
        let failed = |trigger: fn(&Trigger) -> bool| {
            world.invocations()[invocations_before..]
                .iter()
                .any(|invocation| {
                    invocation.function == Function::EventsHandler
                        && trigger(&invocation.trigger)
                        && matches!(invocation.outcome, InvocationOutcome::Failed(_))
                })
        };
        world
            .wait_until_async("failed lazy runs and sweeps", FAULT_WAIT, || async {
                failed(|trigger| matches!(trigger, Trigger::RuleEvent { .. }))
                    && failed(|trigger| *trigger == Trigger::Schedule)
                    && world
                        .queue_depth(&lazy_work)
                        .await
                        .is_ok_and(|depth| depth == 0)
            })
            .await
            .expect("failed lazy runs and sweeps fail their invocations");
        assert!(comments_containing(&world, &case.case_id, text).is_empty());
        assert!(
            world
                .slack()
                .ephemeral_messages(&case.channel.id)
                .is_empty(),
            "nobody was told the message was lost: it was not"
        );

        let recovered = world.invocations().len();
        world.aws_faults().clear();
        world
            .wait_until("the message in SIR", FAULT_WAIT, |world| {
                !comments_containing(world, &case.case_id, text).is_empty()
            })
            .await
            .expect("the sweep writes the queued message");
        settle(&world).await;

        assert_eq!(comments_containing(&world, &case.case_id, text).len(), 1);
        let swept = world.invocations()[recovered..].iter().any(|invocation| {
            invocation.function == Function::EventsHandler
                && invocation.trigger == Trigger::Schedule
                && matches!(&invocation.outcome, InvocationOutcome::Succeeded(report)
                    if report["lanesDrained"].as_u64() >= Some(1))
        });
        assert!(swept, "the scheduled sweep drained the lane");
        assert!(
            world
                .slack()
                .ephemeral_messages(&case.channel.id)
                .is_empty()
        );
    });
}

// ---- the signing secret -----------------------------------------------------------------------

/// Fault: the signing secret is rotated (a new one in SSM, then in Slack); afterwards a request
/// arrives signed with the old secret (a sender that missed the rotation, or a replay).
/// Expected: the first request Slack signs with the new secret is accepted (the handler
/// re-reads SSM on the mismatch), the old secret gets 401 and nothing from it reaches SIR.
#[test]
fn after_a_rotation_the_new_secret_is_picked_up_and_the_old_one_rejected() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        let before = "SECRET-1: written before the rotation";
        let after = "SECRET-2: written after the rotation";
        let forged = "SECRET-3: signed with the old secret";
        world
            .post_message(&case.channel.id, ALICE.slack_id, before)
            .unwrap();
        world
            .wait_until("the message before the rotation", FAULT_WAIT, |world| {
                !comments_containing(world, &case.case_id, before).is_empty()
            })
            .await
            .expect("the message crosses");

        let old_secret = world.slack_signing_secret();
        let new_secret = world.rotate_signing_secret().await.expect("the rotation");
        assert_ne!(old_secret, new_secret);
        let ts = world
            .post_message(&case.channel.id, BOB.slack_id, after)
            .unwrap();
        world
            .wait_until("the message after the rotation", FAULT_WAIT, |world| {
                !comments_containing(world, &case.case_id, after).is_empty()
            })
            .await
            .expect("the new secret is accepted");
        // The comment is written before the answer reaches Slack: wait for Slack's record.
        world
            .wait_until("Slack's record of the delivery", FAULT_WAIT, |world| {
                !deliveries_of_message(world, &ts).is_empty()
            })
            .await
            .expect("the delivery is recorded");
        let deliveries = deliveries_of_message(&world, &ts);
        assert!(
            deliveries[0].acknowledged(),
            "the first request with the new secret is accepted: {deliveries:?}"
        );

        let old_signer = SlackSigner::new(old_secret);
        let event = events::message(&case.channel.id, BOB.slack_id, forged, &made_up_ts(1));
        for attempt in 0..2 {
            let reply = world
                .send_signed(&old_signer.sign(callback(&world, event.clone()).into_body()))
                .await
                .expect("the endpoint answers");
            assert_eq!(
                reply.status, 401,
                "old secret, attempt {attempt}: {}",
                reply.body
            );
        }
        settle(&world).await;

        assert_eq!(comments_containing(&world, &case.case_id, before).len(), 1);
        assert_eq!(comments_containing(&world, &case.case_id, after).len(), 1);
        assert!(comments_containing(&world, &case.case_id, forged).is_empty());
        assert_no_dead_letters(&world).await;
    });
}

/// Fault: the secret is regenerated in Slack before SSM has it, so Slack's first deliveries
/// fail verification; SSM gets the new secret while Slack is still retrying.
/// Expected: the first delivery gets 401, a retry signed with the same new secret is accepted
/// once the handler finds it in SSM, and the message is copied once.
#[test]
fn a_secret_rotated_in_slack_before_ssm_is_picked_up_by_slack_s_retries() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        let text = "SECRET-LATE: sent while SSM still had the old secret";
        let new_secret = "5f3c2a9e8d7b6a5f4e3d2c1b0a9f8e7d";

        world.set_slack_signing_secret(new_secret);
        let ts = world
            .post_message(&case.channel.id, ALICE.slack_id, text)
            .unwrap();
        world
            .wait_until("the first delivery refused", FAULT_WAIT, |world| {
                deliveries_of_message(world, &ts)
                    .first()
                    .is_some_and(|delivery| delivery.status == Some(401))
            })
            .await
            .expect("the app cannot verify the new secret yet");
        world
            .put_signing_secret_parameter(new_secret)
            .await
            .expect("SSM takes the new secret");
        let copied = world
            .wait_until("the message in SIR", FAULT_WAIT, |world| {
                !comments_containing(world, &case.case_id, text).is_empty()
            })
            .await;
        settle(&world).await;

        let answers: Vec<(u32, Option<u16>)> = deliveries_of_message(&world, &ts)
            .iter()
            .map(|delivery| (delivery.attempt, delivery.status))
            .collect();
        assert!(copied.is_ok(), "Slack's retries were answered {answers:?}");
        assert_eq!(
            answers.last().map(|answer| answer.1),
            Some(Some(200)),
            "{answers:?}"
        );
        assert_eq!(comments_containing(&world, &case.case_id, text).len(), 1);
        assert_no_dead_letters(&world).await;
    });
}

/// Fault: correctly signed requests whose timestamp is more than 5 minutes old (a replay), or
/// more than 5 minutes ahead.
/// Expected: 401 and nothing reaches SIR; a request 4 minutes old (inside the window) is
/// accepted and copied once.
#[test]
fn requests_signed_more_than_five_minutes_away_are_rejected() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        let signer = world.signer();
        let now = unix_now();
        let channel = &case.channel.id;
        let message = |text: &str, sequence: u32| {
            callback(
                &world,
                events::message(channel, ALICE.slack_id, text, &made_up_ts(sequence)),
            )
            .into_body()
        };

        let rejected: [(&str, i64); 3] = [
            ("STALE-1: signed 301 seconds ago", now - 301),
            ("STALE-2: signed an hour ago", now - 3_600),
            ("STALE-3: signed 301 seconds ahead", now + 301),
        ];
        for (sequence, (text, timestamp)) in (1..).zip(rejected) {
            let request: SignedRequest = signer.sign_at(message(text, sequence), timestamp);
            let reply = world
                .send_signed(&request)
                .await
                .expect("the endpoint answers");
            assert_eq!(reply.status, 401, "{text}: {}", reply.body);
        }
        let inside = "STALE-4: signed 240 seconds ago";
        let reply = world
            .send_signed(&signer.sign_at(message(inside, 4), now - 240))
            .await
            .expect("the endpoint answers");
        assert_eq!(reply.status, 200, "{}", reply.body);
        world
            .wait_until("the message inside the window", FAULT_WAIT, |world| {
                !comments_containing(world, &case.case_id, inside).is_empty()
            })
            .await
            .expect("a request inside the window is copied");
        settle(&world).await;

        for (text, _) in rejected {
            assert!(
                comments_containing(&world, &case.case_id, text).is_empty(),
                "{text}"
            );
        }
        assert_eq!(comments_containing(&world, &case.case_id, inside).len(), 1);
    });
}

/// Presigned URLs expire (S3 answers 403 `AccessDenied`, "Request has expired"), and SIR hands
/// the same URL out again for the same `clientToken`. The first upload URL and the first
/// download URL are already expired when used.
/// Expected: both copies get a fresh URL and arrive once, byte for byte, with no DLQ entry.
#[test]
fn expired_presigned_urls_are_replaced_and_files_cross_once_both_ways() {
    run(async {
        let (world, case) = case_world(fault_config()).await;
        world
            .sir()
            .hand_out_expired_urls("GetCaseAttachmentUploadUrl", 1);
        world
            .sir()
            .hand_out_expired_urls("GetCaseAttachmentDownloadUrl", 1);

        let slack_bytes: Vec<u8> = b"slack file, first URL expired\n".repeat(40);
        let file = world
            .share_file(
                &case.channel.id,
                ALICE.slack_id,
                "expired-up.txt",
                slack_bytes.clone(),
                None,
            )
            .unwrap();
        let sir_name =
            sirslack_mapper::filename::slack_upload_file_name("expired-up.txt", &file.file_id);
        let sir_bytes: Vec<u8> = b"sir file, first URL expired\n".repeat(40);
        world
            .sir()
            .add_attachment(
                &case.case_id,
                "expired-down.txt",
                sir_bytes.clone(),
                AttachmentStatus::Verified,
            )
            .unwrap();
        world.tick().await;
        world
            .wait_until("both files crossed", FAULT_WAIT, |world| {
                let up = world
                    .sir()
                    .attachments(&case.case_id)
                    .iter()
                    .any(|attachment| attachment.file_name == sir_name);
                let down = world.slack().files().iter().any(|file| {
                    file.name == "expired-down.txt" && file.completed && !file.channels.is_empty()
                });
                up && down
            })
            .await
            .expect("the files cross with fresh URLs");
        settle(&world).await;

        let refused = |operation: &str| {
            world
                .sir()
                .calls_to(operation)
                .iter()
                .filter(|call| call.error_type.as_deref() == Some("AccessDenied"))
                .count()
        };
        assert_eq!(refused(sir_standin::PRESIGNED_UPLOAD), 1);
        assert_eq!(refused(sir_standin::PRESIGNED_DOWNLOAD), 1);
        let uploaded: Vec<_> = world
            .sir()
            .attachments(&case.case_id)
            .into_iter()
            .filter(|attachment| attachment.file_name == sir_name)
            .collect();
        assert_eq!(uploaded.len(), 1, "{uploaded:?}");
        assert_eq!(
            world
                .sir()
                .attachment_bytes(&case.case_id, &uploaded[0].attachment_id)
                .as_deref(),
            Some(slack_bytes.as_slice())
        );
        let downloaded: Vec<_> = world
            .slack()
            .files()
            .into_iter()
            .filter(|file| file.name == "expired-down.txt")
            .collect();
        assert_eq!(downloaded.len(), 1);
        assert_eq!(downloaded[0].bytes.as_deref(), Some(sir_bytes.as_slice()));
        assert!(
            world
                .slack()
                .ephemeral_messages(&case.channel.id)
                .is_empty(),
            "nobody is told of a failure"
        );
        assert_no_dead_letters(&world).await;
    });
}
