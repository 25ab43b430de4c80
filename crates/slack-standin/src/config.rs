use std::net::{Ipv4Addr, SocketAddr};

/// Identity of the stand-in workspace and of the app's bot user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackStandinConfig {
    /// Workspace ID (`T...`), returned by `auth.test` and put on every object.
    pub team_id: String,
    /// Workspace display name (`auth.test` `team`).
    pub team_name: String,
    /// Workspace subdomain (`auth.test` `url` is `https://{team_domain}.slack.com/`).
    pub team_domain: String,
    /// The bot token accepted at start (`xoxb-...`). More can be set with
    /// [`crate::SlackStandin::set_valid_tokens`].
    pub bot_token: String,
    /// User ID of the bot user (`U...`); it is the author of everything the app posts.
    pub bot_user_id: String,
    /// Bot ID (`B...`) put on the bot's messages.
    pub bot_id: String,
    /// Name of the bot user.
    pub bot_name: String,
    /// App ID (`A...`).
    pub app_id: String,
    /// Where to listen. Keep it on loopback; port 0 picks a free port.
    pub bind_addr: SocketAddr,
    /// Largest body accepted on an `upload_url` (Slack's own limit is 1 GB).
    pub max_upload_bytes: usize,
    /// The bot token's scopes (every accepted token has them). Defaults to
    /// [`crate::DEFAULT_BOT_SCOPES`], the scopes of sirslack's app manifest.
    pub bot_scopes: Vec<String>,
}

impl Default for SlackStandinConfig {
    fn default() -> Self {
        Self {
            team_id: "T0STANDIN1".to_string(),
            team_name: "Stand-in Workspace".to_string(),
            team_domain: "standin".to_string(),
            bot_token: "xoxb-standin-bot-token".to_string(),
            bot_user_id: "U0STANDBOT".to_string(),
            bot_id: "B0STANDBOT".to_string(),
            bot_name: "sirslack".to_string(),
            app_id: "A0STANDAPP".to_string(),
            bind_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            max_upload_bytes: 1 << 30,
            bot_scopes: crate::rules::DEFAULT_BOT_SCOPES
                .iter()
                .map(|scope| (*scope).to_string())
                .collect(),
        }
    }
}
