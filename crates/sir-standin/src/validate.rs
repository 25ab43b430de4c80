//! Input constraints from the SIR model, reported with AWS's wording.

use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::error::FieldErrors;
use crate::model::UnknownEnumValue;

pub(crate) const TITLE_MAX: usize = 300;
pub(crate) const DESCRIPTION_MAX: usize = 8_000;
pub(crate) const COMMENT_BODY_MAX: usize = 12_000;
pub(crate) const FILE_NAME_MAX: usize = 255;
pub(crate) const CLIENT_TOKEN_MAX: usize = 255;
pub(crate) const ATTACHMENT_MAX_BYTES: i64 = 104_857_600;
pub(crate) const PAGE_SIZE_MAX: i64 = 25;

pub(crate) const CASE_ID_PATTERN: &str = "\\d{10,32}";
pub(crate) const FILE_NAME_PATTERN: &str = "[a-zA-Z0-9._-]+";

pub(crate) fn is_case_id(value: &str) -> bool {
    (10..=32).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn is_file_name(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Loose AWS region shape (`us-east-1`, `us-gov-west-1`): the real service checks an enum, but
/// new regions appear often enough that a shape check is the safer stand-in.
pub(crate) fn is_region(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|last| !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

impl FieldErrors {
    pub(crate) fn missing(&mut self, name: &str) {
        self.push(name, "Member must not be null");
    }

    /// Length in Unicode scalar values, as Smithy's `@length` counts them.
    pub(crate) fn length(&mut self, name: &str, value: &str, min: usize, max: usize) {
        let length = value.chars().count();
        if length < min {
            self.push(
                name,
                format!("Member must have length greater than or equal to {min}"),
            );
        } else if length > max {
            self.push(
                name,
                format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    pub(crate) fn required_length(
        &mut self,
        name: &str,
        value: Option<&str>,
        min: usize,
        max: usize,
    ) {
        match value {
            Some(value) => self.length(name, value, min, max),
            None => self.missing(name),
        }
    }

    pub(crate) fn optional_length(
        &mut self,
        name: &str,
        value: Option<&str>,
        min: usize,
        max: usize,
    ) {
        if let Some(value) = value {
            self.length(name, value, min, max);
        }
    }

    pub(crate) fn pattern(&mut self, name: &str, ok: bool, pattern: &str) {
        if !ok {
            self.push(
                name,
                format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    pub(crate) fn range(&mut self, name: &str, value: i64, min: i64, max: i64) {
        if value < min {
            self.push(
                name,
                format!("Member must have value greater than or equal to {min}"),
            );
        } else if value > max {
            self.push(
                name,
                format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    /// Parses an optional enum member, recording a violation for unknown values.
    pub(crate) fn enum_value<E>(
        &mut self,
        name: &str,
        value: Option<&str>,
        allowed: &[E],
    ) -> Option<E>
    where
        E: FromStr<Err = UnknownEnumValue> + Copy + PartialEq + std::fmt::Display,
    {
        let value = value?;
        match value.parse::<E>() {
            Ok(parsed) if allowed.contains(&parsed) => Some(parsed),
            _ => {
                let set = allowed
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                self.push(name, format!("Member must satisfy enum value set: [{set}]"));
                None
            }
        }
    }

    /// Parses a required enum member.
    pub(crate) fn required_enum<E>(
        &mut self,
        name: &str,
        value: Option<&str>,
        allowed: &[E],
    ) -> Option<E>
    where
        E: FromStr<Err = UnknownEnumValue> + Copy + PartialEq + std::fmt::Display,
    {
        if value.is_none() {
            self.missing(name);
        }
        self.enum_value(name, value, allowed)
    }

    /// An epoch-seconds timestamp (fractions allowed), kept to the millisecond.
    pub(crate) fn timestamp(
        &mut self,
        name: &str,
        epoch_seconds: Option<f64>,
    ) -> Option<DateTime<Utc>> {
        let seconds = epoch_seconds?;
        let parsed = (seconds.is_finite() && seconds.abs() < 1e13)
            .then(|| DateTime::from_timestamp_millis((seconds * 1000.0).round() as i64))
            .flatten();
        if parsed.is_none() {
            self.push(name, "Member must be a valid epoch-seconds timestamp");
        }
        parsed
    }

    pub(crate) fn account_ids(&mut self, name: &str, accounts: &[String]) {
        for (index, account) in accounts.iter().enumerate() {
            self.pattern(
                &format!("{name}.{index}"),
                is_account_id(account),
                "\\d{12}",
            );
        }
    }

    pub(crate) fn ip_address(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(value) if value.parse::<IpAddr>().is_ok() => {}
            Some(_) => self.push(name, "Member must be a valid IPv4 or IPv6 address"),
            None => self.missing(name),
        }
    }

    pub(crate) fn region(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(value) => self.pattern(name, is_region(value), "a valid AWS region code"),
            None => self.missing(name),
        }
    }

    pub(crate) fn email(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(value) => {
                self.length(name, value, 1, 254);
                self.pattern(name, value.contains('@'), "an email address");
            }
            None => self.missing(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids_are_10_to_32_digits() {
        assert!(is_case_id("1234567890"));
        assert!(is_case_id(&"9".repeat(32)));
        assert!(!is_case_id("123456789"));
        assert!(!is_case_id(&"9".repeat(33)));
        assert!(!is_case_id("12345abcde"));
    }

    #[test]
    fn file_names_allow_only_the_documented_characters() {
        assert!(is_file_name("report-2024_v1.pdf"));
        assert!(!is_file_name(""));
        assert!(!is_file_name("my report.pdf"));
        assert!(!is_file_name("../etc/passwd"));
        assert!(!is_file_name("résumé.pdf"));
    }

    #[test]
    fn regions_have_the_aws_shape() {
        assert!(is_region("us-east-1"));
        assert!(is_region("us-gov-west-1"));
        assert!(is_region("ap-southeast-5"));
        assert!(!is_region("us-east"));
        assert!(!is_region("US-EAST-1"));
        assert!(!is_region("useast1"));
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let mut errors = FieldErrors::default();
        errors.length("title", &"é".repeat(300), 1, 300);
        assert!(errors.is_empty());
        errors.length("title", &"é".repeat(301), 1, 300);
        assert!(!errors.is_empty());
    }
}
