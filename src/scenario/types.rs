//! The scenario's data types, with their defaults. docs/scenarios.md documents every field;
//! keep the two in step.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{ByteSize, Dur, NetworkConfig};

mod actions;
mod steps;
pub use actions::{Action, Button, Measure, Predict, canonical};
pub use steps::{
    Check, CheckKind, DEFAULT_STEP_LIMIT, PLACEHOLDERS, Question, Step, is_placeholder,
    placeholders,
};

/// A whole scenario: what runs, what traffic it sees, what happens when, and what to say.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Short name, shown in titles and exports.
    pub name: String,
    /// One line saying what the scenario shows.
    pub summary: String,
    /// Seed for every random draw (arrivals, ids, service times): same seed, same traffic.
    pub seed: u64,
    /// How long `hopscope run` plays it when no `--duration` is given.
    pub duration: Dur,
    /// Slow motion: every injected delay is multiplied by this (at least 1).
    pub time_scale: f64,
    pub dns: DnsConfig,
    pub tls: TlsConfig,
    pub cdn: CdnConfig,
    pub balancer: BalancerConfig,
    pub servers: ServersConfig,
    pub database: DatabaseConfig,
    pub api: ApiConfig,
    pub traffic: TrafficConfig,
    /// Kinds of clients; when empty, the five standard kinds are used.
    pub profiles: Vec<Profile>,
    /// Timed events: faults and changes, played by `run`, `serve --traffic` and the window.
    pub events: Vec<Event>,
    /// Narration steps for guided lessons.
    pub steps: Vec<Step>,
    pub limits: Limits,
    /// Where components listen: loopback only (`[network] bind = "127.0.0.1"`).
    pub network: NetworkConfig,
    pub trace: TraceConfig,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "untitled".into(),
            summary: String::new(),
            seed: 1,
            duration: Dur::from_secs(10),
            time_scale: 1.0,
            dns: DnsConfig::default(),
            tls: TlsConfig::default(),
            cdn: CdnConfig::default(),
            balancer: BalancerConfig::default(),
            servers: ServersConfig::default(),
            database: DatabaseConfig::default(),
            api: ApiConfig::default(),
            traffic: TrafficConfig::default(),
            profiles: Vec::new(),
            events: Vec::new(),
            steps: Vec::new(),
            limits: Limits::default(),
            network: NetworkConfig::default(),
            trace: TraceConfig::default(),
        }
    }
}

impl Scenario {
    /// The client profiles in effect: the scenario's own, or the standard five.
    pub fn effective_profiles(&self) -> Vec<Profile> {
        if self.profiles.is_empty() {
            Profile::standard_set()
        } else {
            self.profiles.clone()
        }
    }
}

/// The DNS stub: an authoritative server for one zone, over UDP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsConfig {
    /// The zone it answers for.
    pub zone: String,
    /// Names inside the zone that resolve to the edge (`api` means `api.<zone>`).
    pub names: Vec<String>,
    /// Time to live of every answer: how long resolvers may cache it.
    pub ttl: Dur,
    /// Injected delay before each answer.
    pub latency: Dur,
    /// Share of queries silently dropped (0..1), as a lossy network would.
    pub loss: f64,
    /// How long a simulated client's resolver waits for an answer before retrying.
    pub timeout: Dur,
    /// How many times a resolver retries after a timeout before giving up.
    pub retries: u32,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            zone: "example.test".into(),
            names: vec!["api".into(), "cdn".into(), "static".into()],
            ttl: Dur::from_secs(30),
            latency: Dur::from_millis(2),
            loss: 0.0,
            timeout: Dur::from_millis(500),
            retries: 2,
        }
    }
}

/// TLS on the client-to-edge hop.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// When on, the edge also listens for HTTPS and plain HTTP answers 308 to https.
    pub enabled: bool,
}

/// The CDN: a caching reverse proxy in front of the load balancer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CdnConfig {
    /// When off, clients talk to the load balancer directly.
    pub enabled: bool,
    /// How many responses the cache holds before it evicts.
    pub capacity: usize,
    /// Which entry goes when the cache is full.
    pub eviction: Eviction,
    /// One-way latency of the link from the CDN to the load balancer.
    pub latency: Dur,
    /// Random extra delay per packet on that link, up to this.
    pub jitter: Dur,
    /// Whether responses are cached at all (`cache off` turns this off live).
    pub cache_enabled: bool,
    /// Keep cacheable answers this long whatever their max-age (`cache ttl 5s`); unset: the
    /// origin's max-age decides.
    pub ttl: Option<Dur>,
}

impl Default for CdnConfig {
    fn default() -> Self {
        CdnConfig {
            enabled: true,
            capacity: 1000,
            eviction: Eviction::Lru,
            latency: Dur::from_millis(1),
            jitter: Dur::ZERO,
            cache_enabled: true,
            ttl: None,
        }
    }
}

/// Cache eviction policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Eviction {
    /// Least recently used goes first.
    #[default]
    Lru,
    /// Least frequently used goes first.
    Lfu,
    /// Oldest inserted goes first.
    Fifo,
}

impl Eviction {
    /// Every policy, in display order.
    pub const ALL: [Eviction; 3] = [Eviction::Lru, Eviction::Lfu, Eviction::Fifo];

    /// The name used in files and commands.
    pub fn name(self) -> &'static str {
        match self {
            Eviction::Lru => "lru",
            Eviction::Lfu => "lfu",
            Eviction::Fifo => "fifo",
        }
    }
}

impl FromStr for Eviction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Eviction::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| format!("unknown eviction policy `{s}`: use lru, lfu or fifo"))
    }
}

/// The load balancer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BalancerConfig {
    /// How it picks a server.
    pub policy: Policy,
    /// Weights per server for `weighted_round_robin` (missing ones count 1).
    pub weights: Vec<u32>,
    /// One-way latency of the link from the load balancer to each server.
    pub latency: Dur,
    /// Random extra delay per packet on that link, up to this.
    pub jitter: Dur,
    /// A backend that has not answered within this gets the client a 504.
    pub upstream_timeout: Dur,
    /// How often each backend's `/health` is checked.
    pub health_interval: Dur,
    /// A health check not answered within this counts as failed.
    pub health_timeout: Dur,
    /// Consecutive failed checks before a backend is taken out.
    pub unhealthy_after: u32,
    /// Consecutive good checks before it is put back.
    pub healthy_after: u32,
    /// How long a backend that refused a connection is left out (passive ejection).
    pub eject_for: Dur,
}

impl Default for BalancerConfig {
    fn default() -> Self {
        BalancerConfig {
            policy: Policy::RoundRobin,
            weights: Vec::new(),
            latency: Dur(std::time::Duration::from_micros(500)),
            jitter: Dur::ZERO,
            upstream_timeout: Dur::from_secs(2),
            health_interval: Dur::from_millis(500),
            health_timeout: Dur::from_millis(300),
            unhealthy_after: 2,
            healthy_after: 1,
            eject_for: Dur::from_secs(3),
        }
    }
}

/// Load-balancing policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Each server in turn.
    #[default]
    RoundRobin,
    /// In turn, in proportion to the servers' weights (smooth, as nginx does it).
    WeightedRoundRobin,
    /// The server with the fewest requests in progress.
    LeastConnections,
    /// Any server, uniformly at random.
    Random,
    /// Two servers at random, the less busy of the two.
    PowerOfTwo,
    /// Fewest in progress weighted by smoothed peak latency.
    PeakEwma,
    /// The same client always to the same server (rendezvous hash of the client's id).
    ClientHash,
}

impl Policy {
    /// Every policy, in display order.
    pub const ALL: [Policy; 7] = [
        Policy::RoundRobin,
        Policy::WeightedRoundRobin,
        Policy::LeastConnections,
        Policy::Random,
        Policy::PowerOfTwo,
        Policy::PeakEwma,
        Policy::ClientHash,
    ];

    /// The name used in files and commands.
    pub fn name(self) -> &'static str {
        match self {
            Policy::RoundRobin => "round_robin",
            Policy::WeightedRoundRobin => "weighted_round_robin",
            Policy::LeastConnections => "least_connections",
            Policy::Random => "random",
            Policy::PowerOfTwo => "power_of_two",
            Policy::PeakEwma => "peak_ewma",
            Policy::ClientHash => "client_hash",
        }
    }

    /// A name for people.
    pub fn label(self) -> &'static str {
        match self {
            Policy::RoundRobin => "Round robin",
            Policy::WeightedRoundRobin => "Weighted round robin",
            Policy::LeastConnections => "Least connections",
            Policy::Random => "Random",
            Policy::PowerOfTwo => "Power of two choices",
            Policy::PeakEwma => "Peak EWMA",
            Policy::ClientHash => "Client hash (sticky)",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Policy::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Policy::ALL.iter().map(|p| p.name()).collect();
                format!("unknown policy `{s}`: use one of {}", names.join(", "))
            })
    }
}

/// The API servers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServersConfig {
    /// How many servers start.
    pub count: usize,
    /// Requests each server works on at once (its thread pool).
    pub workers: usize,
    /// Requests each server lets wait for a worker; one more gets 503.
    pub queue: usize,
    /// Time a handler spends working on a request, besides the database.
    pub service: ServiceTime,
    /// Per-server service-time multipliers: `[1, 1, 3]` makes server-3 three times slower.
    pub slowdown: Vec<f64>,
    /// When on, session state (the cart) lives in the database, not in the server's memory.
    pub stateless: bool,
}

impl Default for ServersConfig {
    fn default() -> Self {
        ServersConfig {
            count: 3,
            workers: 4,
            queue: 64,
            service: ServiceTime::default(),
            slowdown: Vec::new(),
            stateless: false,
        }
    }
}

impl ServersConfig {
    /// The service-time multiplier of server `index` (0-based).
    pub fn slowdown_of(&self, index: usize) -> f64 {
        self.slowdown.get(index).copied().unwrap_or(1.0)
    }
}

/// A distribution of service times around a mean.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceTime {
    pub distribution: Distribution,
    /// Mean service time.
    pub mean: Dur,
    /// Shape of the lognormal (standard deviation of the underlying normal).
    pub sigma: f64,
}

impl Default for ServiceTime {
    fn default() -> Self {
        ServiceTime {
            distribution: Distribution::Exponential,
            mean: Dur::from_millis(5),
            sigma: 0.5,
        }
    }
}

/// Shape of a service-time distribution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// Always the mean.
    Constant,
    /// Memoryless, as in queueing theory's M/M/c.
    #[default]
    Exponential,
    /// A long right tail, as real services have.
    Lognormal,
}

/// The database shared by all servers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// One-way network latency to the database: every query pays it twice.
    pub latency: Dur,
    /// Connections in the pool shared by the servers.
    pub pool: usize,
    /// Sample rows seeded at start.
    pub users: usize,
    pub restaurants: usize,
    pub orders: usize,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            latency: Dur::from_millis(1),
            pool: 4,
            users: 100,
            restaurants: 50,
            orders: 200,
        }
    }
}

/// What the API answers and how it may be cached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Resources answered with `Cache-Control: public, max-age=…`; the others say `no-store`.
    pub public_resources: Vec<String>,
    /// The max-age given to public resources.
    pub max_age: Dur,
    /// The bearer token `orders` accepts.
    pub allowed_token: String,
    /// A well-formed token `orders` refuses (403).
    pub forbidden_token: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            public_resources: vec!["restaurants".into(), "users".into()],
            max_age: Dur::from_secs(10),
            allowed_token: "letmein-7f3a".into(),
            forbidden_token: "guest-0000".into(),
        }
    }
}

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

impl Profile {
    /// The five kinds of client the reference notes name, with typical habits.
    pub fn standard_set() -> Vec<Profile> {
        let t = Template::get;
        vec![
            Profile {
                name: "browser".into(),
                weight: 4.0,
                clients: 20,
                latency: Dur::from_millis(15),
                keep_alive: true,
                mix: vec![
                    Template {
                        weight: 4.0,
                        ..t("/restaurants/{id}")
                    },
                    Template {
                        weight: 2.0,
                        ..t("/restaurants?_page=1&_limit=10")
                    },
                    Template {
                        weight: 1.0,
                        ..t("/users/{id}")
                    },
                ],
                ..Profile::default()
            },
            Profile {
                name: "mobile".into(),
                weight: 3.0,
                clients: 20,
                latency: Dur::from_millis(40),
                jitter: Dur::from_millis(10),
                keep_alive: true,
                mix: vec![
                    Template {
                        weight: 4.0,
                        ..t("/restaurants/{id}")
                    },
                    Template {
                        weight: 1.0,
                        method: "POST".into(),
                        path: "/orders".into(),
                        body: Some(
                            r#"{"user_id": {id}, "restaurant_id": 1, "total": 12.5}"#.into(),
                        ),
                        auth: Auth::Allowed,
                        ..Template::default()
                    },
                ],
                ..Profile::default()
            },
            Profile {
                name: "cli".into(),
                weight: 1.0,
                clients: 3,
                latency: Dur::from_millis(10),
                keep_alive: false,
                mix: vec![t("/users/{id}")],
                ..Profile::default()
            },
            Profile {
                name: "server".into(),
                weight: 1.0,
                clients: 2,
                latency: Dur::from_millis(2),
                keep_alive: true,
                mix: vec![Template {
                    auth: Auth::Allowed,
                    ..t("/orders?_limit=5")
                }],
                ..Profile::default()
            },
            Profile {
                name: "iot".into(),
                weight: 1.0,
                clients: 10,
                latency: Dur::from_millis(80),
                jitter: Dur::from_millis(20),
                keep_alive: false,
                tls: false,
                mix: vec![t("/restaurants/{id}")],
                ..Profile::default()
            },
        ]
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
