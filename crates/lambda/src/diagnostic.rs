//! What Lambda records for a failed invocation: an `errorType` that names the failure class
//! (`SirThrottled`, `SlackRateLimited`, `ConfigMissing`, `StoreConflict`, ...) instead of a Rust
//! type name, and an `errorMessage` that never carries a token or a capability URL.
//!
//! Each function implements [`ErrorType`] for its top-level error types and converts them with
//! [`diagnostic`] (`impl From<E> for lambda_runtime::Diagnostic`), so the handler can return them
//! to the runtime as they are.

use lambda_runtime::Diagnostic;

use crate::env::ConfigError;

/// The failure class of an error, for Lambda's `errorType` (and alarms or searches on it).
pub trait ErrorType {
    /// A short UpperCamelCase name of the failure class.
    fn error_type(&self) -> &'static str;
}

/// The `Diagnostic` of `error`: its class and its message, scrubbed ([`scrub`]).
pub fn diagnostic<E: ErrorType + std::fmt::Display + ?Sized>(error: &E) -> Diagnostic {
    Diagnostic {
        error_type: error.error_type().to_owned(),
        error_message: scrub(&error.to_string()),
    }
}

/// `impl From<E> for lambda_runtime::Diagnostic` through [`diagnostic`], for each error type
/// named (each must implement [`ErrorType`] and `Display`), so a handler returns it as it is.
#[macro_export]
macro_rules! into_diagnostic {
    ($($error:ty),+ $(,)?) => {
        $(
            impl ::std::convert::From<$error> for ::lambda_runtime::Diagnostic {
                fn from(error: $error) -> Self {
                    $crate::diagnostic::diagnostic(&error)
                }
            }
        )+
    };
}

impl ErrorType for ConfigError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Missing(_) => "ConfigMissing",
            Self::Invalid { .. } => "ConfigInvalid",
        }
    }
}

into_diagnostic!(ConfigError);

/// Longest `errorMessage` kept (Lambda truncates the whole error response at 256 KB; a message
/// this long is a dump, not a sentence).
const MAX_MESSAGE_CHARS: usize = 1_000;

/// `message` without what must never reach a log: Slack tokens (`xoxb-...`, `xapp-...`) become
/// `[token]`, and every URL keeps only its scheme and host (a `response_url`, a presigned
/// download or upload URL carries its capability in the path or the query).
pub fn scrub(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE_CHARS));
    let mut rest = message;
    while !rest.is_empty() {
        let word_end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>' | ','))
            .unwrap_or(rest.len());
        let (word, tail) = rest.split_at(word_end);
        if word.is_empty() {
            let mut chars = tail.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
            continue;
        }
        out.push_str(&scrub_word(word));
        rest = tail;
    }
    if out.chars().count() > MAX_MESSAGE_CHARS {
        out = out.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "...";
    }
    out
}

fn scrub_word(word: &str) -> String {
    if let Some(at) = word.find("://") {
        let (before, url) = word.split_at(at);
        let after_scheme = &url[3..];
        let host_end = after_scheme
            .find(['/', '?', '#'])
            .unwrap_or(after_scheme.len());
        let redacted = if host_end < after_scheme.len() {
            "/[redacted]"
        } else {
            ""
        };
        return format!("{before}://{}{redacted}", &after_scheme[..host_end]);
    }
    let lower = word.to_ascii_lowercase();
    let token_start = [
        "xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-", "xoxe-", "xoxe.", "xapp-",
    ]
    .iter()
    .filter_map(|prefix| lower.find(prefix))
    .min();
    match token_start {
        Some(start) => format!("{}[token]", &word[..start]),
        None => word.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_their_class() {
        let missing: Diagnostic = ConfigError::Missing("TABLE_NAME").into();
        assert_eq!(missing.error_type, "ConfigMissing");
        assert_eq!(
            missing.error_message,
            "environment variable TABLE_NAME is required"
        );
        let invalid: Diagnostic = ConfigError::Invalid {
            name: "SYNC_CONCURRENCY",
            expected: "a whole number from 1 to 64".into(),
            value: "0".into(),
        }
        .into();
        assert_eq!(invalid.error_type, "ConfigInvalid");
    }

    #[test]
    fn tokens_and_capability_urls_are_scrubbed() {
        let message = "invalid value: string \"https://hooks.slack.com/actions/T1/123/abcSECRET\", \
                       token xoxb-1234-5678-SECRET, app=xapp-1-A1-SECRET; see https://slack.com/api";
        let scrubbed = scrub(message);
        assert!(!scrubbed.contains("SECRET"), "{scrubbed}");
        assert!(
            scrubbed.contains("https://hooks.slack.com/[redacted]"),
            "{scrubbed}"
        );
        assert!(scrubbed.contains("token [token]"), "{scrubbed}");
        assert!(scrubbed.contains("app=[token]"), "{scrubbed}");
        assert!(
            scrubbed.contains("https://slack.com/[redacted]"),
            "{scrubbed}"
        );
        let presigned = scrub("GET https://bucket.s3.amazonaws.com/k?X-Amz-Signature=abc failed");
        assert_eq!(
            presigned,
            "GET https://bucket.s3.amazonaws.com/[redacted] failed"
        );
        assert_eq!(scrub("plain words, kept"), "plain words, kept");
        assert!(scrub(&"x".repeat(5_000)).len() < 1_100);
    }
}
