//! The commands that turn one world into another (`World::diff`), each with the key of the
//! setting it changes and a few words for the learner.

use std::collections::BTreeMap;

use super::{Change, Scope, ServerState, World};
use crate::scenario::{CacheCommand, Command, DnsMode, Dur, Link, Target, server_name};

impl World {
    /// The commands that turn `self` (the live world) into `target`, in an order that
    /// works (servers first, traffic last), each with its setting's key and a few words.
    /// Settings outside `scope` are left as they are. Client links and
    /// keep-alive that differ per profile in `target` cannot be set by one command and are
    /// left as they are.
    pub fn diff(&self, target: &World, scope: &Scope) -> Vec<Change> {
        let mut changes = Changes {
            scope,
            out: Vec::new(),
        };
        let servers = self.add_and_remove_servers(target, &mut changes);
        Self::change_servers(&servers, target, &mut changes);
        self.change_dns(target, &mut changes);
        self.change_cdn_and_balancer(target, &mut changes);
        self.change_cache(target, &mut changes);
        self.change_links(target, &mut changes);
        self.change_traffic(target, &mut changes);
        changes.out
    }

    /// Servers that `target` lacks are removed, missing ones added (in ascending order);
    /// returns the servers as they are after that.
    fn add_and_remove_servers(
        &self,
        target: &World,
        changes: &mut Changes<'_>,
    ) -> BTreeMap<u16, ServerState> {
        let mut servers = self.servers.clone();
        if !changes.wants("servers") {
            return servers;
        }
        for n in self
            .servers
            .keys()
            .filter(|n| !target.servers.contains_key(n))
        {
            changes.push(
                "servers",
                Command::RemoveServer(*n),
                format!("server-{n} removed"),
            );
            servers.remove(n);
        }
        for n in target
            .servers
            .keys()
            .filter(|n| !self.servers.contains_key(n))
        {
            // `add server` takes the lowest free number: adding in ascending order
            // recreates exactly the missing ones.
            changes.push("servers", Command::AddServer, format!("server-{n} added"));
            servers.insert(*n, ServerState::fresh());
        }
        servers
    }

    /// Each server that exists on both sides is restarted or killed, hung, slowed and
    /// made to fail as `target` has it.
    fn change_servers(
        servers: &BTreeMap<u16, ServerState>,
        target: &World,
        changes: &mut Changes<'_>,
    ) {
        for (n, want) in &target.servers {
            let Some(now) = servers.get(n) else {
                continue;
            };
            let key = server_name(*n);
            let mut now = now.clone();
            if want.alive && (!now.alive || (now.hung && !want.hung)) {
                changes.push(
                    &key,
                    Command::Restart(Target::Server(*n)),
                    format!("server-{n} running again"),
                );
                now = ServerState::fresh();
            } else if !want.alive && now.alive {
                changes.push(
                    &key,
                    Command::Kill(Target::Server(*n)),
                    format!("server-{n} stopped"),
                );
                now.alive = false;
                now.hung = false;
            }
            if want.alive && want.hung && !now.hung {
                changes.push(&key, Command::Hang(*n), format!("server-{n} hanging again"));
            }
            if want.slow != now.slow {
                let words = if want.slow.is_zero() {
                    format!("server-{n} at normal speed")
                } else {
                    format!("server-{n} {} slower", Dur(want.slow))
                };
                changes.push(&key, Command::Slow(*n, Dur(want.slow)), words);
            }
            if want.error_rate != now.error_rate {
                let words = if want.error_rate == 0.0 {
                    format!("server-{n} answering without errors")
                } else {
                    format!(
                        "server-{n} failing {:.0}% of its requests",
                        want.error_rate * 100.0
                    )
                };
                changes.push(&key, Command::Error(*n, want.error_rate), words);
            }
        }
    }

    /// The DNS stub is restarted or killed, then set to answer as `target` has it (a
    /// restarted stub answers normally).
    fn change_dns(&self, target: &World, changes: &mut Changes<'_>) {
        if target.dns_alive != self.dns_alive {
            if target.dns_alive {
                changes.push(
                    "dns",
                    Command::Restart(Target::Dns),
                    "the DNS stub running again".into(),
                );
            } else {
                changes.push(
                    "dns",
                    Command::Kill(Target::Dns),
                    "the DNS stub down".into(),
                );
            }
        }
        let mode_now = if target.dns_alive && !self.dns_alive {
            DnsMode::Ok // a restart answers normally
        } else {
            self.dns_mode
        };
        if target.dns_mode != mode_now {
            let words = match target.dns_mode {
                DnsMode::Ok => "the DNS stub answering normally".to_string(),
                DnsMode::Nxdomain => "the DNS stub saying NXDOMAIN".to_string(),
                DnsMode::Drop(s) => format!("the DNS stub dropping {:.0}% of queries", s * 100.0),
            };
            changes.push("dns", Command::Dns(target.dns_mode), words);
        }
    }

    /// The CDN (when there is one) and the load balancer are restarted or killed, and the
    /// balancing policy set.
    fn change_cdn_and_balancer(&self, target: &World, changes: &mut Changes<'_>) {
        if self.cache.is_some() && target.cdn_alive != self.cdn_alive {
            if target.cdn_alive {
                changes.push(
                    "cdn",
                    Command::Restart(Target::Cdn),
                    "the CDN running again".into(),
                );
            } else {
                changes.push("cdn", Command::Kill(Target::Cdn), "the CDN down".into());
            }
        }
        if target.lb_alive != self.lb_alive {
            if target.lb_alive {
                changes.push(
                    "lb",
                    Command::Restart(Target::Lb),
                    "the load balancer running again".into(),
                );
            } else {
                changes.push(
                    "lb",
                    Command::Kill(Target::Lb),
                    "the load balancer down".into(),
                );
            }
        }
        if target.policy != self.policy {
            changes.push(
                "policy",
                Command::Policy(target.policy),
                format!("policy {}", target.policy.label()),
            );
        }
    }

    /// The cache is turned on or off and given its room, eviction and TTL.
    fn change_cache(&self, target: &World, changes: &mut Changes<'_>) {
        let (Some(now), Some(want)) = (&self.cache, &target.cache) else {
            return;
        };
        if want.enabled != now.enabled {
            let (c, w) = if want.enabled {
                (CacheCommand::On, "caching on")
            } else {
                (CacheCommand::Off, "caching off")
            };
            changes.push("cache", Command::Cache(c), w.into());
        }
        if want.capacity != now.capacity {
            changes.push(
                "cache",
                Command::Cache(CacheCommand::Capacity(want.capacity)),
                format!("room for {} answers in the cache", want.capacity),
            );
        }
        if want.eviction != now.eviction {
            changes.push(
                "cache",
                Command::Cache(CacheCommand::Eviction(want.eviction)),
                format!("{} eviction", want.eviction.name()),
            );
        }
        if want.ttl != now.ttl {
            let words = match want.ttl {
                Some(t) => format!("cached answers kept {t}"),
                None => "cached answers kept as long as max-age says".into(),
            };
            changes.push("cache", Command::Cache(CacheCommand::Ttl(want.ttl)), words);
        }
    }

    /// TLS, then each link's latency and loss, then keep-alive; the clients' link is set
    /// only when `target` gives every client the same value.
    fn change_links(&self, target: &World, changes: &mut Changes<'_>) {
        if target.tls != self.tls {
            let words = if target.tls { "HTTPS on" } else { "HTTPS off" };
            changes.push("tls", Command::Tls(target.tls), words.into());
        }
        let links = [
            (Link::Cdn, self.cdn_latency, target.cdn_latency),
            (Link::Lb, Some(self.lb_latency), Some(target.lb_latency)),
            (Link::Db, Some(self.db_latency), Some(target.db_latency)),
        ];
        for (link, now, want) in links {
            if let (Some(now), Some(want)) = (now, want)
                && now != want
            {
                changes.push(
                    "latency",
                    Command::Latency(link, Dur(want)),
                    format!("{} link latency {}", link.name(), Dur(want)),
                );
            }
        }
        if let Some(want) = uniform(target.clients.values().map(|c| c.latency))
            && self.clients.values().any(|c| c.latency != want)
        {
            changes.push(
                "latency",
                Command::Latency(Link::Client, Dur(want)),
                format!("client link latency {}", Dur(want)),
            );
        }
        let losses = [
            (Link::Cdn, self.cdn_loss, target.cdn_loss),
            (Link::Lb, Some(self.lb_loss), Some(target.lb_loss)),
        ];
        for (link, now, want) in losses {
            if let (Some(now), Some(want)) = (now, want)
                && now != want
            {
                changes.push("drop", Command::Drop(link, want), loss_words(link, want));
            }
        }
        if let Some(want) =
            uniform(target.clients.values().map(|c| c.loss.to_bits())).map(f64::from_bits)
            && self.clients.values().any(|c| c.loss != want)
        {
            changes.push(
                "drop",
                Command::Drop(Link::Client, want),
                loss_words(Link::Client, want),
            );
        }
        if let Some(want) = uniform(target.clients.values().map(|c| c.keep_alive))
            && self.clients.values().any(|c| c.keep_alive != want)
        {
            let words = if want {
                "keep-alive on"
            } else {
                "a new connection per request"
            };
            changes.push("keepalive", Command::KeepAlive(want), words.into());
        }
    }

    /// Where carts live, popularity, time scale, each profile's weight, the rate and
    /// whether traffic flows: last, once the world it flows through is in place.
    fn change_traffic(&self, target: &World, changes: &mut Changes<'_>) {
        if target.stateless != self.stateless {
            let words = if target.stateless {
                "carts in the database"
            } else {
                "carts in each server's memory"
            };
            changes.push(
                "stateless",
                Command::Stateless(target.stateless),
                words.into(),
            );
        }
        if target.zipf != self.zipf {
            changes.push(
                "zipf",
                Command::Zipf(target.zipf),
                format!("popularity skew {}", target.zipf),
            );
        }
        if target.time_scale != self.time_scale {
            changes.push(
                "time_scale",
                Command::TimeScale(target.time_scale),
                format!("time scale {}", target.time_scale),
            );
        }
        for (name, want) in &target.clients {
            if let Some(now) = self.clients.get(name)
                && now.weight != want.weight
            {
                changes.push(
                    "weight",
                    Command::Weight(name.clone(), want.weight),
                    format!("{name} clients at weight {}", want.weight),
                );
            }
        }
        if target.rate != self.rate {
            changes.push(
                "rate",
                Command::Rate(target.rate),
                format!("traffic at {} requests a second", target.rate),
            );
        }
        if target.paused != self.paused {
            if target.paused {
                changes.push("paused", Command::Pause, "traffic paused".into());
            } else {
                changes.push("paused", Command::Resume, "traffic flowing again".into());
            }
        }
    }
}

/// The changes found so far, keeping only those whose key the scope wants.
struct Changes<'a> {
    scope: &'a Scope,
    out: Vec<Change>,
}

impl Changes<'_> {
    fn wants(&self, key: &str) -> bool {
        self.scope.wants(key)
    }

    fn push(&mut self, key: &str, command: Command, words: String) {
        if self.wants(key) {
            self.out.push(Change {
                key: key.to_string(),
                command,
                words,
            });
        }
    }
}

fn loss_words(link: Link, share: f64) -> String {
    if share == 0.0 {
        format!("no packets lost on the {} link", link.name())
    } else {
        format!(
            "{:.0}% of packets lost on the {} link",
            share * 100.0,
            link.name()
        )
    }
}

fn uniform<T: PartialEq + Copy>(mut values: impl Iterator<Item = T>) -> Option<T> {
    let first = values.next()?;
    values.all(|v| v == first).then_some(first)
}
