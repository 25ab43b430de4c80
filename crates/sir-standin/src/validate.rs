//! Input constraints from the SIR model, reported with AWS's wording.

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

/// List limits of the SIR model (`ImpactedAccounts`, `Watchers`, `ThreatActorIpList`,
/// `ImpactedServicesList`, `ImpactedAwsRegionList`, `TagMap`).
pub(crate) const IMPACTED_ACCOUNTS_MAX: usize = 200;
pub(crate) const WATCHERS_MAX: usize = 30;
pub(crate) const THREAT_ACTOR_IPS_MAX: usize = 200;
pub(crate) const IMPACTED_SERVICES_MAX: usize = 600;
pub(crate) const IMPACTED_REGIONS_MAX: usize = 50;
pub(crate) const TAGS_MAX: usize = 200;
/// `EmailAddress`: 6-254 characters and this pattern.
pub(crate) const EMAIL_PATTERN: &str =
    "^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9-]+(?:\\.[a-zA-Z0-9-]+)*$";
/// `IPAddress`, as the model writes it (dotted IPv4; IPv6 only in full, upper-case form).
pub(crate) const IP_ADDRESS_PATTERN: &str = "^(?:(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?))|(?:(?:[A-F0-9]{1,4}:){7}[A-F0-9]{1,4})|(?:(?:[A-F0-9]{1,4}:){6}(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?))$";
/// `AwsService`: 2-50 characters and this pattern (` -.` is the range from space to `.`).
pub(crate) const SERVICE_PATTERN: &str = "^[a-zA-Z0-9 -.():]+$";

pub(crate) const CASE_ID_PATTERN: &str = "\\d{10,32}";
pub(crate) const FILE_NAME_PATTERN: &str = "[a-zA-Z0-9._-]+";

pub(crate) fn is_case_id(value: &str) -> bool {
    (10..=32).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

/// An `EmailAddress` as the SIR model's pattern allows it.
pub(crate) fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c));
    let domain_ok = domain.split('.').all(|label| {
        !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    local_ok && domain_ok
}

/// One IPv4 part as the model's `25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?` allows it: 1-3
/// digits up to 255 (leading zeros allowed).
fn is_ipv4_part(part: &str) -> bool {
    (1..=3).contains(&part.len())
        && part.bytes().all(|b| b.is_ascii_digit())
        && part.parse::<u16>().is_ok_and(|value| value <= 255)
}

fn is_ipv4(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    parts.len() == 4 && parts.iter().all(|part| is_ipv4_part(part))
}

fn is_ipv6_group(group: &str) -> bool {
    (1..=4).contains(&group.len())
        && group
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// An `IPAddress` as the SIR model's pattern allows it: dotted IPv4, or IPv6 written in full
/// (8 groups, or 6 groups and a dotted IPv4) with upper-case hex digits. No `::` shorthand and
/// no lower case: `2001:db8::1` is refused. The model's pattern anchors only its first and last
/// alternatives (so it would let `1.2.3.4x` through); the stricter reading is taken here: the
/// whole value must be one of the three forms.
pub(crate) fn is_model_ip_address(value: &str) -> bool {
    if is_ipv4(value) {
        return true;
    }
    let groups: Vec<&str> = value.split(':').collect();
    match groups.len() {
        8 => groups.iter().all(|group| is_ipv6_group(group)),
        7 => groups[..6].iter().all(|group| is_ipv6_group(group)) && is_ipv4(groups[6]),
        _ => false,
    }
}

/// An `AwsService` name's characters: letters, digits, space to `.`, `(`, `)`, `:`.
pub(crate) fn is_service_name(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || (' '..='.').contains(&c) || "():".contains(c))
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
            Some(value) => {
                self.pattern(name, is_model_ip_address(value), IP_ADDRESS_PATTERN);
            }
            None => self.missing(name),
        }
    }

    /// A list's `@length` maximum.
    pub(crate) fn list_length(&mut self, name: &str, length: usize, max: usize) {
        if length > max {
            self.push(
                name,
                format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A list's `@uniqueItems`. The wording is the stand-in's own (AWS's is not documented).
    pub(crate) fn unique<T: PartialEq>(&mut self, name: &str, items: &[T]) {
        let repeated = items
            .iter()
            .enumerate()
            .any(|(index, item)| items[..index].contains(item));
        if repeated {
            self.push(name, "Member must have unique items");
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
                self.length(name, value, 6, 254);
                self.pattern(name, is_email(value), EMAIL_PATTERN);
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
    fn ip_addresses_follow_the_model_pattern() {
        for ok in [
            "198.51.100.7",
            "010.0.0.1",
            "2001:0DB8:0000:0000:0000:0000:0000:0001",
            "2001:DB8:0:0:0:0:0:1",
            "0:0:0:0:0:FFFF:192.0.2.1",
        ] {
            assert!(is_model_ip_address(ok), "{ok}");
        }
        for refused in [
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4x",
            "2001:db8::1",
            "2001:db8:0:0:0:0:0:1",
            "::1",
            "not an ip",
            "",
        ] {
            assert!(!is_model_ip_address(refused), "{refused}");
        }
    }

    #[test]
    fn emails_and_service_names_follow_the_model_patterns() {
        assert!(is_email("alice.o'neil+ir@example.co.uk"));
        assert!(!is_email("alice@"));
        assert!(!is_email("alice@exa_mple.com"));
        assert!(!is_email("alice@example..com"));
        assert!(!is_email("no-at-sign"));
        assert!(is_service_name("Amazon EC2 (Linux): us-east-1"));
        assert!(!is_service_name("S3/Glacier"));
        assert!(!is_service_name("ünicode"));
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
