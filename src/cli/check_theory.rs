//! `hopscope check-theory`: plays the fidelity scenarios (`theory-*`) and holds what the
//! trace measured against queueing and caching theory, with 95 % confidence intervals by
//! batch means: Erlang C, M/M/1 behind a random load balancer, M/M/c/K blocking, Che's
//! approximation for LRU, and every injected delay against its setting. Exit 0 when every
//! target is met, 1 when one is missed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use super::Failure;
use super::signals::{self, Stop};
use crate::engine::Engine;
use crate::scenario::{self, Scenario};
use crate::theory::Target;
use crate::theory::fidelity::{Check, CheckReport, Recorded, Row, evaluate};
use crate::trace::{spool, write_atomic};

/// Batches the measured window is cut into for confidence intervals.
pub const BATCHES: usize = 20;

/// Arguments of `hopscope check-theory`.
#[derive(Debug, Args)]
pub struct CheckTheoryArgs {
    /// Short runs (a first look: intervals are wide and targets may be missed by chance).
    #[arg(long)]
    pub quick: bool,
    /// Only these checks: erlang-c, random-lb, blocking, lru, calibration.
    #[arg(long, value_name = "CHECK")]
    pub only: Vec<String>,
    /// Also write every result as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write every server visit of the queueing checks as CSV to this directory
    /// (`CHECK.csv`: arrival, server, wait, handler and drawn service time, in µs).
    #[arg(long, value_name = "DIR")]
    pub samples: Option<PathBuf>,
}

/// Every check's report, as `--json` writes it.
#[derive(Debug, Serialize)]
pub struct Results {
    pub quick: bool,
    pub batches: usize,
    pub checks: Vec<CheckReport>,
}

/// Plays `scenario` for `duration` (or until `cancel` is raised) and records every
/// journey, measuring after `warmup`.
pub fn record(
    scenario: Scenario,
    duration: Duration,
    warmup: Duration,
    cancel: &AtomicBool,
) -> Result<Recorded, String> {
    let mut engine = super::start_playing(scenario, false).map_err(|e| e.to_string())?;
    let started = Instant::now();
    while started.elapsed() < duration && !cancel.load(Ordering::Acquire) {
        std::thread::sleep(
            Duration::from_millis(50).min(duration.saturating_sub(started.elapsed())),
        );
    }
    let to_micros = engine.now_micros();
    if cancel.load(Ordering::Acquire) {
        signals::announce_grace(&engine);
    }
    let snapshot = engine.stop();
    if snapshot.events_shed > 0 {
        return Err(format!(
            "the recorder shed {} events: the machine is too busy for this run",
            snapshot.events_shed
        ));
    }
    let from_micros = u64::try_from(warmup.as_micros()).unwrap_or(u64::MAX);
    read_recorded(&engine, from_micros, to_micros)
}

/// Reads every journey a stopped engine spooled, measuring in `[from, to)` microseconds.
pub fn read_recorded(
    engine: &Engine,
    from_micros: u64,
    to_micros: u64,
) -> Result<Recorded, String> {
    let mut rec = Recorded::new(from_micros, to_micros);
    let journeys = spool::read(engine.spool_path())
        .map_err(|e| format!("cannot read the trace spool: {e}"))?;
    for j in journeys {
        let j = j.map_err(|e| format!("cannot read the trace spool: {e}"))?;
        rec.add(&j);
    }
    Ok(rec)
}

/// Runs one check on `scenario` (normally the check's own built-in).
pub fn run_check(
    check: Check,
    scenario: &Scenario,
    duration: Duration,
    warmup: Duration,
    batches: usize,
) -> Result<CheckReport, String> {
    let rec = record(scenario.clone(), duration, warmup, &AtomicBool::new(false))?;
    Ok(evaluate(check, scenario, &rec, batches))
}

fn builtin(name: &str) -> Result<Scenario, Failure> {
    let b = scenario::builtin(name)
        .ok_or_else(|| Failure::runtime(format!("the built-in scenario {name} is missing")))?;
    scenario::load_str(b.name, b.text).map_err(Failure::runtime)
}

/// Runs the checks and prints the results.
pub fn check_theory(args: CheckTheoryArgs) -> Result<(), Failure> {
    let mut checks = Vec::new();
    for name in &args.only {
        match Check::ALL.into_iter().find(|c| c.name() == name) {
            Some(c) => checks.push(c),
            None => {
                let names: Vec<_> = Check::ALL.iter().map(|c| c.name()).collect();
                return Err(Failure::input(format!(
                    "unknown check `{name}`: use {}",
                    names.join(", ")
                )));
            }
        }
    }
    if checks.is_empty() {
        checks = Check::ALL.to_vec();
    }
    let total: f64 = checks.iter().map(|c| c.seconds(args.quick)).sum();
    println!(
        "hopscope check-theory{}: measured against theory, 95 % confidence intervals by batch means ({BATCHES} batches); about {:.0} s",
        if args.quick { " --quick" } else { "" },
        total
    );
    let mut reports = Vec::new();
    // A stop signal ends the check in progress unjudged (a cut-short run would be judged on
    // too few samples); the checks done are reported and written.
    let stop = Stop::watch();
    let cancel = stop.flag();
    for check in checks {
        let s = builtin(check.scenario())?;
        let secs = check.seconds(args.quick);
        eprintln!("running {} ({} for {secs:.0} s)…", check.name(), s.name);
        let rec = record(
            s.clone(),
            Duration::from_secs_f64(secs),
            Duration::from_secs_f64(check.warmup_secs(args.quick)),
            &cancel,
        )
        .map_err(Failure::runtime)?;
        if stop.requested() {
            eprintln!("{} was cut short and is not judged", check.name());
            break;
        }
        if let Some(dir) = &args.samples {
            write_samples(&dir.join(format!("{}.csv", check.name())), &rec)?;
        }
        let report = evaluate(check, &s, &rec, BATCHES);
        print!("{}", render(&report));
        reports.push(report);
    }
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.passed())
        .map(|r| r.check.name())
        .collect();
    if let Some(path) = &args.json {
        let results = Results {
            quick: args.quick,
            batches: BATCHES,
            checks: reports,
        };
        write_atomic(path, |w| {
            serde_json::to_writer_pretty(&mut *w, &results)?;
            w.write_all(b"\n")
        })
        .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))?;
    }
    if let Some(stopped) = stop.failure() {
        return Err(stopped);
    }
    if failed.is_empty() {
        println!("\nevery target met");
        Ok(())
    } else {
        Err(Failure::runtime(format!(
            "targets missed in: {}{}",
            failed.join(", "),
            if args.quick {
                " (a --quick run is short: try the full run)"
            } else {
                ""
            }
        )))
    }
}

/// Every server visit as CSV, for plotting outside hopscope.
fn write_samples(path: &std::path::Path, rec: &Recorded) -> Result<(), Failure> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::runtime(format!("cannot create {}: {e}", dir.display())))?;
    }
    write_atomic(path, |w| {
        writeln!(
            w,
            "arrived_micros,server,wait_micros,waited,rejected,handler_micros,drawn_micros"
        )?;
        let mut visits = rec.visits.clone();
        visits.sort_by_key(|v| v.arrived_micros);
        for v in &visits {
            writeln!(
                w,
                "{},{},{},{},{},{},{}",
                v.arrived_micros,
                v.server,
                v.wait_micros,
                u8::from(v.waited),
                u8::from(v.rejected),
                v.handler_micros.map_or(String::new(), |h| h.to_string()),
                v.drawn_micros.map_or(String::new(), |d| d.to_string())
            )?;
        }
        Ok(())
    })
    .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))
}

fn value(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return "∞".into();
    }
    match unit {
        "ms" => format!("{v:.3} ms"),
        _ => format!("{v:.4}"),
    }
}

fn target_text(t: &Target) -> String {
    match t {
        Target::Relative(r) => format!("±{:.0} %", r * 100.0),
        Target::Absolute(a) if *a >= 0.1 => format!("±{a} ms"),
        Target::Absolute(a) => format!("±{:.0} pp", a * 100.0),
    }
}

fn row_text(r: &Row) -> String {
    let mut line = format!(
        "  {:<46} theory {:>10}",
        r.quantity,
        value(r.predicted, r.unit)
    );
    if r.prediction_std_error > 0.0 && r.prediction_std_error.is_finite() {
        line.push_str(&format!(
            " ± {}",
            value(1.96 * r.prediction_std_error, r.unit)
        ));
    }
    if let Some(c) = r.configured {
        line.push_str(&format!(" (configured inputs {})", value(c, r.unit)));
    }
    line.push_str(&format!(
        "   measured {} ± {}",
        value(r.measured.mean, r.unit),
        value(r.measured.half_width_95, r.unit)
    ));
    if let (Some(t), Some(v)) = (&r.target, &r.verdict) {
        let err = match t {
            Target::Relative(_) => format!("{:+.1} %", v.relative_error * 100.0),
            Target::Absolute(_) if r.unit == "ms" => format!("{:+.3} ms", v.error),
            Target::Absolute(_) => format!("{:+.2} pp", v.error * 100.0),
        };
        line.push_str(&format!(
            "   error {err}, target {}: {}",
            target_text(t),
            if v.within_target { "PASS" } else { "MISS" }
        ));
    }
    line.push('\n');
    line
}

/// One check as text.
pub fn render(r: &CheckReport) -> String {
    let mut out = format!(
        "\n{} — {} ({}; {:.0} s measured after {:.0} s warm-up, {} samples)\n",
        r.check.name(),
        r.model,
        r.scenario,
        r.seconds - r.warmup_secs,
        r.warmup_secs,
        r.samples
    );
    for i in &r.inputs {
        out.push_str(&format!("  · {i}\n"));
    }
    for row in &r.rows {
        out.push_str(&row_text(row));
    }
    out
}
