//! The thin Slack Web API adapter shared by sirslack's functions.
//!
//! - [`SlackApi`]: slack-morphism's client over hyper-rustls (aws-lc-rs, native roots), with a
//!   configurable API URL (plain `http` allowed, for the local stand-in), plus a raw HTTP
//!   client on the same connection pool for file transfers;
//! - [`SlackSession`]: the calls sirslack makes, each retried per a [`RetryPolicy`]: 429 waits
//!   `Retry-After`, 5xx and network failures back off exponentially with jitter, and
//!   everything else returns at once, classified by [`ErrorClass`];
//! - [`FileHosts`]: where a file download may send the bot token (Slack's file hosts over
//!   `https`, every redirect hop checked);
//! - [`Person`]: how a Slack person is named (`users.info`, read one way for every function);
//! - [`ChannelPacer`]: Slack's ~1 message per second per channel inside one process;
//! - [`BotToken`] and [`BotTokenSource`]: the bot token read from SSM through the shared
//!   [`ParameterCache`] (`sirslack-cache`) once per container and cached with a TTL, never
//!   logged.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use sirslack_slack_api::{BotToken, SlackApi};
//!
//! let slack = SlackApi::new(Some("http://127.0.0.1:3000/api"))?;
//! let token = BotToken::new("xoxb-...");
//! let session = slack.session(&token);
//! let me = session.auth_test().await?;
//! println!("bot user {}", me.user_id);
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod error;
pub mod file_hosts;
pub mod http;
mod pacer;
mod person;
mod retry;
mod ssm;
mod token;

pub use client::{
    AuthIdentity, ChannelInfo, DEFAULT_CHANNEL_POST_INTERVAL, DEFAULT_SLACK_API_URL, Download,
    InviteOutcome, MAX_DOWNLOAD_REDIRECTS, MAX_INVITEES_PER_CALL, SetupError, SlackApi,
    SlackApiBuilder, SlackConnector, SlackSession, SlackUser, TextValue, UploadTarget, bytes_body,
    stream_body,
};
pub use error::{ErrorClass, SlackApiError};
pub use file_hosts::{FileHostRefused, FileHosts, SLACK_FILE_HOSTS};
pub use pacer::ChannelPacer;
pub use person::Person;
pub use retry::{Deadline, RetryPolicy};
/// The cache and error [`BotTokenSource`] is built on and answers with (from `sirslack-cache`).
pub use sirslack_cache::{ParameterCache, ParameterError};
pub use ssm::BotTokenSource;
pub use token::BotToken;
