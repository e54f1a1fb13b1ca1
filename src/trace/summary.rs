//! The end-of-run summary: what `hopscope run` prints and `--summary-json` writes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::metrics::Percentiles;
use super::{CacheStatus, Outcome, Snapshot};
use crate::scenario::server_sort_key;

/// Percentiles of one phase, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseSummary {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub mean: f64,
    pub count: u64,
}

/// One server's share of the work.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerSummary {
    pub name: String,
    /// Requests the server answered itself: a cache HIT is the CDN's answer and counts for
    /// no server, so these add up to the requests that reached a server.
    pub served: u64,
    /// Of those, answers with a 5xx status.
    pub errors: u64,
    pub max_queue: u32,
}

/// Cache results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheSummary {
    pub hits: u64,
    pub misses: u64,
    pub expired: u64,
    pub revalidated: u64,
    pub bypass: u64,
    /// (hits + revalidated) / every lookup of a cacheable request.
    pub hit_ratio: f64,
}

/// Overall latency, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub mean: f64,
    pub max: f64,
}

/// The summary of a run (the `--summary-json` format).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub duration_secs: f64,
    /// Requests that ended (every one with exactly one outcome).
    pub requests: u64,
    pub throughput_rps: f64,
    /// Count per outcome: status codes and named failures.
    pub outcomes: BTreeMap<String, u64>,
    pub cache: CacheSummary,
    pub latency_ms: LatencySummary,
    pub phases_ms: BTreeMap<String, PhaseSummary>,
    pub servers: Vec<ServerSummary>,
    /// Detailed events the recorder had to shed; outcomes above are still complete.
    pub events_shed: u64,
    /// What queueing and caching theory predict next to what was measured, or why they do
    /// not apply (filled by `theory::report`; absent when not computed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theory: Option<serde_json::Value>,
}

impl Summary {
    /// Summarises a run from its final snapshot.
    pub fn from_snapshot(
        scenario: &str,
        seed: u64,
        duration_secs: f64,
        snap: &Snapshot,
    ) -> Summary {
        let t = &snap.totals;
        // Outcomes counted at the source are complete even when events were shed.
        let outcomes: BTreeMap<Outcome, u64> = if snap.source_outcomes.is_empty() {
            t.outcomes.clone()
        } else {
            snap.source_outcomes.iter().copied().collect()
        };
        let requests = outcomes.values().sum();
        let c = |s| t.cache.get(&s).copied().unwrap_or(0);
        let (hits, misses, expired, revalidated, bypass) = (
            c(CacheStatus::Hit),
            c(CacheStatus::Miss),
            c(CacheStatus::Expired),
            c(CacheStatus::Revalidated),
            c(CacheStatus::Bypass),
        );
        let lookups = hits + misses + expired + revalidated;
        let lat = t.latency.unwrap_or_default();
        let phase = |p: &Percentiles| PhaseSummary {
            p50: p.p50,
            p95: p.p95,
            p99: p.p99,
            mean: p.mean,
            count: p.count,
        };
        let mut servers: Vec<ServerSummary> = t
            .servers
            .iter()
            .map(|(name, s)| ServerSummary {
                name: name.clone(),
                served: s.served,
                errors: s.errors,
                max_queue: 0,
            })
            .collect();
        for g in &snap.servers {
            match servers.iter_mut().find(|s| s.name == g.name) {
                Some(s) => s.max_queue = g.max_queue,
                None => servers.push(ServerSummary {
                    name: g.name.clone(),
                    max_queue: g.max_queue,
                    ..ServerSummary::default()
                }),
            }
        }
        servers.sort_by_key(|s| server_sort_key(&s.name));
        Summary {
            scenario: scenario.to_string(),
            seed,
            duration_secs,
            requests,
            throughput_rps: if duration_secs > 0.0 {
                requests as f64 / duration_secs
            } else {
                0.0
            },
            outcomes: outcomes.iter().map(|(o, n)| (o.to_string(), *n)).collect(),
            cache: CacheSummary {
                hits,
                misses,
                expired,
                revalidated,
                bypass,
                hit_ratio: if lookups > 0 {
                    (hits + revalidated) as f64 / lookups as f64
                } else {
                    0.0
                },
            },
            latency_ms: LatencySummary {
                p50: lat.p50,
                p95: lat.p95,
                p99: lat.p99,
                mean: lat.mean,
                max: lat.max,
            },
            phases_ms: t
                .phases
                .iter()
                .map(|(k, p)| (k.clone(), phase(p)))
                .collect(),
            servers,
            events_shed: snap.events_shed,
            theory: None,
        }
    }
}
