//! The window's link to a running engine. `Session` owns the engine of the scenario on
//! screen and is the only place the window touches it: commands go out through
//! `Engine::send` (never waiting), and once per frame `poll` reads what the panels show into
//! a plain `Live` value (the recorder's latest snapshot plus a few gauges). Panels draw from
//! `Live` only, so drawing never takes an engine lock.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::waker::Waker;
use crate::engine::cdn::CacheView;
use crate::engine::{Addresses, Engine, EngineError, EngineOptions, Reply};
use crate::scenario::{Command, Policy, Scenario};
use crate::trace::{Component, Snapshot, TraceId};

/// How often the addresses are read again (they change only with a command).
const ADDRESSES_EVERY: Duration = Duration::from_secs(1);

/// Where the scenario on screen came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScenarioSource {
    /// A built-in, by name.
    Builtin(String),
    /// A scenario file (reloaded when it changes on disk).
    File(PathBuf),
    /// Given directly (tests, benchmarks).
    Inline,
}

impl ScenarioSource {
    /// How a person would name it.
    pub fn label(&self) -> String {
        match self {
            ScenarioSource::Builtin(name) => format!("built-in “{name}”"),
            ScenarioSource::File(path) => path.display().to_string(),
            ScenarioSource::Inline => "given scenario".into(),
        }
    }
}

/// A client profile as the canvas shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileInfo {
    pub name: String,
    pub clients: usize,
}

/// What the panels show about the run, read once per frame.
#[derive(Clone, Debug)]
pub struct Live {
    pub snapshot: Arc<Snapshot>,
    /// Trace time now (microseconds since the run started).
    pub now_micros: u64,
    pub time_scale: f64,
    pub paused: bool,
    /// Requests the clients have sent (simulated ones; outside requests are not counted).
    pub sent: u64,
    pub policy: Policy,
    /// The CDN's cache, when the scenario has a CDN.
    pub cache: Option<CacheView>,
    pub addresses: Addresses,
    /// Which component clients connect to first.
    pub edge: Component,
    pub dns_alive: bool,
    pub cdn_alive: bool,
    pub lb_alive: bool,
    pub profiles: Vec<ProfileInfo>,
    /// The scenario's name and one-line summary.
    pub name: String,
    pub summary: String,
    /// Database connections.
    pub db_pool: usize,
}

impl Live {
    /// A `Live` for `scenario` without an engine, showing `snapshot` at `now_micros`
    /// (benchmarks and tests of the drawing code).
    pub fn offline(scenario: &Scenario, snapshot: Arc<Snapshot>, now_micros: u64) -> Live {
        let addr = |p: u16| format!("127.0.0.1:{p}");
        Live {
            now_micros,
            time_scale: scenario.time_scale,
            paused: false,
            sent: snapshot.totals.begun,
            policy: scenario.balancer.policy,
            cache: scenario.cdn.enabled.then_some(CacheView {
                enabled: scenario.cdn.cache_enabled,
                entries: 0,
                capacity: scenario.cdn.capacity,
                eviction: scenario.cdn.eviction,
                ttl_override: None,
            }),
            addresses: Addresses {
                dns: addr(5300),
                edge: addr(if scenario.cdn.enabled { 8001 } else { 8002 }),
                edge_tls: None,
                ca_cert: None,
                cdn: scenario.cdn.enabled.then(|| addr(8001)),
                lb: addr(8002),
                servers: snapshot.servers.iter().map(|g| g.address.clone()).collect(),
                zone: scenario.dns.zone.clone(),
                tokens: crate::engine::topology::Tokens {
                    allowed: scenario.api.allowed_token.clone(),
                    forbidden: scenario.api.forbidden_token.clone(),
                },
            },
            edge: if scenario.cdn.enabled {
                Component::Cdn
            } else {
                Component::Lb
            },
            dns_alive: true,
            cdn_alive: scenario.cdn.enabled,
            lb_alive: true,
            profiles: profiles(scenario),
            name: scenario.name.clone(),
            summary: scenario.summary.clone(),
            db_pool: scenario.database.pool,
            snapshot,
        }
    }

    /// The names of the client profiles, in node order.
    pub fn profile_names(&self) -> Vec<String> {
        self.profiles.iter().map(|p| p.name.clone()).collect()
    }
}

fn profiles(scenario: &Scenario) -> Vec<ProfileInfo> {
    scenario
        .effective_profiles()
        .into_iter()
        .map(|p| ProfileInfo {
            name: p.name,
            clients: p.clients,
        })
        .collect()
}

/// The running engine of the scenario on screen.
pub struct Session {
    engine: Engine,
    pub scenario: Scenario,
    pub source: ScenarioSource,
    profiles: Vec<ProfileInfo>,
    addresses: Addresses,
    addresses_at: Instant,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("scenario", &self.scenario.name)
            .field("source", &self.source)
            .finish()
    }
}

impl Session {
    /// Starts `scenario` with traffic and timed events as asked (blocks briefly while the
    /// components bind their sockets).
    pub fn start(
        scenario: Scenario,
        source: ScenarioSource,
        traffic: bool,
        play_events: bool,
        waker: &Arc<Waker>,
    ) -> Result<Session, EngineError> {
        let engine = Engine::start(
            scenario.clone(),
            EngineOptions {
                traffic,
                play_events,
                wake: Some(waker.callback()),
                ..EngineOptions::default()
            },
        )?;
        let addresses = engine.addresses();
        Ok(Session {
            profiles: profiles(&scenario),
            engine,
            scenario,
            source,
            addresses,
            addresses_at: Instant::now(),
        })
    }

    /// The engine (tests read its state to check what the window did).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Reads what the panels show this frame.
    pub fn poll(&mut self) -> Live {
        if self.addresses_at.elapsed() >= ADDRESSES_EVERY {
            self.refresh_addresses();
        }
        let t = self.engine.topology();
        Live {
            snapshot: self.engine.snapshot(),
            now_micros: t.env.now(),
            time_scale: t.env.scale.get(),
            paused: t.clients.is_paused(),
            sent: t.clients.sent(),
            policy: t.lb.policy(),
            cache: t.cdn.as_ref().map(|c| c.view()),
            addresses: self.addresses.clone(),
            edge: t.edge_component(),
            dns_alive: t.is_alive(Component::Dns),
            cdn_alive: t.is_alive(Component::Cdn),
            lb_alive: t.is_alive(Component::Lb),
            profiles: self.profiles.clone(),
            name: self.scenario.name.clone(),
            summary: self.scenario.summary.clone(),
            db_pool: self.scenario.database.pool,
        }
    }

    /// Reads the listening addresses again (after a command that may change them).
    pub fn refresh_addresses(&mut self) {
        self.addresses = self.engine.addresses();
        self.addresses_at = Instant::now();
    }

    /// Sends a control command; its answer arrives in `replies`.
    pub fn send(&self, command: Command) {
        self.engine.send(command);
    }

    /// Answers to commands, oldest first.
    pub fn replies(&self) -> Vec<Reply> {
        self.engine.replies()
    }

    /// Sends the next planned request now; a stepped one waits at every hop.
    pub fn send_one(&self, stepped: bool) -> Option<TraceId> {
        let handle = self.engine.handle();
        let _runtime = handle.enter();
        self.engine.topology().clients.send_planned(stepped)
    }

    /// Lets the stepped request take one more hop.
    pub fn step(&self) {
        self.engine.topology().env.gate.step();
    }

    /// Lets every stepped request run on (step mode off).
    pub fn release_steps(&self) {
        self.engine.topology().env.gate.release_all();
    }

    /// Stops the engine on a background thread, so the window never waits for requests in
    /// flight to drain. Returns the thread, to join when the process is about to end.
    pub fn stop_in_background(self) -> Option<std::thread::JoinHandle<()>> {
        self.release_steps();
        self.engine.topology().clients.set_paused(true);
        let mut engine = self.engine;
        std::thread::Builder::new()
            .name("hopscope-engine-stop".into())
            .spawn(move || {
                engine.stop();
                drop(engine);
            })
            .ok()
    }
}
