//! Durations of one kind: sirslack's APIs take [`std::time::Duration`]; the few places that
//! do calendar arithmetic (a lease's end, a marker's expiry, how long a case has been quiet)
//! convert here, once, and never fail.
//!
//! Both conversions saturate instead of erring: a span longer than chrono can hold (about
//! 292 million years) becomes [`chrono::Duration::MAX`], and a negative span (a time in the
//! future) becomes zero. Nothing the integration configures comes near either bound, so no
//! caller needs a fallback of its own.
//!
//! ```
//! use std::time::Duration;
//! use sirslack_domain::duration::{to_chrono, to_std};
//!
//! assert_eq!(to_chrono(Duration::from_secs(90)), chrono::Duration::seconds(90));
//! assert_eq!(to_chrono(Duration::MAX), chrono::Duration::MAX);
//! assert_eq!(to_std(chrono::Duration::minutes(-5)), Duration::ZERO);
//! ```

use std::time::Duration;

/// `duration` as a [`chrono::Duration`], [`chrono::Duration::MAX`] when it is longer than
/// chrono can hold.
pub fn to_chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// `duration` as a [`std::time::Duration`], zero when it is negative.
pub fn to_std(duration: chrono::Duration) -> Duration {
    duration.to_std().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_keep_what_fits_and_saturate_the_rest() {
        for seconds in [0, 1, 59, 3_600, 86_400 * 365] {
            let std = Duration::from_secs(seconds);
            assert_eq!(to_std(to_chrono(std)), std);
        }
        assert_eq!(
            to_chrono(Duration::from_millis(1_500)),
            chrono::Duration::milliseconds(1_500)
        );
        assert_eq!(to_chrono(Duration::MAX), chrono::Duration::MAX);
        assert_eq!(
            to_chrono(Duration::from_secs(u64::MAX)),
            chrono::Duration::MAX
        );
        assert_eq!(to_std(chrono::Duration::seconds(-1)), Duration::ZERO);
        assert_eq!(to_std(chrono::Duration::MIN), Duration::ZERO);
        assert_eq!(
            to_std(chrono::Duration::MAX).as_secs(),
            u64::try_from(chrono::Duration::MAX.num_seconds()).unwrap_or(u64::MAX)
        );
    }
}
