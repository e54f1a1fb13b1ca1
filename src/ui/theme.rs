//! Every colour and size the window uses. Presentation mode (for projectors) is a theme,
//! not a fork: larger text and dots, higher contrast. Outcomes use a colour-blind-safe
//! palette (Okabe–Ito) and a shape each, so no information is carried by colour alone.

use egui::Color32;

use crate::trace::OutcomeClass;

/// How a request dot is drawn, besides its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DotShape {
    /// 2xx.
    Circle,
    /// 3xx.
    Diamond,
    /// 4xx.
    Triangle,
    /// 5xx.
    Square,
    /// Failed before any answer (DNS, refused, timeout, TLS).
    Cross,
}

/// The window's look.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    /// Presentation mode (large, high contrast).
    pub presentation: bool,
    /// Body text size in points.
    pub body_size: f32,
    /// Heading size in points.
    pub heading_size: f32,
    /// Radius of a request dot.
    pub dot_radius: f32,
    /// Size of a component node on the topology canvas.
    pub node_size: egui::Vec2,
    pub background: Color32,
    pub panel: Color32,
    pub text: Color32,
    pub weak_text: Color32,
    pub node_fill: Color32,
    pub node_stroke: Color32,
    /// Nodes that are down (killed, unhealthy).
    pub dead: Color32,
    /// Edges between nodes.
    pub edge: Color32,
    /// Highlight for the selected request or hovered phase.
    pub highlight: Color32,
    /// A cache hit marker at the CDN.
    pub hit: Color32,
    /// A cache miss marker at the CDN.
    pub miss: Color32,
    /// Problems the user must see (errors, dead nodes' marks); always paired with a symbol.
    pub error: Color32,
    /// Background of the step caption and toasts.
    pub banner: Color32,
    /// Thickness of an edge between nodes.
    pub edge_width: f32,
    /// How far apart the outgoing and returning lanes of an edge are drawn.
    pub lane_offset: f32,
    /// Corner radius of a node.
    pub node_rounding: f32,
    /// Gap between a queued dot and the next in a server's queue stack.
    pub queue_spacing: f32,
    /// How far a failed request falls before it fades out.
    pub fall_distance: f32,
    /// Beyond this many dots in one spot, one dot with a count badge is drawn.
    pub badge_threshold: u32,
    /// The least time a dot takes to travel one edge, in milliseconds at time scale 1, so
    /// that sub-millisecond loopback hops stay visible.
    pub min_hop_millis: f64,
    /// How long a failed request takes to fall away, in milliseconds at time scale 1.
    pub fall_millis: f64,
}

impl Theme {
    /// The everyday theme.
    pub fn normal() -> Theme {
        Theme {
            presentation: false,
            body_size: 14.0,
            heading_size: 18.0,
            dot_radius: 4.0,
            node_size: egui::vec2(150.0, 52.0),
            background: Color32::from_rgb(0x1b, 0x1e, 0x24),
            panel: Color32::from_rgb(0x24, 0x28, 0x30),
            text: Color32::from_rgb(0xe8, 0xea, 0xed),
            weak_text: Color32::from_rgb(0xa8, 0xae, 0xb8),
            node_fill: Color32::from_rgb(0x2f, 0x35, 0x40),
            node_stroke: Color32::from_rgb(0x8a, 0x93, 0xa3),
            dead: Color32::from_rgb(0x5a, 0x5e, 0x66),
            edge: Color32::from_rgb(0x7a, 0x84, 0x96),
            highlight: Color32::from_rgb(0xf0, 0xe4, 0x42),
            hit: Color32::from_rgb(0x2e, 0xbd, 0x8f),
            miss: Color32::from_rgb(0xe6, 0x9f, 0x00),
            error: Color32::from_rgb(0xff, 0x8a, 0x80),
            banner: Color32::from_rgb(0x2b, 0x33, 0x44),
            edge_width: 1.5,
            lane_offset: 3.0,
            node_rounding: 6.0,
            queue_spacing: 2.5,
            fall_distance: 60.0,
            badge_threshold: 3,
            min_hop_millis: 220.0,
            fall_millis: 900.0,
        }
    }

    /// The projector theme: bigger everything, pure black on white for contrast.
    pub fn presentation() -> Theme {
        Theme {
            presentation: true,
            body_size: 22.0,
            heading_size: 30.0,
            dot_radius: 7.0,
            node_size: egui::vec2(225.0, 78.0),
            background: Color32::WHITE,
            panel: Color32::from_rgb(0xf2, 0xf2, 0xf2),
            text: Color32::BLACK,
            weak_text: Color32::from_rgb(0x33, 0x33, 0x33),
            node_fill: Color32::WHITE,
            node_stroke: Color32::BLACK,
            dead: Color32::from_rgb(0xb0, 0xb0, 0xb0),
            edge: Color32::from_rgb(0x66, 0x66, 0x66),
            highlight: Color32::from_rgb(0x00, 0x72, 0xb2),
            // Darker than the dark theme's, to read on white; the miss is an amber apart
            // from the 5xx vermilion.
            hit: Color32::from_rgb(0x00, 0x70, 0x4f),
            miss: Color32::from_rgb(0x8a, 0x5d, 0x00),
            error: Color32::from_rgb(0xb0, 0x00, 0x20),
            banner: Color32::from_rgb(0xff, 0xf4, 0xc2),
            edge_width: 2.5,
            lane_offset: 5.0,
            node_rounding: 8.0,
            queue_spacing: 3.0,
            fall_distance: 90.0,
            badge_threshold: 3,
            min_hop_millis: 300.0,
            fall_millis: 1200.0,
        }
    }

    /// The colour of an outcome class (Okabe–Ito palette; on the light theme, the same hues
    /// darkened to stand out from white).
    pub fn outcome_color(&self, class: OutcomeClass) -> Color32 {
        match (class, self.presentation) {
            (OutcomeClass::Success, false) => Color32::from_rgb(0x00, 0x9e, 0x73),
            (OutcomeClass::Redirect, false) => Color32::from_rgb(0x56, 0xb4, 0xe9),
            (OutcomeClass::ClientError, false) => Color32::from_rgb(0xe6, 0x9f, 0x00),
            (OutcomeClass::ServerError, false) => Color32::from_rgb(0xd5, 0x5e, 0x00),
            (OutcomeClass::Failure, false) => Color32::from_rgb(0xcc, 0x79, 0xa7),
            (OutcomeClass::Success, true) => Color32::from_rgb(0x00, 0x78, 0x5a),
            (OutcomeClass::Redirect, true) => Color32::from_rgb(0x00, 0x72, 0xb2),
            (OutcomeClass::ClientError, true) => Color32::from_rgb(0xa0, 0x6c, 0x00),
            (OutcomeClass::ServerError, true) => Color32::from_rgb(0xb8, 0x4f, 0x00),
            (OutcomeClass::Failure, true) => Color32::from_rgb(0xa8, 0x46, 0x7f),
        }
    }

    /// The colour for text or a letter drawn on a `fill`: black or white, whichever stands
    /// out more.
    pub fn ink_on(fill: Color32) -> Color32 {
        if contrast(Color32::BLACK, fill) >= contrast(Color32::WHITE, fill) {
            Color32::BLACK
        } else {
            Color32::WHITE
        }
    }

    /// `color` as a mark on this theme's panels: darkened on the light theme, lightened on
    /// the dark one (same hue), until it stands out at least 3:1 from them.
    pub fn mark(&self, color: Color32) -> Color32 {
        let mut c = color;
        for _ in 0..20 {
            if contrast(c, self.panel) >= 3.0 && contrast(c, self.background) >= 3.0 {
                break;
            }
            let step = |v: u8| {
                let v = f32::from(v);
                if self.presentation {
                    (v * 0.9) as u8
                } else {
                    (v + (255.0 - v) * 0.1) as u8
                }
            };
            c = Color32::from_rgb(step(c.r()), step(c.g()), step(c.b()));
        }
        c
    }

    /// The shape of an outcome class.
    pub fn outcome_shape(&self, class: OutcomeClass) -> DotShape {
        match class {
            OutcomeClass::Success => DotShape::Circle,
            OutcomeClass::Redirect => DotShape::Diamond,
            OutcomeClass::ClientError => DotShape::Triangle,
            OutcomeClass::ServerError => DotShape::Square,
            OutcomeClass::Failure => DotShape::Cross,
        }
    }

    /// The colour of a dot: its outcome's, or the in-flight colour while it has none.
    pub fn dot_color(&self, class: Option<OutcomeClass>) -> Color32 {
        class.map_or_else(|| self.in_flight(), |c| self.outcome_color(c))
    }

    /// The shape of a dot: its outcome's, or a ring while it is in flight.
    pub fn dot_shape(&self, class: Option<OutcomeClass>) -> Option<DotShape> {
        class.map(|c| self.outcome_shape(c))
    }

    /// The same look with every size (text, nodes, dots, lines) times `factor`: the canvas
    /// zooms out this way when the window leaves it less room than its nodes need.
    pub fn scaled(&self, factor: f32) -> Theme {
        Theme {
            body_size: self.body_size * factor,
            heading_size: self.heading_size * factor,
            dot_radius: self.dot_radius * factor,
            node_size: self.node_size * factor,
            edge_width: self.edge_width * factor,
            lane_offset: self.lane_offset * factor,
            node_rounding: self.node_rounding * factor,
            queue_spacing: self.queue_spacing * factor,
            fall_distance: self.fall_distance * factor,
            ..self.clone()
        }
    }

    /// The body font (nothing on screen is smaller).
    pub fn body(&self) -> egui::FontId {
        egui::FontId::proportional(self.body_size)
    }

    /// The body size in a fixed-width face (addresses, SQL).
    pub fn mono(&self) -> egui::FontId {
        egui::FontId::monospace(self.body_size)
    }

    /// The heading font.
    pub fn heading(&self) -> egui::FontId {
        egui::FontId::proportional(self.heading_size)
    }

    /// Height of one line of body text on the canvas, with its leading.
    pub fn line_height(&self) -> f32 {
        (self.body_size * 1.3).round()
    }

    /// Which of egui's two style slots this theme fills.
    pub fn egui_theme(&self) -> egui::Theme {
        if self.presentation {
            egui::Theme::Light
        } else {
            egui::Theme::Dark
        }
    }

    /// Installs egui's bundled fonts with the fixed-width face (Hack) as a fallback for
    /// proportional text, so the arrows and shapes used on screen (→ ● ◆ ▲ ■) have glyphs.
    /// Call before any text is laid out in a frame.
    pub fn install_fonts(ctx: &egui::Context) {
        let mut fonts = egui::FontDefinitions::default();
        if fonts.font_data.contains_key("Hack")
            && let Some(family) = fonts.families.get_mut(&egui::FontFamily::Proportional)
            && !family.iter().any(|f| f == "Hack")
        {
            family.push("Hack".to_owned());
        }
        ctx.set_fonts(fonts);
    }

    /// Applies this theme to egui's style: colours, and every text style at least the body
    /// size (so no text is smaller than the body font).
    pub fn apply(&self, ctx: &egui::Context) {
        let slot = self.egui_theme();
        let mut visuals = if self.presentation {
            egui::Visuals::light()
        } else {
            egui::Visuals::dark()
        };
        visuals.panel_fill = self.panel;
        visuals.window_fill = self.panel;
        visuals.extreme_bg_color = self.background;
        visuals.override_text_color = Some(self.text);
        visuals.weak_text_color = Some(self.weak_text);
        visuals.hyperlink_color = self.highlight;
        visuals.error_fg_color = self.error;
        if self.presentation {
            let stroke = egui::Stroke::new(1.5, self.node_stroke);
            visuals.widgets.inactive.bg_stroke = stroke;
            visuals.widgets.noninteractive.bg_stroke = egui::Stroke::new(1.0, self.edge);
            visuals.selection.bg_fill = Color32::from_rgb(0x9c, 0xd3, 0xf2);
            visuals.selection.stroke = egui::Stroke::new(2.0, Color32::BLACK);
        }
        ctx.set_visuals_of(slot, visuals);
        let body = self.body_size;
        ctx.style_mut_of(slot, |style| {
            self.apply_text_sizes(style);
            style.spacing.interact_size.y = (body * 1.45).round();
            style.spacing.item_spacing = egui::vec2(body * 0.55, body * 0.4);
            style.spacing.button_padding = egui::vec2(body * 0.45, body * 0.2);
            style.spacing.slider_width = body * 9.0;
            style.spacing.combo_width = body * 9.0;
            style.spacing.text_edit_width = body * 16.0;
            style.spacing.icon_width = (body * 0.95).round();
            style.spacing.icon_width_inner = (body * 0.55).round();
        });
        ctx.set_theme(slot);
    }

    /// A request still in flight (no outcome yet): a ring, dark grey on the light theme
    /// (the blue there is 3xx's).
    pub fn in_flight(&self) -> Color32 {
        if self.presentation {
            Color32::from_rgb(0x33, 0x33, 0x33)
        } else {
            Color32::from_rgb(0xd0, 0xd6, 0xe0)
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::normal()
    }
}

/// Sizes and colours of the request inspector, the plots and the sweep (additive helpers).
impl Theme {
    /// Makes every text style at least the body size, headings the heading size, so nothing
    /// on screen is smaller than the body font (presentation mode stays legible).
    pub fn apply_text_sizes(&self, style: &mut egui::Style) {
        use egui::{FontFamily, FontId, TextStyle};
        let body = self.body_size;
        style.text_styles = [
            (
                TextStyle::Small,
                FontId::new(body, FontFamily::Proportional),
            ),
            (TextStyle::Body, FontId::new(body, FontFamily::Proportional)),
            (
                TextStyle::Button,
                FontId::new(body, FontFamily::Proportional),
            ),
            (
                TextStyle::Monospace,
                FontId::new(body, FontFamily::Monospace),
            ),
            (
                TextStyle::Heading,
                FontId::new(self.heading_size, FontFamily::Proportional),
            ),
        ]
        .into();
    }

    /// The body font.
    pub fn body_font(&self) -> egui::FontId {
        egui::FontId::proportional(self.body_size)
    }

    /// The body size in monospace (headers, SQL).
    pub fn mono_font(&self) -> egui::FontId {
        egui::FontId::monospace(self.body_size)
    }

    /// Width of plot lines, diagram arrows and bar outlines.
    pub fn line_width(&self) -> f32 {
        if self.presentation { 3.0 } else { 1.8 }
    }

    /// Height of one row of the request list, the waterfall and the sequence diagram.
    pub fn row_height(&self) -> f32 {
        (self.body_size * 1.9).round()
    }

    /// The colour of a timing phase: a bar in the waterfall, an arrow in the sequence
    /// diagram. Every phase is also named in words, so colour is only a second cue.
    pub fn phase_color(&self, phase: crate::trace::Phase) -> Color32 {
        use crate::trace::Phase;
        self.mark(match phase {
            Phase::Blocked => Color32::from_rgb(0x99, 0x99, 0x99),
            Phase::Dns => Color32::from_rgb(0x00, 0x9e, 0x73),
            Phase::Connect => Color32::from_rgb(0xe6, 0x9f, 0x00),
            Phase::Ssl => Color32::from_rgb(0xcc, 0x79, 0xa7),
            Phase::Send => Color32::from_rgb(0x56, 0xb4, 0xe9),
            Phase::Wait => Color32::from_rgb(0x00, 0x72, 0xb2),
            Phase::Receive => Color32::from_rgb(0x44, 0xaa, 0x99),
            Phase::Cache => Color32::from_rgb(0x88, 0xcc, 0xee),
            Phase::Pick | Phase::Forward => Color32::from_rgb(0x88, 0x88, 0xbb),
            Phase::Queue => Color32::from_rgb(0xd5, 0x5e, 0x00),
            Phase::Handler => Color32::from_rgb(0x11, 0x77, 0x33),
            Phase::Db => Color32::from_rgb(0xaa, 0x44, 0x99),
            Phase::Held => Color32::from_rgb(0x5a, 0x5a, 0x5a),
        })
    }

    /// Colours for a series of lines told apart by name (servers, percentiles): a
    /// colour-blind-safe cycle that reads on both backgrounds.
    pub fn series_color(&self, index: usize) -> Color32 {
        const CYCLE: [Color32; 7] = [
            Color32::from_rgb(0x00, 0x72, 0xb2),
            Color32::from_rgb(0xe6, 0x9f, 0x00),
            Color32::from_rgb(0x00, 0x9e, 0x73),
            Color32::from_rgb(0xcc, 0x79, 0xa7),
            Color32::from_rgb(0xd5, 0x5e, 0x00),
            Color32::from_rgb(0x56, 0xb4, 0xe9),
            Color32::from_rgb(0x99, 0x99, 0x99),
        ];
        self.mark(CYCLE[index % CYCLE.len()])
    }

    /// Vertical markers where the topology or a setting changed.
    pub fn change_marker(&self) -> Color32 {
        if self.presentation {
            Color32::from_rgb(0x55, 0x55, 0x55)
        } else {
            Color32::from_rgb(0xc8, 0xc8, 0xc8)
        }
    }

    /// Background of the failure banner in the inspector.
    pub fn failure_fill(&self) -> Color32 {
        if self.presentation {
            Color32::from_rgb(0xfd, 0xe6, 0xd8)
        } else {
            Color32::from_rgb(0x4a, 0x2c, 0x22)
        }
    }
}

/// WCAG 2.1 relative luminance of an sRGB colour.
fn luminance(c: Color32) -> f32 {
    let channel = |v: u8| {
        let v = f32::from(v) / 255.0;
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(c.r()) + 0.7152 * channel(c.g()) + 0.0722 * channel(c.b())
}

/// WCAG 2.1 contrast ratio between two colours (1 to 21).
pub fn contrast(a: Color32, b: Color32) -> f32 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Phase;

    /// Text must stand out 4.5:1 and marks (dots, lines, bars, plot series) 3:1 from every
    /// surface they are drawn on, in both themes (WCAG 2.1, 1.4.3 and 1.4.11).
    #[test]
    fn text_and_marks_stand_out_from_every_surface_in_both_themes() {
        for theme in [Theme::normal(), Theme::presentation()] {
            let which = if theme.presentation { "light" } else { "dark" };
            let surfaces = [
                ("background", theme.background),
                ("panel", theme.panel),
                ("banner", theme.banner),
            ];
            let text = [
                ("text", theme.text),
                ("weak text", theme.weak_text),
                ("error", theme.error),
                ("hit (checkpoint passed)", theme.hit),
                ("miss (checkpoint waiting)", theme.miss),
                ("highlight", theme.highlight),
            ];
            for (name, color) in text {
                for (surface, bg) in surfaces {
                    let ratio = contrast(color, bg);
                    assert!(
                        ratio >= 4.5,
                        "{which}: {name} text on {surface} is {ratio:.2}:1"
                    );
                }
            }
            let mut marks: Vec<(String, Color32)> = vec![
                ("in flight".into(), theme.in_flight()),
                ("edge".into(), theme.edge),
                ("node outline".into(), theme.node_stroke),
                ("change marker".into(), theme.change_marker()),
                ("cache hit".into(), theme.hit),
                ("cache miss".into(), theme.miss),
            ];
            marks.extend(
                OutcomeClass::ALL
                    .iter()
                    .map(|c| (c.label().to_string(), theme.outcome_color(*c))),
            );
            marks.extend((0..7).map(|i| (format!("series {i}"), theme.series_color(i))));
            marks.extend(
                Phase::ALL
                    .into_iter()
                    .map(|p| (format!("phase {p}"), theme.phase_color(p))),
            );
            for (name, color) in &marks {
                for (surface, bg) in [("background", theme.background), ("panel", theme.panel)] {
                    let ratio = contrast(*color, bg);
                    assert!(
                        ratio >= 3.0,
                        "{which}: the {name} mark on {surface} is {ratio:.2}:1"
                    );
                }
            }
            // A cache cell's letter reads on its fill.
            for fill in [theme.hit, theme.miss] {
                assert!(contrast(Theme::ink_on(fill), fill) >= 4.5, "{which}");
            }
        }
    }

    #[test]
    fn on_the_light_theme_a_miss_is_not_a_5xx_and_in_flight_is_not_a_3xx() {
        let t = Theme::presentation();
        assert_ne!(t.miss, t.outcome_color(OutcomeClass::ServerError));
        assert_ne!(t.in_flight(), t.outcome_color(OutcomeClass::Redirect));
    }
}
