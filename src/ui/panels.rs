//! The right and bottom panels. These are the plug-in points for panels built elsewhere:
//!
//! - `right_panel_ui`: the request inspector (`inspector.rs`) goes here. Until then it shows
//!   the selected request's id, outcome and hops, or a list of recent requests to pick from.
//! - `bottom_panel_ui`: the plots and the scaling sweep (`plots.rs`, `sweep_panel.rs`) go
//!   here. Until then it shows the run's totals, the latest topology changes (markers) and
//!   the replies to commands.
//!
//! Both receive a `PanelContext` (read-only state of the frame) and push `UiCommand`s; they
//! own no engine handle. To plug a panel in, call its `ui()` from the function body.

use std::sync::Arc;
use std::time::Instant;

use egui::{RichText, ScrollArea, Ui};

use super::command::{Commands, UiCommand};
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

fn ms(micros: u64) -> String {
    format!("{:.1} ms", micros as f64 / 1000.0)
}

/// PLUG-IN POINT for the request inspector: the right side panel.
pub fn right_panel_ui(ui: &mut Ui, cx: &PanelContext<'_>, out: &mut Commands) {
    ui.heading("Request");
    let Some(j) = cx.selected_journey() else {
        if cx.selected.is_some() {
            ui.label("That request is no longer in memory.");
        }
        ui.label("Click a dot on the canvas, or pick a recent request:");
        ScrollArea::vertical()
            .id_salt("recent requests")
            .show(ui, |ui| {
                for j in cx.live.snapshot.recent.iter().rev().take(30) {
                    let outcome = j.outcome.map_or("…".into(), |o| o.to_string());
                    let text =
                        format!("{} {} {} {}", outcome, j.method, path(&j.url), j.id.short());
                    if ui.selectable_label(false, text).clicked() {
                        out.push(UiCommand::Select(Some(j.id)));
                    }
                }
            });
        return;
    };
    ui.horizontal(|ui| {
        ui.monospace(j.id.short());
        if ui.small_button("Clear").clicked() {
            out.push(UiCommand::Select(None));
        }
    });
    ui.label(format!("{} {}", j.method, path(&j.url)));
    let who = if j.external {
        format!("from outside: {}", j.client)
    } else {
        format!("from {} ({})", j.client, j.profile)
    };
    ui.label(who);
    let outcome = match j.outcome {
        Some(o) => {
            let class = o.class().label();
            format!("{} ({class})", o.describe())
        }
        None => "in flight".into(),
    };
    ui.label(RichText::new(outcome).strong());
    if let Some(c) = j.cache {
        ui.label(format!("X-Cache: {}", c.as_str()));
    }
    if let Some(s) = &j.served_by {
        ui.label(format!("X-Served-By: {s}"));
    }
    if let Some(l) = j.latency_micros() {
        ui.label(format!("took {}", ms(l)));
    }
    ui.separator();
    ui.strong("Hops");
    ScrollArea::vertical().id_salt("hops").show(ui, |ui| {
        let edge = cx.live.edge;
        for (i, (c, t)) in j.arrivals.iter().enumerate() {
            let at = ms(t.saturating_sub(j.start_micros));
            // A simulated client reports the edge once when it sends, then the edge itself.
            let first_edge =
                *c == edge && !j.external && !j.arrivals[..i].iter().any(|(p, _)| *p == edge);
            let what = if first_edge {
                format!("sent to {c}")
            } else {
                format!("at {c}")
            };
            ui.label(format!("{}. {what} +{at}", i + 1));
        }
        ui.separator();
        ui.strong("Phases");
        for s in &j.spans {
            let mut line = format!("{} {} {}", s.component, s.phase, ms(s.micros()));
            for key in ["result", "server", "reason", "answer", "sql", "status"] {
                // The balancer's reason already names the server it picked.
                let named = key == "server"
                    && s.attr("reason")
                        .zip(s.attr("server"))
                        .is_some_and(|(r, server)| r.starts_with(server));
                if let Some(v) = s.attr(key).filter(|_| !named) {
                    line.push_str(&format!(" · {v}"));
                }
            }
            ui.label(line);
        }
    });
}

/// PLUG-IN POINT for the plots and the scaling sweep: the bottom panel.
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

fn path(url: &str) -> &str {
    url.find("://")
        .and_then(|i| url[i + 3..].find('/').map(|p| &url[i + 3 + p..]))
        .unwrap_or(url)
}
