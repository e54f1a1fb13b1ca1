//! The run's monotonic clock: every trace time is microseconds since the run started.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Shared by every component of a run; cheap to copy.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: Instant,
    wall_start_micros: u64,
}

impl Clock {
    /// A clock whose zero is now.
    pub fn start() -> Clock {
        Clock {
            start: Instant::now(),
            wall_start_micros: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_micros() as u64)
                .unwrap_or(0),
        }
    }

    /// Microseconds since the run started.
    pub fn now_micros(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Microseconds since the run started at `instant` (0 if before the start).
    pub fn micros_at(&self, instant: Instant) -> u64 {
        instant.saturating_duration_since(self.start).as_micros() as u64
    }

    /// The instant the run started.
    pub fn started_at(&self) -> Instant {
        self.start
    }

    /// Wall-clock time of the start, in microseconds since the Unix epoch.
    pub fn wall_start_micros(&self) -> u64 {
        self.wall_start_micros
    }
}
