//! "Send to SIR case" (issue 19 item 2): one [`ForwardInvocation`] in (a submitted modal),
//! one SIR comment out, and a notice in the case channel.
//!
//! 1. the **message**, as the shortcut delivered it, from the table (`FORWARD#<viewId>`, kept
//!    by the events handler when the modal opened); it must be the same person's;
//! 2. the **link**: the case must have a channel, still linked to it both ways;
//! 3. **authorize** as for a command in that channel
//!    ([`Authorizer::check_send_to_case`](crate::authorize::Authorizer::check_send_to_case)):
//!    channel membership, then the policy (`send-to-case`, class mutating), guests and public
//!    channels; no one-time code;
//! 4. **claim** the submission, keyed by the Slack view: a double submit or Lambda's retry
//!    sends nothing twice;
//! 5. **one SIR comment** (split only past SIR's 12,000 characters) with a client token from
//!    the view ID, `[Slack Update] <sender> sent a Slack message to this case.`, the author, the
//!    permalink, the note and the text (markup converted and unescaped as for channel
//!    messages); recorded as written from Slack, so the poller never posts it back;
//! 6. a **notice** in the case channel with the permalink, and the sender told;
//! 7. with "Attach the message's files" ticked and files on the message: the case is recorded
//!    on the kept message (`FORWARD#<viewId>`), the claim marked done, and the events handler
//!    handed the lazy job [`ForwardFilesJob`] ([`crate::lazy`]), which copies the files with
//!    its channel-file transfer once it has checked both in the table.
//!
//! A refusal is told to the person (a direct message, else ephemerally where the message is)
//! and calls SIR for nothing.

use std::collections::HashMap;
use std::time::SystemTime;

use sirslack_domain::CaseId;
use sirslack_domain::command::SEND_TO_CASE_SUBCOMMAND;
use sirslack_domain::marker::{forwarded_message_prefix, slack_author_label};
use sirslack_mapper::forward::forwarded_notice;
use sirslack_mapper::markup::{escape_for_slack, slack_to_plain, user_ids_mentioned};
use sirslack_mapper::split::split_sir_comment;
use sirslack_slack_router::{
    COMMAND_INVOCATION_VERSION, FORWARD_INVOCATION_KIND, ForwardFilesJob, ForwardInvocation,
    forward_claim_key,
};
use sirslack_store::{ForwardedMessage, Resumable, SyncOrigin};
use slack_morphism::prelude::SlackMessageContent;
use tracing::{error, info, warn};

use super::{
    Asked, COMMAND_SCOPE, CommandHandler, InvocationError, Outcome, claim_ttl, is_slack_id,
    lease_until, log_security_refusal, time_left_until,
};
use crate::authorize::Refusal;

/// Most distinct mentions named in one message (each may cost a `users.info`).
const MENTIONS_RESOLVED_MAX: usize = 10;

/// The client token of part `part` of a forwarded message's comment: the same for every
/// submission of one modal, so a double submit or a retry makes one comment.
pub fn client_token(invocation: &ForwardInvocation, part: usize) -> String {
    format!(
        "sirslack-forward-{}-{}-{part}",
        invocation.team_id, invocation.view_id
    )
}

fn claim_key(invocation: &ForwardInvocation) -> String {
    forward_claim_key(&invocation.team_id, &invocation.view_id)
}

/// Checks what becomes part of table keys, tokens and Slack calls.
pub(super) fn validate(invocation: &ForwardInvocation) -> Result<(), InvocationError> {
    if invocation.version != COMMAND_INVOCATION_VERSION {
        return Err(InvocationError::Version(invocation.version));
    }
    if invocation.kind != FORWARD_INVOCATION_KIND {
        return Err(InvocationError::Malformed(format!(
            "kind {} is not {FORWARD_INVOCATION_KIND}",
            invocation.kind
        )));
    }
    for (field, ok) in [
        ("user_id", is_slack_id(&invocation.user_id)),
        ("team_id", is_slack_id(&invocation.team_id)),
        ("view_id", is_slack_id(&invocation.view_id)),
    ] {
        if !ok {
            return Err(InvocationError::Malformed(format!(
                "{field} is not a Slack ID"
            )));
        }
    }
    Ok(())
}

impl CommandHandler {
    /// Handles one submitted "Send to SIR case" modal (see the module documentation); never
    /// fails except when time runs out or another attempt holds it ([`Outcome::Unfinished`]).
    pub async fn handle_forward(
        &self,
        invocation: &ForwardInvocation,
        deadline: SystemTime,
    ) -> Outcome {
        if let Err(invalid) = validate(invocation) {
            error!(error = %invalid, "forward invocation rejected");
            return Outcome::Failed;
        }
        let case_id = &invocation.case_id;
        let user = invocation.user_id.as_str();
        let message = match self.table.forwarded_message(&invocation.view_id).await {
            Ok(Some(message))
                if message.user_id == invocation.user_id
                    && message.team_id == invocation.team_id =>
            {
                message
            }
            Ok(Some(_)) => {
                error!(user, view = %invocation.view_id, "a forward names a message another person chose; refused");
                return Outcome::Refused;
            }
            Ok(None) => {
                warn!(user, view = %invocation.view_id, "the message to send is not kept (expired or never written)");
                let text = format!(
                    "The message could not be sent to case {case_id}: the form was open too long \
                     (2 hours) or the message could not be kept. Please choose *Send to SIR case* \
                     on the message again. Nothing was sent."
                );
                return self.tell_and(user, None, text, Outcome::Refused).await;
            }
            Err(store_error) => {
                error!(view = %invocation.view_id, error = %store_error, "the message to send could not be read");
                return self
                    .tell_and(user, None, table_unavailable_text(case_id), Outcome::Failed)
                    .await;
            }
        };
        let from = Some(message.channel_id.as_str());
        let channel = match self.linked_channel(case_id).await {
            Ok(Some(channel)) => channel,
            Ok(None) => {
                warn!(user, case = %case_id, "send to case: the case has no linked channel");
                let text = format!(
                    "Case {case_id} has no Slack channel linked to it, so nothing was sent to it."
                );
                return self.tell_and(user, from, text, Outcome::Refused).await;
            }
            Err(store_error) => {
                error!(case = %case_id, error = %store_error, "the case's channel link could not be read");
                return self
                    .tell_and(user, from, table_unavailable_text(case_id), Outcome::Failed)
                    .await;
            }
        };
        if let Err(refusal) = self.authorizer.check_send_to_case(&channel, user).await {
            return self
                .refuse_forward(invocation, &channel, from, &refusal)
                .await;
        }
        let key = claim_key(invocation);
        let owner = uuid::Uuid::new_v4().simple().to_string();
        let lease = lease_until(deadline);
        match self
            .table
            .claim_resumable(COMMAND_SCOPE, &key, &owner, lease, claim_ttl())
            .await
        {
            Ok(Resumable::Claimed { .. }) => {}
            Ok(Resumable::Done) => {
                info!(user, view = %invocation.view_id, "the same message was sent before; nothing is done again");
                let text = format!(
                    "This message was already sent to case {case_id}; it was not sent a second time."
                );
                return self.tell_and(user, from, text, Outcome::Duplicate).await;
            }
            Ok(Resumable::Held) => return Outcome::Unfinished,
            Err(store_error) => {
                error!(view = %invocation.view_id, error = %store_error, "the forward could not be claimed");
                return self
                    .tell_and(user, from, table_unavailable_text(case_id), Outcome::Failed)
                    .await;
            }
        }
        let time_left = time_left_until(deadline);
        let sent = tokio::time::timeout(
            time_left,
            self.send(invocation, &message, &channel, &key, &owner),
        )
        .await;
        match sent {
            Ok(outcome) => outcome,
            Err(_) => {
                error!(view = %invocation.view_id, "sending a message to a case ran out of time; Lambda's retry resumes it");
                Outcome::Unfinished
            }
        }
    }

    /// The case's channel, when the case is linked to one and the channel back to the case.
    async fn linked_channel(
        &self,
        case_id: &CaseId,
    ) -> Result<Option<String>, sirslack_store::StoreError> {
        let Some(channel) = self
            .table
            .channel_link(case_id)
            .await?
            .and_then(|link| link.channel_id)
        else {
            return Ok(None);
        };
        let back = self.table.case_for_channel(&channel).await?;
        Ok((back.as_ref() == Some(case_id)).then_some(channel))
    }

    /// The comment (once, by its client tokens), the notice, the person told.
    async fn send(
        &self,
        invocation: &ForwardInvocation,
        message: &ForwardedMessage,
        channel: &str,
        key: &str,
        owner: &str,
    ) -> Outcome {
        let case_id = &invocation.case_id;
        let user = invocation.user_id.as_str();
        let from = Some(message.channel_id.as_str());
        let sender_person = self.slack.person(user).await.unwrap_or_default();
        let sender = sender_person.author_or(user, invocation.user_name.as_deref());
        let author = match (&message.author_id, &message.bot_id) {
            (Some(author_id), _) => {
                let person = self.slack.person(author_id).await.unwrap_or_default();
                slack_author_label(&person.author(author_id))
            }
            (None, Some(bot_id)) => format!("an app (bot ID {bot_id})"),
            (None, None) => "unknown".to_owned(),
        };
        let names = self.mention_names(&message.text).await;
        let text = slack_to_plain(&message.text, &|id: &str| names.get(id).cloned());
        let prefix = forwarded_message_prefix(
            &sender,
            &author,
            &message.permalink,
            invocation.note.as_deref(),
        );
        let parts = split_sir_comment(&prefix, &text);
        for (index, part) in parts.iter().enumerate() {
            let token = client_token(invocation, index);
            let comment_id = match self.sir.create_comment(case_id, part, &token).await {
                Ok(comment_id) => comment_id,
                Err(sir_error) => {
                    self.release_forward(key, owner).await;
                    let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
                    warn!(user, case = %case_id, error = %sir_error, reference, "SIR CreateCaseComment failed for a forwarded message");
                    let text = format!(
                        "The message could not be sent to case {case_id}. {} (Reference for your \
                         administrator: {reference}.)",
                        sir_error.for_people()
                    );
                    return self.tell_and(user, from, text, Outcome::Failed).await;
                }
            };
            if let Err(store_error) = self
                .table
                .record_comment(case_id, &comment_id, SyncOrigin::Slack)
                .await
            {
                // The marker alone keeps the poller from posting it back.
                warn!(case = %case_id, error = %store_error, "a forwarded message's comment could not be recorded");
            }
        }
        info!(user, case = %case_id, view = %invocation.view_id, parts = parts.len(), "a Slack message was sent to a case");
        let sender_label = slack_author_label(&sender);
        let notice = forwarded_notice(
            &sender_label,
            &message.permalink,
            invocation.note.as_deref(),
        );
        if let Err(slack_error) = self.slack.post_message(channel, &notice).await {
            warn!(case = %case_id, error = %slack_error, "the case channel could not be told about a forwarded message");
        }
        let attach = invocation.attach_files && !message.file_ids.is_empty();
        let mut files_not_attached: Option<&str> = None;
        if attach {
            match self
                .table
                .mark_forward_sent(&invocation.view_id, case_id.as_str(), true)
                .await
            {
                Ok(true) => {}
                Ok(false) => files_not_attached = Some("the message is no longer kept"),
                Err(store_error) => {
                    warn!(case = %case_id, error = %store_error, "a forwarded message could not be recorded as sent; its files are not attached");
                    files_not_attached = Some("the integration's table is unavailable");
                }
            }
        }
        let completed = match self
            .table
            .complete_claim(COMMAND_SCOPE, key, owner, claim_ttl())
            .await
        {
            Ok(completed) => completed,
            Err(store_error) => {
                warn!(case = %case_id, error = %store_error, "the forward could not be marked done; its comment tokens keep a retry from writing it twice");
                false
            }
        };
        if attach && files_not_attached.is_none() {
            files_not_attached = self.hand_off_files(invocation, completed).await;
        }
        let (files, verb, them) = if message.file_ids.len() == 1 {
            ("Its file".to_owned(), "is", "it")
        } else {
            (
                format!("Its {} files", message.file_ids.len()),
                "are",
                "them",
            )
        };
        let files_note = match (attach, files_not_attached) {
            (false, _) => String::new(),
            (true, None) => format!(
                " {files} {verb} being attached to the case; you will be told here if one cannot be."
            ),
            (true, Some(why)) => format!(
                " {files} could not be attached ({why}); share {them} in <#{channel}> to attach {them}."
            ),
        };
        let text = format!(
            "Sent to case *{case_id}*: <{}|the message> is now a comment in AWS Security Incident \
             Response, and <#{channel}> was told.{files_note}",
            escape_for_slack(&message.permalink)
        );
        self.tell_person(user, from, &text_content(text)).await;
        Outcome::Sent
    }

    /// Hands the events handler the copy of the message's files (the claim must be done: the
    /// events handler checks it). `Some(why)` when they will not be attached.
    async fn hand_off_files(
        &self,
        invocation: &ForwardInvocation,
        claim_done: bool,
    ) -> Option<&'static str> {
        if !claim_done {
            warn!(view = %invocation.view_id, "the forward is not marked done; its files are not handed off");
            return Some("the integration's table is unavailable");
        }
        let Some(bus) = &self.lazy_work else {
            error!(view = %invocation.view_id, "files of a forwarded message cannot be attached: EVENT_BUS_NAME is not set");
            return Some("this installation cannot attach them");
        };
        let job = ForwardFilesJob {
            view_id: invocation.view_id.clone(),
            team_id: invocation.team_id.clone(),
            case_id: invocation.case_id.clone(),
        };
        match bus.attach_forwarded_files(&job).await {
            Ok(()) => {
                info!(case = %invocation.case_id, view = %invocation.view_id, "the forwarded message's files were handed to the events handler");
                None
            }
            Err(hand_off_error) => {
                error!(case = %invocation.case_id, view = %invocation.view_id, error = %hand_off_error, "could not hand off interactive work");
                Some("the events handler could not be reached")
            }
        }
    }

    async fn mention_names(&self, text: &str) -> HashMap<String, String> {
        let mut names = HashMap::new();
        for id in user_ids_mentioned(text)
            .into_iter()
            .take(MENTIONS_RESOLVED_MAX)
        {
            if let Ok(person) = self.slack.person(id).await
                && let Some(name) = person.mention_name()
            {
                names.insert(id.to_owned(), name);
            }
        }
        names
    }

    async fn refuse_forward(
        &self,
        invocation: &ForwardInvocation,
        channel: &str,
        from: Option<&str>,
        refusal: &Refusal,
    ) -> Outcome {
        let case_id = &invocation.case_id;
        if refusal.is_security() {
            log_security_refusal(
                refusal,
                tracing::field::display(&invocation.user_id),
                Asked::InChannel {
                    channel,
                    case: case_id,
                },
                SEND_TO_CASE_SUBCOMMAND,
            );
        } else {
            warn!(user = %invocation.user_id, channel, case = %case_id, subcommand = SEND_TO_CASE_SUBCOMMAND, reason = refusal.reason(), "send to case refused");
        }
        let why = match refusal {
            Refusal::NotChannelMember => format!(
                "Only members of the channel of case {case_id} can send messages to it. Ask a \
                 member to invite you."
            ),
            other => other.message_for(SEND_TO_CASE_SUBCOMMAND, ""),
        };
        let text = format!("{why} Nothing was sent to case {case_id}.");
        self.tell_person(&invocation.user_id, from, &text_content(text))
            .await;
        Outcome::Refused
    }

    /// Tells `user` `text` (a direct message, else in `from`); the forward ends as `outcome`.
    async fn tell_and(
        &self,
        user: &str,
        from: Option<&str>,
        text: String,
        outcome: Outcome,
    ) -> Outcome {
        self.tell_person(user, from, &text_content(text)).await;
        outcome
    }

    async fn release_forward(&self, key: &str, owner: &str) {
        if let Err(store_error) = self.table.release_claim(COMMAND_SCOPE, key, owner).await {
            warn!(error = %store_error, "the forward claim could not be released; it expires on its own");
        }
    }
}

/// What the sender reads when the integration's table stopped their message to `case_id`.
fn table_unavailable_text(case_id: &CaseId) -> String {
    format!(
        "The integration's table is unavailable right now, so nothing was sent to case {case_id}. \
         Please try again in a moment."
    )
}

fn text_content(text: String) -> SlackMessageContent {
    SlackMessageContent::new().with_text(text)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn invocation(view_id: &str) -> ForwardInvocation {
        ForwardInvocation::new(
            view_id,
            "T0TEAM",
            "U0JANE",
            CaseId::new("1234567890").expect("case id"),
            Utc::now(),
        )
    }

    #[test]
    fn the_client_token_follows_the_view_and_the_part() {
        let first = invocation("V0VIEW1");
        assert_eq!(client_token(&first, 0), "sirslack-forward-T0TEAM-V0VIEW1-0");
        assert_eq!(
            client_token(&first, 0),
            client_token(&invocation("V0VIEW1"), 0)
        );
        assert_ne!(client_token(&first, 0), client_token(&first, 1));
        assert_ne!(
            client_token(&first, 0),
            client_token(&invocation("V0VIEW2"), 0)
        );
    }

    #[test]
    fn the_claim_is_the_one_the_events_handler_checks() {
        assert_eq!(COMMAND_SCOPE, sirslack_slack_router::FORWARD_CLAIM_SCOPE);
        assert_eq!(claim_key(&invocation("V0VIEW1")), "forward#T0TEAM#V0VIEW1");
    }

    #[test]
    fn odd_ids_and_kinds_are_rejected() {
        assert!(validate(&invocation("V0VIEW1")).is_ok());
        assert!(validate(&invocation("../V0")).is_err());
        let mut other = invocation("V0VIEW1");
        other.kind = "home".into();
        assert!(validate(&other).is_err());
        other = invocation("V0VIEW1");
        other.version = 2;
        assert!(matches!(validate(&other), Err(InvocationError::Version(2))));
    }
}
