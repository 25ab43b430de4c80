//! The optional command policy: which Slack users or user groups may run which subcommands.
//!
//! Stored as JSON in an SSM parameter (`COMMAND_POLICY_PARAMETER`, e.g.
//! `/SecurityIncidentResponse/slackCommandPolicy`). The schema is documented in
//! `docs/commands.md`:
//!
//! ```json
//! {
//!   "version": 1,
//!   "readOnly": { "users": ["U0123ABCD"], "userGroups": ["S0123ABCD"] },
//!   "mutating": { "userGroups": ["S0SECOPS1"] },
//!   "close": { "users": ["U0LEAD001"] },
//!   "subcommands": { "update-description": { "users": ["U0SCRIBE1"] }, "create": { "userGroups": ["S0SECOPS1"] } },
//!   "requireOneTimeCode": false,
//!   "requireOneTimeCodeForEdits": false
//! }
//! ```
//!
//! A policy never widens access: the person must be a member of the case channel first. A
//! subcommand named in `subcommands` follows that rule alone; any other follows the rule of its
//! class (`readOnly`, `mutating`, `close`); a class without a rule is open to every channel
//! member. `create` (declaring a new case from the declare modal) is of class `mutating` and has
//! no channel to be a member of: its rule alone decides. `help` is always allowed. Unknown fields, subcommands or malformed IDs make the
//! whole policy invalid, and an invalid policy refuses every command but `help` (fail closed).
//! So does a missing or blank parameter: an open policy is a value ([`OPEN_POLICY`]), never an
//! absence.
//!
//! Two rules hold whatever the policy says, unless it names the person: Slack guests
//! (restricted and ultra-restricted accounts) may not change or close a case unless the rule for
//! that subcommand lists their user ID; and when case channels are public, changing or closing a
//! case needs a rule for that subcommand (without one, only `status`, `summarize` and `help` run).

use std::collections::BTreeMap;

use serde::Deserialize;
use sirslack_domain::command::SEND_TO_CASE_SUBCOMMAND;
use sirslack_domain::declaration::CREATE_SUBCOMMAND;
use sirslack_domain::{Command, CommandClass};

/// The policy format this code reads.
pub const POLICY_VERSION: u32 = 1;

/// The explicit open policy: every channel member may run every subcommand. The Slack stack's
/// default `commandPolicy` (infra `OPEN_COMMAND_POLICY`): the parameter always exists, because
/// a missing, blank or unreadable policy refuses everything but `help` (fail closed).
pub const OPEN_POLICY: &str = r#"{"version":1}"#;

/// Subcommands a policy may name (the canonical names of [`Command::name`], `help` excepted,
/// `create`, declaring a case, and `send-to-case`, the "Send to SIR case" message shortcut).
pub const POLICY_SUBCOMMANDS: [&str; 8] = [
    CREATE_SUBCOMMAND,
    SEND_TO_CASE_SUBCOMMAND,
    "status",
    "summarize",
    "update-status",
    "update-title",
    "update-description",
    "close",
];

/// Why a policy document cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not JSON of the expected shape (unknown fields included).
    #[error("the command policy is not valid JSON of the documented shape: {0}")]
    Shape(String),
    /// A version this code does not know.
    #[error("the command policy has version {0}; this handler reads version 1")]
    Version(u32),
    /// `subcommands` names something that is not a subcommand.
    #[error("the command policy names an unknown subcommand `{0}`")]
    UnknownSubcommand(String),
    /// An ID that is not a Slack user (`U...`/`W...`) or user group (`S...`) ID.
    #[error("the command policy lists `{0}`, which is not a Slack {1} ID")]
    InvalidId(String, &'static str),
}

/// Who may run a subcommand or class of subcommands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rule {
    /// Slack user IDs.
    #[serde(default)]
    pub users: Vec<String>,
    /// Slack user group IDs: their members are allowed.
    #[serde(default)]
    pub user_groups: Vec<String>,
}

impl Rule {
    /// Whether `user_id` is listed by ID.
    pub fn lists_user(&self, user_id: &str) -> bool {
        self.users.iter().any(|user| user == user_id)
    }

    fn validate(&self) -> Result<(), PolicyError> {
        for user in &self.users {
            if !is_slack_id(user, &['U', 'W']) {
                return Err(PolicyError::InvalidId(user.clone(), "user"));
            }
        }
        for group in &self.user_groups {
            if !is_slack_id(group, &['S']) {
                return Err(PolicyError::InvalidId(group.clone(), "user group"));
            }
        }
        Ok(())
    }
}

/// The command policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Policy {
    /// [`POLICY_VERSION`] when given.
    #[serde(default)]
    pub version: Option<u32>,
    /// `status`, `summarize`.
    #[serde(default)]
    pub read_only: Option<Rule>,
    /// `update-status`, `update-title`, `update-description`, `create`, `send-to-case`.
    #[serde(default)]
    pub mutating: Option<Rule>,
    /// `close`.
    #[serde(default)]
    pub close: Option<Rule>,
    /// Rules for single subcommands, overriding their class.
    #[serde(default)]
    pub subcommands: BTreeMap<String, Rule>,
    /// Whether `close` and `update-status` need a one-time code from everyone (people without
    /// an enrolled secret are then refused). Without it, only enrolled people need one.
    #[serde(default)]
    pub require_one_time_code: bool,
    /// Whether `update-title` and `update-description` need a one-time code too, under the same
    /// rule as `close` and `update-status` (enrolled people, or everyone with
    /// `requireOneTimeCode`). The code is then the last word of the text.
    #[serde(default)]
    pub require_one_time_code_for_edits: bool,
}

impl Policy {
    /// Parses and checks a policy document.
    pub fn parse(json: &str) -> Result<Self, PolicyError> {
        let policy: Self =
            serde_json::from_str(json).map_err(|error| PolicyError::Shape(error.to_string()))?;
        if let Some(version) = policy.version
            && version != POLICY_VERSION
        {
            return Err(PolicyError::Version(version));
        }
        for (name, rule) in &policy.subcommands {
            if !POLICY_SUBCOMMANDS.contains(&name.as_str()) {
                return Err(PolicyError::UnknownSubcommand(name.clone()));
            }
            rule.validate()?;
        }
        for rule in [&policy.read_only, &policy.mutating, &policy.close]
            .into_iter()
            .flatten()
        {
            rule.validate()?;
        }
        Ok(policy)
    }

    /// The rule `command` must pass, or `None` when every channel member may run it.
    pub fn rule_for(&self, command: &Command) -> Option<&Rule> {
        if matches!(command, Command::Help) {
            return None;
        }
        self.rule_for_subcommand(command.name(), command.class())
    }

    /// The rule of the subcommand `name` of class `class`: its own, else its class's; `None`
    /// when everyone may run it.
    pub fn rule_for_subcommand(&self, name: &str, class: CommandClass) -> Option<&Rule> {
        if let Some(rule) = self.subcommands.get(name) {
            return Some(rule);
        }
        match class {
            CommandClass::ReadOnly => self.read_only.as_ref(),
            CommandClass::Mutating => self.mutating.as_ref(),
            CommandClass::Close => self.close.as_ref(),
        }
    }

    /// The rule for declaring a case (`create`, class mutating); `None` when everyone may.
    pub fn rule_for_create(&self) -> Option<&Rule> {
        self.rule_for_subcommand(CREATE_SUBCOMMAND, CommandClass::Mutating)
    }
}

/// `U0123ABCD`-like: a prefix letter, then 2 to 31 uppercase letters or digits.
fn is_slack_id(id: &str, prefixes: &[char]) -> bool {
    id.starts_with(prefixes)
        && (3..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(text: &str) -> Command {
        Command::parse(text).unwrap()
    }

    #[test]
    fn classes_and_overrides() {
        let policy = Policy::parse(
            r#"{
                "version": 1,
                "mutating": { "users": ["U0ALICE01"], "userGroups": ["S0SECOPS1"] },
                "close": { "users": ["U0LEAD001"] },
                "subcommands": { "update-title": { "users": ["U0SCRIBE1"] } }
            }"#,
        )
        .unwrap();
        assert_eq!(policy.rule_for(&command("status")), None);
        assert_eq!(policy.rule_for(&command("help")), None);
        let status_change = policy
            .rule_for(&command("update-status detection"))
            .unwrap();
        assert!(status_change.lists_user("U0ALICE01"));
        assert_eq!(status_change.user_groups, ["S0SECOPS1"]);
        let title = policy.rule_for(&command("update-title x")).unwrap();
        assert!(title.lists_user("U0SCRIBE1"));
        assert!(!title.lists_user("U0ALICE01"));
        let close = policy.rule_for(&command("close confirm")).unwrap();
        assert!(close.lists_user("U0LEAD001"));
        assert!(!policy.require_one_time_code);
    }

    #[test]
    fn empty_rule_allows_nobody_and_empty_policy_everybody() {
        let policy = Policy::parse(
            r#"{"close": {}, "requireOneTimeCode": true, "requireOneTimeCodeForEdits": true}"#,
        )
        .unwrap();
        assert!(policy.require_one_time_code_for_edits);
        let rule = policy.rule_for(&command("close")).unwrap();
        assert!(!rule.lists_user("U0ANYONE1"));
        assert!(rule.user_groups.is_empty());
        assert!(policy.require_one_time_code);
        let open = Policy::parse("{}").unwrap();
        for text in ["status", "summarize", "update-title t", "close"] {
            assert_eq!(open.rule_for(&command(text)), None, "{text}");
        }
    }

    #[test]
    fn create_has_its_own_rule_or_the_mutating_one() {
        let own = Policy::parse(
            r#"{"mutating": {"users": ["U0ALICE01"]}, "subcommands": {"create": {"userGroups": ["S0SECOPS1"]}}}"#,
        )
        .unwrap();
        let rule = own.rule_for_create().unwrap();
        assert_eq!(rule.user_groups, ["S0SECOPS1"]);
        assert!(!rule.lists_user("U0ALICE01"));
        let class = Policy::parse(r#"{"mutating": {"users": ["U0ALICE01"]}}"#).unwrap();
        assert!(class.rule_for_create().unwrap().lists_user("U0ALICE01"));
        assert_eq!(Policy::parse("{}").unwrap().rule_for_create(), None);
        // `create` does not bleed into the other mutating subcommands.
        assert_eq!(
            own.rule_for(&command("update-title t")).unwrap().users,
            ["U0ALICE01"]
        );
    }

    #[test]
    fn malformed_policies_are_refused() {
        assert!(matches!(
            Policy::parse(r#"{"Close": {"users": ["U0LEAD001"]}}"#),
            Err(PolicyError::Shape(_))
        ));
        assert!(matches!(
            Policy::parse(r#"{"close": {"user": ["U0LEAD001"]}}"#),
            Err(PolicyError::Shape(_))
        ));
        assert_eq!(
            Policy::parse(r#"{"version": 2}"#),
            Err(PolicyError::Version(2))
        );
        assert_eq!(
            Policy::parse(r#"{"subcommands": {"resolve": {}}}"#),
            Err(PolicyError::UnknownSubcommand("resolve".into()))
        );
        assert!(matches!(
            Policy::parse(r#"{"close": {"users": ["jane"]}}"#),
            Err(PolicyError::InvalidId(_, "user"))
        ));
        assert!(matches!(
            Policy::parse(r#"{"mutating": {"userGroups": ["U0ALICE01"]}}"#),
            Err(PolicyError::InvalidId(_, "user group"))
        ));
        assert!(Policy::parse("not json").is_err());
    }
}
