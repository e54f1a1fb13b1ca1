//! The world as a lesson sees it: every setting a control command can change (servers and
//! their faults, DNS, CDN and load balancer up or down, policy, cache settings, traffic,
//! connection habits, links, time scale), as plain data.
//!
//! A step's expected world is the scenario's start plus the effects of the earlier steps'
//! actions (`apply`); the live world is read from the running topology
//! (`engine::Topology::world`); `diff` gives the control commands that turn one into the
//! other, each with a few words for the learner. Cache contents, carts and requests in
//! flight are not settings and are not part of it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{
    CacheCommand, Command, DnsMode, Dur, Eviction, Link, Policy, Scenario, Target, server_name,
};

mod diff;

/// One server's state.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerState {
    /// Its port is open.
    pub alive: bool,
    /// It accepts but never answers.
    pub hung: bool,
    /// Extra service time.
    pub slow: Duration,
    /// Share of requests answered 500.
    pub error_rate: f64,
}

impl ServerState {
    /// A server just started: healthy, normal speed, no faults.
    pub fn fresh() -> ServerState {
        ServerState {
            alive: true,
            hung: false,
            slow: Duration::ZERO,
            error_rate: 0.0,
        }
    }
}

/// The CDN's cache settings.
#[derive(Clone, Debug, PartialEq)]
pub struct CacheState {
    pub enabled: bool,
    pub capacity: usize,
    pub eviction: Eviction,
    pub ttl: Option<Dur>,
}

/// A client profile's link and habits.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientState {
    pub weight: f64,
    pub latency: Duration,
    pub loss: f64,
    pub keep_alive: bool,
}

/// Every setting a command can change.
#[derive(Clone, Debug, PartialEq)]
pub struct World {
    /// Servers by number.
    pub servers: BTreeMap<u16, ServerState>,
    pub dns_alive: bool,
    pub dns_mode: DnsMode,
    /// Whether the CDN is up (false when there is none).
    pub cdn_alive: bool,
    pub lb_alive: bool,
    pub policy: Policy,
    /// The cache, when there is a CDN.
    pub cache: Option<CacheState>,
    pub rate: f64,
    pub paused: bool,
    pub zipf: f64,
    /// Client profiles by name.
    pub clients: BTreeMap<String, ClientState>,
    /// HTTPS at the edge.
    pub tls: bool,
    pub cdn_latency: Option<Duration>,
    pub cdn_loss: Option<f64>,
    pub lb_latency: Duration,
    pub lb_loss: f64,
    pub db_latency: Duration,
    pub stateless: bool,
    pub time_scale: f64,
}

/// Which settings a restore touches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Only these settings (by `key_of`).
    Only(BTreeSet<String>),
    /// Every setting but these.
    AllBut(BTreeSet<String>),
}

impl Scope {
    /// Every setting.
    pub fn all() -> Scope {
        Scope::AllBut(BTreeSet::new())
    }

    /// Whether the setting `key` is restored.
    pub fn wants(&self, key: &str) -> bool {
        match self {
            Scope::Only(keys) => keys.contains(key),
            Scope::AllBut(keys) => !keys.contains(key),
        }
    }
}

/// One command of a restore, with the setting it touches and what it means.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The setting (`server-2`, `servers`, `rate`, `cache`, `weight`…), as `key_of` names it.
    pub key: String,
    pub command: Command,
    /// For the learner: `server-2 running again`.
    pub words: String,
}

impl World {
    /// The world at the scenario's start.
    pub fn from_scenario(s: &Scenario) -> World {
        World {
            servers: (1..=s.servers.count as u16)
                .map(|n| (n, ServerState::fresh()))
                .collect(),
            dns_alive: true,
            dns_mode: DnsMode::Ok,
            cdn_alive: s.cdn.enabled,
            lb_alive: true,
            policy: s.balancer.policy,
            cache: s.cdn.enabled.then_some(CacheState {
                enabled: s.cdn.cache_enabled,
                capacity: s.cdn.capacity,
                eviction: s.cdn.eviction,
                ttl: s.cdn.ttl,
            }),
            rate: s.traffic.rate,
            paused: !s.traffic.enabled,
            zipf: s.traffic.zipf,
            clients: s
                .effective_profiles()
                .into_iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        ClientState {
                            weight: p.weight,
                            latency: p.latency.get(),
                            loss: p.loss,
                            keep_alive: p.keep_alive,
                        },
                    )
                })
                .collect(),
            tls: s.tls.enabled,
            cdn_latency: s.cdn.enabled.then(|| s.cdn.latency.get()),
            cdn_loss: s.cdn.enabled.then_some(0.0),
            lb_latency: s.balancer.latency.get(),
            lb_loss: 0.0,
            db_latency: s.database.latency.get(),
            stateless: s.servers.stateless,
            time_scale: s.time_scale.max(1.0),
        }
    }

    /// The lowest server number not in use (what `add server` takes).
    pub fn free_server_number(&self) -> u16 {
        (1..u16::MAX)
            .find(|n| !self.servers.contains_key(n))
            .unwrap_or(u16::MAX)
    }

    /// Applies `command` as the engine would (commands that change no setting, such as
    /// `cache flush` or `send`, leave it as it is).
    pub fn apply(&mut self, command: &Command) {
        match command {
            Command::Kill(Target::Server(n)) => {
                if let Some(s) = self.servers.get_mut(n) {
                    s.alive = false;
                    s.hung = false;
                }
            }
            Command::Restart(Target::Server(n)) => {
                if let Some(s) = self.servers.get_mut(n) {
                    *s = ServerState::fresh();
                }
            }
            Command::Hang(n) => {
                if let Some(s) = self.servers.get_mut(n) {
                    s.hung = true;
                }
            }
            Command::Slow(n, d) => {
                if let Some(s) = self.servers.get_mut(n) {
                    s.slow = d.get();
                }
            }
            Command::Error(n, share) => {
                if let Some(s) = self.servers.get_mut(n) {
                    s.error_rate = *share;
                }
            }
            Command::AddServer => {
                let n = self.free_server_number();
                self.servers.insert(n, ServerState::fresh());
            }
            Command::RemoveServer(n) => {
                self.servers.remove(n);
            }
            Command::Kill(Target::Dns) => self.dns_alive = false,
            Command::Restart(Target::Dns) => {
                self.dns_alive = true;
                self.dns_mode = DnsMode::Ok;
            }
            Command::Kill(Target::Cdn) if self.cache.is_some() => self.cdn_alive = false,
            Command::Restart(Target::Cdn) if self.cache.is_some() => self.cdn_alive = true,
            Command::Kill(Target::Lb) => self.lb_alive = false,
            Command::Restart(Target::Lb) => self.lb_alive = true,
            Command::Dns(mode) => self.dns_mode = *mode,
            Command::Policy(p) => self.policy = *p,
            Command::Cache(c) => {
                if let Some(cache) = &mut self.cache {
                    match c {
                        CacheCommand::On => cache.enabled = true,
                        CacheCommand::Off => cache.enabled = false,
                        CacheCommand::Flush => {}
                        CacheCommand::Capacity(n) => cache.capacity = (*n).max(1),
                        CacheCommand::Eviction(e) => cache.eviction = *e,
                        CacheCommand::Ttl(t) => cache.ttl = *t,
                    }
                }
            }
            Command::Pause => self.paused = true,
            Command::Resume => self.paused = false,
            Command::Rate(r) => self.rate = *r,
            Command::Weight(p, w) => {
                if let Some(c) = self.clients.get_mut(p) {
                    c.weight = *w;
                }
            }
            Command::TimeScale(f) => self.time_scale = f.max(1.0),
            Command::KeepAlive(on) => self.clients.values_mut().for_each(|c| c.keep_alive = *on),
            Command::Tls(on) => self.tls = *on,
            Command::Latency(link, d) => match link {
                Link::Client => self.clients.values_mut().for_each(|c| c.latency = d.get()),
                Link::Cdn => {
                    if self.cdn_latency.is_some() {
                        self.cdn_latency = Some(d.get());
                    }
                }
                Link::Lb => self.lb_latency = d.get(),
                Link::Db => self.db_latency = d.get(),
            },
            Command::Drop(link, share) => match link {
                Link::Client => self.clients.values_mut().for_each(|c| c.loss = *share),
                Link::Cdn => {
                    if self.cdn_loss.is_some() {
                        self.cdn_loss = Some(*share);
                    }
                }
                Link::Lb => self.lb_loss = *share,
                Link::Db => {}
            },
            Command::Stateless(on) => self.stateless = *on,
            Command::Zipf(z) => self.zipf = *z,
            Command::Kill(Target::Cdn)
            | Command::Restart(Target::Cdn)
            | Command::Status
            | Command::DnsFlush
            | Command::Send(..) => {}
        }
    }
}

/// The setting a command changes (the key `diff` uses), if it changes one.
pub fn key_of(command: &Command) -> Option<String> {
    Some(match command {
        Command::Kill(Target::Server(n))
        | Command::Restart(Target::Server(n))
        | Command::Hang(n)
        | Command::Slow(n, _)
        | Command::Error(n, _) => server_name(*n),
        Command::AddServer | Command::RemoveServer(_) => "servers".into(),
        Command::Kill(Target::Dns) | Command::Restart(Target::Dns) | Command::Dns(_) => {
            "dns".into()
        }
        Command::Kill(Target::Cdn) | Command::Restart(Target::Cdn) => "cdn".into(),
        Command::Kill(Target::Lb) | Command::Restart(Target::Lb) => "lb".into(),
        Command::Policy(_) => "policy".into(),
        Command::Cache(CacheCommand::Flush) => return None,
        Command::Cache(_) => "cache".into(),
        Command::Pause | Command::Resume => "paused".into(),
        Command::Rate(_) => "rate".into(),
        Command::Weight(..) => "weight".into(),
        Command::TimeScale(_) => "time_scale".into(),
        Command::KeepAlive(_) => "keepalive".into(),
        Command::Tls(_) => "tls".into(),
        Command::Latency(..) => "latency".into(),
        Command::Drop(..) => "drop".into(),
        Command::Stateless(_) => "stateless".into(),
        Command::Zipf(_) => "zipf".into(),
        Command::Status | Command::Send(..) | Command::DnsFlush => return None,
    })
}

#[cfg(test)]
mod tests;
