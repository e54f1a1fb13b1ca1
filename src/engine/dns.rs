//! The DNS stub: an authoritative-only name server for the scenario's zone, speaking the real
//! DNS wire format (hickory-proto) over UDP on 127.0.0.1, so `dig` works against it.
//!
//! It owns its socket and guarantees:
//! - every configured name `N` answers `A 127.0.0.1` and `_http._tcp.N` answers an SRV record
//!   carrying the edge's port; other types of an existing name get an empty NOERROR (NODATA),
//!   unknown names in the zone get NXDOMAIN (with the zone's SOA for negative caching), and
//!   names outside the zone get REFUSED: it never recurses, so it cannot be used to amplify;
//! - bad input never stops it: an unparsable query gets FORMERR (or is dropped when not even
//!   the 12-byte header is there), other opcodes get NOTIMP, responses sent to it are dropped;
//! - injected latency is served from a bounded set of spawned tasks, so one slow answer never
//!   delays the others; loss and [`DnsMode`](crate::scenario::DnsMode) decide which queries
//!   are silently dropped;
//! - every datagram it receives is reported as one
//!   [`TraceEvent::Dns`](crate::trace::TraceEvent::Dns), with the request's trace id when
//!   the sender put one in EDNS option `TRACE_ID_OPTION` (in `wire`).

use std::io;

use hickory_proto::op::ResponseCode;

mod server;
mod wire;
mod zone;
pub use server::{DnsSetup, DnsStub};
pub use wire::{rcode_name, trace_id_option};

/// Answers waiting out their injected latency at most; queries beyond this are dropped.
pub const MAX_OUTSTANDING_ANSWERS: usize = 1024;

/// Why the stub could not start or restart.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The UDP port could not be bound.
    #[error(
        "cannot bind the DNS stub to UDP 127.0.0.1:{port}: {source} (is another program using that port?)"
    )]
    Bind { port: u16, source: io::Error },
    /// The zone or one of its names is not a valid domain name.
    #[error("`{name}` is not a valid DNS name: {reason}")]
    BadName { name: String, reason: String },
    /// The run is stopping, so the stub cannot come back.
    #[error("the run is shutting down: the DNS stub cannot restart")]
    ShuttingDown,
}

/// What the stub has done so far, as plain numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DnsCounts {
    /// Datagrams received (every one, including junk and dropped ones).
    pub queries: u64,
    pub noerror: u64,
    pub nxdomain: u64,
    pub refused: u64,
    pub formerr: u64,
    pub notimp: u64,
    /// Answers with any other response code (BADVERS).
    pub other_rcode: u64,
    /// Queries that got no answer: lost, dropped by mode, junk, or over the outstanding limit.
    pub dropped: u64,
}

impl DnsCounts {
    /// Answers sent, whatever their response code.
    pub fn answered(&self) -> u64 {
        self.noerror + self.nxdomain + self.refused + self.formerr + self.notimp + self.other_rcode
    }
}

impl DnsCounts {
    fn answered_with(&mut self, rcode: ResponseCode) {
        *match rcode {
            ResponseCode::NoError => &mut self.noerror,
            ResponseCode::NXDomain => &mut self.nxdomain,
            ResponseCode::Refused => &mut self.refused,
            ResponseCode::FormErr => &mut self.formerr,
            ResponseCode::NotImp => &mut self.notimp,
            _ => &mut self.other_rcode,
        } += 1;
    }
}

#[cfg(test)]
pub(crate) mod tests;
