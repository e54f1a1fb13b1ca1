//! One titled chart of the plots panel: a legend row above it, the plot with its lines
//! (dash, marker and colour each), name labels at the lines' ends nudged apart, the change
//! markers as dashed vertical lines and, on hover, what changed.

use egui::{Align2, Color32, RichText, Ui};
use egui_plot::{Line, LineStyle, MarkerShape, Plot, PlotPoint, PlotPoints, Points, Text, VLine};

use super::legend::{LegendEntry, legend_row};
use super::model::{self, PlotsModel, Series};
use crate::ui::theme::Theme;

/// One line as drawn: its data, colour, dash and point marker.
pub(super) struct Styled<'a> {
    pub series: &'a Series,
    pub color: Color32,
    pub style: LineStyle,
    pub shape: Option<MarkerShape>,
    /// In the legend and labelled at its end (else explained by the chart's note).
    pub named: bool,
}

/// A chart's y axis top and legend note.
#[derive(Default)]
pub(super) struct ChartOpts {
    /// Fixes the top of the y axis (a percentage scale); else 10% above the data.
    pub y_top: Option<f64>,
    /// A legend entry for the unnamed lines (a sample of their dash, and this text).
    pub note: Option<&'static str>,
}

/// A titled chart: a legend row above it (sample, marker and name of each line, so lines
/// differ by more than colour), then the plot, its change markers and hover text.
#[allow(clippy::too_many_arguments)]
pub(super) fn chart_ui(
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
    legend_row(
        ui,
        &legend_entries(lines, opts.note, theme),
        !model.changes.is_empty(),
        theme,
    );
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
            let gap = f64::from(theme.body_size * 1.1 / plot_height) * y_top * 1.04;
            let mut label_ys = model::end_labels(&series, gap).into_iter();
            for l in lines {
                let label_y = if l.named {
                    label_ys.next().flatten()
                } else {
                    None
                };
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
                if let (Some(y), Some([x, _])) = (label_y, l.series.last()) {
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

/// The legend entries of a chart: its named lines, then its note for the unnamed ones.
fn legend_entries(lines: &[Styled<'_>], note: Option<&str>, theme: &Theme) -> Vec<LegendEntry> {
    let mut entries: Vec<LegendEntry> = lines
        .iter()
        .filter(|l| l.named && !l.series.points.is_empty())
        .map(|l| LegendEntry {
            name: l.series.name.clone(),
            color: l.color,
            style: l.style,
            shape: l.shape,
        })
        .collect();
    if let (Some(note), Some(l)) = (note, lines.iter().find(|l| !l.named)) {
        entries.push(LegendEntry {
            name: note.to_string(),
            color: theme.weak_text,
            style: l.style,
            shape: None,
        });
    }
    entries
}
