//! The engine's gauges as one plain value, sampled by the recorder thread with every
//! snapshot and published beside it: what the window and the command line show about the
//! running world (paused, the policy, the cache, which components are up) without reaching
//! into the components.

use super::cdn::CacheView;
use super::topology::Topology;
use crate::scenario::Policy;
use crate::trace::Component;

/// The running world's gauges at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// Trace time when sampled (microseconds since the run started).
    pub now_micros: u64,
    pub time_scale: f64,
    /// Generated traffic is paused.
    pub paused: bool,
    /// Requests the clients have sent (simulated ones; outside requests are not counted).
    pub sent: u64,
    /// Requests the clients have open.
    pub open_requests: u64,
    pub policy: Policy,
    /// The CDN's cache, when the scenario has a CDN.
    pub cache: Option<CacheView>,
    /// Which component clients connect to first.
    pub edge: Component,
    pub dns_alive: bool,
    pub cdn_alive: bool,
    pub lb_alive: bool,
    /// API servers in the topology now.
    pub servers: usize,
}

impl Topology {
    /// Samples every gauge now.
    pub fn status(&self) -> Status {
        Status {
            now_micros: self.env.now(),
            time_scale: self.env.scale.get(),
            paused: self.clients.is_paused(),
            sent: self.clients.sent(),
            open_requests: self.clients.open_requests(),
            policy: self.lb.policy(),
            cache: self.cdn.as_ref().map(|c| c.view()),
            edge: self.edge_component(),
            dns_alive: self.is_alive(Component::Dns),
            cdn_alive: self.is_alive(Component::Cdn),
            lb_alive: self.is_alive(Component::Lb),
            servers: self.servers().len(),
        }
    }
}
