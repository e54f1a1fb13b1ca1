//! Unit tests of headless narration, against a scripted fake run.

use std::sync::Mutex;

use super::*;
use crate::engine::topology::Tokens;
use crate::scenario::{Check, CheckKind, Event};
use crate::trace::{Journey, Marker, TraceId};

/// A fake run whose clock moves 100 ms per snapshot; a 502 ends at 0.5 s, after a
/// `kill server-1` marker at 0.3 s.
struct Fake {
    calls: Mutex<u64>,
}

impl Live for Fake {
    fn snapshot(&self) -> Arc<Snapshot> {
        let mut calls = self.calls.lock().expect("lock");
        *calls += 1;
        let now = *calls * 100_000;
        let mut snap = Snapshot {
            now_micros: now,
            ..Snapshot::default()
        };
        if now >= 300_000 {
            snap.markers = Arc::new(vec![Marker {
                at_micros: 300_000,
                component: None,
                text: "kill server-1".into(),
            }]);
        }
        if now >= 500_000 {
            snap.recent = vec![Arc::new(Journey {
                id: TraceId(1),
                method: "GET".into(),
                url: "/users/1".into(),
                start_micros: 400_000,
                end_micros: Some(500_000),
                outcome: Some(crate::trace::Outcome::Status(502)),
                ..Journey::default()
            })];
        }
        Arc::new(snap)
    }

    fn addresses(&self) -> Addresses {
        Addresses {
            dns: "127.0.0.1:53".into(),
            edge: "127.0.0.1:80".into(),
            edge_tls: None,
            ca_cert: None,
            cdn: None,
            lb: "127.0.0.1:80".into(),
            servers: vec!["127.0.0.1:81".into()],
            zone: "example.test".into(),
            tokens: Tokens {
                allowed: "a".into(),
                forbidden: "f".into(),
            },
        }
    }
}

fn lesson() -> Scenario {
    Scenario {
        name: "fake".into(),
        events: vec![Event {
            at: Some(crate::scenario::Dur::from_secs(3)),
            action: Some("kill server-1".into()),
            ..Event::default()
        }],
        steps: vec![
            Step {
                title: "Break it".into(),
                text: "Kill the only server and watch the load balancer answer for it.".into(),
                look_at: Some("server-1".into()),
                command: Some("curl http://{edge}/users/1".into()),
                expects: vec!["kill server-1".into()],
                check: Some(Check {
                    kind: Some(CheckKind::Outcome),
                    expect: Some("502".into()),
                    success: Some("The load balancer said 502 Bad Gateway.".into()),
                    ..Check::default()
                }),
                ..Step::default()
            },
            Step {
                title: "Why".into(),
                question: Some(crate::scenario::Question {
                    ask: "Who wrote the 502?".into(),
                    choices: vec!["the server".into(), "the load balancer".into()],
                    answer: 1,
                    explain: "The server was gone; the balancer answered.".into(),
                    feedback: vec![],
                }),
                ..Step::default()
            },
            Step {
                title: "Never".into(),
                text: "This one waits for something that never comes.".into(),
                check: Some(Check {
                    kind: Some(CheckKind::Outcome),
                    expect: Some("dns_failure".into()),
                    hint: Some("Try dns nxdomain.".into()),
                    ..Check::default()
                }),
                ..Step::default()
            },
        ],
        ..Scenario::default()
    }
}

#[test]
fn narration_prints_each_step_judges_it_and_reports() {
    let fake = Fake {
        calls: Mutex::new(0),
    };
    let options = NarrateOptions {
        step_cap: Some(Duration::from_millis(300)),
        poll: Duration::from_millis(1),
        ..NarrateOptions::default()
    };
    let mut out = Vec::new();
    let report = narrate(&lesson(), &fake, &options, &mut out).expect("narrate");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.contains("── Step 1/3 · Break it"), "{text}");
    assert!(
        text.contains("$ curl http://127.0.0.1:80/users/1"),
        "{text}"
    );
    assert!(
        text.contains("press: kill server-1 (the scenario does it at 3.0 s if nobody does)"),
        "{text}"
    );
    assert!(
        text.contains("✓ The load balancer said 502 Bad Gateway."),
        "{text}"
    );
    assert!(text.contains("b) the load balancer  ← right"), "{text}");
    assert!(text.contains("✗ not seen within 0 s"), "{text}");
    assert!(text.contains("Try dns nxdomain."), "{text}");
    assert_eq!(report.checkpoints(), (1, 2));
    assert!(!report.all_passed());
    assert_eq!(
        report.verdict(),
        "1 of 2 checkpoints passed; missed: step 3 “Never”"
    );
    assert_eq!(report.steps[1].result, StepResult::Asked);
}

#[test]
fn wrapping_keeps_words_whole_and_paragraphs_apart() {
    let text = "one two three four five six seven eight nine ten eleven twelve\n\nnext";
    let wrapped = wrap(text, 20, "  ");
    for line in wrapped.lines() {
        assert!(line.chars().count() <= 20, "{line:?}");
    }
    assert!(wrapped.contains("\n\n  next"), "{wrapped}");
    assert_eq!(describe_look_at("plot:hit_ratio"), "the hit ratio plot");
}

#[test]
fn a_huge_time_scale_does_not_panic() {
    let fake = Fake {
        calls: Mutex::new(0),
    };
    let mut lesson = lesson();
    lesson.time_scale = 1e300;
    let options = NarrateOptions {
        step_cap: Some(Duration::from_millis(50)),
        poll: Duration::from_millis(1),
        ..NarrateOptions::default()
    };
    let report = narrate(&lesson, &fake, &options, &mut Vec::new()).expect("narrate");
    assert_eq!(report.steps.len(), 3);
}
