//! The panels' shared frame state (`PanelContext`) and the run's activity panel
//! (`bottom_panel_ui`): totals, the latest topology changes (markers) and the replies to
//! commands. `docks.rs` arranges it with the inspector, plots, sweep and lesson guide.
//!
//! Panels receive a `PanelContext` (read-only state of the frame) and push `UiCommand`s; they
//! own no engine handle.

use std::sync::Arc;
use std::time::Instant;

use egui::Ui;

use super::command::Commands;
use super::live::Live;
use super::status::StatusLog;
use super::theme::Theme;
use crate::trace::{Journey, TraceId};

/// What the side panels may read this frame.
pub struct PanelContext<'a> {
    pub live: &'a Live,
    pub theme: &'a Theme,
    /// The request picked out on the canvas (or being stepped).
    pub selected: Option<TraceId>,
    pub log: &'a StatusLog,
}

impl PanelContext<'_> {
    /// The selected request, if the trace still has it.
    pub fn selected_journey(&self) -> Option<&Arc<Journey>> {
        self.selected.and_then(|id| self.live.snapshot.find(id))
    }
}

/// The run's activity: totals, the latest changes and the replies to commands.
pub fn bottom_panel_ui(ui: &mut Ui, cx: &PanelContext<'_>, _out: &mut Commands) {
    let snap = &cx.live.snapshot;
    let t = &snap.totals;
    let mut classes = [0u64; 5];
    for (o, n) in &t.outcomes {
        classes[o.class().index()] += n;
    }
    let latency = t
        .latency
        .map(|p| format!(" · p50 {:.1} ms · p99 {:.1} ms", p.p50, p.p99))
        .unwrap_or_default();
    ui.label(format!(
        "{} sent · {} in flight · 2xx {} · 3xx {} · 4xx {} · 5xx {} · failed {}{latency}",
        cx.live.sent,
        snap.in_flight.len(),
        classes[0],
        classes[1],
        classes[2],
        classes[3],
        classes[4],
    ));
    ui.columns(2, |cols| {
        cols[0].strong("Latest changes");
        for m in snap.markers.iter().rev().take(5) {
            cols[0].label(format!("{:>6.1} s  {}", m.at_micros as f64 / 1e6, m.text));
        }
        cols[1].strong("Replies");
        let now = Instant::now();
        for e in cx.log.newest_first().take(5) {
            let age = now.duration_since(e.at).as_secs();
            let text = format!("{} ({age} s ago)", e.shown());
            if e.error {
                cols[1].colored_label(cx.theme.error, text);
            } else {
                cols[1].label(text);
            }
        }
    });
}
