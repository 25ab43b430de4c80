//! The stand-in workspace: users, channels, messages, files, and the stand-in's own bookkeeping
//! (tokens, recorded calls, faults). Everything here runs under one lock and never awaits.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::config::SlackStandinConfig;
use crate::error::StandinError;
use crate::feed::WorkspaceEvent;
use crate::ids::{IdGenerator, TsClock, encode_path_segment, unix_now};
use crate::records::{RecordedCall, ResponsePost};
use crate::rules::RateLimits;

/// A user to add to the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedUser {
    /// `U...`
    pub id: String,
    /// The handle (`name`).
    pub name: String,
    /// Full name (`real_name`).
    pub real_name: String,
    /// `profile.display_name`; empty when not set, like Slack.
    pub display_name: String,
    /// `profile.email`; bots have none.
    pub email: Option<String>,
    /// A bot user.
    pub is_bot: bool,
    /// A deactivated user: still visible, cannot be invited (`cant_invite`).
    pub deleted: bool,
    /// A guest: `Some(false)` a multi-channel guest (`is_restricted`), `Some(true)` a
    /// single-channel guest (`is_restricted` and `is_ultra_restricted`, as Slack reports them).
    pub guest: Option<bool>,
}

impl SeedUser {
    /// An active human user with an email address.
    pub fn human(id: &str, name: &str, real_name: &str, email: &str) -> Self {
        Self {
            id: id.to_string(),
            name: name.to_string(),
            real_name: real_name.to_string(),
            display_name: String::new(),
            email: Some(email.to_string()),
            is_bot: false,
            deleted: false,
            guest: None,
        }
    }

    /// The same user as a guest account: multi-channel, or single-channel when
    /// `single_channel`.
    pub fn as_guest(mut self, single_channel: bool) -> Self {
        self.guest = Some(single_channel);
        self
    }
}

/// A channel to add to the workspace, as if created outside the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedChannel {
    /// Name.
    pub name: String,
    /// A private channel.
    pub is_private: bool,
    /// Archived.
    pub is_archived: bool,
    /// Whether the app's bot user is a member.
    pub bot_is_member: bool,
    /// Creator; defaults to the first member or the bot.
    pub creator: Option<String>,
    /// Members besides the bot.
    pub members: Vec<String>,
    /// Topic text.
    pub topic: String,
    /// Purpose text.
    pub purpose: String,
}

impl SeedChannel {
    /// A public, unarchived channel without the bot or other members.
    pub fn public(name: &str) -> Self {
        Self {
            name: name.to_string(),
            is_private: false,
            is_archived: false,
            bot_is_member: false,
            creator: None,
            members: Vec::new(),
            topic: String::new(),
            purpose: String::new(),
        }
    }
}

/// A file a user shared into a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedFile {
    /// The channel the file is shared into.
    pub channel_id: String,
    /// Who shares it (`U...`).
    pub user_id: String,
    /// File name.
    pub name: String,
    /// Title; the name when absent.
    pub title: Option<String>,
    /// Derived from the name's extension when absent.
    pub mimetype: Option<String>,
    /// The file's content.
    pub bytes: Bytes,
    /// Text of the message that shares the file.
    pub initial_comment: Option<String>,
    /// Share as a reply in this thread.
    pub thread_ts: Option<String>,
}

/// What seeding a user file created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededFile {
    /// The file's ID (`F...`).
    pub file_id: String,
    /// `ts` of the message that shares the file.
    pub message_ts: String,
}

/// A channel message as the stand-in stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The message's `ts` (its identity in the channel).
    pub ts: String,
    /// The `text`, if any.
    pub text: Option<String>,
    /// The `blocks` array as received.
    pub blocks: Option<Value>,
    /// The `attachments` array as received.
    pub attachments: Option<Value>,
    /// Author user ID (the bot user for app posts).
    pub user: Option<String>,
    /// Set on messages the app posted.
    pub bot_id: Option<String>,
    /// `username` override given to `chat.postMessage`.
    pub username: Option<String>,
    /// `icon_emoji` given to `chat.postMessage`.
    pub icon_emoji: Option<String>,
    /// `icon_url` given to `chat.postMessage`.
    pub icon_url: Option<String>,
    /// The thread's parent `ts` for a reply.
    pub thread_ts: Option<String>,
    /// A thread reply also sent to the channel.
    pub reply_broadcast: bool,
    /// IDs of files shared by this message.
    pub files: Vec<String>,
    /// Slack's `subtype` (`file_share`...).
    pub subtype: Option<String>,
    /// `ts` of the last `chat.update`, if any.
    pub edited_ts: Option<String>,
}

impl Message {
    fn new(ts: String) -> Self {
        Self {
            ts,
            text: None,
            blocks: None,
            attachments: None,
            user: None,
            bot_id: None,
            username: None,
            icon_emoji: None,
            icon_url: None,
            thread_ts: None,
            reply_broadcast: false,
            files: Vec::new(),
            subtype: None,
            edited_ts: None,
        }
    }
}

/// A `chat.postEphemeral` message (seen only by `user`, never part of the channel history).
#[derive(Debug, Clone, PartialEq)]
pub struct EphemeralMessage {
    /// The message's `ts` (its identity in the channel).
    pub ts: String,
    /// The recipient.
    pub user: String,
    /// The `text`, if any.
    pub text: Option<String>,
    /// The `blocks` array, if any.
    pub blocks: Option<Value>,
    /// The thread's parent `ts` for a reply.
    pub thread_ts: Option<String>,
}

/// A copy of a channel's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSnapshot {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// A private channel.
    pub is_private: bool,
    /// Archived.
    pub is_archived: bool,
    /// Topic text.
    pub topic: String,
    /// Purpose text.
    pub purpose: String,
    /// Member user IDs in join order, the bot included when it is a member.
    pub members: Vec<String>,
    /// Whether the app's bot user is a member.
    pub bot_is_member: bool,
    /// Who created it (`U...`).
    pub creator: String,
    /// Unix seconds of creation.
    pub created: i64,
}

/// A copy of a file's state; `bytes` shares the stored buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSnapshot {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Title.
    pub title: String,
    /// MIME type.
    pub mimetype: String,
    /// Slack's short file type (`pdf`, `text`...).
    pub filetype: String,
    /// Uploader.
    pub user: String,
    /// Unix seconds of creation.
    pub created: i64,
    /// `length` announced to `files.getUploadURLExternal`.
    pub declared_length: Option<u64>,
    /// `None` until bytes were uploaded.
    pub bytes: Option<Bytes>,
    /// Whether `files.completeUploadExternal` finished it (seeded files always are).
    pub completed: bool,
    /// Channels the file is shared in.
    pub channels: Vec<String>,
    /// `url_private` (needs the bearer token).
    pub url_private: String,
    /// `url_private_download` (needs the bearer token).
    pub url_private_download: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Topic {
    pub(crate) value: String,
    pub(crate) creator: String,
    pub(crate) last_set: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) is_private: bool,
    pub(crate) is_archived: bool,
    pub(crate) created: i64,
    pub(crate) creator: String,
    pub(crate) topic: Topic,
    pub(crate) purpose: Topic,
    pub(crate) members: Vec<String>,
    pub(crate) messages: Vec<Message>,
    pub(crate) ephemeral: Vec<EphemeralMessage>,
}

impl Channel {
    pub(crate) fn has_member(&self, user_id: &str) -> bool {
        self.members.iter().any(|member| member == user_id)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct StoredFile {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) title: String,
    pub(crate) mimetype: String,
    pub(crate) filetype: String,
    pub(crate) user: String,
    pub(crate) created: i64,
    pub(crate) declared_length: Option<u64>,
    pub(crate) bytes: Option<Bytes>,
    pub(crate) completed: bool,
    pub(crate) channels: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct UserGroup {
    pub(crate) users: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    ServerError { status: u16 },
    RateLimited { retry_after_secs: u64 },
}

#[derive(Debug, Clone)]
pub(crate) struct FaultRule {
    /// `None` matches every Web API method (not uploads, downloads or response URLs).
    pub(crate) method: Option<String>,
    pub(crate) kind: FaultKind,
    pub(crate) remaining: u32,
}

#[derive(Debug, Default)]
pub(crate) struct ResponseUrlState {
    pub(crate) posts: Vec<ResponsePost>,
    pub(crate) expired: bool,
    /// The channel the command or action came from, when known: an `in_channel` post shows
    /// there as the app's message, as in Slack (in its history, with a `message` event).
    pub(crate) channel: Option<String>,
}

/// Slack accepts at most this many posts per `response_url`.
pub(crate) const RESPONSE_URL_MAX_POSTS: usize = 5;

#[derive(Debug)]
pub(crate) struct World {
    pub(crate) config: SlackStandinConfig,
    pub(crate) base_url: String,
    pub(crate) valid_tokens: HashSet<String>,
    pub(crate) revoked_tokens: HashSet<String>,
    pub(crate) users: BTreeMap<String, SeedUser>,
    pub(crate) channels: BTreeMap<String, Channel>,
    pub(crate) files: HashMap<String, StoredFile>,
    /// Upload token (the secret part of an `upload_url`) to file ID.
    pub(crate) uploads: HashMap<String, String>,
    pub(crate) usergroups: BTreeMap<String, UserGroup>,
    pub(crate) response_urls: HashMap<String, ResponseUrlState>,
    pub(crate) calls: Vec<RecordedCall>,
    pub(crate) faults: Vec<FaultRule>,
    pub(crate) latency: Duration,
    /// Where `url_private(_download)` point instead of `base_url` (Slack serves files from
    /// `files.slack.com`, not from its API host).
    pub(crate) file_url_base: Option<String>,
    /// The next authenticated downloads answer `302` to this location (a CDN hop), this many.
    pub(crate) download_redirect: Option<(String, u32)>,
    /// The scopes every valid token has (Slack answers `missing_scope` for the others).
    pub(crate) scopes: Vec<String>,
    /// Rate limits in force (tiers per method, posts per channel) and what they counted.
    pub(crate) limits: RateLimits,
    pub(crate) ids: IdGenerator,
    pub(crate) clock: TsClock,
    /// The Home tab each user was last published (`views.publish`), by user ID.
    pub(crate) home_views: HashMap<String, Value>,
    /// Trigger IDs issued, by ID (see [`crate::views`]).
    pub(crate) triggers: HashMap<String, crate::views::Trigger>,
    /// Open modal views, by view ID.
    pub(crate) open_views: HashMap<String, crate::views::OpenView>,
    /// Each person's stack of open modal views (IDs, the root first), by user ID.
    pub(crate) view_stacks: HashMap<String, Vec<String>>,
    /// Receivers of the event feed (`SlackStandin::subscribe_events`).
    pub(crate) event_subscribers: Vec<tokio::sync::mpsc::UnboundedSender<WorkspaceEvent>>,
}

impl World {
    pub(crate) fn new(config: SlackStandinConfig, base_url: String) -> Self {
        let mut users = BTreeMap::new();
        users.insert(
            config.bot_user_id.clone(),
            SeedUser {
                id: config.bot_user_id.clone(),
                name: config.bot_name.clone(),
                real_name: config.bot_name.clone(),
                display_name: String::new(),
                email: None,
                is_bot: true,
                deleted: false,
                guest: None,
            },
        );
        Self {
            valid_tokens: HashSet::from([config.bot_token.clone()]),
            scopes: config.bot_scopes.clone(),
            config,
            base_url,
            revoked_tokens: HashSet::new(),
            users,
            channels: BTreeMap::new(),
            files: HashMap::new(),
            uploads: HashMap::new(),
            usergroups: BTreeMap::new(),
            response_urls: HashMap::new(),
            calls: Vec::new(),
            faults: Vec::new(),
            latency: Duration::ZERO,
            file_url_base: None,
            download_redirect: None,
            limits: RateLimits::default(),
            ids: IdGenerator::default(),
            clock: TsClock::default(),
            home_views: HashMap::new(),
            triggers: HashMap::new(),
            open_views: HashMap::new(),
            view_stacks: HashMap::new(),
            event_subscribers: Vec::new(),
        }
    }

    pub(crate) fn bot_user_id(&self) -> &str {
        &self.config.bot_user_id
    }

    // ---- faults -------------------------------------------------------------------------

    /// Consumes one matching injected fault, if any.
    pub(crate) fn take_fault(&mut self, method: &str, is_api_method: bool) -> Option<FaultKind> {
        let rule = self.faults.iter_mut().find(|rule| {
            rule.remaining > 0
                && match &rule.method {
                    Some(wanted) => wanted == method,
                    None => is_api_method,
                }
        })?;
        rule.remaining -= 1;
        let kind = rule.kind;
        self.faults.retain(|rule| rule.remaining > 0);
        Some(kind)
    }

    /// Applies the per-channel posting limit (see [`crate::rules`]). `Err(retry_after_secs)`
    /// when the channel posted too much lately; otherwise the post is counted.
    pub(crate) fn admit_channel_post(&mut self, channel_id: &str) -> Result<(), u64> {
        self.limits.admit_channel_post(channel_id, Instant::now())
    }

    // ---- seeding ------------------------------------------------------------------------

    pub(crate) fn add_user(&mut self, user: SeedUser) -> Result<(), StandinError> {
        if self.users.contains_key(&user.id) {
            return Err(StandinError::AlreadyExists(user.id));
        }
        self.users.insert(user.id.clone(), user);
        Ok(())
    }

    pub(crate) fn add_channel(&mut self, seed: SeedChannel) -> Result<String, StandinError> {
        if self.channel_id_by_name(&seed.name).is_some() {
            return Err(StandinError::AlreadyExists(seed.name));
        }
        for member in &seed.members {
            self.require_user(member)?;
        }
        let mut members = Vec::new();
        if seed.bot_is_member {
            members.push(self.config.bot_user_id.clone());
        }
        for member in seed.members {
            if !members.contains(&member) {
                members.push(member);
            }
        }
        let creator = seed
            .creator
            .or_else(|| {
                members
                    .iter()
                    .find(|member| **member != self.config.bot_user_id)
                    .cloned()
            })
            .unwrap_or_else(|| self.config.bot_user_id.clone());
        let id = self.ids.next('C');
        let now = unix_now();
        let topic = Topic {
            value: seed.topic,
            creator: creator.clone(),
            last_set: now,
        };
        let purpose = Topic {
            value: seed.purpose,
            creator: creator.clone(),
            last_set: now,
        };
        self.channels.insert(
            id.clone(),
            Channel {
                id: id.clone(),
                name: seed.name,
                is_private: seed.is_private,
                is_archived: seed.is_archived,
                created: now,
                creator,
                topic,
                purpose,
                members,
                messages: Vec::new(),
                ephemeral: Vec::new(),
            },
        );
        Ok(id)
    }

    pub(crate) fn require_user(&self, user_id: &str) -> Result<&SeedUser, StandinError> {
        self.users
            .get(user_id)
            .ok_or_else(|| StandinError::UnknownUser(user_id.to_string()))
    }

    pub(crate) fn channel_mut(&mut self, channel_id: &str) -> Result<&mut Channel, StandinError> {
        self.channels
            .get_mut(channel_id)
            .ok_or_else(|| StandinError::UnknownChannel(channel_id.to_string()))
    }

    pub(crate) fn set_membership(
        &mut self,
        channel_id: &str,
        user_id: &str,
        member: bool,
    ) -> Result<(), StandinError> {
        self.require_user(user_id)?;
        let channel = self.channel_mut(channel_id)?;
        let was_member = channel.has_member(user_id);
        if member {
            if !was_member {
                channel.members.push(user_id.to_string());
            }
        } else {
            channel.members.retain(|existing| existing != user_id);
        }
        if member != was_member {
            self.announce_membership(channel_id, user_id, member, None);
        }
        Ok(())
    }

    /// An `in_channel` `response_url` post, as Slack shows it: the app's message in the
    /// channel (no rate tier: `response_url`s have their own limit of 5 posts).
    pub(crate) fn post_app_response(
        &mut self,
        channel_id: &str,
        text: Option<String>,
        blocks: Option<Value>,
    ) -> Option<String> {
        if !self.channels.contains_key(channel_id) {
            return None;
        }
        let ts = self.clock.next();
        let mut message = Message::new(ts.clone());
        message.text = text;
        message.blocks = blocks;
        message.user = Some(self.config.bot_user_id.clone());
        message.bot_id = Some(self.config.bot_id.clone());
        self.channel_mut(channel_id).ok()?.messages.push(message);
        self.announce_message(channel_id, &ts);
        Some(ts)
    }

    pub(crate) fn post_user_message(
        &mut self,
        channel_id: &str,
        user_id: &str,
        text: &str,
        thread_ts: Option<&str>,
    ) -> Result<String, StandinError> {
        self.require_user(user_id)?;
        if !self.channels.contains_key(channel_id) {
            return Err(StandinError::UnknownChannel(channel_id.to_string()));
        }
        let ts = self.clock.next();
        let mut message = Message::new(ts.clone());
        // Kept as Slack sends it: `&`, `<`, `>` escaped, mentions and links as markup.
        message.text = Some(crate::text::escape_typed(text));
        message.user = Some(user_id.to_string());
        message.thread_ts = thread_ts.map(str::to_string);
        self.channel_mut(channel_id)?.messages.push(message);
        self.announce_message(channel_id, &ts);
        Ok(ts)
    }

    pub(crate) fn add_user_file(&mut self, seed: SeedFile) -> Result<SeededFile, StandinError> {
        self.require_user(&seed.user_id)?;
        if !self.channels.contains_key(&seed.channel_id) {
            return Err(StandinError::UnknownChannel(seed.channel_id));
        }
        let file_id = self.ids.next('F');
        let (guessed_mimetype, filetype) = guess_types(&seed.name);
        let length = u64::try_from(seed.bytes.len()).unwrap_or(u64::MAX);
        self.files.insert(
            file_id.clone(),
            StoredFile {
                id: file_id.clone(),
                title: seed.title.unwrap_or_else(|| seed.name.clone()),
                name: seed.name,
                mimetype: seed
                    .mimetype
                    .unwrap_or_else(|| guessed_mimetype.to_string()),
                filetype: filetype.to_string(),
                user: seed.user_id.clone(),
                created: unix_now(),
                declared_length: Some(length),
                bytes: Some(seed.bytes),
                completed: true,
                channels: vec![seed.channel_id.clone()],
            },
        );
        let ts = self.clock.next();
        let mut message = Message::new(ts.clone());
        message.text = Some(crate::text::escape_typed(
            &seed.initial_comment.unwrap_or_default(),
        ));
        message.user = Some(seed.user_id);
        message.thread_ts = seed.thread_ts;
        message.files = vec![file_id.clone()];
        message.subtype = Some("file_share".to_string());
        let user_id = message.user.clone().unwrap_or_default();
        self.channel_mut(&seed.channel_id)?.messages.push(message);
        self.announce_message(&seed.channel_id, &ts);
        self.announce_file_shared(&seed.channel_id, &file_id, &user_id, &ts);
        Ok(SeededFile {
            file_id,
            message_ts: ts,
        })
    }

    // ---- lookups ------------------------------------------------------------------------

    /// A message's permalink as Slack makes it:
    /// `https://{domain}.slack.com/archives/{channel}/p{ts without the dot}`, plus
    /// `?thread_ts={parent}&cid={channel}` for a thread reply. `None` when there is no such
    /// message.
    pub(crate) fn permalink(&self, channel_id: &str, ts: &str) -> Option<String> {
        let message = self
            .channels
            .get(channel_id)?
            .messages
            .iter()
            .find(|message| message.ts == ts)?;
        let mut link = format!(
            "https://{}.slack.com/archives/{channel_id}/p{}",
            self.config.team_domain,
            ts.replace('.', "")
        );
        if let Some(parent) = message.thread_ts.as_deref().filter(|parent| *parent != ts) {
            link.push_str(&format!("?thread_ts={parent}&cid={channel_id}"));
        }
        Some(link)
    }

    /// `{base}/response/{token}`: a `response_url` served by the stand-in.
    pub(crate) fn response_url(&self, token: &str) -> String {
        format!("{}/response/{token}", self.base_url)
    }

    pub(crate) fn channel_id_by_name(&self, name: &str) -> Option<String> {
        self.channels
            .values()
            .find(|channel| channel.name == name)
            .map(|channel| channel.id.clone())
    }

    pub(crate) fn user_by_email(&self, email: &str) -> Option<&SeedUser> {
        self.users.values().find(|user| {
            user.email
                .as_deref()
                .is_some_and(|known| known.eq_ignore_ascii_case(email))
        })
    }

    pub(crate) fn channel_snapshot(&self, channel: &Channel) -> ChannelSnapshot {
        ChannelSnapshot {
            id: channel.id.clone(),
            name: channel.name.clone(),
            is_private: channel.is_private,
            is_archived: channel.is_archived,
            topic: channel.topic.value.clone(),
            purpose: channel.purpose.value.clone(),
            members: channel.members.clone(),
            bot_is_member: channel.has_member(self.bot_user_id()),
            creator: channel.creator.clone(),
            created: channel.created,
        }
    }

    pub(crate) fn file_snapshot(&self, file: &StoredFile) -> FileSnapshot {
        FileSnapshot {
            id: file.id.clone(),
            name: file.name.clone(),
            title: file.title.clone(),
            mimetype: file.mimetype.clone(),
            filetype: file.filetype.clone(),
            user: file.user.clone(),
            created: file.created,
            declared_length: file.declared_length,
            bytes: file.bytes.clone(),
            completed: file.completed,
            channels: file.channels.clone(),
            url_private: self.file_url(file, false),
            url_private_download: self.file_url(file, true),
        }
    }

    // ---- Slack-shaped JSON ---------------------------------------------------------------

    pub(crate) fn channel_json(&self, channel: &Channel) -> Value {
        let is_member = channel.has_member(self.bot_user_id());
        json!({
            "id": channel.id,
            "name": channel.name,
            "name_normalized": channel.name,
            "is_channel": true,
            "is_group": false,
            "is_im": false,
            "is_mpim": false,
            "is_private": channel.is_private,
            "created": channel.created,
            "creator": channel.creator,
            "is_archived": channel.is_archived,
            "is_general": false,
            "unlinked": 0,
            "is_shared": false,
            "is_org_shared": false,
            "is_ext_shared": false,
            "is_pending_ext_shared": false,
            "pending_shared": [],
            "context_team_id": self.config.team_id,
            "updated": channel.created * 1000,
            "parent_conversation": null,
            "is_member": is_member,
            "topic": topic_json(&channel.topic),
            "purpose": topic_json(&channel.purpose),
            "previous_names": [],
            "num_members": channel.members.len(),
        })
    }

    pub(crate) fn user_json(&self, user: &SeedUser) -> Value {
        let mut profile = json!({
            "real_name": user.real_name,
            "real_name_normalized": user.real_name,
            "display_name": user.display_name,
            "display_name_normalized": user.display_name,
            "title": "",
            "phone": "",
            "status_text": "",
            "status_emoji": "",
            "avatar_hash": "g0000000000",
            "image_24": "https://secure.gravatar.com/avatar/standin.jpg?s=24",
            "image_72": "https://secure.gravatar.com/avatar/standin.jpg?s=72",
            "team": self.config.team_id,
        });
        if let Some(email) = &user.email {
            profile["email"] = json!(email);
        }
        if user.is_bot && user.id == self.config.bot_user_id {
            profile["bot_id"] = json!(self.config.bot_id);
            profile["api_app_id"] = json!(self.config.app_id);
        }
        json!({
            "id": user.id,
            "team_id": self.config.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "color": "9f69e7",
            "real_name": user.real_name,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": profile,
            "is_admin": false,
            "is_owner": false,
            "is_primary_owner": false,
            "is_restricted": user.guest.is_some(),
            "is_ultra_restricted": user.guest == Some(true),
            "is_bot": user.is_bot,
            "is_app_user": false,
            "updated": 1_700_000_000,
            "has_2fa": false,
        })
    }

    pub(crate) fn message_json(&self, message: &Message) -> Value {
        let mut value = json!({
            "type": "message",
            "ts": message.ts,
            "text": message.text.clone().unwrap_or_default(),
            "team": self.config.team_id,
        });
        if let Some(user) = &message.user {
            value["user"] = json!(user);
        }
        if let Some(subtype) = &message.subtype {
            value["subtype"] = json!(subtype);
        }
        if let Some(bot_id) = &message.bot_id {
            value["bot_id"] = json!(bot_id);
            value["app_id"] = json!(self.config.app_id);
            value["bot_profile"] = json!({
                "id": bot_id,
                "app_id": self.config.app_id,
                "name": self.config.bot_name,
                "deleted": false,
                "updated": 1_700_000_000,
                "team_id": self.config.team_id,
                "user_id": self.config.bot_user_id,
            });
        }
        if let Some(username) = &message.username {
            value["username"] = json!(username);
        }
        if let Some(blocks) = &message.blocks {
            value["blocks"] = blocks.clone();
        }
        if let Some(attachments) = &message.attachments {
            value["attachments"] = attachments.clone();
        }
        if let Some(thread_ts) = &message.thread_ts {
            value["thread_ts"] = json!(thread_ts);
        }
        if !message.files.is_empty() {
            let files: Vec<Value> = message
                .files
                .iter()
                .filter_map(|id| self.files.get(id))
                .map(|file| self.file_json(file))
                .collect();
            value["files"] = Value::Array(files);
            value["upload"] = json!(true);
        }
        if let (Some(edited_ts), Some(user)) = (&message.edited_ts, &message.user) {
            value["edited"] = json!({"user": user, "ts": edited_ts});
        }
        value
    }

    pub(crate) fn file_url(&self, file: &StoredFile, download: bool) -> String {
        let segment = format!("{}-{}", self.config.team_id, file.id);
        let name = encode_path_segment(&file.name);
        let base = self.file_url_base.as_deref().unwrap_or(&self.base_url);
        if download {
            format!("{base}/files-pri/{segment}/download/{name}")
        } else {
            format!("{base}/files-pri/{segment}/{name}")
        }
    }

    pub(crate) fn file_json(&self, file: &StoredFile) -> Value {
        let size = file
            .bytes
            .as_ref()
            .map_or(file.declared_length.unwrap_or(0), |bytes| {
                u64::try_from(bytes.len()).unwrap_or(u64::MAX)
            });
        let (public, private): (Vec<&String>, Vec<&String>) =
            file.channels.iter().partition(|id| {
                self.channels
                    .get(id.as_str())
                    .is_some_and(|channel| !channel.is_private)
            });
        let name = encode_path_segment(&file.name);
        json!({
            "id": file.id,
            "created": file.created,
            "timestamp": file.created,
            "name": file.name,
            "title": file.title,
            "mimetype": file.mimetype,
            "filetype": file.filetype,
            "pretty_type": file.filetype.to_uppercase(),
            "user": file.user,
            "user_team": self.config.team_id,
            "editable": false,
            "size": size,
            "mode": "hosted",
            "is_external": false,
            "external_type": "",
            "is_public": !public.is_empty(),
            "public_url_shared": false,
            "display_as_bot": false,
            "username": "",
            "url_private": self.file_url(file, false),
            "url_private_download": self.file_url(file, true),
            "permalink": format!("https://{}.slack.com/files/{}/{}/{name}", self.config.team_domain, file.user, file.id),
            "permalink_public": format!("https://slack-files.com/{}-{}-standin", self.config.team_id, file.id),
            "channels": public,
            "groups": private,
            "ims": [],
            "comments_count": 0,
            "has_rich_preview": false,
            "file_access": "visible",
        })
    }
}

fn topic_json(topic: &Topic) -> Value {
    json!({
        "value": topic.value,
        "creator": if topic.value.is_empty() { "" } else { topic.creator.as_str() },
        "last_set": if topic.value.is_empty() { 0 } else { topic.last_set },
    })
}

/// Slack's `mimetype` and `filetype` for a file name.
pub(crate) fn guess_types(name: &str) -> (&'static str, &'static str) {
    let extension = name
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "txt" | "log" => ("text/plain", "text"),
        "csv" => ("text/csv", "csv"),
        "json" => ("application/json", "json"),
        "md" => ("text/markdown", "markdown"),
        "html" | "htm" => ("text/html", "html"),
        "pdf" => ("application/pdf", "pdf"),
        "png" => ("image/png", "png"),
        "jpg" | "jpeg" => ("image/jpeg", "jpg"),
        "gif" => ("image/gif", "gif"),
        "zip" => ("application/zip", "zip"),
        "gz" => ("application/gzip", "gzip"),
        _ => ("application/octet-stream", "binary"),
    }
}
