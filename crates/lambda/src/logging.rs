//! The one logging set-up, and the one way to print an embedded-metric line.
//!
//! It reads what the runtime's own `init_default_subscriber` reads, with the same precedence:
//! the level from `AWS_LAMBDA_LOG_LEVEL` (set by Lambda from the function's logging
//! configuration), else `RUST_LOG`, else `INFO`; JSON lines when `AWS_LAMBDA_LOG_FORMAT` is
//! `JSON`. It differs in one point: every line carries an RFC 3339 `timestamp`. Lambda's
//! log-level filter assigns the level INFO to a JSON line whose `level` is missing *or whose
//! timestamp is not valid RFC 3339* (AWS Lambda developer guide, "Log-level filtering"), so with
//! the runtime's subscriber, which writes no time, every ERROR line would be filed as INFO and
//! dropped at the stacks' default `error` level.
//!
//! Embedded-metric lines (the `SecurityRefusals` and sync metrics the alarms read) are printed
//! through [`print_metric`], which stamps them with the function's own log level and a
//! timestamp, so Lambda's filter never drops them, whatever the level.

use std::str::FromStr;
use std::sync::OnceLock;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;

/// The level the function logs at, as Lambda names it (`INFO`, `ERROR`, ...).
static LEVEL: OnceLock<String> = OnceLock::new();

/// Sets up the process-wide subscriber from `lookup` (the process environment in a function).
/// Later calls do nothing.
pub fn init_logging(lookup: impl Fn(&str) -> Option<String>) {
    let level = lookup("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| lookup("RUST_LOG"))
        .and_then(|value| LevelFilter::from_str(value.trim()).ok())
        .unwrap_or(LevelFilter::INFO);
    let json = lookup("AWS_LAMBDA_LOG_FORMAT")
        .is_some_and(|format| format.trim().eq_ignore_ascii_case("json"));
    if LEVEL.set(lambda_level(level)).is_err() {
        return;
    }
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .with_env_filter(
            EnvFilter::builder()
                .with_default_directive(level.into())
                .parse_lossy(""),
        );
    // `try_init`: a test process may already have a subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Lambda's name for a level (its filter knows TRACE, DEBUG, INFO, WARN, ERROR, FATAL).
fn lambda_level(level: LevelFilter) -> String {
    match level.into_level() {
        Some(level) => level.as_str().to_owned(),
        // `off`: Lambda has no such level; metric lines then claim the highest.
        None => "FATAL".to_owned(),
    }
}

/// Prints one embedded-metric-format line on stdout (where CloudWatch Logs extracts the metric),
/// with `level` set to the function's own log level and an RFC 3339 `timestamp`, so Lambda's
/// log-level filter keeps it. A `line` that is not a JSON object is printed as it is.
pub fn print_metric(line: &str) {
    println!("{}", stamp_metric(line, level(), &now_rfc3339()));
}

fn level() -> &'static str {
    LEVEL.get().map_or("INFO", String::as_str)
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn stamp_metric(line: &str, level: &str, timestamp: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(mut object)) => {
            object.insert("level".to_owned(), level.into());
            object.insert("timestamp".to_owned(), timestamp.into());
            serde_json::Value::Object(object).to_string()
        }
        _ => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_line_keeps_its_fields_and_gains_the_level_and_a_timestamp() {
        let line = r#"{"_aws":{"Timestamp":1},"Reason":"policy_denied","SecurityRefusals":1}"#;
        let stamped: serde_json::Value =
            serde_json::from_str(&stamp_metric(line, "ERROR", "2026-12-07T01:02:03.004Z")).unwrap();
        assert_eq!(stamped["level"], "ERROR");
        assert_eq!(stamped["timestamp"], "2026-12-07T01:02:03.004Z");
        assert_eq!(stamped["Reason"], "policy_denied");
        assert_eq!(stamped["_aws"]["Timestamp"], 1);
        assert_eq!(stamp_metric("not json", "ERROR", "t"), "not json");
    }

    #[test]
    fn levels_are_named_as_lambda_names_them() {
        assert_eq!(lambda_level(LevelFilter::ERROR), "ERROR");
        assert_eq!(lambda_level(LevelFilter::DEBUG), "DEBUG");
        assert_eq!(lambda_level(LevelFilter::OFF), "FATAL");
    }

    #[test]
    fn timestamps_are_rfc3339_in_utc() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 24, "{now}");
        assert!(chrono::DateTime::parse_from_rfc3339(&now).is_ok(), "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T', "{now}");
    }
}
