//! What the trace measured, in the terms the theories use. Reads recorded journeys and
//! turns them into samples: each request's visit to a server (when it arrived, whether it
//! found every worker busy, how long it waited, whether it was refused, how long its handler
//! held the worker), each cache lookup (hit or not), and each hop whose injected delay can
//! be checked against its configuration.
//!
//! How the trace maps onto the models:
//! - arrival at a server = the start of its `queue` span (the request has been read and
//!   the worker pool is asked for a worker);
//! - waited = the `queue` span carries a `position` (no worker was free, so it joined the
//!   line); refused = it carries `rejected` (the line was full: 503);
//! - wait = the `queue` span's length;
//! - service time = the `handler` span's length: the worker is held exactly that long
//!   (drawn service time, then the route and its database queries);
//! - cache lookup = a request whose answer carried `X-Cache` other than `BYPASS`; hit =
//!   `HIT` or `REVALIDATED` (as hopscope's hit ratio counts them).

use serde::Serialize;

use super::estimate::{Estimate, batch_means, proportion};
use crate::trace::{CacheStatus, Component, Journey, Outcome, Phase, Span};

/// One request's visit to one server.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Visit {
    /// `server-N`'s N.
    pub server: u16,
    /// When it asked for a worker (trace microseconds).
    pub arrived_micros: u64,
    /// How long it waited for one (zero when one was free).
    pub wait_micros: u64,
    /// It found every worker busy and joined the line.
    pub waited: bool,
    /// The line was full: it was refused with 503.
    pub rejected: bool,
    /// How long its handler held the worker.
    pub handler_micros: Option<u64>,
    /// The service time the server drew for it (before the route ran).
    pub drawn_micros: Option<u64>,
    /// Time in database queries inside the handler.
    pub db_micros: u64,
}

fn inside(outer: &Span, inner: &Span) -> bool {
    inner.start_micros >= outer.start_micros && inner.end_micros <= outer.end_micros
}

/// Every server visit recorded in `journey`.
pub fn visits(journey: &Journey) -> Vec<Visit> {
    let mut out = Vec::new();
    for q in journey.spans.iter().filter(|s| s.phase == Phase::Queue) {
        let Component::Server(server) = q.component else {
            continue;
        };
        let handler = journey.spans.iter().find(|s| {
            s.phase == Phase::Handler
                && s.component == q.component
                && s.start_micros >= q.end_micros
        });
        let db_micros = handler.map_or(0, |h| {
            journey
                .spans
                .iter()
                .filter(|s| s.phase == Phase::Db && inside(h, s))
                .map(Span::micros)
                .sum()
        });
        out.push(Visit {
            server,
            arrived_micros: q.start_micros,
            wait_micros: q.micros(),
            waited: q.attr("position").is_some(),
            rejected: q.attr("rejected").is_some(),
            handler_micros: handler.map(Span::micros),
            drawn_micros: handler
                .and_then(|h| h.attr("service_micros"))
                .and_then(|v| v.parse().ok()),
            db_micros,
        });
    }
    out
}

/// A cache lookup as the client saw it: when the request began, and whether it was a hit.
/// `None` when the request was not looked up (no `X-Cache`, or `BYPASS`).
pub fn cache_lookup(journey: &Journey) -> Option<(u64, bool)> {
    match journey.cache? {
        CacheStatus::Bypass => None,
        status => Some((journey.start_micros, status.is_hit())),
    }
}

/// One server's (or all servers') queue, measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct QueueMeasured {
    /// Requests that arrived in the measured window.
    pub arrivals: usize,
    /// Arrivals per second.
    pub arrival_rate: f64,
    /// Mean wait of the admitted requests, ms.
    pub mean_wait_ms: Estimate,
    /// Share of admitted requests that found every worker busy.
    pub prob_wait: Estimate,
    /// Share of arrivals refused (503).
    pub blocking: Estimate,
    /// Mean handler time (the service time the model needs), ms.
    pub service_ms: Estimate,
    /// Squared coefficient of variation of the handler time (1 for exponential).
    pub service_scv: f64,
}

/// Measures the queue from `visits` (any order) that arrived in `[from, to)` microseconds,
/// with batch means over `batches` batches.
pub fn queue(visits: &[Visit], from_micros: u64, to_micros: u64, batches: usize) -> QueueMeasured {
    let mut v: Vec<&Visit> = visits
        .iter()
        .filter(|v| v.arrived_micros >= from_micros && v.arrived_micros < to_micros)
        .collect();
    v.sort_by_key(|v| v.arrived_micros);
    let admitted: Vec<&&Visit> = v.iter().filter(|v| !v.rejected).collect();
    let waits: Vec<f64> = admitted
        .iter()
        .map(|v| v.wait_micros as f64 / 1000.0)
        .collect();
    let waited: Vec<bool> = admitted.iter().map(|v| v.waited).collect();
    let refused: Vec<bool> = v.iter().map(|v| v.rejected).collect();
    let service: Vec<f64> = admitted
        .iter()
        .filter_map(|v| v.handler_micros)
        .map(|m| m as f64 / 1000.0)
        .collect();
    let secs = to_micros.saturating_sub(from_micros) as f64 / 1e6;
    QueueMeasured {
        arrivals: v.len(),
        arrival_rate: if secs > 0.0 {
            v.len() as f64 / secs
        } else {
            0.0
        },
        mean_wait_ms: batch_means(&waits, batches),
        prob_wait: proportion(&waited, batches),
        blocking: proportion(&refused, batches),
        service_ms: batch_means(&service, batches),
        service_scv: scv(&service),
    }
}

/// Squared coefficient of variation, `Var[X] / E[X]²` (NaN for fewer than two values).
pub fn scv(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return f64::NAN;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    var / (mean * mean)
}

/// The share of requests that began in `[from, to)` and ended with `status`.
pub fn status_share(
    journeys: &[(u64, Option<Outcome>)],
    status: u16,
    from_micros: u64,
    to_micros: u64,
    batches: usize,
) -> Estimate {
    let mut j: Vec<&(u64, Option<Outcome>)> = journeys
        .iter()
        .filter(|(t, _)| *t >= from_micros && *t < to_micros)
        .collect();
    j.sort_by_key(|(t, _)| *t);
    let flags: Vec<bool> = j
        .iter()
        .map(|(_, o)| *o == Some(Outcome::Status(status)))
        .collect();
    proportion(&flags, batches)
}

/// The hit ratio of the lookups (time, hit) that began in `[from, to)`.
pub fn hit_ratio(
    lookups: &[(u64, bool)],
    from_micros: u64,
    to_micros: u64,
    batches: usize,
) -> Estimate {
    let mut l: Vec<&(u64, bool)> = lookups
        .iter()
        .filter(|(t, _)| *t >= from_micros && *t < to_micros)
        .collect();
    l.sort_by_key(|(t, _)| *t);
    let flags: Vec<bool> = l.iter().map(|(_, h)| *h).collect();
    proportion(&flags, batches)
}

/// Delays per hop, read from journeys, to check injected delays against their settings.
/// Every value is in milliseconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HopSamples {
    /// Client TCP handshakes (`connect`'s `tcp_ms`) halved: the link's one-way latency.
    pub client_one_way: Vec<f64>,
    /// Client DNS lookups answered at the first attempt (configured latency plus a UDP
    /// round trip on loopback).
    pub dns: Vec<f64>,
    /// Handler time less its database queries: the service time.
    pub service: Vec<f64>,
    /// That, less the service time drawn for the request: the timer's error.
    pub service_error: Vec<f64>,
    /// Database queries less any wait for a pooled connection (two one-way latencies plus
    /// the SQL).
    pub db: Vec<f64>,
    /// Load balancer to server and back on a reused connection: the LB's `forward` less the
    /// server's own time (two one-way latencies plus HTTP work on both ends).
    pub lb_round_trip: Vec<f64>,
    /// CDN to load balancer and back on a reused connection, less the LB's own time.
    pub cdn_round_trip: Vec<f64>,
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

impl HopSamples {
    /// Adds what `journey` shows.
    pub fn add(&mut self, journey: &Journey) {
        let spans = &journey.spans;
        let find = |c: Component, p: Phase| spans.iter().find(|s| s.component == c && s.phase == p);
        for s in spans {
            match (s.component, s.phase) {
                (Component::Client, Phase::Connect) => {
                    if let Some(tcp) = s.attr("tcp_ms").and_then(|v| v.parse::<f64>().ok()) {
                        self.client_one_way.push(tcp / 2.0);
                    }
                }
                (Component::Client, Phase::Dns) if s.attr("attempts") == Some("1") => {
                    self.dns.push(ms(s.micros()));
                }
                (Component::Db, Phase::Db) => {
                    let waited: u64 = s
                        .attr("pool_wait_micros")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    self.db.push(ms(s.micros().saturating_sub(waited)));
                }
                _ => {}
            }
        }
        for v in visits(journey).iter().filter(|v| !v.rejected) {
            if let Some(h) = v.handler_micros {
                let service = h.saturating_sub(v.db_micros);
                self.service.push(ms(service));
                if let Some(drawn) = v.drawn_micros {
                    self.service_error
                        .push((service as f64 - drawn as f64) / 1000.0);
                }
            }
        }
        if let Some(fwd) =
            find(Component::Lb, Phase::Forward).filter(|f| f.attr("reused") == Some("true"))
        {
            let server = spans.iter().filter(|s| {
                matches!(s.component, Component::Server(_))
                    && matches!(s.phase, Phase::Queue | Phase::Handler)
            });
            let (start, end) = server.fold((u64::MAX, 0), |(a, b), s| {
                (a.min(s.start_micros), b.max(s.end_micros))
            });
            if end >= start && start >= fwd.start_micros && end <= fwd.end_micros {
                self.lb_round_trip.push(ms(fwd.micros() - (end - start)));
            }
        }
        if let (Some(fwd), Some(pick), Some(lb)) = (
            find(Component::Cdn, Phase::Forward).filter(|f| f.attr("reused") == Some("true")),
            find(Component::Lb, Phase::Pick),
            find(Component::Lb, Phase::Forward),
        ) && pick.start_micros >= fwd.start_micros
            && lb.end_micros <= fwd.end_micros
            && lb.end_micros >= pick.start_micros
        {
            self.cdn_round_trip
                .push(ms(fwd.micros() - (lb.end_micros - pick.start_micros)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Attr;
    use crate::trace::testing::span;

    fn journey(spans: Vec<Span>) -> Journey {
        Journey {
            spans,
            ..Journey::default()
        }
    }

    #[test]
    fn a_visit_reads_queue_handler_and_database() {
        let s = Component::Server(2);
        let j = journey(vec![
            span(1, s, Phase::Queue, 100, 400).with_attrs(vec![Attr::new("position", "3")]),
            span(1, s, Phase::Handler, 400, 5400)
                .with_attrs(vec![Attr::new("service_micros", "4000")]),
            span(1, Component::Db, Phase::Db, 4500, 5300),
        ]);
        let v = visits(&j);
        assert_eq!(v.len(), 1);
        let v = v[0];
        assert_eq!((v.server, v.arrived_micros, v.wait_micros), (2, 100, 300));
        assert!(v.waited && !v.rejected);
        assert_eq!(v.handler_micros, Some(5000));
        assert_eq!(v.drawn_micros, Some(4000));
        assert_eq!(v.db_micros, 800);
        let refused = journey(vec![
            span(1, s, Phase::Queue, 10, 12)
                .with_attrs(vec![Attr::new("rejected", "queue full (8 waiting)")]),
        ]);
        let r = visits(&refused)[0];
        assert!(r.rejected && r.handler_micros.is_none());
    }

    #[test]
    fn queue_measures_the_window_only() {
        let visit = |t: u64, wait: u64, rejected: bool| Visit {
            server: 1,
            arrived_micros: t,
            wait_micros: wait,
            waited: wait > 0,
            rejected,
            handler_micros: (!rejected).then_some(2000),
            drawn_micros: None,
            db_micros: 0,
        };
        let mut vs: Vec<Visit> = (0..1000)
            .map(|i| {
                visit(
                    1_000_000 + i * 1000,
                    if i % 2 == 0 { 1000 } else { 0 },
                    false,
                )
            })
            .collect();
        vs.push(visit(10, 99_000, false)); // during warm-up: ignored
        vs.push(visit(1_500_500, 0, true));
        let q = queue(&vs, 1_000_000, 2_000_000, 10);
        assert_eq!(q.arrivals, 1001);
        assert!((q.arrival_rate - 1001.0).abs() < 1e-9);
        assert!((q.mean_wait_ms.mean - 0.5).abs() < 1e-9);
        assert!((q.prob_wait.mean - 0.5).abs() < 1e-9);
        assert!((q.blocking.mean - 1.0 / 1001.0).abs() < 1e-12);
        assert!((q.service_ms.mean - 2.0).abs() < 1e-9);
        assert_eq!(q.service_scv, 0.0);
    }

    #[test]
    fn cache_lookups_skip_bypass_and_count_revalidated_as_hits() {
        let with = |c| Journey {
            cache: c,
            start_micros: 5,
            ..Journey::default()
        };
        assert_eq!(cache_lookup(&with(Some(CacheStatus::Bypass))), None);
        assert_eq!(cache_lookup(&with(None)), None);
        assert_eq!(
            cache_lookup(&with(Some(CacheStatus::Revalidated))),
            Some((5, true))
        );
        assert_eq!(
            cache_lookup(&with(Some(CacheStatus::Miss))),
            Some((5, false))
        );
        let l = [(1, true), (2, false), (3, true), (4, true)];
        assert!((hit_ratio(&l, 0, 10, 2).mean - 0.75).abs() < 1e-12);
    }

    #[test]
    fn scv_is_the_variance_over_the_squared_mean() {
        assert!((scv(&[1.0, 3.0]) - 0.5).abs() < 1e-12);
    }
}
