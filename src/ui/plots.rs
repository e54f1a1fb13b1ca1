//! Live plots with egui_plot: cache hit ratio, latency p50/p95/p99, throughput by status
//! class and per-server load (served per second, queue depth), over time, with a dashed
//! vertical line wherever the topology or a setting changed (hover it to read what).
//!
//! Shown all four at once or one at a time. Every line is named in the legend and at its
//! end, and lines differ by dash or marker shape as well as colour, so nothing is told by
//! colour alone; text uses the theme's sizes, so presentation mode stays legible.

pub mod axes;
mod chart;
mod legend;
mod model;
pub mod readout;
mod theory;

use chart::{ChartOpts, Styled, chart_ui};
pub(crate) use legend::{LegendEntry, legend_row};

use std::sync::Arc;

use egui::{RichText, Ui};
use egui_plot::{LineStyle, MarkerShape};

pub use model::{ChangeLine, PlotsModel, Series};
pub use theory::TheoryLines;

use crate::trace::metrics::SecondMetrics;
use crate::trace::{Marker, Snapshot};
use crate::ui::theme::{DotShape, Theme};

/// Which plots are on screen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlotView {
    /// All four in a grid.
    #[default]
    All,
    HitRatio,
    Latency,
    Throughput,
    ServerLoad,
}

impl PlotView {
    const ALL: [PlotView; 5] = [
        PlotView::All,
        PlotView::HitRatio,
        PlotView::Latency,
        PlotView::Throughput,
        PlotView::ServerLoad,
    ];

    fn label(self) -> &'static str {
        match self {
            PlotView::All => "All",
            PlotView::HitRatio => "Cache hit ratio",
            PlotView::Latency => "Latency",
            PlotView::Throughput => "Throughput",
            PlotView::ServerLoad => "Server load",
        }
    }
}

/// How much history the plots show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeWindow {
    /// The last minute.
    #[default]
    Minute,
    /// The last five minutes.
    FiveMinutes,
    /// Since the start.
    Whole,
}

impl TimeWindow {
    fn secs(self) -> Option<f64> {
        match self {
            TimeWindow::Minute => Some(60.0),
            TimeWindow::FiveMinutes => Some(300.0),
            TimeWindow::Whole => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            TimeWindow::Minute => "last minute",
            TimeWindow::FiveMinutes => "last 5 minutes",
            TimeWindow::Whole => "whole run",
        }
    }
}

/// The plots panel.
#[derive(Default)]
pub struct PlotsPanel {
    /// Which plots are shown.
    pub view: PlotView,
    /// How much history.
    pub window: TimeWindow,
    cache: Option<Cached>,
    /// What theory predicts for the running scenario (overlay lines), once told.
    theory: Option<crate::theory::Theory>,
}

struct Cached {
    seconds: Arc<Vec<SecondMetrics>>,
    markers: Arc<Vec<Marker>>,
    window: TimeWindow,
    model: PlotsModel,
}

impl PlotsPanel {
    /// All four plots, the last minute.
    pub fn new() -> PlotsPanel {
        PlotsPanel::default()
    }

    /// Shows theory's predictions for `scenario` (as configured) next to the measurements:
    /// call when a scenario starts. Lines appear only where the theory's assumptions hold;
    /// elsewhere a note says why not.
    pub fn set_scenario(&mut self, scenario: &crate::scenario::Scenario) {
        self.theory = Some(crate::theory::predict(scenario));
        self.cache = None;
    }

    /// The data the plots show for `snapshot` (rebuilt only when a second closes, a marker
    /// arrives or the window changes).
    pub fn model(&mut self, snapshot: &Snapshot) -> &PlotsModel {
        let fresh = self.cache.as_ref().is_some_and(|c| {
            Arc::ptr_eq(&c.seconds, &snapshot.seconds)
                && Arc::ptr_eq(&c.markers, &snapshot.markers)
                && c.window == self.window
        });
        if !fresh {
            self.cache = None;
        }
        let window = self.window;
        let theory = &self.theory;
        let cached = self.cache.get_or_insert_with(|| {
            let now_secs = snapshot
                .seconds
                .last()
                .map_or(0.0, |m| m.second as f64 + 1.0);
            let mut model = model::build(
                &snapshot.seconds,
                &snapshot.markers,
                now_secs,
                window.secs(),
            );
            if let Some(t) = theory {
                model.theory = theory::lines(t, snapshot, model.x_range);
            }
            Cached {
                seconds: snapshot.seconds.clone(),
                markers: snapshot.markers.clone(),
                window,
                model,
            }
        });
        &cached.model
    }

    /// Which plots and how much history: a row of buttons, or two drop-downs where the
    /// buttons would take two rows (a short panel needs its height for the charts).
    fn choices_ui(&mut self, ui: &mut Ui, theme: &Theme) {
        const WINDOWS: [TimeWindow; 3] = [
            TimeWindow::Minute,
            TimeWindow::FiveMinutes,
            TimeWindow::Whole,
        ];
        if ui.available_width() >= theme.body_size * 46.0 {
            ui.horizontal_wrapped(|ui| {
                for v in PlotView::ALL {
                    ui.selectable_value(&mut self.view, v, v.label());
                }
                ui.separator();
                for w in WINDOWS {
                    ui.selectable_value(&mut self.window, w, w.label());
                }
            });
            return;
        }
        ui.horizontal(|ui| {
            ui.label("Show");
            egui::ComboBox::from_id_salt("plots-view")
                .selected_text(self.view.label())
                .show_ui(ui, |ui| {
                    for v in PlotView::ALL {
                        ui.selectable_value(&mut self.view, v, v.label());
                    }
                });
            egui::ComboBox::from_id_salt("plots-window")
                .selected_text(self.window.label())
                .show_ui(ui, |ui| {
                    for w in WINDOWS {
                        ui.selectable_value(&mut self.window, w, w.label());
                    }
                });
        });
    }

    /// Draws the chosen plots in the height there is.
    pub fn ui(&mut self, ui: &mut Ui, snapshot: &Snapshot, theme: &Theme) {
        let budget = ui.available_height();
        self.ui_within(ui, snapshot, theme, budget);
    }

    /// Draws the chosen plots, sized to fit `budget` points of height (headers, charts and
    /// the notes under them), so that a panel holding them never has to grow.
    pub fn ui_within(&mut self, ui: &mut Ui, snapshot: &Snapshot, theme: &Theme, budget: f32) {
        let top = ui.cursor().min.y;
        ui.scope(|ui| {
            theme.apply_text_sizes(ui.style_mut());
            self.choices_ui(ui, theme);
            let view = self.view;
            let model = self.model(snapshot).clone();
            changes_ui(ui, &model, theme);
            let gap = ui.spacing().item_spacing.y;
            // Room left for the charts: a one-line note may follow each row.
            let note = theme.body_size * 1.8;
            let left = budget - (ui.cursor().min.y - top);
            match view {
                PlotView::All if left < theme.body_size * 26.0 => {
                    // A short panel: the four side by side.
                    let h = (left - gap - note).max(theme.body_size * 7.0);
                    ui.columns(4, |cols| {
                        hit_ratio_ui(&mut cols[0], &model, theme, h);
                        latency_ui(&mut cols[1], &model, theme, h);
                        throughput_ui(&mut cols[2], &model, theme, h);
                        server_load_ui(&mut cols[3], &model, theme, h, true);
                    });
                }
                PlotView::All => {
                    let h = ((left - gap * 3.0 - note * 2.0) / 2.0).max(theme.body_size * 8.0);
                    ui.columns(2, |cols| {
                        hit_ratio_ui(&mut cols[0], &model, theme, h);
                        latency_ui(&mut cols[1], &model, theme, h);
                    });
                    ui.columns(2, |cols| {
                        throughput_ui(&mut cols[0], &model, theme, h);
                        server_load_ui(&mut cols[1], &model, theme, h, true);
                    });
                }
                _ => {
                    let h = (left - gap - note).max(theme.body_size * 8.0);
                    match view {
                        PlotView::HitRatio => hit_ratio_ui(ui, &model, theme, h),
                        PlotView::Latency => latency_ui(ui, &model, theme, h),
                        PlotView::Throughput => throughput_ui(ui, &model, theme, h),
                        _ => server_load_ui(ui, &model, theme, h, false),
                    }
                }
            }
        });
    }
}

/// The latest changes in words, so the markers read without hovering.
fn changes_ui(ui: &mut Ui, model: &PlotsModel, theme: &Theme) {
    if model.changes.is_empty() {
        return;
    }
    let latest: Vec<String> = model
        .changes
        .iter()
        .rev()
        .take(4)
        .map(|c| format!("{:.1} s {}", c.at_secs, shorten(&c.text, 40)))
        .collect();
    ui.label(
        RichText::new(format!("Changes (dashed lines): {}", latest.join(" · ")))
            .color(theme.weak_text),
    );
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn hit_ratio_ui(ui: &mut Ui, model: &PlotsModel, theme: &Theme, h: f32) {
    let mut lines = vec![Styled {
        series: &model.hit_ratio,
        color: theme.hit,
        style: LineStyle::Solid,
        shape: None,
        named: true,
    }];
    lines.extend(theory::hit_lines(&model.theory, theme));
    chart_ui(
        ui,
        "plot-hit-ratio",
        "Cache hit ratio",
        "% of cacheable lookups",
        &lines,
        ChartOpts {
            y_top: Some(105.0),
            note: None,
            unit_short: Some("%"),
        },
        model,
        theme,
        h,
    );
    theory::note_ui(ui, model.theory.hit_note.as_deref(), theme);
}

fn latency_ui(ui: &mut Ui, model: &PlotsModel, theme: &Theme, h: f32) {
    let styles = [
        LineStyle::Solid,
        LineStyle::dashed_dense(),
        LineStyle::Dotted {
            spacing: theme.line_width() * 3.0,
        },
    ];
    let lines: Vec<Styled<'_>> = model
        .latency
        .iter()
        .zip(styles)
        .enumerate()
        .map(|(i, (series, style))| Styled {
            series,
            color: theme.series_color(i),
            style,
            shape: None,
            named: true,
        })
        .collect();
    let mut lines = lines;
    lines.extend(theory::latency_lines(&model.theory, theme));
    chart_ui(
        ui,
        "plot-latency",
        "Latency p50 / p95 / p99",
        "ms",
        &lines,
        ChartOpts::default(),
        model,
        theme,
        h,
    );
    theory::note_ui(ui, model.theory.latency_note.as_deref(), theme);
}

fn marker_shape(shape: DotShape) -> MarkerShape {
    match shape {
        DotShape::Circle => MarkerShape::Circle,
        DotShape::Diamond => MarkerShape::Diamond,
        DotShape::Triangle => MarkerShape::Up,
        DotShape::Square => MarkerShape::Square,
        DotShape::Cross => MarkerShape::Cross,
    }
}

fn throughput_ui(ui: &mut Ui, model: &PlotsModel, theme: &Theme, h: f32) {
    // Classes that never happened are left out, so the legend lists what did.
    let lines: Vec<Styled<'_>> = model
        .throughput
        .iter()
        .filter(|(_, s)| s.points.iter().any(|[_, y]| *y != 0.0))
        .map(|(class, series)| Styled {
            series,
            color: theme.outcome_color(*class),
            style: LineStyle::Solid,
            shape: Some(marker_shape(theme.outcome_shape(*class))),
            named: true,
        })
        .collect();
    let mut lines = lines;
    lines.extend(theory::refused_lines(&model.theory, theme));
    chart_ui(
        ui,
        "plot-throughput",
        "Throughput by status class",
        "requests per second",
        &lines,
        ChartOpts {
            unit_short: Some("req/s"),
            ..ChartOpts::default()
        },
        model,
        theme,
        h,
    );
}

/// Markers that tell servers apart besides colour.
const SERVER_SHAPES: [MarkerShape; 7] = [
    MarkerShape::Circle,
    MarkerShape::Square,
    MarkerShape::Diamond,
    MarkerShape::Up,
    MarkerShape::Cross,
    MarkerShape::Down,
    MarkerShape::Asterisk,
];

/// Per-server load: in the grid one chart (served per second solid with markers, queue
/// depth dashed in the same colour); on its own tab, one chart each.
fn server_load_ui(ui: &mut Ui, model: &PlotsModel, theme: &Theme, h: f32, combined: bool) {
    fn styled<'a>(
        list: &'a [Series],
        style: LineStyle,
        marked: bool,
        theme: &Theme,
    ) -> Vec<Styled<'a>> {
        list.iter()
            .enumerate()
            .map(|(i, series)| Styled {
                series,
                color: theme.series_color(i),
                style,
                shape: marked.then_some(SERVER_SHAPES[i % SERVER_SHAPES.len()]),
                named: marked,
            })
            .collect()
    }
    let served = styled(&model.served, LineStyle::Solid, true, theme);
    if combined {
        let mut lines = served;
        lines.extend(styled(
            &model.queued,
            LineStyle::dashed_dense(),
            false,
            theme,
        ));
        let opts = ChartOpts {
            y_top: None,
            note: Some("dashed: in its queue"),
            unit_short: None,
        };
        let title = "Per-server load";
        chart_ui(
            ui,
            "plot-load",
            title,
            "requests",
            &lines,
            opts,
            model,
            theme,
            h,
        );
        return;
    }
    let mut queued = styled(&model.queued, LineStyle::dashed_dense(), true, theme);
    for q in &mut queued {
        q.shape = None;
    }
    let half = h / 2.0;
    let opts = ChartOpts::default;
    let (served_title, queued_title) = ("Per-server load: served", "Per-server load: queue depth");
    chart_ui(
        ui,
        "plot-served",
        served_title,
        "per second",
        &served,
        opts(),
        model,
        theme,
        half,
    );
    chart_ui(
        ui,
        "plot-queued",
        queued_title,
        "waiting",
        &queued,
        opts(),
        model,
        theme,
        half,
    );
}
