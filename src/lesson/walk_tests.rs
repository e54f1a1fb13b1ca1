//! Unit tests of the learner's walk through a lesson.

use std::sync::Arc;

use super::*;
use crate::scenario::{Check, CheckKind, Event, Question, Step};
use crate::trace::{Journey, Outcome, TraceId};

fn lesson() -> Scenario {
    Scenario {
        name: "walk".into(),
        events: vec![Event {
            at: Some(crate::scenario::Dur::from_secs(2)),
            send: Some(SendRequest {
                method: "POST".into(),
                path: "/users".into(),
                body: Some("{}".into()),
                ..SendRequest::default()
            }),
            ..Event::default()
        }],
        steps: vec![
            Step {
                title: "Break it".into(),
                text: "Kill it.".into(),
                look_at: Some("server-1".into()),
                command: Some("curl http://{edge}/".into()),
                expects: vec!["kill server-1".into()],
                check: Some(Check {
                    kind: Some(CheckKind::Outcome),
                    expect: Some("502".into()),
                    success: Some("Bad gateway.".into()),
                    ..Check::default()
                }),
                ..Step::default()
            },
            Step {
                title: "Post".into(),
                text: "Send it.".into(),
                expects: vec!["send POST /users".into()],
                ..Step::default()
            },
            Step {
                title: "Why".into(),
                question: Some(Question {
                    ask: "Who?".into(),
                    choices: vec!["server".into(), "balancer".into()],
                    answer: 1,
                    explain: "The balancer.".into(),
                    feedback: vec!["No.".into(), "Yes.".into()],
                }),
                ..Step::default()
            },
        ],
        ..Scenario::default()
    }
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

#[test]
fn a_checkpoint_passes_once_and_stays_passed() {
    let mut walk = Walkthrough::new(&lesson(), LessonProgress::default());
    walk.observe(&snap(1000, &[(500, 502)]));
    let view = walk.view(&addresses()).expect("a step");
    assert_eq!(view.title, "Break it");
    assert_eq!(view.command.as_deref(), Some("curl http://127.0.0.1:8080/"));
    assert_eq!(view.look_at, Some(("server-1".into(), "server-1".into())));
    assert!(
        matches!(&view.status, CheckStatus::Waiting { missing, .. } if missing.contains("502")),
        "the 502 before the step began does not count: {:?}",
        view.status
    );
    assert_eq!(
        walk.act("kill server-1", 1200),
        Some(GuideCommand::Apply(
            "kill server-1".parse().expect("command")
        ))
    );
    walk.observe(&snap(1500, &[(500, 502), (1300, 502)]));
    assert!(walk.is_passed(0));
    assert!(walk.take_changed());
    walk.observe(&snap(2000, &[]));
    let view = walk.view(&addresses()).expect("a step");
    assert!(
        matches!(&view.status, CheckStatus::Passed { success, .. } if success == "Bad gateway."),
        "{:?}",
        view.status
    );
    assert_eq!(view.done, 1);
}

#[test]
fn a_scripted_send_is_replayed_with_its_body() {
    let mut walk = Walkthrough::new(&lesson(), LessonProgress::default());
    walk.next();
    let view = walk.view(&addresses()).expect("a step");
    assert_eq!(view.actions[0].label, "send POST /users");
    assert_eq!(view.actions[0].scripted.as_deref(), Some("at 2.0 s"));
    match walk.act("send POST /users", 10) {
        Some(GuideCommand::Send(req)) => assert_eq!(req.body.as_deref(), Some("{}")),
        other => panic!("{other:?}"),
    }
    assert_eq!(walk.act("not a command", 10), None);
}

#[test]
fn answers_give_feedback_and_progress_round_trips() {
    let mut walk = Walkthrough::new(&lesson(), LessonProgress::default());
    walk.next();
    walk.next();
    walk.next(); // already at the last step: stays
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
    let q = walk
        .view(&addresses())
        .and_then(|v| v.question)
        .expect("question");
    assert_eq!(
        (q.right, q.explain.as_deref()),
        (Some(true), Some("The balancer."))
    );
    let saved = walk.progress();
    assert_eq!(saved.step, 2);
    let again = Walkthrough::new(&lesson(), saved.clone());
    assert_eq!(again.current(), 2);
    assert_eq!(again.progress(), saved);
    let mut walk = again;
    walk.restart();
    assert_eq!(walk.progress(), LessonProgress::default());
    walk.back();
    assert_eq!(walk.current(), 0);
}
