//! The scaling sweep in the window: choose how many servers to try, how long each run lasts
//! and, if the scenario's traffic is too light, a higher rate; run it on a background thread
//! (`hopscope-sweep`, never the UI thread) with visible progress and a Cancel button; plot
//! latency p50/p99, throughput, hit ratio and the 503 share against the number of servers
//! as the rows arrive. The same code runs headless as `hopscope sweep`.

use std::sync::Arc;
use std::time::Duration;

use egui::{Grid, ProgressBar, RichText, Ui};

use crate::scenario::Scenario;
use crate::sweep::{
    self, MAX_SERVERS, SweepConfig, SweepEvent, SweepHandle, SweepMessage, SweepRow,
};
use crate::ui::theme::Theme;

mod chart;

use chart::{chart_ui, charts};

/// Where the sweep stands.
#[derive(Clone, Debug, PartialEq)]
pub enum SweepStatus {
    /// Nothing run yet.
    Idle,
    /// Running: run `index` (0-based) of `runs`, with `servers` servers, `fraction` done.
    Running {
        index: usize,
        runs: usize,
        servers: usize,
        fraction: f32,
        ended: u64,
    },
    /// Every run finished.
    Done,
    /// Stopped early, with why.
    Stopped(String),
}

/// The sweep panel.
pub struct SweepPanel {
    /// Most servers to try (from 1).
    pub max_servers: usize,
    /// Seconds each run measures.
    pub seconds_each: u32,
    /// Send `rate` requests per second instead of the scenario's rate.
    pub override_rate: bool,
    /// The rate used when `override_rate` is on.
    pub rate: f64,
    status: SweepStatus,
    rows: Vec<SweepRow>,
    /// The scenario name and rate of the rows shown.
    about: String,
    handle: Option<SweepHandle>,
}

impl Default for SweepPanel {
    fn default() -> Self {
        SweepPanel {
            max_servers: 6,
            seconds_each: 5,
            override_rate: false,
            rate: 200.0,
            status: SweepStatus::Idle,
            rows: Vec::new(),
            about: String::new(),
            handle: None,
        }
    }
}

impl SweepPanel {
    /// A panel ready to sweep 1..6 servers for 5 s each.
    pub fn new() -> SweepPanel {
        SweepPanel::default()
    }

    /// Where the sweep stands.
    pub fn status(&self) -> &SweepStatus {
        &self.status
    }

    /// The rows measured so far.
    pub fn rows(&self) -> &[SweepRow] {
        &self.rows
    }

    /// Whether a sweep is running.
    pub fn is_running(&self) -> bool {
        matches!(self.status, SweepStatus::Running { .. })
    }

    fn config(&self) -> SweepConfig {
        SweepConfig {
            min_servers: 1,
            max_servers: self.max_servers.clamp(1, MAX_SERVERS),
            duration_each: Duration::from_secs(u64::from(self.seconds_each.max(1))),
            rate: self.override_rate.then_some(self.rate),
        }
    }

    /// Starts a sweep of `scenario` on the background thread.
    pub fn start(&mut self, scenario: &Scenario, ctx: &egui::Context) {
        let config = self.config();
        let rate = config.rate.unwrap_or(scenario.traffic.rate);
        self.about = format!(
            "{} at {rate:.0} requests/s, {} s per run",
            scenario.name, self.seconds_each
        );
        self.rows.clear();
        let ctx = ctx.clone();
        // At most one frame per frame budget, however often the sweep reports.
        let wake: Arc<dyn Fn() + Send + Sync> =
            Arc::new(move || ctx.request_repaint_after(super::repaint::FRAME_BUDGET));
        match SweepHandle::spawn(scenario.clone(), config.clone(), Some(wake)) {
            Ok(h) => {
                self.handle = Some(h);
                self.status = SweepStatus::Running {
                    index: 0,
                    runs: config.runs(),
                    servers: config.min_servers,
                    fraction: 0.0,
                    ended: 0,
                };
            }
            Err(e) => {
                self.status = SweepStatus::Stopped(format!("cannot start the sweep's thread: {e}"))
            }
        }
    }

    /// Asks the running sweep to stop.
    pub fn cancel(&mut self) {
        if let Some(h) = &self.handle {
            h.cancel();
        }
    }

    /// Takes what the background thread reported since the last frame.
    fn poll(&mut self) {
        let Some(handle) = &self.handle else {
            return;
        };
        for message in handle.poll() {
            match message {
                SweepMessage::Event(SweepEvent::Progress {
                    index,
                    runs,
                    servers,
                    fraction,
                    ended,
                }) => {
                    self.status = SweepStatus::Running {
                        index,
                        runs,
                        servers,
                        fraction,
                        ended,
                    }
                }
                SweepMessage::Event(SweepEvent::Row(row)) => self.rows.push(row),
                SweepMessage::Done(Ok(_)) => self.status = SweepStatus::Done,
                SweepMessage::Done(Err(why)) => self.status = SweepStatus::Stopped(why),
            }
        }
        if !matches!(self.status, SweepStatus::Running { .. }) || handle.is_finished() {
            if matches!(self.status, SweepStatus::Running { .. }) {
                self.status = SweepStatus::Stopped("the sweep's thread ended early".into());
            }
            self.handle = None;
        }
    }

    /// Draws the settings, progress and result plots; `scenario` is what Run sweeps.
    pub fn ui(&mut self, ui: &mut Ui, scenario: &Scenario, theme: &Theme) {
        self.poll();
        if self.is_running() {
            ui.ctx().request_repaint_after(Duration::from_millis(250));
        }
        ui.scope(|ui| {
            theme.apply_text_sizes(ui.style_mut());
            self.controls_ui(ui, scenario, theme);
            ui.separator();
            if self.rows.is_empty() {
                ui.label(
                    RichText::new("Each run starts a fresh copy of the scenario with that many servers (same seed, so the same traffic; its timed events off) and measures it. Results appear here run by run.")
                        .color(theme.weak_text),
                );
                return;
            }
            ui.label(RichText::new(format!("Results: {}", self.about)).strong());
            results_ui(ui, &self.rows, theme);
        });
    }

    fn controls_ui(&mut self, ui: &mut Ui, scenario: &Scenario, theme: &Theme) {
        let running = self.is_running();
        ui.horizontal_wrapped(|ui| {
            ui.add_enabled_ui(!running, |ui| {
                let label = ui.label("servers from 1 to");
                ui.add(egui::DragValue::new(&mut self.max_servers).range(1..=MAX_SERVERS))
                    .labelled_by(label.id);
                let label = ui.label("seconds per run");
                ui.add(egui::DragValue::new(&mut self.seconds_each).range(1..=120))
                    .labelled_by(label.id);
                let label = ui.checkbox(&mut self.override_rate, "own rate");
                ui.add_enabled(
                    self.override_rate,
                    egui::DragValue::new(&mut self.rate)
                        .range(1.0..=5000.0)
                        .suffix(" req/s"),
                )
                .labelled_by(label.id);
            });
            if running {
                if ui.button("Cancel").clicked() {
                    self.cancel();
                }
            } else if ui.button("Run sweep").clicked() {
                self.start(scenario, ui.ctx());
            }
        });
        let rate = if self.override_rate {
            self.rate
        } else {
            scenario.traffic.rate
        };
        let runs = self.max_servers.clamp(1, MAX_SERVERS);
        ui.label(
            RichText::new(format!(
                "{runs} runs of {} s: about {} s in all.",
                self.seconds_each,
                runs as u64 * (u64::from(self.seconds_each) + 2)
            ))
            .color(theme.weak_text),
        );
        if let Some(cap) = sweep::server_capacity_rps(scenario)
            && rate < cap
        {
            ui.label(
                RichText::new(format!(
                    "Light traffic: {rate:.0} requests/s is less than one server can answer (about {cap:.0}/s), so adding servers will change little. Tick \"own rate\" and choose more than {cap:.0}/s, or open a scenario made for scaling."
                ))
                .color(theme.text),
            );
        }
        match &self.status {
            SweepStatus::Running {
                index,
                runs,
                servers,
                fraction,
                ended,
            } => {
                let overall = (*index as f32 + fraction) / (*runs).max(1) as f32;
                ui.add(ProgressBar::new(overall).text(format!(
                    "run {} of {runs}: {servers} server{}, {:.0}% ({ended} requests)",
                    index + 1,
                    if *servers == 1 { "" } else { "s" },
                    fraction * 100.0
                )));
            }
            SweepStatus::Done => {
                ui.label(format!("Done: {} runs.", self.rows.len()));
            }
            SweepStatus::Stopped(why) => {
                ui.label(RichText::new(format!("Stopped: {why}")).color(theme.text));
            }
            SweepStatus::Idle => {}
        }
    }
}

fn results_ui(ui: &mut Ui, rows: &[SweepRow], theme: &Theme) {
    let table_h = theme.row_height() * (rows.len() as f32 + 3.0);
    let charts = charts();
    if ui.available_width() > theme.body_size * 36.0 {
        // The charts (title, legend and plot) fill the panel's height; the table follows
        // them (in view when there is room, a scroll away on a short screen), so no chart
        // runs off the window.
        let room = ui.available_height() - ui.spacing().item_spacing.y * 2.0;
        let height = if room - table_h >= theme.body_size * 14.0 {
            room - table_h
        } else {
            room.max(theme.body_size * 10.0)
        };
        ui.columns(3, |cols| {
            for (col, chart) in cols.iter_mut().zip(&charts) {
                chart_ui(col, chart, rows, theme, height);
            }
        });
    } else {
        // Too narrow for three side by side: one under another, a third of the height each.
        let each = (ui.available_height() / 3.0 - ui.spacing().item_spacing.y * 2.0)
            .max(theme.body_size * 10.0);
        for chart in &charts {
            chart_ui(ui, chart, rows, theme, each);
        }
    }
    ui.add_space(theme.body_size * 0.5);
    table_ui(ui, rows, theme);
}

fn table_ui(ui: &mut Ui, rows: &[SweepRow], theme: &Theme) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Per run").heading());
        if ui.button("Copy as CSV").clicked() {
            ui.ctx().copy_text(sweep::csv(rows));
        }
    });
    Grid::new("sweep-table")
        .striped(true)
        .spacing([theme.body_size * 1.5, 4.0])
        .show(ui, |ui| {
            for h in [
                "servers",
                "requests",
                "ok/s",
                "p50 ms",
                "p99 ms",
                "hit ratio",
                "503s",
            ] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for r in rows {
                ui.label(r.servers.to_string());
                ui.label(r.requests.to_string());
                ui.label(format!("{:.1}", r.throughput_rps));
                ui.label(format!("{:.1}", r.p50_ms));
                ui.label(format!("{:.1}", r.p99_ms));
                ui.label(format!("{:.0}%", r.hit_ratio * 100.0));
                ui.label(format!("{:.0}%", r.share_503 * 100.0));
                ui.end_row();
            }
        });
}

#[cfg(test)]
mod tests {
    use egui_kittest::Harness;

    use super::*;
    use crate::scenario::{builtin, load_str};
    use crate::ui::plots::readout::read_plot;

    fn row(servers: usize) -> SweepRow {
        let n = servers as f64;
        SweepRow {
            servers,
            requests: 500,
            throughput_rps: 40.0 * n,
            p50_ms: 80.0 / n,
            p95_ms: 150.0 / n,
            p99_ms: 240.0 / n,
            hit_ratio: 0.5,
            share_503: 0.3 / n,
            share_failed: 0.0,
        }
    }

    #[test]
    fn the_sweep_plots_number_servers_and_values_at_class_sizes() {
        let b = builtin("default").expect("built-in");
        let scenario = load_str(b.name, b.text).expect("valid");
        for theme in [Theme::normal(), Theme::presentation()] {
            for size in [[1280.0, 720.0], [1920.0, 1080.0]] {
                let mut panel = SweepPanel::new();
                panel.rows = (1..=6).map(row).collect();
                panel.status = SweepStatus::Done;
                let (t, s) = (theme.clone(), scenario.clone());
                let mut h = Harness::builder()
                    .with_size(size)
                    .build_ui_state(move |ui, p: &mut SweepPanel| p.ui(ui, &s, &t), panel);
                theme.apply(&h.ctx);
                h.run_steps(3);
                let what = format!("{size:?}, presentation {}", theme.presentation);
                let screen = h.ctx.content_rect();
                for name in ["sweep-latency", "sweep-throughput", "sweep-shares"] {
                    let plot = read_plot(&h.ctx, &h.output().shapes, name)
                        .unwrap_or_else(|| panic!("{what}: {name} is drawn"));
                    assert_eq!(
                        plot.x_texts(),
                        ["1", "2", "3", "4", "5", "6"],
                        "{what}: {name} numbers the servers"
                    );
                    assert!(
                        plot.y_ticks.len() >= 2,
                        "{what}: {name}: {:?}",
                        plot.y_texts()
                    );
                    let problems = plot.problems(screen);
                    assert!(problems.is_empty(), "{what}: {name}: {problems:?}");
                }
            }
        }
    }
}
