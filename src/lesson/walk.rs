//! A learner's walk through a lesson, without any drawing: which step is current, which
//! checkpoints passed (a pass stays passed), which answers were given, and which actions the
//! learner performed from the guide. The window's guide panel draws `StepView`s computed
//! here and turns clicks into calls here, so all of it is testable as data.

use std::collections::BTreeMap;

use super::check::{Context, Verdict, evaluate};
use super::progress::LessonProgress;
use super::{anchor_of, canonical_action, fill, reflow, scripted_time};
use crate::engine::Addresses;
use crate::scenario::{Command, Scenario, SendRequest};
use crate::trace::Snapshot;

/// Something the guide asks the app to do, applied once at the end of the frame.
#[must_use]
#[derive(Clone, Debug, PartialEq)]
pub enum GuideCommand {
    /// A control command, as the controls send it (`engine.send(command)`).
    Apply(Command),
    /// A specific request, as a scenario's `send` event makes it (with its body, token and
    /// profile): `let _rt = engine.handle().enter(); engine.topology().clients.send(&req, false)`.
    Send(SendRequest),
}

/// How the current step's checkpoint stands.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckStatus {
    /// The step has no checkpoint.
    None,
    /// Not seen yet: what is missing, and the author's hint.
    Waiting {
        missing: String,
        hint: Option<String>,
    },
    /// Seen: the author's success text and what was seen.
    Passed { success: String, seen: String },
}

/// An action button.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionView {
    /// The command, as written (`kill server-2`), which is also the button's label.
    pub label: String,
    /// When the scenario's own events do it, if they do (`at 5.0 s`).
    pub scripted: Option<String>,
}

/// A question as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct QuestionView {
    pub ask: String,
    pub choices: Vec<String>,
    /// The choice picked, if any.
    pub chosen: Option<usize>,
    /// Shown once a choice is picked: whether it was right, the choice's own feedback and
    /// the explanation.
    pub right: Option<bool>,
    pub feedback: Option<String>,
    pub explain: Option<String>,
}

/// What the guide shows for the current step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepView {
    pub lesson: String,
    /// 0-based.
    pub index: usize,
    pub total: usize,
    pub title: String,
    pub text: String,
    /// In words (`the CDN cache`), and as written (`cdn`).
    pub look_at: Option<(String, String)>,
    pub prompt: Option<String>,
    pub actions: Vec<ActionView>,
    /// The command with its placeholders filled in.
    pub command: Option<String>,
    pub status: CheckStatus,
    pub question: Option<QuestionView>,
    pub can_back: bool,
    pub can_next: bool,
    /// Steps done (checkpoint passed, question answered right, or nothing to do and seen).
    pub done: usize,
}

/// A learner's walk through one lesson.
#[derive(Clone, Debug)]
pub struct Walkthrough {
    scenario: Scenario,
    current: usize,
    /// When the current step became current (run time, µs); set by `observe`.
    started_micros: Option<u64>,
    passed: BTreeMap<usize, String>,
    answers: BTreeMap<usize, usize>,
    /// When the learner performed each action from the guide (canonical text → µs).
    acted: BTreeMap<String, u64>,
    verdict: Option<Verdict>,
    changed: bool,
}

impl Walkthrough {
    /// A walk through `scenario`, resuming from `saved`.
    pub fn new(scenario: &Scenario, saved: LessonProgress) -> Walkthrough {
        let saved = saved.fit(scenario.steps.len());
        Walkthrough {
            scenario: scenario.clone(),
            current: saved.step,
            started_micros: None,
            passed: saved
                .passed
                .iter()
                .map(|s| (*s, "passed in an earlier session".to_string()))
                .collect(),
            answers: saved.answers,
            acted: BTreeMap::new(),
            verdict: None,
            changed: false,
        }
    }

    /// The lesson's name (its key in the progress file).
    pub fn lesson(&self) -> &str {
        &self.scenario.name
    }

    /// The current step (0-based).
    pub fn current(&self) -> usize {
        self.current
    }

    /// Whether step `index`'s checkpoint has passed.
    pub fn is_passed(&self, index: usize) -> bool {
        self.passed.contains_key(&index)
    }

    /// What the current step points at (`cdn`, `server-2`, `plot:latency`, `request`).
    pub fn look_at(&self) -> Option<&str> {
        self.scenario.steps.get(self.current)?.look_at.as_deref()
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

    /// Judges the current step's checkpoint against `snap` (a pass is kept).
    pub fn observe(&mut self, snap: &Snapshot) {
        let Some(step) = self.scenario.steps.get(self.current) else {
            return;
        };
        let started = *self.started_micros.get_or_insert(snap.now_micros);
        let Some(check) = &step.check else {
            return;
        };
        if self.passed.contains_key(&self.current) {
            return;
        }
        let mut ctx = Context::for_step(step, started, self.scenario.time_scale);
        ctx.acted_micros =
            anchor_of(step).and_then(|a| self.acted.get(&canonical_action(&a)).copied());
        let verdict = evaluate(check, snap, &ctx);
        if let Verdict::Passed(seen) = &verdict {
            self.passed.insert(self.current, seen.clone());
            self.changed = true;
        }
        self.verdict = Some(verdict);
    }

    /// Moves to the next step.
    pub fn next(&mut self) {
        if self.current + 1 < self.scenario.steps.len() {
            self.go(self.current + 1);
        }
    }

    /// Moves to the previous step.
    pub fn back(&mut self) {
        if self.current > 0 {
            self.go(self.current - 1);
        }
    }

    /// Starts the lesson over.
    pub fn restart(&mut self) {
        self.passed.clear();
        self.answers.clear();
        self.acted.clear();
        self.go(0);
    }

    fn go(&mut self, index: usize) {
        self.current = index;
        self.started_micros = None;
        self.verdict = None;
        self.changed = true;
    }

    /// Picks `choice` in the current step's question.
    pub fn answer(&mut self, choice: usize) {
        let has = self
            .scenario
            .steps
            .get(self.current)
            .and_then(|s| s.question.as_ref())
            .is_some_and(|q| choice < q.choices.len());
        if has {
            self.answers.insert(self.current, choice);
            self.changed = true;
        }
    }

    /// The learner performs `action` (one of the current step's `expects`) at `now_micros`:
    /// the command to send, or the scenario's own request when the action is a `send` it
    /// scripts (with its body and token).
    pub fn act(&mut self, action: &str, now_micros: u64) -> Option<GuideCommand> {
        let command: Command = action.parse().ok()?;
        self.acted.insert(canonical_action(action), now_micros);
        if let Command::Send(method, path) = &command {
            let scripted = self
                .scenario
                .events
                .iter()
                .filter_map(|e| e.send.as_ref())
                .find(|s| &s.method == method && &s.path == path);
            if let Some(send) = scripted {
                return Some(GuideCommand::Send(send.clone()));
            }
        }
        Some(GuideCommand::Apply(command))
    }

    /// What to show for the current step.
    pub fn view(&self, addresses: &Addresses) -> Option<StepView> {
        let step = self.scenario.steps.get(self.current)?;
        let status = match &step.check {
            None => CheckStatus::None,
            Some(check) => match self.passed.get(&self.current) {
                Some(seen) => CheckStatus::Passed {
                    success: check
                        .success
                        .as_deref()
                        .map_or_else(|| "Checkpoint passed.".into(), reflow),
                    seen: seen.clone(),
                },
                None => CheckStatus::Waiting {
                    missing: self
                        .verdict
                        .as_ref()
                        .map_or_else(|| "watching…".to_string(), |v| v.detail().to_string()),
                    hint: check.hint.as_deref().map(reflow),
                },
            },
        };
        let question = step.question.as_ref().map(|q| {
            let chosen = self.answers.get(&self.current).copied();
            QuestionView {
                ask: reflow(&q.ask),
                choices: q.choices.clone(),
                chosen,
                right: chosen.map(|c| c == q.answer),
                feedback: chosen.and_then(|c| q.feedback.get(c)).map(|f| reflow(f)),
                explain: chosen.map(|_| reflow(&q.explain)),
            }
        });
        let done = (0..self.scenario.steps.len())
            .filter(|i| self.step_done(*i))
            .count();
        Some(StepView {
            lesson: self.scenario.name.clone(),
            index: self.current,
            total: self.scenario.steps.len(),
            title: step.title.clone(),
            text: reflow(&step.text),
            look_at: step
                .look_at
                .as_ref()
                .map(|l| (super::narrate::describe_look_at(l), l.clone())),
            prompt: step.prompt.as_deref().map(reflow),
            actions: step
                .expects
                .iter()
                .map(|a| ActionView {
                    label: a.clone(),
                    scripted: scripted_time(&self.scenario, a),
                })
                .collect(),
            command: step.command.as_ref().map(|c| fill(c, addresses)),
            status,
            question,
            can_back: self.current > 0,
            can_next: self.current + 1 < self.scenario.steps.len(),
            done,
        })
    }

    fn step_done(&self, index: usize) -> bool {
        let Some(step) = self.scenario.steps.get(index) else {
            return false;
        };
        if step.check.is_some() {
            self.passed.contains_key(&index)
        } else if let Some(q) = &step.question {
            self.answers.get(&index) == Some(&q.answer)
        } else {
            index <= self.current
        }
    }
}

#[cfg(test)]
#[path = "walk_tests.rs"]
mod tests;
