//! How the window is woken when it paints no frames of its own. The engine's recorder
//! thread calls `Waker::callback` with each changed snapshot: while frames are timed (dots
//! move) that adds nothing; otherwise the snapshot is painted at most once per frame gap,
//! and not at all while hidden, or while paused when only the clock moved
//! (`repaint::wake_delay`). A small watch thread wakes a resting window for the two things
//! it would otherwise only notice in a frame: a stop signal, and the scenario file changing
//! on disk. It checks a flag and a modification time, and never paints itself.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant, SystemTime};

use super::repaint::{Activity, FRAME_BUDGET, SMOOTH_FRAME, WakeMode, wake_delay};
use crate::engine::Wake;

/// How often the watch thread checks the stop flag.
const QUIT_POLL: Duration = Duration::from_millis(100);
/// How often it checks the scenario file (as often as `opener::FileWatch` does).
const FILE_POLL: Duration = Duration::from_secs(1);

/// Wakes the window for fresh data, a stop signal or a changed scenario file.
pub struct Waker {
    ctx: OnceLock<egui::Context>,
    mode: AtomicU8,
    smooth: AtomicBool,
    quit: Option<Arc<AtomicBool>>,
    /// The scenario file on screen, if it is a file.
    file: Mutex<Option<PathBuf>>,
}

impl Default for Waker {
    fn default() -> Self {
        Waker::watching(None)
    }
}

impl Waker {
    /// A waker that also wakes the window when `quit` is raised.
    pub fn watching(quit: Option<&Arc<AtomicBool>>) -> Waker {
        Waker {
            ctx: OnceLock::new(),
            mode: AtomicU8::new(WakeMode::Idle as u8),
            smooth: AtomicBool::new(false),
            quit: quit.cloned(),
            file: Mutex::new(None),
        }
    }

    /// Connects the waker to the window's context and starts the watch thread (the first
    /// frame does it; the thread ends with the waker).
    pub fn connect(self: &Arc<Self>, ctx: &egui::Context) {
        if self.ctx.set(ctx.clone()).is_err() {
            return;
        }
        let this = Arc::downgrade(self);
        let ctx = ctx.clone();
        let watch = std::thread::Builder::new()
            .name("hopscope-window-watch".into())
            .spawn(move || watch(&this, &ctx));
        if let Err(e) = watch {
            eprintln!("hopscope: a resting window will not notice a stop signal: {e}");
        }
    }

    /// The scenario file on screen (reloaded when it changes), or none.
    pub fn watch_file(&self, path: Option<&Path>) {
        if let Ok(mut file) = self.file.lock() {
            *file = path.map(Path::to_path_buf);
        }
    }

    /// How wake-ups are taken until the next frame says otherwise.
    pub fn set_activity(&self, activity: &Activity) {
        self.mode
            .store(activity.wake_mode() as u8, Ordering::Relaxed);
        self.smooth.store(activity.smooth, Ordering::Relaxed);
    }

    /// How wake-ups are taken now.
    pub fn mode(&self) -> WakeMode {
        WakeMode::from_repr(self.mode.load(Ordering::Relaxed))
    }

    /// The callback for `EngineOptions::wake`.
    pub fn callback(self: &Arc<Self>) -> Wake {
        let this = self.clone();
        Arc::new(move |cause| {
            let Some(ctx) = this.ctx.get() else {
                return;
            };
            let gap = if this.smooth.load(Ordering::Relaxed) {
                SMOOTH_FRAME
            } else {
                FRAME_BUDGET
            };
            if let Some(delay) = wake_delay(this.mode(), cause, gap) {
                ctx.request_repaint_after(delay);
            }
        })
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The watch thread: runs until the waker is dropped or the stop flag is seen.
fn watch(waker: &Weak<Waker>, ctx: &egui::Context) {
    let mut seen: Option<(PathBuf, Option<SystemTime>)> = None;
    let mut checked = Instant::now();
    // `FileWatch` looks at most once a second: a frame a second after the change is sure
    // to see it, whenever the last one was.
    let mut again: Option<Instant> = None;
    loop {
        let Some(w) = waker.upgrade() else {
            return;
        };
        if w.quit.as_ref().is_some_and(|q| q.load(Ordering::Acquire)) {
            ctx.request_repaint();
            return;
        }
        if checked.elapsed() >= FILE_POLL {
            checked = Instant::now();
            let file = w.file.lock().ok().and_then(|f| f.clone());
            match (file, &mut seen) {
                (Some(path), Some((was, stamp))) if *was == path => {
                    let now = modified(&path);
                    if now != *stamp {
                        *stamp = now;
                        ctx.request_repaint();
                        again = Some(Instant::now() + FILE_POLL);
                    }
                }
                (Some(path), _) => seen = Some((path.clone(), modified(&path))),
                (None, _) => seen = None,
            }
        }
        if again.is_some_and(|at| Instant::now() >= at) {
            again = None;
            ctx.request_repaint();
        }
        drop(w);
        std::thread::sleep(QUIT_POLL);
    }
}
