//! `--export FILE [--format F]` on `run` and `serve`: the format is chosen (and a bad one
//! refused, exit 2) before the run starts; the run's header is taken when the topology is up;
//! the export streams from the recorder's spool after the engine has stopped.

use std::path::PathBuf;

use clap::Args;

use super::Failure;
use crate::engine::Engine;
use crate::trace::export::{ExportStats, export_spool};
use crate::trace::{Format, RunInfo, RunMeta, Snapshot};

/// Where and how to export.
#[derive(Clone, Debug)]
pub struct Target {
    pub path: PathBuf,
    pub format: Format,
}

/// `--export FILE [--format F]`, and the hidden `--no-trace` that rules an export out, as
/// `run` and `serve` take them.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Export the whole trace to this file when the run ends.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    /// Export format: json, har, perfetto (or chrome), csv (default: from the file's
    /// extension: .har, .csv, else json).
    #[arg(long, value_name = "F")]
    pub format: Option<String>,
    /// Measure without detailed tracing (outcomes are still counted).
    #[arg(long, hide = true)]
    pub no_trace: bool,
}

impl ExportArgs {
    /// Checks the export flags: `None` when there is nothing to export.
    pub fn target(&self) -> Result<Option<Target>, Failure> {
        let Some(path) = &self.export else {
            return match self.format {
                Some(_) => Err(Failure::input("--format needs --export FILE")),
                None => Ok(None),
            };
        };
        if self.no_trace {
            return Err(Failure::input(
                "--export needs the detailed trace: drop --no-trace",
            ));
        }
        let format = Format::choose(self.format.as_deref(), path).map_err(Failure::input)?;
        Ok(Some(Target {
            path: path.clone(),
            format,
        }))
    }
}

/// Writes the export of a stopped engine: `last` is what `Engine::stop` returned, `before`
/// the snapshot taken just before stopping (whose server gauges still say which servers were
/// up: after the stop every one is down).
pub fn write(
    engine: &Engine,
    target: &Target,
    info: RunInfo,
    last: &Snapshot,
    before: &Snapshot,
) -> Result<ExportStats, Failure> {
    let mut meta = RunMeta::from_snapshot(info, last);
    for g in &mut meta.servers {
        if let Some(b) = before.servers.iter().find(|b| b.name == g.name) {
            g.alive = b.alive;
            g.hung = b.hung;
            g.healthy = b.healthy;
        }
    }
    export_spool(&target.path, target.format, &meta, engine.spool_path()).map_err(Failure::runtime)
}

/// Exports a run that is still going (the window's File → Export): flushes the spool, then
/// exports what it holds: every request that ended more than a quarter second ago.
pub fn write_running(
    engine: &Engine,
    target: &Target,
    info: RunInfo,
) -> Result<ExportStats, Failure> {
    engine.flush_spool();
    let meta = RunMeta::from_snapshot(info, &engine.snapshot());
    export_spool(&target.path, target.format, &meta, engine.spool_path()).map_err(Failure::runtime)
}
