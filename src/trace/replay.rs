//! Replay: a loaded trace that answers "what did the recorder know at time t?" with the
//! same [`Snapshot`] the live views read, so the window can show a recorded run with its
//! usual topology, inspector and plots, and a timeline scrubber can move back and forth.
//!
//! At time `t` (microseconds since the run started):
//! - `in_flight`: requests begun by `t` and not ended, with the arrivals and spans reported
//!   by `t` (a span is reported when it ends, as live);
//! - `recent`: requests ended by `t`, the last `keep_recent` of them, oldest first;
//! - `seconds`: every whole second that ended by `t`; `markers`: those at or before `t`;
//! - `totals`: counts and percentiles over what had ended (requests) or been reported
//!   (spans) by `t`; `servers`: gauges rebuilt from the per-second samples and the markers
//!   (kill, restart, hang, slow, error, add, remove, and the load balancer's "marked
//!   unhealthy" / "marked healthy again"), replaced by the recorded final gauges at the end;
//! - `recent_dns` stays empty: the trace keeps DNS queries only as spans of the requests.
//!
//! Stepping works over the hop events (a request begins, reaches a component, reports a
//! span, ends), sorted by time: [`Replay::next_event`] and [`Replay::prev_event`] move hop by
//! hop, `_of` variants follow one request. Going forward reuses the totals computed for the
//! previous snapshot; going back recomputes them from the start.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::export::SecondsBuilder;
use super::import::Trace;
use super::metrics::{LatencyHistogram, SecondMetrics, ServerTotals};
use super::{
    CacheStatus, Component, End, Journey, Marker, Outcome, OutcomeClass, Phase, RunMeta,
    ServerGauge, Snapshot, Summary, Totals, TraceEvent, TraceId,
};
use crate::scenario::{server_name, server_sort_key};

/// Recent journeys kept in snapshots when the trace does not say (the recorder's default).
const DEFAULT_KEEP_RECENT: usize = 5000;

/// What happened at a hop event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HopKind {
    /// The request began.
    Begin,
    /// It reached a component.
    Arrive(Component),
    /// It finished a span (index into the journey's spans).
    Span(u16),
    /// It ended.
    End,
}

/// One step of a recorded run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HopEvent {
    pub at_micros: u64,
    /// Index into [`Replay::journeys`].
    pub journey: u32,
    pub kind: HopKind,
}

/// Totals over a prefix of the hop events.
#[derive(Clone, Default)]
struct Acc {
    upto: usize,
    begun: u64,
    ended: u64,
    outcomes: BTreeMap<Outcome, u64>,
    cache: BTreeMap<CacheStatus, u64>,
    latency: LatencyHistogram,
    phases: BTreeMap<String, LatencyHistogram>,
    servers: BTreeMap<String, ServerTotals>,
    dns: BTreeMap<String, u64>,
}

/// The key a span is summarised under (as the recorder does it).
fn phase_key(c: Component, p: Phase) -> &'static str {
    match (p, c) {
        (Phase::Forward, Component::Cdn) => "cdn_forward",
        (Phase::Forward, _) => "lb_forward",
        (other, _) => other.name(),
    }
}

/// The closed seconds and the markers of the latest snapshot, shared while unchanged.
type Prefixes = (Arc<Vec<SecondMetrics>>, Arc<Vec<Marker>>);

/// A recorded run, ready to be replayed at any time.
pub struct Replay {
    meta: RunMeta,
    journeys: Vec<Arc<Journey>>,
    /// Ended journeys as (end time, index), by end time.
    ends: Vec<(u64, u32)>,
    events: Vec<HopEvent>,
    duration_micros: u64,
    keep_recent: usize,
    acc: Mutex<Acc>,
    prefixes: Mutex<Prefixes>,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("scenario", &self.meta.info.scenario)
            .field("requests", &self.journeys.len())
            .field("duration_micros", &self.duration_micros)
            .finish()
    }
}

impl Replay {
    /// Reads and checks the trace at `path` and prepares it for replay (`hopscope open` and
    /// the window's File ▸ Open).
    pub fn load(path: &std::path::Path) -> Result<Replay, super::import::ImportError> {
        super::import::import_file(path).map(Replay::new)
    }

    /// Prepares a loaded trace for replay.
    pub fn new(trace: Trace) -> Replay {
        let Trace {
            mut meta,
            mut requests,
        } = trace;
        // Counts and percentiles are recomputed from the requests (exactly as the exporter
        // and the live recorder computed them: decimal floats in a file do not always read
        // back to the same bits); the gauges sampled live come from the file.
        let mut by_end: Vec<&Journey> = requests.iter().collect();
        by_end.sort_by_key(|j| j.end_micros);
        let mut rebuilt = SecondsBuilder::default();
        for j in by_end {
            rebuilt.add(j);
        }
        meta.seconds = rebuilt.finish(&meta);
        requests.sort_by_key(|j| (j.start_micros, j.id));
        let journeys: Vec<Arc<Journey>> = requests.into_iter().map(Arc::new).collect();
        let mut events = Vec::new();
        let mut ends = Vec::new();
        let mut last = meta.info.duration_micros;
        for (i, j) in journeys.iter().enumerate() {
            let i = i as u32;
            let mut push = |at_micros: u64, kind: HopKind| {
                last = last.max(at_micros);
                events.push(HopEvent {
                    at_micros,
                    journey: i,
                    kind,
                });
            };
            push(j.start_micros, HopKind::Begin);
            for &(c, at) in &j.arrivals {
                push(at, HopKind::Arrive(c));
            }
            for (k, s) in j.spans.iter().enumerate().take(usize::from(u16::MAX)) {
                push(s.end_micros, HopKind::Span(k as u16));
            }
            if let Some(end) = j.end_micros.filter(|_| j.outcome.is_some()) {
                push(end, HopKind::End);
                ends.push((end, i));
            }
        }
        meta.markers.sort_by_key(|m| m.at_micros);
        for m in &meta.markers {
            last = last.max(m.at_micros);
        }
        // Stable: within one time, a journey's begin, arrivals, spans and end stay in order.
        events.sort_by_key(|e| e.at_micros);
        ends.sort_by_key(|&(at, i)| (at, i));
        let keep_recent = meta
            .info
            .scenario_config
            .as_ref()
            .and_then(|c| c.get("trace")?.get("keep_recent")?.as_u64())
            .map_or(DEFAULT_KEEP_RECENT, |n| n.clamp(1, 1 << 20) as usize);
        Replay {
            meta,
            journeys,
            ends,
            events,
            duration_micros: last,
            keep_recent,
            acc: Mutex::new(Acc::default()),
            prefixes: Mutex::new(Default::default()),
        }
    }

    /// Keeps `n` recent journeys in snapshots instead of the scenario's setting.
    pub fn with_keep_recent(mut self, n: usize) -> Replay {
        self.keep_recent = n.max(1);
        self
    }

    /// The run's metadata: header, markers, per-second metrics, final gauges.
    pub fn meta(&self) -> &RunMeta {
        &self.meta
    }

    /// Every request, by start time.
    pub fn journeys(&self) -> &[Arc<Journey>] {
        &self.journeys
    }

    /// Every request in the order they ended (the order exports write them in), then any
    /// that never ended.
    pub fn journeys_by_end(&self) -> impl Iterator<Item = &Arc<Journey>> {
        self.ends
            .iter()
            .map(|&(_, i)| &self.journeys[i as usize])
            .chain(self.journeys.iter().filter(|j| j.outcome.is_none()))
    }

    /// The request with id `id`, complete.
    pub fn journey(&self, id: TraceId) -> Option<&Arc<Journey>> {
        self.journeys.iter().find(|j| j.id == id)
    }

    /// How long the recorded run lasted: every time in it lies in `0..=duration_micros()`.
    pub fn duration_micros(&self) -> u64 {
        self.duration_micros
    }

    /// Every hop event, by time.
    pub fn events(&self) -> &[HopEvent] {
        &self.events
    }

    /// The first hop event after `t`.
    pub fn next_event(&self, t: u64) -> Option<&HopEvent> {
        self.events
            .get(self.events.partition_point(|e| e.at_micros <= t))
    }

    /// The last hop event before `t`.
    pub fn prev_event(&self, t: u64) -> Option<&HopEvent> {
        let i = self.events.partition_point(|e| e.at_micros < t);
        i.checked_sub(1).and_then(|i| self.events.get(i))
    }

    /// The first hop event of request `id` after `t`.
    pub fn next_event_of(&self, id: TraceId, t: u64) -> Option<&HopEvent> {
        let start = self.events.partition_point(|e| e.at_micros <= t);
        self.events[start..]
            .iter()
            .find(|e| self.journeys[e.journey as usize].id == id)
    }

    /// The last hop event of request `id` before `t`.
    pub fn prev_event_of(&self, id: TraceId, t: u64) -> Option<&HopEvent> {
        let end = self.events.partition_point(|e| e.at_micros < t);
        self.events[..end]
            .iter()
            .rev()
            .find(|e| self.journeys[e.journey as usize].id == id)
    }

    /// The trace event a hop event stands for (its `Display` reads like a packet log line,
    /// for captions and event lists).
    pub fn trace_event(&self, e: &HopEvent) -> Option<TraceEvent> {
        let j = self.journeys.get(e.journey as usize)?;
        Some(match e.kind {
            HopKind::Begin => TraceEvent::Begin(j.begun()),
            HopKind::Arrive(component) => TraceEvent::Arrive {
                id: j.id,
                component,
                at_micros: e.at_micros,
            },
            HopKind::Span(k) => TraceEvent::Span(j.spans.get(usize::from(k))?.clone()),
            HopKind::End => TraceEvent::End(End {
                id: j.id,
                at_micros: e.at_micros,
                outcome: j.outcome?,
                cache: j.cache,
                served_by: j.served_by.clone(),
                bytes: j.bytes,
                reused: j.reused,
            }),
        })
    }

    fn advance(&self, acc: &mut Acc, upto: usize) {
        for e in &self.events[acc.upto..upto] {
            let j = &self.journeys[e.journey as usize];
            match e.kind {
                HopKind::Begin => acc.begun += 1,
                HopKind::Arrive(_) => {}
                HopKind::Span(k) => {
                    let Some(s) = j.spans.get(usize::from(k)) else {
                        continue;
                    };
                    if s.component == Component::Dns && s.phase == Phase::Dns {
                        // The stub's own record of a query: counted by answer, as live.
                        if let Some(rcode) = s.attr("rcode") {
                            *acc.dns.entry(rcode.to_string()).or_default() += 1;
                        }
                        continue;
                    }
                    let key = phase_key(s.component, s.phase);
                    match acc.phases.get_mut(key) {
                        Some(h) => h.record(s.micros()),
                        None => {
                            let mut h = LatencyHistogram::default();
                            h.record(s.micros());
                            acc.phases.insert(key.to_string(), h);
                        }
                    }
                }
                HopKind::End => {
                    let Some(outcome) = j.outcome else { continue };
                    acc.ended += 1;
                    *acc.outcomes.entry(outcome).or_default() += 1;
                    if let Some(c) = j.cache {
                        *acc.cache.entry(c).or_default() += 1;
                    }
                    if let Some(server) = j.answered_by() {
                        let t = acc.servers.entry(server.to_string()).or_default();
                        t.served += 1;
                        if outcome.class() == OutcomeClass::ServerError {
                            t.errors += 1;
                        }
                    }
                    if let Some(l) = j.latency_micros() {
                        acc.latency.record(l);
                    }
                }
            }
        }
        acc.upto = upto;
    }

    fn totals_at(&self, t: u64) -> Totals {
        let upto = self.events.partition_point(|e| e.at_micros <= t);
        let mut acc = match self.acc.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if acc.upto > upto {
            *acc = Acc::default();
        }
        self.advance(&mut acc, upto);
        Totals {
            begun: acc.begun,
            ended: acc.ended,
            outcomes: acc.outcomes.clone(),
            cache: acc.cache.clone(),
            latency: acc.latency.percentiles(),
            phases: acc
                .phases
                .iter()
                .filter_map(|(k, h)| h.percentiles().map(|p| (k.clone(), p)))
                .collect(),
            servers: acc.servers.clone(),
            dns: acc.dns.clone(),
        }
    }

    /// A journey as the recorder knew it at `t`.
    fn as_of(j: &Arc<Journey>, t: u64) -> Arc<Journey> {
        let done = j.end_micros.is_some_and(|e| e <= t);
        let complete =
            j.spans.iter().all(|s| s.end_micros <= t) && j.arrivals.iter().all(|a| a.1 <= t);
        if done && complete {
            return j.clone();
        }
        let mut partial = Journey {
            spans: j
                .spans
                .iter()
                .filter(|s| s.end_micros <= t)
                .cloned()
                .collect(),
            arrivals: j.arrivals.iter().filter(|a| a.1 <= t).copied().collect(),
            ..Journey::begin(j.begun())
        };
        if done {
            partial.end_micros = j.end_micros;
            partial.outcome = j.outcome;
            partial.cache = j.cache;
            partial.served_by = j.served_by.clone();
            partial.bytes = j.bytes;
            partial.reused = j.reused;
            partial.exchange = j.exchange.clone();
        }
        Arc::new(partial)
    }

    /// What the recorder knew at `t` microseconds into the run (clamped to the run).
    pub fn snapshot_at(&self, t: u64) -> Snapshot {
        let t = t.min(self.duration_micros);
        let at_end = t >= self.duration_micros;
        let started = self.journeys.partition_point(|j| j.start_micros <= t);
        let in_flight: Vec<Arc<Journey>> = self.journeys[..started]
            .iter()
            .filter(|j| j.end_micros.is_none_or(|e| e > t) || j.outcome.is_none())
            .map(|j| Replay::as_of(j, t))
            .collect();
        let ended = self.ends.partition_point(|&(at, _)| at <= t);
        let from = ended.saturating_sub(self.keep_recent);
        let recent: Vec<Arc<Journey>> = self.ends[from..ended]
            .iter()
            .map(|&(_, i)| Replay::as_of(&self.journeys[i as usize], t))
            .collect();
        let n_seconds = if at_end {
            self.meta.seconds.len()
        } else {
            self.meta
                .seconds
                .partition_point(|s| s.second.saturating_add(1).saturating_mul(1_000_000) <= t)
        };
        let n_markers = self.meta.markers.partition_point(|m| m.at_micros <= t);
        let (closed, markers) = self.prefixes(n_seconds, n_markers);
        let servers = if at_end && !self.meta.servers.is_empty() {
            self.meta.servers.clone()
        } else {
            self.gauges(&closed, &markers)
        };
        Snapshot {
            now_micros: t,
            in_flight,
            recent,
            seconds: closed,
            totals: self.totals_at(t),
            servers,
            markers,
            events_shed: self.meta.events_shed,
            source_outcomes: if at_end {
                self.meta.source_outcomes.clone()
            } else {
                Vec::new()
            },
            spooled: ended as u64,
            spool_stop: self.meta.truncated.clone(),
            recent_dns: Vec::new(),
        }
    }

    /// The first `n_seconds` seconds and `n_markers` markers, shared with the previous
    /// snapshot when they are the same (a scrubber asks many times a second).
    fn prefixes(&self, n_seconds: usize, n_markers: usize) -> Prefixes {
        let mut cache = match self.prefixes.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if cache.0.len() != n_seconds {
            cache.0 = Arc::new(self.meta.seconds[..n_seconds].to_vec());
        }
        if cache.1.len() != n_markers {
            cache.1 = Arc::new(self.meta.markers[..n_markers].to_vec());
        }
        (cache.0.clone(), cache.1.clone())
    }

    /// The state at the end of the run.
    pub fn final_snapshot(&self) -> Snapshot {
        self.snapshot_at(self.duration_micros)
    }

    /// The run's summary, from the final snapshot.
    pub fn summary(&self) -> Summary {
        let info = &self.meta.info;
        Summary::from_snapshot(
            &info.scenario,
            info.seed,
            self.duration_micros as f64 / 1e6,
            &self.final_snapshot(),
        )
    }

    /// Server gauges rebuilt from the closed seconds and the markers up to now.
    fn gauges(&self, seconds: &[SecondMetrics], markers: &[Marker]) -> Vec<ServerGauge> {
        let mut g: BTreeMap<(u32, String), ServerGauge> = BTreeMap::new();
        let fresh = |name: &str, address: String| ServerGauge {
            name: name.to_string(),
            address,
            alive: true,
            healthy: true,
            ..ServerGauge::default()
        };
        for c in &self.meta.info.topology.components {
            if c.name.starts_with("server-") {
                let address = c.address.clone().unwrap_or_default();
                g.insert(server_sort_key(&c.name), fresh(&c.name, address));
            }
        }
        for s in seconds {
            for name in s.served.keys().chain(s.queued.keys()) {
                g.entry(server_sort_key(name))
                    .or_insert_with(|| fresh(name, String::new()));
            }
            for (name, q) in &s.queued {
                if let Some(x) = g.get_mut(&server_sort_key(name)) {
                    x.max_queue = x.max_queue.max(*q);
                }
            }
        }
        if let Some(last) = seconds.last() {
            for x in g.values_mut() {
                x.in_flight = last.in_flight.get(&x.name).copied().unwrap_or(0);
                x.queued = last.queued.get(&x.name).copied().unwrap_or(0);
            }
        }
        for m in markers {
            let Some(Component::Server(n)) = m.component else {
                continue;
            };
            let name = server_name(n);
            let x = g
                .entry(server_sort_key(&name))
                .or_insert_with(|| fresh(&name, String::new()));
            let mut words = m.text.split_whitespace();
            let verb = words.next().unwrap_or("");
            let _target = words.next();
            let value = words.next().unwrap_or("");
            if m.text.contains("marked unhealthy") {
                x.healthy = false;
            } else if m.text.contains("marked healthy") {
                x.healthy = true;
            }
            match verb {
                "kill" => (x.alive, x.healthy) = (false, false),
                "restart" => {
                    (x.alive, x.healthy, x.hung) = (true, true, false);
                    (x.slow_millis, x.error_rate) = (0.0, 0.0);
                }
                "hang" => (x.hung, x.healthy) = (true, false),
                "slow" => x.slow_millis = millis_of(value).unwrap_or(x.slow_millis),
                "error" => x.error_rate = value.parse().unwrap_or(x.error_rate),
                "remove" => {
                    g.remove(&server_sort_key(&name));
                }
                _ => {}
            }
        }
        g.into_values().collect()
    }
}

/// Milliseconds of a duration written like `200ms`, `1.5s` or `300us`.
fn millis_of(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("us").or_else(|| text.strip_suffix("µs")) {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|v| v * scale)
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
