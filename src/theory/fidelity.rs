//! The fidelity checks: what `hopscope check-theory` (and the integration tests) hold the
//! measurements of a run against. Pure: the CLI runs the scenario and hands over the
//! recorded journeys; this file turns them into rows of predicted against measured, with
//! 95 % confidence intervals, and verdicts against the targets.
//!
//! Model inputs, said once: the queueing checks evaluate Erlang C / M/M/1 / M/M/c/K with the
//! arrival rate measured at each server and the mean service time measured from its
//! `handler` spans (so the check tests the queueing, not the timer); the prediction from the
//! configured values is shown next to it, and the calibration check reports how far the
//! measured delays are from the configured ones. The cache check needs no measured input:
//! the clients draw ids from exactly the Zipf law Che's approximation is given.

use std::collections::BTreeMap;

use serde::Serialize;

use super::estimate::{Estimate, Target, Verdict, batch_quantile, judge};
use super::measure::{self, HopSamples, QueueMeasured, Visit};
use super::predict::{QueueModel, predict_cache, predict_queueing, queue_model};
use crate::scenario::{Scenario, server_name};
use crate::trace::{Journey, Outcome};

/// One fidelity check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// Mean wait and P(wait) of M/M/c servers against Erlang C.
    ErlangC,
    /// Mean wait of one-worker servers behind a random LB against M/M/1.
    RandomLb,
    /// The 503 ratio of a server with a short line against M/M/c/K.
    Blocking,
    /// The LRU hit ratio under Zipf popularity against Che's approximation.
    Lru,
    /// Every injected delay against its setting, hop by hop.
    Calibration,
}

impl Check {
    /// Every check, in the order they run.
    pub const ALL: [Check; 5] = [
        Check::ErlangC,
        Check::RandomLb,
        Check::Blocking,
        Check::Lru,
        Check::Calibration,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Check::ErlangC => "erlang-c",
            Check::RandomLb => "random-lb",
            Check::Blocking => "blocking",
            Check::Lru => "lru",
            Check::Calibration => "calibration",
        }
    }

    /// The built-in scenario it plays.
    pub fn scenario(self) -> &'static str {
        match self {
            Check::ErlangC => "theory-erlang-c",
            Check::RandomLb => "theory-random-lb",
            Check::Blocking => "theory-blocking",
            Check::Lru => "theory-lru",
            Check::Calibration => "theory-calibration",
        }
    }

    /// How long it runs, in seconds (the quick run is for a first look, not for the targets).
    pub fn seconds(self, quick: bool) -> f64 {
        match (self, quick) {
            (Check::ErlangC | Check::RandomLb, false) => 90.0,
            (Check::Blocking | Check::Lru, false) => 30.0,
            (Check::Calibration, false) => 20.0,
            (Check::ErlangC | Check::RandomLb, true) => 15.0,
            (_, true) => 8.0,
        }
    }

    /// The first seconds left out (connections opening, caches and queues filling).
    pub fn warmup_secs(self, quick: bool) -> f64 {
        if quick { 1.0 } else { 3.0 }
    }
}

/// What a run recorded, in the theories' terms.
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    pub visits: Vec<Visit>,
    /// Cache lookups: (when the request began, hit).
    pub lookups: Vec<(u64, bool)>,
    /// Every request: (when it began, its outcome).
    pub outcomes: Vec<(u64, Option<Outcome>)>,
    pub hops: HopSamples,
    /// The measured window, trace microseconds: after the warm-up, until traffic stopped.
    pub from_micros: u64,
    pub to_micros: u64,
}

impl Recorded {
    /// An empty record for the window `[from, to)`.
    pub fn new(from_micros: u64, to_micros: u64) -> Recorded {
        Recorded {
            from_micros,
            to_micros,
            ..Recorded::default()
        }
    }

    /// Takes in one journey (hop delays only from the measured window).
    pub fn add(&mut self, j: &Journey) {
        self.visits.extend(measure::visits(j));
        if let Some(l) = measure::cache_lookup(j) {
            self.lookups.push(l);
        }
        self.outcomes.push((j.start_micros, j.outcome));
        if j.start_micros >= self.from_micros && j.start_micros < self.to_micros {
            self.hops.add(j);
        }
    }

    fn window_secs(&self) -> f64 {
        self.to_micros.saturating_sub(self.from_micros) as f64 / 1e6
    }
}

/// One quantity, predicted against measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub quantity: String,
    pub unit: &'static str,
    /// What theory says with the measured inputs (or the configured value of a delay).
    pub predicted: f64,
    /// The prediction's own uncertainty, from the uncertainty of its measured inputs.
    pub prediction_std_error: f64,
    /// What theory says with the configured inputs, when that differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configured: Option<f64>,
    pub measured: Estimate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

impl Row {
    fn new(
        quantity: impl Into<String>,
        unit: &'static str,
        predicted: f64,
        measured: Estimate,
    ) -> Row {
        Row {
            quantity: quantity.into(),
            unit,
            predicted,
            prediction_std_error: 0.0,
            configured: None,
            measured,
            target: None,
            verdict: None,
        }
    }

    fn target(mut self, target: Target) -> Row {
        self.verdict = Some(judge(&self.measured, self.predicted, target));
        self.target = Some(target);
        self
    }

    /// The standard error of measured − predicted.
    pub fn difference_std_error(&self) -> f64 {
        self.measured.std_error.hypot(self.prediction_std_error)
    }

    /// Whether the row meets its target (rows without one always do).
    pub fn passed(&self) -> bool {
        self.verdict.is_none_or(|v| v.within_target)
    }
}

/// One check's results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckReport {
    pub check: Check,
    pub scenario: String,
    /// The model the scenario was held against.
    pub model: String,
    pub seconds: f64,
    pub warmup_secs: f64,
    /// Samples in the measured window.
    pub samples: usize,
    /// The model's inputs, measured and configured, in words.
    pub inputs: Vec<String>,
    pub rows: Vec<Row>,
}

impl CheckReport {
    /// Whether every row with a target met it.
    pub fn passed(&self) -> bool {
        self.rows.iter().all(Row::passed)
    }
}

/// Holds `rec` against theory for `check` on scenario `s`, with `batches` batch means.
pub fn evaluate(check: Check, s: &Scenario, rec: &Recorded, batches: usize) -> CheckReport {
    let mut report = CheckReport {
        check,
        scenario: s.name.clone(),
        model: String::new(),
        seconds: rec.to_micros as f64 / 1e6,
        warmup_secs: rec.from_micros as f64 / 1e6,
        samples: 0,
        inputs: Vec::new(),
        rows: Vec::new(),
    };
    match check {
        Check::ErlangC | Check::RandomLb | Check::Blocking => {
            queueing(check, s, rec, batches, &mut report)
        }
        Check::Lru => cache(s, rec, batches, &mut report),
        Check::Calibration => calibration(s, rec, batches, &mut report),
    }
    report
}

/// Per-server measured inputs: (name, arrival rate, mean service secs, its standard error,
/// arrivals).
fn server_inputs(
    s: &Scenario,
    rec: &Recorded,
    batches: usize,
) -> Vec<(String, f64, f64, f64, usize)> {
    let mut by_server: BTreeMap<u16, Vec<Visit>> = BTreeMap::new();
    for v in &rec.visits {
        by_server.entry(v.server).or_default().push(*v);
    }
    let default_secs = s.servers.service.mean.get().as_secs_f64() * s.time_scale.max(1.0);
    (1..=s.servers.count.max(1) as u16)
        .map(|n| {
            let q: QueueMeasured = by_server
                .get(&n)
                .map(|v| measure::queue(v, rec.from_micros, rec.to_micros, batches))
                .unwrap_or_default();
            let (mean, se) = if q.service_ms.samples > 0 {
                (q.service_ms.mean / 1000.0, q.service_ms.std_error / 1000.0)
            } else {
                (default_secs, 0.0)
            };
            (server_name(n), q.arrival_rate, mean, se, q.arrivals)
        })
        .collect()
}

fn queueing(check: Check, s: &Scenario, rec: &Recorded, batches: usize, report: &mut CheckReport) {
    let inputs = server_inputs(s, rec, batches);
    let workers = s.servers.workers as u32;
    let line = s.servers.queue;
    let secs = rec.window_secs().max(1e-9);
    // The prediction's uncertainty: each server's measured rate and service time moved by
    // one standard error in turn, the effects added in quadrature (servers are independent).
    let model_with = |moved: Option<(usize, f64, f64)>| -> QueueModel {
        let servers: Vec<(String, f64, f64)> = inputs
            .iter()
            .enumerate()
            .map(|(i, (name, rate, mean, se, n))| {
                let (dl, ds) = match moved {
                    Some((j, dl, ds)) if j == i => (dl, ds),
                    _ => (0.0, 0.0),
                };
                let rate_se = (*n as f64).sqrt() / secs;
                (name.clone(), rate + dl * rate_se, mean + ds * se)
            })
            .collect();
        queue_model(workers, line, &servers)
    };
    let m = model_with(None);
    let moved: Vec<QueueModel> = (0..inputs.len())
        .flat_map(|i| {
            [
                model_with(Some((i, 1.0, 0.0))),
                model_with(Some((i, 0.0, 1.0))),
            ]
        })
        .collect();
    let se = |f: &dyn Fn(&QueueModel) -> f64| {
        let base = f(&m);
        moved
            .iter()
            .map(|q| (f(q) - base).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let configured = predict_queueing(s).prediction;
    let overall = measure::queue(&rec.visits, rec.from_micros, rec.to_micros, batches);
    report.model = m.model.clone();
    report.samples = overall.arrivals;
    let rate_conf = s.traffic.rate / s.time_scale.max(1.0);
    let service_conf = s.servers.service.mean.as_millis_f64() * s.time_scale.max(1.0);
    report.inputs = vec![
        format!(
            "λ = {:.1}/s in all, {:.1}/s per server, measured at the servers (configured {:.1}/s in all)",
            overall.arrival_rate,
            overall.arrival_rate / inputs.len().max(1) as f64,
            rate_conf
        ),
        format!(
            "E[S] = {:.3} ms ± {:.3} from handler spans (configured {:.3} ms, {}), cs² = {:.2}",
            overall.service_ms.mean,
            overall.service_ms.half_width_95,
            service_conf,
            match s.servers.service.distribution {
                crate::scenario::Distribution::Exponential => "exponential: cs² = 1",
                crate::scenario::Distribution::Constant => "constant: cs² = 0",
                crate::scenario::Distribution::Lognormal => "lognormal",
            },
            overall.service_scv
        ),
        format!(
            "ρ = {:.3} measured (configured {:.3}), c = {workers}, K = {}",
            m.utilization,
            configured.as_ref().map_or(f64::NAN, |c| c.utilization),
            m.capacity.map_or("∞".to_string(), |k| k.to_string())
        ),
    ];
    if !rec.hops.service_error.is_empty() {
        let e = super::estimate::batch_means(&rec.hops.service_error, batches);
        report.inputs.push(format!(
            "timer: each handler held its worker {:+.3} ms ± {:.3} longer than the service time drawn for it, on average",
            e.mean, e.half_width_95
        ));
    }
    let mut wait = Row::new(
        "mean wait in the queue",
        "ms",
        m.mean_wait_ms,
        overall.mean_wait_ms,
    );
    wait.prediction_std_error = se(&|q| q.mean_wait_ms);
    wait.configured = configured.as_ref().map(|c| c.mean_wait_ms);
    let mut pwait = Row::new("P(wait)", "", m.prob_wait, overall.prob_wait);
    pwait.prediction_std_error = se(&|q| q.prob_wait);
    pwait.configured = configured.as_ref().map(|c| c.prob_wait);
    if check == Check::Blocking {
        let measured =
            measure::status_share(&rec.outcomes, 503, rec.from_micros, rec.to_micros, batches);
        let mut blocking = Row::new("503 ratio (M/M/c/K blocking)", "", m.blocking, measured);
        blocking.prediction_std_error = se(&|q| q.blocking);
        blocking.configured = configured.as_ref().map(|c| c.blocking);
        report.rows.push(blocking.target(Target::Absolute(0.02)));
        report.rows.push(wait);
        report.rows.push(pwait);
    } else {
        report.rows.push(wait.target(Target::Relative(0.10)));
        report.rows.push(pwait);
    }
}

fn cache(s: &Scenario, rec: &Recorded, batches: usize, report: &mut CheckReport) {
    let measured = measure::hit_ratio(&rec.lookups, rec.from_micros, rec.to_micros, batches);
    report.samples = measured.samples;
    let prediction = predict_cache(s);
    let Some(c) = prediction.get() else {
        report.model = format!(
            "none: {}",
            prediction.why_not.unwrap_or_else(|| "no prediction".into())
        );
        return;
    };
    report.model = c.model.clone();
    report.inputs = vec![
        format!(
            "{} cacheable URLs, Zipf exponent {} over {} rows; capacity {} entries ({})",
            c.items,
            s.traffic.zipf,
            c.items,
            c.capacity,
            s.cdn.eviction.name()
        ),
        format!(
            "characteristic time T = {:.0} lookups ({:.2} s at {:.0} lookups/s)",
            c.characteristic_lookups,
            c.characteristic_secs,
            measured.samples as f64 / rec.window_secs().max(1e-9)
        ),
    ];
    report.rows.push(
        Row::new(
            "hit ratio (HIT + REVALIDATED over lookups)",
            "",
            c.hit_ratio,
            measured,
        )
        .target(Target::Absolute(0.02)),
    );
}

fn calibration(s: &Scenario, rec: &Recorded, batches: usize, report: &mut CheckReport) {
    let scale = s.time_scale.max(1.0);
    let ms = |d: crate::scenario::Dur| d.as_millis_f64() * scale;
    let h = &rec.hops;
    let client = s
        .effective_profiles()
        .first()
        .map_or(0.0, |p| ms(p.latency));
    let hops: [(&str, &Vec<f64>, f64); 6] = [
        (
            "client link, one way (TCP handshake ÷ 2)",
            &h.client_one_way,
            client,
        ),
        (
            "DNS answer (latency + UDP on loopback)",
            &h.dns,
            ms(s.dns.latency),
        ),
        (
            "service time (handler − db)",
            &h.service,
            ms(s.servers.service.mean),
        ),
        (
            "database query (2 × latency + SQL)",
            &h.db,
            2.0 * ms(s.database.latency),
        ),
        (
            "LB ↔ server round trip (2 × latency)",
            &h.lb_round_trip,
            2.0 * ms(s.balancer.latency),
        ),
        (
            "CDN ↔ LB round trip (2 × latency)",
            &h.cdn_round_trip,
            2.0 * ms(s.cdn.latency),
        ),
    ];
    report.model = "configured delays".into();
    report.samples = h.service.len();
    for (name, samples, configured) in hops {
        if samples.is_empty() {
            continue;
        }
        report.rows.push(
            Row::new(
                format!("{name}, p50"),
                "ms",
                configured,
                batch_quantile(samples, 0.5, batches),
            )
            .target(Target::Absolute(1.0)),
        );
        report.rows.push(Row::new(
            format!("{name}, mean"),
            "ms",
            configured,
            super::estimate::batch_means(samples, batches),
        ));
    }
    if !h.service_error.is_empty() {
        let e = super::estimate::batch_means(&h.service_error, batches);
        report.inputs.push(format!(
            "service sleeps: measured − drawn = {:+.3} ms ± {:.3} on average over {} requests",
            e.mean, e.half_width_95, e.samples
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{builtin, load_str};

    fn scenario(name: &str) -> Scenario {
        let b = builtin(name).expect("built-in");
        load_str(b.name, b.text).expect("valid")
    }

    /// A fake M/M/1-ish record: server-1 gets requests every ms, half of which wait 2 ms.
    fn record(rejected_every: u64) -> Recorded {
        let mut rec = Recorded::new(1_000_000, 11_000_000);
        for i in 0..20_000u64 {
            let t = 1_000_000 + i * 500;
            let rejected = rejected_every > 0 && i % rejected_every == 0;
            rec.visits.push(Visit {
                server: 1,
                arrived_micros: t,
                wait_micros: if i % 2 == 0 { 2000 } else { 0 },
                waited: i % 2 == 0,
                rejected,
                handler_micros: (!rejected).then_some(10_000),
                drawn_micros: Some(10_000),
                db_micros: 0,
            });
            rec.outcomes
                .push((t, Some(Outcome::Status(if rejected { 503 } else { 200 }))));
        }
        rec
    }

    #[test]
    fn every_check_has_its_builtin() {
        for c in Check::ALL {
            assert_eq!(scenario(c.scenario()).name, c.scenario());
            assert!(c.seconds(true) < c.seconds(false));
        }
    }

    #[test]
    fn a_queue_check_compares_with_measured_inputs() {
        let s = scenario("theory-blocking");
        let r = evaluate(Check::Blocking, &s, &record(10), 20);
        assert_eq!(r.model, "M/M/4/8");
        assert_eq!(r.samples, 20_000);
        let blocking = &r.rows[0];
        assert!((blocking.measured.mean - 0.1).abs() < 1e-9);
        // λ = 2000/s, E[S] = 10 ms → a = 20 Erlangs on 4 workers: nearly all refused.
        assert!(blocking.predicted > 0.7, "{}", blocking.predicted);
        assert!(!r.passed());
        assert!(blocking.configured.is_some());
        let r = evaluate(Check::ErlangC, &scenario("theory-erlang-c"), &record(0), 20);
        assert_eq!(r.rows[0].unit, "ms");
        assert!((r.rows[0].measured.mean - 1.0).abs() < 1e-9);
        assert!((r.rows[1].measured.mean - 0.5).abs() < 1e-9);
        assert!(r.rows[0].verdict.is_some() && r.rows[1].verdict.is_none());
    }

    #[test]
    fn the_cache_and_calibration_checks_read_their_samples() {
        let s = scenario("theory-lru");
        let mut rec = Recorded::new(0, 1_000_000);
        rec.lookups = (0..1000).map(|i| (i * 1000, i % 2 == 0)).collect();
        let r = evaluate(Check::Lru, &s, &rec, 10);
        assert!(r.model.contains("Che"));
        assert!((r.rows[0].measured.mean - 0.5).abs() < 1e-12);
        let s = scenario("theory-calibration");
        let mut rec = Recorded::new(0, 1_000_000);
        rec.hops.client_one_way = vec![10.2; 100];
        rec.hops.service = vec![5.1; 100];
        let r = evaluate(Check::Calibration, &s, &rec, 10);
        assert_eq!(r.rows.len(), 4, "p50 and mean of the two hops with samples");
        assert!(r.passed());
    }
}
