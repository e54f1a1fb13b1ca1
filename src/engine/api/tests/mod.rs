//! The API servers through real sockets on 127.0.0.1: what a user of `curl` would notice
//! (status codes, headers, bodies). The shared rig lives here; `server` tests the worker
//! model, faults, the trace and carts.

use std::time::Duration;

use bytes::Bytes;
use crossbeam_channel::Receiver;
use http_body_util::Full;
use hyper::Request;
use serde_json::Value as Json;

use super::*;
use crate::engine::component::Service;
use crate::engine::link::LinkState;
use crate::engine::listener::loopback;
use crate::engine::upstream::{Answer, Upstream};
use crate::scenario::{DatabaseConfig, Dur, Limits, ServiceTime};
use crate::trace::{Clock, EventSink, Span, TraceEvent};

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
        let setup = ServerSetup {
            number: n,
            addr: loopback(0),
            shared: shared.clone(),
        };
        let server = ApiServer::start(env.clone(), setup)
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

mod server;

/// Writes raw bytes to the server and reads until it closes the connection.
async fn raw(rig: &Rig, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(rig.servers[0].addr())
        .await
        .expect("connect");
    s.write_all(request).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn head_has_the_headers_without_a_body_and_odd_requests_do_not_hurt() {
    let rig = rig().await;
    let head = raw(
        &rig,
        b"HEAD /users/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("etag: \""), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "no body after the head: {head}");
    for odd in [
        &b"GET /users/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"[..],
        b"GET /users?_page=%ZZ&city=%E2%28 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nConnection: close\r\n\r\n\"\xff\"}",
    ] {
        let answer = raw(&rig, odd).await;
        assert!(
            answer.starts_with("HTTP/1.1 400") || answer.starts_with("HTTP/1.1 404"),
            "{answer}"
        );
    }
    assert_eq!(rig.get("/users/1").await.status, 200, "still serving");
}
