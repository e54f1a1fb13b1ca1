//! Runs the recorder on its own named thread: drains the engine's bounded event channel,
//! moves time on, and publishes a fresh snapshot, with the engine's status sampled at the
//! same moment, about 30 times a second. It calls the
//! "wake the UI" callback only when the snapshot changed: events arrived, a server gauge
//! moved, or time alone changed it (a second of metrics closed, a lost request dropped). Readers take the latest snapshot; they never touch the channel.
//! When the trace spool stops keeping journeys (full, or a failed write) it says so once on
//! stderr.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};

use super::status::Status;
use crate::trace::{EventSink, Recorder, ServerGauge, Snapshot, TraceEvent};

/// How often a snapshot is published.
const PUBLISH_EVERY: Duration = Duration::from_millis(33);

/// How long the thread naps after a batch while events flow, letting the next batch gather
/// (at 100,000 events a second, about a hundred): far below what a reader of the snapshot
/// can notice, and it spares the senders a wake-up per event.
const BATCH_NAP: Duration = Duration::from_millis(1);

/// The most events taken in one go before time is moved on and a snapshot is due.
const BATCH_MAX: usize = 10_000;

/// Why a snapshot is new.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WakeCause {
    /// Trace events arrived or a server gauge moved: requests went somewhere.
    Events,
    /// Only time moved on: a second of metrics closed, or a lost request was dropped.
    Clock,
}

/// Called after each snapshot that changed (the window asks for a repaint).
pub type Wake = Arc<dyn Fn(WakeCause) + Send + Sync>;

/// Reads live server gauges and the engine's status.
pub type Gauges = Arc<dyn Fn() -> (Vec<ServerGauge>, Status) + Send + Sync>;

/// The latest snapshot and the status sampled with it, shared with readers.
#[derive(Clone)]
pub struct SnapshotCell(Arc<Mutex<(Arc<Snapshot>, Arc<Status>)>>);

impl SnapshotCell {
    /// A cell holding an empty snapshot and `status` until the first publish.
    fn new(status: Status) -> SnapshotCell {
        SnapshotCell(Arc::new(Mutex::new((
            Arc::new(Snapshot::default()),
            Arc::new(status),
        ))))
    }

    /// The latest snapshot.
    pub fn get(&self) -> Arc<Snapshot> {
        self.0.lock().expect("snapshot lock").0.clone()
    }

    /// The status sampled with the latest snapshot.
    pub fn status(&self) -> Arc<Status> {
        self.0.lock().expect("snapshot lock").1.clone()
    }

    fn set(&self, snapshot: Snapshot, status: Status) {
        *self.0.lock().expect("snapshot lock") = (Arc::new(snapshot), Arc::new(status));
    }
}

/// Asks the recorder thread to flush the spool and waits until it has. Cheap to clone and
/// send to another thread (an export job).
#[derive(Clone, Default)]
pub struct SpoolFlusher {
    asked: Arc<AtomicU64>,
    done: Arc<AtomicU64>,
}

impl SpoolFlusher {
    /// Asks for a flush and waits for it, at most `patience`; false if it did not come (the
    /// recorder has stopped: its spool is then complete anyway).
    pub fn flush(&self, patience: Duration) -> bool {
        let ticket = self.asked.fetch_add(1, Ordering::AcqRel) + 1;
        let deadline = Instant::now() + patience;
        while self.done.load(Ordering::Acquire) < ticket {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }
}

/// The recorder thread and how to stop it.
pub struct RecorderThread {
    stop: Arc<AtomicBool>,
    flush: SpoolFlusher,
    handle: Option<JoinHandle<Recorder>>,
    cell: SnapshotCell,
}

impl RecorderThread {
    /// Starts the thread.
    pub fn start(
        mut recorder: Recorder,
        rx: Receiver<TraceEvent>,
        sink: EventSink,
        gauges: Gauges,
        wake: Option<Wake>,
    ) -> std::io::Result<RecorderThread> {
        let stop = Arc::new(AtomicBool::new(false));
        let flush = SpoolFlusher::default();
        let cell = SnapshotCell::new(gauges().1);
        let (stop2, flush2, cell2) = (stop.clone(), flush.clone(), cell.clone());
        let handle = std::thread::Builder::new()
            .name("hopscope-recorder".into())
            .spawn(move || {
                let mut announced = false;
                let mut last_gauges = Vec::new();
                // `fresh`: events were ingested since the last publish.
                let mut publish = |recorder: &mut Recorder, fresh: bool| {
                    let now = sink.now();
                    let (servers, status) = gauges();
                    let ticked = recorder.tick(now, &servers);
                    let cause = if fresh || servers != last_gauges {
                        last_gauges.clone_from(&servers);
                        Some(WakeCause::Events)
                    } else {
                        ticked.then_some(WakeCause::Clock)
                    };
                    if !announced && let Some(stop) = recorder.spool_stop() {
                        // Said once, on stderr, whatever command is running (the window
                        // also shows a banner).
                        eprintln!("hopscope: {}", stop.warning());
                        announced = true;
                    }
                    let mut snap = recorder.snapshot(now, servers);
                    snap.events_shed = sink.shed();
                    snap.source_outcomes = sink.outcomes().read();
                    cell2.set(snap, status);
                    if let (Some(wake), Some(cause)) = (&wake, cause) {
                        wake(cause);
                    }
                };
                let mut last = Instant::now();
                let mut fresh = false;
                loop {
                    // Block only when nothing waits: while events flow, the thread naps
                    // between batches instead, so a component's send never has to wake it
                    // (a wake-up per event cost more CPU than recording the event).
                    let first = match rx.try_recv() {
                        Ok(event) => Some(event),
                        Err(TryRecvError::Empty) => match rx.recv_timeout(PUBLISH_EVERY) {
                            Ok(event) => Some(event),
                            Err(RecvTimeoutError::Timeout) => None,
                            Err(RecvTimeoutError::Disconnected) => break,
                        },
                        Err(TryRecvError::Disconnected) => break,
                    };
                    let first_was_some = first.is_some();
                    if let Some(event) = first {
                        fresh = true;
                        recorder.ingest(event);
                        // Take what is waiting in one go, but keep publishing on time.
                        for event in rx.try_iter().take(BATCH_MAX) {
                            recorder.ingest(event);
                        }
                    }
                    let asked = flush2.asked.load(Ordering::Acquire);
                    if asked > flush2.done.load(Ordering::Acquire) {
                        recorder.flush_spool(sink.now());
                        // The reader's snapshot then says whether the spool it reads stopped.
                        publish(&mut recorder, fresh);
                        fresh = false;
                        last = Instant::now();
                        flush2.done.store(asked, Ordering::Release);
                    }
                    if stop2.load(Ordering::Acquire) {
                        break;
                    }
                    if last.elapsed() >= PUBLISH_EVERY {
                        publish(&mut recorder, fresh);
                        fresh = false;
                        last = Instant::now();
                    }
                    if first_was_some {
                        std::thread::sleep(BATCH_NAP);
                    }
                }
                for event in rx.try_iter() {
                    recorder.ingest(event);
                }
                recorder.finish();
                publish(&mut recorder, true);
                recorder
            })?;
        Ok(RecorderThread {
            stop,
            flush,
            handle: Some(handle),
            cell,
        })
    }

    /// Where readers get snapshots.
    pub fn cell(&self) -> SnapshotCell {
        self.cell.clone()
    }

    /// What asks the thread to flush the spool (before reading it for an export).
    pub fn flusher(&self) -> SpoolFlusher {
        self.flush.clone()
    }

    /// Drains what is left, finishes the spool and returns the recorder.
    pub fn stop(mut self) -> Option<Recorder> {
        self.stop.store(true, Ordering::Release);
        self.handle.take().and_then(|h| h.join().ok())
    }
}

impl Drop for RecorderThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
