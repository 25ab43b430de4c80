//! An in-process stand-in for the Slack Web API, plus a signer for the requests Slack sends to an
//! app (Events API, slash commands, interactivity).
//!
//! The stand-in is an HTTP server on `127.0.0.1` that answers the Web API methods this project
//! uses with Slack's real envelopes (`{"ok":true,...}`, `{"ok":false,"error":"..."}` with HTTP 200,
//! HTTP 429 with `Retry-After`), accepts JSON, form-encoded and multipart bodies and query strings,
//! checks the bearer token, records every call, and lets a test seed and inspect the workspace
//! and inject faults. Any Slack client, including `slack-morphism`, can be pointed at
//! [`SlackStandin::api_url`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), slack_standin::StandinError> {
//! use slack_standin::{SlackStandin, SlackStandinConfig};
//! let slack = SlackStandin::start(SlackStandinConfig::default()).await?;
//! let api_url = slack.api_url(); // "http://127.0.0.1:PORT/api"
//! # let _ = api_url;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod config;
mod error;
mod feed;
mod ids;
mod methods;
mod multipart;
mod params;
mod records;
pub mod rules;
mod server;
pub mod signing;
pub mod text;
mod views;
mod world;

pub use config::SlackStandinConfig;
pub use error::StandinError;
pub use feed::WorkspaceEvent;
pub use records::{RecordedCall, ResponsePost};
pub use rules::{DEFAULT_BOT_SCOPES, Tier};
pub use server::SlackStandin;
pub use views::{MAX_VIEW_STACK, OpenView, TRIGGER_TTL, ViewAnswer};
pub use world::{
    ChannelSnapshot, EphemeralMessage, FileSnapshot, Message, SeedChannel, SeedFile, SeedUser,
    SeededFile,
};

/// Method name recorded for a POST of file bytes to an `upload_url`.
pub const UPLOAD_CALL: &str = "upload";
/// Method name recorded for a GET of a file's `url_private_download` / `url_private`.
pub const DOWNLOAD_CALL: &str = "download";
/// Method name recorded for a POST to a `response_url`.
pub const RESPONSE_URL_CALL: &str = "response_url";
