//! Draws a [`SequenceModel`]: lane titles across the top, a vertical line per lane, one row
//! per step top to bottom with its time on the left. Requests are solid arrows, answers
//! dashed, decisions boxed on their lane, the failure boxed in the failure colour. Every
//! label is text, so nothing depends on colour; hovering a row links its phase.

use std::sync::Arc;

use egui::{Align2, Galley, Pos2, Rect, Sense, Shape, Stroke, StrokeKind, Ui, Vec2, pos2, vec2};

use super::model::{PhaseKey, fmt_ms};
use super::sequence::{SequenceModel, Step, StepKind};
use crate::ui::text::cut_to;
use crate::ui::theme::Theme;

/// The smallest the diagram is drawn, as a share of the theme's sizes.
const MIN_ZOOM: f32 = 0.75;

/// Narrowest a lane may be before the diagram scrolls sideways: its longest title word
/// (titles wrap onto two lines), with a little room either side.
fn min_lane_width(painter: &egui::Painter, model: &SequenceModel, theme: &Theme) -> f32 {
    let widest_word = model
        .lanes
        .iter()
        .flat_map(|l| l.title.split_whitespace())
        .map(|w| {
            painter
                .layout_no_wrap(w.to_string(), theme.body_font(), theme.text)
                .size()
                .x
        })
        .fold(0.0, f32::max);
    (widest_word + theme.body_size * 0.6).max(theme.body_size * 4.0)
}

/// How wide the diagram is drawn: the width it is given, unless its lanes would be too
/// narrow even with wrapped titles (then it scrolls sideways).
pub fn diagram_width(available: f32, time_w: f32, lanes: usize, min_lane: f32) -> f32 {
    available.max(time_w + lanes.max(1) as f32 * min_lane)
}

/// Draws the diagram; returns the phase under the pointer, if any.
pub fn sequence_ui(
    ui: &mut Ui,
    model: &SequenceModel,
    theme: &Theme,
    hovered: Option<PhaseKey>,
) -> Option<PhaseKey> {
    let lanes = model.lanes.len().max(1);
    // Every lane in view: a diagram wider than its panel is drawn smaller (down to
    // `MIN_ZOOM`) before it scrolls sideways.
    let needed = theme.body_size * 5.0 + lanes as f32 * min_lane_width(ui.painter(), model, theme);
    let zoom = (ui.available_width() / needed).clamp(MIN_ZOOM, 1.0);
    let zoomed = theme.scaled(zoom);
    let theme = &zoomed;
    let font = theme.body_font();
    let row_h = theme.body_size * 1.95;
    let time_w = theme.body_size * 5.0;
    let min_lane = min_lane_width(ui.painter(), model, theme);
    let width = diagram_width(ui.available_width(), time_w, lanes, min_lane);
    let lane_w = (width - time_w) / lanes as f32;
    // Titles wrap to the lane's width: the header is as tall as the tallest.
    let titles: Vec<_> = model
        .lanes
        .iter()
        .map(|l| {
            ui.painter().layout(
                l.title.clone(),
                font.clone(),
                theme.text,
                lane_w * 0.9 - 8.0,
            )
        })
        .collect();
    let title_h = titles.iter().map(|g| g.size().y).fold(0.0, f32::max);
    let header_h = (title_h + theme.body_size * 0.8).max(theme.row_height() * 1.2);
    let height = header_h + row_h * model.steps.len() as f32 + row_h * 0.5;
    let (response, painter) = ui.allocate_painter(vec2(width, height), Sense::hover());
    let rect = response.rect;
    let grid = Grid {
        rect,
        time_w,
        lane_w,
        row_h,
        header_h,
        // Boxes and labels stay right of the time column.
        lanes_rect: Rect::from_min_max(pos2(rect.left() + time_w, rect.top()), rect.max),
        line: theme.line_width(),
    };
    grid.lanes(&painter, titles, theme);

    let mut new_hover = None;
    for (i, step) in model.steps.iter().enumerate() {
        let top = rect.top() + header_h + row_h * i as f32;
        let row = Rect::from_min_size(pos2(rect.left(), top), vec2(width, row_h));
        let lit = step.key.is_some_and(|k| k.lit_by(hovered));
        if lit {
            painter.rect_filled(row, 2.0, theme.highlight.gamma_multiply(0.25));
        }
        let row_response = ui.interact(row, response.id.with(i), Sense::hover());
        if row_response.hovered() {
            new_hover = step.key;
            let tip = step.detail.clone().unwrap_or_else(|| step.label.clone());
            row_response.on_hover_text(format!("{}  at +{}", tip, fmt_ms(step.at_ms)));
        }
        painter.text(
            pos2(rect.left() + 4.0, top + row_h * 0.5),
            Align2::LEFT_CENTER,
            format!("+{}", fmt_ms(step.at_ms)),
            font.clone(),
            theme.weak_text,
        );
        grid.step(&painter, step, top, lit, theme);
    }
    new_hover
}

/// Where the diagram's parts go: the time column, the lanes, the rows under the header.
struct Grid {
    rect: Rect,
    time_w: f32,
    lane_w: f32,
    row_h: f32,
    header_h: f32,
    /// Right of the time column: boxes and labels stay inside it.
    lanes_rect: Rect,
    line: f32,
}

impl Grid {
    /// The centre line of lane `i`.
    fn lane_x(&self, i: usize) -> f32 {
        self.rect.left() + self.time_w + self.lane_w * (i as f32 + 0.5)
    }

    /// Lane titles (boxed, wrapped) and a vertical line down each lane.
    fn lanes(&self, painter: &egui::Painter, titles: Vec<Arc<Galley>>, theme: &Theme) {
        for (i, galley) in titles.into_iter().enumerate() {
            let x = self.lane_x(i);
            let title = Rect::from_center_size(
                pos2(x, self.rect.top() + self.header_h * 0.45),
                vec2(self.lane_w * 0.9, self.header_h * 0.8),
            );
            painter.rect_filled(title, 4.0, theme.node_fill);
            painter.rect_stroke(
                title,
                4.0,
                Stroke::new(1.0, theme.node_stroke),
                StrokeKind::Inside,
            );
            let at = title.center() - galley.size() / 2.0;
            painter.galley(at, galley, theme.text);
            painter.vline(
                x,
                title.bottom()..=self.rect.bottom(),
                Stroke::new(1.0, theme.edge),
            );
        }
    }

    /// One step in the row at `top`: an arrow with its label, or a box on its lane (in the
    /// failure colour for the failure). `lit` when its phase is hovered anywhere.
    fn step(&self, painter: &egui::Painter, step: &Step, top: f32, lit: bool, theme: &Theme) {
        let (line, row_h) = (self.line, self.row_h);
        let color = step.key.map_or(theme.text, |k| theme.phase_color(k.phase));
        let stroke = Stroke::new(if lit { line * 1.8 } else { line }, color);
        match step.kind {
            StepKind::Message { from, to } => {
                let y = top + row_h * 0.78;
                let (a, z) = (self.lane_x(from), self.lane_x(to));
                let (a, z) = if from == to {
                    (a, a + self.lane_w * 0.4)
                } else {
                    (a, z)
                };
                arrow(
                    painter,
                    pos2(a, y),
                    pos2(z, y),
                    stroke,
                    step.is_reply,
                    theme,
                );
                let label_x = (a + z) / 2.0;
                label_with_backdrop(
                    painter,
                    pos2(label_x, y - line - 2.0),
                    Align2::CENTER_BOTTOM,
                    &step.label,
                    theme,
                    self.lanes_rect,
                );
            }
            StepKind::Note { lane } | StepKind::Failure { lane } => {
                let failure = matches!(step.kind, StepKind::Failure { .. });
                let galley = cut_to(
                    painter,
                    &step.label,
                    theme.body_font(),
                    theme.text,
                    self.lanes_rect.width() - 12.0,
                );
                let size = galley.size() + vec2(12.0, 6.0);
                let center = pos2(self.lane_x(lane), top + row_h * 0.5);
                let boxed = keep_inside(Rect::from_center_size(center, size), self.lanes_rect);
                let fill = if failure {
                    theme.failure_fill()
                } else {
                    theme.panel
                };
                let outline = if failure {
                    Stroke::new(
                        line,
                        theme.outcome_color(crate::trace::OutcomeClass::ServerError),
                    )
                } else {
                    stroke
                };
                painter.rect_filled(boxed, 4.0, fill);
                painter.rect_stroke(boxed, 4.0, outline, StrokeKind::Inside);
                painter.galley(boxed.min + vec2(6.0, 3.0), galley, theme.text);
            }
        }
    }
}

/// Moves `r` sideways so it lies inside `bounds` where it fits.
fn keep_inside(r: Rect, bounds: Rect) -> Rect {
    let dx = if r.left() < bounds.left() {
        bounds.left() - r.left()
    } else if r.right() > bounds.right() {
        bounds.right() - r.right()
    } else {
        0.0
    };
    r.translate(vec2(dx, 0.0))
}

/// Text over a small panel-coloured backdrop, so it reads across lane lines.
fn label_with_backdrop(
    painter: &egui::Painter,
    pos: Pos2,
    anchor: Align2,
    text: &str,
    theme: &Theme,
    bounds: Rect,
) {
    let galley = cut_to(painter, text, theme.body_font(), theme.text, bounds.width());
    let r = keep_inside(anchor.anchor_size(pos, galley.size()), bounds);
    painter.rect_filled(r.expand(1.0), 2.0, theme.background.gamma_multiply(0.85));
    painter.galley(r.min, galley, theme.text);
}

/// A solid (request) or dashed (answer) arrow from `a` to `z`.
fn arrow(painter: &egui::Painter, a: Pos2, z: Pos2, stroke: Stroke, dashed: bool, theme: &Theme) {
    if dashed {
        let dash = theme.body_size * 0.5;
        painter.extend(Shape::dashed_line(&[a, z], stroke, dash, dash * 0.6));
    } else {
        painter.line_segment([a, z], stroke);
    }
    let dir = (z - a).normalized();
    if dir == Vec2::ZERO {
        return;
    }
    let head = theme.body_size * 0.55;
    let back = z - dir * head;
    let side = dir.rot90() * head * 0.5;
    painter.add(Shape::convex_polygon(
        vec![z, back + side, back - side],
        stroke.color,
        Stroke::NONE,
    ));
}
