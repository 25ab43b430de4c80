//! The payload the events handler sends to the command handler (an async `lambda:Invoke`).
//!
//! One JSON object per slash command or button click, already checked: the request was signed,
//! came from the configured workspace, and was made in a channel linked to `case_id`. The
//! command handler answers the person through `response_url`. A submitted edit modal of the
//! case message (Edit title, Edit description) is a `CommandInvocation` of kind
//! `view_submission` ([`CommandInvocation::for_view_submission`]), keyed by its view. A
//! submitted declare modal is a [`DeclarationInvocation`] instead (`"kind": "declaration"`), a
//! submitted "Send to SIR case" modal a [`ForwardInvocation`] (`"kind": "forward"`); the
//! command handler reads `kind` first.
//!
//! ```json
//! {
//!   "version": 1,
//!   "kind": "slash_command",
//!   "command": "/security-ir",
//!   "command_text": "update-status containment",
//!   "subcommand": "update-status",
//!   "team_id": "T0123ABCD",
//!   "user_id": "U0123ABCD",
//!   "user_name": "jane",
//!   "channel_id": "C0123ABCD",
//!   "case_id": "1234567890",
//!   "response_url": "https://hooks.slack.com/commands/...",
//!   "trigger_id": "1700000000.123.abc",
//!   "action_id": null,
//!   "action_value": null,
//!   "block_id": null,
//!   "message_ts": null,
//!   "received_at": "2026-01-01T12:00:00Z"
//! }
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sirslack_domain::command::Command;
use sirslack_domain::{CaseId, Declaration, Otp};

use crate::envelope::{ActionItem, BlockAction, ResponseUrl, SlashCommand, ViewSubmission};

/// The current payload version. A consumer refuses versions it does not know.
pub const COMMAND_INVOCATION_VERSION: u32 = 1;

/// What the person did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvocationKind {
    /// Ran `/security-ir ...`.
    SlashCommand,
    /// Clicked a button (or picked an option) the integration posted.
    BlockAction,
    /// Submitted a modal opened from the case message (Edit title, Edit description): the
    /// command line was built from the form, and the view's ID keys its idempotency.
    ViewSubmission,
}

/// A `response_url` could not be found for a block action (it was in a modal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the interaction has no response_url")]
pub struct ResponseUrlError;

/// The command handler's input. `Debug` redacts `response_url`, so the whole value may be
/// logged; the field itself never may.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandInvocation {
    /// [`COMMAND_INVOCATION_VERSION`].
    pub version: u32,
    /// Slash command or button.
    pub kind: InvocationKind,
    /// The slash command (`/security-ir`); `None` for a block action.
    pub command: Option<String>,
    /// The text typed after the command; for a block action, the action's value (buttons carry
    /// a command line such as `close confirm`).
    pub command_text: String,
    /// The canonical subcommand name ([`Command::name`]) when `command_text` parses; the
    /// command handler parses `command_text` again with [`Command::parse`] for the arguments.
    pub subcommand: Option<String>,
    /// The workspace.
    pub team_id: String,
    /// Who ran or clicked it.
    pub user_id: String,
    /// Their Slack user name, when Slack sent one.
    pub user_name: Option<String>,
    /// The case channel.
    pub channel_id: String,
    /// The case linked to the channel.
    pub case_id: CaseId,
    /// Where to answer. Never log it.
    pub response_url: ResponseUrl,
    /// Opens a modal, valid 3 seconds after `received_at`.
    pub trigger_id: Option<String>,
    /// The clicked element's `action_id`.
    pub action_id: Option<String>,
    /// The clicked element's value.
    pub action_value: Option<String>,
    /// The block holding the element.
    pub block_id: Option<String>,
    /// `ts` of the message holding the element.
    pub message_ts: Option<String>,
    /// When the events handler received the request.
    pub received_at: DateTime<Utc>,
    /// For a view submission: the submitted view's ID, the same for every submission of one
    /// modal, so a double submit runs once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_id: Option<String>,
    /// For a view submission: the code typed in the modal's one-time-code field. The command
    /// text then never carries a code (a title ending in six digits stays whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_time_code: Option<Otp>,
}

/// Where a modal opened from a case message came from: the click that opened it, carried
/// through the modal (its `private_metadata`) to the submission.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseMessageOrigin {
    /// The case channel the message is in.
    pub channel_id: String,
    /// The case linked to that channel (checked again at submission).
    pub case_id: CaseId,
    /// `ts` of the case message.
    pub message_ts: Option<String>,
    /// The click's `response_url` (valid 30 minutes, 5 posts): where the command handler
    /// answers. Never log it.
    pub response_url: ResponseUrl,
}

impl CommandInvocation {
    /// The invocation for a slash command run in the channel of `case_id`.
    pub fn for_slash_command(
        command: &SlashCommand,
        case_id: CaseId,
        received_at: DateTime<Utc>,
    ) -> Self {
        Self {
            version: COMMAND_INVOCATION_VERSION,
            kind: InvocationKind::SlashCommand,
            command: Some(command.command.clone()),
            command_text: command.text.clone(),
            subcommand: subcommand_of(&command.text),
            team_id: command.team_id.clone(),
            user_id: command.user_id.clone(),
            user_name: command.user_name.clone(),
            channel_id: command.channel_id.clone(),
            case_id,
            response_url: command.response_url.clone(),
            trigger_id: command.trigger_id.clone(),
            action_id: None,
            action_value: None,
            block_id: None,
            message_ts: None,
            received_at,
            view_id: None,
            one_time_code: None,
        }
    }

    /// The invocation for a click on `action` in the channel `channel_id` of `case_id`.
    pub fn for_block_action(
        interaction: &BlockAction,
        action: &ActionItem,
        channel_id: &str,
        case_id: CaseId,
        received_at: DateTime<Utc>,
    ) -> Result<Self, ResponseUrlError> {
        let response_url = interaction.response_url.clone().ok_or(ResponseUrlError)?;
        let command_text = action.value.clone().unwrap_or_default();
        Ok(Self {
            version: COMMAND_INVOCATION_VERSION,
            kind: InvocationKind::BlockAction,
            command: None,
            subcommand: subcommand_of(&command_text),
            command_text,
            team_id: interaction.team_id.clone(),
            user_id: interaction.user_id.clone(),
            user_name: interaction.user_name.clone(),
            channel_id: channel_id.to_owned(),
            case_id,
            response_url,
            trigger_id: interaction.trigger_id.clone(),
            action_id: Some(action.action_id.clone()),
            action_value: action.value.clone(),
            block_id: action.block_id.clone(),
            message_ts: interaction.message_ts.clone(),
            received_at,
            view_id: None,
            one_time_code: None,
        })
    }

    /// The invocation for a submitted modal opened from a case message: `command_text` is the
    /// command line the form stands for (`update-title <text>`, Slack-escaped as a typed
    /// command is), `one_time_code` the code typed in its own field.
    pub fn for_view_submission(
        submission: &ViewSubmission,
        origin: CaseMessageOrigin,
        command_text: String,
        one_time_code: Option<Otp>,
        received_at: DateTime<Utc>,
    ) -> Self {
        Self {
            version: COMMAND_INVOCATION_VERSION,
            kind: InvocationKind::ViewSubmission,
            command: None,
            subcommand: subcommand_of(&command_text),
            command_text,
            team_id: submission.team_id.clone(),
            user_id: submission.user_id.clone(),
            user_name: submission.user_name.clone(),
            channel_id: origin.channel_id,
            case_id: origin.case_id,
            response_url: origin.response_url,
            trigger_id: None,
            action_id: None,
            action_value: None,
            block_id: None,
            message_ts: origin.message_ts,
            received_at,
            view_id: Some(submission.view.id.clone()),
            one_time_code,
        }
    }
}

/// The current [`DeclarationInvocation`] version. A consumer refuses versions it does not know.
pub const DECLARATION_INVOCATION_VERSION: u32 = 1;

/// The `kind` of a [`DeclarationInvocation`]: the command handler reads `kind` first and
/// decodes the payload by it (`slash_command` and `block_action` are [`CommandInvocation`]s).
pub const DECLARATION_KIND: &str = "declaration";

/// The one value of [`DeclarationInvocation::kind`], serialised as [`DECLARATION_KIND`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclarationKind {
    /// A submitted declare modal.
    #[default]
    Declaration,
}

/// The command handler's input for a submitted, valid declare modal (issue 19): create the
/// case in SIR. The events handler has verified the request, the workspace and the form
/// (`sirslack_mapper::declare::parse_declare_submission`); there is no case and no
/// `response_url` yet, so answers go to the person by Slack user ID.
///
/// ```json
/// {
///   "version": 1,
///   "kind": "declaration",
///   "view_id": "V0123ABCD",
///   "view_hash": "1767268800.abcd",
///   "team_id": "T0123ABCD",
///   "user_id": "U0123ABCD",
///   "user_name": "jane",
///   "declaration": {
///     "title": "Compromised IAM key",
///     "description": "Access key used from 203.0.113.7",
///     "engagement_type": "Security Incident",
///     "reported_start": "2026-12-05",
///     "impacted_accounts": ["111122223333"],
///     "impacted_regions": ["us-east-1"],
///     "impacted_services": [],
///     "threat_actor_ips": ["203.0.113.7"],
///     "resolver": "Self",
///     "aws_support_confirmed": false,
///     "watchers": ["U0BOBSMITH"]
///   },
///   "one_time_code": null,
///   "origin_channel_id": "C0123ABCD",
///   "received_at": "2026-12-06T12:00:00Z"
/// }
/// ```
///
/// `Debug` hides the one-time code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeclarationInvocation {
    /// [`DECLARATION_INVOCATION_VERSION`].
    pub version: u32,
    /// Always [`DeclarationKind::Declaration`] (`"declaration"`).
    pub kind: DeclarationKind,
    /// The submitted view's ID: the same for every submission of one modal, so it keys the
    /// idempotency of the declaration (one case per modal).
    pub view_id: String,
    /// The view's `hash`, when Slack sent one.
    #[serde(default)]
    pub view_hash: Option<String>,
    /// The workspace.
    pub team_id: String,
    /// Who declared.
    pub user_id: String,
    /// Their Slack user name, when Slack sent one.
    #[serde(default)]
    pub user_name: Option<String>,
    /// What to create.
    pub declaration: Declaration,
    /// The one-time code typed in the modal, if any.
    #[serde(default)]
    pub one_time_code: Option<Otp>,
    /// The channel the person started from (`/security-ir create`), if any.
    #[serde(default)]
    pub origin_channel_id: Option<String>,
    /// When the events handler received the submission.
    pub received_at: DateTime<Utc>,
}

impl DeclarationInvocation {
    /// The invocation for `declaration` submitted by `user_id` in the modal `view_id`; the
    /// optional fields (`view_hash`, `user_name`, `one_time_code`, `origin_channel_id`) start
    /// empty.
    pub fn new(
        view_id: impl Into<String>,
        team_id: impl Into<String>,
        user_id: impl Into<String>,
        declaration: Declaration,
        received_at: DateTime<Utc>,
    ) -> Self {
        Self {
            version: DECLARATION_INVOCATION_VERSION,
            kind: DeclarationKind::Declaration,
            view_id: view_id.into(),
            view_hash: None,
            team_id: team_id.into(),
            user_id: user_id.into(),
            user_name: None,
            declaration,
            one_time_code: None,
            origin_channel_id: None,
            received_at,
        }
    }
}

/// The `kind` of a [`HomeInvocation`].
pub const HOME_INVOCATION_KIND: &str = "home";

/// The payload that asks the command handler to publish a person's App Home tab (the events
/// handler sends it for `app_home_opened` with `tab: home`). The command handler builds the
/// tab because it holds what the tab shows beyond the cases: the command policy and whether
/// the person is enrolled for one-time codes.
///
/// ```json
/// {"version": 1, "kind": "home", "team_id": "T0123ABCD", "user_id": "U0123ABCD",
///  "received_at": "2026-01-01T12:00:00Z"}
/// ```
///
/// It names only the person: anyone able to forge one could only refresh that person's own
/// tab from that person's own channel memberships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeInvocation {
    /// [`COMMAND_INVOCATION_VERSION`].
    pub version: u32,
    /// Always [`HOME_INVOCATION_KIND`].
    pub kind: String,
    /// The workspace.
    pub team_id: String,
    /// The person who opened the tab.
    pub user_id: String,
    /// When the events handler got the event.
    pub received_at: DateTime<Utc>,
}

impl HomeInvocation {
    /// The invocation for `user_id` opening the Home tab in `team_id`.
    pub fn new(team_id: &str, user_id: &str, received_at: DateTime<Utc>) -> Self {
        Self {
            version: COMMAND_INVOCATION_VERSION,
            kind: HOME_INVOCATION_KIND.to_owned(),
            team_id: team_id.to_owned(),
            user_id: user_id.to_owned(),
            received_at,
        }
    }
}

/// The `kind` of a [`ForwardInvocation`].
pub const FORWARD_INVOCATION_KIND: &str = "forward";

/// The command handler's input for a submitted "Send to SIR case" modal (issue 19 item 2):
/// write the message to the case as one SIR comment and tell the case channel. The message
/// itself is not in the payload: the events handler kept it in the table under the modal's
/// ID when the shortcut opened the modal (`FORWARD#<viewId>`), and the command handler reads
/// it from there, so only what the shortcut delivered, signed by Slack, is ever sent.
///
/// ```json
/// {"version": 1, "kind": "forward", "view_id": "V0123ABCD", "team_id": "T0123ABCD",
///  "user_id": "U0123ABCD", "user_name": "jane", "case_id": "1234567890",
///  "note": "First alert of the wave", "received_at": "2026-12-06T12:00:00Z"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardInvocation {
    /// [`COMMAND_INVOCATION_VERSION`].
    pub version: u32,
    /// Always [`FORWARD_INVOCATION_KIND`].
    pub kind: String,
    /// The submitted modal: keys the kept message, the claim and the comment's client token
    /// (a double submit makes one comment).
    pub view_id: String,
    /// The workspace.
    pub team_id: String,
    /// Who sent the message to the case.
    pub user_id: String,
    /// Their Slack user name, when Slack sent one.
    #[serde(default)]
    pub user_name: Option<String>,
    /// The case chosen in the picker.
    pub case_id: CaseId,
    /// The note typed, if any.
    #[serde(default)]
    pub note: Option<String>,
    /// Whether the person ticked "Attach the message's files" (absent: no).
    #[serde(default)]
    pub attach_files: bool,
    /// When the events handler received the submission.
    pub received_at: DateTime<Utc>,
}

impl ForwardInvocation {
    /// The invocation for `user_id` sending the message kept under `view_id` to `case_id`.
    pub fn new(
        view_id: impl Into<String>,
        team_id: impl Into<String>,
        user_id: impl Into<String>,
        case_id: CaseId,
        received_at: DateTime<Utc>,
    ) -> Self {
        Self {
            version: COMMAND_INVOCATION_VERSION,
            kind: FORWARD_INVOCATION_KIND.to_owned(),
            view_id: view_id.into(),
            team_id: team_id.into(),
            user_id: user_id.into(),
            user_name: None,
            case_id,
            note: None,
            attach_files: false,
            received_at,
        }
    }
}

/// The scope of the command handler's claim of a submitted "Send to SIR case" modal.
pub const FORWARD_CLAIM_SCOPE: &str = "command";

/// The key of the command handler's claim of the modal `view_id` of `team_id` (in
/// [`FORWARD_CLAIM_SCOPE`]): done once the message is in SIR. The events handler reads it
/// before it attaches the message's files.
pub fn forward_claim_key(team_id: &str, view_id: &str) -> String {
    format!("forward#{team_id}#{view_id}")
}

/// The name of the events handler's lazy listener that attaches a forwarded message's files
/// to the case ([`ForwardFilesJob`]).
pub const LAZY_FORWARD_FILES: &str = "forward_files";

/// The lazy work the command handler hands the events handler once it has sent a message to a
/// case with "Attach the message's files" ticked. It names only the submission: the events
/// handler takes the files and the conversation from the message kept under the view
/// (`FORWARD#<viewId>`) and acts only when the command handler recorded that it sent that
/// message to that case and its claim of the submission is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardFilesJob {
    /// The submitted modal.
    pub view_id: String,
    /// The workspace.
    pub team_id: String,
    /// The case the message was sent to.
    pub case_id: CaseId,
}

/// The `kind` field of an invocation payload, to pick its type before decoding it.
pub fn invocation_kind(payload: &serde_json::Value) -> Option<&str> {
    payload.get("kind").and_then(serde_json::Value::as_str)
}

fn subcommand_of(text: &str) -> Option<String> {
    Command::parse(text)
        .ok()
        .map(|command| command.name().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn command(text: &str) -> SlashCommand {
        SlashCommand {
            command: "/security-ir".into(),
            text: text.into(),
            team_id: "T1".into(),
            user_id: "U1".into(),
            user_name: Some("jane".into()),
            channel_id: "C1".into(),
            channel_name: None,
            response_url: ResponseUrl::new("https://hooks.slack.com/commands/T1/1/secret"),
            trigger_id: Some("1.2.3".into()),
            api_app_id: None,
        }
    }

    #[test]
    fn round_trips_and_redacts() {
        let case_id: CaseId = "1234567890".parse().unwrap();
        let invocation =
            CommandInvocation::for_slash_command(&command("incident-details"), case_id, Utc::now());
        assert_eq!(invocation.subcommand.as_deref(), Some("summarize"));
        let json = serde_json::to_value(&invocation).unwrap();
        assert_eq!(json["kind"], "slash_command");
        assert_eq!(json["case_id"], "1234567890");
        assert_eq!(
            json["response_url"],
            "https://hooks.slack.com/commands/T1/1/secret"
        );
        let back: CommandInvocation = serde_json::from_value(json).unwrap();
        assert_eq!(back, invocation);
        let shown = format!("{invocation:?}");
        assert!(!shown.contains("hooks.slack.com"), "{shown}");
    }

    #[test]
    fn unparseable_text_has_no_subcommand_and_bad_case_ids_are_refused() {
        let case_id: CaseId = "1234567890".parse().unwrap();
        let invocation =
            CommandInvocation::for_slash_command(&command("frobnicate"), case_id, Utc::now());
        assert_eq!(invocation.subcommand, None);
        let mut json = serde_json::to_value(&invocation).unwrap();
        json["case_id"] = json!("not-a-case");
        assert!(serde_json::from_value::<CommandInvocation>(json).is_err());
    }

    #[test]
    fn declarations_travel_with_their_kind_and_hide_the_code() {
        let declaration = sirslack_domain::DeclarationDraft {
            title: "Compromised IAM key".into(),
            description: "Access key used".into(),
            engagement_type: Some("Security Incident".into()),
            reported_start: Some("2026-12-05".into()),
            impacted_accounts: "111122223333".into(),
            ..Default::default()
        }
        .into_declaration(chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap())
        .unwrap();
        let mut invocation =
            DeclarationInvocation::new("V0DECLARE1", "T1", "U1", declaration, Utc::now());
        invocation.one_time_code = Some(Otp::new("654321").unwrap());
        invocation.origin_channel_id = Some("C1".into());
        let json = serde_json::to_value(&invocation).unwrap();
        assert_eq!(json["kind"], DECLARATION_KIND);
        assert_eq!(json["version"], 1);
        assert_eq!(json["view_id"], "V0DECLARE1");
        assert_eq!(
            json["declaration"]["impacted_accounts"],
            json!(["111122223333"])
        );
        assert_eq!(json["one_time_code"], "654321");
        let back: DeclarationInvocation = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, invocation);
        assert!(!format!("{invocation:?}").contains("654321"));
        // A command invocation is not a declaration, and a bad code is refused.
        let mut other = json.clone();
        other["kind"] = json!("slash_command");
        assert!(serde_json::from_value::<DeclarationInvocation>(other).is_err());
        let mut bad_code = json;
        bad_code["one_time_code"] = json!("12345");
        assert!(serde_json::from_value::<DeclarationInvocation>(bad_code).is_err());
    }

    #[test]
    fn block_actions_need_a_response_url() {
        let case_id: CaseId = "1234567890".parse().unwrap();
        let mut interaction = BlockAction {
            team_id: "T1".into(),
            user_id: "U1".into(),
            user_name: None,
            channel_id: Some("C1".into()),
            message_ts: Some("1.1".into()),
            response_url: None,
            trigger_id: None,
            api_app_id: None,
            actions: vec![],
        };
        let action = ActionItem {
            action_id: "sirslack_close".into(),
            block_id: None,
            value: Some("close confirm".into()),
            kind: Some("button".into()),
        };
        assert_eq!(
            CommandInvocation::for_block_action(
                &interaction,
                &action,
                "C1",
                case_id.clone(),
                Utc::now()
            ),
            Err(ResponseUrlError)
        );
        interaction.response_url = Some(ResponseUrl::new("https://hooks.slack.com/actions/1"));
        let invocation =
            CommandInvocation::for_block_action(&interaction, &action, "C1", case_id, Utc::now())
                .unwrap();
        assert_eq!(invocation.kind, InvocationKind::BlockAction);
        assert_eq!(invocation.subcommand.as_deref(), Some("close"));
        assert_eq!(invocation.action_id.as_deref(), Some("sirslack_close"));
    }

    #[test]
    fn forwards_travel_with_their_kind() {
        let case_id: CaseId = "1234567890".parse().unwrap();
        let mut invocation = ForwardInvocation::new("V0FWD", "T1", "U1", case_id, Utc::now());
        invocation.note = Some("first alert".into());
        let json = serde_json::to_value(&invocation).unwrap();
        assert_eq!(invocation_kind(&json), Some(FORWARD_INVOCATION_KIND));
        assert_eq!(json["case_id"], "1234567890");
        let back: ForwardInvocation = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, invocation);
        let mut bad = json;
        bad["case_id"] = json!("../1");
        assert!(serde_json::from_value::<ForwardInvocation>(bad).is_err());
    }

    #[test]
    fn view_submissions_carry_their_view_and_code_apart_from_the_text() {
        let payload = json!({
            "type": "view_submission",
            "team": {"id": "T1"},
            "user": {"id": "U1", "username": "jane"},
            "view": {"id": "V0EDIT0001", "callback_id": "case_edit", "private_metadata": "",
                     "state": {"values": {}}},
        });
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        let parsed = crate::envelope::parse_inbound(
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
        );
        let Ok(crate::envelope::Inbound::ViewSubmission(submission)) = parsed else {
            panic!("{parsed:?}")
        };
        let origin = CaseMessageOrigin {
            channel_id: "C1".into(),
            case_id: "1234567890".parse().unwrap(),
            message_ts: Some("1.1".into()),
            response_url: ResponseUrl::new("https://hooks.slack.com/actions/secret"),
        };
        let invocation = CommandInvocation::for_view_submission(
            &submission,
            origin,
            "update-title Leaked key &lt;prod&gt; 123456".into(),
            Some(Otp::new("654321").unwrap()),
            Utc::now(),
        );
        assert_eq!(invocation.kind, InvocationKind::ViewSubmission);
        assert_eq!(invocation.subcommand.as_deref(), Some("update-title"));
        assert_eq!(invocation.view_id.as_deref(), Some("V0EDIT0001"));
        assert_eq!(invocation.trigger_id, None);
        let json = serde_json::to_value(&invocation).unwrap();
        assert_eq!(json["kind"], "view_submission");
        assert_eq!(json["one_time_code"], "654321");
        let back: CommandInvocation = serde_json::from_value(json).unwrap();
        assert_eq!(back, invocation);
        let shown = format!("{invocation:?}");
        assert!(
            !shown.contains("654321") && !shown.contains("secret"),
            "{shown}"
        );
        // A slash command's payload has neither field, and still reads.
        let slash = CommandInvocation::for_slash_command(
            &command("status"),
            "1234567890".parse().unwrap(),
            Utc::now(),
        );
        let json = serde_json::to_value(&slash).unwrap();
        assert!(json.get("view_id").is_none() && json.get("one_time_code").is_none());
    }
}
