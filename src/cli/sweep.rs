//! `hopscope sweep`: the scaling sweep, headless. Runs the scenario once per server count
//! with a progress bar, prints the table and, if asked, writes the CSV atomically.

use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::signals::Stop;
use super::{Failure, ScenarioArgs, load_scenario};
use crate::scenario::Dur;
use crate::sweep::{self, SweepConfig, SweepError, SweepEvent};
use crate::trace::write_atomic;

/// Arguments of `hopscope sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub common: ScenarioArgs,
    /// Server counts to try: a range like `1..8`, or `N` for 1..N.
    #[arg(long, default_value = "1..8", value_name = "RANGE")]
    pub servers: String,
    /// How long each run measures, like `5s`; not zero.
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = super::nonzero_duration)]
    pub duration_each: Dur,
    /// Requests per second to send instead of the scenario's rate (the `default` scenario's
    /// 20/s is too light to load even one server).
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,
    /// Also write the rows as CSV to this file.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
}

/// Runs the sweep and reports it.
pub fn sweep(args: SweepArgs) -> Result<(), Failure> {
    let scenario = load_scenario(&args.common)?;
    let (min_servers, max_servers) = sweep::parse_servers(&args.servers).map_err(Failure::input)?;
    let config = SweepConfig {
        min_servers,
        max_servers,
        duration_each: args.duration_each.get(),
        rate: args.rate,
    };
    config.validate().map_err(Failure::input)?;
    let runs = config.runs() as u64;
    println!(
        "sweep {} (seed {}): {}..{} servers, {} each, {:.0} requests/s{}",
        scenario.name,
        scenario.seed,
        min_servers,
        max_servers,
        args.duration_each,
        config.rate.unwrap_or(scenario.traffic.rate),
        if config.rate.is_some() {
            " (--rate)"
        } else {
            ""
        }
    );
    let bar = ProgressBar::new(runs * 1000);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    // A stop signal ends the sweep after the run in progress: the rows done are kept.
    let stop = Stop::watch();
    let cancel = stop.flag();
    let mut done = Vec::new();
    let result = sweep::run(&scenario, &config, &cancel, |event| match event {
        SweepEvent::Progress {
            index,
            runs,
            servers,
            fraction,
            ended,
        } => {
            bar.set_position(index as u64 * 1000 + (fraction * 1000.0) as u64);
            bar.set_message(format!(
                "run {} of {runs}: {servers} servers, {ended} requests",
                index + 1
            ));
        }
        SweepEvent::Row(row) => {
            bar.println(format!(
                "{} servers: {:.1} ok/s, p99 {:.1} ms",
                row.servers, row.throughput_rps, row.p99_ms
            ));
            done.push(row);
        }
    });
    bar.finish_and_clear();
    let rows = match result {
        Ok(rows) => rows,
        Err(SweepError::Cancelled) if stop.requested() => done,
        Err(SweepError::Config(m)) => return Err(Failure::input(m)),
        Err(other) => return Err(Failure::runtime(other)),
    };
    print!("{}", sweep::table(&rows));
    if let Some(path) = &args.csv {
        let text = sweep::csv(&rows);
        write_atomic(path, |w| w.write_all(text.as_bytes()))
            .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))?;
        println!("wrote {}", path.display());
    }
    stop.failure().map_or(Ok(()), Err)
}
