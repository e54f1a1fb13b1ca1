//! The API servers through real sockets on 127.0.0.1: what a user of `curl` would notice
//! (status codes, headers, bodies), the worker model and faults, and the trace.

use std::time::Duration;

use bytes::Bytes;
use crossbeam_channel::Receiver;
use http_body_util::Full;
use hyper::Request;
use serde_json::Value as Json;
use tokio::net::TcpStream;

use super::*;
use crate::engine::link::LinkState;
use crate::engine::listener::loopback;
use crate::engine::upstream::{Answer, Upstream};
use crate::scenario::{DatabaseConfig, Dur, Limits, ServiceTime};
use crate::trace::{Clock, EventSink, Span, TraceEvent, TraceId};

const BODY_LIMIT: usize = 4096;

struct Rig {
    env: Arc<Env>,
    rx: Receiver<TraceEvent>,
    servers: Vec<ApiServer>,
    clients: Vec<Upstream>,
}

fn servers_config(workers: usize, queue: usize, mean_millis: u64) -> ServersConfig {
    ServersConfig {
        count: 2,
        workers,
        queue,
        service: ServiceTime {
            distribution: Distribution::Constant,
            mean: Dur::from_millis(mean_millis),
            sigma: 0.5,
        },
        slowdown: Vec::new(),
        stateless: false,
    }
}

async fn rig_with(servers: ServersConfig, count: u16) -> Rig {
    let (sink, rx) = EventSink::new(Clock::start(), 4096);
    let limits = Limits {
        max_body_bytes: BODY_LIMIT,
        ..Limits::default()
    };
    let env = Env::new(sink, 1.0, limits, 1);
    let db_config = DatabaseConfig {
        latency: Dur::ZERO,
        pool: 2,
        users: 20,
        restaurants: 10,
        orders: 30,
    };
    let db = Db::open(env.clone(), &db_config).expect("database opens");
    let shared = ApiShared::new(db, servers, ApiConfig::default());
    let mut rig = Rig {
        env: env.clone(),
        rx,
        servers: Vec::new(),
        clients: Vec::new(),
    };
    for n in 1..=count {
        let server = ApiServer::start(env.clone(), n, loopback(0), shared.clone())
            .await
            .expect("server starts");
        let link = LinkState::new(Duration::ZERO, Duration::ZERO, 0.0);
        let client = Upstream::new(env.clone(), server.addr(), link, 8, Duration::from_secs(2));
        rig.servers.push(server);
        rig.clients.push(client);
    }
    rig
}

async fn rig() -> Rig {
    rig_with(servers_config(4, 8, 1), 1).await
}

impl Rig {
    /// Sends a request to server `index` (0-based) and reads the whole answer.
    async fn call(
        &self,
        index: usize,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "api.example.test");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = Full::new(Bytes::from(body.unwrap_or("").to_string()));
        let req = req.body(body).expect("request builds");
        self.clients[index].send(req).await.expect("an answer")
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(0, "GET", path, &[], None).await
    }

    async fn send_json(&self, method: &str, path: &str, body: &str) -> Answer {
        let ct = [("content-type", "application/json")];
        self.call(0, method, path, &ct, Some(body)).await
    }

    fn spans(&self) -> Vec<Span> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                TraceEvent::Span(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    fn events(&self) -> Vec<TraceEvent> {
        self.rx.try_iter().collect()
    }
}

fn header<'a>(a: &'a Answer, name: &str) -> &'a str {
    a.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn body(a: &Answer) -> Json {
    serde_json::from_slice(&a.body).expect("a JSON body")
}

fn error_text(a: &Answer) -> String {
    body(a)["error"].as_str().unwrap_or("").to_string()
}

#[tokio::test]
async fn a_public_get_is_json_with_an_etag_and_revalidates_to_304() {
    let rig = rig().await;
    let a = rig.get("/users/1").await;
    assert_eq!(a.status, 200);
    assert_eq!(header(&a, "content-type"), "application/json");
    assert_eq!(header(&a, "x-served-by"), "server-1");
    assert_eq!(header(&a, "cache-control"), "public, max-age=10");
    assert_eq!(body(&a)["id"], 1);
    let etag = header(&a, "etag").to_string();
    assert!(etag.starts_with('"') && etag.len() > 2, "{etag}");

    let again = rig
        .call(0, "GET", "/users/1", &[("if-none-match", &etag)], None)
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(header(&again, "etag"), etag);
    assert_eq!(header(&again, "cache-control"), "public, max-age=10");
    assert_eq!(header(&again, "x-served-by"), "server-1");

    let other = rig
        .call(0, "GET", "/users/2", &[("if-none-match", &etag)], None)
        .await;
    assert_eq!(other.status, 200, "a different body has a different tag");
}

#[tokio::test]
async fn unknown_ids_and_routes_are_404_and_wrong_methods_405() {
    let rig = rig().await;
    for path in [
        "/users/999999",
        "/nope",
        "/users/abc",
        "/users/0",
        "/users/-3",
        "/users/99999999999999999999999999",
        "/users/%FF%00%2F",
        "/users/1/extra",
    ] {
        let a = rig.get(path).await;
        assert_eq!(a.status, 404, "{path}");
        assert_eq!(header(&a, "cache-control"), "no-store", "{path}");
        assert!(!error_text(&a).is_empty(), "{path}");
    }
    let a = rig.call(0, "DELETE", "/users", &[], None).await;
    assert_eq!(a.status, 405);
    assert_eq!(header(&a, "allow"), "GET, HEAD, POST");
    let index = rig.get("/").await;
    assert_eq!(index.status, 200);
    assert_eq!(body(&index)["server"], "server-1");
}

#[tokio::test]
async fn create_read_replace_merge_and_delete() {
    let rig = rig().await;
    let created = rig
        .send_json(
            "POST",
            "/users",
            r#"{"name":"Mo Chen","email":"mo@example.test","city":"Oslo"}"#,
        )
        .await;
    assert_eq!(created.status, 201);
    let location = header(&created, "location").to_string();
    assert_eq!(location, format!("/users/{}", body(&created)["id"]));
    assert_eq!(header(&created, "cache-control"), "no-store");

    let fetched = rig.get(&location).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(body(&fetched)["name"], "Mo Chen");

    let put = rig
        .send_json(
            "PUT",
            &location,
            r#"{"name":"Mo Chen","email":"mo@example.test","city":"Bergen"}"#,
        )
        .await;
    assert_eq!(put.status, 200);
    assert_eq!(body(&put)["city"], "Bergen");

    let patched = rig
        .send_json("PATCH", &location, r#"{"name":"Mo C."}"#)
        .await;
    assert_eq!(patched.status, 200);
    assert_eq!(body(&patched)["name"], "Mo C.");
    assert_eq!(body(&patched)["city"], "Bergen", "merge keeps the rest");

    let missing_put = rig
        .send_json(
            "PUT",
            "/users/424242",
            r#"{"name":"X","email":"x@example.test","city":"Y"}"#,
        )
        .await;
    assert_eq!(missing_put.status, 404);

    let deleted = rig.call(0, "DELETE", &location, &[], None).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_empty());
    assert_eq!(rig.get(&location).await.status, 404);
    let twice = rig.call(0, "DELETE", &location, &[], None).await;
    assert_eq!(twice.status, 404);

    let dup = rig
        .send_json(
            "POST",
            "/users",
            r#"{"name":"Twin","email":"twin@example.test","city":"Oslo"}"#,
        )
        .await;
    assert_eq!(dup.status, 201);
    let again = rig
        .send_json(
            "POST",
            "/users",
            r#"{"name":"Twin","email":"twin@example.test","city":"Oslo"}"#,
        )
        .await;
    assert_eq!(again.status, 409, "the email is unique");
}

#[tokio::test]
async fn bad_bodies_get_400_415_and_413_naming_the_problem() {
    let rig = rig().await;
    let cases = [
        (r#"{"name": "#, "not valid JSON"),
        (r#"[1, 2]"#, "JSON object"),
        (r#"{"name":1,"email":"a@b","city":"X"}"#, "`name`"),
        (
            r#"{"name":"A","email":"a@b","city":"X","nick":"z"}"#,
            "`nick`",
        ),
        (r#"{"name":"A","city":"X"}"#, "`email`"),
        (r#"{"id":5,"name":"A","email":"a@b","city":"X"}"#, "`id`"),
    ];
    for (sent, named) in cases {
        let a = rig.send_json("POST", "/users", sent).await;
        assert_eq!(a.status, 400, "{sent}");
        assert!(error_text(&a).contains(named), "{sent}: {}", error_text(&a));
    }
    let rating = rig
        .send_json("PATCH", "/restaurants/1", r#"{"rating":"five"}"#)
        .await;
    assert_eq!(rating.status, 400);
    assert!(
        error_text(&rating).contains("from 0 to 5"),
        "{}",
        error_text(&rating)
    );

    let plain = rig
        .call(
            0,
            "POST",
            "/users",
            &[("content-type", "text/plain")],
            Some("hi"),
        )
        .await;
    assert_eq!(plain.status, 415);
    let bare = rig.call(0, "PATCH", "/users/1", &[], Some("{}")).await;
    assert_eq!(bare.status, 415);

    let huge = format!(r#"{{"name":"{}"}}"#, "a".repeat(BODY_LIMIT * 2));
    let too_big = rig.send_json("POST", "/users", &huge).await;
    assert_eq!(too_big.status, 413);
}

#[tokio::test]
async fn orders_need_the_allowed_bearer_token() {
    let rig = rig().await;
    let none = rig.get("/orders/1").await;
    assert_eq!(none.status, 401);
    assert!(header(&none, "www-authenticate").starts_with("Bearer"));
    let garbled = rig
        .call(0, "GET", "/orders", &[("authorization", "Basic abc")], None)
        .await;
    assert_eq!(garbled.status, 401);
    let forbidden = rig
        .call(
            0,
            "GET",
            "/orders",
            &[("authorization", "Bearer guest-0000")],
            None,
        )
        .await;
    assert_eq!(forbidden.status, 403);
    let allowed = [("authorization", "Bearer letmein-7f3a")];
    let ok = rig.call(0, "GET", "/orders/1", &allowed, None).await;
    assert_eq!(ok.status, 200);
    assert_eq!(header(&ok, "cache-control"), "no-store");
    let post = rig
        .call(
            0,
            "POST",
            "/orders",
            &[allowed[0], ("content-type", "application/json")],
            Some(r#"{"user_id":1,"restaurant_id":2,"total":12.5}"#),
        )
        .await;
    assert_eq!(post.status, 201);
    assert_eq!(body(&post)["status"], "placed", "the default status");
}

#[tokio::test]
async fn lists_filter_sort_and_paginate() {
    let rig = rig().await;
    let page = rig.get("/restaurants?_page=2&_limit=4").await;
    assert_eq!(page.status, 200);
    assert_eq!(header(&page, "x-total-count"), "10");
    let rows = body(&page);
    assert_eq!(rows.as_array().map(Vec::len), Some(4));
    assert_eq!(rows[0]["id"], 5);
    let link = header(&page, "link");
    assert!(
        link.contains(r#"</restaurants?_page=3&_limit=4>; rel="next""#),
        "{link}"
    );
    assert!(
        link.contains(r#"</restaurants?_page=3&_limit=4>; rel="last""#),
        "{link}"
    );

    let city = body(&rig.get("/users/1").await)["city"].clone();
    let city = city.as_str().expect("a city");
    let same = rig.get(&format!("/users?city={city}")).await;
    let rows = body(&same);
    let rows = rows.as_array().expect("an array");
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["city"] == city));
    assert_eq!(header(&same, "x-total-count"), rows.len().to_string());

    let sorted = body(&rig.get("/restaurants?_sort=rating&_order=desc").await);
    let ratings: Vec<f64> = sorted
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|r| r["rating"].as_f64())
        .collect();
    assert!(ratings.windows(2).all(|w| w[0] >= w[1]), "{ratings:?}");

    for (path, named) in [
        ("/users?nickname=x", "nickname"),
        ("/users?_page=-1", "_page"),
        ("/users?_limit=0", "_limit"),
        ("/users?_page=99999999999999999999", "_page"),
        ("/users?id=abc", "id"),
        ("/users?_sort=password", "password"),
    ] {
        let a = rig.get(path).await;
        assert_eq!(a.status, 400, "{path}");
        assert!(error_text(&a).contains(named), "{path}: {}", error_text(&a));
    }
    let far = rig.get("/users?_page=9999999&_limit=1000").await;
    assert_eq!(far.status, 200);
    assert_eq!(body(&far), Json::Array(Vec::new()));
}

#[tokio::test]
async fn spans_of_one_request_come_in_order_with_the_sql_inside_the_handler() {
    let rig = rig().await;
    let id = TraceId(0x1234_5678_9abc_def0_1122_3344_5566_7788);
    let traceparent = format!("00-{id}-00f067aa0ba902b7-01");
    let inside = [
        ("traceparent", traceparent.as_str()),
        ("x-hopscope-hop", rig.env.run_token.as_str()),
    ];
    let a = rig.call(0, "GET", "/users/1", &inside, None).await;
    assert_eq!(a.status, 200);
    let events = rig.events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, TraceEvent::Begin(_) | TraceEvent::End(_))),
        "an inside request is begun and ended by its client"
    );
    let spans: Vec<&Span> = events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Span(s) if s.id == id => Some(s),
            _ => None,
        })
        .collect();
    let phases: Vec<Phase> = spans.iter().map(|s| s.phase).collect();
    assert_eq!(phases, vec![Phase::Queue, Phase::Db, Phase::Handler]);
    let (queue, db, handler) = (spans[0], spans[1], spans[2]);
    assert_eq!(queue.component, Component::Server(1));
    assert_eq!(db.component, Component::Db);
    assert_eq!(db.attr("sql"), Some("SELECT * FROM users WHERE id = ?"));
    assert_eq!(db.attr("params"), Some("[1]"));
    assert!(queue.end_micros <= handler.start_micros);
    assert!(handler.start_micros <= db.start_micros && db.end_micros <= handler.end_micros);
    assert_eq!(handler.attr("route"), Some("GET /users/:id"));
    assert_eq!(handler.attr("status"), Some("200"));

    // The same request from outside (no hop mark) is begun and ended here.
    let b = rig.get("/users/2").await;
    assert_eq!(b.status, 200);
    let events = rig.events();
    let begun = events.iter().find_map(|e| match e {
        TraceEvent::Begin(b) => Some(b.clone()),
        _ => None,
    });
    let begun = begun.expect("a Begin event");
    assert!(begun.external);
    let ended = events.iter().find_map(|e| match e {
        TraceEvent::End(e) if e.id == begun.id => Some(e.clone()),
        _ => None,
    });
    let ended = ended.expect("an End event");
    assert_eq!(ended.served_by.as_deref(), Some("server-1"));
    assert_eq!(ended.outcome, crate::trace::Outcome::Status(200));
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    let rig = rig_with(servers_config(1, 1, 300), 1).await;
    let (a, b, c) = tokio::join!(
        rig.get("/users/1"),
        rig.get("/users/2"),
        rig.get("/users/3")
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16(), c.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 503]);
    let refused = [&a, &b, &c]
        .into_iter()
        .find(|x| x.status == 503)
        .expect("one refused");
    assert_eq!(header(refused, "retry-after"), "1");
    assert_eq!(header(refused, "x-served-by"), "server-1");
    assert!(error_text(refused).contains("overloaded"));
    let g = rig.servers[0].gauge();
    assert_eq!((g.max_queue, g.queued, g.in_flight), (1, 0, 0));
    let queued = rig
        .spans()
        .into_iter()
        .filter(|s| s.phase == Phase::Queue && s.attr("position") == Some("1"))
        .count();
    assert_eq!(queued, 1, "the waiting request says where it stood");
    let counts = rig.servers[0].counts();
    assert_eq!((counts.received, counts.answered), (3, 3));
}

#[tokio::test]
async fn a_hung_server_never_answers_until_restarted() {
    let rig = rig().await;
    let server = &rig.servers[0];
    server.hang();
    assert!(server.gauge().hung);
    let wait = Duration::from_millis(200);
    let req = tokio::time::timeout(wait, rig.get("/users/1")).await;
    assert!(req.is_err(), "no answer while hung");
    let health = tokio::time::timeout(wait, rig.get("/health")).await;
    assert!(health.is_err(), "not even /health");
    server.restart().await.expect("restart");
    assert!(!server.gauge().hung);
    assert_eq!(rig.get("/users/1").await.status, 200);
    assert_eq!(rig.get("/health").await.status, 200);
    let counts = server.counts();
    assert_eq!(counts.aborted, 1, "the held request was cut by the restart");
    assert_eq!(server.health_checks(), 2);
}

#[tokio::test]
async fn a_killed_server_refuses_connections_and_restarts_on_the_same_port() {
    let rig = rig().await;
    let server = &rig.servers[0];
    let addr = server.addr();
    server.kill();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let refused = TcpStream::connect(addr).await.expect_err("nothing listens");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(!server.gauge().alive);
    server.restart().await.expect("restart");
    assert_eq!(server.addr(), addr);
    assert!(server.gauge().alive);
    assert_eq!(rig.get("/users/1").await.status, 200);
}

#[tokio::test]
async fn error_rate_and_slowness_are_injected_and_cleared() {
    let rig = rig().await;
    let server = &rig.servers[0];
    server.set_error_rate(1.0);
    let failed = rig.get("/users/1").await;
    assert_eq!(failed.status, 500);
    assert_eq!(header(&failed, "x-served-by"), "server-1");
    assert_eq!(server.gauge().error_rate, 1.0);
    server.set_error_rate(0.0);
    assert_eq!(rig.get("/users/1").await.status, 200);

    server.slow(Duration::from_millis(120));
    assert_eq!(server.gauge().slow_millis, 120.0);
    let started = std::time::Instant::now();
    assert_eq!(rig.get("/users/1").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(120));
    server.set_error_rate(0.5);
    server.restart().await.expect("restart");
    let g = server.gauge();
    assert_eq!((g.slow_millis, g.error_rate), (0.0, 0.0));
}

#[tokio::test]
async fn health_is_answered_untraced_and_counted_apart() {
    let rig = rig().await;
    let a = rig.get("/health").await;
    assert_eq!(a.status, 200);
    assert_eq!(body(&a)["status"], "ok");
    assert_eq!(body(&a)["server"], "server-1");
    assert!(rig.events().is_empty(), "health checks are not traced");
    assert_eq!(rig.servers[0].counts().received, 0);
    assert_eq!(rig.servers[0].health_checks(), 1);
}

async fn cart_across_two_servers(stateless: bool) -> (Json, Json) {
    let mut config = servers_config(4, 8, 1);
    config.stateless = stateless;
    let rig = rig_with(config, 2).await;
    let added = rig
        .call(
            0,
            "POST",
            "/cart/items",
            &[("content-type", "application/json")],
            Some(r#"{"item":"dumplings","qty":2}"#),
        )
        .await;
    assert_eq!(added.status, 200);
    assert_eq!(header(&added, "cache-control"), "no-store");
    let cookie = header(&added, "set-cookie").to_string();
    assert!(
        cookie.starts_with("session=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let session = cookie.split(';').next().expect("name=value").to_string();
    let here = rig
        .call(0, "GET", "/cart", &[("cookie", &session)], None)
        .await;
    assert!(
        header(&here, "set-cookie").is_empty(),
        "the session is kept"
    );
    let there = rig
        .call(1, "GET", "/cart", &[("cookie", &session)], None)
        .await;
    assert_eq!(there.status, 200);
    assert_eq!(body(&there)["server"], "server-2");
    (body(&here), body(&there))
}

#[tokio::test]
async fn a_cart_in_server_memory_is_invisible_to_another_server() {
    let (here, there) = cart_across_two_servers(false).await;
    assert_eq!(here["items"][0]["qty"], 2);
    assert_eq!(here["stored_in"], "memory of server-1");
    assert_eq!(there["items"], Json::Array(Vec::new()));
}

#[tokio::test]
async fn a_cart_in_the_database_is_seen_by_every_server() {
    let (here, there) = cart_across_two_servers(true).await;
    assert_eq!(here["items"], there["items"]);
    assert_eq!(there["items"][0]["item"], "dumplings");
    assert_eq!(there["stored_in"], "database");
}
