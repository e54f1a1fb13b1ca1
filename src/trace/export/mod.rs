//! Exports: a run written out for later study or for the tools people already know.
//!
//! - [`Format::Json`]: the native hopscope trace (`hopscope-trace/1`, schema in
//!   `docs/trace.schema.json`), which `hopscope open` reads back (`trace::import`).
//! - [`Format::Har`]: HAR 1.2, for a browser's network panel and HAR viewers.
//! - [`Format::Perfetto`]: Chrome Trace Event JSON for ui.perfetto.dev (`chrome` is an alias).
//! - [`Format::Csv`]: the per-second metrics, for spreadsheets.
//!
//! Every export streams: [`Exporter`] takes the run's metadata ([`RunMeta`], small), then one
//! journey at a time, then finishes; nothing holds more than one journey. [`export_spool`]
//! feeds it from the recorder's spool file and writes the target atomically (temporary file,
//! then rename). The per-second metrics are recomputed from the journeys while they stream,
//! so every second of the run has its row — including the last ones the live recorder had not
//! closed yet — and the server gauges sampled live are merged into the rows they belong to.
//!
//! Ordering is stable: requests in the order the recorder spooled them (the order they
//! ended), spans in start order, maps by key.

mod csv;
mod har;
mod json;
mod perfetto;
mod seconds;

use std::fmt;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::metrics::SecondMetrics;
use super::spool::SpoolStop;
use super::{Journey, Marker, Outcome, ServerGauge, Snapshot, write_atomic};

pub use json::{ArrivalIn, AttrsIn, ExchangeIn, RequestIn, SpanIn, TRACE_SCHEMA, TruncatedIo};
pub use seconds::{GRACE_SECS, SecondsBuilder};

/// An export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// The native hopscope JSON trace.
    Json,
    /// HAR 1.2.
    Har,
    /// Chrome Trace Event JSON, as ui.perfetto.dev opens it.
    Perfetto,
    /// Per-second metrics as CSV.
    Csv,
}

impl Format {
    /// Every format, in the order the help text lists them.
    pub const ALL: [Format; 4] = [Format::Json, Format::Har, Format::Perfetto, Format::Csv];

    /// The names `--format` accepts, for messages.
    pub const NAMES: &'static str = "json, har, perfetto (or chrome), csv";

    /// The format's name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Har => "har",
            Format::Perfetto => "perfetto",
            Format::Csv => "csv",
        }
    }

    /// The file extension a file in this format gets.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Har => "har",
            Format::Perfetto => "perfetto.json",
            Format::Csv => "csv",
        }
    }

    /// Parses a `--format` value (case-insensitive; `chrome` means `perfetto`).
    pub fn parse(name: &str) -> Result<Format, ExportError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "har" => Ok(Format::Har),
            "perfetto" | "chrome" => Ok(Format::Perfetto),
            "csv" => Ok(Format::Csv),
            _ => Err(ExportError::UnknownFormat(name.to_string())),
        }
    }

    /// The format a file name implies: `.har`, `.csv`, else the JSON trace.
    pub fn from_path(path: &Path) -> Format {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("har") => Format::Har,
            Some("csv") => Format::Csv,
            _ => Format::Json,
        }
    }

    /// `--format` when given, else the file's extension.
    pub fn choose(explicit: Option<&str>, path: &Path) -> Result<Format, ExportError> {
        match explicit {
            Some(name) => Format::parse(name),
            None => Ok(Format::from_path(path)),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// `--format` named no known format.
    #[error("unknown export format `{0}`: use one of {names}", names = Format::NAMES)]
    UnknownFormat(String),
    /// The recorder's spool could not be read back.
    #[error("cannot read the trace spool {path}: {source}")]
    Spool {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The output could not be written (nothing was left half-written).
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// One component of the topology and where it listened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentInfo {
    /// `client`, `dns`, `cdn`, `lb`, `server-N` or `db`.
    pub name: String,
    /// `127.0.0.1:PORT`, for components with a socket of their own.
    pub address: Option<String>,
}

/// The topology at the start of the run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopologyInfo {
    /// In lane order: client, DNS, CDN, load balancer, servers, database.
    pub components: Vec<ComponentInfo>,
    /// Which component clients connect to first (`cdn` or `lb`).
    pub edge: String,
    /// Where the edge listened for plain HTTP.
    pub edge_address: String,
    /// Where the edge listened for HTTPS, when TLS was on.
    pub edge_tls: Option<String>,
    /// The DNS zone.
    pub zone: String,
}

/// What produced the trace: the header of every export.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The scenario's name.
    pub scenario: String,
    /// Its seed.
    pub seed: u64,
    /// The whole scenario as data (the scenario file's fields), when known.
    pub scenario_config: Option<serde_json::Value>,
    /// Wall-clock time of the run's start, in microseconds since the Unix epoch.
    pub wall_start_micros: u64,
    /// How long the run lasted, in microseconds (trace times run from 0 to this).
    pub duration_micros: u64,
    /// Components and addresses.
    pub topology: TopologyInfo,
    /// `hopscope VERSION`.
    pub generator: String,
}

/// Everything about a run except its journeys: small, known before the export starts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunMeta {
    pub info: RunInfo,
    /// Detailed events the recorder had to shed (0 when the trace is complete).
    pub events_shed: u64,
    /// Outcomes counted at the source: authoritative even when events were shed.
    pub source_outcomes: Vec<(Outcome, u64)>,
    /// Topology and settings changes, oldest first.
    pub markers: Vec<Marker>,
    /// Per-second metrics as the live recorder closed them; exports recompute the counts
    /// from the journeys and take the server gauges (in flight, queued) from these.
    pub seconds: Vec<SecondMetrics>,
    /// The servers' gauges at the end of the run.
    pub servers: Vec<ServerGauge>,
    /// The trace spool stopped keeping journeys: the export holds only the requests that
    /// ended before then (its per-second metrics and totals still cover every request).
    pub truncated: Option<SpoolStop>,
    /// Requests that ended in the run, kept or not.
    pub requests_ended: u64,
}

impl RunMeta {
    /// For a truncated trace, what it holds and why, in one sentence (HAR and Perfetto put
    /// it in their comments).
    pub fn truncation_note(&self) -> Option<String> {
        let t = self.truncated.as_ref()?;
        Some(format!(
            "truncated: this trace holds the first {} of {} requests that ended, because {}; \
             the requests that ended from {:.3} s into the run on were counted (per-second \
             metrics and totals) but not kept",
            t.requests_kept,
            self.requests_ended.max(t.requests_kept),
            t.message,
            t.at_micros as f64 / 1e6
        ))
    }
}

impl RunMeta {
    /// The metadata of a run from its final snapshot.
    pub fn from_snapshot(mut info: RunInfo, snap: &Snapshot) -> RunMeta {
        info.duration_micros = info.duration_micros.max(snap.now_micros);
        let counted: u64 = snap.source_outcomes.iter().map(|(_, n)| n).sum();
        RunMeta {
            truncated: snap.spool_stop.clone(),
            requests_ended: counted.max(snap.totals.ended),
            info,
            events_shed: snap.events_shed,
            source_outcomes: snap.source_outcomes.clone(),
            markers: snap.markers.as_ref().clone(),
            seconds: snap.seconds.as_ref().clone(),
            servers: snap.servers.clone(),
        }
    }
}

/// What an export wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Requests written.
    pub requests: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Counts what passes through to the inner writer.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

enum Writer {
    Json(json::JsonWriter),
    Har(har::HarWriter),
    Perfetto(perfetto::PerfettoWriter),
    Csv,
}

/// Writes one export, a journey at a time.
pub struct Exporter<W: Write> {
    out: Counting<W>,
    writer: Writer,
    meta: RunMeta,
    seconds: SecondsBuilder,
    requests: u64,
}

impl<W: Write> Exporter<W> {
    /// Starts an export of `format` into `out`, writing its header.
    pub fn new(out: W, format: Format, meta: &RunMeta) -> io::Result<Exporter<W>> {
        let mut out = Counting {
            inner: out,
            bytes: 0,
        };
        let writer = match format {
            Format::Json => Writer::Json(json::JsonWriter::start(&mut out, meta)?),
            Format::Har => Writer::Har(har::HarWriter::start(&mut out, meta)?),
            Format::Perfetto => Writer::Perfetto(perfetto::PerfettoWriter::start(&mut out, meta)?),
            Format::Csv => Writer::Csv,
        };
        Ok(Exporter {
            out,
            writer,
            meta: meta.clone(),
            seconds: SecondsBuilder::default(),
            requests: 0,
        })
    }

    /// Writes one request.
    pub fn journey(&mut self, journey: &Journey) -> io::Result<()> {
        self.seconds.add(journey);
        match &mut self.writer {
            Writer::Json(w) => w.journey(&mut self.out, journey)?,
            Writer::Har(w) => w.journey(&mut self.out, journey, &self.meta)?,
            Writer::Perfetto(w) => w.journey(&mut self.out, journey)?,
            Writer::Csv => {}
        }
        self.requests += 1;
        Ok(())
    }

    /// Writes the tail (per-second metrics, totals), flushes, and says what was written.
    pub fn finish(mut self) -> io::Result<ExportStats> {
        let seconds = self.seconds.finish(&self.meta);
        match &mut self.writer {
            Writer::Json(w) => w.finish(&mut self.out, &self.meta, &seconds)?,
            Writer::Har(w) => w.finish(&mut self.out)?,
            Writer::Perfetto(w) => w.finish(&mut self.out, &self.meta, &seconds)?,
            Writer::Csv => csv::write(&mut self.out, &self.meta, &seconds)?,
        }
        self.out.flush()?;
        Ok(ExportStats {
            requests: self.requests,
            bytes: self.out.bytes,
        })
    }
}

/// Exports the journeys in `spool` (the recorder's spool file) to `path`, streaming one
/// journey at a time, and replaces `path` atomically. A spool that is still being written may
/// end in a block cut short: the reader stops before it; a damaged block anywhere is an
/// error.
pub fn export_spool(
    path: &Path,
    format: Format,
    meta: &RunMeta,
    spool: &Path,
) -> Result<ExportStats, ExportError> {
    let spool_error = |source| ExportError::Spool {
        path: spool.to_path_buf(),
        source,
    };
    // A spool that could never be created holds nothing, and the trace says it is truncated.
    let never_created = !spool.exists()
        && meta
            .truncated
            .as_ref()
            .is_some_and(|t| t.requests_kept == 0);
    let journeys: Box<dyn Iterator<Item = io::Result<Journey>>> = if never_created {
        Box::new(std::iter::empty())
    } else {
        Box::new(super::spool::read(spool).map_err(spool_error)?)
    };
    let mut read_failure: Option<io::Error> = None;
    let mut stats = ExportStats::default();
    let written = write_atomic(path, |out| {
        let buffered = BufWriter::with_capacity(256 * 1024, out);
        let mut exporter = Exporter::new(buffered, format, meta)?;
        for journey in journeys {
            match journey {
                Ok(j) => exporter.journey(&j)?,
                Err(e) => {
                    read_failure = Some(e);
                    return Err(io::Error::other("the spool could not be read"));
                }
            }
        }
        stats = exporter.finish()?;
        Ok(())
    });
    match (written, read_failure) {
        (_, Some(e)) => Err(spool_error(e)),
        (Err(source), None) => Err(ExportError::Write {
            path: path.to_path_buf(),
            source,
        }),
        (Ok(()), None) => Ok(stats),
    }
}

/// Exports `journeys` (already in memory, e.g. a loaded trace) to `path` atomically.
pub fn export_journeys<'a>(
    path: &Path,
    format: Format,
    meta: &RunMeta,
    journeys: impl IntoIterator<Item = &'a Journey>,
) -> Result<ExportStats, ExportError> {
    let mut stats = ExportStats::default();
    write_atomic(path, |out| {
        let buffered = BufWriter::with_capacity(256 * 1024, out);
        let mut exporter = Exporter::new(buffered, format, meta)?;
        for j in journeys {
            exporter.journey(j)?;
        }
        stats = exporter.finish()?;
        Ok(())
    })
    .map_err(|source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(stats)
}

/// `micros` since the Unix epoch as an RFC 3339 UTC timestamp with milliseconds
/// (`2024-05-01T12:00:00.123Z`), as HAR's `startedDateTime` wants it.
pub fn rfc3339_millis(micros: u64) -> String {
    let secs = micros / 1_000_000;
    let millis = (micros % 1_000_000) / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) date in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Microseconds as milliseconds, for formats that count in milliseconds.
fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// A size for people.
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} kB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_the_flag_or_the_extension() {
        assert_eq!(Format::parse("chrome").ok(), Some(Format::Perfetto));
        assert_eq!(Format::parse("HAR").ok(), Some(Format::Har));
        let err = Format::parse("xml").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("unknown export format `xml`: use one of json, har, perfetto (or chrome), csv")
        );
        assert_eq!(Format::from_path(Path::new("run.HAR")), Format::Har);
        assert_eq!(Format::from_path(Path::new("m.csv")), Format::Csv);
        assert_eq!(Format::from_path(Path::new("t.trace")), Format::Json);
        assert_eq!(Format::from_path(Path::new("noext")), Format::Json);
        assert_eq!(
            Format::choose(Some("perfetto"), Path::new("x.har")).ok(),
            Some(Format::Perfetto)
        );
    }

    #[test]
    fn a_spool_cut_short_exports_what_it_holds_but_a_damaged_one_is_an_error() {
        use crate::trace::spool::{Spool, SpoolLimit};
        use crate::trace::{Outcome, TraceId};
        let dir =
            std::env::temp_dir().join(format!("hopscope-export-spool-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let spool = dir.join("s.spool");
        let mut writer = Spool::create(&spool, SpoolLimit::unlimited()).expect("spool");
        for n in 1..=2 {
            writer.write(&Journey {
                id: TraceId(n),
                end_micros: Some(10),
                outcome: Some(Outcome::Status(200)),
                ..Journey::default()
            });
        }
        writer.flush();
        let whole = std::fs::read(&spool).expect("read");
        let out = dir.join("out.json");
        let mut cut = whole.clone();
        cut.extend_from_slice(&[200, 0, 0, 0, 100, 0, 0, 0, 1, 2, 3]);
        std::fs::write(&spool, &cut).expect("write");
        let stats = export_spool(&out, Format::Json, &RunMeta::default(), &spool).expect("ok");
        assert_eq!(stats.requests, 2);
        // The block's header says it holds more than it does.
        let mut damaged = whole.clone();
        damaged[8] = damaged[8].wrapping_add(1);
        std::fs::write(&spool, &damaged).expect("write");
        let err = export_spool(&out, Format::Json, &RunMeta::default(), &spool);
        assert!(matches!(err, Err(ExportError::Spool { .. })), "{err:?}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T23:59:59.999 (a leap day).
        assert_eq!(
            rfc3339_millis(1_709_251_199_999_000),
            "2024-02-29T23:59:59.999Z"
        );
        assert_eq!(
            rfc3339_millis(951_782_400_000_123),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
