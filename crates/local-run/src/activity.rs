//! Work in flight in the world (invocations, Slack deliveries and their retries, async
//! invocations waiting for a retry), so a test can wait until everything has settled.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Inner {
    in_flight: AtomicUsize,
    last_change: Mutex<Instant>,
}

/// A counter of work in flight and the time anything last started or finished.
#[derive(Debug, Clone)]
pub(crate) struct Activity {
    inner: Arc<Inner>,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                in_flight: AtomicUsize::new(0),
                last_change: Mutex::new(Instant::now()),
            }),
        }
    }
}

impl Activity {
    /// Counts one piece of work until the guard is dropped.
    pub(crate) fn begin(&self) -> ActivityGuard {
        self.inner.in_flight.fetch_add(1, Ordering::SeqCst);
        self.touch();
        ActivityGuard {
            activity: self.clone(),
        }
    }

    /// Notes that something happened (without work staying in flight).
    pub(crate) fn touch(&self) {
        *self
            .inner
            .last_change
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// Work in flight now.
    pub(crate) fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::SeqCst)
    }

    /// How long nothing has started or finished; `None` while work is in flight.
    pub(crate) fn idle_for(&self) -> Option<Duration> {
        if self.in_flight() > 0 {
            return None;
        }
        Some(
            self.inner
                .last_change
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .elapsed(),
        )
    }
}

/// One piece of work in flight.
#[derive(Debug)]
pub(crate) struct ActivityGuard {
    activity: Activity,
}

impl Drop for ActivityGuard {
    fn drop(&mut self) {
        self.activity.touch();
        self.activity.inner.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_count_work_and_reset_the_idle_clock() {
        let activity = Activity::default();
        let first = activity.begin();
        let second = activity.begin();
        assert_eq!(activity.in_flight(), 2);
        assert_eq!(activity.idle_for(), None);
        drop(first);
        drop(second);
        assert_eq!(activity.in_flight(), 0);
        assert!(
            activity
                .idle_for()
                .is_some_and(|idle| idle < Duration::from_secs(5))
        );
    }
}
