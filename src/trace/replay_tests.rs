//! Unit tests of the replay model on a small hand-made run.

use super::*;
use crate::trace::Attr;
use crate::trace::export::{ComponentInfo, RunInfo, TopologyInfo};
use crate::trace::testing::span;

fn journey(id: u128, start: u64, end: u64, outcome: Outcome, server: &str) -> Journey {
    Journey {
        id: TraceId(id),
        profile: "browser".into(),
        client: "browser-1".into(),
        method: "GET".into(),
        url: "/users/1".into(),
        start_micros: start,
        end_micros: Some(end),
        outcome: Some(outcome),
        served_by: Some(server.into()),
        arrivals: vec![
            (Component::Lb, start + 10),
            (Component::Server(1), start + 20),
        ],
        spans: vec![
            span(id, Component::Lb, Phase::Pick, start + 10, start + 11),
            span(
                id,
                Component::Server(1),
                Phase::Handler,
                start + 20,
                end - 10,
            ),
            span(id, Component::Client, Phase::Wait, start + 5, end - 5),
        ],
        ..Journey::default()
    }
}

fn replay() -> Replay {
    let mut dns = span(3, Component::Dns, Phase::Dns, 2_000_100, 2_000_200);
    dns.attrs.push(Attr::new("rcode", "NOERROR"));
    let mut third = journey(3, 2_000_000, 2_500_000, Outcome::Status(503), "server-1");
    third.spans.push(dns);
    Replay::new(Trace {
        meta: RunMeta {
            info: RunInfo {
                scenario: "unit".into(),
                seed: 3,
                duration_micros: 3_000_000,
                topology: TopologyInfo {
                    components: vec![ComponentInfo {
                        name: "server-1".into(),
                        address: Some("127.0.0.1:9".into()),
                    }],
                    ..TopologyInfo::default()
                },
                ..RunInfo::default()
            },
            markers: vec![Marker {
                at_micros: 1_500_000,
                component: Some(Component::Server(1)),
                text: "kill server-1".into(),
            }],
            seconds: (0..3)
                .map(|second| SecondMetrics {
                    second,
                    ..SecondMetrics::default()
                })
                .collect(),
            ..RunMeta::default()
        },
        requests: vec![
            third,
            journey(1, 100, 1_000, Outcome::Status(200), "server-1"),
            journey(2, 500, 400_000, Outcome::Status(200), "server-1"),
        ],
    })
}

#[test]
fn a_snapshot_shows_what_was_known_at_that_moment() {
    let r = replay();
    let s = r.snapshot_at(700);
    assert_eq!(s.in_flight.len(), 2, "both begun, none ended");
    let first = &s.in_flight[0];
    assert_eq!(first.id, TraceId(1));
    assert_eq!(first.arrivals.len(), 2);
    assert_eq!(first.spans.len(), 1, "only the span that ended by 700 µs");
    assert!(first.outcome.is_none());
    assert_eq!(s.totals.begun, 2);
    assert_eq!(s.totals.ended, 0);

    let s = r.snapshot_at(1_200_000);
    assert!(s.in_flight.is_empty());
    assert_eq!(s.recent.len(), 2);
    assert_eq!(s.totals.outcomes[&Outcome::Status(200)], 2);
    assert_eq!(s.seconds.len(), 1, "one whole second has ended");
    assert!(s.markers.is_empty());
    assert!(s.servers.iter().all(|g| g.alive));

    let s = r.snapshot_at(1_600_000);
    assert_eq!(s.markers.len(), 1);
    assert!(!s.servers[0].alive, "the kill marker took server-1 down");
}

#[test]
fn going_back_gives_the_same_snapshot_as_going_forward() {
    let r = replay();
    let forward = r.snapshot_at(2_600_000).totals;
    let _ = r.snapshot_at(r.duration_micros());
    let back = r.snapshot_at(2_600_000).totals;
    assert_eq!(forward, back);
    let fresh = replay().snapshot_at(2_600_000).totals;
    assert_eq!(fresh, back);
    assert_eq!(
        back.dns.get("NOERROR"),
        Some(&1),
        "the stub's answers are counted"
    );
    assert!(
        !back.phases.contains_key("dns"),
        "the stub's spans are not client time"
    );
    assert_eq!(back.servers["server-1"].errors, 1);
}

#[test]
fn stepping_moves_hop_by_hop() {
    let r = replay();
    let first = r.next_event(0).copied().expect("an event");
    assert_eq!(first.kind, HopKind::Begin);
    assert_eq!(first.at_micros, 100);
    let second = r.next_event(first.at_micros).copied().expect("another");
    assert!(second.at_micros > first.at_micros);
    assert_eq!(r.prev_event(second.at_micros).copied(), Some(first));
    assert!(r.prev_event(first.at_micros).is_none());
    let end = r
        .next_event_of(TraceId(1), 995)
        .copied()
        .expect("the end of request 1");
    assert_eq!((end.kind, end.at_micros), (HopKind::End, 1_000));
    let line = r.trace_event(&end).expect("event").to_string();
    assert!(line.contains("HTTP 200"), "{line}");
    assert!(r.next_event(r.duration_micros()).is_none());
}

#[test]
fn the_final_snapshot_summarises_the_run() {
    let r = replay();
    let s = r.summary();
    assert_eq!(s.requests, 3);
    assert_eq!(s.outcomes["503"], 1);
    assert_eq!(s.scenario, "unit");
    assert_eq!(r.final_snapshot().seconds.len(), 3);
}

#[test]
fn durations_in_markers_are_read() {
    assert_eq!(millis_of("200ms"), Some(200.0));
    assert_eq!(millis_of("1.5s"), Some(1500.0));
    assert_eq!(millis_of("300us"), Some(0.3));
    assert_eq!(millis_of("fast"), None);
}
