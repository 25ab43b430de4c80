//! The two HTTP conversations the CLI has: Slack's `auth.test`, and requests to the deployed
//! endpoint signed the way Slack signs them.

use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use sha2::Sha256;

use crate::validate::Secret;

/// Environment variable that points the CLI at another Slack Web API (a local stand-in).
pub const SLACK_API_URL_ENV: &str = "SLACK_API_URL";
/// Slack's Web API.
pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api";

/// How long one HTTP exchange may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// An HTTPS client (rustls with aws-lc-rs and the system's roots) that also speaks plain HTTP,
/// which only local stand-ins use.
#[derive(Clone)]
pub struct Http {
    client: HttpClient,
}

/// A response: status and body.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Http {
    pub fn new() -> anyhow::Result<Self> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .context("loading the system's root certificates")?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// Sends one POST and reads the whole answer.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> anyhow::Result<HttpResponse> {
        let mut request = Request::builder().method(Method::POST).uri(url);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .with_context(|| format!("building a request to {url}"))?;
        let exchange = async {
            let response = self.client.request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, anyhow::Error>(HttpResponse { status, body })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| anyhow!("no answer from {url} within {REQUEST_TIMEOUT:?}"))?
            .with_context(|| format!("POST {url}"))
    }
}

/// Who a bot token belongs to, from `auth.test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotIdentity {
    pub team_id: String,
    pub team: String,
    /// The bot user's name.
    pub user: String,
    /// The bot user's ID (`U...`): what channel memberships belong to.
    pub user_id: String,
    /// The bot's ID (`B...`), from which `bots.info` gives the app's ID.
    pub bot_id: Option<String>,
}

impl std::fmt::Display for BotIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "workspace {} ({}), bot user {}",
            self.team_id, self.team, self.user
        )
    }
}

impl BotIdentity {
    /// Whether a token of `self` can replace the stored token of `stored`: the same workspace
    /// and the same bot user, whose channel memberships are the integration's. `Err` says
    /// plainly why not.
    pub fn same_bot_as(&self, stored: &BotIdentity) -> Result<(), String> {
        if self.team_id != stored.team_id {
            return Err(format!(
                "the new bot token belongs to workspace {} ({}), the stored one to {} ({}): use the Bot User OAuth Token of the app installed in {}",
                self.team_id, self.team, stored.team_id, stored.team, stored.team_id
            ));
        }
        if self.user_id != stored.user_id {
            return Err(format!(
                "the new bot token is for bot user {} ({}), the stored one for {} ({}): it belongs to another Slack app, whose bot is in none of the case channels, so the integration could no longer post in them. Use the Bot User OAuth Token of this deployment's app (OAuth & Permissions; reinstalling that app keeps its bot user)",
                self.user, self.user_id, stored.user, stored.user_id
            ));
        }
        Ok(())
    }
}

/// Why `auth.test` did not confirm a token.
#[derive(Debug, thiserror::Error)]
pub enum AuthTestError {
    /// Slack answered `ok: false`.
    #[error("Slack rejected the bot token ({code}){hint}")]
    Rejected { code: String, hint: &'static str },
    /// Slack could not be asked, or answered something else.
    #[error("could not check the bot token with Slack auth.test: {0:#}")]
    Unreachable(anyhow::Error),
}

#[derive(Deserialize)]
struct AuthTestResponse {
    ok: bool,
    error: Option<String>,
    team_id: Option<String>,
    team: Option<String>,
    user: Option<String>,
    user_id: Option<String>,
    bot_id: Option<String>,
}

#[derive(Deserialize)]
struct BotsInfoResponse {
    ok: bool,
    error: Option<String>,
    bot: Option<BotsInfoBot>,
}

#[derive(Deserialize)]
struct BotsInfoBot {
    app_id: Option<String>,
}

/// The Slack Web API methods the CLI calls.
#[derive(Clone)]
pub struct SlackApi {
    http: Http,
    api_url: String,
}

impl SlackApi {
    pub fn new(http: Http, api_url: impl Into<String>) -> Self {
        Self {
            http,
            api_url: api_url.into().trim_end_matches('/').to_string(),
        }
    }

    /// `SLACK_API_URL` when set, else Slack's own.
    pub fn api_url_from_env() -> String {
        std::env::var(SLACK_API_URL_ENV)
            .ok()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_SLACK_API_URL.to_string())
    }

    /// POSTs the form `body` to Web API `method` with the bot token.
    async fn call(
        &self,
        token: &Secret,
        method: &str,
        body: String,
    ) -> anyhow::Result<HttpResponse> {
        let url = format!("{}/{method}", self.api_url);
        let headers = [
            ("authorization", format!("Bearer {}", token.expose())),
            (
                "content-type",
                "application/x-www-form-urlencoded".to_string(),
            ),
        ];
        self.http.post(&url, &headers, body.into_bytes()).await
    }

    /// `auth.test`: is the token valid, and which workspace is it for?
    pub async fn auth_test(&self, token: &Secret) -> Result<BotIdentity, AuthTestError> {
        let response = self
            .call(token, "auth.test", String::new())
            .await
            .map_err(AuthTestError::Unreachable)?;
        if response.status == StatusCode::TOO_MANY_REQUESTS {
            return Err(AuthTestError::Unreachable(anyhow!(
                "Slack answered HTTP 429 (rate limited); try again in a minute"
            )));
        }
        if !response.status.is_success() {
            return Err(AuthTestError::Unreachable(anyhow!(
                "Slack answered HTTP {}",
                response.status
            )));
        }
        let answer: AuthTestResponse = serde_json::from_slice(&response.body)
            .map_err(|err| AuthTestError::Unreachable(anyhow!("unexpected answer: {err}")))?;
        if !answer.ok {
            let code = answer.error.unwrap_or_else(|| "unknown_error".to_string());
            let hint = match code.as_str() {
                "invalid_auth" | "not_authed" => {
                    ": copy the Bot User OAuth Token again from OAuth & Permissions"
                }
                "token_revoked" | "token_expired" => {
                    ": reinstall the app to the workspace and use the new Bot User OAuth Token"
                }
                "account_inactive" => ": the app or its bot user was deactivated",
                _ => "",
            };
            return Err(AuthTestError::Rejected { code, hint });
        }
        Ok(BotIdentity {
            team_id: answer.team_id.unwrap_or_default(),
            team: answer.team.unwrap_or_default(),
            user: answer.user.unwrap_or_default(),
            user_id: answer.user_id.unwrap_or_default(),
            bot_id: answer.bot_id.filter(|id| !id.is_empty()),
        })
    }

    /// `bots.info`: the ID of the Slack app the bot `bot_id` belongs to.
    pub async fn app_id_of_bot(&self, token: &Secret, bot_id: &str) -> anyhow::Result<String> {
        if bot_id.is_empty() || !bot_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            bail!("auth.test named no usable bot ID");
        }
        let response = self
            .call(token, "bots.info", format!("bot={bot_id}"))
            .await?;
        if !response.status.is_success() {
            bail!("Slack answered HTTP {}", response.status);
        }
        let answer: BotsInfoResponse = serde_json::from_slice(&response.body)
            .map_err(|err| anyhow!("unexpected answer: {err}"))?;
        if !answer.ok {
            bail!(
                "Slack answered {}",
                answer.error.unwrap_or_else(|| "unknown_error".to_string())
            );
        }
        answer
            .bot
            .and_then(|bot| bot.app_id)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| anyhow!("bots.info named no app"))
    }
}

/// `v0=` + hex(HMAC-SHA256(secret, "v0:{timestamp}:{body}")), Slack's request signature.
pub fn slack_signature(signing_secret: &Secret, timestamp: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(signing_secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Sends a `url_verification` to `endpoint`, signed with `signing_secret` when given, and
/// returns the HTTP status and whether the body carried the challenge.
pub async fn send_url_verification(
    http: &Http,
    endpoint: &str,
    signing_secret: Option<&Secret>,
) -> anyhow::Result<(StatusCode, bool)> {
    let challenge = format!(
        "sirslack-verify-{}",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let body = serde_json::json!({
        "token": "sirslack-verify",
        "challenge": challenge,
        "type": "url_verification",
    })
    .to_string()
    .into_bytes();
    let mut headers = vec![("content-type", "application/json".to_string())];
    if let Some(secret) = signing_secret {
        let timestamp = chrono::Utc::now().timestamp().to_string();
        headers.push((
            "x-slack-signature",
            slack_signature(secret, &timestamp, &body),
        ));
        headers.push(("x-slack-request-timestamp", timestamp));
    }
    let response = http.post(endpoint, &headers, body).await?;
    let text = String::from_utf8_lossy(&response.body);
    let echoed = text.trim() == challenge
        || serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|value| value.get("challenge").cloned())
            .is_some_and(|value| value == challenge.as_str());
    Ok((response.status, echoed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_slacks_documented_example() {
        // The example from Slack's "Verifying requests from Slack" page.
        let secret = Secret::new("8f742231b10e8888abcd99yyyzzz85a5");
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        assert_eq!(
            slack_signature(&secret, "1531420618", body),
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
    }

    fn identity(team_id: &str, user_id: &str) -> BotIdentity {
        BotIdentity {
            team_id: team_id.into(),
            team: "Acme".into(),
            user: "sirslack".into(),
            user_id: user_id.into(),
            bot_id: Some("B0SIRSLACK".into()),
        }
    }

    #[test]
    fn a_token_replaces_the_stored_one_only_for_the_same_bot_user_and_workspace() {
        let stored = identity("T1", "U1");
        assert_eq!(identity("T1", "U1").same_bot_as(&stored), Ok(()));
        let other_user = identity("T1", "U2").same_bot_as(&stored).unwrap_err();
        assert!(
            other_user.starts_with(
                "the new bot token is for bot user sirslack (U2), the stored one for sirslack (U1): it belongs to another Slack app"
            ),
            "{other_user}"
        );
        let other_team = identity("T2", "U1").same_bot_as(&stored).unwrap_err();
        assert!(
            other_team.starts_with(
                "the new bot token belongs to workspace T2 (Acme), the stored one to T1 (Acme)"
            ),
            "{other_team}"
        );
    }

    #[test]
    fn rejection_messages_name_the_code_and_a_fix() {
        let error = AuthTestError::Rejected {
            code: "invalid_auth".into(),
            hint: ": copy the Bot User OAuth Token again from OAuth & Permissions",
        };
        assert_eq!(
            error.to_string(),
            "Slack rejected the bot token (invalid_auth): copy the Bot User OAuth Token again from OAuth & Permissions"
        );
    }
}
