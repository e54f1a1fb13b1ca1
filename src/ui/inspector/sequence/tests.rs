//! The sequence diagram's model, tested as data: lanes, step order and labels for a MISS,
//! a HIT and failures, and odd journeys that must not break it.

use super::*;
use crate::ui::inspector::fixtures;

/// Each step as `from>to label` or `[lane] label`.
fn script(m: &SequenceModel) -> Vec<String> {
    let t = |i: usize| m.lanes[i].title.as_str();
    m.steps
        .iter()
        .map(|s| match s.kind {
            StepKind::Message { from, to } => format!("{}>{} {}", t(from), t(to), s.label),
            StepKind::Note { lane } => format!("[{}] {}", t(lane), s.label),
            StepKind::Failure { lane } => format!("![{}] {}", t(lane), s.label),
        })
        .collect()
}

#[test]
fn a_miss_travels_every_lane_in_order() {
    let m = build(&fixtures::miss(), None);
    let lanes: Vec<&str> = m.lanes.iter().map(|l| l.title.as_str()).collect();
    assert_eq!(
        lanes,
        ["client", "DNS", "CDN", "LB", "server-2", "database"]
    );
    assert_eq!(
        script(&m),
        [
            "client>DNS A? api.example.test",
            "DNS>client A 127.0.0.1",
            "client>CDN SYN (TCP connect to 127.0.0.1:4000)",
            "CDN>client SYN-ACK: connected",
            "client>CDN GET /users/2",
            "[CDN] MISS: forward",
            "CDN>LB GET /users/2",
            "[LB] pick server-2: next in turn (round robin over 3 healthy servers)",
            "LB>server-2 GET /users/2",
            "[server-2] queued behind 1 (waited 0.5 ms)",
            "[server-2] handler GET /users/:id",
            "server-2>database SELECT * FROM users WHERE id = ?",
            "database>server-2 1 row",
            "server-2>LB 200 OK",
            "LB>CDN 200 OK",
            "CDN>client 200 OK · X-Cache: MISS",
        ]
    );
    let times: Vec<f64> = m.steps.iter().map(|s| s.at_ms).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "top to bottom in time"
    );
    assert_eq!(times[0], 0.0);
    let replies = m.steps.iter().filter(|s| s.is_reply).count();
    assert_eq!(replies, 6, "answers are dashed");
    assert_eq!(m.failure, None);
}

#[test]
fn a_hit_stops_at_the_cdn() {
    let m = build(&fixtures::hit(), None);
    let lanes: Vec<&str> = m.lanes.iter().map(|l| l.title.as_str()).collect();
    assert_eq!(lanes, ["client", "CDN"]);
    assert_eq!(
        script(&m),
        [
            "client>CDN GET /restaurants/1",
            "[CDN] HIT: answered from the cache",
            "CDN>client 200 OK · X-Cache: HIT",
        ]
    );
}

#[test]
fn failures_are_marked_at_their_hop() {
    let m = build(&fixtures::refused(), Some(Component::Cdn));
    assert_eq!(
        script(&m).last().map(String::as_str),
        Some("![CDN] connection refused by the CDN")
    );
    let m = build(&fixtures::rejected_503(), None);
    let s = script(&m);
    assert!(
        s.contains(&"[server-2] rejected: queue full (64 waiting), answer 503".to_string()),
        "{s:?}"
    );
    assert!(
        s.last()
            .is_some_and(|l| l.starts_with("![server-2] 503 Service Unavailable")),
        "{s:?}"
    );
    let m = build(&fixtures::bad_gateway(), None);
    let s = script(&m);
    assert!(
        s.contains(&"server-3>LB error: connection refused".to_string()),
        "{s:?}"
    );
}

#[test]
fn odd_journeys_do_not_break_the_diagram() {
    let empty = build(&Journey::default(), None);
    assert_eq!(empty.lanes.len(), 1);
    assert!(empty.steps.is_empty());
    let mut odd = fixtures::miss();
    odd.spans.push(fixtures::span(
        Component::Server(40),
        Phase::Db,
        70_000,
        10,
        &[],
    ));
    odd.spans
        .push(fixtures::span(Component::Lb, Phase::Forward, 5, 5, &[]));
    odd.spans.push(fixtures::span(
        Component::Client,
        Phase::Connect,
        9,
        3,
        &[("tcp_ms", "-4")],
    ));
    let m = build(&odd, None);
    for s in &m.steps {
        match s.kind {
            StepKind::Message { from, to } => {
                assert!(from < m.lanes.len() && to < m.lanes.len())
            }
            StepKind::Note { lane } | StepKind::Failure { lane } => {
                assert!(lane < m.lanes.len())
            }
        }
    }
}
