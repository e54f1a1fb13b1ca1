//! The server side of the API through real sockets: the trace of one request, queue
//! overflow, hang/kill/restart, injected errors and slowness, health checks, and carts.

use std::time::Duration;

use serde_json::Value as Json;
use tokio::net::TcpStream;

use super::*;
use crate::engine::component::ServiceHandle;
use crate::trace::{Component, Phase, Span, TraceEvent, TraceId};

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

#[test]
fn service_times_keep_the_configured_mean_whatever_their_shape() {
    for distribution in [
        Distribution::Constant,
        Distribution::Exponential,
        Distribution::Lognormal,
    ] {
        let service = ServiceTime {
            distribution,
            mean: Dur::from_millis(10),
            sigma: 1.0,
        };
        let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(3);
        let n = 50_000;
        let total: f64 = (0..n)
            .map(|_| sample_service_secs(&service, &mut rng))
            .sum();
        let mean_millis = total / f64::from(n) * 1000.0;
        assert!(
            (mean_millis - 10.0).abs() < 0.5,
            "{distribution:?}: {mean_millis}"
        );
    }
}
