//! The poller's settings, from the function's environment.

use std::time::Duration;

use chrono::{DateTime, Utc};
pub use sirslack_lambda::ConfigError;
use sirslack_lambda::Env;
use sirslack_lambda::vars::{
    ATTACHMENT_RECHECK_MINUTES, CASE_LEASE_SECONDS, EVENT_BUS_NAME, NUDGE_QUIET_HOURS,
    NUDGE_QUIET_HOURS_EARLY, RECONCILE_ATTACHMENT_RECHECK_MINUTES,
    RECONCILE_ATTACHMENT_RECHECKS_PER_RUN, RECONCILE_LEASE_SECONDS, SIR_MEMBERSHIP_ID,
    SYNC_CASES_UPDATED_SINCE, SYNC_CONCURRENCY, TABLE_NAME, Var,
};

/// Everything the poller can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollerConfig {
    /// The DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    /// The custom bus integration events go to (`EVENT_BUS_NAME`).
    pub event_bus_name: String,
    /// How long an open case's attachments may go unchecked before a reconcile reads the case
    /// again (`RECONCILE_ATTACHMENT_RECHECK_MINUTES`, or `ATTACHMENT_RECHECK_MINUTES`; default
    /// 30). Attachments have no native
    /// event; a case with a `Pending` attachment is checked on every reconcile.
    pub attachment_recheck: Duration,
    /// At most this many cases are re-read for attachments alone per reconcile
    /// (`RECONCILE_ATTACHMENT_RECHECKS_PER_RUN`, default 25), oldest check first, so that the
    /// re-reads of many open cases spread over several runs.
    pub attachment_rechecks_per_run: usize,
    /// Cases synced at once (`SYNC_CONCURRENCY`, default 4).
    pub sync_concurrency: usize,
    /// How long a case sync holds its per-case lease (`CASE_LEASE_SECONDS`, default 120).
    pub case_lease: Duration,
    /// How long a reconcile holds the reconcile lease (`RECONCILE_LEASE_SECONDS`, default 300;
    /// set it to the function timeout).
    pub reconcile_lease: Duration,
    /// The SIR membership whose incident response team watches every case
    /// (`SIR_MEMBERSHIP_ID`); found with ListMemberships (and remembered) when unset.
    pub membership_id: Option<String>,
    /// The sync floor (`SYNC_CASES_UPDATED_SINCE`, an RFC 3339 time; unset: none). A case the
    /// reconcile has never seen whose `lastUpdatedDate` is before it is recorded as seen without
    /// publishing anything (no channel); it gets its channel once it is updated. The deploy's
    /// `--sync-existing none` sets it to the deploy time, `--sync-existing <date>` to that date.
    pub sync_floor: Option<DateTime<Utc>>,
    /// When quiet open cases get a nudge in their channel (see [`NudgePolicy`]).
    pub nudges: NudgePolicy,
}

/// How long an open case may stay quiet (no change to its `lastUpdatedDate`, which SIR moves
/// for every comment, Slack's included, and every status change) before its channel gets a
/// nudge; a nudge is not repeated sooner than the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NudgePolicy {
    /// Every open case (`NUDGE_QUIET_HOURS`, default 24; 0 turns nudges off). `None`: off.
    pub quiet: Option<Duration>,
    /// Cases still `Submitted` or `Detection and Analysis` (`NUDGE_QUIET_HOURS_EARLY`, default
    /// 4; 0: the same as every other case). Never longer than `quiet`.
    pub early: Option<Duration>,
}

impl Default for NudgePolicy {
    fn default() -> Self {
        Self {
            quiet: Some(Duration::from_secs(24 * 3600)),
            early: Some(Duration::from_secs(4 * 3600)),
        }
    }
}

impl NudgePolicy {
    /// No nudges at all.
    pub const OFF: Self = Self {
        quiet: None,
        early: None,
    };

    /// The quiet time after which a case with `status` is nudged; `None` for closed cases and
    /// when nudges are off.
    pub fn threshold(&self, status: &sirslack_domain::CaseStatus) -> Option<Duration> {
        use sirslack_domain::CaseStatus;
        let quiet = self.quiet?;
        if status.is_closed() {
            return None;
        }
        match status {
            CaseStatus::Submitted | CaseStatus::DetectionAndAnalysis => {
                Some(self.early.map_or(quiet, |early| early.min(quiet)))
            }
            _ => Some(quiet),
        }
    }
}

impl PollerConfig {
    /// Defaults for everything but the table and bus.
    pub fn new(table_name: impl Into<String>, event_bus_name: impl Into<String>) -> Self {
        Self {
            table_name: table_name.into(),
            event_bus_name: event_bus_name.into(),
            attachment_recheck: Duration::from_secs(30 * 60),
            attachment_rechecks_per_run: 25,
            sync_concurrency: 4,
            case_lease: Duration::from_secs(120),
            reconcile_lease: Duration::from_secs(300),
            membership_id: None,
            sync_floor: None,
            nudges: NudgePolicy::default(),
        }
    }

    /// Reads the configuration through `lookup` (the environment read at start, or a map in
    /// tests); the variables are listed in `sirslack_lambda::vars::POLLER`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(lookup);
        let mut config = Self::new(env.required(&TABLE_NAME)?, env.required(&EVENT_BUS_NAME)?);
        // `ATTACHMENT_RECHECK_MINUTES` is the name the stack sets; the longer name wins.
        let recheck = if env.text(&RECONCILE_ATTACHMENT_RECHECK_MINUTES).is_none() {
            &ATTACHMENT_RECHECK_MINUTES
        } else {
            &RECONCILE_ATTACHMENT_RECHECK_MINUTES
        };
        config.attachment_recheck = Duration::from_secs(60 * env.number(recheck, 30, 1..=1440)?);
        config.attachment_rechecks_per_run =
            env.number(&RECONCILE_ATTACHMENT_RECHECKS_PER_RUN, 25, 0..=1000)?;
        config.sync_concurrency = env.number(&SYNC_CONCURRENCY, 4, 1..=64)?;
        config.case_lease = env.seconds(&CASE_LEASE_SECONDS, Duration::from_secs(120), 1..=3600)?;
        config.reconcile_lease =
            env.seconds(&RECONCILE_LEASE_SECONDS, Duration::from_secs(300), 1..=3600)?;
        config.membership_id = env.text(&SIR_MEMBERSHIP_ID);
        config.sync_floor = env.parse(
            &SYNC_CASES_UPDATED_SINCE,
            "an RFC 3339 time such as 2026-01-01T00:00:00Z",
            |value| {
                DateTime::parse_from_rfc3339(value)
                    .ok()
                    .map(|floor| floor.with_timezone(&Utc))
            },
        )?;
        let hours = |var: &Var, default: f64| -> Result<Option<Duration>, ConfigError> {
            let value = env
                .parse(var, "a number of hours from 0 to 8784 (0: off)", |value| {
                    value
                        .parse::<f64>()
                        .ok()
                        .filter(|hours| hours.is_finite() && (0.0..=24.0 * 366.0).contains(hours))
                })?
                .unwrap_or(default);
            Ok((value > 0.0).then(|| Duration::from_secs_f64(value * 3600.0)))
        };
        config.nudges = NudgePolicy {
            quiet: hours(&NUDGE_QUIET_HOURS, 24.0)?,
            early: hours(&NUDGE_QUIET_HOURS_EARLY, 4.0)?,
        };
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<PollerConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PollerConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn reads_exactly_the_listed_variables() {
        let check = sirslack_lambda::check::reads_match(&sirslack_lambda::vars::POLLER, |lookup| {
            PollerConfig::from_lookup(lookup)
        });
        assert_eq!(check, Ok(()));
    }

    #[test]
    fn defaults_need_only_the_table_and_bus() {
        let config = config(&[("TABLE_NAME", "t"), ("EVENT_BUS_NAME", "b")]).unwrap();
        assert_eq!(config, PollerConfig::new("t", "b"));
        assert_eq!(config.attachment_recheck, Duration::from_secs(1800));
    }

    #[test]
    fn every_setting_is_read() {
        let config = config(&[
            ("TABLE_NAME", "t"),
            ("EVENT_BUS_NAME", "b"),
            ("RECONCILE_ATTACHMENT_RECHECK_MINUTES", "10"),
            ("RECONCILE_ATTACHMENT_RECHECKS_PER_RUN", "0"),
            ("SYNC_CONCURRENCY", "8"),
            ("CASE_LEASE_SECONDS", "60"),
            ("RECONCILE_LEASE_SECONDS", "900"),
            ("SIR_MEMBERSHIP_ID", " m-123 "),
            ("SYNC_CASES_UPDATED_SINCE", "2026-03-01T12:00:00+01:00"),
        ])
        .unwrap();
        assert_eq!(config.attachment_recheck, Duration::from_secs(600));
        assert_eq!(config.attachment_rechecks_per_run, 0);
        assert_eq!(config.sync_concurrency, 8);
        assert_eq!(config.case_lease, Duration::from_secs(60));
        assert_eq!(config.reconcile_lease, Duration::from_secs(900));
        assert_eq!(config.membership_id.as_deref(), Some("m-123"));
        assert_eq!(
            config.sync_floor.map(|floor| floor.to_rfc3339()),
            Some("2026-03-01T11:00:00+00:00".to_string())
        );
    }

    #[test]
    fn the_recheck_interval_also_reads_the_infrastructure_name() {
        let short = config(&[
            ("TABLE_NAME", "t"),
            ("EVENT_BUS_NAME", "b"),
            ("ATTACHMENT_RECHECK_MINUTES", "7"),
        ])
        .unwrap();
        assert_eq!(short.attachment_recheck, Duration::from_secs(420));
        let both = config(&[
            ("TABLE_NAME", "t"),
            ("EVENT_BUS_NAME", "b"),
            ("ATTACHMENT_RECHECK_MINUTES", "7"),
            ("RECONCILE_ATTACHMENT_RECHECK_MINUTES", "9"),
        ])
        .unwrap();
        assert_eq!(both.attachment_recheck, Duration::from_secs(540));
    }

    #[test]
    fn nudge_thresholds_default_to_a_day_and_four_hours_and_zero_turns_them_off() {
        use sirslack_domain::CaseStatus;
        let base = [("TABLE_NAME", "t"), ("EVENT_BUS_NAME", "b")];
        let defaults = config(&base).unwrap().nudges;
        assert_eq!(
            defaults.threshold(&CaseStatus::Submitted),
            Some(Duration::from_secs(4 * 3600))
        );
        assert_eq!(
            defaults.threshold(&CaseStatus::DetectionAndAnalysis),
            Some(Duration::from_secs(4 * 3600))
        );
        assert_eq!(
            defaults.threshold(&CaseStatus::Acknowledged),
            Some(Duration::from_secs(24 * 3600))
        );
        assert_eq!(defaults.threshold(&CaseStatus::Closed), None);

        let tiny = config(&[
            base[0],
            base[1],
            ("NUDGE_QUIET_HOURS", "0.002"),
            ("NUDGE_QUIET_HOURS_EARLY", "0"),
        ])
        .unwrap()
        .nudges;
        assert_eq!(
            tiny.threshold(&CaseStatus::Submitted),
            Some(Duration::from_secs_f64(7.2))
        );
        let off = config(&[base[0], base[1], ("NUDGE_QUIET_HOURS", "0")])
            .unwrap()
            .nudges;
        assert_eq!(off.threshold(&CaseStatus::Submitted), None);
        assert_eq!(off.threshold(&CaseStatus::Acknowledged), None);
        // The early threshold is never longer than the general one.
        let long_early = config(&[
            base[0],
            base[1],
            ("NUDGE_QUIET_HOURS", "2"),
            ("NUDGE_QUIET_HOURS_EARLY", "8"),
        ])
        .unwrap()
        .nudges;
        assert_eq!(
            long_early.threshold(&CaseStatus::Submitted),
            Some(Duration::from_secs(7200))
        );
        for bad in ["-1", "soon", "NaN", "9000"] {
            let err = config(&[base[0], base[1], ("NUDGE_QUIET_HOURS", bad)]).unwrap_err();
            assert!(err.to_string().contains("NUDGE_QUIET_HOURS"), "{err}");
        }
    }

    #[test]
    fn bad_values_are_reported_by_name() {
        let err = config(&[("EVENT_BUS_NAME", "b")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable TABLE_NAME is required"
        );
        let err = config(&[
            ("TABLE_NAME", "t"),
            ("EVENT_BUS_NAME", "b"),
            ("SYNC_CONCURRENCY", "0"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("SYNC_CONCURRENCY"), "{err}");
        let err = config(&[
            ("TABLE_NAME", "t"),
            ("EVENT_BUS_NAME", "b"),
            ("RECONCILE_ATTACHMENT_RECHECK_MINUTES", "soon"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("`soon`"), "{err}");
        let err = config(&[
            ("TABLE_NAME", "t"),
            ("EVENT_BUS_NAME", "b"),
            ("SYNC_CASES_UPDATED_SINCE", "2026-01-01"),
        ])
        .unwrap_err();
        assert!(
            err.to_string().contains("SYNC_CASES_UPDATED_SINCE")
                && err.to_string().contains("RFC 3339"),
            "{err}"
        );
    }
}
