//! Hardening tests: hostile input on the live sockets (HTTP and DNS), resource limits,
//! faults under load with the accounting reconciled, a CI-sized soak, loopback only, clean
//! shutdown and start-up errors, and the fuzz corpus and crash cases replayed. Every wait is
//! bounded; injected delays and timeouts are short.
//!
//! The entry points the fuzz targets use are shared: `fuzz/harness/mod.rs` is compiled into
//! this test binary as [`harness`], so a replayed input goes through exactly the same code.

mod abuse;
mod dns;
mod faults;
mod flood;
mod replay;
mod shutdown;
mod soak;

#[path = "../../fuzz/harness/mod.rs"]
pub mod harness;

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hopscope::scenario::{Dur, Scenario};

use self::harness::{Hop, Live};

/// The header (and body) timeout of the hardened test scenario.
pub const HEADER_TIMEOUT: Duration = Duration::from_millis(500);

/// A small topology with short limits: no injected delays, no generated traffic, two
/// servers, a short header timeout.
pub fn hardened() -> Scenario {
    let mut s = harness::live_scenario();
    s.name = "hardened".into();
    s.servers.count = 2;
    s.balancer.health_interval = Dur::from_millis(200);
    s.balancer.health_timeout = Dur::from_millis(200);
    s.limits.header_timeout = Dur(HEADER_TIMEOUT);
    s.limits.body_timeout = Dur(HEADER_TIMEOUT);
    s
}

/// The hardened scenario running, with a patient reader.
pub fn live(s: Scenario) -> Live {
    watch_engine_panics();
    Live::with(s, Duration::from_millis(20))
}

/// A plain GET that closes its connection: a list, which is there whatever earlier
/// requests created or deleted.
pub const GET: &[u8] =
    b"GET /restaurants?_limit=2 HTTP/1.1\r\nHost: api.example.test\r\nConnection: close\r\n\r\n";

/// Asserts that a normal request is answered 200 at the CDN, the load balancer and a
/// server directly: the component keeps serving everyone else.
pub fn serves_everyone(live: &Live) {
    for hop in Hop::ALL {
        let reply = live
            .http_to_close(hop, GET)
            .unwrap_or_else(|e| panic!("{hop:?} still serves: {e}"));
        let statuses = harness::statuses(&reply).unwrap_or_else(|e| panic!("{hop:?}: {e}"));
        assert_eq!(statuses, vec![200], "{hop:?} answers a normal request");
    }
    assert_no_engine_panics();
}

static ENGINE_PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts panics on the engine's threads: tokio would otherwise swallow them (a connection
/// task that panics just drops its connection).
pub fn watch_engine_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = std::thread::current().name().map(str::to_string);
            if name.as_deref().is_some_and(|n| n.starts_with("hopscope-")) {
                ENGINE_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

/// Fails if any engine thread has panicked since the tests started.
pub fn assert_no_engine_panics() {
    assert_eq!(
        ENGINE_PANICS.load(Ordering::SeqCst),
        0,
        "an engine thread panicked (see the output above)"
    );
}

/// Reads until the peer closes the connection, for at most `bound`. Returns what was read
/// and how long it took, or `Err` with what was read if the connection stayed open.
pub fn read_until_closed(
    stream: &mut TcpStream,
    bound: Duration,
) -> Result<(Vec<u8>, Duration), Vec<u8>> {
    let started = Instant::now();
    let _ = stream.set_read_timeout(Some(Duration::from_millis(20)));
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok((out, started.elapsed())),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return Ok((out, started.elapsed())),
        }
        if started.elapsed() > bound {
            return Err(out);
        }
    }
}

/// Connects to `hop`, with a bounded connect.
pub fn connect(live: &Live, hop: Hop) -> TcpStream {
    TcpStream::connect_timeout(&live.addr(hop), Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("connect to {hop:?}: {e}"))
}
