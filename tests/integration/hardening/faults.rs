//! Faults under load: while traffic runs, servers are hung, killed and restarted, the load
//! balancer and the DNS stub go down and come back, links drop packets and the cache is
//! flushed. Every request still ends in exactly one terminal outcome, and the counts
//! reconcile across the clients, the CDN, the load balancer, the servers and the recorder.
//!
//! The invariants, once the run has stopped (every request ended, every handler finished
//! or was dropped):
//!
//! 1. Clients: each request sent ended once: the source counters sum to `sent`, and the
//!    recorder counted the same begins, ends and outcomes (nothing shed, nothing in flight).
//! 2. Each hop (CDN, LB, each server): `received = answered + aborted` — every request it
//!    took was answered or dropped unanswered, never both, never neither.
//! 3. CDN to LB: the LB only hears from the CDN, so `lb.received <= cdn.forwarded` (a
//!    forward may be refused before it arrives) and every forward the CDN got an answer for
//!    was answered by the LB: `cdn.forwarded - cdn.upstream_failed <= lb.answered`.
//! 4. LB to servers: each forward reaches at most one server once, so
//!    `sum(server.received) <= lb.forwarded`, and every answer the LB relayed came from a
//!    server: `lb.forwarded - lb.upstream_failed <= sum(server.answered)`. (Equality fails
//!    only one way: a server may answer after the LB gave up with a 504.)
//! 5. Clients to CDN: every status a client saw was answered by the CDN:
//!    `statuses <= cdn.answered`, and the CDN answered its hits itself:
//!    `cdn.received - cdn.forwarded >= hits`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hopscope::engine::{Engine, EngineOptions};
use hopscope::scenario::{Dur, Event};
use hopscope::trace::{CacheStatus, Outcome};

use super::{assert_no_engine_panics, hardened, watch_engine_panics};

const REQUESTS: u64 = 1200;

fn at(after_requests: u64, action: &str) -> Event {
    Event {
        after_requests: Some(after_requests),
        action: Some(action.into()),
        ..Event::default()
    }
}

#[test]
fn every_request_is_accounted_for_through_every_fault() {
    watch_engine_panics();
    let mut s = hardened();
    s.servers.count = 3;
    s.servers.service = hopscope::scenario::ServiceTime {
        distribution: hopscope::scenario::Distribution::Exponential,
        mean: Dur::from_millis(2),
        sigma: 0.5,
    };
    s.traffic.enabled = true;
    s.traffic.rate = 300.0;
    s.traffic.requests = REQUESTS;
    s.traffic.timeout = Dur::from_millis(1500);
    s.balancer.upstream_timeout = Dur::from_millis(300);
    s.balancer.health_interval = Dur::from_millis(100);
    s.balancer.health_timeout = Dur::from_millis(100);
    s.balancer.eject_for = Dur::from_millis(300);
    s.dns.ttl = Dur::from_secs(1);
    s.dns.timeout = Dur::from_millis(100);
    s.dns.retries = 1;
    s.events = vec![
        at(100, "hang server-3"),
        at(200, "kill server-2"),
        at(300, "cache flush"),
        at(300, "drop lb 0.2"),
        at(400, "dns drop 0.5"),
        at(450, "restart server-2"),
        at(500, "kill dns"),
        at(550, "restart server-3"),
        at(600, "restart dns"),
        at(600, "drop lb 0"),
        at(700, "kill lb"),
        at(750, "restart lb"),
        at(800, "slow server-1 400ms"),
        at(850, "cache flush"),
        at(900, "slow server-1 0ms"),
        at(950, "kill server-1"),
        at(1000, "restart server-1"),
        at(1050, "error server-2 0.5"),
    ];
    let mut engine = Engine::start(
        s,
        EngineOptions {
            traffic: true,
            play_events: true,
            ..EngineOptions::default()
        },
    )
    .expect("engine starts");
    let clients = engine.topology().clients.clone();
    let started = Instant::now();
    while clients.sent() < REQUESTS {
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "the clients send their {REQUESTS} requests ({} so far)",
            clients.sent()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let topology = engine.topology().clone();
    let last = engine.stop();

    // 1. Clients and recorder.
    let sent = clients.sent();
    let outcomes: u64 = last.source_outcomes.iter().map(|(_, n)| n).sum();
    assert_eq!(outcomes, sent, "each request sent ended exactly once");
    assert_eq!(last.events_shed, 0);
    assert!(last.in_flight.is_empty(), "{:?}", last.in_flight);
    assert_eq!(last.totals.begun, sent);
    assert_eq!(last.totals.ended, sent);
    let by_outcome: BTreeMap<Outcome, u64> = last.source_outcomes.iter().copied().collect();
    assert_eq!(by_outcome, last.totals.outcomes, "the recorder agrees");
    let count = |o: Outcome| by_outcome.get(&o).copied().unwrap_or(0);
    assert!(
        count(Outcome::Status(504)) > 0 && count(Outcome::Status(502)) > 0,
        "the faults were felt: {by_outcome:?}"
    );

    // 2. Each hop.
    let cdn = topology.cdn.as_ref().expect("cdn").counts();
    let lb = topology.lb.counts();
    let servers: Vec<_> = topology.servers().iter().map(|s| s.counts()).collect();
    for (name, c) in [("cdn", cdn), ("lb", lb)]
        .into_iter()
        .chain(servers.iter().map(|c| ("server", *c)))
    {
        assert_eq!(
            c.received,
            c.answered + c.aborted,
            "{name}: every request taken was answered or dropped, once: {c:?}"
        );
    }

    // 3. CDN to LB.
    assert!(lb.received <= cdn.forwarded, "{lb:?} {cdn:?}");
    assert!(
        cdn.forwarded - cdn.upstream_failed <= lb.answered,
        "every answer the CDN got came from the LB: {cdn:?} {lb:?}"
    );

    // 4. LB to servers.
    let received: u64 = servers.iter().map(|c| c.received).sum();
    let answered: u64 = servers.iter().map(|c| c.answered).sum();
    assert!(received <= lb.forwarded, "{received} > {lb:?}");
    assert!(
        lb.forwarded - lb.upstream_failed <= answered,
        "every answer the LB relayed came from a server: {lb:?} {servers:?}"
    );

    // 5. Clients to CDN.
    let statuses: u64 = by_outcome
        .iter()
        .filter(|(o, _)| matches!(o, Outcome::Status(_)))
        .map(|(_, n)| n)
        .sum();
    assert!(statuses <= cdn.answered, "{statuses} statuses, {cdn:?}");
    let hits = last
        .totals
        .cache
        .get(&CacheStatus::Hit)
        .copied()
        .unwrap_or(0);
    assert!(cdn.received - cdn.forwarded >= hits, "{hits} hits, {cdn:?}");
    assert!(topology.dns.counts().dropped > 0, "the DNS drop was felt");
    assert_no_engine_panics();
}
