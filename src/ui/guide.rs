//! The guide panel: walks a learner through a lesson's steps (Back / Next), shows each
//! step's text, what to look at, the actions to press, the command to copy (placeholders
//! filled from the live addresses), the checkpoint's status live, and question choices with
//! feedback. Progress is remembered per lesson between launches.
//!
//! Contract for the app shell:
//! - `GuidePanel::new(&scenario, ProgressStore::default_location())` when a scenario opens.
//! - Each frame, inside whatever panel it lives in:
//!   `guide.ui(ui, &snapshot, &engine.addresses(), &theme)`.
//! - At the end of the frame, apply `guide.take_commands()`: `GuideCommand::Apply(cmd)` with
//!   `engine.send(cmd)`, `GuideCommand::Send(req)` by sending that request (see its docs).
//! - `guide.look_at()` names what to highlight (`cdn`, `server-2`, `plot:latency`,
//!   `request`).
//!
//! Drawing never blocks: the checkpoint is judged from the snapshot given, and the progress
//! file is written only when progress changes (a click, a passed checkpoint), not per frame.

use egui::{Color32, RichText};

use crate::engine::Addresses;
use crate::lesson::{
    CheckStatus, GuideCommand, LessonProgress, ProgressStore, QuestionView, StepView, Walkthrough,
};
use crate::scenario::Scenario;
use crate::trace::Snapshot;
use crate::ui::theme::Theme;

/// The guide panel's state.
pub struct GuidePanel {
    walk: Walkthrough,
    store: ProgressStore,
    commands: Vec<GuideCommand>,
    /// The step whose command was just copied (to say "Copied").
    copied: Option<usize>,
    /// Why the progress could not be saved, if it could not.
    save_error: Option<String>,
}

/// What the learner clicked this frame.
enum Click {
    Back,
    Next,
    Restart,
    Act(String),
    Answer(usize),
    Copy(String),
}

impl GuidePanel {
    /// A guide for `scenario`, resuming the learner's progress from `store`.
    pub fn new(scenario: &Scenario, store: ProgressStore) -> GuidePanel {
        let saved = store.lesson(&scenario.name);
        GuidePanel {
            walk: Walkthrough::new(scenario, saved),
            store,
            commands: Vec::new(),
            copied: None,
            save_error: None,
        }
    }

    /// What the current step points at, for the canvas to highlight.
    pub fn look_at(&self) -> Option<&str> {
        self.walk.look_at()
    }

    /// The current step (0-based).
    pub fn current(&self) -> usize {
        self.walk.current()
    }

    /// Whether step `index`'s checkpoint passed.
    pub fn is_passed(&self, index: usize) -> bool {
        self.walk.is_passed(index)
    }

    /// The learner's progress, as saved.
    pub fn progress(&self) -> LessonProgress {
        self.walk.progress()
    }

    /// Moves to the next step (`forward`) or back to the previous one, as the buttons do.
    pub fn turn(&mut self, forward: bool) {
        if forward {
            self.walk.next();
        } else {
            self.walk.back();
        }
    }

    /// The actions the learner asked for since the last call, to apply at the end of the
    /// frame.
    #[must_use]
    pub fn take_commands(&mut self) -> Vec<GuideCommand> {
        std::mem::take(&mut self.commands)
    }

    /// Draws the panel for the current step and handles its clicks.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        snapshot: &Snapshot,
        addresses: &Addresses,
        theme: &Theme,
    ) {
        self.walk.observe(snapshot);
        let Some(view) = self.walk.view(addresses) else {
            ui.label(body(
                theme,
                "This scenario has no guided steps.",
                theme.weak_text,
            ));
            return;
        };
        let mut clicks = Vec::new();
        egui::ScrollArea::vertical()
            .auto_shrink([false, true])
            .show(ui, |ui| {
                step_ui(
                    ui,
                    &view,
                    self.copied == Some(view.index),
                    theme,
                    &mut clicks,
                );
            });
        if let Some(e) = &self.save_error {
            ui.label(body(
                theme,
                &format!("Progress not saved: {e}"),
                theme.weak_text,
            ));
        }
        for click in clicks {
            match click {
                Click::Back => self.walk.back(),
                Click::Next => self.walk.next(),
                Click::Restart => self.walk.restart(),
                Click::Answer(i) => self.walk.answer(i),
                Click::Act(action) => {
                    if let Some(c) = self.walk.act(&action, snapshot.now_micros) {
                        self.commands.push(c);
                    }
                }
                Click::Copy(text) => {
                    ui.ctx().copy_text(text);
                    self.copied = Some(view.index);
                }
            }
        }
        if self.walk.current() != view.index {
            self.copied = None;
        }
        self.save_if_changed();
    }

    fn save_if_changed(&mut self) {
        if self.walk.take_changed() {
            self.save_error = self
                .store
                .save_lesson(self.walk.lesson(), &self.walk.progress())
                .err()
                .map(|e| e.to_string());
        }
    }
}

impl Drop for GuidePanel {
    fn drop(&mut self) {
        self.save_if_changed();
    }
}

fn body(theme: &Theme, text: &str, color: Color32) -> RichText {
    RichText::new(text).size(theme.body_size).color(color)
}

fn step_ui(
    ui: &mut egui::Ui,
    view: &StepView,
    copied: bool,
    theme: &Theme,
    clicks: &mut Vec<Click>,
) {
    ui.label(body(
        theme,
        &format!(
            "{} · step {} of {} · {} done",
            view.lesson,
            view.index + 1,
            view.total,
            view.done
        ),
        theme.weak_text,
    ));
    ui.label(
        RichText::new(&view.title)
            .size(theme.heading_size)
            .strong()
            .color(theme.text),
    );
    ui.add_space(4.0);
    if !view.text.is_empty() {
        ui.label(body(theme, &view.text, theme.text));
    }
    if let Some((words, _)) = &view.look_at {
        ui.label(body(theme, &format!("Look at: {words}"), theme.weak_text));
    }
    if let Some(prompt) = &view.prompt {
        ui.label(body(theme, &format!("Do this: {prompt}"), theme.text));
    }
    if !view.actions.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.label(body(theme, "Press:", theme.text));
            for action in &view.actions {
                let button = ui.button(body(theme, &action.label, theme.text));
                let button = match &action.scripted {
                    Some(when) => button.on_hover_text(format!(
                        "The scenario does this by itself {when} if nobody presses it."
                    )),
                    None => button,
                };
                if button.clicked() {
                    clicks.push(Click::Act(action.label.clone()));
                }
            }
        });
        if let Some(when) = view.actions.iter().find_map(|a| a.scripted.as_ref()) {
            ui.label(body(
                theme,
                &format!("(or wait: the scenario does it {when})"),
                theme.weak_text,
            ));
        }
    }
    if let Some(command) = &view.command {
        ui.add_space(4.0);
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(
                RichText::new(command)
                    .monospace()
                    .size(theme.body_size)
                    .color(theme.text),
            );
            ui.horizontal(|ui| {
                if ui.button(body(theme, "Copy", theme.text)).clicked() {
                    clicks.push(Click::Copy(command.clone()));
                }
                if copied {
                    ui.label(body(theme, "Copied", theme.weak_text));
                }
            });
        });
    }
    ui.add_space(6.0);
    status_ui(ui, &view.status, theme);
    if let Some(q) = &view.question {
        question_ui(ui, q, theme, clicks);
    }
    ui.add_space(8.0);
    ui.horizontal(|ui| {
        if ui
            .add_enabled(
                view.can_back,
                egui::Button::new(body(theme, "Back", theme.text)),
            )
            .clicked()
        {
            clicks.push(Click::Back);
        }
        if ui
            .add_enabled(
                view.can_next,
                egui::Button::new(body(theme, "Next", theme.text)),
            )
            .clicked()
        {
            clicks.push(Click::Next);
        }
        if ui
            .button(body(theme, "Start over", theme.weak_text))
            .clicked()
        {
            clicks.push(Click::Restart);
        }
    });
}

/// The checkpoint, in words, never by colour alone (and only glyphs every font has).
fn status_ui(ui: &mut egui::Ui, status: &CheckStatus, theme: &Theme) {
    match status {
        CheckStatus::None => {}
        CheckStatus::Passed { success, seen } => {
            ui.label(body(theme, &format!("Checkpoint passed: {success}"), theme.hit).strong());
            ui.label(body(theme, seen, theme.weak_text));
        }
        CheckStatus::Waiting { missing, hint } => {
            ui.label(body(theme, "Checkpoint: watching the trace…", theme.miss).strong());
            ui.label(body(theme, missing, theme.weak_text));
            if let Some(hint) = hint {
                ui.label(body(theme, &format!("Hint: {hint}"), theme.text));
            }
        }
    }
}

fn question_ui(ui: &mut egui::Ui, q: &QuestionView, theme: &Theme, clicks: &mut Vec<Click>) {
    ui.label(body(theme, &q.ask, theme.text).strong());
    for (i, choice) in q.choices.iter().enumerate() {
        if ui
            .radio(q.chosen == Some(i), body(theme, choice, theme.text))
            .clicked()
        {
            clicks.push(Click::Answer(i));
        }
    }
    match q.right {
        Some(true) => {
            ui.label(body(theme, "Right.", theme.hit).strong());
        }
        Some(false) => {
            ui.label(body(theme, "Not quite: try another.", theme.miss).strong());
        }
        None => {}
    }
    if let Some(feedback) = &q.feedback {
        ui.label(body(theme, feedback, theme.text));
    }
    if q.right == Some(true)
        && let Some(explain) = &q.explain
    {
        ui.label(body(theme, explain, theme.text));
    }
}
