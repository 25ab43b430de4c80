//! The pure case model of sirslack.
//!
//! Everything the integration needs to *decide* things lives here, with no I/O, no async and no
//! AWS or Slack SDK types, so that every other crate (mapper, poller, Slack client, events
//! handler, command handler) shares one vocabulary and one set of rules:
//!
//! - [`case`]: case identifiers, the case model and its wire-string enums, comment authors;
//! - [`status`]: case statuses, the self-managed subset and the allowed transitions;
//! - [`channel`]: Slack channel names for cases;
//! - [`command`]: the `/security-ir` slash-command grammar;
//! - [`declaration`]: declaring a new case from Slack, with per-field validation;
//! - [`duration`]: the one conversion between `std` and `chrono` durations (saturating);
//! - [`marker`]: the `[Slack Update]` loop marker and every SIR comment the integration writes;
//! - [`limits`]: service limits of SIR, Slack and EventBridge, and SIR file names;
//! - [`events`]: the versioned integration event contract and case diffing;
//! - [`announced`]: changes the command that made them announced already, so the Slack client
//!   does not announce them again.
//!
//! Every parser returns a typed error and never panics on any input.
//!
//! ```
//! use sirslack_domain::{CaseId, ChannelNamer, Command, SelfManagedStatus};
//! use sirslack_domain::status::{CaseStatus, check_transition};
//!
//! let case_id = CaseId::from_arn("arn:aws:security-ir:us-east-1:123456789012:case/1234567890")?;
//! assert_eq!(
//!     ChannelNamer::default().name_for(&case_id),
//!     "aws-security-incident-response-case-1234567890"
//! );
//!
//! let command = Command::parse("update-status containment 123456")?;
//! let Command::UpdateStatus { status, .. } = command else { unreachable!() };
//! assert_eq!(status, SelfManagedStatus::ContainmentEradicationAndRecovery);
//! check_transition(&CaseStatus::DetectionAndAnalysis, status)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[macro_use]
mod wire;

pub mod announced;
pub mod case;
pub mod channel;
pub mod command;
pub mod declaration;
pub mod duration;
pub mod events;
pub mod limits;
pub mod marker;
pub mod status;

pub use case::{
    Attachment, AttachmentStatus, Case, CaseId, CaseIdError, CaseInChannel, ClosureCode, Comment,
    CommentId, CommentIdError, EngagementType, PendingAction, ResolverType, ThreatActorIp, Watcher,
    author_display,
};
pub use channel::{ChannelNameError, ChannelNamer, is_valid_channel_name};
pub use command::{Command, CommandClass, CommandError, Otp, OtpError};
pub use declaration::{Declaration, DeclarationDraft, DeclarationErrors, DeclarationField};
pub use events::{
    CaseDetails, CaseDiff, EventError, EventPayload, FieldChange, IntegrationEvent, diff_case,
};
pub use status::{CaseStatus, SelfManagedStatus, StatusParseError, TransitionError};
