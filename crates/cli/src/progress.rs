//! Numbered progress lines with the time each step took.
//!
//! ```text
//! [2/8] Check the bot token with Slack auth.test
//!       ok (0.3 s): workspace T0123456789 (Acme), bot user sirslack
//! ```

use std::io::Write;
use std::time::{Duration, Instant};

/// Prints one line per step start and one per step end.
#[derive(Debug)]
pub struct Progress {
    total: usize,
    current: usize,
    started: Instant,
}

/// A started step.
#[derive(Debug)]
#[must_use = "finish the step with done() or failed()"]
pub struct Step {
    started: Instant,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        Self {
            total,
            current: 0,
            started: Instant::now(),
        }
    }

    pub fn start(&mut self, title: &str) -> Step {
        self.current += 1;
        println!("[{}/{}] {title}", self.current, self.total);
        let _ = std::io::stdout().flush();
        Step {
            started: Instant::now(),
        }
    }

    /// Time since the first step.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

impl Step {
    pub fn done(self, detail: impl AsRef<str>) {
        println!(
            "      ok ({}): {}",
            seconds(self.started.elapsed()),
            detail.as_ref()
        );
        let _ = std::io::stdout().flush();
    }

    pub fn failed(self) {
        println!("      FAILED ({})", seconds(self.started.elapsed()));
        let _ = std::io::stdout().flush();
    }
}

/// `12.3 s`
pub fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}
