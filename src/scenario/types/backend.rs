//! The back of the small internet in a scenario: the API servers and their service times,
//! the database they share, and what the API answers.

use serde::{Deserialize, Serialize};

use crate::scenario::Dur;

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
