//! Rolling metrics: per-second throughput by status class, cache hit ratio, latency
//! percentiles (HDR histograms) and per-server load, plus run totals per phase.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::{CacheStatus, Component, End, Outcome, OutcomeClass, Phase, ServerGauge, Span};

/// Latency percentiles in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub mean: f64,
    pub max: f64,
    pub count: u64,
}

/// A latency histogram in microseconds, from 1 µs to an hour, 3 significant digits.
#[derive(Clone, Debug)]
pub struct LatencyHistogram(Histogram<u64>);

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram(
            Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("constant bounds are valid for an HDR histogram"),
        )
    }
}

impl LatencyHistogram {
    /// Records one value in microseconds (clamped into range).
    pub fn record(&mut self, micros: u64) {
        self.0.saturating_record(micros.max(1));
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// Percentiles in milliseconds (`None` when empty).
    pub fn percentiles(&self) -> Option<Percentiles> {
        if self.0.is_empty() {
            return None;
        }
        let ms = |v: u64| v as f64 / 1000.0;
        Some(Percentiles {
            p50: ms(self.0.value_at_quantile(0.50)),
            p95: ms(self.0.value_at_quantile(0.95)),
            p99: ms(self.0.value_at_quantile(0.99)),
            mean: self.0.mean() / 1000.0,
            max: ms(self.0.max()),
            count: self.0.len(),
        })
    }
}

/// The `q` quantile (0..=1) of `values` by nearest rank: the smallest value with at least a
/// `q` share of them at or below it (`None` when there are none). Exact, for checks and
/// estimates over a sample; the HDR histograms above round to 3 significant digits, which
/// suits plots and summaries. Sorts in place: no copy.
pub fn quantile(mut values: Vec<f64>, q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len();
    let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as usize).clamp(1, n);
    Some(values[rank - 1])
}

/// What happened during one second of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondMetrics {
    /// Covers `[second, second + 1)` seconds since the start.
    pub second: u64,
    /// Requests that ended in this second.
    pub requests: u64,
    /// Of those, by class (`OutcomeClass::ALL` order: 2xx, 3xx, 4xx, 5xx, failed).
    pub by_class: [u64; 5],
    /// Cache lookups that were answered from the cache (HIT or REVALIDATED).
    pub cache_hits: u64,
    /// Cache lookups of cacheable requests (BYPASS excluded).
    pub cache_lookups: u64,
    /// `cache_hits / cache_lookups`, when there were lookups.
    pub hit_ratio: Option<f64>,
    /// Latency of the requests that ended in this second.
    pub latency: Option<Percentiles>,
    /// Requests each server answered itself (cache HITs are the CDN's: see
    /// [`answered_by`](crate::trace::answered_by)).
    pub served: BTreeMap<String, u64>,
    /// Sampled at the end of the second: requests in progress per server.
    pub in_flight: BTreeMap<String, u32>,
    /// Sampled at the end of the second: requests waiting per server.
    pub queued: BTreeMap<String, u32>,
}

impl SecondMetrics {
    /// Counts one request that ended in this second: its class, its cache lookup (BYPASS is
    /// not a lookup) and the server that answered it itself.
    pub fn count(
        &mut self,
        outcome: Outcome,
        cache: Option<CacheStatus>,
        answered_by: Option<&str>,
    ) {
        self.requests += 1;
        self.by_class[outcome.class().index()] += 1;
        if let Some(cache) = cache
            && cache != CacheStatus::Bypass
        {
            self.cache_lookups += 1;
            if cache.is_hit() {
                self.cache_hits += 1;
            }
        }
        if let Some(server) = answered_by {
            *self.served.entry(server.to_string()).or_default() += 1;
        }
    }
}

/// A second still counting: its row so far and the latencies of its requests.
#[derive(Default)]
pub struct OpenSecond {
    pub metrics: SecondMetrics,
    pub latency: LatencyHistogram,
}

/// Requests counted by the second they ended in: the seconds still open and the closed
/// rows, contiguous from second 0. The live recorder ([`Metrics`]) and the exports (which
/// rebuild the rows from journeys) both count with it, so their rows agree.
#[derive(Default)]
pub struct SecondBuckets {
    open: BTreeMap<u64, OpenSecond>,
    closed: Vec<SecondMetrics>,
}

impl SecondBuckets {
    /// The open second `second`, begun empty if it was not open yet.
    pub fn open(&mut self, second: u64) -> &mut OpenSecond {
        self.open.entry(second).or_insert_with(|| OpenSecond {
            metrics: SecondMetrics {
                second,
                ..SecondMetrics::default()
            },
            latency: LatencyHistogram::default(),
        })
    }

    /// The row of `second`, if it has closed already.
    pub fn closed_mut(&mut self, second: u64) -> Option<&mut SecondMetrics> {
        self.closed.get_mut(usize::try_from(second).ok()?)
    }

    /// Closes every second before `second`, the empty ones too (plots show the gap): its
    /// latency percentiles and hit ratio are worked out, then `stamp` may add to the row.
    /// Returns whether any second closed.
    pub fn close_before(&mut self, second: u64, mut stamp: impl FnMut(&mut SecondMetrics)) -> bool {
        let mut closed_any = false;
        while (self.closed.len() as u64) < second {
            let s = self.closed.len() as u64;
            let open = self.open.remove(&s);
            let open = open.unwrap_or_else(|| OpenSecond {
                metrics: SecondMetrics {
                    second: s,
                    ..SecondMetrics::default()
                },
                latency: LatencyHistogram::default(),
            });
            let mut m = open.metrics;
            m.latency = open.latency.percentiles();
            m.hit_ratio =
                (m.cache_lookups > 0).then(|| m.cache_hits as f64 / m.cache_lookups as f64);
            stamp(&mut m);
            self.closed.push(m);
            closed_any = true;
        }
        closed_any
    }

    /// The closed rows, oldest first.
    pub fn closed(&self) -> &[SecondMetrics] {
        &self.closed
    }

    /// The closed rows, to keep.
    pub fn into_closed(self) -> Vec<SecondMetrics> {
        self.closed
    }
}

/// Per-server totals.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerTotals {
    /// Requests the server answered itself (cache HITs are the CDN's).
    pub served: u64,
    /// Answers with a 5xx status.
    pub errors: u64,
}

/// Builds per-second metrics and run totals from ended requests and spans.
#[derive(Default)]
pub struct Metrics {
    seconds: SecondBuckets,
    latency: LatencyHistogram,
    phases: BTreeMap<String, LatencyHistogram>,
    outcomes: BTreeMap<Outcome, u64>,
    cache: BTreeMap<CacheStatus, u64>,
    servers: BTreeMap<String, ServerTotals>,
    ended: u64,
}

/// The key a span's duration is summarised under: the phase name, with the component for
/// `forward` (the CDN and the load balancer both forward).
pub fn phase_key(component: Component, phase: Phase) -> String {
    match phase {
        Phase::Forward => format!(
            "{}_forward",
            if component == Component::Cdn {
                "cdn"
            } else {
                "lb"
            }
        ),
        other => other.name().to_string(),
    }
}

impl Metrics {
    /// Counts an ended request whose latency is `latency_micros`.
    pub fn on_end(&mut self, end: &End, latency_micros: Option<u64>) {
        self.ended += 1;
        *self.outcomes.entry(end.outcome).or_default() += 1;
        let open = self.seconds.open(end.at_micros / 1_000_000);
        open.metrics
            .count(end.outcome, end.cache, end.answered_by());
        if let Some(cache) = end.cache {
            *self.cache.entry(cache).or_default() += 1;
        }
        if let Some(server) = end.answered_by() {
            let totals = self.servers.entry(server.to_string()).or_default();
            totals.served += 1;
            if end.outcome.class() == OutcomeClass::ServerError {
                totals.errors += 1;
            }
        }
        if let Some(l) = latency_micros {
            open.latency.record(l);
            self.latency.record(l);
        }
    }

    /// Counts a span's duration under its phase.
    pub fn on_span(&mut self, span: &Span) {
        self.phases
            .entry(phase_key(span.component, span.phase))
            .or_default()
            .record(span.micros());
    }

    /// Closes every second that ended before `now_micros - grace_micros`, stamping it with
    /// the server gauges. Returns whether any second closed.
    pub fn close_until(
        &mut self,
        now_micros: u64,
        grace_micros: u64,
        gauges: &[ServerGauge],
    ) -> bool {
        let limit = now_micros.saturating_sub(grace_micros) / 1_000_000;
        self.seconds.close_before(limit, |m| {
            for g in gauges {
                m.in_flight.insert(g.name.clone(), g.in_flight);
                m.queued.insert(g.name.clone(), g.queued);
            }
        })
    }

    /// The closed seconds, oldest first.
    pub fn seconds(&self) -> &[SecondMetrics] {
        self.seconds.closed()
    }

    /// Requests ended so far.
    pub fn ended(&self) -> u64 {
        self.ended
    }

    /// Outcome counts.
    pub fn outcomes(&self) -> &BTreeMap<Outcome, u64> {
        &self.outcomes
    }

    /// `X-Cache` counts.
    pub fn cache(&self) -> &BTreeMap<CacheStatus, u64> {
        &self.cache
    }

    /// Per-server totals.
    pub fn servers(&self) -> &BTreeMap<String, ServerTotals> {
        &self.servers
    }

    /// Overall latency percentiles.
    pub fn latency(&self) -> Option<Percentiles> {
        self.latency.percentiles()
    }

    /// Percentiles per phase key.
    pub fn phases(&self) -> BTreeMap<String, Percentiles> {
        self.phases
            .iter()
            .filter_map(|(k, h)| h.percentiles().map(|p| (k.clone(), p)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::TraceId;

    fn end(at_micros: u64, outcome: Outcome, cache: Option<CacheStatus>) -> End {
        End {
            id: TraceId(1),
            at_micros,
            outcome,
            cache,
            served_by: Some("server-1".into()),
            bytes: 10,
            reused: false,
        }
    }

    #[test]
    fn seconds_count_classes_and_hit_ratio() {
        let mut m = Metrics::default();
        m.on_end(
            &end(100, Outcome::Status(200), Some(CacheStatus::Hit)),
            Some(1000),
        );
        m.on_end(
            &end(200, Outcome::Status(200), Some(CacheStatus::Miss)),
            Some(3000),
        );
        m.on_end(
            &end(300, Outcome::Status(201), Some(CacheStatus::Bypass)),
            Some(2000),
        );
        m.on_end(&end(1_500_000, Outcome::Status(503), None), Some(500));
        assert!(m.close_until(3_000_000, 0, &[]));
        let s = m.seconds();
        assert_eq!(s.len(), 3, "an empty third second still gets a row");
        assert_eq!(s[0].requests, 3);
        assert_eq!(s[0].by_class, [3, 0, 0, 0, 0]);
        assert_eq!(s[0].hit_ratio, Some(0.5));
        assert_eq!(s[1].by_class, [0, 0, 0, 1, 0]);
        assert_eq!(s[2].requests, 0);
        assert_eq!(
            m.servers()["server-1"],
            ServerTotals {
                served: 3,
                errors: 1
            },
            "the HIT was the CDN's answer"
        );
        let p = m.latency().expect("recorded");
        assert_eq!(p.count, 4);
        assert!((p.p50 - 1.0).abs() < 0.01, "p50 {}", p.p50);
    }

    #[test]
    fn servers_are_credited_only_with_requests_they_answered_themselves() {
        let mut m = Metrics::default();
        // One MISS fetched by server-1, then HITs of that copy: they carry its X-Served-By.
        let statuses = [
            Some(CacheStatus::Miss),
            Some(CacheStatus::Hit),
            Some(CacheStatus::Hit),
            Some(CacheStatus::Hit),
            Some(CacheStatus::Expired),
            Some(CacheStatus::Revalidated),
            Some(CacheStatus::Bypass),
            None,
        ];
        for (i, cache) in statuses.into_iter().enumerate() {
            m.on_end(&end(i as u64 * 1000, Outcome::Status(200), cache), Some(10));
        }
        assert!(m.close_until(2_000_000, 0, &[]));
        let reached = statuses
            .iter()
            .filter(|c| **c != Some(CacheStatus::Hit))
            .count() as u64;
        assert_eq!(m.servers()["server-1"].served, reached);
        assert_eq!(
            m.seconds()[0].served["server-1"],
            reached,
            "the load plot agrees"
        );
        assert_eq!(m.seconds()[0].requests, statuses.len() as u64);
    }

    #[test]
    fn quantiles_are_by_nearest_rank() {
        let xs = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(quantile(xs.clone(), 0.5), Some(3.0));
        assert_eq!(quantile(xs.clone(), 0.99), Some(5.0));
        assert_eq!(quantile(xs.clone(), 1.0), Some(5.0));
        assert_eq!(quantile(xs, 0.0), Some(1.0), "rank 1 at the least");
        assert_eq!(quantile(Vec::new(), 0.5), None);
    }

    #[test]
    fn a_second_stays_open_during_the_grace_period() {
        let mut m = Metrics::default();
        m.on_end(&end(900_000, Outcome::Status(200), None), Some(10));
        assert!(!m.close_until(1_100_000, 200_000, &[]));
        assert!(m.close_until(1_300_000, 200_000, &[]));
        assert_eq!(m.seconds()[0].requests, 1);
    }
}
