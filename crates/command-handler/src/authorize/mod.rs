//! Who may run which `/security-ir` command: the custom-credentials idea of the seed on Slack
//! command security, with Slack identities instead of passwords.
//!
//! 1. **Channel membership**: only members of the case channel may run commands in it,
//!    verified with Slack (`conversations.members`) and remembered briefly.
//! 2. **Policy** ([`policy`]): which users or user groups may run which subcommands. The
//!    parameter must exist: missing, blank, unreadable or invalid refuses everything but `help`
//!    (an open policy is the value [`policy::OPEN_POLICY`]).
//!    Whatever the policy, Slack guests (restricted and ultra-restricted accounts) may not
//!    change or close a case unless the rule for that subcommand lists their user ID, and when
//!    case channels are public (`CHANNEL_VISIBILITY=public`) changing or closing a case needs a
//!    rule for that subcommand.
//!    Declaring a case (`create`, [`Authorizer::check_create`]) has no channel: the policy and
//!    those two rules decide.
//! 3. **Step-up** (optional, [`totp`]): `close`, `update-status` and `create` (and `update-title` and
//!    `update-description` when the policy sets `requireOneTimeCodeForEdits`) need a valid
//!    6-digit code from a person who has a TOTP secret in SSM
//!    (`<OTP_SECRET_PARAMETER_PREFIX>/<userId>/otpSecret`, a SecureString). Each code is
//!    accepted once (a conditional write per person and time step), and wrong codes are
//!    limited per person ([`MAX_CODE_FAILURES`] per [`CODE_FAILURE_WINDOW`]).
//!
//! Every refusal is a [`Refusal`]: the caller tells the person why (ephemerally) and logs it
//! with user, channel, case and subcommand. Codes and secrets are never logged or stored; the
//! table keeps the matched time step only.

pub mod policy;
pub mod totp;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sirslack_cache::{ParameterCache, TtlCache};
use sirslack_domain::command::SEND_TO_CASE_SUBCOMMAND;
use sirslack_domain::{Command, CommandClass, Otp};
use sirslack_mapper::home::{HomeAccess, HomeRight, RightDetail};
use sirslack_store::Table;
use tracing::{error, warn};

use crate::config::Config;
use crate::slack::Slack;
use policy::{Policy, Rule};

/// Wrong codes a person may enter per [`CODE_FAILURE_WINDOW`] before further codes are
/// refused unchecked.
pub const MAX_CODE_FAILURES: usize = 5;
/// How long a wrong code counts against the person.
pub const CODE_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Marker scope of code attempts (`<userId>#<slot>`); a failed attempt keeps its slot.
pub const CODE_ATTEMPT_SCOPE: &str = "otp-attempt";
/// Marker scope of accepted time steps (`<userId>#<step>`): each is accepted once.
pub const CODE_USED_SCOPE: &str = "otp-used";
/// How long an accepted step is remembered: longer than the window a code is valid in
/// (three 30-second steps).
const CODE_USED_TTL: Duration = Duration::from_secs(5 * 60);

/// Why a command was refused. [`Refusal::message`] is what the person reads;
/// [`Refusal::reason`] is what the log says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a member of the case channel.
    NotChannelMember,
    /// Slack could not say whether they are (fail closed).
    SlackUnavailable,
    /// The policy does not allow them this subcommand.
    PolicyDenied,
    /// A Slack guest, not named by the rule for this change.
    GuestNotAllowed,
    /// Case channels are public and no policy rule says who may make this change.
    PolicyRequired,
    /// The policy is missing, blank, unreadable or invalid (fail closed).
    PolicyUnavailable,
    /// A one-time code is needed and none was given.
    CodeRequired,
    /// The code matches no step in the window.
    CodeInvalid,
    /// The code's step was already used by this person.
    CodeReused,
    /// Too many wrong codes lately.
    TooManyFailures,
    /// The policy requires a code from everyone and this person has no secret.
    NotEnrolled,
    /// The stored secret is not usable.
    SecretMisconfigured,
    /// The secret or the markers could not be read (fail closed).
    StepUpUnavailable,
}

/// The CloudWatch namespace and metric of security refusals (an embedded-metric-format line
/// per refusal, dimensions `Function` and `Reason`); infra alarms on repeated wrong codes.
pub const SECURITY_METRICS_NAMESPACE: &str = "sirslack";
/// See [`SECURITY_METRICS_NAMESPACE`].
pub const SECURITY_REFUSALS_METRIC: &str = "SecurityRefusals";
/// The `Function` dimension of the command handler's metrics.
pub const METRICS_FUNCTION: &str = "command-handler";

impl Refusal {
    /// Whether this refusal is a security event (someone tried something they may not, or a
    /// control failed closed): logged at ERROR, so it shows at every log level, and counted.
    /// The others (Slack or SSM unavailable, a code not given yet) are operational.
    pub fn is_security(&self) -> bool {
        matches!(
            self,
            Self::NotChannelMember
                | Self::PolicyDenied
                | Self::GuestNotAllowed
                | Self::PolicyRequired
                | Self::PolicyUnavailable
                | Self::CodeInvalid
                | Self::CodeReused
                | Self::TooManyFailures
                | Self::NotEnrolled
        )
    }

    /// The embedded-metric-format line counting one security refusal (printed to stdout, which
    /// CloudWatch Logs turns into the `SecurityRefusals` metric).
    pub fn metric_line(&self, timestamp_ms: i64) -> String {
        serde_json::json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": SECURITY_METRICS_NAMESPACE,
                    "Dimensions": [["Function", "Reason"]],
                    "Metrics": [{"Name": SECURITY_REFUSALS_METRIC, "Unit": "Count"}]
                }]
            },
            "Function": METRICS_FUNCTION,
            "Reason": self.reason(),
            SECURITY_REFUSALS_METRIC: 1
        })
        .to_string()
    }

    /// A short stable reason for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotChannelMember => "not_channel_member",
            Self::SlackUnavailable => "membership_unknown",
            Self::PolicyDenied => "policy_denied",
            Self::GuestNotAllowed => "guest_not_allowed",
            Self::PolicyRequired => "policy_required_public_channels",
            Self::PolicyUnavailable => "policy_unavailable",
            Self::CodeRequired => "code_required",
            Self::CodeInvalid => "code_invalid",
            Self::CodeReused => "code_reused",
            Self::TooManyFailures => "code_rate_limited",
            Self::NotEnrolled => "code_not_enrolled",
            Self::SecretMisconfigured => "code_secret_invalid",
            Self::StepUpUnavailable => "code_check_unavailable",
        }
    }

    /// What the person is told, for `command`.
    pub fn message(&self, command: &Command) -> String {
        self.message_for(command.name(), code_example(command))
    }

    /// What the person is told, for the subcommand `name`; `code_example` shows how a
    /// one-time code is given with it.
    pub fn message_for(&self, name: &str, code_example: &str) -> String {
        match self {
            Self::NotChannelMember => format!(
                "Only members of this channel can run `/security-ir {name}` here. Ask a member \
                 to invite you."
            ),
            Self::SlackUnavailable => "Could not check your channel membership with Slack right \
                                       now. Please try again in a moment."
                .to_owned(),
            Self::PolicyDenied => format!(
                "You are not allowed to run `/security-ir {name}`: the workspace's command policy \
                 does not list you. Ask your security administrator for access."
            ),
            Self::GuestNotAllowed => format!(
                "Guest accounts cannot run `/security-ir {name}`: changing or closing a case is \
                 for full members of the workspace unless the command policy names you. Ask your \
                 security administrator."
            ),
            Self::PolicyRequired => format!(
                "Case channels in this workspace are public, so `/security-ir {name}` needs a \
                 command policy that says who may run it, and there is none for it. `status`, \
                 `summarize` and `help` still work. Ask your security administrator to set one."
            ),
            Self::PolicyUnavailable => "The command policy is missing, could not be read or is \
                                        invalid, so commands are refused for now (`/security-ir \
                                        help` still works). Ask your security administrator to \
                                        check it."
                .to_owned(),
            Self::CodeRequired => format!(
                "`/security-ir {name}` needs the 6-digit code from your authenticator app, for \
                 example {code_example}."
            ),
            Self::CodeInvalid => "That one-time code is not valid. Use the current code from your \
                                  authenticator app (and check that your device's clock is right)."
                .to_owned(),
            Self::CodeReused => "That one-time code was already used. Wait for the next code from \
                                 your authenticator app."
                .to_owned(),
            Self::TooManyFailures => format!(
                "Too many wrong one-time codes. Try again in {} minutes.",
                CODE_FAILURE_WINDOW.as_secs() / 60
            ),
            Self::NotEnrolled => format!(
                "`/security-ir {name}` needs a one-time code, and you have no authenticator set \
                 up. Ask your security administrator to enrol you."
            ),
            Self::SecretMisconfigured => "Your one-time-code setup is not usable. Ask your \
                                          security administrator to enrol you again."
                .to_owned(),
            Self::StepUpUnavailable => "Could not check your one-time code right now. Please try \
                                        again in a moment."
                .to_owned(),
        }
    }
}

fn code_example(command: &Command) -> &'static str {
    match command {
        Command::Close { .. } => "`/security-ir close confirm 123456`",
        Command::UpdateTitle { .. } => "`/security-ir update-title New title 123456`",
        Command::UpdateDescription { .. } => {
            "`/security-ir update-description New description 123456`"
        }
        _ => "`/security-ir update-status containment 123456`",
    }
}

/// What passed the access check, for the step-up that may follow.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The policy in force, if any.
    pub policy: Option<Arc<Policy>>,
}

impl Access {
    fn requires_code_from_everyone(&self) -> bool {
        self.policy
            .as_ref()
            .is_some_and(|policy| policy.require_one_time_code)
    }

    /// Whether `command` needs a one-time code from people who have a secret: `close` and
    /// `update-status` always, `update-title` and `update-description` when the policy sets
    /// `requireOneTimeCodeForEdits`.
    pub fn needs_step_up(&self, command: &Command) -> bool {
        match command {
            Command::UpdateStatus { .. } | Command::Close { .. } => true,
            Command::UpdateTitle { .. } | Command::UpdateDescription { .. } => self
                .policy
                .as_ref()
                .is_some_and(|policy| policy.require_one_time_code_for_edits),
            _ => false,
        }
    }
}

/// The outcome of a step-up that let the command through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepUp {
    /// No code is needed from this person for this command.
    NotRequired,
    /// A fresh, valid code was given (and is now used up).
    Verified,
}

/// Decides who may run what. One per container.
pub struct Authorizer {
    slack: Slack,
    table: Table,
    /// The policy and the OTP secrets: absence is cached too, and nothing is served once it
    /// cannot be re-read (fail closed).
    parameters: ParameterCache,
    policy_parameter: Option<String>,
    otp_secret_prefix: String,
    channels_public: bool,
    memberships: TtlCache<(String, String), ()>,
    guests: TtlCache<String, bool>,
    usergroups: TtlCache<String, Arc<HashSet<String>>>,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("policy_parameter", &self.policy_parameter)
            .finish_non_exhaustive()
    }
}

impl Authorizer {
    /// An authorizer asking `slack`, reading SSM with `ssm` and writing markers to `table`.
    pub fn new(config: &Config, slack: Slack, table: Table, ssm: aws_sdk_ssm::Client) -> Self {
        let ttl = config.authorization_cache_ttl;
        Self {
            slack,
            table,
            parameters: ParameterCache::strict(ssm, ttl),
            policy_parameter: config.command_policy_parameter.clone(),
            otp_secret_prefix: config.otp_secret_parameter_prefix.clone(),
            channels_public: config.channels_public,
            memberships: TtlCache::new(ttl),
            guests: TtlCache::new(ttl),
            usergroups: TtlCache::new(ttl),
        }
    }

    /// Channel membership, then the policy; for a change, then the rules for public channels
    /// and for guests.
    pub async fn check_access(
        &self,
        channel_id: &str,
        user_id: &str,
        command: &Command,
    ) -> Result<Access, Refusal> {
        if !self.is_channel_member(channel_id, user_id).await? {
            return Err(Refusal::NotChannelMember);
        }
        let policy = self.policy().await?;
        self.policy_allows(policy.as_deref(), user_id, command)
            .await?;
        Ok(Access { policy })
    }

    /// The policy's rule for `command`, then for a change the rules for public channels and
    /// for guests: everything [`Authorizer::check_access`] checks but channel membership.
    async fn policy_allows(
        &self,
        policy: Option<&Policy>,
        user_id: &str,
        command: &Command,
    ) -> Result<(), Refusal> {
        if matches!(command, Command::Help) {
            return Ok(());
        }
        self.policy_allows_subcommand(policy, user_id, command.name(), command.class())
            .await
    }

    /// [`Authorizer::policy_allows`] for the subcommand `name` of class `class`.
    async fn policy_allows_subcommand(
        &self,
        policy: Option<&Policy>,
        user_id: &str,
        name: &str,
        class: CommandClass,
    ) -> Result<(), Refusal> {
        let rule = policy.and_then(|policy| policy.rule_for_subcommand(name, class));
        if let Some(rule) = rule
            && !self.passes(rule, user_id).await?
        {
            return Err(Refusal::PolicyDenied);
        }
        if class != CommandClass::ReadOnly {
            if self.channels_public && rule.is_none() {
                return Err(Refusal::PolicyRequired);
            }
            let named = rule.is_some_and(|rule| rule.lists_user(user_id));
            if !named && self.is_guest(user_id).await? {
                return Err(Refusal::GuestNotAllowed);
            }
        }
        Ok(())
    }

    /// What the Home tab tells `user_id` about themselves: for each subcommand (as a member
    /// of a case channel), whether the policy lets them run it and whether a one-time code is
    /// asked; and whether they are enrolled. Reads what a command would (the policy, user
    /// groups, `users.info`, the person's OTP parameter), through the same caches; never a
    /// secret's value beyond "there is one".
    pub async fn home_access(&self, user_id: &str) -> HomeAccess {
        let policy = match self.policy().await {
            Ok(policy) => policy,
            Err(Refusal::PolicyUnavailable) => return HomeAccess::PolicyUnavailable,
            Err(_) => return HomeAccess::Unknown,
        };
        let enrolled = match self.otp_secret(user_id).await {
            Ok(secret) => secret.is_some(),
            Err(_) => return HomeAccess::Unknown,
        };
        let access = Access {
            policy: policy.clone(),
        };
        let mut rights = Vec::new();
        for command in Command::examples() {
            let detail = match self
                .policy_allows(policy.as_deref(), user_id, &command)
                .await
            {
                Ok(()) => RightDetail::Allowed {
                    code: access.needs_step_up(&command)
                        && (enrolled || access.requires_code_from_everyone()),
                },
                Err(Refusal::PolicyDenied) => RightDetail::Refused("the policy does not list you"),
                Err(Refusal::GuestNotAllowed) => {
                    RightDetail::Refused("guest accounts may not change a case")
                }
                Err(Refusal::PolicyRequired) => RightDetail::Refused(
                    "case channels are public and no policy rule names who may",
                ),
                Err(_) => return HomeAccess::Unknown,
            };
            rights.push(HomeRight {
                subcommand: command.name(),
                detail,
            });
        }
        let may_declare = self.check_create(user_id).await.is_ok();
        HomeAccess::Known {
            rights,
            enrolled,
            code_from_everyone: access.requires_code_from_everyone(),
            may_declare,
        }
    }

    /// Whether `user_id` would be asked for a code for `command` (to word a confirmation).
    pub async fn step_up_configured(
        &self,
        user_id: &str,
        command: &Command,
        access: &Access,
    ) -> Result<bool, Refusal> {
        if !access.needs_step_up(command) {
            return Ok(false);
        }
        Ok(access.requires_code_from_everyone() || self.otp_secret(user_id).await?.is_some())
    }

    /// The one-time-code check for the commands that need one ([`Access::needs_step_up`]),
    /// with the `code` the person typed.
    pub async fn step_up(
        &self,
        user_id: &str,
        command: &Command,
        code: Option<&Otp>,
        access: &Access,
    ) -> Result<StepUp, Refusal> {
        if !access.needs_step_up(command) {
            return Ok(StepUp::NotRequired);
        }
        self.verify_code(user_id, code, access).await
    }

    /// Who may send a Slack message to a case ("Send to SIR case", policy name
    /// `send-to-case`, class mutating): as for a command in the case's channel, membership of
    /// `channel_id` first, then the policy and the rules for public case channels and guests.
    /// No one-time code: the comment changes nothing in the case but its comments, as a message
    /// in the channel would.
    pub async fn check_send_to_case(
        &self,
        channel_id: &str,
        user_id: &str,
    ) -> Result<Access, Refusal> {
        if !self.is_channel_member(channel_id, user_id).await? {
            return Err(Refusal::NotChannelMember);
        }
        let policy = self.policy().await?;
        self.policy_allows_subcommand(
            policy.as_deref(),
            user_id,
            SEND_TO_CASE_SUBCOMMAND,
            CommandClass::Mutating,
        )
        .await?;
        Ok(Access { policy })
    }

    /// Who may declare a case (`create`, class mutating): the policy's rule for it, then, as
    /// for changing or closing a case, the rules for public case channels and for guests.
    /// There is no case channel yet, so channel membership does not apply.
    pub async fn check_create(&self, user_id: &str) -> Result<Access, Refusal> {
        let policy = self.policy().await?;
        let rule = policy.as_deref().and_then(Policy::rule_for_create);
        if let Some(rule) = rule
            && !self.passes(rule, user_id).await?
        {
            return Err(Refusal::PolicyDenied);
        }
        if self.channels_public && rule.is_none() {
            return Err(Refusal::PolicyRequired);
        }
        let named = rule.is_some_and(|rule| rule.lists_user(user_id));
        if !named && self.is_guest(user_id).await? {
            return Err(Refusal::GuestNotAllowed);
        }
        Ok(Access { policy })
    }

    /// The one-time-code check for declaring a case, as for `close`: a code from people who
    /// have a secret, and from everyone when the policy sets `requireOneTimeCode`.
    pub async fn step_up_create(
        &self,
        user_id: &str,
        code: Option<&Otp>,
        access: &Access,
    ) -> Result<StepUp, Refusal> {
        self.verify_code(user_id, code, access).await
    }

    /// Checks `code` against the person's secret (each step accepted once, wrong codes
    /// limited); no secret: fine unless the policy requires a code from everyone.
    async fn verify_code(
        &self,
        user_id: &str,
        code: Option<&Otp>,
        access: &Access,
    ) -> Result<StepUp, Refusal> {
        let Some(secret) = self.otp_secret(user_id).await? else {
            return if access.requires_code_from_everyone() {
                Err(Refusal::NotEnrolled)
            } else {
                Ok(StepUp::NotRequired)
            };
        };
        let Some(code) = code else {
            return Err(Refusal::CodeRequired);
        };
        let Some(slot) = self.claim_attempt(user_id).await? else {
            return Err(Refusal::TooManyFailures);
        };
        let step = match totp::matching_step(&secret, code, unix_now()) {
            Ok(Some(step)) => step,
            // The slot stays taken: the wrong code counts.
            Ok(None) => return Err(Refusal::CodeInvalid),
            Err(secret_error) => {
                error!(user = user_id, error = %secret_error, "the stored OTP secret is not usable");
                self.release_attempt(user_id, slot).await;
                return Err(Refusal::SecretMisconfigured);
            }
        };
        let ttl = chrono_duration(CODE_USED_TTL);
        match self
            .table
            .put_once(CODE_USED_SCOPE, &format!("{user_id}#{step}"), ttl)
            .await
        {
            Ok(true) => {
                self.release_attempt(user_id, slot).await;
                Ok(StepUp::Verified)
            }
            // A replayed code counts as a failure too.
            Ok(false) => Err(Refusal::CodeReused),
            Err(store_error) => {
                error!(user = user_id, error = %store_error, "could not record a used OTP step");
                self.release_attempt(user_id, slot).await;
                Err(Refusal::StepUpUnavailable)
            }
        }
    }

    async fn is_channel_member(&self, channel_id: &str, user_id: &str) -> Result<bool, Refusal> {
        let key = (channel_id.to_owned(), user_id.to_owned());
        if self.memberships.get(&key).is_some() {
            return Ok(true);
        }
        match self.slack.is_channel_member(channel_id, user_id).await {
            Ok(true) => {
                // Only "yes" is remembered: someone who just joined must not wait for "no".
                self.memberships.insert(key, ());
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(slack_error) => {
                warn!(channel = channel_id, user = user_id, error = %slack_error, "channel membership could not be checked");
                Err(Refusal::SlackUnavailable)
            }
        }
    }

    /// Whether `user_id` is a Slack guest (`is_restricted` or `is_ultra_restricted`), from
    /// `users.info`; unknown refuses (fail closed).
    async fn is_guest(&self, user_id: &str) -> Result<bool, Refusal> {
        let key = user_id.to_owned();
        if let Some(guest) = self.guests.get(&key) {
            return Ok(guest);
        }
        match self.slack.person(user_id).await {
            Ok(profile) => {
                self.guests.insert(key, profile.is_guest);
                Ok(profile.is_guest)
            }
            Err(slack_error) => {
                warn!(user = user_id, error = %slack_error, "whether the person is a guest could not be checked");
                Err(Refusal::SlackUnavailable)
            }
        }
    }

    async fn policy(&self) -> Result<Option<Arc<Policy>>, Refusal> {
        let Some(name) = &self.policy_parameter else {
            return Ok(None);
        };
        let text = self.parameters.get_optional(name).await.map_err(|read_error| {
            error!(parameter = %name, error = %read_error, "the command policy could not be read");
            Refusal::PolicyUnavailable
        })?;
        let Some(text) = text else {
            // Fail closed: an open policy is a value (`{"version":1}`), never an absence.
            error!(
                parameter = %name,
                security = "policy_missing",
                "the command policy parameter is missing or blank; refusing every command but help"
            );
            return Err(Refusal::PolicyUnavailable);
        };
        Policy::parse(&text).map(|policy| Some(Arc::new(policy))).map_err(|policy_error| {
            error!(parameter = %name, error = %policy_error, "the command policy is invalid; refusing commands");
            Refusal::PolicyUnavailable
        })
    }

    async fn passes(&self, rule: &Rule, user_id: &str) -> Result<bool, Refusal> {
        if rule.lists_user(user_id) {
            return Ok(true);
        }
        for group in &rule.user_groups {
            let members = match self.usergroups.get(group) {
                Some(members) => members,
                None => {
                    let members = self.slack.usergroup_members(group).await.map_err(|slack_error| {
                        warn!(usergroup = %group, error = %slack_error, "user group could not be read");
                        Refusal::SlackUnavailable
                    })?;
                    let members: Arc<HashSet<String>> = Arc::new(members.into_iter().collect());
                    self.usergroups.insert(group.clone(), Arc::clone(&members));
                    members
                }
            };
            if members.contains(user_id) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn otp_secret(&self, user_id: &str) -> Result<Option<Arc<str>>, Refusal> {
        let name = format!("{}/{user_id}/otpSecret", self.otp_secret_prefix);
        self.parameters
            .get_optional(&name)
            .await
            .map_err(|read_error| {
                error!(user = user_id, error = %read_error, "the OTP secret could not be read");
                Refusal::StepUpUnavailable
            })
    }

    /// Takes one of the person's [`MAX_CODE_FAILURES`] attempt slots, or `None` when all are
    /// held by recent failures.
    async fn claim_attempt(&self, user_id: &str) -> Result<Option<usize>, Refusal> {
        let ttl = chrono_duration(CODE_FAILURE_WINDOW);
        for slot in 0..MAX_CODE_FAILURES {
            match self
                .table
                .put_once(CODE_ATTEMPT_SCOPE, &format!("{user_id}#{slot}"), ttl)
                .await
            {
                Ok(true) => return Ok(Some(slot)),
                Ok(false) => {}
                Err(store_error) => {
                    error!(user = user_id, error = %store_error, "OTP attempt could not be recorded");
                    return Err(Refusal::StepUpUnavailable);
                }
            }
        }
        Ok(None)
    }

    async fn release_attempt(&self, user_id: &str, slot: usize) {
        if let Err(store_error) = self
            .table
            .forget_once(CODE_ATTEMPT_SCOPE, &format!("{user_id}#{slot}"))
            .await
        {
            // The slot expires on its own; the person has one attempt fewer until then.
            warn!(user = user_id, error = %store_error, "OTP attempt slot could not be released");
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

fn chrono_duration(duration: Duration) -> chrono::Duration {
    sirslack_domain::duration::to_chrono(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_refusals_are_counted_with_their_reason() {
        for refusal in [
            Refusal::CodeInvalid,
            Refusal::TooManyFailures,
            Refusal::PolicyDenied,
            Refusal::PolicyUnavailable,
        ] {
            assert!(refusal.is_security(), "{refusal:?}");
            let line: serde_json::Value =
                serde_json::from_str(&refusal.metric_line(1_767_268_800_000)).unwrap();
            assert_eq!(line["SecurityRefusals"], 1);
            assert_eq!(line["Reason"], refusal.reason());
            assert_eq!(line["Function"], "command-handler");
            assert_eq!(
                line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
                "sirslack"
            );
            assert_eq!(
                line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
                serde_json::json!([["Function", "Reason"]])
            );
        }
        assert!(!Refusal::SlackUnavailable.is_security());
        assert!(!Refusal::CodeRequired.is_security());
    }

    #[test]
    fn refusals_explain_and_never_echo_codes() {
        let close = Command::parse("close confirm 654321").unwrap();
        for refusal in [
            Refusal::NotChannelMember,
            Refusal::SlackUnavailable,
            Refusal::PolicyDenied,
            Refusal::GuestNotAllowed,
            Refusal::PolicyRequired,
            Refusal::PolicyUnavailable,
            Refusal::CodeRequired,
            Refusal::CodeInvalid,
            Refusal::CodeReused,
            Refusal::TooManyFailures,
            Refusal::NotEnrolled,
            Refusal::SecretMisconfigured,
            Refusal::StepUpUnavailable,
        ] {
            let message = refusal.message(&close);
            assert!(!message.contains("654321"), "{message}");
            assert!(!refusal.reason().is_empty());
        }
        assert!(
            Refusal::PolicyDenied
                .message(&close)
                .contains("/security-ir close")
        );
        assert!(
            Refusal::CodeRequired
                .message(&close)
                .contains("close confirm 123456")
        );
        let status = Command::parse("update-status detection").unwrap();
        assert!(
            Refusal::CodeRequired
                .message(&status)
                .contains("update-status containment 123456")
        );
        assert!(
            Refusal::TooManyFailures
                .message(&status)
                .contains("15 minutes")
        );
    }

    #[test]
    fn close_and_update_status_step_up_and_edits_when_the_policy_says_so() {
        let command = |text: &str| Command::parse(text).unwrap();
        let open = Access::default();
        assert!(open.needs_step_up(&command("close")));
        assert!(open.needs_step_up(&command("update-status pia")));
        assert!(!open.needs_step_up(&command("update-title t")));
        assert!(!open.needs_step_up(&command("update-description d")));
        assert!(!open.needs_step_up(&command("status")));
        let edits = Access {
            policy: Some(Arc::new(
                Policy::parse(r#"{"requireOneTimeCodeForEdits": true}"#).unwrap(),
            )),
        };
        assert!(edits.needs_step_up(&command("update-title t")));
        assert!(edits.needs_step_up(&command("update-description d")));
        assert!(edits.needs_step_up(&command("close")));
        assert!(!edits.needs_step_up(&command("summarize")));
        assert!(
            Refusal::CodeRequired
                .message(&command("update-title t"))
                .contains("update-title New title 123456")
        );
        assert!(Refusal::GuestNotAllowed.is_security());
        assert!(Refusal::PolicyRequired.is_security());
    }
}
