//! Where each node of the topology canvas sits and what it says. A plain view model: `describe`
//! turns the live state into node specs (text, health), `place` lays them out in a rectangle.
//! Both are pure and tested as data; drawing code only reads the result.
//!
//! The picture reads left to right, then down: client groups in a column on the left, the DNS
//! stub above the edge (CDN), the load balancer to its right, the servers in a row below
//! (their queues stack upwards above them) and the database at the bottom.

use std::collections::BTreeMap;

use egui::{Pos2, Rect, Vec2, pos2, vec2};

use crate::trace::Component;

/// A node on the canvas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeId {
    /// The simulated clients of one profile (index into the scenario's profiles).
    Clients(u16),
    /// Requests from outside hopscope (curl, a browser, wrk).
    Outside,
    Dns,
    Cdn,
    Lb,
    Server(u16),
    Db,
}

impl NodeId {
    /// How deep into the system the node is: clients 0 … database 5. Requests travel
    /// towards larger depths and answers back.
    pub fn depth(self) -> u8 {
        match self {
            NodeId::Clients(_) | NodeId::Outside => 0,
            NodeId::Dns => 1,
            NodeId::Cdn => 2,
            NodeId::Lb => 3,
            NodeId::Server(_) => 4,
            NodeId::Db => 5,
        }
    }

    /// The node of a trace component, for a request whose client is `client`.
    pub fn of(component: Component, client: NodeId) -> NodeId {
        match component {
            Component::Client => client,
            Component::Dns => NodeId::Dns,
            Component::Cdn => NodeId::Cdn,
            Component::Lb => NodeId::Lb,
            Component::Server(n) => NodeId::Server(n),
            Component::Db => NodeId::Db,
        }
    }
}

/// Whether a node works, in words and a symbol (never colour alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Up,
    /// Killed: its port is closed.
    Down,
    /// Accepts connections but never answers.
    Hung,
    /// Alive, but the load balancer's health checks take it out of the pool.
    Unhealthy,
}

impl Health {
    /// A short mark shown on the node (empty when up).
    pub fn mark(self) -> &'static str {
        match self {
            Health::Up => "",
            Health::Down => "× down",
            Health::Hung => "‖ hung",
            Health::Unhealthy => "⊘ unhealthy",
        }
    }

    /// Whether the node is drawn greyed out.
    pub fn greyed(self) -> bool {
        self != Health::Up
    }
}

/// What a node says, before it is placed.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSpec {
    pub id: NodeId,
    pub title: String,
    /// Lines under the title: the address first, then details.
    pub lines: Vec<String>,
    pub health: Health,
    /// Requests waiting in its queue (servers).
    pub queued: u32,
    /// Requests being worked on (servers).
    pub busy: u32,
}

impl NodeSpec {
    /// A node with a title and lines, up and idle.
    pub fn new(id: NodeId, title: impl Into<String>, lines: Vec<String>) -> NodeSpec {
        NodeSpec {
            id,
            title: title.into(),
            lines,
            health: Health::Up,
            queued: 0,
            busy: 0,
        }
    }

    /// The text a screen reader (and a test) finds for this node.
    pub fn accessible_label(&self) -> String {
        let kind = match self.id {
            NodeId::Server(_) => "Server node",
            NodeId::Clients(_) => "Client node",
            NodeId::Outside => "Outside tools node",
            NodeId::Dns => "DNS node",
            NodeId::Cdn => "CDN node",
            NodeId::Lb => "Load balancer node",
            NodeId::Db => "Database node",
        };
        let mut label = format!("{kind} {}", self.title);
        for line in &self.lines {
            label.push_str(", ");
            label.push_str(line);
        }
        if self.health != Health::Up {
            label.push_str(", ");
            label.push_str(self.health.mark());
        }
        label
    }
}

/// A placed node.
#[derive(Clone, Debug, PartialEq)]
pub struct PlacedNode {
    pub spec: NodeSpec,
    pub rect: Rect,
    /// How many queued dots fit in the stack above it (servers).
    pub stack_room: u32,
}

/// Sizes the layout needs from the theme.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    pub node_size: Vec2,
    pub line_height: f32,
    pub dot_radius: f32,
    pub queue_spacing: f32,
}

impl Metrics {
    /// Distance between the centres of two stacked queue dots.
    pub fn dot_pitch(&self) -> f32 {
        self.dot_radius * 2.0 + self.queue_spacing
    }
}

/// The whole canvas as laid out for one frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TopologyModel {
    pub nodes: Vec<PlacedNode>,
    /// Edges between nodes (drawn as lines; dots travel along them).
    pub edges: Vec<(NodeId, NodeId)>,
    /// The node clients connect to first.
    pub edge_node: Option<NodeId>,
    index: BTreeMap<NodeId, usize>,
}

impl TopologyModel {
    /// The node with `id`, if on the canvas.
    pub fn node(&self, id: NodeId) -> Option<&PlacedNode> {
        self.index.get(&id).map(|&i| &self.nodes[i])
    }

    /// Whether every node is inside `area` and clear of every other.
    pub fn fits(&self, area: Rect) -> bool {
        let boxes: Vec<Rect> = self.nodes.iter().map(|n| n.rect).collect();
        boxes.iter().enumerate().all(|(i, a)| {
            area.expand(1.0).contains_rect(*a) && boxes[i + 1..].iter().all(|b| !a.intersects(*b))
        })
    }

    /// The node's rectangle.
    pub fn rect(&self, id: NodeId) -> Option<Rect> {
        self.node(id).map(|n| n.rect)
    }

    /// The server nodes, in order.
    pub fn servers(&self) -> impl Iterator<Item = &PlacedNode> {
        self.nodes
            .iter()
            .filter(|n| matches!(n.spec.id, NodeId::Server(_)))
    }

    /// The line a dot follows from `a` to `b`: from `a`'s border to `b`'s border, shifted
    /// sideways by `lane` (positive for the outgoing lane, negative for the way back).
    pub fn segment(&self, a: NodeId, b: NodeId, lane: f32) -> Option<(Pos2, Pos2)> {
        let ra = self.rect(a)?;
        let rb = self.rect(b)?;
        let (ca, cb) = (ra.center(), rb.center());
        let d = cb - ca;
        if d.length_sq() < 1.0 {
            return Some((ca, cb));
        }
        let start = border_point(ra, d);
        let end = border_point(rb, -d);
        // Lanes are sides of the edge seen from its shallow end: outgoing on one side,
        // returning on the other.
        let outgoing = a.depth() <= b.depth();
        let along = if outgoing { d } else { -d };
        let normal = vec2(-along.y, along.x).normalized();
        let shift = normal * if outgoing { lane } else { -lane };
        Some((start + shift, end + shift))
    }

    /// Where the `i`-th dot resting at a node sits: a row under the node (a stack above it
    /// for servers, which is where their queue is).
    pub fn rest_point(&self, id: NodeId, i: u32, m: &Metrics) -> Option<Pos2> {
        let rect = self.rect(id)?;
        let pitch = m.dot_pitch();
        Some(match id {
            NodeId::Server(_) => pos2(
                rect.center().x,
                rect.top() - m.dot_radius - 3.0 - pitch * i as f32,
            ),
            _ => {
                let per_row = ((rect.width() / pitch).floor() as u32).max(1);
                let (row, col) = (i / per_row, i % per_row);
                let row_width = pitch * (per_row.min(i + 1).max(1) as f32);
                pos2(
                    rect.center().x - row_width / 2.0 + pitch * (col as f32 + 0.5),
                    rect.bottom() + m.dot_radius + 3.0 + pitch * row as f32,
                )
            }
        })
    }
}

/// Where a ray from the centre of `rect` in direction `d` leaves it.
fn border_point(rect: Rect, d: Vec2) -> Pos2 {
    let half = rect.size() / 2.0;
    let tx = if d.x.abs() > f32::EPSILON {
        half.x / d.x.abs()
    } else {
        f32::INFINITY
    };
    let ty = if d.y.abs() > f32::EPSILON {
        half.y / d.y.abs()
    } else {
        f32::INFINITY
    };
    rect.center() + d * tx.min(ty)
}

/// Height of a node with `lines` lines under its title.
fn node_height(m: &Metrics, lines: usize) -> f32 {
    let text = m.line_height * (lines + 1) as f32 + m.line_height * 0.5;
    text.max(m.node_size.y)
}

/// Places `specs` in `canvas`. Nodes missing from `specs` (no CDN, say) leave their place
/// empty; every server gets a slot however many there are (in more rows if needed).
pub fn place(specs: Vec<NodeSpec>, canvas: Rect, m: &Metrics) -> TopologyModel {
    let margin = m.line_height * 0.6;
    let r = canvas.shrink(margin);
    let frame = Frame {
        r,
        node_w: m.node_size.x.min(r.width() / 4.5).max(m.node_size.x * 0.6),
        gap: m.line_height,
    };
    let mut clients = Vec::new();
    let mut servers = Vec::new();
    let mut others = Vec::new();
    for spec in specs {
        match spec.id {
            NodeId::Clients(_) | NodeId::Outside => clients.push(spec),
            NodeId::Server(_) => servers.push(spec),
            _ => others.push(spec),
        }
    }
    clients.sort_by_key(|s| s.id);
    servers.sort_by_key(|s| s.id);

    let mut nodes = Vec::new();
    frame.place_clients(clients, m, &mut nodes);
    let (lb_bottom, db_spec) = frame.place_front(others, m, &mut nodes);
    // The database at the bottom, under the servers.
    let region = frame.server_region();
    let db_height = db_spec
        .as_ref()
        .map_or(0.0, |s| node_height(m, s.lines.len()));
    let db_rect = Rect::from_center_size(
        pos2(region.center(), r.bottom() - db_height / 2.0),
        vec2(frame.node_w, db_height),
    );
    if !servers.is_empty() {
        let bottom_of_last = if db_spec.is_some() {
            db_rect.top() - frame.gap * 2.5
        } else {
            r.bottom()
        };
        let rows = (lb_bottom + frame.gap, bottom_of_last);
        frame.place_servers(servers, m, rows, &mut nodes);
    }
    if let Some(spec) = db_spec {
        nodes.push(PlacedNode {
            spec,
            rect: db_rect,
            stack_room: 0,
        });
    }
    let index: BTreeMap<NodeId, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.spec.id, i))
        .collect();
    let (edges, edge_node) = edges_of(&nodes, &index);
    TopologyModel {
        nodes,
        edges,
        edge_node,
        index,
    }
}

/// The canvas inside its margin, and the sizes every node shares.
struct Frame {
    r: Rect,
    node_w: f32,
    gap: f32,
}

impl Frame {
    /// Clients: a column on the left, spread over the height.
    fn place_clients(&self, clients: Vec<NodeSpec>, m: &Metrics, nodes: &mut Vec<PlacedNode>) {
        let (r, node_w) = (self.r, self.node_w);
        let n = clients.len().max(1) as f32;
        let slot = r.height() / n;
        for (i, spec) in clients.into_iter().enumerate() {
            let y = r.top() + slot * (i as f32 + 0.5);
            let lines = spec.lines.len();
            let height = node_height(m, lines)
                .min(slot - 4.0)
                .max(m.line_height * 2.0);
            let rect =
                Rect::from_center_size(pos2(r.left() + node_w / 2.0, y), vec2(node_w, height));
            nodes.push(PlacedNode {
                spec,
                rect,
                stack_room: 0,
            });
        }
    }

    /// The front: DNS above the edge, then the load balancer. Returns the bottom of the
    /// load balancer (or of where it would be) and the database's spec, placed last.
    fn place_front(
        &self,
        others: Vec<NodeSpec>,
        m: &Metrics,
        nodes: &mut Vec<PlacedNode>,
    ) -> (f32, Option<NodeSpec>) {
        let r = self.r;
        let front_x = r.left() + r.width() * 0.36;
        let lb_x = r.left() + r.width() * 0.62;
        // The edge row sits a third of the way down, and always low enough to leave the
        // CDN's cache strip (one line) clear between the DNS stub and the CDN.
        let height_of = |id: NodeId| {
            others
                .iter()
                .find(|s| s.id == id)
                .map_or(0.0, |s| node_height(m, s.lines.len()))
        };
        let (dns_h, edge_h) = (height_of(NodeId::Dns), height_of(NodeId::Cdn));
        let mid_y =
            (r.top() + r.height() * 0.36).max(r.top() + dns_h + m.line_height * 1.8 + edge_h / 2.0);
        let mut lb_bottom = mid_y;
        let mut db_spec = None;
        for spec in others {
            let lines = spec.lines.len();
            let center = match spec.id {
                NodeId::Dns => pos2(front_x, r.top() + node_height(m, lines) / 2.0),
                NodeId::Cdn => pos2(front_x, mid_y),
                NodeId::Lb => pos2(lb_x, mid_y),
                NodeId::Db => {
                    db_spec = Some(spec);
                    continue;
                }
                _ => continue,
            };
            let rect = Rect::from_center_size(center, vec2(self.node_w, node_height(m, lines)));
            if spec.id == NodeId::Lb {
                lb_bottom = rect.bottom();
            }
            nodes.push(PlacedNode {
                spec,
                rect,
                stack_room: 0,
            });
        }
        (lb_bottom, db_spec)
    }

    /// Where servers and the database go: right of the clients' column.
    fn server_region(&self) -> egui::Rangef {
        egui::Rangef::new(self.r.left() + self.node_w + self.gap * 2.0, self.r.right())
    }

    /// Servers: rows between `top_limit` and `bottom_of_last`, as many per row as fit;
    /// narrower boxes when there are too many rows for the height. Each gets the room
    /// above it for its queue stack; the first row also has the space up to `top_limit`.
    fn place_servers(
        &self,
        servers: Vec<NodeSpec>,
        m: &Metrics,
        (top_limit, bottom_of_last): (f32, f32),
        nodes: &mut Vec<PlacedNode>,
    ) {
        let (gap, node_w, region) = (self.gap, self.node_w, self.server_region());
        let server_h = servers
            .iter()
            .map(|s| node_height(m, s.lines.len()))
            .fold(0.0, f32::max);
        let space = (bottom_of_last - top_limit).max(server_h);
        let count = servers.len();
        let mut server_w = node_w;
        let (mut per_row, mut rows);
        loop {
            per_row = (((region.span() + gap) / (server_w + gap)).floor() as usize).max(1);
            rows = count.div_ceil(per_row);
            let needed = rows as f32 * server_h + (rows - 1) as f32 * gap * 0.5;
            if needed <= space || server_w <= node_w * 0.55 {
                break;
            }
            server_w *= 0.95;
        }
        let min_room = m.dot_pitch() * 4.0 + 6.0;
        let leftover = (space - rows as f32 * server_h).max(0.0);
        let pitch = server_h + min_room.min(leftover / rows as f32);
        let first_top = bottom_of_last - server_h - pitch * (rows - 1) as f32;
        for (i, spec) in servers.into_iter().enumerate() {
            let (row, col) = (i / per_row, i % per_row);
            let in_row = (count - row * per_row).min(per_row);
            let row_width = in_row as f32 * server_w + (in_row - 1) as f32 * gap;
            let x =
                region.center() - row_width / 2.0 + col as f32 * (server_w + gap) + server_w / 2.0;
            let top = first_top + row as f32 * pitch;
            let rect = Rect::from_min_size(pos2(x - server_w / 2.0, top), vec2(server_w, server_h));
            let room_px = if row == 0 {
                top - top_limit
            } else {
                pitch - server_h
            };
            let stack_room = ((room_px - 4.0) / m.dot_pitch()).floor().max(1.0) as u32;
            nodes.push(PlacedNode {
                spec,
                rect,
                stack_room,
            });
        }
    }
}

/// The lines between placed nodes (clients to DNS and the edge, CDN to balancer, balancer
/// to servers, servers to the database), and the node clients connect to first.
fn edges_of(
    nodes: &[PlacedNode],
    index: &BTreeMap<NodeId, usize>,
) -> (Vec<(NodeId, NodeId)>, Option<NodeId>) {
    let has = |id: NodeId| index.contains_key(&id);
    let edge_node = if has(NodeId::Cdn) {
        Some(NodeId::Cdn)
    } else if has(NodeId::Lb) {
        Some(NodeId::Lb)
    } else {
        None
    };
    let mut edges = Vec::new();
    for n in nodes {
        match n.spec.id {
            NodeId::Clients(_) => {
                if has(NodeId::Dns) {
                    edges.push((n.spec.id, NodeId::Dns));
                }
                if let Some(e) = edge_node {
                    edges.push((n.spec.id, e));
                }
            }
            NodeId::Outside => {
                if let Some(e) = edge_node {
                    edges.push((n.spec.id, e));
                }
            }
            NodeId::Cdn if has(NodeId::Lb) => edges.push((NodeId::Cdn, NodeId::Lb)),
            NodeId::Server(_) => {
                if has(NodeId::Lb) {
                    edges.push((NodeId::Lb, n.spec.id));
                }
                if has(NodeId::Db) {
                    edges.push((n.spec.id, NodeId::Db));
                }
            }
            _ => {}
        }
    }
    (edges, edge_node)
}

#[cfg(test)]
mod tests;
