//! A small Bolt-style router for the requests Slack sends to an app: Events API callbacks,
//! slash commands and interactivity payloads, all arriving at one HTTPS endpoint.
//!
//! Slack gives an app 3 seconds to answer. The router therefore does only what must happen
//! before the answer, in this order, on every request:
//!
//! 1. **body size** over the limit: `413`;
//! 2. **signature** over the raw body (`v0` HMAC-SHA256, 5-minute window, constant time, with
//!    slack-morphism's [`SlackEventSignatureVerifier`](slack_morphism::signature_verifier::SlackEventSignatureVerifier));
//!    on a mismatch the [`KeySource`] may re-read the signing secret once, so a rotated secret
//!    is picked up at once; still wrong, or headers missing: `401` and nothing else happens;
//! 3. **parse** the body leniently ([`Inbound`]): unknown event types, message subtypes and
//!    block types are fine, a body that is not a Slack payload at all is `400`;
//! 4. **workspace**: a `team_id` other than the configured one is acknowledged and ignored;
//!    so is, when [`RouterBuilder::app_id`] is set, a request for another Slack app
//!    ([`Inbound::is_for_another_app`]);
//! 5. **`url_verification`** answered with its challenge;
//! 6. **dedupe** an event by `event_id` and by content ([`EventCallback::content_key`]) with
//!    conditional writes ([`Deduplicator`], both at once). A marker is *claimed* (with a
//!    lease) until the listener's work is done or handed off, then *done*: a duplicate of done
//!    work is acknowledged and dropped; a redelivery of work still claimed gets `500` (Slack
//!    retries later), and one whose claim went stale (the first delivery's process died) takes
//!    the work over. A listener's [`EventFilter`] runs first: what it turns away (a bot's
//!    message, a channel nobody listens to) costs no write;
//! 7. **route** to the listener registered for the event type, the slash command, the block
//!    action's action ID, the shortcut's or modal's callback ID (`shortcut`, `message_action`,
//!    `view_submission`, `view_closed`), or the `external_select`'s action ID
//!    (`block_suggestion`). Interactions are never deduplicated (Slack does not retry them);
//!    one nobody registered for gets an empty `200`. A listener answers with an [`Outcome`]:
//!    the [`Ack`] Slack gets (a message, a modal's `response_action`
//!    ([`Ack::view_errors`]...), options ([`Ack::options`])), and optionally [`HandOff`]s: slow
//!    work continued in another invocation (a named lazy listener of this function, or another
//!    function such as a command handler), sent through a [`HandOffSink`] before the ack is
//!    returned. A listener that fails on a modal submission leaves the modal open with an
//!    error under its first input block ([`RouterBuilder::view_submission_failure_text`]).
//!
//! Every verified request gets a 2xx, including events nobody listens to. The exceptions are
//! an event whose work could not be done *and* could not be handed off (its dedupe markers are
//! released) and a redelivery of an event another delivery still holds: the answer is `500`,
//! so that Slack's retry gets a second chance.
//!
//! The router knows nothing about AWS: secrets, dedupe storage and hand-off transport are
//! traits, implemented with SSM, DynamoDB and Lambda by the events handler, and in memory by
//! tests ([`StaticKeys`], [`MemoryDeduplicator`], [`RecordingHandOffSink`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ack;
mod dedupe;
mod envelope;
mod handoff;
pub mod invocation;
mod keys;
mod router;
mod signature;

use std::future::Future;
use std::pin::Pin;

pub use ack::{
    Ack, MAX_OPTIONS, OPTION_TEXT_MAX, OPTION_VALUE_MAX, OptionGroup, Outcome, SelectOption,
};
pub use dedupe::{
    Claim, DEFAULT_CLAIM_LEASE, DedupeError, DedupeScope, Deduplicator, MemoryDeduplicator,
};
pub use envelope::{
    ActionItem, BlockAction, BlockSuggestion, EventCallback, Inbound, MalformedBody, MessageFile,
    MessageShortcut, ResponseUrl, Shortcut, ShortcutMessage, SlashCommand, View, ViewClosed,
    ViewResponseUrl, ViewState, ViewSubmission, parse_inbound,
};
pub use handoff::{
    HandOff, HandOffDestination, HandOffError, HandOffSink, HandOffTarget, LAZY_INVOCATION_KEY,
    LazyCall, LazyInvocation, RecordedHandOff, RecordingHandOffSink,
};
pub use invocation::{
    COMMAND_INVOCATION_VERSION, CaseMessageOrigin, CommandInvocation,
    DECLARATION_INVOCATION_VERSION, DECLARATION_KIND, DeclarationInvocation, DeclarationKind,
    FORWARD_CLAIM_SCOPE, FORWARD_INVOCATION_KIND, ForwardFilesJob, ForwardInvocation,
    HOME_INVOCATION_KIND, HomeInvocation, InvocationKind, LAZY_FORWARD_FILES, ResponseUrlError,
    forward_claim_key, invocation_kind,
};
pub use keys::{KeySource, KeySourceError, StaticKeys, VerifierKeys};
pub use router::{
    ActionListener, ActionRequest, CommandListener, CommandRequest, DEFAULT_MAX_BODY_BYTES,
    DEFERRED_EVENT_LAZY, EventFilter, EventListener, EventRequest, InteractionListener, LazyError,
    LazyListener, LazyRequest, ListenerError, MessageShortcutRequest, OptionsRequest, RetryInfo,
    Router, RouterBuilder, ShortcutRequest, ViewClosedRequest, ViewSubmissionRequest,
};
pub use signature::{
    REPLAY_WINDOW_SECONDS, SIGNATURE_HEADER, SignatureError, SigningSecret, TIMESTAMP_HEADER,
    verify_signature,
};

/// `X-Slack-Retry-Num`: set by Slack on a redelivery.
pub const RETRY_NUM_HEADER: &str = "x-slack-retry-num";
/// `X-Slack-Retry-Reason`: why Slack redelivered (`http_timeout`, `http_error`...).
pub const RETRY_REASON_HEADER: &str = "x-slack-retry-reason";

/// A boxed, sendable future: what listeners and the pluggable edges return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
