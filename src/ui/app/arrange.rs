//! Where the panels go around the canvas each frame: the lesson or controls on the left, the
//! plots and the request inspector when the details are shown, the canvas in what is left
//! (at least half the window's width: the side panels give way first), then the overlays
//! (help, the scenario opener).

use egui::{Frame, ScrollArea, Ui};

use super::HopscopeApp;
use crate::ui::command::UiCommand;
use crate::ui::docks::LeftTab;
use crate::ui::help;
use crate::ui::live::ScenarioSource;
use crate::ui::panels::PanelContext;
use crate::ui::status::toasts_ui;

/// The least share of the window's width the canvas keeps when panels are open beside it.
const CANVAS_SHARE: f32 = 0.5;
/// The most of the window's width the left panel (lesson, controls) takes.
const CONTROLS_SHARE: f32 = 0.3;

impl HopscopeApp {
    /// Draws every panel; what they ask for is queued in `self.commands`.
    pub(super) fn draw(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        self.top_bar_ui(ui);
        let Some(live) = self.live.clone() else {
            egui::CentralPanel::default().show(ui, |ui| {
                ui.heading("No scenario is running");
                self.error_ui(ui);
                if ui.button("Open a scenario…").clicked() {
                    self.commands.push(UiCommand::ShowOpener(true));
                }
            });
            self.overlays_ui(&ctx);
            return;
        };
        let body = self.theme.body_size;
        // The canvas keeps at least half the window's width: the side panels give way first.
        let width = ui.available_width();
        let mut left_width = 0.0;
        if self.show_controls {
            let max = (width * CONTROLS_SHARE).max(body * 12.0);
            left_width = egui::Panel::left("controls")
                .resizable(true)
                .default_size((body * 19.0).min(max))
                .max_size(max)
                .show(ui, |ui| {
                    self.docks.left_tabs_ui(ui);
                    if self.replay.is_some() {
                        ui.label("Replaying a recorded run: nothing is running, so the controls are off. Use the timeline above, or “Back to live”.");
                    } else if self.docks.left == LeftTab::Lesson {
                        let cx = PanelContext {
                            live: &live,
                            theme: &self.theme,
                            selected: self.selected,
                            log: &self.log,
                        };
                        self.docks.guide_ui(ui, &cx);
                    } else {
                        ScrollArea::vertical().show(ui, |ui| {
                            ui.heading("Controls");
                            self.controls.ui(ui, &live, &mut self.commands);
                        });
                    }
                })
                .response
                .rect
                .width();
        }
        if self.show_details {
            let cx = PanelContext {
                live: &live,
                theme: &self.theme,
                selected: self.selected,
                log: &self.log,
            };
            let scenario = self.session.as_ref().map(|s| s.scenario.clone());
            // At most half the window: the canvas is the point.
            let max = (ui.available_height() * 0.5).max(body * 10.0);
            egui::Panel::bottom("totals")
                .resizable(true)
                .default_size((body * 20.0).max(max * 0.75).min(max))
                .max_size(max)
                .show(ui, |ui| {
                    self.docks
                        .bottom_ui(ui, &cx, scenario.as_ref(), &mut self.commands)
                });
        }
        // Projected on a small screen the request list would leave the canvas too little;
        // it comes back when a request is picked.
        let room_for_list = !self.presentation() || width >= body * 60.0;
        if self.show_details && (room_for_list || self.selected.is_some()) {
            let cx = PanelContext {
                live: &live,
                theme: &self.theme,
                selected: self.selected,
                log: &self.log,
            };
            let max = (width * (1.0 - CANVAS_SHARE) - left_width).max(body * 12.0);
            egui::Panel::right("request")
                .resizable(true)
                .default_size((body * 30.0).min(max))
                .max_size(max)
                .show(ui, |ui| self.docks.right_ui(ui, &cx, &mut self.commands));
        }
        egui::CentralPanel::default()
            .frame(Frame::NONE.fill(self.theme.background))
            .show(ui, |ui| {
                self.error_ui(ui);
                self.spool_banner_ui(ui, &live);
                if self.step.on {
                    self.step_banner_ui(ui, &live);
                }
                let highlight = self.step.stepped.or(self.selected);
                self.topology.set_spotlight(self.docks.look_at());
                self.report =
                    self.topology
                        .ui(ui, &live, &self.theme, highlight, &mut self.commands);
                toasts_ui(ui.painter(), &self.theme, &self.log, self.report.area);
            });
        self.overlays_ui(&ctx);
    }

    fn overlays_ui(&mut self, ctx: &egui::Context) {
        help::overlay_ui(ctx, self.help_open, &mut self.commands);
        let recent = self.prefs.recent.clone();
        let source = self
            .session
            .as_ref()
            .map_or(ScenarioSource::Inline, |s| s.source.clone());
        self.opener.ui(ctx, &recent, &source, &mut self.commands);
    }
}
