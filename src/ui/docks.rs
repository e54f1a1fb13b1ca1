//! The panels docked around the canvas: the request inspector on the right; the run's
//! activity, the plots and the scaling sweep as tabs at the bottom; the lesson guide beside
//! the live controls on the left. They read the frame's `PanelContext` and push
//! `UiCommand`s, like every panel.

use egui::Ui;

use super::command::{Commands, UiCommand};
use super::guide::GuidePanel;
use super::inspector::InspectorPanel;
use super::live::Live;
use super::panels::{PanelContext, bottom_panel_ui};
use super::plots::{PlotView, PlotsPanel};
use super::sweep_panel::SweepPanel;
use crate::lesson::{GuideCommand, ProgressStore};
use crate::scenario::Scenario;

/// The bottom panel's tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BottomTab {
    Plots,
    Activity,
    Sweep,
}

/// The left panel's tabs (the lesson tab exists when the scenario has steps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeftTab {
    Lesson,
    Controls,
}

/// The docked panels' state.
pub struct Docks {
    pub inspector: InspectorPanel,
    pub plots: PlotsPanel,
    pub sweep: SweepPanel,
    pub guide: Option<GuidePanel>,
    pub bottom: BottomTab,
    pub left: LeftTab,
    /// The lesson's last `look_at`, so a new one turns the plots once and then leaves them
    /// to the learner.
    looked: Option<String>,
}

impl Docks {
    /// Panels for `scenario`; its lesson (if it has steps) opens on the left, at its first
    /// step (saved progress is offered as "Resume" unless `fresh`).
    pub fn new(scenario: &Scenario, progress: ProgressStore, fresh: bool) -> Docks {
        let guide =
            (!scenario.steps.is_empty()).then(|| GuidePanel::new(scenario, progress, fresh));
        Docks {
            inspector: InspectorPanel::new(),
            plots: PlotsPanel::new(),
            sweep: SweepPanel::new(),
            left: if guide.is_some() {
                LeftTab::Lesson
            } else {
                LeftTab::Controls
            },
            bottom: BottomTab::Plots,
            guide,
            looked: None,
        }
    }

    /// What the current lesson step asks to look at (`cdn`, `server-2`, `plot:latency`…).
    pub fn look_at(&self) -> Option<&str> {
        if self.left == LeftTab::Lesson {
            self.guide.as_ref().and_then(GuidePanel::look_at)
        } else {
            None
        }
    }

    /// The request inspector.
    pub fn right_ui(&mut self, ui: &mut Ui, cx: &PanelContext<'_>, out: &mut Commands) {
        if self.inspector.addresses.as_ref() != Some(&cx.live.addresses) {
            self.inspector.addresses = Some(cx.live.addresses.clone());
        }
        let mut selected = cx.selected;
        self.inspector
            .ui(ui, &cx.live.snapshot, cx.theme, &mut selected);
        if selected != cx.selected {
            out.push(UiCommand::Select(selected));
        }
    }

    /// The bottom tabs: plots, activity, scaling sweep.
    pub fn bottom_ui(
        &mut self,
        ui: &mut Ui,
        cx: &PanelContext<'_>,
        scenario: Option<&Scenario>,
        out: &mut Commands,
    ) {
        let look = self.look_at().map(str::to_owned);
        if look != self.looked {
            if let Some(plot) = look.as_deref().and_then(|l| l.strip_prefix("plot:")) {
                // The step is about one plot: show it big.
                self.bottom = BottomTab::Plots;
                self.plots.view = match plot {
                    "hit_ratio" => PlotView::HitRatio,
                    "latency" => PlotView::Latency,
                    "throughput" => PlotView::Throughput,
                    "queue" | "load" | "server_load" => PlotView::ServerLoad,
                    _ => PlotView::All,
                };
            }
            self.looked = look;
        }
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.bottom, BottomTab::Plots, "Plots")
                .on_hover_text("Hit ratio, latency, throughput and server load over time");
            ui.selectable_value(&mut self.bottom, BottomTab::Activity, "Activity")
                .on_hover_text("Totals, the latest changes and the answers to your commands");
            if scenario.is_some() {
                ui.selectable_value(&mut self.bottom, BottomTab::Sweep, "Scaling sweep")
                    .on_hover_text("Run this scenario with 1, 2, 3… servers and compare");
            }
        });
        ui.separator();
        // What does not fit scrolls: the panel keeps the size it was given.
        let budget = ui.available_height();
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| match (self.bottom, scenario) {
                (BottomTab::Plots, _) => {
                    self.plots
                        .ui_within(ui, &cx.live.snapshot, cx.theme, budget)
                }
                (BottomTab::Sweep, Some(s)) => {
                    ui.set_max_height(budget);
                    self.sweep.ui(ui, s, cx.theme)
                }
                _ => bottom_panel_ui(ui, cx, out),
            });
    }

    /// The tab row of the left panel (when there is a lesson).
    pub fn left_tabs_ui(&mut self, ui: &mut Ui) {
        if self.guide.is_some() {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.left, LeftTab::Lesson, "Lesson");
                ui.selectable_value(&mut self.left, LeftTab::Controls, "Controls");
            });
            ui.separator();
        }
    }

    /// The lesson guide, when its tab is shown.
    pub fn guide_ui(&mut self, ui: &mut Ui, cx: &PanelContext<'_>) {
        if let Some(guide) = &mut self.guide {
            guide.picked = cx.selected.is_some();
            guide.ui(ui, &cx.live.addresses, cx.theme);
        }
    }

    /// Every frame, shown or not: the lesson's clock moves, its due actions play and its
    /// checkpoint is judged; what it asks of the engine is queued in order.
    pub fn tick_guide(&mut self, live: &Live, out: &mut Commands) {
        let Some(guide) = &mut self.guide else {
            return;
        };
        guide.tick(&live.snapshot, live.now_micros, live.time_scale);
        let ops: Vec<GuideCommand> = guide.take_commands();
        if !ops.is_empty() {
            out.push(UiCommand::Lesson(ops));
        }
    }
}
