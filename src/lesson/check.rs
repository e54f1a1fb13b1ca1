//! Evaluating a checkpoint against a recorder snapshot: pure functions of the check, the
//! snapshot and the step's context, with no clock and no I/O, so the command line, the
//! window and the tests judge alike.
//!
//! A check looks at a window of the run. With `after`, the window starts at the latest
//! trace marker that mentions it since the lesson began (whatever made it: a button, a
//! step's action, the load balancer), and the check waits until there is one. Without
//! `after`, a step with an action of its own (a button, an action it plays) waits for it
//! and looks only at what followed; any other step looks at what happened since it became
//! current. Nothing from before the step (or its anchor) counts.
//! Requests belong to the window when they began in it. Measuring kinds (ratios,
//! shares, percentiles) look at the latest `within` of the window, and count requests still
//! in flight at the age they have reached, so a stuck request is not mistaken for a fast one.

mod judge;
mod measure;
mod window;
pub(crate) mod words;

use std::time::Duration;

use self::judge::judge_in;
use self::window::{Window, window};
use self::words::matches;
pub use self::words::{mentions, outcome_is, path_of, phase_named, url_matches};
use crate::scenario::Check;
use crate::trace::Snapshot;

/// Requests that began this long before the anchor still count: a scripted request is
/// begun by its own task, a moment before the marker that announces it.
const ANCHOR_SLACK_MICROS: u64 = 50_000;
/// The default sliding window of measuring kinds.
const DEFAULT_WITHIN: Duration = Duration::from_secs(3);
/// The default least sample of measuring kinds.
const DEFAULT_SAMPLE: u64 = 20;

/// Where a step stands, for evaluating its checkpoint.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    /// When the step became current (its world in place), in µs since the run started.
    pub since_micros: u64,
    /// Markers before this are not anchors: the lesson began (or started over) here.
    pub floor_micros: u64,
    /// The scenario's time scale (windows are stretched by it).
    pub scale: f64,
    /// The step's own action, once done: when, and what (`kill server-2`).
    pub acted: Option<(u64, String)>,
    /// What the check waits for while the step's own action is not done yet (`you to
    /// press “kill server-2”`).
    pub awaiting: Option<String>,
}

/// The judgement on a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// It holds; what was seen.
    Passed(String),
    /// Not yet; what is missing.
    Waiting(String),
}

impl Verdict {
    /// Whether it holds.
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Passed(_))
    }

    /// What was seen or what is missing.
    pub fn detail(&self) -> &str {
        match self {
            Verdict::Passed(s) | Verdict::Waiting(s) => s,
        }
    }
}

/// Judges `check` against `snap`.
pub fn evaluate(check: &Check, snap: &Snapshot, ctx: &Context) -> Verdict {
    let Some(kind) = check.kind else {
        return Verdict::Waiting("this check has no kind".into());
    };
    let window = match window(check, snap, ctx) {
        Ok(w) => w,
        Err(waiting) => return Verdict::Waiting(waiting),
    };
    let now = judge_in(check, kind, snap, &window);
    if now.passed() {
        return now;
    }
    // Events do not wait for the reader: a learner who reaches the step after the moment
    // has passed (the server already restarted) still sees it judged by what followed the
    // anchor at the time, in windows ending within a few `within`s of it.
    if let Some((at, _)) = &window.anchor {
        let half = (window.within / 2).max(1);
        let last = at.saturating_add(window.within.saturating_mul(4));
        let mut end = at.saturating_add(window.within);
        while end < window.now && end <= last {
            let then = Window {
                now: end,
                ..window.clone()
            };
            let v = judge_in(check, kind, snap, &then);
            if v.passed() {
                return v;
            }
            if end == u64::MAX {
                break;
            }
            end = end.saturating_add(half);
        }
    }
    now
}

/// Where the window `check` is judged over starts now (µs since the run started), or
/// `None` while the check still waits for its anchor or its step's action.
pub fn window_start(check: &Check, snap: &Snapshot, ctx: &Context) -> Option<u64> {
    window(check, snap, ctx).ok().map(|w| w.start)
}

#[cfg(test)]
mod tests;
