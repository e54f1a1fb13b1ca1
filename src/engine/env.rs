//! What every component of a running topology shares: the clock and the trace sink, the
//! time scale, the resource limits, the step gate, the shutdown token and seeded random
//! streams. One `Env` per run, behind an `Arc`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::scenario::Limits;
use crate::trace::{Attr, Clock, Component, EventSink, Phase, Span, TraceEvent, TraceId};

/// Slow motion: injected delays are multiplied by this factor (at least 1). Live-adjustable.
#[derive(Debug)]
pub struct TimeScale(AtomicU64);

impl TimeScale {
    /// A scale of `factor` (clamped to at least 1).
    pub fn new(factor: f64) -> TimeScale {
        let s = TimeScale(AtomicU64::new(1.0f64.to_bits()));
        s.set(factor);
        s
    }

    /// The factor now.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }

    /// Changes the factor (clamped to at least 1).
    pub fn set(&self, factor: f64) {
        let f = if factor.is_finite() {
            factor.clamp(1.0, crate::scenario::MAX_TIME_SCALE)
        } else {
            1.0
        };
        self.0.store(f.to_bits(), Ordering::Relaxed);
    }

    /// `d` stretched by the factor.
    pub fn apply(&self, d: Duration) -> Duration {
        let f = self.get();
        if f == 1.0 {
            d
        } else {
            // Saturates instead of panicking on a product too large for a Duration.
            let secs = d.as_secs_f64() * f;
            if secs >= Duration::MAX.as_secs_f64() {
                Duration::MAX
            } else {
                d.mul_f64(f)
            }
        }
    }
}

/// Step mode: requests marked as stepped wait at every hop until the user says "next hop".
#[derive(Debug, Default)]
pub struct StepGate {
    stepped: Mutex<HashSet<TraceId>>,
    permits: AtomicU64,
    any: AtomicBool,
    notify: Notify,
}

impl StepGate {
    /// From now on, `id` waits at each hop.
    pub fn mark(&self, id: TraceId) {
        self.stepped.lock().expect("step gate lock").insert(id);
        self.any.store(true, Ordering::Release);
    }

    /// `id` no longer waits (it ended).
    pub fn unmark(&self, id: TraceId) {
        let mut set = self.stepped.lock().expect("step gate lock");
        set.remove(&id);
        self.any.store(!set.is_empty(), Ordering::Release);
    }

    /// Whether `id` is stepped (its timeouts are off: it waits for a person).
    pub fn is_stepped(&self, id: TraceId) -> bool {
        self.any.load(Ordering::Acquire)
            && self.stepped.lock().expect("step gate lock").contains(&id)
    }

    /// Lets one waiting hop go ahead.
    pub fn step(&self) {
        self.permits.fetch_add(1, Ordering::AcqRel);
        self.notify.notify_waiters();
    }

    /// Releases every stepped request (step mode off).
    pub fn release_all(&self) {
        self.stepped.lock().expect("step gate lock").clear();
        self.any.store(false, Ordering::Release);
        self.notify.notify_waiters();
    }

    /// Waits for a permit if `id` is stepped; returns at once otherwise.
    pub async fn pass(&self, id: TraceId) {
        loop {
            if !self.is_stepped(id) {
                return;
            }
            let notified = self.notify.notified();
            let taken = self
                .permits
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| p.checked_sub(1))
                .is_ok();
            if taken {
                return;
            }
            notified.await;
        }
    }
}

/// Shared by every component of one run.
#[derive(Debug)]
pub struct Env {
    pub clock: Clock,
    pub sink: EventSink,
    pub scale: TimeScale,
    pub limits: Limits,
    pub seed: u64,
    pub gate: StepGate,
    /// Cancelled when the run stops: every task ends.
    pub shutdown: CancellationToken,
    /// Cancelled when the stop's grace is over: the requests still open end as `cancelled`.
    pub cancel_requests: CancellationToken,
    /// Whether headers and bodies are kept for the inspector.
    capture_headers: AtomicBool,
    /// The timer's measured lateness, corrected for in every injected delay.
    pub overshoot: super::timing::Overshoot,
    /// Marks requests from inside this run (`x-hopscope-hop`), so that outside traffic can be
    /// told apart: random per run.
    pub run_token: String,
}

impl Env {
    /// A new environment.
    pub fn new(sink: EventSink, time_scale: f64, limits: Limits, seed: u64) -> Arc<Env> {
        Arc::new(Env {
            clock: *sink.clock(),
            sink,
            scale: TimeScale::new(time_scale),
            limits,
            seed,
            gate: StepGate::default(),
            shutdown: CancellationToken::new(),
            cancel_requests: CancellationToken::new(),
            run_token: format!("{:016x}", rand::random::<u64>()),
            capture_headers: AtomicBool::new(true),
            overshoot: super::timing::Overshoot::default(),
        })
    }

    /// Whether headers and bodies are kept for the inspector.
    pub fn capture_headers(&self) -> bool {
        self.capture_headers.load(Ordering::Relaxed)
    }

    /// Turns keeping headers and bodies on or off.
    pub fn set_capture_headers(&self, on: bool) {
        self.capture_headers.store(on, Ordering::Relaxed);
    }

    /// Microseconds since the run started.
    pub fn now(&self) -> u64 {
        self.clock.now_micros()
    }

    /// An injected delay of `d` (stretched by the time scale). Returns at once for zero.
    pub async fn delay(&self, d: Duration) {
        if d.is_zero() {
            return;
        }
        let target = tokio::time::Instant::now() + self.scale.apply(d);
        self.overshoot.sleep_until(target).await;
    }

    /// A random stream for `purpose`, derived from the run's seed: the same seed gives the
    /// same draws.
    pub fn rng(&self, purpose: u64) -> StdRng {
        StdRng::seed_from_u64(self.seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// Reports that request `id` reached `component`, then waits at the step gate if the
    /// request is stepped; the wait is reported as a `held` span (not network time).
    pub async fn arrive(&self, id: TraceId, component: Component) {
        let at = self.now();
        self.sink.emit(TraceEvent::Arrive {
            id,
            component,
            at_micros: at,
        });
        if self.gate.is_stepped(id) {
            self.gate.pass(id).await;
            let released = self.now();
            if released > at {
                self.span_between(id, component, Phase::Held, at, released, vec![]);
            }
        }
    }

    /// Reports a span that started at `start_micros` and ends now.
    pub fn span(
        &self,
        id: TraceId,
        component: Component,
        phase: Phase,
        start_micros: u64,
        attrs: Vec<Attr>,
    ) {
        self.span_between(id, component, phase, start_micros, self.now(), attrs);
    }

    /// Reports a span with both ends given.
    pub fn span_between(
        &self,
        id: TraceId,
        component: Component,
        phase: Phase,
        start_micros: u64,
        end_micros: u64,
        attrs: Vec<Attr>,
    ) {
        self.sink.emit(TraceEvent::Span(Span {
            id,
            component,
            phase,
            start_micros,
            end_micros: end_micros.max(start_micros),
            attrs,
        }));
    }
}

/// Counters a component keeps so that the accounting reconciles across hops.
#[derive(Debug, Default)]
pub struct HopCounters {
    /// Requests received (health checks excluded).
    pub received: AtomicU64,
    /// Responses written back, whoever produced them.
    pub answered: AtomicU64,
    /// Requests passed on to the next hop.
    pub forwarded: AtomicU64,
    /// Of those, how many got no usable answer from the next hop (502/504 made here).
    pub upstream_failed: AtomicU64,
    /// Requests dropped without an answer (the component was killed mid-request, or the
    /// peer went away).
    pub aborted: AtomicU64,
}

/// A copy of `HopCounters` at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct HopCounts {
    pub received: u64,
    pub answered: u64,
    pub forwarded: u64,
    pub upstream_failed: u64,
    pub aborted: u64,
}

/// One request a hop has taken (counted as received). It counts as answered once
/// [`Taken::answer`] is called; dropped before that (its connection was cut, or the
/// component was killed mid-request) it counts as aborted. Either way exactly once.
#[must_use = "a request taken must be answered or it counts as aborted"]
pub struct Taken<'a> {
    counters: &'a HopCounters,
    answered: bool,
}

impl Taken<'_> {
    /// The response is about to be written.
    pub fn answer(mut self) {
        self.answered = true;
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        HopCounters::bump(if self.answered {
            &self.counters.answered
        } else {
            &self.counters.aborted
        });
    }
}

impl HopCounters {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request as received; the guard counts how it ends.
    pub fn take(&self) -> Taken<'_> {
        HopCounters::bump(&self.received);
        Taken {
            counters: self,
            answered: false,
        }
    }

    /// The counts now.
    pub fn read(&self) -> HopCounts {
        HopCounts {
            received: self.received.load(Ordering::Relaxed),
            answered: self.answered.load(Ordering::Relaxed),
            forwarded: self.forwarded.load(Ordering::Relaxed),
            upstream_failed: self.upstream_failed.load(Ordering::Relaxed),
            aborted: self.aborted.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_scale_never_speeds_up() {
        let s = TimeScale::new(0.2);
        assert_eq!(s.get(), 1.0);
        s.set(4.0);
        assert_eq!(
            s.apply(Duration::from_millis(10)),
            Duration::from_millis(40)
        );
        s.set(f64::NAN);
        assert_eq!(s.get(), 1.0);
    }

    #[test]
    fn a_huge_time_scale_is_capped_and_never_overflows() {
        let s = TimeScale::new(1e20);
        assert_eq!(s.get(), crate::scenario::MAX_TIME_SCALE);
        assert_eq!(s.apply(Duration::from_millis(10)), Duration::from_secs(10));
        assert_eq!(s.apply(Duration::MAX), Duration::MAX);
    }

    #[tokio::test]
    async fn a_stepped_request_waits_for_each_step() {
        let gate = Arc::new(StepGate::default());
        let id = TraceId(42);
        gate.mark(id);
        let g = gate.clone();
        let task = tokio::spawn(async move {
            g.pass(id).await;
            g.pass(id).await;
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!task.is_finished(), "waits without a step");
        gate.step();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!task.is_finished(), "one step lets one hop through");
        gate.step();
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("second step releases it")
            .expect("task ran");
        // Requests that are not stepped never wait.
        tokio::time::timeout(Duration::from_millis(100), gate.pass(TraceId(7)))
            .await
            .expect("unstepped request passes");
    }
}
