//! The request and response as the client saw them (`journey.exchange`): request line and
//! headers, status line and headers, and a preview of each body (JSON pretty-printed).
//! Headers that tell a hop's story link to its phase: `X-Cache` and `Age` to the CDN's
//! lookup, `X-Served-By` to that server's handler, the request to `send`, the status line
//! to `wait` (the first byte) and the body to `receive`.

use egui::{Rect, RichText, Shape, Ui};

use super::model::{PhaseKey, outcome_text, path_of};
use crate::trace::{Component, Journey, Phase};
use crate::ui::theme::Theme;

/// Longest body preview shown.
const BODY_CHARS: usize = 4000;

/// One header line.
#[derive(Clone, Debug, PartialEq)]
pub struct HeaderRow {
    pub name: String,
    pub value: String,
    /// The phase this header tells about, if one.
    pub key: Option<PhaseKey>,
}

/// Both halves of the exchange.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeadersModel {
    /// Whether headers were captured (`trace.capture_headers`, and the request got an
    /// answer).
    pub captured: bool,
    /// `GET /users/2 HTTP/1.1`.
    pub request_line: String,
    pub request: Vec<HeaderRow>,
    pub request_body: String,
    /// `HTTP/1.1 200 OK`, or how the request failed.
    pub status_line: String,
    pub response: Vec<HeaderRow>,
    pub response_body: String,
}

/// The phase a response header tells about.
pub fn response_header_key(name: &str, value: &str) -> Option<PhaseKey> {
    let cdn_cache = PhaseKey {
        component: Component::Cdn,
        phase: Phase::Cache,
    };
    match name.to_ascii_lowercase().as_str() {
        "x-cache" | "age" | "cache-control" | "etag" | "expires" | "last-modified" => {
            Some(cdn_cache)
        }
        "x-served-by" => value.trim().parse().ok().map(|component| PhaseKey {
            component,
            phase: Phase::Handler,
        }),
        "retry-after" => Some(PhaseKey {
            component: Component::Lb,
            phase: Phase::Pick,
        }),
        "content-length" | "content-type" | "transfer-encoding" => {
            Some(PhaseKey::client(Phase::Receive))
        }
        _ => None,
    }
}

/// Builds the headers view of `journey`.
pub fn build(journey: &Journey) -> HeadersModel {
    let request_line = format!("{} {} HTTP/1.1", journey.method, path_of(&journey.url));
    let status_line = match journey.outcome.and_then(|o| o.status()) {
        Some(_) => format!("HTTP/1.1 {}", outcome_text(journey.outcome)),
        None => outcome_text(journey.outcome),
    };
    let Some(x) = &journey.exchange else {
        return HeadersModel {
            captured: false,
            request_line,
            status_line,
            ..HeadersModel::default()
        };
    };
    let send = Some(PhaseKey::client(Phase::Send));
    HeadersModel {
        captured: true,
        request_line,
        request: x
            .request_headers
            .iter()
            .map(|(n, v)| HeaderRow {
                name: n.clone(),
                value: v.clone(),
                key: send,
            })
            .collect(),
        request_body: preview(&x.request_body),
        status_line,
        response: x
            .response_headers
            .iter()
            .map(|(n, v)| HeaderRow {
                name: n.clone(),
                value: v.clone(),
                key: response_header_key(n, v),
            })
            .collect(),
        response_body: preview(&x.response_body),
    }
}

/// A body for reading: JSON pretty-printed, anything else as it came, cut to a few KB.
pub fn preview(body: &str) -> String {
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) if !body.trim().is_empty() => {
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| body.to_string())
        }
        _ => body.to_string(),
    };
    if text.chars().count() > BODY_CHARS {
        let mut cut: String = text.chars().take(BODY_CHARS).collect();
        cut.push_str("\n… (preview cut here)");
        cut
    } else {
        text
    }
}

/// Draws both halves; returns the phase under the pointer, if any.
pub fn headers_ui(
    ui: &mut Ui,
    model: &HeadersModel,
    theme: &Theme,
    hovered: Option<PhaseKey>,
) -> Option<PhaseKey> {
    let mut new_hover = None;
    let mut line = |ui: &mut Ui, text: RichText, key: Option<PhaseKey>| {
        let behind = ui.painter().add(Shape::Noop);
        let response = ui.add(egui::Label::new(text).wrap());
        let row = Rect::from_x_y_ranges(ui.max_rect().x_range(), response.rect.y_range());
        if key.is_some_and(|k| k.lit_by(hovered)) {
            ui.painter().set(
                behind,
                Shape::rect_filled(row, 2.0, theme.highlight.gamma_multiply(0.25)),
            );
        }
        if key.is_some() && ui.rect_contains_pointer(row) {
            new_hover = key;
        }
    };
    let mono = |s: &str| RichText::new(s).font(theme.mono_font()).color(theme.text);
    ui.label(RichText::new("Request").heading());
    line(
        ui,
        mono(&model.request_line).strong(),
        Some(PhaseKey::client(Phase::Send)),
    );
    if !model.captured {
        ui.label(
            RichText::new("Headers were not captured for this request (trace.capture_headers is off, or it ended before an answer).")
                .color(theme.weak_text),
        );
    }
    for h in &model.request {
        line(ui, mono(&format!("{}: {}", h.name, h.value)), h.key);
    }
    if !model.request_body.is_empty() {
        line(
            ui,
            mono(&model.request_body),
            Some(PhaseKey::client(Phase::Send)),
        );
    }
    ui.add_space(theme.body_size * 0.6);
    ui.label(RichText::new("Response").heading());
    line(
        ui,
        mono(&model.status_line).strong(),
        Some(PhaseKey::client(Phase::Wait)),
    );
    for h in &model.response {
        line(ui, mono(&format!("{}: {}", h.name, h.value)), h.key);
    }
    if !model.response_body.is_empty() {
        ui.add_space(theme.body_size * 0.4);
        line(
            ui,
            mono(&model.response_body),
            Some(PhaseKey::client(Phase::Receive)),
        );
    }
    new_hover
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::inspector::fixtures;

    #[test]
    fn headers_link_to_the_hops_they_describe() {
        let m = build(&fixtures::miss());
        assert!(m.captured);
        assert_eq!(m.request_line, "GET /users/2 HTTP/1.1");
        assert_eq!(m.status_line, "HTTP/1.1 200 OK");
        let key = |name: &str| {
            m.response
                .iter()
                .find(|h| h.name == name)
                .and_then(|h| h.key)
        };
        assert_eq!(key("x-cache").map(|k| k.component), Some(Component::Cdn));
        assert_eq!(
            key("x-served-by"),
            Some(PhaseKey {
                component: Component::Server(2),
                phase: Phase::Handler
            })
        );
        assert!(
            m.response_body.contains("\"name\": \"Omar Varga\""),
            "pretty JSON"
        );
    }

    #[test]
    fn requests_without_an_exchange_still_show_their_lines() {
        let m = build(&fixtures::refused());
        assert!(!m.captured);
        assert_eq!(m.status_line, "connection refused");
        assert!(m.request.is_empty());
    }

    #[test]
    fn long_bodies_are_cut() {
        let long = "x".repeat(BODY_CHARS * 2);
        assert!(preview(&long).ends_with("(preview cut here)"));
        assert_eq!(preview("not json"), "not json");
    }
}
