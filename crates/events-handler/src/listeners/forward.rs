//! "Send to SIR case" (issue 19 item 2): the message shortcut [`SEND_TO_CASE_SHORTCUT_ID`]
//! sends any message the person can see to one of their open cases.
//!
//! - **Open** (ack path, within the trigger's 3 seconds): `chat.getPermalink` first. Slack
//!   answers `channel_not_found` for a conversation the bot cannot see (a private channel or a
//!   direct message it is not in): such a message cannot be forwarded (the integration could
//!   not show where it came from, nor has anyone vouched that the app may read it), and the
//!   person is told so through the payload's `response_url`. Otherwise `views.open` of
//!   [`forward_modal`] (one attempt, as for the declare modal), then the message as the
//!   shortcut delivered it is kept in the table under the new view's ID (`FORWARD#<viewId>`,
//!   2 hours): a message holds up to 40,000 characters, `private_metadata` only 3,000, and the
//!   bot may not be able to read the message again later.
//! - **Picker** (`block_suggestion` of [`CASE_BLOCK_ID`], answered within 3 s): only the open
//!   cases whose channel the person is in ([`App::open_cases_of`]: `users.conversations`, each
//!   channel looked up in the table; remembered a minute per person), filtered by what was
//!   typed ([`case_options`]).
//! - **Submit** (`view_submission` of [`FORWARD_CALLBACK_ID`]): a case must be chosen (an
//!   error on the picker otherwise); a valid form closes the modal and becomes a
//!   [`ForwardInvocation`] for the command handler, which authorizes the person as for a
//!   command in that case's channel, writes one SIR comment and tells the case channel.
//! - **Files** (lazy [`LAZY_FORWARD_FILES`], handed over by the command handler when the person
//!   ticked "Attach the message's files"): [`run_lazy_files`] checks the job against the table
//!   ([`verify_files_job`]: the command handler's claim of that view is done and it recorded
//!   that case on the kept message) and copies each file of the kept message with the channel
//!   files' transfer ([`crate::listeners::file`]).

use sirslack_mapper::forward::{
    CaseChoice, ForwardPreview, case_options, forward_modal, parse_forward_submission,
};
use sirslack_mapper::markup::slack_to_plain;
use sirslack_slack_router::{
    Ack, FORWARD_CLAIM_SCOPE, ForwardFilesJob, ForwardInvocation, HandOff, LazyError, LazyRequest,
    ListenerError, MessageShortcutRequest, OptionsRequest, Outcome, SelectOption,
    ViewSubmissionRequest, forward_claim_key,
};
use sirslack_store::{ForwardRecord, ForwardedMessage};
use tracing::{error, info, warn};

use crate::app::App;
use crate::listeners::file::{FileJob, attach};

pub use sirslack_slack_router::LAZY_FORWARD_FILES;

pub use sirslack_mapper::forward::{CASE_BLOCK_ID, FORWARD_CALLBACK_ID, SEND_TO_CASE_SHORTCUT_ID};

/// What the person reads when the message cannot be forwarded (Slack's `error` code).
fn not_forwardable(slack_error: &str) -> String {
    match slack_error {
        "channel_not_found" | "not_in_channel" | "message_not_found" => {
            "This message cannot be sent to a case: the AWS Security Incident Response app \
             cannot see this conversation (a private channel or a direct message it is not in). \
             Invite the app to the channel first, or copy the message into the case channel."
                .to_owned()
        }
        other => format!(
            "This message could not be sent to a case: Slack answered `{other}`. Please try \
             *Send to SIR case* again in a moment."
        ),
    }
}

fn could_not_open(slack_error: &str) -> String {
    if matches!(slack_error, "expired_trigger_id" | "exchanged_trigger_id") {
        "The *Send to SIR case* form could not be opened in time (Slack allows 3 seconds). \
         Please choose *Send to SIR case* on the message again."
            .to_owned()
    } else {
        format!(
            "The *Send to SIR case* form could not be opened: Slack answered `{slack_error}`. \
             Please try again in a moment."
        )
    }
}

/// Tells the person through the shortcut's `response_url` (an ephemeral message where the
/// message is). A failure is logged for the operator (never the URL).
async fn tell(app: &App, request: &MessageShortcutRequest, text: &str) {
    let shortcut = &request.shortcut;
    if let Err(slack_error) = app
        .slack
        .post_to_response_url(&shortcut.response_url, text)
        .await
    {
        error!(error = %slack_error, user = shortcut.user_id, channel = shortcut.channel_id, "could not tell the person about their Send to SIR case");
    }
}

/// The message shortcut: the modal, or why not.
pub async fn on_send_to_case(
    app: &App,
    request: MessageShortcutRequest,
) -> Result<Outcome, ListenerError> {
    let shortcut = &request.shortcut;
    let message = &shortcut.message;
    let permalink = match app.slack.permalink(&shortcut.channel_id, &message.ts).await {
        Ok(permalink) => permalink,
        Err(slack_error) => {
            warn!(error = %slack_error, user = shortcut.user_id, channel = shortcut.channel_id, "a message that cannot be forwarded");
            tell(app, &request, &not_forwardable(&slack_error.code)).await;
            return Ok(Outcome::ack(Ack::Empty).with_note("send_to_case_not_forwardable"));
        }
    };
    let text = message.text.clone().unwrap_or_default();
    let author = match (&message.user, &message.bot_id) {
        (Some(user), _) => {
            let person = app.slack.person_or_unknown(user).await;
            person.mention_name().unwrap_or_else(|| user.clone())
        }
        (None, Some(_)) => "an app".to_owned(),
        (None, None) => "someone".to_owned(),
    };
    let preview = ForwardPreview {
        text: slack_to_plain(&text, &|_: &str| None),
        author,
        file_count: message.files.len(),
    };
    let view_id = match app
        .slack
        .open_view(&shortcut.trigger_id, &forward_modal(&preview))
        .await
    {
        Ok(view_id) => view_id,
        Err(slack_error) => {
            warn!(error = %slack_error, user = shortcut.user_id, "the Send to SIR case modal could not be opened");
            tell(app, &request, &could_not_open(&slack_error.code)).await;
            return Ok(Outcome::ack(Ack::Empty).with_note("send_to_case_modal_not_opened"));
        }
    };
    let kept = ForwardedMessage {
        team_id: shortcut.team_id.clone(),
        user_id: shortcut.user_id.clone(),
        channel_id: shortcut.channel_id.clone(),
        ts: message.ts.clone(),
        thread_ts: message.thread_ts.clone(),
        text,
        author_id: message.user.clone(),
        bot_id: message.bot_id.clone(),
        file_ids: message.files.iter().map(|file| file.id.clone()).collect(),
        permalink,
    };
    if let Err(store_error) = app.table.put_forwarded_message(&view_id, &kept).await {
        error!(error = %store_error, view = view_id, "the message to send could not be kept; its submission will be refused");
        tell(
            app,
            &request,
            "The integration's table is unavailable, so this message cannot be sent to a case \
             right now. Please close the form and try again in a moment.",
        )
        .await;
    }
    Ok(Outcome::ack(Ack::Empty).with_note("send_to_case_modal_opened"))
}

/// The case picker: the person's open cases matching what they typed.
pub async fn on_case_options(app: &App, request: OptionsRequest) -> Result<Outcome, ListenerError> {
    let suggestion = &request.suggestion;
    if suggestion.view_callback_id() != Some(FORWARD_CALLBACK_ID) {
        return Ok(Outcome::ack(Ack::options(Vec::new())).with_note("not_the_forward_modal"));
    }
    let cases = app
        .open_cases_of(&suggestion.user_id)
        .await
        .map_err(|sync_error| {
            warn!(error = %sync_error, user = suggestion.user_id, "the person's cases could not be listed");
            ListenerError::Transient(sync_error.to_string())
        })?;
    let choices = cases.iter().map(|case| CaseChoice {
        case_id: &case.case_id,
        title: case.title.as_deref(),
        updated_at: case.updated_at,
    });
    let options = case_options(choices, &suggestion.value)
        .into_iter()
        .map(|(text, value)| SelectOption::new(text, value));
    Ok(Outcome::ack(Ack::options(options)))
}

/// A submitted modal: an error on the picker, or the hand-off to the command handler.
pub async fn on_forward_submission(
    app: &App,
    request: ViewSubmissionRequest,
) -> Result<Outcome, ListenerError> {
    let submission = &request.submission;
    let view = &submission.view;
    let parsed = match parse_forward_submission(&view.state.values) {
        Ok(parsed) => parsed,
        Err(errors) => {
            return Ok(
                Outcome::ack(Ack::view_errors(errors.errors)).with_note("send_to_case_form_errors")
            );
        }
    };
    let mut invocation = ForwardInvocation::new(
        view.id.clone(),
        submission.team_id.clone(),
        submission.user_id.clone(),
        parsed.case_id,
        request.received_at,
    );
    invocation.user_name = submission.user_name.clone();
    invocation.note = parsed.note;
    invocation.attach_files = parsed.attach_files;
    let hand_off = HandOff::function(&app.config.command_handler_function, &invocation)
        .map_err(|error| ListenerError::Permanent(format!("forward not serialisable: {error}")))?;
    Ok(Outcome::ack(Ack::view_clear()).with_hand_off(hand_off))
}

/// Whether `id` can be a Slack ID (`V...`, `T...`, `F...`): it becomes part of table keys and
/// client tokens.
fn is_slack_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|byte| byte.is_ascii_alphanumeric())
}

/// Checks a [`ForwardFilesJob`] against the table and returns the copies to make. Lazy work is
/// not trusted for what it names: the job is acted on only when a message is kept under its
/// view (`record`) for its workspace, the command handler recorded that it sent that message
/// to the job's case with the files asked for, and its claim of the view is done
/// (`claim_done`). The files and the conversation come from the kept message, never from the
/// job; the copies are on behalf of the person who sent the message.
pub fn verify_files_job(
    job: &ForwardFilesJob,
    record: Option<&ForwardRecord>,
    claim_done: bool,
) -> Result<Vec<FileJob>, &'static str> {
    if !is_slack_id(&job.view_id) || !is_slack_id(&job.team_id) {
        return Err("the job's view or team is not a Slack ID");
    }
    let Some(record) = record else {
        return Err("no message is kept under the job's view");
    };
    let message = &record.message;
    if message.team_id != job.team_id {
        return Err("the message kept under the view is of another workspace");
    }
    let Some(sent) = &record.sent else {
        return Err("the command handler did not record the message as sent");
    };
    if sent.case_id != job.case_id.as_str() {
        return Err("the message was sent to another case");
    }
    if !sent.attach_files {
        return Err("the files were not asked for");
    }
    if !claim_done {
        return Err("the command handler's claim of the view is not done");
    }
    Ok(message
        .file_ids
        .iter()
        .filter(|file_id| is_slack_id(file_id))
        .map(|file_id| FileJob {
            case_id: job.case_id.clone(),
            channel: message.channel_id.clone(),
            file_id: file_id.clone(),
            user: message.user_id.clone(),
            forwarded_in_view: Some(job.view_id.clone()),
        })
        .collect())
}

/// The lazy listener [`LAZY_FORWARD_FILES`]: checks the job ([`verify_files_job`]) and copies
/// each of the message's files with the channel files' transfer. A job that fails the check is
/// dropped, logged at ERROR, and nobody is told (the person it names may not have sent it). A
/// file that cannot be copied is told to the person where the message is, as for channel
/// files; a transient failure fails the run (retryable) after every file was tried.
pub async fn run_lazy_files(app: &App, request: LazyRequest) -> Result<(), LazyError> {
    let job: ForwardFilesJob = serde_json::from_value(request.payload).map_err(|error| {
        error!(%error, "lazy work that is not a forward-files job; dropped");
        LazyError::permanent(format!("not a forward-files job: {error}"))
    })?;
    if !is_slack_id(&job.view_id) || !is_slack_id(&job.team_id) {
        error!(case_id = %job.case_id, "lazy forward-files job with a malformed view or team; dropped");
        return Err(LazyError::permanent("malformed forward-files job"));
    }
    let record = app
        .table
        .forward_record(&job.view_id)
        .await
        .map_err(|error| LazyError::retryable(error.to_string()))?;
    let claim_done = app
        .table
        .claim_is_done(
            FORWARD_CLAIM_SCOPE,
            &forward_claim_key(&job.team_id, &job.view_id),
        )
        .await
        .map_err(|error| LazyError::retryable(error.to_string()))?;
    let files = match verify_files_job(&job, record.as_ref(), claim_done) {
        Ok(files) => files,
        Err(why) => {
            error!(case_id = %job.case_id, view = job.view_id, why, "lazy job names a forward the command handler did not finish; dropped");
            return Err(LazyError::permanent(why));
        }
    };
    let mut retryable = None;
    let mut permanent = None;
    for file in &files {
        match attach(app, file).await {
            Ok(()) => {}
            Err(failure) if failure.retryable => retryable = Some(failure),
            Err(failure) => permanent = Some(failure),
        }
    }
    info!(case_id = %job.case_id, view = job.view_id, files = files.len(), "a forwarded message's files were copied");
    match (retryable, permanent) {
        (Some(failure), _) | (None, Some(failure)) => Err(failure),
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use sirslack_domain::CaseId;
    use sirslack_store::ForwardSent;

    use super::*;

    fn job(view: &str, case: &str) -> ForwardFilesJob {
        ForwardFilesJob {
            view_id: view.into(),
            team_id: "T0TEAM".into(),
            case_id: CaseId::new(case).expect("case id"),
        }
    }

    fn record(sent: Option<(&str, bool)>) -> ForwardRecord {
        ForwardRecord {
            message: ForwardedMessage {
                team_id: "T0TEAM".into(),
                user_id: "U0JANE".into(),
                channel_id: "C0ALERTS".into(),
                ts: "1700000000.000100".into(),
                thread_ts: None,
                text: "see the log".into(),
                author_id: Some("U0BOB".into()),
                bot_id: None,
                file_ids: vec!["F0ONE".into(), "F0TWO".into(), "../F0".into()],
                permalink: "https://example.slack.com/archives/C0ALERTS/p1".into(),
            },
            sent: sent.map(|(case_id, attach_files)| ForwardSent {
                case_id: case_id.into(),
                attach_files,
            }),
        }
    }

    #[test]
    fn a_finished_forward_gives_the_kept_files_for_its_sender() {
        let sent = record(Some(("1234567890", true)));
        let files =
            verify_files_job(&job("V0VIEW", "1234567890"), Some(&sent), true).expect("verified");
        let ids: Vec<&str> = files.iter().map(|file| file.file_id.as_str()).collect();
        assert_eq!(ids, ["F0ONE", "F0TWO"], "only Slack IDs, from the table");
        assert!(files.iter().all(|file| file.channel == "C0ALERTS"
            && file.user == "U0JANE"
            && file.case_id.as_str() == "1234567890"
            && file.forwarded_in_view.as_deref() == Some("V0VIEW")));
    }

    #[test]
    fn forged_or_unfinished_jobs_copy_nothing() {
        let sent = record(Some(("1234567890", true)));
        let check = |job: &ForwardFilesJob, record: Option<&ForwardRecord>, done: bool| {
            verify_files_job(job, record, done).expect_err("refused")
        };
        let right = job("V0VIEW", "1234567890");
        // Nothing kept under the view, or kept but never sent.
        assert!(check(&right, None, true).contains("no message"));
        assert!(check(&right, Some(&record(None)), true).contains("did not record"));
        // Sent, but to another case than the job names, or without the files asked for.
        assert!(check(&job("V0VIEW", "9999999999"), Some(&sent), true).contains("another case"));
        assert!(
            check(&right, Some(&record(Some(("1234567890", false)))), true).contains("not asked")
        );
        // Recorded, but the command handler's claim is not done.
        assert!(check(&right, Some(&sent), false).contains("claim"));
        // Another workspace, or a view that is no Slack ID.
        let mut other_team = right.clone();
        other_team.team_id = "T0OTHER".into();
        assert!(check(&other_team, Some(&sent), true).contains("another workspace"));
        assert!(check(&job("V0#X", "1234567890"), Some(&sent), true).contains("Slack ID"));
    }

    #[test]
    fn invisible_conversations_and_late_triggers_are_explained() {
        let hidden = not_forwardable("channel_not_found");
        assert!(hidden.contains("cannot see this conversation"), "{hidden}");
        assert!(not_forwardable("ratelimited").contains("`ratelimited`"));
        assert!(could_not_open("expired_trigger_id").contains("in time"));
        assert_ne!(SEND_TO_CASE_SHORTCUT_ID, FORWARD_CALLBACK_ID);
    }
}
