//! A legend drawn above a plot rather than over it, so it never hides data: for each line
//! a short sample of its dash and point marker in its colour, then its name in the text
//! colour (readable on both themes). Lines thus differ by more than colour.

use egui::{Color32, Ui};
use egui_plot::{LineStyle, MarkerShape};

use crate::ui::theme::Theme;

/// One legend entry.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LegendEntry {
    pub name: String,
    pub color: Color32,
    pub style: LineStyle,
    pub shape: Option<MarkerShape>,
}

/// The legend row; `changes` adds the entry for change markers.
pub(crate) fn legend_row(ui: &mut Ui, entries: &[LegendEntry], changes: bool, theme: &Theme) {
    ui.horizontal_wrapped(|ui| {
        let mut first = true;
        for e in entries {
            entry_ui(ui, e.color, e.style, e.shape, &e.name, first, theme);
            first = false;
        }
        if changes {
            let dash = LineStyle::dashed_loose();
            let name = "change (hover it)";
            entry_ui(ui, theme.change_marker(), dash, None, name, first, theme);
        }
    });
}

/// One entry: a sample of the line, then its name. Sizes are whole points, so the row
/// stays on the pixel grid.
fn entry_ui(
    ui: &mut Ui,
    color: Color32,
    style: LineStyle,
    shape: Option<MarkerShape>,
    name: &str,
    first: bool,
    theme: &Theme,
) {
    let font = egui::TextStyle::Body.resolve(ui.style());
    let sample = egui::vec2(theme.body_size * 2.4, theme.body_size).round();
    let gap = (theme.body_size * 0.3).round();
    // A name wider than the whole row wraps within its entry rather than widen the panel.
    let room = ui.max_rect().width() - sample.x - gap - theme.body_size;
    let text = ui.painter().layout(
        name.to_string(),
        font,
        theme.text,
        room.max(theme.body_size * 4.0),
    );
    let size = egui::vec2(
        sample.x + gap + text.size().x.ceil() + (theme.body_size * 0.6).round(),
        text.size().y.ceil().max(sample.y),
    );
    if !first && size.x > ui.available_width() {
        ui.end_row();
    }
    // One widget, so the row wraps between entries and never inside one.
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::hover());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, name));
    let sample_rect = egui::Rect::from_min_size(
        egui::pos2(rect.left(), rect.center().y - sample.y / 2.0),
        sample,
    );
    sample_ui(ui, sample_rect, color, style, shape, theme);
    let at = egui::pos2(
        rect.left() + sample.x + gap,
        rect.center().y - text.size().y / 2.0,
    );
    ui.painter().galley(at, text, theme.text);
}

fn sample_ui(
    ui: &Ui,
    rect: egui::Rect,
    color: Color32,
    style: LineStyle,
    shape: Option<MarkerShape>,
    theme: &Theme,
) {
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
