//! Load through the full wiring: many cases, people writing in every case channel while the
//! responder writes in every case, both directions at once. Every item must arrive exactly
//! once, in the order written within its case. The test prints throughput and the end-to-end
//! latency distribution (from the item's creation on one side, Slack's `ts` or SIR's
//! `createdDate`, to its copy's on the other); it asserts no timing. The numbers are in
//! `docs/PERFORMANCE.md` (the full-size run).
//!
//! Size (environment variables; the defaults are the full run, 50 cases and 2,000 items, about
//! 8 minutes on a 2-core VM):
//!
//! - `SIRSLACK_LOAD_CASES` (50): cases, each with its channel;
//! - `SIRSLACK_LOAD_PER_CASE` (20): Slack messages per case, and as many SIR comments;
//! - `SIRSLACK_LOAD_RATE` (5): items created per second over all cases, both directions
//!   together (Slack messages and SIR comments alternate);
//! - `SIRSLACK_LOAD_WINDOW` (60): at most this many items offered but not yet seen on the other
//!   side; the next one waits until fewer are.
//!
//! The items are offered at a steady rate, and held back when too many are on their way,
//! because the local world has a capacity of its own: every DynamoDB, SQS and EventBridge call
//! goes to one moto process (one Python core, DynamoDB requests applied one at a time), about
//! 13 calls per item from the functions plus the harness's own. Offered faster than moto
//! answers, calls queue up in moto, the events handler no longer answers Slack within 3 s,
//! Slack's retries add load, and the run measures moto's collapse rather than sirslack. Slack
//! retries an event on its real schedule here (at once, after 1 minute, after 5 minutes), not
//! on the local world's compressed one, since this test is about behaviour under load.
//!
//! ```sh
//! cargo test -p sirslack-acceptance --test load -- --nocapture
//! SIRSLACK_LOAD_CASES=10 SIRSLACK_LOAD_PER_CASE=5 cargo test -p sirslack-acceptance --test load -- --nocapture
//! ```

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sirslack_acceptance::{run, shown, world_with};
use sirslack_local_run::cast::{ALICE, AWS_RESPONDER, BOB};
use sirslack_local_run::{CaseRequest, Function, InvocationOutcome, Trigger, World, WorldConfig};
use slack_standin::ChannelSnapshot;

/// Nothing in flight for this long: the run is over, late duplicates would have shown.
const QUIET: Duration = Duration::from_secs(5);
/// How often the delivery check looks (it reads every case on both sides).
const CHECK_INTERVAL: Duration = Duration::from_millis(250);
/// Cases created per second while setting up (channel creation is not what is measured).
const SETUP_RATE: f64 = 5.0;

/// How much load, from the environment.
#[derive(Debug, Clone, Copy)]
struct LoadSize {
    cases: usize,
    per_case: usize,
    rate: f64,
    window: usize,
}

impl LoadSize {
    fn from_env() -> Self {
        Self {
            cases: env_number("SIRSLACK_LOAD_CASES", 50),
            per_case: env_number("SIRSLACK_LOAD_PER_CASE", 20),
            rate: env_number("SIRSLACK_LOAD_RATE", 5) as f64,
            window: env_number("SIRSLACK_LOAD_WINDOW", 60),
        }
    }

    /// Items in both directions.
    fn items(&self) -> usize {
        self.cases * self.per_case * 2
    }

    /// How long the setup, or the settling after the run, may take.
    fn deadline(&self) -> Duration {
        Duration::from_secs(600)
    }

    /// How long the items may take to arrive after the last one was offered before the missing
    /// ones count as lost: the queues' backlog, redeliveries (the Slack client gives an event
    /// back for 60 s, then 120 s, 240 s...) and Slack's retries fit in it.
    fn drain_deadline(&self) -> Duration {
        Duration::from_secs(600)
    }
}

fn env_number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .ok()
            .filter(|number| *number > 0)
            .unwrap_or_else(|| panic!("{name} must be a positive whole number, not `{value}`")),
        Err(_) => default,
    }
}

/// One case under load.
struct LoadCase {
    index: usize,
    case_id: String,
    channel: ChannelSnapshot,
}

impl LoadCase {
    /// What people write in the case's channel; the tag is unique across the run.
    fn slack_text(&self, item: usize) -> String {
        format!(
            "{} load message {item} from Slack in case {}",
            slack_tag(self.index, item),
            self.index
        )
    }

    /// What the responder writes in the case.
    fn sir_text(&self, item: usize) -> String {
        format!(
            "{} load comment {item} from the responder in case {}",
            sir_tag(self.index, item),
            self.index
        )
    }

    /// The copies of Slack messages in SIR, and of SIR comments in Slack, so far.
    fn delivered(&self, world: &World) -> (usize, usize) {
        let prefix = slack_case_tag(self.index);
        let in_sir = world
            .sir()
            .comments(&self.case_id)
            .iter()
            .filter(|comment| comment.body.contains(&prefix))
            .count();
        let prefix = sir_case_tag(self.index);
        let in_slack = world
            .slack()
            .messages(&self.channel.id)
            .iter()
            .filter(|message| message.bot_id.is_some() && shown(message).contains(&prefix))
            .count();
        (in_sir, in_slack)
    }
}

fn slack_case_tag(case: usize) -> String {
    format!("L{case:03}S")
}

fn sir_case_tag(case: usize) -> String {
    format!("L{case:03}R")
}

fn slack_tag(case: usize, item: usize) -> String {
    format!("{}{item:03}", slack_case_tag(case))
}

fn sir_tag(case: usize, item: usize) -> String {
    format!("{}{item:03}", sir_case_tag(case))
}

/// A Slack `ts` (`"1700000000.000100"`, wall-clock seconds) in microseconds since 1970.
fn ts_micros(ts: &str) -> i64 {
    let (seconds, fraction) = ts.split_once('.').expect("a ts has a dot");
    let seconds: i64 = seconds.parse().expect("ts seconds");
    let fraction: i64 = format!("{fraction:0<6}")[..6].parse().expect("ts fraction");
    seconds * 1_000_000 + fraction
}

fn now_micros() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(now.as_micros()).expect("microseconds fit")
}

/// Percentiles of latencies in microseconds.
struct Distribution {
    sorted: Vec<i64>,
}

impl Distribution {
    fn new(mut latencies: Vec<i64>) -> Self {
        latencies.sort_unstable();
        Self { sorted: latencies }
    }

    /// The smallest value at least `share` of the samples are at or below (nearest rank).
    fn percentile(&self, share: f64) -> i64 {
        let rank = (share * self.sorted.len() as f64).ceil() as usize;
        self.sorted[rank.clamp(1, self.sorted.len()) - 1]
    }

    fn row(&self, what: &str) -> String {
        let ms = |micros: i64| format!("{:.0} ms", micros as f64 / 1000.0);
        format!(
            "| {what} | {} | {} | {} | {} | {} |",
            self.sorted.len(),
            ms(self.percentile(0.50)),
            ms(self.percentile(0.90)),
            ms(self.percentile(0.99)),
            ms(*self.sorted.last().expect("samples")),
        )
    }
}

/// Creates the cases at [`SETUP_RATE`] and waits for every channel.
async fn open_cases(world: &World, size: LoadSize) -> Vec<LoadCase> {
    let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / SETUP_RATE));
    let mut created = Vec::with_capacity(size.cases);
    for index in 0..size.cases {
        pace.tick().await;
        let request = CaseRequest {
            title: format!("Load case {index}"),
            ..CaseRequest::default()
        };
        created.push(world.create_case(&request).await.expect("CreateCase"));
    }
    let mut cases = Vec::with_capacity(size.cases);
    for (index, case_id) in created.into_iter().enumerate() {
        let channel = world
            .wait_for_case_channel(&case_id, size.deadline())
            .await
            .expect("every case gets its channel");
        cases.push(LoadCase {
            index,
            case_id,
            channel,
        });
    }
    cases
}

/// Slack messages copied to SIR, and SIR comments copied to Slack, over all cases.
fn delivered_so_far(world: &World, cases: &[LoadCase]) -> (usize, usize) {
    cases
        .iter()
        .map(|case| case.delivered(world))
        .fold((0, 0), |sum, case| (sum.0 + case.0, sum.1 + case.1))
}

/// Holds the next item back while `window` items or more are offered but not yet on the other
/// side; returns how long it held. Fails (reporting what is missing) when nothing arrives for
/// the drain deadline.
async fn hold_while_backlogged(
    world: &World,
    cases: &[LoadCase],
    size: LoadSize,
    posted: &HashMap<String, String>,
    offered: usize,
) -> Duration {
    let started = Instant::now();
    loop {
        let (in_sir, in_slack) = delivered_so_far(world, cases);
        if offered < in_sir + in_slack + size.window {
            return started.elapsed();
        }
        if started.elapsed() >= size.drain_deadline() {
            report_missing(world, cases, size, posted);
            panic!(
                "lost: {offered} items offered, {} arrived, nothing more for {:?}",
                in_sir + in_slack,
                started.elapsed()
            );
        }
        tokio::time::sleep(CHECK_INTERVAL).await;
    }
}

/// Waits (re-checking every [`CHECK_INTERVAL`]) until every case has all its items on the
/// other side, printing progress every 10 s.
async fn wait_all_delivered(
    world: &World,
    cases: &[LoadCase],
    size: LoadSize,
    posted: &HashMap<String, String>,
    invocations_before: usize,
) {
    let started = Instant::now();
    let mut reported = Duration::ZERO;
    loop {
        let (in_sir, in_slack) = delivered_so_far(world, cases);
        let expected = size.cases * size.per_case;
        if in_sir >= expected && in_slack >= expected {
            return;
        }
        let waited = started.elapsed();
        if waited >= size.drain_deadline() {
            report_missing(world, cases, size, posted);
            panic!(
                "lost: {waited:?} after the last item was offered, {in_sir}/{expected} Slack \
                 messages in SIR and {in_slack}/{expected} SIR comments in Slack"
            );
        }
        if waited >= reported + Duration::from_secs(10) {
            reported = waited;
            println!(
                "  {:>4.0} s: {in_sir}/{expected} in SIR, {in_slack}/{expected} in Slack; {}",
                waited.as_secs_f64(),
                activity(world, invocations_before).await
            );
        }
        tokio::time::sleep(CHECK_INTERVAL).await;
    }
}

/// Prints every item that did not arrive and, for a Slack message, Slack's deliveries of it.
fn report_missing(
    world: &World,
    cases: &[LoadCase],
    size: LoadSize,
    posted: &HashMap<String, String>,
) {
    let deliveries = world.slack_deliveries();
    for case in cases {
        let comments = world.sir().comments(&case.case_id);
        let messages = world.slack().messages(&case.channel.id);
        for item in 1..=size.per_case {
            let tag = slack_tag(case.index, item);
            if !comments.iter().any(|comment| comment.body.contains(&tag)) {
                let ts = posted.get(&tag).map(String::as_str);
                let attempts: Vec<(u32, Option<u16>, u128)> = deliveries
                    .iter()
                    .filter(|delivery| delivery.event_ts.as_deref() == ts)
                    .map(|delivery| {
                        (
                            delivery.attempt,
                            delivery.status,
                            delivery.elapsed.as_millis(),
                        )
                    })
                    .collect();
                println!(
                    "missing in SIR: {tag} (ts {ts:?}); deliveries (attempt, status, ms): {attempts:?}"
                );
            }
            let tag = sir_tag(case.index, item);
            if !messages.iter().any(|message| shown(message).contains(&tag)) {
                println!("missing in Slack: {tag} (case {})", case.case_id);
            }
        }
    }
}

/// What the functions did since the run started: invocations and failures per function, and
/// the Slack client's records given back to the queue.
async fn activity(world: &World, invocations_before: usize) -> String {
    let invocations = world.invocations();
    let invocations = &invocations[invocations_before.min(invocations.len())..];
    let mut parts = Vec::new();
    for function in [
        Function::Poller,
        Function::SlackClient,
        Function::EventsHandler,
    ] {
        let of_function: Vec<_> = invocations
            .iter()
            .filter(|invocation| invocation.function == function)
            .collect();
        let failed = of_function
            .iter()
            .filter(|invocation| !invocation.outcome.is_success())
            .count();
        let timed_out = of_function
            .iter()
            .filter(|invocation| invocation.outcome == InvocationOutcome::TimedOut)
            .count();
        let example = of_function
            .iter()
            .find_map(|invocation| match &invocation.outcome {
                InvocationOutcome::Failed(error) => {
                    Some(error.chars().take(160).collect::<String>())
                }
                _ => None,
            });
        parts.push(format!(
            "{function:?} {} ({failed} failed, {timed_out} timed out{})",
            of_function.len(),
            example
                .map(|error| format!(", e.g. {error}"))
                .unwrap_or_default()
        ));
    }
    let given_back: usize = invocations
        .iter()
        .filter(|invocation| invocation.function == Function::SlackClient)
        .filter_map(|invocation| match &invocation.outcome {
            InvocationOutcome::Succeeded(response) => response
                .get("batchItemFailures")
                .and_then(serde_json::Value::as_array)
                .map(Vec::len),
            _ => None,
        })
        .sum();
    parts.push(format!("Slack client records given back {given_back}"));
    let lazy = invocations
        .iter()
        .filter(|invocation| {
            invocation.function == Function::EventsHandler
                && matches!(invocation.trigger, Trigger::RuleEvent { .. })
        })
        .count();
    parts.push(format!("events handler lazy runs {lazy}"));
    let deliveries = world.slack_deliveries();
    let retries = deliveries
        .iter()
        .filter(|delivery| delivery.attempt > 0)
        .count();
    let unanswered = deliveries
        .iter()
        .filter(|delivery| !delivery.acknowledged())
        .count();
    parts.push(format!(
        "Slack deliveries {} ({retries} retries, {unanswered} not acknowledged)",
        deliveries.len()
    ));
    // How long moto takes to answer a cheap call: the local world's bottleneck under load.
    let probe = Instant::now();
    let _ = world.queue_depth(&world.queues().poller).await;
    parts.push(format!(
        "moto answers in {} ms",
        probe.elapsed().as_millis()
    ));
    parts.join(", ")
}

/// Waits until nothing is in flight for [`QUIET`] (late duplicates would have shown), saying
/// every 30 s what is still going on.
async fn settle(world: &World, size: LoadSize, invocations_before: usize) {
    let started = Instant::now();
    loop {
        if world
            .wait_until_quiet(QUIET, Duration::from_secs(30))
            .await
            .is_ok()
        {
            return;
        }
        let waited = started.elapsed();
        assert!(waited < size.deadline(), "the world never settled");
        let queues = world.queues();
        let mut depths = Vec::new();
        for (name, queue) in [
            ("Slack client", &queues.slack_client),
            ("poller", &queues.poller),
            ("lazy work", &queues.lazy_work),
        ] {
            let depth = world.queue_depth(queue).await.ok();
            depths.push(format!("{name} {depth:?}"));
        }
        println!(
            "  settling {:>4.0} s: queues {}; {}",
            waited.as_secs_f64(),
            depths.join(", "),
            activity(world, invocations_before).await
        );
    }
}

#[test]
fn load_both_ways_delivers_every_item_once_in_order() {
    run(async {
        let size = LoadSize::from_env();
        let mut config = WorldConfig::for_tests();
        // Slack's own retry schedule: immediately, after 1 minute, after 5 minutes.
        config.slack_events.retry_delays = vec![
            Duration::from_millis(500),
            Duration::from_secs(60),
            Duration::from_secs(300),
        ];
        let world = world_with(config).await;
        world.slack().set_channel_rate_limit(true);
        println!(
            "load: {} cases x ({} Slack messages + {} SIR comments) = {} items, offered at {} \
             items/s, at most {} on their way",
            size.cases,
            size.per_case,
            size.per_case,
            size.items(),
            size.rate,
            size.window
        );

        let setup = Instant::now();
        let cases = open_cases(&world, size).await;
        world
            .wait_until_quiet(QUIET, size.deadline())
            .await
            .expect("the channels settle");
        println!(
            "setup: {} cases with their channels in {:.1} s",
            cases.len(),
            setup.elapsed().as_secs_f64()
        );
        let deliveries_before = world.slack_deliveries().len();
        let invocations_before = world.invocations().len();
        let aws_calls_before: u64 = world
            .aws_faults()
            .call_counts()
            .iter()
            .filter(|(call, _)| call.service != "security-ir")
            .map(|(_, count)| count)
            .sum();
        let limited_before = world
            .slack()
            .calls_to("chat.postMessage")
            .iter()
            .filter(|call| call.status == 429)
            .count();

        // Both directions at once: item by item, every case in turn, a Slack message and a
        // SIR comment each, paced at the offered rate.
        let run_started = Instant::now();
        let first_created = now_micros();
        let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / size.rate));
        // After a hold the pace starts again from now, it does not catch up in a burst.
        pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut posted: HashMap<String, String> = HashMap::new();
        let mut held = Duration::ZERO;
        for item in 1..=size.per_case {
            for (offered_in_round, case) in cases.iter().enumerate() {
                let outstanding = 2 * ((item - 1) * cases.len() + offered_in_round);
                held += hold_while_backlogged(&world, &cases, size, &posted, outstanding).await;
                pace.tick().await;
                let person = if item % 2 == 0 { &BOB } else { &ALICE };
                let ts = world
                    .post_message(&case.channel.id, person.slack_id, &case.slack_text(item))
                    .expect("Slack takes the message");
                posted.insert(slack_tag(case.index, item), ts);
                pace.tick().await;
                world
                    .sir()
                    .add_comment(&case.case_id, case.sir_text(item), AWS_RESPONDER)
                    .expect("SIR takes the comment");
            }
            let (in_sir, in_slack) = delivered_so_far(&world, &cases);
            println!(
                "  {:>4.0} s: offered {} per direction, {in_sir} in SIR, {in_slack} in Slack, \
                 held back {:.0} s; {}",
                run_started.elapsed().as_secs_f64(),
                item * cases.len(),
                held.as_secs_f64(),
                activity(&world, invocations_before).await
            );
        }
        let offered = run_started.elapsed();
        println!(
            "offered: {} items in {:.1} s (held back {:.1} s by the window)",
            size.items(),
            offered.as_secs_f64(),
            held.as_secs_f64()
        );
        wait_all_delivered(&world, &cases, size, &posted, invocations_before).await;
        let delivered = run_started.elapsed();
        settle(&world, size, invocations_before).await;
        println!(
            "settled: {:.1} s after the first item",
            run_started.elapsed().as_secs_f64()
        );

        // Exactly once, in order, and the latencies: Slack ts and SIR createdDate are both
        // wall-clock times taken by the stand-ins as the item was created or stored.
        let mut slack_to_sir = Vec::new();
        let mut sir_to_slack = Vec::new();
        let mut last_observed = first_created;
        for case in &cases {
            let comments = world.sir().comments(&case.case_id);
            let messages: Vec<_> = world
                .slack()
                .messages(&case.channel.id)
                .into_iter()
                .filter(|message| message.bot_id.is_some())
                .collect();
            let mut previous_comment = None;
            let mut previous_message = None;
            for item in 1..=size.per_case {
                let tag = slack_tag(case.index, item);
                let copies: Vec<(usize, &sir_standin::CommentRecord)> = comments
                    .iter()
                    .enumerate()
                    .filter(|(_, comment)| comment.body.contains(&tag))
                    .collect();
                assert_eq!(copies.len(), 1, "{tag} in SIR: {copies:?}");
                let (position, copy) = copies[0];
                assert!(
                    previous_comment.is_none_or(|previous| previous < position),
                    "case {}: {tag} is out of order in SIR",
                    case.index
                );
                previous_comment = Some(position);
                let observed = copy.created_date.timestamp_micros();
                slack_to_sir.push(observed - ts_micros(&posted[&tag]));
                last_observed = last_observed.max(observed);

                let tag = sir_tag(case.index, item);
                let originals: Vec<_> = comments
                    .iter()
                    .filter(|comment| comment.body.contains(&tag))
                    .collect();
                assert_eq!(originals.len(), 1, "{tag} is not copied back to SIR");
                let created = originals[0].created_date.timestamp_micros();
                let copies: Vec<usize> = messages
                    .iter()
                    .enumerate()
                    .filter(|(_, message)| shown(message).contains(&tag))
                    .map(|(position, _)| position)
                    .collect();
                assert_eq!(copies.len(), 1, "{tag} in Slack: {copies:?}");
                assert!(
                    previous_message.is_none_or(|previous| previous < copies[0]),
                    "case {}: {tag} is out of order in Slack",
                    case.index
                );
                previous_message = Some(copies[0]);
                let observed = ts_micros(&messages[copies[0]].ts);
                sir_to_slack.push(observed - created);
                last_observed = last_observed.max(observed);
            }
            let echoed = world
                .slack()
                .messages(&case.channel.id)
                .iter()
                .filter(|message| message.bot_id.is_some())
                .filter(|message| shown(message).contains(&slack_case_tag(case.index)))
                .count();
            assert_eq!(echoed, 0, "case {}: Slack messages echoed back", case.index);
        }
        for function in [
            Function::Poller,
            Function::SlackClient,
            Function::EventsHandler,
            Function::CommandHandler,
        ] {
            let parked = world
                .dead_letters(function)
                .await
                .expect("the DLQ is readable");
            assert!(
                parked.is_empty(),
                "{function:?} dead letters: {}",
                parked.len()
            );
        }

        // The report.
        let span = Duration::from_micros(
            u64::try_from(last_observed - first_created).expect("a positive span"),
        );
        let throughput = size.items() as f64 / span.as_secs_f64();
        let deliveries = &world.slack_deliveries()[deliveries_before..];
        let retries = deliveries
            .iter()
            .filter(|delivery| delivery.attempt > 0)
            .count();
        let throttled = deliveries
            .iter()
            .filter(|delivery| delivery.status == Some(429))
            .count();
        let invocations = &world.invocations()[invocations_before..];
        let count = |function: Function| {
            invocations
                .iter()
                .filter(|invocation| invocation.function == function)
                .count()
        };
        let batches: Vec<usize> = invocations
            .iter()
            .filter_map(|invocation| match invocation.trigger {
                Trigger::SqsBatch { records } => Some(records),
                _ => None,
            })
            .collect();
        let limited = world
            .slack()
            .calls_to("chat.postMessage")
            .iter()
            .filter(|call| call.status == 429)
            .count()
            - limited_before;
        let aws_calls = |world: &World| -> u64 {
            world
                .aws_faults()
                .call_counts()
                .iter()
                .filter(|(call, _)| call.service != "security-ir")
                .map(|(_, count)| count)
                .sum()
        };
        let aws_calls = aws_calls(&world) - aws_calls_before;
        let both: Vec<i64> = slack_to_sir.iter().chain(&sir_to_slack).copied().collect();
        println!();
        println!(
            "delivered: {} items, each exactly once and in order per case, {:.1} s after the first was created \
             (offering took {:.1} s, all seen by the test after {:.1} s)",
            size.items(),
            span.as_secs_f64(),
            offered.as_secs_f64(),
            delivered.as_secs_f64()
        );
        println!("throughput: {throughput:.1} items/s end to end");
        println!();
        println!("| direction | n | p50 | p90 | p99 | max |");
        println!("|---|---|---|---|---|---|");
        println!(
            "{}",
            Distribution::new(slack_to_sir).row("Slack message -> SIR comment")
        );
        println!(
            "{}",
            Distribution::new(sir_to_slack).row("SIR comment -> Slack message")
        );
        println!("{}", Distribution::new(both).row("both"));
        println!();
        println!(
            "Events API deliveries: {} ({retries} retries, {throttled} answered 429 by the stage throttle); \
             invocations: poller {}, Slack client {} (mean batch {:.1} records), events handler {}; \
             chat.postMessage answered 429 (1 message/s/channel): {limited}; \
             the functions' AWS calls (moto): {aws_calls} ({:.1} per item)",
            deliveries.len(),
            count(Function::Poller),
            count(Function::SlackClient),
            batches.iter().sum::<usize>() as f64 / batches.len().max(1) as f64,
            count(Function::EventsHandler),
            aws_calls as f64 / size.items() as f64,
        );
    });
}
