//! The `/security-ir` slash-command grammar.
//!
//! ```text
//! /security-ir [help]
//! /security-ir status
//! /security-ir summarize                      (alias: incident-details)
//! /security-ir update-status <status> [code]
//! /security-ir update-title <text>
//! /security-ir update-description <text>
//! /security-ir close [confirm] [code]
//! ```
//!
//! Subcommands are case-insensitive. `[code]` is an optional 6-digit one-time password (TOTP)
//! the command handler may require for mutating commands. Title and description text is kept
//! exactly as typed apart from surrounding whitespace, newlines included. [`Command::parse`]
//! reads plain text: Slack's text (`&lt;` for `<`, markup for mentions) goes through
//! `sirslack_mapper::markup::parse_slash_command`, which unescapes it once and parses it.
//!
//! `close` on its own asks for confirmation. `close confirm` confirms. A one-time code also
//! confirms (`close 123456` is the same as `close confirm 123456`): typing a fresh code from an
//! authenticator is at least as deliberate as typing `confirm`.

use std::fmt;
use std::str::FromStr;

use crate::limits::{DESCRIPTION_MAX, TITLE_MAX};
use crate::status::{SelfManagedStatus, StatusParseError};
use crate::wire::preview;

/// The slash command as registered with Slack.
pub const SLASH_COMMAND: &str = "/security-ir";

/// The policy name of sending a Slack message to a case with the "Send to SIR case" message
/// shortcut (class mutating: it adds a comment to the case). Not a subcommand one types; the
/// command policy may name it like one.
pub const SEND_TO_CASE_SUBCOMMAND: &str = "send-to-case";

/// The help text, in Slack mrkdwn, with an example for every subcommand.
pub const USAGE: &str = "\
*`/security-ir` commands* (only in a case channel)
• `/security-ir status`: show the case status
  _e.g._ `/security-ir status`
• `/security-ir summarize`: show the case details (alias `incident-details`)
  _e.g._ `/security-ir summarize`
• `/security-ir update-status <status> [code]`: move the case to another status
  _e.g._ `/security-ir update-status containment`
  Statuses: `Submitted`; `Detection and Analysis` (`detection`, `analysis`, `triage`); \
`Containment, Eradication and Recovery` (`containment`, `eradication`, `recovery`, `cer`); \
`Post-incident Activities` (`post-incident`, `lessons-learned`, `pia`)
• `/security-ir update-title <text>`: change the case title (up to 300 characters)
  _e.g._ `/security-ir update-title Compromised IAM key in prod`
• `/security-ir update-description <text>`: replace the case description (up to 8,000 characters)
  _e.g._ `/security-ir update-description Access key AKIA... used from 203.0.113.7`
• `/security-ir close [confirm] [code]`: close the case (asks for confirmation first)
  _e.g._ `/security-ir close confirm`
• `/security-ir help`: show this help
`[code]` is the 6-digit code from your authenticator app, when your workspace requires one.";

const USAGE_STATUS: &str = "`/security-ir status`";
const USAGE_SUMMARIZE: &str = "`/security-ir summarize`";
const USAGE_UPDATE_STATUS: &str = "`/security-ir update-status <status> [code]`";
const USAGE_UPDATE_TITLE: &str = "`/security-ir update-title <text>`";
const USAGE_UPDATE_DESCRIPTION: &str = "`/security-ir update-description <text>`";
const USAGE_CLOSE: &str = "`/security-ir close [confirm] [code]`";

/// Why a string is not an [`Otp`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OtpError {
    /// The code is not exactly six ASCII digits.
    #[error("a one-time code is exactly 6 digits")]
    NotSixDigits,
}

/// A one-time password typed after a command: exactly 6 ASCII digits.
///
/// `Debug` hides the digits so a code never reaches a log by accident; read it with
/// [`Otp::as_str`] only to verify it. Its serde form is the digits (validated when read), for
/// the declaration invocation that carries a code typed in the declare modal.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Otp(String);

impl TryFrom<String> for Otp {
    type Error = OtpError;

    fn try_from(code: String) -> Result<Self, Self::Error> {
        Self::new(&code)
    }
}

impl From<Otp> for String {
    fn from(otp: Otp) -> Self {
        otp.0
    }
}

impl Otp {
    /// Validates a code.
    pub fn new(code: &str) -> Result<Self, OtpError> {
        if Self::looks_like(code) {
            Ok(Self(code.to_owned()))
        } else {
            Err(OtpError::NotSixDigits)
        }
    }

    /// The digits, for verification.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn looks_like(token: &str) -> bool {
        token.len() == 6 && token.bytes().all(|b| b.is_ascii_digit())
    }
}

impl fmt::Debug for Otp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Otp(******)")
    }
}

impl FromStr for Otp {
    type Err = OtpError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Self::new(code)
    }
}

/// How much a command can change, for the authorization policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommandClass {
    /// Reads the case only: `status`, `summarize`, `help`.
    ReadOnly,
    /// Changes the case: `update-status`, `update-title`, `update-description`.
    Mutating,
    /// Closes the case, which cannot be undone from Slack.
    Close,
}

/// A parsed `/security-ir` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Show the case status.
    Status,
    /// Move the case to another self-managed status.
    UpdateStatus {
        /// The requested status.
        status: SelfManagedStatus,
        /// The one-time code, when one was typed.
        otp: Option<Otp>,
    },
    /// Change the title.
    UpdateTitle {
        /// The new title: trimmed, 1 to [`TITLE_MAX`] characters.
        title: String,
    },
    /// Replace the description.
    UpdateDescription {
        /// The new description: trimmed, 1 to [`DESCRIPTION_MAX`] characters.
        description: String,
    },
    /// Close the case.
    Close {
        /// Whether the person confirmed (`confirm`, or a one-time code).
        confirmed: bool,
        /// The one-time code, when one was typed.
        otp: Option<Otp>,
    },
    /// Show the case details.
    Summarize,
    /// Show [`USAGE`].
    Help,
}

/// Why a command line could not be parsed. Every message is one line meant for the person who
/// typed the command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// No such subcommand; show [`USAGE`] with the error.
    #[error("`{name}` is not a /security-ir command. Try `/security-ir help`.")]
    UnknownSubcommand {
        /// A short preview of what was typed.
        name: String,
    },
    /// The subcommand needs an argument.
    #[error("`{subcommand}` needs more. Usage: {usage}")]
    MissingArgument {
        /// The subcommand's name.
        subcommand: &'static str,
        /// How to call it.
        usage: &'static str,
    },
    /// The title is too long.
    #[error("The title has {len} characters; the limit is {max}.")]
    TitleTooLong {
        /// Characters typed.
        len: usize,
        /// Characters allowed.
        max: usize,
    },
    /// The description is too long.
    #[error("The description has {len} characters; the limit is {max}.")]
    DescriptionTooLong {
        /// Characters typed.
        len: usize,
        /// Characters allowed.
        max: usize,
    },
    /// The text after `update-status` is not a status that can be set.
    #[error(transparent)]
    Status(#[from] StatusParseError),
    /// The subcommand takes no such argument.
    #[error("`{subcommand}` does not take `{argument}`. Usage: {usage}")]
    UnexpectedArgument {
        /// The subcommand's name.
        subcommand: &'static str,
        /// A short preview of the unexpected text.
        argument: String,
        /// How to call it.
        usage: &'static str,
    },
}

impl CommandError {
    /// Whether the person should be shown [`USAGE`] along with this error.
    pub fn should_show_usage(&self) -> bool {
        matches!(self, Self::UnknownSubcommand { .. })
    }
}

impl Command {
    /// Parses the text Slack sends after `/security-ir`.
    ///
    /// Never panics; every failure is a [`CommandError`] whose message can be shown as is.
    pub fn parse(text: &str) -> Result<Self, CommandError> {
        let text = text.trim();
        let (name, rest) = match text.find(char::is_whitespace) {
            Some(at) => (&text[..at], text[at..].trim()),
            None => (text, ""),
        };
        match name.to_ascii_lowercase().as_str() {
            "" | "help" => Ok(Self::Help),
            "status" => no_argument(Self::Status, rest),
            "summarize" | "incident-details" => no_argument(Self::Summarize, rest),
            "update-status" => parse_update_status(rest),
            "update-title" => {
                let title = required_text(rest, "update-title", USAGE_UPDATE_TITLE, TITLE_MAX)
                    .map_err(|error| {
                        error.into_command_error(|len, max| CommandError::TitleTooLong { len, max })
                    })?;
                Ok(Self::UpdateTitle { title })
            }
            "update-description" => {
                let description = required_text(
                    rest,
                    "update-description",
                    USAGE_UPDATE_DESCRIPTION,
                    DESCRIPTION_MAX,
                )
                .map_err(|error| {
                    error.into_command_error(|len, max| CommandError::DescriptionTooLong {
                        len,
                        max,
                    })
                })?;
                Ok(Self::UpdateDescription { description })
            }
            "close" => parse_close(rest),
            _ => Err(CommandError::UnknownSubcommand {
                name: preview(name),
            }),
        }
    }

    /// One command of each subcommand but `help`, in the order of [`USAGE`], with placeholder
    /// arguments: what a policy decides per subcommand (the Home tab lists the person's rights
    /// with them).
    pub fn examples() -> [Self; 6] {
        [
            Self::Status,
            Self::Summarize,
            Self::UpdateStatus {
                status: SelfManagedStatus::ContainmentEradicationAndRecovery,
                otp: None,
            },
            Self::UpdateTitle {
                title: "title".to_owned(),
            },
            Self::UpdateDescription {
                description: "description".to_owned(),
            },
            Self::Close {
                confirmed: false,
                otp: None,
            },
        ]
    }

    /// The subcommand's canonical name (`summarize` for `incident-details`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::UpdateStatus { .. } => "update-status",
            Self::UpdateTitle { .. } => "update-title",
            Self::UpdateDescription { .. } => "update-description",
            Self::Close { .. } => "close",
            Self::Summarize => "summarize",
            Self::Help => "help",
        }
    }

    /// How much the command can change.
    pub fn class(&self) -> CommandClass {
        match self {
            Self::Status | Self::Summarize | Self::Help => CommandClass::ReadOnly,
            Self::UpdateStatus { .. }
            | Self::UpdateTitle { .. }
            | Self::UpdateDescription { .. } => CommandClass::Mutating,
            Self::Close { .. } => CommandClass::Close,
        }
    }

    /// Whether the command changes the case (closing included).
    pub fn is_mutating(&self) -> bool {
        self.class() != CommandClass::ReadOnly
    }

    /// The one-time code typed with the command, if any.
    pub fn otp(&self) -> Option<&Otp> {
        match self {
            Self::UpdateStatus { otp, .. } | Self::Close { otp, .. } => otp.as_ref(),
            _ => None,
        }
    }

    /// For `update-title` and `update-description`, whose free text could end in six digits:
    /// the command without its last word and that word as a one-time code, when the last word
    /// is six digits and some text is left before it. Used only when a code is required for the
    /// subcommand (then the last word is always the code); otherwise the text is kept whole.
    pub fn split_trailing_code(&self) -> Option<(Command, Otp)> {
        let text = match self {
            Self::UpdateTitle { title } => title,
            Self::UpdateDescription { description } => description,
            _ => return None,
        };
        let last = text.split_whitespace().next_back()?;
        if !Otp::looks_like(last) {
            return None;
        }
        let otp = Otp::new(last).ok()?;
        let rest = text[..text.len() - last.len()].trim_end().to_owned();
        if rest.is_empty() {
            return None;
        }
        let command = match self {
            Self::UpdateTitle { .. } => Self::UpdateTitle { title: rest },
            _ => Self::UpdateDescription { description: rest },
        };
        Some((command, otp))
    }
}

impl FromStr for Command {
    type Err = CommandError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

fn no_argument(command: Command, rest: &str) -> Result<Command, CommandError> {
    if rest.is_empty() {
        return Ok(command);
    }
    let usage = match command {
        Command::Summarize => USAGE_SUMMARIZE,
        _ => USAGE_STATUS,
    };
    Err(CommandError::UnexpectedArgument {
        subcommand: command.name(),
        argument: preview(rest),
        usage,
    })
}

/// Why free text after a subcommand was refused.
enum TextError {
    Missing {
        subcommand: &'static str,
        usage: &'static str,
    },
    TooLong {
        len: usize,
        max: usize,
    },
}

impl TextError {
    /// The command error, with `too_long` building the field-specific one.
    fn into_command_error(self, too_long: fn(usize, usize) -> CommandError) -> CommandError {
        match self {
            Self::Missing { subcommand, usage } => {
                CommandError::MissingArgument { subcommand, usage }
            }
            Self::TooLong { len, max } => too_long(len, max),
        }
    }
}

/// The (already trimmed) text if it has 1 to `max` characters.
fn required_text(
    rest: &str,
    subcommand: &'static str,
    usage: &'static str,
    max: usize,
) -> Result<String, TextError> {
    if rest.is_empty() {
        return Err(TextError::Missing { subcommand, usage });
    }
    // Limits are in characters, not bytes: an accented title must not be cut short.
    let len = rest.chars().count();
    if len > max {
        Err(TextError::TooLong { len, max })
    } else {
        Ok(rest.to_owned())
    }
}

fn parse_update_status(rest: &str) -> Result<Command, CommandError> {
    let mut words: Vec<&str> = rest.split_whitespace().collect();
    let otp = match words.last() {
        Some(last) if Otp::looks_like(last) => {
            let otp = Otp::new(last).ok();
            words.pop();
            otp
        }
        _ => None,
    };
    if words.is_empty() {
        return Err(CommandError::MissingArgument {
            subcommand: "update-status",
            usage: USAGE_UPDATE_STATUS,
        });
    }
    let status = SelfManagedStatus::parse_friendly(&words.join(" "))?;
    Ok(Command::UpdateStatus { status, otp })
}

fn parse_close(rest: &str) -> Result<Command, CommandError> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let unexpected = |argument: &str| CommandError::UnexpectedArgument {
        subcommand: "close",
        argument: preview(argument),
        usage: USAGE_CLOSE,
    };
    let is_confirm = |word: &str| word.eq_ignore_ascii_case("confirm");
    let (confirm_word, code) = match words.as_slice() {
        [] => (false, None),
        [word] if is_confirm(word) => (true, None),
        [code] => (false, Some(*code)),
        [word, code] if is_confirm(word) => (true, Some(*code)),
        _ => return Err(unexpected(rest)),
    };
    let otp = match code {
        Some(code) => Some(Otp::new(code).map_err(|_| unexpected(code))?),
        None => None,
    };
    Ok(Command::Close {
        confirmed: confirm_word || otp.is_some(),
        otp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use SelfManagedStatus as S;

    fn otp(code: &str) -> Option<Otp> {
        Some(Otp::new(code).unwrap())
    }

    #[test]
    fn help_and_read_only_commands() {
        assert_eq!(Command::parse(""), Ok(Command::Help));
        assert_eq!(Command::parse("   "), Ok(Command::Help));
        assert_eq!(Command::parse("HELP"), Ok(Command::Help));
        assert_eq!(Command::parse("help update-status"), Ok(Command::Help));
        assert_eq!(Command::parse(" Status "), Ok(Command::Status));
        assert_eq!(Command::parse("summarize"), Ok(Command::Summarize));
        assert_eq!(Command::parse("incident-details"), Ok(Command::Summarize));
        assert_eq!(
            Command::parse("Incident-Details").unwrap().name(),
            "summarize"
        );
    }

    #[test]
    fn read_only_commands_refuse_arguments() {
        let err = Command::parse("status detection").unwrap_err();
        assert!(matches!(
            &err,
            CommandError::UnexpectedArgument { subcommand: "status", argument, .. } if argument == "detection"
        ));
        assert!(err.to_string().contains("/security-ir status"), "{err}");
    }

    #[test]
    fn update_status_with_words_and_code() {
        assert_eq!(
            Command::parse("update-status containment"),
            Ok(Command::UpdateStatus {
                status: S::ContainmentEradicationAndRecovery,
                otp: None
            })
        );
        assert_eq!(
            Command::parse("Update-Status Detection and Analysis 123456"),
            Ok(Command::UpdateStatus {
                status: S::DetectionAndAnalysis,
                otp: otp("123456")
            })
        );
        assert_eq!(
            Command::parse("update-status Containment, Eradication and Recovery"),
            Ok(Command::UpdateStatus {
                status: S::ContainmentEradicationAndRecovery,
                otp: None
            })
        );
        assert!(matches!(
            Command::parse("update-status"),
            Err(CommandError::MissingArgument {
                subcommand: "update-status",
                ..
            })
        ));
        assert!(matches!(
            Command::parse("update-status 123456"),
            Err(CommandError::MissingArgument { .. })
        ));
        assert!(matches!(
            Command::parse("update-status resolved"),
            Err(CommandError::Status(StatusParseError::Unknown { .. }))
        ));
        assert!(matches!(
            Command::parse("update-status acknowledged"),
            Err(CommandError::Status(
                StatusParseError::NotSelfManaged { .. }
            ))
        ));
        // A code that is not 6 digits is part of the status words, which then do not parse.
        assert!(Command::parse("update-status pia 12345").is_err());
    }

    #[test]
    fn update_title_keeps_text_and_counts_characters() {
        assert_eq!(
            Command::parse("update-title   New *title* <@U123> \n"),
            Ok(Command::UpdateTitle {
                title: "New *title* <@U123>".to_owned()
            })
        );
        let exactly = "é".repeat(TITLE_MAX);
        assert_eq!(
            Command::parse(&format!("update-title {exactly}")),
            Ok(Command::UpdateTitle { title: exactly })
        );
        assert_eq!(
            Command::parse(&format!("update-title {}", "a".repeat(TITLE_MAX + 1))),
            Err(CommandError::TitleTooLong {
                len: TITLE_MAX + 1,
                max: TITLE_MAX
            })
        );
        assert!(matches!(
            Command::parse("update-title   "),
            Err(CommandError::MissingArgument {
                subcommand: "update-title",
                ..
            })
        ));
    }

    #[test]
    fn update_description_keeps_lines() {
        assert_eq!(
            Command::parse("update-description\nline one\n\nline two"),
            Ok(Command::UpdateDescription {
                description: "line one\n\nline two".to_owned()
            })
        );
        assert_eq!(
            Command::parse(&format!(
                "update-description {}",
                "x".repeat(DESCRIPTION_MAX + 5)
            )),
            Err(CommandError::DescriptionTooLong {
                len: DESCRIPTION_MAX + 5,
                max: DESCRIPTION_MAX
            })
        );
        assert!(Command::parse("update-description").is_err());
    }

    #[test]
    fn close_forms() {
        assert_eq!(
            Command::parse("close"),
            Ok(Command::Close {
                confirmed: false,
                otp: None
            })
        );
        assert_eq!(
            Command::parse("close CONFIRM"),
            Ok(Command::Close {
                confirmed: true,
                otp: None
            })
        );
        assert_eq!(
            Command::parse("close confirm 123456"),
            Ok(Command::Close {
                confirmed: true,
                otp: otp("123456")
            })
        );
        assert_eq!(
            Command::parse("close 654321"),
            Ok(Command::Close {
                confirmed: true,
                otp: otp("654321")
            })
        );
        for bad in [
            "close now",
            "close confirm 12345",
            "close confirm 123456 extra",
            "close 123456 confirm",
        ] {
            assert!(
                matches!(
                    Command::parse(bad),
                    Err(CommandError::UnexpectedArgument {
                        subcommand: "close",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_subcommand() {
        let err = Command::parse("resolve now").unwrap_err();
        assert_eq!(
            err,
            CommandError::UnknownSubcommand {
                name: "resolve".to_owned()
            }
        );
        assert!(err.should_show_usage());
        assert!(err.to_string().contains("/security-ir help"));
    }

    #[test]
    fn classes() {
        assert_eq!(Command::Status.class(), CommandClass::ReadOnly);
        assert!(!Command::Help.is_mutating());
        let title = Command::parse("update-title x").unwrap();
        assert_eq!(title.class(), CommandClass::Mutating);
        let close = Command::parse("close confirm 123456").unwrap();
        assert_eq!(close.class(), CommandClass::Close);
        assert!(close.is_mutating());
        assert_eq!(close.otp().map(Otp::as_str), Some("123456"));
    }

    #[test]
    fn otp_is_six_ascii_digits_and_hidden_from_debug() {
        assert!(Otp::new("000000").is_ok());
        for bad in ["12345", "1234567", "12345a", "١٢٣٤٥٦", ""] {
            assert_eq!(Otp::new(bad), Err(OtpError::NotSixDigits), "{bad}");
        }
        let debug = format!("{:?}", Command::parse("close 123456").unwrap());
        assert!(!debug.contains("123456"), "{debug}");
    }

    #[test]
    fn usage_has_an_example_for_every_subcommand() {
        for name in [
            "status",
            "summarize",
            "update-status",
            "update-title",
            "update-description",
            "close",
        ] {
            let example = format!("_e.g._ `/security-ir {name}");
            assert!(USAGE.contains(&example), "{name}");
        }
        assert!(USAGE.contains("incident-details"));
        assert!(USAGE.contains("`/security-ir help`"));
    }

    #[test]
    fn every_usage_example_parses() {
        for line in USAGE.lines().filter(|line| line.contains("_e.g._")) {
            let example = line
                .split('`')
                .nth(1)
                .and_then(|command| command.strip_prefix("/security-ir"))
                .unwrap();
            assert!(Command::parse(example).is_ok(), "{example}");
        }
    }

    #[test]
    fn a_trailing_code_is_split_from_title_and_description_text_only_on_request() {
        let title = Command::parse("update-title Leaked key in prod 123456").unwrap();
        // Parsing keeps the digits: without a code requirement they are part of the title.
        assert_eq!(
            title,
            Command::UpdateTitle {
                title: "Leaked key in prod 123456".into()
            }
        );
        let (without, code) = title.split_trailing_code().unwrap();
        assert_eq!(
            without,
            Command::UpdateTitle {
                title: "Leaked key in prod".into()
            }
        );
        assert_eq!(code.as_str(), "123456");
        let description =
            Command::parse("update-description line one\nline two\n 654321 ").unwrap();
        let (without, code) = description.split_trailing_code().unwrap();
        assert_eq!(
            without,
            Command::UpdateDescription {
                description: "line one\nline two".into()
            }
        );
        assert_eq!(code.as_str(), "654321");
        // Nothing left, not six digits, or another subcommand: no split.
        for text in [
            "update-title 123456",
            "update-title Case 12345",
            "update-title Case 1234567",
            "update-status containment 123456",
            "close 123456",
        ] {
            assert_eq!(
                Command::parse(text).unwrap().split_trailing_code(),
                None,
                "{text}"
            );
        }
    }
}
