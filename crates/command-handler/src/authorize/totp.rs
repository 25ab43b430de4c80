//! RFC 6238 one-time codes (HMAC-SHA1, 6 digits, 30-second steps, one step of skew either
//! way), with the `totp-rs` crate.
//!
//! Secrets are stored base32-encoded, as authenticator apps show them; spaces, dashes, `=`
//! padding and lower case are accepted. A secret must be at least 128 bits (RFC 4226 §4).
//! Verification returns the time step the code matched, so the caller can accept each step
//! once per person (RFC 6238 §5.2).

use sirslack_domain::Otp;
use totp_rs::{Algorithm, Builder, Secret, Totp, TotpError};

/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;
/// Steps accepted before and after the current one.
pub const SKEW_STEPS: u16 = 1;
/// Digits per code.
pub const DIGITS: u8 = 6;

/// A stored secret is not usable. The message never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Not base32.
    #[error("the OTP secret is not base32")]
    NotBase32,
    /// Shorter than 128 bits.
    #[error("the OTP secret has {bits} bits; at least 128 are required")]
    TooShort {
        /// Bits decoded.
        bits: usize,
    },
    /// Any other reason `totp-rs` refused it.
    #[error("the OTP secret is not usable")]
    Unusable,
}

fn totp(secret_base32: &str) -> Result<Totp, SecretError> {
    let normalised: String = secret_base32
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '=') && !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    let secret = Secret::try_from_base32(&normalised).map_err(|_| SecretError::NotBase32)?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret)
        .build()
        .map_err(|error| match error {
            TotpError::SecretTooShort { bits } => SecretError::TooShort { bits },
            _ => SecretError::Unusable,
        })
}

/// The time step `code` matches at `unix_time`, within the skew, or `None` when it matches
/// none. Comparison is constant-time (`totp-rs`).
pub fn matching_step(
    secret_base32: &str,
    code: &Otp,
    unix_time: u64,
) -> Result<Option<u64>, SecretError> {
    Ok(totp(secret_base32)?.check(code.as_str(), unix_time))
}

/// The code for `unix_time`: what the person's authenticator app shows (for tests and for
/// checking an enrolment).
pub fn code_at(secret_base32: &str, unix_time: u64) -> Result<String, SecretError> {
    Ok(totp(secret_base32)?.generate(unix_time).to_string())
}

/// Checks a secret without using it.
pub fn validate_secret(secret_base32: &str) -> Result<(), SecretError> {
    totp(secret_base32).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 secret, "12345678901234567890", in base32.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    fn otp(code: &str) -> Otp {
        Otp::new(code).unwrap()
    }

    #[test]
    fn matches_rfc_6238_test_vectors() {
        // Appendix B gives 8 digits; a 6-digit code is its last six.
        for (time, eight_digits) in [
            (59_u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            let six = &eight_digits[2..];
            assert_eq!(code_at(RFC_SECRET, time).unwrap(), six, "t={time}");
            assert_eq!(
                matching_step(RFC_SECRET, &otp(six), time).unwrap(),
                Some(time / STEP_SECONDS)
            );
        }
    }

    #[test]
    fn one_step_of_skew_either_way() {
        let now = 1_700_000_015;
        let step = now / STEP_SECONDS;
        let previous = code_at(RFC_SECRET, now - STEP_SECONDS).unwrap();
        let next = code_at(RFC_SECRET, now + STEP_SECONDS).unwrap();
        let too_old = code_at(RFC_SECRET, now - 2 * STEP_SECONDS).unwrap();
        let too_new = code_at(RFC_SECRET, now + 2 * STEP_SECONDS).unwrap();
        assert_eq!(
            matching_step(RFC_SECRET, &otp(&previous), now).unwrap(),
            Some(step - 1)
        );
        assert_eq!(
            matching_step(RFC_SECRET, &otp(&next), now).unwrap(),
            Some(step + 1)
        );
        // Fixed inputs, so these codes are fixed too (and differ from the three valid ones).
        for stale in [too_old, too_new] {
            assert_eq!(matching_step(RFC_SECRET, &otp(&stale), now).unwrap(), None);
        }
    }

    #[test]
    fn secrets_are_normalised_and_checked() {
        let spaced = "gezd gnbv gy3t qojq gezd gnbv gy3t qojq";
        assert_eq!(
            code_at(spaced, 59).unwrap(),
            code_at(RFC_SECRET, 59).unwrap()
        );
        assert_eq!(validate_secret("not base32!"), Err(SecretError::NotBase32));
        // 80 bits, as in the old Python example: refused.
        assert_eq!(
            validate_secret("JBSWY3DPEHPK3PXP"),
            Err(SecretError::TooShort { bits: 80 })
        );
        assert!(validate_secret(RFC_SECRET).is_ok());
    }

    #[test]
    fn wrong_code_matches_nothing() {
        let now = 1_700_000_000;
        let window: Vec<String> = (0..3)
            .map(|i| code_at(RFC_SECRET, now - STEP_SECONDS + i * STEP_SECONDS).unwrap())
            .collect();
        let wrong = ["000000", "111111", "222222", "333333"]
            .into_iter()
            .find(|code| !window.iter().any(|valid| valid == code))
            .unwrap();
        assert_eq!(matching_step(RFC_SECRET, &otp(wrong), now).unwrap(), None);
    }
}
