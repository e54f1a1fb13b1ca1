//! Export throughput and memory: 100,000 synthetic journeys (shaped like a real run's: DNS,
//! connect and TLS for new connections, CDN hits and misses, the load balancer's pick, queue,
//! handler and two SQL queries, captured headers) are written to a spool file, then exported
//! from it in every format, the way `hopscope run --export` does. For each export it reports
//! MB/s (10^6 bytes of output per second), requests per second, and the peak resident memory
//! while exporting (Linux: `VmHWM` from /proc/self/status, reset before each step through
//! /proc/self/clear_refs; elsewhere n/a). It also times reading the JSON trace back and
//! preparing it for replay.
//!
//! First it measures the spool itself: CPU per request and bytes per request of the compact
//! spool against the JSON-lines spool used before, with and without captured headers.
//!
//! Run with `cargo bench --bench export` (optionally `-- N` for another number of requests).

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

use hopscope::trace::export::{ComponentInfo, TopologyInfo, export_spool};
use hopscope::trace::import::import_file;
use hopscope::trace::replay::Replay;
use hopscope::trace::spool::{self, Spool, SpoolLimit};
use hopscope::trace::{
    Attr, CacheStatus, Component, Exchange, Exporter, Format, Journey, Marker, Outcome, Phase,
    RunInfo, RunMeta, Span, TraceId,
};

/// A small deterministic generator (xorshift64*), so every run measures the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn span(id: TraceId, component: Component, phase: Phase, start: u64, len: u64) -> Span {
    Span {
        id,
        component,
        phase,
        start_micros: start,
        end_micros: start + len,
        attrs: Vec::new(),
    }
}

fn attr(key: &'static str, value: String) -> Attr {
    Attr {
        key: Cow::Borrowed(key),
        value,
    }
}

/// One synthetic request starting at `start`.
fn journey(rng: &mut Rng, n: u64, start: u64) -> Journey {
    let id = TraceId(u128::from(rng.next()) << 64 | u128::from(n + 1));
    let reused = rng.below(10) < 6;
    let hit = rng.below(10) < 3;
    let server = 1 + rng.below(3) as u16;
    let resource = rng.below(50) + 1;
    let url = format!("https://api.example.test:8443/restaurants/{resource}");
    let mut spans = Vec::new();
    let mut arrivals = Vec::new();
    let mut t = start;
    if !reused {
        let mut dns = span(id, Component::Client, Phase::Dns, t, 300 + rng.below(500));
        dns.attrs.push(attr("name", "api.example.test".into()));
        dns.attrs.push(attr("answer", "127.0.0.1".into()));
        t = dns.end_micros;
        spans.push(dns);
        let mut connect = span(id, Component::Client, Phase::Connect, t, 2_000);
        connect.attrs.push(attr("address", "127.0.0.1:8443".into()));
        spans.push(span(id, Component::Client, Phase::Ssl, t + 800, 1_200));
        t = connect.end_micros;
        spans.push(connect);
    }
    spans.push(span(id, Component::Client, Phase::Send, t, 60));
    t += 60;
    arrivals.push((Component::Cdn, t));
    let mut cache = span(id, Component::Cdn, Phase::Cache, t + 20, 30);
    let status = if hit {
        CacheStatus::Hit
    } else {
        CacheStatus::Miss
    };
    cache.attrs.push(attr("result", status.as_str().into()));
    cache
        .attrs
        .push(attr("url", format!("/restaurants/{resource}")));
    spans.push(cache);
    let wait_start = t;
    let mut served_by = None;
    if hit {
        t += 200;
    } else {
        let forward_start = t + 60;
        arrivals.push((Component::Lb, forward_start + 100));
        let mut pick = span(id, Component::Lb, Phase::Pick, forward_start + 110, 20);
        pick.attrs.push(attr("server", format!("server-{server}")));
        pick.attrs.push(attr("policy", "round_robin".into()));
        pick.attrs.push(attr(
            "reason",
            format!("server-{server}: next in turn (round robin over 3 healthy servers)"),
        ));
        spans.push(pick);
        let at = forward_start + 200;
        arrivals.push((Component::Server(server), at));
        spans.push(span(id, Component::Server(server), Phase::Queue, at, 15));
        let handler_len = 1_500 + rng.below(4_000);
        let mut handler = span(
            id,
            Component::Server(server),
            Phase::Handler,
            at + 15,
            handler_len,
        );
        handler
            .attrs
            .push(attr("route", "GET /restaurants/:id".into()));
        spans.push(handler);
        for (k, sql) in [
            "SELECT * FROM restaurants WHERE id = ?",
            "SELECT COUNT(*) AS total FROM orders WHERE restaurant_id = ?",
        ]
        .iter()
        .enumerate()
        {
            let mut q = span(id, Component::Db, Phase::Db, at + 100 + k as u64 * 600, 500);
            q.attrs.push(attr("sql", (*sql).to_string()));
            q.attrs.push(attr("params", format!("[{resource}]")));
            spans.push(q);
        }
        let back = at + 15 + handler_len + 100;
        spans.push(span(
            id,
            Component::Lb,
            Phase::Forward,
            forward_start + 180,
            back - forward_start - 180,
        ));
        spans.push(span(
            id,
            Component::Cdn,
            Phase::Forward,
            forward_start,
            back + 100 - forward_start,
        ));
        t = back + 200;
        served_by = Some(format!("server-{server}"));
    }
    spans.push(span(
        id,
        Component::Client,
        Phase::Wait,
        wait_start,
        t - wait_start,
    ));
    spans.push(span(id, Component::Client, Phase::Receive, t, 150));
    t += 150;
    spans.sort_by_key(|s| (s.start_micros, s.component.lane(), s.phase));
    let outcome = match rng.below(100) {
        0 => Outcome::Status(502),
        1 => Outcome::Status(404),
        _ => Outcome::Status(200),
    };
    let body = format!(
        "{{\"id\":{resource},\"name\":\"Restaurant {resource}\",\"cuisine\":\"thai\",\"rating\":4.5}}"
    );
    Journey {
        id,
        profile: "browser".into(),
        client: format!("browser-{}", rng.below(20) + 1),
        method: "GET".into(),
        url,
        external: false,
        start_micros: start,
        end_micros: Some(t),
        outcome: Some(outcome),
        cache: Some(status),
        served_by,
        bytes: body.len() as u64,
        reused,
        spans,
        arrivals,
        exchange: Some(Box::new(Exchange {
            id,
            request_headers: vec![
                ("host".into(), "api.example.test:8443".into()),
                ("user-agent".into(), "Mozilla/5.0 (hopscope browser)".into()),
                ("accept".into(), "application/json".into()),
                ("traceparent".into(), format!("00-{id}-00f067aa0ba902b7-01")),
                ("x-client-id".into(), "browser-3".into()),
            ],
            request_body: String::new(),
            response_headers: vec![
                ("content-type".into(), "application/json".into()),
                ("etag".into(), "\"6f420381b70c1c1f\"".into()),
                ("cache-control".into(), "public, max-age=10".into()),
                ("x-cache".into(), status.as_str().into()),
                ("x-served-by".into(), format!("server-{server}")),
                ("content-length".into(), body.len().to_string()),
            ],
            response_body: body,
        })),
    }
}

/// The same `requests` synthetic journeys every time.
fn journeys(requests: u64) -> impl Iterator<Item = Journey> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut start = 0;
    (0..requests).map(move |n| {
        start += 50 + rng.below(150);
        journey(&mut rng, n, start)
    })
}

/// CPU time this thread has used, in seconds (Linux: /proc/thread-self/schedstat, in ns).
fn thread_cpu_secs() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Writes the journeys one way and says what it cost: (CPU seconds or wall seconds, bytes).
fn timed_write(
    requests: u64,
    headers: bool,
    mut write: impl FnMut(&Journey),
    finish: impl FnOnce() -> u64,
) -> (f64, u64) {
    let cpu = thread_cpu_secs();
    let wall = Instant::now();
    for mut j in journeys(requests) {
        if !headers {
            j.exchange = None;
        }
        write(&j);
    }
    let bytes = finish();
    let secs = match (cpu, thread_cpu_secs()) {
        (Some(a), Some(b)) => b - a,
        _ => wall.elapsed().as_secs_f64(),
    };
    (secs, bytes)
}

/// The spool's write cost and size per request: the JSON-lines spool hopscope used before
/// (serde_json, one journey a line, through a 256 KiB buffer) against the compact spool,
/// with and without captured headers, alternating in three rounds; the time to make the
/// journeys (measured alone in each round) is taken off.
fn spool_write_cost(dir: &Path, requests: u64) {
    use std::io::Write;
    let json_path = dir.join("before.jsonl");
    let compact_path = dir.join("after.spool");
    let mut rows: Vec<(&str, bool, Vec<f64>, u64)> = vec![
        ("JSON lines (before)", true, vec![], 0),
        ("compact (now)", true, vec![], 0),
        ("JSON lines (before)", false, vec![], 0),
        ("compact (now)", false, vec![], 0),
    ];
    for _round in 0..3 {
        let (make, _) = timed_write(requests, true, |_| {}, || 0);
        for (name, headers, times, size) in &mut rows {
            let (secs, bytes) = if name.starts_with("JSON") {
                let Ok(file) = std::fs::File::create(&json_path) else {
                    return;
                };
                let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
                let (secs, _) = timed_write(
                    requests,
                    *headers,
                    |j| {
                        let _ = serde_json::to_writer(&mut out, j);
                        let _ = out.write_all(b"\n");
                    },
                    || 0,
                );
                let _ = out.flush();
                (secs, std::fs::metadata(&json_path).map_or(0, |m| m.len()))
            } else {
                let Ok(mut spool) = Spool::create(&compact_path, SpoolLimit::unlimited()) else {
                    return;
                };
                let (secs, _) = timed_write(
                    requests,
                    *headers,
                    |j| {
                        spool.write(j);
                    },
                    || 0,
                );
                spool.flush();
                (
                    secs,
                    std::fs::metadata(&compact_path).map_or(0, |m| m.len()),
                )
            };
            times.push((secs - make).max(0.0) * 1e6 / requests as f64);
            *size = bytes;
        }
    }
    println!("spool writing, {requests} requests, three rounds (median, spread):");
    for (name, headers, mut times, size) in rows {
        times.sort_by(f64::total_cmp);
        println!(
            "  {name:<20} {:<16} {:>7.2} µs CPU per request ({:.2}–{:.2}), {:>7.1} bytes per request",
            if headers {
                "headers captured"
            } else {
                "no headers"
            },
            times[1],
            times[0],
            times[2],
            size as f64 / requests as f64
        );
    }
    let _ = std::fs::remove_file(json_path);
    let _ = std::fs::remove_file(compact_path);
}

/// Peak resident memory since the last reset, in MiB (Linux only).
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets the peak to the current resident size (Linux only).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn show(mib: Option<f64>) -> String {
    mib.map_or_else(|| "n/a".to_string(), |m| format!("{m:.1} MiB"))
}

fn main() {
    let requests: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("hopscope-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot make {}: {e}", dir.display());
        std::process::exit(1);
    }
    spool_write_cost(&dir, requests);
    let spool_path = dir.join("journeys.spool");
    let made = Instant::now();
    let mut spool = match Spool::create(&spool_path, SpoolLimit::unlimited()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot create the spool: {e}");
            std::process::exit(1);
        }
    };
    let mut last_end = 0;
    for j in journeys(requests) {
        last_end = last_end.max(j.end_micros.unwrap_or(j.start_micros));
        spool.write(&j);
    }
    spool.flush();
    if let Some(stop) = spool.stopped() {
        eprintln!("{}", stop.message);
        std::process::exit(1);
    }
    drop(spool);
    let spool_bytes = std::fs::metadata(&spool_path).map_or(0, |m| m.len());
    println!(
        "spool: {requests} synthetic requests, {:.1} MB, made in {:.2} s",
        spool_bytes as f64 / 1e6,
        made.elapsed().as_secs_f64()
    );
    let meta = RunMeta {
        info: RunInfo {
            scenario: "bench-synthetic".into(),
            seed: 1,
            wall_start_micros: 1_700_000_000_000_000,
            duration_micros: last_end,
            topology: TopologyInfo {
                components: [
                    "client", "dns", "cdn", "lb", "server-1", "server-2", "server-3", "db",
                ]
                .iter()
                .map(|n| ComponentInfo {
                    name: (*n).into(),
                    address: None,
                })
                .collect(),
                edge: "cdn".into(),
                edge_address: "127.0.0.1:8080".into(),
                edge_tls: Some("127.0.0.1:8443".into()),
                zone: "example.test".into(),
            },
            generator: "hopscope bench".into(),
            ..RunInfo::default()
        },
        markers: vec![Marker {
            at_micros: last_end / 2,
            component: Some(Component::Server(2)),
            text: "kill server-2".into(),
        }],
        ..RunMeta::default()
    };
    reset_peak();
    println!("baseline resident memory: {}", show(peak_mib()));
    println!(
        "{:<9} {:>10} {:>9} {:>10} {:>12} {:>14}",
        "format", "output MB", "seconds", "MB/s", "requests/s", "peak memory"
    );
    for (format, name) in [
        (Format::Json, "trace.json"),
        (Format::Har, "trace.har"),
        (Format::Perfetto, "trace.perfetto.json"),
        (Format::Csv, "metrics.csv"),
    ] {
        let out = dir.join(name);
        reset_peak();
        let began = Instant::now();
        let stats = match export_spool(&out, format, &meta, &spool_path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{format} export failed: {e}");
                std::process::exit(1);
            }
        };
        let secs = began.elapsed().as_secs_f64();
        println!(
            "{:<9} {:>10.1} {:>9.2} {:>10.1} {:>12.0} {:>14}",
            format.name(),
            stats.bytes as f64 / 1e6,
            secs,
            stats.bytes as f64 / 1e6 / secs,
            stats.requests as f64 / secs,
            show(peak_mib())
        );
    }
    cpu_only(&meta, &spool_path, requests);
    read_back(&dir.join("trace.json"), requests);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same exports into a sink (no file, no fsync): what the formatting itself costs,
/// reading the spool included.
fn cpu_only(meta: &RunMeta, spool_path: &Path, requests: u64) {
    let began = Instant::now();
    let mut read = 0u64;
    if let Ok(journeys) = spool::read(spool_path) {
        read = journeys.filter(Result::is_ok).count() as u64;
    }
    let read_secs = began.elapsed().as_secs_f64();
    println!("reading the spool alone: {read} requests in {read_secs:.2} s");
    for format in [Format::Json, Format::Har, Format::Perfetto] {
        let began = Instant::now();
        let Ok(journeys) = spool::read(spool_path) else {
            return;
        };
        let Ok(mut exporter) = Exporter::new(std::io::sink(), format, meta) else {
            return;
        };
        for j in journeys.flatten() {
            if exporter.journey(&j).is_err() {
                return;
            }
        }
        let Ok(stats) = exporter.finish() else { return };
        let secs = began.elapsed().as_secs_f64();
        println!(
            "{:<9} into a sink: {:.2} s, {:.1} MB/s, {:.0} requests/s",
            format.name(),
            secs,
            stats.bytes as f64 / 1e6 / secs,
            requests as f64 / secs
        );
    }
}

/// Times reading the JSON trace back and preparing and scrubbing its replay.
fn read_back(path: &Path, requests: u64) {
    reset_peak();
    let began = Instant::now();
    let trace = match import_file(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("import failed: {e}");
            std::process::exit(1);
        }
    };
    let read_secs = began.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
    let replay = Replay::new(trace);
    let ready_secs = began.elapsed().as_secs_f64();
    let mid = replay.duration_micros() / 2;
    let scrub = Instant::now();
    let snap = replay.snapshot_at(mid);
    let first_ms = scrub.elapsed().as_secs_f64() * 1000.0;
    let step = Instant::now();
    let _ = replay.snapshot_at(mid + 33_000);
    let forward_ms = step.elapsed().as_secs_f64() * 1000.0;
    println!(
        "import  {:.1} MB in {:.2} s ({:.1} MB/s, {:.0} requests/s); replay ready after {:.2} s; \
         peak memory {}",
        bytes as f64 / 1e6,
        read_secs,
        bytes as f64 / 1e6 / read_secs,
        requests as f64 / read_secs,
        ready_secs,
        show(peak_mib())
    );
    println!(
        "replay  snapshot_at(middle) {first_ms:.1} ms ({} in flight, {} ended), next frame forward {forward_ms:.1} ms",
        snap.in_flight.len(),
        snap.totals.ended
    );
}
