//! What the guide shows for the current step, computed from the walk as plain data (the
//! window's guide panel only draws it): text, buttons, the step's own timeline, the
//! checkpoint's status, a question or a prediction with what was measured, and the note
//! of what a restore changed.

use super::predict::{Prediction, describe};
use super::walk::{Note, Stage, Turn, Walkthrough};
use super::{fill, reflow};
use crate::engine::Addresses;

/// How the current step's checkpoint stands.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckStatus {
    /// The step has no checkpoint.
    None,
    /// The world is being set up for the step.
    Setup,
    /// Not seen yet: what is missing, and the author's hint.
    Waiting {
        missing: String,
        hint: Option<String>,
    },
    /// Seen: the author's success text and what was seen.
    Passed { success: String, seen: String },
}

/// A button as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct ButtonView {
    pub label: String,
    /// What it does, when the label does not say (`kill server-2 + rate 40`).
    pub does: Option<String>,
    /// False while the step's prediction is not made (or its world is being set up).
    pub enabled: bool,
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

/// A prediction as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictView {
    pub ask: String,
    /// Choices to pick from (empty: a number in `unit`).
    pub choices: Vec<String>,
    pub unit: String,
    /// What the learner predicted, in words, once they did.
    pub predicted: Option<String>,
    /// The choice picked.
    pub chosen: Option<usize>,
    /// Once measured: what the trace showed before and after the action.
    pub measured: Option<String>,
    /// Once measured, for choices: whether the prediction was borne out.
    pub right: Option<bool>,
    /// Once measured: why.
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
    pub buttons: Vec<ButtonView>,
    /// Why the buttons' effects stay after the step.
    pub keep: Option<String>,
    /// The step's own actions: one line each, saying when it comes or that it came.
    pub timeline: Vec<String>,
    /// The command with its placeholders filled in.
    pub command: Option<String>,
    pub status: CheckStatus,
    pub question: Option<QuestionView>,
    pub predict: Option<PredictView>,
    /// What a restore changed for this step.
    pub note: Option<String>,
    /// The step saved progress would resume at (1-based), while it may.
    pub resume: Option<usize>,
    pub can_back: bool,
    pub can_next: bool,
    /// Steps done (checkpoint passed, question answered right, prediction measured, or
    /// nothing to do and seen).
    pub done: usize,
}

/// The note of a restore, in a sentence.
pub fn note_text(note: &Note, index: usize) -> String {
    let head = match note.turn {
        Turn::Open | Turn::Next => "Set up for this step".to_string(),
        Turn::Back => format!("Back to step {}", index + 1),
        Turn::StartOver => "Started over".to_string(),
        Turn::Resume => format!("Resumed at step {}", index + 1),
    };
    let mut s = if note.changes.is_empty() {
        format!("{head}: the world is already as this step expects.")
    } else {
        format!("{head}, restored: {}.", note.changes.join("; "))
    };
    if !note.failed.is_empty() {
        s.push_str(&format!(" Could not restore: {}.", note.failed.join("; ")));
    }
    s
}

impl Walkthrough {
    /// What to show for the current step.
    pub fn view(&self, addresses: &Addresses) -> Option<StepView> {
        let step = self.scenario.steps.get(self.current)?;
        let running = matches!(self.stage, Stage::Running(_));
        let status = match &step.check {
            None if running => CheckStatus::None,
            None => CheckStatus::Setup,
            Some(check) => match self.passed.get(&self.current) {
                Some(seen) => CheckStatus::Passed {
                    success: check
                        .success
                        .as_deref()
                        .map_or_else(|| "Checkpoint passed.".into(), reflow),
                    seen: seen.clone(),
                },
                None if !running => CheckStatus::Setup,
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
        let predict = step.predict.as_ref().map(|p| {
            let made = self.predictions.get(&self.current).copied();
            let measure = p.measure.unwrap_or(crate::scenario::Measure::P99);
            let measured = self.measured.get(&self.current);
            PredictView {
                ask: reflow(&p.ask),
                choices: p.choices.clone(),
                unit: measure.unit().to_string(),
                predicted: made.map(|m| match m {
                    Prediction::Choice(i) => p.choices.get(i).cloned().unwrap_or_default(),
                    Prediction::Number(x) => super::predict::show(measure, x),
                }),
                chosen: match made {
                    Some(Prediction::Choice(i)) => Some(i),
                    _ => None,
                },
                measured: measured.map(|m| describe(measure, p.server.as_deref(), m)),
                right: measured.and(match made {
                    Some(Prediction::Choice(i)) => p.answer.map(|a| a == i),
                    _ => None,
                }),
                explain: measured.map(|_| reflow(&p.explain)),
            }
        });
        let pending = self.prediction_pending();
        let buttons = step
            .buttons
            .iter()
            .map(|b| {
                let does = b.texts().join(" + ");
                ButtonView {
                    does: (b.label.is_some() && does != b.label()).then_some(does),
                    label: b.label(),
                    enabled: running && !pending,
                }
            })
            .collect();
        let timeline = self
            .timeline()
            .into_iter()
            .map(|(text, at, done)| {
                if done {
                    format!("done: {text}")
                } else if pending {
                    format!("after your prediction, {}: {text}", in_words(at))
                } else {
                    format!("{}: {text}", in_words(at))
                }
            })
            .collect();
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
            buttons,
            keep: step.keep.as_deref().map(reflow),
            timeline,
            command: step.command.as_ref().map(|c| fill(c, addresses)),
            status,
            question,
            predict,
            note: self.note.as_ref().map(|n| note_text(n, self.current)),
            resume: self
                .resumable()
                .filter(|_| self.current == 0)
                .map(|p| p.step + 1),
            can_back: self.current > 0,
            can_next: self.current + 1 < self.scenario.steps.len(),
            done,
        })
    }
}

/// When an action comes, counted from when the step became current.
fn in_words(at_secs: f64) -> String {
    if at_secs <= 0.0 {
        "at once".into()
    } else {
        format!("{at_secs:.1} s in")
    }
}
