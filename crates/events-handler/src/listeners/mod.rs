//! The listeners, and their registration on the router.
//!
//! | Slack | Ack path | Continued in |
//! |---|---|---|
//! | `message` in a case channel | comment inline within the budget | lazy `sir_comment` when over budget or failing |
//! | `member_joined_channel` / `member_left_channel` | same | same |
//! | `file_shared` in a case channel | channel check | lazy `file_transfer` |
//! | `/security-ir <sub>` | `Working on it...` | the command handler |
//! | block actions | empty ack | the command handler |
//! | `app_home_opened` (`tab: home`), no channel filter | empty ack | the command handler (`views.publish`) |
//! | `/security-ir create` (any channel), shortcut `declare_security_incident` | `views.open` of the declare modal, then the ack | - |
//! | the Home tab's `declare_open` button | `views.open` of the declare modal, then the ack | - |
//! | `view_submission` of `declare_case` | field errors, or `clear` | the command handler (`CreateCase`) |
//! | message shortcut `send_to_case` | `chat.getPermalink`, `views.open`, the message kept under the view | - |
//! | `block_suggestion` of `send_to_case_case` | the person's open cases as options | - |
//! | `view_submission` of `send_to_case_modal` | field error, or `clear` | the command handler (one SIR comment), then, with the files asked for, lazy `forward_files` (handed over by the command handler) |
//! | the case message's Edit title / Edit description buttons | `views.open` of the edit modal (pre-filled from the snapshot), then the ack | - |
//! | `view_submission` of `edit_case_title` / `edit_case_description` | field errors, or `clear` | the command handler (`update-title` / `update-description`) |

pub mod command;
pub mod comment;
pub mod declare;
pub mod edit;
pub mod file;
pub mod forward;
pub mod home;
pub mod membership;
pub mod message;

use std::sync::Arc;

use sirslack_domain::command::SLASH_COMMAND;
use sirslack_slack_router::{BoxFuture, EventCallback, EventFilter, ListenerError, RouterBuilder};
use tracing::error;

use crate::app::App;

/// Lazy listener writing SIR comments that did not fit the ack path.
pub const LAZY_COMMENT: &str = "sir_comment";
/// Lazy listener copying a shared file to SIR.
pub const LAZY_FILE_TRANSFER: &str = "file_transfer";

/// Registers every listener of the events handler.
pub fn register(builder: RouterBuilder, app: &Arc<App>) -> RouterBuilder {
    let on_message = Arc::clone(app);
    let on_join = Arc::clone(app);
    let on_leave = Arc::clone(app);
    let on_file = Arc::clone(app);
    let on_command = Arc::clone(app);
    let on_action = Arc::clone(app);
    let lazy_comment = Arc::clone(app);
    let lazy_file = Arc::clone(app);
    let lazy_forward_files = Arc::clone(app);
    let on_home = Arc::clone(app);
    let on_declare_shortcut = Arc::clone(app);
    let on_declare_submit = Arc::clone(app);
    let on_declare_button = Arc::clone(app);
    let (on_forward, on_forward_options, on_forward_submit) =
        (Arc::clone(app), Arc::clone(app), Arc::clone(app));
    let builder = register_edits(builder, app);
    builder
        .event_with_filter(
            "message",
            CaseChannelFilter::new(app, message::skip_reason),
            move |request| {
                let app = Arc::clone(&on_message);
                async move { message::on_message(&app, request).await }
            },
        )
        .event_with_filter(
            "member_joined_channel",
            CaseChannelFilter::new(app, membership::skip_reason),
            move |request| {
                let app = Arc::clone(&on_join);
                async move { membership::on_membership(&app, request, true).await }
            },
        )
        .event_with_filter(
            "member_left_channel",
            CaseChannelFilter::new(app, membership::skip_reason),
            move |request| {
                let app = Arc::clone(&on_leave);
                async move { membership::on_membership(&app, request, false).await }
            },
        )
        .event_with_filter(
            "file_shared",
            CaseChannelFilter::new(app, file::skip_reason),
            move |request| {
                let app = Arc::clone(&on_file);
                async move { file::on_file_shared(&app, request).await }
            },
        )
        // No case channel: the Home tab is the person's, not a channel's.
        .event_with_filter(
            "app_home_opened",
            EventOnlyFilter(home::skip_reason),
            move |request| {
                let app = Arc::clone(&on_home);
                async move { home::on_app_home_opened(&app, request).await }
            },
        )
        .command(SLASH_COMMAND, move |request| {
            let app = Arc::clone(&on_command);
            async move { command::on_slash_command(&app, request).await }
        })
        .shortcut(declare::DECLARE_SHORTCUT_CALLBACK_ID, move |request| {
            let app = Arc::clone(&on_declare_shortcut);
            async move { declare::on_declare_shortcut(&app, request).await }
        })
        .view_submission(declare::DECLARE_CALLBACK_ID, move |request| {
            let app = Arc::clone(&on_declare_submit);
            async move { declare::on_declare_submission(&app, request).await }
        })
        .message_shortcut(forward::SEND_TO_CASE_SHORTCUT_ID, move |request| {
            let app = Arc::clone(&on_forward);
            async move { forward::on_send_to_case(&app, request).await }
        })
        .options(forward::CASE_BLOCK_ID, move |request| {
            let app = Arc::clone(&on_forward_options);
            async move { forward::on_case_options(&app, request).await }
        })
        .view_submission(forward::FORWARD_CALLBACK_ID, move |request| {
            let app = Arc::clone(&on_forward_submit);
            async move { forward::on_forward_submission(&app, request).await }
        })
        // Before the catch-all: the Home tab's button has no case channel.
        .action(
            sirslack_mapper::home::DECLARE_BUTTON_ACTION_ID,
            move |request| {
                let app = Arc::clone(&on_declare_button);
                async move { declare::on_declare_button(&app, request).await }
            },
        )
        .action_prefix("", move |request| {
            let app = Arc::clone(&on_action);
            command::on_block_action(app, request)
        })
        .lazy(LAZY_COMMENT, move |request| {
            let app = Arc::clone(&lazy_comment);
            async move { comment::run_lazy(&app, request).await }
        })
        .lazy(LAZY_FILE_TRANSFER, move |request| {
            let app = Arc::clone(&lazy_file);
            async move { file::run_lazy(&app, request).await }
        })
        // From the command handler, once it has sent a message to a case with its files asked
        // for: checked against the table before anything is copied.
        .lazy(forward::LAZY_FORWARD_FILES, move |request| {
            let app = Arc::clone(&lazy_forward_files);
            async move { forward::run_lazy_files(&app, request).await }
        })
}

/// The case message's Edit title / Edit description buttons and their modals (registered
/// before the catch-all action listener: the first match wins).
fn register_edits(mut builder: RouterBuilder, app: &Arc<App>) -> RouterBuilder {
    use sirslack_mapper::edit::EditField;
    for field in EditField::ALL {
        let on_click = Arc::clone(app);
        let on_submit = Arc::clone(app);
        builder = builder
            .action(field.button_action_id(), move |request| {
                let app = Arc::clone(&on_click);
                async move { edit::on_edit_button(&app, field, request).await }
            })
            .view_submission(field.callback_id(), move |request| {
                let app = Arc::clone(&on_submit);
                async move { edit::on_edit_submission(&app, field, request).await }
            });
    }
    builder
}

/// Runs before dedupe: an event the listener would skip anyway (`skip_reason`, no I/O), or
/// one in a channel no case is linked to (one GetItem by key), is acknowledged without
/// writing dedupe markers.
struct CaseChannelFilter {
    app: Arc<App>,
    skip_reason: fn(&EventCallback) -> Option<&'static str>,
}

impl CaseChannelFilter {
    fn new(app: &Arc<App>, skip_reason: fn(&EventCallback) -> Option<&'static str>) -> Self {
        Self {
            app: Arc::clone(app),
            skip_reason,
        }
    }
}

impl EventFilter for CaseChannelFilter {
    fn skip<'a>(
        &'a self,
        event: &'a EventCallback,
    ) -> BoxFuture<'a, Result<Option<&'static str>, ListenerError>> {
        Box::pin(async move {
            if let Some(why) = (self.skip_reason)(event) {
                return Ok(Some(why));
            }
            let Some(channel) = event.channel() else {
                return Ok(Some("no_channel"));
            };
            match self.app.case_for_channel(channel).await {
                Ok(Some(_)) => Ok(None),
                Ok(None) => Ok(Some("unlinked_channel")),
                Err(error) => Err(ListenerError::Transient(error.to_string())),
            }
        })
    }
}

/// Runs before dedupe for events that have no case channel: an event the listener would skip
/// anyway (`skip_reason`, no I/O) is acknowledged without writing dedupe markers.
struct EventOnlyFilter(fn(&EventCallback) -> Option<&'static str>);

impl EventFilter for EventOnlyFilter {
    fn skip<'a>(
        &'a self,
        event: &'a EventCallback,
    ) -> BoxFuture<'a, Result<Option<&'static str>, ListenerError>> {
        let why = (self.0)(event);
        Box::pin(async move { Ok(why) })
    }
}

/// Tells a person something went wrong, with an ephemeral message in the channel. A failure
/// to do so is logged for the operator: the operator's log line always exists.
pub async fn notify_user(app: &App, channel: &str, user: &str, text: &str) {
    if let Err(error) = app.slack.post_ephemeral(channel, user, text).await {
        error!(%error, channel, user, "could not tell the person about a failure");
    }
}

/// The case linked to `channel_id` (`None`: not a case channel); a table failure is transient.
pub(crate) async fn linked_case(
    app: &App,
    channel_id: &str,
) -> Result<Option<sirslack_domain::CaseId>, ListenerError> {
    app.case_for_channel(channel_id)
        .await
        .map_err(|error| ListenerError::Transient(error.to_string()))
}
