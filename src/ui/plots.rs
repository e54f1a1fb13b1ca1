//! Live plots with egui_plot: cache hit ratio, latency p50/p95/p99, throughput by status
//! class and per-server load (served per second, queue depth), over time, with a dashed
//! vertical line wherever the topology or a setting changed (hover it to read what).
//!
//! Shown all four at once or one at a time. Every line is named in the legend and at its
//! end, and lines differ by dash or marker shape as well as colour, so nothing is told by
//! colour alone; text uses the theme's sizes, so presentation mode stays legible.

mod model;

use std::sync::Arc;

use egui::{Align2, RichText, Ui};
use egui_plot::{
    Corner, Legend, Line, LineStyle, MarkerShape, Plot, PlotPoint, PlotPoints, Points, Text, VLine,
};

pub use model::{ChangeLine, PlotsModel, Series};

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
        let cached = self.cache.get_or_insert_with(|| {
            let now_secs = snapshot
                .seconds
                .last()
                .map_or(0.0, |m| m.second as f64 + 1.0);
            Cached {
                seconds: snapshot.seconds.clone(),
                markers: snapshot.markers.clone(),
                window,
                model: model::build(
                    &snapshot.seconds,
                    &snapshot.markers,
                    now_secs,
                    window.secs(),
                ),
            }
        });
        &cached.model
    }

    /// Draws the chosen plots.
    pub fn ui(&mut self, ui: &mut Ui, snapshot: &Snapshot, theme: &Theme) {
        ui.scope(|ui| {
            theme.apply_text_sizes(ui.style_mut());
            ui.horizontal_wrapped(|ui| {
                for v in PlotView::ALL {
                    ui.selectable_value(&mut self.view, v, v.label());
                }
                ui.separator();
                for w in [
                    TimeWindow::Minute,
                    TimeWindow::FiveMinutes,
                    TimeWindow::Whole,
                ] {
                    ui.selectable_value(&mut self.window, w, w.label());
                }
            });
            let view = self.view;
            let model = self.model(snapshot).clone();
            changes_ui(ui, &model, theme);
            let gap = ui.spacing().item_spacing.y;
            match view {
                PlotView::All => {
                    let h = ((ui.available_height() - theme.heading_size * 2.0 - gap * 4.0) / 2.0)
                        .max(theme.body_size * 10.0);
                    ui.columns(2, |cols| {
                        hit_ratio_ui(&mut cols[0], &model, theme, h);
                        latency_ui(&mut cols[1], &model, theme, h);
                    });
                    ui.columns(2, |cols| {
                        throughput_ui(&mut cols[0], &model, theme, h);
                        server_load_ui(&mut cols[1], &model, theme, h);
                    });
                }
                _ => {
                    let h = (ui.available_height() - theme.heading_size - gap * 2.0)
                        .max(theme.body_size * 12.0);
                    match view {
                        PlotView::HitRatio => hit_ratio_ui(ui, &model, theme, h),
                        PlotView::Latency => latency_ui(ui, &model, theme, h),
                        PlotView::Throughput => throughput_ui(ui, &model, theme, h),
                        _ => server_load_ui(ui, &model, theme, h),
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
        .map(|c| format!("{:.1} s {}", c.at_secs, c.text))
        .collect();
    ui.label(
        RichText::new(format!("Changes (dashed lines): {}", latest.join(" · ")))
            .color(theme.weak_text),
    );
}

/// A plot with the panel's common settings: fixed view following the data, readable axes.
fn base_plot<'a>(
    id: &str,
    model: &PlotsModel,
    theme: &Theme,
    height: f32,
    y_label: &str,
) -> Plot<'a> {
    Plot::new(id.to_string())
        .height(height)
        .legend(
            Legend::default()
                .position(Corner::LeftTop)
                .background_alpha(0.85),
        )
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .include_x(model.x_range.0)
        .include_x(model.x_range.1)
        .include_y(0.0)
        .x_axis_label("seconds since start")
        .y_axis_label(y_label.to_string())
        .y_axis_min_width(theme.body_size * 3.0)
        .show_crosshair(false)
        .label_formatter(|pos| match pos {
            egui_plot::HoverPosition::NearDataPoint {
                plot_name,
                position,
                ..
            } => Some(format!(
                "{plot_name}\n{:.0} s: {:.1}",
                position.x, position.y
            )),
            egui_plot::HoverPosition::Elsewhere { .. } => None,
        })
}

/// Adds the change markers and, when the pointer is near one, says what changed.
fn add_changes(plot_ui: &mut egui_plot::PlotUi<'_>, model: &PlotsModel, theme: &Theme) {
    for (i, c) in model.changes.iter().enumerate() {
        plot_ui.vline(
            VLine::new("changes (dashed)", c.at_secs)
                .id(("change", i))
                .color(theme.change_marker())
                .width(theme.line_width())
                .style(LineStyle::dashed_loose()),
        );
    }
}

fn marker_tooltip<R>(response: &egui_plot::PlotResponse<R>, model: &PlotsModel, theme: &Theme) {
    let Some(pos) = response.response.hover_pos() else {
        return;
    };
    let near: Vec<String> = model
        .changes
        .iter()
        .filter(|c| {
            (response.transform.position_from_point_x(c.at_secs) - pos.x).abs()
                <= theme.body_size * 0.5
        })
        .map(|c| format!("{:.1} s: {}", c.at_secs, c.text))
        .collect();
    if !near.is_empty() {
        response
            .response
            .clone()
            .on_hover_text_at_pointer(near.join("\n"));
    }
}

/// A line with a label at its end.
fn labelled_line(
    plot_ui: &mut egui_plot::PlotUi<'_>,
    s: &Series,
    color: egui::Color32,
    style: LineStyle,
    theme: &Theme,
) {
    if s.points.is_empty() {
        return;
    }
    plot_ui.line(
        Line::new(s.name.clone(), PlotPoints::from(s.points.clone()))
            .color(color)
            .width(theme.line_width())
            .style(style),
    );
    if let Some([x, y]) = s.last() {
        plot_ui.text(
            Text::new(
                format!("{} label", s.name),
                PlotPoint::new(x, y),
                RichText::new(format!(" {}", s.name))
                    .size(theme.body_size)
                    .color(color),
            )
            .anchor(Align2::LEFT_CENTER),
        );
    }
}

fn heading(ui: &mut Ui, text: &str) {
    ui.label(RichText::new(text).heading());
}

fn hit_ratio_ui(ui: &mut Ui, model: &PlotsModel, theme: &Theme, h: f32) {
    heading(ui, "Cache hit ratio");
    let r = base_plot("plot-hit-ratio", model, theme, h, "% of cacheable lookups")
        .include_y(100.0)
        .show(ui, |p| {
            add_changes(p, model, theme);
            labelled_line(p, &model.hit_ratio, theme.hit, LineStyle::Solid, theme);
        });
    marker_tooltip(&r, model, theme);
}

fn latency_ui(ui: &mut Ui, model: &PlotsModel, theme: &Theme, h: f32) {
    heading(ui, "Latency p50 / p95 / p99");
    let styles = [
        LineStyle::Solid,
        LineStyle::dashed_dense(),
        LineStyle::Dotted {
            spacing: theme.line_width() * 3.0,
        },
    ];
    let r = base_plot("plot-latency", model, theme, h, "ms").show(ui, |p| {
        add_changes(p, model, theme);
        for (i, (s, style)) in model.latency.iter().zip(styles).enumerate() {
            labelled_line(p, s, theme.series_color(i), style, theme);
        }
    });
    marker_tooltip(&r, model, theme);
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
    heading(ui, "Throughput by status class");
    let r = base_plot("plot-throughput", model, theme, h, "requests per second").show(ui, |p| {
        add_changes(p, model, theme);
        for (class, s) in &model.throughput {
            if s.points.iter().all(|[_, y]| *y == 0.0) {
                continue;
            }
            let color = theme.outcome_color(*class);
            labelled_line(p, s, color, LineStyle::Solid, theme);
            p.points(
                Points::new(s.name.clone(), PlotPoints::from(s.points.clone()))
                    .id(("throughput-points", class.index()))
                    .shape(marker_shape(theme.outcome_shape(*class)))
                    .radius(theme.dot_radius)
                    .filled(true)
                    .color(color),
            );
        }
    });
    marker_tooltip(&r, model, theme);
}

fn server_load_ui(ui: &mut Ui, model: &PlotsModel, theme: &Theme, h: f32) {
    heading(ui, "Per-server load");
    let half = (h - theme.body_size * 2.0) / 2.0;
    let shapes = [
        MarkerShape::Circle,
        MarkerShape::Square,
        MarkerShape::Diamond,
        MarkerShape::Up,
        MarkerShape::Cross,
        MarkerShape::Down,
        MarkerShape::Asterisk,
    ];
    let r = base_plot("plot-served", model, theme, half, "served per second").show(ui, |p| {
        add_changes(p, model, theme);
        for (i, s) in model.served.iter().enumerate() {
            labelled_line(p, s, theme.series_color(i), LineStyle::Solid, theme);
            p.points(
                Points::new(s.name.clone(), PlotPoints::from(s.points.clone()))
                    .id(("served-points", i))
                    .shape(shapes[i % shapes.len()])
                    .radius(theme.dot_radius * 0.8)
                    .color(theme.series_color(i)),
            );
        }
    });
    marker_tooltip(&r, model, theme);
    let r = base_plot("plot-queued", model, theme, half, "waiting in queue").show(ui, |p| {
        add_changes(p, model, theme);
        for (i, s) in model.queued.iter().enumerate() {
            labelled_line(
                p,
                s,
                theme.series_color(i),
                LineStyle::dashed_dense(),
                theme,
            );
        }
    });
    marker_tooltip(&r, model, theme);
}
