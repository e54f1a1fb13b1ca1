//! The guide panel: walks a learner through a lesson's steps. The step's text, what to
//! look at, what the step does by itself (its timeline), its buttons, a prediction to make
//! before the action, the command to copy (placeholders filled from the live addresses),
//! the checkpoint's status live, questions with feedback, and a note of what was restored.
//! Back / Next / Start over sit in a footer that stays in view however long the step is.
//!
//! Contract for the app shell:
//! - `GuidePanel::new(&scenario, store, fresh)` when a scenario opens (`fresh`: saved
//!   progress is not offered).
//! - Every frame, shown or not: `guide.tick(&snapshot, now_micros, time_scale)`, then
//!   perform `guide.take_commands()` in order (one batch on `Engine::try_submit`) and hand
//!   each restore's outcome back with `guide.restored(tag, &restored)`.
//! - When shown: `guide.ui(ui, &addresses, &theme)`.
//! - `guide.look_at()` names what to highlight (`cdn`, `server-2`, `plot:latency`,
//!   `request`).
//!
//! Drawing never blocks: the walk is judged from the snapshot given, and the progress
//! file is written only when progress changes (a click, a passed checkpoint), not per frame.

use egui::{Align, Color32, Layout, RichText};

use crate::engine::{Addresses, Restored};
use crate::lesson::{
    CheckStatus, GuideCommand, LessonProgress, PredictView, Prediction, ProgressStore,
    QuestionView, StepView, Walkthrough,
};
use crate::scenario::Scenario;
use crate::trace::Snapshot;
use crate::ui::theme::Theme;

/// The guide panel's state.
pub struct GuidePanel {
    walk: Walkthrough,
    store: ProgressStore,
    /// Trace time at the last tick (when a button is pressed).
    now_micros: u64,
    /// The step whose command was just copied (to say "Copied").
    copied: Option<usize>,
    /// The number typed for a prediction.
    number: f64,
    /// Why the progress could not be saved, if it could not.
    save_error: Option<String>,
    /// A request is picked on the canvas (set by the window each frame).
    pub picked: bool,
}

/// What the learner clicked this frame.
enum Click {
    Back,
    Next,
    Restart,
    Resume,
    Press(usize),
    Answer(usize),
    Predict(Prediction),
    Copy(String),
}

impl GuidePanel {
    /// A guide for `scenario` at its first step; the learner's saved progress in `store`
    /// is offered as "Resume", unless `fresh`.
    pub fn new(scenario: &Scenario, store: ProgressStore, fresh: bool) -> GuidePanel {
        let saved = if fresh {
            LessonProgress::default()
        } else {
            store.lesson(&scenario.name)
        };
        GuidePanel {
            walk: Walkthrough::new(scenario, saved),
            store,
            now_micros: 0,
            copied: None,
            number: 0.0,
            save_error: None,
            picked: false,
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

    /// The walk (tests read it).
    pub fn walk(&self) -> &Walkthrough {
        &self.walk
    }

    /// Moves to the next step (`forward`) or back to the previous one, as the buttons do.
    pub fn turn(&mut self, forward: bool) {
        if forward {
            self.walk.next();
        } else {
            self.walk.back();
        }
        self.save_if_changed();
    }

    /// Moves the lesson's clock, plays what is due and judges the step.
    pub fn tick(&mut self, snapshot: &Snapshot, now_micros: u64, time_scale: f64) {
        self.now_micros = now_micros;
        self.walk.tick(snapshot, now_micros, time_scale);
        self.save_if_changed();
    }

    /// A restore asked for by `take_commands` is done.
    pub fn restored(&mut self, tag: u64, done: &Restored) {
        self.walk.restored(tag, done);
    }

    /// How long until the step's next action is due (the window wakes up for it).
    pub fn next_wake(&self, time_scale: f64) -> Option<std::time::Duration> {
        self.walk
            .next_action_in()
            .map(|s| std::time::Duration::from_secs_f64(s * time_scale.max(1.0)))
    }

    /// What the lesson asks of the engine since the last call, to perform in order.
    #[must_use]
    pub fn take_commands(&mut self) -> Vec<GuideCommand> {
        self.walk.take_commands()
    }

    /// Draws the panel for the current step and handles its clicks.
    pub fn ui(&mut self, ui: &mut egui::Ui, addresses: &Addresses, theme: &Theme) {
        let Some(mut view) = self.walk.view(addresses) else {
            ui.label(body(
                theme,
                "This scenario has no guided steps.",
                theme.weak_text,
            ));
            return;
        };
        if let Some((words, raw)) = &mut view.look_at
            && raw == "request"
            && !self.picked
        {
            // Nothing is picked yet: say how to pick one.
            *words = "one request's journey (click any dot to pick it)".into();
        }
        let mut clicks = Vec::new();
        let copied = self.copied == Some(view.index);
        let save_error = self.save_error.clone();
        let number = &mut self.number;
        // The footer is a panel of its own at the bottom, so it stays in view; the step
        // scrolls in what is left.
        egui::Panel::bottom("guide-footer")
            .resizable(false)
            .show(ui, |ui| {
                footer_ui(ui, &view, theme, &mut clicks);
                if let Some(e) = &save_error {
                    ui.label(body(
                        theme,
                        &format!("Progress not saved: {e}"),
                        theme.weak_text,
                    ));
                }
            });
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                step_ui(ui, &view, copied, number, theme, &mut clicks);
            });
        for click in clicks {
            match click {
                Click::Back => self.walk.back(),
                Click::Next => self.walk.next(),
                Click::Restart => self.walk.restart(),
                Click::Resume => self.walk.resume(),
                Click::Answer(i) => self.walk.answer(i),
                Click::Predict(p) => self.walk.predict(p),
                Click::Press(i) => self.walk.press(i, self.now_micros),
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

/// Back, Next and Start over: always in view.
fn footer_ui(ui: &mut egui::Ui, view: &StepView, theme: &Theme, clicks: &mut Vec<Click>) {
    ui.add_space(4.0);
    ui.with_layout(Layout::left_to_right(Align::Center), |ui| {
        if ui
            .add_enabled(
                view.can_back,
                egui::Button::new(body(theme, "Back", theme.text)),
            )
            .on_hover_text("The previous step, with the world as it expects")
            .clicked()
        {
            clicks.push(Click::Back);
        }
        if ui
            .add_enabled(
                view.can_next,
                egui::Button::new(body(theme, "Next", theme.text).strong()),
            )
            .clicked()
        {
            clicks.push(Click::Next);
        }
        if ui
            .button(body(theme, "Start over", theme.weak_text))
            .on_hover_text("Step 1, with the world as the lesson starts")
            .clicked()
        {
            clicks.push(Click::Restart);
        }
        ui.label(body(
            theme,
            &format!("{} of {}", view.index + 1, view.total),
            theme.weak_text,
        ));
    });
}

fn step_ui(
    ui: &mut egui::Ui,
    view: &StepView,
    copied: bool,
    number: &mut f64,
    theme: &Theme,
    clicks: &mut Vec<Click>,
) {
    step_heading_ui(ui, view, theme, clicks);
    ui.add_space(4.0);
    step_text_ui(ui, view, theme);
    if let Some(p) = &view.predict {
        predict_ui(ui, p, number, theme, clicks);
    }
    if !view.buttons.is_empty() {
        step_buttons_ui(ui, view, theme, clicks);
    }
    if let Some(command) = &view.command {
        command_ui(ui, command, copied, theme, clicks);
    }
    ui.add_space(6.0);
    status_ui(ui, &view.status, theme);
    if let Some(q) = &view.question {
        question_ui(ui, q, theme, clicks);
    }
    ui.add_space(8.0);
}

/// Where the lesson stands, Resume when it was left at another step, the step's title
/// and its note.
fn step_heading_ui(ui: &mut egui::Ui, view: &StepView, theme: &Theme, clicks: &mut Vec<Click>) {
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
    if let Some(step) = view.resume {
        ui.horizontal_wrapped(|ui| {
            if ui
                .button(body(theme, &format!("Resume step {step}"), theme.text))
                .on_hover_text("Pick up where this lesson was left last time")
                .clicked()
            {
                clicks.push(Click::Resume);
            }
            ui.label(body(
                theme,
                "(saved from an earlier session)",
                theme.weak_text,
            ));
        });
    }
    ui.label(
        RichText::new(&view.title)
            .size(theme.heading_size)
            .strong()
            .color(theme.text),
    );
    if let Some(note) = &view.note {
        egui::Frame::group(ui.style())
            .stroke(egui::Stroke::new(1.5, theme.highlight))
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(body(theme, note, theme.text));
            });
    }
}

/// The step's text, what to look at, what to do and what it does by itself.
fn step_text_ui(ui: &mut egui::Ui, view: &StepView, theme: &Theme) {
    if !view.text.is_empty() {
        ui.label(body(theme, &view.text, theme.text));
    }
    if let Some((words, _)) = &view.look_at {
        ui.label(body(theme, &format!("Look at: {words}"), theme.weak_text));
    }
    if let Some(prompt) = &view.prompt {
        ui.label(body(theme, &format!("Do this: {prompt}"), theme.text));
    }
    if !view.timeline.is_empty() {
        ui.add_space(4.0);
        ui.label(body(theme, "This step does by itself:", theme.text).strong());
        for line in &view.timeline {
            ui.label(body(theme, &format!("  {line}"), theme.text));
        }
    }
}

/// The step's buttons (disabled until the prediction is made), and what stays after it.
fn step_buttons_ui(ui: &mut egui::Ui, view: &StepView, theme: &Theme, clicks: &mut Vec<Click>) {
    ui.add_space(4.0);
    ui.horizontal_wrapped(|ui| {
        ui.label(body(theme, "Press:", theme.text));
        for (i, b) in view.buttons.iter().enumerate() {
            let button = ui.add_enabled(
                b.enabled,
                egui::Button::new(body(theme, &b.label, theme.text)),
            );
            let button = match &b.does {
                Some(does) => button.on_hover_text(does),
                None => button,
            };
            let button = if b.enabled {
                button
            } else {
                button.on_disabled_hover_text("Make your prediction first")
            };
            if button.clicked() {
                clicks.push(Click::Press(i));
            }
        }
    });
    if let Some(keep) = &view.keep {
        ui.label(body(
            theme,
            &format!("Stays after this step: {keep}"),
            theme.weak_text,
        ));
    }
}

/// The command to try in a terminal, with Copy.
fn command_ui(
    ui: &mut egui::Ui,
    command: &str,
    copied: bool,
    theme: &Theme,
    clicks: &mut Vec<Click>,
) {
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
                clicks.push(Click::Copy(command.to_string()));
            }
            if copied {
                ui.label(body(theme, "Copied", theme.weak_text));
            }
        });
    });
}

/// The checkpoint, in words, never by colour alone (and only glyphs every font has).
fn status_ui(ui: &mut egui::Ui, status: &CheckStatus, theme: &Theme) {
    match status {
        CheckStatus::None => {}
        CheckStatus::Setup => {
            ui.label(body(theme, "Setting up this step…", theme.weak_text));
        }
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

fn predict_ui(
    ui: &mut egui::Ui,
    p: &PredictView,
    number: &mut f64,
    theme: &Theme,
    clicks: &mut Vec<Click>,
) {
    ui.add_space(4.0);
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(body(theme, "Predict first", theme.highlight).strong());
        ui.label(body(theme, &p.ask, theme.text).strong());
        let made = p.predicted.is_some();
        if p.choices.is_empty() {
            ui.horizontal(|ui| {
                ui.add_enabled(
                    !made,
                    egui::DragValue::new(number)
                        .speed(1.0)
                        .range(0.0..=1_000_000.0),
                );
                ui.label(body(theme, &p.unit, theme.text));
                if ui
                    .add_enabled(!made, egui::Button::new(body(theme, "Predict", theme.text)))
                    .clicked()
                {
                    clicks.push(Click::Predict(Prediction::Number(*number)));
                }
            });
        } else {
            for (i, choice) in p.choices.iter().enumerate() {
                let picked = p.chosen == Some(i);
                if ui
                    .add_enabled(
                        !made,
                        egui::RadioButton::new(picked, body(theme, choice, theme.text)),
                    )
                    .clicked()
                {
                    clicks.push(Click::Predict(Prediction::Choice(i)));
                }
            }
        }
        match (&p.predicted, &p.measured) {
            (None, _) => {
                ui.label(body(
                    theme,
                    "The step's action waits for your prediction.",
                    theme.weak_text,
                ));
            }
            (Some(said), None) => {
                ui.label(body(
                    theme,
                    &format!("You predicted: {said}. Measuring once the action has run…"),
                    theme.text,
                ));
            }
            (Some(said), Some(measured)) => {
                ui.label(body(theme, &format!("You predicted: {said}"), theme.text));
                ui.label(body(theme, &format!("Measured: {measured}"), theme.text).strong());
                match p.right {
                    Some(true) => {
                        ui.label(body(theme, "Borne out.", theme.hit).strong());
                    }
                    Some(false) => {
                        ui.label(body(theme, "Not what happened.", theme.miss).strong());
                    }
                    None => {}
                }
                if let Some(explain) = &p.explain {
                    ui.label(body(theme, explain, theme.text));
                }
            }
        }
    });
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
