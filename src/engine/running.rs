//! The engine handle: one explicitly built tokio runtime with named threads, the topology
//! running on it, and the recorder on its own thread. Driven the same way by the CLI, the
//! window and the tests; dropping it stops every task and frees every port.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;

use super::commands::{Answer, Control, ControlError, Op, Ticket};
use super::control::Applied;
use super::recorder_thread::{Gauges, RecorderThread, SnapshotCell, SpoolFlusher, Wake};
use super::restore::Restored;
use super::status::Status;
use super::topology::{Addresses, StartError, Topology};
use super::{Env, scheduler};
use crate::scenario::{Command, Scenario, SendRequest};
use crate::trace::{EventSink, Recorder, RecorderConfig, Snapshot, TraceId};

/// The longest a stop waits for the requests in flight before ending them as `cancelled`.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// Room in the channel from the components to the recorder.
const EVENT_CHANNEL: usize = 1 << 16;

/// How a run starts.
#[derive(Clone, Default)]
pub struct EngineOptions {
    /// Generated traffic flows from the start (else it waits for `resume`).
    pub traffic: bool,
    /// Play the scenario's timed events.
    pub play_events: bool,
    /// Bind fixed ports from here (else the OS picks).
    pub port_base: Option<u16>,
    /// Called after each new snapshot.
    pub wake: Option<Wake>,
    /// Turn detailed tracing off (outcomes are still counted): for measuring its cost.
    pub no_detail: bool,
    /// The folder for the trace spool (else the one set by `--spool-dir` or
    /// `HOPSCOPE_SPOOL_DIR`, else the run's working folder in the temporary directory).
    pub spool_dir: Option<PathBuf>,
    /// The engine's worker threads (default [`WORKER_THREADS`]); benchmarks set 1 to compare
    /// with a single-threaded peer.
    pub worker_threads: Option<usize>,
}

/// The engine's worker threads unless a run asks for another number: the machines hopscope
/// targets have two cores or more.
pub const WORKER_THREADS: usize = 2;

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot start the engine's threads: {0}")]
    Runtime(#[source] std::io::Error),
    #[error(transparent)]
    Start(#[from] StartError),
}

/// A running scenario.
pub struct Engine {
    runtime: Option<Runtime>,
    topology: Arc<Topology>,
    recorder: Option<RecorderThread>,
    cell: SnapshotCell,
    control: Control,
    workdir: PathBuf,
    spool: PathBuf,
    /// The spool is in a folder of its own choosing (removed on its own at the end).
    spool_outside_workdir: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("topology", &self.topology)
            .finish()
    }
}

fn workdir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!("hopscope-{}-{nanos:x}", std::process::id()))
}

impl Engine {
    /// Starts every component of `scenario`.
    pub fn start(scenario: Scenario, options: EngineOptions) -> Result<Engine, EngineError> {
        let dir = workdir();
        // Declared before the runtime so that, on an early return, the runtime (and every
        // task holding a file in the directory) is gone before the directory is removed.
        let mut cleanup = RemoveOnDrop(Some(dir.clone()));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.worker_threads.unwrap_or(WORKER_THREADS).max(1))
            .thread_name("hopscope-engine")
            .enable_all()
            .build()
            .map_err(EngineError::Runtime)?;
        let clock = crate::trace::Clock::start();
        let (sink, rx) = EventSink::new(clock, EVENT_CHANNEL);
        let sink = if options.no_detail {
            sink.without_detail()
        } else {
            sink
        };
        let env = Env::new(
            sink.clone(),
            scenario.time_scale,
            scenario.limits.clone(),
            scenario.seed,
        );
        let topology = runtime.block_on(Topology::start(
            env.clone(),
            scenario.clone(),
            options.port_base,
            dir.clone(),
        ))?;
        let place = super::spool_place::choose(options.spool_dir.as_deref(), &dir);
        let spool = place.path.clone();
        let _remove_spool = RemoveOnDrop(place.outside_workdir.then(|| spool.clone()));
        let recorder = Recorder::new(RecorderConfig {
            keep_recent: scenario.trace.keep_recent,
            spool: Some(spool.clone()),
            spool_limit: place.limit(scenario.trace.spool_limit),
        });
        let gauge_source = topology.clone();
        let gauges: Gauges = Arc::new(move || (gauge_source.gauges(), gauge_source.status()));
        let recorder = RecorderThread::start(recorder, rx, sink, gauges, options.wake.clone())
            .map_err(EngineError::Runtime)?;
        let cell = recorder.cell();
        let control = {
            let _entered = runtime.enter();
            topology
                .clients
                .set_paused(!options.traffic || !scenario.traffic.enabled);
            topology.clients.start();
            let control = Control::start(topology.clone());
            if options.play_events {
                scheduler::play(&topology, &control, &scenario.events);
            }
            control
        };
        cleanup.0 = None; // the engine owns the directory now
        let mut remove_spool = _remove_spool;
        remove_spool.0 = None; // and the spool
        super::leftovers::add(&dir);
        if place.outside_workdir {
            super::leftovers::add(&spool);
        }
        Ok(Engine {
            runtime: Some(runtime),
            topology,
            recorder: Some(recorder),
            cell,
            control,
            workdir: dir,
            spool,
            spool_outside_workdir: place.outside_workdir,
        })
    }

    /// The running topology.
    pub fn topology(&self) -> &Arc<Topology> {
        &self.topology
    }

    /// The recorder's latest snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.cell.get()
    }

    /// Every listening address.
    pub fn addresses(&self) -> Addresses {
        self.topology.addresses()
    }

    /// A handle to the engine's runtime (to run async work on it).
    pub fn handle(&self) -> tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .expect("the runtime lives until shutdown")
            .handle()
            .clone()
    }

    /// The running settings as a scenario (what "save as scenario" writes).
    pub fn current_scenario(&self) -> Scenario {
        self.topology.current_scenario()
    }

    /// The status sampled with the latest snapshot.
    pub fn status(&self) -> Arc<Status> {
        self.cell.status()
    }

    /// Trace time now (microseconds since the run started).
    pub fn now_micros(&self) -> u64 {
        self.topology.env.now()
    }

    /// The time scale in force now.
    pub fn time_scale(&self) -> f64 {
        self.topology.env.scale.get()
    }

    /// Puts `ops` on the control channel without waiting (for the window): their answers
    /// arrive on the ticket; `Busy` when the channel is full.
    pub fn try_submit(&self, ops: Vec<Op>) -> Result<Ticket, ControlError> {
        self.control.try_submit(ops)
    }

    /// Puts `ops` on the control channel, waiting for room but not for the answers (not from
    /// inside the runtime).
    pub fn submit(&self, ops: Vec<Op>) -> Result<Ticket, ControlError> {
        self.control.submit(ops)
    }

    /// Does `ops` in order and waits for their answers (not from inside the runtime).
    pub fn call(&self, ops: Vec<Op>) -> Result<Vec<Answer>, ControlError> {
        self.control.submit(ops)?.wait()
    }

    /// Applies a command and waits for the answer (for the CLI; not from inside the runtime).
    pub fn apply(&self, command: &Command) -> Result<Applied, String> {
        self.control
            .apply(command.clone())
            .map_err(|e| e.to_string())?
    }

    /// Sends `request` with a marker naming it and waits until it is on its way (not from
    /// inside the runtime); `None` when the engine has stopped.
    pub fn send_request(&self, request: SendRequest) -> Option<TraceId> {
        match self.call(vec![Op::Send(request)]).ok()?.into_iter().next() {
            Some(Answer::Sent(id)) => Some(id),
            _ => None,
        }
    }

    /// Does `ops` in order and waits (for the command line; not from inside the runtime).
    /// Returns the restores done, with their tags; commands that fail are reported in the
    /// restore's words or ignored as `serve` would.
    pub fn run_ops_blocking(&self, ops: Vec<Op>) -> Vec<(u64, Restored)> {
        self.call(ops)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| match a {
                Answer::Restored { tag, restored } => Some((tag, restored)),
                _ => None,
            })
            .collect()
    }

    /// The file every ended journey is spooled to.
    pub fn spool_path(&self) -> &std::path::Path {
        &self.spool
    }

    /// Flushes the spool and waits for it, so that reading it sees every request that has
    /// ended (but the last quarter second's). Returns at once when the recorder has stopped.
    pub fn flush_spool(&self) {
        if let Some(flusher) = self.spool_flusher() {
            flusher.flush(std::time::Duration::from_secs(2));
        }
    }

    /// What flushes the spool from another thread (`None` once the recorder has stopped).
    pub fn spool_flusher(&self) -> Option<SpoolFlusher> {
        self.recorder.as_ref().map(RecorderThread::flusher)
    }

    /// Requests the clients have open now (read now, not sampled).
    pub fn requests_in_flight(&self) -> u64 {
        self.topology.clients.open_requests()
    }

    /// Stops traffic and every component, drains the recorder and returns the final
    /// snapshot. Requests in flight get [`STOP_GRACE`] (or the clients' timeout, if
    /// shorter) to finish with their true outcome; those still open then end as
    /// `cancelled`. The working directory (spool, CA certificate) is kept until the engine
    /// is dropped.
    pub fn stop(&mut self) -> Arc<Snapshot> {
        self.topology.clients.set_paused(true);
        if let Some(runtime) = &self.runtime {
            let clients = self.topology.clients.clone();
            let env = self.topology.env.clone();
            let limit = (env.scale.apply(clients.shared().timeout) + Duration::from_millis(100))
                .min(STOP_GRACE);
            let until_closed = |clients: Arc<crate::engine::client::Clients>| async move {
                while clients.open_requests() > 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            };
            let open = clients.clone();
            let _ = runtime
                .block_on(async move { tokio::time::timeout(limit, until_closed(open)).await });
            // The rest end as cancelled, each with its own trace event.
            env.cancel_requests.cancel();
            env.gate.release_all();
            let _ = runtime.block_on(async move {
                tokio::time::timeout(Duration::from_millis(500), until_closed(clients)).await
            });
        }
        self.topology.stop();
        self.topology.env.shutdown.cancel();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_millis(500));
        }
        if let Some(recorder) = self.recorder.take() {
            recorder.stop();
        }
        self.cell.get()
    }
}

/// Removes a working directory unless disarmed: a start that fails part-way leaves nothing
/// in the temporary directory.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            if path.is_dir() {
                let _ = std::fs::remove_dir_all(path);
            } else {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if self.runtime.is_some() {
            self.stop();
        }
        super::leftovers::remove(&self.workdir);
        super::leftovers::forget(&self.workdir);
        if self.spool_outside_workdir {
            let _ = std::fs::remove_file(&self.spool);
            super::leftovers::forget(&self.spool);
        }
    }
}
