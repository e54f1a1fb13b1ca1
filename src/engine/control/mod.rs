//! Applying control commands to the running topology: the one implementation behind
//! `serve`'s stdin, scenario events and the window's controls. Every change is also a trace
//! marker, so plots show where the topology changed.

use std::sync::Arc;
use std::time::Duration;

use super::api::ApiServer;
use super::topology::Topology;
use crate::scenario::{Command, DnsMode, Link, SendRequest, Target};
use crate::trace::{Component, Marker, TraceEvent};

/// The answer to a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// What changed, in words a learner understands.
    pub message: String,
    /// The component concerned, if one.
    pub component: Option<Component>,
}

fn done(component: Option<Component>, message: impl Into<String>) -> Result<Applied, String> {
    Ok(Applied {
        message: message.into(),
        component,
    })
}

impl Topology {
    fn no_server(&self, n: u16) -> String {
        let names: Vec<String> = self
            .servers()
            .iter()
            .map(|s| s.name().to_string())
            .collect();
        format!("there is no server-{n}; servers now: {}", names.join(", "))
    }

    /// Applies `command`; `Err` says why it could not be (nothing changed then).
    pub async fn apply(&self, command: &Command) -> Result<Applied, String> {
        let applied = self.apply_inner(command).await?;
        if !matches!(command, Command::Status) {
            self.env.sink.emit(TraceEvent::Marker(Marker {
                at_micros: self.env.now(),
                component: applied.component,
                text: command.to_string(),
            }));
        }
        Ok(applied)
    }

    /// Routes `command` to the function for its family: faults (`kill`, `restart`), the
    /// servers, settings, traffic, the network.
    async fn apply_inner(&self, command: &Command) -> Result<Applied, String> {
        match command {
            Command::Kill(target) => self.kill(*target).await,
            Command::Restart(target) => self.restart(*target).await,
            Command::Hang(_)
            | Command::Slow(..)
            | Command::Error(..)
            | Command::AddServer
            | Command::RemoveServer(_) => self.change_servers(command).await,
            Command::Dns(_)
            | Command::DnsFlush
            | Command::Policy(_)
            | Command::Cache(_)
            | Command::Status
            | Command::TimeScale(_)
            | Command::Stateless(_) => self.change_settings(command),
            Command::Pause
            | Command::Resume
            | Command::Rate(_)
            | Command::Weight(..)
            | Command::KeepAlive(_)
            | Command::Zipf(_)
            | Command::Send(..) => self.change_traffic(command),
            Command::Tls(_) | Command::Latency(..) | Command::Drop(..) => {
                self.change_network(command).await
            }
        }
    }

    /// Server `n`, or why there is none.
    fn server_or_err(&self, n: u16) -> Result<Arc<ApiServer>, String> {
        self.server(n).ok_or_else(|| self.no_server(n))
    }

    /// `kill`: closes a component's listening socket, so connections are refused.
    async fn kill(&self, target: Target) -> Result<Applied, String> {
        match target {
            Target::Server(n) => {
                let s = self.server_or_err(n)?;
                s.kill();
                s.wait_closed().await;
                done(
                    Some(Component::Server(n)),
                    format!("server-{n} killed: its port is closed, so connections are refused"),
                )
            }
            Target::Cdn => {
                let l = self
                    .cdn_listener
                    .as_ref()
                    .ok_or("this scenario has no CDN")?;
                l.kill_and_wait().await;
                self.kill_edge_tls(Component::Cdn).await;
                done(
                    Some(Component::Cdn),
                    "the CDN is down: clients get connection refused",
                )
            }
            Target::Lb => {
                self.lb_listener.kill_and_wait().await;
                self.kill_edge_tls(Component::Lb).await;
                done(
                    Some(Component::Lb),
                    "the load balancer is down: nothing reaches the servers",
                )
            }
            Target::Dns => {
                self.dns.kill();
                done(
                    Some(Component::Dns),
                    "the DNS stub is down: lookups fail once cached answers expire",
                )
            }
        }
    }

    /// `restart`: brings a component back on its old address.
    async fn restart(&self, target: Target) -> Result<Applied, String> {
        match target {
            Target::Server(n) => {
                let s = self.server_or_err(n)?;
                s.restart().await.map_err(|e| e.to_string())?;
                self.lb.reset_backend(n);
                done(
                    Some(Component::Server(n)),
                    format!(
                        "server-{n} restarted on {}: healthy and at normal speed",
                        s.addr()
                    ),
                )
            }
            Target::Cdn => {
                let l = self
                    .cdn_listener
                    .as_ref()
                    .ok_or("this scenario has no CDN")?;
                l.restart().await.map_err(|e| e.to_string())?;
                self.restart_edge_tls(Component::Cdn).await?;
                done(Some(Component::Cdn), "the CDN is back (its cache survived)")
            }
            Target::Lb => {
                self.lb_listener
                    .restart()
                    .await
                    .map_err(|e| e.to_string())?;
                self.restart_edge_tls(Component::Lb).await?;
                done(Some(Component::Lb), "the load balancer is back")
            }
            Target::Dns => {
                self.dns.restart().await.map_err(|e| e.to_string())?;
                done(Some(Component::Dns), "the DNS stub is back")
            }
        }
    }

    /// The servers: one misbehaves (`hang`, `slow`, `error`), one joins or leaves.
    async fn change_servers(&self, command: &Command) -> Result<Applied, String> {
        match command {
            Command::Hang(n) => {
                self.server_or_err(*n)?.hang();
                done(
                    Some(Component::Server(*n)),
                    format!("server-{n} hangs: it accepts connections but never answers"),
                )
            }
            Command::Slow(n, d) => {
                self.server_or_err(*n)?.slow(d.get());
                done(
                    Some(Component::Server(*n)),
                    format!("server-{n} now takes {d} longer for every request"),
                )
            }
            Command::Error(n, share) => {
                self.server_or_err(*n)?.set_error_rate(*share);
                done(
                    Some(Component::Server(*n)),
                    format!(
                        "server-{n} answers 500 to {:.0}% of its requests",
                        share * 100.0
                    ),
                )
            }
            Command::AddServer => {
                let s = self.add_server().await.map_err(|e| e.to_string())?;
                done(
                    Some(Component::Server(s.number())),
                    format!(
                        "{} started on {} and joined the load balancer",
                        s.name(),
                        s.addr()
                    ),
                )
            }
            Command::RemoveServer(n) => {
                if self.remove_server(*n) {
                    done(
                        Some(Component::Server(*n)),
                        format!("server-{n} left the load balancer and stopped"),
                    )
                } else {
                    Err(self.no_server(*n))
                }
            }
            other => unreachable!("`{other}` is not a server command: apply_inner routes it"),
        }
    }

    /// Settings of the components: DNS stub, policy, cache, time scale, where carts live.
    fn change_settings(&self, command: &Command) -> Result<Applied, String> {
        match command {
            Command::Dns(mode) => {
                self.dns.set_mode(*mode);
                let what = match mode {
                    DnsMode::Ok => "the DNS stub answers normally".to_string(),
                    DnsMode::Nxdomain => {
                        "the DNS stub now says every name does not exist (NXDOMAIN)".to_string()
                    }
                    DnsMode::Drop(s) => format!("the DNS stub drops {:.0}% of queries", s * 100.0),
                };
                done(Some(Component::Dns), what)
            }
            Command::DnsFlush => {
                let n = self.clients.flush_dns();
                done(
                    Some(Component::Client),
                    format!(
                        "{n} clients forgot their cached DNS answers: the next request looks the name up again"
                    ),
                )
            }
            Command::Policy(p) => {
                self.lb.set_policy(*p);
                done(
                    Some(Component::Lb),
                    format!("the load balancer now uses {}", p.label()),
                )
            }
            Command::Cache(c) => {
                let cdn = self.cdn.as_ref().ok_or("this scenario has no CDN")?;
                done(Some(Component::Cdn), cdn.command(*c))
            }
            Command::Status => done(None, "status"),
            Command::TimeScale(f) => {
                self.env.scale.set(*f);
                done(
                    None,
                    format!("time runs {f}x slower: every injected delay is stretched"),
                )
            }
            Command::Stateless(on) => {
                self.api.set_stateless(*on);
                done(
                    None,
                    if *on {
                        "carts now live in the database: every server sees them"
                    } else {
                        "carts now live in each server's memory: only the server that stored one sees it"
                    },
                )
            }
            other => unreachable!("`{other}` is not a setting: apply_inner routes it"),
        }
    }

    /// The clients' traffic: pace, mix, connections, one request by hand.
    fn change_traffic(&self, command: &Command) -> Result<Applied, String> {
        match command {
            Command::Pause => {
                self.clients.set_paused(true);
                done(Some(Component::Client), "traffic paused: no new requests")
            }
            Command::Resume => {
                self.clients.set_paused(false);
                done(Some(Component::Client), "traffic resumed")
            }
            Command::Rate(r) => {
                self.clients.set_rate(*r);
                done(
                    Some(Component::Client),
                    format!("clients now send {r} requests per second"),
                )
            }
            Command::Weight(p, w) => {
                if self.clients.set_weight(p, *w) {
                    done(
                        Some(Component::Client),
                        format!("{p} clients now have weight {w}"),
                    )
                } else {
                    Err(format!("there is no client profile `{p}`"))
                }
            }
            Command::KeepAlive(on) => {
                self.clients.set_keep_alive(*on);
                done(
                    Some(Component::Client),
                    if *on {
                        "clients keep connections open (a session)"
                    } else {
                        "clients open a new connection for every request"
                    },
                )
            }
            Command::Zipf(s) => {
                self.clients.set_zipf(*s);
                done(
                    Some(Component::Client),
                    format!("requested ids now follow a Zipf law with exponent {s} (0 is uniform)"),
                )
            }
            Command::Send(method, path) => {
                let id = self.clients.send(
                    &SendRequest {
                        method: method.clone(),
                        path: path.clone(),
                        ..SendRequest::default()
                    },
                    false,
                );
                done(
                    Some(Component::Client),
                    format!("sent {method} {path} as request {}", id.short()),
                )
            }
            other => unreachable!("`{other}` is not a traffic command: apply_inner routes it"),
        }
    }

    /// The network: HTTPS at the edge, and each link's latency and loss.
    async fn change_network(&self, command: &Command) -> Result<Applied, String> {
        match command {
            Command::Tls(on) => {
                self.set_tls(*on).await.map_err(|e| e.to_string())?;
                self.clients.set_tls(*on);
                done(
                    Some(self.edge.component),
                    if *on {
                        "HTTPS on: plain HTTP to the edge answers 308"
                    } else {
                        "HTTPS off: clients use plain HTTP"
                    },
                )
            }
            Command::Latency(link, d) => {
                match link {
                    Link::Client => self.clients.set_latency(d.get()),
                    Link::Cdn => self
                        .cdn
                        .as_ref()
                        .ok_or("this scenario has no CDN")?
                        .link()
                        .set_latency(d.get()),
                    Link::Lb => self.lb.set_latency(d.get()),
                    Link::Db => self.db.set_latency(d.get()),
                }
                done(
                    None,
                    format!("the {} link now has {d} one-way latency", link.name()),
                )
            }
            Command::Drop(link, share) => self.drop_packets(*link, *share),
            other => unreachable!("`{other}` is not a network command: apply_inner routes it"),
        }
    }

    /// `drop LINK SHARE`: loses that share of the link's packets.
    fn drop_packets(&self, link: Link, share: f64) -> Result<Applied, String> {
        match link {
            Link::Client => self.clients.set_loss(share),
            Link::Cdn => self
                .cdn
                .as_ref()
                .ok_or("this scenario has no CDN")?
                .link()
                .set_loss(share),
            Link::Lb => self.lb.link().set_loss(share),
            Link::Db => return Err(
                "the database is inside the servers' machine here: its link has no packets to drop"
                    .into(),
            ),
        }
        let what = if share >= 1.0 {
            format!(
                "the {} link drops every packet, like a firewall: connections time out",
                link.name()
            )
        } else {
            format!(
                "the {} link drops {:.0}% of packets: lost ones are sent again after a timeout",
                link.name(),
                share * 100.0
            )
        };
        done(None, what)
    }

    async fn kill_edge_tls(&self, component: Component) {
        if self.edge.component == component {
            let tls = self.edge.tls.lock().expect("edge lock").clone();
            if let Some(t) = tls {
                t.kill_and_wait().await;
            }
        }
    }

    async fn restart_edge_tls(&self, component: Component) -> Result<(), String> {
        if self.edge.component == component {
            let tls = self.edge.tls.lock().expect("edge lock").clone();
            if let Some(t) = tls {
                t.restart().await.map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    /// Waits `d` of simulated time (stretched by the time scale, which may change meanwhile).
    pub async fn sleep_simulated(&self, d: Duration) {
        // Sleep in short chunks so a change of time scale takes effect within one, and
        // count what really passed (a timer is late by a little every time).
        let step = Duration::from_millis(50);
        let mut left = d.as_secs_f64();
        let mut last = tokio::time::Instant::now();
        while left > 0.0 {
            let scale = self.env.scale.get();
            let chunk = step.as_secs_f64().min(left * scale);
            self.env
                .overshoot
                .sleep_until(last + Duration::from_secs_f64(chunk))
                .await;
            let now = tokio::time::Instant::now();
            left -= now.duration_since(last).as_secs_f64() / scale;
            last = now;
        }
    }
}
