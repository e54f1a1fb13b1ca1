//! One line of text cut to a width: laid out on a single row and, where it is wider, ended
//! with an ellipsis. The canvas's node lines, the sequence diagram's step words and the
//! waterfall's notes use it; what is cut is always said whole on hover.

use std::sync::Arc;

use egui::text::{LayoutJob, TextWrapping};
use egui::{Color32, FontId, Galley, Painter};

/// `text` on one row in `font`, cut with an ellipsis to at most `width` points.
pub fn cut_to(
    painter: &Painter,
    text: &str,
    font: FontId,
    color: Color32,
    width: f32,
) -> Arc<Galley> {
    let mut job = LayoutJob::simple_singleline(text.to_string(), font, color);
    job.wrap = TextWrapping::truncate_at_width(width.max(1.0));
    painter.layout_job(job)
}
