//! What components report: a request begins, arrives at a hop, spends time in a phase, ends.
//! Each event reads like a line of a packet log (`Display`).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::TraceId;

/// A part of the small internet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// The client that sent the request (simulated, or an outside tool such as curl).
    Client,
    /// The DNS stub.
    Dns,
    /// The CDN cache.
    Cdn,
    /// The load balancer.
    Lb,
    /// API server number N (1-based, as in `server-1`).
    Server(u16),
    /// The database.
    Db,
}

impl Component {
    /// The lane order of a sequence diagram: client, DNS, CDN, LB, servers, database.
    pub fn lane(self) -> u32 {
        match self {
            Component::Client => 0,
            Component::Dns => 1,
            Component::Cdn => 2,
            Component::Lb => 3,
            Component::Server(n) => 4 + u32::from(n),
            Component::Db => u32::MAX,
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Component::Client => f.write_str("client"),
            Component::Dns => f.write_str("dns"),
            Component::Cdn => f.write_str("cdn"),
            Component::Lb => f.write_str("lb"),
            Component::Server(n) => write!(f, "server-{n}"),
            Component::Db => f.write_str("db"),
        }
    }
}

impl FromStr for Component {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "client" => Component::Client,
            "dns" => Component::Dns,
            "cdn" => Component::Cdn,
            "lb" => Component::Lb,
            "db" => Component::Db,
            _ => match s.strip_prefix("server-").map(str::parse::<u16>) {
                Some(Ok(n)) if n > 0 => Component::Server(n),
                _ => {
                    return Err(format!(
                        "unknown component `{s}`: use client, dns, cdn, lb, db or server-N"
                    ));
                }
            },
        })
    }
}

impl Serialize for Component {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Component {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What a span of time was spent on. Client phases use HAR's names and order; the
/// server-side ones nest inside the client's `wait`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Waiting for a free connection slot before anything was sent.
    Blocked,
    /// Name lookup over UDP.
    Dns,
    /// TCP connect (three-way handshake); contains `ssl` when TLS is on, as in HAR.
    Connect,
    /// TLS handshake.
    Ssl,
    /// Writing the request.
    Send,
    /// Waiting for the first byte of the response.
    Wait,
    /// Reading the response.
    Receive,
    /// CDN cache lookup (attribute `result`: HIT, MISS, …).
    Cache,
    /// Load balancer choosing a server (attributes `server`, `policy`, `reason`).
    Pick,
    /// A proxy waiting on the next hop (CDN to LB, LB to server).
    Forward,
    /// Waiting in a server's queue for a worker.
    Queue,
    /// A server's handler working on the request.
    Handler,
    /// A database query (attribute `sql`).
    Db,
    /// Held at a hop in step mode until the learner let it go on: not network time, so it
    /// is left out of the request's latency.
    Held,
}

impl Phase {
    /// Every phase, in display order.
    pub const ALL: [Phase; 14] = [
        Phase::Blocked,
        Phase::Dns,
        Phase::Connect,
        Phase::Ssl,
        Phase::Send,
        Phase::Wait,
        Phase::Receive,
        Phase::Cache,
        Phase::Pick,
        Phase::Forward,
        Phase::Queue,
        Phase::Handler,
        Phase::Db,
        Phase::Held,
    ];

    /// The name used in traces and summaries.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Blocked => "blocked",
            Phase::Dns => "dns",
            Phase::Connect => "connect",
            Phase::Ssl => "ssl",
            Phase::Send => "send",
            Phase::Wait => "wait",
            Phase::Receive => "receive",
            Phase::Cache => "cache",
            Phase::Pick => "pick",
            Phase::Forward => "forward",
            Phase::Queue => "queue",
            Phase::Handler => "handler",
            Phase::Db => "db",
            Phase::Held => "held",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A key/value detail of a span: the SQL text, the LB's choice and reason, HIT or MISS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attr {
    pub key: Cow<'static, str>,
    pub value: String,
}

impl Attr {
    /// A detail with a fixed key.
    pub fn new(key: &'static str, value: impl Into<String>) -> Attr {
        Attr {
            key: Cow::Borrowed(key),
            value: value.into(),
        }
    }
}

/// Time a request spent in one phase at one component.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub id: TraceId,
    pub component: Component,
    pub phase: Phase,
    pub start_micros: u64,
    pub end_micros: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<Attr>,
}

impl Span {
    /// The value of attribute `key`, if the span has it.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
    }

    /// Length in microseconds.
    pub fn micros(&self) -> u64 {
        self.end_micros.saturating_sub(self.start_micros)
    }
}

/// How a request ended: exactly one per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// An HTTP response with this status code.
    Status(u16),
    /// The name could not be resolved ("could not resolve host").
    DnsFailure,
    /// Nothing was listening ("connection refused").
    ConnectionRefused,
    /// The peer closed the connection before answering ("connection reset by peer").
    ConnectionReset,
    /// No answer in time ("connection timed out", or the request timed out).
    Timeout,
    /// The TLS handshake failed.
    TlsError,
    /// Still open when the run stopped and its grace was over.
    Cancelled,
}

/// Outcomes grouped as the plots and the palette group them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeClass {
    Success,
    Redirect,
    ClientError,
    ServerError,
    Failure,
}

impl OutcomeClass {
    /// Every class, in display order.
    pub const ALL: [OutcomeClass; 5] = [
        OutcomeClass::Success,
        OutcomeClass::Redirect,
        OutcomeClass::ClientError,
        OutcomeClass::ServerError,
        OutcomeClass::Failure,
    ];

    /// Short label: `2xx`, `3xx`, `4xx`, `5xx`, `failed`.
    pub fn label(self) -> &'static str {
        match self {
            OutcomeClass::Success => "2xx",
            OutcomeClass::Redirect => "3xx",
            OutcomeClass::ClientError => "4xx",
            OutcomeClass::ServerError => "5xx",
            OutcomeClass::Failure => "failed",
        }
    }

    /// Position in `ALL`.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Outcome {
    /// The class used for colour and plots.
    pub fn class(self) -> OutcomeClass {
        match self {
            Outcome::Status(s) if s < 300 => OutcomeClass::Success,
            Outcome::Status(s) if s < 400 => OutcomeClass::Redirect,
            Outcome::Status(s) if s < 500 => OutcomeClass::ClientError,
            Outcome::Status(_) => OutcomeClass::ServerError,
            _ => OutcomeClass::Failure,
        }
    }

    /// The status code, when there is one.
    pub fn status(self) -> Option<u16> {
        match self {
            Outcome::Status(s) => Some(s),
            _ => None,
        }
    }

    /// What a user would see, as curl words it.
    pub fn describe(self) -> String {
        match self {
            Outcome::Status(s) => format!("HTTP {s}"),
            Outcome::DnsFailure => "could not resolve host".into(),
            Outcome::ConnectionRefused => "connection refused".into(),
            Outcome::ConnectionReset => "connection reset by peer".into(),
            Outcome::Timeout => "timed out".into(),
            Outcome::TlsError => "TLS handshake failed".into(),
            Outcome::Cancelled => "cancelled when the run stopped".into(),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Status(s) => write!(f, "{s}"),
            Outcome::DnsFailure => f.write_str("dns_failure"),
            Outcome::ConnectionRefused => f.write_str("connection_refused"),
            Outcome::ConnectionReset => f.write_str("connection_reset"),
            Outcome::Timeout => f.write_str("timeout"),
            Outcome::TlsError => f.write_str("tls_error"),
            Outcome::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "dns_failure" => Outcome::DnsFailure,
            "connection_refused" => Outcome::ConnectionRefused,
            "connection_reset" => Outcome::ConnectionReset,
            "timeout" => Outcome::Timeout,
            "tls_error" => Outcome::TlsError,
            "cancelled" => Outcome::Cancelled,
            // Exactly three digits, as the schema's pattern says (`+200` and `0200` are not).
            _ => match s.parse::<u16>() {
                Ok(code)
                    if s.len() == 3
                        && s.bytes().all(|b| b.is_ascii_digit())
                        && (100..600).contains(&code) =>
                {
                    Outcome::Status(code)
                }
                _ => return Err(format!("unknown outcome `{s}`")),
            },
        })
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What the CDN did with a request (`X-Cache`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CacheStatus {
    /// Answered from the cache.
    Hit,
    /// Not in the cache: fetched from the origin.
    Miss,
    /// In the cache but too old, and the origin sent a new copy.
    Expired,
    /// Too old, but the origin said it had not changed (304).
    Revalidated,
    /// Not cacheable (a write, or `no-store`): passed straight through.
    Bypass,
}

impl CacheStatus {
    /// The `X-Cache` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Expired => "EXPIRED",
            CacheStatus::Revalidated => "REVALIDATED",
            CacheStatus::Bypass => "BYPASS",
        }
    }

    /// Parses an `X-Cache` header value.
    pub fn parse(value: &str) -> Option<CacheStatus> {
        Some(match value {
            "HIT" => CacheStatus::Hit,
            "MISS" => CacheStatus::Miss,
            "EXPIRED" => CacheStatus::Expired,
            "REVALIDATED" => CacheStatus::Revalidated,
            "BYPASS" => CacheStatus::Bypass,
            _ => return None,
        })
    }

    /// Whether the answer came from the cache without the origin sending a body.
    pub fn is_hit(self) -> bool {
        matches!(self, CacheStatus::Hit | CacheStatus::Revalidated)
    }
}

/// The server that answered a request itself, from its answer's `X-Served-By` and
/// `X-Cache`: none for a cache HIT, whose answer is the CDN's copy (it still carries the
/// `X-Served-By` of the server that made it). A MISS, EXPIRED, REVALIDATED (the server
/// answered the conditional request) or BYPASS reached that server. Per-server load (the
/// summary's `served`, the load plot) counts this, never the header alone.
pub fn answered_by(served_by: Option<&str>, cache: Option<CacheStatus>) -> Option<&str> {
    match cache {
        Some(CacheStatus::Hit) => None,
        _ => served_by,
    }
}

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

    #[test]
    fn outcome_classes_follow_status_ranges() {
        assert_eq!(Outcome::Status(204).class(), OutcomeClass::Success);
        assert_eq!(Outcome::Status(308).class(), OutcomeClass::Redirect);
        assert_eq!(Outcome::Status(404).class(), OutcomeClass::ClientError);
        assert_eq!(Outcome::Status(503).class(), OutcomeClass::ServerError);
        assert_eq!(Outcome::Timeout.class(), OutcomeClass::Failure);
    }
}
