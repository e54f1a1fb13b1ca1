//! `hopscope soak`: runs a scenario's traffic for a long time and samples the process's own
//! footprint over time: resident memory, open descriptors and threads (from `/proc/self` on
//! Linux; "n/a" elsewhere), with the recorder's bounded state and the spool on disk beside
//! them. Memory and descriptors should stay flat once the recent-journey buffer is full;
//! the summary compares the run's halves so a leak shows as growth.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use super::signals::{self, Stop};
use super::{Failure, SoakArgs, load_scenario};
use crate::engine::Engine;
use crate::scenario::{Scenario, TrafficMode};
use crate::trace::Snapshot;

/// One sample of the process and the run.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    pub elapsed_secs: f64,
    /// Requests ended so far (counted at the source).
    pub requests: u64,
    /// Requests ended per second since the previous sample.
    pub rate: f64,
    /// Resident set size in KiB (`None` where it cannot be read).
    pub rss_kib: Option<u64>,
    /// Open file descriptors (sockets included).
    pub fds: Option<u64>,
    pub threads: Option<u64>,
    /// Requests the clients have open now.
    pub open_requests: u64,
    /// Journeys the recorder holds: in flight and recent.
    pub in_flight: usize,
    pub recent: usize,
    /// Journeys written to the spool, and its size on disk.
    pub spooled: u64,
    pub spool_bytes: u64,
}

/// Resident memory of this process in KiB (Linux: `VmRSS` in `/proc/self/status`).
pub fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn count_entries(dir: &str) -> Option<u64> {
    std::fs::read_dir(dir).ok().map(|d| d.count() as u64)
}

/// Open file descriptors of this process (Linux: entries of `/proc/self/fd`).
pub fn open_fds() -> Option<u64> {
    // Reading the directory opens one descriptor itself.
    count_entries("/proc/self/fd").map(|n| n.saturating_sub(1))
}

/// Threads of this process (Linux: entries of `/proc/self/task`).
pub fn threads() -> Option<u64> {
    count_entries("/proc/self/task")
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn show_mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".into(), |n| format!("{:.1}", n as f64 / 1024.0))
}

fn show(v: Option<u64>) -> String {
    v.map_or_else(|| "n/a".into(), |n| n.to_string())
}

/// Runs the soak and prints its samples.
pub fn soak(args: SoakArgs) -> Result<(), Failure> {
    let scenario = soak_scenario(&args)?;
    let duration = args.duration.get();
    let every = args.every.get().max(Duration::from_millis(100));
    let name = scenario.name.clone();
    let rate = scenario.traffic.rate;
    let stop = Stop::watch();
    let mut engine = super::start_playing(scenario, false).map_err(Failure::runtime)?;
    print_heading(args.json, &name, rate, duration);
    let started = Instant::now();
    let mut samples: Vec<Sample> = Vec::new();
    let mut next = every;
    while started.elapsed() < duration && !stop.requested() {
        std::thread::sleep(
            next.saturating_sub(started.elapsed())
                .min(duration.saturating_sub(started.elapsed()))
                .min(Duration::from_millis(100)),
        );
        if started.elapsed() < next && started.elapsed() < duration {
            continue;
        }
        next += every;
        let sample = take_sample(&engine, started, samples.last());
        print_sample(args.json, &sample);
        samples.push(sample);
    }
    signals::announce_grace(&engine);
    let last = engine.stop();
    let summary = summary(&last, &samples, started);
    if args.json {
        println!("{}", json!({ "summary": summary }));
    } else {
        println!("summary: {summary}");
    }
    stop.failure().map_or(Ok(()), Err)
}

/// The scenario with its traffic on and endless, at `--rate` (open loop) when given.
fn soak_scenario(args: &SoakArgs) -> Result<Scenario, Failure> {
    let mut scenario = load_scenario(&args.common)?;
    scenario.traffic.enabled = true;
    scenario.traffic.requests = 0;
    if let Some(rate) = args.rate {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(Failure::input("--rate must be a positive number"));
        }
        scenario.traffic.mode = TrafficMode::Open;
        scenario.traffic.rate = rate;
        scenario.traffic.ramp = Default::default();
    }
    Ok(scenario)
}

/// What is soaked, and the table's heading (or one JSON line).
fn print_heading(json: bool, name: &str, rate: f64, duration: Duration) {
    if json {
        println!(
            "{}",
            json!({"soak": name, "rate": rate, "duration_secs": duration.as_secs_f64()})
        );
        return;
    }
    println!(
        "soak {name}: {rate} requests/s for {}",
        crate::scenario::Dur(duration)
    );
    println!(
        "{:>9} {:>10} {:>8} {:>9} {:>5} {:>7} {:>9} {:>7} {:>10} {:>9}",
        "elapsed_s",
        "requests",
        "req/s",
        "rss_mib",
        "fds",
        "threads",
        "in_flight",
        "recent",
        "spooled",
        "spool_mib"
    );
}

/// The process and the run now; the rate is since the `previous` sample.
fn take_sample(engine: &Engine, started: Instant, previous: Option<&Sample>) -> Sample {
    let snap = engine.snapshot();
    let elapsed_secs = started.elapsed().as_secs_f64();
    let requests: u64 = snap.source_outcomes.iter().map(|(_, n)| n).sum();
    let (prev_requests, prev_secs) = previous.map_or((0, 0.0), |s| (s.requests, s.elapsed_secs));
    Sample {
        elapsed_secs,
        requests,
        rate: (requests - prev_requests) as f64 / (elapsed_secs - prev_secs).max(1e-3),
        rss_kib: rss_kib(),
        fds: open_fds(),
        threads: threads(),
        open_requests: engine.requests_in_flight(),
        in_flight: snap.in_flight.len(),
        recent: snap.recent.len(),
        spooled: snap.spooled,
        spool_bytes: file_size(engine.spool_path()),
    }
}

/// One row of the table (or one JSON line).
fn print_sample(json: bool, sample: &Sample) {
    if json {
        println!("{}", serde_json::to_string(sample).unwrap_or_default());
        return;
    }
    println!(
        "{:>9.1} {:>10} {:>8.0} {:>9} {:>5} {:>7} {:>9} {:>7} {:>10} {:>9.1}",
        sample.elapsed_secs,
        sample.requests,
        sample.rate,
        show_mib(sample.rss_kib),
        show(sample.fds),
        show(sample.threads),
        sample.in_flight,
        sample.recent,
        sample.spooled,
        sample.spool_bytes as f64 / (1024.0 * 1024.0),
    );
}

/// The run's totals, with the halves' peaks of memory and descriptors side by side so
/// that a leak shows as growth.
fn summary(last: &Snapshot, samples: &[Sample], started: Instant) -> serde_json::Value {
    let ended: u64 = last.source_outcomes.iter().map(|(_, n)| n).sum();
    let half = samples.len() / 2;
    let max_of = |part: &[Sample], f: fn(&Sample) -> Option<u64>| part.iter().filter_map(f).max();
    let (first, second) = samples.split_at(half);
    json!({
        "requests": ended,
        "seconds": started.elapsed().as_secs_f64(),
        "events_shed": last.events_shed,
        "rss_kib_max_first_half": max_of(first, |s| s.rss_kib),
        "rss_kib_max_second_half": max_of(second, |s| s.rss_kib),
        "fds_max_first_half": max_of(first, |s| s.fds),
        "fds_max_second_half": max_of(second, |s| s.fds),
        "threads_max": max_of(samples, |s| s.threads),
        "spooled": last.spooled,
        "spool_bytes": samples.last().map_or(0, |s| s.spool_bytes),
        "spool_bytes_per_request": samples
            .last()
            .filter(|s| s.spooled > 0)
            .map(|s| s.spool_bytes as f64 / s.spooled as f64),
        "spool_stopped": last.spool_stop.as_ref().map(|stop| &stop.message),
    })
}
