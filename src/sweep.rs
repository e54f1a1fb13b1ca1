//! The scaling sweep: runs one scenario again and again with 1, 2, … N API servers (same
//! seed, so the same traffic; the scenario's timed events off, so only the server count
//! changes) and measures each run: latency p50/p95/p99, throughput, cache hit ratio and the
//! share of 503s. `hopscope sweep` prints it as a table and a CSV; the window's sweep panel
//! runs the same code on a background thread ([`SweepHandle`]) and plots it.
//!
//! What the numbers mean:
//! - **throughput** counts answers that were not 5xx (nor failures) and ended inside the
//!   run's measuring window, per second of that window: the work the servers got done.
//!   Under an open-loop rate every request ends somehow (a full queue answers 503 fast), so
//!   counting every ending would hide the effect of adding servers.
//! - **latency** and the **hit ratio** cover every request the run began, including those
//!   still in flight when the window closed (the run waits for them to end).
//!
//! Adding servers only shows when the traffic is heavy enough to load them: the built-in
//! `default` scenario sends a light 20 requests per second, so pass a higher rate (`--rate`)
//! or use a scenario made for scaling.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::engine::{Engine, EngineError, EngineOptions};
use crate::scenario::Scenario;
use crate::trace::{Outcome, OutcomeClass, Summary};

/// Most servers a sweep may ask for.
pub const MAX_SERVERS: usize = 32;

/// What to sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepConfig {
    /// Fewest servers (at least 1).
    pub min_servers: usize,
    /// Most servers (at most [`MAX_SERVERS`]).
    pub max_servers: usize,
    /// How long each run measures.
    pub duration_each: Duration,
    /// Requests per second to send instead of the scenario's own rate.
    pub rate: Option<f64>,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            min_servers: 1,
            max_servers: 8,
            duration_each: Duration::from_secs(5),
            rate: None,
        }
    }
}

impl SweepConfig {
    /// The server counts, in order.
    pub fn counts(&self) -> std::ops::RangeInclusive<usize> {
        self.min_servers..=self.max_servers
    }

    /// How many runs.
    pub fn runs(&self) -> usize {
        self.counts().count()
    }

    /// Checks the ranges; the message says what to change.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_servers == 0 || self.min_servers > self.max_servers {
            return Err(format!(
                "servers {}..{}: use 1 or more, the smaller number first (like 1..8)",
                self.min_servers, self.max_servers
            ));
        }
        if self.max_servers > MAX_SERVERS {
            return Err(format!("at most {MAX_SERVERS} servers"));
        }
        if self.duration_each.is_zero() {
            return Err("each run must last longer than 0s".into());
        }
        if let Some(r) = self.rate
            && !(r.is_finite() && r > 0.0)
        {
            return Err(format!(
                "rate {r}: use a positive number of requests per second"
            ));
        }
        Ok(())
    }
}

/// Parses `1..8`, `1..=8`, `2-4` or a single `N` (meaning 1..N).
pub fn parse_servers(text: &str) -> Result<(usize, usize), String> {
    let bad =
        || format!("servers `{text}`: write a range like 1..8 (or a single number N for 1..N)");
    let t = text.trim();
    let parse = |s: &str| s.trim().parse::<usize>().map_err(|_| bad());
    let (a, b) = if let Some((a, b)) = t.split_once("..=") {
        (parse(a)?, parse(b)?)
    } else if let Some((a, b)) = t.split_once("..") {
        (parse(a)?, parse(b)?)
    } else if let Some((a, b)) = t.split_once('-') {
        (parse(a)?, parse(b)?)
    } else {
        (1, parse(t)?)
    };
    if a == 0 || a > b {
        return Err(bad());
    }
    Ok((a, b))
}

/// The measurements of one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepRow {
    pub servers: usize,
    /// Requests that ended (in the window and while draining).
    pub requests: u64,
    /// Non-5xx answers per second of the measuring window.
    pub throughput_rps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// (hits + revalidated) / cacheable lookups, 0..1.
    pub hit_ratio: f64,
    /// Share of requests answered 503, 0..1.
    pub share_503: f64,
    /// Share of requests with no answer (DNS, refused, timeout, TLS), 0..1.
    pub share_failed: f64,
}

/// What a sweep reports while it runs.
#[derive(Clone, Debug, PartialEq)]
pub enum SweepEvent {
    /// Run `index` (0-based) of `runs` is measuring: `fraction` of its window has passed,
    /// `ended` requests so far.
    Progress {
        index: usize,
        runs: usize,
        servers: usize,
        fraction: f32,
        ended: u64,
    },
    /// A run finished.
    Row(SweepRow),
}

/// Why a sweep stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{0}")]
    Config(String),
    #[error("cannot start the run with {servers} servers: {source}")]
    Engine {
        servers: usize,
        #[source]
        source: EngineError,
    },
    #[error("the sweep was cancelled")]
    Cancelled,
}

/// The scenario as one run plays it: `servers` servers, no timed events, the sweep's rate.
pub fn scenario_for(base: &Scenario, servers: usize, rate: Option<f64>) -> Scenario {
    let mut s = base.clone();
    s.servers.count = servers;
    s.events.clear();
    s.steps.clear();
    s.traffic.enabled = true;
    if let Some(r) = rate {
        s.traffic.rate = r;
    }
    s
}

/// Roughly how many requests per second one server of `scenario` can answer: its workers
/// divided by the mean service time (database time not counted, so a little optimistic).
/// `None` when the service time is zero (no limit worth showing).
pub fn server_capacity_rps(scenario: &Scenario) -> Option<f64> {
    let mean = scenario.servers.service.mean.get().as_secs_f64();
    (mean > 0.0).then(|| scenario.servers.workers.max(1) as f64 / mean)
}

/// Runs the whole sweep, reporting progress and each row through `on_event`. Checks
/// `cancel` several times a second.
pub fn run(
    base: &Scenario,
    config: &SweepConfig,
    cancel: &AtomicBool,
    mut on_event: impl FnMut(SweepEvent),
) -> Result<Vec<SweepRow>, SweepError> {
    config.validate().map_err(SweepError::Config)?;
    let runs = config.runs();
    let mut rows = Vec::with_capacity(runs);
    for (index, servers) in config.counts().enumerate() {
        let row = run_one(base, servers, config, cancel, |fraction, ended| {
            on_event(SweepEvent::Progress {
                index,
                runs,
                servers,
                fraction,
                ended,
            });
        })?;
        on_event(SweepEvent::Row(row.clone()));
        rows.push(row);
    }
    Ok(rows)
}

fn run_one(
    base: &Scenario,
    servers: usize,
    config: &SweepConfig,
    cancel: &AtomicBool,
    mut progress: impl FnMut(f32, u64),
) -> Result<SweepRow, SweepError> {
    let scenario = scenario_for(base, servers, config.rate);
    let options = EngineOptions {
        traffic: true,
        play_events: false,
        ..EngineOptions::default()
    };
    let mut engine = Engine::start(scenario, options)
        .map_err(|source| SweepError::Engine { servers, source })?;
    let started = Instant::now();
    let window = config.duration_each;
    let ended = |engine: &Engine| -> (u64, u64) {
        let snap = engine.snapshot();
        let all = snap.source_outcomes.iter().map(|(_, n)| n).sum();
        let good = snap
            .source_outcomes
            .iter()
            .filter(|(o, _)| {
                !matches!(o.class(), OutcomeClass::ServerError | OutcomeClass::Failure)
            })
            .map(|(_, n)| n)
            .sum();
        (all, good)
    };
    while started.elapsed() < window {
        if cancel.load(Ordering::Relaxed) {
            return Err(SweepError::Cancelled);
        }
        std::thread::sleep(Duration::from_millis(50).min(window.saturating_sub(started.elapsed())));
        let fraction = (started.elapsed().as_secs_f32() / window.as_secs_f32()).min(1.0);
        progress(fraction, ended(&engine).0);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (_, good) = ended(&engine);
    let last = engine.stop();
    let summary = Summary::from_snapshot(&base.name, base.seed, elapsed, &last);
    Ok(row_from(servers, good, elapsed, &summary))
}

/// A row from a run's summary and the non-5xx answers counted in its window.
pub fn row_from(servers: usize, good_in_window: u64, window_secs: f64, s: &Summary) -> SweepRow {
    let requests = s.requests;
    let share = |n: u64| {
        if requests > 0 {
            n as f64 / requests as f64
        } else {
            0.0
        }
    };
    let count = |o: Outcome| s.outcomes.get(&o.to_string()).copied().unwrap_or(0);
    let failed: u64 = [
        Outcome::DnsFailure,
        Outcome::ConnectionRefused,
        Outcome::ConnectionReset,
        Outcome::Timeout,
        Outcome::TlsError,
        Outcome::Cancelled,
    ]
    .into_iter()
    .map(count)
    .sum();
    SweepRow {
        servers,
        requests,
        throughput_rps: if window_secs > 0.0 {
            good_in_window as f64 / window_secs
        } else {
            0.0
        },
        p50_ms: s.latency_ms.p50,
        p95_ms: s.latency_ms.p95,
        p99_ms: s.latency_ms.p99,
        hit_ratio: s.cache.hit_ratio,
        share_503: share(count(Outcome::Status(503))),
        share_failed: share(failed),
    }
}

/// The rows as CSV, one line per server count, with a header line.
pub fn csv(rows: &[SweepRow]) -> String {
    let mut out = String::from(
        "servers,requests,throughput_rps,p50_ms,p95_ms,p99_ms,hit_ratio,share_503,share_failed\n",
    );
    for r in rows {
        out.push_str(&format!(
            "{},{},{:.2},{:.3},{:.3},{:.3},{:.4},{:.4},{:.4}\n",
            r.servers,
            r.requests,
            r.throughput_rps,
            r.p50_ms,
            r.p95_ms,
            r.p99_ms,
            r.hit_ratio,
            r.share_503,
            r.share_failed
        ));
    }
    out
}

/// The rows as a text table for a terminal.
pub fn table(rows: &[SweepRow]) -> String {
    let mut out = format!(
        "{:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}\n",
        "servers", "requests", "ok/s", "p50 ms", "p95 ms", "p99 ms", "hit ratio", "503s"
    );
    for r in rows {
        out.push_str(&format!(
            "{:>7} {:>9} {:>9.1} {:>9.2} {:>9.2} {:>9.2} {:>8.1}% {:>6.1}%\n",
            r.servers,
            r.requests,
            r.throughput_rps,
            r.p50_ms,
            r.p95_ms,
            r.p99_ms,
            r.hit_ratio * 100.0,
            r.share_503 * 100.0
        ));
    }
    out
}

/// What the background sweep sends to the window.
#[derive(Clone, Debug, PartialEq)]
pub enum SweepMessage {
    Event(SweepEvent),
    /// The sweep ended: every row, or why not.
    Done(Result<Vec<SweepRow>, String>),
}

/// A sweep running on its own named thread. Dropping the handle cancels it.
pub struct SweepHandle {
    messages: Receiver<SweepMessage>,
    cancel: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Room for messages. Progress is dropped once only room for the rows and the end is left,
/// so a window that stops reading (the panel is hidden) never stalls the sweep.
const MESSAGES: usize = 4 * MAX_SERVERS;

impl SweepHandle {
    /// Starts the sweep on a thread named `hopscope-sweep`; `wake` is called after each
    /// message (to repaint the window).
    pub fn spawn(
        base: Scenario,
        config: SweepConfig,
        wake: Option<Arc<dyn Fn() + Send + Sync>>,
    ) -> std::io::Result<SweepHandle> {
        let (tx, rx) = crossbeam_channel::bounded::<SweepMessage>(MESSAGES);
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        let thread = std::thread::Builder::new()
            .name("hopscope-sweep".into())
            .spawn(move || sweep_thread(&base, &config, &flag, &tx, wake.as_deref()))?;
        Ok(SweepHandle {
            messages: rx,
            cancel,
            thread: Some(thread),
        })
    }

    /// Messages since the last call, oldest first (never blocks).
    pub fn poll(&self) -> Vec<SweepMessage> {
        self.messages.try_iter().collect()
    }

    /// Asks the sweep to stop; the current run ends within a moment.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether the thread has finished.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl Drop for SweepHandle {
    fn drop(&mut self) {
        // The thread notices within 50 ms and stops its engine; nobody waits for it.
        self.cancel();
    }
}

fn sweep_thread(
    base: &Scenario,
    config: &SweepConfig,
    cancel: &AtomicBool,
    tx: &Sender<SweepMessage>,
    wake: Option<&(dyn Fn() + Send + Sync)>,
) {
    let notify = || {
        if let Some(w) = wake {
            w();
        }
    };
    let result = run(base, config, cancel, |event| {
        let sent = match event {
            // Progress may be dropped while the window is not reading; rows never are.
            // Progress leaves room for every row and the end, so those never wait.
            SweepEvent::Progress { .. } if tx.len() + MAX_SERVERS + 1 >= MESSAGES => false,
            SweepEvent::Progress { .. } => match tx.try_send(SweepMessage::Event(event)) {
                Ok(()) => true,
                Err(crossbeam_channel::TrySendError::Full(_)) => false,
                Err(crossbeam_channel::TrySendError::Disconnected(_)) => {
                    cancel.store(true, Ordering::Relaxed);
                    false
                }
            },
            SweepEvent::Row(_) => {
                let ok = tx.send(SweepMessage::Event(event)).is_ok();
                if !ok {
                    cancel.store(true, Ordering::Relaxed);
                }
                ok
            }
        };
        if sent {
            notify();
        }
    });
    let done = result.map_err(|e| e.to_string());
    if tx.send(SweepMessage::Done(done)).is_err() {
        // The window is gone; nothing to tell.
        return;
    }
    notify();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_ranges_parse_like_people_write_them() {
        assert_eq!(parse_servers("1..8"), Ok((1, 8)));
        assert_eq!(parse_servers("2..=4"), Ok((2, 4)));
        assert_eq!(parse_servers("3-5"), Ok((3, 5)));
        assert_eq!(parse_servers(" 4 "), Ok((1, 4)));
        assert!(parse_servers("0..3").is_err());
        assert!(parse_servers("5..2").is_err());
        assert!(parse_servers("a..b").is_err());
        let too_many = SweepConfig {
            max_servers: MAX_SERVERS + 1,
            ..SweepConfig::default()
        };
        assert!(too_many.validate().is_err());
        assert_eq!(SweepConfig::default().runs(), 8);
    }

    #[test]
    fn each_run_changes_only_the_servers_and_the_rate() {
        let mut base = Scenario::default();
        base.events.push(crate::scenario::Event::default());
        let s = scenario_for(&base, 5, Some(300.0));
        assert_eq!(s.servers.count, 5);
        assert!(s.events.is_empty());
        assert_eq!(s.traffic.rate, 300.0);
        assert_eq!(s.seed, base.seed);
        assert_eq!(scenario_for(&base, 2, None).traffic.rate, base.traffic.rate);
        // The default: 4 workers at 5 ms each.
        assert_eq!(server_capacity_rps(&base), Some(800.0));
        base.servers.service.mean = crate::scenario::Dur::ZERO;
        assert_eq!(server_capacity_rps(&base), None);
    }

    #[test]
    fn rows_turn_into_csv_and_a_table() {
        let mut summary = Summary {
            requests: 200,
            outcomes: [
                ("200".to_string(), 150),
                ("503".to_string(), 40),
                ("timeout".to_string(), 10),
            ]
            .into_iter()
            .collect(),
            ..Summary::default()
        };
        summary.cache.hit_ratio = 0.25;
        summary.latency_ms.p50 = 10.0;
        summary.latency_ms.p95 = 90.0;
        summary.latency_ms.p99 = 120.0;
        let row = row_from(2, 150, 2.0, &summary);
        assert_eq!(row.throughput_rps, 75.0);
        assert_eq!(row.share_503, 0.2);
        assert_eq!(row.share_failed, 0.05);
        let text = csv(std::slice::from_ref(&row));
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some(
                "servers,requests,throughput_rps,p50_ms,p95_ms,p99_ms,hit_ratio,share_503,share_failed"
            )
        );
        assert_eq!(
            lines.next(),
            Some("2,200,75.00,10.000,90.000,120.000,0.2500,0.2000,0.0500")
        );
        assert!(table(&[row]).contains("25.0%"));
    }
}
