//! Slack's ~1 message per second per channel, kept inside one process.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Entries kept before old ones are dropped (a Lambda container sees a few dozen channels).
const MAX_TRACKED_CHANNELS: usize = 1_000;

/// Spaces posts to the same channel by a minimum interval.
///
/// Each caller books the next free slot of its channel and sleeps until it; a 429 pushes the
/// channel's next slot back by `Retry-After`. This only coordinates one process: the Slack
/// client additionally lets one worker at a time write to a case's channel (a per-case lease),
/// so the interval holds across Lambda instances too.
#[derive(Debug)]
pub struct ChannelPacer {
    interval: Duration,
    next_slot: Mutex<HashMap<String, Instant>>,
}

impl ChannelPacer {
    /// A pacer with `interval` between posts to one channel (zero turns pacing off).
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            next_slot: Mutex::new(HashMap::new()),
        }
    }

    /// The interval between posts to one channel.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Books the channel's next slot and returns when it starts (now, or later).
    pub fn book(&self, channel: &str) -> Instant {
        let now = Instant::now();
        let mut slots = self
            .next_slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slots.len() >= MAX_TRACKED_CHANNELS {
            slots.retain(|_, slot| *slot > now);
        }
        let slot = slots
            .get(channel)
            .copied()
            .map_or(now, |next| next.max(now));
        slots.insert(channel.to_owned(), slot + self.interval);
        slot
    }

    /// Waits for the channel's turn.
    pub async fn wait_turn(&self, channel: &str) {
        if self.interval.is_zero() {
            return;
        }
        let slot = self.book(channel);
        tokio::time::sleep_until(slot.into()).await;
    }

    /// Nothing more goes to `channel` for `wait` (Slack answered 429 with this `Retry-After`).
    pub fn hold_off(&self, channel: &str, wait: Duration) {
        let until = Instant::now() + wait;
        let mut slots = self
            .next_slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = slots.entry(channel.to_owned()).or_insert(until);
        *slot = (*slot).max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_per_channel() {
        let pacer = ChannelPacer::new(Duration::from_secs(1));
        let first = pacer.book("C1");
        let second = pacer.book("C1");
        let other = pacer.book("C2");
        assert_eq!(second - first, Duration::from_secs(1));
        assert!(other < second, "another channel is not held back");
        pacer.hold_off("C1", Duration::from_secs(30));
        let after_429 = pacer.book("C1");
        assert!(after_429 >= first + Duration::from_secs(29));
    }
}
