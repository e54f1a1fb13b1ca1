//! What theory predicts for a scenario, and whether its assumptions hold there.
//!
//! - Queueing: every server is an M/M/c/K queue (c = `servers.workers`, K = c +
//!   `servers.queue`) fed a Poisson stream. With one server any policy does; with several,
//!   only `random` routing splits the clients' Poisson stream into independent Poisson
//!   streams, one per server. When the line is long enough that nobody is refused this is
//!   Erlang C (M/M/c; M/M/1 for one worker); otherwise M/M/c/K gives the 503 share too.
//! - Caching: the request mix under the independent reference model gives each cacheable
//!   URL a probability; Che's approximation (LRU) or its FIFO variant gives the hit ratio.
//!
//! Each section either holds a prediction or says, in plain words, why the theory does not
//! apply to this scenario (docs/theory.md explains each reason).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::che;
use super::erlang::{MMc, MMcK};
use crate::scenario::{Eviction, Scenario, TrafficMode};

mod queueing;
pub use queueing::predict_queueing;

/// Below this refused share the line counts as unlimited (Erlang C rather than M/M/c/K).
const NEGLIGIBLE_BLOCKING: f64 = 1e-6;
/// An overloaded server whose line takes longer than this to fill has no steady state
/// within a run.
const MAX_FILL_SECS: f64 = 60.0;

/// A prediction, or why there is none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Section<T> {
    /// Whether the theory's assumptions hold for this scenario.
    pub applies: bool,
    /// When they do not: why, in plain words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prediction: Option<T>,
}

impl<T> Section<T> {
    fn yes(prediction: T) -> Section<T> {
        Section {
            applies: true,
            why_not: None,
            prediction: Some(prediction),
        }
    }

    fn no(why: impl Into<String>) -> Section<T> {
        Section {
            applies: false,
            why_not: Some(why.into()),
            prediction: None,
        }
    }

    /// The prediction, when the theory applies.
    pub fn get(&self) -> Option<&T> {
        self.prediction.as_ref().filter(|_| self.applies)
    }
}

/// One server's queue, predicted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerQueue {
    pub name: String,
    /// Requests per second offered to it.
    pub arrival_rate: f64,
    /// Mean service time, ms.
    pub service_ms: f64,
    /// Share of time each worker is busy (offered load ÷ workers).
    pub utilization: f64,
    /// P(an admitted request waits).
    pub prob_wait: f64,
    /// Mean wait of the admitted requests, ms (infinite: no steady state).
    pub mean_wait_ms: f64,
    /// Share refused with 503.
    pub blocking: f64,
}

/// The servers' queues, predicted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueModel {
    /// `Erlang C (M/M/4)`, `M/M/1 ×4, random routing`, `M/M/4/12` …
    pub model: String,
    pub workers: u32,
    /// K = workers + line, when the line is short enough to refuse requests.
    pub capacity: Option<u32>,
    /// Requests per second offered to all servers together.
    pub arrival_rate: f64,
    /// Averages over servers, weighted by their traffic.
    pub utilization: f64,
    pub prob_wait: f64,
    pub mean_wait_ms: f64,
    pub blocking: f64,
    /// The 95th percentile of the wait, ms (Erlang C only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_wait_ms: Option<f64>,
    pub servers: Vec<ServerQueue>,
    /// Approximations still made, in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl QueueModel {
    /// Every server has a steady state.
    pub fn is_stable(&self) -> bool {
        self.servers.iter().all(|s| s.mean_wait_ms.is_finite())
    }
}

/// Predicts `workers`-worker servers with a line of `line` places, each fed the arrival rate
/// and mean service time given (name, requests/s, seconds).
pub fn queue_model(workers: u32, line: usize, servers: &[(String, f64, f64)]) -> QueueModel {
    let c = workers.max(1);
    let capacity = u32::try_from(line)
        .unwrap_or(u32::MAX)
        .saturating_add(c)
        .min(4_000_000);
    let mut per = Vec::new();
    let mut finite = false;
    for (name, rate, service_secs) in servers {
        let mmc = MMc {
            arrival_rate: *rate,
            service_secs: *service_secs,
            workers: c,
        };
        let k = MMcK {
            arrival_rate: *rate,
            service_secs: *service_secs,
            workers: c,
            capacity,
        }
        .state();
        // Overloaded with a line so long it would take more than a minute to fill: no
        // steady state within any run (Erlang C says the wait is unbounded).
        // The line fills at the drift λ − cμ, or, right at ρ = 1, as a random walk does
        // (its spread grows like 2λt).
        let drain = f64::from(c) / service_secs;
        let diffusive = (line as f64).powi(2) / (2.0 * rate.max(1e-9));
        let fill_secs = if *rate > drain {
            (line as f64 / (*rate - drain)).min(diffusive)
        } else {
            diffusive
        };
        let endless = *rate >= drain && fill_secs > MAX_FILL_SECS;
        let unlimited = endless || k.blocking < NEGLIGIBLE_BLOCKING;
        finite |= !unlimited;
        let (prob_wait, mean_wait_ms) = if unlimited {
            (mmc.prob_wait(), mmc.mean_wait_secs() * 1000.0)
        } else {
            (k.prob_wait_admitted, k.mean_wait_secs * 1000.0)
        };
        per.push(ServerQueue {
            name: name.clone(),
            arrival_rate: *rate,
            service_ms: service_secs * 1000.0,
            utilization: mmc.utilization(),
            prob_wait,
            mean_wait_ms,
            blocking: if endless {
                (1.0 - drain / rate).max(0.0)
            } else if unlimited {
                0.0
            } else {
                k.blocking
            },
        });
    }
    let offered: f64 = per.iter().map(|s| s.arrival_rate).sum();
    let admitted: f64 = per
        .iter()
        .map(|s| s.arrival_rate * (1.0 - s.blocking))
        .sum();
    let weigh = |f: &dyn Fn(&ServerQueue) -> f64, by_admitted: bool| {
        let total = if by_admitted { admitted } else { offered };
        if total <= 0.0 {
            return 0.0;
        }
        per.iter()
            .map(|s| {
                let w = s.arrival_rate * if by_admitted { 1.0 - s.blocking } else { 1.0 };
                if w > 0.0 { w * f(s) } else { 0.0 }
            })
            .sum::<f64>()
            / total
    };
    let n = per.len();
    let model = match (finite, n, c) {
        (true, 1, _) => format!("M/M/{c}/{capacity}"),
        (true, _, _) => format!("M/M/{c}/{capacity} ×{n}, random routing"),
        (false, 1, 1) => "M/M/1".to_string(),
        (false, 1, _) => format!("Erlang C (M/M/{c})"),
        (false, _, 1) => format!("M/M/1 ×{n}, random routing"),
        (false, _, _) => format!("Erlang C (M/M/{c}) ×{n}, random routing"),
    };
    let same = per.windows(2).all(|w| {
        (w[0].arrival_rate - w[1].arrival_rate).abs() < 1e-9
            && (w[0].service_ms - w[1].service_ms).abs() < 1e-9
    });
    let p95_wait_ms = (!finite && same && n > 0).then(|| {
        MMc {
            arrival_rate: per[0].arrival_rate,
            service_secs: per[0].service_ms / 1000.0,
            workers: c,
        }
        .wait_quantile_secs(0.95)
            * 1000.0
    });
    QueueModel {
        model,
        workers: c,
        capacity: finite.then_some(capacity),
        arrival_rate: offered,
        utilization: weigh(&|s| s.utilization, false),
        prob_wait: weigh(&|s| s.prob_wait, true),
        mean_wait_ms: weigh(&|s| s.mean_wait_ms, true),
        blocking: weigh(&|s| s.blocking, false),
        p95_wait_ms,
        servers: per,
        notes: Vec::new(),
    }
}

/// The cache, predicted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CacheModel {
    /// `Che's approximation (LRU)` or the FIFO variant.
    pub model: String,
    /// Entries the cache holds.
    pub capacity: usize,
    /// Distinct cacheable URLs the clients ask for.
    pub items: usize,
    /// Steady-state share of lookups answered from the cache.
    pub hit_ratio: f64,
    /// How long an entry survives without a request, in lookups (infinite: all fit).
    pub characteristic_lookups: f64,
    /// The same in seconds at the scenario's rate.
    pub characteristic_secs: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Everything theory says about a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Theory {
    pub queueing: Section<QueueModel>,
    pub cache: Section<CacheModel>,
}

/// How a request of the mix meets the CDN and the servers.
struct Kind {
    /// Its share of all requests.
    share: f64,
    /// URLs it names, with their probability within this template.
    urls: Vec<(String, f64)>,
    cacheable: bool,
    touches_db: bool,
    writes: bool,
}

fn resource_rows(s: &Scenario, path: &str) -> usize {
    if path.starts_with("/users") {
        s.database.users
    } else if path.starts_with("/orders") {
        s.database.orders
    } else {
        s.database.restaurants
    }
    .max(1)
}

/// The mix as kinds of request, with the URLs each names and their probabilities (ids
/// drawn from the same Zipf law the clients use).
fn kinds(s: &Scenario) -> Vec<Kind> {
    let profiles = s.effective_profiles();
    let total_profile: f64 = profiles.iter().map(|p| p.weight.max(0.0)).sum();
    let mut out = Vec::new();
    for p in &profiles {
        let total_mix: f64 = p.mix.iter().map(|t| t.weight.max(0.0)).sum();
        if p.weight <= 0.0 || total_mix <= 0.0 || total_profile <= 0.0 {
            continue;
        }
        for t in &p.mix {
            if t.weight <= 0.0 {
                continue;
            }
            let share = p.weight / total_profile * t.weight / total_mix;
            let bare = t.path.split('?').next().unwrap_or("/");
            let first = bare.trim_start_matches('/').split('/').next().unwrap_or("");
            let get = t.method.eq_ignore_ascii_case("GET") || t.method.eq_ignore_ascii_case("HEAD");
            let public = s.api.public_resources.iter().any(|r| r == first);
            let urls = if t.path.contains("{id}") {
                let n = resource_rows(s, &t.path);
                let law = che::zipf(
                    n,
                    if s.traffic.zipf > 0.0 {
                        s.traffic.zipf
                    } else {
                        0.0
                    },
                );
                law.iter()
                    .enumerate()
                    .map(|(i, q)| (t.path.replace("{id}", &(i + 1).to_string()), *q))
                    .collect()
            } else {
                vec![(t.path.clone(), 1.0)]
            };
            out.push(Kind {
                share,
                urls,
                cacheable: get && public,
                touches_db: !(bare == "/"
                    || bare == "/health"
                    || (bare == "/cart" && !s.servers.stateless)),
                writes: !get && public,
            });
        }
    }
    out
}

/// Why a scenario's timed events void a prediction, if they do.
fn events_note(s: &Scenario) -> Option<String> {
    let actions: Vec<&str> = s
        .events
        .iter()
        .filter_map(|e| e.action.as_deref())
        .collect();
    (!actions.is_empty()).then(|| {
        format!(
            "timed events change the system mid-run ({}): theory describes one steady configuration",
            actions.join(", ")
        )
    })
}

/// The probability of each cacheable URL among cacheable lookups, and the lookups' share
/// of all requests.
pub fn cache_popularity(s: &Scenario) -> (BTreeMap<String, f64>, f64) {
    let mut urls: BTreeMap<String, f64> = BTreeMap::new();
    let mut share = 0.0;
    for k in kinds(s).iter().filter(|k| k.cacheable) {
        share += k.share;
        for (url, q) in &k.urls {
            *urls.entry(url.clone()).or_default() += k.share * q;
        }
    }
    if share > 0.0 {
        for p in urls.values_mut() {
            *p /= share;
        }
    }
    (urls, share)
}

/// Predicts the CDN's hit ratio, or says why caching theory does not apply.
pub fn predict_cache(s: &Scenario) -> Section<CacheModel> {
    if !s.cdn.enabled {
        return Section::no("no CDN in this scenario");
    }
    if !s.cdn.cache_enabled {
        return Section::no("the CDN's cache is off: every request passes through (BYPASS)");
    }
    if !s.traffic.enabled {
        return Section::no("no generated traffic");
    }
    let kinds = kinds(s);
    let mut why = Vec::new();
    if kinds.iter().any(|k| k.writes) {
        why.push("some requests write to cached resources, which removes their entries: popularity alone no longer decides what is cached".to_string());
    }
    if s.cdn.eviction == Eviction::Lfu {
        why.push("LFU as the CDN does it forgets the counts of evicted entries, for which there is no simple formula (a perfect LFU would keep the most popular URLs)".into());
    }
    if let Some(e) = events_note(s) {
        why.push(e);
    }
    let (popularity, share) = cache_popularity(s);
    if popularity.is_empty() {
        why.push("no request of the mix is cacheable".into());
    }
    if !why.is_empty() {
        return Section::no(why.join("; "));
    }
    let p: Vec<f64> = popularity.values().copied().collect();
    let pred = che::predict(&p, s.cdn.capacity, s.cdn.eviction);
    let lookup_rate = if s.traffic.mode == TrafficMode::Open {
        s.traffic.rate * share / s.time_scale.max(1.0)
    } else {
        0.0
    };
    let mut notes = vec![
        "counts HIT and REVALIDATED as hits over every lookup but BYPASS, after the cache has warmed".to_string(),
        "concurrent misses for one URL all go to the origin (no collapsing): each counts as a miss".to_string(),
    ];
    if s.cdn.capacity >= p.len() {
        notes.push("every URL fits: once warm, nothing is evicted".into());
    }
    Section::yes(CacheModel {
        model: match s.cdn.eviction {
            Eviction::Fifo => "Che-style approximation (FIFO)".into(),
            _ => "Che's approximation (LRU)".into(),
        },
        capacity: s.cdn.capacity,
        items: p.len(),
        hit_ratio: pred.hit_ratio,
        characteristic_lookups: pred.characteristic_requests,
        characteristic_secs: if lookup_rate > 0.0 {
            pred.characteristic_requests / lookup_rate
        } else {
            f64::NAN
        },
        notes,
    })
}

/// Everything theory says about `s`.
pub fn predict(s: &Scenario) -> Theory {
    Theory {
        queueing: predict_queueing(s),
        cache: predict_cache(s),
    }
}

#[cfg(test)]
#[path = "predict_tests.rs"]
mod tests;
