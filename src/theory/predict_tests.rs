//! Tests of what theory predicts for scenarios, and of the reasons it gives when it does
//! not apply.

use super::*;
use crate::scenario::{Distribution, Dur, Event, Policy, Profile, ServiceTime, Template};

/// One server, `workers` workers, exponential service, no CDN, clients sending `GET /`.
fn queueing(servers: usize, workers: usize, rate: f64, service_ms: u64) -> Scenario {
    let mut s = Scenario::default();
    s.cdn.enabled = false;
    s.database.latency = Dur::ZERO;
    s.servers.count = servers;
    s.servers.workers = workers;
    s.servers.queue = 100_000;
    s.servers.service = ServiceTime {
        distribution: Distribution::Exponential,
        mean: Dur::from_millis(service_ms),
        sigma: 0.5,
    };
    s.balancer.policy = Policy::Random;
    s.balancer.upstream_timeout = Dur::from_secs(30);
    s.traffic.rate = rate;
    s.profiles = vec![Profile {
        name: "probe".into(),
        clients: 100,
        latency: Dur::ZERO,
        tls: false,
        mix: vec![Template::get("/")],
        ..Profile::default()
    }];
    s
}

#[test]
fn one_server_with_two_workers_is_erlang_c() {
    // λ = 100/s, 1/μ = 10 ms, c = 2: a = 1, ρ = 0.5 → P(wait) = 1/3, Wq = (1/3)/(200-100) s.
    let t = predict(&queueing(1, 2, 100.0, 10));
    let q = t.queueing.get().expect("applies");
    assert_eq!(q.model, "Erlang C (M/M/2)");
    assert!((q.prob_wait - 1.0 / 3.0).abs() < 1e-9);
    assert!((q.mean_wait_ms - 10.0 / 3.0).abs() < 1e-9);
    assert!((q.utilization - 0.5).abs() < 1e-12);
    assert_eq!(q.blocking, 0.0);
    assert!(q.p95_wait_ms.is_some());
    assert!(!t.cache.applies, "no CDN");
}

#[test]
fn random_routing_gives_independent_mm1_queues() {
    // 4 servers, 1 worker, 10 ms, 240/s in all: each M/M/1 at ρ = 0.6: Wq = 0.6·10/0.4 = 15 ms.
    let q = predict_queueing(&queueing(4, 1, 240.0, 10));
    let q = q.get().expect("applies");
    assert_eq!(q.model, "M/M/1 ×4, random routing");
    assert!((q.mean_wait_ms - 15.0).abs() < 1e-9);
    assert!((q.prob_wait - 0.6).abs() < 1e-9);
    assert_eq!(q.servers.len(), 4);
    // Round robin is not random: the reason says so.
    let mut rr = queueing(4, 1, 240.0, 10);
    rr.balancer.policy = Policy::RoundRobin;
    let why = predict_queueing(&rr).why_not.expect("does not apply");
    assert!(why.contains("round_robin"), "{why}");
}

#[test]
fn a_short_line_refuses_requests_as_mmck_says() {
    let mut s = queueing(1, 2, 300.0, 10);
    s.servers.queue = 4;
    let q = predict_queueing(&s);
    let q = q.get().expect("applies");
    assert_eq!(q.model, "M/M/2/6");
    assert_eq!(q.capacity, Some(6));
    let direct = MMcK {
        arrival_rate: 300.0,
        service_secs: 0.01,
        workers: 2,
        capacity: 6,
    }
    .state();
    assert!((q.blocking - direct.blocking).abs() < 1e-12);
    assert!(q.blocking > 0.1, "overloaded: {}", q.blocking);
}

#[test]
fn slowdown_and_time_scale_enter_the_model() {
    let mut s = queueing(2, 1, 100.0, 10);
    s.servers.slowdown = vec![1.0, 2.0];
    let q = predict_queueing(&s);
    let q = q.get().expect("applies");
    assert!((q.servers[1].service_ms - 20.0).abs() < 1e-9);
    assert!((q.servers[1].utilization - 1.0).abs() < 1e-9);
    assert!(!q.is_stable());
    let mut slow = queueing(1, 2, 100.0, 10);
    slow.time_scale = 2.0;
    let q = predict_queueing(&slow);
    let q = q.get().expect("applies");
    assert!((q.utilization - 0.5).abs() < 1e-12, "same utilisation");
    assert!((q.mean_wait_ms - 20.0 / 3.0).abs() < 1e-9, "waits stretch");
}

#[test]
fn each_broken_assumption_is_named() {
    let check = |s: Scenario, word: &str| {
        let why = predict_queueing(&s).why_not.unwrap_or_default();
        assert!(why.contains(word), "expected `{word}` in: {why}");
    };
    let mut s = queueing(1, 2, 100.0, 10);
    s.servers.service.distribution = Distribution::Lognormal;
    check(s, "lognormal");
    let mut s = queueing(1, 2, 100.0, 10);
    s.servers.service.distribution = Distribution::Constant;
    check(s, "M/D/c");
    let mut s = queueing(1, 2, 100.0, 10);
    s.traffic.mode = TrafficMode::Closed;
    check(s, "closed-loop");
    let mut s = queueing(1, 2, 100.0, 10);
    s.profiles[0].mix = vec![Template::get("/users/{id}")];
    s.database.latency = Dur::from_millis(2);
    check(s, "database");
    let mut s = queueing(1, 2, 100.0, 10);
    s.profiles[0].clients = 1;
    check(s, "keep-alive");
    let mut s = queueing(1, 2, 100.0, 10);
    s.events = vec![Event {
        at: Some(Dur::from_secs(1)),
        action: Some("kill server-1".into()),
        ..Event::default()
    }];
    check(s, "kill server-1");
    let mut s = queueing(1, 2, 100.0, 10);
    s.cdn.enabled = true;
    s.profiles[0].mix = vec![Template::get("/restaurants/{id}")];
    check(s, "CDN");
    let mut s = queueing(1, 1, 95.0, 10);
    s.balancer.upstream_timeout = Dur::from_millis(100);
    check(s, "504");
}

#[test]
fn che_for_one_zipf_resource() {
    let mut s = Scenario::default();
    s.cdn.capacity = 20;
    s.database.restaurants = 200;
    s.traffic.zipf = 0.8;
    s.profiles = vec![Profile {
        mix: vec![Template::get("/restaurants/{id}")],
        ..Profile::default()
    }];
    let c = predict_cache(&s);
    let c = c.get().expect("applies");
    assert_eq!(c.items, 200);
    let direct = che::predict(&che::zipf(200, 0.8), 20, Eviction::Lru);
    assert!((c.hit_ratio - direct.hit_ratio).abs() < 1e-12);
    assert!((c.characteristic_secs - direct.characteristic_requests / 20.0).abs() < 1e-9);
}

#[test]
fn the_standard_mix_counts_only_cacheable_lookups() {
    let s = Scenario::default();
    let (urls, share) = cache_popularity(&s);
    // Restaurants (50 ids), one restaurants page and users (100 ids); orders are private.
    assert_eq!(urls.len(), 151);
    assert!((urls.values().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!(share > 0.5 && share < 1.0, "{share}");
    // Everything fits in 1000 entries.
    let c = predict_cache(&s);
    assert_eq!(c.get().map(|c| c.hit_ratio), Some(1.0));
    let mut lfu = Scenario::default();
    lfu.cdn.eviction = Eviction::Lfu;
    assert!(!predict_cache(&lfu).applies);
}
