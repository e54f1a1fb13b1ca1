//! One titled chart of the plots panel: its unit beside the title, a legend row above the
//! plot (never over it), the plot with its lines (dash, marker and colour each), numbered
//! axes (`axes`), name labels at the lines' ends nudged apart and kept inside the plot, the
//! change markers as dashed vertical lines and, on hover, what changed.

use egui::{Align2, Color32, RichText, Ui};
use egui_plot::{Line, LineStyle, MarkerShape, Plot, PlotPoint, PlotPoints, Points, Text, VLine};

use super::axes;
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
    /// The unit said shortly (`%`), for a narrow chart.
    pub unit_short: Option<&'static str>,
}

/// The least height, in lines of text, at which a narrow chart keeps its legend row.
const COMPACT_LEGEND_LINES: f32 = 12.0;

/// A chart's title said shortly, for a narrow chart: what is measured, without how it is
/// split ("Latency p50 / p95 / p99" → "Latency", "Throughput by status class" →
/// "Throughput").
fn short_title(title: &str) -> &str {
    let cut = [" by ", " p50"]
        .iter()
        .filter_map(|m| title.find(m))
        .min()
        .unwrap_or(title.len());
    &title[..cut]
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
    let compact = ui.available_width() < theme.body_size * 22.0;
    heading_ui(
        ui, title, y_label, &opts, lines, model, theme, compact, height,
    );
    let used = ui.cursor().top() - top;
    let max = lines
        .iter()
        .flat_map(|l| l.series.points.iter().map(|p| p[1]))
        .fold(0.0_f64, f64::max);
    let y_top = opts.y_top.unwrap_or_else(|| axes::nice_top(max));
    let bounds = Bounds {
        x: model.x_range,
        y_bottom: -y_top * 0.04,
        y_top,
    };
    let (x0, x1) = model.x_range;
    // A narrow chart gives the x axis's title line to the plot: its unit is in the title.
    let x_label = if compact {
        ""
    } else if ui.available_width() > theme.body_size * 18.0 {
        "seconds since start"
    } else {
        "seconds"
    };
    let named = end_label_texts(ui, lines, theme);
    let height = (height - used - ui.spacing().item_spacing.y).max(theme.body_size * 4.5);
    let plot = Plot::new(id.to_string())
        .id(axes::plot_id(id))
        .height(height);
    let response = axes::value_axes(plot, ui, theme, x_label, x1, y_top)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .set_margin_fraction(egui::vec2(0.0, 0.0))
        .include_x(x0)
        .include_x(x1 + (x1 - x0) * 0.12)
        .include_y(bounds.y_bottom)
        .include_y(y_top)
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
            for l in lines.iter().filter(|l| !l.series.points.is_empty()) {
                line_ui(p, l, theme);
            }
            end_labels_ui(p, &named, &bounds, theme);
        });
    marker_tooltip(&response, model, theme);
}

/// The plot's data range: x from and to (seconds), y from and to.
struct Bounds {
    x: (f64, f64),
    y_bottom: f64,
    y_top: f64,
}

/// The title with its unit beside it (not up the y axis, where a short plot cut it off;
/// one row in a narrow chart, four side by side), then the legend row.
#[allow(clippy::too_many_arguments)]
fn heading_ui(
    ui: &mut Ui,
    title: &str,
    y_label: &str,
    opts: &ChartOpts,
    lines: &[Styled<'_>],
    model: &PlotsModel,
    theme: &Theme,
    compact: bool,
    height: f32,
) {
    // The unit goes beside the title, not up the y axis, where a short plot cut it off.
    // A narrow chart (four side by side) keeps its title and unit to one row.
    let (title, unit) = if compact {
        let unit = opts.unit_short.unwrap_or(y_label);
        (RichText::new(short_title(title)).strong(), unit)
    } else {
        (RichText::new(title).heading(), y_label)
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(title);
        ui.label(RichText::new(unit).color(theme.weak_text));
    });
    // A short, narrow chart keeps its height for the plot: the lines are named at their
    // ends, and the legend would leave too little plot for the axis's numbers.
    if !compact || height >= theme.body_size * COMPACT_LEGEND_LINES {
        legend_row(
            ui,
            &legend_entries(lines, opts.note, theme),
            !model.changes.is_empty(),
            theme,
        );
    }
}

/// The named lines with the text of their end label and its width: shortened where the
/// whole name would take half the plot.
fn end_label_texts<'l, 's>(
    ui: &Ui,
    lines: &'l [Styled<'s>],
    theme: &Theme,
) -> Vec<(&'l Styled<'s>, String, f32)> {
    let font = egui::FontId::proportional(theme.body_size);
    lines
        .iter()
        .filter(|l| l.named)
        .map(|l| {
            let width = |t: &str| {
                ui.painter()
                    .layout_no_wrap(t.to_string(), font.clone(), l.color)
                    .size()
                    .x
            };
            let mut text = l.series.name.clone();
            if width(&text) > ui.available_width() * 0.4 {
                text = short_name(&text);
            }
            let w = width(&text);
            (l, text, w)
        })
        .collect()
}

/// Labels at the lines' ends, nudged apart and kept inside the plot.
fn end_labels_ui(
    p: &mut egui_plot::PlotUi<'_>,
    named: &[(&Styled<'_>, String, f32)],
    bounds: &Bounds,
    theme: &Theme,
) {
    let (x0, x1) = bounds.x;
    let per_point = p.transform().dvalue_dpos();
    let (x_right, gap) = (x1 + (x1 - x0) * 0.12, theme.body_size * 1.3);
    let gap_y = f64::from(gap) * per_point[1].abs();
    let series: Vec<&Series> = named.iter().map(|(l, ..)| l.series).collect();
    let ys = model::end_labels(&series, gap_y);
    for ((l, text, width), y) in named.iter().zip(ys) {
        let (Some(y), Some([x, _])) = (y, l.series.last()) else {
            continue;
        };
        // The label is drawn after a space, and a text's box is a little taller than its
        // size: keep both margins so no label crosses the frame.
        let room = f64::from(*width + theme.body_size * 0.8) * per_point[0].abs();
        let x = x.min(x_right - room).max(x0);
        let (low, high) = (bounds.y_bottom + gap_y * 0.6, bounds.y_top - gap_y * 0.6);
        let y = if low <= high {
            y.clamp(low, high)
        } else {
            (bounds.y_bottom + bounds.y_top) / 2.0
        };
        p.text(
            Text::new(
                "",
                PlotPoint::new(x, y),
                RichText::new(format!(" {text}"))
                    .size(theme.body_size)
                    .color(l.color),
            )
            .id(("end label", l.series.name.as_str()))
            .anchor(Align2::LEFT_CENTER),
        );
    }
}

/// One line: the line itself and, if it has one, a marker at each point.
fn line_ui(p: &mut egui_plot::PlotUi<'_>, l: &Styled<'_>, theme: &Theme) {
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
}

/// A line's name cut for its end label: `theory: every URL fits` becomes `theory`, `mean
/// wait in queue` becomes `mean wait` (the legend keeps the whole name).
fn short_name(name: &str) -> String {
    match name.split_once(':') {
        Some((head, _)) => head.to_string(),
        None => name.split(' ').take(2).collect::<Vec<_>>().join(" "),
    }
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

#[cfg(test)]
mod tests {
    use super::short_title;

    #[test]
    fn short_titles_keep_what_is_measured() {
        assert_eq!(short_title("Latency p50 / p95 / p99"), "Latency");
        assert_eq!(short_title("Throughput by status class"), "Throughput");
        assert_eq!(short_title("Cache hit ratio"), "Cache hit ratio");
    }
}
