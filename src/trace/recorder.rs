//! The recorder: assembles events into journeys, keeps rolling metrics, spools every ended
//! journey to disk and produces snapshots. Pure logic: the engine runs it on its own thread.
//!
//! When the spool stops keeping journeys (its limit reached, or a write failed), the recorder
//! goes on exactly as before — every request is still counted in the metrics and totals —
//! and its snapshots say since when the spool holds only part of the run.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use super::metrics::{Metrics, SecondMetrics};
use super::spool::{Spool, SpoolLimit, SpoolStop, StopReason};
use super::{
    Attr, Component, DnsQuery, Journey, Marker, Phase, ServerGauge, Snapshot, Span, Totals,
    TraceEvent, TraceId,
};

/// DNS queries kept in memory for readers.
const KEEP_DNS: usize = 500;

/// How long an ended journey stays open for spans that arrive after its end (a server still
/// working on a request the client gave up on) before it is written to the spool.
const SETTLE_MICROS: u64 = 2_000_000;
/// When a reader asks for the spool mid-run, journeys that ended at least this long ago go in.
const FLUSH_MARGIN_MICROS: u64 = 250_000;
/// A second of metrics closes this long after it ends, so late reports still land in it.
const CLOSE_GRACE_MICROS: u64 = 1_500_000;
/// An in-flight journey with no news for this long is ended as an orphan (its end was shed).
const ORPHAN_MICROS: u64 = 600_000_000;

/// Recorder settings.
#[derive(Clone, Debug)]
pub struct RecorderConfig {
    /// Ended journeys kept in memory for readers.
    pub keep_recent: usize,
    /// Where to spool every ended journey (none: not spooled).
    pub spool: Option<PathBuf>,
    /// How large the spool may grow.
    pub spool_limit: SpoolLimit,
}

/// Assembles journeys and metrics from trace events.
pub struct Recorder {
    keep_recent: usize,
    in_flight: HashMap<TraceId, Arc<Journey>>,
    settling: HashMap<TraceId, Arc<Journey>>,
    settle_order: VecDeque<(u64, TraceId)>,
    recent: VecDeque<Arc<Journey>>,
    metrics: Metrics,
    seconds: Arc<Vec<SecondMetrics>>,
    markers: Arc<Vec<Marker>>,
    spool: Option<Spool>,
    /// Since when, and why, the spool keeps no more journeys.
    spool_stop: Option<SpoolStop>,
    /// When the latest request ended.
    last_end_micros: u64,
    begun: u64,
    /// Reports about requests the recorder never saw begin, or saw end long ago.
    orphans: u64,
    dns_rcodes: BTreeMap<String, u64>,
    recent_dns: VecDeque<Arc<DnsQuery>>,
}

impl Recorder {
    /// A recorder. If the spool file cannot be created, the recorder still runs and counts
    /// everything; [`Recorder::spool_stop`] says that no journey is kept, and why.
    pub fn new(config: RecorderConfig) -> Recorder {
        let (spool, spool_stop) = match &config.spool {
            Some(path) => match Spool::create(path, config.spool_limit.clone()) {
                Ok(spool) => (Some(spool), None),
                Err(e) => (
                    None,
                    Some(SpoolStop {
                        reason: StopReason::WriteFailed,
                        message: format!("cannot create the trace spool {}: {e}", path.display()),
                        at_micros: 0,
                        requests_kept: 0,
                    }),
                ),
            },
            None => (None, None),
        };
        Recorder {
            keep_recent: config.keep_recent.max(1),
            in_flight: HashMap::new(),
            settling: HashMap::new(),
            settle_order: VecDeque::new(),
            recent: VecDeque::new(),
            metrics: Metrics::default(),
            seconds: Arc::new(Vec::new()),
            markers: Arc::new(Vec::new()),
            spool,
            spool_stop,
            last_end_micros: 0,
            begun: 0,
            orphans: 0,
            dns_rcodes: BTreeMap::new(),
            recent_dns: VecDeque::new(),
        }
    }

    fn journey_mut(&mut self, id: TraceId) -> Option<&mut Journey> {
        if let Some(j) = self.in_flight.get_mut(&id) {
            return Some(Arc::make_mut(j));
        }
        if let Some(j) = self.settling.get_mut(&id) {
            // Keep the copy in `recent` in step with the settling one.
            let updated = Arc::make_mut(j);
            return Some(updated);
        }
        None
    }

    fn refresh_recent(&mut self, id: TraceId) {
        if let Some(j) = self.settling.get(&id)
            && let Some(slot) = self.recent.iter_mut().rev().find(|r| r.id == id)
        {
            *slot = j.clone();
        }
    }

    /// Takes one event.
    pub fn ingest(&mut self, event: TraceEvent) {
        match event {
            TraceEvent::Begin(b) => {
                self.begun += 1;
                let id = b.id;
                self.in_flight.insert(id, Arc::new(Journey::begin(b)));
            }
            TraceEvent::Arrive {
                id,
                component,
                at_micros,
            } => match self.journey_mut(id) {
                Some(j) => {
                    j.add_arrival(component, at_micros);
                    self.refresh_recent(id);
                }
                None => self.orphans += 1,
            },
            TraceEvent::Span(span) => {
                self.metrics.on_span(&span);
                let id = span.id;
                match self.journey_mut(id) {
                    Some(j) => {
                        j.add_span(span);
                        self.refresh_recent(id);
                    }
                    None => self.orphans += 1,
                }
            }
            TraceEvent::Exchange(x) => {
                let id = x.id;
                match self.journey_mut(id) {
                    Some(j) => {
                        j.exchange = Some(x);
                        self.refresh_recent(id);
                    }
                    None => self.orphans += 1,
                }
            }
            TraceEvent::End(end) => {
                let mut journey = match self.in_flight.remove(&end.id) {
                    Some(j) => j,
                    None => {
                        // Its begin was shed: still count it, with what the end says.
                        self.orphans += 1;
                        Arc::new(Journey {
                            id: end.id,
                            start_micros: end.at_micros,
                            ..Journey::default()
                        })
                    }
                };
                let j = Arc::make_mut(&mut journey);
                j.end_micros = Some(end.at_micros);
                j.outcome = Some(end.outcome);
                j.cache = end.cache;
                j.served_by = end.served_by.clone();
                j.bytes = end.bytes;
                j.reused = end.reused;
                let latency = j.latency_micros();
                self.metrics.on_end(&end, latency);
                self.last_end_micros = self.last_end_micros.max(end.at_micros);
                self.recent.push_back(journey.clone());
                while self.recent.len() > self.keep_recent {
                    self.recent.pop_front();
                }
                self.settle_order.push_back((end.at_micros, end.id));
                self.settling.insert(end.id, journey);
            }
            TraceEvent::Marker(m) => Arc::make_mut(&mut self.markers).push(m),
            TraceEvent::Dns(q) => {
                *self.dns_rcodes.entry(q.rcode.clone()).or_default() += 1;
                if let Some(id) = q.id {
                    let span = Span {
                        id,
                        component: Component::Dns,
                        phase: Phase::Dns,
                        start_micros: q.received_micros,
                        end_micros: q.at_micros.max(q.received_micros),
                        attrs: vec![
                            Attr::new("name", q.name.clone()),
                            Attr::new("type", q.qtype.clone()),
                            Attr::new("rcode", q.rcode.clone()),
                            Attr::new("answer", q.answers.join(", ")),
                        ],
                    };
                    if let Some(j) = self.journey_mut(id) {
                        j.add_span(span);
                        self.refresh_recent(id);
                    }
                }
                self.recent_dns.push_back(Arc::new(*q));
                while self.recent_dns.len() > KEEP_DNS {
                    self.recent_dns.pop_front();
                }
            }
        }
    }

    /// Moves time on: closes finished seconds of metrics and spools settled journeys.
    /// Returns whether that changed the snapshot (a second closed, a lost request dropped,
    /// the spool stopped), so a still window knows to draw it.
    pub fn tick(&mut self, now_micros: u64, gauges: &[ServerGauge]) -> bool {
        let closed = self
            .metrics
            .close_until(now_micros, CLOSE_GRACE_MICROS, gauges);
        if closed {
            self.seconds = Arc::new(self.metrics.seconds().to_vec());
        }
        let stopped = self.spool_stop.is_some();
        self.settle(now_micros.saturating_sub(SETTLE_MICROS));
        let stale: Vec<TraceId> = self
            .in_flight
            .values()
            .filter(|j| {
                let last = j.arrivals.last().map_or(j.start_micros, |a| a.1);
                now_micros.saturating_sub(last) > ORPHAN_MICROS
            })
            .map(|j| j.id)
            .collect();
        let dropped = !stale.is_empty();
        for id in stale {
            self.in_flight.remove(&id);
            self.orphans += 1;
        }
        closed || dropped || self.spool_stop.is_some() != stopped
    }

    fn settle(&mut self, before_micros: u64) {
        while let Some(&(ended, id)) = self.settle_order.front() {
            if ended > before_micros {
                break;
            }
            self.settle_order.pop_front();
            if let Some(journey) = self.settling.remove(&id)
                && let Some(spool) = &mut self.spool
            {
                spool.write(&journey);
            }
        }
        self.note_spool_stop();
    }

    fn note_spool_stop(&mut self) {
        if self.spool_stop.is_none()
            && let Some(stop) = self.spool.as_ref().and_then(Spool::stopped)
        {
            self.spool_stop = Some(stop.clone());
        }
    }

    /// Spools everything still settling, flushes the spool and closes every second of
    /// metrics (so that they cover the whole run even where the spool kept no journeys):
    /// call at the end of a run.
    pub fn finish(&mut self) {
        self.settle(u64::MAX);
        if let Some(spool) = &mut self.spool {
            spool.flush();
        }
        self.note_spool_stop();
        let through = self.last_end_micros.saturating_add(1_000_000);
        if self.metrics.close_until(through, 0, &[]) {
            self.seconds = Arc::new(self.metrics.seconds().to_vec());
        }
    }

    /// Spools the journeys that ended before `now_micros` less a short margin (for the spans
    /// that trail an end by a moment) and flushes the spool, so that a reader sees every
    /// request that has ended: a mid-run export. A span that comes later than the margin for
    /// a journey already spooled counts as an orphan.
    pub fn flush_spool(&mut self, now_micros: u64) {
        self.settle(now_micros.saturating_sub(FLUSH_MARGIN_MICROS));
        if let Some(spool) = &mut self.spool {
            spool.flush();
        }
        self.note_spool_stop();
    }

    /// Since when, and why, the spool keeps no more journeys (its limit was reached, or it
    /// could not be written).
    pub fn spool_stop(&self) -> Option<&SpoolStop> {
        self.spool_stop.as_ref()
    }

    /// Bytes the spool holds on disk.
    pub fn spool_bytes(&self) -> u64 {
        self.spool.as_ref().map_or(0, Spool::bytes)
    }

    /// Reports about requests it never saw begin.
    pub fn orphans(&self) -> u64 {
        self.orphans
    }

    /// The state now, for readers.
    pub fn snapshot(&self, now_micros: u64, servers: Vec<ServerGauge>) -> Snapshot {
        let mut in_flight: Vec<Arc<Journey>> = self.in_flight.values().cloned().collect();
        in_flight.sort_by_key(|j| (j.start_micros, j.id));
        Snapshot {
            now_micros,
            in_flight,
            recent: self.recent.iter().cloned().collect(),
            seconds: self.seconds.clone(),
            totals: Totals {
                begun: self.begun,
                ended: self.metrics.ended(),
                outcomes: self.metrics.outcomes().clone(),
                cache: self.metrics.cache().clone(),
                latency: self.metrics.latency(),
                phases: self.metrics.phases(),
                servers: self.metrics.servers().clone(),
                dns: self.dns_rcodes.clone(),
            },
            recent_dns: self.recent_dns.iter().cloned().collect(),
            servers,
            markers: self.markers.clone(),
            events_shed: 0,
            source_outcomes: Vec::new(),
            spooled: self.spool.as_ref().map_or(0, |s| s.written()),
            spool_stop: self.spool_stop.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::testing;
    use crate::trace::{Begin, Component, End, Outcome, Phase};

    fn begin(id: u128, at: u64) -> TraceEvent {
        TraceEvent::Begin(Begin {
            id: TraceId(id),
            at_micros: at,
            profile: "browser".into(),
            client: "browser-1".into(),
            method: "GET".into(),
            url: "/users/1".into(),
            external: false,
        })
    }

    fn span(id: u128, phase: Phase, start: u64, end: u64) -> TraceEvent {
        TraceEvent::Span(testing::span(id, Component::Server(1), phase, start, end))
    }

    fn end(id: u128, at: u64) -> TraceEvent {
        TraceEvent::End(End {
            id: TraceId(id),
            at_micros: at,
            outcome: Outcome::Status(200),
            cache: None,
            served_by: Some("server-1".into()),
            bytes: 5,
            reused: false,
        })
    }

    #[test]
    fn assembles_a_journey_and_spools_it_after_it_settles() {
        let dir = std::env::temp_dir().join(format!("hopscope-rec-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("spool.jsonl");
        let mut r = Recorder::new(RecorderConfig {
            keep_recent: 10,
            spool: Some(path.clone()),
            spool_limit: SpoolLimit::unlimited(),
        });
        r.ingest(begin(1, 0));
        r.ingest(span(1, Phase::Queue, 100, 200));
        assert_eq!(r.snapshot(300, vec![]).in_flight.len(), 1);
        r.ingest(end(1, 1000));
        // A late span (the server finishing after the end) still joins the journey.
        r.ingest(span(1, Phase::Handler, 200, 1500));
        let snap = r.snapshot(2000, vec![]);
        assert!(snap.in_flight.is_empty());
        assert_eq!(snap.recent.len(), 1);
        assert_eq!(snap.recent[0].spans.len(), 2);
        assert_eq!(snap.recent[0].latency_micros(), Some(1000));
        assert_eq!(snap.spooled, 0, "not spooled before it settles");
        r.tick(1000 + SETTLE_MICROS, &[]);
        r.finish();
        let back: Vec<Journey> = crate::trace::spool::read(&path)
            .expect("open")
            .collect::<std::io::Result<_>>()
            .expect("read");
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].spans.len(), 2);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_tick_says_whether_time_alone_changed_the_snapshot() {
        let mut r = Recorder::new(RecorderConfig {
            keep_recent: 3,
            spool: None,
            spool_limit: SpoolLimit::unlimited(),
        });
        assert!(!r.tick(0, &[]), "nothing to close yet");
        // The first second closes once its grace has passed, and only once.
        assert!(r.tick(1_000_000 + CLOSE_GRACE_MICROS, &[]));
        assert!(!r.tick(1_000_001 + CLOSE_GRACE_MICROS, &[]));
        // A request never heard of again is dropped from the canvas: that changes it too.
        let later = 1_100_000 + CLOSE_GRACE_MICROS;
        r.ingest(begin(1, later));
        assert!(!r.tick(later + 1, &[]));
        let lost = later + ORPHAN_MICROS + 1;
        assert!(r.tick(lost - 1, &[]), "the seconds in between close");
        assert_eq!(r.snapshot(lost - 1, vec![]).in_flight.len(), 1);
        assert!(r.tick(lost, &[]), "only the lost request goes");
        assert!(r.snapshot(lost, vec![]).in_flight.is_empty());
    }

    #[test]
    fn recent_journeys_are_bounded_and_every_end_is_counted() {
        let mut r = Recorder::new(RecorderConfig {
            keep_recent: 3,
            spool: None,
            spool_limit: SpoolLimit::unlimited(),
        });
        for i in 1..=10 {
            r.ingest(begin(i, i as u64));
            r.ingest(end(i, 100 + i as u64));
        }
        // An end whose begin was shed still counts.
        r.ingest(end(99, 500));
        let snap = r.snapshot(1000, vec![]);
        assert_eq!(snap.recent.len(), 3);
        assert_eq!(snap.totals.ended, 11);
        assert_eq!(snap.totals.begun, 10);
        assert_eq!(r.orphans(), 1);
    }
}
