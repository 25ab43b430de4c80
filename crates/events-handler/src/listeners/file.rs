//! `file_shared` in a case channel: the file is streamed from Slack to the case as an
//! attachment, in a lazy invocation (a 100 MiB copy does not fit in Slack's 3 seconds).
//!
//! The attachment is named after the Slack file (its sanitised name with the Slack file ID
//! before the extension) and recorded in the table as this integration's own upload *before*
//! the upload starts. SIR answers an upload with no attachment ID and lists the attachment only
//! once it is ready, maybe minutes later; whenever it is listed, the poller finds the record by
//! name and never posts the file back into the channel.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sirslack_domain::CaseId;
use sirslack_domain::limits::ATTACHMENT_MAX_BYTES;
use sirslack_domain::marker::{file_uploaded_comment, slack_author_label, system_comment};
use sirslack_mapper::filename::{sanitize_file_name, slack_upload_file_name};
use sirslack_mapper::markup::slack_to_plain;
use sirslack_mapper::split::split_sir_comment;
use sirslack_slack_api::{ErrorClass, SlackApiError};
use sirslack_slack_router::{
    Ack, EventRequest, HandOff, LazyError, LazyRequest, ListenerError, Outcome,
};
use tracing::{error, info, warn};

use crate::app::{App, SyncError};
use crate::listeners::comment::write_parts;
use crate::listeners::{LAZY_FILE_TRANSFER, linked_case, notify_user};
use crate::slack::FileInfo;

/// Attempts of the copy itself.
const TRANSFER_ATTEMPTS: u32 = 3;
/// First pause between attempts (doubles).
const TRANSFER_BACKOFF: Duration = Duration::from_secs(1);

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct FileSharedEvent {
    file_id: Option<String>,
    channel_id: Option<String>,
    user_id: Option<String>,
}

/// The lazy work: one file shared into one case channel, or one file of a message sent to a
/// case ("Send to SIR case", [`FileJob::forwarded_in_view`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileJob {
    /// The case.
    pub case_id: CaseId,
    /// The channel it was shared in (for a forwarded message's file: the message's
    /// conversation, not the case channel).
    pub channel: String,
    /// `F...`.
    pub file_id: String,
    /// Who shared it (for a forwarded message's file: who sent the message to the case).
    pub user: String,
    /// Set for a file of a message sent to the case: the modal's view ID. Such a job is never
    /// a lazy `file_transfer` payload: it is built by the `forward_files` listener from the
    /// table, never read from a payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_in_view: Option<String>,
}

impl FileJob {
    /// What the job's client tokens and markers are made of: `<channel>-<file>` for a file
    /// shared in a case channel, `forward-<view>-<file>` for a forwarded message's file (the
    /// same file may be sent to several cases).
    fn token_base(&self) -> String {
        match &self.forwarded_in_view {
            None => format!("{}-{}", self.channel, self.file_id),
            Some(view) => format!("forward-{view}-{}", self.file_id),
        }
    }
}

/// Why a shared file is not copied, decided from the event alone: this app's own upload.
pub fn skip_reason(callback: &sirslack_slack_router::EventCallback) -> Option<&'static str> {
    let user = callback.field("user_id")?;
    callback
        .authorized_user_ids
        .iter()
        .any(|own| own == user)
        .then_some("own_file")
}

/// The ack path: checks the channel, hands the copy off.
pub async fn on_file_shared(app: &App, request: EventRequest) -> Result<Outcome, ListenerError> {
    let Ok(event) = request.callback.decode::<FileSharedEvent>() else {
        return Ok(Outcome::ignored("undecodable"));
    };
    let (Some(file_id), Some(channel), Some(user)) =
        (event.file_id, event.channel_id, event.user_id)
    else {
        return Ok(Outcome::ignored("incomplete"));
    };
    // Files this app uploads itself (SIR attachments copied to Slack) must not come back.
    if request.callback.authorized_user_ids.contains(&user) {
        return Ok(Outcome::ignored("own_file"));
    }
    let case_id = linked_case(app, &channel).await?;
    let Some(case_id) = case_id else {
        return Ok(Outcome::ignored("unlinked_channel"));
    };
    let job = FileJob {
        case_id,
        channel,
        file_id,
        user,
        forwarded_in_view: None,
    };
    let hand_off = HandOff::lazy(LAZY_FILE_TRANSFER, &job)
        .map_err(|error| ListenerError::Permanent(format!("job not serialisable: {error}")))?;
    Ok(Outcome::ack(Ack::Empty).with_hand_off(hand_off))
}

/// The lazy listener. A permanent failure is told to the person (and logged) and the run
/// succeeds; a transient one that outlasted the retries here fails the run (retryable), so
/// Lambda runs it again, then parks it in the DLQ whose alarm tells the operator. The person
/// hears of a delay once, not once per retry.
pub async fn run_lazy(app: &App, request: LazyRequest) -> Result<(), LazyError> {
    let job: FileJob = serde_json::from_value(request.payload).map_err(|error| {
        error!(%error, "lazy file work that is not a file job; dropped");
        LazyError::permanent(format!("not a file job: {error}"))
    })?;
    match app.link_holds(&job.channel, &job.case_id).await {
        Ok(true) => {}
        Ok(false) => {
            // Nobody is told: the job may be forged, and its user is whoever it names.
            error!(case_id = %job.case_id, channel = job.channel, file_id = job.file_id, "lazy job names a channel not linked to its case; dropped");
            return Err(LazyError::permanent(
                "the channel is not linked to the job's case",
            ));
        }
        Err(error) => return Err(LazyError::retryable(error.to_string())),
    }
    attach(app, &job).await
}

/// Copies the file of `job` (checked by the caller) to its case, with the failure semantics of
/// the lazy listeners: a permanent failure is told to the person and logged (a permanent
/// [`LazyError`]); a transient one that outlasted the retries here is told to the person once
/// and fails the run (retryable).
pub(crate) async fn attach(app: &App, job: &FileJob) -> Result<(), LazyError> {
    match transfer(app, job).await {
        Ok(outcome) => {
            info!(case_id = %job.case_id, file_id = job.file_id, outcome, forwarded = job.forwarded_in_view.is_some(), "file shared in Slack");
            Ok(())
        }
        Err(error) if error.is_transient() => {
            error!(case_id = %job.case_id, file_id = job.file_id, %error, "file not attached to the case yet; the invocation fails so that it is retried");
            let first_notice = app
                .table
                .put_once(
                    "file-delay-notice",
                    &job.token_base(),
                    chrono::Duration::days(1),
                )
                .await
                .unwrap_or(true);
            if first_notice {
                let notice = format!(
                    "Your file could not be attached to SIR case {} yet: {}. It is retried \
                     automatically; if it keeps failing, the integration's operators are alerted.",
                    job.case_id,
                    error.for_people()
                );
                notify_user(app, &job.channel, &job.user, &notice).await;
            }
            Err(LazyError::retryable(error.to_string()))
        }
        Err(error) => {
            error!(case_id = %job.case_id, file_id = job.file_id, %error, "file not attached to the case");
            let notice = format!(
                "Your file could not be attached to SIR case {}: {}. Please try again, or add \
                 it in the SIR console.",
                job.case_id,
                error.for_people()
            );
            notify_user(app, &job.channel, &job.user, &notice).await;
            Err(LazyError::permanent(error.to_string()))
        }
    }
}

async fn transfer(app: &App, job: &FileJob) -> Result<&'static str, SyncError> {
    let identity = app.slack.bot_identity().await?;
    if identity.user_id == job.user {
        return Ok("own_file");
    }
    let file = app.slack.file_info(&job.file_id, &job.channel).await?;
    // A file this app posted (a SIR attachment) shared in its case channel must not come back;
    // one sent on purpose to another case is copied.
    if job.forwarded_in_view.is_none() && file.user.as_deref() == Some(identity.user_id.as_str()) {
        return Ok("own_file");
    }
    let person = app.slack.person_or_unknown(&job.user).await;
    let author = person.author(&job.user);

    if file.size == 0 || file.size > ATTACHMENT_MAX_BYTES {
        let why = if file.size == 0 {
            "it is empty"
        } else {
            "it is larger than 100 MiB"
        };
        let note = system_comment(&format!(
            "{} shared the file {} in Slack; it was not attached to the case because {why}.",
            slack_author_label(&author),
            sanitize_file_name(&file.name)
        ));
        let token = format!("slack-file-note-{}", job.token_base());
        write_parts(app, &job.case_id, &[note], &token).await?;
        let notice = format!(
            "Your file {} was not attached to SIR case {} because {why}. SIR accepts files from \
             1 byte to 100 MiB.",
            file.name, job.case_id
        );
        notify_user(app, &job.channel, &job.user, &notice).await;
        return Ok("refused_size");
    }

    let sir_name = slack_upload_file_name(&file.name, &job.file_id);
    // Before any byte can land: SIR may list the attachment at any time after that.
    app.table
        .record_own_upload(&job.case_id, &sir_name, &job.file_id, &job.channel)
        .await?;
    copy_with_retries(app, job, &file, &sir_name).await?;

    // A forwarded message's text is already in the case (the forward's comment).
    let message = if job.forwarded_in_view.is_some() {
        None
    } else {
        match app
            .slack
            .share_message_text(&job.channel, &job.file_id, file.share_ts.as_deref())
            .await
        {
            Ok(text) => text.map(|text| slack_to_plain(&text, &|_: &str| None)),
            Err(error) => {
                warn!(%error, "could not read the message shared with the file");
                None
            }
        }
    };
    let heading = file_uploaded_comment(&author, &sir_name, None);
    let parts = match message
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
    {
        None => vec![heading],
        Some(text) => split_sir_comment(&format!("{heading}\n\n"), text),
    };
    let token = format!("slack-file-{}", job.token_base());
    write_parts(app, &job.case_id, &parts, &token).await?;
    Ok("attached")
}

async fn copy_with_retries(
    app: &App,
    job: &FileJob,
    file: &FileInfo,
    sir_name: &str,
) -> Result<(), SyncError> {
    let download_url = file.download_url.as_deref().ok_or_else(|| {
        SlackApiError::new("files.info", "no_download_url", ErrorClass::Permanent)
    })?;
    // The first attempt's token is stable, so that a request SIR answered but we did not hear
    // gets the same URL. A URL that was used (the upload was refused, e.g. because the URL had
    // expired, or failed part-way) is never asked for again: SIR would replay it for the same
    // token, so the next attempt takes a token of its own and gets a fresh URL.
    let stable_token = format!("slack-upload-{}", job.token_base());
    let mut token = stable_token.clone();
    let mut pause = TRANSFER_BACKOFF;
    let mut attempt = 1;
    loop {
        let result = async {
            let upload_url = app
                .sir
                .attachment_upload_url(&job.case_id, sir_name, file.size, &token)
                .await?;
            let secrets = app.secrets.secrets().await?;
            let sent = app
                .transfer
                .copy(download_url, &secrets.bot_token, &upload_url, file.size)
                .await?;
            Ok::<u64, SyncError>(sent)
        }
        .await;
        match result {
            Ok(sent) => {
                info!(case_id = %job.case_id, bytes = sent, attempt, "file copied to SIR");
                return Ok(());
            }
            Err(error) if error.is_transient() && attempt < TRANSFER_ATTEMPTS => {
                warn!(%error, attempt, "file copy failed; retrying");
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
                if error.spoils_upload_url() {
                    token = fresh_upload_token(&stable_token, attempt);
                }
            }
            Err(error) => return Err(error),
        }
    }
}

/// A client token no earlier request used: the stable one, the attempt and the time.
fn fresh_upload_token(stable: &str, attempt: u32) -> String {
    let millis = chrono::Utc::now().timestamp_millis();
    format!("{stable}-a{attempt}-{millis}")
}
