//! Integration tests: lessons. Every built-in scenario validates and runs headless; every
//! lesson's checkpoints pass when it is played without a learner (the scenario's own events
//! do the actions, narration judges each checkpoint from the live trace, as
//! `hopscope run --narrate` does); and each troubleshooting symptom is produced for real,
//! after the fault the narration names as its cause.
//!
//! Lessons run a few at a time (they are real traffic on a shared machine), each step
//! within a capped time limit.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use hopscope::engine::{Engine, EngineOptions};
use hopscope::lesson::{NarrateOptions, Report, narrate};
use hopscope::scenario::{BUILTINS, Dur, Scenario, load_str, resolve};
use hopscope::trace::{Outcome, Snapshot};

/// Lessons played at once at most.
const AT_ONCE: usize = 5;
/// The longest any one checkpoint may take here.
const STEP_CAP: Duration = Duration::from_secs(15);

static SLOTS: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// A turn to run a lesson; the next one may start when it is dropped.
struct Turn;

impl Turn {
    fn take() -> Turn {
        let (lock, cv) = &SLOTS;
        let mut running = lock.lock().unwrap_or_else(|e| e.into_inner());
        while *running >= AT_ONCE {
            running = cv.wait(running).unwrap_or_else(|e| e.into_inner());
        }
        *running += 1;
        Turn
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let (lock, cv) = &SLOTS;
        let mut running = lock.lock().unwrap_or_else(|e| e.into_inner());
        *running -= 1;
        cv.notify_one();
    }
}

fn lesson(name: &str) -> Scenario {
    match resolve(name) {
        Ok((s, _)) => s,
        Err(e) => panic!("built-in {name} does not load:\n{e}"),
    }
}

/// Plays `name` unattended; returns the report, the printed narration and the last snapshot.
fn play(name: &str) -> (Report, String, Arc<Snapshot>) {
    play_scenario(lesson(name))
}

/// Plays `scenario` unattended.
fn play_scenario(scenario: Scenario) -> (Report, String, Arc<Snapshot>) {
    let name = scenario.name.clone();
    let name = name.as_str();
    assert!(!scenario.steps.is_empty(), "{name} has no steps");
    let _turn = Turn::take();
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
        step_cap: Some(STEP_CAP),
        ..NarrateOptions::default()
    };
    let mut out = Vec::new();
    let report = narrate(&scenario, &engine, &options, &mut out)
        .unwrap_or_else(|e| panic!("{name}: narration failed to print: {e}"));
    let last = engine.stop();
    let text = String::from_utf8_lossy(&out).into_owned();
    eprintln!(
        "{name}: {} in {:.1} s",
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
        let _turn = Turn::take();
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

/// Every lesson but troubleshooting (tested on its own below), played a few at a time in
/// threads of this one test: the test harness alone would run only as many tests at once as
/// there are cores, and a lesson mostly waits for its scripted events.
#[test]
fn every_lesson_passes_unattended() {
    let mut lessons: Vec<Scenario> = BUILTINS
        .iter()
        .map(|b| lesson(b.name))
        .filter(|s| s.name != "troubleshooting" && !s.steps.is_empty())
        .collect();
    let names: Vec<String> = lessons.iter().map(|s| s.name.clone()).collect();
    // The annotated example of docs/scenarios.md plays as well as the built-ins.
    lessons.push(docs_example());
    let players: Vec<_> = lessons
        .into_iter()
        .map(|scenario| {
            let name = scenario.name.clone();
            std::thread::Builder::new()
                .name(format!("lesson-{name}"))
                .spawn(move || {
                    let (report, text, last) = play_scenario(scenario);
                    (name, report, text, last.totals.ended)
                })
                .unwrap_or_else(|e| panic!("cannot start a thread for a lesson: {e}"))
        })
        .collect();
    let mut failures = Vec::new();
    for player in players {
        match player.join() {
            Ok((name, report, text, ended)) => {
                if !report.all_passed() || ended == 0 {
                    failures.push(format!("{name}: {}\n{text}", report.verdict()));
                }
            }
            Err(_) => failures.push("a lesson's thread panicked".to_string()),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(names.len() >= 12, "only {} lessons: {names:?}", names.len());
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
    scenario.steps = vec![Step {
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
                && s.expects.iter().any(|e| e == cause)),
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
            .min_by_key(|j| j.start_micros)
            .unwrap_or_else(|| panic!("no request ended with {symptom}"));
        assert!(
            first.start_micros + 50_000 >= marker.at_micros,
            "a {symptom} began at {} µs, before its cause “{}” at {} µs",
            first.start_micros,
            marker.text,
            marker.at_micros
        );
        assert!(
            first.end_micros.is_some_and(|e| e > marker.at_micros),
            "{symptom} ended before its cause"
        );
    }
}

mod guide_panel {
    //! The guide panel on its own, clicked through with egui_kittest.

    use std::sync::Arc;

    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;
    use hopscope::engine::Addresses;
    use hopscope::engine::topology::Tokens;
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
expects = ["kill server-1"]

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

    #[test]
    fn next_back_actions_and_answers_by_label_and_progress_is_remembered() {
        let dir = std::env::temp_dir().join(format!("hopscope-guide-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = ProgressStore::at(dir.join("progress.json"));
        let scenario = load_str("tiny.toml", LESSON).expect("valid lesson");
        let state = State {
            panel: GuidePanel::new(&scenario, store.clone()),
            snap: Snapshot {
                now_micros: 1_000_000,
                ..Snapshot::default()
            },
            addresses: addresses(),
            theme: Theme::normal(),
        };
        let mut harness = Harness::new_ui_state(
            |ui, s: &mut State| s.panel.ui(ui, &s.snap, &s.addresses, &s.theme),
            state,
        );
        harness.run();
        harness.get_by_label("Watch an answer");
        harness.get_by_label("curl -H 'Host: api.example.test' http://127.0.0.1:8080/users/1");
        harness.get_by_label_contains("watching the trace");
        assert_eq!(harness.state().panel.look_at(), Some("cdn"));

        // The checkpoint passes live when the trace shows it.
        harness.state_mut().snap = answered(2_000_000);
        harness.run();
        harness.get_by_label_contains("Checkpoint passed: An answer came back.");
        assert!(harness.state().panel.is_passed(0));
        harness.get_by_label("Copy").click();
        harness.run();
        harness.get_by_label("Copied");

        // Next, then the step's action button.
        harness.get_by_label("Next").click();
        harness.run();
        assert_eq!(harness.state().panel.current(), 1);
        harness.get_by_label("Break a server");
        harness.get_by_label("kill server-1").click();
        harness.run();
        let commands = harness.state_mut().panel.take_commands();
        assert_eq!(
            commands,
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
        harness.get_by_label("Back").click();
        harness.run();
        harness.get_by_label("Next").click();
        harness.run();
        let progress = harness.state().panel.progress();
        assert_eq!(progress.step, 2);
        assert_eq!(progress.answers.get(&2), Some(&1));
        drop(harness);

        // A new launch resumes where the learner left off.
        let again = GuidePanel::new(&scenario, store.clone());
        assert_eq!(again.current(), 2);
        assert!(again.is_passed(0));
        assert_eq!(store.lesson("tiny").answers.get(&2), Some(&1));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
