//! `hopscope open TRACE`: loads a hopscope JSON trace, prints the run's summary and replays
//! it in the window, with a timeline scrubber (or says what is wrong with the file and where,
//! exit 2). `--summary` prints the summary only, without a window; `--export FILE` converts
//! the loaded trace to another format (HAR, Perfetto, CSV) and exits.

use super::{Failure, OpenArgs, table};
use crate::trace::export::{export_journeys, human_bytes};
use crate::trace::replay::Replay;
use crate::trace::{Format, export::rfc3339_millis};

/// Runs `hopscope open`.
pub fn open(args: OpenArgs) -> Result<(), Failure> {
    let format = match &args.export {
        Some(out) => Some(Format::choose(args.format.as_deref(), out).map_err(Failure::input)?),
        None if args.format.is_some() => {
            return Err(Failure::input("--format needs --export FILE"));
        }
        None => None,
    };
    let replay = Replay::load(&args.trace).map_err(Failure::input)?;
    let meta = replay.meta();
    println!(
        "{}: {} requests, started {}, written by {}",
        args.trace.display(),
        replay.journeys().len(),
        rfc3339_millis(meta.info.wall_start_micros),
        if meta.info.generator.is_empty() {
            "an unknown program"
        } else {
            &meta.info.generator
        }
    );
    if meta.events_shed > 0 {
        println!(
            "note: {} detailed events were shed while recording; outcome counts are complete",
            meta.events_shed
        );
    }
    if let Some(note) = meta.truncation_note() {
        println!("note: {note}; the summary below covers the requests it holds");
    }
    print!("{}", table::render(&replay.summary()));
    if let (Some(out), Some(format)) = (&args.export, format) {
        let stats = export_journeys(
            out,
            format,
            meta,
            replay.journeys_by_end().map(|j| j.as_ref()),
        )
        .map_err(Failure::runtime)?;
        println!(
            "wrote {} ({format}, {} requests, {})",
            out.display(),
            stats.requests,
            human_bytes(stats.bytes)
        );
        return Ok(());
    }
    if args.summary {
        return Ok(());
    }
    super::gui::replay_window(args.trace, &args.window)
}
