//! Integration tests: the live engine through real loopback sockets — status codes and
//! headers as curl would see them, load-balancing policies, cache behaviour, the spans of
//! one journey, and the accounting invariant under load with a server killed mid-run.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hopscope::engine::{Engine, EngineOptions};
use hopscope::scenario::{Command, Dur, Eviction, Policy, Scenario, SendRequest, load_str};
use hopscope::trace::{CacheStatus, Component, Journey, Outcome, Phase, Snapshot, TraceId};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

/// A small, fast topology: no injected delays, no generated traffic.
pub fn quiet() -> Scenario {
    let mut s = load_str(
        "quiet.toml",
        r#"
name = "quiet"
[dns]
latency = "0ms"
[cdn]
latency = "0ms"
[balancer]
latency = "0ms"
health_interval = "100ms"
health_timeout = "100ms"
[servers]
count = 3
service = { distribution = "constant", mean = "1ms" }
[database]
latency = "0ms"
[traffic]
enabled = false
"#,
    )
    .expect("the test scenario is valid");
    s.api.max_age = Dur::from_secs(1);
    s
}

pub fn start(scenario: Scenario, traffic: bool) -> Engine {
    Engine::start(
        scenario,
        EngineOptions {
            traffic,
            play_events: true,
            ..EngineOptions::default()
        },
    )
    .expect("engine starts")
}

/// What curl would show: status, headers (lower-case names), body.
#[derive(Debug)]
pub struct Got {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    /// The response body, as text.
    pub body: String,
}

impl Got {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// Sends one request over a fresh connection (hyper as the client).
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Got, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "api.example.test");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Got {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

pub fn get(engine: &Engine, addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Got {
    engine
        .handle()
        .block_on(send(addr, "GET", path, headers, ""))
        .expect("request answered")
}

fn edge(engine: &Engine) -> SocketAddr {
    engine.addresses().edge.parse().expect("edge address")
}

fn lb(engine: &Engine) -> SocketAddr {
    engine.addresses().lb.parse().expect("lb address")
}

/// Polls the snapshot until `done` holds (bounded: panics after `limit`).
pub fn wait_for(
    engine: &Engine,
    limit: Duration,
    what: &str,
    done: impl Fn(&Snapshot) -> bool,
) -> Arc<Snapshot> {
    let started = Instant::now();
    loop {
        let snap = engine.snapshot();
        if done(&snap) {
            return snap;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn journey(snap: &Snapshot, id: TraceId) -> Option<Journey> {
    snap.recent
        .iter()
        .find(|j| j.id == id && j.is_done())
        .map(|j| (**j).clone())
}

#[test]
fn the_api_answers_with_the_status_codes_and_headers_a_learner_expects() {
    let engine = start(quiet(), false);
    let e = edge(&engine);
    let token = engine.addresses().tokens;
    let first = get(&engine, e, "/users/1", &[]);
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-cache"), "MISS");
    assert!(first.header("x-served-by").starts_with("server-"));
    assert!(first.header("cache-control").contains("max-age=1"));
    assert!(!first.header("etag").is_empty());
    let second = get(&engine, e, "/users/1", &[]);
    assert_eq!((second.status, second.header("x-cache")), (200, "HIT"));
    assert!(!second.header("age").is_empty());

    let h = engine.handle();
    let created = h
        .block_on(send(
            e,
            "POST",
            "/users",
            &[("content-type", "application/json")],
            r#"{"name":"Ada","email":"ada@example.test","city":"Oslo"}"#,
        ))
        .expect("answered");
    assert_eq!(created.status, 201);
    let location = created.header("location").to_string();
    assert!(location.starts_with("/users/"), "{location}");
    assert_eq!(get(&engine, e, &location, &[]).status, 200);
    let deleted = h
        .block_on(send(e, "DELETE", &location, &[], ""))
        .expect("answered");
    assert_eq!(deleted.status, 204);
    let bad = h
        .block_on(send(
            e,
            "POST",
            "/users",
            &[("content-type", "application/json")],
            "{not json",
        ))
        .expect("answered");
    assert_eq!(bad.status, 400);
    assert_eq!(get(&engine, e, "/orders", &[]).status, 401);
    let forbidden = format!("Bearer {}", token.forbidden);
    assert_eq!(
        get(&engine, e, "/orders", &[("authorization", &forbidden)]).status,
        403
    );
    let allowed = format!("Bearer {}", token.allowed);
    let orders = get(
        &engine,
        e,
        "/orders?_limit=2",
        &[("authorization", &allowed)],
    );
    assert_eq!(orders.status, 200);
    assert_eq!(orders.header("cache-control"), "no-store");
    assert_eq!(orders.header("x-cache"), "BYPASS");
    assert_eq!(get(&engine, e, "/users/999999", &[]).status, 404);
    assert_eq!(get(&engine, e, "/no/such/route", &[]).status, 404);

    // After max-age the stored copy is revalidated with If-None-Match: 304 upstream.
    std::thread::sleep(Duration::from_millis(1100));
    let again = get(&engine, e, "/users/1", &[]);
    assert_eq!(
        (again.status, again.header("x-cache")),
        (200, "REVALIDATED")
    );
}

#[test]
fn faults_give_the_failures_they_teach() {
    let mut s = quiet();
    s.servers.count = 1;
    s.balancer.health_interval = Dur::from_secs(60);
    let engine = start(s, false);
    let e = edge(&engine);
    engine
        .apply(&"error server-1 1.0".parse::<Command>().expect("command"))
        .expect("applied");
    let failed = get(&engine, e, "/restaurants?city=x", &[]);
    assert_eq!(failed.status, 500, "{}", failed.body);
    assert_eq!(
        failed.header("x-served-by"),
        "server-1",
        "the server itself answered 500"
    );
    engine
        .apply(&Command::Restart(hopscope::scenario::Target::Server(1)))
        .expect("applied");
    engine
        .apply(&"kill server-1".parse().expect("command"))
        .expect("applied");
    assert_eq!(get(&engine, e, "/restaurants?city=y", &[]).status, 502);
    // With its only server ejected, the load balancer has no healthy backend: 503.
    let unavailable = get(&engine, e, "/restaurants?city=z", &[]);
    assert_eq!(unavailable.status, 503);
    assert_eq!(unavailable.header("retry-after"), "1");
    engine
        .apply(&"kill cdn".parse().expect("command"))
        .expect("applied");
    let direct = engine.handle().block_on(tokio::net::TcpStream::connect(e));
    assert_eq!(
        direct.expect_err("killed").kind(),
        std::io::ErrorKind::ConnectionRefused
    );
}

#[test]
fn a_full_queue_answers_503_with_retry_after() {
    let mut s = quiet();
    s.servers.count = 1;
    s.servers.workers = 1;
    s.servers.queue = 1;
    s.servers.service.mean = Dur::from_millis(200);
    s.cdn.enabled = false;
    let engine = start(s, false);
    let addr = lb(&engine);
    let statuses: Vec<u16> = engine.handle().block_on(async move {
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                tokio::spawn(async move {
                    send(addr, "GET", &format!("/users/{}", i + 1), &[], "").await
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            let got = t.await.expect("task").expect("answered");
            if got.status == 503 {
                assert_eq!(got.header("retry-after"), "1");
            }
            out.push(got.status);
        }
        out
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 503).count(),
        2,
        "{statuses:?}"
    );
}

#[test]
fn tls_at_the_edge_redirects_plain_http_with_308() {
    let mut s = quiet();
    s.tls.enabled = true;
    let engine = start(s, false);
    let a = engine.addresses();
    let tls_port = a
        .edge_tls
        .as_deref()
        .and_then(|t| t.rsplit(':').next())
        .expect("edge_tls");
    assert!(
        a.ca_cert
            .as_deref()
            .is_some_and(|p| std::path::Path::new(p).exists())
    );
    let r = get(&engine, edge(&engine), "/users/1?x=1", &[]);
    assert_eq!(r.status, 308);
    assert_eq!(
        r.header("location"),
        format!("https://api.example.test:{tls_port}/users/1?x=1")
    );
    // A simulated HTTPS client completes a real handshake: its journey has an ssl span.
    let id = engine
        .send_request(SendRequest::default())
        .expect("the engine takes the request");
    let snap = wait_for(&engine, Duration::from_secs(5), "the https request", |s| {
        journey(s, id).is_some()
    });
    let j = journey(&snap, id).expect("ended");
    assert_eq!(j.outcome, Some(Outcome::Status(200)), "{j:#?}");
    assert!(j.url.starts_with("https://"));
    assert!(j.span(Phase::Ssl).is_some(), "TLS handshake is timed");
}

#[test]
fn servers_are_credited_with_the_requests_they_answered_not_the_cache_hits() {
    let mut s = quiet();
    s.api.max_age = Dur::from_secs(60); // every repeat within the run is a HIT
    let engine = start(s, false);
    let (paths, repeats) = (["/users/1", "/users/2"], 6);
    for _ in 0..repeats {
        for path in paths {
            let send = SendRequest {
                path: path.into(),
                ..SendRequest::default()
            };
            let id = engine
                .send_request(send)
                .expect("the engine takes the request");
            wait_for(&engine, Duration::from_secs(5), path, |snap| {
                journey(snap, id).is_some()
            });
        }
    }
    let snap = engine.snapshot();
    let summary = hopscope::trace::Summary::from_snapshot("quiet", 1, 1.0, &snap);
    let requests = (paths.len() * repeats) as u64;
    assert_eq!(summary.requests, requests);
    assert_eq!(summary.outcomes.get("200"), Some(&requests));
    assert_eq!(
        (summary.cache.misses, summary.cache.hits),
        (2, requests - 2),
        "{:?}",
        summary.cache
    );
    let served: u64 = summary.servers.iter().map(|s| s.served).sum();
    assert_eq!(
        served,
        requests - summary.cache.hits,
        "only the requests that reached a server count: {:?}",
        summary.servers
    );
}

/// The `Location` of the edge's answer to a raw plain-HTTP GET sent with `host` (or no
/// `Host` at all, HTTP/1.0).
fn redirect_location(engine: &Engine, host: Option<&str>) -> String {
    use std::io::{Read, Write};
    let request = match host {
        Some(h) => format!("GET /users/1 HTTP/1.1\r\nHost: {h}\r\nConnection: close\r\n\r\n"),
        None => "GET /users/1 HTTP/1.0\r\n\r\n".to_string(),
    };
    let mut stream = std::net::TcpStream::connect(edge(engine)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("whole reply");
    assert!(
        reply.starts_with("HTTP/1.") && reply[8..].starts_with(" 308 "),
        "{host:?}: {reply}"
    );
    reply
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("location")
                .then(|| value.trim().to_string())
        })
        .unwrap_or_else(|| panic!("{host:?}: no location in {reply}"))
}

#[test]
fn the_308_names_the_edge_itself_never_a_forged_host() {
    let mut s = quiet();
    s.tls.enabled = true;
    let engine = start(s, false);
    let a = engine.addresses();
    let tls_port = a
        .edge_tls
        .as_deref()
        .and_then(|t| t.rsplit(':').next())
        .expect("edge_tls")
        .to_string();
    let edge_port = edge(&engine).port();
    for (host, expected) in [
        (Some("evil.com".to_string()), "api.example.test"),
        (Some(format!("evil.com:{tls_port}")), "api.example.test"),
        (
            Some("api.example.test.evil.com".to_string()),
            "api.example.test",
        ),
        (None, "api.example.test"),
        (Some(format!("127.0.0.1:{edge_port}")), "127.0.0.1"),
        (Some("cdn.example.test".to_string()), "cdn.example.test"),
    ] {
        let location = redirect_location(&engine, host.as_deref());
        assert_eq!(
            location,
            format!("https://{expected}:{tls_port}/users/1"),
            "Host {host:?}"
        );
    }
}

fn served_by_counts(
    engine: &Engine,
    addr: SocketAddr,
    n: usize,
    path: impl Fn(usize) -> String,
    headers: impl Fn(usize) -> Vec<(String, String)>,
) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for i in 0..n {
        let h = headers(i);
        let hv: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let got = get(engine, addr, &path(i), &hv);
        assert_eq!(got.status, 200);
        *counts
            .entry(got.header("x-served-by").to_string())
            .or_insert(0) += 1;
    }
    counts
}

#[test]
fn load_balancing_policies_spread_requests_as_they_promise() {
    let mut s = quiet();
    s.cdn.enabled = false;
    s.balancer.policy = Policy::RoundRobin;
    let engine = start(s, false);
    let addr = lb(&engine);
    let rr = served_by_counts(
        &engine,
        addr,
        30,
        |i| format!("/users/{}", i + 1),
        |_| vec![],
    );
    assert_eq!(
        rr.values().copied().collect::<Vec<_>>(),
        vec![10, 10, 10],
        "round robin: {rr:?}"
    );

    engine
        .apply(&Command::Policy(Policy::ClientHash))
        .expect("applied");
    for client in ["browser-1", "mobile-7", "iot-3"] {
        let sticky = served_by_counts(
            &engine,
            addr,
            6,
            |i| format!("/users/{}", i + 1),
            |_| vec![("x-client-id".into(), client.into())],
        );
        assert_eq!(
            sticky.len(),
            1,
            "client hash keeps {client} on one server: {sticky:?}"
        );
    }

    engine
        .apply(&Command::Policy(Policy::WeightedRoundRobin))
        .expect("applied");
    let wrr = served_by_counts(
        &engine,
        addr,
        30,
        |i| format!("/users/{}", i + 1),
        |_| vec![],
    );
    assert_eq!(
        wrr.len(),
        3,
        "equal weights still use every server: {wrr:?}"
    );

    // Least connections steers around a slow server when requests overlap.
    engine
        .apply(&"slow server-1 150ms".parse().expect("command"))
        .expect("applied");
    engine
        .apply(&Command::Policy(Policy::LeastConnections))
        .expect("applied");
    let counts = engine.handle().block_on(async move {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut tasks = Vec::new();
        for i in 0..60 {
            tasks.push(tokio::spawn(async move {
                send(addr, "GET", &format!("/users/{}", i % 50 + 1), &[], "").await
            }));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for t in tasks {
            let got = t.await.expect("task").expect("answered");
            *counts
                .entry(got.header("x-served-by").to_string())
                .or_default() += 1;
        }
        counts
    });
    let slow = counts.get("server-1").copied().unwrap_or(0);
    let fast = counts.get("server-2").copied().unwrap_or(0);
    assert!(
        slow * 2 < fast,
        "least connections sends fewer to the slow server: {counts:?}"
    );
}

#[test]
fn the_cache_evicts_by_its_policy_and_expires_by_ttl() {
    // After a, b, a, c with room for two: LRU and LFU keep a (used twice, recently), FIFO
    // drops it (inserted first). After a, a, b, c: only LFU keeps a.
    let cases = [
        (
            ["/users/1", "/users/2", "/users/1", "/users/3"],
            [
                (Eviction::Lru, "HIT"),
                (Eviction::Lfu, "HIT"),
                (Eviction::Fifo, "MISS"),
            ],
        ),
        (
            ["/users/1", "/users/1", "/users/2", "/users/3"],
            [
                (Eviction::Lru, "MISS"),
                (Eviction::Lfu, "HIT"),
                (Eviction::Fifo, "MISS"),
            ],
        ),
    ];
    for (sequence, expectations) in cases {
        for (eviction, expected) in expectations {
            let mut s = quiet();
            s.cdn.capacity = 2;
            s.cdn.eviction = eviction;
            s.api.max_age = Dur::from_secs(60);
            let engine = start(s, false);
            let e = edge(&engine);
            for path in sequence {
                get(&engine, e, path, &[]);
            }
            let a = get(&engine, e, "/users/1", &[]);
            assert_eq!(
                a.header("x-cache"),
                expected,
                "{eviction:?} after {sequence:?}"
            );
        }
    }
    // A TTL override shorter than max-age makes entries expire sooner.
    let mut s = quiet();
    s.api.max_age = Dur::from_secs(60);
    let engine = start(s, false);
    let e = edge(&engine);
    engine
        .apply(&"cache ttl 200ms".parse().expect("command"))
        .expect("applied");
    assert_eq!(get(&engine, e, "/users/5", &[]).header("x-cache"), "MISS");
    assert_eq!(get(&engine, e, "/users/5", &[]).header("x-cache"), "HIT");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        get(&engine, e, "/users/5", &[]).header("x-cache"),
        "REVALIDATED"
    );
    engine
        .apply(&"cache flush".parse().expect("command"))
        .expect("applied");
    assert_eq!(get(&engine, e, "/users/5", &[]).header("x-cache"), "MISS");
    engine
        .apply(&"cache off".parse().expect("command"))
        .expect("applied");
    assert_eq!(get(&engine, e, "/users/5", &[]).header("x-cache"), "BYPASS");
}

#[test]
fn one_journey_has_its_spans_in_hop_order() {
    let engine = start(quiet(), false);
    let id = engine
        .send_request(SendRequest {
            path: "/users/7".into(),
            ..SendRequest::default()
        })
        .expect("the engine takes the request");
    let snap = wait_for(&engine, Duration::from_secs(5), "the request to end", |s| {
        journey(s, id).is_some()
    });
    let j = journey(&snap, id).expect("ended");
    assert_eq!(j.outcome, Some(Outcome::Status(200)));
    assert_eq!(j.cache, Some(CacheStatus::Miss));
    let order: Vec<(Component, Phase)> = j.spans.iter().map(|s| (s.component, s.phase)).collect();
    let position = |c: Component, p: Phase| {
        order
            .iter()
            .position(|x| *x == (c, p))
            .unwrap_or_else(|| panic!("no {c} {p} in {order:?}"))
    };
    let server = j
        .spans
        .iter()
        .find(|s| s.phase == Phase::Handler)
        .map(|s| s.component)
        .expect("a server handled it");
    let hops = [
        position(Component::Client, Phase::Dns),
        position(Component::Client, Phase::Connect),
        position(Component::Client, Phase::Send),
        position(Component::Cdn, Phase::Cache),
        position(Component::Cdn, Phase::Forward),
        position(Component::Lb, Phase::Pick),
        position(Component::Lb, Phase::Forward),
        position(server, Phase::Queue),
        position(server, Phase::Handler),
        position(Component::Db, Phase::Db),
    ];
    assert!(
        hops.windows(2).all(|w| w[0] < w[1]),
        "spans out of hop order: {order:?}"
    );
    let db = j.span(Phase::Db).expect("db span");
    assert!(
        db.attr("sql")
            .is_some_and(|sql| sql.contains("FROM users WHERE id = ?")),
        "{db:?}"
    );
    let pick = j.span(Phase::Pick).expect("pick span");
    assert!(pick.attr("reason").is_some() && pick.attr("policy") == Some("round_robin"));
    // Every server-side span lies inside the client's wait.
    let wait = j.span(Phase::Wait).expect("wait span");
    for s in j
        .spans
        .iter()
        .filter(|s| s.component != Component::Client && s.component != Component::Dns)
    {
        assert!(
            s.start_micros >= wait.start_micros && s.end_micros <= wait.end_micros + 1000,
            "{s:?} outside {wait:?}"
        );
    }
    // The DNS stub's own span joined the journey through the EDNS trace-id option.
    assert!(j.spans.iter().any(|s| s.component == Component::Dns));
}

#[test]
fn outside_requests_join_the_trace() {
    let engine = start(quiet(), false);
    let got = get(
        &engine,
        edge(&engine),
        "/restaurants/2",
        &[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )],
    );
    assert_eq!(got.status, 200);
    let id: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().expect("id");
    let snap = wait_for(
        &engine,
        Duration::from_secs(5),
        "the outside request",
        |s| journey(s, id).is_some(),
    );
    let j = journey(&snap, id).expect("traced");
    assert!(j.external);
    assert_eq!(j.profile, "outside");
    assert!(
        j.spans.iter().any(|s| s.phase == Phase::Handler),
        "the server's spans joined: {:?}",
        j.spans
    );
}

#[test]
fn every_request_is_accounted_for_when_a_server_dies_under_load() {
    let mut s = quiet();
    s.traffic.rate = 400.0;
    s.traffic.requests = 300;
    s.traffic.enabled = true;
    s.servers.service.mean = Dur::from_millis(2);
    s.events = vec![hopscope::scenario::Event {
        after_requests: Some(150),
        action: Some("kill server-2".into()),
        ..Default::default()
    }];
    let mut engine = start(s, true);
    let clients = engine.topology().clients.clone();
    let started = Instant::now();
    while clients.sent() < 300 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the clients send their 300 requests"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let topology = engine.topology().clone();
    let last = engine.stop();
    let outcomes: u64 = last.source_outcomes.iter().map(|(_, n)| n).sum();
    assert_eq!(outcomes, 300, "each of the 300 requests ended once");
    assert_eq!(last.events_shed, 0);
    assert_eq!(
        last.totals.begun, outcomes,
        "every begun request ended exactly once"
    );
    assert_eq!(last.totals.ended, outcomes);
    assert!(last.in_flight.is_empty());
    let recorded: BTreeMap<Outcome, u64> = last.source_outcomes.iter().copied().collect();
    assert_eq!(
        recorded, last.totals.outcomes,
        "the recorder agrees with the source counters"
    );
    assert!(
        recorded.get(&Outcome::Status(502)).copied().unwrap_or(0) > 0,
        "the kill produced 502s: {recorded:?}"
    );

    let cdn = topology.cdn.as_ref().expect("cdn").counts();
    let lb = topology.lb.counts();
    let servers: Vec<_> = topology.servers().iter().map(|s| s.counts()).collect();
    assert_eq!(
        cdn.received, outcomes,
        "every client request reached the CDN once"
    );
    assert_eq!(cdn.answered, cdn.received);
    assert_eq!(
        cdn.forwarded, lb.received,
        "what the CDN forwarded is what the LB received"
    );
    assert_eq!(lb.answered, lb.received);
    let received: u64 = servers.iter().map(|c| c.received).sum();
    let answered: u64 = servers.iter().map(|c| c.answered).sum();
    let aborted: u64 = servers.iter().map(|c| c.aborted).sum();
    assert_eq!(
        received,
        answered + aborted,
        "each server answered or lost each request it got"
    );
    assert_eq!(
        lb.forwarded - lb.upstream_failed,
        answered,
        "every answer the LB relayed came from a server"
    );
    let hits = last
        .totals
        .cache
        .get(&CacheStatus::Hit)
        .copied()
        .unwrap_or(0);
    assert_eq!(
        cdn.received - cdn.forwarded,
        hits,
        "what the CDN kept to itself were its hits"
    );
}

#[test]
fn the_running_settings_save_as_a_scenario_that_loads_back_and_starts() {
    let engine = start(quiet(), false);
    for text in [
        "policy least_connections",
        "add server",
        "cache capacity 7",
        "cache ttl 3s",
        "rate 42",
        "weight mobile 9",
        "latency lb 3ms",
        "time_scale 2",
        "keepalive off",
        "tls on",
    ] {
        engine
            .apply(&text.parse::<Command>().expect("command"))
            .unwrap_or_else(|e| panic!("{text}: {e}"));
    }
    let saved = engine.topology().current_scenario();
    assert_eq!(saved.balancer.policy, Policy::LeastConnections);
    assert_eq!(saved.servers.count, 4);
    assert_eq!(
        (saved.cdn.capacity, saved.cdn.ttl),
        (7, Some(Dur::from_secs(3)))
    );
    assert_eq!(saved.traffic.rate, 42.0);
    assert_eq!(saved.balancer.latency, Dur::from_millis(3));
    assert_eq!(saved.time_scale, 2.0);
    assert!(saved.tls.enabled);
    let mobile = saved
        .profiles
        .iter()
        .find(|p| p.name == "mobile")
        .expect("mobile profile");
    assert_eq!(mobile.weight, 9.0);
    assert!(saved.profiles.iter().all(|p| !p.keep_alive));
    let text = hopscope::scenario::to_toml(&saved).expect("serialises");
    let back = load_str("saved.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        back, saved,
        "the saved file reads back to the same settings"
    );
    let again = start(back, false);
    assert_eq!(again.topology().servers().len(), 4);
    assert_eq!(again.topology().lb.policy(), Policy::LeastConnections);
}

#[test]
fn a_request_to_an_unknown_host_fails_its_lookup() {
    let engine = start(quiet(), false);
    let id = engine
        .send_request(SendRequest {
            host: Some("apu.example.test".into()),
            ..SendRequest::default()
        })
        .expect("the engine takes the request");
    let snap = wait_for(&engine, Duration::from_secs(5), "the lookup to fail", |s| {
        journey(s, id).is_some()
    });
    let j = journey(&snap, id).expect("ended");
    assert_eq!(j.outcome, Some(Outcome::DnsFailure));
    let dns = j.span(Phase::Dns).expect("a dns span");
    assert_eq!(dns.attr("answer"), Some("NXDOMAIN"));
    assert!(j.url.contains("apu.example.test"));
}

#[test]
fn events_fire_on_time_in_simulated_time() {
    let mut s = quiet();
    s.time_scale = 2.0;
    s.events = vec![hopscope::scenario::Event {
        at: Some(Dur::from_millis(400)),
        action: Some("add server".into()),
        ..Default::default()
    }];
    let engine = start(s, false);
    let snap = wait_for(&engine, Duration::from_secs(5), "the event", |s| {
        s.markers.iter().any(|m| m.text == "add server")
    });
    let at = snap
        .markers
        .iter()
        .find(|m| m.text == "add server")
        .map_or(0, |m| m.at_micros);
    // 400 ms of simulated time at half speed is 800 ms of real time (never sooner).
    assert!((790_000..1_200_000).contains(&at), "fired at {at} µs");
}
