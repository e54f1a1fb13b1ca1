//! Integration tests: gui. The window runs headless under egui_kittest with a real engine on
//! loopback; the tests click controls by their labels and check what a user would notice,
//! both on screen and in the engine. The canvas repaints while dots move, so frames are run
//! one by one (`step`) while polling with a deadline, never with `run()`.

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use hopscope::scenario::{Policy, Scenario, load_str};
use hopscope::ui::{AppOptions, HopscopeApp};

/// A small, fast scenario: two servers behind a CDN, one kind of client that opens a new
/// connection per request and asks for users (never cached, so every request goes all the
/// way to a server).
const SCENARIO: &str = r#"
name = "gui-test"
summary = "two servers, fast links"
seed = 7

[traffic]
rate = 40.0

[servers]
count = 2

[api]
public_resources = ["restaurants"]

[[profiles]]
name = "browser"
clients = 2
latency = "1ms"
keep_alive = false
tls = false
mix = [{ weight = 1, path = "/users/{id}" }]

[trace]
capture_headers = false
"#;

/// How long a test waits for something before failing.
const PATIENCE: Duration = Duration::from_secs(15);

pub(super) fn scenario() -> Scenario {
    load_str("gui-test.toml", SCENARIO).expect("the test scenario is valid")
}

fn window() -> Harness<'static, HopscopeApp> {
    window_with(AppOptions::default())
}

fn window_with(options: AppOptions) -> Harness<'static, HopscopeApp> {
    open_window(scenario(), options)
}

/// The window at the size the tests use, with `scenario` running (also the lesson tests').
pub(super) fn open_window(
    scenario: Scenario,
    options: AppOptions,
) -> Harness<'static, HopscopeApp> {
    let app = HopscopeApp::new(scenario, options);
    assert!(
        app.engine().is_some(),
        "the engine started: {:?}",
        app.error()
    );
    let mut h = Harness::builder()
        .with_size([1440.0, 900.0])
        .build_ui_state(|ui, app: &mut HopscopeApp| app.frame(ui), app);
    h.step();
    h
}

/// Runs frames until `done` holds (or fails after `PATIENCE`, saying what it waited for).
pub(super) fn wait_for(
    h: &mut Harness<'_, HopscopeApp>,
    what: &str,
    done: impl Fn(&HopscopeApp) -> bool,
) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        h.step();
        if done(h.state()) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(15));
    }
}

/// Clicks the widget labelled `label`, then runs a few frames so that what the click opened
/// is drawn.
fn click(h: &mut Harness<'_, HopscopeApp>, label: &str) {
    h.get_by_label(label).click();
    h.run_steps(3);
}

/// Runs frames for about `d`.
pub(super) fn run_for(h: &mut Harness<'_, HopscopeApp>, d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        h.step();
        std::thread::sleep(Duration::from_millis(15));
    }
}

fn engine_servers(app: &HopscopeApp) -> usize {
    app.engine().map_or(0, |e| e.topology().servers().len())
}

fn sent(app: &HopscopeApp) -> u64 {
    app.engine().map_or(0, |e| e.topology().clients.sent())
}

/// Hops the stepped request has made, and whether it ended.
fn stepped(app: &HopscopeApp) -> Option<(usize, bool)> {
    let live = app.live()?;
    let j = app.step_mode().journey(live)?;
    Some((j.arrivals.len(), j.is_done()))
}

#[test]
fn adding_a_server_shows_one_more_in_the_view_and_in_the_engine() {
    let mut h = window();
    wait_for(&mut h, "two servers drawn", |a| a.servers_in_view() == 2);
    assert_eq!(engine_servers(h.state()), 2);

    h.get_by_label("Add server").click();
    wait_for(&mut h, "three servers drawn", |a| a.servers_in_view() == 3);
    assert_eq!(engine_servers(h.state()), 3);
    // The new server is on the canvas with its real address, for screen readers too.
    let address = h
        .state()
        .engine()
        .and_then(|e| e.topology().server(3))
        .map(|s| s.addr().to_string())
        .expect("server-3 runs");
    let label = format!("Server node server-3, {address}");
    assert!(
        h.query_by_label_contains(&label).is_some(),
        "a node labelled “{label}…”"
    );
}

#[test]
fn pausing_stops_new_requests() {
    let mut h = window();
    wait_for(&mut h, "traffic to flow", |a| sent(a) > 3);

    h.get_by_label("Pause").click();
    wait_for(&mut h, "the engine to pause", |a| {
        a.live().is_some_and(|l| l.paused)
    });
    let before = sent(h.state());
    run_for(&mut h, Duration::from_millis(500));
    assert_eq!(sent(h.state()), before, "no new request while paused");
    // The button now offers to resume, and resuming brings traffic back.
    h.get_by_label("Resume").click();
    wait_for(&mut h, "traffic to flow again", |a| sent(a) > before);
}

#[test]
fn step_mode_advances_exactly_one_hop_per_click() {
    let mut h = window();
    wait_for(&mut h, "the window to show the run", |a| a.live().is_some());

    h.get_by_label("Step mode").click();
    wait_for(&mut h, "step mode to pause the traffic", |a| {
        a.step_mode().on && a.live().is_some_and(|l| l.paused)
    });
    h.get_by_label("Send one request").click();
    wait_for(
        &mut h,
        "the stepped request to wait at its first hop",
        |a| a.live().is_some_and(|l| a.step_mode().can_step(l)),
    );
    let (first, _) = stepped(h.state()).expect("the stepped request is traced");
    assert!(first >= 1);
    // It waits there: no click, no progress.
    run_for(&mut h, Duration::from_millis(300));
    assert_eq!(stepped(h.state()), Some((first, false)));

    for click in 1..=3 {
        h.get_by_label("Next hop").click();
        wait_for(&mut h, "the next hop", |a| {
            stepped(a).is_some_and(|(hops, done)| hops > first + click - 1 || done)
        });
        run_for(&mut h, Duration::from_millis(250));
        let (hops, done) = stepped(h.state()).expect("still traced");
        let journey = h
            .state()
            .live()
            .and_then(|l| h.state().step_mode().journey(l).cloned());
        assert!(
            !done,
            "three hops in, a request that goes to a server is still on its way: {journey:#?}"
        );
        assert_eq!(hops, first + click, "exactly one hop for click {click}");
    }

    // Step mode off lets it run to its end.
    let id = h.state().step_mode().stepped.expect("a stepped request");
    h.get_by_label("Step mode").click();
    wait_for(&mut h, "the released request to end", |a| {
        !a.step_mode().on
            && a.live()
                .and_then(|l| l.snapshot.find(id))
                .is_some_and(|j| j.is_done())
    });
    // The time it was held for the clicks is said apart, not counted as latency.
    let live = h.state().live().expect("a run");
    let j = live.snapshot.find(id).expect("still traced");
    let whole = j.end_micros.expect("ended") - j.start_micros;
    assert!(j.held_micros() >= 300_000, "held {} µs", j.held_micros());
    assert_eq!(j.latency_micros(), Some(whole - j.held_micros()));
}

#[test]
fn a_request_held_at_the_edge_longer_than_the_edge_waits_still_gets_its_answer() {
    // The edge closes a connection that sends no request within a second; the learner
    // reads for longer than that with the request held just before it is sent.
    let text = format!("{SCENARIO}\n[limits]\nheader_timeout = \"1s\"\n");
    let scenario = load_str("held.toml", &text).expect("the scenario is valid");
    let app = HopscopeApp::new(scenario, AppOptions::default());
    let mut h = Harness::builder()
        .with_size([1440.0, 900.0])
        .build_ui_state(|ui, app: &mut HopscopeApp| app.frame(ui), app);
    wait_for(&mut h, "the window to show the run", |a| a.live().is_some());
    h.get_by_label("Step mode").click();
    wait_for(&mut h, "step mode to pause the traffic", |a| {
        a.step_mode().on && a.live().is_some_and(|l| l.paused)
    });
    h.get_by_label("Send one request").click();
    let at_edge = |a: &HopscopeApp| {
        a.live()
            .and_then(|l| a.step_mode().journey(l))
            .is_some_and(|j| j.location() == Some(hopscope::trace::Component::Cdn))
    };
    for _ in 0..3 {
        wait_for(&mut h, "the request to wait at a hop", |a| {
            a.live().is_some_and(|l| a.step_mode().can_step(l))
        });
        if at_edge(h.state()) {
            break;
        }
        h.get_by_label("Next hop").click();
        h.run_steps(2);
    }
    assert!(
        at_edge(h.state()),
        "the request waits at the edge, connected"
    );
    run_for(&mut h, Duration::from_millis(1_500));
    let id = h.state().step_mode().stepped.expect("a stepped request");
    h.get_by_label("Step mode").click();
    wait_for(&mut h, "the released request to end", |a| {
        a.live()
            .and_then(|l| l.snapshot.find(id))
            .is_some_and(|j| j.is_done())
    });
    let live = h.state().live().expect("a run");
    let j = live.snapshot.find(id).expect("still traced");
    assert_eq!(
        j.outcome,
        Some(hopscope::trace::Outcome::Status(200)),
        "{j:#?}"
    );
}

#[test]
fn changing_the_policy_changes_what_the_load_balancer_uses() {
    let mut h = window();
    wait_for(&mut h, "the window to show the run", |a| a.live().is_some());
    let policy = |a: &HopscopeApp| a.engine().map(|e| e.topology().lb.policy());
    assert_eq!(policy(h.state()), Some(Policy::RoundRobin));

    click(&mut h, "Policy");
    click(&mut h, "Least connections");
    wait_for(&mut h, "the load balancer to switch policy", |a| {
        policy(a) == Some(Policy::LeastConnections)
    });
    // The combo shows what the engine now uses.
    wait_for(&mut h, "the combo to show the policy", |a| {
        a.live()
            .is_some_and(|l| l.policy == Policy::LeastConnections)
    });
    assert!(
        h.query_by_value("Least connections").is_some()
            || h.query_by_label("Least connections").is_some()
    );
}

#[test]
fn a_bad_scenario_file_is_shown_in_the_window_and_the_old_run_goes_on() {
    let dir = std::env::temp_dir().join(format!("hopscope-gui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("broken.toml");
    std::fs::write(&path, "name = \"broken\"\n[servers]\ncount = \"many\"\n").expect("writes");

    let mut h = window();
    wait_for(&mut h, "the window to show the run", |a| a.live().is_some());
    click(&mut h, "Open…");
    let field = h.get_by_label("A scenario (.toml) or recorded trace (.json)");
    field.click();
    field.type_text(&path.display().to_string());
    h.step();
    h.get_by_label("Open").click();
    wait_for(&mut h, "the error to show", |a| a.error().is_some());
    h.run_steps(2);
    let error = h.state().error().unwrap_or_default().to_string();
    assert!(
        error.contains("broken.toml:3:"),
        "file:line:column in {error}"
    );
    assert!(h.query_by_label_contains("could not be opened").is_some());
    assert_eq!(
        h.state().live().map(|l| l.name.clone()),
        Some("gui-test".into())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn keyboard_shortcuts_add_a_server_and_switch_presentation_mode() {
    let mut h = window();
    wait_for(&mut h, "two servers drawn", |a| a.servers_in_view() == 2);
    h.key_press(egui::Key::Plus);
    wait_for(&mut h, "a third server", |a| {
        a.servers_in_view() == 3 && engine_servers(a) == 3
    });
    assert!(!h.state().presentation());
    h.key_press(egui::Key::P);
    h.run_steps(2);
    assert!(h.state().presentation());
    h.key_press(egui::Key::Questionmark);
    h.run_steps(3);
    assert!(
        h.query_by_label("Keyboard shortcuts").is_some(),
        "help is open"
    );
}

#[test]
fn a_request_from_an_outside_tool_is_drawn() {
    use std::io::{Read, Write};

    let mut h = window();
    h.get_by_label("Pause").click();
    wait_for(&mut h, "the run to pause and its dots to leave", |a| {
        a.live()
            .is_some_and(|l| l.paused && l.snapshot.in_flight.is_empty())
            && a.canvas().on_screen == 0
    });
    let edge = h
        .state()
        .engine()
        .map(|e| e.addresses().edge)
        .expect("an edge");
    // What `curl http://EDGE/restaurants/1` sends.
    let mut conn = std::net::TcpStream::connect(&edge).expect("the edge listens");
    conn.set_read_timeout(Some(PATIENCE)).expect("timeout");
    write!(
        conn,
        "GET /restaurants/1 HTTP/1.1\r\nHost: api.example.test\r\nConnection: close\r\n\r\n"
    )
    .expect("sends");
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    wait_for(&mut h, "the outside request on the canvas", |a| {
        a.canvas().external >= 1
    });
}

/// The files in `dir` whose name ends with `ext`.
fn files_ending(dir: &std::path::Path, ext: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with(ext))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_file_menu_exports_the_trace_saves_the_settings_and_replays_the_export() {
    let dir = std::env::temp_dir().join(format!("hopscope-gui-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut h = window_with(AppOptions {
        save_dir: dir.clone(),
        ..AppOptions::default()
    });
    wait_for(&mut h, "some finished requests", |a| {
        a.live().is_some_and(|l| l.snapshot.totals.ended >= 10)
    });
    click(&mut h, "Add server");
    wait_for(&mut h, "a third server", |a| engine_servers(a) == 3);

    click(&mut h, "File");
    click(&mut h, "Export trace");
    click(&mut h, "hopscope JSON trace (open it again to replay)");
    // Written whole or not at all (a temporary file renamed into place).
    wait_for(&mut h, "the export to be written", |_| {
        !files_ending(&dir, ".json").is_empty()
    });
    let trace = files_ending(&dir, ".json").remove(0);
    let text = std::fs::read_to_string(&trace).expect("reads the export");
    let json: serde_json::Value = serde_json::from_str(&text).expect("the export is JSON");
    let exported = json["requests"].as_array().map_or(0, Vec::len);
    // The export holds what the recorder had written out when it was asked (requests still
    // settling stay out), so how many of the ten it holds depends on the machine's speed: a
    // user sees requests in it, and the replay below shows them.
    assert!(exported >= 1, "{exported} requests exported");

    click(&mut h, "File");
    click(&mut h, "Save settings as a scenario");
    let saved = files_ending(&dir, ".toml");
    assert_eq!(saved.len(), 1, "one scenario file in {}", dir.display());
    let back = hopscope::scenario::load(&saved[0]).expect("the saved settings load");
    assert_eq!(back.servers.count, 3, "the added server is saved");
    assert_eq!(back.name, "gui-test");

    click(&mut h, "Open…");
    let field = h.get_by_label("A scenario (.toml) or recorded trace (.json)");
    field.click();
    field.type_text(&trace.display().to_string());
    h.step();
    h.get_by_label("Open").click();
    wait_for(&mut h, "the replay to start", |a| a.replay().is_some());
    assert!(h.state().engine().is_none(), "a replay runs no engine");
    h.run_steps(2);
    let before = h.state().replay().map_or(0, |r| r.t);
    for _ in 0..3 {
        click(&mut h, "Next hop ▶");
    }
    let after = h.state().replay().map_or(0, |r| r.t);
    assert!(
        after > before,
        "Next hop moves the replay on ({before} → {after})"
    );
    assert!(
        h.state()
            .live()
            .is_some_and(|l| l.snapshot.totals.begun >= 1),
        "the replay shows the recorded requests"
    );
    click(&mut h, "◀ Previous hop");
    let back_t = h.state().replay().map_or(0, |r| r.t);
    assert!(
        back_t < after,
        "Previous hop moves back ({after} → {back_t})"
    );

    click(&mut h, "Back to live");
    wait_for(&mut h, "the scenario to run again", |a| {
        a.replay().is_none() && a.engine().is_some()
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn page_down_and_page_up_turn_the_lesson_and_presentation_keeps_it_in_view() {
    let text = format!(
        "{SCENARIO}\n[[steps]]\ntitle = \"First look\"\ntext = \"Watch the dots.\"\n\n\
         [[steps]]\ntitle = \"Second look\"\ntext = \"Watch them again.\"\n\
         look_at = \"plot:latency\"\n"
    );
    let lesson = load_str("lesson.toml", &text).expect("the lesson is valid");
    let app = HopscopeApp::new(lesson, AppOptions::default());
    let mut h = Harness::builder()
        .with_size([1440.0, 900.0])
        .build_ui_state(|ui, app: &mut HopscopeApp| app.frame(ui), app);
    wait_for(&mut h, "the lesson's first step", |a| a.live().is_some());
    h.get_by_label("First look");
    let current = |h: &Harness<'_, HopscopeApp>| {
        h.state()
            .docks()
            .guide
            .as_ref()
            .map(|g| g.current())
            .expect("a guide")
    };
    h.key_press(egui::Key::PageDown);
    h.run_steps(2);
    assert_eq!(current(&h), 1);
    assert!(h.query_by_label("Second look").is_some());
    assert_eq!(
        h.state().docks().plots.view,
        hopscope::ui::plots::PlotView::Latency,
        "the step's plot is shown on its own"
    );
    h.key_press(egui::Key::P);
    h.run_steps(2);
    assert!(h.state().presentation());
    assert!(
        h.query_by_label("Second look").is_some(),
        "the lesson stays on screen in presentation mode"
    );
    h.key_press(egui::Key::PageUp);
    h.run_steps(2);
    assert_eq!(current(&h), 0);
    assert!(h.query_by_label("First look").is_some());
}

#[test]
fn smooth_motion_is_a_view_preference_that_is_remembered() {
    let dir = std::env::temp_dir().join(format!("hopscope-smooth-{}", std::process::id()));
    let prefs = dir.join("prefs.json");
    let options = || AppOptions {
        prefs_path: Some(prefs.clone()),
        ..AppOptions::default()
    };
    let mut h = window_with(options());
    assert!(!h.state().smooth_motion(), "30 frames a second by default");
    click(&mut h, "View");
    click(&mut h, "Smooth motion (60 frames a second)");
    assert!(h.state().smooth_motion());
    assert!(hopscope::ui::prefs::Prefs::load(&prefs).smooth_motion);
    drop(h);
    assert!(window_with(options()).state().smooth_motion(), "remembered");
    let _ = std::fs::remove_dir_all(&dir);
}
