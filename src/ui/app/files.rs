//! What the File menu does: export the trace so far, save the running settings as a
//! scenario, start the run again, open a recorded trace for replay and go back to live.
//! Slow work (writing a large export, reading a large trace) runs on a named thread and
//! reports back through a bounded channel, so the window never waits for it. Part of
//! `HopscopeApp`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, Sender};

use super::HopscopeApp;
use crate::scenario::to_toml;
use crate::trace::export::{export_spool, human_bytes};
use crate::trace::replay::Replay;
use crate::trace::{Format, RunMeta, write_atomic};
use crate::ui::replay_view::ReplayView;
use crate::ui::screenshot::output_path;

/// What a background job came to.
pub(super) enum Done {
    /// A message for the status line (an error when `Err`).
    Message(Result<String, String>),
    /// A trace was read (or not) for replay.
    Trace(PathBuf, Result<Box<Replay>, String>),
}

/// Background jobs and their answers.
pub(super) struct Jobs {
    tx: Sender<Done>,
    rx: Receiver<Done>,
    running: Arc<AtomicUsize>,
}

impl Default for Jobs {
    fn default() -> Self {
        let (tx, rx) = crossbeam_channel::bounded(16);
        Jobs {
            tx,
            rx,
            running: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl Jobs {
    /// Whether a job is still running (the window keeps repainting to show its answer).
    pub(super) fn busy(&self) -> bool {
        self.running.load(Ordering::Relaxed) > 0
    }

    fn spawn(
        &self,
        name: &str,
        work: impl FnOnce() -> Done + Send + 'static,
    ) -> Result<(), String> {
        let tx = self.tx.clone();
        let running = self.running.clone();
        running.fetch_add(1, Ordering::Relaxed);
        std::thread::Builder::new()
            .name(format!("hopscope-{name}"))
            .spawn(move || {
                let done = work();
                let _ = tx.send(done);
                running.fetch_sub(1, Ordering::Relaxed);
            })
            .map(|_| ())
            .map_err(|e| {
                self.running.fetch_sub(1, Ordering::Relaxed);
                format!("cannot start a thread: {e}")
            })
    }
}

/// Whether `path` looks like a recorded trace rather than a scenario.
pub(super) fn is_trace(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

impl HopscopeApp {
    /// Exports every request so far, streaming from the spool on a background thread.
    pub(super) fn export_trace(&mut self, format: Format) {
        let Some(session) = &self.session else {
            self.log.error("nothing is running to export");
            return;
        };
        let engine = session.engine();
        let flusher = engine.spool_flusher();
        let meta = RunMeta::from_snapshot(engine.run_info(), &engine.snapshot());
        let spool = engine.spool_path().to_path_buf();
        let path = output_path(
            &self.options.save_dir,
            &session.scenario.name,
            format.extension(),
        );
        let started = self.jobs.spawn("export", move || {
            if let Some(f) = flusher {
                f.flush(std::time::Duration::from_secs(2));
            }
            Done::Message(
                export_spool(&path, format, &meta, &spool)
                    .map(|stats| {
                        format!(
                            "exported {} requests to {} ({})",
                            stats.requests,
                            path.display(),
                            human_bytes(stats.bytes)
                        )
                    })
                    .map_err(|e| format!("export failed: {e}")),
            )
        });
        match started {
            Ok(()) => self.log.info(format!("exporting the trace as {format}…")),
            Err(e) => self.log.error(e),
        }
    }

    /// Saves the running settings as a scenario file next to where hopscope was started.
    pub(super) fn save_settings(&mut self) {
        let Some(session) = &self.session else {
            self.log.error("nothing is running to save");
            return;
        };
        let scenario = session.engine().current_scenario();
        let path = output_path(&self.options.save_dir, &scenario.name, "toml");
        let written = to_toml(&scenario)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                write_atomic(&path, |w| w.write_all(text.as_bytes())).map_err(|e| e.to_string())
            });
        match written {
            Ok(()) => self.log.info(format!(
                "settings saved to {} (open it to run them again)",
                path.display()
            )),
            Err(e) => self
                .log
                .error(format!("cannot save {}: {e}", path.display())),
        }
    }

    /// Runs the current scenario again from scratch.
    pub(super) fn reset_run(&mut self) {
        match self.last_run.clone() {
            Some((scenario, source)) => {
                self.run_scenario(scenario, source);
                self.log.info("the run started again from scratch");
            }
            None => self.log.error("there is no scenario to start again"),
        }
    }

    /// Reads a trace on a background thread; the replay starts when it is read.
    pub(super) fn open_trace(&mut self, path: PathBuf) {
        let shown = path.display().to_string();
        let started = self.jobs.spawn("open-trace", move || {
            let loaded = crate::trace::replay::Replay::load(&path)
                .map(Box::new)
                .map_err(|e| e.to_string());
            Done::Trace(path, loaded)
        });
        match started {
            Ok(()) => self.log.info(format!("reading {shown}…")),
            Err(e) => self.log.error(e),
        }
    }

    /// Reads a trace at once (the window opened on one).
    pub(super) fn load_trace_now(&mut self, path: &Path) {
        let loaded = crate::trace::replay::Replay::load(path)
            .map(Box::new)
            .map_err(|e| e.to_string());
        self.start_replay(path.to_path_buf(), loaded);
    }

    fn start_replay(&mut self, path: PathBuf, loaded: Result<Box<Replay>, String>) {
        match loaded {
            Ok(replay) => {
                if let Some(session) = self.session.take() {
                    self.stopping.extend(session.stop_in_background());
                }
                let view = ReplayView::new(*replay, &path);
                self.docks = crate::ui::docks::Docks::new(
                    view.scenario(),
                    crate::lesson::ProgressStore::disabled(),
                    true,
                );
                self.docks.plots.set_scenario(view.scenario());
                self.replay = Some(view);
                self.step = crate::ui::step::StepMode::default();
                self.selected = None;
                self.error = None;
                self.watch = None;
                self.log.info(format!("replaying {}", path.display()));
            }
            Err(e) => {
                self.log
                    .error(format!("{} could not be opened", path.display()));
                self.error = Some(e);
            }
        }
    }

    /// Leaves the replay and runs the last scenario again.
    pub(super) fn close_replay(&mut self) {
        self.replay = None;
        self.live = None;
        self.reset_run();
    }

    /// Takes what background jobs have finished.
    pub(super) fn finish_jobs(&mut self) {
        let done: Vec<Done> = self.jobs.rx.try_iter().collect();
        for d in done {
            match d {
                Done::Message(Ok(m)) => self.log.info(m),
                Done::Message(Err(e)) => self.log.error(e),
                Done::Trace(path, loaded) => self.start_replay(path, loaded),
            }
        }
    }
}
