//! How a Slack person is named, the one reading of `users.info` every sirslack function uses
//! ([`crate::SlackSession::person`]).
//!
//! The naming rule is the product's (the one `sirslack_domain::marker::SlackAuthor` describes
//! and the acceptance tests' `Jane Doe (@jane, Slack ID U0123ABCD)` comments show): the real
//! name is the profile's real name, else the user's `real_name`; the `@handle` is the
//! profile's display name (what people see and type after `@` in Slack), else the user name.
//! Blank values count as missing and values are trimmed, so the same person is named the
//! same way in SIR whichever function writes the comment.

use serde::Deserialize;
use sirslack_domain::marker::SlackAuthor;

/// A Slack person as `users.info` describes them (only what sirslack reads).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// `profile.real_name`, else `real_name`, when set.
    pub real_name: Option<String>,
    /// `profile.display_name`, else `name`: the `@handle`.
    pub handle: Option<String>,
    /// `profile.email` (needs `users:read.email`), when Slack gives one: SIR names watchers by
    /// e-mail address.
    pub email: Option<String>,
    /// `is_bot`: a bot user.
    pub is_bot: bool,
    /// `is_restricted` or `is_ultra_restricted`: a Slack guest (multi- or single-channel).
    pub is_guest: bool,
}

impl Person {
    /// Who to name when `users.info` failed: the user ID as handle, never "None".
    pub fn unknown(user_id: &str) -> Self {
        Self::with_handle(Some(user_id))
    }

    /// Someone known by a handle only (the `user_name` of a payload, when `users.info`
    /// failed); a blank handle is none.
    pub fn with_handle(handle: Option<&str>) -> Self {
        Self {
            handle: non_blank(handle.map(str::to_owned)),
            ..Self::default()
        }
    }

    /// How `user_id`, this person, is named in SIR comments (see the module documentation).
    pub fn author<'a>(&'a self, user_id: &'a str) -> SlackAuthor<'a> {
        SlackAuthor {
            user_id,
            real_name: self.real_name.as_deref(),
            handle: self.handle.as_deref(),
        }
    }

    /// [`Person::author`], with `handle` (a payload's `user_name`) when Slack gave none.
    pub fn author_or<'a>(&'a self, user_id: &'a str, handle: Option<&'a str>) -> SlackAuthor<'a> {
        SlackAuthor {
            handle: self.handle.as_deref().or(handle),
            ..self.author(user_id)
        }
    }

    /// The name used for a mention of this person in converted text: the real name, else the
    /// handle.
    pub fn mention_name(&self) -> Option<String> {
        self.real_name.clone().or_else(|| self.handle.clone())
    }

    /// The name to show in Slack: the real name, else `@handle`, else `Someone`.
    pub fn display_name(&self) -> String {
        match (&self.real_name, &self.handle) {
            (Some(name), _) => name.clone(),
            (None, Some(handle)) => format!("@{handle}"),
            (None, None) => "Someone".to_owned(),
        }
    }
}

/// `users.info`'s answer.
#[derive(Deserialize)]
pub(crate) struct UsersInfo {
    user: RawUser,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawUser {
    name: Option<String>,
    real_name: Option<String>,
    is_bot: Option<bool>,
    is_restricted: Option<bool>,
    is_ultra_restricted: Option<bool>,
    profile: Option<RawProfile>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawProfile {
    real_name: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
}

impl From<UsersInfo> for Person {
    fn from(answer: UsersInfo) -> Self {
        let user = answer.user;
        let profile = user.profile.unwrap_or_default();
        Self {
            real_name: non_blank(profile.real_name).or_else(|| non_blank(user.real_name)),
            handle: non_blank(profile.display_name).or_else(|| non_blank(user.name)),
            email: non_blank(profile.email),
            is_bot: user.is_bot.unwrap_or(false),
            is_guest: user.is_restricted.unwrap_or(false)
                || user.is_ultra_restricted.unwrap_or(false),
        }
    }
}

fn non_blank(value: Option<String>) -> Option<String> {
    value
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(json: serde_json::Value) -> Person {
        serde_json::from_value::<UsersInfo>(json)
            .map(Person::from)
            .unwrap_or_default()
    }

    #[test]
    fn the_profile_names_first_then_the_account() {
        let person = decoded(serde_json::json!({"user": {
            "id": "U1", "name": "jdoe", "real_name": "J. Doe", "is_restricted": true,
            "profile": {"real_name": "Jane Doe", "display_name": "jane", "email": " jane@example.com "},
        }}));
        assert_eq!(person.real_name.as_deref(), Some("Jane Doe"));
        assert_eq!(person.handle.as_deref(), Some("jane"));
        assert_eq!(person.email.as_deref(), Some("jane@example.com"));
        assert!(person.is_guest && !person.is_bot);

        let blank_profile = decoded(serde_json::json!({"user": {
            "name": "jdoe", "real_name": "J. Doe", "is_bot": true,
            "profile": {"real_name": " ", "display_name": ""},
        }}));
        assert_eq!(blank_profile.real_name.as_deref(), Some("J. Doe"));
        assert_eq!(blank_profile.handle.as_deref(), Some("jdoe"));
        assert!(blank_profile.is_bot && !blank_profile.is_guest);
        assert_eq!(decoded(serde_json::json!({"user": {}})), Person::default());
    }

    #[test]
    fn names_fall_back() {
        let full = Person {
            real_name: Some("Jane Doe".into()),
            handle: Some("jane".into()),
            ..Person::default()
        };
        assert_eq!(full.display_name(), "Jane Doe");
        assert_eq!(full.mention_name().as_deref(), Some("Jane Doe"));
        let handle_only = Person::with_handle(Some("jane"));
        assert_eq!(handle_only.display_name(), "@jane");
        assert_eq!(handle_only.mention_name().as_deref(), Some("jane"));
        assert_eq!(Person::default().display_name(), "Someone");
        assert_eq!(Person::with_handle(Some("  ")), Person::default());
        let unknown = Person::unknown("U0123ABCD");
        assert_eq!(unknown.author("U0123ABCD").handle, Some("U0123ABCD"));
        assert_eq!(
            Person::default().author_or("U1", Some("jd")).handle,
            Some("jd")
        );
        assert_eq!(full.author_or("U1", Some("jd")).handle, Some("jane"));
    }
}
