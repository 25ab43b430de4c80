//! What went wrong with a Slack call, and what to do about it.
//!
//! Every failure is sorted into one [`ErrorClass`], which decides the caller's next step:
//!
//! | class | examples | what to do |
//! |---|---|---|
//! | [`ErrorClass::RateLimited`] | HTTP 429 | wait `Retry-After`, then call again |
//! | [`ErrorClass::Transient`] | HTTP 5xx, connection reset, timeout, `internal_error` | back off exponentially with jitter, a bounded number of times |
//! | [`ErrorClass::Auth`] | `invalid_auth`, `token_revoked`, `not_authed` | stop; the operator must rotate the bot token |
//! | [`ErrorClass::Permanent`] | `channel_not_found`, `is_archived`, `not_in_channel`, any other Slack error | stop; the same call cannot succeed |

use std::time::Duration;

use slack_morphism::errors::SlackClientError;

/// Slack error codes that mean the bot token itself is not usable.
const AUTH_CODES: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "no_such_token",
];

/// Slack error codes that say "try again later" inside an HTTP 200 envelope.
const TRANSIENT_CODES: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
];

/// How a failed call should be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// HTTP 429: wait the `Retry-After` time, then call again.
    RateLimited,
    /// A server or network problem: retry with exponential backoff and jitter.
    Transient,
    /// The bot token is invalid, revoked or expired: no retry helps until it is rotated.
    Auth,
    /// Slack refused the call for a reason retrying cannot change.
    Permanent,
}

impl ErrorClass {
    /// Classifies a Slack error code from an `{"ok":false,"error":...}` envelope.
    pub fn of_code(code: &str) -> Self {
        if code == "ratelimited" {
            Self::RateLimited
        } else if AUTH_CODES.contains(&code) {
            Self::Auth
        } else if TRANSIENT_CODES.contains(&code) {
            Self::Transient
        } else {
            Self::Permanent
        }
    }

    /// Classifies an HTTP status that came without a Slack envelope.
    pub fn of_http_status(status: u16) -> Self {
        match status {
            429 => Self::RateLimited,
            401 => Self::Auth,
            408 | 500..=599 => Self::Transient,
            _ => Self::Permanent,
        }
    }

    /// Whether trying the same call again may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::RateLimited | Self::Transient)
    }

    /// The class's name, for Lambda's `errorType`.
    pub fn error_type(self) -> &'static str {
        match self {
            Self::RateLimited => "SlackRateLimited",
            Self::Transient => "SlackUnavailable",
            Self::Auth => "SlackAuthFailed",
            Self::Permanent => "SlackRefused",
        }
    }
}

/// A Slack call failed.
///
/// The message names the method and Slack's error code only: never a token, a URL with a
/// capability in it (`upload_url`, presigned URLs) or a response body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Slack {method} failed: {code}")]
pub struct SlackApiError {
    /// The Web API method (`chat.postMessage`), or `upload` / `download` for raw transfers.
    pub method: &'static str,
    /// Slack's error code (`channel_not_found`), `ratelimited`, `http_<status>`, `timeout`,
    /// `network` or `unreadable_response`.
    pub code: String,
    /// What to do about it.
    pub class: ErrorClass,
    /// Slack's `Retry-After`, when rate limited.
    pub retry_after: Option<Duration>,
    /// What happened, in words, when the code alone does not say (a file download's refused
    /// `scheme://host`, a connection's failure). Never a path, a query or a token.
    pub detail: Option<String>,
}

impl SlackApiError {
    /// An error with `code`, classified by [`ErrorClass::of_code`].
    pub fn from_code(method: &'static str, code: impl Into<String>) -> Self {
        let code = code.into();
        Self {
            method,
            class: ErrorClass::of_code(&code),
            code,
            retry_after: None,
            detail: None,
        }
    }

    /// An error with an explicit class.
    pub fn new(method: &'static str, code: impl Into<String>, class: ErrorClass) -> Self {
        Self {
            method,
            code: code.into(),
            class,
            retry_after: None,
            detail: None,
        }
    }

    /// A rate-limit error (HTTP 429).
    pub fn rate_limited(method: &'static str, retry_after: Option<Duration>) -> Self {
        Self {
            method,
            code: "ratelimited".to_owned(),
            class: ErrorClass::RateLimited,
            retry_after,
            detail: None,
        }
    }

    /// The same error, with [`SlackApiError::detail`].
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// An HTTP status without a Slack envelope.
    pub fn from_http_status(method: &'static str, status: u16) -> Self {
        Self::new(
            method,
            format!("http_{status}"),
            ErrorClass::of_http_status(status),
        )
    }

    /// A network failure (connection refused or reset, TLS, a broken body stream).
    pub fn network(method: &'static str) -> Self {
        Self::new(method, "network", ErrorClass::Transient)
    }

    /// The call took longer than allowed.
    pub fn timeout(method: &'static str) -> Self {
        Self::new(method, "timeout", ErrorClass::Transient)
    }

    /// Classifies an error from slack-morphism's client.
    pub fn from_client(method: &'static str, error: &SlackClientError) -> Self {
        match error {
            SlackClientError::ApiError(api) => Self::from_code(method, api.code.clone()),
            SlackClientError::RateLimitError(limited) => {
                Self::rate_limited(method, limited.retry_after)
            }
            SlackClientError::HttpError(http) => {
                Self::from_http_status(method, http.status_code.as_u16())
            }
            SlackClientError::HttpProtocolError(_)
            | SlackClientError::SystemError(_)
            | SlackClientError::EndOfStream(_) => Self::network(method),
            // A 200 answer whose body did not decode: the call may well have taken effect, so
            // repeating it (a second post) would be worse than stopping.
            SlackClientError::ProtocolError(_) | SlackClientError::SocketModeProtocolError(_) => {
                Self::new(method, "unreadable_response", ErrorClass::Permanent)
            }
        }
    }

    /// Whether the token must be rotated.
    pub fn is_auth(&self) -> bool {
        self.class == ErrorClass::Auth
    }

    /// Whether Slack answered with exactly this error code.
    pub fn is_code(&self, code: &str) -> bool {
        self.code == code
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slack_morphism::errors::{
        SlackClientApiError, SlackClientHttpError, SlackClientHttpProtocolError,
        SlackRateLimitError,
    };

    #[test]
    fn codes_are_classified() {
        for code in [
            "channel_not_found",
            "is_archived",
            "not_in_channel",
            "name_taken",
        ] {
            assert_eq!(ErrorClass::of_code(code), ErrorClass::Permanent, "{code}");
        }
        for code in [
            "invalid_auth",
            "token_revoked",
            "not_authed",
            "account_inactive",
        ] {
            assert_eq!(ErrorClass::of_code(code), ErrorClass::Auth, "{code}");
        }
        assert_eq!(ErrorClass::of_code("internal_error"), ErrorClass::Transient);
        assert_eq!(ErrorClass::of_code("ratelimited"), ErrorClass::RateLimited);
        assert_eq!(
            ErrorClass::of_code("something_new_from_slack"),
            ErrorClass::Permanent
        );
    }

    #[test]
    fn http_statuses_are_classified() {
        assert_eq!(ErrorClass::of_http_status(429), ErrorClass::RateLimited);
        assert_eq!(ErrorClass::of_http_status(500), ErrorClass::Transient);
        assert_eq!(ErrorClass::of_http_status(503), ErrorClass::Transient);
        assert_eq!(ErrorClass::of_http_status(408), ErrorClass::Transient);
        assert_eq!(ErrorClass::of_http_status(404), ErrorClass::Permanent);
        assert_eq!(ErrorClass::of_http_status(401), ErrorClass::Auth);
        assert!(ErrorClass::Transient.is_retryable());
        assert!(!ErrorClass::Auth.is_retryable());
    }

    #[test]
    fn client_errors_are_classified() {
        let api = SlackClientError::ApiError(SlackClientApiError::new("is_archived".into()));
        let error = SlackApiError::from_client("chat.postMessage", &api);
        assert_eq!(error.class, ErrorClass::Permanent);
        assert!(error.is_code("is_archived"));
        assert_eq!(
            error.to_string(),
            "Slack chat.postMessage failed: is_archived"
        );

        let limited = SlackClientError::RateLimitError(
            SlackRateLimitError::new().with_retry_after(Duration::from_secs(7)),
        );
        let error = SlackApiError::from_client("chat.postMessage", &limited);
        assert_eq!(error.class, ErrorClass::RateLimited);
        assert_eq!(error.retry_after, Some(Duration::from_secs(7)));

        let server = SlackClientError::HttpError(SlackClientHttpError::new(http_status(502)));
        assert_eq!(
            SlackApiError::from_client("conversations.create", &server).class,
            ErrorClass::Transient
        );

        let network = SlackClientError::HttpProtocolError(SlackClientHttpProtocolError::new());
        assert_eq!(
            SlackApiError::from_client("conversations.create", &network).code,
            "network"
        );

        let auth = SlackClientError::ApiError(SlackClientApiError::new("invalid_auth".into()));
        assert!(SlackApiError::from_client("auth.test", &auth).is_auth());
    }

    fn http_status(code: u16) -> hyper::StatusCode {
        hyper::StatusCode::from_u16(code).unwrap()
    }
}
