//! The request inspector: a filterable list of requests and, for the selected one, three
//! linked views — its sequence diagram, its timing waterfall and its headers and body.
//! Hovering a phase in any view highlights it in the others (the panel keeps the hovered
//! phase from one frame to the next). A failed request shows its named failure and the hop
//! where it happened.
//!
//! The views draw plain view models (`sequence`, `waterfall`, `headers`, `list`) built from
//! a [`Journey`] outside drawing code and tested as data; the panel rebuilds them only when
//! the selected journey changes.

pub mod curl;
mod headers;
mod list;
mod model;
mod sequence;
mod sequence_ui;
mod waterfall;

#[cfg(test)]
mod fixtures;

use std::sync::Arc;

use egui::{CentralPanel, Panel, Pos2, RichText, ScrollArea, Stroke, Ui};

pub use headers::{HeaderRow, HeadersModel};
pub use list::{CacheFilter, ListFilter, ListRow, SortOrder, StatusFilter};
pub use model::{FailureNote, PhaseKey};
pub use sequence::{Lane, SequenceModel, Step, StepKind};
pub use waterfall::{Bar, HAR_PHASES, WaterfallModel};

use crate::trace::{Component, Journey, OutcomeClass, Snapshot, TraceId};
use crate::ui::theme::{DotShape, Theme};

/// The view models of one journey.
#[derive(Clone, Debug, PartialEq)]
pub struct JourneyViews {
    pub sequence: SequenceModel,
    pub waterfall: WaterfallModel,
    pub headers: HeadersModel,
    pub failure: Option<FailureNote>,
}

impl JourneyViews {
    /// Builds every view of `journey`; `edge_hint` names the edge when the journey does not
    /// show it (see [`edge_hint`]).
    pub fn build(journey: &Journey, edge_hint: Option<Component>) -> JourneyViews {
        JourneyViews {
            sequence: sequence::build(journey, edge_hint),
            waterfall: waterfall::build(journey),
            headers: headers::build(journey),
            failure: model::failure_note(journey, edge_hint),
        }
    }
}

/// Where requests enter the topology, judged from a snapshot (the CDN when any request
/// reached it).
pub fn edge_hint(snapshot: &Snapshot) -> Option<Component> {
    model::edge_hint(snapshot)
}

/// The rows the list shows for `snapshot` under `filter`, in order.
pub fn list_rows(snapshot: &Snapshot, filter: &ListFilter) -> Vec<ListRow> {
    list::rows(snapshot, filter)
}

/// The request inspector panel.
#[derive(Default)]
pub struct InspectorPanel {
    /// The list's filters.
    pub filter: ListFilter,
    hovered: Option<PhaseKey>,
    /// The selected journey as last seen (kept when it leaves the snapshot's window).
    last: Option<Arc<Journey>>,
    views: Option<JourneyViews>,
    /// Where the running edge listens, for "Copy as cURL" (none when replaying a file).
    pub addresses: Option<crate::engine::Addresses>,
}

impl InspectorPanel {
    /// An inspector showing every request, newest first, nothing selected.
    pub fn new() -> InspectorPanel {
        InspectorPanel::default()
    }

    /// The phase hovered in the last frame, if any.
    pub fn hovered(&self) -> Option<PhaseKey> {
        self.hovered
    }

    /// Draws the list and, when a request is selected, its views. Clicking a row sets
    /// `selected`; "Close" clears it.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        snapshot: &Snapshot,
        theme: &Theme,
        selected: &mut Option<TraceId>,
    ) {
        ui.scope(|ui| {
            theme.apply_text_sizes(ui.style_mut());
            // Side by side when there is room; in a narrow panel, the list until a request
            // is picked, then its views (Close goes back to the list).
            if ui.available_width() < theme.body_size * 60.0 {
                if selected.is_some() {
                    self.detail_ui(ui, snapshot, theme, selected);
                } else {
                    list::list_ui(ui, &mut self.filter, snapshot, theme, selected);
                }
                return;
            }
            Panel::left("inspector-list-panel")
                .resizable(true)
                .default_size(theme.body_size * 26.0)
                .size_range(theme.body_size * 14.0..=theme.body_size * 60.0)
                .show(ui, |ui| {
                    list::list_ui(ui, &mut self.filter, snapshot, theme, selected);
                });
            CentralPanel::no_frame().show(ui, |ui| {
                ui.add_space(4.0);
                self.detail_ui(ui, snapshot, theme, selected);
            });
        });
    }

    fn refresh(&mut self, snapshot: &Snapshot, selected: Option<TraceId>) {
        let Some(id) = selected else {
            self.last = None;
            self.views = None;
            return;
        };
        let current = snapshot
            .find(id)
            .cloned()
            .or_else(|| self.last.clone().filter(|j| j.id == id));
        let changed = match (&current, &self.last) {
            (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
            (None, None) => false,
            _ => true,
        };
        if changed || self.views.is_none() {
            self.views = current
                .as_ref()
                .map(|j| JourneyViews::build(j, edge_hint(snapshot)));
            self.last = current;
        }
    }

    fn detail_ui(
        &mut self,
        ui: &mut Ui,
        snapshot: &Snapshot,
        theme: &Theme,
        selected: &mut Option<TraceId>,
    ) {
        self.refresh(snapshot, *selected);
        let (Some(journey), Some(views)) = (self.last.clone(), self.views.as_ref()) else {
            ui.add_space(theme.body_size);
            let text = if selected.is_some() {
                "That request is no longer in the recent window. Pick another from the list."
            } else {
                "Pick a request from the list (or click a dot) to see its journey: the sequence diagram, the timing waterfall, and its headers and body."
            };
            ui.label(RichText::new(text).color(theme.weak_text));
            return;
        };
        header_ui(
            ui,
            &journey,
            views,
            theme,
            selected,
            self.addresses.as_ref(),
        );
        let hovered = self.hovered;
        let mut next = None;
        ScrollArea::vertical()
            .id_salt("inspector-detail")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.label(RichText::new("Timing waterfall").heading());
                next = next.or(waterfall::waterfall_ui(
                    ui,
                    &views.waterfall,
                    theme,
                    hovered,
                ));
                ui.add_space(theme.body_size * 0.5);
                // Side by side only on very wide screens: the diagram needs its width.
                let wide = ui.available_width() > theme.body_size * 105.0;
                let sequence = |ui: &mut Ui| {
                    ui.label(RichText::new("Sequence diagram").heading());
                    ScrollArea::horizontal()
                        .id_salt("inspector-sequence")
                        .show(ui, |ui| {
                            sequence_ui::sequence_ui(ui, &views.sequence, theme, hovered)
                        })
                        .inner
                };
                if wide {
                    ui.columns(2, |cols| {
                        next = next.or(sequence(&mut cols[0]));
                        next = next.or(headers::headers_ui(
                            &mut cols[1],
                            &views.headers,
                            theme,
                            hovered,
                        ));
                    });
                } else {
                    next = next.or(sequence(ui));
                    ui.add_space(theme.body_size * 0.5);
                    next = next.or(headers::headers_ui(ui, &views.headers, theme, hovered));
                }
            });
        if next != self.hovered {
            self.hovered = next;
            ui.ctx().request_repaint();
        }
    }
}

/// The selected request's title, summary line, URL and failure banner.
fn header_ui(
    ui: &mut Ui,
    j: &Journey,
    views: &JourneyViews,
    theme: &Theme,
    selected: &mut Option<TraceId>,
    addresses: Option<&crate::engine::Addresses>,
) {
    let command = addresses.and_then(|a| curl::curl_command(j, a));
    ui.horizontal(|ui| {
        let (rect, _) = ui.allocate_exact_size(
            egui::vec2(theme.heading_size, theme.heading_size),
            egui::Sense::hover(),
        );
        paint_outcome_icon(
            ui.painter(),
            rect.center(),
            theme.heading_size * 0.35,
            j.outcome.map(|o| o.class()),
            theme,
        );
        ui.label(
            RichText::new(format!("{} {}", j.method, model::path_of(&j.url)))
                .heading()
                .strong(),
        );
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .button("Close")
                .on_hover_text("Back to the list only")
                .clicked()
            {
                *selected = None;
            }
            if let Some(cmd) = &command
                && ui
                    .button("Copy as cURL")
                    .on_hover_text(
                        "A curl command that sends this same request to the running edge",
                    )
                    .clicked()
            {
                ui.ctx().copy_text(cmd.clone());
            }
        });
    });
    if let Some(cmd) = &command {
        egui::CollapsingHeader::new("Reproduce with curl")
            .id_salt("inspector-curl")
            .show(ui, |ui| {
                ui.add(egui::Label::new(RichText::new(cmd).font(theme.mono_font())).wrap());
            });
    }
    let mut facts = vec![
        model::outcome_text(j.outcome),
        model::fmt_ms(model::total_ms(j)),
        format!("{} ({})", j.client, j.profile),
    ];
    if let Some(c) = j.cache {
        facts.push(format!("X-Cache {}", c.as_str()));
    }
    if let Some(s) = &j.served_by {
        facts.push(format!("served by {s}"));
    }
    facts.push(if j.reused {
        "connection reused".into()
    } else {
        "new connection".into()
    });
    ui.label(RichText::new(facts.join(" · ")).strong());
    ui.label(
        RichText::new(&j.url)
            .font(theme.mono_font())
            .color(theme.weak_text),
    );
    ui.label(RichText::new(format!("request id {}", j.id)).color(theme.weak_text));
    if let Some(f) = &views.failure {
        egui::Frame::new()
            .fill(theme.failure_fill())
            .stroke(Stroke::new(
                theme.line_width(),
                theme.outcome_color(OutcomeClass::ServerError),
            ))
            .inner_margin(8.0)
            .corner_radius(4.0)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(
                    RichText::new(format!(
                        "Failed at {}: {}",
                        model::lane_title(f.hop),
                        f.headline
                    ))
                    .strong()
                    .color(theme.text),
                );
                if let Some(d) = &f.detail {
                    ui.label(RichText::new(d).color(theme.text));
                }
            });
    }
    ui.separator();
}

/// Paints an outcome's shape in its colour (a hollow circle while in flight), so the class
/// reads by shape as well as by colour.
pub(crate) fn paint_outcome_icon(
    painter: &egui::Painter,
    center: Pos2,
    radius: f32,
    class: Option<OutcomeClass>,
    theme: &Theme,
) {
    let Some(class) = class else {
        painter.circle_stroke(center, radius, Stroke::new(2.0, theme.in_flight()));
        return;
    };
    let color = theme.outcome_color(class);
    let r = radius;
    let poly = |points: Vec<Pos2>| {
        painter.add(egui::Shape::convex_polygon(points, color, Stroke::NONE));
    };
    match theme.outcome_shape(class) {
        DotShape::Circle => {
            painter.circle_filled(center, r, color);
        }
        DotShape::Diamond => poly(vec![
            center + egui::vec2(0.0, -r * 1.2),
            center + egui::vec2(r * 1.2, 0.0),
            center + egui::vec2(0.0, r * 1.2),
            center + egui::vec2(-r * 1.2, 0.0),
        ]),
        DotShape::Triangle => poly(vec![
            center + egui::vec2(0.0, -r * 1.2),
            center + egui::vec2(r * 1.15, r * 0.9),
            center + egui::vec2(-r * 1.15, r * 0.9),
        ]),
        DotShape::Square => {
            painter.rect_filled(
                egui::Rect::from_center_size(center, egui::vec2(r * 1.8, r * 1.8)),
                1.0,
                color,
            );
        }
        DotShape::Cross => {
            let s = Stroke::new(r * 0.55, color);
            painter.line_segment([center + egui::vec2(-r, -r), center + egui::vec2(r, r)], s);
            painter.line_segment([center + egui::vec2(-r, r), center + egui::vec2(r, -r)], s);
        }
    }
}

#[cfg(test)]
mod tests;
