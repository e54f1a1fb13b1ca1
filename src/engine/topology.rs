//! The running topology: every component of a scenario, started in order on 127.0.0.1
//! (database, servers, load balancer, CDN, TLS, DNS stub, clients), with their addresses and
//! live gauges. Each component starts through its `Service::start` (`component.rs`, the one
//! shape they share); `control/` changes the topology while traffic flows.
//!
//! Fixed ports (`--port-base P`): DNS on P, CDN on P+1, load balancer on P+2, the edge's
//! HTTPS on P+3, and server-N on P+3+N.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;

use super::Env;
use super::api::{ApiServer, ApiShared, ServerSetup};
use super::balancer::{Balancer, BalancerSetup};
use super::cdn::{Cdn, CdnSetup};
use super::client::{Clients, ClientsConfig};
use super::component::{Proxy, Service, ServiceHandle};
use super::db::Db;
use super::dns::{DnsSetup, DnsStub};
use super::listener::{BindError, Listener, Mode, loopback};
use super::redirect::HttpsRedirect;
use super::tls::{self, TlsMaterial};
use crate::scenario::Scenario;
use crate::trace::{Component, ServerGauge};

/// Why the topology could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Bind(#[from] BindError),
    #[error("the DNS stub could not start: {0}")]
    Dns(#[from] super::dns::DnsError),
    #[error("the database could not start: {0}")]
    Db(#[from] super::db::DbError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot make a working directory {path}: {source}")]
    WorkDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "--port-base {0} leaves no room for every component below port 65535: \
         DNS, CDN, load balancer, HTTPS edge and room for 64 more servers need a base below {max}",
        max = u16::MAX - 3 - 64 - 1
    )]
    PortRange(u16),
    #[error(
        "the topology already has {0} servers, the most it may have: remove one before adding another"
    )]
    TooManyServers(usize),
}

/// The demo tokens, as `serve` prints them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tokens {
    pub allowed: String,
    pub forbidden: String,
}

/// Every listening address: the line `serve` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Addresses {
    pub dns: String,
    /// Where clients connect first: the CDN when on, else the load balancer.
    pub edge: String,
    pub edge_tls: Option<String>,
    /// A PEM file for `curl --cacert`, when TLS is on.
    pub ca_cert: Option<String>,
    pub cdn: Option<String>,
    pub lb: String,
    pub servers: Vec<String>,
    pub zone: String,
    pub tokens: Tokens,
}

/// The edge: the CDN's listener, or the load balancer's.
pub(super) struct Edge {
    pub plain: Arc<Listener>,
    pub component: Component,
    pub tls: Mutex<Option<Arc<Listener>>>,
}

/// Everything running for one scenario.
pub struct Topology {
    pub env: Arc<Env>,
    pub scenario: Scenario,
    pub(super) workdir: PathBuf,
    pub(super) port_base: Option<u16>,
    pub db: Db,
    pub(super) api: Arc<ApiShared>,
    pub(super) servers: RwLock<Vec<Arc<ApiServer>>>,
    /// Numbers of servers being started (taken, not yet in `servers`).
    pub(super) adding: Mutex<std::collections::BTreeSet<u16>>,
    pub lb: Arc<Balancer>,
    /// The load balancer's handle: the proxy (as `lb`) and its listener.
    pub(super) lb_service: Proxy<Balancer>,
    pub cdn: Option<Arc<Cdn>>,
    /// The CDN's handle: the proxy (as `cdn`) and its listener.
    pub(super) cdn_service: Option<Proxy<Cdn>>,
    pub(super) edge: Edge,
    pub(super) tls: Mutex<Option<TlsMaterial>>,
    pub dns: DnsStub,
    pub clients: Arc<Clients>,
}

impl std::fmt::Debug for Topology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topology")
            .field("scenario", &self.scenario.name)
            .finish()
    }
}

fn port(base: Option<u16>, offset: u16) -> Result<u16, StartError> {
    match base {
        None => Ok(0),
        Some(b) => b.checked_add(offset).ok_or(StartError::PortRange(b)),
    }
}

impl Topology {
    /// Starts every component of `scenario`; nothing is sent until `clients.start()`.
    pub async fn start(
        env: Arc<Env>,
        scenario: Scenario,
        port_base: Option<u16>,
        workdir: PathBuf,
    ) -> Result<Arc<Topology>, StartError> {
        std::fs::create_dir_all(&workdir).map_err(|source| StartError::WorkDir {
            path: workdir.clone(),
            source,
        })?;
        // 0 means what binding port 0 means: let the system choose (as without a base).
        let port_base = port_base.filter(|&base| base != 0);
        if let Some(base) = port_base {
            port(Some(base), 3 + scenario.servers.count as u16 + 64)?;
        }
        // Every component starts through `Service::start` (`component.rs`), each after
        // what it connects to: the database, the servers, the load balancer, the CDN.
        let db = Db::start(env.clone(), scenario.database.clone()).await?;
        let api = ApiShared::new(db.clone(), scenario.servers.clone(), scenario.api.clone());
        let mut servers = Vec::new();
        for number in 1..=scenario.servers.count as u16 {
            let addr = loopback(port(port_base, 3 + number)?);
            let setup = ServerSetup {
                number,
                addr,
                shared: api.clone(),
            };
            servers.push(Arc::new(ApiServer::start(env.clone(), setup).await?));
        }
        let lb_setup = BalancerSetup {
            balancer: scenario.balancer.clone(),
            servers: servers.iter().map(|s| (s.number(), s.addr())).collect(),
            addr: loopback(port(port_base, 2)?),
        };
        let lb_service = Balancer::start(env.clone(), lb_setup).await?;
        let cdn_service = if scenario.cdn.enabled {
            let setup = CdnSetup {
                cdn: scenario.cdn.clone(),
                lb: lb_service.address(),
                timeout: scenario.balancer.upstream_timeout.get() * 2 + Duration::from_secs(1),
                addr: loopback(port(port_base, 1)?),
            };
            Some(Cdn::start(env.clone(), setup).await?)
        } else {
            None
        };
        let edge = match &cdn_service {
            Some(c) => Edge {
                plain: c.listener.clone(),
                component: Component::Cdn,
                tls: Mutex::new(None),
            },
            None => Edge {
                plain: lb_service.listener.clone(),
                component: Component::Lb,
                tls: Mutex::new(None),
            },
        };
        let dns_setup = DnsSetup {
            dns: scenario.dns.clone(),
            port: port(port_base, 0)?,
            edge_port: edge.plain.addr().port(),
        };
        let dns = DnsStub::start(env.clone(), dns_setup).await?;
        let clients = Clients::new(
            env.clone(),
            ClientsConfig {
                profiles: scenario.effective_profiles(),
                traffic: scenario.traffic.clone(),
                database: scenario.database.clone(),
                host: format!("api.{}", scenario.dns.zone),
                dns: dns.addr(),
                dns_timeout: scenario.dns.timeout.get(),
                dns_retries: scenario.dns.retries,
                edge: edge.plain.addr(),
                edge_component: edge.component,
                tokens: (
                    scenario.api.allowed_token.clone(),
                    scenario.api.forbidden_token.clone(),
                ),
            },
        );
        env.set_capture_headers(scenario.trace.capture_headers);
        let topology = Arc::new(Topology {
            adding: Mutex::new(std::collections::BTreeSet::new()),
            servers: RwLock::new(servers),
            env,
            workdir,
            port_base,
            db,
            api,
            lb: lb_service.proxy.clone(),
            lb_service,
            cdn: cdn_service.as_ref().map(|c| c.proxy.clone()),
            cdn_service,
            edge,
            tls: Mutex::new(None),
            dns,
            clients,
            scenario,
        });
        if topology.scenario.tls.enabled {
            topology.set_tls(true).await?;
        }
        Ok(topology)
    }

    /// Turns HTTPS at the edge on (plain HTTP then answers 308) or off.
    pub async fn set_tls(&self, on: bool) -> Result<(), StartError> {
        if on {
            if self.edge.tls.lock().expect("edge lock").is_some() {
                return Ok(());
            }
            let material = {
                let mut tls = self.tls.lock().expect("tls lock");
                match &*tls {
                    Some(m) => m.clone(),
                    None => {
                        let m = tls::generate(&self.scenario.dns.zone, &self.workdir)?;
                        *tls = Some(m.clone());
                        m
                    }
                }
            };
            let handler = match &self.cdn {
                Some(cdn) => cdn.handler(),
                None => self.lb.handler(),
            };
            let name = format!("{} (https)", self.edge.component);
            let listener = Listener::start(
                self.env.clone(),
                &name,
                loopback(port(self.port_base, 3)?),
                Mode::Serve(handler),
                Some(material.acceptor.clone()),
            )
            .await?;
            let tls_addr = listener.addr();
            self.edge
                .plain
                .set_mode(Mode::RedirectToHttps(Arc::new(HttpsRedirect::new(
                    tls_addr.port(),
                    &self.scenario.dns.zone,
                    &self.scenario.dns.names,
                ))));
            *self.edge.tls.lock().expect("edge lock") = Some(listener);
            self.clients
                .set_edge_tls(Some((tls_addr, material.connector.clone())));
        } else {
            if let Some(l) = self.edge.tls.lock().expect("edge lock").take() {
                l.kill();
            }
            let handler = match &self.cdn {
                Some(cdn) => cdn.handler(),
                None => self.lb.handler(),
            };
            self.edge.plain.set_mode(Mode::Serve(handler));
            self.clients.set_edge_tls(None);
        }
        Ok(())
    }

    /// Every listening address now.
    pub fn addresses(&self) -> Addresses {
        let tls = self.edge.tls.lock().expect("edge lock");
        Addresses {
            dns: self.dns.addr().to_string(),
            edge: self.edge.plain.addr().to_string(),
            edge_tls: tls.as_ref().map(|l| l.addr().to_string()),
            ca_cert: tls.as_ref().and(
                self.tls
                    .lock()
                    .expect("tls lock")
                    .as_ref()
                    .map(|m| m.ca_path.display().to_string()),
            ),
            cdn: self.cdn_service.as_ref().map(|c| c.address().to_string()),
            lb: self.lb_service.address().to_string(),
            servers: self
                .servers()
                .iter()
                .map(|s| s.addr().to_string())
                .collect(),
            zone: self.scenario.dns.zone.clone(),
            tokens: Tokens {
                allowed: self.scenario.api.allowed_token.clone(),
                forbidden: self.scenario.api.forbidden_token.clone(),
            },
        }
    }

    /// The servers now, in order.
    pub fn servers(&self) -> Vec<Arc<ApiServer>> {
        self.servers.read().expect("servers lock").clone()
    }

    /// Server number `n`, if it exists.
    pub fn server(&self, n: u16) -> Option<Arc<ApiServer>> {
        self.servers
            .read()
            .expect("servers lock")
            .iter()
            .find(|s| s.number() == n)
            .cloned()
    }

    /// Live gauges of every server, with the load balancer's view of its health.
    pub fn gauges(&self) -> Vec<ServerGauge> {
        self.servers()
            .iter()
            .map(|s| {
                let mut g = s.gauge();
                g.healthy = self.lb.is_eligible(s.number());
                g
            })
            .collect()
    }

    /// Which component is the edge.
    pub fn edge_component(&self) -> Component {
        self.edge.component
    }

    /// Whether the edge is accepting connections.
    pub fn edge_alive(&self) -> bool {
        self.edge.plain.is_alive()
    }

    /// Whether a component's listener is up.
    pub fn is_alive(&self, component: Component) -> bool {
        match component {
            Component::Cdn => self.cdn_service.as_ref().is_some_and(|c| c.is_alive()),
            Component::Lb => self.lb_service.is_alive(),
            Component::Dns => self.dns.is_alive(),
            Component::Server(n) => self.server(n).is_some_and(|s| s.gauge().alive),
            Component::Client | Component::Db => true,
        }
    }

    /// Starts one more server on the lowest free number (a server removed and added again
    /// gets its number back) and puts it behind the load balancer.
    pub async fn add_server(&self) -> Result<Arc<ApiServer>, StartError> {
        let n = {
            let servers = self.servers.read().expect("servers lock");
            let mut adding = self.adding.lock().expect("adding lock");
            if servers.len() + adding.len() >= crate::scenario::MAX_SERVERS {
                return Err(StartError::TooManyServers(crate::scenario::MAX_SERVERS));
            }
            let n = (1..u16::MAX)
                .find(|n| !adding.contains(n) && !servers.iter().any(|s| s.number() == *n))
                .unwrap_or(u16::MAX);
            adding.insert(n);
            n
        };
        let started = async {
            let setup = ServerSetup {
                number: n,
                addr: loopback(port(self.port_base, 3 + n)?),
                shared: self.api.clone(),
            };
            Ok::<_, StartError>(Arc::new(ApiServer::start(self.env.clone(), setup).await?))
        }
        .await;
        let server = match started {
            Ok(server) => server,
            Err(e) => {
                self.adding.lock().expect("adding lock").remove(&n);
                return Err(e);
            }
        };
        {
            let mut list = self.servers.write().expect("servers lock");
            let at = list.partition_point(|s| s.number() < n);
            list.insert(at, server.clone());
            self.adding.lock().expect("adding lock").remove(&n);
        }
        self.lb.add_backend(n, server.addr());
        Ok(server)
    }

    /// Takes server `n` out of the pool and stops it.
    pub fn remove_server(&self, n: u16) -> bool {
        let removed = {
            let mut list = self.servers.write().expect("servers lock");
            let at = list.iter().position(|s| s.number() == n);
            at.map(|i| list.remove(i))
        };
        match removed {
            Some(server) => {
                self.lb.remove_backend(n);
                server.kill();
                true
            }
            None => false,
        }
    }

    /// Stops every listener (the run is over).
    pub fn stop(&self) {
        for s in self.servers() {
            s.kill();
        }
        self.lb_service.kill();
        if let Some(c) = &self.cdn_service {
            c.kill();
        }
        if let Some(l) = self.edge.tls.lock().expect("edge lock").take() {
            l.kill();
        }
        self.dns.kill();
    }
}

impl Topology {
    /// The running topology's settings as a scenario: what `hopscope` would need to start
    /// this same setup again. Timed events are left out (their effects are already in the
    /// settings); faults on single servers (hang, slow, errors) are not settings and are
    /// left out too.
    pub fn current_scenario(&self) -> Scenario {
        let mut s = self.scenario.clone();
        s.events.clear();
        s.time_scale = self.env.scale.get();
        s.servers.count = self.servers().len().max(1);
        s.balancer.policy = self.lb.policy();
        s.balancer.latency = self.lb.link().latency().into();
        s.balancer.jitter = self.lb.link().jitter().into();
        if let Some(cdn) = &self.cdn {
            let view = cdn.view();
            s.cdn.cache_enabled = view.enabled;
            s.cdn.capacity = view.capacity;
            s.cdn.eviction = view.eviction;
            s.cdn.ttl = view.ttl_override.map(Into::into);
            s.cdn.latency = cdn.link().latency().into();
            s.cdn.jitter = cdn.link().jitter().into();
        }
        s.database.latency = self.db.latency().into();
        s.traffic.rate = self.clients.rate();
        s.traffic.zipf = self.clients.zipf();
        s.servers.stateless = self.api.stateless();
        s.traffic.enabled = !self.clients.is_paused();
        s.profiles = self.clients.profiles_now();
        s.tls.enabled = self.edge.tls.lock().expect("edge lock").is_some();
        s
    }
}
