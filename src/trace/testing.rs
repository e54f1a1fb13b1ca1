//! Builders shared by unit tests (compiled for tests only): hand-made spans for journeys,
//! exports and views, so each test module does not write its own.

use super::{Attr, Component, Phase, Span, TraceId};

/// A span of request `id` at `component` in `phase`, from `start` to `end` µs, without
/// attributes (add them with [`Span::with_attrs`]).
pub fn span(id: u128, component: Component, phase: Phase, start: u64, end: u64) -> Span {
    Span {
        id: TraceId(id),
        component,
        phase,
        start_micros: start,
        end_micros: end,
        attrs: Vec::new(),
    }
}

impl Span {
    /// The same span carrying `attrs`.
    pub fn with_attrs(self, attrs: Vec<Attr>) -> Span {
        Span { attrs, ..self }
    }
}
