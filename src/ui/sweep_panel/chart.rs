//! The sweep's result charts: latency, throughput, and hit ratio with the 503 share, each
//! against the number of servers, with a tick and a marker at every count measured and
//! numbered y axes (`ui::plots::axes`), a legend row above each plot.

use egui::{RichText, Ui};
use egui_plot::{Line, LineStyle, MarkerShape, Plot, PlotPoints, Points};

use crate::sweep::SweepRow;
use crate::ui::plots::axes;
use crate::ui::plots::{LegendEntry, legend_row};
use crate::ui::theme::Theme;

/// One line of a sweep chart.
struct SweepLine {
    name: &'static str,
    value: fn(&SweepRow) -> f64,
    color: usize,
    style: LineStyle,
    shape: MarkerShape,
}

/// One chart: a title, a y label, its lines and, for percentages, a fixed top.
pub(super) struct SweepChart {
    id: &'static str,
    title: &'static str,
    y_label: &'static str,
    lines: Vec<SweepLine>,
    y_top: Option<f64>,
}

pub(super) fn charts() -> [SweepChart; 3] {
    let line = |name, value, color, style, shape| SweepLine {
        name,
        value,
        color,
        style,
        shape,
    };
    [
        SweepChart {
            id: "sweep-latency",
            title: "Latency",
            y_label: "ms",
            lines: vec![
                line(
                    "p50",
                    |r| r.p50_ms,
                    0,
                    LineStyle::Solid,
                    MarkerShape::Circle,
                ),
                line(
                    "p99",
                    |r| r.p99_ms,
                    1,
                    LineStyle::dashed_dense(),
                    MarkerShape::Square,
                ),
            ],
            y_top: None,
        },
        SweepChart {
            id: "sweep-throughput",
            title: "Throughput",
            y_label: "non-5xx answers per second",
            lines: vec![line(
                "ok/s",
                |r| r.throughput_rps,
                2,
                LineStyle::Solid,
                MarkerShape::Diamond,
            )],
            y_top: None,
        },
        SweepChart {
            id: "sweep-shares",
            title: "Hit ratio and 503s",
            y_label: "% of requests",
            lines: vec![
                line(
                    "hit ratio",
                    |r| r.hit_ratio * 100.0,
                    3,
                    LineStyle::Solid,
                    MarkerShape::Circle,
                ),
                line(
                    "503 share",
                    |r| r.share_503 * 100.0,
                    4,
                    LineStyle::dashed_dense(),
                    MarkerShape::Square,
                ),
            ],
            y_top: Some(105.0),
        },
    ]
}

/// One chart: its title and unit, the legend row, then the plot.
pub(super) fn chart_ui(
    ui: &mut Ui,
    chart: &SweepChart,
    rows: &[SweepRow],
    theme: &Theme,
    height: f32,
) {
    // `height` is the whole chart's: the plot gets what the title and legend leave.
    let top = ui.cursor().top();
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(chart.title).heading());
        ui.label(RichText::new(chart.y_label).color(theme.weak_text));
    });
    let entries: Vec<LegendEntry> = chart
        .lines
        .iter()
        .map(|l| LegendEntry {
            name: l.name.to_string(),
            color: theme.series_color(l.color),
            style: l.style,
            shape: Some(l.shape),
        })
        .collect();
    legend_row(ui, &entries, false, theme);
    let used = ui.cursor().top() - top + ui.spacing().item_spacing.y;
    let height = (height - used).max(theme.body_size * 6.0);
    let counts: Vec<usize> = rows.iter().map(|r| r.servers).collect();
    let max_x = counts.iter().copied().max().unwrap_or(1) as f64;
    let max_y = chart
        .lines
        .iter()
        .flat_map(|l| rows.iter().map(|r| (l.value)(r)))
        .fold(0.0_f64, f64::max);
    let y_top = chart.y_top.unwrap_or_else(|| axes::nice_top(max_y));
    // The plot area is the width less the y axis (about four digits).
    let width = ui.available_width() - theme.body_size * 3.0;
    let plot = Plot::new(chart.id)
        .id(axes::plot_id(chart.id))
        .height(height);
    axes::server_axes(plot, ui, theme, counts, width, y_top)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .set_margin_fraction(egui::vec2(0.0, 0.0))
        .include_x(0.5)
        .include_x(max_x + 0.5)
        .include_y(-y_top * 0.04)
        .include_y(y_top)
        .show_crosshair(false)
        .show(ui, |p| {
            for l in &chart.lines {
                let points: Vec<[f64; 2]> = rows
                    .iter()
                    .map(|r| [r.servers as f64, (l.value)(r)])
                    .collect();
                let color = theme.series_color(l.color);
                p.line(
                    Line::new(l.name, PlotPoints::from(points.clone()))
                        .color(color)
                        .width(theme.line_width())
                        .style(l.style),
                );
                p.points(
                    Points::new(l.name, PlotPoints::from(points))
                        .id((l.name, "points"))
                        .shape(l.shape)
                        .radius(theme.dot_radius * 1.2)
                        .filled(true)
                        .color(color),
                );
            }
        });
}
