//! The Web API methods. Each one reads its arguments, checks them in roughly the order Slack
//! does, and answers with the fields of Slack's real response.

use serde_json::{Map, Value, json};

use crate::ids::{random_token, unix_now};
use crate::params::Params;
use crate::rules::{Scopes, rule_of};
use crate::views::{check_view, invalid_view};
use crate::world::{EphemeralMessage, Message, StoredFile, Topic, World, guess_types};

/// Channel names: at most this many characters.
const CHANNEL_NAME_MAX_CHARS: usize = 80;
/// Topic and purpose: at most this many characters.
const TOPIC_MAX_CHARS: usize = 250;
/// Message text beyond this many characters is cut off.
const MESSAGE_TEXT_MAX_CHARS: usize = 40_000;
const MAX_BLOCKS: usize = 50;
const SECTION_TEXT_MAX_CHARS: usize = 3_000;
const HEADER_TEXT_MAX_CHARS: usize = 150;
const MAX_INVITEES: usize = 1_000;
const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 1_000;

/// How a Web API call ends.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// `{"ok":true, ...fields}`
    Ok(Map<String, Value>),
    /// `{"ok":false,"error":code, ...extra}` with HTTP 200.
    Error {
        code: String,
        extra: Map<String, Value>,
    },
    /// HTTP 429 with `Retry-After`.
    RateLimited { retry_after_secs: u64 },
}

impl Outcome {
    pub(crate) fn error(code: &str) -> Self {
        Self::Error {
            code: code.to_string(),
            extra: Map::new(),
        }
    }

    pub(crate) fn error_with(code: &str, extra: Value) -> Self {
        Self::Error {
            code: code.to_string(),
            extra: match extra {
                Value::Object(map) => map,
                _ => Map::new(),
            },
        }
    }

    pub(crate) fn ok(fields: Value) -> Self {
        Self::Ok(match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        })
    }
}

/// Early return of an error outcome.
type Checked<T> = Result<T, Outcome>;

impl World {
    /// Runs `method` for a caller holding `token` (already checked to be valid): the token
    /// type and scope rules first, then the method.
    pub(crate) fn call_method(&mut self, method: &str, params: &Params, token: &str) -> Outcome {
        match self
            .check_token_type(method, token)
            .and_then(|()| self.check_scopes(method, params))
        {
            Ok(()) => self.run_method(method, params),
            Err(refused) => refused,
        }
    }

    /// Methods a bot token may not call at all.
    ///
    /// `conversations.unarchive`: Slack's method page says "Bot tokens (xoxb-...) cannot
    /// currently be used to unarchive conversations" without naming the error a bot gets.
    /// The stricter reading is taken: every `xoxb-` call is refused, whatever the channel and
    /// before any other check, with Slack's generic code for a token of the wrong type,
    /// `not_allowed_token_type`.
    fn check_token_type(&self, method: &str, token: &str) -> Checked<()> {
        if method == "conversations.unarchive" && token.starts_with("xoxb-") {
            return Err(Outcome::error("not_allowed_token_type"));
        }
        Ok(())
    }

    /// The scopes `method` needs against the token's (see [`crate::rules`]).
    fn check_scopes(&self, method: &str, params: &Params) -> Checked<()> {
        let Some((_, scopes)) = rule_of(method) else {
            return Ok(());
        };
        let has = |scope: &str| self.scopes.iter().any(|granted| granted == scope);
        let missing = |needed: String| {
            Outcome::error_with(
                "missing_scope",
                json!({ "needed": needed, "provided": self.scopes.join(",") }),
            )
        };
        match scopes {
            Scopes::None => Ok(()),
            Scopes::One(scope) if has(scope) => Ok(()),
            Scopes::One(scope) => Err(missing(scope.to_string())),
            Scopes::Channel { public, private } => {
                let kinds = self.channel_kinds(method, params);
                if kinds.is_empty() {
                    return if has(public) || has(private) {
                        Ok(())
                    } else {
                        Err(missing(format!("{public},{private}")))
                    };
                }
                for is_private in kinds {
                    let scope = if is_private { private } else { public };
                    if !has(scope) {
                        return Err(missing(scope.to_string()));
                    }
                }
                Ok(())
            }
        }
    }

    /// Whether the call is about private (`true`) or public (`false`) channels, as far as
    /// the arguments say; empty when they do not (an unknown channel).
    fn channel_kinds(&self, method: &str, params: &Params) -> Vec<bool> {
        match method {
            "conversations.create" => vec![params.flag("is_private")],
            "conversations.list" | "users.conversations" => {
                let types = params.list("types");
                if types.is_empty() {
                    return vec![false];
                }
                types
                    .iter()
                    .filter_map(|kind| match kind.as_str() {
                        "public_channel" => Some(false),
                        "private_channel" => Some(true),
                        _ => None,
                    })
                    .collect()
            }
            _ => {
                let Some(wanted) = params
                    .non_empty("channel")
                    .or_else(|| params.non_empty("channel_id"))
                else {
                    return Vec::new();
                };
                let id = if self.channels.contains_key(&wanted) {
                    Some(wanted)
                } else {
                    self.channel_id_by_name(wanted.trim_start_matches('#'))
                };
                id.and_then(|id| self.channels.get(&id))
                    .filter(|channel| !channel.is_private || channel.has_member(self.bot_user_id()))
                    .map(|channel| vec![channel.is_private])
                    .unwrap_or_default()
            }
        }
    }

    fn run_method(&mut self, method: &str, params: &Params) -> Outcome {
        let result = match method {
            "api.test" => Ok(Outcome::ok(json!({ "args": params.recorded() }))),
            "auth.test" => Ok(self.auth_test()),
            "bots.info" => self.bots_info(params),
            "conversations.create" => self.conversations_create(params),
            "conversations.invite" => self.conversations_invite(params),
            "conversations.join" => self.conversations_join(params),
            "conversations.kick" => self.conversations_kick(params),
            "conversations.archive" => self.conversations_archive(params, true),
            "conversations.unarchive" => self.conversations_archive(params, false),
            "conversations.setTopic" => self.conversations_set_topic(params, TopicKind::Topic),
            "conversations.setPurpose" => self.conversations_set_topic(params, TopicKind::Purpose),
            "conversations.info" => self.conversations_info(params),
            "conversations.members" => self.conversations_members(params),
            "conversations.list" => self.conversations_list(params),
            "conversations.history" => self.conversations_history(params),
            "chat.postMessage" => self.chat_post_message(params),
            "chat.update" => self.chat_update(params),
            "chat.postEphemeral" => self.chat_post_ephemeral(params),
            "users.info" => self.users_info(params),
            "users.conversations" => self.users_conversations(params),
            "views.publish" => self.views_publish(params),
            "views.open" => self.views_open(params),
            "views.push" => self.views_push(params),
            "views.update" => self.views_update(params),
            "chat.getPermalink" => self.chat_get_permalink(params),
            "users.lookupByEmail" => self.users_lookup_by_email(params),
            "files.info" => self.files_info(params),
            "files.getUploadURLExternal" => self.files_get_upload_url_external(params),
            "files.completeUploadExternal" => self.files_complete_upload_external(params),
            "usergroups.users.list" => self.usergroups_users_list(params),
            _ => Ok(Outcome::error_with(
                "unknown_method",
                json!({ "req_method": method }),
            )),
        };
        result.unwrap_or_else(|outcome| outcome)
    }

    // ---- channel access -----------------------------------------------------------------

    /// Resolves a channel argument (ID, name or `#name`) to a channel the bot can see. Private
    /// channels the bot is not in do not exist as far as it can tell.
    fn visible_channel(&self, params: &Params, key: &str) -> Checked<String> {
        let wanted = params
            .non_empty(key)
            .ok_or_else(|| Outcome::error("channel_not_found"))?;
        let id = if self.channels.contains_key(&wanted) {
            wanted
        } else {
            self.channel_id_by_name(wanted.trim_start_matches('#'))
                .ok_or_else(|| Outcome::error("channel_not_found"))?
        };
        let channel = &self.channels[&id];
        if channel.is_private && !channel.has_member(self.bot_user_id()) {
            return Err(Outcome::error("channel_not_found"));
        }
        Ok(id)
    }

    /// A channel the bot may change or post to: visible, not archived, bot is a member.
    fn writable_channel(&self, params: &Params, key: &str) -> Checked<String> {
        let id = self.visible_channel(params, key)?;
        let channel = &self.channels[&id];
        if channel.is_archived {
            return Err(Outcome::error("is_archived"));
        }
        if !channel.has_member(self.bot_user_id()) {
            return Err(Outcome::error("not_in_channel"));
        }
        Ok(id)
    }

    fn channel_response(&self, id: &str) -> Outcome {
        Outcome::ok(json!({ "channel": self.channel_json(&self.channels[id]) }))
    }

    // ---- auth ---------------------------------------------------------------------------

    fn auth_test(&self) -> Outcome {
        Outcome::ok(json!({
            "url": format!("https://{}.slack.com/", self.config.team_domain),
            "team": self.config.team_name,
            "user": self.config.bot_name,
            "team_id": self.config.team_id,
            "user_id": self.config.bot_user_id,
            "bot_id": self.config.bot_id,
            "is_enterprise_install": false,
        }))
    }

    /// `bots.info`: only this app's bot is known (`bot_not_found` otherwise, as Slack says for
    /// an ID it does not know).
    fn bots_info(&self, params: &Params) -> Checked<Outcome> {
        let bot = params
            .non_empty("bot")
            .ok_or_else(|| Outcome::error("bot_not_found"))?;
        if bot != self.config.bot_id {
            return Err(Outcome::error("bot_not_found"));
        }
        Ok(Outcome::ok(json!({
            "bot": {
                "id": self.config.bot_id,
                "deleted": false,
                "name": self.config.bot_name,
                "updated": 1_700_000_000,
                "app_id": self.config.app_id,
                "user_id": self.config.bot_user_id,
                "icons": {},
            }
        })))
    }

    // ---- conversations ------------------------------------------------------------------

    fn conversations_create(&mut self, params: &Params) -> Checked<Outcome> {
        let name = params.string("name").unwrap_or_default();
        validate_channel_name(&name).map_err(Outcome::error)?;
        if self.channel_id_by_name(&name).is_some() {
            return Err(Outcome::error("name_taken"));
        }
        // `user_ids` adds members at creation (the argument Slack documents).
        let mut members = vec![self.config.bot_user_id.clone()];
        for user_id in params.list("user_ids") {
            if !self.users.contains_key(&user_id) {
                return Err(Outcome::error("user_not_found"));
            }
            if !members.contains(&user_id) {
                members.push(user_id);
            }
        }
        let id = self.ids.next('C');
        let now = unix_now();
        let creator = self.config.bot_user_id.clone();
        let empty_topic = Topic {
            value: String::new(),
            creator: creator.clone(),
            last_set: 0,
        };
        self.channels.insert(
            id.clone(),
            crate::world::Channel {
                id: id.clone(),
                name,
                is_private: params.flag("is_private"),
                is_archived: false,
                created: now,
                creator,
                topic: empty_topic.clone(),
                purpose: empty_topic,
                members: members.clone(),
                messages: Vec::new(),
                ephemeral: Vec::new(),
            },
        );
        let bot = self.config.bot_user_id.clone();
        for member in members.iter().filter(|member| **member != bot) {
            self.announce_membership(&id, member, true, Some(&bot));
        }
        Ok(self.channel_response(&id))
    }

    fn conversations_invite(&mut self, params: &Params) -> Checked<Outcome> {
        let id = self.visible_channel(params, "channel")?;
        let users = params.list("users");
        if users.is_empty() {
            return Err(Outcome::error("no_user"));
        }
        if users.len() > MAX_INVITEES {
            return Err(Outcome::error("too_many_users"));
        }
        let channel = &self.channels[&id];
        if channel.is_archived {
            return Err(Outcome::error("is_archived"));
        }
        if !channel.has_member(self.bot_user_id()) {
            return Err(Outcome::error("not_in_channel"));
        }

        let mut problems = Vec::new();
        let mut candidates = Vec::new();
        for user_id in users {
            let problem = match self.users.get(&user_id) {
                _ if user_id == self.config.bot_user_id => Some("cant_invite_self"),
                None => Some("user_not_found"),
                Some(user) if user.deleted => Some("cant_invite"),
                Some(_) => None,
            };
            match problem {
                Some(code) => problems.push((user_id, code)),
                None if !candidates.contains(&user_id) => candidates.push(user_id),
                None => {}
            }
        }
        if let Some((_, first_code)) = problems.first()
            && !params.flag("force")
        {
            let errors: Vec<Value> = problems
                .iter()
                .map(|(user, code)| json!({"user": user, "ok": false, "error": code}))
                .collect();
            return Err(Outcome::error_with(first_code, json!({ "errors": errors })));
        }
        let newcomers: Vec<String> = candidates
            .into_iter()
            .filter(|user_id| !channel.has_member(user_id))
            .collect();
        if newcomers.is_empty() {
            return Err(Outcome::error("already_in_channel"));
        }
        if let Some(channel) = self.channels.get_mut(&id) {
            channel.members.extend(newcomers.iter().cloned());
        }
        let bot = self.config.bot_user_id.clone();
        for newcomer in &newcomers {
            self.announce_membership(&id, newcomer, true, Some(&bot));
        }
        let mut response = self.channel_response(&id);
        if let Outcome::Ok(fields) = &mut response
            && !problems.is_empty()
        {
            let errors: Vec<Value> = problems
                .iter()
                .map(|(user, code)| json!({"user": user, "ok": false, "error": code}))
                .collect();
            fields.insert("errors".to_string(), Value::Array(errors));
        }
        Ok(response)
    }

    fn conversations_kick(&mut self, params: &Params) -> Checked<Outcome> {
        let id = self.writable_channel(params, "channel")?;
        let user = params
            .non_empty("user")
            .ok_or_else(|| Outcome::error("user_not_found"))?;
        if user == self.config.bot_user_id {
            return Err(Outcome::error("cant_kick_self"));
        }
        if !self.users.contains_key(&user) {
            return Err(Outcome::error("user_not_found"));
        }
        if !self.channels[&id].has_member(&user) {
            return Err(Outcome::error("not_in_channel"));
        }
        if let Some(channel) = self.channels.get_mut(&id) {
            channel.members.retain(|member| *member != user);
        }
        self.announce_membership(&id, &user, false, None);
        Ok(Outcome::ok(json!({})))
    }

    fn conversations_join(&mut self, params: &Params) -> Checked<Outcome> {
        let id = self.visible_channel(params, "channel")?;
        let channel = &self.channels[&id];
        if channel.is_private {
            return Err(Outcome::error("method_not_supported_for_channel_type"));
        }
        if channel.is_archived {
            return Err(Outcome::error("is_archived"));
        }
        let bot = self.config.bot_user_id.clone();
        let already = channel.has_member(&bot);
        if let Some(channel) = self.channels.get_mut(&id)
            && !already
        {
            channel.members.push(bot.clone());
            self.announce_membership(&id, &bot, true, None);
        }
        let mut response = self.channel_response(&id);
        if let Outcome::Ok(fields) = &mut response
            && already
        {
            fields.insert("warning".to_string(), json!("already_in_channel"));
        }
        Ok(response)
    }

    fn conversations_archive(&mut self, params: &Params, archive: bool) -> Checked<Outcome> {
        let id = self.visible_channel(params, "channel")?;
        let channel = &self.channels[&id];
        match (archive, channel.is_archived) {
            (true, true) => return Err(Outcome::error("already_archived")),
            (false, false) => return Err(Outcome::error("not_archived")),
            _ => {}
        }
        if archive && !channel.has_member(self.bot_user_id()) {
            return Err(Outcome::error("not_in_channel"));
        }
        if let Some(channel) = self.channels.get_mut(&id) {
            channel.is_archived = archive;
        }
        Ok(Outcome::ok(json!({})))
    }

    fn conversations_set_topic(&mut self, params: &Params, kind: TopicKind) -> Checked<Outcome> {
        let argument = match kind {
            TopicKind::Topic => "topic",
            TopicKind::Purpose => "purpose",
        };
        let value = params
            .string(argument)
            .ok_or_else(|| Outcome::error("invalid_arguments"))?;
        if value.chars().count() > TOPIC_MAX_CHARS {
            return Err(Outcome::error("too_long"));
        }
        let id = self.writable_channel(params, "channel")?;
        let bot = self.config.bot_user_id.clone();
        if let Some(channel) = self.channels.get_mut(&id) {
            let slot = match kind {
                TopicKind::Topic => &mut channel.topic,
                TopicKind::Purpose => &mut channel.purpose,
            };
            *slot = Topic {
                value,
                creator: bot,
                last_set: unix_now(),
            };
        }
        Ok(self.channel_response(&id))
    }

    fn conversations_info(&self, params: &Params) -> Checked<Outcome> {
        let id = self.visible_channel(params, "channel")?;
        Ok(self.channel_response(&id))
    }

    fn conversations_members(&self, params: &Params) -> Checked<Outcome> {
        let id = self.visible_channel(params, "channel")?;
        let members = &self.channels[&id].members;
        let (page, next_cursor) = paginate(members, params)?;
        Ok(Outcome::ok(json!({
            "members": page,
            "response_metadata": { "next_cursor": next_cursor },
        })))
    }

    fn conversations_list(&self, params: &Params) -> Checked<Outcome> {
        let types = params.list("types");
        let want_public = types.is_empty() || types.iter().any(|t| t == "public_channel");
        let want_private = types.iter().any(|t| t == "private_channel");
        let exclude_archived = params.flag("exclude_archived");
        let bot = self.bot_user_id();
        let listed: Vec<Value> = self
            .channels
            .values()
            .filter(|channel| {
                if channel.is_private {
                    want_private && channel.has_member(bot)
                } else {
                    want_public
                }
            })
            .filter(|channel| !(exclude_archived && channel.is_archived))
            .map(|channel| self.channel_json(channel))
            .collect();
        let (page, next_cursor) = paginate(&listed, params)?;
        Ok(Outcome::ok(json!({
            "channels": page,
            "response_metadata": { "next_cursor": next_cursor },
        })))
    }

    fn conversations_history(&self, params: &Params) -> Checked<Outcome> {
        let id = self.visible_channel(params, "channel")?;
        let channel = &self.channels[&id];
        if !channel.has_member(self.bot_user_id()) {
            return Err(Outcome::error("not_in_channel"));
        }
        let newest_first: Vec<Value> = channel
            .messages
            .iter()
            .rev()
            .filter(|message| {
                message.reply_broadcast
                    || message
                        .thread_ts
                        .as_ref()
                        .is_none_or(|thread_ts| *thread_ts == message.ts)
            })
            .map(|message| self.message_json(message))
            .collect();
        let (page, next_cursor) = paginate(&newest_first, params)?;
        Ok(Outcome::ok(json!({
            "messages": page,
            "has_more": !next_cursor.is_empty(),
            "pin_count": 0,
            "response_metadata": { "next_cursor": next_cursor },
        })))
    }

    // ---- chat ---------------------------------------------------------------------------

    fn chat_post_message(&mut self, params: &Params) -> Checked<Outcome> {
        let id = self.writable_channel(params, "channel")?;
        let content = MessageContent::read(params)?;
        if let Err(retry_after_secs) = self.admit_channel_post(&id) {
            return Err(Outcome::RateLimited { retry_after_secs });
        }
        let ts = self.clock.next();
        let mut message = Message {
            ts: ts.clone(),
            text: content.text,
            blocks: content.blocks,
            attachments: content.attachments,
            user: Some(self.config.bot_user_id.clone()),
            bot_id: Some(self.config.bot_id.clone()),
            username: params.non_empty("username"),
            icon_emoji: params.non_empty("icon_emoji"),
            icon_url: params.non_empty("icon_url"),
            thread_ts: params.non_empty("thread_ts"),
            reply_broadcast: params.flag("reply_broadcast"),
            files: Vec::new(),
            subtype: None,
            edited_ts: None,
        };
        if message.thread_ts.is_none() {
            message.reply_broadcast = false;
        }
        let rendered = self.message_json(&message);
        if let Some(channel) = self.channels.get_mut(&id) {
            channel.messages.push(message);
        }
        self.announce_message(&id, &ts);
        Ok(Outcome::ok(json!({
            "channel": id,
            "ts": ts,
            "message": rendered,
        })))
    }

    /// `chat.getPermalink`: `channel` (`channel_not_found`, also for a private channel the bot
    /// is not in) and `message_ts` (`message_not_found`; thread replies included).
    fn chat_get_permalink(&self, params: &Params) -> Checked<Outcome> {
        let id = self.visible_channel(params, "channel")?;
        let ts = params
            .non_empty("message_ts")
            .ok_or_else(|| Outcome::error("message_not_found"))?;
        let permalink = self
            .permalink(&id, &ts)
            .ok_or_else(|| Outcome::error("message_not_found"))?;
        Ok(Outcome::ok(
            json!({ "channel": id, "permalink": permalink }),
        ))
    }

    fn chat_update(&mut self, params: &Params) -> Checked<Outcome> {
        let id = self.visible_channel(params, "channel")?;
        let ts = params
            .non_empty("ts")
            .ok_or_else(|| Outcome::error("message_not_found"))?;
        let channel = &self.channels[&id];
        if channel.is_archived {
            return Err(Outcome::error("is_archived"));
        }
        let index = channel
            .messages
            .iter()
            .position(|message| message.ts == ts)
            .ok_or_else(|| Outcome::error("message_not_found"))?;
        if channel.messages[index].user.as_deref() != Some(self.bot_user_id()) {
            return Err(Outcome::error("cant_update_message"));
        }
        let text = params.string("text");
        let blocks = read_blocks(params)?;
        // Like chat.postMessage, an update must carry something to show (Slack: `no_text`).
        let attachments = params
            .json("attachments")
            .map_err(|()| Outcome::error("invalid_attachments"))?
            .filter(|attachments| !is_empty_array(attachments));
        if text.as_deref().is_none_or(str::is_empty)
            && blocks.as_ref().is_none_or(is_empty_array)
            && attachments.is_none()
        {
            return Err(Outcome::error("no_text"));
        }
        let edited_ts = self.clock.next();
        let Some(message) = self
            .channels
            .get_mut(&id)
            .and_then(|channel| channel.messages.get_mut(index))
        else {
            return Err(Outcome::error("message_not_found"));
        };
        // Fields left out keep their value; an empty `blocks` array removes the blocks.
        if let Some(text) = text {
            message.text = Some(truncate_chars(text, MESSAGE_TEXT_MAX_CHARS));
        }
        match blocks {
            Some(Value::Array(items)) if items.is_empty() => message.blocks = None,
            Some(blocks) => message.blocks = Some(blocks),
            None => {}
        }
        message.edited_ts = Some(edited_ts);
        let message = message.clone();
        let rendered = self.message_json(&message);
        Ok(Outcome::ok(json!({
            "channel": id,
            "ts": ts,
            "text": message.text.unwrap_or_default(),
            "message": rendered,
        })))
    }

    fn chat_post_ephemeral(&mut self, params: &Params) -> Checked<Outcome> {
        let id = self.writable_channel(params, "channel")?;
        let user = params
            .non_empty("user")
            .ok_or_else(|| Outcome::error("user_not_found"))?;
        if !self.users.contains_key(&user) {
            return Err(Outcome::error("user_not_found"));
        }
        if !self.channels[&id].has_member(&user) {
            return Err(Outcome::error("user_not_in_channel"));
        }
        let content = MessageContent::read(params)?;
        let ts = self.clock.next();
        if let Some(channel) = self.channels.get_mut(&id) {
            channel.ephemeral.push(EphemeralMessage {
                ts: ts.clone(),
                user,
                text: content.text,
                blocks: content.blocks,
                thread_ts: params.non_empty("thread_ts"),
            });
        }
        Ok(Outcome::ok(json!({ "message_ts": ts })))
    }

    // ---- users --------------------------------------------------------------------------

    fn users_info(&self, params: &Params) -> Checked<Outcome> {
        let user = params
            .non_empty("user")
            .and_then(|id| self.users.get(&id))
            .ok_or_else(|| Outcome::error("user_not_found"))?;
        Ok(Outcome::ok(json!({ "user": self.user_json(user) })))
    }

    /// The channels `user` is a member of, as the bot token sees them: public ones, and private
    /// ones only when the bot is in them too. `types` defaults to `public_channel`, as on Slack.
    fn users_conversations(&self, params: &Params) -> Checked<Outcome> {
        let user = params
            .non_empty("user")
            .filter(|id| self.users.contains_key(id))
            .ok_or_else(|| Outcome::error("user_not_found"))?;
        let types = params.list("types");
        let want_public = types.is_empty() || types.iter().any(|t| t == "public_channel");
        let want_private = types.iter().any(|t| t == "private_channel");
        let exclude_archived = params.flag("exclude_archived");
        let bot = self.bot_user_id();
        let listed: Vec<Value> = self
            .channels
            .values()
            .filter(|channel| channel.has_member(&user))
            .filter(|channel| {
                if channel.is_private {
                    want_private && channel.has_member(bot)
                } else {
                    want_public
                }
            })
            .filter(|channel| !(exclude_archived && channel.is_archived))
            .map(|channel| self.channel_json(channel))
            .collect();
        let (page, next_cursor) = paginate(&listed, params)?;
        Ok(Outcome::ok(json!({
            "channels": page,
            "response_metadata": { "next_cursor": next_cursor },
        })))
    }

    /// `views.publish`: the Home tab of `user_id`. The view must pass the checks every view
    /// gets ([`check_view`]: `type: home`, at most 100 blocks...); the published view is kept per user
    /// ([`crate::SlackStandin::home_view`]) and answered with an ID and a hash, as Slack does.
    fn views_publish(&mut self, params: &Params) -> Checked<Outcome> {
        let user = params
            .non_empty("user_id")
            .filter(|id| self.users.contains_key(id))
            .ok_or_else(|| Outcome::error("user_not_found"))?;
        let view = params
            .json("view")
            .map_err(|()| invalid_view("failed to parse view JSON"))?
            .ok_or_else(|| invalid_view("missing required field: view"))?;
        check_view(&view, "home").map_err(|why| invalid_view(&why))?;
        let id = self.ids.next('V');
        let hash = format!("{}.{}", unix_now(), self.ids.next('H'));
        let mut published = view.clone();
        published["id"] = json!(id);
        published["hash"] = json!(hash);
        published["team_id"] = json!(self.config.team_id);
        self.home_views.insert(user, published.clone());
        Ok(Outcome::ok(json!({ "view": published })))
    }

    fn users_lookup_by_email(&self, params: &Params) -> Checked<Outcome> {
        let user = params
            .non_empty("email")
            .and_then(|email| self.user_by_email(&email))
            .ok_or_else(|| Outcome::error("users_not_found"))?;
        Ok(Outcome::ok(json!({ "user": self.user_json(user) })))
    }

    fn usergroups_users_list(&self, params: &Params) -> Checked<Outcome> {
        let group = params
            .non_empty("usergroup")
            .and_then(|id| self.usergroups.get(&id))
            .ok_or_else(|| Outcome::error("no_such_subteam"))?;
        Ok(Outcome::ok(json!({ "users": group.users })))
    }

    // ---- files --------------------------------------------------------------------------

    fn files_info(&self, params: &Params) -> Checked<Outcome> {
        let file = params
            .non_empty("file")
            .and_then(|id| self.files.get(&id))
            .filter(|file| file.completed)
            .ok_or_else(|| Outcome::error("file_not_found"))?;
        Ok(Outcome::ok(json!({
            "file": self.file_json(file),
            "comments": [],
            "response_metadata": { "next_cursor": "" },
        })))
    }

    fn files_get_upload_url_external(&mut self, params: &Params) -> Checked<Outcome> {
        let name = params
            .non_empty("filename")
            .ok_or_else(|| Outcome::error("invalid_arguments"))?;
        let length = params
            .unsigned("length")
            .ok_or_else(|| Outcome::error("invalid_arguments"))?;
        if length == 0 {
            return Err(Outcome::error("missing_argument"));
        }
        let file_id = self.ids.next('F');
        let upload_token = random_token();
        let (mimetype, filetype) = guess_types(&name);
        self.files.insert(
            file_id.clone(),
            StoredFile {
                id: file_id.clone(),
                title: name.clone(),
                name,
                mimetype: mimetype.to_string(),
                filetype: filetype.to_string(),
                user: self.config.bot_user_id.clone(),
                created: unix_now(),
                declared_length: Some(length),
                bytes: None,
                completed: false,
                channels: Vec::new(),
            },
        );
        self.uploads.insert(upload_token.clone(), file_id.clone());
        Ok(Outcome::ok(json!({
            "upload_url": format!("{}/upload/v1/{upload_token}", self.base_url),
            "file_id": file_id,
        })))
    }

    fn files_complete_upload_external(&mut self, params: &Params) -> Checked<Outcome> {
        let Ok(Some(Value::Array(entries))) = params.json("files") else {
            return Err(Outcome::error("invalid_arguments"));
        };
        if entries.is_empty() {
            return Err(Outcome::error("invalid_arguments"));
        }
        let mut completions = Vec::new();
        for entry in &entries {
            let id = entry
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| Outcome::error("invalid_arguments"))?;
            let title = entry
                .get("title")
                .and_then(Value::as_str)
                .filter(|title| !title.is_empty())
                .map(str::to_string);
            let ready = self
                .files
                .get(id)
                .is_some_and(|file| !file.completed && file.bytes.is_some());
            if !ready {
                return Err(Outcome::error("file_not_found"));
            }
            completions.push((id.to_string(), title));
        }

        let channel_argument = params
            .non_empty("channel_id")
            .or_else(|| params.list("channels").into_iter().next());
        let channel_id = match channel_argument {
            Some(channel) => {
                let lookup = Params::from_pairs([("channel", channel)]);
                Some(self.writable_channel(&lookup, "channel")?)
            }
            None => None,
        };
        let initial_comment = params.non_empty("initial_comment");
        let blocks = if initial_comment.is_some() {
            None
        } else {
            read_blocks(params)?
        };
        if let Some(channel_id) = &channel_id
            && let Err(retry_after_secs) = self.admit_channel_post(channel_id)
        {
            return Err(Outcome::RateLimited { retry_after_secs });
        }

        let mut listed = Vec::new();
        for (id, title) in &completions {
            if let Some(file) = self.files.get_mut(id) {
                file.completed = true;
                if let Some(title) = title {
                    file.title.clone_from(title);
                }
                if let Some(channel_id) = &channel_id {
                    file.channels.push(channel_id.clone());
                }
                listed.push(json!({ "id": file.id, "title": file.title }));
            }
        }
        self.uploads
            .retain(|_, file_id| !completions.iter().any(|(id, _)| id == file_id));
        if let Some(channel_id) = channel_id {
            let ts = self.clock.next();
            let message = Message {
                ts: ts.clone(),
                text: Some(initial_comment.unwrap_or_default()),
                blocks,
                attachments: None,
                user: Some(self.config.bot_user_id.clone()),
                bot_id: Some(self.config.bot_id.clone()),
                username: params.non_empty("username"),
                icon_emoji: params.non_empty("icon_emoji"),
                icon_url: params.non_empty("icon_url"),
                thread_ts: params.non_empty("thread_ts"),
                reply_broadcast: false,
                files: completions.into_iter().map(|(id, _)| id).collect(),
                subtype: None,
                edited_ts: None,
            };
            let shared: Vec<String> = message.files.clone();
            if let Some(channel) = self.channels.get_mut(&channel_id) {
                channel.messages.push(message);
            }
            self.announce_message(&channel_id, &ts);
            let bot = self.config.bot_user_id.clone();
            for file_id in &shared {
                self.announce_file_shared(&channel_id, file_id, &bot, &ts);
            }
        }
        Ok(Outcome::ok(json!({ "files": listed })))
    }
}

#[derive(Debug, Clone, Copy)]
enum TopicKind {
    Topic,
    Purpose,
}

/// The content arguments shared by `chat.postMessage` and `chat.postEphemeral`.
struct MessageContent {
    text: Option<String>,
    blocks: Option<Value>,
    attachments: Option<Value>,
}

impl MessageContent {
    fn read(params: &Params) -> Checked<Self> {
        let text = params
            .non_empty("text")
            .map(|text| truncate_chars(text, MESSAGE_TEXT_MAX_CHARS));
        let blocks = read_blocks(params)?.filter(|blocks| !is_empty_array(blocks));
        let attachments = params
            .json("attachments")
            .map_err(|()| Outcome::error("invalid_attachments"))?
            .filter(|attachments| !is_empty_array(attachments));
        if text.is_none() && blocks.is_none() && attachments.is_none() {
            return Err(Outcome::error("no_text"));
        }
        Ok(Self {
            text,
            blocks,
            attachments,
        })
    }
}

fn is_empty_array(value: &Value) -> bool {
    value.as_array().is_some_and(Vec::is_empty)
}

/// Reads and checks `blocks` against the Block Kit limits this project can hit.
fn read_blocks(params: &Params) -> Checked<Option<Value>> {
    let Some(blocks) = params
        .json("blocks")
        .map_err(|()| Outcome::error("invalid_blocks_format"))?
    else {
        return Ok(None);
    };
    let Some(items) = blocks.as_array() else {
        return Err(Outcome::error("invalid_blocks_format"));
    };
    let invalid =
        |message: String| Outcome::error_with("invalid_blocks", json!({ "errors": [message] }));
    if items.len() > MAX_BLOCKS {
        return Err(invalid(format!(
            "must provide an array with no more than {MAX_BLOCKS} items [json-pointer:/blocks]"
        )));
    }
    check_block_items(items, "/blocks").map_err(invalid)?;
    Ok(Some(blocks))
}

/// The per-block checks of [`read_blocks`] and `views.publish`: a `type`, and section and
/// header texts within their limits. `pointer` is where the blocks sit in the request.
pub(crate) fn check_block_items(items: &[Value], pointer: &str) -> Result<(), String> {
    for (index, block) in items.iter().enumerate() {
        let Some(block_type) = block.get("type").and_then(Value::as_str) else {
            return Err(format!(
                "missing required field: type [json-pointer:{pointer}/{index}]"
            ));
        };
        let text_len = block
            .pointer("/text/text")
            .and_then(Value::as_str)
            .map(|text| text.chars().count());
        let limit = match block_type {
            "section" => Some(SECTION_TEXT_MAX_CHARS),
            "header" => Some(HEADER_TEXT_MAX_CHARS),
            _ => None,
        };
        if let (Some(len), Some(limit)) = (text_len, limit)
            && len > limit
        {
            return Err(format!(
                "must be less than {} characters [json-pointer:{pointer}/{index}/text/text]",
                limit + 1
            ));
        }
    }
    Ok(())
}

fn truncate_chars(text: String, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text,
    }
}

/// Slack's naming rules for `conversations.create`.
fn validate_channel_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("invalid_name_required");
    }
    if name.chars().count() > CHANNEL_NAME_MAX_CHARS {
        return Err("invalid_name_maxlength");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err("invalid_name_specials");
    }
    if name.chars().all(|c| c == '-' || c == '_') {
        return Err("invalid_name_punctuation");
    }
    Ok(())
}

/// One page of `items` per the `limit` and `cursor` arguments, plus the next cursor (empty on
/// the last page, like Slack).
fn paginate<T: Clone>(items: &[T], params: &Params) -> Checked<(Vec<T>, String)> {
    let limit = params
        .unsigned("limit")
        .filter(|limit| *limit > 0)
        .and_then(|limit| usize::try_from(limit).ok())
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .min(MAX_PAGE_SIZE);
    let start = match params.non_empty("cursor") {
        None => 0,
        Some(cursor) => decode_cursor(&cursor)
            .filter(|start| *start <= items.len())
            .ok_or_else(|| Outcome::error("invalid_cursor"))?,
    };
    let end = (start + limit).min(items.len());
    let next_cursor = if end < items.len() {
        encode_cursor(end)
    } else {
        String::new()
    };
    Ok((items[start..end].to_vec(), next_cursor))
}

fn encode_cursor(offset: usize) -> String {
    format!("b2Zmc2V0{}", hex::encode(offset.to_be_bytes()))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let digits = cursor.strip_prefix("b2Zmc2V0")?;
    let bytes: [u8; 8] = hex::decode(digits).ok()?.try_into().ok()?;
    usize::try_from(u64::from_be_bytes(bytes)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_follow_slack_rules() {
        assert_eq!(validate_channel_name("sir-case-123_a"), Ok(()));
        assert_eq!(validate_channel_name(""), Err("invalid_name_required"));
        assert_eq!(validate_channel_name("Upper"), Err("invalid_name_specials"));
        assert_eq!(
            validate_channel_name("has space"),
            Err("invalid_name_specials")
        );
        assert_eq!(
            validate_channel_name(&"a".repeat(81)),
            Err("invalid_name_maxlength")
        );
        assert_eq!(validate_channel_name(&"a".repeat(80)), Ok(()));
        assert_eq!(validate_channel_name("--"), Err("invalid_name_punctuation"));
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("nonsense"), None);
    }

    #[test]
    fn text_is_cut_on_a_character_boundary() {
        assert_eq!(truncate_chars("héllo".to_string(), 2), "hé");
        assert_eq!(truncate_chars("hi".to_string(), 5), "hi");
    }
}
