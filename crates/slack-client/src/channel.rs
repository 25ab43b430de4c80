//! A case's channel: claimed, created (or adopted), linked both ways, and set up; and
//! replaced when Slack archived it while the case is open.
//!
//! Creation is guarded twice: the case's lease lets one worker at a time work on the case, and
//! the claim (`attribute_not_exists` on the case's `CHANNEL` item) lets one worker ever start
//! creating. A worker that finds the case claimed but unlinked holds the lease, so the
//! claimer is gone (its lease expired with its invocation) and it takes over; if the claimer
//! had created the channel before dying, `name_taken` leads to the channel, which is adopted
//! because it is ours (linked to this case, or created by this app's bot user and not linked
//! to any other case) and not archived. A channel someone else made under the name, or an
//! archived one, makes the next bounded candidate (`-2` ... `-5`) be tried.
//!
//! Slack does not let a bot token unarchive a channel. So an archived channel of an open case
//! (a case re-opened after its channel was archived on closing, or an archived channel of the
//! case found when creating it) is never brought back: a new channel is created under the next
//! free name, set up like any new case channel, and linked to the case, and a
//! `[Slack Update]` comment in SIR names it.

use sirslack_domain::Case;
use sirslack_domain::channel::MAX_NAME_ATTEMPTS;
use sirslack_domain::marker::{channel_created_comment, channel_replaced_comment};
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
        let (channel, archived) = self.ensure_channel().await?;
        let steps = format!("setup:{}", self.case_id);
        self.furnish(&channel, case, &steps).await?;
        let comment = match &archived {
            Some(archived) => channel_replaced_comment(archived, &channel.name),
            None => channel_created_comment(&channel.name),
        };
        let client_token = format!("sirslack-channel-{}-{}", self.case_id, channel.id);
        self.announce_in_sir(&format!("{steps}#sir-comment"), &comment, &client_token)
            .await?;
        Ok(channel)
    }

    /// The channel of an open case, replaced by a new one when Slack has it archived (a bot
    /// cannot unarchive): asks Slack once (`conversations.info`).
    pub(crate) async fn unarchived_channel(
        &mut self,
        channel: Channel,
        case: &Case,
    ) -> Step<Channel> {
        let info = self.session().channel_info(&channel.id).await?;
        if !info.is_archived {
            return Ok(channel);
        }
        self.replace_channel(&channel, case).await
    }

    /// After Slack refused a post with `is_archived`: when the case is open in SIR and its
    /// linked channel is archived (a person archived it), the channel is replaced and `true`
    /// returned, so the event is applied in the new channel. A closed case keeps its archived
    /// channel (`false`: the refusal stands).
    pub(crate) async fn replace_archived_channel(&mut self) -> Step<bool> {
        let Some(channel) = self.linked_channel() else {
            return Ok(false);
        };
        let case = self.inv.handler.services.sir.case(&self.case_id).await?;
        if case.is_closed() {
            return Ok(false);
        }
        let info = self.session().channel_info(&channel.id).await?;
        if !info.is_archived {
            return Ok(false);
        }
        self.replace_channel(&channel, &case).await?;
        Ok(true)
    }

    /// Replaces `archived`, the case's channel, with a new channel set up like a new case's
    /// (topic, purpose, watchers, initial message), announced in SIR, then linked. Linking
    /// comes last: a worker that stops before it leaves the case on the archived channel, and
    /// its retry adopts the replacement it created (ours, unlinked, not archived) and finishes.
    async fn replace_channel(&mut self, archived: &Channel, case: &Case) -> Step<Channel> {
        let (created, _) = self.create_or_adopt().await?;
        let channel = Channel {
            id: created.id.clone(),
            name: created.name.clone(),
        };
        // Nothing is shown in the new channel yet: topic and purpose are set afresh.
        if let Some(record) = &mut self.record {
            record.shown = None;
        }
        let steps = format!("replace:{}#{}", self.case_id, channel.id);
        self.furnish(&channel, case, &steps).await?;
        let client_token = format!("sirslack-channel-replaced-{}-{}", self.case_id, channel.id);
        self.announce_in_sir(
            &format!("{steps}#sir-comment"),
            &channel_replaced_comment(&archived.name, &channel.name),
            &client_token,
        )
        .await?;
        let linked = self.link(&created).await?;
        tracing::warn!(
            case_id = %self.case_id,
            archived_channel_id = %archived.id,
            archived_channel = %archived.name,
            channel_id = %linked.id,
            channel = %linked.name,
            "channel replaced: the case is open but its channel is archived, and Slack does not let a bot unarchive; the case continues in a new channel"
        );
        Ok(linked)
    }

    /// What a new case channel shows, each step idempotent or marker-guarded (markers
    /// `<steps>#initial`, `<steps>#not-found`): topic and purpose, the watchers invited, the
    /// initial message, and the watchers Slack could not find.
    async fn furnish(&mut self, channel: &Channel, case: &Case, steps: &str) -> Step {
        self.show(channel, case.clone()).await?;
        let not_found = self.invite_watchers(channel, &case.watchers).await?;
        let links = &self.inv.handler.links;
        self.post_once(
            channel,
            &format!("{steps}#initial"),
            &initial_case_message(case, links),
        )
        .await?;
        if !not_found.is_empty() {
            self.post_once(
                channel,
                &format!("{steps}#not-found"),
                &users_not_found_message(&not_found),
            )
            .await?;
        }
        Ok(())
    }

    /// The linked channel, or a new (or adopted) one, linked both ways; with the name of an
    /// archived channel of the case passed over, if one was.
    async fn ensure_channel(&mut self) -> Step<(Channel, Option<String>)> {
        if let Some(channel) = self.linked_channel() {
            return Ok((channel, None));
        }
        let table = &self.inv.handler.services.table;
        if self.record.is_none() {
            let claimed = table.claim_case(&self.case_id).await?;
            if !claimed {
                tracing::info!(case_id = %self.case_id, "case claimed by a worker that is gone; taking over");
            }
            self.reload().await?;
            if let Some(channel) = self.linked_channel() {
                return Ok((channel, None));
            }
        }
        let (channel, archived) = self.create_or_adopt().await?;
        Ok((self.link(&channel).await?, archived))
    }

    /// Creates the case's channel under the first free candidate name, or adopts the channel
    /// under a taken name when it is ours and not archived. An archived channel of ours is
    /// passed over (a bot cannot unarchive it); its name is returned.
    async fn create_or_adopt(&self) -> Step<(ChannelInfo, Option<String>)> {
        let is_private = self.inv.handler.config.channel_visibility.is_private();
        let session = self.session();
        let mut archived = None;
        for attempt in 0..MAX_NAME_ATTEMPTS {
            let Some(name) = self.inv.namer.candidate(&self.case_id, attempt) else {
                break;
            };
            match session.create_channel(&name, is_private).await {
                Ok(created) => {
                    tracing::info!(case_id = %self.case_id, channel_id = %created.id, channel = %created.name, "channel created");
                    return Ok((created, archived));
                }
                Err(error) if error.is_code("name_taken") => {
                    match session.find_channel_by_name(&name).await? {
                        Some(existing) if self.is_ours(&existing).await? => {
                            if existing.is_archived {
                                tracing::info!(case_id = %self.case_id, channel_id = %existing.id, channel = %existing.name, "this case's channel is archived and a bot cannot unarchive it; trying the next name");
                                archived = Some(existing.name);
                                continue;
                            }
                            tracing::info!(case_id = %self.case_id, channel_id = %existing.id, channel = %existing.name, "channel already exists and is this case's: adopted");
                            return Ok((existing, archived));
                        }
                        _ => {
                            tracing::info!(case_id = %self.case_id, channel = %name, "channel name taken by another channel; trying the next name");
                        }
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
        tracing::error!(
            case_id = %self.case_id,
            attempts = MAX_NAME_ATTEMPTS,
            "no channel could be created: every candidate name is taken by another channel or an archived one"
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

    /// A `[Slack Update]` comment about the channel on the case, once (marker `key`),
    /// recorded as written by the integration (origin `slack`) so the poller never copies it
    /// back to Slack. SIR's `clientToken` makes a retried call create one comment.
    async fn announce_in_sir(&self, key: &str, body: &str, client_token: &str) -> Step {
        let services = &self.inv.handler.services;
        if services
            .table
            .marker_present(crate::apply::POST_SCOPE, key)
            .await?
        {
            return Ok(());
        }
        match services
            .sir
            .create_comment(&self.case_id, body, client_token)
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
        self.mark_done(key).await
    }
}
