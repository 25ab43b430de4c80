//! The rules Slack applies to every Web API call before the method itself runs: the token
//! type, the token's scopes and the method's rate limit.
//!
//! # Scopes
//!
//! [`METHOD_RULES`] lists, for every method the stand-in serves, the bot scopes its Slack method
//! page lists (reduced to the conversation types the stand-in has: public and private
//! channels). A token without any of them gets
//! `{"ok":false,"error":"missing_scope","needed":"<scopes>","provided":"<token's scopes>"}`.
//! Methods on a channel need the scope for that channel's type (`channels:*` for a public
//! channel, `groups:*` for a private one): a token with only `channels:read` gets
//! `missing_scope` / `needed: groups:read` for `conversations.info` on a private channel.
//!
//! # Rate limits
//!
//! Slack's tiers are per method, per app, per workspace (one stand-in is one workspace):
//! Tier 1 1/min, Tier 2 20/min, Tier 3 50/min, Tier 4 100/min. Each method has a token bucket
//! that holds a minute's worth of calls (Tier 2: 20) and refills evenly over the minute (Tier
//! 2: one call every 3 s). So a burst of a minute's calls passes at once, and a steady rate
//! above the tier does not. `chat.postMessage` (and a file shared into a channel) is limited
//! per channel instead: ~1 per second with short bursts, modelled as a bucket of
//! [`CHANNEL_POST_BURST`] refilled one post per second. A refused call is answered HTTP 429
//! with `Retry-After` in whole seconds (at least 1) until the bucket has a call again, and
//! `{"ok":false,"error":"ratelimited"}`, as Slack does. Every authenticated call counts, failed
//! ones too.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The bot scopes of the stand-in's token by default: exactly those of sirslack's Slack app
/// manifest (`sirslack_cli::manifest::BOT_SCOPES`; a test in the cli crate keeps the two equal).
pub const DEFAULT_BOT_SCOPES: &[&str] = &[
    "channels:manage",
    "groups:write",
    "chat:write",
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
    "users:read",
    "users:read.email",
    "files:read",
    "files:write",
    "commands",
    "usergroups:read",
];

/// Posts a channel may take at once before the ~1/s limit applies.
pub const CHANNEL_POST_BURST: u32 = 3;
/// The sustained spacing of posts to one channel.
pub const CHANNEL_POST_INTERVAL: Duration = Duration::from_secs(1);

/// Slack's rate-limit tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// 1+ per minute.
    Tier1,
    /// 20+ per minute.
    Tier2,
    /// 50+ per minute.
    Tier3,
    /// 100+ per minute.
    Tier4,
    /// Limited by its own rule (`chat.postMessage`: per channel).
    Special,
}

impl Tier {
    /// Calls per minute; `None` for [`Tier::Special`].
    pub fn per_minute(self) -> Option<u32> {
        match self {
            Self::Tier1 => Some(1),
            Self::Tier2 => Some(20),
            Self::Tier3 => Some(50),
            Self::Tier4 => Some(100),
            Self::Special => None,
        }
    }
}

/// The scopes a method needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scopes {
    /// Any token (`auth.test`, `api.test`).
    None,
    /// This scope.
    One(&'static str),
    /// The scope for the channel's type: `public` for public channels, `private` for private
    /// ones. Without the channel known (or for `conversations.list`, per type asked for), a
    /// token needs one of them.
    Channel {
        public: &'static str,
        private: &'static str,
    },
}

const READ: Scopes = Scopes::Channel {
    public: "channels:read",
    private: "groups:read",
};
const MANAGE: Scopes = Scopes::Channel {
    public: "channels:manage",
    private: "groups:write",
};
const HISTORY: Scopes = Scopes::Channel {
    public: "channels:history",
    private: "groups:history",
};

/// Method -> rate tier and bot scopes, from Slack's method pages.
pub(crate) const METHOD_RULES: &[(&str, Tier, Scopes)] = &[
    ("api.test", Tier::Tier4, Scopes::None),
    ("auth.test", Tier::Tier4, Scopes::None),
    ("conversations.create", Tier::Tier2, MANAGE),
    ("conversations.invite", Tier::Tier3, MANAGE),
    ("conversations.kick", Tier::Tier3, MANAGE),
    (
        "conversations.join",
        Tier::Tier3,
        Scopes::One("channels:join"),
    ),
    ("conversations.archive", Tier::Tier2, MANAGE),
    ("conversations.unarchive", Tier::Tier2, MANAGE),
    ("conversations.setTopic", Tier::Tier3, MANAGE),
    ("conversations.setPurpose", Tier::Tier3, MANAGE),
    ("conversations.info", Tier::Tier3, READ),
    ("conversations.members", Tier::Tier4, READ),
    ("conversations.list", Tier::Tier2, READ),
    ("conversations.history", Tier::Tier3, HISTORY),
    ("chat.postMessage", Tier::Special, Scopes::One("chat:write")),
    ("chat.update", Tier::Tier3, Scopes::One("chat:write")),
    ("chat.postEphemeral", Tier::Tier4, Scopes::One("chat:write")),
    ("users.info", Tier::Tier4, Scopes::One("users:read")),
    ("users.conversations", Tier::Tier3, READ),
    // App Home: no scope of its own (Slack's method page lists none for bot tokens).
    ("views.publish", Tier::Tier4, Scopes::None),
    // Modals: Tier 4 and no scope on Slack's method pages (a trigger ID is the permission).
    ("views.open", Tier::Tier4, Scopes::None),
    ("views.push", Tier::Tier4, Scopes::None),
    ("views.update", Tier::Tier4, Scopes::None),
    // No scope; Slack's page says "special" ("hundreds of requests per minute"): the stricter
    // reading is Tier 4, 100 per minute.
    ("chat.getPermalink", Tier::Tier4, Scopes::None),
    ("bots.info", Tier::Tier3, Scopes::One("users:read")),
    (
        "users.lookupByEmail",
        Tier::Tier3,
        Scopes::One("users:read.email"),
    ),
    (
        "usergroups.users.list",
        Tier::Tier2,
        Scopes::One("usergroups:read"),
    ),
    ("files.info", Tier::Tier4, Scopes::One("files:read")),
    (
        "files.getUploadURLExternal",
        Tier::Tier4,
        Scopes::One("files:write"),
    ),
    (
        "files.completeUploadExternal",
        Tier::Tier4,
        Scopes::One("files:write"),
    ),
];

/// The rule of `method`, if the stand-in serves it.
pub(crate) fn rule_of(method: &str) -> Option<(Tier, Scopes)> {
    METHOD_RULES
        .iter()
        .find(|(name, _, _)| *name == method)
        .map(|(_, tier, scopes)| (*tier, *scopes))
}

/// The tier of a Web API method (`None` for a method the stand-in does not serve).
pub fn tier_of(method: &str) -> Option<Tier> {
    rule_of(method).map(|(tier, _)| tier)
}

/// A token bucket: `capacity` calls, refilled one every `interval`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Rate limits in force and the buckets they keep.
#[derive(Debug)]
pub(crate) struct RateLimits {
    /// Per-method tiers on.
    pub(crate) tiers: bool,
    /// Per-channel posting: burst and spacing; `None` is off.
    pub(crate) channel_posts: Option<(u32, Duration)>,
    method_buckets: HashMap<String, Bucket>,
    channel_buckets: HashMap<String, Bucket>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            tiers: true,
            channel_posts: Some((CHANNEL_POST_BURST, CHANNEL_POST_INTERVAL)),
            method_buckets: HashMap::new(),
            channel_buckets: HashMap::new(),
        }
    }
}

impl RateLimits {
    /// Counts a call of `method`; `Err(retry_after_secs)` when its tier is exhausted.
    pub(crate) fn admit_method(&mut self, method: &str, now: Instant) -> Result<(), u64> {
        if !self.tiers {
            return Ok(());
        }
        let Some(per_minute) = tier_of(method).and_then(Tier::per_minute) else {
            return Ok(());
        };
        let interval = Duration::from_secs(60) / per_minute;
        take(&mut self.method_buckets, method, per_minute, interval, now)
    }

    /// Counts a post to `channel_id`; `Err(retry_after_secs)` when the channel posted too
    /// much lately.
    pub(crate) fn admit_channel_post(&mut self, channel_id: &str, now: Instant) -> Result<(), u64> {
        let Some((burst, interval)) = self.channel_posts else {
            return Ok(());
        };
        take(&mut self.channel_buckets, channel_id, burst, interval, now)
    }

    /// Forgets what was counted (after a change of the limits).
    pub(crate) fn reset(&mut self) {
        self.method_buckets.clear();
        self.channel_buckets.clear();
    }
}

fn take(
    buckets: &mut HashMap<String, Bucket>,
    key: &str,
    capacity: u32,
    interval: Duration,
    now: Instant,
) -> Result<(), u64> {
    let capacity = f64::from(capacity.max(1));
    let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
        tokens: capacity,
        updated: now,
    });
    let elapsed = now.saturating_duration_since(bucket.updated);
    let interval_secs = interval.as_secs_f64().max(f64::EPSILON);
    bucket.tokens = (bucket.tokens + elapsed.as_secs_f64() / interval_secs).min(capacity);
    bucket.updated = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        return Ok(());
    }
    let wait_secs = (1.0 - bucket.tokens) * interval_secs;
    // Whole seconds, rounded up, at least 1: what Slack's `Retry-After` carries.
    let retry_after = wait_secs.ceil();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let retry_after = if retry_after.is_finite() && retry_after >= 1.0 {
        retry_after.min(86_400.0) as u64
    } else {
        1
    };
    Err(retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tier_lets_a_minute_of_calls_through_then_refills_evenly() {
        let mut limits = RateLimits::default();
        let start = Instant::now();
        for _ in 0..20 {
            assert_eq!(limits.admit_method("conversations.create", start), Ok(()));
        }
        // Tier 2 refills one call every 3 s.
        assert_eq!(limits.admit_method("conversations.create", start), Err(3));
        let later = start + Duration::from_secs(3);
        assert_eq!(limits.admit_method("conversations.create", later), Ok(()));
        assert_eq!(limits.admit_method("conversations.create", later), Err(3));
        // Other methods have their own buckets.
        assert_eq!(limits.admit_method("conversations.info", later), Ok(()));
    }

    #[test]
    fn channel_posts_allow_a_short_burst_then_one_per_second() {
        let mut limits = RateLimits::default();
        let start = Instant::now();
        for _ in 0..CHANNEL_POST_BURST {
            assert_eq!(limits.admit_channel_post("C1", start), Ok(()));
        }
        assert_eq!(limits.admit_channel_post("C1", start), Err(1));
        assert_eq!(limits.admit_channel_post("C2", start), Ok(()));
        let later = start + Duration::from_millis(1_000);
        assert_eq!(limits.admit_channel_post("C1", later), Ok(()));
    }

    #[test]
    fn every_served_method_has_a_rule() {
        assert!(rule_of("chat.postMessage").is_some());
        assert_eq!(tier_of("conversations.invite"), Some(Tier::Tier3));
        assert_eq!(tier_of("nope.nope"), None);
    }
}
