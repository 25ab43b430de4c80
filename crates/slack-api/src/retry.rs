//! How often and how long to retry a failed Slack call.

use std::time::{Duration, Instant};

use rand::Rng;

/// Retry limits for one Slack call.
///
/// Rate-limited answers wait Slack's `Retry-After`; transient failures (5xx, network,
/// timeouts) back off exponentially with jitter; everything else is returned at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts allowed for transient failures, the first one included.
    pub max_attempts: u32,
    /// The first backoff; each later one doubles, up to `max_delay`.
    pub base_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
    /// Rate-limited answers honoured for one call before giving up.
    pub max_rate_limited: u32,
    /// The longest `Retry-After` waited for in-process; a longer one is returned to the caller
    /// (who can retry much later, e.g. by leaving a queue message for redelivery).
    pub max_retry_after: Duration,
    /// `Retry-After` assumed when a 429 comes without one.
    pub default_retry_after: Duration,
    /// Time limit of one HTTP exchange (not of a streamed upload: see the transfer methods).
    pub call_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_rate_limited: 30,
            max_retry_after: Duration::from_secs(60),
            default_retry_after: Duration::from_secs(1),
            call_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `failed_attempts`-th transient failure (1 for the first): "equal
    /// jitter", a random time between half and all of `base_delay * 2^(failed_attempts - 1)`,
    /// capped at `max_delay`. Jitter keeps many workers that failed together from retrying
    /// together.
    pub fn backoff(&self, failed_attempts: u32) -> Duration {
        let exponent = failed_attempts.saturating_sub(1).min(20);
        let ceiling = self
            .base_delay
            .saturating_mul(1_u32 << exponent)
            .min(self.max_delay);
        let half = ceiling / 2;
        let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if jitter_nanos == 0 {
            0
        } else {
            rand::rng().random_range(0..=jitter_nanos)
        };
        half + Duration::from_nanos(jitter)
    }

    /// A policy that never waits long, for tests.
    pub fn quick() -> Self {
        Self {
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            ..Self::default()
        }
    }
}

/// When the work at hand must be finished (a Lambda invocation's deadline, less a margin).
///
/// A wait that would end after it is not started: the caller gives the work back instead
/// (for the Slack client, a batch item failure), so the function never times out half-way
/// through a sleep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// No deadline.
    pub const NONE: Self = Self(None);

    /// Finish by `at`.
    pub fn at(at: Instant) -> Self {
        Self(Some(at))
    }

    /// Finish within `within` from now.
    pub fn after(within: Duration) -> Self {
        Self(Instant::now().checked_add(within))
    }

    /// The instant, if any.
    pub fn instant(self) -> Option<Instant> {
        self.0
    }

    /// Whether waiting `wait` from now still ends before the deadline.
    pub fn allows(self, wait: Duration) -> bool {
        match self.0 {
            None => true,
            Some(at) => Instant::now().checked_add(wait).is_some_and(|end| end < at),
        }
    }

    /// Time left, if there is a deadline.
    pub fn remaining(self) -> Option<Duration> {
        self.0
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Whether the deadline has passed.
    pub fn is_past(self) -> bool {
        self.0.is_some_and(|at| Instant::now() >= at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let policy = RetryPolicy::default();
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(500));
            let third = policy.backoff(3);
            assert!(third >= Duration::from_secs(1) && third <= Duration::from_secs(2));
            let late = policy.backoff(30);
            assert!(late >= Duration::from_secs(4) && late <= Duration::from_secs(8));
        }
    }

    #[test]
    fn deadlines() {
        assert!(Deadline::NONE.allows(Duration::from_secs(1_000_000)));
        assert!(!Deadline::NONE.is_past());
        let soon = Deadline::after(Duration::from_secs(10));
        assert!(soon.allows(Duration::from_secs(1)));
        assert!(!soon.allows(Duration::from_secs(11)));
        assert!(
            soon.remaining()
                .is_some_and(|left| left <= Duration::from_secs(10))
        );
        let past = Deadline::at(Instant::now());
        assert!(past.is_past());
        assert!(!past.allows(Duration::ZERO));
    }
}
