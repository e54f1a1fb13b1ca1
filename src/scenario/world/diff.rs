//! The commands that turn one world into another (`World::diff`), each with the key of the
//! setting it changes and a few words for the learner.

use super::{Change, Scope, ServerState, World};
use crate::scenario::{CacheCommand, Command, DnsMode, Dur, Link, Target};

impl World {
    /// The commands that turn `self` (the live world) into `target`, in an order that
    /// works (servers first, traffic last), each with its setting's key and a few words.
    /// Settings outside `scope` are left as they are. Client links and
    /// keep-alive that differ per profile in `target` cannot be set by one command and are
    /// left as they are.
    pub fn diff(&self, target: &World, scope: &Scope) -> Vec<Change> {
        let mut out = Vec::new();
        let wanted = |key: &str| scope.wants(key);
        let mut push = |key: &str, command: Command, words: String| {
            if wanted(key) {
                out.push(Change {
                    key: key.to_string(),
                    command,
                    words,
                });
            }
        };
        let mut servers = self.servers.clone();
        if wanted("servers") {
            for n in self
                .servers
                .keys()
                .filter(|n| !target.servers.contains_key(n))
            {
                push(
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
                push("servers", Command::AddServer, format!("server-{n} added"));
                servers.insert(*n, ServerState::fresh());
            }
        }
        for (n, want) in &target.servers {
            let Some(now) = servers.get(n) else {
                continue;
            };
            let key = format!("server-{n}");
            let mut now = now.clone();
            if want.alive && (!now.alive || (now.hung && !want.hung)) {
                push(
                    &key,
                    Command::Restart(Target::Server(*n)),
                    format!("server-{n} running again"),
                );
                now = ServerState::fresh();
            } else if !want.alive && now.alive {
                push(
                    &key,
                    Command::Kill(Target::Server(*n)),
                    format!("server-{n} stopped"),
                );
                now.alive = false;
                now.hung = false;
            }
            if want.alive && want.hung && !now.hung {
                push(&key, Command::Hang(*n), format!("server-{n} hanging again"));
            }
            if want.slow != now.slow {
                let words = if want.slow.is_zero() {
                    format!("server-{n} at normal speed")
                } else {
                    format!("server-{n} {} slower", Dur(want.slow))
                };
                push(&key, Command::Slow(*n, Dur(want.slow)), words);
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
                push(&key, Command::Error(*n, want.error_rate), words);
            }
        }
        if target.dns_alive != self.dns_alive {
            if target.dns_alive {
                push(
                    "dns",
                    Command::Restart(Target::Dns),
                    "the DNS stub running again".into(),
                );
            } else {
                push(
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
            push("dns", Command::Dns(target.dns_mode), words);
        }
        if self.cache.is_some() && target.cdn_alive != self.cdn_alive {
            if target.cdn_alive {
                push(
                    "cdn",
                    Command::Restart(Target::Cdn),
                    "the CDN running again".into(),
                );
            } else {
                push("cdn", Command::Kill(Target::Cdn), "the CDN down".into());
            }
        }
        if target.lb_alive != self.lb_alive {
            if target.lb_alive {
                push(
                    "lb",
                    Command::Restart(Target::Lb),
                    "the load balancer running again".into(),
                );
            } else {
                push(
                    "lb",
                    Command::Kill(Target::Lb),
                    "the load balancer down".into(),
                );
            }
        }
        if target.policy != self.policy {
            push(
                "policy",
                Command::Policy(target.policy),
                format!("policy {}", target.policy.label()),
            );
        }
        if let (Some(now), Some(want)) = (&self.cache, &target.cache) {
            if want.enabled != now.enabled {
                let (c, w) = if want.enabled {
                    (CacheCommand::On, "caching on")
                } else {
                    (CacheCommand::Off, "caching off")
                };
                push("cache", Command::Cache(c), w.into());
            }
            if want.capacity != now.capacity {
                push(
                    "cache",
                    Command::Cache(CacheCommand::Capacity(want.capacity)),
                    format!("room for {} answers in the cache", want.capacity),
                );
            }
            if want.eviction != now.eviction {
                push(
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
                push("cache", Command::Cache(CacheCommand::Ttl(want.ttl)), words);
            }
        }
        if target.tls != self.tls {
            let words = if target.tls { "HTTPS on" } else { "HTTPS off" };
            push("tls", Command::Tls(target.tls), words.into());
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
                push(
                    "latency",
                    Command::Latency(link, Dur(want)),
                    format!("{} link latency {}", link.name(), Dur(want)),
                );
            }
        }
        if let Some(want) = uniform(target.clients.values().map(|c| c.latency))
            && self.clients.values().any(|c| c.latency != want)
        {
            push(
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
                push("drop", Command::Drop(link, want), loss_words(link, want));
            }
        }
        if let Some(want) =
            uniform(target.clients.values().map(|c| c.loss.to_bits())).map(f64::from_bits)
            && self.clients.values().any(|c| c.loss != want)
        {
            push(
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
            push("keepalive", Command::KeepAlive(want), words.into());
        }
        if target.stateless != self.stateless {
            let words = if target.stateless {
                "carts in the database"
            } else {
                "carts in each server's memory"
            };
            push(
                "stateless",
                Command::Stateless(target.stateless),
                words.into(),
            );
        }
        if target.zipf != self.zipf {
            push(
                "zipf",
                Command::Zipf(target.zipf),
                format!("popularity skew {}", target.zipf),
            );
        }
        if target.time_scale != self.time_scale {
            push(
                "time_scale",
                Command::TimeScale(target.time_scale),
                format!("time scale {}", target.time_scale),
            );
        }
        for (name, want) in &target.clients {
            if let Some(now) = self.clients.get(name)
                && now.weight != want.weight
            {
                push(
                    "weight",
                    Command::Weight(name.clone(), want.weight),
                    format!("{name} clients at weight {}", want.weight),
                );
            }
        }
        if target.rate != self.rate {
            push(
                "rate",
                Command::Rate(target.rate),
                format!("traffic at {} requests a second", target.rate),
            );
        }
        if target.paused != self.paused {
            if target.paused {
                push("paused", Command::Pause, "traffic paused".into());
            } else {
                push("paused", Command::Resume, "traffic flowing again".into());
            }
        }
        out
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
