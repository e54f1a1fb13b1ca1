//! `hopscope run`: plays a scenario headless with a progress bar, then prints the summary
//! table and, if asked, writes it as JSON. A stop signal ends the run early, the summary
//! and export still written (`signals`).

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::signals::{self, Stop};
use super::{Failure, RunArgs, export, load_scenario, table};
use crate::engine::Engine;
use crate::trace::Summary;
use crate::trace::export::human_bytes;

/// Runs the scenario for its duration.
pub fn run(args: RunArgs) -> Result<(), Failure> {
    if args.narrate {
        return super::narrate::run(args);
    }
    let scenario = load_scenario(&args.common)?;
    let target = args.export.target()?;
    let duration = args.duration.unwrap_or(scenario.duration).get();
    let stop = Stop::watch();
    let name = scenario.name.clone();
    let seed = scenario.seed;
    let theory_scenario = scenario.clone();
    let mut engine =
        super::start_playing(scenario, args.export.no_trace).map_err(Failure::runtime)?;
    let info = target.as_ref().map(|_| engine.run_info());
    let bar = ProgressBar::new(duration.as_millis() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let started = Instant::now();
    while started.elapsed() < duration && !stop.requested() {
        std::thread::sleep(
            Duration::from_millis(100).min(duration.saturating_sub(started.elapsed())),
        );
        let snap = engine.snapshot();
        let ended: u64 = snap.source_outcomes.iter().map(|(_, n)| n).sum();
        bar.set_position(started.elapsed().as_millis() as u64);
        bar.set_message(format!(
            "{ended} requests, {} in flight",
            snap.in_flight.len()
        ));
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let before = engine.snapshot();
    let to_micros = engine.now_micros();
    signals::announce_grace(&engine);
    let last = engine.stop();
    let mut summary = Summary::from_snapshot(&name, seed, elapsed, &last);
    let theory = run_theory(
        &theory_scenario,
        &engine,
        elapsed,
        to_micros,
        args.export.no_trace,
    );
    summary.theory = serde_json::to_value(&theory).ok();
    print!("{}", table::render(&summary));
    print!("{}", theory.render());
    if let Some(path) = &args.summary_json {
        super::write_summary_json(path, &summary)?;
    }
    if let (Some(target), Some(info)) = (&target, info) {
        let stats = export::write(&engine, target, info, &last, &before)?;
        println!(
            "exported {} requests to {} ({}, {})",
            stats.requests,
            target.path.display(),
            target.format,
            human_bytes(stats.bytes)
        );
    }
    stop.failure().map_or(Ok(()), Err)
}

/// What theory predicts for the scenario next to what the run measured (read back from the
/// spooled journeys, after a warm-up), or why it does not apply.
fn run_theory(
    scenario: &crate::scenario::Scenario,
    engine: &Engine,
    elapsed_secs: f64,
    to_micros: u64,
    no_trace: bool,
) -> crate::theory::report::RunTheory {
    let from_micros = (crate::theory::report::warmup_secs(elapsed_secs) * 1e6) as u64;
    let rec = if no_trace || !crate::theory::report::applies(scenario) {
        None
    } else {
        super::check_theory::read_recorded(engine, from_micros, to_micros).ok()
    };
    let rec = rec.unwrap_or_else(|| crate::theory::fidelity::Recorded::new(from_micros, to_micros));
    crate::theory::report::compare(scenario, &rec)
}
