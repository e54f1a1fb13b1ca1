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
            edge: Color32::from_rgb(0x4a, 0x52, 0x60),
            highlight: Color32::from_rgb(0xf0, 0xe4, 0x42),
            hit: Color32::from_rgb(0x00, 0x9e, 0x73),
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
            hit: Color32::from_rgb(0x00, 0x9e, 0x73),
            miss: Color32::from_rgb(0xd5, 0x5e, 0x00),
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

    /// The colour of an outcome class (Okabe–Ito palette).
    pub fn outcome_color(&self, class: OutcomeClass) -> Color32 {
        match class {
            OutcomeClass::Success => Color32::from_rgb(0x00, 0x9e, 0x73),
            OutcomeClass::Redirect => Color32::from_rgb(0x56, 0xb4, 0xe9),
            OutcomeClass::ClientError => Color32::from_rgb(0xe6, 0x9f, 0x00),
            OutcomeClass::ServerError => Color32::from_rgb(0xd5, 0x5e, 0x00),
            OutcomeClass::Failure => Color32::from_rgb(0xcc, 0x79, 0xa7),
        }
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

    /// A request still in flight (no outcome yet).
    pub fn in_flight(&self) -> Color32 {
        if self.presentation {
            Color32::from_rgb(0x00, 0x72, 0xb2)
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
        match phase {
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
        }
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
        CYCLE[index % CYCLE.len()]
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
