//! Unit tests of headless narration, against a scripted fake run.

use std::sync::Mutex;

use super::*;
use crate::engine::Restored;
use crate::engine::Tokens;
use crate::lesson::GuideCommand;
use crate::trace::{Journey, Marker, TraceId};

/// A fake run whose clock moves 100 ms per snapshot. Once `kill server-1` is performed,
/// a request that begins 100 ms later ends in a 502 100 ms after that.
struct Fake {
    calls: Mutex<u64>,
    killed: Mutex<Option<u64>>,
    performed: Mutex<Vec<String>>,
}

impl Fake {
    fn new() -> Fake {
        Fake {
            calls: Mutex::new(0),
            killed: Mutex::new(None),
            performed: Mutex::new(Vec::new()),
        }
    }
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
        if let Some(at) = *self.killed.lock().expect("lock") {
            snap.markers = Arc::new(vec![Marker {
                at_micros: at,
                component: None,
                text: "kill server-1".into(),
            }]);
            if now >= at + 200_000 {
                snap.recent = vec![Arc::new(Journey {
                    id: TraceId(1),
                    method: "GET".into(),
                    url: "/users/1".into(),
                    start_micros: at + 100_000,
                    end_micros: Some(at + 200_000),
                    outcome: Some(crate::trace::Outcome::Status(502)),
                    ..Journey::default()
                })];
            }
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

    fn now_micros(&self) -> u64 {
        *self.calls.lock().expect("lock") * 100_000
    }

    fn time_scale(&self) -> f64 {
        1.0
    }

    fn perform(&self, ops: Vec<GuideCommand>) -> Vec<(u64, Restored)> {
        let now = self.now_micros();
        let mut out = Vec::new();
        for op in ops {
            match op {
                GuideCommand::Restore { tag, .. } => {
                    self.performed.lock().expect("lock").push("restore".into());
                    out.push((
                        tag,
                        Restored {
                            at_micros: now,
                            ..Restored::default()
                        },
                    ));
                }
                GuideCommand::Apply(c) => {
                    if c.to_string() == "kill server-1" {
                        *self.killed.lock().expect("lock") = Some(now);
                    }
                    self.performed.lock().expect("lock").push(c.to_string());
                }
                GuideCommand::Send(r) => self
                    .performed
                    .lock()
                    .expect("lock")
                    .push(format!("send {} {}", r.method, r.path)),
                GuideCommand::SendPlanned { .. }
                | GuideCommand::Step
                | GuideCommand::ReleaseSteps => {
                    unreachable!("a lesson asks for no stepping: {op:?}")
                }
            }
        }
        out
    }
}

const LESSON: &str = r#"
name = "fake"

[[steps]]
title = "Break it"
text = "Kill the only server and watch the load balancer answer for it."
look_at = "server-1"
command = "curl http://{edge}/users/1"
buttons = ["kill server-1"]
check = { kind = "outcome", expect = "502", success = "The load balancer said 502 Bad Gateway." }

[[steps]]
title = "Why"
question = { ask = "Who wrote the 502?", choices = ["the server", "the load balancer"], answer = 1, explain = "The server was gone; the balancer answered." }

[[steps]]
title = "Never"
text = "This one waits for something that never comes."
actions = [{ at = "1s", do = "rate 5" }]
check = { kind = "outcome", expect = "dns_failure", hint = "Try dns nxdomain." }
"#;

fn lesson() -> Scenario {
    crate::scenario::load_str("fake.toml", LESSON).expect("valid lesson")
}

#[test]
fn narration_prints_each_step_judges_it_and_reports() {
    let fake = Fake::new();
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
    assert!(text.contains("button: kill server-1"), "{text}");
    assert!(text.contains("pressed: kill server-1"), "{text}");
    assert!(text.contains("the step does, 1.0 s in: rate 5"), "{text}");
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
    // The 502 was judged on what followed the press, after the step became current.
    let first = &report.steps[0];
    assert!(first.judged_from_micros >= Some(first.became_current_micros));
    let performed = fake.performed.lock().expect("lock").clone();
    assert_eq!(performed[..2], ["restore", "kill server-1"]);
    assert!(performed.contains(&"rate 5".to_string()), "{performed:?}");
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
    let fake = Fake::new();
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
