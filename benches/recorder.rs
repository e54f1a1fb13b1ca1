//! Recorder ingest benchmark: how many trace events per second the recorder assembles into
//! journeys and metrics (with the disk spool on), on one thread, as the engine runs it.
//!
//! `cargo bench --bench recorder` prints events/s and journeys/s.

use std::time::Instant;

use hopscope::trace::{
    Attr, Begin, CacheStatus, Component, End, Outcome, Phase, Recorder, RecorderConfig, Span,
    SpoolLimit, TraceEvent, TraceId,
};

/// The events one cached-miss request produces, roughly as the engine emits them.
fn journey(n: u64) -> Vec<TraceEvent> {
    let id = TraceId(u128::from(n) + 1);
    let t = n * 50;
    let span = |component, phase, start: u64, end: u64, attrs: Vec<Attr>| {
        TraceEvent::Span(Span {
            id,
            component,
            phase,
            start_micros: t + start,
            end_micros: t + end,
            attrs,
        })
    };
    vec![
        TraceEvent::Begin(Begin {
            id,
            at_micros: t,
            profile: "bench".into(),
            client: "bench-1".into(),
            method: "GET".into(),
            url: format!("http://api.example.test:8080/users/{}", n % 100),
            external: false,
        }),
        TraceEvent::Arrive {
            id,
            component: Component::Cdn,
            at_micros: t + 20,
        },
        span(
            Component::Cdn,
            Phase::Cache,
            20,
            21,
            vec![Attr::new("result", "MISS"), Attr::new("url", "/users/1")],
        ),
        TraceEvent::Arrive {
            id,
            component: Component::Lb,
            at_micros: t + 25,
        },
        span(
            Component::Lb,
            Phase::Pick,
            25,
            26,
            vec![
                Attr::new("server", "server-2"),
                Attr::new("policy", "round_robin"),
                Attr::new("reason", "server-2: next in turn"),
            ],
        ),
        TraceEvent::Arrive {
            id,
            component: Component::Server(2),
            at_micros: t + 30,
        },
        span(Component::Server(2), Phase::Queue, 30, 31, vec![]),
        span(
            Component::Db,
            Phase::Db,
            32,
            40,
            vec![
                Attr::new("sql", "SELECT * FROM users WHERE id = ?"),
                Attr::new("params", "[1]"),
                Attr::new("rows", "1"),
            ],
        ),
        span(
            Component::Server(2),
            Phase::Handler,
            31,
            41,
            vec![
                Attr::new("route", "GET /users/:id"),
                Attr::new("status", "200"),
            ],
        ),
        span(
            Component::Lb,
            Phase::Forward,
            26,
            43,
            vec![Attr::new("server", "server-2")],
        ),
        span(
            Component::Cdn,
            Phase::Forward,
            21,
            45,
            vec![Attr::new("to", "lb")],
        ),
        span(Component::Client, Phase::Send, 10, 11, vec![]),
        span(Component::Client, Phase::Wait, 11, 46, vec![]),
        span(Component::Client, Phase::Receive, 46, 47, vec![]),
        TraceEvent::End(End {
            id,
            at_micros: t + 47,
            outcome: Outcome::Status(200),
            cache: Some(CacheStatus::Miss),
            served_by: Some("server-2".into()),
            bytes: 89,
            reused: true,
        }),
    ]
}

fn main() {
    let requests: u64 = 200_000;
    let events: Vec<TraceEvent> = (0..requests).flat_map(journey).collect();
    let count = events.len() as u64;
    let dir = std::env::temp_dir().join(format!("hopscope-bench-recorder-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut recorder = Recorder::new(RecorderConfig {
        keep_recent: 5000,
        spool: Some(dir.join("journeys.spool")),
        spool_limit: SpoolLimit::unlimited(),
    });
    let started = Instant::now();
    for (i, event) in events.into_iter().enumerate() {
        recorder.ingest(event);
        if i % 10_000 == 0 {
            // The recorder thread ticks ~30 times a second; at this rate that is every ~10k events.
            recorder.tick(i as u64 * 4, &[]);
        }
    }
    recorder.finish();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "recorder ingest: {count} events ({requests} journeys) in {secs:.2} s = {:.0} events/s, {:.0} journeys/s (spool on)",
        count as f64 / secs,
        requests as f64 / secs
    );
    std::fs::remove_dir_all(&dir).ok();
}
