//! When the window paints its next frame. Under a software GL driver a frame costs far more
//! than drawing it, so the window paints only when something on screen changes: at most one
//! frame per `FRAME_BUDGET` while dots move (`SMOOTH_FRAME` when the user asks for smooth
//! motion), once per fresh snapshot otherwise, and nothing while hidden or paused with
//! nothing moving. `next_frame` and `wake_delay` are the whole policy, as plain functions
//! tested below; `FrameStats` counts frames when `HOPSCOPE_FRAME_STATS=1`.

use std::time::{Duration, Instant};

pub use crate::engine::WakeCause;

/// The shortest gap between frames while something moves (30 frames a second).
pub const FRAME_BUDGET: Duration = Duration::from_millis(33);
/// The gap with smooth motion on (60 frames a second).
pub const SMOOTH_FRAME: Duration = Duration::from_millis(16);

/// What is on screen, as the frame policy sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// The window is minimised, hidden or fully covered.
    pub hidden: bool,
    /// Generated traffic is paused.
    pub paused: bool,
    /// Dots travel or fall on the canvas.
    pub moving: bool,
    /// Something else animates: a replay playing, a background job, the short stretch after
    /// an input or a command while its effect shows.
    pub animating: bool,
    /// The next change time alone brings to a still window (a toast going), if any.
    pub due: Option<Duration>,
    /// The user asked for smooth motion (60 frames a second instead of 30).
    pub smooth: bool,
}

impl Activity {
    /// The gap between frames while something moves.
    pub fn frame_gap(&self) -> Duration {
        if self.smooth {
            SMOOTH_FRAME
        } else {
            FRAME_BUDGET
        }
    }

    /// How the engine's wake-ups are taken until the next frame.
    pub fn wake_mode(&self) -> WakeMode {
        if self.hidden {
            WakeMode::Hidden
        } else if self.moving || self.animating {
            WakeMode::Animating
        } else if self.paused {
            WakeMode::Paused
        } else {
            WakeMode::Idle
        }
    }
}

/// When the next frame is due without any input: `None` means not until an input or a
/// fresh snapshot wakes the window.
pub fn next_frame(activity: &Activity) -> Option<Duration> {
    match activity.wake_mode() {
        WakeMode::Animating => Some(activity.frame_gap()),
        WakeMode::Hidden => None,
        WakeMode::Paused | WakeMode::Idle => activity.due,
    }
}

/// How the window takes a wake-up from the engine's recorder thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum WakeMode {
    /// Frames are already timed (`next_frame`): the next one reads the new snapshot.
    Animating = 0,
    /// Nothing moves: a snapshot with changes is drawn, at most one per frame gap.
    Idle = 1,
    /// Traffic paused and nothing moves: only new trace events (an outside request) are
    /// drawn; the clock alone (a new second of zeros in the plots) is not.
    Paused = 2,
    /// Minimised or hidden: nothing is drawn until the window shows again.
    Hidden = 3,
}

impl WakeMode {
    /// The mode stored as `repr` (for an atomic).
    pub fn from_repr(repr: u8) -> WakeMode {
        match repr {
            0 => WakeMode::Animating,
            1 => WakeMode::Idle,
            2 => WakeMode::Paused,
            _ => WakeMode::Hidden,
        }
    }
}

/// After a wake-up for `cause` in `mode`, how soon to paint (`None`: not for this one).
pub fn wake_delay(mode: WakeMode, cause: WakeCause, gap: Duration) -> Option<Duration> {
    match (mode, cause) {
        (WakeMode::Animating | WakeMode::Hidden, _) => None,
        (WakeMode::Paused, WakeCause::Clock) => None,
        (WakeMode::Idle, _) | (WakeMode::Paused, WakeCause::Events) => Some(gap),
    }
}

/// Counts frames and, when `HOPSCOPE_FRAME_STATS=1`, prints the running count on stderr
/// with each one, `hopscope frame-stats: FRAMES frames at SECS s`, so that a benchmark can
/// count the frames between any two moments (a line per frame costs little next to one).
#[derive(Debug)]
pub struct FrameStats {
    enabled: bool,
    started: Instant,
    frames: u64,
}

impl FrameStats {
    /// Counting, if the environment asks for it.
    pub fn from_env() -> FrameStats {
        FrameStats {
            enabled: std::env::var_os("HOPSCOPE_FRAME_STATS").is_some_and(|v| v == "1"),
            started: Instant::now(),
            frames: 0,
        }
    }

    /// Counts one frame.
    pub fn frame(&mut self) {
        if !self.enabled {
            return;
        }
        self.frames += 1;
        eprintln!(
            "hopscope frame-stats: {} frames at {:.3} s",
            self.frames,
            self.started.elapsed().as_secs_f64()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn moving_dots_paint_at_thirty_frames_a_second_unless_smooth() {
        let moving = Activity {
            moving: true,
            ..Activity::default()
        };
        assert_eq!(next_frame(&moving), Some(FRAME_BUDGET));
        assert!(FRAME_BUDGET >= SECOND / 31);
        let smooth = Activity {
            smooth: true,
            ..moving
        };
        assert_eq!(next_frame(&smooth), Some(SMOOTH_FRAME));
        let replay = Activity {
            animating: true,
            ..Activity::default()
        };
        assert_eq!(next_frame(&replay), Some(FRAME_BUDGET));
    }

    #[test]
    fn still_paused_or_hidden_windows_time_no_frame() {
        assert_eq!(next_frame(&Activity::default()), None);
        let paused = Activity {
            paused: true,
            ..Activity::default()
        };
        assert_eq!(next_frame(&paused), None);
        // A toast still paints once, when it goes, and no frame before.
        let toast = Activity {
            due: Some(4 * SECOND),
            ..paused
        };
        assert_eq!(next_frame(&toast), Some(4 * SECOND));
        let hidden = Activity {
            hidden: true,
            moving: true,
            animating: true,
            due: Some(SECOND),
            ..Activity::default()
        };
        assert_eq!(next_frame(&hidden), None);
        assert_eq!(hidden.wake_mode(), WakeMode::Hidden);
        // Requests still finishing after a pause keep moving until they land.
        let finishing = Activity {
            paused: true,
            moving: true,
            ..Activity::default()
        };
        assert_eq!(next_frame(&finishing), Some(FRAME_BUDGET));
    }

    #[test]
    fn wake_ups_paint_fresh_data_once_per_gap_and_never_when_not_needed() {
        let gap = FRAME_BUDGET;
        use WakeCause::{Clock, Events};
        assert_eq!(wake_delay(WakeMode::Idle, Events, gap), Some(gap));
        assert_eq!(wake_delay(WakeMode::Idle, Clock, gap), Some(gap));
        assert_eq!(wake_delay(WakeMode::Paused, Events, gap), Some(gap));
        assert_eq!(wake_delay(WakeMode::Paused, Clock, gap), None);
        assert_eq!(wake_delay(WakeMode::Animating, Events, gap), None);
        assert_eq!(wake_delay(WakeMode::Hidden, Events, gap), None);
        for mode in [
            WakeMode::Animating,
            WakeMode::Idle,
            WakeMode::Paused,
            WakeMode::Hidden,
        ] {
            assert_eq!(WakeMode::from_repr(mode as u8), mode);
        }
    }
}
