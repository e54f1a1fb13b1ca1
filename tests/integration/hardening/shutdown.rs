//! Clean shutdown and start-up errors: a stopped engine frees every port at once; `serve`
//! stops on SIGINT and SIGTERM with exit code 130 or 143 and frees its ports; a taken port at
//! start-up is a clear message naming it with exit code 1; a scenario asking to listen on
//! anything but loopback is rejected with its line and column.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hopscope::engine::{Addresses, Engine, EngineOptions};
use hopscope::scenario::load_str;

use super::harness::{self, Hop, Live};
use super::{GET, hardened, live};

fn tcp_addresses(a: &Addresses) -> Vec<SocketAddr> {
    let mut all = vec![a.lb.clone()];
    all.extend(a.cdn.clone());
    all.extend(a.edge_tls.clone());
    all.extend(a.servers.clone());
    all.iter().map(|t| t.parse().expect("an address")).collect()
}

/// Binds every port again, as a new hopscope on the same ports would.
fn ports_are_free(tcp: &[SocketAddr], dns: SocketAddr) {
    for addr in tcp {
        TcpListener::bind(addr).unwrap_or_else(|e| panic!("{addr} is still taken: {e}"));
    }
    UdpSocket::bind(dns).unwrap_or_else(|e| panic!("DNS {dns} is still taken: {e}"));
}

#[test]
fn a_stopped_engine_frees_every_port_at_once() {
    let mut s = hardened();
    s.tls.enabled = true;
    let live: Live = live(s);
    // Open connections everywhere (the pools between hops included), one left idle. With
    // TLS on, plain HTTP to the CDN is redirected.
    for (hop, status) in [(Hop::Cdn, 308), (Hop::Lb, 200), (Hop::Server, 200)] {
        let reply = live.http_to_close(hop, GET).expect("answered");
        assert_eq!(harness::statuses(&reply), Ok(vec![status]), "{hop:?}");
    }
    let idle = std::net::TcpStream::connect(live.addr(Hop::Cdn)).expect("connect");
    let a = live.engine().addresses();
    let (tcp, dns) = (tcp_addresses(&a), a.dns.parse().expect("dns"));
    let started = Instant::now();
    drop(live);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopping took {:?}",
        started.elapsed()
    );
    ports_are_free(&tcp, dns);
    drop(idle);
}

fn hopscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hopscope"))
}

fn scenario_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hopscope-harden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

const SERVE_SCENARIO: &str = "name = \"serve\"\n[servers]\ncount = 2\n[traffic]\nrate = 50.0\n[dns]\nlatency = \"0ms\"\n[balancer]\nhealth_interval = \"100ms\"\n";

/// Starts `serve` and reads its address line.
fn serve(args: &[&str]) -> (Child, Addresses) {
    let file = scenario_file("serve.toml", SERVE_SCENARIO);
    let mut child = hopscope()
        .arg("serve")
        .arg(&file)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("an address line").expect("readable");
    let value: serde_json::Value = serde_json::from_str(&first).expect("JSON");
    let get = |k: &str| value[k].as_str().map(str::to_string);
    let addresses = Addresses {
        dns: get("dns").expect("dns"),
        edge: get("edge").expect("edge"),
        edge_tls: get("edge_tls"),
        ca_cert: get("ca_cert"),
        cdn: get("cdn"),
        lb: get("lb").expect("lb"),
        servers: value["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        zone: get("zone").expect("zone"),
        tokens: hopscope::engine::Tokens {
            allowed: String::new(),
            forbidden: String::new(),
        },
    };
    // Keep draining its event lines so that it never blocks on a full pipe.
    let _ = std::thread::Builder::new()
        .name("serve-stdout".into())
        .spawn(move || for _ in lines {});
    (child, addresses)
}

/// Sends `signal` to `child` and waits (bounded) for it to exit; returns its exit code.
#[cfg(unix)]
fn signal_and_wait(child: &mut Child, signal: &str) -> Option<i32> {
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(
                started.elapsed() < Duration::from_secs(6),
                "took {:?} to stop",
                started.elapsed()
            );
            return status.code();
        }
        if started.elapsed() > Duration::from_secs(8) {
            let _ = child.kill();
            panic!("serve did not stop within 8 s of {signal}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn serve_stops_on_sigint_and_sigterm_with_exit_130_or_143_and_frees_its_ports() {
    for (signal, extra, busy) in [
        ("-INT", &["--traffic"][..], true),
        ("-TERM", &[][..], true),
        // At once after the address line: a script that starts and stops it right away.
        ("-INT", &[][..], false),
        ("-TERM", &[][..], false),
    ] {
        let (mut child, a) = serve(extra);
        let edge: SocketAddr = a.edge.parse().expect("edge");
        if busy {
            // A request through it first, so connections are open when the signal comes.
            let stream = std::net::TcpStream::connect(edge).expect("connect");
            drop(stream);
            let reply = plain_get(edge);
            assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        }
        let code = signal_and_wait(&mut child, signal);
        let expected = if signal == "-INT" { 130 } else { 143 };
        assert_eq!(
            code,
            Some(expected),
            "serve exits 128 + the signal on {signal}"
        );
        ports_are_free(&tcp_addresses(&a), a.dns.parse().expect("dns"));
    }
}

fn plain_get(addr: SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(GET).expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// A port base below the ephemeral range where the next ten ports are free for TCP and UDP.
fn free_port_base() -> u16 {
    let seed = u64::from(std::process::id()) ^ 0x9e37_79b9;
    for i in 0..200u64 {
        let base = 20_000 + ((seed.wrapping_mul(31).wrapping_add(i * 97)) % 9_000) as u16;
        let free = (0..10).all(|k| {
            TcpListener::bind(("127.0.0.1", base + k)).is_ok()
                && UdpSocket::bind(("127.0.0.1", base + k)).is_ok()
        });
        if free {
            return base;
        }
    }
    panic!("no free port range found");
}

#[test]
fn a_taken_port_is_a_clear_error_with_exit_code_1() {
    // The load balancer's TCP port (base + 2), then the DNS stub's UDP port (base).
    for udp in [false, true] {
        let base = free_port_base();
        let (port, _tcp_guard, _udp_guard) = if udp {
            let g = UdpSocket::bind(("127.0.0.1", base)).expect("take the DNS port");
            (base, None, Some(g))
        } else {
            let g = TcpListener::bind(("127.0.0.1", base + 2)).expect("take the LB port");
            (base + 2, Some(g), None)
        };
        let file = scenario_file("taken.toml", SERVE_SCENARIO);
        let child = hopscope()
            .arg("serve")
            .arg(&file)
            .args(["--port-base", &base.to_string(), "--duration", "5s"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs");
        let pid = child.id();
        let out = child.wait_with_output().expect("exits");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "exit code for a taken port: {err}"
        );
        assert!(
            err.contains(&port.to_string()),
            "the message names port {port}: {err}"
        );
        assert!(
            err.contains("another program") && !err.contains("panicked"),
            "a clear message, not a panic: {err}"
        );
        assert!(out.stdout.is_empty(), "no address line when not listening");
        // Nothing is left behind: no working directory, no database.
        let prefix = format!("hopscope-{pid}-");
        let left: Vec<String> = std::fs::read_dir(std::env::temp_dir())
            .expect("temp dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&prefix))
            .collect();
        assert!(left.is_empty(), "left in the temp directory: {left:?}");
    }
}

#[test]
fn an_engine_on_a_taken_port_reports_it_and_leaves_nothing_behind() {
    let base = free_port_base();
    let taken = TcpListener::bind(("127.0.0.1", base + 1)).expect("take the CDN port");
    let err = Engine::start(
        hardened(),
        EngineOptions {
            port_base: Some(base),
            ..EngineOptions::default()
        },
    )
    .expect_err("the CDN's port is taken");
    assert!(err.to_string().contains(&(base + 1).to_string()), "{err}");
    drop(taken);
    // What had started (the servers and the LB) was stopped: the same base works now.
    let engine = Engine::start(
        hardened(),
        EngineOptions {
            port_base: Some(base),
            ..EngineOptions::default()
        },
    )
    .expect("starts on the freed ports");
    drop(engine);
}

#[test]
fn port_base_0_lets_the_system_choose_and_a_base_too_high_is_refused() {
    let engine = Engine::start(
        hardened(),
        EngineOptions {
            port_base: Some(0),
            ..EngineOptions::default()
        },
    )
    .expect("starts on ports the system chose");
    let a = engine.addresses();
    let port = |addr: &str| {
        addr.parse::<std::net::SocketAddr>()
            .expect("an address")
            .port()
    };
    // Without the fix, base 0 meant DNS on port 0 (chosen), the CDN on 1, the LB on 2.
    for p in [port(&a.lb), port(a.cdn.as_deref().expect("a CDN"))] {
        assert!(p >= 1024, "a port the system chose, not a fixed one: {p}");
    }
    drop(engine);
    let err = Engine::start(
        hardened(),
        EngineOptions {
            port_base: Some(65_500),
            ..EngineOptions::default()
        },
    )
    .expect_err("no room below 65535")
    .to_string();
    assert!(
        err.contains("--port-base 65500") && err.contains("65535") && err.contains("below 65467"),
        "{err}"
    );
}

#[test]
fn a_scenario_asking_for_a_non_loopback_address_is_rejected_with_line_and_column() {
    for (bind, accepted) in [
        ("127.0.0.1", true),
        ("0.0.0.0", false),
        ("192.168.1.10", false),
        ("::", false),
        ("localhost", true),
        ("example.com", false),
        ("127.0.0.2", false),
        ("::1", false),
    ] {
        let text = format!("name = \"x\"\n\n[network]\nbind = \"{bind}\"\n");
        match load_str("bind.toml", &text) {
            Ok(_) => assert!(accepted, "{bind} accepted"),
            Err(e) => {
                assert!(!accepted, "{bind} rejected: {e}");
                let p = &e.problems()[0];
                assert_eq!(
                    (p.line, p.column, p.field.as_str()),
                    (4, 1, "network.bind"),
                    "{e}"
                );
                assert!(e.to_string().contains("loopback"), "{e}");
            }
        }
    }
    let bad = scenario_file("exposed.toml", "[network]\nbind = \"0.0.0.0\"\n");
    let out = hopscope()
        .args(["validate", bad.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exposed.toml:2:1"));
    let _ = harness::ANSWER_BOUND;
}

/// Both servers hang from the start, and nothing gives up on them for a minute: no health
/// checks in the run's time, a 60 s upstream timeout, a 60 s client timeout.
const HUNG: &str = "name = \"hung\"\n[servers]\ncount = 2\n[traffic]\nrate = 200.0\ntimeout = \"60s\"\n[balancer]\nupstream_timeout = \"60s\"\nhealth_interval = \"60s\"\n[dns]\nlatency = \"0ms\"\n[[events]]\nat = \"0s\"\ndo = \"hang server-1\"\n[[events]]\nat = \"0s\"\ndo = \"hang server-2\"\n";

#[test]
fn a_stop_with_hung_servers_ends_within_its_grace_and_cancels_what_is_open() {
    let mut engine = Engine::start(
        load_str("hung.toml", HUNG).expect("valid"),
        EngineOptions {
            traffic: true,
            play_events: true,
            ..EngineOptions::default()
        },
    )
    .expect("starts");
    let waiting = Instant::now();
    while engine.requests_in_flight() < 5 {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "no requests held by the hung servers"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Every request open now is held by a hung server for a minute: none can finish.
    let open = engine.requests_in_flight();
    let stopping = Instant::now();
    let last = engine.stop();
    let took = stopping.elapsed();
    assert!(
        took < hopscope::engine::STOP_GRACE + Duration::from_secs(1),
        "the stop took {took:?} with a 60 s timeout"
    );
    let count = |o: hopscope::trace::Outcome| {
        last.source_outcomes
            .iter()
            .find(|(x, _)| *x == o)
            .map_or(0, |(_, n)| *n)
    };
    let cancelled = count(hopscope::trace::Outcome::Cancelled);
    assert!(
        cancelled >= open,
        "{open} requests were held when the run stopped, {cancelled} ended as cancelled"
    );
    assert_eq!(
        count(hopscope::trace::Outcome::Timeout),
        0,
        "none waited out its timeout"
    );
}

/// A temporary folder of one's own for a child process, so that what it leaves is seen.
#[cfg(unix)]
fn own_temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hopscope-signals-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[cfg(unix)]
fn entries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(unix)]
#[test]
fn run_stops_on_a_signal_with_hung_servers_writing_its_summary_and_export() {
    let file = scenario_file("hung.toml", HUNG);
    for (signal, code) in [("-INT", 130), ("-TERM", 143), ("-HUP", 129)] {
        let tmp = own_temp_dir(&format!("run{code}"));
        let out_dir = own_temp_dir(&format!("run{code}-out"));
        let (summary, export) = (out_dir.join("summary.json"), out_dir.join("run.json"));
        let mut child = hopscope()
            .arg("run")
            .arg(&file)
            .args(["--duration", "10m", "--summary-json"])
            .arg(&summary)
            .arg("--export")
            .arg(&export)
            .env("TMPDIR", &tmp)
            .env_remove("HOPSCOPE_SPOOL_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run starts");
        // Running once its working folder is there (made after the signal handlers).
        let waiting = Instant::now();
        while entries(&tmp).is_empty() {
            assert!(
                waiting.elapsed() < Duration::from_secs(60),
                "run never started"
            );
            assert!(child.try_wait().expect("wait").is_none(), "run ended early");
            std::thread::sleep(Duration::from_millis(10));
        }
        let started = Instant::now();
        let sent = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let out = child.wait_with_output().expect("exits");
        let took = started.elapsed();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(code),
            "exit code on {signal}: {err}"
        );
        assert!(
            took < Duration::from_secs(3),
            "took {took:?} after {signal}: {err}"
        );
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&summary).expect("the summary is written"))
                .expect("JSON");
        assert_eq!(written["scenario"], "hung", "{written}");
        let trace: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&export).expect("the export is written"))
                .expect("JSON");
        assert!(trace["requests"].is_array(), "a whole trace");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("exported"),
            "the export is reported"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(
            entries(&tmp),
            Vec::<String>::new(),
            "left in the temp folder"
        );
        let _ = std::fs::remove_dir_all(&tmp);
        let _ = std::fs::remove_dir_all(&out_dir);
    }
}

#[cfg(unix)]
#[test]
fn serve_stops_on_a_signal_with_hung_servers_within_its_grace_and_a_second_at_once() {
    let file = scenario_file("hung-serve.toml", HUNG);
    for (signals, code) in [
        (&["-INT"][..], 130),
        (&["-TERM"][..], 143),
        (&["-TERM", "-INT"][..], 143),
    ] {
        let tmp = own_temp_dir(&format!("serve{code}-{}", signals.len()));
        let mut child = hopscope()
            .arg("serve")
            .arg(&file)
            // The duration bounds the wait for its lines should the test go wrong.
            .args(["--traffic", "--duration", "90s"])
            .env("TMPDIR", &tmp)
            .env_remove("HOPSCOPE_SPOOL_DIR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        lines.next().expect("an address line").expect("readable");
        // Both hangs have happened once their markers are printed.
        let mut hung = 0;
        let mut seen = Vec::new();
        while hung < 2 {
            let l = lines
                .next()
                .expect("event lines until both servers hang")
                .expect("readable");
            if l.contains("\"text\":\"hang server-") {
                hung += 1;
            }
            seen.push(l);
        }
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut err = String::new();
        let started = Instant::now();
        for (i, signal) in signals.iter().enumerate() {
            if i > 0 {
                // The second signal once the first is being acted on.
                for l in stderr.by_ref().map_while(Result::ok) {
                    err.push_str(&l);
                    err.push('\n');
                    if l.contains("received, stopping") {
                        break;
                    }
                }
            }
            let sent = Command::new("kill")
                .args([*signal, &child.id().to_string()])
                .status()
                .expect("kill runs");
            assert!(sent.success());
        }
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        let status = child.wait().expect("exits");
        let took = started.elapsed();
        for l in stderr.map_while(Result::ok) {
            err.push_str(&l);
            err.push('\n');
        }
        assert_eq!(status.code(), Some(code), "exit code on {signals:?}: {err}");
        assert!(
            took < Duration::from_secs(3),
            "took {took:?} after {signals:?}: {err}"
        );
        if signals.len() == 1 {
            assert!(
                rest.iter().any(|l| l.contains("\"stopped\"")),
                "the last line says it stopped: {rest:?}"
            );
        } else {
            assert!(err.contains("exiting at once"), "{err}");
        }
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(
            entries(&tmp),
            Vec::<String>::new(),
            "left in the temp folder after {signals:?}: {err}"
        );
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
