//! A request's journey: everything the trace knows about one request, assembled from the
//! events of every hop it passed.

use serde::{Deserialize, Serialize};

use super::{Begin, CacheStatus, Component, Exchange, Outcome, Phase, Span, TraceId};

/// One request, hop by hop.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Journey {
    pub id: TraceId,
    pub profile: String,
    pub client: String,
    pub method: String,
    pub url: String,
    pub external: bool,
    pub start_micros: u64,
    /// When it ended; `None` while in flight.
    pub end_micros: Option<u64>,
    pub outcome: Option<Outcome>,
    pub cache: Option<CacheStatus>,
    pub served_by: Option<String>,
    pub bytes: u64,
    /// The connection was reused (keep-alive).
    pub reused: bool,
    /// Spans in order of start time.
    pub spans: Vec<Span>,
    /// Components reached, with when (in order).
    pub arrivals: Vec<(Component, u64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Box<Exchange>>,
}

impl Journey {
    /// The server that answered the request itself: none for a cache HIT (see
    /// [`answered_by`](super::answered_by)).
    pub fn answered_by(&self) -> Option<&str> {
        super::answered_by(self.served_by.as_deref(), self.cache)
    }

    /// A journey that has only begun.
    pub fn begin(b: Begin) -> Journey {
        Journey {
            id: b.id,
            profile: b.profile,
            client: b.client,
            method: b.method,
            url: b.url,
            external: b.external,
            start_micros: b.at_micros,
            ..Journey::default()
        }
    }

    /// The `Begin` event it started with: the inverse of [`Journey::begin`].
    pub fn begun(&self) -> Begin {
        Begin {
            id: self.id,
            at_micros: self.start_micros,
            profile: self.profile.clone(),
            client: self.client.clone(),
            method: self.method.clone(),
            url: self.url.clone(),
            external: self.external,
        }
    }

    /// Adds a span, keeping spans ordered by start (then by lane, so a parent comes first).
    pub fn add_span(&mut self, span: Span) {
        let key = |s: &Span| (s.start_micros, s.component.lane(), s.phase);
        let at = self.spans.partition_point(|s| key(s) <= key(&span));
        self.spans.insert(at, span);
    }

    /// Records that the request reached `component`.
    pub fn add_arrival(&mut self, component: Component, at_micros: u64) {
        let at = self.arrivals.partition_point(|(_, t)| *t <= at_micros);
        self.arrivals.insert(at, (component, at_micros));
    }

    /// Time from start to end, less any time held in step mode, if ended.
    pub fn latency_micros(&self) -> Option<u64> {
        self.end_micros.map(|end| {
            end.saturating_sub(self.start_micros)
                .saturating_sub(self.held_micros())
        })
    }

    /// How long it was held at its hops in step mode, waiting for the learner (left out of
    /// its latency).
    pub fn held_micros(&self) -> u64 {
        self.spans
            .iter()
            .filter(|s| s.phase == Phase::Held)
            .map(Span::micros)
            .sum()
    }

    /// The first span of `phase` (at any component).
    pub fn span(&self, phase: Phase) -> Option<&Span> {
        self.spans.iter().find(|s| s.phase == phase)
    }

    /// The component it was last seen at.
    pub fn location(&self) -> Option<Component> {
        self.arrivals.last().map(|(c, _)| *c)
    }

    /// Whether it has ended.
    pub fn is_done(&self) -> bool {
        self.outcome.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::testing::span;

    #[test]
    fn spans_stay_in_start_order_whatever_order_they_arrive_in() {
        let mut j = Journey::default();
        j.add_span(span(7, Component::Server(1), Phase::Handler, 50, 80));
        j.add_span(span(7, Component::Client, Phase::Dns, 0, 10));
        j.add_span(span(7, Component::Lb, Phase::Forward, 40, 90));
        j.add_span(span(7, Component::Client, Phase::Wait, 30, 100));
        let order: Vec<_> = j.spans.iter().map(|s| s.phase).collect();
        assert_eq!(
            order,
            vec![Phase::Dns, Phase::Wait, Phase::Forward, Phase::Handler]
        );
    }

    #[test]
    fn time_held_in_step_mode_is_not_latency() {
        let mut j = Journey {
            start_micros: 1_000,
            end_micros: Some(3_512_000),
            ..Journey::default()
        };
        j.add_span(span(7, Component::Cdn, Phase::Held, 2_000, 1_502_000));
        j.add_span(span(7, Component::Lb, Phase::Held, 1_503_000, 3_503_000));
        assert_eq!(j.held_micros(), 3_500_000);
        assert_eq!(j.latency_micros(), Some(11_000));
    }
}
