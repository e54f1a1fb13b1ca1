//! Unit tests of checkpoint evaluation, on hand-made snapshots.

use std::sync::Arc;

use super::*;
use crate::scenario::CheckKind;
use crate::trace::{
    Attr, CacheStatus, Component, DnsQuery, Exchange, Journey, Marker, Outcome, OutcomeClass,
    Phase, ServerGauge, Span, TraceId, metrics::SecondMetrics,
};

fn journey(id: u128, start_ms: u64, latency_ms: u64, outcome: &str) -> Journey {
    Journey {
        id: TraceId(id),
        profile: "browser".into(),
        client: "browser-1".into(),
        method: "GET".into(),
        url: "http://api.example.test:8080/users/1".into(),
        start_micros: start_ms * 1000,
        end_micros: Some((start_ms + latency_ms) * 1000),
        outcome: outcome.parse().ok(),
        ..Journey::default()
    }
}

fn snap(now_ms: u64, journeys: Vec<Journey>, markers: Vec<(u64, &str)>) -> Snapshot {
    Snapshot {
        now_micros: now_ms * 1000,
        recent: journeys.into_iter().map(Arc::new).collect(),
        markers: Arc::new(
            markers
                .into_iter()
                .map(|(at, text)| Marker {
                    at_micros: at * 1000,
                    component: None,
                    text: text.into(),
                })
                .collect(),
        ),
        ..Snapshot::default()
    }
}

fn check(kind: CheckKind) -> Check {
    Check {
        kind: Some(kind),
        ..Check::default()
    }
}

fn ctx(since_ms: u64) -> Context {
    Context {
        since_micros: since_ms * 1000,
        scale: 1.0,
        ..Context::default()
    }
}

#[test]
fn outcome_counts_only_requests_begun_since_the_step_began() {
    let c = Check {
        expect: Some("502".into()),
        ..check(CheckKind::Outcome)
    };
    let s = snap(
        5000,
        vec![journey(1, 100, 10, "502"), journey(2, 2000, 10, "200")],
        vec![],
    );
    let v = evaluate(&c, &s, &ctx(1000));
    assert!(!v.passed(), "{v:?}");
    assert!(v.detail().contains("200×1"), "{v:?}");
    let s = snap(
        5000,
        vec![journey(1, 100, 10, "502"), journey(2, 2000, 10, "502")],
        vec![],
    );
    let v = evaluate(&c, &s, &ctx(1000));
    assert!(v.passed(), "{v:?}");
    assert!(v.detail().contains("HTTP 502"), "{v:?}");
}

#[test]
fn an_anchored_check_waits_for_its_marker_and_then_looks_after_it() {
    let c = Check {
        expect: Some("connection_refused".into()),
        after: Some("kill cdn".into()),
        ..check(CheckKind::Outcome)
    };
    let early = snap(
        3000,
        vec![journey(1, 100, 10, "connection_refused")],
        vec![],
    );
    let v = evaluate(&c, &early, &ctx(2000));
    assert_eq!(
        v,
        Verdict::Waiting("waiting for “kill cdn” to happen".into())
    );
    // The marker came before the step began: the window reaches back to it.
    let s = snap(
        9000,
        vec![
            journey(1, 100, 10, "connection_refused"),
            journey(2, 1500, 10, "connection_refused"),
        ],
        vec![(1200, "kill cdn"), (1300, "could not kill cdn: no CDN")],
    );
    let v = evaluate(&c, &s, &ctx(5000));
    assert!(v.passed(), "{v:?}");
    assert!(v.detail().starts_with("1 request ended"), "{v:?}");
    // The learner's own action counts as the anchor too.
    let acted = Context {
        acted: Some((4_000_000, "kill cdn".into())),
        ..ctx(5000)
    };
    assert!(!evaluate(&c, &s, &acted).passed());
    // A marker from before the lesson (re)started is no anchor.
    let later = Context {
        floor_micros: 1_250_000,
        ..ctx(5000)
    };
    assert_eq!(
        evaluate(&c, &s, &later),
        Verdict::Waiting("waiting for “kill cdn” to happen".into())
    );
}

#[test]
fn no_outcome_needs_a_sample_and_no_bad_one() {
    let c = Check {
        expect: Some("5xx".into()),
        count: Some(3),
        ..check(CheckKind::NoOutcome)
    };
    let ok: Vec<Journey> = (0..3)
        .map(|i| journey(i, 1000 + i as u64, 5, "200"))
        .collect();
    let v = evaluate(&c, &snap(2000, ok[..2].to_vec(), vec![]), &ctx(0));
    assert_eq!(
        v,
        Verdict::Waiting("2 of 3 requests ended since this step began, none with 5xx".into())
    );
    assert!(evaluate(&c, &snap(2000, ok.clone(), vec![]), &ctx(0)).passed());
    let mut bad = ok;
    bad.push(journey(9, 1500, 5, "502"));
    let v = evaluate(&c, &snap(2000, bad, vec![]), &ctx(0));
    assert!(
        v.detail().starts_with("1 of 4 requests ended with 5xx"),
        "{v:?}"
    );
}

#[test]
fn filters_narrow_the_requests() {
    let mut post = journey(2, 1000, 5, "201");
    post.method = "POST".into();
    post.url = "/users".into();
    post.profile = "outside".into();
    let s = snap(3000, vec![journey(1, 1000, 5, "201"), post], vec![]);
    let mut c = Check {
        expect: Some("2xx".into()),
        method: Some("POST".into()),
        url: Some("/users".into()),
        profile: Some("outside".into()),
        ..check(CheckKind::Outcome)
    };
    assert!(evaluate(&c, &s, &ctx(0)).passed());
    c.url = Some("/users/*".into());
    assert!(!evaluate(&c, &s, &ctx(0)).passed());
    assert!(url_matches("/users/*", "http://h:1/users/1?x=2"));
    assert!(url_matches("/restaurants?_page=1", "/restaurants?_page=1"));
    assert!(!url_matches("/restaurants", "/restaurants/1"));
    assert!(url_matches("/restaurants", "/restaurants?_page=1"));
}

#[test]
fn cache_looks_at_the_last_request_through_the_cache() {
    let mut a = journey(1, 1000, 5, "200");
    a.cache = Some(CacheStatus::Miss);
    let mut b = journey(2, 1100, 5, "200");
    b.cache = Some(CacheStatus::Hit);
    let c = Check {
        expect: Some("HIT".into()),
        url: Some("/users/1".into()),
        ..check(CheckKind::Cache)
    };
    assert!(evaluate(&c, &snap(2000, vec![a.clone(), b.clone()], vec![]), &ctx(0)).passed());
    let v = evaluate(&c, &snap(2000, vec![b, a], vec![]), &ctx(0));
    assert!(
        v.passed(),
        "order in `recent` does not matter, end time does: {v:?}"
    );
}

#[test]
fn served_by_count_and_shares() {
    let mut js = Vec::new();
    for i in 0..30u64 {
        let mut j = journey(u128::from(i), 1000 + i * 10, 5, "200");
        j.served_by = Some(format!("server-{}", 1 + i % 3));
        js.push(j);
    }
    let s = snap(2000, js, vec![]);
    let count = Check {
        value: Some(3.0),
        ..check(CheckKind::ServedByCount)
    };
    assert!(evaluate(&count, &s, &ctx(0)).passed());
    let below = Check {
        value: Some(0.25),
        server: Some("server-3".into()),
        ..check(CheckKind::ShareBelow)
    };
    let v = evaluate(&below, &s, &ctx(0));
    assert!(!v.passed() && v.detail().contains("33%"), "{v:?}");
    let above = Check {
        value: Some(0.3),
        ..below.clone()
    };
    let above = Check {
        kind: Some(CheckKind::ShareAbove),
        ..above
    };
    assert!(evaluate(&above, &s, &ctx(0)).passed());
}

#[test]
fn hit_ratio_uses_the_latest_window_and_ignores_bypass() {
    let mut js = Vec::new();
    for i in 0..40u64 {
        let mut j = journey(u128::from(i), i * 100, 5, "200");
        // Early misses, then hits; bypasses do not count.
        j.cache = Some(if i < 20 {
            CacheStatus::Miss
        } else {
            CacheStatus::Hit
        });
        js.push(j);
        let mut bypass = journey(1000 + u128::from(i), i * 100, 5, "201");
        bypass.cache = Some(CacheStatus::Bypass);
        js.push(bypass);
    }
    let s = snap(4000, js, vec![]);
    let c = Check {
        value: Some(0.9),
        within: Some(crate::scenario::Dur::from_secs(2)),
        ..check(CheckKind::HitRatioAbove)
    };
    let v = evaluate(&c, &s, &ctx(0));
    assert!(v.passed(), "{v:?}");
    let whole = Check {
        within: Some(crate::scenario::Dur::from_secs(10)),
        ..c
    };
    let v = evaluate(&whole, &s, &ctx(0));
    assert!(!v.passed() && v.detail().contains("50%"), "{v:?}");
}

#[test]
fn p99_drop_compares_before_and_after_the_change_counting_stuck_requests() {
    let mut js = Vec::new();
    for i in 0..30u64 {
        js.push(journey(u128::from(i), 1000 + i * 50, 400, "200")); // slow before
    }
    for i in 0..30u64 {
        js.push(journey(100 + u128::from(i), 6000 + i * 50, 40, "200")); // fast after
    }
    let mut s = snap(8000, js, vec![(3000, "add server")]);
    let c = Check {
        value: Some(50.0),
        after: Some("add server".into()),
        ..check(CheckKind::P99Drop)
    };
    let v = evaluate(&c, &s, &ctx(0));
    assert!(v.passed(), "{v:?}");
    assert!(v.detail().contains("400 ms before"), "{v:?}");
    // One request stuck for 1.9 s among the new ones spoils the p99.
    let mut stuck = journey(999, 6100, 0, "200");
    stuck.end_micros = None;
    stuck.outcome = None;
    s.in_flight = vec![Arc::new(stuck)];
    let v = evaluate(&c, &s, &ctx(0));
    assert!(!v.passed(), "{v:?}");
    let rise = Check {
        kind: Some(CheckKind::P99Rise),
        value: Some(100.0),
        ..c
    };
    assert!(evaluate(&rise, &s, &ctx(0)).passed());
}

#[test]
fn p99_thresholds_need_a_sample() {
    let js: Vec<Journey> = (0..5).map(|i| journey(i, 1000, 300, "200")).collect();
    let c = Check {
        value: Some(100.0),
        ..check(CheckKind::P99Above)
    };
    let v = evaluate(&c, &snap(2000, js.clone(), vec![]), &ctx(0));
    assert!(v.detail().contains("only 5"), "{v:?}");
    let c = Check {
        count: Some(5),
        ..c
    };
    assert!(evaluate(&c, &snap(2000, js, vec![]), &ctx(0)).passed());
}

#[test]
fn queue_above_reads_gauges_and_closed_seconds() {
    let mut s = snap(5000, vec![], vec![]);
    s.servers = vec![ServerGauge {
        name: "server-1".into(),
        queued: 2,
        ..ServerGauge::default()
    }];
    let mut second = SecondMetrics {
        second: 3,
        ..SecondMetrics::default()
    };
    second.queued.insert("server-2".into(), 9);
    s.seconds = Arc::new(vec![second]);
    let c = Check {
        value: Some(5.0),
        ..check(CheckKind::QueueAbove)
    };
    assert!(evaluate(&c, &s, &ctx(0)).passed());
    let only_one = Check {
        server: Some("server-1".into()),
        ..c.clone()
    };
    assert!(!evaluate(&only_one, &s, &ctx(0)).passed());
    assert!(
        !evaluate(&c, &s, &ctx(4000)).passed(),
        "the busy second was before the step"
    );
}

#[test]
fn markers_spans_headers_bodies_and_dns() {
    let mut j = journey(1, 1000, 30, "503");
    j.spans = vec![
        Span {
            id: TraceId(1),
            component: Component::Client,
            phase: Phase::Dns,
            start_micros: 1_000_000,
            end_micros: 1_010_000,
            attrs: vec![Attr::new("attempts", "3")],
        },
        Span {
            id: TraceId(1),
            component: Component::Client,
            phase: Phase::Connect,
            start_micros: 1_010_000,
            end_micros: 1_020_000,
            attrs: vec![],
        },
    ];
    j.exchange = Some(Box::new(Exchange {
        response_headers: vec![("Retry-After".into(), "1".into())],
        response_body: r#"{"items":[]}"#.into(),
        ..Exchange::default()
    }));
    let mut reused = journey(2, 1100, 5, "200");
    reused.reused = true;
    let mut s = snap(
        2000,
        vec![j, reused],
        vec![(1500, "server-2 marked unhealthy: 2 checks failed")],
    );
    s.recent_dns = vec![Arc::new(DnsQuery {
        id: None,
        received_micros: 1_000_000,
        at_micros: 1_000_000,
        peer: "127.0.0.1:1".into(),
        name: "api.example.test".into(),
        qtype: "A".into(),
        rcode: "DROPPED".into(),
        answers: vec![],
    })];
    let passes = |c: Check| evaluate(&c, &s, &ctx(0)).passed();
    assert!(passes(Check {
        expect: Some("marked unhealthy".into()),
        ..check(CheckKind::Marker)
    }));
    assert!(passes(Check {
        phase: Some("dns".into()),
        attr: Some("attempts".into()),
        expect: Some(">1".into()),
        ..check(CheckKind::Span)
    }));
    assert!(!passes(Check {
        phase: Some("dns".into()),
        attr: Some("attempts".into()),
        expect: Some("<2".into()),
        ..check(CheckKind::Span)
    }));
    assert!(passes(Check {
        phase: Some("connect".into()),
        ..check(CheckKind::NoSpan)
    }));
    assert!(passes(Check {
        attr: Some("retry-after".into()),
        status: Some("503".into()),
        ..check(CheckKind::Header)
    }));
    assert!(passes(Check {
        expect: Some(r#""items":[]"#.into()),
        status: Some("5xx".into()),
        ..check(CheckKind::Body)
    }));
    assert!(passes(Check {
        expect: Some("DROPPED".into()),
        ..check(CheckKind::Dns)
    }));
    assert!(!passes(Check {
        expect: Some("NXDOMAIN".into()),
        ..check(CheckKind::Dns)
    }));
}

#[test]
fn marker_mentions_respect_word_ends() {
    assert!(mentions(
        "send GET /users/1 (request ab12)",
        "send GET /users/1"
    ));
    assert!(!mentions(
        "send GET /users/10 (request ab12)",
        "send GET /users/1"
    ));
    assert!(mentions("Server-2 marked UNHEALTHY", "marked unhealthy"));
    assert!(!mentions("anything", ""));
}

#[test]
fn a_step_with_an_action_waits_for_it_and_judges_only_what_followed() {
    let requests = check(CheckKind::Requests);
    let waiting = Context {
        awaiting: Some("you to press “slow server-1 200ms”".into()),
        ..ctx(2000)
    };
    // Not done yet: nothing is judged, however much happened since the step began.
    let s = snap(
        3000,
        vec![journey(1, 1500, 5, "200"), journey(2, 2500, 5, "200")],
        vec![(1400, "slow server-1 200ms")],
    );
    assert_eq!(
        evaluate(&requests, &s, &waiting),
        Verdict::Waiting("waiting for you to press “slow server-1 200ms”".into())
    );
    // Done in this step: only what followed the action counts, never what came before
    // the step (the marker at 1.4 s is an earlier step's).
    let done = Context {
        acted: Some((2_500_000, "slow server-1 200ms".into())),
        ..ctx(2000)
    };
    let s = snap(
        3000,
        vec![journey(1, 2100, 5, "200"), journey(2, 2600, 5, "200")],
        vec![(1400, "slow server-1 200ms"), (2500, "slow server-1 200ms")],
    );
    assert_eq!(
        evaluate(&requests, &s, &done),
        Verdict::Passed("1 request ended since “slow server-1 200ms”".into())
    );
    // A step without an action of its own looks at what happened since it became current.
    let s = snap(
        3000,
        vec![journey(1, 1500, 5, "200"), journey(2, 2500, 5, "200")],
        vec![],
    );
    assert_eq!(
        evaluate(&requests, &s, &ctx(2000)),
        Verdict::Passed("1 request ended since this step began".into())
    );
    // A comparison cannot go without a change.
    let drop = Check {
        value: Some(10.0),
        ..check(CheckKind::P99Drop)
    };
    assert_eq!(
        evaluate(&drop, &s, &ctx(2000)),
        Verdict::Waiting("this check needs a change to compare with".into())
    );
}

#[test]
fn scenario_names_agree_with_the_trace() {
    use crate::scenario::CheckKind as K;
    for kind in K::ALL {
        let text = format!("\"{}\"", kind.name());
        let back: K = serde_json::from_str(&text).expect("kind names round-trip");
        assert_eq!(back, kind);
    }
    for phase in Phase::ALL {
        assert_eq!(phase_named(phase.name()), Some(phase));
        let text = format!(
            "[[steps]]\ntitle = \"t\"\ntext = \"t\"\ncheck = {{ kind = \"span\", phase = \"{}\" }}\n",
            phase.name()
        );
        if let Err(e) = crate::scenario::load_str("t.toml", &text) {
            panic!("validation does not know phase {phase}: {e}");
        }
    }
    for outcome in [
        "dns_failure",
        "connection_refused",
        "connection_reset",
        "timeout",
        "tls_error",
        "cancelled",
        "404",
        "5xx",
    ] {
        assert!(outcome_is_known(outcome), "{outcome}");
        let text = format!(
            "[[steps]]\ntitle = \"t\"\ntext = \"t\"\ncheck = {{ kind = \"outcome\", expect = \"{outcome}\" }}\n"
        );
        if let Err(e) = crate::scenario::load_str("t.toml", &text) {
            panic!("validation does not know outcome {outcome}: {e}");
        }
    }
}

fn outcome_is_known(spec: &str) -> bool {
    spec.parse::<Outcome>().is_ok() || OutcomeClass::ALL.iter().any(|c| c.label() == spec)
}

#[test]
fn a_learner_who_arrives_late_is_judged_by_what_followed_the_anchor_at_the_time() {
    // server-2 is out from 4.5 s to 10 s, then back; the learner reads on at 30 s.
    let c = Check {
        server: Some("server-2".into()),
        value: Some(0.01),
        count: Some(10),
        after: Some("server-2 marked unhealthy".into()),
        ..check(CheckKind::ShareBelow)
    };
    let mut js = Vec::new();
    for i in 0..300u64 {
        let start = 4600 + i * 85;
        let mut j = journey(u128::from(i) + 1, start, 20, "200");
        let server = if start < 10_000 {
            1 + i % 2 * 2
        } else {
            1 + i % 3
        };
        j.served_by = Some(format!("server-{server}"));
        js.push(j);
    }
    let s = snap(
        30_000,
        js,
        vec![(4500, "server-2 marked unhealthy: 2 health checks failed")],
    );
    let v = evaluate(&c, &s, &ctx(20_000));
    assert!(v.passed(), "{v:?}");
    // Had server-2 kept answering after it was marked, no window would pass.
    let mut js = Vec::new();
    for i in 0..300u64 {
        let mut j = journey(u128::from(i) + 1, 4600 + i * 85, 20, "200");
        j.served_by = Some(format!("server-{}", 1 + i % 3));
        js.push(j);
    }
    let s = snap(
        30_000,
        js,
        vec![(4500, "server-2 marked unhealthy: 2 health checks failed")],
    );
    assert!(!evaluate(&c, &s, &ctx(20_000)).passed());
}
