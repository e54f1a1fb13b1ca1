//! Per-second metrics rebuilt from journeys as they stream past, counted by the live
//! recorder's own code (`trace::metrics::SecondBuckets`): requests that ended in each second
//! by status class, cache hits among cacheable lookups, latency percentiles from the same HDR
//! histogram, requests each server answered itself (cache HITs are the CDN's).
//!
//! Memory stays bounded however long the run: journeys come in the order they ended (the
//! spool's order, give or take the few milliseconds events spend in the channel), so a
//! second is closed, and its histogram freed, once a journey ends [`GRACE_SECS`] seconds
//! after it. A journey that still arrives for a closed second (more than that out of order)
//! is added to that second's counts; only its latency is missing from that second's
//! percentiles, and [`SecondsBuilder::late`] says how many were.
//!
//! A truncated trace (the spool stopped keeping journeys) takes its rows from the second the
//! spool stopped on from the live recorder's, which counted every request.

use std::collections::BTreeMap;

use super::RunMeta;
use crate::trace::Journey;
use crate::trace::metrics::{SecondBuckets, SecondMetrics};

/// How far behind the latest end a second stays open.
pub const GRACE_SECS: u64 = 10;

/// Builds the per-second rows of a run.
#[derive(Default)]
pub struct SecondsBuilder {
    seconds: SecondBuckets,
    last_end_micros: u64,
    late: u64,
}

impl SecondsBuilder {
    /// Counts one journey in the second it ended in.
    pub fn add(&mut self, j: &Journey) {
        let (Some(outcome), Some(end)) = (j.outcome, j.end_micros) else {
            return;
        };
        let second = end / 1_000_000;
        self.last_end_micros = self.last_end_micros.max(end);
        if let Some(closed) = self.seconds.closed_mut(second) {
            closed.count(outcome, j.cache, j.answered_by());
            self.late += 1;
            return;
        }
        let open = self.seconds.open(second);
        open.metrics.count(outcome, j.cache, j.answered_by());
        if let Some(l) = j.latency_micros() {
            open.latency.record(l);
        }
        let newest = self.last_end_micros / 1_000_000;
        self.seconds
            .close_before(newest.saturating_sub(GRACE_SECS), |_| {});
    }

    /// Journeys that arrived after their second had closed.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// Every second of the run, with the gauges of `meta.seconds` (sampled live) merged in.
    pub fn finish(mut self, meta: &RunMeta) -> Vec<SecondMetrics> {
        let until = meta
            .info
            .duration_micros
            .max(self.last_end_micros.saturating_add(1));
        self.seconds.close_before(until.div_ceil(1_000_000), |_| {});
        let live: BTreeMap<u64, &SecondMetrics> =
            meta.seconds.iter().map(|s| (s.second, s)).collect();
        // Where the spool kept no journeys, the live rows are the only complete count.
        // From a second early: the last requests kept and the first not kept may have
        // reached the spool a few microseconds out of order, across a second's boundary.
        let truncated_from = meta
            .truncated
            .as_ref()
            .map(|t| t.at_micros.saturating_sub(1_000_000) / 1_000_000);
        let mut closed = self.seconds.into_closed();
        for s in &mut closed {
            if let Some(l) = live.get(&s.second) {
                if truncated_from.is_some_and(|from| s.second >= from) {
                    *s = (*l).clone();
                } else {
                    s.in_flight = l.in_flight.clone();
                    s.queued = l.queued.clone();
                }
            }
        }
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::CacheStatus;
    use crate::trace::metrics::Metrics;
    use crate::trace::{End, Outcome, TraceId};

    fn journey(n: u64, end: u64, outcome: Outcome, cache: Option<CacheStatus>) -> Journey {
        Journey {
            id: TraceId(u128::from(n)),
            start_micros: end.saturating_sub(1000 + n * 37),
            end_micros: Some(end),
            outcome: Some(outcome),
            cache,
            served_by: Some(format!("server-{}", n % 3 + 1)),
            ..Journey::default()
        }
    }

    #[test]
    fn rows_match_the_live_recorders_arithmetic() {
        let journeys: Vec<Journey> = (0..500)
            .map(|n| {
                let outcome = if n % 7 == 0 {
                    Outcome::Status(503)
                } else {
                    Outcome::Status(200)
                };
                let cache =
                    [Some(CacheStatus::Hit), Some(CacheStatus::Miss), None][(n % 3) as usize];
                journey(n, n * 40_000, outcome, cache)
            })
            .collect();
        let mut live = Metrics::default();
        let mut built = SecondsBuilder::default();
        for j in &journeys {
            let end = End {
                id: j.id,
                at_micros: j.end_micros.unwrap_or(0),
                outcome: j.outcome.unwrap_or(Outcome::Timeout),
                cache: j.cache,
                served_by: j.served_by.clone(),
                bytes: 0,
                reused: false,
            };
            live.on_end(&end, j.latency_micros());
            built.add(j);
        }
        live.close_until(21_000_000, 0, &[]);
        let meta = RunMeta {
            info: crate::trace::RunInfo {
                duration_micros: 20_500_000,
                ..Default::default()
            },
            ..RunMeta::default()
        };
        assert_eq!(built.finish(&meta), live.seconds());
    }

    #[test]
    fn a_late_journey_still_counts() {
        let mut b = SecondsBuilder::default();
        b.add(&journey(1, 500_000, Outcome::Status(200), None));
        b.add(&journey(2, 30_000_000, Outcome::Status(200), None));
        b.add(&journey(3, 600_000, Outcome::Status(404), None));
        assert_eq!(b.late(), 1);
        let rows = b.finish(&RunMeta::default());
        assert_eq!(rows.len(), 31);
        assert_eq!(rows[0].requests, 2);
        assert_eq!(rows[0].by_class, [1, 0, 1, 0, 0]);
        assert_eq!(rows[30].requests, 1);
    }
}
