//! Pure translations between the SIR API, the sirslack domain and Slack.
//!
//! - [`sir`]: SIR SDK responses to domain types, and domain values to SDK inputs;
//! - [`markup`]: Slack message markup to plain text, and plain text escaped for Slack;
//! - [`split`]: splitting long text to SIR's and Slack's limits;
//! - [`filename`]: file names SIR accepts;
//! - [`blocks`]: the one set of Block Kit building blocks (typed for messages, JSON for views)
//!   and the small texts they show (dates, byte sizes);
//! - [`slack`]: domain facts rendered as Slack Block Kit messages, topics and purposes;
//! - [`declare`]: the "Declare a security incident" modal and its submission;
//! - [`edit`]: the case message's Edit title / Edit description modals and their submission;
//! - [`home`]: the App Home tab (the open cases whose channel a person is in);
//! - [`forward`]: the "Send to SIR case" modal, its case picker and submission.
//!
//! No I/O and no async: every function is a total function or returns a typed error, and
//! nothing panics on any input.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod blocks;
pub mod declare;
pub mod edit;
pub mod filename;
pub mod forward;
pub mod home;
pub mod markup;
pub mod sir;
pub mod slack;
pub mod split;
