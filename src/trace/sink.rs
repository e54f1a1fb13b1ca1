//! Where components send their events: a bounded channel to the recorder thread, never
//! blocking the sender. Terminal outcomes are also counted here, at the source, with atomic
//! counters, so the accounting reconciles even when detailed events must be shed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::{Clock, End, Outcome, TraceEvent};

/// Counts of terminal outcomes, kept with atomics by whoever ends a request.
#[derive(Debug)]
pub struct OutcomeCounters {
    statuses: Box<[AtomicU64]>,
    failures: [AtomicU64; 6],
}

impl Default for OutcomeCounters {
    fn default() -> Self {
        OutcomeCounters {
            statuses: (0..600).map(|_| AtomicU64::new(0)).collect(),
            failures: Default::default(),
        }
    }
}

impl OutcomeCounters {
    fn failure_index(outcome: Outcome) -> Option<usize> {
        Some(match outcome {
            Outcome::Status(_) => return None,
            Outcome::DnsFailure => 0,
            Outcome::ConnectionRefused => 1,
            Outcome::ConnectionReset => 2,
            Outcome::Timeout => 3,
            Outcome::TlsError => 4,
            Outcome::Cancelled => 5,
        })
    }

    const FAILURES: [Outcome; 6] = [
        Outcome::DnsFailure,
        Outcome::ConnectionRefused,
        Outcome::ConnectionReset,
        Outcome::Timeout,
        Outcome::TlsError,
        Outcome::Cancelled,
    ];

    /// Counts one request ending with `outcome`.
    pub fn count(&self, outcome: Outcome) {
        let slot = match Self::failure_index(outcome) {
            Some(i) => &self.failures[i],
            None => {
                let code = outcome.status().unwrap_or(0) as usize;
                &self.statuses[code.min(599)]
            }
        };
        slot.fetch_add(1, Ordering::Relaxed);
    }

    /// Every outcome seen so far with its count, in order.
    pub fn read(&self) -> Vec<(Outcome, u64)> {
        let mut out = Vec::new();
        for (code, n) in self.statuses.iter().enumerate() {
            let n = n.load(Ordering::Relaxed);
            if n > 0 {
                out.push((Outcome::Status(code as u16), n));
            }
        }
        for (outcome, n) in Self::FAILURES.iter().zip(&self.failures) {
            let n = n.load(Ordering::Relaxed);
            if n > 0 {
                out.push((*outcome, n));
            }
        }
        out
    }

    /// How many requests have ended.
    pub fn total(&self) -> u64 {
        self.read().iter().map(|(_, n)| n).sum()
    }
}

/// The sending end of the trace: cheap to clone, one per component.
#[derive(Clone, Debug)]
pub struct EventSink {
    tx: Sender<TraceEvent>,
    clock: Clock,
    shed: Arc<AtomicU64>,
    outcomes: Arc<OutcomeCounters>,
    enabled: bool,
}

impl EventSink {
    /// A sink with room for `capacity` events in flight to the recorder, and its receiver.
    pub fn new(clock: Clock, capacity: usize) -> (EventSink, Receiver<TraceEvent>) {
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        let sink = EventSink {
            tx,
            clock,
            shed: Arc::new(AtomicU64::new(0)),
            outcomes: Arc::new(OutcomeCounters::default()),
            enabled: true,
        };
        (sink, rx)
    }

    /// The same sink with detailed events turned off (outcomes are still counted): used to
    /// measure what tracing costs.
    pub fn without_detail(mut self) -> EventSink {
        self.enabled = false;
        self
    }

    /// The run's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Microseconds since the run started.
    pub fn now(&self) -> u64 {
        self.clock.now_micros()
    }

    /// Sends an event; if the recorder is behind, the event is shed and counted.
    pub fn emit(&self, event: TraceEvent) {
        if !self.enabled {
            return;
        }
        match self.tx.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.shed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Ends a request: counts its outcome at the source, then reports it.
    pub fn end(&self, end: End) {
        self.outcomes.count(end.outcome);
        self.emit(TraceEvent::End(end));
    }

    /// Events shed so far because the recorder was behind.
    pub fn shed(&self) -> u64 {
        self.shed.load(Ordering::Relaxed)
    }

    /// Outcomes counted at the source.
    pub fn outcomes(&self) -> &Arc<OutcomeCounters> {
        &self.outcomes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::TraceId;

    fn end(outcome: Outcome) -> End {
        End {
            id: TraceId(1),
            at_micros: 0,
            outcome,
            cache: None,
            served_by: None,
            bytes: 0,
            reused: false,
        }
    }

    #[test]
    fn a_full_channel_sheds_events_but_still_counts_outcomes() {
        let (sink, rx) = EventSink::new(Clock::start(), 2);
        for _ in 0..5 {
            sink.end(end(Outcome::Status(200)));
        }
        sink.end(end(Outcome::Timeout));
        assert_eq!(rx.len(), 2);
        assert_eq!(sink.shed(), 4);
        assert_eq!(
            sink.outcomes().read(),
            vec![(Outcome::Status(200), 5), (Outcome::Timeout, 1)]
        );
        assert_eq!(sink.outcomes().total(), 6);
    }
}
