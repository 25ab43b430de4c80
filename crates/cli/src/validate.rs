//! Format checks for everything a user types, with one clear message per field.
//!
//! Secret values are never part of a message: a malformed token may still be a real token with a
//! typo, and messages end up in terminals, CI logs and bug reports.

use std::fmt;

/// A value that must not be printed: `Debug` and `Display` show a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that sends it (SSM, Slack, an HMAC).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Checks a bot token against `^xoxb-[0-9]+-[0-9]+-[a-zA-Z0-9]+$`.
pub fn bot_token(token: &str) -> Result<(), String> {
    const FLAG: &str = "--bot-token";
    let other_kind = [
        ("xoxp-", "a user token (xoxp-)"),
        ("xapp-", "an app-level token (xapp-)"),
        ("xoxe", "a refresh or configuration token (xoxe)"),
        ("xoxa-", "a workspace app token (xoxa-)"),
    ];
    if let Some((_, kind)) = other_kind
        .iter()
        .find(|(prefix, _)| token.starts_with(prefix))
    {
        return Err(format!(
            "{FLAG} is {kind}; use the Bot User OAuth Token (xoxb-...) from OAuth & Permissions"
        ));
    }
    let parts: Vec<&str> = token.split('-').collect();
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let alphanumeric =
        |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric());
    let well_formed = parts.len() == 4
        && parts[0] == "xoxb"
        && digits(parts[1])
        && digits(parts[2])
        && alphanumeric(parts[3]);
    check(well_formed, || {
        format!(
            "{FLAG} must look like xoxb-<digits>-<digits>-<letters and digits> (the Bot User OAuth Token from OAuth & Permissions)"
        )
    })
}

/// Checks a signing secret: 32 hexadecimal characters (what Slack issues) or 64 (what some
/// documentation says). Only the length is reported, never the value.
pub fn signing_secret(secret: &str) -> Result<(), String> {
    const FLAG: &str = "--signing-secret";
    let length = secret.chars().count();
    if !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{FLAG} must be hexadecimal (0-9, a-f): it has other characters (the Signing Secret from Basic Information > App Credentials, not the Client Secret or a token)"
        ));
    }
    check(length == 32 || length == 64, || {
        format!(
            "{FLAG} must be 32 or 64 hexadecimal characters, got {length} (the Signing Secret from Basic Information > App Credentials)"
        )
    })
}

/// Checks a workspace ID against `^[A-Z0-9]{9,11}$`. Workspace IDs are not secret, so the
/// value is quoted.
pub fn workspace_id(workspace_id: &str) -> Result<(), String> {
    let length = workspace_id.chars().count();
    let well_formed = (9..=11).contains(&length) && upper_alphanumeric(workspace_id);
    check(well_formed, || {
        format!(
            "--workspace-id must be 9 to 11 upper-case letters or digits, like T0123456789; got {workspace_id:?}"
        )
    })
}

/// Checks a Slack app ID against `^A[A-Z0-9]{8,15}$` (the Slack stack's `slackAppId` pattern).
/// App IDs are not secret, so the value is quoted.
pub fn app_id(app_id: &str) -> Result<(), String> {
    let length = app_id.chars().count();
    let well_formed =
        (9..=16).contains(&length) && app_id.starts_with('A') && upper_alphanumeric(app_id);
    check(well_formed, || {
        format!(
            "--app-id must be A and 8 to 15 upper-case letters or digits, like A0123456789 (Basic Information > App Credentials > App ID); got {app_id:?}"
        )
    })
}

/// A plausible e-mail address: SNS does the real check when it sends the confirmation.
pub fn alarm_email(email: &str) -> Result<(), String> {
    let plausible = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(|c| c.is_whitespace() || c == ',')
                && !domain.contains('@')
        }
        None => false,
    };
    check(plausible, || {
        format!("--alarm-email must be one e-mail address, like secops@example.com; got {email:?}")
    })
}

/// A deployment name as the CDK app accepts it: it becomes part of stack and parameter names.
pub fn deployment_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.len() <= 20
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-');
    check(well_formed, || {
        format!(
            "--deployment must start with a letter and use only letters, digits and - (at most 20 characters); got {name:?}"
        )
    })
}

/// A channel name prefix as Slack allows it in channel names (lower-case letters, digits, `-`
/// and `_`), short enough to leave room for `-<caseId>` in Slack's 80 characters.
pub fn channel_prefix(prefix: &str) -> Result<(), String> {
    let well_formed = (1..=60).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    check(well_formed, || {
        "a channel prefix must be 1 to 60 lower-case letters, digits, - or _".to_string()
    })
}

/// A Slack app name: 1 to 35 characters (Slack's limit for `display_information.name`).
pub fn app_name(name: &str) -> Result<(), String> {
    let length = name.trim().chars().count();
    check((1..=35).contains(&length), || {
        format!("--app-name must be 1 to 35 characters (Slack's limit); got {name:?}")
    })
}

/// An HTTPS (or, for local tests, HTTP) URL ending in `/slack/events`.
pub fn endpoint_url(url: &str) -> Result<(), String> {
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    let well_formed = scheme_ok && url.ends_with("/slack/events");
    check(well_formed, || {
        format!(
            "--endpoint must be the stack's SlackEventsApiEndpoint, an https:// URL ending in /slack/events; got {url:?}"
        )
    })
}

/// `Ok` when `well_formed`, else the message `message` writes.
fn check(well_formed: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if well_formed { Ok(()) } else { Err(message()) }
}

/// Whether every byte of `value` is an upper-case ASCII letter or a digit.
fn upper_alphanumeric(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN_SHAPE: &str = "--bot-token must look like xoxb-<digits>-<digits>-<letters and digits> (the Bot User OAuth Token from OAuth & Permissions)";

    #[test]
    fn bot_tokens_of_the_documented_shape_pass() {
        for token in ["xoxb-1-2-a", "xoxb-1234567890-0987654321-AbCdEf123456"] {
            assert_eq!(bot_token(token), Ok(()), "{token}");
        }
    }

    #[test]
    fn malformed_bot_tokens_get_the_shape_message() {
        for token in [
            "",
            "xoxb",
            "xoxb-",
            "xoxb-1-2-",
            "xoxb-1-2",
            "xoxb-a-2-abc",
            "xoxb-1-b-abc",
            "xoxb-1-2-abc-def",
            "xoxb-1-2-ab_c",
            "xoxb-1-2-abc ",
            " xoxb-1-2-abc",
            "XOXB-1-2-abc",
            "xoxb--2-abc",
            "xoxb-1-2-ábc",
        ] {
            assert_eq!(bot_token(token), Err(TOKEN_SHAPE.to_string()), "{token:?}");
        }
    }

    #[test]
    fn other_kinds_of_slack_token_are_named() {
        assert_eq!(
            bot_token("xoxp-1-2-abc"),
            Err("--bot-token is a user token (xoxp-); use the Bot User OAuth Token (xoxb-...) from OAuth & Permissions".to_string())
        );
        assert_eq!(
            bot_token("xapp-1-A1-1-abc"),
            Err("--bot-token is an app-level token (xapp-); use the Bot User OAuth Token (xoxb-...) from OAuth & Permissions".to_string())
        );
        assert_eq!(
            bot_token("xoxe.xoxp-1-abc"),
            Err("--bot-token is a refresh or configuration token (xoxe); use the Bot User OAuth Token (xoxb-...) from OAuth & Permissions".to_string())
        );
    }

    #[test]
    fn token_messages_never_contain_the_token() {
        let token = "xoxb-123-456-secretpart!";
        let message = bot_token(token).unwrap_err();
        assert!(!message.contains("secretpart"), "{message}");
    }

    #[test]
    fn signing_secrets_of_32_or_64_hex_characters_pass() {
        assert_eq!(signing_secret(&"a1".repeat(16)), Ok(()));
        assert_eq!(signing_secret(&"F0".repeat(32)), Ok(()));
    }

    #[test]
    fn signing_secrets_of_another_length_report_the_length_only() {
        for (secret, length) in [
            ("", 0),
            ("abc", 3),
            (&*"a".repeat(31), 31),
            (&*"a".repeat(33), 33),
            (&*"a".repeat(63), 63),
            (&*"a".repeat(65), 65),
        ] {
            assert_eq!(
                signing_secret(secret),
                Err(format!(
                    "--signing-secret must be 32 or 64 hexadecimal characters, got {length} (the Signing Secret from Basic Information > App Credentials)"
                )),
                "{secret:?}"
            );
        }
    }

    #[test]
    fn signing_secrets_with_non_hex_characters_are_refused_without_echo() {
        let secret = format!("{}zz", "a".repeat(30));
        let message = signing_secret(&secret).unwrap_err();
        assert_eq!(
            message,
            "--signing-secret must be hexadecimal (0-9, a-f): it has other characters (the Signing Secret from Basic Information > App Credentials, not the Client Secret or a token)"
        );
        assert!(!message.contains(&secret));
    }

    #[test]
    fn app_ids() {
        for good in ["A0123456789", "A0STANDAPP", "A12345678"] {
            assert_eq!(app_id(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "T0123456789",
            "a0123456789",
            "A0123",
            "A0123456789-",
            "A01234567890123456",
        ] {
            assert!(app_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn workspace_ids() {
        for good in ["T12345678", "T1234567890", "TABCDEFGHI1", "E12345678"] {
            assert_eq!(workspace_id(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "T1234567",
            "T12345678901",
            "t1234567890",
            "T12345-789",
            "T1234567 ",
        ] {
            assert_eq!(
                workspace_id(bad),
                Err(format!(
                    "--workspace-id must be 9 to 11 upper-case letters or digits, like T0123456789; got {bad:?}"
                )),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn alarm_emails() {
        assert_eq!(alarm_email("secops@example.com"), Ok(()));
        for bad in [
            "",
            "secops",
            "@example.com",
            "a@b",
            "a@.com",
            "a@b.",
            "a b@c.com",
            "a@b.com,c@d.com",
            "a@b@c.com",
        ] {
            assert_eq!(
                alarm_email(bad),
                Err(format!(
                    "--alarm-email must be one e-mail address, like secops@example.com; got {bad:?}"
                )),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn deployment_names() {
        for good in ["acme", "A", "acme-2", "a1234567890123456789"] {
            assert_eq!(deployment_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "1acme",
            "-acme",
            "acme_2",
            "a12345678901234567890",
            "acme/x",
        ] {
            assert_eq!(
                deployment_name(bad),
                Err(format!(
                    "--deployment must start with a letter and use only letters, digits and - (at most 20 characters); got {bad:?}"
                )),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn channel_prefixes() {
        assert_eq!(
            channel_prefix("aws-security-incident-response-case"),
            Ok(())
        );
        for bad in ["", "Cases", "case prefix", &"a".repeat(61)] {
            assert!(channel_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn endpoint_urls() {
        assert_eq!(
            endpoint_url("https://abc.execute-api.us-east-1.amazonaws.com/prod/slack/events"),
            Ok(())
        );
        assert!(endpoint_url("https://abc.execute-api.us-east-1.amazonaws.com/prod/").is_err());
        assert!(endpoint_url("ftp://x/slack/events").is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("xoxb-1-2-abc");
        assert_eq!(format!("{secret}"), "<redacted>");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(secret.expose(), "xoxb-1-2-abc");
    }
}
