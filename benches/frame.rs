//! Frame time of the topology canvas, headless: CPU milliseconds per frame with 2,000 and
//! 10,000 requests in flight (plus a few hundred just ended), on synthetic snapshots of the
//! default scenario. A frame is egui's pass (layout, view models, shapes) and, measured
//! separately, the tessellation eframe does before handing triangles to the GPU.
//!
//! Run with `cargo bench --bench frame`. Targets: at most 1 ms at 2,000 and 3 ms at 10,000.

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Pos2, RawInput, Rect, vec2};
use hopscope::scenario::{Scenario, resolve};
use hopscope::trace::{
    Attr, CacheStatus, Component, Journey, Outcome, Phase, ServerGauge, Snapshot, Span, TraceId,
};
use hopscope::ui::Live;
use hopscope::ui::command::Commands;
use hopscope::ui::theme::Theme;
use hopscope::ui::topology::{TopologyView, describe, dots, layout, metrics, timing};

/// A small deterministic generator (no dependency on a random crate's API).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn span(id: TraceId, component: Component, phase: Phase, start: u64, end: u64) -> Span {
    Span {
        id,
        component,
        phase,
        start_micros: start,
        end_micros: end,
        attrs: Vec::new(),
    }
}

/// A request of `profile` that began at `start` and has got `stage` hops far (0: still at
/// the client … 5: at a server), or ended with a miss served by a server.
fn journey(i: u64, profile: &str, start: u64, stage: u64, ended: bool, servers: u16) -> Journey {
    let id = TraceId(u128::from(i) + 1);
    let step = 40_000;
    let server = Component::Server((i % u64::from(servers)) as u16 + 1);
    let mut j = Journey {
        id,
        profile: profile.into(),
        client: format!("{profile}-1"),
        method: "GET".into(),
        url: format!("http://api.example.test/restaurants/{}", i % 50),
        start_micros: start,
        ..Journey::default()
    };
    let hops = [
        Component::Dns,
        Component::Cdn,
        Component::Cdn,
        Component::Lb,
        server,
    ];
    for (k, c) in hops.iter().take(stage as usize).enumerate() {
        j.add_arrival(*c, start + step * (k as u64 + 1));
    }
    if stage >= 2 {
        j.add_span(span(
            id,
            Component::Client,
            Phase::Dns,
            start + step,
            start + step * 2 - 5_000,
        ));
        j.add_span(span(
            id,
            Component::Dns,
            Phase::Dns,
            start + step + 1_000,
            start + step + 2_000,
        ));
    }
    if stage >= 4 {
        let mut cache = span(
            id,
            Component::Cdn,
            Phase::Cache,
            start + step * 3,
            start + step * 3 + 500,
        );
        cache.attrs.push(Attr::new("result", "MISS"));
        j.add_span(cache);
    }
    if stage >= 5 {
        let mut pick = span(
            id,
            Component::Lb,
            Phase::Pick,
            start + step * 4,
            start + step * 4 + 100,
        );
        pick.attrs.push(Attr::new("server", server.to_string()));
        pick.attrs.push(Attr::new("reason", "next in turn"));
        j.add_span(pick);
    }
    if ended {
        let s = start + step * 5;
        j.add_span(span(id, server, Phase::Queue, s, s + 2_000));
        j.add_span(span(id, server, Phase::Handler, s + 2_000, s + 20_000));
        j.add_span(span(id, Component::Db, Phase::Db, s + 5_000, s + 9_000));
        j.add_span(span(
            id,
            Component::Lb,
            Phase::Forward,
            start + step * 4,
            s + 25_000,
        ));
        j.add_span(span(
            id,
            Component::Cdn,
            Phase::Forward,
            start + step * 3,
            s + 30_000,
        ));
        j.outcome = Some(if i.is_multiple_of(17) {
            Outcome::Status(503)
        } else if i.is_multiple_of(29) {
            Outcome::Timeout
        } else {
            Outcome::Status(200)
        });
        j.cache = Some(CacheStatus::Miss);
        j.served_by = Some(server.to_string());
        j.end_micros = Some(s + 35_000);
    }
    j
}

/// A snapshot at `now` with `in_flight` requests spread over every stage and over the last
/// three seconds, and a few hundred that ended lately.
fn snapshot(scenario: &Scenario, in_flight: usize, now: u64) -> Snapshot {
    let profiles: Vec<String> = scenario
        .effective_profiles()
        .into_iter()
        .map(|p| p.name)
        .collect();
    let servers = scenario.servers.count as u16;
    let mut rng = Lcg(42);
    let mut flying = Vec::with_capacity(in_flight);
    for i in 0..in_flight as u64 {
        let start = now - 10_000 - rng.below(3_000_000);
        let stage = rng.below(6);
        let profile = &profiles[rng.below(profiles.len() as u64) as usize];
        flying.push(Arc::new(journey(i, profile, start, stage, false, servers)));
    }
    flying.sort_by_key(|j| j.start_micros);
    let mut recent = Vec::new();
    for i in 0..400u64 {
        let start = now - 3_000_000 + i * 6_000;
        let profile = &profiles[(i % profiles.len() as u64) as usize];
        recent.push(Arc::new(journey(
            1_000_000 + i,
            profile,
            start,
            5,
            true,
            servers,
        )));
    }
    recent.sort_by_key(|j| j.end_micros);
    Snapshot {
        now_micros: now,
        in_flight: flying,
        recent,
        servers: (1..=servers)
            .map(|n| ServerGauge {
                name: format!("server-{n}"),
                address: format!("127.0.0.1:{}", 40_000 + n),
                in_flight: 8,
                queued: (in_flight / 40) as u32,
                alive: true,
                healthy: true,
                ..ServerGauge::default()
            })
            .collect(),
        ..Snapshot::default()
    }
}

struct Figures {
    pass: Vec<Duration>,
    tessellate: Vec<Duration>,
    /// The dots' view model alone (`dots::build`), inside the pass.
    model: Vec<Duration>,
}

fn stats(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = v.iter().map(|d| ms(*d)).sum::<f64>() / v.len() as f64;
    (mean, ms(v[v.len() / 2]), ms(v[v.len() * 95 / 100]))
}

fn measure(scenario: &Scenario, theme: &Theme, in_flight: usize, frames: usize) -> Figures {
    let ctx = egui::Context::default();
    Theme::install_fonts(&ctx);
    theme.apply(&ctx);
    let start_now = 60_000_000;
    let snap = Arc::new(snapshot(scenario, in_flight, start_now));
    let mut view = TopologyView::default();
    let mut commands = Commands::default();
    let screen = Rect::from_min_size(Pos2::ZERO, vec2(1100.0, 720.0));
    let mut figures = Figures {
        pass: Vec::new(),
        tessellate: Vec::new(),
        model: Vec::new(),
    };
    let m = metrics(theme);
    let model = layout::place(
        describe::describe(&Live::offline(scenario, snap.clone(), start_now)),
        screen,
        &m,
    );
    let profiles: Vec<String> = scenario
        .effective_profiles()
        .into_iter()
        .map(|p| p.name)
        .collect();
    let mut scratch = dots::Scratch::default();
    let warmup = 20;
    for frame in 0..warmup + frames {
        // Time moves on at 60 frames a second, so the dots move.
        let now = start_now + frame as u64 * 16_667;
        let live = Live::offline(scenario, snap.clone(), now);
        let input = RawInput {
            screen_rect: Some(screen),
            ..RawInput::default()
        };
        let t0 = Instant::now();
        let output = ctx.run_ui(input, |ui| {
            egui::CentralPanel::no_frame().show(ui, |ui| {
                let _ = view.ui(ui, &live, theme, None, &mut commands);
            });
        });
        let t1 = Instant::now();
        let shapes = output.shapes.clone();
        let primitives = ctx.tessellate(shapes, output.pixels_per_point);
        let t2 = Instant::now();
        std::hint::black_box(primitives);
        output.drop_without_applying_deltas();
        let _ = commands.take();
        let params = dots::DotParams {
            now,
            timing: timing(theme, 1.0),
            metrics: m,
            lane: theme.lane_offset,
            fall_distance: theme.fall_distance,
            cell: theme.dot_radius * 2.5,
            profiles: &profiles,
            edge: Component::Cdn,
            highlight: None,
        };
        let t3 = Instant::now();
        std::hint::black_box(dots::build(&snap, &model, &params, &mut scratch));
        let t4 = Instant::now();
        if frame >= warmup {
            figures.pass.push(t1 - t0);
            figures.tessellate.push(t2 - t1);
            figures.model.push(t4 - t3);
        }
    }
    figures
}

fn main() {
    let (scenario, _) = match resolve("default") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot load the default scenario: {e}");
            std::process::exit(2);
        }
    };
    if cfg!(debug_assertions) {
        eprintln!("note: a debug build; run `cargo bench --bench frame` for real figures");
    }
    println!("topology canvas, CPU per frame (1100x720 points, default scenario layout)");
    println!(
        "{:>10} {:>8}  {:>22}  {:>22}  {:>10}  {:>14}",
        "in flight",
        "theme",
        "egui pass mean/p50/p95",
        "tessellate mean/p50/p95",
        "total mean",
        "dots model p50"
    );
    for (label, theme) in [
        ("normal", Theme::normal()),
        ("present.", Theme::presentation()),
    ] {
        for (n, frames) in [(2_000, 300), (10_000, 120)] {
            let f = measure(&scenario, &theme, n, frames);
            let (pm, p50, p95) = stats(f.pass);
            let (tm, t50, t95) = stats(f.tessellate);
            let (_, d50, _) = stats(f.model);
            println!(
                "{n:>10} {label:>8}  {pm:>6.2} {p50:>6.2} {p95:>6.2} ms  {tm:>6.2} {t50:>6.2} {t95:>6.2} ms  {:>7.2} ms  {d50:>11.2} ms",
                pm + tm
            );
        }
    }
}
