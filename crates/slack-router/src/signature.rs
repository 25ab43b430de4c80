//! Slack's `v0` request signature.
//!
//! `X-Slack-Signature: v0=` + hex(HMAC-SHA256(signing secret, `v0:{timestamp}:{raw body}`)),
//! compared in constant time; `X-Slack-Request-Timestamp` must be within
//! [`REPLAY_WINDOW_SECONDS`] of now, in either direction. The HMAC and the window are
//! slack-morphism's [`SlackEventSignatureVerifier`]; this module adds the header handling and
//! an error that tells a wrong signature (worth re-reading the secret for) from a stale one.

use std::fmt;

use http::HeaderMap;
use slack_morphism::SlackSigningSecret;
use slack_morphism::signature_verifier::{
    SlackEventSignatureVerifier, SlackEventSignatureVerifierError,
};

/// `X-Slack-Signature` (lower case, as `http` stores names).
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// `X-Slack-Request-Timestamp`.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// Largest accepted difference between the request timestamp and now, in seconds.
pub const REPLAY_WINDOW_SECONDS: i64 = SlackEventSignatureVerifier::MAX_TIMESTAMP_AGE_SECONDS;

/// An app's signing secret. `Debug` shows only its length.
#[derive(Clone)]
pub struct SigningSecret {
    value: SlackSigningSecret,
    verifier: SlackEventSignatureVerifier,
}

impl SigningSecret {
    /// Wraps the secret as configured in the Slack app.
    pub fn new(secret: impl Into<String>) -> Self {
        let value = SlackSigningSecret::new(secret.into());
        let verifier = SlackEventSignatureVerifier::new(&value);
        Self { value, verifier }
    }

    /// Whether no secret was configured (every request is then refused).
    pub fn is_empty(&self) -> bool {
        self.value.0.is_empty()
    }
}

impl PartialEq for SigningSecret {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for SigningSecret {}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningSecret(<{} chars>)", self.value.0.len())
    }
}

/// Why a request's signature was refused. No variant carries the signature or the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A signature header is absent or not visible ASCII.
    #[error("missing or unreadable header {0}")]
    MissingHeader(&'static str),
    /// The timestamp is not a (signed) integer.
    #[error("the request timestamp is not an integer")]
    MalformedTimestamp,
    /// The timestamp is more than [`REPLAY_WINDOW_SECONDS`] away from now.
    #[error("the request timestamp is outside the {REPLAY_WINDOW_SECONDS} s window")]
    OutsideWindow,
    /// The signature does not match the body under this secret.
    #[error("the signature does not match")]
    Mismatch,
    /// The body is not UTF-8, so it cannot be a Slack payload.
    #[error("the body is not UTF-8")]
    BodyNotUtf8,
    /// No signing secret is configured.
    #[error("no signing secret is configured")]
    NoSecret,
}

impl SignatureError {
    /// Whether re-reading the signing secret could make the request pass (it was rotated).
    pub fn may_be_rotation(&self) -> bool {
        matches!(self, Self::Mismatch)
    }
}

/// Checks the signature headers of a request against its raw body.
pub fn verify_signature(
    secret: &SigningSecret,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), SignatureError> {
    let timestamp = header(headers, TIMESTAMP_HEADER)?;
    let signature = header(headers, SIGNATURE_HEADER)?;
    // Signed integer parse: a timestamp far in the future must not wrap around.
    if timestamp.trim().parse::<i64>().is_err() {
        return Err(SignatureError::MalformedTimestamp);
    }
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let body = std::str::from_utf8(body).map_err(|_| SignatureError::BodyNotUtf8)?;
    secret
        .verifier
        .verify(signature, body, timestamp)
        .map_err(|error| match error {
            SlackEventSignatureVerifierError::IncorrectOrExpiredTimestampError(_) => {
                SignatureError::OutsideWindow
            }
            SlackEventSignatureVerifierError::AbsentSignatureError(_) => {
                SignatureError::MissingHeader(SIGNATURE_HEADER)
            }
            SlackEventSignatureVerifierError::CryptoInitError(_) => SignatureError::NoSecret,
            SlackEventSignatureVerifierError::WrongSignatureError(_) => SignatureError::Mismatch,
        })
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, SignatureError> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty())
        .ok_or(SignatureError::MissingHeader(name))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::Sha256;

    pub(crate) fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    pub(crate) fn sign(secret: &str, timestamp: i64, body: &str) -> HeaderMap {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("v0:{timestamp}:{body}").as_bytes());
        let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
        let mut headers = HeaderMap::new();
        headers.insert(TIMESTAMP_HEADER, timestamp.to_string().parse().unwrap());
        headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        headers
    }

    #[test]
    fn accepts_slacks_documented_example_shape() {
        let secret = SigningSecret::new("8f742231b10e8888abcd99yyyzzz85a5");
        let body = "token=xyz&team_id=T1&command=%2Fsecurity-ir&text=status";
        let headers = sign("8f742231b10e8888abcd99yyyzzz85a5", now(), body);
        assert_eq!(verify_signature(&secret, &headers, body.as_bytes()), Ok(()));
    }

    #[test]
    fn refuses_wrong_secret_and_tampered_body() {
        let secret = SigningSecret::new("right");
        let headers = sign("wrong", now(), "{}");
        assert_eq!(
            verify_signature(&secret, &headers, b"{}"),
            Err(SignatureError::Mismatch)
        );
        let headers = sign("right", now(), "{}");
        assert_eq!(
            verify_signature(&secret, &headers, b"{ }"),
            Err(SignatureError::Mismatch)
        );
        assert!(SignatureError::Mismatch.may_be_rotation());
    }

    #[test]
    fn enforces_the_window_both_ways() {
        let secret = SigningSecret::new("s");
        for offset in [-301, 301, -100_000, i64::from(i32::MAX)] {
            let headers = sign("s", now() + offset, "{}");
            assert_eq!(
                verify_signature(&secret, &headers, b"{}"),
                Err(SignatureError::OutsideWindow),
                "offset {offset}"
            );
        }
        for offset in [-290, 0, 290] {
            let headers = sign("s", now() + offset, "{}");
            assert_eq!(
                verify_signature(&secret, &headers, b"{}"),
                Ok(()),
                "{offset}"
            );
        }
        assert!(!SignatureError::OutsideWindow.may_be_rotation());
    }

    #[test]
    fn refuses_missing_or_malformed_headers() {
        let secret = SigningSecret::new("s");
        let mut headers = sign("s", now(), "{}");
        headers.remove(SIGNATURE_HEADER);
        assert_eq!(
            verify_signature(&secret, &headers, b"{}"),
            Err(SignatureError::MissingHeader(SIGNATURE_HEADER))
        );
        let mut headers = sign("s", now(), "{}");
        headers.remove(TIMESTAMP_HEADER);
        assert_eq!(
            verify_signature(&secret, &headers, b"{}"),
            Err(SignatureError::MissingHeader(TIMESTAMP_HEADER))
        );
        let mut headers = sign("s", now(), "{}");
        headers.insert(TIMESTAMP_HEADER, "soon".parse().unwrap());
        assert_eq!(
            verify_signature(&secret, &headers, b"{}"),
            Err(SignatureError::MalformedTimestamp)
        );
        let headers = sign("", now(), "{}");
        assert_eq!(
            verify_signature(&SigningSecret::new(""), &headers, b"{}"),
            Err(SignatureError::NoSecret)
        );
        let headers = sign("s", now(), "{}");
        assert_eq!(
            verify_signature(&secret, &headers, &[0xff, 0xfe]),
            Err(SignatureError::BodyNotUtf8)
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = SigningSecret::new("topsecretvalue");
        let shown = format!("{secret:?}");
        assert!(!shown.contains("topsecret"), "{shown}");
    }
}
