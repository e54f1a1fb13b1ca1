//! The fuzz corpus and every crash case found, replayed as ordinary tests through the same
//! entry points the fuzz targets use (`fuzz/harness/mod.rs`), then a bounded proptest pass
//! over the scenario parser, the control commands, the HTTP and DNS entry points and the
//! trace importer.
//!
//! Files: `fuzz/corpus/<target>/*` (inputs that reached new code) and
//! `fuzz/artifacts/<target>/*` (crashes, kept after their fix). For `http`, the first byte
//! of a file picks the component, as in the fuzz target.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::harness::{self, Hop, Live};
use super::{assert_no_engine_panics, serves_everyone, watch_engine_panics};

/// The files of one target, corpus first, then crash cases, in name order.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for kind in ["corpus", "artifacts"] {
        let Ok(dir) = std::fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            out.push((f, bytes));
        }
    }
    out
}

/// A live engine patient enough that answers are never cut short by a busy machine.
fn replay_engine() -> Live {
    watch_engine_panics();
    Live::with(
        harness::live_scenario(),
        std::time::Duration::from_millis(15),
    )
}

#[test]
fn the_scenario_corpus_and_crashes_replay_cleanly() {
    let files = inputs("scenario");
    assert!(!files.is_empty(), "fuzz/corpus/scenario holds seeds");
    for (path, bytes) in files {
        harness::scenario(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[test]
fn the_http_corpus_and_crashes_replay_cleanly() {
    let live = replay_engine();
    let files = inputs("http");
    assert!(!files.is_empty(), "fuzz/corpus/http holds seeds");
    for (path, bytes) in files {
        let Some((&first, rest)) = bytes.split_first() else {
            continue;
        };
        let hop = Hop::from_byte(first);
        live.http(hop, rest)
            .and_then(|reply| harness::check_http(&reply))
            .unwrap_or_else(|e| panic!("{} ({hop:?}): {e}", path.display()));
    }
    serves_everyone(&live);
}

#[test]
fn the_dns_corpus_and_crashes_replay_cleanly() {
    let live = replay_engine();
    let files = inputs("dns");
    assert!(!files.is_empty(), "fuzz/corpus/dns holds seeds");
    for (path, bytes) in files {
        live.dns(&bytes)
            .and_then(|reply| harness::check_dns(&bytes, reply.as_deref()))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    assert_no_engine_panics();
}

/// Scenario-like text: sections and keys hopscope knows, with values of every type, plus
/// stray bytes.
fn scenario_text() -> impl Strategy<Value = String> {
    let section = prop::sample::select(vec![
        "",
        "[dns]",
        "[cdn]",
        "[balancer]",
        "[servers]",
        "[traffic]",
        "[limits]",
        "[network]",
        "[trace]",
        "[[profiles]]",
        "[[events]]",
        "[[steps]]",
        "[api]",
        "[database]",
        "[tls]",
    ]);
    let key = prop::sample::select(vec![
        "name",
        "count",
        "rate",
        "latency",
        "timeout",
        "zone",
        "names",
        "policy",
        "bind",
        "max_connections",
        "header_timeout",
        "at",
        "do",
        "after_requests",
        "weight",
        "mix",
        "capacity",
        "eviction",
        "max_age",
        "workers",
        "queue",
        "service",
        "loss",
        "seed",
    ]);
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        "[a-z0-9 .:/-]{0,12}".prop_map(|s| format!("{s:?}")),
        prop::sample::select(vec![
            "\"10s\"",
            "\"0ms\"",
            "\"kill server-2\"",
            "true",
            "[]",
            "[\"api\"]",
            "{ }",
            "\"0.0.0.0\"",
            "\"round_robin\"",
            "\"1e400s\"",
            "\"99999999999h\"",
            "-0.0",
            "nan",
            "inf",
            "{ distribution = \"lognormal\", mean = \"5ms\", sigma = 0.0 }",
        ])
        .prop_map(str::to_string),
    ];
    let line = (section, key, value, "[\\x00-\\x7f]{0,3}")
        .prop_map(|(sec, k, v, junk)| format!("{sec}\n{k} = {v}{junk}"));
    prop::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

/// A request as a client might write it: a method, a path, headers (names and values of
/// any bytes), a body, sometimes cut short anywhere.
fn http_request() -> impl Strategy<Value = (u8, Vec<u8>)> {
    let method = prop::sample::select(vec![
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "BREW",
    ]);
    let path = prop_oneof![
        prop::sample::select(vec![
            "/",
            "/users/1",
            "/users",
            "/orders",
            "/cart",
            "/cart/items",
            "/restaurants?_page=1&_limit=5",
            "/health",
            "*",
            "http://api.example.test/users/2",
            "/users/99999999999999999999",
            "/restaurants?_sort=name&_order=desc&_limit=-1",
        ])
        .prop_map(|p| p.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..40),
    ];
    let name = prop_oneof![
        prop::sample::select(vec![
            "Host",
            "Content-Length",
            "Transfer-Encoding",
            "Content-Type",
            "Cookie",
            "Authorization",
            "traceparent",
            "X-Client-Id",
            "If-None-Match",
            "Connection",
            "Expect",
            "Upgrade",
            "Cache-Control",
            "Range",
        ])
        .prop_map(|n| n.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 1..12),
    ];
    let value = prop_oneof![
        prop::sample::select(vec![
            "0",
            "5",
            "chunked",
            "application/json",
            "close",
            "100-continue",
            "websocket",
            "session=abc",
            "Bearer letmein-7f3a",
            "Bearer guest-0000",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "no-cache",
            "*",
        ])
        .prop_map(|v| v.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..30),
    ];
    let headers = prop::collection::vec((name, value), 0..6);
    let body = prop::collection::vec(any::<u8>(), 0..64);
    (
        any::<u8>(),
        method,
        path,
        headers,
        body,
        any::<Option<prop::sample::Index>>(),
    )
        .prop_map(|(hop, method, path, headers, body, cut)| {
            let mut req = Vec::new();
            req.extend_from_slice(method.as_bytes());
            req.push(b' ');
            req.extend_from_slice(&path);
            req.extend_from_slice(b" HTTP/1.1\r\nHost: api.example.test\r\n");
            for (n, v) in headers {
                req.extend_from_slice(&n);
                req.extend_from_slice(b": ");
                req.extend_from_slice(&v);
                req.extend_from_slice(b"\r\n");
            }
            req.extend_from_slice(b"Connection: close\r\n\r\n");
            req.extend_from_slice(&body);
            if let Some(at) = cut {
                req.truncate(at.index(req.len() + 1));
            }
            (hop, req)
        })
}

/// A DNS datagram: a header with any flags and counts, then a question for a name in or
/// out of the zone (or raw bytes), then anything.
fn dns_datagram() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        prop::sample::select(vec![
            "api.example.test",
            "example.test",
            "_http._tcp.api.example.test",
            "nope.example.test",
            "example.com",
            "cdn.example.test",
            "a.b.c.api.example.test",
            "",
        ])
        .prop_map(|n| {
            let mut out = Vec::new();
            for label in n.split('.').filter(|l| !l.is_empty()) {
                out.push(label.len() as u8);
                out.extend_from_slice(label.as_bytes());
            }
            out.push(0);
            out
        }),
        prop::collection::vec(any::<u8>(), 0..20),
    ];
    (
        any::<[u8; 4]>(),
        any::<[u16; 4]>().prop_map(|c| c.map(|n| n % 4)),
        name,
        any::<(u16, u16)>(),
        prop::collection::vec(any::<u8>(), 0..16),
        any::<bool>(),
    )
        .prop_map(|(idflags, counts, name, (qtype, qclass), tail, plain)| {
            let mut out = idflags.to_vec();
            if plain {
                out[2] = 0x01; // a standard query, recursion desired
                out[3] = 0;
            }
            for c in counts {
                out.extend_from_slice(&c.to_be_bytes());
            }
            out.extend(name);
            out.extend_from_slice(&(qtype % 300).to_be_bytes());
            out.extend_from_slice(&(qclass % 5).to_be_bytes());
            out.extend(tail);
            out
        })
}

#[test]
fn proptest_scenarios_never_panic_and_problems_point_into_the_file() {
    let config = ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(text in scenario_text())| {
        prop_assert!(harness::scenario(text.as_bytes()).is_ok(), "{:?}", harness::scenario(text.as_bytes()));
    });
}

#[test]
fn proptest_http_requests_get_protocol_answers_at_every_hop() {
    let live = replay_engine();
    let config = ProptestConfig {
        cases: 48,
        failure_persistence: None,
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    };
    proptest!(config, |((hop, req) in http_request())| {
        let hop = Hop::from_byte(hop);
        let checked = live.http(hop, &req).and_then(|reply| harness::check_http(&reply));
        prop_assert!(checked.is_ok(), "{hop:?} {:?}: {checked:?}", String::from_utf8_lossy(&req));
    });
    serves_everyone(&live);
}

#[test]
fn proptest_dns_datagrams_are_answered_by_the_rules_or_dropped() {
    let live = replay_engine();
    let config = ProptestConfig {
        cases: 160,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(datagram in dns_datagram())| {
        let checked = live
            .dns(&datagram)
            .and_then(|reply| harness::check_dns(&datagram, reply.as_deref()));
        prop_assert!(checked.is_ok(), "{datagram:?}: {checked:?}");
    });
    assert_no_engine_panics();
}

#[test]
fn the_trace_import_corpus_and_crashes_replay_cleanly() {
    let files = inputs("trace_import");
    assert!(
        files.iter().any(|(p, _)| p.ends_with("valid-small.json")),
        "fuzz/corpus/trace_import holds a valid trace"
    );
    for (path, bytes) in files {
        harness::trace_import(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[test]
fn proptest_damaged_traces_are_rejected_with_a_place_or_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/trace_import");
    let valid = std::fs::read(root.join("valid-small.json")).expect("the valid seed");
    let config = ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    // Cut it anywhere, then overwrite a few bytes anywhere: what a bad copy or an editor does.
    proptest!(config, |(cut in 0..valid.len(), edits in prop::collection::vec((0..valid.len(), any::<u8>()), 0..4))| {
        let mut bytes = valid[..cut.max(1)].to_vec();
        for (at, b) in edits {
            if let Some(x) = bytes.get_mut(at) {
                *x = b;
            }
        }
        prop_assert!(harness::trace_import(&bytes).is_ok(), "{:?}", harness::trace_import(&bytes));
    });
}

#[test]
fn the_control_corpus_and_crashes_replay_cleanly() {
    let live = replay_engine();
    let files = inputs("control");
    assert!(!files.is_empty(), "fuzz/corpus/control holds seeds");
    for (path, bytes) in files {
        harness::control(&live, &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    assert_no_engine_panics();
}

#[test]
fn the_trace_semantics_corpus_is_refused_or_replays() {
    let files = inputs("trace_semantics");
    assert!(!files.is_empty(), "fuzz/corpus/trace_semantics holds seeds");
    for (path, bytes) in files {
        harness::trace_semantics(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// A control line: a command word and arguments hopscope knows or not, sometimes long.
fn control_line() -> impl Strategy<Value = String> {
    let verb = prop_oneof![
        prop::sample::select(harness_words()).prop_map(str::to_string),
        "[a-z_]{0,12}",
    ];
    let arg = prop_oneof![
        prop::sample::select(vec![
            "server-1",
            "server-2",
            "server-0",
            "server-99999",
            "cdn",
            "lb",
            "dns",
            "db",
            "client",
            "on",
            "off",
            "flush",
            "origin",
            "0",
            "0.5",
            "1",
            "1.5",
            "-1",
            "nan",
            "inf",
            "1e400",
            "0ms",
            "250us",
            "5s",
            "99999999h",
            "0.0000001s",
            "GET",
            "/users/1",
            "round_robin",
            "lru",
            "capacity",
            "eviction",
            "ttl",
            "drop",
            "nxdomain",
        ])
        .prop_map(str::to_string),
        "[ -~]{0,8}",
        (1usize..5000).prop_map(|n| "y".repeat(n)),
    ];
    (verb, prop::collection::vec(arg, 0..4)).prop_map(|(v, args)| {
        let mut line = v;
        for a in args {
            line.push(' ');
            line.push_str(&a);
        }
        line
    })
}

fn harness_words() -> Vec<&'static str> {
    hopscope::scenario::COMMAND_WORDS.to_vec()
}

#[test]
fn proptest_control_lines_are_refused_briefly_or_applied_and_the_engine_answers() {
    let live = replay_engine();
    let config = ProptestConfig {
        cases: 48,
        failure_persistence: None,
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    };
    proptest!(config, |(lines in prop::collection::vec(control_line(), 1..4))| {
        let input = lines.join("\n");
        let checked = harness::control(&live, input.as_bytes());
        prop_assert!(checked.is_ok(), "{:?}: {checked:?}", input.chars().take(300).collect::<String>());
    });
    assert_no_engine_panics();
}

#[test]
fn proptest_damaged_values_in_a_valid_trace_are_refused_naming_the_request() {
    let config = ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(edits in prop::collection::vec(any::<u8>(), 0..24))| {
        let checked = harness::trace_semantics(&edits);
        prop_assert!(checked.is_ok(), "{edits:?}: {checked:?}");
    });
}

/// The control finding `fuzz/artifacts/control/control-lb-closed-after-reset`: libFuzzer's
/// SIGALRM interrupted the harness's read of the load balancer's answer (a `recv` with a
/// read timeout is never restarted after a signal), and the harness took the interrupted
/// read for the load balancer closing the connection. Only an end of stream or a reset ends
/// an answer; a read that timed out or was interrupted brought nothing yet.
#[test]
fn an_interrupted_or_timed_out_read_does_not_end_an_answer() {
    use std::io::{Error, ErrorKind};

    use harness::{ReadStep, read_step};
    for kind in [
        ErrorKind::Interrupted,
        ErrorKind::WouldBlock,
        ErrorKind::TimedOut,
    ] {
        assert_eq!(
            read_step(Err(Error::from(kind))),
            ReadStep::Nothing,
            "{kind:?}"
        );
    }
    for kind in [ErrorKind::ConnectionReset, ErrorKind::BrokenPipe] {
        assert_eq!(
            read_step(Err(Error::from(kind))),
            ReadStep::Closed,
            "{kind:?}"
        );
    }
    assert_eq!(read_step(Ok(0)), ReadStep::Closed);
    assert_eq!(read_step(Ok(5)), ReadStep::Bytes(5));
}
