//! Playing a lesson headless, as `hopscope run --narrate` does, through the same walk the
//! window uses: each step's world is restored as it becomes current, the step is printed
//! (title, text, what to look at, what it does by itself, its buttons, the command with
//! its placeholders filled in), a simulated reader reads it for `--reader` before making
//! its prediction and pressing its buttons, the checkpoint is judged against live
//! snapshots until it holds or its time limit runs out (✓ with what was seen, ✗ with what
//! was missing), and the reader reads the outcome as long again before moving on.
//! Questions are printed with their choices and the right answer's explanation.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::GuideCommand;
use super::check::window_start;
use super::predict::{Prediction, describe, measure, show};
use super::progress::LessonProgress;
use super::walk::Walkthrough;
use crate::engine::{Addresses, Engine, Restored};
use crate::scenario::{Predict, Scenario, Step};

mod render;
use crate::trace::Snapshot;
pub use render::{describe_look_at, render_question, render_step, wrap};

/// A running lesson, as narration sees it.
pub trait Live {
    /// The latest snapshot.
    fn snapshot(&self) -> Arc<Snapshot>;
    /// Every listening address, for the commands' placeholders.
    fn addresses(&self) -> Addresses;
    /// Trace time now (µs since the run started).
    fn now_micros(&self) -> u64;
    /// The time scale now.
    fn time_scale(&self) -> f64;
    /// Does `ops` in order and waits; returns the restores done, with their tags.
    fn perform(&self, ops: Vec<GuideCommand>) -> Vec<(u64, Restored)>;
}

impl Live for Engine {
    fn snapshot(&self) -> Arc<Snapshot> {
        Engine::snapshot(self)
    }

    fn addresses(&self) -> Addresses {
        Engine::addresses(self)
    }

    fn now_micros(&self) -> u64 {
        Engine::now_micros(self)
    }

    fn time_scale(&self) -> f64 {
        Engine::time_scale(self)
    }

    fn perform(&self, ops: Vec<GuideCommand>) -> Vec<(u64, Restored)> {
        self.run_ops_blocking(ops)
    }
}

/// How narration runs.
#[derive(Clone, Debug)]
pub struct NarrateOptions {
    /// The simulated reader: how long each step is read before its prediction and buttons,
    /// and again once its checkpoint passed (zero: unattended play).
    pub reader: Duration,
    /// Shortens every step's time limit to at most this (tests).
    pub step_cap: Option<Duration>,
    /// Stops narrating after this long in all (remaining checkpoints count as missed).
    pub deadline: Option<Duration>,
    /// How often a checkpoint is judged.
    pub poll: Duration,
    /// Characters per line when wrapping text.
    pub width: usize,
    /// Raised to stop early (a stop signal): the step in progress and the rest are missed.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for NarrateOptions {
    fn default() -> Self {
        NarrateOptions {
            reader: Duration::ZERO,
            step_cap: None,
            deadline: None,
            poll: Duration::from_millis(50),
            width: 78,
            cancel: None,
        }
    }
}

/// How one step ended.
#[derive(Clone, Debug, PartialEq)]
pub enum StepResult {
    /// Nothing to check: read and moved on.
    Read,
    /// A question, shown with its answer.
    Asked,
    /// The checkpoint held: what was seen.
    Passed(String),
    /// The checkpoint did not hold in time: what was missing.
    Missed(String),
}

/// One step's report.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// 0-based.
    pub index: usize,
    pub title: String,
    pub result: StepResult,
    /// Seconds the step took.
    pub seconds: f64,
    /// When the step became current (its world in place), µs since the run started.
    pub became_current_micros: u64,
    /// Where the window its checkpoint passed on starts (µs since the run started).
    pub judged_from_micros: Option<u64>,
    /// What a prediction measured, in a sentence.
    pub measured: Option<String>,
}

/// The whole lesson's report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub steps: Vec<StepReport>,
}

impl Report {
    /// Steps whose checkpoint did not hold.
    pub fn missed(&self) -> Vec<&StepReport> {
        self.steps
            .iter()
            .filter(|s| matches!(s.result, StepResult::Missed(_)))
            .collect()
    }

    /// Checkpoints that held, and checkpoints in all.
    pub fn checkpoints(&self) -> (usize, usize) {
        let passed = self
            .steps
            .iter()
            .filter(|s| matches!(s.result, StepResult::Passed(_)))
            .count();
        (passed, passed + self.missed().len())
    }

    /// Whether every checkpoint held.
    pub fn all_passed(&self) -> bool {
        self.missed().is_empty()
    }

    /// A one-line verdict.
    pub fn verdict(&self) -> String {
        let (passed, total) = self.checkpoints();
        let missed: Vec<String> = self
            .missed()
            .iter()
            .map(|s| format!("step {} “{}”", s.index + 1, s.title))
            .collect();
        if missed.is_empty() {
            format!("all {total} checkpoints passed")
        } else {
            format!(
                "{passed} of {total} checkpoints passed; missed: {}",
                missed.join(", ")
            )
        }
    }
}

/// Drives a walk against a live run.
struct Driver<'a> {
    walk: Walkthrough,
    live: &'a dyn Live,
    poll: Duration,
    cancel: Option<Arc<AtomicBool>>,
}

impl Driver<'_> {
    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Acquire))
    }

    /// Performs what the walk asks, then moves its clock and judges its step.
    fn pump(&mut self) -> Arc<Snapshot> {
        self.perform();
        let snap = self.live.snapshot();
        self.walk
            .tick(&snap, self.live.now_micros(), self.live.time_scale());
        self.perform();
        snap
    }

    fn perform(&mut self) {
        loop {
            let ops = self.walk.take_commands();
            if ops.is_empty() {
                return;
            }
            for (tag, done) in self.live.perform(ops) {
                self.walk.restored(tag, &done);
            }
        }
    }

    /// Keeps the lesson going for `d` (at least one turn).
    fn pump_for(&mut self, d: Duration) {
        let until = Instant::now() + d;
        loop {
            self.pump();
            if Instant::now() >= until || self.cancelled() {
                return;
            }
            std::thread::sleep(self.poll.min(until - Instant::now()));
        }
    }

    /// Keeps the lesson going until `done` holds or `limit` has passed; whether it held.
    fn pump_until(&mut self, limit: Duration, done: impl Fn(&Walkthrough) -> bool) -> bool {
        let started = Instant::now();
        loop {
            self.pump();
            if done(&self.walk) {
                return true;
            }
            if started.elapsed() >= limit || self.cancelled() {
                return false;
            }
            std::thread::sleep(self.poll);
        }
    }
}

/// Plays the steps of `scenario` against `live`, printing to `out`.
pub fn narrate(
    scenario: &Scenario,
    live: &dyn Live,
    options: &NarrateOptions,
    out: &mut dyn Write,
) -> io::Result<Report> {
    let started = Instant::now();
    let scale = scenario.time_scale.max(1.0);
    let total = scenario.steps.len();
    let mut report = Report::default();
    let mut d = Driver {
        walk: Walkthrough::new(scenario, LessonProgress::default()),
        live,
        poll: options.poll,
        cancel: options.cancel.clone(),
    };
    let addresses = live.addresses();
    let mut n = Narrator {
        addresses: &addresses,
        options,
        out,
    };
    n.heading(scenario)?;
    for (index, step) in scenario.steps.iter().enumerate() {
        if d.cancelled() {
            writeln!(n.out, "\n(stopped before step {} of {total})", index + 1)?;
            break;
        }
        if index > 0 {
            d.walk.next();
        }
        let step_start = Instant::now();
        let became = n.present(&mut d, step, index, total)?;
        let limit = step_limit(step, scale, options, started);
        let (result, judged_from) = n.judge(&mut d, step, index, limit)?;
        let measured = n.measured(&mut d, step, index, limit, &result)?;
        n.out.flush()?;
        d.pump_for(options.reader);
        report.steps.push(StepReport {
            index,
            title: step.title.clone(),
            result,
            seconds: step_start.elapsed().as_secs_f64(),
            became_current_micros: became,
            judged_from_micros: judged_from,
            measured,
        });
        n.out.flush()?;
    }
    writeln!(n.out, "\n{}", report.verdict())?;
    Ok(report)
}

/// How long a step's checkpoint may take: its limit stretched by the time scale (a huge
/// scale means "no limit", never a panic), within the cap per step and what is left of
/// the deadline.
fn step_limit(step: &Step, scale: f64, options: &NarrateOptions, started: Instant) -> Duration {
    let mut limit =
        Duration::try_from_secs_f64(step.limit().as_secs_f64() * scale).unwrap_or(Duration::MAX);
    if let Some(cap) = options.step_cap {
        limit = limit.min(cap);
    }
    if let Some(deadline) = options.deadline {
        limit = limit.min(deadline.saturating_sub(started.elapsed()));
    }
    limit
}

/// Where the narration prints, and how.
struct Narrator<'a> {
    addresses: &'a Addresses,
    options: &'a NarrateOptions,
    out: &'a mut dyn Write,
}

impl Narrator<'_> {
    /// The lesson's name, its summary and the reader's pace.
    fn heading(&mut self, scenario: &Scenario) -> io::Result<()> {
        writeln!(self.out, "Lesson: {}", scenario.name)?;
        if !scenario.summary.is_empty() {
            writeln!(
                self.out,
                "{}",
                wrap(&scenario.summary, self.options.width, "")
            )?;
        }
        if !self.options.reader.is_zero() {
            writeln!(
                self.out,
                "(a simulated reader takes {:.0} s over each step)",
                self.options.reader.as_secs_f64()
            )?;
        }
        Ok(())
    }

    /// Waits for the step to become current, prints it, lets the reader read it, then
    /// makes the reader's prediction and presses its buttons. Returns when it became
    /// current (µs since the run started).
    fn present(
        &mut self,
        d: &mut Driver<'_>,
        step: &Step,
        index: usize,
        total: usize,
    ) -> io::Result<u64> {
        let width = self.options.width;
        // The step becomes current once its world is in place.
        d.pump_until(Duration::from_secs(30), |w| w.started_micros().is_some());
        let became = d
            .walk
            .started_micros()
            .unwrap_or_else(|| d.live.now_micros());
        write!(
            self.out,
            "{}",
            render_step(step, index, total, self.addresses, width)
        )?;
        if let Some(note) = d.walk.view(self.addresses).and_then(|v| v.note) {
            writeln!(self.out, "{}", wrap(&format!("({note})"), width, "  "))?;
        }
        self.out.flush()?;
        d.pump_for(self.options.reader);
        if let Some(p) = &step.predict {
            let guess = reader_guess(p, &d.live.snapshot());
            d.walk.predict(guess);
            let said = match guess {
                Prediction::Choice(i) => p.choices.get(i).cloned().unwrap_or_default(),
                Prediction::Number(x) => {
                    show(p.measure.unwrap_or(crate::scenario::Measure::P99), x)
                }
            };
            writeln!(self.out, "  the reader predicts: {said}")?;
        }
        for (i, button) in step.buttons.iter().enumerate() {
            d.walk.press(i, d.live.now_micros());
            writeln!(self.out, "  pressed: {}", button.label())?;
            d.pump();
        }
        self.out.flush()?;
        Ok(became)
    }

    /// Asks the step's question, or waits up to `limit` for its checkpoint; returns the
    /// result and, for a check that held, where its window started.
    fn judge(
        &mut self,
        d: &mut Driver<'_>,
        step: &Step,
        index: usize,
        limit: Duration,
    ) -> io::Result<(StepResult, Option<u64>)> {
        if let Some(q) = &step.question {
            write!(self.out, "{}", render_question(q, self.options.width))?;
            d.walk.answer(q.answer);
            return Ok((StepResult::Asked, None));
        }
        let Some(check) = &step.check else {
            return Ok((StepResult::Read, None));
        };
        let width = self.options.width;
        let passed = d.pump_until(limit, |w| w.is_passed(index));
        let snap = d.live.snapshot();
        if passed {
            let judged_from = d
                .walk
                .context()
                .and_then(|ctx| window_start(check, &snap, &ctx));
            let seen = match d.walk.view(self.addresses).map(|v| v.status) {
                Some(super::CheckStatus::Passed { seen, .. }) => seen,
                _ => String::new(),
            };
            let said = check.success.as_deref().unwrap_or("");
            writeln!(self.out, "  ✓ {}", wrap(said, width, "    ").trim_start())?;
            writeln!(self.out, "    ({seen})")?;
            return Ok((StepResult::Passed(seen), judged_from));
        }
        let missing = match d.walk.view(self.addresses).map(|v| v.status) {
            Some(super::CheckStatus::Waiting { missing, .. }) => missing,
            _ => "the step never became current".to_string(),
        };
        writeln!(
            self.out,
            "  ✗ not seen within {:.0} s: {missing}",
            limit.as_secs_f64()
        )?;
        if let Some(hint) = &check.hint {
            writeln!(self.out, "{}", wrap(hint, width, "    "))?;
        }
        Ok((StepResult::Missed(missing), None))
    }

    /// For a step with a prediction, waits (up to `limit`) for the measurement and prints
    /// it with the explanation; returns what was measured.
    fn measured(
        &mut self,
        d: &mut Driver<'_>,
        step: &Step,
        index: usize,
        limit: Duration,
        result: &StepResult,
    ) -> io::Result<Option<String>> {
        if step.predict.is_some() && !matches!(result, StepResult::Missed(_)) {
            d.pump_until(limit, |w| w.measured(index).is_some());
        }
        let measured = step.predict.as_ref().and_then(|p| {
            let m = d.walk.measured(index)?;
            Some((p, describe(p.measure?, p.server.as_deref(), m)))
        });
        if let Some((p, said)) = &measured {
            let width = self.options.width;
            writeln!(
                self.out,
                "{}",
                wrap(&format!("measured: {said}"), width, "  ")
            )?;
            writeln!(
                self.out,
                "{}",
                wrap(&format!("Why: {}", p.explain), width, "  ")
            )?;
        }
        Ok(measured.map(|(_, said)| said))
    }
}

/// What the simulated reader predicts: the choice the lesson says is right, or, for a
/// number, that nothing will change (the number measured just now).
fn reader_guess(p: &Predict, snap: &Snapshot) -> Prediction {
    if p.choices.is_empty() {
        let within = p.within.map_or(3.0, |d| d.get().as_secs_f64());
        let from = snap.now_micros.saturating_sub((within * 1e6) as u64);
        Prediction::Number(measure(p, snap, from, snap.now_micros).unwrap_or(0.0))
    } else {
        Prediction::Choice(p.answer.unwrap_or(0))
    }
}

#[cfg(test)]
#[path = "narrate_tests.rs"]
mod tests;
