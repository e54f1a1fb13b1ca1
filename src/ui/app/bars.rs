//! The window's bars: the top bar (scenario, View menu, window buttons, playback and slow
//! motion), the step-mode caption banner, the banner that says the trace spool stopped
//! keeping requests, and the scenario error box. Part of `HopscopeApp`.

use egui::{Frame, RichText, Slider, Stroke, Ui};

use super::HopscopeApp;
use crate::scenario::Command;
use crate::trace::{Format, StopReason};
use crate::ui::command::UiCommand;
use crate::ui::live::Live;
use crate::ui::step::CaptionContext;

impl HopscopeApp {
    pub(super) fn top_bar_ui(&mut self, ui: &mut Ui) {
        egui::Panel::top("top bar").show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.heading("hopscope");
                if let Some(live) = &self.live {
                    ui.label(RichText::new(&live.name).strong())
                        .on_hover_text(&live.summary);
                }
                ui.separator();
                self.file_menu_ui(ui);
                if ui
                    .button("Open…")
                    .on_hover_text("Open a scenario (.toml) or a recorded trace (.json)")
                    .clicked()
                {
                    self.commands.push(UiCommand::ShowOpener(true));
                }
                self.view_menu_ui(ui);
                let mut presentation = self.theme.presentation;
                if ui
                    .checkbox(&mut presentation, "Presentation")
                    .on_hover_text("Large text and dots, high contrast, for projectors (key p)")
                    .changed()
                {
                    self.commands.push(UiCommand::SetPresentation(presentation));
                }
                let mut controls = self.show_controls;
                if ui
                    .checkbox(&mut controls, "Controls")
                    .on_hover_text("Show or hide the live controls")
                    .changed()
                {
                    self.commands.push(UiCommand::ShowControls(controls));
                }
                let mut details = self.show_details;
                if ui
                    .checkbox(&mut details, "Details")
                    .on_hover_text("Show or hide the request and totals panels")
                    .changed()
                {
                    self.commands.push(UiCommand::ShowDetails(details));
                }
                if ui.button("Help ?").clicked() {
                    self.commands.push(UiCommand::ShowHelp(!self.help_open));
                }
            });
            if let Some(replay) = &mut self.replay {
                replay.bar_ui(ui, &self.theme, &mut self.commands);
            } else if let Some(live) = self.live.clone() {
                ui.horizontal(|ui| self.playback_ui(ui, &live));
            }
        });
    }

    fn file_menu_ui(&mut self, ui: &mut Ui) {
        let live = self.session.is_some();
        ui.menu_button("File", |ui| {
            if ui.button("Open scenario or trace…").clicked() {
                self.commands.push(UiCommand::ShowOpener(true));
                ui.close();
            }
            ui.separator();
            ui.add_enabled_ui(live, |ui| {
                ui.menu_button("Export trace", |ui| {
                    for format in Format::ALL {
                        let label = match format {
                            Format::Json => "hopscope JSON trace (open it again to replay)",
                            Format::Har => "HAR (browser network panels)",
                            Format::Perfetto => "Perfetto / Chrome trace (ui.perfetto.dev)",
                            Format::Csv => "CSV of per-second metrics (spreadsheets)",
                        };
                        if ui.button(label).clicked() {
                            self.commands.push(UiCommand::ExportTrace(format));
                            ui.close();
                        }
                    }
                });
                if ui
                    .button("Save settings as a scenario")
                    .on_hover_text("Write the running settings (servers, policy, cache, rate…) to a .toml file")
                    .clicked()
                {
                    self.commands.push(UiCommand::SaveSettings);
                    ui.close();
                }
                if ui.button("Reset the run").on_hover_text("Start this scenario again from scratch").clicked() {
                    self.commands.push(UiCommand::ResetRun);
                    ui.close();
                }
            });
            if ui.button("Save screenshot (PNG)").clicked() {
                self.commands.push(UiCommand::Screenshot(None));
                ui.close();
            }
        });
    }

    fn view_menu_ui(&mut self, ui: &mut Ui) {
        ui.menu_button("View", |ui| {
            let mut smooth = self.prefs.smooth_motion;
            if ui
                .checkbox(&mut smooth, "Smooth motion (60 frames a second)")
                .on_hover_text(
                    "Off: dots move at 30 frames a second and the window rests when nothing moves, \
                     sparing the laptop's fan and battery",
                )
                .changed()
            {
                self.commands.push(UiCommand::SetSmoothMotion(smooth));
                ui.close();
            }
        });
    }

    fn playback_ui(&mut self, ui: &mut Ui, live: &Live) {
        let pause = if live.paused { "Resume" } else { "Pause" };
        if ui
            .button(pause)
            .on_hover_text("Stop or restart the generated traffic (key Space)")
            .clicked()
        {
            self.commands.push(UiCommand::TogglePause);
        }
        let can_send = !self.step.on || self.step.can_send(live);
        if ui
            .add_enabled(can_send, egui::Button::new("Send one request"))
            .on_hover_text("Send the next request of the traffic mix now (key r)")
            .clicked()
        {
            self.commands.push(UiCommand::SendOne);
        }
        let mut on = self.step.on;
        if ui
            .checkbox(&mut on, "Step mode")
            .on_hover_text("One request waits at every hop until you press Next hop (key s)")
            .changed()
        {
            self.commands.push(UiCommand::SetStepMode(on));
        }
        if self.step.on
            && ui
                .add_enabled(self.step.can_step(live), egui::Button::new("Next hop"))
                .on_hover_text("Let the stepped request take one more hop (key n)")
                .clicked()
        {
            self.commands.push(UiCommand::NextHop);
        }
        ui.add_space(ui.spacing().item_spacing.x * 3.0);
        if !self.scale_dragging {
            self.time_scale = live.time_scale;
        }
        let r = ui
            .add(
                Slider::new(&mut self.time_scale, 1.0..=50.0)
                    .logarithmic(true)
                    .suffix("×")
                    .text("slow motion"),
            )
            .on_hover_text("Every injected delay is stretched by this factor");
        self.scale_dragging = r.dragged();
        if r.drag_stopped() || (r.changed() && !r.dragged()) {
            self.commands
                .engine(Command::TimeScale(self.time_scale.max(1.0)));
        }
        ui.label(format!("{} in flight", live.snapshot.in_flight.len()));
    }

    pub(super) fn step_banner_ui(&self, ui: &mut Ui, live: &Live) {
        let Some(session) = &self.session else {
            return;
        };
        let ctx = CaptionContext {
            edge: live.edge,
            zone: live.addresses.zone.clone(),
            ttl: session.scenario.dns.ttl.to_string(),
        };
        Frame::new()
            .fill(self.theme.banner)
            .stroke(Stroke::new(2.0, self.theme.highlight))
            .inner_margin(self.theme.body_size * 0.6)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(
                    RichText::new(self.step.heading(live))
                        .strong()
                        .color(self.theme.text),
                );
                ui.label(
                    RichText::new(self.step.caption(live, &ctx))
                        .size(self.theme.body_size * 1.15)
                        .color(self.theme.text),
                );
                let next = if self.step.can_step(live) {
                    "Press “Next hop” (n) to let it take the next hop."
                } else if self.step.can_send(live) {
                    "Press “Send one request” (r) to follow a new request."
                } else {
                    "…"
                };
                ui.label(RichText::new(next).color(self.theme.weak_text));
            });
    }

    /// Says, until hidden, that the trace spool stopped keeping requests (full, or a failed
    /// write): exports hold only the first ones, while counts and plots stay complete.
    pub(super) fn spool_banner_ui(&self, ui: &mut Ui, live: &Live) {
        let Some(stop) = &live.snapshot.spool_stop else {
            return;
        };
        let hidden_id = ui.make_persistent_id(("spool banner hidden", &stop.message));
        if ui.data(|d| d.get_temp::<bool>(hidden_id)).unwrap_or(false) {
            return;
        }
        let title = match stop.reason {
            StopReason::SpoolLimit => "Trace spool full",
            StopReason::WriteFailed => "Trace spool not written",
        };
        Frame::new()
            .fill(self.theme.banner)
            .stroke(Stroke::new(2.0, self.theme.error))
            .inner_margin(self.theme.body_size * 0.4)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.horizontal_wrapped(|ui| {
                    ui.label(
                        RichText::new(format!(
                            "{title}: exports hold the first {} requests",
                            stop.requests_kept
                        ))
                        .strong()
                        .color(self.theme.text),
                    );
                    if ui.small_button("Hide").clicked() {
                        ui.data_mut(|d| d.insert_temp(hidden_id, true));
                    }
                });
                ui.label(
                    RichText::new(format!(
                        "{}. Every request is still counted: plots, totals and the summary stay complete.",
                        capitalised(&stop.message)
                    ))
                    .color(self.theme.text),
                );
            });
    }

    pub(super) fn error_ui(&mut self, ui: &mut Ui) {
        let Some(error) = &self.error else {
            return;
        };
        let mut dismiss = false;
        Frame::new()
            .fill(self.theme.panel)
            .stroke(Stroke::new(2.0, self.theme.error))
            .inner_margin(self.theme.body_size * 0.6)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(
                    RichText::new("The scenario could not be opened")
                        .strong()
                        .color(self.theme.error),
                );
                ui.label(RichText::new(error).monospace().color(self.theme.text));
                dismiss = ui.button("Dismiss").clicked();
            });
        if dismiss {
            self.commands.push(UiCommand::DismissError);
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
