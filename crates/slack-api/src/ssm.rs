//! Where the bot token comes from: an SSM parameter read through the shared
//! [`ParameterCache`] (read once per container, kept for a TTL, re-read at once after Slack
//! rejected it), or a fixed token in local runs and tests.

use sirslack_cache::{ParameterCache, ParameterError};

use crate::token::BotToken;

/// Where the bot token comes from.
#[derive(Debug, Clone)]
pub enum BotTokenSource {
    /// An SSM parameter (a SecureString), read through a [`ParameterCache`].
    Ssm {
        /// The cache.
        cache: ParameterCache,
        /// The parameter name, e.g. `/SecurityIncidentResponse/slackBotToken`.
        name: String,
    },
    /// A fixed token (local runs and tests).
    Fixed(BotToken),
}

impl BotTokenSource {
    /// The token read from the SSM parameter `name` through `cache`.
    pub fn ssm(cache: ParameterCache, name: impl Into<String>) -> Self {
        Self::Ssm {
            cache,
            name: name.into(),
        }
    }

    /// The current token.
    pub async fn token(&self) -> Result<BotToken, ParameterError> {
        match self {
            Self::Ssm { cache, name } => Ok(BotToken::new(cache.get(name).await?.as_ref())),
            Self::Fixed(token) => Ok(token.clone()),
        }
    }

    /// Slack rejected the token: the next use re-reads it, so a rotation takes effect at once.
    pub fn invalidate(&self) {
        if let Self::Ssm { cache, name } = self {
            cache.invalidate(name);
        }
    }
}
