//! How every command ends on SIGINT (Ctrl-C), SIGTERM or SIGHUP, the same way for `run`,
//! `serve`, `soak`, `sweep`, `check-theory` and the window: the first signal asks the
//! command to stop (no more traffic, a grace of at most [`STOP_GRACE`] for the requests in
//! flight, then the summary and exports are written and the working files removed), and
//! the process exits 128 + the signal's number (130, 143, 129). A second signal exits at
//! once, still removing the working files.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use super::Failure;
use crate::engine::{Engine, STOP_GRACE, remove_leftovers};

/// The number of the first signal received (0 while none has come).
static RAISED: AtomicU8 = AtomicU8::new(0);

/// The signals a command stops on, by number, with their names.
const SIGNALS: [(u8, &str); 3] = [(2, "SIGINT"), (15, "SIGTERM"), (1, "SIGHUP")];

/// A command's watch over the stop signals.
#[derive(Clone)]
pub struct Stop {
    /// Raised with the first signal, for loops that poll a flag (the window, the sweep).
    flag: Arc<AtomicBool>,
}

impl Stop {
    /// Starts watching. The handlers are in place when this returns, so a signal sent right
    /// after (say, once `serve` has printed its address line) is never met by the default
    /// action, which would end the process with its working files left behind.
    pub fn watch() -> Stop {
        let flag = Arc::new(AtomicBool::new(false));
        let raised = flag.clone();
        let (ready_tx, ready_rx) = crossbeam_channel::bounded::<()>(1);
        let spawned = std::thread::Builder::new()
            .name("hopscope-signals".into())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(listen(raised, ready_tx));
            });
        if spawned.is_ok() {
            // Registering takes microseconds; should it fail, the default actions stay.
            let _ = ready_rx.recv_timeout(std::time::Duration::from_secs(5));
        }
        Stop { flag }
    }

    /// Whether a stop signal has come.
    pub fn requested(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// The flag raised by the first signal.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.flag.clone()
    }

    /// How the command ends after a signal: exit 128 + its number, saying which it was.
    pub fn failure(&self) -> Option<Failure> {
        let n = RAISED.load(Ordering::Acquire);
        (self.requested() && n != 0).then(|| Failure {
            code: 128 + n,
            message: format!("stopped by {}", name(n)),
        })
    }
}

fn name(number: u8) -> &'static str {
    SIGNALS
        .iter()
        .find(|(n, _)| *n == number)
        .map_or("a signal", |(_, name)| name)
}

/// Says on stderr how long the requests still in flight may take, before `engine.stop()`.
pub fn announce_grace(engine: &Engine) {
    let open = engine.requests_in_flight();
    if open > 0 {
        eprintln!(
            "hopscope: stopping; {open} request{} in flight get{} up to {} s to finish, then end as cancelled",
            if open == 1 { "" } else { "s" },
            if open == 1 { "s" } else { "" },
            STOP_GRACE.as_secs()
        );
    }
}

/// Records the first signal and raises the flag; on the second, removes every engine's
/// working files and exits at once.
fn received(number: u8, flag: &AtomicBool) {
    if RAISED
        .compare_exchange(0, number, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        eprintln!(
            "hopscope: {} received, stopping (send it again to exit at once)",
            name(number)
        );
        flag.store(true, Ordering::Release);
        return;
    }
    remove_leftovers();
    eprintln!("hopscope: {}, exiting at once", name(number));
    std::process::exit(128 + i32::from(RAISED.load(Ordering::Acquire)));
}

#[cfg(unix)]
async fn listen(flag: Arc<AtomicBool>, ready: crossbeam_channel::Sender<()>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = ready.send(());
        return;
    };
    let _ = ready.send(());
    loop {
        let number = tokio::select! {
            _ = int.recv() => 2,
            _ = term.recv() => 15,
            _ = hup.recv() => 1,
        };
        received(number, &flag);
    }
}

#[cfg(not(unix))]
async fn listen(flag: Arc<AtomicBool>, ready: crossbeam_channel::Sender<()>) {
    let _ = ready.send(());
    while tokio::signal::ctrl_c().await.is_ok() {
        received(2, &flag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stop_signal_has_its_name_and_exit_code() {
        assert_eq!(name(2), "SIGINT");
        assert_eq!(name(15), "SIGTERM");
        assert_eq!(name(1), "SIGHUP");
        let codes: Vec<u8> = SIGNALS.iter().map(|(n, _)| 128 + n).collect();
        assert_eq!(codes, [130, 143, 129]);
    }
}
