//! The timing waterfall of one request, as a browser's network panel and HAR show it: the
//! client's phases in HAR's names and order (blocked, dns, connect, ssl, send, wait,
//! receive; ssl inside connect), and inside `wait` what the hops did meanwhile (the CDN's
//! lookup and forward, the LB's pick and forward, the server's queue and handler, each
//! database query), indented by how deeply they nest. Bars are to scale, labelled in ms.

use egui::{
    Align, Align2, Label, Layout, Rect, RichText, Sense, Stroke, StrokeKind, Ui, UiBuilder, pos2,
    vec2,
};

use super::model::{PhaseKey, fmt_ms, lane_title, offset_ms, server_attr, shorten, total_ms};
use crate::trace::{Component, Journey, Phase, Span};
use crate::ui::theme::Theme;

/// The client's phases in HAR order.
pub const HAR_PHASES: [Phase; 7] = [
    Phase::Blocked,
    Phase::Dns,
    Phase::Connect,
    Phase::Ssl,
    Phase::Send,
    Phase::Wait,
    Phase::Receive,
];

/// One row of the waterfall.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub key: PhaseKey,
    /// `dns`, `wait`, `queue (server-2)`, `db SELECT …`.
    pub name: String,
    /// 0 for the client's phases (ssl is 1, inside connect); 1 and more inside wait.
    pub depth: u8,
    /// Milliseconds from the request's start.
    pub start_ms: f64,
    /// `None` when the phase did not happen (then `note` says why).
    pub duration_ms: Option<f64>,
    /// Why a phase is missing (`connection reused`), or a detail (the full SQL text).
    pub note: Option<String>,
}

impl Bar {
    /// Where the bar ends (its start when the phase did not happen).
    pub fn end_ms(&self) -> f64 {
        self.start_ms + self.duration_ms.unwrap_or(0.0)
    }
}

/// The whole waterfall.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WaterfallModel {
    /// The request's total time (so far, when in flight).
    pub total_ms: f64,
    pub bars: Vec<Bar>,
}

impl WaterfallModel {
    /// The sum of the top-level phases (the HAR `time`), which is at most `total_ms`.
    pub fn top_level_ms(&self) -> f64 {
        self.bars
            .iter()
            .filter(|b| b.depth == 0)
            .filter_map(|b| b.duration_ms)
            .sum()
    }
}

/// Builds the waterfall of `journey`.
pub fn build(journey: &Journey) -> WaterfallModel {
    let mut bars = Vec::new();
    let plain_http = journey.url.starts_with("http://");
    for phase in HAR_PHASES {
        let span = journey
            .spans
            .iter()
            .find(|s| s.component == Component::Client && s.phase == phase);
        let depth = u8::from(phase == Phase::Ssl);
        let key = PhaseKey::client(phase);
        bars.push(match span {
            Some(s) => Bar {
                key,
                name: phase.name().to_string(),
                depth,
                start_ms: offset_ms(journey, s.start_micros),
                duration_ms: Some(net_ms(journey, s)),
                note: None,
            },
            None => Bar {
                key,
                name: phase.name().to_string(),
                depth,
                start_ms: 0.0,
                duration_ms: None,
                note: Some(missing_reason(journey, phase, plain_http).into()),
            },
        });
        if phase == Phase::Wait {
            bars.extend(nested(journey));
        }
    }
    let held = journey.held_micros();
    if held > 0 {
        bars.push(Bar {
            key: PhaseKey::client(Phase::Held),
            name: "held in step mode".into(),
            depth: 0,
            start_ms: 0.0,
            duration_ms: None,
            note: Some(format!(
                "{} waiting for your clicks, left out of these timings",
                fmt_ms(held as f64 / 1000.0)
            )),
        });
    }
    WaterfallModel {
        total_ms: total_ms(journey),
        bars,
    }
}

/// How long span `s` took, less any time the request was held in step mode meanwhile.
fn net_ms(journey: &Journey, s: &Span) -> f64 {
    (offset_ms(journey, s.end_micros.max(s.start_micros)) - offset_ms(journey, s.start_micros))
        .max(0.0)
}

/// Why a client phase has no span.
fn missing_reason(journey: &Journey, phase: Phase, plain_http: bool) -> &'static str {
    let ended_early = journey.outcome.is_some_and(|o| o.status().is_none());
    match phase {
        Phase::Blocked => "no wait for a connection",
        Phase::Dns if journey.reused => "connection reused: no lookup",
        Phase::Dns => "answer cached by the client's resolver",
        Phase::Connect | Phase::Ssl if journey.reused => "connection reused (keep-alive)",
        Phase::Ssl if plain_http => "plain HTTP: no TLS",
        _ if ended_early => "not reached: the request failed before",
        _ if journey.outcome.is_none() => "not yet",
        _ => "not recorded",
    }
}

/// The hops' phases inside `wait`, in time order, indented by containment.
fn nested(journey: &Journey) -> Vec<Bar> {
    let inner: Vec<&Span> = journey
        .spans
        .iter()
        .filter(|s| PhaseKey::of(s).is_inside_wait())
        .collect();
    let contains = |outer: &Span, s: &Span| {
        !std::ptr::eq(outer, s)
            && matches!(outer.phase, Phase::Forward | Phase::Handler)
            && outer.start_micros <= s.start_micros
            && s.end_micros.max(s.start_micros) <= outer.end_micros.max(outer.start_micros)
            && (outer.micros(), outer.component.lane()) > (s.micros(), s.component.lane())
    };
    inner
        .iter()
        .map(|s| {
            let parents = inner.iter().filter(|o| contains(o, s)).count();
            let (name, note) = nested_name(s);
            Bar {
                key: PhaseKey::of(s),
                name,
                depth: u8::try_from(1 + parents).unwrap_or(u8::MAX).min(5),
                start_ms: offset_ms(journey, s.start_micros),
                duration_ms: Some(net_ms(journey, s)),
                note,
            }
        })
        .collect()
}

fn nested_name(s: &Span) -> (String, Option<String>) {
    let at = lane_title(s.component);
    match s.phase {
        Phase::Cache => (
            format!("cache lookup {}", s.attr("result").unwrap_or("")),
            s.attr("why").map(str::to_string),
        ),
        Phase::Pick => match s.attr("server") {
            Some(server) => (
                format!("pick {server}"),
                s.attr("reason").map(str::to_string),
            ),
            None => (
                "pick: none healthy".into(),
                s.attr("reason").map(str::to_string),
            ),
        },
        Phase::Forward => {
            let to = match s.component {
                Component::Cdn => "LB".to_string(),
                _ => server_attr(s).map_or("server".into(), lane_title),
            };
            (
                format!("{at} to {to}"),
                s.attr("error").map(|e| format!("error: {e}")),
            )
        }
        Phase::Queue => (
            format!("queue ({at})"),
            s.attr("rejected").map(str::to_string),
        ),
        Phase::Handler => (
            format!("handler ({at})"),
            s.attr("route").map(str::to_string),
        ),
        Phase::Db => {
            let sql = s.attr("sql").unwrap_or("query");
            (format!("db {}", shorten(sql, 26)), Some(sql.to_string()))
        }
        Phase::Held => (
            format!("held in step mode ({at})"),
            Some("waiting for “Next hop”: not network time, left out of the latency".into()),
        ),
        other => (format!("{other} ({at})"), None),
    }
}

/// Draws the waterfall; returns the phase under the pointer, if any.
pub fn waterfall_ui(
    ui: &mut Ui,
    model: &WaterfallModel,
    theme: &Theme,
    hovered: Option<PhaseKey>,
) -> Option<PhaseKey> {
    let row_h = theme.body_size * 1.6;
    // In a narrow panel the names give way (cut, whole on hover) so the bars keep room and
    // the panel never has to grow past the window.
    let available = ui.available_width();
    let name_w = (available * 0.42).clamp(theme.body_size * 8.0, theme.body_size * 15.0);
    let ms_w = theme.body_size * 5.5;
    let indent = theme.body_size;
    let width = available.max(name_w + ms_w + theme.body_size * 6.0);
    let bar_w = width - name_w - ms_w - 12.0;
    let scale = if model.total_ms > 0.0 {
        bar_w as f64 / model.total_ms
    } else {
        0.0
    };
    let mut new_hover = None;
    axis_ui(ui, model.total_ms, name_w, bar_w, theme);
    for (i, bar) in model.bars.iter().enumerate() {
        let (row, _) = ui.allocate_exact_size(vec2(width, row_h), Sense::hover());
        let painter = ui.painter_at(row);
        let lit = bar.key.lit_by(hovered);
        if lit {
            painter.rect_filled(row, 2.0, theme.highlight.gamma_multiply(0.25));
        }
        let name_rect = Rect::from_min_size(
            row.min + vec2(f32::from(bar.depth) * indent, 0.0),
            vec2(name_w - f32::from(bar.depth) * indent, row_h),
        );
        let text =
            RichText::new(&bar.name)
                .size(theme.body_size)
                .color(if bar.duration_ms.is_some() {
                    theme.text
                } else {
                    theme.weak_text
                });
        ui.scope_builder(
            UiBuilder::new()
                .max_rect(name_rect)
                .layout(Layout::left_to_right(Align::Center)),
            |ui| ui.add(Label::new(text).selectable(false).truncate()),
        );
        let bar_left = row.left() + name_w;
        let track = Rect::from_min_size(pos2(bar_left, row.top()), vec2(bar_w, row_h));
        let row_response =
            ui.interact(row, ui.make_persistent_id(("waterfall", i)), Sense::hover());
        match bar.duration_ms {
            Some(ms) => {
                let x0 = bar_left + (bar.start_ms * scale) as f32;
                let x1 = (x0 + (ms * scale) as f32).max(x0 + 2.0);
                let h = row_h * if bar.depth == 0 { 0.6 } else { 0.45 };
                let r = Rect::from_min_max(
                    pos2(x0, row.center().y - h / 2.0),
                    pos2(x1, row.center().y + h / 2.0),
                );
                let color = theme.phase_color(bar.key.phase);
                painter.rect_filled(r, 2.0, color);
                if lit {
                    painter.rect_stroke(
                        r,
                        2.0,
                        Stroke::new(theme.line_width(), theme.highlight),
                        StrokeKind::Outside,
                    );
                }
                let label = fmt_ms(ms);
                let label_w = theme.body_size * 4.5;
                let (pos, anchor) = if x1 + label_w < track.right() + ms_w {
                    (pos2(x1 + 6.0, row.center().y), Align2::LEFT_CENTER)
                } else {
                    (pos2(x0 - 6.0, row.center().y), Align2::RIGHT_CENTER)
                };
                painter.text(pos, anchor, label, theme.body_font(), theme.text);
            }
            None => {
                // Why there is no bar, cut to the row (whole on hover).
                let note = bar.note.as_deref().unwrap_or("");
                let g = crate::ui::text::cut_to(
                    &painter,
                    &format!("– {note}"),
                    theme.body_font(),
                    theme.weak_text,
                    row.right() - bar_left - 6.0,
                );
                let at = pos2(bar_left + 4.0, row.center().y - g.size().y / 2.0);
                painter.galley(at, g, theme.weak_text);
            }
        }
        if row_response.hovered() {
            new_hover = Some(bar.key);
            row_response.on_hover_text(bar_tip(bar));
        }
    }
    new_hover
}

/// A bar's tooltip: its name and time, its note, and what the phase means.
fn bar_tip(bar: &Bar) -> String {
    let mut tip = match bar.duration_ms {
        Some(ms) => format!(
            "{}: {} from +{}",
            bar.name,
            fmt_ms(ms),
            fmt_ms(bar.start_ms)
        ),
        None => bar.name.clone(),
    };
    if let Some(n) = &bar.note {
        tip.push('\n');
        tip.push_str(n);
    }
    // The phase's first word is its name ("cache lookup MISS" -> "cache"...).
    let term = bar.name.split_whitespace().next().unwrap_or("");
    if let Some(meaning) = crate::ui::glossary::explain(term) {
        tip.push('\n');
        tip.push_str(meaning);
    }
    tip
}

/// A scale above the bars: the total on the left, then round tick values as many as fit
/// without their labels touching.
fn axis_ui(ui: &mut Ui, total_ms: f64, name_w: f32, bar_w: f32, theme: &Theme) {
    let (row, _) = ui.allocate_exact_size(vec2(name_w + bar_w, theme.row_height()), Sense::hover());
    let painter = ui.painter_at(row);
    painter.text(
        pos2(row.left(), row.center().y),
        Align2::LEFT_CENTER,
        format!("total {}", fmt_ms(total_ms)),
        theme.body_font(),
        theme.text,
    );
    if total_ms <= 0.0 {
        return;
    }
    let widest = painter
        .layout_no_wrap(fmt_ms(total_ms), theme.body_font(), theme.weak_text)
        .size()
        .x;
    let left = row.left() + name_w;
    let right = left + bar_w;
    let mut last_end = f32::NEG_INFINITY;
    for value in ticks(total_ms, max_ticks(bar_w, widest)) {
        let x = left + bar_w * (value / total_ms) as f32;
        let label = painter.layout_no_wrap(fmt_ms(value), theme.body_font(), theme.weak_text);
        let w = label.size().x;
        // Centred on its tick, kept inside the bar area, never over the previous label.
        let start = (x - w / 2.0).clamp(left, right - w);
        if start < last_end + theme.body_size * 0.5 {
            continue;
        }
        painter.vline(
            x,
            row.bottom() - 6.0..=row.bottom(),
            Stroke::new(1.0, theme.weak_text),
        );
        painter.galley(
            pos2(start, row.bottom() - 7.0 - label.size().y),
            label,
            theme.weak_text,
        );
        last_end = start + w;
    }
}

/// How many tick intervals fit in `bar_w` points when a label is `label_w` wide.
fn max_ticks(bar_w: f32, label_w: f32) -> usize {
    ((bar_w / (label_w * 1.6).max(1.0)).floor() as usize).clamp(1, 5)
}

/// Round tick values (1, 2 or 5 times a power of ten apart) from 0 up to `total`, at most
/// `max + 1` of them.
fn ticks(total: f64, max: usize) -> Vec<f64> {
    if !(total.is_finite() && total > 0.0) {
        return vec![0.0];
    }
    let rough = total / max.max(1) as f64;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * power);
    (0..=max)
        .map(|i| i as f64 * step)
        .take_while(|v| *v <= total * (1.0 + 1e-9))
        .map(|v| v.min(total))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::inspector::fixtures;

    fn names(m: &WaterfallModel) -> Vec<(String, u8)> {
        m.bars.iter().map(|b| (b.name.clone(), b.depth)).collect()
    }

    #[test]
    fn har_phases_in_order_with_the_hops_nested_inside_wait() {
        let m = build(&fixtures::miss());
        let rows = names(&m);
        let top: Vec<&str> = rows
            .iter()
            .filter(|(_, d)| *d == 0)
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(
            top,
            ["blocked", "dns", "connect", "send", "wait", "receive"]
        );
        let wait = rows.iter().position(|(n, _)| n == "wait").expect("wait");
        let receive = rows
            .iter()
            .position(|(n, _)| n == "receive")
            .expect("receive");
        let inside: Vec<(&str, u8)> = rows[wait + 1..receive]
            .iter()
            .map(|(n, d)| (n.as_str(), *d))
            .collect();
        assert_eq!(
            inside,
            [
                ("cache lookup MISS", 1),
                ("CDN to LB", 1),
                ("pick server-2", 2),
                ("LB to server-2", 2),
                ("queue (server-2)", 3),
                ("handler (server-2)", 3),
                ("db SELECT * FROM users WHERE…", 4),
            ]
        );
        assert_eq!(rows[3], ("ssl".to_string(), 1), "ssl sits inside connect");
    }

    #[test]
    fn top_level_bars_add_up_to_the_total_and_nested_bars_lie_inside_wait() {
        let m = build(&fixtures::miss());
        assert!((m.total_ms - 60.0).abs() < 1e-9, "total {}", m.total_ms);
        assert!(
            (m.top_level_ms() - 60.0).abs() < 1e-9,
            "sum {}",
            m.top_level_ms()
        );
        let wait = m.bars.iter().find(|b| b.name == "wait").expect("wait");
        for b in m.bars.iter().filter(|b| b.key.is_inside_wait()) {
            assert!(
                b.start_ms >= wait.start_ms && b.end_ms() <= wait.end_ms(),
                "{b:?}"
            );
        }
    }

    #[test]
    fn missing_phases_say_why() {
        let m = build(&fixtures::hit());
        let dns = m.bars.iter().find(|b| b.name == "dns").expect("dns row");
        assert_eq!(dns.duration_ms, None);
        assert_eq!(dns.note.as_deref(), Some("connection reused: no lookup"));
        let refused = build(&fixtures::refused());
        let send = refused
            .bars
            .iter()
            .find(|b| b.name == "send")
            .expect("send");
        assert_eq!(
            send.note.as_deref(),
            Some("not reached: the request failed before")
        );
    }

    #[test]
    fn any_journey_builds() {
        let empty = build(&Journey::default());
        assert_eq!(empty.bars.len(), HAR_PHASES.len());
        assert_eq!(empty.total_ms, 0.0);
        let mut odd = fixtures::miss();
        odd.spans.push(fixtures::span(
            Component::Server(99),
            Phase::Db,
            9_000,
            10,
            &[],
        ));
        odd.spans
            .push(fixtures::span(Component::Lb, Phase::Forward, 5, 5, &[]));
        odd.end_micros = None;
        let m = build(&odd);
        assert!(
            m.bars
                .iter()
                .all(|b| b.duration_ms.is_none_or(|d| d >= 0.0))
        );
    }

    #[test]
    fn axis_ticks_are_round_and_as_many_as_fit() {
        assert_eq!(ticks(29.5, 4), vec![0.0, 10.0, 20.0]);
        assert_eq!(ticks(100.0, 4), vec![0.0, 50.0, 100.0]);
        assert_eq!(ticks(7.38, 5), vec![0.0, 2.0, 4.0, 6.0]);
        assert_eq!(ticks(0.0, 4), vec![0.0]);
        // A narrow panel gets fewer ticks, never none.
        assert_eq!(max_ticks(120.0, 60.0), 1);
        assert_eq!(max_ticks(1000.0, 50.0), 5);
        for (total, max) in [(29.5, 1), (0.3, 3), (12_345.0, 5)] {
            let t = ticks(total, max);
            assert!(t.len() <= max + 1 && !t.is_empty(), "{total}: {t:?}");
            assert!(t.iter().all(|v| *v <= total), "{total}: {t:?}");
        }
    }
}
