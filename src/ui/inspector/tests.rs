//! The inspector's views over every kind of journey: each character they show has a glyph
//! in the default fonts, and random journeys (missing spans, spans ending before they
//! start, unknown servers) build sound views without panicking.

use super::*;

/// Every character the views write (for journeys of every kind) exists in egui's
/// default fonts: a missing glyph would show as a box on screen.
#[test]
fn every_character_shown_has_a_glyph() {
    let ctx = egui::Context::default();
    ctx.run_ui(egui::RawInput::default(), |_| {})
        .drop_without_applying_deltas();
    let mut texts: Vec<String> = Vec::new();
    for j in [
        fixtures::miss(),
        fixtures::hit(),
        fixtures::refused(),
        fixtures::rejected_503(),
        fixtures::bad_gateway(),
    ] {
        let v = JourneyViews::build(&j, Some(Component::Cdn));
        texts.extend(v.sequence.lanes.iter().map(|l| l.title.clone()));
        texts.extend(v.sequence.steps.iter().map(|s| s.label.clone()));
        texts.extend(v.waterfall.bars.iter().map(|b| b.name.clone()));
        texts.extend(v.waterfall.bars.iter().filter_map(|b| b.note.clone()));
        texts.extend(v.failure.map(|f| f.headline));
        texts.push(ListRow::of(&j).label());
    }
    for cache in ["HIT", "MISS", "EXPIRED", "REVALIDATED", "BYPASS"] {
        let mut j = fixtures::miss();
        if let Some(s) = j
            .spans
            .iter_mut()
            .find(|s| s.phase == crate::trace::Phase::Cache)
        {
            s.attrs[0].value = cache.into();
        }
        let v = JourneyViews::build(&j, None);
        texts.extend(v.sequence.steps.iter().map(|s| s.label.clone()));
    }
    let font = egui::FontId::proportional(14.0);
    for text in texts {
        for c in text.chars().filter(|c| !c.is_whitespace()) {
            let ok = ctx.fonts_mut(|f| f.has_glyph(&font, c));
            assert!(ok, "no glyph for {c:?} in {text:?}");
        }
    }
}

mod any_journey {
    use proptest::prelude::*;

    use super::*;
    use crate::trace::{Attr, CacheStatus, Exchange, Outcome, Phase, Span, TraceId};

    fn component() -> impl Strategy<Value = Component> {
        prop_oneof![
            Just(Component::Client),
            Just(Component::Dns),
            Just(Component::Cdn),
            Just(Component::Lb),
            Just(Component::Db),
            (0u16..5).prop_map(Component::Server),
        ]
    }

    fn attr() -> impl Strategy<Value = Attr> {
        let keys = [
            "server", "sql", "rows", "error", "result", "reason", "status", "tcp_ms", "answer",
            "attempts", "rejected", "position", "fault", "name", "version", "route", "why",
            "rcode", "ttl", "params",
        ];
        let values = prop_oneof![
            Just(String::new()),
            Just("server-0".to_string()),
            Just("server-2".to_string()),
            Just("NaN".to_string()),
            Just("-3".to_string()),
            Just("127.0.0.1".to_string()),
            Just("HIT".to_string()),
            "[ -~]{0,80}",
        ];
        (proptest::sample::select(keys.to_vec()), values).prop_map(|(k, v)| Attr::new(k, v))
    }

    fn span() -> impl Strategy<Value = Span> {
        (
            component(),
            proptest::sample::select(Phase::ALL.to_vec()),
            0u64..200_000,
            0u64..200_000,
            proptest::collection::vec(attr(), 0..4),
        )
            .prop_map(|(component, phase, start, end, attrs)| Span {
                id: TraceId(1),
                component,
                phase,
                start_micros: start,
                end_micros: end,
                attrs,
            })
    }

    fn outcome() -> impl Strategy<Value = Option<Outcome>> {
        prop_oneof![
            Just(None),
            (100u16..600).prop_map(|s| Some(Outcome::Status(s))),
            Just(Some(Outcome::DnsFailure)),
            Just(Some(Outcome::ConnectionRefused)),
            Just(Some(Outcome::ConnectionReset)),
            Just(Some(Outcome::Timeout)),
            Just(Some(Outcome::TlsError)),
            Just(Some(Outcome::Cancelled)),
        ]
    }

    fn journey() -> impl Strategy<Value = Journey> {
        (
            proptest::collection::vec(span(), 0..14),
            proptest::collection::vec((component(), 0u64..200_000), 0..6),
            outcome(),
            proptest::option::of(0u64..300_000),
            any::<bool>(),
            "[ -~]{0,40}",
            any::<bool>(),
        )
            .prop_map(|(spans, arrivals, outcome, end, hit, url, exchange)| {
                let mut j = Journey {
                    id: TraceId(1),
                    url,
                    start_micros: 1_000,
                    end_micros: end,
                    outcome,
                    cache: hit.then_some(CacheStatus::Hit),
                    served_by: hit.then(|| "server-x".to_string()),
                    exchange: exchange.then(|| {
                        Box::new(Exchange {
                            response_body: "{\"error\": 5}".into(),
                            ..Exchange::default()
                        })
                    }),
                    ..Journey::default()
                };
                for s in spans {
                    j.add_span(s);
                }
                for (c, t) in arrivals {
                    j.add_arrival(c, t);
                }
                j
            })
    }

    proptest! {
        /// Whatever the trace holds, the views build, point only at lanes that exist and
        /// show no negative or endless durations.
        #[test]
        fn every_journey_builds_sound_views(j in journey(), hint in proptest::option::of(component())) {
            let v = JourneyViews::build(&j, hint);
            let lanes = v.sequence.lanes.len();
            prop_assert!(lanes >= 1);
            for s in &v.sequence.steps {
                let ok = match s.kind {
                    StepKind::Message { from, to } => from < lanes && to < lanes,
                    StepKind::Note { lane } | StepKind::Failure { lane } => lane < lanes,
                };
                prop_assert!(ok, "step {s:?} outside {lanes} lanes");
                prop_assert!(s.at_ms.is_finite() && s.at_ms >= 0.0);
            }
            prop_assert!(v.waterfall.total_ms.is_finite() && v.waterfall.total_ms >= 0.0);
            for b in &v.waterfall.bars {
                prop_assert!(b.start_ms.is_finite() && b.duration_ms.is_none_or(|d| d.is_finite() && d >= 0.0));
            }
            let row = ListRow::of(&j);
            prop_assert!(!row.label().is_empty());
        }
    }
}

/// A request held at a hop in step mode shows the same timings as one that was not, plus a
/// row that says how long it was held.
#[test]
fn time_held_in_step_mode_is_left_out_of_the_waterfall() {
    let plain = fixtures::miss();
    let (at, held) = (30_000, 3_000_000);
    let shift = |t: u64| if t >= at { t + held } else { t };
    let mut stepped = plain.clone();
    for s in &mut stepped.spans {
        s.start_micros = shift(s.start_micros);
        s.end_micros = shift(s.end_micros);
    }
    for a in &mut stepped.arrivals {
        a.1 = shift(a.1);
    }
    stepped.end_micros = plain.end_micros.map(shift);
    stepped.add_span(fixtures::span(
        Component::Lb,
        crate::trace::Phase::Held,
        at,
        at + held,
        &[],
    ));
    let a = JourneyViews::build(&plain, Some(Component::Cdn)).waterfall;
    let b = JourneyViews::build(&stepped, Some(Component::Cdn)).waterfall;
    assert!(
        (a.total_ms - b.total_ms).abs() < 1e-9,
        "{} vs {}",
        a.total_ms,
        b.total_ms
    );
    assert_eq!(stepped.latency_micros(), plain.latency_micros());
    for (x, y) in a.bars.iter().zip(&b.bars) {
        assert_eq!(x.name, y.name);
        assert!(
            (x.start_ms - y.start_ms).abs() < 1e-9,
            "{} starts later",
            y.name
        );
        assert_eq!(x.duration_ms, y.duration_ms, "{} lasts longer", y.name);
    }
    let row = b.bars.last().expect("a row for the held time");
    assert_eq!(row.name, "held in step mode");
    assert!(
        row.note.as_deref().is_some_and(|n| n.starts_with("3.00 s")),
        "{row:?}"
    );
}
