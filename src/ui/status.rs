//! The status log: what each command did (the engine's reply, in words), shown briefly as a
//! toast over the canvas and kept in a short history for the bottom panel. Errors are marked
//! with a symbol as well as a colour.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use egui::{Painter, Rect, Stroke, StrokeKind, pos2};

use super::theme::Theme;

/// Messages kept in the history.
const KEEP: usize = 50;
/// How long a toast stays up.
pub const TOAST_FOR: Duration = Duration::from_secs(6);

/// One message.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub at: Instant,
    pub text: String,
    pub error: bool,
}

impl Entry {
    /// The message as shown: errors say so in words, not only in colour.
    pub fn shown(&self) -> String {
        if self.error {
            format!("Error: {}", self.text)
        } else {
            self.text.clone()
        }
    }
}

/// Recent messages, oldest first.
#[derive(Clone, Debug, Default)]
pub struct StatusLog {
    entries: VecDeque<Entry>,
}

impl StatusLog {
    /// Adds a message.
    pub fn push(&mut self, text: impl Into<String>, error: bool) {
        self.entries.push_back(Entry {
            at: Instant::now(),
            text: text.into(),
            error,
        });
        while self.entries.len() > KEEP {
            self.entries.pop_front();
        }
    }

    /// Adds a success message.
    pub fn info(&mut self, text: impl Into<String>) {
        self.push(text, false);
    }

    /// Adds an error message.
    pub fn error(&mut self, text: impl Into<String>) {
        self.push(text, true);
    }

    /// Every kept message, newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().rev()
    }

    /// Messages young enough to show as toasts, oldest first.
    pub fn toasts(&self, now: Instant) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(move |e| now.duration_since(e.at) < TOAST_FOR)
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
    }

    /// Whether a toast is up.
    pub fn has_toasts(&self, now: Instant) -> bool {
        self.toasts(now).next().is_some()
    }

    /// How long until the first toast up goes (the window paints once then to take it
    /// down; a toast does not move, so it needs no frames meanwhile).
    pub fn next_toast_gone(&self, now: Instant) -> Option<Duration> {
        self.toasts(now)
            .map(|e| (e.at + TOAST_FOR).saturating_duration_since(now))
            .min()
    }
}

/// Draws the toasts at the bottom left of `area`.
pub fn toasts_ui(p: &Painter, theme: &Theme, log: &StatusLog, area: Rect) {
    let now = Instant::now();
    let toasts: Vec<&Entry> = log.toasts(now).collect();
    let pad = theme.body_size * 0.5;
    // Bottom right, the canvas's emptiest corner (the clients and the outside tools are on
    // the left, the database in the middle).
    let width = (area.width() * 0.4).max(200.0);
    let mut y = area.bottom() - pad;
    for e in toasts.iter().rev() {
        let color = if e.error { theme.error } else { theme.text };
        let g = p.layout(e.shown(), theme.body(), color, width);
        let size = g.size();
        let rect = Rect::from_min_size(
            pos2(area.right() - pad * 3.0 - size.x, y - size.y - pad),
            size + egui::vec2(pad * 2.0, pad),
        );
        p.rect_filled(rect, 4.0, theme.banner);
        p.rect_stroke(
            rect,
            4.0,
            Stroke::new(1.5, if e.error { theme.error } else { theme.edge }),
            StrokeKind::Inside,
        );
        p.galley(rect.min + egui::vec2(pad, pad / 2.0), g, color);
        y = rect.top() - pad / 2.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toasts_are_the_latest_three_recent_messages_and_errors_are_marked() {
        let mut log = StatusLog::default();
        for i in 0..5 {
            log.info(format!("m{i}"));
        }
        log.error("no such server");
        let now = Instant::now();
        let shown: Vec<String> = log.toasts(now).map(Entry::shown).collect();
        assert_eq!(shown, vec!["m3", "m4", "Error: no such server"]);
        assert!(!log.has_toasts(now + TOAST_FOR * 2));
        let gone = log.next_toast_gone(now).expect("toasts are up");
        assert!(gone <= TOAST_FOR && gone > TOAST_FOR / 2);
        assert_eq!(log.next_toast_gone(now + TOAST_FOR * 2), None);
        assert_eq!(log.newest_first().count(), 6);
    }
}
