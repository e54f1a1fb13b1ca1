//! Integration tests: inspect. The request inspector driven by a real engine run (click a
//! request in the list by its label; its URL, status and phases appear) and the scaling
//! sweep over real loopback runs (more servers: more throughput, a lower p99).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use hopscope::engine::{Engine, EngineOptions};
use hopscope::scenario::{Distribution, Dur, Profile, Scenario, ServiceTime, Template};
use hopscope::sweep::{self, SweepConfig};
use hopscope::trace::{OutcomeClass, Phase, Snapshot, TraceId};
use hopscope::ui::inspector::{HAR_PHASES, InspectorPanel, ListFilter, PhaseKey, list_rows};
use hopscope::ui::plots::PlotsPanel;
use hopscope::ui::sweep_panel::SweepPanel;
use hopscope::ui::theme::Theme;

/// One kind of client with a millisecond link, asking for users and restaurants.
fn quick_profile(keep_alive: bool) -> Profile {
    Profile {
        name: "browser".into(),
        clients: 4,
        latency: Dur::from_millis(1),
        keep_alive,
        tls: false,
        mix: vec![
            Template::get("/users/{id}"),
            Template::get("/restaurants/{id}"),
        ],
        ..Profile::default()
    }
}

/// Tiny delays everywhere, so a second of traffic holds many finished requests.
fn small_scenario() -> Scenario {
    let mut s = Scenario {
        name: "inspect-test".into(),
        profiles: vec![quick_profile(false)],
        ..Scenario::default()
    };
    s.dns.latency = Dur::from_millis(1);
    s.cdn.latency = Dur::from_millis(1);
    s.balancer.latency = Dur::from_millis(1);
    s.servers.count = 2;
    s.servers.service = ServiceTime {
        distribution: Distribution::Constant,
        mean: Dur::from_millis(1),
        sigma: 0.0,
    };
    s.database.latency = Dur::from_millis(1);
    s.traffic.rate = 40.0;
    s
}

struct State {
    panel: InspectorPanel,
    snapshot: Arc<Snapshot>,
    theme: Theme,
    selected: Option<TraceId>,
}

#[test]
fn clicking_a_request_in_the_list_opens_its_journey_and_the_plots_draw_the_run() {
    let mut engine = Engine::start(
        small_scenario(),
        EngineOptions {
            traffic: true,
            play_events: true,
            ..EngineOptions::default()
        },
    )
    .expect("the engine starts on loopback");
    // Long enough for the recorder to close a second of metrics for the plots.
    std::thread::sleep(Duration::from_millis(2800));
    let snapshot = engine.snapshot();
    engine.stop();
    let rows = list_rows(&snapshot, &ListFilter::default());
    let row = rows
        .iter()
        .find(|r| r.class == Some(OutcomeClass::Success))
        .expect("a second of traffic holds a finished 2xx request")
        .clone();
    let journey = snapshot.find(row.id).expect("the row's journey").clone();

    let mut harness = Harness::builder()
        .with_size([1500.0, 1000.0])
        .build_ui_state(
            |ui, s: &mut State| {
                s.panel.ui(ui, &s.snapshot, &s.theme, &mut s.selected);
            },
            State {
                panel: InspectorPanel::new(),
                snapshot,
                theme: Theme::normal(),
                selected: None,
            },
        );
    harness.run_steps(2);
    assert!(
        harness.query_by_label("Timing waterfall").is_none(),
        "nothing is inspected before a click"
    );

    harness.get_by_label(&row.label()).click();
    harness.run_steps(3);

    assert_eq!(harness.state().selected, Some(row.id));
    harness.get_by_label(&journey.url);
    harness.get_by_label("Timing waterfall");
    harness.get_by_label("Sequence diagram");
    assert!(
        !harness
            .query_all_by_label_contains("200 OK")
            .collect::<Vec<_>>()
            .is_empty()
            || !harness
                .query_all_by_label_contains("201 Created")
                .collect::<Vec<_>>()
                .is_empty(),
        "the status is shown"
    );
    for phase in HAR_PHASES {
        harness.get_by_label(phase.name());
    }
    harness.get_by_label("Response");

    // Hovering a phase in the waterfall links it in the other views.
    harness.get_by_label("wait").hover();
    harness.run_steps(2);
    assert_eq!(
        harness.state().panel.hovered(),
        Some(PhaseKey::client(Phase::Wait))
    );

    harness.get_by_label("Close").click();
    harness.run_steps(2);
    assert_eq!(harness.state().selected, None);

    // The plots draw the same run; the sweep panel waits for a click.
    let snapshot = harness.state().snapshot.clone();
    assert!(!snapshot.seconds.is_empty(), "a second of metrics closed");
    let mut plots = PlotsPanel::new();
    let mut sweep = SweepPanel::new();
    let scenario = small_scenario();
    let theme = Theme::presentation();
    let mut harness = Harness::builder()
        .with_size([1500.0, 1000.0])
        .build_ui(|ui| {
            plots.ui(ui, &snapshot, &theme);
            sweep.ui(ui, &scenario, &theme);
        });
    harness.run_steps(2);
    harness.get_by_label("Latency p50 / p95 / p99");
    harness.get_by_label("Throughput by status class");
    harness.get_by_label("Per-server load");
    harness.get_by_label("p99");
    harness.get_by_label("Run sweep");
}

/// One worker per server and a constant 50 ms per request: each server answers at most 20
/// requests per second, so 80 per second keeps one, two and three servers busy and their
/// throughput steps from about 20 to 40 to 60 per second, far apart even on a busy machine.
fn scaling_scenario() -> Scenario {
    let mut s = Scenario {
        name: "sweep-test".into(),
        profiles: vec![quick_profile(false)],
        ..Scenario::default()
    };
    s.cdn.enabled = false;
    s.dns.latency = Dur::from_millis(0);
    s.balancer.latency = Dur::from_millis(0);
    s.servers.workers = 1;
    s.servers.queue = 64;
    s.servers.service = ServiceTime {
        distribution: Distribution::Constant,
        mean: Dur::from_millis(50),
        sigma: 0.0,
    };
    s.database.latency = Dur::from_millis(0);
    s.traffic.rate = 80.0;
    s.trace.capture_headers = false;
    s
}

#[test]
fn more_servers_give_more_throughput_and_a_lower_p99() {
    let config = SweepConfig {
        min_servers: 1,
        max_servers: 3,
        duration_each: Duration::from_secs(1),
        rate: None,
    };
    let cancel = AtomicBool::new(false);
    let mut progress = 0;
    let rows = sweep::run(&scaling_scenario(), &config, &cancel, |_| progress += 1)
        .expect("every run starts");
    assert_eq!(rows.len(), 3);
    assert!(progress > 3, "progress was reported");
    let servers: Vec<usize> = rows.iter().map(|r| r.servers).collect();
    assert_eq!(servers, [1, 2, 3]);
    let table = sweep::table(&rows);
    for pair in rows.windows(2) {
        assert!(
            pair[1].throughput_rps >= pair[0].throughput_rps,
            "throughput fell when adding a server:\n{table}"
        );
    }
    assert!(
        rows[2].p99_ms < rows[0].p99_ms,
        "p99 with 3 servers is not below p99 with 1:\n{table}"
    );
    assert!(rows.iter().all(|r| r.requests > 0), "{table}");
    println!("{table}");
}
