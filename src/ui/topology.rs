//! The topology canvas: the small internet as labelled nodes with their real addresses, and
//! every request as a dot travelling the edges in the order of its real hops.
//!
//! Per frame the view builds two view models from the live state, both plain data tested on
//! their own: the layout (`layout::place` of `describe::describe`) and the dots
//! (`dots::build`, which uses `route` to place each request at the current time). Then
//! `draw` paints them. Clicking a dot selects its request.

pub mod describe;
pub mod dots;
pub mod draw;
pub mod layout;
pub mod route;

use egui::{Pos2, Rect, Sense, Ui};

use self::dots::{DotFrame, DotParams, Scratch};
use self::layout::{Metrics, NodeId, TopologyModel};
use self::route::{DotAt, Timing};
use super::command::{Commands, UiCommand};
use super::live::Live;
use super::theme::Theme;
use crate::scenario::{server_name, server_number};
use crate::trace::TraceId;

/// The slowest the time scale stretches the minimum hop time (beyond this the dots would
/// crawl for no gain).
const MAX_STRETCH: f64 = 30.0;

/// What the canvas reports after drawing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CanvasReport {
    /// The drawing area (without the legend band), for overlays such as toasts.
    pub area: Rect,
    /// Something moves: the window needs another frame soon.
    pub moving: bool,
    /// Requests on screen.
    pub on_screen: usize,
    /// Of those, requests from outside tools (curl and the like).
    pub external: usize,
}

impl Default for CanvasReport {
    fn default() -> Self {
        CanvasReport {
            area: Rect::NOTHING,
            moving: false,
            on_screen: 0,
            external: 0,
        }
    }
}

/// The canvas's own state between frames.
#[derive(Debug, Default)]
pub struct TopologyView {
    scratch: Scratch,
    model: TopologyModel,
    /// Where clickable dots were drawn last frame.
    targets: Vec<(Pos2, TraceId)>,
    /// The node a lesson step asks the learner to look at.
    spotlight: Option<NodeId>,
}

/// The geometry sizes of `theme`.
pub fn metrics(theme: &Theme) -> Metrics {
    Metrics {
        node_size: theme.node_size,
        line_height: theme.line_height(),
        dot_radius: theme.dot_radius,
        queue_spacing: theme.queue_spacing,
    }
}

/// The canvas's height, in lines of its text, that its nodes need at full size (DNS, the
/// CDN and load balancer, the servers with their queues, the database, the legend).
const LINES_NEEDED: f32 = 20.0;
/// Its width, in node widths (clients, the DNS and CDN, the load balancer and what it says,
/// with the gaps between).
const NODES_ACROSS: f32 = 3.9;
/// The canvas zooms out at most to this share of the theme's sizes.
const MIN_ZOOM: f32 = 0.55;

/// How much the canvas zooms out so that its nodes fit `size` (1 when they fit).
pub fn fit_factor(theme: &Theme, size: egui::Vec2) -> f32 {
    let tall = size.y / (theme.line_height() * LINES_NEEDED);
    let wide = size.x / (theme.node_size.x * NODES_ACROSS);
    tall.min(wide).clamp(MIN_ZOOM, 1.0)
}

/// Display timing for the current time scale.
pub fn timing(theme: &Theme, time_scale: f64) -> Timing {
    let stretch = time_scale.clamp(1.0, MAX_STRETCH);
    Timing {
        min_hop: (theme.min_hop_millis * 1000.0 * stretch) as u64,
        fall: (theme.fall_millis * 1000.0 * stretch) as u64,
    }
}

/// A node's name in a sentence.
pub fn node_name(id: NodeId, live: &Live) -> String {
    match id {
        NodeId::Clients(i) => live
            .profiles
            .get(usize::from(i))
            .map_or_else(|| "the client".into(), |p| format!("the {} client", p.name)),
        NodeId::Outside => "the outside tool".into(),
        NodeId::Dns => "the DNS stub".into(),
        NodeId::Cdn => "the CDN".into(),
        NodeId::Lb => "the load balancer".into(),
        NodeId::Server(n) => server_name(n),
        NodeId::Db => "the database".into(),
    }
}

/// A short explanation of a node, for its tooltip.
fn explain(id: NodeId) -> &'static str {
    match id {
        NodeId::Clients(_) => {
            "Simulated clients of one kind. Each looks the name up (DNS), connects (TCP, TLS) and sends HTTP requests."
        }
        NodeId::Outside => {
            "Requests from tools outside hopscope, such as curl in a terminal, appear here."
        }
        NodeId::Dns => {
            "The DNS stub answers 'where is api.…?' over UDP with an address and a TTL: how long the answer may be reused."
        }
        NodeId::Cdn => {
            "The edge: a caching proxy. A HIT is answered from its cache; a MISS is fetched from the load balancer and may be kept."
        }
        NodeId::Lb => "The load balancer picks a healthy server for each request, by its policy.",
        NodeId::Server(_) => {
            "An API server: a few workers, and a queue for requests waiting for one. A full queue answers 503."
        }
        NodeId::Db => "The SQLite database the servers share; each query's SQL is traced.",
    }
}

/// The node a lesson's `look_at` names (`client`, `dns`, `cdn`, `lb`, `server-2`, `db`).
pub fn spotlight_node(look_at: &str) -> Option<NodeId> {
    Some(match look_at.trim() {
        "client" | "clients" => NodeId::Clients(0),
        "outside" => NodeId::Outside,
        "dns" => NodeId::Dns,
        "cdn" => NodeId::Cdn,
        "lb" => NodeId::Lb,
        "db" | "database" => NodeId::Db,
        other => NodeId::Server(server_number(other)?),
    })
}

impl TopologyView {
    /// Draws a spotlight around the node a lesson step names (or none).
    pub fn set_spotlight(&mut self, look_at: Option<&str>) {
        self.spotlight = look_at.and_then(spotlight_node);
    }

    /// The layout drawn last frame (tests count its servers).
    pub fn model(&self) -> &TopologyModel {
        &self.model
    }

    /// Draws the canvas in all of `ui`'s remaining space.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        live: &Live,
        theme: &Theme,
        highlight: Option<TraceId>,
        commands: &mut Commands,
    ) -> CanvasReport {
        let (response, painter) = ui.allocate_painter(ui.available_size(), Sense::click());
        let canvas = response.rect;
        painter.rect_filled(canvas, 0.0, theme.background);
        // Zoomed out until the nodes fit without touching (a few tries at most).
        let specs = describe::describe(live);
        let mut zoom = fit_factor(theme, canvas.size());
        let (zoomed, m, area, legend) = loop {
            let t = theme.scaled(zoom);
            let m = metrics(&t);
            let band = draw::legend_height(&painter, &t, canvas.width(), &m);
            let (area, legend) = canvas.split_top_bottom_at_y(canvas.bottom() - band);
            self.model = layout::place(specs.clone(), area, &m);
            if zoom <= MIN_ZOOM || self.model.fits(area) {
                break (t, m, area, legend);
            }
            zoom = (zoom * 0.92).max(MIN_ZOOM);
        };
        let theme = &zoomed;
        let profiles = live.profile_names();
        let params = DotParams {
            now: live.now_micros,
            timing: timing(theme, live.time_scale),
            metrics: m,
            lane: theme.lane_offset,
            fall_distance: theme.fall_distance,
            cell: theme.dot_radius * 2.5,
            profiles: &profiles,
            edge: live.edge,
            highlight,
        };
        let frame = dots::build(&live.snapshot, &self.model, &params, &mut self.scratch);

        for n in &self.model.nodes {
            let id = response.id.with(("node", n.spec.id));
            let r = ui.interact(n.rect, id, Sense::hover());
            let label = n.spec.accessible_label();
            r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Group, true, &label));
            r.on_hover_text(explain(n.spec.id));
        }

        draw::edges(&painter, theme, &self.model);
        draw::nodes(&painter, theme, &self.model, &m);
        draw::queues(&painter, theme, &self.model, &m);
        draw::cache_strip(&painter, theme, &self.model, &frame.cache_recent, &m);
        draw::last_pick(&painter, theme, &self.model, &frame, canvas);
        draw::resting(&painter, theme, &self.model, &frame, &m);
        draw::moving(&painter, theme, &self.model, &frame.dots, &m);
        if let Some(h) = &frame.highlight {
            let where_ = match h.placement.at {
                DotAt::Resting(node) => format!("at {}", node_name(node, live)),
                DotAt::Moving { to, .. } => format!("→ {}", node_name(to, live)),
                DotAt::Falling { .. } => "lost".into(),
            };
            draw::highlight(
                &painter,
                theme,
                h,
                &format!("{} {where_}", h.journey.id.short()),
                &m,
            );
        }
        if let Some(rect) = self.spotlight.and_then(|id| self.model.rect(id)) {
            painter.rect_stroke(
                rect.expand(theme.body_size * 0.4),
                theme.node_rounding,
                egui::Stroke::new(theme.body_size * 0.25, theme.highlight),
                egui::StrokeKind::Outside,
            );
        }
        draw::legend(&painter, theme, legend, &m);

        self.remember_targets(&frame, &m);
        if response.clicked()
            && let Some(pos) = response.interact_pointer_pos()
        {
            let pick = self.nearest(pos, m.dot_radius * 3.0);
            commands.push(UiCommand::Select(pick));
        }
        CanvasReport {
            area,
            moving: frame.moving,
            on_screen: frame.on_screen,
            external: frame.external,
        }
    }

    fn remember_targets(&mut self, frame: &DotFrame, m: &Metrics) {
        self.targets.clear();
        self.targets
            .extend(frame.dots.iter().map(|d| (d.pos, d.id)));
        if let Some(h) = &frame.highlight {
            self.targets.push((h.dot.pos, h.journey.id));
        }
        for (&node, rest) in &frame.resting {
            let Some(rect) = self.model.rect(node) else {
                continue;
            };
            let pitch = m.dot_pitch();
            let shown = rest.ids.len().min(6);
            let x0 = rect.center().x - pitch * shown as f32 / 2.0 + pitch / 2.0;
            let y = rect.bottom() + m.dot_radius + 3.0;
            for (i, id) in rest.ids.iter().take(shown).enumerate() {
                self.targets
                    .push((Pos2::new(x0 + pitch * i as f32, y), *id));
            }
        }
    }

    /// The request drawn nearest to `pos`, within `within` points.
    fn nearest(&self, pos: Pos2, within: f32) -> Option<TraceId> {
        self.targets
            .iter()
            .map(|(p, id)| (p.distance(pos), *id))
            .filter(|(d, _)| *d <= within)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, id)| id)
    }
}
