//! The parts of the small internet a trace names (`Component`: client, DNS, CDN, LB,
//! server-N, database) and the phases of a request's journey (`Phase`), with the text form
//! the trace and its exports use.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::scenario::{server_name, server_number};

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
            Component::Server(n) => f.write_str(&server_name(*n)),
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
            _ => match server_number(s) {
                Some(n) => Component::Server(n),
                None => {
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
