//! Journeys shaped like the engine's, for the view-model tests: a cache MISS that goes all
//! the way to the database, a HIT, a refused connection, a 503 from a full queue and a 502
//! from a dead server. Times are in microseconds from the start of the run.

use crate::trace::{
    Attr, CacheStatus, Component, Exchange, Journey, Outcome, Phase, Span, TraceId,
};

const ID: TraceId = TraceId(0xabcd_0000_0000_0000_0000_0000_1234_5678);

/// A span of request [`ID`].
pub fn span(
    component: Component,
    phase: Phase,
    start: u64,
    end: u64,
    attrs: &[(&'static str, &str)],
) -> Span {
    Span {
        id: ID,
        component,
        phase,
        start_micros: start,
        end_micros: end,
        attrs: attrs.iter().map(|(k, v)| Attr::new(k, *v)).collect(),
    }
}

fn base(url_path: &str) -> Journey {
    Journey {
        id: ID,
        profile: "browser".into(),
        client: "browser-3".into(),
        method: "GET".into(),
        url: format!("http://api.example.test:4000{url_path}"),
        start_micros: 1_000,
        ..Journey::default()
    }
}

fn add(j: &mut Journey, spans: Vec<Span>) {
    for s in spans {
        j.add_span(s);
    }
}

/// A fresh connection, a cache MISS, server-2 and one database query: 200.
pub fn miss() -> Journey {
    let mut j = base("/users/2");
    let (c, cdn, lb, s2, db) = (
        Component::Client,
        Component::Cdn,
        Component::Lb,
        Component::Server(2),
        Component::Db,
    );
    add(
        &mut j,
        vec![
            span(
                c,
                Phase::Dns,
                1_000,
                4_000,
                &[
                    ("name", "api.example.test"),
                    ("answer", "127.0.0.1"),
                    ("attempts", "1"),
                ],
            ),
            span(
                Component::Dns,
                Phase::Dns,
                1_500,
                3_500,
                &[
                    ("name", "api.example.test."),
                    ("rcode", "NOERROR"),
                    ("answer", "127.0.0.1"),
                ],
            ),
            span(
                c,
                Phase::Connect,
                4_000,
                24_000,
                &[("address", "127.0.0.1:4000"), ("tcp_ms", "20.000")],
            ),
            span(c, Phase::Send, 24_000, 24_100, &[]),
            span(c, Phase::Wait, 24_100, 60_000, &[]),
            span(
                cdn,
                Phase::Cache,
                34_000,
                34_010,
                &[
                    ("result", "MISS"),
                    ("why", "not in the cache: fetched and stored"),
                ],
            ),
            span(
                cdn,
                Phase::Forward,
                34_020,
                50_000,
                &[("to", "lb"), ("status", "200")],
            ),
            span(
                lb,
                Phase::Pick,
                36_000,
                36_020,
                &[
                    ("server", "server-2"),
                    ("policy", "round_robin"),
                    (
                        "reason",
                        "server-2: next in turn (round robin over 3 healthy servers)",
                    ),
                ],
            ),
            span(
                lb,
                Phase::Forward,
                36_030,
                48_000,
                &[("server", "server-2"), ("status", "200")],
            ),
            span(s2, Phase::Queue, 38_000, 38_500, &[("position", "1")]),
            span(
                s2,
                Phase::Handler,
                38_500,
                46_000,
                &[("route", "GET /users/:id"), ("status", "200")],
            ),
            span(
                db,
                Phase::Db,
                40_000,
                45_000,
                &[
                    ("sql", "SELECT * FROM users WHERE id = ?"),
                    ("params", "[2]"),
                    ("rows", "1"),
                ],
            ),
            span(c, Phase::Receive, 60_000, 61_000, &[("bytes", "79")]),
        ],
    );
    for (comp, at) in [
        (Component::Dns, 1_000),
        (cdn, 24_000),
        (cdn, 34_000),
        (lb, 36_000),
        (s2, 38_000),
    ] {
        j.add_arrival(comp, at);
    }
    j.end_micros = Some(61_000);
    j.outcome = Some(Outcome::Status(200));
    j.cache = Some(CacheStatus::Miss);
    j.served_by = Some("server-2".into());
    j.bytes = 79;
    j.exchange = Some(Box::new(Exchange {
        id: ID,
        request_headers: vec![
            ("host".into(), "api.example.test:4000".into()),
            ("user-agent".into(), "hopscope-browser/1.0".into()),
        ],
        request_body: String::new(),
        response_headers: vec![
            ("content-type".into(), "application/json".into()),
            ("cache-control".into(), "public, max-age=10".into()),
            ("x-served-by".into(), "server-2".into()),
            ("x-cache".into(), "MISS".into()),
        ],
        response_body: r#"{"id":2,"name":"Omar Varga"}"#.into(),
    }));
    j
}

/// A reused connection answered from the cache: 200, HIT.
pub fn hit() -> Journey {
    let mut j = base("/restaurants/1");
    let c = Component::Client;
    add(
        &mut j,
        vec![
            span(c, Phase::Send, 1_000, 1_050, &[]),
            span(c, Phase::Wait, 1_050, 22_000, &[]),
            span(
                Component::Cdn,
                Phase::Cache,
                11_000,
                11_020,
                &[("result", "HIT")],
            ),
            span(c, Phase::Receive, 22_000, 22_400, &[("bytes", "120")]),
        ],
    );
    j.add_arrival(Component::Cdn, 1_000);
    j.reused = true;
    j.end_micros = Some(22_400);
    j.outcome = Some(Outcome::Status(200));
    j.cache = Some(CacheStatus::Hit);
    j
}

/// The edge's port is closed: DNS answered, then the connection was refused.
pub fn refused() -> Journey {
    let mut j = base("/users/5");
    add(
        &mut j,
        vec![span(
            Component::Client,
            Phase::Dns,
            1_000,
            3_000,
            &[("name", "api.example.test"), ("answer", "127.0.0.1")],
        )],
    );
    j.add_arrival(Component::Dns, 1_000);
    j.end_micros = Some(3_200);
    j.outcome = Some(Outcome::ConnectionRefused);
    j
}

/// server-2's queue was full: 503 without reaching a handler.
pub fn rejected_503() -> Journey {
    let mut j = base("/users/7");
    let c = Component::Client;
    add(
        &mut j,
        vec![
            span(c, Phase::Send, 1_000, 1_100, &[]),
            span(c, Phase::Wait, 1_100, 9_000, &[]),
            span(
                Component::Lb,
                Phase::Pick,
                2_000,
                2_010,
                &[("server", "server-2"), ("reason", "fewest in progress")],
            ),
            span(
                Component::Lb,
                Phase::Forward,
                2_020,
                8_000,
                &[("server", "server-2"), ("status", "503")],
            ),
            span(
                Component::Server(2),
                Phase::Queue,
                3_000,
                3_000,
                &[("rejected", "queue full (64 waiting)"), ("status", "503")],
            ),
            span(c, Phase::Receive, 9_000, 9_050, &[]),
        ],
    );
    j.end_micros = Some(9_050);
    j.outcome = Some(Outcome::Status(503));
    j.served_by = Some("server-2".into());
    j
}

/// The load balancer picked server-3, which had been killed: 502.
pub fn bad_gateway() -> Journey {
    let mut j = base("/users/9");
    let c = Component::Client;
    add(
        &mut j,
        vec![
            span(c, Phase::Send, 1_000, 1_100, &[]),
            span(c, Phase::Wait, 1_100, 5_000, &[]),
            span(
                Component::Lb,
                Phase::Pick,
                2_000,
                2_010,
                &[("server", "server-3"), ("reason", "next in turn")],
            ),
            span(
                Component::Lb,
                Phase::Forward,
                2_020,
                4_000,
                &[("server", "server-3"), ("error", "connection refused")],
            ),
            span(c, Phase::Receive, 5_000, 5_050, &[]),
        ],
    );
    j.end_micros = Some(5_050);
    j.outcome = Some(Outcome::Status(502));
    j
}
