//! The queueing prediction: whether the servers' queues can be read as independent
//! M/M/c/K queues fed a Poisson stream (every assumption that breaks is said, in plain
//! words), and if so the model with its notes.

use super::super::erlang::{MMc, allen_cunneen_factor};
use super::{Kind, QueueModel, Section, events_note, kinds, queue_model};
use crate::scenario::{Distribution, Policy, Scenario, TrafficMode};

/// Client connections per keep-alive client (as the engine's sessions allow).
const CONNECTIONS_PER_CLIENT: usize = 6;
/// Mean requests in flight per keep-alive client at most: with Poisson(1) in flight, all
/// six connections are busy less than 0.1 % of the time.
const MAX_IN_FLIGHT_PER_CLIENT: f64 = 1.0;

/// Predicts the servers' queues, or says why queueing theory does not apply.
pub fn predict_queueing(s: &Scenario) -> Section<QueueModel> {
    let t = &s.traffic;
    let scale = s.time_scale.max(1.0);
    if !t.enabled || t.rate <= 0.0 {
        return Section::no("no generated traffic");
    }
    if t.mode == TrafficMode::Closed {
        return Section::no(
            "closed-loop users wait for each answer before the next request (a finite population): arrivals are not a Poisson stream, so M/M/c does not apply",
        );
    }
    if s.servers.service.mean.is_zero() {
        return Section::no("the service time is zero: requests never wait for a worker");
    }
    let kinds = kinds(s);
    let db_share: f64 = kinds.iter().filter(|k| k.touches_db).map(|k| k.share).sum();
    let mut why = server_assumptions(s, &kinds, db_share);
    let rate = t.rate / scale;
    let mut model = model_of(s, rate, scale);
    why.extend(client_assumptions(s, &model, rate, scale));
    if timeouts_cut_the_tail(s, &model, scale) {
        why.push("the load balancer gives up (504) before the longest waits end, so the waits seen are cut short".into());
    }
    if !why.is_empty() {
        return Section::no(why.join("; "));
    }
    add_notes(s, &mut model, db_share, scale);
    Section::yes(model)
}

/// The mean service time of server `i` (0-based) in seconds, stretched by its slowdown and
/// the time scale.
fn service_secs(s: &Scenario, scale: f64, i: usize) -> f64 {
    s.servers.service.mean.get().as_secs_f64() * scale * {
        let f = s.servers.slowdown_of(i);
        if f.is_finite() { f.max(0.0) } else { 1.0 }
    }
}

/// What breaks the model at the servers: routing by rule, service times that are not
/// exponential, the CDN thinning the stream, database time and pool, timed events.
fn server_assumptions(s: &Scenario, kinds: &[Kind], db_share: f64) -> Vec<String> {
    let mut why = Vec::new();
    let service = &s.servers.service;
    let n = s.servers.count.max(1);
    if n > 1 && s.balancer.policy != Policy::Random {
        why.push(format!(
            "policy `{}` spreads requests by rule, not at random: each server then sees a smoother stream than Poisson (round robin) or the servers share work (least connections), so independent M/M/c queues do not describe them (use `random`)",
            s.balancer.policy
        ));
    }
    match service.distribution {
        Distribution::Exponential => {}
        Distribution::Constant => why.push(
            "constant service time (M/D/c): Erlang C assumes exponential service, and waits are about half as long (Allen–Cunneen factor 0.5)".into(),
        ),
        Distribution::Lognormal => {
            let scv = (service.sigma * service.sigma).exp() - 1.0;
            why.push(format!(
                "lognormal service time (M/G/c): Erlang C assumes exponential service, and with σ = {} waits scale by about (1 + cs²)/2 = {:.2} (Allen–Cunneen)",
                service.sigma,
                allen_cunneen_factor(scv)
            ));
        }
    }
    if s.cdn.enabled && s.cdn.cache_enabled && kinds.iter().any(|k| k.cacheable) {
        why.push("the CDN answers cache hits itself, so the servers see fewer requests than the clients send, and not a Poisson stream: turn the CDN off or send uncacheable requests".into());
    }
    let db = s.database.latency.get().as_secs_f64() * 2.0;
    if db_share > 0.0 && db > 0.05 * service.mean.get().as_secs_f64() {
        why.push(format!(
            "the handler holds its worker during database queries ({} ms of network per query), so service time is the drawn time plus a near-constant database time, not exponential (set database latency to 0 or send `GET /`)",
            db * 1000.0
        ));
    }
    if db_share > 0.0 && s.database.pool < n * s.servers.workers {
        why.push(format!(
            "the database pool ({} connections) is smaller than the workers ({}): queries wait for a connection, so the servers are no longer independent",
            s.database.pool,
            n * s.servers.workers
        ));
    }
    if let Some(e) = events_note(s) {
        why.push(e);
    }
    why
}

/// Each server an M/M/c/K queue with an equal share of `rate` (requests a second).
fn model_of(s: &Scenario, rate: f64, scale: f64) -> QueueModel {
    let n = s.servers.count.max(1);
    let servers: Vec<(String, f64, f64)> = (0..n)
        .map(|i| {
            (
                format!("server-{}", i + 1),
                rate / n as f64,
                service_secs(s, scale, i),
            )
        })
        .collect();
    queue_model(s.servers.workers as u32, s.servers.queue, &servers)
}

/// What breaks the Poisson arrivals at the clients: requests in flight at the clients:
/// too many per keep-alive client and they queue for one of its six connections before
/// they ever reach the server; too many in all and `max_in_flight` holds them back.
fn client_assumptions(s: &Scenario, model: &QueueModel, rate: f64, scale: f64) -> Vec<String> {
    let mut why = Vec::new();
    let profiles = s.effective_profiles();
    let links_secs: f64 = profiles
        .iter()
        .map(|p| p.latency.get().as_secs_f64())
        .fold(0.0, f64::max)
        * 4.0
        + (s.balancer.latency.get().as_secs_f64()
            + if s.cdn.enabled {
                s.cdn.latency.get().as_secs_f64()
            } else {
                0.0
            })
            * 2.0;
    // (An unstable system is said to be so below; its clients block sooner or later.)
    let response_secs = if model.is_stable() {
        model.mean_wait_ms / 1000.0 + service_secs(s, scale, 0) + links_secs * scale
    } else {
        0.0
    };
    let in_flight = rate * response_secs;
    let kept: Vec<_> = profiles.iter().filter(|p| p.keep_alive).collect();
    if !kept.is_empty() {
        let clients: usize = kept.iter().map(|p| p.clients.max(1)).sum();
        if in_flight / clients as f64 > MAX_IN_FLIGHT_PER_CLIENT {
            why.push(format!(
                "keep-alive clients hold at most {CONNECTIONS_PER_CLIENT} connections each: with {clients} clients and about {in_flight:.0} requests in flight, requests queue at the clients (blocked) instead of arriving as a Poisson stream (add clients or turn keep-alive off)"
            ));
        }
    }
    if in_flight > 0.5 * s.traffic.max_in_flight as f64 {
        why.push(format!(
            "traffic.max_in_flight ({}) holds back arrivals when about {in_flight:.0} are in flight",
            s.traffic.max_in_flight
        ));
    }
    why
}

/// Whether the balancer's upstream timeout ends more than a trace of the waits of an
/// unbounded, stable line (which the model would then overstate).
fn timeouts_cut_the_tail(s: &Scenario, model: &QueueModel, scale: f64) -> bool {
    if model.capacity.is_some() || !model.is_stable() {
        return false;
    }
    let timeout = s.balancer.upstream_timeout.get().as_secs_f64() * scale;
    model.servers.iter().any(|q| {
        let m = MMc {
            arrival_rate: q.arrival_rate,
            service_secs: q.service_ms / 1000.0,
            workers: model.workers,
        };
        m.prob_wait() * (-(f64::from(m.workers) / m.service_secs - m.arrival_rate) * timeout).exp()
            > 1e-3
    })
}

/// Notes on a model that applies: instability, SQL work, time scale, ramp.
fn add_notes(s: &Scenario, model: &mut QueueModel, db_share: f64, scale: f64) {
    if !model.is_stable() {
        model.notes.push(
            "unstable: requests arrive faster than the workers finish them, so the line grows without bound".into(),
        );
    }
    if db_share > 0.0 {
        model.notes.push("the handler time includes the SQL work of each request (tens of microseconds with no database latency)".into());
    }
    if scale > 1.0 {
        model.notes.push(format!(
            "time scale {scale}: service times stretch and arrivals slow by the same factor, so utilisation is unchanged and waits stretch"
        ));
    }
    if !s.traffic.ramp.is_zero() {
        model
            .notes
            .push("the rate ramps up first: the prediction is for the full rate".into());
    }
}
