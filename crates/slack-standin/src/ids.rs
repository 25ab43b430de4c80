//! Slack-shaped identifiers and message timestamps.

/// Hands out IDs like `C00000001A`: a type prefix and a zero-padded counter, so IDs sort in
/// creation order and never collide with each other.
#[derive(Debug, Default)]
pub(crate) struct IdGenerator {
    next: u64,
}

impl IdGenerator {
    pub(crate) fn next(&mut self, prefix: char) -> String {
        self.next += 1;
        format!("{prefix}0{:08X}", self.next)
    }
}

/// Message timestamps (`"1700000000.000100"`): wall-clock microseconds, but strictly increasing
/// even when two messages arrive in the same microsecond or the clock steps back, because Slack
/// uses `ts` as the message's identity within a channel.
#[derive(Debug, Default)]
pub(crate) struct TsClock {
    last_micros: i64,
}

impl TsClock {
    pub(crate) fn next(&mut self) -> String {
        let now = chrono::Utc::now().timestamp_micros();
        self.last_micros = now.max(self.last_micros + 1);
        format_ts(self.last_micros)
    }
}

pub(crate) fn format_ts(micros: i64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

pub(crate) fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An opaque, unguessable token (upload URLs, event IDs).
pub(crate) fn random_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Percent-encodes one URL path segment (file names go into download URLs).
pub(crate) fn encode_path_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_strictly_increase_and_have_six_fraction_digits() {
        let mut clock = TsClock::default();
        let first = clock.next();
        let second = clock.next();
        assert!(second > first, "{second} should sort after {first}");
        let (_, fraction) = first.split_once('.').expect("ts has a dot");
        assert_eq!(fraction.len(), 6);
    }

    #[test]
    fn ids_carry_their_prefix_and_are_unique() {
        let mut ids = IdGenerator::default();
        let a = ids.next('C');
        let b = ids.next('C');
        assert!(a.starts_with('C'));
        assert_ne!(a, b);
        assert!(a < b);
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode_path_segment("a b/ü.txt"), "a%20b%2F%C3%BC.txt");
    }
}
