//! What a plot shows, read back from a frame's painted shapes: the numbers on its axes and
//! the text inside it, with whatever a reader could not read (text cut by a clip or the
//! window's edge, tick labels on top of each other, text spilling over the plot's border).
//! For tests and layout checks at a given window size and theme; drawing never uses it.

use egui::epaint::{ClippedShape, Shape};
use egui::{Context, Rect};

use super::axes::plot_id;

/// One painted piece of text.
#[derive(Clone, Debug, PartialEq)]
pub struct PaintedText {
    pub text: String,
    /// Where it is (unrotated text only; rotated text reports its unrotated box).
    pub rect: Rect,
    /// The clip it was painted under.
    pub clip: Rect,
}

impl PaintedText {
    fn is_number(&self) -> bool {
        self.text.trim().parse::<f64>().is_ok()
    }

    /// Whether all of it shows inside `screen` and its clip.
    fn is_whole(&self, screen: Rect) -> bool {
        let inside = |r: Rect| r.expand(1.0).contains_rect(self.rect);
        inside(self.clip) && inside(screen)
    }
}

/// The text a galley shows: what was laid out, or what is left of it when it was cut with
/// an ellipsis.
fn shown(galley: &egui::Galley) -> String {
    if !galley.elided {
        return galley.text().to_string();
    }
    let rows: Vec<String> = galley.rows.iter().map(|r| r.text()).collect();
    rows.join("\n")
}

/// Every piece of text in `shapes`, in painting order.
pub fn painted_texts(shapes: &[ClippedShape]) -> Vec<PaintedText> {
    fn walk(shape: &Shape, clip: Rect, out: &mut Vec<PaintedText>) {
        match shape {
            Shape::Vec(list) => list.iter().for_each(|s| walk(s, clip, out)),
            Shape::Text(t) if !t.galley.text().trim().is_empty() => out.push(PaintedText {
                text: shown(&t.galley),
                rect: t.galley.rect.translate(t.pos.to_vec2()),
                clip,
            }),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for c in shapes {
        walk(&c.shape, c.clip_rect, &mut out);
    }
    out
}

/// One plot as drawn: its frame (the area inside the axes) and the text on and in it.
#[derive(Clone, Debug)]
pub struct PlotReadout {
    pub frame: Rect,
    /// The numbers left of the frame, top to bottom.
    pub y_ticks: Vec<PaintedText>,
    /// The numbers under the frame, left to right.
    pub x_ticks: Vec<PaintedText>,
    /// Any other text touching the frame (end labels; a legend here would be a fault).
    pub inside: Vec<PaintedText>,
}

impl PlotReadout {
    /// The y tick texts.
    pub fn y_texts(&self) -> Vec<&str> {
        self.y_ticks.iter().map(|t| t.text.as_str()).collect()
    }

    /// The x tick texts.
    pub fn x_texts(&self) -> Vec<&str> {
        self.x_ticks.iter().map(|t| t.text.as_str()).collect()
    }

    /// What a reader could not read: ticks cut off or overlapping, text spilling over the
    /// frame. Empty when all is well.
    pub fn problems(&self, screen: Rect) -> Vec<String> {
        let mut out = Vec::new();
        for t in self.y_ticks.iter().chain(&self.x_ticks) {
            if !t.is_whole(screen) {
                out.push(format!("tick {:?} is cut off at {:?}", t.text, t.rect));
            }
        }
        for ticks in [&self.y_ticks, &self.x_ticks] {
            for pair in ticks.windows(2) {
                if pair[0].rect.intersects(pair[1].rect) {
                    out.push(format!(
                        "ticks {:?} and {:?} overlap",
                        pair[0].text, pair[1].text
                    ));
                }
            }
        }
        for t in &self.inside {
            if !self.frame.expand(1.0).contains_rect(t.rect) || !t.is_whole(screen) {
                out.push(format!("{:?} spills over the plot's edge", t.text));
            }
        }
        out
    }
}

/// Reads the plot named `name` (as given to [`plot_id`]) from a frame's `shapes`; `None`
/// when it was not drawn.
pub fn read_plot(ctx: &Context, shapes: &[ClippedShape], name: &str) -> Option<PlotReadout> {
    let frame = *egui_plot::PlotMemory::load(ctx, plot_id(name))?
        .transform()
        .frame();
    let texts = painted_texts(shapes);
    let (mut y_ticks, mut x_ticks, mut inside) = (Vec::new(), Vec::new(), Vec::new());
    for t in texts {
        let c = t.rect.center();
        let beside = t.rect.right() <= frame.left() + 1.0
            && t.rect.right() >= frame.left() - 12.0
            && frame.y_range().expand(1.0).contains(c.y);
        let below = t.rect.top() >= frame.bottom() - 1.0
            && t.rect.top() <= frame.bottom() + 8.0
            && frame.x_range().expand(1.0).contains(c.x);
        if t.is_number() && beside {
            y_ticks.push(t);
        } else if t.is_number() && below {
            x_ticks.push(t);
        } else if t.rect.intersects(frame) {
            inside.push(t);
        }
    }
    y_ticks.sort_by(|a, b| a.rect.top().total_cmp(&b.rect.top()));
    x_ticks.sort_by(|a, b| a.rect.left().total_cmp(&b.rect.left()));
    Some(PlotReadout {
        frame,
        y_ticks,
        x_ticks,
        inside,
    })
}
