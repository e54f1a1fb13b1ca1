//! A scenario's resource limits (request sizes, connections, timeouts) and what its trace
//! records.

use serde::{Deserialize, Serialize};

use crate::scenario::{ByteSize, Dur};

/// Resource limits of the network-facing components.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest request head (request line and headers) accepted; larger gets 431.
    pub max_header_bytes: usize,
    /// Largest request body accepted; larger gets 413.
    pub max_body_bytes: usize,
    /// Open connections per component at most; more are closed at once.
    pub max_connections: usize,
    /// A request head begun but not whole within this gets 408 and its connection closes;
    /// a connection that sends nothing for this long is closed without an answer.
    pub header_timeout: Dur,
    /// A request body that has not arrived whole within this gets 408.
    pub body_timeout: Dur,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 16 * 1024,
            max_body_bytes: 1024 * 1024,
            max_connections: 4096,
            header_timeout: Dur::from_secs(10),
            body_timeout: Dur::from_secs(10),
        }
    }
}

/// What the trace records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TraceConfig {
    /// Keep request and response headers and a body preview for the inspector.
    pub capture_headers: bool,
    /// Completed journeys kept in memory for the window (all are spooled to disk).
    pub keep_recent: usize,
    /// How large the trace spool on disk may grow (never more than half the free space of
    /// its disk at start). Past it, requests are still counted but no longer kept for export.
    pub spool_limit: ByteSize,
}

/// The default `trace.spool_limit`: about 25 million requests of the default scenario.
pub const DEFAULT_SPOOL_LIMIT: ByteSize = ByteSize::gib(4);

impl Default for TraceConfig {
    fn default() -> Self {
        TraceConfig {
            capture_headers: true,
            keep_recent: 5000,
            spool_limit: DEFAULT_SPOOL_LIMIT,
        }
    }
}
