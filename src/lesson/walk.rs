//! A learner's walk through a lesson, and the lesson driving the world as it goes. Without
//! any drawing: which step is current, the world it expects (restored on entry), the
//! actions it plays on its own clock (timed from when it became current), the buttons
//! pressed, the prediction made, the checkpoint judged (a pass stays passed) and the
//! answers given.
//!
//! The walk never touches the engine: it queues `GuideCommand`s (`take_commands`), which
//! the window or the command line performs in order, and is told when a restore is done
//! (`restored`). Time comes in with each `tick`, so all of it is testable as data.

use std::collections::BTreeMap;

use super::GuideCommand;
use super::check::{Context, Verdict, evaluate};
use super::plan::{action_ops, button_ops, expected_world, forward_scope, full_scope};
use super::predict::{Measured, Prediction, measure};
use super::progress::LessonProgress;
use crate::engine::Restored;
use crate::scenario::{Measure, Scenario, Scope, Step};
use crate::trace::Snapshot;

/// Why the world was restored, for the note that says what changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    /// The lesson opened (nothing to say unless something changed).
    Open,
    /// The learner moved on.
    Next,
    /// The learner went back.
    Back,
    /// The learner started over.
    StartOver,
    /// The learner resumed where they left off.
    Resume,
}

/// What a restore changed, shown once on the step it was done for.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub turn: Turn,
    /// In words, one per change.
    pub changes: Vec<String>,
    /// Changes that could not be made.
    pub failed: Vec<String>,
}

/// The current step, once its world is in place.
#[derive(Clone, Debug)]
pub(super) struct Run {
    /// When the step became current (µs since the run started).
    pub started_micros: u64,
    last_micros: u64,
    /// Simulated seconds since the step became current (or since the prediction, while
    /// the step's actions wait for it).
    pub sim_secs: f64,
    /// Which of the step's actions have been played, and when.
    pub fired: Vec<Option<u64>>,
    /// The step's own action, once done: when it began (a press, or the first of the
    /// step's actions), and what.
    pub acted: Option<(u64, String)>,
    pub pressed: bool,
}

#[derive(Clone, Debug)]
pub(super) enum Stage {
    /// Waiting for the world to be restored (the restore's tag).
    Restoring {
        tag: u64,
        turn: Turn,
    },
    Running(Run),
}

/// A learner's walk through one lesson.
#[derive(Clone, Debug)]
pub struct Walkthrough {
    pub(super) scenario: Scenario,
    pub(super) current: usize,
    pub(super) stage: Stage,
    /// Markers before this are not anchors: the lesson began or started over here.
    pub(super) floor_micros: u64,
    pub(super) passed: BTreeMap<usize, String>,
    pub(super) answers: BTreeMap<usize, usize>,
    pub(super) predictions: BTreeMap<usize, Prediction>,
    pub(super) measured: BTreeMap<usize, Measured>,
    pub(super) verdict: Option<Verdict>,
    pub(super) note: Option<Note>,
    /// Saved progress from an earlier session, offered as "Resume".
    pub(super) saved: Option<LessonProgress>,
    outbox: Vec<GuideCommand>,
    next_tag: u64,
    changed: bool,
}

impl Walkthrough {
    /// A walk through `scenario` from its first step; `saved` (an earlier session's
    /// progress) is offered for resuming, never taken without asking.
    pub fn new(scenario: &Scenario, saved: LessonProgress) -> Walkthrough {
        let saved = saved.fit(scenario.steps.len());
        let has_progress = saved.step > 0 || !saved.passed.is_empty() || !saved.answers.is_empty();
        let mut walk = Walkthrough {
            scenario: scenario.clone(),
            current: 0,
            stage: Stage::Restoring {
                tag: 0,
                turn: Turn::Open,
            },
            floor_micros: 0,
            passed: BTreeMap::new(),
            answers: BTreeMap::new(),
            predictions: BTreeMap::new(),
            measured: BTreeMap::new(),
            verdict: None,
            note: None,
            saved: has_progress.then_some(saved),
            outbox: Vec::new(),
            next_tag: 0,
            changed: false,
        };
        walk.enter(0, Turn::Open);
        walk
    }

    /// The lesson's name (its key in the progress file).
    pub fn lesson(&self) -> &str {
        &self.scenario.name
    }

    /// The scenario walked through.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The current step (0-based).
    pub fn current(&self) -> usize {
        self.current
    }

    /// The current step.
    pub fn step(&self) -> Option<&Step> {
        self.scenario.steps.get(self.current)
    }

    /// Whether step `index`'s checkpoint has passed.
    pub fn is_passed(&self, index: usize) -> bool {
        self.passed.contains_key(&index)
    }

    /// What was measured for step `index`'s prediction, once it was.
    pub fn measured(&self, index: usize) -> Option<&Measured> {
        self.measured.get(&index)
    }

    /// What the latest restore changed, while its step is current.
    pub fn note(&self) -> Option<&Note> {
        self.note.as_ref()
    }

    /// When the current step became current (µs since the run started), once its world
    /// is in place.
    pub fn started_micros(&self) -> Option<u64> {
        match &self.stage {
            Stage::Running(run) => Some(run.started_micros),
            Stage::Restoring { .. } => None,
        }
    }

    /// What the current step points at (`cdn`, `server-2`, `plot:latency`, `request`).
    pub fn look_at(&self) -> Option<&str> {
        self.step()?.look_at.as_deref()
    }

    /// Saved progress from an earlier session, while it may be resumed.
    pub fn resumable(&self) -> Option<&LessonProgress> {
        self.saved.as_ref()
    }

    /// What to remember between launches.
    pub fn progress(&self) -> LessonProgress {
        LessonProgress {
            step: self.current,
            passed: self.passed.keys().copied().collect(),
            answers: self.answers.clone(),
        }
    }

    /// Whether the progress changed since the last call (then it should be saved).
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// What the lesson asks of the engine, in order.
    #[must_use]
    pub fn take_commands(&mut self) -> Vec<GuideCommand> {
        std::mem::take(&mut self.outbox)
    }

    /// The context the current step's checkpoint is judged in, once the step runs.
    pub fn context(&self) -> Option<Context> {
        let Stage::Running(run) = &self.stage else {
            return None;
        };
        let step = self.step()?;
        Some(Context {
            since_micros: run.started_micros,
            floor_micros: self.floor_micros,
            scale: self.scenario.time_scale.max(1.0),
            acted: run.acted.clone(),
            awaiting: self.awaiting(step, run),
        })
    }

    /// What the step waits for before its checkpoint can be judged, in words.
    fn awaiting(&self, step: &Step, run: &Run) -> Option<String> {
        if self.prediction_pending() {
            return Some("your prediction".into());
        }
        if !step.buttons.is_empty() && !run.pressed {
            return Some(match step.buttons.as_slice() {
                [one] => format!("you to press “{}”", one.label()),
                _ => "you to press one of the step's buttons".into(),
            });
        }
        let next = step
            .actions
            .iter()
            .zip(&run.fired)
            .find(|(_, fired)| fired.is_none());
        next.map(|(a, _)| {
            let due = a.at.map_or(0.0, |d| d.get().as_secs_f64());
            let left = (due - run.sim_secs).max(0.0);
            format!("“{}” (in {left:.1} s)", a.text())
        })
    }

    /// Whether the current step asks for a prediction not made yet (its buttons wait and
    /// its actions hold until then).
    pub fn prediction_pending(&self) -> bool {
        self.step().is_some_and(|s| s.predict.is_some())
            && !self.predictions.contains_key(&self.current)
    }

    /// Advances the step's clock to `now_micros`, plays the actions that are due, judges
    /// the checkpoint against `snap` (a pass is kept) and measures the prediction once the
    /// checkpoint passed. `scale` is the time scale now.
    pub fn tick(&mut self, snap: &Snapshot, now_micros: u64, scale: f64) {
        let held = self.prediction_pending();
        let Some(step) = self.scenario.steps.get(self.current).cloned() else {
            return;
        };
        let Stage::Running(run) = &mut self.stage else {
            self.verdict = Some(Verdict::Waiting("setting up this step…".into()));
            return;
        };
        let elapsed = now_micros.saturating_sub(run.last_micros);
        run.last_micros = run.last_micros.max(now_micros);
        if !held {
            run.sim_secs += elapsed as f64 / 1e6 / scale.max(1.0);
        }
        for (i, action) in step.actions.iter().enumerate() {
            let due = action.at.map_or(0.0, |d| d.get().as_secs_f64());
            if held || run.fired[i].is_some() || due > run.sim_secs + 1e-9 {
                continue;
            }
            run.fired[i] = Some(now_micros);
            if !run.pressed {
                // What the step does by itself is one story: the window starts with its
                // first action, once the last has been played.
                let first = run
                    .fired
                    .iter()
                    .flatten()
                    .min()
                    .copied()
                    .unwrap_or(now_micros);
                let text = if step.actions.len() > 1 {
                    "the step's actions".to_string()
                } else {
                    action.text()
                };
                run.acted = Some((first, text));
            }
            self.outbox.extend(action_ops(action));
        }
        self.judge(&step, snap);
    }

    fn judge(&mut self, step: &Step, snap: &Snapshot) {
        let Some(ctx) = self.context() else {
            return;
        };
        if let Some(check) = &step.check
            && !self.passed.contains_key(&self.current)
        {
            let verdict = evaluate(check, snap, &ctx);
            if let Verdict::Passed(seen) = &verdict {
                self.passed.insert(self.current, seen.clone());
                self.changed = true;
            }
            self.verdict = Some(verdict);
        }
        self.take_measurement(step, snap, &ctx);
    }

    /// Measures the prediction once the step's action ran, its checkpoint passed and the
    /// change has settled: before is the window before the action, after the latest
    /// window, at least one window after it.
    fn take_measurement(&mut self, step: &Step, snap: &Snapshot, ctx: &Context) {
        let Some(p) = &step.predict else {
            return;
        };
        if self.measured.contains_key(&self.current) || ctx.awaiting.is_some() {
            return;
        }
        let Some((acted, _)) = ctx.acted else {
            return;
        };
        let within = (p.within.map_or(3.0, |d| d.get().as_secs_f64()) * ctx.scale * 1e6) as u64;
        if step.check.is_some() && !self.passed.contains_key(&self.current) {
            return;
        }
        let before = measure(p, snap, acted.saturating_sub(within), acted);
        // Latency is judged on requests old enough to have shown it: those begun in the
        // last moments and already back would flatter the figure.
        let latency = matches!(p.measure, Some(Measure::P50 | Measure::P95 | Measure::P99));
        let settle = match before {
            Some(ms) if latency => (ms * 1000.0) as u64,
            _ => 0,
        };
        // The world once the change has settled: a whole window, after a first one in
        // which the change was still working its way through (queues draining, clients
        // reconnecting).
        if snap.now_micros < acted + 2 * within + settle {
            return;
        }
        let to = snap.now_micros.saturating_sub(settle);
        let from = to.saturating_sub(within).max(acted + within);
        self.measured.insert(
            self.current,
            Measured {
                before,
                after: measure(p, snap, from, to),
            },
        );
    }

    /// The world is restored: the restore tagged `tag` was done at `done.at_micros`. The
    /// step becomes current then (its clock and its checkpoint's window start).
    pub fn restored(&mut self, tag: u64, done: &Restored) {
        let Stage::Restoring { tag: waiting, turn } = self.stage else {
            return;
        };
        if waiting != tag {
            return;
        }
        let says = !done.changes.is_empty()
            || !done.failed.is_empty()
            || matches!(turn, Turn::Back | Turn::StartOver | Turn::Resume);
        self.note = says.then(|| Note {
            turn,
            changes: done.changes.clone(),
            failed: done.failed.clone(),
        });
        if turn == Turn::StartOver || (turn == Turn::Open && self.floor_micros == 0) {
            self.floor_micros = done.at_micros;
        }
        let actions = self.step().map_or(0, |s| s.actions.len());
        self.stage = Stage::Running(Run {
            started_micros: done.at_micros,
            last_micros: done.at_micros,
            sim_secs: 0.0,
            fired: vec![None; actions],
            acted: None,
            pressed: false,
        });
        self.verdict = None;
    }

    /// Moves to the next step.
    pub fn next(&mut self) {
        if self.current + 1 < self.scenario.steps.len() {
            self.enter(self.current + 1, Turn::Next);
        }
    }

    /// Moves to the previous step.
    pub fn back(&mut self) {
        if self.current > 0 {
            self.enter(self.current - 1, Turn::Back);
        }
    }

    /// Starts the lesson over: its first step, its start world, nothing passed.
    pub fn restart(&mut self) {
        self.passed.clear();
        self.answers.clear();
        self.predictions.clear();
        self.measured.clear();
        self.enter(0, Turn::StartOver);
    }

    /// Takes up the saved progress: its passes and answers, at its step.
    pub fn resume(&mut self) {
        if let Some(saved) = self.saved.take() {
            self.passed = saved
                .passed
                .iter()
                .map(|s| (*s, "passed in an earlier session".to_string()))
                .collect();
            self.answers = saved.answers;
            self.enter(saved.step, Turn::Resume);
        }
    }

    /// Makes `index` the current step: the world it expects is restored first (every
    /// setting when going back, starting over or resuming; only what the lesson changes
    /// when moving on, so the learner's own experiments stay).
    fn enter(&mut self, index: usize, turn: Turn) {
        self.current = index;
        self.next_tag += 1;
        let tag = self.next_tag;
        let scope: Scope = match turn {
            Turn::Open | Turn::Next => forward_scope(&self.scenario),
            Turn::Back | Turn::StartOver | Turn::Resume => full_scope(&self.scenario),
        };
        self.outbox.push(GuideCommand::Restore {
            world: expected_world(&self.scenario, index),
            scope,
            tag,
        });
        self.stage = Stage::Restoring { tag, turn };
        self.predictions.remove(&index);
        self.measured.remove(&index);
        self.verdict = None;
        self.note = None;
        if turn != Turn::Open {
            // The learner has made their own progress: the saved one is overwritten.
            self.saved = None;
            self.changed = true;
        }
    }

    /// Presses button `index` of the current step at `now_micros` (nothing happens while
    /// the step's world is being set up, or while its prediction is not made).
    pub fn press(&mut self, index: usize, now_micros: u64) {
        if self.prediction_pending() {
            return;
        }
        let Some(button) = self.step().and_then(|s| s.buttons.get(index)).cloned() else {
            return;
        };
        let Stage::Running(run) = &mut self.stage else {
            return;
        };
        run.pressed = true;
        run.acted = Some((now_micros, button.texts().join(" + ")));
        self.outbox.extend(button_ops(&button));
    }

    /// Picks `choice` in the current step's question.
    pub fn answer(&mut self, choice: usize) {
        let has = self
            .step()
            .and_then(|s| s.question.as_ref())
            .is_some_and(|q| choice < q.choices.len());
        if has {
            self.answers.insert(self.current, choice);
            self.changed = true;
        }
    }

    /// Makes the current step's prediction (once; the step's action follows it).
    pub fn predict(&mut self, prediction: Prediction) {
        let Some(p) = self.step().and_then(|s| s.predict.as_ref()) else {
            return;
        };
        let fits = match prediction {
            Prediction::Choice(i) => i < p.choices.len(),
            Prediction::Number(x) => p.choices.is_empty() && x.is_finite(),
        };
        if fits && !self.predictions.contains_key(&self.current) {
            self.predictions.insert(self.current, prediction);
        }
    }

    /// The prediction made for the current step.
    pub fn prediction(&self) -> Option<Prediction> {
        self.predictions.get(&self.current).copied()
    }

    /// The current step's actions: what each does, and when it was played (none: not
    /// yet), with its delay.
    pub fn timeline(&self) -> Vec<(String, f64, bool)> {
        let Some(step) = self.step() else {
            return Vec::new();
        };
        let fired = match &self.stage {
            Stage::Running(run) => run.fired.clone(),
            Stage::Restoring { .. } => vec![None; step.actions.len()],
        };
        step.actions
            .iter()
            .zip(fired)
            .map(|(a, f)| {
                (
                    a.text(),
                    a.at.map_or(0.0, |d| d.get().as_secs_f64()),
                    f.is_some(),
                )
            })
            .collect()
    }

    /// Whether a button of the current step was pressed.
    pub fn pressed(&self) -> bool {
        matches!(&self.stage, Stage::Running(run) if run.pressed)
    }

    /// Seconds of the step's own clock until its next action is due (for a wake-up).
    pub fn next_action_in(&self) -> Option<f64> {
        let Stage::Running(run) = &self.stage else {
            return None;
        };
        if self.prediction_pending() {
            return None;
        }
        self.step()?
            .actions
            .iter()
            .zip(&run.fired)
            .filter(|(_, f)| f.is_none())
            .map(|(a, _)| a.at.map_or(0.0, |d| d.get().as_secs_f64()) - run.sim_secs)
            .reduce(f64::min)
            .map(|s| s.max(0.0))
    }

    pub(super) fn step_done(&self, index: usize) -> bool {
        let Some(step) = self.scenario.steps.get(index) else {
            return false;
        };
        if step.check.is_some() {
            self.passed.contains_key(&index)
        } else if let Some(q) = &step.question {
            self.answers.get(&index) == Some(&q.answer)
        } else if step.predict.is_some() {
            self.measured.contains_key(&index)
        } else {
            index <= self.current
        }
    }
}

#[cfg(test)]
#[path = "walk_tests.rs"]
mod tests;
