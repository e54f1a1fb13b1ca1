//! Integration tests: lessons in the window, as a learner meets them. The whole app runs
//! headless under egui_kittest with a built-in lesson on a real engine; the tests click the
//! guide's buttons by label and check what a learner would notice: a checkpoint passes for
//! a reader who lingered on the first step long after the moments an old, launch-timed
//! lesson would have changed the world, and Start over mends a fault a step's button made.

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use hopscope::scenario::{Scenario, resolve};
use hopscope::ui::guide::GuidePanel;
use hopscope::ui::{AppOptions, HopscopeApp};

use super::gui::{run_for, wait_for};

/// How long a checkpoint may take here: a lesson step gathers real traffic.
const STEP_PATIENCE: Duration = Duration::from_secs(30);

fn lesson(name: &str) -> Scenario {
    match resolve(name) {
        Ok((s, _)) => s,
        Err(e) => panic!("built-in {name} does not load:\n{e}"),
    }
}

fn open(scenario: Scenario) -> Harness<'static, HopscopeApp> {
    let mut h = super::gui::open_window(scenario, AppOptions::default());
    wait_for(&mut h, "the lesson to show the run", |a| a.live().is_some());
    h
}

fn guide(app: &HopscopeApp) -> &GuidePanel {
    app.docks().guide.as_ref().expect("a lesson has a guide")
}

/// Clicks the button labelled `label` (not a heading that says the same).
fn press(h: &mut Harness<'_, HopscopeApp>, label: &str) {
    h.get_by_role_and_label(Role::Button, label).click();
    h.run_steps(3);
}

/// Runs frames until step `index`'s checkpoint has passed, and checks the window says so.
fn wait_passed(h: &mut Harness<'_, HopscopeApp>, index: usize, title: &str) {
    let deadline = Instant::now() + STEP_PATIENCE;
    while !guide(h.state()).is_passed(index) {
        assert!(
            Instant::now() < deadline,
            "step {} “{title}” did not pass in {STEP_PATIENCE:?}",
            index + 1
        );
        h.step();
        std::thread::sleep(Duration::from_millis(15));
    }
    h.run_steps(2);
    h.get_by_label_contains("Checkpoint passed");
}

#[test]
fn journey_read_slowly_then_every_step_passes_in_turn() {
    let scenario = lesson("journey");
    let mut h = open(scenario.clone());
    // The reader lingers on step 1 past 4 s and 7 s, when the lesson used to flush the
    // cache and re-send the request on its own: nothing happens until they press.
    run_for(&mut h, Duration::from_millis(7_500));
    assert_eq!(guide(h.state()).current(), 0);
    assert!(
        !guide(h.state()).is_passed(0),
        "step 1 waits for the learner's own request"
    );
    for (i, step) in scenario.steps.iter().enumerate() {
        assert_eq!(guide(h.state()).current(), i);
        if let Some(question) = &step.question {
            // The closing question: answered right, it says why.
            let right = &question.choices[question.answer];
            wait_for(&mut h, "the question's step to be in place", |a| {
                guide(a).walk().started_micros().is_some()
            });
            h.run_steps(2);
            h.get_by_label(right).click();
            wait_for(&mut h, "the answer to be taken", |a| {
                guide(a).progress().answers.get(&i) == Some(&question.answer)
            });
            h.run_steps(2);
            h.get_by_label_contains("Right");
            break;
        }
        for b in &step.buttons {
            let label = b.label.clone().unwrap_or_else(|| b.texts().join(" + "));
            wait_for(&mut h, "the step's button to be enabled", |a| {
                a.live().is_some_and(|l| {
                    guide(a)
                        .walk()
                        .view(&l.addresses)
                        .is_some_and(|v| v.buttons.iter().all(|b| b.enabled))
                })
            });
            press(&mut h, &label);
        }
        if step.check.is_some() {
            wait_passed(&mut h, i, &step.title);
        }
        if i + 1 < scenario.steps.len() {
            press(&mut h, "Next");
        }
    }
}

#[test]
fn troubleshooting_start_over_mends_the_fault_and_step_one_shows_200s() {
    let scenario = lesson("troubleshooting");
    let five_hundred = scenario
        .steps
        .iter()
        .position(|s| s.buttons.iter().any(|b| b.texts() == ["error server-1 1"]))
        .expect("a step whose button makes server-1 fail");
    let mut h = open(scenario.clone());
    wait_passed(&mut h, 0, &scenario.steps[0].title);
    for _ in 0..five_hundred {
        press(&mut h, "Next");
    }
    h.get_by_label(&scenario.steps[five_hundred].title);
    press(&mut h, "error server-1 1");
    wait_passed(&mut h, five_hundred, &scenario.steps[five_hundred].title);
    let failing = |a: &HopscopeApp| {
        a.live()
            .is_some_and(|l| l.snapshot.servers.iter().any(|s| s.error_rate > 0.0))
    };
    assert!(
        failing(h.state()),
        "server-1 fails every request it handles"
    );

    press(&mut h, "Start over");
    assert_eq!(guide(h.state()).current(), 0);
    wait_for(&mut h, "the note of what Start over restored", |a| {
        guide(a).walk().note().is_some()
    });
    h.run_steps(2);
    h.get_by_label_contains("Started over, restored:");
    let changes = guide(h.state())
        .walk()
        .note()
        .map(|n| n.changes.join("; "))
        .unwrap_or_default();
    assert!(
        changes.contains("server-1"),
        "the note says server-1 was mended: {changes}"
    );
    wait_for(&mut h, "no server to be failing after Start over", |a| {
        a.live().is_some() && !failing(a)
    });
    assert!(
        !guide(h.state()).is_passed(0),
        "starting over forgets the passes"
    );
    wait_passed(&mut h, 0, &scenario.steps[0].title);
    // What the step judged: the answers since it began again, all 200 OK.
    let since = guide(h.state())
        .walk()
        .started_micros()
        .expect("step 1 is running");
    let snap = h.state().live().map(|l| l.snapshot.clone()).expect("a run");
    let answers: Vec<_> = snap
        .recent
        .iter()
        .filter(|j| j.start_micros >= since && j.is_done())
        .collect();
    assert!(
        answers.len() >= 20,
        "only {} answers since Start over",
        answers.len()
    );
    let not_ok: Vec<String> = answers
        .iter()
        .filter(|j| j.outcome.and_then(|o| o.status()) != Some(200))
        .map(|j| format!("{} {} → {:?}", j.method, j.url, j.outcome))
        .collect();
    assert!(
        not_ok.is_empty(),
        "not every answer was 200 after Start over: {not_ok:?}"
    );
}
