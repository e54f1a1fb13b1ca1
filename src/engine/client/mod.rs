//! The clients: a traffic generator with client profiles (browser, mobile app, command-line
//! tool, server-to-server, IoT device) that differ in what they ask for, their link to the
//! edge, keep-alive and TLS. Open-loop Poisson arrivals at a rate (with an optional ramp) or
//! closed-loop users who think between requests; deterministic for a seed; bounded by count.
//! Pausing, the rate, the mix, keep-alive, TLS and the client link change live.

mod plan;
mod request;
mod session;
mod timing;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use rand::RngExt;
use rand::rngs::StdRng;
use tokio::sync::{Notify, Semaphore};
use tokio_rustls::TlsConnector;

pub use plan::{Planned, Planner};
pub use session::{CONNECTIONS_PER_HOST, Session};

use super::Env;
use super::link::LinkState;
use crate::scenario::{DatabaseConfig, Profile, SendRequest, TrafficConfig, TrafficMode};
use crate::trace::{Component, TraceId};

/// A profile at run time: its settings, its link and its clients (made on first use).
pub struct ProfileRuntime {
    pub profile: Profile,
    /// The link from this profile's clients to the edge.
    pub link: Arc<LinkState>,
    sessions: Vec<OnceLock<Arc<Session>>>,
}

/// What the clients need to know about the topology.
#[derive(Clone, Debug)]
pub struct ClientsConfig {
    pub profiles: Vec<Profile>,
    pub traffic: TrafficConfig,
    pub database: DatabaseConfig,
    /// The name clients look up (`api.<zone>`).
    pub host: String,
    pub dns: SocketAddr,
    pub dns_timeout: Duration,
    pub dns_retries: u32,
    /// The edge's plain HTTP address.
    pub edge: SocketAddr,
    /// Which component the edge is (the CDN, or the LB when there is no CDN).
    pub edge_component: Component,
    /// The allowed and forbidden demo tokens.
    pub tokens: (String, String),
}

const UNSET: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

/// State shared by every request of the run.
pub struct ClientsShared {
    pub env: Arc<Env>,
    pub host: String,
    pub edge: SocketAddr,
    edge_component: Component,
    edge_tls: RwLock<Option<SocketAddr>>,
    tls: RwLock<Option<TlsConnector>>,
    dns: SocketAddr,
    dns_timeout: Duration,
    dns_retries: u32,
    pub tokens: (String, String),
    pub profiles: Vec<ProfileRuntime>,
    keep_alive: AtomicU8,
    tls_wanted: AtomicU8,
    pub in_flight: Semaphore,
    pub timeout: Duration,
    /// Requests begun and not yet ended.
    pub open_requests: AtomicU64,
}

impl ClientsShared {
    /// Client `index` of profile `profile`, made on first use.
    pub fn session(&self, profile: usize, index: usize) -> Arc<Session> {
        let p = &self.profiles[profile];
        let slot = &p.sessions[index.min(p.sessions.len() - 1)];
        slot.get_or_init(|| {
            Arc::new(Session::new(
                self.env.clone(),
                format!("{}-{}", p.profile.name, index + 1),
                self.dns,
                self.dns_timeout,
                self.dns_retries,
            ))
        })
        .clone()
    }

    /// Whether requests of `profile` keep their connection open.
    pub fn keeps_alive(&self, profile: usize) -> bool {
        match self.keep_alive.load(Ordering::Relaxed) {
            ON => true,
            OFF => false,
            _ => self.profiles[profile].profile.keep_alive,
        }
    }

    /// Whether requests of `profile` use HTTPS (TLS must be on at the edge).
    pub fn uses_tls(&self, profile: usize) -> bool {
        if self.edge_tls().is_none() {
            return false;
        }
        match self.tls_wanted.load(Ordering::Relaxed) {
            ON => true,
            OFF => false,
            _ => self.profiles[profile].profile.tls,
        }
    }

    /// The edge's HTTPS address, when TLS is on.
    pub fn edge_tls(&self) -> Option<SocketAddr> {
        *self.edge_tls.read().expect("edge lock")
    }

    /// The TLS client configuration, when TLS is on.
    pub fn tls_connector(&self) -> Option<TlsConnector> {
        self.tls.read().expect("tls lock").clone()
    }

    /// The component clients send their requests to.
    pub fn edge_component(&self) -> Component {
        self.edge_component
    }
}

/// How the generator is told what to do.
struct TrafficState {
    paused: AtomicBool,
    rate_bits: AtomicU64,
    changed: Notify,
    sent: AtomicU64,
    sent_changed: Notify,
    planner: Mutex<Planner>,
    rng: Mutex<StdRng>,
}

/// The clients of a run.
pub struct Clients {
    shared: Arc<ClientsShared>,
    traffic: TrafficConfig,
    state: Arc<TrafficState>,
}

/// How far the open-loop schedule may fall behind before it starts afresh.
const MAX_BEHIND: Duration = Duration::from_millis(250);

/// Random streams (purposes for `Env::rng`).
const PLANNER_STREAM: u64 = 0x11;
const ARRIVAL_STREAM: u64 = 0x12;
const USER_STREAM: u64 = 0x1000;

impl Clients {
    /// Clients for `config`; no traffic flows until `start`.
    pub fn new(env: Arc<Env>, config: ClientsConfig) -> Arc<Clients> {
        let profiles: Vec<ProfileRuntime> = config
            .profiles
            .iter()
            .map(|p| ProfileRuntime {
                profile: p.clone(),
                link: LinkState::new(p.latency.get(), p.jitter.get(), p.loss),
                sessions: (0..p.clients.max(1)).map(|_| OnceLock::new()).collect(),
            })
            .collect();
        let planner = Planner::new(
            config.profiles.clone(),
            config.traffic.zipf,
            &config.database,
        );
        let shared = Arc::new(ClientsShared {
            host: config.host,
            edge: config.edge,
            edge_component: config.edge_component,
            edge_tls: RwLock::new(None),
            tls: RwLock::new(None),
            dns: config.dns,
            dns_timeout: config.dns_timeout,
            dns_retries: config.dns_retries,
            tokens: config.tokens,
            profiles,
            keep_alive: AtomicU8::new(UNSET),
            tls_wanted: AtomicU8::new(UNSET),
            in_flight: Semaphore::new(config.traffic.max_in_flight.max(1)),
            timeout: config.traffic.timeout.get(),
            open_requests: AtomicU64::new(0),
            env: env.clone(),
        });
        Arc::new(Clients {
            state: Arc::new(TrafficState {
                paused: AtomicBool::new(!config.traffic.enabled),
                rate_bits: AtomicU64::new(config.traffic.rate.to_bits()),
                changed: Notify::new(),
                sent: AtomicU64::new(0),
                sent_changed: Notify::new(),
                planner: Mutex::new(planner),
                rng: Mutex::new(env.rng(PLANNER_STREAM)),
            }),
            traffic: config.traffic,
            shared,
        })
    }

    /// Shared state (for the engine's controls and tests).
    pub fn shared(&self) -> &Arc<ClientsShared> {
        &self.shared
    }

    /// Turns HTTPS on at `addr` with `connector` (or off).
    pub fn set_edge_tls(&self, tls: Option<(SocketAddr, TlsConnector)>) {
        let (addr, connector) = match tls {
            Some((a, c)) => (Some(a), Some(c)),
            None => (None, None),
        };
        *self.shared.edge_tls.write().expect("edge lock") = addr;
        *self.shared.tls.write().expect("tls lock") = connector;
    }

    /// Starts the traffic generator (it waits while paused).
    pub fn start(self: &Arc<Self>) {
        match self.traffic.mode {
            TrafficMode::Open => {
                let this = self.clone();
                tokio::spawn(async move { this.open_loop().await });
            }
            TrafficMode::Closed => {
                for user in 0..self.traffic.users {
                    let this = self.clone();
                    tokio::spawn(async move { this.closed_loop(user).await });
                }
            }
        }
    }

    fn limit_reached(&self) -> bool {
        self.traffic.requests > 0 && self.sent() >= self.traffic.requests
    }

    /// Counts a request as sent; false when the count limit is reached.
    fn claim(&self) -> bool {
        let limit = self.traffic.requests;
        let claimed = self
            .state
            .sent
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (limit == 0 || n < limit).then_some(n + 1)
            })
            .is_ok();
        if claimed {
            self.state.sent_changed.notify_waiters();
        }
        claimed
    }

    async fn wait_while_paused(&self) {
        loop {
            let changed = self.state.changed.notified();
            if !self.state.paused.load(Ordering::Acquire) && self.rate() > 0.0 {
                return;
            }
            changed.await;
        }
    }

    async fn open_loop(self: Arc<Self>) {
        let env = self.shared.env.clone();
        let mut arrivals = env.rng(ARRIVAL_STREAM);
        let started = tokio::time::Instant::now();
        // Arrivals keep to a schedule: each is due one gap after the previous one was due,
        // not after it happened, so a late wake-up (a busy machine) delays that arrival but
        // never lowers the rate. After a pause, a rate change or a stall longer than
        // `MAX_BEHIND`, the schedule starts afresh instead of catching up in a burst.
        let mut due: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                _ = self.wait_while_paused() => {}
                _ = env.shutdown.cancelled() => return,
            }
            let ramp = self.traffic.ramp.get();
            let mut rate = self.rate();
            if !ramp.is_zero() {
                let progress =
                    started.elapsed().as_secs_f64() / env.scale.apply(ramp).as_secs_f64();
                rate *= progress.clamp(0.02, 1.0);
            }
            // Exponential gaps between arrivals: a Poisson process.
            let gap = -(1.0 - arrivals.random::<f64>()).ln() / rate;
            let now = tokio::time::Instant::now();
            let from = due
                .filter(|d| now.saturating_duration_since(*d) < MAX_BEHIND)
                .unwrap_or(now);
            let next = from + env.scale.apply(Duration::from_secs_f64(gap.min(3600.0)));
            tokio::select! {
                _ = env.overshoot.sleep_until(next) => due = Some(next),
                _ = self.state.changed.notified() => {
                    // Paused or rate changed: draw again, from now.
                    due = None;
                    continue;
                }
                _ = env.shutdown.cancelled() => return,
            }
            if self.state.paused.load(Ordering::Acquire) {
                due = None;
                continue;
            }
            let Some(plan) = self.next_plan() else {
                continue;
            };
            if !self.claim() {
                return;
            }
            let shared = self.shared.clone();
            tokio::spawn(request::perform(shared, plan, TraceId::random(), false));
        }
    }

    async fn closed_loop(self: Arc<Self>, user: usize) {
        let env = self.shared.env.clone();
        let mut rng = env.rng(USER_STREAM + user as u64);
        let think = self.traffic.think.get().as_secs_f64();
        loop {
            tokio::select! {
                _ = self.wait_while_paused() => {}
                _ = env.shutdown.cancelled() => return,
            }
            let plan = {
                let planner = self.state.planner.lock().expect("planner lock");
                planner.next(&mut rng)
            };
            let Some(mut plan) = plan else {
                env.delay(Duration::from_millis(100)).await;
                continue;
            };
            // Each user is one client of its profile.
            let clients = self.shared.profiles[plan.profile].profile.clients.max(1);
            plan.client = user % clients;
            if !self.claim() {
                return;
            }
            tokio::select! {
                _ = request::perform(self.shared.clone(), plan, TraceId::random(), false) => {}
                _ = env.shutdown.cancelled() => return,
            }
            let pause = -(1.0 - rng.random::<f64>()).ln() * think;
            tokio::select! {
                _ = env.delay(Duration::from_secs_f64(pause.min(3600.0))) => {}
                _ = env.shutdown.cancelled() => return,
            }
        }
    }

    fn next_plan(&self) -> Option<Planned> {
        let planner = self.state.planner.lock().expect("planner lock");
        let mut rng = self.state.rng.lock().expect("rng lock");
        planner.next(&mut rng)
    }

    /// Sends one request now; returns its id. A stepped request waits at every hop for
    /// `StepGate::step`.
    pub fn send(&self, send: &SendRequest, stepped: bool) -> TraceId {
        let profile = send
            .profile
            .as_ref()
            .and_then(|name| {
                self.shared
                    .profiles
                    .iter()
                    .position(|p| &p.profile.name == name)
            })
            .unwrap_or(0);
        let plan = Planned::from_send(send, profile);
        let id = TraceId::random();
        self.state.sent.fetch_add(1, Ordering::AcqRel);
        self.state.sent_changed.notify_waiters();
        tokio::spawn(request::perform(self.shared.clone(), plan, id, stepped));
        id
    }

    /// Sends the next planned request now (the "send one request" button).
    pub fn send_planned(&self, stepped: bool) -> Option<TraceId> {
        let plan = self.next_plan()?;
        let id = TraceId::random();
        self.state.sent.fetch_add(1, Ordering::AcqRel);
        self.state.sent_changed.notify_waiters();
        tokio::spawn(request::perform(self.shared.clone(), plan, id, stepped));
        Some(id)
    }

    /// Requests begun and not yet ended.
    pub fn open_requests(&self) -> u64 {
        self.shared.open_requests.load(Ordering::Acquire)
    }

    /// Requests sent so far.
    pub fn sent(&self) -> u64 {
        self.state.sent.load(Ordering::Acquire)
    }

    /// Waits until at least `n` requests have been sent.
    pub async fn wait_sent(&self, n: u64) {
        loop {
            let changed = self.state.sent_changed.notified();
            if self.sent() >= n {
                return;
            }
            changed.await;
        }
    }

    /// Whether the count limit stopped the traffic.
    pub fn finished(&self) -> bool {
        self.limit_reached()
    }

    /// Stops or restarts generated traffic.
    pub fn set_paused(&self, paused: bool) {
        self.state.paused.store(paused, Ordering::Release);
        self.state.changed.notify_waiters();
    }

    /// Whether generated traffic is paused.
    pub fn is_paused(&self) -> bool {
        self.state.paused.load(Ordering::Acquire)
    }

    /// The open-loop rate, requests per second.
    pub fn rate(&self) -> f64 {
        f64::from_bits(self.state.rate_bits.load(Ordering::Acquire))
    }

    /// Changes the open-loop rate.
    pub fn set_rate(&self, rate: f64) {
        let r = if rate.is_finite() {
            rate.clamp(0.0, 1_000_000.0)
        } else {
            0.0
        };
        self.state.rate_bits.store(r.to_bits(), Ordering::Release);
        self.state.changed.notify_waiters();
    }

    /// Changes the popularity skew of requested ids (0: uniform).
    pub fn set_zipf(&self, exponent: f64) {
        self.state
            .planner
            .lock()
            .expect("planner lock")
            .set_zipf(exponent);
    }

    /// The popularity skew of requested ids.
    pub fn zipf(&self) -> f64 {
        self.state.planner.lock().expect("planner lock").zipf()
    }

    /// Changes a profile's share; false if there is no such profile.
    pub fn set_weight(&self, profile: &str, weight: f64) -> bool {
        self.state
            .planner
            .lock()
            .expect("planner lock")
            .set_weight(profile, weight)
    }

    /// Each profile's weight now (a command may have changed it since the start).
    fn weights_now(&self) -> Vec<f64> {
        self.state
            .planner
            .lock()
            .expect("planner lock")
            .weights()
            .to_vec()
    }

    /// The profiles as they are now: their current share, link and connection habits.
    pub fn profiles_now(&self) -> Vec<Profile> {
        let weights = self.weights_now();
        self.shared
            .profiles
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut profile = p.profile.clone();
                profile.weight = weights.get(i).copied().unwrap_or(profile.weight);
                profile.latency = p.link.latency().into();
                profile.jitter = p.link.jitter().into();
                profile.loss = p.link.loss().min(0.99);
                profile.keep_alive = self.shared.keeps_alive(i);
                match self.shared.tls_wanted.load(Ordering::Relaxed) {
                    ON => profile.tls = true,
                    OFF => profile.tls = false,
                    _ => {}
                }
                profile
            })
            .collect()
    }

    /// Each profile's share, link and connection habit now, as a lesson's world reads them.
    pub fn world_clients(
        &self,
    ) -> std::collections::BTreeMap<String, crate::scenario::ClientState> {
        let weights = self.weights_now();
        self.shared
            .profiles
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (
                    p.profile.name.clone(),
                    crate::scenario::ClientState {
                        weight: weights.get(i).copied().unwrap_or(p.profile.weight),
                        latency: p.link.latency(),
                        loss: p.link.loss(),
                        keep_alive: self.shared.keeps_alive(i),
                    },
                )
            })
            .collect()
    }

    /// Every client forgets its cached DNS answers; returns how many clients there are
    /// (a client that has not sent anything yet has nothing to forget).
    pub fn flush_dns(&self) -> usize {
        let mut n = 0;
        for p in &self.shared.profiles {
            for s in p.sessions.iter().filter_map(OnceLock::get) {
                s.resolver.flush();
                n += 1;
            }
        }
        n
    }

    /// Forces keep-alive on or off for every client.
    pub fn set_keep_alive(&self, on: bool) {
        self.shared
            .keep_alive
            .store(if on { ON } else { OFF }, Ordering::Relaxed);
        if !on {
            for p in &self.shared.profiles {
                for s in p.sessions.iter().filter_map(OnceLock::get) {
                    s.drop_idle();
                }
            }
        }
    }

    /// Forces HTTPS on or off for every client (when the edge has TLS).
    pub fn set_tls(&self, on: bool) {
        self.shared
            .tls_wanted
            .store(if on { ON } else { OFF }, Ordering::Relaxed);
    }

    /// Sets the one-way latency of every client's link.
    pub fn set_latency(&self, latency: Duration) {
        for p in &self.shared.profiles {
            p.link.set_latency(latency);
        }
    }

    /// Sets the loss share of every client's link (1 is a firewall dropping everything).
    pub fn set_loss(&self, share: f64) {
        for p in &self.shared.profiles {
            p.link.set_loss(share);
        }
    }
}
