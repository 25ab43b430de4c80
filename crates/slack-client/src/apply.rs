//! Applying one case's events, in sequence order, to its channel.

use chrono::{DateTime, Utc};
use sirslack_domain::announced::{ANNOUNCED_CHANGE_SCOPE, AnnouncedChange};
use sirslack_domain::{
    Attachment, Case, CaseId, CaseStatus, ClosureCode, Comment, EventPayload, FieldChange,
    IntegrationEvent, Watcher,
};
use sirslack_mapper::slack::{
    CommentEdit, case_updated_message, channel_purpose, channel_topic, closure_message,
    comment_messages, comment_part_removed_message, edited_comment_messages, quiet_case_message,
    users_not_found_message, watchers_changed_message,
};
use sirslack_slack_api::{SlackApiError, SlackSession};
use sirslack_store::{ChannelLink, CommentMessages, Shown, StoreError};
use slack_morphism::prelude::SlackMessageContent;

use crate::envelope::QueuedEvent;
use crate::failure::{Failure, Step};
use crate::handler::Invocation;
use crate::messages::slack_failure_comment;

/// Scope of the markers that say a post (or another one-off side effect) was made.
pub const POST_SCOPE: &str = "slack-post";
/// How long post markers live: longer than any redelivery (SQS keeps messages 14 days at most).
pub const POST_MARKER_TTL_DAYS: i64 = 15;
/// Scope of the markers that limit `[Slack Update]` failure comments in SIR.
const FAILURE_NOTICE_SCOPE: &str = "slack-failure-notice";
/// One failure comment per case and Slack error code per this many minutes.
const FAILURE_NOTICE_MINUTES: i64 = 60;

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// Applied, or acknowledged as a duplicate or a permanent failure.
    Done,
    /// Its predecessor is not applied yet (it may be in flight in another invocation).
    Waiting,
    /// It failed in a way that may work later.
    Retry,
}

impl Applied {
    fn from_done(done: bool) -> Self {
        if done { Self::Done } else { Self::Retry }
    }
}

/// A case's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Channel {
    pub(crate) id: String,
    pub(crate) name: String,
}

/// One case's events being applied by one worker (which holds the case's lease).
pub(crate) struct CaseRun<'i, 'h> {
    pub(crate) inv: &'i Invocation<'h>,
    pub(crate) case_id: CaseId,
    /// The channel item as last read or written; `None` while the case was never claimed.
    pub(crate) record: Option<ChannelLink>,
}

impl<'i, 'h> CaseRun<'i, 'h> {
    /// Reads the case's channel item.
    pub(crate) async fn load(inv: &'i Invocation<'h>, case_id: CaseId) -> Result<Self, StoreError> {
        let record = inv.handler.services.table.channel_link(&case_id).await?;
        Ok(Self {
            inv,
            case_id,
            record,
        })
    }

    pub(crate) fn session(&self) -> SlackSession<'h> {
        self.inv.session()
    }

    fn applied(&self) -> u64 {
        self.record
            .as_ref()
            .map_or(0, |record| record.applied_sequence)
    }

    pub(crate) fn linked_channel(&self) -> Option<Channel> {
        let record = self.record.as_ref()?;
        Some(Channel {
            id: record.channel_id.clone()?,
            name: record.channel_name.clone().unwrap_or_default(),
        })
    }

    pub(crate) async fn reload(&mut self) -> Step {
        self.record = self
            .inv
            .handler
            .services
            .table
            .channel_link(&self.case_id)
            .await?;
        Ok(())
    }

    /// Applies one event if it is the next one (or a late copy that is safe to replay) and
    /// moves the cursor.
    pub(crate) async fn apply(&mut self, queued: &QueuedEvent) -> Applied {
        let event = &queued.event;
        let sequence = event.sequence;
        let applied = self.applied();
        let case_id = &self.case_id;
        if sequence <= applied {
            return Applied::from_done(self.replay_late_copy(event).await);
        }
        let skipping_gap = sequence > applied + 1;
        if skipping_gap {
            if queued.receive_count < self.inv.handler.config.gap_skip_receive_count {
                tracing::info!(
                    case_id = %case_id,
                    sequence,
                    applied,
                    receive_count = queued.receive_count,
                    "an earlier event of the case is not applied yet; this one waits"
                );
                return Applied::Waiting;
            }
            tracing::warn!(
                case_id = %case_id,
                sequence,
                applied,
                receive_count = queued.receive_count,
                "events {}..={} never arrived in time; applying this one anyway so the case is not blocked",
                applied + 1,
                sequence - 1
            );
        }

        let mut outcome = self.apply_payload(event).await;
        if let Err(Failure::Permanent(error)) = &outcome
            && error.is_code("is_archived")
            && !matches!(event.payload, EventPayload::CaseClosed { .. })
        {
            // Someone archived the channel of a case that may still be open: an open case gets
            // a new channel (a bot cannot unarchive) and the event is applied there.
            outcome = match self.replace_archived_channel().await {
                Ok(true) => self.apply_payload(event).await,
                Ok(false) => outcome,
                Err(failure) => Err(failure),
            };
        }
        match outcome {
            Ok(()) => {}
            Err(failure) => {
                if !self.report(event, failure).await {
                    return Applied::Retry;
                }
            }
        }
        Applied::from_done(self.advance(sequence, applied).await)
    }

    /// An event at or below the cursor is a duplicate. Comments and attachments are replayed
    /// all the same: their posts are marker-guarded, so a copy only fills in what a crash left
    /// out (or an event that arrived after a gap was skipped), never posts twice.
    async fn replay_late_copy(&mut self, event: &IntegrationEvent) -> bool {
        let replayable = matches!(
            event.payload,
            EventPayload::CommentAdded { .. } | EventPayload::AttachmentAdded { .. }
        );
        if !replayable || self.linked_channel().is_none() {
            tracing::debug!(case_id = %self.case_id, sequence = event.sequence, "duplicate event acknowledged");
            return true;
        }
        match self.apply_payload(event).await {
            Ok(()) => true,
            Err(Failure::Retry(reason)) => {
                tracing::warn!(case_id = %self.case_id, sequence = event.sequence, %reason, "late event will be retried");
                false
            }
            Err(failure) => {
                tracing::warn!(case_id = %self.case_id, sequence = event.sequence, error = %failure, "late event could not be applied; acknowledged");
                true
            }
        }
    }

    /// Logs a failure and tells SIR when Slack refused. Returns whether the event counts as
    /// handled (permanent failures) or must be retried (everything else).
    async fn report(&mut self, event: &IntegrationEvent, failure: Failure) -> bool {
        let case_id = self.case_id.clone();
        let sequence = event.sequence;
        let event_type = event.detail_type();
        match failure {
            Failure::Retry(reason) => {
                tracing::warn!(case_id = %case_id, sequence, event_type, %reason, "event will be retried");
                false
            }
            Failure::Auth(error) => {
                let parameter = &self.inv.handler.config.bot_token_parameter;
                tracing::error!(
                    case_id = %case_id,
                    sequence,
                    event_type,
                    code = %error.code,
                    parameter = %parameter,
                    "Slack rejected the bot token ({}). ROTATE THE TOKEN: store a valid xoxb- token in SSM parameter {} (it is picked up without a redeploy). The event goes back to the queue and ends in the dead-letter queue if the token is not fixed.",
                    error.code,
                    parameter
                );
                self.inv.handler.services.token.invalidate();
                self.tell_sir(&format!("{event_type} event"), &error.code)
                    .await;
                false
            }
            Failure::Permanent(error) => {
                tracing::error!(
                    case_id = %case_id,
                    sequence,
                    event_type,
                    method = error.method,
                    code = %error.code,
                    "Slack refused the update for good; the event is acknowledged"
                );
                self.tell_sir(&format!("{event_type} event"), &error.code)
                    .await;
                true
            }
            Failure::Unrecoverable(reason) => {
                tracing::error!(case_id = %case_id, sequence, event_type, %reason, "event cannot be applied; acknowledged");
                true
            }
        }
    }

    /// One `[Slack Update]` comment per case and error code per hour, so a broken token or
    /// channel does not flood the case with comments.
    async fn tell_sir(&self, what: &str, code: &str) {
        let services = &self.inv.handler.services;
        let marker = format!("{}#{code}", self.case_id);
        let first = services
            .table
            .put_once(
                FAILURE_NOTICE_SCOPE,
                &marker,
                chrono::Duration::minutes(FAILURE_NOTICE_MINUTES),
            )
            .await;
        match first {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(case_id = %self.case_id, %error, "cannot write the failure-notice marker; not telling SIR");
                return;
            }
        }
        let body = slack_failure_comment(what, code);
        let hour = Utc::now().timestamp() / 3600;
        let client_token = format!("sirslack-slack-failure-{}-{code}-{hour}", self.case_id);
        match services
            .sir
            .create_comment(&self.case_id, &body, &truncate_token(&client_token))
            .await
        {
            Ok(comment_id) => {
                if let Err(error) = services
                    .table
                    .record_comment(
                        &self.case_id,
                        &comment_id,
                        sirslack_store::SyncOrigin::Slack,
                    )
                    .await
                {
                    tracing::warn!(case_id = %self.case_id, %error, "cannot record the failure comment");
                }
            }
            Err(error) => {
                tracing::warn!(case_id = %self.case_id, %error, "cannot tell SIR about the Slack failure");
            }
        }
    }

    /// Moves the cursor to `sequence` (from `applied`, over a gap if need be).
    async fn advance(&mut self, sequence: u64, applied: u64) -> bool {
        let services = &self.inv.handler.services;
        if self.record.is_none() {
            // The event was handled without ever claiming the case (a permanent failure
            // before the claim): create the item that carries the cursor.
            if let Err(error) = services.table.claim_case(&self.case_id).await {
                tracing::warn!(case_id = %self.case_id, %error, "cannot create the cursor; event will be retried");
                return false;
            }
        }
        let moved = if sequence == applied + 1 {
            match services
                .table
                .advance_applied_sequence(&self.case_id, sequence)
                .await
            {
                Ok(()) => Ok(true),
                Err(StoreError::Conflict { .. }) => Ok(false),
                Err(error) => Err(error),
            }
        } else {
            services
                .table
                .jump_cursor(&self.case_id, applied, sequence)
                .await
        };
        match moved {
            Ok(true) => {
                if let Some(record) = &mut self.record {
                    record.applied_sequence = sequence;
                } else if let Err(error) = self.reload().await {
                    tracing::warn!(case_id = %self.case_id, %error, "cannot re-read the channel record");
                    return false;
                }
                true
            }
            Ok(false) => {
                // Someone moved the cursor meanwhile: fine if it is at or past this event.
                if let Err(error) = self.reload().await {
                    tracing::warn!(case_id = %self.case_id, %error, "cannot re-read the channel record");
                    return false;
                }
                let now = self.applied();
                if now < sequence {
                    tracing::warn!(case_id = %self.case_id, sequence, cursor = now, "the cursor moved elsewhere; event will be retried");
                }
                now >= sequence
            }
            Err(error) => {
                tracing::warn!(case_id = %self.case_id, sequence, %error, "cannot move the cursor; event will be retried (its posts are marker-guarded)");
                false
            }
        }
    }

    // ---- the events -----------------------------------------------------------------------

    async fn apply_payload(&mut self, event: &IntegrationEvent) -> Step {
        let key = event.idempotency_key.as_str();
        match &event.payload {
            EventPayload::CaseCreated { case } => self.set_up_channel(case).await.map(|_| ()),
            EventPayload::CaseUpdated { changes } => self.case_updated(changes, key).await,
            EventPayload::WatchersChanged { added, removed } => {
                self.watchers_changed(added, removed, key).await
            }
            EventPayload::CommentAdded { comment } => self.comment_added(comment, key).await,
            EventPayload::CommentEdited {
                comment,
                edited_by,
                edited_at,
            } => {
                self.comment_edited(comment, edited_by, *edited_at, key)
                    .await
            }
            EventPayload::AttachmentAdded { attachment } => {
                self.attachment_added(attachment, key).await
            }
            EventPayload::CaseClosed {
                closure_code,
                closed_at,
                title,
            } => {
                self.case_closed(closure_code.as_ref(), *closed_at, title, key)
                    .await
            }
            EventPayload::CaseQuiet {
                quiet_since,
                status,
                ..
            } => self.case_quiet(status, *quiet_since, key).await,
            _ => {
                tracing::warn!(
                    case_id = %self.case_id,
                    event_type = event.detail_type(),
                    "this build does not apply this event type; acknowledged"
                );
                Ok(())
            }
        }
    }

    async fn case_updated(&mut self, changes: &[FieldChange], key: &str) -> Step {
        let mut channel = self.channel_for_update().await?;
        let shown = self.shown_case().await?;
        let was_closed = shown.is_closed();
        let mut case = shown;
        for change in changes {
            apply_change(&mut case, change);
        }
        let reopened = (was_closed && !case.is_closed())
            || changes.iter().any(|change| {
                matches!(change, FieldChange::Status { old, new } if old.is_closed() && !new.is_closed())
            });
        if reopened {
            // Closing may have archived the channel, and a bot cannot unarchive: an archived
            // channel is replaced by a new one, set up from the case as it is now.
            channel = self.unarchived_channel(channel, &case).await?;
        }
        let (unannounced, announced) = self.split_announced(changes).await?;
        if !unannounced.is_empty() {
            self.post_once(
                &channel,
                &format!("{key}#update"),
                &case_updated_message(&unannounced),
            )
            .await?;
        }
        self.show(&channel, case).await?;
        self.forget_announced(&announced).await;
        Ok(())
    }

    /// Splits `changes` into those to announce and the marker keys of those the command that
    /// made them announced already (see [`sirslack_domain::announced`]).
    async fn split_announced(
        &self,
        changes: &[FieldChange],
    ) -> Step<(Vec<FieldChange>, Vec<String>)> {
        let mut unannounced = Vec::new();
        let mut announced = Vec::new();
        for change in changes {
            let marker = match AnnouncedChange::of_field_change(change) {
                Some(announced) => self.announced_marker(&announced).await?,
                None => None,
            };
            if let Some(key) = marker {
                tracing::info!(case_id = %self.case_id, field = change.label(), "change announced by the command that made it; not announced again");
                announced.push(key);
            } else {
                unannounced.push(change.clone());
            }
        }
        Ok((unannounced, announced))
    }

    /// The marker key of `change` when the command handler announced it.
    async fn announced_marker(&self, change: &AnnouncedChange) -> Step<Option<String>> {
        let key = change.marker_key(&self.case_id);
        let present = self
            .inv
            .handler
            .services
            .table
            .marker_present(ANNOUNCED_CHANGE_SCOPE, &key)
            .await?;
        Ok(present.then_some(key))
    }

    /// Removes the markers of announced changes once their event is applied, so that a later
    /// change to the same value is announced. Only after the event's last step: a retried
    /// event must leave out the same changes. A marker that cannot be removed expires.
    async fn forget_announced(&self, keys: &[String]) {
        for key in keys {
            if let Err(error) = self
                .inv
                .handler
                .services
                .table
                .forget_once(ANNOUNCED_CHANGE_SCOPE, key)
                .await
            {
                tracing::warn!(case_id = %self.case_id, %error, "cannot remove an announcement marker; it expires on its own");
            }
        }
    }

    async fn watchers_changed(
        &mut self,
        added: &[Watcher],
        removed: &[Watcher],
        key: &str,
    ) -> Step {
        let channel = self.channel_for_update().await?;
        let not_found = self.invite_watchers(&channel, added).await?;
        self.post_once(
            &channel,
            &format!("{key}#watchers"),
            &watchers_changed_message(added, removed),
        )
        .await?;
        if !not_found.is_empty() {
            self.post_once(
                &channel,
                &format!("{key}#not-found"),
                &users_not_found_message(&not_found),
            )
            .await?;
        }
        if self.inv.handler.config.remove_departed_watchers {
            self.remove_from_channel(&channel, removed).await?;
        }
        let mut case = self.shown_case().await?;
        case.watchers
            .retain(|watcher| !removed.iter().any(|gone| gone.is_same_person(watcher)));
        for watcher in added {
            if !case
                .watchers
                .iter()
                .any(|known| known.is_same_person(watcher))
            {
                case.watchers.push(watcher.clone());
            }
        }
        self.show(&channel, case).await
    }

    async fn remove_from_channel(&mut self, channel: &Channel, removed: &[Watcher]) -> Step {
        for watcher in removed {
            let Some(user) = self.inv.user_by_email(&watcher.email).await? else {
                continue;
            };
            match self.session().kick(&channel.id, &user.id).await {
                Ok(()) => {}
                Err(error) if is_permanent(&error) => {
                    tracing::warn!(case_id = %self.case_id, user_id = %user.id, code = %error.code, "cannot remove a former watcher from the channel");
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    async fn comment_added(&mut self, comment: &Comment, key: &str) -> Step {
        if comment.is_from_integration() {
            tracing::debug!(case_id = %self.case_id, "comment written by this integration; not copied back");
            return Ok(());
        }
        let channel = self.channel_for_update().await?;
        let messages = comment_messages(comment);
        self.post_comment_parts(&channel, comment, &messages, &format!("{key}#"), None)
            .await
    }

    /// Posts each part of a comment that its marker (`<prefix><part>`) does not say was
    /// posted, and records the `ts` of the comment's messages (after each post, before its
    /// marker, so a part marked posted always has its `ts` recorded). `recorded` is what the
    /// table holds for the comment in this channel, when it was read already; parts posted by
    /// a version that did not record them leave the list short, and nothing more is recorded.
    async fn post_comment_parts(
        &self,
        channel: &Channel,
        comment: &Comment,
        messages: &[SlackMessageContent],
        marker_prefix: &str,
        recorded: Option<Vec<String>>,
    ) -> Step {
        let services = &self.inv.handler.services;
        let comment_id = comment.id.as_str();
        let mut known = recorded;
        for (part, message) in messages.iter().enumerate() {
            let marker = format!("{marker_prefix}{part}");
            if services.table.marker_present(POST_SCOPE, &marker).await? {
                continue;
            }
            let ts = match &mut known {
                Some(ts) => ts,
                None => known.insert(
                    services
                        .table
                        .comment_messages(&self.case_id, comment_id)
                        .await?
                        .filter(|recorded| recorded.channel_id == channel.id)
                        .map(|recorded| recorded.ts)
                        .unwrap_or_default(),
                ),
            };
            let posted = self.session().post_message(&channel.id, message).await?;
            if ts.len() == part {
                ts.push(posted);
                services
                    .table
                    .record_comment_messages(
                        &self.case_id,
                        comment_id,
                        &CommentMessages {
                            channel_id: channel.id.clone(),
                            ts: ts.clone(),
                        },
                    )
                    .await?;
            }
            self.mark_done(&marker).await?;
        }
        Ok(())
    }

    /// A comment published earlier was edited in SIR: the messages that carry it are
    /// rewritten (`chat.update`) with the new text, marked as edited. When they are not known
    /// (posted before they were recorded, in a channel since replaced, deleted, or Slack will
    /// not update them), new messages say they are an edit of an earlier comment, and become
    /// the ones a later edit rewrites. Redelivered, it writes the same content again and never
    /// posts twice (the new messages are marker-guarded).
    async fn comment_edited(
        &mut self,
        comment: &Comment,
        edited_by: &str,
        edited_at: DateTime<Utc>,
        key: &str,
    ) -> Step {
        if comment.is_from_integration() {
            tracing::debug!(case_id = %self.case_id, "comment written by this integration; its edit is not copied back");
            return Ok(());
        }
        let channel = self.channel_for_update().await?;
        let services = &self.inv.handler.services;
        let repost_prefix = format!("{key}#repost-");
        let reposted = services
            .table
            .marker_present(POST_SCOPE, &format!("{repost_prefix}0"))
            .await?;
        let recorded = if reposted {
            None
        } else {
            services
                .table
                .comment_messages(&self.case_id, comment.id.as_str())
                .await?
                .filter(|recorded| recorded.channel_id == channel.id)
        };
        if let Some(recorded) = recorded {
            match self
                .rewrite_comment(&channel, comment, edited_by, edited_at, key, recorded)
                .await
            {
                Err(Failure::Permanent(error)) if cannot_rewrite(&error) => {
                    tracing::warn!(case_id = %self.case_id, comment_id = %comment.id, code = %error.code, "the message that carried the comment cannot be updated; posting the edit as a new message");
                }
                other => return other,
            }
        } else {
            tracing::info!(case_id = %self.case_id, comment_id = %comment.id, "the message that carried the comment is not known; posting the edit as a new message");
        }
        let messages = edited_comment_messages(
            comment,
            CommentEdit::Repost {
                by: edited_by,
                at: edited_at,
            },
        );
        // A first repost starts the comment's list of messages afresh; a redelivered one goes on
        // with the list it recorded.
        let recorded = (!reposted).then(Vec::new);
        self.post_comment_parts(&channel, comment, &messages, &repost_prefix, recorded)
            .await
    }

    /// Rewrites the recorded messages of a comment with its edited text: one per part, extra
    /// parts posted (marker `<key>#extra-<part>`), and parts the comment no longer has
    /// replaced by a line saying so.
    async fn rewrite_comment(
        &self,
        channel: &Channel,
        comment: &Comment,
        edited_by: &str,
        edited_at: DateTime<Utc>,
        key: &str,
        recorded: CommentMessages,
    ) -> Step {
        let messages = edited_comment_messages(
            comment,
            CommentEdit::InPlace {
                by: edited_by,
                at: edited_at,
            },
        );
        let session = self.session();
        for (ts, message) in recorded.ts.iter().zip(&messages) {
            session.update_message(&channel.id, ts, message).await?;
        }
        if messages.len() > recorded.ts.len() {
            let count = recorded.ts.len();
            // Extra parts: posted like a comment's parts, appended to the recorded ones.
            let extra: Vec<SlackMessageContent> = messages[count..].to_vec();
            let mut ts = recorded.ts.clone();
            for (offset, message) in extra.iter().enumerate() {
                let marker = format!("{key}#extra-{}", count + offset);
                if self
                    .inv
                    .handler
                    .services
                    .table
                    .marker_present(POST_SCOPE, &marker)
                    .await?
                {
                    continue;
                }
                ts.push(session.post_message(&channel.id, message).await?);
                self.inv
                    .handler
                    .services
                    .table
                    .record_comment_messages(
                        &self.case_id,
                        comment.id.as_str(),
                        &CommentMessages {
                            channel_id: channel.id.clone(),
                            ts: ts.clone(),
                        },
                    )
                    .await?;
                self.mark_done(&marker).await?;
            }
        }
        let removed = comment_part_removed_message(comment, edited_by, edited_at);
        for ts in recorded.ts.iter().skip(messages.len()) {
            match session.update_message(&channel.id, ts, &removed).await {
                Ok(()) => {}
                Err(error) if cannot_rewrite(&error) => {
                    tracing::info!(case_id = %self.case_id, code = %error.code, "a part the edit removed cannot be updated; left as it is");
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    async fn attachment_added(&mut self, attachment: &Attachment, key: &str) -> Step {
        let channel = self.channel_for_update().await?;
        crate::transfer::copy_attachment(self, &channel, attachment, key).await
    }

    /// Posts the quiet-case nudge in the case channel (once per event). A case without a
    /// channel gets none: a nudge never creates a channel.
    async fn case_quiet(
        &mut self,
        status: &CaseStatus,
        quiet_since: DateTime<Utc>,
        key: &str,
    ) -> Step {
        let Some(channel) = self.linked_channel() else {
            tracing::warn!(case_id = %self.case_id, "quiet case has no Slack channel; no nudge");
            return Ok(());
        };
        self.post_once(
            &channel,
            &format!("{key}#nudge"),
            &quiet_case_message(&self.case_id, status, quiet_since, Utc::now()),
        )
        .await?;
        tracing::info!(case_id = %self.case_id, channel_id = %channel.id, "quiet case nudged");
        Ok(())
    }

    async fn case_closed(
        &mut self,
        closure_code: Option<&ClosureCode>,
        closed_at: Option<DateTime<Utc>>,
        title: &str,
        key: &str,
    ) -> Step {
        let channel = self.channel_for_update().await?;
        let announced = self.announced_marker(&AnnouncedChange::Closed).await?;
        let posted = if announced.is_some() {
            tracing::info!(case_id = %self.case_id, "closing announced by the command that closed the case; not announced again");
            Ok(())
        } else {
            self.post_once(
                &channel,
                &format!("{key}#closed"),
                &closure_message(closure_code, closed_at),
            )
            .await
        };
        match posted {
            Err(Failure::Permanent(error)) if error.is_code("is_archived") => {
                tracing::info!(case_id = %self.case_id, "channel already archived; nothing more to show");
                return Ok(());
            }
            other => other?,
        }
        let mut case = self.shown_case().await?;
        case.status = CaseStatus::Closed;
        case.closure_code = closure_code.cloned().or(case.closure_code);
        case.closed_at = closed_at.or(case.closed_at);
        if !title.trim().is_empty() {
            title.clone_into(&mut case.title);
        }
        self.show(&channel, case).await?;
        if self.inv.handler.config.archive_on_close && self.session().archive(&channel.id).await? {
            tracing::info!(case_id = %self.case_id, channel_id = %channel.id, "case closed: channel archived");
        }
        self.forget_announced(announced.as_slice()).await;
        Ok(())
    }

    // ---- shared steps ---------------------------------------------------------------------

    /// The case as the channel shows it; asked from SIR when nothing is stored (a channel set
    /// up by an older version).
    async fn shown_case(&self) -> Step<Case> {
        match self
            .record
            .as_ref()
            .and_then(|record| record.shown.as_ref())
        {
            Some(shown) => Ok(shown.case.clone()),
            None => self.inv.handler.services.sir.case(&self.case_id).await,
        }
    }

    /// Refreshes the topic and purpose where they differ from what is shown, and stores the
    /// case as shown.
    pub(crate) async fn show(&mut self, channel: &Channel, case: Case) -> Step {
        let topic = channel_topic(&case);
        let purpose = channel_purpose(&case);
        let shown = self.record.as_ref().and_then(|record| record.shown.clone());
        let session = self.session();
        if shown.as_ref().map(|shown| &shown.topic) != Some(&topic) {
            best_effort(&self.case_id, session.set_topic(&channel.id, &topic).await)?;
        }
        if shown.as_ref().map(|shown| &shown.purpose) != Some(&purpose) {
            best_effort(
                &self.case_id,
                session.set_purpose(&channel.id, &purpose).await,
            )?;
        }
        let shown = Shown {
            case,
            topic,
            purpose,
        };
        self.inv
            .handler
            .services
            .table
            .save_shown(&self.case_id, &shown)
            .await?;
        if let Some(record) = &mut self.record {
            record.shown = Some(shown);
        }
        Ok(())
    }

    /// Posts `content` unless the marker `key` says it was posted; writes the marker after
    /// Slack accepted the post.
    pub(crate) async fn post_once(
        &self,
        channel: &Channel,
        key: &str,
        content: &SlackMessageContent,
    ) -> Step {
        let services = &self.inv.handler.services;
        if services.table.marker_present(POST_SCOPE, key).await? {
            return Ok(());
        }
        self.session().post_message(&channel.id, content).await?;
        self.mark_done(key).await
    }

    /// Records that the one-off side effect `key` happened.
    pub(crate) async fn mark_done(&self, key: &str) -> Step {
        self.inv
            .handler
            .services
            .table
            .put_once(
                POST_SCOPE,
                key,
                chrono::Duration::days(POST_MARKER_TTL_DAYS),
            )
            .await?;
        Ok(())
    }

    /// Invites the watchers' Slack users in one call (per 1,000); returns the e-mail addresses
    /// of those who could not be invited (no Slack user, or Slack refused them).
    pub(crate) async fn invite_watchers(
        &self,
        channel: &Channel,
        watchers: &[Watcher],
    ) -> Step<Vec<String>> {
        let mut user_ids: Vec<String> = Vec::new();
        let mut emails_by_user: Vec<(String, String)> = Vec::new();
        let mut not_found: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for watcher in watchers {
            let email = watcher.email.trim();
            if email.is_empty() || !seen.insert(watcher.email_key()) {
                continue;
            }
            match self.inv.user_by_email(email).await {
                Ok(Some(user)) if !user.deleted => {
                    if !user_ids.contains(&user.id) {
                        user_ids.push(user.id.clone());
                    }
                    emails_by_user.push((user.id, email.to_owned()));
                }
                Ok(_) => not_found.push(email.to_owned()),
                Err(Failure::Permanent(error)) => {
                    tracing::warn!(case_id = %self.case_id, code = %error.code, "users.lookupByEmail refused; the watcher is listed as not found");
                    not_found.push(email.to_owned());
                }
                Err(failure) => return Err(failure),
            }
        }
        if user_ids.is_empty() {
            return Ok(not_found);
        }
        match self.session().invite(&channel.id, &user_ids).await {
            Ok(outcome) => {
                for (user_id, reason) in outcome.refused {
                    tracing::info!(case_id = %self.case_id, user_id = %user_id, %reason, "Slack refused to invite a watcher");
                    if let Some((_, email)) = emails_by_user.iter().find(|(id, _)| *id == user_id) {
                        not_found.push(email.clone());
                    }
                }
            }
            Err(error) if is_permanent(&error) => {
                tracing::warn!(case_id = %self.case_id, code = %error.code, "conversations.invite refused");
            }
            Err(error) => return Err(error.into()),
        }
        Ok(not_found)
    }
}

/// A secondary step (topic, purpose) that Slack refuses for good is logged, not fatal.
fn best_effort(case_id: &CaseId, result: Result<(), SlackApiError>) -> Step {
    match result {
        Ok(()) => Ok(()),
        Err(error) if is_permanent(&error) => {
            tracing::warn!(case_id = %case_id, method = error.method, code = %error.code, "Slack refused a secondary update; continuing");
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}

/// Slack will not rewrite the message: it is gone (`message_not_found`), not the bot's
/// (`cant_update_message`), or the workspace's edit window closed (`edit_window_closed`,
/// documented for people's messages; taken the same way should Slack ever answer it to a
/// bot). The edit is then posted as a new message.
fn cannot_rewrite(error: &SlackApiError) -> bool {
    [
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
    ]
    .iter()
    .any(|code| error.is_code(code))
}

fn is_permanent(error: &SlackApiError) -> bool {
    error.class == sirslack_slack_api::ErrorClass::Permanent
}

/// SIR's `clientToken` is at most 255 characters.
fn truncate_token(token: &str) -> String {
    token.chars().take(255).collect()
}

/// Sets the field `change` names to its new value.
pub(crate) fn apply_change(case: &mut Case, change: &FieldChange) {
    match change {
        FieldChange::Title { new, .. } => new.clone_into(&mut case.title),
        FieldChange::Description { new, .. } => new.clone_into(&mut case.description),
        FieldChange::Status { new, .. } => case.status = new.clone(),
        FieldChange::Severity { new, .. } => case.severity = new.clone(),
        FieldChange::EngagementType { new, .. } => case.engagement_type = new.clone(),
        FieldChange::PendingAction { new, .. } => case.pending_action = new.clone(),
        FieldChange::Resolver { new, .. } => case.resolver = new.clone(),
        FieldChange::ImpactedAccounts { new, .. } => new.clone_into(&mut case.impacted_accounts),
        FieldChange::ImpactedRegions { new, .. } => new.clone_into(&mut case.impacted_regions),
        FieldChange::ImpactedServices { new, .. } => new.clone_into(&mut case.impacted_services),
        FieldChange::ThreatActorIps { new, .. } => new.clone_into(&mut case.threat_actor_ips),
        FieldChange::ClosureCode { new, .. } => case.closure_code = new.clone(),
        FieldChange::ReportedIncidentStart { new, .. } => case.reported_incident_start = *new,
        FieldChange::ActualIncidentStart { new, .. } => case.actual_incident_start = *new,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sirslack_domain::{EngagementType, ResolverType};

    #[test]
    fn changes_set_new_values() {
        let mut case = Case::new(
            CaseId::new("1234567890").unwrap(),
            "Old",
            "Old description",
            CaseStatus::Submitted,
            EngagementType::SecurityIncident,
            ResolverType::SelfManaged,
        );
        apply_change(
            &mut case,
            &FieldChange::Title {
                old: "Old".into(),
                new: "New".into(),
            },
        );
        apply_change(
            &mut case,
            &FieldChange::Status {
                old: CaseStatus::Submitted,
                new: CaseStatus::DetectionAndAnalysis,
            },
        );
        apply_change(
            &mut case,
            &FieldChange::ImpactedRegions {
                old: vec![],
                new: vec!["eu-west-1".into()],
            },
        );
        assert_eq!(case.title, "New");
        assert_eq!(case.status, CaseStatus::DetectionAndAnalysis);
        assert_eq!(case.impacted_regions, ["eu-west-1"]);
    }
}
