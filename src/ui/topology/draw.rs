//! Painting the topology canvas from its view models (`TopologyModel`, `DotFrame`): edges,
//! nodes, the queues stacked above servers, dots by outcome colour and shape, count badges
//! where dots overlap, the CDN's recent HIT/MISS strip, the load balancer's last pick and a
//! legend. Everything is drawn with the painter; nothing here decides anything.

use egui::{Align2, Color32, Painter, Pos2, Rect, Stroke, StrokeKind, pos2, vec2};

use super::dots::{Dot, DotFrame, Highlight};
use super::layout::{Metrics, NodeId, PlacedNode, TopologyModel};
use crate::trace::{CacheStatus, OutcomeClass, Phase};
use crate::ui::theme::{DotShape, Theme};

/// Most count badges drawn in one frame (text is what costs).
const MAX_BADGES: usize = 300;
/// Dots drawn in a row under a node before "+N".
const REST_ROW: u32 = 6;

/// Paints one dot: its outcome's colour and shape, or a ring while in flight.
pub fn dot(p: &Painter, theme: &Theme, pos: Pos2, r: f32, class: Option<OutcomeClass>, alpha: f32) {
    let color = theme.dot_color(class).gamma_multiply(alpha);
    match theme.dot_shape(class) {
        None => {
            p.circle_filled(pos, r, theme.background.gamma_multiply(alpha));
            p.circle_stroke(pos, r * 0.8, Stroke::new((r * 0.5).max(1.5), color));
        }
        Some(DotShape::Circle) => {
            p.circle_filled(pos, r, color);
        }
        Some(DotShape::Diamond) => {
            let d = r * 1.3;
            p.add(egui::Shape::convex_polygon(
                vec![
                    pos + vec2(0.0, -d),
                    pos + vec2(d, 0.0),
                    pos + vec2(0.0, d),
                    pos + vec2(-d, 0.0),
                ],
                color,
                Stroke::NONE,
            ));
        }
        Some(DotShape::Triangle) => {
            p.add(egui::Shape::convex_polygon(
                vec![
                    pos + vec2(0.0, -r * 1.35),
                    pos + vec2(r * 1.2, r * 0.8),
                    pos + vec2(-r * 1.2, r * 0.8),
                ],
                color,
                Stroke::NONE,
            ));
        }
        Some(DotShape::Square) => {
            p.rect_filled(
                Rect::from_center_size(pos, vec2(r * 1.8, r * 1.8)),
                0.0,
                color,
            );
        }
        Some(DotShape::Cross) => {
            let s = Stroke::new((r * 0.65).max(1.5), color);
            let d = r * 1.1;
            p.line_segment([pos + vec2(-d, -d), pos + vec2(d, d)], s);
            p.line_segment([pos + vec2(-d, d), pos + vec2(d, -d)], s);
        }
    }
}

/// The smallest a node's line is drawn to keep it whole, as a share of its font's size.
const MIN_FIT: f32 = 0.7;

/// One line of text fitted to `width`: at its font's size if it fits, else at a smaller size
/// (down to `MIN_FIT` of it) so that an address keeps every digit of its port; cut with an
/// ellipsis only when even that is too wide.
fn line(
    p: &Painter,
    text: &str,
    font: egui::FontId,
    color: Color32,
    width: f32,
) -> (std::sync::Arc<egui::Galley>, f32) {
    let whole = p.layout_no_wrap(text.to_string(), font.clone(), color);
    if whole.size().x <= width {
        return (whole, 0.0);
    }
    let scale = (width / whole.size().x * 0.98).max(MIN_FIT);
    let smaller = egui::FontId::new(font.size * scale, font.family);
    let g = crate::ui::text::cut_to(p, text, smaller, color, width);
    // Kept on the same middle line as its neighbours.
    let dy = (whole.size().y - g.size().y) / 2.0;
    (g, dy)
}

/// A dashed line: the name lookup goes over UDP, everything else over TCP (solid).
fn dashed(p: &Painter, theme: &Theme, from: Pos2, to: Pos2, stroke: Stroke) {
    let dash = theme.edge_width * 4.0;
    p.extend(egui::Shape::dashed_line(&[from, to], stroke, dash, dash));
}

/// The lines between nodes: solid for TCP, dashed for UDP (client to DNS).
pub fn edges(p: &Painter, theme: &Theme, model: &TopologyModel) {
    let stroke = Stroke::new(theme.edge_width, theme.edge);
    for &(a, b) in &model.edges {
        if let Some((from, to)) = model.segment(a, b, 0.0) {
            if b == NodeId::Dns {
                dashed(p, theme, from, to, stroke);
            } else {
                p.line_segment([from, to], stroke);
            }
        }
    }
}

/// The nodes: a box with the title (and a health mark), the address and details.
pub fn nodes(p: &Painter, theme: &Theme, model: &TopologyModel, m: &Metrics) {
    for n in &model.nodes {
        node(p, theme, n, m);
    }
}

fn node(p: &Painter, theme: &Theme, n: &PlacedNode, m: &Metrics) {
    let greyed = n.spec.health.greyed();
    let (fill, stroke, text) = if greyed {
        (theme.background, theme.dead, theme.weak_text)
    } else {
        (theme.node_fill, theme.node_stroke, theme.text)
    };
    let rect = n.rect;
    p.rect_filled(rect, theme.node_rounding, fill);
    let width = if greyed { 2.0 } else { 1.5 };
    p.rect_stroke(
        rect,
        theme.node_rounding,
        Stroke::new(width, stroke),
        StrokeKind::Inside,
    );
    let pad = m.line_height * 0.3;
    let inner = rect.width() - pad * 2.0;
    let mut y = rect.top() + pad;
    let (title, dy) = line(p, &n.spec.title, theme.body(), text, inner);
    p.galley(pos2(rect.left() + pad, y + dy), title, text);
    y += m.line_height;
    let mark = n.spec.health.mark();
    let room = ((rect.bottom() - y) / m.line_height).floor().max(0.0) as usize;
    let mut lines: Vec<(&str, bool)> = n.spec.lines.iter().map(|l| (l.as_str(), false)).collect();
    if !mark.is_empty() {
        // The health mark replaces the least important line when space is short.
        if lines.len() >= room && !lines.is_empty() {
            lines.pop();
        }
        lines.push((mark, true));
    }
    for (i, (text_line, is_mark)) in lines.into_iter().take(room).enumerate() {
        let (font, color) = if is_mark {
            (theme.body(), theme.error)
        } else if i == 0
            && n.spec.id != NodeId::Db
            && !matches!(n.spec.id, NodeId::Clients(_) | NodeId::Outside)
        {
            (theme.mono(), theme.weak_text)
        } else {
            (theme.body(), text)
        };
        let (g, dy) = line(p, text_line, font, color, inner);
        p.galley(pos2(rect.left() + pad, y + dy), g, color);
        y += m.line_height;
    }
}

/// Each server's queue (from its live gauge), as dots stacked above it, with the count.
pub fn queues(p: &Painter, theme: &Theme, model: &TopologyModel, m: &Metrics) {
    let r = m.dot_radius;
    for n in model.servers() {
        if n.spec.queued == 0 {
            continue;
        }
        let shown = n.spec.queued.min(n.stack_room.saturating_sub(1).max(1));
        for i in 0..shown {
            if let Some(pos) = model.rest_point(n.spec.id, i, m) {
                dot(p, theme, pos, r, None, 1.0);
            }
        }
        // Beside the foot of the stack, where there is room for it; the node itself says
        // "queue N" in any case.
        if n.stack_room as f32 * m.dot_pitch() >= m.line_height * 1.5 {
            p.text(
                pos2(n.rect.center().x + r * 2.0, n.rect.top() - 2.0),
                Align2::LEFT_BOTTOM,
                format!("{} queued", n.spec.queued),
                theme.body(),
                theme.text,
            );
        }
    }
}

/// Requests waiting at a node: a row of dots under it, "+N" beyond a few.
pub fn resting(p: &Painter, theme: &Theme, model: &TopologyModel, frame: &DotFrame, m: &Metrics) {
    for (&id, rest) in &frame.resting {
        let Some(rect) = model.rect(id) else {
            continue;
        };
        let classes = std::iter::repeat_n(None, rest.in_flight as usize).chain(
            OutcomeClass::ALL
                .iter()
                .flat_map(|c| std::iter::repeat_n(Some(*c), rest.by_class[c.index()] as usize)),
        );
        let pitch = m.dot_pitch();
        let y = rect.bottom() + m.dot_radius + 3.0;
        let total = rest.total();
        let shown = total.min(REST_ROW);
        let x0 = rect.center().x - pitch * shown as f32 / 2.0 + pitch / 2.0;
        for (i, class) in classes.take(shown as usize).enumerate() {
            dot(
                p,
                theme,
                pos2(x0 + pitch * i as f32, y),
                m.dot_radius,
                class,
                1.0,
            );
        }
        if total > shown {
            p.text(
                pos2(x0 + pitch * shown as f32, y),
                Align2::LEFT_CENTER,
                format!("+{}", total - shown),
                theme.body(),
                theme.text,
            );
        }
    }
}

/// Moving and falling dots, with a count where several share a spot. A count sits on a
/// corner of its dot that is clear of every node, so it never covers a node's words.
pub fn moving(p: &Painter, theme: &Theme, model: &TopologyModel, dots: &[Dot], m: &Metrics) {
    let r = m.dot_radius;
    for d in dots {
        dot(p, theme, d.pos, r, d.class, d.alpha);
    }
    let badged = dots.iter().filter(|d| d.count >= theme.badge_threshold);
    for d in badged.take(MAX_BADGES) {
        let color = theme.text.gamma_multiply(d.alpha);
        let g = p.layout_no_wrap(d.count.to_string(), theme.body(), color);
        let rect = badge_spot(model, d.pos, r + 1.0, g.size());
        p.rect_filled(
            rect.expand(1.0),
            2.0,
            theme.background.gamma_multiply(0.8 * d.alpha),
        );
        p.galley(rect.min, g, color);
    }
}

/// Where a count of `size` goes beside a dot at `pos`: the first corner (above right, above
/// left, below right, below left) that covers no node; above right if all do.
fn badge_spot(model: &TopologyModel, pos: Pos2, gap: f32, size: egui::Vec2) -> Rect {
    let corners = [
        pos + vec2(gap, -gap - size.y),
        pos + vec2(-gap - size.x, -gap - size.y),
        pos + vec2(gap, gap),
        pos + vec2(-gap - size.x, gap),
    ];
    let clear = |r: &Rect| !model.nodes.iter().any(|n| n.rect.intersects(*r));
    corners
        .iter()
        .map(|&c| Rect::from_min_size(c, size))
        .find(clear)
        .unwrap_or_else(|| Rect::from_min_size(corners[0], size))
}

/// The picked-out request: bigger, ringed, with where it is in words.
pub fn highlight(p: &Painter, theme: &Theme, h: &Highlight, label: &str, m: &Metrics) {
    let r = m.dot_radius * 1.7;
    let pos = h.dot.pos;
    p.circle_stroke(pos, r + 4.0, Stroke::new(2.5, theme.highlight));
    dot(p, theme, pos, r, h.dot.class, h.dot.alpha);
    if !label.is_empty() {
        let g = p.layout_no_wrap(label.to_string(), theme.body(), theme.text);
        let at = pos + vec2(r + 8.0, -r - 6.0 - g.size().y);
        let bg = Rect::from_min_size(at, g.size()).expand(3.0);
        p.rect_filled(bg, 3.0, theme.banner);
        p.rect_stroke(
            bg,
            3.0,
            Stroke::new(1.5, theme.highlight),
            StrokeKind::Outside,
        );
        p.galley(at, g, theme.text);
    }
}

/// The CDN's latest cache results as lettered boxes above it (H hit, M miss, E expired,
/// R revalidated), so HIT and MISS read without colour.
pub fn cache_strip(
    p: &Painter,
    theme: &Theme,
    model: &TopologyModel,
    recent: &[CacheStatus],
    m: &Metrics,
) {
    let Some(rect) = model.rect(NodeId::Cdn) else {
        return;
    };
    if recent.is_empty() {
        return;
    }
    let size = m.line_height;
    let y = rect.top() - size * 0.5 - 4.0;
    let label = p.layout_no_wrap("cache:".into(), theme.body(), theme.weak_text);
    let mut x = rect.left();
    let lw = label.size().x;
    // On the canvas's own colour, so edges passing behind do not strike through it.
    p.rect_filled(
        Rect::from_min_size(pos2(x, y - label.size().y / 2.0), label.size()).expand(2.0),
        3.0,
        theme.background,
    );
    let right = model
        .rect(NodeId::Lb)
        .map_or(rect.right() + rect.width(), |lb| lb.left() - 4.0);
    let room = ((right - x - lw - 4.0) / (size + 2.0)).floor().max(1.0) as usize;
    p.galley(pos2(x, y - label.size().y / 2.0), label, theme.weak_text);
    x += lw + 4.0;
    let skip = recent.len().saturating_sub(room);
    for status in &recent[skip..] {
        let (letter, fill) = match status {
            CacheStatus::Hit => ("H", theme.hit),
            CacheStatus::Revalidated => ("R", theme.hit),
            CacheStatus::Miss => ("M", theme.miss),
            CacheStatus::Expired => ("E", theme.miss),
            CacheStatus::Bypass => continue,
        };
        let cell = Rect::from_min_size(pos2(x, y - size / 2.0), vec2(size, size));
        cache_cell(p, theme, cell, letter, fill);
        x += size + 2.0;
    }
}

/// The load balancer's last pick and its reason, beside it.
pub fn last_pick(
    p: &Painter,
    theme: &Theme,
    model: &TopologyModel,
    frame: &DotFrame,
    canvas: Rect,
) {
    let (Some(rect), Some(j)) = (model.rect(NodeId::Lb), &frame.last_pick) else {
        return;
    };
    let Some(pick) = j.span(Phase::Pick) else {
        return;
    };
    let server = pick.attr("server").unwrap_or("no server");
    let reason = pick.attr("reason").unwrap_or("");
    // The reason usually names the server already ("server-3: next in turn").
    let text = if reason.starts_with(server) {
        format!("last pick: {reason}")
    } else {
        format!("last pick: {server} ({reason})")
    };
    let x = rect.right() + 10.0;
    let width = (canvas.right() - x - 8.0).max(80.0);
    let g = p.layout(text, theme.body(), theme.text, width);
    p.galley(pos2(x, rect.top()), g, theme.text);
}

/// One cell of the cache strip: a letter on the colour of its result.
fn cache_cell(p: &Painter, theme: &Theme, cell: Rect, letter: &str, fill: Color32) {
    p.rect_filled(cell, 3.0, fill);
    p.text(
        cell.center(),
        Align2::CENTER_CENTER,
        letter,
        theme.body(),
        Theme::ink_on(fill),
    );
}

/// A legend entry's mark: a dot of an outcome class, a line sample, or a cache strip cell
/// (its letter; hit or not).
#[derive(Clone, Copy)]
enum Mark {
    Dot(Option<OutcomeClass>),
    Line { dashed: bool },
    Cell(&'static str, bool),
}

const LEGEND: [(Mark, &str); 12] = [
    (Mark::Dot(None), "in flight"),
    (Mark::Dot(Some(OutcomeClass::Success)), "2xx"),
    (Mark::Dot(Some(OutcomeClass::Redirect)), "3xx"),
    (Mark::Dot(Some(OutcomeClass::ClientError)), "4xx"),
    (Mark::Dot(Some(OutcomeClass::ServerError)), "5xx"),
    (Mark::Dot(Some(OutcomeClass::Failure)), "failed: falls away"),
    (Mark::Line { dashed: false }, "TCP"),
    (Mark::Line { dashed: true }, "UDP (DNS)"),
    (Mark::Cell("H", true), "cache hit"),
    (Mark::Cell("M", false), "miss"),
    (Mark::Cell("E", false), "expired"),
    (Mark::Cell("R", true), "revalidated"),
];

/// Where each legend entry goes in a band `width` wide (entries flow and wrap), and the
/// band's height.
fn legend_layout(p: &Painter, theme: &Theme, width: f32, m: &Metrics) -> (Vec<Pos2>, f32) {
    let gap = theme.body_size * 1.2;
    let (mut x, mut row) = (0.0, 0);
    let mut at = Vec::with_capacity(LEGEND.len());
    for (mark, label) in LEGEND {
        let w = mark_width(mark, theme, m)
            + p.layout_no_wrap(label.into(), theme.body(), theme.text)
                .size()
                .x;
        if x > 0.0 && x + w > width {
            x = 0.0;
            row += 1;
        }
        at.push(pos2(x, row as f32 * m.line_height));
        x += w + gap;
    }
    (at, (row + 1) as f32 * m.line_height + m.line_height * 0.4)
}

/// How wide a legend entry's mark is (line samples are long enough to show their dashes).
fn mark_width(mark: Mark, theme: &Theme, m: &Metrics) -> f32 {
    match mark {
        Mark::Dot(_) => m.dot_radius * 4.0,
        Mark::Line { .. } => theme.body_size * 2.2,
        Mark::Cell(..) => m.line_height + theme.body_size * 0.4,
    }
}

/// The height of the legend band for a canvas `width` wide.
pub fn legend_height(p: &Painter, theme: &Theme, width: f32, m: &Metrics) -> f32 {
    legend_layout(p, theme, width - theme.body_size, m).1
}

/// What the shapes, colours and lines mean, in a band at the bottom of the canvas.
pub fn legend(p: &Painter, theme: &Theme, band: Rect, m: &Metrics) {
    let left = band.left() + theme.body_size * 0.5;
    let (at, _) = legend_layout(p, theme, band.width() - theme.body_size, m);
    let stroke = Stroke::new(theme.edge_width, theme.edge);
    for ((mark, label), offset) in LEGEND.into_iter().zip(at) {
        let y = band.top() + m.line_height * 0.5 + offset.y;
        let x0 = left + offset.x;
        let w = mark_width(mark, theme, m);
        let (a, b) = (pos2(x0, y), pos2(x0 + w - m.dot_radius, y));
        match mark {
            Mark::Dot(class) => dot(
                p,
                theme,
                pos2(x0 + m.dot_radius * 1.5, y),
                m.dot_radius * 1.2,
                class,
                1.0,
            ),
            Mark::Line { dashed: true } => dashed(p, theme, a, b, stroke),
            Mark::Line { dashed: false } => {
                p.line_segment([a, b], stroke);
            }
            Mark::Cell(letter, hit) => {
                let size = m.line_height * 0.9;
                let cell = Rect::from_center_size(pos2(x0 + size / 2.0, y), vec2(size, size));
                let fill = if hit { theme.hit } else { theme.miss };
                cache_cell(p, theme, cell, letter, fill);
            }
        }
        p.text(
            pos2(x0 + w, y),
            Align2::LEFT_CENTER,
            label,
            theme.body(),
            theme.text,
        );
    }
}
