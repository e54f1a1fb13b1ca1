//! Precise injected delays. Tokio's timer fires on millisecond ticks, after the deadline, so a
//! plain sleep overshoots what was asked by about half a tick plus scheduling. The engine
//! measures its own overshoot as it goes (a smoothed average) and asks the timer to wake that
//! much earlier, so an injected delay has the mean it claims. A delay shorter than the
//! correction cannot be woken early, so it is dithered: with probability d / (d + lateness)
//! it sleeps to its target (taking about d + lateness), otherwise not at all — on average,
//! d. No delay ever busy-waits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// The starting guess for the overshoot, before anything was measured.
const INITIAL_OVERSHOOT_MICROS: u64 = 1_000;
/// The correction never exceeds this, whatever was measured (a stall is not the norm).
const MAX_CORRECTION_MICROS: u64 = 2_000;

/// What the timer has been overshooting by, smoothed.
#[derive(Debug)]
pub struct Overshoot {
    micros: AtomicU64,
}

impl Default for Overshoot {
    fn default() -> Self {
        Overshoot {
            micros: AtomicU64::new(INITIAL_OVERSHOOT_MICROS),
        }
    }
}

impl Overshoot {
    /// The current correction.
    pub fn correction(&self) -> Duration {
        Duration::from_micros(
            self.micros
                .load(Ordering::Relaxed)
                .min(MAX_CORRECTION_MICROS),
        )
    }

    /// Learns from one wake-up that was asked for `asked` and came at `woke`.
    pub fn observe(&self, asked: Instant, woke: Instant) {
        let late = woke.saturating_duration_since(asked).as_micros() as u64;
        let old = self.micros.load(Ordering::Relaxed);
        // An exponentially weighted mean over about the last 64 wake-ups.
        let new = (old * 63 + late.min(10 * MAX_CORRECTION_MICROS)) / 64;
        self.micros.store(new, Ordering::Relaxed);
    }

    /// The instant to ask the timer for, so that on average it fires at `target`.
    pub fn plan(&self, target: Instant) -> Instant {
        let now = Instant::now();
        let correction = self.correction();
        let remaining = target.saturating_duration_since(now);
        if remaining > correction {
            target - correction
        } else if remaining.is_zero() {
            now
        } else {
            let d = remaining.as_secs_f64();
            let p = d / (d + correction.as_secs_f64());
            if rand::random::<f64>() < p {
                target
            } else {
                now
            }
        }
    }

    /// Waits until about `target` (on average exactly), learning the timer's lateness.
    pub async fn sleep_until(&self, target: Instant) {
        let asked = self.plan(target);
        if asked > Instant::now() {
            tokio::time::sleep_until(asked).await;
            self.observe(asked, Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_correction_follows_what_was_measured() {
        let o = Overshoot::default();
        let t = Instant::now();
        for _ in 0..500 {
            o.observe(t, t + Duration::from_micros(600));
        }
        let c = o.correction().as_micros();
        assert!((590..=610).contains(&c), "correction {c}");
        o.observe(t, t + Duration::from_secs(30));
        assert!(
            o.correction() <= Duration::from_micros(MAX_CORRECTION_MICROS),
            "one stall is capped"
        );
    }

    #[test]
    fn long_delays_wake_early_by_the_correction_and_short_ones_are_dithered() {
        let o = Overshoot::default();
        let c = o.correction();
        let target = Instant::now() + Duration::from_millis(50);
        assert_eq!(o.plan(target), target - c);
        // A delay of a quarter of the correction sleeps to its target about a fifth of the
        // time (0.25 / 1.25) and otherwise not at all.
        let short = c / 4;
        let slept = (0..4000)
            .filter(|_| {
                let t = Instant::now() + short;
                o.plan(t) >= t - Duration::from_micros(50)
            })
            .count();
        assert!((600..1000).contains(&slept), "slept {slept} of 4000");
    }
}
