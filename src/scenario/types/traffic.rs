//! What a scenario sends: the traffic generator, the kinds of client (profiles) and their
//! request templates, and timed events with the requests they may send. The standard
//! profiles are data, in `profiles.rs`.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::scenario::Dur;

/// The traffic generator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrafficConfig {
    /// Whether clients send requests at all.
    pub enabled: bool,
    /// `open`: requests arrive at a rate whatever the answers; `closed`: users wait for an
    /// answer and think before the next.
    pub mode: TrafficMode,
    /// Open loop: requests per second (Poisson arrivals).
    pub rate: f64,
    /// Open loop: the rate climbs from zero to `rate` over this long.
    pub ramp: Dur,
    /// Closed loop: how many users.
    pub users: usize,
    /// Closed loop: mean think time between a user's requests (exponential).
    pub think: Dur,
    /// Stop after this many requests (0: no limit).
    pub requests: u64,
    /// Zipf exponent of resource popularity (0: uniform; 1: a few ids are most requested).
    pub zipf: f64,
    /// A client gives up on a request after this long (`timeout`).
    pub timeout: Dur,
    /// Requests in flight at most; arrivals beyond it wait (counted as blocked time).
    pub max_in_flight: usize,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        TrafficConfig {
            enabled: true,
            mode: TrafficMode::Open,
            rate: 20.0,
            ramp: Dur::ZERO,
            users: 10,
            think: Dur::from_secs(1),
            requests: 0,
            zipf: 1.0,
            timeout: Dur::from_secs(5),
            max_in_flight: 10_000,
        }
    }
}

/// Open or closed loop traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrafficMode {
    #[default]
    Open,
    Closed,
}

/// A kind of client: how it connects and what it asks for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// `browser`, `mobile`, `cli`, `server`, `iot` or any name.
    pub name: String,
    /// Share of the traffic (relative to the other profiles).
    pub weight: f64,
    /// Distinct clients of this kind (each has its own id, connections and DNS cache).
    pub clients: usize,
    /// One-way latency of this client's link to the edge.
    pub latency: Dur,
    /// Random extra delay on each packet, up to this.
    pub jitter: Dur,
    /// Share of packets lost on this link (each loss costs a retransmission timeout).
    pub loss: f64,
    /// Reuse connections (a session) or open a new one per request.
    pub keep_alive: bool,
    /// Use HTTPS when TLS is on.
    pub tls: bool,
    /// The requests it sends, chosen by weight.
    pub mix: Vec<Template>,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            name: "client".into(),
            weight: 1.0,
            clients: 5,
            latency: Dur::from_millis(10),
            jitter: Dur::ZERO,
            loss: 0.0,
            keep_alive: true,
            tls: true,
            mix: vec![Template::get("/restaurants/{id}")],
        }
    }
}

/// A request a client may send. `{id}` in the path or body becomes a resource id drawn from
/// the popularity distribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Template {
    pub weight: f64,
    pub method: String,
    pub path: String,
    /// A JSON body (sent with `Content-Type: application/json`).
    pub body: Option<String>,
    /// Which bearer token to send.
    pub auth: Auth,
    /// Extra request headers.
    pub headers: BTreeMap<String, String>,
}

impl Default for Template {
    fn default() -> Self {
        Template {
            weight: 1.0,
            method: "GET".into(),
            path: "/".into(),
            body: None,
            auth: Auth::None,
            headers: BTreeMap::new(),
        }
    }
}

impl Template {
    /// A plain GET of `path`.
    pub fn get(path: &str) -> Template {
        Template {
            path: path.into(),
            ..Template::default()
        }
    }
}

/// Which credentials a request carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    #[default]
    None,
    /// The scenario's allowed token.
    Allowed,
    /// The scenario's forbidden token.
    Forbidden,
}

/// A timed event: a control command (the same text `serve` reads on stdin), or a request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Event {
    /// When, from the start of the run.
    pub at: Option<Dur>,
    /// Or: once this many requests have been sent.
    pub after_requests: Option<u64>,
    /// A control command such as `kill server-2` or `slow server-1 200ms`.
    #[serde(rename = "do")]
    pub action: Option<String>,
    /// A specific request to send, from a client of this scenario.
    pub send: Option<SendRequest>,
}

/// A specific request sent by a scenario event or the "send one request" button.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SendRequest {
    pub method: String,
    pub path: String,
    pub body: Option<String>,
    pub auth: Auth,
    pub headers: BTreeMap<String, String>,
    /// The client profile that sends it (default: the first).
    pub profile: Option<String>,
    /// The host name it looks up (default `api.<zone>`).
    pub host: Option<String>,
}

impl Default for SendRequest {
    fn default() -> Self {
        SendRequest {
            method: "GET".into(),
            path: "/restaurants/1".into(),
            body: None,
            auth: Auth::None,
            headers: BTreeMap::new(),
            profile: None,
            host: None,
        }
    }
}
