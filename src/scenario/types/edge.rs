//! The front of the small internet in a scenario: the DNS stub, TLS on the edge, the CDN
//! cache with its eviction policy, and the load balancer with its policy.

use serde::{Deserialize, Serialize};

use std::fmt;
use std::str::FromStr;

use crate::scenario::Dur;

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
