//! The request list: every journey the snapshot holds (recent and in flight), filtered by
//! outcome class, client profile, server, cache result and a text search on the URL,
//! newest or slowest first. Each row is one click target whose accessible label is the
//! text it shows, so tests (and screen readers) find it by what it says.

use std::collections::BTreeSet;
use std::sync::Arc;

use egui::{Align2, ComboBox, Rect, RichText, ScrollArea, Sense, TextEdit, Ui, pos2, vec2};

use super::model::{fmt_ms, outcome_text, path_of, total_ms};
use super::paint_outcome_icon;
use crate::scenario::server_sort_key;
use crate::trace::{CacheStatus, Journey, OutcomeClass, Snapshot, TraceId};
use crate::ui::theme::Theme;

/// How the list is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortOrder {
    /// Most recently started first.
    #[default]
    Newest,
    /// Longest total time first (requests in flight count their time so far).
    Slowest,
}

/// Which outcomes to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    /// Ended with this class (2xx, 3xx, 4xx, 5xx, failed).
    Class(OutcomeClass),
    /// Not ended yet.
    InFlight,
}

/// Which cache results to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheFilter {
    /// `X-Cache` was this.
    Status(CacheStatus),
    /// Hits and revalidations (answered without the origin sending a body).
    AnyHit,
    /// Did not pass the CDN (or it had not answered yet).
    None,
}

/// The list's filters; the default shows everything, newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListFilter {
    pub status: Option<StatusFilter>,
    pub profile: Option<String>,
    pub server: Option<String>,
    pub cache: Option<CacheFilter>,
    /// Case-insensitive text to find in the URL or method.
    pub search: String,
    pub sort: SortOrder,
}

impl ListFilter {
    /// Whether `j` passes every filter.
    pub fn matches(&self, j: &Journey) -> bool {
        let status_ok = match self.status {
            None => true,
            Some(StatusFilter::InFlight) => j.outcome.is_none(),
            Some(StatusFilter::Class(c)) => j.outcome.is_some_and(|o| o.class() == c),
        };
        let cache_ok = match self.cache {
            None => true,
            Some(CacheFilter::Status(s)) => j.cache == Some(s),
            Some(CacheFilter::AnyHit) => j.cache.is_some_and(CacheStatus::is_hit),
            Some(CacheFilter::None) => j.cache.is_none(),
        };
        let search = self.search.trim().to_lowercase();
        status_ok
            && cache_ok
            && self.profile.as_ref().is_none_or(|p| *p == j.profile)
            && self
                .server
                .as_ref()
                .is_none_or(|s| j.served_by.as_ref() == Some(s))
            && (search.is_empty()
                || j.url.to_lowercase().contains(&search)
                || j.method.to_lowercase() == search)
    }
}

/// One row of the list, as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct ListRow {
    pub id: TraceId,
    /// First line: `GET /users/2`.
    pub title: String,
    /// Second line: `200 OK · 48.3 ms · browser · MISS · server-1 · #1a2b3c4d`.
    pub subtitle: String,
    /// `None` while in flight.
    pub class: Option<OutcomeClass>,
}

impl ListRow {
    /// The row of `j`.
    pub fn of(j: &Journey) -> ListRow {
        let mut parts = vec![
            outcome_text(j.outcome),
            fmt_ms(total_ms(j)),
            j.profile.clone(),
        ];
        if let Some(c) = j.cache {
            parts.push(c.as_str().to_string());
        }
        if let Some(s) = &j.served_by {
            parts.push(s.clone());
        }
        parts.push(format!("#{}", j.id.short()));
        ListRow {
            id: j.id,
            title: format!("{} {}", j.method, path_of(&j.url)),
            subtitle: parts.join(" · "),
            class: j.outcome.map(|o| o.class()),
        }
    }

    /// The row's accessible label: both lines.
    pub fn label(&self) -> String {
        format!("{}\n{}", self.title, self.subtitle)
    }
}

/// The journeys of `snapshot` that pass `filter`, in its order.
pub fn select<'a>(snapshot: &'a Snapshot, filter: &ListFilter) -> Vec<&'a Arc<Journey>> {
    let mut out: Vec<&Arc<Journey>> = snapshot
        .recent
        .iter()
        .chain(snapshot.in_flight.iter())
        .filter(|j| filter.matches(j))
        .collect();
    match filter.sort {
        SortOrder::Newest => out.sort_by_key(|j| std::cmp::Reverse((j.start_micros, j.id))),
        SortOrder::Slowest => {
            out.sort_by(|a, b| total_ms(b).total_cmp(&total_ms(a)).then(b.id.cmp(&a.id)))
        }
    }
    out
}

/// The rows of `snapshot` that pass `filter` (for tests and small lists; the window
/// formats only the rows on screen).
pub fn rows(snapshot: &Snapshot, filter: &ListFilter) -> Vec<ListRow> {
    select(snapshot, filter)
        .into_iter()
        .map(|j| ListRow::of(j))
        .collect()
}

/// The profiles and servers present, for the filter menus (sorted).
pub fn choices(snapshot: &Snapshot) -> (Vec<String>, Vec<String>) {
    // Borrowed while scanning: thousands of journeys, a handful of distinct names.
    let mut profiles: BTreeSet<&str> = BTreeSet::new();
    let mut servers: BTreeSet<&str> = BTreeSet::new();
    for j in snapshot.recent.iter().chain(snapshot.in_flight.iter()) {
        profiles.insert(&j.profile);
        if let Some(s) = &j.served_by {
            servers.insert(s);
        }
    }
    for g in &snapshot.servers {
        servers.insert(&g.name);
    }
    let mut servers: Vec<(u32, String)> = servers.into_iter().map(server_sort_key).collect();
    servers.sort();
    (
        profiles.into_iter().map(str::to_string).collect(),
        servers.into_iter().map(|(_, name)| name).collect(),
    )
}

/// Draws the filters and the list; a click selects a request.
pub fn list_ui(
    ui: &mut Ui,
    filter: &mut ListFilter,
    snapshot: &Snapshot,
    theme: &Theme,
    selected: &mut Option<TraceId>,
) {
    filters_ui(ui, filter, snapshot, theme);
    let shown = select(snapshot, filter);
    let total = snapshot.recent.len() + snapshot.in_flight.len();
    ui.label(RichText::new(format!("{} of {total} requests", shown.len())).color(theme.weak_text));
    ui.separator();
    let row_h = theme.row_height() * 1.6;
    ScrollArea::vertical()
        .id_salt("inspector-list")
        .auto_shrink([false, false])
        .show_rows(ui, row_h, shown.len(), |ui, range| {
            for j in &shown[range] {
                row_ui(ui, &ListRow::of(j), theme, row_h, selected);
            }
        });
}

fn row_ui(ui: &mut Ui, row: &ListRow, theme: &Theme, row_h: f32, selected: &mut Option<TraceId>) {
    let is_selected = *selected == Some(row.id);
    let width = ui.available_width();
    let (rect, response) = ui.allocate_exact_size(vec2(width, row_h), Sense::click());
    let label = row.label();
    response
        .widget_info(|| egui::WidgetInfo::selected(egui::Role::Button, true, is_selected, &label));
    let painter = ui.painter_at(rect);
    if is_selected {
        painter.rect_filled(rect, 3.0, ui.visuals().selection.bg_fill);
    } else if response.hovered() {
        painter.rect_filled(rect, 3.0, ui.visuals().widgets.hovered.weak_bg_fill);
    }
    let icon_r = theme.body_size * 0.4;
    let icon_center = pos2(rect.left() + icon_r + 4.0, rect.top() + row_h * 0.3);
    paint_outcome_icon(&painter, icon_center, icon_r, row.class, theme);
    let text_left = rect.left() + icon_r * 2.0 + 10.0;
    let text_color = if is_selected {
        ui.visuals().selection.stroke.color
    } else {
        theme.text
    };
    let line = |y: f32, text: &str, color| {
        let r = Rect::from_min_max(pos2(text_left, rect.top()), rect.max);
        ui.painter_at(r).text(
            pos2(text_left, y),
            Align2::LEFT_CENTER,
            text,
            theme.body_font(),
            color,
        );
    };
    line(rect.top() + row_h * 0.3, &row.title, text_color);
    line(
        rect.top() + row_h * 0.72,
        &row.subtitle,
        if is_selected {
            text_color
        } else {
            theme.weak_text
        },
    );
    if response.clicked() {
        *selected = Some(row.id);
    }
}

fn filters_ui(ui: &mut Ui, f: &mut ListFilter, snapshot: &Snapshot, theme: &Theme) {
    let (profiles, servers) = choices(snapshot);
    let combo_w = theme.body_size * 7.0;
    ui.add(
        TextEdit::singleline(&mut f.search)
            .hint_text("search URL")
            .desired_width(f32::INFINITY),
    );
    let status_text = match f.status {
        None => "any status".to_string(),
        Some(StatusFilter::InFlight) => "in flight".into(),
        Some(StatusFilter::Class(c)) => c.label().into(),
    };
    let cache_text = match f.cache {
        None => "any cache".to_string(),
        Some(CacheFilter::AnyHit) => "HIT or 304".into(),
        Some(CacheFilter::None) => "no CDN".into(),
        Some(CacheFilter::Status(s)) => s.as_str().into(),
    };
    // A labelled menu: the label before it also names it for screen readers and tests.
    let labelled =
        |ui: &mut Ui, label: &str, id: &str, text: String, add: &mut dyn FnMut(&mut Ui)| {
            let label = ui.label(label);
            ComboBox::from_id_salt(id)
                .width(combo_w)
                .selected_text(text)
                .show_ui(ui, |ui| add(ui))
                .response
                .labelled_by(label.id);
        };
    egui::Grid::new("inspector-filters")
        .num_columns(4)
        .show(ui, |ui| {
            labelled(ui, "status", "inspector-status", status_text, &mut |ui| {
                ui.selectable_value(&mut f.status, None, "any status");
                for c in OutcomeClass::ALL {
                    ui.selectable_value(&mut f.status, Some(StatusFilter::Class(c)), c.label());
                }
                ui.selectable_value(&mut f.status, Some(StatusFilter::InFlight), "in flight");
            });
            let client_text = f.profile.clone().unwrap_or_else(|| "any client".into());
            labelled(ui, "client", "inspector-profile", client_text, &mut |ui| {
                ui.selectable_value(&mut f.profile, None, "any client");
                for p in &profiles {
                    ui.selectable_value(&mut f.profile, Some(p.clone()), p);
                }
            });
            ui.end_row();
            let server_text = f.server.clone().unwrap_or_else(|| "any server".into());
            labelled(ui, "server", "inspector-server", server_text, &mut |ui| {
                ui.selectable_value(&mut f.server, None, "any server");
                for s in &servers {
                    ui.selectable_value(&mut f.server, Some(s.clone()), s);
                }
            });
            labelled(ui, "cache", "inspector-cache", cache_text, &mut |ui| {
                ui.selectable_value(&mut f.cache, None, "any cache");
                ui.selectable_value(&mut f.cache, Some(CacheFilter::AnyHit), "HIT or 304");
                for s in [
                    CacheStatus::Hit,
                    CacheStatus::Miss,
                    CacheStatus::Expired,
                    CacheStatus::Revalidated,
                    CacheStatus::Bypass,
                ] {
                    ui.selectable_value(&mut f.cache, Some(CacheFilter::Status(s)), s.as_str());
                }
                ui.selectable_value(&mut f.cache, Some(CacheFilter::None), "no CDN");
            });
            ui.end_row();
            ui.label("order");
            ui.selectable_value(&mut f.sort, SortOrder::Newest, "newest first");
            ui.label("");
            ui.selectable_value(&mut f.sort, SortOrder::Slowest, "slowest first");
            ui.end_row();
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Outcome;
    use crate::ui::inspector::fixtures;

    fn snapshot() -> Snapshot {
        let mut miss = fixtures::miss();
        miss.id = TraceId(1);
        let mut hit = fixtures::hit();
        hit.id = TraceId(2);
        hit.start_micros = 90_000;
        hit.end_micros = Some(91_000);
        let mut refused = fixtures::refused();
        refused.id = TraceId(3);
        refused.profile = "iot".into();
        let mut flying = fixtures::miss();
        flying.id = TraceId(4);
        flying.outcome = None;
        flying.end_micros = None;
        flying.served_by = None;
        Snapshot {
            recent: vec![Arc::new(miss), Arc::new(hit), Arc::new(refused)],
            in_flight: vec![Arc::new(flying)],
            ..Snapshot::default()
        }
    }

    fn ids(rows: &[ListRow]) -> Vec<u128> {
        rows.iter().map(|r| r.id.0).collect()
    }

    #[test]
    fn filters_by_class_profile_server_cache_and_text() {
        let s = snapshot();
        let by = |f: ListFilter| ids(&rows(&s, &f));
        assert_eq!(by(ListFilter::default()).len(), 4);
        let failed = ListFilter {
            status: Some(StatusFilter::Class(OutcomeClass::Failure)),
            ..ListFilter::default()
        };
        assert_eq!(by(failed), [3]);
        let flying = ListFilter {
            status: Some(StatusFilter::InFlight),
            ..ListFilter::default()
        };
        assert_eq!(by(flying), [4]);
        let iot = ListFilter {
            profile: Some("iot".into()),
            ..ListFilter::default()
        };
        assert_eq!(by(iot), [3]);
        let s2 = ListFilter {
            server: Some("server-2".into()),
            ..ListFilter::default()
        };
        assert_eq!(by(s2), [1]);
        let hits = ListFilter {
            cache: Some(CacheFilter::AnyHit),
            ..ListFilter::default()
        };
        assert_eq!(by(hits), [2]);
        let text = ListFilter {
            search: "RESTAURANTS".into(),
            ..ListFilter::default()
        };
        assert_eq!(by(text), [2]);
    }

    #[test]
    fn newest_or_slowest_first() {
        let s = snapshot();
        let newest = ids(&rows(&s, &ListFilter::default()));
        assert_eq!(newest[0], 2, "the hit started last");
        let slowest = ids(&rows(
            &s,
            &ListFilter {
                sort: SortOrder::Slowest,
                ..ListFilter::default()
            },
        ));
        assert_eq!(
            &slowest[..2],
            [4, 1],
            "60 ms each, the larger id first on a tie"
        );
    }

    #[test]
    fn a_row_says_what_happened_in_words() {
        let row = ListRow::of(&fixtures::miss());
        assert_eq!(row.title, "GET /users/2");
        assert!(
            row.subtitle
                .starts_with("200 OK · 60.0 ms · browser · MISS · server-2 · #")
        );
        let refused = ListRow::of(&fixtures::refused());
        assert!(refused.subtitle.starts_with("connection refused"));
        assert_eq!(refused.class, Some(Outcome::ConnectionRefused.class()));
        let (profiles, servers) = choices(&snapshot());
        assert_eq!(profiles, ["browser", "iot"]);
        assert_eq!(servers, ["server-2"]);
    }
}
