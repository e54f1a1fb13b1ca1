//! Connections as a weapon: opened and abandoned, or a flood beyond `max_connections`.
//! Abandoned connections are closed by the header timeout; connections beyond the limit are
//! closed at once; the limit holds even for a burst; service resumes when the flood ends.

use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use super::harness::{self, Hop, Live};
use super::{GET, HEADER_TIMEOUT, connect, hardened, live, read_until_closed, serves_everyone};

#[test]
fn abandoned_connections_are_closed_by_the_header_timeout() {
    let live = live(hardened());
    let mut idle: Vec<(Hop, TcpStream)> = Vec::new();
    for hop in Hop::ALL {
        for i in 0..30 {
            let mut s = connect(&live, hop);
            if i % 2 == 0 {
                // Half of them begin a request and never finish it.
                let _ = s.write_all(b"GET /users/1 HTTP/1.1\r\n");
            }
            idle.push((hop, s));
        }
    }
    // Everyone else is served while they hang around.
    serves_everyone(&live);
    let started = Instant::now();
    for (hop, mut s) in idle {
        let left = (HEADER_TIMEOUT * 6).saturating_sub(started.elapsed());
        let (reply, _) = read_until_closed(&mut s, left)
            .unwrap_or_else(|_| panic!("{hop:?} kept an abandoned connection open"));
        let statuses = harness::statuses(&reply).expect("whole");
        assert!(
            statuses.is_empty() || statuses == [408],
            "{hop:?}: {statuses:?}"
        );
    }
    serves_everyone(&live);
}

/// How many of `streams` the component serves: each is asked for a page, and each either
/// gets a 200 or is found closed.
fn served(streams: &mut [TcpStream]) -> (usize, usize) {
    let (mut ok, mut closed) = (0, 0);
    for s in streams.iter_mut() {
        let _ = s.write_all(GET);
        match read_until_closed(s, Duration::from_secs(3)) {
            Ok((reply, _)) => match harness::statuses(&reply).as_deref() {
                Ok([200]) => ok += 1,
                Ok([]) => closed += 1,
                other => panic!("a flooded connection got {other:?}"),
            },
            Err(_) => panic!("a flooded connection neither answered nor closed"),
        }
    }
    (ok, closed)
}

#[test]
fn a_flood_beyond_max_connections_is_closed_and_service_resumes() {
    const LIMIT: usize = 12;
    let mut s = hardened();
    s.limits.max_connections = LIMIT;
    // Long enough that held connections are still open when they are used.
    s.limits.header_timeout = hopscope::scenario::Dur::from_secs(3);
    let live = live(s);
    for hop in Hop::ALL {
        // A burst: every connection opened as fast as the kernel takes them.
        let addr = live.addr(hop);
        let mut flood: Vec<TcpStream> = (0..LIMIT * 3)
            .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok())
            .collect();
        thread::sleep(Duration::from_millis(100));
        let (ok, closed) = served(&mut flood);
        // The CDN's own pooled connection to the load balancer counts against the LB.
        assert!(
            ok <= LIMIT,
            "{hop:?} served {ok} connections at once with a limit of {LIMIT}"
        );
        assert!(ok >= LIMIT / 2, "{hop:?} served only {ok} of its {LIMIT}");
        assert_eq!(ok + closed, flood.len(), "{hop:?}");
        drop(flood);
        // The component notices the closed connections and serves again.
        wait_served(&live, Hop::Cdn);
        wait_served(&live, Hop::Lb);
        wait_served(&live, Hop::Server);
    }
    serves_everyone(&live);
}

/// Retries a normal request at `hop` until it is answered 200 (bounded).
fn wait_served(live: &Live, hop: Hop) {
    let started = Instant::now();
    loop {
        let reply = live.http_to_close(hop, GET).unwrap_or_default();
        if harness::statuses(&reply).as_deref() == Ok(&[200]) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{hop:?} serves again after the flood"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_listener_binds_loopback() {
    let live: Live = live(hardened());
    let a = live.engine().addresses();
    let mut all = vec![a.dns.clone(), a.edge.clone(), a.lb.clone()];
    all.extend(a.cdn.clone());
    all.extend(a.edge_tls.clone());
    all.extend(a.servers.clone());
    for text in all {
        let addr: std::net::SocketAddr = text.parse().expect("an address");
        assert!(addr.ip().is_loopback(), "{addr} is not loopback");
    }
}

/// Out of file descriptors (a desktop's soft limit is often 1024, macOS's 256): a flood
/// larger than the process may open degrades service while it lasts, and everything is
/// served again once it ends. `serve` runs with a small descriptor limit in its own process.
#[cfg(unix)]
#[test]
fn running_out_of_descriptors_degrades_and_recovers() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = std::env::temp_dir().join(format!("hopscope-fd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("fd.toml");
    std::fs::write(
        &file,
        "name = \"fd\"\n[traffic]\nenabled = false\n[limits]\nheader_timeout = \"2s\"\n",
    )
    .expect("write");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 160 && exec \"$0\" serve \"$1\" --duration 60s")
        .arg(env!("CARGO_BIN_EXE_hopscope"))
        .arg(&file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("an address line").expect("readable");
    let _ = std::thread::Builder::new()
        .name("fd-serve-stdout".into())
        .spawn(move || for _ in lines {});
    let value: serde_json::Value = serde_json::from_str(&first).expect("JSON");
    let edge: std::net::SocketAddr = value["edge"].as_str().expect("edge").parse().expect("addr");
    let lb: std::net::SocketAddr = value["lb"].as_str().expect("lb").parse().expect("addr");
    let get = |addr| {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        s.write_all(GET).ok()?;
        let (reply, _) = read_until_closed(&mut s, Duration::from_secs(3)).ok()?;
        harness::statuses(&reply).ok()
    };
    assert_eq!(get(edge), Some(vec![200]), "served before the flood");
    // Far more connections than it may hold descriptors for, to the edge and the LB.
    let flood: Vec<TcpStream> = (0..400)
        .filter_map(|i| {
            let addr = if i % 2 == 0 { edge } else { lb };
            TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()
        })
        .collect();
    assert!(flood.len() > 160, "the flood got in: {}", flood.len());
    thread::sleep(Duration::from_millis(200));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "serve survives the flood"
    );
    drop(flood);
    let started = Instant::now();
    while get(edge) != Some(vec![200]) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "served again after the flood"
        );
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(get(lb), Some(vec![200]));
    let _ = child.kill();
    let _ = child.wait();
}
