//! Hostile HTTP on the live sockets of the CDN, the load balancer and a server: garbage,
//! truncated requests, oversized heads and bodies, slow senders, pipelining, invalid UTF-8.
//! Each gets the protocol's answer within a bounded time, and a normal request succeeds
//! afterwards at every hop.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use super::harness::{self, Hop, Live};
use super::{HEADER_TIMEOUT, connect, hardened, live, read_until_closed, serves_everyone};

/// The protocol's answers to `bytes` at `hop` (whole responses, in order): `bytes` end the
/// connection themselves (`Connection: close`, or something the component refuses).
fn answers(live: &Live, hop: Hop, bytes: &[u8]) -> Vec<u16> {
    exchange(live, hop, bytes, false)
}

/// The answers to a request cut short, after which the sender closes its side.
fn answers_cut(live: &Live, hop: Hop, bytes: &[u8]) -> Vec<u16> {
    exchange(live, hop, bytes, true)
}

fn exchange(live: &Live, hop: Hop, bytes: &[u8], cut: bool) -> Vec<u16> {
    let started = Instant::now();
    let reply = if cut {
        live.http(hop, bytes)
    } else {
        live.http_to_close(hop, bytes)
    };
    let reply =
        reply.unwrap_or_else(|e| panic!("{hop:?} on {:?}: {e}", String::from_utf8_lossy(bytes)));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{hop:?} answered in bounded time"
    );
    harness::statuses(&reply).unwrap_or_else(|e| panic!("{hop:?}: {e}"))
}

#[test]
fn garbage_gets_400_or_a_closed_connection() {
    let live = live(hardened());
    let cases: [(&[u8], &[u16]); 7] = [
        (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
            &[400],
        ),
        (b"\x00\xff\xfe\xfd\xfc\r\n\r\n", &[400]),
        (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", &[400]),
        (b"GET\r\n\r\n", &[400]),
        (b"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n", &[400]),
        (b"GET / HTTP/1.1\r\nHost x\r\n\r\n", &[400]),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &[]),
    ];
    for hop in Hop::ALL {
        for (bytes, expected) in cases {
            let got = answers(&live, hop, bytes);
            assert!(
                got.is_empty() && expected.is_empty() || got == expected,
                "{hop:?} answered {got:?} to {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
    serves_everyone(&live);
}

#[test]
fn truncated_requests_are_closed_in_bounded_time() {
    let live = live(hardened());
    for hop in Hop::ALL {
        // Cut in the head, then the sender closes: closed without an answer.
        let cut = answers_cut(&live, hop, b"GET /users/1 HTTP/1.1\r\nHost: x\r\nAcc");
        assert!(cut.is_empty(), "{hop:?}: {cut:?}");
        // Cut in the body, then the sender closes: 400 or closed.
        let body = answers_cut(
            &live,
            hop,
            b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"na",
        );
        assert!(body.is_empty() || body == [400], "{hop:?}: {body:?}");
    }
    serves_everyone(&live);
}

#[test]
fn a_head_cut_short_and_left_open_gets_408() {
    let live = live(hardened());
    for hop in Hop::ALL {
        let mut open = connect(&live, hop);
        open.write_all(b"GET /users/1 HTTP/1.1\r\nHost: x\r\n")
            .expect("write");
        let (reply, took) = read_until_closed(&mut open, HEADER_TIMEOUT * 4)
            .unwrap_or_else(|_| panic!("{hop:?} kept a cut request open"));
        let text = String::from_utf8_lossy(&reply).to_ascii_lowercase();
        assert!(
            text.starts_with("http/1.1 408 request timeout\r\n"),
            "{hop:?}: {text:?}"
        );
        assert!(
            text.contains("\r\nconnection: close\r\n"),
            "{hop:?}: {text:?}"
        );
        assert_eq!(harness::statuses(&reply).expect("whole"), [408], "{hop:?}");
        assert!(
            took >= HEADER_TIMEOUT / 2,
            "{hop:?} waited for the head: {took:?}"
        );
    }
    // A connection that sends nothing is closed at the deadline without an answer.
    let mut idle = connect(&live, Hop::Cdn);
    let (reply, _) = read_until_closed(&mut idle, HEADER_TIMEOUT * 4).expect("closed");
    assert!(reply.is_empty(), "{:?}", String::from_utf8_lossy(&reply));
    serves_everyone(&live);
}

#[test]
fn a_body_cut_short_and_left_open_gets_408() {
    let live = live(hardened());
    for hop in Hop::ALL {
        let mut open = connect(&live, hop);
        open.write_all(
            b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"na",
        )
        .expect("write");
        let (reply, _) = read_until_closed(&mut open, HEADER_TIMEOUT * 6)
            .unwrap_or_else(|_| panic!("{hop:?} waited forever for the rest of the body"));
        assert_eq!(harness::statuses(&reply).expect("whole"), [408], "{hop:?}");
    }
    serves_everyone(&live);
}

#[test]
fn oversized_heads_get_431() {
    let mut s = hardened();
    s.limits.max_header_bytes = 2048;
    let live = live(s);
    let big_value = format!(
        "GET /users/1 HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(3000)
    );
    let many: String = (0..200).map(|i| format!("X-H{i}: {i}\r\n")).collect();
    let many = format!("GET /users/1 HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    let huge = format!(
        "GET /users/1 HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(40_000)
    );
    let long_uri = format!(
        "GET /users/{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "9".repeat(3000)
    );
    for hop in Hop::ALL {
        for (what, req) in [
            ("a 3 kB header", &big_value),
            ("200 headers", &many),
            ("a 40 kB header", &huge),
            ("a 3 kB path", &long_uri),
        ] {
            let got = answers(&live, hop, req.as_bytes());
            assert!(got == [431] || got == [414], "{hop:?}, {what}: {got:?}");
        }
        // Just under the limit is fine.
        let fits = format!(
            "GET /users/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Fits: {}\r\n\r\n",
            "c".repeat(1500)
        );
        assert_eq!(answers(&live, hop, fits.as_bytes()), [200], "{hop:?}");
    }
    serves_everyone(&live);
}

#[test]
fn oversized_bodies_get_413() {
    let mut s = hardened();
    s.limits.max_body_bytes = 4096;
    let live = live(s);
    let body = format!("{{\"name\":\"{}\"}}", "x".repeat(10_000));
    let declared = format!(
        "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let chunk = "y".repeat(3000);
    let chunked = format!(
        "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nbb8\r\n{chunk}\r\nbb8\r\n{chunk}\r\nbb8\r\n{chunk}\r\n0\r\n\r\n"
    );
    let absurd = "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999999999\r\n\r\n";
    for hop in Hop::ALL {
        for (what, req) in [
            ("a declared 10 kB body", declared.as_str()),
            ("a chunked 9 kB body", chunked.as_str()),
            ("an absurd length", absurd),
        ] {
            let got = answers(&live, hop, req.as_bytes());
            assert_eq!(got.first(), Some(&413), "{hop:?}, {what}: {got:?}");
        }
    }
    serves_everyone(&live);
}

#[test]
fn slow_senders_are_cut_off_in_bounded_time() {
    let mut s = hardened();
    s.servers.count = 1;
    s.servers.workers = 1;
    let live = live(s);
    thread::scope(|scope| {
        let mut slow = Vec::new();
        for hop in Hop::ALL {
            let live = &live;
            // Slowloris: a head that never ends, one byte at a time.
            slow.push(scope.spawn(move || {
                let mut stream = connect(live, hop);
                let started = Instant::now();
                let head = b"GET /users/1 HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
                for b in head.iter().cycle() {
                    if stream.write_all(&[*b]).is_err() || started.elapsed() > HEADER_TIMEOUT * 8 {
                        break;
                    }
                    thread::sleep(Duration::from_millis(40));
                }
                let (_, _) = read_until_closed(&mut stream, Duration::from_secs(1))
                    .unwrap_or_else(|_| panic!("{hop:?} kept a slowloris connection"));
                (hop, "head", started.elapsed())
            }));
            // A body that trickles in and never ends.
            slow.push(scope.spawn(move || {
                let mut stream = connect(live, hop);
                let started = Instant::now();
                let _ = stream.write_all(
                    b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n",
                );
                while started.elapsed() < HEADER_TIMEOUT * 8 {
                    if stream.write_all(b" ").is_err() {
                        break;
                    }
                    thread::sleep(Duration::from_millis(40));
                }
                let (reply, _) = read_until_closed(&mut stream, Duration::from_secs(1))
                    .unwrap_or_else(|_| panic!("{hop:?} kept a slow body"));
                let statuses = harness::statuses(&reply).expect("whole");
                assert!(statuses.is_empty() || statuses == [408], "{hop:?}: {statuses:?}");
                (hop, "body", started.elapsed())
            }));
        }
        // Meanwhile everyone else is served, the only worker of the only server included.
        thread::sleep(Duration::from_millis(150));
        let started = Instant::now();
        serves_everyone(&live);
        assert!(
            started.elapsed() < HEADER_TIMEOUT * 3,
            "normal requests wait for slow senders: {:?}",
            started.elapsed()
        );
        for handle in slow {
            let (hop, what, took) = handle.join().expect("slow sender");
            assert!(
                took < HEADER_TIMEOUT * 6,
                "{hop:?}: the slow {what} was cut off only after {took:?}"
            );
        }
    });
    serves_everyone(&live);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let live = live(hardened());
    let paths = ["/users/1", "/users/2", "/restaurants/3", "/users/4"];
    let mut pipelined = String::new();
    for (i, path) in paths.iter().enumerate() {
        let close = if i + 1 == paths.len() {
            "Connection: close\r\n"
        } else {
            ""
        };
        pipelined.push_str(&format!("GET {path} HTTP/1.1\r\nHost: x\r\n{close}\r\n"));
    }
    for hop in Hop::ALL {
        let reply = live
            .http_to_close(hop, pipelined.as_bytes())
            .expect("answered");
        assert_eq!(
            harness::statuses(&reply).expect("whole"),
            [200, 200, 200, 200],
            "{hop:?}"
        );
        let text = String::from_utf8_lossy(&reply);
        let at: Vec<usize> = ["\"id\":1,", "\"id\":2,", "\"id\":3,", "\"id\":4,"]
            .iter()
            .map(|id| {
                text.find(id)
                    .unwrap_or_else(|| panic!("{hop:?}: {id} in {text}"))
            })
            .collect();
        assert!(
            at.windows(2).all(|w| w[0] < w[1]),
            "{hop:?} out of order: {text}"
        );
    }
    serves_everyone(&live);
}

#[test]
fn invalid_utf8_in_paths_and_headers_is_refused_or_served_never_a_failure() {
    let live = live(hardened());
    for hop in Hop::ALL {
        assert_eq!(
            answers(
                &live,
                hop,
                b"GET /users/\xc3\x28 HTTP/1.1\r\nHost: x\r\n\r\n"
            ),
            [400],
            "{hop:?}: raw non-ASCII in a path"
        );
        assert_eq!(
            answers(&live, hop, b"GET /users/1 HTTP/1.1\r\nX-B\xffd: 1\r\n\r\n"),
            [400],
            "{hop:?}: a header name that is not a token"
        );
        let encoded = answers(
            &live,
            hop,
            b"GET /users/%ff%fe%c3%28 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(
            encoded,
            [404],
            "{hop:?}: percent-encoded junk is just not found"
        );
        for header in [
            "Host",
            "X-Client-Id",
            "traceparent",
            "Cookie",
            "Authorization",
            "If-None-Match",
            "Content-Type",
            "Accept",
            "Cache-Control",
            "Connection",
        ] {
            for path in ["/users/1", "/orders", "/cart"] {
                let mut req = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n").into_bytes();
                req.extend_from_slice(header.as_bytes());
                req.extend_from_slice(b": \xff\xfe\x80 session=\xc3\x28; x\r\n\r\n");
                let got = answers(&live, hop, &req);
                assert!(
                    got.len() == 1 && (200..500).contains(&got[0]),
                    "{hop:?}: {header} with invalid UTF-8 on {path}: {got:?}"
                );
            }
        }
    }
    serves_everyone(&live);
}

#[test]
fn a_smuggled_request_never_reaches_a_server_on_its_own() {
    let live = live(hardened());
    let smuggle = b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nDELETE /users/1 HTTP/1.1\r\nHost: x\r\n\r\n";
    let servers = |live: &Live| -> u64 {
        live.engine()
            .topology()
            .servers()
            .iter()
            .map(|s| s.counts().received)
            .sum()
    };
    for hop in [Hop::Cdn, Hop::Lb] {
        let before = servers(&live);
        let got = answers(&live, hop, smuggle);
        let reached = servers(&live) - before;
        // Either refused outright, or each request the proxy read went on as itself: the
        // DELETE is never hidden inside the POST's body.
        assert!(
            got.iter()
                .all(|s| *s == 400 || *s == 404 || *s == 415 || *s == 204 || *s == 201),
            "{hop:?}: {got:?}"
        );
        assert!(
            reached as usize <= got.len(),
            "{hop:?}: {reached} reached a server for {got:?}"
        );
    }
    assert_eq!(
        live.http_to_close(
            Hop::Server,
            b"GET /users/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .map(|r| harness::statuses(&r)),
        Ok(Ok(vec![200])),
        "user 1 still exists"
    );
    serves_everyone(&live);
}

#[test]
fn the_tls_edge_closes_garbage_and_stalled_handshakes() {
    let mut s = hardened();
    s.tls.enabled = true;
    let live = live(s);
    let tls: std::net::SocketAddr = live
        .engine()
        .addresses()
        .edge_tls
        .expect("TLS edge")
        .parse()
        .expect("addr");
    let cases: [&[u8]; 4] = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00",
        b"\x16\x03\x01\xff\xff",
        b"",
    ];
    for bytes in cases {
        let mut stream = std::net::TcpStream::connect(tls).expect("connect");
        stream.write_all(bytes).expect("write");
        let (_, took) = read_until_closed(&mut stream, HEADER_TIMEOUT * 4)
            .unwrap_or_else(|_| panic!("the TLS edge kept {bytes:?} open"));
        assert!(took < HEADER_TIMEOUT * 4, "{bytes:?}: {took:?}");
    }
    // Plain HTTP at the edge is still redirected, the rest still served.
    for (hop, status) in [(Hop::Cdn, 308), (Hop::Lb, 200), (Hop::Server, 200)] {
        assert_eq!(answers(&live, hop, super::GET), [status], "{hop:?}");
    }
    super::assert_no_engine_panics();
}

#[test]
fn connect_gets_405_naming_the_method_at_every_hop() {
    let live = live(hardened());
    let connect = b"CONNECT api.example.test:443 HTTP/1.1\r\nHost: api.example.test:443\r\nConnection: close\r\n\r\n";
    for hop in Hop::ALL {
        let reply = live
            .http_to_close(hop, connect)
            .unwrap_or_else(|e| panic!("{hop:?}: {e}"));
        assert_eq!(
            harness::statuses(&reply).expect("whole responses"),
            [405],
            "{hop:?}"
        );
        let text = String::from_utf8_lossy(&reply).to_ascii_lowercase();
        assert!(
            text.contains("allow: get, head, post, put, patch, delete")
                && text.contains("connect asks for a tunnel")
                && !text.contains("nothing at"),
            "{hop:?}: {text}"
        );
    }
    serves_everyone(&live);
}
