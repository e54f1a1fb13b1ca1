//! Round trip (export, read back, replay) and a bounded fuzz of damaged traces.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use hopscope::trace::import::import_reader;
use hopscope::trace::replay::Replay;
use hopscope::trace::{Exporter, Format};

use super::Run;

pub fn round_trip(r: &Run) {
    let trace =
        import_reader(r.file(Format::Json).as_bytes(), "run.json").expect("the export reads back");
    assert_eq!(trace.requests.len(), r.journeys.len());
    for (back, original) in trace.requests.iter().zip(&r.journeys) {
        assert_eq!(
            back, original,
            "request {} comes back unchanged",
            original.id
        );
    }
    assert_eq!(trace.meta.markers, r.meta.markers);
    assert_eq!(trace.meta.info, r.meta.info);

    let replay = Replay::new(trace);
    let fin = replay.final_snapshot();
    let live = &r.last.totals;
    assert_eq!(fin.totals.ended, live.ended);
    assert_eq!(fin.totals.outcomes, live.outcomes);
    assert_eq!(fin.totals.cache, live.cache);
    assert_eq!(fin.totals.latency, live.latency);
    assert_eq!(fin.totals.servers, live.servers);
    assert_eq!(fin.totals.phases, live.phases, "span percentiles per phase");
    assert!(
        fin.seconds.len() >= r.last.seconds.len(),
        "every live second, and the ones still open at the stop"
    );
    for s in r.last.seconds.iter() {
        assert_eq!(&fin.seconds[s.second as usize], s, "second {}", s.second);
    }
    assert_eq!(*fin.markers, *r.last.markers);

    let summary = replay.summary();
    let want = &r.summary;
    assert_eq!(summary.requests, want.requests);
    assert_eq!(summary.outcomes, want.outcomes);
    assert_eq!(summary.cache, want.cache);
    assert_eq!(summary.latency_ms, want.latency_ms);
    assert_eq!(summary.phases_ms, want.phases_ms);
    assert_eq!(summary.servers, want.servers);
    assert_eq!(summary.events_shed, want.events_shed);

    // Part way through, the snapshot holds exactly what had happened by then.
    let t = 1_000_000;
    let mid = replay.snapshot_at(t);
    let ended = r
        .journeys
        .iter()
        .filter(|j| j.end_micros.is_some_and(|e| e <= t))
        .count() as u64;
    let begun = r.journeys.iter().filter(|j| j.start_micros <= t).count();
    assert_eq!(mid.totals.ended, ended);
    assert_eq!(mid.recent.len() as u64, ended.min(5000));
    assert_eq!(mid.in_flight.len() as u64, begun as u64 - ended);
    for j in &mid.in_flight {
        assert!(j.outcome.is_none() && j.start_micros <= t);
        assert!(j.spans.iter().all(|s| s.end_micros <= t));
    }
    assert!(mid.markers.iter().all(|m| m.at_micros <= t));
    assert!(mid.seconds.iter().all(|s| (s.second + 1) * 1_000_000 <= t));
}

/// A damaged copy of a trace.
#[derive(Clone, Debug)]
enum Damage {
    Truncate(usize),
    Flip(usize, u8),
    Splice(usize, Vec<u8>),
}

fn damage(bytes: &[u8], d: &Damage) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match d {
        Damage::Truncate(n) => out.truncate(*n),
        Damage::Flip(at, b) => out[*at] ^= b.max(&1),
        Damage::Splice(at, junk) => {
            out.splice(*at..*at, junk.iter().copied());
        }
    }
    out
}

pub fn fuzz(r: &Run) {
    // A small real export: the first requests of the run.
    let mut bytes = Vec::new();
    let mut exporter = Exporter::new(&mut bytes, Format::Json, &r.meta).expect("start");
    for j in r.journeys.iter().take(25) {
        exporter.journey(j).expect("journey");
    }
    exporter.finish().expect("finish");
    import_reader(bytes.as_slice(), "small.json").expect("the undamaged export reads");
    let len = bytes.len();
    // The last byte is a newline: cutting only that leaves a complete file.
    let complete = len - 1;

    let check = |d: &Damage| -> Result<(), TestCaseError> {
        let damaged = damage(&bytes, d);
        match import_reader(damaged.as_slice(), "small.json") {
            Ok(trace) => {
                prop_assert!(
                    !matches!(d, Damage::Truncate(n) if *n < complete),
                    "a cut file must be refused"
                );
                let replay = Replay::new(trace);
                let _ = replay.summary();
                let _ = replay.snapshot_at(replay.duration_micros() / 2);
            }
            Err(e) => {
                let text = e.to_string();
                prop_assert!(text.starts_with("small.json"), "{}", text);
                prop_assert!(
                    text.contains("(while reading $") || text.contains("(at $"),
                    "says where: {}",
                    text
                );
                if let Damage::Truncate(n) = d
                    && *n > 0
                {
                    prop_assert!(text.contains("cut short"), "{}", text);
                }
            }
        }
        Ok(())
    };

    // Every cut at a spread of offsets, then random damage.
    for n in (0..complete).step_by(len / 60 + 1) {
        check(&Damage::Truncate(n)).expect("truncation");
    }
    let strategy = prop_oneof![
        (0..complete).prop_map(Damage::Truncate),
        (0..len, any::<u8>()).prop_map(|(at, b)| Damage::Flip(at, b)),
        (0..len, proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, junk)| Damage::Splice(at, junk)),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |d| check(&d))
        .expect("no damaged trace panics or passes silently");
}
