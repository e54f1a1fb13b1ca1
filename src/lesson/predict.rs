//! Predict, then observe: the learner's prediction and the number the trace measured,
//! before the step's action and after it. Pure functions of a snapshot and two windows, so
//! the window, the command line and the tests measure alike.

use std::sync::Arc;

use super::check::url_matches;
use super::check::words::quantile;
use crate::scenario::{Measure, Predict};
use crate::trace::{Journey, OutcomeClass, Phase, Snapshot};

/// Fewer requests than this in a window give no number.
const LEAST_SAMPLE: usize = 5;

/// What the learner predicted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Prediction {
    /// The index of a choice.
    Choice(usize),
    /// A number, in the measure's unit.
    Number(f64),
}

/// What the trace measured around the step's action.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measured {
    /// In the window before the action (none: too few requests).
    pub before: Option<f64>,
    /// In the latest window once the action had run.
    pub after: Option<f64>,
}

/// `measure` over `[from, to]` (µs since the run started): the latency of requests that
/// began in it, the shares of requests that ended in it; `None` when too few did.
pub fn measure(p: &Predict, snap: &Snapshot, from: u64, to: u64) -> Option<f64> {
    let measure = p.measure?;
    // Latency: requests that began in the window and have ended (what the world as it was
    // then did to them). Shares: requests that ended in the window (a request cut by a
    // crash fails when the crash comes).
    let latency = matches!(measure, Measure::P50 | Measure::P95 | Measure::P99);
    let ended = move || {
        snap.recent.iter().filter(move |j: &&Arc<Journey>| {
            let t = if latency {
                Some(j.start_micros).filter(|_| j.end_micros.is_some())
            } else {
                j.end_micros
            };
            t.is_some_and(|t| t >= from && t <= to)
                && p.url.as_deref().is_none_or(|u| url_matches(u, &j.url))
        })
    };
    let percent = |hits: usize, total: usize| {
        (total >= LEAST_SAMPLE).then(|| hits as f64 / total as f64 * 100.0)
    };
    match measure {
        Measure::P50 | Measure::P95 | Measure::P99 => {
            let q = match measure {
                Measure::P50 => 0.5,
                Measure::P95 => 0.95,
                _ => 0.99,
            };
            let latencies: Vec<u64> = ended().filter_map(|j| j.latency_micros()).collect();
            (latencies.len() >= LEAST_SAMPLE).then(|| quantile(latencies, q))
        }
        Measure::HitRatio => {
            let lookups: Vec<_> = ended()
                .filter_map(|j| j.cache)
                .filter(|c| *c != crate::trace::CacheStatus::Bypass)
                .collect();
            percent(lookups.iter().filter(|c| c.is_hit()).count(), lookups.len())
        }
        Measure::Share => {
            let server = p.server.as_deref().unwrap_or("");
            let served: Vec<&str> = ended().filter_map(|j| j.answered_by()).collect();
            percent(
                served.iter().filter(|s| **s == server).count(),
                served.len(),
            )
        }
        Measure::Errors => {
            let outcomes: Vec<_> = ended().filter_map(|j| j.outcome).collect();
            let failed = outcomes
                .iter()
                .filter(|o| matches!(o.class(), OutcomeClass::ServerError | OutcomeClass::Failure))
                .count();
            percent(failed, outcomes.len())
        }
        Measure::Queue => Some(longest_queue(snap, from, to) as f64),
    }
}

/// The most requests waiting at once in one server's queue during `[from, to]`, from the
/// queue spans of the requests the trace holds (those in flight included).
fn longest_queue(snap: &Snapshot, from: u64, to: u64) -> usize {
    let mut edges: std::collections::BTreeMap<String, Vec<(u64, i32)>> = Default::default();
    let journeys = snap.recent.iter().chain(snap.in_flight.iter());
    for span in journeys.flat_map(|j| j.spans.iter()) {
        if span.phase != Phase::Queue || span.end_micros < from || span.start_micros > to {
            continue;
        }
        let e = edges.entry(span.component.to_string()).or_default();
        e.push((span.start_micros.max(from), 1));
        e.push((
            span.end_micros.min(to).max(span.start_micros.max(from)) + 1,
            -1,
        ));
    }
    let mut longest = 0;
    for mut e in edges.into_values() {
        e.sort_unstable();
        let mut now = 0i32;
        for (_, d) in e {
            now += d;
            longest = longest.max(now.max(0) as usize);
        }
    }
    longest
}

/// A number as the learner reads it, with its unit (`64 ms`, `35 %`, `12 requests`).
pub fn show(measure: Measure, value: f64) -> String {
    match measure.unit() {
        "ms" if value < 10.0 => format!("{value:.1} ms"),
        "%" => format!("{value:.0} %"),
        unit => format!("{value:.0} {unit}"),
    }
}

/// What was measured, in a sentence: `p99 latency: 180 ms before, 64 ms after (−64 %)`;
/// a share names its server (`server-2's share of the requests: 34 % before, 0 % after`).
pub fn describe(measure: Measure, server: Option<&str>, m: &Measured) -> String {
    let none = "too few requests to tell";
    let before = m
        .before
        .map_or_else(|| none.to_string(), |v| show(measure, v));
    let after = m
        .after
        .map_or_else(|| none.to_string(), |v| show(measure, v));
    let change = match (m.before, m.after, measure.unit()) {
        (Some(b), Some(a), "ms" | "requests") if b > 0.0 => {
            let pct = (a - b) / b * 100.0;
            if pct.abs() < 0.5 {
                " (no change)".to_string()
            } else {
                format!(" ({}{:.0} %)", if pct < 0.0 { "−" } else { "+" }, pct.abs())
            }
        }
        _ => String::new(),
    };
    let words = match (measure, server) {
        (Measure::Share, Some(server)) => format!("{server}'s {}", measure.words()),
        _ => {
            let mut words = measure.words().to_string();
            if let Some(first) = words.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            words
        }
    };
    format!("{words}: {before} before, {after} after{change}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Outcome, TraceId};

    fn ended(id: u128, end_ms: u64, latency_ms: u64, server: &str, outcome: u16) -> Arc<Journey> {
        Arc::new(Journey {
            id: TraceId(id),
            url: "/users/1".into(),
            start_micros: (end_ms - latency_ms) * 1000,
            end_micros: Some(end_ms * 1000),
            served_by: Some(server.into()),
            outcome: Some(Outcome::Status(outcome)),
            ..Journey::default()
        })
    }

    #[test]
    fn latency_share_and_errors_are_measured_in_each_window() {
        let mut recent = Vec::new();
        for i in 0..10u64 {
            recent.push(ended(i.into(), 1000 + i * 10, 200, "server-1", 200));
            recent.push(ended((100 + i).into(), 3000 + i * 10, 50, "server-2", 500));
        }
        let snap = Snapshot {
            now_micros: 4_000_000,
            recent,
            ..Snapshot::default()
        };
        let p = |measure: Measure| Predict {
            measure: Some(measure),
            server: Some("server-2".into()),
            ..Predict::default()
        };
        let before = (0, 2_000_000);
        let after = (2_000_000, 4_000_000);
        assert_eq!(
            measure(&p(Measure::P99), &snap, before.0, before.1),
            Some(200.0)
        );
        assert_eq!(
            measure(&p(Measure::P99), &snap, after.0, after.1),
            Some(50.0)
        );
        assert_eq!(
            measure(&p(Measure::Share), &snap, before.0, before.1),
            Some(0.0)
        );
        assert_eq!(
            measure(&p(Measure::Errors), &snap, after.0, after.1),
            Some(100.0)
        );
        assert_eq!(
            measure(&p(Measure::HitRatio), &snap, after.0, after.1),
            None
        );
        let m = Measured {
            before: Some(200.0),
            after: Some(50.0),
        };
        assert_eq!(
            describe(Measure::P99, None, &m),
            "P99 latency: 200 ms before, 50 ms after (−75 %)"
        );
        let share = Measured {
            before: Some(34.0),
            after: Some(0.0),
        };
        assert_eq!(
            describe(Measure::Share, Some("server-2"), &share),
            "server-2's share of the requests: 34 % before, 0 % after"
        );
    }
}
