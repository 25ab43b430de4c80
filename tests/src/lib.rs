//! End-to-end acceptance suite for sirslack; the tests live in `tests/tests/`.
//!
//! Every test runs the four functions wired as in AWS on a world of its own
//! ([`sirslack_local_run::World`]); the worlds of one test binary share one moto server (each
//! with its own uniquely named table, buses, queues and parameters), so a world costs well
//! under a second after the first.

use std::time::Duration;

use sir_standin::CommentRecord;
use sirslack_local_run::{CaseRequest, World, WorldConfig};
use slack_standin::{ChannelSnapshot, Message, ResponsePost};

/// How long any one thing may take to show up on the other side.
pub const WAIT: Duration = Duration::from_secs(30);

/// A world for one test: shared moto, the cast seeded (Slack users, SIR's response team).
pub async fn world() -> World {
    world_with(WorldConfig::for_tests()).await
}

/// A world with a chosen configuration (the cast seeded).
pub async fn world_with(config: WorldConfig) -> World {
    // The functions' logs, when asked for: RUST_LOG=warn (or info, debug) cargo test ...
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let world = World::start(config).await.expect("the local world starts");
    world.seed_cast().expect("the cast is seeded");
    world
}

/// A case created through the SIR API, and its channel once the integration made it.
pub struct OpenCase {
    /// The SIR case ID.
    pub case_id: String,
    /// The case's Slack channel.
    pub channel: ChannelSnapshot,
}

/// Creates the default case (watchers Alice and Bob) and waits until its channel is set up
/// (watchers invited, initial message posted, SIR told).
pub async fn open_case(world: &World) -> OpenCase {
    open_case_with(world, &CaseRequest::default()).await
}

/// Creates a case and waits until its channel is set up.
pub async fn open_case_with(world: &World, request: &CaseRequest) -> OpenCase {
    let case_id = world.create_case(request).await.expect("CreateCase");
    let channel = world
        .wait_for_case_ready(&case_id, WAIT)
        .await
        .expect("the case gets its channel");
    OpenCase { case_id, channel }
}

/// Runs a test body on a runtime whose threads have the stack a Lambda process's main thread
/// has (the handlers' futures are deep in debug builds).
pub fn run<F: std::future::Future<Output = ()>>(test: F) {
    sirslack_local_run::runtime()
        .expect("the test runtime starts")
        .block_on(test);
}

/// Everything a Slack message shows: its text and its blocks.
pub fn shown(message: &Message) -> String {
    let mut shown = message.text.clone().unwrap_or_default();
    if let Some(blocks) = &message.blocks {
        shown.push('\n');
        shown.push_str(&blocks.to_string());
    }
    shown
}

/// The app's own messages in a channel, in order.
pub fn app_messages(world: &World, channel_id: &str) -> Vec<Message> {
    world
        .slack()
        .messages(channel_id)
        .into_iter()
        .filter(|message| message.bot_id.is_some())
        .collect()
}

/// How many of the app's messages in a channel show `needle`.
pub fn app_messages_showing(world: &World, channel_id: &str, needle: &str) -> usize {
    app_messages(world, channel_id)
        .iter()
        .filter(|message| shown(message).contains(needle))
        .count()
}

/// The case's SIR comments whose body contains `needle`.
pub fn comments_containing(world: &World, case_id: &str, needle: &str) -> Vec<CommentRecord> {
    world
        .sir()
        .comments(case_id)
        .into_iter()
        .filter(|comment| comment.body.contains(needle))
        .collect()
}

/// Waits until a SIR comment of the case contains `needle` and returns it.
pub async fn wait_for_comment(world: &World, case_id: &str, needle: &str) -> CommentRecord {
    world
        .wait_until(&format!("a SIR comment with `{needle}`"), WAIT, |world| {
            !comments_containing(world, case_id, needle).is_empty()
        })
        .await
        .expect("the comment reaches SIR");
    comments_containing(world, case_id, needle)
        .into_iter()
        .next()
        .expect("the comment is there")
}

/// Waits until one of the app's messages in the channel shows `needle` and returns it.
pub async fn wait_for_app_message(world: &World, channel_id: &str, needle: &str) -> Message {
    let find = |world: &World| {
        app_messages(world, channel_id)
            .into_iter()
            .find(|message| shown(message).contains(needle))
    };
    world
        .wait_until(
            &format!("a Slack message showing `{needle}`"),
            WAIT,
            |world| find(world).is_some(),
        )
        .await
        .expect("the message reaches Slack");
    find(world).expect("the message is there")
}

/// Waits until the `response_url` of a command got a post containing `needle`.
pub async fn wait_for_response(world: &World, response_token: &str, needle: &str) -> ResponsePost {
    let find = |world: &World| {
        world
            .slack()
            .response_posts(response_token)
            .into_iter()
            .find(|post| post.body.to_string().contains(needle))
    };
    world
        .wait_until(
            &format!("a response_url post with `{needle}`"),
            WAIT,
            |world| find(world).is_some(),
        )
        .await
        .expect("the command handler answers");
    find(world).expect("the answer is there")
}
