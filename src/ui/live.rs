//! The window's link to a running engine. `Session` owns the engine of the scenario on
//! screen and is the only place the window touches it: everything it asks goes out on the
//! engine's control channel (`Engine::try_submit`, never waiting; the tickets are kept and
//! their answers read in order once per frame), and once per frame `poll` reads what the
//! panels show into a plain `Live` value (the recorder's latest snapshot and the status
//! published beside it). Panels draw from `Live` only, so drawing never takes an engine lock.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::waker::Waker;
use crate::engine::CacheView;
use crate::engine::{
    Addresses, Answer, ControlError, Engine, EngineError, EngineOptions, Op, Ticket,
};
use crate::scenario::{Command, Policy, Scenario};
use crate::trace::{Component, Snapshot};

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
                tokens: crate::engine::Tokens {
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
    /// Batches sent and not yet answered, oldest first.
    pending: VecDeque<Ticket>,
    /// Batches waiting for room in the engine's control channel, oldest first (sent before
    /// any newer one, each frame, so the order holds and the window never blocks).
    unsent: VecDeque<Vec<Op>>,
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
            pending: VecDeque::new(),
            unsent: VecDeque::new(),
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
        let status = self.engine.status();
        Live {
            snapshot: self.engine.snapshot(),
            now_micros: self.engine.now_micros(),
            time_scale: self.engine.time_scale(),
            paused: status.paused,
            sent: status.sent,
            policy: status.policy,
            cache: status.cache,
            addresses: self.addresses.clone(),
            edge: status.edge,
            dns_alive: status.dns_alive,
            cdn_alive: status.cdn_alive,
            lb_alive: status.lb_alive,
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

    /// Puts `ops` on the engine's control channel; their answers come from `answers`. When
    /// the channel is full they wait here, in order, and go out on a later frame; `Err` only
    /// when the engine has stopped.
    pub fn submit(&mut self, ops: Vec<Op>) -> Result<(), ControlError> {
        self.unsent.push_back(ops);
        self.send_unsent()
    }

    /// Sends what waits for room, oldest first, until the channel is full again.
    fn send_unsent(&mut self) -> Result<(), ControlError> {
        while let Some(ops) = self.unsent.front() {
            match self.engine.try_submit(ops.clone()) {
                Ok(ticket) => {
                    self.pending.push_back(ticket);
                    self.unsent.pop_front();
                }
                Err(ControlError::Busy) => return Ok(()),
                Err(e) => {
                    self.unsent.clear();
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Sends a control command; its answer comes from `answers`.
    pub fn send(&mut self, command: Command) -> Result<(), ControlError> {
        self.submit(vec![Op::Apply(command)])
    }

    /// Sends the next planned request; a stepped one waits at every hop. Its id comes from
    /// `answers` (`Answer::Planned`).
    pub fn send_one(&mut self, stepped: bool) -> Result<(), ControlError> {
        self.submit(vec![Op::SendPlanned { stepped }])
    }

    /// Lets the stepped request take one more hop.
    pub fn step(&mut self) -> Result<(), ControlError> {
        self.submit(vec![Op::Step])
    }

    /// Lets every stepped request run on (step mode off).
    pub fn release_steps(&mut self) -> Result<(), ControlError> {
        self.submit(vec![Op::ReleaseSteps])
    }

    /// The answers that have arrived, in the order their batches were sent (a batch still
    /// being done holds back the ones after it, so the order is never mixed). Sends what
    /// waited for room first.
    pub fn answers(&mut self) -> Vec<Answer> {
        // The engine stopped: the window says so when it next sends something.
        let _ = self.send_unsent();
        let mut out = Vec::new();
        while let Some(ticket) = self.pending.front_mut() {
            match ticket.try_take() {
                Ok(Some(answers)) => out.extend(answers),
                Ok(None) => break,
                // The engine stopped: nothing more will come for this batch.
                Err(_) => {}
            }
            self.pending.pop_front();
        }
        out
    }

    /// Stops the engine on a background thread, so the window never waits for requests in
    /// flight to drain. Returns the thread, to join when the process is about to end.
    pub fn stop_in_background(self) -> Option<std::thread::JoinHandle<()>> {
        let mut engine = self.engine;
        std::thread::Builder::new()
            .name("hopscope-engine-stop".into())
            .spawn(move || {
                // A stepped request goes on to its true outcome rather than being cancelled.
                let _ = engine.call(vec![Op::ReleaseSteps]);
                engine.stop();
                drop(engine);
            })
            .ok()
    }
}
