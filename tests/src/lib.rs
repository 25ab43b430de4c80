//! End-to-end acceptance suite for sirslack; the tests live in `tests/tests/`.
//!
//! Every test runs the four functions wired as in AWS on a world of its own
//! ([`sirslack_local_run::World`]); the worlds of one test binary share one moto server (each
//! with its own uniquely named table, buses, queues and parameters), so a world costs well
//! under a second after the first.

use std::time::Duration;

use sir_standin::CommentRecord;
use sirslack_local_run::{CaseRequest, HttpReply, Person, World, WorldConfig};
use slack_standin::signing::InputValue;
use slack_standin::{ChannelSnapshot, Message, OpenView, ResponsePost, ViewAnswer};

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

/// What the app told `person` in `channel` (the text of their ephemeral messages there), in order.
pub fn told(world: &World, channel: &str, person: &Person) -> Vec<String> {
    world
        .slack()
        .ephemeral_messages(channel)
        .into_iter()
        .filter(|message| message.user == person.slack_id)
        .filter_map(|message| message.text)
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

// ---- interactivity: shortcuts and modals, sent as Slack sends them -------------------------

/// Slack's deadline for the ack of any interactive payload (shortcuts, submissions, options).
pub const ACK_DEADLINE: Duration = Duration::from_secs(3);

/// `person` uses the app's global shortcut `callback_id`: the signed `shortcut` payload (with a
/// trigger the Slack stand-in issued) POSTed to the endpoint; the app's ack.
pub async fn use_shortcut(world: &World, person: &Person, callback_id: &str) -> HttpReply {
    let shortcut = world
        .slack()
        .shortcut(person.slack_id, callback_id)
        .expect("the person is a Slack user");
    send_interaction(world, shortcut.into_body()).await
}

/// `person` uses the app's message shortcut `callback_id` on the message `message_ts` of
/// `channel_id`: the ack and the token of the payload's `response_url`
/// (`world.slack().response_posts(token)`).
pub async fn use_message_shortcut(
    world: &World,
    person: &Person,
    channel_id: &str,
    message_ts: &str,
    callback_id: &str,
) -> (HttpReply, String) {
    let response_token = format!("msg-action-{}-{message_ts}", person.slack_id);
    let action = world
        .slack()
        .message_action(
            person.slack_id,
            channel_id,
            message_ts,
            callback_id,
            &response_token,
        )
        .expect("the person can see the message");
    (
        send_interaction(world, action.into_body()).await,
        response_token,
    )
}

/// Waits until `user_id` has a modal with `callback_id` on top of their stack and returns it.
pub async fn wait_for_open_view(world: &World, user_id: &str, callback_id: &str) -> OpenView {
    let top = |world: &World| {
        world
            .slack()
            .open_views(user_id)
            .pop()
            .filter(|view| view.callback_id() == callback_id)
    };
    world
        .wait_until(
            &format!("a modal `{callback_id}` open for {user_id}"),
            WAIT,
            |world| top(world).is_some(),
        )
        .await
        .expect("the app opens the modal");
    top(world).expect("the modal is open")
}

/// `person` fills in `values` (`(block_id, action_id, value)`) and submits their top view
/// `view_id`: the app's ack, and what Slack did with it (the ack's JSON body applied to the
/// modal: closed, field errors, updated, pushed...).
pub async fn submit_view(
    world: &World,
    person: &Person,
    view_id: &str,
    values: &[(&str, &str, InputValue)],
) -> (HttpReply, ViewAnswer) {
    let submission = world
        .slack()
        .view_submission(person.slack_id, view_id, values)
        .expect("a submission the person can make");
    let ack = send_interaction(world, submission.into_body()).await;
    let body = ack.body.trim();
    let answer = if ack.status != 200 {
        ViewAnswer::Refused(format!("HTTP {}: {body}", ack.status))
    } else if body.is_empty() {
        world
            .slack()
            .answer_view_submission(view_id, None)
            .expect("the view is open")
    } else {
        match serde_json::from_str::<serde_json::Value>(body) {
            Ok(json) => world
                .slack()
                .answer_view_submission(view_id, Some(&json))
                .expect("the view is open"),
            Err(_) => ViewAnswer::Refused(format!("not JSON: {body}")),
        }
    };
    (ack, answer)
}

/// `person` closes their top view `view_id` (Cancel, or the X when `clear_all`): the app's ack
/// of the `view_closed` payload, or `None` when the view did not ask to be told
/// (`notify_on_close`), as Slack then sends nothing.
pub async fn close_view(
    world: &World,
    person: &Person,
    view_id: &str,
    clear_all: bool,
) -> Option<HttpReply> {
    let closed = world
        .slack()
        .close_view(person.slack_id, view_id, clear_all)
        .expect("the view is the person's top view")?;
    Some(send_interaction(world, closed.into_body()).await)
}

/// `person` types `typed` into the external select `block_id`/`action_id` of their top view:
/// the app's answer to the `block_suggestion` (its body holds `{"options":[...]}`).
pub async fn type_in_select(
    world: &World,
    person: &Person,
    view_id: &str,
    block_id: &str,
    action_id: &str,
    typed: &str,
) -> HttpReply {
    let suggestion = world
        .slack()
        .block_suggestion(person.slack_id, view_id, block_id, action_id, typed)
        .expect("an external select the person can type into");
    send_interaction(world, suggestion.into_body()).await
}

/// Signs an interactivity body and POSTs it, giving up after [`ACK_DEADLINE`] as Slack does.
async fn send_interaction(world: &World, body: slack_standin::signing::InboundBody) -> HttpReply {
    let request = world.signer().sign(body);
    world
        .send_signed_with_timeout(&request, ACK_DEADLINE)
        .await
        .expect("the endpoint answers within Slack's 3 s")
}
