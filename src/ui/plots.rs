//! Live plots with egui_plot: cache hit ratio, latency p50/p95/p99, throughput by status
//! class and per-server load (served per second, queue depth), over time, with a dashed
//! vertical line wherever the topology or a setting changed (hover it to read what).
//!
//! Shown all four at once or one at a time. Every line is named in the legend and at its
//! end, and lines differ by dash or marker shape as well as colour, so nothing is told by
//! colour alone; text uses the theme's sizes, so presentation mode stays legible.

mod model;

use std::sync::Arc;

use egui::{Align2, Color32, RichText, Ui};
use egui_plot::{Line, LineStyle, MarkerShape, Plot, PlotPoint, PlotPoints, Points, Text, VLine};

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
                    let h = ((ui.available_height() - gap * 3.0) / 2.0).max(theme.body_size * 12.0);
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
                    let h = (ui.available_height() - gap).max(theme.body_size * 12.0);
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

/// One line as drawn: its data, colour, dash and point marker.
struct Styled<'a> {
    series: &'a Series,
    color: Color32,
    style: LineStyle,
    shape: Option<MarkerShape>,
    /// In the legend and labelled at its end (else explained by the chart's note).
    named: bool,
}

/// A chart's y axis top and legend note.
#[derive(Default)]
struct ChartOpts {
    /// Fixes the top of the y axis (a percentage scale); else 10% above the data.
    y_top: Option<f64>,
    /// A legend entry for the unnamed lines (a sample of their dash, and this text).
    note: Option<&'static str>,
}

/// A titled chart: a legend row above it (sample, marker and name of each line, so lines
/// differ by more than colour), then the plot, its change markers and hover text.
#[allow(clippy::too_many_arguments)]
fn chart_ui(
    ui: &mut Ui,
    id: &str,
    title: &str,
    y_label: &str,
    lines: &[Styled<'_>],
    opts: ChartOpts,
    model: &PlotsModel,
    theme: &Theme,
    height: f32,
) {
    let top = ui.cursor().top();
    ui.label(RichText::new(title).heading());
    legend_row(ui, lines, opts.note, !model.changes.is_empty(), theme);
    let used = ui.cursor().top() - top;
    let max = lines
        .iter()
        .flat_map(|l| l.series.points.iter().map(|p| p[1]))
        .fold(0.0_f64, f64::max);
    let y_top_fixed = opts.y_top.is_some();
    let y_top = opts.y_top.unwrap_or((max * 1.1).max(1.0));
    let (x0, x1) = model.x_range;
    // The x axis and its label take about two rows below the plot area.
    let height = (height - used - ui.spacing().item_spacing.y).max(theme.body_size * 6.0);
    let mut plot = Plot::new(id.to_string()).height(height);
    if y_top_fixed {
        // A percentage: ticks every 25 %, labelled even in presentation mode.
        plot = plot.y_grid_spacer(egui_plot::uniform_grid_spacer(|_| [5.0, 25.0, 50.0]));
    }
    let response = plot
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .set_margin_fraction(egui::vec2(0.0, 0.0))
        .include_x(x0)
        .include_x(x1 + (x1 - x0) * 0.15)
        .include_y(-y_top * 0.04)
        .include_y(y_top)
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
        .show(ui, |p| {
            for (i, c) in model.changes.iter().enumerate() {
                p.vline(
                    VLine::new("", c.at_secs)
                        .id(("change", i))
                        .color(theme.change_marker())
                        .width(theme.line_width())
                        .style(LineStyle::dashed_loose()),
                );
            }
            let series: Vec<&Series> = lines.iter().filter(|l| l.named).map(|l| l.series).collect();
            let plot_height = p.response().rect.height().max(1.0);
            let min_gap = f64::from(theme.body_size * 1.2 / plot_height);
            let mut labelled = model::end_labels(&series, min_gap).into_iter();
            for l in lines {
                let label = l.named && labelled.next().unwrap_or(false);
                if l.series.points.is_empty() {
                    continue;
                }
                let points = || PlotPoints::from(l.series.points.clone());
                p.line(
                    Line::new(l.series.name.clone(), points())
                        .color(l.color)
                        .width(theme.line_width())
                        .style(l.style),
                );
                if let Some(shape) = l.shape {
                    p.points(
                        Points::new(l.series.name.clone(), points())
                            .id(("points", l.series.name.as_str()))
                            .shape(shape)
                            .radius(theme.dot_radius)
                            .filled(true)
                            .color(l.color),
                    );
                }
                if let (true, Some([x, y])) = (label, l.series.last()) {
                    p.text(
                        Text::new(
                            "",
                            PlotPoint::new(x, y),
                            RichText::new(format!(" {}", l.series.name))
                                .size(theme.body_size)
                                .color(l.color),
                        )
                        .id(("end label", l.series.name.as_str()))
                        .anchor(Align2::LEFT_CENTER),
                    );
                }
            }
        });
    marker_tooltip(&response, model, theme);
}

/// Says what changed when the pointer is near a change marker.
fn marker_tooltip<R>(response: &egui_plot::PlotResponse<R>, model: &PlotsModel, theme: &Theme) {
    let Some(pos) = response.response.hover_pos() else {
        return;
    };
    let near: Vec<String> = model
        .changes
        .iter()
        .filter(|c| {
            (response.transform.position_from_point_x(c.at_secs) - pos.x).abs() <= theme.body_size
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

/// The legend, above the plot so it never hides data: a sample of each line's dash and
/// marker in its colour, and its name in the text colour.
fn legend_row(ui: &mut Ui, lines: &[Styled<'_>], note: Option<&str>, changes: bool, theme: &Theme) {
    ui.horizontal_wrapped(|ui| {
        for l in lines
            .iter()
            .filter(|l| l.named && !l.series.points.is_empty())
        {
            sample_ui(ui, l.color, l.style, l.shape, theme);
            ui.label(&l.series.name);
            ui.add_space(theme.body_size * 0.6);
        }
        if let (Some(note), Some(l)) = (note, lines.iter().find(|l| !l.named)) {
            sample_ui(ui, theme.weak_text, l.style, None, theme);
            ui.label(note);
            ui.add_space(theme.body_size * 0.6);
        }
        if changes {
            sample_ui(
                ui,
                theme.change_marker(),
                LineStyle::dashed_loose(),
                None,
                theme,
            );
            ui.label("change (hover it)");
        }
    });
}

fn sample_ui(
    ui: &mut Ui,
    color: Color32,
    style: LineStyle,
    shape: Option<MarkerShape>,
    theme: &Theme,
) {
    let size = egui::vec2(theme.body_size * 2.4, theme.body_size);
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter();
    let (a, z) = (rect.left_center(), rect.right_center());
    let stroke = egui::Stroke::new(theme.line_width(), color);
    match style {
        LineStyle::Solid => {
            painter.line_segment([a, z], stroke);
        }
        LineStyle::Dashed { length } => {
            painter.extend(egui::Shape::dashed_line(
                &[a, z],
                stroke,
                length,
                length * 0.6,
            ));
        }
        LineStyle::Dotted { spacing } => {
            painter.extend(egui::Shape::dotted_line(
                &[a, z],
                color,
                spacing,
                theme.line_width() * 0.6,
            ));
        }
    }
    if let Some(shape) = shape {
        paint_marker(painter, rect.center(), theme.dot_radius, shape, color);
    }
}

/// Paints a plot marker shape (as egui_plot draws it) for the legend.
fn paint_marker(
    painter: &egui::Painter,
    c: egui::Pos2,
    r: f32,
    shape: MarkerShape,
    color: Color32,
) {
    let v = egui::vec2;
    let poly = |pts: Vec<egui::Pos2>| {
        painter.add(egui::Shape::convex_polygon(pts, color, egui::Stroke::NONE));
    };
    match shape {
        MarkerShape::Square => {
            painter.rect_filled(
                egui::Rect::from_center_size(c, v(r * 1.8, r * 1.8)),
                0.0,
                color,
            );
        }
        MarkerShape::Diamond => poly(vec![
            c + v(0.0, -r),
            c + v(r, 0.0),
            c + v(0.0, r),
            c + v(-r, 0.0),
        ]),
        MarkerShape::Up => poly(vec![c + v(0.0, -r), c + v(r, r * 0.8), c + v(-r, r * 0.8)]),
        MarkerShape::Down => poly(vec![c + v(0.0, r), c + v(-r, -r * 0.8), c + v(r, -r * 0.8)]),
        MarkerShape::Cross | MarkerShape::Asterisk | MarkerShape::Plus => {
            let s = egui::Stroke::new(r * 0.5, color);
            painter.line_segment([c + v(-r, -r), c + v(r, r)], s);
            painter.line_segment([c + v(-r, r), c + v(r, -r)], s);
        }
        _ => {
            painter.circle_filled(c, r, color);
        }
    }
}

fn hit_ratio_ui(ui: &mut Ui, model: &PlotsModel, theme: &Theme, h: f32) {
    let lines = [Styled {
        series: &model.hit_ratio,
        color: theme.hit,
        style: LineStyle::Solid,
        shape: None,
        named: true,
    }];
    chart_ui(
        ui,
        "plot-hit-ratio",
        "Cache hit ratio",
        "% of cacheable lookups",
        &lines,
        ChartOpts {
            y_top: Some(105.0),
            note: None,
        },
        model,
        theme,
        h,
    );
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
    chart_ui(
        ui,
        "plot-throughput",
        "Throughput by status class",
        "requests per second",
        &lines,
        ChartOpts::default(),
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
            note: Some("dashed: waiting in its queue"),
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
