//! Unit tests of the learner's walk through a lesson.

use std::sync::Arc;

use super::*;
use crate::engine::Addresses;
use crate::lesson::{CheckStatus, Prediction};
use crate::scenario::{Command, load_str};
use crate::trace::{Journey, Outcome, TraceId};

const LESSON: &str = r#"
name = "walk"

[servers]
count = 2

[[steps]]
title = "Break it"
text = "Kill it."
look_at = "server-1"
command = "curl http://{edge}/"
buttons = ["kill server-1"]
keep = "The next step needs it down."
check = { kind = "outcome", expect = "502", success = "Bad gateway." }

[[steps]]
title = "Post"
text = "Two seconds in, a user is posted."
actions = ["rate 5", { at = "2s", send = { method = "POST", path = "/users", body = "{}" } }]
check = { kind = "requests", success = "Sent." }

[[steps]]
title = "Guess"
text = "Add a server."
buttons = ["add server"]
predict = { ask = "p99?", measure = "p99", choices = ["up", "down"], answer = 1, explain = "More workers." }

[[steps]]
title = "Why"
question = { ask = "Who?", choices = ["server", "balancer"], answer = 1, explain = "The balancer.", feedback = ["No.", "Yes."] }
"#;

fn lesson() -> Scenario {
    load_str("walk.toml", LESSON).expect("valid lesson")
}

fn snap(now_ms: u64, ended: &[(u64, u16)]) -> Snapshot {
    Snapshot {
        now_micros: now_ms * 1000,
        recent: ended
            .iter()
            .enumerate()
            .map(|(i, (start, status))| {
                Arc::new(Journey {
                    id: TraceId(i as u128),
                    method: "GET".into(),
                    url: "/".into(),
                    start_micros: start * 1000,
                    end_micros: Some(start * 1000 + 10),
                    outcome: Some(Outcome::Status(*status)),
                    ..Journey::default()
                })
            })
            .collect(),
        ..Snapshot::default()
    }
}

fn addresses() -> Addresses {
    crate::lesson::tests::addresses()
}

/// Performs the walk's restore at `now_ms` (nothing to change) and returns the other
/// commands it queued.
fn restore(walk: &mut Walkthrough, now_ms: u64) -> Vec<GuideCommand> {
    let mut rest = Vec::new();
    for c in walk.take_commands() {
        match c {
            GuideCommand::Restore { tag, .. } => walk.restored(
                tag,
                &Restored {
                    at_micros: now_ms * 1000,
                    ..Restored::default()
                },
            ),
            other => rest.push(other),
        }
    }
    rest
}

#[test]
fn a_step_waits_for_its_button_and_judges_only_what_followed() {
    let mut walk = Walkthrough::new(&lesson(), LessonProgress::default());
    walk.tick(&snap(100, &[]), 100_000, 1.0);
    assert_eq!(
        walk.view(&addresses()).map(|v| v.status),
        Some(CheckStatus::Setup)
    );
    assert!(restore(&mut walk, 200).is_empty());
    walk.tick(&snap(1000, &[(500, 502)]), 1_000_000, 1.0);
    let view = walk.view(&addresses()).expect("a step");
    assert_eq!(view.title, "Break it");
    assert_eq!(view.command.as_deref(), Some("curl http://127.0.0.1:8080/"));
    assert_eq!(view.look_at, Some(("server-1".into(), "server-1".into())));
    assert!(
        matches!(&view.status, CheckStatus::Waiting { missing, .. } if missing.contains("press “kill server-1”")),
        "{:?}",
        view.status
    );
    walk.press(0, 1_200_000);
    assert_eq!(
        walk.take_commands(),
        vec![GuideCommand::Apply(Command::Kill(
            crate::scenario::Target::Server(1)
        ))]
    );
    // The 502 that began before the press does not count; the one after does.
    walk.tick(&snap(1250, &[(500, 502), (1100, 502)]), 1_250_000, 1.0);
    assert!(!walk.is_passed(0));
    walk.tick(&snap(1500, &[(500, 502), (1300, 502)]), 1_500_000, 1.0);
    assert!(walk.is_passed(0));
    assert!(walk.take_changed());
    let view = walk.view(&addresses()).expect("a step");
    assert!(
        matches!(&view.status, CheckStatus::Passed { success, .. } if success == "Bad gateway."),
        "{:?}",
        view.status
    );
    assert_eq!(view.done, 1);
}

#[test]
fn a_steps_actions_play_on_its_own_clock_and_moving_on_restores_its_world() {
    let mut walk = Walkthrough::new(&lesson(), LessonProgress::default());
    let _ = restore(&mut walk, 0);
    walk.next();
    let commands = walk.take_commands();
    let [GuideCommand::Restore { world, scope, tag }] = commands.as_slice() else {
        panic!("{commands:?}");
    };
    // The kept button of step 1 is part of step 2's world; moving on restores only what
    // the lesson changes.
    assert!(!world.servers[&1].alive);
    assert!(scope.wants("server-1") && !scope.wants("time_scale"));
    // Reading step 1 for a minute changes nothing: step 2's clock starts when it does.
    walk.restored(
        *tag,
        &Restored {
            at_micros: 60_000_000,
            ..Restored::default()
        },
    );
    walk.tick(&snap(60_000, &[]), 60_000_000, 1.0);
    assert_eq!(
        walk.take_commands(),
        vec![GuideCommand::Apply(Command::Rate(5.0))]
    );
    walk.tick(&snap(61_000, &[]), 61_000_000, 1.0);
    assert!(walk.take_commands().is_empty(), "the send is due at 2 s");
    let view = walk.view(&addresses()).expect("a step");
    assert_eq!(
        view.timeline,
        ["done: rate 5", "2.0 s in: send POST /users"]
    );
    // A time scale of 2 stretches the step's clock.
    walk.tick(&snap(62_000, &[]), 62_000_000, 2.0);
    assert!(walk.take_commands().is_empty());
    walk.tick(&snap(63_000, &[]), 63_000_000, 2.0);
    match walk.take_commands().as_slice() {
        [GuideCommand::Send(req)] => assert_eq!(req.body.as_deref(), Some("{}")),
        other => panic!("{other:?}"),
    }
    // Going back restores every setting, and says what it did.
    walk.back();
    let commands = walk.take_commands();
    let [GuideCommand::Restore { world, scope, tag }] = commands.as_slice() else {
        panic!("{commands:?}");
    };
    assert!(world.servers[&1].alive);
    assert!(scope.wants("time_scale"));
    walk.restored(
        *tag,
        &Restored {
            changes: vec!["server-1 running again".into()],
            at_micros: 70_000_000,
            ..Restored::default()
        },
    );
    assert_eq!(
        walk.view(&addresses()).and_then(|v| v.note).as_deref(),
        Some("Back to step 1, restored: server-1 running again.")
    );
}

#[test]
fn a_prediction_comes_before_the_action_and_is_measured_after_it() {
    let mut walk = Walkthrough::new(&lesson(), LessonProgress::default());
    let _ = restore(&mut walk, 0);
    walk.next();
    walk.next();
    let _ = restore(&mut walk, 1000);
    let view = walk.view(&addresses()).expect("a step");
    assert!(!view.buttons[0].enabled, "no button before the prediction");
    walk.press(0, 1_100_000);
    assert!(walk.take_commands().is_empty());
    walk.predict(Prediction::Choice(1));
    walk.press(0, 2_000_000);
    assert_eq!(
        walk.take_commands(),
        vec![GuideCommand::Apply(Command::AddServer)]
    );
    // Slow before the action, fast after it.
    let mut ended: Vec<Arc<Journey>> = Vec::new();
    for i in 0..10u64 {
        for (start, latency) in [(1_000 + i * 50, 300), (6_000 + i * 50, 40)] {
            ended.push(Arc::new(Journey {
                id: TraceId(ended.len() as u128),
                start_micros: start * 1000,
                end_micros: Some((start + latency) * 1000),
                outcome: Some(Outcome::Status(200)),
                ..Journey::default()
            }));
        }
    }
    let s = Snapshot {
        now_micros: 9_000_000,
        recent: ended,
        ..Snapshot::default()
    };
    walk.tick(&s, 9_000_000, 1.0);
    let p = walk
        .view(&addresses())
        .and_then(|v| v.predict)
        .expect("a prediction");
    assert_eq!(p.predicted.as_deref(), Some("down"));
    assert_eq!(p.right, Some(true));
    assert_eq!(
        p.measured.as_deref(),
        Some("P99 latency: 300 ms before, 40 ms after (−87 %)")
    );
}

#[test]
fn answers_give_feedback_and_saved_progress_waits_for_resume() {
    let mut walk = Walkthrough::new(&lesson(), LessonProgress::default());
    for _ in 0..5 {
        walk.next(); // past the last step: stays
    }
    let _ = restore(&mut walk, 0);
    let view = walk.view(&addresses()).expect("a step");
    assert!(!view.can_next && view.can_back);
    assert_eq!(view.question.as_ref().and_then(|q| q.right), None);
    walk.answer(0);
    let q = walk
        .view(&addresses())
        .and_then(|v| v.question)
        .expect("question");
    assert_eq!(
        (q.chosen, q.right, q.feedback.as_deref()),
        (Some(0), Some(false), Some("No."))
    );
    walk.answer(1);
    walk.answer(7); // not a choice: ignored
    let saved = walk.progress();
    assert_eq!(saved.step, 3);
    // A new launch opens at the first step and offers to resume.
    let mut again = Walkthrough::new(&lesson(), saved.clone());
    assert_eq!(again.current(), 0);
    assert_eq!(again.view(&addresses()).and_then(|v| v.resume), Some(4));
    again.resume();
    assert_eq!(again.current(), 3);
    assert_eq!(again.progress(), saved);
    assert_eq!(again.view(&addresses()).and_then(|v| v.resume), None);
    again.restart();
    assert_eq!(again.progress(), LessonProgress::default());
    // Without saved progress there is nothing to resume.
    let fresh = Walkthrough::new(&lesson(), LessonProgress::default());
    assert_eq!(fresh.view(&addresses()).and_then(|v| v.resume), None);
}
