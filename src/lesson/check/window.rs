//! The part of the run a check looks at: where its window starts (the step's start, or
//! the anchor's marker), and which requests belong to it.

use super::{ANCHOR_SLACK_MICROS, Context, DEFAULT_WITHIN, matches, mentions};
use crate::scenario::{Check, CheckKind};
use crate::trace::{Journey, Snapshot};

#[derive(Clone)]
pub(super) struct Window {
    pub start: u64,
    pub now: u64,
    pub within: u64,
    /// When the anchor happened, and its text.
    pub anchor: Option<(u64, String)>,
    /// Why the window starts where it does, for messages.
    pub label: String,
}

pub(super) fn window(check: &Check, snap: &Snapshot, ctx: &Context) -> Result<Window, String> {
    let scale = if ctx.scale.is_finite() && ctx.scale >= 1.0 {
        ctx.scale
    } else {
        1.0
    };
    let within = (check
        .within
        .map_or(DEFAULT_WITHIN, |d| d.get())
        .as_secs_f64()
        * scale
        * 1e6) as u64;
    let base = Window {
        start: ctx.since_micros,
        now: snap.now_micros,
        within: within.max(1),
        anchor: None,
        label: "since this step began".into(),
    };
    let (at, text) = match check.after.as_deref() {
        Some(after) => {
            let marker = snap
                .markers
                .iter()
                .rev()
                .filter(|m| m.at_micros >= ctx.floor_micros)
                .find(|m| !m.text.starts_with("could not ") && mentions(&m.text, after))
                // "server-2 marked unhealthy: 2 health checks failed…" reads as its first part.
                .map(|m| {
                    (
                        m.at_micros,
                        m.text.split(':').next().unwrap_or(&m.text).to_string(),
                    )
                });
            // The step's own action counts when it is what `after` names (a button's
            // marker comes a moment after the press).
            let acted = ctx
                .acted
                .clone()
                .filter(|(t, text)| {
                    mentions(text, after) && marker.as_ref().is_none_or(|(at, _)| t > at)
                })
                .map(|(t, _)| (t, after.to_string()));
            match acted.or(marker) {
                Some(found) => found,
                None => return Err(format!("waiting for “{after}” to happen")),
            }
        }
        None => {
            if let Some(what) = &ctx.awaiting {
                return Err(format!("waiting for {what}"));
            }
            match ctx.acted.clone() {
                Some(acted) => acted,
                None if kind_needs_anchor(check) => {
                    return Err("this check needs a change to compare with".into());
                }
                None => return Ok(base),
            }
        }
    };
    // Once the action is done, only what followed it counts, whenever it was done.
    let start = if at >= ctx.since_micros {
        at.saturating_sub(ANCHOR_SLACK_MICROS).max(ctx.since_micros)
    } else {
        at.saturating_sub(ANCHOR_SLACK_MICROS)
    };
    Ok(Window {
        start,
        label: format!("since “{text}”"),
        anchor: Some((at, text)),
        ..base
    })
}

/// Whether a check cannot be judged without a change to compare with.
pub(super) fn kind_needs_anchor(check: &Check) -> bool {
    check.kind.is_some_and(CheckKind::compares_with_before)
}

pub(super) fn began_in(j: &Journey, w: &Window) -> bool {
    j.start_micros >= w.start
}

/// Whether a journey ended in the latest `within` of the window (up to its `now`, which
/// is in the past when a late learner's step is judged by what followed its anchor).
pub(super) fn latest(j: &Journey, w: &Window) -> bool {
    j.end_micros
        .is_some_and(|e| e + w.within >= w.now && e <= w.now && j.start_micros >= w.start)
}

/// Latencies of requests that began in the latest `within` of the window, but at least
/// `settle` before its end: ended ones with their latency, ones still in flight with the
/// age they have reached. A check that passes on low latency settles for the latency it
/// wants: a request begun more recently has not had the time to show whether it is fast,
/// and counting only the quick ones among them would flatter the result.
pub(super) fn latest_latencies(
    check: &Check,
    kind: CheckKind,
    snap: &Snapshot,
    w: &Window,
    settle: u64,
) -> Vec<u64> {
    let from = w.start.max(w.now.saturating_sub(w.within));
    let until = w.now.saturating_sub(settle);
    let mut out: Vec<u64> = snap
        .recent
        .iter()
        .filter(|j| j.start_micros >= from && j.start_micros <= until)
        .filter(|j| matches(check, kind, j))
        .filter(|j| j.end_micros.is_none_or(|e| e <= w.now))
        .filter_map(|j| j.latency_micros())
        .collect();
    if check.status.is_none() && check.server.is_none() {
        out.extend(
            snap.in_flight
                .iter()
                .filter(|j| j.start_micros >= from && j.start_micros <= until)
                .filter(|j| matches(check, kind, j))
                .map(|j| w.now.saturating_sub(j.start_micros)),
        );
    }
    out
}
