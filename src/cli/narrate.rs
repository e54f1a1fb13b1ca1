//! `hopscope run SCENARIO --narrate [--reader 12s]`: plays a lesson headless. Each step is
//! printed as it becomes current (its world restored, its own actions played on its
//! clock); a simulated reader reads it for `--reader`, makes its prediction and presses its
//! buttons; its checkpoint is judged from the live trace; then the summary table follows.
//! Exit 0 when every checkpoint passed, 1 (naming the missed steps) when some did not.
//!
//! The run lasts as long as the steps take (each within its time limit); `--duration`,
//! when given, caps the whole narration.

use std::io::Write;
use std::time::Instant;

use super::signals::Stop;
use super::{Failure, RunArgs, load_scenario, table};
use crate::lesson::{NarrateOptions, narrate};
use crate::trace::Summary;
use crate::trace::export::human_bytes;

/// Runs the scenario with narration.
pub fn run(args: RunArgs) -> Result<(), Failure> {
    let scenario = load_scenario(&args.common)?;
    if scenario.steps.is_empty() {
        return Err(Failure::input(format!(
            "scenario `{}` has no narration steps; run it without --narrate, or pick a lesson from `hopscope scenarios`",
            scenario.name
        )));
    }
    let target = args.export.target()?;
    let mut engine =
        super::start_playing(scenario.clone(), args.export.no_trace).map_err(Failure::runtime)?;
    let stop = Stop::watch();
    let options = NarrateOptions {
        cancel: Some(stop.flag()),
        reader: args.reader.map_or(std::time::Duration::ZERO, |d| d.get()),
        deadline: args.duration.map(|d| d.get()),
        ..NarrateOptions::default()
    };
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let report = narrate(&scenario, &engine, &options, &mut out)
        .map_err(|e| Failure::runtime(format!("cannot write the narration: {e}")))?;
    let elapsed = started.elapsed().as_secs_f64();
    let info = target.as_ref().map(|_| engine.run_info());
    let before = engine.snapshot();
    super::signals::announce_grace(&engine);
    let last = engine.stop();
    let summary = Summary::from_snapshot(&scenario.name, scenario.seed, elapsed, &last);
    let _ = writeln!(out);
    let _ = write!(out, "{}", table::render(&summary));
    let _ = out.flush();
    if let Some(path) = &args.summary_json {
        super::write_summary_json(path, &summary)?;
    }
    if let (Some(target), Some(info)) = (&target, info) {
        let stats = super::export::write(&engine, target, info, &last, &before)?;
        let _ = writeln!(
            out,
            "exported {} requests to {} ({}, {})",
            stats.requests,
            target.path.display(),
            target.format,
            human_bytes(stats.bytes)
        );
    }
    if let Some(stopped) = stop.failure() {
        return Err(stopped);
    }
    if report.all_passed() {
        Ok(())
    } else {
        Err(Failure::runtime(report.verdict()))
    }
}
