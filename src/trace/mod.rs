//! The trace is the spine of hopscope: every component reports what it did as `TraceEvent`s
//! (a request began, arrived at a hop, spent time in a phase, ended), the recorder assembles
//! them into journeys and rolling metrics, and the exporters write them out.
//!
//! Plain data and logic only: nothing here opens a socket or knows about the window.

mod atomic;
mod clock;
mod event;
pub mod export;
mod ids;
pub mod import;
mod journey;
pub mod metrics;
mod recorder;
pub mod replay;
mod sink;
mod snapshot;
pub mod spool;
mod summary;
#[cfg(test)]
pub mod testing;

pub use atomic::write_atomic;
pub use clock::Clock;
pub use event::{
    Attr, Begin, CacheStatus, Component, DnsQuery, End, Exchange, Marker, Outcome, OutcomeClass,
    Phase, Span, TraceEvent, answered_by,
};
pub use export::{ExportError, ExportStats, Exporter, Format, RunInfo, RunMeta};
pub use ids::{TraceId, TraceParent};
pub use journey::Journey;
pub use recorder::{Recorder, RecorderConfig};
pub use sink::{EventSink, OutcomeCounters};
pub use snapshot::{ServerGauge, Snapshot, Totals};
pub use spool::{SpoolLimit, SpoolStop, StopReason};
pub use summary::{PhaseSummary, ServerSummary, Summary};
