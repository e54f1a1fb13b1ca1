//! Unit tests of the HAR timings and URL helpers.

use super::*;
use crate::trace::testing::span;
use crate::trace::{Span, TraceId};

fn journey(outcome: Outcome, end: u64, spans: Vec<Span>) -> Journey {
    Journey {
        id: TraceId(1),
        start_micros: 0,
        end_micros: Some(end),
        outcome: Some(outcome),
        spans,
        ..Journey::default()
    }
}

#[test]
fn a_full_request_adds_up_with_ssl_inside_connect() {
    let j = journey(
        Outcome::Status(200),
        1000,
        vec![
            span(1, Component::Client, Phase::Dns, 0, 100),
            span(1, Component::Client, Phase::Connect, 100, 400),
            span(1, Component::Client, Phase::Ssl, 200, 400),
            span(1, Component::Client, Phase::Send, 410, 420),
            span(1, Component::Client, Phase::Wait, 420, 900),
            span(1, Component::Client, Phase::Receive, 900, 1000),
        ],
    );
    let t = timings(&j);
    assert_eq!(t.ssl, Some(200));
    assert_eq!(t.blocked, Some(10), "the gap before send counts as blocked");
    assert_eq!(t.total_micros(), 1000);
}

#[test]
fn phases_that_did_not_happen_are_absent_and_failures_keep_their_time() {
    let reused = Journey {
        reused: true,
        ..journey(
            Outcome::Status(200),
            300,
            vec![
                span(1, Component::Client, Phase::Send, 0, 10),
                span(1, Component::Client, Phase::Wait, 10, 250),
                span(1, Component::Client, Phase::Receive, 250, 300),
            ],
        )
    };
    let t = timings(&reused);
    assert_eq!(
        (t.dns, t.connect, t.ssl, t.blocked),
        (None, None, None, None)
    );
    assert_eq!(t.total_micros(), 300);

    let refused = journey(
        Outcome::ConnectionRefused,
        500,
        vec![span(1, Component::Client, Phase::Dns, 0, 100)],
    );
    let t = timings(&refused);
    assert_eq!((t.dns, t.connect), (Some(100), Some(400)));
    assert_eq!(t.total_micros(), 500);

    let timed_out = journey(
        Outcome::Timeout,
        5000,
        vec![span(1, Component::Client, Phase::Connect, 0, 100)],
    );
    let t = timings(&timed_out);
    assert_eq!(t.wait, 4900);

    let unresolved = journey(Outcome::DnsFailure, 700, vec![]);
    assert_eq!(timings(&unresolved).dns, Some(700));
}

#[test]
fn query_strings_and_paths_are_split_from_the_url() {
    let q = serde_json::to_value(query_string("http://h:1/restaurants?_page=1&_limit=10#x"))
        .expect("json");
    assert_eq!(
        q,
        json!([{"name": "_page", "value": "1"}, {"name": "_limit", "value": "10"}])
    );
    assert_eq!(path_of("http://h:1/a/b?c"), "/a/b?c");
    assert_eq!(path_of("/x"), "/x");
}
