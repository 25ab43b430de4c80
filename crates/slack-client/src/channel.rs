//! A case's channel: claimed, created (or adopted), linked both ways, and set up.
//!
//! Creation is guarded twice: the case's lease lets one worker at a time work on the case, and
//! the claim (`attribute_not_exists` on the case's `CHANNEL` item) lets one worker ever start
//! creating. A worker that finds the case claimed but unlinked holds the lease, so the
//! claimer is gone (its lease expired with its invocation) and it takes over; if the claimer
//! had created the channel before dying, `name_taken` leads to the channel, which is adopted
//! because it is ours (linked to this case, or created by this app's bot user and not linked
//! to any other case). A channel someone else made under the name makes the next bounded
//! candidate (`-2` ... `-5`) be tried.

use sirslack_domain::Case;
use sirslack_domain::channel::MAX_NAME_ATTEMPTS;
use sirslack_domain::marker::channel_created_comment;
use sirslack_mapper::slack::{initial_case_message, users_not_found_message};
use sirslack_slack_api::{ChannelInfo, ErrorClass, SlackApiError};
use sirslack_store::SyncOrigin;

use crate::apply::{CaseRun, Channel};
use crate::failure::{Failure, Step};

impl CaseRun<'_, '_> {
    /// The case's channel; a case without one (its creation failed, or its `CaseCreated`
    /// never arrived) gets it now, from the case as SIR has it: the channel heals itself.
    pub(crate) async fn channel_for_update(&mut self) -> Step<Channel> {
        if let Some(channel) = self.linked_channel() {
            return Ok(channel);
        }
        tracing::warn!(case_id = %self.case_id, "the case has no Slack channel yet; creating it now");
        let case = self.inv.handler.services.sir.case(&self.case_id).await?;
        self.set_up_channel(&case).await
    }

    /// Creates (or finds) the channel and brings it to what a new case channel shows: topic,
    /// purpose, watchers invited, the initial message, and the SIR comment naming the channel.
    /// Every step is idempotent or marker-guarded, so a retry resumes where a crash stopped.
    pub(crate) async fn set_up_channel(&mut self, case: &Case) -> Step<Channel> {
        let channel = self.ensure_channel().await?;
        self.show(&channel, case.clone()).await?;
        let not_found = self.invite_watchers(&channel, &case.watchers).await?;
        let links = &self.inv.handler.links;
        self.post_once(
            &channel,
            &format!("setup:{}#initial", self.case_id),
            &initial_case_message(case, links),
        )
        .await?;
        if !not_found.is_empty() {
            self.post_once(
                &channel,
                &format!("setup:{}#not-found", self.case_id),
                &users_not_found_message(&not_found),
            )
            .await?;
        }
        self.announce_in_sir(&channel).await?;
        Ok(channel)
    }

    /// The linked channel, or a new (or adopted) one, linked both ways.
    async fn ensure_channel(&mut self) -> Step<Channel> {
        if let Some(channel) = self.linked_channel() {
            return Ok(channel);
        }
        let table = &self.inv.handler.services.table;
        if self.record.is_none() {
            let claimed = table.claim_case(&self.case_id).await?;
            if !claimed {
                tracing::info!(case_id = %self.case_id, "case claimed by a worker that is gone; taking over");
            }
            self.reload().await?;
            if let Some(channel) = self.linked_channel() {
                return Ok(channel);
            }
        }

        let is_private = self.inv.handler.config.channel_visibility.is_private();
        let session = self.session();
        for attempt in 0..MAX_NAME_ATTEMPTS {
            let Some(name) = self.inv.namer.candidate(&self.case_id, attempt) else {
                break;
            };
            match session.create_channel(&name, is_private).await {
                Ok(created) => {
                    tracing::info!(case_id = %self.case_id, channel_id = %created.id, channel = %created.name, "channel created");
                    return self.link(&created).await;
                }
                Err(error) if error.is_code("name_taken") => {
                    if let Some(existing) = session.find_channel_by_name(&name).await?
                        && self.is_ours(&existing).await?
                    {
                        tracing::info!(case_id = %self.case_id, channel_id = %existing.id, channel = %existing.name, "channel already exists and is this case's: adopted");
                        if existing.is_archived {
                            session.unarchive(&existing.id).await?;
                        }
                        return self.link(&existing).await;
                    }
                    tracing::info!(case_id = %self.case_id, channel = %name, "channel name taken by another channel; trying the next name");
                }
                Err(error) => return Err(error.into()),
            }
        }
        tracing::error!(
            case_id = %self.case_id,
            attempts = MAX_NAME_ATTEMPTS,
            "no channel could be created: every candidate name is taken by another channel"
        );
        Err(Failure::Permanent(SlackApiError::new(
            "conversations.create",
            "name_taken",
            ErrorClass::Permanent,
        )))
    }

    /// Whether an existing channel belongs to this case: linked to it, or made by this app's
    /// bot and linked to no other case (a creation whose link was never written).
    async fn is_ours(&self, channel: &ChannelInfo) -> Step<bool> {
        let services = &self.inv.handler.services;
        if let Some(linked_case) = services.table.case_for_channel(&channel.id).await? {
            return Ok(linked_case == self.case_id);
        }
        let bot_user_id = self.inv.handler.bot_user_id(&self.session()).await?;
        Ok(channel.creator.as_deref() == Some(bot_user_id.as_str()))
    }

    async fn link(&mut self, channel: &ChannelInfo) -> Step<Channel> {
        self.inv
            .handler
            .services
            .table
            .link_channel(&self.case_id, &channel.id, &channel.name)
            .await?;
        self.reload().await?;
        Ok(Channel {
            id: channel.id.clone(),
            name: channel.name.clone(),
        })
    }

    /// `[Slack Update] Slack channel created: #name` on the case, recorded as written by the
    /// integration (origin `slack`) so the poller never copies it back to Slack. SIR's
    /// `clientToken` makes a retried call create one comment.
    async fn announce_in_sir(&self, channel: &Channel) -> Step {
        let key = format!("setup:{}#sir-comment", self.case_id);
        let services = &self.inv.handler.services;
        if services
            .state
            .marker_present(crate::apply::POST_SCOPE, &key)
            .await?
        {
            return Ok(());
        }
        let body = channel_created_comment(&channel.name);
        let client_token = format!("sirslack-channel-{}-{}", self.case_id, channel.id);
        match services
            .sir
            .create_comment(&self.case_id, &body, &client_token)
            .await
        {
            Ok(comment_id) => {
                services
                    .table
                    .record_comment(&self.case_id, &comment_id, SyncOrigin::Slack)
                    .await?;
            }
            Err(Failure::Unrecoverable(reason)) => {
                // The channel works; a missing note in SIR is not worth blocking the case.
                tracing::warn!(case_id = %self.case_id, %reason, "cannot note the channel in SIR");
            }
            Err(failure) => return Err(failure),
        }
        self.mark_done(&key).await
    }
}
