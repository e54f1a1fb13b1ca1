//! What readers of the trace see: the recorder's latest state, published as an immutable
//! snapshot. The window and the CLI read snapshots, never the event channel.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::metrics::{Percentiles, SecondMetrics, ServerTotals};
use super::spool::SpoolStop;
use super::{CacheStatus, DnsQuery, Journey, Marker, Outcome};

/// A server's live state, read from the engine's gauges.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerGauge {
    /// `server-N`.
    pub name: String,
    /// Its listening address.
    pub address: String,
    /// Requests a worker is on.
    pub in_flight: u32,
    /// Requests waiting for a worker.
    pub queued: u32,
    /// The longest its queue has been.
    pub max_queue: u32,
    /// Accepting connections (not killed).
    pub alive: bool,
    /// Accepting but never answering.
    pub hung: bool,
    /// Extra service time injected, in milliseconds.
    pub slow_millis: f64,
    /// Share of requests answered 500 on purpose.
    pub error_rate: f64,
    /// What the load balancer's health checks think.
    pub healthy: bool,
}

/// Run totals so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Requests begun.
    pub begun: u64,
    /// Requests ended, as assembled by the recorder.
    pub ended: u64,
    pub outcomes: BTreeMap<Outcome, u64>,
    pub cache: BTreeMap<CacheStatus, u64>,
    pub latency: Option<Percentiles>,
    pub phases: BTreeMap<String, Percentiles>,
    pub servers: BTreeMap<String, ServerTotals>,
    /// DNS queries answered, by response code (`NOERROR`, `NXDOMAIN`, …, `DROPPED`).
    pub dns: BTreeMap<String, u64>,
}

/// The recorder's state at one moment.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Microseconds since the run started.
    pub now_micros: u64,
    /// Requests not yet ended, oldest first.
    pub in_flight: Vec<Arc<Journey>>,
    /// Recently ended requests, oldest first (bounded).
    pub recent: Vec<Arc<Journey>>,
    /// Closed seconds of metrics, oldest first.
    pub seconds: Arc<Vec<SecondMetrics>>,
    pub totals: Totals,
    /// Live server gauges.
    pub servers: Vec<ServerGauge>,
    /// Changes to the topology and settings, oldest first.
    pub markers: Arc<Vec<Marker>>,
    /// Events the recorder could not take because it was behind.
    pub events_shed: u64,
    /// Outcomes counted at the source (authoritative even when events were shed).
    pub source_outcomes: Vec<(Outcome, u64)>,
    /// Journeys written to the spool (every ended request, unless the spool stopped).
    pub spooled: u64,
    /// Since when, and why, the spool keeps no more journeys: exports hold only the
    /// requests before that (the counts and metrics stay complete).
    pub spool_stop: Option<SpoolStop>,
    /// Recent DNS queries (simulated clients' and outside tools'), oldest first.
    pub recent_dns: Vec<Arc<DnsQuery>>,
}

impl Snapshot {
    /// The journey with id `id`, in flight or recent.
    pub fn find(&self, id: super::TraceId) -> Option<&Arc<Journey>> {
        self.recent
            .iter()
            .rev()
            .chain(self.in_flight.iter())
            .find(|j| j.id == id)
    }
}
