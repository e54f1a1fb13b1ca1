//! The command line: parses arguments with clap and calls the library. Exit codes: 0 for
//! success, 1 for a runtime failure, 2 for bad input (arguments, scenario, trace file).

pub mod check_theory;
pub mod export;
mod gui;
mod narrate;
pub mod open;
mod run;
mod serve;
mod signals;
pub mod soak;
mod sweep;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::engine::{Engine, EngineError, EngineOptions};
use crate::scenario::{self, BUILTINS, Dur, Scenario};

/// Run a small internet on your own machine and watch every request travel it.
#[derive(Debug, Parser)]
#[command(name = "hopscope", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Open the window with a scenario running (what bare `hopscope` does).
    Gui(gui::GuiArgs),
    /// Run a scenario headless, with a progress bar and a summary table.
    Run(RunArgs),
    /// Start the topology for outside tools (dig, curl, wrk) and read commands on stdin.
    Serve(ServeArgs),
    /// Run the scenario with 1..N servers and measure each run (table and CSV).
    Sweep(sweep::SweepArgs),
    /// Run traffic for a long time and report memory and open descriptors over time.
    Soak(SoakArgs),
    /// Check scenario files: every problem, with file:line:column.
    Validate {
        /// Scenario files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the built-in scenarios.
    Scenarios,
    /// Replay a hopscope JSON trace in the window (`--summary` prints its summary instead).
    Open(OpenArgs),
    /// Hold measurements against queueing and caching theory (Erlang C, M/M/1, M/M/c/K,
    /// Che) and injected delays against their settings, with confidence intervals.
    CheckTheory(check_theory::CheckTheoryArgs),
}

/// Options shared by the commands that run a scenario.
#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// A built-in scenario name or a scenario file (default: `default`).
    pub scenario: Option<String>,
    /// Seed for every random draw (overrides the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Slow motion: multiply every injected delay by this (at least 1).
    #[arg(long)]
    pub time_scale: Option<f64>,
    /// Folder for the trace spool, the on-disk log of every request that exports read
    /// (default: the system's temporary folder). Removed at exit; bounded by the scenario's
    /// `trace.spool_limit`.
    #[arg(long, value_name = "DIR", env = "HOPSCOPE_SPOOL_DIR")]
    pub spool_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: ScenarioArgs,
    /// How long to run (default: the scenario's duration), like `10s` or `2m`; not zero.
    #[arg(long, value_parser = nonzero_duration)]
    pub duration: Option<Dur>,
    /// Write the summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
    #[command(flatten)]
    pub export: export::ExportArgs,
    /// Print the lesson's steps as they become current and check each checkpoint from the
    /// trace; exit 1 if any checkpoint was not seen in time.
    #[arg(long)]
    pub narrate: bool,
    /// With --narrate: a simulated reader who reads each step this long before making its
    /// prediction and pressing its buttons, and again once its checkpoint passed, like
    /// `12s` (default `0s`: unattended play).
    #[arg(long, value_name = "D", requires = "narrate")]
    pub reader: Option<Dur>,
}

#[derive(Debug, Args)]
// `serve`'s export also holds what outside tools sent: its help says so.
#[command(mut_arg("export", |a| a.help(
    "Export the whole trace (outside tools' requests included) to this file at exit"
)))]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: ScenarioArgs,
    /// Stop after this long (default: until Ctrl-C); not zero.
    #[arg(long, value_parser = nonzero_duration)]
    pub duration: Option<Dur>,
    /// Also run the scenario's simulated clients and timed events.
    #[arg(long)]
    pub traffic: bool,
    /// Bind fixed ports from P: DNS on P, CDN P+1, LB P+2, HTTPS edge P+3, server-N P+3+N
    /// (0, like leaving it out, lets the system choose free ports; a base so high that a
    /// port would pass 65535 is refused).
    #[arg(long, value_name = "P")]
    pub port_base: Option<u16>,
    /// Worker threads for the engine (default 2): 1 compares it fairly with a
    /// single-threaded proxy such as HAProxy with `nbthread 1`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: Option<u16>,
    #[command(flatten)]
    pub export: export::ExportArgs,
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// A trace written by `--export FILE.json`.
    pub trace: PathBuf,
    /// Also convert it: write it to this file (format from --format or the extension).
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    /// Format of --export: json, har, perfetto (or chrome), csv.
    #[arg(long, value_name = "F")]
    pub format: Option<String>,
    /// Print the run's summary and exit, without opening the window.
    #[arg(long)]
    pub summary: bool,
    #[command(flatten)]
    pub window: gui::WindowArgs,
}

#[derive(Debug, Args)]
pub struct SoakArgs {
    #[command(flatten)]
    pub common: ScenarioArgs,
    /// How long to run, like `30s`, `30m` or `1h`; not zero.
    #[arg(long, default_value = "30m", value_parser = nonzero_duration)]
    pub duration: Dur,
    /// Open-loop arrival rate in requests per second (default: the scenario's).
    #[arg(long)]
    pub rate: Option<f64>,
    /// How often to take a sample; not zero.
    #[arg(long, default_value = "10s", value_parser = nonzero_duration)]
    pub every: Dur,
    /// Print samples as JSON lines (and a last line with the summary).
    #[arg(long)]
    pub json: bool,
}

/// A duration flag that must not be zero (`--duration 0s` would run nothing).
fn nonzero_duration(text: &str) -> Result<Dur, String> {
    let d: Dur = text
        .parse()
        .map_err(|e: scenario::DurError| e.to_string())?;
    if d.is_zero() {
        return Err(format!(
            "`{text}` is no time at all: give a duration above zero, like `10s` or `2m`"
        ));
    }
    Ok(d)
}

/// A failure with the exit code it deserves.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// Bad input (exit 2).
    pub fn input(message: impl std::fmt::Display) -> Failure {
        Failure {
            code: 2,
            message: message.to_string(),
        }
    }

    /// A runtime failure (exit 1).
    pub fn runtime(message: impl std::fmt::Display) -> Failure {
        Failure {
            code: 1,
            message: message.to_string(),
        }
    }
}

/// Loads the scenario named in `args`, applying the overrides; the spool folder, if given,
/// holds for every run of this process.
pub fn load_scenario(args: &ScenarioArgs) -> Result<Scenario, Failure> {
    if let Some(dir) = &args.spool_dir {
        crate::engine::set_default_spool_dir(dir.clone());
    }
    let name = args.scenario.as_deref().unwrap_or("default");
    let (mut s, _) = scenario::resolve(name).map_err(Failure::input)?;
    if let Some(seed) = args.seed {
        s.seed = seed;
    }
    if let Some(scale) = args.time_scale {
        if !(1.0..=scenario::MAX_TIME_SCALE).contains(&scale) {
            return Err(Failure::input(format!(
                "--time-scale must be from 1 to {} (1 is real time)",
                scenario::MAX_TIME_SCALE
            )));
        }
        s.time_scale = scale;
    }
    Ok(s)
}

/// Starts the engine playing `scenario`: its simulated clients and its timed events, with
/// detailed tracing unless `no_detail` (what `run`, `soak` and `check-theory` all do).
fn start_playing(scenario: Scenario, no_detail: bool) -> Result<Engine, EngineError> {
    Engine::start(
        scenario,
        EngineOptions {
            traffic: true,
            play_events: true,
            no_detail,
            ..EngineOptions::default()
        },
    )
}

/// Writes `summary` as pretty JSON to `path` (`--summary-json`), whole or not at all.
fn write_summary_json(
    path: &std::path::Path,
    summary: &crate::trace::Summary,
) -> Result<(), Failure> {
    crate::trace::write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, summary)?;
        w.write_all(b"\n")
    })
    .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))
}

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => gui::gui(gui::GuiArgs::default_window()),
        Some(Cmd::Gui(args)) => gui::gui(args),
        Some(Cmd::Run(args)) => run::run(args),
        Some(Cmd::Serve(args)) => serve::serve(args),
        Some(Cmd::Sweep(args)) => sweep::sweep(args),
        Some(Cmd::Soak(args)) => soak::soak(args),
        Some(Cmd::Validate { files }) => validate(&files),
        Some(Cmd::Open(args)) => open::open(args),
        Some(Cmd::CheckTheory(args)) => check_theory::check_theory(args),
        Some(Cmd::Scenarios) => {
            let width = BUILTINS.iter().map(|b| b.name.len()).max().unwrap_or(0);
            for b in BUILTINS {
                println!("{:<width$}  {}", b.name, b.summary());
            }
            Ok(())
        }
    };
    // Whatever a task still held when its engine stopped is removed too.
    crate::engine::remove_leftovers();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("hopscope: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn validate(files: &[PathBuf]) -> Result<(), Failure> {
    let mut bad = 0;
    for file in files {
        match scenario::load(file) {
            Ok(_) => println!("{}: ok", file.display()),
            Err(e) => {
                bad += 1;
                eprintln!("{e}");
            }
        }
    }
    if bad > 0 {
        Err(Failure::input(format!(
            "{bad} of {} files have problems",
            files.len()
        )))
    } else {
        Ok(())
    }
}
