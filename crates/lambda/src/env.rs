//! The one environment reader: typed getters over a lookup, and the one configuration error.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use crate::vars::{AWS_REGION, CONSOLE_REGION, Var};

/// A variable is missing or does not hold what the function needs. Never retryable: the
/// function's configuration must change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is unset or blank.
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    /// A variable is set to something the function cannot use.
    #[error("environment variable {name} must be {expected}, got `{value}`")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What it must hold (for a number, the allowed range).
        expected: String,
        /// What it holds.
        value: String,
    },
}

impl ConfigError {
    /// The variable at fault.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Missing(name) | Self::Invalid { name, .. } => name,
        }
    }

    /// `Invalid` for `var`, holding `value`.
    pub fn invalid(var: &Var, expected: impl Into<String>, value: impl Into<String>) -> Self {
        Self::Invalid {
            name: var.name,
            expected: expected.into(),
            value: value.into(),
        }
    }

    /// Whether starting again may succeed: never, the environment must change.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// The process environment, read once at start ([`crate::bootstrap`]); tests and the local
/// run build one from a map instead.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values are names, numbers and URLs, but list only the names all the same.
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

impl Environment {
    /// The variables of this process (those whose name and value are Unicode).
    pub(crate) fn from_process() -> Self {
        Self {
            vars: std::env::vars().collect(),
        }
    }

    /// A variable's value.
    pub fn get(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    /// The lookup the functions' `from_lookup` constructors take.
    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |name| self.get(name)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Environment {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            vars: iter
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
        }
    }
}

/// Reads variables through a lookup. A value is trimmed; a blank one counts as unset.
pub struct Env<L> {
    lookup: L,
}

impl<L: Fn(&str) -> Option<String>> Env<L> {
    /// A reader over `lookup` (the [`Environment`] read at start, or a map in tests).
    pub fn new(lookup: L) -> Self {
        Self { lookup }
    }

    /// The variable's value, trimmed; `None` when unset or blank.
    pub fn text(&self, var: &Var) -> Option<String> {
        (self.lookup)(var.name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// The variable's value, which must be set.
    pub fn required(&self, var: &Var) -> Result<String, ConfigError> {
        self.text(var).ok_or(ConfigError::Missing(var.name))
    }

    /// The region of the SIR console links: `CONSOLE_REGION`, else the function's own
    /// `AWS_REGION` (which must then be set).
    pub fn console_region(&self) -> Result<String, ConfigError> {
        match self.text(&CONSOLE_REGION) {
            Some(region) => Ok(region),
            None => self.required(&AWS_REGION),
        }
    }

    /// A value parsed by `parse`; unset: `None`. `expected` says what it must look like.
    pub fn parse<T>(
        &self,
        var: &Var,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, ConfigError> {
        match self.text(var) {
            None => Ok(None),
            Some(value) => match parse(&value) {
                Some(parsed) => Ok(Some(parsed)),
                None => Err(ConfigError::invalid(var, expected, value)),
            },
        }
    }

    /// A whole number within `range`; unset: `default`. Zero and every other value outside
    /// the range are refused with the range in the message.
    pub fn number<T>(
        &self,
        var: &Var,
        default: T,
        range: RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let expected = format!("a whole number from {} to {}", range.start(), range.end());
        Ok(self
            .parse(var, &expected, |value| {
                value.parse::<T>().ok().filter(|n| range.contains(n))
            })?
            .unwrap_or(default))
    }

    /// A number of seconds within `range`; unset: `default`.
    pub fn seconds(
        &self,
        var: &Var,
        default: Duration,
        range: RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.duration(var, default, range, "seconds", Duration::from_secs)
    }

    /// A number of milliseconds within `range`; unset: `default`.
    pub fn millis(
        &self,
        var: &Var,
        default: Duration,
        range: RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.duration(var, default, range, "milliseconds", Duration::from_millis)
    }

    fn duration(
        &self,
        var: &Var,
        default: Duration,
        range: RangeInclusive<u64>,
        unit: &str,
        from: fn(u64) -> Duration,
    ) -> Result<Duration, ConfigError> {
        let expected = format!(
            "a number of {unit} from {} to {}",
            range.start(),
            range.end()
        );
        Ok(self
            .parse(var, &expected, |value| {
                value.parse::<u64>().ok().filter(|n| range.contains(n))
            })?
            .map_or(default, from))
    }

    /// `true`, `1`, `yes`, `on` or `false`, `0`, `no`, `off` (any case); unset: `default`.
    pub fn flag(&self, var: &Var, default: bool) -> Result<bool, ConfigError> {
        self.choice(
            var,
            default,
            &[
                ("true", true),
                ("1", true),
                ("yes", true),
                ("on", true),
                ("false", false),
                ("0", false),
                ("no", false),
                ("off", false),
            ],
        )
    }

    /// One of `choices` (by name, any case); unset: `default`.
    pub fn choice<T: Copy>(
        &self,
        var: &Var,
        default: T,
        choices: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
        let expected = format!("one of {}", names.join(", "));
        Ok(self
            .parse(var, &expected, |value| {
                choices
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(value))
                    .map(|(_, choice)| *choice)
            })?
            .unwrap_or(default))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: Var = Var {
        name: "N",
        meaning: "a test variable",
    };

    fn env(value: &'static str) -> Env<impl Fn(&str) -> Option<String>> {
        Env::new(move |name: &str| (name == "N").then(|| value.to_owned()))
    }

    #[test]
    fn blank_is_unset_and_values_are_trimmed() {
        assert_eq!(env("  ").text(&N), None);
        assert_eq!(env(" x ").text(&N).as_deref(), Some("x"));
        assert_eq!(env("").required(&N), Err(ConfigError::Missing("N")));
        assert_eq!(
            ConfigError::Missing("N").to_string(),
            "environment variable N is required"
        );
    }

    #[test]
    fn numbers_outside_their_range_are_refused_with_the_range() {
        assert_eq!(env("7").number(&N, 4_u32, 1..=64), Ok(7));
        assert_eq!(env("").number(&N, 4_u32, 1..=64), Ok(4));
        for bad in ["0", "65", "-1", "four"] {
            let error = env(bad).number(&N, 4_u32, 1..=64).unwrap_err();
            assert_eq!(error.name(), "N");
            assert!(
                error.to_string().contains("from 1 to 64") && error.to_string().contains(bad),
                "{error}"
            );
        }
        assert_eq!(
            env("90").seconds(&N, Duration::ZERO, 0..=300),
            Ok(Duration::from_secs(90))
        );
        assert!(env("301").seconds(&N, Duration::ZERO, 0..=300).is_err());
        assert_eq!(
            env("250").millis(&N, Duration::ZERO, 0..=2500),
            Ok(Duration::from_millis(250))
        );
    }

    #[test]
    fn flags_and_choices_ignore_case() {
        assert_eq!(env("YES").flag(&N, false), Ok(true));
        assert_eq!(env("Off").flag(&N, true), Ok(false));
        assert_eq!(env("").flag(&N, true), Ok(true));
        assert!(env("maybe").flag(&N, true).is_err());
        assert_eq!(
            env("Public").choice(&N, 0, &[("private", 0), ("public", 1)]),
            Ok(1)
        );
        let error = env("secret")
            .choice(&N, 0, &[("private", 0), ("public", 1)])
            .unwrap_err();
        assert!(
            error.to_string().contains("one of private, public"),
            "{error}"
        );
    }

    #[test]
    fn an_environment_is_a_lookup() {
        let environment: Environment = [("A", "1")].into_iter().collect();
        let lookup = environment.lookup();
        assert_eq!(lookup("A").as_deref(), Some("1"));
        assert_eq!(lookup("B"), None);
        assert_eq!(format!("{environment:?}"), "{\"A\"}");
    }
}
