//! Integration tests: lessons. Every built-in scenario validates and runs headless; every
//! lesson's checkpoints pass when a simulated reader plays it (the lesson's own actions and
//! the reader's button presses change the world, narration judges each checkpoint from the
//! live trace, as `hopscope run --narrate --reader` does) at three reading speeds and for
//! three seeds, and no checkpoint is judged on what happened before its step; each
//! troubleshooting symptom is produced for real, after the fault the narration names.
//!
//! Lessons run a few at a time (they are real traffic on a shared machine), each step
//! within a capped time limit. The readers' times are scaled down (`READER_SCALE`) so the
//! suite stays short; the command line plays them at full length.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use hopscope::engine::{Engine, EngineOptions};
use hopscope::lesson::{NarrateOptions, Report, narrate};
use hopscope::scenario::{BUILTINS, Dur, Scenario, load_str, resolve};
use hopscope::trace::{Outcome, Snapshot};

/// How much traffic may be played at once, in units of 25 requests a second (a lesson's
/// share is its highest rate): the lessons are real traffic, and a starved machine turns
/// latency checks into measurements of the machine.
const LOAD_UNITS: usize = 8;
/// The longest any one checkpoint may take here.
const STEP_CAP: Duration = Duration::from_secs(15);
/// The readers of the issue's acceptance: 0 s (unattended), 5 s and 20 s per step...
const READERS: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(20),
];
/// ... scaled by this, so that the plays fit in a few minutes (`hopscope run LESSON
/// --narrate --reader 20s` plays them at full length).
const READER_SCALE: f64 = 0.03;
/// Requests a step's own action caused may have begun this long before it (a request
/// is begun by its task a moment before the marker that names it).
const SLACK_MICROS: u64 = 50_000;

static SLOTS: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// A turn to run a lesson, holding its share of the load; the next one may start when it
/// is dropped.
struct Turn(usize);

impl Turn {
    fn take(units: usize) -> Turn {
        let units = units.clamp(1, LOAD_UNITS);
        let (lock, cv) = &SLOTS;
        let mut running = lock.lock().unwrap_or_else(|e| e.into_inner());
        while *running + units > LOAD_UNITS {
            running = cv.wait(running).unwrap_or_else(|e| e.into_inner());
        }
        *running += units;
        Turn(units)
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let (lock, cv) = &SLOTS;
        let mut running = lock.lock().unwrap_or_else(|e| e.into_inner());
        *running -= self.0;
        cv.notify_all();
    }
}

/// A lesson's share of the load: its highest request rate (the scenario's, or one a step
/// sets), in units of 25 requests a second.
fn load_of(scenario: &Scenario) -> usize {
    let rates = scenario
        .steps
        .iter()
        .flat_map(|s| {
            s.actions
                .iter()
                .filter_map(|a| a.action.clone())
                .chain(s.buttons.iter().flat_map(|b| b.commands.clone()))
        })
        .filter_map(|c| match c.parse() {
            Ok(hopscope::scenario::Command::Rate(r)) => Some(r),
            _ => None,
        });
    let top = rates.fold(scenario.traffic.rate, f64::max);
    let rate = if scenario.traffic.enabled { top } else { 1.0 };
    (rate / 25.0).ceil().max(1.0) as usize
}

fn lesson(name: &str) -> Scenario {
    match resolve(name) {
        Ok((s, _)) => s,
        Err(e) => panic!("built-in {name} does not load:\n{e}"),
    }
}

/// The lesson a teacher wrote from docs/scenarios.md alone.
fn teacher_lesson() -> Scenario {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lessons/failover.toml");
    hopscope::scenario::load(&path)
        .unwrap_or_else(|e| panic!("the teacher's lesson is invalid:\n{e}"))
}

/// Plays `name` unattended; returns the report, the printed narration and the last snapshot.
fn play(name: &str) -> (Report, String, Arc<Snapshot>) {
    play_scenario(lesson(name), Duration::ZERO)
}

/// Plays `scenario` with a reader who takes `reader` over each step.
fn play_scenario(scenario: Scenario, reader: Duration) -> (Report, String, Arc<Snapshot>) {
    let name = scenario.name.clone();
    let name = name.as_str();
    assert!(!scenario.steps.is_empty(), "{name} has no steps");
    let _turn = Turn::take(load_of(&scenario));
    let started = Instant::now();
    let mut engine = Engine::start(
        scenario.clone(),
        EngineOptions {
            traffic: true,
            play_events: true,
            ..EngineOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
    let options = NarrateOptions {
        reader,
        step_cap: Some(STEP_CAP),
        ..NarrateOptions::default()
    };
    let mut out = Vec::new();
    let report = narrate(&scenario, &engine, &options, &mut out)
        .unwrap_or_else(|e| panic!("{name}: narration failed to print: {e}"));
    let last = engine.stop();
    let text = String::from_utf8_lossy(&out).into_owned();
    eprintln!(
        "{name} (seed {}, reader {:.2} s): {} in {:.1} s",
        scenario.seed,
        reader.as_secs_f64(),
        report.verdict(),
        started.elapsed().as_secs_f64()
    );
    (report, text, last)
}

fn assert_lesson_passes(name: &str) -> Arc<Snapshot> {
    let (report, text, last) = play(name);
    assert!(
        report.all_passed(),
        "{name}: {}\n\n{text}",
        report.verdict()
    );
    let (passed, total) = report.checkpoints();
    assert!(total > 0 && passed == total, "{name}: {passed}/{total}");
    assert!(last.totals.ended > 0, "{name}: no request ended");
    last
}

/// What went wrong with one play, if anything: a missed checkpoint, or one judged on what
/// happened before its step became current (only an explicit `after` may reach back, and
/// never to before the lesson began).
fn problems_of(scenario: &Scenario, report: &Report, text: &str) -> Option<String> {
    let mut wrong = Vec::new();
    if !report.all_passed() {
        wrong.push(report.verdict());
    }
    let lesson_began = report.steps.first().map_or(0, |s| s.became_current_micros);
    for s in &report.steps {
        let Some(from) = s.judged_from_micros else {
            continue;
        };
        let explicit = scenario.steps[s.index]
            .check
            .as_ref()
            .is_some_and(|c| c.after.is_some());
        let floor = if explicit {
            lesson_began
        } else {
            s.became_current_micros
        };
        if from + SLACK_MICROS < floor {
            wrong.push(format!(
                "step {} “{}” was judged from {} µs, before {} µs",
                s.index + 1,
                s.title,
                from,
                floor
            ));
        }
    }
    (!wrong.is_empty()).then(|| format!("{}\n{text}", wrong.join("; ")))
}

#[test]
fn every_builtin_validates_and_says_what_it_shows() {
    for b in BUILTINS {
        match load_str(b.name, b.text) {
            Ok(s) => {
                assert!(!s.summary.is_empty(), "{} has no summary", b.name);
                assert!(
                    s.summary.chars().count() <= 110,
                    "{}'s summary is longer than a line",
                    b.name
                );
                assert_eq!(s.name, b.name, "a built-in's name is its file name");
            }
            Err(e) => panic!("built-in {} is invalid:\n{e}", b.name),
        }
    }
    let lessons = BUILTINS
        .iter()
        .filter(|b| !lesson(b.name).steps.is_empty())
        .count();
    assert!(lessons >= 13, "only {lessons} lessons");
}

#[test]
fn default_and_bench_run_headless_for_two_seconds() {
    for name in ["default", "bench"] {
        let mut scenario = lesson(name);
        scenario.duration = Dur::from_secs(2);
        let _turn = Turn::take(load_of(&scenario));
        let mut engine = Engine::start(
            scenario,
            EngineOptions {
                traffic: true,
                play_events: true,
                ..EngineOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
        std::thread::sleep(Duration::from_secs(2));
        let last = engine.stop();
        assert!(
            last.totals.ended > 10,
            "{name}: {} ended",
            last.totals.ended
        );
    }
}

/// Every built-in lesson with a reader of 0 s, 5 s and 20 s (scaled), each reader with
/// another of three seeds (a Latin square: over the lessons every reader meets every seed
/// offset), and the docs' example and the teacher's lesson the same way; played a few at a
/// time in threads of this one test (the harness alone would run only as many tests at once
/// as there are cores, and a lesson mostly waits for its traffic), longest first.
#[test]
fn every_lesson_passes_for_every_reader_and_three_seeds() {
    let mut lessons: Vec<Scenario> = BUILTINS
        .iter()
        .map(|b| lesson(b.name))
        .filter(|s| !s.steps.is_empty())
        .collect();
    let names: Vec<String> = lessons.iter().map(|s| s.name.clone()).collect();
    lessons.push(docs_example());
    lessons.push(teacher_lesson());
    let mut plays = Vec::new();
    for (i, scenario) in lessons.iter().enumerate() {
        for (r, reader) in READERS.iter().enumerate() {
            let mut s = scenario.clone();
            s.seed = scenario.seed + ((i + r) % READERS.len()) as u64;
            plays.push((s, reader.mul_f64(READER_SCALE)));
        }
    }
    // The slow readers of the long lessons first, so the last ones to finish are short.
    plays.sort_by_key(|(s, reader)| std::cmp::Reverse((*reader, s.steps.len())));
    let players: Vec<_> = plays
        .into_iter()
        .map(|(scenario, reader)| {
            let name = scenario.name.clone();
            std::thread::Builder::new()
                .name(format!("lesson-{name}"))
                .spawn(move || {
                    let (report, text, last) = play_scenario(scenario.clone(), reader);
                    let wrong = problems_of(&scenario, &report, &text);
                    (name, scenario.seed, reader, wrong, last.totals.ended)
                })
                .unwrap_or_else(|e| panic!("cannot start a thread for a lesson: {e}"))
        })
        .collect();
    let mut failures = Vec::new();
    for player in players {
        match player.join() {
            Ok((name, seed, reader, wrong, ended)) => {
                if let Some(wrong) = wrong {
                    failures.push(format!(
                        "{name} (seed {seed}, reader {:.2} s): {wrong}",
                        reader.as_secs_f64()
                    ));
                } else if ended == 0 {
                    failures.push(format!("{name} (seed {seed}): no request ended"));
                }
            }
            Err(_) => failures.push("a lesson's thread panicked".to_string()),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(names.len() >= 15, "only {} lessons: {names:?}", names.len());
}

fn docs_text() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenarios.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The first TOML block of docs/scenarios.md: the annotated example lesson.
fn docs_example() -> Scenario {
    let text = docs_text();
    let block = text
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/scenarios.md has a ```toml example");
    load_str("docs/scenarios.md", block)
        .unwrap_or_else(|e| panic!("the docs' example is invalid:\n{e}"))
}

#[test]
fn the_docs_name_every_field_kind_command_and_placeholder() {
    use hopscope::scenario::{COMMAND_WORDS, Check, CheckKind, PLACEHOLDERS, Question, Step};
    let docs = docs_text();
    let missing = |what: &str, names: Vec<String>| {
        let absent: Vec<String> = names
            .into_iter()
            .filter(|n| {
                ![
                    format!("`{n}`"),
                    format!("`{n} "),
                    format!("[{n}]"),
                    format!(".{n}`"),
                    format!("{n} = "),
                ]
                .iter()
                .any(|form| docs.contains(form.as_str()))
            })
            .collect();
        assert!(
            absent.is_empty(),
            "docs/scenarios.md does not document these {what}: {absent:?}"
        );
    };
    // Every key of every section, read from a default scenario and a full step.
    fn keys(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    keys(v, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }
    let mut scenario = Scenario::default();
    scenario.profiles = hopscope::scenario::Profile::standard_set();
    scenario.events = vec![hopscope::scenario::Event {
        send: Some(Default::default()),
        ..Default::default()
    }];
    let some = Some(String::new());
    let send = Some(hopscope::scenario::SendRequest::default());
    scenario.steps = vec![Step {
        actions: vec![hopscope::scenario::Action {
            at: Some(Dur::from_secs(1)),
            action: some.clone(),
            send: send.clone(),
        }],
        buttons: vec![hopscope::scenario::Button {
            label: some.clone(),
            commands: vec![String::new()],
            send,
        }],
        keep: some.clone(),
        predict: Some(hopscope::scenario::Predict {
            ask: String::new(),
            choices: vec![String::new()],
            answer: Some(0),
            measure: Some(hopscope::scenario::Measure::P99),
            server: some.clone(),
            url: some.clone(),
            within: Some(Dur::from_secs(1)),
            explain: String::new(),
        }),
        look_at: some.clone(),
        prompt: some.clone(),
        command: some.clone(),
        time_limit: Some(Dur::from_secs(1)),
        check: Some(Check {
            kind: Some(CheckKind::Requests),
            expect: some.clone(),
            value: Some(1.0),
            count: Some(1),
            after: some.clone(),
            within: Some(Dur::from_secs(1)),
            percentile: Some(50.0),
            url: some.clone(),
            method: some.clone(),
            profile: some.clone(),
            status: some.clone(),
            server: some.clone(),
            phase: some.clone(),
            attr: some.clone(),
            success: some.clone(),
            hint: some.clone(),
        }),
        question: Some(Question::default()),
        ..Step::default()
    }];
    let mut fields = Vec::new();
    keys(
        &serde_json::to_value(&scenario).expect("serialise"),
        &mut fields,
    );
    fields.sort();
    fields.dedup();
    missing("fields", fields);
    missing(
        "check kinds",
        CheckKind::ALL
            .iter()
            .map(|k| k.name().to_string())
            .collect(),
    );
    missing(
        "prediction measures",
        hopscope::scenario::Measure::ALL
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
    );
    missing(
        "commands",
        COMMAND_WORDS.iter().map(|c| c.to_string()).collect(),
    );
    missing(
        "placeholders",
        PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect(),
    );
}

/// Each troubleshooting symptom, the marker of the fault that causes it, as the narration
/// tells it.
const SYMPTOMS: &[(&str, &str)] = &[
    ("dns_failure", "dns nxdomain"),
    ("connection_refused", "kill cdn"),
    ("timeout", "drop client 1"),
    ("400", "send POST /users"),
    ("401", "send GET /orders"),
    ("404", "send GET /restaurants/424242"),
    ("500", "error server-1 1"),
    ("502", "kill server-2"),
    ("503", "rate 150"),
];

#[test]
fn troubleshooting_produces_each_symptom_after_its_cause() {
    let last = assert_lesson_passes("troubleshooting");
    let narration = lesson("troubleshooting");
    for (symptom, cause) in SYMPTOMS {
        let outcome: Outcome = symptom.parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            narration.steps.iter().any(|s| s
                .check
                .as_ref()
                .is_some_and(|c| c.expect.as_deref() == Some(*symptom))
                && s.buttons
                    .iter()
                    .any(|b| b.texts().iter().any(|t| t == cause))),
            "no step explains {symptom} by “{cause}”"
        );
        let marker = last
            .markers
            .iter()
            .find(|m| m.text.starts_with(cause))
            .unwrap_or_else(|| panic!("the cause of {symptom}, “{cause}”, never happened"));
        let failing: Vec<_> = last
            .recent
            .iter()
            .filter(|j| j.outcome == Some(outcome))
            .collect();
        let first = failing
            .iter()
            .min_by_key(|j| j.end_micros)
            .unwrap_or_else(|| panic!("no request ended with {symptom}"));
        assert!(
            first.end_micros.is_some_and(|e| e > marker.at_micros),
            "a {symptom} ended at {:?} µs, before its cause “{}” at {} µs",
            first.end_micros,
            marker.text,
            marker.at_micros
        );
    }
}

mod guide_panel {
    //! The guide panel on its own, clicked through with egui_kittest: the app's part (the
    //! engine performing what the lesson asks) is played by the test.

    use std::sync::Arc;

    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;
    use hopscope::engine::Tokens;
    use hopscope::engine::{Addresses, Restored};
    use hopscope::lesson::{GuideCommand, ProgressStore};
    use hopscope::scenario::load_str;
    use hopscope::trace::{Journey, Outcome, Snapshot, TraceId};
    use hopscope::ui::guide::GuidePanel;
    use hopscope::ui::theme::Theme;

    const LESSON: &str = r#"
name = "tiny"
summary = "A tiny lesson for the guide panel"

[[steps]]
title = "Watch an answer"
text = "Wait for one request to come back."
look_at = "cdn"
command = "curl -H 'Host: {host}' http://{edge}/users/1"
check = { kind = "outcome", expect = "200", success = "An answer came back." }

[[steps]]
title = "Break a server"
text = "Press the button."
buttons = ["kill server-1"]

[[steps]]
title = "Who answered?"
[steps.question]
ask = "Who wrote the 502?"
choices = ["the dead server", "the load balancer"]
answer = 1
explain = "The server was gone, so the balancer answered for it."
feedback = ["It was not running.", "Yes."]
"#;

    struct State {
        panel: GuidePanel,
        snap: Snapshot,
        addresses: Addresses,
        theme: Theme,
        /// What the lesson asked of the engine, restores left out.
        performed: Vec<GuideCommand>,
    }

    /// One frame as the app runs it: the lesson ticks, its restores are done at once, the
    /// panel is drawn.
    fn frame(ui: &mut egui::Ui, s: &mut State) {
        s.panel.tick(&s.snap, s.snap.now_micros, 1.0);
        for c in s.panel.take_commands() {
            match c {
                GuideCommand::Restore { tag, .. } => s.panel.restored(
                    tag,
                    &Restored {
                        at_micros: s.snap.now_micros,
                        ..Restored::default()
                    },
                ),
                other => s.performed.push(other),
            }
        }
        s.panel.ui(ui, &s.addresses, &s.theme);
    }

    fn addresses() -> Addresses {
        Addresses {
            dns: "127.0.0.1:5300".into(),
            edge: "127.0.0.1:8080".into(),
            edge_tls: None,
            ca_cert: None,
            cdn: Some("127.0.0.1:8080".into()),
            lb: "127.0.0.1:8081".into(),
            servers: vec!["127.0.0.1:9001".into()],
            zone: "example.test".into(),
            tokens: Tokens {
                allowed: "yes".into(),
                forbidden: "no".into(),
            },
        }
    }

    fn answered(now_micros: u64) -> Snapshot {
        Snapshot {
            now_micros,
            recent: vec![Arc::new(Journey {
                id: TraceId(1),
                method: "GET".into(),
                url: "/users/1".into(),
                start_micros: now_micros - 1000,
                end_micros: Some(now_micros),
                outcome: Some(Outcome::Status(200)),
                ..Journey::default()
            })],
            ..Snapshot::default()
        }
    }

    fn harness(panel: GuidePanel) -> Harness<'static, State> {
        let state = State {
            panel,
            snap: Snapshot {
                now_micros: 1_000_000,
                ..Snapshot::default()
            },
            addresses: addresses(),
            theme: Theme::normal(),
            performed: Vec::new(),
        };
        // The size of a lesson panel beside the canvas at 1280×720.
        let mut h = Harness::builder()
            .with_size([420.0, 640.0])
            .build_ui_state(frame, state);
        h.run();
        h
    }

    #[test]
    fn next_back_buttons_and_answers_by_label_and_progress_is_offered_not_imposed() {
        let dir = std::env::temp_dir().join(format!("hopscope-guide-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = ProgressStore::at(dir.join("progress.json"));
        let scenario = load_str("tiny.toml", LESSON).expect("valid lesson");
        let mut harness = harness(GuidePanel::new(&scenario, store.clone(), false));
        harness.get_by_label("Watch an answer");
        harness.get_by_label("curl -H 'Host: api.example.test' http://127.0.0.1:8080/users/1");
        harness.get_by_label_contains("watching the trace");
        assert!(
            harness.query_by_label_contains("Resume step").is_none(),
            "nothing to resume yet"
        );
        assert_eq!(harness.state().panel.look_at(), Some("cdn"));

        // The checkpoint passes live when the trace shows it.
        harness.state_mut().snap = answered(2_000_000);
        harness.run();
        harness.get_by_label_contains("Checkpoint passed: An answer came back.");
        assert!(harness.state().panel.is_passed(0));
        harness.get_by_label("Copy").click();
        harness.run();
        harness.get_by_label("Copied");

        // Next, then the step's button.
        harness.get_by_label("Next").click();
        harness.run();
        assert_eq!(harness.state().panel.current(), 1);
        harness.get_by_label("Break a server");
        harness.get_by_label("kill server-1").click();
        harness.run();
        assert_eq!(
            harness.state().performed,
            vec![GuideCommand::Apply(
                "kill server-1".parse().expect("command")
            )]
        );

        // The question: a wrong choice, then the right one.
        harness.get_by_label("Next").click();
        harness.run();
        harness.get_by_label("Who wrote the 502?");
        harness.get_by_label("the dead server").click();
        harness.run();
        harness.get_by_label_contains("Not quite");
        harness.get_by_label("It was not running.");
        harness.get_by_label("the load balancer").click();
        harness.run();
        harness.get_by_label_contains("Right.");
        harness.get_by_label("The server was gone, so the balancer answered for it.");
        // Back restores the world the step expects, and says so.
        harness.get_by_label("Back").click();
        harness.run();
        harness.get_by_label_contains("Back to step 2");
        harness.get_by_label("Next").click();
        harness.run();
        let progress = harness.state().panel.progress();
        assert_eq!(progress.step, 2);
        assert_eq!(progress.answers.get(&2), Some(&1));
        drop(harness);

        // A new launch opens at the first step and offers to resume.
        let mut again = harness_at(&scenario, &store, false);
        assert_eq!(again.state().panel.current(), 0);
        again.get_by_label("Resume step 3").click();
        again.run();
        assert_eq!(again.state().panel.current(), 2);
        assert!(again.state().panel.is_passed(0));
        again.get_by_label_contains("Resumed at step 3");
        drop(again);
        // ... but not on a lab machine (`hopscope gui --fresh`).
        let fresh = harness_at(&scenario, &store, true);
        assert!(fresh.query_by_label_contains("Resume step").is_none());
        assert_eq!(fresh.state().panel.current(), 0);
        drop(fresh);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn harness_at(
        scenario: &hopscope::scenario::Scenario,
        store: &ProgressStore,
        fresh: bool,
    ) -> Harness<'static, State> {
        harness(GuidePanel::new(scenario, store.clone(), fresh))
    }
}
