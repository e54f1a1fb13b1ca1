//! What components report: a request begins, arrives at a hop, spends time in a phase, ends.
//! Each event reads like a line of a packet log (`Display`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::TraceId;

mod component;
mod outcome;
mod span;
pub use component::{Component, Phase};
pub use outcome::{CacheStatus, Outcome, OutcomeClass, answered_by};
pub use span::{Attr, Span};

/// A request began: sent by a simulated client, or first seen at the edge when it came from
/// outside (curl).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Begin {
    pub id: TraceId,
    pub at_micros: u64,
    /// Client profile (`browser`, …; `outside` for requests from other tools).
    pub profile: String,
    /// Which client (`browser-3`, or the outside peer's address).
    pub client: String,
    pub method: String,
    pub url: String,
    /// It came from outside hopscope (curl, a browser, wrk).
    pub external: bool,
}

/// A request ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct End {
    pub id: TraceId,
    pub at_micros: u64,
    pub outcome: Outcome,
    /// `X-Cache` of the answer, if it passed the CDN.
    pub cache: Option<CacheStatus>,
    /// `X-Served-By` of the answer, if a server produced it.
    pub served_by: Option<String>,
    /// Response body size.
    pub bytes: u64,
    /// The connection was reused (keep-alive), so there was no connect.
    pub reused: bool,
}

impl End {
    /// The server that answered the request itself (see [`answered_by`]).
    pub fn answered_by(&self) -> Option<&str> {
        answered_by(self.served_by.as_deref(), self.cache)
    }
}

/// The request and response as the client saw them, for the inspector.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub id: TraceId,
    pub request_headers: Vec<(String, String)>,
    pub request_body: String,
    pub response_headers: Vec<(String, String)>,
    /// The start of the response body (at most a few kilobytes).
    pub response_body: String,
}

/// Something changed in the topology or settings (a plot marker and a log line).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    pub at_micros: u64,
    /// The component concerned, if one.
    pub component: Option<Component>,
    /// What happened, in words (`killed server-2`, `policy least_connections`).
    pub text: String,
}

/// A DNS query the stub answered (or dropped), from a simulated client or an outside tool
/// such as dig.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DnsQuery {
    /// The request it was made for, when a simulated client sent it (carried in an EDNS
    /// option); `None` for outside tools.
    pub id: Option<TraceId>,
    /// When the query arrived.
    pub received_micros: u64,
    /// When the answer left (or the query was dropped).
    pub at_micros: u64,
    /// Who asked (`127.0.0.1:PORT`).
    pub peer: String,
    /// The name asked for, as written in the query.
    pub name: String,
    /// The record type (`A`, `SRV`, …).
    pub qtype: String,
    /// The response code (`NOERROR`, `NXDOMAIN`, `REFUSED`, `FORMERR`, `NOTIMP`), or
    /// `DROPPED` when no answer was sent.
    pub rcode: String,
    /// The answers, as dig prints their data (`127.0.0.1`, `0 0 8080 api.example.test.`).
    pub answers: Vec<String>,
}

/// One report from a component to the recorder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceEvent {
    Begin(Begin),
    /// The request reached a component (used to show where it is now).
    Arrive {
        id: TraceId,
        component: Component,
        at_micros: u64,
    },
    Span(Span),
    End(End),
    Exchange(Box<Exchange>),
    Marker(Marker),
    Dns(Box<DnsQuery>),
}

impl TraceEvent {
    /// When it happened (for a span: when it ended).
    pub fn at_micros(&self) -> u64 {
        match self {
            TraceEvent::Begin(b) => b.at_micros,
            TraceEvent::Arrive { at_micros, .. } => *at_micros,
            TraceEvent::Span(s) => s.end_micros,
            TraceEvent::End(e) => e.at_micros,
            TraceEvent::Exchange(_) => 0,
            TraceEvent::Marker(m) => m.at_micros,
            TraceEvent::Dns(q) => q.at_micros,
        }
    }
}

fn millis(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

impl fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceEvent::Begin(b) => write!(
                f,
                "{:>10.3}ms {} {} > {} {}",
                millis(b.at_micros),
                b.id.short(),
                b.client,
                b.method,
                b.url
            ),
            TraceEvent::Arrive {
                id,
                component,
                at_micros,
            } => write!(
                f,
                "{:>10.3}ms {} -> {component}",
                millis(*at_micros),
                id.short()
            ),
            TraceEvent::Span(s) => {
                write!(
                    f,
                    "{:>10.3}ms {} {} {} {:.3}ms",
                    millis(s.end_micros),
                    s.id.short(),
                    s.component,
                    s.phase,
                    millis(s.micros())
                )?;
                for a in &s.attrs {
                    write!(f, " {}={}", a.key, a.value)?;
                }
                Ok(())
            }
            TraceEvent::End(e) => {
                write!(
                    f,
                    "{:>10.3}ms {} < {}",
                    millis(e.at_micros),
                    e.id.short(),
                    e.outcome.describe()
                )?;
                if let Some(c) = e.cache {
                    write!(f, " X-Cache: {}", c.as_str())?;
                }
                if let Some(s) = &e.served_by {
                    write!(f, " X-Served-By: {s}")?;
                }
                Ok(())
            }
            TraceEvent::Exchange(x) => write!(f, "{} headers", x.id.short()),
            TraceEvent::Marker(m) => write!(f, "{:>10.3}ms * {}", millis(m.at_micros), m.text),
            TraceEvent::Dns(q) => write!(
                f,
                "{:>10.3}ms {} dns {} {} {} {}",
                millis(q.at_micros),
                q.peer,
                q.name,
                q.qtype,
                q.rcode,
                q.answers.join(" ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_and_outcomes_round_trip_as_text() {
        for c in [
            Component::Client,
            Component::Dns,
            Component::Cdn,
            Component::Lb,
            Component::Server(12),
            Component::Db,
        ] {
            assert_eq!(c.to_string().parse::<Component>(), Ok(c));
        }
        for o in [
            Outcome::Status(503),
            Outcome::DnsFailure,
            Outcome::ConnectionRefused,
            Outcome::ConnectionReset,
            Outcome::Timeout,
            Outcome::TlsError,
            Outcome::Cancelled,
        ] {
            assert_eq!(o.to_string().parse::<Outcome>(), Ok(o));
        }
        assert!("server-0".parse::<Component>().is_err());
        assert!("99".parse::<Outcome>().is_err());
    }
}
